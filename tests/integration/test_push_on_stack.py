"""Schedules and silent pushes on the local stack: tasks in the Cloud Tasks emulator, deliverPush
over HTTP (with the stack's task secret) sending through firebase-admin to the FCM stand-in."""

from __future__ import annotations

import base64
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import requests

from devstack.stack import TASK_SECRET_HEADER as STACK_SECRET_HEADER
from devstack.stack import Stack
from shared import registry
from shared.push.planning import (
    LEAD_WINDOW,
    ScheduleTask,
    SyncTask,
    decode_body,
    encode_body,
    lead_offset,
    planned_task_refs,
    schedule_delivery_key,
    schedule_task_name,
    sync_bucket,
    sync_task_name,
)
from shared.push.plans import plan_id
from shared.push.refill import Slice
from shared.push.tasks import TASK_SECRET_HEADER
from shared.recurrence import EventKind
from tests.support.auth import sign_up, unsigned_token
from tests.support.callables import FunctionsClient

pytestmark = pytest.mark.stack

PARIS = ZoneInfo("Europe/Paris")
DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def test_our_secret_header_is_the_stacks() -> None:
    assert TASK_SECRET_HEADER == STACK_SECRET_HEADER


class Pushes:
    """A user with devices, and helpers to drive schedules and deliveries over HTTP."""

    def __init__(self, stack: Stack, client: FunctionsClient, project_id: str) -> None:
        self.stack = stack
        self.client = client
        self.uid = f"u-{uuid.uuid4().hex[:10]}"
        self.token = unsigned_token(self.uid, project_id)

    def call(self, name: str, data: Any) -> Any:
        result = self.client.call(name, data, self.token)
        assert result.status == 200, result.body
        return result.result

    def device(self, device_id: str, platform: str, fcm_token: str) -> str:
        self.call(
            "registerDevice",
            {"deviceId": device_id, "platform": platform, "fcmToken": fcm_token},
        )
        return fcm_token

    def schedule(self, starts_at: datetime, minutes: int, **overrides: Any) -> dict[str, Any]:
        local = starts_at.astimezone(PARIS)
        data: dict[str, Any] = {
            "id": f"s-{uuid.uuid4().hex[:8]}",
            "name": "Deep work",
            "timezone": "Europe/Paris",
            "days": [DAY_NAMES[local.weekday()]],
            "start": local.strftime("%H:%M"),
            "end": (local + timedelta(minutes=minutes)).strftime("%H:%M"),
            "blockedApps": ["com.example.social"],
            "enabled": True,
            "updatedAt": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
        }
        data.update(overrides)
        return dict(self.call("upsertSchedule", {"schedule": data}))

    def deliver(self, body: ScheduleTask | SyncTask, secret: str | None = None) -> int:
        headers = {"Content-Type": "application/json"}
        headers[TASK_SECRET_HEADER] = self.stack.task_secret if secret is None else secret
        response = requests.post(
            f"{self.stack.functions_base_url}/deliverPush",
            data=encode_body(body),
            headers=headers,
            timeout=60,
        )
        return response.status_code

    def messages(self, *tokens: str) -> list[dict[str, Any]]:
        response = requests.get(f"{self.stack.fcm_url}/messages", timeout=10)
        response.raise_for_status()
        return [b["message"] for b in response.json() if b["message"].get("token") in tokens]


@pytest.fixture
def pushes(clean_stack: Stack, functions_client: FunctionsClient, project_id: str) -> Pushes:
    return Pushes(clean_stack, functions_client, project_id)


def revision_of(db: Any, uid: str, schedule_id: str) -> int:
    data = db.document(f"users/{uid}/schedules/{schedule_id}").get().to_dict()
    return int(data["revision"])


def emulator_tasks(stack: Stack, queue: str) -> Iterator[Any]:
    from shared.clients import tasks_client

    parent = f"projects/{stack.config.project_id}/locations/{stack.config.region}/queues"
    for shard in registry.queue(queue).shard_names():
        yield from tasks_client().list_tasks(parent=f"{parent}/{shard}")


def minute_floor(at: datetime) -> datetime:
    return at.replace(second=0, microsecond=0)


