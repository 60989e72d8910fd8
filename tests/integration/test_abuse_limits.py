"""Abuse limits of every callable, in-process through the real views (Flask test client):
per-user rate limiting with a retry hint that costs no Firestore operation, and App Check."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import flask
import pytest

from devstack.functions_server import create_app
from devstack.stack import Stack
from shared import registry
from shared.metering import metered
from tests.support.auth import unsigned_token

pytestmark = pytest.mark.stack

CALLABLES = [fn.name for fn in registry.FUNCTIONS if fn.kind == "callable"]
# Invalid for every callable: the limiter runs before parsing, and nothing is ever written.
BAD_DATA = {"surely-not-a-field": True}


def _fresh_settings(monkeypatch: pytest.MonkeyPatch, **env: str) -> None:
    import shared.endpoints.callable
    from shared.settings import get_settings

    for name, value in env.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    shared.endpoints.callable._rate_limiter.cache_clear()  # rebuilt from the new settings


@pytest.fixture
def app_factory(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    from shared.settings import get_settings

    def make(**env: str) -> flask.testing.FlaskClient:
        _fresh_settings(monkeypatch, **env)
        return create_app(stack.config.project_id, stack.config.region).test_client()

    yield make
    monkeypatch.undo()
    get_settings.cache_clear()
    import shared.endpoints.callable

    shared.endpoints.callable._rate_limiter.cache_clear()


def call(client: Any, stack: Stack, name: str, token: str | None, **headers: str) -> Any:
    all_headers = dict(headers)
    if token is not None:
        all_headers["Authorization"] = f"Bearer {token}"
    path = f"/{stack.config.project_id}/{stack.config.region}/{name}"
    return client.post(path, json={"data": BAD_DATA}, headers=all_headers)


@pytest.mark.parametrize("name", CALLABLES)
def test_a_burst_beyond_the_limit_is_resource_exhausted_with_a_retry_hint(
    stack: Stack, app_factory: Any, name: str
) -> None:
    client = app_factory(FOCUS_RATE_LIMIT_PER_MINUTE="60", FOCUS_RATE_LIMIT_BURST="10")
    token = unsigned_token(f"burst-{uuid.uuid4().hex[:8]}", stack.config.project_id)
    statuses = [call(client, stack, name, token).get_json()["error"]["status"] for _ in range(10)]
    assert "RESOURCE_EXHAUSTED" not in statuses  # the burst is always there
    # The bucket refills at one call a second: calls back to back soon run it dry.
    for _ in range(50):
        with metered() as ops:
            limited = call(client, stack, name, token)
        if limited.status_code == 429:
            break
    assert limited.status_code == 429
    error = limited.get_json()["error"]
    assert error["status"] == "RESOURCE_EXHAUSTED"
    assert isinstance(error["details"]["retryAfterSeconds"], int)
    assert 1 <= error["details"]["retryAfterSeconds"] <= 60
    assert ops.as_dict() == {"reads": 0, "writes": 0, "deletes": 0}  # no hot document
    # The limit is per user: someone else is not affected.
    other = unsigned_token(f"other-{uuid.uuid4().hex[:8]}", stack.config.project_id)
    assert call(client, stack, name, other).get_json()["error"]["status"] != "RESOURCE_EXHAUSTED"


@pytest.mark.parametrize("name", CALLABLES)
def test_an_app_calling_sixty_times_a_minute_is_never_limited(
    stack: Stack, app_factory: Any, name: str
) -> None:
    client = app_factory()  # production defaults
    token = unsigned_token(f"steady-{uuid.uuid4().hex[:8]}", stack.config.project_id)
    # Sixty calls back to back is the worst a minute of 60 calls can look like.
    statuses = {call(client, stack, name, token).get_json()["error"]["status"] for _ in range(60)}
    assert "RESOURCE_EXHAUSTED" not in statuses


@pytest.mark.parametrize("name", CALLABLES)
def test_app_check_is_enforced_when_configured(stack: Stack, app_factory: Any, name: str) -> None:
    token = unsigned_token(f"appcheck-{uuid.uuid4().hex[:8]}", stack.config.project_id)
    enforced = app_factory(FOCUS_ENFORCE_APP_CHECK="true")
    refused = call(enforced, stack, name, token)
    assert refused.status_code == 401
    assert refused.get_json()["error"]["status"] == "UNAUTHENTICATED"

    relaxed = app_factory(FOCUS_ENFORCE_APP_CHECK="false")
    assert call(relaxed, stack, name, token).get_json()["error"]["status"] == "INVALID_ARGUMENT"
