"""What an Anthropic Messages stream said, accumulated apart from whether it said it correctly.

The accumulator follows the Python SDK's `accumulate_event` (anthropic-sdk-python `lib/streaming/_messages.py`): a delta
lands only in a block of the type it fits, and the final `message_delta` wins. It judges nothing: the checker
in `anthropic_messages.py` does, and reads the tool arguments from here at `content_block_stop`. Tool arguments
are kept exactly as streamed: the `partial_json` fragments are joined once, at the block's stop.
"""

from __future__ import annotations

import json
from array import array
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

import pydantic_core

from ..base import Assembly, Fragments, Output, ToolCall

TOOL_BLOCKS = frozenset({"tool_use", "server_tool_use", "mcp_tool_use"})
@dataclass(slots=True)
class _OpenBlock:
    type: str
    tool_call: ToolCall | None = None
    parts: Fragments | None = None
    """The `partial_json` fragments of a tool block, joined at its stop."""
    start_json: str = ""
    """The JSON of the start `input`: the arguments when no fragment (or only empty ones) came."""
    fragment_ends: array | None = None
    """A tool block's input length in characters after each non-empty fragment, and (`fragment_events`) the event
    that brought it: where the Python SDK's helper raised, found only once the whole input is known not to parse."""
    fragment_events: array | None = None


