"""Memory follows the text, never the event count: long streams keep their deltas grouped, not one object each."""

import json
from pathlib import Path

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
