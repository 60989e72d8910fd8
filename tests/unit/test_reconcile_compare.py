"""The pure comparison of reconcile: every kind of drift, and no drift."""

from __future__ import annotations

from shared.migration.tools.reconcile import Entry, compare


def test_identical_users_have_no_drift() -> None:
    same = {"sessions": {"a": Entry(5, "h")}, "users": {"u": Entry(1, "x")}}
    assert compare("u", same, same) == []  # type: ignore[arg-type]


def test_every_kind_of_drift_is_named() -> None:
    firestore = {
        "sessions": {
            "missing": Entry(5, "h"),
            "stale": Entry(9, "h2"),
            "ahead": Entry(3, "h"),
            "content": Entry(4, "h"),
            "invalid": None,
        }
    }
    sql = {
        "sessions": {
            "stale": Entry(8, "h1"),
            "ahead": Entry(6, "h"),
            "content": Entry(4, "other"),
            "extra": Entry(2, "h"),
        }
    }
    kinds = {(d.id, d.kind) for d in compare("u", firestore, sql)}  # type: ignore[arg-type]
    assert kinds == {
        ("missing", "missing"),
        ("stale", "stale"),
        ("ahead", "ahead"),
        ("content", "content"),
        ("invalid", "invalid"),
        ("extra", "extra"),
    }


def test_a_device_behind_only_by_push_bookkeeping_is_not_drift() -> None:
    # deliverPush writes its log into the device document (a newer update_time, same API fields).
    firestore = {"devices": {"phone": Entry(9, "h"), "tablet": Entry(9, "new")}}
    sql = {"devices": {"phone": Entry(5, "h"), "tablet": Entry(5, "old")}}
    kinds = {(d.id, d.kind) for d in compare("u", firestore, sql)}  # type: ignore[arg-type]
    assert kinds == {("tablet", "stale")}


def test_fields_of_reads_a_snapshot_s_fields_without_copying_them() -> None:
    """`fields_of` reads the client's private `DocumentSnapshot._data`: google-cloud-firestore
    (2.34) has no public read-only access (`to_dict()` and `get()` deep-copy what the client
    already copied once). If an upgrade drops or renames `_data`, `fields_of` would fall back
    to `to_dict()` and the full pass would silently slow down: this test fails instead."""
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import firestore

    from shared.migration.tools.reconcile import fields_of

    client = firestore.Client(project="demo-unit", credentials=AnonymousCredentials())  # type: ignore[no-untyped-call]
    data = {"timezone": "UTC", "blockedApps": ["a"], "nested": {"k": 1}}
    snap = firestore.DocumentSnapshot(client.document("users/u1"), data, True, None, None, None)

    fields = fields_of(snap)

    assert fields == data == snap.to_dict()
    held = vars(snap).get("_data")
    assert held is not None, (
        "google-cloud-firestore no longer keeps a snapshot's fields in `_data`: find where it "
        "keeps them now and update reconcile.fields_of (else every document is deep-copied)"
    )
    assert fields is held, "fields_of copied the fields instead of reading them in place"
