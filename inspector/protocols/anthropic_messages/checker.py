"""The Anthropic Messages checker: one state machine, fed one event at a time (docs/protocols.md §C, checklist §D).

Three parts, one job each: `models` says what each payload must look like,
`assembly` accumulates what the stream said (text, thinking, tool calls, usage), and this
module judges the order. The ordering facts live in the tables below; every rule is one small method over the
state, and a finding never stops the stream: the checker records it and goes on.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import islice
from typing import Any, ClassVar

from ...findings import Finding
from ...sse import Event
from ..base import (
    DONE,
    UNREADABLE,
    Assembly,
    FirstTime,
    ToolCall,
    anthropic_arguments_harm,
    arguments_problem,
    broken_connection,
    cut_or_done,
    left_open,
    listed,
)
from ..delta_shape import DeltaShape, Hole
from ..schema import json_type
from ..token_limit import TokenLimit
from . import rules as R
from .assembly import TOOL_BLOCKS, Accumulator
from .models import (
    DELTA_EVENT_MODELS,
    EVENT_MODELS,
    RESULT_BLOCKS,
    UNKNOWN_DELTA_EVENT,
    WEB_SEARCH_RESULT,
    Validator,
    block_model,
    schema_problem,
)

# fmt: off
FIRST_EVENT     = "message_start"
KEEPALIVE       = "ping"                                  # anywhere after message_start, carries nothing
TERMINAL_EVENTS = frozenset({"message_stop", "error"})    # the last event; nothing may follow
STREAMED_FIELDS = {"text_delta": "text", "thinking_delta": "thinking", "input_json_delta": "partial_json"}  # fast path
SSE_LAYER_EVENTS = frozenset({"ping", "error"})           # the Python SDK handles these before its accumulator, so
                                                          # they do not count as "the first event"
SDK_READS = frozenset({FIRST_EVENT, "message_delta", "message_stop", "content_block_start", "content_block_delta",
                       "content_block_stop"})             # the event names whose frames the Python SDK hands its stream
                                                          # helper; it skips the others and raises on `error`
DELTAS_FOR_BLOCK: dict[str, frozenset[str]] = {
    "text":              frozenset({"text_delta", "citations_delta"}),
    "thinking":          frozenset({"thinking_delta", "signature_delta"}),
    "tool_use":          frozenset({"input_json_delta"}),
    "server_tool_use":   frozenset({"input_json_delta"}),
    "mcp_tool_use":      frozenset({"input_json_delta"}),
    "compaction":        frozenset({"compaction_delta"}),
    "redacted_thinking": frozenset(),                      # complete at start
    **dict.fromkeys(RESULT_BLOCKS, frozenset()),           # complete at start
}
STOP_REASONS = frozenset({
    "end_turn", "max_tokens", "stop_sequence", "tool_use", "pause_turn", "refusal", "model_context_window_exceeded",
})
LENIENT_OPEN_BLOCK_STOP_REASON = "max_tokens"   # §C.4: a tool block may stay open with truncated JSON
# fmt: on


@dataclass(slots=True)
class _Block:
    """An open content block: only what its rules need."""

    type: str
    tool_call: ToolCall | None = None
    signatures: int = 0
    empty_signature_at: int | None = None
    """The event of the last `signature_delta` when its `signature` was `""`."""
    thinking_after_signature: bool = False
    uncertain: bool = False
    """An unreadable event came while it was open (or may have started it): it may hold a lost delta, or have
    been stopped, so its content and its end are not judged."""
    start_input_broken: bool = False
    """A tool block whose start has no `input` object (the schema finding said so): with no delta after it, that
    start's value is the tool's input, not an empty one."""


_SDK_APPENDS: dict[str, tuple[tuple[str, ...], str]] = {
    "text_delta": (("text",), "text"),
    "input_json_delta": (("tool_use", "server_tool_use"), "partial_json"),
    "thinking_delta": (("thinking",), "thinking"),
}
"""Delta type -> (the block types whose value the SDK's stream helper extends with it, the delta's field): a field
that is not a string there raises `TypeError` in the helper."""


def _server_loop(body: dict[str, Any], usage: dict[str, Any]) -> bool:
    """Whether the request offers a server tool (`web_search_…`, `code_execution_…`: every tool with a `type` but
    `custom`), or the usage counts server tool calls or several sampling iterations: the answer may then hold
    several model calls, each under `max_tokens`, and the usage sums them."""
    tools = body.get("tools")
    offers = isinstance(tools, list) and any(not isinstance(tool, dict) or tool.get("type", "custom") != "custom"
                                             for tool in tools)
    return offers or usage.get("server_tool_use") is not None or usage.get("iterations") is not None


class Checker:
    """Judges one Anthropic Messages stream; fills `assembly` through an `Accumulator`."""

    name: ClassVar[str] = "anthropic-messages"
    end_missing: ClassVar[str] = R.TERMINAL_MISSING.id
    lost_with_end: ClassVar[str] = ("; clients that read the final usage or stop reason at `message_stop` never get "
                                    "them (agno 3.1 reports 0 tokens, strands-agents 1.62 `end_turn` whatever the "
                                    "stop reason)")
    """What is lost with a `message_stop` that never came, beyond the end itself (tried with both frameworks)."""
    broken_after_end: ClassVar[str] = ("the anthropic Python SDK reads on to the body's end, so its stream raises "
                                       "`httpx.RemoteProtocolError` after the last event, and `get_final_message()` "
                                       "never returns the message that came whole")
    token_limit: ClassVar[TokenLimit] = TokenLimit(R.USAGE_OVER_LIMIT, ("max_tokens",), "output_tokens",
                                                   may_count_more=_server_loop)

    @staticmethod
    def ends_stream(payload: Any) -> bool:
        return type(payload) is dict and payload.get("type") in TERMINAL_EVENTS

    def __init__(self) -> None:
        self.connection_broke: str | None = None
        self.ended_inside_event = False
        self.assembly = Assembly(self.name)
        self._accumulator = Accumulator(self.assembly)
        self._events = 0
        self._started = False
        self._not_first_reported = False
        self._stopped_tools: list[tuple[int | None, int, _Block, str]] = []
        """(stop event, block index, block, input at the stop) of each stopped tool block, judged at the end."""
        self._sdk_read = False
        """A frame named as a message event came before `message_start`: the Python SDK's stream helper read it."""
        self._raised: tuple[int, str] | None = None
        """(event, exception) where the Python SDK's `messages.stream()` helper raised: it reads no further, so what it
        would do with a later event it does not do (AIClient-2-API's streams start with a delta, no `message_start`)."""
        self._snapshot_usage = True
        """The first `message_start` carried a `message.usage` object: the helper's snapshot, to which each
        `message_delta` writes its `output_tokens` (`AttributeError` without one: openai2claude 0.1.1)."""
        self._short_form_at: int | None = None  # a message_start that came complete; decided by the next event
        self._short_form = False
        self._short_form_reason: Any = None
        self._terminal: str | None = None
        self._after_terminal_reported = False
        self._open: dict[int, _Block] = {}
        self._certain: dict[int, _Block] = {}
        """The open blocks not `uncertain`, in the order they started."""
        self._unreported: dict[int, _Block] = {}
        """The certain open blocks not yet reported as open at a `message_delta` (nor again when the stream ends).
        These two, kept beside `_open`, spare a hostile stream with thousands of open blocks a scan of them all at
        each event (quadratic)."""
        self._next_index = 0
        self._started_blocks: set[int] = set()
        """Every block index a `content_block_start` (or an unreadable event, `_adopt`) started: a delta for one
        not open was stopped already, or never started."""
        self._misnamed_at: int | None = None
        """The last event whose `event:` name was not its `data.type`."""
        self._message_deltas = 0
        self._stop_reason: str | None = None
        self._stop_reason_at: int | None = None
        """The `message_delta` that set `_stop_reason`."""
        self._tool_uses = 0
        """Client `tool_use` blocks started (server and MCP tools run on the server: no client acts on them)."""
        self._tool_ids: dict[str, int] = {}
        """The id of each tool block started so far, and its block index."""
        self._output_tokens: int | None = None
        self._output_tokens_at: int | None = None
        """The event that sent `_output_tokens`."""
        self._final_count_sent = False
        """A `message_delta` sent `_output_tokens` (the count the message ends with, not `message_start`'s)."""
        self._first_time = FirstTime()  # (rule, culprit) of findings given once per stream
        self._unreadable_at: int | None = None
        """The last unreadable event (its content unknown): claims it could make false are not made."""
        self._done_at: int | None = None
        """The last `data: [DONE]`: a stream that ends with it was ended by its server, not cut."""
        self._maybe_started = -1
        """The next block index when an unreadable event came since the last readable start (-1: none): that
        event may have started one block."""
        self._delta_unknown = False
        """An unreadable event since the last readable `message_delta` (or since the start): it may have been one."""
        self._on: dict[str, Callable[[int, dict, list[Finding]], None]] = {
            "message_start": self._message_start,
            "content_block_start": self._block_start,
            "content_block_delta": self._block_delta,
            "content_block_stop": self._block_stop,
            "message_delta": self._message_delta,
            "message_stop": self._message_stop,
            "ping": self._ping,
            "error": self._error,
        }
        self._on_delta: dict[str, Callable[[int, _Block, dict, list[Finding]], None]] = {
            "signature_delta": self._signature_delta,
            "thinking_delta": self._thinking_delta,
        }
        self._on_stop: dict[str, Callable[[int, int, _Block, list[Finding]], None]] = {
            "thinking": self._thinking_stop,
            **dict.fromkeys(TOOL_BLOCKS, self._tool_stop),
        }

    # --- the event loop -----------------------------------------------------------------------------------------

    def feed(self, event: Event, payload: Any) -> list[Finding]:
        found: list[Finding] = []
        self._events += 1
        index = event.index
        if payload is UNREADABLE:
            if event.type in SDK_READS or event.named_message:  # the Python SDK decodes its data: `sse/invalid-json`
                self._helper_raises(index, "JSONDecodeError")
            self._unreadable(index)
            return found
        if payload is DONE:
            self._done_at = index
            found.append(R.DONE_SENTINEL(index, "`data: [DONE]` is not part of Anthropic Messages (`message_stop` "
                                                "ends the stream): a client that decodes every frame as JSON raises "
                                                "on it"))
            return found
        read = event.type in SDK_READS or event.named_message
        if not self._started and read:
            self._sdk_read = True
        kind = payload.get("type") if type(payload) is dict else None
        if event.type == "error" and type(payload) is dict:
            kind = "error"  # NOTE: the Python SDK raises on the `event:` name, whatever `data.type` says (llama.cpp's)
        elif type(kind) is not str and event.named_message is False and not read and event.type != "message":
            kind = event.type  # a frame the Python SDK skips for its name (any-llm's closing `event: done`, `data: {}`)
        if type(kind) is not str:
            error = payload.get("error") if type(payload) is dict else None
            if type(error) is dict and not read:  # ccproxy-api's failures, relayed
                message = error.get("message")
                text = message if type(message) is str else json.dumps(error)
                if self.assembly.error is None:
                    self.assembly.error = text
                found.append(R.SCHEMA_MISMATCH(index, f"an error (`{text[:200]}`) in a frame with no `type` and no "
                                                      "`event: error` line: the Python SDK skips the frame for its "
                                                      "event name, so the app is never told of the error"))
                return found
            got = json_type(payload) if type(payload) is not dict else "an object without a string `type`"
            found.append(R.SCHEMA_MISMATCH(index, f"expected a JSON object with a string `type`, got {got}: "
                                                  "no client can tell which event this is"))
            return found
        if event.type != kind:
            self._misnamed_at = index
            self._name_mismatch(index, event, kind, read, found)
        if self._terminal is not None:
            self._event_after_terminal(index, kind, read, found)
            if self._terminal == "message_stop" and kind in _FOLDED_AFTER_STOP:
                self._accumulator.feed(index, kind, payload)  # as the SDK's helper does: the view shows its message
            return found
        handler = self._on.get(kind)
        if handler is None:
            self._once(found, R.UNKNOWN_EVENT, index, kind,
                       f"unknown event type `{kind}` (first of its kind here), ignored: the Python SDK skips it, "
                       "which is right for a newer event but loses it if it carried content")
            return found
        self._accumulator.feed(index, kind, payload)
        self._order(index, kind, read, found)
        handler(index, payload, found)
        if kind in TERMINAL_EVENTS:
            self._terminal = kind
            self.assembly.ended = True
        return found

    def shape(self, event: Event, payload: Any) -> DeltaShape | None:
        """The fast path's shape of a `content_block_delta` that only adds text, thinking or tool input to an open
        block in mid-message (delta_shape.py): one of the same shape passes every check here silently."""
        kind = "content_block_delta"
        if event.type != kind or self._terminal is not None or self._short_form_at is not None:
            return None
        delta = payload.get("delta") if type(payload) is dict and payload.get("type") == kind else None
        field = STREAMED_FIELDS.get(delta.get("type")) if type(delta) is dict else None  # type: ignore[arg-type]
        block_index = payload["index"] if field is not None and type(payload.get("index")) is int else None
        block = self._open.get(block_index) if block_index is not None else None
        if block is None or block.signatures or type(delta.get(field)) is not str:  # type: ignore[union-attr]
            return None
        if delta["type"] == "input_json_delta":  # type: ignore[index]
            take = self._accumulator.json_taker(block_index)  # type: ignore[arg-type]
            if take is None:
                return None

            def apply_input(index: int, values: Sequence[Any]) -> bool:
                self._events += 1
                take(index, values[0])
                return True

            return DeltaShape.cut(event, [Hole(field, delta[field])], apply_input)  # type: ignore[index]
        fragments = self._accumulator.streams_into(block_index, delta["type"])  # type: ignore[arg-type,index]
        if fragments is None:
            return None

        def apply(index: int, values: Sequence[Any]) -> bool:
            self._events += 1
            fragments.append(values[0])
            return True

        return DeltaShape.cut(event, [Hole(field, delta[field])], apply)  # type: ignore[index]

    def answer_whole(self) -> str | None:
        """Why the message looks whole without `message_stop`: a `message_delta` brought its stop reason (the
        Python SDK's final message is then whole; an unterminated `message_stop` after it loses nothing to it)."""
        return f"`message_delta` brought `stop_reason` `{self._stop_reason}`" if self._stop_reason else None

    @staticmethod
    def sdk_skips(event: Event) -> bool:
        """Whether the Python SDK skips this frame without reading its data (`ping`, an unnamed frame)."""
        return event.type not in SDK_READS and not event.named_message and event.type != "error"

    def finish(self, end_index: int | None) -> list[Finding]:
        self._accumulator.finish()
        found: list[Finding] = []
        self._judge_tool_inputs(found)
        if self._events == 0:
            return found  # nothing came: the SSE layer reports that (`sse/no-events`)
        self._judge_zero_count(found)
        if self._short_form_at is not None:
            self._resolve_short_form(None, found)
        if (not self._started and not self._not_first_reported and self._terminal != "error"
                and self._unreadable_at is None):
            helper = ("the Python SDK's `messages.stream()` helper raises \"Unexpected event order\" and returns no "
                      "message" if self._sdk_read else
                      "none of its frames is named as a message event, so the Python SDK reads none: its "
                      "`messages.stream()` helper yields no event and `get_final_message()` raises `AssertionError`")
            found.append(R.MESSAGE_START_NOT_FIRST(end_index, f"the stream has no `message_start`: {helper}"))
        if self._terminal is None:
            last = (f" (event {end_index}, the last one, could not be read and may have been it)"
                    if self._unreadable_at is not None and self._unreadable_at == end_index else "")
            how = (broken_connection(self.connection_broke) if self.connection_broke else
                   f"{cut_or_done(self._done_at, end_index)}, and the client cannot tell a finished message from a "
                   f"lost connection{self.lost_with_end if self._started else ''}")
            unclosed, self._unreported = self._unreported, {}  # NOTE: one break: named here, not one finding each
            open_blocks = [f"`{block.type}` block {block_index}" for block_index, block in sorted(unclosed.items())]
            found.append(R.TERMINAL_MISSING(end_index, f"the stream ended without a readable `message_stop` (or "
                                                       f"`error`){last}: {how}{left_open(open_blocks)}"))
        return found

    def finish_cut(self) -> list[Finding]:
        """End of a stream the server did not get to finish (the client left, the recorder failed): only what the
        events that came settle. The helper raising on a tool block's input is often why the client left."""
        self._accumulator.finish()
        found: list[Finding] = []
        self._judge_tool_inputs(found)
        return found

    def _unreadable(self, index: int) -> None:
        """An event of unknown content: it may have been `message_start`, started the next block, carried a delta
        of or stopped any open block, or been a `message_delta` or the terminal event."""
        self._unreadable_at = index
        self._delta_unknown = True
        self._maybe_started = self._next_index
        for block in self._certain.values():
            block.uncertain = True
        self._certain.clear()
        self._unreported.clear()
        if self._short_form_at is not None:  # it may have been the `message_stop` of the short form
            self._short_form_at, self._short_form = None, True

    # --- envelope order -----------------------------------------------------------------------------------------

    def _order(self, index: int, kind: str, read: bool, found: list[Finding]) -> None:
        """First-event and short-form rules, which depend only on where an event falls. `read`: the Python SDK reads the
        frame (by its `data.type`; else it skips it for its event name: `_name_mismatch`)."""
        if not self._started and self._unreadable_at is None:  # NOTE: an unreadable event may have been the start
            if read and kind != FIRST_EVENT and kind not in SSE_LAYER_EVENTS:
                self._helper_raises(index, "RuntimeError")
            if kind == KEEPALIVE:
                self._once(found, R.PING_BEFORE_START, index, kind,
                           "`ping` before `message_start`: the docs only place pings inside a message; "
                           "the Python SDK skips it")
            elif kind != FIRST_EVENT and kind not in SSE_LAYER_EVENTS and not self._not_first_reported:
                self._not_first_reported = True
                why = ("the Python SDK's `messages.stream()` helper raises \"Unexpected event order\" and the client "
                       "gets no message (a raw `create(stream=True)` reader gets the events)" if read else
                       "the client gets no message (the Python SDK skips this frame for its event name, and its "
                       "`messages.stream()` helper raises \"Unexpected event order\" at the first event it reads "
                       "before a `message_start`)")
                found.append(R.MESSAGE_START_NOT_FIRST(index, f"expected `message_start` first, got `{kind}`: {why}"))
        if self._short_form_at is not None and kind != KEEPALIVE:
            self._resolve_short_form(kind, found)

    def _resolve_short_form(self, next_kind: str | None, found: list[Finding]) -> None:
        """A complete `message_start` is the programmatic-tool short form only when `message_stop` follows it."""
        at, self._short_form_at = self._short_form_at, None
        if next_kind == "message_stop":
            self._short_form = True
            found.append(R.MESSAGE_START_SHORT_FORM(at, "`message_start` carries the whole message (its "
                                                        "`stop_reason` is set) and `message_stop` follows with no "
                                                        "block or `message_delta`: the programmatic-tool short form, "
                                                        "which departs from the documented flow; the Python SDK's "
                                                        "helper takes the message whole, but a client that builds "
                                                        "it from blocks and `message_delta` gets an empty reply with "
                                                        "no stop reason"))
            return
        after = f"`{next_kind}` follows" if next_kind else "the stream ends"
        found.append(R.MESSAGE_START_NOT_EMPTY(at, f"expected `stop_reason: null` in `message_start`, got "
                                                   f"`{json.dumps(self._short_form_reason)}`, and {after}: a "
                                                   "client reading the start message takes it as finished before "
                                                   "any content"))

    def _event_after_terminal(self, index: int, kind: str, read: bool, found: list[Finding]) -> None:
        if not self._after_terminal_reported:
            self._after_terminal_reported = True
            sdk = _after_terminal(self._terminal, kind, read, self._raised_note(index))
            found.append(R.EVENT_AFTER_TERMINAL(index, f"`{kind}` after `{self._terminal}`, which must be the last "
                                                       f"event: {sdk} (later events are not reported again)"))

    def _name_mismatch(self, index: int, event: Event, kind: str, read: bool, found: list[Finding]) -> None:
        """Error where the Python SDK skips the frame for its name; a warning where both SDKs read it by its data
        (tried: anthropic 0.125 reads the names it handles and `message`, the TypeScript SDK 1.17 every name)."""
        name = event.type
        unnamed = name == "message" and not event.named_message
        came = "no `event:` line" if unnamed else f"`event: {name}`"
        later = " (later frames with the same mismatch are not reported again)"
        if kind == "error":  # NOTE: read by its data or skipped, an error is raised only for `event: error` (tried)
            self._once(found, R.EVENT_NAME_MISMATCH, index, (name, kind),
                       f"expected `event: error` (the `data.type`), got {came}: the anthropic SDKs raise only on a "
                       "frame named `error`, so the app is never told of this one and takes what came before it "
                       f"for the answer{later}")
            return
        if read:  # NOTE: one habit of naming, one finding: nothing is lost to the SDKs
            self._once(found, R.EVENT_NAME_DIFFERS, index, name,
                       f"expected `event: {kind}` (the `data.type`), got {came}: both anthropic SDKs read a frame of "
                       "this name by its `data.type`, so they get it, but a client that dispatches on the event name "
                       f"as the docs describe does not (later frames named `{name}` are not reported again)")
            return
        skipped = ("both anthropic SDKs skip a frame without an event name" if unnamed else
                   "the Python SDK skips a frame of a name it does not handle (the TypeScript SDK reads it by its "
                   "`data.type`)")
        self._once(found, R.EVENT_NAME_MISMATCH, index, (name, kind),
                   f"expected `event: {kind}` (the `data.type`), got {came}: {skipped}, so what it carries is "
                   f"lost{later}")

    # --- message events -----------------------------------------------------------------------------------------

    def _message_start(self, index: int, payload: dict, found: list[Finding]) -> None:
        self._validate(index, "message_start", EVENT_MODELS["message_start"], payload, found)
        if self._started:
            found.append(R.MESSAGE_START_REPEATED(index, f"a second `message_start` (the answer starts over): "
                                                         f"{self._sdk_restarts(index)}"))
            self._start_over()
            return
        if self._unreadable_at is not None and self._next_index:  # it may have been the first `message_start`
            self._start_over()
        self._started = True
        message = payload.get("message")
        if type(message) is not dict:
            self._unreadable(index)  # reported by the schema: whether it was complete (the short form) is unknown
            return
        usage = message.get("usage")
        self._snapshot_usage = type(usage) is dict
        if type(usage) is dict and type(usage.get("output_tokens")) is int:
            self._output_tokens, self._output_tokens_at = usage["output_tokens"], index
        content = message.get("content")
        if message.get("stop_reason") is not None:
            self._short_form_at, self._short_form_reason = index, message["stop_reason"]
        elif type(content) is list and content:
            sdk = self._raised_note(index) or ("the Python SDK starts from them and the streamed blocks land at the "
                                               "wrong positions")
            found.append(R.MESSAGE_START_NOT_EMPTY(index, f"expected `message.content == []` at start, got "
                                                          f"{len(content)} block(s): {sdk}"))

    def _sdk_restarts(self, index: int) -> str:
        """What the SDK's stream helper does with a second `message_start` (tried): it ignores it, appends the new
        blocks to the first message's, and looks their deltas up by their index, numbered from 0 again."""
        note = self._raised_note(index)
        if note is not None:
            return note
        content = self._accumulator.content
        head = "the Python SDK's `messages.stream()` helper ignores it, keeping the first message's id and usage"
        if not content:
            return f"{head}; no block came before it, so the new blocks are the message's own"
        return (f"{head}, and appends the new message's blocks after the {len(content)} it has; it looks a delta up "
                "by its index, numbered from 0 again, so block 0's deltas go to `content[0]`, the first message's "
                f"`{content[0].type}` block, and two answers merge")

    def _start_over(self) -> None:
        """A server that retries its upstream starts the answer over on the same stream: the new message numbers
        its blocks from 0, and the old message's open blocks are left, one break said once by the restart."""
        self._open.clear()
        self._certain.clear()
        self._unreported.clear()
        self._started_blocks.clear()
        self._next_index = 0

    def _message_delta(self, index: int, payload: dict, found: list[Finding]) -> None:
        self._validate(index, "message_delta", EVENT_MODELS["message_delta"], payload, found)
        self._message_deltas += 1
        delta, usage = payload.get("delta"), payload.get("usage")
        stop_reason = delta.get("stop_reason") if type(delta) is dict else None
        self._delta_unknown = False
        unreported, self._unreported = self._unreported, {}
        for block_index, block in unreported.items():
            if type(delta) is not dict:
                continue  # the stop reason, which says whether an open tool block is allowed, is unknown
            if stop_reason == LENIENT_OPEN_BLOCK_STOP_REASON and block.type in TOOL_BLOCKS:
                found.append(R.MAX_TOKENS_OPEN_TOOL_BLOCK(index, f"`stop_reason: max_tokens` while `{block.type}` "
                                                                 f"block {block_index} is open: its input JSON is cut "
                                                                 "short and must not be run (a documented anomaly "
                                                                 "the Python SDK tolerates)"))
            else:
                found.append(R.MESSAGE_DELTA_WITH_OPEN_BLOCK(index, f"`message_delta` while `{block.type}` block "
                                                                    f"{block_index} is open: expected its "
                                                                    "`content_block_stop` first; a client that "
                                                                    "finalises the message here gets an unfinished "
                                                                    "block"))
        if type(delta) is not dict:
            self._delta_unknown = True  # reported by the schema: the stop reason it carried is unknown
        if type(delta) is dict and "stop_reason" in delta:  # NOTE: the last `message_delta` decides (as the Python SDK)
            self._stop_reason = stop_reason if type(stop_reason) is str else None
            self._stop_reason_at = index
        if type(stop_reason) is str:
            if stop_reason not in STOP_REASONS:
                self._once(found, R.UNKNOWN_STOP_REASON, index, stop_reason,
                           f"`stop_reason: {stop_reason}` is not one the docs list "
                           f"({', '.join(sorted(STOP_REASONS))}): a client switching on it falls through")
            stop_sequence = delta.get("stop_sequence")
            if stop_sequence is not None and stop_reason != "stop_sequence":
                found.append(R.STOP_SEQUENCE_UNEXPECTED(index, f"`stop_sequence` is `{json.dumps(stop_sequence)}` but "
                                                               f"`stop_reason` is `{stop_reason}`: expected null "
                                                               "unless the stop reason is `stop_sequence`"))
        tokens = usage.get("output_tokens") if type(usage) is dict else None
        if type(tokens) is int:
            decreased = self._output_tokens is not None and tokens < self._output_tokens
            if decreased:
                keeps = self._raised_note(index) or (f"the Python SDK's `messages.stream()` helper overwrites its "
                                                     f"count with each value, so it holds {tokens} now")
                found.append(R.OUTPUT_TOKENS_DECREASED(index, (
                    f"`usage.output_tokens` went from {self._output_tokens} (event {self._output_tokens_at}) to "
                    f"{tokens}, where the values are cumulative: one of the two counts is wrong, and {keeps}")))
            self._output_tokens, self._output_tokens_at = tokens, index
            self._final_count_sent = not decreased  # NOTE: a count that fell to 0 is said by the fall, not again

    def _message_stop(self, index: int, payload: dict, found: list[Finding]) -> None:
        self._validate(index, "message_stop", EVENT_MODELS["message_stop"], payload, found)
        if not self._short_form and not self._delta_unknown:  # NOTE: an unreadable event may have been the delta
            if self._message_deltas == 0:
                found.append(R.MESSAGE_DELTA_MISSING(index, "`message_stop` with no `message_delta` before it: the "
                                                            "client never learns the stop reason or the final usage"))
            elif self._stop_reason is None:
                found.append(R.STOP_REASON_MISSING(index, "the `message_delta` events left `stop_reason` null: "
                                                          "expected one of the stop reasons; the client cannot "
                                                          "tell why the message ended"))
            else:
                self._check_stop_reason(found)
        self._report_unclosed(index, "`message_stop` came", found)

    def _check_stop_reason(self, found: list[Finding]) -> None:
        """The final stop reason against the client tool calls: the docs' tool loop runs the `tool_use` blocks while
        `stop_reason` is `tool_use`, and ends the turn on `end_turn` (§C.3 rule 7)."""
        reason, at = self._stop_reason, self._stop_reason_at
        if self._tool_uses and reason in ("end_turn", "stop_sequence"):
            found.append(R.STOP_REASON_MISMATCH(at, (
                f"{self._tool_uses} `tool_use` block(s) streamed, but `stop_reason` is `{reason}`: a client that "
                "runs tools while `stop_reason` is `tool_use` (the docs' tool loop) never runs them and ends the "
                "turn")))
        elif reason == "tool_use" and not self._tool_uses and self._unreadable_at is None:
            found.append(R.STOP_REASON_MISMATCH(at, (
                "`stop_reason` is `tool_use`, but no `tool_use` block was streamed: a client that runs the calls "
                "finds none, and has no tool result to send back")))

    def _ping(self, index: int, payload: dict, found: list[Finding]) -> None:
        self._validate(index, "ping", EVENT_MODELS["ping"], payload, found)

    def _error(self, index: int, payload: dict, found: list[Finding]) -> None:
        self._validate(index, "error", EVENT_MODELS["error"], payload, found)
        error = payload.get("error")
        kind = error.get("type") if type(error) is dict else None
        if type(kind) is str:
            what = f"an in-band error `{kind}`: {self.assembly.error}"
        else:
            lacks = "an error type" if type(error) is dict else "an `error` object"
            what = f"an in-band `error` event without {lacks}: {self.assembly.error}"
        if self._misnamed_at != index:  # NOTE: the Python SDK raises on the `event:` name, not on `data.type`
            what += "; the Python SDK raises it as an API error and reads no further"
        found.append(R.ERROR_EVENT(index, what))

    # --- content blocks -----------------------------------------------------------------------------------------

    def _block_start(self, index: int, payload: dict, found: list[Finding]) -> None:
        kind = "content_block_start"
        self._validate(index, kind, EVENT_MODELS[kind], payload, found)
        block = payload.get("content_block")
        block_type = block.get("type") if type(block) is dict else None
        if type(block_type) is str:
            model = block_model(block_type)
            if model is None:
                self._once(found, R.UNKNOWN_BLOCK_TYPE, index, block_type,
                           f"content block type `{block_type}` is not in the docs: its deltas are not "
                           "checked, and clients built before it will not show it")
            else:
                self._validate(index, kind, model, block, found, prefix="content_block")
                if block_type == "web_search_tool_result":
                    self._check_search_results(index, block, found)
        block_index = payload.get("index")
        if type(block_index) is not int or type(block_type) is not str:
            self._unreadable(index)  # reported by the schema; which block it started is unknown
            return
        if self._message_deltas:
            found.append(R.BLOCK_AFTER_MESSAGE_DELTA(index, f"block {block_index} starts after `message_delta`, "
                                                            "which must come after the last block: the client may "
                                                            "have closed the message already"))
        if block_index == self._maybe_started + 1 == self._next_index + 1:  # the unreadable event started the one
            self._adopt(self._maybe_started)                                  # before (and may have stopped it)
        elif block_index == 0 and self._maybe_started > 0:  # it may have been a `message_start`: the answer restarts
            self._start_over()
        self._maybe_started = -1
        if block_index != self._next_index:
            found.append(R.BLOCK_INDEX_NOT_SEQUENTIAL(index, f"expected block index {self._next_index}, got "
                                                             f"{block_index}: {self._sdk_places(index, block_index)}"))
        others = len(self._certain) - (block_index in self._certain)
        if others:  # NOTE: an index reused while open is `block-index-not-sequential`'s: said above, where it lands
            found.append(R.BLOCK_OVERLAP(index, _overlap_message(block_index, self._certain, others)))
        block = _Block(block_type, self._accumulator.tool_call(block_index))
        if block_type in TOOL_BLOCKS:
            started = payload["content_block"]
            block.start_input_broken = type(started.get("input")) is not dict
            self._check_tool_id(index, block_index, started.get("id"), found)
        if block_type == "tool_use":
            self._tool_uses += 1
        self._open[block_index] = self._certain[block_index] = self._unreported[block_index] = block
        self._mark_started(block_index)

    def _check_tool_id(self, index: int, block_index: int, tool_id: Any, found: list[Finding]) -> None:
        if type(tool_id) is not str:
            return  # the schema says it
        earlier = self._tool_ids.setdefault(tool_id, block_index)
        if earlier != block_index:
            note = self._raised_note(index)
            runs = ("the Python SDK's message holds two calls with one id, so an agent runs the tool twice"
                    if note is None else f"a client that keeps both calls runs the tool twice ({note})")
            found.append(R.TOOL_ID_REPEATED(index, (
                f"tool block {block_index} has the id `{tool_id}` of block {earlier}: {runs}, and the API refuses the "
                "next turn, which sends them back (\"`tool_use` ids must be unique\")")))

    def _check_search_results(self, index: int, block: dict, found: list[Finding]) -> None:
        """Each `web_search_result` of a web search's results. One without its `encrypted_content` is typed by the
        SDK as a search error (`WebSearchToolResultError`), and cannot go back in the next turn, which needs it.
        The first broken result is named and the others counted: one finding per stream."""
        results = block.get("content")
        if type(results) is not list:
            return  # the error form: an object
        broken = [(position, problem) for position, result in enumerate(results)
                  if type(result) is dict and result.get("type") == "web_search_result"
                  and (problem := schema_problem(WEB_SEARCH_RESULT, result, f"content_block.content[{position}]"))]
        if broken and self._first_time(R.SCHEMA_MISMATCH.id, "web_search_result"):
            more = f" ({len(broken) - 1} more result(s) of this block too)" if len(broken) > 1 else ""
            found.append(R.SCHEMA_MISMATCH(index, (
                f"a `web_search_result` does not fit its schema: {broken[0][1]}{more}; the Python SDK types such a "
                "result as a search error, and the next turn, which sends the results back, needs `encrypted_content` "
                "(reported once per stream)")))

    def _block_delta(self, index: int, payload: dict, found: list[Finding]) -> None:
        delta = payload.get("delta")
        delta_type = delta.get("type") if type(delta) is dict else None
        if type(delta_type) is not str:
            delta_type = None
        self._validate(index, "content_block_delta", DELTA_EVENT_MODELS.get(delta_type, UNKNOWN_DELTA_EVENT),
                       payload, found)
        block = self._open_block(index, "content_block_delta", payload, found)
        if block is None or delta_type is None:
            return
        if delta_type not in DELTA_EVENT_MODELS:
            drops = self._raised_note(index) or "the Python SDK drops it"
            self._once(found, R.UNKNOWN_DELTA_TYPE, index, delta_type,
                       f"delta type `{delta_type}` is not in the docs: {drops}")
            return
        allowed = DELTAS_FOR_BLOCK.get(block.type)
        if allowed is None:
            return  # a block type whose deltas the docs do not describe
        if delta_type not in allowed:
            fits = ", ".join(f"`{name}`" for name in sorted(allowed)) or "no delta at all (complete at start)"
            drops = self._raised_note(index) or "the Python SDK drops it, losing its data"
            found.append(R.DELTA_TYPE_MISMATCH(index, f"`{delta_type}` for `{block.type}` block {payload['index']},"
                                                      f" which takes {fits}: {drops}"))
            return
        check = self._on_delta.get(delta_type)
        if check is not None:
            check(index, block, delta, found)

    def _block_stop(self, index: int, payload: dict, found: list[Finding]) -> None:
        self._validate(index, "content_block_stop", EVENT_MODELS["content_block_stop"], payload, found)
        block = self._open_block(index, "content_block_stop", payload, found)
        if block is None:
            return
        del self._open[payload["index"]]
        self._certain.pop(payload["index"], None)
        self._unreported.pop(payload["index"], None)
        check = self._on_stop.get(block.type)
        if check is not None and not block.uncertain:
            check(index, payload["index"], block, found)

    def _open_block(self, index: int, kind: str, payload: dict, found: list[Finding]) -> _Block | None:
        """The open block a delta or stop names, or None after reporting why there is none."""
        block_index = payload.get("index")
        if type(block_index) is not int:
            self._unreadable(index)  # reported by the schema; which block it names is unknown
            return None
        block = self._open.get(block_index)
        if block is None and self._maybe_started >= 0:  # the unreadable event may have started it (again)
            block = self._adopt(block_index)
        content = self._accumulator.content
        if block is not None and self._unreadable_at is None and not -len(content) <= block_index < len(content):
            self._helper_raises(index, "IndexError")  # it looks the block up by index (y-router's tool-first blocks)
        if block is None:
            why = "was already stopped" if block_index in self._started_blocks else "was never started"
            self._once(found, R.BLOCK_NOT_OPEN, index, block_index,
                       f"`{kind}` for block {block_index}, which {why}: expected an open block; "
                       f"{self._sdk_lookup(index, kind, block_index)} (later events for this block are not "
                       "reported)")
        return block

    def _sdk_lookup(self, index: int, kind: str, block_index: int) -> str:
        """What the Python SDK's stream helper does with an event for a block that is not open: it looks the block up as
        `content[index]` in the blocks it has (a negative index counts from the end), whatever their state."""
        note = self._raised_note(index)
        if note is not None:
            return note
        content = self._accumulator.content
        if not -len(content) <= block_index < len(content):
            self._helper_raises(index, "IndexError")
            return "the Python SDK's stream helper looks it up as `content[index]` and raises `IndexError`"
        found = content[block_index].type
        if kind == "content_block_stop":
            return f"the Python SDK's stream helper finds a `{found}` block at `content[{block_index}]` and goes on"
        return (f"the Python SDK's stream helper applies it to `content[{block_index}]`, a `{found}` block (a delta of "
                "another kind it drops)")

    def _sdk_places(self, index: int, block_index: int) -> str:
        """Where the Python SDK's stream helper puts a block that starts out of order, and where its deltas then go: it
        appends each block to its list and looks a delta up as `content[index]` (y-router's tool-first streams)."""
        note = self._raised_note(index)
        if note is not None:
            return note
        content = self._accumulator.content
        head = ("the Python SDK's stream helper appends each block to its list (this one is "
                f"`content[{len(content) - 1}]`) and looks a delta up by its index, so")
        if not -len(content) <= block_index < len(content):
            return f"{head} this block's deltas raise `IndexError` unless more blocks start first"
        if content[block_index] is content[-1]:  # NOTE: -1, the last block, is this one too
            return f"{head} this block's deltas reach it all the same"
        return f"{head} this block's deltas go to `content[{block_index}]`, a `{content[block_index].type}` block"

    def _mark_started(self, block_index: int) -> None:
        self._started_blocks.add(block_index)
        self._next_index = max(self._next_index, block_index + 1)

    def _adopt(self, block_index: int) -> _Block:
        """The block an unreadable event started, named for the first time: open, of unknown type and content."""
        block = self._open[block_index] = _Block("unknown", uncertain=True)
        self._mark_started(block_index)
        self._maybe_started = -1
        return block

    def _report_unclosed(self, index: int | None, when: str, found: list[Finding]) -> None:
        unreported, self._unreported = self._unreported, {}
        for block_index, block in unreported.items():
            found.append(R.BLOCK_UNCLOSED(index, f"{when} while `{block.type}` block {block_index} was open: "
                                                     "expected its `content_block_stop`; the block may be cut short"))

    # --- per block type -----------------------------------------------------------------------------------------

    def _signature_delta(self, index: int, block: _Block, delta: dict, found: list[Finding]) -> None:
        block.signatures += 1
        block.empty_signature_at = index if delta.get("signature") == "" else None
        if block.signatures == 2:
            keeps = self._raised_note(index) or "the Python SDK keeps only the last"
            found.append(R.THINKING_SIGNATURE_REPEATED(index, "a second `signature_delta` in one thinking block: "
                                                              f"expected exactly one; {keeps}, and a wrong signature "
                                                              "fails the next turn"))

    def _thinking_delta(self, index: int, block: _Block, delta: dict, found: list[Finding]) -> None:
        if block.signatures and not block.thinking_after_signature:
            block.thinking_after_signature = True
            found.append(R.THINKING_AFTER_SIGNATURE(index, "`thinking_delta` after the block's `signature_delta`: "
                                                           "the signature must come last, and thinking it does not "
                                                           "cover fails verification on the next turn"))

    def _thinking_stop(self, index: int, block_index: int, block: _Block, found: list[Finding]) -> None:
        if block.signatures == 0:
            found.append(R.THINKING_SIGNATURE_MISSING(index, f"thinking block {block_index} stops without a "
                                                             "`signature_delta`: expected one just before the stop; "
                                                             "Anthropic's API rejects this thinking when it is "
                                                             "sent back in the next turn"))
        elif block.empty_signature_at is not None:
            which = "its" if block.signatures == 1 else "its last"
            found.append(R.THINKING_SIGNATURE_MISSING(index, (
                f"thinking block {block_index} stops with an empty signature: {which} `signature_delta` (event "
                f"{block.empty_signature_at}) carries `\"signature\": \"\"`; Anthropic's API rejects this thinking "
                "when it is sent back in the next turn, as it does one without a signature")))

    def _tool_stop(self, index: int, block_index: int, block: _Block, found: list[Finding]) -> None:
        """A stopped tool block's input is judged at the end of the stream, as the SDK's message ends with it: the
        SDK applies deltas that come after the stop too (copilot-api sends some)."""
        arguments = block.tool_call.arguments if block.tool_call is not None else ""
        if not arguments and block.start_input_broken:
            return  # said once, where it broke: at the start, by the schema
        self._stopped_tools.append((index, block_index, block, arguments))

    def _judge_tool_inputs(self, found: list[Finding]) -> None:
        """Each tool block's input as the stream ends: where the Python SDK's helper raised on it, that delta; else a
        stopped block whose input does not parse, at its stop. A block never stopped whose input was only cut short
        is the cut's (anthropic-proxy 1.3.0 garbles streamed arguments: the helper raised mid-block, the client
        hung up, and nothing was said)."""
        stopped = {id(block) for _, _, block, _ in self._stopped_tools}
        unstopped = [(None, block_index, block, "") for block_index, block in sorted(self._open.items())
                     if block.tool_call is not None and id(block) not in stopped and not block.uncertain]
        judged = [(*tool, self._accumulator.raise_point(tool[2].tool_call) if tool[2].tool_call is not None else None)
                  for tool in [*self._stopped_tools, *unstopped]]
        gone = [raised[0] for *_, raised in judged if raised is not None]
        if self._raised is not None:
            gone.append(self._raised[0])
        first = min(gone, default=None)
        for index, block_index, block, at_stop, raised in judged:
            if raised is not None:
                at, so_far, why = raised
                sdk = ("raises `ValueError` (\"Unable to parse tool parameter JSON from model\") here, which ends the "
                       "app's stream" if at == first else f"had raised already, at event {first}")
                found.append(R.TOOL_INPUT_INVALID_JSON(at, (
                    f"`{block.type}` block {block_index}'s input is `{_excerpt(so_far)}` after this delta, which no "
                    f"JSON starts with ({why}): the anthropic Python SDK's `messages.stream()` helper {sdk}; agent "
                    "frameworks that decode the input themselves raise too, run the tool with no arguments "
                    "(Microsoft Agent Framework) or set the call aside without running it (LangChain: "
                    "`invalid_tool_calls`)")))
                continue
            if index is None:
                continue  # never stopped, and every prefix parses: cut short, which the stream's end says
            arguments = block.tool_call.arguments if block.tool_call is not None else at_stop
            problem = arguments_problem(arguments)
            if problem is not None:
                ends = "stops" if arguments == at_stop else "ends (deltas came after its stop)"
                earlier = first if first is not None and first < index else None
                found.append(R.TOOL_INPUT_INVALID_JSON(index, f"`{block.type}` block {block_index} {ends} with input "
                                                              f"`{_excerpt(arguments)}`, {problem}: "
                                                              f"{anthropic_arguments_harm(arguments, earlier)}"))

    # --- helpers ------------------------------------------------------------------------------------------------

    def _validate(self, index: int, kind: str, model: Validator, payload: Any, found: list[Finding],
                  prefix: str = "") -> None:
        problem = schema_problem(model, payload, prefix,
                                 lambda path: self._first_time(R.SCHEMA_MISMATCH.id, (kind, path)))
        raised = None if prefix or self._raised is not None else self._sdk_raises(kind, payload)
        if raised is not None:
            self._helper_raises(index, raised)
        if problem:  # NOTE: a field reported before is one broken habit of the endpoint, not a new finding
            harm = ("a client reading these fields gets a wrong type, a value the types do not list, or nothing"
                    if raised is None else
                    f"the anthropic Python SDK's `messages.stream()` helper raises `{raised}` at this event, which "
                    "ends the app's stream")
            if raised is None and not prefix and self._raised is None and _lacks_usage(kind, payload, self._started):
                harm = ("the anthropic Python SDK's `messages.stream()` helper writes each `message_delta`'s "
                        "count to this message's `usage`, so it raises `AttributeError` at the first "
                        "`message_delta`, if one comes, which ends the app's stream")
            found.append(R.SCHEMA_MISMATCH(index, f"`{kind}` does not fit its schema: {problem}; {harm} (each field "
                                                  "is reported once per event type)"))

    def _sdk_raises(self, kind: str, payload: dict) -> str | None:
        """The exception the SDK's stream helper raises at this event (`accumulate_event`, tried), which reads these
        fields unchecked; None where it takes the event. An index past the blocks is `block-not-open`'s to say."""
        if kind in ("message_start", "content_block_start"):
            field = "message" if kind == "message_start" else "content_block"
            return None if type(payload.get(field)) is dict else "AttributeError"
        if kind == "message_delta":
            fine = type(payload.get("delta")) is dict and type(payload.get("usage")) is dict and self._snapshot_usage
            return None if fine else "AttributeError"
        if kind != "content_block_delta":
            return None
        delta, at = payload.get("delta"), payload.get("index")
        if type(delta) is not dict:
            return "AttributeError"
        if at is None:
            return "TypeError"
        if type(at) is not int:
            return None  # NOTE: the Python SDK coerces some (`"0"`, `0.0`, `true`) and not others: not claimed
        content = self._accumulator.content
        if not -len(content) <= at < len(content):
            return None
        delta_type = delta.get("type")
        takes = _SDK_APPENDS.get(delta_type) if type(delta_type) is str else None
        if takes is None or content[at].type not in takes[0] or type(delta.get(takes[1])) is str:
            return None
        return "TypeError"

    def _helper_raises(self, index: int, exception: str) -> None:
        if self._raised is None:
            self._raised = (index, exception)

    def _judge_zero_count(self, found: list[Finding]) -> None:
        """A final `output_tokens` of 0 after streamed content is no count: every streamed token is an output token
        (any-llm's gateway 1.14 sends zeros where its Chat upstream sent usage in a chunk of its own)."""
        if not self._final_count_sent or self._output_tokens != 0 or self._output_tokens_at is None:
            return
        output = self.assembly.outputs.get(0)
        if output is None:
            return
        streamed = [what for what, present in (("text", output.text), ("thinking", output.reasoning),
                                               ("tool calls", output.tool_calls)) if present]
        if not streamed:
            return
        at = self._output_tokens_at
        sdk = self._raised_note(at) or "the Python SDK's final message reports 0"
        found.append(R.OUTPUT_TOKENS_ZERO(at, f"the message streamed {listed(streamed)} but ends with "
                                              "`usage.output_tokens` 0: every streamed token is an output token, so 0 "
                                              "is no count (lost on the way, or never made, as by a mock): "
                                              f"{sdk}, and a client that prices or budgets the call counts "
                                              "nothing"))

    def _raised_note(self, index: int) -> str | None:
        """Where the SDK's `messages.stream()` helper had raised, when it had: what a finding would say it does with
        this event, it does not do."""
        if self._raised is None:
            return None
        at, exception = self._raised
        return (f"the Python SDK's `messages.stream()` helper had raised `{exception}` already, at "
                f"{'this event' if at == index else f'event {at}'}")

    def _once(self, found: list[Finding], rule: Any, index: int, culprit: Any, message: str) -> None:
        """Report `rule` for `culprit` only the first time: one broken habit of an endpoint is one finding."""
        if self._first_time(rule.id, culprit):
            found.append(rule(index, message))


