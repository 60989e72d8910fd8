"""Reconcile passes at scale: incremental (what changed since the last clean pass) and full
(every user, partitioned, resumable). The sample pass is `reconcile.sample_uids`.

**Incremental.** Every commit of a user's sessions rewrites the user's feed head
(`users/{uid}/syncState/sessions`) with `updatedAt` (the commit time) and `shard`
(`shared.changes.change_shard`, a hash of the uid into CHANGE_SHARDS); every other mirrored
write (profile, devices, schedules, the tombstone purge, a give-back) rewrites the user's change
marker (`users/{uid}/syncState/changes`, the same two fields) in its commit. One query per shard,
`shard == s ORDER BY updatedAt, __name__` on the `syncState` collection group with a
(shard, updatedAt) index, pages through the heads and markers written since the shard's
watermark; each such user is compared in full by `Reconciler.check`. The watermark
(`updatedAt` and path of the last document checked) is saved in `mirror_state` after every page
whose users are clean (after repair, with `--repair`); the first page with drift left freezes
the shard's watermark for this pass, so the next pass sees those users again until they are
repaired. The shards are the partitions: a task takes `shard % tasks == index`.

Firestore reads per pass: one per changed head or marker, plus each changed user's documents.
Nothing else is read, so a quiet day costs nothing; a watermark that is never ahead of a commit
comes from Firestore's own commit times (a query at read time T sees every commit up to T).

**Full.** The uid space is cut into the backfill's fixed ranges (`firestore_source.uid_ranges`);
each range lists its users from the `users` collection, the `syncState` group (users with
sessions but no profile) and SQL (rows of users gone from Firestore), in uid order, and
compares them a page at a time (page_check.py: a few queries per page, not per user; the
profiles and `syncState` documents read to list a page are the page's, not read again). A task's
ranges run side by side, up to the reconciler's workers. The last uid checked is saved per range
(`reconcile/all/<partitions>/<index>`), so a pass that died resumes there; `restart` begins a
new pass.
"""

from __future__ import annotations

import contextvars
import dataclasses
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from shared.changes import CHANGE_SHARDS
from shared.migration.tools.firestore_source import (
    SYNC_STATE,
    USERS,
    KeyRange,
    micros,
    pages,
    range_query,
    uid_ranges,
)
from shared.migration.tools.jobs import RateLimit, Task, task_share
from shared.migration.tools.page_check import Listed, PageOptions, check_page
from shared.migration.tools.reconcile import (
    FirestoreUsers,
    Reconciler,
    ReconcileReport,
    UserDocuments,
    UserResult,
)

if TYPE_CHECKING:
    from google.cloud import firestore

    from shared.sql.store import SqlMirrorStore

DEFAULT_PAGE_SIZE = 200
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
Progress = Callable[[int], None]


class LimitedUsers(FirestoreUsers):
    """`FirestoreUsers` whose reads wait for a task's rate limit (documents per second)."""

    def __init__(self, db: firestore.Client, rate: RateLimit) -> None:
        super().__init__(db)
        self._rate = rate

    @property
    def rate(self) -> RateLimit:
        return self._rate

    def read(self, uid: str) -> UserDocuments:
        documents = super().read(uid)
        # The feed head and profile, plus every subcollection document: what was read.
        self._rate.take(2 + sum(len(found) for found in documents.records.values()))
        return documents


def incremental_key(shard: int) -> str:
    return f"reconcile/incremental/{CHANGE_SHARDS}/{shard}"


def full_key(partitions: int, index: int) -> str:
    return f"reconcile/all/{partitions}/{index}"


@dataclasses.dataclass(frozen=True)
class Watermark:
    """A position in one shard's (updatedAt, path) order; `at` in microseconds."""

    at: int = 0
    path: str | None = None


def changed_heads(
    db: firestore.Client, shard: int, after: Watermark, page_size: int
) -> Iterator[list[tuple[str, Watermark]]]:
    """Pages of (uid, position) of the feed heads of `shard` written after `after`."""
    from google.cloud.firestore import FieldFilter
    from google.cloud.firestore_v1.field_path import FieldPath

    from shared.metering import count_query_reads

    query = (
        db.collection_group(SYNC_STATE)
        .where(filter=FieldFilter("shard", "==", shard))
        .order_by("updatedAt")
        .order_by(FieldPath.document_id())
    )
    position = after
    while True:
        page = query
        if position.path is not None:
            page = page.start_after(
                {
                    "updatedAt": _EPOCH + timedelta(microseconds=position.at),
                    "__name__": db.document(position.path),
                }
            )
        snaps = list(page.limit(page_size).stream())
        count_query_reads(len(snaps))
        found = []
        for snap in snaps:
            stamp = (snap.to_dict() or {}).get("updatedAt")
            path = snap.reference.path
            position = Watermark(micros(stamp) if stamp is not None else 0, path)
            found.append((path.split("/")[1], position))
        if found:
            yield found
        if len(snaps) < page_size:
            return


@dataclasses.dataclass
class PassOptions:
    repair: bool = False
    page_size: int = DEFAULT_PAGE_SIZE
    task: Task = dataclasses.field(default_factory=Task)
    progress: Progress = lambda _n: None


