"""OpenAI Responses API streams: the checker fed one event at a time (docs/protocols.md §A, checklist D "Responses").

This module owns the response envelope: framing (`event:` name, `[DONE]`), `sequence_number`, the start
events, the one terminal event and what it must carry, in-band `error` events. Items, parts and delta
families live in `items`, the event schemas in `models`, the rules in `rules`. Every event is
validated against its schema (dispatch by dict) before any ordering rule reads its dict; a payload that fails its
schema is a `responses/schema` finding and the ordering rules skip it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any, ClassVar

from pydantic_core import ValidationError

from ...findings import Finding
from ...sse import Event
from ..base import DONE, UNREADABLE, Assembly, asks_for_one_call, broken_connection, cut_or_done
from ..delta_shape import DeltaShape, Hole
from ..schema import problems, summary
from ..token_limit import TokenLimit
from .items import OutputState
from .models import EVENT_MODELS
from .required import missing_in_annotation, missing_in_item, missing_in_part, missing_in_response
from .rules import (
    AFTER_ERROR,
    AFTER_TERMINAL,
    CALLS_UNREQUESTED,
    CREATED_NOT_FIRST,
    DONE_AFTER_END,
    DONE_SENTINEL,
    ERROR_EVENT,
    EVENT_NAME,
    RESPONSE_ID,
    SCHEMA,
    SDK_FIELD_MISSING,
    SEQUENCE_ABSENT,
    SEQUENCE_BASE,
    SEQUENCE_GAP,
    SEQUENCE_MISSING,
    START_ORDER,
    STATUS_MISMATCH,
    STREAM_RESUMED,
    TERMINAL_EXTRA,
    TERMINAL_FIELD,
    TERMINAL_MISSING,
    UNCHECKED,
    UNKNOWN_EVENT,
    USAGE_OVER_LIMIT,
)
from .state import DELTA_FAMILIES, FAMILIES, PROGRESS_ITEM_TYPES, TOOL_CALL_ITEMS, tool_arguments, tool_name

# fmt: off
START_EVENTS = ("response.created", "response.queued", "response.in_progress")

# Terminal event -> the `response.status` it must carry.
TERMINAL_EVENTS: dict[str, str] = {
    "response.completed":  "completed",
    "response.failed":     "failed",
    "response.incomplete": "incomplete",
}

# Lifecycle event -> the `response.status` values that fit it.
LIFECYCLE_STATUS: dict[str, frozenset[str]] = {
    "response.created":     frozenset({"in_progress", "queued"}),
    "response.queued":      frozenset({"queued"}),
    "response.in_progress": frozenset({"in_progress"}),
    **{name: frozenset({status}) for name, status in TERMINAL_EVENTS.items()},
}

# (start event, its response.status) -> the start event that must come next.
NEXT_START: dict[tuple[str, str], str] = {
    ("response.created", "in_progress"): "response.in_progress",
    ("response.created", "queued"):      "response.queued",
    ("response.queued", "queued"):       "response.in_progress",
}

# Terminal event -> fields of `response` that must be set on it.
TERMINAL_FIELDS: dict[str, tuple[str, ...]] = {
    "response.completed":  ("usage",),
    "response.failed":     ("error",),
    "response.incomplete": ("usage", "incomplete_details"),
}

# Terminal event -> fields of `response` that contradict it when set.
TERMINAL_NULL_FIELDS: dict[str, tuple[str, ...]] = {
    "response.completed":  ("error", "incomplete_details"),
    "response.failed":     ("incomplete_details",),
    "response.incomplete": ("error",),
}

# Why a client needs each of those fields.
FIELD_USE: dict[str, str] = {
    "usage":              "token accounting and billing read it",
    "error":              "the client cannot tell why it failed, nor whether to retry",
    "incomplete_details": "the client cannot tell `max_output_tokens` from `content_filter`",
}
# fmt: on


def _runs_own_tools(body: dict[str, Any], usage: dict[str, Any]) -> bool:
    """Whether the request offers a tool the server runs itself (web search, file search, MCP, ...): the response
    may then hold several model calls, each under `max_output_tokens`, and its usage sums them."""
    tools = body.get("tools")
    return isinstance(tools, list) and any(not isinstance(tool, dict) or tool.get("type") not in ("function", "custom")
                                           for tool in tools)


class Checker:
    """The Responses state machine: `feed` each decoded event, then `finish` at the end of the stream."""

    name: ClassVar[str] = "openai-responses"
    end_missing: ClassVar[str] = TERMINAL_MISSING.id
    broken_after_end: ClassVar[str] = ("the openai Python SDK reads on to the body's end, so its stream raises "
                                       "`httpx.RemoteProtocolError` after the last event, and "
                                       "`get_final_response()` never returns the response that came whole")
    token_limit: ClassVar[TokenLimit] = TokenLimit(USAGE_OVER_LIMIT, ("max_output_tokens",), "output_tokens",
                                                   may_count_more=_runs_own_tools)

    @staticmethod
    def ends_stream(payload: Any) -> bool:
        kind = payload.get("type") if type(payload) is dict else None
        return kind == "error" or kind in TERMINAL_EVENTS

    def __init__(self) -> None:
        self.connection_broke: str | None = None
        self.ended_inside_event = False
        self.request_body: Any = None
        """The recorded request body, where one was kept (`parallel_tool_calls`)."""
        self.assembly = Assembly(self.name)
        self.items = OutputState(self.assembly)
        self.found: list[Finding] = []
        self.count = 0
        self.numbered: bool | None = None
        self.last_sequence: int | None = None
        self.resumed = False
        self.fresh_request = False
        """The request is known to be a POST: the stream starts a new response and is never a resume."""
        self.expect_start: str | None = None
        self.expected_because = ""
        """The start event and its status that named `expect_start`: a wrong status is as likely as a wrong event."""
        self.starts_seen: set[str] = set()
        self.response_id: str | None = None
        self.terminal_index: int | None = None
        self.error_index: int | None = None
        self.error_raised = True
        """The Python SDK raised at that `error` (a nested `error` object); at a flat one it raised nothing and hands
        the app what follows (tried with openai 2.54 and 3.63)."""
        self.unreadable_at: int | None = None
        self.done_at: int | None = None
        """The last `data: [DONE]`: a stream that ends with it was ended by its server, not cut."""
        self.first_index: int | None = None
        self.unnumbered = 0
        """Unreadable events since the last numbered one: each may have carried the next `sequence_number`."""
        self.validated_at: int | None = None
        """The last event the schema accepted. No finding is not proof of that: a schema error is reported once per
        event type and place, so its repeats are judged silently (and, not being read, append nothing)."""
        self._handlers = {kind: handler.__get__(self) for kind, handler in HANDLERS.items()}
        self._handlers.update({kind: handler.__get__(self.items) for kind, handler in ITEM_HANDLERS.items()})

    def feed(self, event: Event, payload: Any) -> list[Finding]:
        found = self.found = self.items.found = []
        index = event.index
        if self.first_index is None:
            self.first_index = index
            if payload is not DONE and not (type(payload) is dict and payload.get("type") == "response.created"):
                self.items.sdk_raised_at = index  # the Python SDK's stream helper raises at any other first event
            elif type(payload) is dict and type(_dig_output(payload)) is not list:
                self.items.sdk_output_broken = True  # it appends each added item to this `output` (`_schema_harm`)
        if payload is UNREADABLE:
            self._unreadable(index)
            return found
        self.items.all_unknown = False
        if payload is DONE:
            self.done_at = index
            ended = self.terminal_index if self.terminal_index is not None else self.error_index
            if ended is None:
                found.append(DONE_SENTINEL(index, (
                    "`data: [DONE]` before the terminal event: Chat Completions framing, which Responses streams "
                    "never send, and the openai SDKs stop reading at it, so no event after it reaches them")))
            elif self.items.once("done-after-end"):
                found.append(DONE_AFTER_END(index, (
                    f"`data: [DONE]` after the stream's last event ({ended}): Chat Completions framing, which "
                    "Responses streams never send. The openai SDKs stop reading at it, so nothing is lost to them; "
                    "a client that parses every frame's data as JSON fails on it (LiteLLM's proxy sends it)")))
            self.count += 1
            return found
        kind = payload.get("type") if type(payload) is dict else None
        if type(kind) is not str and type(payload) is dict and payload.get("error"):
            self._envelope(index, event.type, "error", payload)  # the SDK raises on `error`, whatever the type says
            self._error(index, "error", payload)
            return found
        if type(kind) is not str:
            shape = "an object without a string `type`" if isinstance(payload, dict) else "not an object"
            if self.items.once("schema", shape):
                first = (" (its stream helper raises here: \"Expected to have received `response.created` before "
                         "`None`\")" if index == self.first_index else "")
                found.append(SCHEMA(index, (
                    f"the payload is {shape}: every Responses event is an object whose `type` names it, and the "
                    f"Python SDK cannot dispatch this one{first}")))
            self.count += 1
            return found
        self._envelope(index, event.type, kind, payload)
        if kind == "response.output_item.added" and self.items.sdk_output_broken:
            self.items.sdk_raised(index)
        validate = EVENT_MODELS.get(kind)  # NOTE: the hot path: one dict lookup, one validation
        if validate is None:
            if self.items.once("unknown", kind):
                found.append(UNKNOWN_EVENT(index, (
                    f"`{kind}` is not a documented Responses event (first of its type here): the openai Python SDK "
                    "hands it to the app as it came, and code that handles the documented types passes over it, so "
                    "whatever it carries is lost to it; check the name if it was meant to be a known event")))
            return found
        try:
            validate(payload)
        except ValidationError as error:
            said: list[str] = []
            if self.items.once("schema", kind, error.errors()[0]["loc"]):
                lookup = self.items.sdk_lookup_fails(index, kind, payload)
                also = f"; {lookup}" if lookup else ""
                found.append(SCHEMA(index, f"`{kind}`: {summary(error, 3)}: {_schema_harm(kind, payload)}{also}"))
                said = [path for path, _ in problems(error)[:3]]
            required = REQUIRED_FIELDS.get(kind)
            if required is not None:  # NOTE: the ones the schema finding did not name (codex-relay's `tools`)
                missing = required[1](payload.get(required[0]), required[0])
                self._sdk_fields(index, kind, [path for path in missing if path not in said])
            if all(tuple(problem["loc"]) in _BESIDE_THE_POINT for problem in error.errors()):
                self.validated_at = index  # agent-wire-proxy's lifecycle events lack `created_at`: judged all the same
                self._handlers[kind](index, kind, payload)
                return found
            self.expect_start = None  # its status, which names the next start event, is unknown
            self.items.unknown(index)  # what it did to items and parts is unknown, as for an unreadable event
            if kind == "response.output_item.added":
                self.items.could_add += 1
            elif kind in START_EVENTS:
                self._start_seen(index, kind)
            self._salvage(index, kind, payload)
            return found
        self.validated_at = index
        required = REQUIRED_FIELDS.get(kind)
        if required is not None:
            self._sdk_fields(index, kind, required[1](payload.get(required[0]), required[0]))
        self._handlers[kind](index, kind, payload)
        return found

    def shape(self, event: Event, payload: Any) -> DeltaShape | None:
        """The fast path's shape of a delta event that only appends to an open value (delta_shape.py): an event of
        the same shape whose `sequence_number` is the next one passes the envelope and `OutputState.delta`
        silently, and only counts, numbers and appends. Its holes: the text, the number, the obfuscation pad."""
        kind = payload.get("type") if type(payload) is dict else None
        # NOTE: after the terminal or an `error` event, the envelope reports each delta type once and then stays
        # silent; no shape is offered there although the full path would only append (defensive, not needed).
        if (type(kind) is not str or kind not in DELTA_FAMILIES or self.validated_at != event.index
                or self.terminal_index is not None or self.error_index is not None):
            return None
        steady = self.items.steady_join(kind, payload)
        if steady is None:
            return None
        join, bucket = steady
        append = self.items.append
        holes = [Hole("delta", payload["delta"])]
        # NOTE: the full path has just set `last_sequence` to this number, so the next one is `last_sequence + 1`;
        # with no number the full path does nothing to the sequence state (once it reported the missing number)
        numbered = payload.get("sequence_number") is not None
        if numbered:
            holes.append(Hole("sequence_number", payload["sequence_number"]))
        if type(payload.get("obfuscation")) is str:
            holes.append(Hole("obfuscation", payload["obfuscation"]))

        def apply(index: int, values: Sequence[Any]) -> bool:
            text = values[0]
            if not text:
                return False  # the full path counts an empty delta but neither shows it nor takes it as content
            if numbered:
                if values[1] != self.last_sequence + 1:  # type: ignore[operator]
                    return False  # a gap, a repeat or a resumed count: `_sequence` judges it
                # NOTE: `unnumbered` is already 0 after the numbered event the shape was cut from (defensive)
                self.last_sequence, self.unnumbered = values[1], 0
            self.count += 1  # NOTE: `items.all_unknown` is False already: the event the shape was cut from cleared it
            append(index, join, bucket, text)
            return True

        return DeltaShape.cut(event, holes, apply)

    def finish(self, end_index: int | None) -> list[Finding]:
        found = self.found = self.items.found = []
        calls = self.items.calls
        if len(calls) > 1 and self.unreadable_at is None and asks_for_one_call(self.request_body):
            at, name = calls[1]
            found.append(CALLS_UNREQUESTED(at, (
                f"a second function call (`{name}`) was added, but the request set `parallel_tool_calls: false`: "
                "the server did not hold to the request's one call, and the openai Python SDK hands the app every "
                "call")))
        if self.count == 0 or self.terminal_index is not None or self.error_index is not None:
            return found  # NOTE: an `error` event may end the stream by itself (docs/protocols.md §A.3 rule 12)
        last = (f" (event {end_index}, the last one, could not be read and may have been it)"
                if self.unreadable_at is not None and self.unreadable_at == end_index else "")
        raised = None if self.resumed else self.items.sdk_raised_at
        how = (broken_connection(self.connection_broke) if self.connection_broke else
               f"{cut_or_done(self.done_at, end_index)} (the Python SDK's stream helper had raised at event {raised})"
               if raised is not None else
               f"{cut_or_done(self.done_at, end_index)}, and the Python SDK's stream helper raises \"Didn't "
               "receive a `response.completed` event\" (a `create(stream=True)` reader just stops)")
        found.append(TERMINAL_MISSING(end_index, (
            "the stream ended without a readable `response.completed`, `response.failed` or `response.incomplete`"
            f"{last}: {how}{self.items.cut_items()}")))
        self.items.close_open_items(end_index, "the stream ended", report=False)  # NOTE: one break, named above
        return found

    def _unreadable(self, index: int) -> None:
        """An event of unknown content: it may have been a start or the terminal event, carried the next
        `sequence_number`, or done anything to items and parts. No finding may rest on what it was."""
        self.unreadable_at = index
        self.unnumbered += 1
        self.expect_start = None
        self.count += 1
        self.items.unknown(index)
        self.items.could_add += 1

    # ---- envelope ----------------------------------------------------------------------------------------

    def _envelope(self, index: int, sse_name: str, kind: str, payload: dict[str, Any]) -> None:
        found = self.found
        once = self.items.once
        if sse_name != kind and sse_name != "message" and once("event-name", sse_name, kind):
            found.append(EVENT_NAME(index, (
                f"`event: {sse_name}` carries a `{kind}` payload: clients that dispatch on the SSE event name "
                "(proxies, non-SDK clients) treat it as the wrong event")))
        if self.terminal_index is not None:
            if once("after-terminal", kind):
                replaces = (": its stream helper's `get_final_response()` returns the last `response.completed`, "
                            "not the first, and LangChain adds up their usage and joins their `status` values "
                            "(`completedcompleted` for two completions)"
                            if kind == "response.completed" else "")
                found.append(AFTER_TERMINAL(index, (
                    f"`{kind}` came after the terminal event at {self.terminal_index}, which ended the response: the "
                    f"openai Python SDK reads on (it stops only at `[DONE]`) and hands it to the app{replaces}")))
        elif self.error_index is not None and kind != "response.failed" and once("after-error", kind):
            sdk = ("the Python SDK has already raised" if self.error_raised else
                   "the Python SDK raised nothing at that flat `error` and hands this to the app too, so a client that "
                   "reads on takes it")
            found.append(AFTER_ERROR(index, (
                f"`{kind}` came after the `error` event at {self.error_index}: an error ends the response, only "
                f"`response.failed` may follow it; {sdk}")))
        number = payload.get("sequence_number")
        last = self.last_sequence
        if last is not None and type(number) is int and number == last + 1:
            self.last_sequence, self.unnumbered = number, 0  # the common case, kept cheap
        else:
            self._sequence(index, kind, number, payload)
        expected = self.expect_start
        if kind == "error":
            self.expect_start = None  # NOTE: an error may cut the start short; `response.failed` may follow
        elif expected is not None and kind != expected and kind in EVENT_MODELS:  # NOTE: unknown types are skipped
            found.append(START_ORDER(index, (
                f"expected `{expected}` next ({self.expected_because}), got `{kind}`: a fresh stream starts "
                "`response.created`, (`response.queued` in background mode,) `response.in_progress`, and clients "
                "key their progress display on them")))
            self.expect_start = None
        if kind in TERMINAL_EVENTS and self.terminal_index is None:
            self.terminal_index = index
            self.assembly.ended, self.assembly.end_may_follow = True, False
        elif kind == "error" and self.error_index is None:
            self.error_index = index
            self.assembly.ended = True  # an error ends the response (`response.failed` may still follow)
            self.assembly.end_may_follow = self.terminal_index is None
        self.count += 1

    def _sequence(self, index: int, kind: str, number: Any, payload: dict[str, Any]) -> None:
        if number is not None and (type(number) is not int):
            return  # the model reports the type
        if number is None and payload.get("error"):
            return  # the Python SDK raises `APIError` on this payload: no app reads its number
        if self.numbered is None:  # the first readable event
            self.numbered = number is not None
            self.last_sequence, self.unnumbered = number, 0
            if number is None:
                self.found.append(SEQUENCE_ABSENT(index, (
                    f"the stream's first readable event `{kind}` has no `sequence_number` (reported once per "
                    "stream): the current openai Python SDK types declare it required and hand the app `None`, so a "
                    "client cannot order events or resume with `starting_after`; streams recorded before mid-2025 "
                    "lacked it")))
            if self.count:
                return  # NOTE: an unreadable event came first and may have been `response.created`
            if kind == "response.created":
                if number not in (None, 0):
                    self.found.append(SEQUENCE_BASE(index, (
                        f"`response.created` has `sequence_number` {number}: a fresh stream numbers its events from "
                        "0, and resuming with `starting_after` relies on that numbering")))
            elif number is not None and number > 0 and not self.fresh_request and _resumable(payload):
                self.resumed = True  # a `starting_after` resume starts anywhere (docs/protocols.md §A.3 rule 1)
                if kind not in START_EVENTS:  # NOTE: items open only after `response.in_progress`
                    self.items.resume()  # ... so a later resume may begin inside an item, part or value
                self.found.append(STREAM_RESUMED(index, (
                    f"the stream starts with `{kind}` at `sequence_number` {number}, not `response.created` at 0: "
                    f"read as a resume (`GET /v1/responses/{{id}}?stream=true&starting_after={number - 1}`); if it "
                    f"was a fresh request, the events numbered below {number} were lost and the Python SDK's stream "
                    "helper raises")))
            elif kind != "error":
                self.found.append(CREATED_NOT_FIRST(index, (
                    f"the stream starts with `{kind}`, not `response.created`: the Python SDK's stream helper raises "
                    "\"Expected to have received `response.created` before ...\"")))
            self.last_sequence = number
            return
        if number is None:
            if self.numbered and self.items.once("sequence-missing", kind):
                self.found.append(SEQUENCE_MISSING(index, (
                    f"`{kind}` has no `sequence_number` while earlier events do: a client cannot order it or "
                    "resume after it")))
            self.last_sequence = None  # NOTE: the next number is then taken as it comes, not as a gap
            return
        if not self.numbered:
            self.numbered = True
            self.found.append(SEQUENCE_MISSING(index, (
                f"`{kind}` has `sequence_number` {number}, but the stream began without any: a client cannot "
                "resume reliably from a partly numbered stream")))
        elif (self.last_sequence is not None
              and not self.last_sequence < number <= self.last_sequence + 1 + self.unnumbered
              and self.items.once("sequence", kind, number - self.last_sequence)):
            self.found.append(SEQUENCE_GAP(index, (
                f"`{kind}` has `sequence_number` {number}, expected {self.last_sequence + 1}: events were lost, "
                "repeated or reordered, and `starting_after` resumption skips or replays events")))
        self.last_sequence, self.unnumbered = number, 0

    def _sdk_fields(self, index: int, kind: str, missing: list[str]) -> None:
        """One finding per event for the required fields it lacks that no earlier event was reported for. The final
        usage is the terminal event's alone (codex-router-proxy sends `usage: {}` in `response.created` and again in
        `response.completed`, where it lost its upstream's counts): said there whatever the start lacked."""
        final = kind in TERMINAL_EVENTS
        new = [path for path in missing
               if self.items.once("sdk-field", _INDEXES.sub("[]", path), final and path.startswith("response.usage"))]
        if not new:
            return
        shown = ", ".join(f"`{path}`" for path in new[:3]) + (f" (and {len(new) - 3} more)" if len(new) > 3 else "")
        self.found.append(SDK_FIELD_MISSING(index, (
            f"`{kind}` lacks {shown}, which the openai Python SDK types as required: the Python SDK hands the app "
            "`None` there, and app code written to its types reads it without a None check (an `AttributeError` or "
            "`TypeError`, or a wrong value) (each field is reported once per stream)")))

    # ---- lifecycle events --------------------------------------------------------------------------------

    def _lifecycle(self, index: int, kind: str, ev: dict[str, Any]) -> None:
        response = ev["response"]
        status, response_id = response["status"], response["id"]
        if status not in LIFECYCLE_STATUS[kind]:
            allowed = " or ".join(f"`{name}`" for name in sorted(LIFECYCLE_STATUS[kind]))
            self.found.append(STATUS_MISMATCH(index, (
                f"`{kind}` carries `response.status` `{status}`, expected {allowed}: clients read the "
                "status to decide whether the answer is complete")))
        if self.response_id is None:
            self.response_id = self.assembly.response_id = response_id
        elif response_id != self.response_id:
            self.found.append(RESPONSE_ID(index, (
                f"`{kind}` has `response.id` `{response_id}`, but the stream began as `{self.response_id}`: "
                "`previous_response_id` and retrieval use this id, so the client may continue the wrong response")))
        if response.get("model"):
            self.assembly.model = response["model"]
        if kind in TERMINAL_EVENTS:
            self._terminal(index, kind, response)
            return
        self._start_seen(index, kind)
        if not self.resumed:
            self.expect_start = NEXT_START.get((kind, status))
            self.expected_because = f"`{kind}` has status `{status}`"

    def _start_seen(self, index: int, kind: str) -> None:
        """A start event, its type known (its content may not be: a repeat is one whatever it holds)."""
        if kind in self.starts_seen and self.items.once("start-repeated", kind):
            self.found.append(START_ORDER(index, (
                f"a second `{kind}`: each start event comes once; a client that takes the response from its start "
                "events starts it again (the openai Python SDK's stream helper keeps the first and passes this one on; "
                "later repeats are not reported)")))
        self.starts_seen.add(kind)

    def _terminal(self, index: int, kind: str, response: dict[str, Any]) -> None:
        if self.terminal_index != index:
            return  # a second terminal event: reported by the envelope
        assembly = self.assembly
        assembly.status = response["status"]
        assembly.usage = response.get("usage")
        details, error = response.get("incomplete_details"), response.get("error")
        assembly.output(0).finish_reason = details["reason"] if details is not None else response["status"]
        if error is not None and assembly.error is None:
            assembly.error = error["message"]
        for name in TERMINAL_FIELDS[kind]:
            if response.get(name) is None:
                self.found.append(TERMINAL_FIELD(index, (
                    f"`{kind}` has no `response.{name}`: a `{TERMINAL_EVENTS[kind]}` response carries it, and "
                    f"{FIELD_USE[name]}")))
        for name in TERMINAL_NULL_FIELDS[kind]:
            # NOTE: a status of another outcome carries that outcome's field (codex-router-proxy's `response.completed`
            # with `status: incomplete` and its reason): one deviation, said by `responses/status-mismatch`
            if response.get(name) is not None and response["status"] in LIFECYCLE_STATUS[kind]:
                self.found.append(TERMINAL_EXTRA(index, (
                    f"`{kind}` carries a non-null `response.{name}`: a `{TERMINAL_EVENTS[kind]}` response has "
                    f"`{name}: null`, and a client that tests `response.{name}` takes it for another outcome")))
        failed = kind == "response.failed"
        if not failed:  # NOTE: a failed response's output may hold less than streamed (the docs do not say)
            self.items.check_open_items(index, kind, response["output"])
        self.items.close_open_items(index, f"`{kind}`", report=not failed)
        self.items.check_terminal_output(index, kind, response["output"], partial=failed)
        self._show_output(response["output"])

    def _salvage(self, index: int, kind: str, payload: dict[str, Any]) -> None:
        """What `view` and `diff` can still read from an event that failed the schema, which the rules take as of
        unknown content: a text delta's text, as a client that joins `delta`s shows it; a lifecycle event's model,
        id, status, usage and error, and the status's next start event (codex-relay's events lack `object` and
        `created_at` and the deltas `content_index`: `view` showed no text, model or usage, and `diff` said all
        were lost)."""
        family = DELTA_FAMILIES.get(kind)
        if family is not None:
            delta = payload.get("delta")
            if type(delta) is str:
                self.items.stray(index, family[1].output, delta)
            return
        response = payload.get("response")
        if kind not in LIFECYCLE_STATUS or type(response) is not dict:
            return
        assembly = self.assembly
        model, status, response_id = response.get("model"), response.get("status"), response.get("id")
        if type(model) is str and model:
            assembly.model = model
        if type(response_id) is str and self.response_id is None:
            self.response_id = assembly.response_id = response_id
        if kind in START_EVENTS:
            if type(status) is str and not self.resumed:
                self.expect_start = NEXT_START.get((kind, status))
                self.expected_because = f"`{kind}` has status `{status}`"
            return
        if self.terminal_index != index:
            return
        if type(status) is str:
            assembly.status = assembly.output(0).finish_reason = status
        usage, error = response.get("usage"), response.get("error")
        if type(usage) is dict:
            assembly.usage = usage
        message = error.get("message") if type(error) is dict else None
        if type(message) is str and assembly.error is None:
            assembly.error = message
        if type(response.get("output")) is list:
            self._show_output(response["output"])

    def _show_output(self, output: list[Any]) -> None:
        """The terminal output's answer, for `view`, where the stream's own events brought nothing readable, or
        text other than the final messages' (deltas a server dropped: `view` said "(no text)" of an answer that
        `get_final_response()` hands over whole)."""
        streamed = self.assembly.outputs.values()
        answer = _output_answer(output)
        said = "".join(text for key, text in answer.items() if key.endswith(" message"))
        if answer and (not any(each.text or each.tool_calls or each.reasoning or each.refusal for each in streamed)
                       or (said and said != "".join(each.text for each in streamed))):
            self.assembly.details["response.output"] = answer

    def _error(self, index: int, kind: str, ev: dict[str, Any]) -> None:
        """Both shapes: the schema's flat `{code, message, param}` and the wire's nested `{error: {...}}`; and a
        payload with `error` but no `type` (Llama Stack's), on which the Python SDK raises as well."""
        nested = ev.get("error")
        if index == self.error_index:
            self.error_raised = nested is not None
        if nested is not None:
            message = nested.get("message") if type(nested) is dict else None
            text = message if type(message) is str else json.dumps(nested)
            error_code = (nested.get("code") or nested.get("type")) if type(nested) is dict else None
        else:
            text, error_code = ev.get("message") or "", ev.get("code")
        self.assembly.error = text
        code = f" (`{error_code}`)" if error_code else ""
        typeless = "" if ev.get("type") == "error" else " in a payload with no `type`"
        sdk = ("the Python SDK raises `APIError` here" if nested else "the Python SDK hands it to the app as an "
               "`error` event (it raises `APIError` only for a nested `error` object), and unless a "
               "`response.completed` follows, its stream helper's `get_final_response()` raises \"Didn't receive a "
               "`response.completed` event\"")
        self.found.append(ERROR_EVENT(index, (
            f"the server reported an error in-band{code}{typeless}: {_excerpt(text)}; {sdk}, and by the docs the "
            "response ends with `response.failed` or nothing")))

    def _ignore(self, index: int, kind: str, ev: dict[str, Any]) -> None:
        """Events with no ordering rule of their own (audio)."""


