"""The FCM message of a push (its exact JSON), how FCM errors are classified, the push record,
the sync notifier and the refill, all without I/O."""

from __future__ import annotations

import itertools
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from firebase_admin import exceptions, messaging

from shared.push.ledger import (
    IOS_BACKGROUND_BUDGET,
    LOG_MAX_ENTRIES,
    LOG_RETENTION,
    LogEntry,
    log_to_field,
    parse_log,
    sync_allowed,
    with_claim,
    without_claim,
)
from shared.push.planner import PushPlanner
from shared.push.planning import HORIZON, LOW_WATER, ScheduleTask, SyncTask
from shared.push.plans import MemoryPlanStore, PlanRecord
from shared.push.refill import RefillService, Slice, split
from shared.push.sender import OutgoingPush, build_message, classify
from shared.push.sync import SyncPushNotifier
from shared.push.tasks import MemoryTaskQueue

NOW = datetime(2026, 6, 15, 6, 0, tzinfo=UTC)


def encoded(message: messaging.Message) -> dict[str, Any]:
    """The JSON firebase-admin puts in `message` of the HTTP v1 request."""
    return dict(json.loads(str(message)))


DATA = {"kind": "schedule", "scheduleId": "s1", "event": "start", "occurrenceAt": "x"}


def test_ios_message_is_a_background_push_and_nothing_else() -> None:
    message = encoded(build_message(OutgoingPush("d", "ios", "tok", "schedule", DATA)))
    assert message == {
        "token": "tok",
        "data": DATA,
        "apns": {
            "headers": {"apns-push-type": "background", "apns-priority": "5"},
            "payload": {"aps": {"content-available": 1}},
        },
    }


def test_android_messages_are_data_only() -> None:
    schedule = encoded(build_message(OutgoingPush("d", "android", "tok", "schedule", DATA)))
    assert schedule == {"token": "tok", "data": DATA, "android": {"priority": "high"}}
    sync = encoded(build_message(OutgoingPush("d", "android", "tok", "sync", {"kind": "sync"})))
    assert sync == {
        "token": "tok",
        "data": {"kind": "sync"},
        "android": {"priority": "normal", "collapse_key": "sync"},
    }


def test_building_a_message_raises_no_deprecation_warning() -> None:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        build_message(OutgoingPush("d", "ios", "tok", "sync", {"kind": "sync"}))


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (None, ("sent", None)),
        (messaging.UnregisteredError("gone"), ("unregistered", "UNREGISTERED")),
        (messaging.QuotaExceededError("slow down"), ("retry", "QUOTA_EXCEEDED")),
        (exceptions.UnavailableError("down"), ("retry", "UNAVAILABLE")),
        (exceptions.InternalError("oops"), ("retry", "INTERNAL")),
        (exceptions.InvalidArgumentError("bad"), ("failed", "INVALID_ARGUMENT")),
        (messaging.SenderIdMismatchError("other"), ("failed", "PERMISSION_DENIED")),
        (messaging.ThirdPartyAuthError("apns"), ("failed", "UNAUTHENTICATED")),
        (ConnectionError("reset"), ("retry", "ConnectionError")),
    ],
)
def test_fcm_errors_are_classified(error: Exception | None, expected: tuple[str, Any]) -> None:
    assert classify(error) == expected


# -- the push record ---------------------------------------------------------------------------


def test_the_record_round_trips_and_ignores_junk() -> None:
    entries = [LogEntry("a", NOW, "schedule"), LogEntry("b", NOW, "sync")]
    assert parse_log(log_to_field(entries)) == entries
    assert parse_log([{"k": 1}, "junk", {"k": "c", "t": NOW, "c": "other"}]) == []
    assert parse_log(None) == []


def test_claims_are_pruned_by_age_and_count() -> None:
    old = LogEntry("old", NOW - LOG_RETENTION, "schedule")
    entries = [old] + [LogEntry(f"k{i}", NOW - timedelta(minutes=i), "sync") for i in range(30)]
    claimed = with_claim(entries, "new", "schedule", NOW)
    assert len(claimed) == LOG_MAX_ENTRIES
    assert claimed[-1] == LogEntry("new", NOW, "schedule")
    assert "old" not in {e.key for e in claimed}
    assert "new" not in {e.key for e in without_claim(claimed, "new")}


