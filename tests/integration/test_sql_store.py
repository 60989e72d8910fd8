"""The SQL mirror's guarantees on a real PostgreSQL: idempotent, order-free, deletes that stick,
erasures that stick, a backfill path that never overwrites newer rows, and the content hash."""

from __future__ import annotations

import random
import uuid
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError
from sqlalchemy import Engine, func, select, text

from shared.changes import ChangeRecord, Collection, timestamp_from_version, version_from_timestamp
from shared.sql.events import (
    AccountErased,
    ChangeBatch,
    ChangeDataError,
    content_hash,
    decode,
    decode_event,
    encode,
)
from shared.sql.schema import metadata
from shared.sql.store import SqlMirrorStore
from shared.sql.writes import ApplyResult, user_hash

T0 = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
# Firestore update times from 2020 to 2100, in microseconds.
REALISTIC_VERSIONS = (1_577_836_800_000_000, 4_102_444_800_000_000)


# -- event builders ----------------------------------------------------------------------------


def _ts(version: int) -> str:
    return timestamp_from_version(version).isoformat().replace("+00:00", "Z")


def doc(collection: Collection, uid: str, doc_id: str, version: int) -> dict[str, Any]:
    """A Firestore document whose content says which version wrote it."""
    tag = f"v{version}"
    match collection:
        case "users":
            return {"uid": uid, "timezone": "Europe/Paris", "locale": tag, "createdAt": _ts(1)}
        case "devices":
            return {
                "deviceId": doc_id,
                "platform": "ios",
                "appVersion": tag,
                "registeredAt": _ts(1),
                "fcmToken": "secret-token",  # never mirrored
            }
        case "sessions":
            return {
                "id": doc_id,
                "startedAt": T0,
                "plannedEndAt": T0 + timedelta(minutes=25),
                "endedAt": None,
                "status": "running",
                "label": tag,
                "blockedApps": ["com.example.feed", "com.example.chat"],
                "scheduleId": None,
                "updatedAt": _ts(version),
                "deviceId": "device-a",
                "deleted": False,
                "serverUpdatedAt": timestamp_from_version(version),
            }
        case "schedules":
            return {
                "id": doc_id,
                "name": tag,
                "timezone": "Europe/Paris",
                "days": ["mon", "tue"],
                "start": "09:00",
                "end": "11:30",
                "blockedApps": [],
                "enabled": True,
                "updatedAt": _ts(version),
            }


def upsert(collection: Collection, uid: str, doc_id: str, version: int) -> ChangeRecord:
    data = doc(collection, uid, doc_id, version)
    return ChangeRecord(
        collection=collection, uid=uid, id=doc_id, op="upsert", version=version, data=data
    )


def delete(collection: Collection, uid: str, doc_id: str, version: int) -> ChangeRecord:
    return ChangeRecord(
        collection=collection, uid=uid, id=doc_id, op="delete", version=version, data=None
    )


def batch(*records: ChangeRecord) -> ChangeBatch:
    return ChangeBatch(records=list(records), emitted_at=T0)


def new_uid() -> str:
    return f"uid-{uuid.uuid4().hex}"


def version_of(store: SqlMirrorStore, collection: Collection, uid: str, doc_id: str) -> int | None:
    entry = store.reads.user_snapshot(uid)[collection].get(doc_id)
    return None if entry is None else entry.version


def expected_state(events: Sequence[ChangeRecord]) -> dict[tuple[str, str], int | None]:
    """Per document: the version of the newest event if it is an upsert, else None (gone)."""
    newest: dict[tuple[str, str], ChangeRecord] = {}
    for event in events:
        key = (event.collection, event.id)
        if key not in newest or newest[key].version < event.version:
            newest[key] = event
    return {k: e.version if e.op == "upsert" else None for k, e in newest.items()}


def actual_state(
    store: SqlMirrorStore, uid: str, keys: Sequence[tuple[str, str]]
) -> dict[tuple[str, str], int | None]:
    snapshot = store.reads.user_snapshot(uid)
    state: dict[tuple[str, str], int | None] = {}
    for collection, doc_id in keys:
        entry = snapshot[collection].get(doc_id)
        state[(collection, doc_id)] = None if entry is None else entry.version
    return state


