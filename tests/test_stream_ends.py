"""How a stream ends, said as the wire shows it: with a `[DONE]` of another protocol (an OpenAI-style server), the
end was the server's, not a cut; with its end event unterminated (no blank line after it), the one break is the
SSE layer's, not also a missing end."""

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
GEMINI = [(None, {"candidates": [{"content": {"parts": [{"text": text}], "role": "model"}, "index": 0}]})
          for text in ("Hi", " there")]
CHAT_CHUNK = {"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m",
              "choices": [{"index": 0, "delta": {"content": "Hi"}, "finish_reason": None}]}
CHAT_LAST = {**CHAT_CHUNK, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}
END_MISSING = {"anthropic-messages": "anthropic/terminal-missing", "openai-responses": "responses/terminal-missing",
               "openai-chat": "chat/done-missing", "gemini": "gemini/finish-missing"}
"""Each protocol's rule of a stream without its end."""
OPENINGS = {"anthropic-messages": ANTHROPIC, "openai-responses": RESPONSES, "gemini": GEMINI,
            "openai-chat": [(None, CHAT_CHUNK), (None, CHAT_LAST)]}
"""Each protocol's stream up to its end event."""
ENDS = {"anthropic-messages": ("message_stop", {"type": "message_stop"}),
        "openai-responses": ("response.completed", {"type": "response.completed", "sequence_number": 2,
                                                    "response": {**RESPONSE, "status": "completed"}}),
        "openai-chat": (None, "[DONE]"),
        "gemini": (None, {"candidates": [{"content": {"parts": [{"text": "!"}], "role": "model"},
                                          "finishReason": "STOP", "index": 0}]})}
WITHOUT_DONE = ("anthropic-messages", "openai-responses", "gemini")
"""The protocols `[DONE]` does not end."""


def _findings(protocol: str, body: bytes) -> list[tuple[str, str]]:
    check = StreamCheck(protocol)
    check.feed(body)
    return [(finding.rule, finding.message) for finding in check.close()]


def _ending(protocol: str, events: list) -> str:
    [message] = [message for rule, message in _findings(protocol, _sse(*events)) if rule == END_MISSING[protocol]]
    return message


@pytest.mark.parametrize("protocol", WITHOUT_DONE)
def test_a_stream_that_ends_with_done_was_ended_by_its_server_not_cut(protocol: str) -> None:
    events = OPENINGS[protocol]
    done = len(events)
    assert f"it ended with `data: [DONE]` (event {done}), which does not end this protocol" in _ending(
        protocol, [*events, (None, "[DONE]")])
    assert "was cut" not in _ending(protocol, [*events, (None, "[DONE]")])


@pytest.mark.parametrize("protocol", WITHOUT_DONE)
def test_a_stream_that_stops_without_done_or_goes_on_after_it_was_cut_or_its_server_leaves_the_end_out(
        protocol: str) -> None:
    """A body that ended cleanly before the end says no more than that: any-llm's gateway 1.14 ends its Anthropic
    streams after `message_delta` (and its own `event: done`), which "it was cut" misnamed."""
    events = OPENINGS[protocol]
    assert ": it was cut short, or its server ends streams without it, " in _ending(protocol, events)
    assert ": it was cut short, or its server ends streams without it, " in _ending(
        protocol, [(None, "[DONE]"), *events])


@pytest.mark.parametrize("protocol", ENDS)
def test_an_end_event_without_its_blank_line_is_one_finding_that_says_the_end_is_lost(protocol: str) -> None:
    """No conformant client dispatches it: the stream's end is lost, and that is said once, where it broke."""
    end_missing = END_MISSING[protocol]
    whole = _sse(*OPENINGS[protocol], ENDS[protocol])
    assert [rule for rule, _ in _findings(protocol, whole) if rule in (end_missing, "sse/unterminated-event")] == []
    [(rule, message)] = [found for found in _findings(protocol, whole[:-1])
                         if found[0] in (end_missing, "sse/unterminated-event")]
    assert rule == "sse/unterminated-event"
    lost = "so the stream's end is lost with it: the client cannot tell a finished answer from a lost connection"
    if protocol == "openai-chat":  # its one choice had finished: the answer looks whole, only the end is lost
        lost = ("so the stream's end is lost with it: the answer looks whole (every choice had its `finish_reason`), "
                "but a client that waits for the end to know the stream is over cannot tell this from a lost "
                "connection")
    if protocol == "anthropic-messages":  # agno and strands-agents read them at `message_stop` (tried)
        lost += ("; clients that read the final usage or stop reason at `message_stop` never get them (agno 3.1 "
                 "reports 0 tokens, strands-agents 1.62 `end_turn` whatever the stop reason)")
    if protocol == "gemini":  # python-genai reads `data: ` lines, not events (tried: it yields the last chunk)
        assert message.endswith(f"an SSE client (vercel's) never dispatches it, {lost}; python-genai, which reads "
                                "`data: ` lines rather than events, still takes it")
    else:
        assert message.endswith(f"a conformant client never dispatches it, {lost}")


