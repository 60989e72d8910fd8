"""The callable protocol: every client function is declared with `callable_endpoint`.

The firebase-functions SDK (`https_fn.on_call`) speaks the protocol and verifies the ID token
and App Check token. Around it this module adds what every function needs, in one place:
- a clear `INVALID_ARGUMENT` for a body that is not a JSON object with `data` (the SDK answers
  those with `INTERNAL`), and a size limit;
- `UNAUTHENTICATED` for a missing, expired or deleted-account token (with the Auth emulator the
  SDK skips the expiry check, so it is checked here for every environment), and App Check
  enforcement when the settings say so;
- per-user rate limiting, structured logs with the trace id and the Firestore operation counts;
- the one mapping from domain errors to callable error codes (`shared.errors.for_client`, which
  also answers `UNAVAILABLE` when a dependency stalled, e.g. a publish after a commit); anything
  unexpected becomes `INTERNAL` with a generic message, the details go to the log only.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import re
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from shared import registry
from shared.endpoints.options import deploy_options, describe
from shared.errors import ResourceExhausted, Unauthenticated, for_client
from shared.once import once

if TYPE_CHECKING:
    import flask
    from firebase_functions import https_fn
    from pydantic import BaseModel

    from shared.accounts.deletion import DeletionGuard


# No request of the contract nests deeper than about 6 levels; JSON nested thousands deep makes
# the SDK's own parser (in a worker thread, with less stack) fail with INTERNAL.
MAX_JSON_DEPTH = 32
# Arrays and objects in one request: the largest honest one (500 mutations, each an object with
# a session object and a list) has ~1,500. Counted at C speed before anything walks the body.
MAX_JSON_CONTAINERS = 4096
CLOCK_SKEW_S = 60  # tolerance on `exp` between Google's clock and ours

Handler = Callable[["Call"], Any]


@dataclasses.dataclass(frozen=True)
class Call:
    """One verified callable request, as handlers see it."""

    name: str
    uid: str
    token: Mapping[str, Any]
    data: Any
    now: datetime
    # The deleted-account check, when the function declared `guard_in_store`: the handler hands
    # it to the store whose first read applies it.
    guard: DeletionGuard | None = None

    def parse[M: BaseModel](self, model: type[M]) -> M:
        """The request data validated into `model`, or `INVALID_ARGUMENT` naming the field."""
        from shared.wire import parse

        return parse(model, self.data)

    @property
    def auth_time(self) -> datetime | None:
        value = self.token.get("auth_time")
        if isinstance(value, int | float):
            return datetime.fromtimestamp(value, UTC)
        return None


@dataclasses.dataclass(frozen=True)
class SignIn:
    """What a function asks of the caller's sign-in beyond a valid, unexpired ID token.

    `unrevoked`: the token is checked against Auth (one call): refused once the user's tokens
    were revoked or the user disabled, as an ID token otherwise stays valid for up to an hour.
    `max_age_s`: the sign-in (`auth_time`) must be this recent, else FAILED_PRECONDITION with
    the reason `requires-recent-login` (the Auth SDKs' name for it): the app signs the user in
    again (`reauthenticateWithCredential`) and retries. A stolen token then exports or deletes
    nothing once revoked, and deletes nothing after a few minutes.
    """

    unrevoked: bool = False
    max_age_s: int | None = None


ANY_SIGN_IN = SignIn()
RECENT_SIGN_IN_S = 5 * 60  # deleteAccount: long enough to confirm after signing in again


def callable_endpoint(
    *, guard_deleted: bool = True, guard_in_store: bool = False, sign_in: SignIn = ANY_SIGN_IN
) -> Callable[[Handler], Callable[[flask.Request], flask.Response]]:
    """Declare a client function. Its name is the handler's name, looked up in the registry.

    `guard_deleted`: refuse tokens of an account deleted since they were issued (functions that
    write; read-only and delete-only functions have nothing to protect). `guard_in_store`: the
    check is not made here but by the store that reads the user's documents first (`call.guard`,
    shared/accounts/deletion.py; the Firestore session store takes it from the feed head it
    reads anyway, without reading the marker). A call whose
    guard was never applied is answered INTERNAL, never OK. `sign_in`: what the function asks of
    the sign-in beyond a valid token (`SignIn`).
    """

    def decorate(handler: Handler) -> Callable[[flask.Request], flask.Response]:
        spec = registry.function(handler.__name__)

        def run(request: https_fn.CallableRequest[Any]) -> Any:
            return _run(spec, handler, request, guard_deleted, guard_in_store, sign_in)

        @once
        def sdk_view() -> Callable[[flask.Request], flask.Response]:
            # The SDK (Flask, firebase_admin, google.auth) loads with the first request, not
            # with the module: a cold start pays for it only where a request needs it.
            from firebase_functions import https_fn

            wrapped = https_fn.on_call(**deploy_options(spec))(run)
            return wrapped  # type: ignore[return-value]  # on_call's typing keeps run's type

        @functools.wraps(handler)
        def view(request: flask.Request) -> flask.Response:
            rejection = _reject_unsigned(request) or _reject_malformed(
                request, spec.max_request_bytes
            )
            if rejection is not None:
                return rejection
            from shared.clients import firebase_app

            firebase_app()  # the SDK verifies tokens with the default app
            return sdk_view()(request)

        describe(view, spec, callable_=True)
        return view

    return decorate


def _error_response(status: int, code: str, message: str) -> flask.Response:
    import flask

    body = json.dumps({"error": {"status": code, "message": message}})
    response = flask.Response(body, status=status, mimetype="application/json")
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


def _reject_unsigned(request: flask.Request) -> flask.Response | None:
    """`UNAUTHENTICATED` for a call with no bearer token, before its body is read: every client
    function needs a signed-in user, so nobody gets work done for free. The token itself is
    verified by the SDK afterwards."""
    if request.method != "POST":
        return None  # the SDK answers preflights and refuses other methods itself
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return _error_response(401, "UNAUTHENTICATED", "Sign in to call this function.")
    return None


def _reject_malformed(request: flask.Request, max_bytes: int) -> flask.Response | None:
    """Answer bodies the SDK would turn into `INTERNAL` with a clear `INVALID_ARGUMENT`, and
    bodies no honest request needs before doing any work on them. Every check before the parse
    runs at C speed (length, bytes.count, one regex), so junk costs milliseconds at any size."""
    if request.method != "POST":
        return None
    too_large = f"Request body too large (at most {max_bytes} bytes)."
    length = request.content_length
    if length is not None and length > max_bytes:
        return _error_response(400, "INVALID_ARGUMENT", too_large)
    content_type = (request.mimetype or "").lower()
    if content_type != "application/json":
        return _error_response(400, "INVALID_ARGUMENT", "Content-Type must be application/json.")
    raw = request.get_data(cache=True)
    if len(raw) > max_bytes:
        return _error_response(400, "INVALID_ARGUMENT", too_large)
    problem = _shape_problem(raw)
    if problem is not None:
        return _error_response(400, "INVALID_ARGUMENT", problem)
    try:
        body = json.loads(raw.decode("utf-8"))
    except (ValueError, RecursionError):
        return _error_response(400, "INVALID_ARGUMENT", "Request body must be JSON.")
    if not isinstance(body, dict) or "data" not in body or len(body) != 1:
        return _error_response(
            400, "INVALID_ARGUMENT", 'Request body must be an object {"data": ...}.'
        )
    return None


_JSON_STRING = re.compile(rb'"[^"]*"')  # on a text whose escapes are gone (_structure)
_JSON_BRACKET = re.compile(rb"[\[\]{}]")


def _shape_problem(raw: bytes) -> str | None:
    """Why a JSON text has a shape no request has (too many arrays and objects, or nested too
    deeply), or None. Brackets inside strings do not count. C-speed scans (bytes.count,
    replace, one regex) bound the work before the one Python loop, over few brackets."""
    if raw.count(b"[") + raw.count(b"{") <= MAX_JSON_DEPTH:
        return None  # fewer opening brackets than either limit
    structure = _structure(raw)
    if structure.count(b"[") + structure.count(b"{") > MAX_JSON_CONTAINERS:
        return "Request body has too many values."
    depth = deepest = 0
    for match in _JSON_BRACKET.finditer(structure):
        if match.group() in (b"[", b"{"):
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth -= 1
    return "Request body is nested too deeply." if deepest > MAX_JSON_DEPTH else None


def _structure(raw: bytes) -> bytes:
    """A JSON text with its strings emptied. Escaped backslashes, then escaped quotes, go first
    (replaces at C speed), so that every quote left opens or closes a string, and a regex
    without alternation empties them. (Invalid JSON may come out garbled: the parse refuses it.)"""
    plain = raw.replace(b"\\\\", b"").replace(b'\\"', b"")
    return _JSON_STRING.sub(b'""', plain)


def _enforce_rate_limits(spec: registry.Function, call: Call) -> None:
    """The default per-user limit, then the function's own (`registry.RateLimit`), shared by
    every instance. A store that does not answer fails each limit its own way (see
    shared/ratelimit.py): open with a log line, or closed with UNAVAILABLE."""
    from shared.errors import Unavailable
    from shared.ratelimit import LimiterUnavailable, report_unavailable, shared_limits
    from shared.settings import get_settings

    limits = [registry.RateLimit(f"{get_settings().rate_limit_per_minute}/minute")]
    data = call.data if isinstance(call.data, dict) else {}
    limits += [
        limit
        for limit in spec.rate_limits
        if limit.unless_field is None or data.get(limit.unless_field) is None
    ]
    for limit in limits:
        try:
            verdict = shared_limits().hit(limit.rate, spec.name, call.uid)
        except LimiterUnavailable as err:
            report_unavailable(spec.name, err)
            if limit.fail_closed:
                raise Unavailable(
                    "The service is briefly unavailable; retry soon.", retry_after_s=30
                ) from None
            continue
        if not verdict.allowed:
            raise ResourceExhausted(
                f"Too many calls; retry in {verdict.retry_after_s} s.",
                retry_after_s=verdict.retry_after_s,
            )


def _verified_call(name: str, request: https_fn.CallableRequest[Any], now: datetime) -> Call:
    from shared.settings import get_settings

    auth = request.auth
    if auth is None or not auth.uid:
        raise Unauthenticated("Sign in to call this function.")
    token = auth.token
    expires = token.get("exp")
    if not isinstance(expires, int | float) or expires + CLOCK_SKEW_S < now.timestamp():
        raise Unauthenticated("The ID token has expired; refresh it and retry.")
    if get_settings().app_check_enforced and request.app is None:
        raise Unauthenticated("A valid App Check token is required.")
    return Call(name=name, uid=auth.uid, token=token, data=request.data, now=now)


def _check_sign_in(call: Call, request: https_fn.CallableRequest[Any], policy: SignIn) -> None:
    """Apply `policy` (see `SignIn`); an account already gone from Auth passes, so that a retry
    of deleteAccount with the old token still answers `deleted: true`."""
    if policy.unrevoked:
        from firebase_admin import auth

        from shared.clients import firebase_app

        header = request.raw_request.headers.get("Authorization", "")
        try:
            auth.verify_id_token(
                header.removeprefix("Bearer ").strip(), app=firebase_app(), check_revoked=True
            )
        except auth.UserNotFoundError:
            return  # deleted: the function itself knows what to answer
        except auth.RevokedIdTokenError:
            raise Unauthenticated("This sign-in was revoked; sign in again.") from None
        except auth.UserDisabledError:
            raise Unauthenticated("This account is disabled.") from None
    if policy.max_age_s is not None:
        signed_in = call.auth_time
        if signed_in is None or (call.now - signed_in).total_seconds() > policy.max_age_s:
            from shared.errors import FailedPrecondition

            raise FailedPrecondition(
                "Sign in again to do this: the last sign-in is too old.",
                {"reason": "requires-recent-login", "maxAuthAgeSeconds": policy.max_age_s},
            )


def _handle(handler: Handler, call: Call, guard: DeletionGuard | None) -> Any:
    """The handler's result; with a guard left to its store, only once the guard was applied."""
    try:
        result = handler(call)
    except Exception:
        if guard is not None and not guard.checked:
            # Refused before its store read anything (e.g. INVALID_ARGUMENT): a deleted
            # account's token is still answered UNAUTHENTICATED first, as when the endpoint
            # read the marker itself.
            guard.ensure()
        raise
    if guard is not None and not guard.checked:
        raise RuntimeError(f"{call.name}: the deleted-account guard was never applied")
    return result


