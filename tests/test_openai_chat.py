"""The Chat Completions checker: every `chat/` rule fires on a real corpus stream broken in exactly one way.

Each case loads a corpus stream, edits its parsed events (drop one, swap two, change one field), writes it back
as SSE and validates it: the broken stream gives exactly the listed `(rule, index)` findings, and the stream as
recorded is silent for that rule.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from inspector.findings import RULES
from inspector.protocols.openai_chat import checker as openai_chat
from inspector.sse import SSEParser
from inspector.validate import StreamCheck, check_bytes

CORPUS = Path(__file__).parent / "fixtures" / "corpus" / "openai-chat"
TEXT = "openai-python__text-plain.sse"  # role 0, content 1-30, finish 31, usage 32, [DONE] 33
TOOL = "openai-python__tool-call-single.sse"  # role+first fragment 0, arguments 1-14, finish 15, usage 16, [DONE] 17
PARALLEL = "openai-python__tool-calls-parallel.sse"  # call 0 at 1-12, call 1 at 13-22, finish 23, usage 24
LOGPROBS = "openai-python__logprobs-content.sse"  # role 0, content 1-2, finish 3, usage 4, [DONE] 5
DONE_TEXT = "[DONE]"

Frame = list[Any]  # [SSE event type, payload (decoded JSON, or "[DONE]")]


def load(name: str) -> list[Frame]:
    parser = SSEParser()
    events = parser.feed((CORPUS / name).read_bytes())
    parser.close()
    return [[event.type, DONE_TEXT if event.data == DONE_TEXT else json.loads(event.data)] for event in events]


def serialise(frames: list[Frame]) -> bytes:
    lines = []
    for event_type, payload in frames:
        if event_type != "message":
            lines.append(f"event: {event_type}\n")
        data = payload if payload == DONE_TEXT else json.dumps(payload)
        lines.append(f"data: {data}\n\n")
    return "".join(lines).encode()


def found(frames: list[Frame]) -> list[tuple[str, int | None]]:
    return [(finding.rule, finding.index) for finding in check_bytes(serialise(frames)).findings]


# -- mutations: each takes the parsed frames and returns the broken ones ---------------------------------------


def edit(at: int, change: Callable[[dict[str, Any]], None]) -> Callable[[list[Frame]], list[Frame]]:
    """Change one payload in place."""

    def mutate(frames: list[Frame]) -> list[Frame]:
        change(frames[at][1])
        return frames

    return mutate


def edit_delta(at: int, **fields: Any) -> Callable[[list[Frame]], list[Frame]]:
    return edit(at, lambda payload: payload["choices"][0]["delta"].update(fields))


def edit_fragment(at: int, **fields: Any) -> Callable[[list[Frame]], list[Frame]]:
    """Update the first tool-call fragment of a chunk."""
    return edit(at, lambda payload: payload["choices"][0]["delta"]["tool_calls"][0].update(fields))


def set_path(at: int, path: tuple[str | int, ...], value: Any) -> Callable[[list[Frame]], list[Frame]]:
    def change(payload: dict[str, Any]) -> None:
        for key in path[:-1]:
            payload = payload[key]
        payload[path[-1]] = value

    return edit(at, change)


def drop(at: int) -> Callable[[list[Frame]], list[Frame]]:
    return lambda frames: frames[:at] + frames[at + 1 :]


def swap(first: int, second: int) -> Callable[[list[Frame]], list[Frame]]:
    def mutate(frames: list[Frame]) -> list[Frame]:
        frames[first], frames[second] = frames[second], frames[first]
        return frames

    return mutate


def insert(at: int, frame: Frame | Callable[[list[Frame]], Frame]) -> Callable[[list[Frame]], list[Frame]]:
    def mutate(frames: list[Frame]) -> list[Frame]:
        new = frame(frames) if callable(frame) else frame
        return frames[:at] + [copy.deepcopy(new)] + frames[at:]

    return mutate


def cut_after(at: int) -> Callable[[list[Frame]], list[Frame]]:
    return lambda frames: frames[: at + 1]


def renumber_choices(old: int, new: int) -> Callable[[list[Frame]], list[Frame]]:
    def mutate(frames: list[Frame]) -> list[Frame]:
        for _, payload in frames:
            for choice in payload["choices"] if isinstance(payload, dict) else []:
                if choice["index"] == old:
                    choice["index"] = new
        return frames

    return mutate


def renumber_tool_call(old: int, new: int) -> Callable[[list[Frame]], list[Frame]]:
    def mutate(frames: list[Frame]) -> list[Frame]:
        for _, payload in frames:
            for choice in payload["choices"] if isinstance(payload, dict) else []:
                for fragment in choice["delta"].get("tool_calls") or []:
                    if fragment["index"] == old:
                        fragment["index"] = new
        return frames

    return mutate


def usage_falls_on_finish(frames: list[Frame]) -> list[Frame]:
    """AIClient-2-API's shape over Anthropic: usage on the first chunk and on the finish chunk, whose prompt count
    is 0, and no usage chunk."""
    frames[1][1]["usage"] = dict(frames[32][1]["usage"])
    usage = frames[32][1]["usage"]
    frames[31][1]["usage"] = {**usage, "prompt_tokens": 0, "total_tokens": usage["completion_tokens"]}
    return frames[:32] + frames[33:]


def move_usage_onto_finish(frames: list[Frame]) -> list[Frame]:
    """DeepSeek's shape: `usage` on the finish chunk, no `choices: []` usage chunk."""
    frames[31][1]["usage"] = frames[32][1]["usage"]
    return frames[:32] + frames[33:]


def both(*mutations: Callable[[list[Frame]], list[Frame]]) -> Callable[[list[Frame]], list[Frame]]:
    def mutate(frames: list[Frame]) -> list[Frame]:
        for mutation in mutations:
            frames = mutation(frames)
        return frames

    return mutate


def reasoning_only(opener: Frame) -> Frame:
    """A DeepSeek-style first chunk: reasoning, no role (the role comes on the next chunk)."""
    frame = copy.deepcopy(opener)
    frame[1]["choices"][0]["delta"] = {"reasoning_content": "Let me think."}
    return frame


def without_usage(frame: Frame) -> Frame:
    """A trailing `choices: []` chunk like `frame` with `"usage": null`: after a chunk that carried usage, the
    stream helper keeps none."""
    frame = copy.deepcopy(frame)
    frame[1].update(choices=[], usage=None)
    return frame


def empty_choice(finish: Frame, **fields: Any) -> Frame:
    """A chunk for a finished choice that carries nothing: empty delta, `finish_reason: null` (and `fields`)."""
    frame = copy.deepcopy(finish)
    frame[1]["choices"][0].update(delta={}, finish_reason=None)
    frame[1].update(fields)
    return frame


AZURE_PROMPT_FILTER: Frame = [
    "message",
    {"choices": [], "created": 0, "id": "", "model": "", "object": "",
     "prompt_filter_results": [{"prompt_index": 0, "content_filter_results": {}}]},
]
IN_BAND_ERROR: Frame = ["message", {"error": {"message": "The server had an error", "type": "server_error"}}]

# (rule, corpus file, mutation, the findings of the broken stream)
CASES: list[tuple[str, str, Callable[[list[Frame]], list[Frame]], list[tuple[str, int | None]]]] = [
    ("chat/event-name", TEXT, lambda frames: [frames[0], ["chunk", frames[1][1]], *frames[2:]],
     [("chat/event-name", 1)]),
    ("chat/schema", TEXT, set_path(2, ("choices", 0, "index"), "0"), [("chat/schema", 2)]),
    ("chat/schema", TEXT, set_path(5, ("created",), 1727346170.5),
     [("chat/schema", 5), ("chat/created-changed", 5)]),
    ("chat/schema", TEXT, edit(5, lambda payload: payload["choices"][0].pop("finish_reason")), [("chat/schema", 5)]),
    ("chat/schema", TEXT, lambda frames: frames[:3] + [["message", [1, 2]]] + frames[3:], [("chat/schema", 3)]),
    ("chat/object-invalid", TEXT, set_path(32, ("object",), "chat.completion.done"), [("chat/object-invalid", 32)]),
    ("chat/prompt-filter-frame", TEXT, insert(0, AZURE_PROMPT_FILTER), [("chat/prompt-filter-frame", 0)]),
    ("chat/identity-changed", TEXT, set_path(5, ("model",), "gpt-4o-mini"), [("chat/identity-changed", 5)]),
    ("chat/created-changed", TEXT, set_path(5, ("created",), 1727346170), [("chat/created-changed", 5)]),
    ("chat/choice-index-gap", TEXT, renumber_choices(0, 1),
     [("chat/choice-index-gap", 0)]),  # choice 0 never appearing is that gap, not also a missing finish
    ("chat/role-missing", TEXT, edit(0, lambda payload: payload["choices"][0]["delta"].pop("role")),
     [("chat/role-missing", 0)]),
    ("chat/role-late", TEXT, both(edit(0, lambda payload: payload["choices"][0]["delta"].pop("role")),
                                  edit_delta(3, role="assistant")), [("chat/role-late", 3)]),
    ("chat/role-late", TEXT, insert(0, lambda frames: reasoning_only(frames[0])), [("chat/role-late", 1)]),
    ("chat/role-unexpected", TEXT, edit_delta(0, role="user"), [("chat/role-unexpected", 0)]),
    ("chat/role-repeated", TEXT, edit_delta(3, role="assistant"), [("chat/role-repeated", 3)]),
    ("chat/finish-reason-repeated", TEXT, insert(32, lambda frames: frames[31]),
     [("chat/finish-reason-repeated", 32)]),
    ("chat/choice-after-finish", TEXT, swap(30, 31), [("chat/choice-after-finish", 31)]),
    # found on Portkey's Gemini translation: every chunk carries text and the finish again
    ("chat/choice-after-finish", TEXT, both(swap(30, 31), set_path(31, ("choices", 0, "finish_reason"), "stop")),
     [("chat/choice-after-finish", 31), ("chat/finish-reason-repeated", 31)]),
    ("chat/empty-choice-after-finish", TEXT, insert(32, lambda frames: empty_choice(frames[31])),
     [("chat/empty-choice-after-finish", 32)]),
    ("chat/finish-reason-missing", TEXT, drop(31), [("chat/finish-reason-missing", 32)]),
    # openai-gemini: its last chunk lacks the key: one omission, one finding
    ("chat/finish-reason-missing", TEXT, edit(31, lambda payload: payload["choices"][0].pop("finish_reason")),
     [("chat/finish-reason-missing", 33)]),
    ("chat/finish-reason-mismatch", TOOL, set_path(15, ("choices", 0, "finish_reason"), "stop"),
     [("chat/finish-reason-mismatch", 15)]),
    ("chat/finish-reason-mismatch", TEXT, set_path(31, ("choices", 0, "finish_reason"), "tool_calls"),
     [("chat/finish-reason-mismatch", 31)]),
    ("chat/content-and-refusal", TEXT, edit_delta(3, refusal="I can't."), [("chat/content-and-refusal", 3)]),
    ("chat/logprobs-mismatch", LOGPROBS, edit(1, lambda payload: payload["choices"][0]["delta"].pop("content")),
     [("chat/logprobs-mismatch", 1)]),
    ("chat/tool-call-index-gap", PARALLEL, renumber_tool_call(1, 2), [("chat/tool-call-index-gap", 13)]),
    ("chat/tool-call-index-gap", PARALLEL, renumber_tool_call(1, -1), [("chat/tool-call-index-gap", 13)]),
    ("chat/delta-list-without-index", TEXT, both(edit_delta(2, x_extra=[{"type": "thought", "text": "a"}]),
                                                 edit_delta(3, x_extra=[{"type": "thought", "text": "b"}])),
     [("chat/delta-list-without-index", 3)]),
    ("chat/tool-call-start-incomplete", TOOL,
     edit(0, lambda payload: payload["choices"][0]["delta"]["tool_calls"][0].pop("id")),
     [("chat/tool-call-start-incomplete", 0)]),
    ("chat/tool-call-changed", TOOL, set_path(4, ("choices", 0, "delta", "tool_calls", 0, "function", "name"), "x"),
     [("chat/tool-call-changed", 4)]),
    ("chat/tool-call-repeated", TOOL, edit_fragment(4, id="call_c91SqDXlYFuETYv8mUHzz6pp"),
     [("chat/tool-call-repeated", 4)]),
    ("chat/tool-name-repeated", TOOL, edit_fragment(4, function={"name": "GetWeatherArgs", "arguments": "in"}),
     [("chat/tool-name-repeated", 4)]),
    ("chat/tool-arguments-invalid-json", TOOL, drop(14), [("chat/tool-arguments-invalid-json", 14)]),
    ("chat/tool-call-cut-at-length", TOOL, both(set_path(15, ("choices", 0, "finish_reason"), "length"), drop(14)),
     [("chat/tool-call-cut-at-length", 14)]),
    ("chat/usage-repeated", TEXT, insert(33, lambda frames: frames[32]), [("chat/usage-repeated", 33)]),
    ("chat/usage-early", TEXT, swap(31, 32), [("chat/usage-early", 32)]),
    ("chat/usage-on-choice-chunk", TEXT, move_usage_onto_finish, [("chat/usage-on-choice-chunk", 31)]),
    ("chat/usage-negative", TEXT, set_path(32, ("usage",), {"prompt_tokens": -1, "completion_tokens": -1,
                                                             "total_tokens": -1}),
     [("chat/usage-negative", 32)]),  # langchain-openai-api-bridge's placeholder: not a total mismatch too
    ("chat/usage-decreased", TEXT, usage_falls_on_finish,
     [("chat/usage-on-choice-chunk", 1), ("chat/usage-decreased", 31)]),
    ("chat/usage-total-mismatch", TEXT, set_path(32, ("usage", "total_tokens"), 45),
     [("chat/usage-total-mismatch", 32)]),
    # found on Portkey's Anthropic translation: Anthropic's `input_tokens` leave the cache reads out
    ("chat/usage-cached-exceeds-prompt", TEXT, set_path(32, ("usage", "prompt_tokens_details"), {"cached_tokens": 15}),
     [("chat/usage-cached-exceeds-prompt", 32)]),
    ("chat/usage-dropped", TEXT, both(move_usage_onto_finish, insert(32, lambda frames: without_usage(frames[31]))),
     [("chat/usage-on-choice-chunk", 31), ("chat/usage-dropped", 32)]),
    ("chat/error-event", TEXT, both(cut_after(9), insert(10, IN_BAND_ERROR)), [("chat/error-event", 10)]),
    ("chat/chunk-after-error", TEXT, insert(10, IN_BAND_ERROR),
     [("chat/error-event", 10), ("chat/chunk-after-error", 11)]),
    ("chat/done-missing", TEXT, drop(33), [("chat/done-missing", 32)]),
    ("chat/done-missing", TEXT, cut_after(10), [("chat/done-missing", 10)]),  # the choice left open: named there
    ("chat/done-repeated", TEXT, insert(34, ["message", DONE_TEXT]), [("chat/done-repeated", 34)]),
    ("chat/event-after-done", TEXT, swap(32, 33), [("chat/event-after-done", 33)]),
]


