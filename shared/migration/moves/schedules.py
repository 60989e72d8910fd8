"""Schedules given back from SQL to Firestore, one user at a time (give_back.py says the
steps). Push plans never left Firestore."""

from __future__ import annotations

from sqlalchemy import Connection, select

from shared import fs
from shared.changes import Collection
from shared.migration.moves import MoveIO, disown, owners_in_table
from shared.sql.ownership import sql_owns
from shared.sql.schema import metadata

_schedules = metadata.tables["schedules"]


class SchedulesMove:
    """Every schedule of a user, whole; Firestore's schedules SQL does not have are deleted."""

    collection: Collection = "schedules"

    def give_back(self, io: MoveIO, conn: Connection, uid: str) -> bool:
        from google.cloud.firestore import SERVER_TIMESTAMP

        from shared.schedules.models import schedule_to_doc
        from shared.schedules.sql import schedule_row, stored_from_row

        if not sql_owns(conn, "schedules", uid):
            return False
        firestore_time = io.firestore_time(uid)
        query = select(_schedules).where(_schedules.c.user_id == uid)
        stored = {row["id"]: stored_from_row(row) for row in conn.execute(query).mappings()}
        documents = {sid: (sid, schedule_to_doc(s, SERVER_TIMESTAMP)) for sid, s in stored.items()}
        schedules = io.db.collection("users").document(uid).collection("schedules")
        times = io.overwrite(schedules, documents)
        deleted = io.delete_others(schedules, set(stored))
        # After the copy, so the marker's time is at or after every commit above.
        batch = io.db.batch()
        fs.mark_changed(io.db, batch, uid)
        fs.commit(batch, writes=1)
        rows = [schedule_row(uid, s, fs.version_of(times[sid])) for sid, s in stored.items()]
        io.rewrite(conn, uid, "schedules", rows, deleted, firestore_time)
        disown(conn, "schedules", uid)
        return True

    def owners(self, conn: Connection, after: str, limit: int) -> list[str]:
        return owners_in_table(conn, "schedules", after, limit)
