"""Sending silent pushes through firebase-admin's FCM HTTP v1 client, and what each answer means.

Messages are data-only, as API.md requires. iOS gets the APNs headers of a background push
(`apns-push-type: background`, `apns-priority: 5`: Apple refuses priority 10 without an alert)
and `aps.content-available: 1`, nothing else: no alert, sound or badge. Android gets a data
message: `high` priority for schedule pushes (the app must wake from Doze at the start of a
block), `normal` for sync pushes, with a collapse key so pending sync pushes fold into one.

Several devices are sent with `messaging.send_each` (concurrent requests over pooled
connections; the FCM v1 API has no multi-recipient call, see docs/BENCHMARKS.md).
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal, Protocol

from shared.push.planning import PushKind

if TYPE_CHECKING:
    from firebase_admin import messaging

MAX_BATCH = 500  # send_each's limit per call

IOS_HEADERS: Mapping[str, str] = {"apns-push-type": "background", "apns-priority": "5"}
SYNC_COLLAPSE_KEY = "sync"

SendOutcome = Literal["sent", "unregistered", "retry", "failed"]


@dataclasses.dataclass(frozen=True)
class OutgoingPush:
    device_id: str
    platform: str
    token: str
    kind: PushKind
    data: Mapping[str, str]


@dataclasses.dataclass(frozen=True)
class SendResult:
    push: OutgoingPush
    outcome: SendOutcome
    code: str | None = None  # FCM error code (UNREGISTERED, QUOTA_EXCEEDED, ...) or HTTP status
    detail: str | None = None


class Sender(Protocol):
    def send(self, pushes: Sequence[OutgoingPush]) -> list[SendResult]:
        """Send every push; one result per push, in order. Never raises for a per-message
        failure."""


def build_message(push: OutgoingPush) -> messaging.Message:
    """The FCM message of one push: data-only, with the platform's background settings."""
    from firebase_admin import messaging

    android = None
    apns = None
    if push.platform == "ios":
        apns = messaging.APNSConfig(
            headers=dict(IOS_HEADERS),
            payload=messaging.APNSPayload(aps=messaging.Aps(content_available=True)),
        )
    else:
        android = messaging.AndroidConfig(
            priority="high" if push.kind == "schedule" else "normal",
            collapse_key=SYNC_COLLAPSE_KEY if push.kind == "sync" else None,
        )
    # firebase-admin 7.7 flags `token=` as deprecated in favour of installation ids; the apps
    # register FCM registration tokens, which the v1 API still addresses as `message.token`.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return messaging.Message(token=push.token, data=dict(push.data), android=android, apns=apns)


def classify(error: Exception | None) -> tuple[SendOutcome, str | None]:
    """What to do about one message's failure (None: it was sent)."""
    if error is None:
        return "sent", None
    from firebase_admin import exceptions, messaging

    if isinstance(error, messaging.UnregisteredError):
        return "unregistered", "UNREGISTERED"
    if isinstance(error, messaging.QuotaExceededError):
        return "retry", "QUOTA_EXCEEDED"
    if isinstance(error, messaging.SenderIdMismatchError | messaging.ThirdPartyAuthError):
        # Configuration problems (wrong project, APNs key): retrying will not help, and
        # dropping the token could wipe every token at once if the configuration is wrong.
        return "failed", _code(error)
    retryable = (
        exceptions.UnavailableError,
        exceptions.InternalError,
        exceptions.DeadlineExceededError,
        exceptions.ResourceExhaustedError,
        exceptions.UnknownError,
    )
    if isinstance(error, retryable):
        return "retry", _code(error)
    permanent = (
        exceptions.InvalidArgumentError,
        exceptions.FailedPreconditionError,
        exceptions.OutOfRangeError,
        exceptions.UnauthenticatedError,
        exceptions.PermissionDeniedError,
        exceptions.NotFoundError,
        exceptions.AlreadyExistsError,
    )
    if isinstance(error, permanent):
        return "failed", _code(error)
    if isinstance(error, exceptions.FirebaseError):
        status = _http_status(error)
        if status is None or status >= 500 or status == 429:
            return "retry", _code(error)
        return "failed", _code(error)
    return "retry", type(error).__name__  # transport errors and the like


def _code(error: Exception) -> str:
    code = getattr(error, "code", None)
    return str(code) if code else type(error).__name__


def _http_status(error: Exception) -> int | None:
    response = getattr(error, "http_response", None)
    status = getattr(response, "status_code", None)
    return status if isinstance(status, int) else None


class FcmSender:
    """`Sender` on firebase-admin messaging (the default app, see shared.clients)."""

    def __init__(self, app: Any = None) -> None:
        self._app = app

    def send(self, pushes: Sequence[OutgoingPush]) -> list[SendResult]:
        from firebase_admin import messaging

        from shared.clients import firebase_app

        app = self._app if self._app is not None else firebase_app()
        results: list[SendResult] = []
        for start in range(0, len(pushes), MAX_BATCH):
            chunk = list(pushes[start : start + MAX_BATCH])
            messages = [build_message(p) for p in chunk]
            try:
                batch = messaging.send_each(messages, app=app)
            except Exception as err:  # the whole call failed: nothing is known to be sent
                outcome, code = classify(err)
                outcome = "retry" if outcome == "sent" else outcome
                results.extend(SendResult(p, outcome, code, str(err)[:200]) for p in chunk)
                continue
            for push, response in zip(chunk, batch.responses, strict=True):
                outcome, code = classify(response.exception)
                detail = None if response.exception is None else str(response.exception)[:200]
                results.append(SendResult(push, outcome, code, detail))
        return results
