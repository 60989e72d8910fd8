"""exportAccount's paging against an in-memory reader: completeness, cursors, the size budget."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from shared.accounts.models import UserProfile
from shared.devices.models import Device
from shared.errors import FailedPrecondition, InvalidArgument
from shared.privacy.export import (
    ENVELOPE_MARGIN_BYTES,
    MAX_SESSIONS_PER_PAGE,
    RESPONSE_LIMIT_BYTES,
    SESSIONS_BUDGET_BYTES,
    ExportAccountRequest,
    ExportAccountResult,
    ExportSchedule,
    ExportSession,
    ScannedSession,
    decode_cursor,
    encode_cursor,
    encoded_size,
    export_account,
)
from shared.wire import parse

NOW = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
ASTRAL = "\U0001f600"  # 12 bytes once JSON-escaped as a surrogate pair


def session(i: int | str, *, huge: bool = False) -> ExportSession:
    sid = i if isinstance(i, str) else f"s{i:06d}"
    return ExportSession(
        id=sid,
        started_at=NOW,
        planned_end_at=None,
        ended_at=NOW + timedelta(minutes=25),
        status="completed",
        label=ASTRAL * 120 if huge else "focus",
        blocked_apps=[ASTRAL * 255] * 500 if huge else ["com.example.feed"],
        schedule_id="sched-" + "x" * 58 if huge else None,
        updated_at=NOW,
        device_id=ASTRAL * 128 if huge else "phone-1",
    )


def schedule(i: int, *, huge: bool = False) -> ExportSchedule:
    return ExportSchedule(
        id=f"sc{i}",
        name="Deep work",
        timezone="Europe/Paris",
        days=["mon", "tue"],
        start="09:00",
        end="11:00",
        blocked_apps=[ASTRAL * 255] * 500 if huge else ["com.example.feed"],
        enabled=True,
        updated_at=NOW,
    )


class FakeReader:
    def __init__(
        self,
        sessions: list[ScannedSession],
        schedules: list[ExportSchedule] | None = None,
    ) -> None:
        self.rows = sorted(sessions, key=lambda row: row[0].encode())
        self._schedules = schedules or []
        self.scanned = 0

    def profile(self, uid: str) -> UserProfile | None:
        return UserProfile(uid=uid, timezone="Europe/Paris", locale="fr-FR", created_at=NOW)

    def devices(self, uid: str) -> list[Device]:
        return [Device(device_id="phone-1", platform="ios", app_version=None, registered_at=NOW)]

    def schedules(self, uid: str) -> list[ExportSchedule]:
        return self._schedules

    def sessions_after(self, uid: str, after: str | None, limit: int) -> list[ScannedSession]:
        rows = [r for r in self.rows if after is None or r[0].encode() > after.encode()][:limit]
        self.scanned += len(rows)
        return rows


def export_all(reader: FakeReader) -> list[ExportAccountResult]:
    pages = [export_account(reader, "u1", ExportAccountRequest(), NOW)]
    while pages[-1].has_more:
        assert pages[-1].cursor is not None
        request = parse(ExportAccountRequest, {"cursor": pages[-1].cursor})
        pages.append(export_account(reader, "u1", request, NOW))
        assert len(pages) < 100
    return pages


def response_bytes(page: ExportAccountResult) -> int:
    return encoded_size({"result": page.to_wire()})


def test_every_live_session_is_exported_once_and_tombstones_never() -> None:
    live = [(f"s{i:05d}", session(i)) for i in range(2345)]
    dead: list[ScannedSession] = [(f"s{i:05d}-dead", None) for i in range(0, 2345, 7)]
    pages = export_all(FakeReader(live + dead))
    ids = [s.id for page in pages for s in page.sessions]
    assert ids == sorted(s.id for _, s in live if s is not None)
    assert all(len(p.sessions) <= MAX_SESSIONS_PER_PAGE for p in pages)
    assert pages[-1].cursor is None and not pages[-1].has_more


def test_only_the_first_page_carries_user_devices_and_schedules() -> None:
    pages = export_all(FakeReader([(f"s{i}", session(i)) for i in range(1500)], [schedule(1)]))
    first, *rest = pages
    assert first.user is not None and first.devices is not None and first.schedules is not None
    assert rest and all(p.user is None and p.devices is None and p.schedules is None for p in rest)
    wire = first.to_wire()
    assert set(wire) == {
        "generatedAt",
        "user",
        "devices",
        "schedules",
        "sessions",
        "cursor",
        "hasMore",
        "signIn",  # added 2026-12: what Auth holds and the push data (null without a reader)
        "pushPlans",
        "pushLog",
    }
    assert wire["generatedAt"] == "2026-11-22T09:00:00.000Z"


def test_an_empty_account_is_one_page() -> None:
    (page,) = export_all(FakeReader([]))
    assert page.sessions == [] and page.cursor is None and page.has_more is False


def test_a_page_of_exactly_the_maximum_knows_there_is_nothing_more() -> None:
    reader = FakeReader([(f"s{i:05d}", session(i)) for i in range(MAX_SESSIONS_PER_PAGE)])
    (page,) = export_all(reader)
    assert len(page.sessions) == MAX_SESSIONS_PER_PAGE and not page.has_more


def test_a_maximal_session_is_about_one_and_a_half_megabytes() -> None:
    size = encoded_size(session(1, huge=True).to_wire())
    assert 1_500_000 < size < 1_600_000  # the arithmetic of docs/PRIVACY.md


def test_pages_of_maximal_sessions_stay_under_the_response_limit() -> None:
    reader = FakeReader(
        [(f"s{i:02d}", session(i, huge=True)) for i in range(9)],
        [schedule(i, huge=True) for i in range(3)],
    )
    pages = export_all(reader)
    assert sum(len(p.sessions) for p in pages) == 9
    for page in pages:
        assert response_bytes(page) <= RESPONSE_LIMIT_BYTES - ENVELOPE_MARGIN_BYTES
        sessions_bytes = encoded_size([s.to_wire() for s in page.sessions])
        assert sessions_bytes <= SESSIONS_BUDGET_BYTES + 1000
        assert page.sessions  # each page makes progress
    # The first page has ~4.6 MB of schedules: it takes what still fits under 10 MB.
    assert response_bytes(pages[0]) > 8_000_000


def test_a_first_page_full_of_schedules_defers_every_session() -> None:
    reader = FakeReader(
        [("s1", session("s1", huge=True))], [schedule(i, huge=True) for i in range(6)]
    )
    first, second = export_all(reader)
    assert first.sessions == [] and first.has_more and first.cursor is not None
    assert response_bytes(first) <= RESPONSE_LIMIT_BYTES
    assert [s.id for s in second.sessions] == ["s1"]


def test_schedules_beyond_ten_megabytes_are_refused_plainly() -> None:
    reader = FakeReader([], [schedule(i, huge=True) for i in range(7)])
    with pytest.raises(FailedPrecondition):
        export_account(reader, "u1", ExportAccountRequest(), NOW)


def test_long_runs_of_tombstones_still_end() -> None:
    reader = FakeReader([(f"d{i:06d}", None) for i in range(12_000)] + [("z", session("z"))])
    pages = export_all(reader)
    assert [s.id for p in pages for s in p.sessions] == ["z"]
    assert len(pages) >= 2  # bounded work per call


def test_cursors_round_trip_and_refuse_anything_else() -> None:
    assert decode_cursor(encode_cursor("s-1")) == "s-1"
    assert decode_cursor(encode_cursor(None)) is None
    for bad in ["", "x1.", "x1.!!!", "nope", "x1." + "A" * 40, encode_cursor("a/b")]:
        with pytest.raises(InvalidArgument):
            decode_cursor(bad)
    forged = (
        "x1."
        + __import__("base64")
        .urlsafe_b64encode(json.dumps({"after": "s", "more": 1}).encode())
        .decode()
    )
    with pytest.raises(InvalidArgument):
        decode_cursor(forged)


@pytest.mark.parametrize("cursor", [7, ["x"], {"after": "s"}, "c" * 5000, "\ud800"])
def test_malformed_cursor_values_are_invalid_argument(cursor: Any) -> None:
    with pytest.raises(InvalidArgument) as err:
        parse(ExportAccountRequest, {"cursor": cursor})
    assert err.value.message.startswith("data.cursor")
