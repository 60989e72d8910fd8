"""Devices on PostgreSQL (`sql_only`): `DeviceRegistry` and `DeviceStore`, and the move itself.

**Why all at once.** Registering a device moves its FCM token away from any other device of any
user, through one global index of token owners, so that no one's pushes reach another's phone.
With devices of different users in different databases that move would span two stores; so
devices do not move by percentage like the other collections but all at once
(`take_over_devices`, run by `focusctl mirror take-over-devices`):

1. devices must already be in `sql_primary` at 100%, settled (every instance then applies
   device writes to SQL before answering, and can reach SQL);
2. the fence goes up (`mirror_state` key `devices.takenOver`): from now on the mirror refuses
   device records, so a device write from an instance still in `sql_primary` answers
   UNAVAILABLE and the app retries (registerDevice runs at every app start);
3. every Firestore device (tokens and push bookkeeping included) and the `fcmTokens` index are
   copied into SQL, reading Firestore as it is now, so what committed before the fence is in;
4. then `focusctl mirror phase set devices sql_only` (refused before step 3, and below 100%).

From then on a token move is one SQL transaction: it takes the advisory locks of the token's
current owner and of the registering user (sorted, so two moves never deadlock), checks the
owner again under the locks, clears the token from the previous device, points `fcm_tokens` at
the new one and writes it. Push bookkeeping (`push_state`) is written under the same per-user
lock, with the row's version as the optimistic check that `DeviceStore` promises.

**Giving them back** (`give_back_devices`, run by `focusctl mirror give-back devices`) is the
same move reversed, after `phase set devices sql_primary` has settled (SQL keeps serving devices
until then, as long as they are taken over):

1. device writes on SQL stop (`devices.givingBack`; they answer UNAVAILABLE);
2. every SQL device and token owner is written into Firestore as a whole document, Firestore
   devices and token owners SQL does not have are deleted, each row takes its Firestore copy's
   version and each deleted device a delete marker at a Firestore time read before the copies
   (docs/MIGRATION.md, "Versions and clocks");
3. the fence comes down (`devices.takenOver` and `devices.givingBack` go in one commit): from
   then on Firestore is the source and the mirror copies it as before.

Every device write on SQL takes a shared lock that steps 1 and 3 take exclusively, and checks
under it that devices are taken over and not being given back: a write that an instance decided
to send to SQL just before step 3 answers UNAVAILABLE instead of landing where nobody reads.
A crashed give-back is run again: each step overwrites whole documents.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, delete, func, select, text, tuple_, update
from sqlalchemy.dialects.postgresql import insert as pg_insert

from shared.devices.models import (
    FCM_TOKENS,
    PUSH_FIELD_PREFIX,
    Device,
    RegisterDeviceRequest,
    StoredDevice,
    TokenOwner,
    check_push_fields,
    device_from_doc,
    plan_register,
    token_id,
)
from shared.devices.repository import device_record
from shared.errors import Conflict, ResourceExhausted
from shared.sql.schema import data_from_row, metadata, row_from_record
from shared.sql.store import (
    DEVICES_GIVING_BACK,
    DEVICES_TAKEN_OVER,
    SqlMirrorStore,
    devices_taken_over,
    lock_users,
    next_version,
)

if TYPE_CHECKING:
    from google.cloud import firestore


_devices = metadata.tables["devices"]
_tokens = metadata.tables["fcm_tokens"]
_state = metadata.tables["mirror_state"]
# The advisory lock every device write on SQL takes shared, and the give-back exclusively.
_MOVE_LOCK = text("SELECT pg_advisory_xact_lock_shared(hashtextextended('devices-move', 0))")
_MOVE_LOCK_EXCLUSIVE = text("SELECT pg_advisory_xact_lock(hashtextextended('devices-move', 0))")
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
        row = _row(uid, device, version, fields["fcmToken"], fields["tokenUpdatedAt"], push_state)
        if self._mirror.upsert_rows(conn, "devices", [row]) != 1:
            raise RuntimeError(f"device {uid}/{device.device_id} not written")


# -- the move ----------------------------------------------------------------------------------


def take_over_devices(
    db: firestore.Client,
    mirror: SqlMirrorStore,
    *,
    page_size: int = 500,
    on_progress: Callable[[int], None] = lambda _n: None,
) -> tuple[int, int]:
    """Steps 2 and 3 of the module docstring: raise the fence, then copy every device and token
    owner from Firestore, and drop device rows Firestore no longer has. Idempotent (a crashed
    run is run again, before devices are switched to sql_only). Returns (devices, tokens)."""
    from shared.clock import utcnow

    mirror.put_state(DEVICES_TAKEN_OVER, {"at": utcnow().isoformat()})
    with mirror.engine.begin() as conn:
        # The database's clock: every row the copy writes gets a later `mirrored_at`.
        copy_started = conn.execute(select(func.now())).scalar_one()
        # Nothing but this copy writes the index before devices are sql_only: start afresh.
        conn.execute(delete(_tokens))
    devices = 0
    for page in _pages(db.collection_group("devices"), page_size):
        rows = [row for snap in page if (row := _row_from_snapshot(snap)) is not None]
        with mirror.engine.begin() as conn:
            lock_users(conn, {row["user_id"] for row in rows})
            mirror.upsert_rows(conn, "devices", rows, same_version_too=True)
        devices += len(rows)
        on_progress(len(page))
    with mirror.engine.begin() as conn:
        # Rows of devices Firestore no longer has (a delete whose event the fence refused).
        conn.execute(delete(_devices).where(_devices.c.mirrored_at < copy_started))
    tokens = 0
    for page in _pages(db.collection("fcmTokens"), page_size):
        values = []
        for snap in page:
            owner = snap.to_dict() or {}
            if isinstance(owner.get("uid"), str) and isinstance(owner.get("token"), str):
                values.append(
                    {
                        "token_id": snap.id,
                        "user_id": owner["uid"],
                        "device_id": str(owner.get("deviceId", "")),
                        "token": owner["token"],
                    }
                )
        if values:
            insert = pg_insert(_tokens).values(values)
            excluded = {c: insert.excluded[c] for c in ("user_id", "device_id", "token")}
            with mirror.engine.begin() as conn:
                conn.execute(
                    insert.on_conflict_do_update(index_elements=["token_id"], set_=excluded)
                )
        tokens += len(values)
        on_progress(len(page))
    return devices, tokens


def give_back_devices(
    db: firestore.Client,
    mirror: SqlMirrorStore,
    *,
    page_size: int = 400,
    on_progress: Callable[[int], None] = lambda _n: None,
) -> tuple[int, int]:
    """The give-back of the module docstring: stop SQL device writes, copy every device and token
    owner into Firestore, delete what SQL does not have, lower the fence. Idempotent (a crashed
    run is run again). Returns (devices, token owners) copied."""
    from shared.clock import utcnow

    with mirror.engine.begin() as conn:
        conn.execute(_MOVE_LOCK_EXCLUSIVE)
        if not devices_taken_over(conn):
            return 0, 0  # given back already
        stop = pg_insert(_state).values(key=DEVICES_GIVING_BACK, value={"at": utcnow().isoformat()})
        conn.execute(stop.on_conflict_do_nothing(index_elements=["key"]))
    devices = _devices_to_firestore(db, mirror, _firestore_time(db), page_size, on_progress)
    tokens = _token_owners_to_firestore(db, mirror, page_size, on_progress)
    with mirror.engine.begin() as conn:
        conn.execute(_MOVE_LOCK_EXCLUSIVE)
        lowered = _state.c.key.in_([DEVICES_TAKEN_OVER, DEVICES_GIVING_BACK])
        conn.execute(delete(_state).where(lowered))
    return devices, tokens


def _firestore_time(db: firestore.Client) -> int:
    """Firestore's clock now, as a version: the read time of the phase config (one read)."""
    from shared import fs
    from shared.migration.phases import CONFIG_COLLECTION, CONFIG_DOC

    ref = db.collection(CONFIG_COLLECTION).document(CONFIG_DOC)
    return fs.version_of(fs.get_all(db, [ref])[ref.path].read_time)