@pytest.mark.parametrize(
    ("rule_id", "name", "mutation", "expected"),
    [pytest.param(*case, id=f"{case[0]}-{number}") for number, case in enumerate(CASES)],
)
def test_rule_fires_on_the_broken_stream_only(
    rule_id: str, name: str, mutation: Callable[[list[Frame]], list[Frame]], expected: list[tuple[str, int | None]]
) -> None:
    frames = load(name)
    assert [pair for pair in found(frames) if pair[0] == rule_id] == []
    assert found(mutation(copy.deepcopy(frames))) == expected


NEEDS_THE_REQUEST = {"chat/usage-not-sent", "chat/usage-over-limit", "chat/choices-missing", "chat/choices-unrequested",
                     "chat/tool-calls-unrequested"}
"""Rules that judge a stream against its recorded request: their cases are in tests/test_validate_layer.py,
tests/test_token_limit.py and below (`choices-missing`, `choices-unrequested`, `tool-calls-unrequested`)."""


def test_every_chat_rule_has_a_case() -> None:
    registered = {rule_id for rule_id in RULES if rule_id.startswith("chat/")}
    assert {case[0] for case in CASES} | NEEDS_THE_REQUEST == registered
    assert openai_chat.Checker.name == "openai-chat"


# -- findings on whole corpus streams -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("openai-python__tool-call-finish-stop.sse", [("chat/finish-reason-mismatch", 8)]),
        ("vercel-ai__azure-prompt-filter-first-chunk.sse", [("chat/prompt-filter-frame", 0)]),
        ("vercel-ai__compat-deepseek-reasoning-tool-call.sse", [("chat/usage-on-choice-chunk", 51)]),
        ("pydantic-ai__compat-groq-error-event-midstream.sse", [("chat/event-name", 94), ("chat/error-event", 94)]),
        ("pydantic-ai__compat-snowflake-no-finish-reason.sse",
         [("chat/role-repeated", 1), ("chat/finish-reason-missing", 3)]),
    ],
)
def test_vendor_departures(name: str, expected: list[tuple[str, int | None]]) -> None:
    assert found(load(name)) == expected


@pytest.mark.parametrize(
    ("mutation", "expected"),
    [(both(drop(14), set_path(14, ("choices", 0, "finish_reason"), "stop")),
      [("chat/finish-reason-mismatch", 14), ("chat/tool-arguments-invalid-json", 14)]),
     (both(drop(14), set_path(14, ("choices", 0, "finish_reason"), "length")),
      [("chat/tool-call-cut-at-length", 14)]),  # the cut's warning, not the arguments' error
     (lambda frames: edit_fragment(0, function={"name": "get_weather", "arguments": "[1]"})(frames[:1] + frames[15:]),
      [("chat/tool-arguments-invalid-json", 1)])],
    ids=["judged-at-stop", "length-exempt", "array-not-object"],
)
def test_tool_arguments_policy(mutation: Callable[[list[Frame]], list[Frame]],
                               expected: list[tuple[str, int | None]]) -> None:
    assert found(mutation(load(TOOL))) == expected


def test_a_falling_usage_count_is_said_with_what_the_stream_helper_keeps() -> None:
    """Found on AIClient-2-API 3.1.9: `prompt_tokens` 14 on the first chunk, 0 on the finish chunk; the openai SDK's
    `get_final_completion()` reports the 0."""
    frames = usage_falls_on_finish(load(TEXT))
    assert _helper_usage(serialise(frames)).prompt_tokens == 0
    [finding] = [f for f in check_bytes(serialise(frames), protocol="openai-chat").findings
                 if f.rule == "chat/usage-decreased"]
    assert finding.message == ("`usage.prompt_tokens` went from 14 (event 1) to 0: the counts only grow within a "
                               "stream, so one of the two is wrong; the openai Python SDK's stream helper keeps the "
                               "last chunk's `usage` as its completion's (reported once)")


def test_a_usage_count_that_falls_then_grows_again_is_not_said_to_end_low() -> None:
    """Braintrust's proxy over Gemini: `completion_tokens` 51, 0, 22, ... 108; the helper's completion says 108, the
    last, so the message names no number the helper would end with."""
    frames = usage_falls_on_finish(load(TEXT))
    frames[2][1]["usage"] = frames[31][1]["usage"]  # the count falls at event 2, then the finish chunk's
    frames[31][1]["usage"] = dict(frames[1][1]["usage"])  # brings it back
    assert _helper_usage(serialise(frames)).prompt_tokens == 14
    [finding] = [f for f in check_bytes(serialise(frames), protocol="openai-chat").findings
                 if f.rule == "chat/usage-decreased"]
    assert "its completion says" not in finding.message


def test_a_growing_usage_on_every_chunk_is_not_said_to_fall() -> None:
    """vLLM's continuous usage: the completion count grows chunk by chunk, the prompt count stays."""
    frames = load(TEXT)
    usage = frames[32][1]["usage"]
    for position in range(1, 32):
        completion = usage["completion_tokens"] * position // 31
        frames[position][1]["usage"] = {**usage, "completion_tokens": completion,
                                        "total_tokens": usage["prompt_tokens"] + completion}
    assert "chat/usage-decreased" not in [rule for rule, _ in found(frames)]


def test_usage_on_an_empty_choice_after_its_finish_is_one_warning() -> None:
    """The usage chunk carries an empty choice 0 after choice 0's finish: nothing is lost, usage is misplaced."""
    frames = load(TEXT)
    frames[32][1]["choices"] = [{"index": 0, "delta": {}, "logprobs": None, "finish_reason": None}]
    assert found(frames) == [("chat/usage-on-choice-chunk", 32)]


@pytest.mark.parametrize("fast_path", [True, False])
def test_usage_on_an_early_chunk_is_dropped_by_the_chunks_after_it_whichever_path_reads_them(fast_path: bool) -> None:
    """Usage on the first content chunk only: every chunk after it has none, so the openai Python SDK's stream helper
    (which keeps the last chunk's) ends with none, said once where it began. The fast path, which takes such text
    chunks without judging them one by one, must not hide it."""
    frames = load(TEXT)
    frames[1][1]["usage"] = frames[32][1]["usage"]
    frames = frames[:32] + frames[33:]
    check = StreamCheck()
    check.fast_path = fast_path
    check.feed(serialise(frames))
    assert [(finding.rule, finding.index) for finding in check.close()] == [
        ("chat/usage-on-choice-chunk", 1), ("chat/usage-dropped", 2)]


def test_usage_on_the_last_chunk_or_unknown_there_is_not_said_dropped() -> None:
    """A running total that the last chunk carries too (Perplexity) leaves the stream helper the usage; after a
    chunk of unknown content (it may have carried usage), or in a stream cut short, whether it has one is not
    known."""
    frames = load(TEXT)
    frames[1][1]["usage"] = frames[31][1]["usage"] = frames[32][1]["usage"]
    frames = frames[:32] + frames[33:]
    assert found(frames) == [("chat/usage-on-choice-chunk", 1)]
    frames[31][1]["usage"] = None
    unknown_last = serialise(frames[:32]) + b"data: {not json\n\n" + serialise(frames[32:])
    assert "chat/usage-dropped" not in {finding.rule for finding in check_bytes(unknown_last).findings}
    cut = serialise(frames[:20])  # what the chunks after the cut would have carried is not known
    assert "chat/usage-dropped" not in {finding.rule for finding in check_bytes(cut).findings}


def test_openais_moderation_chunk_after_the_usage_chunk_is_not_said_to_drop_it() -> None:
    """OpenAI sends a `choices: []` chunk with `moderation` after the usage chunk when moderation is on (observed)."""
    frames = load(TEXT)
    moderated = insert(33, lambda frames: ["message", {**frames[32][1], "choices": [], "usage": None,
                                                       "moderation": {"flagged": False}}])
    assert found(moderated(frames)) == []
    assert found(insert(33, lambda frames: without_usage(frames[32]))(load(TEXT))) == [("chat/usage-dropped", 33)]


def test_content_after_finish_stays_an_error_with_usage_on_it() -> None:
    frames = load(TEXT)
    frames[32][1]["choices"] = [{"index": 0, "delta": {"content": "!"}, "finish_reason": None}]
    assert found(frames) == [("chat/choice-after-finish", 32), ("chat/usage-on-choice-chunk", 32)]


def test_a_role_that_never_comes_is_reported_at_the_choice_opening() -> None:
    frames = edit(0, lambda payload: payload["choices"][0]["delta"].pop("role"))(load(TEXT))
    messages = [f.message for f in check_bytes(serialise(frames)).findings]
    assert messages == ["choice `0` never carried `delta.role` (expected `\"role\": \"assistant\"` on its "
                        "first chunk): the openai Python SDK's assembled message has no role, and sending it back into "
                        "the conversation fails"]


def test_a_fault_on_every_chunk_is_reported_once() -> None:
    """Perplexity repeats the role and omits `finish_reason` on every chunk: one finding each, not one per chunk."""
    rules = [rule_id for rule_id, _ in found(load("vercel-ai__compat-perplexity-done-object.sse"))]
    assert sorted(rules) == ["chat/created-changed", "chat/object-invalid", "chat/role-repeated", "chat/schema",
                             "chat/usage-on-choice-chunk"]


@pytest.mark.parametrize(
    ("mutation", "start"),
    [(set_path(2, ("choices", 0, "index"), "0"), "chunk: `choices[0].index`: expected an integer, got string `\"0\"`"),
     (set_path(2, ("choices", 0, "finish_reason"), "done"),
      "chunk: `choices[0].finish_reason`: expected 'stop', 'length', 'tool_calls', 'content_filter' or "
      "'function_call', got string `\"done\"`"),
     (edit(2, lambda payload: payload.pop("model")), "chunk: `model` is required but missing"),
     (lambda frames: frames[:2] + [["message", [1]]] + frames[3:],
      "expected a JSON object (a chunk or an error), got an array")],
)
def test_schema_message_names_the_field_and_what_was_expected(
    mutation: Callable[[list[Frame]], list[Frame]], start: str
) -> None:
    findings = check_bytes(serialise(mutation(load(TEXT)))).findings
    assert [finding.message[: len(start)] for finding in findings if finding.rule == "chat/schema"] == [start]


# -- the Assembly, computed independently from the raw frames --------------------------------------------------


def expected_outputs(frames: list[Frame]) -> dict[int, dict[str, Any]]:
    outputs: dict[int, dict[str, Any]] = {}
    for _, payload in frames:
        if payload == DONE_TEXT or "choices" not in payload:
            continue
        for choice in payload["choices"]:
            out = outputs.setdefault(choice["index"], {"text": "", "reasoning": "", "refusal": "", "tools": {},
                                                       "finish_reason": None})
            piece = choice["delta"]
            out["text"] += piece.get("content") or ""
            out["refusal"] += piece.get("refusal") or ""
            out["reasoning"] += piece.get("reasoning_content") or piece.get("reasoning") or ""
            for fragment in piece.get("tool_calls") or []:
                tool = out["tools"].setdefault(fragment["index"], {"id": None, "name": None, "arguments": ""})
                tool["id"] = tool["id"] or fragment.get("id")
                tool["name"] = tool["name"] or fragment.get("function", {}).get("name")
                tool["arguments"] += fragment.get("function", {}).get("arguments") or ""
            out["finish_reason"] = out["finish_reason"] or choice.get("finish_reason")
    return outputs


@pytest.mark.parametrize(
    "name",
    [TEXT, TOOL, PARALLEL, "openai-python__n3-multiple-choices.sse", "openai-python__refusal.sse",
     "vercel-ai__compat-deepseek-reasoning-tool-call.sse", "vercel-ai__azure-prompt-filter-first-chunk.sse"],
)
def test_assembly_matches_the_streamed_deltas(name: str) -> None:
    frames = load(name)
    assembly = check_bytes(serialise(frames)).assembly
    expected = expected_outputs(frames)
    assert {
        index: {"text": out.text, "reasoning": out.reasoning, "refusal": out.refusal,
                "tools": {i: call.to_json() for i, call in enumerate(out.tool_calls)},
                "finish_reason": out.finish_reason}
        for index, out in assembly.outputs.items()
    } == expected
    chunks = [payload for _, payload in frames if payload != DONE_TEXT]
    usages = [payload["usage"] for payload in chunks if payload.get("usage")]
    real = [payload for payload in chunks if payload["id"]]
    assert (assembly.protocol, assembly.model, assembly.response_id, assembly.status, assembly.usage,
            assembly.error) == ("openai-chat", real[0]["model"], real[0]["id"], expected[0]["finish_reason"],
                                usages[-1], None)


@pytest.mark.parametrize(
    ("name", "first_content"),
    [(TEXT, 1), (TOOL, 0), (PARALLEL, 1), ("openai-python__finish-length-max-tokens.sse", 1),
     ("vercel-ai__azure-prompt-filter-first-chunk.sse", 2)],
)
def test_first_content_index_skips_envelope_and_role_only_chunks(name: str, first_content: int) -> None:
    assert check_bytes((CORPUS / name).read_bytes()).assembly.first_content_index == first_content


def test_in_band_error_message_goes_to_the_assembly() -> None:
    assembly = check_bytes((CORPUS / "pydantic-ai__compat-groq-error-event-midstream.sse").read_bytes()).assembly
    assert (assembly.error or "").startswith("Tool call validation failed: tool call validation failed:")
    assert (assembly.status, assembly.text, assembly.reasoning[:8]) == (None, "", "We need ")


def test_tool_arguments_are_exact_however_many_fragments() -> None:
    """Arguments of 10,000 fragments are joined exactly, and stay exact when read mid-stream."""
    frames = load(TOOL)
    fragment = frames[1]
    pieces = [f"{number}," for number in range(10_000)]
    middle = []
    for piece in pieces:
        frame = copy.deepcopy(fragment)
        frame[1]["choices"][0]["delta"]["tool_calls"][0]["function"]["arguments"] = piece
        middle.append(frame)
    stream = frames[:1] + middle + frames[15:]
    assembly = check_bytes(serialise(stream)).assembly
    assert assembly.tool_calls[0].arguments == "".join(pieces)
    assert assembly.tool_calls[0].to_json()["arguments"] == "".join(pieces)


def test_long_text_is_kept_exactly() -> None:
    frames = load(TEXT)
    middle = [copy.deepcopy(frames[1]) for _ in range(9_000)]
    for number, frame in enumerate(middle):
        frame[1]["choices"][0]["delta"]["content"] = f"{number} "
    check = check_bytes(serialise(frames[:1] + middle + frames[31:]))
    assert check.assembly.text == "".join(f"{number} " for number in range(9_000))
    assert len(check.assembly.output(0).text_parts) < 4096


