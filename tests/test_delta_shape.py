"""The validator's fast path for repeated deltas (`protocols/delta_shape.py`) against the full path: the same
findings and the same assembly on every corpus stream and on mutated ones, and the fast path really taken."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import inspector.validate
from inspector.protocols.base import Assembly
from inspector.protocols.delta_shape import DeltaShape, Hole
from inspector.sse import Event
from inspector.validate import StreamCheck

CORPUS = Path(__file__).parent / "fixtures" / "corpus"
CORPUS_FILES = sorted(CORPUS.glob("*/*.sse"))


def snapshot(assembly: Assembly) -> dict[str, Any]:
    """Everything the assembly says, as plain values."""
    outputs = {
        index: (output.text, output.reasoning, output.refusal, output.finish_reason,
                [(call.id, call.name, call.arguments, call.kind) for call in output.tool_calls])
        for index, output in sorted(assembly.outputs.items())
    }
    return {"protocol": assembly.protocol, "model": assembly.model, "response_id": assembly.response_id,
            "status": assembly.status, "usage": assembly.usage, "error": assembly.error, "ended": assembly.ended,
            "first_content_index": assembly.first_content_index, "details": assembly.details, "outputs": outputs}


def run(body: bytes, protocol: str | None, fast: bool, chunk: int = 4096) -> tuple[list[dict], dict, int]:
    check = StreamCheck(protocol)
    check.fast_path = fast
    for start in range(0, len(body), chunk):
        check.feed(body[start : start + chunk])
    findings = check.close()
    return [finding.to_json() for finding in findings], snapshot(check.assembly), check.events


def assert_same_both_ways(body: bytes, protocol: str | None = None) -> None:
    assert run(body, protocol, fast=True) == run(body, protocol, fast=False)


@pytest.mark.parametrize("path", CORPUS_FILES, ids=[f"{p.parent.name}/{p.name}" for p in CORPUS_FILES])
def test_every_corpus_stream_reads_the_same_both_ways(path: Path) -> None:
    assert_same_both_ways(path.read_bytes())


# -- mutated streams: the fast path must fall back wherever the full path would say or do something else --------

_PROTOCOL_OF = {"openai-chat": "openai-chat", "openai-responses": "openai-responses",
                "anthropic-messages": "anthropic-messages", "gemini-generate-content": "gemini"}
_TEXT_KEYS = re.compile(r'"(content|delta|text|partial_json|thinking|arguments|obfuscation)":"')
_NUMBER_KEYS = re.compile(r'"(sequence_number|index|output_index|content_index)":(\d+)')

NASTY_TEXT = st.text(alphabet=st.sampled_from(['a', ' ', 'é', '"', '\\', '\n', '\x00', '\x1f', '\u2028', '\ud83d',
                                               '{', '}', ',', ':', 'u', '0', '😀']), max_size=6)


def frames_of(path: Path) -> list[str]:
    return [frame for frame in path.read_text(encoding="utf-8").split("\n\n") if frame.strip()]


def _replace_first_string(frame: str, value: str) -> str:
    found = _TEXT_KEYS.search(frame)
    if found is None:
        return frame
    end = re.compile(r'(?:[^"\\]|\\.)*"', re.DOTALL).match(frame, found.end())
    if end is None:
        return frame
    return frame[: found.end()] + value + frame[end.end() - 1 :]


def with_number(frame: str, number: int) -> str:
    return _NUMBER_KEYS.sub(lambda found: f'"{found.group(1)}":{number}', frame, count=1)


@st.composite
def mutated_stream(draw: st.DrawFn, folder: str) -> bytes:
    """A corpus stream of `folder` with frames repeated (with new texts), retexted, renumbered, dropped, swapped."""
    frames = frames_of(draw(st.sampled_from(sorted((CORPUS / folder).glob("*.sse")))))
    for _ in range(draw(st.integers(0, 12))):
        at = draw(st.integers(0, len(frames) - 1))
        operation = draw(st.sampled_from(["repeat", "repeat", "text", "raw-text", "number", "drop", "swap"]))
        if operation == "repeat":
            texts = draw(st.lists(NASTY_TEXT, min_size=1, max_size=4))
            frames[at + 1 : at + 1] = [_replace_first_string(frames[at], json.dumps(text)[1:-1]) for text in texts]
        elif operation == "text":
            frames[at] = _replace_first_string(frames[at], json.dumps(draw(NASTY_TEXT))[1:-1])
        elif operation == "raw-text":
            frames[at] = _replace_first_string(frames[at], draw(NASTY_TEXT))
        elif operation == "number":
            frames[at] = with_number(frames[at], draw(st.integers(0, 9)))
        elif operation == "drop" and len(frames) > 1:
            del frames[at]
        elif operation == "swap":
            other = draw(st.integers(0, len(frames) - 1))
            frames[at], frames[other] = frames[other], frames[at]
    return ("\n\n".join(frames) + "\n\n").encode("utf-8", errors="surrogatepass")


@pytest.mark.parametrize("folder", sorted(_PROTOCOL_OF))
def test_mutated_streams_read_the_same_both_ways(folder: str) -> None:
    @settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(body=mutated_stream(folder), detect=st.booleans(), chunk=st.sampled_from([7, 64, 4096]))
    def same(body: bytes, detect: bool, chunk: int) -> None:
        protocol = None if detect else _PROTOCOL_OF[folder]
        assert run(body, protocol, True, chunk) == run(body, protocol, False, chunk)

    same()


# -- the fast path is taken ----------------------------------------------------------------------------------

def _decoded_payloads(body: bytes, monkeypatch: pytest.MonkeyPatch, fast: bool) -> int:
    calls = []
    decode = inspector.validate.from_json
    monkeypatch.setattr(inspector.validate, "from_json", lambda data: calls.append(1) or decode(data))
    check = StreamCheck()
    check.fast_path = fast
    check.feed(body)
    check.close()
    return len(calls)


def repeated(path: Path, marker: str, times: int) -> bytes:
    """The corpus stream with its last frame containing `marker` repeated `times` times."""
    frames = frames_of(path)
    at = max(i for i, frame in enumerate(frames) if marker in frame)
    frames[at:at] = [frames[at]] * times
    return ("\n\n".join(frames) + "\n\n").encode()


def test_a_repeated_chat_text_delta_skips_the_json_decode(monkeypatch: pytest.MonkeyPatch) -> None:
    body = repeated(CORPUS / "openai-chat" / "openai-python__json-object-long.sse", '"content":"', 500)
    assert _decoded_payloads(body, monkeypatch, fast=False) - _decoded_payloads(body, monkeypatch, fast=True) >= 500


# -- the shape itself ----------------------------------------------------------------------------------------

def event(data: str, type_: str = "message", id_: str | None = None, index: int = 1) -> Event:
    return Event(index, type_, data, id_, 0, None)


def shape(data: str, *holes: Hole) -> tuple[DeltaShape | None, list[tuple[int, tuple[Any, ...]]]]:
    taken: list[tuple[int, tuple[Any, ...]]] = []
    return DeltaShape.cut(event(data), holes, lambda index, values: taken.append((index, values)) or True), taken


def test_a_shape_takes_the_values_of_an_event_that_fills_it() -> None:
    cut, taken = shape('{"n":7,"d":{"text":"hi"},"pad":"xy"}', Hole("text", "hi"), Hole("n", 7), Hole("pad", "xy"))
    assert cut is not None
    assert cut.take(event('{"n":8,"d":{"text":"a\\"b\\u00e9"},"pad":""}', index=2))
    assert taken == [(2, ("a\"bé", 8, ""))]


@pytest.mark.parametrize("data", [
    '{"n":8,"d":{"text":"hi","x":1},"pad":"xy"}',  # another key
    '{"n":8,"d":{"text":"h"i"},"pad":"xy"}',  # a raw quote
    '{"n":8,"d":{"text":"h\\"},"pad":"xy"}',  # an escape eating the closing quote
    '{"n":8,"d":{"text":"h\\q"},"pad":"xy"}',  # not a JSON escape
    '{"n":8,"d":{"text":"h\ni"},"pad":"xy"}',  # a raw control character
    '{"n":08,"d":{"text":"hi"},"pad":"xy"}',  # not a JSON number
    '{"n":8.5,"d":{"text":"hi"},"pad":"xy"}',
    '{"n":-8,"d":{"text":"hi"},"pad":"xy"}',
    '{"n":8,"d":{"text":"hi"},"pad":"xy"} ',
])
def test_a_shape_refuses_what_does_not_fill_it_exactly(data: str) -> None:
    cut, taken = shape('{"n":7,"d":{"text":"hi"},"pad":"xy"}', Hole("text", "hi"), Hole("n", 7), Hole("pad", "xy"))
    assert cut is not None
    assert not cut.take(event(data))
    assert taken == []


def test_a_shape_refuses_another_event_name_or_id() -> None:
    cut, _ = shape('{"text":"hi"}', Hole("text", "hi"))
    assert cut is not None
    assert not cut.take(event('{"text":"ho"}', type_="delta"))
    assert not cut.take(event('{"text":"ho"}', id_="7"))


@pytest.mark.parametrize(("data", "hole"), [
    ('{"text":"hi","x":{"text":"hi"}}', Hole("text", "hi")),  # the key twice: which one is the delta?
    ('{"text":"ho"}', Hole("text", "hi")),  # not the value the checker read
    ('{"text" : "hi"}', Hole("text", "hi")),  # spaced: no `"text":` marker
    ('{"n":true}', Hole("n", 1)),
    ('{"t":"x"}', Hole("text", "x")),
])
def test_no_shape_is_cut_where_a_hole_is_not_found_exactly_once(data: str, hole: Hole) -> None:
    cut, _ = shape(data, hole)
    assert cut is None


# -- Chat: a text chunk that carries something else as well goes the full way ---------------------------------

CHAT_EXTRAS = {
    "role": {"delta": {"role": "assistant"}},
    "refusal": {"delta": {"refusal": "no"}},
    "reasoning_content": {"delta": {"reasoning_content": "hm"}},
    "reasoning": {"delta": {"reasoning": "hm"}},
    "tool_calls": {"delta": {"tool_calls": [{"index": 0, "function": {"arguments": "{"}}]}},
    "function_call": {"delta": {"function_call": {"arguments": "{"}}},
    "logprobs": {"logprobs": {"content": [{"token": "a", "logprob": -1.0, "bytes": None, "top_logprobs": []}]}},
    "finish_reason": {"finish_reason": "stop"},
    "usage": {"usage": {"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 4}},
    "object": {"object": "chat.completion"},
}


def chat_chunk(text: str, extra: dict[str, Any] | None = None, **top: Any) -> str:
    choice: dict[str, Any] = {"index": 0, "delta": {"content": text}, "finish_reason": None}
    for key, value in (extra or {}).items():
        if key == "delta":
            choice["delta"] = {**value, "content": text}
        elif key in ("logprobs", "finish_reason"):
            choice[key] = value
        else:
            top[key] = value
    chunk = {"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": "m", "choices": [choice], **top}
    return "data: " + json.dumps(chunk, separators=(",", ":")) + "\n\n"


@pytest.mark.parametrize("extra", sorted(CHAT_EXTRAS))
def test_chat_text_chunks_that_carry_more_read_the_same_both_ways(extra: str) -> None:
    opening = chat_chunk("", {"delta": {"role": "assistant"}}) + chat_chunk("Hi")
    repeats = "".join(chat_chunk(text, CHAT_EXTRAS[extra]) for text in ("a", "b", "c", "d", "e"))
    body = opening + repeats + chat_chunk("", {"finish_reason": "stop"}) + "data: [DONE]\n\n"
    assert_same_both_ways(body.encode(), "openai-chat")


# -- Anthropic: a delta goes the full way wherever the full path has something to say -------------------------

def anthropic_event(payload: dict[str, Any], name: str | None = None) -> str:
    return f"event: {name or payload['type']}\ndata: {json.dumps(payload, separators=(',', ':'))}\n\n"


def anthropic_stream(block: dict[str, Any], deltas: list[dict[str, Any]], between: list[str] = (), *,
                     stop_first: bool = False) -> bytes:
    start = {"type": "message_start", "message": {"id": "msg_1", "type": "message", "role": "assistant",
                                                  "model": "m", "content": [], "stop_reason": None,
                                                  "stop_sequence": None, "usage": {"input_tokens": 1,
                                                                                   "output_tokens": 1}}}
    events = [anthropic_event(start), anthropic_event({"type": "content_block_start", "index": 0,
                                                       "content_block": block})]
    body = [anthropic_event({"type": "content_block_delta", "index": 0, "delta": delta}) for delta in deltas]
    stop = [anthropic_event({"type": "content_block_stop", "index": 0}),
            anthropic_event({"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                             "usage": {"output_tokens": 5}}),
            anthropic_event({"type": "message_stop"})]
    if stop_first:
        return "".join(events + stop + body).encode()
    return "".join(events + body[:2] + list(between) + body[2:] + stop).encode()


TEXTS = ["a", "b", "c", "d", "e"]
ANTHROPIC_CASES = {
    "text": ({"type": "text", "text": ""}, [{"type": "text_delta", "text": t} for t in TEXTS], [], False),
    "thinking after its signature": (
        {"type": "thinking", "thinking": "", "signature": ""},
        [{"type": "thinking_delta", "thinking": t} for t in TEXTS],
        [anthropic_event({"type": "content_block_delta", "index": 0,
                          "delta": {"type": "signature_delta", "signature": "s"}})], False),
    "tool input": ({"type": "tool_use", "id": "t", "name": "f", "input": {}},
                   [{"type": "input_json_delta", "partial_json": t} for t in TEXTS], [], False),
    "text into a thinking block": ({"type": "thinking", "thinking": "", "signature": ""},
                                   [{"type": "text_delta", "text": t} for t in TEXTS], [], False),
    "after message_stop": ({"type": "text", "text": ""}, [{"type": "text_delta", "text": t} for t in TEXTS], [],
                           True),
    "a ping between": ({"type": "text", "text": ""}, [{"type": "text_delta", "text": t} for t in TEXTS],
                       [anthropic_event({"type": "ping"})], False),
    "an unreadable event between": ({"type": "text", "text": ""},
                                    [{"type": "text_delta", "text": t} for t in TEXTS],
                                    ["event: content_block_stop\ndata: {\"type\n\n"], False),
}


@pytest.mark.parametrize("case", sorted(ANTHROPIC_CASES))
def test_anthropic_deltas_read_the_same_both_ways(case: str) -> None:
    block, deltas, between, stop_first = ANTHROPIC_CASES[case]
    assert_same_both_ways(anthropic_stream(block, deltas, between, stop_first=stop_first), "anthropic-messages")


def test_a_repeated_anthropic_text_delta_skips_the_json_decode(monkeypatch: pytest.MonkeyPatch) -> None:
    body = anthropic_stream({"type": "text", "text": ""}, [{"type": "text_delta", "text": str(n)} for n in range(300)])
    assert _decoded_payloads(body, monkeypatch, fast=False) - _decoded_payloads(body, monkeypatch, fast=True) >= 290


def test_a_stream_whose_deltas_never_repeat_a_shape_gets_few_shapes_cut(monkeypatch: pytest.MonkeyPatch) -> None:
    cuts = []
    cut = DeltaShape.cut.__func__  # type: ignore[attr-defined]
    monkeypatch.setattr(DeltaShape, "cut", classmethod(lambda cls, *args: cuts.append(1) or cut(cls, *args)))
    opening = chat_chunk("", {"delta": {"role": "assistant"}})
    body = opening + "".join(chat_chunk(str(n), n=n) for n in range(2000))  # `n` breaks every shape
    check = StreamCheck("openai-chat")
    check.feed(body.encode())
    assert check.events == 2001
    assert len(cuts) < 30
