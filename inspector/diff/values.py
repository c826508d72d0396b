"""Value comparisons for `diff`: JSON values by path, text by unified diff.

Tool arguments are compared as parsed JSON, so key order and spacing do not count and a change names its
path (`arguments.city "Paris" -> "Lyon"`). Text gets a one-line pointer to the first change plus a unified
diff for the detail.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Iterator
from typing import Any

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_VALUE_LIMIT = 60
_CONTEXT = 20
_DETAIL_LIMIT = 200  # unified-diff lines kept per text


def show(value: Any, limit: int = _VALUE_LIMIT) -> str:
    """A JSON rendering of a value, cut to `limit` characters."""
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _key_path(path: str, key: str) -> str:
    return f"{path}.{key}" if _IDENTIFIER.match(key) else f"{path}[{json.dumps(key, ensure_ascii=False)}]"


def _same_scalar(old: Any, new: Any) -> bool:
    """JSON equality: `true` is not `1`, but `1` is `1.0`."""
    if isinstance(old, bool) or isinstance(new, bool):
        return type(old) is type(new) and old == new
    if isinstance(old, int | float) and isinstance(new, int | float):
        return old == new
    return type(old) is type(new) and old == new


def json_changes(old: Any, new: Any, path: str) -> Iterator[str]:
    """Every place where two JSON values differ: `path old -> new`, `path added ...`, `path removed ...`."""
    if isinstance(old, dict) and isinstance(new, dict):
        for key in old:
            if key not in new:
                yield f"{_key_path(path, key)} removed (was {show(old[key])})"
            else:
                yield from json_changes(old[key], new[key], _key_path(path, key))
        for key in new:
            if key not in old:
                yield f"{_key_path(path, key)} added: {show(new[key])}"
        return
    if isinstance(old, list) and isinstance(new, list):
        for position, (before, after) in enumerate(zip(old, new, strict=False)):
            yield from json_changes(before, after, f"{path}[{position}]")
        for position in range(len(new), len(old)):
            yield f"{path}[{position}] removed (was {show(old[position])})"
        for position in range(len(old), len(new)):
            yield f"{path}[{position}] added: {show(new[position])}"
        return
    if not _same_scalar(old, new):
        yield f"{path}  {show(old)} -> {show(new)}"


def parse_json(text: str) -> tuple[bool, Any]:
    """(True, value) when `text` is JSON, else (False, None)."""
    try:
        return True, json.loads(text)
    except (ValueError, RecursionError):
        return False, None


def first_change(old: str, new: str) -> str:
    """Where two texts start to differ, with a little context: `at char 12: "…Paris…" -> "…Lyon…"`."""
    position = next((i for i, (a, b) in enumerate(zip(old, new, strict=False)) if a != b), min(len(old), len(new)))
    start = max(0, position - _CONTEXT)

    def excerpt(text: str) -> str:
        cut = text[start : position + _CONTEXT]
        return ("…" if start else "") + cut + ("…" if position + _CONTEXT < len(text) else "")

    return f"at char {position}: {show(excerpt(old), 2 * _CONTEXT + 8)} -> {show(excerpt(new), 2 * _CONTEXT + 8)}"


def unified(old: str, new: str, label: str) -> list[str]:
    """A unified diff of two texts, line by line (lines end at a newline alone: `splitlines` also ends one at a CR
    or U+2028, which the diff then never showed), cut to a readable length."""
    lines = list(
        difflib.unified_diff(old.split("\n"), new.split("\n"), f"old {label}", f"new {label}", lineterm="", n=2)
    )
    if len(lines) > _DETAIL_LIMIT:
        lines = [*lines[:_DETAIL_LIMIT], f"… {len(lines) - _DETAIL_LIMIT} more lines"]
    return lines
