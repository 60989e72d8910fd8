"""The mirror on the whole local stack: a write travels Firestore -> Pub/Sub -> mirrorChanges
-> PostgreSQL, and nothing acknowledged is lost when the process dies between the commit and
the publish, or when PostgreSQL is down for a while. Poison messages end in the dead-letter
topic after bounded retries, and `focusctl mirror dead-letters replay` puts messages back.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError
from typer.testing import CliRunner

from devstack.stack import Stack
from shared.changes import ChangeRecord
from shared.sql.events import ChangeBatch, encode
from shared.sql.schema import sqlalchemy_url
from tests.support.auth import sign_up
from tests.support.callables import FunctionsClient
from tests.support.logs import functions_log
from tests.support.waiting import wait_for

pytestmark = pytest.mark.stack

NOW = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)


def sql_rows(stack: Stack, query: str, **params: Any) -> list[Any]:
    engine = create_engine(sqlalchemy_url(stack.postgres_dsn))
    try:
        with engine.connect() as conn:
            return list(conn.execute(text(query), params).all())
    finally:
        engine.dispose()


def session_data(sid: str) -> dict[str, Any]:
    return {
        "id": sid,
        "startedAt": "2026-11-22T08:00:00.000Z",
        "plannedEndAt": None,
        "endedAt": None,
        "status": "running",
        "label": "deep work",
        "blockedApps": ["com.example.social"],
        "scheduleId": None,
        "updatedAt": "2026-11-22T08:00:01.000Z",
        "deviceId": "phone",
    }


def sync_request(sid: str) -> dict[str, Any]:
    return {
        "deviceId": "phone",
        "cursor": None,
        "mutations": [{"mutationId": f"m-{sid}", "op": "upsert", "session": session_data(sid)}],
    }


def mirrored_session(stack: Stack, uid: str, sid: str) -> list[Any]:
    return sql_rows(
        stack,
        "SELECT label, sync_seq FROM focus_sessions WHERE user_id = :u AND id = :i",
        u=uid,
        i=sid,
    )


def firestore_doc(uid: str, path: str = "") -> Any:
    """The snapshot of `users/{uid}` or of a document under it."""
    from shared.clients import firestore_client

    ref = firestore_client().collection("users").document(uid)
    if path:
        collection, doc_id = path.split("/")
        ref = ref.collection(collection).document(doc_id)
    return ref.get()


def mirror_delivers_a_later_write(
    stack: Stack, functions_client: FunctionsClient, token: str, uid: str
) -> None:
    """A write made now, through the functions, waited for in SQL: the mirror was delivering
    all along, so whatever was published before it has had its chance to arrive too."""
    sid = f"later-{uuid.uuid4().hex[:8]}"
    answer = functions_client.call("syncFocusSessions", sync_request(sid), token)
    assert answer.status == 200, answer.body
    wait_for(lambda: mirrored_session(stack, uid, sid), 30, "the later write in SQL")


def failed_deliveries(stack: Stack) -> int:
    """How many mirrorChanges deliveries the functions have answered 500 (Pub/Sub redelivers
    them)."""
    entries = functions_log(stack, "background")
    return sum(e.get("function") == "mirrorChanges" and e.get("status") == 500 for e in entries)


class DiesAfterCommit:
    """A ChangeSink standing for a process that dies right after the Firestore commit."""

    def publish(self, records: Sequence[ChangeRecord]) -> None:
        raise SystemExit("the instance died between the commit and the publish")


def test_a_write_reaches_sql_through_pubsub(
    clean_stack: Stack, functions_client: FunctionsClient, auth_host: str
) -> None:
    user = sign_up(auth_host)
    answer = functions_client.call("bootstrapAccount", {"timezone": "Europe/Paris"}, user.id_token)
    assert answer.status == 200, answer.body
    rows = wait_for(
        lambda: sql_rows(clean_stack, "SELECT timezone FROM users WHERE id = :u", u=user.uid),
        30,
        "the user row",
    )
    assert rows[0].timezone == "Europe/Paris"
    # The call was served by the apps' process, its mirror delivery by the background one (as
    # callables and the consumer are different services when deployed): no lock shared.
    served = {e.get("function") for e in functions_log(clean_stack)}
    delivered = {e.get("function") for e in functions_log(clean_stack, "background")}
    assert "bootstrapAccount" in served and "mirrorChanges" not in served
    assert "mirrorChanges" in delivered and "bootstrapAccount" not in delivered


def test_death_between_commit_and_publish_is_repaired_by_the_clients_retry(
    clean_stack: Stack, functions_client: FunctionsClient, auth_host: str
) -> None:
    from shared.clients import firestore_client
    from shared.sessions.models import SyncFocusSessionsRequest
    from shared.sessions.repository import FirestoreSessionStore
    from shared.sessions.service import sync_focus_sessions

    user = sign_up(auth_host)
    request = sync_request("crash-1")
    dying = FirestoreSessionStore(firestore_client(), DiesAfterCommit())
    parsed = SyncFocusSessionsRequest.model_validate(request)
    with pytest.raises(SystemExit):  # committed in Firestore, never published, never answered
        sync_focus_sessions(dying, user.uid, parsed)
    assert firestore_doc(user.uid, "sessions/crash-1").exists
    mirror_delivers_a_later_write(clean_stack, functions_client, user.id_token, user.uid)
    assert mirrored_session(clean_stack, user.uid, "crash-1") == []
    # The app got no answer, so it sends the same request again: an idempotent replay.
    retry = functions_client.call("syncFocusSessions", request, user.id_token)
    assert retry.status == 200, retry.body
    assert retry.result["applied"] == ["m-crash-1"]
    rows = wait_for(lambda: mirrored_session(clean_stack, user.uid, "crash-1"), 30, "the row")
    assert rows[0].label == "deep work" and rows[0].sync_seq == 1


SCHEDULE = {
    "id": "mornings",
    "name": "Deep work",
    "timezone": "Europe/Paris",
    "days": ["mon", "tue", "wed", "thu", "fri"],
    "start": "09:00",
    "end": "11:00",
    "blockedApps": ["com.example.feed"],
    "enabled": True,
    "updatedAt": "2026-11-22T08:00:00.000Z",
}
DEVICE = {"deviceId": "phone", "platform": "ios", "fcmToken": "fcm-crash-test"}


def _die_bootstrapping(uid: str) -> None:
    from shared.accounts.models import BootstrapAccountRequest
    from shared.accounts.repository import FirestoreAccountStore
    from shared.accounts.service import bootstrap_account
    from shared.clients import firestore_client

    request = BootstrapAccountRequest.model_validate({"timezone": "Asia/Tokyo"})
    store = FirestoreAccountStore(firestore_client(), DiesAfterCommit())
    bootstrap_account(store, uid, request, datetime.now(UTC))


def _die_saving_schedule(uid: str) -> None:
    from shared.clients import firestore_client
    from shared.schedules.models import Schedule
    from shared.schedules.repository import FirestoreScheduleStore, decide_upsert

    now = datetime.now(UTC)
    store = FirestoreScheduleStore(firestore_client(), DiesAfterCommit())
    store.save(uid, "mornings", decide_upsert(Schedule.model_validate(SCHEDULE), now), now)


def _die_deleting_schedule(uid: str) -> None:
    from shared.clients import firestore_client
    from shared.schedules.repository import FirestoreScheduleStore

    FirestoreScheduleStore(firestore_client(), DiesAfterCommit()).delete(uid, "mornings")


def _die_registering(uid: str) -> None:
    from shared.clients import firestore_client
    from shared.devices.models import RegisterDeviceRequest
    from shared.devices.repository import FirestoreDeviceStore

    request = RegisterDeviceRequest.model_validate(DEVICE)
    FirestoreDeviceStore(firestore_client(), DiesAfterCommit()).register(
        uid, request, datetime.now(UTC), 20
    )


def _die_unregistering(uid: str) -> None:
    from shared.clients import firestore_client
    from shared.devices.repository import FirestoreDeviceStore

    FirestoreDeviceStore(firestore_client(), DiesAfterCommit()).unregister(uid, "phone")


@dataclass(frozen=True)
class CrashCase:
    """A write path that dies after its commit, the app's retry, and what SQL must then hold."""

    setup: list[tuple[str, dict[str, Any]]]  # callables done (and mirrored) before the crash
    row_before: bool  # whether `query` finds a row once the setup is mirrored
    dies: Callable[[str], None]
    retry: tuple[str, dict[str, Any]]
    committed: Callable[[str], bool]  # whether Firestore holds what `dies` wrote, for a uid
    query: str  # a row for the user (:u) while the mirror is behind ...
    mirrored: Callable[[list[Any]], bool]  # ... and the rows once the retry healed it


