"""The breaking-change gate, rule by rule: for each, a small pair of schemas that must pass and
one that must fail (with that rule alone). Then the gate on pydantic's own schema shapes."""

from __future__ import annotations

from typing import Any, Literal

import pytest
from pydantic import Field

from contract import gate
from shared.wire import Timestamp, WireModel

S = dict[str, Any]


def doc(
    request: S | None = None,
    result: S | None = None,
    errors: dict[str, int] | None = None,
    defs: S | None = None,
    name: str = "f",
) -> S:
    """A contract document with one function `name`."""

    def answer(schema: S) -> S:
        return {"content": {"application/json": {"schema": schema}}}

    def envelope(key: str, schema: S) -> S:
        return {"type": "object", "properties": {key: schema}, "required": [key]}

    operation = {
        "requestBody": answer(envelope("data", request or obj())),
        "responses": {"200": answer(envelope("result", result or obj()))},
        "x-error-codes": errors if errors is not None else {"INTERNAL": 500},
    }
    return {"paths": {f"/{name}": {"post": operation}}, "components": {"schemas": defs or {}}}


def obj(required: tuple[str, ...] = (), **props: S) -> S:
    """A closed object schema, as WireModel makes them."""
    return {
        "type": "object",
        "properties": props,
        "required": list(required),
        "additionalProperties": False,
    }


STR: S = {"type": "string"}
NULLABLE_STR: S = {"anyOf": [{"type": "string"}, {"type": "null"}]}


def req(**props: S) -> S:
    return doc(request=obj(tuple(props), **props))


def res(**props: S) -> S:
    return doc(result=obj(tuple(props), **props))


# (rule, baseline, passes, fails): `passes` is a change the rule lets through, `fails` one it stops.
CASES: list[tuple[str, S, S, S]] = [
    (
        "function_removed",
        doc(),
        {"paths": {**doc()["paths"], **doc(name="g")["paths"]}, "components": {"schemas": {}}},
        doc(name="g"),
    ),
    (
        "error_code_added",
        doc(errors={"INTERNAL": 500, "ABORTED": 409}),
        doc(errors={"INTERNAL": 500}),  # a code no longer answered breaks no app
        doc(errors={"INTERNAL": 500, "ABORTED": 409, "NOT_FOUND": 404}),
    ),
    (
        "error_code_added",
        doc(errors={"ABORTED": 409}),
        doc(errors={"ABORTED": 409}),
        doc(errors={"ABORTED": 400}),  # same code, another HTTP status
    ),
    (
        "request_type_changed",
        req(n={"type": "integer"}),
        req(n={"type": "number"}),  # every integer is still accepted
        req(n=STR),
    ),
    (
        "request_type_changed",
        req(s=NULLABLE_STR),
        req(s={"type": ["string", "null", "integer"]}),
        req(s=STR),  # null no longer accepted
    ),
    (
        "request_field_required",
        doc(request=obj(("a",), a=STR)),
        doc(request=obj(("a",), a=STR, b=STR) | {"required": ["a"]}),  # new optional field
        doc(request=obj(("a", "b"), a=STR, b=STR)),  # new required field
    ),
    (
        "request_field_required",
        doc(request=obj(("a",), a=STR, b=STR)),
        doc(request=obj((), a=STR, b=STR)),  # required made optional
        doc(request=obj(("a", "b"), a=STR, b=STR)),  # optional made required
    ),
    (
        "request_field_removed",
        doc(request=obj((), a=STR, b=STR)),
        doc(request=obj((), a=STR) | {"additionalProperties": True, "properties": {"a": STR}}),
        doc(request=obj((), a=STR)),
    ),
    (
        "request_enum_narrowed",
        req(op={"type": "string", "enum": ["upsert", "delete"]}),
        req(op={"type": "string", "enum": ["upsert", "delete", "merge"]}),
        req(op={"type": "string", "enum": ["upsert"]}),
    ),
    (
        "request_enum_narrowed",
        req(tag=STR),
        req(tag=STR),
        req(tag={"type": "string", "const": "x"}),
    ),
    (
        "request_format_tightened",
        req(at=STR),
        req(at=STR | {"description": "when"}),
        req(at=STR | {"format": "date-time"}),
    ),
    (
        "request_pattern_tightened",
        req(id=STR | {"pattern": "^[a-z]+$"}),
        req(id=STR | {"pattern": "^[a-z]+$", "description": "an id"}),
        req(id=STR | {"pattern": "^[a-z]{1,8}$"}),
    ),
    (
        "request_limit_tightened",
        req(label=STR | {"maxLength": 120}),
        req(label=STR | {"maxLength": 200}),
        req(label=STR | {"maxLength": 100}),
    ),
    (
        "request_limit_tightened",
        req(items={"type": "array", "items": STR, "minItems": 0}),
        req(items={"type": "array", "items": STR}),
        req(items={"type": "array", "items": STR, "minItems": 1}),
    ),
    (
        "request_limit_tightened",
        req(n={"type": "integer", "maximum": 500}),
        req(n={"type": "integer", "maximum": 1000}),
        req(n={"type": "integer", "maximum": 500, "minimum": 1}),
    ),
    (
        "answer_type_changed",
        res(n={"type": "number"}),
        res(n={"type": "integer"}),  # an integer is still a number
        res(n=STR),
    ),
    (
        "answer_type_changed",
        res(s=STR),
        res(s=STR),
        res(s=NULLABLE_STR),  # null may now be answered
    ),
    (
        "answer_field_removed",
        res(a=STR),
        res(a=STR, b=STR),  # a new answered field
        doc(result=obj(("b",), b=STR)),  # `a` renamed to `b`
    ),
    (
        "answer_field_made_optional",
        res(a=STR),
        res(a=NULLABLE_STR | {"anyOf": [STR]}),
        doc(result=obj((), a=STR)),
    ),
    (
        "answer_enum_widened",
        res(status={"type": "string", "enum": ["running", "completed"]}),
        res(status={"type": "string", "enum": ["running"]}),
        res(status={"type": "string", "enum": ["running", "completed", "paused"]}),
    ),
    (
        "answer_enum_widened",
        res(code={"type": "string", "const": "a"}),
        res(code={"type": "string", "enum": ["a"]}),
        res(code=STR),  # a closed enum became any string
    ),
    (
        "answer_format_changed",
        res(at=STR | {"format": "date-time"}),
        res(at=STR | {"format": "date-time", "description": "when"}),
        res(at=STR | {"format": "date"}),
    ),
]


