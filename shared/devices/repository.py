"""Firestore storage of devices (`users/{uid}/devices/{deviceId}`) and token ownership
(`fcmTokens/{sha256(token)}` = {uid, deviceId, token}).

Two views of the same store: `DeviceRegistry` for the callables, `DeviceStore` for the push
capability (which reads devices, drops tokens FCM reports unregistered, and keeps its own `push*`
bookkeeping on the device documents).

Every write is one atomic batch with preconditions on what was read (shared/fs.py), so a token
can never end up on two devices, even when two phones race to register it. Each written device
is handed to the dual-write layer after the commit; a call that writes no device (a replay, or
an app registering on every start) hands over what is stored again, so a crash between an
earlier commit and its publish is healed by the retry.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from shared import fs
from shared.devices.models import (
    DEVICES,
    FCM_TOKENS,
    Device,
    RegisterDeviceRequest,
    StoredDevice,
    TokenOwner,
    check_push_fields,
    cleared_token_fields,
    device_from_doc,
    plan_register,
    stored_device,
    token_id,
)
from shared.errors import ResourceExhausted
from shared.metering import count_query_reads

if TYPE_CHECKING:
    from google.cloud import firestore

    from shared.changes import ChangeRecord, ChangeSink

USERS = "users"
AGGREGATION_ENTRIES_PER_READ = 1000  # a count() bills one read per 1000 index entries


class DeviceStore(Protocol):
    """What the push capability uses."""

    def list_devices(self, uid: str) -> list[StoredDevice]:
        """Every device of `uid` (at most the device limit, plus a few after a race)."""

    def clear_token(self, uid: str, device_id: str, token: str) -> bool:
        """Drop `token` from the device and from `fcmTokens`, only if the device still holds
        that token (it may have registered a new one meanwhile). True when the device lost it."""

    def update_push_state(
        self,
        uid: str,
        device_id: str,
        fields: dict[str, Any],
        expected_update_time: datetime,
    ) -> datetime | None:
        """Write `push*` fields (values or `firestore.DELETE_FIELD`) if the device document is
        still at `expected_update_time` (`StoredDevice.update_time`). Returns the new update
        time, or None when the device changed or is gone (re-read and decide again)."""


class DeviceRegistry(Protocol):
    """What the device callables use."""

    def register(
        self, uid: str, request: RegisterDeviceRequest, now: datetime, max_devices: int
    ) -> Device:
        """Upsert the device and move its token to it; `ResourceExhausted` past the limit."""

    def unregister(self, uid: str, device_id: str) -> bool:
        """Delete the device and its token ownership; False when there is no such device."""


class FirestoreDeviceStore:
    """`DeviceRegistry` and `DeviceStore` on Firestore.

    registerDevice costs 2 reads and no write when nothing changed (the usual app start); a
    new device adds a count() (1 read) and 3 writes (device, token owner, the user's change
    marker); a token moving from another device adds 1 read and 2 writes (that device and its
    owner's marker), a rotated token 1 read and 1 delete. Every commit that writes or deletes
    a device rewrites its owner's change marker (shared/changes.py).
    """

    def __init__(self, client: firestore.Client, changes: ChangeSink) -> None:
        self._db = client
        self._changes = changes

    # -- references --------------------------------------------------------------------------

    def _devices(self, uid: str) -> firestore.CollectionReference:
        devices: firestore.CollectionReference = (
            self._db.collection(USERS).document(uid).collection(DEVICES)
        )
        return devices

    def _device_ref(self, uid: str, device_id: str) -> firestore.DocumentReference:
        return self._devices(uid).document(device_id)

    def _token_ref(self, token: str) -> firestore.DocumentReference:
        return self._db.collection(FCM_TOKENS).document(token_id(token))

    # -- DeviceRegistry ----------------------------------------------------------------------

    def register(
        self, uid: str, request: RegisterDeviceRequest, now: datetime, max_devices: int
    ) -> Device:
        device_ref = self._device_ref(uid, request.device_id)
        token_ref = self._token_ref(request.fcm_token)

        def attempt() -> Device:
            snaps = fs.get_all(self._db, [device_ref, token_ref])
            device_snap, token_snap = snaps[device_ref.path], snaps[token_ref.path]
            existing = device_snap.to_dict() if device_snap.exists else None
            owner = _owner(token_snap)
            plan = plan_register(uid, request, existing, owner, now)
            if plan.device_fields is None and not plan.write_token_doc and plan.stale_token is None:
                # Nothing to write, but publish what is stored again: this call may be the
                # retry of one that died between its commit and its publish.
                version = fs.read_version(device_snap)
                self._publish_records([device_record(uid, plan.device, version)])
                return plan.device
            if plan.is_new and self.count_devices(uid) >= max_devices:
                raise ResourceExhausted(
                    f"At most {max_devices} devices per account; unregister one first."
                )
            # Known only now: where the token was, and this device's former token.
            previous_ref = (
                self._device_ref(plan.previous_owner.uid, plan.previous_owner.device_id)
                if plan.previous_owner is not None and plan.previous_owner.device_id
                else None
            )
            stale_ref = self._token_ref(plan.stale_token) if plan.stale_token else None
            more = fs.get_all(self._db, [r for r in (previous_ref, stale_ref) if r is not None])

            batch = self._db.batch()
            writes = deletes = 0
            published: list[tuple[int, str, str, dict[str, Any]]] = []  # (result, uid, id, data)
            if plan.device_fields is not None:
                fs.put(self._db, batch, device_ref, device_snap, plan.device_fields)
                published.append((writes, uid, request.device_id, plan.device.to_wire()))
                writes += 1
            if plan.write_token_doc:
                token_doc = {"uid": uid, "deviceId": request.device_id, "token": request.fcm_token}
                fs.put(self._db, batch, token_ref, token_snap, token_doc)
                writes += 1
            if previous_ref is not None and plan.previous_owner is not None:
                previous_snap = more[previous_ref.path]
                previous = previous_snap.to_dict() if previous_snap.exists else None
                if previous and previous.get("fcmToken") == request.fcm_token:
                    fs.put(self._db, batch, previous_ref, previous_snap, cleared_token_fields(now))
                    data = device_from_doc(previous).to_wire()
                    published.append((writes, plan.previous_owner.uid, previous_ref.id, data))
                    writes += 1
            if stale_ref is not None:
                stale_snap = more[stale_ref.path]
                stale_owner = TokenOwner.from_doc(
                    stale_snap.to_dict() if stale_snap.exists else None
                )
                if stale_owner == TokenOwner(uid, request.device_id):
                    fs.delete(self._db, batch, stale_ref, stale_snap)
                    deletes += 1
            # The change markers of the users whose devices this commit writes, last, so the
            # results above keep their positions.
            for owner_uid in dict.fromkeys(owner for _, owner, _, _ in published):
                fs.mark_changed(self._db, batch, owner_uid)
                writes += 1
            results = fs.commit(batch, writes=writes, deletes=deletes)
            records = [
                _upsert_data(owner_uid, device_id, data, fs.version_of(results[i].update_time))
                for i, owner_uid, device_id, data in published
            ]
            if plan.device_fields is None:  # only token documents changed: republish the device
                version = fs.read_version(device_snap)
                records.append(device_record(uid, plan.device, version))
            self._publish_records(records)
            return plan.device

        return fs.run_optimistic(attempt)

    def count_devices(self, uid: str) -> int:
        """Devices of `uid` by a count() aggregation: 1 read per 1000 devices, not per device."""
        result = self._devices(uid).count(alias="n").get()  # type: ignore[no-untyped-call]
        total = int(result[0][0].value)
        count_query_reads(-(-total // AGGREGATION_ENTRIES_PER_READ))
        return total

    def unregister(self, uid: str, device_id: str) -> bool:
        device_ref = self._device_ref(uid, device_id)

        def attempt() -> bool:
            device_snap = fs.get_all(self._db, [device_ref])[device_ref.path]
            if not device_snap.exists:
                # Gone already: publish its absence again, in case this call is the retry of
                # one that died between its commit and its publish.
                self._publish_records([_delete(uid, device_id, fs.read_version(device_snap))])
                return False
            token = (device_snap.to_dict() or {}).get("fcmToken")
            batch = self._db.batch()
            fs.delete(self._db, batch, device_ref, device_snap)
            deletes = 1
            if isinstance(token, str):
                token_ref = self._token_ref(token)
                token_snap = fs.get_all(self._db, [token_ref])[token_ref.path]
                if _owner(token_snap) == TokenOwner(uid, device_id):
                    fs.delete(self._db, batch, token_ref, token_snap)
                    deletes += 1
            fs.mark_changed(self._db, batch, uid)
            fs.commit(batch, writes=1, deletes=deletes)
            # A delete has no update_time: its version is the commit time.
            commit_time: datetime = batch.commit_time  # type: ignore[assignment]
            self._publish_records([_delete(uid, device_id, fs.version_of(commit_time))])
            return True

        return fs.run_optimistic(attempt)

    # -- DeviceStore -------------------------------------------------------------------------

    def list_devices(self, uid: str) -> list[StoredDevice]:
        snaps = list(self._devices(uid).stream())
        count_query_reads(len(snaps))
        devices = []
        for snap in snaps:
            data = snap.to_dict() or {}
            if "platform" in data and "registeredAt" in data:
                devices.append(stored_device({**data, "deviceId": snap.id}, snap.update_time))
        return devices

    def clear_token(self, uid: str, device_id: str, token: str) -> bool:
        from shared.clock import utcnow

        device_ref = self._device_ref(uid, device_id)
        token_ref = self._token_ref(token)

        def attempt() -> bool:
            snaps = fs.get_all(self._db, [device_ref, token_ref])
            device_snap, token_snap = snaps[device_ref.path], snaps[token_ref.path]
            device = device_snap.to_dict() if device_snap.exists else None
            holds = device is not None and device.get("fcmToken") == token
            owned = _owner(token_snap) == TokenOwner(uid, device_id)
            if not holds and not owned:
                return False
            batch = self._db.batch()
            writes = deletes = 0
            if holds:
                fs.put(self._db, batch, device_ref, device_snap, cleared_token_fields(utcnow()))
                writes += 1
            if owned:
                fs.delete(self._db, batch, token_ref, token_snap)
                deletes += 1
            if holds:
                fs.mark_changed(self._db, batch, uid)
                writes += 1
            results = fs.commit(batch, writes=writes, deletes=deletes)
            if holds and device is not None:
                data = device_from_doc(device).to_wire()
                version = fs.version_of(results[0].update_time)
                self._publish_records([_upsert_data(uid, device_id, data, version)])
            return holds

        return fs.run_optimistic(attempt)

    def update_push_state(
        self,
        uid: str,
        device_id: str,
        fields: dict[str, Any],
        expected_update_time: datetime,
    ) -> datetime | None:
        from google.api_core import exceptions

        check_push_fields(fields)
        if not fields:
            return expected_update_time
        ref = self._device_ref(uid, device_id)
        batch = self._db.batch()
        batch.update(
            ref, fields, option=self._db.write_option(last_update_time=expected_update_time)
        )
        try:
            (result,) = fs.commit(batch, writes=1)
        except (exceptions.FailedPrecondition, exceptions.NotFound):
            return None
        # Push bookkeeping is not mirrored content (the mirror keeps API fields only).
        update_time: datetime = result.update_time
        return update_time

    # -- helpers -----------------------------------------------------------------------------

    def _publish_records(self, records: list[ChangeRecord]) -> None:
        if records:
            self._changes.publish(records)


def _upsert_data(uid: str, device_id: str, data: dict[str, Any], version: int) -> ChangeRecord:
    from shared.changes import ChangeRecord

    return ChangeRecord(
        collection="devices", uid=uid, id=device_id, op="upsert", version=version, data=data
    )


def device_record(uid: str, device: Device, version: int) -> ChangeRecord:
    """The mirror's record of a stored device: its API fields, never its token."""
    return _upsert_data(uid, device.device_id, device.to_wire(), version)


def _delete(uid: str, device_id: str, version: int) -> ChangeRecord:
    from shared.changes import ChangeRecord

    return ChangeRecord(
        collection="devices", uid=uid, id=device_id, op="delete", version=version, data=None
    )


def _owner(snap: Any) -> TokenOwner | None:
    return TokenOwner.from_doc(snap.to_dict() if snap.exists else None)
