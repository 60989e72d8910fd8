"""The account eraser on the real stores: Firestore and Auth emulators, Pub/Sub, PostgreSQL.

After an erasure, `traces_of(uid)` searches every store the system has for the uid: every
Firestore document of every collection at every depth (in its path or any field), the Auth
user, every PostgreSQL table (each row as text), and every task of every Cloud Tasks queue.
The seeded accounts have something in each: their mirror in PostgreSQL, as the consumer caught
up would hold it, and the pushes of a schedule queued in Cloud Tasks.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest

from devstack.stack import Stack
from shared import container, registry
from shared.accounts.deletion import ACCOUNT_DELETIONS, uid_hash
from shared.clock import utcnow
from shared.devices.models import RegisterDeviceRequest
from shared.devices.repository import FirestoreDeviceStore
from shared.metering import metered
from shared.privacy.erasure import STUCK_AFTER, AccountEraser, race_window
from shared.privacy.erasure_firestore import FirestoreErasureStore
from shared.privacy.ports import FirebaseAuthUsers
from shared.sql.events import AccountErased, decode_event
from shared.sql.publisher import PubSubMirrorEraser
from shared.wire import parse
from tests.support.mirror import CaughtUpMirror
from tests.support.waiting import wait_for

if TYPE_CHECKING:
    from shared.sql.store import SqlMirrorStore

pytestmark = pytest.mark.stack

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


# -- searching every store ---------------------------------------------------------------------


def firestore_traces(db: Any, needle: str) -> list[str]:
    """Paths of documents holding `needle` in their path or in any field, at any depth."""
    found = []
    for collection in db.collections():
        for snap in collection.recursive().stream():
            text = json.dumps(snap.to_dict() or {}, default=str, ensure_ascii=False)
            if needle in snap.reference.path or needle in text:
                found.append(snap.reference.path)
    return found


def auth_has_user(uid: str) -> bool:
    from firebase_admin import auth

    from shared.clients import firebase_app

    try:
        auth.get_user(uid, app=firebase_app())
    except auth.UserNotFoundError:
        return False
    return True


def postgres_traces(dsn: str, needle: str) -> list[str]:
    import psycopg
    from psycopg import sql

    found = []
    with psycopg.connect(dsn) as conn:
        tables = [
            row[0]
            for row in conn.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"
            )
        ]
        for table in tables:
            query = sql.SQL("SELECT count(*) FROM {} AS r WHERE r::text LIKE %s").format(
                sql.Identifier(table)
            )
            row = conn.execute(query, (f"%{needle}%",)).fetchone()
            if row and row[0]:
                found.append(f"postgres:{table}")
    return found


def task_traces(stack: Stack, needle: str) -> list[str]:
    from google.cloud import tasks_v2

    from shared.clients import tasks_client

    client = tasks_client()
    parent = f"projects/{stack.config.project_id}/locations/{stack.config.region}"
    found = []
    for queue in registry.QUEUES:
        for name in queue.shard_names():
            request = tasks_v2.ListTasksRequest(
                parent=f"{parent}/queues/{name}", response_view=tasks_v2.Task.View.FULL
            )
            for task in client.list_tasks(request=request):
                if needle in str(task):
                    found.append(f"tasks:{task.name}")
    return found


def traces_of(stack: Stack, db: Any, uid: str, *, tasks: bool = True) -> list[str]:
    """Every place in every store that still mentions `uid` (Cloud Tasks only if `tasks`)."""
    found = firestore_traces(db, uid)
    if auth_has_user(uid):
        found.append("auth")
    found += postgres_traces(stack.postgres_dsn, uid)
    if tasks:
        found += task_traces(stack, uid)
    return found


def traces_after_erasure(stack: Stack, db: Any, uid: str) -> list[str]:
    """`traces_of`, once the mirror consumer has erased the user in PostgreSQL (it applies the
    AccountErased event asynchronously); failing if it never does."""
    wait_for(lambda: not postgres_traces(stack.postgres_dsn, uid), 60, "the erasure in SQL")
    return traces_of(stack, db, uid)


# -- fixtures ----------------------------------------------------------------------------------


@pytest.fixture
def erased_events(stack: Stack) -> Iterator[Any]:
    """Pulls AccountErased events from the mirror topic through a subscription of our own."""
    from google.cloud import pubsub_v1

    subscriber = pubsub_v1.SubscriberClient()
    project = stack.config.project_id
    name = subscriber.subscription_path(project, f"test-erasure-{uuid.uuid4().hex[:8]}")
    subscriber.create_subscription(name=name, topic=f"projects/{project}/topics/mirror-changes")

    def pull() -> list[AccountErased]:
        events = []
        response = subscriber.pull(subscription=name, max_messages=100, timeout=10)
        for received in response.received_messages:
            event = decode_event(received.message.data)
            if isinstance(event, AccountErased):
                events.append(event)
        if response.received_messages:
            subscriber.acknowledge(
                subscription=name, ack_ids=[m.ack_id for m in response.received_messages]
            )
        return events

    try:
        yield pull
    finally:
        subscriber.delete_subscription(subscription=name)


class FailingOnce:
    """A mirror eraser that dies once: the crash after step 4."""

    def __init__(self) -> None:
        self.inner = PubSubMirrorEraser()
        self.armed = True

    def erase_user(self, uid: str, version: int) -> None:
        if self.armed:
            self.armed = False
            raise RuntimeError("injected crash after step 4")
        self.inner.erase_user(uid, version)

    def newest_version(self, uid: str) -> int:
        return self.inner.newest_version(uid)


def make_eraser(db: Any, mirror: Any = None) -> AccountEraser:
    return AccountEraser(
        FirestoreErasureStore(db),
        FirebaseAuthUsers(),
        mirror or PubSubMirrorEraser(),
        container.push_canceller(),
        utcnow,
    )


def create_auth_user(uid: str) -> None:
    from firebase_admin import auth

    from shared.clients import firebase_app

    auth.create_user(uid=uid, app=firebase_app())


def seed_account(db: Any, sql: SqlMirrorStore, uid: str, sessions: int = 30) -> None:
    """What a real account holds, in every collection the system writes; the profile, devices
    and schedule mirrored in PostgreSQL, the schedule's pushes queued in Cloud Tasks."""
    from shared.accounts.models import BootstrapAccountRequest
    from shared.accounts.repository import FirestoreAccountStore
    from shared.accounts.service import bootstrap_account
    from shared.schedules.models import UpsertScheduleRequest
    from shared.schedules.repository import FirestoreScheduleStore
    from shared.schedules.service import upsert_schedule

    create_auth_user(uid)
    mirror = CaughtUpMirror(sql)
    profile = parse(BootstrapAccountRequest, {"timezone": "UTC"})
    bootstrap_account(FirestoreAccountStore(db, mirror), uid, profile, T0)
    user = db.collection("users").document(uid)
    devices = FirestoreDeviceStore(db, mirror)
    for i in range(3):
        request = parse(
            RegisterDeviceRequest,
            {"deviceId": f"{uid}-d{i}", "platform": "ios", "fcmToken": f"tok-{uid}-{i}"},
        )
        devices.register(uid, request, T0, 20)
    for start in range(0, sessions, 500):
        batch = db.batch()
        for i in range(start, min(start + 500, sessions)):
            batch.set(
                user.collection("sessions").document(f"s{i:05d}"),
                {"id": f"s{i:05d}", "status": "completed", "deleted": i % 10 == 0, "owner": uid},
            )
        batch.commit()
    # A daily block a few hours from now: its pushes wait in the queues for the whole test.
    now = utcnow()
    hour = (now + timedelta(hours=3)).strftime("%H")
    block = {
        "id": "sc1",
        "name": "Deep work",
        "timezone": "UTC",
        "days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
        "start": f"{hour}:00",
        "end": f"{hour}:30",
        "blockedApps": [],
        "enabled": True,
        "updatedAt": "2026-01-05T09:00:00.000Z",
    }
    schedule = parse(UpsertScheduleRequest, {"schedule": block})
    store = FirestoreScheduleStore(db, mirror)
    upsert_schedule(store, container.push_planner(), uid, schedule, now)
    user.collection("syncState").document("sessions").set({"seq": 3})
    # Deeper, and under a document that does not exist: found all the same.
    user.collection("sessions").document("s00001").collection("notes").document("n").set({"x": 1})
    user.collection("ghost").document("missing").collection("child").document("c").set({"y": uid})


