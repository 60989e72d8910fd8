"""Devices on PostgreSQL (`sql_only`) against the real emulator and PostgreSQL: the same rules as
on Firestore (a token on one device only, rotation, the device limit, optimistic push
bookkeeping), the all-at-once move (`take_over_devices`: fence, copy of devices, tokens and push
bookkeeping, removal of rows Firestore deleted), and focusctl refusing the switch until then."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import delete, select
from typer.testing import CliRunner

from devstack.stack import Stack
from shared.devices.models import RegisterDeviceRequest, token_id
from shared.devices.repository import FirestoreDeviceStore
from shared.devices.sql import SqlDeviceStore
from shared.errors import ResourceExhausted
from shared.migration.moves.devices import give_back_devices, take_over_devices
from shared.sql.ownership import DEVICES_GIVING_BACK, DEVICES_TAKEN_OVER
from shared.sql.schema import metadata
from shared.sql.store import SqlMirrorStore
from shared.wire import parse
from tests.support.mirror import HeldMirror

pytestmark = pytest.mark.stack

NOW = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
LATER = NOW + timedelta(hours=1)
_tokens = metadata.tables["fcm_tokens"]
_state = metadata.tables["mirror_state"]


def req(device_id: str, token: str, **extra: Any) -> RegisterDeviceRequest:
    data = {"deviceId": device_id, "platform": "ios", "fcmToken": token, **extra}
    return parse(RegisterDeviceRequest, data)


def uid(name: str) -> str:
    return f"{name}-{uuid.uuid4().hex[:8]}"


def token_owner(sql: SqlMirrorStore, token: str) -> tuple[str, str] | None:
    query = select(_tokens.c.user_id, _tokens.c.device_id).where(
        _tokens.c.token_id == token_id(token)
    )
    with sql.engine.connect() as conn:
        row = conn.execute(query).first()
    return (row.user_id, row.device_id) if row is not None else None


def holders(store: SqlDeviceStore, uids: list[str], token: str) -> list[tuple[str, str]]:
    return [(u, d.device_id) for u in uids for d in store.list_devices(u) if d.fcm_token == token]


@pytest.fixture
def store(sql: SqlMirrorStore) -> Iterator[SqlDeviceStore]:
    """The SQL device store, with devices taken over (it refuses writes otherwise)."""
    sql.state.put(DEVICES_TAKEN_OVER, {"at": NOW.isoformat()})
    yield SqlDeviceStore(sql, clock=lambda: LATER)
    with sql.engine.begin() as conn:
        conn.execute(delete(_state).where(_state.c.key == DEVICES_TAKEN_OVER))


@pytest.fixture
def fence_lifted_after(sql: SqlMirrorStore) -> Iterator[None]:
    """Devices' fence is global: lift it again for the tests after this one."""
    yield
    with sql.engine.begin() as conn:
        conn.execute(delete(_state).where(_state.c.key == DEVICES_TAKEN_OVER))


def test_a_token_lives_on_one_device_through_rotation_and_moves(
    store: SqlDeviceStore, sql: SqlMirrorStore
) -> None:
    alice, bob = uid("alice"), uid("bob")
    device = store.register(alice, req("p1", "tok-1", appVersion="1.0"), NOW, 20)
    assert device.registered_at == NOW
    (stored,) = store.list_devices(alice)
    assert (stored.fcm_token, stored.token_updated_at) == ("tok-1", NOW)
    assert token_owner(sql, "tok-1") == (alice, "p1")

    store.register(alice, req("p1", "tok-1", appVersion="1.0"), LATER, 20)  # app start
    (again,) = store.list_devices(alice)
    assert again.update_time == stored.update_time  # nothing written

    store.register(alice, req("p1", "tok-2", appVersion="1.0"), LATER, 20)  # rotation
    assert token_owner(sql, "tok-1") is None and token_owner(sql, "tok-2") == (alice, "p1")

    store.register(bob, req("phone", "tok-2"), LATER, 20)  # the phone changed hands
    assert holders(store, [alice, bob], "tok-2") == [(bob, "phone")]
    assert token_owner(sql, "tok-2") == (bob, "phone")
    (kept,) = store.list_devices(alice)
    assert kept.fcm_token is None and kept.registered_at == NOW  # keeps its record


