"""Firestore storage of schedules: `users/{uid}/schedules/{id}` and their push plans.

Document fields: the Schedule API fields in camelCase (`updatedAt` a timestamp), plus
`serverUpdatedAt` (the commit time) and `revision` (int, changed on every write: stale push
tasks recognise themselves by it). Each write commits the schedule and its push plan
(`pushPlans`, see shared/push/plans.py) in one batch with preconditions on what was read, then
hands the change to the dual-write layer; a call that writes nothing (a replay) hands over what
is stored again, so a crash between an earlier commit and its publish is healed by the retry.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from shared import fs
from shared.errors import ResourceExhausted
from shared.metering import count_query_reads
from shared.push.plans import FirestorePlanStore, PlanRecord, plan_from_doc, plan_to_doc
from shared.schedules.models import (
    MAX_SCHEDULES_PER_USER,
    StoredSchedule,
    schedule_cap_message,
    schedule_from_doc,
    schedule_to_doc,
)

if TYPE_CHECKING:
    from google.cloud import firestore

    from shared.changes import ChangeRecord, ChangeSink
    from shared.schedules.models import Schedule

USERS = "users"
SCHEDULES = "schedules"
# `users/{uid}/guards/schedules`: a document with no data that every new schedule rewrites in its
# own batch, under a precondition on the version read before counting. Two concurrent creations
# cannot both pass the cap: the second one's batch fails on the guard and is decided again with
# a count that includes the first. It lives under the user, so erasure deletes it.
GUARDS = "guards"
AGGREGATION_ENTRIES_PER_READ = 1000  # a count() bills one read per 1000 index entries

Decide = Callable[[StoredSchedule | None], StoredSchedule | None]


@dataclasses.dataclass(frozen=True)
class SaveOutcome:
    stored: StoredSchedule  # what is stored now: the written version or the one that won
    written: bool
    plan: PlanRecord  # the push plan of `stored` (with its document version)
    previous_plan: PlanRecord | None  # the plan it replaced, if any


@dataclasses.dataclass(frozen=True)
class DeleteOutcome:
    stored: StoredSchedule
    plan: PlanRecord | None


class ScheduleLister(Protocol):
    """What `listSchedules` reads: the user's schedules, in any order."""

    def list_schedules(self, uid: str) -> list[Schedule]: ...


class ScheduleStore(ScheduleLister, Protocol):
    def get(self, uid: str, schedule_id: str) -> StoredSchedule | None: ...

    def list(self, uid: str) -> list[StoredSchedule]: ...

    def save(self, uid: str, schedule_id: str, decide: Decide, now: datetime) -> SaveOutcome:
        """Read the schedule, let `decide` choose what to write (None: keep it), write it and
        its push plan atomically. A plan missing or behind the schedule is repaired even when
        the schedule is kept. A new schedule past `MAX_SCHEDULES_PER_USER` raises
        `ResourceExhausted` and writes nothing."""

    def delete(self, uid: str, schedule_id: str) -> DeleteOutcome | None:
        """Delete the schedule and its plan; None when there was no such schedule."""


def plan_for(uid: str, stored: StoredSchedule, now: datetime) -> PlanRecord:
    """A fresh plan of a newly written revision: nothing planned beyond `now` yet."""
    s = stored.schedule
    return PlanRecord(
        uid=uid,
        schedule_id=s.id,
        revision=stored.revision,
        timezone=s.timezone,
        days=tuple(s.days),
        start=s.start,
        end=s.end,
        enabled=s.enabled,
        planned_until=now if s.enabled else None,
    )


