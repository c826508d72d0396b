"""The request and response around the stream (terminal at 80 and 160 columns, JSON), a non-streamed error answer,
and the smaller view fixes: a zero-chunk recording's times, the gap chart of ~0 ms gaps, `events` data as on the
wire."""

import io
import json
from pathlib import Path

import pytest
from rich.console import Console

from inspector.inputs import open_source
from inspector.recording import Header, RecordingWriter
from inspector.view.html import report_page
from inspector.view.model import inspect
from inspector.view.render import THEME, GapChart, StreamView

REQUEST_BODY = {
    "model": "gpt-4o-mini", "stream": True, "stream_options": {"include_usage": True}, "max_completion_tokens": 300,
    "temperature": 0.2, "tool_choice": "auto", "reasoning_effort": "low",
    "tools": [{"type": "function", "function": {"name": "get_weather", "parameters": {}}}],
    "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"},
                 {"role": "assistant", "content": "Hello"},
                 {"role": "user", "content": [{"type": "text", "text": "Weather in \u202eParis\u202c?"},
                                              {"type": "image_url", "image_url": {"url": "data:..."}}]}],
}
RESPONSE_HEADERS = {
    "content-type": "text/event-stream; charset=utf-8", "x-request-id": "req_42", "openai-processing-ms": "187",
    "x-ratelimit-remaining-requests": "499", "x-ratelimit-reset-tokens": "6ms", "set-cookie": "…abcd",
}
CHAT = (b'data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini","choices":[{"index":0,'
        b'"delta":{"content":"Sunny"},"finish_reason":"stop"}]}\n\ndata: [DONE]\n\n')


def record(tmp_path: Path, chunks, *, status=200, headers=None, name="rec.jsonl", end=True) -> str:
    header = Header(
        request={"method": "POST", "url": "https://api.openai.com/v1/chat/completions",
                 "headers": {"authorization": "Bearer …WXYZ", "content-type": "application/json"},
                 "body": json.dumps(REQUEST_BODY)},
        response={"status": status, "headers": RESPONSE_HEADERS if headers is None else headers},
        protocol="openai-chat", source="proxy", id=name, started_at="2026-11-21T05:00:00.000Z",
    )
    writer = RecordingWriter(tmp_path / name, header)
    for t, data in chunks:
        writer.chunk(t, data)
    if end:
        writer.end(chunks[-1][0] + 0.01 if chunks else 0.5, "complete")
    writer.close()
    return str(tmp_path / name)


def render(renderable, width: int) -> str:
    console = Console(width=width, file=io.StringIO(), color_system=None, theme=THEME)
    console.print(renderable)
    return console.file.getvalue()


def panel(text: str, title: str) -> list[str]:
    """The rows of the panel titled `title`, stripped of their borders."""
    lines = text.splitlines()
    start = next(number for number, line in enumerate(lines) if line.startswith(f"╭─ {title} "))
    stop = next(number for number in range(start, len(lines)) if lines[number].startswith("╰"))
    return [line.strip("│").rstrip() for line in lines[start + 1:stop]]


def test_request_and_response_at_160_columns(tmp_path: Path) -> None:
    shown = render(StreamView(inspect(open_source(record(tmp_path, [(0.4, CHAT)])))), 160)
    assert panel(shown, "request") == [
        " model       gpt-4o-mini",
        ' stream      true  options {"include_usage": true}',
        ' parameters  max tokens 300  temperature 0.2  tool choice auto  reasoning effort low',
        " tools       get_weather",
        " messages    4, last from the user: Weather in <U+202E>Paris<U+202C>? [image_url]",
        " headers     2 (shown with --headers)",
    ]
    assert panel(shown, "response") == [
        " status       200  text/event-stream; charset=utf-8",
        " request id   req_42",
        " rate limits  x-ratelimit-remaining-requests  499",
        "              x-ratelimit-reset-tokens  6ms",
        " timing       openai-processing-ms  187",
        " headers      6 (shown with --headers)",
    ]


def test_request_at_80_columns_wraps_inside_its_panel(tmp_path: Path) -> None:
    shown = render(StreamView(inspect(open_source(record(tmp_path, [(0.4, CHAT)])))), 80)
    rows = panel(shown, "request")
    assert max(len(line) for line in shown.splitlines()) == 80
    assert rows[2:4] == [" parameters  max tokens 300  temperature 0.2  tool choice auto  reasoning",
                         "             effort low"]


def test_headers_on_demand_are_the_redacted_ones(tmp_path: Path) -> None:
    shown = render(StreamView(inspect(open_source(record(tmp_path, [(0.4, CHAT)]))), headers=True), 160)
    assert panel(shown, "request")[-2:] == [" headers     authorization: Bearer …WXYZ", "             content-type: "
                                                                                          "application/json"]
    assert "              set-cookie: …abcd" in panel(shown, "response")


