"""`diff` on real corpus streams: what varies between two runs is ignored, what changed is named.

Each case takes a corpus stream, rewrites it the way a second run of the same request would come back
(other ids, `created` timestamps, `obfuscation` padding, text cut into other deltas, other chunk times and
network chunks), or changes one thing a test should catch, and writes both as recordings.
"""

from __future__ import annotations

import copy
import hashlib
import json
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest

from inspector.diff.compare import Difference, Options, diff_paths
from inspector.recording import Header, RecordingWriter
from inspector.sse import SSEParser

CORPUS = Path(__file__).parent / "fixtures" / "corpus"

URLS = {
    "openai-chat": "https://api.openai.com/v1/chat/completions",
    "openai-responses": "https://api.openai.com/v1/responses",
    "anthropic-messages": "https://api.anthropic.com/v1/messages",
    "gemini-generate-content":
        "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse",
}

# fmt: off
STREAMS = {
    "chat-text":           "openai-chat/openai-python__text-plain.sse",
    "chat-tool":           "openai-chat/openai-python__tool-call-single.sse",
    "chat-obfuscation":    "openai-chat/pydantic-ai__tool-call-obfuscation.sse",
    "chat-n3":             "openai-chat/openai-python__n3-multiple-choices.sse",
    "responses-text":      "openai-responses/pydantic-ai__text-conversation.sse",
    "responses-logprobs":  "openai-responses/pydantic-ai__logprobs-deltas.sse",
    "responses-tool":      "openai-responses/vercel-ai__function-call.sse",
    "responses-reasoning": "openai-responses/vercel-ai__reasoning-summary-function-call.sse",
    "anthropic-text":      "anthropic-messages/vercel-ai__text.sse",
    "anthropic-tool":      "anthropic-messages/vercel-ai__tool-use-only.sse",
    "anthropic-thinking":  "anthropic-messages/pydantic-ai__thinking-long.sse",
}
# fmt: on


def _terminated(path: Path) -> bool:
    parser = SSEParser()
    parser.feed(path.read_bytes())
    parser.close()
    return parser.unterminated is None


TERMINATED = sorted(str(path.relative_to(CORPUS)) for path in CORPUS.glob("*/*.sse") if _terminated(path))
"""Every corpus stream but the few stored without the blank line after their last event (rewriting adds it)."""


# -- a stream as frames, and back -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Frame:
    type: str
    """The SSE event type ("message" when the frame has no `event:` line)."""
    payload: Any
    """The decoded JSON, or the raw data string when it is not JSON (`[DONE]`)."""

    @property
    def kind(self) -> str:
        if isinstance(self.payload, dict) and isinstance(self.payload.get("type"), str):
            return self.payload["type"]
        return self.type if self.type != "message" else str(self.payload)[:40]


def read_frames(relative: str) -> list[Frame]:
    parser = SSEParser()
    events = parser.feed((CORPUS / relative).read_bytes())
    parser.close()
    assert parser.unterminated is None, "pick corpus streams whose last event is terminated"
    frames = []
    for event in events:
        try:
            payload = json.loads(event.data)
        except ValueError:
            payload = event.data
        frames.append(Frame(event.type, payload))
    return frames


def render(frames: list[Frame]) -> bytes:
    out = []
    for frame in frames:
        data = frame.payload if isinstance(frame.payload, str) else json.dumps(frame.payload, ensure_ascii=False)
        out.append(("" if frame.type == "message" else f"event: {frame.type}\n") + f"data: {data}\n\n")
    return "".join(out).encode()


def write_recording(path: Path, protocol: str, body: bytes, cut: int, start: float, step: float) -> Path:
    """A recording of `body` in network chunks of `cut` bytes, the first at `start`, then every `step` s."""
    header = Header(
        request={"method": "POST", "url": URLS[protocol], "headers": {}, "body": None},
        response={"status": 200, "headers": {"content-type": "text/event-stream"}},
        source="import",
    )
    writer = RecordingWriter(path, header)
    pieces = [body[offset : offset + cut] for offset in range(0, len(body), cut)]
    for number, piece in enumerate(pieces):
        writer.chunk(start + number * step, piece)
    writer.end(start + len(pieces) * step, "complete")
    return path


# -- what varies between two runs -------------------------------------------------------------------------------

_ID_KEYS = frozenset({"id", "item_id", "call_id", "tool_use_id", "response_id"})
_TIME_KEYS = frozenset({"created", "created_at", "completed_at"})


