"""The mirror's figures: backfill throughput next to raw reads and row-by-row inserts, mirror lag
through the real path, the local pipeline's capacity, and reconcile time.

Starts its own local stack on free ports. Sizes can be lowered for a quick look with
FOCUS_BENCH_MIRROR_DOCS / _LAG_SECONDS / _RECONCILE_USERS.
"""

from __future__ import annotations

import os
import statistics
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

from devstack.stack import Stack

DOCS = int(os.environ.get("FOCUS_BENCH_MIRROR_DOCS", "100000"))
LAG_SECONDS = float(os.environ.get("FOCUS_BENCH_MIRROR_LAG_SECONDS", "20"))
LAG_RATE = int(os.environ.get("FOCUS_BENCH_MIRROR_LAG_RATE", "200"))  # writes per second
RECONCILE_USERS = int(os.environ.get("FOCUS_BENCH_MIRROR_RECONCILE_USERS", "500"))
DRAIN_EVENTS = int(os.environ.get("FOCUS_BENCH_MIRROR_DRAIN_EVENTS", "3000"))
RELAY_IN_FLIGHT = 8
SESSIONS_PER_USER = 20
T0 = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)


def _session_doc(i: int) -> dict[str, Any]:
    return {
        "id": f"s{i}",
        "startedAt": T0,
        "plannedEndAt": None,
        "endedAt": None,
        "status": "running",
        "label": "bench",
        "blockedApps": ["com.example.a", "com.example.b"],
        "scheduleId": None,
        "updatedAt": T0 + timedelta(seconds=i),
        "deviceId": "bench-device",
        "deleted": False,
        "serverUpdatedAt": T0,
        "syncSeq": i + 1,
    }


def _seed(db: Any, docs: int) -> float:
    """`docs` sessions under docs/SESSIONS_PER_USER users, in batches of 500."""
    started = time.perf_counter()

    def write(offset: int) -> None:
        batch = db.batch()
        for i in range(offset, min(offset + 500, docs)):
            uid = f"u{i // SESSIONS_PER_USER:07d}"
            ref = db.collection("users").document(uid).collection("sessions").document(f"s{i}")
            batch.set(ref, _session_doc(i))
        batch.commit()

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(write, range(0, docs, 500)))
    return time.perf_counter() - started


