"""Firestore write protobufs built directly, for the documents our repositories write.

The client library turns a Python dict into a `Write` through proto-plus: a wrapper object and
a marshal lookup per field value. For a focus session (13 fields and a dozen blocked apps) that
is about 1 ms of CPU, the largest single item of a sync's CPU at the server
(docs/BENCHMARKS.md, "Where a sync's time goes"). Here the same `Write` is built from the raw
protobuf classes, about 15 times faster.

Only what our documents hold takes this path: plain field names, values that are None, bool,
int, float, str, bytes, aware datetimes, lists and maps of those, and the `SERVER_TIMESTAMP`
and `DELETE_FIELD` sentinels at the top level. For anything else (a reference, a GeoPoint, a
dotted field path, a nested sentinel, ...) the builders return None and `shared.fs` hands the
dict to the library as before. tests/unit/test_fs_encode.py checks that every `Write` built
here equals the library's own, message for message.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from shared.once import once

if TYPE_CHECKING:
    from google.cloud import firestore

# A field name that needs no quoting in a field path (the library quotes any other).
_SIMPLE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_INT64 = (-(2**63), 2**63 - 1)


class _NotPlain(Exception):
    """A value outside the fast path: the library encodes the document."""


class _Pb:
    """The raw protobuf classes behind the client library's proto-plus types, and its
    sentinels; loaded once, with the first write."""

    def __init__(self) -> None:
        from google.cloud.firestore import DELETE_FIELD, SERVER_TIMESTAMP
        from google.cloud.firestore_v1.types import common, document, write
        from google.protobuf import timestamp_pb2

        self.write_type = write.Write
        self.write = write.Write.pb()
        self.document = document.Document.pb()
        self.value = document.Value.pb()
        self.array = document.ArrayValue.pb()
        self.map = document.MapValue.pb()
        self.transform = write.DocumentTransform.FieldTransform.pb()
        self.request_time = write.DocumentTransform.FieldTransform.ServerValue.REQUEST_TIME
        self.precondition = common.Precondition.pb()
        self.mask = common.DocumentMask.pb()
        self.timestamp = timestamp_pb2.Timestamp
        self.server_timestamp = SERVER_TIMESTAMP
        self.delete_field = DELETE_FIELD


@once
def _pb() -> _Pb:
    return _Pb()


def _timestamp(pb: _Pb, value: datetime, *, nanos: bool = True) -> Any:
    """`value` as a protobuf Timestamp. A field value keeps the nanoseconds of a
    DatetimeWithNanoseconds (what the library reads), as the library's encoder does; a
    precondition (`nanos=False`) has whole microseconds, as proto-plus gives the library's."""
    if value.tzinfo is None:
        raise _NotPlain  # the library reads a naive datetime its own way
    fraction = (getattr(value, "nanosecond", 0) if nanos else 0) or value.microsecond * 1000
    return pb.timestamp(seconds=calendar.timegm(value.utctimetuple()), nanos=fraction)


def _value(pb: _Pb, value: Any) -> Any:
    # The order follows the library's encode_value: bool before int, datetime before the rest.
    if value is None:
        return pb.value(null_value=0)
    kind = type(value)
    if kind is bool:
        return pb.value(boolean_value=value)
    if kind is int:
        if not _INT64[0] <= value <= _INT64[1]:
            raise _NotPlain
        return pb.value(integer_value=value)
    if kind is float:
        return pb.value(double_value=value)
    if kind is str:
        return pb.value(string_value=value)
    if kind is bytes:
        return pb.value(bytes_value=value)
    if isinstance(value, datetime):
        return pb.value(timestamp_value=_timestamp(pb, value))
    if kind is list or kind is tuple:
        return pb.value(array_value=pb.array(values=[_value(pb, item) for item in value]))
    if kind is dict:
        return pb.value(map_value=pb.map(fields=_fields(pb, value)))
    raise _NotPlain


def _fields(pb: _Pb, data: Mapping[Any, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, value in data.items():
        if type(name) is not str or not _SIMPLE_NAME.match(name):
            raise _NotPlain
        out[name] = _value(pb, value)
    return out


def _split(
    pb: _Pb, data: Mapping[str, Any], *, deletes_allowed: bool
) -> tuple[dict[str, Any], list[str]]:
    """(encoded fields, fields set to the server's time), or _NotPlain. A deleted field is in
    neither: an update names it in its mask only."""
    plain: dict[str, Any] = {}
    server_times: list[str] = []
    deleted: list[str] = []
    for name, value in data.items():
        if value is pb.server_timestamp:
            server_times.append(name)
        elif value is pb.delete_field:
            if not deletes_allowed:
                raise _NotPlain  # the library raises its own ValueError for this
            deleted.append(name)
        else:
            plain[name] = value
    for name in (*server_times, *deleted):
        if type(name) is not str or not _SIMPLE_NAME.match(name):
            raise _NotPlain
    return _fields(pb, plain), server_times


def create_write(document_path: str, data: Mapping[str, Any]) -> Any | None:
    """The `Write` of `batch.create(ref, data)`: the document, which must not exist yet; or
    None when `data` holds something only the library encodes."""
    pb = _pb()
    try:
        fields, server_times = _split(pb, data, deletes_allowed=False)
    except _NotPlain:
        return None
    return pb.write(
        update=pb.document(name=document_path, fields=fields),
        current_document=pb.precondition(exists=False),
        update_transforms=[
            pb.transform(field_path=name, set_to_server_value=pb.request_time)
            for name in sorted(server_times)
        ],
    )


def update_write(document_path: str, data: Mapping[str, Any], last_update_time: Any) -> Any | None:
    """The `Write` of `batch.update(ref, data, option=write_option(last_update_time=...))`: the
    named fields replaced (or deleted), failing unless the document is still at
    `last_update_time`; or None when `data` holds something only the library encodes."""
    pb = _pb()
    if not data or not isinstance(last_update_time, datetime):
        return None
    try:
        fields, server_times = _split(pb, data, deletes_allowed=True)
        updated_at = _timestamp(pb, last_update_time, nanos=False)
    except _NotPlain:
        return None
    masked = sorted(name for name in data if name not in server_times)
    return pb.write(
        update=pb.document(name=document_path, fields=fields),
        update_mask=pb.mask(field_paths=masked),
        current_document=pb.precondition(update_time=updated_at),
        update_transforms=[
            pb.transform(field_path=name, set_to_server_value=pb.request_time)
            for name in sorted(server_times)
        ],
    )


def add(batch: firestore.WriteBatch, write: Any) -> None:
    """Queue a raw `Write` on `batch`, as its own `create` and `update` do (through the batch's
    `_add_write_pbs`, the one step of the library this module relies on beyond its types:
    tests/unit/test_fs_encode.py fails if it goes)."""
    batch._add_write_pbs([_pb().write_type.wrap(write)])