def _devices_to_firestore(
    db: firestore.Client,
    mirror: SqlMirrorStore,
    firestore_time: int,
    page_size: int,
    on_progress: Callable[[int], None],
) -> int:
    """Every SQL device written whole into Firestore, each row then at its copy's version; then
    the Firestore devices SQL does not have deleted, with delete markers at `firestore_time`."""
    from shared import fs

    copied = 0
    key = (_devices.c.user_id, _devices.c.id)
    for rows in _sql_pages(mirror, select(_devices), key, page_size):
        batch = db.batch()
        for row in rows:
            user = db.collection("users").document(row["user_id"])
            batch.set(user.collection("devices").document(row["id"]), _firestore_doc(row))
        results = fs.commit(batch, writes=len(rows))
        versioned = [
            {**row, "source_version": fs.version_of(result.update_time)}
            for row, result in zip(rows, results, strict=True)
        ]
        with mirror.engine.begin() as conn:
            # Device writes on SQL are stopped and the fence keeps the mirror out: this copy is
            # the only writer of these rows.
            lock_users(conn, {row["user_id"] for row in rows})
            mirror.rebase_rows(conn, "devices", versioned)
        copied += len(rows)
        on_progress(len(rows))
    for page in _pages(db.collection_group("devices").select([]), page_size):
        ours = {found: snap for snap in page if (found := _device_key(snap)) is not None}
        kept: set[tuple[str, str]] = set()
        if ours:
            query = select(*key).where(tuple_(*key).in_(list(ours)))
            with mirror.engine.connect() as conn:
                kept = {(str(uid), str(device)) for uid, device in conn.execute(query).all()}
        doomed = {k: snap for k, snap in ours.items() if k not in kept}
        fs.delete_all(db, [snap.reference for snap in doomed.values()])
        if doomed:
            with mirror.engine.begin() as conn:
                lock_users(conn, {uid for uid, _ in doomed})
                mirror.mark_deleted(conn, "devices", list(doomed), firestore_time)
    return copied


