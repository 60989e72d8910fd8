"""`sync_focus_sessions` on the in-memory store: the semantics API.md promises, case by case."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from shared.changes import CollectingSink
from shared.sessions.cursor import Cursor, decode_cursor, encode_cursor
from shared.sessions.memory import InMemorySessionStore
from shared.sessions.models import Position, SyncFocusSessionsRequest
from shared.sessions.service import (
    MAX_BYTES_PER_COMMIT,
    MAX_SESSIONS_PER_COMMIT,
    commit_groups,
    purge_tombstones,
    sync_focus_sessions,
)
from shared.wire import parse
from tests.support.sync_payloads import T0, session, stamp
from tests.support.sync_payloads import delete as rm
from tests.support.sync_payloads import upsert as up


class Harness:
    def __init__(self) -> None:
        self.sink = CollectingSink()
        self.store = InMemorySessionStore(self.sink)
        self.notified: list[tuple[str, str]] = []

    def sync(
        self,
        mutations: list[dict[str, Any]] | None = None,
        cursor: str | None = None,
        device: str = "phone",
        uid: str = "alice",
        limit: int = 200,
    ) -> dict[str, Any]:
        request = parse(
            SyncFocusSessionsRequest,
            {"deviceId": device, "cursor": cursor, "mutations": mutations or [], "limit": limit},
        )
        result = sync_focus_sessions(
            self.store,
            uid,
            request,
            notify_other_devices=lambda u, d: self.notified.append((u, d)),
        )
        out: dict[str, Any] = result.to_wire()
        return out


def ids(answer: dict[str, Any]) -> list[str]:
    return [c["id"] for c in answer["changes"]]


def test_push_then_another_device_pulls() -> None:
    h = Harness()
    first = h.sync([up("m1", "s1"), up("m2", "s2")])
    assert first["applied"] == ["m1", "m2"]
    assert first["rejected"] == []
    assert ids(first) == ["s1", "s2"]  # own accepted writes, latest versions
    assert first["hasMore"] is False
    assert h.notified == [("alice", "phone")]

    tablet = h.sync(device="tablet")
    assert tablet["changes"] == [session("s1"), session("s2")]
    again = h.sync(cursor=tablet["cursor"], device="tablet")
    assert again["changes"] == []
    assert again["cursor"] == tablet["cursor"]


def test_replay_changes_nothing_and_is_applied_again() -> None:
    h = Harness()
    batch = [up("m1", "s1"), rm("m2", "s2", 3)]
    first = h.sync(batch)
    writes = h.store.writes
    replay = h.sync(batch)  # the first answer was lost: same cursor
    assert replay["applied"] == first["applied"] == ["m1", "m2"]
    assert replay["changes"] == first["changes"]
    assert h.store.writes == writes
    assert h.notified == [("alice", "phone")]  # nothing new: no push to other devices
    # Replaying with the cursor of the answer (it did arrive) returns nothing new.
    assert h.sync(batch, cursor=first["cursor"])["changes"] == []


def test_an_older_mutation_is_applied_but_answered_with_the_winner() -> None:
    h = Harness()
    h.sync([up("t1", "s1", minute=5, device="tablet", label="tablet")], device="tablet")
    phone = h.sync()
    assert ids(phone) == ["s1"]
    older = h.sync([up("p1", "s1", minute=2, label="phone")], cursor=phone["cursor"])
    assert older["applied"] == ["p1"]
    assert older["changes"] == [session("s1", 5, "tablet", label="tablet")]
    assert decode_cursor(older["cursor"]) == decode_cursor(phone["cursor"])  # nothing written


def test_several_mutations_of_one_session_fold_into_one_write() -> None:
    h = Harness()
    answer = h.sync([up("a", "s1", 1), up("b", "s1", 3, label="x"), up("c", "s1", 2)])
    assert answer["applied"] == ["a", "b", "c"]
    assert answer["changes"] == [session("s1", 3, label="x")]
    assert h.store.writes == 2  # one session + the feed head


def test_delete_wins_a_tie_and_leaves_a_tombstone() -> None:
    h = Harness()
    h.sync([up("m1", "s1", 4)])
    tablet = h.sync([rm("d1", "s1", 4)], device="phone")  # same updatedAt and device
    assert tablet["changes"] == [{"id": "s1", "deleted": True, "updatedAt": stamp(4)}]
    other = h.sync(device="laptop")
    assert other["changes"] == [{"id": "s1", "deleted": True, "updatedAt": stamp(4)}]
    # A later edit brings the session back.
    back = h.sync([up("m2", "s1", 5)], cursor=other["cursor"], device="laptop")
    assert back["changes"] == [session("s1", 5)]


def test_delete_of_an_unknown_session_is_remembered() -> None:
    h = Harness()
    h.sync([rm("d1", "s9", 5)], device="tablet")
    late = h.sync([up("m1", "s9", 2)])  # created offline earlier, arrives after the delete
    assert late["applied"] == ["m1"]
    assert late["changes"] == [{"id": "s9", "deleted": True, "updatedAt": stamp(5)}]


def test_incoherent_mutations_are_rejected_alone() -> None:
    h = Harness()
    answer = h.sync(
        [
            up("ok", "s1"),
            up("bad", "s2", status="completed"),
            up("bad2", "s3", endedAt=stamp(0)),
            rm("del", "s4"),
        ]
    )
    assert answer["applied"] == ["ok", "del"]
    assert [(r["mutationId"], r["code"]) for r in answer["rejected"]] == [
        ("bad", "invalid-argument"),
        ("bad2", "invalid-argument"),
    ]
    assert "endedAt" in answer["rejected"][0]["message"]
    assert sorted(h.store.sessions("alice")) == ["s1", "s4"]
    published, notified = len(h.sink.records), list(h.notified)
    replay = h.sync([up("bad", "s2", status="completed")])
    assert replay["rejected"] == answer["rejected"][:1]  # a replay is rejected again, identically
    # ... and, like the first time, it stores, publishes and wakes nothing.
    assert replay["applied"] == []
    assert sorted(h.store.sessions("alice")) == ["s1", "s4"]
    assert len(h.sink.records) == published
    assert h.notified == notified


def test_paging_with_limit_and_has_more() -> None:
    h = Harness()
    h.sync([up(f"m{i}", f"s{i:02d}") for i in range(7)], device="tablet")
    seen: list[str] = []
    cursor = None
    for _ in range(10):
        page = h.sync(cursor=cursor, limit=3)
        assert len(page["changes"]) <= 3
        seen += ids(page)
        cursor = page["cursor"]
        if not page["hasMore"]:
            break
    assert seen == [f"s{i:02d}" for i in range(7)]


def test_users_are_separate() -> None:
    h = Harness()
    h.sync([up("m1", "s1", label="alice's")], uid="alice")
    bob = h.sync([up("m1", "s1", 9, label="bob's")], uid="bob")
    assert bob["changes"] == [session("s1", 9, label="bob's")]
    assert h.sync(uid="alice")["changes"] == [session("s1", label="alice's")]


def test_a_cursor_of_an_erased_feed_starts_over() -> None:
    h = Harness()
    old = h.sync([up("m1", "s1"), up("m2", "s2"), up("m3", "s3")])
    h.store.erase("alice")  # the account was deleted; the same uid comes back
    h.sync([up("n1", "n1")], device="tablet")
    resumed = h.sync(cursor=old["cursor"])
    assert ids(resumed) == ["n1"]


def test_a_cursor_beyond_the_feed_starts_over() -> None:
    h = Harness()
    first = h.sync([up("m1", "s1")])
    epoch = decode_cursor(first["cursor"]).epoch
    forged = encode_cursor(Cursor(epoch, Position(99, "")))
    assert ids(h.sync(cursor=forged)) == ["s1"]


def test_losing_versions_come_back_even_beyond_the_limit() -> None:
    h = Harness()
    h.sync([up(f"t{i}", f"s{i}", 9, device="tablet") for i in range(3)], device="tablet")
    mine = h.sync()
    losing = h.sync([up(f"p{i}", f"s{i}", 1) for i in range(3)], cursor=mine["cursor"], limit=2)
    assert ids(losing) == ["s0", "s1", "s2"]
    assert losing["hasMore"] is False  # the cursor was at the end of the feed already
    # From behind, the winners fill the answer and the feed is read on the next call.
    behind = h.sync([up(f"p{i}", f"s{i}", 1) for i in range(3)], limit=2, device="laptop")
    assert ids(behind) == ["s0", "s1", "s2"]
    assert behind["hasMore"] is True
    rest = h.sync(cursor=behind["cursor"], limit=2, device="laptop")
    assert ids(rest) == ["s0", "s1"]


def test_change_records_for_writes_and_again_for_replays() -> None:
    h = Harness()
    batch = [up("m1", "s1"), rm("m2", "s2")]
    h.sync(batch)
    first = [(r.id, r.op, r.data["deleted"] if r.data else None) for r in h.sink.records]
    assert first == [("s1", "upsert", False), ("s2", "upsert", True)]
    count = len(h.sink.records)
    h.sync(batch)
    assert [r.model_dump() for r in h.sink.records[count:]] == [
        r.model_dump() for r in h.sink.records[:count]
    ]


def test_times_before_the_year_1000_come_back_as_they_were_sent() -> None:
    """RFC 3339 writes four digits of year: the apps and the mirror parse what they are sent."""
    h = Harness()
    early = {"startedAt": "0005-01-02T03:04:05.678Z", "updatedAt": "0005-01-02T04:00:00.000Z"}
    sent = session("s1") | early
    h.sync([{"mutationId": "m1", "op": "upsert", "session": sent}])
    tablet = h.sync(device="tablet")
    assert tablet["changes"] == [sent]
    (record,) = h.sink.records
    assert record.data is not None
    assert record.data["startedAt"] == early["startedAt"]
    assert record.data["updatedAt"] == early["updatedAt"]


def test_purge_removes_only_expired_tombstones() -> None:
    h = Harness()
    h.sync([rm("d1", "gone"), up("m1", "kept")])
    assert purge_tombstones(h.store, T0 + timedelta(days=20), 5).purged == 0
    outcome = purge_tombstones(h.store, datetime.now(UTC) + timedelta(days=32), 5)
    assert outcome.purged == 1
    assert sorted(h.store.sessions("alice")) == ["kept"]
    assert h.sink.records[-1].op == "delete"


def test_commit_groups_respect_both_limits() -> None:
    assert commit_groups({}) == []
    assert commit_groups({"a": 10, "b": 10}) == [["a", "b"]]
    many = {f"s{i}": 100 for i in range(MAX_SESSIONS_PER_COMMIT + 1)}
    assert [len(g) for g in commit_groups(many)] == [MAX_SESSIONS_PER_COMMIT, 1]
    big = {f"s{i}": MAX_BYTES_PER_COMMIT // 3 for i in range(5)}
    assert [len(g) for g in commit_groups(big)] == [3, 2]


def test_big_requests_commit_in_groups_and_answers_stay_small() -> None:
    h = Harness()
    apps = [f"com.example.app{i:03d}.{'x' * 230}" for i in range(500)]
    batch = [up(f"m{i}", f"s{i:03d}", blockedApps=apps) for i in range(80)]
    answer = h.sync(batch, limit=500)
    assert answer["applied"] == [m["mutationId"] for m in batch]
    assert decode_cursor(answer["cursor"]).position.seq >= 2  # more than one commit

    seen: list[str] = []
    cursor = None
    for _ in range(10):
        page = h.sync(cursor=cursor, device="tablet", limit=500)
        assert len(json.dumps(page)) < 10 * 1024 * 1024
        seen += ids(page)
        cursor = page["cursor"]
        if not page["hasMore"]:
            break
    assert seen == [f"s{i:03d}" for i in range(80)]


def _guarded(h: Harness, mutations: list[dict[str, Any]], signed_in: datetime) -> Any:
    from shared.accounts.deletion import DeletionGuard

    guard = DeletionGuard("alice", signed_in)
    request = parse(SyncFocusSessionsRequest, {"deviceId": "phone", "mutations": mutations})
    sync_focus_sessions(h.store, "alice", request, guard=guard)
    return guard


def test_the_deleted_account_guard_is_applied_from_the_feed_head_of_a_push_and_of_a_pull() -> None:
    import pytest

    from shared.errors import Unauthenticated

    h = Harness()
    h.sync([up("m1", "s1")])
    h.store.mark_deleted("alice", T0)
    before = h.store.reads
    for mutations in ([up("m2", "s2")], []):  # a push, then a pull
        with pytest.raises(Unauthenticated):
            _guarded(h, mutations, T0 - timedelta(minutes=5))
    assert set(h.store.sessions("alice")) == {"s1"}  # the refused push wrote nothing
    assert h.store.reads - before == (1 + 1) + 1  # s2 + head, head: the head told, no marker
    # A sign-in after the deletion (the account was created again) passes, the guard applied.
    for mutations in ([up("m3", "s3")], []):
        assert _guarded(h, mutations, T0 + timedelta(seconds=1)).checked
    assert set(h.store.sessions("alice")) == {"s1", "s3"}


def test_without_a_feed_head_the_guard_reads_the_marker_and_a_new_head_keeps_it() -> None:
    import pytest

    from shared.errors import Unauthenticated

    h = Harness()
    h.sync([up("m1", "s1")])
    h.store.mark_deleted("alice", T0)
    h.store.erase("alice")  # erased: no head, the marker alone remembers
    before = h.store.reads
    for mutations in ([up("m2", "s2")], []):
        with pytest.raises(Unauthenticated):
            _guarded(h, mutations, T0 - timedelta(minutes=5))
    assert h.store.sessions("alice") == {}
    assert h.store.reads - before == (1 + 1 + 1) + (1 + 1)  # s2 + head + marker, head + marker
    # The account is made again; its first push creates the head, which keeps the deletion,
    # so the old tokens stay refused with no marker read.
    assert _guarded(h, [up("n1", "n1")], T0 + timedelta(seconds=1)).checked
    before = h.store.reads
    for mutations in ([up("m4", "s4")], []):
        with pytest.raises(Unauthenticated):
            _guarded(h, mutations, T0 - timedelta(minutes=5))
    assert h.store.reads - before == (1 + 1) + 1
    assert set(h.store.sessions("alice")) == {"n1"}


def test_the_guard_is_read_once_however_many_commits_a_push_takes() -> None:
    many = [up(f"m{i}", f"s{i}") for i in range(MAX_SESSIONS_PER_COMMIT + 1)]
    unguarded, guarded = Harness(), Harness()
    unguarded.sync(many)
    assert _guarded(guarded, many, T0).checked
    # Two commit groups, each reading its sessions and the head: the marker once, before the
    # first commit made the head.
    assert guarded.store.reads == unguarded.store.reads + 1
