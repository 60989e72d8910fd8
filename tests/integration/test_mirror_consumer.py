"""The consumer on a real PostgreSQL: every event delivered twice, in any order, converges; the
sync feed watermark; the SQL reads used by the phases."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine

from shared.changes import ChangeRecord
from shared.sql.consumer import handle_message
from shared.sql.events import AccountErased, ChangeBatch, encode
from shared.sql.store import SqlMirrorStore

NOW = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)


def _session(uid: str, sid: str, version: int, seq: int, *, deleted: bool = False) -> ChangeRecord:
    when = (NOW + timedelta(seconds=version)).isoformat()
    data: dict[str, Any] = {"id": sid, "updatedAt": when, "deviceId": "dev", "deleted": deleted}
    if not deleted:
        data |= {"startedAt": NOW.isoformat(), "status": "running", "label": f"v{version}"}
    data |= {"serverUpdatedAt": when, "syncSeq": seq}
    return ChangeRecord(
        collection="sessions", uid=uid, id=sid, op="upsert", version=version, data=data
    )


def _batch(*records: ChangeRecord) -> bytes:
    return encode(ChangeBatch(records=list(records), emitted_at=NOW))


def _history(uid: str, writes: list[tuple[str, bool]]) -> tuple[list[bytes], dict[str, Any]]:
    """A user's commits (one per write, seq 1..n) as messages, and the final state per id."""
    messages, final = [], {}
    for seq, (sid, deleted) in enumerate(writes, start=1):
        record = _session(uid, sid, version=seq * 10, seq=seq, deleted=deleted)
        messages.append(_batch(record))
        final[sid] = (record.version, deleted)
    return messages, final


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    writes=st.lists(st.tuples(st.sampled_from("abcd"), st.booleans()), min_size=1, max_size=12),
    seed=st.integers(0, 2**32),
)
def test_every_event_twice_in_random_order_converges(
    sql_engine: Engine, writes: list[tuple[str, bool]], seed: int
) -> None:
    uid = f"user-{uuid.uuid4().hex}"  # examples share the database; users keep them apart
    messages, final = _history(uid, writes)
    deliveries = messages * 2
    random.Random(seed).shuffle(deliveries)
    store = SqlMirrorStore(sql_engine)
    for body in deliveries:
        handle_message(body, store.writer, NOW)
    snapshot = store.reads.user_snapshot(uid)["sessions"]
    assert {sid: (e.version, e.data["deleted"]) for sid, e in snapshot.items()} == final
    # Every commit 1..n was seen, in whatever order: the feed is complete up to n.
    assert store.feeds.feed_watermark(uid) == len(writes)


def test_the_watermark_waits_for_a_missing_commit(sql_engine: Engine) -> None:
    store = SqlMirrorStore(sql_engine)
    for seq in (1, 2, 4, 5):
        handle_message(_batch(_session("u", f"s{seq}", seq, seq)), store.writer, NOW)
    assert store.feeds.feed_watermark("u") == 2
    handle_message(_batch(_session("u", "s3", 3, 3)), store.writer, NOW)
    assert store.feeds.feed_watermark("u") == 5
    assert store.feeds.mark_feed_complete("u", 9) == 9


def test_feed_reads_follow_positions_and_document_ids(sql_engine: Engine) -> None:
    store = SqlMirrorStore(sql_engine)
    records = [
        _session("u", sid, v, seq)
        for v, (sid, seq) in enumerate([("b", 1), ("a", 1), ("__x__", 2), ("c", 3)], start=1)
    ]
    store.writer.apply(ChangeBatch(records=records, emitted_at=NOW))
    rows = store.feeds.sessions_in_feed("u", (0, ""), upto_seq=2, limit=10)
    assert [doc_id for doc_id, _ in rows] == ["a", "b", "~__x__"]
    after_a = store.feeds.sessions_in_feed("u", (1, "a"), upto_seq=3, limit=2)
    assert [doc_id for doc_id, _ in after_a] == ["b", "~__x__"]
    scanned = store.feeds.sessions_by_document_id("u", "b", 10)
    assert [doc_id for doc_id, _ in scanned] == ["c", "~__x__"]


def test_an_erasure_then_stale_events_leave_nothing(sql_engine: Engine) -> None:
    store = SqlMirrorStore(sql_engine)
    handle_message(_batch(_session("gone", "s", 10, 1)), store.writer, NOW)
    outcome = handle_message(encode(AccountErased(uid="gone", version=20)), store.writer, NOW)
    assert outcome.rows_erased == 1
    late = handle_message(_batch(_session("gone", "s", 15, 2)), store.writer, NOW)
    assert late.dropped_erased == 1
    assert store.reads.user_snapshot("gone")["sessions"] == {}
    assert store.feeds.feed_watermark("gone") == 0
