"""Schedule use cases: `upsertSchedule`, `deleteSchedule`, `listSchedules`.

Saving a schedule also plans its silent pushes at once (shared/push/planner.py), so a block
starting in two minutes fires; deleting one deletes the tasks it can name. Pure decisions are in
`models`, storage behind `ScheduleStore`.
"""

from __future__ import annotations

from datetime import datetime

from shared.push.planner import PushPlanner
from shared.schedules.models import (
    DeleteScheduleRequest,
    DeleteScheduleResult,
    ListSchedulesResult,
    UpsertScheduleRequest,
    UpsertScheduleResult,
    next_occurrences,
)
from shared.schedules.repository import ScheduleLister, ScheduleStore, decide_upsert


def upsert_schedule(
    store: ScheduleStore,
    planner: PushPlanner,
    uid: str,
    request: UpsertScheduleRequest,
    now: datetime,
) -> UpsertScheduleResult:
    """Last writer wins by `updatedAt`; the result holds the stored winner. Replaying the same
    request changes nothing, but completes push planning an earlier attempt left unfinished."""
    incoming = request.schedule
    outcome = store.save(uid, incoming.id, decide_upsert(incoming, now), now)
    planner.after_save(outcome.plan, outcome.previous_plan, now)
    winner = outcome.stored.schedule
    return UpsertScheduleResult(schedule=winner, next_occurrences=next_occurrences(winner, now))


def delete_schedule(
    store: ScheduleStore,
    planner: PushPlanner,
    uid: str,
    request: DeleteScheduleRequest,
    now: datetime,
) -> DeleteScheduleResult:
    """`deleted: false` for an id this user does not have (another user's id looks unknown)."""
    outcome = store.delete(uid, request.id)
    if outcome is None:
        return DeleteScheduleResult(deleted=False)
    if outcome.plan is not None:
        planner.forget(outcome.plan, now)
    return DeleteScheduleResult(deleted=True)


def list_schedules(reader: ScheduleLister, uid: str) -> ListSchedulesResult:
    schedules = sorted(reader.list_schedules(uid), key=lambda s: s.id)
    return ListSchedulesResult(schedules=schedules)
