"""The state of a Responses stream below the envelope, as data: delta families, part and item types, and the
small records the item state machine keeps (docs/protocols.md §A.2-§A.3).

Ordering and nesting facts live in these tables, not in code: a new delta family or tool item is one line here.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass, field
from typing import Any

from ..base import Fragments, ToolCall


@dataclass(frozen=True, slots=True)
class Family:
    """One streamed value: `<name>.delta`* then `<name>.done`, joined and compared with its snapshots."""

    scope: str
    """Where its state lives: "part" (content_index), "summary" (summary_index), "item", "command"."""
    done_field: str
    """The field of `<name>.done` that holds the whole value."""
    snapshot: tuple[str, ...]
    """Path of the value inside the part (part/summary scope) or item (item scope) snapshot."""
    item_types: frozenset[str]
    part_type: str | None
    output: str | None
    """Assembly bucket: text, refusal, reasoning, tool (the item's tool call), or None."""
    whole_at_done: bool = False
    """Tool-call arguments: a `.done` with no delta at all is the documented LM Studio departure."""


MESSAGE = frozenset({"message"})
REASONING = frozenset({"reasoning"})

# fmt: off
FAMILIES: dict[str, Family] = {
    "response.output_text":           Family("part", "text", ("text",), MESSAGE, "output_text", "text"),
    "response.refusal":               Family("part", "refusal", ("refusal",), MESSAGE, "refusal", "refusal"),
    "response.reasoning_text":        Family("part", "text", ("text",), REASONING, "reasoning_text", "reasoning"),
    "response.reasoning_summary_text": Family("summary", "text", ("text",), REASONING, "summary_text",
                                              "reasoning"),
    "response.function_call_arguments": Family("item", "arguments", ("arguments",), frozenset({"function_call"}),
                                               None, "tool", whole_at_done=True),
    "response.custom_tool_call_input": Family("item", "input", ("input",), frozenset({"custom_tool_call"}),
                                              None, "tool", whole_at_done=True),
    "response.mcp_call_arguments":    Family("item", "arguments", ("arguments",), frozenset({"mcp_call"}),
                                             None, "tool", whole_at_done=True),
    "response.code_interpreter_call_code": Family("item", "code", ("code",), frozenset({"code_interpreter_call"}),
                                                  None, "tool"),
    "response.apply_patch_call_operation_diff": Family("item", "diff", ("operation", "diff"),
                                                       frozenset({"apply_patch_call"}), None, "tool"),
    # NOTE: no capture shows which item carries shell commands, so their item type is not judged.
    "response.shell_call_command":    Family("command", "command", (), frozenset(), None, None),
}

# Part type -> the family that streams it (for messages that name the missing event).
VALUE_FAMILIES = {family.part_type: name for name, family in FAMILIES.items() if family.part_type is not None}

DELTA_FAMILIES = {f"{name}.delta": (name, family) for name, family in FAMILIES.items()}
DONE_FAMILIES = {f"{name}.done": (name, family) for name, family in FAMILIES.items()}

# Tool progress events: the item type each family of progress events belongs to.
PROGRESS_ITEM_TYPES: dict[str, frozenset[str]] = {
    "response.web_search_call":       frozenset({"web_search_call"}),
    "response.file_search_call":      frozenset({"file_search_call"}),
    "response.code_interpreter_call": frozenset({"code_interpreter_call"}),
    "response.image_generation_call": frozenset({"image_generation_call"}),
    "response.mcp_call":              frozenset({"mcp_call"}),
    "response.mcp_list_tools":        frozenset({"mcp_list_tools"}),
    "response.shell_call_output_content": frozenset(),
}

# Content part type -> (item types it may sit in, field holding its value).
PART_TYPES: dict[str, tuple[frozenset[str], str]] = {
    "output_text":    (MESSAGE, "text"),
    "refusal":        (MESSAGE, "refusal"),
    "reasoning_text": (REASONING, "text"),
}

# Items that are tool calls, for the Assembly: item type -> (id field, field holding the arguments; None: none).
# Built-in tools the API runs are among them (`view` shows what was searched, `diff` sees one turned into a function).
TOOL_CALL_ITEMS: dict[str, tuple[str, str | None]] = {
    "function_call":         ("call_id", "arguments"),
    "custom_tool_call":      ("call_id", "input"),
    "computer_call":         ("call_id", "action"),
    "mcp_call":              ("id", "arguments"),
    "mcp_approval_request":  ("id", "arguments"),
    "code_interpreter_call": ("id", "code"),
    "web_search_call":       ("id", "action"),
    "file_search_call":      ("id", "queries"),
    "image_generation_call": ("id", None),       # NOTE: its `result` is the image itself, base64
    "apply_patch_call":      ("call_id", "operation"),
    "local_shell_call":      ("call_id", "action"),
    "shell_call":            ("call_id", "action"),
}


# Re-encrypted or filled in later by design (docs/protocols.md §A.3 rule 10): not compared with the terminal output.
UNSTABLE_FIELDS = frozenset({"encrypted_content", "fingerprint", "logprobs"})

# Fields that name an item: fixed from `output_item.added` on (what changes is content, arguments and status).
IDENTITY_FIELDS = ("type", "role", "name", "server_label")
# Items the client runs and answers by `call_id`, which therefore must not change. Server-run tools may change
# theirs (a real OpenAI `tool_search_call` is added and done with different `call_id`s).
CALL_ID_ITEMS = frozenset(kind for kind, (id_field, _) in TOOL_CALL_ITEMS.items() if id_field == "call_id")

# A frontier not fixed yet: on a resumed stream, every index is taken as opened before the resume until the first
# `added` event of that level (item, content part, summary part) fixes where this stream's own numbering begins.
UNKNOWN = sys.maxsize
# fmt: on


def tool_name(item_type: str, item: dict[str, Any]) -> str:
    """A tool-call item's `name`; a built-in tool's item has none: `web_search` for a `web_search_call`, as its
    tool is named in the request."""
    name = item.get("name")
    return name if isinstance(name, str) else item_type.removesuffix("_call")


def tool_arguments(item_type: str, item: dict[str, Any]) -> str:
    """A tool-call item's arguments as one string: the field itself when a string, else it as compact JSON (a
    `web_search_call`'s `action`); "" for none."""
    holder = TOOL_CALL_ITEMS[item_type][1]
    value = item.get(holder) if holder is not None else None
    if value is None or isinstance(value, str):
        return value or ""
    return json.dumps(value, separators=(",", ":"))


@dataclass(slots=True)
class Join:
    """The pieces of one streamed value; joined only when a rule needs the whole."""

    pieces: Fragments = field(default_factory=lambda: Fragments([]))
    deltas: int = 0
    final: str | None = None
    """The `.done` value, once it came."""
    partial: bool = False
    """Adopted on a resumed stream: the pieces streamed before the resume are unknown, so `pieces` is a suffix."""
    gapped: bool = False
    """An unreadable event may have carried a delta (or the `.done`) of it: `pieces` is what came after."""

    @classmethod
    def seeded(cls, seed: Any, partial: bool = False) -> Join:
        """A value whose snapshot (or first event) already holds its beginning, when that is a string."""
        return cls(Fragments([seed] if isinstance(seed, str) else []), partial=partial)

    def streamed(self) -> str:
        return self.pieces.text()

    def value(self) -> str:
        return self.final if self.final is not None else self.streamed()

    def known(self) -> bool:
        """Whether `value()` is the whole value (not only the part of it streamed after a resume)."""
        return self.final is not None or not self.partial


@dataclass(slots=True)
class OpenPart:
    type: str
    join: Join
    annotations: int | None = 0
    """Annotations so far; None on a part adopted after a resume, until the first one numbers them."""
    uncertain: bool = False
    """Open when an unreadable event came: that event may have closed it."""


@dataclass(slots=True)
class OpenItem:
    index: int
    id: str | None
    type: str | None
    """None only on an item adopted after a resume, until an event shows its type."""
    snapshot: dict[str, Any]
    """The item as `output_item.added` showed it (seeds item-scoped values); empty on an adopted item."""
    parts: dict[int, OpenPart] = field(default_factory=dict)
    reasoning_before: int | None = None
    """Characters of reasoning the output held when this (reasoning) item was added: none more by its done event
    means none of its own streamed readably."""
    part_values: dict[int, tuple[str, str]] = field(default_factory=dict)
    next_content: int = 0
    summaries: dict[int, OpenPart] = field(default_factory=dict)
    summary_values: dict[int, str] = field(default_factory=dict)
    next_summary: int = 0
    joins: dict[str, Join] = field(default_factory=dict)
    commands: dict[int, Join] = field(default_factory=dict)
    tool_call: ToolCall | None = None
    concurrent: bool = False
    adopted: bool = False
    """Opened before a resumed stream began: its parts, values and annotations may have begun unseen."""
    content_frontier: int = 0
    """Content parts below it that this stream never saw are taken as opened before the resume (adopted items)."""
    summary_frontier: int = 0
    """The same for summary parts."""
    uncertain: bool = False
    """Open when an unreadable event came: that event may have been its `output_item.done`."""
    maybe_part: int = -1
    """The content index an unreadable event may have opened (-1: none); likewise `maybe_summary`."""
    maybe_summary: int = -1


def gap(join: Join) -> None:
    """An unreadable event may have carried a delta of this value: only what streams after it is known."""
    if join.final is None:
        join.partial = join.gapped = True
        join.pieces = Fragments([])


def dig(value: Any, path: tuple[str | int, ...]) -> Any:
    """The value at `path` (keys of objects, indexes of lists), None where it leads nowhere."""
    for key in path:
        if type(key) is int:
            if not isinstance(value, list) or not 0 <= key < len(value):
                return None
            value = value[key]
        elif isinstance(value, dict):
            value = value.get(key)
        else:
            return None
    return value


def stable(value: Any) -> Any:
    """The item without the fields that legitimately change between `output_item.done` and the terminal event."""
    if isinstance(value, dict):
        return {key: stable(inner) for key, inner in value.items() if key not in UNSTABLE_FIELDS}
    if isinstance(value, list):
        return [stable(inner) for inner in value]
    return value


class _Absent:
    def __repr__(self) -> str:
        return "ABSENT"


ABSENT: Any = _Absent()
"""`first_difference`'s value for a key one side lacks: not `None`, which is a value the wire can send."""


def first_difference(left: Any, right: Any, path: str, said: frozenset[str] = frozenset()
                     ) -> tuple[str, Any, Any] | None:
    """(path, left value, right value) of the first place where two JSON values differ, `ABSENT` for a key one
    side lacks (a lacking key and `null` are alike: the SDKs read both as None); `said`: the paths where a missing
    (or null) value on either side is another finding's, passed over."""
    if isinstance(left, dict) and isinstance(right, dict):
        for key in list(left) + [key for key in right if key not in left]:
            found = first_difference(left.get(key, ABSENT), right.get(key, ABSENT), f"{path}.{key}", said)
            if found is not None:
                return found
        return None
    if isinstance(left, list) and isinstance(right, list) and len(left) == len(right):
        for number, (a, b) in enumerate(zip(left, right, strict=True)):
            found = first_difference(a, b, f"{path}[{number}]", said)
            if found is not None:
                return found
        return None
    nothing = (left is None or left is ABSENT, right is None or right is ABSENT)
    if (left == right and type(left) is type(right)) or all(nothing) or (path in said and any(nothing)):
        return None
    return path, left, right


def excerpt(value: Any, limit: int = 40) -> str:
    text = value if isinstance(value, str) else json.dumps(value)
    shown = text if len(text) <= limit else text[:limit] + "…"
    return f"`{shown!r}`" if isinstance(value, str) else f"`{shown}`"


def excerpts(left: Any, right: Any, limit: int = 40) -> tuple[str, str]:
    """Two values that differ, each shown; two strings alike in their first `limit` characters are shown from
    shortly before where they part (an answer one word longer than the other looked the same in both excerpts)."""
    if isinstance(left, str) and isinstance(right, str) and left[:limit] == right[:limit]:
        start = max(len(os.path.commonprefix([left, right])) - 10, 0)
        return (f"{excerpt(left[start:], limit)} from character {start}",
                f"{excerpt(right[start:], limit)} from character {start}")
    return excerpt(left, limit), excerpt(right, limit)


def names(types: frozenset[str]) -> str:
    return " or ".join(f"`{name}`" for name in sorted(types))
