"""Sessions sync: Firestore operations per call against a naive design, and server-side latency.

Runs on a local stack of its own (free ports). Operation counts come from the one counting seam
(`shared.metering`), for this design (`shared.sessions`) and for a naive one implemented here:
read each session before writing it, write it plus a separate change-log entry, pull by scanning
all of the user's sessions. Latency: 20 concurrent clients (one user each) each sending syncs of
20 new sessions, measured at the server, against the emulator's time for the bare commit of the
same 20 writes at the same concurrency, and against the floor of such a sync (the batched read,
the commit and the publish it cannot do without, with nothing of ours in between).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import signal
import statistics
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

ROOT = Path(__file__).resolve().parents[1]
CLIENTS = 20
MUTATIONS = 20
ROUNDS = 8  # measured rounds per client, after one warm-up round
ALONE = 30  # measured rounds of the single client
HISTORIES = (100, 1000)
T0 = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
# The figures the latency table replaces, for comparison beside it.
BEFORE = (
    "Before the write protobufs were built directly (shared/fs_encode.py), the change records "
    "published without the batching client and the background deliveries moved to a process "
    "of their own (2026-12-07 10:51 UTC, nothing else running, load average 1.0-4.5): bare "
    "commit 217.1 ms, in-process sync 645.8 ms (3.0x), `syncFocusSessions` at the server "
    "1174.5 ms (5.4x) at p50. Before the deleted-account guard rode in the store's first read: "
    "at the server 1296.9 ms p50, 4.9x the bare commit's 267.2 ms (05:42 UTC)."
)


def stamp(minutes: float) -> str:
    return (T0 + timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def session(sid: str, minute: float = 0, device: str = "phone") -> dict[str, Any]:
    return {
        "id": sid,
        "startedAt": stamp(-60),
        "plannedEndAt": stamp(-10),
        "endedAt": None,
        "status": "running",
        "label": "deep work",
        "blockedApps": [f"com.example.app{i}" for i in range(12)],
        "scheduleId": None,
        "updatedAt": stamp(minute),
        "deviceId": device,
    }


def upserts(prefix: str, count: int) -> list[dict[str, Any]]:
    return [
        {"mutationId": f"{prefix}-{i}", "op": "upsert", "session": session(f"{prefix}-{i}")}
        for i in range(count)
    ]


# -- the stack ---------------------------------------------------------------------------------


def local_stack() -> AbstractContextManager[Any]:
    from benchmarks.stack import private_stack

    return private_stack("sync")


# -- this design -------------------------------------------------------------------------------


class Device:
    def __init__(self, store: Any, uid: str, name: str) -> None:
        self.store, self.uid, self.name = store, uid, name
        self.cursor: str | None = None
        self.more = False

    def sync(self, mutations: list[dict[str, Any]], keep: bool = True) -> tuple[int, int]:
        from shared.metering import metered
        from shared.sessions.models import SyncFocusSessionsRequest
        from shared.sessions.service import sync_focus_sessions
        from shared.wire import parse

        data = {"deviceId": self.name, "cursor": self.cursor, "mutations": mutations}
        request = parse(SyncFocusSessionsRequest, {**data, "limit": 500})
        with metered() as ops:
            answer = sync_focus_sessions(self.store, self.uid, request)
        if keep:
            self.cursor = answer.cursor
        self.more = answer.has_more
        return ops.reads, ops.billed_writes

    def drain(self) -> None:
        self.sync([])
        while self.more:
            self.sync([])


def seed(device: Any, history: int) -> None:
    for start in range(0, history, 500):
        batch = upserts(f"h{start}", min(500, history - start))
        device.sync(batch)


def ours(history: int) -> dict[str, tuple[int, int]]:
    from shared.changes import CollectingSink
    from shared.clients import firestore_client
    from shared.sessions.repository import FirestoreSessionStore

    store = FirestoreSessionStore(firestore_client(), CollectingSink())
    uid = f"bench-{uuid.uuid4().hex[:10]}"
    phone, laptop = Device(store, uid, "phone"), Device(store, uid, "laptop")
    seed(phone, history)
    phone.drain()
    laptop.drain()
    out = {"a": phone.sync([])}
    before = phone.cursor
    batch = upserts("new", MUTATIONS)
    out["b"] = phone.sync(batch)
    after = phone.cursor
    phone.cursor = before
    out["d_lost"] = phone.sync(batch, keep=False)  # the answer was lost: old cursor
    phone.cursor = after
    out["d"] = phone.sync(batch)  # the answer arrived and the batch is sent again
    phone.sync(upserts("more", 100 - MUTATIONS))
    out["c"] = laptop.sync([])
    return out


# -- the naive design --------------------------------------------------------------------------


class Naive:
    """Read each session, write it when newer plus a change-log entry; pull by scanning."""

    def __init__(self, db: Any, uid: str) -> None:
        self.db, self.uid = db, uid
        self.sessions = db.collection("users").document(uid).collection("naiveSessions")
        self.log = db.collection("users").document(uid).collection("naiveChangeLog")

    def sync(self, mutations: list[dict[str, Any]], since: datetime) -> tuple[int, int]:
        from google.cloud.firestore import SERVER_TIMESTAMP

        from shared.metering import count_query_reads, count_reads, count_writes, metered

        with metered() as ops:
            batch = self.db.batch()
            writes = 0
            for mutation in mutations:
                data = mutation["session"]
                ref = self.sessions.document(data["id"])
                snap = ref.get()
                count_reads(1)
                stored = snap.to_dict() if snap.exists else None
                if stored is None or stored["updatedAt"] < data["updatedAt"]:
                    batch.set(ref, {**data, "serverUpdatedAt": SERVER_TIMESTAMP})
                    batch.set(self.log.document(), {"id": data["id"], "at": SERVER_TIMESTAMP})
                    writes += 2
            if writes:
                count_writes(writes)
                batch.commit()
            scanned = list(self.sessions.stream())
            count_query_reads(len(scanned))
            _ = [s for s in scanned if (s.to_dict() or {}).get("serverUpdatedAt", since) > since]
        return ops.reads, ops.billed_writes


def naive(history: int) -> dict[str, tuple[int, int]]:
    from shared.clients import firestore_client

    client = Naive(firestore_client(), f"naive-{uuid.uuid4().hex[:10]}")
    for start in range(0, history, 250):
        client.sync(upserts(f"h{start}", min(250, history - start)), T0)
    now = datetime.now(UTC)
    out = {"a": client.sync([], now)}
    batch = upserts("new", MUTATIONS)
    out["b"] = client.sync(batch, now)
    out["d_lost"] = client.sync(batch, now)
    out["d"] = out["d_lost"]  # a scan costs the same from any cursor
    client.sync(upserts("more", 100 - MUTATIONS), now)
    out["c"] = client.sync([], now)
    return out


# -- latency -----------------------------------------------------------------------------------


def percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return statistics.median(ordered), p99


@dataclasses.dataclass
class Pattern:
    """One way of writing a sync's sessions, measured a round at a time: `prepare(client,
    round)` builds what the client sends, for every client before the batch starts (so that no
    client's building overlaps another's call); `work(client, round)` sends it and returns the
    client's time; `measured` turns a round's client times into the figures kept (the server's
    own `latencyMs` for the callable)."""

    name: str
    work: Callable[[int, int], float]
    measured: Callable[[list[float]], list[float]] = lambda times: times
    prepare: Callable[[int, int], None] = lambda index, round_: None


class BatchObserver(Protocol):
    """Told around each pattern's batch (after the batch's own waits)."""

    def before(self, pattern: str) -> None: ...

    def after(self, pattern: str, calls: int, kept: bool) -> None: ...


def interleaved(
    patterns: list[Pattern],
    clients: int = CLIENTS,
    rounds: int = ROUNDS,
    observer: BatchObserver | None = None,
) -> dict[str, list[list[float]]]:
    """Each pattern's samples, round by round: a warm-up round of each (not kept), then
    `rounds` times one round of each in turn, `clients` clients at once. Whatever else loads the
    machine meanwhile hits every pattern alike, so the per-round ratios are comparable."""
    out: dict[str, list[list[float]]] = {p.name: [] for p in patterns}
    with ThreadPoolExecutor(max_workers=clients) as pool:
        for round_ in range(rounds + 1):
            for pattern in patterns:
                list(pool.map(pattern.prepare, range(clients), [round_] * clients))
                if observer is not None:
                    observer.before(pattern.name)
                times = list(pool.map(pattern.work, range(clients), [round_] * clients))
                kept = pattern.measured(times)
                if observer is not None:
                    observer.after(pattern.name, calls=clients, kept=round_ > 0)
                if round_ > 0:
                    out[pattern.name].append(kept)
    return out


class BatchMeter:
    """Meters each pattern's batch: the machine's CPU per call by part of the stack, from the
    start of a batch until the mirror has applied everything it caused (Pub/Sub's deliveries,
    the consumer, PostgreSQL), so that the work a batch leaves behind is counted with it and not
    with the next pattern's batch. The benchmark's own process is `clients`: the HTTP clients,
    the in-process service, the bare commits' client.

    With `hold`, the functions' background process (the mirror consumer and the Cloud Tasks
    deliveries; in production services of their own on other machines) is stopped (SIGSTOP)
    while a batch is timed and resumed after it, so the calls timed share the cores only with
    what they wait for; its work is still metered, as it catches up after the batch."""

    def __init__(
        self, stack: Any, writes: dict[str, int], mirrored_before: int, *, hold: bool
    ) -> None:
        from sqlalchemy import create_engine

        from benchmarks.cpu import descendants
        from shared.sql.schema import sqlalchemy_url

        self._pids = stack.part_pids()
        self._held = descendants(self._pids["background"]) if hold else []
        self._engine = create_engine(sqlalchemy_url(stack.postgres_dsn), pool_size=1)
        self._writes = writes  # sessions each pattern's call has the mirror write
        self.due = mirrored_before  # sessions the mirror holds once the last batch is applied
        self._start: dict[str, float] = {}
        self.seconds: dict[str, dict[str, float]] = {}
        self.calls: dict[str, int] = {}

    def _now(self) -> dict[str, float]:
        from benchmarks.cpu import own_cpu, tree_cpu

        return {**tree_cpu(self._pids), "clients": own_cpu()}

    def _signal(self, signum: int) -> None:
        import os

        for pid in self._held:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signum)

    def before(self, pattern: str) -> None:
        self._start = self._now()
        self._signal(signal.SIGSTOP)

    def after(self, pattern: str, calls: int, kept: bool) -> None:
        from sqlalchemy import text

        from devstack.process import wait_until

        self._signal(signal.SIGCONT)
        self.due += self._writes.get(pattern, 0) * calls

        def mirrored() -> bool:
            with self._engine.connect() as conn:
                count = conn.execute(text("SELECT count(*) FROM focus_sessions")).scalar_one()
            return int(count) >= self.due

        wait_until(mirrored, timeout=120, poll=0.05, what="the mirror to catch up")
        if kept:
            end = self._now()
            total = self.seconds.setdefault(pattern, {})
            for part, used in end.items():
                total[part] = total.get(part, 0.0) + used - self._start.get(part, used)
            self.calls[pattern] = self.calls.get(pattern, 0) + calls

    def per_call_ms(self, pattern: str) -> dict[str, float]:
        calls = self.calls[pattern]
        return {part: used / calls * 1000 for part, used in self.seconds[pattern].items()}

    def close(self) -> None:
        self._signal(signal.SIGCONT)  # never leave the stack's process stopped
        self._engine.dispose()


def bare_commit_pattern() -> Pattern:
    from google.cloud.firestore import SERVER_TIMESTAMP

    from shared.clients import firestore_client

    db = firestore_client()
    run = uuid.uuid4().hex[:8]
    batches: dict[int, Any] = {}

    def prepare(index: int, round_: int) -> None:
        sessions = db.collection("users").document(f"bare-{run}-{index}").collection("sessions")
        batch = db.batch()
        for mutation in upserts(f"r{round_}", MUTATIONS):
            data = mutation["session"]
            batch.set(sessions.document(data["id"]), {**data, "serverUpdatedAt": SERVER_TIMESTAMP})
        batches[index] = batch

    def work(index: int, round_: int) -> float:
        batch = batches.pop(index)
        started = time.perf_counter()
        batch.commit()
        return time.perf_counter() - started

    return Pattern("bare", work, prepare=prepare)


def floor_pattern() -> Pattern:
    """The floor of a sync of new sessions, with nothing of ours in it: one batched read of the
    documents the sync reads (the sessions, missing, and the feed head), the bare commit of the
    writes it makes (the sessions and the head) and one publish of its change records to the
    mirror, every document, batch and message built before the batch starts."""
    from google.cloud.firestore import SERVER_TIMESTAMP

    from shared.changes import version_from_timestamp
    from shared.clients import firestore_client, publish
    from shared.sessions.models import FocusSession, Position, Stored
    from shared.sessions.repository import session_record
    from shared.sql.events import ChangeBatch, encode
    from shared.sql.publisher import MIRROR_TOPIC

    db = firestore_client()
    run = uuid.uuid4().hex[:8]
    prepared: dict[int, tuple[list[Any], Any, bytes, str]] = {}

    def prepare(index: int, round_: int) -> None:
        uid = f"floor-{run}-{index}"
        user = db.collection("users").document(uid)
        sessions = [m["session"] for m in upserts(f"r{round_}", MUTATIONS)]
        refs = [user.collection("sessions").document(data["id"]) for data in sessions]
        head = user.collection("syncState").document("sessions")
        batch = db.batch()
        for ref, data in zip(refs, sessions, strict=True):
            batch.set(ref, {**data, "serverUpdatedAt": SERVER_TIMESTAMP, "syncSeq": 1})
        batch.set(head, {"seq": 1, "updatedAt": SERVER_TIMESTAMP})
        version = version_from_timestamp(datetime.now(UTC))
        records = []
        for data in sessions:
            stored = Stored(FocusSession.model_validate(data), Position(1, data["id"]))
            records.append(session_record(uid, data["id"], stored, version))
        message = encode(ChangeBatch(records=records, emitted_at=datetime.now(UTC)))
        prepared[index] = ([*refs, head], batch, message, uid)

    def work(index: int, round_: int) -> float:
        refs, batch, message, uid = prepared.pop(index)
        started = time.perf_counter()
        list(db.get_all(refs))
        batch.commit()
        publish(MIRROR_TOPIC, [(message, {"uid": uid})])
        return time.perf_counter() - started

    return Pattern("floor", work, prepare=prepare)


def service_pattern(clients: int = CLIENTS) -> tuple[Pattern, list[Device]]:
    """In-process service calls (Firestore store, Pub/Sub change sink), and the devices."""
    from shared.clients import firestore_client
    from shared.sessions.repository import FirestoreSessionStore
    from shared.sql.publisher import PubSubChangeSink

    store = FirestoreSessionStore(firestore_client(), PubSubChangeSink())
    run = uuid.uuid4().hex[:8]
    devices = [Device(store, f"svc-{run}-{i}", "phone") for i in range(clients)]

    mutations: dict[int, list[dict[str, Any]]] = {}

    def prepare(index: int, round_: int) -> None:
        mutations[index] = upserts(f"r{round_}", MUTATIONS)

    def work(index: int, round_: int) -> float:
        started = time.perf_counter()
        devices[index].sync(mutations.pop(index))
        return time.perf_counter() - started

    return Pattern("service", work, prepare=prepare), devices


def server_time_lags(devices: list[Device]) -> list[float]:
    """How far each stored `serverUpdatedAt` (SERVER_TIMESTAMP) lies before the commit time."""
    from shared.clients import firestore_client

    db = firestore_client()
    lags: list[float] = []
    for device in devices:
        for snap in db.collection("users").document(device.uid).collection("sessions").stream():
            stored = (snap.to_dict() or {})["serverUpdatedAt"]
            lags.append((snap.update_time - stored).total_seconds() * 1000)
    return lags


def sign_up(auth_host: str) -> str:
    """A new Auth emulator user's ID token."""
    import requests

    url = f"http://{auth_host}/identitytoolkit.googleapis.com/v1/accounts:signUp?key=fake-api-key"
    body = {"email": f"{uuid.uuid4().hex[:12]}@example.com", "password": "s3cret-pass"}
    response = requests.post(url, json={**body, "returnSecureToken": True}, timeout=30)
    response.raise_for_status()
    token: str = response.json()["idToken"]
    return token


def callable_pattern(stack: Any, clients: int = CLIENTS) -> Pattern:
    """Over HTTP; what is kept is the latency each call logged at the server (`latencyMs`)."""
    import requests

    from devstack.process import wait_until

    log = stack.log_dir / "functions.log"
    tokens = [sign_up(f"127.0.0.1:{stack.ports.auth}") for _ in range(clients)]
    cursors: list[str | None] = [None] * clients
    url = f"{stack.functions_base_url}/syncFocusSessions"
    http = [requests.Session() for _ in range(clients)]

    bodies: dict[int, bytes] = {}

    def prepare(index: int, round_: int) -> None:
        mutations = upserts(f"r{round_}", MUTATIONS)
        data = {"deviceId": "phone", "cursor": cursors[index], "mutations": mutations}
        bodies[index] = json.dumps({"data": data}).encode()

    def work(index: int, round_: int) -> float:
        started = time.perf_counter()
        response = http[index].post(
            url,
            data=bodies.pop(index),
            headers={
                "Authorization": f"Bearer {tokens[index]}",
                "Content-Type": "application/json",
            },
            timeout=60,
        )
        response.raise_for_status()
        cursors[index] = response.json()["result"]["cursor"]
        return time.perf_counter() - started

    def server_lines() -> list[float]:
        out: list[float] = []
        for line in log.read_text(errors="replace").splitlines():
            if line.startswith("{"):
                entry = json.loads(line)
                if entry.get("function") == "syncFocusSessions" and entry.get("outcome") == "OK":
                    out.append(float(entry["latencyMs"]) / 1000)
        return out

    seen = [len(server_lines())]  # lines of earlier patterns' calls are not this one's

    def measured(times: list[float]) -> list[float]:
        # Each answered call has logged its line, or is about to: wait for all of this round's.
        lines: list[float] = []

        def logged() -> bool:
            lines[:] = server_lines()
            return len(lines) >= seen[0] + len(times)

        wait_until(logged, timeout=30, what="the round's log lines")
        kept = lines[seen[0] : seen[0] + len(times)]
        seen[0] += len(times)
        return kept

    return Pattern("server", work, measured, prepare)


# -- report ------------------------------------------------------------------------------------

ROWS = [
    ("a", "empty pull (nothing new)"),
    ("b", f"push of {MUTATIONS} new sessions (cursor up to date)"),
    ("c", "pull of 100 changes"),
    ("d", f"replay of an applied batch of {MUTATIONS} (answer received)"),
    ("d_lost", f"replay of an applied batch of {MUTATIONS} (answer lost: old cursor)"),
]


# Parts of the stack in the CPU table, in the order of a call's path, and their labels.
PARTS = {
    "clients": "the benchmark's process (clients; the in-process service itself)",
    "functions": "functions process (the apps' calls)",
    "firestore": "Firestore emulator",
    "pubsub": "Pub/Sub emulator",
    "background": "functions process (Pub/Sub pushes: the mirror consumer; tasks)",
    "postgres": "PostgreSQL",
    "tasks": "Cloud Tasks emulator",
}


def cpu_table(cpu: BatchMeter) -> list[str]:
    names = ("bare", "floor", "service", "server")
    split = {name: cpu.per_call_ms(name) for name in names}
    total = {name: sum(parts.values()) for name, parts in split.items()}
    lines = [
        "Where the machine's CPU goes, in ms of CPU per call by part of the stack (each part's "
        "processes with their children, from the start of a batch until the mirror has applied "
        "what it caused, so that nothing a batch leaves behind is counted with the next one; "
        "the run with the background held, whose work is counted as it catches up):",
        "",
        "| part | bare commit | floor (read, commit, publish) | sync in-process | "
        "`syncFocusSessions` at the server |",
        "|---|---:|---:|---:|---:|",
    ]
    others = {part for parts in split.values() for part in parts} - set(PARTS)
    for part in [*PARTS, *sorted(others)]:
        cells = [f"{split[name].get(part, 0.0):.1f}" for name in names]
        lines.append(f"| {PARTS.get(part, part)} | " + " | ".join(cells) + " |")
    lines.append(
        "| **all** | "
        + " | ".join(
            f"**{total[name]:.1f}**"
            + ("" if name == "bare" else f" ({total[name] / total['bare']:.1f}x)")
            for name in names
        )
        + " |"
    )
    return lines


def spread(ratios: list[float]) -> str:
    return f"{statistics.median(ratios):.1f} ({min(ratios):.1f}-{max(ratios):.1f})"


# The two ways the latency is measured: the functions' background work held while a batch is
# timed (as deployed, where it runs on machines of its own), or sharing the cores with it.
MODES = {True: "background held while timed", False: "background sharing the cores"}


@dataclasses.dataclass
class LatencyRun:
    rounds: dict[str, list[list[float]]]
    meter: BatchMeter

    def samples(self, pattern: str) -> list[float]:
        return [x for round_ in self.rounds[pattern] for x in round_]

    def per_round(self, pattern: str) -> list[float]:
        """Each round's p50 of `pattern` over the bare commit's p50 of the same round."""
        return sorted(
            statistics.median(mine) / statistics.median(base)
            for mine, base in zip(self.rounds[pattern], self.rounds["bare"], strict=True)
        )


def latency_rows(run: LatencyRun, mode: str) -> list[str]:
    b50, b99 = percentiles(run.samples("bare"))
    rows = [
        f"| {mode} | bare Firestore commit of the same {MUTATIONS} writes | {b50 * 1000:.1f} ms | "
        f"{b99 * 1000:.1f} ms | 1.0 | 1.0 | 1.0 |"
    ]
    labels = {
        "floor": f"floor: one batched read of the {MUTATIONS + 1} documents, the bare commit of "
        f"the {MUTATIONS + 1} writes, one publish of the change records",
        "service": "sync service in-process (read, decide, commit, publish to Pub/Sub)",
        "server": "`syncFocusSessions` at the server (`latencyMs`: auth, parse, the above, "
        "push hook)",
    }
    for name, label in labels.items():
        p50, p99 = percentiles(run.samples(name))
        rows.append(
            f"| {mode} | {label} | {p50 * 1000:.1f} ms | {p99 * 1000:.1f} ms | {p50 / b50:.1f} | "
            f"{p99 / b99:.1f} | {spread(run.per_round(name))} |"
        )
    return rows


def floor_ratios(runs: dict[bool, LatencyRun]) -> list[str]:
    """The sync's p50 over the floor's, per mode: what is ours beyond what any design pays."""
    parts = []
    for hold, mode in MODES.items():
        floor = statistics.median(runs[hold].samples("floor"))
        bare = statistics.median(runs[hold].samples("bare"))
        ours = ", ".join(
            f"{label} {statistics.median(runs[hold].samples(name)) / floor:.1f}x"
            for name, label in (("service", "in process"), ("server", "at the server"))
        )
        parts.append(f"{mode}: the floor is {floor / bare:.1f}x the bare commit; the sync {ours}")
    return [
        "The floor is what any sync of new sessions pays on this stack, whatever its code: the "
        "read, the commit and the publish it cannot do without, each built in advance. Over "
        "it, at p50: " + "; ".join(parts) + "."
    ]


def run() -> str:
    with local_stack() as stack:
        counts = {h: (ours(h), naive(h)) for h in HISTORIES}
        alone_service, _ = service_pattern(1)
        alone = interleaved([bare_commit_pattern(), alone_service], clients=1, rounds=ALONE)
        # Each call of these has the mirror write its sessions; the bare commit none.
        writes = {"floor": MUTATIONS, "service": MUTATIONS, "server": MUTATIONS}
        mirrored = (ALONE + 1) * MUTATIONS
        runs: dict[bool, LatencyRun] = {}
        lags: list[float] = []
        for hold in MODES:
            # New users for each mode: every sync sends new sessions.
            service, devices = service_pattern()
            meter = BatchMeter(stack, writes, mirrored, hold=hold)
            try:
                patterns = [
                    bare_commit_pattern(),
                    floor_pattern(),
                    service,
                    callable_pattern(stack),
                ]
                runs[hold] = LatencyRun(interleaved(patterns, observer=meter), meter)
            finally:
                meter.close()
            mirrored = meter.due
            lags += server_time_lags(devices)
    alone_bare, alone_sync = ([x for r in alone[name] for x in r] for name in ("bare", "service"))

    lines = [
        "## Sessions sync",
        "",
        "Billed Firestore operations per call, counted by `shared.metering` on the emulator, as "
        "reads / writes. *This design*: docs/SYNC.md. *Naive*: read each session before "
        "writing it, write it plus a change-log entry, pull by scanning all the user's "
        "sessions. *History* is how many sessions the user already has. The callable's "
        "deleted-account check adds nothing to this design's counts where the user has a feed "
        "head (the deletion copies its time onto the head the sync reads anyway) and one read "
        "where there is none (a user's first sync); to the naive design, one read per call.",
        "",
        "| call | "
        + " | ".join(f"this design, history {h:,} | naive, history {h:,}" for h in HISTORIES)
        + " |",
        "|---|" + "---|---|" * len(HISTORIES),
    ]
    for key, label in ROWS:
        cells = []
        for h in HISTORIES:
            mine, theirs = counts[h]
            cells += [f"{mine[key][0]} / {mine[key][1]}", f"{theirs[key][0]} / {theirs[key][1]}"]
        lines.append(f"| ({key[0]}) {label} | " + " | ".join(cells) + " |")
    lag50, lagmax = percentiles(lags)[0], max(lags)
    lines += [
        "",
        f"Latency of a sync of {MUTATIONS} new sessions, {CLIENTS} concurrent clients (one user "
        f"each), on the emulator: {ROUNDS} rounds after a warm-up, each round one batch of "
        f"{CLIENTS} concurrent calls of each pattern in turn, so that the machine's load hits "
        "them alike; what each client sends (the bare commit's batch, the request) is built "
        "before its batch starts, and after each batch the mirror catches up before the next "
        "starts. *Per "
        "round*: the pattern's p50 over the bare commit's p50 of the same round, median and "
        "range over the rounds. Measured twice, with new users: *background held* stops the "
        "functions' background process (the mirror consumer, the Cloud Tasks deliveries: "
        "services on machines of their own when deployed) while a batch is timed, so the calls "
        "share the two cores only with what they wait for; *sharing the cores* leaves it "
        "running, so a sync's own mirror work competes with it on this machine.",
        "",
        "| mode | measured | p50 | p99 | p50 ratio | p99 ratio | "
        "p50 ratio per round: median (range) |",
        "|---|---|---|---|---|---|---|",
    ]
    for hold, mode in MODES.items():
        lines += latency_rows(runs[hold], mode)
    lines += ["", *floor_ratios(runs)]
    lines += [
        "",
        *cpu_table(runs[True].meter),
        "",
        "All of it shares one 2-core machine with the emulators (Java), the functions' two "
        "processes (the apps' calls; Pub/Sub pushes and tasks) and the clients, so ratios mean "
        "more than absolute times. Beyond the commit, a sync makes a batched read of the "
        "sessions and the feed head, which also carries the deleted-account check at the server "
        "(one streamed message per document), "
        "builds the write protobufs (directly, shared/fs_encode.py; the bare commit is timed "
        "from a batch already built) and waits for Pub/Sub to acknowledge the change records "
        "(one Publish call). With a "
        f"single client the bare commit takes {statistics.median(alone_bare) * 1000:.1f} ms "
        f"and the in-process sync {statistics.median(alone_sync) * 1000:.1f} ms (p50).",
        "",
        BEFORE,
        "",
        f"`serverUpdatedAt` written as SERVER_TIMESTAMP lay before the document's commit time "
        f"by {lag50:.0f} ms (median) and up to {lagmax:.0f} ms over these writes: why the feed "
        "is ordered by a per-user sequence rather than by that field (docs/SYNC.md).",
    ]
    return "\n".join(lines)
