"""The operator runs focusctl drives, called directly on the emulator and PostgreSQL: a backfill
followed step by step (shared/migration/tools/backfill_run.py), a reconcile of named, sampled or
all users (reconcile_run.py), and a phase change with its checks (phase_checks.py)."""

from __future__ import annotations

import random
from typing import Any

import pytest
from sqlalchemy import Engine

from shared.migration.tools.backfill import FEED_HEADS, StepReport
from shared.migration.tools.backfill_run import plan_backfill, run_backfill
from shared.migration.tools.moves import Refused
from shared.migration.tools.phase_checks import set_phase
from shared.migration.tools.reconcile_run import ReconcileRequest, run_reconcile
from shared.sql.store import SqlMirrorStore
from tests.integration.test_backfill_reconcile import UIDS, seed

pytestmark = pytest.mark.stack


class Watcher:
    """Records what a run tells its watcher, in order."""

    def __init__(self) -> None:
        self.events: list[tuple[str, str, int | None]] = []
        self.counted: dict[str, int] = {}

    def started(self, step: str) -> Any:
        self.events.append(("started", step, None))
        self.counted[step] = 0

        def progress(count: int) -> None:
            self.counted[step] += count

        return progress

    def finished(self, step: str, report: StepReport | None) -> None:
        self.events.append(("finished", step, None if report is None else report.read))


def backfilled(db: Any, stack_engine: Engine) -> SqlMirrorStore:
    seed(db, sessions_per_user=3)
    store = SqlMirrorStore(stack_engine)
    plan = plan_backfill("users,devices,sessions,schedules", partitions=2, page_size=4)
    run_backfill(db, store, plan.options, Watcher())
    return store


def test_a_backfill_run_tells_each_step_in_order_then_sets_the_feed_watermarks(
    db: Any, stack_engine: Engine
) -> None:
    seed(db, sessions_per_user=3)
    store = SqlMirrorStore(stack_engine)
    watcher = Watcher()
    plan = plan_backfill("sessions,users", partitions=3, page_size=2)

    report = run_backfill(db, store, plan.options, watcher)

    steps = ["users", FEED_HEADS, "sessions"]
    assert [s.step for s in report.steps] == steps
    assert watcher.events == [
        event
        for s in report.steps
        for event in (("started", s.step, None), ("finished", s.step, s.read))
    ]
    assert report.steps[0].read == len(UIDS)
    assert report.steps[2].read == 3 * len(UIDS)
    # What the copy reported as it went adds up to what each step read.
    assert watcher.counted["users"] == len(UIDS)
    assert watcher.counted["sessions"] == 3 * len(UIDS)
    assert report.feed_heads_finished == len(UIDS)
    # seed: user n's feed head is 3 + n, each of its sessions' syncSeq is 1..3
    assert [store.feeds.feed_watermark(uid) for uid in UIDS] == [3 + n for n in range(len(UIDS))]
    assert store.reads.list_devices(UIDS[0]) == []  # devices were not asked for


def test_a_step_that_fails_is_finished_without_a_report_and_the_run_stops(
    db: Any, stack_engine: Engine
) -> None:
    from shared.sql.writes import MirrorWriter

    class Broken(MirrorWriter):
        def bulk_upsert(self, records: Any, *, chunk_size: int = 1000) -> Any:
            raise ConnectionError("pg down")

    seed(db, sessions_per_user=1)
    store = SqlMirrorStore(stack_engine)
    store.writer = Broken(stack_engine)
    watcher = Watcher()
    plan = plan_backfill("users,sessions", partitions=1, page_size=10)

    with pytest.raises(ConnectionError, match="pg down"):
        run_backfill(db, store, plan.options, watcher)
    assert watcher.events == [("started", "users", None), ("finished", "users", None)]
    assert store.feeds.feed_watermark(UIDS[0]) == 0


def test_a_reconcile_run_compares_the_users_it_is_given_and_repairs_them(
    db: Any, stack_engine: Engine
) -> None:
    store = backfilled(db, stack_engine)
    changed = UIDS[1]
    db.collection("users").document(changed).update({"timezone": "Europe/Paris"})
    totals: list[int] = []

    named = run_reconcile(
        db, store, ReconcileRequest(uids=[changed, UIDS[2]]), on_total=totals.append
    )
    assert (named.users, totals) == (2, [2])
    assert [(d.uid, d.collection) for d in named.drifts] == [(changed, "users")]

    everyone = run_reconcile(db, store, ReconcileRequest(every_user=True, partitions=3))
    assert everyone.users == len(UIDS)
    assert [(d.uid, d.collection) for d in everyone.drifts] == [(changed, "users")]

    sampled = run_reconcile(
        db,
        store,
        ReconcileRequest(sample=len(UIDS), repair=True),
        on_total=totals.append,
        rng=random.Random(7),
    )
    assert totals[1] == sampled.users > 0
    assert not sampled.remaining

    repaired = run_reconcile(db, store, ReconcileRequest(uids=[changed], repair=True))
    assert repaired.clean
    assert store.reads.get_user(changed)["timezone"] == "Europe/Paris"  # type: ignore[index]


def test_a_phase_change_is_checked_and_asks_sql_only_for_devices_going_to_sql_only(
    db: Any, phases_restored: None
) -> None:
    def no_sql() -> SqlMirrorStore:
        raise AssertionError("no database is needed for this change")

    class TakenOver:
        """The devices' take-over flag is global in the shared database, which other test files
        set and clear: here the answer is given, each way."""

        def __init__(self, answer: bool) -> None:
            outer = self

            class Ownership:
                def devices_taken_over(self) -> bool:
                    outer.asked += 1
                    return answer

            self.asked = 0
            self.ownership = Ownership()

    setting = set_phase(db, no_sql, "devices", "sql_primary", 100)
    assert (setting.phase, setting.percent) == ("sql_primary", 100)
    assert set_phase(db, no_sql, "users", "dual_write", 40).percent == 40
    with pytest.raises(ValueError, match="unknown phase 'sql'"):
        set_phase(db, no_sql, "users", "sql", 100)

    not_yet = TakenOver(False)
    with pytest.raises(Refused, match="take-over-devices"):
        set_phase(db, lambda: not_yet, "devices", "sql_only", 100, settle_s=0)
    assert not_yet.asked == 1

    done = TakenOver(True)
    setting = set_phase(db, lambda: done, "devices", "sql_only", 100, settle_s=0)
    assert (setting.phase, done.asked) == ("sql_only", 1)
