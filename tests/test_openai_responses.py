"""The Responses checker on real corpus streams, each broken in exactly one way.

Every rule has one row in `CASES`: a corpus stream, a mutation of its parsed events, and the exact
`(rule, index)` pairs the broken stream must produce; the unbroken stream must be silent for that rule.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from inspector.findings import RULES, Severity
from inspector.protocols.openai_responses import checker as openai_responses
from inspector.protocols.openai_responses.models import EVENT_MODELS
from inspector.protocols.openai_responses.state import excerpt, excerpts
from inspector.sse import SSEParser
from inspector.validate import StreamCheck, check_bytes

CORPUS = Path(__file__).parent / "fixtures" / "corpus" / "openai-responses"
MINIMAL = "vercel-ai__text-minimal.sse"  # created, in_progress, item, part, 1 delta, text done, part, item, completed
LEGACY = "pydantic-ai__legacy-no-seq-text.sse"  # no sequence_number at all

Frame = list[Any]  # [event name or None, payload dict, or the raw string "[DONE]"]


def load(name: str) -> list[Frame]:
    parser = SSEParser()
    events = parser.feed((CORPUS / name).read_bytes())
    parser.close()
    return [[event.type, json.loads(event.data)] for event in events]


def dump(frames: list[Frame], renumber: bool = True) -> bytes:
    """Re-serialise to SSE; `renumber` rewrites `sequence_number` 0, 1, 2, ... where the stream had them."""
    out = []
    for number, (name, payload) in enumerate(frames):
        if isinstance(payload, dict) and renumber and "sequence_number" in payload:
            payload = {**payload, "sequence_number": number}
        data = payload if isinstance(payload, str) else json.dumps(payload)
        out.append((f"event: {name}\n" if name and name != "message" else "") + f"data: {data}\n\n")
    return "".join(out).encode()


def pairs(data: bytes, rule_id: str) -> list[tuple[str, int | None]]:
    return [(f.rule, f.index) for f in check_bytes(data).findings if f.rule == rule_id]


# ---- mutations: each takes the parsed frames and returns the broken ones ------------------------------------


def drop(*indices: int) -> Callable[[list[Frame]], list[Frame]]:
    return lambda frames: [frame for number, frame in enumerate(frames) if number not in indices]


def insert(at: int, frame: Callable[[list[Frame]], Frame]) -> Callable[[list[Frame]], list[Frame]]:
    return lambda frames: frames[:at] + [frame(frames)] + frames[at:]


def swap(a: int, b: int) -> Callable[[list[Frame]], list[Frame]]:
    def mutate(frames: list[Frame]) -> list[Frame]:
        frames[a], frames[b] = frames[b], frames[a]
        return frames

    return mutate


def set_field(indices: int | range | list[int], path: str, value: Any) -> Callable[[list[Frame]], list[Frame]]:
    """Set `payload[path]` (dotted, list indices as numbers; value None with `delete` removes it)."""

    def mutate(frames: list[Frame]) -> list[Frame]:
        for number in [indices] if isinstance(indices, int) else indices:
            target = frames[number][1]
            *parents, last = path.split(".")
            for key in parents:
                target = target[int(key)] if isinstance(target, list) else target[key]
            if value is DELETE:
                del target[last]
            else:
                target[last] = value
        return frames

    return mutate


def rename(index: int, name: str) -> Callable[[list[Frame]], list[Frame]]:
    def mutate(frames: list[Frame]) -> list[Frame]:
        frames[index][0] = name
        return frames

    return mutate


def shift_sequence(frames: list[Frame]) -> list[Frame]:
    for _, payload in frames:
        payload["sequence_number"] += 1
    return frames


def restore_mcp_done(frames: list[Frame]) -> list[Frame]:
    """The two `output_item.done` OpenAI left out, rebuilt from the terminal output (the repaired stream)."""
    output = frames[-1][1]["response"]["output"]
    done = [["response.output_item.done",
             {"type": "response.output_item.done", "sequence_number": 0, "output_index": i, "item": output[i]}]
            for i in (0, 1)]
    return frames[:11] + done + frames[11:]


DELETE = object()


def event(kind: str, **fields: Any) -> Callable[[list[Frame]], Frame]:
    return lambda frames: [kind, {"type": kind, "sequence_number": 0, **fields}]


def cut_arguments(frames: list[Frame]) -> list[Frame]:
    """The function call's arguments cut mid-JSON, consistently in the delta, the `.done`, the item and the output."""
    cut = '{"city": "x",'
    for change in (set_field(3, "delta", cut), set_field(9, "arguments", cut), set_field(10, "item.arguments", cut),
                   set_field(11, "response.output.0.arguments", cut), drop(*range(4, 9))):
        frames = change(frames)
    return frames


@dataclass(frozen=True)
class Case:
    rule: str
    stream: str
    mutate: Callable[[list[Frame]], list[Frame]]
    expected: list[int | None]
    renumber: bool = True
    repair: Callable[[list[Frame]], list[Frame]] | None = None
    """Where the corpus stream itself shows the anomaly: the repaired stream is the unbroken one."""


MSG = "msg_02ce8deeb6197db200698c5198ca0c81979bedbe6c98a8ab93"

CASES = [
    Case("responses/schema", MINIMAL, set_field(4, "delta", 5), [4]),
    Case("responses/unknown-event", MINIMAL, insert(4, event("response.output_text.sparkle")), [4]),
    Case("responses/event-name-mismatch", MINIMAL, rename(4, "response.output_text.done"), [4]),
    Case("responses/done-sentinel", MINIMAL, insert(8, lambda frames: [None, "[DONE]"]), [8]),
    Case("responses/done-after-terminal", MINIMAL, lambda frames: [*frames, [None, "[DONE]"], [None, "[DONE]"]], [9]),
    Case("responses/sequence-not-contiguous", MINIMAL, set_field(5, "sequence_number", 6), [5, 6], renumber=False),
    Case("responses/sequence-not-zero-based", MINIMAL, shift_sequence, [0], renumber=False),
    Case("responses/sequence-number-missing", MINIMAL, set_field(4, "sequence_number", DELETE), [4],
         renumber=False),
    Case("responses/sequence-number-absent", MINIMAL, set_field(range(9), "sequence_number", DELETE), [0],
         renumber=False),
    Case("responses/created-not-first", LEGACY, drop(0), [0]),
    Case("responses/stream-resumed", "pydantic-ai__background-queued.sse", drop(0), [0], renumber=False),
    Case("responses/start-order", LEGACY, drop(1), [1]),
    Case("responses/status-mismatch", MINIMAL, set_field(8, "response.status", "in_progress"), [8]),
    Case("responses/response-id-changed", MINIMAL, set_field(8, "response.id", "resp_other"), [8]),
    Case("responses/terminal-missing", MINIMAL, drop(8), [7]),
    Case("responses/event-after-terminal", MINIMAL, lambda frames: frames + [copy.deepcopy(frames[8])], [9]),
    Case("responses/terminal-field-missing", MINIMAL, set_field(8, "response.usage", None), [8]),
    Case("responses/terminal-field-unexpected", MINIMAL,
         set_field(8, "response.error", {"code": "server_error", "message": "x"}), [8]),
    Case("responses/tool-arguments-invalid-json", "vercel-ai__function-call.sse", cut_arguments, [5]),
    Case("responses/terminal-output-mismatch", MINIMAL, set_field(8, "response.output.0.content.0.text", "Hi"), [8]),
    Case("responses/sdk-field-missing", MINIMAL, set_field(8, "response.usage.output_tokens_details", DELETE), [8]),
    Case("responses/error-event", MINIMAL, insert(8, event("error", error={"message": "boom", "code": "x"})), [8]),
    Case("responses/event-after-error", "vercel-ai__error-then-failed.sse",
         insert(3, event("response.output_item.added", output_index=0,
                          item={"id": "msg_1", "type": "message", "role": "assistant", "content": []})), [3]),
    Case("responses/output-index-out-of-order", MINIMAL, set_field(range(2, 8), "output_index", 1), [2]),
    Case("responses/item-not-open", MINIMAL, set_field(4, "output_index", 3), [4]),
    Case("responses/item-id-mismatch", MINIMAL, set_field(4, "item_id", "msg_other"), [4]),
    Case("responses/item-done-missing", MINIMAL, drop(7), [7]),
    Case("responses/mcp-list-tools-done-missing", "pydantic-ai__mcp-list-tools-missing-item-done.sse",
         drop(11, 12), [118, 118], repair=restore_mcp_done),
    Case("responses/event-kind-mismatch", MINIMAL,
         insert(4, event("response.function_call_arguments.delta", output_index=0, item_id=MSG, delta="{")), [4]),
    Case("responses/content-index-out-of-order", MINIMAL, set_field(range(3, 7), "content_index", 1), [3]),
    Case("responses/part-not-open", MINIMAL, drop(3), [3, 4, 5]),
    Case("responses/part-done-missing", MINIMAL, drop(6), [6]),
    Case("responses/delta-after-done", MINIMAL, swap(4, 5), [5]),
    Case("responses/annotation-index-out-of-order", "pydantic-ai__web-search-annotations.sse",
         set_field(18, "annotation_index", 1), [18]),
    Case("responses/delta-mismatch", MINIMAL, set_field(4, "delta", "Hell"), [5]),
    Case("responses/done-event-missing", MINIMAL, drop(5), [5]),
    Case("responses/done-without-delta", "vercel-ai__function-call.sse", drop(*range(3, 9)), [3]),
    Case("responses/snapshot-mismatch", MINIMAL, set_field(6, "part.text", "Help"), [6]),
    Case("responses/summary-part-out-of-order", "vercel-ai__reasoning-summary-function-call.sse",
         set_field(range(3, 38), "summary_index", 1), [3]),
]


@pytest.mark.parametrize("case", [pytest.param(case, id=case.rule) for case in CASES])
def test_rule_fires_on_the_broken_stream_only(case: Case) -> None:
    frames = load(case.stream)
    if case.repair is not None:
        frames = case.repair(frames)
    assert pairs(dump(frames), case.rule) == []
    broken = case.mutate(copy.deepcopy(frames))
    assert pairs(dump(broken, case.renumber), case.rule) == [(case.rule, index) for index in case.expected]


def test_a_stream_without_sequence_numbers_is_one_warning() -> None:
    """The 2025-03 wire shape: no event is numbered; one warning for the stream, and it still passes."""
    findings = check_bytes((CORPUS / LEGACY).read_bytes()).findings
    assert [(f.rule, f.severity, f.index) for f in findings] == [
        ("responses/sequence-number-absent", Severity.WARNING, 0)]


def test_every_rule_has_a_case() -> None:
    registered = {rule_id for rule_id in RULES if rule_id.startswith("responses/")}
    assert registered == {case.rule for case in CASES} | {
        "responses/usage-over-limit",  # tests/test_token_limit.py
        "responses/tool-calls-unrequested",  # needs the request: below
    }


def test_every_modelled_event_has_a_handler() -> None:
    handled = set(openai_responses.HANDLERS) | set(openai_responses.ITEM_HANDLERS)
    assert set(EVENT_MODELS) - handled == set()


def test_flat_error_shape_is_accepted() -> None:
    """The schema's flat `{code, message, param}` shape is as valid as the wire's nested one."""
    frames = load("vercel-ai__error-then-failed.sse")
    frames[2][1] = {"type": "error", "sequence_number": 2, "code": "insufficient_quota", "message": "quota",
                    "param": None}
    check = check_bytes(dump(frames))
    assert [(f.rule, f.index) for f in check.findings] == [("responses/error-event", 2)]
    assert check.assembly.error == "quota"


