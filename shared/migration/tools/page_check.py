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

Reads: one per document and one per empty query. The full pass lists a range's users from
their profiles and `syncState` documents (passes.py) and hands those snapshots to the page
(`Listed`), which then reads only the three subcollections: every document of a user once,
12 reads per user of 10 sessions (the per-user check bills 14: its head and profile lookups,
and two empty queries). The listing reads `syncState` in path order, so when its page ends
inside a user's documents (on the change marker, `changes`, before the head, `sessions`) that
user's head may not have been read: the page reads it alone (one read).
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


@dataclasses.dataclass(frozen=True)
class Listed:
    """What listing the page's users already read from Firestore, for the page to use rather
    than read again: the profiles of the page's users and their `syncState` documents (feed
    heads, change markers), both read before the page's other documents.

    `sync_state_through` is (uid, document id) of the last `syncState` document the listing
    read when its page was full (None: it read every one in the range): a user's head is known
    when it sorts at or before it."""

    profiles: list[Any]
    sync_state: list[Any]
    sync_state_through: tuple[str, str] | None = None

    def head_known(self, uid: str) -> bool:
        through = self.sync_state_through
        return through is None or (uid, FEED_DOC) <= through


def read_page(
    db: firestore.Client, uids: list[str], rate: RateLimit, listed: Listed | None = None
) -> dict[str, UserDocuments]:
    """The Firestore documents of `uids` (sorted), one query per collection (group) over the
    paths from `users/{first}` to the last document under `users/{last}`: feed heads first (a
    watermark taken from one is never ahead of the sessions read after it), then profiles and
    the three subcollections. With `listed`, the heads and profiles are the listing's (read
    before), and only a head the listing may have missed is read, alone."""
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

    if listed is None:
        sync_state = stream(db.collection_group(SYNC_STATE))
        profiles = stream(db.collection(USERS), last)
    else:
        sync_state, profiles = _reuse(db, uids, listed, rate)
        times = [fs.version_of(snap.read_time) for snap in (*sync_state, *profiles)]
        read_at = min(times) if times else None
    for snap in sync_state:
        uid = _owner(snap.reference.path, SYNC_STATE, wanted)
        if uid is not None and snap.id == FEED_DOC and snap.exists:
            heads[uid] = feed_head_seq(snap.to_dict())
    for snap in profiles:
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


def _reuse(
    db: firestore.Client, uids: list[str], listed: Listed, rate: RateLimit
) -> tuple[list[Any], list[Any]]:
    """The listing's `syncState` documents and profiles, plus the heads of `uids` it may have
    missed (read in one request, before the subcollections). The listing's documents are
    taken from the task's rate here, where they are used, as the page's own reads are."""
    from shared import fs

    rate.take(len(listed.sync_state) + len(listed.profiles))
    sync_state = list(listed.sync_state)
    unknown = [
        db.document(USERS, uid, SYNC_STATE, FEED_DOC) for uid in uids if not listed.head_known(uid)
    ]
    if unknown:
        rate.take(len(unknown))
        sync_state += fs.get_all(db, unknown).values()
    return sync_state, listed.profiles


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
    listed: Listed | None = None,
) -> list[UserResult]:
    """Compare the users of one page (sorted uids); see the module docstring. `listed`: the
    listing's snapshots of these users (None: the page reads them itself)."""
    if not uids:
        return []
    documents = read_page(db, uids, options.rate, listed)
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
