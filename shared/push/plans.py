"""Push plans: how far ahead each schedule's pushes exist as tasks (`pushPlans/{id}`).

One document per schedule, written with the schedule in the same commit (so a schedule never
exists without its plan), holding a copy of the rule of the schedule's current revision and
`plannedUntil`: tasks exist for every event before it (`null` when the schedule is disabled).
The schedule document itself stays exactly the API fields (+ serverUpdatedAt, revision): a
refill that only moves `plannedUntil` does not touch it, so the PostgreSQL mirror sees no
change that is not one.

The hourly refill finds schedules to extend with one range query on `plannedUntil` (a
single-field index; top-level collection, so no collection-group index is needed). Document ids
are sha256 hex of (uid, schedule id): uniformly spread, no hot key range.
"""

from __future__ import annotations

import dataclasses
import hashlib
from datetime import datetime, time
from typing import TYPE_CHECKING, Any, Protocol

from shared import fs
from shared.metering import count_query_reads
from shared.recurrence import WeeklyRule

if TYPE_CHECKING:
    from google.cloud import firestore

PLANS = "pushPlans"


@dataclasses.dataclass(frozen=True)
class PlanRecord:
    uid: str
    schedule_id: str
    revision: int
    timezone: str
    days: tuple[str, ...]
    start: str  # HH:MM
    end: str
    enabled: bool
    planned_until: datetime | None
    update_time: datetime | None = None  # version of the stored document (preconditions)

    def rule(self) -> WeeklyRule:
        return WeeklyRule(
            timezone=self.timezone,
            days=frozenset(self.days),
            start=time.fromisoformat(self.start),
            end=time.fromisoformat(self.end),
        )

    def same_timing(self, other: PlanRecord) -> bool:
        return (self.timezone, frozenset(self.days), self.start, self.end, self.enabled) == (
            other.timezone,
            frozenset(other.days),
            other.start,
            other.end,
            other.enabled,
        )


def plan_id(uid: str, schedule_id: str) -> str:
    return hashlib.sha256(f"{uid}\0{schedule_id}".encode()).hexdigest()


def plan_to_doc(plan: PlanRecord, now: datetime) -> dict[str, Any]:
    return {
        "uid": plan.uid,
        "scheduleId": plan.schedule_id,
        "revision": plan.revision,
        "timezone": plan.timezone,
        "days": list(plan.days),
        "start": plan.start,
        "end": plan.end,
        "enabled": plan.enabled,
        "plannedUntil": plan.planned_until,
        "updatedAt": now,
    }


def plan_from_doc(data: dict[str, Any], update_time: datetime | None) -> PlanRecord:
    until = data.get("plannedUntil")
    return PlanRecord(
        uid=data["uid"],
        schedule_id=data["scheduleId"],
        revision=int(data["revision"]),
        timezone=data["timezone"],
        days=tuple(data["days"]),
        start=data["start"],
        end=data["end"],
        enabled=bool(data["enabled"]),
        planned_until=until if isinstance(until, datetime) else None,
        update_time=update_time,
    )


class PlanStore(Protocol):
    def due(
        self, before: datetime, limit: int, *, since: datetime | None = None, after: Any = None
    ) -> tuple[list[PlanRecord], Any]:
        """Plans with `since <= plannedUntil < before`, oldest first, and a cursor for the next
        page (pass it as `after`)."""

    def oldest_due(self, before: datetime) -> datetime | None:
        """The smallest `plannedUntil` below `before` (None when nothing is due)."""

    def advance(self, plan: PlanRecord, planned_until: datetime) -> bool:
        """Move `plannedUntil` if the plan is unchanged since read; False otherwise."""

    def for_user(self, uid: str) -> list[PlanRecord]: ...

    def delete_for_user(self, uid: str) -> int: ...

    def discard(self, uid: str, schedule_id: str, revision: int) -> bool:
        """Delete an orphaned plan (its schedule is gone) if it is still at `revision`."""