CRASH_CASES = {
    "bootstrapAccount": CrashCase(
        row_before=True,
        setup=[("bootstrapAccount", {"timezone": "Europe/Paris"})],
        dies=_die_bootstrapping,
        committed=lambda uid: (firestore_doc(uid).to_dict() or {}).get("timezone") == "Asia/Tokyo",
        retry=("bootstrapAccount", {"timezone": "Asia/Tokyo"}),
        query="SELECT timezone FROM users WHERE id = :u",
        mirrored=lambda rows: [r.timezone for r in rows] == ["Asia/Tokyo"],
    ),
    "upsertSchedule": CrashCase(
        row_before=False,
        setup=[("bootstrapAccount", {"timezone": "Europe/Paris"})],
        dies=_die_saving_schedule,
        committed=lambda uid: firestore_doc(uid, "schedules/mornings").exists,
        retry=("upsertSchedule", {"schedule": SCHEDULE}),
        query="SELECT name FROM schedules WHERE user_id = :u",
        mirrored=lambda rows: [r.name for r in rows] == ["Deep work"],
    ),
    "deleteSchedule": CrashCase(
        row_before=True,
        setup=[
            ("bootstrapAccount", {"timezone": "Europe/Paris"}),
            ("upsertSchedule", {"schedule": SCHEDULE}),
        ],
        dies=_die_deleting_schedule,
        committed=lambda uid: not firestore_doc(uid, "schedules/mornings").exists,
        retry=("deleteSchedule", {"id": "mornings"}),
        query="SELECT name FROM schedules WHERE user_id = :u",
        mirrored=lambda rows: rows == [],
    ),
    "registerDevice": CrashCase(
        row_before=False,
        setup=[("bootstrapAccount", {"timezone": "Europe/Paris"})],
        dies=_die_registering,
        committed=lambda uid: firestore_doc(uid, "devices/phone").exists,
        retry=("registerDevice", DEVICE),
        query="SELECT platform FROM devices WHERE user_id = :u",
        mirrored=lambda rows: [r.platform for r in rows] == ["ios"],
    ),
    "unregisterDevice": CrashCase(
        row_before=True,
        setup=[("bootstrapAccount", {"timezone": "Europe/Paris"}), ("registerDevice", DEVICE)],
        dies=_die_unregistering,
        committed=lambda uid: not firestore_doc(uid, "devices/phone").exists,
        retry=("unregisterDevice", {"deviceId": "phone"}),
        query="SELECT platform FROM devices WHERE user_id = :u",
        mirrored=lambda rows: rows == [],
    ),
}


