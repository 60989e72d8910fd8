"""`ScheduleStore` on PostgreSQL: where a user's schedules live once the `schedules` phase is
`sql_only`.

Same contract as the Firestore store (shared/schedules/repository.py): last writer wins decided
by the pure `decide`, a new revision on every write, and the schedule's push plan kept in step
with it. The rows are the mirror's own `schedules` rows plus their `revision`, so export, delete
and reconcile read them as before.

**Push plans stay in Firestore** (`pushPlans`): they are push bookkeeping, not user data, and
the refill job queries them across users. So a save is two commits: the schedule in SQL, then
its plan in Firestore, each atomic. A crash between them leaves the plan behind the schedule,
which the client's retry repairs (a replay finds the schedule kept and the plan behind, exactly
as the Firestore store repairs one), and delivery drops pushes of stale revisions meanwhile. A
delete removes the plan first and the schedule last: a crash between them leaves a schedule
without a plan, which the retry deletes.

**Taking over** copies the user's Firestore schedules (with their revisions) into SQL, removes
rows the mirror still holds for schedules Firestore no longer has (a delete in flight), and
records the ownership in `sql_owners`, all under the user's advisory lock; from then on the
mirror fences Firestore's copies (`ownership.sql_owned`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, delete, func, select

from shared import fs
from shared.errors import ResourceExhausted
from shared.push.plans import FirestorePlanStore, PlanRecord, plan_from_doc, plan_to_doc
from shared.schedules.models import (
    MAX_SCHEDULES_PER_USER,
    StoredSchedule,
    schedule_cap_message,
    schedule_from_doc,
)
from shared.schedules.repository import (
    Decide,
    DeleteOutcome,
    SaveOutcome,
    plan_for,
    schedule_record,
)
from shared.sql.ownership import lock_users, sql_owns, take_over
from shared.sql.schema import data_from_row, metadata, row_from_record
from shared.sql.store import SqlMirrorStore
from shared.sql.writes import next_version

if TYPE_CHECKING:
    from google.cloud import firestore

    from shared.schedules.models import Schedule

_schedules = metadata.tables["schedules"]
FirestoreSchedules = Callable[[str], list[tuple[StoredSchedule, int]]]


class SqlScheduleStore:
    """`ScheduleStore` on PostgreSQL, push plans on Firestore (see the module docstring).

    Per call: reads one indexed SQL read; a save one SQL transaction plus the plan (1 Firestore
    read, 1 write when the schedule changed); a delete one SQL transaction, 1 Firestore read and
    1 delete. The takeover reads the user's Firestore schedules once.
    """

    def __init__(
        self,
        mirror: SqlMirrorStore,
        db: firestore.Client,
        firestore_schedules: FirestoreSchedules,
        clock: Callable[[], datetime] | None = None,
        max_schedules: int = MAX_SCHEDULES_PER_USER,
    ) -> None:
        from shared.clock import utcnow

        self._max_schedules = max_schedules
        self._mirror = mirror
        self._engine = mirror.engine
        self._db = db
        self._plans = FirestorePlanStore(db)
        self._firestore_schedules = firestore_schedules
        self._clock = clock or utcnow

    # -- reads -------------------------------------------------------------------------------

    def list_schedules(self, uid: str) -> list[Schedule]:
        return [stored.schedule for stored in self.list(uid)]

    def get(self, uid: str, schedule_id: str) -> StoredSchedule | None:
        self._ensure_owned(uid)
        with self._engine.connect() as conn:
            return _get(conn, uid, schedule_id)

    def list(self, uid: str) -> list[StoredSchedule]:
        self._ensure_owned(uid)
        query = select(_schedules).where(_schedules.c.user_id == uid).order_by(_schedules.c.id)
        with self._engine.connect() as conn:
            return [stored_from_row(row) for row in conn.execute(query).mappings()]

    # -- writes ------------------------------------------------------------------------------

    def save(self, uid: str, schedule_id: str, decide: Decide, now: datetime) -> SaveOutcome:
        with self._engine.begin() as conn:
            lock_users(conn, {uid})
            self._own(conn, uid)
            existing = _get(conn, uid, schedule_id)
            chosen = decide(existing)
            # The user's lock makes the count exact: no other save of theirs runs meanwhile.
            if existing is None and chosen is not None and _count(conn, uid) >= self._max_schedules:
                raise ResourceExhausted(schedule_cap_message(self._max_schedules))
            if chosen is not None:
                version = next_version(conn, "schedules", uid, [schedule_id], self._clock())
                row = schedule_row(uid, chosen, version)
                if self._mirror.writer.upsert_rows(conn, "schedules", [row]) != 1:
                    raise RuntimeError(f"schedule {uid}/{schedule_id} not written")
        stored = chosen if chosen is not None else existing
        assert stored is not None, "decide keeps only what exists"
        plan, previous = self._plan_in_step(uid, stored, now)
        return SaveOutcome(stored, chosen is not None, plan, previous)

    def delete(self, uid: str, schedule_id: str) -> DeleteOutcome | None:
        with self._engine.begin() as conn:
            lock_users(conn, {uid})
            self._own(conn, uid)
            stored = _get(conn, uid, schedule_id)
            if stored is None:
                return None
            ref = self._plans.ref(uid, schedule_id)

            def drop_plan() -> PlanRecord | None:
                snap = fs.get_all(self._db, [ref])[ref.path]
                if not snap.exists:
                    return None
                batch = self._db.batch()
                fs.delete(self._db, batch, ref, snap)
                fs.commit(batch, writes=0, deletes=1)
                return _plan(snap)

            # The plan first (see the module docstring); redone if it was rewritten meanwhile.
            plan = fs.run_optimistic(drop_plan)
            conn.execute(
                delete(_schedules).where(
                    _schedules.c.user_id == uid, _schedules.c.id == schedule_id
                )
            )
        return DeleteOutcome(stored, plan)

    # -- internals ---------------------------------------------------------------------------

    def _plan_in_step(
        self, uid: str, stored: StoredSchedule, now: datetime
    ) -> tuple[PlanRecord, PlanRecord | None]:
        """The schedule's push plan, rewritten if it is missing or of another revision;
        (plan, the plan it replaced). Redone on a concurrent plan write, against the schedule
        as SQL holds it then (a later save may have committed meanwhile)."""
        schedule_id = stored.schedule.id
        ref = self._plans.ref(uid, schedule_id)
        first = stored

        def attempt() -> tuple[PlanRecord, PlanRecord | None]:
            current = self._current(uid, schedule_id) or first
            snap = fs.get_all(self._db, [ref])[ref.path]
            previous = _plan(snap)
            if previous is not None and previous.revision == current.revision:
                return previous, previous
            plan = plan_for(uid, current, now)
            batch = self._db.batch()
            fs.put(self._db, batch, ref, snap, plan_to_doc(plan, now))
            (result,) = fs.commit(batch, writes=1)
            return dataclasses.replace(plan, update_time=result.update_time), previous

        return fs.run_optimistic(attempt)

    def _current(self, uid: str, schedule_id: str) -> StoredSchedule | None:
        with self._engine.connect() as conn:
            return _get(conn, uid, schedule_id)

    def _ensure_owned(self, uid: str) -> None:
        with self._engine.connect() as conn:
            if sql_owns(conn, "schedules", uid):
                return
        with self._engine.begin() as conn:
            lock_users(conn, {uid})
            self._own(conn, uid)

    def _own(self, conn: Connection, uid: str) -> None:
        """Take the user's schedules over from Firestore if SQL does not own them yet (the
        caller holds the user's lock)."""
        if sql_owns(conn, "schedules", uid):
            return
        rows = [
            schedule_row(uid, stored, version) for stored, version in self._firestore_schedules(uid)
        ]
        if rows:
            self._mirror.writer.upsert_rows(conn, "schedules", rows, same_version_too=True)
        kept = [row["id"] for row in rows]
        conn.execute(
            delete(_schedules).where(_schedules.c.user_id == uid, _schedules.c.id.not_in(kept))
        )
        take_over(conn, "schedules", uid)


def schedule_row(uid: str, stored: StoredSchedule, version: int) -> dict[str, Any]:
    """The table row of a schedule: the mirror's columns plus its push revision."""
    return {**row_from_record(schedule_record(uid, stored, version)), "revision": stored.revision}


def _plan(snap: Any) -> PlanRecord | None:
    return plan_from_doc(snap.to_dict() or {}, snap.update_time) if snap.exists else None


def _count(conn: Connection, uid: str) -> int:
    query = select(func.count()).select_from(_schedules).where(_schedules.c.user_id == uid)
    return int(conn.execute(query).scalar_one())


def _get(conn: Connection, uid: str, schedule_id: str) -> StoredSchedule | None:
    row = (
        conn.execute(
            select(_schedules).where(_schedules.c.user_id == uid, _schedules.c.id == schedule_id)
        )
        .mappings()
        .first()
    )
    return stored_from_row(row) if row is not None else None


def stored_from_row(row: Any) -> StoredSchedule:
    data = data_from_row("schedules", row)
    return schedule_from_doc(row["id"], {**data, "revision": row["revision"] or 0})
