"""Devices on PostgreSQL (`sql_only`): `DeviceRegistry` and `DeviceStore`. It serves data and
moves none: taking devices over and giving them back is shared/migration/moves/devices.py.

Devices move all at once, not by percentage (that module says why). Once they are on SQL, a token
move is one SQL transaction: it takes the advisory locks of the token's
current owner and of the registering user (sorted, so two moves never deadlock), checks the
owner again under the locks, clears the token from the previous device, points `fcm_tokens` at
the new one and writes it. Push bookkeeping (`push_state`) is written under the same per-user
lock, with the row's version as the optimistic check that `DeviceStore` promises.

Every device write on SQL takes a shared lock that the give-back's first and last steps take
exclusively, and checks under it that devices are taken over and not being given back: a write
that an instance decided to send to SQL just before the fence came down answers UNAVAILABLE
instead of landing where nobody reads.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, delete, func, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert

from shared.devices.models import (
    Device,
    RegisterDeviceRequest,
    StoredDevice,
    TokenOwner,
    check_push_fields,
    plan_register,
    token_id,
)
from shared.devices.repository import device_record
from shared.errors import Conflict, ResourceExhausted
from shared.sql.ownership import DEVICES_GIVING_BACK, DEVICES_TAKEN_OVER, lock_users
from shared.sql.schema import data_from_row, metadata, row_from_record
from shared.sql.store import SqlMirrorStore
from shared.sql.writes import next_version

if TYPE_CHECKING:
    pass


_devices = metadata.tables["devices"]
_tokens = metadata.tables["fcm_tokens"]
_state = metadata.tables["mirror_state"]
# The advisory lock every device write on SQL takes shared, and the give-back exclusively.
_MOVE_LOCK = text("SELECT pg_advisory_xact_lock_shared(hashtextextended('devices-move', 0))")
MOVE_LOCK_EXCLUSIVE = text("SELECT pg_advisory_xact_lock(hashtextextended('devices-move', 0))")
MOVE_ATTEMPTS = 5  # a token whose owner changes between the read and the locks is read again


class SqlDeviceStore:
    """`DeviceRegistry` and `DeviceStore` on PostgreSQL (see the module docstring)."""

    def __init__(self, mirror: SqlMirrorStore, clock: Callable[[], datetime] | None = None) -> None:
        from shared.clock import utcnow

        self._mirror = mirror
        self._engine = mirror.engine
        self._clock = clock or utcnow

    # -- DeviceRegistry ----------------------------------------------------------------------

    def register(
        self, uid: str, request: RegisterDeviceRequest, now: datetime, max_devices: int
    ) -> Device:
        token = request.fcm_token
        # The token's own lock serialises registrations of one token (its first one included,
        # when there is no owner to lock yet); the owners' locks serialise with their other
        # writes. All advisory locks are taken at once, sorted: no deadlock.
        token_lock = f"fcm-token:{token_id(token)}"
        for _ in range(MOVE_ATTEMPTS):
            with self._engine.begin() as conn:
                _writable(conn)
                owner = _token_owner(conn, token)
                owners = {uid} | ({owner.uid} if owner is not None else set())
                lock_users(conn, owners | {token_lock})
                if _token_owner(conn, token) != owner:
                    continue  # moved meanwhile: lock its new owner instead
                return self._register_locked(conn, uid, request, owner, now, max_devices)
        raise Conflict("Too many concurrent changes of this push token; retry.")

    def _register_locked(
        self,
        conn: Connection,
        uid: str,
        request: RegisterDeviceRequest,
        owner: TokenOwner | None,
        now: datetime,
        max_devices: int,
    ) -> Device:
        row = _device_row(conn, uid, request.device_id)
        existing = _doc(row) if row is not None else None
        plan = plan_register(uid, request, existing, owner, now)
        if plan.device_fields is None and not plan.write_token_doc and plan.stale_token is None:
            return plan.device
        if plan.is_new and _count(conn, uid) >= max_devices:
            raise ResourceExhausted(
                f"At most {max_devices} devices per account; unregister one first."
            )
        previous = plan.previous_owner
        if previous is not None and previous.device_id:
            self._drop_token(conn, previous.uid, previous.device_id, request.fcm_token, now)
        if plan.write_token_doc:
            values = {"user_id": uid, "device_id": request.device_id, "token": request.fcm_token}
            insert = pg_insert(_tokens).values(token_id=token_id(request.fcm_token), **values)
            conn.execute(insert.on_conflict_do_update(index_elements=["token_id"], set_=values))
        if plan.stale_token is not None:
            conn.execute(
                delete(_tokens).where(
                    _tokens.c.token_id == token_id(plan.stale_token),
                    _tokens.c.user_id == uid,
                    _tokens.c.device_id == request.device_id,
                )
            )
        if plan.device_fields is not None:
            push_state = push_state_from_row(row) if row is not None else None
            self._write_device(conn, uid, plan.device, plan.device_fields, push_state)
        return plan.device

    def unregister(self, uid: str, device_id: str) -> bool:
        with self._engine.begin() as conn:
            _writable(conn)
            lock_users(conn, {uid})
            row = _device_row(conn, uid, device_id)
            if row is None:
                return False
            conn.execute(
                delete(_devices).where(_devices.c.user_id == uid, _devices.c.id == device_id)
            )
            if row["fcm_token"] is not None:
                _forget_token(conn, uid, device_id, row["fcm_token"])
        return True

    def count_devices(self, uid: str) -> int:
        with self._engine.connect() as conn:
            return _count(conn, uid)

    # -- DeviceStore -------------------------------------------------------------------------

    def list_devices(self, uid: str) -> list[StoredDevice]:
        query = select(_devices).where(_devices.c.user_id == uid).order_by(_devices.c.id)
        with self._engine.connect() as conn:
            return [_stored(row) for row in conn.execute(query).mappings()]

    def clear_token(self, uid: str, device_id: str, token: str) -> bool:
        with self._engine.begin() as conn:
            _writable(conn)
            lock_users(conn, {uid})
            holds = self._drop_token(conn, uid, device_id, token, self._clock())
            _forget_token(conn, uid, device_id, token)
        return holds

    def update_push_state(
        self,
        uid: str,
        device_id: str,
        fields: dict[str, Any],
        expected_update_time: datetime,
    ) -> datetime | None:
        from google.cloud.firestore import DELETE_FIELD

        from shared.changes import timestamp_from_version, version_from_timestamp

        check_push_fields(fields)
        if not fields:
            return expected_update_time
        with self._engine.begin() as conn:
            _writable(conn)
            lock_users(conn, {uid})
            row = _device_row(conn, uid, device_id)
            expected = version_from_timestamp(expected_update_time)
            if row is None or row["source_version"] != expected:
                return None  # changed or gone: the caller reads again
            state = push_state_from_row(row)
            for key, value in fields.items():
                if value is DELETE_FIELD:
                    state.pop(key, None)
                else:
                    state[key] = value
            version = next_version(conn, "devices", uid, [device_id], self._clock())
            conn.execute(
                update(_devices)
                .where(_devices.c.user_id == uid, _devices.c.id == device_id)
                .values(
                    push_state=push_state_to_json(state),
                    source_version=version,
                    mirrored_at=func.now(),
                )
            )
        return timestamp_from_version(version)

    # -- internals ---------------------------------------------------------------------------

    def _drop_token(
        self, conn: Connection, uid: str, device_id: str, token: str, now: datetime
    ) -> bool:
        """Clear `token` from the device if it still holds it (caller holds `uid`'s lock)."""
        version = next_version(conn, "devices", uid, [device_id], now)
        cleared = conn.execute(
            update(_devices)
            .where(
                _devices.c.user_id == uid,
                _devices.c.id == device_id,
                _devices.c.fcm_token == token,
            )
            .values(
                fcm_token=None, token_updated_at=now, source_version=version, mirrored_at=func.now()
            )
        )
        return bool(cleared.rowcount)

    def _write_device(
        self,
        conn: Connection,
        uid: str,
        device: Device,
        fields: dict[str, Any],
        push_state: dict[str, Any] | None,
    ) -> None:
        version = next_version(conn, "devices", uid, [device.device_id], self._clock())
        row = row_of(uid, device, version, fields["fcmToken"], fields["tokenUpdatedAt"], push_state)
        if self._mirror.writer.upsert_rows(conn, "devices", [row]) != 1:
            raise RuntimeError(f"device {uid}/{device.device_id} not written")


def _writable(conn: Connection) -> None:
    """Refuse a device write on SQL unless SQL owns devices and is not giving them back."""
    from shared.errors import Unavailable

    conn.execute(_MOVE_LOCK)
    keys = [DEVICES_TAKEN_OVER, DEVICES_GIVING_BACK]
    found = set(conn.execute(select(_state.c.key).where(_state.c.key.in_(keys))).scalars())
    if found != {DEVICES_TAKEN_OVER}:
        raise Unavailable("Devices are being moved; retry in a few seconds.")


def row_of(
    uid: str,
    device: Device,
    version: int,
    token: str | None,
    token_updated_at: datetime | None,
    push_state: dict[str, Any] | None,
) -> dict[str, Any]:
    """The table row of a device: the mirror's columns plus what only `sql_only` keeps."""
    return {
        **row_from_record(device_record(uid, device, version)),
        "fcm_token": token,
        "token_updated_at": token_updated_at,
        "push_state": push_state_to_json(push_state) if push_state else None,
    }


# -- push bookkeeping in JSON -------------------------------------------------------------------

_TIME_TAG = "$time"


def push_state_to_json(state: dict[str, Any]) -> dict[str, Any]:
    """Push bookkeeping as JSON: Firestore keeps timestamps in it (the push log's claim times),
    JSON has none, so each becomes `{"$time": <RFC 3339>}` and comes back as a datetime."""
    encoded: dict[str, Any] = _tag_times(state)
    return encoded


def push_state_from_row(row: Any) -> dict[str, Any]:
    """The push bookkeeping of a device row, timestamps as datetimes again."""
    decoded: dict[str, Any] = _untag_times(dict(row["push_state"] or {}))
    return decoded


def _tag_times(value: Any) -> Any:
    if isinstance(value, datetime):
        return {_TIME_TAG: value.isoformat()}
    if isinstance(value, dict):
        return {k: _tag_times(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_tag_times(v) for v in value]
    return value


def _untag_times(value: Any) -> Any:
    if isinstance(value, dict):
        if set(value) == {_TIME_TAG} and isinstance(value[_TIME_TAG], str):
            return datetime.fromisoformat(value[_TIME_TAG])
        return {k: _untag_times(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_untag_times(v) for v in value]
    return value


# -- rows ----------------------------------------------------------------------------------------


def _device_row(conn: Connection, uid: str, device_id: str) -> Any:
    query = select(_devices).where(_devices.c.user_id == uid, _devices.c.id == device_id)
    return conn.execute(query).mappings().first()


def _count(conn: Connection, uid: str) -> int:
    query = select(func.count()).select_from(_devices).where(_devices.c.user_id == uid)
    return int(conn.execute(query).scalar_one())


def _token_owner(conn: Connection, token: str) -> TokenOwner | None:
    row = conn.execute(
        select(_tokens.c.user_id, _tokens.c.device_id).where(_tokens.c.token_id == token_id(token))
    ).first()
    return TokenOwner(uid=row.user_id, device_id=row.device_id) if row is not None else None


def _forget_token(conn: Connection, uid: str, device_id: str, token: str) -> None:
    """Drop `token` from the index if it still names this device."""
    conn.execute(
        delete(_tokens).where(
            _tokens.c.token_id == token_id(token),
            _tokens.c.user_id == uid,
            _tokens.c.device_id == device_id,
        )
    )


def _doc(row: Any) -> dict[str, Any]:
    """The device as the Firestore document form `plan_register` reads."""
    return {
        **data_from_row("devices", row),
        "fcmToken": row["fcm_token"],
        "tokenUpdatedAt": row["token_updated_at"],
        **push_state_from_row(row),
    }


def _stored(row: Any) -> StoredDevice:
    from shared.changes import timestamp_from_version

    data = data_from_row("devices", row)
    return StoredDevice(
        device_id=row["id"],
        platform=data["platform"],
        app_version=data.get("appVersion"),
        registered_at=data["registeredAt"],
        fcm_token=row["fcm_token"],
        token_updated_at=row["token_updated_at"],
        push_state=push_state_from_row(row),
        update_time=timestamp_from_version(int(row["source_version"])),
    )
