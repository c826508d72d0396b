"""`<protocol>/usage-over-limit`: the recorded request's cap on the answer's tokens against the stream's usage.

Real corpus streams, each recorded with a request body that caps the answer just under, at and over what its usage
counts. Found on llama-cpp-python's server, which ignores Chat's `max_completion_tokens`: only `probe` said it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from inspector.inputs import open_source
from inspector.protocols.anthropic_messages import checker as anthropic
from inspector.protocols.gemini import checker as gemini
from inspector.protocols.openai_chat import checker as chat
from inspector.protocols.openai_responses import checker as responses
from inspector.recording import Header, RecordingWriter

CORPUS = Path(__file__).parent / "fixtures" / "corpus"

# the rules' prefix: (URL, corpus stream, the request's cap field, what the stream's usage counts)
STREAMS = {
    "chat": ("https://api.openai.com/v1/chat/completions", "openai-chat/openai-python__text-plain.sse",
             "max_completion_tokens", 30),
    "responses": ("https://api.openai.com/v1/responses", "openai-responses/vercel-ai__text-minimal.sse",
                  "max_output_tokens", 11),
    "anthropic": ("https://api.anthropic.com/v1/messages", "anthropic-messages/anthropic-sdk-python__basic-text.sse",
                  "max_tokens", 6),
    "gemini": ("https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse",
               "gemini-generate-content/pydantic-ai__text-multichunk.sse", "generationConfig.maxOutputTokens", 8),
}


def capped(protocol: str, cap: object, **extra: object) -> dict:
    """A request body of the protocol with `cap` at its cap field (dotted: nested)."""
    field = STREAMS[protocol][2]
    body: dict = {"model": "m", "stream": True, **extra}
    *outer, last = field.split(".")
    place = body
    for key in outer:
        place = place.setdefault(key, {})
    place[last] = cap
    return body


def over_limit(tmp_path: Path, protocol: str, body: object) -> list[tuple[str, str]]:
    """The `usage-over-limit` findings (rule, message) of the protocol's stream recorded with this request body."""
    url, stream, _, _ = STREAMS[protocol]
    path = tmp_path / f"{protocol}-{len(list(tmp_path.iterdir()))}.jsonl"
    writer = RecordingWriter(path, Header(
        request={"method": "POST", "url": url, "headers": {}, "body": body},
        response={"status": 200, "headers": {"content-type": "text/event-stream"}},
    ))
    writer.chunk(0.2, (CORPUS / stream).read_bytes())
    writer.end(0.3, "complete")
    return [(finding.rule, finding.message) for finding in open_source(str(path)).validate().findings
            if finding.rule.endswith("/usage-over-limit")]


@pytest.mark.parametrize("protocol", list(STREAMS))
@pytest.mark.parametrize("kept_as", ["text", "object"])  # the proxy keeps the body's text; `probe` the object
def test_a_stream_whose_usage_counts_more_than_the_request_allowed_is_said_once(tmp_path, protocol, kept_as):
    _, _, field, counted = STREAMS[protocol]
    body = capped(protocol, counted - 1)
    found = over_limit(tmp_path, protocol, json.dumps(body) if kept_as == "text" else body)
    assert len(found) == 1
    rule, message = found[0]
    assert rule == f"{protocol}/usage-over-limit"
    assert f"at most {counted - 1} tokens (`{field}`)" in message and f"usage counts {counted}" in message


@pytest.mark.parametrize("protocol", list(STREAMS))
@pytest.mark.parametrize("body", [
    "at the cap", "no cap", "a cap of 0", "a cap that is not an integer", "a body that is not JSON", "no body",
])
def test_silent_within_the_cap_or_without_one(tmp_path, protocol, body):
    counted = STREAMS[protocol][3]
    bodies = {
        "at the cap": capped(protocol, counted),
        "no cap": {"model": "m", "stream": True},
        "a cap of 0": capped(protocol, 0),
        "a cap that is not an integer": capped(protocol, float(counted - 1)),
        "a body that is not JSON": json.dumps(capped(protocol, counted - 1))[:-1],
        "no body": None,
    }
    assert over_limit(tmp_path, protocol, bodies[body]) == []


def test_a_message_that_quotes_a_lower_cap_is_not_the_request_cap(tmp_path):
    """The body's text names `max_completion_tokens` with a small number inside a message: the cap is the request's."""
    body = capped("chat", 30, messages=[{"role": "user", "content": 'why does "max_completion_tokens": 1 fail?'}])
    assert over_limit(tmp_path, "chat", json.dumps(body)) == []
    assert len(over_limit(tmp_path, "chat", json.dumps({**body, "max_completion_tokens": 29}))) == 1


def test_chat_takes_the_deprecated_max_tokens_when_max_completion_tokens_is_absent(tmp_path):
    assert len(over_limit(tmp_path, "chat", {"model": "m", "stream": True, "max_tokens": 29})) == 1


@pytest.mark.parametrize(("protocol", "extra"), [
    ("chat", {"n": 2}),  # the usage sums the choices; the cap holds for each
    ("chat", {"prediction": {"type": "content", "content": "x"}}),  # its rejected tokens are counted too
    ("gemini", {"generationConfig": {"maxOutputTokens": 7, "candidateCount": 2}}),
    ("responses", {"tools": [{"type": "web_search"}]}),  # the server's own loop: several calls, each capped
    ("anthropic", {"tools": [{"type": "web_search_20250305", "name": "web_search"}]}),
    ("gemini", {"tools": [{"codeExecution": {}}]}),
], ids=["chat-n", "chat-prediction", "gemini-candidates", "responses-server-tool", "anthropic-server-tool",
        "gemini-code-execution"])
def test_silent_where_the_usage_may_sum_several_capped_answers(tmp_path, protocol, extra):
    body = {**capped(protocol, STREAMS[protocol][3] - 1), **extra}
    assert over_limit(tmp_path, protocol, body) == []


@pytest.mark.parametrize(("protocol", "tools"), [
    ("responses", [{"type": "function", "name": "f", "parameters": {}}]),
    ("anthropic", [{"name": "f", "input_schema": {"type": "object"}}]),
    ("gemini", [{"functionDeclarations": [{"name": "f"}]}]),
])
def test_the_clients_own_tools_leave_the_cap_judged(tmp_path, protocol, tools):
    body = {**capped(protocol, STREAMS[protocol][3] - 1), "tools": tools}
    assert len(over_limit(tmp_path, protocol, body)) == 1


JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
                    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
                    max_leaves=12)
CAP_FIELDS = st.sampled_from(["max_completion_tokens", "max_tokens", "max_output_tokens", "generationConfig", "n",
                              "tools", "candidateCount", "maxOutputTokens", "type"])


USAGE_FIELDS = st.sampled_from(["completion_tokens", "output_tokens", "candidatesTokenCount", "server_tool_use"])


@given(protocol=st.sampled_from([chat.Checker, responses.Checker, anthropic.Checker, gemini.Checker]),
       body=JSON | st.dictionaries(CAP_FIELDS, JSON, max_size=4),
       usage=JSON | st.dictionaries(USAGE_FIELDS, st.integers() | JSON, max_size=3), as_text=st.booleans())
def test_any_body_and_usage_give_a_finding_or_none(protocol, body, usage, as_text):
    """A kept request body is whatever the client sent: the judgement never raises on it."""
    found = protocol.token_limit.judge(json.dumps(body) if as_text else body, usage)
    assert found is None or found.rule.endswith("/usage-over-limit")
