"""`probe` against the project's own replay server: valid streams pass, broken ones fail, the key stays secret."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from inspector import __version__
from inspector.cli import cli
from inspector.inputs import open_source
from inspector.probe import DIALECTS, TOOL_NAME, KeyRefused, Probe, ProbeError, ProbeReport, ScenarioResult
from inspector.protocols.base import Assembly, ToolCall
from inspector.recording import Header, RecordingWriter
from inspector.replay import Faults, Replay, ReplayServer
from inspector.view.render import make_console

ROOT = Path(__file__).parent.parent
CORPUS = ROOT / "tests" / "fixtures" / "corpus"
EXAMPLES = ROOT / "recordings" / "examples"
SECRET = "sk-test-0123456789abcdefSECRET"

VALID = {
    "openai-chat": EXAMPLES / "openai-chat-parallel-tool-calls.jsonl",
    "openai-responses": EXAMPLES / "openai-responses-function-call.jsonl",
    "anthropic-messages": EXAMPLES / "anthropic-messages-tool-use.jsonl",
}
DUPLICATE_START = "vercel-ai__synthetic-invalid-duplicate-message-start.sse"


def judged_alone(findings: list) -> list:
    """The findings a stream earns by itself: those judged against the recorded request (`…/usage-over-limit`,
    `chat/usage-not-sent`) are `validate`'s of the recording; the probe says the same in its scenarios' own lines
    (the token limit, the usage), once."""
    return [finding for finding in findings if not finding.rule.endswith(("/usage-over-limit", "/usage-not-sent"))]
BASE_PATH = {"openai-chat": "/v1", "openai-responses": "/v1", "anthropic-messages": ""}


@pytest.fixture(autouse=True)
def _plain_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    """The report is compared as text: fix the width and drop colour settings inherited from the developer."""
    monkeypatch.setenv("COLUMNS", "120")
    for name in ("NO_COLOR", "FORCE_COLOR", "PY_COLORS"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def serving() -> Iterator:
    """Start a replay server for some files (fast pacing, optional faults); yields a function that returns its URL."""
    servers: list[ReplayServer] = []

    def start(*paths: Path, **faults: object) -> str:
        server = ReplayServer(Replay.from_paths([str(p) for p in paths], speed=500, faults=Faults(**faults)))
        servers.append(server.__enter__())
        return server.url

    yield start
    for server in servers:
        server.__exit__(None, None, None)


def _probe(url: str, protocol: str, out: Path, api_key: str | None = SECRET) -> list[ScenarioResult]:
    return list(Probe(url + BASE_PATH[protocol], protocol, out, api_key=api_key).run())


# A stream cut by its token limit, per protocol: (corpus stream, edit of its raw text).
LENGTH_CUT = {
    "openai-chat": ("openai-chat/openai-python__finish-length-max-tokens.sse", lambda text: text),
    "openai-responses": ("openai-responses/vercel-ai__text-minimal.sse", lambda text: _incomplete(text)),
    "anthropic-messages": ("anthropic-messages/vercel-ai__text.sse",
                           lambda text: text.replace('"stop_reason":"end_turn"', '"stop_reason":"max_tokens"')
                           .replace('"output_tokens":30', '"output_tokens":16')),
}


def _incomplete(text: str) -> str:
    """A Responses stream whose terminal event becomes `response.incomplete` for `max_output_tokens`."""
    head, _, last = text.rstrip("\n").rpartition("\n\n")
    payload = json.loads(last.split("data: ", 1)[1])
    payload["type"] = "response.incomplete"
    payload["response"].update(status="incomplete", incomplete_details={"reason": "max_output_tokens"})
    return f"{head}\n\nevent: response.incomplete\ndata: {json.dumps(payload)}\n\n"


def _recorded_like(valid: Path, body: bytes, path: Path) -> Path:
    """A recording of `body` with the request and response of `valid` (so the replay server serves it there)."""
    path.parent.mkdir(exist_ok=True)
    writer = RecordingWriter(path, open_source(str(valid)).header)
    writer.chunk(0.0, body)
    writer.end(0.0, "complete")
    return writer.path


def test_a_stream_without_a_content_type_is_said_live_as_validate_says_it(serving, tmp_path: Path) -> None:
    """anyclaude's proxy sends its streams with no content type; `serve` of such a recording sends none either."""
    valid = open_source(str(VALID["openai-chat"]))
    header = valid.header
    header.response["headers"] = {"x-request-id": "req_1"}  # what the server sent: no content type
    (tmp_path / "served").mkdir()
    writer = RecordingWriter(tmp_path / "served" / "untyped.jsonl", header)
    for chunk in valid.chunks():
        writer.chunk(chunk.t, chunk.data)
    writer.end(0.0, "complete")
    [text, *_] = _probe(serving(writer.path), "openai-chat", tmp_path / "out")
    assert [(f.rule, f.message.split(":")[0]) for f in text.findings] == [
        ("http/content-type", "the response has no `content-type` header, where `text/event-stream` is expected")]
    assert open_source(str(text.recording)).validate().findings == text.findings


