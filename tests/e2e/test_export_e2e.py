"""exportAccount over HTTP: paging with the cursor, API fields only, never an FCM token."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.support.auth import sign_up
from tests.support.callables import FunctionsClient

pytestmark = pytest.mark.stack

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
SESSIONS = 1300  # 1040 live: two pages


def seed_sessions(db: Any, uid: str) -> None:
    """Sessions and tombstones in the stored format of shared/sessions."""
    sessions = db.collection("users").document(uid).collection("sessions")
    for start in range(0, SESSIONS, 500):
        batch = db.batch()
        for i in range(start, min(start + 500, SESSIONS)):
            gone = i % 5 == 4
            doc: dict[str, Any] = {
                "id": f"s{i:05d}",
                "updatedAt": T0 + timedelta(minutes=i),
                "deviceId": "phone",
                "deleted": gone,
                "serverUpdatedAt": T0,
                "syncSeq": i,
            }
            if not gone:
                doc.update(
                    startedAt=T0 + timedelta(minutes=i - 25),
                    plannedEndAt=None,
                    endedAt=T0 + timedelta(minutes=i),
                    status="completed",
                    label=None,
                    blockedApps=["com.example.feed"],
                    scheduleId=None,
                )
            batch.set(sessions.document(doc["id"]), doc)
        batch.commit()


def test_export_pages_through_everything_the_user_has(
    functions_client: FunctionsClient, auth_host: str, db: Any
) -> None:
    user = sign_up(auth_host)
    token = user.id_token
    assert (
        functions_client.call("bootstrapAccount", {"timezone": "Europe/Berlin"}, token).status
        == 200
    )
    device = {"deviceId": "phone", "platform": "ios", "fcmToken": "fcm-secret-123"}
    assert functions_client.call("registerDevice", device, token).status == 200
    seed_sessions(db, user.uid)

    first = functions_client.call("exportAccount", {}, token)
    assert first.status == 200, first.body
    page = first.result
    assert page["user"]["uid"] == user.uid and page["user"]["timezone"] == "Europe/Berlin"
    assert [d["deviceId"] for d in page["devices"]] == ["phone"]
    assert page["schedules"] == []
    assert page["hasMore"] is True and isinstance(page["cursor"], str)
    assert page["generatedAt"].endswith("Z")

    bodies = [first.body]
    sessions = list(page["sessions"])
    while page["hasMore"]:
        nxt = functions_client.call("exportAccount", {"cursor": page["cursor"]}, token)
        assert nxt.status == 200, nxt.body
        page = nxt.result
        assert page["user"] is None and page["devices"] is None and page["schedules"] is None
        sessions += page["sessions"]
        bodies.append(nxt.body)
    assert page["cursor"] is None
    live = [i for i in range(SESSIONS) if i % 5 != 4]
    assert [s["id"] for s in sessions] == [f"s{i:05d}" for i in live]
    assert len(bodies) == 2
    text = json.dumps(bodies)
    assert "fcm-secret-123" not in text and "fcmToken" not in text
    assert "serverUpdatedAt" not in text and "syncSeq" not in text


@pytest.mark.parametrize("cursor", ["garbage", 12, {"after": "s1"}, "x1.eyJhZnRlciI6ICJhL2IifQ"])
def test_a_bad_cursor_is_invalid_argument(
    functions_client: FunctionsClient, auth_host: str, cursor: Any
) -> None:
    user = sign_up(auth_host)
    result = functions_client.call("exportAccount", {"cursor": cursor}, user.id_token)
    assert (result.status, result.error_status) == (400, "INVALID_ARGUMENT")
    assert result.error_message.startswith("data.cursor")


def test_export_needs_a_signed_in_user(functions_client: FunctionsClient) -> None:
    result = functions_client.call("exportAccount", {})
    assert (result.status, result.error_status) == (401, "UNAUTHENTICATED")


def test_export_includes_what_auth_holds_and_the_push_data_derived_for_the_user(
    functions_client: FunctionsClient, auth_host: str, db: Any
) -> None:
    user = sign_up(auth_host)
    token = user.id_token
    assert functions_client.call("bootstrapAccount", {"timezone": "Europe/Paris"}, token).result
    device = {"deviceId": "phone", "platform": "ios", "fcmToken": "fcm-secret-456"}
    assert functions_client.call("registerDevice", device, token).result
    schedule = {
        "id": "mornings",
        "name": "Deep work",
        "timezone": "Europe/Paris",
        "days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
        "start": "09:00",
        "end": "10:00",
        "blockedApps": [],
        "enabled": True,
        "updatedAt": "2026-03-02T08:00:00.000Z",
    }
    assert functions_client.call("upsertSchedule", {"schedule": schedule}, token).result
    # A silent push delivered to the phone, as deliverPush records it (shared/push/ledger.py).
    sent_at = datetime.now(UTC).replace(microsecond=0)
    db.collection("users").document(user.uid).collection("devices").document("phone").update(
        {"pushLog": [{"k": "delivery-key", "t": sent_at, "c": "schedule"}]}
    )

    page = functions_client.call("exportAccount", {}, token).result
    sign_in = page["signIn"]
    assert sign_in["email"] == user.email
    assert sign_in["providers"] == ["password"]
    assert sign_in["emailVerified"] is False
    assert sign_in["createdAt"].endswith("Z") and sign_in["lastSignInAt"].endswith("Z")
    (plan,) = page["pushPlans"]
    assert plan["scheduleId"] == "mornings" and plan["enabled"] is True
    assert plan["plannedUntil"] is not None  # planned ahead when the schedule was saved
    # The seeded push, and any the saved schedule sent meanwhile (a block in progress now).
    seeded = {
        "deviceId": "phone",
        "sentAt": sent_at.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
        "kind": "schedule",
    }
    assert seeded in page["pushLog"]
    assert all(set(entry) == {"deviceId", "sentAt", "kind"} for entry in page["pushLog"])
    text = json.dumps(page)
    assert "delivery-key" not in text and "fcm-secret-456" not in text
    assert "passwordHash" not in text and "refreshToken" not in text
