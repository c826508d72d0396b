"""The Anthropic Messages checker: every rule fires on a real corpus stream broken in exactly one way.

Each case loads a corpus stream, edits its parsed events (drop one, swap two, change one field), re-serialises
the result to SSE and runs the whole pipeline (`check_bytes`). The unbroken stream must be silent for the rule,
the broken one must give exactly the listed `(rule, index)` pairs.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

import anthropic
import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from inspector.findings import RULES, Finding, Severity
from inspector.protocols.anthropic_messages import checker as anthropic_messages  # noqa: F401  (registers the rules)
from inspector.protocols.anthropic_messages.assembly import Fragments
from inspector.sse import SSEParser
from inspector.validate import StreamCheck, check_bytes

CORPUS = Path(__file__).parent / "fixtures" / "corpus" / "anthropic-messages"

# The event positions the cases below refer to (md: message_delta).
# fmt: off
TEXT       = "vercel-ai__text.sse"                   # 0 start, 1 text 0, 2 ping, 3-8 deltas, 9 stop, 10 md, 11 stop
TOOL       = "vercel-ai__tool-use-only.sse"          # 1 tool_use 0, 2-5 json, 6 stop, 7 md, 8 stop
THINKING   = "vercel-ai__thinking-signature.sse"     # 1 thinking 0, 3-12 thinking, 13 signature, 14 stop, 15 text 1
MIXED      = "vercel-ai__text-tool-use-and-server-tool-use.sse"  # text 0 (1-13), tool_use 1 (14-20), ...
SEARCH     = "vercel-ai__web-search-citations.sse"   # 1 server_tool_use 0, 8 web_search_tool_result 1, 9 stop
SHORT      = "vercel-ai__programmatic-tool-use-short-form.sse"   # 0 complete message_start, 1 message_stop
MAX_TOKENS = "anthropic-sdk-python__max-tokens-open-tool-block.sse"  # 14 md max_tokens, tool block 1 open
# fmt: on

Frame = tuple[str | None, Any]
"""One event: its `event:` name (None: no such line) and its data (a JSON value, or a raw string)."""
Mutation = Callable[[list[Frame]], list[Frame]]


def load(name: str) -> list[Frame]:
    """The events of a corpus stream, the unterminated last one included (re-serialising terminates it)."""
    parser = SSEParser()
    events = parser.feed((CORPUS / name).read_bytes())
    parser.close()
    if parser.unterminated is not None:
        events.append(parser.unterminated)
    return [(event.type, json.loads(event.data)) for event in events]


def serialise(frames: list[Frame]) -> bytes:
    out = []
    for name, data in frames:
        head = f"event: {name}\n" if name is not None else ""
        body = data if isinstance(data, str) else json.dumps(data, ensure_ascii=False)
        out.append(f"{head}data: {body}\n\n")
    return "".join(out).encode()


def findings_of(rule_id: str, frames: list[Frame]) -> list[tuple[str, int | None]]:
    check = check_bytes(serialise(frames), protocol="anthropic-messages")
    return [(finding.rule, finding.index) for finding in check.findings if finding.rule == rule_id]


# --- mutations: each returns a function of the frames --------------------------------------------------------------


def drop(*positions: int) -> Mutation:
    return lambda frames: [frame for i, frame in enumerate(frames) if i not in positions]


def swap(i: int, j: int) -> Mutation:
    def run(frames: list[Frame]) -> list[Frame]:
        frames[i], frames[j] = frames[j], frames[i]
        return frames

    return run


def insert(at: int, frame: Frame | Callable[[list[Frame]], Frame]) -> Mutation:
    def run(frames: list[Frame]) -> list[Frame]:
        frames.insert(at, copy.deepcopy(frame(frames) if callable(frame) else frame))
        return frames

    return run


def append(frame: Frame) -> Mutation:
    return lambda frames: [*frames, frame]


def copy_of(position: int) -> Callable[[list[Frame]], Frame]:
    return lambda frames: frames[position]


def edit(position: int, path: str, value: Any) -> Mutation:
    """Set the field at a dotted `path` of one event's data (`message.usage.output_tokens`)."""

    def run(frames: list[Frame]) -> list[Frame]:
        target = frames[position][1]
        *parents, last = path.split(".")
        for key in parents:
            target = target[key]
        target[last] = value
        return frames

    return run


def rename(position: int, name: str | None) -> Mutation:
    def run(frames: list[Frame]) -> list[Frame]:
        frames[position] = (name, frames[position][1])
        return frames

    return run


def chain(*mutations: Mutation) -> Mutation:
    def run(frames: list[Frame]) -> list[Frame]:
        for mutation in mutations:
            frames = mutation(frames)
        return frames

    return run


def event(data: dict) -> Frame:
    return (data["type"], data)


ERROR_EVENT = event({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}})
PING = event({"type": "ping"})


class Case(NamedTuple):
    rule: str
    stream: str
    mutate: Mutation
    expected: list[int | None]


def _whole_again(frames: list[Frame]) -> list[Frame]:
    """Block 0 of `TOOL` (a `tool_use`) started and stopped again as block 1, its input whole, with the same id."""
    start = copy.deepcopy(frames[1])
    start[1]["index"] = 1
    start[1]["content_block"]["input"] = {"elements": []}
    return [start, ("content_block_stop", {"type": "content_block_stop", "index": 1})]


def test_tool_blocks_of_their_own_ids_are_not_a_repeat() -> None:
    frames = load(TOOL)
    again = _whole_again(frames)
    again[0][1]["content_block"]["id"] = "toolu_other"
    assert findings_of("anthropic/tool-id-repeated", [*frames[:7], *again, *frames[7:]]) == []


# fmt: off
CASES = [
    Case("anthropic/event-name-mismatch", TEXT, rename(3, None), [3]),
    Case("anthropic/event-name-mismatch", TEXT, rename(10, "block_stop"), [10]),
    Case("anthropic/event-name-differs", TEXT, rename(10, "message_stop"), [10]),  # a name the SDKs read by data
    Case("anthropic/done-sentinel", TEXT, append((None, "[DONE]")), [12]),
    Case("anthropic/schema", TEXT, edit(3, "index", "0"), [3]),
    Case("anthropic/schema", TEXT, edit(0, "message.usage.output_tokens", "1"), [0]),
    Case("anthropic/schema", TOOL, edit(1, "content_block.input", "{}"), [1]),
    Case("anthropic/schema", TEXT, edit(10, "usage", {"input_tokens": 12}), [10]),
    Case("anthropic/unknown-event", TEXT, insert(5, event({"type": "content_block_thought", "index": 0})), [5]),
    Case("anthropic/message-start-not-first", TEXT, swap(0, 1), [0]),
    Case("anthropic/message-start-not-first", TEXT, drop(0), [0]),
    Case("anthropic/message-start-repeated", TEXT, insert(5, copy_of(0)), [5]),
    Case("anthropic/message-start-not-empty", TEXT, edit(0, "message.content", [{"type": "text", "text": "Hi"}]),
         [0]),
    Case("anthropic/message-start-not-empty", TEXT, edit(0, "message.stop_reason", "end_turn"), [0]),
    Case("anthropic/message-start-short-form", TOOL,
         chain(edit(0, "message.stop_reason", "tool_use"),
               edit(0, "message.content", [{"type": "tool_use", "id": "toolu_1", "name": "json", "input": {}}]),
               drop(1, 2, 3, 4, 5, 6, 7)), [0]),
    Case("anthropic/ping-before-message-start", TEXT, insert(0, PING), [0]),
    Case("anthropic/event-after-terminal", TEXT, append(PING), [12]),
    Case("anthropic/event-after-terminal", TEXT, insert(11, ERROR_EVENT), [12]),
    Case("anthropic/terminal-missing", TEXT, drop(11), [10]),
    Case("anthropic/error-event", TEXT, chain(drop(6, 7, 8, 9, 10, 11), append(ERROR_EVENT)), [6]),
    Case("anthropic/block-index-not-sequential", THINKING,
         chain(*(edit(position, "index", 2) for position in range(15, 20))), [15]),
    Case("anthropic/block-not-open", TEXT, edit(5, "index", 1), [5]),
    Case("anthropic/block-not-open", TEXT, insert(10, copy_of(9)), [10]),
    Case("anthropic/schema", SEARCH, edit(8, "content_block.content", [{"type": "web_search_result", "url": "u",
                                                                          "title": "t"}]), [8]),
    Case("anthropic/block-overlap", MIXED, swap(13, 14), [13]),
    Case("anthropic/block-unclosed", TEXT, drop(9, 10), [9]),
    Case("anthropic/block-after-message-delta", THINKING, chain(insert(15, copy_of(20)), drop(21)), [16]),
    Case("anthropic/unknown-block-type", TEXT, edit(1, "content_block.type", "scratchpad"), [1]),
    Case("anthropic/unknown-delta-type", TEXT, edit(4, "delta.type", "text_patch_delta"), [4]),
    Case("anthropic/delta-type-mismatch", TEXT, edit(4, "delta", {"type": "thinking_delta", "thinking": "x"}), [4]),
    Case("anthropic/delta-type-mismatch", SEARCH,
         insert(9, event({"type": "content_block_delta", "index": 1,
                          "delta": {"type": "text_delta", "text": "x"}})), [9]),
    Case("anthropic/tool-input-invalid-json", TOOL, drop(5), [5]),
    # anyclaude streams each call, then sends it again whole: two blocks of one id
    Case("anthropic/tool-id-repeated", TOOL, lambda frames: [*frames[:7], *_whole_again(frames), *frames[7:]], [7]),
    Case("anthropic/tool-input-invalid-json", TOOL, edit(4, "delta.partial_json", '["a"'), [6]),
    Case("anthropic/thinking-signature-missing", THINKING, drop(13), [13]),
    Case("anthropic/thinking-signature-repeated", THINKING, insert(14, copy_of(13)), [14]),
    Case("anthropic/thinking-after-signature", THINKING, swap(12, 13), [13]),
    Case("anthropic/message-delta-with-open-block", TEXT, swap(9, 10), [9]),
    Case("anthropic/message-delta-with-open-block", MAX_TOKENS, edit(14, "delta.stop_reason", "end_turn"), [14]),
    Case("anthropic/max-tokens-open-tool-block", TOOL, chain(drop(6), edit(6, "delta.stop_reason", "max_tokens")),
         [6]),
    Case("anthropic/message-delta-missing", TEXT, drop(10), [10]),
    Case("anthropic/stop-reason-missing", TEXT, edit(10, "delta.stop_reason", None), [11]),
    # a later `message_delta` that sets it back to null: the last one decides, as in the Python SDK's accumulator
    Case("anthropic/stop-reason-missing", TEXT, chain(insert(11, copy_of(10)), edit(11, "delta.stop_reason", None)),
         [12]),
    Case("anthropic/unknown-stop-reason", TEXT, edit(10, "delta.stop_reason", "timeout"), [10]),
    Case("anthropic/stop-reason-mismatch", TOOL, edit(7, "delta.stop_reason", "end_turn"), [7]),
    Case("anthropic/stop-reason-mismatch", TOOL, edit(7, "delta.stop_reason", "stop_sequence"), [7]),
    Case("anthropic/stop-reason-mismatch", TEXT, edit(10, "delta.stop_reason", "tool_use"), [10]),
    Case("anthropic/stop-sequence-unexpected", TEXT, edit(10, "delta.stop_sequence", "\n\nHuman:"), [10]),
    Case("anthropic/output-tokens-decreased", TEXT, edit(10, "usage.output_tokens", 0), [10]),
    # any-llm's gateway 1.14 over a Chat upstream that sent usage in a chunk of its own: zeros throughout
    Case("anthropic/output-tokens-zero", TEXT, chain(edit(0, "message.usage.output_tokens", 0),
                                                     edit(10, "usage.output_tokens", 0)), [10]),
    Case("anthropic/output-tokens-zero", TOOL, chain(edit(0, "message.usage.output_tokens", 0),
                                                     edit(7, "usage.output_tokens", 0)), [7]),
]
# fmt: on


