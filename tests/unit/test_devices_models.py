"""registerDevice's pure decisions and the validation of device requests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from shared.devices.models import (
    RegisterDeviceRequest,
    TokenOwner,
    UnregisterDeviceRequest,
    plan_register,
    stored_device,
    token_id,
)
from shared.errors import InvalidArgument
from shared.wire import parse

NOW = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
EARLIER = NOW - timedelta(days=3)


def request(**overrides: Any) -> RegisterDeviceRequest:
    data = {"deviceId": "phone-1", "platform": "ios", "fcmToken": "tok-A", "appVersion": "1.0"}
    return parse(RegisterDeviceRequest, {**data, **overrides})


def stored(**overrides: Any) -> dict[str, Any]:
    doc = {
        "deviceId": "phone-1",
        "platform": "ios",
        "appVersion": "1.0",
        "registeredAt": EARLIER,
        "fcmToken": "tok-A",
        "tokenUpdatedAt": EARLIER,
        "pushBudget": 3,
    }
    return {**doc, **overrides}


ME = TokenOwner("u1", "phone-1")


def test_a_new_device_is_written_with_its_token() -> None:
    plan = plan_register("u1", request(), None, None, NOW)
    assert plan.is_new and plan.write_token_doc
    assert plan.previous_owner is None and plan.stale_token is None
    assert plan.device_fields == {
        "deviceId": "phone-1",
        "platform": "ios",
        "appVersion": "1.0",
        "registeredAt": NOW,
        "fcmToken": "tok-A",
        "tokenUpdatedAt": NOW,
    }
    assert plan.device.to_wire() == {
        "deviceId": "phone-1",
        "platform": "ios",
        "appVersion": "1.0",
        "registeredAt": "2026-11-22T09:00:00.000Z",
    }


def test_registering_again_unchanged_writes_nothing() -> None:
    plan = plan_register("u1", request(), stored(), ME, NOW)
    assert plan.device_fields is None
    assert not plan.write_token_doc and plan.stale_token is None and not plan.is_new
    assert plan.device.registered_at == EARLIER


def test_a_new_app_version_keeps_registration_and_token_times() -> None:
    plan = plan_register("u1", request(appVersion="2.0"), stored(), ME, NOW)
    assert plan.device_fields is not None
    assert plan.device_fields["registeredAt"] == EARLIER
    assert plan.device_fields["tokenUpdatedAt"] == EARLIER
    assert "pushBudget" not in plan.device_fields  # push bookkeeping is left as it is
    assert not plan.write_token_doc


def test_a_rotated_token_drops_the_old_ownership() -> None:
    plan = plan_register("u1", request(fcmToken="tok-B"), stored(), None, NOW)
    assert plan.stale_token == "tok-A"
    assert plan.write_token_doc
    assert plan.device_fields is not None and plan.device_fields["tokenUpdatedAt"] == NOW


@pytest.mark.parametrize("owner", [TokenOwner("u1", "tablet"), TokenOwner("u2", "phone-1")])
def test_a_token_held_elsewhere_moves_here(owner: TokenOwner) -> None:
    plan = plan_register("u1", request(), None, owner, NOW)
    assert plan.previous_owner == owner
    assert plan.write_token_doc


def test_a_device_that_lost_its_token_gets_it_back() -> None:
    plan = plan_register("u1", request(), stored(fcmToken=None), None, NOW)
    assert plan.device_fields is not None and plan.device_fields["fcmToken"] == "tok-A"
    assert plan.stale_token is None


def test_stored_device_exposes_push_fields_raw() -> None:
    device = stored_device(stored(), NOW)
    assert device.push_state == {"pushBudget": 3}
    assert device.fcm_token == "tok-A"
    assert device.as_device().device_id == "phone-1"


def test_token_ids_are_hashes() -> None:
    assert token_id("abc") == token_id("abc") != token_id("abd")
    assert len(token_id("x" * 4096)) == 64


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"deviceId": ""}, "data.deviceId"),
        ({"deviceId": "x" * 129}, "data.deviceId"),
        ({"deviceId": "a/b"}, "data.deviceId"),
        ({"deviceId": ".."}, "data.deviceId"),
        ({"deviceId": "__name__"}, "data.deviceId"),
        ({"deviceId": "\ud800"}, "data.deviceId"),
        ({"deviceId": 7}, "data.deviceId"),
        ({"platform": "windows"}, "data.platform"),
        ({"fcmToken": ""}, "data.fcmToken"),
        ({"fcmToken": "has space"}, "data.fcmToken"),
        ({"fcmToken": "é"}, "data.fcmToken"),
        ({"fcmToken": "t" * 4097}, "data.fcmToken"),
        ({"fcmToken": None}, "data.fcmToken"),
        ({"appVersion": "v" * 65}, "data.appVersion"),
        ({"appVersion": "\udfff"}, "data.appVersion"),
        ({"extra": 1}, "data.extra"),
    ],
)
def test_malformed_requests_name_the_field(data: dict[str, Any], field: str) -> None:
    base = {"deviceId": "phone-1", "platform": "ios", "fcmToken": "tok-A"}
    with pytest.raises(InvalidArgument) as err:
        parse(RegisterDeviceRequest, {**base, **data})
    assert err.value.message.startswith(field)


def test_unicode_device_ids_are_fine_when_they_are_valid_text() -> None:
    assert parse(UnregisterDeviceRequest, {"deviceId": "📱 de Zoé"}).device_id == "📱 de Zoé"
