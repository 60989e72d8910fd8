"""Reading Firestore as the mirror's source: documents as change records, key ranges, versions.

Shared by the backfill and the reconciler, so that both see a document exactly as the write path
publishes it: the same record id (a session's `id` field, since its document id may be escaped),
the same version (`update_time` in microseconds), the same data minus secrets (`fcmToken` and
anything else that is not a mirrored field never leaves this module), and for sessions
`serverUpdatedAt` set to the version time, as the write path publishes it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from shared.changes import ChangeRecord, Collection
from shared.sql.events import FIELDS, identity_field

if TYPE_CHECKING:
    from google.cloud import firestore

USERS = "users"
SYNC_STATE = "syncState"  # users/{uid}/syncState/sessions: {seq, ...}, the sync feed head
FEED_DOC = "sessions"
# Firebase uids are 28 characters of this alphabet (byte order), so ranges of their first two
# characters split users evenly; a uid outside it still falls in exactly one range.
UID_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def micros(update_time: Any) -> int:
    """A Firestore time (datetime, or protobuf Timestamp as queries return) in microseconds."""
    from shared import fs

    return fs.version_of(update_time)


def split_path(path: str) -> tuple[Collection, str, str] | None:
    """(collection, uid, document id) of a mirrored document path, or None for anything else."""
    parts = path.split("/")
    if len(parts) == 2 and parts[0] == USERS:
        return "users", parts[1], parts[1]
    if len(parts) == 4 and parts[0] == USERS and parts[2] in ("devices", "sessions", "schedules"):
        collection: Collection = parts[2]  # type: ignore[assignment]  # checked just above
        return collection, parts[1], parts[3]
    return None


def record_from_document(path: str, data: dict[str, Any], update_time: Any) -> ChangeRecord | None:
    """The upsert record the write path would publish for this stored document (pure).

    None for a path that is not mirrored, or a `users/{uid}` document that holds no profile
    (only a parent of subcollections)."""
    where = split_path(path)
    if where is None:
        return None
    collection, uid, doc_id = where
    if collection == "users" and "timezone" not in data:
        return None
    version = micros(update_time)
    mirrored = {f.name: data[f.name] for f in FIELDS[collection] if f.name in data}
    identity = identity_field(collection).name
    if collection == "sessions":
        record_id = str(data.get("id") or doc_id)
        mirrored["serverUpdatedAt"] = _EPOCH + timedelta(microseconds=version)
    else:
        record_id = doc_id
    mirrored[identity] = record_id
    return ChangeRecord(
        collection=collection, uid=uid, id=record_id, op="upsert", version=version, data=mirrored
    )


@dataclasses.dataclass(frozen=True)
class KeyRange:
    """Documents whose path sorts in [`users/{low}`, `users/{high}`); None = unbounded."""

    index: int
    low: str | None
    high: str | None


def uid_ranges(count: int) -> list[KeyRange]:
    """`count` ranges over the uid space, by their first two characters (pure, stable: a
    resumed backfill finds its partitions again by index)."""
    if not 1 <= count <= 256:
        raise ValueError("between 1 and 256 partitions")
    base = len(UID_ALPHABET)
    space = base * base
    bounds: list[str | None] = [None]
    for i in range(1, count):
        position = i * space // count
        bounds.append(UID_ALPHABET[position // base] + UID_ALPHABET[position % base])
    bounds.append(None)
    return [KeyRange(i, bounds[i], bounds[i + 1]) for i in range(count)]


def range_query(
    db: firestore.Client, collection: str, key_range: KeyRange, *, group: bool
) -> firestore.Query:
    """All documents of `collection` (a collection group when `group`) in `key_range`, ordered
    by path: the order cursors page through."""
    from google.cloud.firestore import FieldFilter
    from google.cloud.firestore_v1.field_path import FieldPath

    name = FieldPath.document_id()
    query: firestore.Query = (
        db.collection_group(collection) if group else db.collection(collection)
    ).order_by(name)
    if key_range.low is not None:
        query = query.where(filter=FieldFilter(name, ">=", db.document(USERS, key_range.low)))
    if key_range.high is not None:
        query = query.where(filter=FieldFilter(name, "<", db.document(USERS, key_range.high)))
    return query


def pages(
    db: firestore.Client, query: firestore.Query, after: str | None, page_size: int
) -> Iterator[list[Any]]:
    """Pages of snapshots after the document path `after` (cursor pagination, no offsets)."""
    from shared.metering import count_query_reads

    while True:
        page_query = query
        if after is not None:
            page_query = page_query.start_after({"__name__": db.document(after)})
        snaps = list(page_query.limit(page_size).stream())
        count_query_reads(len(snaps))
        if not snaps:
            return
        yield snaps
        if len(snaps) < page_size:
            return
        after = snaps[-1].reference.path


def feed_head_seq(data: dict[str, Any] | None) -> int:
    """The `seq` of a sync feed head document (0 when there is none)."""
    value = (data or {}).get("seq", 0)
    return value if isinstance(value, int) and not isinstance(value, bool) else 0
