"""The hot SQL queries, run through the stores themselves, and their plans checked.

Each hot query is a call of the real store method (`SqlMirrorStore`, `SqlSessionStore`), never a
copy of its SQL: `capture` records the statements the call sends to PostgreSQL, and `explain`
runs `EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON)` of exactly those statements with their
parameters, in a transaction that is rolled back (the writes too). A query's `indexes` name the
index each large table must be read through; `plan_problems` reports a sequential scan of such a
table, or a scan through another index, as a problem.

Used by `make bench` (section `sql_scale`, at 1M, 3M and 10M rows) and by
tests/integration/test_sql_plans.py (a small dataset, in `make test`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import itertools
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, event, text

from benchmarks.sql_dataset import T_END
from shared.changes import ChangeRecord
from shared.sessions.sql import SqlSessionStore
from shared.sql.events import ChangeBatch
from shared.sql.store import SqlMirrorStore

SYNC_PAGE = 500  # a sync pull's page
EXPORT_PAGE = 1000  # shared.privacy.export.MAX_SESSIONS_PER_PAGE
RECONCILE_SAMPLE = 50  # the nightly sample job: --sample 200, a quarter of it from SQL


@dataclasses.dataclass
class Target:
    """Who a hot query runs for, and the state it needs (a fresh version per write)."""

    mirror: SqlMirrorStore
    sessions: SqlSessionStore
    uid: str
    counter: Iterator[int]

    def head(self) -> int:
        return self.mirror.feeds.feed_watermark(self.uid)

    def version(self) -> int:
        # Newer than anything the dataset holds (its clock stops at T_END), and unique.
        return int(T_END.timestamp() * 1_000_000) + 1_000_000 + next(self.counter)


def _sync_feed(t: Target) -> None:
    """A device catching up: the last few commits of the feed, one page."""
    head = t.head()
    t.mirror.feeds.sessions_in_feed(t.uid, (max(0, head - 5), ""), head, SYNC_PAGE)


def _sync_full(t: Target) -> None:
    """A new device's first pull: the feed from the start, one page."""
    t.mirror.feeds.sessions_in_feed(t.uid, (0, ""), t.head(), SYNC_PAGE)


def new_session_batch(uid: str, version: int, seq: int) -> ChangeBatch:
    """One mirrored commit: a session started at 09:00 (the write peak's change)."""
    at = datetime.fromtimestamp(version / 1_000_000, UTC)
    data = {
        "id": f"peak-{version}",
        "startedAt": at,
        "plannedEndAt": at + timedelta(minutes=50),
        "endedAt": None,
        "status": "running",
        "label": "Deep work",
        "blockedApps": ["com.example.app1", "com.example.app2"],
        "scheduleId": None,
        "updatedAt": at,
        "deviceId": "peak-device",
        "deleted": False,
        "serverUpdatedAt": at,
        "syncSeq": seq,
    }
    record = ChangeRecord(
        collection="sessions", uid=uid, id=data["id"], op="upsert", version=version, data=data
    )
    return ChangeBatch(records=[record], emitted_at=at)


def _guarded_upsert(t: Target) -> None:
    """The mirror consumer's apply of one commit (lock, erasure and fence checks, the guarded
    upsert, the feed watermark)."""
    t.mirror.writer.apply(new_session_batch(t.uid, t.version(), t.head() + 1))


def _erasure(t: Target) -> None:
    """The account deletion's two calls: the newest version, then the erasure itself."""
    version = max(t.mirror.writer.newest_version(t.uid), t.version())
    t.mirror.writer.erase_user(t.uid, version)


def _export(t: Target) -> None:
    """The export's first page: profile, devices, schedules and a page of sessions."""
    t.mirror.reads.get_user(t.uid)
    t.mirror.reads.list_devices(t.uid)
    t.mirror.reads.list_schedules(t.uid)
    t.mirror.feeds.sessions_by_document_id(t.uid, None, EXPORT_PAGE)


def _reconcile_snapshot(t: Target) -> None:
    t.mirror.reads.user_snapshot(t.uid)


def _reconcile_sample(t: Target) -> None:
    """Reconcile's sample of the users SQL holds, from a point in the id space."""
    t.mirror.reads.sample_user_ids(t.uid[:2], RECONCILE_SAMPLE)


def _tombstone_purge(t: Target) -> None:
    """One run of the purge job with no time left: one batch of expired tombstones."""
    t.sessions.purge_expired(T_END, 0.0)


