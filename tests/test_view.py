"""The viewer: what it reassembles (against an independent walk of the corpus JSON), its timing, its rendering."""

import io
import json
import re
from pathlib import Path

import pytest
from rich.console import Console

from inspector.findings import Finding, Severity
from inspector.inputs import open_source
from inspector.protocols.base import Output, ToolCall
from inspector.recording import Header, RecordingWriter
from inspector.view.model import inspect
from inspector.view.render import THEME, FindingsTable, GapChart, OutputView, StreamView, ToolCallTable
from inspector.view.summary import summarize

CORPUS = Path(__file__).parent / "fixtures" / "corpus"
CORPUS_FILES = sorted(str(path.relative_to(CORPUS)) for path in CORPUS.glob("*/*.sse"))


def render(renderable, width: int = 100) -> str:
    console = Console(width=width, file=io.StringIO(), color_system=None, theme=THEME)
    console.print(renderable)
    return console.file.getvalue()


@pytest.fixture
def make_recording(tmp_path: Path):
    """Factory: a recording in tmp_path from (t, bytes) chunks; `end=None` leaves the end line out, `status=None`
    the response."""

    def make(chunks, *, name="rec.jsonl", url="https://api.openai.com/v1/chat/completions", status=200,
             protocol=None, end=(None, "complete"), started_at="2026-11-21T05:00:00.000Z", model="gpt-test"):
        header = Header(
            request={"method": "POST", "url": url, "headers": {}, "body": {"model": model, "stream": True}},
            response=None if status is None else {"status": status, "headers": {"content-type": "text/event-stream"}},
            protocol=protocol, source="proxy", id=name, started_at=started_at,
        )
        writer = RecordingWriter(tmp_path / name, header)
        for t, data in chunks:
            writer.chunk(t, data)
        if end is not None:
            end_t, reason = end
            writer.end(end_t if end_t is not None else chunks[-1][0] + 0.01, reason)
        else:
            writer.close()
        return str(tmp_path / name)

    return make


def sse_events(path: Path) -> list[tuple[str, str]]:
    """(event type, data) of every terminated event, read without the project's parser."""
    events, kind, data = [], "message", []
    for line in path.read_text(encoding="utf-8").split("\n"):
        line = line.removesuffix("\r")
        if line == "":
            if data:
                events.append((kind, "\n".join(data)))
            kind, data = "message", []
        elif line.startswith("data:"):
            data.append(line[5:].removeprefix(" "))
        elif line.startswith("event:"):
            kind = line[6:].removeprefix(" ")
    return events  # a last block without its blank line is never dispatched


def payloads(path: Path) -> list[dict]:
    found = []
    for _, data in sse_events(path):
        try:
            payload = json.loads(data)
        except ValueError:
            continue
        if isinstance(payload, dict):
            found.append(payload)
    return found


# -- the independent reassembly: what each protocol's docs say the stream means --------------------------------


def chat_expected(path: Path) -> tuple[dict[int, str], list[tuple]]:
    texts: dict[int, str] = {}
    calls: dict[tuple[int, int], dict] = {}
    for payload in payloads(path):
        for choice in payload.get("choices") or []:
            delta = choice.get("delta") or {}
            if isinstance(delta.get("content"), str):
                texts[choice["index"]] = texts.get(choice["index"], "") + delta["content"]
            for fragment in delta.get("tool_calls") or []:
                call = calls.setdefault((choice["index"], fragment["index"]), {"id": None, "name": None, "args": ""})
                function = fragment.get("function") or {}
                call["id"] = call["id"] or fragment.get("id")
                call["name"] = call["name"] or function.get("name")
                call["args"] += function.get("arguments") or ""
    choice0 = [(c["id"], c["name"], c["args"]) for (choice, _), c in sorted(calls.items()) if choice == 0]
    return texts, choice0


ANTHROPIC_TOOL_BLOCKS = {"tool_use", "server_tool_use"}


