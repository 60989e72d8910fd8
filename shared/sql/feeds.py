"""The session feed on SQL: how far each user's feed is mirrored, and the reads along it.

A user's session feed is complete up to `session_feeds.complete_seq` (the watermark): every
commit with a seq up to it is mirrored. The writer's apply advances it with the seqs it sees,
in the apply's own transaction (`advance_feed`); a backfill stages each user's Firestore feed
head before copying the sessions and finishes it after (`stage_feed_heads`,
`finish_feed_heads`); a clean reconcile marks it complete (`mark_feed_complete`). Sync pulls
on SQL only up to the watermark (`sessions_in_feed`), export scans by document id
(`sessions_by_document_id`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Connection,
    Engine,
    Text,
    and_,
    bindparam,
    case,
    cast,
    column,
    false,
    func,
    literal,
    or_,
    select,
    text,
    true,
    tuple_,
    update,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.dialects.postgresql import insert as pg_insert

from shared.sql.ownership import lock_users
from shared.sql.schema import data_from_row, metadata

_sessions = metadata.tables["focus_sessions"]
_feeds = metadata.tables["session_feeds"]

# Byte-wise ("C") order: Firestore orders document ids by their bytes, and so must SQL.
KEY_TEXT = Text(collation="C")


class SessionFeeds:
    """The feed-head bookkeeping and the feed-ordered session reads (tables from `schema`)."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def mark_feed_complete(self, uid: str, seq: int) -> int:
        """Record that every commit of `uid`'s session feed up to `seq` is mirrored (a backfill
        or a clean reconcile that read the Firestore feed head `seq` before the documents).
        Returns the new watermark."""
        with self._engine.begin() as conn:
            lock_users(conn, {uid})
            return advance_feed(conn, uid, set(), complete_at_least=seq)

    def stage_feed_heads(self, heads: Iterable[tuple[str, int]]) -> int:
        """Backfill, step 1: remember each user's Firestore feed head, read before any of the
        user's sessions are copied (step 2). Returns how many were staged."""
        rows = [{"user_id": uid, "backfill_seq": seq} for uid, seq in heads]
        if not rows:
            return 0
        incoming = (
            func.jsonb_to_recordset(bindparam("rows", type_=JSONB))
            .table_valued(column("user_id", KEY_TEXT), column("backfill_seq", BigInteger))
            .render_derived(name="incoming", with_types=True)
        )
        insert = pg_insert(_feeds).from_select(
            ["user_id", "backfill_seq"], select(incoming.c.user_id, incoming.c.backfill_seq)
        )
        statement = insert.on_conflict_do_update(
            index_elements=["user_id"],
            set_={
                "backfill_seq": func.greatest(
                    func.coalesce(_feeds.c.backfill_seq, 0), insert.excluded.backfill_seq
                )
            },
        )
        with self._engine.begin() as conn:
            conn.execute(statement, {"rows": rows})
        return len(rows)

    def finish_feed_heads(
        self,
        batch_size: int = 500,
        uid_ranges: Sequence[tuple[str | None, str | None]] | None = None,
    ) -> int:
        """Backfill, step 3 (after every session was copied): raise each staged user's watermark
        to the head staged in step 1. Idempotent; returns how many users were finished.

        `uid_ranges` ([low, high) each, None unbounded): only users there, for a backfill task
        that copied those ranges' sessions while other tasks may still copy theirs."""
        within: ColumnElement[bool] = _feeds.c.backfill_seq.is_not(None)
        if uid_ranges is not None:
            within = within & or_(
                *(
                    and_(
                        true() if low is None else _feeds.c.user_id >= literal(low, KEY_TEXT),
                        true() if high is None else _feeds.c.user_id < literal(high, KEY_TEXT),
                    )
                    for low, high in uid_ranges
                ),
                false(),
            )
        finished = 0
        while True:
            with self._engine.begin() as conn:
                staged = conn.execute(
                    select(_feeds.c.user_id, _feeds.c.backfill_seq)
                    .where(within)
                    .order_by(_feeds.c.user_id)
                    .limit(batch_size)
                ).all()
                if not staged:
                    return finished
                lock_users(conn, {uid for uid, _ in staged})
                for uid, seq in staged:
                    advance_feed(conn, uid, set(), complete_at_least=int(seq))
                conn.execute(
                    update(_feeds)
                    .where(_feeds.c.user_id.in_([uid for uid, _ in staged]))
                    .values(backfill_seq=None)
                )
                finished += len(staged)

    def feed_watermark(self, uid: str) -> int:
        """The highest seq up to which `uid`'s session feed is completely mirrored (0: none)."""
        with self._engine.connect() as conn:
            value = conn.execute(
                select(_feeds.c.complete_seq).where(_feeds.c.user_id == uid)
            ).scalar()
        return int(value or 0)

    def sessions_in_feed(
        self, uid: str, after: tuple[int, str], upto_seq: int, limit: int
    ) -> list[tuple[str, dict[str, Any]]]:
        """The sync pull on SQL: up to `limit` sessions (tombstones included) of `uid` whose feed
        position (syncSeq, document id) is after `after` and whose syncSeq <= `upto_seq`, in
        that order, as (document id, data). Only meaningful up to `feed_watermark(uid)`."""
        doc_id = session_document_id(_sessions.c.id)
        after_seq, after_id = after
        position = tuple_(_sessions.c.sync_seq, doc_id)
        query = (
            select(_sessions, doc_id.label("document_id"))
            .where(
                _sessions.c.user_id == uid,
                _sessions.c.sync_seq <= upto_seq,
                _sessions.c.sync_seq >= after_seq,
                position > tuple_(literal(after_seq), literal(after_id, KEY_TEXT)),
            )
            .order_by(_sessions.c.sync_seq, doc_id)
            .limit(limit)
        )
        with self._engine.connect() as conn:
            return [
                (row["document_id"], data_from_row("sessions", row))
                for row in conn.execute(query).mappings()
            ]

    def sessions_by_document_id(
        self, uid: str, after: str | None, limit: int
    ) -> list[tuple[str, dict[str, Any]]]:
        """Up to `limit` sessions of `uid` (tombstones included) with a document id byte-wise
        after `after`, in document-id order, as (document id, data): the export's scan."""
        doc_id = session_document_id(_sessions.c.id)
        query = select(_sessions, doc_id.label("document_id")).where(_sessions.c.user_id == uid)
        if after is not None:
            query = query.where(doc_id > literal(after, KEY_TEXT))
        query = query.order_by(doc_id).limit(limit)
        with self._engine.connect() as conn:
            return [
                (row["document_id"], data_from_row("sessions", row))
                for row in conn.execute(query).mappings()
            ]


