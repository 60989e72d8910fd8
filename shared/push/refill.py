"""The hourly refill of the push horizon (`refillPushHorizon`, Cloud Scheduler -> Pub/Sub).

Every plan whose `plannedUntil` is less than `LOW_WATER` (24 h) ahead is extended to
`HORIZON` (72 h) ahead, so each schedule is touched about once every two days, not every hour,
and an outage of the job of up to a day loses nothing. The job's own tick fans out: it splits
the due range of `plannedUntil` into `FANOUT` slices and publishes one message per slice on its
own topic, so slices run in parallel instances; a slice that runs out of time publishes its
continuation. Each plan is independent and idempotent (task names are deterministic and
`plannedUntil` moves with a precondition), so redeliveries and overlaps only cost duplicate
ALREADY_EXISTS answers.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from datetime import datetime

from shared import logs
from shared.clock import format_timestamp, parse_timestamp
from shared.push.planner import PlanningFailed, PushPlanner
from shared.push.planning import LOW_WATER
from shared.push.plans import PlanStore

REFILL_TOPIC = "push-refill"
FANOUT = 8
PAGE = 200

_log = logs.get_logger("push.refill")


@dataclasses.dataclass(frozen=True)
class Slice:
    """Plans with `since <= plannedUntil < before` (`since` None: from the oldest)."""

    before: datetime
    since: datetime | None = None

    def encode(self) -> bytes:
        return json.dumps(
            {
                "before": format_timestamp(self.before),
                "since": format_timestamp(self.since) if self.since else None,
            }
        ).encode()

    @classmethod
    def decode(cls, raw: bytes) -> Slice | None:
        """A slice message, or None for the scheduler's tick (`{"job": ...}`, empty, or
        anything else that is not a slice)."""
        try:
            body = json.loads(raw or b"null")
        except ValueError:
            return None
        if not isinstance(body, dict) or not isinstance(body.get("before"), str):
            return None
        since = body.get("since")
        return cls(
            before=parse_timestamp(body["before"]),
            since=parse_timestamp(since) if isinstance(since, str) else None,
        )


@dataclasses.dataclass
class RefillReport:
    plans: int = 0
    tasks_created: int = 0
    tasks_existed: int = 0
    failed: int = 0
    continued: bool = False
    slices_published: int = 0


def split(now: datetime, oldest: datetime | None, parts: int = FANOUT) -> list[Slice]:
    """The due range `[oldest, now + LOW_WATER)` cut into `parts` equal slices."""
    before = now + LOW_WATER
    if oldest is None or oldest >= before:
        return []
    step = (before - oldest) / parts
    bounds = [oldest + step * i for i in range(parts)] + [before]
    return [Slice(before=bounds[i + 1], since=None if i == 0 else bounds[i]) for i in range(parts)]


class RefillService:
    def __init__(
        self,
        plans: PlanStore,
        planner: PushPlanner,
        publish: Callable[[bytes], None],
        monotonic: Callable[[], float],
    ) -> None:
        self._plans = plans
        self._planner = planner
        self._publish = publish
        self._monotonic = monotonic

    def handle(self, raw: bytes, now: datetime, budget_s: float) -> RefillReport:
        """One message: the tick fans out; a slice is processed until `budget_s` runs out."""
        work = Slice.decode(raw)
        if work is None:
            report = RefillReport()
            for part in split(now, self._plans.oldest_due(now + LOW_WATER)):
                self._publish(part.encode())
                report.slices_published += 1
            return report
        return self.run(work, now, budget_s)

    def run(self, work: Slice, now: datetime, budget_s: float) -> RefillReport:
        deadline = self._monotonic() + budget_s
        report = RefillReport()
        cursor = None
        while True:
            if self._monotonic() >= deadline:
                # Plans already extended left the slice; the rest start again from its bottom.
                self._publish(work.encode())
                report.continued = True
                break
            page, cursor = self._plans.due(work.before, PAGE, since=work.since, after=cursor)
            if not page:
                break
            for plan in page:
                report.plans += 1
                try:
                    done = self._planner.extend(plan, now)
                except PlanningFailed as err:
                    report.failed += 1
                    _log.warning("refill of a plan failed: %s", err)
                    continue
                report.tasks_created += done.created
                report.tasks_existed += done.existed
        _log.info(
            "push horizon refill",
            extra={"fields": {"event": "push.refill", **dataclasses.asdict(report)}},
        )
        return report
