"""Calling functions over HTTP the way the Firebase client SDKs do (callable protocol).

Every error answer of a client function is checked against the contract on the way: its code must
be one the function declares (`shared/registry.py`, docs/api/openapi.json), with the HTTP status
the protocol gives it. So each end-to-end test also tests the document's error codes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import requests


@dataclass
class CallResult:
    status: int
    body: dict[str, Any]

    @property
    def result(self) -> Any:
        assert "result" in self.body, f"expected a result, got HTTP {self.status}: {self.body}"
        return self.body["result"]

    @property
    def error_status(self) -> str | None:
        error = self.body.get("error")
        return error.get("status") if isinstance(error, dict) else None

    @property
    def error_message(self) -> str:
        error = self.body.get("error") or {}
        return str(error.get("message", ""))


class FunctionsClient:
    """POST `{"data": ...}` to `<base>/<name>` with the user's ID token."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")
        self.session = requests.Session()

    def call(
        self,
        name: str,
        data: Any,
        token: str | None = None,
        *,
        raw_body: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> CallResult:
        all_headers = {"Content-Type": "application/json"}
        if token is not None:
            all_headers["Authorization"] = f"Bearer {token}"
        all_headers.update(headers or {})
        if raw_body is not None:
            response = self.session.post(
                f"{self.base_url}/{name}", data=raw_body, headers=all_headers, timeout=60
            )
        else:
            response = self.session.post(
                f"{self.base_url}/{name}", json={"data": data}, headers=all_headers, timeout=60
            )
        try:
            body = response.json()
        except ValueError:
            body = {"raw": response.text}
        result = CallResult(response.status_code, body)
        _check_declared_error(name, result)
        return result


def _check_declared_error(name: str, result: CallResult) -> None:
    from contract.document import http_status
    from shared import registry

    code = result.error_status
    try:
        contract = registry.function(name).contract
    except KeyError:
        return
    if contract is None or code is None:
        return
    assert code in contract.errors, (
        f"{name} answered {code}, which its contract does not declare: {result.body}"
    )
    assert result.status == http_status(code), (name, code, result.status)
