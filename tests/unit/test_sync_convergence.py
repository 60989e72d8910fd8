"""Property: whatever devices do offline and however their syncs interleave, they converge.

Random programs of 2-4 devices edit and delete a few sessions offline (clocks that tie and go
backwards, incoherent edits), sync with small pages, lose answers (the mutations are replayed
later), send batches twice as two processes would, and send their outboxes reordered. After a
final round of syncs, every device holds the same sessions, equal to a plain reference model of
last-writer-wins computed here without the production code.

The same program runner drives the Firestore store in
tests/integration/test_sync_convergence_firestore.py.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from shared.sessions.memory import InMemorySessionStore
from shared.sessions.models import SyncFocusSessionsRequest
from shared.sessions.service import sync_focus_sessions
from shared.wire import parse

DEVICE_NAMES = ["a", "b", "B", "ab"]  # "B" < "a" < "ab" < "b" byte-wise
SESSION_IDS = ["s1", "s2"]
BASE = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)

Server = Callable[[str, str | None, list[dict[str, Any]], int], dict[str, Any]]


def stamp(minutes: int) -> str:
    return (BASE + timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%S.000Z")


# -- programs ----------------------------------------------------------------------------------

edits = st.tuples(
    st.just("edit"),
    st.integers(0, 3),  # device index
    st.sampled_from(SESSION_IDS),
    st.integers(0, 4),  # updatedAt minute: ties are likely
    st.sampled_from(["x", "y", None]),  # label
    st.sampled_from(["running", "completed", "incoherent"]),
)
deletes = st.tuples(
    st.just("delete"), st.integers(0, 3), st.sampled_from(SESSION_IDS), st.integers(0, 4)
)
syncs = st.tuples(
    st.just("sync"),
    st.integers(0, 3),
    st.integers(1, 4),  # limit
    st.booleans(),  # the answer reaches the device
    st.sampled_from(["all", "reversed", "first"]),  # which part of the outbox, in which order
    st.booleans(),  # the same request is sent twice (two processes retrying)
)
programs = st.tuples(
    st.integers(2, 4), st.lists(st.one_of(edits, deletes, syncs), min_size=1, max_size=30)
)


@dataclasses.dataclass
class Device:
    name: str
    local: dict[str, dict[str, Any]] = dataclasses.field(default_factory=dict)
    outbox: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    cursor: str | None = None
    sent: int = 0

    def mutation_id(self) -> str:
        self.sent += 1
        return f"{self.name}-{self.sent}"


def session(sid: str, device: str, minute: int, label: str | None, kind: str) -> dict[str, Any]:
    ended = {"running": None, "completed": stamp(30), "incoherent": None}[kind]
    return {
        "id": sid,
        "startedAt": stamp(-60),
        "plannedEndAt": None,
        "endedAt": ended,
        "status": "running" if kind == "running" else "completed",
        "label": label,
        "blockedApps": ["com.example.social"],
        "scheduleId": None,
        "updatedAt": stamp(minute),
        "deviceId": device,
    }


class Reference:
    """Last writer wins, plainly: per session keep the greatest (updatedAt, deviceId bytes,
    delete-beats-upsert, content) of every coherent mutation ever made."""

    def __init__(self) -> None:
        self.best: dict[str, tuple[Any, ...]] = {}

    def offer(self, sid: str, key: tuple[Any, ...]) -> None:
        if sid not in self.best or key > self.best[sid]:
            self.best[sid] = key

    def upsert(self, data: dict[str, Any]) -> None:
        content = json.dumps(data, sort_keys=True, separators=(",", ":")).encode()
        self.offer(data["id"], (data["updatedAt"], data["deviceId"].encode(), 0, content, data))

    def delete(self, sid: str, minute: int, device: str) -> None:
        self.offer(sid, (stamp(minute), device.encode(), 1, b"", None))

    def live(self) -> dict[str, dict[str, Any]]:
        return {sid: key[4] for sid, key in self.best.items() if key[4] is not None}


def apply_answer(device: Device, answer: dict[str, Any]) -> None:
    ids = [c["id"] for c in answer["changes"]]
    assert len(ids) == len(set(ids)), "a session appears twice in one answer"
    for change in answer["changes"]:
        if change.get("deleted"):
            device.local.pop(change["id"], None)
        else:
            device.local[change["id"]] = change
    device.cursor = answer["cursor"]


def sync(
    device: Device, server: Server, limit: int, batch: list[dict[str, Any]], twice: bool
) -> dict[str, Any]:
    answer = server(device.name, device.cursor, batch, limit)
    if twice:
        again = server(device.name, device.cursor, batch, limit)
        assert again["applied"] == answer["applied"]
        assert again["rejected"] == answer["rejected"]
        answer = again
    sent = [m["mutationId"] for m in batch]
    taken = answer["applied"] + [r["mutationId"] for r in answer["rejected"]]
    assert sorted(taken) == sorted(sent), "every mutation is applied or rejected"
    for rejection in answer["rejected"]:
        assert rejection["code"] == "invalid-argument"
    return answer


def run_step(devices: list[Device], server: Server, reference: Reference, step: Any) -> None:
    device = devices[step[1] % len(devices)]
    if step[0] == "edit":
        _, _, sid, minute, label, kind = step
        data = session(sid, device.name, minute, label, kind)
        device.outbox.append({"mutationId": device.mutation_id(), "op": "upsert", "session": data})
        if kind != "incoherent":
            reference.upsert(data)
            device.local[sid] = data  # optimistic local edit, as an app shows it
    elif step[0] == "delete":
        _, _, sid, minute = step
        mutation = {"mutationId": device.mutation_id(), "op": "delete", "id": sid}
        device.outbox.append({**mutation, "updatedAt": stamp(minute)})
        reference.delete(sid, minute, device.name)
        device.local.pop(sid, None)
    else:
        _, _, limit, delivered, part, twice = step
        batch = {
            "all": list(device.outbox),
            "reversed": list(reversed(device.outbox)),
            "first": device.outbox[:1],
        }[part]
        answer = sync(device, server, limit, batch, twice)
        if delivered:
            done = {m["mutationId"] for m in batch}
            device.outbox = [m for m in device.outbox if m["mutationId"] not in done]
            apply_answer(device, answer)


def sync_until_done(device: Device, server: Server) -> None:
    """Send what is left, then read until nothing more (pages of one, to page a lot)."""
    for _ in range(200):
        answer = sync(device, server, 1, list(device.outbox), False)
        device.outbox = []
        apply_answer(device, answer)
        if not answer["hasMore"]:
            return
    raise AssertionError("hasMore never became false")


def run_program(server: Server, program: tuple[int, list[tuple[Any, ...]]]) -> None:
    count, steps = program
    devices = [Device(name) for name in DEVICE_NAMES[:count]]
    reference = Reference()
    for step in steps:
        run_step(devices, server, reference, step)
    # Everyone comes online, twice round (the first round's writes reach the earlier devices
    # in the second), and a fresh device reads everything.
    for _ in range(2):
        for device in devices:
            sync_until_done(device, server)
    observer = Device("observer")
    sync_until_done(observer, server)
    expected = reference.live()
    assert observer.local == expected
    for device in devices:
        assert device.local == expected, f"device {device.name} diverged"


def service_server(store: Any, uid: str) -> Server:
    def call(
        device: str, cursor: str | None, mutations: list[dict[str, Any]], limit: int
    ) -> dict[str, Any]:
        request = parse(
            SyncFocusSessionsRequest,
            {"deviceId": device, "cursor": cursor, "mutations": mutations, "limit": limit},
        )
        result: dict[str, Any] = sync_focus_sessions(store, uid, request).to_wire()
        return result

    return call


# A device whose optimistic edit was overwritten by an older version from the server, and whose
# edit then wins: only its own accepted write in the answer brings it back.
OWN_WRITE_MUST_COME_BACK = (
    2,
    [
        ("edit", 1, "s1", 2, "x", "running"),
        ("sync", 1, 4, True, "all", False),
        ("edit", 0, "s2", 0, None, "running"),
        ("edit", 0, "s1", 4, "x", "running"),
        ("sync", 0, 4, True, "first", False),
    ],
)
# A lost answer, then a replay of the same batch reordered, with a tie a delete must win.
REPLAY_AND_TIE = (
    3,
    [
        ("edit", 0, "s1", 1, "x", "completed"),
        ("delete", 2, "s1", 1),
        ("sync", 0, 1, False, "all", True),
        ("sync", 2, 1, True, "reversed", False),
        ("edit", 1, "s1", 1, "y", "incoherent"),
        ("sync", 0, 2, True, "reversed", True),
    ],
)


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(programs)
@example(OWN_WRITE_MUST_COME_BACK)
@example(REPLAY_AND_TIE)
def test_devices_converge_to_last_writer_wins(program: tuple[int, list[tuple[Any, ...]]]) -> None:
    run_program(service_server(InMemorySessionStore(), "alice"), program)
