"""The step back from `sql_only`: giving a user's documents back from SQL to Firestore.

In `sql_only` a user's writes exist in SQL alone. When the operator steps a collection back
(`focusctl mirror phase set <collection> sql_primary`, or a lower `sql_only` percentage), its
config setting carries `give_back` until every user SQL owned is back on Firestore. The give-back
of one user mirrors the takeover (shared/sessions/sql.py, shared/accounts/sql.py,
shared/schedules/sql.py), in one SQL transaction under the user's advisory lock:

1. read the user's rows (SQL is the truth while it owns them);
2. write them into Firestore as whole documents, and delete the Firestore documents SQL no
   longer has (purged tombstones, deleted schedules, a write an instance with a stale phase
   cache made there and the fence refused: it was never acknowledged);
3. give every row the version of its Firestore copy (the copy's `update_time`), whatever
   version SQL's clock gave it, and mark the documents deleted in step 2 as deleted at a
   Firestore time read before step 2 (docs/MIGRATION.md, "Versions and clocks"), so that the
   mirror's guards and reconcile compare Firestore's clock with Firestore's clock again;
4. drop the ownership (`session_feeds.sql_seq`, the `sql_owners` row), which lifts the fence:
   from the commit on, Firestore is the source again and the mirror copies it as before.

Sessions keep their feed: the Firestore head gets SQL's head seq (never lower than its own) and
its epoch, so every cursor a device holds stays valid. Push plans never left Firestore.

A crash anywhere before the commit leaves SQL the owner, and the next request (or `focusctl
mirror give-back`) does it all again: every step is a whole-document overwrite. Devices are given
back all at once, like their takeover (devices.py).

Each collection's steps are its `UserMove` (sessions.py, accounts.py, schedules.py); this module
runs them and holds the writes they share.

Who calls it: the phase router (shared/migration/routing.py), when `GiveBackGate` decides that a
user of a collection being given back must be given back before Firestore serves them, once the
step back has settled (no instance still serves that user
in `sql_only`), and `focusctl mirror give-back <collection>` for the users no request reached.

Billed Firestore operations per user: one read for Firestore's time (sessions: the feed head),
one read per document listed, one write per SQL document, one delete per document SQL no longer
has; sessions one more write for the feed head, profiles and schedules one more for the user's
change marker (shared/changes.py; the feed head carries `shard` itself).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection

from shared import fs
from shared.changes import Collection
from shared.metering import count_query_reads
from shared.migration.moves import UserMove
from shared.migration.moves.accounts import ProfileMove
from shared.migration.moves.schedules import SchedulesMove
from shared.migration.moves.sessions import SessionsMove
from shared.sql.ownership import lock_users
from shared.sql.store import SqlMirrorStore

if TYPE_CHECKING:
    from google.cloud import firestore

# One handler per collection given back user by user; devices go back all at once (devices.py).
USER_MOVES: dict[Collection, UserMove] = {
    move.collection: move for move in (SessionsMove(), ProfileMove(), SchedulesMove())
}
PER_USER_COLLECTIONS: tuple[Collection, ...] = tuple(USER_MOVES)


class GiveBack:
    """Gives users' documents of one collection back to Firestore (see the module docstring)."""

    def __init__(
        self,
        mirror: SqlMirrorStore,
        db: firestore.Client,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        from shared.clock import utcnow

        self._mirror = mirror
        self._db = db
        self._clock = clock or utcnow

    def user(self, collection: Collection, uid: str) -> bool:
        """Give `uid`'s documents of `collection` back if SQL owns them; True when it did."""
        move = _move(collection)
        with self._mirror.engine.begin() as conn:
            lock_users(conn, {uid})
            done = move.give_back(self, conn, uid)
        if done:
            from shared import logs

            logs.get_logger("mirror.give_back").info(
                "%s given back to Firestore",
                collection,
                extra={"fields": {"event": "givenBackToFirestore", "collection": collection}},
            )
        return done

    def owners(self, collection: Collection, after: str = "", limit: int = 500) -> list[str]:
        """Users whose `collection` SQL owns, in uid order after `after` (the sweep's pages)."""
        move = _move(collection)
        with self._mirror.engine.connect() as conn:
            return move.owners(conn, after, limit)

    # -- what every collection's move uses (shared/migration/moves/__init__.py) ------------

    @property
    def db(self) -> firestore.Client:
        return self._db

    def now(self) -> datetime:
        return self._clock()

    def overwrite(
        self,
        collection: firestore.CollectionReference,
        documents: dict[str, tuple[str, dict[str, Any]]],
    ) -> dict[str, datetime]:
        """Write each (document id, data) whole, in batches; key -> the copy's update_time."""
        times: dict[str, datetime] = {}
        for chunk in fs.chunked(list(documents.items()), fs.MAX_BATCH_WRITES):
            batch = self._db.batch()
            for _, (doc_id, data) in chunk:
                batch.set(collection.document(doc_id), data)
            results = fs.commit(batch, writes=len(chunk))
            times.update(
                (key, result.update_time) for (key, _), result in zip(chunk, results, strict=True)
            )
        return times

    def delete_others(self, collection: firestore.CollectionReference, keep: set[str]) -> list[str]:
        """Delete the documents of `collection` whose ids are not in `keep`; their ids."""
        doomed = [ref for ref in _document_refs(collection) if ref.id not in keep]
        fs.delete_all(self._db, doomed)
        return [ref.id for ref in doomed]

    def firestore_time(self, uid: str) -> int:
        """Firestore's clock now, as a version: the read time of the user's document."""
        ref = self._db.collection("users").document(uid)
        return fs.version_of(fs.get_all(self._db, [ref])[ref.path].read_time)

    def rewrite(
        self,
        conn: Connection,
        uid: str,
        collection: Collection,
        rows: list[dict[str, Any]],
        deleted: list[str],
        firestore_time: int,
    ) -> None:
        """Put the user's rows on Firestore's clock (their copies' update times), and mark what
        this give-back deleted from Firestore as deleted at `firestore_time`, read before."""
        # The last SQL step before the commit, in a method of its own: the seam where the tests
        # stop a give-back after its Firestore copy, as a crash would.
        self._rewrite(conn, uid, collection, rows, deleted, firestore_time)

    def _rewrite(
        self,
        conn: Connection,
        uid: str,
        collection: Collection,
        rows: list[dict[str, Any]],
        deleted: list[str],
        firestore_time: int,
    ) -> None:
        self._mirror.writer.rebase_rows(conn, collection, rows)
        keys = [(uid, doc_id) for doc_id in deleted]
        self._mirror.writer.mark_deleted(conn, collection, keys, firestore_time)


def _document_refs(collection: firestore.CollectionReference) -> Iterator[Any]:
    """The collection's documents, read with an empty field mask (ids only; billed per read)."""
    snaps = list(collection.select([]).stream())
    count_query_reads(len(snaps))
    for snap in snaps:
        yield snap.reference


def _move(collection: Collection) -> UserMove:
    move = USER_MOVES.get(collection)
    if move is None:
        raise ValueError(f"{collection} are given back all at once (give_back_devices)")
    return move
