"""The deleted-account guard: old ID tokens of a deleted account write nothing.

An ID token stays verifiable offline for up to an hour after its account is deleted. While an
account is being deleted, and for a while after, `accountDeletions/{uid}` records when the
deletion was requested; a token whose `auth_time` is not later than that belongs to the deleted
account and is refused. A re-created account signs in afresh, so its tokens pass. The record
expires (Firestore TTL on `expireAt`) once no such token can be valid any more.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from shared import fs
from shared.errors import Unauthenticated

if TYPE_CHECKING:
    from shared.callable import Call

ACCOUNT_DELETIONS = "accountDeletions"


def deletion_requested_at(uid: str) -> datetime | None:
    from shared.clients import firestore_client

    db = firestore_client()
    ref = db.collection(ACCOUNT_DELETIONS).document(uid)
    snap = fs.get_all(db, [ref])[ref.path]
    if not snap.exists:
        return None
    value = (snap.to_dict() or {}).get("requestedAt")
    return value if isinstance(value, datetime) else None


def ensure_not_deleted(call: Call) -> None:
    """Raise `Unauthenticated` for a token issued before its account's deletion."""
    requested_at = deletion_requested_at(call.uid)
    if requested_at is None:
        return
    auth_time = call.auth_time
    if auth_time is None or auth_time <= requested_at:
        raise Unauthenticated("This account has been deleted.")
