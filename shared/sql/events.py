"""Change events of the dual-write layer, and the content hash both stores compute to reconcile.

The Firestore write path emits one `ChangeBatch` of `ChangeRecord`s (shared/changes.py) per
Firestore commit (and `AccountErased` when an account is deleted); the SQL mirror applies them.
Events may arrive duplicated and in any order: each record carries `version`, the Firestore
`update_time` of the write in microseconds since the epoch (for a delete, the delete's commit
time), and the mirror keeps the newest.

Pure: pydantic and the standard library only, so the Firestore write path imports it cheaply.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, Field, TypeAdapter

from shared.changes import EPOCH, MODEL_CONFIG, ChangeRecord, Collection


class ChangeDataError(ValueError):
    """A change record's data cannot be mirrored (missing or mistyped field)."""


# -- wire models -------------------------------------------------------------------------------


class ChangeBatch(BaseModel):
    """The changes of one Firestore commit, in commit order."""

    model_config = MODEL_CONFIG

    kind: Literal["changes"] = "changes"
    records: list[ChangeRecord] = Field(description="the writes of one commit, in order")
    emitted_at: AwareDatetime = Field(description="when the write path published the batch")


class AccountErased(BaseModel):
    """Erase every mirrored row of `uid` whose version is <= `version`, and drop later stale
    events of that user with such versions. `version` must not be older than any write of the
    account: take it after the Firestore deletion has finished."""

    model_config = MODEL_CONFIG

    kind: Literal["account_erased"] = "account_erased"
    uid: str = Field(min_length=1, max_length=128)
    version: int = Field(ge=0, description="microseconds since the epoch")


MirrorEvent = Annotated[ChangeBatch | AccountErased, Field(discriminator="kind")]
_EVENT_ADAPTER: TypeAdapter[ChangeBatch | AccountErased] = TypeAdapter(MirrorEvent)


def encode(event: ChangeBatch | AccountErased) -> bytes:
    """The Pub/Sub message body (UTF-8 JSON) of a batch or an erasure."""
    return event.model_dump_json().encode()


def decode(raw: bytes) -> ChangeBatch:
    """A `ChangeBatch` from a message body; pydantic.ValidationError when it is anything else."""
    return ChangeBatch.model_validate_json(raw)


def decode_event(raw: bytes) -> ChangeBatch | AccountErased:
    """Either event from a message body (one topic carries both, told apart by `kind`)."""
    return _EVENT_ADAPTER.validate_json(raw)


# -- fields and the content hash ---------------------------------------------------------------

FieldKind = Literal["text", "timestamp", "bool", "text_list", "int"]
Need = Literal["always", "live", "optional"]  # "live": required unless the document is a tombstone


@dataclasses.dataclass(frozen=True)
class ApiField:
    """One mirrored field of a document, by its camelCase name in Firestore and in the API."""

    name: str
    kind: FieldKind
    need: Need = "always"
    hashed: bool = True  # part of the API-visible content that reconcile compares
    identity: bool = False  # the document id (the key, not content)


_TEXT_ID = ApiField("id", "text", "optional", hashed=False, identity=True)

FIELDS: dict[Collection, tuple[ApiField, ...]] = {
    "users": (
        ApiField("uid", "text", "optional", hashed=False, identity=True),
        ApiField("timezone", "text"),
        ApiField("locale", "text", "optional"),
        ApiField("createdAt", "timestamp"),
    ),
    "devices": (
        ApiField("deviceId", "text", "optional", hashed=False, identity=True),
        ApiField("platform", "text"),
        ApiField("appVersion", "text", "optional"),
        ApiField("registeredAt", "timestamp"),
    ),
    "sessions": (
        _TEXT_ID,
        ApiField("startedAt", "timestamp", "live"),
        ApiField("plannedEndAt", "timestamp", "optional"),
        ApiField("endedAt", "timestamp", "optional"),
        ApiField("status", "text", "live"),
        ApiField("label", "text", "optional"),
        ApiField("blockedApps", "text_list", "optional"),
        ApiField("scheduleId", "text", "optional"),
        ApiField("updatedAt", "timestamp"),
        ApiField("deviceId", "text", "live"),
        ApiField("deleted", "bool", "optional"),
        # Bookkeeping (the sync cursor key): mirrored but not API content. Its changes always
        # come with a new version, which reconcile compares as well.
        ApiField("serverUpdatedAt", "timestamp", hashed=False),
        # The sync feed position of the commit that wrote the session (shared/sessions): lets
        # the SQL side answer a sync pull with the same cursor. Optional: records of older
        # writers lack it (the row then waits for its next write or a backfill).
        ApiField("syncSeq", "int", "optional", hashed=False),
    ),
    "schedules": (
        _TEXT_ID,
        ApiField("name", "text"),
        ApiField("timezone", "text"),
        ApiField("days", "text_list"),
        ApiField("start", "text"),
        ApiField("end", "text"),
        ApiField("blockedApps", "text_list", "optional"),
        ApiField("enabled", "bool"),
        ApiField("updatedAt", "timestamp"),
    ),
}


