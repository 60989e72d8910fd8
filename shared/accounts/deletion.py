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
"""

from __future__ import annotations

import hashlib
from datetime import datetime

from shared import fs
from shared.errors import Unauthenticated

ACCOUNT_DELETIONS = "accountDeletions"


def uid_hash(uid: str) -> str:
    """sha256 of the uid (hex): the marker's document id, and the mirror's `erased_users` key."""
    return hashlib.sha256(uid.encode("utf-8", "surrogatepass")).hexdigest()


def deletion_requested_at(uid: str) -> datetime | None:
    """`requestedAt` of the account's deletion marker, None when there is none (1 read)."""
    from shared.clients import firestore_client

    db = firestore_client()
    ref = db.collection(ACCOUNT_DELETIONS).document(uid_hash(uid))
    snap = fs.get_all(db, [ref])[ref.path]
    if not snap.exists:
        return None
    value = (snap.to_dict() or {}).get("requestedAt")
    return value if isinstance(value, datetime) else None


def issued_before(auth_time: datetime | None, requested_at: datetime) -> bool:
    """Whether a token signed in at `auth_time` belongs to the account deleted at `requested_at`.

    A token without `auth_time` is counted as old: refusing it costs a sign-in at worst.
    """
    return auth_time is None or auth_time <= requested_at


def ensure_not_deleted(uid: str, auth_time: datetime | None) -> None:
    """Raise `Unauthenticated` for a token (of `uid`, signed in at `auth_time`) issued before
    its account's deletion."""
    requested_at = deletion_requested_at(uid)
    if requested_at is None:
        return
    if issued_before(auth_time, requested_at):
        raise Unauthenticated("This account has been deleted.")
