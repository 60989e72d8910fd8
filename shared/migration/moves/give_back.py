"""The step back from `sql_only`: giving a user's documents back from SQL to Firestore.

In `sql_only` a user's writes exist in SQL alone. When the operator steps a collection back
(`focusctl mirror phase set <collection> sql_primary`, or a lower `sql_only` percentage), its
config setting carries `give_back` until every user SQL owned is back on Firestore. The give-back
of one user mirrors the takeover (shared/sessions/sql.py, sql_accounts.py,
sql_schedules.py), in one SQL transaction under the user's advisory lock:

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
back all at once, like their takeover (`sql_devices.give_back_devices`).

Who calls it: `GiveBackGate` (shared/migration/routing.py) before Firestore serves a user of a
collection being given back, once the step back has settled (no instance still serves that user
in `sql_only`), and `focusctl mirror give-back <collection>` for the users no request reached.

Billed Firestore operations per user: one read for Firestore's time (sessions: the feed head),
one read per document listed, one write per SQL document, one delete per document SQL no longer
has; sessions one more write for the feed head.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, delete, select, update

from shared import fs
from shared.changes import Collection
from shared.metering import count_query_reads
from shared.sql.schema import data_from_row, metadata, row_from_record
from shared.sql.store import SqlMirrorStore, lock_users, sql_owns

if TYPE_CHECKING:
    from google.cloud import firestore

_feeds = metadata.tables["session_feeds"]
_owners = metadata.tables["sql_owners"]
_sessions = metadata.tables["focus_sessions"]
_users = metadata.tables["users"]
_schedules = metadata.tables["schedules"]
PER_USER_COLLECTIONS: tuple[Collection, ...] = ("sessions", "users", "schedules")


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
        if collection not in PER_USER_COLLECTIONS:
            raise ValueError(f"{collection} are given back all at once (give_back_devices)")
        with self._mirror.engine.begin() as conn:
            lock_users(conn, {uid})
            if collection == "sessions":
                done = self._sessions(conn, uid)
            elif collection == "users":
                done = self._profile(conn, uid)
            else:
                done = self._schedules(conn, uid)
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
        if collection == "sessions":
            query = select(_feeds.c.user_id).where(
                _feeds.c.sql_seq.is_not(None), _feeds.c.user_id > after
            )
            order = _feeds.c.user_id
        else:
            query = select(_owners.c.user_id).where(
                _owners.c.collection == collection, _owners.c.user_id > after
            )
            order = _owners.c.user_id
        with self._mirror.engine.connect() as conn:
            return [str(uid) for uid in conn.execute(query.order_by(order).limit(limit)).scalars()]

    # -- per collection ----------------------------------------------------------------------

    def _sessions(self, conn: Connection, uid: str) -> bool:
        from google.cloud.firestore import SERVER_TIMESTAMP

        from shared.sessions.models import Head, Tombstone, purge_at
        from shared.sessions.repository import (
            EPOCH_FIELD,
            SYNC_STATE,
            head_of,
            session_doc,
            session_record,
        )
        from shared.sessions.sql import stored_from_row

        feed = conn.execute(select(_feeds).where(_feeds.c.user_id == uid)).mappings().first()
        if feed is None or feed["sql_seq"] is None:
            return False
        rows = conn.execute(select(_sessions).where(_sessions.c.user_id == uid)).mappings().all()
        stored = {row["id"]: (stored_from_row(row), row["purge_at"]) for row in rows}
        user = self._db.collection("users").document(uid)
        head_ref = user.collection(SYNC_STATE).document("sessions")
        head_snap = fs.get_all(self._db, [head_ref])[head_ref.path]
        firestore_head = head_of(head_snap)
        # Never move the feed backwards (a write the fence refused may have bumped Firestore's).
        head = Head(int(feed["sql_epoch"]), max(int(feed["sql_seq"]), firestore_head.seq))
        now = self._clock()
        documents: dict[str, tuple[str, dict[str, Any]]] = {}
        for sid, (session, purge) in stored.items():
            tombstone = isinstance(session.version, Tombstone)
            when = (purge or purge_at(now, uid, sid)) if tombstone else None
            doc = session_doc(
                session.version,
                session.position.seq,
                when,
                create=True,
                server_time=SERVER_TIMESTAMP,
            )
            documents[sid] = (session.position.id, doc)
        sessions = user.collection("sessions")
        times = self._overwrite(sessions, documents)
        deleted = self._delete_others(sessions, {doc_id for doc_id, _ in documents.values()})
        batch = self._db.batch()
        head_doc = {"seq": head.seq, EPOCH_FIELD: head.epoch, "updatedAt": SERVER_TIMESTAMP}
        batch.set(head_ref, head_doc)
        fs.commit(batch, writes=1)
        table_rows = []
        for sid, (session, _) in stored.items():
            record = session_record(uid, sid, session, fs.version_of(times[sid]))
            table_rows.append({**row_from_record(record), "purge_at": None})
        firestore_time = fs.version_of(head_snap.read_time)
        self._rewrite(conn, uid, "sessions", table_rows, deleted, firestore_time)
        conn.execute(
            update(_feeds)
            .where(_feeds.c.user_id == uid)
            .values(sql_seq=None, sql_epoch=None, complete_seq=head.seq, pending=[])
        )
        return True

    def _profile(self, conn: Connection, uid: str) -> bool:
        from shared.accounts.repository import profile_from_doc, profile_record, profile_to_doc

        if not sql_owns(conn, "users", uid):
            return False
        firestore_time = self._firestore_time(uid)
        row = conn.execute(select(_users).where(_users.c.id == uid)).mappings().first()
        rows = []
        if row is not None:
            profile = profile_from_doc(data_from_row("users", row))
            ref = self._db.collection("users").document(uid)
            batch = self._db.batch()
            # Merged: `users/{uid}` is also the parent of the user's subcollections, and other
            # fields of it are not the profile's to drop.
            batch.set(ref, profile_to_doc(profile, self._clock()), merge=True)
            (result,) = fs.commit(batch, writes=1)
            record = profile_record(uid, profile, fs.version_of(result.update_time))
            rows.append(row_from_record(record))
        self._rewrite(conn, uid, "users", rows, [], firestore_time)
        _disown(conn, "users", uid)
        return True

    def _schedules(self, conn: Connection, uid: str) -> bool:
        from google.cloud.firestore import SERVER_TIMESTAMP

        from shared.schedules.models import schedule_to_doc
        from shared.schedules.sql import schedule_row, stored_from_row

        if not sql_owns(conn, "schedules", uid):
            return False
        firestore_time = self._firestore_time(uid)
        query = select(_schedules).where(_schedules.c.user_id == uid)
        stored = {row["id"]: stored_from_row(row) for row in conn.execute(query).mappings()}
        documents = {sid: (sid, schedule_to_doc(s, SERVER_TIMESTAMP)) for sid, s in stored.items()}
        schedules = self._db.collection("users").document(uid).collection("schedules")
        times = self._overwrite(schedules, documents)
        deleted = self._delete_others(schedules, set(stored))
        rows = [schedule_row(uid, s, fs.version_of(times[sid])) for sid, s in stored.items()]
        self._rewrite(conn, uid, "schedules", rows, deleted, firestore_time)
        _disown(conn, "schedules", uid)
        return True

    # -- Firestore and SQL writes ------------------------------------------------------------

    def _overwrite(
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

    def _delete_others(
        self, collection: firestore.CollectionReference, keep: set[str]
    ) -> list[str]:
        """Delete the documents of `collection` whose ids are not in `keep`; their ids."""
        doomed = [ref for ref in _document_refs(collection) if ref.id not in keep]
        fs.delete_all(self._db, doomed)
        return [ref.id for ref in doomed]

    def _firestore_time(self, uid: str) -> int:
        """Firestore's clock now, as a version: the read time of the user's document."""
        ref = self._db.collection("users").document(uid)
        return fs.version_of(fs.get_all(self._db, [ref])[ref.path].read_time)

    def _rewrite(
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
        self._mirror.rebase_rows(conn, collection, rows)
        keys = [(uid, doc_id) for doc_id in deleted]
        self._mirror.mark_deleted(conn, collection, keys, firestore_time)


def _document_refs(collection: firestore.CollectionReference) -> Iterator[Any]:
    """The collection's documents, read with an empty field mask (ids only; billed per read)."""
    snaps = list(collection.select([]).stream())
    count_query_reads(len(snaps))
    for snap in snaps:
        yield snap.reference


def _disown(conn: Connection, collection: Collection, uid: str) -> None:
    conn.execute(
        delete(_owners).where(_owners.c.collection == collection, _owners.c.user_id == uid)
    )