def test_deprecated_function_call_is_assembled_like_a_tool_call() -> None:
    frames = load(TEXT)
    opener, fragment, finish = (copy.deepcopy(frames[index]) for index in (0, 1, 31))
    opener[1]["choices"][0]["delta"] = {"role": "assistant", "content": None, "function_call": {"name": "f",
                                                                                                 "arguments": ""}}
    pieces = ['{"a"', ": 1}"]
    middle = []
    for piece in pieces:
        frame = copy.deepcopy(fragment)
        frame[1]["choices"][0]["delta"] = {"function_call": {"arguments": piece}}
        middle.append(frame)
    finish[1]["choices"][0]["finish_reason"] = "function_call"
    check = check_bytes(serialise([opener, *middle, finish, *frames[32:]]))
    calls = [(call.to_json(), call.kind) for call in check.assembly.tool_calls]
    assert (calls, check.assembly.status, check.findings) == (
        [({"id": None, "name": "f", "arguments": '{"a": 1}'}, "function_call")], "function_call", []
    )


@pytest.mark.parametrize(
    ("error", "message"),
    [({"message": "overloaded", "type": "server_error"}, "overloaded"), ("boom", "boom"),
     ({"code": 500}, "An error occurred during streaming")],
)
def test_in_band_error_message(error: Any, message: str) -> None:
    frames = load(TEXT)[:5] + [["message", {"error": error}]]
    assert check_bytes(serialise(frames)).assembly.error == message


def test_a_huge_choice_index_is_one_gap_not_a_billion_findings() -> None:
    frames = load(TEXT)
    frames = renumber_choices(0, 10**9)(edit_delta(0, role="bogus")(frames))
    assert found(frames) == [("chat/schema", 0), ("chat/choice-index-gap", 0)]


def test_fragments_without_index_are_still_assembled() -> None:
    """Mistral sends whole tool calls without `index` or `type`: the SDK raises, the Assembly still shows them."""
    frames = load(TOOL)
    first = frames[0][1]["choices"][0]["delta"]["tool_calls"][0]
    for key in ("index", "type"):
        first.pop(key)
    first["function"]["arguments"] = '{"city": "Paris"}'
    frames = frames[:1] + frames[15:]
    check = check_bytes(serialise(frames))
    assert [(f.rule, f.index) for f in check.findings] == [("chat/schema", 0), ("chat/tool-call-start-incomplete", 0)]
    assert [call.to_json() for call in check.assembly.tool_calls] == [
        {"id": "call_c91SqDXlYFuETYv8mUHzz6pp", "name": "GetWeatherArgs", "arguments": '{"city": "Paris"}'}
    ]


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-2, 2) | st.floats(allow_nan=False) | st.text(max_size=3),
    lambda inner: st.lists(inner, max_size=2) | st.dictionaries(st.sampled_from(["index", "role", "x"]), inner,
                                                                max_size=2),
    max_leaves=4,
)


def _paths(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found_paths = [path]
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else []
    for key, item in items:
        found_paths.extend(_paths(item, (*path, key)))
    return found_paths


@settings(max_examples=150, deadline=None)
@given(data=st.data(), name=st.sampled_from([TEXT, TOOL, PARALLEL, LOGPROBS]))
def test_any_one_field_changed_never_raises(data: st.DataObject, name: str) -> None:
    """Wire data is reported, never raised on: replace any one value of any event with any JSON value."""
    frames = load(name)
    at = data.draw(st.integers(0, len(frames) - 2))
    path = data.draw(st.sampled_from(_paths(frames[at][1])))
    value = data.draw(JSON_VALUES)
    if path:
        set_path(at, path, value)(frames)
    else:
        frames[at][1] = value
    check = check_bytes(serialise(frames))
    assert all(finding.rule.startswith(("chat/", "sse/")) for finding in check.findings)
    assert isinstance(check.assembly.text + "".join(call.arguments for call in check.assembly.tool_calls), str)


def test_a_choice_that_fills_a_gap_is_not_reported_again() -> None:
    """n=3 with choice 1 opening before choice 0: one gap, at the choice that came early."""
    frames = load("openai-python__n3-multiple-choices.sse")
    frames = [frames[2], *frames[:2], *frames[3:]]  # choice 1's opening chunk moved first
    assert found(frames) == [("chat/choice-index-gap", 0)]


@pytest.mark.parametrize(("reasoning", "total", "says"), [
    (64, 76, " (the total adds `reasoning_tokens` 64, which OpenAI counts inside `completion_tokens`)"),
    (64, 80, ""), (None, 76, "")])
def test_a_total_that_counts_reasoning_twice_says_so(reasoning: int | None, total: int, says: str) -> None:
    """mock-openai-api's thinking model adds the reasoning tokens to prompt + completion: the finding names the sum
    it made, when that is what the numbers show, and only then."""
    usage = {"prompt_tokens": 2, "completion_tokens": 10, "total_tokens": total}
    if reasoning is not None:
        usage["completion_tokens_details"] = {"reasoning_tokens": reasoning}
    chunk = {"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m", "choices": [], "usage": usage}
    findings = check_bytes(f"data: {json.dumps(chunk)}\n\ndata: [DONE]\n\n".encode(), "openai-chat").findings
    [message] = [f.message for f in findings if f.rule == "chat/usage-total-mismatch"]
    assert message == (f"`total_tokens` is `{total}`, expected `prompt_tokens + completion_tokens` = 2 + 10 = "
                       f"12{says}: billing and budgets built on usage disagree (reported once)")


@pytest.mark.parametrize(("tool_call", "helper"), [
    ({"id": "x", "type": "function", "function": {"name": "f", "arguments": "{}"}}, True),
    ({"index": None, "id": "x", "type": "function", "function": {"name": "f", "arguments": "{}"}}, True),
    ({"index": "0", "id": "x", "type": "function", "function": {"name": "f", "arguments": "{}"}}, False),
    ({"index": 0, "id": 7, "type": "function", "function": {"name": "f", "arguments": "{}"}}, False)])
def test_a_tool_call_without_an_integer_index_says_the_stream_helper_raises(tool_call: dict, helper: bool) -> None:
    """openai-mock-api 0.4.0 streams tool calls without `index`: `client.chat.completions.stream()` raises
    `TypeError` on them (tried; it reads an `index` of `"0"` as 0), which is more than a field read wrong."""
    chunk = {"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m",
             "choices": [{"index": 0, "delta": {"role": "assistant", "tool_calls": [tool_call]},
                          "finish_reason": None}]}
    findings = check_bytes(f"data: {json.dumps(chunk)}\n\ndata: [DONE]\n\n".encode(), "openai-chat").findings
    [message] = [f.message for f in findings if f.rule == "chat/schema"]
    assert ("its stream helper raises `TypeError` on a tool call without an `index`" in message) is helper


def test_a_finish_sent_to_a_choice_that_never_was_is_the_gap_and_the_unfinished_choice() -> None:
    """aimock 0.2.9 sends its finish chunk for choice `n` (its chunk count): the stream helper raises `IndexError`
    there (tried). The gap is said where it came, and choice 0, which never finished, once; the choices between
    are the same gap, not findings of their own."""
    frames = load(TEXT)
    last = frames[-3][1]
    last["choices"][0]["index"] = 12
    assert last["choices"][0]["finish_reason"] is not None
    found_here = found(frames)
    assert [rule for rule, _ in found_here] == ["chat/choice-index-gap", "chat/finish-reason-missing"]


def _helper_usage(body: bytes) -> object:
    """The usage the openai Python SDK's stream helper ends with on this stream."""
    transport = httpx.MockTransport(lambda request: httpx.Response(
        200, content=body, headers={"content-type": "text/event-stream"}))
    client = openai.OpenAI(api_key="k", base_url="http://endpoint/v1", http_client=httpx.Client(transport=transport))
    with client.chat.completions.stream(model="m", messages=[{"role": "user", "content": "hi"}]) as stream:
        return stream.get_final_completion().usage


@pytest.mark.parametrize(("mutation", "lost", "said"), [
    (move_usage_onto_finish, False, False),
    (both(move_usage_onto_finish, insert(32, lambda frames: without_usage(frames[31]))), True, True),
    (lambda frames: [*frames[:1], ["message", {**frames[1][1], "usage": frames[32][1]["usage"]}],
                     *frames[2:32], *frames[33:]], True, True),
    (insert(33, lambda frames: ["message", {**frames[32][1], "choices": [], "usage": None, "moderation": {}}]),
     True, False),  # OpenAI's own moderation chunk: the Python SDK's way with OpenAI's stream, not the server's fault
    (both(move_usage_onto_finish, insert(32, lambda frames: empty_choice(frames[31], usage=None))), True, True),
    (swap(31, 32), True, False),  # the usage chunk before the finish chunk: `chat/usage-early` says it, once
])
def test_usage_dropped_says_what_the_openai_stream_helper_does(mutation: Callable[[list[Frame]], list[Frame]],
                                                               lost: bool, said: bool) -> None:
    body = serialise(mutation(load(TEXT)))
    findings = check_bytes(body).findings
    assert (_helper_usage(body) is None, "chat/usage-dropped" in {f.rule for f in findings}) == (lost, said)
    assert all("stream helper" in f.message for f in findings if f.rule == "chat/usage-early")


def test_an_empty_choice_after_usage_on_the_finish_chunk_is_not_said_to_lose_nothing() -> None:
    """DeepSeek's usage on the finish chunk, then an empty chunk for the finished choice: the chunk adds nothing to
    the answer, but the stream helper loses the usage there (said by `chat/usage-dropped`)."""
    frames = both(move_usage_onto_finish, insert(32, lambda frames: empty_choice(frames[31], usage=None)))(load(TEXT))
    findings = check_bytes(serialise(frames)).findings
    assert [(f.rule, f.index) for f in findings] == [("chat/usage-on-choice-chunk", 31),
                                                     ("chat/empty-choice-after-finish", 32), ("chat/usage-dropped", 32)]
    assert not any("loses anything" in f.message for f in findings)


_USAGE = {"prompt_tokens": 9, "completion_tokens": 3, "total_tokens": 12}


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from(["absent", "null", "usage"]), min_size=2, max_size=6))
def test_usage_dropped_fires_exactly_when_the_stream_helper_ends_without_usage_the_stream_sent(
        usage_on: list[str]) -> None:
    """Content chunks and a finish chunk, each with usage absent, null or present: the rule fires exactly when the
    openai Python SDK's stream helper ends with none although some chunk carried it."""
    chunks = []
    for number, usage in enumerate(usage_on):
        last = number == len(usage_on) - 1
        delta = {"content": f"w{number} "} if not last else {}
        if number == 0:
            delta["role"] = "assistant"
        chunk = {"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m",
                 "choices": [{"index": 0, "delta": delta, "finish_reason": "stop" if last else None}]}
        if usage != "absent":
            chunk["usage"] = _USAGE if usage == "usage" else None
        chunks.append(f"data: {json.dumps(chunk)}\n\n")
    body = ("".join(chunks) + "data: [DONE]\n\n").encode()
    lost = "usage" in usage_on and _helper_usage(body) is None
    assert ("chat/usage-dropped" in {f.rule for f in check_bytes(body).findings}) is lost


def test_cached_tokens_up_to_the_prompt_tokens_are_silent_and_more_are_said_with_the_arithmetic() -> None:
    def messages(cached: int) -> list[str]:
        frames = set_path(32, ("usage", "prompt_tokens_details"), {"cached_tokens": cached})(load(TEXT))
        check = check_bytes(serialise(frames), protocol="openai-chat")
        return [f.message for f in check.findings if f.rule == "chat/usage-cached-exceeds-prompt"]

    assert messages(14) == []  # the whole prompt from the cache
    assert messages(15) == ["`prompt_tokens_details.cached_tokens` is `15`, more than `prompt_tokens` `14`, which "
                            "counts them: a client that prices the uncached prompt as `prompt_tokens - "
                            "cached_tokens` gets -1 (reported once)"]


def test_a_negative_tool_call_index_says_where_the_sdk_puts_its_fragments() -> None:
    """Found on Portkey's Anthropic translation (`"index":-1` for a server tool): the SDK reads it as `list[-1]`."""
    check = check_bytes(serialise(renumber_tool_call(1, -1)(load(PARALLEL))), protocol="openai-chat")
    [message] = [f.message for f in check.findings if f.rule == "chat/tool-call-index-gap"]
    assert message.startswith("choice `0` tool call `-1` opened with a negative index (the next new one should be "
                              "`1`): the openai Python SDK finds calls by list position, so it adds this call's "
                              "fragments to whichever call is last")


def test_a_huge_tool_call_index_is_judged_in_bounded_memory() -> None:
    """A hostile `"index": 1000000000000` made `validate` build the range of indexes it skipped: all memory, then the
    OOM killer (10**7 took 600 MB). The index gap is judged by counting the chunk's fragments instead."""
    import tracemalloc

    frames = renumber_tool_call(1, 10**6)(load(PARALLEL))
    tracemalloc.start()
    try:
        check = check_bytes(serialise(frames), protocol="openai-chat")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert [f.index for f in check.findings if f.rule == "chat/tool-call-index-gap"] == [13]
    assert peak < 8_000_000  # NOTE: the range of 10**6 indexes alone took more than 30 MB


def sdk_stream_helper_error(frames: list[Frame]) -> str | None:
    """What the openai SDK's stream helper (`ChatCompletionStreamState`, behind `chat.completions.stream()`) raises
    on these chunks, or None."""
    from openai.lib.streaming.chat._completions import ChatCompletionStreamState
    from openai.types.chat import ChatCompletionChunk

    state = ChatCompletionStreamState()
    for _, payload in frames:
        if isinstance(payload, dict) and "choices" in payload:
            try:
                state.handle_chunk(ChatCompletionChunk.construct(**payload))
            except Exception as error:  # noqa: BLE001  what the Python SDK raised is the point
                return type(error).__name__
    return None


@pytest.mark.parametrize(("first", "second", "raises"), [
    ([{"type": "thought", "text": "a"}], [{"type": "thought", "text": "b"}], "RuntimeError"),  # TensorZero's shape
    ([{"index": 0, "text": "a"}], ["b"], "TypeError"),
    ([{"index": 0, "text": "a"}], [{"index": "0", "text": "b"}], "TypeError"),
    ([{"index": 0, "text": "a"}], [{"index": 0, "text": "b"}], None),  # merged by index
    (["a"], [{"text": "b"}], None),  # a list of scalars is extended with anything
    ("a", [{"text": "b"}], None),  # not a list first: the Python SDK keeps it
    (None, [{"text": "b"}], None),  # null first: the list is the first value
], ids=["no-index", "not-object", "string-index", "indexed", "scalars-first", "string-first", "null-first"])
def test_an_untyped_list_field_is_held_to_what_the_sdk_stream_helper_does(first, second, raises) -> None:
    """Found on TensorZero 2026.6 (`delta.tensorzero_extra_content`): the helper merges every delta field, and a
    list it has seen holding objects is merged entry by entry by `index`. The finding fires exactly where the real
    helper raises."""
    frames = both(edit_delta(2, x_extra=first), edit_delta(3, x_extra=second))(load(TEXT))
    assert sdk_stream_helper_error(frames) == raises
    expected = [("chat/delta-list-without-index", 3)] if raises else []
    assert [pair for pair in found(frames) if pair[0] == "chat/delta-list-without-index"] == expected


