"""Wire words for pydantic validation problems, shared by the protocol checkers.

A schema finding names the field the way a reader of the JSON sees it (`choices[0].delta.content`), says what
the docs require in JSON terms ("an integer", not pydantic's "a valid integer") and shows what came (`"0"`).
"""

from __future__ import annotations

import json
from typing import Any

from pydantic_core import ValidationError

# fmt: off
_EXPECTED = {
    "string_type": "a string", "int_type": "an integer", "bool_type": "a boolean", "float_type": "a number",
    "model_type": "an object", "dict_type": "an object", "model_attributes_type": "an object",
    "list_type": "an array",
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


def summary(error: ValidationError, limit: int, prefix: str = "") -> str:
    """The first `limit` problems in one line, and how many more there were."""
    found = problems(error, prefix)
    more = f" (and {len(found) - limit} more)" if len(found) > limit else ""
    return "; ".join(message for _, message in found[:limit]) + more
