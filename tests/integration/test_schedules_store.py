"""The schedule store and the push plans on the Firestore emulator: documents, last writer wins,
change records, op counts, and the refill's range query."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from shared.changes import CollectingSink
from shared.metering import metered
from shared.push.plans import FirestorePlanStore, plan_id
from shared.schedules.models import UpsertScheduleRequest
from shared.schedules.repository import FirestoreScheduleStore, decide_upsert
from shared.wire import parse

pytestmark = pytest.mark.stack

NOW = datetime(2026, 6, 15, 6, 0, tzinfo=UTC)


def schedule(**overrides: Any) -> Any:
    data: dict[str, Any] = {
        "id": "morning",
        "name": "Deep work",
        "timezone": "Europe/Paris",
        "days": ["mon", "tue"],
        "start": "09:00",
        "end": "12:00",
        "blockedApps": ["a.b"],
        "enabled": True,
        "updatedAt": "2026-06-15T05:59:00.000Z",
    }
    data.update(overrides)
    return parse(UpsertScheduleRequest, {"schedule": data}).schedule


@pytest.fixture
def sink() -> CollectingSink:
    return CollectingSink()


@pytest.fixture
def store(db: Any, sink: CollectingSink) -> FirestoreScheduleStore:
    return FirestoreScheduleStore(db, sink)


def doc(db: Any, *path: str) -> dict[str, Any] | None:
    snap = db.document("/".join(path)).get()
    return snap.to_dict() if snap.exists else None


def test_save_writes_the_schedule_and_its_plan_in_one_commit(
    db: Any, store: FirestoreScheduleStore, sink: CollectingSink
) -> None:
    with metered() as ops:
        outcome = store.save("alice", "morning", decide_upsert(schedule(), NOW), NOW)
    # A new schedule: the schedule, its plan and the user's change marker (2 reads, 3 writes),
    # and the cap's guard document and count() (2 reads) with the guard's rewrite (1 write).
    assert ops.as_dict() == {"reads": 4, "writes": 4, "deletes": 0}
    assert outcome.written and outcome.previous_plan is None
    stored = doc(db, "users", "alice", "schedules", "morning")
    assert stored is not None
    revision = stored.pop("revision")
    server_updated_at = stored.pop("serverUpdatedAt")
    assert revision == outcome.stored.revision > 0
    assert isinstance(server_updated_at, datetime)
    assert stored == {
        "id": "morning",
        "name": "Deep work",
        "timezone": "Europe/Paris",
        "days": ["mon", "tue"],
        "start": "09:00",
        "end": "12:00",
        "blockedApps": ["a.b"],
        "enabled": True,
        "updatedAt": datetime(2026, 6, 15, 5, 59, tzinfo=UTC),
    }
    plan = doc(db, "pushPlans", plan_id("alice", "morning"))
    assert plan is not None
    assert plan["revision"] == revision and plan["plannedUntil"] == NOW
    assert (plan["uid"], plan["scheduleId"], plan["enabled"]) == ("alice", "morning", True)
    [record] = sink.records
    assert (record.collection, record.uid, record.id, record.op) == (
        "schedules",
        "alice",
        "morning",
        "upsert",
    )
    assert record.data == schedule().to_wire()
    assert store.get("alice", "morning") == outcome.stored


def test_a_replay_or_an_older_version_writes_nothing(
    store: FirestoreScheduleStore, sink: CollectingSink
) -> None:
    first = store.save("alice", "morning", decide_upsert(schedule(), NOW), NOW)
    with metered() as ops:
        replay = store.save("alice", "morning", decide_upsert(schedule(), NOW), NOW)
        older = store.save(
            "alice",
            "morning",
            decide_upsert(schedule(name="x", updatedAt="2026-06-15T05:00:00.000Z"), NOW),
            NOW,
        )
    assert ops.as_dict() == {"reads": 4, "writes": 0, "deletes": 0}
    assert not replay.written and not older.written
    assert older.stored == first.stored
    # Each call republishes what is stored, at its stored version: a replay of a call that died
    # between its commit and its publish heals the mirror.
    written, *republished = sink.records
    assert republished == [written, written]


def test_an_edit_bumps_the_revision_and_rewrites_the_plan(
    db: Any, store: FirestoreScheduleStore
) -> None:
    first = store.save("alice", "morning", decide_upsert(schedule(), NOW), NOW)
    later = NOW + timedelta(seconds=5)
    edited = store.save(
        "alice",
        "morning",
        decide_upsert(schedule(start="10:00", updatedAt="2026-06-15T06:00:00.000Z"), later),
        later,
    )
    assert edited.written and edited.stored.revision > first.stored.revision
    assert edited.previous_plan is not None
    assert edited.previous_plan.revision == first.stored.revision
    plan = doc(db, "pushPlans", plan_id("alice", "morning"))
    assert plan is not None and plan["start"] == "10:00" and plan["plannedUntil"] == later


def test_disabled_schedules_are_not_due_for_refill(db: Any, store: FirestoreScheduleStore) -> None:
    store.save("alice", "off", decide_upsert(schedule(id="off", enabled=False), NOW), NOW)
    store.save("alice", "on", decide_upsert(schedule(id="on"), NOW), NOW)
    plans = FirestorePlanStore(db)
    due, _ = plans.due(NOW + timedelta(hours=24), 10)
    assert [(p.schedule_id, p.planned_until) for p in due] == [("on", NOW)]


def test_delete_removes_both_documents_and_mirrors_a_delete(
    db: Any, store: FirestoreScheduleStore, sink: CollectingSink
) -> None:
    store.save("alice", "morning", decide_upsert(schedule(), NOW), NOW)
    assert store.delete("bob", "morning") is None
    with metered() as ops:
        outcome = store.delete("alice", "morning")
    assert ops.as_dict() == {"reads": 2, "writes": 1, "deletes": 2}  # + the change marker
    assert outcome is not None and outcome.plan is not None
    assert doc(db, "users", "alice", "schedules", "morning") is None
    assert doc(db, "pushPlans", plan_id("alice", "morning")) is None
    record = sink.records[-1]
    assert (record.uid, record.op, record.data) == ("alice", "delete", None)
    assert record.version > sink.records[0].version
    # Deleting what is gone (a retry, or an id this user never had) republishes its absence,
    # at a version no older than the delete.
    assert store.delete("alice", "morning") is None
    again = sink.records[-1]
    assert (again.uid, again.id, again.op, again.data) == ("alice", "morning", "delete", None)
    assert again.version >= record.version
    bobs = [r for r in sink.records if r.uid == "bob"]
    assert [(r.id, r.op) for r in bobs] == [("morning", "delete")]


def test_list_reads_one_document_per_schedule(store: FirestoreScheduleStore) -> None:
    for name in ("a", "b", "c"):
        store.save("alice", name, decide_upsert(schedule(id=name), NOW), NOW)
    store.save("bob", "z", decide_upsert(schedule(id="z"), NOW), NOW)
    with metered() as ops:
        listed = store.list("alice")
    assert sorted(s.schedule.id for s in listed) == ["a", "b", "c"]
    assert ops.reads == 3


def test_plan_pages_advance_and_orphans_are_discarded(
    db: Any, store: FirestoreScheduleStore
) -> None:
    for i in range(5):
        at = NOW + timedelta(minutes=i)
        store.save(f"user{i}", "s", decide_upsert(schedule(id="s"), at), at)
    plans = FirestorePlanStore(db)
    first, cursor = plans.due(NOW + timedelta(hours=1), 2)
    second, cursor = plans.due(NOW + timedelta(hours=1), 2, after=cursor)
    assert [p.uid for p in first + second] == ["user0", "user1", "user2", "user3"]
    assert plans.oldest_due(NOW + timedelta(hours=1)) == NOW
    assert plans.advance(first[0], NOW + timedelta(hours=72))
    assert not plans.advance(first[0], NOW + timedelta(hours=73))  # read before the change
    sliced, _ = plans.due(NOW + timedelta(hours=1), 10, since=NOW + timedelta(minutes=3))
    assert [p.uid for p in sliced] == ["user3", "user4"]
    assert [p.schedule_id for p in plans.for_user("user2")] == ["s"]
    assert not plans.discard("user2", "s", revision=first[0].revision - 1)
    assert plans.discard("user2", "s", revision=plans.for_user("user2")[0].revision)
    assert plans.for_user("user2") == []
    assert plans.delete_for_user("user3") == 1 and plans.for_user("user3") == []