def test_an_untyped_list_field_repeated_unchanged_is_still_held_to_the_sdk() -> None:
    """The same list on every chunk: chunks of one shape may take the fast path, which must not skip the check."""
    same = [{"type": "thought", "text": "a"}]
    frames = both(*(edit_delta(at, x_extra=same) for at in range(2, 8)))(load(TEXT))
    assert sdk_stream_helper_error(frames) == "RuntimeError"
    assert [pair for pair in found(frames) if pair[0] == "chat/delta-list-without-index"] == [
        ("chat/delta-list-without-index", 3)]


def test_a_legacy_function_call_that_repeats_its_name_is_said_as_the_sdk_joins_it() -> None:
    """Found on llama-cpp-python's server, which sends the deprecated `function_call` beside `tool_calls` with the
    name on every fragment: the Python SDK's helper joins the names (`get_weatherget_weather`)."""
    from openai.lib.streaming.chat._completions import ChatCompletionStreamState
    from openai.types.chat import ChatCompletionChunk

    frames = both(edit_delta(2, function_call={"name": "f", "arguments": "{"}),
                  both(edit_delta(3, function_call={"name": "f", "arguments": ""}),
                       edit_delta(4, function_call={"name": "f", "arguments": "}"})))(load(TEXT))
    state = ChatCompletionStreamState()
    for _, payload in frames:
        if isinstance(payload, dict) and "choices" in payload:
            state.handle_chunk(ChatCompletionChunk.construct(**payload))
    assert state.current_completion_snapshot.choices[0].message.function_call.name == "fff"  # each repeat appended
    check = check_bytes(serialise(frames), protocol="openai-chat")
    assert [(f.index, f.message) for f in check.findings if f.rule == "chat/tool-name-repeated"] == [
        (3, "choice `0` `function_call`: a later fragment repeats `name` `f`; expected only `arguments` after the "
            "first: the openai Python SDK's stream helper concatenates it to `ff` (and appends every later repeat "
            "too)")]
    assert "tool-name-repeated" not in {f.rule.split("/")[1] for f in check_bytes(serialise(
        edit_delta(2, function_call={"name": "f", "arguments": "{}"})(load(TEXT))), protocol="openai-chat").findings}


def test_a_later_fragment_with_type_null_is_said_as_the_sdk_fails_on_it() -> None:
    """Found on Llama Stack 0.2.12, whose continuation fragments carry `"type": null`: the SDK's helper overwrites the
    call's `type` (it always takes a new `type`) and then asserts it is `function`. An absent `type` is fine."""
    def with_type(value: Any) -> Callable[[list[Frame]], list[Frame]]:
        def mutate(frames: list[Frame]) -> list[Frame]:
            frames[4][1]["choices"][0]["delta"]["tool_calls"][0]["type"] = value
            return frames
        return mutate

    broken = with_type(None)(load(TOOL))
    assert sdk_stream_helper_error(broken) == "AssertionError"
    assert [pair for pair in found(broken) if pair[0] == "chat/tool-call-changed"] == [("chat/tool-call-changed", 4)]
    assert sdk_stream_helper_error(load(TOOL)) is None
    assert [pair for pair in found(with_type("function")(load(TOOL))) if pair[0] == "chat/tool-call-changed"] == []


def test_after_a_type_null_the_helper_is_said_to_have_raised_there() -> None:
    """Found on any-llm's gateway 1.14, which sends `"type": null` on every continuation fragment of parallel calls:
    the second call's change and a repeated finish said what the helper does next, where it had raised at the first
    change (`AssertionError`, at event 2)."""
    frames = load(PARALLEL)
    for position in (2, 14):
        frames[position][1]["choices"][0]["delta"]["tool_calls"][0]["type"] = None
    frames.insert(24, copy.deepcopy(frames[23]))
    frames[24][1]["choices"][0]["finish_reason"] = "stop"
    assert _helper_raises_at(frames) == (2, "AssertionError")
    findings = [f for f in check_bytes(serialise(frames), protocol="openai-chat").findings
                if f.rule in ("chat/tool-call-changed", "chat/finish-reason-repeated")]
    assert [(f.rule, f.index) for f in findings] == [("chat/tool-call-changed", 2), ("chat/tool-call-changed", 14),
                                                     ("chat/finish-reason-repeated", 24)]
    assert "raises `AssertionError`" in findings[0].message
    for later in findings[1:]:
        assert later.message.endswith("(the openai Python SDK's stream helper raised `AssertionError` at event 2, on a "
                                      "tool call whose `type` changed (`chat/tool-call-changed`), and never gets here)")


@pytest.mark.parametrize(("edit", "raised"), [
    (lambda chunk: chunk["choices"][0].update(delta=None), "AttributeError"),
    (lambda chunk: chunk["choices"][0].pop("delta"), "AttributeError"),
    (lambda chunk: chunk.pop("choices"), "TypeError"),
], ids=["delta-null", "delta-missing", "choices-missing"])
def test_a_chunk_the_stream_helper_cannot_read_is_said_to_make_it_raise(edit: Callable, raised: str) -> None:
    """Found by running the official SDKs on hand-made streams: `chat/schema` said only that client code reading the
    fields gets nothing, where `chat.completions.stream()` raises at the chunk (it calls `delta.to_dict()` on each
    choice and iterates `choices`)."""
    frames = load(TEXT)
    edit(frames[5][1])
    assert _helper_raises_at(frames) == (5, raised)
    [schema] = [f for f in check_bytes(serialise(frames), protocol="openai-chat").findings if f.rule == "chat/schema"]
    assert (schema.index, f"helper raises `{raised}` at this event" in schema.message) == (5, True)
    frames.insert(31, frames[31])  # a repeated finish after it: said as what clients that take the last get
    [repeated] = [f for f in check_bytes(serialise(frames), protocol="openai-chat").findings
                  if f.rule == "chat/finish-reason-repeated"]
    assert f"(the openai Python SDK's stream helper raised `{raised}` at event 5, on " in repeated.message


def test_a_finding_on_the_event_where_the_helper_raises_says_it_raises_there() -> None:
    """Found on hajimi 1.0.9: a repeated role and a tool call without `index` in one chunk; `chat/role-repeated` said
    the helper joins the roles, where it raises `TypeError` at that event (it joins them first, then fails)."""
    frames = load(TOOL)
    frames[1][1]["choices"][0]["delta"]["role"] = "assistant"
    frames[1][1]["choices"][0]["delta"]["tool_calls"][0]["index"] = None
    assert _helper_raises_at(frames) == (1, "TypeError")
    [message] = [f.message for f in check_bytes(serialise(frames), protocol="openai-chat").findings
                 if f.rule == "chat/role-repeated"]
    assert ("(the openai Python SDK's stream helper raises `TypeError` at event 1, on a tool call without `index` "
            "(`chat/schema`), so no final completion comes)") in message


@pytest.mark.parametrize(("at", "how", "raised"), [
    (0, "missing", "TypeError"),  # the message holds no call yet: it files the list, then looks up `[None]`
    (1, "missing", "RuntimeError"),  # it holds one: it merges the lists, and wants the key
    (1, "null", "TypeError"),  # ... and an integer
], ids=["first-call-key-missing", "later-key-missing", "later-null"])
def test_a_tool_call_without_index_is_said_to_raise_what_the_helper_raises(at: int, how: str, raised: str) -> None:
    """Found checking the claim against the SDK: `TypeError` is what it raises on the first tool-call fragment
    without `index`, but `RuntimeError` on a later one whose key is missing."""
    frames = load(TOOL)
    fragment = frames[at][1]["choices"][0]["delta"]["tool_calls"][0]
    if how == "missing":
        del fragment["index"]
    else:
        fragment["index"] = None
    assert _helper_raises_at(frames) == (at, raised)
    [schema] = [f for f in check_bytes(serialise(frames), protocol="openai-chat").findings if f.rule == "chat/schema"]
    assert (schema.index, f"its stream helper raises `{raised}` on a tool call without an `index`" in schema.message
            ) == (at, True), schema.message


def test_a_type_null_from_the_first_fragment_on_is_no_change() -> None:
    """MLflow's gateway 3.17.2 sends `"type": null` on every fragment of a call whose first fragment had it too
    (`chat/tool-call-start-incomplete` says so): `tool-call-changed` said the helper raises `AssertionError`, which
    it does only where the call had `type: function` (tried); a null then a type is a change, but no crash."""
    def typed(first: Any, later: Any) -> list[Frame]:
        frames = load(TOOL)
        frames[0][1]["choices"][0]["delta"]["tool_calls"][0]["type"] = first
        for position in range(1, 15):
            frames[position][1]["choices"][0]["delta"]["tool_calls"][0]["type"] = later
        return frames

    nulls = typed(None, None)
    assert sdk_stream_helper_error(nulls) is None
    assert [rule for rule, _ in found(nulls) if rule == "chat/tool-call-changed"] == []
    odd = typed(None, "custom")
    assert sdk_stream_helper_error(odd) is None
    [message] = [f.message for f in check_bytes(serialise(odd), protocol="openai-chat").findings
                 if f.rule == "chat/tool-call-changed"]
    assert message.endswith("where the call had null: the openai Python SDK's stream helper overwrites the call's "
                            "`type` with it, so the call's `type` is `custom`")


def test_done_missing_says_whether_the_answer_had_finished() -> None:
    """Found probing `transformers serve`, which never sends `[DONE]` after a finished answer: "a client cannot
    tell a complete answer from a truncated one" was not so, as every choice had its `finish_reason`."""
    def message(frames: list[Frame]) -> str:
        check = check_bytes(serialise(frames), protocol="openai-chat")
        [finding] = [f for f in check.findings if f.rule == "chat/done-missing"]
        return finding.message

    assert message(drop(33)(load(TEXT))).endswith(
        "every choice had its `finish_reason`, so the answer looks whole, but a client that waits for `[DONE]` to "
        "know the stream is over cannot tell this from a lost connection")
    assert message(cut_after(10)(load(TEXT))).endswith("it was cut short or the server never ends its streams, and "
                                                       "a client cannot tell a complete answer from a truncated one; "
                                                       "choice `0` never got its `finish_reason`")


def test_a_cut_stream_is_one_finding_that_names_the_choices_left_open() -> None:
    """hayhooks 2.1.0 and gemini-balance 2.2.8 cut streams: `done-missing` and a `finish-reason-missing` per open
    choice came at the same event, one break said twice; `finish-reason-missing` stays for a `[DONE]` that leaves a
    choice unfinished."""
    cut = check_bytes(serialise(cut_after(10)(load(TEXT))), protocol="openai-chat")
    assert [(f.rule, f.index) for f in cut.findings] == [("chat/done-missing", 10)]
    unfinished = [frame for frame in load(TEXT) if frame[1] == "[DONE]" or not any(
        choice.get("finish_reason") for choice in frame[1].get("choices", []))]
    assert "chat/finish-reason-missing" in [f.rule for f in check_bytes(serialise(unfinished),
                                                                        protocol="openai-chat").findings]