@pytest.mark.parametrize("case", [pytest.param(case, id=f"{case.rule}-{n}") for n, case in enumerate(CASES)])
def test_rule_fires_on_the_broken_stream_only(case: Case) -> None:
    frames = load(case.stream)
    assert findings_of(case.rule, frames) == []
    broken = case.mutate(copy.deepcopy(frames))
    assert findings_of(case.rule, broken) == [(case.rule, index) for index in case.expected]


@pytest.mark.parametrize(("stream", "mutation"), [
    (TOOL, edit(7, "delta.stop_reason", "max_tokens")),  # a cut call
    (TOOL, edit(7, "delta.stop_reason", "pause_turn")),
    (SEARCH, lambda frames: frames),  # server tool blocks, then `end_turn`
    (MIXED, lambda frames: frames),  # text, a client tool call and a server one, then `tool_use`
    (SHORT, lambda frames: frames),  # the short form: `tool_use` in a complete `message_start`
    (TEXT, chain(edit(10, "delta.stop_reason", "tool_use"), insert(3, ("content_block_delta", "{not json")))),
], ids=["max-tokens", "pause-turn", "server-tools", "client-and-server-tools", "short-form", "unreadable-event"])
def test_stop_reason_mismatch_stays_silent_where_the_stop_reason_may_be_right(stream: str, mutation: Mutation) -> None:
    assert findings_of("anthropic/stop-reason-mismatch", mutation(load(stream))) == []


@pytest.mark.parametrize("start_input", ['{"elements": []}', None], ids=["a-string", "absent"])
def test_a_tool_start_without_an_input_object_and_no_delta_is_said_once_by_the_schema(start_input) -> None:
    """Found on anyclaude (Gemini's code execution as a `tool_use` whose start holds `input` as a string, no delta):
    the arguments rule said the input was ``, empty, where the Python SDK keeps the start's string as the input."""
    def broken_start(frames: list[Frame]) -> list[Frame]:
        block = frames[1][1]["content_block"]
        if start_input is None:
            del block["input"]
        else:
            block["input"] = start_input
        return [frame for i, frame in enumerate(frames) if i not in (2, 4, 5)]  # no delta

    frames = broken_start(load(TOOL))
    found = [(f.rule, f.index) for f in check_bytes(serialise(frames), protocol="anthropic-messages").findings]
    assert found == [("anthropic/schema", 1)]


def test_deltas_after_a_start_without_an_input_object_are_still_judged() -> None:
    """The Python SDK replaces the start's input with what the deltas build: their broken JSON is the tool's input."""
    frames = edit(4, "delta.partial_json", '["a"')(edit(1, "content_block.input", "x")(load(TOOL)))
    assert findings_of("anthropic/tool-input-invalid-json", frames) == [("anthropic/tool-input-invalid-json", 6)]


def test_stop_reason_mismatch_names_the_tool_calls_and_what_a_client_does() -> None:
    [finding] = [f for f in check_bytes(serialise(edit(7, "delta.stop_reason", "end_turn")(load(TOOL))),
                                        protocol="anthropic-messages").findings
                 if f.rule == "anthropic/stop-reason-mismatch"]
    assert finding.message.startswith("1 `tool_use` block(s) streamed, but `stop_reason` is `end_turn`: ")


def test_every_rule_has_a_case() -> None:
    registered = {rule_id for rule_id in RULES if rule_id.startswith("anthropic/")}
    assert {case.rule for case in CASES} | {"anthropic/usage-over-limit"} == registered  # tests/test_token_limit.py


def test_lenient_switches_are_warnings() -> None:
    """The documented vendor anomalies are reported, but never fail a stream."""
    for rule_id in ("anthropic/message-start-short-form", "anthropic/max-tokens-open-tool-block"):
        assert RULES[rule_id].severity == Severity.WARNING


NOT_FIRST_AT_STOP, NO_DELTA_AT_STOP = ("anthropic/message-start-not-first", 1), ("anthropic/message-delta-missing", 1)


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        pytest.param([1, 2], [("anthropic/schema", 0), NOT_FIRST_AT_STOP, NO_DELTA_AT_STOP], id="array"),
        pytest.param({"type": 5}, [("anthropic/unknown-event", 0), NOT_FIRST_AT_STOP, NO_DELTA_AT_STOP],
                     id="type-not-string"),  # named `event: 5`, which the Python SDK skips for its name
        pytest.param({"type": "content_block_delta", "index": 0, "delta": "text"},
                     [("anthropic/message-start-not-first", 0), ("anthropic/schema", 0),
                      ("anthropic/block-not-open", 0), NO_DELTA_AT_STOP], id="delta-not-object"),
        # a broken start is of unknown content: it may have been the complete short form, so no delta is owed
        pytest.param({"type": "message_start", "message": None}, [("anthropic/schema", 0)], id="message-null"),
    ],
)
def test_garbage_payloads_are_findings_not_exceptions(payload: Any, expected: list) -> None:
    """Each payload is followed by a well-formed `message_stop`, so the stream is not also cut."""
    frame = (payload.get("type") if isinstance(payload, dict) else None, payload)
    check = check_bytes(serialise([frame, event({"type": "message_stop"})]), protocol="anthropic-messages")
    assert [(f.rule, f.index) for f in check.findings] == expected


SCHEMA_TAIL = ("; a client reading these fields gets a wrong type, a value the types do not list, or nothing (each "
               "field is reported once per event type)")
