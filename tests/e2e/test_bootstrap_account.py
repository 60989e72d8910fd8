"""bootstrapAccount over HTTP, as the apps call it, with Auth emulator users."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from devstack.stack import Stack
from tests.support.auth import sign_in, sign_up, signed_in_after, unsigned_token
from tests.support.callables import FunctionsClient
from tests.support.logs import functions_log
from tests.support.waiting import wait_for

pytestmark = pytest.mark.stack


def test_sign_up_then_bootstrap_returns_a_profile(
    functions_client: FunctionsClient, auth_host: str, db: Any
) -> None:
    user = sign_up(auth_host)
    first = functions_client.call(
        "bootstrapAccount", {"timezone": "Europe/Paris", "locale": "fr-FR"}, user.id_token
    )
    assert first.status == 200, first.body
    profile = first.result["user"]
    assert first.result["created"] is True
    assert profile["uid"] == user.uid
    assert profile["timezone"] == "Europe/Paris"
    assert profile["locale"] == "fr-FR"
    assert profile["createdAt"].endswith("Z")
    created_at = datetime.fromisoformat(profile["createdAt"].replace("Z", "+00:00"))
    assert abs(created_at - datetime.now(UTC)) < timedelta(minutes=5)

    second = functions_client.call("bootstrapAccount", {"timezone": "Asia/Tokyo"}, user.id_token)
    assert second.result["created"] is False
    assert second.result["user"] == {**profile, "timezone": "Asia/Tokyo"}
    assert db.collection("users").document(user.uid).get().to_dict()["timezone"] == "Asia/Tokyo"


def test_without_a_token_is_unauthenticated(functions_client: FunctionsClient) -> None:
    result = functions_client.call("bootstrapAccount", {"timezone": "UTC"})
    assert (result.status, result.error_status) == (401, "UNAUTHENTICATED")


@pytest.mark.parametrize(
    "make_token",
    [
        pytest.param(lambda uid, p: unsigned_token(uid, p, expires_in=-600), id="expired"),
        pytest.param(lambda uid, p: unsigned_token(uid, p, audience="other-project"), id="foreign"),
        pytest.param(lambda uid, p: "not-a-jwt", id="malformed"),
        pytest.param(lambda uid, p: unsigned_token("", p), id="empty-uid"),
    ],
)
def test_bad_tokens_are_unauthenticated(
    functions_client: FunctionsClient, project_id: str, db: Any, make_token: Any
) -> None:
    result = functions_client.call(
        "bootstrapAccount", {"timezone": "UTC"}, make_token("eve", project_id)
    )
    assert (result.status, result.error_status) == (401, "UNAUTHENTICATED")
    assert not db.collection("users").document("eve").get().exists


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({}, "data.timezone"),
        ({"timezone": "Not/AZone"}, "data.timezone"),
        ({"timezone": ["UTC"]}, "data.timezone"),
        ({"timezone": "UTC", "locale": "x" * 10_000}, "data.locale"),
        ({"timezone": "UTC", "surprise": 1}, "data.surprise"),
        ("UTC", "data"),
        (None, "data"),
    ],
)
def test_malformed_data_is_invalid_argument_and_writes_nothing(
    functions_client: FunctionsClient, project_id: str, db: Any, data: Any, field: str
) -> None:
    token = unsigned_token("mallory", project_id)
    result = functions_client.call("bootstrapAccount", data, token)
    assert (result.status, result.error_status) == (400, "INVALID_ARGUMENT"), result.body
    assert result.error_message.startswith(field)
    assert not db.collection("users").document("mallory").get().exists


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"not json",
        b"\xff\xfe",
        b"[1, 2]",
        b'{"nodata": 1}',
        b'{"data": {}, "extra": 1}',
        b'{"data": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
        b'{"data": ' + b"[" * 1465 + b"]" * 1465 + b"}",
        b'{"data": {"a": ' + b"[" * 40 + b'"[[]"' + b"]" * 40 + b"}}",
    ],
    ids=[
        "empty",
        "text",
        "not-utf8",
        "array",
        "no-data",
        "extra-key",
        "deep",
        "deep-1465",
        "deep-40",
    ],
)
def test_malformed_bodies_are_invalid_argument_not_internal(
    functions_client: FunctionsClient, project_id: str, raw: bytes
) -> None:
    token = unsigned_token("mallory", project_id)
    result = functions_client.call("bootstrapAccount", None, token, raw_body=raw)
    assert (result.status, result.error_status) == (400, "INVALID_ARGUMENT"), result.body


def test_internal_details_never_leak(
    functions_client: FunctionsClient, project_id: str, db: Any, stack: Stack
) -> None:
    result = functions_client.call(
        "bootstrapAccount", {"timezone": "UTC", "locale": None}, unsigned_token("x", project_id)
    )
    assert result.status == 200
    text = json.dumps(result.body)
    assert "Traceback" not in text

    # A stored profile the server cannot read (written by hand, or by a faulty tool): the call
    # really fails inside the functions, and the app learns nothing but INTERNAL.
    canary = f"not-a-time-{uuid.uuid4().hex}"
    db.collection("users").document("y").set({"uid": "y", "timezone": "UTC", "createdAt": canary})
    trace = uuid.uuid4().hex
    failed = functions_client.call(
        "bootstrapAccount",
        {"timezone": "UTC"},
        unsigned_token("y", project_id),
        headers={"X-Cloud-Trace-Context": f"{trace}/1;o=1"},
    )
    assert failed.status == 500
    assert failed.body == {"error": {"status": "INTERNAL", "message": "Internal error."}}
    # The details went to the log, under the call's trace, and only there.
    (logged,) = [
        entry
        for entry in functions_log(stack)
        if entry.get("logging.googleapis.com/trace", "").endswith(f"/traces/{trace}")
        and "stack_trace" in entry
    ]
    assert logged["severity"] == "ERROR"
    assert "Traceback" in logged["stack_trace"] and canary in logged["stack_trace"]
    assert db.collection("users").document("y").get().to_dict()["createdAt"] == canary


def test_old_tokens_of_a_deleted_account_write_nothing_but_a_new_account_works(
    functions_client: FunctionsClient, auth_host: str, db: Any
) -> None:
    user = sign_up(auth_host)
    assert (
        functions_client.call("bootstrapAccount", {"timezone": "UTC"}, user.id_token).status == 200
    )
    # What deleteAccount leaves behind while old tokens may still be valid.
    from shared.accounts.deletion import ACCOUNT_DELETIONS, uid_hash

    requested_at = datetime.now(UTC) + timedelta(seconds=1)
    db.collection(ACCOUNT_DELETIONS).document(uid_hash(user.uid)).set({"requestedAt": requested_at})
    db.collection("users").document(user.uid).delete()
    stale = functions_client.call("bootstrapAccount", {"timezone": "UTC"}, user.id_token)
    assert stale.error_status == "UNAUTHENTICATED"
    assert not db.collection("users").document(user.uid).get().exists

    # The same uid signing in again later (auth_time after the deletion) starts afresh.
    # auth_time has a resolution of one second: sign in until it is strictly later.
    fresh = wait_for(
        lambda: signed_in_after(sign_in(auth_host, user.email).id_token, requested_at),
        30,
        "a sign-in after the deletion",
    )
    again = functions_client.call("bootstrapAccount", {"timezone": "UTC"}, fresh)
    assert again.status == 200, again.body
    assert again.result["created"] is True
