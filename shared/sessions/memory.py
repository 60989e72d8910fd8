"""`SessionStore` in memory: the reference the unit and property tests run the service on.

Same contract as the Firestore store (feed sequence per user, positions, epochs, change
records, tombstone purge), with a lock standing in for Firestore's preconditions.
"""

from __future__ import annotations

import dataclasses
import itertools
import threading
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from shared.sessions.models import (
    Head,
    Position,
    Stored,
    Tombstone,
    document_id,
    purge_at,
)
from shared.sessions.repository import Applied, Decide, PurgeOutcome

if TYPE_CHECKING:
    from shared.accounts.deletion import DeletionGuard
    from shared.changes import ChangeRecord, ChangeSink


@dataclasses.dataclass
class _Doc:
    stored: Stored
    version_time: int  # the "update_time" of the document, µs
    purge_at: datetime | None


@dataclasses.dataclass
class _Feed:
    epoch: int
    seq: int = 0
    docs: dict[str, _Doc] = dataclasses.field(default_factory=dict)  # by session id
    deleted_at: datetime | None = None  # the head's `accountDeletedAt`


class InMemorySessionStore:
    def __init__(
        self, changes: ChangeSink | None = None, clock: Callable[[], datetime] | None = None
    ) -> None:
        from shared.clock import utcnow

        self._feeds: dict[str, _Feed] = {}
        self._lock = threading.Lock()
        self._ticks = itertools.count(1)
        self._changes = changes
        self._clock = clock or utcnow
        self.reads = 0
        self.writes = 0
        # uid -> requestedAt of an account deletion: the deletion markers
        self.deletions: dict[str, datetime] = {}

    # -- test helpers ------------------------------------------------------------------------
    def sessions(self, uid: str) -> dict[str, Stored]:
        feed = self._feeds.get(uid)
        return {sid: doc.stored for sid, doc in feed.docs.items()} if feed else {}

    def mark_deleted(self, uid: str, requested_at: datetime) -> None:
        """What an account deletion does first: the marker, then the flag on the feed head."""
        with self._lock:
            self.deletions[uid] = requested_at
            feed = self._feeds.get(uid)
            if feed is not None:
                feed.deleted_at = requested_at

    def erase(self, uid: str) -> None:
        """What account deletion does: the feed and its sessions go."""
        with self._lock:
            self._feeds.pop(uid, None)

    # -- SessionStore --------------------------------------------------------------------------
    def head(self, uid: str, guard: DeletionGuard | None = None) -> Head:
        with self._lock:
            self.reads += 1
            self._guard(uid, guard)
            return self._head(uid)

    def _guard(self, uid: str, guard: DeletionGuard | None) -> datetime | None:
        """As in Firestore: the check from the feed head, or, without one, from the marker (one
        more read); returns what the marker said, for a head the call creates."""
        if guard is None:
            return None
        feed = self._feeds.get(uid)
        if feed is not None:
            guard.check_requested_at(feed.deleted_at)
            return None
        self.reads += 1
        marker = self.deletions.get(uid)
        guard.check_requested_at(marker)
        return marker

    def _head(self, uid: str) -> Head:
        feed = self._feeds.get(uid)
        return Head(feed.epoch, feed.seq) if feed else Head(0, 0)

    def apply(
        self, uid: str, ids: Sequence[str], decide: Decide, guard: DeletionGuard | None = None
    ) -> Applied:
        with self._lock:
            self.reads += len(ids) + 1
            marker = self._guard(uid, guard)
            base = self._head(uid)
            feed = self._feeds.get(uid)
            before = {
                sid: (feed.docs[sid].stored if feed and sid in feed.docs else None) for sid in ids
            }
            writes = dict(decide({sid: s.version if s else None for sid, s in before.items()}))
            after = dict(before)
            records: list[ChangeRecord] = []
            if writes:
                if feed is None:
                    feed = self._feeds[uid] = _Feed(epoch=next(self._ticks), deleted_at=marker)
                feed.seq += 1
                tick = next(self._ticks)
                now = self._clock()
                for sid, version in writes.items():
                    stored = Stored(version, Position(feed.seq, document_id(sid)))
                    tomb = isinstance(version, Tombstone)
                    feed.docs[sid] = _Doc(stored, tick, purge_at(now, uid, sid) if tomb else None)
                    after[sid] = stored
                self.writes += len(writes) + 1
            head = self._head(uid)
            if feed is not None:
                records = [_record(uid, sid, feed.docs[sid]) for sid in ids if sid in feed.docs]
        if self._changes is not None:
            self._changes.publish(records)
        return Applied(before, after, tuple(writes), base, head)

    def changes(self, uid: str, after: Position, upto_seq: int, limit: int) -> list[Stored]:
        with self._lock:
            feed = self._feeds.get(uid)
            docs = [] if feed is None else [d.stored for d in feed.docs.values()]
            found = sorted(
                (s for s in docs if s.position > after and s.position.seq <= upto_seq),
                key=lambda s: s.position,
            )[:limit]
            self.reads += max(len(found), 1)
            return found

    def purge_expired(self, now: datetime, budget_s: float) -> PurgeOutcome:
        from shared.changes import ChangeRecord

        purged: list[ChangeRecord] = []
        with self._lock:
            tick = next(self._ticks)
            for uid, feed in self._feeds.items():
                for sid, doc in list(feed.docs.items()):
                    if doc.purge_at is not None and doc.purge_at <= now:
                        del feed.docs[sid]
                        purged.append(
                            ChangeRecord(
                                collection="sessions",
                                uid=uid,
                                id=sid,
                                op="delete",
                                version=tick,
                                data=None,
                            )
                        )
        if self._changes is not None and purged:
            self._changes.publish(purged)
        return PurgeOutcome(len(purged), complete=True)


def _record(uid: str, sid: str, doc: _Doc) -> ChangeRecord:
    from shared.sessions.repository import session_record

    return session_record(uid, sid, doc.stored, doc.version_time)