def test_upsert_creates_the_tasks_with_names_times_and_auth_headers(
    pushes: Pushes, db: Any
) -> None:
    start = minute_floor(datetime.now(UTC) + timedelta(hours=2))
    created = pushes.schedule(start, 30)
    schedule_id = created["schedule"]["id"]
    assert created["nextOccurrences"][0] == {
        "startAt": start.strftime("%Y-%m-%dT%H:%M:00.000Z"),
        "endAt": (start + timedelta(minutes=30)).strftime("%Y-%m-%dT%H:%M:00.000Z"),
    }
    revision = revision_of(db, pushes.uid, schedule_id)

    found = {}
    for task in emulator_tasks(pushes.stack, "push-schedule"):
        body = decode_body(task.http_request.body)
        if body.uid == pushes.uid:
            found[task.name.rsplit("/", 1)[-1]] = (task, body)
    events: list[tuple[EventKind, datetime]] = [
        ("start", start),
        ("end", start + timedelta(minutes=30)),
    ]
    expected = {
        schedule_task_name(pushes.uid, schedule_id, revision, event, at): (event, at)
        for event, at in events
    }
    assert set(found) == set(expected)
    for name, (task, body) in found.items():
        event, at = expected[name]
        assert isinstance(body, ScheduleTask)
        assert (body.event, body.occurrence_at, body.revision) == (event, at, revision)
        # Two hours ahead: sent early by the event's deterministic offset in the lead window.
        key = schedule_delivery_key(pushes.uid, schedule_id, event, at)
        assert task.schedule_time.timestamp() == pytest.approx(
            (at - lead_offset(key)).timestamp(), abs=0.001
        )
        assert at - LEAD_WINDOW <= task.schedule_time <= at
        assert task.name.split("/")[-3] in registry.queue("push-schedule").shard_names()
        request = task.http_request
        # Delivered to the process that serves background work, not the apps' calls.
        assert request.url == f"{pushes.stack.background_base_url}/deliverPush"
        assert request.headers["Content-Type"] == "application/json"
        assert request.headers[TASK_SECRET_HEADER] == pushes.stack.task_secret

    plan = db.document(f"pushPlans/{plan_id(pushes.uid, schedule_id)}").get().to_dict()
    assert plan["plannedUntil"] > datetime.now(UTC) + timedelta(hours=71)


def start_task(uid: str, schedule_id: str, revision: int, at: datetime) -> ScheduleTask:
    return ScheduleTask(
        uid=uid, schedule_id=schedule_id, revision=revision, event="start", occurrence_at=at
    )


def test_delivery_sends_background_pushes_once_and_removes_dead_tokens(
    pushes: Pushes, db: Any
) -> None:
    ios = pushes.device("iphone", "ios", f"tok-ios-{pushes.uid}")
    android = pushes.device("pixel", "android", f"tok-android-{pushes.uid}")
    dead = pushes.device("old-ipad", "ios", f"unregistered-{pushes.uid}")
    start = minute_floor(datetime.now(UTC) + timedelta(minutes=10))
    schedule_id = pushes.schedule(start, 60)["schedule"]["id"]
    task = start_task(pushes.uid, schedule_id, revision_of(db, pushes.uid, schedule_id), start)

    assert pushes.deliver(task) == 204

    sent = {m["token"]: m for m in pushes.messages(ios, android, dead)}
    data = {
        "kind": "schedule",
        "scheduleId": schedule_id,
        "event": "start",
        "occurrenceAt": start.strftime("%Y-%m-%dT%H:%M:00.000Z"),
    }
    assert sent[ios] == {
        "token": ios,
        "data": data,
        "apns": {
            "headers": {"apns-push-type": "background", "apns-priority": "5"},
            "payload": {"aps": {"content-available": 1}},
        },
    }
    assert sent[android] == {"token": android, "data": data, "android": {"priority": "high"}}
    assert dead in sent  # tried once, answered UNREGISTERED
    device = db.document(f"users/{pushes.uid}/devices/old-ipad").get().to_dict()
    assert device["fcmToken"] is None
    assert [
        e["k"] for e in db.document(f"users/{pushes.uid}/devices/iphone").get().to_dict()["pushLog"]
    ] == [schedule_delivery_key(pushes.uid, schedule_id, "start", start)]

    # Cloud Tasks delivers at least once: a redelivery sends nothing.
    assert pushes.deliver(task) == 204
    assert len(pushes.messages(ios, android, dead)) == 3


