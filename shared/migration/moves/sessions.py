"""Sessions given back from SQL to Firestore, one user at a time, the feed kept (give_back.py
says the steps)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select, update

from shared import fs
from shared.changes import Collection, change_shard
from shared.migration.moves import MoveIO
from shared.sql.schema import metadata, row_from_record

_feeds = metadata.tables["session_feeds"]
_sessions = metadata.tables["focus_sessions"]


class SessionsMove:
    """The feed and every session of a user, back to Firestore; the head keeps SQL's seq and
    epoch, so every cursor a device holds stays valid."""

    collection: Collection = "sessions"

    def give_back(self, io: MoveIO, conn: Connection, uid: str) -> bool:
        from google.cloud.firestore import SERVER_TIMESTAMP

        from shared.accounts.deletion import marker_ref, requested_at_of
        from shared.sessions.models import Head, Tombstone, purge_at
        from shared.sessions.repository import (
            DELETED_FIELD,
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
        user = io.db.collection("users").document(uid)
        head_ref = user.collection(SYNC_STATE).document("sessions")
        marker = marker_ref(io.db, uid)
        snaps = fs.get_all(io.db, [head_ref, marker])
        head_snap = snaps[head_ref.path]
        firestore_head = head_of(head_snap)
        # Never move the feed backwards (a write the fence refused may have bumped Firestore's).
        head = Head(int(feed["sql_epoch"]), max(int(feed["sql_seq"]), firestore_head.seq))
        now = io.now()
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
        times = io.overwrite(sessions, documents)
        deleted = io.delete_others(sessions, {doc_id for doc_id, _ in documents.values()})
        batch = io.db.batch()
        # `shard` as every head carries it: the incremental reconcile finds the user by it.
        head_doc = {
            "seq": head.seq,
            EPOCH_FIELD: head.epoch,
            "updatedAt": SERVER_TIMESTAMP,
            "shard": change_shard(uid),
        }
        # The deleted-account check the syncs read from the head (shared/sessions/repository.py):
        # kept from the old head, or taken from the marker of a deletion of this uid.
        deletions = [requested_at_of(snaps[marker.path])]
        if head_snap.exists:
            deletions.append((head_snap.to_dict() or {}).get(DELETED_FIELD))
        known = [d for d in deletions if isinstance(d, datetime)]
        if known:
            head_doc[DELETED_FIELD] = max(known)
        batch.set(head_ref, head_doc)
        fs.commit(batch, writes=1)
        table_rows = []
        for sid, (session, _) in stored.items():
            record = session_record(uid, sid, session, fs.version_of(times[sid]))
            table_rows.append({**row_from_record(record), "purge_at": None})
        firestore_time = fs.version_of(head_snap.read_time)
        io.rewrite(conn, uid, "sessions", table_rows, deleted, firestore_time)
        conn.execute(
            update(_feeds)
            .where(_feeds.c.user_id == uid)
            .values(sql_seq=None, sql_epoch=None, complete_seq=head.seq, pending=[])
        )
        return True

    def owners(self, conn: Connection, after: str, limit: int) -> list[str]:
        """The users whose feed SQL took over (`session_feeds.sql_seq` set)."""
        query = select(_feeds.c.user_id).where(
            _feeds.c.sql_seq.is_not(None), _feeds.c.user_id > after
        )
        rows = conn.execute(query.order_by(_feeds.c.user_id).limit(limit)).scalars()
        return [str(uid) for uid in rows]