def test_budget_counts_the_last_hour() -> None:
    entries = [LogEntry("a", NOW - timedelta(minutes=59), "sync")]
    assert sync_allowed("ios", entries, NOW, reserved_for_schedules=1)
    assert not sync_allowed("ios", entries, NOW, reserved_for_schedules=2)
    older = [LogEntry("a", NOW - timedelta(minutes=61), "sync")] * IOS_BACKGROUND_BUDGET
    assert sync_allowed("ios", older, NOW, reserved_for_schedules=0)
    assert sync_allowed("android", older * 10, NOW, reserved_for_schedules=5)


# -- the sync notifier -------------------------------------------------------------------------


def test_a_burst_of_syncs_makes_one_task() -> None:
    queue = MemoryTaskQueue()
    clock = iter([NOW + timedelta(seconds=s) for s in (1, 5, 9, 29, 31)])
    notify = SyncPushNotifier(queue, clock=lambda: next(clock))
    for _ in range(5):
        notify("u1", "phone")
    tasks = sorted(queue.tasks.values(), key=lambda t: t.send_at)
    assert [t.send_at for t in tasks] == [NOW + timedelta(seconds=30), NOW + timedelta(seconds=60)]
    assert all(isinstance(t.body, SyncTask) and t.body.origin_device_id == "phone" for t in tasks)


def test_a_failed_enqueue_never_fails_the_sync() -> None:
    queue = MemoryTaskQueue()
    queue.fail_next = 1
    notify = SyncPushNotifier(queue, clock=lambda: NOW)
    notify.notify_other_devices("u1", "phone")  # no exception
    notify.notify_other_devices("u1", "phone")  # not remembered as enqueued: tried again
    assert len(queue.tasks) == 1


# -- the refill --------------------------------------------------------------------------------


def plan(uid: str, until: datetime | None, **overrides: Any) -> PlanRecord:
    fields: dict[str, Any] = {
        "uid": uid,
        "schedule_id": "s1",
        "revision": 1,
        "timezone": "UTC",
        "days": ("mon", "tue", "wed", "thu", "fri", "sat", "sun"),
        "start": "09:00",
        "end": "10:00",
        "enabled": until is not None,
        "planned_until": until,
    }
    fields.update(overrides)
    return PlanRecord(**fields)


class Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        self.t += 1.0
        return self.t


def refill_world() -> tuple[MemoryPlanStore, MemoryTaskQueue, list[bytes], RefillService]:
    plans, queue, published = MemoryPlanStore(), MemoryTaskQueue(), list[bytes]()
    service = RefillService(plans, PushPlanner(queue, plans), published.append, Clock())
    return plans, queue, published, service


def test_the_tick_fans_out_into_slices_covering_the_due_range() -> None:
    plans, _, published, service = refill_world()
    plans.put(plan("old", NOW - timedelta(hours=3)))
    report = service.handle(b"", NOW, budget_s=100)
    slices = [Slice.decode(raw) for raw in published]
    assert report.slices_published == len(slices) == 8
    assert slices[0] is not None and slices[0].since is None
    assert slices[-1] is not None and slices[-1].before == NOW + LOW_WATER
    assert all(a and b and a.before == b.since for a, b in itertools.pairwise(slices))
    assert service.handle(b"", NOW, 100).slices_published == 8  # nothing moved yet
    assert split(NOW, None) == []


def test_a_slice_extends_only_plans_running_short() -> None:
    plans, queue, _, service = refill_world()
    plans.put(plan("short", NOW + timedelta(hours=2)))
    plans.put(plan("behind", NOW - timedelta(hours=30)))
    plans.put(plan("fine", NOW + timedelta(hours=40)))
    plans.put(plan("disabled", None))
    report = service.run(Slice(before=NOW + LOW_WATER), NOW, budget_s=100)
    assert report.plans == 2 and not report.continued
    assert plans.plans[("short", "s1")].planned_until == NOW + HORIZON
    assert plans.plans[("behind", "s1")].planned_until == NOW + HORIZON
    assert plans.plans[("fine", "s1")].planned_until == NOW + timedelta(hours=40)
    by_user: dict[str, list[ScheduleTask]] = {}
    for task in queue.tasks.values():
        assert isinstance(task.body, ScheduleTask)
        by_user.setdefault(task.body.uid, []).append(task.body)
    # "short" gets the events from its old plannedUntil on: none repeated.
    assert min(b.occurrence_at for b in by_user["short"]) >= NOW + timedelta(hours=2)
    # A second run finds nothing to do.
    assert service.run(Slice(before=NOW + LOW_WATER), NOW, 100).plans == 0