@pytest.mark.parametrize("protocol", ENDS)
def test_another_event_without_its_blank_line_is_one_break_said_where_it_broke(protocol: str) -> None:
    """The body ended inside an event that was not the end (Open WebUI passing on a cut upstream): the end is
    missing and that event lost, one break, said once by the end's rule, at the lost event, with both in its words
    (it said `done-missing` at the last whole event and `sse/unterminated-event` at the next)."""
    body = _sse(*OPENINGS[protocol])[:-1]
    check = StreamCheck(protocol)
    check.feed(body)
    found = [(f.rule, f.index, f.message) for f in check.close()]
    assert "sse/unterminated-event" not in [rule for rule, _, _ in found]
    [(index, message)] = [(index, message) for rule, index, message in found if rule == END_MISSING[protocol]]
    assert index == len(OPENINGS[protocol]) - 1
    assert message.endswith(f"the body ended inside event {index} (`{OPENINGS[protocol][-1][0] or 'message'}`) with "
                            "no blank line after it: " + ("an SSE client (vercel's) never dispatches it, so it is "
                                                          "lost; python-genai, which reads `data: ` lines rather than "
                                                          "events, still takes it" if protocol == "gemini" else
                                                          "a conformant client never dispatches it, so it is lost"))


def test_a_second_chat_stream_after_done_is_one_break_not_judged_as_chunks_the_client_never_got() -> None:
    """mock-openai-api 1.0.3 sends a whole second stream (a new `id`, the role again, a second finish) after the
    first `[DONE]`. The Python SDK stops reading there: the payload after it is the break, said once."""
    first = {**CHAT_CHUNK, "choices": [{"index": 0, "delta": {"role": "assistant", "content": "Hi"},
                                        "finish_reason": None}]}
    second = {**CHAT_CHUNK, "id": "other", "created": 2}
    body = _sse((None, first), (None, CHAT_LAST), (None, "[DONE]"),
                (None, {**second, "choices": [{"index": 0, "delta": {"role": "assistant", "content": "Again"},
                                               "finish_reason": None}]}),
                (None, {**second, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}), (None, "[DONE]"))
    assert [rule for rule, _ in _findings("openai-chat", body)] == ["chat/event-after-done"]  # its `[DONE]` too


def test_an_in_band_error_ends_a_chat_stream_with_or_without_a_done_after_it() -> None:
    """The Python SDK raises at the error and hangs up, as it does at `[DONE]` (docs/protocols.md §D.10)."""
    error = {"error": {"message": "overloaded", "type": "server_error"}}
    for body in (_sse((None, CHAT_CHUNK), (None, error), (None, "[DONE]")), _sse((None, CHAT_CHUNK), (None, error))):
        check = StreamCheck("openai-chat")
        check.feed(body)
        assert [finding.rule for finding in check.close()] == ["chat/error-event"]
        assert check.assembly.ended


def test_a_client_that_hung_up_after_an_in_band_error_did_not_leave_the_stream_unfinished() -> None:
    """NeMo Guardrails sends an error payload, then `[DONE]`: the openai Python SDK raises at the error and hangs up, so
    the recording often ends `client-disconnected` before the `[DONE]`. The server had ended the answer."""
    error = {"error": {"message": "Blocked by check output custom rails.", "type": "guardrails_violation"}}
    for protocol, body in (("openai-chat", _sse((None, error))),
                           ("openai-chat", _sse((None, CHAT_CHUNK), (None, error)))):
        check = StreamCheck(protocol)
        check.feed(body)
        assert [finding.rule for finding in check.close("client-disconnected")] == ["chat/error-event"]
    check = StreamCheck("openai-chat")
    check.feed(_sse((None, CHAT_CHUNK)))
    assert [finding.rule for finding in check.close("client-disconnected")] == ["sse/not-ended-by-server"]