def test_error_event_without_any_message_is_a_schema_finding() -> None:
    frames = load("vercel-ai__error-then-failed.sse")
    frames[2][1] = {"type": "error", "sequence_number": 2, "code": "x"}
    assert pairs(dump(frames), "responses/schema") == [("responses/schema", 2)]


def test_stream_cut_mid_message_is_one_finding_that_names_the_open_item() -> None:
    """codex-relay's and a mock's cut streams got `terminal-missing` and `item-done-missing` at the same event: one
    break said twice. The end's finding names the open items; `item-done-missing` stays for a terminal event that
    leaves one open."""
    frames = load(MINIMAL)[:5]
    [finding] = check_bytes(dump(frames)).findings
    item = frames[2][1]["item"]["id"]
    assert (finding.rule, finding.index) == ("responses/terminal-missing", 4)
    assert finding.message.endswith(f"; `message` item `{item}` (`output_index` 0) was open, and may be cut short")
    ended = load(MINIMAL)[:5] + load(MINIMAL)[-1:]
    assert ("responses/item-done-missing", 5) in [(f.rule, f.index) for f in check_bytes(dump(ended)).findings]


def test_resumed_stream_may_start_anywhere() -> None:
    """A `starting_after` resume starts at sequence N+1 with no `response.created` (docs/protocols.md §A.3 rule 1)."""
    frames = load("pydantic-ai__background-queued.sse")[1:]
    check = check_bytes(dump(frames, renumber=False))
    assert [(f.rule, f.severity, f.index) for f in check.findings] == [("responses/stream-resumed", "warning", 0)]
    assert check.findings[0].message.startswith(
        "the stream starts with `response.queued` at `sequence_number` 1, not `response.created` at 0: read as a "
        "resume (`GET /v1/responses/{id}?stream=true&starting_after=0`)")


def test_foreground_stream_without_created_is_not_a_resume() -> None:
    """Only background responses can be resumed: `response.in_progress` at 1 with `background: false` lost its start."""
    frames = drop(0)(load(MINIMAL))
    assert [(f.rule, f.index) for f in check_bytes(dump(frames, renumber=False)).findings] == [
        ("responses/created-not-first", 0)]


def test_corpus_messages_name_the_culprit() -> None:
    check = check_bytes((CORPUS / "vercel-ai__compat-github-copilot-id-rotation.sse").read_bytes())
    first = check.findings[0]
    assert (first.rule, first.index) == ("responses/response-id-changed", 1)
    assert first.message == (
        "`response.in_progress` has `response.id` `capture-id-2`, but the stream began as `capture-id-1`: "
        "`previous_response_id` and retrieval use this id, so the client may continue the wrong response")


# ---- the Assembly, computed independently from the raw payloads -------------------------------------------


def expected_assembly(name: str) -> dict[str, Any]:
    payloads = [payload for _, payload in load(name)]
    terminal = payloads[-1]["response"]
    arguments: dict[str, list[str]] = {}
    calls = []
    for payload in payloads:
        if payload["type"] == "response.output_item.added" and payload["item"]["type"] == "function_call":
            calls.append((payload["item"]["call_id"], payload["item"]["name"], payload["item"]["id"]))
        if payload["type"] == "response.function_call_arguments.delta":
            arguments.setdefault(payload["item_id"], []).append(payload["delta"])
    return {
        "text": "".join(p["delta"] for p in payloads if p["type"] == "response.output_text.delta"),
        "reasoning": "".join(p["delta"] for p in payloads if p["type"] in (
            "response.reasoning_summary_text.delta", "response.reasoning_text.delta")),
        "tool_calls": [(call_id, tool, "".join(arguments.get(item_id, []))) for call_id, tool, item_id in calls],
        "usage": terminal["usage"],
        "status": terminal["status"],
        "model": terminal["model"],
        "response_id": terminal["id"],
    }


@pytest.mark.parametrize("name", [
    "pydantic-ai__mcp-list-tools-missing-item-done.sse",
    "vercel-ai__reasoning-summary-function-call.sse",
    "vercel-ai__function-call.sse",
    "pydantic-ai__compat-deepseek-reasoning-text.sse",
    "vercel-ai__tool-search.sse",
])
def test_assembly_matches_the_streamed_content(name: str) -> None:
    assembly = check_bytes((CORPUS / name).read_bytes()).assembly
    got = {
        "text": assembly.text,
        "reasoning": assembly.reasoning,
        "tool_calls": [(call.id, call.name, call.arguments) for call in assembly.tool_calls],
        "usage": assembly.usage,
        "status": assembly.status,
        "model": assembly.model,
        "response_id": assembly.response_id,
    }
    assert got == expected_assembly(name)


def test_assembly_first_content_and_error() -> None:
    minimal = check_bytes((CORPUS / MINIMAL).read_bytes()).assembly
    assert (minimal.first_content_index, minimal.error, minimal.text) == (4, None, "Hello")
    failed = check_bytes((CORPUS / "vercel-ai__error-then-failed.sse").read_bytes()).assembly
    assert (failed.status, failed.usage, failed.first_content_index) == ("failed", None, None)
    assert failed.error is not None and failed.error.startswith("You exceeded your current quota")


def test_tool_call_arguments_without_deltas_come_from_done() -> None:
    """LM Studio sends `function_call_arguments.done` only: the arguments are what that event carried."""
    assembly = check_bytes((CORPUS / "vercel-ai__compat-lmstudio-args-done-without-delta.sse").read_bytes()).assembly
    assert [(c.kind, c.id, c.name, c.arguments) for c in assembly.tool_calls] == [
        ("function_call", "call_2025306790300011", "weather", '{"location":"San Francisco"}')]


def test_a_built_in_tool_the_api_ran_is_a_tool_call_with_what_it_did() -> None:
    """OpenAI's web search items were no tool call: `view` did not show the searches and `diff` missed a bridge that
    turned one into a `function_call` for the client. Its arguments are the item's `action` as `done` gave it."""
    name = "pydantic-ai__web-search-annotations.sse"
    done = [payload["item"] for _, payload in load(name) if payload["type"] == "response.output_item.done"
            and payload["item"]["type"] == "web_search_call"]
    calls = check_bytes((CORPUS / name).read_bytes()).assembly.tool_calls
    assert [(call.kind, call.id, call.name, json.loads(call.arguments), call.run_by_client) for call in calls] == [
        ("web_search_call", item["id"], "web_search", item["action"], False) for item in done]
    assert len(calls) == 2


def test_error_right_after_created_needs_no_in_progress() -> None:
    """An error may cut the start short: `response.created`, `error`, `response.failed` is a complete failure."""
    frames = drop(1)(load("vercel-ai__error-then-failed.sse"))
    assert [(f.rule, f.index) for f in check_bytes(dump(frames)).findings] == [("responses/error-event", 1)]


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-2, 3) | st.text(max_size=3),
    lambda inner: st.lists(inner, max_size=2) | st.dictionaries(st.text(max_size=3), inner, max_size=2),
    max_leaves=4,
)


@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_never_raises_on_mangled_corpus_streams(data: st.DataObject) -> None:
    """Wire data never raises: drop, duplicate or overwrite events and fields of real streams at random."""
    frames = load(data.draw(st.sampled_from(sorted(path.name for path in CORPUS.glob("*.sse")))))
    for _ in range(data.draw(st.integers(1, 4))):
        at = data.draw(st.integers(0, len(frames) - 1))
        action = data.draw(st.sampled_from(["drop", "duplicate", "field"]))
        if action == "drop" and len(frames) > 1:
            del frames[at]
        elif action == "duplicate":
            frames.insert(at, copy.deepcopy(frames[data.draw(st.integers(0, len(frames) - 1))]))
        elif action == "field":
            payload = frames[at][1]
            key = data.draw(st.sampled_from(sorted(payload)))
            inner = payload[key]
            if isinstance(inner, dict) and inner and data.draw(st.booleans()):
                inner[data.draw(st.sampled_from(sorted(inner)))] = data.draw(_JSON)
            else:
                payload[key] = data.draw(_JSON)
    check = check_bytes(dump(frames, renumber=data.draw(st.booleans())))
    for finding in check.findings:  # every finding is a registered rule, placed on a real event, explained
        assert finding.rule in RULES
        assert finding.index is None or 0 <= finding.index < check.events
        assert finding.message


def test_a_repeated_culprit_is_reported_once() -> None:
    """Copilot rotates ids on every event: each event type is reported once per item, not once per delta."""
    data = (CORPUS / "vercel-ai__compat-github-copilot-id-rotation.sse").read_bytes()
    assert pairs(data, "responses/item-id-mismatch") == [
        ("responses/item-id-mismatch", index) for index in (3, 4, 5, 6, 7, 9, 10, 65, 66, 67)]


def as_refusal(frames: list[Frame]) -> list[Frame]:
    """text-minimal turned into a refusal: the same events for a `refusal` part."""
    refusal = {"type": "refusal", "refusal": "Hello"}
    frames[3][1]["part"] = {"type": "refusal", "refusal": ""}
    for number, kind in ((4, "response.refusal.delta"), (5, "response.refusal.done")):
        frames[number][0] = frames[number][1]["type"] = kind
    frames[5][1]["refusal"] = frames[5][1].pop("text")
    frames[6][1]["part"] = refusal
    frames[7][1]["item"]["content"] = [refusal]
    frames[8][1]["response"]["output"][0]["content"] = [refusal]
    return frames


def with_shell_command(frames: list[Frame]) -> list[Frame]:
    """A shell command streamed inside the function-call item: added "" + deltas = done (protocols.md §A.3 rule 7)."""
    command = [
        event("response.shell_call_command.added", output_index=0, command_index=0, command=""),
        event("response.shell_call_command.delta", output_index=0, command_index=0, delta="ls "),
        event("response.shell_call_command.delta", output_index=0, command_index=0, delta="-a"),
        event("response.shell_call_command.done", output_index=0, command_index=0, command="ls -a"),
    ]
    return frames[:3] + [make(frames) for make in command] + frames[3:]


@pytest.mark.parametrize(("build", "broken_at"), [(as_refusal, 5), (with_shell_command, 6)])
def test_other_delta_families_join_to_their_done_value(build: Callable[[list[Frame]], list[Frame]],
                                                       broken_at: int) -> None:
    stream = MINIMAL if build is as_refusal else "vercel-ai__function-call.sse"
    frames = build(load(stream))
    assert [(f.rule, f.index) for f in check_bytes(dump(frames)).findings] == []
    frames[broken_at - 1][1]["delta"] = "??"
    assert pairs(dump(frames), "responses/delta-mismatch") == [("responses/delta-mismatch", broken_at)]


def test_refusal_goes_to_the_refusal_output() -> None:
    assembly = check_bytes(dump(as_refusal(load(MINIMAL)))).assembly
    assert (assembly.text, assembly.outputs[0].refusal, assembly.first_content_index) == ("", "Hello", 4)


@pytest.mark.parametrize(("stream", "mutate", "expected"), [
    pytest.param("pydantic-ai__web-search-annotations.sse", drop(18), [19], id="annotation-event-dropped"),
    pytest.param("vercel-ai__function-call.sse", set_field(10, "item.call_id", "call_other"), [10],
                 id="call-id-changed-at-done"),
    pytest.param("vercel-ai__function-call.sse", set_field(10, "item.arguments", "{}"), [10],
                 id="arguments-differ-at-done"),
    pytest.param("vercel-ai__reasoning-summary-function-call.sse", set_field(38, "item.summary.0.text", "x"), [38],
                 id="summary-differs-at-done"),
])
def test_other_snapshot_mismatches(stream: str, mutate: Callable[[list[Frame]], list[Frame]],
                                   expected: list[int]) -> None:
    broken = mutate(load(stream))
    assert pairs(dump(broken), "responses/snapshot-mismatch") == [
        ("responses/snapshot-mismatch", index) for index in expected]


