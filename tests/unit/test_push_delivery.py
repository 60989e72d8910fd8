"""Delivery decisions against in-memory devices and a recording sender: staleness checks,
idempotency, token hygiene, retries, sync coalescing and the iOS budget."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from shared.devices.models import StoredDevice
from shared.push.delivery import DeliveryService
from shared.push.ledger import LOG_FIELD, LogEntry, log_to_field, parse_log
from shared.push.planning import (
    ScheduleTask,
    SyncTask,
    schedule_delivery_key,
    sync_bucket,
)
from shared.push.plans import MemoryPlanStore, PlanRecord
from shared.push.sender import OutgoingPush, SendResult
from shared.schedules.models import Schedule, StoredSchedule

START = datetime(2026, 6, 15, 7, 0, tzinfo=UTC)  # Monday 09:00 Paris
REGISTERED = datetime(2026, 1, 1, tzinfo=UTC)


def make_schedule(**overrides: Any) -> Schedule:
    fields: dict[str, Any] = {
        "id": "s1",
        "name": "Deep work",
        "timezone": "Europe/Paris",
        "days": ["mon", "tue", "wed", "thu", "fri"],
        "start": "09:00",
        "end": "12:00",
        "blockedApps": [],
        "enabled": True,
        "updatedAt": START - timedelta(days=1),
    }
    fields.update(overrides)
    return Schedule.model_validate(fields)


class Schedules:
    def __init__(self) -> None:
        self.docs: dict[tuple[str, str], StoredSchedule] = {}

    def get(self, uid: str, schedule_id: str) -> StoredSchedule | None:
        return self.docs.get((uid, schedule_id))

    def list(self, uid: str) -> list[StoredSchedule]:
        return [s for (u, _), s in self.docs.items() if u == uid]


class Devices:
    """The push capability's view of devices (shared.devices.repository.DeviceStore)."""

    def __init__(self) -> None:
        self.docs: dict[tuple[str, str], StoredDevice] = {}
        self.version = 0
        self.conflict_once: set[str] = set()  # device ids whose next push update loses a race

    def add(self, uid: str, device_id: str, platform: str, token: str | None) -> None:
        self.version += 1
        self.docs[(uid, device_id)] = StoredDevice(
            device_id=device_id,
            platform=platform,
            app_version="1.0",
            registered_at=REGISTERED,
            fcm_token=token,
            token_updated_at=REGISTERED,
            push_state={},
            update_time=datetime.fromtimestamp(self.version, UTC),
        )

    def log(self, uid: str, device_id: str) -> list[LogEntry]:
        return parse_log(self.docs[(uid, device_id)].push_state.get(LOG_FIELD))

    def list_devices(self, uid: str) -> list[StoredDevice]:
        return [d for (u, _), d in sorted(self.docs.items()) if u == uid]

    def clear_token(self, uid: str, device_id: str, token: str) -> bool:
        device = self.docs.get((uid, device_id))
        if device is None or device.fcm_token != token:
            return False
        self._bump(uid, device_id, fcm_token=None)
        return True

    def update_push_state(
        self, uid: str, device_id: str, fields: dict[str, Any], expected_update_time: datetime
    ) -> datetime | None:
        device = self.docs.get((uid, device_id))
        if device is None or device.update_time != expected_update_time:
            return None
        if device_id in self.conflict_once:
            # Someone else (a concurrent delivery of the same task) wrote first.
            self.conflict_once.discard(device_id)
            self._bump(uid, device_id)
            return None
        return self._bump(uid, device_id, push_state={**device.push_state, **fields})

    def _bump(self, uid: str, device_id: str, **changes: Any) -> datetime:
        self.version += 1
        stamp = datetime.fromtimestamp(self.version, UTC)
        self.docs[(uid, device_id)] = dataclasses.replace(
            self.docs[(uid, device_id)], update_time=stamp, **changes
        )
        return stamp


