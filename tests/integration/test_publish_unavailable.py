"""A write whose mirror events Pub/Sub does not take answers UNAVAILABLE, not INTERNAL.

In process through the real views (Flask test client) with a short `FOCUS_PUBLISH_TIMEOUT_S`,
against the stack's emulators: the Pub/Sub emulator paused (SIGSTOP of its process group, always
resumed), or an address where nothing listens (connection refused).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import flask
import pytest

from devstack.process import free_port
from devstack.stack import Stack
from tests.support.auth import unsigned_token
from tests.support.sync_payloads import upsert

pytestmark = pytest.mark.stack

PUBLISH_TIMEOUT_S = 1.0


def _reset() -> None:
    from shared import clients, container
    from shared.settings import get_settings

    get_settings.cache_clear()
    clients.reset_for_tests()
    container.reset()


@pytest.fixture
def views(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> Iterator[flask.testing.FlaskClient]:
    from devstack.functions_server import create_app

    monkeypatch.setenv("FOCUS_PUBLISH_TIMEOUT_S", str(PUBLISH_TIMEOUT_S))
    _reset()
    yield create_app(stack.config.project_id, stack.config.region).test_client()
    monkeypatch.undo()
    _reset()


def call(views: Any, stack: Stack, name: str, uid: str, data: Any) -> tuple[int, dict[str, Any]]:
    c = stack.config
    token = unsigned_token(uid, c.project_id)
    response = views.post(
        f"/{c.project_id}/{c.region}/{name}",
        json={"data": data},
        headers={"Authorization": f"Bearer {token}"},
    )
    return response.status_code, response.get_json()


def assert_retry_later(status: int, body: dict[str, Any]) -> None:
    assert status == 503, body
    error = body["error"]
    assert error["status"] == "UNAVAILABLE"
    assert error["details"] == {"retryAfterSeconds": 5}


def test_a_sync_with_pubsub_stalled_answers_unavailable_and_its_retry_repairs_it(
    views: Any, stack: Stack
) -> None:
    from shared.clients import firestore_client

    uid = f"stall-{uuid.uuid4().hex[:12]}"
    request = {"deviceId": "phone", "cursor": None, "mutations": [upsert("m1", "s1")]}
    with stack.process("pubsub").paused():
        started = time.monotonic()
        status, body = call(views, stack, "syncFocusSessions", uid, request)
        waited = time.monotonic() - started
    assert_retry_later(status, body)
    assert waited < PUBLISH_TIMEOUT_S + 5, "bounded by the publish timeout"
    # Answered after the commit: the session is stored, only its mirror event is not on its way.
    stored = firestore_client().document(f"users/{uid}/sessions/s1").get()
    assert stored.exists

    # Pub/Sub is back: the app's retry with the same mutation ids is a replay that republishes.
    status, body = call(views, stack, "syncFocusSessions", uid, request)
    assert status == 200, body
    assert body["result"]["applied"] == ["m1"]


def test_a_write_with_pubsub_refusing_connections_answers_unavailable(
    views: Any, stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PUBSUB_EMULATOR_HOST", f"127.0.0.1:{free_port()}")  # nothing listens
    _reset()
    uid = f"down-{uuid.uuid4().hex[:12]}"
    started = time.monotonic()
    status, body = call(views, stack, "bootstrapAccount", uid, {"timezone": "Europe/Paris"})
    assert_retry_later(status, body)
    assert time.monotonic() - started < PUBLISH_TIMEOUT_S + 5