RAISES_TAIL = ("; the anthropic Python SDK's `messages.stream()` helper raises `TypeError` at this event, which ends "
               "the app's stream (each field is reported once per event type)")


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        pytest.param(edit(3, "delta.text", 5), "`content_block_delta` does not fit its schema: `delta.text`: expected "
                     "a string, got integer `5`" + RAISES_TAIL, id="wrong-type"),
        pytest.param(edit(3, "delta", {"type": "text_delta"}), "`content_block_delta` does not fit its schema: "
                     "`delta.text` is required but missing" + RAISES_TAIL, id="missing"),
        pytest.param(edit(0, "message.role", "user"), "`message_start` does not fit its schema: `message.role`: "
                     'expected \'assistant\', got string `"user"`', id="literal"),
        pytest.param(edit(10, "usage.input_tokens", -3), "`message_delta` does not fit its schema: "
                     "`usage.input_tokens`: expected a number >= 0, got integer `-3`", id="negative"),
        pytest.param(edit(1, "content_block.text", None), "`content_block_start` does not fit its schema: "
                     "`content_block.text`: expected a string, got null", id="null-in-block"),
    ],
)
def test_schema_message_names_the_field_and_what_was_expected(mutate: Mutation, message: str) -> None:
    check = check_bytes(serialise(mutate(load(TEXT))))
    tail = "" if message.endswith(RAISES_TAIL) else SCHEMA_TAIL
    assert [(f.rule, f.message) for f in check.findings] == [("anthropic/schema", message + tail)]


def test_unknown_fields_are_tolerated() -> None:
    frames = load(TEXT)
    for _, data in frames:
        data["private_field"] = {"nested": [1]}
    check = check_bytes(serialise(frames))
    assert check.findings == []


def test_a_repeated_culprit_is_reported_once() -> None:
    """An endpoint that drops every `event:` line gets one finding per kind of frame, not one per frame."""
    frames = [(None, data) for _, data in load(TEXT)]
    check = check_bytes(serialise(frames), protocol="anthropic-messages")
    assert [(f.rule, f.index) for f in check.findings] == [
        ("anthropic/event-name-mismatch", index) for index in (0, 1, 2, 3, 9, 10, 11)
    ]


# --- the Assembly -----------------------------------------------------------------------------------------------


def payloads(name: str) -> list[dict]:
    return [data for _, data in load(name)]


def expected_tool_calls(events: list[dict]) -> list[tuple[str, str, str]]:
    """(id, name, arguments) of every tool block, with arguments the joined fragments, computed here."""
    calls: dict[int, list] = {}
    for data in events:
        if data["type"] == "content_block_start" and data["content_block"]["type"].endswith("tool_use"):
            block = data["content_block"]
            calls[data["index"]] = [block["id"], block["name"], ""]
        elif data["type"] == "content_block_delta" and data["delta"]["type"] == "input_json_delta":
            calls[data["index"]][2] += data["delta"]["partial_json"]
    return [tuple(call) for call in calls.values()]


def joined(events: list[dict], delta_type: str, field: str) -> str:
    return "".join(d["delta"][field] for d in events if d["type"] == "content_block_delta"
                   and d["delta"]["type"] == delta_type)


@pytest.mark.parametrize("name", [TEXT, TOOL, MIXED, THINKING, SEARCH, MAX_TOKENS])
def test_assembly_matches_the_stream(name: str) -> None:
    events = payloads(name)
    start = events[0]["message"]
    deltas = [d for d in events if d["type"] == "message_delta"]
    check = check_bytes(serialise(load(name)))
    assembly = check.assembly
    assert (assembly.protocol, assembly.model, assembly.response_id) == (
        "anthropic-messages", start["model"], start["id"])
    assert assembly.status == deltas[-1]["delta"]["stop_reason"]
    assert assembly.usage == {**start["usage"], **deltas[-1]["usage"]}
    assert assembly.text == joined(events, "text_delta", "text")
    assert assembly.reasoning == joined(events, "thinking_delta", "thinking")
    assert [(c.id, c.name, c.arguments) for c in assembly.tool_calls] == expected_tool_calls(events)
    assert assembly.error is None
    first_content = next(i for i, d in enumerate(events) if d["type"] == "content_block_delta"
                         or d.get("content_block", {}).get("type", "").endswith("tool_use"))
    assert assembly.first_content_index == first_content


def test_assembly_of_a_tool_block_without_fragments_uses_the_start_input() -> None:
    check = check_bytes((CORPUS / SHORT).read_bytes())
    block = payloads(SHORT)[0]["message"]["content"][0]
    assert [(c.id, c.name, c.arguments, c.kind) for c in check.assembly.tool_calls] == [
        (block["id"], block["name"], json.dumps(block["input"], separators=(",", ":")), "tool_use")
    ]
    assert (check.assembly.status, check.assembly.first_content_index) == ("tool_use", 0)


def test_assembly_keeps_the_error_message() -> None:
    frames = chain(drop(6, 7, 8, 9, 10, 11), append(ERROR_EVENT))(load(TEXT))
    check = check_bytes(serialise(frames))
    assert (check.assembly.error, check.assembly.status, check.assembly.text) == (
        "Overloaded", None, joined(payloads(TEXT)[:6], "text_delta", "text"))


def messages_of(rule_id: str, frames: list[Frame]) -> list[str]:
    check = check_bytes(serialise(frames), protocol="anthropic-messages")
    return [finding.message for finding in check.findings if finding.rule == rule_id]


@pytest.mark.parametrize("mutation", [
    chain(edit(0, "message.usage.output_tokens", 0), drop(10, 11)),  # cut before the final count: the cut says it
    chain(edit(0, "message.usage.output_tokens", 0), drop(1, 2, 3, 4, 5, 6, 7, 8, 9),
          edit(1, "usage.output_tokens", 0)),  # nothing streamed: 0 may be the count
    edit(0, "message.usage.output_tokens", 0),  # `message_start`'s 0, then the real count
], ids=["cut-before-the-count", "no-content", "start-only"])
def test_output_tokens_zero_stays_silent_where_zero_may_be_true_or_the_count_never_came(mutation: Mutation) -> None:
    assert findings_of("anthropic/output-tokens-zero", mutation(load(TEXT))) == []


def test_output_tokens_zero_says_what_the_sdk_reports() -> None:
    frames = chain(edit(0, "message.usage.output_tokens", 0), edit(10, "usage.output_tokens", 0))(load(TEXT))
    assert sdk_snapshot(frames).usage.output_tokens == 0
    [message] = messages_of("anthropic/output-tokens-zero", frames)
    assert message == ("the message streamed text but ends with `usage.output_tokens` 0: every streamed token is an "
                       "output token, so 0 is no count (lost on the way, or never made, as by a mock): the Python "
                       "SDK's final message reports 0, and a client that prices or budgets the call counts nothing")


def test_a_named_frame_the_sdk_skips_is_judged_by_its_name_not_as_an_unknowable_event() -> None:
    """any-llm's gateway 1.14 closes its Anthropic streams with `event: done` and `data: {}`: the Python SDK skips
    the name, so "no client can tell which event this is" (an error) overstated it."""
    done = ("done", {})
    before_stop = insert(11, done)(load(TEXT))
    assert [(f.rule, f.index) for f in _findings(before_stop)] == [("anthropic/unknown-event", 11)]
    after_stop = append(done)(load(TEXT))
    [message] = messages_of("anthropic/event-after-terminal", after_stop)
    assert message == ("`done` after `message_stop`, which must be the last event: the Python SDK reads on and skips "
                       "a frame of this name; the TypeScript SDK, which reads frames of every name, hands it to the "
                       "app (later events are not reported again)")
    assert [f.rule for f in _findings(append((None, {}))(load(TEXT)))] == ["anthropic/schema"]  # no name either


def _findings(frames: list[Frame]) -> list[Finding]:
    return check_bytes(serialise(frames), protocol="anthropic-messages").findings


def test_an_error_event_is_said_as_it_came_not_as_the_end_of_the_stream() -> None:
    """Found on claude-code-router: an error event without an `error` object, then the message went on. Nothing
    says the stream ended there (`event-after-terminal` says what came after), nor calls its type `None`."""
    odd = event({"type": "error", "message": {"type": "api_error", "message": "Tool call validation failed"}})
    frames = insert(10, odd)(load(TEXT))
    [message] = messages_of("anthropic/error-event", frames)
    assert message == ('an in-band `error` event without an `error` object: {"type": "error", "message": {"type": '
                       '"api_error", "message": "Tool call validation failed"}}; the Python SDK raises it as an API '
                       "error and reads no further")
    assert check_bytes(serialise(frames)).assembly.error == message.split(": ", 1)[1].split("; ")[0]
    assert messages_of("anthropic/event-after-terminal", frames)
    [message] = messages_of("anthropic/error-event", append(ERROR_EVENT)(drop(6, 7, 8, 9, 10, 11)(load(TEXT))))
    assert message == ("an in-band error `overloaded_error`: Overloaded; the Python SDK raises it as an API error and "
                       "reads no further")


def test_an_error_event_under_another_event_name_is_not_said_to_be_raised() -> None:
    """The Python SDK raises on the `event:` name: an error payload without `event: error` is skipped, not raised."""
    frames = append(("message", ERROR_EVENT[1]))(drop(6, 7, 8, 9, 10, 11)(load(TEXT)))
    assert messages_of("anthropic/error-event", frames) == ["an in-band error `overloaded_error`: Overloaded"]
    assert messages_of("anthropic/event-name-mismatch", frames)