def test_json_has_the_request_and_response(tmp_path: Path) -> None:
    document = inspect(open_source(record(tmp_path, [(0.4, CHAT)]))).to_json()
    assert document["request"] | {"headers": None} == {
        "method": "POST", "url": "https://api.openai.com/v1/chat/completions", "model": "gpt-4o-mini",
        "stream": True, "stream_options": {"include_usage": True},
        "parameters": {"max tokens": 300, "temperature": 0.2, "tool choice": "auto", "reasoning effort": "low"},
        "tools": ["get_weather"], "messages": 4, "last_user_message": "Weather in \u202eParis\u202c? [image_url]",
        "headers": None,
    }
    assert document["response"] | {"headers": None} == {
        "status": 200, "content_type": "text/event-stream; charset=utf-8", "request_id": "req_42",
        "rate_limits": {"x-ratelimit-remaining-requests": "499", "x-ratelimit-reset-tokens": "6ms"},
        "timing_headers": {"openai-processing-ms": "187"}, "headers": None, "error_body": None, "error_message": None,
    }


def test_a_raw_body_has_no_request_or_response() -> None:
    corpus = Path(__file__).parent / "fixtures" / "corpus" / "openai-chat" / "openai-python__text-plain.sse"
    report = inspect(open_source(str(corpus)))
    assert (report.to_json()["request"], report.to_json()["response"]) == (None, None)
    assert "╭─ request" not in render(StreamView(report), 100)


ERROR_BODY = b'{"type":"error","error":{"type":"rate_limit_error","message":"Number of requests has exceeded"}}'


def test_a_non_streamed_error_answer_is_shown_as_such(tmp_path: Path) -> None:
    path = record(tmp_path, [(0.3, ERROR_BODY)], status=429,
                  headers={"content-type": "application/json", "request-id": "req_9", "retry-after": "12",
                           "anthropic-ratelimit-requests-remaining": "0"})
    report = inspect(open_source(path))
    shown = render(StreamView(report), 80)
    assert panel(shown, "error answer: HTTP 429, not an event stream") == [
        " rate_limit_error: Number of requests has exceeded",
        " {",
        '   "type": "error",',
        '   "error": {',
        '     "type": "rate_limit_error",',
        '     "message": "Number of requests has exceeded"',
        "   }",
        " }",
    ]
    assert panel(shown, "response")[:4] == [
        " status       429  application/json", " request id   req_9",
        " rate limits  anthropic-ratelimit-requests-remaining  0", " timing       retry-after  12"]
    response = report.to_json()["response"]
    assert (response["error_body"], response["error_message"]) == (
        ERROR_BODY.decode(), "rate_limit_error: Number of requests has exceeded")


def test_an_error_answer_sent_as_an_event_shows_its_message(tmp_path: Path) -> None:
    """LiteLLM's proxy answers a failed stream with HTTP 500 and its error as an event: an event stream, but no
    answer; its message is shown, and the heading does not say it is no event stream."""
    body = (b'data: {"error": {"message": "Error processing stream start", "type": "internal_server_error"}}\n\n'
            b"data: [DONE]\n\n")
    path = record(tmp_path, [(0.1, body)], status=500, headers={"content-type": "text/event-stream"})
    shown = render(StreamView(inspect(open_source(path))), 100)
    assert panel(shown, "error answer: HTTP 500")[0] == " internal_server_error: Error processing stream start"
    assert "not an event stream" not in shown


def test_a_whole_answer_where_a_stream_was_asked_for_is_not_called_an_error(tmp_path: Path) -> None:
    """LiteLLM's `/v1/messages` answers `stream: true` with one JSON message: HTTP 200, the model's answer."""
    body = b'{"type":"message","role":"assistant","content":[{"type":"text","text":"Hello"}],"stop_reason":"end_turn"}'
    path = record(tmp_path, [(0.1, body)], headers={"content-type": "application/json"})
    shown = render(StreamView(inspect(open_source(path))), 100)
    assert panel(shown, "answer in one body: HTTP 200, not an event stream")[1] == '   "type": "message",'
    assert "error answer" not in shown


@pytest.mark.parametrize("headers", [{"server": "anyclaude"}, {"content-type": "text/plain"}],
                         ids=["no-content-type", "text-plain"])
def test_a_body_of_events_under_another_content_type_is_shown_as_the_stream_it_is(tmp_path: Path, headers) -> None:
    """Found with anyclaude's proxy, which sends no content type: `view` called its streams "answer in one body:
    HTTP 200, not an event stream" and showed the raw body, while `validate` read their events (as the SDKs do)."""
    corpus = Path(__file__).parent / "fixtures" / "corpus"
    body = (corpus / "openai-chat" / "openai-python__text-plain.sse").read_bytes()
    path = record(tmp_path, [(0.1, body)], headers=headers)
    report = inspect(open_source(path))
    shown = render(StreamView(report), 100)
    assert "answer in one body" not in shown and report.to_json()["response"]["error_body"] is None
    assert report.assembly.text.startswith("I'm") and [f.rule for f in report.findings] == ["http/content-type"]


