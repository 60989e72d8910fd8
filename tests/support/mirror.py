"""Stand-ins for the mirror consumer in tests that run the write paths in process: the real
`SqlMirrorStore` applies the records, either at once or when the test says."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from shared.changes import ChangeRecord
from shared.sql.events import ChangeBatch
from shared.sql.store import SqlMirrorStore

EMITTED_AT = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)


class CaughtUpMirror:
    """The consumer, caught up: applies each commit's records to SQL right away."""

    def __init__(self, store: SqlMirrorStore) -> None:
        self.store = store

    def publish(self, records: Sequence[ChangeRecord]) -> None:
        self.store.writer.apply(ChangeBatch(records=list(records), emitted_at=EMITTED_AT))


class HeldMirror:
    """The consumer, behind: keeps what the write path published until `catch_up`."""

    def __init__(self, store: SqlMirrorStore) -> None:
        self.store = store
        self.held: list[ChangeRecord] = []

    def publish(self, records: Sequence[ChangeRecord]) -> None:
        self.held.extend(records)

    def catch_up(self) -> Any:
        """Apply everything held, as one batch; the `ApplyResult`."""
        result = self.store.writer.apply(ChangeBatch(records=self.held, emitted_at=EMITTED_AT))
        self.held = []
        return result