def _output_answer(output: list[Any]) -> dict[str, str]:
    """The terminal output's messages and tool calls, a line each (`[0] message`: its text; `[1] function_call`:
    `name(arguments)`), for `view` where the stream's events brought no answer that could be read."""
    shown = {}
    for position, item in enumerate(output):
        kind = item.get("type") if type(item) is dict else None
        if kind == "message":
            parts = item.get("content") if type(item.get("content")) is list else []
            text = "".join(part["text"] for part in parts if type(part) is dict and type(part.get("text")) is str)
        elif kind in TOOL_CALL_ITEMS:
            text = f"{tool_name(kind, item)}({tool_arguments(kind, item)})"
        else:
            continue
        shown[f"[{position}] {kind}"] = text
    return shown


def _resumable(payload: dict[str, Any]) -> bool:
    """Only background responses can be resumed: a first lifecycle event that says `background: false` is not one."""
    response = payload.get("response")
    return not (isinstance(response, dict) and response.get("background") is False)


def _schema_harm(kind: str, payload: dict[str, Any]) -> str:
    """What a schema break does: the SDK builds events unchecked (`UNCHECKED`), but its stream helper appends each
    item to the first event's `response.output`, and fails at the first item when that is not a list (tried)."""
    if kind == "response.created" and type(_dig_output(payload)) is not list:
        return ("the openai Python SDK's `responses.stream()` helper appends each item to this `response.output`, so "
                "it fails (`AttributeError`) at the first `output_item.added`, if one comes")
    return UNCHECKED


