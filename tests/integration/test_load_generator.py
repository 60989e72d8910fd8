"""The load generator on the test stack: three users play their day (no waiting for the day's
pushes), and what the meter counts is what the users did."""

from __future__ import annotations

import pytest

from benchmarks.load import report
from benchmarks.load.profile import plan_users
from benchmarks.load.run import run_load
from benchmarks.load.target import from_stack
from devstack.stack import Stack

pytestmark = pytest.mark.stack

CALLABLES = {
    "syncFocusSessions",
    "listSchedules",
    "registerDevice",
    "upsertSchedule",
    "exportAccount",
}


def test_three_users_play_a_day_and_the_meter_counts_it(stack: Stack) -> None:
    result = run_load(
        from_stack(stack), users=3, concurrency=3, seed=5, drain=False, show_progress=False
    )
    assert result.unexpected_errors() == [] and result.failed_users == []
    assert result.skipped_steps == 0
    plans = plan_users(3, 5)
    assert len(result.calls) >= sum(p.calls() for p in plans)

    # Every call the users made is one invocation in the functions' log, and no more.
    invoked = result.usage.by_function()
    made: dict[str, int] = {}
    for call in result.calls:
        made[call.function] = made.get(call.function, 0) + 1
    assert {k: v for k, v in invoked.items() if k in CALLABLES} == made

    totals = result.usage.totals()
    syncs = made["syncFocusSessions"]
    assert totals["reads"] >= syncs  # at least the deleted-account guard of each call
    assert totals["writes"] > 0
    assert totals["cpu_s"] is not None and totals["cpu_s"] > 0
    # Each session change is mirrored into SQL through Pub/Sub.
    assert totals["pubsub"] > 0 and invoked.get("mirrorChanges", 0) == totals["pubsub"]
    assert totals["sql_rows"] is not None and totals["sql_rows"] >= totals["pubsub"]
    assert totals["tasks"] is not None and totals["tasks"] >= 0

    lines = report.counts_table([result]) + report.cost_table(result)
    assert any(line.startswith("| **total** |") for line in lines)