@pytest.fixture
def accounts(db: Any, sql: SqlMirrorStore, stack: Stack) -> dict[str, str]:
    alice, bob = f"alice-{uuid.uuid4().hex[:8]}", f"bob-{uuid.uuid4().hex[:8]}"
    seed_account(db, sql, alice, sessions=620)
    seed_account(db, sql, bob)
    for uid in (alice, bob):  # the search has something to find in every store
        found = traces_of(stack, db, uid)
        assert any(t.startswith("postgres:") for t in found), found
        assert any(t.startswith("tasks:") for t in found), found
    return {"alice": alice, "bob": bob}


def marker(db: Any, uid: str) -> dict[str, Any]:
    snap = db.collection(ACCOUNT_DELETIONS).document(uid_hash(uid)).get()
    assert snap.exists
    return snap.to_dict() or {}


# -- tests -------------------------------------------------------------------------------------


def test_erasure_leaves_no_trace_in_any_store(
    stack: Stack, db: Any, accounts: dict[str, str], erased_events: Any
) -> None:
    alice, bob = accounts["alice"], accounts["bob"]
    bob_before = firestore_traces(db, bob)
    bob_elsewhere = postgres_traces(stack.postgres_dsn, bob) + task_traces(stack, bob)
    user = db.collection("users").document(alice)
    last_write = max(
        s.update_time.ToDatetime(tzinfo=UTC)
        for c in user.collections()
        for s in c.recursive().stream()
    )
    eraser = make_eraser(db)

    with metered() as ops:
        eraser.delete_account(alice, auth_time=utcnow() - timedelta(minutes=5))
    # 620 sessions + notes + 3 devices + schedule + syncState + ghost child + profile; 3 tokens;
    # the schedule's push plan (its tasks are deleted from Cloud Tasks); the schedules' guard
    # document (shared/schedules/repository.py, GUARDS); the change marker (shared/changes.py).
    assert ops.deletes == 620 + 1 + 3 + 1 + 1 + 1 + 1 + 3 + 1 + 1 + 1

    # Until the re-check, the marker is the one place that still holds the uid.
    assert traces_after_erasure(stack, db, alice) == [f"{ACCOUNT_DELETIONS}/{uid_hash(alice)}"]
    assert marker(db, alice)["state"] == "erased"
    assert sorted(firestore_traces(db, bob)) == sorted(bob_before)
    assert auth_has_user(bob)
    assert postgres_traces(stack.postgres_dsn, bob) + task_traces(stack, bob) == bob_elsewhere

    (event,) = erased_events()
    assert event.uid == alice
    assert event.version >= int(last_write.timestamp() * 1_000_000)

    report = eraser.sweep(utcnow() + race_window() + timedelta(seconds=1))
    assert report.rechecked == 1 and report.failed == 0
    assert traces_after_erasure(stack, db, alice) == []
    done = marker(db, alice)
    assert done["state"] == "done" and "uid" not in done and "sweepAt" not in done
    assert done["expireAt"] - done["requestedAt"] >= timedelta(hours=1)


