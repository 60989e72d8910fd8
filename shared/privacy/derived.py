"""What an export adds beyond the user's own documents (GDPR Art. 15 covers both): what Firebase
Auth holds about the user, and the data the backend derives for its pushes.

- `signIn`: the Auth record's email, phone, display name, sign-in providers and times (one Auth
  call). Never a password hash, a token or a provider's uid.
- `pushPlans`: per schedule, how far its silent pushes are planned (the `pushPlans` documents).
- `pushLog`: per device, the recent silent pushes sent to it (the device's push record, kept at
  most 6 hours; shared/push/ledger.py). Delivery keys are not exported: they are hashes of the
  task, meaningless to the user.

All three are on the first page only, like `user`, `devices` and `schedules`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Protocol

from shared.wire import Timestamp, WireModel

if TYPE_CHECKING:
    from shared.devices.repository import DeviceStore
    from shared.push.plans import PlanStore


class ExportSignIn(WireModel):
    """The user's record in Firebase Auth."""

    email: str | None
    email_verified: bool
    phone_number: str | None
    display_name: str | None
    providers: list[str]  # e.g. "password", "google.com", "apple.com"
    created_at: Timestamp | None
    last_sign_in_at: Timestamp | None


class ExportPushPlan(WireModel):
    """How far the silent pushes of one schedule are planned."""

    schedule_id: str
    enabled: bool
    planned_until: Timestamp | None


class ExportPushLogEntry(WireModel):
    """One silent push sent to one of the user's devices."""

    device_id: str
    sent_at: Timestamp
    kind: str  # "schedule" | "sync"


class DerivedReader(Protocol):
    def sign_in(self, uid: str) -> ExportSignIn | None:
        """None when Auth has no such user (any more)."""

    def push_plans(self, uid: str) -> list[ExportPushPlan]: ...

    def push_log(self, uid: str) -> list[ExportPushLogEntry]: ...


def _millis(value: int | None) -> datetime | None:
    return datetime.fromtimestamp(value / 1000, UTC) if value else None


class LiveDerivedReader:
    """`DerivedReader` on Firebase Auth, the push plans and the device store. Costs one Auth
    call, one read per push plan and one per device."""

    def __init__(self, plans: PlanStore, devices: DeviceStore) -> None:
        self._plans = plans
        self._devices = devices

    def sign_in(self, uid: str) -> ExportSignIn | None:
        from firebase_admin import auth

        from shared.clients import firebase_app

        try:
            record = auth.get_user(uid, app=firebase_app())
        except auth.UserNotFoundError:
            return None
        metadata = record.user_metadata
        return ExportSignIn(
            email=record.email,
            email_verified=bool(record.email_verified),
            phone_number=record.phone_number,
            display_name=record.display_name,
            providers=sorted({p.provider_id for p in record.provider_data}),
            created_at=_millis(metadata.creation_timestamp if metadata else None),
            last_sign_in_at=_millis(metadata.last_sign_in_timestamp if metadata else None),
        )

    def push_plans(self, uid: str) -> list[ExportPushPlan]:
        plans = sorted(self._plans.for_user(uid), key=lambda p: p.schedule_id)
        return [
            ExportPushPlan(
                schedule_id=p.schedule_id, enabled=p.enabled, planned_until=p.planned_until
            )
            for p in plans
        ]

    def push_log(self, uid: str) -> list[ExportPushLogEntry]:
        from shared.push.ledger import LOG_FIELD, parse_log

        entries = [
            ExportPushLogEntry(device_id=device.device_id, sent_at=entry.at, kind=entry.kind)
            for device in self._devices.list_devices(uid)
            for entry in parse_log(device.push_state.get(LOG_FIELD))
        ]
        return sorted(entries, key=lambda e: (e.sent_at, e.device_id))
