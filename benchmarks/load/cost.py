"""Dollars per 1,000 daily users per month, from the counts of a load run and a dated price list.

Pure arithmetic; docs/COST.md explains every line. The prices are Google Cloud's public list
prices for europe-west1 (USD, on-demand, no free tier, no committed-use discount) as recorded
on `PRICES_AS_OF`; re-check them against the price pages before using the figures for a
budget, and change them here only (the benchmark section and docs/COST.md follow).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping

PRICES_AS_OF = "2026-12-07"
DAYS_PER_MONTH = 30.4
DAU_AT_SCALE = 10_000_000  # the fixed-size items (Cloud SQL) are shared out at this many users

# -- prices ------------------------------------------------------------------------------------
# Each checked on PRICES_AS_OF against the page docs/COST.md cites beside it; where the page's
# table for europe-west1 could not be read, COST.md says so and the figure is the one that was.
FIRESTORE_READ = 0.03 / 100_000  # per document read (Standard edition, regional; see COST.md)
FIRESTORE_WRITE = 0.09 / 100_000
FIRESTORE_DELETE = 0.01 / 100_000
RUN_REQUEST = 0.40 / 1_000_000  # Cloud Run functions (2nd gen), Tier 1, request-based billing
RUN_VCPU_SECOND = 0.000024
RUN_GIB_SECOND = 0.0000025
PUBSUB_TIB = 40.0  # throughput, publish and delivery each billed at >= 1,000 bytes a request
TASKS_OPERATION = 0.40 / 1_000_000  # CreateTask and each push delivery attempt are operations
SQL_VCPU_HOUR = 0.0413  # Cloud SQL for PostgreSQL Enterprise, per vCPU-hour
SQL_GIB_HOUR = 0.0070  # per GiB of memory-hour
LOGGING_GIB = 0.50  # Cloud Logging ingestion (storage incl. 30 days) beyond 50 GiB a month
EGRESS_GIB = 0.12  # internet egress, Premium tier, from Europe (see COST.md: not confirmed)
FCM_MESSAGE = 0.0  # Firebase Cloud Messaging is free
AUTH_USER = 0.0  # Firebase Authentication (email/social, without Identity Platform) is free

# -- assumptions (docs/COST.md, "Assumptions") --------------------------------------------------
INSTANCE_VCPU = 1 / 3  # a 512 MB function with one request per instance gets a third of a vCPU
INSTANCE_GIB = 0.5
# Cloud Run functions' CPU when it is not set: it follows the memory (1 vCPU = 2.4 GHz).
DEFAULT_VCPU_BY_MEMORY_MB = {128: 0.083, 256: 0.167, 512: 0.333, 1024: 0.583, 2048: 1.0}
IO_WAIT_S = 0.03  # per invocation, waiting on Firestore / SQL / Pub/Sub in production
# Calls in flight at once on an instance that takes several (concurrency > 1), averaged over the
# busy hours: they share the instance's billed time (request-based billing bills an instance
# while at least one request runs).
CALLS_IN_FLIGHT = 4
REQUEST_LOG_BYTES = 700  # Cloud Run's own request log entry, per invocation
SQL_INSTANCE = {"dual_write": (4, 16), "sql_only": (8, 32)}  # vCPU, GiB; high availability
SQL_HA_FACTOR = 2

# -- the levers (docs/COST.md, "Levers") -------------------------------------------------------
# The share of routine log lines kept by the _Default sink's exclusion
# (infra/modules/monitoring, variable info_log_sample; tests/infra ties the two).
LOG_SAMPLE = 0.1
# Lines kept whole whatever their severity: the log-based metrics' events (the monitoring
# module's local.log_metric_events; tests/infra ties the two), and WARNING and above.
LOG_KEPT_EVENTS = ("mirrorApplied", "push.delivery", "push.send", "mirrorDriftItem")
LOG_KEPT_SEVERITIES = ("WARNING", "ERROR", "CRITICAL", "ALERT", "EMERGENCY")
# The callables that took one call per instance before they were given
# registry.LIGHT_CALLABLE_CONCURRENCY: "without the levers" sizes them as they were.
SHARED_BY_THE_LEVER = (
    "bootstrapAccount",
    "registerDevice",
    "unregisterDevice",
    "upsertSchedule",
    "deleteSchedule",
    "listSchedules",
)


@dataclasses.dataclass(frozen=True)
class Line:
    service: str
    dollars: float  # per 1,000 daily users per month
    basis: str


def per_thousand_month(per_user_day: float) -> float:
    return per_user_day * 1000 * DAYS_PER_MONTH


def functions_cost(invocations: float, cpu_s: float) -> tuple[float, float, float]:
    """Requests, vCPU-seconds and GiB-seconds billed per user-day when nothing is known per
    function: each invocation runs its CPU time on a third of a vCPU plus its waits."""
    wall = cpu_s / INSTANCE_VCPU + invocations * IO_WAIT_S
    return invocations, wall * INSTANCE_VCPU, wall * INSTANCE_GIB


@dataclasses.dataclass(frozen=True)
class Sizing:
    vcpu: float
    gib: float
    in_flight: float  # calls sharing the instance's billed time


def sizing(memory_mb: int, concurrency: int) -> Sizing:
    """What an instance of a function is billed as (infra/modules/functions: more than one
    request per instance gets a whole vCPU, else the CPU follows the memory)."""
    gib = memory_mb / 1024
    if concurrency > 1:
        return Sizing(2.0 if memory_mb > 4096 else 1.0, gib, min(concurrency, CALLS_IN_FLIGHT))
    vcpu = next(v for mb, v in sorted(DEFAULT_VCPU_BY_MEMORY_MB.items()) if memory_mb <= mb)
    return Sizing(vcpu, gib, 1)


def registry_sizings(levers: bool = True) -> dict[str, Sizing]:
    """Each function's sizing from shared/registry.py; without the levers, the callables the
    concurrency lever changed are sized as they were (one call per instance)."""
    from shared import registry

    return {
        fn.name: sizing(
            fn.memory_mb,
            1 if not levers and fn.name in SHARED_BY_THE_LEVER else fn.concurrency,
        )
        for fn in registry.FUNCTIONS
    }


def functions_billed(
    per_function: Mapping[str, tuple[float, float]], sizings: Mapping[str, Sizing]
) -> tuple[float, float, float]:
    """Requests, vCPU-seconds and GiB-seconds billed per user-day from each function's
    (invocations, CPU-seconds): its wall time is its CPU on its vCPU plus its waits, shared by
    the calls in flight on an instance, and never less than the CPU it used."""
    requests = vcpu_s = gib_s = 0.0
    for name, (count, cpu) in per_function.items():
        size = sizings.get(name, Sizing(INSTANCE_VCPU, INSTANCE_GIB, 1))
        wall = (cpu / size.vcpu + count * IO_WAIT_S) / size.in_flight
        requests += count
        vcpu_s += max(cpu, wall * size.vcpu)
        gib_s += wall * size.gib
    return requests, vcpu_s, gib_s


def logged_bytes(day: Mapping[str, float], invocations: float, levers: bool) -> float:
    """Bytes ingested by Cloud Logging per user-day: the functions' lines and Cloud Run's
    request log; with the exclusion, the routine ones only as a sample."""
    total = day["log_bytes"] + invocations * REQUEST_LOG_BYTES
    if not levers:
        return total
    kept = min(day.get("log_bytes_kept", 0.0), day["log_bytes"])
    return kept + (total - kept) * LOG_SAMPLE


def sql_monthly(mode: str) -> float:
    vcpu, gib = SQL_INSTANCE[mode]
    return (vcpu * SQL_VCPU_HOUR + gib * SQL_GIB_HOUR) * 730 * SQL_HA_FACTOR


def guarded_callables() -> set[str]:
    """The callables behind the deleted-account guard: all but `deleteAccount`
    (functions/callables.py, `guard_deleted=False`)."""
    from shared import registry

    return {fn.name for fn in registry.FUNCTIONS if fn.kind == "callable"} - {"deleteAccount"}


def per_function(day: Mapping[str, float]) -> dict[str, tuple[float, float]]:
    """(invocations, CPU-seconds) per function from `day`'s `invocations:<name>` and
    `cpu_s:<name>` keys (benchmarks/load/report.py apportions the measured CPU)."""
    out = {}
    for key, count in day.items():
        if key.startswith("invocations:"):
            name = key.split(":", 1)[1]
            out[name] = (count, day.get(f"cpu_s:{name}", 0.0))
    return out


def lines(day: Mapping[str, float], mode: str = "dual_write", levers: bool = True) -> list[Line]:
    """Cost lines for one user-day's counts (`day`: reads, writes, deletes, invocations, cpu_s,
    pubsub, tasks, fcm, log_bytes, egress_bytes; optionally log_bytes_kept and per function
    `invocations:<name>` / `cpu_s:<name>`; mirror_invocations and mirror_cpu_s are what
    sql_only no longer runs). `levers`: the logging exclusion and the callables' shared
    instances applied (docs/COST.md)."""
    reads, writes, deletes = day["reads"], day["writes"], day["deletes"]
    invocations, cpu = day["invocations"], day["cpu_s"]
    pubsub = day["pubsub"]
    functions = per_function(day)
    if mode == "sql_only":
        # The data and the push bookkeeping live in PostgreSQL, no mirror (its messages and
        # invocations go), the same calls otherwise. What stays in Firestore is the
        # deleted-account markers: each guarded call reads its user's once (`guard.ensure`).
        reads = sum(count for name, (count, _) in functions.items() if name in guarded_callables())
        writes = deletes = 0.0
        invocations -= day.get("mirror_invocations", 0.0)
        cpu -= day.get("mirror_cpu_s", 0.0)
        pubsub -= day.get("mirror_invocations", 0.0)
        functions.pop("mirrorChanges", None)
    if functions:
        requests, vcpu_s, gib_s = functions_billed(functions, registry_sizings(levers))
    else:
        requests, vcpu_s, gib_s = functions_cost(invocations, cpu)
    log_gib = logged_bytes(day, invocations, levers) / 2**30
    pubsub_tib = pubsub * 2 * 1000 / 2**40
    out = [
        Line(
            "Firestore",
            per_thousand_month(
                reads * FIRESTORE_READ + writes * FIRESTORE_WRITE + deletes * FIRESTORE_DELETE
            ),
            f"{reads:.1f} reads, {writes:.1f} writes, {deletes:.2f} deletes",
        ),
        Line(
            "Cloud Run functions",
            per_thousand_month(
                requests * RUN_REQUEST + vcpu_s * RUN_VCPU_SECOND + gib_s * RUN_GIB_SECOND
            ),
            f"{requests:.1f} requests, {vcpu_s:.2f} vCPU-s, {gib_s:.2f} GiB-s",
        ),
        Line(
            "Pub/Sub",
            per_thousand_month(pubsub_tib * PUBSUB_TIB),
            f"{pubsub:.1f} messages",
        ),
        Line(
            "Cloud Tasks",
            per_thousand_month(day["tasks"] * 2 * TASKS_OPERATION),
            f"{day['tasks']:.2f} tasks (create + dispatch)",
        ),
        Line(
            "Cloud SQL",
            sql_monthly(mode) / (DAU_AT_SCALE / 1000),
            "{} vCPU / {} GiB HA instance shared by {:,} users".format(
                *SQL_INSTANCE[mode], DAU_AT_SCALE
            ),
        ),
        Line(
            "Cloud Logging",
            per_thousand_month(log_gib * LOGGING_GIB),
            f"{log_gib * 2**20:.1f} KiB of log",
        ),
        Line(
            "Internet egress",
            per_thousand_month(day["egress_bytes"] / 2**30 * EGRESS_GIB),
            f"{day['egress_bytes'] / 1024:.1f} KiB of answers",
        ),
        Line("FCM, Auth", 0.0, f"{day['fcm']:.2f} messages (free)"),
    ]
    return out


def total(items: list[Line]) -> float:
    return math.fsum(line.dollars for line in items)
