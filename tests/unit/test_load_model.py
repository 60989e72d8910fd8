"""The load generator's pure parts: the day profile is repeatable per seed and within its
bounds, and the cost arithmetic adds up per service."""

from __future__ import annotations

import math

from benchmarks.load import cost, profile


def test_a_seed_gives_the_same_users_and_another_seed_others() -> None:
    assert profile.plan_users(20, 7) == profile.plan_users(20, 7)
    assert profile.plan_users(20, 7) != profile.plan_users(20, 8)


def test_plans_stay_inside_the_profile() -> None:
    plans = profile.plan_users(300, 3)
    for plan in plans:
        assert 1 <= len(plan.devices) <= 3
        assert plan.zone in profile.ZONES
        kinds = [s.kind for s in plan.steps]
        low, high = profile.OPENS_PER_DEVICE
        assert low * len(plan.devices) <= kinds.count("pull") <= high * len(plan.devices)
        assert kinds.count("listSchedules") == 1
        assert all(s.device < len(plan.devices) for s in plan.steps)
        assert ("editSchedule" in kinds) <= plan.has_schedule
        assert all((s.expect is not None) == (s.kind == "provoked") for s in plan.steps)
        assert plan.calls() >= len(plan.steps)
    summary = profile.summary(plans)
    assert 1.5 < summary["devices"] / 300 < 2.3
    assert 0.45 < summary["schedules"] / 300 < 0.75


DAY = {
    "reads": 100.0,
    "writes": 10.0,
    "deletes": 1.0,
    "invocations": 20.0,
    "cpu_s": 0.5,
    "pubsub": 4.0,
    "tasks": 2.0,
    "fcm": 3.0,
    "log_bytes": 10_000.0,
    "egress_bytes": 5_000.0,
    "mirror_invocations": 4.0,
    "mirror_cpu_s": 0.1,
}


def test_firestore_cost_is_the_operations_at_list_price() -> None:
    firestore = next(line for line in cost.lines(DAY) if line.service == "Firestore")
    per_day = 100 * 0.03 / 1e5 + 10 * 0.09 / 1e5 + 1 * 0.01 / 1e5
    assert math.isclose(firestore.dollars, per_day * 1000 * cost.DAYS_PER_MONTH)


def test_sql_only_drops_documents_and_the_mirror() -> None:
    dual, sql_only = cost.lines(DAY, "dual_write"), cost.lines(DAY, "sql_only")
    by = {line.service: line.dollars for line in sql_only}
    assert by["Firestore"] == 0 and by["Pub/Sub"] == 0
    functions = {line.service: line.dollars for line in dual}["Cloud Run functions"]
    assert by["Cloud Run functions"] < functions
    assert cost.total(sql_only) < cost.total(dual)
    assert math.isclose(cost.total(dual), sum(line.dollars for line in dual))
