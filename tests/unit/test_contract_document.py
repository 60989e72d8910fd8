"""The contract document: fresh, valid OpenAPI, no break against the baseline, one source of truth
with the callables, and examples that the models accept."""

from __future__ import annotations

import json
import re
from functools import cache
from typing import Any

import pytest
from jsonschema import Draft202012Validator, FormatChecker
from openapi_spec_validator import validate

from contract import document, gate
from contract.examples import ERRORS, EXAMPLES
from shared import registry
from shared.errors import InvalidArgument
from shared.wire import parse

API_MD = document.ROOT / "docs" / "API.md"


@cache
def built() -> dict[str, Any]:
    return document.build()


def test_checked_in_document_is_what_the_models_generate() -> None:
    assert document.DOCUMENT.read_text() == document.render(built()), (
        "docs/api/openapi.json is stale: run `make contract` and commit it"
    )


def test_document_and_baseline_are_valid_openapi() -> None:
    validate(built())
    validate(json.loads(document.BASELINE.read_text()))


def test_no_break_against_the_released_baseline() -> None:
    breaks = gate.compare(json.loads(document.BASELINE.read_text()), built())
    assert not breaks, (
        "changes that apps built against docs/api/v1.baseline.json would break on "
        "(docs/API.md, Versions):\n" + "\n".join(map(str, breaks))
    )


def test_every_callable_is_in_the_contract() -> None:
    callables = {fn.name for fn in registry.FUNCTIONS if fn.kind == "callable"}
    assert {fn.name for fn in document.callables()} == callables
    assert {path.lstrip("/") for path in built()["paths"]} == callables
    assert set(EXAMPLES) == callables
    for fn in document.callables():
        assert fn.contract is not None
        assert set(fn.contract.errors) >= set(registry.COMMON_ERRORS), fn.name


class _Parsed(Exception):
    pass


@pytest.mark.parametrize("fn", document.callables(), ids=lambda fn: fn.name)
def test_handler_parses_data_with_the_contract_request_model(fn: registry.Function) -> None:
    """The handler in functions/callables.py validates with the model the document shows."""
    import functions.callables
    from shared.endpoints.callable import Call

    seen: list[type[Any]] = []

    class Probe(Call):
        def parse(self, model: type[Any]) -> Any:
            seen.append(model)
            raise _Parsed

    handler = getattr(functions.callables, fn.name).__wrapped__
    with pytest.raises(_Parsed):
        handler(Probe(name=fn.name, uid="u", token={}, data={}, now=None))  # type: ignore[arg-type]
    assert fn.contract is not None
    assert seen == [document.load_model(fn.contract.request)]


def _validator(name: str, side: document.Side) -> Draft202012Validator:
    return Draft202012Validator(
        document.schema_of(built(), name, side), format_checker=FormatChecker()
    )


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_examples_are_accepted_by_the_models_and_the_document(name: str) -> None:
    fn = registry.function(name)
    assert fn.contract is not None
    example = EXAMPLES[name]
    parse(document.load_model(fn.contract.request), example["request"])
    result_model = document.load_model(fn.contract.result)
    # What the server would answer for it is the example itself (every field, canonical form).
    assert result_model.model_validate(example["result"]).to_wire() == example["result"]  # type: ignore[attr-defined]
    _validator(name, "request").validate(example["request"])
    _validator(name, "result").validate(example["result"])


@pytest.mark.parametrize("name", sorted(ERRORS))
def test_error_examples_are_refused_and_answered_as_documented(name: str) -> None:
    fn = registry.function(name)
    assert fn.contract is not None
    refused = ERRORS[name]
    with pytest.raises(InvalidArgument) as raised:
        parse(document.load_model(fn.contract.request), refused["request"])
    error = refused["answer"]["error"]
    assert (raised.value.code, raised.value.message) == (error["status"], error["message"])
    assert raised.value.details == error["details"]
    Draft202012Validator(
        {"$ref": "#/components/schemas/CallableError", "components": built()["components"]}
    ).validate(refused["answer"])


def test_the_document_schemas_refuse_what_the_models_refuse() -> None:
    """The document is as strict as the models on a few telling cases."""
    request = _validator("syncFocusSessions", "request")
    good = EXAMPLES["syncFocusSessions"]["request"]
    session = good["mutations"][0]["session"]
    for bad in (
        {**good, "surprise": 1},
        {**good, "limit": 501},
        {**good, "mutations": [{**good["mutations"][0], "op": "merge"}]},
        {**good, "mutations": [{**good["mutations"][0], "session": {**session, "id": "a/b"}}]},
        {
            **good,
            "mutations": [{**good["mutations"][0], "session": {**session, "label": "x" * 121}}],
        },
    ):
        assert not request.is_valid(bad), bad
    assert not _validator("deleteAccount", "request").is_valid({"confirm": False})


def test_open_enums_are_explained_in_api_md() -> None:
    """Every answered enum that may grow is named in API.md's "Values an app must tolerate"."""
    text = API_MD.read_text()
    section = text.split("### Values an app must tolerate", 1)[1].split("\n#", 1)[0]
    found: list[str] = []

    def visit(node: Any, where: str) -> None:
        if isinstance(node, dict):
            if node.get(gate.OPEN_ENUM):
                found.append(where)
            for key, value in node.items():
                visit(value, key if key not in ("anyOf", "properties") else where)
        elif isinstance(node, list):
            for value in node:
                visit(value, where)

    visit(built()["components"]["schemas"], "")
    assert found, "the document has open enums (rejected[].code, details.reason)"
    for field in found:
        assert re.search(rf"`[^`]*\b{re.escape(field)}`", section), f"{field} not in API.md"


def test_api_md_links_the_generated_reference() -> None:
    text = API_MD.read_text()
    assert "docs/api/openapi.json" in text or "api/openapi.json" in text
    assert "make docs" in text
