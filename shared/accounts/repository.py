"""Firestore storage of user profiles: `users/{uid}`.

Document fields: the wire fields of `UserProfile` (camelCase) plus `updatedAt`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from shared import fs
from shared.accounts.models import UserProfile

if TYPE_CHECKING:
    from google.cloud import firestore

    from shared.changes import ChangeRecord, ChangeSink

USERS = "users"

ProfilePlanner = Callable[[UserProfile | None], tuple[UserProfile, bool, bool]]


class AccountStore(Protocol):
    def get_profile(self, uid: str) -> UserProfile | None: ...

    def save_profile(self, uid: str, plan: ProfilePlanner) -> tuple[UserProfile, bool]:
        """Read the profile, let `plan` decide, write it if changed; (profile, created)."""


def profile_from_doc(data: dict[str, Any]) -> UserProfile:
    return UserProfile.model_validate(
        {
            "uid": data["uid"],
            "timezone": data["timezone"],
            "locale": data.get("locale"),
            "createdAt": data["createdAt"],
        }
    )


def profile_to_doc(profile: UserProfile, now: datetime) -> dict[str, Any]:
    return {
        "uid": profile.uid,
        "timezone": profile.timezone,
        "locale": profile.locale,
        "createdAt": profile.created_at,
        "updatedAt": now,
    }


def profile_record(uid: str, profile: UserProfile, version: int) -> ChangeRecord:
    """The mirror's record of a stored profile (every store that writes one publishes this)."""
    from shared.changes import ChangeRecord

    return ChangeRecord(
        collection="users", uid=uid, id=uid, op="upsert", version=version, data=profile.to_wire()
    )


class FirestoreAccountStore:
    """`AccountStore` on Firestore: 1 read per call, 2 writes only when something changed (the
    profile and the user's change marker); the stored profile is published to the mirror on
    every save (a replay republishes it)."""

    def __init__(self, client: firestore.Client, changes: ChangeSink) -> None:
        self._db = client
        self._changes = changes

    def _ref(self, uid: str) -> firestore.DocumentReference:
        return self._db.collection(USERS).document(uid)

    def get_profile(self, uid: str) -> UserProfile | None:
        snap = fs.get_all(self._db, [self._ref(uid)])[self._ref(uid).path]
        data = snap.to_dict() if snap.exists else None
        return profile_from_doc(data) if data and "timezone" in data else None

    def current_record(self, uid: str) -> ChangeRecord | None:
        """The stored profile as the mirror's record (what `save_profile` publishes), or None:
        what a SQL store copies when it takes the profile over (1 read)."""
        snap = fs.get_all(self._db, [self._ref(uid)])[self._ref(uid).path]
        data = snap.to_dict() if snap.exists else None
        if not data or "timezone" not in data:
            return None
        return profile_record(uid, profile_from_doc(data), fs.read_version(snap))

    def save_profile(self, uid: str, plan: ProfilePlanner) -> tuple[UserProfile, bool]:
        ref = self._ref(uid)

        def attempt() -> tuple[UserProfile, bool]:
            snap = fs.get_all(self._db, [ref])[ref.path]
            data = snap.to_dict() if snap.exists else None
            existing = profile_from_doc(data) if data and "timezone" in data else None
            profile, created, changed = plan(existing)
            if changed:
                from shared.clock import utcnow

                batch = self._db.batch()
                fs.put(self._db, batch, ref, snap, profile_to_doc(profile, utcnow()))
                fs.mark_changed(self._db, batch, uid)
                result = fs.commit(batch, writes=2)[0]
                version = fs.version_of(result.update_time)
            else:
                # Nothing to write, but publish what is stored again: this call may be the
                # retry of one that died between its commit and its publish.
                version = fs.read_version(snap)
            self._changes.publish([profile_record(uid, profile, version)])
            return profile, created

        return fs.run_optimistic(attempt)