def _truncate(engine: Any) -> None:
    from sqlalchemy import text

    from shared.sql.schema import metadata

    names = ", ".join(f'"{t.name}"' for t in metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {names}"))


def _row_by_row(engine: Any, db: Any) -> tuple[int, float]:
    """The same rows inserted one INSERT at a time (records built beforehand, not timed)."""
    from sqlalchemy import insert

    from shared.migration.tools.firestore_source import record_from_document
    from shared.sql.schema import TABLES, row_from_record

    rows = []
    for snap in db.collection_group("sessions").stream():
        record = record_from_document(snap.reference.path, snap.to_dict(), snap.update_time)
        if record is not None:
            rows.append(row_from_record(record))
    _truncate(engine)
    table = TABLES["sessions"].table
    started = time.perf_counter()
    with engine.begin() as conn:
        for row in rows:
            conn.execute(insert(table).values(**row))
    return len(rows), time.perf_counter() - started


def _lag(engine: Any, db: Any, rate: int, seconds: float, prefix: str = "lag") -> list[float]:
    """Firestore commit -> row visible in SQL, through publish -> push -> mirrorChanges."""
    from sqlalchemy import text

    from shared.changes import ChangeRecord
    from shared.fs import version_of
    from shared.sql.publisher import PubSubChangeSink

    sink = PubSubChangeSink()
    committed: dict[str, float] = {}
    lock = threading.Lock()
    total = int(seconds * rate)

    def write(i: int) -> None:
        uid, sid = f"{prefix}{i % 500:04d}", f"{prefix}-{i}"
        doc = _session_doc(i) | {"id": sid}
        ref = db.collection("users").document(uid).collection("sessions").document(sid)
        batch = db.batch()
        batch.set(ref, doc)
        (result,) = batch.commit()
        now = time.perf_counter()
        version = version_of(result.update_time)
        data = {k: v.isoformat() if isinstance(v, datetime) else v for k, v in doc.items()}
        sink.publish(
            [
                ChangeRecord(
                    collection="sessions", uid=uid, id=sid, op="upsert", version=version, data=data
                )
            ]
        )
        with lock:
            committed[sid] = now

    visible: dict[str, float] = {}
    stop = threading.Event()

    def poll() -> None:
        while not stop.is_set() or len(visible) < len(committed):
            with engine.connect() as conn:
                # A range of the primary key (user_id, id): an index scan, not a scan of every
                # session, so the poller does not load the database it measures.
                ids = conn.execute(
                    text("SELECT id FROM focus_sessions WHERE user_id >= :lo AND user_id <= :hi"),
                    {"lo": f"{prefix}0000", "hi": f"{prefix}9999"},
                ).scalars()
                now = time.perf_counter()
                for sid in ids:
                    visible.setdefault(sid, now)
            if stop.is_set() and time.perf_counter() - stopped_at[0] > 60:
                return
            time.sleep(0.02)

    stopped_at = [0.0]
    poller = threading.Thread(target=poll)
    poller.start()
    with ThreadPoolExecutor(32) as pool:
        started = time.perf_counter()
        for i in range(total):
            pool.submit(write, i)
            delay = started + (i + 1) / rate - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
    stopped_at[0] = time.perf_counter()
    stop.set()
    poller.join()
    return sorted(visible[s] - committed[s] for s in committed if s in visible)


def _drain(engine: Any, stack: Stack, events: int, relay_in_flight: int | None) -> float:
    """Events per second through the consumer: `events` change events published at once, timed
    until every row is in SQL. `relay_in_flight` None: pushed by the emulator itself; a number:
    pushed by `_PushRelay` with that many requests in flight, as production push delivery runs
    them concurrently (the emulator's own push loop does not)."""
    from google.cloud import pubsub_v1
    from sqlalchemy import text

    from shared.changes import ChangeRecord
    from shared.sql.events import ChangeBatch, encode
    from shared.sql.publisher import MIRROR_TOPIC

    prefix = "drain" if relay_in_flight is None else f"relay{relay_in_flight}"
    payloads = []
    for i in range(events):
        doc = _session_doc(i)
        data = {k: v.isoformat() if isinstance(v, datetime) else v for k, v in doc.items()}
        record = ChangeRecord(
            collection="sessions",
            uid=f"{prefix}{i % 500:04d}",
            id=f"{prefix}-{i}",
            op="upsert",
            version=1_000_000 + i,
            data=data | {"id": f"{prefix}-{i}"},
        )
        payloads.append(encode(ChangeBatch(records=[record], emitted_at=datetime.now(UTC))))
    count = text("SELECT count(*) FROM focus_sessions WHERE user_id >= :lo AND user_id <= :hi")
    bounds = {"lo": f"{prefix}0000", "hi": f"{prefix}9999"}
    publisher = pubsub_v1.PublisherClient()
    topic = publisher.topic_path(stack.config.project_id, MIRROR_TOPIC)
    relay = _PushRelay(stack, relay_in_flight) if relay_in_flight is not None else None
    try:
        started = time.perf_counter()
        for future in [publisher.publish(topic, payload) for payload in payloads]:
            future.result()
        while True:
            with engine.connect() as conn:
                if conn.execute(count, bounds).scalar_one() >= events:
                    return events / (time.perf_counter() - started)
            time.sleep(0.05)
    finally:
        if relay is not None:
            relay.close()


class _PushRelay:
    """Production's push delivery in miniature, for `_drain`: the consumer's subscription is
    switched to pull, and each message is posted to mirrorChanges as the same push request,
    `in_flight` at a time, acked on 2xx and nacked otherwise; `close` restores the push."""

    def __init__(self, stack: Stack, in_flight: int) -> None:
        import base64

        import requests
        from google.cloud import pubsub_v1
        from google.cloud.pubsub_v1.subscriber.scheduler import ThreadScheduler

        from shared import registry

        (fn,) = [f for f in registry.FUNCTIONS if f.name == "mirrorChanges"]
        self._subscriber = pubsub_v1.SubscriberClient()
        self._path = self._subscriber.subscription_path(
            stack.config.project_id, registry.subscription_name(fn)
        )
        self._endpoint = stack.push_endpoint(fn.name)
        self._subscriber.modify_push_config(request={"subscription": self._path, "push_config": {}})
        sessions = threading.local()

        def push(message: Any) -> None:
            session = getattr(sessions, "session", None) or requests.Session()
            sessions.session = session
            body = {
                "message": {
                    "data": base64.b64encode(message.data).decode(),
                    "messageId": message.message_id,
                    "publishTime": message.publish_time.isoformat(),
                    "attributes": dict(message.attributes),
                },
                "subscription": self._path,
            }
            answer = session.post(self._endpoint, json=body, timeout=60)
            (message.ack if answer.status_code < 300 else message.nack)()

        self._future = self._subscriber.subscribe(
            self._path,
            push,
            flow_control=pubsub_v1.types.FlowControl(max_messages=in_flight),
            scheduler=ThreadScheduler(ThreadPoolExecutor(in_flight)),
        )

    def close(self) -> None:
        self._future.cancel()
        self._subscriber.modify_push_config(
            request={"subscription": self._path, "push_config": {"push_endpoint": self._endpoint}}
        )


def _timed_step(db: Any, store: Any, partitions: int, copy: bool) -> tuple[Any, float]:
    from shared.migration.tools.backfill import Backfill, BackfillOptions

    options = BackfillOptions(("sessions",), partitions, restart=True, copy=copy)
    started = time.perf_counter()
    report = Backfill(db, store, options).run_step("sessions")
    return report, time.perf_counter() - started


def _delete_lag_docs(db: Any, prefix: str) -> None:
    """Remove the lag run's documents, so the backfill figures count only the seeded ones."""
    for i in range(500):
        user = db.collection("users").document(f"{prefix}{i:04d}")
        refs = [snap.reference for snap in user.collection("sessions").stream()]
        for start in range(0, len(refs), 500):
            batch = db.batch()
            for ref in refs[start : start + 500]:
                batch.delete(ref)
            batch.commit()


def _percentile(values: list[float], q: float) -> float:
    return values[min(len(values) - 1, int(q * len(values)))]


def run() -> str:
    from sqlalchemy import create_engine

    from benchmarks.stack import private_stack
    from shared.migration.tools.reconcile import FirestoreUsers, Reconciler
    from shared.sql.schema import sqlalchemy_url
    from shared.sql.store import SqlMirrorStore

    with private_stack("mirror") as stack:
        from shared import clients

        db = clients.firestore_client()
        engine = create_engine(sqlalchemy_url(stack.postgres_dsn), pool_size=10)
        store = SqlMirrorStore(engine)
        # Lag first: the stack is then as a live system is, not busy with 100k seeded docs.
        # Warm-up (not measured): the functions' first requests import modules and connect.
        _lag(engine, db, 50, 2, prefix="warm")
        lags = _lag(engine, db, LAG_RATE, LAG_SECONDS)
        # Below what the emulator's push delivery sustains here: the pipeline's own latency.
        half_lags = _lag(engine, db, LAG_RATE // 2, LAG_SECONDS, prefix="half")
        # Capacity: how fast a backlog drains, pushed by the emulator, then concurrently.
        pushed_rate = _drain(engine, stack, DRAIN_EVENTS, None)
        relayed_rate = _drain(engine, stack, DRAIN_EVENTS, RELAY_IN_FLIGHT)
        _truncate(engine)
        for prefix in ("warm", "lag", "half"):
            _delete_lag_docs(db, prefix)

        seed_s = _seed(db, DOCS)

        read_report, read_s = _timed_step(db, store, partitions=4, copy=False)
        _truncate(engine)
        copy_report, copy_s = _timed_step(db, store, partitions=4, copy=True)
        _truncate(engine)
        _, copy1_s = _timed_step(db, store, partitions=1, copy=True)

        rows, row_s = _row_by_row(engine, db)

        # The row-by-row run left exactly what the backfill writes: compare those users.
        uids = [f"u{i:07d}" for i in range(min(RECONCILE_USERS, DOCS // SESSIONS_PER_USER))]
        reconciler = Reconciler(FirestoreUsers(db), store, workers=8)
        started = time.perf_counter()
        report = reconciler.run(uids)
        reconcile_s = time.perf_counter() - started
        engine.dispose()

    docs = copy_report.read
    lines = [
        "## Mirror (Firestore -> PostgreSQL)",
        "",
        f"Local stack (Firestore emulator, PostgreSQL 15 with fsync off). {DOCS:,} session "
        f"documents under {DOCS // SESSIONS_PER_USER:,} users, seeded in batches of 500 in "
        f"{seed_s:.1f} s.",
        "",
        "| what | documents | seconds | documents/s |",
        "|---|---:|---:|---:|",
        f"| raw read from the emulator (cursor pages of 1,000, 4 partitions, decode only) | "
        f"{read_report.read:,} | {read_s:.1f} | {read_report.read / read_s:,.0f} |",
        f"| **backfill** (same reads + batched upserts, 4 partitions) | {docs:,} | "
        f"{copy_s:.1f} | {docs / copy_s:,.0f} |",
        f"| backfill, 1 partition | {docs:,} | {copy1_s:.1f} | {docs / copy1_s:,.0f} |",
        f"| row-by-row INSERT of the same rows (one transaction, SQL only) | {rows:,} | "
        f"{row_s:.1f} | {rows / row_s:,.0f} |",
        "",
        f"The backfill runs at {docs / copy_s / (read_report.read / read_s):.0%} of the raw "
        "read speed: reading Firestore, not writing SQL, is the bottleneck.",
        "",
        f"Mirror lag, Firestore commit to row visible in SQL (publish -> push subscription -> "
        f"mirrorChanges -> PostgreSQL, polled every 20 ms), {len(lags):,} writes at "
        f"{LAG_RATE}/s for {LAG_SECONDS:.0f} s: p50 **{_percentile(lags, 0.5) * 1000:.0f} ms**, "
        f"p99 **{_percentile(lags, 0.99) * 1000:.0f} ms**, max {max(lags) * 1000:.0f} ms "
        f"(mean {statistics.mean(lags) * 1000:.0f} ms). At {LAG_RATE // 2}/s "
        f"({len(half_lags):,} writes): p50 **{_percentile(half_lags, 0.5) * 1000:.0f} ms**, p99 "
        f"**{_percentile(half_lags, 0.99) * 1000:.0f} ms**.",
        "",
        f"Why 200/s queues locally: the capacity of the consumer pipeline alone, "
        f"{DRAIN_EVENTS:,} change events published at once (no Firestore writes meanwhile) and "
        f"timed until every row is in SQL, is **{pushed_rate:.0f} events/s** as the emulator "
        f"pushes them, and **{relayed_rate:.0f} events/s** with {RELAY_IN_FLIGHT} pushes in "
        "flight (a pull relay posting the same push requests to mirrorChanges, as production's "
        "concurrent push delivery does; the relay's own work runs on the same cores). More "
        "pushes in flight do not raise it: the 2 cores are the limit, not the emulator's push "
        "delivery. During the lag run the same cores also serve the load generator's 200 "
        "Firestore commits a second, so 200/s exceeds what is left, the queue grows for the "
        "whole run, and the 200/s figures measure that backlog, not the path. In production the "
        "consumer scales out (up to 50 instances x 4 concurrent requests, each apply one short "
        f"transaction); the {LAG_RATE // 2}/s figures are the path's own latency.",
        "",
        f"Reconcile of {len(uids):,} users ({SESSIONS_PER_USER} sessions each, 8 workers): "
        f"{reconcile_s:.1f} s, so about **{reconcile_s * 10_000 / len(uids) / 60:.1f} min per "
        f"10k users** on the emulator (drift found: {report.counts() or 'none'}).",
    ]
    return "\n".join(lines)
