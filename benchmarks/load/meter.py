"""What a load run costs, read from the stack itself: snapshots before and after, subtracted.

- Firestore reads / writes / deletes, function invocations and their server latency: every
  invocation logs one JSON line with `function` and `firestore` (the counts of
  `shared.metering`), the callables, `deliverPush` and the Pub/Sub targets alike.
- CPU-seconds: user + system time of the functions server's processes (/proc), so everything
  the functions did, their client libraries' threads included.
- Pub/Sub messages: each message reaches its function through one push subscription
  (`shared.registry`), so the Pub/Sub-triggered invocations count them.
- Cloud Tasks created: tasks dispatched (`deliverPush` invocations) plus the change of the
  tasks still queued (ListTasks on every queue of the registry).
- FCM messages: the stand-in's record of requests (`GET /requests`).
- SQL rows written: inserts + updates + deletes of PostgreSQL's `pg_stat_database`.
"""

from __future__ import annotations

import dataclasses
import json
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import requests

from benchmarks.cpu import cpu_seconds
from shared import registry

PUBSUB_FUNCTIONS = frozenset(fn.name for fn in registry.FUNCTIONS if fn.kind == "pubsub")


@dataclasses.dataclass(frozen=True)
class Target:
    """A running stack, as far as the meter needs it; counters it cannot read are None."""

    functions_base_url: str
    auth_host: str
    fcm_url: str
    postgres_dsn: str
    project_id: str
    region: str
    # Every log the functions write: the apps' calls and the background deliveries are two
    # processes locally (devstack/stack.py), as they are different services when deployed.
    functions_logs: tuple[Path, ...]
    tasks_host: str | None = None
    functions_pids: Callable[[], list[int]] | None = None


@dataclasses.dataclass
class Invocation:
    function: str
    outcome: str
    latency_ms: float
    reads: int
    writes: int
    deletes: int


@dataclasses.dataclass
class Snapshot:
    log_offsets: tuple[int, ...]  # one per log of `Target.functions_logs`
    cpu_s: float | None
    fcm_requests: int
    tasks_queued: int | None
    sql_rows: int | None
    at: float


def read_invocations(
    log: Path, start: int = 0, stop: int | None = None
) -> tuple[list[Invocation], int]:
    """Invocation lines of the functions log from byte `start` (to `stop`); and the offset
    read up to (only whole lines: a line being written is left for the next call)."""
    raw = _read_span(log, start, stop)
    end = raw.rfind(b"\n") + 1
    found = []
    for _line, entry in json_lines(raw[:end]):
        ops = entry.get("firestore")
        name = entry.get("function")
        if not isinstance(ops, dict) or not isinstance(name, str) or "latencyMs" not in entry:
            continue
        found.append(
            Invocation(
                name,
                str(entry.get("outcome", entry.get("status", ""))),
                float(entry["latencyMs"]),
                int(ops.get("reads", 0)),
                int(ops.get("writes", 0)),
                int(ops.get("deletes", 0)),
            )
        )
    return found, start + end


def kept_log_bytes(log: Path, start: int, stop: int) -> int:
    """Bytes of the functions log between two offsets that the logging exclusion keeps whole:
    lines at WARNING and above, and lines a log-based metric reads (benchmarks/load/cost.py,
    infra/modules/monitoring)."""
    from benchmarks.load.cost import LOG_KEPT_EVENTS, LOG_KEPT_SEVERITIES

    kept = 0
    for line, entry in json_lines(_read_span(log, start, stop)):
        if entry.get("severity") in LOG_KEPT_SEVERITIES or entry.get("event") in LOG_KEPT_EVENTS:
            kept += len(line)
    return kept


def json_lines(raw: bytes) -> Iterator[tuple[bytes, dict[str, Any]]]:
    """The structured lines of a stretch of log: each line (with its newline) that holds one
    JSON object, and that object. Anything else (a server's plain text, a torn line) is
    skipped."""
    for line in raw.splitlines(keepends=True):
        if not line.startswith(b"{"):
            continue
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if isinstance(entry, dict):
            yield line, entry


def _read_span(log: Path, start: int, stop: int | None) -> bytes:
    """The log's bytes from `start` to `stop` (None: to its end); none for a missing log."""
    if not log.exists():
        return b""
    with log.open("rb") as handle:
        handle.seek(start)
        return handle.read() if stop is None else handle.read(max(stop - start, 0))


def fcm_requests(target: Target) -> int:
    response = requests.get(f"{target.fcm_url}/requests", timeout=30)
    response.raise_for_status()
    return len(response.json())


def tasks_queued(target: Target) -> int | None:
    if target.tasks_host is None:
        return None
    import grpc
    from google.cloud import tasks_v2
    from google.cloud.tasks_v2.services.cloud_tasks.transports import CloudTasksGrpcTransport

    channel = grpc.insecure_channel(target.tasks_host)
    try:
        client = tasks_v2.CloudTasksClient(transport=CloudTasksGrpcTransport(channel=channel))
        parent = f"projects/{target.project_id}/locations/{target.region}/queues"
        total = 0
        for queue in registry.QUEUES:
            for name in queue.shard_names():
                total += sum(1 for _ in client.list_tasks(parent=f"{parent}/{name}"))
        return total
    finally:
        channel.close()


