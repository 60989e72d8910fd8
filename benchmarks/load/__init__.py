"""The load generator (`make load`; the `load` section of `make bench`): simulated users playing
a typical day against a local stack over the real protocol, metered per user-day.

`run()` is the benchmark section: a stack of its own, 50 users at once and then 200, counts per
user-day, latency per callable and the cost per 1,000 daily users (docs/COST.md).
"""

from __future__ import annotations

SEED = 17
LEVELS = (50, 200)  # concurrent users; each level plays that many users' days at once


def run() -> str:
    from benchmarks.load import report
    from benchmarks.load.run import run_load
    from benchmarks.load.target import own_stack

    with own_stack() as target:
        results = [
            run_load(target, users=n, concurrency=n, seed=SEED + n, max_seconds=600) for n in LEVELS
        ]
    lines = [
        "## A user-day under load",
        "",
        "`make load` (`python -m benchmarks.load`): simulated users sign up with the Auth "
        "emulator and call the functions over HTTP in the callable wire format, on a local "
        "stack of their own; each plays one day, all at once. Sign-up, bootstrap, device "
        "registration and the schedule are set up first and not counted; counted is the day "
        "and what follows from it (mirror messages, sync pushes, the schedule's start and end "
        "push) until the stack is quiet. " + report.profile_line(),
        "",
        *report.counts_table(results),
        "",
        *report.invocations_table(results),
        "",
        "Latency at the client, per callable (the whole day's calls at each level):",
        "",
        *report.latency_table(results),
        "",
        *[f"- {report.summary_line(r)}" for r in results],
        "",
        "Cost per 1,000 daily users per month from the first column's counts "
        "(`benchmarks/load/cost.py`; prices and assumptions in docs/COST.md):",
        "",
        *report.cost_table(results[0]),
        "",
        "One 2-core machine runs the emulators, PostgreSQL, the functions (two Python processes: "
        "the apps' calls; Pub/Sub pushes and tasks) "
        "and the simulated users, so latencies at 200 users measure that machine's queue more "
        "than the code; counts do not depend on it.",
    ]
    return "\n".join(lines)
