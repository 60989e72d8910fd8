"""The step back from `sql_only` on the real emulator and PostgreSQL: users SQL owns are given
back to Firestore (sessions with their feed, so cursors stay valid; profiles; schedules with
their revisions and push plans), only once the step back has settled; a give-back that crashes
leaves SQL the owner and is done again; two at once give back once; afterwards the fence is down
and reconcile finds Firestore and SQL alike. Devices go back all at once (`give_back_devices`,
tests/integration/test_sql_devices.py); focusctl's order of steps is at the end."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from typer.testing import CliRunner

from devstack.stack import Stack
from shared.accounts.repository import FirestoreAccountStore
from shared.accounts.sql import SqlAccountStore
from shared.changes import change_shard
from shared.clients import firestore_client
from shared.migration.moves.give_back import GiveBack
from shared.migration.phased import PhasedAccountStore, PhasedChangeSink, PhasedScheduleStore
from shared.migration.phased_reads import PhasedSessionStore
from shared.migration.phases import CollectionPhase, PhaseConfig, fixed
from shared.migration.routing import GiveBackGate
from shared.push.plans import plan_id
from shared.schedules.repository import FirestoreScheduleStore, decide_upsert
from shared.schedules.sql import SqlScheduleStore
from shared.sessions.models import START, Tombstone
from shared.sessions.repository import FirestoreSessionStore
from shared.sessions.sql import SqlSessionStore
from shared.sql.store import SqlMirrorStore
from tests.integration.test_sql_accounts import bootstrap
from tests.integration.test_sql_schedules import schedule
from tests.integration.test_sql_sessions import edit, sync
from tests.support.mirror import CaughtUpMirror, HeldMirror
from tests.support.sync_payloads import delete

pytestmark = pytest.mark.stack

NOW = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
SETTLE_S = 60


def new_uid(name: str) -> str:
    return f"{name}-{uuid.uuid4().hex[:10]}"


def stepped_back(collection: Any, age_s: float) -> Any:
    """Phases right after `phase set <collection> sql_primary` from sql_only, `age_s` ago."""
    setting = CollectionPhase(
        phase="sql_primary",
        percent=100,
        changed_at=datetime.now(UTC) - timedelta(seconds=age_s),
        give_back=True,
    )
    return fixed(PhaseConfig(collections={collection: setting}))


def gate(sql: SqlMirrorStore, phases: Any) -> GiveBackGate:
    from shared.clients import firestore_client

    return GiveBackGate(lambda: sql, phases, firestore_client, settle_s=SETTLE_S)


def reconcile(sql: SqlMirrorStore, uid: str) -> Any:
    from shared.clients import firestore_client
    from shared.migration.tools.reconcile import FirestoreUsers, Reconciler

    reconciler = Reconciler(FirestoreUsers(firestore_client()), sql)
    return reconciler.check(uid)


class Sessions:
    """A user whose feed SQL took over: two commits on Firestore, then three in SQL alone."""

    def __init__(self, sql: SqlMirrorStore) -> None:
        from shared.clients import firestore_client

        self.uid = new_uid("back")
        self.sql = sql
        self.mirror = HeldMirror(sql)
        self.firestore = FirestoreSessionStore(firestore_client(), self.mirror)
        sync(self.firestore, self.uid, [edit("a", 1), edit("b", 1), edit("old", 1)])
        sync(self.firestore, self.uid, [edit("c", 2)])
        self.mirror.catch_up()
        self.epoch = self.firestore.head(self.uid).epoch
        self.owned = SqlSessionStore(sql, firestore_head=self.firestore.head)
        self.cursor = sync(self.owned, self.uid, [edit("a", 3, "in sql")])["cursor"]
        sync(self.owned, self.uid, [delete("d-b", "b", 4), edit("d", 4)])
        sync(self.owned, self.uid, [edit("e", 5)])

    def phased(self, phases: Any) -> PhasedSessionStore:
        """The store a `sql_primary` instance uses: writes to Firestore, applied to SQL too."""
        from shared.clients import firestore_client

        sink = PhasedChangeSink(CaughtUpMirror(self.sql), lambda: self.sql, phases)
        inner = FirestoreSessionStore(firestore_client(), sink)
        return PhasedSessionStore(inner, lambda: self.sql, phases, gate=gate(self.sql, phases))


def test_sessions_are_given_back_with_their_feed_and_cursors(
    stack: Stack, sql: SqlMirrorStore
) -> None:
    user = Sessions(sql)
    uid = user.uid
    # SQL purged a tombstone Firestore still has as a live session.
    with sql.engine.begin() as conn:
        from sqlalchemy import text

        conn.execute(
            text("DELETE FROM focus_sessions WHERE user_id = :u AND id = 'old'"), {"u": uid}
        )

    store = user.phased(stepped_back("sessions", age_s=SETTLE_S))
    answer = sync(store, uid, [], cursor=user.cursor)
    assert "sessions" not in sql.ownership.owned_collections(uid)
    # The device that synced at seq 3 gets exactly what SQL committed after it.
    changed = {c["id"]: c for c in answer["changes"]}
    assert set(changed) == {"b", "d", "e"} and changed["b"]["deleted"] is True
    head = user.firestore.head(uid)
    assert (head.epoch, head.seq) == (user.epoch, 5)
    # The head carries its change shard, as every head does: the incremental reconcile sees it.
    head_doc = firestore_client().document(f"users/{uid}/syncState/sessions").get().to_dict()
    assert head_doc is not None and head_doc["shard"] == change_shard(uid)
    in_firestore = {s.version.id: s for s in user.firestore.changes(uid, START, 5, 100)}
    assert set(in_firestore) == {"a", "b", "c", "d", "e"}  # "old" deleted, as in SQL
    assert in_firestore["a"].version.label == "in sql"  # type: ignore[union-attr]
    assert isinstance(in_firestore["b"].version, Tombstone)
    assert reconcile(sql, uid).drifts == []

    # Firestore is the source again: the next commit numbers on, and the mirror takes it.
    written = sync(store, uid, [edit("f", 6)], cursor=answer["cursor"])
    assert [c["id"] for c in written["changes"]] == ["f"]
    assert user.firestore.head(uid).seq == 6
    assert sql.reads.user_snapshot(uid)["sessions"]["f"].data["syncSeq"] == 6
    assert reconcile(sql, uid).drifts == []


def test_tombstones_keep_their_purge_date_in_firestore(stack: Stack, sql: SqlMirrorStore) -> None:
    from shared.clients import firestore_client

    user = Sessions(sql)
    GiveBack(sql, firestore_client()).user("sessions", user.uid)
    snap = (
        firestore_client()
        .collection("users")
        .document(user.uid)
        .collection("sessions")
        .document("b")
        .get()
    )
    data = snap.to_dict() or {}
    assert data["deleted"] is True and data["purgeAt"] > datetime.now(UTC) + timedelta(days=29)


def test_a_feed_begun_in_sql_keeps_its_epoch_on_firestore(
    stack: Stack, sql: SqlMirrorStore
) -> None:
    from shared.clients import firestore_client

    uid = new_uid("sqlborn")
    firestore = FirestoreSessionStore(firestore_client(), CaughtUpMirror(sql))
    owned = SqlSessionStore(sql, firestore_head=firestore.head)
    cursor = sync(owned, uid, [edit("a", 1)])["cursor"]  # no Firestore feed ever existed
    epoch = owned.head(uid).epoch

    assert GiveBack(sql, firestore_client()).user("sessions", uid)
    # The head document is new, but the feed is the same one: the device's cursor holds.
    assert firestore.head(uid).epoch == epoch
    answer = sync(firestore, uid, [edit("b", 2)], cursor=cursor)
    assert [c["id"] for c in answer["changes"]] == ["b"]


@pytest.mark.parametrize("where", ["head", "marker"])
def test_the_deleted_account_check_on_the_head_survives_a_give_back(
    stack: Stack, sql: SqlMirrorStore, where: str
) -> None:
    """The syncs check old tokens against the head's `accountDeletedAt`: a give-back rewrites
    the head, keeping the flag, or taking it from the marker (a uid deleted, then made again)."""
    from shared.accounts.deletion import marker_ref
    from shared.clients import firestore_client
    from shared.sessions.repository import DELETED_FIELD, flag_account_deleted

    db = firestore_client()
    user = Sessions(sql)
    requested_at = datetime(2026, 11, 1, tzinfo=UTC)
    if where == "head":
        assert flag_account_deleted(db, user.uid, requested_at)
    else:
        marker_ref(db, user.uid).set({"requestedAt": requested_at})
    assert GiveBack(sql, db).user("sessions", user.uid)
    head = db.document(f"users/{user.uid}/syncState/sessions").get()
    assert head.get("seq") == 5 and head.get(DELETED_FIELD) == requested_at


def test_until_the_step_back_settles_sql_keeps_serving_the_users_it_owns(
    stack: Stack, sql: SqlMirrorStore
) -> None:
    user = Sessions(sql)
    store = user.phased(stepped_back("sessions", age_s=0))
    # An instance whose cache still says sql_only may serve this user: SQL stays the source.
    answer = sync(store, user.uid, [edit("g", 7)], cursor=user.cursor)
    assert answer["applied"] == ["g-7"]
    assert "sessions" in sql.ownership.owned_collections(user.uid)
    assert user.firestore.head(user.uid).seq == 2  # Firestore untouched
    assert user.owned.head(user.uid).seq == 6  # the write is SQL's sixth commit


def test_a_give_back_that_dies_before_its_commit_is_done_again(
    stack: Stack, sql: SqlMirrorStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    from shared.clients import firestore_client

    user = Sessions(sql)
    giver = GiveBack(sql, firestore_client())

    def crash(*_args: Any) -> None:
        raise ConnectionError("process killed after the Firestore copy")

    with monkeypatch.context() as patch:
        patch.setattr(giver, "_rewrite", crash)
        with pytest.raises(ConnectionError):
            giver.user("sessions", user.uid)
    # SQL still owns the feed and its rows; Firestore holds a partial copy nobody reads.
    assert "sessions" in sql.ownership.owned_collections(user.uid)
    assert user.owned.head(user.uid).seq == 5
    sync(user.owned, user.uid, [edit("a", 8, "written after the crash")])

    assert giver.user("sessions", user.uid)
    assert not giver.user("sessions", user.uid)  # nothing left to give back
    (a,) = [s for s in user.firestore.changes(user.uid, START, 6, 100) if s.version.id == "a"]
    assert a.version.label == "written after the crash"  # type: ignore[union-attr]
    assert reconcile(sql, user.uid).drifts == []


def test_two_give_backs_at_once_give_back_once(stack: Stack, sql: SqlMirrorStore) -> None:
    from shared.clients import firestore_client

    user = Sessions(sql)
    givers = [GiveBack(sql, firestore_client()) for _ in range(4)]
    with ThreadPoolExecutor(len(givers)) as pool:
        done = list(pool.map(lambda g: g.user("sessions", user.uid), givers))
    assert sorted(done) == [False, False, False, True]
    assert user.firestore.head(user.uid).seq == 5
    assert reconcile(sql, user.uid).drifts == []


def test_profiles_and_schedules_are_given_back(stack: Stack, sql: SqlMirrorStore) -> None:
    from shared.clients import firestore_client

    db = firestore_client()
    uid = new_uid("acct")
    mirror = HeldMirror(sql)
    accounts = FirestoreAccountStore(db, mirror)
    schedules = FirestoreScheduleStore(db, mirror)
    bootstrap(accounts, uid, "Europe/Paris", "fr-FR")
    for s in (schedule("kept", 1), schedule("edited", 1), schedule("dropped", 1)):
        schedules.save(uid, s.id, decide_upsert(s, NOW), NOW)
    mirror.catch_up()
    # In sql_only: SQL takes them over and alone sees these writes.
    bootstrap(SqlAccountStore(sql, accounts.current_record), uid, "Asia/Tokyo", "ja-JP")
    owned = SqlScheduleStore(sql, db, schedules.list_with_versions)
    edited = owned.save(uid, "edited", decide_upsert(schedule("edited", 2, name="new"), NOW), NOW)
    owned.delete(uid, "dropped")
    assert sql.ownership.owned_collections(uid) >= {"users", "schedules"}
    marker = db.document(f"users/{uid}/syncState/changes")
    marked_before = (marker.get().to_dict() or {})["updatedAt"]

    config = PhaseConfig(
        collections={
            c: CollectionPhase(
                phase="sql_primary",
                changed_at=datetime.now(UTC) - timedelta(seconds=SETTLE_S),
                give_back=True,
            )
            for c in ("users", "schedules")
        }
    )
    phases = fixed(config)
    sink = PhasedChangeSink(CaughtUpMirror(sql), lambda: sql, phases)
    profile = PhasedAccountStore(
        FirestoreAccountStore(db, sink), lambda: sql, phases, gate(sql, phases)
    ).get_profile(uid)
    assert profile is not None and (profile.timezone, profile.locale) == ("Asia/Tokyo", "ja-JP")
    assert accounts.get_profile(uid) == profile  # Firestore itself holds it now
    store = PhasedScheduleStore(
        FirestoreScheduleStore(db, sink), lambda: sql, phases, db, gate(sql, phases)
    )
    listed = {s.schedule.id: s for s in store.list(uid)}
    assert set(listed) == {"kept", "edited"}
    assert listed["edited"].revision == edited.stored.revision
    assert listed["edited"].schedule.name == "new"
    assert {s.schedule.id for s in schedules.list(uid)} == {"kept", "edited"}  # from Firestore
    plan = db.collection("pushPlans").document(plan_id(uid, "edited")).get().to_dict() or {}
    assert plan["revision"] == edited.stored.revision
    assert not sql.ownership.owned_collections(uid) & {"users", "schedules"}
    assert reconcile(sql, uid).drifts == []
    # The give-back's copies moved the user's change marker: the incremental reconcile sees them.
    after = marker.get().to_dict() or {}
    assert after["updatedAt"] > marked_before and after["shard"] == change_shard(uid)

    # Writes land in Firestore again and reach SQL through the mirror, not through the fence.
    store.save(uid, "kept", decide_upsert(schedule("kept", 3, name="later"), NOW), NOW)
    assert sql.reads.list_schedules(uid)[1]["name"] == "later"
    assert reconcile(sql, uid).drifts == []


def test_focusctl_gives_the_rest_back_then_lets_the_collection_step_further_back(
    clean_stack: Stack, sql: SqlMirrorStore, phases_restored: None
) -> None:
    from focusctl.cli import app
    from shared.clients import firestore_client
    from shared.migration.phases import load_config

    runner = CliRunner()

    def run(*args: str) -> Any:
        return runner.invoke(app, ["mirror", *args])

    assert run("phase", "set", "sessions", "sql_primary").exit_code == 0
    moved = run("phase", "set", "sessions", "sql_only", "--settle-seconds", "0")
    assert moved.exit_code == 0, moved.output
    users = [Sessions(sql) for _ in range(3)]

    nothing = run("give-back", "sessions", "--no-progress")
    assert nothing.exit_code == 2 and "not being given back" in nothing.output
    for back in (["dual_write"], ["sql_primary", "--percent", "50"]):
        refused = run("phase", "set", "sessions", *back)
        assert refused.exit_code == 2 and "sql_primary at 100%" in refused.output
    stepped = run("phase", "set", "sessions", "sql_primary")
    assert stepped.exit_code == 0, stepped.output
    assert load_config(firestore_client()).of("sessions").give_back
    shown = run("phase", "show").output
    assert "sessions   sql_primary    100% (others: shadow_read); being given back" in shown
    further = run("phase", "set", "sessions", "shadow_read")
    assert further.exit_code == 2 and "give-back sessions" in further.output
    too_soon = run("give-back", "sessions", "--no-progress", "--settle-seconds", "600")
    assert too_soon.exit_code == 2 and "must be in place" in too_soon.output

    done = run("give-back", "sessions", "--no-progress", "--settle-seconds", "0")
    assert done.exit_code == 0, done.output
    assert "give-back finished" in done.output
    for user in users:
        assert "sessions" not in sql.ownership.owned_collections(user.uid)
        assert user.firestore.head(user.uid).seq == 5
        assert reconcile(sql, user.uid).drifts == []
    assert not load_config(firestore_client()).of("sessions").give_back
    assert "given back" not in run("phase", "show").output
    assert run("phase", "set", "sessions", "shadow_read").exit_code == 0
