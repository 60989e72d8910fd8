"""`SessionStore` on PostgreSQL: where a user's sessions live once their phase is `sql_only`.

The same contract as the Firestore store (shared/sessions/repository.py): a feed sequence per
user, positions `(syncSeq, document id)`, epochs, last writer wins decided by the service, and
tombstones purged after the retention. The rows are the mirror's own (`focus_sessions`), so
export, delete and reconcile read them the same way in every phase.

**Taking over a feed.** Until a user's first request in `sql_only`, Firestore numbers the feed
and the mirror copies it. The first `head` or `apply` takes it over, in one transaction under the
user's advisory lock: it reads the Firestore feed head (one read, once per user), checks that the
mirror holds every commit up to it (`complete_seq`, nothing pending), and records the head and
its epoch in `session_feeds.sql_seq`/`sql_epoch`, so the next commit numbers on and every cursor
a device holds stays valid. If the mirror is still behind (a commit in flight), the request is
refused with UNAVAILABLE and the app retries: nothing was written.

**The fence.** From the takeover on, the mirror refuses session records of that user
(`ownership.sql_owned_feeds`): the synchronous apply of a `sql_primary` request that an instance
with a stale phase cache still serves fails (`PhasedChangeSink` answers UNAVAILABLE, the app
retries and reaches this store), and the consumer, backfill and reconcile leave those sessions
alone. Nothing acknowledged can be lost this way only if no instance still serves the user in a
phase that does not apply to SQL before answering, which is why `focusctl mirror phase set
sessions sql_only` requires `sql_primary` at 100% for longer than the phase cache
(shared/migration/phases.py).

Versions: each commit's rows get the commit time in microseconds, raised above the version of
any row or delete marker of those sessions (a Firestore version from before the takeover may be
ahead of this clock), so the mirror's guards and reconcile's hashes keep their meaning.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, func, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert

from shared import fs
from shared.sessions.models import (
    TOMBSTONE_RETENTION,
    Head,
    Position,
    Stored,
    Tombstone,
    document_id,
    purge_at,
)
from shared.sessions.repository import Applied, Decide, PurgeOutcome, session_record
from shared.sql.ownership import lock_users
from shared.sql.schema import data_from_row, metadata, row_from_record
from shared.sql.store import SqlMirrorStore
from shared.sql.writes import next_version

if TYPE_CHECKING:
    from shared.accounts.deletion import DeletionGuard

_sessions = metadata.tables["focus_sessions"]
_feeds = metadata.tables["session_feeds"]
PURGE_BATCH = 500

# Expired tombstones, a batch at a time; rows being written right now are skipped (the next run
# takes them), and the purge date is checked again on the locked row.
_PURGE = text(
    """
    DELETE FROM focus_sessions
    WHERE (user_id, id) IN (
        SELECT user_id, id FROM focus_sessions
        WHERE purge_at <= :now AND deleted
        ORDER BY purge_at
        LIMIT :limit
        FOR UPDATE SKIP LOCKED
    ) AND purge_at <= :now AND deleted
    """
)


_DATE_MIRRORED_TOMBSTONES = text(
    """
    UPDATE focus_sessions
    SET purge_at = server_updated_at + make_interval(secs => :retention_s)
    WHERE user_id = :uid AND deleted AND purge_at IS NULL
    """
)


class SqlSessionStore:
    """`SessionStore` on PostgreSQL (see the module docstring).

    Per call: `head` one indexed read (plus the one-time takeover), `apply` one transaction
    (lock, feed row, the sessions' rows, one upsert statement, the feed update), `changes` one
    indexed range read. No Firestore operation after the takeover but a `guard`'s own read of
    the deletion marker (which stays in Firestore in every phase), before the transaction.
    """

    def __init__(
        self,
        mirror: SqlMirrorStore,
        firestore_head: Callable[[str], Head],
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        from shared.clock import utcnow

        self._mirror = mirror
        self._engine = mirror.engine
        self._firestore_head = firestore_head
        self._clock = clock or utcnow

    def head(self, uid: str, guard: DeletionGuard | None = None) -> Head:
        if guard is not None and not guard.checked:
            guard.ensure()
        with self._engine.connect() as conn:
            row = conn.execute(
                select(_feeds.c.sql_epoch, _feeds.c.sql_seq).where(_feeds.c.user_id == uid)
            ).first()
        if row is not None and row.sql_seq is not None:
            return Head(int(row.sql_epoch), int(row.sql_seq))
        with self._engine.begin() as conn:
            lock_users(conn, {uid})
            return self._owned_head(conn, uid)

    def apply(
        self, uid: str, ids: Sequence[str], decide: Decide, guard: DeletionGuard | None = None
    ) -> Applied:
        if guard is not None and not guard.checked:
            guard.ensure()
        with self._engine.begin() as conn:
            lock_users(conn, {uid})
            base = self._owned_head(conn, uid)
            rows = conn.execute(
                select(_sessions).where(_sessions.c.user_id == uid, _sessions.c.id.in_(list(ids)))
            ).mappings()
            before: dict[str, Stored | None] = dict.fromkeys(ids)
            for row in rows:
                before[row["id"]] = stored_from_row(row)
            writes = dict(decide({sid: s.version if s else None for sid, s in before.items()}))
            if not writes:
                return Applied(before, dict(before), (), base, base)
            seq = base.seq + 1
            now = self._clock()
            version = next_version(conn, "sessions", uid, list(writes), now)
            after = dict(before)
            table_rows = []
            for sid, written in writes.items():
                stored = Stored(written, Position(seq, document_id(sid)))
                table_row = row_from_record(session_record(uid, sid, stored, version))
                tombstone = isinstance(written, Tombstone)
                table_row["purge_at"] = purge_at(now, uid, sid) if tombstone else None
                table_rows.append(table_row)
                after[sid] = stored
            upserted = self._mirror.writer.upsert_rows(conn, "sessions", table_rows)
            if upserted != len(table_rows):  # cannot happen under the lock with a newer version
                raise RuntimeError(f"sessions of {uid}: {upserted}/{len(table_rows)} written")
            conn.execute(
                update(_feeds)
                .where(_feeds.c.user_id == uid)
                .values(sql_seq=seq, complete_seq=seq, updated_at=func.now())
            )
        return Applied(before, after, tuple(writes), base, Head(base.epoch, seq))

    def changes(self, uid: str, after: Position, upto_seq: int, limit: int) -> list[Stored]:
        rows = self._mirror.feeds.sessions_in_feed(uid, (after.seq, after.id), upto_seq, limit)
        from shared.sessions.repository import stored_from_doc

        return [stored_from_doc(doc_id, data) for doc_id, data in rows]

    def purge_expired(self, now: datetime, budget_s: float) -> PurgeOutcome:
        """Delete tombstones whose purge date passed, `PURGE_BATCH` per transaction. Only
        tombstones this store wrote have one (the mirror's copies are purged from Firestore)."""
        deadline = time.monotonic() + budget_s
        purged = 0
        while True:
            with self._engine.begin() as conn:
                done = conn.execute(_PURGE, {"now": now, "limit": PURGE_BATCH}).rowcount
            purged += done
            if done < PURGE_BATCH:
                return PurgeOutcome(purged, complete=True)
            if time.monotonic() >= deadline:
                return PurgeOutcome(purged, complete=False)

    def _owned_head(self, conn: Connection, uid: str) -> Head:
        """The SQL feed head, taking the feed over from Firestore first if needed (the caller
        holds the user's lock)."""
        from shared.errors import Unavailable

        row = conn.execute(select(_feeds).where(_feeds.c.user_id == uid)).mappings().first()
        if row is not None and row["sql_seq"] is not None:
            return Head(int(row["sql_epoch"]), int(row["sql_seq"]))
        firestore = self._firestore_head(uid)
        complete = int(row["complete_seq"]) if row is not None else 0
        pending = list(row["pending"]) if row is not None else []
        if pending or complete < firestore.seq:
            raise Unavailable("Your focus sessions are being moved; retry in a few seconds.")
        head = Head(firestore.epoch or fs.version_of(self._clock()), max(complete, firestore.seq))
        insert = pg_insert(_feeds).values(
            user_id=uid, complete_seq=head.seq, sql_epoch=head.epoch, sql_seq=head.seq
        )
        conn.execute(
            insert.on_conflict_do_update(
                index_elements=["user_id"],
                set_={
                    "complete_seq": insert.excluded.complete_seq,
                    "sql_epoch": insert.excluded.sql_epoch,
                    "sql_seq": insert.excluded.sql_seq,
                    "updated_at": func.now(),
                },
            )
        )
        # Mirrored tombstones have no purge date (Firestore's purge deleted them and published
        # the delete, which the fence now refuses): give them one, so this store purges them.
        conn.execute(
            _DATE_MIRRORED_TOMBSTONES,
            {"uid": uid, "retention_s": TOMBSTONE_RETENTION.total_seconds()},
        )
        from shared import logs

        logs.get_logger("mirror.sql_sessions").info(
            "session feed taken over by SQL",
            extra={"fields": {"event": "sessionFeedTakenOver", "seq": head.seq}},
        )
        return head


def stored_from_row(row: Any) -> Stored:
    from shared.sessions.repository import stored_from_doc

    data = data_from_row("sessions", row)
    # Rows mirrored before feed positions existed have none until a backfill: seq 0 sorts them
    # before everything, which only makes a device read them again.
    data["syncSeq"] = data.get("syncSeq") or 0
    return stored_from_doc(document_id(row["id"]), data)
