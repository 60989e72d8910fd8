"""Building blocks of the wire models: camelCase JSON, strict types, timestamps, ids.

Every request and result model derives from `WireModel`: unknown fields are refused
(`extra="forbid"`), types are strict (no "1" for 1), JSON names are camelCase, and timestamps are
RFC 3339 strings in and out (`2026-11-22T09:00:00.000Z`).
"""

from __future__ import annotations

import re
import zoneinfo
from datetime import datetime
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    ValidationError,
    WithJsonSchema,
    field_validator,
)
from pydantic.alias_generators import to_camel

from shared.clock import format_timestamp, parse_timestamp
from shared.errors import InvalidArgument
from shared.once import once

MAX_STRING = 4096  # no free-text field of the contract is longer; bounds memory per request


class WireModel(BaseModel):
    """Base of every request and result model."""

    model_config = ConfigDict(
        extra="forbid",
        strict=True,
        frozen=True,
        alias_generator=to_camel,
        validate_by_alias=True,
        validate_by_name=True,  # internal construction; client input is parsed by alias only
        serialize_by_alias=True,
        str_max_length=MAX_STRING,
        # Results carry every field (`to_wire`), so the contract marks every result field
        # required, defaulted ones included (docs/api/openapi.json).
        json_schema_serialization_defaults_required=True,
    )

    def to_wire(self) -> dict[str, Any]:
        """The JSON-ready dict, every field present (`null` for empty ones)."""
        return self.model_dump(mode="json", by_alias=True)

    @field_validator("*", mode="after")
    @classmethod
    def _storable(cls, value: Any) -> Any:
        _check_texts(value)
        return value


def storable_text(value: str) -> str:
    """The one rule for text the API accepts, in every string field of every wire model
    (docs/API.md, "Text"): valid Unicode, so no lone surrogate (JSON can carry "\ud800",
    UTF-8 cannot, and Firestore stores UTF-8), and no NUL (U+0000, which PostgreSQL's text
    cannot hold: the mirror could never copy it). Every store behind the API can hold the rest."""
    if "\x00" in value:
        raise ValueError("must not contain the NUL character (U+0000)")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("must be valid Unicode text") from None
    return value


def _check_texts(value: object) -> None:
    # Nested wire models checked their own fields already; lists and dicts are walked here.
    if isinstance(value, str):
        storable_text(value)
    elif isinstance(value, list | tuple | set | frozenset):
        for item in value:
            _check_texts(item)
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_texts(key)
            _check_texts(item)


_RESERVED_ID = re.compile(r"^__.*__$")


def document_id_safe(value: str) -> str:
    """Refuse what Firestore refuses as a document id: '/', '.', '..' and ids of the form
    `__x__` (reserved). For ids that become document ids as they are (devices, schedules)."""
    if "/" in value or value in (".", "..") or _RESERVED_ID.match(value):
        raise ValueError("must not contain '/' or be '.', '..' or '__...__'")
    return value


def _timestamp_in(value: object) -> object:
    if isinstance(value, str):
        try:
            return parse_timestamp(value)
        except ValueError as err:
            raise ValueError(str(err)) from None
    if isinstance(value, datetime):  # from storage, already aware
        return value
    raise ValueError("must be an RFC 3339 timestamp string")


Timestamp = Annotated[
    datetime,
    BeforeValidator(_timestamp_in),
    PlainSerializer(format_timestamp, return_type=str, when_used="json"),
    # Both ways an RFC 3339 string; the contract's schema says so rather than "datetime" in and
    # "any string" out.
    WithJsonSchema({"type": "string", "format": "date-time"}),
]


def open_enum(handling: str) -> dict[str, Any]:
    """Schema extra of an answered enum that may gain values inside v1: `handling` says what an
    app does with a value it does not know (docs/API.md, "Values an app must tolerate"). The
    contract's breaking-change gate lets such an enum grow; every other answered enum is closed.
    """
    return {"x-open-enum": handling}


ID_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"
ClientId = Annotated[
    str, Field(min_length=1, max_length=64, pattern=ID_PATTERN, description="1-64 [A-Za-z0-9_-]")
]
DeviceId = Annotated[str, Field(min_length=1, max_length=128, description="stable per install")]
# A client id that is a Firestore document id as it is (schedules); sessions map reserved ids.
DocumentClientId = Annotated[ClientId, AfterValidator(document_id_safe)]
BlockedApp = Annotated[str, Field(min_length=1, max_length=255)]
BlockedApps = Annotated[list[BlockedApp], Field(max_length=500)]


@once
def _known_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def _check_zone(name: str) -> str:
    if name not in _known_zones():
        raise ValueError("unknown IANA time zone")
    return name


TimeZoneName = Annotated[str, Field(min_length=1, max_length=64), AfterValidator(_check_zone)]

_HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
WallClock = Annotated[str, Field(pattern=_HHMM.pattern, description="HH:MM, 24-hour")]


def _field_path(loc: tuple[int | str, ...]) -> str:
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return path or "data"


def invalid_argument(err: ValidationError, root: str = "data") -> InvalidArgument:
    """One clear message naming the first bad field, e.g. `data.mutations[3].session.id: ...`."""
    problems = err.errors(include_url=False, include_input=False)
    fields = [_qualified(root, problem["loc"]) for problem in problems[:10]]
    message = f"{fields[0]}: {problems[0]['msg'].removeprefix('Value error, ')}"
    return InvalidArgument(message, {"fields": fields})


def _qualified(root: str, loc: tuple[int | str, ...]) -> str:
    # Union errors put the branch tried in the location (e.g. "function-after[...]"); drop it.
    path = _field_path(tuple(p for p in loc if not (isinstance(p, str) and "[" in p)))
    return f"{root}.{path}" if path != "data" else root


def parse[M: BaseModel](model: type[M], data: object, root: str = "data") -> M:
    """Validate client data into `model`, or raise `InvalidArgument` naming the field."""
    if not isinstance(data, dict):
        raise InvalidArgument(f"{root}: must be an object")
    try:
        return model.model_validate(data, by_alias=True, by_name=False)
    except ValidationError as err:
        raise invalid_argument(err, root) from None
