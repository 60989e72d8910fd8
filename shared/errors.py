"""Domain errors, and the one mapping from them to Firebase callable error codes.

Domain code raises these; `shared.endpoints.callable` turns them into `HttpsError`. A failure
of a service we depend on that retrying repairs is translated here too (`for_client`): the app
is told to try again, not that the backend has a bug. Anything else that escapes a handler is
logged in full and answered as a generic `INTERNAL`.
"""

from __future__ import annotations

from typing import Any

# What an UNAVAILABLE caused by a stalled dependency asks the app to wait before retrying.
RETRY_AFTER_S = 5


class DomainError(Exception):
    """Base of every error a client may see; `message` is safe to show."""

    code = "INTERNAL"

    def __init__(self, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class InvalidArgument(DomainError):
    """The request is malformed: a field is missing, mistyped, too large or unknown."""

    code = "INVALID_ARGUMENT"


class Unauthenticated(DomainError):
    """No usable identity: no token, a bad or expired one, or a deleted account."""

    code = "UNAUTHENTICATED"


class PermissionDenied(DomainError):
    """The caller is known but may not do this."""

    code = "PERMISSION_DENIED"


class NotFound(DomainError):
    """The thing asked for does not exist for this caller."""

    code = "NOT_FOUND"


class FailedPrecondition(DomainError):
    """The system is not in a state where this request can run."""

    code = "FAILED_PRECONDITION"


class Conflict(DomainError):
    """A concurrent change won; retrying may succeed."""

    code = "ABORTED"


class Unavailable(DomainError):
    """The service cannot answer right now (e.g. data moving between databases); retry soon."""

    code = "UNAVAILABLE"

    def __init__(self, message: str, retry_after_s: int | None = None) -> None:
        details = {"retryAfterSeconds": retry_after_s} if retry_after_s is not None else None
        super().__init__(message, details)
        self.retry_after_s = retry_after_s


class ResourceExhausted(DomainError):
    """A limit is reached (rate, quota, device count); `retry_after_s` when it is temporary."""

    code = "RESOURCE_EXHAUSTED"

    def __init__(self, message: str, retry_after_s: int | None = None) -> None:
        details = {"retryAfterSeconds": retry_after_s} if retry_after_s is not None else None
        super().__init__(message, details)
        self.retry_after_s = retry_after_s


class PublishFailed(Exception):
    """Pub/Sub did not take a message in time: stalled, refusing connections, or answering a
    retryable error. For a write, its commit is done but its mirror events are not on their way;
    the caller's retry (an idempotent replay) publishes them again. Not a `DomainError`: the
    message is for the logs."""


def for_client(err: Exception) -> DomainError | None:
    """The error a client sees for `err`, or None when `err` is a fault of ours (`INTERNAL`)."""
    if isinstance(err, DomainError):
        return err
    if isinstance(err, PublishFailed):
        return Unavailable(
            "The service is briefly unavailable; retry the same request.",
            retry_after_s=RETRY_AFTER_S,
        )
    return None
