"""Who owns a user's documents, and the per-user locks every SQL transaction takes.

In `sql_only` SQL owns a user's documents of a collection: `session_feeds.sql_seq` for
sessions, a `sql_owners` row for profiles and schedules, the `devices.takenOver` state for
devices (they move all at once). While SQL owns them the mirror refuses Firestore's records of
them (the fence, shared/sql/writes.py), and they move back only by a give-back
(shared/migration/moves/). Every transaction that touches a user's rows first takes that
user's advisory lock (`lock_users`), in sorted key order, so two transactions never deadlock.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from sqlalchemy import Connection, Engine, select, text, tuple_
from sqlalchemy.dialects.postgresql import insert as pg_insert

from shared.changes import COLLECTIONS, ChangeRecord, Collection
from shared.sql.schema import metadata

_state = metadata.tables["mirror_state"]
_feeds = metadata.tables["session_feeds"]
_owners = metadata.tables["sql_owners"]
# `mirror_state` key set when devices moved to SQL, all at once (shared/migration/moves/devices.py).
DEVICES_TAKEN_OVER = "devices.takenOver"
# Set while devices are given back to Firestore, all at once (shared/migration/moves/devices.py).
DEVICES_GIVING_BACK = "devices.givingBack"


class Ownership:
    """Who owns what, each question on a connection of its own (the phase router's gate,
    reconcile, focusctl); the writers ask inside their transactions with the functions below."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def devices_taken_over(self) -> bool:
        """Whether devices moved to SQL (`focusctl mirror take-over-devices`)."""
        with self._engine.connect() as conn:
            return devices_taken_over(conn)

    def owns(self, collection: Collection, uid: str) -> bool:
        """Whether SQL owns `uid`'s documents of `collection` (`sql_only`): one indexed read."""
        with self._engine.connect() as conn:
            return sql_owns(conn, collection, uid)

    def owned_collections(self, uid: str) -> set[Collection]:
        """The collections of `uid` whose documents SQL owns (`sql_only`)."""
        with self._engine.connect() as conn:
            return {c for c in COLLECTIONS if sql_owns(conn, c, uid)}

    def owned_collections_of(self, uids: Iterable[str]) -> dict[str, set[Collection]]:
        """For each of `uids`, the collections whose documents SQL owns (`sql_only`): the same
        answer as `owned_collections`, for a page of users in three queries."""
        wanted = sorted(set(uids))
        owned: dict[str, set[Collection]] = {uid: set() for uid in wanted}
        if not wanted:
            return owned
        with self._engine.connect() as conn:
            for uid in sql_owned_feeds(conn, wanted):
                owned[uid].add("sessions")
            if devices_taken_over(conn):
                for uid in wanted:
                    owned[uid].add("devices")
            query = select(_owners.c.collection, _owners.c.user_id).where(
                _owners.c.user_id.in_(wanted)
            )
            for collection, uid in conn.execute(query).all():
                if collection in COLLECTIONS:
                    owned[str(uid)].add(collection)
        return owned


def sql_owned_feeds(conn: Connection, uids: Iterable[str]) -> set[str]:
    """The users among `uids` whose session feed SQL owns (`sql_only`): their sessions are
    written by the SQL session store only, and Firestore's copies of them are stale."""
    wanted = sorted(set(uids))
    if not wanted:
        return set()
    query = select(_feeds.c.user_id).where(
        _feeds.c.user_id.in_(wanted), _feeds.c.sql_seq.is_not(None)
    )
    return {str(uid) for uid in conn.execute(query).scalars()}


def sql_owned(conn: Connection, records: Iterable[ChangeRecord]) -> set[tuple[str, str]]:
    """The (collection, uid) pairs among `records` that SQL owns (`sql_only`)."""
    by_collection: dict[str, set[str]] = {}
    for record in records:
        by_collection.setdefault(record.collection, set()).add(record.uid)
    owned = {("sessions", uid) for uid in sql_owned_feeds(conn, by_collection.pop("sessions", ()))}
    device_uids = by_collection.pop("devices", set())
    if device_uids and devices_taken_over(conn):
        owned |= {("devices", uid) for uid in device_uids}
    pairs = [(c, uid) for c, uids in by_collection.items() for uid in uids]
    if pairs:
        query = select(_owners.c.collection, _owners.c.user_id).where(
            tuple_(_owners.c.collection, _owners.c.user_id).in_(pairs)
        )
        owned |= {(str(c), str(uid)) for c, uid in conn.execute(query).all()}
    return owned


def sql_owns(conn: Connection, collection: Collection, uid: str) -> bool:
    """Whether SQL owns `uid`'s documents of `collection` (`sql_only`); one indexed read."""
    if collection == "sessions":
        return bool(sql_owned_feeds(conn, {uid}))
    if collection == "devices":
        return devices_taken_over(conn)  # devices move all at once
    query = select(_owners.c.user_id).where(
        _owners.c.collection == collection, _owners.c.user_id == uid
    )
    return conn.execute(query).first() is not None


def devices_taken_over(conn: Connection) -> bool:
    """Whether devices moved to SQL (they move all at once: shared/migration/moves/devices.py)."""
    query = select(_state.c.key).where(_state.c.key == DEVICES_TAKEN_OVER)
    return conn.execute(query).first() is not None


def take_over(conn: Connection, collection: Collection, uid: str) -> None:
    """Record that SQL owns `uid`'s documents of `collection` from now on (the caller holds the
    user's lock and has copied Firestore's current documents first). Sessions take theirs over
    with the feed (shared/sessions/sql.py)."""
    if collection == "sessions":
        raise ValueError("sessions are taken over with their feed head")
    insert = pg_insert(_owners).values(collection=collection, user_id=uid)
    conn.execute(insert.on_conflict_do_nothing(index_elements=["collection", "user_id"]))


def lock_users(conn: Connection, uids: Iterable[str]) -> None:
    """Take the transaction-level advisory lock of each user (see the module docstring)."""
    # Every transaction takes its locks in ascending key order, so two of them can never wait
    # on each other in a cycle. One statement for all of them (a backfill chunk spans hundreds
    # of users): a function scan over unnest() yields, and so locks, in array order.
    keys = sorted({_lock_key(uid) for uid in uids})
    if keys:
        conn.execute(_LOCK_USERS, {"keys": keys})


_LOCK_USERS = text("SELECT pg_advisory_xact_lock(k) FROM unnest(CAST(:keys AS bigint[])) AS k")


def _lock_key(uid: str) -> int:
    """A signed 64-bit advisory lock key per user (a collision only serialises two users)."""
    return int.from_bytes(hashlib.sha256(b"mirror-user:" + uid.encode()).digest()[:8], signed=True)