@pytest.mark.parametrize("path", sorted(CRASH_CASES))
def test_every_write_path_heals_a_death_between_commit_and_publish_on_retry(
    path: str, clean_stack: Stack, functions_client: FunctionsClient, auth_host: str
) -> None:
    case = CRASH_CASES[path]
    user = sign_up(auth_host)
    for name, data in case.setup:
        answer = functions_client.call(name, data, user.id_token)
        assert answer.status == 200, answer.body
    # What the setup wrote reaches SQL first, so the state there is the one before the crash.
    user_row = "SELECT id FROM users WHERE id = :u"
    wait_for(lambda: sql_rows(clean_stack, user_row, u=user.uid), 30, "the user row")
    if case.row_before:
        wait_for(lambda: sql_rows(clean_stack, case.query, u=user.uid), 30, "the setup's rows")
    before = sql_rows(clean_stack, case.query, u=user.uid)
    assert not case.mirrored(before)
    assert not case.committed(user.uid)
    with pytest.raises(SystemExit):  # committed in Firestore, never published, never answered
        case.dies(user.uid)
    assert case.committed(user.uid)
    mirror_delivers_a_later_write(clean_stack, functions_client, user.id_token, user.uid)
    assert sql_rows(clean_stack, case.query, u=user.uid) == before
    # The app got no answer and sends the same call again: it writes nothing, and republishes.
    name, data = case.retry
    retry = functions_client.call(name, data, user.id_token)
    assert retry.status == 200, retry.body
    wait_for(
        lambda: case.mirrored(sql_rows(clean_stack, case.query, u=user.uid)),
        30,
        f"the mirror to catch up after the retry of {path}",
    )


