"""Build the OpenAPI 3.1 document of the client contract from the wire models.

Every callable of `shared.registry` with a `Contract` becomes `POST /{name}`: the request body is
`{"data": <request model>}` (the model's validation schema: what the server accepts), the 200
answer `{"result": <result model>}` (its serialization schema: what the server sends), and one
answer per HTTP status of the error codes the function may answer. Nothing here restates a field:
the schemas are pydantic's, so the document cannot drift from what the callables validate.
"""

from __future__ import annotations

import importlib
import json
from functools import cache
from pathlib import Path
from typing import Any, Literal

from firebase_functions import https_fn
from pydantic import BaseModel
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaMode, models_json_schema

from contract.envelope import CallableError
from contract.examples import ERRORS, EXAMPLES
from shared import registry

ROOT = Path(__file__).resolve().parent.parent
DOCUMENT = ROOT / "docs" / "api" / "openapi.json"
BASELINE = ROOT / "docs" / "api" / "v1.baseline.json"
SCHEMAS = "#/components/schemas/"
VERSION = "1"

Side = Literal["request", "result"]


class _Schema(GenerateJsonSchema):
    """Pydantic's JSON Schema without a title on every field (`"title": "Startedat"`)."""

    def field_title_should_be_set(self, schema: Any) -> bool:
        return False


def callables() -> list[registry.Function]:
    """The client functions, in the registry's order."""
    return [fn for fn in registry.FUNCTIONS if fn.kind == "callable" and fn.contract is not None]


def load_model(dotted: str) -> type[BaseModel]:
    """`module:Class` of a registry contract as the model class."""
    module, _, name = dotted.partition(":")
    model = getattr(importlib.import_module(module), name)
    if not (isinstance(model, type) and issubclass(model, BaseModel)):
        raise TypeError(f"{dotted} is not a pydantic model")
    return model


@cache
def http_status(code: str) -> int:
    """The HTTP status the callable protocol gives an error code (the SDK's own table)."""
    error = https_fn.HttpsError(https_fn.FunctionsErrorCode[code], "")
    status: int = error._http_error_code.status
    return status


def build() -> dict[str, Any]:
    """The whole document, as a JSON-ready dict."""
    functions = callables()
    inputs: list[tuple[type[BaseModel], JsonSchemaMode]] = [(CallableError, "serialization")]
    for fn in functions:
        assert fn.contract is not None
        inputs.append((load_model(fn.contract.request), "validation"))
        inputs.append((load_model(fn.contract.result), "serialization"))
    refs, defs = models_json_schema(
        inputs, ref_template=SCHEMAS + "{model}", schema_generator=_Schema
    )
    ref: dict[type[BaseModel], str] = {}
    for (model, _), value in refs.items():
        assert isinstance(model, type) and issubclass(model, BaseModel)
        ref[model] = value["$ref"]
    paths = {f"/{fn.name}": {"post": _operation(fn, ref)} for fn in functions}
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Focus app client contract",
            "version": VERSION,
            "description": (
                "The Firebase callable functions the iOS and Android apps call. Generated from "
                "the backend's wire models by `make contract`; docs/API.md explains the "
                "semantics. The contract grows only by addition: the breaking-change gate "
                "compares this document with `docs/api/v1.baseline.json`."
            ),
        },
        "servers": [
            {
                "url": "https://{region}-{project}.cloudfunctions.net",
                "description": "production",
                "variables": {
                    "region": {"default": registry.REGION},
                    "project": {"default": "demo-focus"},
                },
            },
            {
                "url": "http://127.0.0.1:{port}/{project}/{region}",
                "description": "the local stack (`make dev`); the Firebase emulator URL shape",
                "variables": {
                    "port": {"default": "5001"},
                    "project": {"default": "demo-focus"},
                    "region": {"default": registry.REGION},
                },
            },
        ],
        "security": [{"firebaseIdToken": [], "appCheck": []}, {"firebaseIdToken": []}],
        "paths": paths,
        "components": {
            "schemas": defs["$defs"],
            "securitySchemes": {
                "firebaseIdToken": {
                    "type": "http",
                    "scheme": "bearer",
                    "bearerFormat": "JWT",
                    "description": (
                        "The signed-in user's Firebase ID token; missing, malformed, expired or "
                        "for another project: UNAUTHENTICATED. The Firebase SDKs send it."
                    ),
                },
                "appCheck": {
                    "type": "apiKey",
                    "in": "header",
                    "name": "X-Firebase-AppCheck",
                    "description": (
                        "Firebase App Check token. Required where the backend enforces App "
                        "Check (production); then a call without a valid one is "
                        "UNAUTHENTICATED. The Firebase SDKs send it when App Check is set up."
                    ),
                },
            },
        },
    }


def _operation(fn: registry.Function, ref: dict[type[BaseModel], str]) -> dict[str, Any]:
    contract = fn.contract
    assert contract is not None
    request = load_model(contract.request)
    result = load_model(contract.result)
    examples = EXAMPLES.get(fn.name, {})
    request_body: dict[str, Any] = {
        "required": True,
        "content": {"application/json": {"schema": _envelope("data", ref[request])}},
    }
    answer: dict[str, Any] = {"schema": _envelope("result", ref[result])}
    if "request" in examples:
        request_body["content"]["application/json"]["example"] = {"data": examples["request"]}
    if "result" in examples:
        answer["example"] = {"result": examples["result"]}
    responses: dict[str, Any] = {
        "200": {"description": "The function's result.", "content": {"application/json": answer}}
    }
    by_status: dict[int, list[str]] = {}
    for code in contract.errors:
        by_status.setdefault(http_status(code), []).append(code)
    refused = ERRORS.get(fn.name)
    for status, codes in sorted(by_status.items()):
        content: dict[str, Any] = {"schema": {"$ref": ref[CallableError]}}
        if refused is not None and http_status(refused["answer"]["error"]["status"]) == status:
            content["example"] = refused["answer"]
        responses[str(status)] = {
            "description": " or ".join(codes),
            "content": {"application/json": content},
        }
    return {
        "operationId": fn.name,
        "summary": fn.name,
        "description": (
            f"{contract.summary}\n\nFirebase callable: the SDKs' `httpsCallable(functions, "
            f'"{fn.name}")`. Semantics: docs/API.md.'
        ),
        "requestBody": request_body,
        "responses": responses,
        "x-error-codes": {code: http_status(code) for code in contract.errors},
    }


def _envelope(key: str, schema_ref: str) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {key: {"$ref": schema_ref}},
        "required": [key],
        "additionalProperties": False,
    }


def render(document: dict[str, Any]) -> str:
    """The document as it is checked in: sorted keys, two-space indent, a final newline."""
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def schema_of(document: dict[str, Any], name: str, side: Side) -> dict[str, Any]:
    """A JSON Schema (2020-12) of one function's `data` or `result`, refs resolvable."""
    body = document["paths"][f"/{name}"]["post"]
    if side == "request":
        envelope = body["requestBody"]["content"]["application/json"]["schema"]
        inner = envelope["properties"]["data"]
    else:
        inner = body["responses"]["200"]["content"]["application/json"]["schema"]
        inner = inner["properties"]["result"]
    return {**inner, "components": document["components"]}
