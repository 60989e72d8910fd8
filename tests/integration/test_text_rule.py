"""Every value the API accepts can be stored in every store (docs/API.md, "Text"): strings the
wire models take go through Firestore and the mirror into PostgreSQL unchanged, on the real
emulator and database; strings they refuse never reach a store."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from devstack.stack import Stack
from shared.devices.models import RegisterDeviceRequest
from shared.devices.repository import FirestoreDeviceStore
from shared.errors import InvalidArgument
from shared.schedules.models import UpsertScheduleRequest
from shared.schedules.repository import FirestoreScheduleStore, decide_upsert
from shared.sessions.models import SyncFocusSessionsRequest
from shared.sessions.repository import FirestoreSessionStore
from shared.sessions.service import sync_focus_sessions
from shared.sql.store import SqlMirrorStore
from shared.wire import parse
from tests.support.mirror import CaughtUpMirror
from tests.support.sync_payloads import T0, stamp, upsert

pytestmark = pytest.mark.stack

# Any code point, surrogates and NUL included (what a JSON body can carry), plus known edges.
ANY_TEXT = st.text(st.characters(exclude_categories=()), min_size=1, max_size=40) | st.sampled_from(
    ["\x00", "a\x00b", "\ud800", "\u202eevil", "\ufeff", "😀", "e\u0301", "\uffff"]
)


def accepted(model: Any, data: dict[str, Any]) -> Any:
    try:
        return parse(model, data)
    except InvalidArgument:
        return None


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(text=ANY_TEXT)
@example(text="a\x00b")
@example(text="\ud800")
@example(text="__fz__")
@example(text="plain")
def test_what_the_api_accepts_reaches_postgresql_unchanged(
    stack: Stack, sql: SqlMirrorStore, text: str
) -> None:
    from shared.clients import firestore_client

    db = firestore_client()
    uid = f"text-{uuid.uuid4().hex[:10]}"
    mirror = CaughtUpMirror(sql)

    sync = accepted(
        SyncFocusSessionsRequest,
        {"deviceId": "phone", "mutations": [upsert("m", "s", label=text, blockedApps=[text])]},
    )
    if sync is not None:
        sync_focus_sessions(FirestoreSessionStore(db, mirror), uid, sync)
        row = sql.reads.user_snapshot(uid)["sessions"]["s"].data
        assert (row["label"], row["blockedApps"]) == (text, [text])

    schedule = {
        "id": "b",
        "name": text,
        "timezone": "UTC",
        "days": ["mon"],
        "start": "09:00",
        "end": "10:00",
        "blockedApps": [text],
        "enabled": True,
        "updatedAt": stamp(0),
    }
    upserted = accepted(UpsertScheduleRequest, {"schedule": schedule})
    if upserted is not None:
        chosen = upserted.schedule
        FirestoreScheduleStore(db, mirror).save(uid, "b", decide_upsert(chosen, T0), T0)
        (stored,) = sql.reads.list_schedules(uid)
        assert (stored["name"], stored["blockedApps"]) == (text, [text])

    device = accepted(
        RegisterDeviceRequest,
        {"deviceId": text, "platform": "ios", "fcmToken": "tok", "appVersion": text},
    )
    if device is not None:
        FirestoreDeviceStore(db, mirror).register(uid, device, T0, 20)
        (row,) = sql.reads.list_devices(uid)
        assert (row["deviceId"], row["appVersion"]) == (text, text)

    if "\x00" in text:  # refused everywhere: nothing was stored for this user
        assert (sync, upserted, device) == (None, None, None)
        assert not any(sql.reads.user_snapshot(uid).values())
