"""The profile store on the Firestore emulator: stored shape, operation counts, change records."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from shared.accounts.models import BootstrapAccountRequest
from shared.accounts.repository import FirestoreAccountStore
from shared.accounts.service import bootstrap_account
from shared.changes import CollectingSink
from shared.metering import metered
from shared.wire import parse

pytestmark = pytest.mark.stack

NOW = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)


def req(**data: object) -> BootstrapAccountRequest:
    return parse(BootstrapAccountRequest, data)


def test_creates_then_updates_with_counted_operations(db: Any) -> None:
    sink = CollectingSink()
    store = FirestoreAccountStore(db, sink)

    with metered() as first:
        created = bootstrap_account(store, "alice", req(timezone="Europe/Paris"), NOW)
    assert created.created
    # The profile and the user's change marker (the incremental reconcile's, shared/changes.py).
    assert first.as_dict() == {"reads": 1, "writes": 2, "deletes": 0}

    with metered() as again:
        same = bootstrap_account(store, "alice", req(timezone="Europe/Paris"), NOW)
    assert not same.created
    assert again.as_dict() == {"reads": 1, "writes": 0, "deletes": 0}

    with metered() as moved:
        bootstrap_account(store, "alice", req(timezone="Asia/Tokyo", locale="ja"), NOW)
    assert moved.as_dict() == {"reads": 1, "writes": 2, "deletes": 0}

    stored = db.collection("users").document("alice").get().to_dict()
    assert stored["timezone"] == "Asia/Tokyo"
    assert stored["locale"] == "ja"
    assert stored["createdAt"] == NOW

    # One change record per call, carrying the full state: a call that writes nothing (maybe
    # the retry of one that died before its publish) republishes the stored version as it is.
    created_record, republished, moved_record = sink.records
    assert [r.op for r in sink.records] == ["upsert", "upsert", "upsert"]
    assert republished == created_record
    assert created_record.version < moved_record.version
    assert moved_record.data == {
        "uid": "alice",
        "timezone": "Asia/Tokyo",
        "locale": "ja",
        "createdAt": "2026-11-22T09:00:00.000Z",
    }


def test_concurrent_first_calls_create_one_profile(db: Any) -> None:
    from concurrent.futures import ThreadPoolExecutor

    store = FirestoreAccountStore(db, CollectingSink())
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(
            pool.map(lambda _: bootstrap_account(store, "bob", req(timezone="UTC"), NOW), range(4))
        )
    assert sum(r.created for r in results) == 1
    assert {r.user.created_at for r in results} == {NOW}