class Sender:
    """Records what would go to FCM; a token's prefix picks FCM's answer, as the stand-in's."""

    def __init__(self) -> None:
        self.sent: list[OutgoingPush] = []

    def send(self, pushes: Sequence[OutgoingPush]) -> list[SendResult]:
        results = []
        for push in pushes:
            self.sent.append(push)
            if push.token.startswith("unregistered-"):
                results.append(SendResult(push, "unregistered", "UNREGISTERED"))
            elif push.token.startswith("quota-"):
                results.append(SendResult(push, "retry", "QUOTA_EXCEEDED"))
            elif push.token.startswith("unavailable-"):
                results.append(SendResult(push, "retry", "UNAVAILABLE"))
            elif push.token.startswith("invalid-"):
                results.append(SendResult(push, "failed", "INVALID_ARGUMENT"))
            else:
                results.append(SendResult(push, "sent"))
        return results


@dataclasses.dataclass
class World:
    schedules: Schedules
    devices: Devices
    sender: Sender
    plans: MemoryPlanStore
    service: DeliveryService


@pytest.fixture
def world() -> World:
    schedules, devices, sender, plans = Schedules(), Devices(), Sender(), MemoryPlanStore()
    schedules.docs[("u1", "s1")] = StoredSchedule(make_schedule(), revision=10)
    devices.add("u1", "phone", "ios", "tok-phone")
    devices.add("u1", "pixel", "android", "tok-pixel")
    return World(
        schedules, devices, sender, plans, DeliveryService(schedules, devices, sender, plans)
    )


def start_task(**overrides: Any) -> ScheduleTask:
    fields: dict[str, Any] = {
        "uid": "u1",
        "schedule_id": "s1",
        "revision": 10,
        "event": "start",
        "occurrence_at": START,
    }
    fields.update(overrides)
    return ScheduleTask(**fields)


def test_a_start_push_goes_to_every_device_with_the_event_data(world: World) -> None:
    report = world.service.deliver(start_task(), START - timedelta(minutes=3))
    assert (report.status, report.outcome) == (204, "done")
    assert sorted(p.device_id for p in world.sender.sent) == ["phone", "pixel"]
    assert {p.kind for p in world.sender.sent} == {"schedule"}
    assert world.sender.sent[0].data == {
        "kind": "schedule",
        "scheduleId": "s1",
        "event": "start",
        "occurrenceAt": "2026-06-15T07:00:00.000Z",
    }


def test_a_redelivered_task_sends_nothing_twice(world: World) -> None:
    world.service.deliver(start_task(), START)
    again = world.service.deliver(start_task(), START + timedelta(seconds=1))
    assert len(world.sender.sent) == 2
    assert again.status == 204 and again.devices["duplicate"] == 2


def test_a_task_of_another_revision_with_the_same_event_sends_nothing_twice(world: World) -> None:
    world.service.deliver(start_task(), START)
    # The schedule is renamed: a new revision plans the same event again.
    stored = world.schedules.docs[("u1", "s1")]
    world.schedules.docs[("u1", "s1")] = StoredSchedule(stored.schedule, revision=11)
    world.service.deliver(start_task(revision=11), START)
    assert len(world.sender.sent) == 2


def test_a_concurrent_claim_is_detected_and_not_sent_twice(world: World) -> None:
    world.devices.conflict_once.add("phone")
    report = world.service.deliver(start_task(), START)
    # The phone's document changed under us; the re-read decides again and still sends once.
    assert sorted(p.device_id for p in world.sender.sent) == ["phone", "pixel"]
    assert report.status == 204


@pytest.mark.parametrize(
    ("change", "why"),
    [
        (lambda w: w.schedules.docs.clear(), "stale:schedule_missing"),
        (
            lambda w: w.schedules.docs.update(
                {("u1", "s1"): StoredSchedule(make_schedule(enabled=False), 10)}
            ),
            "stale:disabled",
        ),
        (
            lambda w: w.schedules.docs.update({("u1", "s1"): StoredSchedule(make_schedule(), 11)}),
            "stale:revision",
        ),
        (
            lambda w: w.schedules.docs.update(
                {("u1", "s1"): StoredSchedule(make_schedule(start="10:00"), 10)}
            ),
            "stale:not_an_event",
        ),
    ],
)
def test_stale_tasks_send_nothing(world: World, change: Any, why: str) -> None:
    change(world)
    report = world.service.deliver(start_task(), START)
    assert (report.status, report.outcome) == (204, why)
    assert world.sender.sent == []


