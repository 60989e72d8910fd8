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
    # Per function: the guarded calls still read their deletion marker in Firestore.
    calls = {"syncFocusSessions": 12.0, "listSchedules": 3.0, "deleteAccount": 1.0}
    day = {**DAY, **{f"invocations:{name}": n for name, n in calls.items()}}
    day["invocations:mirrorChanges"] = DAY["mirror_invocations"]
    firestore = next(line for line in cost.lines(day, "sql_only") if line.service == "Firestore")
    assert firestore.basis == "15.0 reads, 0.0 writes, 0.00 deletes"
    functions = {line.service: line.dollars for line in dual}["Cloud Run functions"]
    assert by["Cloud Run functions"] < functions
    assert cost.total(sql_only) < cost.total(dual)
    assert math.isclose(cost.total(dual), sum(line.dollars for line in dual))


def test_the_log_sample_keeps_warnings_and_metric_lines_whole() -> None:
    day = {**DAY, "log_bytes_kept": 2_000.0}
    request_log = DAY["invocations"] * cost.REQUEST_LOG_BYTES

    def logging(levers: bool) -> float:
        return next(
            line.dollars
            for line in cost.lines(day, levers=levers)
            if line.service == "Cloud Logging"
        )

    ingested = 2_000 + (10_000 - 2_000 + request_log) * cost.LOG_SAMPLE
    per_day = ingested / 2**30 * cost.LOGGING_GIB
    assert math.isclose(logging(True), per_day * 1000 * cost.DAYS_PER_MONTH)
    assert math.isclose(
        logging(False),
        (10_000 + request_log) / 2**30 * cost.LOGGING_GIB * 1000 * cost.DAYS_PER_MONTH,
    )


def test_shared_instances_bill_waits_once_but_never_less_than_the_cpu() -> None:
    alone, shared = cost.sizing(256, 1), cost.sizing(256, 8)
    assert (alone.vcpu, alone.in_flight) == (0.167, 1)
    assert (shared.vcpu, shared.in_flight) == (1.0, cost.CALLS_IN_FLIGHT)
    waits = {"fn": (100.0, 0.5)}  # 100 calls, 5 ms of CPU each: mostly waiting
    _, vcpu_alone, gib_alone = cost.functions_billed(waits, {"fn": alone})
    _, vcpu_shared, gib_shared = cost.functions_billed(waits, {"fn": shared})
    assert vcpu_shared < vcpu_alone and gib_shared < gib_alone
    busy = {"fn": (10.0, 5.0)}  # 0.5 s of CPU a call: sharing cannot bill less than that
    _, vcpu_busy, _ = cost.functions_billed(busy, {"fn": shared})
    assert vcpu_busy >= 5.0


def test_without_the_levers_the_shared_callables_are_sized_as_they_were() -> None:
    before, after = cost.registry_sizings(levers=False), cost.registry_sizings()
    for name in cost.SHARED_BY_THE_LEVER:
        assert before[name].in_flight == 1
        assert after[name].in_flight > 1
    assert before["syncFocusSessions"] == after["syncFocusSessions"]
