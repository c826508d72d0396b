"""The validator's fast path for repeated deltas (`protocols/delta_shape.py`) against the full path: the same
findings and the same assembly on every corpus stream and on mutated ones, fed as bytes and as a recording's chunks
of text (where the shape takes whole chunks), and the fast path really taken."""

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
from inspector.protocols.gemini.checker import USAGE_COUNTS, _adds_up, _adds_up_with
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


_FRAME_END = re.compile(rb"(?<=\n\n)|(?<=\r\n\r\n)")


def fed_as_texts(body: bytes, protocol: str | None, per_chunk: int = 1, run_of: int = 50) -> StreamCheck:
    """`body` as `validate` reads a recording of it, `per_chunk` events a chunk: a check that wants no events, fed
    runs of `run_of` chunks as text (`StreamCheck.feed_texts`), so that a shape takes whole chunks
    (`DeltaShape.take_texts`); a chunk that is not UTF-8 is fed as bytes, as a recording's base64 chunk is."""
    frames = [frame for frame in _FRAME_END.split(body) if frame]
    chunks = [b"".join(frames[start : start + per_chunk]) for start in range(0, len(frames), per_chunk)]
    check = StreamCheck(protocol)
    check.events_wanted = False
    texts: list[str] = []
    for chunk in [*chunks, None]:
        try:
            text = None if chunk is None else chunk.decode()
        except UnicodeDecodeError:
            text = None
        if text is not None:
            texts.append(text)
        if texts and (text is None or len(texts) == run_of):
            check.feed_texts(texts, [None] * len(texts))
            texts = []
        if text is None and chunk is not None:
            check.feed(chunk)
    return check


def run_texts(body: bytes, protocol: str | None, per_chunk: int = 1) -> tuple[list[dict], dict, int]:
    check = fed_as_texts(body, protocol, per_chunk)
    return [finding.to_json() for finding in check.close()], snapshot(check.assembly), check.events


def assert_same_both_ways(body: bytes, protocol: str | None = None) -> None:
    full = run(body, protocol, fast=False)
    assert run(body, protocol, fast=True) == full
    assert run_texts(body, protocol) == full


@pytest.mark.parametrize("path", CORPUS_FILES, ids=[f"{p.parent.name}/{p.name}" for p in CORPUS_FILES])
def test_every_corpus_stream_reads_the_same_both_ways(path: Path) -> None:
    assert_same_both_ways(path.read_bytes())


# -- mutated streams: the fast path must fall back wherever the full path would say or do something else --------

_PROTOCOL_OF = {"openai-chat": "openai-chat", "openai-responses": "openai-responses",
                "anthropic-messages": "anthropic-messages", "gemini-generate-content": "gemini"}
_TEXT_KEYS = re.compile(r'"(content|delta|text|partial_json|thinking|arguments|obfuscation)":"')
_SEQUENCE = re.compile(r'"sequence_number":\d+')
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


def shadowed(frame: str) -> str:
    """The frame's first text field spelled twice: a decoy under the plain key, then the same key spelled with a
    `\\u` escape, which JSON decoders take (the last duplicate wins). A repeat that changes the first string
    changes only the decoy."""
    found = _TEXT_KEYS.search(frame)
    end = None if found is None else re.compile(r'(?:[^"\\]|\\.)*"', re.DOTALL).match(frame, found.end())
    if end is None:
        return frame
    key, value = found.group(1), frame[found.end() : end.end() - 1]
    escaped = f"\\u{ord(key[0]):04x}{key[1:]}"
    return f'{frame[: found.start()]}"{key}":"{value}","{escaped}":"{value}"{frame[end.end() :]}'


def with_number(frame: str, number: int | str) -> str:
    return _NUMBER_KEYS.sub(lambda found: f'"{found.group(1)}":{number}', frame, count=1)


WRONG_NUMBERS = st.sampled_from(["[]", "{}", '"0"', "null", "1.5", "true", "-1", "7" * 4301])
"""What a broken server may send where an index belongs: the schema reports it once, so the repeats of such an
event are judged silently and must still not be taken for valid ones."""


