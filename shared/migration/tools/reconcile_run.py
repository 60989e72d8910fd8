"""`focusctl mirror reconcile` as a run: which users (named, a sample, every user, or the
incremental pass), this task's share and SQL pool, and the pass that compares (and repairs)
them (docs/MIGRATION.md, "Reconcile").

focusctl parses the options and prints the report; the choice of users and of pass is made
here, where tests call it directly. The comparison is `Reconciler` (reconcile.py), the passes
over every user or the changed ones are `Passes` (passes.py).
"""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from shared.migration.tools.jobs import RateLimit, Task, pool_size
from shared.migration.tools.passes import LimitedUsers, Passes, PassOptions
from shared.migration.tools.reconcile import DEFAULT_WORKERS, Reconciler, sample_uids

if TYPE_CHECKING:
    from google.cloud import firestore

    from shared.migration.tools.reconcile import ReconcileReport
    from shared.sql.store import SqlMirrorStore

Progress = Callable[[int], None]


@dataclasses.dataclass(frozen=True)
class ReconcileRequest:
    """Which users one run compares: `uids`, a `sample` of about that many, `every_user`
    (partitioned, resumable), or, with none of the three (or `incremental`, which says so), the
    incremental pass (the users whose documents changed since the last clean pass)."""

    uids: Sequence[str] | None = None
    sample: int | None = None
    every_user: bool = False
    repair: bool = False
    partitions: int = 16  # --all: uid ranges (the same every run)
    restart: bool = False  # --all: start a new pass
    workers: int = DEFAULT_WORKERS
    task: Task = dataclasses.field(default_factory=Task)
    rate: float | None = None  # Firestore documents/s of this task (None or 0: no limit)
    incremental: bool = False  # the default pass, named (the scheduled job says what it runs)

    def __post_init__(self) -> None:
        chosen = (self.uids is not None, self.sample is not None, self.every_user, self.incremental)
        if sum(chosen) > 1:
            raise ValueError("give at most one of --users, --sample, --all or --incremental")


def reconcile_pool(request: ReconcileRequest, connection_budget: int | None) -> int:
    """This task's SQL connections (one per worker and one for cursors); ValueError over the
    jobs' connection budget."""
    return pool_size(request.workers, request.task.count, connection_budget)


def run_reconcile(
    db: firestore.Client,
    store: SqlMirrorStore,
    request: ReconcileRequest,
    progress: Progress = lambda _n: None,
    *,
    on_total: Progress = lambda _n: None,
    rng: random.Random | None = None,
) -> ReconcileReport:
    """Compare (and with `repair`, mend) the users `request` names, on this task's share.
    `progress` is told of users as they are compared, `on_total` of their number when it is
    known before the run (named or sampled users)."""
    source = LimitedUsers(db, RateLimit(request.rate))
    reconciler = Reconciler(source, store, request.workers)
    uids: list[str] | None = None
    if request.uids is not None:
        uids = list(request.uids)
    elif request.sample is not None:
        chosen = rng or random.Random()  # noqa: S311 - a sample, not a secret
        uids = sample_uids(source, store, request.sample, chosen)
    if uids is not None:
        on_total(len(uids))
        return reconciler.run(uids, repair=request.repair, progress=progress)
    options = PassOptions(repair=request.repair, task=request.task, progress=progress)
    passes = Passes(db, store, reconciler)
    if request.every_user:
        return passes.full(options, request.partitions, restart=request.restart)
    return passes.incremental(options)