def test_bodies_nested_too_deeply_to_read_are_shown_without_their_facts(tmp_path: Path) -> None:
    """A request body or an error body of 100,000 nested lists (a hostile client or server) broke `view`, `view
    --json` and `view --html` with a RecursionError; each is shown, not read."""
    deep = "[" * 100_000 + "]" * 100_000
    path = Path(record(tmp_path, [(0.1, deep.encode())], status=500, headers={"content-type": "application/json"}))
    text = path.read_text().replace(json.dumps(json.dumps(REQUEST_BODY)), json.dumps('{"x": ' + deep + "}"), 1)
    path.write_text(text)
    report = inspect(open_source(str(path)), keep_events=True, keep_chunks=True)
    assert report.to_json()["response"]["error_message"] is None
    assert report.to_json()["request"]["model"] is None
    assert "error answer: HTTP 500, not an event stream" in render(StreamView(report), 100)
    assert "not JSON" in report_page(report)


def test_a_streamed_answer_keeps_no_body(tmp_path: Path) -> None:
    assert inspect(open_source(record(tmp_path, [(0.4, CHAT)]))).body is None


def test_a_recording_with_no_chunk_says_so_not_raw_sse(tmp_path: Path) -> None:
    shown = render(StreamView(inspect(open_source(record(tmp_path, [])))), 100)
    assert panel(shown, "timing")[0] == " times        none: no chunk arrived"


def test_gaps_of_about_zero_ms_draw_low_bars() -> None:
    console = Console(width=8, file=io.StringIO(), color_system=None, theme=THEME)
    lines = console.render_lines(GapChart([0.001, 0.002, 0.001, 0.0], 0.01, 0.04), console.options, pad=False)
    assert "".join(segment.text for segment in lines[0]) == "▁▁▁▁▁▁▁▁"


@pytest.mark.parametrize("width", [80, 160])
def test_the_error_answer_fits_the_width(tmp_path: Path, width: int) -> None:
    path = record(tmp_path, [(0.3, ERROR_BODY)], status=401, headers={"content-type": "application/json"})
    assert {len(line) for line in render(StreamView(inspect(open_source(path))), width).splitlines()} <= {
        width, len("findings"), *range(width + 1)}


def test_events_shows_the_data_as_on_the_wire(run_cli, tmp_path: Path) -> None:
    raw = tmp_path / "s.sse"
    raw.write_bytes(b'data: {"city":"Par\\"is"}\ndata: line two\n\n')
    result = run_cli("events", str(raw))
    assert result.out == '    0          -  message  {"city":"Par\\"is"}␊line two\n'


def test_secrets_left_in_a_recording_are_redacted_in_the_view(tmp_path: Path) -> None:
    header = Header(request={"method": "POST", "url": "https://h/v1/chat/completions?api_key=sk-live-0123456789abcdef",
                             "headers": {"Authorization": "Bearer sk-live-0123456789abcdefWXYZ", "X-Trace": "t1"},
                             "body": json.dumps({"model": "m", "stream": True, "api_key": "sk-live-0123456789abcdef"})},
                    response={"status": 200, "headers": {"content-type": "text/event-stream"}}, source="import")
    RecordingWriter(tmp_path / "r.jsonl", header).end(0.1, "complete")
    shown = json.dumps(inspect(open_source(str(tmp_path / "r.jsonl"))).to_json()["request"])
    assert "0123456789" not in shown and '"X-Trace": "t1"' in shown


def test_a_gemini_request_names_its_model_in_the_url(tmp_path: Path) -> None:
    body = {"contents": [{"role": "user", "parts": [{"text": "Hi there"}]}],
            "tools": [{"functionDeclarations": [{"name": "get_weather"}, {"name": "get_time"}]}, {"googleSearch": {}}],
            "generationConfig": {"maxOutputTokens": 64, "temperature": 0.5}}
    header = Header(request={"method": "POST", "url": "https://generativelanguage.googleapis.com/v1beta/models/"
                             "gemini-2.5-flash:streamGenerateContent?alt=sse", "headers": {}, "body": json.dumps(body)},
                    response=None, source="proxy")
    RecordingWriter(tmp_path / "g.jsonl", header).end(0.1, "error")
    request = inspect(open_source(str(tmp_path / "g.jsonl"))).to_json()["request"]
    assert (request["model"], request["tools"], request["parameters"], request["messages"],
            request["last_user_message"]) == ("gemini-2.5-flash", ["get_weather", "get_time", "googleSearch"],
                                              {"max tokens": 64, "temperature": 0.5}, 1, "Hi there")
