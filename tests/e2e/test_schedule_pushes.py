"""End to end on the local stack, in real time: a schedule starting within about a minute wakes
every device at its start and its end, through Cloud Tasks (emulator), deliverPush and FCM
(stand-in); a schedule deleted before its start sends nothing; a dead token is dropped after its
first push.

One window of about two minutes covers all three, so the suite waits for the clock once.
"""

from __future__ import annotations

import secrets
import time
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import requests

from devstack.stack import Stack
from shared.tracing import read_trace
from tests.support.auth import sign_up
from tests.support.callables import FunctionsClient

pytestmark = [pytest.mark.stack, pytest.mark.timeout(400)]

ZONE = ZoneInfo("Europe/Paris")
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MIN_LEAD = timedelta(seconds=20)  # time to set everything up before the block starts


def rfc3339(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def schedule(schedule_id: str, start: datetime, end: datetime) -> dict[str, Any]:
    local_start, local_end = start.astimezone(ZONE), end.astimezone(ZONE)
    return {
        "id": schedule_id,
        "name": f"Block {schedule_id}",
        "timezone": "Europe/Paris",
        "days": [DAYS[local_start.weekday()]],
        "start": local_start.strftime("%H:%M"),
        "end": local_end.strftime("%H:%M"),
        "blockedApps": ["com.example.video"],
        "enabled": True,
        "updatedAt": rfc3339(datetime.now(UTC)),
    }


def test_schedule_pushes_arrive_at_start_and_end_on_every_device(
    clean_stack: Stack, functions_client: FunctionsClient, auth_host: str, db: Any
) -> None:
    user = sign_up(auth_host)

    def call(name: str, data: Any) -> Any:
        result = functions_client.call(name, data, user.id_token)
        assert result.status == 200, result.body
        return result.result

    ios, android, dead = (
        f"tok-ios-{user.uid}",
        f"tok-android-{user.uid}",
        f"unregistered-{user.uid}",
    )
    call("registerDevice", {"deviceId": "iphone", "platform": "ios", "fcmToken": ios})
    call("registerDevice", {"deviceId": "pixel", "platform": "android", "fcmToken": android})
    call("registerDevice", {"deviceId": "old-ipad", "platform": "ios", "fcmToken": dead})

    now = datetime.now(UTC)
    start = now.replace(second=0, microsecond=0) + timedelta(minutes=1)
    if start - now < MIN_LEAD:
        start += timedelta(minutes=1)
    end = start + timedelta(minutes=1)

    # The pushes are followed by the trace of the call that planned them (shared/tracing.py).
    trace_id = secrets.token_hex(16)
    traced = {"traceparent": f"00-{trace_id}-{secrets.token_hex(8)}-01"}
    planned = functions_client.call(
        "upsertSchedule", {"schedule": schedule("kept", start, end)}, user.id_token, headers=traced
    )
    kept = planned.result
    assert kept["nextOccurrences"][0] == {"startAt": rfc3339(start), "endAt": rfc3339(end)}
    call("upsertSchedule", {"schedule": schedule("dropped", start, end)})
    assert call("deleteSchedule", {"id": "dropped"}) == {"deleted": True}

    # Watch the FCM stand-in until both pushes reached both live devices (or time runs out).
    first_seen: dict[tuple[str, str, str], datetime] = {}
    messages: list[dict[str, Any]] = []
    wanted = {(token, "start") for token in (ios, android)} | {
        (token, "end") for token in (ios, android)
    }
    deadline = end + timedelta(seconds=60)
    while datetime.now(UTC) < deadline:
        response = requests.get(f"{clean_stack.fcm_url}/messages", timeout=10)
        response.raise_for_status()
        messages = [body["message"] for body in response.json()]
        seen_at = datetime.now(UTC)
        for m in messages:
            key = (m["token"], m["data"]["scheduleId"], m["data"]["event"])
            first_seen.setdefault(key, seen_at)
        if wanted <= {(t, e) for t, s, e in first_seen if s == "kept"}:
            break
        time.sleep(0.5)

    ours = [m for m in messages if m["token"] in (ios, android, dead)]
    events = sorted((m["token"], m["data"]["scheduleId"], m["data"]["event"]) for m in ours)
    # Each live device: one start and one end of the kept schedule. The dead token: tried once
    # (the start), then removed. The deleted schedule: nothing, although its start has passed.
    assert events == sorted(
        [
            (ios, "kept", "start"),
            (ios, "kept", "end"),
            (android, "kept", "start"),
            (android, "kept", "end"),
            (dead, "kept", "start"),
        ]
    )
    for m in ours:
        event = m["data"]["event"]
        assert m["data"] == {
            "kind": "schedule",
            "scheduleId": "kept",
            "event": event,
            "occurrenceAt": rfc3339(start if event == "start" else end),
        }
        if m["token"] == android:
            assert set(m) == {"token", "data", "android"} and m["android"]["priority"] == "high"
        else:
            assert set(m) == {"token", "data", "apns"}
            assert m["apns"] == {
                "headers": {"apns-push-type": "background", "apns-priority": "5"},
                "payload": {"aps": {"content-available": 1}},
            }
    # The timer fired at the events, not before (the stand-in saw nothing earlier).
    assert first_seen[(ios, "kept", "start")] >= start
    assert first_seen[(ios, "kept", "end")] >= end

    device = db.document(f"users/{user.uid}/devices/old-ipad").get().to_dict()
    assert device["fcmToken"] is None

    # upsertSchedule -> Cloud Tasks -> deliverPush -> FCM, one trace: each delivery of the kept
    # schedule (start, end) continued the planning call's trace and sent from inside it.
    spans = read_trace(clean_stack.trace_file, trace_id)
    by_id = {s["spanId"]: s for s in spans}
    (root,) = [s for s in spans if s["name"] == "upsertSchedule"]
    deliveries = [s for s in spans if s["name"] == "deliverPush"]
    sends = [s for s in spans if s["name"] == "fcm.send"]
    assert len(deliveries) >= 2 and len(sends) >= 2, [s["name"] for s in spans]
    for delivery in deliveries:
        assert delivery["parentSpanId"] == root["spanId"]
    for send in sends:
        assert by_id[send["parentSpanId"]]["name"] == "deliverPush"
    assert sum(s["attributes"]["devices"] for s in sends) == len(ours)
