"""Expand a weekly focus schedule into concrete UTC occurrences (pure logic, no I/O).

Below both schedules (their models carry a `WeeklyRule`) and push (it plans and checks pushes
against the events of a rule), so push never imports schedules: the import-linter contracts
`push-below-schedules` and `foundations` in pyproject.toml keep it so.

A `WeeklyRule` says: on each listed local day of `timezone`, block from wall-clock `start`
to wall-clock `end`. Wall clocks are turned into instants with these decisions:

- Overnight: the block ends the same local day, or the next local day when
  `end <= start`; `end == start` is a block of 24 hours of wall clock.
- Gap: a wall-clock time skipped by a spring-forward transition moves forward by the
  gap (02:30 on a day clocks jump 02:00 -> 03:00 becomes 03:30). Equivalently it is read
  with the UTC offset in force just before the transition.
- Fold: a wall-clock time repeated by a fall-back transition means its first occurrence
  (`fold=0`).
- `start` and `end` are resolved independently by the same two rules.
- Collapse: if after those adjustments `end_at <= start_at` (a block such as 02:30-03:15
  on a day clocks jump 02:00 -> 03:00: it would start at 03:30 and end at 03:15), that
  occurrence is skipped; the rule's other days are unaffected.
- Skipped days: when a zone skips a whole local day (Pacific/Apia on 2011-12-30), that
  day's block moves forward 24 hours by the gap rule and lands on the next day. If the next
  day is listed too, both would start at the same instant; only the next day's occurrence
  is kept, so no two occurrences of a rule share a `start_at`.
- Overlaps: occurrences are never merged. A 24-hour block on consecutive days gives
  occurrences that touch (`end_at` of one equals `start_at` of the next); an overnight
  block whose end is pushed forward by a gap can overlap the next day's occurrence.

Each occurrence keeps `local_date`, the listed local day it belongs to, which can differ
from the local date of `start_at` only through the gap rule.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

__all__ = [
    "DAY_NAMES",
    "EventKind",
    "Occurrence",
    "WeeklyRule",
    "events_between",
    "occurrences",
    "occurrences_between",
]

DAY_NAMES: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
"""Day names in `date.weekday()` order."""

_WEEKDAY = {name: index for index, name in enumerate(DAY_NAMES)}
_ONE_DAY = timedelta(days=1)

# UTC offsets are strictly inside (-24h, +24h), so the instant of a wall-clock time on local
# day D lies within a day of D read as UTC. That bounds how far from an instant's local date
# an occurrence touching the instant can belong: these margins cover it with a day to spare
# for the skipped-day de-duplication, which compares neighbouring days.
_DAYS_BEFORE = 3
_DAYS_AFTER = 3

EventKind = Literal["start", "end"]


@dataclass(frozen=True, slots=True)
class WeeklyRule:
    """A recurring block: wall-clock `start` to `end` on each of `days` in `timezone`."""

    timezone: str
    """IANA zone name, e.g. "Europe/Paris"."""
    days: frozenset[str]
    """Listed local days among "mon".."sun"; unknown names are ignored."""
    start: time
    """Local wall-clock start."""
    end: time
    """Local wall-clock end; `end <= start` ends the next local day."""

    def __post_init__(self) -> None:
        # Only types are checked here: value validation belongs to the wire models.
        if not isinstance(self.timezone, str):
            raise TypeError("timezone must be a str")
        if not isinstance(self.days, frozenset) or not all(isinstance(d, str) for d in self.days):
            raise TypeError("days must be a frozenset of str")
        if not isinstance(self.start, time) or not isinstance(self.end, time):
            raise TypeError("start and end must be datetime.time")


@dataclass(frozen=True, slots=True)
class Occurrence:
    """One concrete block of a rule, in UTC."""

    start_at: datetime
    """Aware UTC start."""
    end_at: datetime
    """Aware UTC end, always after `start_at`."""
    local_date: date
    """The listed local day the block belongs to (the day of its wall-clock start)."""


def occurrences(rule: WeeklyRule, *, not_ended_after: datetime, limit: int) -> list[Occurrence]:
    """Up to `limit` occurrences with `end_at > not_ended_after`, in start order.

    An occurrence in progress at `not_ended_after` comes first.
    """
    _require_aware(not_ended_after, "not_ended_after")
    weekdays = _weekdays(rule)
    if limit <= 0 or not weekdays:
        return []
    tz = ZoneInfo(rule.timezone)
    day = not_ended_after.astimezone(tz).date() - timedelta(days=_DAYS_BEFORE)
    found: list[Occurrence] = []
    not_ended = 0
    horizon: date | None = None
    # Terminates: every week holds a listed day, and a block collapses only on a day with a
    # transition. Once `limit` are found, a later day can still sort before the last one or
    # replace it (skipped days), but only a day within a day or two of it.
    while True:
        if horizon is not None and day > horizon:
            kept = [o for o in _finish(found) if o.end_at > not_ended_after]
            if len(kept) >= limit:
                return kept[:limit]
            # A skipped day's duplicate was dropped, so one is missing: look further.
            not_ended, horizon = len(kept), None
        if day.weekday() in weekdays:
            occurrence = _occurrence(rule, tz, day)
            if occurrence is not None:
                found.append(occurrence)
                if occurrence.end_at > not_ended_after:
                    not_ended += 1
                    if not_ended >= limit and horizon is None:
                        horizon = day + timedelta(days=_DAYS_AFTER)
        day += _ONE_DAY


def occurrences_between(rule: WeeklyRule, start: datetime, end: datetime) -> list[Occurrence]:
    """Every occurrence with `start <= start_at < end`, in start order."""
    return [o for o in _window(rule, start, end) if start <= o.start_at < end]


def events_between(
    rule: WeeklyRule, start: datetime, end: datetime
) -> list[tuple[EventKind, datetime, Occurrence]]:
    """Every start and end instant in `[start, end)`, sorted by instant.

    At equal instants an end sorts before a start, so touching blocks read end-then-start.
    """
    events: list[tuple[EventKind, datetime, Occurrence]] = []
    for o in _window(rule, start, end):
        if start <= o.start_at < end:
            events.append(("start", o.start_at, o))
        if start <= o.end_at < end:
            events.append(("end", o.end_at, o))
    events.sort(key=lambda e: (e[1], e[0] == "start", e[2].start_at))
    return events


def _window(rule: WeeklyRule, start: datetime, end: datetime) -> list[Occurrence]:
    """Occurrences of every listed day that could start or end in `[start, end)`."""
    _require_aware(start, "start")
    _require_aware(end, "end")
    weekdays = _weekdays(rule)
    if end <= start or not weekdays:
        return []
    tz = ZoneInfo(rule.timezone)
    day = start.astimezone(tz).date() - timedelta(days=_DAYS_BEFORE)
    last_day = end.astimezone(tz).date() + timedelta(days=_DAYS_AFTER)
    found: list[Occurrence] = []
    while day <= last_day:
        if day.weekday() in weekdays:
            occurrence = _occurrence(rule, tz, day)
            if occurrence is not None:
                found.append(occurrence)
        day += _ONE_DAY
    return _finish(found)


def _occurrence(rule: WeeklyRule, tz: ZoneInfo, day: date) -> Occurrence | None:
    """The block of local `day`, or None when DST adjustments collapse it."""
    start_at = _instant(day, rule.start, tz)
    end_day = day + _ONE_DAY if rule.end <= rule.start else day
    end_at = _instant(end_day, rule.end, tz)
    if end_at <= start_at:
        return None
    return Occurrence(start_at=start_at, end_at=end_at, local_date=day)


def _instant(day: date, wall: time, tz: ZoneInfo) -> datetime:
    """The UTC instant of a wall-clock time, by the gap and fold rules above."""
    # PEP 495: with fold=0 an ambiguous time takes the earlier offset (first occurrence) and a
    # skipped time takes the offset in force before the gap, i.e. it moves forward by the gap.
    local = datetime(
        day.year, day.month, day.day, wall.hour, wall.minute, wall.second, wall.microsecond, tz
    )
    return local.astimezone(UTC)


def _finish(found: list[Occurrence]) -> list[Occurrence]:
    """Sort by start and drop a skipped day's occurrence that duplicates the next day's."""
    # Starts of listed days two or more days apart are strictly ordered (offsets < 24h), so
    # the list is already nearly sorted; the sort only settles neighbours.
    found.sort(key=lambda o: (o.start_at, o.local_date))
    kept: list[Occurrence] = []
    for occurrence in found:
        if kept and kept[-1].start_at == occurrence.start_at:
            kept[-1] = occurrence  # same start: the later local day is the real one
        else:
            kept.append(occurrence)
    return kept


def _weekdays(rule: WeeklyRule) -> frozenset[int]:
    return frozenset(_WEEKDAY[d] for d in rule.days if d in _WEEKDAY)


def _require_aware(value: datetime, name: str) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be an aware datetime")
