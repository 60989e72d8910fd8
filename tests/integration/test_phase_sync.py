"""Sync, export and delete keep their API.md behaviour in every migration phase.

The sync scenarios run in-process on the stack's Firestore emulator and PostgreSQL, through the
phase-aware stores `shared.container` builds, once per phase. The mirror consumer is stood in
for by a sink that applies each commit's records to SQL at once (the consumer caught up), so
what differs between runs is only where reads come from.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from devstack.stack import Stack
from shared.migration.phased import PhasedChangeSink, PhasedMirrorEraser, PhasedScheduleStore
from shared.migration.phased_reads import (
    PhasedAccountReader,
    PhasedScheduleLister,
    PhasedSessionStore,
)
from shared.migration.phases import PHASES, Phase, PhaseConfig, fixed
from shared.migration.routing import ShadowStats
from shared.sessions.models import START
from shared.sql.store import SqlMirrorStore
from tests.support import sync_payloads as payloads
from tests.support.mirror import CaughtUpMirror
from tests.support.sync_payloads import T0, stamp

pytestmark = pytest.mark.stack


def session(sid: str, minute: int, device: str = "phone") -> dict[str, Any]:
    return payloads.session(
        sid, minute, device, label=f"edit {minute}", blockedApps=["com.example.social"]
    )


class World:
    def __init__(self, sql: SqlMirrorStore, phase: Phase, given_back: bool = False) -> None:
        from shared.clients import firestore_client
        from shared.sessions.repository import FirestoreSessionStore

        self.sql = sql
        self.config = PhaseConfig()
        for collection in ("devices",):
            # Devices move to sql_only all at once, after a copy (test_sql_devices.py): here
            # they stay a step before it.
            others: Phase = "sql_primary" if phase == "sql_only" else phase
            self.config = self.config.with_phase(collection, others, 100)  # type: ignore[arg-type]
        for collection in ("sessions", "users", "schedules"):
            # given_back: a settled step back from sql_only (shared/migration/moves/give_back.py).
            since = T0 if given_back else None
            self.config = self.config.with_phase(collection, phase, 100, since, given_back)
        self.phases = fixed(self.config)
        self.stats = ShadowStats()
        sink = PhasedChangeSink(CaughtUpMirror(sql), lambda: sql, self.phases)
        self.firestore_sessions = FirestoreSessionStore(firestore_client(), sink)
        self.sessions = PhasedSessionStore(
            self.firestore_sessions, lambda: sql, self.phases, self.stats
        )
        self.use_schedule_sink(sink)

    def use_schedule_sink(self, sink: Any) -> None:
        from shared.clients import firestore_client
        from shared.schedules.repository import FirestoreScheduleStore

        self.firestore_schedules = FirestoreScheduleStore(firestore_client(), sink)
        self.schedule_store = PhasedScheduleStore(
            self.firestore_schedules, lambda: self.sql, self.phases, firestore_client()
        )
        self.schedules = PhasedScheduleLister(
            self.schedule_store, lambda: self.sql, self.phases, self.stats
        )

    def save_schedule(self, uid: str, schedule_id: str, minute: int, **fields: Any) -> None:
        from shared.schedules.models import Schedule
        from shared.schedules.repository import decide_upsert

        incoming = Schedule.model_validate(
            {
                "id": schedule_id,
                "name": f"block {minute}",
                "timezone": "Europe/Paris",
                "days": ["mon", "wed"],
                "start": "09:00",
                "end": "10:30",
                "blockedApps": ["com.example.social"],
                "enabled": True,
                "updatedAt": stamp(minute),
                **fields,
            }
        )
        self.schedule_store.save(uid, schedule_id, decide_upsert(incoming, T0), T0)

    def list_schedules(self, uid: str) -> list[dict[str, Any]]:
        from shared.schedules.service import list_schedules

        wire: list[dict[str, Any]] = list_schedules(self.schedules, uid).to_wire()["schedules"]
        return wire

    def sync(
        self, uid: str, device: str, cursor: str | None, mutations: list[Any], limit: int = 200
    ) -> Any:
        from shared.sessions.models import SyncFocusSessionsRequest
        from shared.sessions.service import sync_focus_sessions

        request = SyncFocusSessionsRequest.model_validate(
            {"deviceId": device, "cursor": cursor, "mutations": mutations, "limit": limit}
        )
        return sync_focus_sessions(self.sessions, uid, request).to_wire()


def pull_all(
    world: World, uid: str, device: str, cursor: str | None, limit: int
) -> tuple[dict[str, Any], str]:
    seen: dict[str, Any] = {}
    while True:
        answer = world.sync(uid, device, cursor, [], limit)
        for change in answer["changes"]:
            seen[change["id"]] = change
        cursor = answer["cursor"]
        if not answer["hasMore"]:
            return seen, cursor


@pytest.mark.parametrize("phase", PHASES)
def test_sync_behaves_the_same_in_every_phase(
    stack: Stack, sql: SqlMirrorStore, phase: Phase
) -> None:
    world = World(sql, phase)
    uid = f"phase-{phase}-{uuid.uuid4().hex[:8]}"
    ups = [
        {"mutationId": f"m{i}", "op": "upsert", "session": session(f"s{i}", i)} for i in range(5)
    ]
    first = world.sync(uid, "phone", None, ups)
    assert first["applied"] == [f"m{i}" for i in range(5)] and not first["rejected"]

    # Another device pulls everything, two at a time, by cursor.
    seen, tablet_cursor = pull_all(world, uid, "tablet", None, limit=2)
    assert sorted(seen) == [f"s{i}" for i in range(5)]
    assert seen["s3"]["label"] == "edit 3"

    # A delete, and an older edit that loses: acknowledged, and the winner is in the answer.
    delete = {"mutationId": "d1", "op": "delete", "id": "s1", "updatedAt": stamp(30)}
    world.sync(uid, "phone", first["cursor"], [delete])
    stale = {"mutationId": "old", "op": "upsert", "session": session("s2", -5, "tablet")}
    answer = world.sync(uid, "tablet", tablet_cursor, [stale])
    assert answer["applied"] == ["old"]
    changes = {c["id"]: c for c in answer["changes"]}
    assert changes["s2"]["label"] == "edit 2"  # the winning version, not the tablet's
    assert changes["s1"] == {"id": "s1", "deleted": True, "updatedAt": stamp(30)}

    # Replaying the first request changes nothing and reports every mutation again.
    replay = world.sync(uid, "phone", None, ups)
    assert replay["applied"] == first["applied"]
    everything, _ = pull_all(world, uid, "laptop", None, limit=3)
    assert sorted(everything) == [f"s{i}" for i in range(5)]

    if phase == "shadow_read":
        assert world.stats.get("sessions", "match") > 0
        assert world.stats.get("sessions", "mismatch") == 0
    if phase in ("sql_primary", "sql_only"):
        assert world.stats.get("sessions", "servedFromSql") > 0
    # Where the sessions live: Firestore (and its mirror, fed in every phase) up to
    # sql_primary; SQL alone in sql_only.
    in_firestore = world.firestore_sessions.changes(uid, START, 10**6, 100)
    assert len(in_firestore) == (0 if phase == "sql_only" else 5)
    assert len(sql.reads.user_snapshot(uid)["sessions"]) == 5


@pytest.mark.parametrize("phase", PHASES)
def test_the_deleted_account_guard_of_a_sync_holds_in_every_phase(
    stack: Stack, sql: SqlMirrorStore, phase: Phase
) -> None:
    """syncFocusSessions leaves the guard to its store's first read (the feed head in
    Firestore, the marker in SQL); a token issued before the deletion writes nothing and is
    answered nothing, in every phase."""
    from datetime import timedelta

    from shared.accounts.deletion import DeletionGuard, marker_ref
    from shared.clients import firestore_client
    from shared.errors import Unauthenticated
    from shared.metering import metered
    from shared.sessions.models import SyncFocusSessionsRequest
    from shared.sessions.repository import flag_account_deleted
    from shared.sessions.service import sync_focus_sessions

    world = World(sql, phase)
    uid = f"guard-{phase}-{uuid.uuid4().hex[:8]}"
    world.sync(uid, "phone", None, [payloads.upsert("m0", "s0")])

    def guarded_sync(mutations: list[Any], signed_in: Any) -> DeletionGuard:
        guard = DeletionGuard(uid, signed_in)
        request = SyncFocusSessionsRequest.model_validate(
            {"deviceId": "phone", "cursor": None, "mutations": mutations}
        )
        sync_focus_sessions(world.sessions, uid, request, guard=guard)
        return guard

    # Not deleted: the guard is applied from the feed head, which the store reads anyway.
    with metered() as ops:
        assert guarded_sync([payloads.upsert("m1", "s1")], T0).checked
    if phase == "dual_write":  # (later phases read the pull, or everything, from SQL)
        assert (ops.reads, ops.billed_writes) == (1 + 1 + 1, 2)  # s1, head; s0

    requested_at = T0 + timedelta(hours=1)
    marker_ref(firestore_client(), uid).set({"requestedAt": requested_at})
    flag_account_deleted(firestore_client(), uid, requested_at)  # as deleteAccount does next
    for mutations in ([payloads.upsert("m2", "s2")], []):  # a push, then a pull
        with pytest.raises(Unauthenticated):
            guarded_sync(mutations, requested_at - timedelta(seconds=1))
    assert sorted(sql.reads.user_snapshot(uid)["sessions"]) == ["s0", "s1"]
    if phase != "sql_only":
        assert len(world.firestore_sessions.changes(uid, START, 10**6, 100)) == 2
    # A sign-in after the deletion (the account created again) passes.
    assert guarded_sync([], requested_at + timedelta(seconds=1)).checked


def test_a_cursor_stays_valid_across_phase_changes(stack: Stack, sql: SqlMirrorStore) -> None:
    uid = f"moving-{uuid.uuid4().hex[:8]}"
    worlds = {phase: World(sql, phase) for phase in PHASES}
    ups = [
        {"mutationId": f"m{i}", "op": "upsert", "session": session(f"s{i}", i)} for i in range(6)
    ]
    worlds["dual_write"].sync(uid, "phone", None, ups)
    seen: dict[str, Any] = {}
    cursor = None
    for phase in ("dual_write", "sql_primary", "shadow_read", "sql_primary", "dual_write"):
        answer = worlds[phase].sync(uid, "tablet", cursor, [], limit=1)
        seen.update({c["id"]: c for c in answer["changes"]})
        cursor = answer["cursor"]
    rest, _ = pull_all(worlds["sql_primary"], uid, "tablet", cursor, limit=1)
    seen.update(rest)
    assert sorted(seen) == [f"s{i}" for i in range(6)]


def test_a_cursor_stays_valid_when_sql_takes_the_feed_over(
    stack: Stack, sql: SqlMirrorStore
) -> None:
    uid = f"takeover-{uuid.uuid4().hex[:8]}"
    primary, only = World(sql, "sql_primary"), World(sql, "sql_only")
    ups = [
        {"mutationId": f"m{i}", "op": "upsert", "session": session(f"s{i}", i)} for i in range(4)
    ]
    primary.sync(uid, "phone", None, ups)
    partial = primary.sync(uid, "tablet", None, [], limit=2)
    assert [c["id"] for c in partial["changes"]] == ["s0", "s1"]
    # The next request is in sql_only: SQL takes the feed over, and numbers the phone's edit
    # after Firestore's last commit, so the tablet's cursor goes on where it stopped.
    edit = {"mutationId": "e", "op": "upsert", "session": session("s0", 50)}
    only.sync(uid, "phone", None, [edit])
    rest, _ = pull_all(only, uid, "tablet", partial["cursor"], limit=2)
    assert sorted(rest) == ["s0", "s2", "s3"]
    assert rest["s0"]["label"] == "edit 50"
    assert "sessions" in sql.ownership.owned_collections(uid)
    # Firestore kept what it had before the takeover: it no longer hears of this user.
    stale = {s.version.id: s for s in only.firestore_sessions.changes(uid, START, 10**6, 100)}
    assert stale["s0"].version.label == "edit 0"  # type: ignore[union-attr]


def test_a_cursor_stays_valid_through_sql_only_and_back(stack: Stack, sql: SqlMirrorStore) -> None:
    uid = f"roundtrip-{uuid.uuid4().hex[:8]}"
    primary, only = World(sql, "sql_primary"), World(sql, "sql_only")
    back = World(sql, "sql_primary", given_back=True)
    ups = [
        {"mutationId": f"m{i}", "op": "upsert", "session": session(f"s{i}", i)} for i in range(4)
    ]
    primary.sync(uid, "phone", None, ups)
    answer = primary.sync(uid, "tablet", None, [], limit=2)
    seen = {c["id"]: c for c in answer["changes"]}
    # In sql_only: SQL takes the feed over and alone sees an edit and a delete.
    gone = {"mutationId": "d", "op": "delete", "id": "s3", "updatedAt": stamp(40)}
    only.sync(
        uid,
        "phone",
        None,
        [{"mutationId": "e", "op": "upsert", "session": session("s0", 50)}, gone],
    )
    caught_up, cursor = pull_all(only, uid, "tablet", answer["cursor"], limit=1)
    seen.update(caught_up)
    # Stepped back: the next request gives the feed back to Firestore, which numbers on after
    # SQL's commits: the tablet, past all of them, gets just the new edit.
    back.sync(
        uid, "phone", None, [{"mutationId": "f", "op": "upsert", "session": session("s1", 60)}]
    )
    assert "sessions" not in sql.ownership.owned_collections(uid)
    rest, cursor = pull_all(back, uid, "tablet", cursor, limit=1)
    assert sorted(rest) == ["s1"]
    seen.update(rest)
    # The tablet holds exactly the current state, though its cursor crossed both moves.
    current, _ = pull_all(World(sql, "dual_write"), uid, "laptop", None, limit=10)
    assert seen == current
    assert (seen["s0"]["label"], seen["s1"]["label"], seen["s3"]["deleted"]) == (
        "edit 50",
        "edit 60",
        True,
    )
    assert World(sql, "dual_write").sync(uid, "tablet", cursor, [])["changes"] == []


def test_shadow_mismatches_are_counted_and_never_shown(stack: Stack, sql: SqlMirrorStore) -> None:
    world = World(sql, "shadow_read")
    uid = f"shadow-{uuid.uuid4().hex[:8]}"
    world.sync(
        uid, "phone", None, [{"mutationId": "m", "op": "upsert", "session": session("s", 1)}]
    )
    with sql.engine.begin() as conn:
        conn.execute(
            text("UPDATE focus_sessions SET label = 'wrong' WHERE user_id = :u"), {"u": uid}
        )
    answer = world.sync(uid, "tablet", None, [])
    assert answer["changes"][0]["label"] == "edit 1"
    assert world.stats.get("sessions", "mismatch") == 1


def test_sql_primary_falls_back_to_firestore_while_a_commit_is_in_flight(
    stack: Stack, sql: SqlMirrorStore
) -> None:
    from shared.changes import CollectingSink
    from shared.clients import firestore_client
    from shared.sessions.repository import FirestoreSessionStore

    world = World(sql, "sql_primary")
    uid = f"lagging-{uuid.uuid4().hex[:8]}"
    # A commit whose records have not reached SQL (published, consumer not there yet).
    behind = FirestoreSessionStore(firestore_client(), CollectingSink())
    from shared.sessions.models import SyncFocusSessionsRequest
    from shared.sessions.service import sync_focus_sessions

    request = SyncFocusSessionsRequest.model_validate(
        {
            "deviceId": "phone",
            "cursor": None,
            "mutations": [{"mutationId": "m", "op": "upsert", "session": session("s", 1)}],
        }
    )
    sync_focus_sessions(behind, uid, request)
    answer = world.sync(uid, "tablet", None, [])
    assert [c["id"] for c in answer["changes"]] == ["s"]
    assert world.stats.get("sessions", "fallback") == 1


@pytest.mark.parametrize("phase", PHASES)
def test_export_is_the_same_in_every_phase(stack: Stack, sql: SqlMirrorStore, phase: Phase) -> None:
    from shared.clients import firestore_client
    from shared.privacy.export import ExportAccountRequest, export_account
    from shared.privacy.export_firestore import FirestoreAccountReader

    world = World(sql, phase)
    uid = f"export-{phase}-{uuid.uuid4().hex[:8]}"
    ups = [
        {"mutationId": f"m{i}", "op": "upsert", "session": session(f"s{i}", i)} for i in range(3)
    ]
    world.sync(uid, "phone", None, ups)
    world.sync(
        uid, "phone", None, [{"mutationId": "d", "op": "delete", "id": "s0", "updatedAt": stamp(9)}]
    )
    firestore = FirestoreAccountReader(firestore_client())
    phased = PhasedAccountReader(firestore, lambda: sql, world.phases, world.stats)
    expected = export_account(firestore, uid, ExportAccountRequest(), T0).to_wire()
    got = export_account(phased, uid, ExportAccountRequest(), T0).to_wire()
    if phase == "sql_only":
        # The sessions exist in SQL alone: the export holds what a device pulls.
        assert expected["sessions"] == []
        pulled, _ = pull_all(world, uid, "laptop", None, limit=10)
        expected["sessions"] = [c for _, c in sorted(pulled.items()) if not c.get("deleted")]
    assert got == expected
    assert [s["id"] for s in got["sessions"]] == ["s1", "s2"]  # tombstones are not exported
    assert world.stats.get("sessions", "mismatch") == 0


@pytest.mark.parametrize("phase", PHASES)
def test_list_schedules_is_the_same_in_every_phase(
    stack: Stack, sql: SqlMirrorStore, phase: Phase
) -> None:
    from shared.schedules.service import list_schedules

    world = World(sql, phase)
    uid = f"schedules-{phase}-{uuid.uuid4().hex[:8]}"
    world.save_schedule(uid, "b-evening", 1, start="18:00", end="19:00")
    world.save_schedule(uid, "a-morning", 1)
    world.save_schedule(uid, "a-morning", 5, days=["tue"], enabled=False)  # an edit
    world.save_schedule(uid, "c-gone", 1)
    world.schedule_store.delete(uid, "c-gone")

    got = world.list_schedules(uid)
    expected = list_schedules(world.firestore_schedules, uid).to_wire()["schedules"]
    if phase == "sql_only":  # the schedules exist in SQL alone
        assert expected == []
        plans = world.firestore_schedules.plans.for_user(uid)  # push plans stay in Firestore
        assert {p.schedule_id for p in plans} == {"a-morning", "b-evening"}
    else:
        assert got == expected
    assert [(s["id"], s["name"], s["days"]) for s in got] == [
        ("a-morning", "block 5", ["tue"]),
        ("b-evening", "block 1", ["mon", "wed"]),
    ]
    served, matched = (world.stats.get("schedules", o) for o in ("servedFromSql", "match"))
    assert (served, matched) == {
        "firestore_only": (0, 0),
        "dual_write": (0, 0),
        "shadow_read": (0, 1),
        "sql_primary": (1, 0),
        "sql_only": (1, 0),
    }[phase]
    assert world.stats.get("schedules", "mismatch") == 0


def test_list_schedules_shadow_mismatch_is_counted_and_never_shown(
    stack: Stack, sql: SqlMirrorStore
) -> None:
    world = World(sql, "shadow_read")
    uid = f"schedules-shadow-{uuid.uuid4().hex[:8]}"
    world.save_schedule(uid, "morning", 1)
    with sql.engine.begin() as conn:
        conn.execute(text("UPDATE schedules SET name = 'wrong' WHERE user_id = :u"), {"u": uid})
    assert [s["name"] for s in world.list_schedules(uid)] == ["block 1"]
    assert world.stats.get("schedules", "mismatch") == 1


def test_sql_primary_reads_its_own_schedule_writes_before_the_consumer(
    stack: Stack, sql: SqlMirrorStore
) -> None:
    from shared.changes import CollectingSink

    world = World(sql, "sql_primary")
    # Published to a transport nobody consumes: only the synchronous apply of sql_primary
    # can make the write visible in SQL.
    pubsub = CollectingSink()
    sink = PhasedChangeSink(pubsub, lambda: sql, world.phases)
    world.use_schedule_sink(sink)
    uid = f"schedules-own-{uuid.uuid4().hex[:8]}"
    world.save_schedule(uid, "morning", 1)
    assert [s["id"] for s in world.list_schedules(uid)] == ["morning"]
    assert world.stats.get("schedules", "servedFromSql") == 1
    assert [(r.id, r.op) for r in pubsub.records] == [("morning", "upsert")]


class RecordingEraser:
    def __init__(self) -> None:
        self.calls: list[tuple[str, int]] = []

    def erase_user(self, uid: str, version: int) -> None:
        self.calls.append((uid, version))

    def newest_version(self, uid: str) -> int:
        del uid
        return 0


@pytest.mark.parametrize("phase", ["dual_write", "sql_primary", "sql_only"])
def test_delete_erases_sql_at_once_in_sql_primary(
    stack: Stack, sql: SqlMirrorStore, phase: Phase
) -> None:
    world = World(sql, phase)
    uid = f"erase-{phase}-{uuid.uuid4().hex[:8]}"
    world.sync(
        uid, "phone", None, [{"mutationId": "m", "op": "upsert", "session": session("s", 1)}]
    )
    inner = RecordingEraser()
    PhasedMirrorEraser(inner, lambda: sql, world.phases).erase_user(uid, 2**62)
    assert inner.calls == [(uid, 2**62)]  # the AccountErased event, in every phase
    left = sql.reads.user_snapshot(uid)["sessions"]
    assert (left == {}) is (phase != "dual_write")
    assert "sessions" not in sql.ownership.owned_collections(
        uid
    )  # an erased feed starts over, in any phase


def test_focusctl_sets_and_shows_phases_and_refuses_sql_only(
    clean_stack: Stack, phases_restored: None
) -> None:
    from focusctl.cli import app

    runner = CliRunner()
    result = runner.invoke(
        app, ["mirror", "phase", "set", "sessions", "shadow_read", "--percent", "25"]
    )
    assert result.exit_code == 0, result.output
    shown = runner.invoke(app, ["mirror", "phase", "show"])
    assert "sessions   shadow_read    25% (others: dual_write)" in shown.output
    refused = runner.invoke(app, ["mirror", "phase", "set", "sessions", "sql_only"])
    assert refused.exit_code == 2 and "sql_primary at 100% first" in refused.output
    refused = runner.invoke(app, ["mirror", "phase", "set", "devices", "sql_only"])
    assert refused.exit_code == 2 and "take-over-devices" in refused.output
    from shared.clients import firestore_client
    from shared.migration.phases import load_config, phase_for

    config = load_config(firestore_client())
    assert config.of("sessions").percent == 25
    assert {phase_for(config, "sessions", f"u{i}") for i in range(100)} == {
        "shadow_read",
        "dual_write",
    }


def test_focusctl_moves_sessions_to_sql_only_only_when_it_is_safe(
    clean_stack: Stack, phases_restored: None
) -> None:
    from focusctl.cli import app

    runner = CliRunner()

    def phase(*args: str) -> Any:
        return runner.invoke(app, ["mirror", "phase", *args])

    assert phase("set", "sessions", "sql_primary").exit_code == 0
    too_soon = phase("set", "sessions", "sql_only", "--percent", "10", "--settle-seconds", "600")
    assert too_soon.exit_code == 2 and "must be in place" in too_soon.output
    moved = phase("set", "sessions", "sql_only", "--percent", "10", "--settle-seconds", "0")
    assert moved.exit_code == 0, moved.output
    assert "sessions   sql_only       10% (others: sql_primary)" in phase("show").output
    for back in (["shadow_read"], ["sql_primary", "--percent", "50"]):
        refused = phase("set", "sessions", *back)
        assert refused.exit_code == 2 and "sql_primary at 100%" in refused.output
    assert phase("set", "sessions", "sql_only", "--percent", "50").exit_code == 0