def anthropic_expected(path: Path) -> tuple[dict[int, str], list[tuple]]:
    text, calls, blocks = "", [], {}
    for payload in payloads(path):
        kind = payload.get("type")
        if kind == "message_start":
            for block in payload["message"].get("content") or []:  # the short form: blocks already complete
                text += block.get("text", "") if block.get("type") == "text" else ""
                if block.get("type") in ANTHROPIC_TOOL_BLOCKS:
                    calls.append([block["id"], block["name"], [], block.get("input")])
        elif kind == "content_block_start":
            block = payload["content_block"]
            blocks[payload["index"]] = block
            if block["type"] == "text":
                text += block.get("text", "")
            if block["type"] in ANTHROPIC_TOOL_BLOCKS:
                call = [block["id"], block["name"], [], block.get("input")]
                calls.append(call)
                block["call"] = call
        elif kind == "content_block_delta":
            delta, block = payload["delta"], blocks[payload["index"]]
            if delta["type"] == "text_delta" and block["type"] == "text":
                text += delta["text"]
            if delta["type"] == "input_json_delta" and "call" in block:
                block["call"][2].append(delta["partial_json"])
    return {0: text}, [(i, n, "".join(parts) or input_) for i, n, parts, input_ in calls]


RESPONSES_CALL_ITEMS = {"function_call": ("call_id", "arguments"), "custom_tool_call": ("call_id", "input"),
                        "mcp_call": ("id", "arguments")}
TERMINAL = {"response.completed", "response.incomplete", "response.failed"}


def responses_expected(path: Path) -> tuple[dict[int, str], list[tuple]]:
    """Text from the deltas; tool calls from the terminal event's output snapshot (not from the deltas)."""
    text, calls = "", []
    for payload in payloads(path):
        if payload.get("type") == "response.output_text.delta":
            text += payload["delta"]
        if payload.get("type") in TERMINAL:
            for item in payload["response"].get("output") or []:
                if item.get("type") in RESPONSES_CALL_ITEMS:
                    id_field, args_field = RESPONSES_CALL_ITEMS[item["type"]]
                    calls.append((item.get(id_field), item.get("name"), item.get(args_field)))
    return {0: text}, calls


_JSON_PATH_STEP = re.compile(r"\.(\w+)|\[(\d+)\]")


def _put(target: dict, json_path: str, value, append: bool) -> None:
    """The oracle's own placement of one streamed argument value (`$.a[0].b` paths, all the corpus uses)."""
    steps = [int(number) if number else name for name, number in _JSON_PATH_STEP.findall(json_path)]
    node = target
    for step, following in zip(steps, [*steps[1:], None], strict=True):
        if isinstance(node, list):
            node.extend([None] * (step + 1 - len(node)))
        if following is None:
            node[step] = node[step] + value if append and isinstance(node[step] if isinstance(node, list)
                                                                     else node.get(step), str) else value
        else:
            if (node[step] if isinstance(node, list) else node.get(step)) is None:
                node[step] = [] if isinstance(following, int) else {}
            node = node[step]


def gemini_expected(path: Path) -> tuple[dict[int, str], list[tuple]]:
    """Candidate 0's non-thought texts; its function calls, streamed arguments put together by `jsonPath`."""
    text, calls, open_args = "", [], None
    for payload in payloads(path):
        for part in ((payload.get("candidates") or [{}])[0].get("content") or {}).get("parts") or []:
            if isinstance(part.get("text"), str) and not part.get("thought"):
                text += part["text"]
            call = part.get("functionCall")
            if call is None:
                continue
            if "name" in call:
                calls.append((call.get("id"), call["name"], call.get("args", {})))
                open_args = calls[-1][2] if call.get("willContinue") else None
                continue
            for piece in call.get("partialArgs") or []:
                value = next((piece[k] for k in ("stringValue", "numberValue", "boolValue") if k in piece), None)
                _put(open_args, piece["jsonPath"], value, isinstance(value, str))
            if not call.get("willContinue"):
                open_args = None
    return {0: text}, calls


EXPECTED = {"openai-chat": chat_expected, "anthropic-messages": anthropic_expected,
            "openai-responses": responses_expected, "gemini": gemini_expected}
TOOL_KINDS = {"openai-chat": None, "anthropic-messages": ANTHROPIC_TOOL_BLOCKS,
              "openai-responses": set(RESPONSES_CALL_ITEMS), "gemini": {"function_call"}}
PROTOCOL_OF_FOLDER = {"gemini-generate-content": "gemini"}
# a chunk with no field of its protocol: only a request path could tell (a recording has one)
NO_PROTOCOL_FIELD = {"gemini-generate-content/firebase-test-data__synthetic-invalid-json.sse"}