def test_a_write_made_while_postgres_is_down_arrives_once_it_is_back(
    clean_stack: Stack, functions_client: FunctionsClient, auth_host: str
) -> None:
    user = sign_up(auth_host)
    cluster = clean_stack._postgres
    failed_before = failed_deliveries(clean_stack)
    cluster.stop()
    try:
        answer = functions_client.call("syncFocusSessions", sync_request("down-1"), user.id_token)
        assert answer.status == 200, answer.body  # the write path never waits for SQL
        # Its delivery fails (500) while PostgreSQL is down; Pub/Sub retries it with backoff.
        wait_for(
            lambda: failed_deliveries(clean_stack) > failed_before,
            60,
            "a failed delivery to mirrorChanges",
        )
    finally:
        cluster.start()
    rows = wait_for(
        lambda: mirrored_session(clean_stack, user.uid, "down-1"),
        90,
        "the row",
        transient=(OperationalError,),
    )
    assert rows[0].label == "deep work"


def _poison_subscription(stack: Stack, topic: str) -> None:
    """A push subscription to mirrorChanges with a fast retry policy (the registry's takes up
    to 10 attempts over the better part of an hour), dead-lettering where the real one does."""
    import google.cloud.pubsub_v1 as pubsub_v1
    from google.protobuf import duration_pb2

    project = stack.config.project_id
    publisher = pubsub_v1.PublisherClient()
    subscriber = pubsub_v1.SubscriberClient()
    publisher.create_topic(name=publisher.topic_path(project, topic))
    subscriber.create_subscription(
        request={
            "name": subscriber.subscription_path(project, f"{topic}--mirrorChanges"),
            "topic": publisher.topic_path(project, topic),
            "push_config": {"push_endpoint": stack.push_endpoint("mirrorChanges")},
            "ack_deadline_seconds": 10,
            "retry_policy": {
                "minimum_backoff": duration_pb2.Duration(seconds=1),
                "maximum_backoff": duration_pb2.Duration(seconds=1),
            },
            "dead_letter_policy": {
                "dead_letter_topic": publisher.topic_path(project, "mirror-changes-dead-letter"),
                "max_delivery_attempts": 5,
            },
        }
    )


def test_poison_is_dead_lettered_after_bounded_retries_and_replay_republishes(
    clean_stack: Stack,
) -> None:
    import google.cloud.pubsub_v1 as pubsub_v1

    from focusctl.cli import app

    project = clean_stack.config.project_id
    publisher = pubsub_v1.PublisherClient()
    topic = f"poison-{uuid.uuid4().hex[:8]}"
    _poison_subscription(clean_stack, topic)
    publisher.publish(publisher.topic_path(project, topic), b'{"kind": "nonsense"}').result()

    runner = CliRunner()

    def listed() -> str | None:
        result = runner.invoke(app, ["mirror", "dead-letters", "list"])
        return result.output if "attempts=5" in result.output else None

    output = wait_for(listed, 60, "the poison message in the dead letters")
    assert "undecodable" in output

    # A valid message that ended there (say, PostgreSQL was down for an hour) is replayed.
    uid = f"replayed-{uuid.uuid4().hex[:8]}"
    record = ChangeRecord(
        collection="users",
        uid=uid,
        id=uid,
        op="upsert",
        version=1,
        data={"uid": uid, "timezone": "UTC", "locale": None, "createdAt": NOW.isoformat()},
    )
    dead = publisher.topic_path(project, "mirror-changes-dead-letter")
    publisher.publish(dead, encode(ChangeBatch(records=[record], emitted_at=NOW))).result()
    result = runner.invoke(app, ["mirror", "dead-letters", "replay"])
    assert result.exit_code == 0, result.output
    assert "replayed" in result.output
    wait_for(
        lambda: sql_rows(clean_stack, "SELECT 1 FROM users WHERE id = :u", u=uid), 30, "replay"
    )
