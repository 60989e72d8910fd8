"""Schedules: wire models of `upsertSchedule`, `deleteSchedule`, `listSchedules` and their pure
decisions (last writer wins, next occurrences, revisions)."""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime, time
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field

from shared.clock import to_millis
from shared.recurrence import WeeklyRule, occurrences
from shared.wire import (
    BlockedApps,
    DocumentClientId,
    Timestamp,
    TimeZoneName,
    WallClock,
    WireModel,
)

NEXT_OCCURRENCES = 5

# Schedules one account may hold. Each plans about 72 h of pushes into queues every user shares,
# and `listSchedules` returns them all in one answer: 50 is far above what a person sets up (a
# few a week) and keeps that answer under 256 KiB. Counted race-safe by each store.
MAX_SCHEDULES_PER_USER = 50


def schedule_cap_message(cap: int = MAX_SCHEDULES_PER_USER) -> str:
    return f"At most {cap} schedules per account; delete one first."


Day = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


def _no_repeats(days: list[str]) -> list[str]:
    if len(set(days)) != len(days):
        raise ValueError("must not repeat a day")
    return days


Days = Annotated[
    list[Day],
    Field(min_length=1, max_length=7, json_schema_extra={"uniqueItems": True}),
    AfterValidator(_no_repeats),
]
ScheduleName = Annotated[str, Field(min_length=1, max_length=80)]


class Schedule(WireModel):
    """`Schedule` of the contract: a recurring focus block."""

    id: DocumentClientId
    name: ScheduleName
    timezone: TimeZoneName
    days: Days
    start: WallClock
    end: WallClock
    blocked_apps: BlockedApps
    enabled: bool
    updated_at: Timestamp

    def rule(self) -> WeeklyRule:
        return WeeklyRule(
            timezone=self.timezone,
            days=frozenset(self.days),
            start=time.fromisoformat(self.start),
            end=time.fromisoformat(self.end),
        )


class OccurrenceWindow(WireModel):
    start_at: Timestamp
    end_at: Timestamp


class UpsertScheduleRequest(WireModel):
    schedule: Schedule


class UpsertScheduleResult(WireModel):
    schedule: Schedule
    next_occurrences: list[OccurrenceWindow]


class DeleteScheduleRequest(WireModel):
    id: DocumentClientId


class DeleteScheduleResult(WireModel):
    deleted: bool


class ListSchedulesRequest(WireModel):
    pass


class ListSchedulesResult(WireModel):
    schedules: list[Schedule]


@dataclasses.dataclass(frozen=True)
class StoredSchedule:
    """A schedule document: the API fields plus its revision."""

    schedule: Schedule
    revision: int


def _canonical(schedule: Schedule) -> str:
    return json.dumps(schedule.to_wire(), sort_keys=True, separators=(",", ":"))


def wins(incoming: Schedule, stored: Schedule) -> bool:
    """Last writer wins by `updatedAt`. On equal `updatedAt` the greater canonical JSON wins, so
    every server and device converges on the same version whatever the arrival order."""
    if incoming.updated_at != stored.updated_at:
        return incoming.updated_at > stored.updated_at
    return _canonical(incoming) > _canonical(stored)


def next_revision(previous: int | None, now: datetime) -> int:
    """Strictly increasing per schedule, and never reused after a delete and re-create: the
    milliseconds of the change, or one more than before if the clock has not moved on. Task
    names include it, and Cloud Tasks refuses a name used in the last hour or so."""
    millis = int(to_millis(now).timestamp() * 1000)
    return millis if previous is None else max(previous + 1, millis)


def plan_upsert(
    existing: StoredSchedule | None, incoming: Schedule, now: datetime
) -> StoredSchedule | None:
    """The schedule to write, or None when the stored one stays (older or identical input)."""
    if existing is not None and (
        incoming == existing.schedule or not wins(incoming, existing.schedule)
    ):
        return None
    previous = existing.revision if existing is not None else None
    return StoredSchedule(schedule=incoming, revision=next_revision(previous, now))


def next_occurrences(schedule: Schedule, now: datetime) -> list[OccurrenceWindow]:
    """Up to 5 occurrences not ended at `now`, one in progress first; none when disabled."""
    if not schedule.enabled:
        return []
    found = occurrences(schedule.rule(), not_ended_after=now, limit=NEXT_OCCURRENCES)
    return [OccurrenceWindow(start_at=o.start_at, end_at=o.end_at) for o in found]


def schedule_to_doc(stored: StoredSchedule, server_updated_at: Any) -> dict[str, Any]:
    """The Firestore document: API fields (timestamps as timestamps), serverUpdatedAt,
    revision."""
    s = stored.schedule
    return {
        "id": s.id,
        "name": s.name,
        "timezone": s.timezone,
        "days": list(s.days),
        "start": s.start,
        "end": s.end,
        "blockedApps": list(s.blocked_apps),
        "enabled": s.enabled,
        "updatedAt": s.updated_at,
        "serverUpdatedAt": server_updated_at,
        "revision": stored.revision,
    }


def schedule_from_doc(doc_id: str, data: dict[str, Any]) -> StoredSchedule:
    schedule = Schedule.model_validate(
        {
            "id": data.get("id", doc_id),
            "name": data["name"],
            "timezone": data["timezone"],
            "days": list(data["days"]),
            "start": data["start"],
            "end": data["end"],
            "blockedApps": list(data.get("blockedApps") or []),
            "enabled": data["enabled"],
            "updatedAt": data["updatedAt"],
        },
        by_alias=True,
    )
    return StoredSchedule(schedule=schedule, revision=int(data.get("revision", 0)))