# -- the basics --------------------------------------------------------------------------------


def test_every_collection_round_trips(sql_engine: Engine) -> None:
    store = SqlMirrorStore(sql_engine)
    uid = new_uid()
    records = [
        upsert("users", uid, uid, 10),
        upsert("devices", uid, "device-a", 11),
        upsert("sessions", uid, "session-1", 12),
        upsert("schedules", uid, "schedule-1", 13),
    ]

    assert store.writer.apply(batch(*records)) == ApplyResult(applied=4)

    snapshot = store.reads.user_snapshot(uid)
    for record in records:
        assert record.data is not None
        entry = snapshot[record.collection][record.id]
        assert entry.version == record.version
        assert entry.content_hash == content_hash(record.collection, record.data)
        # What SQL holds hashes like what Firestore holds: reconcile compares the two.
        assert content_hash(record.collection, entry.data) == entry.content_hash

    user = store.reads.get_user(uid)
    assert user == {
        "uid": uid,
        "timezone": "Europe/Paris",
        "locale": "v10",
        "createdAt": timestamp_from_version(1),
    }
    devices = store.reads.list_devices(uid)
    assert devices == [
        {
            "deviceId": "device-a",
            "platform": "ios",
            "appVersion": "v11",
            "registeredAt": timestamp_from_version(1),
        }
    ]
    schedules = store.reads.list_schedules(uid)
    assert [s["name"] for s in schedules] == ["v13"]
    assert schedules[0]["days"] == ["mon", "tue"]
    session = snapshot["sessions"]["session-1"].data
    assert session["blockedApps"] == ["com.example.feed", "com.example.chat"]
    assert session["plannedEndAt"] == T0 + timedelta(minutes=25)
    assert session["serverUpdatedAt"] == timestamp_from_version(12)


def test_fcm_tokens_are_not_mirrored(sql_engine: Engine) -> None:
    store = SqlMirrorStore(sql_engine)
    uid = new_uid()
    store.writer.apply(batch(upsert("devices", uid, "device-a", 5)))
    with sql_engine.connect() as conn:
        # The columns exist for sql_only devices (test_sql_devices.py); the mirror leaves them.
        row = conn.execute(
            text("SELECT fcm_token, devices::text AS dump FROM devices WHERE user_id = :u"),
            {"u": uid},
        ).one()
    assert row.fcm_token is None and "secret-token" not in row.dump


def test_a_duplicate_changes_nothing(sql_engine: Engine) -> None:
    store = SqlMirrorStore(sql_engine)
    uid = new_uid()
    event = batch(upsert("sessions", uid, "s1", 7))
    assert store.writer.apply(event).applied == 1
    again = store.writer.apply(event)
    assert (again.applied, again.skipped_stale) == (0, 1)
    assert version_of(store, "sessions", uid, "s1") == 7


def test_an_older_upsert_does_not_overwrite_a_newer_one(sql_engine: Engine) -> None:
    store = SqlMirrorStore(sql_engine)
    uid = new_uid()
    store.writer.apply(batch(upsert("schedules", uid, "sch", 9)))
    result = store.writer.apply(batch(upsert("schedules", uid, "sch", 8)))
    assert (result.applied, result.skipped_stale) == (0, 1)
    assert store.reads.list_schedules(uid)[0]["name"] == "v9"


def test_a_stale_delete_does_not_remove_a_newer_upsert(sql_engine: Engine) -> None:
    store = SqlMirrorStore(sql_engine)
    uid = new_uid()
    store.writer.apply(batch(upsert("sessions", uid, "s1", 30)))
    result = store.writer.apply(batch(delete("sessions", uid, "s1", 20)))
    assert (result.applied, result.skipped_stale) == (0, 1)
    assert version_of(store, "sessions", uid, "s1") == 30
    # ...and it left no marker that could block later writes.
    store.writer.apply(batch(upsert("sessions", uid, "s1", 31)))
    assert version_of(store, "sessions", uid, "s1") == 31