@st.composite
def mutated_stream(draw: st.DrawFn, folder: str) -> bytes:
    """A corpus stream of `folder` with frames repeated (with new texts), retexted, renumbered, given a wrong-typed
    index, dropped, swapped."""
    frames = frames_of(draw(st.sampled_from(sorted((CORPUS / folder).glob("*.sse")))))
    for _ in range(draw(st.integers(0, 12))):
        at = draw(st.integers(0, len(frames) - 1))
        operation = draw(st.sampled_from(["repeat", "repeat", "text", "raw-text", "number", "mistype", "shadow",
                                          "drop", "swap"]))
        if operation == "repeat":
            texts = draw(st.lists(NASTY_TEXT, min_size=1, max_size=4))
            frames[at + 1 : at + 1] = [_replace_first_string(frames[at], json.dumps(text)[1:-1]) for text in texts]
        elif operation == "text":
            frames[at] = _replace_first_string(frames[at], json.dumps(draw(NASTY_TEXT))[1:-1])
        elif operation == "raw-text":
            frames[at] = _replace_first_string(frames[at], draw(NASTY_TEXT))
        elif operation == "number":
            frames[at] = with_number(frames[at], draw(st.integers(0, 9)))
        elif operation == "mistype":  # then repeated, so that the repeats come after the schema's one report
            frames[at : at + 1] = [with_number(frames[at], draw(WRONG_NUMBERS))] * draw(st.integers(1, 4))
        elif operation == "shadow":  # then repeated, so that the repeats differ in the decoy only
            frames[at] = shadowed(frames[at])
            texts = draw(st.lists(NASTY_TEXT, min_size=1, max_size=4))
            frames[at + 1 : at + 1] = [_replace_first_string(frames[at], json.dumps(text)[1:-1]) for text in texts]
        elif operation == "drop" and len(frames) > 1:
            del frames[at]
        elif operation == "swap":
            other = draw(st.integers(0, len(frames) - 1))
            frames[at], frames[other] = frames[other], frames[at]
    if draw(st.booleans()):  # Responses: number the events afresh, so that repeated deltas are in sequence
        counter = iter(range(10**6))
        frames = [_SEQUENCE.sub(lambda found: f'"sequence_number":{next(counter)}', frame) for frame in frames]
    return ("\n\n".join(frames) + "\n\n").encode("utf-8", errors="surrogatepass")


@pytest.mark.parametrize("folder", sorted(_PROTOCOL_OF))
def test_mutated_streams_read_the_same_both_ways(folder: str) -> None:
    @settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(body=mutated_stream(folder), detect=st.booleans(), chunk=st.sampled_from([7, 64, 4096]),
           per_chunk=st.sampled_from([1, 1, 2]))
    def same(body: bytes, detect: bool, chunk: int, per_chunk: int) -> None:
        protocol = None if detect else _PROTOCOL_OF[folder]
        full = run(body, protocol, False, chunk)
        assert run(body, protocol, True, chunk) == full
        assert run_texts(body, protocol, per_chunk) == full

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


def test_chat_text_chunks_with_openai_s_random_pad_skip_the_json_decode(monkeypatch: pytest.MonkeyPatch) -> None:
    """OpenAI pads every chunk with a new `obfuscation` string: the pad is a hole, not a new shape each time."""
    pads = ["", "x", "Qz3", "a\\\"b", "0123456789"]
    body = (chat_chunk("", {"delta": {"role": "assistant"}}) + chat_chunk("Hi", obfuscation="p")
            + "".join(chat_chunk(str(n), obfuscation=pads[n % len(pads)]) for n in range(300))
            + chat_chunk("", {"finish_reason": "stop"}) + "data: [DONE]\n\n").encode()
    assert_same_both_ways(body, "openai-chat")
    assert _decoded_payloads(body, monkeypatch, fast=False) - _decoded_payloads(body, monkeypatch, fast=True) >= 290


def test_a_repeated_chat_text_delta_skips_the_json_decode(monkeypatch: pytest.MonkeyPatch) -> None:
    body = repeated(CORPUS / "openai-chat" / "openai-python__json-object-long.sse", '"content":"', 500)
    assert _decoded_payloads(body, monkeypatch, fast=False) - _decoded_payloads(body, monkeypatch, fast=True) >= 500


# -- the shape itself ----------------------------------------------------------------------------------------

def event(data: str, type_: str = "message", id_: str | None = None, index: int = 1) -> Event:
    return Event(index, type_, data, id_, 0, None)


def shape(data: str, *holes: Hole) -> tuple[DeltaShape | None, list[tuple[int, tuple[Any, ...]]]]:
    taken: list[tuple[int, tuple[Any, ...]]] = []
    return DeltaShape.cut(event(data), holes, lambda index, values: taken.append((index, tuple(values))) or True), taken


def test_a_shape_takes_the_values_of_an_event_that_fills_it() -> None:
    cut, taken = shape('{"n":7,"d":{"text":"hi"},"pad":"xy"}', Hole("text", "hi"), Hole("n", 7), Hole("pad", "xy"))
    assert cut is not None
    assert cut.take([event('{"n":8,"d":{"text":"a\\"b\\u00e9"},"pad":""}', index=2)], 0) == 1
    assert taken == [(2, ("a\"bé", 8, ""))]


