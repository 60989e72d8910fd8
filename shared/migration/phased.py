"""Phase-aware wrappers around the Firestore stores: what sync, export and delete do per phase.

Each wrapper holds the Firestore implementation and reaches PostgreSQL only for users whose
phase asks for it, through a lazily built `SqlMirrorStore` (so `firestore_only` and
`dual_write` never open a connection). The stores whose writes follow the phase are here:

- `PhasedAccountStore` (bootstrapAccount): Firestore, or `SqlAccountStore` in `sql_only`.
- `PhasedChangeSink` (every write path): publishes to Pub/Sub as always; for a user in
  `sql_primary` it also applies the records to SQL before returning, so the client's next read
  (from SQL) sees its own write. A failure there fails the request; the client's retry is an
  idempotent replay that publishes and applies again.
- `PhasedScheduleStore` (schedule writes, push delivery): Firestore, or `SqlScheduleStore` in
  `sql_only`.
- `PhasedDeviceStore` (device callables, push delivery): Firestore, or `SqlDeviceStore` in
  `sql_only` (devices move all at once).
- `PhasedMirrorEraser` (deleteAccount): publishes `AccountErased` as always, and in
  `sql_primary` also erases the SQL rows before answering.

The reads a phase compares with SQL or serves from it (the sessions' pull, export,
listSchedules) are in phased_reads.py. Each adapter picks its store per user through the one
generic `PhaseRouter` (routing.py), on the decision of `GiveBackGate`; the adapters only hold
each Protocol's methods.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from shared.changes import ChangeRecord
from shared.migration.phases import Phases, at_least
from shared.migration.routing import (
    GiveBackGate,
    PhaseRouter,
    StoreGetter,
)
from shared.sql.events import ChangeBatch

if TYPE_CHECKING:
    from google.cloud import firestore

    from shared.accounts.models import UserProfile
    from shared.accounts.repository import AccountStore, FirestoreAccountStore, ProfilePlanner
    from shared.changes import ChangeSink
    from shared.devices.models import Device, RegisterDeviceRequest, StoredDevice
    from shared.devices.repository import FirestoreDeviceStore
    from shared.devices.sql import SqlDeviceStore
    from shared.privacy.erasure import MirrorEraser
    from shared.schedules.models import Schedule, StoredSchedule
    from shared.schedules.repository import Decide as ScheduleDecide
    from shared.schedules.repository import (
        DeleteOutcome,
        FirestoreScheduleStore,
        SaveOutcome,
        ScheduleStore,
    )


class PhasedChangeSink:
    """The `ChangeSink` of every write path (see the module docstring)."""

    def __init__(self, inner: ChangeSink, sql: StoreGetter, phases: Phases) -> None:
        self._inner = inner
        self._sql = sql
        self._phases = phases

    def publish(self, records: Sequence[ChangeRecord]) -> None:
        self._inner.publish(records)
        synchronous = [
            r for r in records if at_least(self._phases.of(r.collection, r.uid), "sql_primary")
        ]
        if synchronous:
            from shared.clock import utcnow

            result = self._sql().writer.apply(ChangeBatch(records=synchronous, emitted_at=utcnow()))
            if result.fenced:
                # SQL took these documents over (`sql_only`) while this instance's phase cache
                # still said `sql_primary`: this Firestore write is not the truth any more. The
                # app retries and reaches the SQL store.
                from shared.errors import Unavailable

                raise Unavailable("Your data is being moved; retry in a few seconds.")


class PhasedAccountStore:
    """`AccountStore` (bootstrapAccount) on Firestore, or on SQL alone (`SqlAccountStore`) for
    users whose `users` phase is `sql_only`. Reads of the profile by export follow the phase in
    `PhasedAccountReader`."""

    def __init__(
        self,
        inner: FirestoreAccountStore,
        sql: StoreGetter,
        phases: Phases,
        gate: GiveBackGate | None = None,
    ) -> None:
        def on_sql() -> AccountStore:
            from shared.accounts.sql import SqlAccountStore

            return SqlAccountStore(sql(), firestore_record=inner.current_record)

        self._router: PhaseRouter[AccountStore] = PhaseRouter(
            "users", inner, on_sql, gate or GiveBackGate(sql, phases)
        )

    def get_profile(self, uid: str) -> UserProfile | None:
        return self._router.store(uid).get_profile(uid)

    def save_profile(self, uid: str, plan: ProfilePlanner) -> tuple[UserProfile, bool]:
        return self._router.store(uid).save_profile(uid, plan)


# -- schedules ---------------------------------------------------------------------------------


class PhasedScheduleStore:
    """`ScheduleStore` (the schedule callables and push delivery) on Firestore, or on SQL alone
    (`SqlScheduleStore`, push plans staying in Firestore) for users whose `schedules` phase is
    `sql_only`."""

    def __init__(
        self,
        inner: FirestoreScheduleStore,
        sql: StoreGetter,
        phases: Phases,
        db: firestore.Client,
        gate: GiveBackGate | None = None,
    ) -> None:
        def on_sql() -> ScheduleStore:
            from shared.schedules.sql import SqlScheduleStore

            return SqlScheduleStore(sql(), db, inner.list_with_versions)

        self._router: PhaseRouter[ScheduleStore] = PhaseRouter(
            "schedules", inner, on_sql, gate or GiveBackGate(sql, phases, lambda: db)
        )
        self._store = self._router.store

    def list_schedules(self, uid: str) -> list[Schedule]:
        return self._store(uid).list_schedules(uid)

    def get(self, uid: str, schedule_id: str) -> StoredSchedule | None:
        return self._store(uid).get(uid, schedule_id)

    def list(self, uid: str) -> list[StoredSchedule]:
        return self._store(uid).list(uid)

    def save(
        self, uid: str, schedule_id: str, decide: ScheduleDecide, now: datetime
    ) -> SaveOutcome:
        return self._store(uid).save(uid, schedule_id, decide, now)

    def delete(self, uid: str, schedule_id: str) -> DeleteOutcome | None:
        return self._store(uid).delete(uid, schedule_id)


# -- devices -----------------------------------------------------------------------------------


class PhasedDeviceStore:
    """`DeviceRegistry` and `DeviceStore` on Firestore, or on SQL (`SqlDeviceStore`) once the
    `devices` phase is `sql_only` (all users at once: shared/devices/sql.py)."""

    def __init__(
        self,
        inner: FirestoreDeviceStore,
        sql: StoreGetter,
        phases: Phases,
        gate: GiveBackGate | None = None,
    ) -> None:
        def on_sql() -> FirestoreDeviceStore | SqlDeviceStore:
            from shared.devices.sql import SqlDeviceStore

            return SqlDeviceStore(sql())

        self._router: PhaseRouter[FirestoreDeviceStore | SqlDeviceStore] = PhaseRouter(
            "devices", inner, on_sql, gate or GiveBackGate(sql, phases)
        )
        self._store = self._router.store

    def register(
        self, uid: str, request: RegisterDeviceRequest, now: datetime, max_devices: int
    ) -> Device:
        return self._store(uid).register(uid, request, now, max_devices)

    def unregister(self, uid: str, device_id: str) -> bool:
        return self._store(uid).unregister(uid, device_id)

    def list_devices(self, uid: str) -> list[StoredDevice]:
        return self._store(uid).list_devices(uid)

    def clear_token(self, uid: str, device_id: str, token: str) -> bool:
        return self._store(uid).clear_token(uid, device_id, token)

    def update_push_state(
        self, uid: str, device_id: str, fields: dict[str, Any], expected_update_time: datetime
    ) -> datetime | None:
        store = self._store(uid)
        return store.update_push_state(uid, device_id, fields, expected_update_time)


# -- delete ------------------------------------------------------------------------------------


class PhasedMirrorEraser:
    """`MirrorEraser`: the `AccountErased` event always; in `sql_primary`, SQL at once too."""

    def __init__(self, inner: MirrorEraser, sql: StoreGetter, phases: Phases) -> None:
        self._inner = inner
        self._sql = sql
        self._phases = phases

    def erase_user(self, uid: str, version: int) -> None:
        self._inner.erase_user(uid, version)
        if self._sql_serves(uid):
            self._sql().writer.erase_user(uid, version)

    def newest_version(self, uid: str) -> int:
        return self._sql().writer.newest_version(uid) if self._sql_serves(uid) else 0

    def _sql_serves(self, uid: str) -> bool:
        from shared.changes import COLLECTIONS

        return any(at_least(self._phases.of(c, uid), "sql_primary") for c in COLLECTIONS)