def test_a_client_that_left_after_a_long_silence_is_said_to_have_waited_on_the_server() -> None:
    """openai-forward 0.8.1 hangs when its upstream is cut: the client gave up 8 s after the last bytes, and the
    warning said only that the server's end was not judged, as for an app that stops reading on its own."""
    def message(ended_at: float) -> str:
        check = StreamCheck("openai-chat")
        check.feed(_sse((None, CHAT_CHUNK)), 0.05)
        [finding] = check.close("client-disconnected", ended_at=ended_at)
        return finding.message

    assert message(8.06) == ("the recording ended as `client-disconnected` before the protocol's last event, 8.0 s "
                             "after the server's last bytes (it sent nothing meanwhile: a stall, or a server waiting "
                             "on its own upstream): the server's end-of-stream rules are not judged")
    assert "after the server's last bytes" not in message(0.3)  # an app that stopped reading as the bytes came


def test_an_unterminated_done_after_a_whole_answer_is_not_said_to_leave_the_answer_unknown() -> None:
    """Open WebUI passing on a `[DONE]` with no blank line after it: every choice had finished, and the openai SDK's
    helper returns the whole answer; only a client waiting for the end cannot tell it from a lost connection."""
    check = StreamCheck("openai-chat")
    check.feed(_sse((None, CHAT_CHUNK), (None, CHAT_LAST)) + b"data: [DONE]")
    [finding] = [found for found in check.close() if found.rule.startswith("sse/")]
    assert finding.rule == "sse/unterminated-event"
    assert "the answer looks whole (every choice had its `finish_reason`)" in finding.message
    check = StreamCheck("openai-chat")
    check.feed(_sse((None, CHAT_CHUNK)) + b"data: [DONE]")  # no finish: the end is lost with it
    [finding] = [found for found in check.close() if found.rule.startswith("sse/")]
    assert "the client cannot tell a finished answer from a lost connection" in finding.message


def test_an_anthropic_message_stop_without_its_blank_line_after_a_stop_reason_is_said_to_look_whole() -> None:
    """Found with llm-anthropic and LiteLLM on the corpus's unterminated `message_stop`: the message said the client
    "cannot tell a finished answer from a lost connection", where the Python SDK's final message is whole (its stop
    reason came in `message_delta`); only a client that waits for `message_stop` is left unsure."""
    from anthropic.lib.streaming._messages import accumulate_event

    delta = ("message_delta", {"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                               "usage": {"output_tokens": 2}})
    events = [*ANTHROPIC, delta, ENDS["anthropic-messages"]]
    snapshot = None
    for _, data in events[:-1]:  # the unterminated `message_stop` is never dispatched
        snapshot = accumulate_event(event=data, current_snapshot=snapshot)
    assert (snapshot.stop_reason, snapshot.content[0].text) == ("end_turn", "Hi")
    [message] = [message for rule, message in _findings("anthropic-messages", _sse(*events)[:-1])
                 if rule == "sse/unterminated-event"]
    assert message.endswith("so the stream's end is lost with it: the answer looks whole (`message_delta` brought "
                            "`stop_reason` `end_turn`), but a client that waits for the end to know the stream is over "
                            "cannot tell this from a lost connection; clients that read the final usage or stop reason "
                            "at `message_stop` never get them (agno 3.1 reports 0 tokens, strands-agents 1.62 "
                            "`end_turn` whatever the stop reason)")


def test_an_unterminated_usage_chunk_is_named_as_the_usage_it_loses() -> None:
    """Found with LangChain JS (usage null) on a Chat stream whose last chunk, the usage one, had no blank line after
    it and no `[DONE]` followed: the finding named the lost event `message`, its SSE type."""
    usage = {**CHAT_CHUNK, "choices": [], "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}}
    body = _sse((None, CHAT_CHUNK), (None, CHAT_LAST), (None, usage))[:-1]
    [message] = [message for rule, message in _findings("openai-chat", body) if rule == "chat/done-missing"]
    assert "the body ended inside event 2 (the usage chunk) with no blank line after it" in message


def test_an_anthropic_stream_closed_without_message_stop_says_what_frameworks_lose() -> None:
    """A `message_stop` that never came is, to a client, the unterminated one that is never dispatched: agno and
    strands-agents lose the same (the unterminated case said so, the missing one did not)."""
    delta = ("message_delta", {"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                               "usage": {"output_tokens": 2}})
    [message] = [message for rule, message in _findings("anthropic-messages", _sse(*ANTHROPIC, delta))
                 if rule == "anthropic/terminal-missing"]
    assert message.endswith("the client cannot tell a finished message from a lost connection; clients that read "
                            "the final usage or stop reason at `message_stop` never get them (agno 3.1 reports 0 "
                            "tokens, strands-agents 1.62 `end_turn` whatever the stop reason)")