class Passes:
    """The incremental and full passes of one task, on top of a `Reconciler`."""

    def __init__(self, db: firestore.Client, store: SqlMirrorStore, reconciler: Reconciler) -> None:
        self._db = db
        self._store = store
        self._reconciler = reconciler

    def _check(self, uids: list[str], options: PassOptions) -> list[UserResult]:
        report = self._reconciler.run(uids, repair=options.repair, progress=options.progress)
        return report.results

    def incremental(self, options: PassOptions) -> ReconcileReport:
        started = time.perf_counter()
        results: list[UserResult] = []
        for shard in task_share(CHANGE_SHARDS, options.task):
            results += self._incremental_shard(shard, options)
        return ReconcileReport(len(results), results, time.perf_counter() - started)

    def _incremental_shard(self, shard: int, options: PassOptions) -> list[UserResult]:
        key = incremental_key(shard)
        saved = self._store.state.get(key) or {}
        start = Watermark(int(saved.get("at", 0)), saved.get("path"))
        results: list[UserResult] = []
        frozen = False
        for page in changed_heads(self._db, shard, start, options.page_size):
            checked = self._check(list(dict.fromkeys(uid for uid, _ in page)), options)
            results += checked
            frozen = frozen or not ReconcileReport(len(checked), checked, 0).clean
            if not frozen:
                last = page[-1][1]
                self._store.state.put(key, {"at": last.at, "path": last.path})
        return results

    def full(
        self, options: PassOptions, partitions: int, *, restart: bool = False
    ) -> ReconcileReport:
        """The task's ranges side by side, up to the reconciler's workers at a time (each
        range one thread and one SQL connection at a time), each in pages of users."""
        started = time.perf_counter()
        ranges = uid_ranges(partitions)
        share = task_share(partitions, options.task)

        def one(index: int) -> list[UserResult]:
            return self._full_range(ranges[index], partitions, options, restart)

        workers = max(1, min(self._reconciler.workers, len(share)))
        with ThreadPoolExecutor(workers) as pool:
            # Each range in a copy of this context: `metering.metered()` around the pass counts
            # the threads' Firestore reads too.
            futures = [pool.submit(contextvars.copy_context().run, one, i) for i in share]
            results = [r for future in futures for r in future.result()]
        return ReconcileReport(len(results), results, time.perf_counter() - started)

    def _full_range(
        self, key_range: KeyRange, partitions: int, options: PassOptions, restart: bool
    ) -> list[UserResult]:
        key = full_key(partitions, key_range.index)
        users = self._reconciler.users
        rate = users.rate if isinstance(users, LimitedUsers) else RateLimit(None)
        page = PageOptions(repair=options.repair, rate=rate)
        saved = None if restart else self._store.state.get(key)
        if saved and saved.get("done"):
            return []
        after: str | None = saved.get("after") if saved else None
        results: list[UserResult] = []
        while True:
            uids, last, listed = self._next_users(key_range, after, options.page_size)
            if uids:
                checked = check_page(self._db, self._store, self._reconciler, uids, page, listed)
                options.progress(len(checked))
                results += checked
                after = uids[-1]
            self._store.state.put(key, {"after": after, "done": last})
            if last:
                return results

    def _next_users(
        self, key_range: KeyRange, after: str | None, page_size: int
    ) -> tuple[list[str], bool, Listed]:
        """The next uids of `key_range` after `after` (sorted), whether they are the last, and
        the profiles and `syncState` documents read to list them (for the page to reuse).

        Three sources each give a page; only uids up to the smallest last uid of a full page
        are certain to be complete, so the batch stops there (the rest comes next time)."""
        profile_snaps = _first_page(
            self._db,
            range_query(self._db, USERS, key_range, group=False),
            f"{USERS}/{after}" if after is not None else None,
            page_size,
        )
        # Past every document under users/{after}: "\uffff" sorts after any subcollection id.
        sync_snaps = _first_page(
            self._db,
            range_query(self._db, SYNC_STATE, key_range, group=True),
            f"{USERS}/{after}/{SYNC_STATE}/\uffff" if after is not None else None,
            page_size,
        )
        profiles = [_uid_of(snap) for snap in profile_snaps]
        heads = [_uid_of(snap) for snap in sync_snaps]
        in_sql = _sql_user_ids(self._store, key_range, after, page_size)
        bound: str | None = None
        for found in (profiles, heads, in_sql):
            if len(found) >= page_size and (bound is None or found[-1] < bound):
                bound = found[-1]
        uids = sorted({u for u in (*profiles, *heads, *in_sql) if bound is None or u <= bound})
        page = set(uids)
        through = None
        if len(sync_snaps) >= page_size:  # the group's page may end inside a user's documents
            through = (heads[-1], sync_snaps[-1].id)
        listed = Listed(
            [snap for snap in profile_snaps if _uid_of(snap) in page],
            [snap for snap in sync_snaps if _uid_of(snap) in page],
            through,
        )
        return uids, bound is None, listed


def _first_page(
    db: firestore.Client, query: firestore.Query, after: str | None, page_size: int
) -> list[Any]:
    for snaps in pages(db, query, after, page_size):
        return snaps
    return []


def _uid_of(snap: Any) -> str:
    """The uid of `users/{uid}` or of a document under it."""
    return str(snap.reference.path.split("/")[1])


def _sql_user_ids(
    store: SqlMirrorStore, key_range: KeyRange, after: str | None, limit: int
) -> list[str]:
    """Up to `limit` uids holding any row in SQL, in `key_range`, after `after`, sorted."""
    from sqlalchemy import literal, select, union

    from shared.sql.feeds import KEY_TEXT
    from shared.sql.schema import TABLES

    ids: Any = union(
        *(select(m.table.c[m.user_column].label("uid")) for m in TABLES.values())
    ).subquery()
    query = select(ids.c.uid)
    for bound, op in ((key_range.low, "__ge__"), (after, "__gt__")):
        if bound is not None:
            query = query.where(getattr(ids.c.uid, op)(literal(bound, KEY_TEXT)))
    if key_range.high is not None:
        query = query.where(ids.c.uid < literal(key_range.high, KEY_TEXT))
    with store.engine.connect() as conn:
        return [str(u) for u in conn.execute(query.order_by(ids.c.uid).limit(limit)).scalars()]