def test_failure_mid_message_reports_only_the_error() -> None:
    """`error` then `response.failed` while a message is open: the failure explains the unfinished item."""
    frames = load(MINIMAL)
    failed = copy.deepcopy(frames[8])
    failed[0] = failed[1]["type"] = "response.failed"
    failed[1]["response"].update(status="failed", output=[], usage=None,
                                 error={"code": "server_error", "message": "The server had an error"})
    error = event("error", error={"type": "server_error", "code": "server_error", "message": "boom"})
    frames = frames[:5] + [error(frames), failed]
    check = check_bytes(dump(frames))
    assert [(f.rule, f.index) for f in check.findings] == [("responses/error-event", 5)]
    assert (check.assembly.status, check.assembly.error, check.assembly.text) == ("failed", "boom", "Hello")


def test_a_server_run_tool_may_change_its_call_id() -> None:
    """A real OpenAI `tool_search_call` is added and done with different `call_id`s; a `function_call` may not."""
    frames = set_field(2, "item.call_id", "call_at_added")(load("vercel-ai__tool-search.sse"))
    assert pairs(dump(frames), "responses/snapshot-mismatch") == []


def test_an_unknown_event_inside_the_start_sequence_is_only_unknown() -> None:
    frames = insert(1, event("response.rate_limits.updated"))(load(MINIMAL))
    assert [(f.rule, f.index) for f in check_bytes(dump(frames)).findings] == [("responses/unknown-event", 1)]


# ---- resumed streams (`starting_after`): they may start inside an item, part or value ------------------------

BACKGROUND = "pydantic-ai__background-queued.sse"  # a real background response: one message, 8 text deltas
# created 0, queued 1, in_progress 2, item added 3, part added 4, deltas 5-12, text done 13, part done 14,
# item done 15, completed 16 (list position = sequence_number)
RESUMED = [("responses/stream-resumed", 0)]


def as_background(frames: list[Frame]) -> list[Frame]:
    """Only background responses can be resumed: the lifecycle events of a foreground capture say so."""
    for _, payload in frames:
        if isinstance(payload.get("response"), dict):
            payload["response"]["background"] = True
    return frames


def resume(name: str, at: int, mutate: Callable[[list[Frame]], list[Frame]] | None = None) -> list[tuple[str, Any]]:
    """The (rule, index) findings of a stream resumed with `starting_after={at - 1}`: its events from `at` on,
    numbered from `at`; `mutate` breaks the whole stream first (list positions as in the corpus)."""
    frames = as_background(load(name))
    if mutate is not None:
        frames = mutate(frames)
    for number, (_, payload) in enumerate(frames):
        payload["sequence_number"] = number
    return [(f.rule, f.index) for f in check_bytes(dump(frames[at:], renumber=False)).findings]


@pytest.mark.parametrize(("stream", "at"), [
    pytest.param(BACKGROUND, 5, id="at-the-first-delta"),
    pytest.param(BACKGROUND, 8, id="mid-message"),
    pytest.param(BACKGROUND, 13, id="at-text-done"),
    pytest.param(BACKGROUND, 14, id="at-part-done"),
    pytest.param(BACKGROUND, 15, id="at-item-done"),
    pytest.param(BACKGROUND, 16, id="at-the-terminal-event"),
    pytest.param("vercel-ai__reasoning-summary-function-call.sse", 20, id="mid-reasoning-summary"),
    pytest.param("vercel-ai__reasoning-summary-function-call.sse", 39, id="between-items-at-added-1"),
    pytest.param("vercel-ai__reasoning-summary-function-call.sse", 45, id="mid-function-arguments"),
    pytest.param("pydantic-ai__web-search-annotations.sse", 9, id="mid-web-search"),
    pytest.param("pydantic-ai__web-search-annotations.sse", 16, id="mid-message-before-an-annotation"),
])
def test_a_resume_may_start_inside_an_item(stream: str, at: int) -> None:
    """docs/protocols.md §D Responses rule 2: a resumed stream "may start anywhere"; what was opened before its first
    event (items, parts, summary parts, output indexes) is taken as already open."""
    assert resume(stream, at) == RESUMED


def test_the_minimal_resume_mid_item_is_only_a_resume() -> None:
    """The review's reproduction: `output_text.delta` at sequence 5, then the text, part and item done, completed."""
    frames = load(BACKGROUND)[11:]
    for number, (_, payload) in enumerate(frames):
        payload["sequence_number"] = 5 + number
    check = check_bytes(dump(frames, renumber=False))
    assert [(f.rule, f.index) for f in check.findings] == RESUMED
    assert check.assembly.text == "4."  # what this stream streamed; the rest came before the resume


def test_every_cut_of_a_clean_stream_is_only_a_resume() -> None:
    """Every `starting_after` point of every clean, numbered corpus stream: nothing but the resume warning."""
    for path in sorted(CORPUS.glob("*.sse")):
        frames = load(path.name)
        if check_bytes(path.read_bytes()).findings or not all("sequence_number" in p for _, p in frames):
            continue
        for at in range(1, len(frames)):
            assert resume(path.name, at) == RESUMED, f"{path.name} resumed at {at}"


def test_a_resume_that_starts_at_a_start_event_opened_nothing_before() -> None:
    """Items open only after `response.in_progress`: a resume from `response.queued` adopts none. The message whose
    `output_item.added` was dropped is said not open at each of its events; its `output_item.done` brings it, and the
    final output, which lists it, is silent (the break was said where it came)."""
    assert resume(BACKGROUND, 1, drop(3)) == [*RESUMED, *[("responses/item-not-open", index) for index in (
        2, 3, 11, 12, 13)]]


@pytest.mark.parametrize(("stream", "at", "mutate", "expected"), [
    pytest.param(BACKGROUND, 4, set_field(6, "delta", " plus"), [("responses/delta-mismatch", 9)],
                 id="done-text-of-a-part-streamed-after-the-resume"),
    pytest.param(BACKGROUND, 8, set_field(10, "delta", "  "), [("responses/delta-mismatch", 5)],
                 id="done-text-not-ending-with-the-later-deltas"),
    pytest.param(BACKGROUND, 8, set_field(14, "part.text", "2 + 2 = 4."), [("responses/snapshot-mismatch", 6)],
                 id="part-snapshot-of-an-adopted-part"),
    pytest.param(BACKGROUND, 8, set_field(16, "response.output.0.content.0.text", "4"),
                 [("responses/terminal-output-mismatch", 8)], id="terminal-item-differs-from-the-streamed-one"),
    pytest.param(BACKGROUND, 8, set_field(16, "response.output", []),
                 [("responses/terminal-output-mismatch", 8)], id="terminal-lists-fewer-items-than-streamed"),
    pytest.param(BACKGROUND, 8, set_field(10, "item_id", "msg_other"), [("responses/item-id-mismatch", 2)],
                 id="item-id-changes-in-an-adopted-item"),
    pytest.param(BACKGROUND, 8, drop(15), [("responses/item-done-missing", 7)], id="adopted-item-never-done"),
    pytest.param(BACKGROUND, 8, set_field(15, "item.type", "other_item"),
                 [("responses/snapshot-mismatch", 7), ("responses/terminal-output-mismatch", 8)],
                 id="adopted-item-done-as-another-type"),
    pytest.param("pydantic-ai__web-search-annotations.sse", 7, set_field(range(12, 22), "output_index", 3),
                 [("responses/output-index-out-of-order", 5), ("responses/terminal-output-mismatch", 15)],
                 id="index-gap-after-the-first-added"),
    pytest.param("pydantic-ai__web-search-annotations.sse", 7, set_field(8, "output_index", 5),
                 [("responses/item-not-open", 1)], id="index-past-the-items-this-stream-opened"),
    pytest.param("pydantic-ai__web-search-annotations.sse", 16, set_field(20, "part.annotations", []),
                 [("responses/snapshot-mismatch", 4)], id="annotation-count-of-an-adopted-part"),
])
def test_a_resumed_stream_still_reports_faults_after_its_start(stream: str, at: int,
                                                               mutate: Callable[[list[Frame]], list[Frame]],
                                                               expected: list[tuple[str, int]]) -> None:
    assert resume(stream, at) == RESUMED
    assert resume(stream, at, mutate) == RESUMED + expected


def test_a_tool_call_adopted_mid_arguments_gets_them_whole() -> None:
    """Resumed inside a function call's arguments: the Assembly takes them from `.done` and the item, not from the
    deltas after the resume."""
    frames = as_background(load("vercel-ai__reasoning-summary-function-call.sse"))
    assembly = check_bytes(dump(frames[45:], renumber=False)).assembly
    assert [(c.kind, c.id, c.name, c.arguments) for c in assembly.tool_calls] == [
        ("function_call", "call_AB6AaRZ1FYZB2RwS6A5vbdqn", "calculator", '{"a":12,"b":7,"op":"add"}')]


def test_tool_arguments_cut_by_the_token_limit_are_not_judged() -> None:
    """A function call the limit cut says so (`status: incomplete`): its broken arguments are expected."""
    frames = set_field(5, "item.status", "incomplete")(cut_arguments(load("vercel-ai__function-call.sse")))
    assert pairs(dump(frames), "responses/tool-arguments-invalid-json") == []


def on_lifecycle(path: str, value: Any) -> Callable[[list[Frame]], list[Frame]]:
    """The same change on the three lifecycle events of MINIMAL (created 0, in_progress 1, completed 8)."""
    def mutate(frames: list[Frame]) -> list[Frame]:
        for number in (0, 1, 8):
            frames = set_field(number, path, value)(frames)
        return frames

    return mutate


@pytest.mark.parametrize(
    ("mutation", "expected"),
    [
        # the two cases: usage without its details; a response object without its tool settings
        (set_field(8, "response.usage", {"input_tokens": 5, "output_tokens": 2, "total_tokens": 7}),
         [(8, ["response.usage.input_tokens_details", "response.usage.output_tokens_details"])]),
        (on_lifecycle("response.tools", DELETE), [(0, ["response.tools"])]),
        (on_lifecycle("response.parallel_tool_calls", None), [(0, ["response.parallel_tool_calls"])]),
        # every item and part: the message's status, a content part's annotations, in the terminal output too
        (set_field(2, "item.status", DELETE), [(2, ["item.status"])]),
        (set_field(6, "part.annotations", DELETE), [(6, ["part.annotations"])]),
        (set_field(8, "response.output.0.content.0.annotations", DELETE),
         [(8, ["response.output[0].content[0].annotations"])]),
    ],
    ids=["usage-details", "tools", "parallel-tool-calls-null", "item-status", "part-annotations", "output-part"],
)
def test_fields_the_sdk_requires(mutation: Callable[[list[Frame]], list[Frame]],
                                 expected: list[tuple[int, list[str]]]) -> None:
    findings = [finding for finding in check_bytes(dump(mutation(load(MINIMAL)))).findings
                if finding.rule == "responses/sdk-field-missing"]
    assert [finding.index for finding in findings] == [index for index, _ in expected]
    for finding, (_, paths) in zip(findings, expected, strict=True):
        assert [path for path in paths if f"`{path}`" not in finding.message] == []


