"""`AccountReader` on Firestore: the documents under `users/{uid}`.

Reads bill one per document returned (and one per query that returns none): an export of a user
with n sessions, d devices and s schedules costs about 1 + d + s + n reads, plus one read per page
for the query that finds the end.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from shared import fs
from shared.accounts.models import UserProfile
from shared.accounts.repository import USERS, profile_from_doc
from shared.devices.models import DEVICES, Device, device_from_doc
from shared.metering import count_query_reads
from shared.privacy.export import (
    ExportSchedule,
    ScannedSession,
    schedule_from_stored,
    session_from_stored,
)

if TYPE_CHECKING:
    from google.cloud import firestore

SESSIONS = "sessions"
SCHEDULES = "schedules"


class FirestoreAccountReader:
    def __init__(self, client: firestore.Client) -> None:
        self._db = client

    def _user(self, uid: str) -> firestore.DocumentReference:
        ref: firestore.DocumentReference = self._db.collection(USERS).document(uid)
        return ref

    def profile(self, uid: str) -> UserProfile | None:
        ref = self._user(uid)
        snap = fs.get_all(self._db, [ref])[ref.path]
        data = snap.to_dict() if snap.exists else None
        return profile_from_doc(data) if data and "timezone" in data else None

    def _all(self, collection: firestore.CollectionReference) -> list[tuple[str, dict[str, Any]]]:
        snaps = list(collection.stream())
        count_query_reads(len(snaps))
        return [(snap.id, snap.to_dict() or {}) for snap in snaps]

    def devices(self, uid: str) -> list[Device]:
        rows = self._all(self._user(uid).collection(DEVICES))
        return [device_from_doc({**data, "deviceId": doc_id}) for doc_id, data in rows]

    def schedules(self, uid: str) -> list[ExportSchedule]:
        rows = self._all(self._user(uid).collection(SCHEDULES))
        return [schedule_from_stored(data, doc_id) for doc_id, data in rows]

    def sessions_after(self, uid: str, after: str | None, limit: int) -> list[ScannedSession]:
        from google.cloud.firestore_v1.field_path import FieldPath

        doc_id = FieldPath.document_id()
        query = self._user(uid).collection(SESSIONS).order_by(doc_id)
        if after is not None:
            query = query.start_after({doc_id: after})
        snaps = list(query.limit(limit).stream())
        count_query_reads(len(snaps))
        return [(snap.id, session_from_stored(snap.to_dict() or {}, snap.id)) for snap in snaps]