def test_a_slice_out_of_time_publishes_its_continuation() -> None:
    plans, _, published, service = refill_world()
    for i in range(5):
        plans.put(plan(f"u{i}", NOW + timedelta(hours=1)))
    report = service.run(Slice(before=NOW + LOW_WATER), NOW, budget_s=0.5)
    assert report.continued and published == [Slice(before=NOW + LOW_WATER).encode()]


def test_failed_plans_stay_due_for_the_next_run() -> None:
    plans, queue, _, service = refill_world()
    plans.put(plan("u1", NOW + timedelta(hours=1)))
    queue.fail_next = 1
    report = service.run(Slice(before=NOW + LOW_WATER), NOW, 100)
    assert report.failed == 1
    assert plans.plans[("u1", "s1")].planned_until == NOW + timedelta(hours=1)


def test_http2_request_bodies_are_firebase_admins_json_with_each_token() -> None:
    """The HTTP/2 sender encodes a message once per (platform, kind, data) and splices each
    token in: every body must still be exactly firebase-admin's JSON of that push."""
    from shared.push.h2_sender import message_bodies

    pushes = [
        OutgoingPush("a", "ios", "tok-a", "schedule", {"kind": "schedule", "event": "start"}),
        OutgoingPush("b", "ios", 'tok"b\\é', "schedule", {"event": "start", "kind": 'sché"d'}),
        OutgoingPush("c", "android", "tok-c", "schedule", {"kind": "schedule"}),
        OutgoingPush("d", "android", "tok-d", "sync", {"kind": "sync"}),
        OutgoingPush("e", "android", "tok-e", "sync", {}),
        OutgoingPush("f", "android", "tok-f", "schedule", {}),  # same data, other kind
    ]
    bodies = message_bodies(pushes)
    assert len(bodies) == len(pushes)
    for push, body in zip(pushes, bodies, strict=True):
        assert json.loads(body) == {"message": encoded(build_message(push))}


def test_http2_request_bodies_refuse_data_that_is_not_strings() -> None:
    from shared.push.h2_sender import message_bodies

    bad = OutgoingPush("a", "ios", "tok", "schedule", {"n": 1})  # type: ignore[dict-item]
    with pytest.raises(ValueError, match="dict of strings"):
        message_bodies([bad])


def test_http2_request_header_blocks_decode_to_each_requests_headers() -> None:
    """The sender's HPACK encoder reuses the block of the constant headers: decoded in order by
    a peer's decoder, every block must still give exactly that request's headers, across a
    new token (another header list) and a table size the peer asked for."""
    from hpack import Decoder, NeverIndexedHeaderTuple

    from shared.push.h2_sender import _RequestEncoder

    def headers(token: bytes) -> list[tuple[bytes, bytes]]:
        return [
            (b":method", b"POST"),
            (b":scheme", b"https"),
            (b":path", b"/v1/projects/p/messages:send"),
            (b"authorization", b"Bearer " + token),
        ]

    encoder, decoder = _RequestEncoder(), Decoder()
    blocks: set[bytes] = set()
    for n in range(300):
        fixed = headers(b"a" * 150 if n < 150 else b"b" * 150)
        if n == 200:
            encoder.header_table_size = 256  # too small for the token: blocks change again
        if n == 230:
            encoder.header_table_size = 4096
        if n == 100:  # the peer's decoder sees the same entry come in
            encoder.header_table.add(b"x-other", b"1")
            decoder.header_table.add(b"x-other", b"1")
        length = NeverIndexedHeaderTuple(b"content-length", b"%d" % (100 + n % 37))
        block = encoder.encode([*fixed, length])
        decoded = [(bytes(k), bytes(v)) for k, v in decoder.decode(block, raw=True)]
        assert decoded == [*fixed, (b"content-length", b"%d" % (100 + n % 37))], n
        blocks.add(block[: -len(length[1]) - 3])
    assert len(blocks) < 20  # the constant part was reused, not re-encoded each time
