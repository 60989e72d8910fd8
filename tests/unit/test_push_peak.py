"""The 09:00 peak plan: the queue sizing, the lead window, and that the planner and the registry
follow it; the planner's spread of one cohort over the window, per minute and per shard."""

from __future__ import annotations

import math
from collections import Counter
from datetime import UTC, date, datetime, time, timedelta

from shared import registry
from shared.push import peak
from shared.push.planning import (
    LEAD_WINDOW,
    SCHEDULE_QUEUE,
    ScheduleRef,
    plan_schedule,
)
from shared.recurrence import WeeklyRule


def test_zone_shares_are_a_distribution_with_the_cet_cohort_largest() -> None:
    assert math.isclose(sum(peak.ZONE_SHARES.values()), 1.0)
    plan = peak.plan()
    # Winter: Central European Time is UTC+1, so its 09:00 is 08:00 UTC.
    assert plan.peak_at == datetime(2026, 12, 8, 8, 0, tzinfo=UTC)
    assert math.isclose(plan.peak_share, 0.34)
    assert plan.cohort_tasks == 1_020_000


def test_summer_moves_the_cohorts_but_not_their_size() -> None:
    winter, summer = peak.cohorts(date(2026, 12, 8)), peak.cohorts(date(2026, 7, 7))
    assert max(summer.values()) == max(winter.values())
    assert max(summer, key=lambda at: summer[at]).hour == 7


def test_queue_caps_stay_inside_fcm_and_cloud_tasks() -> None:
    shards, rate = peak.queue_sizing()
    assert rate <= peak.TASKS_QUEUE_LIMIT * peak.QUEUE_HEADROOM
    cap = peak.FCM_PER_MINUTE / 60 * peak.FCM_SCHEDULE_SHARE / peak.DEVICES_PER_USER
    assert shards * rate <= cap
    assert shards * (rate + 1) > cap  # the rate is the largest that fits
    # One shard fewer could not carry the cap at the headroom.
    assert (shards - 1) * peak.TASKS_QUEUE_LIMIT * peak.QUEUE_HEADROOM < cap


def test_lead_window_is_the_shortest_step_that_keeps_the_worst_minute_under_target() -> None:
    plan = peak.plan()
    limit = peak.PEAK_TARGET * peak.FCM_PER_MINUTE
    assert plan.worst_minute_messages <= limit
    shorter = plan.lead_window - peak.WINDOW_STEP
    assert plan.cohort_messages / (shorter / timedelta(minutes=1)) > limit
    # Seconds of jitter alone would put the whole cohort into one minute: over FCM's quota.
    assert plan.cohort_messages > peak.FCM_PER_MINUTE
    assert plan.worst_tasks_per_s < plan.cap_tasks_per_s


def test_planner_and_registry_follow_the_plan() -> None:
    plan = peak.plan()
    assert (plan.queue_shards, plan.queue_rate) == peak.queue_sizing()
    queue = registry.queue(SCHEDULE_QUEUE)
    assert plan.lead_window == LEAD_WINDOW
    assert (queue.shards, queue.max_dispatches_per_second) == (plan.queue_shards, plan.queue_rate)
    rendered = registry.as_terraform_vars()["queues"]
    assert isinstance(rendered, dict)
    schedule_queues = {k: v for k, v in rendered.items() if k.startswith(SCHEDULE_QUEUE)}
    assert len(schedule_queues) == plan.queue_shards
    assert {v["max_dispatches_per_second"] for v in schedule_queues.values()} == {plan.queue_rate}


def test_a_cohort_spreads_evenly_over_the_window_and_the_shards() -> None:
    """4,000 users with a block at 09:00 Paris, planned the day before: every start push goes
    inside the window before 08:00 UTC, no minute holds more than twice its even share, and no
    shard more than 1.5 times its share of the worst minute's neighbourhood."""
    nine_paris = datetime(2026, 12, 8, 8, 0, tzinfo=UTC)
    rule = WeeklyRule("Europe/Paris", frozenset({"tue"}), time(9), time(10))
    starts = []
    for i in range(4000):
        tasks = plan_schedule(
            ScheduleRef(f"u{i}", "s", 1),
            rule,
            start=nine_paris - timedelta(hours=1),
            end=nine_paris + timedelta(minutes=1),
            planned_at=nine_paris - timedelta(days=1),
        )
        starts += [t for t in tasks if t.body.kind == "schedule" and t.body.event == "start"]
    assert len(starts) == 4000
    assert all(nine_paris - LEAD_WINDOW <= t.send_at <= nine_paris for t in starts)
    counts = peak.per_minute((t.queue, t.send_at) for t in starts)
    assert set(counts) == set(registry.queue(SCHEDULE_QUEUE).shard_names())
    minutes: Counter[datetime] = Counter()
    for per_queue in counts.values():
        minutes.update(per_queue)
    window_minutes = int(LEAD_WINDOW / timedelta(minutes=1))
    assert len(minutes) == window_minutes
    assert max(minutes.values()) < 2 * len(starts) / window_minutes
    per_shard = [sum(c.values()) for c in counts.values()]
    assert max(per_shard) < 1.5 * len(starts) / len(per_shard)


def test_worst_minutes_pick_the_busiest_and_the_earliest_on_a_tie() -> None:
    at = datetime(2026, 12, 8, 7, 55, 10, tzinfo=UTC)
    counts = peak.per_minute(
        [
            ("q-0", at),
            ("q-0", at + timedelta(seconds=20)),
            ("q-0", at + timedelta(minutes=1)),
            ("q-1", at + timedelta(minutes=2)),
            ("q-1", at),
        ]
    )
    worst = peak.worst_minutes(counts)
    assert worst["q-0"] == (at.replace(second=0), 2)
    assert worst["q-1"] == (at.replace(second=0), 1)
