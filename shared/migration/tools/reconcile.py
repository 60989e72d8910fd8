"""Reconcile: compare Firestore and the SQL mirror per user, report drift, repair on request.

For each user, Firestore's documents (read first) and SQL's rows (read second) are compared by
`{collection: {id: (version, content_hash)}}`. Kinds of drift:

- `missing`: in Firestore, not in SQL;             repair: apply Firestore's document;
- `stale`:   SQL holds an older version;             repair: apply Firestore's document;
- `content`: same version, different content hash;  repair: overwrite with Firestore's content;
- `extra`:   in SQL, not in Firestore;               repair: delete the row (as a delete event
  at the row's version, so a later genuine write still applies), only if the row is older
  than the start of the comparison (a younger row is a write that raced it);
- `ahead`:   SQL holds a newer version than Firestore did when read: a write raced the
  comparison. Reported, never repaired (it is not drift: the next comparison agrees);
- `invalid`: a Firestore document the mirror cannot take (it would be poison on the live
  path too). Reported for a human; never repaired.

Repairs write Firestore's truth into SQL through the same guarded statements as the consumer,
so a repair racing a live event can never regress a row. After a repair the user is compared
again; the run is clean when nothing but `ahead` is left.

`focusctl mirror reconcile` exits 1 on drift (0 after a successful `--repair`); with
`--log-metric` (the scheduled Cloud Run jobs: the incremental pass, a nightly sample) it also logs
one structured `mirrorDrift` metric line and the drift items the alert counts.

Over 400 lines: the comparison (pure), the repair and the metric share their drift model; the
Firestore reads are in firestore_source.py.
"""

from __future__ import annotations

import contextvars
import dataclasses
import random
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, Literal

from shared.changes import COLLECTIONS, ChangeRecord, Collection
from shared.migration.tools.firestore_source import (
    FEED_DOC,
    SYNC_STATE,
    UID_ALPHABET,
    USERS,
    feed_head_seq,
    record_from_document,
)
from shared.sql.events import ChangeBatch, ChangeDataError, content_hash

if TYPE_CHECKING:
    from google.cloud import firestore

    from shared.sql.store import SqlMirrorStore

DriftKind = Literal["missing", "extra", "stale", "ahead", "content", "invalid"]
REPAIRABLE: frozenset[DriftKind] = frozenset({"missing", "extra", "stale", "content"})
SUBCOLLECTIONS: tuple[Collection, ...] = ("devices", "sessions", "schedules")
DEFAULT_WORKERS = 8


@dataclasses.dataclass(frozen=True)
class Entry:
    version: int
    content_hash: str


@dataclasses.dataclass(frozen=True)
class Drift:
    uid: str
    collection: Collection
    id: str
    kind: DriftKind
    firestore_version: int | None
    sql_version: int | None


def compare(
    uid: str,
    firestore: Mapping[Collection, Mapping[str, Entry | None]],
    sql: Mapping[Collection, Mapping[str, Entry]],
) -> list[Drift]:
    """Drift of one user (pure). A Firestore entry of None is a document that cannot be
    mirrored (`invalid`)."""
    drifts: list[Drift] = []
    for collection in COLLECTIONS:
        ours = firestore.get(collection, {})
        theirs = sql.get(collection, {})
        for doc_id in sorted(set(ours) | set(theirs)):
            fs_entry = ours.get(doc_id)
            sql_entry = theirs.get(doc_id)
            kind = _kind(collection, doc_id in ours, fs_entry, sql_entry)
            if kind is not None:
                drifts.append(
                    Drift(
                        uid,
                        collection,
                        doc_id,
                        kind,
                        fs_entry.version if fs_entry else None,
                        sql_entry.version if sql_entry else None,
                    )
                )
    return drifts


