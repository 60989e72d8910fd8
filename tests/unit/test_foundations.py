"""The cross-cutting pieces: settings, clock, wire parsing, rate limiter, logs, registry."""

from __future__ import annotations

import io
import json
import logging
import os
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from shared import registry
from shared.clock import format_timestamp, parse_timestamp, to_millis
from shared.logs import JsonFormatter, request_context, trace_id_from_headers
from shared.ratelimit import LimiterUnavailable, SharedLimits
from shared.settings import Settings

EMULATOR_VARS = ("FIRESTORE_EMULATOR_HOST", "FIREBASE_AUTH_EMULATOR_HOST", "PUBSUB_EMULATOR_HOST")


@pytest.fixture
def production_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No FOCUS_* or emulator variable, whatever the process has (a test stack sets several
    for the rest of its run): each case then sees only the value it sets."""
    for var in list(os.environ):
        if var.startswith("FOCUS_") or var in EMULATOR_VARS:
            monkeypatch.delenv(var)
    monkeypatch.setenv("FOCUS_REDIS_URL", "redis://10.0.0.3:6379/0")  # Terraform always sets it


class TestSettings:
    def test_local_defaults_need_no_configuration(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.delenv("FOCUS_ENV", raising=False)
        monkeypatch.delenv("FOCUS_ENFORCE_APP_CHECK", raising=False)
        settings = Settings()
        assert settings.env == "local"
        assert settings.app_check_enforced is False

    def test_production_enforces_app_check_by_default(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        for var in (
            "FIRESTORE_EMULATOR_HOST",
            "FIREBASE_AUTH_EMULATOR_HOST",
            "PUBSUB_EMULATOR_HOST",
        ):
            monkeypatch.delenv(var, raising=False)
        for var in ("FOCUS_FCM_URL", "FOCUS_TASKS_EMULATOR_HOST", "FOCUS_TASK_SHARED_SECRET"):
            monkeypatch.delenv(var, raising=False)
        monkeypatch.delenv("FOCUS_ENFORCE_APP_CHECK", raising=False)
        settings = Settings(env="production", redis_url="redis://10.0.0.3:6379/0")
        assert settings.app_check_enforced is True

    @pytest.mark.parametrize(
        ("unsafe", "problem"),
        [
            (
                {"enforce_app_check": False},
                "FOCUS_ENFORCE_APP_CHECK must not be false in production",
            ),
            (
                {"fcm_url": "http://127.0.0.1:9299"},
                "FOCUS_FCM_URL / FOCUS_TASKS_EMULATOR_HOST are local-only",
            ),
            (
                {"task_shared_secret": "x"},
                "FOCUS_TASK_SHARED_SECRET is local-only; production uses OIDC",
            ),
            (
                {"tasks_emulator_host": "127.0.0.1:1"},
                "FOCUS_FCM_URL / FOCUS_TASKS_EMULATOR_HOST are local-only",
            ),
            (
                {"redis_url": None},
                "FOCUS_REDIS_URL is required in production: rate limits are shared",
            ),
        ],
    )
    def test_production_refuses_unsafe_values(
        self, production_env: None, unsafe: dict[str, object], problem: str
    ) -> None:
        Settings(env="production")  # the clean environment alone is accepted ...
        with pytest.raises(ValidationError) as refused:
            Settings(env="production", **unsafe)  # type: ignore[arg-type]
        assert refused_because(refused.value) == problem  # ... and this value alone is refused

    @pytest.mark.parametrize("var", EMULATOR_VARS)
    def test_production_refuses_emulator_variables(
        self, production_env: None, monkeypatch: pytest.MonkeyPatch, var: str
    ) -> None:
        Settings(env="production")
        monkeypatch.setenv(var, "127.0.0.1:8080")
        with pytest.raises(ValidationError) as refused:
            Settings(env="production")
        assert refused_because(refused.value) == "emulator host variables are set in production"


def refused_because(error: ValidationError) -> str:
    """What the production check said, without pydantic's wrapping."""
    (only,) = error.errors()
    return str(only["ctx"]["error"])


RFC3339_UTC = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z")