@pytest.mark.parametrize(
    ("mutation", "expected"),
    [
        # a field the SDK requires, missing or null: one finding, `responses/sdk-field-missing`'s, not the schema's too
        (set_field(2, "item.content", DELETE), [("responses/sdk-field-missing", 2, "item.content")]),
        (set_field(3, "part.text", None), [("responses/sdk-field-missing", 3, "part.text")]),
        # that field with the wrong JSON type, or a field only the schema requires: the schema's
        (set_field(2, "item.content", "hi"), [("responses/schema", 2, "item.content")]),
        (set_field(2, "item.id", DELETE), [("responses/schema", 2, "item.id")]),
        (lambda frames: set_field(2, "item.id", DELETE)(set_field(2, "item.content", DELETE)(frames)),
         [("responses/sdk-field-missing", 2, "item.content"), ("responses/schema", 2, "item.id")]),
    ],
    ids=["item-field-missing", "part-field-null", "item-field-wrong-type", "item-id-missing", "both"],
)
def test_a_field_an_item_or_part_lacks_is_reported_once(mutation: Callable[[list[Frame]], list[Frame]],
                                                        expected: list[tuple[str, int, str]]) -> None:
    findings = [finding for finding in check_bytes(dump(mutation(load(MINIMAL)))).findings
                if finding.rule in ("responses/schema", "responses/sdk-field-missing")]
    assert [(finding.rule, finding.index) for finding in findings] == [(rule, index) for rule, index, _ in expected]
    named = [f"`{path}`" in finding.message for finding, (_, _, path) in zip(findings, expected, strict=True)]
    assert named == [True] * len(expected)


@pytest.mark.parametrize(
    ("mutation", "expected"),
    [
        # the final item lacks a field the SDK requires and the streamed item had: said once, by the SDK rule
        (set_field(8, "response.output.0.content.0.annotations", DELETE),
         [("responses/sdk-field-missing", "response.output[0].content[0].annotations")]),
        # ...and a difference after it is still the mismatch's
        (lambda frames: set_field(8, "response.output.0.content.0.text", "other")(
            set_field(8, "response.output.0.content.0.annotations", DELETE)(frames)),
         [("responses/sdk-field-missing", "response.output[0].content[0].annotations"),
          ("responses/terminal-output-mismatch", "response.output[0].content[0].text")]),
    ],
    ids=["field-missing", "field-missing-and-text-differs"],
)
def test_a_field_the_final_item_lacks_is_not_also_a_mismatch(mutation: Callable[[list[Frame]], list[Frame]],
                                                             expected: list[tuple[str, str]]) -> None:
    findings = check_bytes(dump(mutation(load(MINIMAL)))).findings
    found = [(f.rule, f.index) for f in findings]
    assert found == [(rule, 8) for rule, _ in expected]
    assert [f"`{path}`" in f.message for f, (_, path) in zip(findings, expected, strict=True)] == [True] * len(found)


@pytest.mark.parametrize(
    ("mutation", "said"),
    [
        (set_field(7, "item.x", 1), "`response.completed` lacks `response.output[0].x`, but `output_item.done` "
                                    "streamed `1`"),
        (set_field(8, "response.output.0.x", 1), "`response.completed` `response.output[0].x` is `1`, but "
                                                 "`output_item.done` streamed the item without it"),
    ],
    ids=["final-lacks-it", "streamed-item-lacked-it"],
)
def test_a_field_one_side_lacks_is_named_as_lacking_not_as_null(mutation: Callable[[list[Frame]], list[Frame]],
                                                                said: str) -> None:
    """LiteLLM's `output_item.done` reasoning item had no `status`, the final one `completed`: we said the stream
    sent `null`, which it never did."""
    [finding] = check_bytes(dump(mutation(load(MINIMAL)))).findings
    assert (finding.rule, finding.index) == ("responses/terminal-output-mismatch", 8)
    assert finding.message.startswith(said + ": ")


@pytest.mark.parametrize("mutation", [set_field(8, "response.output.0.x", None), set_field(7, "item.x", None)],
                         ids=["final-null", "streamed-null"])
def test_a_lacking_field_and_null_are_alike_as_the_sdks_read_them(mutation: Callable[[list[Frame]], list[Frame]],
                                                                 ) -> None:
    assert check_bytes(dump(mutation(load(MINIMAL)))).findings == []


def test_a_field_the_sdk_requires_that_the_streamed_item_lacked_is_said_once() -> None:
    findings = check_bytes(dump(set_field(7, "item.status", DELETE)(load(MINIMAL)))).findings
    assert [(f.rule, f.index) for f in findings] == [("responses/sdk-field-missing", 7)]


def _sdk_events(body: bytes, *, strict: bool) -> list[Any]:
    """The events openai-python's `responses.create(stream=True)` hands the app for this stream."""
    transport = httpx.MockTransport(lambda request: httpx.Response(
        200, content=body, headers={"content-type": "text/event-stream"}))
    client = openai.OpenAI(api_key="k", base_url="http://endpoint/v1", http_client=httpx.Client(transport=transport),
                           _strict_response_validation=strict)
    return list(client.responses.create(model="m", input="hi", stream=True))


def test_what_the_schema_finding_says_the_sdk_does_is_what_it_does() -> None:
    """`responses/schema` says the SDK builds a bad event unchecked, or raises with strict validation: both tried."""
    body = dump(set_field(4, "delta", 5)(load(MINIMAL)))
    [finding] = [f for f in check_bytes(body).findings if f.rule == "responses/schema"]
    assert "unchecked by default" in finding.message and "strict response validation" in finding.message
    assert _sdk_events(body, strict=False)[4].delta == 5  # the app gets the number where its types say a string
    with pytest.raises(openai.APIResponseValidationError):
        _sdk_events(body, strict=True)


def test_the_required_fields_are_required_by_the_installed_sdk() -> None:
    """Every field the checker requires, the openai Python SDK's types require too (facts from `types/responses`)."""
    import typing

    from openai.types.responses import Response, ResponseOutputItem
    from openai.types.responses.response_output_message import Content
    from openai.types.responses.response_output_text import Annotation
    from openai.types.responses.response_reasoning_item import Content as ReasoningContent
    from openai.types.responses.response_reasoning_item import Summary
    from openai.types.responses.response_usage import ResponseUsage

    from inspector.protocols.openai_responses import required

    def fields(model: Any) -> set[str]:
        return {name for name, field in model.model_fields.items() if field.is_required()}

    def by_type(union: Any) -> dict[str, set[str]]:
        members = typing.get_args(typing.get_args(union)[0]) if typing.get_origin(union) is typing.Annotated else \
            typing.get_args(union)
        return {typing.get_args(m.model_fields["type"].annotation)[0]: fields(m) for m in members}

    assert set(required.RESPONSE) <= fields(Response)
    assert set(required.USAGE) <= fields(ResponseUsage)
    usage = ResponseUsage.model_fields
    for name, wanted in required.USAGE_DETAILS.items():
        assert set(wanted) <= fields(usage[name].annotation)
    items = by_type(ResponseOutputItem)
    for kind, wanted in required.ITEMS.items():
        assert set(wanted) <= items[kind], kind
    parts = {**by_type(Content), "reasoning_text": fields(ReasoningContent), "summary_text": fields(Summary)}
    for kind, wanted in required.PARTS.items():
        assert set(wanted) <= parts[kind], kind
    annotations = by_type(Annotation)
    for kind, wanted in required.ANNOTATIONS.items():
        assert set(wanted) <= annotations[kind], kind


def test_an_item_whose_type_is_not_a_string_is_judged_not_a_crash() -> None:
    """Found by the mangling property above: `"type": []` in a done item raised `unhashable type: 'list'`."""
    from inspector.validate import check_bytes

    def frame(payload: dict) -> bytes:
        return f"event: {payload['type']}\ndata: {json.dumps(payload)}\n\n".encode()

    item = {"id": "fc_1", "type": "function_call", "status": "completed", "arguments": "{}", "call_id": "c",
            "name": "f"}
    body = b"".join(frame(payload) for payload in [
        {"type": "response.created", "sequence_number": 0,
         "response": {"id": "r", "status": "in_progress", "output": []}},
        {"type": "response.output_item.added", "sequence_number": 1, "output_index": 0, "item": item},
        {"type": "response.output_item.done", "sequence_number": 2, "output_index": 0, "item": {**item, "type": []}},
    ])
    check = check_bytes(body, "openai-responses")
    assert check.findings  # judged (a schema finding), where the checker used to raise


def test_unreadable_events_in_a_row_mark_the_open_items_once_not_each_time(monkeypatch):
    """A hostile stream: many items open with a part each, then as many unreadable events. The first one marks
    every open value as possibly cut (`gap`); the next ones find nothing read since and add nothing (each of them
    rescanned every item before: quadratic). A readable event in between makes the next one mark them again."""
    from inspector.protocols.openai_responses import items

    marked: list[object] = []
    real_gap = items.gap
    monkeypatch.setattr(items, "gap", lambda join: (marked.append(join), real_gap(join)))
    count = 60
    response = {"id": "resp_1", "object": "response", "created_at": 1, "status": "in_progress", "model": "m",
                "output": []}
    frames: list[Frame] = [("response.created", {"type": "response.created", "sequence_number": 0,
                                                 "response": response})]
    for number in range(count):
        frames.append(("response.output_item.added", {
            "type": "response.output_item.added", "sequence_number": 0, "output_index": number,
            "item": {"id": f"msg_{number}", "type": "message", "status": "in_progress", "role": "assistant",
                     "content": []}}))
        frames.append(("response.content_part.added", {
            "type": "response.content_part.added", "sequence_number": 0, "item_id": f"msg_{number}",
            "output_index": number, "content_index": 0, "part": {"type": "output_text", "text": "",
                                                                 "annotations": []}}))
    unreadable = [("response.output_text.delta", "{broken")] * count
    check_bytes(dump(frames + unreadable))
    once = len(marked)
    assert 0 < once <= 2 * count
    marked.clear()
    check_bytes(dump(frames + unreadable[:1] + [frames[0]] + unreadable[:1]))
    assert len(marked) == 2 * once


@pytest.mark.parametrize(("opened", "rule"), [
    ((("open", 0),), "responses/item-done-missing"),  # alone: nothing excuses the missing done
    ((("open", 0), ("open", 1), ("done", 1)), "responses/mcp-list-tools-done-missing"),  # joined while open
    ((("open", 1), ("open", 0), ("done", 1)), "responses/mcp-list-tools-done-missing"),  # opened beside another
    ((("open", 1), ("done", 1), ("open", 0)), "responses/item-done-missing"),  # the other had gone: alone again
])
def test_an_item_is_concurrent_when_another_was_open_beside_it(opened, rule):
    """Only a concurrently open `mcp_list_tools` item without its done is the known anomaly (a warning); alone,
    its missing done is an error. Item 0 is that item, item 1 another one."""
    response = {"id": "resp_1", "object": "response", "created_at": 1, "status": "in_progress", "model": "m",
                "output": []}
    items = {0: {"id": "mcpl_1", "type": "mcp_list_tools", "server_label": "s", "tools": []},
             1: {"id": "mcpl_2", "type": "mcp_list_tools", "server_label": "t", "tools": []}}
    frames: list[Frame] = [("response.created", {"type": "response.created", "sequence_number": 0,
                                                 "response": response})]
    for what, number in opened:
        kind = f"response.output_item.{'added' if what == 'open' else 'done'}"
        frames.append((kind, {"type": kind, "sequence_number": 0, "output_index": number, "item": items[number]}))
    frames.append(("response.completed", {"type": "response.completed", "sequence_number": 0,
                                          "response": {**response, "status": "completed"}}))
    found = {finding.rule for finding in check_bytes(dump(frames)).findings}
    assert rule in found
    assert found.isdisjoint({"responses/item-done-missing", "responses/mcp-list-tools-done-missing"} - {rule})


