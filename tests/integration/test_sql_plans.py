"""The hot SQL queries read their tables through their indexes (benchmarks/sql_hot.py).

Each hot query is called through its store for a user of a generated dataset (the generator of
`make sql-dataset`), and `EXPLAIN (ANALYZE, BUFFERS)` of the statements it sent must read every
large table it touches through one of the query's indexes: a plan that turns into a sequential
scan, or into a scan of the wrong index, fails. The dataset (about 60k sessions) makes
`focus_sessions` thousands of pages, where a sequential scan loses by orders of magnitude; the
small per-user tables of such a dataset would fit in a page or two, where the planner rightly
scans them, so they are padded with rows of other users until an index probe is the only
sensible plan for them too. The timings of the same queries at 1M-10M rows are in
docs/BENCHMARKS.md (`make bench`, section `sql_scale`).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, create_engine, text

from benchmarks import sql_dataset, sql_hot
from devstack.postgres import PostgresCluster
from shared.sql.schema import sqlalchemy_url

ROWS = 40_000
PADDING = 20_000  # rows of other users in each small table
MIN_PAGES = 30  # a table this large must be read through its index

# Filler rows for users the queries never ask for, in the tables the dataset keeps small.
_PAD = [
    """INSERT INTO users (id, timezone, created_at, source_version, content_hash)
       SELECT 'pad' || i, 'UTC', now(), 1, md5(i::text) FROM generate_series(1, :n) AS i""",
    """INSERT INTO devices (user_id, id, platform, registered_at, source_version, content_hash)
       SELECT 'pad' || i, 'd', 'ios', now(), 1, md5(i::text) FROM generate_series(1, :n) AS i""",
    """INSERT INTO schedules (user_id, id, name, timezone, days, start, "end", enabled,
                              updated_at, source_version, content_hash)
       SELECT 'pad' || i, 's', 'n', 'UTC', '{mon}', '09:00', '10:00', true, now(), 1,
              md5(i::text) FROM generate_series(1, :n) AS i""",
    """INSERT INTO session_feeds (user_id, complete_seq)
       SELECT 'pad' || i, 0 FROM generate_series(1, :n) AS i""",
    """INSERT INTO delete_markers (collection, user_id, id, version)
       SELECT 'sessions', 'pad' || i, 'x', 1 FROM generate_series(1, :n) AS i""",
    """INSERT INTO sql_owners (collection, user_id)
       SELECT 'schedules', 'pad' || i FROM generate_series(1, :n) AS i""",
]


@pytest.fixture(scope="module")
def dataset(postgres_cluster: PostgresCluster) -> Iterator[tuple[Engine, str]]:
    """(engine, dsn) of a database of its own holding the generated dataset, padded."""
    name = f"plans_{uuid.uuid4().hex[:8]}"
    dsn = postgres_cluster.databases.create(name)
    engine = create_engine(sqlalchemy_url(dsn))
    try:
        sql_dataset.generate(dsn, ROWS)
        with engine.begin() as conn:
            for statement in _PAD:
                conn.execute(text(statement), {"n": PADDING})
        with engine.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT")
            # Statistics from every row, not from ANALYZE's random sample of 30,000: with a
            # sample, the estimated number of users moves from run to run and with it the plan
            # of a query near the edge (reconcile's sample of users), which made the check
            # flaky; the planner's view of a table this small should be exact.
            conn.execute(text("SET default_statistics_target = 1000"))
            # ...and kept so when autovacuum analyzes again after the queries here wrote (the
            # big tables analyze after 1% of changes): its own analyze samples at the server's
            # default target, unless the column says otherwise. Once that resampled the users
            # and moved reconcile's sample onto a sequential scan.
            keys = conn.execute(
                text(
                    "SELECT table_name, column_name FROM information_schema.columns"
                    " WHERE table_schema = 'public' AND column_name IN ('id', 'user_id')"
                )
            ).all()
            for table, column in keys:
                conn.execute(
                    text(f'ALTER TABLE "{table}" ALTER COLUMN "{column}" SET STATISTICS 1000')
                )
            conn.execute(text("VACUUM ANALYZE"))
        yield engine, dsn
    finally:
        engine.dispose()
        postgres_cluster.databases.drop(name)


def _check(engine: Engine, query: sql_hot.HotQuery, uid: str) -> None:
    large = sql_hot.large_tables(engine, MIN_PAGES)
    plans, problems = sql_hot.checked_plans(engine, query, uid, large)
    used = sql_hot.used_indexes(plans)
    assert problems == [], f"{query.name}: {problems}; plans used {used}"
    checked = {t for t in query.indexes if t in large and t in used}
    # Not vacuous: every table the query names was large here and read by its statements.
    assert checked == set(query.indexes), f"{query.name}: only {checked} checked, used {used}"


@pytest.mark.parametrize("query", sql_hot.HOT_QUERIES, ids=lambda q: q.name)
def test_hot_query_reads_through_its_indexes(
    dataset: tuple[Engine, str], query: sql_hot.HotQuery
) -> None:
    engine, dsn = dataset
    # A user of its own per query: the upsert adds a session, the erasure removes the user.
    users = sql_dataset.sample_users(dsn, len(sql_hot.HOT_QUERIES), mirrored=query.mirrored)
    _check(engine, query, users[sql_hot.HOT_QUERIES.index(query)])


def test_a_dropped_index_is_caught(dataset: tuple[Engine, str]) -> None:
    """The check itself: without the feed index, the sync pull's plan is refused."""
    engine, dsn = dataset
    query = sql_hot.BY_NAME["sync_feed"]
    uid = sql_dataset.sample_users(dsn, 1)[0]
    with sql_hot.capture(engine) as statements:
        query.run(sql_hot.target(engine, uid))
    with engine.connect() as conn:
        transaction = conn.begin()
        try:
            conn.execute(text("DROP INDEX ix_focus_sessions_user_id_sync_seq"))
            # Explained inside the transaction that dropped the index (rolled back below).
            plans = [
                conn.exec_driver_sql("EXPLAIN (FORMAT JSON) " + statement, parameters).scalar_one()[
                    0
                ]
                for statement, parameters in statements
                if statement.lstrip().upper().startswith("SELECT")
            ]
        finally:
            transaction.rollback()
    problems = sql_hot.plan_problems(plans, query.indexes, {"focus_sessions"})
    assert problems, plans


def test_big_tables_carry_their_autovacuum_settings(dataset: tuple[Engine, str]) -> None:
    """Migration 0007 (docs/SCALING.md says why): the defaults wait for 20% of a table."""
    engine, _ = dataset
    with engine.connect() as conn:
        options: dict[str, list[str]] = dict(
            conn.execute(
                text(
                    "SELECT relname, reloptions FROM pg_class "
                    "WHERE relname IN ('focus_sessions', 'session_feeds')"
                )
            ).all()
        )
    assert "autovacuum_vacuum_scale_factor=0.01" in options["focus_sessions"]
    assert "autovacuum_vacuum_insert_scale_factor=0.01" in options["focus_sessions"]
    assert "fillfactor=80" in options["session_feeds"]
