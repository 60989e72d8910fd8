"""The deleted-account guard: old ID tokens of a deleted account write nothing.

An ID token stays verifiable offline for up to an hour after its account is deleted. While an
account is being deleted, and for a while after, the marker `accountDeletions/{sha256(uid)}`
records when the deletion was requested; a token whose `auth_time` is not later than that belongs
to the deleted account and is refused. A re-created account signs in afresh, so its tokens pass.

The marker is keyed by the hash of the uid, not the uid: once the erasure is finished its `uid`
field is removed, and what is left (a hash only someone who already knows the uid can match, and
timestamps) is no trace of the account, yet still guards against the old tokens. It expires
(Firestore TTL on `expireAt`) once no such token can be valid any more. The marker's other
fields and its life cycle belong to `shared.privacy.erasure`.

Where a function reads the user's documents first anyway (syncFocusSessions: the sessions and
the feed head), its store applies the check (`DeletionGuard`) before anything is decided or
written. The Firestore session store takes `requestedAt` from the feed head, where the deletion
copies it right after writing the marker (shared/sessions/repository.py): no read of its own;
the marker is read only where there is no head.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import TYPE_CHECKING, Any

from shared import fs
from shared.errors import Unauthenticated

if TYPE_CHECKING:
    from google.cloud import firestore

ACCOUNT_DELETIONS = "accountDeletions"


def uid_hash(uid: str) -> str:
    """sha256 of the uid (hex): the marker's document id, and the mirror's `erased_users` key."""
    return hashlib.sha256(uid.encode("utf-8", "surrogatepass")).hexdigest()


def marker_ref(db: firestore.Client, uid: str) -> firestore.DocumentReference:
    """The account's deletion marker, `accountDeletions/{sha256(uid)}`."""
    ref: firestore.DocumentReference = db.collection(ACCOUNT_DELETIONS).document(uid_hash(uid))
    return ref


def requested_at_of(snap: Any) -> datetime | None:
    """`requestedAt` of a marker snapshot, None when there is no marker."""
    if not snap.exists:
        return None
    value = (snap.to_dict() or {}).get("requestedAt")
    return value if isinstance(value, datetime) else None


def deletion_requested_at(uid: str) -> datetime | None:
    """`requestedAt` of the account's deletion marker, None when there is none (1 read)."""
    from shared.clients import firestore_client

    db = firestore_client()
    ref = marker_ref(db, uid)
    return requested_at_of(fs.get_all(db, [ref])[ref.path])


def issued_before(auth_time: datetime | None, requested_at: datetime) -> bool:
    """Whether a token signed in at `auth_time` belongs to the account deleted at `requested_at`.

    A token without `auth_time` is counted as old: refusing it costs a sign-in at worst.
    """
    return auth_time is None or auth_time <= requested_at


def ensure_not_deleted(uid: str, auth_time: datetime | None) -> None:
    """Raise `Unauthenticated` for a token (of `uid`, signed in at `auth_time`) issued before
    its account's deletion."""
    DeletionGuard(uid, auth_time).ensure()


class DeletionGuard:
    """The deleted-account check of one call, left to the store that reads the user first.

    The endpoint hands it to the handler instead of reading the marker itself; the store calls
    `check_requested_at` with the deletion time it found before deciding anything (Firestore:
    the feed head's copy, or the marker where there is no head), or calls `ensure` (a read of
    its own) where it has no Firestore read to share (the SQL stores).
    `checked` lets the endpoint refuse to answer a call whose guard nobody applied.
    """

    def __init__(self, uid: str, auth_time: datetime | None) -> None:
        self.uid = uid
        self.auth_time = auth_time
        self.checked = False

    def check_requested_at(self, requested_at: datetime | None) -> None:
        """Apply the guard to a deletion's `requestedAt` (None: no deletion)."""
        self.checked = True
        if requested_at is not None and issued_before(self.auth_time, requested_at):
            raise Unauthenticated("This account has been deleted.")

    def ensure(self) -> None:
        """Apply the guard with a read of its own (1 read)."""
        self.check_requested_at(deletion_requested_at(self.uid))