def _kind(
    collection: Collection, in_firestore: bool, fs_entry: Entry | None, sql_entry: Entry | None
) -> DriftKind | None:
    if in_firestore and fs_entry is None:
        return "invalid"
    if fs_entry is None:
        return "extra"
    if sql_entry is None:
        return "missing"
    if sql_entry.version < fs_entry.version:
        if collection == "devices" and sql_entry.content_hash == fs_entry.content_hash:
            # Push delivery writes its bookkeeping into the device document, which moves its
            # `update_time` but publishes nothing: the mirror keeps API fields only. The row
            # holds what Firestore holds, and a later API write still has a newer version.
            return None
        return "stale"
    if sql_entry.version > fs_entry.version:
        return "ahead"
    if sql_entry.content_hash != fs_entry.content_hash:
        return "content"
    return None


# -- Firestore side ----------------------------------------------------------------------------


@dataclasses.dataclass
class UserDocuments:
    """A user's documents in Firestore as the write path would publish them."""

    feed_seq: int
    records: dict[Collection, dict[str, ChangeRecord | None]]  # None: cannot be mirrored
    # Firestore's time of the first read, as a version: a SQL row older than it that Firestore
    # did not show is gone from Firestore; a newer one may be a write that raced the reads.
    read_at: int

    def entries(self) -> dict[Collection, dict[str, Entry | None]]:
        out: dict[Collection, dict[str, Entry | None]] = {}
        for collection, records in self.records.items():
            out[collection] = {}
            for doc_id, record in records.items():
                out[collection][doc_id] = _entry(record)
        return out


def _entry(record: ChangeRecord | None) -> Entry | None:
    if record is None or record.data is None:
        return None
    try:
        return Entry(record.version, content_hash(record.collection, record.data))
    except ChangeDataError:
        return None


class FirestoreUsers:
    """Reads users' documents and picks users from Firestore."""

    def __init__(self, db: firestore.Client) -> None:
        self._db = db

    def read(self, uid: str) -> UserDocuments:
        """The feed head first (so a watermark taken from it is never ahead of what the
        documents read after it show), then the profile and the three subcollections."""
        from shared import fs
        from shared.metering import count_query_reads

        user = self._db.collection(USERS).document(uid)
        head_ref = user.collection(SYNC_STATE).document(FEED_DOC)
        head = fs.get_all(self._db, [head_ref])[head_ref.path]
        feed_seq = feed_head_seq(head.to_dict() if head.exists else None)
        snaps = [fs.get_all(self._db, [user])[user.path]]
        for name in SUBCOLLECTIONS:
            found = list(user.collection(name).stream())
            count_query_reads(len(found))
            snaps += found
        return UserDocuments(feed_seq, records_of(snaps), fs.version_of(head.read_time))

    def sample(self, count: int, rng: random.Random) -> list[str]:
        """About `count` uids from a random place in the users collection and the sessions
        collection group (users need no profile document to have sessions)."""
        from google.cloud.firestore import FieldFilter
        from google.cloud.firestore_v1.field_path import FieldPath

        from shared.metering import count_query_reads

        start = rng.choice(UID_ALPHABET) + rng.choice(UID_ALPHABET)
        name = FieldPath.document_id()
        found: list[str] = []
        for query in (
            self._db.collection(USERS),
            self._db.collection_group("sessions"),
        ):
            ordered = query.order_by(name)
            after = ordered.where(filter=FieldFilter(name, ">=", self._db.document(USERS, start)))
            for source in (after, ordered):  # wrap around to the beginning
                snaps = list(source.limit(count).stream())
                count_query_reads(len(snaps))
                found += [snap.reference.path.split("/")[1] for snap in snaps]
                if len(set(found)) >= count:
                    break
        return list(dict.fromkeys(found))[:count]


def records_of(snaps: Iterable[Any]) -> dict[Collection, dict[str, ChangeRecord | None]]:
    """One user's document snapshots as the write path would publish them, per collection and
    id (None: a document the mirror cannot take); missing and unmirrored documents left out."""
    records: dict[Collection, dict[str, ChangeRecord | None]] = {c: {} for c in COLLECTIONS}
    for snap in snaps:
        if not snap.exists:
            continue
        try:
            record = record_from_document(snap.reference.path, fields_of(snap), snap.update_time)
        except ValueError:  # ChangeRecord refused it (an id too long, ...)
            collection = _collection_of(snap.reference.path)
            if collection is not None:
                records[collection][snap.id] = None
            continue
        if record is not None:
            records[record.collection][record.id] = record
    return records