def identity_field(collection: Collection) -> ApiField:
    return next(f for f in FIELDS[collection] if f.identity)


def normalize(collection: Collection, data: dict[str, Any]) -> dict[str, Any]:
    """The mirrored fields of `data` with canonical Python values, every field present.

    Timestamps (datetime or RFC 3339 string) become UTC datetimes; an absent list is `[]`, an
    absent optional bool `False`, anything else absent `None`. Keys that are not mirrored
    fields (server bookkeeping, secrets such as `fcmToken`) are left out. Raises
    ChangeDataError.
    """
    tombstone = collection == "sessions" and data.get("deleted") is True
    out: dict[str, Any] = {}
    for field in FIELDS[collection]:
        value = _normalize_value(collection, field, data.get(field.name))
        missing = value is None
        if missing and (field.need == "always" or (field.need == "live" and not tombstone)):
            raise ChangeDataError(f"{collection}: field {field.name!r} is required")
        out[field.name] = value
    return out


def content_hash(collection: Collection, data: dict[str, Any]) -> str:
    """sha256 (hex) of the canonical JSON of the document's API-visible fields.

    Stable under key order, under datetime vs RFC 3339 string forms, and under keys that are not
    API content (the id, which is the key; bookkeeping; secrets), so the Firestore document and
    the SQL row of the same content hash alike.
    """
    return hash_normalized(collection, normalize(collection, data))


def hash_normalized(collection: Collection, normalized: dict[str, Any]) -> str:
    """`content_hash` of data that has already been through `normalize`."""
    payload = {
        f.name: _canonical_json_value(normalized[f.name]) for f in FIELDS[collection] if f.hashed
    }
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def _hash_timestamp(ts: datetime) -> str:
    # Milliseconds: the precision the API keeps every timestamp at (shared/clock.py). A server
    # time stored with microseconds in Firestore and published in its wire form (milliseconds)
    # is the same content.
    from shared.clock import format_timestamp

    return format_timestamp(ts)


def _normalize_value(collection: Collection, field: ApiField, value: object) -> object:
    if value is None:
        return _absent_value(field)
    where = f"{collection}: field {field.name!r}"
    match field.kind:
        case "text":
            ok = isinstance(value, str)
            if isinstance(value, str):
                _sql_text(where, value)
        case "bool":
            ok = isinstance(value, bool)
        case "int":
            ok = isinstance(value, int) and not isinstance(value, bool) and value >= 0
        case "text_list":
            if isinstance(value, list) and all(isinstance(v, str) for v in value):
                for item in value:
                    _sql_text(where, item)
                return list(value)  # a copy: the caller's list stays theirs
            ok = False
        case "timestamp":
            return _parse_timestamp(where, value)
    if not ok:
        raise ChangeDataError(f"{where} must be of kind {field.kind}")
    return value


def _sql_text(where: str, value: str) -> None:
    # The API refuses NUL (shared/wire.py), but a document written past it (by hand, or before
    # the rule) could still carry one: PostgreSQL's text cannot. Poison (dead-lettered and
    # reported by reconcile as `invalid`), not a transient fault retried for a week.
    if "\x00" in value:
        raise ChangeDataError(f"{where} contains NUL (U+0000), which PostgreSQL text cannot hold")


def _absent_value(field: ApiField) -> object:
    if field.kind == "text_list":
        return []
    if field.kind == "bool" and field.need != "always":
        return False
    return None


def _parse_timestamp(where: str, value: object) -> datetime:
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError as err:
            raise ChangeDataError(f"{where} is not an RFC 3339 timestamp") from err
    if not isinstance(value, datetime):
        raise ChangeDataError(f"{where} must be a timestamp")
    if value.tzinfo is None:
        raise ChangeDataError(f"{where} has no time zone offset")
    # A plain datetime (not Firestore's DatetimeWithNanoseconds subclass), in UTC.
    return EPOCH + (value - EPOCH)


def _canonical_json_value(value: object) -> object:
    if isinstance(value, datetime):
        return _hash_timestamp(value)
    return value
