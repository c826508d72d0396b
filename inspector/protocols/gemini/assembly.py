"""What a Gemini stream said, accumulated apart from whether it said it correctly.

Every chunk is a whole `GenerateContentResponse` whose parts are only the new ones, so the answer is the
concatenation of the non-thought texts, the thought summary that of the `thought: true` texts (as python-genai's
`response.text` and vercel's reasoning parts). Usage is a snapshot, not a delta: the last one wins (vercel).
Function calls arrive whole, except Vertex's streamed arguments (`partialArgs` + `willContinue`), which are put
back together here into one arguments object per call. Built-in tools (code execution, `toolCall`/`toolResponse`,
server-side MCP's `functionResponse`) are listed as tool calls of their own kind; grounding, citations, safety
ratings and prompt feedback go to `Assembly.details` as they came. It judges nothing: the checker does.
"""

from __future__ import annotations

import json
import re
from typing import Any

from ..base import Assembly, Fragments, Output, ToolCall
from .models import genai_bool

# built-in parts: part field -> (tool-call kind, the field that names it, the fields shown as its arguments)
# fmt: off
BUILT_IN_PARTS = {
    "executableCode":      ("executable_code",       "language", ("code",)),
    "codeExecutionResult": ("code_execution_result", "outcome",  ("output",)),
    "toolCall":            ("tool_call",             "toolType", ("args",)),
    "toolResponse":        ("tool_response",         "toolType", ("response",)),
    "functionResponse":    ("function_response",     "name",     ("response",)),
}
# fmt: on
DETAIL_FIELDS = ("groundingMetadata", "citationMetadata", "urlContextMetadata", "safetyRatings", "finishMessage")
_PATH_STEP = re.compile(r"\.([A-Za-z_][\w-]*)|\[(\d{1,18})\]|\['((?:[^'\\]|\\.)*)'\]|\[\"((?:[^\"\\]|\\.)*)\"\]")
"""One step of a `jsonPath`; an index of more digits is no path to follow (`int()` refuses over 4,300)."""
_ARRAY_GAP = 64
"""Elements a piece's index may skip past an array's end: pieces lost in unreadable events leave holes (null), but
an index from the wire must not make the assembly allocate without bound, so a piece further out is not placed."""


def path_steps(json_path: str) -> list[str | int] | None:
    """`$.a[0]['b c']` -> `['a', 0, 'b c']`; None for a path this simple RFC 9535 subset cannot follow."""
    if not json_path.startswith("$"):
        return None
    steps: list[str | int] = []
    position = 1
    while position < len(json_path):
        match = _PATH_STEP.match(json_path, position)
        if match is None:
            return None
        name, number, single, double = match.groups()
        steps.append(int(number) if number is not None else (name or single or double or ""))
        position = match.end()
    return steps


def _set(target: dict[str, Any], steps: list[str | int], value: Any, append: bool) -> None:
    """Put `value` at `steps` inside `target`, creating objects and arrays on the way; `append` adds to a string."""
    node: Any = target
    for step, following in zip(steps, [*steps[1:], None], strict=True):
        fresh: Any = None if following is None else ([] if isinstance(following, int) else {})
        if isinstance(step, int):
            if not isinstance(node, list) or step > len(node) + _ARRAY_GAP:
                return
            while len(node) <= step:
                node.append(None)
            if following is None:
                node[step] = _grown(node[step], value) if append else value
                return
            if not isinstance(node[step], dict | list):
                node[step] = fresh
            node = node[step]
        else:
            if not isinstance(node, dict):
                return
            if following is None:
                node[step] = _grown(node.get(step), value) if append else value
                return
            if not isinstance(node.get(step), dict | list):
                node[step] = fresh
            node = node[step]


def partial_value(piece: dict[str, Any]) -> tuple[bool, Any]:
    """(has a value, the value) of one `partialArgs` entry."""
    for key in ("stringValue", "numberValue", "boolValue"):
        if key in piece:
            return True, piece[key]
    if "nullValue" in piece:
        return True, None
    return False, None


class _Growing:
    """A string argument streamed in pieces: appended in O(1) (`old + piece` would recopy it every time)."""

    __slots__ = ("parts",)

    def __init__(self, first: str) -> None:
        self.parts = Fragments([first])


def _grown(old: Any, piece: str) -> _Growing:
    if isinstance(old, _Growing):
        old.parts.append(piece)
        return old
    return _Growing((old if isinstance(old, str) else "") + piece)


class StreamedCall(ToolCall):
    """A function call whose arguments come as `partialArgs` pieces over several parts (Vertex only). The pieces
    build `args`; `arguments` is its JSON, written when read, not once per piece (which grew quadratically)."""

    __slots__ = ("args", "_start")

    def __init__(self, id: str | None, name: str | None, start: str, kind: str = "function_call") -> None:
        super().__init__(id, name, start, kind)
        self.args: dict[str, Any] | None = None
        """None until the first piece: the arguments are then the start's."""

    @property  # type: ignore[override]
    def arguments(self) -> str:
        return self._start if self.args is None else _compact(self.args)

    @arguments.setter
    def arguments(self, value: str) -> None:
        self._start = value

    def add(self, pieces: list[Any]) -> None:
        if self.args is None:
            self.args = {}
        for piece in pieces:
            if not isinstance(piece, dict) or not isinstance(piece.get("jsonPath"), str):
                continue
            steps = path_steps(piece["jsonPath"])
            has_value, value = partial_value(piece)
            if steps and has_value:
                _set(self.args, steps, value, append=isinstance(value, str))