def _fastchat_like(*, created_everywhere: bool = False) -> bytes:
    """FastChat 0.2.36's Chat stream: `object` and `created` only on the finish chunk (pydantic's `exclude_unset`)."""
    created = {"created": 1796490413} if created_everywhere else {}
    chunks = [
        {"id": "chatcmpl-1", "model": "tiny", **created,
         "choices": [{"index": 0, "delta": {"role": "assistant"}, "finish_reason": None}]},
        {"id": "chatcmpl-1", "model": "tiny", **created,
         "choices": [{"index": 0, "delta": {"content": "Hello"}, "finish_reason": None}]},
        {"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1796490413, "model": "tiny",
         "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]},
    ]
    return "".join(f"data: {json.dumps(chunk)}\n\n" for chunk in chunks).encode() + b"data: [DONE]\n\n"


def test_chunks_without_object_are_said_to_be_skipped_by_the_sdk_helper_as_they_are() -> None:
    """Found on FastChat: `chat/schema` said client code "gets the wrong type or nothing" where the SDK's stream helper
    skips every chunk whose `object` is not `chat.completion.chunk`: its final message came out empty."""
    from openai._models import construct_type_unchecked
    from openai.lib.streaming.chat._completions import ChatCompletionStreamState, _is_valid_chat_completion_chunk_weak
    from openai.types.chat import ChatCompletionChunk

    body = _fastchat_like()
    state = ChatCompletionStreamState()
    for event in SSEParser().feed(body):
        if event.data != "[DONE]":
            chunk = construct_type_unchecked(type_=ChatCompletionChunk, value=json.loads(event.data))
            if _is_valid_chat_completion_chunk_weak(chunk):
                state.handle_chunk(chunk)
    assert state.get_final_completion().choices[0].message.content is None  # "Hello" was streamed
    check = check_bytes(body)
    assert check.assembly.text == "Hello"
    [(rule, message)] = [(f.rule, f.message) for f in check.findings]
    assert rule == "chat/schema" and "helper skips every chunk whose `object` is not `chat.completion.chunk`" in message


def test_an_identity_field_a_chunk_lacks_is_not_a_change() -> None:
    """FastChat sends `created` on its last chunk only: `chat/created-changed` said it changed "from `None`", the
    missing field `chat/schema` had said. The first chunk that has a field sets it."""
    assert [f.rule for f in check_bytes(_fastchat_like()).findings] == ["chat/schema"]
    drift = _fastchat_like(created_everywhere=True).replace(b'"created": 1796490413, "model": "tiny", "choices": '
                                                            b'[{"index": 0, "delta": {}', b'"created": 1796490414, '
                                                            b'"model": "tiny", "choices": [{"index": 0, "delta": {}')
    changed = [f.message for f in check_bytes(drift).findings if f.rule == "chat/created-changed"]
    assert changed == ["`created` changed from `1796490413` (event 0) to `1796490414`: every chunk of a stream must "
                       "repeat it, and clients key the answer on the first chunk's (later changes to it are not "
                       "reported)"]


def test_a_legacy_completions_stream_is_not_judged_by_the_chat_rules() -> None:
    """Found on FastChat's `/v1/completions` (recorded with `--streams all`): its `text_completion` chunks have
    `choices` too, and were judged as Chat (`object-invalid`, `role-missing`, `delta` missing): all false."""
    chunk = {"id": "cmpl-1", "object": "text_completion", "created": 1, "model": "m",
             "choices": [{"index": 0, "text": "Hi", "logprobs": None, "finish_reason": "length"}]}
    check = check_bytes(f"data: {json.dumps(chunk)}\n\ndata: [DONE]\n\n".encode())
    assert (check.protocol, check.findings) == ("generic", [])


def test_an_error_frame_under_an_event_name_is_not_said_to_be_lost() -> None:
    """Portkey sends a mid-stream error as `event: error` with an `error` object: the SDK ignores the name but raises
    on the data, so `chat/event-name` no longer says the signal is lost."""
    body = b'data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[]}\n\n' \
           b'event: error\ndata: {"error": {"message": "upstream failed"}}\n\n'
    [message] = [f.message for f in check_bytes(body).findings if f.rule == "chat/event-name"]
    assert "it raises on the `error` in the data all the same (`chat/error-event`)" in message


def _helper_final(body: bytes) -> str:
    """What the openai SDK's `chat.completions.stream()` helper ends with on this body: the exception it raises, or
    how many choices its final completion has."""
    transport = httpx.MockTransport(lambda request: httpx.Response(
        200, content=body, headers={"content-type": "text/event-stream"}))
    client = openai.OpenAI(api_key="k", base_url="http://endpoint/v1", http_client=httpx.Client(transport=transport))
    try:
        with client.chat.completions.stream(model="m", messages=[{"role": "user", "content": "hi"}]) as stream:
            return f"{len(stream.get_final_completion().choices)} choices"
    except AssertionError:
        return "AssertionError"


@pytest.mark.parametrize(("body", "helper"), [
    (b"data: [DONE]\n\n", "AssertionError"),  # NeMo Guardrails, having dropped a tool-call answer
    (b'data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[],'
     b'"usage":{"prompt_tokens":1,"completion_tokens":0,"total_tokens":1}}\n\ndata: [DONE]\n\n', "0 choices"),
], ids=["done-only", "usage-only"])
def test_a_stream_of_no_choice_says_what_the_stream_helper_ends_with(body: bytes, helper: str) -> None:
    """Found on NeMo Guardrails 0.24.1: a body of `data: [DONE]` alone. The helper has no completion to give:
    `get_final_completion()` raises a bare `AssertionError`, which the finding did not say."""
    assert _helper_final(body) == helper
    [message] = [f.message for f in check_bytes(body, protocol="openai-chat").findings
                 if f.rule == "chat/finish-reason-missing"]
    assert ("`get_final_completion()` raises `AssertionError`" in message) == (helper == "AssertionError")
    assert ("its final completion has no choices" in message) == (helper == "0 choices")


def _strict_tool_result(arguments: str, tool: Any) -> str:
    """What the openai SDK's stream helper, given a strict tool, makes of a call finished with these arguments."""
    frames = load(TOOL)
    frames[1][1]["choices"][0]["delta"]["tool_calls"][0]["function"]["arguments"] = arguments
    for frame in frames[2:15]:
        frame[1]["choices"][0]["delta"]["tool_calls"][0]["function"]["arguments"] = ""
    body = serialise(frames)
    transport = httpx.MockTransport(lambda request: httpx.Response(
        200, content=body, headers={"content-type": "text/event-stream"}))
    client = openai.OpenAI(api_key="k", base_url="http://endpoint/v1", http_client=httpx.Client(transport=transport))
    try:
        with client.chat.completions.stream(model="m", messages=[{"role": "user", "content": "hi"}],
                                            tools=[tool]) as stream:
            call = stream.get_final_completion().choices[0].message.tool_calls[0]
            return type(call.function.parsed_arguments).__name__
    except Exception as error:  # noqa: BLE001  what the Python SDK raised is the point
        return type(error).__name__


def test_what_the_arguments_finding_says_of_the_parse_helpers_is_what_they_do() -> None:
    """g4f 8.8.6's calls without `index` broke into calls with cut arguments: a strict pydantic tool raised
    `ValidationError`, not on `json.loads` as the message said; arguments that are JSON but no object reach a strict
    dict tool as what they are."""
    import pydantic

    class GetWeather(pydantic.BaseModel):
        city: str

    model_tool = openai.pydantic_function_tool(GetWeather, name="GetWeatherArgs")  # the name in the fixture
    dict_tool = {"type": "function", "function": {"name": "GetWeatherArgs", "strict": True, "parameters": {
        "type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"],
        "additionalProperties": False}}}
    assert _strict_tool_result('{"city": "Par', model_tool) == "ValidationError"
    assert _strict_tool_result('{"city": "Par', dict_tool) == "JSONDecodeError"
    assert _strict_tool_result('["Paris"]', dict_tool) == "list"  # no object: the tool gets what it cannot call with
    [message] = [f.message for f in check_bytes(serialise(load(TOOL)[:1] + [
        ["message", {**load(TOOL)[15][1]}]]), protocol="openai-chat").findings
        if f.rule == "chat/tool-arguments-invalid-json"]
    assert message.endswith("raise (`json.loads`, or the tool's pydantic model) or get no object; agent frameworks "
                            "that decode them themselves raise, send the error back to the model and ask again "
                            "(CrewAI), run the tool with `{}` (strands-agents, Microsoft Agent Framework) or with a "
                            "repaired guess (LlamaIndex; LangChain for a cut or doubled object, and it sets any other "
                            "aside in `invalid_tool_calls` without raising, where LangGraph's agent ends its turn with "
                            "an empty reply)")


def test_a_stream_with_fewer_choices_than_the_request_asked_for_says_so() -> None:
    """openai-forward 0.8.1 answers an `n: 3` request from its cache with one choice whose text merges the three:
    `validate` said ok, while a client that reads `choices[1]` fails."""
    body = serialise(load(TEXT))

    def rules(request: dict | str | None, stream: bytes = body) -> list[tuple[str, int | None]]:
        check = StreamCheck("openai-chat", request_body=request)
        check.feed(stream)
        return [(f.rule, f.index) for f in check.close() if f.rule == "chat/choices-missing"]

    assert rules({"model": "m", "n": 3, "stream": True}) == [("chat/choices-missing", 33)]
    assert rules('{"model": "m", "n": 3, "stream": true}') == [("chat/choices-missing", 33)]  # the proxy's text
    assert rules({"model": "m", "n": 1}) == rules({"model": "m"}) == rules(None) == []
    assert rules({"n": 3}, (CORPUS / "openai-python__n3-multiple-choices.sse").read_bytes()) == []


def test_usage_sent_after_done_is_the_one_break_after_done() -> None:
    """Found with smolagents on a hand-made stream (finish, `[DONE]`, the usage chunk, `[DONE]`): besides
    `chat/event-after-done`, `chat/usage-not-sent` blamed the server for ignoring the option and `chat/done-repeated`
    said the second `[DONE]`: one break said three times, one of them wrongly."""
    frames = load(TEXT)  # role 0, content 1-30, finish 31, usage 32, [DONE] 33
    frames = [*frames[:32], frames[33], frames[32], frames[33]]
    check = StreamCheck("openai-chat", request_body={"stream": True, "stream_options": {"include_usage": True}})
    check.feed(serialise(frames))
    assert [(f.rule, f.index) for f in check.close()] == [("chat/event-after-done", 33)]


def test_a_stream_with_more_choices_than_the_request_asked_for_says_so() -> None:
    """pydantic-ai 2.78, which asks for one choice, joined three choices' deltas into one garbled text, while
    `validate` said ok: only fewer choices than `n` were judged."""
    three = (CORPUS / "openai-python__n3-multiple-choices.sse").read_bytes()

    def found(request: dict | str | None) -> list[tuple[str, int | None]]:
        check = StreamCheck("openai-chat", request_body=request)
        check.feed(three)
        return [(f.rule, f.index) for f in check.close() if f.rule == "chat/choices-unrequested"]

    assert found({"model": "m", "stream": True}) == found('{"model": "m", "n": 2}') == [
        ("chat/choices-unrequested", 49)]  # at `[DONE]`
    assert found({"model": "m", "n": 3}) == found(None) == found('{"model": "m", "n": 2') == []  # cut text: unknown
    check = StreamCheck("openai-chat", request_body={"model": "m"})
    check.feed(serialise(load(TEXT)))
    assert [f for f in check.close() if f.rule == "chat/choices-unrequested"] == []
    check = StreamCheck("openai-chat", request_body={"model": "m"})
    check.feed(three)
    [message] = [f.message for f in check.close() if f.rule == "chat/choices-unrequested"]
    assert message.endswith("(pydantic-ai 2.78 does; LangChain too, and it merges their tool calls by index, so one "
                            "runs with arguments garbled or none and another is lost)")


def test_several_tool_calls_for_a_request_that_asked_for_one_at_most_say_so() -> None:
    """LlamaIndex 0.14 sends `parallel_tool_calls: false` and reads one call per chunk: two calls in one chunk lost
    the second, interleaved ones became four calls, while `validate` said ok."""
    parallel = serialise(load(PARALLEL))

    def found(request: dict | str | None, body: bytes = parallel) -> list[tuple[str, int | None]]:
        check = StreamCheck("openai-chat", request_body=request)
        check.feed(body)
        return [(f.rule, f.index) for f in check.close() if f.rule == "chat/tool-calls-unrequested"]

    assert found({"model": "m", "parallel_tool_calls": False}) == [("chat/tool-calls-unrequested", 13)]
    assert found({"model": "m"}) == found({"model": "m", "parallel_tool_calls": True}) == found(None) == []
    assert found({"model": "m", "parallel_tool_calls": False}, serialise(load(TOOL))) == []  # one call: as asked


def _helper_tool_call(frames: list[Frame], through: int) -> Any:
    """The first tool call of choice 0 in the openai Python SDK's stream helper's snapshot after chunk `through`."""
    from openai.lib.streaming.chat._completions import ChatCompletionStreamState
    from openai.types.chat import ChatCompletionChunk

    state = ChatCompletionStreamState()
    for _, payload in frames[:through + 1]:
        state.handle_chunk(ChatCompletionChunk.construct(**payload))
    return state.current_completion_snapshot.choices[0].message.tool_calls[0]


@pytest.mark.parametrize(("label", "first", "changes"), [
    ("id", "call_c91SqDXlYFuETYv8mUHzz6pp", {4: "call_b", 6: "call_c"}),
    ("id", "call_c91SqDXlYFuETYv8mUHzz6pp", {3: "call_c91SqDXlYFuETYv8mUHzz6pp", 5: "call_b"}),  # a repeat first
    ("function.name", "GetWeatherArgs", {4: "read_screen"}),
], ids=["id", "id-after-a-repeat", "name"])
def test_a_changed_id_or_name_is_said_as_the_sdk_joins_it(label: str, first: str, changes: dict[int, str]) -> None:
    """gemini-balance 2.2.8 puts every call on tool index 0 with a new `call_…` id on each chunk: the finding said
    "the client cannot tell which is right", where the SDK's stream helper concatenates the ids (and names) into one
    that is neither. The message says the value the helper holds at the fragment it is reported on."""
    frames = load(TOOL)
    for at, value in changes.items():
        fragment = frames[at][1]["choices"][0]["delta"]["tool_calls"][0]
        if label == "id":
            fragment["id"] = value
        else:
            fragment["function"]["name"] = value
    check = check_bytes(serialise(frames), protocol="openai-chat")
    [(at, message)] = [(f.index, f.message) for f in check.findings if f.rule == "chat/tool-call-changed"]
    call = _helper_tool_call(frames, at)
    joined = call.id if label == "id" else call.function.name
    assert joined != first and joined != changes[at]
    assert message == (f"choice `0` tool call `0`: a later fragment changes `{label}` from `{first}` to "
                       f"`{changes[at]}`: expected later fragments to carry only `index` and `function.arguments`; "
                       f"the openai Python SDK's stream helper concatenates them, so its call's `{label}` is now "
                       f"`{joined}`, neither of the two (and every later `{label}` is appended too)")
    final = _helper_tool_call(frames, len(frames) - 2)
    assert (final.id if label == "id" else final.function.name) == joined + "".join(
        value for step, value in changes.items() if step > at)


def test_usage_on_choice_chunks_says_who_finds_it_by_whether_the_usage_chunk_came() -> None:
    """gemini-balance 2.2.8 puts `usage` on its choice chunks and sends the `choices: []` usage chunk before `[DONE]`
    too: the finding said clients reading usage from that chunk "find none", where they found it; then it said
    nothing, where LangChain (langchain-openai 1.8), which adds up every chunk's usage, counted it three times.
    Whether the usage chunk came is known at the end of the stream; a cut stream may have had it on its way, and the
    message says so."""
    frames = load(TEXT)
    for at in (1, 31):
        frames[at][1]["usage"] = frames[32][1]["usage"]
    usage_chunks = [payload for _, payload in frames if isinstance(payload, dict) and payload["choices"] == []
                    and payload.get("usage")]
    assert len(usage_chunks) == 1 and _helper_usage(serialise(frames)).model_dump(exclude_none=True) == {
        key: value for key, value in frames[32][1]["usage"].items() if value is not None}
    assert found(frames) == [("chat/usage-on-choice-chunk", 1)]
    usage = frames[32][1]["usage"]
    [message] = [f.message for f in check_bytes(serialise(frames)).findings]
    assert message.endswith(
        "and again on the `choices: []` usage chunk (event 32): expected it on that chunk only; a client that keeps "
        "the last chunk's, as the openai Python SDK's stream helper does, or reads the usage chunk gets it right, but "
        f"one that adds up every chunk's `usage` (LangChain) counts {3 * usage['prompt_tokens']} prompt and "
        f"{3 * usage['completion_tokens']} completion tokens where the stream says {usage['prompt_tokens']} prompt and "
        f"{usage['completion_tokens']} completion; CrewAI 1.15's OpenAI provider skips every chunk that carries "
        "`usage`, with the text, tool-call fragments and finish on it (later chunks like this are not reported)")
    without = drop(32)(copy.deepcopy(frames))
    assert found(without) == [("chat/usage-on-choice-chunk", 1)]
    [message] = [f.message for f in check_bytes(serialise(without)).findings]
    assert "no `choices: []` chunk carried usage before `[DONE]`: expected it on its own" in message
    [message] = [f.message for f in check_bytes(serialise(without[:20])).findings
                 if f.rule == "chat/usage-on-choice-chunk"]
    assert "before the stream ended (without `[DONE]`: one may have been on its way)" in message
    unknown = serialise(without[:32]) + b"data: {not json\n\n" + serialise(without[32:])
    assert "chat/usage-on-choice-chunk" not in {f.rule for f in check_bytes(unknown).findings}


def test_an_empty_choice_with_usage_after_its_finish_is_said_as_such_when_the_usage_chunk_came_too() -> None:
    """`chat/usage-on-choice-chunk` speaks for an empty chunk after the finish that carries usage, when no usage chunk
    came or when clients that add up usage count it again; otherwise (usage with no count in it) the chunk is what it
    is: empty, after the finish."""
    frames = insert(32, lambda frames: empty_choice(frames[31], usage=frames[32][1]["usage"]))(load(TEXT))
    assert found(frames) == [("chat/usage-on-choice-chunk", 32)]
    assert found(drop(33)(copy.deepcopy(frames))) == [("chat/usage-on-choice-chunk", 32)]
    frames[32][1]["usage"] = {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}  # nothing counted twice
    assert found(frames) == [("chat/empty-choice-after-finish", 32)]
    [message] = [f.message for f in check_bytes(serialise(frames)).findings]
    assert "(empty delta, no `finish_reason`; only the chunk's `usage`)" in message


def _helper_arguments(body: bytes, tool: Any = None) -> str:
    """The arguments of choice 0's first tool call in `get_final_completion()` of the openai Python SDK's stream helper
    (given `tool`), or the name of what it raises."""
    transport = httpx.MockTransport(lambda request: httpx.Response(
        200, content=body, headers={"content-type": "text/event-stream"}))
    client = openai.OpenAI(api_key="k", base_url="http://endpoint/v1", http_client=httpx.Client(transport=transport))
    tools = {"tools": [tool]} if tool else {}
    try:
        with client.chat.completions.stream(model="m", messages=[{"role": "user", "content": "hi"}],
                                            **tools) as stream:
            completion = stream.get_final_completion()
    except Exception as error:  # noqa: BLE001  what the Python SDK raised is the point
        return type(error).__name__
    assert completion.choices[0].finish_reason is None
    return completion.choices[0].message.tool_calls[0].function.arguments


