"""Wire models of `syncFocusSessions` and the pure rules of sync: versions, LWW, coherence.

A session's state is a *version*: a live `FocusSession` or a `Tombstone`. Versions are totally
ordered by `version_key`; the stored state of a session is always the greatest version any
device ever sent. Taking a maximum is commutative, associative and idempotent, which is what
makes sync converge whatever the order, duplication or batching of mutations (docs/SYNC.md).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Annotated, Literal, Self

from pydantic import Field, model_validator

from shared.wire import BlockedApp, ClientId, DeviceId, Timestamp, WireModel, open_enum

SESSIONS = "sessions"  # subcollection of users/{uid}
MAX_MUTATIONS = 500
DEFAULT_LIMIT = 200
MAX_LIMIT = 500
MAX_CURSOR_CHARS = 512
# API.md promises 30 days; one more day covers clock differences and a late purge run.
TOMBSTONE_RETENTION = timedelta(days=31)
# Spreads purgeAt over a day so the purge index never takes sequential writes (docs/SYNC.md).
PURGE_JITTER = timedelta(days=1)

Status = Literal["running", "completed", "abandoned"]
INCOHERENT: Literal["invalid-argument"] = "invalid-argument"  # the rejection code API.md names


Label = Annotated[str, Field(max_length=120)]
SessionBlockedApps = Annotated[list[BlockedApp], Field(max_length=500)]
MutationId = Annotated[str, Field(min_length=1, max_length=64)]


class FocusSession(WireModel):
    """`FocusSession` of the contract. Nullable fields and `blockedApps` may be omitted."""

    id: ClientId
    started_at: Timestamp
    planned_end_at: Timestamp | None = None
    ended_at: Timestamp | None = None
    status: Status
    label: Label | None = None
    blocked_apps: SessionBlockedApps = Field(default_factory=list)
    schedule_id: ClientId | None = None
    updated_at: Timestamp = Field(description="client clock of the last edit: the conflict key")
    device_id: DeviceId = Field(description="device of the last edit: the tie-breaker")


class DeletedSession(WireModel):
    """A tombstone in `changes`: `{id, deleted: true, updatedAt}`."""

    id: str
    deleted: Literal[True] = True
    updated_at: Timestamp


class Mutation(WireModel):
    """`{mutationId, op: "upsert", session}` or `{mutationId, op: "delete", id, updatedAt}`."""

    # One model rather than a tagged union, so that errors name fields as the client wrote them
    # (`data.mutations[3].session.id`, not a path through the union's branch).

    mutation_id: MutationId
    op: Literal["upsert", "delete"]
    session: FocusSession | None = None
    id: ClientId | None = None
    updated_at: Timestamp | None = None

    @model_validator(mode="after")
    def _shape(self) -> Self:
        if self.op == "upsert":
            if self.session is None:
                raise ValueError("an upsert needs `session`")
            if self.id is not None or self.updated_at is not None:
                raise ValueError("an upsert carries only `session` (no `id`, `updatedAt`)")
        else:
            if self.id is None or self.updated_at is None:
                raise ValueError("a delete needs `id` and `updatedAt`")
            if self.session is not None:
                raise ValueError("a delete carries no `session`")
        return self

    @property
    def session_id(self) -> str:
        if self.session is not None:
            return self.session.id
        assert self.id is not None  # guaranteed by _shape
        return self.id


class SyncFocusSessionsRequest(WireModel):
    device_id: DeviceId
    cursor: Annotated[str, Field(min_length=1, max_length=MAX_CURSOR_CHARS)] | None = None
    mutations: Annotated[list[Mutation], Field(max_length=MAX_MUTATIONS)]
    limit: Annotated[int, Field(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT


RejectionCode = Annotated[
    Literal["invalid-argument"],
    Field(json_schema_extra=open_enum("the app drops the mutation, whatever its code")),
]


class Rejection(WireModel):
    mutation_id: str
    code: RejectionCode
    message: str


Change = FocusSession | DeletedSession


class SyncFocusSessionsResult(WireModel):
    applied: list[str]
    rejected: list[Rejection]
    changes: list[Change]
    cursor: str
    has_more: bool


# -- versions and last-writer-wins -------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Tombstone:
    """A deleted session: what is kept so that every device learns of the delete."""

    id: str
    updated_at: datetime
    device_id: str


SessionVersion = FocusSession | Tombstone

VersionKey = tuple[datetime, bytes, int, bytes]


def version_key(version: SessionVersion) -> VersionKey:
    """The total order of versions: the greatest one is the session's state.

    (updatedAt, deviceId byte-wise) as API.md orders edits; on a full tie a delete beats an
    upsert ("a delete wins a tie"); two different upserts with the same updatedAt and deviceId
    (a client bug) are ordered by their content so that every arrival order keeps the same one.
    """
    if isinstance(version, Tombstone):
        return (version.updated_at, version.device_id.encode(), 1, b"")
    content = json.dumps(version.to_wire(), sort_keys=True, separators=(",", ":"))
    return (version.updated_at, version.device_id.encode(), 0, content.encode())


def compare(a: SessionVersion, b: SessionVersion) -> int:
    """-1, 0 or 1 as `version_key(a)` is below, equal to or above `version_key(b)`; the
    content (a JSON dump) is only looked at on a full tie, which is rare."""
    rank_a = (a.updated_at, a.device_id.encode(), isinstance(a, Tombstone))
    rank_b = (b.updated_at, b.device_id.encode(), isinstance(b, Tombstone))
    if rank_a != rank_b:
        return 1 if rank_a > rank_b else -1
    if isinstance(a, Tombstone) or a == b:
        return 0  # equal ranks: both tombstones (identical) or both live
    content_a, content_b = version_key(a)[3], version_key(b)[3]
    return (content_a > content_b) - (content_a < content_b)


def newest(versions: Iterable[SessionVersion | None]) -> SessionVersion | None:
    """The winner among `versions` (None = no state), or None when there is none."""
    best: SessionVersion | None = None
    for version in versions:
        if version is not None and (best is None or compare(version, best) > 0):
            best = version
    return best


def same_version(a: SessionVersion | None, b: SessionVersion | None) -> bool:
    if a is None or b is None:
        return a is b
    return compare(a, b) == 0


def incoherence(session: FocusSession) -> str | None:
    """Why a well-formed session cannot be stored (API.md's list), or None when it can."""
    if session.ended_at is not None and session.ended_at < session.started_at:
        return "endedAt is before startedAt"
    if session.planned_end_at is not None and session.planned_end_at <= session.started_at:
        return "plannedEndAt is not after startedAt"
    if session.status == "running" and session.ended_at is not None:
        return "a running session has no endedAt"
    if session.status != "running" and session.ended_at is None:
        return f"a {session.status} session needs endedAt"
    return None


def mutation_version(mutation: Mutation, request_device_id: str) -> SessionVersion:
    """The version a mutation proposes. A delete is attributed to the device that sends it."""
    if mutation.session is not None:
        return mutation.session
    assert mutation.id is not None and mutation.updated_at is not None  # guaranteed by _shape
    return Tombstone(mutation.id, mutation.updated_at, request_device_id)


def as_change(version: SessionVersion) -> Change:
    if isinstance(version, Tombstone):
        return DeletedSession(id=version.id, updated_at=version.updated_at)
    return version


# -- the change feed ---------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, order=True)
class Position:
    """A place in a user's change feed, ordered by (seq, id).

    Every commit that changes a user's sessions takes the next sequence number of that user and
    stamps it on each session it writes. `id` (the document id, see `document_id`) orders the
    sessions of one commit; `id == ""` stands before every session of `seq`.
    """

    seq: int
    id: str = ""


START = Position(0, "")


@dataclasses.dataclass(frozen=True)
class Head:
    """The feed's state: `seq` of its latest commit, and `epoch` telling feeds apart.

    The epoch (when the feed was created, in µs; 0 when there is none yet) changes if the feed
    is erased and created again (account deletion), so an old cursor is not taken at face value.
    """

    epoch: int
    seq: int

    @property
    def end(self) -> Position:
        """The position after every session committed so far."""
        return Position(self.seq + 1, "")


NO_FEED = Head(0, 0)


@dataclasses.dataclass(frozen=True)
class Stored:
    """A session's stored version and its place in the feed."""

    version: SessionVersion
    position: Position


def document_id(session_id: str) -> str:
    """The Firestore document id of a session. Firestore refuses ids of the form `__x__`, which
    API.md's id pattern allows; those get a `~` in front (a character no client id contains)."""
    if len(session_id) >= 4 and session_id.startswith("__") and session_id.endswith("__"):
        return "~" + session_id
    return session_id


def purge_at(now: datetime, uid: str, session_id: str) -> datetime:
    """When a tombstone written `now` may be purged: the retention plus a fixed per-document
    jitter below one day, so purge dates are not a sequential index key (docs/SYNC.md)."""
    digest = hashlib.sha256(f"{uid}/{session_id}".encode()).digest()
    jitter_ms = int.from_bytes(digest[:8], "big") % int(PURGE_JITTER / timedelta(milliseconds=1))
    return (now + TOMBSTONE_RETENTION + timedelta(milliseconds=jitter_ms)).astimezone(UTC)
