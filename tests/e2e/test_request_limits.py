"""What a call costs before it is authenticated, over HTTP as the apps call: no bearer token is
answered before the body is read; bodies larger than a function's largest honest request, or
with more arrays and objects than any request has, are refused before they are parsed. Every
refusal is a clear callable error, never INTERNAL. (The timings are in `make bench`, section
request_limits.)"""

from __future__ import annotations

import pytest

from shared import registry
from shared.endpoints.callable import MAX_JSON_CONTAINERS
from tests.support.auth import unsigned_token
from tests.support.callables import FunctionsClient

pytestmark = pytest.mark.stack


@pytest.mark.parametrize("header", [None, "", "Basic dXNlcjpwYXNz", "Bearer", "Bearer  "])
def test_no_bearer_token_is_unauthenticated_whatever_the_body(
    functions_client: FunctionsClient, header: str | None
) -> None:
    junk = b"[" * (2 * 1024 * 1024)  # the largest body any function takes, and not JSON
    headers = {} if header is None else {"Authorization": header}
    result = functions_client.call("syncFocusSessions", None, raw_body=junk, headers=headers)
    assert (result.status, result.error_status) == (401, "UNAUTHENTICATED"), result.body


@pytest.mark.parametrize("name", ["bootstrapAccount", "upsertSchedule", "syncFocusSessions"])
def test_a_body_over_the_functions_limit_is_refused(
    functions_client: FunctionsClient, project_id: str, name: str
) -> None:
    limit = registry.function(name).max_request_bytes
    token = unsigned_token("mallory", project_id)
    padding = b" " * (limit + 1 - len(b'{"data": {}}'))
    body = b'{"data": {}' + padding + b"}"
    assert len(body) == limit + 1
    result = functions_client.call(name, None, token, raw_body=body)
    assert (result.status, result.error_status) == (400, "INVALID_ARGUMENT"), result.body
    assert f"at most {limit} bytes" in result.error_message
    # One byte less is read and judged on its content.
    within = functions_client.call(name, None, token, raw_body=body[: limit - 1] + b"}")
    assert within.error_status != "INVALID_ARGUMENT" or "too large" not in within.error_message


def test_more_arrays_and_objects_than_any_request_has_are_refused(
    functions_client: FunctionsClient, project_id: str
) -> None:
    token = unsigned_token("mallory", project_id)
    many = b'{"data": {"mutations": [' + b",".join([b"{}"] * MAX_JSON_CONTAINERS) + b"]}}"
    result = functions_client.call("syncFocusSessions", None, token, raw_body=many)
    assert (result.status, result.error_status) == (400, "INVALID_ARGUMENT"), result.body
    assert "too many values" in result.error_message
    # Brackets inside strings are text, not values.
    label = "[" * (MAX_JSON_CONTAINERS + 10)
    text = ('{"data": {"deviceId": "p", "mutations": [], "cursor": "' + label + '"}}').encode()
    answered = functions_client.call("syncFocusSessions", None, token, raw_body=text)
    assert "too many values" not in answered.error_message
