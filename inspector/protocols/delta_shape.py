"""The fast path for the event that makes up most of every stream: a delta shaped exactly like the one before.

A long stream is mostly one event repeated (a Chat content chunk, an Anthropic `text_delta`, a Responses
`output_text.delta`), each differing from the last only in a few values: the text fragment, a sequence number,
an obfuscation pad. Once a checker has judged such an event the full way, it may offer a `DeltaShape`: the
event's data with those values cut out as holes, and an `apply` callback that does to the checker's state what
the full path would do with new values. A later event whose data fills the same shape then skips the JSON
decode, the schema and the generic checks; any event that does not fit goes the full way and drops the shape.

The checker offers a shape only in a steady state where the full path of such an event can report nothing and
only appends its text (`apply` refuses values it cannot take the same way, such as an empty text); the corpus
and property tests in tests/test_delta_shape.py hold the two paths to the same findings and assembly.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from operator import itemgetter
from typing import Any

from pydantic_core import from_json

from ..sse import Event

_STRING_BODY = r'([^"\\\x00-\x1f]*(?:\\.[^"\\\x00-\x1f]*)*)'
"""A JSON string's body between its quotes: no raw quote, backslash or control character except in an escape
(the escape itself is checked by decoding it)."""
_NATURAL = r"(0|[1-9][0-9]{0,17})"
"""A natural number of up to 18 digits: a longer one goes the full way (Python's `int()` and `json.loads` refuse
over 4,300 digits, and the full path reports such an event as unreadable)."""
_WHITESPACE_ANY = "[ \\t\\n\\r]*"
_STRING_OR_WHITESPACE = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|([ \t\n\r]+)', re.DOTALL)
_STRING_AT = re.compile(r'[ \t\n\r]*"' + _STRING_BODY + '"')
_NATURAL_AT = re.compile(r"[ \t\n\r]*" + _NATURAL + r"(?![0-9.eE])")


@dataclass(frozen=True, slots=True)
class Hole:
    """A value that changes from one delta to the next: the one `"key":` of that name in the event's data, holding
    `value` (a string, or a natural number) in the event the shape is cut from."""

    key: str
    value: str | int


Apply = Callable[[int, Sequence[Any]], bool]
"""`apply(event_index, values)`: take a fitting event's hole values (in the order the holes were given), or
return False without changing anything when the full path must judge them."""


class DeltaShape:
    """The data of one event with its holes cut out, and what to do with an event that fills them."""

    __slots__ = ("_pattern", "_pick", "_numbers", "_strings", "_type", "_id", "_one_line", "apply")

    def __init__(self, pattern: re.Pattern[str], kinds: Sequence[type], groups: Sequence[int], event: Event,
                 apply: Apply) -> None:
        self._pattern = pattern
        in_order = list(groups) == sorted(groups)
        self._pick = None if in_order else itemgetter(*groups)
        """The groups of the pattern in the order the holes were given (None: they are in that order)."""
        self._numbers = tuple(position for position, kind in enumerate(kinds) if kind is int)
        self._strings = tuple(position for position, kind in enumerate(kinds) if kind is str)
        self._type = event.type
        self._id = event.id
        self._one_line = _WHITESPACE_ANY not in pattern.pattern
        """The data it fits has no line end: one can only come from a run of whitespace between JSON tokens (a JSON
        string holds none raw, and `cut` refuses escapes outside the holes)."""
        self.apply = apply

    @classmethod
    def cut(cls, event: Event, holes: Sequence[Hole], apply: Apply) -> DeltaShape | None:
        """The shape of `event` with `holes` cut out; None when a hole's key is not in its data exactly once with
        the value given, or when its data has an escape outside the holes (then no shape is safe to cut: a key
        may be spelled with one, so that the text search finds a decoy for the key the decoder reads)."""
        data = event.data
        if "\0" in data:
            return None  # NOTE: no JSON text holds a raw NUL; `_pattern` uses it as a separator
        spans: list[tuple[int, int, int, type]] = []
        for position, hole in enumerate(holes):
            marker = f'"{hole.key}":'
            start = data.find(marker)
            if start < 0 or data.find(marker, start + 1) >= 0:
                return None
            kind = type(hole.value)
            found = (_STRING_AT if kind is str else _NATURAL_AT).match(data, start + len(marker))
            if found is None or _decode(found.group(1), kind) != hole.value:
                return None
            spans.append((found.start(1), found.end(1), position, kind))
        spans.sort()
        outside, last = [], 0
        for start, end, _, _ in spans:
            outside.append(data[last:start])
            last = end
        if any("\\" in text for text in (*outside, data[last:])):
            return None  # NOTE: an escape outside the holes may spell a key (`"t\\u0065xt":`) the search above misses
        pattern = re.compile(_pattern(data, [(start, end, kind) for start, end, _, kind in spans]), re.DOTALL)
        groups = sorted(range(len(spans)), key=lambda group: spans[group][2])
        return cls(pattern, [type(hole.value) for hole in holes], groups, event, apply)

    def take(self, events: Sequence[Event], start: int) -> int:
        """Apply `events` from `events[start]` on while each one's data fills this shape and the checker takes its
        values. Returns the position of the first event not taken; the full way judges it. One call for a run of
        events, not one each: a stream of deltas pays no frame per event here."""
        kind, ident, fullmatch, apply = self._type, self._id, self._pattern.fullmatch, self.apply
        as_found = self._pick is None and not self._numbers  # the values are the groups as they are, unless escaped
        for position in range(start, len(events)):
            event = events[position]
            if event.type != kind or event.id != ident:
                return position
            data = event.data
            found = fullmatch(data)
            if found is None:
                return position
            escaped = "\\" in data
            if not (apply(event.index, found.groups()) if as_found and not escaped
                    else self._apply(found, escaped, event.index)):
                return position
        return len(events)

    def take_texts(self, texts: Sequence[str], start: int, index: int, last_id: str | None) -> int:
        """`take` for whole chunks, from `texts[start]` (event `index`) on, without making their events: each
        chunk must be exactly one usual event (`sse._usual_event`: `data: X`, or `event: T` then `data: X`, then a
        blank line; LF, or CRLF for `data:` alone) of this shape's type and id, read between events (the last
        event id being `last_id`). Returns the position of the first chunk not taken; the full way judges it."""
        if last_id != self._id or start >= len(texts):
            return start
        message = self._type == "message"
        prefix = "data: " if message else f"event: {self._type}\ndata: "
        suffix = "\r\n\r\n" if message and texts[start].endswith("\r\n\r\n") else "\n\n"
        line_feeds, returns = prefix.count("\n") + 2, suffix.count("\r")  # those of the frame alone: X has none
        head, tail = len(prefix), len(suffix)
        fullmatch, apply, one_line = self._pattern.fullmatch, self.apply, self._one_line
        as_found = self._pick is None and not self._numbers  # the values are the groups as they are, unless escaped
        for position in range(start, len(texts)):
            text = texts[position]
            if not (text.startswith(prefix) and text.endswith(suffix)):
                return position
            if not one_line and (text.count("\n") != line_feeds or text.count("\r") != returns):
                return position
            found = fullmatch(text, head, len(text) - tail)
            if found is None:
                return position
            escaped = "\\" in text
            if not (apply(index, found.groups()) if as_found and not escaped else self._apply(found, escaped, index)):
                return position
            index += 1
        return len(texts)

    def _apply(self, found: re.Match[str], escaped: bool, index: int) -> bool:
        """The checker's `apply` with the values of a fitting event (`escaped`: its text may hold an escape)."""
        values: list[Any] = list(found.groups() if self._pick is None else self._pick(found.groups()))
        for position in self._numbers:
            values[position] = int(values[position])
        if escaped:  # an escape somewhere: decode the strings (without one, each is its own value)
            for position in self._strings:
                if (value := _decode(values[position], str)) is None:
                    return False
                values[position] = value
        return self.apply(index, values)


