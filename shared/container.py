"""Dependencies built once per instance, on first use (cosmicpython's `bootstrap`); `@once`
keeps that true when concurrent first requests ask for them together.

Handlers ask this module for the stores and sinks they pass to services; tests build services
with fakes instead and never touch this module.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from shared.once import once

if TYPE_CHECKING:
    from datetime import datetime

    from shared.accounts.repository import AccountStore
    from shared.changes import ChangeSink
    from shared.devices.repository import DeviceRegistry, DeviceStore, FirestoreDeviceStore
    from shared.migration.phased import PhasedDeviceStore
    from shared.privacy.derived import DerivedReader
    from shared.privacy.erasure import AccountEraser, MirrorEraser, PushCanceller
    from shared.privacy.export import AccountReader
    from shared.push.delivery import DeliveryService
    from shared.push.planner import PushPlanner
    from shared.push.plans import PlanStore
    from shared.push.refill import RefillService
    from shared.push.sync import SyncPushNotifier
    from shared.push.tasks import TaskQueue
    from shared.schedules.repository import ScheduleLister, ScheduleStore
    from shared.sessions.repository import SessionStore
    from shared.sql.consumer import Outcome as MirrorOutcome


@once
def change_sink() -> ChangeSink:
    """Every write path's hook: Pub/Sub (the mirror), and SQL at once for users in sql_primary."""
    from shared.migration.phased import PhasedChangeSink
    from shared.migration.phases import instance_phases
    from shared.sql.engine import mirror_store
    from shared.sql.publisher import PubSubChangeSink

    return PhasedChangeSink(PubSubChangeSink(), mirror_store, instance_phases())


@once
def account_store() -> AccountStore:
    from shared.accounts.repository import FirestoreAccountStore
    from shared.clients import firestore_client
    from shared.migration.phased import PhasedAccountStore
    from shared.migration.phases import instance_phases
    from shared.sql.engine import mirror_store

    # Firestore, or SQL alone for users whose `users` phase is sql_only; see MIGRATION.md.
    firestore_store = FirestoreAccountStore(firestore_client(), change_sink())
    return PhasedAccountStore(firestore_store, mirror_store, instance_phases())


@once
def _firestore_devices() -> FirestoreDeviceStore:
    from shared.clients import firestore_client
    from shared.devices.repository import FirestoreDeviceStore

    return FirestoreDeviceStore(firestore_client(), change_sink())


@once
def _devices() -> PhasedDeviceStore:
    from shared.migration.phased import PhasedDeviceStore
    from shared.migration.phases import instance_phases
    from shared.sql.engine import mirror_store

    # Firestore, or SQL once devices are sql_only (all at once); see MIGRATION.md.
    return PhasedDeviceStore(_firestore_devices(), mirror_store, instance_phases())


def device_store() -> DeviceStore:
    """Devices as the push capability sees them (list, drop a dead token, push bookkeeping)."""
    return _devices()


def device_registry() -> DeviceRegistry:
    """Devices as registerDevice / unregisterDevice see them."""
    return _devices()


@once
def account_reader() -> AccountReader:
    """The read side of exportAccount (Firestore; PostgreSQL once reads move there)."""
    from shared.clients import firestore_client
    from shared.migration.phased_reads import PhasedAccountReader
    from shared.migration.phases import instance_phases
    from shared.privacy.export_firestore import FirestoreAccountReader
    from shared.sql.engine import mirror_store

    reader = FirestoreAccountReader(firestore_client())
    return PhasedAccountReader(reader, mirror_store, instance_phases())


@once
def derived_reader() -> DerivedReader:
    """What exportAccount adds: Auth's record of the user and the push data derived for them."""
    from shared.privacy.derived import LiveDerivedReader

    return LiveDerivedReader(plan_store(), device_store())


@once
def push_canceller() -> PushCanceller:
    """Cancels a deleted user's pending pushes (tasks it can name, and the push plans)."""
    from shared.push.cancel import TaskPushCanceller

    return TaskPushCanceller(plan_store(), push_planner(), task_queue())


@once
def session_store() -> SessionStore:
    """Focus sessions (syncFocusSessions, purgeTombstones): Firestore, publishing every change."""
    from shared.clients import firestore_client
    from shared.migration.phased_reads import PhasedSessionStore
    from shared.migration.phases import instance_phases
    from shared.sessions.repository import FirestoreSessionStore
    from shared.sql.engine import mirror_store

    # The pull follows the user's `sessions` phase (shadow reads, SQL reads); see MIGRATION.md.
    firestore_store = FirestoreSessionStore(firestore_client(), change_sink())
    return PhasedSessionStore(firestore_store, mirror_store, instance_phases())


