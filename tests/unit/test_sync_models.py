"""Pure rules of sync: request parsing, coherence, the version order, cursors, the feed plan."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from shared.errors import InvalidArgument
from shared.sessions.cursor import BEGINNING, Cursor, decode_cursor, encode_cursor
from shared.sessions.feed import FeedRead, assemble, plan_read, start_position
from shared.sessions.models import (
    START,
    FocusSession,
    Head,
    Position,
    Stored,
    SyncFocusSessionsRequest,
    Tombstone,
    compare,
    document_id,
    incoherence,
    newest,
    purge_at,
    version_key,
)
from shared.wire import parse

T0 = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)


def wire_session(**overrides: Any) -> dict[str, Any]:
    return {
        "id": "s1",
        "startedAt": "2026-11-22T08:00:00.000Z",
        "plannedEndAt": None,
        "endedAt": None,
        "status": "running",
        "label": None,
        "blockedApps": [],
        "scheduleId": None,
        "updatedAt": "2026-11-22T09:00:00.000Z",
        "deviceId": "phone",
        **overrides,
    }


def request(mutations: list[dict[str, Any]], **data: Any) -> SyncFocusSessionsRequest:
    return parse(
        SyncFocusSessionsRequest,
        {"deviceId": "phone", "cursor": None, "mutations": mutations, **data},
    )


def upsert(mid: str = "m1", **session: Any) -> dict[str, Any]:
    return {"mutationId": mid, "op": "upsert", "session": wire_session(**session)}


def focus(**overrides: Any) -> FocusSession:
    return parse(FocusSession, wire_session(**overrides))


# -- parsing -----------------------------------------------------------------------------------


def test_a_full_request_parses_with_defaults() -> None:
    minimal = {k: v for k, v in wire_session().items() if v is not None and v != []}
    parsed = request([{"mutationId": "m", "op": "upsert", "session": minimal}])
    assert parsed.limit == 200
    assert parsed.cursor is None
    session = parsed.mutations[0].session
    assert session is not None
    assert session.to_wire() == wire_session()  # omitted nullable fields come back as null


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"mutations": [upsert(id="has space")]}, "data.mutations[0].session.id"),
        ({"mutations": [upsert(id="x" * 65)]}, "data.mutations[0].session.id"),
        ({"mutations": [upsert(status="paused")]}, "data.mutations[0].session.status"),
        ({"mutations": [upsert(label="x" * 121)]}, "data.mutations[0].session.label"),
        ({"mutations": [upsert(label="\ud800")]}, "data.mutations[0].session.label"),
        ({"mutations": [upsert(blockedApps=["a"] * 501)]}, "data.mutations[0].session.blockedApps"),
        ({"mutations": [upsert(blockedApps=[""])]}, "data.mutations[0].session.blockedApps[0]"),
        ({"mutations": [upsert(updatedAt="yesterday")]}, "data.mutations[0].session.updatedAt"),
        (
            {"mutations": [upsert(updatedAt="2026-11-22T09:00:00")]},
            "data.mutations[0].session.updatedAt:",
        ),
        ({"mutations": [upsert(deviceId="")]}, "data.mutations[0].session.deviceId"),
        ({"mutations": [upsert(surprise=1)]}, "data.mutations[0].session.surprise"),
        ({"mutations": [{"mutationId": "m", "op": "upsert"}]}, "data.mutations[0]"),
        ({"mutations": [{"mutationId": "m", "op": "delete", "id": "s1"}]}, "data.mutations[0]"),
        (
            {
                "mutations": [
                    {
                        "mutationId": "",
                        "op": "delete",
                        "id": "s",
                        "updatedAt": "2026-11-22T09:00:00Z",
                    }
                ]
            },
            "data.mutations[0].mutationId",
        ),
        ({"mutations": [{"mutationId": "m", "op": "patch"}]}, "data.mutations[0].op"),
        ({"mutations": [upsert(f"m{i}", id=f"s{i}") for i in range(501)]}, "data.mutations"),
        ({"mutations": [], "limit": 0}, "data.limit"),
        ({"mutations": [], "limit": 501}, "data.limit"),
        ({"mutations": [], "limit": "5"}, "data.limit"),
        ({"mutations": [], "limit": True}, "data.limit"),
        ({"mutations": [], "deviceId": "d" * 129}, "data.deviceId"),
        ({"mutations": [], "cursor": 5}, "data.cursor"),
        ({"mutations": [], "cursor": "c" * 513}, "data.cursor"),
        ({}, "data.mutations"),
    ],
)
def test_malformed_requests_name_the_field(data: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidArgument) as err:
        parse(SyncFocusSessionsRequest, {"deviceId": "phone", **data})
    assert err.value.message.startswith(field), err.value.message


@pytest.mark.parametrize(
    ("overrides", "problem"),
    [
        ({"status": "completed", "endedAt": "2026-11-22T07:59:59.999Z"}, "endedAt is before"),
        ({"plannedEndAt": "2026-11-22T08:00:00.000Z"}, "plannedEndAt is not after"),
        ({"plannedEndAt": "2026-11-22T07:00:00.000Z"}, "plannedEndAt is not after"),
        ({"endedAt": "2026-11-22T08:30:00.000Z"}, "running session has no endedAt"),
        ({"status": "completed"}, "completed session needs endedAt"),
        ({"status": "abandoned"}, "abandoned session needs endedAt"),
    ],
)
def test_incoherent_sessions(overrides: dict[str, Any], problem: str) -> None:
    reason = incoherence(focus(**overrides))
    assert reason is not None and problem in reason


@pytest.mark.parametrize(
    "overrides",
    [
        {},
        {"plannedEndAt": "2026-11-22T08:00:00.001Z"},
        {"status": "completed", "endedAt": "2026-11-22T08:00:00.000Z"},  # zero length is fine
        {"status": "abandoned", "endedAt": "2026-11-23T08:00:00.000Z"},
    ],
)
def test_coherent_sessions(overrides: dict[str, Any]) -> None:
    assert incoherence(focus(**overrides)) is None


# -- the version order -------------------------------------------------------------------------


def test_later_updated_at_wins_whatever_the_device() -> None:
    old = focus(updatedAt="2026-11-22T09:00:00.000Z", deviceId="zzz")
    new = focus(updatedAt="2026-11-22T09:00:00.001Z", deviceId="aaa")
    assert newest([old, new]) == new
    assert newest([new, old]) == new


def test_equal_updated_at_is_broken_by_device_id_bytes() -> None:
    upper = focus(deviceId="B")
    lower = focus(deviceId="a")
    accented = focus(deviceId="é")  # 0xC3 0xA9: above every ASCII byte
    assert newest([lower, upper]) == lower
    assert newest([accented, lower, upper]) == accented


def test_a_delete_wins_a_full_tie_but_not_a_later_edit() -> None:
    live = focus(deviceId="phone")
    tomb = Tombstone("s1", live.updated_at, "phone")
    assert newest([live, tomb]) == tomb
    assert newest([tomb, live]) == tomb
    assert newest([tomb, focus(deviceId="phonf")]) == focus(deviceId="phonf")
    later = focus(updatedAt="2026-11-22T09:00:00.001Z")
    assert newest([tomb, later]) == later


def test_same_key_different_content_is_ordered_by_content() -> None:
    a, b = focus(label="a"), focus(label="b")
    assert newest([a, b]) == newest([b, a])
    assert version_key(a) != version_key(b)


def test_identical_versions_compare_equal() -> None:
    assert version_key(focus()) == version_key(parse(FocusSession, wire_session()))
    assert newest([None, None]) is None


# -- cursors -----------------------------------------------------------------------------------


def test_cursor_round_trip() -> None:
    cursor = Cursor(1_795_000_000_000_000, Position(42, "~__x__"))
    token = encode_cursor(cursor)
    assert "=" not in token
    assert decode_cursor(token) == cursor
    assert decode_cursor(None) == BEGINNING


def _token(body: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(body).encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "token",
    [
        "not base64 !",
        "abc",
        _token([1, 2]),
        _token({"v": 2, "e": 0, "s": 0, "id": ""}),
        _token({"v": 1, "e": 0, "s": -1, "id": ""}),
        _token({"v": 1, "e": True, "s": 0, "id": ""}),
        _token({"v": 1, "e": 0, "s": 1.5, "id": ""}),
        _token({"v": 1, "e": 0, "s": 0, "id": "a/b"}),
        _token({"v": 1, "e": 0, "s": 0}),
        _token({"v": 1, "e": 0, "s": 0, "id": "", "x": 1}),
        base64.urlsafe_b64encode(b"\xff\xfe").decode(),
    ],
)
def test_garbage_cursors_are_invalid_argument(token: str) -> None:
    with pytest.raises(InvalidArgument) as err:
        decode_cursor(token)
    assert err.value.message.startswith("data.cursor")


# -- ids and purge dates -----------------------------------------------------------------------


def test_reserved_firestore_ids_are_mapped() -> None:
    assert document_id("s1") == "s1"
    assert document_id("__x__") == "~__x__"
    assert document_id("____") == "~____"
    assert document_id("___") == "___"
    assert document_id("__x") == "__x"


def test_purge_dates_keep_at_least_thirty_days_and_spread_over_a_day() -> None:
    dates = [purge_at(T0, "alice", f"s{i}") for i in range(200)]
    assert all(T0 + timedelta(days=31) <= d < T0 + timedelta(days=32) for d in dates)
    assert max(dates) - min(dates) > timedelta(hours=20)
    # Known values: a rewrite of the tombstone in another process keeps its purge date.
    assert purge_at(T0, "alice", "s1") == datetime(2026, 12, 23, 11, 49, 7, 228000, tzinfo=UTC)
    assert purge_at(T0, "alice", "s2") == datetime(2026, 12, 23, 14, 44, 31, 21000, tzinfo=UTC)


# -- the feed plan -----------------------------------------------------------------------------


def row(seq: int, sid: str) -> Stored:
    return Stored(focus(id=sid), Position(seq, sid))


def test_start_position_resets_foreign_or_impossible_cursors() -> None:
    head = Head(7, 10)
    assert start_position(Cursor(7, Position(4, "b")), head, 10) == Position(4, "b")
    assert start_position(Cursor(7, Position(11, "")), head, 10) == Position(11, "")
    assert start_position(Cursor(6, Position(4, "b")), head, 10) == START  # another feed
    assert start_position(Cursor(7, Position(11, "a")), head, 10) == START  # not issued
    assert start_position(Cursor(7, Position(99, "")), head, 10) == START


def test_plan_read_skips_the_query_when_nothing_can_be_new() -> None:
    assert plan_read(Position(11, ""), 10, 5).fetch == 0
    assert plan_read(START, 0, 5).fetch == 0  # no feed yet
    assert plan_read(Position(3, "x"), 10, 0).fetch == 0  # no budget left
    assert plan_read(Position(3, "x"), 10, 5) == FeedRead(Position(3, "x"), 10, 6)


def test_assemble_pages_and_appends_own_writes() -> None:
    read = FeedRead(Position(3, ""), 5, 3)
    rows = [row(3, "a"), row(4, "b"), row(5, "c")]
    paged = assemble(read, rows, [], [], 2)
    assert [s.position.id for s in paged.changes] == ["a", "b"]
    assert (paged.position, paged.has_more) == (Position(4, "b"), True)

    ours = [row(6, "z"), row(6, "y")]
    full = assemble(read, rows[:1], ours, [], 5)
    assert [s.position.id for s in full.changes] == ["a", "y", "z"]
    assert (full.position, full.has_more) == (Position(7, ""), False)

    partial = assemble(read, rows[:1], ours, [], 2)
    assert [s.position.id for s in partial.changes] == ["a", "y"]
    assert (partial.position, partial.has_more) == (Position(6, "y"), True)

    none_fit = assemble(read, rows[:1], ours, [], 1)
    assert (none_fit.position, none_fit.has_more) == (Position(6, ""), True)


def test_assemble_merges_extras_once_and_in_order() -> None:
    read = FeedRead(Position(9, ""), 9, 3)
    extra = row(2, "b")
    answer = assemble(read, [row(9, "a"), row(9, "b")], [], [extra], 2)
    assert [(s.position.seq, s.position.id) for s in answer.changes] == [(9, "a"), (9, "b")]

    over = assemble(FeedRead(Position(9, ""), 9, 0), [], [], [row(2, "x"), row(1, "y")], -1)
    assert [s.position.id for s in over.changes] == ["y", "x"]
    assert (over.position, over.has_more) == (Position(9, ""), True)


def test_assemble_cuts_a_page_by_size_but_keeps_one() -> None:
    read = FeedRead(Position(1, ""), 5, 4)
    rows = [row(2, "a"), row(3, "b"), row(4, "c")]
    cut = assemble(read, rows, [], [], 3, lambda _s: 10, 25)
    assert [s.position.id for s in cut.changes] == ["a", "b"]
    assert (cut.position, cut.has_more) == (Position(3, "b"), True)
    one = assemble(read, rows, [], [], 3, lambda _s: 100, 25)
    assert [s.position.id for s in one.changes] == ["a"]
    extras_first = assemble(read, rows, [], [row(1, "z")], 3, lambda _s: 100, 25)
    assert [s.position.id for s in extras_first.changes] == ["z"]
    assert (extras_first.position, extras_first.has_more) == (Position(1, ""), True)


def test_compare_agrees_with_the_version_key() -> None:
    versions: list[FocusSession | Tombstone] = [
        focus(),
        focus(label="a"),
        focus(label="b"),
        focus(deviceId="B"),
        focus(updatedAt="2026-11-22T09:00:00.001Z"),
        Tombstone("s1", T0, "phone"),
        Tombstone("s1", T0, "B"),
    ]
    for a in versions:
        for b in versions:
            expected = (version_key(a) > version_key(b)) - (version_key(a) < version_key(b))
            assert compare(a, b) == expected, (a, b)