class Accumulator:
    """Fills an Assembly from one decoded chunk at a time; only candidate 0 is read (as every client does)."""

    def __init__(self, assembly: Assembly) -> None:
        self.assembly = assembly
        self.output: Output = assembly.output(0)
        self._text = Fragments(self.output.text_parts)
        self._reasoning = Fragments(self.output.reasoning_parts)
        self.streamed: StreamedCall | None = None
        """The function call whose arguments are still streaming."""

    def feed(self, index: int, chunk: dict[str, Any]) -> None:
        assembly = self.assembly
        for key, field in (("model", "modelVersion"), ("response_id", "responseId")):
            value = chunk.get(field)
            if isinstance(value, str) and getattr(assembly, key) is None:
                setattr(assembly, key, value)
        usage = chunk.get("usageMetadata")
        if isinstance(usage, dict):
            assembly.usage = usage
        error = chunk.get("error")
        if isinstance(error, dict):
            assembly.error = error_text(error)
            assembly.ended = True
        feedback = chunk.get("promptFeedback")
        if isinstance(feedback, dict):
            assembly.details["promptFeedback"] = feedback
            reason = feedback.get("blockReason")
            if isinstance(reason, str):
                assembly.status = f"prompt blocked: {reason}"
                assembly.ended = True
        candidates = chunk.get("candidates")
        if isinstance(candidates, list) and candidates and isinstance(candidates[0], dict):
            self._candidate(index, candidates[0])

    def _candidate(self, index: int, candidate: dict[str, Any]) -> None:
        content = candidate.get("content")
        parts = content.get("parts") if isinstance(content, dict) else None
        for part in parts if isinstance(parts, list) else ():
            if isinstance(part, dict):
                self._part(index, part)
        for field in DETAIL_FIELDS:
            value = candidate.get(field)
            if value:  # NOTE: google_search sends `groundingMetadata: {}` on every chunk; the last one is whole
                self.assembly.details[field] = value
        reason = candidate.get("finishReason")
        if isinstance(reason, str):
            self.output.finish_reason = self.assembly.status = reason
            self.assembly.ended = True

    def _part(self, index: int, part: dict[str, Any]) -> None:
        text = part.get("text")
        if isinstance(text, str):
            self.text(index, text, genai_bool(part.get("thought")))
        call = part.get("functionCall")
        if isinstance(call, dict):
            self._function_call(index, call)
        for field, (kind, name_field, shown) in BUILT_IN_PARTS.items():
            value = part.get(field)
            if isinstance(value, dict):
                name = value.get(name_field)
                arguments = {key: value[key] for key in shown if key in value}
                self.output.tool_calls.append(
                    ToolCall(_string(value.get("id")), _string(name), _compact(arguments), kind))
                if kind in ("executable_code", "tool_call"):
                    self.assembly.saw_content(index)

    def text(self, index: int, text: str, thought: bool) -> None:
        """A text part's text: the thought summary's when `thought`, else the answer's."""
        if thought:
            self._reasoning.append(text)
        else:
            self._text.append(text)
            if text:
                self.assembly.saw_content(index)

    def _function_call(self, index: int, call: dict[str, Any]) -> None:
        """A complete call, the start of a streamed one, a piece of its arguments, or its closing `{}`."""
        name = call.get("name")
        pieces = call.get("partialArgs")
        if isinstance(name, str):
            self.assembly.saw_content(index)
            args = call.get("args")
            start = _compact(args) if args is not None else "{}"
            streamed = call.get("willContinue") is True
            tool_call = (StreamedCall if streamed else ToolCall)(_string(call.get("id")), name, start, "function_call")
            self.output.tool_calls.append(tool_call)
            self.streamed = tool_call if streamed else None  # type: ignore[assignment]
            if self.streamed is not None and isinstance(pieces, list):
                self.streamed.add(pieces)
            return
        if self.streamed is None:
            return
        if isinstance(pieces, list):
            self.streamed.add(pieces)
        if not continues(call):
            self.streamed = None


def continues(call: dict[str, Any]) -> bool:
    """Whether a streamed call goes on after this part: `willContinue: true` on the call or on its last piece."""
    if call.get("willContinue") is True:
        return True
    pieces = call.get("partialArgs")
    return bool(isinstance(pieces, list) and pieces and isinstance(pieces[-1], dict)
                and pieces[-1].get("willContinue") is True)


def error_text(error: dict[str, Any]) -> str:
    """`404 NOT_FOUND: models/x is not found` from a Google error object."""
    head = " ".join(str(error[key]) for key in ("code", "status") if isinstance(error.get(key), int | str))
    message = error.get("message")
    text = message if isinstance(message, str) else "no message"
    return f"{head}: {text}" if head else text


def _compact(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"),
                      default=lambda grown: grown.parts.text())  # a `_Growing` string: its text


def _string(value: Any) -> str | None:
    return value if isinstance(value, str) else None
