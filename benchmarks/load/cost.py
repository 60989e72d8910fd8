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
FIRESTORE_READ = 0.03 / 100_000  # per document read (Standard edition, regional)
FIRESTORE_WRITE = 0.09 / 100_000
FIRESTORE_DELETE = 0.01 / 100_000
RUN_REQUEST = 0.40 / 1_000_000  # Cloud Run functions (2nd gen), Tier 1, request-based billing
RUN_VCPU_SECOND = 0.000024
RUN_GIB_SECOND = 0.0000025
PUBSUB_TIB = 40.0  # throughput, publish and delivery each billed at >= 1,000 bytes a message
TASKS_OPERATION = 0.40 / 1_000_000  # CreateTask and each dispatch attempt are operations
SQL_VCPU_HOUR = 0.0413  # Cloud SQL for PostgreSQL Enterprise, per vCPU-hour
SQL_GIB_HOUR = 0.0070  # per GiB of memory-hour
LOGGING_GIB = 0.50  # Cloud Logging ingestion beyond the free 50 GiB a month
EGRESS_GIB = 0.085  # internet egress, Premium tier, the > 10 TiB a month band
FCM_MESSAGE = 0.0  # Firebase Cloud Messaging is free
AUTH_USER = 0.0  # Firebase Authentication (email/social, without Identity Platform) is free

# -- assumptions (docs/COST.md, "Assumptions") --------------------------------------------------
INSTANCE_VCPU = 1 / 3  # 512 MB functions get a third of a vCPU
INSTANCE_GIB = 0.5
IO_WAIT_S = 0.03  # per invocation, waiting on Firestore / SQL / Pub/Sub in production
REQUEST_LOG_BYTES = 700  # Cloud Run's own request log entry, per invocation
SQL_INSTANCE = {"dual_write": (4, 16), "sql_only": (8, 32)}  # vCPU, GiB; high availability
SQL_HA_FACTOR = 2


@dataclasses.dataclass(frozen=True)
class Line:
    service: str
    dollars: float  # per 1,000 daily users per month
    basis: str


def per_thousand_month(per_user_day: float) -> float:
    return per_user_day * 1000 * DAYS_PER_MONTH


def functions_cost(invocations: float, cpu_s: float) -> tuple[float, float, float]:
    """Requests, vCPU-seconds and GiB-seconds billed per user-day: each invocation runs its CPU
    time on a third of a vCPU plus its waits (request-based billing bills the wall time)."""
    wall = cpu_s / INSTANCE_VCPU + invocations * IO_WAIT_S
    return invocations, wall * INSTANCE_VCPU, wall * INSTANCE_GIB


def sql_monthly(mode: str) -> float:
    vcpu, gib = SQL_INSTANCE[mode]
    return (vcpu * SQL_VCPU_HOUR + gib * SQL_GIB_HOUR) * 730 * SQL_HA_FACTOR


def lines(day: Mapping[str, float], mode: str = "dual_write") -> list[Line]:
    """Cost lines for one user-day's counts (`day`: reads, writes, deletes, invocations, cpu_s,
    pubsub, tasks, fcm, log_bytes, egress_bytes; mirror_invocations and mirror_cpu_s are what
    sql_only no longer runs)."""
    reads, writes, deletes = day["reads"], day["writes"], day["deletes"]
    invocations, cpu = day["invocations"], day["cpu_s"]
    pubsub = day["pubsub"]
    if mode == "sql_only":
        # The data and the push bookkeeping live in PostgreSQL: no document operations, no
        # mirror (its messages and invocations go), the same calls otherwise.
        reads = writes = deletes = 0.0
        invocations -= day.get("mirror_invocations", 0.0)
        cpu -= day.get("mirror_cpu_s", 0.0)
        pubsub -= day.get("mirror_invocations", 0.0)
    requests, vcpu_s, gib_s = functions_cost(invocations, cpu)
    log_gib = (day["log_bytes"] + invocations * REQUEST_LOG_BYTES) / 2**30
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