def test_quota_answers_a_retryable_status_and_the_retry_sends_only_the_rest(
    pushes: Pushes, db: Any
) -> None:
    ok = pushes.device("pixel", "android", f"tok-{pushes.uid}")
    busy = pushes.device("busy", "android", f"quota-{pushes.uid}")
    start = minute_floor(datetime.now(UTC) + timedelta(minutes=10))
    schedule_id = pushes.schedule(start, 60)["schedule"]["id"]
    task = start_task(pushes.uid, schedule_id, revision_of(db, pushes.uid, schedule_id), start)
    assert pushes.deliver(task) == 429
    assert pushes.deliver(task) == 429
    tokens = [m["token"] for m in pushes.messages(ok, busy)]
    assert tokens.count(ok) == 1 and tokens.count(busy) == 2


def test_only_cloud_tasks_may_deliver(pushes: Pushes, db: Any) -> None:
    token = pushes.device("pixel", "android", f"tok-{pushes.uid}")
    start = minute_floor(datetime.now(UTC) + timedelta(minutes=10))
    schedule_id = pushes.schedule(start, 60)["schedule"]["id"]
    task = start_task(pushes.uid, schedule_id, revision_of(db, pushes.uid, schedule_id), start)
    unauthenticated = requests.post(
        f"{pushes.stack.functions_base_url}/deliverPush", data=encode_body(task), timeout=30
    )
    assert unauthenticated.status_code == 401
    assert pushes.deliver(task, secret="not-the-secret") == 403
    assert pushes.messages(token) == []
    malformed = requests.post(
        f"{pushes.stack.functions_base_url}/deliverPush",
        data=b'{"kind": "schedule"}',
        headers={TASK_SECRET_HEADER: pushes.stack.task_secret},
        timeout=30,
    )
    assert malformed.status_code == 400


def test_tasks_of_a_deleted_or_edited_schedule_send_nothing(pushes: Pushes, db: Any) -> None:
    token = pushes.device("pixel", "android", f"tok-{pushes.uid}")
    start = minute_floor(datetime.now(UTC) + timedelta(minutes=10))
    edited = pushes.schedule(start, 60)["schedule"]
    old_revision = revision_of(db, pushes.uid, edited["id"])
    pushes.call(
        "upsertSchedule",
        {
            "schedule": {
                **edited,
                "name": "Renamed",
                "updatedAt": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
            }
        },
    )
    deleted = pushes.schedule(start, 60)["schedule"]["id"]
    deleted_revision = revision_of(db, pushes.uid, deleted)
    assert pushes.call("deleteSchedule", {"id": deleted}) == {"deleted": True}

    assert pushes.deliver(start_task(pushes.uid, edited["id"], old_revision, start)) == 204
    assert pushes.deliver(start_task(pushes.uid, deleted, deleted_revision, start)) == 204
    assert pushes.messages(token) == []


def test_a_sync_wakes_the_other_devices_once(pushes: Pushes) -> None:
    from shared import container

    phone = pushes.device("phone", "ios", f"tok-phone-{pushes.uid}")
    pixel = pushes.device("pixel", "android", f"tok-pixel-{pushes.uid}")
    now = datetime.now(UTC)
    for _ in range(3):  # a burst of syncs from the phone
        container.sync_notifier().notify_other_devices(pushes.uid, "phone")
    bucket = sync_bucket(now)
    names = [
        (task.name.rsplit("/", 1)[-1], task)
        for task in emulator_tasks(pushes.stack, "push-sync")
        if decode_body(task.http_request.body).uid == pushes.uid
    ]
    # One task, unless the burst straddled a bucket boundary.
    assert 1 <= len(names) <= 2
    assert names[0][0] in {sync_task_name(pushes.uid, b) for b in (bucket, bucket + 1)}

    task = SyncTask(uid=pushes.uid, origin_device_id="phone", bucket=bucket)
    assert pushes.deliver(task) == 204
    assert pushes.deliver(task) == 204
    assert pushes.messages(phone, pixel) == [
        {
            "token": pixel,
            "data": {"kind": "sync"},
            "android": {"priority": "normal", "collapse_key": "sync"},
        }
    ]


