"""Delivering one push task: check it is still wanted, claim it per device, send, clean up.

Called by the `deliverPush` function for every task Cloud Tasks dispatches (at least once, and
locally the emulator may even run a duplicate). What makes a task harmless or idempotent:

- a schedule task sends nothing unless its schedule exists, is enabled, has the task's revision
  and still has that event at that instant (edits and deletes make older tasks no-ops);
- each device's push record (`shared.push.ledger`) is claimed before sending, with a
  precondition on the device document, so a redelivered task sends nothing twice;
- a retryable failure (QUOTA_EXCEEDED, UNAVAILABLE, INTERNAL) releases that device's claim and
  answers 429/503, so Cloud Tasks retries with the queue's backoff and only the devices not yet
  served get the retry; an unregistered token is removed from its device; other 4xx errors are
  logged and not retried.

Sync pushes are the first to go: dropped when a device's hourly budget is needed for schedule
pushes, when they are late, and on QUOTA_EXCEEDED (never retried for quota).
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Protocol

from shared import logs, tracing
from shared.clock import format_timestamp
from shared.push.ledger import (
    BUDGET_WINDOW,
    LOG_FIELD,
    LogEntry,
    log_to_field,
    parse_log,
    served,
    sync_allowed,
    with_claim,
    without_claim,
)
from shared.push.planning import (
    LATE_END_LIMIT,
    SYNC_MAX_AGE,
    PushKind,
    ScheduleTask,
    SyncTask,
    bucket_end,
    schedule_delivery_key,
    sync_delivery_key,
    upcoming_event_instants,
)
from shared.push.sender import OutgoingPush, Sender, SendResult
from shared.recurrence import WeeklyRule, events_between

if TYPE_CHECKING:
    from shared.devices.models import StoredDevice
    from shared.devices.repository import DeviceStore
    from shared.push.plans import PlanStore

CLAIM_ROUNDS = 5

_log = logs.get_logger("push.delivery")


# Push sits below schedules (shared/schedules imports the planner, never the other way): what
# delivery needs of a stored schedule is said here, and shared.schedules.models.StoredSchedule
# has that shape.


class ScheduleRule(Protocol):
    """The fields of a schedule a push task is checked against."""

    @property
    def id(self) -> str: ...

    @property
    def enabled(self) -> bool: ...

    def rule(self) -> WeeklyRule: ...


class StoredSchedule(Protocol):
    """A stored schedule as delivery reads it: its fields and its revision."""

    @property
    def schedule(self) -> ScheduleRule: ...

    @property
    def revision(self) -> int: ...


class ScheduleReader(Protocol):
    def get(self, uid: str, schedule_id: str) -> StoredSchedule | None: ...

    def list(self, uid: str) -> Sequence[StoredSchedule]: ...


@dataclasses.dataclass
class DeliveryReport:
    """What one delivery did. `status` is the HTTP answer for Cloud Tasks: 2xx done, 429/503
    retry later."""

    kind: PushKind
    uid: str
    outcome: str  # "done", "stale:<why>", "retry"
    status: int = 204
    devices: Counter[str] = dataclasses.field(default_factory=Counter)  # outcome -> count
    # Schedule pushes: how long after its planned instant the delivery ran (the punctuality
    # SLI, infra/modules/monitoring).
    late_ms: float | None = None

    def as_fields(self) -> dict[str, object]:
        return {
            "kind": self.kind,
            "uid": self.uid,
            "outcome": self.outcome,
            "status": self.status,
            "devices": dict(self.devices),
            "lateMs": self.late_ms,
        }


Choice = Callable[["StoredDevice", list[LogEntry]], str]  # "send" or why not


class DeliveryService:
    def __init__(
        self,
        schedules: ScheduleReader,
        devices: DeviceStore,
        sender: Sender,
        plans: PlanStore,
    ) -> None:
        self._schedules = schedules
        self._devices = devices
        self._sender = sender
        self._plans = plans

    def deliver(self, task: ScheduleTask | SyncTask, now: datetime) -> DeliveryReport:
        if isinstance(task, ScheduleTask):
            report = self._deliver_schedule(task, now)
        else:
            report = self._deliver_sync(task, now)
        _log.info(
            "push delivery %s %s", report.kind, report.outcome, extra={"fields": _fields(report)}
        )
        return report

    # -- schedule pushes ---------------------------------------------------------------------

    def _deliver_schedule(self, task: ScheduleTask, now: datetime) -> DeliveryReport:
        late_ms = round((now - task.occurrence_at).total_seconds() * 1000, 1)
        report = DeliveryReport("schedule", task.uid, "done", late_ms=late_ms)
        stored = self._schedules.get(task.uid, task.schedule_id)
        why = _schedule_stale(stored, task, now)
        if why is not None:
            report.outcome = f"stale:{why}"
            if why == "schedule_missing":
                # A plan outliving its schedule (a call racing an account deletion): stop the
                # refill from extending it.
                self._plans.discard(task.uid, task.schedule_id, task.revision)
            return report
        key = schedule_delivery_key(task.uid, task.schedule_id, task.event, task.occurrence_at)
        data = {
            "kind": "schedule",
            "scheduleId": task.schedule_id,
            "event": task.event,
            "occurrenceAt": format_timestamp(task.occurrence_at),
        }

        def choose(device: StoredDevice, entries: list[LogEntry]) -> str:
            if not device.fcm_token:
                return "no_token"
            return "duplicate" if served(entries, key) else "send"

        return self._send(report, task.uid, key, "schedule", data, choose, now)

    # -- sync pushes -------------------------------------------------------------------------

    def _deliver_sync(self, task: SyncTask, now: datetime) -> DeliveryReport:
        report = DeliveryReport("sync", task.uid, "done")
        if now - bucket_end(task.bucket) > SYNC_MAX_AGE:
            report.outcome = "stale:late"
            return report
        key = sync_delivery_key(task.uid, task.bucket)
        reserved_events: list[tuple[str, str]] | None = None  # (schedule id, key), lazily

        def upcoming() -> list[tuple[str, str]]:
            nonlocal reserved_events
            if reserved_events is None:
                rules = [
                    (s.schedule.id, s.schedule.rule())
                    for s in self._schedules.list(task.uid)
                    if s.schedule.enabled
                ]
                reserved_events = [
                    (sid, schedule_delivery_key(task.uid, sid, event, at))
                    for sid, event, at in upcoming_event_instants(rules, now, BUDGET_WINDOW)
                ]
            return reserved_events

        def choose(device: StoredDevice, entries: list[LogEntry]) -> str:
            if device.device_id == task.origin_device_id:
                return "origin"
            if not device.fcm_token:
                return "no_token"
            if served(entries, key):
                return "duplicate"
            if device.platform == "ios":
                reserved = sum(1 for _, k in upcoming() if not served(entries, k))
                if not sync_allowed(device.platform, entries, now, reserved):
                    return "dropped_budget"
            return "send"

        return self._send(report, task.uid, key, "sync", {"kind": "sync"}, choose, now)

    # -- claim, send, settle -----------------------------------------------------------------

    def _send(
        self,
        report: DeliveryReport,
        uid: str,
        key: str,
        kind: PushKind,
        data: dict[str, str],
        choose: Choice,
        now: datetime,
    ) -> DeliveryReport:
        claimed, unsettled = self._claim(uid, key, kind, choose, now, report)
        if unsettled:
            # Devices still changing under us after several rounds: let Cloud Tasks come back.
            report.devices["claim_conflict"] += len(unsettled)
            report.outcome, report.status = "retry", 503
        if not claimed:
            return report
        pushes = [
            OutgoingPush(d.device_id, d.platform, d.fcm_token or "", kind, data) for d in claimed
        ]
        with tracing.span("fcm.send", kind="client", pushKind=kind, devices=len(pushes)):
            results = self._sender.send(pushes)
        retry_codes: list[str | None] = []
        release: list[str] = []
        for result in results:
            outcome = self._settle(uid, kind, result)
            report.devices[outcome] += 1
            _log_device(uid, kind, key, result, outcome)
            if outcome == "retry":
                retry_codes.append(result.code)
            if outcome in ("retry", "dropped_quota"):
                release.append(result.push.device_id)
        if release:
            self._release(uid, key, release)
        if retry_codes:
            report.outcome = "retry"
            report.status = 429 if all(c == "QUOTA_EXCEEDED" for c in retry_codes) else 503
        return report

    def _settle(self, uid: str, kind: PushKind, result: SendResult) -> str:
        if result.outcome == "unregistered":
            cleared = self._devices.clear_token(uid, result.push.device_id, result.push.token)
            return "token_removed" if cleared else "unregistered"
        if result.outcome == "retry" and kind == "sync" and result.code == "QUOTA_EXCEEDED":
            return "dropped_quota"  # sync pushes give way first when FCM is saturated
        return result.outcome

    def _claim(
        self,
        uid: str,
        key: str,
        kind: PushKind,
        choose: Choice,
        now: datetime,
        report: DeliveryReport,
    ) -> tuple[list[StoredDevice], set[str]]:
        claimed: list[StoredDevice] = []
        pending: set[str] | None = None  # device ids still to decide; None: all of them
        for _ in range(CLAIM_ROUNDS):
            conflicts: set[str] = set()
            for device in self._devices.list_devices(uid):
                if pending is not None and device.device_id not in pending:
                    continue
                entries = parse_log(device.push_state.get(LOG_FIELD))
                choice = choose(device, entries)
                if choice != "send":
                    report.devices[choice] += 1
                    continue
                fields = {LOG_FIELD: log_to_field(with_claim(entries, key, kind, now))}
                written = self._devices.update_push_state(
                    uid, device.device_id, fields, device.update_time
                )
                if written is None:
                    conflicts.add(device.device_id)
                else:
                    claimed.append(dataclasses.replace(device, update_time=written))
            if not conflicts:
                return claimed, set()
            pending = conflicts
        return claimed, pending or set()

    def _release(self, uid: str, key: str, device_ids: Sequence[str]) -> None:
        pending = set(device_ids)
        for _ in range(CLAIM_ROUNDS):
            for device in self._devices.list_devices(uid):
                if device.device_id not in pending:
                    continue
                entries = parse_log(device.push_state.get(LOG_FIELD))
                if not served(entries, key):
                    pending.discard(device.device_id)
                    continue
                fields = {LOG_FIELD: log_to_field(without_claim(entries, key))}
                if self._devices.update_push_state(
                    uid, device.device_id, fields, device.update_time
                ):
                    pending.discard(device.device_id)
            if not pending:
                return
        _log.warning(
            "push claims not released",
            extra={"fields": {"event": "push.release_failed", "uid": uid, "devices": len(pending)}},
        )


def _schedule_stale(stored: StoredSchedule | None, task: ScheduleTask, now: datetime) -> str | None:
    """Why a schedule task must send nothing, or None when it is current."""
    if stored is None:
        return "schedule_missing"
    if not stored.schedule.enabled:
        return "disabled"
    if stored.revision != task.revision:
        return "revision"
    at = task.occurrence_at
    match = [
        o
        for event, instant, o in events_between(
            stored.schedule.rule(), at, at + timedelta(microseconds=1)
        )
        if event == task.event and instant == at
    ]
    if not match:
        return "not_an_event"
    if task.event == "start" and now >= match[0].end_at:
        return "too_late"
    if task.event == "end" and now - at > LATE_END_LIMIT:
        return "too_late"
    return None


def _fields(report: DeliveryReport) -> dict[str, object]:
    return {"event": "push.delivery", **report.as_fields()}


def _log_device(uid: str, kind: PushKind, key: str, result: SendResult, outcome: str) -> None:
    level = _log.warning if outcome in ("retry", "failed") else _log.info
    level(
        "push %s to %s: %s",
        kind,
        result.push.platform,
        outcome,
        extra={
            "fields": {
                "event": "push.send",
                "kind": kind,
                "uid": uid,
                "deviceId": result.push.device_id,
                "platform": result.push.platform,
                "deliveryKey": key,
                "outcome": outcome,
                "errorCode": result.code,
                "error": result.detail,
            }
        },
    )