class TestClock:
    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("2026-11-22T09:00:00Z", "2026-11-22T09:00:00.000Z"),
            ("2026-11-22T09:00:00.123456789Z", "2026-11-22T09:00:00.123Z"),
            ("2026-11-22T10:00:00.5+01:00", "2026-11-22T09:00:00.500Z"),
            ("2026-11-22t09:00:00z", "2026-11-22T09:00:00.000Z"),
        ],
    )
    def test_round_trip_in_utc_milliseconds(self, text: str, expected: str) -> None:
        assert format_timestamp(parse_timestamp(text)) == expected

    @given(st.datetimes(timezones=st.just(UTC)))
    def test_every_accepted_time_is_written_as_it_can_be_read_back(self, value: datetime) -> None:
        """Years 1-999 included: the apps and the mirror parse what the server writes."""
        from shared.changes import format_timestamp as format_micros

        written = format_timestamp(value)
        assert parse_timestamp(written) == to_millis(value)
        assert RFC3339_UTC.fullmatch(written)
        assert datetime.fromisoformat(format_micros(value)) == value

    @pytest.mark.parametrize(
        "text",
        [
            "2026-11-22T09:00:00",
            "2026-11-22",
            "yesterday",
            "",
            "2026-13-01T00:00:00Z",
            "0001-01-01T00:00:00+01:00",  # before year 1 in UTC
            "9999-12-31T23:59:59-01:00",  # after year 9999 in UTC
        ],
    )
    def test_refuses_what_is_not_rfc3339_with_a_zone(self, text: str) -> None:
        with pytest.raises(ValueError):
            parse_timestamp(text)


class TestSharedLimits:
    """The limiter's own rules, on the `limits` memory store (the shared Redis store is tried
    in tests/integration/test_abuse_limits.py)."""

    def test_allows_the_limit_then_asks_to_wait_within_the_window(self) -> None:
        limits = SharedLimits("memory://")
        assert all(limits.hit("3/minute", "f", "u").allowed for _ in range(3))
        refused = limits.hit("3/minute", "f", "u")
        assert not refused.allowed
        assert 1 <= refused.retry_after_s <= 60
        assert limits.hit("3/minute", "f", "other").allowed  # per key
        assert limits.hit("3/minute", "g", "u").allowed  # per name

    def test_a_cost_spends_several_at_once(self) -> None:
        limits = SharedLimits("memory://")
        assert limits.hit("10/hour", "tasks", "u", cost=8).allowed
        assert not limits.hit("10/hour", "tasks", "u", cost=3).allowed
        assert limits.hit("10/hour", "tasks", "u", cost=2).allowed

    def test_an_unreachable_store_raises_limiter_unavailable(self) -> None:
        from devstack.process import free_port

        limits = SharedLimits(f"redis://127.0.0.1:{free_port()}/0", timeout_s=0.2)
        with pytest.raises(LimiterUnavailable):
            limits.hit("60/minute", "f", "u")


