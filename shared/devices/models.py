"""Devices: wire models, the stored form, and the pure decisions of `registerDevice`.

A device document `users/{uid}/devices/{deviceId}` holds the Device API fields, the FCM token
(`fcmToken`, `tokenUpdatedAt`) and push bookkeeping fields prefixed `push` that belong to the
push capability (never written here). `fcmTokens/{sha256(token)}` names the one device that
holds a token, so a token is never registered twice: a phone that changed hands must not get the
previous owner's pushes.
"""

from __future__ import annotations

import dataclasses
import hashlib
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field

from shared.wire import DeviceId, Timestamp, WireModel, document_id_safe

DEVICES = "devices"  # subcollection of users/{uid}
FCM_TOKENS = "fcmTokens"
MAX_DEVICES_PER_USER = 20
PUSH_FIELD_PREFIX = "push"

Platform = Literal["ios", "android"]

StoredDeviceId = Annotated[DeviceId, AfterValidator(document_id_safe)]
FcmToken = Annotated[
    str,
    Field(
        min_length=1,
        max_length=4096,
        pattern=r"^[\x21-\x7e]+$",
        description="FCM registration token (printable ASCII)",
    ),
]
AppVersion = Annotated[str, Field(min_length=1, max_length=64, description="app version")]


class Device(WireModel):
    """`Device` of the contract: what the apps see (never the FCM token)."""

    device_id: str
    platform: Platform
    app_version: str | None
    registered_at: Timestamp


class RegisterDeviceRequest(WireModel):
    device_id: StoredDeviceId
    platform: Platform
    fcm_token: FcmToken
    app_version: AppVersion | None = None


class RegisterDeviceResult(WireModel):
    device: Device


class UnregisterDeviceRequest(WireModel):
    device_id: StoredDeviceId


class UnregisterDeviceResult(WireModel):
    removed: bool


@dataclasses.dataclass(frozen=True)
class StoredDevice:
    """A device document as the push capability reads it."""

    device_id: str
    platform: str
    app_version: str | None
    registered_at: datetime
    fcm_token: str | None
    token_updated_at: datetime | None
    push_state: dict[str, Any]  # the `push*` fields, raw
    update_time: datetime  # the document's version: pass it back to `update_push_state`

    def as_device(self) -> Device:
        return Device(
            device_id=self.device_id,
            platform=self.platform,  # type: ignore[arg-type]  # checked when written
            app_version=self.app_version,
            registered_at=self.registered_at,
        )


def check_push_fields(fields: dict[str, Any]) -> None:
    """ValueError unless every field is push bookkeeping (`push*`, no nested path): the push
    capability may write those on a device, and nothing else."""
    bad = [k for k in fields if not k.startswith(PUSH_FIELD_PREFIX) or "." in k]
    if bad:
        raise ValueError(f"not push bookkeeping fields: {bad}")


def token_id(token: str) -> str:
    """Document id of a token in `fcmTokens`: sha256 hex (tokens are long and not id-safe)."""
    return hashlib.sha256(token.encode()).hexdigest()


def device_from_doc(data: dict[str, Any]) -> Device:
    return Device(
        device_id=data["deviceId"],
        platform=data["platform"],
        app_version=data.get("appVersion"),
        registered_at=data["registeredAt"],
    )


def stored_device(data: dict[str, Any], update_time: datetime) -> StoredDevice:
    return StoredDevice(
        device_id=data["deviceId"],
        platform=data["platform"],
        app_version=data.get("appVersion"),
        registered_at=data["registeredAt"],
        fcm_token=data.get("fcmToken"),
        token_updated_at=data.get("tokenUpdatedAt"),
        push_state={k: v for k, v in data.items() if k.startswith(PUSH_FIELD_PREFIX)},
        update_time=update_time,
    )


@dataclasses.dataclass(frozen=True)
class TokenOwner:
    """Content of `fcmTokens/{id}`."""

    uid: str
    device_id: str

    @classmethod
    def from_doc(cls, data: dict[str, Any] | None) -> TokenOwner | None:
        if not data or not isinstance(data.get("uid"), str):
            return None
        return cls(uid=data["uid"], device_id=str(data.get("deviceId", "")))


@dataclasses.dataclass(frozen=True)
class RegisterPlan:
    """What `registerDevice` writes, decided from what it read."""

    device: Device
    device_fields: dict[str, Any] | None  # None: the device document is already up to date
    is_new: bool
    write_token_doc: bool  # (re)point fcmTokens/{id} at this device
    previous_owner: TokenOwner | None  # another device holds the token: clear it there
    stale_token: str | None  # this device's former token, whose fcmTokens doc must go


def plan_register(
    uid: str,
    request: RegisterDeviceRequest,
    existing: dict[str, Any] | None,
    token_owner: TokenOwner | None,
    now: datetime,
) -> RegisterPlan:
    """Pure decision of `registerDevice`.

    `registeredAt` is kept from the first registration; `tokenUpdatedAt` changes only with the
    token. Nothing is written when the device already is exactly as asked (apps register on
    every start). Push bookkeeping fields are not ours: they are left as they are.
    """
    me = TokenOwner(uid=uid, device_id=request.device_id)
    old_token = existing.get("fcmToken") if existing else None
    token_changed = old_token != request.fcm_token
    kept_token_time = existing.get("tokenUpdatedAt") if existing and not token_changed else None
    device = Device(
        device_id=request.device_id,
        platform=request.platform,
        app_version=request.app_version,
        registered_at=(existing.get("registeredAt") if existing else None) or now,
    )
    fields: dict[str, Any] = {
        "deviceId": device.device_id,
        "platform": device.platform,
        "appVersion": device.app_version,
        "registeredAt": device.registered_at,
        "fcmToken": request.fcm_token,
        "tokenUpdatedAt": kept_token_time or now,
    }
    unchanged = existing is not None and all(existing.get(k) == v for k, v in fields.items())
    return RegisterPlan(
        device=device,
        device_fields=None if unchanged else fields,
        is_new=existing is None,
        write_token_doc=token_owner != me,
        previous_owner=token_owner if token_owner is not None and token_owner != me else None,
        stale_token=old_token if isinstance(old_token, str) and token_changed else None,
    )


def cleared_token_fields(now: datetime) -> dict[str, Any]:
    """The fields written on a device that loses its token (it keeps its record)."""
    return {"fcmToken": None, "tokenUpdatedAt": now}