def session_document_id(id_column: ColumnElement[str]) -> ColumnElement[str]:
    """The Firestore document id of a session id, in SQL (shared.sessions.models.document_id:
    Firestore refuses ids of the form `__x__`, which are stored as `~__x__`). Feed positions and
    export cursors name document ids, so SQL orders by the same key."""
    escaped = id_column.regexp_match("^__.*__$")
    return cast(case((escaped, literal("~", KEY_TEXT) + id_column), else_=id_column), KEY_TEXT)


def advance_feed(conn: Connection, uid: str, seqs: set[int], *, complete_at_least: int) -> int:
    """Add commit seqs seen for `uid` (caller holds the user's lock); returns the watermark.

    One statement (it runs for every mirrored session commit): merge the seqs into `pending`,
    advance `complete_seq` over the contiguous run that follows it, keep the rest pending."""
    row = conn.execute(
        _ADVANCE_FEED, {"uid": uid, "seqs": sorted(seqs), "floor": complete_at_least}
    ).first()
    assert row is not None  # an upsert always returns its row
    return int(row[0])


_ADVANCE_FEED = text(
    """
    WITH current AS (
        SELECT complete_seq, pending FROM session_feeds WHERE user_id = :uid
    ), merged AS (
        SELECT c, ARRAY(
            SELECT DISTINCT x FROM unnest(
                coalesce((SELECT pending FROM current), '{}') || CAST(:seqs AS bigint[])
            ) AS x WHERE x > c ORDER BY x
        ) AS p
        FROM (
            SELECT greatest(coalesce((SELECT complete_seq FROM current), 0), :floor) AS c
        ) AS base
    ), advanced AS (
        SELECT c + (
            SELECT min(i) FROM generate_series(1, cardinality(p) + 1) AS i
            WHERE NOT (c + i = ANY(p))
        ) - 1 AS c, p
        FROM merged
    )
    INSERT INTO session_feeds (user_id, complete_seq, pending)
    SELECT :uid, c, ARRAY(SELECT x FROM unnest(p) AS x WHERE x > c ORDER BY x) FROM advanced
    ON CONFLICT (user_id) DO UPDATE SET
        complete_seq = excluded.complete_seq, pending = excluded.pending, updated_at = now()
    RETURNING complete_seq
    """
)
