"""The one place the write path hands its changes to the dual-write layer.

Every repository that writes Firestore calls `ChangeSink.publish` after its commit with one
`ChangeRecord` per written document (its full new state and its Firestore `update_time`), and
only then answers the client. A process that dies between the commit and the publish never
answered, so the client retries; the retry is an idempotent replay that publishes the same
records again (see docs/ARCHITECTURE.md, "Nothing is lost").

`ChangeRecord` and the version helpers live here, beside the hook they are the payload of, so
a repository needs nothing of the replication layer (shared/sql) to publish. Each record
carries `version`, the Firestore `update_time` of the write in microseconds since the epoch
(for a delete, the delete's commit time); the mirror keeps the newest.

Pure: pydantic and the standard library only, so the Firestore write path imports it cheaply.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, Protocol, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

Collection = Literal["users", "devices", "sessions", "schedules"]
COLLECTIONS: tuple[Collection, ...] = ("users", "devices", "sessions", "schedules")

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


# Shared with the mirror topic's events (shared/sql/events.py): strict, frozen, nothing extra.
MODEL_CONFIG = ConfigDict(extra="forbid", frozen=True, strict=True)


class ChangeRecord(BaseModel):
    """One document write in a Firestore commit."""

    model_config = MODEL_CONFIG

    collection: Collection = Field(
        description="users/{uid}, users/{uid}/devices, .../sessions or .../schedules"
    )
    uid: str = Field(min_length=1, max_length=128, description="owner of the document")
    id: str = Field(min_length=1, max_length=128, description="document id (the uid for `users`)")
    op: Literal["upsert", "delete"]
    version: int = Field(
        ge=0,
        description="Firestore update_time of the write in microseconds since the epoch; "
        "for a delete, the delete's commit time",
    )
    data: dict[str, Any] | None = Field(
        description="the document as stored in Firestore (camelCase API fields, minus secrets "
        "such as fcmToken); None for a delete"
    )

    @model_validator(mode="after")
    def _coherent(self) -> Self:
        if self.op == "delete" and self.data is not None:
            raise ValueError("a delete carries no data")
        if self.op == "upsert" and self.data is None:
            raise ValueError("an upsert needs data")
        if self.collection == "users" and self.id != self.uid:
            raise ValueError("a users document's id is its uid")
        if "\x00" in self.uid or "\x00" in self.id:
            raise ValueError("ids cannot hold NUL (U+0000)")
        return self


# The sync feed head of every user (`users/{uid}/syncState/sessions`) carries `shard`, a stable
# hash of the uid, beside its `updatedAt`: one (shard, updatedAt) index then finds the users whose
# sessions changed since a time, with each shard's index entries spread over its own key range
# instead of one hot-spot at the end of a single time index (docs/MIGRATION.md, "Incremental
# reconcile"). Changing the count re-shards every head: a new pass starts from scratch.
CHANGE_SHARDS = 64

# Every other mirrored write (profile, devices, schedules) rewrites the user's change marker,
# `users/{uid}/syncState/changes` = {shard, updatedAt (commit time)}, in the batch that commits
# the write: the same collection group and index as the feed head, so one query per shard finds
# both. A document of its own rather than the feed head: session commits take the head under a
# precondition, and a device or schedule write racing them must not make them retry.
CHANGE_MARKER_DOC = "changes"


def change_shard(uid: str) -> int:
    """The change shard of `uid` (pure, the same in every process and release)."""
    import zlib

    return zlib.crc32(uid.encode()) % CHANGE_SHARDS


def version_from_timestamp(ts: datetime) -> int:
    """A Firestore `update_time` (timezone-aware) as a record version: microseconds since epoch."""
    if ts.tzinfo is None:
        raise ValueError("version_from_timestamp needs a timezone-aware datetime")
    return (ts - EPOCH) // _MICROSECOND


def timestamp_from_version(version: int) -> datetime:
    return EPOCH + version * _MICROSECOND


def format_timestamp(ts: datetime) -> str:
    """RFC 3339 in UTC with microseconds and `Z`, the year always four digits."""
    return ts.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


class ChangeSink(Protocol):
    def publish(self, records: Sequence[ChangeRecord]) -> None:
        """Deliver `records` durably (returns once the transport accepted them)."""


class CollectingSink:
    """Keeps what it is given; for unit tests and for code paths that batch publishes."""

    def __init__(self) -> None:
        self.records: list[ChangeRecord] = []

    def publish(self, records: Sequence[ChangeRecord]) -> None:
        self.records.extend(records)
