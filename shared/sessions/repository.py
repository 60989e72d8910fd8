"""Storage of focus sessions: the `SessionStore` protocol and its Firestore implementation.

Documents:
- `users/{uid}/sessions/{documentId}`: the FocusSession API fields (camelCase, timestamps as
  Firestore timestamps), `deleted`, `serverUpdatedAt` (server time of the write), `syncSeq` (the
  feed sequence of the commit that wrote it) and, on tombstones, `purgeAt`. A tombstone keeps
  only {id, updatedAt, deviceId, deleted, serverUpdatedAt, syncSeq, purgeAt}.
- `users/{uid}/syncState/sessions`: `{seq, updatedAt, shard}`, the head of the change feed, and
  `epoch` when SQL gave the feed back (shared/migration/moves/); otherwise the epoch is the
  document's creation time.
  Every commit that writes sessions bumps `seq` under a precondition, so commits of one user are
  serialised and numbered; docs/SYNC.md says why a commit timestamp cannot play this part.
  `accountDeletedAt`, when present, is the `requestedAt` of a deletion of the uid's account: the
  deletion writes it onto the head right after its marker, and a head created while a marker
  exists (the uid's account made again) copies it. So the head every sync reads anyway carries
  the deleted-account check, and the marker is read only where there is no head
  (shared/accounts/deletion.py).

Every write goes through `apply`, which hands its change records to the `ChangeSink` (the
dual-write hook) after the commit, including the current state of touched sessions it did not
need to write, so that a replay after a crash between commit and publish publishes again.

Over 400 lines: the Protocol and its Firestore implementation, whose feed head, tombstones and
purge are one transaction design.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

from shared import fs
from shared.changes import change_shard
from shared.metering import count_query_reads
from shared.sessions.models import (
    SESSIONS,
    FocusSession,
    Head,
    Position,
    SessionVersion,
    Stored,
    Tombstone,
    document_id,
    purge_at,
)

if TYPE_CHECKING:
    from google.cloud import firestore

    from shared.accounts.deletion import DeletionGuard
    from shared.changes import ChangeRecord, ChangeSink

USERS = "users"
SYNC_STATE = "syncState"  # subcollection of users/{uid}: server bookkeeping of sync
FEED_DOC = "sessions"
SEQ_FIELD = "syncSeq"
EPOCH_FIELD = "epoch"
DELETED_FIELD = "accountDeletedAt"
PURGE_FIELD = "purgeAt"
# Tombstones purged per commit: half of Firestore's 500 writes, the other half for the owners'
# change markers (one per user whose tombstones the commit deletes).
PURGE_PAGE = 250
# API fields a live session document has and a tombstone drops.
LIVE_ONLY_FIELDS = (
    "startedAt",
    "plannedEndAt",
    "endedAt",
    "status",
    "label",
    "blockedApps",
    "scheduleId",
)

Decide = Callable[[Mapping[str, SessionVersion | None]], Mapping[str, SessionVersion]]


@dataclasses.dataclass(frozen=True)
class Applied:
    """What `SessionStore.apply` did.

    `base` is the feed head the committed decision was based on, `head` the head after it
    (equal when nothing was written). Written sessions sit at `head.seq`.
    """

    before: dict[str, Stored | None]
    after: dict[str, Stored | None]
    written: tuple[str, ...]
    base: Head
    head: Head


@dataclasses.dataclass(frozen=True)
class PurgeOutcome:
    purged: int
    complete: bool  # False: stopped by the time budget with expired tombstones left


class SessionStore(Protocol):
    """Where sessions live. The service decides; the store reads, commits and publishes."""

    def head(self, uid: str, guard: DeletionGuard | None = None) -> Head:
        """The user's feed head (one read). With `guard`, the deleted-account check is applied
        first (Firestore: from the head; the marker is read only when there is no head)."""

    def apply(
        self, uid: str, ids: Sequence[str], decide: Decide, guard: DeletionGuard | None = None
    ) -> Applied:
        """Read the sessions `ids` and the feed head together; `decide` maps their current
        versions to the versions to write (only changed ones); commit those atomically as the
        next feed sequence, redoing everything if a concurrent commit interferes; then publish
        change records for the written sessions and the current state of the others. With
        `guard`, the deleted-account check is applied before anything is decided, on every
        attempt (Firestore: from the head read with the sessions; the marker is read only when
        there is no head, and a head this commit creates keeps what the marker said).

        `ids` fit one commit (at most 499 sessions and a few MB, see the service)."""

    def changes(self, uid: str, after: Position, upto_seq: int, limit: int) -> list[Stored]:
        """Sessions positioned after `after` with `seq <= upto_seq`, oldest first, at most
        `limit` (billed: one read per returned session, one when none)."""

    def purge_expired(self, now: datetime, budget_s: float) -> PurgeOutcome:
        """Delete tombstones of every user whose `purgeAt <= now`, publishing the deletes;
        stop after about `budget_s` seconds."""


# -- document form -----------------------------------------------------------------------------


def _plain(value: datetime) -> datetime:
    """A Firestore timestamp (DatetimeWithNanoseconds) as a plain aware datetime in UTC."""
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    return epoch + (value - epoch)


def micros(value: datetime) -> int:
    return fs.version_of(value)


def session_doc(
    version: SessionVersion, seq: int, purge: datetime | None, *, create: bool, server_time: Any
) -> dict[str, Any]:
    """The complete document of `version`. An update names the fields the version does not
    have as `delete_marker`s (an update with a precondition keeps unnamed fields)."""
    from google.cloud.firestore import DELETE_FIELD

    if isinstance(version, Tombstone):
        data: dict[str, Any] = {
            "id": version.id,
            "updatedAt": version.updated_at,
            "deviceId": version.device_id,
            "deleted": True,
            "serverUpdatedAt": server_time,
            SEQ_FIELD: seq,
            PURGE_FIELD: purge,
        }
        if not create:
            data.update(dict.fromkeys(LIVE_ONLY_FIELDS, DELETE_FIELD))
        return data
    data = {
        "id": version.id,
        "startedAt": version.started_at,
        "plannedEndAt": version.planned_end_at,
        "endedAt": version.ended_at,
        "status": version.status,
        "label": version.label,
        "blockedApps": list(version.blocked_apps),
        "scheduleId": version.schedule_id,
        "updatedAt": version.updated_at,
        "deviceId": version.device_id,
        "deleted": False,
        "serverUpdatedAt": server_time,
        SEQ_FIELD: seq,
    }
    if not create:
        data[PURGE_FIELD] = DELETE_FIELD
    return data


def version_from_doc(data: Mapping[str, Any]) -> SessionVersion:
    if data.get("deleted") is True:
        return Tombstone(
            id=data["id"], updated_at=_plain(data["updatedAt"]), device_id=data["deviceId"]
        )
    fields = ("id", "status", "label", "blockedApps", "scheduleId", "deviceId")
    times = ("startedAt", "plannedEndAt", "endedAt", "updatedAt")
    raw = {name: data.get(name) for name in fields}
    raw.update({name: _plain(data[name]) if data.get(name) else None for name in times})
    raw["blockedApps"] = list(raw["blockedApps"] or [])
    return FocusSession.model_validate(raw)


def stored_from_doc(doc_id: str, data: Mapping[str, Any]) -> Stored:
    return Stored(version_from_doc(data), Position(int(data[SEQ_FIELD]), doc_id))


def record_data(version: SessionVersion, seq: int, version_time: datetime) -> dict[str, Any]:
    """The API-visible state of a session for the mirror, plus its feed bookkeeping.

    `serverUpdatedAt` is given as the write's commit time (the record's version), the same
    value on a first publish and on a republish (the stored field is the server's request time,
    within milliseconds of it, see docs/SYNC.md)."""
    from shared.changes import format_timestamp as format_micros
    from shared.clock import format_timestamp

    extra = {"serverUpdatedAt": format_micros(version_time), SEQ_FIELD: seq}
    if isinstance(version, Tombstone):
        return {
            "id": version.id,
            "updatedAt": format_timestamp(version.updated_at),
            "deviceId": version.device_id,
            "deleted": True,
            **extra,
        }
    return {**version.to_wire(), "deleted": False, **extra}


def session_record(uid: str, sid: str, stored: Stored, version: int) -> ChangeRecord:
    """The mirror's record of a stored session at `version` (µs; also its `serverUpdatedAt`):
    what every session store publishes, or writes to SQL itself in `sql_only`."""
    from shared.changes import ChangeRecord, timestamp_from_version

    data = record_data(stored.version, stored.position.seq, timestamp_from_version(version))
    return ChangeRecord(
        collection="sessions", uid=uid, id=sid, op="upsert", version=version, data=data
    )


# -- Firestore ---------------------------------------------------------------------------------


@dataclasses.dataclass
class _Attempt:
    snaps: dict[str, Any]
    applied: Applied
    results: dict[str, datetime]  # written session id -> update_time


class FirestoreSessionStore:
    """`SessionStore` on Firestore.

    Billed operations: `head` 1 read; `apply` one read per session plus one for the head, and,
    when something changed, one write per changed session plus one for the head; `changes` one
    read per returned session (one when none). A `guard` costs nothing more where the user has a
    feed head, and one read (a round trip of its own) of the deletion marker where there is none.
    """

    def __init__(
        self,
        client: firestore.Client,
        changes: ChangeSink,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        from shared.clock import utcnow

        self._db = client
        self._changes = changes
        self._clock = clock or utcnow

    def _sessions(self, uid: str) -> firestore.CollectionReference:
        sessions: firestore.CollectionReference = (
            self._db.collection(USERS).document(uid).collection(SESSIONS)
        )
        return sessions

    def _head_ref(self, uid: str) -> firestore.DocumentReference:
        ref: firestore.DocumentReference = (
            self._db.collection(USERS).document(uid).collection(SYNC_STATE).document(FEED_DOC)
        )
        return ref

    def head(self, uid: str, guard: DeletionGuard | None = None) -> Head:
        ref = self._head_ref(uid)
        snap = fs.get_all(self._db, [ref])[ref.path]
        _GuardRead(self._db, uid, guard).check(snap)
        return head_of(snap)

    def apply(
        self, uid: str, ids: Sequence[str], decide: Decide, guard: DeletionGuard | None = None
    ) -> Applied:
        from google.cloud.firestore import SERVER_TIMESTAMP

        sessions = self._sessions(uid)
        refs = {sid: sessions.document(document_id(sid)) for sid in ids}
        head_ref = self._head_ref(uid)

        guard_read = _GuardRead(self._db, uid, guard)

        def attempt() -> _Attempt:
            snaps = fs.get_all(self._db, [*refs.values(), head_ref])
            head_snap = snaps[head_ref.path]
            # Every attempt: a redo may see the flag a deletion wrote meanwhile.
            guard_read.check(head_snap)
            base = head_of(head_snap)
            before = {sid: _stored(snaps[ref.path]) for sid, ref in refs.items()}
            writes = dict(decide({sid: s.version if s else None for sid, s in before.items()}))
            if not writes:
                return _Attempt(snaps, Applied(before, dict(before), (), base, base), {})
            seq = base.seq + 1
            now = self._clock()
            batch = self._db.batch()
            order = list(writes)
            for sid in order:
                snap = snaps[refs[sid].path]
                version = writes[sid]
                purge = purge_at(now, uid, sid) if isinstance(version, Tombstone) else None
                doc = session_doc(
                    version, seq, purge, create=not snap.exists, server_time=SERVER_TIMESTAMP
                )
                fs.put(self._db, batch, refs[sid], snap, doc)
            head_doc: dict[str, Any] = {
                "seq": seq,
                "updatedAt": SERVER_TIMESTAMP,
                "shard": change_shard(uid),
            }
            if not head_snap.exists and guard_read.deleted_at is not None:
                # A new head of a uid whose account was deleted (it was made again): the
                # deleted account's tokens stay refused by the head alone.
                head_doc[DELETED_FIELD] = guard_read.deleted_at
            fs.put(self._db, batch, head_ref, head_snap, head_doc)
            results = fs.commit(batch, writes=len(order) + 1)
            head_time = results[-1].update_time
            epoch = base.epoch if head_snap.exists else micros(head_time)
            after = dict(before)
            for sid in order:
                after[sid] = Stored(writes[sid], Position(seq, refs[sid].id))
            applied = Applied(before, after, tuple(order), base, Head(epoch, seq))
            times = {sid: result.update_time for sid, result in zip(order, results, strict=False)}
            return _Attempt(snaps, applied, times)

        done = fs.run_optimistic(attempt)
        self._publish(uid, refs, done)
        return done.applied

    def _publish(
        self, uid: str, refs: Mapping[str, firestore.DocumentReference], done: _Attempt
    ) -> None:

        records: list[ChangeRecord] = []
        for sid, stored in done.applied.after.items():
            if stored is None:
                continue
            if sid in done.results:
                version_time = done.results[sid]
            else:
                # Not written now: publish what is stored again, in case the call that wrote it
                # died between its commit and its publish (this call may be its client's retry).
                version_time = done.snaps[refs[sid].path].update_time
            records.append(session_record(uid, sid, stored, micros(version_time)))
        self._changes.publish(records)

    def changes(self, uid: str, after: Position, upto_seq: int, limit: int) -> list[Stored]:
        from google.cloud.firestore import FieldFilter
        from google.cloud.firestore_v1.field_path import FieldPath

        query = (
            self._sessions(uid)
            .where(filter=FieldFilter(SEQ_FIELD, ">=", after.seq))
            .where(filter=FieldFilter(SEQ_FIELD, "<=", upto_seq))
            .order_by(SEQ_FIELD)
            .order_by(FieldPath.document_id())
        )
        if after.id:
            query = query.start_after({SEQ_FIELD: after.seq, "__name__": after.id})
        snaps = list(query.limit(limit).stream())
        count_query_reads(len(snaps))
        return [stored_from_doc(snap.id, snap.to_dict() or {}) for snap in snaps]

    def purge_expired(self, now: datetime, budget_s: float) -> PurgeOutcome:
        """Deletes in batches of up to 250 taken from a collection-group query on `purgeAt`,
        each batch with the change marker of every owner it touches (at most 250 more writes:
        the commit stays within Firestore's 500), so the incremental reconcile sees them.

        Each delete is conditioned on the document's `update_time` as the query saw it: a
        session written again meanwhile (resurrected, or deleted anew) is left alone."""
        from google.cloud.firestore import FieldFilter

        deadline = time.monotonic() + budget_s
        purged = 0
        query = (
            self._db.collection_group(SESSIONS)
            .where(filter=FieldFilter(PURGE_FIELD, "<=", now))
            .order_by(PURGE_FIELD)
            .limit(PURGE_PAGE)
        )
        while True:
            found = list(query.stream())
            count_query_reads(len(found))
            done = self._purge_batch([s for s in found if _owner(s) is not None], now)
            purged += done
            if len(found) < PURGE_PAGE or done == 0:
                # Nothing more is due, or what is left cannot be purged now (not ours, or
                # rewritten over and over): the next run looks again.
                return PurgeOutcome(purged, complete=True)
            if time.monotonic() >= deadline:
                return PurgeOutcome(purged, complete=False)

    def _purge_batch(self, snaps: list[Any], now: datetime) -> int:
        from google.api_core import exceptions

        from shared.changes import ChangeRecord

        candidates = snaps
        for _ in range(fs.OPTIMISTIC_ATTEMPTS):
            due = [s for s in candidates if s.exists and _expired(s.to_dict() or {}, now)]
            if not due:
                return 0
            batch = self._db.batch()
            for snap in due:
                fs.delete(self._db, batch, snap.reference, snap)
            owners = list(dict.fromkeys(o for s in due if (o := _owner(s)) is not None))
            for owner in owners:
                fs.mark_changed(self._db, batch, owner)
            try:
                fs.commit(batch, writes=len(owners), deletes=len(due))
            except exceptions.FailedPrecondition:
                # One of them changed since the query: look again at just these documents.
                fresh = fs.get_all(self._db, [s.reference for s in due])
                candidates = list(fresh.values())
                continue
            assert batch.commit_time is not None  # set by a successful commit
            version = micros(batch.commit_time)
            records = []
            for snap in due:
                owner = _owner(snap)
                assert owner is not None
                records.append(
                    ChangeRecord(
                        collection="sessions",
                        uid=owner,
                        id=str((snap.to_dict() or {}).get("id", snap.id)),
                        op="delete",
                        version=version,
                        data=None,
                    )
                )
            self._changes.publish(records)
            return len(due)
        return 0


def _expired(data: Mapping[str, Any], now: datetime) -> bool:
    purge = data.get(PURGE_FIELD)
    return data.get("deleted") is True and isinstance(purge, datetime) and purge <= now


def _owner(snap: Any) -> str | None:
    """The uid of `users/{uid}/sessions/{id}`; None for a `sessions` collection elsewhere."""
    parts: list[str] = snap.reference.path.split("/")
    if len(parts) == 4 and parts[0] == USERS and parts[2] == SESSIONS:
        return parts[1]
    return None


class _GuardRead:
    """The deleted-account check of one store call, from the feed head it reads anyway.

    With a head: its `accountDeletedAt` (the deletion writes it onto the head right after the
    marker, before erasing anything). Without one (a new account, or one already erased): the
    marker, read once (one read, a round trip of its own); `deleted_at` keeps what it said, for
    the head the call may create."""

    def __init__(self, db: firestore.Client, uid: str, guard: DeletionGuard | None) -> None:
        self._db = db
        self._uid = uid
        self._guard = guard
        self._marker_read = False
        self.deleted_at: datetime | None = None

    def check(self, head_snap: Any) -> None:
        if self._guard is None:
            return
        if head_snap.exists:
            flagged = (head_snap.to_dict() or {}).get(DELETED_FIELD)
            self._guard.check_requested_at(flagged if isinstance(flagged, datetime) else None)
            return
        if not self._marker_read:
            from shared.accounts.deletion import marker_ref, requested_at_of

            ref = marker_ref(self._db, self._uid)
            self.deleted_at = requested_at_of(fs.get_all(self._db, [ref])[ref.path])
            self._marker_read = True
        self._guard.check_requested_at(self.deleted_at)


def flag_account_deleted(db: firestore.Client, uid: str, requested_at: datetime) -> bool:
    """Write the deletion's `requestedAt` onto the user's feed head, if the user has one (1
    write; nothing to do without a head, whose absence sends the check to the marker). Every
    sync commit is conditioned on the head, so one that read the head before this write is
    redone and refused."""
    from google.api_core import exceptions

    ref = db.collection(USERS).document(uid).collection(SYNC_STATE).document(FEED_DOC)
    batch = db.batch()
    batch.update(ref, {DELETED_FIELD: requested_at})
    try:
        fs.commit(batch, writes=1)
    except exceptions.NotFound:
        return False
    return True


def head_of(snap: Any) -> Head:
    if not snap.exists:
        return Head(0, 0)
    data = snap.to_dict() or {}
    # A feed SQL gave back keeps the epoch its devices know, whenever the document was created.
    epoch = data.get(EPOCH_FIELD)
    if not isinstance(epoch, int):
        epoch = micros(snap.create_time)
    return Head(epoch, int(data.get("seq", 0)))


def _stored(snap: Any) -> Stored | None:
    if not snap.exists:
        return None
    return stored_from_doc(snap.id, snap.to_dict() or {})
