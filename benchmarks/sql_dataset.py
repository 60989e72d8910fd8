"""A realistic, seeded dataset for the SQL tables, at any size: `make sql-dataset ROWS=10000000`.

Fills a PostgreSQL migrated to head (Alembic, the project's own schema) with users, devices,
schedules, focus sessions (live ones and tombstones), session feeds, delete markers, erased
accounts and SQL owners. The size is the number of `focus_sessions` rows; every other table
follows from the users it takes to reach it, so the distribution is the same at any size.

The distribution (per user, drawn from `random.Random(f"{seed}:{user index}")`, so the first N
users are the same whatever the size):
- sessions per user: log-normal around 50 (most users have dozens), and one user in 2,000 is a
  heavy user with 10,000 to 50,000 (a year of automated sessions); about 85 per user on average,
  so 1B rows is about 12M users, the issue's 10M daily users;
- sessions spread over the year before `T_END`, one commit each (one in ten shares its commit
  with the previous one), `sync_seq` and `server_updated_at` increasing together;
- 8% of sessions are deleted some days after their last write: deleted within the last 31 days
  they are tombstones (deletes of `sql_only` users carry a `purge_at`, and those a day past it
  are waiting for the purge job), deleted earlier they are gone, and the ones Firestore purged
  within the redelivery window (7 days) left a delete marker;
- 1.5 devices and 1.6 schedules per user; a quarter of the users are `sql_only` (their feed is
  owned by SQL, `sql_owners` rows for schedules and users); one user in 200 was erased.

Loading: each table is written by COPY. Sessions go through an unlogged staging table and one
`INSERT ... SELECT ... ORDER BY server_updated_at`, so the heap is in write order as in
production (a user's sessions scattered over the table, not side by side, which would flatter
every per-user read). Indexes and keys are dropped first and rebuilt after, from their own
definitions (`pg_get_indexdef`), as `pg_restore` does.

    python -m benchmarks.sql_dataset --rows 1000000 [--dsn postgresql://...] [--seed 1]

Without `--dsn` it uses the PostgreSQL of a running `make dev` (`.local/stack.json`), else
`FOCUS_POSTGRES_DSN`, else starts a cluster of its own under `.local/sql-dataset` and stops it
at the end (the data stays there for the next start).

Over 400 lines: the distribution and the loader are one recipe; split, neither says what the
dataset is.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import io
import json
import math
import random
import string
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg

ROOT = Path(__file__).resolve().parents[1]
T_END = datetime(2026, 12, 1, tzinfo=UTC)  # "now" of the dataset; the purge runs at this time
EPOCH_US = int(T_END.timestamp() * 1_000_000)
DAY_US = 86_400 * 1_000_000
RETENTION_DAYS = 31  # shared.sessions.models.TOMBSTONE_RETENTION
MARKER_DAYS = 7  # delete markers are pruned after the redelivery window
ALNUM = string.ascii_letters + string.digits
APPS = [f"com.example.app{i}" for i in range(40)]
LABELS = ["Deep work", "Reading", "Study", "Writing", "Email", "Exercise", "Planning", "Code"]
DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
TIMEZONES = ["Europe/Paris", "Europe/Berlin", "America/New_York", "Asia/Tokyo", "UTC"]
PLATFORMS = ["ios", "android"]
PLANNED_US = [m * 60_000_000 for m in (25, 50, 90)]
# The blocked-app lists sessions carry (0 to 5 apps), drawn once: picking one is cheap.
APP_SETS = ["{" + ",".join(random.Random(i).sample(APPS, i % 6)) + "}" for i in range(64)]

# Tables filled here, in TRUNCATE order; the staging table is ours alone.
TABLES = (
    "focus_sessions",
    "session_feeds",
    "users",
    "devices",
    "schedules",
    "delete_markers",
    "erased_users",
    "sql_owners",
    "fcm_tokens",
)
STAGING = "sql_dataset_sessions"
SESSION_COLUMNS = (
    "user_id, id, started_at, planned_end_at, ended_at, status, label, blocked_apps, "
    "schedule_id, updated_at, device_id, deleted, server_updated_at, source_version, "
    "content_hash, mirrored_at, sync_seq, purge_at"
)


@dataclasses.dataclass
class Counts:
    users: int = 0
    sessions: int = 0
    tombstones: int = 0
    expired_tombstones: int = 0
    markers: int = 0
    devices: int = 0
    schedules: int = 0
    heavy_users: int = 0
    sql_only_users: int = 0
    erased: int = 0
    max_sessions: int = 0


@dataclasses.dataclass
class Buffers:
    """COPY text per table, flushed when large."""

    sessions: io.StringIO = dataclasses.field(default_factory=io.StringIO)
    other: dict[str, io.StringIO] = dataclasses.field(default_factory=dict)

    def out(self, table: str) -> io.StringIO:
        return self.other.setdefault(table, io.StringIO())


def _ts(us: int) -> str:
    """A timestamptz literal for COPY from microseconds since the epoch."""
    return datetime.fromtimestamp(us / 1_000_000, UTC).isoformat()


def _array(items: list[str]) -> str:
    return "{" + ",".join(items) + "}"


def session_count(rng: random.Random) -> int:
    """Sessions of one user: dozens for most, tens of thousands for one in 2,000."""
    if rng.random() < 0.0005:
        return int(10 ** rng.uniform(4.0, 4.7))
    return max(1, int(rng.lognormvariate(math.log(50), 0.9)))


def _user(seed: int, index: int, buffers: Buffers, counts: Counts) -> None:
    """Everything of user `index`, appended to the COPY buffers."""
    rng = random.Random(f"{seed}:{index}")
    uid = "".join(rng.choices(ALNUM, k=28))  # Firebase Auth uids are 28 characters
    created_us = EPOCH_US - rng.randrange(730 * DAY_US)
    n = session_count(rng)
    sql_only = rng.random() < 0.25
    counts.users += 1
    counts.heavy_users += n >= 10_000
    counts.sql_only_users += sql_only
    counts.max_sessions = max(counts.max_sessions, n)
    if rng.random() < 0.005:  # an erased account: only sha256(uid) is left, nothing else
        import hashlib

        erased_hash = hashlib.sha256(uid.encode()).hexdigest()
        buffers.out("erased_users").write(
            f"{erased_hash}\t{_ts(EPOCH_US - rng.randrange(30 * DAY_US))}\t{EPOCH_US}\n"
        )
        counts.erased += 1
        return
    tz = rng.choice(TIMEZONES)
    users = buffers.out("users")
    users.write(
        f"{uid}\t{tz}\ten\t{_ts(created_us)}\t{created_us}\t{_hash(rng)}\t{_ts(created_us)}\n"
    )
    devices = [_uuid(rng) for _ in range(1 + (rng.random() < 0.4) + (rng.random() < 0.1))]
    out = buffers.out("devices")
    for device in devices:
        at = _ts(created_us + rng.randrange(DAY_US))
        out.write(
            f"{uid}\t{device}\t{rng.choice(PLATFORMS)}\t3.{rng.randrange(20)}.0\t{at}\t"
            f"{created_us}\t{_hash(rng)}\t{at}\t\\N\t\\N\t\\N\n"
        )
    counts.devices += len(devices)
    schedules = [_uuid(rng) for _ in range(rng.choice((0, 0, 1, 1, 2, 3, 4)))]
    out = buffers.out("schedules")
    for schedule in schedules:
        at = _ts(created_us)
        days = _array(rng.sample(DAYS, rng.randrange(1, 8)))
        apps = _array(rng.sample(APPS, rng.randrange(0, 6)))
        out.write(
            f"{uid}\t{schedule}\tFocus\t{tz}\t{days}\t09:00\t12:00\t{apps}\tt\t{at}\t"
            f"{created_us}\t{_hash(rng)}\t{at}\t{1 if sql_only else '\\N'}\n"
        )
    counts.schedules += len(schedules)
    if sql_only:
        for collection in ("schedules", "users"):
            buffers.out("sql_owners").write(f"{collection}\t{uid}\t{_ts(EPOCH_US - DAY_US)}\n")
    seq = _sessions(rng, uid, n, created_us, sql_only, devices, schedules, buffers, counts)
    epoch = f"{created_us}" if sql_only else "\\N"
    sql_seq = f"{seq}" if sql_only else "\\N"
    buffers.out("session_feeds").write(
        f"{uid}\t{seq}\t{{}}\t\\N\t{epoch}\t{sql_seq}\t{_ts(EPOCH_US)}\n"
    )


def _sessions(
    rng: random.Random,
    uid: str,
    n: int,
    created_us: int,
    sql_only: bool,
    devices: list[str],
    schedules: list[str],
    buffers: Buffers,
    counts: Counts,
) -> int:
    """The user's `n` sessions as staging rows; returns the feed head (the last commit's seq)."""
    r = rng.random  # int(r() * n) rather than randrange/choice: the same law, 10x cheaper
    first = max(created_us, EPOCH_US - 365 * DAY_US)
    span = EPOCH_US - first
    starts = sorted(first + int(r() * span) for _ in range(n))
    # Each session is written when it ends; a delete some days later is a commit of its own.
    writes: list[tuple[int, int, bool]] = []  # (time, session index, is the delete)
    for i, start in enumerate(starts):
        ended = start + (10 + int(r() * 110)) * 60_000_000
        writes.append((min(ended, EPOCH_US - 1), i, False))
        if r() < 0.08:
            deleted_at = ended + int(rng.expovariate(1 / 3) * DAY_US)
            if deleted_at < EPOCH_US:
                writes.append((deleted_at, i, True))
    writes.sort()
    last: dict[int, tuple[int, int, bool]] = {}
    seq = 0
    for position, (at, i, is_delete) in enumerate(writes):
        if position == 0 or r() >= 0.1:
            seq += 1  # else this write shares the previous commit
        last[i] = (at, seq, is_delete)
    out = buffers.sessions
    n_devices, n_schedules = len(devices), len(schedules)
    for i, start in enumerate(starts):
        at, session_seq, deleted = last[i]
        session_id = _uuid(rng)
        if deleted:
            age = EPOCH_US - at
            if age > (RETENTION_DAYS + (1 if sql_only else 0)) * DAY_US:
                # Purged: gone, and a Firestore purge within the redelivery window left a marker.
                purged_at = at + RETENTION_DAYS * DAY_US
                if not sql_only and EPOCH_US - purged_at < MARKER_DAYS * DAY_US:
                    buffers.out("delete_markers").write(
                        f"sessions\t{uid}\t{session_id}\t{purged_at}\t{_ts(purged_at)}\n"
                    )
                    counts.markers += 1
                continue
            purge = at + RETENTION_DAYS * DAY_US if sql_only else None
            counts.tombstones += 1
            counts.expired_tombstones += purge is not None and purge <= EPOCH_US
            out.write(
                f"{uid}\t{session_id}\t\\N\t\\N\t\\N\t\\N\t\\N\t{{}}\t\\N\t{at}\t\\N\tt\t{at}\t"
                f"{at}\t{_hash(rng)}\t{at + 150_000}\t{session_seq}\t"
                f"{purge if purge is not None else '\\N'}\n"
            )
        else:
            planned = start + PLANNED_US[int(r() * 3)]
            running = at >= EPOCH_US - 1
            status = "running" if running else ("abandoned" if r() < 0.2 else "completed")
            ended_text = "\\N" if running else f"{at}"
            label = LABELS[int(r() * len(LABELS))] if r() < 0.7 else "\\N"
            apps = APP_SETS[int(r() * len(APP_SETS))]
            schedule = schedules[int(r() * n_schedules)] if n_schedules and r() < 0.3 else "\\N"
            out.write(
                f"{uid}\t{session_id}\t{start}\t{planned}\t{ended_text}\t{status}\t{label}\t{apps}\t"
                f"{schedule}\t{at}\t{devices[int(r() * n_devices)]}\tf\t{at}\t{at}\t"
                f"{_hash(rng)}\t{at + 150_000}\t{session_seq}\t\\N\n"
            )
        counts.sessions += 1
    return seq


def _uuid(rng: random.Random) -> str:
    h = f"{rng.getrandbits(128):032x}"
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:]}"


def _hash(rng: random.Random) -> str:
    return f"{rng.getrandbits(256):064x}"


# -- loading -----------------------------------------------------------------------------------

_STAGING_DDL = f"""
CREATE UNLOGGED TABLE {STAGING} (
    user_id text, id text, started_at bigint, planned_end_at bigint, ended_at bigint,
    status text, label text, blocked_apps text[], schedule_id text, updated_at bigint,
    device_id text, deleted boolean, server_updated_at bigint, source_version bigint,
    content_hash text, mirrored_at bigint, sync_seq bigint, purge_at bigint
)
"""


def _us(column: str) -> str:
    return f"timestamptz 'epoch' + {column} * interval '1 microsecond'"


_FROM_STAGING = f"""
INSERT INTO focus_sessions ({SESSION_COLUMNS})
SELECT user_id, id, {_us("started_at")}, {_us("planned_end_at")}, {_us("ended_at")}, status,
       label, blocked_apps, schedule_id, {_us("updated_at")}, device_id, deleted,
       {_us("server_updated_at")}, source_version, content_hash, {_us("mirrored_at")},
       sync_seq, {_us("purge_at")}
