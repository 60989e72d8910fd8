"""The SQL tables as they grow: the hot queries at 1M, 3M and 10M session rows, sizes, the write
peak, and the extrapolation to 1B rows (docs/SCALING.md reads these figures).

For each size, a cluster of its own (started like the other benchmarks') is filled by the
dataset generator (benchmarks/sql_dataset.py), then each hot query of benchmarks/sql_hot.py is
called through its store for a seeded sample of users (p50/p99 of the whole call, as a function
sees it), its statements explained (`EXPLAIN (ANALYZE, BUFFERS)`: the indexes used and the
buffers touched, which is what grows with the table when a query does not stay flat), and the
heaviest user's calls timed apart. At the largest size the mirror's apply runs at the write
peak with concurrent sync readers.

Sizes and sample counts can be lowered for a quick look: FOCUS_BENCH_SQL_SIZES (comma-separated
rows), FOCUS_BENCH_SQL_CALLS (per query and size), FOCUS_BENCH_SQL_PEAK_RATE (changes/s),
FOCUS_BENCH_SQL_PEAK_SECONDS; FOCUS_BENCH_SQL_RESUME=1 reuses the sizes a previous run saved.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import threading
import time
from typing import Any

from sqlalchemy import Engine, create_engine, text

from benchmarks import sql_dataset, sql_hot

SIZES = [
    int(s) for s in os.environ.get("FOCUS_BENCH_SQL_SIZES", "1000000,3000000,10000000").split(",")
]
CALLS = int(os.environ.get("FOCUS_BENCH_SQL_CALLS", "100"))
MAX_SECONDS_PER_QUERY = 20.0
PEAK_RATE = int(os.environ.get("FOCUS_BENCH_SQL_PEAK_RATE", "2000"))  # changes/s (docs/SCALING.md)
PEAK_SECONDS = float(os.environ.get("FOCUS_BENCH_SQL_PEAK_SECONDS", "15"))
RESUME = os.environ.get("FOCUS_BENCH_SQL_RESUME") == "1"
PEAK_WRITERS = 8
PEAK_READERS = 2
LARGE_PAGES = 100  # a table this size is read through its index or the plan fails
TABLES = ("focus_sessions", "session_feeds", "users", "devices", "schedules", "delete_markers")


def _ms(seconds: list[float], q: float) -> float:
    if not seconds:
        return float("nan")
    ordered = sorted(seconds)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def _timed(query: sql_hot.HotQuery, t: sql_hot.Target) -> float:
    started = time.perf_counter()
    query.run(t)
    return time.perf_counter() - started


def _measure(engine: Engine, query: sql_hot.HotQuery, uids: list[str]) -> list[float]:
    counter = itertools.count()
    for uid in uids[:5]:  # warm the pool and the caches the first calls would pay for
        query.run(sql_hot.target(engine, uid, counter))
    times: list[float] = []
    deadline = time.monotonic() + MAX_SECONDS_PER_QUERY
    for uid in uids:
        t = sql_hot.target(engine, uid, counter)
        times.append(_timed(query, t))
        if time.monotonic() > deadline:
            break
    return times


def _sizes(engine: Engine) -> dict[str, tuple[int, int, int]]:
    """table -> (rows, heap bytes incl. TOAST, index bytes)."""
    out = {}
    with engine.connect() as conn:
        for table in TABLES:
            rows = conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()
            heap, indexes = conn.execute(
                text("SELECT pg_table_size(:t), pg_indexes_size(:t)"), {"t": table}
            ).one()
            out[table] = (int(rows), int(heap), int(indexes))
    return out


def _index_sizes(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT indexrelname, pg_relation_size(indexrelid) FROM pg_stat_user_indexes "
                "WHERE relname = 'focus_sessions' ORDER BY indexrelname"
            )
        )
        return {str(name): int(size) for name, size in rows}


def _vacuum_seconds(engine: Engine) -> float:
    """A full VACUUM pass over focus_sessions (nothing dead: the cost of reading it all)."""
    with engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT")
        started = time.perf_counter()
        conn.execute(text("VACUUM (DISABLE_PAGE_SKIPPING) focus_sessions"))
        return time.perf_counter() - started


def _write_peak(engine: Engine, uids: list[str]) -> dict[str, Any]:
    """`apply` of one-session commits paced at PEAK_RATE by PEAK_WRITERS threads (users drawn
    from `uids`) for PEAK_SECONDS, while PEAK_READERS threads pull sync feeds; lag = commit -
    due time. Commits still waiting at the end are counted as the backlog, not applied."""
    total = int(PEAK_RATE * PEAK_SECONDS)
    lags: list[float] = []
    reads: list[float] = []
    errors: list[BaseException] = []
    next_index = itertools.count()
    counter = itertools.count()
    lock = threading.Lock()
    stop = threading.Event()
    rng = random.Random(7)
    picks = [rng.choice(uids) for _ in range(total)]
    started = time.perf_counter() + 0.5

    def writer() -> None:
        try:
            while (i := next(next_index)) < total:
                due = started + i / PEAK_RATE
                if time.perf_counter() > started + PEAK_SECONDS:
                    return  # the rest is the backlog
                wait = due - time.perf_counter()
                if wait > 0:
                    time.sleep(wait)  # pacing the load, not waiting for a result
                sql_hot.BY_NAME["guarded_upsert"].run(sql_hot.target(engine, picks[i], counter))
                with lock:
                    lags.append(time.perf_counter() - due)
        except BaseException as err:  # reported after the run
            errors.append(err)

    def reader(seed: int) -> None:
        local = random.Random(seed)
        sync = sql_hot.BY_NAME["sync_feed"]
        while not stop.is_set():
            t = sql_hot.target(engine, local.choice(uids))
            elapsed = _timed(sync, t)
            with lock:
                reads.append(elapsed)

    writers = [threading.Thread(target=writer) for _ in range(PEAK_WRITERS)]
    readers = [threading.Thread(target=reader, args=(i,)) for i in range(PEAK_READERS)]
    for thread in writers + readers:
        thread.start()
    for thread in writers:
        thread.join()
    elapsed = time.perf_counter() - started
    stop.set()
    for thread in readers:
        thread.join()
    if errors:
        raise errors[0]
    with engine.connect() as conn:
        dead = conn.execute(
            text("SELECT n_dead_tup FROM pg_stat_user_tables WHERE relname = 'session_feeds'")
        ).scalar_one()
    return {
        "offered": PEAK_RATE,
        "backlog": total - len(lags),
        "done": len(lags),
        "rows_per_s": len(lags) / elapsed,
        "lag_p50": _ms(lags, 0.5),
        "lag_p99": _ms(lags, 0.99),
        "reads": len(reads),
        "read_p50": _ms(reads, 0.5),
        "read_p99": _ms(reads, 0.99),
        "feeds_dead": int(dead),
    }


def _one_size(dsn: str, rows: int) -> dict[str, Any]:
    from shared.sql.schema import sqlalchemy_url

    made = sql_dataset.generate(dsn, rows)
    engine = create_engine(sqlalchemy_url(dsn), pool_size=PEAK_WRITERS + PEAK_READERS + 2)
    try:
        uids = sql_dataset.sample_users(dsn, CALLS * 2 + 20)
        ordinary, spare = uids[: CALLS + 10], uids[CALLS + 10 :]
        mirrored = sql_dataset.sample_users(dsn, CALLS + 10, mirrored=True)
        heavy = sql_dataset.heaviest_user(dsn)
        large = sql_hot.large_tables(engine, LARGE_PAGES)
        result: dict[str, Any] = {
            "rows": made["counts"]["sessions"],
            "made": made,
            "sizes": _sizes(engine),
            "index_sizes": _index_sizes(engine),
            "vacuum_s": _vacuum_seconds(engine),
            "queries": {},
        }
        for query in sql_hot.HOT_QUERIES:
            who = spare if query.destructive else mirrored if query.mirrored else ordinary
            plans, problems = sql_hot.checked_plans(engine, query, who[-1], large)
            times = _measure(engine, query, who[:-1])
            heavy_t = [
                _timed(query, sql_hot.target(engine, heavy))
                for _ in range(1 if query.destructive else 3)
            ]
            result["queries"][query.name] = {
                "p50": _ms(times, 0.5),
                "p99": _ms(times, 0.99),
                "calls": len(times),
                "buffers": sql_hot.buffers(plans),
                "server_ms": sql_hot.execution_ms(plans),
                "used": sql_hot.used_indexes(plans),
                "problems": problems,
                "heavy": min(heavy_t) * 1000,
            }
        if rows == max(SIZES):
            result["peak"] = _write_peak(engine, mirrored)
        return result
    finally:
        engine.dispose()


def _mb(n: float) -> str:
    return f"{n / 1024 / 1024:,.1f} MB"


def _report(results: list[dict[str, Any]]) -> str:
    lines = [
        "PostgreSQL 15 tables filled by `make sql-dataset` (seeded; skewed sessions per user, "
        "tombstones, delete markers; benchmarks/sql_dataset.py says how), at each size in a "
        "fresh local cluster (defaults: `shared_buffers` 128 MB, fsync off; the data fits in "
        "the OS page cache). Each hot query is the store's own call "
        "(benchmarks/sql_hot.py), timed end to end through SQLAlchemy for a seeded sample of "
        "users; buffers are the pages its statements touch and server ms their execution time "
        "inside PostgreSQL (`EXPLAIN (ANALYZE, BUFFERS)` of one ordinary user's call); "
        '"heaviest" is the user with the most sessions.',
        "",
    ]
    header = "| query | " + " | ".join(f"{r['rows'] / 1e6:.1f}M p50 / p99 ms" for r in results)
    header += " | buffers (" + " / ".join(f"{r['rows'] / 1e6:.0f}M" for r in results) + ")"
    header += " | server ms (" + " / ".join(f"{r['rows'] / 1e6:.0f}M" for r in results) + ")"
    header += f" | heaviest user ms ({results[-1]['rows'] / 1e6:.0f}M) | indexes used |"
    lines += [header, "|---" * (len(results) + 5) + "|"]
    for query in sql_hot.HOT_QUERIES:
        cells = [query.what]
        for r in results:
            q = r["queries"][query.name]
            cells.append(f"{q['p50']:.1f} / {q['p99']:.1f}")
        cells.append(" / ".join(str(r["queries"][query.name]["buffers"]) for r in results))
        cells.append(" / ".join(f"{r['queries'][query.name]['server_ms']:.2f}" for r in results))
        last = results[-1]["queries"][query.name]
        cells.append(f"{last['heavy']:.0f}")
        used = "; ".join(
            f"{table}: {', '.join(sorted(idx))}" for table, idx in sorted(last["used"].items())
        )
        problems = sorted({p for r in results for p in r["queries"][query.name]["problems"]})
        cells.append(used + ("; **PLAN PROBLEM: " + "; ".join(problems) + "**" if problems else ""))
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", "Sizes (heap with TOAST, indexes), per million session rows:", ""]
    lines += [
        "| table | "
        + " | ".join(f"{r['rows'] / 1e6:.1f}M: rows, heap, indexes" for r in results)
        + " | per 1M sessions (largest) |",
        "|---" * (len(results) + 2) + "|",
    ]
    last = results[-1]
    per = last["rows"] / 1e6
    for table in TABLES:
        cells = [table]
        for r in results:
            n, heap, idx = r["sizes"][table]
            cells.append(f"{n:,}, {_mb(heap)}, {_mb(idx)}")
        n, heap, idx = last["sizes"][table]
        cells.append(f"{n / per:,.0f} rows, {_mb(heap / per)} + {_mb(idx / per)}")
        lines.append("| " + " | ".join(cells) + " |")
    total = sum(heap + idx for _, heap, idx in last["sizes"].values())
    sessions_heap, sessions_idx = last["sizes"]["focus_sessions"][1:]
    lines += [
        "",
        f"Linear extrapolation to 1B session rows (x{1e9 / last['rows']:,.0f}; the same users "
        f"mix, no bloat): focus_sessions {sessions_heap / per * 1000 / 2**30:,.0f} GB heap + "
        f"{sessions_idx / per * 1000 / 2**30:,.0f} GB indexes, all tables "
        f"{total / per * 1000 / 2**30:,.0f} GB.",
    ]
    idx_cells = ", ".join(f"{name} {_mb(size / per)}" for name, size in last["index_sizes"].items())
    lines += ["", f"focus_sessions indexes per 1M rows: {idx_cells}.", ""]
    lines += [
        "Loading and maintenance (seconds): "
        + "; ".join(
            f"{r['rows'] / 1e6:.1f}M: generate {r['made']['seconds']['generate']:.0f}, "
            f"load {r['made']['seconds']['load']:.0f}, "
            f"indexes {r['made']['seconds']['index']:.0f}, "
            f"vacuum+analyze {r['made']['seconds']['vacuum_analyze']:.0f}, "
            f"full vacuum pass of focus_sessions {r['vacuum_s']:.1f}"
            for r in results
        )
        + ".",
        "",
    ]
    counts = last["made"]["counts"]
    lines.append(
        f"Dataset at the largest size: {counts['users']:,} users ({counts['heavy_users']} heavy, "
        f"up to {counts['max_sessions']:,} sessions; {counts['sql_only_users']:,} `sql_only`), "
        f"{counts['tombstones']:,} tombstones ({counts['expired_tombstones']:,} past their "
        f"purge date), {counts['markers']:,} delete markers, {counts['devices']:,} devices, "
        f"{counts['schedules']:,} schedules."
    )
    peak = last.get("peak")
    if peak:
        lines += [
            "",
            f"Write peak at {last['rows'] / 1e6:.0f}M rows: the mirror's `apply` of one-session "
            f"commits offered at {peak['offered']:,}/s for {PEAK_SECONDS:.0f} s by "
            f"{PEAK_WRITERS} threads, with {PEAK_READERS} threads pulling sync feeds meanwhile, "
            f"all on this machine's cores: **{peak['rows_per_s']:,.0f} commits/s** applied, "
            f"{peak['backlog']:,} commits still due at the end; "
            f"lag (commit after its due time) p50 {peak['lag_p50']:.0f} ms, p99 "
            f"{peak['lag_p99']:.0f} ms; {peak['reads']:,} sync reads, p50 "
            f"{peak['read_p50']:.1f} ms, p99 {peak['read_p99']:.1f} ms; "
            f"{peak['feeds_dead']:,} dead `session_feeds` tuples left for autovacuum.",
        ]
    return "\n".join(lines) + "\n"


def run() -> str:
    """Every size in turn. Each size's figures are saved under .local/ as soon as they exist;
    with FOCUS_BENCH_SQL_RESUME=1 a size already saved is not measured again (a long run that
    was interrupted goes on where it stopped)."""
    results = []
    for rows in SIZES:
        saved = sql_dataset.ROOT / ".local" / f"bench-sql-{rows}.json"
        if RESUME and saved.exists():
            results.append(json.loads(saved.read_text()))
            continue
        with sql_dataset.own_cluster(f"bench-sql-{rows}-{os.getpid()}", fresh=True) as dsn:
            result = _one_size(dsn, rows)
        results.append(result)
        saved.write_text(json.dumps(result, indent=2, default=sorted))
    return _report(results)