@pytest.mark.parametrize(("mutation", "why"), [
    (edit(5, "index", -1), "was never started"),  # found on claude-code-router's Gemini translation
    (chain(edit(9, "index", 0), insert(10, event({"type": "content_block_start", "index": 2, "content_block": {
        "type": "text", "text": ""}})), insert(11, event({"type": "content_block_delta", "index": 1, "delta": {
            "type": "text_delta", "text": "x"}}))), "was never started"),  # 1 was skipped: below the next index
    (insert(10, copy_of(9)), "was already stopped"),
], ids=["negative", "skipped", "stopped"])
def test_block_not_open_says_whether_the_block_ever_started(mutation: Mutation, why: str) -> None:
    [message] = messages_of("anthropic/block-not-open", mutation(load(TEXT)))
    assert f", which {why}: " in message


def test_web_search_results_without_what_the_next_turn_needs_are_one_finding() -> None:
    """Found on claude-code-router's Gemini grounding: results without `encrypted_content`, which the SDK then types
    as a search error. The first is named, the rest counted, once per stream; an error object is not a list."""
    result = {"type": "web_search_result", "url": "u", "title": "t"}
    frames = edit(8, "content_block.content", [result, result, {"type": "web_search_result_v2"}])(load(SEARCH))
    frames = insert(10, copy_of(8))(frames)
    [message] = messages_of("anthropic/schema", frames)
    assert message.startswith("a `web_search_result` does not fit its schema: `content_block.content[0]."
                              "encrypted_content` is required but missing (1 more result(s) of this block too); ")
    error = {"type": "web_search_tool_result_error", "error_code": "max_uses_exceeded"}
    assert messages_of("anthropic/schema", edit(8, "content_block.content", error)(load(SEARCH))) == []


def test_an_error_before_message_start_is_a_legal_ending() -> None:
    """The API may fail before the message starts: the Python SDK raises the error, nothing is out of order."""
    check = check_bytes(serialise([PING, ERROR_EVENT]))
    assert [(f.rule, f.severity, f.index) for f in check.findings] == [
        ("anthropic/ping-before-message-start", Severity.WARNING, 0),
        ("anthropic/error-event", Severity.WARNING, 1),
    ]


def test_fragments_keep_the_text_and_group_the_parts() -> None:
    """A long block costs one list entry per 256 deltas, not one per delta, and the text is unchanged."""
    fragments = Fragments(["start|"])
    pieces = [f"{n}," for n in range(1000)]
    for piece in pieces:
        fragments.append(piece)
    assert "".join(fragments.parts) == "start|" + "".join(pieces)
    assert [len(part.split(",")) - 1 for part in fragments.parts] == [0, 256, 256, 256, *[1] * 232]


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 3) | st.sampled_from(["", "0", "text_delta", "tool_use"]),
    lambda inner: st.lists(inner, max_size=2) | st.dictionaries(st.sampled_from(["type", "index", "text"]), inner,
                                                                max_size=2),
    max_leaves=4,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_any_field_set_to_any_json_value_gives_findings_never_an_exception(data: st.DataObject) -> None:
    frames = load(data.draw(st.sampled_from([TEXT, TOOL, THINKING, SHORT]), label="stream"))
    position = data.draw(st.integers(0, len(frames) - 1), label="event")
    target = frames[position][1]
    while isinstance(target, dict) and target and data.draw(st.booleans(), label="deeper"):
        key = data.draw(st.sampled_from(sorted(target)), label="key")
        if not isinstance(target[key], dict):
            break
        target = target[key]
    target[data.draw(st.sampled_from(sorted(target) or ["type"]), label="field")] = data.draw(JSON_VALUES)
    check = check_bytes(serialise(frames), protocol="anthropic-messages")
    assert all(f.rule in RULES and (f.index is None or 0 <= f.index < len(frames)) for f in check.findings)