def test_invented_device_ids_make_one_sync_task_per_bucket(pushes: Pushes) -> None:
    """The sync queues are shared by every user: a client sending a new device id with every
    sync still makes one task per 30 s bucket, through fresh notifiers (new instances)."""
    from shared import container
    from shared.push.sync import SyncPushNotifier

    now = datetime.now(UTC)
    for i in range(200):
        SyncPushNotifier(container.task_queue()).notify_other_devices(pushes.uid, f"dev-{i}")
    mine = [
        task.name.rsplit("/", 1)[-1]
        for task in emulator_tasks(pushes.stack, "push-sync")
        if decode_body(task.http_request.body).uid == pushes.uid
    ]
    # One name per bucket, unless the calls straddled a bucket boundary. (The emulator keeps
    # duplicate names, which production Cloud Tasks refuses with ALREADY_EXISTS.)
    bucket = sync_bucket(now)
    assert 1 <= len(set(mine)) <= 2
    assert set(mine) <= {sync_task_name(pushes.uid, b) for b in (bucket, bucket + 1)}


def test_deleting_the_account_cancels_its_pushes(
    clean_stack: Stack, functions_client: FunctionsClient, auth_host: str, db: Any
) -> None:
    user = sign_up(auth_host)
    pushes = Pushes(clean_stack, functions_client, clean_stack.config.project_id)
    pushes.uid, pushes.token = user.uid, user.id_token
    token = pushes.device("pixel", "android", f"tok-{user.uid}")
    start = minute_floor(datetime.now(UTC) + timedelta(minutes=10))
    schedule_id = pushes.schedule(start, 60)["schedule"]["id"]
    task = start_task(user.uid, schedule_id, revision_of(db, user.uid, schedule_id), start)
    assert db.document(f"pushPlans/{plan_id(user.uid, schedule_id)}").get().exists

    assert pushes.call("deleteAccount", {"confirm": True}) == {"deleted": True}

    assert not db.document(f"pushPlans/{plan_id(user.uid, schedule_id)}").get().exists
    assert pushes.deliver(task) == 204
    assert pushes.messages(token) == []


def test_the_refill_extends_plans_running_short(pushes: Pushes, db: Any) -> None:
    began = datetime.now(UTC)
    start = minute_floor(datetime.now(UTC) + timedelta(hours=2))
    schedule_id = pushes.schedule(start, 30, days=list(DAY_NAMES))["schedule"]["id"]
    plan_ref = db.document(f"pushPlans/{plan_id(pushes.uid, schedule_id)}")
    first_horizon = plan_ref.get().to_dict()["plannedUntil"]
    short = datetime.now(UTC) + timedelta(hours=30)
    plan_ref.update({"plannedUntil": short})  # as if planned two days ago

    tick = Slice(before=datetime.now(UTC) + timedelta(hours=24)).encode()
    envelope = {"message": {"data": base64.b64encode(tick).decode(), "messageId": "1"}}
    url = pushes.stack.push_endpoint("refillPushHorizon")
    assert requests.post(url, json=envelope, timeout=120).status_code == 204
    # Not due yet (more than 24 h ahead): nothing happens.
    assert plan_ref.get().to_dict()["plannedUntil"] == short

    plan_ref.update({"plannedUntil": datetime.now(UTC) + timedelta(hours=20)})
    refilled_from = plan_ref.get().to_dict()["plannedUntil"]
    assert requests.post(url, json=envelope, timeout=120).status_code == 204

    assert plan_ref.get().to_dict()["plannedUntil"] > datetime.now(UTC) + timedelta(hours=71)
    copies: dict[str, list[datetime]] = {}
    for task in emulator_tasks(pushes.stack, "push-schedule"):
        body = decode_body(task.http_request.body)
        if isinstance(body, ScheduleTask) and body.uid == pushes.uid:
            copies.setdefault(task.name, []).append(body.occurrence_at)
    # Re-planning from the recorded plannedUntil met names that already had tasks: refused with
    # ALREADY_EXISTS (as production does) and harmless. Every event up to the new horizon has
    # exactly one task, under the name planning gives it.
    from shared import container
    from shared.push.planner import ref_of

    assert all(len(ats) == 1 for ats in copies.values())
    (plan,) = [
        p for p in container.plan_store().for_user(pushes.uid) if p.schedule_id == schedule_id
    ]
    assert plan.planned_until is not None and plan.planned_until >= first_horizon
    expected = planned_task_refs(ref_of(plan), plan.rule(), after=began, until=plan.planned_until)
    assert {name.rsplit("/", 1)[-1] for name in copies} == {name for _, name in expected}
    assert any(at >= refilled_from for ats in copies.values() for at in ats)
