"""The operator runs' choices, without a database: which collections and partitions a backfill
task copies and the pool it may hold (shared/migration/tools/backfill_run.py), which users a
reconcile compares (reconcile_run.py), and the names and settle time of a phase change
(phase_checks.py)."""

from __future__ import annotations

import pytest

from shared.migration.tools.backfill_run import parse_collections, plan_backfill
from shared.migration.tools.jobs import Task
from shared.migration.tools.phase_checks import collection_named, phase_named, settle_seconds
from shared.migration.tools.reconcile_run import ReconcileRequest, reconcile_pool


def test_collections_come_in_the_backfill_order_and_unknown_ones_are_named() -> None:
    assert parse_collections("sessions, users,,devices") == ("users", "devices", "sessions")
    with pytest.raises(ValueError, match=r"unknown collection\(s\): tokens, pushes"):
        parse_collections("users,tokens,pushes")


def test_a_single_task_copies_every_partition_with_one_connection_each_and_one_more() -> None:
    plan = plan_backfill("users,sessions", partitions=4, page_size=100, restart=True)
    assert plan.options.collections == ("users", "sessions")
    assert (plan.options.partitions, plan.options.page_size) == (4, 100)
    assert plan.options.restart
    assert plan.options.only is None
    assert plan.pool == 5


def test_a_task_of_a_job_copies_its_share_and_its_pool_is_held_to_the_budget() -> None:
    plan = plan_backfill("users", partitions=7, page_size=10, task=Task(1, 3))
    assert plan.options.only == (1, 4)
    assert plan.pool == 3
    with pytest.raises(ValueError, match="exceed the jobs' budget of 8"):
        plan_backfill("users", 7, 10, task=Task(1, 3), connection_budget=8)
    with pytest.raises(ValueError, match="unknown collection"):
        plan_backfill("pushes", 7, 10)


def test_a_reconcile_names_at_most_one_way_of_choosing_users() -> None:
    for request in (
        {"uids": ["a"], "sample": 3},
        {"uids": ["a"], "every_user": True},
        {"sample": 3, "every_user": True},
        {"every_user": True, "incremental": True},
    ):
        with pytest.raises(ValueError, match="at most one of --users, --sample, --all or"):
            ReconcileRequest(**request)  # type: ignore[arg-type]
    assert ReconcileRequest(uids=[]).uids == []
    assert reconcile_pool(ReconcileRequest(workers=8, task=Task(0, 2)), 18) == 9
    with pytest.raises(ValueError, match="exceed"):
        reconcile_pool(ReconcileRequest(workers=8, task=Task(0, 3)), 18)


def test_names_of_collections_and_phases_are_checked() -> None:
    assert collection_named("devices") == "devices"
    assert phase_named("sql_only") == "sql_only"
    with pytest.raises(ValueError, match="unknown collection 'device'; one of users, "):
        collection_named("device")
    with pytest.raises(ValueError, match="unknown phase 'sql'; one of firestore_only, "):
        phase_named("sql")


def test_the_settle_time_defaults_to_twice_the_phase_cache(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from shared.settings import get_settings

    monkeypatch.setenv("FOCUS_PHASE_CACHE_S", "12")
    get_settings.cache_clear()
    try:
        assert settle_seconds(None) == 24
        assert settle_seconds(0) == 0
        assert settle_seconds(3.5) == 3.5
    finally:
        monkeypatch.delenv("FOCUS_PHASE_CACHE_S")
        get_settings.cache_clear()