def _comparable(arguments):
    """Arguments compare exactly when streamed; a whole object (not streamed) compares as JSON."""
    return arguments if isinstance(arguments, str) else json.dumps(arguments, sort_keys=True)


def _as_json_value(arguments: str):
    try:
        return json.dumps(json.loads(arguments), sort_keys=True)
    except ValueError:
        return arguments


@pytest.mark.parametrize("name", CORPUS_FILES)
def test_corpus_text_and_tool_calls_match_an_independent_walk(name: str) -> None:
    protocol = PROTOCOL_OF_FOLDER.get(name.split("/")[0], name.split("/")[0])
    texts, calls = EXPECTED[protocol](CORPUS / name)
    hint = protocol if name in NO_PROTOCOL_FIELD else None
    report = inspect(open_source(str(CORPUS / name)), hint)
    assert report.protocol == protocol
    assert {output.index: output.text for output in report.outputs if output.text} == {
        index: text for index, text in texts.items() if text
    }
    assert report.to_json()["text"] == texts.get(0, "")
    kinds = TOOL_KINDS[protocol]
    got = [call for call in report.assembly.tool_calls if kinds is None or call.kind in kinds]
    assert [(call.id, call.name) for call in got] == [(call_id, name) for call_id, name, _ in calls]
    arguments = [call.arguments if isinstance(expected, str) else _as_json_value(call.arguments)
                 for call, (_, _, expected) in zip(got, calls, strict=True)]
    assert arguments == [_comparable(expected) for _, _, expected in calls]


@pytest.mark.parametrize(
    ("name", "first_content"),
    [
        pytest.param("openai-chat/openai-python__text-plain.sse", 1, id="chat-role-chunk-first"),
        pytest.param("openai-responses/vercel-ai__text-minimal.sse", 4, id="responses-created-first"),
        pytest.param("anthropic-messages/vercel-ai__text.sse", 3, id="anthropic-start-and-ping-first"),
    ],
)
def test_ttft_is_the_first_content_event_not_the_first_byte(make_recording, name: str, first_content: int) -> None:
    """One chunk per event, event i at 0.25 + 0.1 i seconds: TTFT is the time of the first event with content."""
    chunks = [(round(0.25 + 0.1 * i, 6), f"event: {kind}\ndata: {data}\n\n".encode())
              for i, (kind, data) in enumerate(sse_events(CORPUS / name))]
    report = inspect(open_source(make_recording(chunks, protocol=name.split("/")[0])))
    timing = report.to_json()["timing"]
    assert (timing["ttfb"], timing["first_event"], timing["ttft"], timing["first_token_index"]) == (
        0.25, 0.25, round(0.25 + 0.1 * first_content, 6), first_content)


def chat_chunk(delta: dict | None, finish: str | None = None, usage: dict | None = None) -> bytes:
    """One Chat Completions chunk as OpenAI sends it (choices [] for the usage chunk)."""
    chunk = {"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1763700000, "model": "gpt-test",
             "choices": [] if delta is None else [{"index": 0, "delta": delta, "finish_reason": finish}]}
    if usage is not None:
        chunk["usage"] = usage
    return f"data: {json.dumps(chunk)}\n\n".encode()


CHAT_TOOL_STREAM = [
    (0.3, chat_chunk({"role": "assistant", "content": None})),
    (0.8, chat_chunk({"tool_calls": [{"index": 0, "id": "call_1", "type": "function",
                                      "function": {"name": "get_weather", "arguments": ""}}]})),
    (0.9, chat_chunk({"tool_calls": [{"index": 0, "function": {"arguments": '{"city": '}}]})),
    (2.4, chat_chunk({"tool_calls": [{"index": 0, "function": {"arguments": '"Paris"}'}}]})),
    (2.5, chat_chunk({}, "tool_calls")
     + chat_chunk(None, usage={"prompt_tokens": 20, "completion_tokens": 12, "total_tokens": 32})
     + b"data: [DONE]\n\n"),
]