def _length_cut(protocol: str, directory: Path) -> Path:
    name, edit = LENGTH_CUT[protocol]
    body = edit((CORPUS / name).read_text()).encode()
    return _recorded_like(VALID[protocol], body, directory / f"length-{protocol}.jsonl")


def _four_scenarios(protocol: str, directory: Path) -> list[Path]:
    """What a well-behaved endpoint answers the four scenarios in turn: the last one stops at the token limit."""
    return [VALID[protocol]] * 3 + [_length_cut(protocol, directory)]


@pytest.mark.slow
@pytest.mark.parametrize("protocol", list(VALID))
def test_a_valid_stream_passes_and_every_scenario_is_recorded(serving, tmp_path: Path, protocol: str) -> None:
    served = _four_scenarios(protocol, tmp_path / "served")
    results = _probe(serving(*served), protocol, tmp_path / "out")
    called = [call.name for call in open_source(str(VALID[protocol])).validate().assembly.tool_calls]
    assert [(r.scenario, r.verdict, r.status, r.failure, r.notes) for r in results] == [
        ("text", "pass", 200, None, []),
        # the recorded model called its own tools, not the probe's: a warning
        ("tool-call", "warn", 200, None, [f"tool call names `{name}`, not `{TOOL_NAME}`" for name in called]),
        ("usage", "pass", 200, None, []),
        ("max-tokens", "pass", 200, None, []),
    ]
    assert sorted(path.name for path in (tmp_path / "out").iterdir()) == sorted(r.recording.name for r in results)
    for result, served_path in zip(results, served, strict=True):
        source = open_source(str(result.recording))
        assert (source.header.source, source.header.protocol, source.header.status) == ("probe", protocol, 200)
        assert _body(result.recording) == _body(served_path)
        assert source.validate().findings == []
        assert source.end_reason == "complete"


def _body(path: Path) -> bytes:
    return b"".join(chunk.data for chunk in open_source(str(path)).chunks())


@pytest.mark.slow
@pytest.mark.parametrize(
    ("protocol", "broken", "faults", "rules", "failure"),
    [
        pytest.param("anthropic-messages", CORPUS / "anthropic-messages" / DUPLICATE_START, {},
                     {"anthropic/message-start-repeated"}, None, id="duplicate-message-start"),
        pytest.param("openai-chat", VALID["openai-chat"], {"cut_after": 5}, {"chat/done-missing"},
                     "RemoteProtocolError", id="cut-chat"),
        pytest.param("openai-responses", VALID["openai-responses"], {"cut_after": 4}, {"responses/terminal-missing"},
                     "RemoteProtocolError", id="cut-responses"),
    ],
)
def test_a_broken_stream_fails(serving, tmp_path: Path, protocol: str, broken: Path, faults: dict, rules: set,
                               failure: str | None) -> None:
    results = _probe(serving(broken, **faults), protocol, tmp_path)
    assert [(r.verdict, r.failure and r.failure.split(":")[0]) for r in results] == [("fail", failure)] * 4
    assert all(rules <= {finding.rule for finding in r.findings} for r in results), [r.findings for r in results]
    assert [judged_alone(open_source(str(r.recording)).validate().findings) for r in results] == [
        r.findings for r in results]


@pytest.mark.slow
def test_a_model_that_does_not_call_the_tool_is_a_warning_not_a_failure(serving, tmp_path: Path) -> None:
    results = _probe(serving(CORPUS / "openai-chat/openai-python__text-plain.sse"), "openai-chat", tmp_path)
    assert [(r.scenario, r.verdict, r.notes) for r in results] == [
        ("text", "pass", []),
        ("tool-call", "warn", [f"the model did not call the tool `{TOOL_NAME}` (it may decline; the stream itself "
                               "is judged above)"]),
        ("usage", "pass", []),
        ("max-tokens", "fail", []),
    ]
    assert results[3].problems == [
        "asked for at most 16 tokens (`max_completion_tokens`), the stream ended with `stop`, not `length`: the "
        "endpoint ignores the limit, or reports a cut answer as a finished one"]