def _id(case: tuple[str, S, S, S]) -> str:
    return case[0]


@pytest.mark.parametrize("case", CASES, ids=[_id(c) for c in CASES])
def test_rule_passes_a_compatible_change(case: tuple[str, S, S, S]) -> None:
    _, baseline, passes, _ = case
    assert gate.compare(baseline, passes) == []


@pytest.mark.parametrize("case", CASES, ids=[_id(c) for c in CASES])
def test_rule_stops_a_breaking_change(case: tuple[str, S, S, S]) -> None:
    rule, baseline, _, fails = case
    found = gate.compare(baseline, fails)
    assert [b.rule for b in found] == [rule], [str(b) for b in found]


def test_every_rule_has_cases() -> None:
    rules = {
        r.__name__
        for r in (
            *gate.REQUEST_RULES,
            *gate.ANSWER_RULES,
            *gate.OPERATION_RULES,
            gate.request_type_changed,
            gate.answer_type_changed,
        )
    }
    assert rules == {case[0] for case in CASES}
    for name in rules:
        doc_line = (getattr(gate, name).__doc__ or "").strip()
        assert doc_line and "\n" not in doc_line, f"{name} needs a one-line docstring"


def test_an_open_enum_may_grow() -> None:
    """An enum marked `x-open-enum` (docs/API.md says what old apps do with unknown values)."""
    baseline = res(code={"type": "string", "const": "a", "x-open-enum": "the app drops it"})
    assert gate.compare(baseline, res(code={"type": "string", "enum": ["a", "b"]})) == []
    assert gate.compare(baseline, res(code=STR)) == []


def test_a_break_names_where_it_is() -> None:
    baseline = doc(request=obj(("s",), s={"$ref": "#/components/schemas/S"}), defs={"S": req()})
    baseline["components"]["schemas"]["S"] = obj((), label=STR | {"maxLength": 9})
    current = doc(request=obj(("s",), s={"$ref": "#/components/schemas/S"}))
    current["components"]["schemas"]["S"] = obj((), label=STR | {"maxLength": 8})
    (found,) = gate.compare(baseline, current)
    assert found.where == "f request data.s.label"
    assert str(found) == (
        "f request data.s.label: maxLength fell to 8 (was 9) [request_limit_tightened]"
    )


# -- on pydantic's schemas: the shapes WireModel produces ----------------------------------------


def _pydantic_doc(request: type[WireModel], result: type[WireModel]) -> S:
    from pydantic.json_schema import models_json_schema

    refs, defs = models_json_schema(
        [(request, "validation"), (result, "serialization")],
        ref_template="#/components/schemas/{model}",
    )
    document = doc(request=refs[(request, "validation")], result=refs[(result, "serialization")])
    document["components"]["schemas"] = defs["$defs"]
    return document


class Request1(WireModel):
    id: str
    label: str | None = None


class Result1(WireModel):
    status: Literal["running", "done"]
    at: Timestamp
    note: str | None = None


class Request2(WireModel):  # passes: a new optional field, a wider limit
    id: str
    label: str | None = None
    color: Literal["red", "blue"] | None = None


class Result2(WireModel):  # passes: a new answered field
    status: Literal["running", "done"]
    at: Timestamp
    note: str | None = None
    tags: list[str] = Field(default_factory=list)


class Request3(WireModel):  # fails: a new required field
    id: str
    label: str | None = None
    color: Literal["red", "blue"]


class Result3(WireModel):  # fails: a new status, a timestamp retyped as a number
    status: Literal["running", "done", "paused"]
    at: float
    note: str | None = None


def test_pydantic_models_an_addition_passes() -> None:
    assert gate.compare(_pydantic_doc(Request1, Result1), _pydantic_doc(Request2, Result2)) == []


def test_pydantic_models_breaks_are_found() -> None:
    found = gate.compare(_pydantic_doc(Request1, Result1), _pydantic_doc(Request3, Result3))
    assert sorted((b.where, b.rule) for b in found) == [
        ("f request data", "request_field_required"),
        ("f result.at", "answer_type_changed"),
        ("f result.status", "answer_enum_widened"),
    ]