def _after_terminal(terminal: str, kind: str, read: bool, raised: str | None) -> str:
    """What the Python SDK does with an event after the terminal one: it raised at an `error`, but reads on after
    `message_stop` (tried: a late text delta lands in the finished message, unless its helper had `raised`; a frame
    of a name it does not handle is skipped, `read` False)."""
    if terminal == "error":
        return "the Python SDK raised at the `error`, so the client never sees this"
    if kind == "error":
        return "the Python SDK reads on and raises it as an API error after the message was complete"
    had = f" ({raised})" if raised is not None else ""
    if kind == KEEPALIVE:
        return f"the Python SDK reads on and skips it{had}"
    if not read:
        return (f"the Python SDK reads on and skips a frame of this name{had}; the TypeScript SDK, which reads "
                "frames of every name, hands it to the app")
    if kind in _FOLDED_AFTER_STOP and raised is None:
        return ("the Python SDK reads on and hands it to the app, and its `messages.stream()` helper folds it into "
                "the message it had finished")
    return f"the Python SDK reads on and hands it to the app{had}"


_FOLDED_AFTER_STOP = frozenset({"content_block_start", "content_block_delta", "message_delta"})
"""The events the Python SDK's stream helper applies to its message whenever they come."""


def _overlap_message(block_index: int, open_indices: dict[int, _Block], count: int, named: int = 3) -> str:
    """Names the first `named` of the `count` other open blocks and counts the rest: a message of bounded length,
    made in bounded time, at any number."""
    shown = [str(i) for i in islice((i for i in open_indices if i != block_index), named)]
    if count > named:
        shown.append(f"{count - named} more")
    still = f"block {shown[0]} is" if count == 1 else f"blocks {listed(shown)} are"
    return (f"block {block_index} starts while {still} still open: blocks are observed to come one after "
            "another, and a client that tracks only the current block mixes their deltas")


def _excerpt(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else "…" + text[-limit:]


def _lacks_usage(kind: str, payload: dict, started: bool) -> bool:
    """The first `message_start` of a message whose `usage` is no object: the helper keeps it as its snapshot."""
    message = payload.get("message") if kind == "message_start" and not started else None
    return type(message) is dict and type(message.get("usage")) is not dict
