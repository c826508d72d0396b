"""Memory follows the text, never the event count: long streams keep their deltas grouped, not one object each."""

import json
from pathlib import Path

import pytest

from inspector.protocols.base import FRAGMENT_GROUP, Fragments
from inspector.validate import StreamCheck

CORPUS = Path(__file__).parent / "fixtures" / "corpus"
RESPONSES = CORPUS / "openai-responses" / "pydantic-ai__text-conversation.sse"
TEXT_DELTA = "response.output_text.delta"


def test_fragments_group_their_parts_and_keep_the_text() -> None:
    fragments = Fragments(["seed|"])
    pieces = [f"{number}," for number in range(10 * FRAGMENT_GROUP + 3)]
    for piece in pieces:
        fragments.append(piece)
    assert len(fragments.parts) <= 1 + 10 + FRAGMENT_GROUP
    assert fragments.text() == "seed|" + "".join(pieces)
    assert fragments.parts == ["seed|" + "".join(pieces)]


def _long_responses_stream(deltas: int) -> tuple[bytes, str]:
    """The corpus stream with its text deltas repeated, renumbered and its snapshots rewritten to the new text."""
    events = [json.loads(line[6:]) for line in RESPONSES.read_text().splitlines() if line.startswith("data: ")]
    streamed = [event for event in events if event["type"] == TEXT_DELTA]
    first, last = events.index(streamed[0]), events.index(streamed[-1])
    middle = [dict(streamed[i % len(streamed)]) for i in range(deltas)]
    old, new = "".join(e["delta"] for e in streamed), "".join(e["delta"] for e in middle)
    tail = json.loads(json.dumps(events[last + 1 :]).replace(json.dumps(old)[1:-1], json.dumps(new)[1:-1]))
    frames = []
    for number, event in enumerate(events[:first] + middle + tail):
        event["sequence_number"] = number
        frames.append(f"event: {event['type']}\ndata: {json.dumps(event)}\n\n")
    return "".join(frames).encode(), new


def test_a_long_responses_stream_keeps_no_object_per_delta() -> None:
    deltas = 20 * FRAGMENT_GROUP + 7
    bound = deltas // FRAGMENT_GROUP + FRAGMENT_GROUP  # the groups, and the newest pieces not grouped yet
    body, text = _long_responses_stream(deltas)
    streaming, rest = body.split(b"event: response.output_text.done", 1)
    check = StreamCheck("openai-responses")
    check.feed(streaming)
    open_values = [part.join for item in check.checker.items.open.values() for part in item.parts.values()]
    assert open_values and all(len(join.pieces.parts) <= bound for join in open_values)
    check.feed(b"event: response.output_text.done" + rest)
    findings = check.close()
    assert [f for f in findings if f.severity == "error"] == []
    assert check.assembly.text == text
    assert len(check.assembly.outputs[0].text_parts) <= bound


def test_fragments_compare_in_place() -> None:
    fragments = Fragments(["ab", "c"])
    assert fragments.matches("abc")
    assert not fragments.matches("ab") and not fragments.matches("abcd") and not fragments.matches("abd")
    assert Fragments([]).matches("") and not Fragments([]).matches("a")
    assert fragments.parts == ["ab", "c"]  # nothing joined


@pytest.mark.parametrize("first", [0, 1], ids=["value-first", "output-first"])
def test_twin_fragments_hold_their_groups_once(first: int) -> None:
    twins = Fragments(["seed"]), Fragments([])
    twins[0].twin, twins[1].twin = twins[1], twins[0]
    pieces = [f"{number}," for number in range(3 * FRAGMENT_GROUP + 5)]
    for piece in pieces:
        twins[first].append(piece)
        twins[1 - first].append(piece)
    assert twins[0].text() == "seed" + "".join(pieces) and twins[1].text() == "".join(pieces)
    value, output = Fragments(["seed"]), Fragments([])
    value.twin, output.twin = output, value
    for piece in pieces:
        (value, output)[first].append(piece)
        (value, output)[1 - first].append(piece)
    groups = value.parts[1:4]
    assert len(groups) == 3 and all(mine is theirs for mine, theirs in zip(groups, output.parts[:3], strict=True))


def _frames(body: bytes) -> list[bytes]:
    return [frame + b"\n\n" for frame in body.split(b"\n\n") if frame]


