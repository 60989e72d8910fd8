"""Pub/Sub push targets check their caller (shared/push/auth.py, `authenticate_push`): a forged
push is refused before its body is read, and nothing of it is applied. The genuine path, the
emulator's push carrying the stack's secret, is what every mirror test on the stack uses."""

from __future__ import annotations

import base64
import uuid
from datetime import UTC, datetime

import requests

from devstack.stack import Stack
from shared.changes import ChangeRecord
from shared.push.auth import PUSH_SECRET_PARAM
from shared.sql.events import AccountErased, ChangeBatch, encode
from shared.sql.store import SqlMirrorStore


def _envelope(data: bytes) -> dict[str, object]:
    return {
        "message": {"data": base64.b64encode(data).decode(), "messageId": uuid.uuid4().hex},
        "subscription": "projects/demo-focus/subscriptions/mirror-changes--mirrorChanges",
    }


def test_a_forged_erasure_is_refused_and_nothing_is_erased(
    stack: Stack, sql: SqlMirrorStore
) -> None:
    uid = f"uid-{uuid.uuid4().hex}"
    data = {"uid": uid, "timezone": "UTC", "locale": "en", "createdAt": "2026-01-01T00:00:00Z"}
    record = ChangeRecord(collection="users", uid=uid, id=uid, op="upsert", version=5, data=data)
    sql.writer.apply(ChangeBatch(records=[record], emitted_at=datetime.now(UTC)))
    forged = _envelope(encode(AccountErased(uid=uid, version=10**15)))
    bare = f"{stack.functions_base_url}/mirrorChanges"

    attempts = {
        "no credentials": (bare, {}),
        "a made-up bearer token": (bare, {"Authorization": "Bearer eyJhbGciOiJSUzI1NiJ9.e30.x"}),
        "a wrong secret": (f"{bare}?{PUSH_SECRET_PARAM}=guess", {}),
    }
    for what, (url, headers) in attempts.items():
        answer = requests.post(url, json=forged, headers=headers, timeout=30)
        assert answer.status_code in (401, 403), (what, answer.status_code)

    # Refused, not retried into a later success: the row is still there.
    assert sql.reads.get_user(uid) is not None
    # The same envelope from the subscription's endpoint is applied (the check, not the
    # envelope, made the difference).
    assert requests.post(stack.push_endpoint("mirrorChanges"), json=forged, timeout=30).ok
    assert sql.reads.get_user(uid) is None