def test_the_device_limit_unregister_and_dead_tokens(
    store: SqlDeviceStore, sql: SqlMirrorStore
) -> None:
    carol = uid("carol")
    for i in range(3):
        store.register(carol, req(f"d{i}", f"{carol}-tok-{i}"), NOW, 3)
    with pytest.raises(ResourceExhausted):
        store.register(carol, req("one-too-many", f"{carol}-tok-x"), NOW, 3)
    assert store.count_devices(carol) == 3
    store.register(carol, req("d0", f"{carol}-tok-new"), LATER, 3)  # known devices still can

    assert store.unregister(carol, "d1") is True
    assert token_owner(sql, f"{carol}-tok-1") is None
    assert store.unregister(carol, "d1") is False
    # FCM says a token is dead: dropped from its device and the index, only if still there.
    assert store.clear_token(carol, "d2", "someone-elses") is False
    assert store.clear_token(carol, "d2", f"{carol}-tok-2") is True
    assert token_owner(sql, f"{carol}-tok-2") is None
    assert [d.fcm_token for d in store.list_devices(carol) if d.device_id == "d2"] == [None]


def test_push_bookkeeping_is_optimistic_and_survives_registration(store: SqlDeviceStore) -> None:
    dave = uid("dave")
    store.register(dave, req("p1", "tok"), NOW, 20)
    (seen,) = store.list_devices(dave)
    written = store.update_push_state(dave, "p1", {"pushLog": "a"}, seen.update_time)
    assert written is not None and written != seen.update_time
    assert store.update_push_state(dave, "p1", {"pushLog": "b"}, seen.update_time) is None
    with pytest.raises(ValueError, match="not push bookkeeping"):
        store.update_push_state(dave, "p1", {"platform": "x"}, written)
    store.register(dave, req("p1", "tok", appVersion="2.0"), LATER, 20)
    (after,) = store.list_devices(dave)
    assert after.push_state == {"pushLog": "a"} and after.app_version == "2.0"


def test_push_log_times_come_back_as_times(store: SqlDeviceStore) -> None:
    from shared.push.ledger import LOG_FIELD, LogEntry, log_to_field, parse_log

    dave = uid("dave")
    store.register(dave, req("p1", "tok"), NOW, 20)
    (seen,) = store.list_devices(dave)
    entries = [LogEntry("start:a", NOW, "schedule"), LogEntry("sync:b", LATER, "sync")]
    fields = {LOG_FIELD: log_to_field(entries), "pushLastAt": LATER}
    assert store.update_push_state(dave, "p1", fields, seen.update_time)
    (after,) = store.list_devices(dave)
    assert parse_log(after.push_state[LOG_FIELD]) == entries  # the budget check reads these
    assert after.push_state["pushLastAt"] == LATER


def test_device_writes_on_sql_need_devices_taken_over_and_not_given_back(
    sql: SqlMirrorStore,
) -> None:
    from shared.errors import Unavailable

    owned = SqlDeviceStore(sql)
    with pytest.raises(Unavailable):  # not taken over: Firestore is the source
        owned.register(uid("gina"), req("p", "t"), NOW, 20)
    sql.state.put(DEVICES_TAKEN_OVER, {"at": NOW.isoformat()})
    sql.state.put(DEVICES_GIVING_BACK, {"at": NOW.isoformat()})
    try:
        for write in (
            lambda: owned.register(uid("gina"), req("p", "t"), NOW, 20),
            lambda: owned.unregister(uid("gina"), "p"),
            lambda: owned.clear_token(uid("gina"), "p", "t"),
            lambda: owned.update_push_state(uid("gina"), "p", {"pushLog": []}, NOW),
        ):
            with pytest.raises(Unavailable):
                write()
    finally:
        with sql.engine.begin() as conn:
            keys = [DEVICES_TAKEN_OVER, DEVICES_GIVING_BACK]
            conn.execute(delete(_state).where(_state.c.key.in_(keys)))


