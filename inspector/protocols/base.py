"""What every protocol module offers: a checker fed one event at a time, and the Assembly it fills.

The common layer (`inspector.validate`) parses SSE, decodes each event's JSON once, and hands the checker
`(event, payload)`: `payload` is the decoded JSON value, or `DONE` for a literal `data: [DONE]`. Events whose
data is not JSON are reported by the common layer (`sse/invalid-json`) and never reach the checker.

Accumulating and judging stay apart (as in openai-python's `ResponseStreamState`): the checker updates its
`Assembly` (what the stream said) and returns `Finding`s (where it broke the rules). The viewer and diff read
the Assembly; the outputs read the findings.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

import pydantic_core

from ..findings import Finding
from ..sse import Event

if TYPE_CHECKING:
    from .token_limit import TokenLimit


class _Done:
    """The literal `[DONE]` sentinel of Chat Completions (not JSON)."""

    def __repr__(self) -> str:
        return "DONE"


DONE: Any = _Done()


def request_object(body: Any, worth_parsing: Callable[[str], bool]) -> dict[str, Any] | None:
    """A recorded request body as the JSON object it is (None: not one). A body kept as text (the proxy's) is parsed
    only when `worth_parsing` finds in it what the caller asks about: a long conversation's may be megabytes."""
    if isinstance(body, str):
        if not worth_parsing(body):
            return None
        try:
            body = json.loads(body)
        except (ValueError, RecursionError):
            return None
    return body if isinstance(body, dict) else None


def asks_for_one_call(body: Any) -> bool:
    """Whether a request body set `parallel_tool_calls: false` (one tool call at most; Chat and Responses)."""
    request = request_object(body, lambda text: '"parallel_tool_calls"' in text)
    return request is not None and request.get("parallel_tool_calls") is False


def break_shown(message: str) -> str:
    """A broken connection's message (the recording's end line has it), of bounded length."""
    return message if len(message) <= 80 else message[:79] + "…"


def broken_connection(message: str) -> str:
    """How a stream ended whose connection the server broke in the middle of the body (the recording's end line
    says so): the client was told, by its HTTP library, so it knows the answer is cut."""
    return (f"the server broke the connection ({break_shown(message)}), so the client's HTTP library raises (httpx: "
            "`RemoteProtocolError`) and the client knows the answer is cut")


def cut_or_done(done_at: int | None, end_index: int | None) -> str:
    """How a stream without its terminal event ended, as the wire shows it: with a `data: [DONE]` as its last event
    (Chat Completions' end, which a server of another protocol may send as its own), or else cut short or ended by a
    server that leaves the end out, which the wire cannot tell apart (any-llm's gateway ends its Anthropic streams
    after a `message_delta`)."""
    if done_at is not None and done_at == end_index:
        return f"it ended with `data: [DONE]` (event {done_at}), which does not end this protocol"
    return "it was cut short, or its server ends streams without it"


def listed(names: list[str], shown: int = 3) -> str:
    """`a`, `a and b`, `a, b and c`, or `a, b, c and 7 more`: of bounded length whatever a hostile stream holds."""
    if len(names) > shown + 1:
        names = [*names[:shown], f"{len(names) - shown} more"]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + f" and {names[-1]}"


def left_open(named: list[str]) -> str:
    """What a cut stream left open, for its end's finding, which says the one break once (`; `text` block 0 was
    open, and may be cut short`); "" for nothing."""
    if not named:
        return ""
    return f"; {listed(named)} {'was' if len(named) == 1 else 'were'} open, and may be cut short"


class _Unreadable:
    """An event whose data is not JSON (cut mid-JSON, or garbage): the common layer reports it once, and the
    checker takes it as an event of unknown content at its position. A finding after it must be true whatever the
    event was: what it may have opened, closed, numbered or carried is not held against the stream."""

    def __repr__(self) -> str:
        return "UNREADABLE"


UNREADABLE: Any = _Unreadable()


PLAIN_FUNCTION_KINDS = frozenset({"function", "function_call", "tool_use"})
"""The tool-call kinds of a plain function the app declared and runs: Chat's, Responses' and Gemini's, Anthropic's."""
CLIENT_RUN_KINDS = PLAIN_FUNCTION_KINDS | {"custom_tool_call", "computer_call", "local_shell_call", "shell_call",
                                           "apply_patch_call", "mcp_approval_request"}
"""Every kind the app must act on (run it, or approve it); the others the API ran on its side (web search, code
execution, MCP calls, ...), the same for `view`'s labels and `diff`'s "run by"."""


@dataclass(slots=True)
class ToolCall:
    """A tool call as a client runs it: `arguments` is the exact concatenation of the streamed fragments, or the final
    value where the protocol sends one apart (Responses' `.done`) and it differs; `streamed` then keeps the
    fragments' (Kilo Code ran the final value where `view` showed the deltas')."""

    id: str | None
    name: str | None
    arguments: str = ""
    kind: str = "function"
    """The item or block type that carried it: function_call, custom_tool_call, web_search_call, tool_use, ..."""
    streamed: str | None = None
    """What the streamed fragments joined to, where that is not `arguments` (None otherwise)."""

    @property
    def run_by_client(self) -> bool:
        return self.kind in CLIENT_RUN_KINDS

    def to_json(self) -> dict:
        shown = {"id": self.id, "name": self.name, "arguments": self.arguments}
        return shown if self.streamed is None else {**shown, "streamed_arguments": self.streamed}


def arguments_problem(arguments: str) -> str | None:
    """Why a finished tool call's arguments cannot be run, or None when they are a JSON object.

    One policy for every protocol (docs/rules.md, "Tool-call arguments"): the arguments are the tool's keyword
    arguments, so they must decode to an object; anything else is an error wherever it comes from.
    """
    try:
        value = json.loads(arguments)
    except ValueError as error:
        return "empty, not a JSON object" if not arguments else f"not JSON ({error})"
    except RecursionError:
        return "nested too deeply for Python's JSON decoder"
    if type(value) is not dict:
        kind = {list: "an array", str: "a string", bool: "a boolean", type(None): "null"}.get(type(value), "a number")
        return f"{kind}, not a JSON object"
    return None


FRAMEWORKS_DECODING = ("agent frameworks that decode them themselves raise, send the error back to the model and "
                       "ask again (CrewAI), run the tool with `{}` (strands-agents, Microsoft Agent Framework) or with "
                       "a repaired guess (LlamaIndex; LangChain for a cut or doubled object, and it sets any other "
                       "aside in `invalid_tool_calls` without raising, where LangGraph's agent ends its turn with an "
                       "empty reply)")
"""What agent frameworks do with tool arguments that are no JSON object (tried: strands-agents 1.62 logs a warning
and calls the tool with `{}`, and agent-framework-core 1.26 wraps them as `{"raw": ...}` and calls it with none;
LlamaIndex repairs `{"city": "Par` into `{"city": None}`; langchain-core 1.8's partial parser makes `{"city": "Par`
`{"city": "Par"}` and `{}{}` `{}`, and files a trailing comma or a missing colon under `invalid_tool_calls`, which
langgraph 1.2's prebuilt ReAct agent does not route to a tool; crewai 1.15 sends the JSON error back as the tool's
result and asks the model again)."""
ARGUMENTS_HARM = ("no client can run the call as the model meant it: the openai Python SDK's parse helpers (for a "
                  "strict tool) decode them into the tool's keyword arguments, and raise (`json.loads`, or the tool's "
                  f"pydantic model) or get no object; {FRAMEWORKS_DECODING}")
"""Why non-object tool arguments are an error (the OpenAI protocols): the tail of the message."""


def anthropic_arguments_harm(arguments: str, raised_at: int | None = None) -> str:
    """The same for Anthropic Messages, whose SDK hands the app the input it parsed: its `messages.stream()` helper
    parses the joined fragments after every delta in partial mode (jiter's, the parser pydantic-core's `from_json`
    is built on: the same results), which closes a cut object, drops a cut value, ignores what follows a whole
    value, and raises on anything else. `raised_at`: the event where it had raised already, on another block."""
    if raised_at is not None:
        return ("no client can run the call as the model meant it: the anthropic Python SDK's `messages.stream()` "
                f"helper had raised already, at event {raised_at}; {FRAMEWORKS_DECODING}")
    try:
        value = pydantic_core.from_json(arguments.encode(), allow_partial=True)
    except UnicodeEncodeError:  # a lone surrogate, from a `\ud83d` escape in the JSON of a delta
        sdk = "the anthropic Python SDK's `messages.stream()` helper raises `UnicodeEncodeError` on this block's deltas"
    except ValueError:
        sdk = ("the anthropic Python SDK's `messages.stream()` helper raises `ValueError` (\"Unable to parse tool "
               "parameter JSON from model\") on this block's deltas")
    else:
        shown = json.dumps(value, ensure_ascii=False)
        shown = shown if len(shown) <= 60 else shown[:60] + "…"
        sdk = (f"the anthropic Python SDK's `messages.stream()` helper makes the input `{shown}` and the tool runs "
               "with that")
    return f"no client can run the call as the model meant it: {sdk}; {FRAMEWORKS_DECODING}"


FRAGMENT_GROUP = 256  # fragments joined into one list entry: a list grows once per FRAGMENT_GROUP deltas, not per delta


class Fragments:
    """A growing string kept as a list of parts: O(1) appends, and every `FRAGMENT_GROUP` parts are joined into one.

    The joins touch only the newest parts, so the total cost stays linear (never `s += delta`), and the list
    does not hold one object per event however long the stream: memory follows the text, not the event count.
    """

    __slots__ = ("parts", "_settled", "twin")

    def __init__(self, parts: list[str], twin: Fragments | None = None) -> None:
        self.parts = parts
        self._settled = len(parts)
        self.twin = twin
        """Fragments that grow by the same pieces (a Responses value and its output's text, either one first): a
        group equal to the twin's newest is taken from it, so the two hold one copy of the text, not two."""

    def append(self, fragment: str) -> None:
        parts = self.parts
        parts.append(fragment)
        if len(parts) - self._settled >= FRAGMENT_GROUP:
            group = "".join(parts[self._settled :])
            twin = self.twin
            if twin is not None and twin.parts and twin.parts[-1] == group:
                group = twin.parts[-1]
            parts[self._settled :] = [group]
            self._settled += 1

    def settle(self) -> None:
        """Join the parts not grouped yet: a twin that starts growing now groups the same pieces as these."""
        parts = self.parts
        if len(parts) > self._settled:
            parts[self._settled :] = ["".join(parts[self._settled :])]
            self._settled = len(parts)

    def matches(self, text: str) -> bool:
        """Whether the parts join to `text`, compared in place: a long value is checked without joining a copy."""
        position = 0
        for part in self.parts:
            if not text.startswith(part, position):
                return False
            position += len(part)
        return position == len(text)

    def text(self) -> str:
        """The whole string, kept from now on as one part."""
        parts = self.parts
        joined = "".join(parts)
        parts[:] = [joined] if joined else []
        self._settled = len(parts)
        return joined


@dataclass(slots=True)
class Output:
    """What one answer said. Chat has one per choice; the other protocols have only choice 0."""

    index: int = 0
    text_parts: list[str] = field(default_factory=list)
    reasoning_parts: list[str] = field(default_factory=list)
    refusal_parts: list[str] = field(default_factory=list)
    tool_calls: list[ToolCall] = field(default_factory=list)
    finish_reason: str | None = None

    @property
    def text(self) -> str:
        return "".join(self.text_parts)

    @property
    def reasoning(self) -> str:
        return "".join(self.reasoning_parts)

    @property
    def refusal(self) -> str:
        return "".join(self.refusal_parts)


@dataclass(slots=True)
class Assembly:
    """The reassembled result of a stream, built one event at a time."""

    protocol: str
    model: str | None = None
    response_id: str | None = None
    status: str | None = None
    """Final status: the Responses status, the Anthropic stop_reason, the Chat finish_reason of choice 0."""
    usage: dict | None = None
    error: str | None = None
    """The message of an in-band error event, if one came."""
    ended: bool = False
    """The protocol's terminal event came (`[DONE]`, `response.completed`/`failed`/`incomplete`, `message_stop`,
    or an in-band error that ends the stream): the server said all it had to say."""
    end_may_follow: bool = False
    """What ended it was an error that one more event may follow (Responses' `error`, then `response.failed`): a client
    that went away there may have left before the server was done (Kilo Code hangs up at the error)."""
    first_content_index: int | None = None
    """Index of the first event that carries content (text, reasoning, refusal or tool-call data): TTFT."""
    outputs: dict[int, Output] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)
    """Protocol facts shown as they came, by wire name (Gemini: grounding, citations, safety ratings, prompt
    feedback: the last non-empty value of each; Responses: the terminal output, where no streamed event could show
    the answer)."""

    def output(self, index: int = 0) -> Output:
        """The output for a choice index, created on first use."""
        found = self.outputs.get(index)
        if found is None:
            found = self.outputs[index] = Output(index)
        return found

    def saw_content(self, event_index: int) -> None:
        if self.first_content_index is None:
            self.first_content_index = event_index

    @property
    def text(self) -> str:
        return self.outputs[0].text if 0 in self.outputs else ""

    @property
    def reasoning(self) -> str:
        return self.outputs[0].reasoning if 0 in self.outputs else ""

    @property
    def tool_calls(self) -> list[ToolCall]:
        return self.outputs[0].tool_calls if 0 in self.outputs else []


