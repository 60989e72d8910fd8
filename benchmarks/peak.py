"""The 09:00 peak, simulated: one peak hour planned by the real planner for 1M synthetic
schedules, and the worst minute of each push queue against the plan in `shared/push/peak.py`.

The schedules follow the peak model (users spread over `peak.ZONE_SHARES`, 30% with a block at
09:00 local on weekdays, the others at random quarter hours and days; 1-3 devices per user as
in the load profile). 1M schedules stand for 10M users: counts are scaled by ten for the
comparison with FCM's quota and the queue rates. Planning is pure (no emulator), in two
processes.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from datetime import datetime, timedelta
from datetime import time as wall_time

from shared import registry
from shared.push import peak
from shared.push.planning import LEAD_WINDOW, SCHEDULE_QUEUE, ScheduleRef, plan_schedule
from shared.recurrence import DAY_NAMES, WeeklyRule

SCHEDULES = 1_000_000
SCALE = peak.USERS // SCHEDULES
WORKERS = 2
CHUNK = 50_000
WEEKDAYS = frozenset(DAY_NAMES[:5])
ENDS_AFTER_0900 = (wall_time(10), wall_time(11), wall_time(12), wall_time(12, 30), wall_time(17))
DEVICES = ((1, 0.3), (2, 0.5), (3, 0.2))


def synthetic(index: int, rng: random.Random) -> tuple[ScheduleRef, WeeklyRule, int]:
    zones, shares = zip(*peak.ZONE_SHARES.items(), strict=True)
    zone = rng.choices(zones, weights=shares)[0]
    roll = rng.random()
    devices = 1 if roll < DEVICES[0][1] else 2 if roll < DEVICES[0][1] + DEVICES[1][1] else 3
    if rng.random() < peak.SCHEDULED_AT_0900:
        rule = WeeklyRule(zone, WEEKDAYS, wall_time(9), rng.choice(ENDS_AFTER_0900))
    else:
        start = rng.randrange(24 * 4) * 15
        length = rng.randrange(2, 17) * 15
        end = (start + length) % (24 * 60)
        days = frozenset(rng.sample(DAY_NAMES, rng.randint(1, 7)))
        rule = WeeklyRule(
            zone, days, wall_time(start // 60, start % 60), wall_time(end // 60, end % 60)
        )
    return ScheduleRef(f"user-{index}", f"sched-{index}", 1), rule, devices


def plan_chunk(first: int) -> tuple[Counter[tuple[str, datetime]], Counter[datetime], int]:
    """Tasks sent in the peak hour by schedules [first, first + CHUNK): per (queue, minute),
    messages per minute, and how many tasks."""
    plan = peak.plan()
    hour_start = plan.peak_at - timedelta(minutes=30)
    hour_end = plan.peak_at + timedelta(minutes=30)
    planned_at = plan.peak_at - timedelta(days=2)  # refill-planned: every event is far ahead
    rng = random.Random(first)
    tasks: Counter[tuple[str, datetime]] = Counter()
    messages: Counter[datetime] = Counter()
    count = 0
    for index in range(first, min(first + CHUNK, SCHEDULES)):
        ref, rule, devices = synthetic(index, rng)
        planned = plan_schedule(
            ref, rule, start=hour_start, end=hour_end + LEAD_WINDOW, planned_at=planned_at
        )
        for task in planned:
            if hour_start <= task.send_at < hour_end:
                minute = task.send_at.replace(second=0, microsecond=0)
                tasks[(task.queue, minute)] += 1
                messages[minute] += devices
                count += 1
    return tasks, messages, count


def simulate() -> tuple[Counter[tuple[str, datetime]], Counter[datetime], int, float]:
    """Per (queue, minute) tasks, per minute messages, tasks in all, seconds taken."""
    started = time.perf_counter()
    tasks: Counter[tuple[str, datetime]] = Counter()
    messages: Counter[datetime] = Counter()
    total = 0
    with ProcessPoolExecutor(max_workers=WORKERS) as pool:
        for part_tasks, part_messages, count in pool.map(plan_chunk, range(0, SCHEDULES, CHUNK)):
            tasks.update(part_tasks)
            messages.update(part_messages)
            total += count
    return tasks, messages, total, time.perf_counter() - started


def run() -> str:
    plan = peak.plan()
    tasks, messages, total, seconds = simulate()
    per_queue: dict[str, Counter[datetime]] = {}
    for (queue, minute), n in tasks.items():
        per_queue.setdefault(queue, Counter())[minute] += n
    worst = peak.worst_minutes(per_queue)
    worst_minute, worst_messages = max(messages.items(), key=lambda item: (item[1], item[0]))
    worst_tasks = sum(n for (_, m), n in tasks.items() if m == worst_minute)
    rate = registry.queue(SCHEDULE_QUEUE).max_dispatches_per_second
    fcm_share = worst_messages * SCALE / peak.FCM_PER_MINUTE
    cohort = peak.cohorts()
    lines = [
        "## The 09:00 peak",
        "",
        f"Model (`shared/push/peak.py`): {peak.USERS:,} users in {len(peak.ZONE_SHARES)} "
        f"zones of Europe and the Americas, {peak.SCHEDULED_AT_0900:.0%} with a block at 09:00 "
        f"local, {peak.DEVICES_PER_USER} devices per user. Cohorts by the UTC instant of their "
        f"09:00 on {peak.REFERENCE_DAY:%Y-%m-%d}: "
        + ", ".join(f"{at:%H:%M} {share:.0%}" for at, share in cohort.items())
        + ".",
        "",
        "| plan | figure |",
        "|---|---|",
        f"| largest cohort | {plan.peak_share:.0%} of users at {plan.peak_at:%H:%M} UTC: "
        f"{plan.cohort_tasks:,} start tasks, {plan.cohort_messages:,} messages |",
        f"| with seconds of jitter only | {plan.cohort_messages:,} messages in one minute = "
        f"{plan.cohort_messages / peak.FCM_PER_MINUTE:.1f}x FCM's {peak.FCM_PER_MINUTE:,}/min |",
        f"| lead window (spread) | {plan.lead_window.total_seconds() / 60:.0f} min: "
        f"{plan.worst_minute_messages:,.0f} messages/min "
        f"({plan.worst_minute_messages / peak.FCM_PER_MINUTE:.0%} of FCM), "
        f"{plan.worst_tasks_per_s:,.0f} tasks/s |",
        f"| schedule queues | {plan.queue_shards} shards x {plan.queue_rate}/s = "
        f"{plan.cap_tasks_per_s:,} tasks/s = "
        f"{plan.cap_tasks_per_s * peak.DEVICES_PER_USER * 60:,.0f} messages/min at most |",
        "",
        f"Simulation: {SCHEDULES:,} synthetic schedules (x{SCALE} for {peak.USERS:,} users) "
        f"planned with `plan_schedule` for the hour around {plan.peak_at:%H:%M} UTC "
        f"in {seconds:.0f} s: {total:,} tasks sent in the hour "
        f"({total * SCALE:,} at scale). Worst minute overall: "
        f"{worst_minute:%H:%M} UTC, {worst_tasks * SCALE:,} tasks and "
        f"{worst_messages * SCALE:,} messages at scale, **{fcm_share:.0%} of FCM's quota** "
        f"(plan: {plan.worst_minute_messages / peak.FCM_PER_MINUTE:.0%}).",
        "",
        "| queue | worst minute (UTC) | tasks in it (sample) | at scale | per second at scale "
        "| queue rate |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for queue, (minute, n) in worst.items():
        lines.append(
            f"| `{queue}` | {minute:%H:%M} | {n:,} | {n * SCALE:,} | {n * SCALE / 60:,.0f}/s | "
            f"{rate:g}/s |"
        )
    busiest = max(n for _, n in worst.values()) * SCALE / 60
    lines += [
        "",
        f"The busiest shard needs {busiest:,.0f} dispatches/s at its worst minute, "
        f"{busiest / rate:.0%} of its rate cap ({rate:g}/s) and "
        f"{busiest / peak.TASKS_QUEUE_LIMIT:.0%} of Cloud Tasks' {peak.TASKS_QUEUE_LIMIT:g}/s "
        "per queue: the caps are a safety net, not what spreads the peak.",
    ]
    return "\n".join(lines)
