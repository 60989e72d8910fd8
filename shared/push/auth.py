"""Who may call `deliverPush`: Cloud Tasks, and nobody else.

Production: Cloud Tasks sends `Authorization: Bearer <OIDC token>` minted for the invoker
service account (`FOCUS_TASKS_INVOKER_EMAIL`) with the function's URL as audience (see
shared/push/tasks.py; the queues' `http_target` may name its Cloud Run URL instead, also
accepted). The token is verified with `google.oauth2.id_token.verify_oauth2_token`
(signature against Google's certificates, expiry, issuer, audience), then its `email` must be the
invoker's, verified. The function is also deployed private (only that account may invoke it);
this check is the defence in depth that still holds if that IAM binding is ever widened.

Local: the emulator sends no OIDC token, so tasks carry `X-Focus-Task-Secret` with the stack's
per-run secret (`FOCUS_TASK_SHARED_SECRET`, refused by the settings in production).

The Pub/Sub push targets (`pubsub_function`) are checked the same way by `authenticate_push`:
in production the push subscription's OIDC token, minted for the pusher account
(`FOCUS_PUBSUB_PUSHER_SA`) with the function's own Cloud Run URL as audience
(`FOCUS_PUBSUB_PUSH_AUDIENCE`), both set by Terraform; locally the same per-run secret, which the
Pub/Sub emulator (it sends no token and no custom header) carries in the push endpoint's query
(`?focusPushSecret=`). Without this a forged envelope posted by anything that can reach the
function (another function's identity, if the invoker binding were ever widened) would be applied
to the mirror as if Pub/Sub had delivered it.

401: no credentials; 403: credentials that do not prove Cloud Tasks (or Pub/Sub).
"""

from __future__ import annotations

import dataclasses
import hmac
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from shared.once import once
from shared.push.tasks import DELIVER_FUNCTION, TASK_SECRET_HEADER, deliver_url
from shared.settings import Settings

CERTS_TTL_S = 3600.0  # Google rotates its signing keys over days; refresh hourly

TokenVerifier = Callable[[str, list[str]], Mapping[str, Any]]  # (token, audiences) -> claims


@dataclasses.dataclass(frozen=True)
class AuthResult:
    ok: bool
    status: int = 200
    reason: str = ""


class _CachingRequest:
    """A google.auth transport that caches GET answers (Google's public certificates) for an
    hour, so verifying a token does not fetch them on every task."""

    def __init__(self) -> None:
        import google.auth.transport.requests

        self._inner = google.auth.transport.requests.Request()
        self._cache: dict[str, tuple[float, Any]] = {}
        self._lock = threading.Lock()

    def __call__(self, url: str, method: str = "GET", **kwargs: Any) -> Any:
        if method != "GET":
            return self._inner(url, method=method, **kwargs)
        now = time.monotonic()
        with self._lock:
            cached = self._cache.get(url)
        if cached is not None and now - cached[0] < CERTS_TTL_S:
            return cached[1]
        response = self._inner(url, method=method, **kwargs)
        if getattr(response, "status", None) == 200:
            with self._lock:
                self._cache[url] = (now, response)
        return response


_certificates_request = once(_CachingRequest)  # one certificate cache per instance


def google_oidc_verifier(token: str, audience: list[str]) -> Mapping[str, Any]:
    """Claims of a Google-signed OIDC token for one of `audience`; ValueError when not one."""
    from google.oauth2 import id_token

    claims: Mapping[str, Any] = id_token.verify_oauth2_token(  # type: ignore[no-untyped-call]
        token, _certificates_request(), audience=audience, clock_skew_in_seconds=10
    )
    return claims


def accepted_audiences(settings: Settings) -> list[str]:
    """URLs a task's OIDC token may be minted for: the function's URL as tasks name it, and
    its Cloud Run URL, which the queues' own `http_target` (infra/modules/tasks) names."""
    audiences = [deliver_url(settings)]
    run_url = settings.http_function_urls.get(DELIVER_FUNCTION)  # FOCUS_HTTP_FUNCTION_URLS
    if run_url:
        audiences.append(run_url.rstrip("/"))
    return audiences


def authenticate(
    headers: Mapping[str, str],
    settings: Settings,
    verify: TokenVerifier = google_oidc_verifier,
) -> AuthResult:
    """Is this request from our Cloud Tasks queues? `headers`: names in lower case."""
    if settings.task_shared_secret:
        return _check_secret(headers.get(TASK_SECRET_HEADER.lower()), settings.task_shared_secret)
    return _check_oidc(
        headers,
        settings.tasks_invoker_email,
        accepted_audiences(settings),
        verify,
    )


# The query parameter of a local push endpoint that carries the stack's secret.
PUSH_SECRET_PARAM = "focusPushSecret"  # noqa: S105 (a parameter name, not a secret)


def authenticate_push(
    headers: Mapping[str, str],
    query: Mapping[str, str],
    settings: Settings,
    verify: TokenVerifier = google_oidc_verifier,
) -> AuthResult:
    """Is this request a delivery of our push subscription? `headers`: names in lower case;
    `query`: the URL's query parameters."""
    if settings.task_shared_secret:
        given = query.get(PUSH_SECRET_PARAM) or headers.get(TASK_SECRET_HEADER.lower())
        return _check_secret(given, settings.task_shared_secret)
    audience = settings.pubsub_push_audience
    return _check_oidc(
        headers,
        settings.pubsub_pusher_email if audience else None,
        [audience.rstrip("/")] if audience else [],
        verify,
    )


def _check_secret(given: str | None, secret: str) -> AuthResult:
    if not given:
        return AuthResult(False, 401, "missing task secret")
    if not hmac.compare_digest(given.encode(), secret.encode()):
        return AuthResult(False, 403, "wrong task secret")
    return AuthResult(True)


def _check_oidc(
    headers: Mapping[str, str],
    account: str | None,
    audiences: list[str],
    verify: TokenVerifier,
) -> AuthResult:
    """A Google-signed OIDC token (signature, expiry, issuer, one of `audiences`) of `account`."""
    authorization = headers.get("authorization", "")
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return AuthResult(False, 401, "missing bearer token")
    if not account:
        return AuthResult(False, 403, "no invoker account configured")
    try:
        claims = verify(token.strip(), audiences)
    except Exception as err:  # any failure of verification is a refusal
        return AuthResult(False, 403, f"invalid OIDC token: {type(err).__name__}")
    if claims.get("email") != account or claims.get("email_verified") is not True:
        return AuthResult(False, 403, "OIDC token of another account")
    return AuthResult(True)


class PushRefused(Exception):
    """A Pub/Sub push request that did not prove it came from our subscription."""

    def __init__(self, result: AuthResult) -> None:
        super().__init__(result.reason)
        self.status = result.status


def check_push(request: Any) -> None:
    """Raise `PushRefused` unless the Flask `request` is a delivery of our push subscription."""
    from shared.settings import get_settings

    headers = {name.lower(): value for name, value in request.headers.items()}
    result = authenticate_push(headers, request.args, get_settings())
    if not result.ok:
        raise PushRefused(result)
