"""The per-account schedule cap on the real emulator and PostgreSQL, in both schedule stores: a
new schedule past the cap is refused with RESOURCE_EXHAUSTED and writes nothing (no schedule, no
push plan, no change event); edits of existing schedules still pass; and concurrent creations
never overshoot it (Firestore: the guard document; SQL: the user's lock)."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from devstack.stack import Stack
from shared.errors import ResourceExhausted
from shared.push.plans import plan_id
from shared.schedules.models import Schedule
from shared.schedules.repository import FirestoreScheduleStore, decide_upsert
from shared.schedules.sql import SqlScheduleStore
from shared.sql.store import SqlMirrorStore
from tests.support.mirror import HeldMirror

pytestmark = pytest.mark.stack

NOW = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
CAP = 3


def schedule(schedule_id: str, minute: int = 1, **fields: Any) -> Schedule:
    return Schedule.model_validate(
        {
            "id": schedule_id,
            "name": f"block {schedule_id}",
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


@pytest.fixture(params=["firestore", "sql"])
def world(request: pytest.FixtureRequest, stack: Stack, sql: SqlMirrorStore) -> Any:
    from shared.clients import firestore_client

    db = firestore_client()
    mirror = HeldMirror(sql)
    firestore = FirestoreScheduleStore(db, mirror, max_schedules=CAP)

    class World:
        uid = f"cap-{uuid.uuid4().hex[:10]}"
        kind = request.param
        store: Any = (
            firestore
            if request.param == "firestore"
            else SqlScheduleStore(sql, db, firestore.list_with_versions, max_schedules=CAP)
        )
        published = mirror.held

        def save(self, s: Schedule) -> Any:
            return self.store.save(self.uid, s.id, decide_upsert(s, NOW), NOW)

        def ids(self) -> set[str]:
            return {stored.schedule.id for stored in self.store.list(self.uid)}

        def has_plan(self, schedule_id: str) -> bool:
            return bool(
                db.collection("pushPlans").document(plan_id(self.uid, schedule_id)).get().exists
            )

    return World()


def test_a_new_schedule_past_the_cap_is_refused_and_writes_nothing(world: Any) -> None:
    for n in range(CAP):
        world.save(schedule(f"s{n}"))
    published = len(world.published)

    with pytest.raises(ResourceExhausted, match=f"At most {CAP} schedules"):
        world.save(schedule("one-too-many"))

    assert world.ids() == {f"s{n}" for n in range(CAP)}
    assert not world.has_plan("one-too-many")
    assert len(world.published) == published  # no change event for what was not written


def test_at_the_cap_existing_schedules_can_still_be_edited_and_a_delete_makes_room(
    world: Any,
) -> None:
    for n in range(CAP):
        world.save(schedule(f"s{n}"))
    edited = world.save(schedule("s0", minute=5, name="renamed"))
    assert edited.written and edited.stored.schedule.name == "renamed"

    assert world.store.delete(world.uid, "s1") is not None
    world.save(schedule("s-new"))
    assert world.ids() == {"s0", "s2", "s-new"}


def test_concurrent_creations_never_overshoot_the_cap(world: Any) -> None:
    candidates = [schedule(f"race-{n}") for n in range(8)]

    def create(s: Schedule) -> bool:
        try:
            world.save(s)
        except ResourceExhausted:
            return False
        return True

    with ThreadPoolExecutor(max_workers=8) as pool:
        created = list(pool.map(create, candidates))

    assert sum(created) == CAP
    assert len(world.ids()) == CAP
