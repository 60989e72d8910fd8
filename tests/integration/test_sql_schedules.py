"""The SQL schedule store of `sql_only` on the real emulator and PostgreSQL: the takeover copies
Firestore's schedules with their revisions (and drops rows of schedules Firestore no longer
has), writes go to SQL while push plans stay in step in Firestore, a replay repairs a plan left
behind by a crash, deletes remove the plan first, and the mirror fences Firestore's copies."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from devstack.stack import Stack
from shared.push.plans import plan_id
from shared.schedules.models import Schedule
from shared.schedules.repository import FirestoreScheduleStore, decide_upsert
from shared.schedules.sql import SqlScheduleStore
from shared.sql.store import SqlMirrorStore
from tests.support.mirror import HeldMirror

pytestmark = pytest.mark.stack

NOW = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)


def schedule(schedule_id: str, minute: int, **fields: Any) -> Schedule:
    return Schedule.model_validate(
        {
            "id": schedule_id,
            "name": f"block {minute}",
            "timezone": "Europe/Paris",
            "days": ["mon"],
            "start": "09:00",
            "end": "10:00",
            "blockedApps": [],
            "enabled": True,
            "updatedAt": (NOW + timedelta(minutes=minute)).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
            **fields,
        }
    )


def plan_doc(db: Any, uid: str, schedule_id: str) -> dict[str, Any] | None:
    snap = db.collection("pushPlans").document(plan_id(uid, schedule_id)).get()
    return snap.to_dict() if snap.exists else None


@pytest.fixture
def world(stack: Stack, sql: SqlMirrorStore) -> Any:
    from shared.clients import firestore_client

    class World:
        uid = f"sched-{uuid.uuid4().hex[:10]}"
        db = firestore_client()
        mirror = HeldMirror(sql)
        firestore = FirestoreScheduleStore(db, mirror)
        owned = SqlScheduleStore(sql, db, firestore.list_with_versions)

        def save(self, store: Any, s: Schedule) -> Any:
            return store.save(self.uid, s.id, decide_upsert(s, NOW), NOW)

    return World()


def test_takeover_copies_revisions_and_drops_what_firestore_deleted(
    world: Any, sql: SqlMirrorStore
) -> None:
    kept = world.save(world.firestore, schedule("kept", 1))
    world.save(world.firestore, schedule("gone", 1))
    world.mirror.catch_up()
    world.firestore.delete(world.uid, "gone")  # the mirror has not seen this delete yet
    assert set(sql.reads.user_snapshot(world.uid)["schedules"]) == {"kept", "gone"}

    listed = world.owned.list(world.uid)
    assert [(s.schedule.id, s.revision) for s in listed] == [("kept", kept.stored.revision)]
    assert sql.ownership.owned_collections(world.uid) == {"schedules"}
    # From now on Firestore's copies are refused, the late delete included.
    assert world.mirror.catch_up().fenced == 1


def test_writes_go_to_sql_and_plans_stay_in_step_in_firestore(
    world: Any, sql: SqlMirrorStore
) -> None:
    first = world.save(world.owned, schedule("morning", 1))
    assert first.written and first.previous_plan is None
    plan = plan_doc(world.db, world.uid, "morning")
    assert plan is not None and plan["revision"] == first.stored.revision
    edited = world.save(world.owned, schedule("morning", 5, start="10:00", end="11:00"))
    assert edited.written and edited.stored.revision != first.stored.revision
    assert edited.previous_plan is not None
    assert edited.previous_plan.revision == first.stored.revision
    plan = plan_doc(world.db, world.uid, "morning")
    assert plan is not None and (plan["revision"], plan["start"]) == (
        edited.stored.revision,
        "10:00",
    )
    older = world.save(world.owned, schedule("morning", 2, name="late"))
    assert not older.written and older.stored == edited.stored  # last writer wins

    assert world.firestore.get(world.uid, "morning") is None  # Firestore never saw it
    assert world.mirror.held == []  # nothing published: SQL is the source
    got = world.owned.get(world.uid, "morning")
    assert got is not None and got.revision == edited.stored.revision


def test_a_replay_repairs_a_plan_left_behind_by_a_crash(world: Any) -> None:
    saved = world.save(world.owned, schedule("morning", 1))
    # The process died after the SQL commit, before the plan write: no plan.
    world.db.collection("pushPlans").document(plan_id(world.uid, "morning")).delete()
    replay = world.save(world.owned, schedule("morning", 1))
    assert not replay.written and replay.previous_plan is None
    plan = plan_doc(world.db, world.uid, "morning")
    assert plan is not None and plan["revision"] == saved.stored.revision


def test_delete_removes_the_plan_then_the_schedule(world: Any, sql: SqlMirrorStore) -> None:
    world.save(world.owned, schedule("morning", 1))
    outcome = world.owned.delete(world.uid, "morning")
    assert outcome is not None and outcome.plan is not None
    assert plan_doc(world.db, world.uid, "morning") is None
    assert world.owned.get(world.uid, "morning") is None
    assert world.owned.delete(world.uid, "morning") is None
    assert "morning" not in sql.reads.user_snapshot(world.uid)["schedules"]


def test_concurrent_edits_leave_the_plan_at_the_winning_revision(world: Any) -> None:
    edits = [schedule("morning", minute, name=f"edit {minute}") for minute in range(1, 9)]
    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(lambda s: world.save(world.owned, s), edits))
    stored = world.owned.get(world.uid, "morning")
    assert stored is not None and stored.schedule.name == "edit 8"
    plan = plan_doc(world.db, world.uid, "morning")
    assert plan is not None and plan["revision"] == stored.revision
