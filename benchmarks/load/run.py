"""One load run: set the users up, meter their day, wait for what follows, report.

Bounded: `users` users, at most `concurrency` at once, and `max_seconds` for the day (steps not
started by then are skipped and reported). The setup (sign-up, bootstrap, devices, schedule) is
not metered: a daily user did that once. Metered: the day's calls, and what follows from them
(mirror messages, sync pushes, the day's scheduled start and end pushes) until the stack is quiet.
"""

from __future__ import annotations

import dataclasses
import statistics
import sys
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

from benchmarks.load import meter
from benchmarks.load.profile import plan_users, summary
from benchmarks.load.users import CallFailed, CallRecord, SimulatedUser

SCHEDULE_LEAD = timedelta(seconds=40)  # the day's block starts at the first whole minute after
SYNC_PUSH_DELAY = timedelta(seconds=31)  # a sync push goes when its 30 s bucket ends
QUIET = 3.0  # seconds without a new invocation: the stack has settled


@dataclasses.dataclass
class LoadResult:
    users: int
    concurrency: int
    seed: int
    plans: dict[str, Any]
    calls: list[CallRecord]
    usage: meter.Usage
    day_seconds: float
    skipped_steps: int
    failed_users: list[str]

    def per_user_day(self) -> dict[str, float | None]:
        totals = self.usage.totals()
        return {k: (None if v is None else v / self.users) for k, v in totals.items()}

    def unexpected_errors(self) -> list[CallRecord]:
        return [c for c in self.calls if c.unexpected]

    def by_callable(self) -> dict[str, dict[str, float]]:
        """Per callable: calls, p50 and p99 seconds, provoked and unexpected errors."""
        out: dict[str, dict[str, float]] = {}
        for name in sorted({c.function for c in self.calls}):
            mine = [c for c in self.calls if c.function == name]
            p50, p99 = percentiles([c.seconds for c in mine])
            out[name] = {
                "calls": len(mine),
                "p50": p50,
                "p99": p99,
                "provoked": sum(1 for c in mine if c.error is not None and not c.unexpected),
                "errors": sum(1 for c in mine if c.unexpected),
            }
        return out


def percentiles(samples: list[float]) -> tuple[float, float]:
    if len(samples) < 2:
        value = samples[0] if samples else 0.0
        return value, value
    cuts = statistics.quantiles(samples, n=100, method="inclusive")
    return cuts[49], cuts[98]


def _progress(total: int, label: str, show: bool) -> Any:
    from tqdm import tqdm

    return tqdm(total=total, desc=label, unit="call", disable=not show, file=sys.stderr)


def _each(pool: ThreadPoolExecutor, work: Callable[[Any], Any], items: Iterable[Any]) -> list[Any]:
    return list(pool.map(work, items))


def run_load(
    target: meter.Target,
    *,
    users: int,
    concurrency: int,
    seed: int,
    max_seconds: float = 600.0,
    drain: bool = True,
    show_progress: bool = True,
) -> LoadResult:
    plans = plan_users(users, seed)
    lock = threading.Lock()
    day_calls: list[CallRecord] = []
    metering = threading.Event()
    bar = _progress(sum(p.calls() for p in plans), f"{users} users", show_progress)

    def seen(record: CallRecord) -> None:
        if metering.is_set():
            with lock:
                day_calls.append(record)
                bar.update(1)

    simulated = [
        SimulatedUser(plan, target.functions_base_url, target.auth_host, seen) for plan in plans
    ]
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        _each(pool, lambda u: u.set_up(), simulated)
        block = _next_minute(datetime.now(UTC) + SCHEDULE_LEAD)
        with_schedule = [u for u in simulated if u.plan.has_schedule]
        _each(pool, lambda u: u.save_schedule(block), with_schedule)
        _wait_quiet(target, deadline=time.monotonic() + 60)

        before = meter.snapshot(target, settle=True)
        metering.set()
        stop = threading.Event()
        timer = threading.Timer(max_seconds, stop.set)
        timer.start()
        failed: list[str] = []
        started = time.monotonic()

        def day(user: SimulatedUser) -> int:
            try:
                return user.play(stop=stop)
            except CallFailed as err:
                failed.append(f"user {user.plan.index}: {err}")
                return 0

        done = sum(_each(pool, day, simulated))
        day_seconds = time.monotonic() - started
        timer.cancel()
    bar.close()
    if drain:
        # The day's pushes: the block's end, and the sync push of the last bucket.
        until = max(block + timedelta(minutes=1), datetime.now(UTC) + SYNC_PUSH_DELAY)
        while datetime.now(UTC) < until:
            time.sleep(0.5)
    _wait_quiet(target, deadline=time.monotonic() + 120)
    after = meter.snapshot(target, settle=True)
    metering.clear()
    return LoadResult(
        users=users,
        concurrency=concurrency,
        seed=seed,
        plans=summary(plans),
        calls=day_calls,
        usage=meter.usage(target, before, after),
        day_seconds=day_seconds,
        skipped_steps=sum(len(p.steps) for p in plans) - done,
        failed_users=failed,
    )


def _next_minute(at: datetime) -> datetime:
    return at.replace(second=0, microsecond=0) + timedelta(minutes=1)


def _wait_quiet(target: meter.Target, *, deadline: float) -> None:
    """Until no function has been invoked for `QUIET` seconds (mirror messages, pushes)."""
    offset = [meter.snapshot_offset(log) for log in target.functions_logs]
    last_change = time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(0.5)
        now_offset = [meter.snapshot_offset(log) for log in target.functions_logs]
        if now_offset != offset:
            offset, last_change = now_offset, time.monotonic()
        elif time.monotonic() - last_change >= QUIET:
            return
