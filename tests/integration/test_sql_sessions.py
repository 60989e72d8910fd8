"""The SQL session store of `sql_only` on the real emulator and PostgreSQL: taking a feed over
from Firestore (refused while the mirror is behind), the fence that keeps Firestore's stale
copies out, versions that stay ahead of the mirror's, the tombstone purge, and reconcile and
backfill leaving SQL-owned sessions alone. The sync scenarios themselves run in every phase in
tests/integration/test_phase_sync.py."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text

from devstack.stack import Stack
from shared.changes import ChangeRecord, CollectingSink
from shared.errors import Unavailable
from shared.migration.phased import PhasedChangeSink
from shared.migration.phases import PhaseConfig, fixed
from shared.sessions.models import START, Head, SyncFocusSessionsRequest, Tombstone
from shared.sessions.repository import FirestoreSessionStore
from shared.sessions.service import sync_focus_sessions
from shared.sessions.sql import SqlSessionStore
from shared.sql.events import ChangeBatch
from shared.sql.store import SqlMirrorStore
from tests.support.mirror import HeldMirror
from tests.support.sync_payloads import T0, delete, session, upsert

pytestmark = pytest.mark.stack

SERVER = {"serverUpdatedAt": "2026-11-22T09:00:00.000Z"}  # what the write path adds


def sync(store: Any, uid: str, mutations: list[dict[str, Any]], cursor: str | None = None) -> Any:
    request = SyncFocusSessionsRequest.model_validate(
        {"deviceId": "phone", "cursor": cursor, "mutations": mutations}
    )
    return sync_focus_sessions(store, uid, request).to_wire()


def edit(sid: str, minute: int, label: str | None = None) -> dict[str, Any]:
    """An upsert of `sid` edited at T0 + `minute`, labelled "edit <minute>" unless told."""
    return upsert(f"{sid}-{minute}", sid, minute, label=label or f"edit {minute}")


def mirrored_feed(sql: SqlMirrorStore, uid: str, *commits: list[dict[str, Any]]) -> Any:
    """A Firestore session store with `commits` synced for `uid`, its mirror caught up."""
    from shared.clients import firestore_client

    mirror = HeldMirror(sql)
    firestore = FirestoreSessionStore(firestore_client(), mirror)
    for mutations in commits:
        sync(firestore, uid, mutations)
    mirror.catch_up()
    return firestore, mirror


def new_uid() -> str:
    return f"sqlown-{uuid.uuid4().hex[:10]}"


def test_takeover_waits_for_the_mirror_then_numbers_on_in_the_same_feed(
    stack: Stack, sql: SqlMirrorStore
) -> None:
    from shared.clients import firestore_client

    uid = new_uid()
    mirror = HeldMirror(sql)
    firestore = FirestoreSessionStore(firestore_client(), mirror)
    sync(firestore, uid, [edit("a", 1), edit("b", 1)])
    sync(firestore, uid, [edit("c", 2)])
    firestore_head = firestore.head(uid)
    assert firestore_head.seq == 2

    owned = SqlSessionStore(sql, firestore_head=firestore.head)
    # The mirror has not seen those commits yet: taking over now would lose them.
    with pytest.raises(Unavailable):
        owned.head(uid)
    with pytest.raises(Unavailable):
        sync(owned, uid, [edit("d", 3)])
    assert "sessions" not in sql.ownership.owned_collections(uid)
    assert sql.reads.user_snapshot(uid)["sessions"] == {}  # nothing half-written

    mirror.catch_up()
    assert owned.head(uid) == Head(firestore_head.epoch, 2)  # same epoch: cursors stay valid
    assert "sessions" in sql.ownership.owned_collections(uid)
    answer = sync(owned, uid, [edit("d", 3), edit("a", 4)])
    assert answer["applied"] == ["d-3", "a-4"]
    assert owned.head(uid) == Head(firestore_head.epoch, 3)
    feed = owned.changes(uid, START, 3, 10)
    assert [(s.position.seq, s.version.id) for s in feed] == [
        (1, "b"),
        (2, "c"),
        (3, "a"),
        (3, "d"),
    ]
    # Firestore heard nothing of the new commit.
    assert firestore.head(uid).seq == 2 and mirror.held == []


def test_the_fence_refuses_firestore_copies_once_sql_owns_the_feed(
    stack: Stack, sql: SqlMirrorStore
) -> None:
    from shared.clients import firestore_client

    uid = new_uid()
    firestore, mirror = mirrored_feed(sql, uid, [edit("a", 1)])
    owned = SqlSessionStore(sql, firestore_head=firestore.head)
    sync(owned, uid, [edit("a", 5, "the truth")])

    # An instance whose phase cache still says dual_write: it commits to Firestore, and the
    # consumer later refuses the event (counted, acked).
    sync(firestore, uid, [edit("a", 9, "stale instance")])
    result = mirror.catch_up()
    assert (result.fenced, result.applied) == (1, 0)
    # An instance still in sql_primary applies to SQL before answering: refused, so the app
    # retries and reaches the SQL store.
    primary = fixed(PhaseConfig().with_phase("sessions", "sql_primary", 100))
    lagging = FirestoreSessionStore(
        firestore_client(), PhasedChangeSink(CollectingSink(), lambda: sql, primary)
    )
    with pytest.raises(Unavailable):
        sync(lagging, uid, [edit("a", 10, "lagging primary")])
    # Backfill and reconcile repairs go through the same fence.
    records = [
        ChangeRecord(
            collection="sessions",
            uid=uid,
            id="a",
            op="upsert",
            version=2**62,
            data={**session("a", 11, label="backfill"), "deleted": False, "syncSeq": 1, **SERVER},
        )
    ]
    assert sql.writer.bulk_upsert(records).fenced == 1
    assert sql.writer.overwrite_same_version(records) == 0
    (row,) = owned.changes(uid, START, 100, 10)
    assert row.version.label == "the truth"  # type: ignore[union-attr]


def test_versions_stay_ahead_of_mirrored_ones_and_markers(
    stack: Stack, sql: SqlMirrorStore
) -> None:
    uid = new_uid()
    future = int((T0 + timedelta(days=3650)).timestamp() * 1_000_000)
    # A row mirrored with a version ahead of this store's clock, and a delete marker, too.
    sql.writer.apply(
        ChangeBatch(
            records=[
                ChangeRecord(
                    collection="sessions",
                    uid=uid,
                    id="a",
                    op="upsert",
                    version=future,
                    data={
                        **session("a", 1, label="edit 1"),
                        "deleted": False,
                        "syncSeq": 1,
                        **SERVER,
                    },
                ),
                ChangeRecord(
                    collection="sessions", uid=uid, id="b", op="delete", version=future, data=None
                ),
            ],
            emitted_at=T0,
        )
    )
    owned = SqlSessionStore(sql, firestore_head=lambda _uid: Head(7, 1), clock=lambda: T0)
    answer = sync(owned, uid, [edit("a", 2, "newer"), edit("b", 2, "back")])
    assert answer["applied"] == ["a-2", "b-2"]
    rows = sql.reads.user_snapshot(uid)["sessions"]
    assert rows["a"].data["label"] == "newer" and rows["b"].data["label"] == "back"
    assert rows["a"].version > future and rows["b"].version > future


def test_purge_removes_only_expired_sql_tombstones(stack: Stack, sql: SqlMirrorStore) -> None:
    uid = new_uid()
    long_ago = T0 - timedelta(days=40)
    old = SqlSessionStore(sql, firestore_head=lambda _uid: Head(0, 0), clock=lambda: long_ago)
    sync(old, uid, [edit("gone", -60000), edit("kept", -60000)])
    delete = {
        "mutationId": "d",
        "op": "delete",
        "id": "gone",
        "updatedAt": "2026-10-13T09:00:00.000Z",
    }
    sync(old, uid, [delete])
    fresh = SqlSessionStore(sql, firestore_head=lambda _uid: Head(0, 0), clock=lambda: T0)
    recent = {**delete, "mutationId": "d2", "id": "kept", "updatedAt": "2026-11-22T08:59:00.000Z"}
    sync(fresh, uid, [recent])
    # A mirrored tombstone (no purge date): Firestore's purge deletes it, not this one.
    mirrored = new_uid()
    sql.writer.apply(
        ChangeBatch(
            records=[
                ChangeRecord(
                    collection="sessions",
                    uid=mirrored,
                    id="t",
                    op="upsert",
                    version=1,
                    data={
                        "id": "t",
                        "updatedAt": "2026-01-01T00:00:00.000Z",
                        "deviceId": "phone",
                        "deleted": True,
                        "serverUpdatedAt": "2026-01-01T00:00:00.000Z",
                        "syncSeq": 1,
                    },
                )
            ],
            emitted_at=T0,
        )
    )

    outcome = fresh.purge_expired(T0, budget_s=30)
    assert outcome.complete and outcome.purged >= 1
    left = fresh.changes(uid, START, 100, 10)
    assert [(s.version.id, isinstance(s.version, Tombstone)) for s in left] == [("kept", True)]
    assert set(sql.reads.user_snapshot(mirrored)["sessions"]) == {"t"}


def test_reconcile_leaves_sql_owned_sessions_alone(clean_stack: Stack, sql: SqlMirrorStore) -> None:
    from shared.clients import firestore_client
    from shared.migration.tools.reconcile import FirestoreUsers, Reconciler

    uid = new_uid()
    firestore, _ = mirrored_feed(sql, uid, [edit("a", 1)])
    owned = SqlSessionStore(sql, firestore_head=firestore.head)
    sync(owned, uid, [edit("a", 2, "in sql only"), edit("b", 2)])

    reconciler = Reconciler(FirestoreUsers(firestore_client()), sql)
    result = reconciler.check(uid, repair=True)
    assert result.drifts == [] and result.remaining == []
    labels = {k: v.data["label"] for k, v in sql.reads.user_snapshot(uid)["sessions"].items()}
    assert labels == {"a": "in sql only", "b": "edit 2"}

    with sql.engine.connect() as conn:  # still the SQL store's head, not Firestore's
        seq = conn.execute(
            text("SELECT sql_seq FROM session_feeds WHERE user_id = :u"), {"u": uid}
        ).scalar()
    assert seq == 2


def test_the_purge_job_covers_sql_once_sessions_are_in_sql_only(
    stack: Stack, sql: SqlMirrorStore
) -> None:
    from shared.clients import firestore_client
    from shared.migration.phased_reads import PhasedSessionStore

    uid = new_uid()
    long_ago = T0 - timedelta(days=40)
    old = SqlSessionStore(sql, firestore_head=lambda _uid: Head(0, 0), clock=lambda: long_ago)
    sync(old, uid, [edit("x", -60000)])
    gone = {"mutationId": "d", "op": "delete", "id": "x", "updatedAt": "2026-10-13T09:00:00.000Z"}
    sync(old, uid, [gone])
    firestore = FirestoreSessionStore(firestore_client(), CollectingSink())
    for phase, left in (("sql_primary", 1), ("sql_only", 0)):
        config = PhaseConfig().with_phase("sessions", phase, 100)  # type: ignore[arg-type]
        store = PhasedSessionStore(firestore, lambda: sql, fixed(config))
        assert store.purge_expired(T0, budget_s=30).complete
        assert len(sql.reads.user_snapshot(uid)["sessions"]) == left


def test_the_takeover_dates_mirrored_tombstones_for_the_sql_purge(
    stack: Stack, sql: SqlMirrorStore
) -> None:

    uid = new_uid()
    gone = delete("d", "t", 5)
    firestore, _ = mirrored_feed(sql, uid, [edit("t", 1), edit("live", 1)], [gone])
    owned = SqlSessionStore(sql, firestore_head=firestore.head)
    owned.head(uid)  # the takeover
    # Firestore's purge of this tombstone would now be fenced: SQL's own purge takes it, after
    # the retention counted from its deletion.
    assert owned.purge_expired(datetime.now(UTC), budget_s=30).complete
    assert set(sql.reads.user_snapshot(uid)["sessions"]) == {"t", "live"}
    later = datetime.now(UTC) + timedelta(days=32)
    owned.purge_expired(later, budget_s=30)
    assert set(sql.reads.user_snapshot(uid)["sessions"]) == {"live"}