def _new_id(old: str) -> str:
    """Same prefix (`chatcmpl-`, `msg_`, `fc_`...), other characters, same length, same for the same input."""
    cut = max(old.find("_"), old.find("-")) + 1
    digest = hashlib.sha256(old.encode()).hexdigest() * 4
    return old[:cut] + digest[: len(old) - cut]


def _rewrite(value: Any, key: str | None = None) -> Any:
    if isinstance(value, dict):
        return {k: _rewrite(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [_rewrite(v) for v in value]
    if key in _ID_KEYS and isinstance(value, str) and value:
        return _new_id(value)
    if key in _TIME_KEYS and isinstance(value, int) and not isinstance(value, bool) and value:
        return value + 86_400
    if key == "obfuscation" and isinstance(value, str):
        return "Zq" * (len(value) % 7 + 1)
    return value


def reidentify(frames: list[Frame]) -> list[Frame]:
    """Other ids (consistently), `created` a day later, other obfuscation padding."""
    return [replace(frame, payload=_rewrite(frame.payload)) for frame in frames]


# fmt: off
# Deltas that may be merged with the next one when both have the same key, and the field to concatenate.
_RESPONSES_DELTAS = {
    "response.output_text.delta", "response.function_call_arguments.delta",
    "response.reasoning_summary_text.delta", "response.reasoning_text.delta",
}
_ANTHROPIC_FIELDS = {"text_delta": "text", "input_json_delta": "partial_json", "thinking_delta": "thinking"}
# fmt: on


def _merge_key(payload: Any) -> tuple | None:
    if not isinstance(payload, dict):
        return None
    kind = payload.get("type")
    if kind in _RESPONSES_DELTAS:
        return (kind, payload.get("item_id"), payload.get("output_index"), payload.get("content_index"),
                payload.get("summary_index"))
    if kind == "content_block_delta" and payload["delta"].get("type") in _ANTHROPIC_FIELDS:
        return (kind, payload["index"], payload["delta"]["type"])
    choices = payload.get("choices")
    if isinstance(choices, list) and len(choices) == 1 and not payload.get("usage"):
        choice = choices[0]
        delta = choice.get("delta") or {}
        if choice.get("finish_reason") is None and set(delta) == {"content"} and isinstance(delta["content"], str):
            return ("chat-content", choice["index"])
        calls = delta.get("tool_calls") or []
        if set(delta) == {"tool_calls"} and len(calls) == 1 and set(calls[0]) == {"index", "function"}:
            return ("chat-arguments", choice["index"], calls[0]["index"])
    return None


def _concat(a: Any, b: Any) -> Any:
    return a + b if isinstance(a, str | list) and isinstance(b, type(a)) else a


def _merged(a: dict, b: dict) -> dict:
    merged = copy.deepcopy(a)
    if merged.get("type") in _RESPONSES_DELTAS:
        merged["delta"] += b["delta"]
        if "logprobs" in merged:
            merged["logprobs"] = _concat(merged["logprobs"], b.get("logprobs"))
    elif merged.get("type") == "content_block_delta":
        field = _ANTHROPIC_FIELDS[merged["delta"]["type"]]
        merged["delta"][field] += b["delta"][field]
    else:
        choice, other = merged["choices"][0], b["choices"][0]
        if "content" in choice["delta"]:
            choice["delta"]["content"] += other["delta"]["content"]
        else:
            choice["delta"]["tool_calls"][0]["function"]["arguments"] += other["delta"]["tool_calls"][0]["function"][
                "arguments"]
        if isinstance(choice.get("logprobs"), dict):
            choice["logprobs"]["content"] = _concat(choice["logprobs"].get("content"),
                                                    (other.get("logprobs") or {}).get("content"))
    return merged


def recut(frames: list[Frame], group: int | None = 2) -> list[Frame]:
    """Merge runs of adjacent deltas into groups of `group` (None: each run into one delta)."""
    out: list[Frame] = []
    size = 0
    for frame in frames:
        key = _merge_key(frame.payload)
        if out and key is not None and key == _merge_key(out[-1].payload) and (group is None or size < group):
            out[-1] = replace(out[-1], payload=_merged(out[-1].payload, frame.payload))
            size += 1
        else:
            out.append(frame)
            size = 1
    return _renumber(out)


def _renumber(frames: list[Frame]) -> list[Frame]:
    """Responses `sequence_number`s stay consecutive after frames were merged or dropped."""
    numbers = [f.payload["sequence_number"] for f in frames if isinstance(f.payload, dict) and
               isinstance(f.payload.get("sequence_number"), int)]
    if not numbers:
        return frames
    counter = iter(range(numbers[0], numbers[0] + len(frames)))
    return [replace(f, payload={**f.payload, "sequence_number": next(counter)})
            if isinstance(f.payload, dict) and "sequence_number" in f.payload else f for f in frames]


# -- what a test should catch -----------------------------------------------------------------------------------


def _replace_strings(value: Any, old: str, new: str) -> Any:
    if isinstance(value, dict):
        return {k: _replace_strings(v, old, new) for k, v in value.items()}
    if isinstance(value, list):
        return [_replace_strings(v, old, new) for v in value]
    return value.replace(old, new) if isinstance(value, str) else value


def substitute(frames: list[Frame], old: str, new: str) -> list[Frame]:
    """Every `old` replaced by `new` in every string of every payload (deltas, done events, final objects).

    Deltas are merged first, so that a value cut between two deltas is still found.
    """
    merged = recut(frames, group=None)
    changed = [replace(f, payload=_replace_strings(f.payload, old, new)) for f in merged]
    assert changed != merged, f"{old!r} is not in the stream"
    return changed


def drop_first(frames: list[Frame], kind: str) -> list[Frame]:
    position = next(i for i, frame in enumerate(frames) if frame.kind == kind)
    return _renumber(frames[:position] + frames[position + 1 :])


def insert_after(frames: list[Frame], kind: str, extra: Frame) -> list[Frame]:
    position = next(i for i, frame in enumerate(frames) if frame.kind == kind)
    return frames[: position + 1] + [extra] + frames[position + 1 :]


# -- running diff ----------------------------------------------------------------------------------------------


@pytest.fixture
def diff_case(tmp_path: Path) -> Callable[..., list[Difference]]:
    """diff(golden recording of a corpus stream (a STREAMS name or a path), recording of `change(frames)`)."""

    def run(name: str, change: Callable[[list[Frame]], list[Frame]], options: Options | None = None,
            protocol: str | None = None) -> list[Difference]:
        relative = STREAMS.get(name, name)
        protocol = protocol or relative.split("/")[0]
        frames = read_frames(relative)
        golden = write_recording(tmp_path / "golden.jsonl", protocol, render(frames), cut=4096, start=0.2, step=0.05)
        fresh = write_recording(tmp_path / "new.jsonl", protocol, render(change(frames)), cut=97, start=0.9,
                                step=0.013)
        (pair,) = diff_paths(str(golden), str(fresh), options or Options())
        return pair.differences

    return run


def _messages(differences: list[Difference]) -> list[tuple[str, str]]:
    return [(difference.aspect, difference.message) for difference in differences]


def _another_run(frames: list[Frame]) -> list[Frame]:
    return recut(reidentify(frames))


@pytest.mark.parametrize("relative", TERMINATED)
def test_a_stream_against_itself_is_clean(relative: str, diff_case) -> None:
    assert diff_case(relative, lambda frames: frames, Options(usage=True)) == []


@pytest.mark.parametrize("relative", TERMINATED)
def test_another_run_with_other_ids_times_and_delta_split_is_clean(relative: str, diff_case) -> None:
    assert diff_case(relative, _another_run, Options(usage=True)) == []


@pytest.mark.parametrize("name", STREAMS)
def test_the_rewrite_really_changes_ids_and_the_delta_split(name: str) -> None:
    """Guards the test above: a rewrite that changed nothing would make it pass for nothing."""
    frames = read_frames(STREAMS[name])
    rewritten = _another_run(frames)
    assert len(rewritten) < len(frames)
    assert render(reidentify(frames)) != render(frames)


def test_the_raw_corpus_file_against_a_recording_of_another_run_is_clean(tmp_path: Path) -> None:
    frames = read_frames(STREAMS["responses-tool"])
    fresh = write_recording(tmp_path / "new.jsonl", "openai-responses", render(_another_run(frames)), 64, 0.1, 0.01)
    (pair,) = diff_paths(str(CORPUS / STREAMS["responses-tool"]), str(fresh))
    assert pair.differences == []


def _middle(frames: list[Frame], kind: str) -> int:
    """Position of the middle frame of a kind."""
    positions = [i for i, frame in enumerate(frames) if frame.kind.startswith(kind)]
    return positions[len(positions) // 2]


def _edit(frames: list[Frame], position: int, edit: Callable[[dict], None]) -> list[Frame]:
    payload = copy.deepcopy(frames[position].payload)
    edit(payload)
    return [*frames[:position], replace(frames[position], payload=payload), *frames[position + 1 :]]


def _repeat_sequence_number(frames: list[Frame]) -> list[Frame]:
    position = _middle(frames, "response.output_text.delta")
    return _edit(frames, position, lambda p: p.update(sequence_number=frames[position - 1].payload["sequence_number"]))


def _other_model_on_one_chunk(frames: list[Frame]) -> list[Frame]:
    return _edit(frames, _middle(frames, '{'), lambda p: p.update(model="gpt-4o-mini"))


def _stop_sequence_on_end_turn(frames: list[Frame]) -> list[Frame]:
    position = next(i for i, frame in enumerate(frames) if frame.kind == "message_delta")
    return _edit(frames, position, lambda p: p["delta"].update(stop_sequence="###"))


def _text_changed(at: int, old: str, new: str) -> tuple[str, str]:
    return ("text", f'text: changed at char {at}: "…{old}…" -> "…{new}…"')


# case: (stream, change, differences; a finding's message is cut after its rule, since other modules own the words)
CHANGES: dict[str, tuple[str, Callable[[list[Frame]], list[Frame]], list[tuple[str, str]]]] = {
    "chat-text-changed": (
        "chat-text", lambda f: substitute(f, "San Francisco", "San Diego"),
        [_text_changed(83, "rent weather in San Francisco, I recomme", "rent weather in San Diego, I recommend c")]),
    "responses-text-changed": (
        "responses-logprobs", lambda f: substitute(f, "Belo Horizonte", "Ouro Preto"),
        [("text", 'text: changed at char 31: "… of Minas Gerais is Belo Horizonte." -> '
                  '"… of Minas Gerais is Ouro Preto."')]),
    "anthropic-text-changed": (
        "anthropic-text", lambda f: substitute(f, "How are you doing today?", "And you?"),
        [_text_changed(45, "ank you for asking. How are you doing to", "ank you for asking. And you? Is there an")]),
    "chat-argument-changed": (
        "chat-tool", lambda f: substitute(f, "Edinburgh", "Glasgow"),
        [("tool_calls", 'tool call 0 GetWeatherArgs: arguments.city  "Edinburgh" -> "Glasgow"')]),
    "responses-argument-changed": (
        "responses-tool", lambda f: substitute(f, "San Francisco", "Lyon"),
        [("tool_calls", 'tool call 0 weather: arguments.location  "San Francisco" -> "Lyon"')]),
    "anthropic-argument-changed": (
        "anthropic-tool", lambda f: substitute(f, "San Francisco", "Lyon"),
        [("tool_calls", 'tool call 0 json: arguments.elements[0].location  "San Francisco" -> "Lyon"')]),
    "chat-done-missing": (
        "chat-text", lambda f: drop_first(f, "[DONE]"),
        [("events", "events: [DONE] missing after chunk:usage (old event 33)"),
         ("findings", "new finding: chat/done-missing (error)")]),
    "responses-text-done-missing": (
        "responses-logprobs", lambda f: drop_first(f, "response.output_text.done"),
        [("events", "events: response.output_text.done missing after response.output_text.delta ×9 (old event 13)"),
         ("findings", "new finding: responses/done-event-missing (warning)")]),
    "anthropic-block-stop-missing": (
        "anthropic-text", lambda f: drop_first(f, "content_block_stop"),
        [("events", "events: content_block_stop missing after content_block_delta ×6 (old event 9)"),
         ("findings", "new finding: anthropic/message-delta-with-open-block (error)")]),
    "chat-finding-added": (
        "chat-text", _other_model_on_one_chunk,
        [("findings", "new finding: chat/identity-changed (error)")]),
    "responses-finding-added": (
        "responses-text", _repeat_sequence_number,
        [("findings", "new finding: responses/sequence-not-contiguous (error)")]),
    "anthropic-finding-added": (
        "anthropic-text", _stop_sequence_on_end_turn,
        [("findings", "new finding: anthropic/stop-sequence-unexpected (warning)")]),
}


def _named(difference: Difference) -> tuple[str, str]:
    message = difference.message
    return difference.aspect, message.split(" at ")[0] if difference.aspect == "findings" else message


@pytest.mark.parametrize("case", CHANGES)
def test_a_change_is_a_difference_that_names_it(case: str, diff_case) -> None:
    """Each change is made to another run of the stream (other ids, times and delta split): only it shows."""
    name, change, expected = CHANGES[case]
    assert [_named(d) for d in diff_case(name, lambda frames: change(_another_run(frames)))] == expected


@pytest.mark.parametrize("case", [case for case in CHANGES if case.endswith("text-changed")])
def test_a_text_change_carries_a_unified_diff(case: str, diff_case) -> None:
    name, change, _ = CHANGES[case]
    (difference,) = diff_case(name, change)
    assert difference.detail[:2] == ("--- old text", "+++ new text")
    assert [line[0] for line in difference.detail[2:]] == ["@", "-", "+"]


@pytest.mark.parametrize("case", [case for case in CHANGES if "text" in case])
def test_ignore_text_drops_text_changes_only(case: str, diff_case) -> None:
    name, change, expected = CHANGES[case]
    differences = diff_case(name, change, Options(ignore_text=True))
    assert [_named(d) for d in differences] == [item for item in expected if item[0] != "text"]


# -- times ------------------------------------------------------------------------------------------------------


def _one_chunk_per_frame(path: Path, url: str, frames: list[Frame], step: float) -> Path:
    writer = RecordingWriter(path, Header(request={"method": "POST", "url": url, "headers": {}, "body": None},
                                          response={"status": 200, "headers": {"content-type": "text/event-stream"}}))
    for number, frame in enumerate(frames, 1):
        writer.chunk(number * step, render([frame]))
    writer.end(len(frames) * step + 1.0, "complete")
    return path


@pytest.mark.parametrize("known_path", [True, False], ids=["protocol-from-path", "protocol-detected-from-events"])
@pytest.mark.parametrize("name", ["chat-text", "responses-text", "anthropic-thinking"])
def test_ttft_is_the_time_of_the_first_content_event_and_duration_the_last_chunk(
    name: str, known_path: bool, tmp_path: Path
) -> None:
    """Detection holds the first events back: the TTFT event may come from an earlier chunk than its check."""
    frames = read_frames(STREAMS[name])
    url = URLS[STREAMS[name].split("/")[0]] if known_path else "http://127.0.0.1:9/proxy"
    path = _one_chunk_per_frame(tmp_path / "r.jsonl", url, frames, 0.125)
    (pair,) = diff_paths(str(path), str(path))
    first = pair.new.assembly.first_content_index
    assert first is not None
    assert (pair.new.ttft, pair.new.duration) == ((first + 1) * 0.125, len(frames) * 0.125)


def test_a_slower_run_fails_only_with_a_timing_tolerance(tmp_path: Path) -> None:
    frames = read_frames(STREAMS["anthropic-text"])
    url = URLS["anthropic-messages"]
    golden = _one_chunk_per_frame(tmp_path / "golden.jsonl", url, frames, 0.1)
    slower = _one_chunk_per_frame(tmp_path / "new.jsonl", url, _another_run(frames), 0.2)
    (pair,) = diff_paths(str(golden), str(slower))
    assert pair.differences == []
    (pair,) = diff_paths(str(golden), str(slower), Options(timing_tolerance=50))
    first_old, first_new = pair.old.assembly.first_content_index, pair.new.assembly.first_content_index
    assert [d.message for d in pair.differences] == [
        f"TTFT: {(first_old + 1) * 0.1:.3f}s -> {(first_new + 1) * 0.2:.3f}s, +100% (tolerance 50%)",
        f"duration: {len(frames) * 0.1:.3f}s -> {len(_another_run(frames)) * 0.2:.3f}s, "
        f"+{(len(_another_run(frames)) * 2 / len(frames) - 1) * 100:.0f}% (tolerance 50%)",
    ]


# -- bodies that held no event ----------------------------------------------------------------------------------


def _one_body(path: Path, status: int, content_type: str, body: str) -> Path:
    writer = RecordingWriter(path, Header(request={"method": "POST", "url": URLS["openai-chat"], "headers": {},
                                                   "body": None},
                                          response={"status": status, "headers": {"content-type": content_type}}))
    writer.chunk(0.1, body.encode())
    writer.end(0.2, "complete")
    return path


def _body_diff(tmp_path: Path, status: int, content_type: str, old: str, new: str,
               options: Options | None = None) -> list[str]:
    folder = Path(tempfile.mkdtemp(dir=tmp_path))
    (pair,) = diff_paths(str(_one_body(folder / "old.jsonl", status, content_type, old)),
                         str(_one_body(folder / "new.jsonl", status, content_type, new)), options or Options())
    return [d.message for d in pair.differences]


def _error(message: str, request_id: str) -> str:
    return json.dumps({"type": "error", "error": {"type": "api_error", "message": message}, "request_id": request_id})


def test_two_error_answers_differ_by_what_they_say_not_by_their_request_ids(tmp_path: Path) -> None:
    """Two 500s with different errors were "no differences": the status matched and no event came."""
    assert _body_diff(tmp_path, 500, "application/json", _error("upstream boom", "req_1"),
                      _error("Overloaded", "req_2")) == ['body.error.message  "upstream boom" -> "Overloaded"']
    assert _body_diff(tmp_path, 500, "application/json", _error("boom", "req_1"), _error("boom", "req_2")) == []
    assert _body_diff(tmp_path, 502, "text/html", "<h1>Bad gateway</h1>", "<h1>Gateway timeout</h1>",
                      Options(ignore_text=True)) == ['body: changed at char 4: "<h1>Bad gateway</h1>" -> '
                                                     '"<h1>Gateway timeout</h1>"']


def _answer(content: str, tokens: int, created: int) -> str:
    return json.dumps({"id": f"chatcmpl-{created}", "object": "chat.completion", "created": created,
                       "choices": [{"index": 0, "message": {"role": "assistant", "content": content},
                                    "finish_reason": "stop"}],
                       "usage": {"completion_tokens": tokens}})


def test_two_answers_in_one_body_differ_by_their_words_and_usage_only_when_asked(tmp_path: Path) -> None:
    """A JSON answer to `stream: true` (llm-mock's): its id and `created` always change, like a stream's."""
    expected = ['body.choices[0].message.content  "Hello" -> "Goodbye"']
    assert _body_diff(tmp_path, 200, "application/json", _answer("Hello", 1, 1), _answer("Goodbye", 2, 2)) == expected
    assert _body_diff(tmp_path, 200, "application/json", _answer("Hello", 1, 1), _answer("Goodbye", 2, 2),
                      Options(usage=True)) == [*expected, "body.usage.completion_tokens  1 -> 2"]
    assert _body_diff(tmp_path, 200, "application/json", _answer("Hello", 1, 1), _answer("Goodbye", 1, 2),
                      Options(ignore_text=True)) == []


def test_a_json_error_in_a_2xx_body_is_said_once_by_its_error(tmp_path: Path) -> None:
    """Google's 404 comes with status 200 and `text/event-stream`: the error it carries is the stream's error."""
    old = json.dumps({"error": {"code": 404, "message": "models/a is not found", "status": "NOT_FOUND"}}, indent=2)
    new = json.dumps({"error": {"code": 404, "message": "models/b is not found", "status": "NOT_FOUND"}}, indent=2)
    assert _body_diff(tmp_path, 200, "text/event-stream", old, new) == [
        'error: "404 NOT_FOUND: models/a is not found" -> "404 NOT_FOUND: models/b is not found"']


def test_across_protocols_an_http_error_answer_is_not_said_to_have_reported_no_error(tmp_path: Path) -> None:
    """Found on codex-router-proxy 0.5.0, which answers an upstream's 429 with a 200 stream that fails in-band:
    `diff` said `error: null -> "Upstream returned 429"`, as if the upstream had reported no error."""
    old = _one_body(tmp_path / "upstream.jsonl", 429, "application/json", _error("Rate limit reached", "req_1"))
    new = tmp_path / "gateway.jsonl"
    writer = RecordingWriter(new, Header(request={"method": "POST", "url": URLS["anthropic-messages"], "headers": {},
                                                  "body": None},
                                         response={"status": 200, "headers": {"content-type": "text/event-stream"}}))
    writer.chunk(0.1, b'event: error\ndata: {"type": "error", "error": {"type": "api_error", "message": '
                      b'"Upstream returned 429"}}\n\n')
    writer.end(0.2, "complete")
    (pair,) = diff_paths(str(old), str(new))
    assert [d.message for d in pair.differences] == ['protocol: "openai-chat" -> "anthropic-messages"',
                                                     "http status: 429 -> 200"]
