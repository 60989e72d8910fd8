"""syncFocusSessions request payloads for tests: sessions, upserts and deletes on a fixed clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

T0 = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)


def stamp(minutes: int) -> str:
    """T0 plus `minutes`, as the wire timestamp an app sends."""
    return (T0 + timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def session(sid: str, minute: int = 0, device: str = "phone", **extra: Any) -> dict[str, Any]:
    """A running session last edited at T0 + `minute` by `device`; `extra` overrides fields."""
    return {
        "id": sid,
        "startedAt": stamp(-60),
        "plannedEndAt": None,
        "endedAt": None,
        "status": "running",
        "label": None,
        "blockedApps": [],
        "scheduleId": None,
        "updatedAt": stamp(minute),
        "deviceId": device,
        **extra,
    }


def upsert(
    mid: str, sid: str, minute: int = 0, device: str = "phone", **extra: Any
) -> dict[str, Any]:
    return {"mutationId": mid, "op": "upsert", "session": session(sid, minute, device, **extra)}


def delete(mid: str, sid: str, minute: int = 0) -> dict[str, Any]:
    return {"mutationId": mid, "op": "delete", "id": sid, "updatedAt": stamp(minute)}