def test_thousands_of_blocks_left_open_give_findings_of_bounded_length():
    """A hostile stream that starts block after block and stops none: each overlap names the first open blocks and
    counts the rest: a message listing them all grew with the count, so building them took time and memory growing
    with its square, as did scanning every open block at each start."""
    count = 3000
    start = {"type": "message_start", "message": {"id": "msg_1", "type": "message", "role": "assistant",
                                                  "model": "m", "content": [], "stop_reason": None,
                                                  "stop_sequence": None, "usage": {"input_tokens": 1,
                                                                                   "output_tokens": 1}}}
    body = "".join(
        f"event: {frame['type']}\ndata: {json.dumps(frame)}\n\n"
        for frame in [start, *({"type": "content_block_start", "index": number,
                                "content_block": {"type": "text", "text": ""}} for number in range(count)),
                      {"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                       "usage": {"output_tokens": 2}},
                      {"type": "message_stop"}]
    ).encode()
    findings = check_bytes(body, protocol="anthropic-messages").findings
    overlaps = [finding for finding in findings if finding.rule == "anthropic/block-overlap"]
    assert overlaps[0].message.startswith("block 1 starts while block 0 is still open")
    assert overlaps[1].message.startswith("block 2 starts while blocks 0 and 1 are still open")  # claude-code-proxy
    assert overlaps[19].message.startswith("block 20 starts while blocks 0, 1, 2 and 17 more are still open")
    assert sum(finding.count for finding in overlaps) == count - 1
    assert max(len(finding.message) for finding in findings) < 320  # NOTE: bounded whatever the count
    cut = body[:body.index(b"event: message_delta")]  # the end names what a cut left open: a few, and a count
    [end] = [finding for finding in check_bytes(cut, protocol="anthropic-messages").findings
             if finding.rule == "anthropic/terminal-missing"]
    assert end.message.endswith("; `text` block 0, `text` block 1, `text` block 2 and 2997 more were open, and may be "
                                "cut short")


@pytest.mark.parametrize(("name", "says"), [
    ("message_delta", 'the Python SDK\'s `messages.stream()` helper raises "Unexpected event order" and the client '
                      "gets no message (a raw `create(stream=True)` reader gets the events)"),
    (None, "the client gets no message (the Python SDK skips this frame for its event name, and its "
           "`messages.stream()` helper raises \"Unexpected event order\" at the first event it reads before a "
           "`message_start`)")])
def test_a_stream_that_does_not_start_with_message_start_says_what_the_sdk_does_with_its_first_frame(
        name: str | None, says: str) -> None:
    """An OpenAI-style server's frames carry no event name: the SDK never reads them, so it cannot raise on them."""
    frame = (f"event: {name}\n" if name else "") + 'data: {"type":"message_delta","delta":{"stop_reason":null}}\n\n'
    check = StreamCheck("anthropic-messages")
    check.feed(frame.encode())
    [finding] = [f for f in check.close() if f.rule == "anthropic/message-start-not-first"]
    assert finding.message == f"expected `message_start` first, got `message_delta`: {says}"


def test_a_field_wrong_in_every_event_is_one_finding() -> None:
    """mockllm 0.0.8 sends every text piece as a `message_delta` without `delta.stop_reason` and with a null
    `usage`: one broken habit, said once, not once per event (up to the cap of 20)."""
    delta = 'data: {"type":"message_delta","delta":{"type":"content_block_delta","text":"x"},"usage":null}\n\n'
    check = check_bytes((delta * 61 + "data: [DONE]\n\n").encode(), "anthropic-messages")
    schema = [f for f in check.findings if f.rule == "anthropic/schema"]
    assert [f.index for f in schema] == [0]
    assert "`delta.stop_reason` is required but missing" in schema[0].message
    other = delta.replace('"usage":null', '"usage":{"output_tokens":"7"}')  # another field: another finding
    check = check_bytes((delta + other).encode(), "anthropic-messages")
    assert [f.index for f in check.findings if f.rule == "anthropic/schema"] == [0, 1]


def sdk_snapshot(frames: list[Frame]) -> Any:
    """The message the anthropic Python SDK's `messages.stream()` accumulates from these events."""
    from anthropic.lib.streaming._messages import accumulate_event

    snapshot = None
    for _, data in frames:
        if isinstance(data, dict) and data.get("type") not in ("ping", "error"):
            snapshot = accumulate_event(event=data, current_snapshot=snapshot)
    return snapshot


@pytest.mark.parametrize(("stream", "mutation"), [
    (TEXT, edit(5, "index", -1)),  # claude-code-router's Gemini translation: the Python SDK reads `content[-1]`
    (TEXT, swap(8, 9)),  # a delta after its block stopped: the Python SDK still appends it to `content[0]`
    (TOOL, swap(5, 6)),  # the last input fragment after the stop: the Python SDK's input takes it
], ids=["negative-index", "after-stop", "input-after-stop"])
def test_a_delta_for_no_open_block_is_assembled_where_the_sdk_puts_it(stream: str, mutation: Mutation) -> None:
    """The finding says the block is not open; the view still shows what the Python SDK's message holds, not less."""
    frames = mutation(load(stream))
    check = check_bytes(serialise(frames), protocol="anthropic-messages")
    assert any(f.rule == "anthropic/block-not-open" for f in check.findings)
    snapshot = sdk_snapshot(frames)
    assert check.assembly.text == "".join(block.text for block in snapshot.content if block.type == "text")
    assert [json.loads(call.arguments) for call in check.assembly.tool_calls] == [
        block.input for block in snapshot.content if block.type == "tool_use"]


@pytest.mark.parametrize("arguments", ['{"city": "Par', '{"a" 1}', '["a"]', '{"a": 1}}', '{"a": 1,}', '{"a": [1, 2'],
                         ids=["cut-string", "malformed", "array", "trailing-brace", "trailing-comma", "cut-array"])
def test_what_the_arguments_finding_says_of_the_sdk_is_what_its_helper_does(arguments: str) -> None:
    """The message said the SDK's partial parser "silently completes broken JSON, so the tool runs with a truncated
    input": its helper raises on malformed JSON, and drops a cut string rather than keep it cut."""
    frames = edit(5, "delta.partial_json", "")(edit(4, "delta.partial_json", arguments)(load(TOOL)))
    [finding] = [f for f in check_bytes(serialise(frames), protocol="anthropic-messages").findings
                 if f.rule == "anthropic/tool-input-invalid-json"]
    try:
        snapshot = sdk_snapshot(frames)
    except ValueError as error:
        assert str(error).startswith("Unable to parse tool parameter JSON from model")
        assert "helper raises `ValueError`" in finding.message
    else:
        [block] = snapshot.content
        assert f"helper makes the input `{json.dumps(block.input)}` and the tool runs with that" in finding.message


def _without(position: int, path: str) -> Mutation:
    """Remove the field at a dotted `path` of one event's data."""
    def run(frames: list[Frame]) -> list[Frame]:
        target = frames[position][1]
        *parents, last = path.split(".")
        for key in parents:
            target = target[key]
        del target[last]
        return frames

    return run


@pytest.mark.parametrize(("stream", "mutation"), [
    (TEXT, _without(3, "delta.text")),
    (TEXT, edit(3, "delta.text", 5)),
    (TOOL, _without(4, "delta.partial_json")),  # anyclaude's Gemini translation
    (THINKING, _without(3, "delta.thinking")),
    (THINKING, _without(13, "delta.signature")),  # the helper sets it to None: no raise
    (TEXT, edit(3, "delta", None)),
    (TEXT, edit(3, "index", None)),
    (TEXT, edit(3, "index", "0")),  # the Python SDK's model coerces it to 0
    (TEXT, _without(10, "usage")),
    (TEXT, edit(10, "usage", {})),  # `output_tokens` read as missing: no raise
    (TEXT, _without(10, "delta")),
    (TEXT, edit(1, "content_block", None)),
    # a text delta for a tool block: the helper skips it
    (TOOL, lambda frames: edit(5, "delta.partial_json", "")(edit(4, "delta.type", "text_delta")(frames))),
], ids=["text-missing", "text-number", "partial-json-missing", "thinking-missing", "signature-missing",
        "delta-null", "index-null", "index-string", "usage-missing", "usage-empty", "message-delta-without-delta",
        "block-null", "text-delta-for-a-tool"])
def test_a_schema_finding_says_the_sdk_helper_raises_exactly_where_it_does(stream: str, mutation: Mutation) -> None:
    """Found on anyclaude: `input_json_delta` without `partial_json` said "a client reading these fields gets a
    wrong type or nothing", where `messages.stream()` raises `TypeError` there and the app's stream ends."""
    frames = mutation(load(stream))
    try:
        sdk_snapshot(frames)
        raised = None
    except (TypeError, AttributeError, IndexError) as error:
        raised = type(error).__name__
    said = [f.message for f in check_bytes(serialise(frames), protocol="anthropic-messages").findings
            if f.rule == "anthropic/schema"]
    assert said, "the broken field is a schema finding"
    helper = [message.split("helper raises `")[1].split("`")[0] for message in said if "helper raises `" in message]
    assert helper == ([raised] if raised else [])


@pytest.mark.parametrize("usage", [DELETE_USAGE := "missing", None, "12"])
def test_a_message_start_without_usage_is_said_to_make_the_helper_raise_at_the_first_message_delta(usage) -> None:
    """Found on openai2claude 0.1.1: the helper writes each `message_delta`'s count to the first `message_start`'s
    `usage`; without one it raises `AttributeError` there, and the finding at `message_start` said only "a client
    reading these fields gets a wrong type"."""
    frames = load(TEXT)
    if usage == DELETE_USAGE:
        del frames[0][1]["message"]["usage"]
    else:
        frames[0][1]["message"]["usage"] = usage
    with pytest.raises(AttributeError):
        sdk_snapshot(frames)
    [said] = [f.message for f in check_bytes(serialise(frames), protocol="anthropic-messages").findings
              if f.rule == "anthropic/schema"]
    assert said.endswith("the anthropic Python SDK's `messages.stream()` helper writes each `message_delta`'s count to "
                         "this message's `usage`, so it raises `AttributeError` at the first `message_delta`, if one "
                         "comes, which ends the app's stream (each field is reported once per event type)")
    [after] = [f.message for f in check_bytes(serialise(append(("ping", {"type": "ping"}))(frames)),
                                              protocol="anthropic-messages").findings
               if f.rule == "anthropic/event-after-terminal"]
    assert after.endswith("the Python SDK reads on and skips it (the Python SDK's `messages.stream()` helper had "
                          "raised `AttributeError` already, at event 10) (later events are not reported again)")


def test_an_error_event_is_one_by_its_event_name_whatever_its_data_type() -> None:
    """Found probing llama.cpp's `llama-server`: `event: error` with `data.type` `server_error`. The SDK raises on
    the event name, so the stream ended with an error: not an unknown event that the SDK skips, nor a cut stream."""
    frames = append(("error", {"type": "server_error", "code": 500, "message": "bad output"}))(drop(9, 10, 11)(
        load(TEXT)))
    check = check_bytes(serialise(frames), protocol="anthropic-messages")
    assert [(f.rule, f.index) for f in check.findings] == [("anthropic/schema", 9), ("anthropic/error-event", 9)]
    assert check.findings[1].message == (
        'an in-band `error` event without an `error` object: {"type": "server_error", "code": 500, "message": "bad '
        'output"}; the Python SDK raises it as an API error and reads no further')


@pytest.mark.parametrize(("mutation", "said"), [
    (edit(5, "index", -1), "applies it to `content[-1]`, a `text` block"),  # claude-code-router: the last block
    (edit(5, "index", 3), "looks it up as `content[index]` and raises `IndexError`"),
], ids=["minus-one", "past-the-end"])
def test_block_not_open_says_which_block_the_sdk_helper_reaches(mutation: Mutation, said: str) -> None:
    """The message said "the SDK applies it to the wrong block or raises IndexError" of a `-1`, which the SDK reads
    as the last block: the text came out whole (the audit of every output against the real helper)."""
    frames = mutation(load(TEXT))
    [message] = [f.message for f in check_bytes(serialise(frames), protocol="anthropic-messages").findings
                 if f.rule == "anthropic/block-not-open"]
    assert said in message
    try:
        sdk_snapshot(frames)
        raised = False
    except IndexError:
        raised = True
    assert raised == ("IndexError" in said)


def _messages_stream(body: bytes) -> str:
    """What the anthropic SDK's `messages.stream()` does with this body: the exception it raises, from iterating or
    from `get_final_message()`, with its message."""
    import anthropic
    import httpx

    transport = httpx.MockTransport(lambda request: httpx.Response(
        200, content=body, headers={"content-type": "text/event-stream"}))
    client = anthropic.Anthropic(api_key="k", http_client=httpx.Client(transport=transport))
    try:
        with client.messages.stream(model="m", max_tokens=8, messages=[{"role": "user", "content": "hi"}]) as stream:
            stream.get_final_message()
    except (AssertionError, RuntimeError) as error:
        return f"{type(error).__name__}: {error}"
    return "no error"


@pytest.mark.parametrize(("body", "raised"), [
    (b'data: {"id":"c","object":"chat.completion.chunk","choices":[]}\n\ndata: [DONE]\n\n', "AssertionError: "),
    (b'event: content_block_delta\ndata: {"index":0}\n\n', "RuntimeError: Unexpected event order"),
], ids=["unnamed-frames", "named-frame-without-type"])
def test_a_stream_without_message_start_says_what_the_sdk_does_with_its_frames(body: bytes, raised: str) -> None:
    """Found on g4f 8.8.6, whose `/v1/messages` streams Chat Completions chunks: the Python SDK dispatches on the event
    name, skips every unnamed frame, and its helper then has no message (`AssertionError`); "Unexpected event
    order" is raised only for a frame it reads."""
    assert _messages_stream(body).startswith(raised)
    [message] = [f.message for f in check_bytes(body, protocol="anthropic-messages").findings
                 if f.rule == "anthropic/message-start-not-first"]
    assert ("\"Unexpected event order\"" in message) == raised.startswith("RuntimeError")
    assert ("`get_final_message()` raises `AssertionError`" in message) == raised.startswith("AssertionError")


@pytest.mark.parametrize(("late", "said"), [
    (("content_block_delta", {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta",
                                                                                   "text": " late"}}),
     "the Python SDK reads on and hands it to the app, and its `messages.stream()` helper folds it into the message it "
     "had finished"),
    (PING, "the Python SDK reads on and skips it"),
], ids=["late-delta", "late-ping"])
def test_an_event_after_message_stop_is_said_to_be_read_on_as_the_sdk_does(late: Frame, said: str) -> None:
    """The finding said a client stops at `message_stop` and loses what follows: the Python SDK reads on, and its helper
    puts a late text delta into the finished message (tried)."""
    frames = append(late)(load(TEXT))
    body = serialise(frames)
    import anthropic
    import httpx

    transport = httpx.MockTransport(lambda request: httpx.Response(
        200, content=body, headers={"content-type": "text/event-stream"}))
    client = anthropic.Anthropic(api_key="k", http_client=httpx.Client(transport=transport))
    with client.messages.stream(model="m", max_tokens=8, messages=[{"role": "user", "content": "hi"}]) as stream:
        text = stream.get_final_message().content[0].text
    assert text.endswith(" late") == (late is not PING)
    check = check_bytes(body, protocol="anthropic-messages")
    assert check.assembly.text == text  # the view shows the message the Python SDK ends with
    [message] = [f.message for f in check.findings if f.rule == "anthropic/event-after-terminal"]
    assert said in message
    error_first = serialise(append(late)(load(TEXT)[:-1] + [ERROR_EVENT]))
    [message] = [f.message for f in check_bytes(error_first, protocol="anthropic-messages").findings
                 if f.rule == "anthropic/event-after-terminal"]
    assert "the Python SDK raised at the `error`, so the client never sees this" in message


