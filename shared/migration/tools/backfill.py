"""`focusctl mirror backfill`: copy what Firestore holds into PostgreSQL, beside live mirroring.

How it is safe and fast:
- **Cursor pagination, no offsets.** Each collection is read in document-path order with
  `start_after(<last path>)` and `limit(page_size)`; an offset would be billed (and slow) for
  every skipped document.
- **Parallel by partition.** The uid space is cut into `partitions` ranges of `users/{prefix}`
  paths (`firestore_source.uid_ranges`), each read by its own thread. The Firestore emulator
  does not implement `get_partitions` (PartitionQuery answers UNIMPLEMENTED), and fixed ranges
  have a property partition cursors lack: they are the same in every run, so a resumed run
  finds its partitions again by index.
- **Partitioned jobs.** `only` picks one task's share of the partitions (tools/jobs.py), so N
  processes or Cloud Run tasks split one backfill; `rate` bounds a task's documents/s.
- **Resumable.** After every page is written, the partition's cursor (the last document path)
  is saved in `mirror_state` (`backfill/<collection>/<partitions>/<index>`). A run that died
  re-reads at most one page, and writing it again is idempotent.
- **Safe beside live dual-writes.** Records carry the document's `update_time` as version and
  go through `MirrorWriter.bulk_upsert`, which never overwrites a newer row, never resurrects
  a deleted document and never writes an erased account.
- **Bulk loading.** One `INSERT ... SELECT FROM jsonb_to_recordset(...) ON CONFLICT` per
  collection per page (batched upserts), so a page of 1,000 documents is one statement.
- **The sync feed watermark.** Before the sessions are copied, every user's feed head is
  staged (`stage_feed_heads`); after the last session page, each staged head becomes the user's
  watermark (`finish_feed_heads`): every commit up to it is then in SQL (docs/MIGRATION.md).

FCM tokens never reach SQL: `firestore_source.record_from_document` keeps mirrored fields only.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from shared.changes import COLLECTIONS, ChangeRecord, Collection
from shared.migration.tools.firestore_source import (
    FEED_DOC,
    SYNC_STATE,
    KeyRange,
    feed_head_seq,
    pages,
    range_query,
    record_from_document,
    split_path,
    uid_ranges,
)
from shared.migration.tools.jobs import RateLimit

if TYPE_CHECKING:
    from google.cloud import firestore

    from shared.sql.store import SqlMirrorStore

DEFAULT_PAGE_SIZE = 1000
DEFAULT_PARTITIONS = 4
# The feed heads are a step of their own, before the sessions (see the module docstring).
FEED_HEADS = "feedHeads"
STEPS: tuple[str, ...] = ("users", "devices", "schedules", FEED_HEADS, "sessions")

Progress = Callable[[str, int], None]  # (step, documents just copied)


@dataclasses.dataclass(frozen=True)
class BackfillOptions:
    collections: tuple[Collection, ...] = COLLECTIONS
    partitions: int = DEFAULT_PARTITIONS
    page_size: int = DEFAULT_PAGE_SIZE
    restart: bool = False  # forget saved cursors and start from the beginning
    copy: bool = True  # False: only read (the benchmark's raw read speed)
    # This task's partitions (jobs.task_share); None: all of them, as on a laptop.
    only: tuple[int, ...] | None = None
    rate: RateLimit = dataclasses.field(default_factory=lambda: RateLimit(None))


@dataclasses.dataclass
class StepReport:
    step: str
    read: int = 0
    written: int = 0
    skipped_stale: int = 0
    dropped_erased: int = 0
    ignored: int = 0  # documents that are not mirrored (a users/{uid} without a profile, ...)
    resumed_partitions: int = 0


@dataclasses.dataclass
class BackfillReport:
    steps: list[StepReport]
    feed_heads_finished: int = 0

    @property
    def read(self) -> int:
        return sum(s.read for s in self.steps if s.step != FEED_HEADS)

    @property
    def written(self) -> int:
        return sum(s.written for s in self.steps if s.step != FEED_HEADS)


def steps_for(collections: Sequence[Collection]) -> list[str]:
    """The steps to run, in order: feed heads come with sessions, just before them."""
    wanted = set(collections)
    return [s for s in STEPS if s in wanted or (s == FEED_HEADS and "sessions" in wanted)]


def state_key(step: str, partitions: int, index: int) -> str:
    return f"backfill/{step}/{partitions}/{index}"


class Backfill:
    """One backfill run over `db` into `store` (thread-safe: one thread per partition)."""

    def __init__(
        self,
        db: firestore.Client,
        store: SqlMirrorStore,
        options: BackfillOptions,
        progress: Progress = lambda _step, _n: None,
    ) -> None:
        self._db = db
        self._store = store
        self._options = options
        self._progress = progress
        self._lock = threading.Lock()

    def run(self) -> BackfillReport:
        report = BackfillReport([])
        for step in steps_for(self._options.collections):
            report.steps.append(self.run_step(step))
        if "sessions" in self._options.collections and self._options.copy:
            report.feed_heads_finished = self.finish_feed_heads()
        return report

    def ranges(self) -> list[KeyRange]:
        """The partitions this run works on (this task's share of them)."""
        ranges = uid_ranges(self._options.partitions)
        only = self._options.only
        return ranges if only is None else [r for r in ranges if r.index in only]

    def finish_feed_heads(self) -> int:
        """Step 3 for this run's partitions only: other tasks may still copy their sessions."""
        if self._options.only is None:
            return self._store.feeds.finish_feed_heads()
        return self._store.feeds.finish_feed_heads(
            uid_ranges=[(r.low, r.high) for r in self.ranges()]
        )

    def run_step(self, step: str) -> StepReport:
        report = StepReport(step)
        ranges = self.ranges()
        if not ranges:
            return report
        with ThreadPoolExecutor(len(ranges), thread_name_prefix=f"backfill-{step}") as pool:
            for future in [pool.submit(self._partition, step, r, report) for r in ranges]:
                future.result()  # re-raises a partition's failure (its cursor is saved)
        return report

    def _partition(self, step: str, key_range: KeyRange, report: StepReport) -> None:
        key = state_key(step, self._options.partitions, key_range.index)
        saved = None if self._options.restart else self._store.state.get(key)
        if saved and saved.get("done") and self._options.copy:
            with self._lock:
                report.resumed_partitions += 1
            return
        after = saved.get("after") if saved else None
        if after is not None:
            with self._lock:
                report.resumed_partitions += 1
        group, name = _source(step)
        query = range_query(self._db, name, key_range, group=group)
        copied = int(saved.get("copied", 0)) if saved else 0
        for snaps in pages(self._db, query, after, self._options.page_size):
            self._options.rate.take(len(snaps))
            counts = self._copy_page(step, snaps) if self._options.copy else _read_only(snaps)
            after = snaps[-1].reference.path
            copied += counts.read
            if self._options.copy:
                self._store.state.put(key, {"after": after, "copied": copied, "done": False})
            with self._lock:
                _add(report, counts)
            self._progress(step, counts.read)
        if self._options.copy:
            self._store.state.put(key, {"after": after, "copied": copied, "done": True})

    def _copy_page(self, step: str, snaps: list[Any]) -> StepReport:
        counts = StepReport(step, read=len(snaps))
        if step == FEED_HEADS:
            heads = [
                (where[0], feed_head_seq(snap.to_dict()))
                for snap in snaps
                if snap.id == FEED_DOC and (where := _feed_owner(snap.reference.path))
            ]
            counts.written = self._store.feeds.stage_feed_heads(heads)
            counts.ignored = len(snaps) - counts.written
            return counts
        records: list[ChangeRecord] = []
        for snap in snaps:
            record = record_from_document(
                snap.reference.path, snap.to_dict() or {}, snap.update_time
            )
            if record is None or record.collection != step:
                counts.ignored += 1
            else:
                records.append(record)
        result = self._store.writer.bulk_upsert(records, chunk_size=max(1, len(records)))
        counts.written = result.applied
        counts.skipped_stale = result.skipped_stale
        counts.dropped_erased = result.dropped_erased
        return counts


def _source(step: str) -> tuple[bool, str]:
    """(is a collection group, name) of the Firestore collection a step reads."""
    if step == "users":
        return False, "users"
    if step == FEED_HEADS:
        return True, SYNC_STATE
    return True, step


def _feed_owner(path: str) -> tuple[str, str] | None:
    parts = path.split("/")
    if len(parts) == 4 and parts[0] == "users" and parts[2] == SYNC_STATE:
        return parts[1], parts[3]
    return None


def _read_only(snaps: list[Any]) -> StepReport:
    # The raw read benchmark still decodes every document, as the copy does.
    for snap in snaps:
        snap.to_dict()
        split_path(snap.reference.path)
    return StepReport("read", read=len(snaps))


def _add(total: StepReport, page: StepReport) -> None:
    total.read += page.read
    total.written += page.written
    total.skipped_stale += page.skipped_stale
    total.dropped_erased += page.dropped_erased
    total.ignored += page.ignored


def estimated_total(db: firestore.Client, step: str) -> int | None:
    """How many documents a step will read (an aggregation query), for the progress bar."""
    group, name = _source(step)
    query = db.collection_group(name) if group else db.collection(name)
    try:
        aggregation: Any = query.count()
        result: Any = aggregation.get()
        from shared.metering import count_query_reads

        count = int(result[0][0].value)
        count_query_reads(max(1, count // 1000))  # billed per 1,000 index entries
        return count
    except Exception:  # an estimate only; the bar then counts without a total
        return None
