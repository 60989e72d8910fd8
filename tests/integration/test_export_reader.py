"""exportAccount's Firestore reader on the emulator: stored formats in, API fields out, paged."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from shared.metering import metered
from shared.privacy.export import (
    MAX_SESSIONS_PER_PAGE,
    ExportAccountRequest,
    ExportAccountResult,
    export_account,
)
from shared.privacy.export_firestore import FirestoreAccountReader
from shared.wire import parse

pytestmark = pytest.mark.stack

NOW = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
LIVE = 2150
TOMBSTONES = 300


def live_session(i: int) -> dict[str, Any]:
    return {
        "id": f"s{i:05d}",
        "startedAt": NOW + timedelta(hours=i),
        "plannedEndAt": None,
        "endedAt": NOW + timedelta(hours=i, minutes=25),
        "status": "completed",
        "label": "Écrire ✍️" if i % 2 else None,
        "blockedApps": ["com.example.feed"],
        "scheduleId": None,
        "updatedAt": NOW + timedelta(hours=i, minutes=25),
        "deviceId": "phone-1",
        "deleted": False,
        "serverUpdatedAt": NOW,
        "syncSeq": i,
    }


def tombstone(i: int) -> dict[str, Any]:
    return {
        "id": f"s{i:05d}-gone",
        "updatedAt": NOW,
        "deviceId": "phone-1",
        "deleted": True,
        "serverUpdatedAt": NOW,
        "syncSeq": 1,
        "purgeAt": NOW + timedelta(days=31),
    }


@pytest.fixture
def seeded(db: Any) -> Any:
    user = db.collection("users").document("alice")
    user.set(
        {
            "uid": "alice",
            "timezone": "Europe/Paris",
            "locale": "fr-FR",
            "createdAt": NOW,
            "updatedAt": NOW,
        }
    )
    user.collection("devices").document("phone-1").set(
        {
            "deviceId": "phone-1",
            "platform": "ios",
            "appVersion": "3.1",
            "registeredAt": NOW,
            "fcmToken": "secret-token-of-alice",
            "tokenUpdatedAt": NOW,
            "pushBudget": 3,
        }
    )
    user.collection("schedules").document("mornings").set(
        {
            "id": "mornings",
            "name": "Mornings",
            "timezone": "Europe/Paris",
            "days": ["mon", "wed"],
            "start": "08:00",
            "end": "10:00",
            "blockedApps": ["com.example.feed"],
            "enabled": True,
            "updatedAt": NOW,
            "serverUpdatedAt": NOW,
            "revision": 4,
        }
    )
    user.collection("syncState").document("sessions").set({"seq": 9, "updatedAt": NOW})
    docs = [(d["id"], d) for d in (live_session(i) for i in range(LIVE))]
    docs += [(d["id"], d) for d in (tombstone(i) for i in range(TOMBSTONES))]
    # An id Firestore cannot take as is is stored escaped (shared.sessions.models.document_id).
    escaped = {**live_session(LIVE), "id": "__odd__"}
    docs.append(("~__odd__", escaped))
    sessions = user.collection("sessions")
    for start in range(0, len(docs), 500):
        batch = db.batch()
        for doc_id, data in docs[start : start + 500]:
            batch.set(sessions.document(doc_id), data)
        batch.commit()
    # Another user's data never shows up.
    db.collection("users").document("bob").collection("sessions").document("s00001").set(
        live_session(1)
    )
    return db


def export_pages(db: Any) -> tuple[list[ExportAccountResult], int]:
    reader = FirestoreAccountReader(db)
    with metered() as ops:
        pages = [export_account(reader, "alice", ExportAccountRequest(), NOW)]
        while pages[-1].has_more:
            request = parse(ExportAccountRequest, {"cursor": pages[-1].cursor})
            pages.append(export_account(reader, "alice", request, NOW))
    return pages, ops.reads


def test_export_pages_through_every_live_session(seeded: Any) -> None:
    pages, reads = export_pages(seeded)
    sessions = [s for page in pages for s in page.sessions]
    assert len(sessions) == LIVE + 1
    assert len({s.id for s in sessions}) == LIVE + 1
    assert "__odd__" in {s.id for s in sessions}
    assert all(len(p.sessions) <= MAX_SESSIONS_PER_PAGE for p in pages)
    assert len(pages) == 3
    # Reads stay proportional to what is stored: every session read once, plus a little.
    stored = LIVE + 1 + TOMBSTONES
    assert stored + 3 <= reads <= stored + 3 + 3 * len(pages)


def test_export_holds_api_fields_only(seeded: Any) -> None:
    pages, _ = export_pages(seeded)
    first = pages[0].to_wire()
    assert first["user"] == {
        "uid": "alice",
        "timezone": "Europe/Paris",
        "locale": "fr-FR",
        "createdAt": "2026-11-22T09:00:00.000Z",
    }
    assert first["devices"] == [
        {
            "deviceId": "phone-1",
            "platform": "ios",
            "appVersion": "3.1",
            "registeredAt": "2026-11-22T09:00:00.000Z",
        }
    ]
    assert first["schedules"] == [
        {
            "id": "mornings",
            "name": "Mornings",
            "timezone": "Europe/Paris",
            "days": ["mon", "wed"],
            "start": "08:00",
            "end": "10:00",
            "blockedApps": ["com.example.feed"],
            "enabled": True,
            "updatedAt": "2026-11-22T09:00:00.000Z",
        }
    ]
    assert first["sessions"][1] == {
        "id": "s00001",
        "startedAt": "2026-11-22T10:00:00.000Z",
        "plannedEndAt": None,
        "endedAt": "2026-11-22T10:25:00.000Z",
        "status": "completed",
        "label": "Écrire ✍️",
        "blockedApps": ["com.example.feed"],
        "scheduleId": None,
        "updatedAt": "2026-11-22T10:25:00.000Z",
        "deviceId": "phone-1",
    }
    text = json.dumps([p.to_wire() for p in pages])
    for secret in ("secret-token-of-alice", "fcmToken", "pushBudget", "syncSeq", "revision"):
        assert secret not in text
    for bookkeeping in ("serverUpdatedAt", "purgeAt", '"deleted"', "-gone"):
        assert bookkeeping not in text


def test_an_account_that_never_bootstrapped_exports_empty(db: Any) -> None:
    page = export_account(FirestoreAccountReader(db), "nobody", ExportAccountRequest(), NOW)
    assert page.to_wire() == {
        "generatedAt": "2026-11-22T09:00:00.000Z",
        "user": None,
        "devices": [],
        "schedules": [],
        "sessions": [],
        "cursor": None,
        "hasMore": False,
        "signIn": None,  # added 2026-12; null here: no derived reader is given
        "pushPlans": None,
        "pushLog": None,
    }
