"""Turning push plans into Cloud Tasks: after a schedule is saved or deleted, and every hour.

`PushPlanner.after_save` runs inside `upsertSchedule`, so a block that starts in two minutes
has its task before the call returns; the hourly refill (`shared.push.refill`) extends every
plan that runs short. Both plan the events in `[max(plannedUntil, now), now + HORIZON)` and then
move `plannedUntil`, so the refill never recreates what exists. A plan whose `plannedUntil` is
not ahead of now (just written, or behind after an outage) also pushes the start of a block in
progress, at once.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Protocol

from shared import logs
from shared.push.planning import HORIZON, ScheduleRef, plan_schedule, planned_task_refs
from shared.push.plans import PlanRecord, PlanStore
from shared.push.tasks import TaskQueue

MAX_DELETES_PER_PLAN = 64  # a plan holds a few dozen events at most; bound the work anyway

_log = logs.get_logger("push.planner")


class PlanningFailed(RuntimeError):
    """Some tasks could not be created; `plannedUntil` was not moved, so a retry (the client's
    or the hourly refill) plans them again."""


@dataclasses.dataclass(frozen=True)
class PlanReport:
    created: int = 0
    existed: int = 0
    deleted: int = 0
    planned_until: datetime | None = None


class TaskBudget(Protocol):
    """How many push tasks a user may still have created this hour (shared/ratelimit.py): the
    queues are shared by every user, so one account's schedules must not fill them."""

    def take(self, uid: str, tasks: int) -> bool:
        """Spend `tasks` of `uid`'s budget; False (nothing spent) when they do not fit."""


def ref_of(plan: PlanRecord) -> ScheduleRef:
    return ScheduleRef(plan.uid, plan.schedule_id, plan.revision)


class PushPlanner:
    def __init__(
        self, queue: TaskQueue, plans: PlanStore, budget: TaskBudget | None = None
    ) -> None:
        self._queue = queue
        self._plans = plans
        self._budget = budget

    def extend(self, plan: PlanRecord, now: datetime) -> PlanReport:
        """Create the tasks `plan` lacks up to `now + HORIZON` and record that."""
        if not plan.enabled or plan.planned_until is None:
            return PlanReport(planned_until=plan.planned_until)
        start = max(plan.planned_until, now)
        end = now + HORIZON
        if start >= end:
            return PlanReport(planned_until=plan.planned_until)
        tasks = plan_schedule(
            ref_of(plan),
            plan.rule(),
            start=start,
            end=end,
            planned_at=now,
            catch_up=plan.planned_until <= now,
        )
        if tasks and self._budget is not None and not self._budget.take(plan.uid, len(tasks)):
            # Over the user's hourly budget: nothing created, `plannedUntil` not moved, so the
            # hourly refill plans these once the budget allows.
            _log.warning(
                "push tasks over the user's hourly budget; deferred to the refill",
                extra={"fields": {"scheduleId": plan.schedule_id, "deferred": len(tasks)}},
            )
            return PlanReport(planned_until=plan.planned_until)
        report = self._queue.create(tasks)
        if not report.ok:
            raise PlanningFailed(f"{len(report.failed)} of {len(tasks)} push tasks not created")
        self._plans.advance(plan, end)
        return PlanReport(created=report.created, existed=report.existed, planned_until=end)

    def after_save(
        self, plan: PlanRecord, previous: PlanRecord | None, now: datetime
    ) -> PlanReport:
        """Plan a schedule just saved (or replayed); drop the previous revision's tasks."""
        deleted = 0
        if previous is not None and previous.revision != plan.revision:
            deleted = self.forget(previous, now)
        report = self.extend(plan, now)
        return dataclasses.replace(report, deleted=deleted)

    def forget(self, plan: PlanRecord, now: datetime) -> int:
        """Delete the pending tasks of `plan` (best effort: delivery checks make any that
        remain harmless)."""
        if not plan.enabled or plan.planned_until is None or plan.planned_until <= now:
            return 0
        refs = planned_task_refs(ref_of(plan), plan.rule(), after=now, until=plan.planned_until)
        return self._queue.delete(refs[:MAX_DELETES_PER_PLAN])
