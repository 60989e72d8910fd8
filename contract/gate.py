"""The breaking-change gate: what would an app built against the baseline break on?

`compare(baseline, current)` walks two contract documents (OpenAPI 3.1, JSON Schema 2020-12
schemas) and returns every break. Requests must accept everything they accepted (an old app
keeps sending it); answers must carry nothing an old app cannot read. Additions pass: a new
function, a new optional request field, a new answered field, a wider limit on a request.

Each rule is a function of one pair of schema nodes (or operations) with a one-line docstring;
`tests/unit/test_contract_gate.py` has a passing and a failing pair for every one.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from typing import Any

Schema = dict[str, Any]
OPEN_ENUM = "x-open-enum"
# Bounds a request may widen but never tighten: lower bounds may only fall, upper ones only rise.
LOWER_BOUNDS = ("minLength", "minItems", "minimum", "exclusiveMinimum", "minProperties")
UPPER_BOUNDS = ("maxLength", "maxItems", "maximum", "exclusiveMaximum", "maxProperties")


@dataclasses.dataclass(frozen=True)
class Break:
    """One change an app built against the baseline would break on."""

    where: str  # e.g. "syncFocusSessions request data.mutations[].session.label"
    rule: str  # the rule's function name
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message} [{self.rule}]"


def resolve(schema: Schema, document: Schema) -> Schema:
    """The node with its `$ref` (a pointer into `document`) replaced by what it points at."""
    while "$ref" in schema:
        target: Any = document
        for part in schema["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        schema = {**target, **{k: v for k, v in schema.items() if k != "$ref"}}
    return schema


# -- how a schema node reads ---------------------------------------------------------------------


def variants(schema: Schema, document: Schema) -> list[Schema]:
    """The alternatives of a node: `anyOf`/`oneOf` flattened, one per JSON type."""
    schema = resolve(schema, document)
    alternatives = schema.get("anyOf") or schema.get("oneOf")
    if alternatives:
        shared = {k: v for k, v in schema.items() if k not in ("anyOf", "oneOf")}
        return [v for alt in alternatives for v in variants({**shared, **alt}, document)]
    types = schema.get("type")
    if isinstance(types, list):
        return [{**schema, "type": t} for t in types]
    return [schema]


def json_type(schema: Schema) -> str:
    if "type" in schema:
        return str(schema["type"])
    values = allowed_values(schema)
    if values is not None and values:
        return {bool: "boolean", int: "integer", float: "number", str: "string"}.get(
            type(values[0]), "any"
        )
    return "any"


def allowed_values(schema: Schema) -> list[Any] | None:
    """The values an enum (or const) node allows; None when it allows any value of its type."""
    if "const" in schema:
        return [schema["const"]]
    if "enum" in schema:
        return list(schema["enum"])
    return None


def required(schema: Schema) -> set[str]:
    return set(schema.get("required", []))


def properties(schema: Schema) -> dict[str, Schema]:
    return dict(schema.get("properties", {}))


def _a(kind: str) -> str:
    return f"an {kind}" if kind[0] in "aeiou" else f"a {kind}"


def _covers(wide: str, narrow: str) -> bool:
    """A value of JSON type `narrow` is also one of `wide` (every integer is a number)."""
    return wide in (narrow, "any") or (wide == "number" and narrow == "integer")


# -- rules of requests (what an old app sends must still be accepted) ----------------------------


def request_field_required(old: Schema, new: Schema) -> Iterator[str]:
    """A request field an old app may leave out must not become required."""
    for name in sorted(required(new) - required(old)):
        added = "a new field" if name not in properties(old) else "a field"
        yield f"{added} `{name}` is required; old apps do not send it"


def request_field_removed(old: Schema, new: Schema) -> Iterator[str]:
    """A request field an old app may send must still be accepted."""
    closed = new.get("additionalProperties") is False
    for name in sorted(set(properties(old)) - set(properties(new))):
        if closed:
            yield f"field `{name}` is gone; requests that carry it are refused"


def request_enum_narrowed(old: Schema, new: Schema) -> Iterator[str]:
    """Every enum value an old app may send must still be accepted."""
    before, after = allowed_values(old), allowed_values(new)
    if after is None:
        return
    lost = [v for v in (before or []) if v not in after]
    if before is None:
        yield f"only {after!r} is accepted now, any value was"
    elif lost:
        yield f"no longer accepts {lost!r}"


def request_format_tightened(old: Schema, new: Schema) -> Iterator[str]:
    """A request string must not gain a format or change it."""
    if "format" in new and new.get("format") != old.get("format"):
        yield f"format is now {new['format']!r} (was {old.get('format')!r})"


def request_pattern_tightened(old: Schema, new: Schema) -> Iterator[str]:
    """A request string must not gain a pattern or change it (a wider one cannot be proven)."""
    if "pattern" in new and new.get("pattern") != old.get("pattern"):
        yield f"pattern is now {new['pattern']!r} (was {old.get('pattern')!r})"


def request_limit_tightened(old: Schema, new: Schema) -> Iterator[str]:
    """A request length, count or value bound may only widen."""
    for key in LOWER_BOUNDS:
        if key in new and (key not in old or new[key] > old[key]):
            yield f"{key} rose to {new[key]} (was {old.get(key)})"
    for key in UPPER_BOUNDS:
        if key in new and (key not in old or new[key] < old[key]):
            yield f"{key} fell to {new[key]} (was {old.get(key)})"
    if new.get("uniqueItems") and not old.get("uniqueItems"):
        yield "items must now be unique"
    if old.get("additionalProperties") is not False and new.get("additionalProperties") is False:
        yield "unknown fields are refused now"


# -- rules of answers (what the server sends must be readable by an old app) ---------------------


def answer_field_removed(old: Schema, new: Schema) -> Iterator[str]:
    """A field old apps read must still be answered (a rename is a removal)."""
    for name in sorted(set(properties(old)) - set(properties(new))):
        yield f"field `{name}` is no longer answered"


def answer_field_made_optional(old: Schema, new: Schema) -> Iterator[str]:
    """A field that was always answered must stay always answered."""
    for name in sorted((required(old) - required(new)) & set(properties(new))):
        yield f"field `{name}` may now be missing"


def answer_enum_widened(old: Schema, new: Schema) -> Iterator[str]:
    """A new answered enum value needs docs/API.md to say how old apps treat unknown ones."""
    before, after = allowed_values(old), allowed_values(new)
    if before is None or old.get(OPEN_ENUM):
        return
    added = [v for v in (after or []) if v not in before] if after is not None else None
    if added is None:
        yield f"any value may be answered now, old apps know only {before!r}"
    elif added:
        yield f"new value(s) {added!r}; docs/API.md does not say how old apps treat them"


def answer_format_changed(old: Schema, new: Schema) -> Iterator[str]:
    """An answered string keeps its format (old apps parse it so)."""
    if old.get("format") != new.get("format"):
        yield f"format is now {new.get('format')!r} (was {old.get('format')!r})"


NodeRule = Callable[[Schema, Schema], Iterator[str]]
REQUEST_RULES: tuple[NodeRule, ...] = (
    request_field_required,
    request_field_removed,
    request_enum_narrowed,
    request_format_tightened,
    request_pattern_tightened,
    request_limit_tightened,
)
ANSWER_RULES: tuple[NodeRule, ...] = (
    answer_field_removed,
    answer_field_made_optional,
    answer_enum_widened,
    answer_format_changed,
)


def request_type_changed(old: set[str], new: set[str]) -> Iterator[str]:
    """Every JSON type an old app may send must still be accepted (no retyping)."""
    for kind in sorted(old):
        if not any(_covers(t, kind) for t in new):
            yield f"{_a(kind)} is no longer accepted (now {' or '.join(sorted(new))})"


def answer_type_changed(old: set[str], new: set[str]) -> Iterator[str]:
    """An answer carries only JSON types old apps expect (no retyping, no new null)."""
    for kind in sorted(new):
        if not any(_covers(t, kind) for t in old):
            yield f"{_a(kind)} may be answered; old apps expect {' or '.join(sorted(old))}"


# -- the walk --------------------------------------------------------------------------------------

MAX_DEPTH = 40  # a recursive model would otherwise be walked for ever


@dataclasses.dataclass
class _Walk:
    old_doc: Schema
    new_doc: Schema
    breaks: list[Break] = dataclasses.field(default_factory=list)

    def request(self, old: Schema, new: Schema, where: str) -> None:
        self._pair(old, new, where, accepting=True)

    def answer(self, old: Schema, new: Schema, where: str) -> None:
        self._pair(old, new, where, accepting=False)

    def _pair(self, old: Schema, new: Schema, where: str, accepting: bool) -> None:
        if where.count(".") + where.count("[]") > MAX_DEPTH:
            return
        olds, news = variants(old, self.old_doc), variants(new, self.new_doc)
        type_rule = request_type_changed if accepting else answer_type_changed
        self._report(where, type_rule, {json_type(v) for v in olds}, {json_type(v) for v in news})
        # Requests: each old variant meets the new one that accepts it; answers: each new variant
        # meets the old one that reads it.
        needed, offered = (olds, news) if accepting else (news, olds)
        for variant in needed:
            matches = [o for o in offered if _covers(json_type(o), json_type(variant))]
            if matches:
                match = _best(variant, matches)
                old_node, new_node = (variant, match) if accepting else (match, variant)
                self._node(old_node, new_node, where, accepting)

    def _node(self, old: Schema, new: Schema, where: str, accepting: bool) -> None:
        for rule in REQUEST_RULES if accepting else ANSWER_RULES:
            self._report(where, rule, old, new)
        walk = self.request if accepting else self.answer
        for name, old_prop in properties(old).items():
            if name in properties(new):
                walk(old_prop, properties(new)[name], f"{where}.{name}")
        if "items" in old and "items" in new:
            walk(old["items"], new["items"], f"{where}[]")

    def _report(
        self, where: str, rule: Callable[[Any, Any], Iterator[str]], old: Any, new: Any
    ) -> None:
        self.breaks.extend(Break(where, rule.__name__, message) for message in rule(old, new))


def _best(variant: Schema, candidates: list[Schema]) -> Schema:
    """The candidate to compare a variant with: the same title (model) if any, else the first."""
    for candidate in candidates:
        if candidate.get("title") == variant.get("title"):
            return candidate
    return candidates[0]


# -- operations ------------------------------------------------------------------------------------


def function_removed(name: str, old: Schema, new: Schema | None) -> Iterator[str]:
    """Every function of the baseline must still be served."""
    if new is None:
        yield "the function is gone; old apps still call it"


def error_code_added(name: str, old: Schema, new: Schema | None) -> Iterator[str]:
    """A function answers no error code the baseline did not list for it, each with its status."""
    before: dict[str, int] = (old or {}).get("x-error-codes", {})
    after: dict[str, int] = (new or {}).get("x-error-codes", {})
    for code, status in sorted(after.items()):
        if code not in before:
            yield f"new error code {code}; old apps do not handle it"
        elif before[code] != status:
            yield f"{code} is answered with HTTP {status} now (was {before[code]})"


OperationRule = Callable[[str, Schema, Schema | None], Iterator[str]]
OPERATION_RULES: tuple[OperationRule, ...] = (function_removed, error_code_added)


def compare(baseline: Schema, current: Schema) -> list[Break]:
    """Every break of `current` against `baseline` (two contract documents)."""
    walk = _Walk(baseline, current)
    for path, item in sorted(baseline.get("paths", {}).items()):
        name = path.lstrip("/")
        old_op = item["post"]
        new_op = current.get("paths", {}).get(path, {}).get("post")
        for rule in OPERATION_RULES:
            for message in rule(name, old_op, new_op):
                walk.breaks.append(Break(name, rule.__name__, message))
        if new_op is None:
            continue
        walk.request(_request(old_op), _request(new_op), f"{name} request data")
        walk.answer(_result(old_op), _result(new_op), f"{name} result")
        walk.answer(_error(old_op), _error(new_op), f"{name} error")
    return walk.breaks


def _request(operation: Schema) -> Schema:
    envelope = operation["requestBody"]["content"]["application/json"]["schema"]
    data: Schema = envelope["properties"]["data"]
    return data


def _result(operation: Schema) -> Schema:
    envelope = operation["responses"]["200"]["content"]["application/json"]["schema"]
    result: Schema = envelope["properties"]["result"]
    return result


def _error(operation: Schema) -> Schema:
    """The error answer's schema (every error status shares it); `{}` when there is none."""
    for status, answer in sorted(operation["responses"].items()):
        if status != "200":
            schema: Schema = answer["content"]["application/json"]["schema"]
            return schema
    return {}
