"""Production implementations of the erasure's ports: Auth, the mirror, pending pushes."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime


class FirebaseAuthUsers:
    """`AuthUsers` through firebase-admin (the Auth emulator locally)."""

    def created_at(self, uid: str) -> datetime | None:
        from firebase_admin import auth

        from shared.clients import firebase_app

        try:
            user = auth.get_user(uid, app=firebase_app())
        except auth.UserNotFoundError:
            return None
        millis = user.user_metadata.creation_timestamp
        return datetime.fromtimestamp(millis / 1000, UTC) if millis else None

    def delete_user(self, uid: str) -> None:
        from firebase_admin import auth

        from shared.clients import firebase_app

        # Already gone: an earlier run got there.
        with contextlib.suppress(auth.UserNotFoundError):
            auth.delete_user(uid, app=firebase_app())


class NoPushesToCancel:
    """`PushCanceller` until the push capability provides its own: nothing is scheduled."""

    def cancel_user(self, uid: str) -> None:
        del uid
