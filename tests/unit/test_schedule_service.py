"""Schedules: request validation, last writer wins, next occurrences, and the use cases run
against in-memory stores (planning included)."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from shared.errors import InvalidArgument
from shared.push.planner import PlanningFailed, PushPlanner
from shared.push.planning import HORIZON, ScheduleTask, schedule_task_name
from shared.push.plans import MemoryPlanStore, PlanRecord
from shared.push.tasks import MemoryTaskQueue
from shared.schedules.models import (
    DeleteScheduleRequest,
    Schedule,
    StoredSchedule,
    UpsertScheduleRequest,
    next_occurrences,
    next_revision,
    plan_upsert,
)
from shared.schedules.repository import Decide, DeleteOutcome, SaveOutcome, plan_for
from shared.schedules.service import delete_schedule, list_schedules, upsert_schedule
from shared.wire import parse

NOW = datetime(2026, 6, 15, 6, 0, tzinfo=UTC)  # Monday 08:00 in Paris


def wire(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": "morning",
        "name": "Deep work",
        "timezone": "Europe/Paris",
        "days": ["mon", "tue", "wed", "thu", "fri"],
        "start": "09:00",
        "end": "12:00",
        "blockedApps": ["com.example.social"],
        "enabled": True,
        "updatedAt": "2026-06-15T05:59:00.000Z",
    }
    base.update(overrides)
    return base


def schedule(**overrides: Any) -> Schedule:
    return parse(UpsertScheduleRequest, {"schedule": wire(**overrides)}).schedule


# -- validation --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"name": ""}, "data.schedule.name"),
        ({"name": "x" * 81}, "data.schedule.name"),
        ({"days": []}, "data.schedule.days"),
        ({"days": ["mon", "mon"]}, "data.schedule.days"),
        ({"days": ["monday"]}, "data.schedule.days[0]"),
        ({"start": "9:00"}, "data.schedule.start"),
        ({"end": "24:00"}, "data.schedule.end"),
        ({"timezone": "Mars/Olympus"}, "data.schedule.timezone"),
        ({"blockedApps": ["x" * 256]}, "data.schedule.blockedApps[0]"),
        ({"blockedApps": ["a"] * 501}, "data.schedule.blockedApps"),
        ({"id": "bad/id"}, "data.schedule.id"),
        ({"enabled": "true"}, "data.schedule.enabled"),
        ({"updatedAt": "yesterday"}, "data.schedule.updatedAt"),
        ({"color": "red"}, "data.schedule.color"),
    ],
)
def test_malformed_schedules_name_the_field(overrides: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidArgument) as caught:
        parse(UpsertScheduleRequest, {"schedule": wire(**overrides)})
    assert caught.value.message.startswith(field), caught.value.message


def test_missing_field_is_invalid() -> None:
    data = wire()
    del data["enabled"]
    with pytest.raises(InvalidArgument, match=r"^data\.schedule\.enabled"):
        parse(UpsertScheduleRequest, {"schedule": data})


def test_a_valid_schedule_round_trips_on_the_wire() -> None:
    assert schedule().to_wire() == wire()


# -- pure decisions ----------------------------------------------------------------------------


def test_last_writer_wins_by_updated_at() -> None:
    stored = StoredSchedule(schedule(), revision=5)
    older = schedule(name="Older", updatedAt="2026-06-15T05:00:00.000Z")
    newer = schedule(name="Newer", updatedAt="2026-06-15T06:00:00.000Z")
    assert plan_upsert(stored, older, NOW) is None
    assert plan_upsert(stored, schedule(), NOW) is None  # a replay writes nothing
    written = plan_upsert(stored, newer, NOW)
    assert written is not None and written.schedule == newer and written.revision > 5


def test_equal_updated_at_is_settled_by_content_whatever_the_order() -> None:
    a, b = schedule(name="A"), schedule(name="B")
    after_a_then_b = plan_upsert(StoredSchedule(a, 1), b, NOW)
    after_b_then_a = plan_upsert(StoredSchedule(b, 1), a, NOW)
    winners = {
        (after_a_then_b.schedule if after_a_then_b else a).name,
        (after_b_then_a.schedule if after_b_then_a else b).name,
    }
    assert len(winners) == 1


def test_revisions_increase_and_are_not_reused_after_a_re_create() -> None:
    first = next_revision(None, NOW)
    assert next_revision(first, NOW) == first + 1
    assert next_revision(None, NOW + timedelta(seconds=1)) > first + 1


def test_next_occurrences_in_progress_first_and_none_when_disabled() -> None:
    at_ten = NOW + timedelta(hours=2)  # 10:00 Paris, inside Monday's block
    got = next_occurrences(schedule(), at_ten)
    assert len(got) == 5
    assert got[0].start_at == datetime(2026, 6, 15, 7, tzinfo=UTC)
    assert got[1].start_at == datetime(2026, 6, 16, 7, tzinfo=UTC)
    assert next_occurrences(schedule(enabled=False), at_ten) == []


# -- use cases with in-memory stores -----------------------------------------------------------


class MemoryScheduleStore:
    """`ScheduleStore` in memory, sharing its plans with a `MemoryPlanStore`."""

    def __init__(self, plans: MemoryPlanStore) -> None:
        self.docs: dict[tuple[str, str], StoredSchedule] = {}
        self.plans = plans

    def list_schedules(self, uid: str) -> list[Schedule]:
        return [stored.schedule for stored in self.list(uid)]

    def get(self, uid: str, schedule_id: str) -> StoredSchedule | None:
        return self.docs.get((uid, schedule_id))

    def list(self, uid: str) -> list[StoredSchedule]:
        return [s for (u, _), s in self.docs.items() if u == uid]

    def save(self, uid: str, schedule_id: str, decide: Decide, now: datetime) -> SaveOutcome:
        existing = self.docs.get((uid, schedule_id))
        previous = self.plans.plans.get((uid, schedule_id))
        chosen = decide(existing)
        if chosen is None:
            assert existing is not None and previous is not None
            return SaveOutcome(existing, False, previous, previous)
        self.docs[(uid, schedule_id)] = chosen
        plan = self.plans.put(plan_for(uid, chosen, now))
        return SaveOutcome(chosen, True, plan, previous)

    def delete(self, uid: str, schedule_id: str) -> DeleteOutcome | None:
        stored = self.docs.pop((uid, schedule_id), None)
        if stored is None:
            return None
        return DeleteOutcome(stored, self.plans.plans.pop((uid, schedule_id), None))


@dataclasses.dataclass
class World:
    store: MemoryScheduleStore
    plans: MemoryPlanStore
    queue: MemoryTaskQueue
    planner: PushPlanner


@pytest.fixture
def world() -> World:
    plans = MemoryPlanStore()
    queue = MemoryTaskQueue()
    return World(MemoryScheduleStore(plans), plans, queue, PushPlanner(queue, plans))


def upsert(world: World, when: datetime = NOW, **overrides: Any) -> Any:
    request = UpsertScheduleRequest(schedule=schedule(**overrides))
    return upsert_schedule(world.store, world.planner, "u1", request, when)


def schedule_tasks(world: World) -> list[ScheduleTask]:
    return sorted(
        (t.body for t in world.queue.tasks.values() if isinstance(t.body, ScheduleTask)),
        key=lambda b: (b.occurrence_at, b.event),
    )


def test_upsert_answers_the_schedule_and_its_next_occurrences(world: World) -> None:
    result = upsert(world)
    assert result.schedule == schedule()
    assert [o.start_at for o in result.next_occurrences] == [
        datetime(2026, 6, d, 7, tzinfo=UTC) for d in (15, 16, 17, 18, 19)
    ]
    assert (
        upsert(world, enabled=False, updatedAt="2026-06-15T06:00:00.000Z").to_wire()[
            "nextOccurrences"
        ]
        == []
    )


def test_upsert_plans_the_horizon_at_once(world: World) -> None:
    upsert(world)
    got = [(b.event, b.occurrence_at) for b in schedule_tasks(world)]
    # Monday 15th to Wednesday 17th fit in 72 h from Monday 08:00 Paris (Thursday's start is
    # at 72 h exactly, outside).
    assert got == [
        (event, datetime(2026, 6, d, h, tzinfo=UTC))
        for d in (15, 16, 17)
        for event, h in (("start", 7), ("end", 10))
    ]
    plan = world.plans.plans[("u1", "morning")]
    assert plan.planned_until == NOW + HORIZON


def test_a_replay_creates_nothing_more(world: World) -> None:
    upsert(world)
    count = len(world.queue.tasks)
    upsert(world)
    assert len(world.queue.tasks) == count


def test_an_older_upsert_does_not_overwrite_and_returns_the_winner(world: World) -> None:
    upsert(world, name="Newer", updatedAt="2026-06-15T05:59:00.000Z")
    result = upsert(world, name="Older", updatedAt="2026-06-15T05:00:00.000Z")
    assert result.schedule.name == "Newer"


def test_an_edit_replans_with_a_new_revision_and_deletes_the_old_tasks(world: World) -> None:
    upsert(world)
    old_revision = world.store.docs[("u1", "morning")].revision
    old_names = set(world.queue.tasks)
    upsert(world, start="10:00", updatedAt="2026-06-15T06:00:00.000Z")
    new_revision = world.store.docs[("u1", "morning")].revision
    assert new_revision > old_revision
    assert old_names.isdisjoint(world.queue.tasks)  # every old pending task was deleted
    assert set(world.queue.deleted) == old_names
    assert {b.revision for b in schedule_tasks(world)} == {new_revision}
    assert schedule_tasks(world)[0].occurrence_at == datetime(2026, 6, 15, 8, tzinfo=UTC)


def test_disabling_deletes_the_pending_tasks_and_plans_nothing(world: World) -> None:
    upsert(world)
    upsert(world, enabled=False, updatedAt="2026-06-15T06:00:00.000Z")
    assert world.queue.tasks == {}
    assert world.plans.plans[("u1", "morning")].planned_until is None


def test_editing_during_a_block_pushes_its_start_at_once(world: World) -> None:
    during = NOW + timedelta(hours=2)  # 10:00 Paris
    upsert(world, when=during, updatedAt="2026-06-15T07:59:00.000Z")
    first = next(t for t in world.queue.tasks.values() if isinstance(t.body, ScheduleTask))
    assert first.body.event == "start"  # type: ignore[union-attr]
    assert first.body.occurrence_at == datetime(2026, 6, 15, 7, tzinfo=UTC)  # type: ignore[union-attr]
    assert first.send_at == during


def test_failed_task_creation_fails_the_call_and_a_retry_completes_it(world: World) -> None:
    world.queue.fail_next = 1
    with pytest.raises(PlanningFailed):
        upsert(world)
    plan = world.plans.plans[("u1", "morning")]
    assert plan.planned_until == NOW  # not moved: nothing is recorded as planned
    later = NOW + timedelta(seconds=3)
    upsert(world, when=later)  # the app retries the same request
    assert len(schedule_tasks(world)) == 6
    assert world.plans.plans[("u1", "morning")].planned_until == later + HORIZON


def test_tasks_over_the_users_hourly_budget_are_left_to_the_refill() -> None:
    from shared.ratelimit import PushTaskBudget, SharedLimits

    plans = MemoryPlanStore()
    queue = MemoryTaskQueue()
    budget = PushTaskBudget(SharedLimits("memory://"), rate="10/hour")
    world = World(MemoryScheduleStore(plans), plans, queue, PushPlanner(queue, plans, budget))
    upsert(world)  # 6 tasks: within the budget
    assert len(schedule_tasks(world)) == 6
    upsert(world, id="evening", start="18:00", end="19:00")  # 6 more do not fit in 10
    assert len(schedule_tasks(world)) == 6  # none of them created ...
    assert world.plans.plans[("u1", "evening")].planned_until == NOW  # ... none recorded
    other = upsert_schedule(  # the budget is per user
        world.store, world.planner, "u2", UpsertScheduleRequest(schedule=schedule()), NOW
    )
    assert other.schedule.id == "morning"
    assert len(schedule_tasks(world)) == 12
    # What the refill does once the budget allows: the plan left behind is planned in full.
    unlimited = PushPlanner(queue, plans)
    unlimited.extend(world.plans.plans[("u1", "evening")], NOW + timedelta(hours=1))
    assert len(schedule_tasks(world)) == 18


def test_delete_forgets_the_tasks_and_another_users_id_looks_unknown(world: World) -> None:
    upsert(world)
    other = delete_schedule(
        world.store, world.planner, "u2", DeleteScheduleRequest(id="morning"), NOW
    )
    assert other.deleted is False
    mine = delete_schedule(
        world.store, world.planner, "u1", DeleteScheduleRequest(id="morning"), NOW
    )
    assert mine.deleted is True
    assert world.queue.tasks == {}
    assert ("u1", "morning") not in world.plans.plans
    again = delete_schedule(
        world.store, world.planner, "u1", DeleteScheduleRequest(id="morning"), NOW
    )
    assert again.deleted is False


def test_recreating_a_deleted_schedule_gets_fresh_task_names(world: World) -> None:
    upsert(world)
    first = set(world.queue.used)
    delete_schedule(world.store, world.planner, "u1", DeleteScheduleRequest(id="morning"), NOW)
    upsert(world, when=NOW + timedelta(seconds=1))
    # Cloud Tasks refuses a deleted task's name for a while: the new revision avoids them all.
    assert {t.name for t in world.queue.tasks.values()}.isdisjoint(n for _, n in first)
    assert len(world.queue.tasks) == 6


def test_list_schedules_sorted_by_id(world: World) -> None:
    upsert(world, id="b")
    upsert(world, id="a")
    assert [s.id for s in list_schedules(world.store, "u1").schedules] == ["a", "b"]
    assert list_schedules(world.store, "u2").schedules == []


def test_deleted_schedule_names_are_those_planned(world: World) -> None:
    upsert(world)
    stored = world.store.docs[("u1", "morning")]
    body = schedule_tasks(world)[0]
    assert schedule_task_name("u1", "morning", stored.revision, body.event, body.occurrence_at) in {
        n for _, n in world.queue.tasks
    }
    assert isinstance(world.plans.plans[("u1", "morning")], PlanRecord)
