"""registerDevice / unregisterDevice over HTTP, as the apps call them, with Auth emulator users."""

from __future__ import annotations

from typing import Any

import pytest

from shared.devices.models import MAX_DEVICES_PER_USER, token_id
from tests.support.auth import sign_up, unsigned_token
from tests.support.callables import FunctionsClient

pytestmark = pytest.mark.stack


def register(client: FunctionsClient, token: str, device_id: str, fcm: str, **extra: Any) -> Any:
    data = {"deviceId": device_id, "platform": "android", "fcmToken": fcm, **extra}
    return client.call("registerDevice", data, token)


def device(db: Any, uid: str, device_id: str) -> dict[str, Any] | None:
    snap = db.collection("users").document(uid).collection("devices").document(device_id).get()
    return snap.to_dict() if snap.exists else None


def test_register_is_an_upsert_that_keeps_the_first_registration_time(
    functions_client: FunctionsClient, auth_host: str, db: Any
) -> None:
    user = sign_up(auth_host)
    first = register(functions_client, user.id_token, "pixel-1", "fcm-1", appVersion="1.0")
    assert first.status == 200, first.body
    assert set(first.result) == {"device"}
    created = first.result["device"]
    assert created["deviceId"] == "pixel-1" and created["appVersion"] == "1.0"
    assert created["registeredAt"].endswith("Z")

    again = register(functions_client, user.id_token, "pixel-1", "fcm-2")
    assert again.result["device"] == {**created, "appVersion": None}
    stored = device(db, user.uid, "pixel-1")
    assert stored is not None and stored["fcmToken"] == "fcm-2"
    assert not db.collection("fcmTokens").document(token_id("fcm-1")).get().exists


def test_a_phone_that_changed_hands_moves_its_token_to_the_new_owner(
    functions_client: FunctionsClient, auth_host: str, db: Any
) -> None:
    seller, buyer = sign_up(auth_host), sign_up(auth_host)
    assert register(functions_client, seller.id_token, "phone", "fcm-shared").status == 200
    assert register(functions_client, buyer.id_token, "phone", "fcm-shared").status == 200
    old = device(db, seller.uid, "phone")
    assert old is not None and old["fcmToken"] is None  # keeps its record, loses the token
    new = device(db, buyer.uid, "phone")
    assert new is not None and new["fcmToken"] == "fcm-shared"
    owner = db.collection("fcmTokens").document(token_id("fcm-shared")).get().to_dict()
    assert owner == {"uid": buyer.uid, "deviceId": "phone", "token": "fcm-shared"}


def test_unregister(functions_client: FunctionsClient, auth_host: str, db: Any) -> None:
    alice, mallory = sign_up(auth_host), sign_up(auth_host)
    register(functions_client, alice.id_token, "tablet", "fcm-t")
    # Another user's device id looks unknown, and nothing of alice's moves.
    other = functions_client.call("unregisterDevice", {"deviceId": "tablet"}, mallory.id_token)
    assert other.result == {"removed": False}
    assert device(db, alice.uid, "tablet") is not None

    gone = functions_client.call("unregisterDevice", {"deviceId": "tablet"}, alice.id_token)
    assert gone.result == {"removed": True}
    assert device(db, alice.uid, "tablet") is None
    assert not db.collection("fcmTokens").document(token_id("fcm-t")).get().exists
    again = functions_client.call("unregisterDevice", {"deviceId": "tablet"}, alice.id_token)
    assert again.result == {"removed": False}


def test_the_device_limit_answers_resource_exhausted(
    functions_client: FunctionsClient, project_id: str, db: Any
) -> None:
    token = unsigned_token("many-devices", project_id)
    for i in range(MAX_DEVICES_PER_USER):
        assert register(functions_client, token, f"d{i}", f"fcm-{i}").status == 200
    refused = register(functions_client, token, "one-more", "fcm-more")
    assert (refused.status, refused.error_status) == (429, "RESOURCE_EXHAUSTED")
    assert device(db, "many-devices", "one-more") is None
    assert not db.collection("fcmTokens").document(token_id("fcm-more")).get().exists


@pytest.mark.parametrize("name", ["registerDevice", "unregisterDevice"])
def test_without_a_token_is_unauthenticated(functions_client: FunctionsClient, name: str) -> None:
    result = functions_client.call(name, {"deviceId": "x", "platform": "ios", "fcmToken": "t"})
    assert (result.status, result.error_status) == (401, "UNAUTHENTICATED")


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"platform": "ios", "fcmToken": "t"}, "data.deviceId"),
        ({"deviceId": "a/b", "platform": "ios", "fcmToken": "t"}, "data.deviceId"),
        ({"deviceId": "d", "platform": "web", "fcmToken": "t"}, "data.platform"),
        ({"deviceId": "d", "platform": "ios", "fcmToken": ""}, "data.fcmToken"),
        ({"deviceId": "d", "platform": "ios", "fcmToken": "t", "x": 1}, "data.x"),
    ],
)
def test_malformed_registrations_write_nothing(
    functions_client: FunctionsClient, project_id: str, db: Any, data: Any, field: str
) -> None:
    result = functions_client.call("registerDevice", data, unsigned_token("mallory", project_id))
    assert (result.status, result.error_status) == (400, "INVALID_ARGUMENT")
    assert result.error_message.startswith(field)
    assert list(db.collection("users").document("mallory").collections()) == []
    assert list(db.collection("fcmTokens").limit(1).stream()) == []
