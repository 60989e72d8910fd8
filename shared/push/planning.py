"""Pure planning of silent pushes: which Cloud Tasks to create, their names, queues and times.

No I/O here. A schedule push is one task per (user, schedule, revision, occurrence instant,
event); a sync push is one task per (user, 30 s bucket), whatever device ids the syncs name:
a client chooses its device id, so a name that held it would let one account fill the shared
sync queues with a task per call. Names are sha256 hex
digests (Cloud Tasks advises well-distributed names: sequential ones hot-spot its index), so
planning the same thing twice yields the same name and production Cloud Tasks answers
ALREADY_EXISTS instead of creating a duplicate. Delivery never relies on that (the local
emulator accepts duplicates): each device keeps a record of the pushes it was sent, keyed by
`delivery_key`, which leaves the revision out so an edit that does not move an event does not
push it twice.

Timing (see docs/PUSH.md for the arithmetic): a push for an event planned more than
`LEAD_WINDOW` ahead is sent early by a deterministic offset in [0, LEAD_WINDOW), so the 09:00
peak of millions of blocks is spread over ten minutes (sized in `peak.py`) instead of hitting
FCM in one second; the data carries `occurrenceAt`, so the app still acts at the exact instant.
An event planned closer than that (a block created minutes before it starts) is sent at its
instant.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Annotated, Literal

from pydantic import Field, TypeAdapter

from shared import registry
from shared.clock import format_timestamp
from shared.push import peak
from shared.recurrence import (
    EventKind,
    WeeklyRule,
    events_between,
    occurrences,
)
from shared.wire import Timestamp, WireModel

# -- tuning (the figures behind them are in docs/PUSH.md) ------------------------------------

LEAD_WINDOW = peak.plan().lead_window
"""Pushes of events planned further ahead than this are spread over this window before them
(10 minutes: sized from the 09:00 peak in shared/push/peak.py)."""
HORIZON = timedelta(hours=72)
"""Tasks exist for events up to this far ahead (Cloud Tasks accepts at most 30 days)."""
LOW_WATER = timedelta(hours=24)
"""The hourly refill extends schedules planned less than this far ahead, up to `HORIZON`."""
SYNC_BUCKET = timedelta(seconds=30)
"""Syncs of one device within one bucket make one sync push, sent when the bucket ends."""
SYNC_MAX_AGE = timedelta(minutes=10)
"""A sync push still undelivered this long after its bucket ended is dropped, not sent."""
LATE_END_LIMIT = timedelta(hours=6)
"""An end push delivered this late (after retries) is dropped: the app has moved on."""

SCHEDULE_QUEUE = "push-schedule"  # shared/registry.py declares both, with their shards
SYNC_QUEUE = "push-sync"

PushKind = Literal["schedule", "sync"]


# -- task bodies (JSON, camelCase) ------------------------------------------------------------


class ScheduleTask(WireModel):
    """Body of a schedule push task."""

    kind: Literal["schedule"] = "schedule"
    uid: str = Field(min_length=1, max_length=128)
    schedule_id: str = Field(min_length=1, max_length=64)
    revision: int = Field(ge=0)
    event: EventKind
    occurrence_at: Timestamp


class SyncTask(WireModel):
    """Body of a sync push task: tell `uid`'s devices other than the origin to sync."""

    kind: Literal["sync"] = "sync"
    uid: str = Field(min_length=1, max_length=128)
    origin_device_id: str = Field(min_length=1, max_length=128)
    bucket: int = Field(ge=0)


TaskBody = Annotated[ScheduleTask | SyncTask, Field(discriminator="kind")]
_BODY: TypeAdapter[ScheduleTask | SyncTask] = TypeAdapter(TaskBody)


def encode_body(body: ScheduleTask | SyncTask) -> bytes:
    return body.model_dump_json(by_alias=True).encode()


