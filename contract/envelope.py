"""The callable protocol's error answer, `{"error": {"status", "message", "details"}}`.

The firebase-functions SDK writes it (and `shared.endpoints.callable` for malformed
envelopes); these models only describe it for the contract. `details` is open: the keys below
are the ones the backend sends, each with the code it comes with.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.wire import open_enum

ErrorCode = Literal[
    "INVALID_ARGUMENT",
    "UNAUTHENTICATED",
    "PERMISSION_DENIED",
    "NOT_FOUND",
    "FAILED_PRECONDITION",
    "ABORTED",
    "RESOURCE_EXHAUSTED",
    "UNAVAILABLE",
    "INTERNAL",
]

Reason = Annotated[
    Literal["requires-recent-login", "app-update-required"],
    Field(
        description="why a FAILED_PRECONDITION happened, for the app to act on",
        json_schema_extra=open_enum("the app shows the error's message"),
    ),
]


class ErrorDetails(BaseModel):
    """Machine-readable details; absent when there are none."""

    model_config = ConfigDict(extra="allow")

    fields: list[str] | None = Field(
        None, description="INVALID_ARGUMENT: the offending paths from `data` (up to ten)"
    )
    retryAfterSeconds: int | None = Field(
        None, description="RESOURCE_EXHAUSTED, UNAVAILABLE: how long to wait before retrying"
    )
    reason: Reason | None = None
    maxAuthAgeSeconds: int | None = Field(
        None, description="`requires-recent-login`: how recent the sign-in must be, in seconds"
    )


class ErrorBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: ErrorCode = Field(description="the callable error code")
    message: str = Field(description="safe to show; names the field for INVALID_ARGUMENT")
    details: ErrorDetails | None = None


class CallableError(BaseModel):
    """An error answer of any callable."""

    model_config = ConfigDict(extra="forbid")

    error: ErrorBody