def test_a_start_too_late_for_its_block_is_dropped(world: World) -> None:
    report = world.service.deliver(start_task(), START + timedelta(hours=3))
    assert report.outcome == "stale:too_late" and world.sender.sent == []


def test_schedule_deliveries_log_how_late_they_ran(world: World) -> None:
    """`lateMs` feeds the punctuality SLI (infra/modules/monitoring): early is negative."""
    late = world.service.deliver(start_task(), START + timedelta(seconds=12))
    assert late.as_fields()["lateMs"] == 12_000.0
    early = world.service.deliver(start_task(), START - timedelta(minutes=3))
    assert early.as_fields()["lateMs"] == -180_000.0
    too_late = world.service.deliver(start_task(), START + timedelta(hours=3))
    assert (too_late.outcome, too_late.late_ms) == ("stale:too_late", 3 * 3600 * 1000.0)


def test_an_orphaned_plan_is_dropped_when_its_schedule_is_gone(world: World) -> None:
    world.plans.put(PlanRecord("u1", "s1", 10, "UTC", ("mon",), "09:00", "10:00", True, START))
    world.schedules.docs.clear()
    world.service.deliver(start_task(), START)
    assert world.plans.plans == {}


def test_an_unregistered_token_is_removed_and_not_retried(world: World) -> None:
    world.devices.add("u1", "old-ipad", "ios", "unregistered-ipad")
    report = world.service.deliver(start_task(), START)
    assert report.status == 204
    assert report.devices["token_removed"] == 1
    assert world.devices.docs[("u1", "old-ipad")].fcm_token is None
    # The next push does not try it again.
    world.service.deliver(start_task(event="end", occurrence_at=START + timedelta(hours=3)), START)
    assert [p.device_id for p in world.sender.sent].count("old-ipad") == 1


@pytest.mark.parametrize(("token", "status"), [("quota-x", 429), ("unavailable-x", 503)])
def test_retryable_failures_retry_only_the_devices_not_served(
    world: World, token: str, status: int
) -> None:
    world.devices.add("u1", "flaky", "android", token)
    first = world.service.deliver(start_task(), START)
    assert first.status == status
    # Cloud Tasks retries: the served devices are skipped, the flaky one is tried again.
    second = world.service.deliver(start_task(), START + timedelta(seconds=10))
    assert second.status == status
    sent = [p.device_id for p in world.sender.sent]
    assert sent.count("phone") == sent.count("pixel") == 1
    assert sent.count("flaky") == 2
    assert world.devices.log("u1", "flaky") == []  # the claim was released


def test_other_client_errors_are_logged_and_not_retried(world: World) -> None:
    world.devices.add("u1", "broken", "android", "invalid-x")
    report = world.service.deliver(start_task(), START)
    assert report.status == 204 and report.devices["failed"] == 1


def test_devices_without_a_token_are_skipped(world: World) -> None:
    world.devices.add("u1", "tokenless", "ios", None)
    report = world.service.deliver(start_task(), START)
    assert report.devices["no_token"] == 1 and len(world.sender.sent) == 2


# -- sync pushes -------------------------------------------------------------------------------


def sync_task(at: datetime, origin: str = "phone") -> SyncTask:
    return SyncTask(uid="u1", origin_device_id=origin, bucket=sync_bucket(at))


def test_a_sync_push_goes_to_the_other_devices_only(world: World) -> None:
    at = START + timedelta(hours=5)
    report = world.service.deliver(sync_task(at), at + timedelta(seconds=30))
    assert report.status == 204
    assert [(p.device_id, p.kind, dict(p.data)) for p in world.sender.sent] == [
        ("pixel", "sync", {"kind": "sync"})
    ]


