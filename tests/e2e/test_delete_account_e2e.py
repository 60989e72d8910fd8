"""deleteAccount over HTTP with Auth emulator users: every store searched for the uid afterwards,
old tokens write nothing, a retry is answered, and the same uid can start afresh."""

from __future__ import annotations

import base64
import json
import time
from datetime import timedelta
from typing import Any

import pytest
import requests

from devstack.stack import Stack
from shared.accounts.deletion import ACCOUNT_DELETIONS, uid_hash
from shared.clock import format_timestamp, utcnow
from shared.privacy.erasure import race_window
from tests.integration.test_delete_account import (
    postgres_traces,
    traces_of,
)
from tests.support.auth import User, sign_up, signed_in_after
from tests.support.callables import FunctionsClient
from tests.support.waiting import wait_for

pytestmark = pytest.mark.stack


def seed(functions_client: FunctionsClient, user: User) -> None:
    """An account with everything the apps can create, through the real functions (so the
    mirror, push plans and Cloud Tasks all hold their part of it)."""
    token = user.id_token
    assert functions_client.call("bootstrapAccount", {"timezone": "UTC"}, token).status == 200
    for i in range(2):
        data = {"deviceId": f"dev-{i}", "platform": "ios", "fcmToken": f"fcm-{user.uid}-{i}"}
        assert functions_client.call("registerDevice", data, token).status == 200
    now = utcnow()
    mutations = [
        {
            "mutationId": f"m{i}",
            "op": "upsert",
            "session": {
                "id": f"s{i}",
                "startedAt": format_timestamp(now - timedelta(hours=i + 1)),
                "endedAt": format_timestamp(now - timedelta(hours=i)),
                "status": "completed",
                "label": f"focus of {user.uid}",
                "blockedApps": ["com.example.feed"],
                "updatedAt": format_timestamp(now),
                "deviceId": "dev-0",
            },
        }
        for i in range(40)
    ]
    mutations.append(
        {"mutationId": "gone", "op": "delete", "id": "s0", "updatedAt": format_timestamp(now)}
    )
    sync = {"deviceId": "dev-0", "cursor": None, "mutations": mutations}
    synced = functions_client.call("syncFocusSessions", sync, token)
    assert synced.status == 200, synced.body
    schedule = {
        "id": "mornings",
        "name": f"Deep work of {user.uid}",
        "timezone": "Europe/Paris",
        "days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
        "start": "09:00",
        "end": "11:00",
        "blockedApps": ["com.example.feed"],
        "enabled": True,
        "updatedAt": format_timestamp(now),
    }
    upserted = functions_client.call("upsertSchedule", {"schedule": schedule}, token)
    assert upserted.status == 200, upserted.body


def custom_token_sign_in(auth_host: str, uid: str) -> str:
    """An ID token for `uid` the way custom-auth apps get one (the uid is chosen by the app)."""
    from firebase_admin import auth

    from shared.clients import firebase_app

    custom = auth.create_custom_token(uid, app=firebase_app()).decode()
    url = (
        f"http://{auth_host}/identitytoolkit.googleapis.com/v1/"
        "accounts:signInWithCustomToken?key=fake-api-key"
    )
    response = requests.post(url, json={"token": custom, "returnSecureToken": True}, timeout=10)
    response.raise_for_status()
    return str(response.json()["idToken"])


def push_envelope(data: bytes) -> dict[str, Any]:
    return {
        "message": {
            "data": base64.b64encode(data).decode(),
            "attributes": {},
            "messageId": "1",
            "publishTime": "2026-03-02T08:00:00Z",
        },
        "subscription": "projects/demo-focus/subscriptions/account-deletion-sweep--x",
    }