# ---- output indexes and item ids that disagree (found on `transformers serve` 5.25) --------------------------------

REASONING_ITEM = {"id": "rs_1", "type": "reasoning", "summary": [], "content": [], "status": "in_progress"}
REASONING_DONE = {**REASONING_ITEM, "content": [{"type": "reasoning_text", "text": "hm"}], "status": "completed"}


def findings(frames: list[Frame]) -> list[tuple[str, int | None, str]]:
    return [(f.rule, f.index, f.message) for f in check_bytes(dump(frames)).findings]


def reasoning_inside_the_message(frames: list[Frame]) -> list[Frame]:
    """A reasoning item added at the message's `output_index` 0 while the message is open, streamed without a part,
    done, and then the message goes on: the final output lists both."""
    fields = {"item_id": "rs_1", "output_index": 0, "content_index": 0}
    inserted = [event("response.output_item.added", output_index=0, item=REASONING_ITEM)(frames),
                event("response.reasoning_text.delta", delta="hm", **fields)(frames),
                event("response.reasoning_text.done", text="hm", **fields)(frames),
                event("response.output_item.done", output_index=0, item=REASONING_DONE)(frames)]
    frames = frames[:5] + inserted + frames[5:]
    frames[-1][1]["response"]["output"].insert(0, REASONING_DONE)
    return frames


def test_a_second_item_at_an_open_index_is_told_apart_by_its_id():
    """The reuse is said where it came; the reasoning item's events reach it by `item_id` (its missing part is said,
    the Python SDK passing such events on), the message's go on in the message, and the final output holds both."""
    found = findings(reasoning_inside_the_message(load(MINIMAL)))
    assert [(rule, index) for rule, index, _ in found] == [
        ("responses/output-index-out-of-order", 5), ("responses/part-not-open", 6), ("responses/part-not-open", 7)]
    assert found[1][2].endswith("a client that opens the item's parts on their `.added` events by `content_index` "
                                "has none to put it in (the openai Python SDK passes this event on without applying "
                                "it)")


def test_an_event_that_names_another_index_reaches_its_item_by_id():
    """`output_text.done`, `content_part.done` and `output_item.done` of the message name `output_index` 1: said
    once, where it began; the item is closed (no `item-done-missing`), and the final output is silent."""
    frames = set_field(range(5, 8), "output_index", 1)(load(MINIMAL))
    assert [(rule, index) for rule, index, _ in findings(frames)] == [("responses/item-not-open", 5)]
    assert findings(frames)[0][2].startswith(
        "`response.output_text.done` names `output_index` 1 (where no item is open), but its item `msg_02ce8deeb6197db2"
        "00698c5198ca0c81979bedbe6c98a8ab93` was added at `output_index` 0: a client that routes events by "
        "`item_id` finds the item, one that goes by `output_index` does not; the Python SDK's `responses.stream()` "
        "helper, which keeps items in the order they came, looks it up as `output[1]` and raises `IndexError`")


def test_an_id_given_to_a_second_item_is_said_and_the_output_is_held_to_the_ids():
    frames = load(MINIMAL)
    again = [[kind, {**payload, "output_index": 1}] for kind, payload in copy.deepcopy(frames[2:8])]
    frames = frames[:8] + again + frames[8:]
    assert [(rule, index) for rule, index, _ in findings(frames)] == [("responses/item-id-mismatch", 8)]


def test_after_an_index_gap_the_output_is_held_to_the_ids_not_to_the_indexes():
    """Before, the final message at `output[0]` was said to name an item never seen (`added None at that index`)."""
    frames = set_field(range(2, 8), "output_index", 1)(load(MINIMAL))
    assert [(rule, index) for rule, index, _ in findings(frames)] == [("responses/output-index-out-of-order", 2)]
    frames[-1][1]["response"]["output"][0]["id"] = "msg_other"
    assert [(rule, index) for rule, index, _ in findings(frames)][1:] == [
        ("responses/terminal-output-mismatch", 8)]
    assert findings(frames)[1][2].startswith("`response.completed` `response.output[0].id` is `msg_other`, which no "
                                             "`output_item.added` named")


@pytest.mark.parametrize(("error", "sdk"), [
    ({"error": {"type": "server_error", "code": "server_error", "message": "boom"}},
     "the Python SDK raises `APIError` here"),
    ({"code": "server_error", "message": "boom"}, "the Python SDK hands it to the app as an `error` event (it raises "
                                                  "`APIError` only for a nested `error` object), and unless a "
                                                  "`response.completed` follows, its stream helper's "
                                                  "`get_final_response()` raises \"Didn't receive a "
                                                  "`response.completed` event\""),
], ids=["nested", "flat"])
def test_an_error_event_says_what_the_sdk_does_with_its_shape(error, sdk):
    """The flat shape then the end of the stream: the audit found the helper raising at the end (transformers serve)."""
    frames = load(MINIMAL)[:5] + [["error", {"type": "error", "sequence_number": 0, **error}]]
    [message] = [message for rule, _, message in findings(frames) if rule == "responses/error-event"]
    assert f"'boom'; {sdk}, and by the docs" in message
    if "error" not in error:  # the flat shape passes the helper, which then has no completed response to give
        from openai._models import construct_type_unchecked
        from openai._types import omit
        from openai.lib.streaming.responses._responses import ResponseStreamState
        from openai.types.responses import ResponseStreamEvent

        state = ResponseStreamState(input_tools=omit, text_format=omit)
        for _, payload in frames:
            state.handle_event(construct_type_unchecked(type_=ResponseStreamEvent, value=payload))
        assert state._completed_response is None  # NOTE: `ResponseStream.get_final_response()` raises on exactly this


def test_start_order_names_the_status_that_set_what_was_expected():
    frames = set_field(0, "response.status", "queued")(load(MINIMAL))
    [message] = [message for rule, _, message in findings(frames) if rule == "responses/start-order"]
    assert message.startswith("expected `response.queued` next (`response.created` has status `queued`), got "
                              "`response.in_progress`")


FUNCTION_CALL = "vercel-ai__reasoning-summary-function-call.sse"  # reasoning item 2-38, function call 39-54, 55 end


def test_items_added_by_events_that_broke_their_schema_may_be_in_the_final_output():
    """Found on llama.cpp's `llama-server`, whose `output_item.added` events lack `output_index`: the output's items
    were said to be more than "the stream added 0"."""
    frames = set_field(range(2, 55), "output_index", DELETE)(load(FUNCTION_CALL))
    rules = {rule for rule, _, _ in findings(frames)}
    assert "responses/schema" in rules and "responses/terminal-output-mismatch" not in rules


def test_the_final_output_hands_over_the_arguments_of_a_call_whose_done_was_unreadable():
    """Found on llama.cpp: a `completed` call with arguments `{`, whose `output_item.done` broke its schema."""
    frames = set_field(54, "output_index", DELETE)(load(FUNCTION_CALL))
    frames = set_field(55, "response.output.1.arguments", '{"a":12')(frames)
    [(index, message)] = [(index, message) for rule, index, message in findings(frames)
                          if rule == "responses/tool-arguments-invalid-json"]
    assert index == 55 and message.startswith("`response.completed` `response.output[1].arguments` (a `function_call` "
                                              "with no readable `output_item.done`) is `'{\"a\":12'`, not JSON")
    assert [rule for rule, _, _ in findings(set_field(55, "response.output.1.arguments", '{"a":12')(
        load(FUNCTION_CALL))) if rule == "responses/tool-arguments-invalid-json"] == []  # the done item's were judged


def test_a_schema_finding_names_up_to_three_fields():
    """llama.cpp's `response.created` lacks `created_at` and `output`; "(and 1 more)" hid the `output` whose absence
    makes the Python SDK's stream helper fail at the first item."""
    frames = set_field(0, "response.output", DELETE)(set_field(0, "response.created_at", DELETE)(load(MINIMAL)))
    [message] = [message for rule, index, message in findings(frames) if rule == "responses/schema" and index == 0]
    assert message.startswith("`response.created`: `response.created_at` is required but missing; `response.output` "
                              "is required but missing: ")


def test_a_final_output_in_another_order_is_said_once_and_not_said_to_name_unseen_items():
    """One swap of two items was two findings, each telling half of it."""
    frames = load(FUNCTION_CALL)
    output = frames[-1][1]["response"]["output"]
    output[0], output[1] = output[1], output[0]
    [message] = [message for rule, _, message in findings(frames) if rule == "responses/terminal-output-mismatch"]
    first, second = output[0]["id"], output[1]["id"]
    assert message == (f"`response.completed` lists the items in another order than the stream: `response.output[0]` "
                       f"is `{first}`, added at `output_index` 1; `response.output[1]` is `{second}`, added at "
                       "`output_index` 0: `get_final_response()` and a client that followed the stream disagree on "
                       "which item is which")


def test_an_error_payload_without_a_type_is_an_error_event_not_a_cut_stream():
    """Found on Llama Stack 0.2.12: `{"error": {...}}` with no `type` ends its Responses streams. The Python SDK raises
    `APIError` on any payload with `error`, so the stream was ended by an error, not cut."""
    frames = load(MINIMAL)[:5] + [["message", {"error": {"message": "400: boom"}}]]
    found = findings(frames)
    assert {rule for rule, _, _ in found} >= {"responses/error-event"}
    assert not {"responses/terminal-missing", "responses/schema"} & {rule for rule, _, _ in found}
    [message] = [message for rule, _, message in found if rule == "responses/error-event"]
    assert message.startswith("the server reported an error in-band in a payload with no `type`: '400: boom'; the "
                              "Python SDK raises `APIError` here")


def test_a_repeated_start_event_is_said_once_even_when_it_breaks_its_schema():
    """Found probing llama.cpp's `llama-server`, whose Responses stream repeats `response.created` and
    `response.in_progress` (without `created_at`, a schema error) a dozen times among the deltas: said once each."""
    frames = load(MINIMAL)
    starts = [copy.deepcopy(frames[0]), copy.deepcopy(frames[1])]
    for _, payload in starts:
        del payload["response"]["created_at"]
    frames = frames[:5] + starts * 3 + frames[5:]
    repeated = [(index, message) for rule, index, message in findings(frames) if rule == "responses/start-order"]
    assert [index for index, _ in repeated] == [5, 6]
    assert repeated[0][1] == ("a second `response.created`: each start event comes once; a client that takes the "
                              "response from its start events starts it again (the openai Python SDK's stream helper "
                              "keeps the first and passes this one on; later repeats are not reported)")


def test_a_created_event_without_output_says_the_sdk_helper_fails_at_the_first_item():
    """Found probing llama.cpp, whose `response.created` has no `output`: the Python SDK's stream helper (tried here)
    appends the first item to it and raises, more than the "reads a missing value" of other schema breaks."""
    from openai import omit
    from openai._models import construct_type
    from openai.lib.streaming.responses._responses import ResponseStreamState
    from openai.types.responses import ResponseStreamEvent

    frames = set_field(0, "response.output", DELETE)(load(MINIMAL))
    state = ResponseStreamState(input_tools=omit, text_format=omit)
    with pytest.raises(AttributeError):
        for _, payload in frames:
            state.handle_event(construct_type(type_=ResponseStreamEvent, value=payload))
    [message] = [message for rule, index, message in findings(frames) if rule == "responses/schema" and index == 0]
    assert message.endswith("the openai Python SDK's `responses.stream()` helper appends each item to this "
                            "`response.output`, so it fails (`AttributeError`) at the first `output_item.added`, if "
                            "one comes")