def fields_of(snap: Any) -> dict[str, Any]:
    """The fields of an existing snapshot, read-only. `to_dict()` deep-copies them (the client
    already copied them once when it built the snapshot): in a profile of the full pass that
    second copy was a sixth of its CPU, for documents read once and never changed here.
    google-cloud-firestore (2.34) offers no public read-only access (`get(field)` deep-copies
    too), hence its private `_data`; a unit test (test_reconcile_compare.py) fails if an
    upgrade takes it away, rather than this falling back to `to_dict()` unnoticed."""
    data = getattr(snap, "_data", None)
    return data if isinstance(data, dict) else (snap.to_dict() or {})


def _collection_of(path: str) -> Collection | None:
    parts = path.split("/")
    if len(parts) == 2:
        return "users"
    if len(parts) == 4 and parts[2] in SUBCOLLECTIONS:
        return parts[2]  # narrowed by the membership test
    return None


# -- the run -----------------------------------------------------------------------------------


@dataclasses.dataclass
class UserResult:
    uid: str
    drifts: list[Drift]
    repaired: int = 0
    remaining: list[Drift] = dataclasses.field(default_factory=list)


@dataclasses.dataclass
class ReconcileReport:
    users: int
    results: list[UserResult]
    seconds: float

    @property
    def drifts(self) -> list[Drift]:
        return [d for r in self.results for d in r.drifts]

    @property
    def remaining(self) -> list[Drift]:
        return [d for r in self.results for d in r.remaining]

    @property
    def clean(self) -> bool:
        """No drift left (after repairs, when repairing); `ahead` is a race, not drift."""
        return not [d for d in self.remaining if d.kind != "ahead"]

    def counts(self, drifts: Iterable[Drift] | None = None) -> dict[str, int]:
        found = Counter(d.kind for d in (self.drifts if drifts is None else drifts))
        return {kind: found[kind] for kind in sorted(found)}

    def metric(self) -> dict[str, Any]:
        """The `mirrorDrift` log line's fields."""
        drifted = {d.uid for d in self.drifts if d.kind != "ahead"}
        return {
            "metric": "mirrorDrift",
            "users": self.users,
            "driftedUsers": len(drifted),
            "drift": self.counts(),
            "byCollection": dict(Counter(d.collection for d in self.drifts if d.kind != "ahead")),
            "seconds": round(self.seconds, 2),
        }


