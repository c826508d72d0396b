"""A stream of a protocol without `[DONE]` that ends with one anyway (an OpenAI-style server speaking another
protocol) was ended by its server: the finding that its terminal event is missing says so, not that it was cut."""

from __future__ import annotations

import json

import pytest

from inspector.validate import StreamCheck


def _sse(*events: tuple[str | None, object]) -> bytes:
    return b"".join((f"event: {name}\n" if name else "").encode()
                    + b"data: " + (data if isinstance(data, str) else json.dumps(data)).encode() + b"\n\n"
                    for name, data in events)


MESSAGE = {"id": "msg_1", "type": "message", "role": "assistant", "model": "m", "content": [], "stop_reason": None,
           "stop_sequence": None, "usage": {"input_tokens": 1, "output_tokens": 1}}
ANTHROPIC = [("message_start", {"type": "message_start", "message": MESSAGE}),
             ("content_block_start", {"type": "content_block_start", "index": 0,
                                      "content_block": {"type": "text", "text": ""}}),
             ("content_block_delta", {"type": "content_block_delta", "index": 0,
                                      "delta": {"type": "text_delta", "text": "Hi"}}),
             ("content_block_stop", {"type": "content_block_stop", "index": 0})]
RESPONSE = {"id": "resp_1", "object": "response", "created_at": 1, "status": "in_progress", "model": "m",
            "output": []}
RESPONSES = [("response.created", {"type": "response.created", "sequence_number": 0, "response": RESPONSE}),
             ("response.in_progress", {"type": "response.in_progress", "sequence_number": 1, "response": RESPONSE})]
GEMINI = [(None, {"candidates": [{"content": {"parts": [{"text": "Hi"}], "role": "model"}, "index": 0}]})]
STREAMS = {"anthropic-messages": ("anthropic/terminal-missing", ANTHROPIC),
           "openai-responses": ("responses/terminal-missing", RESPONSES),
           "gemini": ("gemini/finish-missing", GEMINI)}


def _ending(protocol: str, events: list) -> str:
    rule, _ = STREAMS[protocol]
    check = StreamCheck(protocol)
    check.feed(_sse(*events))
    [finding] = [finding for finding in check.close() if finding.rule == rule]
    return finding.message


@pytest.mark.parametrize("protocol", STREAMS)
def test_a_stream_that_ends_with_done_was_ended_by_its_server_not_cut(protocol: str) -> None:
    events = STREAMS[protocol][1]
    done = len(events)
    assert f"it ended with `data: [DONE]` (event {done}), which does not end this protocol" in _ending(
        protocol, [*events, (None, "[DONE]")])
    assert "was cut" not in _ending(protocol, [*events, (None, "[DONE]")])


@pytest.mark.parametrize("protocol", STREAMS)
def test_a_stream_that_stops_without_done_or_goes_on_after_it_was_cut(protocol: str) -> None:
    events = STREAMS[protocol][1]
    assert ": it was cut, " in _ending(protocol, events)
    assert ": it was cut, " in _ending(protocol, [(None, "[DONE]"), *events])