def test_a_shape_takes_a_run_of_events_up_to_the_first_that_does_not_fill_it() -> None:
    cut, taken = shape('{"text":"hi"}', Hole("text", "hi"))
    run = [event('{"text":"a"}', index=3), event('{"text":"b"}', index=4), event('{"text":"c","x":1}', index=5),
           event('{"text":"d"}', index=6)]
    assert cut is not None and cut.take(run, 1) == 2
    assert taken == [(4, ("b",))]


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
    assert cut.take([event(data)], 0) == 0
    assert taken == []


def test_a_shape_refuses_another_event_name_or_id() -> None:
    cut, _ = shape('{"text":"hi"}', Hole("text", "hi"))
    assert cut is not None
    assert cut.take([event('{"text":"ho"}', type_="delta")], 0) == 0
    assert cut.take([event('{"text":"ho"}', id_="7")], 0) == 0


def test_a_shape_takes_whole_chunks_of_one_event_each_from_their_text() -> None:
    cut, taken = shape('{"text":"hi"}', Hole("text", "hi"))
    texts = ['data: {"text":"a"}\n\n', 'data: {"text":"b\\u00e9"}\n\n', 'data: {"text":"c"}\n\n']
    assert cut is not None and cut.take_texts(texts, 1, 7, None) == 3
    assert taken == [(7, ("bé",)), (8, ("c",))]


@pytest.mark.parametrize("text", [
    'data: {"text":"a"}xy',  # the line goes on in the next chunk: no event yet
    'data: {"text":"a"}\n',  # no blank line yet
    'data: {"text":"a"}\r\n\n',  # a CR before the LF: the CRLF form is `data:` and a CRLF blank line
    'data: {"text":"a"}\n\ndata: {"text":"b"}\n\n',  # two events
    'data: {"text":"a"}\rdata: {"text":"b"}\n\n',  # a lone CR ends a line
    'event: message\ndata: {"text":"a"}\n\n',  # the usual event, but spelled out: the full way
    'event: delta\ndata: {"text":"a"}\n\n',  # another name
    ' data: {"text":"a"}\n\n',  # another field
])
def test_a_shape_takes_no_chunk_but_one_usual_event_of_its_name(text: str) -> None:
    cut, taken = shape('{"text":"hi"}', Hole("text", "hi"))
    assert cut is not None and cut.take_texts([text], 0, 1, None) == 0
    assert taken == []


def test_a_shape_whose_data_has_whitespace_takes_no_chunk_with_a_line_end_inside() -> None:
    cut, _ = shape('{"text": "hi"}', Hole("text", "hi"))
    assert cut is not None
    assert cut.take_texts(['data: {"text":\n"a"}\n\n'], 0, 1, None) == 0
    assert cut.take_texts(['data: {"text":\r"a"}\n\n'], 0, 1, None) == 0
    assert cut.take_texts(['data: {"text":  "a"}\n\n'], 0, 1, None) == 1


def test_a_shape_takes_crlf_chunks_after_a_crlf_chunk_and_lf_ones_after_an_lf_one() -> None:
    cut, _ = shape('{"text":"hi"}', Hole("text", "hi"))
    crlf, lf = 'data: {"text":"a"}\r\n\r\n', 'data: {"text":"b"}\n\n'
    assert cut is not None
    assert cut.take_texts([crlf, crlf, lf], 0, 1, None) == 2
    assert cut.take_texts([lf, crlf], 0, 1, None) == 1
    assert cut.take_texts(['data: {"text":"a\r"}\r\n\r\n'], 0, 1, None) == 0


def test_a_shape_takes_no_chunk_of_an_event_with_another_id() -> None:
    cut, _ = shape('{"text":"hi"}', Hole("text", "hi"))
    assert cut is not None and cut.take_texts(['data: {"text":"a"}\n\n'], 0, 1, "7") == 0


def test_a_named_shape_takes_chunks_with_its_event_line() -> None:
    taken: list[tuple[int, tuple[Any, ...]]] = []
    cut = DeltaShape.cut(event('{"text":"hi"}', type_="delta"), [Hole("text", "hi")],
                         lambda index, values: taken.append((index, tuple(values))) or True)
    assert cut is not None
    assert cut.take_texts(['event: delta\ndata: {"text":"a"}\n\n', 'data: {"text":"b"}\n\n'], 0, 1, None) == 1
    assert cut.take_texts(['event: delta\ndata: {"text":"c"}\r\n\r\n'], 0, 2, None) == 0  # CRLF: `data:` alone
    assert taken == [(1, ("a",))]


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


