"""The mirror's writer: applies change events idempotently, and the bulk writes of the tools.

Guarantees (each is a test in tests/integration/test_sql_store.py):

- Duplicates and any order converge to the newest version of each document. An upsert is
  `INSERT ... ON CONFLICT (key) DO UPDATE ... WHERE table.source_version < EXCLUDED.source_version`.
- A delete removes the row if it is not newer than the delete (a delete wins a tie, as in the
  API; real ties do not happen, a delete commits after the write it deletes), and leaves a
  **delete marker** (`delete_markers`: collection, user, id, version). An upsert is applied only
  if no marker of its document has a version >= its own, so an older upsert arriving after the
  delete cannot bring the row back. Why a separate table rather than a `purged` flag on the row:
  the entity tables then hold exactly what Firestore holds, so no reader (sync, export, shadow
  reads, reconcile) can forget to filter dead rows, the markers carry no user content, and they
  can be pruned in bulk (`prune_markers`) once no stale event can still arrive (Pub/Sub retention
  and the longest backfill run). A later re-creation (a newer version) is applied as usual.
- An erased account (`erase_user`) removes every row and marker of the user up to the erasure's
  version and records sha256(uid) in `erased_users`; records of that user with a version <= the
  erasure's are dropped from then on.
- The fence: records of a (collection, user) that SQL owns (`sql_only`: `session_feeds.sql_seq`
  for sessions, `sql_owners` for the others) are refused by `apply` (counted as `fenced`),
  `bulk_upsert` and `overwrite_same_version`: SQL is their source from then on, and Firestore's
  copies are stale (shared/sessions/sql.py, shared/accounts/sql.py); who owns what is
  shared/sql/ownership.py.
- Concurrency: every transaction first takes a transaction-level advisory lock per user it
  touches, in sorted order (no deadlocks). A marker check and the insert after it are two
  statements, and under READ COMMITTED a concurrent delete or erasure could slip between them
  and be undone; with one lock per user they cannot. Mirror traffic of one user is small, so
  serialising it costs nothing, and different users never wait for each other.

A batch is applied in one transaction. Records are mapped (and validated) before it starts: a
record whose data cannot be mirrored raises `events.ChangeDataError` and nothing of the batch is
written, so the Pub/Sub consumer can nack it into the dead-letter topic instead of losing it.

Synchronous SQLAlchemy Core over any PostgreSQL driver (psycopg locally, pg8000 through the
Cloud SQL connector in production): rows travel as one jsonb parameter expanded by
`jsonb_to_recordset`, which needs neither COPY nor driver-specific batching.

The other jobs on the same database have modules of their own: the session feed's bookkeeping
(feeds.py), per-user reads (snapshots.py), operator state (state.py), who owns what and the
locks (ownership.py); store.py bundles them into one handle.

Over 400 lines: the upsert, delete-marker, fence and erasure rules are one set of guarantees
over the same tables and statements, and read best together.
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
from collections.abc import Iterable
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import Connection, Engine, Insert, bindparam, column, delete, exists, func, select
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.dialects.postgresql import insert as pg_insert

from shared.changes import COLLECTIONS, ChangeRecord, Collection
from shared.sql.events import ChangeBatch
from shared.sql.feeds import advance_feed
from shared.sql.ownership import lock_users, sql_owned
from shared.sql.schema import TABLES, TableMap, metadata, row_from_record

_markers = metadata.tables["delete_markers"]
_erased = metadata.tables["erased_users"]
_feeds = metadata.tables["session_feeds"]
_owners = metadata.tables["sql_owners"]
_tokens = metadata.tables["fcm_tokens"]


@dataclasses.dataclass(frozen=True)
class ApplyResult:
    """What happened to the records of one apply/bulk_upsert call."""

    applied: int = 0  # upserts written, deletes recorded (a row removed and/or a marker set)
    skipped_stale: int = 0  # duplicates and versions older than what the mirror holds
    dropped_erased: int = 0  # records of an erased account
    fenced: int = 0  # session records of a user whose feed SQL owns (`sql_only`)

    def __add__(self, other: ApplyResult) -> ApplyResult:
        return ApplyResult(
            self.applied + other.applied,
            self.skipped_stale + other.skipped_stale,
            self.dropped_erased + other.dropped_erased,
            self.fenced + other.fenced,
        )


def user_hash(uid: str) -> str:
    """sha256 (hex) of a uid: how `erased_users` names an erased account."""
    return hashlib.sha256(uid.encode()).hexdigest()


class MirrorWriter:
    """Writes to the mirror's tables: the consumer's apply path, erasure, backfill's bulk
    upserts, reconcile's repair, the SQL stores' and the moves' row writes."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._upserts = {c: _upsert_statement(TABLES[c], "newer") for c in COLLECTIONS}
        self._overwrites = {c: _upsert_statement(TABLES[c], "same_or_newer") for c in COLLECTIONS}
        self._rebases = {c: _upsert_statement(TABLES[c], "unguarded") for c in COLLECTIONS}

    def apply(self, batch: ChangeBatch) -> ApplyResult:
        """Apply one Firestore commit's changes in one transaction; idempotent, order-free.

        The upserts of each collection go in one statement (a sync commit of 20 sessions is one
        INSERT, not 20 round trips); deletes follow one by one. The order inside the batch does
        not matter: every guard compares versions, so the outcome is the same in any order."""
        records = batch.records
        rows = {i: row_from_record(r) for i, r in enumerate(records) if r.op == "upsert"}
        dropped = fenced = 0
        upserts: dict[Collection, list[int]] = {}
        deletes: list[ChangeRecord] = []
        feed_seqs: dict[str, set[int]] = {}
        with self._engine.begin() as conn:
            uids = {r.uid for r in records}
            lock_users(conn, uids)
            erased = _erased_versions(conn, uids)
            owned = sql_owned(conn, records)
            for i, record in enumerate(records):
                if record.version <= erased.get(record.uid, -1):
                    dropped += 1
                elif _fenced(record, owned):
                    fenced += 1
                elif record.op == "upsert":
                    upserts.setdefault(record.collection, []).append(i)
                    seq = rows[i].get("sync_seq") if record.collection == "sessions" else None
                    if seq is not None:
                        # A stale copy still proves its commit happened: count it as well.
                        feed_seqs.setdefault(record.uid, set()).add(int(seq))
                else:
                    deletes.append(record)
            applied = sum(
                self.upsert_rows(conn, collection, [rows[i] for i in indexes])
                for collection, indexes in upserts.items()
            )
            applied += sum(_delete(conn, record) for record in deletes)
            for uid, seqs in feed_seqs.items():
                advance_feed(conn, uid, seqs, complete_at_least=0)
        taken = sum(len(indexes) for indexes in upserts.values()) + len(deletes)
        return ApplyResult(applied, taken - applied, dropped, fenced)

    def newest_version(self, uid: str) -> int:
        """The newest version of any row or delete marker of `uid`; 0 when there is none."""
        queries = [
            select(func.max(m.table.c.source_version)).where(m.table.c[m.user_column] == uid)
            for m in TABLES.values()
        ]
        queries.append(select(func.max(_markers.c.version)).where(_markers.c.user_id == uid))
        with self._engine.connect() as conn:
            return max(int(conn.execute(q).scalar() or 0) for q in queries)

    def erase_user(self, uid: str, version: int) -> int:
        """Remove every row and delete marker of `uid` with a version <= `version`, and block
        that user's events up to `version` from now on. Returns the number of rows removed."""
        removed = 0
        with self._engine.begin() as conn:
            lock_users(conn, {uid})
            for mapping in TABLES.values():
                table = mapping.table
                removed += conn.execute(
                    delete(table).where(
                        table.c[mapping.user_column] == uid, table.c.source_version <= version
                    )
                ).rowcount
            conn.execute(
                delete(_markers).where(_markers.c.user_id == uid, _markers.c.version <= version)
            )
            # The feed starts over with a re-created account; until its commits are seen again,
            # sync reads of this user stay on Firestore. No trace of the uid stays behind.
            conn.execute(delete(_feeds).where(_feeds.c.user_id == uid))
            conn.execute(delete(_owners).where(_owners.c.user_id == uid))
            conn.execute(delete(_tokens).where(_tokens.c.user_id == uid))
            insert = pg_insert(_erased).values(user_hash=user_hash(uid), erased_version=version)
            conn.execute(
                insert.on_conflict_do_update(
                    index_elements=["user_hash"],
                    set_={
                        "erased_version": func.greatest(
                            _erased.c.erased_version, insert.excluded.erased_version
                        ),
                        "erased_at": func.now(),
                    },
                )
            )
        return removed

    def bulk_upsert(
        self, records: Iterable[ChangeRecord], *, chunk_size: int = 1000
    ) -> ApplyResult:
        """The backfill's fast path: upserts only, `chunk_size` records per transaction and one
        statement per collection per chunk, with the same guards as `apply` (never overwrites a
        newer row, never resurrects a deleted document or an erased account). Idempotent, so a
        backfill that crashed re-sends its last page and goes on."""
        result = ApplyResult()
        for chunk in itertools.batched(records, chunk_size):
            result += self._bulk_chunk(chunk)
        return result

    def prune_markers(self, older_than: datetime) -> int:
        """Forget delete markers and erased accounts recorded before `older_than`: only once no
        event that old can still arrive (Pub/Sub retention, the longest backfill run)."""
        with self._engine.begin() as conn:
            markers = conn.execute(delete(_markers).where(_markers.c.deleted_at < older_than))
            erased = conn.execute(delete(_erased).where(_erased.c.erased_at < older_than))
            return markers.rowcount + erased.rowcount

    def overwrite_same_version(self, records: Iterable[ChangeRecord]) -> int:
        """Reconcile's repair of a content mismatch: rewrite rows whose version equals the
        record's (never older ones' successors: a newer row still wins). Returns rows written."""
        rows = [(r, row_from_record(r)) for r in records if r.op == "upsert"]
        written = 0
        with self._engine.begin() as conn:
            uids = {r.uid for r, _ in rows}
            lock_users(conn, uids)
            erased = _erased_versions(conn, uids)
            owned = sql_owned(conn, [r for r, _ in rows])
            for record, row in rows:
                if record.version <= erased.get(record.uid, -1):
                    continue
                if _fenced(record, owned):
                    continue  # SQL is the source of these documents now, not Firestore
                payload = [{k: _jsonable(v) for k, v in row.items()}]
                statement = self._overwrites[record.collection]
                written += len(conn.execute(statement, {"rows": payload}).all())
        return written

    def upsert_rows(
        self,
        conn: Connection,
        collection: Collection,
        rows: list[dict[str, Any]],
        *,
        same_version_too: bool = False,
    ) -> int:
        """Upsert table `rows` of one collection in `conn` (the caller holds the users' locks),
        guarded by version and delete markers; returns how many were written. With
        `same_version_too`, a row of the same version is rewritten as well (a SQL store's
        takeover adds columns the mirror does not carry)."""
        unique = _newest_per_key(TABLES[collection], rows)
        payload = [{k: _jsonable(v) for k, v in row.items()} for row in unique]
        statement = (self._overwrites if same_version_too else self._upserts)[collection]
        return len(conn.execute(statement, {"rows": payload}).all())

    # The hand-back to Firestore (docs/MIGRATION.md, "Versions and clocks"). Its caller holds
    # the users' locks and is the only writer of their rows (devices: SQL writes are stopped and
    # the fence keeps the mirror out); SQL made their versions with its own clock, which may run
    # ahead of Firestore's, so no guard could be right, and none is needed.

    def rebase_rows(
        self, conn: Connection, collection: Collection, rows: list[dict[str, Any]]
    ) -> None:
        """Write `rows` at their Firestore copies' versions, whatever versions SQL gave them."""
        if rows:
            payload = [{k: _jsonable(v) for k, v in row.items()} for row in rows]
            written = len(conn.execute(self._rebases[collection], {"rows": payload}).all())
            if written != len(rows):
                raise RuntimeError(f"{collection}: {len(rows) - written} rows not rebased")

    def mark_deleted(
        self,
        conn: Connection,
        collection: Collection,
        keys: Iterable[tuple[str, str]],
        version: int,
    ) -> None:
        """Delete markers at `version`, a Firestore read time taken before the hand-back wrote
        anything, for (user, id) `keys`: the documents the hand-back deleted from Firestore.
        SQL deleted them meanwhile and keeps no markers of its own deletes, so without these a
        late event from before the take-over would bring them back; and every write Firestore
        commits after the hand-back is later, so a re-creation is not hidden."""
        values = [
            {"collection": collection, "user_id": uid, "id": doc_id, "version": version}
            for uid, doc_id in keys
        ]
        if values:
            insert = pg_insert(_markers).values(values)
            conn.execute(
                insert.on_conflict_do_update(
                    index_elements=["collection", "user_id", "id"],
                    set_={"version": insert.excluded.version, "deleted_at": func.now()},
                )
            )

    def _bulk_chunk(self, records: tuple[ChangeRecord, ...]) -> ApplyResult:
        if any(r.op != "upsert" for r in records):
            raise ValueError("bulk_upsert takes upserts only; apply deletes with apply()")
        rows = [(r, row_from_record(r)) for r in records]
        with self._engine.begin() as conn:
            uids = {r.uid for r in records}
            lock_users(conn, uids)
            erased = _erased_versions(conn, uids)
            owned = sql_owned(conn, records)
            alive = [(r, row) for r, row in rows if r.version > erased.get(r.uid, -1)]
            kept = [pair for pair in alive if not _fenced(pair[0], owned)]
            applied = 0
            for collection, group in itertools.groupby(
                sorted(kept, key=lambda pair: pair[0].collection), key=lambda p: p[0].collection
            ):
                applied += self.upsert_rows(conn, collection, [row for _, row in group])
        return ApplyResult(
            applied, len(kept) - applied, len(records) - len(alive), len(alive) - len(kept)
        )