def test_a_delete_then_a_stale_upsert_stays_deleted(sql_engine: Engine) -> None:
    store = SqlMirrorStore(sql_engine)
    uid = new_uid()
    store.writer.apply(batch(upsert("devices", uid, "d1", 10)))
    assert store.writer.apply(batch(delete("devices", uid, "d1", 30))).applied == 1
    assert store.reads.list_devices(uid) == []

    late = store.writer.apply(batch(upsert("devices", uid, "d1", 20)))
    assert (late.applied, late.skipped_stale) == (0, 1)
    assert store.reads.list_devices(uid) == []

    # The same through the backfill path.
    assert store.writer.bulk_upsert([upsert("devices", uid, "d1", 20)]).skipped_stale == 1
    assert store.reads.list_devices(uid) == []


def test_a_delete_that_arrives_before_its_document_still_wins(sql_engine: Engine) -> None:
    store = SqlMirrorStore(sql_engine)
    uid = new_uid()
    assert store.writer.apply(batch(delete("sessions", uid, "s1", 50))).applied == 1
    assert store.writer.apply(batch(upsert("sessions", uid, "s1", 40))).skipped_stale == 1
    assert store.reads.user_snapshot(uid)["sessions"] == {}


def test_a_document_created_again_after_its_delete_is_mirrored(sql_engine: Engine) -> None:
    store = SqlMirrorStore(sql_engine)
    uid = new_uid()
    store.writer.apply(batch(upsert("devices", uid, "d1", 10), upsert("users", uid, uid, 10)))
    store.writer.apply(batch(delete("devices", uid, "d1", 20), delete("users", uid, uid, 20)))
    assert store.reads.get_user(uid) is None
    result = store.writer.apply(
        batch(upsert("devices", uid, "d1", 30), upsert("users", uid, uid, 30))
    )
    assert result.applied == 2
    assert [d["appVersion"] for d in store.reads.list_devices(uid)] == ["v30"]
    assert store.reads.get_user(uid) is not None


def test_a_session_tombstone_is_an_upsert_with_deleted(sql_engine: Engine) -> None:
    store = SqlMirrorStore(sql_engine)
    uid = new_uid()
    store.writer.apply(batch(upsert("sessions", uid, "s1", 10)))
    tombstone = {
        "id": "s1",
        "deleted": True,
        "updatedAt": _ts(20),
        "serverUpdatedAt": _ts(20),
    }
    store.writer.apply(
        batch(
            ChangeRecord(
                collection="sessions", uid=uid, id="s1", op="upsert", version=20, data=tombstone
            )
        )
    )
    entry = store.reads.user_snapshot(uid)["sessions"]["s1"]
    assert entry.data["deleted"] is True
    assert entry.data["status"] is None
    assert entry.content_hash == content_hash("sessions", tombstone)


def test_malformed_data_rejects_the_whole_batch(sql_engine: Engine) -> None:
    store = SqlMirrorStore(sql_engine)
    uid = new_uid()
    good = upsert("sessions", uid, "s1", 10)
    bad_data = doc("sessions", uid, "s2", 11)
    del bad_data["startedAt"]  # a live session needs it
    bad = ChangeRecord(
        collection="sessions", uid=uid, id="s2", op="upsert", version=11, data=bad_data
    )
    with pytest.raises(ChangeDataError, match="startedAt"):
        store.writer.apply(batch(good, bad))
    assert store.reads.user_snapshot(uid)["sessions"] == {}

    wrong_id = doc("sessions", uid, "other", 12)
    with pytest.raises(ChangeDataError, match="id"):
        store.writer.apply(
            batch(
                ChangeRecord(
                    collection="sessions", uid=uid, id="s3", op="upsert", version=12, data=wrong_id
                )
            )
        )


# -- any order, any number of times ------------------------------------------------------------

DOCS: list[tuple[Collection, str]] = [
    ("sessions", "s1"),
    ("sessions", "s2"),
    ("devices", "d1"),
    ("schedules", "sch1"),
    ("users", "<uid>"),
]


def _event(uid: str, key: int, op: str, version: int) -> ChangeRecord:
    collection, doc_id = DOCS[key]
    doc_id = uid if doc_id == "<uid>" else doc_id
    return (upsert if op == "upsert" else delete)(collection, uid, doc_id, version)