def _dig_output(payload: dict[str, Any]) -> Any:
    """`response.output` of a lifecycle event's payload, or None."""
    response = payload.get("response")
    return response.get("output") if type(response) is dict else None


def _excerpt(text: str, limit: int = 100) -> str:
    return repr(text if len(text) <= limit else text[:limit] + "…")


_INDEXES = re.compile(r"\[\d+\]")

# Event type -> (the payload field holding a snapshot, the function listing its missing SDK-required fields).
REQUIRED_FIELDS: dict[str, tuple[str, Any]] = {
    **{name: ("response", missing_in_response) for name in LIFECYCLE_STATUS},
    "response.output_item.added": ("item", missing_in_item),
    "response.output_item.done": ("item", missing_in_item),
    "response.content_part.added": ("part", missing_in_part),
    "response.content_part.done": ("part", missing_in_part),
    "response.reasoning_summary_part.added": ("part", missing_in_part),
    "response.reasoning_summary_part.done": ("part", missing_in_part),
    "response.output_text.annotation.added": ("annotation", missing_in_annotation),
}

HANDLERS: dict[str, Any] = {
    **{name: Checker._lifecycle for name in LIFECYCLE_STATUS},
    "error": Checker._error,
    "response.audio.delta": Checker._ignore,
    "response.audio.done": Checker._ignore,
    "response.audio.transcript.delta": Checker._ignore,
    "response.audio.transcript.done": Checker._ignore,
}

ITEM_HANDLERS: dict[str, Any] = {
    "response.output_item.added": OutputState.item_added,
    "response.output_item.done": OutputState.item_done,
    "response.content_part.added": OutputState.part_added,
    "response.content_part.done": OutputState.part_done,
    "response.reasoning_summary_part.added": OutputState.summary_added,
    "response.reasoning_summary_part.done": OutputState.summary_done,
    "response.output_text.annotation.added": OutputState.annotation,
    "response.shell_call_command.added": OutputState.shell_command_added,
    **{f"{name}.delta": OutputState.delta for name in FAMILIES},
    **{f"{name}.done": OutputState.done for name in FAMILIES},
    **{name: OutputState.progress for name in EVENT_MODELS if name.rsplit(".", 1)[0] in PROGRESS_ITEM_TYPES},
}


_BESIDE_THE_POINT = frozenset({("response", "created_at"), ("response", "object")})
"""Fields whose absence or type leaves what a lifecycle event says of its items, status and id readable: an event
broken only there is judged as a valid one, beside its `responses/schema` finding (a missing `created_at` took
agent-wire-proxy's rewritten final text and item ids out of `responses/terminal-output-mismatch`)."""