def test_racing_registrations_of_one_token_leave_it_on_one_device(
    store: SqlDeviceStore, sql: SqlMirrorStore
) -> None:
    users = [uid(f"racer{i}") for i in range(4)]
    token = f"contested-{uuid.uuid4().hex[:8]}"
    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(lambda u: store.register(u, req("dev", token), NOW, 20), users))
    found = holders(store, users, token)
    assert len(found) == 1 and token_owner(sql, token) == found[0]


def test_the_move_copies_devices_tokens_and_bookkeeping_then_fences(
    stack: Stack, sql: SqlMirrorStore, fence_lifted_after: None
) -> None:
    from shared.clients import firestore_client

    erin, frank = uid("erin"), uid("frank")
    mirror = HeldMirror(sql)
    firestore = FirestoreDeviceStore(firestore_client(), mirror)
    firestore.register(erin, req("phone", f"{erin}-tok"), NOW, 20)
    firestore.register(erin, req("old", f"{erin}-old-tok"), NOW, 20)
    firestore.register(frank, req("tablet", f"{frank}-tok"), NOW, 20)
    (phone,) = [d for d in firestore.list_devices(erin) if d.device_id == "phone"]
    assert firestore.update_push_state(erin, "phone", {"pushLog": "x"}, phone.update_time)
    mirror.catch_up()
    firestore.unregister(erin, "old")  # its delete event is still in flight

    devices, tokens = take_over_devices(firestore_client(), sql)
    assert devices >= 2 and tokens >= 2
    owned = SqlDeviceStore(sql)
    by_id = {d.device_id: d for d in owned.list_devices(erin)}
    assert set(by_id) == {"phone"}  # the deleted one is gone
    assert by_id["phone"].fcm_token == f"{erin}-tok"
    assert by_id["phone"].push_state == {"pushLog": "x"}
    assert token_owner(sql, f"{frank}-tok") == (frank, "tablet")
    assert token_owner(sql, f"{erin}-old-tok") is None
    assert sql.ownership.owned_collections(frank) >= {"devices"}
    # Firestore's device events are refused from now on.
    assert mirror.catch_up().fenced == 1


def test_focusctl_moves_devices_all_at_once_only_after_the_copy(
    clean_stack: Stack, sql: SqlMirrorStore, fence_lifted_after: None, phases_restored: None
) -> None:
    from focusctl.cli import app

    runner = CliRunner()

    def run(*args: str) -> Any:
        return runner.invoke(app, ["mirror", *args])

    early = run("take-over-devices", "--no-progress")
    assert early.exit_code == 2 and "sql_primary at 100% first" in early.output
    assert run("phase", "set", "devices", "sql_primary").exit_code == 0
    too_soon = run("take-over-devices", "--no-progress", "--settle-seconds", "600")
    assert too_soon.exit_code == 2 and "must be in place" in too_soon.output
    not_copied = run("phase", "set", "devices", "sql_only", "--settle-seconds", "0")
    assert not_copied.exit_code == 2 and "take-over-devices" in not_copied.output

    copied = run("take-over-devices", "--no-progress", "--settle-seconds", "0")
    assert copied.exit_code == 0, copied.output
    assert sql.ownership.devices_taken_over()
    partial = run("phase", "set", "devices", "sql_only", "--percent", "50", "--settle-seconds", "0")
    assert partial.exit_code == 2 and "all at once" in partial.output
    moved = run("phase", "set", "devices", "sql_only", "--settle-seconds", "0")
    assert moved.exit_code == 0, moved.output

    # And back, all at once: sql_primary, then the give-back, then further if wanted.
    for back in (["sql_only", "--percent", "50"], ["dual_write"]):
        refused = run("phase", "set", "devices", *back)
        assert refused.exit_code == 2 and "all at once" in refused.output
    assert run("phase", "set", "devices", "sql_primary").exit_code == 0
    again = run("take-over-devices", "--no-progress", "--settle-seconds", "0")
    assert again.exit_code == 2 and "being given back" in again.output
    too_far = run("phase", "set", "devices", "dual_write")
    assert too_far.exit_code == 2 and "give-back devices" in too_far.output
    given = run("give-back", "devices", "--no-progress", "--settle-seconds", "0")
    assert given.exit_code == 0 and "give-back finished" in given.output, given.output
    assert not sql.ownership.devices_taken_over()
    assert run("phase", "set", "devices", "dual_write").exit_code == 0