@settings(
    max_examples=60,
    deadline=None,  # no timing assertions: database round trips vary
    # Each example uses a uid of its own, so the emptied-per-test database needs no reset.
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(data=st.data())
def test_any_order_with_duplicates_converges_to_the_newest(
    sql_engine: Engine, data: st.DataObject
) -> None:
    store = SqlMirrorStore(sql_engine)
    uid = new_uid()
    writes = data.draw(
        st.lists(
            st.tuples(st.integers(0, len(DOCS) - 1), st.sampled_from(["upsert", "delete"])),
            min_size=1,
            max_size=12,
        ),
        label="writes",
    )
    versions = sorted(
        data.draw(
            st.lists(
                st.integers(REALISTIC_VERSIONS[0], REALISTIC_VERSIONS[1]),
                min_size=len(writes),
                max_size=len(writes),
                unique=True,
            ),
            label="versions",
        )
    )
    events = [_event(uid, k, op, v) for (k, op), v in zip(writes, versions, strict=True)]
    copies = data.draw(
        st.lists(st.integers(1, 3), min_size=len(events), max_size=len(events)), label="copies"
    )
    deliveries = [e for e, n in zip(events, copies, strict=True) for _ in range(n)]
    deliveries = data.draw(st.permutations(deliveries), label="order")

    pending: list[ChangeRecord] = []
    for event in deliveries:
        # Upserts may also come through the backfill path, interleaved with live events.
        if event.op == "upsert" and data.draw(st.booleans(), label="via backfill"):
            store.writer.bulk_upsert([event])
        else:
            pending.append(event)
        # Live events arrive one by one or several to a batch, in any order inside it.
        deliver_now: bool = data.draw(st.booleans(), label="deliver the batch now")
        if pending and deliver_now:
            store.writer.apply(batch(*pending))
            pending = []
    if pending:
        store.writer.apply(batch(*pending))

    expected = expected_state(events)
    assert actual_state(store, uid, list(expected)) == expected


def test_a_commit_of_many_sessions_costs_the_statements_of_one(sql_engine: Engine) -> None:
    """A sync commit's records are applied in one statement per collection, so the mirror's
    round trips to PostgreSQL do not grow with the number of sessions a commit wrote."""
    from sqlalchemy import event

    store = SqlMirrorStore(sql_engine)
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(args[2])

    def statements_for(records: list[ChangeRecord]) -> int:
        statements.clear()
        event.listen(sql_engine, "before_cursor_execute", count)
        try:
            result = store.writer.apply(batch(*records))
        finally:
            event.remove(sql_engine, "before_cursor_execute", count)
        assert result.applied == len(records)
        return len(statements)

    one = statements_for([upsert("sessions", new_uid(), "s1", 10)])
    uid = new_uid()
    many = statements_for([upsert("sessions", uid, f"s{i}", 10 + i) for i in range(20)])
    assert many == one
    assert {f"s{i}" for i in range(20)} <= set(store.reads.user_snapshot(uid)["sessions"])


def test_concurrent_deliveries_and_an_erasure_converge(sql_engine: Engine) -> None:
    store = SqlMirrorStore(sql_engine)
    for seed in range(3):
        rng = random.Random(seed)
        uid = new_uid()
        events = [
            _event(uid, rng.randrange(len(DOCS)), rng.choice(["upsert", "delete"]), version)
            for version in range(1, 121)
        ]
        erased_at = 80
        tasks: list[ChangeRecord | AccountErased] = [*events, *events]
        tasks.append(AccountErased(uid=uid, version=erased_at))
        rng.shuffle(tasks)

        def run(task: ChangeRecord | AccountErased) -> None:
            if isinstance(task, AccountErased):
                store.writer.erase_user(task.uid, task.version)
            else:
                store.writer.apply(batch(task))

        with ThreadPoolExecutor(max_workers=8) as pool:
            list(pool.map(run, tasks))

        # Whatever the interleaving: what was written after the erasure survives, newest wins.
        expected = expected_state([e for e in events if e.version > erased_at])
        keys = [(c, uid if i == "<uid>" else i) for c, i in DOCS]
        assert actual_state(store, uid, keys) == {k: expected.get(k) for k in keys}


# -- erasure -----------------------------------------------------------------------------------


def test_an_erased_user_ignores_stale_events_and_leaves_no_trace(sql_engine: Engine) -> None:
    store = SqlMirrorStore(sql_engine)
    uid, other = new_uid(), new_uid()
    store.writer.apply(
        batch(
            upsert("users", uid, uid, 10),
            upsert("devices", uid, "d1", 11),
            upsert("sessions", uid, "s1", 12),
            upsert("schedules", uid, "sch1", 13),
        )
    )
    store.writer.apply(batch(delete("sessions", uid, "s2", 14)))
    store.writer.apply(
        batch(upsert("users", other, other, 10), upsert("sessions", other, "s1", 10))
    )

    assert store.writer.erase_user(uid, 100) == 4

    assert store.reads.user_snapshot(uid) == {
        c: {} for c in ("users", "devices", "sessions", "schedules")
    }
    with sql_engine.connect() as conn:
        for table in metadata.sorted_tables:
            dump = conn.execute(
                text(f"SELECT coalesce(string_agg(t::text, ''), '') FROM \"{table.name}\" t")
            ).scalar_one()
            assert uid not in dump, table.name
        hashes = conn.execute(text("SELECT user_hash FROM erased_users")).scalars().all()
    assert hashes == [user_hash(uid)]

    # Late deliveries of anything older than the erasure are dropped, whichever path.
    late = store.writer.apply(
        batch(upsert("sessions", uid, "s1", 50), delete("devices", uid, "d1", 60))
    )
    assert (late.applied, late.dropped_erased) == (0, 2)
    assert store.writer.bulk_upsert([upsert("schedules", uid, "sch1", 99)]).dropped_erased == 1
    assert store.reads.user_snapshot(uid)["sessions"] == {}

    # Another user is untouched; a repeated or older erasure keeps the newest version.
    assert version_of(store, "sessions", other, "s1") == 10
    store.writer.erase_user(uid, 40)
    assert store.writer.apply(batch(upsert("sessions", uid, "s1", 60))).dropped_erased == 1


# -- backfill ----------------------------------------------------------------------------------


def test_bulk_upsert_never_overwrites_a_newer_row(sql_engine: Engine) -> None:
    store = SqlMirrorStore(sql_engine)
    uid = new_uid()
    store.writer.apply(batch(upsert("sessions", uid, "s1", 50), upsert("devices", uid, "d1", 50)))

    records = [
        upsert("sessions", uid, "s1", 40),  # older than the live row: kept out
        upsert("devices", uid, "d1", 60),  # newer: applied
        *(upsert("sessions", uid, f"bulk-{i:04d}", 10 + i) for i in range(2500)),
        upsert("sessions", uid, "bulk-0000", 5),  # an older copy in the same run
    ]
    result = store.writer.bulk_upsert(records, chunk_size=1000)

    assert result.applied == 2501
    assert result.skipped_stale == 2
    assert version_of(store, "sessions", uid, "s1") == 50
    assert version_of(store, "devices", uid, "d1") == 60
    assert version_of(store, "sessions", uid, "bulk-0000") == 10
    assert len(store.reads.user_snapshot(uid)["sessions"]) == 2501

    # Idempotent: a backfill that resumes re-sends pages without effect.
    assert store.writer.bulk_upsert(records[:100]).applied == 0


def test_bulk_upsert_keeps_the_newest_copy_within_one_chunk(sql_engine: Engine) -> None:
    store = SqlMirrorStore(sql_engine)
    uid = new_uid()
    result = store.writer.bulk_upsert(
        [upsert("schedules", uid, "sch", 3), upsert("schedules", uid, "sch", 9)]
    )
    assert (result.applied, result.skipped_stale) == (1, 1)
    assert store.reads.list_schedules(uid)[0]["name"] == "v9"


def test_bulk_upsert_refuses_deletes(sql_engine: Engine) -> None:
    store = SqlMirrorStore(sql_engine)
    with pytest.raises(ValueError, match="upserts only"):
        store.writer.bulk_upsert([delete("devices", new_uid(), "d1", 5)])


# -- reads -------------------------------------------------------------------------------------


def test_mirror_state_holds_json_values(sql_engine: Engine) -> None:
    store = SqlMirrorStore(sql_engine)
    assert store.state.get("backfill:sessions") is None
    store.state.put("backfill:sessions", {"after": ["uid-1", "s-9"], "done": False})
    store.state.put("backfill:sessions", {"after": ["uid-2", "s-1"], "done": False})
    assert store.state.get("backfill:sessions") == {"after": ["uid-2", "s-1"], "done": False}


def test_prune_markers_forgets_only_old_ones(sql_engine: Engine) -> None:
    store = SqlMirrorStore(sql_engine)
    uid = new_uid()
    store.writer.apply(batch(delete("devices", uid, "d1", 10)))
    store.writer.erase_user(new_uid(), 10)
    with sql_engine.connect() as conn:
        now = conn.execute(select(func.now())).scalar_one()
    assert store.writer.prune_markers(now - timedelta(days=1)) == 0
    assert store.writer.prune_markers(now + timedelta(seconds=1)) == 2


# -- events and the content hash (pure) --------------------------------------------------------


def test_events_round_trip_through_json() -> None:
    changes = batch(upsert("sessions", "u1", "s1", 5), delete("devices", "u1", "d1", 6))
    decoded = decode(encode(changes))
    assert decoded.records[1] == changes.records[1]
    assert content_hash("sessions", decoded.records[0].data or {}) == content_hash(
        "sessions", changes.records[0].data or {}
    )
    erased = AccountErased(uid="u1", version=7)
    assert decode_event(encode(erased)) == erased
    assert decode_event(encode(changes)) == decoded
    with pytest.raises(ValidationError):
        decode(encode(erased))


@pytest.mark.parametrize(
    "bad",
    [
        {"op": "delete", "data": {"x": 1}},
        {"op": "upsert", "data": None},
        {"collection": "users", "id": "someone-else"},
        {"collection": "photos"},
        {"version": -1},
        {"version": "5"},
        {"extra": True},
    ],
)
def test_malformed_change_records_are_refused(bad: dict[str, Any]) -> None:
    fields: dict[str, Any] = {
        "collection": "sessions",
        "uid": "u1",
        "id": "s1",
        "op": "upsert",
        "version": 5,
        "data": {},
    }
    with pytest.raises(ValidationError):
        ChangeRecord.model_validate({**fields, **bad})


@given(st.data())
def test_content_hash_is_stable_under_key_order_and_timestamp_form(data: st.DataObject) -> None:
    collection: Collection = data.draw(
        st.sampled_from(["users", "devices", "sessions", "schedules"])
    )
    original = doc(collection, "u1", "x1", 12345)
    shuffled = dict(data.draw(st.permutations(list(original.items()))))
    assert content_hash(collection, shuffled) == content_hash(collection, original)

    # Datetimes and their RFC 3339 strings (any offset, any precision) hash alike.
    as_strings = {
        k: v.astimezone(UTC).isoformat() if isinstance(v, datetime) else v
        for k, v in original.items()
    }
    assert content_hash(collection, as_strings) == content_hash(collection, original)


def test_content_hash_ignores_non_content_and_sees_content() -> None:
    session = doc("sessions", "u1", "s1", 10)
    base = content_hash("sessions", session)
    assert content_hash("sessions", {**session, "startedAt": "2026-11-22T10:00:00+01:00"}) == base
    assert content_hash("sessions", {**session, "mutationIds": ["m1"]}) == base
    assert content_hash("sessions", {k: v for k, v in session.items() if k != "id"}) == base
    assert content_hash("sessions", {**session, "label": "other"}) != base
    assert (
        content_hash("sessions", {**session, "blockedApps": list(reversed(session["blockedApps"]))})
        != base
    )
    assert content_hash("sessions", {**session, "deleted": True}) != base
    device = doc("devices", "u1", "d1", 10)
    assert content_hash("devices", {**device, "fcmToken": "rotated"}) == content_hash(
        "devices", device
    )


def test_version_is_microseconds_since_the_epoch() -> None:
    ts = datetime(2026, 11, 22, 9, 0, 0, 123456, tzinfo=UTC)
    assert version_from_timestamp(ts) == 1795338000123456
    assert timestamp_from_version(version_from_timestamp(ts)) == ts