class Reconciler:
    def __init__(
        self,
        users: FirestoreUsers,
        store: SqlMirrorStore,
        workers: int = DEFAULT_WORKERS,
    ) -> None:
        self._users = users
        self._store = store
        self._workers = workers

    @property
    def users(self) -> FirestoreUsers:
        return self._users

    @property
    def workers(self) -> int:
        return self._workers

    def run(
        self,
        uids: Sequence[str],
        *,
        repair: bool = False,
        progress: Callable[[int], None] = lambda _n: None,
    ) -> ReconcileReport:
        started = time.perf_counter()

        def one(uid: str) -> UserResult:
            result = self.check(uid, repair=repair)
            progress(1)
            return result

        with ThreadPoolExecutor(max(1, min(self._workers, len(uids)))) as pool:
            # Each user in a copy of this context, so that `metering.metered()` around a run
            # counts the workers' Firestore reads too.
            futures = [pool.submit(contextvars.copy_context().run, one, uid) for uid in uids]
            results = [future.result() for future in futures]
        return ReconcileReport(len(uids), results, time.perf_counter() - started)

    def check(self, uid: str, *, repair: bool = False) -> UserResult:
        # Collections SQL owns (`sql_only`) have no Firestore source to compare with any more.
        owned = self._store.ownership.owned_collections(uid)
        documents = self._users.read(uid)
        drifts = self._compare(uid, documents, owned)
        result = UserResult(uid, drifts, remaining=list(drifts))
        if not repair:
            return result
        if any(d.kind in REPAIRABLE for d in drifts):
            result.repaired = self._repair(documents, drifts)
            documents = self._users.read(uid)
            result.remaining = self._compare(uid, documents, owned)
        sessions_drift = any(d.collection == "sessions" for d in result.remaining)
        if "sessions" not in owned and not sessions_drift:
            # Every session up to the head read first is in SQL: the feed is complete to there.
            self._store.feeds.mark_feed_complete(uid, documents.feed_seq)
        return result

    def _compare(self, uid: str, documents: UserDocuments, skip: set[Collection]) -> list[Drift]:
        in_firestore = documents.entries()
        in_sql = self._sql_entries(uid)
        for collection in skip:
            in_firestore[collection], in_sql[collection] = {}, {}
        return compare(uid, in_firestore, in_sql)

    def _sql_entries(self, uid: str) -> dict[Collection, dict[str, Entry]]:
        snapshot = self._store.reads.user_snapshot(uid)
        return {
            collection: {
                doc_id: Entry(entry.version, entry.content_hash)
                for doc_id, entry in snapshot.get(collection, {}).items()
            }
            for collection in COLLECTIONS
        }

    def _repair(self, documents: UserDocuments, drifts: list[Drift]) -> int:
        from shared.clock import utcnow

        upserts: list[ChangeRecord] = []
        overwrites: list[ChangeRecord] = []
        deletes: list[ChangeRecord] = []
        for drift in drifts:
            if drift.kind in ("missing", "stale"):
                record = documents.records[drift.collection][drift.id]
                assert record is not None  # not `invalid`
                upserts.append(record)
            elif drift.kind == "content":
                record = documents.records[drift.collection][drift.id]
                assert record is not None
                overwrites.append(record)
            elif drift.kind == "extra":
                assert drift.sql_version is not None
                # Firestore's clock against Firestore's versions (docs/MIGRATION.md, "Versions
                # and clocks"): this process's clock may run ahead and delete a fresh row.
                if drift.sql_version < documents.read_at:
                    deletes.append(
                        ChangeRecord(
                            collection=drift.collection,
                            uid=drift.uid,
                            id=drift.id,
                            op="delete",
                            version=drift.sql_version,
                            data=None,
                        )
                    )
        repaired = 0
        if upserts or deletes:
            batch = ChangeBatch(records=[*upserts, *deletes], emitted_at=utcnow())
            repaired += self._store.writer.apply(batch).applied
        if overwrites:
            repaired += self._store.writer.overwrite_same_version(overwrites)
        return repaired


# -- the sample and the metric ----------------------------------------------------------------


def sample_uids(
    users: FirestoreUsers, store: SqlMirrorStore, count: int, rng: random.Random
) -> list[str]:
    """About `count` users, from Firestore and from SQL (rows of users gone from Firestore)."""
    from_firestore = users.sample(count, rng)
    start = rng.choice(UID_ALPHABET) + rng.choice(UID_ALPHABET)
    from_sql = store.reads.sample_user_ids(start, max(1, count // 4))
    return list(dict.fromkeys([*from_firestore, *from_sql]))


def log_report(report: ReconcileReport, message: str) -> None:
    """The `mirrorDrift` metric line and up to 20 drift items (uids hashed), as structured
    logs: the reconcile jobs (`focusctl ... --log-metric`)."""
    from shared import logs

    log = logs.get_logger("mirror.reconcile")
    log.info(message, extra={"fields": report.metric()})
    for drift in report.drifts[:20]:
        if drift.kind != "ahead":
            log.warning(
                "mirror drift",
                extra={"fields": {"event": "mirrorDriftItem", **_drift_fields(drift)}},
            )


def _drift_fields(drift: Drift) -> dict[str, Any]:
    return {
        "collection": drift.collection,
        "kind": drift.kind,
        "firestoreVersion": drift.firestore_version,
        "sqlVersion": drift.sql_version,
        # Never the uid or document id in logs: a hash is enough to find it again.
        "user": _short_hash(drift.uid),
    }


def _short_hash(value: str) -> str:
    import hashlib

    return hashlib.sha256(value.encode()).hexdigest()[:16]
