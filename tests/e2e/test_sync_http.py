"""syncFocusSessions over HTTP with Auth emulator users, as the apps call it; and the daily
tombstone purge reached through its Pub/Sub push subscription."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests

from tests.support.auth import User, sign_up
from tests.support.callables import CallResult, FunctionsClient
from tests.support.waiting import wait_for

pytestmark = pytest.mark.stack

T0 = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)


def stamp(minutes: int) -> str:
    return (T0 + timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def session(sid: str, minute: int, device: str, **extra: Any) -> dict[str, Any]:
    return {
        "id": sid,
        "startedAt": stamp(-60),
        "plannedEndAt": stamp(-10),
        "endedAt": None,
        "status": "running",
        "label": None,
        "blockedApps": ["com.example.social"],
        "scheduleId": None,
        "updatedAt": stamp(minute),
        "deviceId": device,
        **extra,
    }


class App:
    """One installed app: a device of a signed-in user with its local copy of the sessions."""

    def __init__(self, functions: FunctionsClient, user: User, device: str) -> None:
        self.functions, self.user, self.device = functions, user, device
        self.cursor: str | None = None
        self.sessions: dict[str, dict[str, Any]] = {}
        self.outbox: list[dict[str, Any]] = []
        self.count = 0

    def edit(self, data: dict[str, Any]) -> None:
        self.count += 1
        self.outbox.append(
            {"mutationId": f"{self.device}-{self.count}", "op": "upsert", "session": data}
        )
        self.sessions[data["id"]] = data

    def delete(self, sid: str, minute: int) -> None:
        self.count += 1
        mutation = {"mutationId": f"{self.device}-{self.count}", "op": "delete", "id": sid}
        self.outbox.append({**mutation, "updatedAt": stamp(minute)})
        self.sessions.pop(sid, None)

    def call(self, data: dict[str, Any]) -> CallResult:
        return self.functions.call("syncFocusSessions", data, self.user.id_token)

    def sync(self, limit: int = 200) -> dict[str, Any]:
        """Sync until hasMore is false, as the apps do."""
        last: dict[str, Any] = {}
        for _ in range(50):
            data = {"deviceId": self.device, "cursor": self.cursor, "mutations": self.outbox}
            result = self.call({**data, "limit": limit})
            assert result.status == 200, result.body
            last = result.result
            self.outbox = []
            for change in last["changes"]:
                if change.get("deleted"):
                    self.sessions.pop(change["id"], None)
                else:
                    self.sessions[change["id"]] = change
            self.cursor = last["cursor"]
            if not last["hasMore"]:
                return last
        raise AssertionError("hasMore never became false")


@pytest.fixture
def alice(clean_stack: Any, auth_host: str) -> User:
    return sign_up(auth_host)


@pytest.fixture
def bob(clean_stack: Any, auth_host: str) -> User:
    return sign_up(auth_host)


def sessions_in_firestore(db: Any, uid: str) -> dict[str, dict[str, Any]]:
    docs = db.collection("users").document(uid).collection("sessions").stream()
    return {doc.id: doc.to_dict() for doc in docs}


def test_two_devices_of_one_user_converge(functions_client: FunctionsClient, alice: User) -> None:
    phone, tablet = App(functions_client, alice, "phone"), App(functions_client, alice, "tablet")
    phone.edit(session("morning", 0, "phone"))
    phone.edit(session("lunch", 1, "phone"))
    phone.sync()
    tablet.sync(limit=1)  # pages of one
    assert tablet.sessions == phone.sessions

    # Offline on both: the tablet ends one session, the phone relabels it earlier and deletes
    # the other; the tablet's edit is later, so it wins.
    ended = session("morning", 5, "tablet", status="completed", endedAt=stamp(4))
    tablet.edit(ended)
    phone.edit(session("morning", 3, "phone", label="relabelled"))
    phone.delete("lunch", 3)
    phone.edit(session("evening", 3, "phone"))
    first = phone.sync()
    assert len(first["applied"]) == 3
    tablet.sync()
    phone.sync()
    assert phone.sessions == tablet.sessions
    assert phone.sessions["morning"] == ended
    assert set(phone.sessions) == {"morning", "evening"}


def test_another_user_sees_nothing_and_guessing_ids_writes_only_their_own(
    functions_client: FunctionsClient, alice: User, auth_host: str, db: Any
) -> None:
    owner = App(functions_client, alice, "phone")
    owner.edit(session("s1", 0, "phone", label="alice's"))
    owner.sync()

    mallory = App(functions_client, sign_up(auth_host), "laptop")
    mallory.sync()
    assert mallory.sessions == {}
    # The same ids under another user are that user's own sessions, even with a later version.
    mallory.edit(session("s1", 30, "laptop", label="mallory's"))
    mallory.delete("s2", 30)
    mallory.sync()
    assert set(mallory.sessions) == {"s1"}

    owner.sync()
    assert owner.sessions["s1"]["label"] == "alice's"
    assert sessions_in_firestore(db, alice.uid)["s1"]["label"] == "alice's"
    assert set(sessions_in_firestore(db, mallory.user.uid)) == {"s1", "s2"}


def test_malformed_requests_write_nothing(
    functions_client: FunctionsClient, alice: User, db: Any
) -> None:
    app = App(functions_client, alice, "phone")
    good = {"mutationId": "ok", "op": "upsert", "session": session("s1", 0, "phone")}
    bad = {"mutationId": "bad", "op": "upsert", "session": session("not valid!", 0, "phone")}
    cases: list[tuple[dict[str, Any], str]] = [
        (
            {"deviceId": "phone", "cursor": None, "mutations": [good, bad]},
            "data.mutations[1].session.id",
        ),
        ({"deviceId": "phone", "cursor": None, "mutations": [good], "limit": 0}, "data.limit"),
        ({"deviceId": "phone", "cursor": "garbage!", "mutations": [good]}, "data.cursor"),
        ({"deviceId": "phone", "mutations": [good], "extra": True}, "data.extra"),
        ({"cursor": None, "mutations": [good]}, "data.deviceId"),
    ]
    for data, field in cases:
        result = app.call(data)
        assert (result.status, result.error_status) == (400, "INVALID_ARGUMENT"), result.body
        assert result.error_message.startswith(field), result.error_message
    assert sessions_in_firestore(db, alice.uid) == {}
    assert list(db.collection("users").document(alice.uid).collections()) == []


def test_incoherent_mutations_are_rejected_one_by_one(
    functions_client: FunctionsClient, alice: User
) -> None:
    app = App(functions_client, alice, "phone")
    app.edit(session("ok", 0, "phone"))
    app.edit(session("done", 0, "phone", status="completed"))  # no endedAt
    app.edit(session("soon", 0, "phone", plannedEndAt=stamp(-60)))  # not after startedAt
    answer = app.sync()
    assert answer["applied"] == ["phone-1"]
    assert [(r["mutationId"], r["code"]) for r in answer["rejected"]] == [
        ("phone-2", "invalid-argument"),
        ("phone-3", "invalid-argument"),
    ]
    other = App(functions_client, alice, "tablet")
    other.sync()
    assert set(other.sessions) == {"ok"}


def test_without_a_token_is_unauthenticated(functions_client: FunctionsClient) -> None:
    result = functions_client.call("syncFocusSessions", {"deviceId": "d", "mutations": []})
    assert (result.status, result.error_status) == (401, "UNAUTHENTICATED")


def test_the_purge_job_runs_from_its_topic(clean_stack: Any, db: Any) -> None:
    from google.cloud import pubsub_v1

    from shared import registry

    sessions = db.collection("users").document("someone").collection("sessions")
    expired = datetime.now(UTC) - timedelta(minutes=1)
    tombstone = {"id": "old", "updatedAt": T0, "deviceId": "d", "deleted": True, "syncSeq": 1}
    sessions.document("old").set({**tombstone, "serverUpdatedAt": T0, "purgeAt": expired})
    later = {**tombstone, "id": "new", "purgeAt": datetime.now(UTC) + timedelta(days=31)}
    sessions.document("new").set({**later, "serverUpdatedAt": T0})

    url = clean_stack.push_endpoint("purgeTombstones")
    malformed = requests.post(url, json={"nope": 1}, timeout=30)
    assert malformed.status_code == 400
    assert sessions.document("old").get().exists

    publisher = pubsub_v1.PublisherClient()
    topic = publisher.topic_path(clean_stack.config.project_id, registry.PURGE_TOMBSTONES_TOPIC)
    publisher.publish(topic, b"{}").result(timeout=30)
    # The run that purged the expired tombstone also looked at the other one and kept it.
    wait_for(lambda: not sessions.document("old").get().exists, 30, "the purge")
    assert sessions.document("new").get().exists

    envelope = {"message": {"data": base64.b64encode(json.dumps({}).encode()).decode()}}
    direct = requests.post(url, json=envelope, timeout=30)
    assert direct.status_code == 204


def test_old_tokens_of_a_deleted_account_neither_push_nor_pull(
    functions_client: FunctionsClient, alice: User, bob: User, db: Any
) -> None:
    """The deletion's first step as deleteAccount takes it: the marker, then its time on the
    feed head, which the sync reads anyway. Then UNAUTHENTICATED for a push, a pull and a
    malformed request alike, and nothing written; for a user with no feed head (bob never
    synced), the marker alone refuses them."""
    from shared.accounts.deletion import ACCOUNT_DELETIONS, uid_hash
    from shared.sessions.repository import flag_account_deleted

    app = App(functions_client, alice, "phone")
    app.edit(session("s1", 1, "phone"))
    app.sync()
    requested_at = datetime.now(UTC) + timedelta(seconds=1)
    for user in (alice, bob):
        marker = db.collection(ACCOUNT_DELETIONS).document(uid_hash(user.uid))
        marker.set({"requestedAt": requested_at})
    assert flag_account_deleted(db, alice.uid, requested_at)
    assert not flag_account_deleted(db, bob.uid, requested_at)
    push = {"deviceId": "phone", "mutations": [up("m9", session("s9", 9, "phone"))]}
    pull = {"deviceId": "phone", "cursor": app.cursor, "mutations": []}
    malformed = {"deviceId": "phone", "mutations": "not a list"}
    for user in (alice, bob):
        for data in (push, pull, malformed):
            stale = functions_client.call("syncFocusSessions", data, user.id_token)
            assert (stale.status, stale.error_status) == (401, "UNAUTHENTICATED"), data
    assert [d["id"] for d in sessions_in_firestore(db, alice.uid).values()] == ["s1"]
    assert sessions_in_firestore(db, bob.uid) == {}


def up(mid: str, data: dict[str, Any]) -> dict[str, Any]:
    return {"mutationId": mid, "op": "upsert", "session": data}