def decode_body(raw: bytes) -> ScheduleTask | SyncTask:
    """The task body; pydantic.ValidationError when it is not one."""
    return _BODY.validate_json(raw, by_alias=True, by_name=False)


# -- names, keys, shards, times ---------------------------------------------------------------


def _digest(*parts: str) -> str:
    # NUL cannot occur in uids, ids or timestamps, so the join is unambiguous.
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()


def schedule_task_name(
    uid: str, schedule_id: str, revision: int, event: EventKind, at: datetime
) -> str:
    """Cloud Tasks task id (64 hex) of one schedule event of one revision."""
    return _digest("schedule", uid, schedule_id, str(revision), event, format_timestamp(at))


def schedule_delivery_key(uid: str, schedule_id: str, event: EventKind, at: datetime) -> str:
    """What a device's push record remembers: the event, whatever revision planned it."""
    return _digest("schedule", uid, schedule_id, event, format_timestamp(at))[:32]


def sync_bucket(at: datetime) -> int:
    return int(at.timestamp() // SYNC_BUCKET.total_seconds())


def bucket_end(bucket: int) -> datetime:
    return datetime.fromtimestamp((bucket + 1) * SYNC_BUCKET.total_seconds(), UTC)


def sync_task_name(uid: str, bucket: int) -> str:
    return _digest("sync-user", uid, str(bucket))


def sync_delivery_key(uid: str, bucket: int) -> str:
    """Per device and bucket, whatever the origin: two devices syncing at once make one push."""
    return _digest("sync", uid, str(bucket))[:32]


def shard_of(name: str, shards: int) -> int:
    """Spread tasks evenly over a queue's shards by their (uniformly distributed) name."""
    return int(name[:8], 16) % shards


def queue_for(kind: PushKind, name: str) -> str:
    """The queue shard of a task, e.g. `push-schedule-7`."""
    shards = registry.queue(SCHEDULE_QUEUE if kind == "schedule" else SYNC_QUEUE).shard_names()
    return shards[shard_of(name, len(shards))]


def lead_offset(key: str, window: timedelta = LEAD_WINDOW) -> timedelta:
    """Deterministic offset in [0, window) from a delivery key (uniform over the window)."""
    millis = int(window.total_seconds() * 1000)
    if millis <= 0:
        return timedelta(0)
    return timedelta(milliseconds=int(key[-12:], 16) % millis)


def send_time(
    event_at: datetime, key: str, planned_at: datetime, window: timedelta = LEAD_WINDOW
) -> datetime:
    """When to dispatch the push of an event at `event_at`, planned at `planned_at`.

    Far events are sent early by `lead_offset`; near ones at their instant; past ones at once.
    """
    if event_at - planned_at > window:
        return event_at - lead_offset(key, window)
    return max(event_at, planned_at)


# -- plans ------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class PlannedTask:
    """One Cloud Task to create: its queue shard, id, dispatch time and body."""

    queue: str
    name: str
    send_at: datetime
    body: ScheduleTask | SyncTask


@dataclasses.dataclass(frozen=True)
class ScheduleRef:
    uid: str
    schedule_id: str
    revision: int


def plan_schedule(
    ref: ScheduleRef,
    rule: WeeklyRule,
    *,
    start: datetime,
    end: datetime,
    planned_at: datetime,
    catch_up: bool = False,
    window: timedelta = LEAD_WINDOW,
) -> list[PlannedTask]:
    """Tasks for every event of `rule` in `[start, end)`, in time order.

    `catch_up`: also push the start of an occurrence in progress at `planned_at` (a schedule
    just created or changed during one of its blocks), at once. Devices that already had that
    start from an earlier revision skip it by their push record.
    """
    tasks: list[PlannedTask] = []
    start_sent: dict[datetime, datetime] = {}  # occurrence start -> send time of its start push
    if catch_up:
        current = occurrences(rule, not_ended_after=planned_at, limit=1)
        if current and current[0].start_at < planned_at and current[0].start_at < start:
            tasks.append(_schedule_task(ref, "start", current[0].start_at, planned_at, window))
            start_sent[current[0].start_at] = planned_at
    for event, at, occurrence in events_between(rule, start, end):
        task = _schedule_task(ref, event, at, planned_at, window)
        if event == "start":
            start_sent[at] = task.send_at
        else:
            # Never announce the end of a block before its start (both may be sent early).
            begun = start_sent.get(occurrence.start_at)
            if begun is None and occurrence.start_at >= planned_at:
                key = schedule_delivery_key(ref.uid, ref.schedule_id, "start", occurrence.start_at)
                begun = send_time(occurrence.start_at, key, planned_at, window)
            if begun is not None and task.send_at < begun:
                task = dataclasses.replace(task, send_at=begun)
        tasks.append(task)
    return tasks


def _schedule_task(
    ref: ScheduleRef, event: EventKind, at: datetime, planned_at: datetime, window: timedelta
) -> PlannedTask:
    name = schedule_task_name(ref.uid, ref.schedule_id, ref.revision, event, at)
    key = schedule_delivery_key(ref.uid, ref.schedule_id, event, at)
    body = ScheduleTask(
        uid=ref.uid,
        schedule_id=ref.schedule_id,
        revision=ref.revision,
        event=event,
        occurrence_at=at,
    )
    return PlannedTask(
        queue=queue_for("schedule", name),
        name=name,
        send_at=send_time(at, key, planned_at, window),
        body=body,
    )


def planned_task_refs(
    ref: ScheduleRef, rule: WeeklyRule, *, after: datetime, until: datetime
) -> list[tuple[str, str]]:
    """(queue, name) of the tasks a plan made for events in `[after, until)`: what to delete
    when the schedule is edited or deleted (tasks already run simply fail to be found)."""
    return [
        (queue_for("schedule", name), name)
        for event, at, _ in events_between(rule, after, until)
        for name in [schedule_task_name(ref.uid, ref.schedule_id, ref.revision, event, at)]
    ]


def plan_sync(uid: str, origin_device_id: str, requested_at: datetime) -> PlannedTask:
    """The one task of a burst of syncs of `uid` (same 30 s bucket). Its body names the device
    whose sync created it, which is not woken; when two devices sync within one bucket, the
    second is woken by the first's task and pulls its own change: one redundant pull, rare,
    against a task per device id a client could invent."""
    bucket = sync_bucket(requested_at)
    name = sync_task_name(uid, bucket)
    return PlannedTask(
        queue=queue_for("sync", name),
        name=name,
        send_at=bucket_end(bucket),
        body=SyncTask(uid=uid, origin_device_id=origin_device_id, bucket=bucket),
    )


def pending_sync_task_refs(uid: str, now: datetime) -> list[tuple[str, str]]:
    """(queue, name) of every sync push of `uid` that may still be queued at `now`: one per
    bucket, from the oldest bucket a delivery would still send to the current one."""
    first = sync_bucket(now - SYNC_MAX_AGE - SYNC_BUCKET)
    names = [sync_task_name(uid, bucket) for bucket in range(first, sync_bucket(now) + 1)]
    return [(queue_for("sync", name), name) for name in names]


def upcoming_event_instants(
    rules: Sequence[tuple[str, WeeklyRule]], now: datetime, within: timedelta
) -> list[tuple[str, EventKind, datetime]]:
    """(schedule id, event, instant) of every event whose push may be sent in (now, now+within].

    A push goes out at most `LEAD_WINDOW` before its event, so events up to
    `within + LEAD_WINDOW` ahead count; used to keep budget for schedule pushes.
    """
    found: list[tuple[str, EventKind, datetime]] = []
    for schedule_id, rule in rules:
        for event, at, _ in events_between(rule, now, now + within + LEAD_WINDOW):
            if at > now:
                found.append((schedule_id, event, at))
    return found