def _run(
    spec: registry.Function,
    handler: Handler,
    request: https_fn.CallableRequest[Any],
    guard_deleted: bool,
    guard_in_store: bool,
    sign_in: SignIn,
) -> Any:
    from firebase_functions import https_fn

    from shared import logs, tracing
    from shared.clock import utcnow
    from shared.metering import metered

    name = spec.name
    logs.configure()
    log = logs.get_logger("callable")
    started = time.perf_counter()
    trace = logs.trace_id_from_headers(request.raw_request.headers)
    outcome = "OK"
    uid = None
    with (
        tracing.server_span(name, request.raw_request.headers, trace) as trace,
        logs.request_context(trace, function=name),
        metered() as ops,
    ):
        try:
            call = _verified_call(name, request, utcnow())
            uid = call.uid
            _enforce_rate_limits(spec, call)
            guard = None
            if guard_deleted:
                from shared.accounts.deletion import DeletionGuard

                guard = DeletionGuard(call.uid, call.auth_time)
                if guard_in_store:
                    call = dataclasses.replace(call, guard=guard)
                else:
                    guard.ensure()
            if sign_in != ANY_SIGN_IN:
                _check_sign_in(call, request, sign_in)
            result = _handle(handler, call, guard)
            return result.to_wire() if hasattr(result, "to_wire") else result
        except Exception as err:
            known = for_client(err)
            if known is None:
                outcome = "INTERNAL"
                log.exception("unhandled error in %s", name)
                raise https_fn.HttpsError(
                    https_fn.FunctionsErrorCode.INTERNAL, "Internal error."
                ) from None
            outcome = known.code
            if known is not err:  # a dependency failed: operators want the cause
                log.warning("%s answered %s: %r", name, known.code, err)
            raise https_fn.HttpsError(
                https_fn.FunctionsErrorCode[known.code], known.message, known.details
            ) from None
        finally:
            log.info(
                "%s %s",
                name,
                outcome,
                extra={
                    "fields": {
                        "function": name,
                        "uid": uid,
                        "outcome": outcome,
                        "latencyMs": round((time.perf_counter() - started) * 1000, 1),
                        "firestore": ops.as_dict(),
                    }
                },
            )
