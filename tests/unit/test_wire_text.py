"""The one rule for text (shared/wire.py, docs/API.md "Text"): no string field of any request
takes NUL or a lone surrogate, and ids Firestore reserves are refused where they become document
ids as they are. A request with one bad character anywhere is refused, naming that field."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import BaseModel

from shared.accounts.models import BootstrapAccountRequest
from shared.devices.models import RegisterDeviceRequest, UnregisterDeviceRequest
from shared.errors import InvalidArgument
from shared.schedules.models import DeleteScheduleRequest, UpsertScheduleRequest
from shared.sessions.models import SyncFocusSessionsRequest
from shared.sql.events import ChangeDataError, normalize
from shared.wire import parse, storable_text
from tests.support.sync_payloads import delete, stamp, upsert

SCHEDULE = {
    "id": "morning",
    "name": "Deep work",
    "timezone": "Europe/Paris",
    "days": ["mon", "tue"],
    "start": "09:00",
    "end": "10:00",
    "blockedApps": ["com.example.feed"],
    "enabled": True,
    "updatedAt": stamp(0),
}
# One valid request per callable that takes strings, with a value in every string field.
VALID: list[tuple[type[BaseModel], dict[str, Any]]] = [
    (BootstrapAccountRequest, {"timezone": "Europe/Paris", "locale": "fr-FR"}),
    (
        RegisterDeviceRequest,
        {"deviceId": "phone", "platform": "ios", "fcmToken": "tok", "appVersion": "1.2"},
    ),
    (UnregisterDeviceRequest, {"deviceId": "phone"}),
    (
        SyncFocusSessionsRequest,
        {
            "deviceId": "phone",
            "cursor": None,
            "mutations": [
                upsert("m1", "s1", label="Reading", blockedApps=["com.x"], scheduleId="morning"),
                delete("m2", "s2"),
            ],
        },
    ),
    (UpsertScheduleRequest, {"schedule": SCHEDULE}),
    (DeleteScheduleRequest, {"id": "morning"}),
]


def string_leaves(value: Any, path: str = "data") -> Iterator[tuple[str, list[Any]]]:
    """(field path, the path's keys) of every string in a JSON value."""

    def walk(node: Any, keys: list[Any], where: str) -> Iterator[tuple[str, list[Any]]]:
        if isinstance(node, str):
            yield where, keys
        elif isinstance(node, dict):
            for key, item in node.items():
                yield from walk(item, [*keys, key], f"{where}.{key}")
        elif isinstance(node, list):
            for i, item in enumerate(node):
                yield from walk(item, [*keys, i], f"{where}[{i}]")

    yield from walk(value, [], path)


def with_leaf(value: Any, keys: list[Any], new: str) -> Any:
    if not keys:
        return new
    copy = dict(value) if isinstance(value, dict) else list(value)
    copy[keys[0]] = with_leaf(value[keys[0]], keys[1:], new)
    return copy


CASES = [
    pytest.param(model, data, where, keys, id=f"{model.__name__}:{where}")
    for model, data in VALID
    for where, keys in string_leaves(data)
]


@pytest.mark.parametrize(("model", "data"), VALID, ids=[m.__name__ for m, _ in VALID])
def test_the_valid_requests_are_valid(model: type[BaseModel], data: dict[str, Any]) -> None:
    parse(model, data)


@pytest.mark.parametrize("bad", ["\x00", "\ud800"], ids=["nul", "lone-surrogate"])
@pytest.mark.parametrize(("model", "data", "where", "keys"), CASES)
def test_no_string_field_takes_what_a_store_cannot_hold(
    model: type[BaseModel], data: dict[str, Any], where: str, keys: list[Any], bad: str
) -> None:
    leaf: Any = data
    for key in keys:
        leaf = leaf[key]
    with pytest.raises(InvalidArgument) as refused:
        parse(model, with_leaf(data, keys, f"{leaf[:1]}{bad}{leaf[1:]}"))
    # Named down to the field (a list item is named by its list).
    assert any(where.startswith(field) for field in refused.value.details["fields"]), (
        refused.value.details
    )


def test_schedule_ids_firestore_reserves_are_refused_and_session_ids_are_mapped() -> None:
    reserved = {**SCHEDULE, "id": "__fz__"}
    with pytest.raises(InvalidArgument, match=r"data\.schedule\.id"):
        parse(UpsertScheduleRequest, {"schedule": reserved})
    with pytest.raises(InvalidArgument, match=r"data\.id"):
        parse(DeleteScheduleRequest, {"id": "__fz__"})
    # Sessions have always taken them: their documents get another id (sessions.document_id).
    sync = {"deviceId": "phone", "mutations": [upsert("m", "__fz__")]}
    assert parse(SyncFocusSessionsRequest, sync).mutations[0].session.id == "__fz__"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "text", ["", "plain", "é", "😀", "\u202e", "\ufeff", "a b", "\uffff", "\x01", "\t"]
)
def test_everything_else_is_text(text: str) -> None:
    assert storable_text(text) == text


def test_the_mirror_takes_a_nul_written_past_the_api_as_poison_not_as_a_fault() -> None:
    with pytest.raises(ChangeDataError, match="NUL"):
        normalize("schedules", {**SCHEDULE, "name": "a\x00b"})
    with pytest.raises(ChangeDataError, match="NUL"):
        normalize("schedules", {**SCHEDULE, "blockedApps": ["a\x00b"]})