def test_an_error_in_an_unnamed_frame_is_said_to_be_skipped_by_the_sdk_which_tells_the_app_nothing() -> None:
    """ccproxy-api 0.2.10 relays an upstream failure as `data: {"error": {...}}` with no `event:` line, then ends:
    the Python SDK skips the frame and ends without an exception, with the text cut short; the finding said only that no
    client can tell which event it is, and `view` showed no error."""
    frames = load(TEXT)[:5] + [(None, {"error": {"type": "http_error", "message": "upstream failed"}})]
    body = serialise(frames)
    assert _messages_stream(body) == "no error"
    check = check_bytes(body, protocol="anthropic-messages")
    [message] = [f.message for f in check.findings if f.rule == "anthropic/schema"]
    assert message == ("an error (`upstream failed`) in a frame with no `type` and no `event: error` line: the Python "
                       "SDK skips the frame for its event name, so the app is never told of the error")
    assert check.assembly.error == "upstream failed"


@pytest.mark.parametrize(("first", "raised", "said"), [
    (1, "IndexError", "this block's deltas raise `IndexError` unless more blocks start first"),
    (-1, None, "this block's deltas reach it all the same"),
], ids=["gap", "negative"])
def test_a_block_out_of_order_says_where_the_sdk_puts_its_deltas(first: int, raised: str | None, said: str) -> None:
    """y-router numbers a tool-first answer's block from 1: the message said its deltas "go to the wrong block",
    where the Python SDK raises `IndexError` at the first one (tried on its eight tool-first outputs)."""
    frames = load(TOOL)
    for frame in frames[1:7]:  # the tool block's start, input deltas and stop
        frame[1]["index"] = first
    try:
        sdk_snapshot(frames)
        got = None
    except IndexError:
        got = "IndexError"
    assert got == raised
    [message] = [f.message for f in check_bytes(serialise(frames), protocol="anthropic-messages").findings
                 if f.rule == "anthropic/block-index-not-sequential"]
    assert message.endswith(said)


def test_a_tool_input_completed_after_its_stop_is_judged_as_the_sdk_ends_with_it() -> None:
    """copilot-api stops a tool block and then sends the rest of its input: the Python SDK's final message has the whole
    input, while the finding judged it at the stop and said the tool runs with a cut one. The late deltas are
    `block-not-open`'s to say; the input is judged as it ends."""
    frames = swap(5, 6)(load(TOOL))  # the last input fragment after the stop
    snapshot = sdk_snapshot(frames)
    final = next(block.input for block in snapshot.content if block.type == "tool_use")
    rules = [f.rule for f in check_bytes(serialise(frames), protocol="anthropic-messages").findings]
    assert json.dumps(final) and "anthropic/block-not-open" in rules
    assert "anthropic/tool-input-invalid-json" not in rules
    cut = edit(6, "delta.partial_json", ', "unit')(swap(5, 6)(load(TOOL)))  # what comes late leaves it cut
    [message] = [f.message for f in check_bytes(serialise(cut), protocol="anthropic-messages").findings
                 if f.rule == "anthropic/tool-input-invalid-json"]
    assert "ends (deltas came after its stop) with input" in message


@pytest.mark.parametrize(("name", "raised"), [("ping", "no error"), ("content_block_delta", "JSONDecodeError")])
def test_invalid_json_says_whether_the_sdk_reads_the_frame(name: str, raised: str) -> None:
    """llmock 0.2.2's `malformed` fault breaks a `ping`'s data: the SDK skips pings unread, so "an SDK raises on this
    event" was not so of it (tried); a frame it reads raises `JSONDecodeError`."""
    import json as json_module

    frames = load(TEXT)
    body = serialise(frames[:3]) + f"event: {name}\ndata: {{\"type\"\n\n".encode() + serialise(frames[3:])
    try:
        got = _messages_stream(body)
    except json_module.JSONDecodeError:
        got = "JSONDecodeError"
    assert got == raised
    [message] = [f.message for f in check_bytes(body, protocol="anthropic-messages").findings
                 if f.rule == "sse/invalid-json"]
    assert ("the Python SDK skips `ping` frames unread" in message) == (name == "ping")
    assert ("an SDK raises on this event" in message) == (name != "ping")


def _final_text(body: bytes) -> str:
    """The text of the message the anthropic Python SDK's `messages.stream()` helper ends with."""
    import anthropic
    import httpx

    transport = httpx.MockTransport(lambda request: httpx.Response(
        200, content=body, headers={"content-type": "text/event-stream"}))
    client = anthropic.Anthropic(api_key="k", http_client=httpx.Client(transport=transport))
    with client.messages.stream(model="m", max_tokens=8, messages=[{"role": "user", "content": "hi"}]) as stream:
        return "".join(block.text for block in stream.get_final_message().content if block.type == "text")


def test_frames_named_message_are_read_by_the_sdk_and_said_to_be_named_so() -> None:
    """`event: message` is the default name, given: the finding said "got no `event:` line" and that the SDK skips
    the frames, where anthropic 0.125 reads every `message` frame by its `data.type` (and the TypeScript SDK every
    named frame). A habit of naming that loses nothing is one warning; the unnamed frames are still an error."""
    frames = load(TEXT)
    named = serialise([("message", data) for _, data in frames])
    check = check_bytes(named, protocol="anthropic-messages")
    assert _final_text(named) == check.assembly.text == _final_text(serialise(frames))
    assert [(f.rule, f.index) for f in check.findings] == [("anthropic/event-name-differs", 0)]
    assert "got `event: message`: both anthropic SDKs read a frame of this name" in check.findings[0].message
    [message] = messages_of("anthropic/event-name-mismatch", [(None, data) if position == 3 else (name, data)
                                                               for position, (name, data) in enumerate(frames)])
    assert "got no `event:` line: both anthropic SDKs skip a frame without an event name" in message


def test_an_error_not_named_error_is_said_to_reach_the_app_as_nothing() -> None:
    """Read by its data (`event: message`) or skipped (no name), an error frame is raised only when named `error`:
    the Python SDK's helper ends with the text so far, and the app takes a failed answer for a finished one (tried)."""
    for name in ("message", None):
        body = serialise(load(TEXT)[:5] + [(name, ERROR_EVENT[1])])
        assert _final_text(body) == check_bytes(body, protocol="anthropic-messages").assembly.text
        [message] = [f.message for f in check_bytes(body, protocol="anthropic-messages").findings
                     if f.rule == "anthropic/event-name-mismatch"]
        assert "the anthropic SDKs raise only on a frame named `error`, so the app is never told" in message


def test_invalid_json_in_a_frame_named_message_is_said_to_raise() -> None:
    """The SDK reads a `message` frame's data, so JSON that does not parse raises there (it skips an unnamed one)."""
    frames = serialise(load(TEXT)[:5]) + b"event: message\ndata: {not json\n\n"
    [message] = [f.message for f in check_bytes(frames, protocol="anthropic-messages").findings
                 if f.rule == "sse/invalid-json"]
    assert "an SDK raises on this event" in message
    with pytest.raises(json.JSONDecodeError):
        _final_text(frames)


def _input_in_pieces(pieces: list[str]) -> list[Frame]:
    """TOOL with its input streamed as these fragments (the stop and the rest after them)."""
    frames = load(TOOL)
    deltas = [("content_block_delta", {"type": "content_block_delta", "index": 0,
                                       "delta": {"type": "input_json_delta", "partial_json": piece}})
              for piece in pieces]
    return frames[:4] + deltas + frames[6:]


