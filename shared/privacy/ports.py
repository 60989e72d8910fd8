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


class PubSubMirrorEraser:
    """`MirrorEraser` on the dual-write path: an `AccountErased` event on the mirror topic.

    The mirror consumer applies it with `SqlMirrorStore.erase_user`, which also records the
    erasure (by uid hash) so that change events still in flight cannot bring rows back.
    """

    def erase_user(self, uid: str, version: int) -> None:
        from shared.clients import publish
        from shared.sql.events import AccountErased, encode
        from shared.sql.publisher import MIRROR_TOPIC

        publish(MIRROR_TOPIC, [(encode(AccountErased(uid=uid, version=version)), {})])

    def newest_version(self, uid: str) -> int:
        """0: on this path SQL only copies Firestore, whose versions the last commit covers."""
        del uid
        return 0


class NoPushesToCancel:
    """`PushCanceller` until the push capability provides its own: nothing is scheduled."""

    def cancel_user(self, uid: str) -> None:
        del uid
