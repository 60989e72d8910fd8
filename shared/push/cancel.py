"""Cancelling a deleted user's pushes (`shared.privacy.erasure.PushCanceller`).

Deletes the tasks it can name (every plan's pending events, and the coalesced sync pushes of
the user, whose names follow from the user and the 30 s bucket) and the user's plans, so
the refill stops extending them. Whatever escapes (a task already dispatched, a plan written by
a call racing the deletion) is harmless: a delivery for a user whose schedule or devices are
gone sends nothing, and drops the orphaned plan.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from shared import logs
from shared.clock import utcnow
from shared.push.planner import PushPlanner
from shared.push.planning import pending_sync_task_refs
from shared.push.plans import PlanStore
from shared.push.tasks import TaskQueue

_log = logs.get_logger("push.cancel")


class TaskPushCanceller:
    def __init__(
        self,
        plans: PlanStore,
        planner: PushPlanner,
        queue: TaskQueue,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._plans = plans
        self._planner = planner
        self._queue = queue
        self._clock = clock

    def cancel_user(self, uid: str) -> None:
        now = self._clock()
        plans = self._plans.for_user(uid)
        deleted = sum(self._planner.forget(plan, now) for plan in plans)
        deleted += self._queue.delete(pending_sync_task_refs(uid, now))
        removed = self._plans.delete_for_user(uid)
        _log.info(
            "pushes of a deleted user cancelled",
            extra={
                "fields": {
                    "event": "push.cancel_user",
                    "uid": uid,
                    "plans": removed,
                    "tasksDeleted": deleted,
                }
            },
        )
