"""Device use cases: `registerDevice` and `unregisterDevice`."""

from __future__ import annotations

from datetime import datetime

from shared.devices.models import (
    MAX_DEVICES_PER_USER,
    RegisterDeviceRequest,
    RegisterDeviceResult,
    UnregisterDeviceRequest,
    UnregisterDeviceResult,
)
from shared.devices.repository import DeviceRegistry


def register_device(
    store: DeviceRegistry, uid: str, request: RegisterDeviceRequest, now: datetime
) -> RegisterDeviceResult:
    """Upsert the device; its token moves here from any other device or account."""
    device = store.register(uid, request, now, MAX_DEVICES_PER_USER)
    return RegisterDeviceResult(device=device)


def unregister_device(
    store: DeviceRegistry, uid: str, request: UnregisterDeviceRequest
) -> UnregisterDeviceResult:
    """Remove the device and its token; `removed: false` for an id this user does not have."""
    return UnregisterDeviceResult(removed=store.unregister(uid, request.device_id))
