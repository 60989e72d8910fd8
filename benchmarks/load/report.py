"""Markdown for load runs: counts per user-day, latency per callable, cost per 1,000 users."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from benchmarks.load import cost, profile
from benchmarks.load.run import LoadResult

COUNT_ROWS = (
    ("reads", "Firestore document reads", 1),
    ("writes", "Firestore document writes", 1),
    ("deletes", "Firestore document deletes", 2),
    ("invocations", "function invocations", 1),
    ("cpu_s", "functions' CPU-seconds (this machine)", 3),
    ("pubsub", "Pub/Sub messages", 1),
    ("tasks", "Cloud Tasks created", 2),
    ("push_dispatches", "of which dispatched (`deliverPush`)", 2),
    ("fcm", "FCM messages", 2),
    ("sql_rows", "SQL rows written (inserted + updated + deleted)", 1),
    ("log_bytes", "function log bytes", 0),
    ("log_bytes_kept", "of which kept whole by the log sample (WARNING+, metrics' lines)", 0),
    ("egress_bytes", "answer bytes to the apps", 0),
)


def day_counts(result: LoadResult) -> dict[str, float]:
    """Per user-day, with the measured answer bytes and the mirror's share of the CPU."""
    day = {k: float(v) for k, v in result.per_user_day().items() if v is not None}
    day["egress_bytes"] = sum(c.bytes for c in result.calls) / result.users
    if day.get("invocations"):
        day["mirror_cpu_s"] = day.get("cpu_s", 0.0) * day["mirror_invocations"] / day["invocations"]
    # One process runs every function, so its CPU is measured as a whole and shared out in
    # proportion to the time each function's calls took.
    spent = {k.split(":", 1)[1]: v for k, v in day.items() if k.startswith("latency_ms:")}
    if spent and sum(spent.values()) > 0 and "cpu_s" in day:
        for name, ms in spent.items():
            day[f"cpu_s:{name}"] = day["cpu_s"] * ms / sum(spent.values())
    return day


def _cell(value: float | None, digits: int) -> str:
    if value is None:
        return "n/a"
    return f"{value:,.{digits}f}"


def counts_table(results: Sequence[LoadResult]) -> list[str]:
    head = " | ".join(f"{r.users} users, {r.concurrency} at once" for r in results)
    lines = [f"| per user-day | {head} |", "|---|" + "---:|" * len(results)]
    days = [day_counts(r) for r in results]
    for key, label, digits in COUNT_ROWS:
        lines.append(f"| {label} | " + " | ".join(_cell(d.get(key), digits) for d in days) + " |")
    return lines


def invocations_table(results: Sequence[LoadResult]) -> list[str]:
    names = sorted({n for r in results for n in r.usage.by_function()})
    head = " | ".join(f"{r.users} users" for r in results)
    lines = [f"| invocations per user-day | {head} |", "|---|" + "---:|" * len(results)]
    for name in names:
        cells = [f"{r.usage.by_function().get(name, 0) / r.users:.2f}" for r in results]
        lines.append(f"| `{name}` | " + " | ".join(cells) + " |")
    return lines


def latency_table(results: Sequence[LoadResult]) -> list[str]:
    lines = [
        "| callable | concurrent users | calls | p50 | p99 | provoked errors | other errors |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for result in results:
        for name, row in result.by_callable().items():
            lines.append(
                f"| `{name}` | {result.concurrency} | {row['calls']:.0f} | "
                f"{row['p50'] * 1000:.0f} ms | {row['p99'] * 1000:.0f} ms | "
                f"{row['provoked']:.0f} | {row['errors']:.0f} |"
            )
    return lines


def cost_table(result: LoadResult) -> list[str]:
    """Cost per service from one run's counts: as the project was before the levers of
    docs/COST.md, and with them (the same counts, priced both ways)."""
    day = day_counts(result)
    columns = [
        cost.lines(day, "dual_write", levers=False),
        cost.lines(day, "dual_write"),
        cost.lines(day, "sql_only", levers=False),
        cost.lines(day, "sql_only"),
    ]
    lines = [
        "| service | dual_write, no levers | dual_write, levers | sql_only, no levers "
        "| sql_only, levers | basis (dual_write with levers, per user-day) |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for row in zip(*columns, strict=True):
        cells = " | ".join(f"${line.dollars:.3f}" for line in row)
        lines.append(f"| {row[0].service} | {cells} | {row[1].basis} |")
    totals = " | ".join(f"**${cost.total(column):.2f}**" for column in columns)
    lines.append(f"| **total** | {totals} | |")
    return lines


def profile_line() -> str:
    p = profile
    return (
        f"Profile (`benchmarks/load/profile.py`): 1-3 devices ({p.IOS_SHARE:.0%} iOS); each "
        f"device opens the app {p.OPENS_PER_DEVICE[0]}-{p.OPENS_PER_DEVICE[1]} times (a pull "
        f"each); {p.SESSIONS_PER_DAY[0]}-{p.SESSIONS_PER_DAY[1]} focus sessions started, "
        f"sometimes edited ({p.EDIT_SHARE:.0%}) and ended, the other devices pulling after "
        f"each change; a two-device conflict ({p.CONFLICT_SHARE:.0%} of multi-device users), "
        f"an offline burst of {p.OFFLINE_BURST[0]}-{p.OFFLINE_BURST[1]} mutations "
        f"({p.OFFLINE_SHARE:.0%}), a schedule edit ({p.SCHEDULE_EDIT_SHARE:.0%} of the "
        f"{p.SCHEDULE_SHARE:.0%} with a schedule), a token refresh "
        f"({p.TOKEN_REFRESH_SHARE:.0%} of devices), an export ({p.EXPORT_SHARE:.0%}), a refused "
        f"call on purpose ({p.PROVOKED_SHARE:.0%}); and the day's start and end push of each "
        "schedule."
    )


def summary_line(result: LoadResult) -> str:
    plans: dict[str, Any] = result.plans
    return (
        f"{result.users} users ({plans['devices']} devices, {plans['schedules']} schedules), "
        f"seed {result.seed}: {len(result.calls)} calls in {result.day_seconds:.1f} s, "
        f"{result.usage.seconds:.1f} s until the stack was quiet; steps skipped: "
        f"{result.skipped_steps}; unexpected errors: {len(result.unexpected_errors())}"
        + (f" ({'; '.join(result.failed_users[:3])})" if result.failed_users else "")
    )