@pytest.mark.slow
def test_an_ignored_limit_is_said_even_when_the_stream_breaks_another_rule(serving, tmp_path: Path) -> None:
    """An endpoint that leaves `finish_reason` out of its chunks (a proxy seen doing so) and ignores the token limit
    breaks two rules that have nothing to do with each other: the probe says both, not the first alone. A stream
    cut short says nothing of the limit: how it would have ended is not known."""
    text = (CORPUS / "openai-chat/openai-python__text-plain.sse").read_bytes().replace(b',"finish_reason":null', b"")
    served = _recorded_like(VALID["openai-chat"], text, tmp_path / "served" / "no-finish-key.jsonl")
    results = _probe(serving(served), "openai-chat", tmp_path / "out")
    assert [(r.scenario, r.verdict, {f.rule for f in r.findings}) for r in results] == [
        (name, "fail", {"chat/schema"}) for name in ("text", "tool-call", "usage", "max-tokens")]
    assert [len(r.problems) for r in results] == [0, 0, 0, 1]
    assert results[3].problems[0].startswith("asked for at most 16 tokens (`max_completion_tokens`), the stream "
                                             "ended with `stop`, not `length`")
    assert results[1].notes[0].startswith("the model did not call the tool")

    cut = serving(served, cut_after=5)
    assert [r.problems for r in _probe(cut, "openai-chat", tmp_path / "cut")] == [[]] * 4


@pytest.mark.slow
def test_a_stream_that_runs_past_max_time_fails_and_is_recorded_as_the_probe_hanging_up(tmp_path: Path) -> None:
    """An endpoint that keeps streaming must not hold the probe (or a CI job) forever. The probe hangs up: the
    server is not blamed for the terminal event it never got to send."""
    slow = tmp_path / "slow.sse"
    slow.write_bytes(b"".join(  # 20 ms an event at speed 1: 10 s
        b'data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,'
        b'"delta":{"content":"w%d "},"finish_reason":null}]}\n\n' % n for n in range(500)) + b"data: [DONE]\n\n")
    with ReplayServer(Replay.from_paths([str(slow)], speed=1.0)) as server:
        results = list(Probe(server.url + "/v1", "openai-chat", tmp_path / "out", api_key=SECRET, max_time=0.3).run())
    assert {(r.verdict, r.failure) for r in results} == {
        ("fail", "the probe stopped reading after 0.3 s: the stream had not ended (--max-time)")}
    source = open_source(str(results[0].recording))
    list(source.chunks())
    assert source.end.reason == "client-disconnected"
    assert [f.rule for f in results[0].findings] == ["sse/not-ended-by-server"]


def test_a_stream_that_sends_an_endless_line_is_stopped_before_it_fills_the_memory(tmp_path: Path) -> None:
    """The parser holds a line until its end: a hostile endpoint's line that never ends would grow it until
    --max-time. The probe hangs up once `max_held` bytes came with no event's end."""
    endless = tmp_path / "endless.sse"
    endless.write_bytes(b'data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[]}\n\n'
                        + b"data: " + b"x" * (8 << 20))
    with ReplayServer(Replay.from_paths([str(endless)])) as server:
        probe = Probe(server.url + "/v1", "openai-chat", tmp_path / "out", api_key=SECRET, max_held=1 << 20)
        results = list(probe.run())
    assert {r.verdict for r in results} == {"fail"}
    assert all(r.failure.startswith("the probe stopped reading: ") and r.failure.endswith(" bytes came with no "
                                                                                           "event's end")
               for r in results)
    source = open_source(str(results[0].recording))
    received = sum(len(chunk.data) for run in source.chunks() for chunk in run.chunks())
    assert (1 << 20) < received < (8 << 20)
    assert source.end.reason == "client-disconnected"


def test_the_help_states_the_limits_the_probe_applies() -> None:
    """The CLI imports the probe only when it runs (to start fast), so its help repeats these two figures."""
    from inspector.probe import MAX_HELD, MAX_TIME
    shown = " ".join(CliRunner().invoke(cli, ["probe", "--help"], terminal_width=200).output.split())
    assert f"sends {MAX_HELD >> 20} MiB with no event's end" in shown
    assert f"[default: {MAX_TIME}; x>0]" in shown


@pytest.mark.slow
def test_a_stream_the_server_ends_before_its_terminal_event_is_recorded_as_cut(serving, tmp_path: Path) -> None:
    """The probe writes the end the recorder would: a body that ends cleanly but early is `upstream-closed`."""
    text = (CORPUS / "openai-chat/openai-python__text-plain.sse").read_bytes()
    early = _recorded_like(VALID["openai-chat"], text.split(b"data: [DONE]")[0], tmp_path / "served" / "early.jsonl")
    results = _probe(serving(early), "openai-chat", tmp_path / "out")
    source = open_source(str(results[0].recording))
    list(source.chunks())
    assert (source.end.reason, source.end.error) == ("upstream-closed",
                                                     "the body ended before the protocol's terminal event")
    assert [finding.rule for finding in results[0].findings] == ["chat/done-missing"]


