"""The one place the write path hands its changes to the dual-write layer.

Every repository that writes Firestore calls `ChangeSink.publish` after its commit with one
`ChangeRecord` per written document (its full new state and its Firestore `update_time`), and
only then answers the client. A process that dies between the commit and the publish never
answered, so the client retries; the retry is an idempotent replay that publishes the same
records again (see docs/ARCHITECTURE.md, "Nothing is lost").
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from shared.sql.events import ChangeRecord


class ChangeSink(Protocol):
    def publish(self, records: Sequence[ChangeRecord]) -> None:
        """Deliver `records` durably (returns once the transport accepted them)."""


class CollectingSink:
    """Keeps what it is given; for unit tests and for code paths that batch publishes."""

    def __init__(self) -> None:
        self.records: list[ChangeRecord] = []

    def publish(self, records: Sequence[ChangeRecord]) -> None:
        self.records.extend(records)
