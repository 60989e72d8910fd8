"""`focusctl mirror backfill` as a run: which collections, this task's share of the partitions
and its SQL pool, the steps in order, then the sessions' feed heads (docs/MIGRATION.md).

focusctl parses the options and prints; what is refused and the order of the steps is decided
here, where tests call it directly. The copy itself is `Backfill` (backfill.py).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

from shared.changes import COLLECTIONS, Collection
from shared.migration.tools.backfill import (
    Backfill,
    BackfillOptions,
    BackfillReport,
    StepReport,
    steps_for,
)
from shared.migration.tools.jobs import RateLimit, Task, pool_size, task_share

if TYPE_CHECKING:
    from google.cloud import firestore

    from shared.sql.store import SqlMirrorStore

Progress = Callable[[int], None]


def parse_collections(text: str) -> tuple[Collection, ...]:
    """The collections named in `text` (comma-separated), in the backfill's order; ValueError
    naming the unknown ones."""
    wanted = [c.strip() for c in text.split(",") if c.strip()]
    unknown = [c for c in wanted if c not in COLLECTIONS]
    if unknown:
        raise ValueError(f"unknown collection(s): {', '.join(unknown)}")
    return tuple(c for c in COLLECTIONS if c in wanted)


@dataclasses.dataclass(frozen=True)
class BackfillPlan:
    """What this task copies and the SQL connections it may hold."""

    options: BackfillOptions
    pool: int


def plan_backfill(
    collections: str,
    partitions: int,
    page_size: int,
    *,
    restart: bool = False,
    task: Task | None = None,
    rate: float | None = None,
    connection_budget: int | None = None,
) -> BackfillPlan:
    """This task's backfill: its partitions (i % count == index, all of them for a single
    task), one SQL connection per partition it copies and one for its cursors. ValueError for
    an unknown collection, a task that does not exist or a pool over the connection budget."""
    task = task or Task()
    chosen = parse_collections(collections)
    threads = len(range(task.index, partitions, task.count))
    pool = pool_size(threads, task.count, connection_budget)
    only = tuple(task_share(partitions, task)) if task.count > 1 else None
    options = BackfillOptions(
        chosen, partitions, page_size, restart, only=only, rate=RateLimit(rate)
    )
    return BackfillPlan(options, pool)


class StepWatcher(Protocol):
    """Who follows a run (focusctl's progress bars and lines)."""

    def started(self, step: str) -> Progress:
        """A step begins; the callback is given the documents read as they are read."""
        ...

    def finished(self, step: str, report: StepReport | None) -> None:
        """A step ended (`report` None: it raised, and the run stops with that error)."""
        ...


def run_backfill(
    db: firestore.Client, store: SqlMirrorStore, options: BackfillOptions, watcher: StepWatcher
) -> BackfillReport:
    """Every step of `options.collections` in order (as `Backfill.run`, followed step by step),
    then, when sessions were copied, the feed watermarks of this task's users: only after every
    session of them is in SQL."""
    progress: dict[str, Progress] = {}
    job = Backfill(db, store, options, lambda step, count: progress[step](count))
    report = BackfillReport([])
    for step in steps_for(options.collections):
        progress[step] = watcher.started(step)
        done: StepReport | None = None
        try:
            done = job.run_step(step)
        finally:
            watcher.finished(step, done)
        report.steps.append(done)
    if "sessions" in options.collections and options.copy:
        report.feed_heads_finished = job.finish_feed_heads()
    return report