class FirestorePlanStore:
    def __init__(self, client: firestore.Client) -> None:
        self._db = client

    def ref(self, uid: str, schedule_id: str) -> firestore.DocumentReference:
        return self._db.collection(PLANS).document(plan_id(uid, schedule_id))

    def due(
        self, before: datetime, limit: int, *, since: datetime | None = None, after: Any = None
    ) -> tuple[list[PlanRecord], Any]:
        from google.cloud.firestore_v1.base_query import FieldFilter

        query = self._db.collection(PLANS).where(filter=FieldFilter("plannedUntil", "<", before))
        if since is not None:
            query = query.where(filter=FieldFilter("plannedUntil", ">=", since))
        query = query.order_by("plannedUntil")
        if after is not None:
            query = query.start_after(after)
        snaps = list(query.limit(limit).stream())
        count_query_reads(len(snaps))
        plans = [plan_from_doc(s.to_dict() or {}, s.update_time) for s in snaps]
        return plans, (snaps[-1] if snaps else None)

    def oldest_due(self, before: datetime) -> datetime | None:
        plans, _ = self.due(before, 1)
        return plans[0].planned_until if plans else None

    def advance(self, plan: PlanRecord, planned_until: datetime) -> bool:
        from google.api_core import exceptions

        from shared.clock import utcnow

        batch = self._db.batch()
        option = (
            self._db.write_option(last_update_time=plan.update_time)
            if plan.update_time is not None
            else None
        )
        batch.update(
            self.ref(plan.uid, plan.schedule_id),
            {"plannedUntil": planned_until, "updatedAt": utcnow()},
            option=option,
        )
        try:
            fs.commit(batch, writes=1)
        except (exceptions.FailedPrecondition, exceptions.NotFound):
            return False  # edited, disabled or deleted meanwhile: that path planned itself
        return True

    def for_user(self, uid: str) -> list[PlanRecord]:
        from google.cloud.firestore_v1.base_query import FieldFilter

        snaps = list(
            self._db.collection(PLANS).where(filter=FieldFilter("uid", "==", uid)).stream()
        )
        count_query_reads(len(snaps))
        return [plan_from_doc(s.to_dict() or {}, s.update_time) for s in snaps]

    def delete_for_user(self, uid: str) -> int:
        plans = self.for_user(uid)
        for chunk in fs.chunked(plans, fs.MAX_BATCH_WRITES):
            batch = self._db.batch()
            for plan in chunk:
                batch.delete(self.ref(plan.uid, plan.schedule_id))
            fs.commit(batch, writes=0, deletes=len(chunk))
        return len(plans)

    def discard(self, uid: str, schedule_id: str, revision: int) -> bool:
        from google.api_core import exceptions

        ref = self.ref(uid, schedule_id)
        snap = fs.get_all(self._db, [ref])[ref.path]
        if not snap.exists or (snap.to_dict() or {}).get("revision") != revision:
            return False
        batch = self._db.batch()
        fs.delete(self._db, batch, ref, snap)
        try:
            fs.commit(batch, writes=0, deletes=1)
        except exceptions.FailedPrecondition:
            return False  # rewritten meanwhile: it belongs to a live schedule again
        return True


class MemoryPlanStore:
    """`PlanStore` in memory (unit tests, benchmarks)."""

    def __init__(self) -> None:
        self.plans: dict[tuple[str, str], PlanRecord] = {}
        self._clock = 0

    def put(self, plan: PlanRecord) -> PlanRecord:
        self._clock += 1
        stored = dataclasses.replace(plan, update_time=datetime.fromtimestamp(self._clock))
        self.plans[(plan.uid, plan.schedule_id)] = stored
        return stored

    def due(
        self, before: datetime, limit: int, *, since: datetime | None = None, after: Any = None
    ) -> tuple[list[PlanRecord], Any]:
        rows = sorted(
            (
                p
                for p in self.plans.values()
                if p.planned_until is not None
                and p.planned_until < before
                and (since is None or p.planned_until >= since)
            ),
            key=lambda p: (p.planned_until, p.uid, p.schedule_id),
        )
        if after is not None:
            rows = [p for p in rows if (p.planned_until, p.uid, p.schedule_id) > after]
        page = rows[:limit]
        cursor = (page[-1].planned_until, page[-1].uid, page[-1].schedule_id) if page else None
        return page, cursor

    def oldest_due(self, before: datetime) -> datetime | None:
        plans, _ = self.due(before, 1)
        return plans[0].planned_until if plans else None

    def advance(self, plan: PlanRecord, planned_until: datetime) -> bool:
        current = self.plans.get((plan.uid, plan.schedule_id))
        if current is None or current.update_time != plan.update_time:
            return False
        self.put(dataclasses.replace(current, planned_until=planned_until))
        return True

    def for_user(self, uid: str) -> list[PlanRecord]:
        return [p for p in self.plans.values() if p.uid == uid]

    def delete_for_user(self, uid: str) -> int:
        doomed = [k for k, p in self.plans.items() if p.uid == uid]
        for key in doomed:
            del self.plans[key]
        return len(doomed)

    def discard(self, uid: str, schedule_id: str, revision: int) -> bool:
        current = self.plans.get((uid, schedule_id))
        if current is None or current.revision != revision:
            return False
        del self.plans[(uid, schedule_id)]
        return True
