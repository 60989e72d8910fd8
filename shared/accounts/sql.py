"""`AccountStore` on PostgreSQL: where a user's profile lives once the `users` phase is `sql_only`.

Same contract as the Firestore store (shared/accounts/repository.py): read the profile, let the
pure plan decide, write it when it changed. The row is the mirror's own `users` row, so export,
delete and reconcile read it as before.

Taking over is simpler than for sessions (shared/sessions/sql.py): there is one document
and no feed, so the first call in `sql_only` copies Firestore's current profile into SQL itself
(guarded by version: a newer mirrored row is kept) and records the ownership in `sql_owners`,
under the user's advisory lock. From then on the mirror fences Firestore's copies of the
profile (`ownership.sql_owned`), exactly as for sessions.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import Connection, select

from shared.accounts.repository import ProfilePlanner, profile_from_doc, profile_record
from shared.sql.ownership import lock_users, sql_owns, take_over
from shared.sql.schema import data_from_row, metadata, row_from_record
from shared.sql.store import SqlMirrorStore
from shared.sql.writes import next_version

if TYPE_CHECKING:
    from shared.accounts.models import UserProfile
    from shared.changes import ChangeRecord

_users = metadata.tables["users"]


class SqlAccountStore:
    """`AccountStore` on PostgreSQL (see the module docstring): one transaction per call, one
    Firestore read once per user (the takeover)."""

    def __init__(
        self,
        mirror: SqlMirrorStore,
        firestore_record: Callable[[str], ChangeRecord | None],
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        from shared.clock import utcnow

        self._mirror = mirror
        self._engine = mirror.engine
        self._firestore_record = firestore_record
        self._clock = clock or utcnow

    def get_profile(self, uid: str) -> UserProfile | None:
        with self._engine.begin() as conn:
            lock_users(conn, {uid})
            self._own(conn, uid)
            return self._profile(conn, uid)

    def save_profile(self, uid: str, plan: ProfilePlanner) -> tuple[UserProfile, bool]:
        with self._engine.begin() as conn:
            lock_users(conn, {uid})
            self._own(conn, uid)
            profile, created, changed = plan(self._profile(conn, uid))
            if changed:
                version = next_version(conn, "users", uid, [uid], self._clock())
                record = profile_record(uid, profile, version)
                written = self._mirror.writer.upsert_rows(conn, "users", [row_from_record(record)])
                if written != 1:  # cannot happen under the lock with a newer version
                    raise RuntimeError(f"profile of {uid} not written")
            return profile, created

    def _profile(self, conn: Connection, uid: str) -> UserProfile | None:
        row = conn.execute(select(_users).where(_users.c.id == uid)).mappings().first()
        return profile_from_doc(data_from_row("users", row)) if row is not None else None

    def _own(self, conn: Connection, uid: str) -> None:
        """Take the profile over from Firestore if SQL does not own it yet (caller holds the
        user's lock)."""
        if sql_owns(conn, "users", uid):
            return
        record = self._firestore_record(uid)
        if record is not None:
            self._mirror.writer.upsert_rows(conn, "users", [row_from_record(record)])
        take_over(conn, "users", uid)