@pytest.mark.slow
def test_a_wrong_protocol_is_said_once(serving, tmp_path: Path) -> None:
    """An endpoint that answers `/v1/responses` with a Chat Completions stream."""
    chat = b"".join(chunk.data for chunk in open_source(str(VALID["openai-chat"])).chunks())
    results = _probe(serving(_recorded_like(VALID["openai-responses"], chat, tmp_path / "at" / "chat.jsonl")),
                     "openai-responses", tmp_path / "out")
    assert [(r.verdict, r.looks_like, r.findings, r.errors) for r in results] == [("fail", "openai-chat", [], 1)] * 4
    console = make_console(io.StringIO(), width=200, color_system=None)
    console.print(ProbeReport("http://x/v1/responses", "openai-responses", results))
    text = " ".join(line.strip() for line in console.file.getvalue().splitlines())
    said = ("error: the stream looks like `openai-chat`, not `openai-responses` (text, tool-call, usage, max-tokens): "
            "its findings against the `openai-responses` rules are left out; probe it with `--protocol openai-chat`")
    assert text.count("looks like") == 1 and said in text
    assert "responses/" not in text


def _closed_port_url() -> str:
    """The URL of a replay server that has stopped again: its port refuses connections."""
    with ReplayServer(Replay.from_paths([str(VALID["openai-chat"])])) as server:
        return server.url


@pytest.mark.slow
def test_an_unreachable_endpoint_is_unusable_input_not_a_finding(tmp_path: Path) -> None:
    url = _closed_port_url()
    with pytest.raises(ProbeError) as raised:
        list(Probe(url + "/v1", "openai-chat", tmp_path / "out", timeout=httpx.Timeout(5)).run())
    assert str(raised.value) == f"cannot reach {url}/v1/chat/completions: connection refused"
    assert list((tmp_path / "out").iterdir()) == []


@pytest.mark.parametrize(("status", "phrase"), [(401, "Unauthorized"), (403, "Forbidden")])
def test_a_refused_api_key_stops_the_probe_before_anything_is_recorded(tmp_path: Path, status: int,
                                                                       phrase: str) -> None:
    refuse = httpx.MockTransport(lambda request: httpx.Response(status, json={"error": {"message": "bad key"}}))
    with pytest.raises(KeyRefused) as raised:
        list(Probe("http://endpoint/v1", "openai-chat", tmp_path, api_key=SECRET, transport=refuse).run())
    assert (str(raised.value), raised.value.status, list(tmp_path.iterdir())) == (
        f"http://endpoint/v1/chat/completions answered {status} {phrase}", status, [])


@pytest.mark.slow
@pytest.mark.parametrize("protocol", list(VALID))
def test_the_api_key_is_sent_but_never_written(serving, tmp_path: Path, protocol: str) -> None:
    results = _probe(serving(VALID[protocol]), protocol, tmp_path)
    header = json.loads(results[0].recording.read_text().splitlines()[0])
    auth_name = "Authorization" if protocol.startswith("openai") else "x-api-key"
    assert header["request"]["headers"][auth_name] == ("Bearer …CRET" if protocol.startswith("openai") else "…CRET")
    assert all(SECRET not in path.read_text() for path in tmp_path.iterdir())


@pytest.mark.parametrize(
    ("protocol", "extras"),
    [
        ("openai-chat", {"tool-call": {"tools"}, "usage": {"stream_options"}, "max-tokens": {"max_completion_tokens"}}),
        ("openai-responses", {"tool-call": {"tools"}, "max-tokens": {"max_output_tokens"}}),
        ("anthropic-messages", {"tool-call": {"tools"}}),
    ],
)
def test_each_scenario_asks_for_what_it_names(protocol: str, extras: dict[str, set[str]]) -> None:
    bodies = {scenario.name: scenario.body("m") for scenario in DIALECTS[protocol].scenarios}
    text = set(bodies["text"])
    assert {name: set(body) - text for name, body in bodies.items()} == {
        "text": set(), "tool-call": set(), "usage": set(), "max-tokens": set(), **extras,
    }
    assert all(body["stream"] is True and body["model"] == "m" for body in bodies.values())


def _assembly(*calls: ToolCall, usage: dict | None = None) -> Assembly:
    assembly = Assembly("openai-chat", usage=usage)
    assembly.output(0).tool_calls.extend(calls)
    return assembly


