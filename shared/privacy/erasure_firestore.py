"""`ErasureStore` on Firestore: the deletion marker and the recursive delete of `users/{uid}`.

Deleting a tree: list the subcollections of `users/{uid}` (one ListCollectionIds call), then for
each walk *all* its descendants (a kind-less all-descendants query bounded to that collection,
which also finds documents under missing parents) by document name, `DELETE_PAGE` names at a
time, and delete each page in one batch. No cursor is kept anywhere: a rerun lists again and
deletes what is left, which is what makes a crash harmless.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, cast

from shared import fs
from shared.accounts.deletion import ACCOUNT_DELETIONS, uid_hash
from shared.accounts.repository import USERS
from shared.devices.models import FCM_TOKENS
from shared.metering import count_query_reads, count_reads
from shared.privacy.erasure import Marker, State

if TYPE_CHECKING:
    from google.cloud import firestore

DELETE_PAGE = 500  # = fs.MAX_BATCH_WRITES: one page, one batch


class FirestoreErasureStore:
    def __init__(self, client: firestore.Client) -> None:
        self._db = client

    def _marker_ref(self, key: str) -> firestore.DocumentReference:
        ref: firestore.DocumentReference = self._db.collection(ACCOUNT_DELETIONS).document(key)
        return ref

    # -- marker ------------------------------------------------------------------------------

    def get_marker(self, uid: str) -> Marker | None:
        ref = self._marker_ref(uid_hash(uid))
        snap = fs.get_all(self._db, [ref])[ref.path]
        return _marker(snap) if snap.exists else None

    def start(
        self, uid: str, requested_at: datetime, previous: Marker | None, sweep_at: datetime
    ) -> Marker | None:
        from google.api_core import exceptions
        from google.cloud import firestore

        key = uid_hash(uid)
        ref = self._marker_ref(key)
        fields: dict[str, Any] = {
            "uid": uid,
            "requestedAt": requested_at,
            "state": "erasing",
            "sweepAt": sweep_at,
        }
        batch = self._db.batch()
        if previous is None:
            batch.create(ref, fields)
        else:
            # A marker left by an earlier deletion of the same uid: no TTL while erasing.
            fields.update(expireAt=firestore.DELETE_FIELD, finishedAt=firestore.DELETE_FIELD)
            option = self._db.write_option(last_update_time=previous.update_time)
            batch.update(ref, fields, option=option)
        try:
            (result,) = fs.commit(batch, writes=1)
        except (exceptions.AlreadyExists, exceptions.FailedPrecondition, exceptions.NotFound):
            return None
        return Marker(key, uid, requested_at, "erasing", result.update_time)

    def advance(
        self,
        marker: Marker,
        state: State,
        *,
        sweep_at: datetime | None,
        expire_at: datetime | None,
        keep_uid: bool,
    ) -> bool:
        from google.api_core import exceptions
        from google.cloud import firestore

        from shared.clock import utcnow

        fields: dict[str, Any] = {
            "state": state,
            "finishedAt": utcnow(),
            "sweepAt": sweep_at if sweep_at is not None else firestore.DELETE_FIELD,
            "expireAt": expire_at if expire_at is not None else firestore.DELETE_FIELD,
        }
        if not keep_uid:
            fields["uid"] = firestore.DELETE_FIELD
        batch = self._db.batch()
        option = self._db.write_option(last_update_time=marker.update_time)
        batch.update(self._marker_ref(marker.key), fields, option=option)
        try:
            fs.commit(batch, writes=1)
        except (exceptions.FailedPrecondition, exceptions.NotFound):
            return False
        return True

    def due(self, now: datetime, limit: int) -> list[Marker]:
        from google.cloud.firestore import FieldFilter

        query = (
            self._db.collection(ACCOUNT_DELETIONS)
            .where(filter=FieldFilter("sweepAt", "<=", now))
            .order_by("sweepAt")
            .limit(limit)
        )
        snaps = list(query.stream())
        count_query_reads(len(snaps))
        return [_marker(snap) for snap in snaps]

    # -- data --------------------------------------------------------------------------------

    def flag_feed_head(self, uid: str, requested_at: datetime) -> None:
        from shared.sessions.repository import flag_account_deleted

        flag_account_deleted(self._db, uid, requested_at)

    def delete_tokens(self, uid: str, cutoff: datetime | None) -> int:
        from google.cloud.firestore import FieldFilter

        query = self._db.collection(FCM_TOKENS).where(filter=FieldFilter("uid", "==", uid))
        deleted, _ = self._delete_pages(query, cutoff)
        return deleted

    def delete_user_data(self, uid: str, cutoff: datetime | None) -> datetime | None:
        from google.cloud.firestore_v1.field_path import FieldPath

        user_ref = self._db.collection(USERS).document(uid)
        last_commit: datetime | None = None
        collections = list(user_ref.collections())
        count_reads(1)  # ListCollectionIds
        for collection in collections:
            names_only = collection.recursive().select([FieldPath.document_id()])
            _, commit_time = self._delete_pages(names_only, cutoff)
            last_commit = _later(last_commit, commit_time)
        snap = fs.get_all(self._db, [user_ref])[user_ref.path]
        if snap.exists and _before(snap, cutoff):
            batch = self._db.batch()
            fs.delete(self._db, batch, user_ref, snap if cutoff is not None else None)
            fs.commit(batch, writes=0, deletes=1)
            last_commit = _later(last_commit, cast("datetime", batch.commit_time))
        return last_commit

    def _delete_pages(self, query: Any, cutoff: datetime | None) -> tuple[int, datetime | None]:
        """Delete what `query` returns, page by page; with a cutoff, only documents last
        written before it, each guarded by its update time (a newer write is left alone)."""
        deleted = 0
        last_commit: datetime | None = None
        last_snap = None
        while True:
            page = query.limit(DELETE_PAGE)
            if last_snap is not None:
                page = page.start_after(last_snap)
            snaps = list(page.stream())
            count_query_reads(len(snaps))
            doomed = [snap for snap in snaps if _before(snap, cutoff)]
            if doomed:
                batch = self._db.batch()
                for snap in doomed:
                    fs.delete(self._db, batch, snap.reference, snap if cutoff is not None else None)
                try:
                    fs.commit(batch, writes=0, deletes=len(doomed))
                except Exception as err:
                    from google.api_core import exceptions

                    if cutoff is None or not isinstance(err, exceptions.FailedPrecondition):
                        raise
                    continue  # a document of the page changed: list the page again
                deleted += len(doomed)
                last_commit = _later(last_commit, cast("datetime", batch.commit_time))
            if len(snaps) < DELETE_PAGE:
                return deleted, last_commit
            last_snap = snaps[-1]


def _marker(snap: Any) -> Marker:
    data = snap.to_dict() or {}
    uid = data.get("uid")
    state = data.get("state")
    return Marker(
        key=snap.id,
        uid=uid if isinstance(uid, str) else None,
        requested_at=data["requestedAt"],
        state=state if state in ("erasing", "erased", "done") else "erasing",
        update_time=snap.update_time,
    )


def _before(snap: Any, cutoff: datetime | None) -> bool:
    return cutoff is None or _update_time(snap) <= cutoff


def _update_time(snap: Any) -> datetime:
    """A snapshot's update time as a datetime: all-descendants queries hand back the protobuf
    `Timestamp` (google-cloud-firestore 2.x), every other read a datetime."""
    value = snap.update_time
    if isinstance(value, datetime):
        return value
    converted: datetime = value.ToDatetime(tzinfo=UTC)
    return converted


def _later(a: datetime | None, b: datetime | None) -> datetime | None:
    if a is None:
        return b
    if b is None:
        return a
    return max(a, b)