def test_a_helper_that_failed_at_the_first_item_is_not_said_to_fail_again_later():
    """codex-relay 0.5.8: `response.created` without `output`, deltas without `content_index`. The helper raises at
    the first item added (tried); the finding on the delta said it raised `TypeError` there too, and a cut stream's
    end did not say where it had raised. On a stream with no item at all, it does not raise."""
    from openai import omit
    from openai._models import construct_type
    from openai.lib.streaming.responses._responses import ResponseStreamState
    from openai.types.responses import ResponseStreamEvent

    def helper_raises_at(frames: list[Frame]) -> int | None:
        state = ResponseStreamState(input_tools=omit, text_format=omit)
        for position, (_, payload) in enumerate(frames):
            try:
                state.handle_event(construct_type(type_=ResponseStreamEvent, value=payload))
            except (AttributeError, TypeError):
                return position
        return None

    frames = set_field(4, "content_index", DELETE)(set_field(0, "response.output", DELETE)(load(MINIMAL)))
    assert helper_raises_at(frames) == 2
    [message] = [message for rule, index, message in findings(frames) if rule == "responses/schema" and index == 4]
    assert "TypeError" not in message
    [message] = [message for rule, _, message in findings(frames[:-1]) if rule == "responses/terminal-missing"]
    assert "(the Python SDK's stream helper had raised at event 2)" in message
    no_item = set_field(0, "response.output", DELETE)(load(MINIMAL))[:2] + load(MINIMAL)[-1:]
    no_item[-1][1]["response"]["output"] = []
    assert helper_raises_at(no_item) is None


CALL = {"type": "function_call", "id": "fc_1", "call_id": "call_1", "name": "get_weather",
        "arguments": '{"city": "Paris"}', "status": "completed"}


def done_without_added(frames: list[Frame]) -> list[Frame]:
    """gpt-oss's reference server: a function call sent only as `output_item.done` (no `output_item.added`), at
    `output_index` 1 after the message, and in the final output."""
    frames = insert(8, event("response.output_item.done", output_index=1, item=dict(CALL)))(frames)
    frames[9][1]["response"]["output"].append(dict(CALL))
    return frames


def sdk_helper_raises(frames: list[Frame]) -> str | None:
    """The exception the openai SDK's `responses.stream()` state raises on these events, None if it takes them."""
    raised = sdk_helper_raises_at(frames)
    return None if raised is None else raised[0]


def sdk_helper_raises_at(frames: list[Frame]) -> tuple[str, int] | None:
    """The exception the helper raises and the number of the event it raised at, None if it takes them all."""
    from openai._models import construct_type_unchecked
    from openai._types import omit
    from openai.lib.streaming.responses._responses import ResponseStreamState
    from openai.types.responses import ResponseStreamEvent

    state = ResponseStreamState(input_tools=omit, text_format=omit)
    for number, (_, payload) in enumerate(frames):
        try:
            state.handle_event(construct_type_unchecked(type_=ResponseStreamEvent, value={**payload,
                                                                                          "sequence_number": number}))
        except (IndexError, AssertionError, AttributeError) as error:
            return type(error).__name__, number
    return None


@pytest.mark.parametrize(("mutation", "raises"), [
    (done_without_added, None),
    (set_field(4, "output_index", 3), "IndexError"),  # a text delta for no item: the helper looks it up
], ids=["item-done", "text-delta"])
def test_item_not_open_says_what_the_sdk_helper_does_with_the_event(mutation, raises) -> None:
    """Found on gpt-oss's reference server: `item-not-open` said "the SDK looks up `output[index]` and fails" of an
    `output_item.done`, which the helper passes on (it took gpt-oss's calls; both SDK paths gave them to the app)."""
    frames = mutation(load(MINIMAL))
    assert sdk_helper_raises(frames) == raises
    [message] = [f.message for f in check_bytes(dump(frames)).findings if f.rule == "responses/item-not-open"]
    assert ("looks it up as `output[3]` and raises `IndexError`" in message) == (raises is not None)
    assert ("passes this event on without looking it up" in message) == (raises is None)


def test_an_item_that_comes_only_in_its_done_event_is_judged_and_shown_as_it_came() -> None:
    """gpt-oss's reference server sends its function calls only as `output_item.done`. The SDK passes the event on
    and the final response holds the call, which the app runs. Its not being opened is said once; the final output
    did not add a second finding of it ("names an item the client never saw"), its arguments went unjudged, and
    `view` showed no tool call."""
    frames = done_without_added(load(MINIMAL))
    check = check_bytes(dump(frames))
    assert [(f.rule, f.index) for f in check.findings] == [("responses/item-not-open", 8)]
    assert [(call.name, call.arguments) for call in check.assembly.tool_calls] == [("get_weather", '{"city": "Paris"}')]
    frames[8][1]["item"]["arguments"] = frames[9][1]["response"]["output"][1]["arguments"] = '{"city": "Par'
    assert [(f.rule, f.index) for f in check_bytes(dump(frames)).findings] == [
        ("responses/item-not-open", 8), ("responses/tool-arguments-invalid-json", 8)]


REASONING = {"type": "reasoning", "id": "rs_1", "summary": [], "status": "completed"}


def reasoning_at_minus_one(frames: list[Frame]) -> list[Frame]:
    """gpt-oss's reference server: its reasoning item added (and done) at `output_index` -1 before the message at 0,
    and listed first in the final output."""
    frames = insert(2, event("response.output_item.added", output_index=-1, item=dict(REASONING)))(frames)
    frames = insert(3, event("response.output_item.done", output_index=-1, item=dict(REASONING)))(frames)
    frames[-1][1]["response"]["output"].insert(0, dict(REASONING))
    return frames


def test_an_item_added_out_of_order_says_where_the_sdk_helper_lists_it() -> None:
    """The helper keeps items in the order they came and looks events up by `output_index`: gpt-oss's reasoning at -1
    is its `output[0]`, so the message's first text delta (index 0) reaches the reasoning item, and the helper raises
    `AssertionError` there (59 gpt-oss outputs). The message said "clients place items by `output_index` (the SDK's
    `output[index]`)": it now says where the helper has the item, and what follows."""
    frames = reasoning_at_minus_one(load(MINIMAL))
    assert sdk_helper_raises(frames) == "AssertionError"
    found = [(f.rule, f.index, f.message) for f in check_bytes(dump(frames)).findings]
    assert [(rule, index) for rule, index, _ in found] == [("responses/output-index-out-of-order", 2)]
    assert "so this is its `output[0]`: from here its `output[i]` is not always the item the stream numbers i" in (
        found[0][2])


@pytest.mark.parametrize(("at", "said"), [
    (6, "looks it up as `output[-2]`, a `reasoning` item, and raises `AssertionError`"),
    (5, "looks it up as `output[-2]`, a `reasoning` item, and drops the part"),
], ids=["text-delta", "part-added"])
def test_an_event_for_no_open_item_says_what_the_sdk_helper_reaches(at: int, said: str) -> None:
    """With the reasoning item listed first, the message's event naming -2 reaches it in the helper's list: the text
    delta raises there; the part is dropped there (the helper raises one event later, at the text delta naming 0)."""
    frames = set_field(at, "output_index", -2)(reasoning_at_minus_one(load(MINIMAL)))
    [message] = [f.message for f in check_bytes(dump(frames)).findings if f.index == at]
    assert said in message
    assert sdk_helper_raises_at(frames) == ("AssertionError", 6)


def test_a_text_delta_that_names_an_earlier_message_is_said_to_reach_it_in_the_sdk_helper() -> None:
    """Two messages, the second's text delta naming `output_index` 0: the helper appends it to the first message
    (no error), which the finding now says instead of "fails or puts this in the wrong item"."""
    frames = load(MINIMAL)
    second = copy.deepcopy(frames[2:8])
    for _, payload in second:
        payload["output_index"] = 1
        if "item" in payload:
            payload["item"]["id"] = "msg_second"
        else:
            payload["item_id"] = "msg_second"
    second[2][1]["output_index"] = 0  # the text delta (frames 2..7: added, part, delta, text done, part done, done)
    frames = frames[:8] + second + frames[8:]
    frames[-1][1]["response"]["output"].append({**frames[-1][1]["response"]["output"][0], "id": "msg_second"})
    [message] = [f.message for f in check_bytes(dump(frames)).findings if f.index == 10]
    assert f"looks it up as `output[0]`: `{MSG}`, another item, which gets it" in message
    assert sdk_helper_raises(frames) is None


def _responses_stream(body: bytes) -> str:
    """The exception the openai Python SDK's `responses.stream()` raises on this body, from iterating or at the end."""
    transport = httpx.MockTransport(lambda request: httpx.Response(
        200, content=body, headers={"content-type": "text/event-stream"}))
    client = openai.OpenAI(api_key="k", base_url="http://endpoint/v1", http_client=httpx.Client(transport=transport))
    try:
        with client.responses.stream(model="m", input="hi") as stream:
            stream.get_final_response()
    except (RuntimeError, openai.APIError) as error:
        return f"{type(error).__name__}: {error}"
    return "no error"


_CHAT_CHUNK = b'data: {"id":"c","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"Hi"}}]}\n\n'


def test_a_stream_that_does_not_start_with_response_created_is_not_said_to_fail_again_at_its_end() -> None:
    """Found on g4f 8.8.6, whose `/v1/responses` streams Chat Completions chunks: the helper raises at the first
    event, so the end's "Didn't receive a `response.completed` event" was a second break the app never meets."""
    body = _CHAT_CHUNK * 3 + b"data: [DONE]\n\n"
    assert _responses_stream(body).startswith("RuntimeError: Expected to have received `response.created` before")
    found = {f.rule: f for f in check_bytes(body, protocol="openai-responses").findings}
    assert found["responses/schema"].index == 0
    assert "its stream helper raises here" in found["responses/schema"].message
    assert "Didn't receive" not in found["responses/terminal-missing"].message
    assert "the Python SDK's stream helper had raised at event 0" in found["responses/terminal-missing"].message


def test_an_error_payload_the_sdk_raises_on_is_not_said_to_hand_the_app_a_missing_sequence_number() -> None:
    """g4f 8.8.6 ends a failed stream with `{"error": {...}}`: the SDK raises `APIError` on it, so no app reads its
    `sequence_number`. A `type: error` event with no nested object is handed to the app, and its number is."""
    nested = b'data: {"error": {"message": "Request execution failed"}}\n\n'
    assert _responses_stream(_CHAT_CHUNK + nested).startswith("RuntimeError")  # at the chunk, before the error
    assert _responses_stream(nested).startswith("APIError: Request execution failed")
    rules = [f.rule for f in check_bytes(nested, protocol="openai-responses").findings]
    assert rules == ["responses/error-event"]
    flat = b'data: {"type": "error", "code": "server_error", "message": "boom", "param": null}\n\n'
    flat_rules = {f.rule for f in check_bytes(flat, protocol="openai-responses").findings}
    assert "responses/sequence-number-absent" in flat_rules


