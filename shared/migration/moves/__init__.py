"""Ownership moves between the stores: a collection taken over into SQL, and given back.

One handler per collection behind one Protocol, `UserMove`: the give-back of one user's
documents of its collection (sessions.py, accounts.py, schedules.py), run by `GiveBack`
(give_back.py) inside one SQL transaction under the user's advisory lock, with the Firestore
and SQL writes every collection shares (`MoveIO`). Devices have no `UserMove`: they move all at
once (devices.py), never per request.

The take-over of sessions, profiles and schedules happens where SQL first serves a user in
`sql_only` (each capability's `sql.py` copies Firestore's documents under the same lock), so
it needs no handler here.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy import Connection, delete, select

from shared.sql.schema import metadata

if TYPE_CHECKING:
    from google.cloud import firestore

    from shared.changes import Collection

_owners = metadata.tables["sql_owners"]


class MoveIO(Protocol):
    """The Firestore and SQL writes every collection's give-back shares (`GiveBack`)."""

    @property
    def db(self) -> firestore.Client: ...

    def now(self) -> datetime: ...

    def overwrite(
        self,
        collection: firestore.CollectionReference,
        documents: dict[str, tuple[str, dict[str, Any]]],
    ) -> dict[str, datetime]: ...

    def delete_others(
        self, collection: firestore.CollectionReference, keep: set[str]
    ) -> list[str]: ...

    def firestore_time(self, uid: str) -> int: ...

    def rewrite(
        self,
        conn: Connection,
        uid: str,
        collection: Collection,
        rows: list[dict[str, Any]],
        deleted: list[str],
        firestore_time: int,
    ) -> None: ...


class UserMove(Protocol):
    """Gives one user's documents of `collection` back from SQL to Firestore."""

    collection: Collection

    def give_back(self, io: MoveIO, conn: Connection, uid: str) -> bool:
        """Copy the user's rows to Firestore, rebase them, drop SQL's ownership; False when SQL
        did not own them (nothing to do)."""
        ...

    def owners(self, conn: Connection, after: str, limit: int) -> list[str]:
        """Users whose documents of `collection` SQL owns, in uid order after `after`."""
        ...


def owners_in_table(conn: Connection, collection: Collection, after: str, limit: int) -> list[str]:
    """`UserMove.owners` for the collections whose ownership is a `sql_owners` row."""
    query = select(_owners.c.user_id).where(
        _owners.c.collection == collection, _owners.c.user_id > after
    )
    return [
        str(uid) for uid in conn.execute(query.order_by(_owners.c.user_id).limit(limit)).scalars()
    ]


def disown(conn: Connection, collection: Collection, uid: str) -> None:
    """Drop SQL's ownership of the user's `collection` (lifts the fence from the commit on)."""
    conn.execute(
        delete(_owners).where(_owners.c.collection == collection, _owners.c.user_id == uid)
    )