def _upsert_statement(
    mapping: TableMap, guard: Literal["newer", "same_or_newer", "unguarded"]
) -> Insert:
    """INSERT ... SELECT FROM jsonb_to_recordset(:rows) ... ON CONFLICT DO UPDATE.

    Guarded (`newer`, or `same_or_newer` for reconcile's repair and a SQL store's takeover):
    rows with a delete marker at least as new are left out, and the ON CONFLICT guard keeps
    newer rows. `unguarded` writes every row (`rebase_rows` only). The rows must have
    distinct keys (PostgreSQL refuses to update a row twice in one statement): `_newest_per_key`
    sees to it.
    """
    table = mapping.table
    columns = [c for c in table.columns if c.name != "mirrored_at"]
    incoming = (
        func.jsonb_to_recordset(bindparam("rows", type_=JSONB))
        .table_valued(*(column(c.name, c.type) for c in columns))
        .render_derived(name="incoming", with_types=True)
    )
    deleted_later = exists().where(
        _markers.c.collection == mapping.collection,
        _markers.c.user_id == incoming.c[mapping.user_column],
        _markers.c.id == incoming.c.id,
        _markers.c.version >= incoming.c.source_version,
    )
    chosen = select(*(incoming.c[c.name] for c in columns))
    if guard != "unguarded":
        chosen = chosen.where(~deleted_later)
    insert = pg_insert(table).from_select([c.name for c in columns], chosen)
    updates: dict[str, Any] = {
        c.name: insert.excluded[c.name] for c in columns if c.name not in mapping.key_columns
    }
    updates["mirrored_at"] = func.now()
    newer = {
        "newer": table.c.source_version < insert.excluded.source_version,
        "same_or_newer": table.c.source_version <= insert.excluded.source_version,
        "unguarded": None,
    }[guard]
    return insert.on_conflict_do_update(
        index_elements=list(mapping.key_columns), set_=updates, where=newer
    ).returning(table.c.id)


