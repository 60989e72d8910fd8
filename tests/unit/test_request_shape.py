"""The shape checks a callable body meets before it is parsed (shared/endpoints/callable.py):
arrays and objects counted and nested without counting what stands inside strings, escapes
included."""

from __future__ import annotations

import json

import pytest

from shared.endpoints.callable import MAX_JSON_CONTAINERS, MAX_JSON_DEPTH, _shape_problem


def nested(depth: int) -> object:
    value: object = "x"
    for _ in range(depth):
        value = [value]
    return value


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ({"data": nested(MAX_JSON_DEPTH - 2)}, None),
        ({"data": nested(MAX_JSON_DEPTH)}, "nested too deeply"),
        ({"data": [{} for _ in range(MAX_JSON_CONTAINERS - 2)]}, None),
        ({"data": [{} for _ in range(MAX_JSON_CONTAINERS)]}, "too many values"),
        # Brackets and quotes inside strings are text, whatever the escapes around them.
        ({"data": {"label": "[" * 10_000}}, None),
        ({"data": {"label": '\\"[[[' * 5_000 + "\\"}, "a": [[["x"]]]}, None),
        ({"data": {"label": '"]]]' * 50, "a": nested(MAX_JSON_DEPTH)}}, "nested too deeply"),
    ],
)
def test_the_shape_of_a_json_text(value: object, problem: str | None) -> None:
    found = _shape_problem(json.dumps(value).encode())
    assert (found is None) if problem is None else (problem in (found or "")), found