@once
def schedule_store() -> ScheduleStore:
    from shared.clients import firestore_client
    from shared.migration.phased import PhasedScheduleStore
    from shared.migration.phases import instance_phases
    from shared.schedules.repository import FirestoreScheduleStore
    from shared.sql.engine import mirror_store

    # Firestore, or SQL alone for users whose `schedules` phase is sql_only; see MIGRATION.md.
    firestore_store = FirestoreScheduleStore(firestore_client(), change_sink())
    return PhasedScheduleStore(firestore_store, mirror_store, instance_phases(), firestore_client())


@once
def schedule_lister() -> ScheduleLister:
    from shared.migration.phased_reads import PhasedScheduleLister
    from shared.migration.phases import instance_phases
    from shared.sql.engine import mirror_store

    # listSchedules follows the user's `schedules` phase; see MIGRATION.md.
    return PhasedScheduleLister(schedule_store(), mirror_store, instance_phases())


@once
def plan_store() -> PlanStore:
    from shared.clients import firestore_client
    from shared.push.plans import FirestorePlanStore

    return FirestorePlanStore(firestore_client())


@once
def task_queue() -> TaskQueue:
    """Cloud Tasks (the emulator locally), authenticated for `deliverPush`."""
    from shared.clients import tasks_client
    from shared.push.tasks import CloudTasksQueue
    from shared.settings import get_settings

    return CloudTasksQueue(tasks_client(), get_settings())


@once
def push_planner() -> PushPlanner:
    from shared.push.planner import PushPlanner
    from shared.ratelimit import PushTaskBudget, shared_limits

    return PushPlanner(task_queue(), plan_store(), PushTaskBudget(shared_limits()))


@once
def push_delivery() -> DeliveryService:
    from shared.push.delivery import DeliveryService
    from shared.push.h2_sender import Http2FcmSender

    # One HTTP/2 client per instance, shared by its concurrent deliveries (docs/PUSH.md).
    return DeliveryService(schedule_store(), device_store(), Http2FcmSender(), plan_store())


@once
def sync_notifier() -> SyncPushNotifier:
    """The "sync applied changes" hook of syncFocusSessions (a coalesced silent sync push)."""
    from shared.push.sync import SyncPushNotifier

    return SyncPushNotifier(task_queue())


@once
def push_refill() -> RefillService:
    import time

    from shared.clients import publish
    from shared.push.refill import REFILL_TOPIC, RefillService

    def publish_refill(data: bytes) -> None:
        publish(REFILL_TOPIC, [(data, {})])

    return RefillService(plan_store(), push_planner(), publish_refill, time.monotonic)


@once
def mirror_eraser() -> MirrorEraser:
    from shared.migration.phased import PhasedMirrorEraser
    from shared.migration.phases import instance_phases
    from shared.sql.engine import mirror_store
    from shared.sql.publisher import PubSubMirrorEraser

    return PhasedMirrorEraser(PubSubMirrorEraser(), mirror_store, instance_phases())


@once
def account_eraser() -> AccountEraser:
    from shared.clients import firestore_client
    from shared.clock import utcnow
    from shared.privacy.erasure import AccountEraser
    from shared.privacy.erasure_firestore import FirestoreErasureStore
    from shared.privacy.ports import FirebaseAuthUsers

    return AccountEraser(
        FirestoreErasureStore(firestore_client()),
        FirebaseAuthUsers(),
        mirror_eraser(),
        push_canceller(),
        utcnow,
    )


def mirror_consumer() -> Callable[[bytes, datetime], MirrorOutcome]:
    """`mirrorChanges`: applies one message body of `mirror-changes` to SQL."""
    from shared.sql.consumer import handle_message
    from shared.sql.engine import mirror_store

    store = mirror_store()  # built once per instance by the engine module
    return lambda data, now: handle_message(data, store.writer, now)


def reset() -> None:
    """Forget every built dependency (tests that switch emulators or settings)."""
    from shared.migration.phases import reset_instance_phases
    from shared.sql.engine import reset as reset_sql

    reset_instance_phases()
    reset_sql()
    for cached in (
        change_sink,
        account_store,
        _firestore_devices,
        _devices,
        account_reader,
        derived_reader,
        push_canceller,
        schedule_store,
        schedule_lister,
        session_store,
        plan_store,
        task_queue,
        push_planner,
        push_delivery,
        sync_notifier,
        push_refill,
        mirror_eraser,
        account_eraser,
    ):
        cached.cache_clear()