@pytest.mark.parametrize("finish", ["retry", "sweep"])
def test_a_crash_half_way_is_finished_by_a_retry_or_the_sweep(
    stack: Stack, db: Any, accounts: dict[str, str], finish: str
) -> None:
    alice = accounts["alice"]
    old_token_time = utcnow() - timedelta(minutes=5)
    crashing = make_eraser(db, FailingOnce())
    with pytest.raises(RuntimeError):
        crashing.delete_account(alice, auth_time=old_token_time)
    assert marker(db, alice)["state"] == "erasing"
    assert auth_has_user(alice)  # step 6 never ran

    eraser = make_eraser(db)
    if finish == "retry":
        eraser.delete_account(alice, auth_time=old_token_time)
    else:
        assert eraser.sweep(utcnow()).resumed == 0  # too early: the call may still be running
        assert eraser.sweep(utcnow() + STUCK_AFTER + timedelta(seconds=1)).resumed == 1
    assert marker(db, alice)["state"] == "erased"
    assert not auth_has_user(alice)
    eraser.sweep(utcnow() + race_window() + timedelta(seconds=1))
    assert traces_after_erasure(stack, db, alice) == []


def test_a_write_racing_the_erasure_is_caught_by_the_recheck(
    stack: Stack, db: Any, accounts: dict[str, str]
) -> None:
    alice = accounts["alice"]
    eraser = make_eraser(db)
    eraser.delete_account(alice, auth_time=utcnow() - timedelta(minutes=5))
    # A sync call that passed the guard before the marker existed commits now.
    late = db.collection("users").document(alice).collection("sessions").document("late")
    late.set({"id": "late", "owner": alice})
    eraser.sweep(utcnow() + race_window() + timedelta(seconds=1))
    assert traces_after_erasure(stack, db, alice) == []


def test_a_re_created_account_is_not_touched_by_the_recheck(
    stack: Stack, db: Any, accounts: dict[str, str]
) -> None:
    alice = accounts["alice"]
    eraser = make_eraser(db)
    eraser.delete_account(alice, auth_time=utcnow() - timedelta(minutes=5))
    # The same uid is created again (custom-token sign-in) and bootstraps a fresh profile.
    create_auth_user(alice)
    fresh = db.collection("users").document(alice)
    fresh.set({"uid": alice, "timezone": "UTC", "locale": None, "createdAt": utcnow()})
    eraser.sweep(utcnow() + race_window() + timedelta(seconds=1))
    assert auth_has_user(alice)
    assert fresh.get().exists
    assert sorted(traces_after_erasure(stack, db, alice)) == ["auth", f"users/{alice}"]


def test_deleting_an_account_that_has_nothing_is_fine(stack: Stack, db: Any) -> None:
    ghost = f"ghost-{uuid.uuid4().hex[:8]}"
    eraser = make_eraser(db)
    eraser.delete_account(ghost, auth_time=None)
    eraser.sweep(utcnow() + race_window() + timedelta(seconds=1))
    assert traces_of(stack, db, ghost) == []