@pytest.mark.parametrize(
    ("scenario", "assembly", "notes"),
    [
        ("tool-call", _assembly(ToolCall("c1", TOOL_NAME, '{"city": "Paris"}')), []),
        ("tool-call", _assembly(ToolCall("c1", "lookup", "{}")), [f"tool call names `lookup`, not `{TOOL_NAME}`"]),
        ("tool-call", _assembly(ToolCall("c1", TOOL_NAME, '{"city": ')),
         [f"the arguments of tool call `{TOOL_NAME}` are not JSON: '{{\"city\": '"]),
        ("tool-call", _assembly(ToolCall("c1", TOOL_NAME, "[" * 100_000 + "]" * 100_000)),  # a hostile endpoint's
         [f"the arguments of tool call `{TOOL_NAME}` nest too deeply to be read as JSON"]),
        ("usage", _assembly(usage={"total_tokens": 3}), []),
        ("usage", _assembly(), ["no token usage was reported although it was requested"]),
        ("text", _assembly(), []),
    ],
)
def test_scenario_expectations(scenario: str, assembly: Assembly, notes: list[str]) -> None:
    check = next(s.check for s in DIALECTS["openai-chat"].scenarios if s.name == scenario)
    assert check(assembly) == notes


def test_a_recording_name_is_whole_at_80_columns(tmp_path: Path) -> None:
    """In a pipe the column ended `20261206-034550-probe-…`: which file a finding belongs to was lost."""
    name = "20261206-034550-probe-openai-chat-text-0123abcd.jsonl"
    results = [ScenarioResult(scenario, tmp_path / name, 200, 5, notes=["a long note"] * 2)
               for scenario in ("text", "tool-call", "max-tokens")]
    out = io.StringIO()
    make_console(out, width=80, color_system=None).print(ProbeReport("http://x/v1", "openai-chat", results))
    cells = [line.split("│")[6].strip() for line in out.getvalue().splitlines() if line.count("│") == 7]
    assert "".join(cells).count(name) == 3


def test_report_lists_verdicts_then_findings_capped_per_scenario(tmp_path: Path) -> None:
    from inspector.findings import Finding, Severity

    findings = [Finding("chat/example", Severity.ERROR, i, f"problem {i}") for i in range(3)]
    results = [
        ScenarioResult("text", tmp_path / "a.jsonl", 200, 5),
        ScenarioResult("tool-call", tmp_path / "b.jsonl", 200, 5, notes=["the model did not call the tool"]),
        ScenarioResult("usage", tmp_path / "c.jsonl", 200, 5, findings=findings, notes=["no token usage"]),
        ScenarioResult("max-tokens", None, None, 0, failure="ConnectError: refused"),
    ]
    report = ProbeReport("http://x/v1/chat/completions", "openai-chat", results, tmp_path, max_details=2)
    out = io.StringIO()
    make_console(out, width=200, color_system=None).print(report)
    assert report.failed is True
    assert out.getvalue().splitlines()[4:] == [
        "│ text       │ pass    │    200 │      5 │ -                   │ a.jsonl   │",
        "│ tool-call  │ warn    │    200 │      5 │ 1 warning           │ b.jsonl   │",
        "│ usage      │ fail    │    200 │      5 │ 3 errors, 1 warning │ c.jsonl   │",
        "│ max-tokens │ fail    │      - │      0 │ 1 error             │ -         │",
        "└────────────┴─────────┴────────┴────────┴─────────────────────┴───────────┘",
        "tool-call: warning: the model did not call the tool",
        "usage: warning: no token usage",  # the probe's own line first: `validate` would not show it
        "usage: error #0 chat/example: problem 0",
        f"usage: ... and 2 more findings: sse-inspector validate {tmp_path / 'c.jsonl'}",
        "max-tokens: error: ConnectError: refused",
        f"recordings in {tmp_path}",
        "FAIL: 2/4 scenarios without errors",
    ]


@pytest.mark.slow
@pytest.mark.parametrize(
    ("served", "faults", "code"),
    [
        pytest.param(None, {}, 0, id="valid"),
        pytest.param(VALID["openai-chat"], {"cut_after": 5}, 1, id="cut-mid-stream"),
        pytest.param(VALID["openai-responses"], {}, 1, id="another-protocol"),
    ],
)
def test_probe_command_exit_status(serving, tmp_path: Path, monkeypatch, served: Path | None, faults: dict,
                                   code: int) -> None:
    monkeypatch.setenv("PROBE_TEST_KEY", SECRET)
    url = serving(*([served] if served else _four_scenarios("openai-chat", tmp_path / "served")), **faults)
    result = CliRunner().invoke(cli, ["probe", "--base-url", f"{url}/v1", "--protocol", "openai-chat",
                                      "--api-key-env", "PROBE_TEST_KEY", "--out", str(tmp_path)])
    assert result.exit_code == code, result.output
    assert SECRET not in result.output
    assert f"probe openai-chat at {url}/v1/chat/completions" in result.output


def _refusing(tmp_path: Path, status: int) -> Path:
    """A recording of an endpoint that answers `status` with an OpenAI-style JSON error."""
    header = Header(request={"method": "POST", "url": "http://endpoint/v1/chat/completions", "headers": {}},
                    response={"status": status, "headers": {"content-type": "application/json"}})
    writer = RecordingWriter(tmp_path / f"refused-{status}.jsonl", header)
    writer.chunk(0.0, b'{"error": {"message": "Incorrect API key provided"}}')
    writer.end(0.0, "complete")
    return writer.path