def test_devices_are_given_back_all_at_once(
    clean_stack: Stack, sql: SqlMirrorStore, fence_lifted_after: None
) -> None:
    from shared.clients import firestore_client
    from shared.migration.tools.reconcile import FirestoreUsers, Reconciler
    from shared.push.ledger import LOG_FIELD, LogEntry, log_to_field, parse_log

    db = firestore_client()
    erin, frank = uid("erin"), uid("frank")
    mirror = HeldMirror(sql)
    firestore = FirestoreDeviceStore(db, mirror)
    firestore.register(erin, req("phone", f"{erin}-tok"), NOW, 20)
    firestore.register(frank, req("tablet", f"{frank}-tok"), NOW, 20)
    mirror.catch_up()
    take_over_devices(db, sql)

    # In sql_only: writes Firestore never sees.
    owned = SqlDeviceStore(sql, clock=lambda: LATER)
    owned.register(erin, req("watch", f"{frank}-tok"), LATER, 20)  # frank's tablet gave it up
    owned.register(frank, req("tablet", f"{frank}-new"), LATER, 20)
    owned.unregister(erin, "phone")
    (tablet,) = owned.list_devices(frank)
    log = [LogEntry("start:x", LATER, "schedule")]
    assert owned.update_push_state(
        frank, "tablet", {LOG_FIELD: log_to_field(log)}, tablet.update_time
    )

    devices, tokens = give_back_devices(db, sql)
    assert devices >= 2 and tokens >= 2
    assert not sql.ownership.devices_taken_over()
    by_user = {u: {d.device_id: d for d in firestore.list_devices(u)} for u in (erin, frank)}
    assert set(by_user[erin]) == {"watch"}  # the phone is gone from Firestore too
    assert by_user[erin]["watch"].fcm_token == f"{frank}-tok"
    assert by_user[frank]["tablet"].fcm_token == f"{frank}-new"
    assert parse_log(by_user[frank]["tablet"].push_state[LOG_FIELD]) == log

    def owner(token: str) -> Any:
        snap = db.collection("fcmTokens").document(token_id(token)).get()
        return (snap.to_dict() or {}).get("uid") if snap.exists else None

    assert (owner(f"{frank}-tok"), owner(f"{frank}-new"), owner(f"{erin}-tok")) == (
        erin,
        frank,
        None,
    )
    reconciler = Reconciler(FirestoreUsers(db), sql)
    assert [reconciler.check(u).drifts for u in (erin, frank)] == [[], []]

    # Firestore is the source again: SQL refuses device writes, the mirror copies Firestore's.
    from shared.errors import Unavailable

    with pytest.raises(Unavailable):
        owned.register(erin, req("late", f"{erin}-late"), LATER, 20)
    firestore.register(erin, req("laptop", f"{erin}-laptop"), LATER, 20)
    result = mirror.catch_up()
    assert (result.applied, result.fenced) == (1, 0)
    assert give_back_devices(db, sql) == (0, 0)  # done already


def test_push_bookkeeping_on_firestore_is_no_drift_but_an_api_write_is(
    stack: Stack, sql: SqlMirrorStore
) -> None:
    """deliverPush logs into the device document without a mirror event (the mirror keeps API
    fields only): reconcile must not call the device stale for it, and still must for an API
    write the mirror missed."""
    from shared.clients import firestore_client
    from shared.migration.tools.reconcile import FirestoreUsers, Reconciler

    db = firestore_client()
    alice = uid("alice")
    mirror = HeldMirror(sql)
    firestore = FirestoreDeviceStore(db, mirror)
    firestore.register(alice, req("phone", f"{alice}-tok"), NOW, 20)
    mirror.catch_up()
    (stored,) = firestore.list_devices(alice)
    logged = firestore.update_push_state(alice, "phone", {"pushLog": [NOW]}, stored.update_time)
    assert logged is not None and logged > stored.update_time
    reconciler = Reconciler(FirestoreUsers(db), sql)
    assert reconciler.check(alice).drifts == []

    firestore.register(alice, req("phone", f"{alice}-tok", appVersion="2.0"), LATER, 20)
    assert [d.kind for d in reconciler.check(alice).drifts] == ["stale"]  # the event is held