# A user's sessions may be found through any index that starts with the user: the planner picks
# the cheapest for the statement.
BY_USER = (
    "pk_focus_sessions",
    "ix_focus_sessions_user_id_sync_seq",
)


@dataclasses.dataclass(frozen=True)
class HotQuery:
    name: str
    what: str
    run: Callable[[Target], None]
    # table -> the indexes it may be read through (a large table read another way fails)
    indexes: Mapping[str, tuple[str, ...]]
    destructive: bool = False  # removes the user's data: measured on users of its own
    mirrored: bool = False  # runs for users the mirror writes (it refuses `sql_only` sessions)


HOT_QUERIES: tuple[HotQuery, ...] = (
    HotQuery(
        "sync_feed",
        "sync pull, last 5 commits (`sessions_in_feed`)",
        _sync_feed,
        {"focus_sessions": ("ix_focus_sessions_user_id_sync_seq",)},
    ),
    HotQuery(
        "sync_full",
        "sync pull from the start, one page of 500 (`sessions_in_feed`)",
        _sync_full,
        {"focus_sessions": ("ix_focus_sessions_user_id_sync_seq",)},
    ),
    HotQuery(
        "guarded_upsert",
        "mirror apply of one commit (`apply`: guarded upsert + feed)",
        _guarded_upsert,
        {
            "focus_sessions": BY_USER,
            # The marker of one document: its key, or the user's markers.
            "delete_markers": ("pk_delete_markers", "ix_delete_markers_user_id"),
            "session_feeds": ("pk_session_feeds",),
        },
        mirrored=True,
    ),
    HotQuery(
        "export_page",
        "export, first page of 1,000 (`get_user`, `list_devices`, `list_schedules`, "
        "`sessions_by_document_id`)",
        _export,
        {
            "focus_sessions": BY_USER,
            "devices": ("pk_devices",),
            "schedules": ("pk_schedules",),
            "users": ("pk_users",),
        },
    ),
    HotQuery(
        "reconcile_snapshot",
        "reconcile's per-user snapshot (`user_snapshot`)",
        _reconcile_snapshot,
        {
            "focus_sessions": BY_USER,
            "devices": ("pk_devices",),
            "schedules": ("pk_schedules",),
            "users": ("pk_users",),
        },
    ),
    HotQuery(
        "reconcile_sample",
        "reconcile's sample of SQL's users (`sample_user_ids`)",
        _reconcile_sample,
        {"focus_sessions": BY_USER, "users": ("pk_users",)},
    ),
    HotQuery(
        "tombstone_purge",
        "tombstone purge, one batch of 500 (`purge_expired`)",
        _tombstone_purge,
        # The batch is chosen through the purge date's index; the DELETE then finds those rows
        # by their key, which the planner may do through the primary key (a nested loop over
        # the batch): at 10M rows it did in one run of two.
        {"focus_sessions": ("ix_focus_sessions_purge_at", "pk_focus_sessions")},
    ),
    HotQuery(
        "erasure",
        "account erasure (`newest_version` + `erase_user`)",
        _erasure,
        {
            "focus_sessions": BY_USER,
            "delete_markers": ("ix_delete_markers_user_id",),
            "sql_owners": ("ix_sql_owners_user_id",),
            "session_feeds": ("pk_session_feeds",),
            "devices": ("pk_devices",),
            "schedules": ("pk_schedules",),
            "users": ("pk_users",),
        },
        destructive=True,
    ),
)
BY_NAME = {query.name: query for query in HOT_QUERIES}


@functools.cache
def stores(engine: Engine) -> tuple[SqlMirrorStore, SqlSessionStore]:
    """The stores on `engine`, built once (as a function instance builds them once)."""
    mirror = SqlMirrorStore(engine)

    def no_firestore(_: str) -> Any:
        raise RuntimeError("the dataset's SQL-owned feeds are already taken over")

    return mirror, SqlSessionStore(mirror, no_firestore, clock=lambda: T_END)


def target(engine: Engine, uid: str, counter: Iterator[int] | None = None) -> Target:
    mirror, sessions = stores(engine)
    return Target(mirror, sessions, uid, counter or itertools.count())


# -- statements and plans ----------------------------------------------------------------------


Statement = tuple[str, Any]  # (SQL as sent to the driver, its parameters)