@pytest.mark.slow
@pytest.mark.parametrize(
    ("status", "key", "message"),
    [
        pytest.param(None, SECRET, "cannot reach {url}/v1/chat/completions: connection refused", id="unreachable"),
        pytest.param(401, SECRET, "{url}/v1/chat/completions answered 401 Unauthorized: check the API key in "
                     "$OPENAI_API_KEY", id="key-refused"),
        pytest.param(403, None, "{url}/v1/chat/completions answered 403 Forbidden: $OPENAI_API_KEY is not set",
                     id="no-key"),
    ],
)
def test_probe_command_that_cannot_probe_says_why_in_one_line(serving, tmp_path: Path, monkeypatch,
                                                              status: int | None, key: str | None,
                                                              message: str) -> None:
    if key is None:
        monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    else:
        monkeypatch.setenv("OPENAI_API_KEY", key)
    url = _closed_port_url() if status is None else serving(_refusing(tmp_path, status))
    result = CliRunner().invoke(cli, ["probe", "--base-url", f"{url}/v1", "--protocol", "openai-chat",
                                      "--out", str(tmp_path / "out")])
    assert (result.exit_code, result.output) == (2, f"sse-inspector: error: {message.format(url=url)}\n")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--base-url", "localhost:1", "--protocol", "openai-chat"], "--base-url: expected an http:// or https:// URL"),
        (["--base-url", "http://127.0.0.1:9", "--protocol", "openai-chat", "--api-key-env", "PROBE_UNSET_VAR"],
         "--api-key-env: $PROBE_UNSET_VAR is not set"),
        (["--base-url", "http://127.0.0.1:9", "--protocol", "openai-chat", "--max-time", "0"],
         "Invalid value for '--max-time'"),
    ],
)
def test_probe_command_usage_errors(monkeypatch, args: list[str], message: str) -> None:
    monkeypatch.delenv("PROBE_UNSET_VAR", raising=False)
    result = CliRunner().invoke(cli, ["probe", *args])
    assert (result.exit_code, message in result.output) == (2, True), result.output


def test_a_compressed_stream_is_recorded_decoded_with_its_encoding_noted(tmp_path: Path) -> None:
    import gzip

    body = (CORPUS / "openai-chat/openai-python__text-plain.sse").read_bytes()

    def endpoint(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=gzip.compress(body), headers={
            "content-type": "text/event-stream", "content-encoding": "gzip", "x-request-id": "req_1"})

    probe = Probe("http://endpoint/v1", "openai-chat", tmp_path, transport=httpx.MockTransport(endpoint))
    result = next(probe.run())
    header = open_source(str(result.recording)).header
    assert (result.verdict, header.response, header.extra) == (
        "pass", {"status": 200, "headers": {"content-type": "text/event-stream", "x-request-id": "req_1"}},
        {"decoded_from": "gzip"})
    assert _body(result.recording) == body


