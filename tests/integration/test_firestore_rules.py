"""firestore.rules, cell by cell: every collection x {owner, other user, anonymous} x every verb.

Server SDKs bypass rules, so these requests go through the emulator's REST API with user tokens,
exactly as a client SDK's requests would.
"""

from __future__ import annotations

from typing import Any

import pytest
import requests

from devstack.stack import Stack
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
    "accountDeletions": set(),
    "fcmTokens": set(),
}


def _doc_id(collection: str) -> str:
    return OWNER if collection in ("users", "accountDeletions") else "doc-1"


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
