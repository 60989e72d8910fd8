"""shared.fs_encode builds the very `Write` the client library would, or declines.

Each document is encoded both ways and the raw protobufs compared: any field, precondition,
mask or transform that differs fails. Documents outside the fast path must come back as None
(the library then encodes them), never as a different write.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from google.api_core.datetime_helpers import DatetimeWithNanoseconds
from google.auth.credentials import AnonymousCredentials
from google.cloud import firestore
from google.cloud.firestore import DELETE_FIELD, SERVER_TIMESTAMP, GeoPoint
from google.cloud.firestore_v1 import _helpers

from shared import fs, fs_encode

PATH = "projects/p/databases/(default)/documents/users/u1/sessions/s1"
NOW = datetime(2026, 12, 7, 9, 30, 15, 123456, tzinfo=UTC)
READ_AT = DatetimeWithNanoseconds(2026, 12, 7, 9, 0, 1, nanosecond=987654321, tzinfo=UTC)

SESSION = {
    "id": "s1",
    "startedAt": NOW,
    "plannedEndAt": NOW + timedelta(minutes=50),
    "endedAt": None,
    "status": "running",
    "label": "deep work ✍️",
    "blockedApps": [f"com.example.app{i}" for i in range(12)],
    "scheduleId": None,
    "updatedAt": NOW,
    "deviceId": "phone",
    "deleted": False,
    "serverUpdatedAt": SERVER_TIMESTAMP,
    "syncSeq": 7,
}
ODD_VALUES = {
    "ratio": 0.25,
    "big": 2**63 - 1,
    "small": -(2**63),
    "raw": b"\x00\xff",
    "before1970": datetime(1969, 12, 31, 23, 59, 59, 500000, tzinfo=UTC),
    "elsewhere": datetime(2026, 3, 29, 3, 0, tzinfo=timezone(timedelta(hours=2))),
    "nanos": READ_AT,
    "nested": {"blocks": [{"start": "09:00", "days": [1, 2, 3]}, {}], "empty": {}, "list": []},
    "flag": True,
    "claimedAt": SERVER_TIMESTAMP,
}


def library_create(data: dict[str, Any]) -> Any:
    return _helpers.pbs_for_create(PATH, data)[0]._pb


def library_update(data: dict[str, Any], at: datetime) -> Any:
    option = _helpers.LastUpdateOption(at)
    return _helpers.pbs_for_update(PATH, data, option)[0]._pb


@pytest.mark.parametrize("data", [SESSION, ODD_VALUES, {}, {"only": SERVER_TIMESTAMP}])
def test_create_equals_the_library(data: dict[str, Any]) -> None:
    assert fs_encode.create_write(PATH, data) == library_create(data)


@pytest.mark.parametrize(
    "data",
    [
        {**SESSION, "purgeAt": DELETE_FIELD},
        ODD_VALUES,
        {"seq": 8, "updatedAt": SERVER_TIMESTAMP, "shard": 12},
        {"startedAt": DELETE_FIELD, "label": DELETE_FIELD, "deleted": True},
    ],
)
@pytest.mark.parametrize("at", [READ_AT, NOW])
def test_update_equals_the_library(data: dict[str, Any], at: datetime) -> None:
    assert fs_encode.update_write(PATH, data, at) == library_update(data, at)


DECLINED_CREATES = {
    "a naive datetime": {"at": datetime(2026, 1, 1)},
    "a dotted name": {"a.b": 1},
    "a name needing quotes": {"blocked-apps": []},
    "a nested sentinel": {"nested": {"at": SERVER_TIMESTAMP}},
    "a sentinel in a list": {"list": [SERVER_TIMESTAMP]},
    "a GeoPoint": {"where": GeoPoint(1.0, 2.0)},
    "an int beyond int64": {"big": 2**63},
    "a delete in a create": {"gone": DELETE_FIELD},
    "a set": {"apps": {"a", "b"}},
    "a non-string key": {"nested": {1: "one"}},
}


@pytest.mark.parametrize("data", DECLINED_CREATES.values(), ids=DECLINED_CREATES.keys())
def test_what_only_the_library_encodes_is_declined(data: dict[str, Any]) -> None:
    assert fs_encode.create_write(PATH, data) is None


def test_updates_the_library_must_encode_are_declined() -> None:
    assert fs_encode.update_write(PATH, {}, READ_AT) is None  # the library refuses it
    assert fs_encode.update_write(PATH, {"a.b": 1}, READ_AT) is None  # a nested path
    assert fs_encode.update_write(PATH, {"x": 1}, None) is None


def test_fs_put_queues_the_libraries_writes_on_a_batch() -> None:
    """Through `fs.put` (and the batch's own queue): the batch holds what the library's
    `create` and `update` would have queued, and a declined document still goes through."""
    client = firestore.Client(project="p", credentials=AnonymousCredentials())
    ref = client.document("users/u1/sessions/s1")
    other = client.document("users/u1/sessions/s2")
    ours, theirs = client.batch(), client.batch()

    class Snap:
        exists = True
        update_time = READ_AT

    fs.put(client, ours, ref, None, SESSION)
    fs.put(client, ours, other, Snap(), {"seq": 8, "updatedAt": SERVER_TIMESTAMP})  # type: ignore[arg-type]
    fs.put(client, ours, ref, None, DECLINED_CREATES["a GeoPoint"])
    theirs.create(ref, SESSION)
    theirs.update(
        other,
        {"seq": 8, "updatedAt": SERVER_TIMESTAMP},
        option=client.write_option(last_update_time=READ_AT),
    )
    theirs.create(ref, DECLINED_CREATES["a GeoPoint"])
    assert [w._pb for w in ours._write_pbs] == [w._pb for w in theirs._write_pbs]