EXPECTED_VIEW = """\
╭─ POST https://api.openai.com/v1/chat/completions ────────────────────────────────────────────────╮
│ model          gpt-test                                                                          │
│ protocol       openai-chat                                                                       │
│ HTTP status    200                                                                               │
│ final status   tool_calls                                                                        │
│ recording end  complete at 2.600 s                                                               │
│ verdict        pass                                                                              │
╰──────────────────────────────────────────────────────────────────────────────────────────────────╯
╭─ request ────────────────────────────────────────────────────────────────────────────────────────╮
│ model    gpt-test                                                                                │
│ stream   true                                                                                    │
│ headers  0 (shown with --headers)                                                                │
╰──────────────────────────────────────────────────────────────────────────────────────────────────╯
╭─ response ───────────────────────────────────────────────────────────────────────────────────────╮
│ status      200  text/event-stream                                                               │
│ request id  -                                                                                    │
│ headers     1 (shown with --headers)                                                             │
╰──────────────────────────────────────────────────────────────────────────────────────────────────╯
╭─ timing ─────────────────────────────────────────────────────────────────────────────────────────╮
│ first byte   0.300 s                                                                             │
│ first event  0.300 s                                                                             │
│ first token  0.800 s (event 1)                                                                   │
│ duration     2.600 s                                                                             │
│ counts       7 events in 5 chunks                                                                │
│ gaps         p50 0.100 s  p95 0.500 s  max 1.500 s (event 3)                                     │
│ throughput   6.7 tokens/s (12 output tokens after the first token)                               │
│ stalls       1.500 s before event 3 `message` (at 2.400 s)                                       │
│ gaps over time (largest per 0.05 s slice; blank: no event)                                       │
│           ▁▁                  ▃▃▁▁                                                     ██  ▁▁    │
│ 0 s                                    max gap 1.500 s                                    2.60 s │
╰──────────────────────────────────────────────────────────────────────────────────────────────────╯
tool calls                                                                                          \n\
┏━━━━━━━━┳━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┓
┃ id     ┃ name        ┃ kind            ┃ arguments                                               ┃
┡━━━━━━━━╇━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┩
│ call_1 │ get_weather │ client function │ {                                                       │
│        │             │                 │   "city": "Paris"                                       │
│        │             │                 │ }                                                       │
└────────┴─────────────┴─────────────────┴─────────────────────────────────────────────────────────┘
╭─ usage ──────────────────────────────────────────────────────────────────────────────────────────╮
│ prompt_tokens      20                                                                            │
│ completion_tokens  12                                                                            │
│ total_tokens       32                                                                            │
╰──────────────────────────────────────────────────────────────────────────────────────────────────╯
findings: none
"""


def test_the_whole_view_at_a_fixed_width(make_recording) -> None:
    path = make_recording(CHAT_TOOL_STREAM, end=(2.6, "complete"))
    lines = render(StreamView(inspect(open_source(path)))).splitlines()
    assert lines[1].split() == ["│", "file", path, "│"]
    assert "\n".join(lines[:1] + lines[2:]) + "\n" == EXPECTED_VIEW


def test_a_stall_is_listed_with_its_event(make_recording) -> None:
    report = inspect(open_source(make_recording(CHAT_TOOL_STREAM, end=(2.6, "complete"))))
    assert report.to_json()["timing"]["stalls"] == [{"index": 3, "event": "message", "t": 2.4, "gap": 1.5}]
    assert "│ stalls       1.500 s before event 3 `message` (at 2.400 s)" in render(StreamView(report))


def test_json_has_the_design_shape_and_the_arguments_as_streamed(make_recording) -> None:
    document = inspect(open_source(make_recording(CHAT_TOOL_STREAM, end=(2.6, "complete")))).to_json()
    assert list(document)[:8] == ["protocol", "status", "text", "reasoning", "tool_calls", "usage", "timing",
                                  "findings"]
    assert {key: document[key] for key in ("protocol", "status", "text", "reasoning", "tool_calls", "usage")} == {
        "protocol": "openai-chat", "status": "tool_calls", "text": "", "reasoning": "",
        "tool_calls": [{"id": "call_1", "name": "get_weather", "arguments": '{"city": "Paris"}'}],
        "usage": {"prompt_tokens": 20, "completion_tokens": 12, "total_tokens": 32},
    }
    assert {key: document["timing"][key] for key in
            ("ttfb", "ttft", "duration", "events", "gap_p50", "gap_p95", "gap_max")} == {
        "ttfb": 0.3, "ttft": 0.8, "duration": 2.6, "events": 7, "gap_p50": 0.1, "gap_p95": 0.5, "gap_max": 1.5}
    assert (document["findings"], document["verdict"], document["http_status"], document["model"]) == (
        [], "pass", 200, "gpt-test")


