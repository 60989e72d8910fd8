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