def _every_fragment_whole(frames: list[Frame]) -> list[Frame]:
    """gemini-balance 2.2.8's tool call: `"arguments": "{}"` in every fragment, and no `finish_reason` in any choice
    (its last chunk has `choices: []`)."""
    for _, payload in frames[:15]:
        payload["choices"][0]["delta"]["tool_calls"][0]["function"]["arguments"] = "{}"
    return frames[:15] + frames[16:]


def test_arguments_of_a_choice_that_never_finished_are_judged_at_done_as_the_sdk_keeps_them() -> None:
    """gemini-balance 2.2.8 never finishes a choice, so the arguments, `{}{}{}…`, were never judged, while the SDK's
    stream helper, which needs no finish, hands the app exactly that string (and raises on it for a strict tool)."""
    import pydantic

    class GetWeather(pydantic.BaseModel):
        city: str

    frames = _every_fragment_whole(load(TOOL))
    body = serialise(frames)
    findings = check_bytes(body, protocol="openai-chat").findings
    assert [(f.rule, f.index) for f in findings] == [("chat/finish-reason-missing", 16),
                                                     ("chat/tool-arguments-invalid-json", 16)]
    assert _helper_arguments(body) == "{}" * 15
    dict_tool = {"type": "function", "function": {"name": "GetWeatherArgs", "strict": True, "parameters": {
        "type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"],
        "additionalProperties": False}}}
    assert _helper_arguments(body, dict_tool) == "JSONDecodeError"
    assert _helper_arguments(body, openai.pydantic_function_tool(GetWeather, name="GetWeatherArgs")) == \
        "ValidationError"
    assert findings[1].message == (
        "choice `0` tool call `0` (`GetWeatherArgs`) had arguments `{}{}{}{}{}{}{}{}{}{}{}{}{}{}{}` when `[DONE]` "
        "came with no `finish_reason` for its choice, not JSON (Extra data: line 1 column 3 (char 2)): the openai "
        "Python SDK's stream helper needs no finish and keeps them as the call's `arguments`; no client can run the "
        "call as the model meant it: the openai Python SDK's parse helpers (for a strict tool) decode them into the "
        "tool's keyword arguments, and raise (`json.loads`, or the tool's pydantic model) or get no object; agent "
        "frameworks that decode them themselves raise, send the error back to the model and ask again (CrewAI), run "
        "the tool with `{}` (strands-agents, Microsoft Agent Framework) or with a repaired guess (LlamaIndex; "
        "LangChain for a cut or doubled object, and it sets any other aside in `invalid_tool_calls` without raising, "
        "where LangGraph's agent ends its turn with an empty reply)")
    # arguments merely cut short by a server that ended the stream normally are all the app gets: judged too
    cut_short = both(drop(15), drop(14))(load(TOOL))
    assert _helper_arguments(serialise(cut_short)) == '{"city":"Edinburgh","country":"UK","units":"c'
    assert [pair for pair in found(cut_short) if pair[0] == "chat/tool-arguments-invalid-json"] == [
        ("chat/tool-arguments-invalid-json", 15)]
    whole = drop(15)(load(TOOL))  # whole arguments, no finish: only the finish is missing
    assert found(whole) == [("chat/finish-reason-missing", 16)]


@pytest.mark.parametrize("last", range(0, 15))
def test_arguments_a_cut_merely_cut_short_are_the_cut_alone(last: int) -> None:
    """A stream cut anywhere in a call's arguments: the arguments are cut, which is the cut (`chat/done-missing`),
    not arguments that are not JSON."""
    assert "chat/tool-arguments-invalid-json" not in {rule for rule, _ in found(cut_after(last)(load(TOOL)))}


@pytest.mark.parametrize(("arguments", "why"), [
    ("{}{}{}", "not JSON (Extra data: line 1 column 3 (char 2)) whatever would have followed"),
    ('{"city" "Par', "not JSON whatever would have followed (expected `:` at line 1 column 9)"),
    ('[{"city": "Par', "which open with `[`: nothing that followed could make them a JSON object"),
    ('"Paris"', "a string, not a JSON object"),
], ids=["two-objects", "no-colon", "array", "string"])
def test_arguments_no_continuation_makes_an_object_are_said_in_a_cut_stream(arguments: str, why: str) -> None:
    """gemini-balance's `{}{}{}` cut before `[DONE]`: no more of the stream would have mended them."""
    frames = load(TOOL)[:2]
    frames[1][1]["choices"][0]["delta"]["tool_calls"][0]["function"]["arguments"] = arguments
    findings = check_bytes(serialise(frames), protocol="openai-chat").findings
    assert [(f.rule, f.index) for f in findings] == [("chat/done-missing", 1),
                                                     ("chat/tool-arguments-invalid-json", 1)]
    assert findings[1].message.startswith(
        f"choice `0` tool call `0` (`GetWeatherArgs`) had arguments `{arguments}` when the stream was cut, before a "
        f"`finish_reason` for its choice or `[DONE]`, {why}: they were broken before the cut (which "
        "`chat/done-missing` says); no client can run the call as the model meant it")


_JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=6),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
    max_leaves=10)


@settings(max_examples=150, deadline=None)
@given(st.dictionaries(st.text(max_size=4), _JSON_VALUES, max_size=3), st.sampled_from([None, 1]), st.booleans())
def test_no_prefix_of_a_json_object_is_said_to_be_broken(value: dict, indent: int | None, ascii_only: bool) -> None:
    """Whatever the cut, arguments that a JSON object starts with are never held against a cut stream."""
    from inspector.protocols.openai_chat.choices import _no_object_ahead

    text = json.dumps(value, indent=indent, ensure_ascii=ascii_only)
    assert [text[:end] for end in range(len(text) + 1) if _no_object_ahead(text[:end]) is not None] == []


def test_arguments_of_a_choice_that_may_have_finished_unseen_are_not_judged() -> None:
    """An unreadable chunk may have been the finish (with `length`) or a fragment: nothing is said of the arguments."""
    frames = _every_fragment_whole(load(TOOL))
    body = serialise(frames[:8]) + b"data: {not json\n\n" + serialise(frames[8:])
    assert "chat/tool-arguments-invalid-json" not in {f.rule for f in check_bytes(body).findings}


@pytest.mark.parametrize("mutation", [
    both(drop(15), drop(14)),
    lambda frames: renumber_tool_call(0, 1)(both(drop(15), drop(14))(frames)),  # the helper raises `IndexError`
    lambda frames: renumber_choices(0, 1)(both(drop(15), drop(14))(frames)),
], ids=["as-streamed", "tool-index-gap", "choice-index-gap"])
def test_what_the_unfinished_arguments_finding_says_of_the_stream_helper_is_what_it_does(
        mutation: Callable[[list[Frame]], list[Frame]]) -> None:
    """The finding at `[DONE]` says the helper keeps the arguments as the call's only where it does: after an index
    gap it files fragments by list position, or raises."""
    body = serialise(mutation(load(TOOL)))
    [finding] = [f for f in check_bytes(body, protocol="openai-chat").findings
                 if f.rule == "chat/tool-arguments-invalid-json"]
    keeps = _helper_arguments(body) == '{"city":"Edinburgh","country":"UK","units":"c'
    assert ("stream helper needs no finish and keeps them as the call's `arguments`" in finding.message) is keeps


def test_a_changed_id_after_an_index_gap_is_not_said_to_be_joined_into_this_call() -> None:
    """After a tool-call index gap the helper raises `IndexError` at the gap (AIClient-2-API's first call has
    `index: 1`): the joined id is what clients that join the fragments get, not the helper."""
    frames = both(renumber_tool_call(0, 1), edit_fragment(4, id="call_b"))(load(TOOL))
    assert sdk_stream_helper_error(frames) == "IndexError"
    with pytest.raises(IndexError):
        _helper_tool_call(frames, 0)
    [message] = [f.message for f in check_bytes(serialise(frames), protocol="openai-chat").findings
                 if f.rule == "chat/tool-call-changed"]
    assert message.endswith("clients that join the fragments get `call_c91SqDXlYFuETYv8mUHzz6ppcall_b`, neither of "
                            "the two (the openai Python SDK's stream helper raised `IndexError` at event 0, on a tool "
                            "call opened past the next index (`chat/tool-call-index-gap`), and never gets here)")


@pytest.mark.parametrize(("edit", "raises"), [
    (renumber_tool_call(1, 2), "IndexError"),  # calls 0 and 2: the helper looks up `tool_calls[2]` of two
    (renumber_tool_call(0, 1), "IndexError"),  # the first call at index 1 (AIClient-2-API, text block first)
], ids=["second-call", "first-call"])
def test_a_tool_call_index_gap_is_said_where_the_stream_helper_raises(edit, raises) -> None:
    """Found on AIClient-2-API 3.1.9: the finding said the next fragments land in the wrong call, but
    `chat.completions.stream()` raises `IndexError` on the gap's own chunk."""
    frames = edit(load(PARALLEL))
    assert sdk_stream_helper_error(frames) == raises
    [gap] = [f for f in check_bytes(serialise(frames), protocol="openai-chat").findings
             if f.rule == "chat/tool-call-index-gap"]
    assert gap.message.endswith("and raises `IndexError` here"), gap.message


def test_a_gap_filled_in_the_same_chunk_is_said_to_misfile_not_to_raise() -> None:
    """`[{"index": 1}, {"index": 0}]` in one chunk: the helper keeps the list as it came and finds `tool_calls[1]`
    (call 0's fragment), so nothing raises, but calls are filed by position."""
    frames = load(PARALLEL)
    first = next(i for i, (_, payload) in enumerate(frames) if isinstance(payload, dict) and payload.get("choices")
                 and payload["choices"][0]["delta"].get("tool_calls"))
    calls = [{"index": 1, "id": "call_x", "type": "function", "function": {"name": "a", "arguments": ""}},
             {"index": 0, "id": "call_y", "type": "function", "function": {"name": "b", "arguments": ""}}]
    frames = edit_delta(first, tool_calls=calls)(frames)
    assert sdk_stream_helper_error(frames) is None
    [gap] = [f for f in check_bytes(serialise(frames), protocol="openai-chat").findings
             if f.rule == "chat/tool-call-index-gap"]
    assert gap.message.endswith("files calls by list position, so the next fragments land in the wrong call")


def _helper_message(body: bytes) -> Any:
    """Choice 0's message in the final completion of the openai Python SDK's `chat.completions.stream()` helper."""
    transport = httpx.MockTransport(lambda request: httpx.Response(
        200, content=body, headers={"content-type": "text/event-stream"}))
    client = openai.OpenAI(api_key="k", base_url="http://endpoint/v1", http_client=httpx.Client(transport=transport))
    with client.chat.completions.stream(model="m", messages=[{"role": "user", "content": "hi"}]) as stream:
        return stream.get_final_completion().choices[0].message


@pytest.mark.parametrize("role_before", [False, True], ids=["first-repeat-after-finish", "repeated-before"])
def test_a_chunk_after_the_finish_that_only_repeats_the_role_is_the_role_finding_and_an_empty_chunk(
        role_before: bool) -> None:
    """hayhooks 2.1.0 re-sends its upstream's usage chunk as a choice chunk with `role` and `content: ""` after the
    finish: `chat/choice-after-finish` said clients lose "this", where the chunk's only data is the role that
    `chat/role-repeated` reports. The helper's text is unchanged; the role is joined as that finding says."""
    frames = insert(32, lambda frames: empty_choice(frames[31]))(load(TEXT))
    frames[32][1]["choices"][0]["delta"] = {"role": "assistant", "content": "", "tool_calls": None, "refusal": None}
    if role_before:
        frames = edit_delta(3, role="assistant")(frames)
    expected = ([("chat/role-repeated", 3)] if role_before else []) + (
        [("chat/empty-choice-after-finish", 32)] if role_before else
        [("chat/empty-choice-after-finish", 32), ("chat/role-repeated", 32)])
    assert found(frames) == expected
    [message] = [f.message for f in check_bytes(serialise(frames)).findings
                 if f.rule == "chat/empty-choice-after-finish"]
    assert "only its role again, which `chat/role-repeated` says" in message
    original = _helper_message(serialise(load(TEXT)))
    message_now = _helper_message(serialise(frames))
    assert message_now.content == original.content
    assert message_now.role == "assistant" * (3 if role_before else 2)
    other_role = copy.deepcopy(frames)
    other_role[32][1]["choices"][0]["delta"]["role"] = "user"  # not a repeat of its role: data after the finish
    assert ("chat/choice-after-finish", 32) in found(other_role)


@pytest.mark.parametrize(("mutation", "expected", "keyless_at"), [
    (edit(31, lambda payload: payload["choices"][0].pop("finish_reason")), [("chat/finish-reason-missing", 33)], 31),
    (both(edit(5, lambda payload: payload["choices"][0].pop("finish_reason")), drop(31)),
     [("chat/finish-reason-missing", 32)], 5),
    (edit(5, lambda payload: payload["choices"][0].pop("finish_reason")), [("chat/schema", 5)], None),
    (both(edit(5, lambda payload: payload["choices"][0].pop("finish_reason")), cut_after(10)),
     [("chat/schema", 5), ("chat/done-missing", 10)], None),
], ids=["last-chunk", "never-finished", "finished-later", "cut"])
def test_a_missing_finish_reason_key_is_one_finding_with_the_finish_it_never_brought(
        mutation: Callable[[list[Frame]], list[Frame]], expected: list[tuple[str, int | None]],
        keyless_at: int | None) -> None:
    """openai-gemini's flush chunk and Snowflake's every chunk have no `finish_reason` key, and no finish ever came:
    `chat/schema` and `chat/finish-reason-missing` said one omission twice. A choice that finishes later (or a cut
    stream, whose end is the cut's) keeps the schema finding for the chunk without the key."""
    frames = mutation(load(TEXT))
    assert found(frames) == expected
    if keyless_at is not None:
        [message] = [f.message for f in check_bytes(serialise(frames)).findings]
        assert (f"the server omits it (its first chunk without a `finish_reason` key, not even `null`, was event "
                f"{keyless_at})") in message


