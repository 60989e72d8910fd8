"""Reads of what the mirror holds per user: reconcile's snapshots, the phase reads of export
and listSchedules, and reconcile's sample of users.

`user_snapshot` reads one user's rows with their data (four queries per user); reconcile's full
pass compares only each row's version and content hash, so `entries_of` reads those two columns
for a whole page of users in one query per table: a page of 200 users costs a few SQL round
trips instead of 1,600 (docs/MIGRATION.md, "Reconcile at 10M users").
"""

from __future__ import annotations

from collections.abc import Collection as Sized
from typing import Any, NamedTuple

from sqlalchemy import Engine, Select, literal, select, union

from shared.changes import COLLECTIONS, Collection
from shared.sql.feeds import KEY_TEXT
from shared.sql.schema import TABLES, data_from_row, metadata

_sessions = metadata.tables["focus_sessions"]


class MirrorEntry(NamedTuple):
    """One mirrored document, as reconcile compares it with Firestore."""

    version: int
    content_hash: str
    data: dict[str, Any]  # camelCase fields, timestamps as UTC datetimes


# (version, content hash) of each mirrored document, per user, collection and id.
Entries = dict[str, dict[Collection, dict[str, tuple[int, str]]]]


class MirrorReads:
    """Per-user reads of the mirror's entity tables (tables from `schema`)."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def user_snapshot(self, uid: str) -> dict[str, dict[str, MirrorEntry]]:
        """Every mirrored document of `uid`, per collection (all four keys present) and id."""
        snapshot: dict[str, dict[str, MirrorEntry]] = {}
        with self._engine.connect() as conn:
            for collection, mapping in TABLES.items():
                table = mapping.table
                rows = conn.execute(
                    select(table).where(table.c[mapping.user_column] == uid)
                ).mappings()
                snapshot[collection] = {
                    row["id"]: MirrorEntry(
                        row["source_version"], row["content_hash"], data_from_row(collection, row)
                    )
                    for row in rows
                }
        return snapshot

    def entries_of(self, uids: Sized[str]) -> Entries:
        """Every row of `uids` in the four mirrored tables as (source_version, content_hash);
        every user and collection is present (empty when SQL has nothing)."""
        found: Entries = {uid: {c: {} for c in COLLECTIONS} for uid in uids}
        if not uids:
            return found
        wanted = sorted(uids)
        with self._engine.connect() as conn:
            for collection in COLLECTIONS:
                mapping = TABLES[collection]
                table = mapping.table
                owner = table.c[mapping.user_column]
                query = select(owner, table.c.id, table.c.source_version, table.c.content_hash)
                for uid, doc_id, version, digest in conn.execute(query.where(owner.in_(wanted))):
                    found[str(uid)][collection][str(doc_id)] = (int(version), str(digest))
        return found

    def get_user(self, uid: str) -> dict[str, Any] | None:
        """The user document {uid, timezone, locale, createdAt}, or None."""
        rows = self._rows("users", uid)
        return rows[0] if rows else None

    def list_devices(self, uid: str) -> list[dict[str, Any]]:
        """The user's devices {deviceId, platform, appVersion, registeredAt}, by deviceId."""
        return self._rows("devices", uid)

    def list_schedules(self, uid: str) -> list[dict[str, Any]]:
        """The user's schedules (API fields), by id."""
        return self._rows("schedules", uid)

    def sample_user_ids(self, start: str, limit: int) -> list[str]:
        """Up to `limit` distinct user ids >= `start` (wrapping around), from the users and
        sessions tables: reconcile's sample of what SQL holds."""
        users = metadata.tables["users"]
        found: list[str] = []
        with self._engine.connect() as conn:
            for since in (literal(start, KEY_TEXT), literal("", KEY_TEXT)):
                # Each side walks its key index from `since` and stops after `limit` users: a
                # union of the whole tables would read every session (docs/SCALING.md).
                firsts = [
                    select(users.c.id.label("uid")).where(users.c.id >= since).order_by(users.c.id),
                    _distinct_session_users(since),
                ]
                known = union(*(q.limit(limit) for q in firsts)).subquery()
                query = select(known.c.uid).order_by(known.c.uid).limit(limit)
                found += [str(uid) for uid in conn.execute(query).scalars()]
                if len(set(found)) >= limit:
                    break
        return list(dict.fromkeys(found))[:limit]

    def _rows(self, collection: Collection, uid: str) -> list[dict[str, Any]]:
        mapping = TABLES[collection]
        table = mapping.table
        query = select(table).where(table.c[mapping.user_column] == uid).order_by(table.c.id)
        with self._engine.connect() as conn:
            return [data_from_row(collection, row) for row in conn.execute(query).mappings()]


def _distinct_session_users(since: Any) -> Select[Any]:
    """The users with sessions from `since` on, in key order, one index probe each (a "loose
    index scan": a recursive query that asks the index for the next user after the last one).

    `SELECT DISTINCT user_id ... ORDER BY user_id LIMIT n` reads every session of those users,
    and the planner, which cannot tell how many sessions a user has before the limit is met,
    sometimes reads the whole table instead (seen on a test dataset of 60k sessions); this form
    probes `n` times whatever the table's size."""
    key = _sessions.c.user_id
    first = select(key.label("uid")).where(key >= since).order_by(key).limit(1)
    walk = first.cte("session_users", recursive=True)
    after = select(key).where(key > walk.c.uid).order_by(key).limit(1).scalar_subquery()
    walk = walk.union_all(select(after.label("uid")).where(walk.c.uid.is_not(None)))
    return select(walk.c.uid).where(walk.c.uid.is_not(None))