class FirstTime:
    """`first_time(*culprit)` is True only the first time: a fault an endpoint repeats on every event is reported
    once, so a long broken stream cannot grow the findings without bound."""

    __slots__ = ("_seen",)

    def __init__(self) -> None:
        self._seen: set[tuple[Any, ...]] = set()

    def __call__(self, *culprit: Any) -> bool:
        if culprit in self._seen:
            return False
        self._seen.add(culprit)
        return True


class Checker(Protocol):
    """One protocol's state machine. One instance per stream."""

    name: ClassVar[str]
    assembly: Assembly

    def feed(self, event: Event, payload: Any) -> list[Finding]:
        """Check one event (its JSON already decoded, or `UNREADABLE`) and update the assembly."""
        ...

    end_missing: ClassVar[str]
    """The rule of a stream that ends without the protocol's end (its terminal event, `[DONE]`, a finish)."""

    broken_after_end: ClassVar[str]
    """What the protocol's official SDK does when the server breaks the connection after the stream's end (the
    body's last HTTP chunk never came): `sse/broken-after-end` says it."""

    token_limit: ClassVar[TokenLimit]
    """Where the request caps the answer's tokens and the usage counts them: judged at the end, against the
    recorded request body."""

    connection_broke: str | None
    """Set before `finish` when the recording says the server broke the connection mid-body: its message."""

    ended_inside_event: bool
    """Set before `finish`: the body ended inside an event, which no conformant client dispatches (what it carried,
    the SSE layer's `sse/unterminated-event` says, is lost)."""

    @staticmethod
    def ends_stream(payload: Any) -> bool:
        """Whether an event of this payload is the protocol's end: an unterminated last one that is, lost to every
        conformant client, is reported once by the SSE layer, not again as `end_missing`."""
        ...

    def finish(self, end_index: int | None) -> list[Finding]:
        """End-of-stream rules: missing terminal events, open items, unfinished choices.

        `end_index` is the index of the last dispatched event (None: the stream had none).
        """
        ...