def _helper_raises_at(frames: list[Frame]) -> int | None:
    """The event at which the anthropic Python SDK's stream helper (`accumulate_event`) raises `ValueError`."""
    raised = _helper_raise(frames)
    return raised[0] if raised is not None and raised[1] == "ValueError" else None


@pytest.mark.parametrize("hung_up", [True, False], ids=["client-left", "stopped"])
def test_a_tool_input_that_no_json_starts_with_is_said_where_the_sdk_helper_raises(hung_up: bool) -> None:
    """anthropic-proxy 1.3.0 keeps only the tail of each streamed argument fragment (`{ocation`): the SDK's helper
    raised at that delta and the client hung up, so the recording ended `client-disconnected` and nothing was said
    (the input was judged only at the block's stop, and only where the server ended the stream); where the stop
    came, the finding stood there. The fragments after the first go through the fast path."""
    pieces = ['{"elements"', ': [{"kind', '": "a"}, ', '{"kind": "b"}, ', '{X', '"kind": "c"}]}']
    frames = _input_in_pieces(pieces)
    raised = _helper_raises_at(frames)
    assert raised == 4 + pieces.index("{X")
    check = StreamCheck("anthropic-messages")
    check.feed(serialise(frames[:raised + 2] if hung_up else frames))
    found = [(f.rule, f.index) for f in check.close("client-disconnected" if hung_up else "complete")
             if f.rule.startswith("anthropic/")]
    assert found == [("anthropic/tool-input-invalid-json", raised)]


def test_a_tool_input_cut_short_by_a_client_that_left_is_not_said_to_be_invalid() -> None:
    """Every prefix of a valid input parses in the helper's partial mode: a block the client left in the middle of
    is the recording's end, said once by `sse/not-ended-by-server`."""
    frames = _input_in_pieces(['{"elements"', ': [{"kind', '": "a"}, ', '{"kind": "b"}', '{"kind": "c"}]}'])
    assert _helper_raises_at(frames) is None
    check = StreamCheck("anthropic-messages")
    check.feed(serialise(frames[:7]))
    assert [f.rule for f in check.close("client-disconnected")] == ["sse/not-ended-by-server"]


def test_a_second_broken_input_says_the_helper_had_raised_at_the_first() -> None:
    """copilot-api 0.7.0 splits one call's arguments over several blocks (`{"`, `city`, `":"`, `Ed`): the helper
    raises at the first fragment no JSON starts with and reads no further, so what later findings say of it must be
    that it had raised."""
    frames = load(TOOL)
    start, stop = frames[1], frames[6]

    def block(index: int, piece: str) -> list[Frame]:
        return [("content_block_start", {**start[1], "index": index}),
                ("content_block_delta", {"type": "content_block_delta", "index": index,
                                         "delta": {"type": "input_json_delta", "partial_json": piece}}),
                ("content_block_stop", {**stop[1], "index": index})]

    frames = frames[:1] + block(0, "city") + block(1, '":"') + block(2, "Ed") + frames[7:]
    assert _helper_raises_at(frames) == 2
    found = [(f.index, f.message) for f in check_bytes(serialise(frames), protocol="anthropic-messages").findings
             if f.rule == "anthropic/tool-input-invalid-json"]
    assert [index for index, _ in found] == [2, 6, 8]
    assert "helper raises `ValueError` (\"Unable to parse tool parameter JSON from model\") here" in found[0][1]
    assert found[0][1].endswith("agent frameworks that decode the input themselves raise too, run the tool with no "
                                "arguments (Microsoft Agent Framework) or set the call aside without running it "
                                "(LangChain: `invalid_tool_calls`)")
    assert all("helper had raised already, at event 2" in message for _, message in found[1:])


def test_a_stream_cut_inside_a_block_is_one_finding_that_names_the_block() -> None:
    """anthropic-proxy 1.3.0 crashed mid-answer: `terminal-missing` and a `block-unclosed` per open block came at the
    same event, one break said several times. The end's finding names the open blocks; `block-unclosed` stays for
    a `message_stop` that leaves one open."""
    found = [(f.rule, f.index, f.message) for f in check_bytes(serialise(drop(9, 10, 11)(load(TEXT))),
                                                                protocol="anthropic-messages").findings]
    assert [(rule, index) for rule, index, _ in found] == [("anthropic/terminal-missing", 8)]
    assert found[0][2].endswith("; `text` block 0 was open, and may be cut short")
    assert ("anthropic/block-unclosed", 9) in [(rule, index) for rule, index, _ in findings_of_all(
        drop(9, 10)(load(TEXT)))]


def findings_of_all(frames: list[Frame]) -> list[tuple[str, int | None, str]]:
    check = check_bytes(serialise(frames), protocol="anthropic-messages")
    return [(finding.rule, finding.index, finding.message) for finding in check.findings]


def test_a_block_index_reused_while_open_is_said_once_and_where_its_deltas_land() -> None:
    """anthropic-proxy 1.3.0 numbers tool blocks by the OpenAI tool index, so a tool block starts at index 0 while
    the text block 0 is still open: `block-overlap` said "the first one's remaining deltas and stop go astray" at the
    same event as `block-index-not-sequential`, where the SDK in fact keeps the text whole and sends the new block's
    deltas to `content[0]` (tried), as the index finding says."""
    frames = drop(13)(load(MIXED))
    for position in range(13, 20):  # the tool block, now at events 13-19
        frames[position][1]["index"] = 0
    snapshot = sdk_snapshot(frames[:20])
    assert snapshot.content[0].type == "text" and snapshot.content[1].input == {}
    found = [(f.rule, f.index, f.message) for f in check_bytes(serialise(frames), protocol="anthropic-messages")
             .findings if f.index == 13]
    assert [(rule, index) for rule, index, _ in found] == [("anthropic/block-index-not-sequential", 13)]
    assert found[0][2].endswith("so this block's deltas go to `content[0]`, a `text` block")


def _helper_raise(frames: list[Frame]) -> tuple[int, str] | None:
    """(event, exception) where the anthropic Python SDK's stream helper (`accumulate_event`) raises, if it does."""
    from anthropic.lib.streaming._messages import accumulate_event

    snapshot = None
    for position, (_, data) in enumerate(frames):
        if data.get("type") in ("ping", "error"):
            continue
        try:
            snapshot = accumulate_event(event=data, current_snapshot=snapshot)
        except Exception as error:  # noqa: BLE001  (which one it is, is the point)
            return position, type(error).__name__
    return None


def _text_delta(index: int, text: str) -> Frame:
    return event({"type": "content_block_delta", "index": index, "delta": {"type": "text_delta", "text": text}})


@pytest.mark.parametrize(("frames", "raised", "said"), [
    # AIClient-2-API over an OpenAI upstream: deltas for block 0, no `message_start`, no `content_block_start`
    ([_text_delta(0, "I'm"), _text_delta(0, " here"), event({"type": "content_block_stop", "index": 0}),
      *load(TEXT)[10:]], (0, "RuntimeError"), (0, "at this event")),
    (edit(5, "index", 3)(edit(3, "delta", None)(load(TEXT))), (3, "AttributeError"), (5, "at event 3")),
], ids=["no-message-start", "after-a-schema-raise"])
def test_a_finding_after_the_sdk_helper_raised_says_it_had_raised(frames: list[Frame], raised: tuple[int, str],
                                                                    said: tuple[int, str]) -> None:
    """AIClient-2-API's stream starts with a delta: `message-start-not-first` said the helper raises "Unexpected
    event order" at event 0 and `block-not-open`, at the same event, that it "raises `IndexError`", which it never
    gets to. What comes after the helper raised says that it had."""
    assert _helper_raise(frames) == raised
    if raised[1] == "RuntimeError":
        assert _messages_stream(serialise(frames)).startswith(
            'RuntimeError: Unexpected event order, got content_block_delta before "message_start"')
    [(index, message)] = [(index, message) for rule, index, message in findings_of_all(frames)
                          if rule == "anthropic/block-not-open"]
    assert index == said[0] and "IndexError" not in message
    assert f"the Python SDK's `messages.stream()` helper had raised `{raised[1]}` already, {said[1]} (" in message


