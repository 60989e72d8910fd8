"""What the mirror holds of many users at once: reconcile's full pass reads SQL per page of users.

`SqlMirrorStore.user_snapshot` reads one user's rows with their data (four queries per user);
comparing needs only each row's version and content hash. `mirror_entries` reads those two
columns for a whole page of users in one query per table, and `owned_collections` which of
them SQL owns (`sql_only`) in two, so a page of 200 users costs six SQL round trips instead of
1,600 (docs/MIGRATION.md, "Reconcile at 10M users").
"""

from __future__ import annotations

from collections.abc import Collection as Sized
from typing import TYPE_CHECKING

from sqlalchemy import select

from shared.changes import COLLECTIONS, Collection
from shared.sql.ownership import devices_taken_over, sql_owned_feeds
from shared.sql.schema import TABLES, metadata

if TYPE_CHECKING:
    from sqlalchemy import Engine

_owners = metadata.tables["sql_owners"]

# (version, content hash) of each mirrored document, per user, collection and id.
Entries = dict[str, dict[Collection, dict[str, tuple[int, str]]]]


def mirror_entries(engine: Engine, uids: Sized[str]) -> Entries:
    """Every row of `uids` in the four mirrored tables as (source_version, content_hash); every
    user and collection is present (empty when SQL has nothing)."""
    found: Entries = {uid: {c: {} for c in COLLECTIONS} for uid in uids}
    if not uids:
        return found
    wanted = sorted(uids)
    with engine.connect() as conn:
        for collection in COLLECTIONS:
            mapping = TABLES[collection]
            table = mapping.table
            owner = table.c[mapping.user_column]
            query = select(owner, table.c.id, table.c.source_version, table.c.content_hash)
            for uid, doc_id, version, digest in conn.execute(query.where(owner.in_(wanted))):
                found[str(uid)][collection][str(doc_id)] = (int(version), str(digest))
    return found


def owned_collections(engine: Engine, uids: Sized[str]) -> dict[str, set[Collection]]:
    """For each of `uids`, the collections whose documents SQL owns (`sql_only`)."""
    owned: dict[str, set[Collection]] = {uid: set() for uid in uids}
    if not uids:
        return owned
    wanted = sorted(uids)
    with engine.connect() as conn:
        for uid in sql_owned_feeds(conn, wanted):
            owned[uid].add("sessions")
        if devices_taken_over(conn):
            for uid in wanted:
                owned[uid].add("devices")
        query = select(_owners.c.collection, _owners.c.user_id).where(_owners.c.user_id.in_(wanted))
        for collection, uid in conn.execute(query).all():
            if collection in COLLECTIONS:
                owned[str(uid)].add(collection)
    return owned
