"""The full pass's comparison of a page of users at once (uids in path order, one uid range).

Compared one by one, a user costs five Firestore requests in sequence (feed head, profile, three
subcollections) and eight SQL queries; at 10k users that is minutes of round trips whatever the
machine. A page of users instead costs five Firestore queries, each streaming every document of
its collection (group) between the page's first and last uid in path order, and six SQL queries
(`MirrorReads.entries_of`, `Ownership.owned_collections_of`), then the same pure `compare` per user.

The page is only a filter. A user it finds clean is reported clean (and, with `--repair`, gets
the feed watermark the per-user check would give: the head was read before the sessions). A
user with any difference, `ahead` included, is checked again alone by `Reconciler.check`,
whose result is the one reported and whose repair is the one made: it reads the user afresh,
takes Firestore's time before its reads for the `extra` rule, and so reports and repairs exactly
what the per-user pass always did. A write racing the page shows as a difference and is sorted
out by that second look.

Reads: one per document and one per empty query, as in the per-user check. The pass lists a
range's users from its profiles and feed heads before the page reads them again (passes.py), so
those two are billed twice: 14 reads per user of 10 sessions, as the per-user check (whose head
and profile lookups bill even when missing); reusing the listing's snapshots would save them.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

from shared.migration.tools.firestore_source import FEED_DOC, SYNC_STATE, USERS, feed_head_seq
from shared.migration.tools.jobs import RateLimit
from shared.migration.tools.reconcile import (
    SUBCOLLECTIONS,
    Entry,
    Reconciler,
    UserDocuments,
    UserResult,
    compare,
    records_of,
)

if TYPE_CHECKING:
    from google.cloud import firestore

    from shared.sql.store import SqlMirrorStore


@dataclasses.dataclass
class PageOptions:
    repair: bool = False
    rate: RateLimit = dataclasses.field(default_factory=lambda: RateLimit(None))


def read_page(db: firestore.Client, uids: list[str], rate: RateLimit) -> dict[str, UserDocuments]:
    """The Firestore documents of `uids` (sorted), one query per collection (group) over the
    paths from `users/{first}` to the last document under `users/{last}`: feed heads first (a
    watermark taken from one is never ahead of the sessions read after it), then profiles and
    the three subcollections."""
    from google.cloud.firestore import FieldFilter
    from google.cloud.firestore_v1.field_path import FieldPath

    from shared import fs
    from shared.metering import count_query_reads

    wanted = set(uids)
    name = FieldPath.document_id()
    low = db.document(USERS, uids[0])
    # Path order compares segment by segment: every document under users/{last} sorts before
    # this one, and users/{any later uid} after it. The `users` collection itself is bounded by
    # its own documents (a collection query's name filters stay inside the collection).
    below_last = db.document(USERS, uids[-1], "\uffff", "\uffff")
    last = db.document(USERS, uids[-1])
    snaps: dict[str, list[Any]] = {uid: [] for uid in uids}
    heads: dict[str, int] = {}
    read_at: int | None = None

    def stream(query: Any, high: Any = below_last) -> list[Any]:
        nonlocal read_at
        ordered = query.order_by(name).where(filter=FieldFilter(name, ">=", low))
        found = list(ordered.where(filter=FieldFilter(name, "<=", high)).stream())
        count_query_reads(len(found))
        rate.take(max(1, len(found)))
        if found and read_at is None:
            read_at = fs.version_of(found[0].read_time)
        return found

    for snap in stream(db.collection_group(SYNC_STATE)):
        uid = _owner(snap.reference.path, SYNC_STATE, wanted)
        if uid is not None and snap.id == FEED_DOC:
            heads[uid] = feed_head_seq(snap.to_dict())
    for snap in stream(db.collection(USERS), last):
        if snap.id in wanted:
            snaps[snap.id].append(snap)
    for collection in SUBCOLLECTIONS:
        for snap in stream(db.collection_group(collection)):
            uid = _owner(snap.reference.path, collection, wanted)
            if uid is not None:
                snaps[uid].append(snap)
    return {
        uid: UserDocuments(heads.get(uid, 0), records_of(found), read_at or 0)
        for uid, found in snaps.items()
    }


def _owner(path: str, collection: str, wanted: set[str]) -> str | None:
    """The uid of `users/{uid}/{collection}/{id}` when it is one of `wanted`."""
    parts = path.split("/")
    if len(parts) == 4 and parts[0] == USERS and parts[2] == collection and parts[1] in wanted:
        return parts[1]
    return None


def check_page(
    db: firestore.Client,
    store: SqlMirrorStore,
    reconciler: Reconciler,
    uids: list[str],
    options: PageOptions,
) -> list[UserResult]:
    """Compare the users of one page (sorted uids); see the module docstring."""
    if not uids:
        return []
    documents = read_page(db, uids, options.rate)
    # SQL second, as in the per-user check: a row newer than what Firestore showed is `ahead`.
    in_sql = store.reads.entries_of(uids)
    owned = store.ownership.owned_collections_of(uids)
    results: list[UserResult] = []
    for uid in uids:
        ours = documents[uid].entries()
        theirs = {
            collection: {doc_id: Entry(*entry) for doc_id, entry in rows.items()}
            for collection, rows in in_sql[uid].items()
        }
        for collection in owned[uid]:
            ours[collection], theirs[collection] = {}, {}
        if compare(uid, ours, theirs):
            results.append(reconciler.check(uid, repair=options.repair))
            continue
        if options.repair and "sessions" not in owned[uid]:
            store.feeds.mark_feed_complete(uid, documents[uid].feed_seq)
        results.append(UserResult(uid, []))
    return results