class Accumulator:
    """Fills an Assembly from one event at a time; only output 0 exists in this protocol."""

    def __init__(self, assembly: Assembly) -> None:
        self.assembly = assembly
        self.output: Output = assembly.output(0)
        self._text = Fragments(self.output.text_parts)
        self._reasoning = Fragments(self.output.reasoning_parts)
        self.blocks: dict[int, _OpenBlock] = {}
        self.content: list[_OpenBlock] = []
        """Every block in start order, as the SDK's `content` list: a delta that names no open block goes where the
        SDK puts it, `content[index]` (a stopped block, or one counted from the end)."""
        self._started = False
        self._streamed_inputs: dict[int, _OpenBlock] = {}
        """The tool blocks whose input streams, by the `id()` of their `ToolCall` (kept by the assembly as long)."""
        self._on: dict[str, Callable[[int, dict], None]] = {
            "message_start": self._message_start,
            "content_block_start": self._block_start,
            "content_block_delta": self._block_delta,
            "content_block_stop": self._block_stop,
            "message_delta": self._message_delta,
            "error": self._error,
        }
        self._on_delta: dict[str, Callable[[int, _OpenBlock, dict], None]] = {
            "text_delta": self._text_delta,
            "thinking_delta": self._thinking_delta,
            "input_json_delta": self._input_json_delta,
        }

    def feed(self, event_index: int, kind: str, payload: dict) -> None:
        handler = self._on.get(kind)
        if handler is not None:
            handler(event_index, payload)

    def tool_call(self, block_index: int) -> ToolCall | None:
        """The tool call an open block streams into (the checker keeps it to read the arguments at stop)."""
        block = self.blocks.get(block_index)
        return None if block is None else block.tool_call

    def streams_into(self, block_index: int, delta_type: str) -> Fragments | None:
        """What a text or thinking delta for the open block appends to, when it appends at all (the fast path)."""
        block = self.blocks.get(block_index)
        if block is None:
            return None
        return {("text_delta", "text"): self._text, ("thinking_delta", "thinking"): self._reasoning}.get(
            (delta_type, block.type))

    def finish(self) -> None:
        """End of stream: blocks left open (cut stream, max_tokens) keep what was streamed so far."""
        for block in self.blocks.values():
            _settle_arguments(block)

    def _message_start(self, event_index: int, payload: dict) -> None:
        message = payload.get("message")
        if not isinstance(message, dict) or self._started:
            return  # a repeated message_start changes nothing (the Python SDK ignores it too)
        self._started = True
        self.assembly.model = _string(message.get("model"))
        self.assembly.response_id = _string(message.get("id"))
        usage = message.get("usage")
        if isinstance(usage, dict):
            self.assembly.usage = dict(usage)
        content = message.get("content")
        if isinstance(content, list) and content:
            # NOTE: the programmatic-tool short form carries whole blocks here (docs/protocols.md §C.4).
            self.assembly.status = _string(message.get("stop_reason"))
            for block in content:
                if isinstance(block, dict):
                    self._add_block(event_index, block, complete=True)

    def _block_start(self, event_index: int, payload: dict) -> None:
        index, block = payload.get("index"), payload.get("content_block")
        if type(index) is int and isinstance(block, dict):
            replaced = self.blocks.get(index)
            if replaced is not None:  # a start over a still-open block: the old one keeps what it streamed
                _settle_arguments(replaced)
            self.blocks[index] = self._add_block(event_index, block, complete=False)

    def _add_block(self, event_index: int, block: dict, *, complete: bool) -> _OpenBlock:
        kind = _string(block.get("type")) or ""
        opened = _OpenBlock(kind)
        self.content.append(opened)
        text = block.get("text") if kind == "text" else block.get("thinking") if kind == "thinking" else None
        if isinstance(text, str) and text:
            (self._text if kind == "text" else self._reasoning).append(text)
            self.assembly.saw_content(event_index)
        if kind in TOOL_BLOCKS:
            start_input = block.get("input")
            opened.start_json = _compact_json(start_input) if isinstance(start_input, dict) else ""
            opened.tool_call = ToolCall(_string(block.get("id")), _string(block.get("name")), opened.start_json, kind)
            if not complete:
                opened.parts, opened.fragment_ends, opened.fragment_events = Fragments([]), array("q"), array("q")
                self._streamed_inputs[id(opened.tool_call)] = opened
            self.output.tool_calls.append(opened.tool_call)
            self.assembly.saw_content(event_index)
        return opened

    def _block_delta(self, event_index: int, payload: dict) -> None:
        index, delta = payload.get("index"), payload.get("delta")
        block = self.blocks.get(index) if type(index) is int else None
        late = block is None and type(index) is int and -len(self.content) <= index < len(self.content)
        if late:
            block = self.content[index]
        delta_type = delta.get("type") if type(delta) is dict else None
        if block is None or type(delta_type) is not str:
            return
        handler = self._on_delta.get(delta_type)
        if handler is not None:
            handler(event_index, block, delta)
            if late:
                _settle_arguments(block)  # a stopped tool block's input changes as the Python SDK's does

    def _text_delta(self, event_index: int, block: _OpenBlock, delta: dict) -> None:
        text = delta.get("text")
        if block.type == "text" and isinstance(text, str):
            self._text.append(text)
            self.assembly.saw_content(event_index)

    def _thinking_delta(self, event_index: int, block: _OpenBlock, delta: dict) -> None:
        thinking = delta.get("thinking")
        if block.type == "thinking" and isinstance(thinking, str):
            self._reasoning.append(thinking)
            self.assembly.saw_content(event_index)

    def _input_json_delta(self, event_index: int, block: _OpenBlock, delta: dict) -> None:
        fragment = delta.get("partial_json")
        if block.parts is not None and isinstance(fragment, str):
            take_json(block, event_index, fragment)
            self.assembly.saw_content(event_index)

    def json_taker(self, block_index: int) -> Callable[[int, str], None] | None:
        """What an `input_json_delta` for this open tool block takes its fragment with (the fast path)."""
        block = self.blocks.get(block_index)
        if block is None or block.parts is None:
            return None
        return partial(take_json, block)

    def raise_point(self, call: ToolCall) -> tuple[int, str, str] | None:
        """(event, input so far, why) where the SDK's `messages.stream()` helper raises parsing this call's input:
        it parses the joined fragments after every delta in partial mode (jiter's, which pydantic-core's
        `from_json` is built on) and raises `ValueError` at the first that no JSON starts with. None where it never
        does (the input parses, or was only cut short). A binary search over the fragments: a prefix that fails
        stays failed."""
        block = self._streamed_inputs.get(id(call))
        if block is None or block.parts is None or not block.fragment_ends:
            return None
        text = "".join(block.parts.parts)
        ends, events = block.fragment_ends, block.fragment_events
        if _partial_json_error(text) is None:
            return None
        low, high = 0, len(ends) - 1  # NOTE: the last prefix (the whole input) fails
        while low < high:
            middle = (low + high) // 2
            if _partial_json_error(text[:ends[middle]]) is None:
                low = middle + 1
            else:
                high = middle
        why = _partial_json_error(text[:ends[low]])
        return (events[low], text[:ends[low]], why) if why is not None else None

    def _block_stop(self, event_index: int, payload: dict) -> None:
        index = payload.get("index")
        block = self.blocks.pop(index, None) if type(index) is int else None
        if block is not None:
            _settle_arguments(block)

    def _message_delta(self, event_index: int, payload: dict) -> None:
        delta, usage = payload.get("delta"), payload.get("usage")
        if isinstance(delta, dict) and "stop_reason" in delta:  # the last `message_delta` decides, as in the Python SDK
            stop_reason = delta["stop_reason"]
            self.assembly.status = stop_reason if isinstance(stop_reason, str) else None
        if isinstance(usage, dict):
            # NOTE: values are cumulative; fields the delta leaves out keep their message_start value (as the SDK).
            self.assembly.usage = {**(self.assembly.usage or {}), **usage}

    def _error(self, event_index: int, payload: dict) -> None:
        error = payload.get("error")
        message = error.get("message") if isinstance(error, dict) else None
        if isinstance(message, str):
            self.assembly.error = message
        else:  # what came instead, as it came: an `error` object without a message, or an event without one
            self.assembly.error = json.dumps(error if "error" in payload else payload, ensure_ascii=False)


def take_json(block: _OpenBlock, event_index: int, fragment: str) -> None:
    block.parts.append(fragment)  # type: ignore[union-attr]
    if fragment:
        ends = block.fragment_ends
        ends.append((ends[-1] if ends else 0) + len(fragment))  # type: ignore[union-attr]
        block.fragment_events.append(event_index)  # type: ignore[union-attr]


def _partial_json_error(text: str) -> str | None:
    """Why no JSON starts with `text`, as jiter's partial mode says it; None where one may (a lone surrogate,
    which the Python SDK cannot encode, is not this question)."""
    try:
        pydantic_core.from_json(text.encode(), allow_partial=True)
    except UnicodeEncodeError:
        return None
    except ValueError as error:
        return str(error)
    return None


def _settle_arguments(block: _OpenBlock) -> None:
    """Arguments = the fragments exactly as streamed, or the start input's JSON when they add up to nothing."""
    if block.tool_call is not None and block.parts is not None:
        joined = "".join(block.parts.parts)
        block.tool_call.arguments = joined or block.start_json


def _compact_json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _string(value: Any) -> str | None:
    return value if isinstance(value, str) else None