def _pattern(data: str, holes: list[tuple[int, int, type]]) -> str:
    """`data` as a pattern: each hole (start, end, kind) a group, each run of whitespace between JSON tokens any
    run (servers pad events with varying whitespace, which changes nothing), the rest literal."""
    flexible = [(*found.span(1), None) for found in _STRING_OR_WHITESPACE.finditer(data) if found[1]]
    literals, groups, last = [], [], 0
    for start, end, kind in sorted([*holes, *flexible], key=lambda span: span[0]):
        literals.append(data[last:start])
        groups.append(_WHITESPACE_ANY if kind is None else _STRING_BODY if kind is str else _NATURAL)
        last = end
    literals.append(data[last:])
    # NOTE: one `re.escape` of all the literals (NUL-separated: JSON text holds no raw NUL) costs a tenth of one each
    escaped = re.escape("\0".join(literals)).split("\0")
    return "".join(piece for pair in zip(escaped, [*groups, ""], strict=True) for piece in pair)


def _decode(raw: str, kind: type) -> str | int | None:
    """A hole's raw text as its value; None when it is no valid JSON value of that kind."""
    if kind is int:
        return int(raw)
    if "\\" not in raw:
        return raw  # no escape: the body is the string itself (control characters are excluded by the pattern)
    try:
        # NOTE: the same decoder as the full path, so the same escapes (and lone surrogates) are accepted
        value = from_json(f'"{raw}"')
    except ValueError:
        return None
    return value if type(value) is str else None
