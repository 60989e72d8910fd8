"""Destructive and bulk calls need a sign-in that is still good (docs/API.md): over HTTP, with
Auth emulator users. A revoked or disabled user's unexpired token exports nothing; deleteAccount
needs a sign-in of the last few minutes and answers `requires-recent-login` otherwise; cheap
calls keep taking any unexpired token."""

from __future__ import annotations

from typing import Any

import pytest

from shared.endpoints.callable import RECENT_SIGN_IN_S
from tests.support.auth import auth_time, sign_up, unsigned_token
from tests.support.callables import FunctionsClient
from tests.support.waiting import wait_for

pytestmark = pytest.mark.stack


def revoked_after_sign_in(uid: str, token: str) -> bool:
    """Revoke `uid`'s tokens; True once Auth dates the revocation after the token's sign-in
    (both are whole seconds, so a revocation within the sign-in's second revokes nothing)."""
    from firebase_admin import auth

    from shared.clients import firebase_app

    auth.revoke_refresh_tokens(uid, app=firebase_app())
    valid_after_ms = auth.get_user(uid, app=firebase_app()).tokens_valid_after_timestamp
    return valid_after_ms > auth_time(token).timestamp() * 1000


def test_a_revoked_sign_in_exports_nothing(
    functions_client: FunctionsClient, auth_host: str
) -> None:
    user = sign_up(auth_host)
    assert (
        functions_client.call("bootstrapAccount", {"timezone": "UTC"}, user.id_token).status == 200
    )
    assert functions_client.call("exportAccount", {}, user.id_token).status == 200

    wait_for(lambda: revoked_after_sign_in(user.uid, user.id_token), 10, "the revocation")
    refused = functions_client.call("exportAccount", {}, user.id_token)
    assert (refused.status, refused.error_status) == (401, "UNAUTHENTICATED"), refused.body
    assert "revoked" in refused.error_message
    deleted = functions_client.call("deleteAccount", {"confirm": True}, user.id_token)
    assert deleted.error_status == "UNAUTHENTICATED"
    # Cheap calls are not checked against Auth: the token is valid until it expires.
    assert functions_client.call("listSchedules", {}, user.id_token).status == 200


def test_a_disabled_user_exports_nothing(functions_client: FunctionsClient, auth_host: str) -> None:
    from firebase_admin import auth

    from shared.clients import firebase_app

    user = sign_up(auth_host)
    assert (
        functions_client.call("bootstrapAccount", {"timezone": "UTC"}, user.id_token).status == 200
    )
    auth.update_user(user.uid, disabled=True, app=firebase_app())
    refused = functions_client.call("exportAccount", {}, user.id_token)
    assert (refused.status, refused.error_status) == (401, "UNAUTHENTICATED"), refused.body
    assert "disabled" in refused.error_message


def test_delete_needs_a_recent_sign_in(
    functions_client: FunctionsClient, auth_host: str, project_id: str, db: Any
) -> None:
    user = sign_up(auth_host)
    assert (
        functions_client.call("bootstrapAccount", {"timezone": "UTC"}, user.id_token).status == 200
    )
    # An unexpired token of a sign-in older than the limit (the token was refreshed since).
    stale = unsigned_token(
        user.uid, project_id, issued_ago=0, auth_time=_ago(RECENT_SIGN_IN_S + 60)
    )
    refused = functions_client.call("deleteAccount", {"confirm": True}, stale)
    assert (refused.status, refused.error_status) == (400, "FAILED_PRECONDITION"), refused.body
    details = refused.body["error"]["details"]
    assert details == {"reason": "requires-recent-login", "maxAuthAgeSeconds": RECENT_SIGN_IN_S}
    assert db.collection("users").document(user.uid).get().exists  # nothing deleted

    # Signed in again just now: deleted; and a retry with that token is answered the same.
    fresh = unsigned_token(user.uid, project_id, auth_time=_ago(5))
    first = functions_client.call("deleteAccount", {"confirm": True}, fresh)
    assert first.result == {"deleted": True}
    again = functions_client.call("deleteAccount", {"confirm": True}, stale)
    assert again.result == {"deleted": True}  # the account is gone: nothing left to protect


def _ago(seconds: int) -> int:
    import time

    return int(time.time()) - seconds