def test_syncs_of_two_devices_in_one_bucket_push_each_device_once(world: World) -> None:
    world.devices.add("u1", "tablet", "android", "tok-tablet")
    at = START + timedelta(hours=5)
    world.service.deliver(sync_task(at, "phone"), at + timedelta(seconds=30))
    world.service.deliver(sync_task(at, "pixel"), at + timedelta(seconds=30))
    sent = sorted(p.device_id for p in world.sender.sent)
    # phone's sync woke pixel and tablet; pixel's woke phone (tablet already had this bucket).
    assert sent == ["phone", "pixel", "tablet"]


def test_a_late_sync_push_is_dropped(world: World) -> None:
    at = START + timedelta(hours=5)
    report = world.service.deliver(sync_task(at), at + timedelta(minutes=20))
    assert report.outcome == "stale:late" and world.sender.sent == []


def recent(world: World, device: str, *ages: timedelta, now: datetime) -> None:
    entries = [LogEntry(f"k{i}", now - age, "schedule") for i, age in enumerate(ages)]
    world.devices.update_push_state(
        "u1",
        device,
        {LOG_FIELD: log_to_field(entries)},
        world.devices.docs[("u1", device)].update_time,
    )


def test_ios_sync_pushes_stop_at_three_an_hour_android_ones_do_not(world: World) -> None:
    now = START + timedelta(hours=5)  # 14:00 Paris, no block before tomorrow
    world.devices.add("u1", "watch-origin", "android", "tok-origin")
    recent(world, "phone", timedelta(minutes=10), timedelta(minutes=50), now=now)
    recent(world, "pixel", *(timedelta(minutes=m) for m in (5, 10, 15, 20)), now=now)
    first = world.service.deliver(sync_task(now, "watch-origin"), now)
    assert sorted(p.device_id for p in world.sender.sent) == ["phone", "pixel"]  # 3rd this hour
    later = now + timedelta(minutes=1)
    world.sender.sent.clear()
    second = world.service.deliver(sync_task(later, "watch-origin"), later)
    assert [p.device_id for p in world.sender.sent] == ["pixel"]
    assert first.status == second.status == 204
    assert second.devices["dropped_budget"] == 1


def test_ios_sync_push_gives_way_to_schedule_pushes_due_within_the_hour(world: World) -> None:
    before_block = START - timedelta(minutes=40)  # the 09:00 start is due within the hour
    world.devices.add("u1", "origin", "android", "tok-origin")
    recent(world, "phone", timedelta(minutes=30), now=before_block)
    world.service.deliver(sync_task(before_block, "origin"), before_block)
    # 1 sent this hour + the 09:00 start that may go within the hour (the 12:00 end cannot) +
    # this sync = 3: it still fits.
    assert sorted(p.device_id for p in world.sender.sent) == ["phone", "pixel"]
    recent(world, "phone", timedelta(minutes=30), timedelta(minutes=31), now=before_block)
    world.sender.sent.clear()
    later = before_block + timedelta(minutes=1)
    report = world.service.deliver(sync_task(later, "origin"), later)
    assert [p.device_id for p in world.sender.sent] == ["pixel"]
    assert report.devices["dropped_budget"] == 1
    # Schedule pushes are never held back by the budget.
    world.sender.sent.clear()
    world.service.deliver(start_task(), START - timedelta(minutes=10))
    assert sorted(p.device_id for p in world.sender.sent) == ["origin", "phone", "pixel"]


def test_a_schedule_push_already_delivered_is_not_reserved(world: World) -> None:
    before_block = START - timedelta(minutes=20)
    world.devices.add("u1", "origin", "android", "tok-origin")
    world.service.deliver(start_task(), before_block)  # the early start push went out
    recent_entries = world.devices.log("u1", "phone")
    assert schedule_delivery_key("u1", "s1", "start", START) in {e.key for e in recent_entries}
    world.sender.sent.clear()
    world.service.deliver(sync_task(before_block, "origin"), before_block)
    assert sorted(p.device_id for p in world.sender.sent) == ["phone", "pixel"]


def test_sync_pushes_are_dropped_not_retried_on_quota(world: World) -> None:
    world.devices.add("u1", "busy", "android", "quota-busy")
    at = START + timedelta(hours=5)
    report = world.service.deliver(sync_task(at), at)
    assert report.status == 204 and report.devices["dropped_quota"] == 1