def test_a_responses_text_and_its_output_share_one_copy() -> None:
    """The open value and the output's text grow by the same deltas: their groups are the same strings."""
    deltas = 20 * FRAGMENT_GROUP + 7
    body, text = _long_responses_stream(deltas)
    check = StreamCheck("openai-responses")
    check.feed(body.split(b"event: response.output_text.done", 1)[0])
    (item,) = check.checker.items.open.values()
    own = [piece for piece in item.parts[0].join.pieces.parts if len(piece) > FRAGMENT_GROUP]
    output = {id(piece) for piece in check.assembly.outputs[0].text_parts}
    assert sum(map(len, own)) > len(text) * 0.9
    assert all(id(piece) in output for piece in own)


def test_a_done_value_equal_to_its_deltas_is_compared_in_place(monkeypatch: pytest.MonkeyPatch) -> None:
    body, text = _long_responses_stream(10 * FRAGMENT_GROUP)
    streaming, rest = body.split(b"event: response.output_text.done", 1)
    done, rest = _frames(b"event: response.output_text.done" + rest)[0], b"".join(_frames(rest)[1:])
    check = StreamCheck("openai-responses")
    check.feed(streaming)
    (item,) = check.checker.items.open.values()
    join = item.parts[0].join
    with monkeypatch.context() as patch:
        patch.setattr(Fragments, "text", lambda self: pytest.fail("the deltas were joined into a second copy"))
        check.feed(done)
    assert join.final == text and join.pieces.parts == [join.final]
    check.feed(rest)
    assert [f for f in check.close() if f.severity == "error"] == []


def test_a_done_item_keeps_the_streamed_text_not_a_copy() -> None:
    """`output_item.done` carries the whole text again; the item kept for the terminal check shares the one the
    stream already holds."""
    body, text = _long_responses_stream(3 * FRAGMENT_GROUP)
    check = StreamCheck("openai-responses")
    frames = _frames(body)
    item_done = next(n for n, frame in enumerate(frames) if frame.startswith(b"event: response.output_item.done"))
    check.feed(b"".join(frames[:item_done]))
    (item,) = check.checker.items.open.values()
    streamed = item.part_values[0][1]
    check.feed(b"".join(frames[item_done:]))
    assert [f for f in check.close() if f.severity == "error"] == []
    (done,) = check.checker.items.done_items.values()
    assert done["content"][0]["text"] == text
    assert done["content"][0]["text"] is streamed


def _gemini_stream(chunks: int, thought: bool = False) -> bytes:
    """Gemini chunks of distinct short texts (pydantic-core would hand out repeats of one as one object)."""
    frames = []
    for number in range(chunks):
        part: dict[str, object] = {"text": f" {number}", **({"thought": True} if thought else {})}
        candidate: dict[str, object] = {"content": {"role": "model", "parts": [part]}}
        if number == chunks - 1:
            candidate["finishReason"] = "STOP"
        frames.append(f"data: {json.dumps({'candidates': [candidate], 'modelVersion': 'gemini-2.0-flash'})}\r\n\r\n")
    return "".join(frames).encode()


@pytest.mark.parametrize("thought", [False, True], ids=["text", "thought"])
def test_a_long_gemini_stream_keeps_no_object_per_chunk(thought: bool) -> None:
    chunks = 20 * FRAGMENT_GROUP + 7
    check = StreamCheck("gemini")
    check.feed(_gemini_stream(chunks, thought))
    assert [f for f in check.close() if f.severity == "error"] == []
    output = check.assembly.outputs[0]
    parts, joined = (output.reasoning_parts, output.reasoning) if thought else (output.text_parts, output.text)
    assert joined == "".join(f" {number}" for number in range(chunks))
    assert len(parts) <= chunks // FRAGMENT_GROUP + FRAGMENT_GROUP


def test_gemini_remembers_no_chunk_index_per_nameless_call() -> None:
    """A nameless `functionCall` is reported once per stream, without keeping a set entry for every chunk that had
    one."""
    call = {"functionCall": {"args": {}}}
    chunks = [{"candidates": [{"content": {"role": "model", "parts": [call, call] if n == 0 else [call]}}]}
              for n in range(50)]
    chunks[-1]["candidates"][0]["finishReason"] = "STOP"
    check = StreamCheck("gemini")
    check.feed("".join(f"data: {json.dumps(chunk)}\r\n\r\n" for chunk in chunks).encode())
    reported = [f.index for f in check.close() if f.rule == "gemini/function-call-incomplete"]
    assert reported == [0]
    assert len(check.checker._once._seen) < 5