@pytest.mark.parametrize("folder", sorted(_PROTOCOL_OF))
def test_a_text_key_spelled_with_an_escape_is_never_taken_for_the_plain_one(folder: str) -> None:
    """`{"text":"a","t\\u0065xt":"a"}` decodes to the second; a shape whose hole is the first (the only `"text":`
    its text search finds) would take a repeat's decoy `{"text":"b",...}` for the text."""
    for path in sorted((CORPUS / folder).glob("*.sse")):
        frames = frames_of(path)
        texts = [at for at, frame in enumerate(frames) if shadowed(frame) != frame]
        if not texts:
            continue
        at = texts[len(texts) // 2]
        decoys = [_replace_first_string(shadowed(frames[at]), text) for text in ("x", "y", "z", "w", "v")]
        body = "\n\n".join([*frames[:at], *[shadowed(frames[at])] * 3, *decoys, *frames[at + 1 :]]) + "\n\n"
        assert_same_both_ways(body.encode(), _PROTOCOL_OF[folder])


# -- Responses and Gemini: deltas that differ from the one before go the full way ------------------------------

def parse_frames(path: Path) -> list[dict[str, Any]]:
    """A corpus stream as frames `{"event", "id", "data"}`, `data` decoded (edited by the cases below)."""
    frames = []
    for text in frames_of(path):
        frame: dict[str, Any] = {"event": None, "id": None, "data": None}
        for line in text.splitlines():
            field, _, value = line.partition(":")
            frame[field] = json.loads(value) if field == "data" else value.strip()
        frames.append(frame)
    return frames


def encode(frames: list[dict[str, Any]]) -> bytes:
    """Frames back to an SSE body; a `data` that is a `bytes` value goes out raw (an unreadable event)."""
    out = []
    for frame in frames:
        lines = [f"{field}: {frame[field]}" for field in ("event", "id") if frame.get(field) is not None]
        data = frame["data"]
        lines.append("data: " + (data.decode() if isinstance(data, bytes) else json.dumps(data, separators=(",", ":"))))
        out.append("\n".join(lines) + "\n\n")
    return "".join(out).encode("utf-8", errors="surrogatepass")


def with_repeats(path: Path, is_template: Any, texts: list[str]) -> tuple[list[dict], list[dict], str]:
    """The stream with the last frame that `is_template` repeated with `texts` right after it: (frames, the
    repeats, the name of the text field)."""
    frames = parse_frames(path)
    at = max(i for i, frame in enumerate(frames) if is_template(frame["data"]))
    template = frames[at]
    repeats = [json.loads(json.dumps(template)) for _ in texts]
    for number, (repeat, text) in enumerate(zip(repeats, texts, strict=True)):
        payload = repeat["data"]
        if "delta" in payload:
            payload["delta"] = text
            if "obfuscation" in payload:
                payload["obfuscation"] = "pad"[: number % 4]
        else:
            payload["candidates"][0]["content"]["parts"][0]["text"] = text
            usage = payload.get("usageMetadata")
            grows = "thoughtsTokenCount" if payload["candidates"][0]["content"]["parts"][0].get("thought") else (
                "candidatesTokenCount")
            if usage and grows in usage:
                usage[grows] += number + 1
                usage["totalTokenCount"] += number + 1
    frames[at + 1 : at + 1] = repeats
    return frames, repeats, "delta" if "delta" in template["data"] else "text"


def renumber(frames: list[dict[str, Any]]) -> None:
    number = 0
    for frame in frames:
        if isinstance(frame["data"], dict) and type(frame["data"].get("sequence_number")) is int:
            frame["data"]["sequence_number"] = number
            number += 1


def assert_same_state_both_ways(body: bytes, protocol: str, state: tuple[str, ...]) -> None:
    """The same findings, assembly and checker state (the attributes named) on the fast and the full path."""
    checks = []
    for way in ("fast", "full", "texts"):
        if way == "texts":
            check = fed_as_texts(body, protocol)
        else:
            check = StreamCheck(protocol)
            check.fast_path = way == "fast"
            check.feed(body)
        checks.append(([finding.to_json() for finding in check.close()], snapshot(check.assembly),
                       {name: getattr(check.checker, name) for name in state}))
    assert checks[0] == checks[1] == checks[2]


RESPONSES = CORPUS / "openai-responses"
RESPONSES_DELTAS = {
    "response.output_text.delta": RESPONSES / "pydantic-ai__text-conversation.sse",
    "response.reasoning_summary_text.delta": RESPONSES / "vercel-ai__reasoning-summary-function-call.sse",
    "response.function_call_arguments.delta": RESPONSES / "vercel-ai__reasoning-summary-function-call.sse",
}
ANOTHER_FAMILY = {
    "response.output_text.delta": "response.refusal.delta",  # into an `output_text` part
    "response.reasoning_summary_text.delta": "response.function_call_arguments.delta",  # into a reasoning item
    "response.function_call_arguments.delta": "response.custom_tool_call_input.delta",  # into a function call
}
SEQUENCE_STATE = ("count", "numbered", "last_sequence", "unnumbered")
TEXTS = ["a", "b\"", "c\n", "é", "😀", "f"]
UNREADABLE_FRAME = {"event": None, "id": None, "data": b"{not json"}


def responses_stream(kind: str, texts: list[str] = TEXTS) -> tuple[list[dict], list[dict]]:
    frames, repeats, _ = with_repeats(RESPONSES_DELTAS[kind], lambda data: data.get("type") == kind, texts)
    return frames, repeats


def _move(frames: list[dict], repeats: list[dict], after: Any) -> None:
    for repeat in repeats:
        frames.remove(repeat)
    at = max(i for i, frame in enumerate(frames) if after(frame["data"]))
    frames[at + 1 : at + 1] = repeats


def _set(repeats: list[dict], **values: Any) -> None:
    for repeat in repeats:
        for key, value in values.items():
            if value is None:
                repeat["data"].pop(key, None)
            else:
                repeat["data"][key] = value(repeat["data"][key]) if callable(value) else value


# Cases that change what the repeats are or where they stand (the stream is numbered afresh after them).
RESPONSES_CASES = {
    "as recorded": lambda kind, frames, repeats: None,
    "no number": lambda kind, frames, repeats: _set(repeats[2:], sequence_number=None),
    "another item_id": lambda kind, frames, repeats: _set(repeats[2:], item_id="msg_other"),
    "another output_index": lambda kind, frames, repeats: _set(repeats[2:], output_index=lambda n: n + 1),
    "another content or summary index": lambda kind, frames, repeats: [
        repeat["data"].update({key: repeat["data"][key] + 1})
        for repeat in repeats[2:] for key in ("content_index", "summary_index") if key in repeat["data"]],
    "another family": lambda kind, frames, repeats: [
        repeat.update(event=ANOTHER_FAMILY[kind]) or repeat["data"].update(type=ANOTHER_FAMILY[kind])
        for repeat in repeats[2:]],
    "another event name": lambda kind, frames, repeats: [repeat.update(event="delta") for repeat in repeats[2:]],
    "varying logprobs": lambda kind, frames, repeats: [
        repeat["data"].update(logprobs=[{"token": "t", "logprob": -number / 4, "bytes": [], "top_logprobs": []}])
        for number, repeat in enumerate(repeats)],
    "an extra field": lambda kind, frames, repeats: _set(repeats[2:], annotations=[]),
    "no obfuscation": lambda kind, frames, repeats: _set(repeats[3:], obfuscation=None),
    "empty deltas": lambda kind, frames, repeats: _set(repeats[:4], delta=""),
    "empty deltas first": lambda kind, frames, repeats: [
        frame["data"].update(delta="") for frame in frames[: frames.index(repeats[3])]
        if frame["data"].get("type") == kind],
    "after the done": lambda kind, frames, repeats: _move(
        frames, repeats, lambda data: data.get("type") == kind.replace(".delta", ".done")),
    "after the terminal event": lambda kind, frames, repeats: _move(
        frames, repeats, lambda data: data.get("type") == "response.completed"),
    "after an error event": lambda kind, frames, repeats: frames.insert(frames.index(repeats[0]), {
        "event": "error", "id": None,
        "data": {"type": "error", "sequence_number": 0, "code": "server_error", "message": "boom", "param": None}}),
    "an unreadable event between": lambda kind, frames, repeats: frames.insert(
        frames.index(repeats[3]), UNREADABLE_FRAME),
    "cut after them": lambda kind, frames, repeats: frames.__delitem__(slice(frames.index(repeats[-1]) + 1, None)),
}


def _shift(frames: list[dict], start: dict, by: int) -> None:
    for frame in frames[frames.index(start) :]:
        if isinstance(frame["data"], dict) and type(frame["data"].get("sequence_number")) is int:
            frame["data"]["sequence_number"] += by


# Cases that change the numbers of a numbered stream.
SEQUENCE_CASES = {
    "a number skipped": lambda frames, repeats: _shift(frames, repeats[3], 1),
    "a number repeated": lambda frames, repeats: _shift(frames, repeats[3], -1),
    "a number from before": lambda frames, repeats: repeats[4]["data"].update(
        sequence_number=repeats[1]["data"]["sequence_number"]),
    "the next number after an unreadable event": lambda frames, repeats: (
        frames.insert(frames.index(repeats[3]), UNREADABLE_FRAME), _shift(frames, repeats[3], 1)),
    "the number the unreadable event may have had": lambda frames, repeats: frames.insert(
        frames.index(repeats[3]), UNREADABLE_FRAME),
}


@pytest.mark.parametrize("case", sorted(RESPONSES_CASES))
@pytest.mark.parametrize("kind", sorted(RESPONSES_DELTAS))
def test_responses_deltas_that_differ_read_the_same_both_ways(kind: str, case: str) -> None:
    frames, repeats = responses_stream(kind)
    RESPONSES_CASES[case](kind, frames, repeats)
    renumber(frames)
    assert_same_state_both_ways(encode(frames), "openai-responses", SEQUENCE_STATE)


@pytest.mark.parametrize("case", sorted(SEQUENCE_CASES))
@pytest.mark.parametrize("kind", sorted(RESPONSES_DELTAS))
def test_responses_deltas_out_of_sequence_read_the_same_both_ways(kind: str, case: str) -> None:
    frames, repeats = responses_stream(kind)
    renumber(frames)
    SEQUENCE_CASES[case](frames, repeats)
    assert_same_state_both_ways(encode(frames), "openai-responses", SEQUENCE_STATE)


@pytest.mark.parametrize("digits", [19, 4301, 5000])
def test_a_sequence_number_too_long_for_int_reads_the_same_both_ways(digits: int) -> None:
    """Python's `int()` refuses over 4,300 digits (and `json.loads` with it): the fast path must not read such a
    number where the full path reports the event as unreadable."""
    frames, repeats = responses_stream("response.output_text.delta")
    renumber(frames)
    number = repeats[4]["data"]["sequence_number"]
    body = encode(frames).replace(b'"sequence_number":%d}' % number, b'"sequence_number":' + b"7" * digits + b"}", 1)
    assert body != encode(frames)
    assert_same_both_ways(body, "openai-responses")


@pytest.mark.parametrize("kind", sorted(RESPONSES_DELTAS))
def test_repeated_responses_deltas_skip_the_json_decode(kind: str, monkeypatch: pytest.MonkeyPatch) -> None:
    frames, _ = responses_stream(kind, [f"t{number}" for number in range(300)])
    renumber(frames)
    body = encode(frames)
    assert _decoded_payloads(body, monkeypatch, fast=False) - _decoded_payloads(body, monkeypatch, fast=True) >= 300


GEMINI = CORPUS / "gemini-generate-content" / "pydantic-ai__thinking-summaries.sse"
GEMINI_STATE = ("_events", "_answered", "_finished_at", "_not_last_reported")


def _is_text_chunk(thought: bool) -> Any:
    def test(data: dict[str, Any]) -> bool:
        candidate = data["candidates"][0]
        return (candidate.get("finishReason") is None
                and (candidate["content"]["parts"][0].get("thought") is True) == thought)
    return test


def _part(repeat: dict[str, Any]) -> dict[str, Any]:
    return repeat["data"]["candidates"][0]["content"]["parts"][0]


def _usage(repeats: list[dict], field: str, change: Any) -> None:
    for repeat in repeats:
        usage = repeat["data"]["usageMetadata"]
        usage[field] = change(usage)


GEMINI_CASES = {
    "as recorded": lambda frames, repeats: None,
    "a finishReason": lambda frames, repeats: [
        repeat["data"]["candidates"][0].update(finishReason="STOP") for repeat in repeats[2:]],
    "a total that is not the sum": lambda frames, repeats: _usage(
        repeats[3:4], "totalTokenCount", lambda usage: usage["totalTokenCount"] + 100),
    "cached tokens over the prompt": lambda frames, repeats: (
        _usage(repeats[:3], "cachedContentTokenCount", lambda usage: 0),
        _usage(repeats[3:], "cachedContentTokenCount", lambda usage: usage["promptTokenCount"] + 1)),
    "no usage": lambda frames, repeats: [repeat["data"].pop("usageMetadata") for repeat in repeats[2:]],
    "a second part": lambda frames, repeats: [
        repeat["data"]["candidates"][0]["content"]["parts"].append({"functionCall": {"name": "f", "args": {}}})
        for repeat in repeats[2:]],
    "a call in the text part": lambda frames, repeats: [
        _part(repeat).update(functionCall={"name": "f", "args": {}}) for repeat in repeats[2:]],
    "an empty signature": lambda frames, repeats: [_part(repeat).update(thoughtSignature="") for repeat in repeats[2:]],
    "the other kind of text": lambda frames, repeats: [
        _part(repeat).update(thought=not _part(repeat).get("thought")) for repeat in repeats[2:]],
    "empty texts": lambda frames, repeats: [_part(repeat).update(text="") for repeat in repeats[:3]],
    "empty answer texts first, then a thought": lambda frames, repeats: (
        [_part(frame).update(text="") for frame in frames[: frames.index(repeats[2])]
         if not _part(frame).get("thought")],
        frames.insert(frames.index(repeats[-1]) + 1, {**repeats[-1], "data": {"candidates": [
            {"content": {"parts": [{"text": "hm", "thought": True}], "role": "model"}}]}})),
    "two candidates": lambda frames, repeats: [
        repeat["data"]["candidates"].append(json.loads(json.dumps(repeat["data"]["candidates"][0])))
        for repeat in repeats[2:]],
    "an error": lambda frames, repeats: repeats[3]["data"].update(error={"code": 500, "message": "boom"}),
    "a blocked prompt": lambda frames, repeats: repeats[3]["data"].update(promptFeedback={"blockReason": "SAFETY"}),
    "an event name": lambda frames, repeats: [repeat.update(event="chunk") for repeat in repeats[2:]],
    "an id": lambda frames, repeats: [repeat.update(id="7") for repeat in repeats[2:]],
    "an unreadable event between": lambda frames, repeats: frames.insert(frames.index(repeats[3]), UNREADABLE_FRAME),
    "cut after them": lambda frames, repeats: frames.__delitem__(slice(frames.index(repeats[-1]) + 1, None)),
}


USAGE_VALUES = st.one_of(st.integers(0, 40), st.sampled_from(["5", None, 1.5, True, [], {}]))


@settings(max_examples=600, deadline=None)
@given(usage=st.dictionaries(st.sampled_from(USAGE_COUNTS + ("promptTokensDetails",)), USAGE_VALUES),
       new=st.lists(st.integers(0, 40), min_size=len(USAGE_COUNTS), max_size=len(USAGE_COUNTS)))
def test_the_fast_path_s_usage_sums_are_those_of_the_full_path(usage: dict[str, Any], new: list[int]) -> None:
    """The shape's holes are the counts that are ints; whatever the others hold, the fast sums agree with `_usage`'s
    judgement of the whole snapshot (`_adds_up`)."""
    counted = tuple(field for field in USAGE_COUNTS if type(usage.get(field)) is int)
    counts = new[: len(counted)]
    assert _adds_up_with(usage, counted)(counts) == _adds_up({**usage, **dict(zip(counted, counts, strict=True))})


@pytest.mark.parametrize("case", sorted(GEMINI_CASES))
@pytest.mark.parametrize("thought", [False, True], ids=["answer", "thought"])
def test_gemini_text_chunks_that_differ_read_the_same_both_ways(thought: bool, case: str) -> None:
    frames, repeats, _ = with_repeats(GEMINI, _is_text_chunk(thought), TEXTS)
    GEMINI_CASES[case](frames, repeats)
    assert_same_state_both_ways(encode(frames), "gemini", GEMINI_STATE)


def test_repeated_gemini_text_chunks_skip_the_json_decode(monkeypatch: pytest.MonkeyPatch) -> None:
    frames, _, _ = with_repeats(GEMINI, _is_text_chunk(False), [f"t{number}" for number in range(300)])
    body = encode(frames)
    assert _decoded_payloads(body, monkeypatch, fast=False) - _decoded_payloads(body, monkeypatch, fast=True) >= 300


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


def tool_chunk(arguments: str, fragment: dict[str, Any] | None = None, **choice: Any) -> str:
    call = {"index": 0, "function": {"arguments": arguments}, **(fragment or {})}
    return chat_chunk("", {"delta": {"tool_calls": [call]}, **choice})


TOOL_OPENING = (chat_chunk("", {"delta": {"role": "assistant"}})
                + tool_chunk("", {"id": "call_1", "type": "function", "function": {"name": "f", "arguments": ""}}))
TOOL_CASES = {
    "plain": {},
    "a repeated name": {"fragment": {"function": {"name": "f", "arguments": "x"}}},
    "a changed id": {"fragment": {"id": "call_2"}},
    "another call": {"fragment": {"index": 1}},
    "a finish": {"finish_reason": "tool_calls"},
}


@pytest.mark.parametrize("case", sorted(TOOL_CASES))
def test_chat_tool_argument_chunks_read_the_same_both_ways(case: str) -> None:
    choice = dict(TOOL_CASES[case])
    fragment = choice.pop("fragment", None)
    repeats = "".join(tool_chunk(text, fragment, **choice) for text in ['{"a', '":', " 1", ', "b"', ": 2}"])
    ending = chat_chunk("", {"finish_reason": "tool_calls"}) + "data: [DONE]\n\n"
    body = TOOL_OPENING + tool_chunk('{"') + repeats + ending
    assert_same_both_ways(body.encode(), "openai-chat")


def test_repeated_chat_tool_argument_chunks_skip_the_json_decode(monkeypatch: pytest.MonkeyPatch) -> None:
    body = (TOOL_OPENING + "".join(tool_chunk(str(n)) for n in range(300))
            + chat_chunk("", {"finish_reason": "tool_calls"}) + "data: [DONE]\n\n").encode()
    assert _decoded_payloads(body, monkeypatch, fast=False) - _decoded_payloads(body, monkeypatch, fast=True) >= 290


# -- a recording's chunks: each a whole event that fits the shape is taken from its text ------------------------

def _events_judged_one_by_one(body: bytes, protocol: str, monkeypatch: pytest.MonkeyPatch) -> tuple[int, int]:
    """How many events the check judged as events (the rest, the shape took from the chunks' text) and in all."""
    judged = []
    one = StreamCheck._event
    monkeypatch.setattr(StreamCheck, "_event", lambda check, event: judged.append(1) or one(check, event))
    check = fed_as_texts(body, protocol)
    check.close()
    return len(judged), check.events


def _chat_with_pads() -> bytes:
    return (chat_chunk("", {"delta": {"role": "assistant"}}) + "".join(chat_chunk(f"t{n}", obfuscation="p" * (n % 3))
                                                                          for n in range(300))
            + chat_chunk("", {"finish_reason": "stop"}) + "data: [DONE]\n\n").encode()


def _renumbered(frames: list[dict[str, Any]]) -> bytes:
    renumber(frames)
    return encode(frames)


TAKEN_WHOLE = {
    "openai-chat": _chat_with_pads,
    "openai-responses": lambda: _renumbered(responses_stream("response.output_text.delta",
                                                             [f"t{n}" for n in range(300)])[0]),
    "anthropic-messages": lambda: anthropic_stream({"type": "text", "text": ""},
                                                   [{"type": "text_delta", "text": f"t{n}"} for n in range(300)]),
    "gemini": lambda: encode(with_repeats(GEMINI, _is_text_chunk(False), [f"t{n}" for n in range(300)])[0]),
}


@pytest.mark.parametrize("protocol", sorted(TAKEN_WHOLE))
def test_a_recording_s_repeated_deltas_are_taken_from_their_chunks_text(protocol: str,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    body = TAKEN_WHOLE[protocol]()
    assert_same_both_ways(body, protocol)
    judged, events = _events_judged_one_by_one(body, protocol, monkeypatch)
    assert events >= 300
    assert events - judged >= 280


def test_a_check_that_wants_its_events_gets_every_one() -> None:
    body = _chat_with_pads()
    check = StreamCheck("openai-chat")
    texts = [frame.decode() for frame in _FRAME_END.split(body) if frame]
    events = check.feed_texts(texts, [None] * len(texts))
    assert [event.index for event in events] == list(range(len(texts)))


def test_chunks_taken_from_their_text_count_their_bytes_not_their_characters() -> None:
    """Where a later finding says a byte offset, chunks of non-ASCII text taken whole have moved it by bytes."""
    deltas = "".join(chat_chunk(f"t{n}").replace(f'"t{n}"', f'"é{n}😀"') for n in range(30))  # raw, not `\\u` escaped
    body = (chat_chunk("", {"delta": {"role": "assistant"}}) + deltas).encode() + b'data: {"id":"\xff"}\n\n'
    assert_same_both_ways(body, "openai-chat")
    assert any(finding["message"].startswith("byte ") for finding in run_texts(body, "openai-chat")[0])


def test_validate_and_the_recorder_s_verdict_take_a_recording_s_deltas_from_their_text(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """They want no events (the verdict, none after the first token's): the wiring of `events_wanted`."""
    import time

    from inspector.inputs import open_source
    from inspector.recorder.stream import ChunkWriter, Ending, chunk_lines
    from inspector.recorder.verdict import Finished, judge
    from inspector.recording import Header

    events = [frame for frame in _FRAME_END.split(_chat_with_pads()) if frame]
    path = tmp_path / "r.jsonl"
    writer = ChunkWriter(path, Header(request={"method": "POST", "url": "http://x/v1/chat/completions"}, response=None))
    writer.write(chunk_lines([index / 100 for index in range(len(events))], events))
    writer.close()
    judged = []
    one = StreamCheck._event
    monkeypatch.setattr(StreamCheck, "_event", lambda check, event: judged.append(1) or one(check, event))
    assert open_source(str(path)).validate().events == len(events)
    assert len(judged) <= 30
    judged.clear()
    summary = {"method": "POST", "path": "/v1/chat/completions", "status": 200, "sse": True}
    result = judge(Finished(str(path), time.time(), 9.0, summary, Ending("response"), None))
    assert (result.events, result.ttft, result.reason) == (len(events), 0.01, "complete")
    assert len(judged) <= 30
