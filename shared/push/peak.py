"""The 09:00 peak, planned: the numbers behind the push lead window and the push queues.

Pure and standard-library only (`shared/registry.py` reads it). docs/PUSH.md, "Scale", walks
through the arithmetic; `benchmarks/peak.py` checks it by planning one peak hour for 1M
synthetic schedules with the real planner.

The model: `USERS` users spread over the time zones of a European-and-American app
(`ZONE_SHARES`), `SCHEDULED_AT_0900` of them with a block that starts at 09:00 local, every
device of such a user getting the start push. A zone's 09:00 is one UTC instant, so the users
of all zones with the same UTC offset form one cohort; the largest cohort is the peak.

Sizing, in this order:

1. Queue caps from the limits: the schedule queues together may dispatch
   `FCM_SCHEDULE_SHARE` of FCM's 600k messages/min (the rest is for sync pushes and retries),
   at `DEVICES_PER_USER` messages per task; one queue may dispatch at most
   `TASKS_QUEUE_LIMIT`/s and runs at `QUEUE_HEADROOM` of it, which gives the shard count and
   the rate of each shard.
2. The lead window (the jitter) from the peak: a far event's push goes early by a deterministic
   offset uniform over the window (`planning.lead_offset`), so the cohort's pushes spread evenly
   over it. The window is the shortest multiple of `WINDOW_STEP` that keeps the worst minute
   at or under `PEAK_TARGET` of FCM's quota. Seconds of jitter are not enough: the largest
   cohort alone is about three minutes of the whole project's FCM quota. The app acts at the
   push's `occurrenceAt`, not on arrival, so an early push does not move the block.
"""

from __future__ import annotations

import dataclasses
import math
from collections import Counter
from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta

# -- the model ---------------------------------------------------------------------------------

USERS = 10_000_000
SCHEDULED_AT_0900 = 0.30
# Users per IANA zone of a European-and-American app (shares of USERS; they sum to 1): Europe
# 48% (34% on Central European Time), North America 35%, South America 17%. docs/PUSH.md has
# the cohorts by UTC offset.
ZONE_SHARES: dict[str, float] = {
    "America/Los_Angeles": 0.08,
    "America/Denver": 0.02,
    "America/Chicago": 0.07,
    "America/Mexico_City": 0.04,
    "America/New_York": 0.14,
    "America/Bogota": 0.03,
    "America/Santiago": 0.01,
    "America/Sao_Paulo": 0.10,
    "America/Argentina/Buenos_Aires": 0.03,
    "Europe/London": 0.09,
    "Europe/Lisbon": 0.01,
    "Europe/Paris": 0.09,
    "Europe/Berlin": 0.10,
    "Europe/Madrid": 0.05,
    "Europe/Rome": 0.05,
    "Europe/Warsaw": 0.03,
    "Europe/Amsterdam": 0.02,
    "Europe/Athens": 0.02,
    "Europe/Helsinki": 0.01,
    "Europe/Istanbul": 0.01,
}
DEVICES_PER_USER = 1.9  # the load profile's mean (benchmarks/load/profile.py: 1-3 devices)
REFERENCE_DAY = date(2026, 12, 8)  # a Tuesday in winter; summer moves Europe and America alike

# -- the limits --------------------------------------------------------------------------------

FCM_PER_MINUTE = 600_000  # messages per minute per project
FCM_SCHEDULE_SHARE = 0.8
TASKS_QUEUE_LIMIT = 500.0  # Cloud Tasks' maximum dispatch rate of one queue, per second
QUEUE_HEADROOM = 0.7
PEAK_TARGET = 0.4  # the worst minute's share of FCM's quota
WINDOW_STEP = timedelta(minutes=5)


@dataclasses.dataclass(frozen=True)
class PeakPlan:
    peak_at: datetime  # UTC instant of the largest cohort's 09:00
    peak_share: float  # of USERS, in that cohort
    cohort_tasks: int  # start tasks of that cohort
    cohort_messages: int
    queue_shards: int
    queue_rate: int  # max dispatches/s of each schedule queue shard
    lead_window: timedelta

    @property
    def cap_tasks_per_s(self) -> int:
        return self.queue_shards * self.queue_rate

    @property
    def worst_minute_messages(self) -> float:
        """The cohort's messages spread evenly over the window, per minute."""
        return self.cohort_messages / (self.lead_window / timedelta(minutes=1))

    @property
    def worst_tasks_per_s(self) -> float:
        return self.cohort_tasks / self.lead_window.total_seconds()


def cohorts(day: date = REFERENCE_DAY) -> dict[datetime, float]:
    """UTC instant of 09:00 local on `day` -> share of USERS in zones whose 09:00 it is."""
    from zoneinfo import ZoneInfo  # not at import: the registry reads this module

    out: dict[datetime, float] = {}
    for zone, share in ZONE_SHARES.items():
        at = datetime.combine(day, time(9, 0), ZoneInfo(zone)).astimezone(UTC)
        out[at] = out.get(at, 0.0) + share
    return dict(sorted(out.items()))


def queue_sizing(
    devices_per_user: float = DEVICES_PER_USER,
) -> tuple[int, int]:
    """(shards, rate per shard) of the schedule queues from FCM's quota and Cloud Tasks' limit."""
    cap = FCM_PER_MINUTE / 60 * FCM_SCHEDULE_SHARE / devices_per_user
    per_queue = TASKS_QUEUE_LIMIT * QUEUE_HEADROOM
    shards = math.ceil(cap / per_queue)
    return shards, math.floor(cap / shards)


# What shared/registry.py declares for the `push-schedule` queues.
SCHEDULE_QUEUE_SHARDS, SCHEDULE_QUEUE_RATE = queue_sizing()


def lead_window_for(cohort_messages: float) -> timedelta:
    """The shortest multiple of WINDOW_STEP over which `cohort_messages` spread evenly stay at
    or under PEAK_TARGET of FCM's quota in every minute."""
    minutes = cohort_messages / (PEAK_TARGET * FCM_PER_MINUTE)
    steps = max(1, math.ceil(minutes / (WINDOW_STEP / timedelta(minutes=1))))
    return WINDOW_STEP * steps


def plan(day: date = REFERENCE_DAY) -> PeakPlan:
    peak_at, share = max(cohorts(day).items(), key=lambda item: item[1])
    tasks = round(USERS * SCHEDULED_AT_0900 * share)
    messages = round(tasks * DEVICES_PER_USER)
    return PeakPlan(
        peak_at,
        share,
        tasks,
        messages,
        SCHEDULE_QUEUE_SHARDS,
        SCHEDULE_QUEUE_RATE,
        lead_window_for(messages),
    )


def per_minute(instants: Iterable[tuple[str, datetime]]) -> dict[str, Counter[datetime]]:
    """(queue, send time) pairs -> per queue, how many fall in each whole UTC minute."""
    out: dict[str, Counter[datetime]] = {}
    for queue, at in instants:
        minute = at.astimezone(UTC).replace(second=0, microsecond=0)
        out.setdefault(queue, Counter())[minute] += 1
    return out


def worst_minutes(counts: dict[str, Counter[datetime]]) -> dict[str, tuple[datetime, int]]:
    """Per queue, its busiest minute and how many it holds (the earliest on a tie)."""
    return {
        queue: min(c.items(), key=lambda item: (-item[1], item[0]))
        for queue, c in sorted(counts.items())
        if c
    }
