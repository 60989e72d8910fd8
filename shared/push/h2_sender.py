"""Sending silent pushes over HTTP/2: many FCM requests multiplexed on one or two connections.

FCM's HTTP v1 API takes one message per request. firebase-admin's `send_each` sends them from a
thread pool over HTTP/1.1, one connection per request in flight; its `send_each_async` speaks
HTTP/2 but builds a client per messaging service with no cap on connections and no way to
reuse it across event loops. This sender keeps, per instance, one event loop in a thread of its
own and one `httpx.AsyncClient` (HTTP/2, at most `MAX_CONNECTIONS` connections, at most
`MAX_IN_FLIGHT` requests at once: FCM allows 100 streams per connection), so every delivery
of the instance shares the same warm connections.

The request is the one firebase-admin would send: its URL comes from the one seam,
`shared.fcm_endpoint.send_url` (Google's, or the local stand-in's), the message JSON from
`build_message` through firebase-admin's own encoder, the token from the app's credential.
Against an `https://` URL HTTP/2 is negotiated by TLS (ALPN); against the local stand-in's
`http://` URL it is HTTP/2 with prior knowledge (h2c), which the stand-in speaks.

Answers are classified as `shared.push.sender.classify` does for firebase-admin's errors:
UNREGISTERED drops the token, QUOTA_EXCEEDED / 429 / 5xx / transport errors are retried by
Cloud Tasks, other 4xx fail without touching the token.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Mapping, Sequence
from typing import Any

from shared.push.sender import OutgoingPush, SendOutcome, SendResult, build_message

MAX_CONNECTIONS = 2
MAX_IN_FLIGHT = 200  # 2 connections x FCM's 100 concurrent streams
TIMEOUT_S = 30.0
KEEPALIVE_S = 300.0  # an instance keeps its connections warm between deliveries
_FCM_ERROR_TYPE = "type.googleapis.com/google.firebase.fcm.v1.FcmError"
_CONFIG_ERRORS = {"SENDER_ID_MISMATCH", "THIRD_PARTY_AUTH_ERROR"}


def classify_answer(status: int, body: Any) -> tuple[SendOutcome, str | None]:
    """What to do about one FCM answer (HTTP status and JSON body)."""
    if status == 200:
        return "sent", None
    error = body.get("error") if isinstance(body, Mapping) else None
    code: str | None = None
    if isinstance(error, Mapping):
        for detail in error.get("details") or []:
            if isinstance(detail, Mapping) and detail.get("@type") == _FCM_ERROR_TYPE:
                code = str(detail.get("errorCode") or "") or None
        code = code or (str(error.get("status")) if error.get("status") else None)
    code = code or str(status)
    if code == "UNREGISTERED":
        return "unregistered", code
    if code == "QUOTA_EXCEEDED" or status == 429 or status >= 500:
        return "retry", code
    if code in _CONFIG_ERRORS:
        return "failed", code
    return "failed", code


class Http2FcmSender:
    """`Sender` over HTTP/2 with a per-instance connection pool (see the module docstring)."""

    def __init__(self, app: Any = None, max_connections: int = MAX_CONNECTIONS) -> None:
        self._app = app
        self._max_connections = max_connections
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._client: Any = None
        self._url = ""

    def send(self, pushes: Sequence[OutgoingPush]) -> list[SendResult]:
        if not pushes:
            return []
        loop = self._start()
        headers = self._auth_headers()
        future = asyncio.run_coroutine_threadsafe(self._send_all(list(pushes), headers), loop)
        return future.result(timeout=TIMEOUT_S * 2)

    def close(self) -> None:
        with self._lock:
            loop, client = self._loop, self._client
            self._loop = self._client = None
        if loop is not None:
            if client is not None:
                asyncio.run_coroutine_threadsafe(client.aclose(), loop).result(timeout=10)
            loop.call_soon_threadsafe(loop.stop)

    # -- internals --------------------------------------------------------------------------

    def _firebase_app(self) -> Any:
        from shared.clients import firebase_app

        return self._app if self._app is not None else firebase_app()

    def _start(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is not None:
                return self._loop
            import httpx

            from shared.fcm_endpoint import send_url

            app = self._firebase_app()
            self._url = send_url(app.project_id)
            loop = asyncio.new_event_loop()
            threading.Thread(target=loop.run_forever, name="fcm-h2", daemon=True).start()
            limits = httpx.Limits(
                max_connections=self._max_connections,
                max_keepalive_connections=self._max_connections,
                keepalive_expiry=KEEPALIVE_S,
            )
            # http:// (the local stand-in): HTTP/2 with prior knowledge, so no HTTP/1.1 at all.
            cleartext = self._url.startswith("http://")

            async def make() -> Any:
                return httpx.AsyncClient(
                    http1=not cleartext, http2=True, limits=limits, timeout=TIMEOUT_S
                )

            self._client = asyncio.run_coroutine_threadsafe(make(), loop).result(timeout=10)
            self._loop = loop
            return loop

    def _auth_headers(self) -> dict[str, str]:
        """The app credential's bearer token, refreshed when due (the local stack's anonymous
        credentials add none)."""
        import google.auth.transport.requests

        credential = self._firebase_app().credential.get_credential()
        headers: dict[str, str] = {}
        request = google.auth.transport.requests.Request()
        credential.before_request(request, "POST", self._url, headers)
        return headers

    async def _send_all(
        self, pushes: list[OutgoingPush], headers: dict[str, str]
    ) -> list[SendResult]:
        gate = asyncio.Semaphore(MAX_IN_FLIGHT)

        async def one(push: OutgoingPush) -> SendResult:
            async with gate:
                return await self._send_one(push, headers)

        return list(await asyncio.gather(*(one(p) for p in pushes)))

    async def _send_one(self, push: OutgoingPush, headers: dict[str, str]) -> SendResult:
        import httpx

        from shared.fcm_endpoint import encode

        body = {"message": encode(build_message(push))}
        try:
            response = await self._client.post(self._url, json=body, headers=headers)
        except httpx.HTTPError as err:
            return SendResult(push, "retry", type(err).__name__, str(err)[:200])
        try:
            answer: Any = response.json()
        except ValueError:
            answer = None
        outcome, code = classify_answer(response.status_code, answer)
        detail = None if outcome == "sent" else response.text[:200]
        return SendResult(push, outcome, code, detail)