def test_no_finding_after_the_sdk_helper_raised_says_what_it_does_next() -> None:
    """The thinking stream without its `message_start`, with a text delta and a second signature in the thinking
    block, the text block started as 2 and a late delta: each finding said what the helper does with its event
    (drops it, keeps the last signature, raises `IndexError`, folds it in), where it had raised at event 0."""
    frames = drop(0)(load(THINKING))  # 0 thinking 0, 12 signature, 13 stop, 14 text 1, 15-17 deltas
    frames = append(_text_delta(1, " late"))(edit(16, "index", 2)(
        insert(13, _text_delta(0, "x"))(insert(13, copy_of(12))(frames))))
    assert _helper_raise(frames) == (0, "RuntimeError")
    found = findings_of_all(frames)
    later = {rule: message for rule, index, message in found if index and index > 1}
    assert set(later) == {"anthropic/delta-type-mismatch", "anthropic/thinking-signature-repeated",
                          "anthropic/block-index-not-sequential", "anthropic/block-not-open",
                          "anthropic/message-delta-with-open-block", "anthropic/event-after-terminal"}
    for rule, message in later.items():
        raised = "the Python SDK's `messages.stream()` helper had raised `RuntimeError` already, at event 0"
        assert (raised in message) == (rule != "anthropic/message-delta-with-open-block"), rule
        assert not any(claim in message for claim in ("IndexError", "drops it", "keeps only the last", "folds it"))
    tool = drop(0)(edit(4, "delta.partial_json", "{X")(load(TOOL)))  # 0 tool_use 0, 3 the broken input, 5 stop
    tool = tool[:6] + _whole_again([None, *tool]) + tool[6:]  # block 1 at 6, with block 0's id
    assert _helper_raise(tool) == (0, "RuntimeError")
    later = {rule: message for rule, index, message in findings_of_all(tool) if index}
    assert "helper had raised already, at event 0" in later["anthropic/tool-input-invalid-json"]
    assert "helper had raised `RuntimeError` already, at event 0" in later["anthropic/tool-id-repeated"]
    assert "the Python SDK's message holds" not in later["anthropic/tool-id-repeated"]


def test_a_finding_after_a_block_out_of_order_raised_in_the_helper_says_it_had_raised() -> None:
    """y-router numbers a tool-first answer's block from 1: the helper raises `IndexError` at its first delta, so
    it does not fold a late delta into a message it never finished."""
    frames = load(TOOL)
    for frame in frames[1:7]:
        frame[1]["index"] = 1
    frames = append(("content_block_delta", {"type": "content_block_delta", "index": 1,
                                             "delta": {"type": "input_json_delta", "partial_json": ""}}))(frames)
    assert _helper_raise(frames) == (2, "IndexError")
    [message] = [message for rule, _, message in findings_of_all(frames) if rule == "anthropic/event-after-terminal"]
    assert "the Python SDK's `messages.stream()` helper had raised `IndexError` already, at event 2" in message
    assert "folds it" not in message


def _final_message(body: bytes) -> Any:
    """The message the anthropic Python SDK's `messages.stream()` ends with for this body."""
    import anthropic
    import httpx

    transport = httpx.MockTransport(lambda request: httpx.Response(
        200, content=body, headers={"content-type": "text/event-stream"}))
    client = anthropic.Anthropic(api_key="k", http_client=httpx.Client(transport=transport))
    with client.messages.stream(model="m", max_tokens=8, messages=[{"role": "user", "content": "hi"}]) as stream:
        return stream.get_final_message()


def test_an_answer_started_over_is_one_finding_per_restart_that_says_where_the_sdk_puts_it() -> None:
    """A server that retries its upstream sends `message_start` and block 0 again on the same stream (three times):
    `message-start-repeated` and `block-index-not-sequential` ("expected block index 1, got 0") came for each
    restart, one break said twice. The Python SDK's helper ignores the new `message_start` (the first id stays), appends
    the new block after the old ones, and sends its deltas to the first message's block 0 (tried)."""
    start, text_start = load(TEXT)[0], load(TEXT)[1]
    retry = copy.deepcopy(start)
    retry[1]["message"]["id"] = "msg_retry"
    frames = [start, text_start, _text_delta(0, "Hel"), PING]
    for _ in range(3):
        frames += [retry, text_start, PING]
    frames += [_text_delta(0, "Hello"), event({"type": "content_block_stop", "index": 0}), *load(TEXT)[10:]]
    message = _final_message(serialise(frames))
    assert message.id == start[1]["message"]["id"]
    assert [block.text for block in message.content] == ["HelHello", "", "", ""]
    found = [(rule, index) for rule, index, _ in findings_of_all(frames)]
    assert found == [("anthropic/message-start-repeated", 4), ("anthropic/message-start-repeated", 7),
                     ("anthropic/message-start-repeated", 10)]
    said = [said for rule, _, said in findings_of_all(frames)]
    assert said[0].endswith("the Python SDK's `messages.stream()` helper ignores it, keeping the first message's id "
                            "and usage, and appends the new message's blocks after the 1 it has; it looks a delta up "
                            "by its index, numbered from 0 again, so block 0's deltas go to `content[0]`, the first "
                            "message's `text` block, and two answers merge")
    assert "after the 3 it has" in said[2]
    at_once = [start, retry, text_start, _text_delta(0, "Hel"), *frames[-3:]]  # a second start before any block
    message = _final_message(serialise(at_once))
    assert message.id == start[1]["message"]["id"] and [block.text for block in message.content] == ["Hel"]
    [(rule, said)] = [(rule, said) for rule, _, said in findings_of_all(at_once)]
    assert said.endswith("keeping the first message's id and usage; no block came before it, so the new blocks are "
                         "the message's own")


def test_output_tokens_that_decrease_are_said_to_be_wrong_in_one_of_the_two_and_the_sdk_keeps_the_later() -> None:
    """A bridge puts a placeholder `output_tokens: 1` in `message_start` and the true 0 in `message_delta`: the
    finding said the client's count "(and bill) is wrong", where the SDK's final message holds the true 0. The wire
    says only that one of the two is wrong; the Python SDK keeps the later (tried)."""
    frames = edit(10, "usage.output_tokens", 0)(edit(0, "message.usage.output_tokens", 1)(load(TEXT)))
    assert _final_message(serialise(frames)).usage.output_tokens == 0
    [(index, message)] = [(index, message) for rule, index, message in findings_of_all(frames)
                          if rule == "anthropic/output-tokens-decreased"]
    assert index == 10
    assert message == ("`usage.output_tokens` went from 1 (event 0) to 0, where the values are cumulative: one of "
                       "the two counts is wrong, and the Python SDK's `messages.stream()` helper overwrites its count "
                       "with each value, so it holds 0 now")


@pytest.mark.parametrize(("signatures", "said"), [
    ([""], "its `signature_delta` (event 13)"),
    (["sig", ""], "its last `signature_delta` (event 14)"),
    (["", "sig"], None),
    (["sig"], None),
], ids=["empty", "last-empty", "empty-then-signed", "signed"])
def test_a_thinking_block_whose_signature_is_empty_is_said_to_have_none(signatures: list[str],
                                                                       said: str | None) -> None:
    """A bridge over GPT-5 ends its thinking block with `"signature": ""`, which passed silently: the rule only
    looked for a `signature_delta`. The SDK's message keeps the last signature, which goes back in the next turn."""
    frames = load(THINKING)  # 13 signature, 14 stop
    signature = frames[13]
    frames[13:14] = [(signature[0], {**signature[1], "delta": {"type": "signature_delta", "signature": value}})
                     for value in signatures]
    assert _final_message(serialise(frames)).content[0].signature == signatures[-1]
    found = [(index, message) for rule, index, message in findings_of_all(frames)
             if rule == "anthropic/thinking-signature-missing"]
    if said is None:
        assert found == []
        return
    assert found == [(13 + len(signatures), f"thinking block 0 stops with an empty signature: {said} carries "
                                            "`\"signature\": \"\"`; Anthropic's API rejects this thinking when it is "
                                            "sent back in the next turn, as it does one without a signature")]


def test_a_finding_after_a_frame_the_sdk_could_not_decode_says_the_helper_had_raised() -> None:
    """The Python SDK decodes the data of every frame it reads: invalid JSON there raises `JSONDecodeError` and ends the
    app's stream, so a later finding does not say what the helper does with its event."""
    frames = load(TEXT)
    late = next(position for position, (name, _) in enumerate(frames) if name == "content_block_delta")
    frames[late] = ("content_block_delta", '{"type": "content_block_delta", "index": 0, "delta": ')
    frames = append(_text_delta(0, " late"))(frames)
    transport = httpx.MockTransport(lambda request: httpx.Response(
        200, content=serialise(frames), headers={"content-type": "text/event-stream"}))
    client = anthropic.Anthropic(api_key="k", http_client=httpx.Client(transport=transport))
    with pytest.raises(json.JSONDecodeError), client.messages.stream(
            model="m", max_tokens=8, messages=[{"role": "user", "content": "hi"}]) as stream:
        stream.get_final_message()
    [after] = [message for rule, _, message in findings_of_all(frames) if rule == "anthropic/event-after-terminal"]
    assert f"the Python SDK's `messages.stream()` helper had raised `JSONDecodeError` already, at event {late}" in after


def test_the_short_form_says_what_the_sdk_and_a_block_reading_client_get() -> None:
    """Found with LiteLLM 1.110, which raises on it ("Stream ended before a finish_reason was received"): the warning
    named no effect on clients. The Python SDK's helper takes the message whole from `message_start`."""
    frames = load(SHORT)
    snapshot = sdk_snapshot(frames)
    assert snapshot.stop_reason == "tool_use" and [block.type for block in snapshot.content] == ["tool_use"]
    [message] = messages_of("anthropic/message-start-short-form", frames)
    assert message.endswith("the Python SDK's helper takes the message whole, but a client that builds it from "
                            "blocks and `message_delta` gets an empty reply with no stop reason")
