"""The profile (`users/{uid}`) given back from SQL to Firestore (give_back.py says the steps)."""

from __future__ import annotations

from sqlalchemy import Connection, select

from shared import fs
from shared.changes import Collection
from shared.migration.moves import MoveIO, disown, owners_in_table
from shared.sql.ownership import sql_owns
from shared.sql.schema import data_from_row, metadata, row_from_record

_users = metadata.tables["users"]


class ProfileMove:
    """The user's profile document, merged into `users/{uid}`."""

    collection: Collection = "users"

    def give_back(self, io: MoveIO, conn: Connection, uid: str) -> bool:
        from shared.accounts.repository import profile_from_doc, profile_record, profile_to_doc

        if not sql_owns(conn, "users", uid):
            return False
        firestore_time = io.firestore_time(uid)
        row = conn.execute(select(_users).where(_users.c.id == uid)).mappings().first()
        rows = []
        if row is not None:
            profile = profile_from_doc(data_from_row("users", row))
            ref = io.db.collection("users").document(uid)
            batch = io.db.batch()
            # Merged: `users/{uid}` is also the parent of the user's subcollections, and other
            # fields of it are not the profile's to drop.
            batch.set(ref, profile_to_doc(profile, io.now()), merge=True)
            fs.mark_changed(io.db, batch, uid)
            result = fs.commit(batch, writes=2)[0]
            record = profile_record(uid, profile, fs.version_of(result.update_time))
            rows.append(row_from_record(record))
        io.rewrite(conn, uid, "users", rows, [], firestore_time)
        disown(conn, "users", uid)
        return True

    def owners(self, conn: Connection, after: str, limit: int) -> list[str]:
        return owners_in_table(conn, "users", after, limit)