def test_raw_sse_shows_what_it_has(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(CORPUS)  # a short relative name: the clone's path must not wrap the panel
    report = inspect(open_source("openai-chat/openai-python__text-plain.sse"))
    lines = render(StreamView(report)).splitlines()
    model = next(number for number, line in enumerate(lines) if "│ model" in line)  # the file name may wrap
    assert "".join(line.strip("│ ").removeprefix("file").strip() for line in lines[1:model]) == report.name
    lines = lines[:1] + lines[model:]
    assert lines[:12] == [
        "╭─ raw SSE stream ─────────────────────────────────────────────────────────────────────────────────╮",
        "│ model         gpt-4o-2024-08-06                                                                  │",
        "│ protocol      openai-chat                                                                        │",
        "│ HTTP status   - (raw SSE: no response)                                                           │",
        "│ final status  stop                                                                               │",
        "│ verdict       pass                                                                               │",
        "╰──────────────────────────────────────────────────────────────────────────────────────────────────╯",
        "╭─ timing ─────────────────────────────────────────────────────────────────────────────────────────╮",
        "│ times        none in this input (raw SSE)                                                        │",
        "│ counts       34 events in 2 chunks                                                               │",
        "│ first token  event 1                                                                             │",
        "╰──────────────────────────────────────────────────────────────────────────────────────────────────╯",
    ]
    assert report.to_json()["timing"] | {"stalls": None} == {
        "ttfb": None, "ttft": None, "duration": None, "events": 34, "gap_p50": None, "gap_p95": None,
        "gap_max": None, "first_event": None, "first_token_index": 1, "chunks": 2, "gap_max_index": None,
        "stalls": None, "stalls_dropped": 0, "output_tokens": 30, "tokens_per_s": None,
    }


def test_several_choices_are_shown_each() -> None:
    report = inspect(open_source(str(CORPUS / "openai-chat/openai-python__n3-multiple-choices.sse")))
    texts = [line for line in render(StreamView(report)).splitlines() if "temperature" in line or "text ─" in line]
    assert [line.strip("│╭─╮ ") for line in texts] == [
        "choice 0 (stop): text", '{"city":"San Francisco","temperature":65,"units":"f"}',
        "choice 1 (stop): text", '{"city":"San Francisco","temperature":61,"units":"f"}',
        "choice 2 (stop): text", '{"city":"San Francisco","temperature":59,"units":"f"}',
    ]
    assert [(c["index"], c["finish_reason"]) for c in report.to_json()["choices"]] == [
        (0, "stop"), (1, "stop"), (2, "stop")]


def test_reasoning_is_dimmed() -> None:
    output = Output(0, text_parts=["42"], reasoning_parts=["think"])
    console = Console(width=60, file=io.StringIO(), color_system="standard", theme=THEME)
    styles = {segment.text: segment.style for segment in console.render(OutputView(output, "answer"))}
    assert (styles["think"].dim, bool(styles["42"] and styles["42"].dim)) == (True, False)


@pytest.mark.parametrize(
    ("arguments", "shown"),
    [
        pytest.param('{"a":1}', ['{', '  "a": 1', '}'], id="pretty-printed"),
        pytest.param('{"a":', ["does not parse as JSON (Expecting value: line 1 column 6 (char 5)):", '{"a":'],
                     id="cut-short"),
        pytest.param("", ["(empty)"], id="empty"),
    ],
)
def test_tool_call_arguments(arguments: str, shown: list[str]) -> None:
    table = render(ToolCallTable([ToolCall("call_9", "f", arguments)]), width=120)
    cells = [line.split("│")[4][1:].rstrip() for line in table.splitlines() if line.startswith("│")]
    assert cells == shown


def test_findings_name_rule_event_and_message(make_recording) -> None:
    path = make_recording([(0.2, b'data: {"choices":[{"index":0,"delta":{"content":"hi"}}]}\n\ndata: {oops\n\n')],
                          url="https://example.com/v1/chat/completions", protocol="generic")
    report = inspect(open_source(path))
    table = [line for line in render(StreamView(report)).splitlines() if "sse/invalid-json" in line]
    assert [line.split("│")[1:4] for line in table] == [[" error    ", " sse/invalid-json ", "     1 "]]
    assert report.verdict == "fail"


def test_a_recording_cut_short_says_so(make_recording) -> None:
    path = make_recording([(0.2, b'data: {"choices":[]}\n\n')], protocol="generic", end=None)
    assert "│ recording end  no end line: the recording was cut short" in render(StreamView(inspect(open_source(path))))


def test_a_recording_without_a_response_says_so(make_recording) -> None:
    path = make_recording([(0.2, b'data: {"choices":[]}\n\n')], protocol="generic", status=None)
    assert "│ HTTP status    - (no response recorded)" in render(StreamView(inspect(open_source(path))))


def test_an_http_error_fails_with_its_message(make_recording) -> None:
    path = make_recording([(0.2, b'{"error": {"message": "Incorrect API key provided"}}')], status=401)
    report = inspect(open_source(path))
    assert [finding.to_json() for finding in report.findings] == [
        Finding("http/error-status", Severity.ERROR, None, "HTTP 401: Incorrect API key provided").to_json()]
    assert "│ verdict        FAIL (1 error)" in render(StreamView(report))


@pytest.mark.parametrize(
    ("ascii_only", "bars"),
    [pytest.param(False, "▁▁▁  ███▄▄", id="unicode"), pytest.param(True, "...  ###==", id="ascii")],
)
def test_gap_chart_bars(ascii_only: bool, bars: str) -> None:
    console = Console(width=10, file=io.StringIO(), color_system=None, theme=THEME)
    options = console.options
    options.encoding = "ascii" if ascii_only else "utf-8"
    lines = console.render_lines(GapChart([0.1, None, 1.0, 0.5], 0.25, 1.0), options, pad=False)
    assert "".join(segment.text for segment in lines[0]) == bars


def test_gap_chart_merges_slices_that_do_not_fit() -> None:
    chart = GapChart([0.1, 0.2, None, None, 0.4, 0.1], 0.5, None)
    assert chart._columns(3) == [0.2, None, 0.4]
    with pytest.raises(ValueError, match="slice_width must be positive"):
        GapChart([], 0, None)


@pytest.mark.parametrize(
    ("event_type", "data", "summary"),
    [
        pytest.param("message", '{"id":"c","object":"chat.completion.chunk","created":1,"model":"m",'
                     '"choices":[{"index":0,"delta":{"content":"Hi"},"logprobs":null,"finish_reason":null}]}',
                     'choices[0].delta.content="Hi"', id="chat-delta"),
        pytest.param("message", '{"choices":[{"index":1,"delta":{"tool_calls":[{"index":0,"function":'
                     '{"arguments":"{\\"a"}}]}}]}',
                     'choices[0].index=1  choices[0].delta.tool_calls[0].function.arguments="{\\"a"',
                     id="chat-tool-fragment"),
        pytest.param("content_block_delta", '{"type":"content_block_delta","index":1,'
                     '"delta":{"type":"text_delta","text":"ok"}}', 'index=1  delta.type="text_delta"  delta.text="ok"',
                     id="anthropic-delta"),
        pytest.param("message", '{"type":"content_block_delta"}', 'type="content_block_delta"',
                     id="type-kept-when-not-the-event-name"),
        pytest.param("response.output_text.delta", '{"type":"response.output_text.delta","sequence_number":4,'
                     '"item_id":"msg_1","output_index":0,"content_index":0,"delta":"Hel","obfuscation":"x"}',
                     'output_index=0  content_index=0  delta="Hel"', id="responses-delta"),
        pytest.param("ping", "{}", "{}", id="empty-object"),
        pytest.param("message", "[DONE]", "[DONE]", id="not-json"),
        pytest.param("message", "line one\nline two", "line one\\nline two", id="multi-line-not-json"),
        pytest.param("message", "7", "7", id="scalar"),
    ],
)
def test_event_summary(event_type: str, data: str, summary: str) -> None:
    assert summarize(event_type, data) == summary


def test_event_summary_is_cut_after_a_few_hundred_characters() -> None:
    summary = summarize("message", json.dumps({f"k{n}": "x" * 50 for n in range(50)}))
    assert (summary.count("  ") + 1, len(summary)) == (6, 6 * 55 + 5 * 2)


def test_findings_in_the_order_of_their_events() -> None:
    findings = [Finding("b/late", Severity.ERROR, 9, "x"), Finding("c/end", Severity.WARNING, None, "y"),
                Finding("a/early", Severity.WARNING, 2, "z")]
    rows = [line.split("│") for line in render(FindingsTable(findings)).splitlines() if line.startswith("│")]
    assert [(row[2].strip(), row[3].strip()) for row in rows] == [("a/early", "2"), ("b/late", "9"), ("c/end", "end")]


def test_a_tool_call_says_who_runs_it() -> None:
    calls = [ToolCall("toolu_1", "lookup", "{}", "tool_use"), ToolCall("srvtoolu_2", "web_search", "{}",
                                                                        "server_tool_use"),
             ToolCall("call_3", "grammar", "x", "custom_tool_call"),
             ToolCall("mcpr_4", "delete_repo", "{}", "mcp_approval_request")]  # the app approves it or not
    assert [(row[1], row[2]) for row in table_rows(render(ToolCallTable(calls)))] == [
        ("lookup", "client function"), ("web_search", "server tool (server_tool_use)"),
        ("grammar", "client tool (custom_tool_call)"), ("delete_repo", "client tool (mcp_approval_request)")]


def test_a_long_id_leaves_the_arguments_their_width() -> None:
    """OpenAI's ids are 50 characters: folded, not squeezing the arguments into a column of one letter."""
    calls = [ToolCall("ws_0a4bc5e23769d65c00696d5e682884819da7fe3195ef84421f", "web_search",
                      '{"type":"search","query":"tallest mountain in Alberta"}', "web_search_call")]
    (row,) = table_rows(render(ToolCallTable(calls), width=80))
    assert row[0].replace(" ", "") == calls[0].id  # folded, whole
    assert '"query": "tallest mountain in Alberta"' in row[3]


def table_rows(rendered: str) -> list[list[str]]:
    """The cells of a rich table drawn with lines between its rows, each cell's folded lines joined (a space where
    a word wrapped)."""
    rows: list[list[list[str]]] = [[]]
    for line in rendered.splitlines()[3:]:  # NOTE: the title, the top border, the header
        if line.startswith(("├", "└", "┡")):
            rows.append([])
        elif line.startswith("│"):
            rows[-1].append([cell.strip() for cell in line.split("│")[1:-1]])
    joined = []
    for lines in filter(None, rows):
        cells = zip(*lines, strict=True)
        joined.append([" ".join(filter(None, pieces)).replace("( ", "(") for pieces in cells])
    return joined


def test_control_characters_from_the_wire_are_shown_not_obeyed(tmp_path: Path) -> None:
    from inspector.view.render import make_console, print_view

    path = tmp_path / "hostile.sse"
    chunk = {"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m\x1b[31mRED",
             "choices": [{"index": 0, "delta": {"role": "assistant", "content": "hi \x1b[2J there \x1b]0;pwned\x07"},
                          "finish_reason": None}]}
    path.write_text(f"data: {json.dumps(chunk)}\n\ndata: [DONE]\n\n")
    console = make_console(io.StringIO(), width=100, color_system=None)
    print_view(console, inspect(open_source(str(path))))
    shown = console.file.getvalue()
    assert "\x1b" not in shown and "\x07" not in shown
    assert "m␛[31mRED" in shown and "hi ␛[2J there ␛]0;pwned" in shown


def test_a_long_usage_key_leaves_its_value_room() -> None:
    """Found on LLM-API-Key-Proxy's usage (a 77-character key): at 80 columns every usage value was blank."""
    from inspector.view.render import UsageView

    text = render(UsageView({"completion_tokens": 53, "prompt_tokens_details": {
        "cache_creation_token_details": {"ephemeral_5m_input_tokens": 7}}}), width=80)  # a 76-character key
    assert re.search(r"completion_tokens\s+53\b", text) and re.search(r"\b7\b", text), text