@contextlib.contextmanager
def capture(engine: Engine) -> Iterator[list[Statement]]:
    """The statements sent through `engine` inside the block, with their parameters."""
    seen: list[Statement] = []

    def record(
        conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool
    ) -> None:
        seen.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def explain(engine: Engine, statements: list[Statement]) -> list[dict[str, Any]]:
    """`EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON)` of each statement that reads or writes a table,
    in one transaction rolled back at the end (nothing the plans execute stays)."""
    plans = []
    with engine.connect() as conn:
        transaction = conn.begin()
        try:
            for statement, parameters in statements:
                verb = statement.lstrip().split(None, 1)[0].upper()
                if verb not in {"SELECT", "INSERT", "UPDATE", "DELETE", "WITH"}:
                    continue
                result = conn.exec_driver_sql(
                    "EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + statement, parameters
                ).scalar_one()
                plans.append(result[0])
        finally:
            transaction.rollback()
    return plans


def nodes(plan: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    """Every node of a plan tree (an EXPLAIN JSON entry or one of its nodes)."""
    node = plan.get("Plan", plan)
    yield node
    for child in node.get("Plans", ()):
        yield from nodes(child)


def scans(plans: list[dict[str, Any]]) -> list[tuple[str, str, str | None]]:
    """(table, node type, index) of every scan and ON CONFLICT arbiter in `plans`. A bitmap
    index scan names no table: it is reported with the bitmap heap scan above it."""
    found: list[tuple[str, str, str | None]] = []
    for plan in plans:
        for node in nodes(plan):
            table = node.get("Relation Name")
            kind = str(node["Node Type"])
            if table is None:
                continue
            if kind == "ModifyTable":
                for arbiter in node.get("Conflict Arbiter Indexes", ()):
                    found.append((table, "Conflict Arbiter", arbiter))
                continue
            if kind == "Bitmap Heap Scan":
                for below in itertools.islice(nodes(node), 1, None):
                    if below["Node Type"] == "Bitmap Index Scan":
                        found.append((table, "Bitmap Index Scan", below.get("Index Name")))
                continue
            found.append((table, kind, node.get("Index Name")))
    return found


def execution_ms(plans: list[dict[str, Any]]) -> float:
    """Server-side execution time of the statements (EXPLAIN ANALYZE), without the client."""
    return sum(float(plan.get("Execution Time", 0.0)) for plan in plans)


def buffers(plans: list[dict[str, Any]]) -> int:
    """Shared buffers hit or read by the statements (their top nodes)."""
    return sum(
        int(plan["Plan"].get("Shared Hit Blocks", 0))
        + int(plan["Plan"].get("Shared Read Blocks", 0))
        for plan in plans
    )


def plan_problems(
    plans: list[dict[str, Any]], indexes: Mapping[str, tuple[str, ...]], large: set[str]
) -> list[str]:
    """What is wrong with the plans of a hot query: a table of `indexes` that is in `large` read
    by a sequential scan or through an index not among its own. A bitmap heap scan counts as
    reading through the bitmap index scans beneath it; an ON CONFLICT arbiter is the key."""
    problems = []
    for table, kind, index in scans(plans):
        wanted = indexes.get(table)
        if wanted is None or table not in large:
            continue
        if kind == "Seq Scan":
            problems.append(f"{table}: sequential scan (wanted {' or '.join(wanted)})")
        elif kind == "Conflict Arbiter":
            continue
        elif index is None or index not in wanted:
            problems.append(f"{table}: {kind} on {index} (wanted {' or '.join(wanted)})")
    return problems


def used_indexes(plans: list[dict[str, Any]]) -> dict[str, set[str]]:
    used: dict[str, set[str]] = {}
    for table, kind, index in scans(plans):
        used.setdefault(table, set()).add(index if index is not None else kind)
    return used


def large_tables(engine: Engine, min_pages: int) -> set[str]:
    """Tables of at least `min_pages` pages: where a sequential scan loses to an index probe."""
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT relname FROM pg_class WHERE relkind = 'r' AND relpages >= :pages "
                "AND relnamespace = 'public'::regnamespace"
            ),
            {"pages": min_pages},
        )
        return {str(r[0]) for r in rows}


def checked_plans(
    engine: Engine, query: HotQuery, uid: str, large: set[str]
) -> tuple[list[dict[str, Any]], list[str]]:
    """Run `query` once for `uid` capturing its statements, explain them; (plans, problems)."""
    t = target(engine, uid)
    with capture(engine) as statements:
        query.run(t)
    plans = explain(engine, statements)
    return plans, plan_problems(plans, query.indexes, large)