def test_delete_account_end_to_end(
    stack: Stack, functions_client: FunctionsClient, auth_host: str, db: Any
) -> None:
    user, bystander = sign_up(auth_host), sign_up(auth_host)
    seed(functions_client, user)
    seed(functions_client, bystander)
    old = user.id_token
    # Everything the search must not find afterwards is there to be found now.
    wait_for(lambda: len(postgres_traces(stack.postgres_dsn, user.uid)) >= 4, 60, "the mirror")
    before = traces_of(stack, db, user.uid)
    assert "auth" in before and f"users/{user.uid}" in before
    assert any(t.startswith("tasks:") for t in before)  # pushes of the schedule are queued
    assert any(t.startswith("postgres:") for t in before)

    for data in ({}, {"confirm": False}, {"confirm": "yes"}):
        refused = functions_client.call("deleteAccount", data, old)
        assert (refused.status, refused.error_status) == (400, "INVALID_ARGUMENT")
    assert db.collection("users").document(user.uid).get().exists

    deleted = functions_client.call("deleteAccount", {"confirm": True}, old)
    assert deleted.status == 200, deleted.body
    assert deleted.result == {"deleted": True}
    marker_path = f"{ACCOUNT_DELETIONS}/{uid_hash(user.uid)}"
    # PostgreSQL is erased by the AccountErased event the mirror consumer applies.
    wait_for(lambda: not postgres_traces(stack.postgres_dsn, user.uid), 60, "the SQL erasure")
    # Pending pushes are cancelled: the search covers the Cloud Tasks queues too.
    assert traces_of(stack, db, user.uid) == [marker_path]

    # The old token is still unexpired: writing calls are refused and write nothing.
    calls = [
        ("bootstrapAccount", {"timezone": "UTC"}),
        ("registerDevice", {"deviceId": "dev-9", "platform": "ios", "fcmToken": "fcm-late"}),
        ("unregisterDevice", {"deviceId": "dev-0"}),
        ("exportAccount", {}),
    ]
    for name, data in calls:
        stale = functions_client.call(name, data, old)
        assert (stale.status, stale.error_status) == (401, "UNAUTHENTICATED"), name
    assert traces_of(stack, db, user.uid) == [marker_path]

    # A retry (the answer was lost) is answered as the first call was.
    again = functions_client.call("deleteAccount", {"confirm": True}, old)
    assert again.result == {"deleted": True}

    # The scheduled sweep, once the race window has passed: nothing left anywhere.
    from shared import container

    report = container.account_eraser().sweep(utcnow() + race_window() + timedelta(seconds=1))
    assert report.rechecked == 1 and report.failed == 0
    assert traces_of(stack, db, user.uid) == []

    # The other account is untouched.
    export = functions_client.call("exportAccount", {}, bystander.id_token).result
    assert export["user"]["uid"] == bystander.uid
    assert len(export["devices"]) == 2 and len(export["sessions"]) == 39
    assert [s["id"] for s in export["schedules"]] == ["mornings"]


def test_the_same_uid_can_come_back_with_a_fresh_profile(
    functions_client: FunctionsClient, auth_host: str, db: Any
) -> None:
    from firebase_admin import auth

    from shared.clients import firebase_app

    uid = "custom-uid-" + str(time.time_ns())
    auth.create_user(uid=uid, app=firebase_app())
    token = custom_token_sign_in(auth_host, uid)
    first = functions_client.call("bootstrapAccount", {"timezone": "Asia/Tokyo"}, token)
    assert first.result["created"] is True
    assert functions_client.call("deleteAccount", {"confirm": True}, token).result == {
        "deleted": True
    }
    requested = db.collection(ACCOUNT_DELETIONS).document(uid_hash(uid)).get().to_dict()

    auth.create_user(uid=uid, app=firebase_app())
    # auth_time has a resolution of one second: sign in until it is strictly after the deletion.
    fresh = wait_for(
        lambda: signed_in_after(custom_token_sign_in(auth_host, uid), requested["requestedAt"]),
        30,
        "a sign-in after the deletion",
    )
    again = functions_client.call("bootstrapAccount", {"timezone": "Europe/Paris"}, fresh)
    assert again.status == 200, again.body
    assert again.result["created"] is True
    assert again.result["user"]["timezone"] == "Europe/Paris"
    assert functions_client.call("exportAccount", {}, fresh).result["devices"] == []
    # The old token stays refused; the new one writes.
    stale = functions_client.call("bootstrapAccount", {"timezone": "UTC"}, token)
    assert stale.error_status == "UNAUTHENTICATED"
    device = {"deviceId": "d", "platform": "android", "fcmToken": "fcm-new"}
    assert functions_client.call("registerDevice", device, fresh).status == 200


def test_the_sweep_endpoint_speaks_pubsub_push(stack: Stack) -> None:
    url = stack.push_endpoint("sweepAccountDeletions")
    tick = requests.post(url, json=push_envelope(b"{}"), timeout=60)
    assert tick.status_code == 204
    for malformed in ({"nope": 1}, {"message": {"data": "%%%"}}):
        bad = requests.post(url, json=malformed, timeout=60)
        assert bad.status_code == 400
    assert requests.post(url, data=b"not json", timeout=60).status_code == 400
    json.dumps(push_envelope(b""))  # the envelope helper itself is plain JSON
