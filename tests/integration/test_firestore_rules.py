"""firestore.rules, cell by cell: every collection x {owner, other user, anonymous} x every verb.

Server SDKs bypass rules, so these requests go through the emulator's REST API with user tokens,
exactly as a client SDK's requests would.
"""

from __future__ import annotations

from typing import Any

import pytest
import requests

from devstack.stack import Stack
from shared.accounts.deletion import uid_hash
from tests.support.auth import unsigned_token

pytestmark = pytest.mark.stack

OWNER = "owner-uid"
OTHER = "other-uid"
VERBS = ("get", "list", "create", "update", "delete")

# (collection path template, document id) -> verbs the OWNER may use; others get nothing.
OWNER_MAY: dict[str, set[str]] = {
    "users": {"get"},
    "users/{uid}/sessions": {"get", "list"},
    "users/{uid}/schedules": {"get", "list"},
    "users/{uid}/devices": set(),
    "users/{uid}/meta": set(),
    "users/{uid}/syncState": set(),
    # Below a readable document, nothing is readable unless a rule says so.
    "users/{uid}/sessions/doc-1/notes": set(),
    "accountDeletions": set(),
    "fcmTokens": set(),
}


def _doc_id(collection: str) -> str:
    if collection == "accountDeletions":
        return uid_hash(OWNER)  # markers are keyed by the uid's hash
    return OWNER if collection == "users" else "doc-1"


@pytest.fixture
def seeded(clean_stack: Stack, db: Any) -> Stack:
    for template in OWNER_MAY:
        path = template.format(uid=OWNER)
        db.collection(path).document(_doc_id(template)).set({"seed": True, "uid": OWNER})
    return clean_stack


def _request(stack: Stack, verb: str, collection: str, token: str | None) -> int:
    base = (
        f"http://127.0.0.1:{stack.ports.firestore}/v1/projects/{stack.config.project_id}"
        "/databases/(default)/documents"
    )
    path = collection.format(uid=OWNER)
    doc = f"{base}/{path}/{_doc_id(collection)}"
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    body = {"fields": {"x": {"stringValue": "y"}}}
    if verb == "get":
        response = requests.get(doc, headers=headers, timeout=10)
    elif verb == "list":
        response = requests.get(f"{base}/{path}", headers=headers, timeout=10)
    elif verb == "create":
        response = requests.post(
            f"{base}/{path}",
            params={"documentId": "new-doc"},
            json=body,
            headers=headers,
            timeout=10,
        )
    elif verb == "update":
        response = requests.patch(doc, json=body, headers=headers, timeout=10)
    else:
        response = requests.delete(doc, headers=headers, timeout=10)
    return response.status_code


CELLS = [
    (collection, who, verb)
    for collection in OWNER_MAY
    for who in ("owner", "other", "anonymous")
    for verb in VERBS
]


@pytest.mark.parametrize(("collection", "who", "verb"), CELLS)
def test_rules_matrix(seeded: Stack, collection: str, who: str, verb: str) -> None:
    project = seeded.config.project_id
    token = {
        "owner": unsigned_token(OWNER, project),
        "other": unsigned_token(OTHER, project),
        "anonymous": None,
    }[who]
    allowed = who == "owner" and verb in OWNER_MAY[collection]
    status = _request(seeded, verb, collection, token)
    if allowed:
        assert status == 200, f"{who} {verb} {collection}: expected allowed, got {status}"
    else:
        assert status in (401, 403), f"{who} {verb} {collection}: expected denied, got {status}"


# -- queries ----------------------------------------------------------------------------------
# Listeners run queries, not only gets: a query is allowed only if the rules allow every
# document it could return. Collection-group queries match no rule, so nobody may run them
# (they would span every user); a query scoped to one user's collection follows that
# collection's `list` rule.

WHO = ("owner", "other", "anonymous")


def _token(stack: Stack, who: str) -> str | None:
    project = stack.config.project_id
    return {
        "owner": unsigned_token(OWNER, project),
        "other": unsigned_token(OTHER, project),
        "anonymous": None,
    }[who]


def _run_query(stack: Stack, parent: str, query: dict[str, Any], token: str | None) -> int:
    base = (
        f"http://127.0.0.1:{stack.ports.firestore}/v1/projects/{stack.config.project_id}"
        "/databases/(default)/documents"
    )
    url = f"{base}/{parent}:runQuery" if parent else f"{base}:runQuery"
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = requests.post(url, json={"structuredQuery": query}, headers=headers, timeout=10)
    return response.status_code


@pytest.mark.parametrize("collection_id", ["sessions", "schedules", "devices", "syncState"])
@pytest.mark.parametrize("who", WHO)
def test_collection_group_queries_are_denied_to_everyone(
    seeded: Stack, collection_id: str, who: str
) -> None:
    query = {"from": [{"collectionId": collection_id, "allDescendants": True}]}
    status = _run_query(seeded, "", query, _token(seeded, who))
    assert status in (401, 403), f"{who}: collection group {collection_id} -> {status}"


@pytest.mark.parametrize("collection_id", ["sessions", "schedules", "devices", "meta"])
@pytest.mark.parametrize("who", WHO)
def test_queries_on_one_users_collection(seeded: Stack, collection_id: str, who: str) -> None:
    query = {
        "from": [{"collectionId": collection_id}],
        "where": {
            "fieldFilter": {
                "field": {"fieldPath": "uid"},
                "op": "EQUAL",
                "value": {"stringValue": OWNER},
            }
        },
    }
    status = _run_query(seeded, f"users/{OWNER}", query, _token(seeded, who))
    if who == "owner" and collection_id in ("sessions", "schedules"):
        assert status == 200, f"owner query on {collection_id} -> {status}"
    else:
        assert status in (401, 403), f"{who} query on {collection_id} -> {status}"


@pytest.mark.parametrize("who", WHO)
def test_token_ownership_cannot_be_looked_up_by_uid(seeded: Stack, who: str) -> None:
    query = {
        "from": [{"collectionId": "fcmTokens"}],
        "where": {
            "fieldFilter": {
                "field": {"fieldPath": "uid"},
                "op": "EQUAL",
                "value": {"stringValue": OWNER},
            }
        },
    }
    assert _run_query(seeded, "", query, _token(seeded, who)) in (401, 403)