def _delete(conn: Connection, record: ChangeRecord) -> bool:
    """Apply a delete (caller holds the user's lock); False when it is stale or a duplicate."""
    mapping = TABLES[record.collection]
    table = mapping.table
    key = (table.c[mapping.user_column] == record.uid, table.c.id == record.id)
    row_version = conn.execute(select(table.c.source_version).where(*key)).scalar()
    if row_version is not None and row_version > record.version:
        return False  # the document was written again after this delete
    marker_key = (
        _markers.c.collection == record.collection,
        _markers.c.user_id == record.uid,
        _markers.c.id == record.id,
    )
    marker_version = conn.execute(select(_markers.c.version).where(*marker_key)).scalar()
    if marker_version is not None and marker_version >= record.version:
        return False
    if row_version is not None:
        conn.execute(delete(table).where(*key))
    insert = pg_insert(_markers).values(
        collection=record.collection, user_id=record.uid, id=record.id, version=record.version
    )
    conn.execute(
        insert.on_conflict_do_update(
            index_elements=["collection", "user_id", "id"],
            set_={"version": insert.excluded.version, "deleted_at": func.now()},
        )
    )
    return True


def next_version(
    conn: Connection, collection: Collection, uid: str, ids: list[str], now: datetime
) -> int:
    """The version for a write by a SQL store (`sql_only`) of documents `ids`: `now` in µs,
    raised above every row and delete marker of them (a version mirrored from Firestore may be
    ahead of this clock), so the guards order it after everything before it."""
    from shared.changes import version_from_timestamp

    mapping = TABLES[collection]
    table = mapping.table
    rows = select(func.max(table.c.source_version)).where(
        table.c[mapping.user_column] == uid, table.c.id.in_(ids)
    )
    markers = select(func.max(_markers.c.version)).where(
        _markers.c.collection == collection, _markers.c.user_id == uid, _markers.c.id.in_(ids)
    )
    newest = max(int(conn.execute(q).scalar() or 0) for q in (rows, markers))
    return max(version_from_timestamp(now), newest + 1)


def _fenced(record: ChangeRecord, owned: set[tuple[str, str]]) -> bool:
    return (record.collection, record.uid) in owned


def _erased_versions(conn: Connection, uids: Iterable[str]) -> dict[str, int]:
    by_hash = {user_hash(uid): uid for uid in uids}
    if not by_hash:
        return {}
    rows = conn.execute(
        select(_erased.c.user_hash, _erased.c.erased_version).where(
            _erased.c.user_hash.in_(list(by_hash))
        )
    )
    return {by_hash[h]: int(v) for h, v in rows}


def _newest_per_key(mapping: TableMap, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    newest: dict[tuple[Any, ...], dict[str, Any]] = {}
    for row in rows:
        key = tuple(row[k] for k in mapping.key_columns)
        if key not in newest or newest[key]["source_version"] < row["source_version"]:
            newest[key] = row
    return list(newest.values())


def _jsonable(value: object) -> object:
    # Timestamps travel as RFC 3339 with offset; jsonb_to_recordset casts them back exactly.
    return value.isoformat() if isinstance(value, datetime) else value
