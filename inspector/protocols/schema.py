"""The JSON schema words the protocol models are written in, and wire words for their validation problems.

Schemas are pydantic-core's, built with its `core_schema` functions and compiled by `SchemaValidator`: a checker
reads the decoded dict anyway, and pydantic's Python layer (models, `TypeAdapter`) would be most of the start-up of
a `validate` of one small file. Every object is strict on JSON types (`"0"` is not an index, `true` is not a count)
and ignores the keys it does not name: APIs add fields every month.

A schema finding names the field the way a reader of the JSON sees it (`choices[0].delta.content`), says what
the docs require in JSON terms ("an integer", not pydantic's "a valid integer") and shows what came (`"0"`).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from pydantic_core import SchemaValidator, ValidationError
from pydantic_core import core_schema as cs

STRING, INTEGER, NUMBER, BOOLEAN = cs.str_schema(), cs.int_schema(), cs.float_schema(), cs.bool_schema()
ANY = cs.any_schema()
COUNT = cs.int_schema(ge=0)
"""An integer >= 0: an index or a token count."""
ANY_OBJECT = cs.dict_schema(STRING, ANY)
_STRICT = cs.CoreConfig(strict=True, extra_fields_behavior="ignore")

Validator = Callable[[Any], Any]
"""A compiled schema: it raises `ValidationError` on a payload that breaks it."""


def json_object(name: str, fields: dict[str, cs.CoreSchema | cs.TypedDictField]) -> cs.TypedDictSchema:
    """A JSON object with these keys, checked in this order: each is required unless marked `optional(...)`;
    every other key is ignored."""
    return cs.typed_dict_schema(
        {key: schema if schema["type"] == "typed-dict-field" else cs.typed_dict_field(schema, required=True)
         for key, schema in fields.items()},
        cls_name=name, extra_behavior="ignore", config=_STRICT)


def optional(schema: cs.CoreSchema) -> cs.TypedDictField:
    """A key of `json_object` that may be absent."""
    return cs.typed_dict_field(schema, required=False)


def nullable(schema: cs.CoreSchema) -> cs.NullableSchema:
    return cs.nullable_schema(schema)


def maybe(schema: cs.CoreSchema) -> cs.TypedDictField:
    """A key of `json_object` that may be absent or null."""
    return optional(nullable(schema))


def array(items: cs.CoreSchema) -> cs.ListSchema:
    return cs.list_schema(items)


def one_of(values: Any) -> cs.LiteralSchema:
    """One of the values of a `Literal` type."""
    return cs.literal_schema(list(values.__args__))


def compiled(schema: cs.CoreSchema) -> Validator:
    """The validator of `schema` (a tenth of a millisecond to compile)."""
    return SchemaValidator(schema).validate_python


# fmt: off
_EXPECTED = {
    "string_type": "a string", "int_type": "an integer", "bool_type": "a boolean", "float_type": "a number",
    "dict_type": "an object", "list_type": "an array",
}
_JSON_TYPES = {bool: "boolean", int: "integer", float: "number", str: "string", list: "array", dict: "object",
               type(None): "null"}
# fmt: on


def json_type(value: Any) -> str:
    """The JSON name of a decoded value's type: `integer`, `string`, `null`, ..."""
    return _JSON_TYPES.get(type(value), type(value).__name__)


def excerpt(value: Any, limit: int = 40) -> str:
    """A value as JSON (`"0"`, `true`, `null`), cut short."""
    try:
        text = json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= limit else text[:limit] + "…"


def field_path(loc: tuple[int | str, ...], prefix: str = "") -> str:
    """`('choices', 0, 'delta', 'content')` -> `choices[0].delta.content`, after `prefix` (e.g. `delta`)."""
    text = prefix
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(the object)"


def describe(problem: Any, prefix: str = "") -> tuple[str, str]:
    """(field path, message) for one of pydantic's `error.errors()`."""
    path = field_path(problem["loc"], prefix)
    kind, context = problem["type"], problem.get("ctx") or {}
    if kind == "missing":
        return path, f"`{path}` is required but missing"
    if kind in _EXPECTED:
        expected = _EXPECTED[kind]
    elif kind == "literal_error":
        expected = context["expected"]
    elif kind == "greater_than_equal":
        expected = f"a number >= {context['ge']}"
    else:
        expected = problem["msg"][:1].lower() + problem["msg"][1:]
        expected = expected.removeprefix("input should be ")
    value = problem["input"]
    got = "null" if value is None else f"{json_type(value)} `{excerpt(value)}`"
    return path, f"`{path}`: expected {expected}, got {got}"


def problems(error: ValidationError, prefix: str = "") -> list[tuple[str, str]]:
    """Every problem of a validation error as (field path, message)."""
    return [describe(problem, prefix) for problem in error.errors(include_url=False)]


def summary(error: ValidationError, limit: int, prefix: str = "", fresh: Callable[[str], bool] | None = None) -> str:
    """The first `limit` problems in one line, and how many more there were; `fresh(path)`: only the fields it is
    true of (not reported before), "" when none is."""
    found = [(path, message) for path, message in problems(error, prefix) if fresh is None or fresh(path)]
    if not found:
        return ""
    more = f" (and {len(found) - limit} more)" if len(found) > limit else ""
    return "; ".join(message for _, message in found[:limit]) + more