def _unindexed_calls(*calls: dict[str, Any], finish: str = "tool_calls") -> list[Frame]:
    """A stream whose tool-call entries have no `index`, one entry a chunk (openai-gemini's shape)."""
    def chunk(delta: dict[str, Any], finish_reason: str | None = None) -> Frame:
        return ["message", {"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m",
                            "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}]}]
    return [chunk({"role": "assistant", "content": ""}), *(chunk({"tool_calls": [call]}) for call in calls),
            chunk({}, finish), ["message", DONE_TEXT]]


def _call(call_id: str | None, name: str | None = None, arguments: str | None = None) -> dict[str, Any]:
    function = {key: value for key, value in (("name", name), ("arguments", arguments)) if value is not None}
    return {**({"id": call_id} if call_id else {}), "type": "function", "function": function}


def _helper_raises_at(frames: list[Frame]) -> tuple[int, str] | None:
    """The event at which the openai Python SDK's stream helper raises on these chunks, and what."""
    from openai.lib.streaming.chat._completions import ChatCompletionStreamState
    from openai.types.chat import ChatCompletionChunk

    state = ChatCompletionStreamState()
    for at, (_, payload) in enumerate(frames):
        if isinstance(payload, dict):
            try:
                state.handle_chunk(ChatCompletionChunk.construct(**payload))
            except Exception as error:  # noqa: BLE001  what the Python SDK raised is the point
                return at, type(error).__name__
    return None


def test_tool_calls_without_index_are_told_apart_by_id_not_said_to_change() -> None:
    """openai-gemini streams each call as an entry without `index`: read as call 0, `read_theme` then `read_screen`
    were said to be one call whose id and name change ("1 tool call"), three findings for one missing field. A new
    `id` starts a new call (OpenAI sends it on a call's first fragment only); a fragment without one continues the
    last call. The stream helper raises at the first entry, as `chat/schema` says."""
    frames = _unindexed_calls(_call("call_a", "read_theme", "{}"), _call("call_b", "read_screen", '{"id":'),
                              _call(None, None, '"A"}'), finish="stop")
    assert _helper_raises_at(frames) == (1, "TypeError")
    check = check_bytes(serialise(frames), protocol="openai-chat")
    assert [(f.rule, f.index) for f in check.findings] == [("chat/schema", 1), ("chat/finish-reason-mismatch", 4)]
    schema, mismatch = (f.message for f in check.findings)
    assert "its stream helper raises `TypeError` on a tool call without an `index`" in schema
    assert "streamed 2 tool call(s) (told apart by `id`, having no `index`)" in mismatch
    assert [call.to_json() for call in check.assembly.tool_calls] == [
        {"id": "call_a", "name": "read_theme", "arguments": "{}"},
        {"id": "call_b", "name": "read_screen", "arguments": '{"id":"A"}'}]


def test_nameless_calls_without_index_and_their_arguments_are_said_once() -> None:
    """openai-gemini turns every streamed-argument part of a Vertex call into a nameless entry with a fresh id and
    no arguments: the start and the arguments are each said once per choice, not once per entry."""
    frames = _unindexed_calls(_call("call_a", "getWeather"), _call("call_b"), _call("call_c"),
                              _call("call_d", "getWeather"), _call("call_e"))
    check = check_bytes(serialise(frames), protocol="openai-chat")
    assert [(f.rule, f.index) for f in check.findings] == [
        ("chat/schema", 1), ("chat/tool-call-start-incomplete", 2), ("chat/tool-arguments-invalid-json", 6)]
    arguments = check.findings[2].message
    assert arguments.startswith("choice `0` tool call `call_a` (no `index`) (`getWeather`) finished with no "
                                "`arguments` in any fragment, not a JSON object (and 4 more of its calls without "
                                "`index`, reported here only)")
    assert len(check.assembly.tool_calls) == 5


@pytest.mark.parametrize(("function", "said"), [
    ({"name": "get_weather"}, "finished with no `arguments` in any fragment, not a JSON object"),
    ({"name": "get_weather", "arguments": ""}, "finished with arguments ``, empty, not a JSON object"),
    ({"name": "get_weather", "arguments": {"city": "Paris"}}, None),  # an object: `chat/schema` says it
], ids=["no-key", "empty-string", "object"])
def test_arguments_never_sent_or_sent_as_an_object_are_said_as_they_came(function: dict, said: str | None) -> None:
    """Found on gemini-cli-openai (no `arguments` key: the helper holds `None`) and with smolagents (an object where
    a string belongs, which the helper keeps as that object): both were said to be "``, empty"."""
    from openai.lib.streaming.chat._completions import ChatCompletionStreamState
    from openai.types.chat import ChatCompletionChunk

    frames = load(TOOL)
    frames[0][1]["choices"][0]["delta"]["tool_calls"][0]["function"] = function
    frames = [frame for position, frame in enumerate(frames) if not 1 <= position <= 14]  # no more fragments
    state = ChatCompletionStreamState()
    for _, payload in frames:
        if isinstance(payload, dict):
            state.handle_chunk(ChatCompletionChunk.construct(**payload))
    held = state.current_completion_snapshot.choices[0].message.tool_calls[0].function.arguments
    assert held == function.get("arguments")
    messages = [f.message for f in check_bytes(serialise(frames), protocol="openai-chat").findings
                if f.rule == "chat/tool-arguments-invalid-json"]
    assert [said in message for message in messages] == ([] if said is None else [True])


def test_after_the_stream_helper_raised_no_finding_says_what_it_does_with_later_chunks() -> None:
    """openai-gemini: `chat/tool-call-repeated` said the helper concatenates a repeated name to
    `getWeathergetWeather`, where it had raised `TypeError` at the first index-less call (`chat/schema`)."""
    frames = _unindexed_calls(_call("call_a", "getWeather"), _call("call_a", "getWeather", "{}"),
                              _call("call_a", "other"))
    raised = _helper_raises_at(frames)
    assert raised == (1, "TypeError")
    check = check_bytes(serialise(frames), protocol="openai-chat")
    assert [(f.rule, f.index) for f in check.findings] == [
        ("chat/schema", 1), ("chat/tool-name-repeated", 2), ("chat/tool-call-changed", 3)]
    gone = ("the openai Python SDK's stream helper raised `TypeError` at event 1, on a tool call without `index` "
            "(`chat/schema`), and never gets here")
    repeated, changed = check.findings[1].message, check.findings[2].message
    assert repeated.endswith(f"clients that join the fragments get `getWeathergetWeather` ({gone})")
    assert changed.endswith(f"clients that join the fragments get `getWeathergetWeatherother`, neither of the two "
                            f"({gone})")
    assert "concatenates" not in repeated + changed


def test_a_role_missing_from_a_broken_stream_is_the_breaks() -> None:
    """MLflow's gateway 3.17.2 breaks converted Anthropic streams before any role came: `chat/role-missing` said the
    SDK's assembled message has no role, where the helper raised `RemoteProtocolError` and assembled nothing; the
    break is one finding. Guardrails' server 0.4.4 never sends a role nor `[DONE]` and ends its bodies cleanly: the
    helper returns a message whose role is None (tried), which is said."""
    frames = [(name, payload) for name, payload in load(TEXT)]
    del frames[0][1]["choices"][0]["delta"]["role"]
    broken = StreamCheck("openai-chat")
    broken.feed(serialise(frames[:5]))
    assert [f.rule for f in broken.close("upstream-closed", broken_by="peer closed connection")] == [
        "chat/done-missing"]
    assert ("chat/role-missing", 0) in found(frames[:5])  # ended without `[DONE]`, unbroken
    assert ("chat/role-missing", 0) in found(frames)
    assert _final_completion(serialise(frames[:5])).choices[0].message.role is None


def test_azures_first_frame_without_its_filter_results_is_still_one_warning() -> None:
    """MLflow's gateway 3.17.2 passes Azure's first frame on without `prompt_filter_results`: it got
    `chat/object-invalid`, two `chat/identity-changed` and `chat/created-changed`, where the SDK's helper skips the
    frame and its final completion is whole (tried), and `view` showed no model."""
    stripped = ["message", {key: value for key, value in AZURE_PROMPT_FILTER[1].items()
                            if key != "prompt_filter_results"}]
    frames = [stripped, *load(TEXT)]
    check = check_bytes(serialise(frames), protocol="openai-chat")
    assert [(f.rule, f.index) for f in check.findings] == [("chat/prompt-filter-frame", 0)]
    assert check.assembly.model == load(TEXT)[0][1]["model"]
    final = _final_completion(serialise(frames))
    assert (final.model, final.choices[0].message.content) == (check.assembly.model, check.assembly.text)
    carrying = ["message", {**stripped[1], "usage": {"prompt_tokens": 1, "completion_tokens": 0, "total_tokens": 1}}]
    assert "chat/prompt-filter-frame" not in {f.rule for f in check_bytes(serialise([carrying, *load(TEXT)]),
                                                                          protocol="openai-chat").findings}


@pytest.mark.parametrize("end", ["complete", "client-disconnected"])
def test_a_chunk_without_finish_reason_and_object_is_one_schema_finding(end: str) -> None:
    """ccproxy-api 0.2.10's first chunk lacks `object` and the `finish_reason` key; the key is judged at the end
    (a choice that never finishes is `chat/finish-reason-missing`'s): the chunk got two `chat/schema` findings at one
    event, and a recording the client ended lost both."""
    frames = load(TEXT)
    del frames[0][1]["object"], frames[0][1]["choices"][0]["finish_reason"]
    check = StreamCheck("openai-chat")
    check.feed(serialise(frames if end == "complete" else frames[:5]))
    [message] = [f.message for f in check.close(end) if f.rule == "chat/schema"]
    assert message.startswith("chunk: `object` is required but missing; `choices[0].finish_reason` is required but "
                              "missing; ")


def test_after_the_helper_raised_later_findings_say_what_the_wire_did() -> None:
    """openai-gemini's tool calls carry no `index`: the SDK's stream helper raises `TypeError` at the first, so the
    roles repeated and the finishes given twice after it are not "concatenated" or "kept" by it."""
    call = {"id": "call_1", "type": "function", "function": {"name": "f", "arguments": "{}"}}
    frames = edit_delta(1, tool_calls=[call])(load(TEXT))
    frames = edit_delta(3, role="assistant")(frames)
    last = max(position for position, (_, payload) in enumerate(frames)
               if isinstance(payload, dict) and payload.get("choices") and payload["choices"][0].get("finish_reason"))
    frames = edit(last - 1, lambda payload: payload["choices"][0].update(finish_reason="stop"))(frames)
    assert sdk_stream_helper_error(frames) == "TypeError"
    messages = {f.rule: f.message for f in check_bytes(serialise(frames), protocol="openai-chat").findings}
    gone = "the openai Python SDK's stream helper raised `TypeError` at event 1"
    assert gone in messages["chat/role-repeated"]
    assert "clients that join the roles get" in messages["chat/role-repeated"]
    assert gone in messages["chat/finish-reason-repeated"]


def test_a_role_that_comes_after_the_finish_is_late_not_missing() -> None:
    """uni-api 1.7.252 puts `finish_reason` on the first chunks and the role only on later ones: `chat/role-missing`
    was judged at the first finish and said the Python SDK's message has no role, where its helper takes the later role
    (tried)."""
    frames = load(TEXT)
    del frames[0][1]["choices"][0]["delta"]["role"]
    frames = edit(0, lambda payload: payload["choices"][0].update(finish_reason="stop"))(frames)
    frames = edit_delta(3, role="assistant")(frames)
    rules = [rule for rule, _ in found(frames)]
    assert "chat/role-missing" not in rules and "chat/role-late" in rules
    assert _final_completion(serialise(frames)).choices[0].message.role == "assistant"
    check = StreamCheck("openai-chat")  # a role that never came is said also where the client ended the recording
    unrolled = edit_delta(3, role=None)(frames)
    check.feed(serialise(unrolled[:6]))
    assert "chat/role-missing" in [f.rule for f in check.close("client-disconnected")]


def test_tool_arguments_completed_after_the_finish_are_judged_as_they_ended() -> None:
    """uni-api 1.7.252 puts `finish_reason` on every chunk it converts, the first included, whose arguments are
    `""`: `chat/tool-arguments-invalid-json` said the call finished empty, where the Python SDK's final completion holds
    the whole arguments (tried). What came after the finish is `chat/choice-after-finish`'s."""
    frames = edit(1, lambda payload: payload["choices"][0].update(finish_reason="tool_calls"))(load(TOOL))
    rules = [rule for rule, _ in found(frames)]
    assert "chat/tool-arguments-invalid-json" not in rules and "chat/choice-after-finish" in rules
    arguments = _final_completion(serialise(frames)).choices[0].message.tool_calls[0].function.arguments
    assert json.loads(arguments) == json.loads(check_bytes(serialise(frames)).assembly.tool_calls[0].arguments)
    broken = edit_fragment(3, function={"arguments": "}{"})(frames)
    [message] = [f.message for f in check_bytes(serialise(broken), protocol="openai-chat").findings
                 if f.rule == "chat/tool-arguments-invalid-json"]
    assert "ended, after fragments that came after its finish, with arguments" in message


def _final_completion(body: bytes) -> Any:
    """The final completion of the openai Python SDK's `chat.completions.stream()` helper on this body."""
    transport = httpx.MockTransport(lambda request: httpx.Response(
        200, content=body, headers={"content-type": "text/event-stream"}))
    client = openai.OpenAI(api_key="k", base_url="http://endpoint/v1", http_client=httpx.Client(transport=transport))
    with client.chat.completions.stream(model="m", messages=[{"role": "user", "content": "hi"}]) as stream:
        return stream.get_final_completion()


def _rules_and_messages(body: bytes, end_reason: str | None = None, broken_by: str | None = None,
                        request: dict | None = None) -> list[tuple[str, str]]:
    check = StreamCheck("openai-chat", request_body=request)
    check.feed(body)
    return [(f.rule, f.message) for f in check.close(end_reason, broken_by=broken_by)]


def _helper_raises(body: bytes) -> str | None:
    """What `chat.completions.stream()` + `get_final_completion()` raise on this body (None: nothing)."""
    try:
        _helper_message(body)
    except Exception as error:  # noqa: BLE001  what the Python SDK raised is the point
        return type(error).__name__
    return None


def test_a_string_where_a_chunk_belongs_is_said_to_make_the_stream_helper_raise() -> None:
    """Braintrust's proxy sends `data: "Error: Unable to parse Anthropic event: ..."` then `[DONE]`: the helper
    raises `AttributeError` at the string, so the no-choice finding does not say `get_final_completion()` raises
    `AssertionError`, which it never reaches."""
    body = b'data: "Error: Unable to parse Anthropic event"\n\ndata: [DONE]\n\n'
    assert _helper_raises(body) == "AttributeError"
    found = dict(_rules_and_messages(body))
    assert found["chat/schema"].endswith("and its `chat.completions.stream()` helper raises `AttributeError` at this "
                                         "event")
    assert found["chat/finish-reason-missing"].endswith(
        "(the openai Python SDK's stream helper raised `AttributeError` at event 0, on a string where a chunk belongs "
        "(`chat/schema`), and never gets here)")


AZURE_FRAME = (CORPUS / "vercel-ai__azure-prompt-filter-first-chunk.sse").read_bytes().split(b"\n\n")[0] + b"\n\n"


@pytest.mark.parametrize("broken", [True, False], ids=["connection-broke", "body-ended"])
def test_a_stream_cut_before_any_choice_is_one_finding(broken: bool) -> None:
    """Open WebUI passing on an Azure stream cut after its prompt-filter frame: `chat/done-missing` and a no-choice
    `chat/finish-reason-missing` said one break twice, and the latter's `AssertionError` was false where the
    connection broke (the helper raised `RemoteProtocolError` while iterating)."""
    found = _rules_and_messages(AZURE_FRAME, "upstream-closed", "peer closed connection" if broken else None,
                                request={"stream": True, "stream_options": {"include_usage": True}})
    [(rule, message)] = [(rule, message) for rule, message in found if rule != "chat/prompt-filter-frame"]
    assert rule == "chat/done-missing"
    if broken:
        assert message.endswith("; no choice came at all")
    else:
        assert _helper_raises(AZURE_FRAME) == "AssertionError"
        assert message.endswith("; no choice came at all (the openai Python SDK's `chat.completions.stream()` helper: "
                                "it got no chunk, and its `get_final_completion()` raises `AssertionError`)")


def test_a_body_ended_before_a_choice_finished_is_not_said_to_have_ignored_usage() -> None:
    """The usage chunk comes after every finish: a body that ended cleanly before choice 0 finished was cut (Open
    WebUI passing on a truncated upstream), which `chat/done-missing` says; the server ignored nothing."""
    body = serialise(load(TEXT)[:5])
    rules = [rule for rule, _ in _rules_and_messages(body, request={"stream_options": {"include_usage": True}})]
    assert rules == ["chat/done-missing"]


def test_reasoning_sent_as_an_object_is_read_as_reasoning() -> None:
    """Braintrust's proxy sends `delta.reasoning: {"id": ..., "content": "..."}`: the text is on the wire (the SDK
    keeps it in `model_extra`), and view and diff said the reasoning was lost."""
    frames = load(TEXT)
    frames[1][1]["choices"][0]["delta"]["reasoning"] = {"id": "sig-1", "content": "First I think."}
    frames[2][1]["choices"][0]["delta"]["reasoning"] = {"id": "sig-2", "content": " Then I answer."}
    check = check_bytes(serialise(frames), protocol="openai-chat")
    assert check.assembly.outputs[0].reasoning == "First I think. Then I answer."
    assert _helper_message(serialise(frames)).model_extra["reasoning"]["content"] == "First I think. Then I answer."


def test_usage_on_every_choice_chunk_says_what_keeping_the_last_and_adding_up_give() -> None:
    """Found with pydantic-ai 2.78 on Perplexity's stream, which repeats its cumulative usage on every chunk:
    pydantic-ai adds them up (1,020 completion tokens), the stream helper keeps the last (336); the finding said
    only that clients reading a `choices: []` usage chunk find none."""
    from openai.lib.streaming.chat._completions import ChatCompletionStreamState
    from openai.types.chat import ChatCompletionChunk

    frames = load("vercel-ai__compat-perplexity-done-object.sse")
    state = ChatCompletionStreamState()
    for _, payload in frames:
        if isinstance(payload, dict) and payload.get("object") == "chat.completion.chunk":
            state.handle_chunk(ChatCompletionChunk.construct(**payload))
    assert state.current_completion_snapshot.usage.completion_tokens == 336
    [message] = [f.message for f in check_bytes(serialise(frames), protocol="openai-chat").findings
                 if f.rule == "chat/usage-on-choice-chunk"]
    assert ("several chunks carry it: a client that keeps the last gets 336 completion tokens (the openai Python "
            "SDK's stream helper), one that adds them up 1020 (pydantic-ai)") in message
    once = copy.deepcopy(frames)
    for _, payload in once[:-2]:  # usage on the last chunk only: nothing to add up
        if isinstance(payload, dict):
            payload.pop("usage", None)
    [message] = [f.message for f in check_bytes(serialise(once), protocol="openai-chat").findings
                 if f.rule == "chat/usage-on-choice-chunk"]
    assert "several chunks" not in message


def test_a_value_outside_an_enum_is_said_as_such_not_as_a_wrong_type() -> None:
    """Found on hajimi 1.0.9, which passes Gemini's `"STOP"` on as `finish_reason`: `chat/schema` said client code
    gets "the wrong type or nothing", where the stream helper hands it the string `"STOP"`."""
    from openai.lib.streaming.chat._completions import ChatCompletionStreamState
    from openai.types.chat import ChatCompletionChunk

    frames = load(TEXT)
    frames[31][1]["choices"][0]["finish_reason"] = "STOP"
    state = ChatCompletionStreamState()
    for _, payload in frames:
        if isinstance(payload, dict):
            state.handle_chunk(ChatCompletionChunk.construct(**payload))
    assert state.current_completion_snapshot.choices[0].finish_reason == "STOP"
    [message] = [f.message for f in check_bytes(serialise(frames), protocol="openai-chat").findings
                 if f.rule == "chat/schema"]
    assert "gets the wrong type, a value its types do not list, or nothing" in message


def test_a_list_without_index_nested_in_an_object_field_is_where_the_helper_raises() -> None:
    """Found on LLM-API-Key-Proxy (litellm's `provider_specific_fields`, repeated on every chunk, holding a list of
    objects without `index`): the stream helper merges an object field into the first one field by field, and raises
    `RuntimeError` on the list inside; the rule followed top-level fields only, and the stream validated ok."""
    frames = load(TEXT)
    for position in (1, 2):
        frames[position][1]["choices"][0]["delta"]["provider_specific_fields"] = {"blocks": [{"type": "compaction"}]}
    frames[3][1]["choices"][0]["delta"]["provider_specific_fields"] = {"other": "x"}  # merged, not a list: fine
    assert _helper_raises_at(frames) == (2, "RuntimeError")
    found = [f for f in check_bytes(serialise(frames), protocol="openai-chat").findings]
    assert [(f.rule, f.index) for f in found] == [("chat/delta-list-without-index", 2)]
    assert "`delta.provider_specific_fields.blocks` comes again as a list" in found[0].message


def test_a_list_after_a_field_held_as_text_is_no_merge() -> None:
    """The helper keeps a field's first value when a later one is of another kind: lists without `index` after a
    text are never merged, so nothing raises (the nested-object change briefly took them as a fresh list)."""
    frames = load(TEXT)
    frames[1][1]["choices"][0]["delta"]["x_extra"] = "text first"
    for position, kind in ((2, "a"), (3, "b")):
        frames[position][1]["choices"][0]["delta"]["x_extra"] = [{"type": kind}]
    assert _helper_raises_at(frames) is None
    assert found(frames) == []


def _restarted(name: str, at: int) -> list[Frame]:
    """The stream sent again from its first chunk after chunk `at`, as a gateway that retried its upstream
    mid-stream into the same response does (LLM-API-Key-Proxy): the first attempt's chunks, then all of them."""
    frames = load(name)
    answer = [frame for frame in frames if isinstance(frame[1], dict) and frame[1].get("choices")]
    return copy.deepcopy(answer[: at + 1]) + frames


@pytest.mark.parametrize(("name", "at", "kept"), [
    (TEXT, 5, "the first one's text in front of the second's"),
    (TOOL, 4, "a tool call sent again under its `index` gets its `id` and name twice"),
])
def test_a_stream_restarted_mid_answer_is_one_finding_saying_what_clients_keep(name: str, at: int, kept: str) -> None:
    """A gateway's mid-stream retry got a finding for each field its first chunk repeats (role, then the tool call's
    id and name): one break, said once, where the answer starts again; the helper keeps both attempts, as said."""
    frames = _restarted(name, at)
    assert [rule for rule, _ in found(frames) if rule != "chat/tool-arguments-invalid-json"] == ["chat/role-repeated"]
    [message] = [f.message for f in check_bytes(serialise(frames)).findings if f.rule == "chat/role-repeated"]
    assert message.startswith("choice `0` repeats `delta.role` (`assistant`) in a chunk shaped as a first one, "
                              "after its answer had begun")
    assert message.endswith(f"keeps both attempts: {kept} (reported once per choice)")
    first, whole = _helper_message(serialise(frames)), _helper_message(serialise(load(name)))
    assert first.role == "assistantassistant"
    if name == TEXT:
        assert first.content.endswith(whole.content) and first.content != whole.content
    else:
        [call], [alone] = first.tool_calls, whole.tool_calls
        assert (call.id, call.function.name) == (alone.id * 2, alone.function.name * 2)


@pytest.mark.parametrize("delta", [{"role": "assistant", "content": " more"}, {"role": "assistant"}],
                         ids=["role-on-a-content-chunk", "role-on-the-finish-chunk"])
def test_a_role_sent_again_with_content_or_a_finish_is_no_restart(delta: dict[str, Any]) -> None:
    """Some servers put the role on every chunk: a repeat with content, or on the finish chunk, starts nothing."""
    frames = load(TEXT)
    at = 31 if "content" not in delta else 5  # the finish chunk, or a content chunk
    frames = edit_delta(at, **delta)(frames)
    [message] = [f.message for f in check_bytes(serialise(frames)).findings if f.rule == "chat/role-repeated"]
    assert message == ("choice `0` repeats `delta.role` (`assistant`) after event 0: expected it once; the openai "
                       "Python SDK's stream helper concatenates the roles (e.g. `assistantassistant`) (reported once "
                       "per choice)")


def test_a_tool_call_repeated_again_after_a_restart_counts_every_copy() -> None:
    """The restart's repeat of a call's id is the restart's; a further one is the call's own, and the helper's id
    then holds three copies."""
    frames = _restarted(TOOL, 4)
    later = next(position for position in range(len(frames) - 1, 0, -1) if isinstance(frames[position][1], dict)
                 and frames[position][1]["choices"] and frames[position][1]["choices"][0]["delta"].get("tool_calls"))
    first_id = frames[0][1]["choices"][0]["delta"]["tool_calls"][0]["id"]
    frames = edit_fragment(later, id=first_id)(frames)
    [message] = [f.message for f in check_bytes(serialise(frames)).findings if f.rule == "chat/tool-call-repeated"]
    assert f"concatenates it to `{first_id * 3}`" in message
    assert _helper_message(serialise(frames)).tool_calls[0].id == first_id * 3


def test_arguments_of_two_ids_under_one_index_say_a_client_that_splits_by_id_gets_two_calls() -> None:
    """Found with LangChain (langchain-core 1.8): it starts a new call at a new `id` under the same `index`, and
    LangGraph ran `get_weather` and `get_time` each with its own arguments, where the finding said no client could
    run the call. The SDK's helper does join them (its arguments do not parse), as the message still says."""
    def fragment(**fields: Any) -> dict[str, Any]:
        return {"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": "m",
                "choices": [{"index": 0, "delta": {"tool_calls": [{"index": 0, **fields}]}, "finish_reason": None}]}

    first = fragment(id="call_1", type="function", function={"name": "get_weather", "arguments": '{"city": "Paris"}'})
    first["choices"][0]["delta"]["role"] = "assistant"
    second = fragment(id="call_2", type="function", function={"name": "get_time", "arguments": '{"city": "Rome"}'})
    finish = {**fragment(), "choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]}
    frames = [["message", first], ["message", second], ["message", finish], ["message", DONE_TEXT]]
    [message] = [f.message for f in check_bytes(serialise(frames)).findings
                 if f.rule == "chat/tool-arguments-invalid-json"]
    assert message.endswith("fragments of more than one `id` came under this `index` (`chat/tool-call-changed`): "
                            "clients that file them by `index`, the openai Python SDK's stream helper among them, "
                            "join them into this one call and cannot run it as sent; a client that starts a new call "
                            "at each new `id` (LangChain) gets one call per `id`, each with its own arguments")
    [call] = _helper_message(serialise(frames)).tool_calls
    assert (call.id, call.function.arguments) == ("call_1call_2", '{"city": "Paris"}{"city": "Rome"}')


def test_a_stream_cut_inside_a_tool_call_names_the_call_left_open() -> None:
    """Found with LangGraph: a Chat stream cut inside a call's arguments ended cleanly, LangChain repaired the
    arguments and the agent ran the tool with them; `chat/done-missing` named the unfinished choice only, where the
    Anthropic and Responses findings name the open block or item."""
    frames = load(TOOL)
    name = frames[0][1]["choices"][0]["delta"]["tool_calls"][0]["function"]["name"]
    [finding] = check_bytes(serialise(cut_after(5)(frames))).findings
    assert (finding.rule, finding.index) == ("chat/done-missing", 5)
    assert finding.message.endswith(f"; choice `0` never got its `finish_reason`; tool call `0` (`{name}`) was open, "
                                    "and may be cut short")
    [text_cut] = check_bytes(serialise(cut_after(5)(load(TEXT)))).findings
    assert text_cut.message.endswith("; choice `0` never got its `finish_reason`")


def test_a_repeated_name_says_langchain_joins_it_too_and_a_repeated_id_that_it_keeps_one() -> None:
    """Found with LangChain (langchain-core 1.8): a name repeated on later fragments became
    `get_weatherget_weather...` there too, and LangGraph answered "not a valid tool"; a repeated `id` stays one."""
    frames = load(TOOL)
    first = frames[0][1]["choices"][0]["delta"]["tool_calls"][0]
    frames = edit_fragment(3, id=first["id"])(edit_fragment(2, function={**frames[2][1]["choices"][0]["delta"][
        "tool_calls"][0]["function"], "name": first["function"]["name"]})(frames))
    messages = {f.message.split("`")[5]: f.message for f in check_bytes(serialise(frames)).findings
                if f.rule in ("chat/tool-call-repeated", "chat/tool-name-repeated")}
    assert messages["function.name"].endswith("; LangChain joins the names too, and LangGraph's agent then finds no "
                                              "tool of that name")
    assert messages["id"].endswith("(and appends every later repeat too); LangChain keeps it once")


def test_a_repeated_finish_says_langchain_joins_the_reasons() -> None:
    """Found with LangChain (langchain-openai 1.8): a finish given twice became `stopstop` in its
    `response_metadata`, where the message named only the SDK helper (the last) and raw readers (the first)."""
    frames = insert(32, lambda frames: frames[31])(load(TEXT))
    [message] = [f.message for f in check_bytes(serialise(frames)).findings if f.rule == "chat/finish-reason-repeated"]
    assert message.endswith("the stream helper keeps the last, raw readers the first, and LangChain joins them "
                            "(`stopstop`)")


def test_a_call_cut_at_the_token_limit_is_handed_to_the_app_as_the_warning_says() -> None:
    """Found with LangGraph: a `length` finish inside a call's arguments was silent (a right stream), and LangChain
    repaired the arguments and the agent ran the tool. The SDK's helper raises only for strict tools."""
    frames = both(drop(14), set_path(14, ("choices", 0, "finish_reason"), "length"))(load(TOOL))
    [finding] = check_bytes(serialise(frames)).findings
    assert (finding.rule, finding.severity.value) == ("chat/tool-call-cut-at-length", "warning")
    assert ("the openai Python SDK's stream helper raises `LengthFinishReasonError` at `get_final_completion()`"
            in finding.message)
    with pytest.raises(openai.LengthFinishReasonError):
        _helper_message(serialise(frames))
    assert _helper_arguments(serialise(frames)) == "LengthFinishReasonError"
    whole = set_path(15, ("choices", 0, "finish_reason"), "length")(load(TOOL))
    assert check_bytes(serialise(whole)).findings == []  # arguments that parse: nothing to warn of

