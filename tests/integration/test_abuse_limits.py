"""Abuse limits of every callable, in-process through the real views (Flask test client), on
the stack's Redis: per-user rate limits with a retry hint that cost no Firestore operation, the
stricter hourly limits of exportAccount and deleteAccount, each limit's behaviour when Redis is
unreachable, one limit shared by two function servers, and App Check."""

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
# Callables with only the default per-minute limit; the others add an hourly one.
PER_MINUTE_ONLY = [
    fn.name for fn in registry.FUNCTIONS if fn.kind == "callable" and not fn.rate_limits
]
HOURLY = [fn.name for fn in registry.FUNCTIONS if fn.rate_limits]
# Invalid for every callable: the limiter runs before parsing, and nothing is ever written.
BAD_DATA = {"surely-not-a-field": True}


def _fresh_settings(monkeypatch: pytest.MonkeyPatch, **env: str) -> None:
    from shared.ratelimit import shared_limits
    from shared.settings import get_settings

    for name, value in env.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    shared_limits.cache_clear()  # rebuilt from the new settings


@pytest.fixture
def app_factory(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    from shared.settings import get_settings

    def make(**env: str) -> flask.testing.FlaskClient:
        _fresh_settings(monkeypatch, **env)
        return create_app(stack.config.project_id, stack.config.region).test_client()

    yield make
    monkeypatch.undo()
    get_settings.cache_clear()
    from shared.ratelimit import shared_limits

    shared_limits.cache_clear()


def call(
    client: Any, stack: Stack, name: str, token: str | None, data: Any = None, **headers: str
) -> Any:
    all_headers = dict(headers)
    if token is not None:
        all_headers["Authorization"] = f"Bearer {token}"
    path = f"/{stack.config.project_id}/{stack.config.region}/{name}"
    return client.post(path, json={"data": BAD_DATA if data is None else data}, headers=all_headers)


@pytest.mark.parametrize("name", PER_MINUTE_ONLY)
def test_calls_beyond_the_limit_are_resource_exhausted_with_a_retry_hint(
    stack: Stack, app_factory: Any, name: str
) -> None:
    client = app_factory(FOCUS_RATE_LIMIT_PER_MINUTE="60")
    token = unsigned_token(f"burst-{uuid.uuid4().hex[:8]}", stack.config.project_id)
    statuses = [call(client, stack, name, token).get_json()["error"]["status"] for _ in range(60)]
    assert "RESOURCE_EXHAUSTED" not in statuses  # a whole minute's calls at once pass
    with metered() as ops:
        limited = call(client, stack, name, token)
    assert limited.status_code == 429
    error = limited.get_json()["error"]
    assert error["status"] == "RESOURCE_EXHAUSTED"
    assert isinstance(error["details"]["retryAfterSeconds"], int)
    assert 1 <= error["details"]["retryAfterSeconds"] <= 60
    assert ops.as_dict() == {"reads": 0, "writes": 0, "deletes": 0}  # no hot document
    # The limit is per user: someone else is not affected.
    other = unsigned_token(f"other-{uuid.uuid4().hex[:8]}", stack.config.project_id)
    assert call(client, stack, name, other).get_json()["error"]["status"] != "RESOURCE_EXHAUSTED"


@pytest.mark.parametrize("name", PER_MINUTE_ONLY)
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


@pytest.mark.parametrize("name", HOURLY)
def test_costly_calls_have_an_hourly_limit_shared_by_none_of_their_later_pages(
    stack: Stack, app_factory: Any, name: str
) -> None:
    client = app_factory()  # production defaults
    token = unsigned_token(f"hourly-{uuid.uuid4().hex[:8]}", stack.config.project_id)
    statuses = [call(client, stack, name, token).get_json()["error"]["status"] for _ in range(10)]
    assert "RESOURCE_EXHAUSTED" not in statuses
    limited = call(client, stack, name, token)
    assert limited.status_code == 429
    error = limited.get_json()["error"]
    assert error["status"] == "RESOURCE_EXHAUSTED"
    assert 60 < error["details"]["retryAfterSeconds"] <= 3600
    (limit,) = registry.function(name).rate_limits
    if limit.unless_field is not None:  # e.g. the next page of an export under way
        later = call(client, stack, name, token, data={limit.unless_field: "x", **BAD_DATA})
        assert later.get_json()["error"]["status"] != "RESOURCE_EXHAUSTED"


def test_without_redis_cheap_calls_go_through_and_costly_ones_wait(
    stack: Stack, app_factory: Any, caplog: pytest.LogCaptureFixture
) -> None:
    from devstack.process import free_port

    client = app_factory(
        FOCUS_REDIS_URL=f"redis://127.0.0.1:{free_port()}/0", FOCUS_REDIS_TIMEOUT_S="0.2"
    )
    token = unsigned_token(f"noredis-{uuid.uuid4().hex[:8]}", stack.config.project_id)
    cheap = call(client, stack, "listSchedules", token)
    assert cheap.get_json()["error"]["status"] == "INVALID_ARGUMENT"  # the limit failed open
    assert any("rate limiter unavailable" in r.getMessage() for r in caplog.records)

    costly = call(client, stack, "exportAccount", token)
    assert costly.status_code == 503
    error = costly.get_json()["error"]
    assert error["status"] == "UNAVAILABLE"
    assert error["details"]["retryAfterSeconds"] > 0


def test_two_function_servers_share_one_limit(stack: Stack) -> None:
    """What instances of a function do in production: one Redis, one limit, however many."""
    import os
    import subprocess
    import sys

    import requests

    from devstack.process import free_port, http_ok
    from tests.support.waiting import wait_for

    env = {**os.environ, **stack.env(), "FOCUS_RATE_LIMIT_PER_MINUTE": "60"}
    ports = [free_port(), free_port()]
    servers = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "devstack.functions_server",
                f"--port={port}",
                f"--project={stack.config.project_id}",
                f"--region={stack.config.region}",
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for port in ports
    ]
    try:
        for port in ports:
            wait_for(
                lambda port=port: http_ok(f"http://127.0.0.1:{port}/healthz") or None,
                timeout=60,
                what=f"function server on {port}",
            )
        token = unsigned_token(f"shared-{uuid.uuid4().hex[:8]}", stack.config.project_id)
        statuses = []
        for i in range(80):  # alternately, as a load balancer would spread them
            url = f"http://127.0.0.1:{ports[i % 2]}/{stack.config.project_id}/"
            response = requests.post(
                f"{url}{stack.config.region}/listSchedules",
                json={"data": {}},
                headers={"Authorization": f"Bearer {token}"},
                timeout=30,
            )
            statuses.append(response.status_code)
        assert statuses.count(200) == 60  # not 60 per server
        assert statuses.count(429) == 20
    finally:
        for server in servers:
            server.terminate()
        for server in servers:
            server.wait(timeout=30)
