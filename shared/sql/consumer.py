"""The consumer of the `mirror-changes` topic: applies one message to PostgreSQL.

Outcomes, and how `mirrorChanges` answers Pub/Sub:
- applied (also when every record was a duplicate, stale, or of an erased account): 204, ack.
  Session records of a user whose feed SQL owns (`sql_only`) are acked and counted as
  `fenced`: Firestore is no longer the source of those sessions (shared/sessions/sql.py);
- poison, the message can never be applied (not an event, or a record whose data cannot be
  mirrored): `PoisonMessage`, answered 400. Pub/Sub treats that as a nack like any failure, so
  the message is retried with backoff and, after `max_delivery_attempts`, moved to the
  dead-letter topic by Pub/Sub itself. Retrying a deterministic failure costs little and covers
  the one case where it is not deterministic: a deploy skew in which a newer writer emits what
  an older consumer refuses, and the retries reach the newer consumer;
- anything else (PostgreSQL down, a timeout, a serialisation failure): the exception
  propagates, answered 500, retried the same way.

Nothing here acks a message that was not applied, so a record reaches SQL or the dead-letter
topic, from which `focusctl mirror dead-letters replay` puts it back.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal, Protocol

from pydantic import ValidationError

from shared import tracing
from shared.sql.events import AccountErased, ChangeBatch, ChangeDataError, decode_event

if TYPE_CHECKING:
    from shared.sql.writes import ApplyResult


class MirrorApplier(Protocol):
    """What the consumer needs of the SQL side (`MirrorWriter`)."""

    def apply(self, batch: ChangeBatch) -> ApplyResult: ...

    def erase_user(self, uid: str, version: int) -> int: ...


class PoisonMessage(ValueError):
    """The message can never be applied; it belongs in the dead-letter topic."""


@dataclasses.dataclass(frozen=True)
class Outcome:
    """What one message did, for the structured log line."""

    kind: Literal["changes", "account_erased"]
    records: int = 0
    applied: int = 0
    skipped_stale: int = 0
    dropped_erased: int = 0
    fenced: int = 0
    rows_erased: int = 0
    lag_ms: float | None = None  # from the write path's publish to now (changes only)

    def log_fields(self) -> dict[str, Any]:
        return {
            "event": "mirrorApplied",
            "kind": self.kind,
            "records": self.records,
            "applied": self.applied,
            "skippedStale": self.skipped_stale,
            "droppedErased": self.dropped_erased,
            "fenced": self.fenced,
            "rowsErased": self.rows_erased,
            "lagMs": self.lag_ms,
        }


def handle_message(data: bytes, store: MirrorApplier, now: datetime) -> Outcome:
    """Apply one `mirror-changes` message body; `PoisonMessage` if it never can be."""
    try:
        event = decode_event(data)
    except ValidationError as err:
        raise PoisonMessage(f"not a mirror event: {_first_error(err)}") from None
    if isinstance(event, AccountErased):
        removed = store.erase_user(event.uid, event.version)
        return Outcome("account_erased", rows_erased=removed)
    try:
        with tracing.span("postgresql.apply", kind="client", records=len(event.records)):
            result = store.apply(event)
    except ChangeDataError as err:
        raise PoisonMessage(f"a record cannot be mirrored: {err}") from None
    lag = (now - event.emitted_at).total_seconds() * 1000
    return Outcome(
        "changes",
        records=len(event.records),
        applied=result.applied,
        skipped_stale=result.skipped_stale,
        dropped_erased=result.dropped_erased,
        fenced=result.fenced,
        lag_ms=round(lag, 1),
    )


def _first_error(err: ValidationError) -> str:
    first = err.errors()[0]
    where = ".".join(str(part) for part in first.get("loc", ()))
    return f"{where}: {first.get('msg', 'invalid')}" if where else str(first.get("msg"))