def test_a_second_response_completed_is_said_to_replace_the_first_in_the_sdk_helper() -> None:
    """Found on open-responses-server 0.4.1 (three `response.completed` for an `n: 3` upstream): the finding said
    the Python SDK stops at the terminal event and never sees what follows. It reads on to `[DONE]`, and its stream
    helper's final response is the last `response.completed` (tried)."""
    frames = load(MINIMAL)
    second = copy.deepcopy(frames[-1])
    second[1]["response"]["id"] = "resp_second"
    body = dump([*frames, second])
    transport = httpx.MockTransport(lambda request: httpx.Response(
        200, content=body, headers={"content-type": "text/event-stream"}))
    client = openai.OpenAI(api_key="k", base_url="http://endpoint/v1", http_client=httpx.Client(transport=transport))
    with client.responses.stream(model="m", input="hi") as stream:
        assert [event.type for event in stream][-2:] == ["response.completed", "response.completed"]
        assert stream.get_final_response().id == "resp_second"
    [message] = [f.message for f in check_bytes(body).findings if f.rule == "responses/event-after-terminal"]
    assert message.endswith("the openai Python SDK reads on (it stops only at `[DONE]`) and hands it to the app: its "
                            "stream helper's `get_final_response()` returns the last `response.completed`, not the "
                            "first, and LangChain adds up their usage and joins their `status` values "
                            "(`completedcompleted` for two completions)")


def test_an_unknown_event_is_said_to_reach_the_app_as_the_sdk_hands_it_on() -> None:
    """Found on open-responses-server 0.4.1 (`response.tool_calls.created`): "clients skip it" was not what the
    SDK does; it hands the event to the app, and its stream helper passes it on."""
    frames = insert(4, event("response.tool_calls.created", output_index=0))(load(MINIMAL))
    body = dump(frames)
    transport = httpx.MockTransport(lambda request: httpx.Response(
        200, content=body, headers={"content-type": "text/event-stream"}))
    client = openai.OpenAI(api_key="k", base_url="http://endpoint/v1", http_client=httpx.Client(transport=transport))
    with client.responses.stream(model="m", input="hi") as stream:
        assert "response.tool_calls.created" in [event.type for event in stream]
    [message] = [f.message for f in check_bytes(body).findings if f.rule == "responses/unknown-event"]
    assert "the openai Python SDK hands it to the app as it came" in message


def _helper_raises_at(frames: list[Frame]) -> tuple[str, int] | None:
    """The exception the Python SDK's `responses.stream()` state raises on these events, and where (any type)."""
    from openai._models import construct_type_unchecked
    from openai._types import omit
    from openai.lib.streaming.responses._responses import ResponseStreamState
    from openai.types.responses import ResponseStreamEvent

    state = ResponseStreamState(input_tools=omit, text_format=omit)
    for number, (_, payload) in enumerate(frames):
        try:
            state.handle_event(construct_type_unchecked(type_=ResponseStreamEvent, value=payload))
        except Exception as error:  # noqa: BLE001  what the Python SDK raised is the point
            return type(error).__name__, number
    return None


def without_content_index(*positions: int) -> Callable[[list[Frame]], list[Frame]]:
    def mutate(frames: list[Frame]) -> list[Frame]:
        for position in positions:
            del frames[position][1]["content_index"]
        return frames
    return mutate


@pytest.mark.parametrize(("mutation", "raised", "said"), [
    # open-responses-server 0.4.1: no `output_item.added`, and text deltas without `content_index`
    (lambda frames: without_content_index(2)(drop(2, 3)(frames)), ("IndexError", 2),
     "looks it up as `output[0]` and raises `IndexError`"),
    (without_content_index(4), ("TypeError", 4), "finds a message at `output[0]` and raises `TypeError`"),
    (lambda frames: set_field(2, "content_index", "0")(drop(2, 3)(frames)), ("IndexError", 2), "raises `IndexError`"),
], ids=["no-item", "no-content-index", "no-item-string-index"])
def test_a_schema_break_says_what_the_sdk_helper_raises_where_it_looks_the_event_up(mutation, raised, said) -> None:
    """Found on open-responses-server 0.4.1: its text deltas lack `content_index` and come with no item opened.
    The schema finding spoke of typed reads only, while the helper raised at the first delta (72 outputs)."""
    frames = mutation(load(MINIMAL))
    assert _helper_raises_at(frames) == raised
    [message] = [f.message for f in check_bytes(dump(frames)).findings
                 if f.rule == "responses/schema" and f.index == raised[1]]
    assert said in message


def test_a_schema_break_the_sdk_helper_takes_is_not_said_to_make_it_raise() -> None:
    frames = set_field(4, "item_id", 7)(load(MINIMAL))
    assert _helper_raises_at(frames) is None
    [message] = [f.message for f in check_bytes(dump(frames)).findings if f.rule == "responses/schema"]
    assert "`responses.stream()` helper" not in message


def test_a_stream_whose_helper_raised_midway_is_not_said_to_fail_again_at_its_end() -> None:
    """open-responses-server 0.4.1 with a Groq upstream that errs: no terminal event, but the helper had already
    raised `IndexError` at the first text delta, so "Didn't receive a `response.completed` event" is never met."""
    frames = drop(2, 3)(load(MINIMAL))[:-1]  # no item opened, no terminal event
    assert _helper_raises_at(frames) == ("IndexError", 2)
    found = {f.rule: f.message for f in check_bytes(dump(frames)).findings}
    assert found["responses/terminal-missing"].endswith("(the Python SDK's stream helper had raised at event 2)")
    whole = {f.rule: f.message for f in check_bytes(dump(load(MINIMAL)[:-1])).findings}
    assert "Didn't receive a `response.completed` event" in whole["responses/terminal-missing"]


def test_an_answer_no_streamed_event_could_show_is_shown_as_the_terminal_output_holds_it() -> None:
    """open-responses-server 0.4.1 streams text deltas that break the schema (no `content_index`, no item) and
    argument deltas for items never added: `view` said "(no text)" and showed no call, while its terminal output
    held the message and the calls."""
    frames = drop(2, 3, 4, 5, 6)(load(MINIMAL))  # nothing of the message streamed
    check = check_bytes(dump(frames))
    assert check.assembly.text == ""
    output = frames[-1][1]["response"]["output"]
    assert check.assembly.details["response.output"] == {"[0] message": output[0]["content"][0]["text"]}
    assert "response.output" not in check_bytes(dump(load(MINIMAL))).assembly.details  # streamed readably: not shown


def test_a_final_text_other_than_the_streamed_one_is_shown_beside_it() -> None:
    """A server that dropped the text deltas of a message while its reasoning streamed: `view` said "(no text)" and
    nothing of the text `get_final_response()` hands over."""
    frames = load(FUNCTION_CALL)
    output = frames[-1][1]["response"]["output"]
    output.append({"type": "message", "id": "msg_1", "role": "assistant", "status": "completed",
                   "content": [{"type": "output_text", "text": "Here.", "annotations": []}]})
    check = check_bytes(dump(frames))
    assert check.assembly.reasoning and check.assembly.text == ""
    assert check.assembly.details["response.output"]["[2] message"] == "Here."
    assert "response.output" not in check_bytes(dump(load(FUNCTION_CALL))).assembly.details


def test_text_deltas_no_open_part_takes_are_still_the_text_a_client_joins() -> None:
    """codex-relay 0.5.8's deltas carry no `content_index` (each a schema break) into a message whose parts no
    event opened; open-responses-server's name no item. `view` said "(no text)" and `diff` that the text was lost,
    where the Python SDK's `create(stream=True)` hands every delta over and a client that joins them has the answer."""
    joined = "".join(payload["delta"] for _, payload in load(MINIMAL) if payload["type"].endswith("text.delta"))
    no_index = set_field(4, "content_index", DELETE)(load(MINIMAL))
    no_part = drop(3, 6)(load(MINIMAL))
    no_item = drop(2, 3, 6, 7)(load(MINIMAL))
    for frames in (no_index, no_part, no_item):
        check = check_bytes(dump(frames))
        assert check.assembly.text == joined
        assert "response.output" not in check.assembly.details


def test_a_lifecycle_event_that_breaks_the_schema_still_gives_its_model_status_usage_and_error() -> None:
    """codex-relay 0.5.8's lifecycle events lack `object` and `created_at`: `view` showed no model, final status or
    usage, and `diff` said an upstream's error was gone where `response.failed` carried it. The fields the schema
    finding did not name, which the Python SDK types as required, were never said; nor was the missing
    `response.in_progress` after a `response.created` whose status asks for it."""
    frames = set_field([0, 7], "response.object", DELETE)(drop(1)(load(MINIMAL)))
    frames = set_field([0, 7], "response.tools", DELETE)(frames)
    check = check_bytes(dump(frames))
    terminal = frames[-1][1]["response"]
    assert (check.assembly.model, check.assembly.status, check.assembly.usage, check.assembly.text) == (
        terminal["model"], "completed", terminal["usage"], "Hello")
    found = {(f.rule, f.index): f.message for f in check.findings}
    assert "`response.tools`" in found[("responses/sdk-field-missing", 0)]
    assert "`response.object`" in found[("responses/schema", 0)]
    assert "`response.object`" not in found[("responses/sdk-field-missing", 0)]  # said once, by the schema
    assert found[("responses/start-order", 1)].startswith("expected `response.in_progress` next")
    failed = load("vercel-ai__error-then-failed.sse")
    failed[-1][1]["response"].pop("object")
    broken = check_bytes(dump(failed)).assembly
    assert (broken.status, broken.error) == ("failed", check_bytes(dump(load("vercel-ai__error-then-failed.sse")))
                                             .assembly.error)


