"""Versions and clocks (docs/MIGRATION.md): the mirror orders every document correctly whatever
the skew between Firestore's clock and the clock of the SQL stores, on the real emulator and
PostgreSQL.

Each case runs a collection through a whole ownership round trip with the SQL stores' clock 10 s
ahead of Firestore's, and 10 s behind it: writes on Firestore, the take-over, writes and deletes
in `sql_only`, the give-back, then writes on Firestore again. Every later write must win (a
document deleted in SQL and re-created on Firestore at once included), every event of an earlier
write must lose when it arrives late, and reconcile must find nothing to repair."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import delete

from devstack.stack import Stack
from shared.accounts.repository import FirestoreAccountStore
from shared.accounts.sql import SqlAccountStore
from shared.changes import ChangeRecord
from shared.devices.repository import FirestoreDeviceStore
from shared.devices.sql import SqlDeviceStore
from shared.migration.moves.devices import give_back_devices, take_over_devices
from shared.migration.moves.give_back import GiveBack
from shared.migration.tools.reconcile import FirestoreUsers, Reconciler
from shared.schedules.repository import FirestoreScheduleStore, decide_upsert
from shared.schedules.sql import SqlScheduleStore
from shared.sessions.repository import FirestoreSessionStore
from shared.sessions.sql import SqlSessionStore
from shared.sql.events import ChangeBatch
from shared.sql.ownership import DEVICES_GIVING_BACK, DEVICES_TAKEN_OVER
from shared.sql.schema import metadata
from shared.sql.store import SqlMirrorStore
from tests.integration.test_sql_accounts import bootstrap
from tests.integration.test_sql_devices import req
from tests.integration.test_sql_schedules import schedule
from tests.integration.test_sql_sessions import edit, sync
from tests.support.mirror import EMITTED_AT, CaughtUpMirror, HeldMirror
from tests.support.sync_payloads import delete as delete_session

pytestmark = pytest.mark.stack

NOW = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
SKEWS = pytest.mark.parametrize(
    "skew", [timedelta(seconds=10), timedelta(seconds=-10)], ids=["sql-ahead", "sql-behind"]
)
_state = metadata.tables["mirror_state"]


def new_uid(name: str) -> str:
    return f"{name}-{uuid.uuid4().hex[:10]}"


def clock(skew: timedelta) -> Callable[[], datetime]:
    """The SQL stores' clock: this machine's (which the emulator shares) moved by `skew`."""
    return lambda: datetime.now(UTC) + skew


def replay(sql: SqlMirrorStore, events: list[ChangeRecord]) -> Any:
    """Deliver events again, late, as Pub/Sub may; the `ApplyResult`."""
    return sql.writer.apply(ChangeBatch(records=events, emitted_at=EMITTED_AT))


def assert_all_lose(
    sql: SqlMirrorStore, events: list[ChangeRecord], uid: str, collection: str, rows: Any
) -> None:
    """Every event of an earlier write, delivered again now, is refused and changes nothing."""
    late = replay(sql, events)
    assert (late.applied, late.skipped_stale) == (0, len(events))
    assert sql.reads.user_snapshot(uid)[collection] == rows


def drifts(sql: SqlMirrorStore, uid: str) -> list[Any]:
    from shared.clients import firestore_client

    return Reconciler(FirestoreUsers(firestore_client()), sql).check(uid).drifts


@SKEWS
def test_sessions_round_trip_orders_by_one_rule(
    stack: Stack, sql: SqlMirrorStore, skew: timedelta
) -> None:
    from shared.clients import firestore_client

    uid = new_uid("skew-s")
    early = HeldMirror(sql)
    firestore = FirestoreSessionStore(firestore_client(), early)
    sync(firestore, uid, [edit("a", 1), edit("b", 1)])
    sync(firestore, uid, [edit("a", 2)])
    events = list(early.held)
    early.catch_up()

    owned = SqlSessionStore(sql, firestore_head=firestore.head, clock=clock(skew))
    cursor = sync(owned, uid, [edit("a", 3, "in sql")])["cursor"]
    sync(owned, uid, [delete_session("d-b", "b", 4), edit("c", 4)])

    assert GiveBack(sql, firestore_client()).user("sessions", uid)
    given_back = sql.reads.user_snapshot(uid)["sessions"]
    assert given_back["a"].data["label"] == "in sql" and given_back["b"].data["deleted"]
    assert_all_lose(sql, events, uid, "sessions", given_back)

    after = FirestoreSessionStore(firestore_client(), CaughtUpMirror(sql))
    answer = sync(after, uid, [edit("b", 5, "back"), edit("c", 5, "later")], cursor=cursor)
    assert {c["id"] for c in answer["changes"]} == {"b", "c"}
    rows = sql.reads.user_snapshot(uid)["sessions"]
    assert rows["a"].data["label"] == "in sql"
    assert rows["b"].data["label"] == "back" and not rows["b"].data["deleted"]
    assert rows["c"].data["label"] == "later"

    assert_all_lose(sql, events, uid, "sessions", rows)
    assert drifts(sql, uid) == []


@SKEWS
def test_profile_and_schedules_round_trip_orders_by_one_rule(
    stack: Stack, sql: SqlMirrorStore, skew: timedelta
) -> None:
    from shared.clients import firestore_client

    db = firestore_client()
    uid = new_uid("skew-a")
    early = HeldMirror(sql)
    accounts = FirestoreAccountStore(db, early)
    schedules = FirestoreScheduleStore(db, early)
    bootstrap(accounts, uid, "Europe/Paris", "fr-FR")
    for s in (schedule("kept", 1), schedule("dropped", 1)):
        schedules.save(uid, s.id, decide_upsert(s, NOW), NOW)
    events = list(early.held)
    early.catch_up()

    bootstrap(SqlAccountStore(sql, accounts.current_record, clock=clock(skew)), uid, "Asia/Tokyo")
    owned = SqlScheduleStore(sql, db, schedules.list_with_versions, clock=clock(skew))
    owned.save(uid, "kept", decide_upsert(schedule("kept", 2, name="in sql"), NOW), NOW)
    owned.delete(uid, "dropped")  # a delete marker versioned by the SQL stores' clock

    giver = GiveBack(sql, db)
    assert giver.user("users", uid) and giver.user("schedules", uid)
    # A late event from before the take-over brings back neither the old profile nor the
    # schedule deleted in sql_only.
    assert_all_lose(sql, events, uid, "schedules", sql.reads.user_snapshot(uid)["schedules"])
    assert {s["id"] for s in sql.reads.list_schedules(uid)} == {"kept"}
    profile = sql.reads.get_user(uid)
    assert profile is not None and profile["timezone"] == "Asia/Tokyo"

    # Firestore is the source again; its next writes come at once, inside the skew.
    mirror = CaughtUpMirror(sql)
    back = schedule("dropped", 3, name="re-created")
    FirestoreScheduleStore(db, mirror).save(uid, "dropped", decide_upsert(back, NOW), NOW)
    bootstrap(FirestoreAccountStore(db, mirror), uid, "America/New_York")
    assert {s["id"]: s["name"] for s in sql.reads.list_schedules(uid)} == {
        "dropped": "re-created",
        "kept": "in sql",
    }
    profile = sql.reads.get_user(uid)
    assert profile is not None and profile["timezone"] == "America/New_York"

    assert_all_lose(sql, events, uid, "schedules", sql.reads.user_snapshot(uid)["schedules"])
    assert drifts(sql, uid) == []


@pytest.fixture
def devices_fence_restored(sql: SqlMirrorStore) -> Iterator[None]:
    """Devices move all at once: leave no fence behind for the next test."""
    yield
    with sql.engine.begin() as conn:
        keys = [DEVICES_TAKEN_OVER, DEVICES_GIVING_BACK]
        conn.execute(delete(_state).where(_state.c.key.in_(keys)))


@SKEWS
def test_devices_round_trip_orders_by_one_rule(
    stack: Stack, sql: SqlMirrorStore, skew: timedelta, devices_fence_restored: None
) -> None:
    from shared.clients import firestore_client

    db = firestore_client()
    uid = new_uid("skew-d")
    early = HeldMirror(sql)
    firestore = FirestoreDeviceStore(db, early)
    firestore.register(uid, req("phone", f"tok-{uid}-1", appVersion="1.0"), NOW, 20)
    firestore.register(uid, req("tablet", f"tok-{uid}-2", appVersion="1.0"), NOW, 20)
    events = list(early.held)
    early.catch_up()

    take_over_devices(db, sql)
    owned = SqlDeviceStore(sql, clock=clock(skew))
    owned.register(uid, req("phone", f"tok-{uid}-1", appVersion="2.0"), NOW, 20)
    assert owned.unregister(uid, "tablet")  # a delete marker versioned by the SQL stores' clock

    give_back_devices(db, sql)
    assert_all_lose(sql, events, uid, "devices", sql.reads.user_snapshot(uid)["devices"])
    assert [d["deviceId"] for d in sql.reads.list_devices(uid)] == ["phone"]

    after = FirestoreDeviceStore(db, CaughtUpMirror(sql))
    after.register(uid, req("tablet", f"tok-{uid}-3", appVersion="3.0"), NOW, 20)
    versions = {d["deviceId"]: d["appVersion"] for d in sql.reads.list_devices(uid)}
    assert versions == {"phone": "2.0", "tablet": "3.0"}

    assert_all_lose(sql, events, uid, "devices", sql.reads.user_snapshot(uid)["devices"])
    assert drifts(sql, uid) == []


def test_repair_never_deletes_a_row_written_after_firestore_was_read(
    stack: Stack, sql: SqlMirrorStore
) -> None:
    """Reconcile reads Firestore, then SQL: a schedule created in between is in SQL only. It is
    younger than the reads, so it is not extra: repair must leave it (judged by Firestore's read
    time, not by this process's clock)."""
    from shared.clients import firestore_client

    db = firestore_client()
    uid = new_uid("skew-r")
    mirror = CaughtUpMirror(sql)
    schedules = FirestoreScheduleStore(db, mirror)
    schedules.save(uid, "first", decide_upsert(schedule("first", 1), NOW), NOW)

    class RacedUsers(FirestoreUsers):
        def read(self, uid: str) -> Any:
            documents = super().read(uid)
            if not hasattr(self, "raced"):
                self.raced = True
                racing = schedule("racing", 2)
                schedules.save(uid, "racing", decide_upsert(racing, NOW), NOW)
            return documents

    result = Reconciler(RacedUsers(db), sql).check(uid, repair=True)
    assert [(d.kind, d.id) for d in result.drifts] == [("extra", "racing")]
    assert {s["id"] for s in sql.reads.list_schedules(uid)} == {"first", "racing"}
    assert result.remaining == []


def test_an_erasure_reaches_rows_sql_versioned_ahead_of_firestore(
    stack: Stack, sql: SqlMirrorStore
) -> None:
    """In sql_only the SQL stores version with their own clock; deleteAccount's erasure must
    still remove every row, however far ahead that clock ran."""
    from firebase_admin import auth

    from shared.clients import firebase_app, firestore_client
    from shared.clock import utcnow
    from shared.migration.phased import PhasedMirrorEraser
    from shared.migration.phases import CollectionPhase, PhaseConfig, fixed
    from shared.privacy.erasure import AccountEraser
    from shared.privacy.erasure_firestore import FirestoreErasureStore
    from shared.privacy.ports import FirebaseAuthUsers, NoPushesToCancel
    from tests.integration.test_phase_sync import RecordingEraser

    db = firestore_client()
    uid = new_uid("skew-e")
    auth.create_user(uid=uid, app=firebase_app())
    schedules = FirestoreScheduleStore(db, CaughtUpMirror(sql))
    schedules.save(uid, "kept", decide_upsert(schedule("kept", 1), NOW), NOW)
    ahead = clock(timedelta(minutes=5))
    owned = SqlScheduleStore(sql, db, schedules.list_with_versions, clock=ahead)
    owned.save(uid, "kept", decide_upsert(schedule("kept", 2, name="in sql"), NOW), NOW)
    assert sql.writer.newest_version(uid) > int(utcnow().timestamp() * 1_000_000)

    sql_only = CollectionPhase(phase="sql_only", percent=100, changed_at=NOW)
    phases = fixed(PhaseConfig(collections={"schedules": sql_only}))
    mirror = PhasedMirrorEraser(RecordingEraser(), lambda: sql, phases)
    eraser = AccountEraser(
        FirestoreErasureStore(db), FirebaseAuthUsers(), mirror, NoPushesToCancel(), utcnow
    )
    eraser.delete_account(uid, auth_time=utcnow())
    assert sql.reads.user_snapshot(uid)["schedules"] == {}
    assert sql.writer.newest_version(uid) == 0