def _token_owners_to_firestore(
    db: firestore.Client, mirror: SqlMirrorStore, page_size: int, on_progress: Callable[[int], None]
) -> int:
    """The SQL token index written into `fcmTokens`; token owners SQL does not have deleted."""
    from shared import fs

    copied = 0
    for rows in _sql_pages(mirror, select(_tokens), (_tokens.c.token_id,), page_size):
        batch = db.batch()
        for row in rows:
            owner = {"uid": row["user_id"], "deviceId": row["device_id"], "token": row["token"]}
            batch.set(db.collection(FCM_TOKENS).document(row["token_id"]), owner)
        fs.commit(batch, writes=len(rows))
        copied += len(rows)
        on_progress(len(rows))
    for page in _pages(db.collection(FCM_TOKENS).select([]), page_size):
        query = select(_tokens.c.token_id).where(_tokens.c.token_id.in_([s.id for s in page]))
        with mirror.engine.connect() as conn:
            kept = {str(token) for token in conn.execute(query).scalars()}
        fs.delete_all(db, [snap.reference for snap in page if snap.id not in kept])
    return copied


def _writable(conn: Connection) -> None:
    """Refuse a device write on SQL unless SQL owns devices and is not giving them back."""
    from shared.errors import Unavailable

    conn.execute(_MOVE_LOCK)
    keys = [DEVICES_TAKEN_OVER, DEVICES_GIVING_BACK]
    found = set(conn.execute(select(_state.c.key).where(_state.c.key.in_(keys))).scalars())
    if found != {DEVICES_TAKEN_OVER}:
        raise Unavailable("Devices are being moved; retry in a few seconds.")


def _firestore_doc(row: Any) -> dict[str, Any]:
    """The Firestore document of a device row: what registerDevice and push delivery wrote."""
    return {
        **data_from_row("devices", row),
        "fcmToken": row["fcm_token"],
        "tokenUpdatedAt": row["token_updated_at"],
        **push_state_from_row(row),
    }


def _device_key(snap: Any) -> tuple[str, str] | None:
    parts = snap.reference.path.split("/")
    if len(parts) != 4 or parts[0] != "users":
        return None
    return parts[1], parts[3]


def _sql_pages(
    mirror: SqlMirrorStore, query: Any, key: tuple[Any, ...], size: int
) -> Iterator[list[Any]]:
    """Rows of `query` in pages of `size`, by keyset on the columns `key` (no offsets)."""
    last: tuple[Any, ...] | None = None
    while True:
        page_query = query.order_by(*key).limit(size)
        if last is not None:
            page_query = page_query.where(tuple_(*key) > tuple_(*last))
        with mirror.engine.connect() as conn:
            rows = list(conn.execute(page_query).mappings())
        if not rows:
            return
        yield rows
        last = tuple(rows[-1][c.name] for c in key)


def _pages(query: Any, size: int) -> Iterator[list[Any]]:
    from google.cloud.firestore_v1.field_path import FieldPath

    ordered = query.order_by(FieldPath.document_id())
    last = None
    while True:
        page_query = ordered.limit(size) if last is None else ordered.start_after(last).limit(size)
        page = list(page_query.stream())
        if not page:
            return
        yield page
        last = page[-1]


def _row_from_snapshot(snap: Any) -> dict[str, Any] | None:
    """The SQL row of a Firestore device document, tokens and push bookkeeping included."""
    from shared import fs

    parts = snap.reference.path.split("/")
    data = snap.to_dict() or {}
    if len(parts) != 4 or parts[0] != "users" or "platform" not in data:
        return None  # not one of ours
    uid, device_id = parts[1], parts[3]
    device = device_from_doc({**data, "deviceId": device_id})
    push_state = {k: v for k, v in data.items() if k.startswith(PUSH_FIELD_PREFIX)}
    version = fs.version_of(snap.update_time)
    token, token_time = data.get("fcmToken"), data.get("tokenUpdatedAt")
    return _row(uid, device, version, token, token_time, push_state)


def _row(
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