class FirestoreScheduleStore:
    """`ScheduleStore` on Firestore. upsert: 2 reads, 3 writes when it changes (the schedule,
    its plan and the user's change marker; a new schedule adds the cap check: 2 reads, the
    guard and a count(), and 1 write, the guard); delete: 2 reads, 2 deletes and 1 write (the
    marker); list: 1 read per schedule."""

    def __init__(
        self,
        client: firestore.Client,
        changes: ChangeSink,
        max_schedules: int = MAX_SCHEDULES_PER_USER,
    ) -> None:
        self._db = client
        self._changes = changes
        self._plans = FirestorePlanStore(client)
        self._max_schedules = max_schedules

    def _collection(self, uid: str) -> firestore.CollectionReference:
        ref: firestore.CollectionReference = (
            self._db.collection(USERS).document(uid).collection(SCHEDULES)
        )
        return ref

    def list_with_versions(self, uid: str) -> list[tuple[StoredSchedule, int]]:
        """Every schedule of `uid` with its mirror version (its `update_time`): what a SQL store
        copies when it takes the schedules over. One read per schedule."""
        snaps = list(self._collection(uid).stream())
        count_query_reads(len(snaps))
        return [
            (schedule_from_doc(s.id, s.to_dict() or {}), fs.version_of(s.update_time))
            for s in snaps
        ]

    @property
    def plans(self) -> FirestorePlanStore:
        """The push plans, which stay in Firestore in every phase (docs/MIGRATION.md)."""
        return self._plans

    def list_schedules(self, uid: str) -> list[Schedule]:
        return [stored.schedule for stored in self.list(uid)]

    def get(self, uid: str, schedule_id: str) -> StoredSchedule | None:
        ref = self._collection(uid).document(schedule_id)
        snap = fs.get_all(self._db, [ref])[ref.path]
        return schedule_from_doc(snap.id, snap.to_dict() or {}) if snap.exists else None

    def list(self, uid: str) -> list[StoredSchedule]:
        return [stored for stored, _ in self.list_with_versions(uid)]

    def save(self, uid: str, schedule_id: str, decide: Decide, now: datetime) -> SaveOutcome:
        from google.cloud import firestore as fs_module

        ref = self._collection(uid).document(schedule_id)
        plan_ref = self._plans.ref(uid, schedule_id)

        def attempt() -> SaveOutcome:
            snaps = fs.get_all(self._db, [ref, plan_ref])
            snap, plan_snap = snaps[ref.path], snaps[plan_ref.path]
            existing = schedule_from_doc(snap.id, snap.to_dict() or {}) if snap.exists else None
            previous_plan = (
                plan_from_doc(plan_snap.to_dict() or {}, plan_snap.update_time)
                if plan_snap.exists
                else None
            )
            chosen = decide(existing)
            if chosen is None:
                assert existing is not None, "decide keeps only what exists"
                # Nothing to write, but publish what is stored again: this call may be the
                # retry of one that died between its commit and its publish.
                self._publish_upsert(uid, existing, fs.read_version(snap))
                if previous_plan is not None and previous_plan.revision == existing.revision:
                    return SaveOutcome(existing, False, previous_plan, previous_plan)
                # The plan is missing or behind (a crash between writes in an older version):
                # rewrite it alone.
                plan = plan_for(uid, existing, now)
                batch = self._db.batch()
                fs.put(self._db, batch, plan_ref, plan_snap, plan_to_doc(plan, now))
                (plan_result,) = fs.commit(batch, writes=1)
                plan = dataclasses.replace(plan, update_time=plan_result.update_time)
                return SaveOutcome(existing, False, plan, previous_plan)
            plan = plan_for(uid, chosen, now)
            batch = self._db.batch()
            fs.put(self._db, batch, ref, snap, schedule_to_doc(chosen, fs_module.SERVER_TIMESTAMP))
            fs.put(self._db, batch, plan_ref, plan_snap, plan_to_doc(plan, now))
            guarded = 0
            if existing is None:
                self._claim_room(batch, uid)
                guarded = 1
            fs.mark_changed(self._db, batch, uid)
            result, plan_result = fs.commit(batch, writes=3 + guarded)[:2]
            plan = dataclasses.replace(plan, update_time=plan_result.update_time)
            self._publish_upsert(uid, chosen, fs.version_of(result.update_time))
            return SaveOutcome(chosen, True, plan, previous_plan)

        return fs.run_optimistic(attempt)

    def _claim_room(self, batch: firestore.WriteBatch, uid: str) -> None:
        """Refuse a new schedule past the cap, else add the guard's rewrite to `batch` (see
        `GUARDS`). The guard is read before the count, so a creation that commits between the
        two fails this batch's precondition instead of slipping past the count."""
        guard_ref = self._db.collection(USERS).document(uid).collection(GUARDS).document(SCHEDULES)
        guard = fs.get_all(self._db, [guard_ref])[guard_ref.path]
        result = self._collection(uid).count(alias="n").get()  # type: ignore[no-untyped-call]
        total = int(result[0][0].value)
        count_query_reads(-(-total // AGGREGATION_ENTRIES_PER_READ))
        if total >= self._max_schedules:
            raise ResourceExhausted(schedule_cap_message(self._max_schedules))
        from google.cloud import firestore as fs_module

        fs.put(self._db, batch, guard_ref, guard, {"claimedAt": fs_module.SERVER_TIMESTAMP})

    def delete(self, uid: str, schedule_id: str) -> DeleteOutcome | None:
        ref = self._collection(uid).document(schedule_id)
        plan_ref = self._plans.ref(uid, schedule_id)

        def attempt() -> DeleteOutcome | None:
            snaps = fs.get_all(self._db, [ref, plan_ref])
            snap, plan_snap = snaps[ref.path], snaps[plan_ref.path]
            plan = (
                plan_from_doc(plan_snap.to_dict() or {}, plan_snap.update_time)
                if plan_snap.exists
                else None
            )
            if not snap.exists:
                # Gone already: publish its absence again, in case this call is the retry of
                # one that died between its commit and its publish.
                self._publish_delete(uid, schedule_id, fs.read_version(snap))
                return None
            stored = schedule_from_doc(snap.id, snap.to_dict() or {})
            batch = self._db.batch()
            fs.delete(self._db, batch, ref, snap)
            if plan_snap.exists:
                fs.delete(self._db, batch, plan_ref, plan_snap)
            fs.mark_changed(self._db, batch, uid)
            fs.commit(batch, writes=1, deletes=2 if plan_snap.exists else 1)
            # A delete has no update_time: its version is the commit time.
            commit_time: datetime = batch.commit_time  # type: ignore[assignment]
            self._publish_delete(uid, schedule_id, fs.version_of(commit_time))
            return DeleteOutcome(stored, plan)

        return fs.run_optimistic(attempt)

    def _publish_upsert(self, uid: str, stored: StoredSchedule, version: int) -> None:
        self._changes.publish([schedule_record(uid, stored, version)])

    def _publish_delete(self, uid: str, schedule_id: str, version: int) -> None:
        from shared.changes import ChangeRecord

        record = ChangeRecord(
            collection="schedules", uid=uid, id=schedule_id, op="delete", version=version, data=None
        )
        self._changes.publish([record])


def schedule_record(uid: str, stored: StoredSchedule, version: int) -> ChangeRecord:
    """The mirror's record of a stored schedule (every store that writes one publishes this)."""
    from shared.changes import ChangeRecord

    data = stored.schedule.to_wire()
    return ChangeRecord(
        collection="schedules", uid=uid, id=data["id"], op="upsert", version=version, data=data
    )


def decide_upsert(incoming: Schedule, now: datetime) -> Decide:
    from shared.schedules.models import plan_upsert

    return lambda existing: plan_upsert(existing, incoming, now)