# PostgreSQL publishes a backend's row counters when it goes idle, at the latest this long after
# its last transaction (PGSTAT_IDLE_INTERVAL); a count read sooner may miss the mirror's last
# applies.
STATS_PUBLISH_S = 10.0


def settled_sql_rows(target: Target) -> int | None:
    """`sql_rows` once it has not moved for longer than the statistics take to be published."""
    last = sql_rows(target)
    still_since = time.monotonic()
    deadline = still_since + 6 * STATS_PUBLISH_S
    while last is not None and time.monotonic() < deadline:
        time.sleep(0.5)
        now = sql_rows(target)
        if now != last:
            last, still_since = now, time.monotonic()
        elif time.monotonic() - still_since > STATS_PUBLISH_S:
            break
    return last


def sql_rows(target: Target) -> int | None:
    if not target.postgres_dsn:
        return None
    import psycopg

    with psycopg.connect(target.postgres_dsn, autocommit=True) as conn:
        row = conn.execute(
            "select coalesce(tup_inserted + tup_updated + tup_deleted, 0) "
            "from pg_stat_database where datname = current_database()"
        ).fetchone()
    return int(row[0]) if row else None


def snapshot(target: Target, *, settle: bool = False) -> Snapshot:
    """The counters now; `settle`: wait for PostgreSQL's row counters to be published first."""
    return Snapshot(
        log_offsets=tuple(snapshot_offset(log) for log in target.functions_logs),
        cpu_s=cpu_seconds(target.functions_pids()) if target.functions_pids else None,
        fcm_requests=fcm_requests(target),
        tasks_queued=tasks_queued(target),
        sql_rows=settled_sql_rows(target) if settle else sql_rows(target),
        at=time.monotonic(),
    )


def snapshot_offset(log: Path) -> int:
    """The offset just after the log's last whole line."""
    try:
        with log.open("rb") as handle:
            size = handle.seek(0, os.SEEK_END)
            back = min(size, 1 << 16)
            handle.seek(size - back)
            tail = handle.read(back)
    except OSError:
        return 0
    return size - back + tail.rfind(b"\n") + 1


@dataclasses.dataclass
class Usage:
    """What happened between two snapshots."""

    invocations: list[Invocation]
    cpu_s: float | None
    fcm_messages: int
    tasks_created: int | None
    sql_rows: int | None
    seconds: float
    log_bytes: int
    log_bytes_kept: int = 0

    def by_function(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for inv in self.invocations:
            out[inv.function] = out.get(inv.function, 0) + 1
        return dict(sorted(out.items()))

    def totals(self) -> dict[str, Any]:
        dispatched = sum(1 for i in self.invocations if i.function == "deliverPush")
        mirror = sum(1 for i in self.invocations if i.function == "mirrorChanges")
        return {
            "reads": sum(i.reads for i in self.invocations),
            "writes": sum(i.writes for i in self.invocations),
            "deletes": sum(i.deletes for i in self.invocations),
            "invocations": len(self.invocations),
            "cpu_s": self.cpu_s,
            "pubsub": sum(1 for i in self.invocations if i.function in PUBSUB_FUNCTIONS),
            "tasks": self.tasks_created,
            "push_dispatches": dispatched,
            "fcm": self.fcm_messages,
            "sql_rows": self.sql_rows,
            "log_bytes": self.log_bytes,
            "log_bytes_kept": self.log_bytes_kept,
            "mirror_invocations": mirror,
            # Per function: the cost model sizes each (benchmarks/load/cost.py), and the
            # measured CPU is shared out by time spent (benchmarks/load/report.py).
            **{f"invocations:{name}": n for name, n in self.by_function().items()},
            **{f"latency_ms:{name}": ms for name, ms in self.latency_by_function().items()},
        }

    def latency_by_function(self) -> dict[str, float]:
        out: dict[str, float] = {}
        for inv in self.invocations:
            out[inv.function] = out.get(inv.function, 0.0) + inv.latency_ms
        return dict(sorted(out.items()))


def usage(target: Target, before: Snapshot, after: Snapshot) -> Usage:
    # Lines written after `after` was taken are not part of the run.
    spans = list(zip(target.functions_logs, before.log_offsets, after.log_offsets, strict=True))
    kept = [inv for log, start, stop in spans for inv in read_invocations(log, start, stop)[0]]
    dispatched = sum(1 for i in kept if i.function == "deliverPush")
    tasks = None
    if before.tasks_queued is not None and after.tasks_queued is not None:
        tasks = dispatched + after.tasks_queued - before.tasks_queued
    cpu = None
    if before.cpu_s is not None and after.cpu_s is not None:
        cpu = after.cpu_s - before.cpu_s
    rows = None
    if before.sql_rows is not None and after.sql_rows is not None:
        rows = after.sql_rows - before.sql_rows
    return Usage(
        invocations=kept,
        cpu_s=cpu,
        fcm_messages=after.fcm_requests - before.fcm_requests,
        tasks_created=tasks,
        sql_rows=rows,
        seconds=after.at - before.at,
        log_bytes=sum(stop - start for _, start, stop in spans),
        log_bytes_kept=sum(kept_log_bytes(log, start, stop) for log, start, stop in spans),
    )