def test_probe_command_cannot_write_its_recordings(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    result = CliRunner().invoke(cli, ["probe", "--base-url", "http://127.0.0.1:9/v1", "--protocol", "openai-chat",
                                      "--out", str(tmp_path / "file" / "sub")])
    assert (result.exit_code, result.output.splitlines()[-1]) == (
        2, f"sse-inspector: error: --out {tmp_path / 'file' / 'sub'}: Not a directory")


@pytest.mark.parametrize(("protocol", "sdk"), [("openai-chat", "OpenAI/Python"), ("openai-responses", "OpenAI/Python"),
                                               ("anthropic-messages", "Anthropic/Python"),
                                               ("gemini", "google-genai-sdk")])
def test_the_probe_names_the_sdk_it_stands_for_then_itself(tmp_path: Path, protocol: str, sdk: str) -> None:
    """An endpoint may route or refuse by User-Agent (MockAI answers only requests that name an SDK): the probe
    asks as the Python SDK whose clients it speaks for, and says who it is."""
    agents = []

    def endpoint(request: httpx.Request) -> httpx.Response:
        agents.append(request.headers["user-agent"])
        return httpx.Response(200, headers={"content-type": "text/event-stream"}, content=b"")
    list(Probe("http://endpoint/v1", protocol, tmp_path, transport=httpx.MockTransport(endpoint)).run())
    assert set(agents) == {f"{sdk} sse-inspector/{__version__}"}


def test_an_answer_in_one_json_body_is_recorded_as_complete_not_cut(tmp_path: Path) -> None:
    """MockAI 0.3.1 answers a streaming request with its events in a JSON array: `http/content-type` says so, and
    the recording's end line does not blame the body for a terminal event it was never going to carry."""
    body = ["data: {}\n\n", "data: [DONE]\n\n"]
    probe = Probe("http://endpoint/v1", "openai-chat", tmp_path,
                  transport=httpx.MockTransport(lambda request: httpx.Response(200, json=body)))
    [result, *_] = list(probe.run())
    assert [f.rule for f in result.findings] == ["http/content-type"]
    source = open_source(str(result.recording))
    list(source.chunks())
    assert (source.end.reason, source.end.error) == ("complete", None)


@pytest.mark.parametrize(("protocol", "usage", "reason", "problem", "note"), [
    ("openai-chat", {"completion_tokens": 12}, "stop", False, True),
    ("openai-chat", None, "stop", False, True),  # no usage: whether it reached the limit is not known
    ("openai-chat", {"completion_tokens": 300}, "stop", True, False),
    ("anthropic-messages", {"output_tokens": 9}, "end_turn", False, True),
    ("gemini", {"candidatesTokenCount": 5, "thoughtsTokenCount": 40}, "STOP", True, False),  # thoughts count too
    ("gemini", {"candidatesTokenCount": 5}, "STOP", False, True)])
def test_an_answer_shorter_than_the_limit_never_met_it(protocol: str, usage: dict | None, reason: str,
                                                      problem: bool, note: bool) -> None:
    """An echo mock (aimock) answers the long prompt in a dozen tokens: it did not ignore the limit, it never
    reached it. By the stream's usage, that is a note, not a problem; with no usage to tell, a note too."""
    [scenario] = [s for s in DIALECTS[protocol].scenarios if s.name == "max-tokens"]
    assembly = Assembly(protocol)
    assembly.output(0).finish_reason = reason
    assembly.usage = usage
    assert bool(scenario.require(assembly)) is problem
    assert bool(scenario.check(assembly)) is note


def test_a_stream_with_no_finish_reason_is_left_to_the_protocol_rule() -> None:
    """aimock sends its finish to a choice that never was: choice 0 has none, which `chat/finish-reason-missing`
    says; the limit check would say the same break again (as `None`, once)."""
    [scenario] = [s for s in DIALECTS["openai-chat"].scenarios if s.name == "max-tokens"]
    assert (scenario.require(Assembly("openai-chat")), scenario.check(Assembly("openai-chat"))) == ([], [])


@pytest.mark.parametrize(("usage_status", "asked"), [(200, True), (400, False)])
def test_the_chat_limit_scenario_asks_for_usage_once_the_endpoint_accepted_it(tmp_path: Path, usage_status: int,
                                                                              asked: bool) -> None:
    """An echo mock answers the long prompt in a few tokens and reports usage only when asked: the limit scenario
    asks as the `usage` scenario did, so the answer is told from an ignored limit (a note, not a failure). An
    endpoint that refused the field is not asked again: the limit scenario is judged without it."""
    asked_for = {}

    def endpoint(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        scenario = ("max-tokens" if "max_completion_tokens" in body else "usage" if "stream_options" in body
                    else "text")
        asked_for[scenario] = "stream_options" in body
        if scenario == "usage" and usage_status != 200:
            return httpx.Response(usage_status, json={"error": {"message": "unknown field stream_options"}})
        usage = ('data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[],'
                 '"usage":{"prompt_tokens":9,"completion_tokens":10,"total_tokens":19}}\n\n'
                 if "stream_options" in body else "")
        return httpx.Response(200, headers={"content-type": "text/event-stream"}, content=(
            'data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,'
            '"delta":{"role":"assistant","content":"Count from 1 to 100"},"finish_reason":null}]}\n\n'
            'data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,'
            f'"delta":{{}},"finish_reason":"stop"}}]}}\n\n{usage}data: [DONE]\n\n').encode())

    results = {result.scenario: result for result in Probe(
        "http://endpoint/v1", "openai-chat", tmp_path, transport=httpx.MockTransport(endpoint)).run()}
    limit = results["max-tokens"]
    assert (asked_for["max-tokens"], limit.verdict, limit.problems) == (asked, "warn", [])
    assert limit.notes == [
        "the answer took 10 tokens by the stream's usage, under the limit of 16: whether the endpoint stops at the "
        "limit is not known"] if asked else [
        "the stream reported no token usage, so whether its answer reached the limit of 16 tokens is not known, nor "
        "whether the endpoint stops at the limit"]


def test_what_the_wire_says_cannot_write_lines_of_its_own_into_the_report(serving, tmp_path: Path) -> None:
    """Found probing `transformers serve`, whose in-band error message holds newlines: they reached the terminal
    raw, so a server could print `ok: 4/4 scenarios without errors` under a failed probe."""
    forged = "bad\nok: 4/4 scenarios without errors\x1b[2J\x07"
    stream = tmp_path / "error.sse"
    stream.write_text("data: " + json.dumps({"error": {"message": forged, "type": "server_error"}}) + "\n\n")
    results = _probe(serving(stream), "openai-chat", tmp_path / "out")
    out = io.StringIO()
    make_console(out, width=200, color_system=None).print(ProbeReport("http://x/v1", "openai-chat", results))
    lines = out.getvalue().splitlines()
    assert "ok: 4/4 scenarios without errors" not in lines and lines[-1].startswith("FAIL")
    assert "\x1b" not in out.getvalue() and "\x07" not in out.getvalue()
    assert any("bad␊ok: 4/4 scenarios without errors" in line for line in lines)


def test_each_scenario_gets_a_connection_of_its_own(tmp_path: Path) -> None:
    """Found probing llama.cpp's `llama-server`: it closes a kept-alive connection after a streamed answer, and a
    scenario sent on it got `RemoteProtocolError` (the SDKs retry; the probe called it the endpoint's failure). This
    server answers one request per connection and drops the next one sent on it, without a word."""
    import contextlib
    import socket
    import threading

    body = (CORPUS / "openai-chat" / "openai-python__text-plain.sse").read_bytes()
    answer = (b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncontent-length: " + str(len(body)).encode()
              + b"\r\n\r\n" + body)
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    stop = threading.Event()

    def one_answer_per_connection() -> None:
        while not stop.is_set():
            try:
                connection, _ = listener.accept()
            except TimeoutError:
                continue
            with connection:
                request = b""
                while b"\r\n\r\n" not in request:
                    request += connection.recv(65536)
                head, rest = request.split(b"\r\n\r\n", 1)
                length = int(next(line.split(b":")[1] for line in head.split(b"\r\n")
                                  if line.lower().startswith(b"content-length")))
                while len(rest) < length:
                    rest += connection.recv(65536)
                connection.sendall(answer)
                connection.settimeout(2)
                with contextlib.suppress(TimeoutError):
                    connection.recv(65536)  # a second request on this connection: dropped unanswered

    thread = threading.Thread(target=one_answer_per_connection, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{listener.getsockname()[1]}"
        results = _probe(url, "openai-chat", tmp_path / "out")
    finally:
        stop.set()
        thread.join()
        listener.close()
    assert [(result.scenario, result.failure) for result in results] == [
        (result.scenario, None) for result in results]
    assert len(results) == 4


@pytest.mark.parametrize(("usage", "problems", "notes"), [
    ({"prompt_tokens": 9, "completion_tokens": 16, "total_tokens": 25}, [], []),  # stopped at the limit
    ({"prompt_tokens": 9, "completion_tokens": 373, "total_tokens": 382}, [
        "asked for at most 16 tokens (`max_completion_tokens`), the answer took 373 by the stream's usage before "
        "`length`: the endpoint ignores the limit (another one ended it)"], []),
    (None, [], ["the stream ended with `length` but reported no token usage: whether the answer stopped at the "
                "limit of 16 tokens or at another one is not known"]),
], ids=["at-the-limit", "past-it", "no-usage"])
def test_a_length_finish_is_held_to_the_usage(usage: dict | None, problems: list, notes: list) -> None:
    """Found probing llama-cpp-python's server: `max_completion_tokens` ignored, the answer ran to the end of its
    512-token context and ended `length`, which passed as stopping at the limit."""
    [scenario] = [s for s in DIALECTS["openai-chat"].scenarios if s.name == "max-tokens"]
    assembly = Assembly("openai-chat", usage=usage)
    assembly.output(0).finish_reason = "length"
    assert (scenario.require(assembly), scenario.check(assembly)) == (problems, notes)


def test_an_error_status_is_not_also_said_to_leave_the_checks_undone(serving, tmp_path: Path) -> None:
    """A new user probing for Gemini a `serve` of Chat recordings got a 404 for each scenario, and a note that the
    stream "did not end the protocol's way" for three of them: no stream came."""
    results = _probe(serving(VALID["openai-chat"]), "anthropic-messages", tmp_path / "out")
    assert {result.status for result in results} == {404}
    assert [result.notes for result in results] == [[]] * len(results)


def test_a_check_a_broken_stream_leaves_undone_is_said(serving, tmp_path: Path) -> None:
    """Found probing `transformers serve`: a scenario whose stream broke before its end said nothing of the check
    it could not make (the token limit, the tool call, the usage), as if it had passed it."""
    results = _probe(serving(VALID["openai-chat"], cut_after=5), "openai-chat", tmp_path / "out")
    notes = {result.scenario: result.notes for result in results}
    assert notes["text"] == []  # it asks nothing of its own
    for scenario in ("tool-call", "usage", "max-tokens"):
        assert notes[scenario] == [f"what the `{scenario}` scenario asks was not judged: the stream did not end the "
                                   "protocol's way, so how it would have ended is not known"]