def test_a_final_message_with_more_parts_than_streamed_says_how_many_not_two_excerpts_alike() -> None:
    """ccproxy-api 0.2.10 adds `tool_use` parts to the final message: the finding showed the same 40 characters of
    both lists."""
    frames = load(MINIMAL)
    content = frames[8][1]["response"]["output"][0]["content"]
    content.append({"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {}})
    [message] = [f.message for f in check_bytes(dump(frames)).findings
                 if f.rule == "responses/terminal-output-mismatch"]
    assert message == ("`response.completed` `response.output[0].content` has 2 entries, but `output_item.done` "
                       "streamed 1: the final response and the streamed item disagree")


SUMMARY_STREAM = "vercel-ai__reasoning-summary-function-call.sse"  # reasoning item 0: summary part 3, deltas 4-...


def test_a_reasoning_summary_whose_deltas_could_not_be_read_is_shown_as_its_done_item_holds_it() -> None:
    """LiteLLM's Responses bridge sends no `reasoning_summary_part.added` and summary deltas without `summary_index`:
    each breaks the schema, so nothing was assembled, `view` showed no reasoning and `diff` said it was lost, while
    the done item (and the final output) held it."""
    whole = check_bytes(dump(load(SUMMARY_STREAM)))
    assert whole.assembly.reasoning  # streamed readably: taken from the deltas, once
    frames = [frame for frame in load(SUMMARY_STREAM) if frame[1].get("type") != "response.reasoning_summary_part.added"
              and frame[1].get("type") != "response.reasoning_summary_part.done"]
    for frame in frames:
        if frame[1].get("type", "").startswith("response.reasoning_summary_text"):
            del frame[1]["summary_index"]
    broken = check_bytes(dump(frames))
    assert "responses/schema" in {f.rule for f in broken.findings}
    assert broken.assembly.reasoning == whole.assembly.reasoning


def test_a_summary_delta_for_a_part_the_added_item_held_says_which_clients_have_it() -> None:
    """codex-relay 0.5.8 adds a reasoning item whose `summary` holds part 0 and streams into it with no
    `reasoning_summary_part.added`: the finding spoke of `content_index` and said no client had the part."""
    item = {**REASONING_ITEM, "summary": [{"type": "summary_text", "text": ""}]}
    frames = load(MINIMAL)
    frames[2:2] = [event("response.output_item.added", output_index=0, item=item)(frames),
                   event("response.reasoning_summary_text.delta", item_id="rs_1", output_index=0, summary_index=0,
                         delta="hm")(frames)]
    [message] = [message for rule, _, message in findings(frames) if rule == "responses/part-not-open"]
    assert message.endswith("a client that opens the item's parts on their `.added` events by `summary_index` has "
                            "none to put it in; one that takes the parts the item's `summary` held when added has "
                            "it (the openai Python SDK passes this event on without applying it)")


def test_an_item_id_that_changes_mid_item_says_what_the_vercel_ai_sdk_did() -> None:
    """On GitHub Copilot's rotating ids the Vercel AI SDK 6.0 emitted an error part, then threw two events later and
    lost the rest of the answer (an audit ran it): 'loses this one' understated it."""
    from inspector.inputs import open_source

    path = Path(__file__).parent / "fixtures" / "corpus" / "openai-responses" / \
        "vercel-ai__compat-github-copilot-id-rotation.sse"
    messages = [f.message for f in open_source(str(path)).validate().findings if f.rule == "responses/item-id-mismatch"]
    assert any(message.endswith("the Vercel AI SDK emits an error part and may throw at a later event of the item, "
                                "losing the rest of the answer") for message in messages), messages


def test_lifecycle_events_without_created_at_are_still_held_to_what_was_streamed() -> None:
    """Found on agent-wire-proxy 0.2.0, whose lifecycle events lack `created_at`: its `response.completed` named
    other item ids and text than it had streamed, and nothing said so, as an event that failed the schema was taken
    as one of unknown content. A missing `created_at` says nothing of the items: the checks run all the same."""
    frames = load(MINIMAL)
    for _, payload in frames:
        if isinstance(payload.get("response"), dict):
            payload["response"].pop("created_at", None)
    completed = frames[-1][1]["response"]
    completed["output"][0]["id"] = "msg_other"
    assert [(rule, index) for rule, index, _ in findings(frames) if rule != "responses/schema"] == [
        ("responses/terminal-output-mismatch", 8)]


def test_terminal_missing_says_the_stream_helper_raises_and_a_plain_reader_just_stops() -> None:
    """Found on codex-router-proxy 0.5.0: "the Python SDK raises" held for `responses.stream()` only; a
    `create(stream=True)` reader read the events and stopped without an error."""
    body = dump(load(MINIMAL)[:-1])
    transport = httpx.MockTransport(lambda request: httpx.Response(
        200, content=body, headers={"content-type": "text/event-stream"}))
    client = openai.OpenAI(api_key="k", base_url="http://endpoint/v1", http_client=httpx.Client(transport=transport))
    assert len(list(client.responses.create(model="m", input="hi", stream=True))) == 8
    with pytest.raises(RuntimeError, match="Didn't receive a `response.completed` event"), client.responses.stream(
            model="m", input="hi") as stream:
        stream.get_final_response()
    [message] = [f.message for f in check_bytes(body).findings if f.rule == "responses/terminal-missing"]
    assert message.endswith("the Python SDK's stream helper raises \"Didn't receive a `response.completed` event\" "
                            "(a `create(stream=True)` reader just stops)")


def test_a_completed_event_with_another_outcomes_status_and_reason_is_one_finding() -> None:
    """Found on codex-router-proxy 0.5.0: `response.completed` with `status: incomplete` and its
    `incomplete_details` gave `status-mismatch` and `terminal-field-unexpected`, whose "a client that tests
    `incomplete_details` takes it for another outcome" was backwards: the payload is one consistent outcome."""
    frames = load(MINIMAL)
    frames[-1][1]["response"].update(status="incomplete", incomplete_details={"reason": "max_output_tokens"})
    assert [(rule, index) for rule, index, _ in findings(frames)] == [("responses/status-mismatch", 8)]
    frames[-1][1]["response"]["status"] = "completed"  # a completed response with a reason: that is the field's
    assert [(rule, index) for rule, index, _ in findings(frames)] == [("responses/terminal-field-unexpected", 8)]


def test_a_final_usage_without_its_counts_is_said_at_the_terminal_event_whatever_the_start_lacked() -> None:
    """Found on codex-router-proxy 0.5.0: `usage: {}` in `response.created` and in `response.completed` (where it had
    lost its upstream's counts) was said once, at the start, among "(and 5 more)": the lost final usage went unsaid
    where it was lost."""
    frames = load(MINIMAL)
    frames[0][1]["response"]["usage"] = {}
    frames[-1][1]["response"]["usage"] = {}
    said = [(index, message) for rule, index, message in findings(frames) if rule == "responses/sdk-field-missing"]
    assert [index for index, _ in said] == [0, 8]
    assert "`response.completed` lacks `response.usage.input_tokens`" in said[1][1]


def test_an_item_that_never_got_its_done_is_held_to_the_final_output():
    """Found on gpt-oss's reference server: a message streamed 20 words with no `output_item.done`, and
    `response.completed` listed 19; only items that got their done event were compared with the final output."""
    frames = drop(5, 6, 7)(load(MINIMAL))  # no text done, part done or item done: the item is open at the end
    streamed = frames[4][1]["delta"]
    frames[-1][1]["response"]["output"][0]["content"][0]["text"] = streamed[:-1]
    [message] = [message for rule, index, message in findings(frames)
                 if rule == "responses/terminal-output-mismatch" and index == 5]
    assert message == (f"`response.completed` `response.output[0].content[0].text` is {excerpt(streamed[:-1])}, but "
                       f"the stream gave {excerpt(streamed)} (the item never got `output_item.done`): "
                       "`get_final_response()` and a client that joins the deltas disagree on what was said")
    frames[-1][1]["response"]["output"][0]["content"][0]["text"] = streamed  # the same text: nothing to say
    assert "responses/terminal-output-mismatch" not in {rule for rule, _, _ in findings(frames)}


def test_two_long_texts_that_begin_alike_are_shown_from_where_they_part():
    """An answer one word longer than the other showed the same 40 characters twice."""
    words = " ".join(["word"] * 20)
    assert excerpts(words[:-5], words) == (f"{excerpt(words[84:-5])} from character 84",
                                           f"{excerpt(words[84:])} from character 84")
    assert excerpts("short", "other") == (excerpt("short"), excerpt("other"))


def two_function_calls() -> list[Frame]:
    """`vercel-ai__function-call.sse` with its call made twice: the second at `output_index` 1, another id."""
    frames = load("vercel-ai__function-call.sse")
    second = copy.deepcopy(frames[2:11])
    old_id = second[0][1]["item"]["id"]
    for _, payload in second:
        payload["output_index"] = 1
        if payload.get("item_id") == old_id:
            payload["item_id"] = "fc_2"
        if "item" in payload:
            payload["item"] = {**payload["item"], "id": "fc_2", "call_id": "call_2"}
    frames[-1][1]["response"]["output"].append(second[-1][1]["item"])
    return frames[:11] + second + frames[11:]


def test_a_second_function_call_for_a_request_that_asked_for_one_at_most_says_so() -> None:
    """Found on Chat (LlamaIndex sends `parallel_tool_calls: false` and lost or garbled a second call); the Responses
    API takes the same request field."""
    body = dump(two_function_calls())

    def found(request: dict | None, data: bytes = body) -> list[tuple[str, int | None]]:
        check = StreamCheck("openai-responses", request_body=request)
        check.feed(data)
        return [(f.rule, f.index) for f in check.close() if f.rule == "responses/tool-calls-unrequested"]

    assert [f.rule for f in check_bytes(body).findings] == []  # two calls are a valid stream
    assert found({"model": "m", "parallel_tool_calls": False}) == [("responses/tool-calls-unrequested", 11)]
    assert found({"model": "m"}) == found({"model": "m", "parallel_tool_calls": True}) == found(None) == []
    assert found({"model": "m", "parallel_tool_calls": False}, dump(load("vercel-ai__function-call.sse"))) == []


def test_arguments_cut_only_in_the_done_item_say_a_client_of_the_deltas_runs_the_call() -> None:
    """Found with LangChain (langchain-openai 1.8): it builds a call from the argument deltas, so where they joined to
    JSON and only the done item's arguments were cut, it ran the call; the finding said no client could."""
    frames = load("vercel-ai__function-call.sse")
    whole = frames[9][1]["arguments"]
    assert "".join(frame[1]["delta"] for frame in frames[3:9]) == whole
    for change in (set_field(9, "arguments", whole[:-1]), set_field(10, "item.arguments", whole[:-1]),
                   set_field(11, "response.output.0.arguments", whole[:-1])):
        frames = change(frames)
    findings = check_bytes(dump(frames), protocol="openai-responses").findings
    assert [(f.rule, f.index) for f in findings] == [("responses/delta-mismatch", 9),
                                                     ("responses/tool-arguments-invalid-json", 10)]
    assert findings[1].message.endswith(
        "clients that take the done item's arguments cannot run the call: the openai Python SDK's parse helpers (for a "
        "strict tool) raise or get no object; a client that builds the call from the deltas (LangChain) runs it with "
        "what they joined to, which parses (`responses/delta-mismatch` sets the two side by side)")
    cut_everywhere = check_bytes(dump(cut_arguments(load("vercel-ai__function-call.sse"))), protocol="openai-responses")
    assert all("LangChain) runs it" not in f.message for f in cut_everywhere.findings)


@pytest.mark.parametrize("error", [{"error": {"message": "boom", "code": "server_error"}},
                                   {"code": "server_error", "message": "boom", "param": None}],
                         ids=["nested", "flat"])
def test_an_event_after_an_error_says_whether_the_sdk_raised_at_it(error: dict[str, Any]) -> None:
    """Found on Microsoft Agent Framework's DevUI, which sends a flat `error` and more events after it: the finding
    said the SDK "has already raised", where it raises only at a nested `error` object and otherwise hands the app
    every later event, text included."""
    late = event("response.output_text.delta", item_id=MSG, output_index=0, content_index=0, delta=" LATE")
    frames = insert(6, late)(insert(5, event("error", **error))(load(MINIMAL)[:5]))
    body = dump(frames)
    [message] = [f.message for f in check_bytes(body).findings if f.rule == "responses/event-after-error"]
    if "error" in error:
        assert message.endswith("; the Python SDK has already raised")
        with pytest.raises(openai.APIError):
            _sdk_events(body, strict=False)
    else:
        assert message.endswith("; the Python SDK raised nothing at that flat `error` and hands this to the app too, "
                                "so a client that reads on takes it")
        assert _sdk_events(body, strict=False)[-1].delta == " LATE"


def test_a_tool_call_that_never_got_its_done_item_is_judged_by_the_final_output() -> None:
    """Microsoft Agent Framework's DevUI never sends `output_item.done`: its cut arguments reached the app through
    `response.completed` (Agent Framework ran the tool with `{}`), and only `item-done-missing` was said."""
    cut = '{"location":"San'
    frames = load("vercel-ai__function-call.sse")
    frames = set_field(11, "response.output.0.arguments", cut)(frames)
    frames = drop(*range(4, 11))(set_field(3, "delta", cut)(frames))
    findings = check_bytes(dump(frames), protocol="openai-responses").findings
    assert [(f.rule, f.index) for f in findings] == [("responses/tool-arguments-invalid-json", 4),
                                                     ("responses/item-done-missing", 4)]
    assert findings[0].message.startswith("`response.completed` `response.output[0].arguments` (a `function_call` "
                                          "that never got `output_item.done`) is `'{\"location\":\"San'`, not JSON")
    whole = load("vercel-ai__function-call.sse")
    whole = drop(*range(9, 11))(whole)  # no done events, whole arguments: nothing about them
    assert "responses/tool-arguments-invalid-json" not in {f.rule for f in check_bytes(dump(whole)).findings}