FROM {STAGING} ORDER BY server_updated_at
"""

_OTHER_COLUMNS = {
    "users": "id, timezone, locale, created_at, source_version, content_hash, mirrored_at",
    "devices": (
        "user_id, id, platform, app_version, registered_at, source_version, content_hash, "
        "mirrored_at, fcm_token, token_updated_at, push_state"
    ),
    "schedules": (
        'user_id, id, name, timezone, days, start, "end", blocked_apps, enabled, updated_at, '
        "source_version, content_hash, mirrored_at, revision"
    ),
    "session_feeds": "user_id, complete_seq, pending, backfill_seq, sql_epoch, sql_seq, updated_at",
    "delete_markers": "collection, user_id, id, version, deleted_at",
    "erased_users": "user_hash, erased_at, erased_version",
    "sql_owners": "collection, user_id, owned_at",
}


def _copy(conn: psycopg.Connection[Any], table: str, columns: str, data: io.StringIO) -> None:
    text = data.getvalue()
    if text:
        with conn.cursor().copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
            copy.write(text)
    data.seek(0)
    data.truncate()


def _drop_indexes(conn: psycopg.Connection[Any]) -> list[str]:
    """Drop the keys and indexes of the filled tables; return the statements that rebuild them."""
    rebuild: list[str] = []
    names = list(TABLES)
    for table, name, definition in conn.execute(
        """
        SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint
        WHERE contype IN ('p', 'u') AND conrelid::regclass::text = ANY(%s)
        """,
        (names,),
    ).fetchall():
        conn.execute(f"ALTER TABLE {table} DROP CONSTRAINT {name}")
        rebuild.append(f"ALTER TABLE {table} ADD CONSTRAINT {name} {definition}")
    for name, definition in conn.execute(
        "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' "
        "AND tablename = ANY(%s)",
        (names,),
    ).fetchall():
        conn.execute(f"DROP INDEX {name}")
        rebuild.append(definition)
    return rebuild


def generate(
    dsn: str,
    rows: int,
    *,
    seed: int = 1,
    say: Callable[[str], None] = lambda _: None,
) -> dict[str, Any]:
    """Empty the mirror tables of `dsn` (migrated to head first) and fill them with about `rows`
    session rows (whole users: a few more). Returns what was written and how long it took."""
    from shared.sql.schema import upgrade_to_head

    upgrade_to_head(dsn)
    started = time.perf_counter()
    counts = Counts()
    buffers = Buffers()
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("SET maintenance_work_mem = '512MB'")
        conn.execute("SET work_mem = '256MB'")
        conn.execute(f"TRUNCATE {', '.join(TABLES)}")
        conn.execute(f"DROP TABLE IF EXISTS {STAGING}")
        conn.execute(_STAGING_DDL)
        rebuild = _drop_indexes(conn)
        index = 0
        while counts.sessions < rows:
            _user(seed, index, buffers, counts)
            index += 1
            if buffers.sessions.tell() > 32 << 20:
                _copy(conn, STAGING, SESSION_COLUMNS, buffers.sessions)
        _copy(conn, STAGING, SESSION_COLUMNS, buffers.sessions)
        for table, columns in _OTHER_COLUMNS.items():
            _copy(conn, table, columns, buffers.out(table))
        generated = time.perf_counter()
        say(f"generated {counts.sessions} sessions in {generated - started:.0f} s")
        conn.execute(_FROM_STAGING)
        conn.execute(f"DROP TABLE {STAGING}")
        loaded = time.perf_counter()
        say(f"loaded in time order in {loaded - generated:.0f} s")
        for statement in rebuild:
            conn.execute(statement)
        indexed = time.perf_counter()
        say(f"keys and indexes rebuilt in {indexed - loaded:.0f} s")
        for table in TABLES:
            conn.execute(f"VACUUM (ANALYZE) {table}")
        conn.execute(
            "INSERT INTO mirror_state (key, value) VALUES ('sqlDataset', %s) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = now()",
            (json.dumps({"rows": rows, "seed": seed, "users": index}),),
        )
    finished = time.perf_counter()
    return {
        "counts": dataclasses.asdict(counts),
        "seconds": {
            "generate": generated - started,
            "load": loaded - generated,
            "index": indexed - loaded,
            "vacuum_analyze": finished - indexed,
            "total": finished - started,
        },
    }


def sample_users(dsn: str, count: int, seed: int = 2, *, mirrored: bool = False) -> list[str]:
    """`count` user ids of the dataset, drawn at random with a fixed seed (weighted by user, not
    by session: most are ordinary users, as most requests are). `mirrored`: only users whose
    sessions the mirror still writes (not `sql_only`, where it refuses them)."""
    where = "complete_seq > 0" + (" AND sql_seq IS NULL" if mirrored else "")
    with psycopg.connect(dsn) as conn:
        query = f"SELECT user_id FROM session_feeds WHERE {where} ORDER BY user_id"
        uids = [r[0] for r in conn.execute(query)]
    return random.Random(seed).sample(uids, min(count, len(uids)))


def heaviest_user(dsn: str) -> str:
    """The user with the most sessions (the export and erasure worst case)."""
    with psycopg.connect(dsn) as conn:
        row = conn.execute(
            "SELECT user_id FROM session_feeds ORDER BY complete_seq DESC, user_id LIMIT 1"
        ).fetchone()
    assert row is not None, "the dataset is empty"
    return str(row[0])


# -- command line ------------------------------------------------------------------------------


def _stack_dsn() -> str | None:
    import os

    descriptor = ROOT / ".local" / "stack.json"
    if descriptor.exists():
        dsn = json.loads(descriptor.read_text()).get("postgresDsn")
        if dsn:
            try:
                psycopg.connect(str(dsn), connect_timeout=2).close()
                return str(dsn)
            except psycopg.OperationalError:
                pass  # a descriptor left by a stack that is not running
    return os.environ.get("FOCUS_POSTGRES_DSN")


@contextlib.contextmanager
def own_cluster(name: str = "sql-dataset", *, fresh: bool = False) -> Iterator[str]:
    """A cluster of our own under `.local/<name>` on a free port, started and stopped around
    the caller. Its data stays for the next start, unless `fresh`: then it starts empty and is
    deleted at the end (a benchmark's gigabytes)."""
    from devstack.postgres import PostgresCluster
    from devstack.process import free_port

    directory = ROOT / ".local" / name
    cluster = PostgresCluster(directory, free_port(), directory / "logs")
    cluster.start(wipe=fresh)
    try:
        yield cluster.dsn
    finally:
        if fresh:
            cluster.destroy()
        else:
            cluster.stop()


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.sql_dataset", description=__doc__)
    parser.add_argument("--rows", type=int, required=True, help="focus_sessions rows to reach")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--dsn", help="postgresql://... (default: make dev's, else our own)")
    args = parser.parse_args(argv)

    def say(line: str) -> None:
        sys.stderr.write(line + "\n")

    dsn = args.dsn or _stack_dsn()
    if dsn is not None:
        result = generate(dsn, args.rows, seed=args.seed, say=say)
    else:
        with own_cluster() as dsn:
            say(f"started PostgreSQL at {dsn}")
            result = generate(dsn, args.rows, seed=args.seed, say=say)
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
