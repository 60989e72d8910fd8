"""Expansion of weekly schedules into UTC occurrences: worked examples and properties.

The properties compare against a slow reference that resolves wall clocks another way:
it tries every nearby UTC offset and keeps the round trips that show the wanted wall
clock; for a skipped wall clock it bisects for the transition instant and moves forward
by the gap from there.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo, available_timezones

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shared.recurrence import (
    DAY_NAMES,
    Occurrence,
    WeeklyRule,
    events_between,
    occurrences,
    occurrences_between,
)

WEEKDAYS = frozenset({"mon", "tue", "wed", "thu", "fri"})


def rule(zone: str, days: set[str], start: str, end: str) -> WeeklyRule:
    return WeeklyRule(
        timezone=zone,
        days=frozenset(days),
        start=time.fromisoformat(start),
        end=time.fromisoformat(end),
    )


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def occ(start_at: datetime, end_at: datetime, local_date: date) -> Occurrence:
    return Occurrence(start_at=start_at, end_at=end_at, local_date=local_date)


# --- worked examples -----------------------------------------------------------------------


def test_weekdays_in_paris_across_a_week() -> None:
    r = rule("Europe/Paris", set(WEEKDAYS), "09:00", "12:00")
    got = occurrences(r, not_ended_after=utc(2026, 6, 14, 12), limit=6)  # Sunday noon
    # Summer time (+02:00): 09:00-12:00 local is 07:00-10:00Z, Monday 15th to Friday 19th,
    # then the next Monday.
    assert got == [
        occ(utc(2026, 6, d, 7), utc(2026, 6, d, 10), date(2026, 6, d))
        for d in (15, 16, 17, 18, 19, 22)
    ]
    assert occurrences_between(r, utc(2026, 6, 15), utc(2026, 6, 22)) == got[:5]


def test_overnight_block_ends_the_next_local_day() -> None:
    r = rule("Europe/Paris", {"fri"}, "22:00", "06:00")
    assert occurrences(r, not_ended_after=utc(2026, 6, 15), limit=1) == [
        occ(utc(2026, 6, 19, 20), utc(2026, 6, 20, 4), date(2026, 6, 19))
    ]


def test_start_in_spring_forward_gap_moves_forward_by_the_gap() -> None:
    # Paris, Sunday 2026-03-29: clocks jump 02:00 -> 03:00, so 02:30 becomes 03:30 (+02:00).
    r = rule("Europe/Paris", {"sun"}, "02:30", "04:00")
    (got,) = occurrences(r, not_ended_after=utc(2026, 3, 28), limit=1)
    assert got == occ(utc(2026, 3, 29, 1, 30), utc(2026, 3, 29, 2), date(2026, 3, 29))
    assert got.start_at.astimezone(ZoneInfo("Europe/Paris")).time() == time(3, 30)


def test_ambiguous_start_on_fall_back_day_is_the_first_one() -> None:
    # New York, Sunday 2026-11-01: 01:00-02:00 happens twice; the first 01:30 is EDT (-04:00).
    r = rule("America/New_York", {"sun"}, "01:30", "03:00")
    assert occurrences(r, not_ended_after=utc(2026, 10, 31), limit=1) == [
        occ(utc(2026, 11, 1, 5, 30), utc(2026, 11, 1, 8), date(2026, 11, 1))
    ]


def test_end_in_gap_and_end_in_fold_follow_the_same_rules() -> None:
    in_gap = rule("Europe/Paris", {"sun"}, "01:00", "02:30")
    assert occurrences(in_gap, not_ended_after=utc(2026, 3, 28), limit=1) == [
        occ(utc(2026, 3, 29, 0), utc(2026, 3, 29, 1, 30), date(2026, 3, 29))
    ]
    in_fold = rule("America/New_York", {"sun"}, "00:00", "01:30")
    assert occurrences(in_fold, not_ended_after=utc(2026, 10, 31), limit=1) == [
        occ(utc(2026, 11, 1, 4), utc(2026, 11, 1, 5, 30), date(2026, 11, 1))
    ]


def test_block_collapsed_by_a_gap_is_skipped() -> None:
    # 02:30 -> 03:30 but 03:15 exists: the block would end before it starts.
    r = rule("Europe/Paris", {"sun"}, "02:30", "03:15")
    assert occurrences(r, not_ended_after=utc(2026, 3, 21), limit=2) == [
        occ(utc(2026, 3, 22, 1, 30), utc(2026, 3, 22, 2, 15), date(2026, 3, 22)),
        occ(utc(2026, 4, 5, 0, 30), utc(2026, 4, 5, 1, 15), date(2026, 4, 5)),
    ]
    assert occurrences_between(r, utc(2026, 3, 28), utc(2026, 4, 4)) == []
    # 02:30-03:30 would be empty (both ends at 03:30): skipped as well.
    empty = rule("Europe/Paris", {"sun"}, "02:30", "03:30")
    assert occurrences_between(empty, utc(2026, 3, 28), utc(2026, 4, 4)) == []


def test_24_hour_blocks_touch_and_are_not_merged() -> None:
    # end == start: 24 hours of wall clock; 25 real hours across the 2026-10-25 fall-back.
    r = rule("Europe/Paris", {"sat", "sun"}, "08:00", "08:00")
    sat = occ(utc(2026, 10, 24, 6), utc(2026, 10, 25, 7), date(2026, 10, 24))
    sun = occ(utc(2026, 10, 25, 7), utc(2026, 10, 26, 7), date(2026, 10, 25))
    assert occurrences(r, not_ended_after=utc(2026, 10, 23), limit=2) == [sat, sun]
    # At the shared instant the end is listed before the start.
    assert events_between(r, utc(2026, 10, 24), utc(2026, 10, 26)) == [
        ("start", sat.start_at, sat),
        ("end", sat.end_at, sat),
        ("start", sun.start_at, sun),
    ]


def test_overnight_end_pushed_by_a_gap_can_overlap_the_next_block() -> None:
    r = rule("Europe/Paris", {"sat", "sun"}, "03:15", "02:30")
    got = occurrences(r, not_ended_after=utc(2026, 3, 28), limit=2)
    assert got == [
        # Saturday 03:15 (+01:00) to Sunday 02:30, skipped, hence 03:30 (+02:00).
        occ(utc(2026, 3, 28, 2, 15), utc(2026, 3, 29, 1, 30), date(2026, 3, 28)),
        occ(utc(2026, 3, 29, 1, 15), utc(2026, 3, 30, 0, 30), date(2026, 3, 29)),
    ]
    assert got[1].start_at < got[0].end_at


def test_occurrence_in_progress_comes_first_and_ended_ones_are_left_out() -> None:
    r = rule("Europe/Paris", set(WEEKDAYS), "09:00", "12:00")
    wednesday = occ(utc(2026, 6, 17, 7), utc(2026, 6, 17, 10), date(2026, 6, 17))
    for now in (
        wednesday.start_at,
        utc(2026, 6, 17, 8),
        wednesday.end_at - timedelta(microseconds=1),
    ):
        assert occurrences(r, not_ended_after=now, limit=2)[0] == wednesday
    # An occurrence ending exactly at the instant has ended.
    assert occurrences(r, not_ended_after=wednesday.end_at, limit=1)[0].local_date == date(
        2026, 6, 18
    )
    overnight = rule("Europe/Paris", {"mon"}, "22:00", "06:00")
    (got,) = occurrences(overnight, not_ended_after=utc(2026, 6, 16, 3), limit=1)
    assert got.local_date == date(2026, 6, 15)


def test_limit_is_honoured() -> None:
    r = rule("Europe/Paris", set(DAY_NAMES), "09:00", "10:00")
    now = utc(2026, 1, 1)
    assert len(occurrences(r, not_ended_after=now, limit=5)) == 5
    assert len(occurrences(r, not_ended_after=now, limit=40)) == 40
    assert occurrences(r, not_ended_after=now, limit=0) == []
    assert (
        occurrences(rule("Europe/Paris", set(), "09:00", "10:00"), not_ended_after=now, limit=5)
        == []
    )


def test_lord_howe_half_hour_dst() -> None:
    # Lord Howe moves between +10:30 and +11:00. 2026-10-04: 02:00 -> 02:30, so 02:10 is 02:40.
    gap = rule("Australia/Lord_Howe", {"sun"}, "02:10", "03:00")
    assert occurrences(gap, not_ended_after=utc(2026, 10, 1), limit=1) == [
        occ(utc(2026, 10, 3, 15, 40), utc(2026, 10, 3, 16), date(2026, 10, 4))
    ]
    # 2026-04-05: 02:00 -> 01:30, so 01:45 happens twice; the first is +11:00.
    fold = rule("Australia/Lord_Howe", {"sun"}, "01:45", "02:15")
    assert occurrences(fold, not_ended_after=utc(2026, 4, 1), limit=1) == [
        occ(utc(2026, 4, 4, 14, 45), utc(2026, 4, 4, 15, 45), date(2026, 4, 5))
    ]


def test_apia_skipped_day() -> None:
    # Samoa skipped Friday 2011-12-30 (-10:00 -> +14:00 at local midnight). Its 09:00-17:00
    # moves forward 24 hours onto Saturday's wall clock.
    fri = rule("Pacific/Apia", {"fri"}, "09:00", "17:00")
    got = occurrences(fri, not_ended_after=utc(2011, 12, 28), limit=2)
    assert got == [
        occ(utc(2011, 12, 30, 19), utc(2011, 12, 31, 3), date(2011, 12, 30)),
        occ(utc(2012, 1, 5, 19), utc(2012, 1, 6, 3), date(2012, 1, 6)),
    ]
    assert got[0].start_at.astimezone(ZoneInfo("Pacific/Apia")).date() == date(2011, 12, 31)
    # With Saturday listed too, both would start at the same instant: Saturday's is kept,
    # and the missing one is made up for by looking further.
    fri_sat = rule("Pacific/Apia", {"fri", "sat"}, "09:00", "17:00")
    assert occurrences(fri_sat, not_ended_after=utc(2011, 12, 28), limit=2) == [
        occ(utc(2011, 12, 30, 19), utc(2011, 12, 31, 3), date(2011, 12, 31)),
        occ(utc(2012, 1, 5, 19), utc(2012, 1, 6, 3), date(2012, 1, 6)),
    ]
    (only,) = occurrences(fri_sat, not_ended_after=utc(2011, 12, 28), limit=1)
    assert only.local_date == date(2011, 12, 31)
    assert [
        o.local_date for o in occurrences_between(fri_sat, utc(2011, 12, 29), utc(2012, 1, 1))
    ] == [date(2011, 12, 31)]
    # Overnight from the skipped Friday: starts Saturday 22:00 but ends Saturday 06:00.
    overnight = rule("Pacific/Apia", {"fri"}, "22:00", "06:00")
    assert [
        o.local_date for o in occurrences(overnight, not_ended_after=utc(2011, 12, 28), limit=1)
    ] == [date(2012, 1, 6)]


def test_events_between_lists_starts_and_ends_in_the_window() -> None:
    r = rule("Europe/Paris", {"mon", "tue"}, "22:00", "06:00")
    mon = occ(utc(2026, 6, 15, 20), utc(2026, 6, 16, 4), date(2026, 6, 15))
    tue = occ(utc(2026, 6, 16, 20), utc(2026, 6, 17, 4), date(2026, 6, 16))
    assert events_between(r, utc(2026, 6, 16), utc(2026, 6, 17)) == [
        ("end", mon.end_at, mon),
        ("start", tue.start_at, tue),
    ]
    # Half-open: an instant equal to the window's end is left out.
    assert events_between(r, utc(2026, 6, 15, 20), utc(2026, 6, 16, 4)) == [
        ("start", mon.start_at, mon)
    ]


def test_naive_instants_and_wrong_types_are_refused() -> None:
    r = rule("Europe/Paris", {"mon"}, "09:00", "10:00")
    with pytest.raises(ValueError):
        occurrences(r, not_ended_after=datetime(2026, 1, 1), limit=1)
    with pytest.raises(ValueError):
        occurrences_between(r, datetime(2026, 1, 1), utc(2026, 2, 1))
    with pytest.raises(TypeError):
        WeeklyRule("Europe/Paris", ["mon"], time(9), time(10))  # type: ignore[arg-type]


# --- reference implementation ------------------------------------------------------------


def _wall(instant: datetime, tz: ZoneInfo) -> datetime:
    return instant.astimezone(tz).replace(tzinfo=None)


@cache
def ref_instant(day: date, wall: time, tz: ZoneInfo) -> datetime:
    naive = datetime.combine(day, wall)
    as_utc = naive.replace(tzinfo=UTC)
    # Every offset the zone uses within a day of the wall clock (none lasts under an hour).
    offsets = {(as_utc + timedelta(hours=h)).astimezone(tz).utcoffset() for h in range(-26, 27)}
    assert None not in offsets
    candidates = (as_utc - off for off in offsets if off is not None)
    shown = sorted(u for u in candidates if _wall(u, tz) == naive)
    if shown:
        return shown[0]  # ambiguous: the first of the instants showing it
    # Skipped: bisect (whole seconds) for the first instant whose wall clock is past `naive`.
    lo, hi = as_utc - timedelta(hours=26), as_utc + timedelta(hours=26)
    assert _wall(lo, tz) < naive < _wall(hi, tz)
    while hi - lo > timedelta(seconds=1):
        mid = lo + timedelta(seconds=(hi - lo) // timedelta(seconds=1) // 2)
        if _wall(mid, tz) < naive:
            lo = mid
        else:
            hi = mid
    gap_opens = _wall(lo, tz) + timedelta(seconds=1)  # the wall clock the jump skips from
    return hi + (naive - gap_opens)


def ref_all(r: WeeklyRule, first: date, last: date) -> list[Occurrence]:
    tz = ZoneInfo(r.timezone)
    by_start: dict[datetime, Occurrence] = {}
    for ordinal in range(first.toordinal(), last.toordinal() + 1):
        day = date.fromordinal(ordinal)
        if DAY_NAMES[day.weekday()] not in r.days:
            continue
        start_at = ref_instant(day, r.start, tz)
        end_day = day + timedelta(days=1) if r.end <= r.start else day
        end_at = ref_instant(end_day, r.end, tz)
        if end_at > start_at:
            by_start[start_at] = occ(start_at, end_at, day)  # a later day wins a shared start
    return sorted(by_start.values(), key=lambda o: o.start_at)


def ref_occurrences(r: WeeklyRule, now: datetime, limit: int) -> list[Occurrence]:
    local = now.astimezone(ZoneInfo(r.timezone)).date()
    first, last = local - timedelta(days=6), local + timedelta(days=7 * limit + 14)
    return [o for o in ref_all(r, first, last) if o.end_at > now][:limit]


# --- properties ----------------------------------------------------------------------------

INTERESTING_ZONES = [
    "Europe/Paris",
    "America/New_York",
    "Australia/Lord_Howe",
    "America/Santiago",
    "America/Havana",  # transitions at midnight
    "Asia/Tehran",
    "Pacific/Chatham",
    "Europe/Dublin",  # negative DST in tzdata
    "Africa/Casablanca",  # Ramadan transitions
    "Asia/Kolkata",
    "UTC",
]
ALL_ZONES = sorted(available_timezones() - {"Factory", "localtime"})
LOW, HIGH = datetime(2020, 1, 1), datetime(2035, 12, 31)


@cache
def transitions(zone: str) -> tuple[datetime, ...]:
    """The first instants (to the second) of each new UTC offset of the zone in 2020-2035."""
    tz = ZoneInfo(zone)
    found: list[datetime] = []
    t = LOW.replace(tzinfo=UTC)
    previous = t.astimezone(tz).utcoffset()
    while t < HIGH.replace(tzinfo=UTC):
        # Daily sampling: no offset of these years lasts under a day.
        t += timedelta(days=1)
        offset = t.astimezone(tz).utcoffset()
        if offset != previous:
            lo, hi = t - timedelta(days=1), t
            while hi - lo > timedelta(seconds=1):
                mid = lo + (hi - lo) / 2
                mid -= timedelta(microseconds=mid.microsecond)
                lo, hi = (mid, hi) if mid.astimezone(tz).utcoffset() == previous else (lo, mid)
            found.append(hi)
            previous = offset
    return tuple(found)


any_wall = st.builds(time, hour=st.integers(0, 23), minute=st.integers(0, 59))
zones = st.one_of(st.sampled_from(INTERESTING_ZONES), st.sampled_from(ALL_ZONES))
day_sets = st.frozensets(st.sampled_from(DAY_NAMES), min_size=1)


@st.composite
def cases(draw: st.DrawFn) -> tuple[WeeklyRule, datetime]:
    """A rule and an instant; half of them aimed at one of the zone's transitions.

    Aimed cases list the transition's local day and put `start` (often `end`) near the wall
    clocks either side of the jump, so that gaps, folds and collapses come up often.
    """
    zone = draw(zones)
    near = transitions(zone)
    aimed: bool = draw(st.booleans())
    if not (near and aimed):
        start = draw(any_wall)
        r = WeeklyRule(zone, draw(day_sets), start, draw(st.one_of(any_wall, st.just(start))))
        now = draw(st.datetimes(min_value=LOW, max_value=HIGH)).replace(tzinfo=UTC)
        return r, now
    tz = ZoneInfo(zone)
    jump = draw(st.sampled_from(near))
    jumps_from = _wall(jump - timedelta(seconds=1), tz) + timedelta(seconds=1)
    jumps_to = _wall(jump, tz)
    skipped_or_repeated = min(jumps_from, jumps_to)
    span = abs(jumps_to - jumps_from) // timedelta(minutes=1)
    walls_near_jump = st.one_of(
        st.builds(
            lambda minutes: (skipped_or_repeated + timedelta(minutes=minutes)).time(),
            st.integers(0, max(span - 1, 0)),
        ),
        st.builds(
            lambda base, minutes: (base + timedelta(minutes=minutes)).time(),
            st.sampled_from([jumps_from, jumps_to]),
            st.integers(-75, 75),
        ),
    )
    start = draw(walls_near_jump)
    days = draw(day_sets) | {DAY_NAMES[jumps_from.weekday()], DAY_NAMES[jumps_to.weekday()]}
    # Shortly after a start in a gap is where blocks collapse.
    shortly_after = st.builds(
        lambda minutes: (datetime.combine(LOW, start) + timedelta(minutes=minutes)).time(),
        st.integers(1, 2 * max(span, 1)),
    )
    end = draw(st.one_of(walls_near_jump, shortly_after, any_wall, st.just(start)))
    r = WeeklyRule(zone, days, start, end)
    return r, jump + timedelta(minutes=draw(st.integers(-6 * 24 * 60, 2 * 24 * 60)))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=cases(), limit=st.integers(1, 8))
def test_occurrences_match_reference(case: tuple[WeeklyRule, datetime], limit: int) -> None:
    r, now = case
    tz = ZoneInfo(r.timezone)
    got = occurrences(r, not_ended_after=now, limit=limit)
    assert got == ref_occurrences(r, now, limit)
    assert len(got) == limit
    assert [o.start_at for o in got] == sorted({o.start_at for o in got})
    for o in got:
        assert o.start_at.tzinfo is UTC and o.end_at.tzinfo is UTC
        assert o.end_at > o.start_at
        assert o.end_at > now
        assert DAY_NAMES[o.local_date.weekday()] in r.days
        # The wall clock is kept, or pushed forward by a gap; never moved back.
        wanted = datetime.combine(o.local_date, r.start)
        shown = _wall(o.start_at, tz)
        assert shown == wanted or (
            wanted < shown and ref_instant(o.local_date, r.start, tz) == o.start_at
        )


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=cases(), minutes=st.integers(0, 30 * 24 * 60))
def test_between_and_events_agree_with_occurrences(
    case: tuple[WeeklyRule, datetime], minutes: int
) -> None:
    r, start = case
    end = start + timedelta(minutes=minutes)
    # Generous: at most one occurrence starts per local day, plus a few at the edges.
    enough = minutes // (24 * 60) + 20
    known = occurrences(r, not_ended_after=start - timedelta(days=3), limit=enough)
    assert known[-1].start_at >= end  # `enough` reached past the window

    between = occurrences_between(r, start, end)
    assert between == [o for o in known if start <= o.start_at < end]

    events = events_between(r, start, end)
    assert [instant for _, instant, _ in events] == sorted(instant for _, instant, _ in events)
    expected = [("start", o.start_at, o) for o in between] + [
        ("end", o.end_at, o) for o in known if start <= o.end_at < end
    ]
    assert Counter(events) == Counter(expected)


SWEPT_ZONES = [zone for zone in INTERESTING_ZONES if zone not in ("Asia/Kolkata", "UTC")]


@pytest.mark.parametrize("zone", SWEPT_ZONES)
def test_every_wall_clock_around_a_transition_matches_reference(zone: str) -> None:
    """Exhaustive where random examples are thin: starts and ends every 15 minutes around
    the first two transitions from 2026 (or the last two before), every day listed."""
    tz = ZoneInfo(zone)
    jumps = [j for j in transitions(zone) if j.year >= 2026][:2] or list(transitions(zone)[-2:])
    for jump in jumps:
        jumps_from = _wall(jump - timedelta(seconds=1), tz) + timedelta(seconds=1)
        walls = sorted({(jumps_from + timedelta(minutes=15 * k)).time() for k in range(-8, 13)})
        window_start, window_end = jump - timedelta(days=2), jump + timedelta(days=2)
        local = jumps_from.date()
        for start in walls:
            for end in walls:
                r = WeeklyRule(zone, frozenset(DAY_NAMES), start, end)
                expected = [
                    o
                    for o in ref_all(r, local - timedelta(days=4), local + timedelta(days=4))
                    if window_start <= o.start_at < window_end
                ]
                assert occurrences_between(r, window_start, window_end) == expected, (start, end)