class TestLogs:
    def test_trace_id_from_google_and_w3c_headers(self) -> None:
        google = {"X-Cloud-Trace-Context": "105445aa7843bc8bf206b12000100000/1;o=1"}
        assert trace_id_from_headers(google) == "105445aa7843bc8bf206b12000100000"
        w3c = {"traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}
        assert trace_id_from_headers(w3c) == "0af7651916cd43dd8448eb211c80319c"
        assert trace_id_from_headers({}) is None

    @pytest.mark.parametrize(
        "header",
        [
            "abc123/1;o=1",  # too short
            "uid-of-someone-else/1",
            "../../projects/other/traces/105445aa7843bc8bf206b12000100000",
            "105445aa7843bc8bf206b12000100000" * 100,
            "105445aa7843bc8bf206b1200010000g/1",  # not hex
            "0" * 32,  # the invalid all-zero id
        ],
    )
    def test_a_malformed_client_trace_header_is_ignored(self, header: str) -> None:
        assert trace_id_from_headers({"X-Cloud-Trace-Context": header}) is None
        w3c = {"traceparent": f"00-{header}-b7ad6b7169203331-01"}
        assert trace_id_from_headers(w3c) is None

    def test_entries_are_json_with_severity_trace_and_fields(self) -> None:
        stream = io.StringIO()
        handler = logging.StreamHandler(stream)
        handler.setFormatter(JsonFormatter("demo-focus"))
        log = logging.getLogger("test-json")
        log.addHandler(handler)
        log.propagate = False
        with request_context("t-1", function="f"):
            log.warning("hello %s", "world", extra={"fields": {"outcome": "OK"}})
        entry = json.loads(stream.getvalue())
        assert entry["severity"] == "WARNING"
        assert entry["message"] == "hello world"
        assert entry["logging.googleapis.com/trace"] == "projects/demo-focus/traces/t-1"
        assert entry["outcome"] == "OK"


class TestRegistry:
    def test_every_registered_function_is_exported_by_main_and_vice_versa(self) -> None:
        import functions.main as main

        exported = {
            name for name in main.__all__ if hasattr(getattr(main, name), "__firebase_endpoint__")
        }
        assert exported == {fn.name for fn in registry.FUNCTIONS}

    def test_pubsub_functions_name_a_registered_topic(self) -> None:
        names = {t.name for t in registry.TOPICS}
        for fn in registry.FUNCTIONS:
            if fn.kind == "pubsub":
                assert fn.topic in names
        for topic in registry.TOPICS:
            if topic.dead_letter_topic:
                assert topic.dead_letter_topic in names
        for job in registry.SCHEDULED_JOBS:
            assert job.topic in names

    def test_queues_target_http_functions(self) -> None:
        for queue in registry.QUEUES:
            assert registry.function(queue.target_function).kind == "http"

    def test_terraform_input_is_generated_from_the_registry(self) -> None:
        from devstack.stack import ROOT

        envs = [p for p in (ROOT / "infra" / "environments").iterdir() if p.is_dir()]
        assert envs
        for env in envs:
            generated = (env / "registry.auto.tfvars.json").read_text()
            assert generated == registry.render_terraform_vars(), (
                f"{env.name}: run `make requirements` to regenerate registry.auto.tfvars.json"
            )

    def test_callables_are_declared_in_the_firebase_endpoint_shape(self) -> None:
        import functions.main as main

        endpoint = main.bootstrapAccount.__firebase_endpoint__
        assert endpoint.callableTrigger is not None
        assert endpoint.region == [registry.REGION]


def test_datetime_now_is_aware() -> None:
    from shared.clock import utcnow

    assert utcnow().tzinfo is UTC
    assert isinstance(utcnow(), datetime)


def _pins(path: Path) -> dict[str, str]:
    """name -> version of a pip-compile output; every pin must carry its hashes."""
    import re

    pins: dict[str, str] = {}
    lines = path.read_text().splitlines()
    for number, line in enumerate(lines):
        match = re.match(r"^([A-Za-z0-9._-]+)==(\S+)", line)
        if match is None:
            continue
        name = match.group(1).lower().replace("_", "-")
        assert line.endswith("\\") and "--hash=sha256:" in lines[number + 1], (path.name, name)
        pins[name] = match.group(2)
    return pins


def _names(dependencies: list[str]) -> set[str]:
    import re

    return {
        re.split(r"[\[<>=~ ;]", dep, maxsplit=1)[0].lower().replace("_", "-")
        for dep in dependencies
        if not dep.startswith("focus-backend")
    }


def test_one_lock_for_every_environment_and_the_deploy_cut_from_it() -> None:
    """`requirements.lock` pins every package of every extra with hashes (what `make install`
    installs, `--require-hashes`); `functions/requirements.txt` (what is deployed) pins the
    runtime dependencies only, at the lock's versions, with hashes. `make requirements` writes
    both. The vulnerability audit of the lock runs in the deploy pipeline (pip-audit), as these
    machines reach no advisory database."""
    import tomllib

    from devstack.stack import ROOT

    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    runtime = _names(pyproject["project"]["dependencies"])
    every = runtime.union(
        *(_names(deps) for deps in pyproject["project"]["optional-dependencies"].values())
    )
    lock = _pins(ROOT / "requirements.lock")
    deployed = _pins(ROOT / "functions" / "requirements.txt")
    assert every <= set(lock), f"run `make requirements`; not locked: {sorted(every - set(lock))}"
    assert runtime <= set(deployed), (
        f"run `make requirements`; missing: {sorted(runtime - set(deployed))}"
    )
    assert {name: lock.get(name) for name in deployed} == deployed, "deploy and lock disagree"
    # Tools stay out of what is deployed (they are in the lock only).
    for tool in ("alembic", "psycopg", "pytest", "mypy", "typer"):
        assert tool not in deployed, tool
    for path in (ROOT / "requirements.lock", ROOT / "functions" / "requirements.txt"):
        text = path.read_text()
        assert "autogenerated by pip-compile" in text, "run `make requirements`"
        assert "/" not in "".join(
            line for line in text.splitlines() if not line.lstrip().startswith("#")
        ), f"{path.name} names a path or URL"


def test_uv_is_pinned_with_its_hashes_by_a_lock_of_its_own() -> None:
    """`make install` installs uv, which installs everything else, from requirements-uv.lock
    (pip, hashes checked); `make requirements` writes it from requirements-uv.in."""
    import re

    from devstack.stack import ROOT

    wanted = re.search(r"^uv==(\S+)$", (ROOT / "requirements-uv.in").read_text(), re.MULTILINE)
    assert wanted is not None, "requirements-uv.in pins no uv"
    lock = ROOT / "requirements-uv.lock"
    assert _pins(lock) == {"uv": wanted.group(1)}, "run `make requirements`"
    assert "autogenerated by pip-compile" in lock.read_text()


def test_a_call_whose_guard_was_left_to_its_store_is_never_answered_unguarded() -> None:
    import pytest

    from shared.accounts.deletion import DeletionGuard
    from shared.endpoints.callable import Call, _handle

    def call_with(guard: DeletionGuard) -> Call:
        return Call("syncFocusSessions", "u", {}, {}, datetime.now(UTC), guard=guard)

    applied = DeletionGuard("u", None)
    assert _handle(lambda c: c.guard.check_requested_at(None) or "ok", call_with(applied), applied)
    forgotten = DeletionGuard("u", None)
    with pytest.raises(RuntimeError, match="never applied"):
        _handle(lambda c: "ok", call_with(forgotten), forgotten)
