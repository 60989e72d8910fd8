"""Devices move between the stores all at once: taking them over into SQL, giving them back.

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

From then on devices are served by `SqlDeviceStore` (shared/devices/sql.py).

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

A crashed give-back is run again: each step overwrites whole documents.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, func, select, tuple_
from sqlalchemy.dialects.postgresql import insert as pg_insert

from shared.devices.models import FCM_TOKENS, PUSH_FIELD_PREFIX, device_from_doc
from shared.devices.sql import MOVE_LOCK_EXCLUSIVE, push_state_from_row, row_of
from shared.sql.ownership import (
    DEVICES_GIVING_BACK,
    DEVICES_TAKEN_OVER,
    devices_taken_over,
    lock_users,
)
from shared.sql.schema import data_from_row, metadata
from shared.sql.store import SqlMirrorStore

if TYPE_CHECKING:
    from google.cloud import firestore

_devices = metadata.tables["devices"]
_tokens = metadata.tables["fcm_tokens"]
_state = metadata.tables["mirror_state"]


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

    mirror.state.put(DEVICES_TAKEN_OVER, {"at": utcnow().isoformat()})
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
            mirror.writer.upsert_rows(conn, "devices", rows, same_version_too=True)
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
        conn.execute(MOVE_LOCK_EXCLUSIVE)
        if not devices_taken_over(conn):
            return 0, 0  # given back already
        stop = pg_insert(_state).values(key=DEVICES_GIVING_BACK, value={"at": utcnow().isoformat()})
        conn.execute(stop.on_conflict_do_nothing(index_elements=["key"]))
    devices = _devices_to_firestore(db, mirror, _firestore_time(db), page_size, on_progress)
    tokens = _token_owners_to_firestore(db, mirror, page_size, on_progress)
    with mirror.engine.begin() as conn:
        conn.execute(MOVE_LOCK_EXCLUSIVE)
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
            mirror.writer.rebase_rows(conn, "devices", versioned)
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
                mirror.writer.mark_deleted(conn, "devices", list(doomed), firestore_time)
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
    return row_of(uid, device, version, token, token_time, push_state)
