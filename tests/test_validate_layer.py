"""The common validation layer (HTTP, SSE, JSON rules and detection) and the `validate` command's formats."""

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from xml.etree import ElementTree

import pytest

from inspector.inputs import open_source
from inspector.protocols import detect
from inspector.recording import Header, RecordingWriter
from inspector.validate import StreamCheck, check_bytes

ROOT = Path(__file__).resolve().parents[1]

CORPUS = Path(__file__).parent / "fixtures" / "corpus"
UNTERMINATED = CORPUS / "anthropic-messages" / "anthropic-sdk-python__basic-text.sse"


def rules(check: StreamCheck) -> list[tuple[str, int | None]]:
    return [(finding.rule, finding.index) for finding in check.findings]


def recording(tmp_path: Path, status: int, content_type: str, body: bytes, name: str = "r.jsonl") -> Path:
    path = tmp_path / name
    writer = RecordingWriter(path, Header(
        request={"method": "POST", "url": "https://api.openai.com/v1/chat/completions", "headers": {}},
        response={"status": status, "headers": {"Content-Type": content_type}},
    ))
    writer.chunk(0.2, body)
    writer.end(0.3, "complete")
    return path


TEXT_PLAIN = (CORPUS / "openai-chat" / "openai-python__text-plain.sse").read_bytes()
DELTA = b'"content":"I\'m"'  # event 1 of TEXT_PLAIN is the first content delta


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (TEXT_PLAIN.replace(DELTA, b'"content":"I\'m', 1), [("sse/invalid-json", 1)]),
        (TEXT_PLAIN.replace(DELTA, b'"content":"H\xe9llo"', 1), [("sse/invalid-utf8", 1)]),
        (b": only a comment\n\n", [("sse/no-events", None)]),
        (TEXT_PLAIN.rstrip(b"\n") + b"\n", [("sse/unterminated-event", 33)]),
        (TEXT_PLAIN, []),
    ],
    ids=["invalid-json", "invalid-utf8", "no-events", "unterminated", "clean"],
)
def test_sse_layer_rules_on_a_broken_corpus_stream(body: bytes, expected: list) -> None:
    sse_rules = [(rule, index) for rule, index in rules(check_bytes(body)) if rule.startswith("sse/")]
    assert sse_rules == expected


def test_an_event_s_findings_come_in_the_order_the_wire_gave_them_however_it_was_cut() -> None:
    """A byte that is not UTF-8 is met before the event it is in is dispatched and its JSON read: that finding
    comes first whether the event came in one chunk or a byte at a time."""
    body = TEXT_PLAIN.replace(DELTA, b'"content":"H\xe9llo\\q"', 1)
    whole, by_byte = StreamCheck(), StreamCheck()
    whole.feed(body)
    for at in range(len(body)):
        by_byte.feed(body[at : at + 1])
    assert rules(whole) == rules(by_byte) == [("sse/invalid-utf8", 1), ("sse/invalid-json", 1)]


def test_unterminated_message_names_the_lost_event() -> None:
    check = check_bytes(UNTERMINATED.read_bytes(), "generic")
    assert [f.message for f in check.findings] == [
        "the body ended inside event 8 (`message_stop`) with no blank line after it: a conformant client never "
        "dispatches it, so it is lost"
    ]


def test_error_status_quotes_the_json_error_message() -> None:
    check = StreamCheck(status=429, content_type="application/json", request_path="/v1/chat/completions")
    check.feed(b'{"error": {"message": "Rate limit reached for gpt-4o", "type": "requests"}}')
    check.close()
    assert [(f.rule, f.index, f.message) for f in check.findings] == [
        ("http/error-status", None, "HTTP 429: Rate limit reached for gpt-4o")
    ]


def test_error_status_quotes_the_message_of_an_error_sent_as_an_event() -> None:
    """LiteLLM's proxy answers a failed stream with HTTP 500 and its error as an event, then `[DONE]`."""
    check = StreamCheck(status=500, content_type="text/event-stream", request_path="/v1/responses")
    check.feed(b'data: {"error": {"message": "Error processing stream start", "type": "internal_server_error", '
               b'"param": null, "code": "500"}}\n\ndata: [DONE]\n\n')
    check.close()
    assert [(f.rule, f.message) for f in check.findings] == [
        ("http/error-status", "HTTP 500: Error processing stream start")]


def test_content_type_that_is_not_event_stream() -> None:
    """openai-mock-api 0.4.0 labels its streams `text/plain`: the events are read as any SSE client reads them,
    and the finding says who refuses them and who does not (both SDKs read them: tried)."""
    check = StreamCheck("generic", status=200, content_type="text/plain; charset=utf-8")
    check.feed(b"data: {}\n\n")
    check.close()
    assert [(f.rule, f.message) for f in check.findings] == [
        ("http/content-type", "expected `text/event-stream`, got `text/plain; charset=utf-8`: EventSource and the "
                              "clients that check the type refuse the stream; the openai and anthropic Python SDKs "
                              "read its events anyway")]


PATHS = {"openai-chat": "/v1/chat/completions", "openai-responses": "/v1/responses",
         "anthropic-messages": "/v1/messages", "gemini": "/v1beta/models/m:streamGenerateContent"}


@pytest.mark.parametrize("protocol", sorted(PATHS))
@pytest.mark.parametrize("body", [
    b"", b'{"id": "msg_1", "type": "message", "content": [{"type": "text", "text": "Hi"}]}',
    b'{"id": "chatcmpl-1",\n "choices": [{"message": {"content": "Hi"}}]}\n'])
def test_an_answer_that_is_not_a_stream_is_said_once(protocol: str, body: bytes) -> None:
    """An endpoint that ignores `stream: true` and answers with one JSON body (a proxy seen doing so): the content
    type says it, and an SSE or protocol rule on the events that never came would say it again."""
    check = StreamCheck(status=200, content_type="application/json", request_path=PATHS[protocol])
    check.feed(body)
    check.close("upstream-closed")
    assert rules(check) == [("http/content-type", None)]


def test_a_json_error_answer_that_is_not_a_stream_says_its_message() -> None:
    check = StreamCheck(status=200, content_type="application/json", request_path=PATHS["openai-chat"])
    check.feed(b'{"error": {"message": "model overloaded", "code": 529}}')
    check.close()
    assert [(f.rule, f.message) for f in check.findings] == [
        ("http/content-type", "expected `text/event-stream`, got `application/json`: an SSE client cannot read "
                              "this body as a stream"),
        ("sse/json-error-body", "the body is a JSON error, not an event stream: 529: model overloaded")]


@pytest.mark.parametrize("protocol", sorted(PATHS))
@pytest.mark.parametrize("body", [b"", b": keep-alive\n\n"])
def test_an_event_stream_of_no_event_is_said_once(protocol: str, body: bytes) -> None:
    """Every protocol leaves it to `sse/no-events`: Chat's `[DONE]` and finish rules said it again."""
    check = StreamCheck(status=200, content_type="text/event-stream", request_path=PATHS[protocol])
    check.feed(body)
    check.close("upstream-closed")
    assert [rule for rule, _ in rules(check) if rule != "gemini/non-data-field"] == ["sse/no-events"]


@pytest.mark.parametrize(
    ("path", "expected"),
    [("/v1/responses", "openai-responses"), ("/openai/v1/chat/completions?api-version=1", "openai-chat"),
     ("/v1/messages/", "anthropic-messages"), ("/v1/embeddings", None), (None, None)],
)
def test_detect_from_path(path: str | None, expected: str | None) -> None:
    assert detect.from_path(path) == expected


def test_a_chat_stream_of_only_an_in_band_error_is_detected_as_chat() -> None:
    body = b'data: {"error":{"message":"Rate limit reached","type":"rate_limit_error"}}\n\n'
    check = check_bytes(body)
    assert (check.protocol, [rule for rule, _ in rules(check)][0]) == ("openai-chat", "chat/error-event")


def test_undetectable_stream_is_generic() -> None:
    assert check_bytes(b"event: tick\ndata: {\"n\": 1}\n\n" * 3).protocol == "generic"


class TestValidateCommand:
    def test_text_report_and_exit_1(self, run_cli) -> None:
        result = run_cli("validate", "--protocol", "generic", str(UNTERMINATED))
        assert result.code == 1
        assert result.out.splitlines() == [
            f"{UNTERMINATED}  generic  FAIL  1 error",
            "  event 8  sse/unterminated-event  error: the body ended inside event 8 (`message_stop`) with no blank "
            "line after it: a conformant client never dispatches it, so it is lost",
        ]

    def test_json_shape(self, run_cli, tmp_path: Path) -> None:
        good = tmp_path / "good.sse"
        good.write_bytes(b"data: {}\n\n")
        result = run_cli("validate", "--protocol", "generic", "--format", "json", str(good), str(UNTERMINATED))
        assert result.code == 1
        files = json.loads(result.out)["files"]
        assert files[0] == {"path": str(good), "protocol": "generic", "verdict": "pass", "errors": 0, "warnings": 0,
                            "findings": []}
        assert files[1]["verdict"] == "fail" and files[1]["errors"] == 1
        assert files[1]["findings"] == [{"rule": "sse/unterminated-event", "severity": "error", "index": 8,
                                         "message": files[1]["findings"][0]["message"]}]

    def test_junit_one_case_per_file(self, run_cli, tmp_path: Path) -> None:
        good = tmp_path / "good.sse"
        good.write_bytes(b"data: {}\n\n")
        result = run_cli("validate", "--protocol", "generic", "--format", "junit", str(good), str(UNTERMINATED))
        suite = ElementTree.fromstring(result.out.split("\n", 1)[1])
        cases = {case.get("name"): case.find("failure") for case in suite.iter("testcase")}
        assert list(cases) == [str(good), str(UNTERMINATED)]
        assert cases[str(good)] is None
        assert cases[str(UNTERMINATED)].text.startswith("event 8 sse/unterminated-event error: ")
        assert (suite.get("tests"), suite.get("failures")) == ("2", "1")

    def test_github_annotations(self, run_cli) -> None:
        result = run_cli("validate", "--protocol", "generic", "--format", "github", str(UNTERMINATED))
        expected = f"::error file={UNTERMINATED},title=sse/unterminated-event::event 8: the body ended inside event 8"
        assert result.out.startswith(expected)

    def test_ignore_drops_a_rule(self, run_cli) -> None:
        result = run_cli("validate", "--protocol", "generic", "--ignore", "sse/unterminated-event", str(UNTERMINATED))
        assert (result.code, result.out) == (0, f"{UNTERMINATED}  generic  ok  8 events\n")

    def test_every_documented_rule_can_be_ignored_in_a_fresh_process(self) -> None:
        """A new user's `validate --ignore sse/unterminated-event` said "unknown rule": the stream layer registers the
        `http/` and `sse/` rules, and a fresh process had not imported it when the names were checked."""
        documented = re.findall(r"^### `([a-z-]+/[a-z0-9-]+)`", (ROOT / "docs" / "rules.md").read_text(), re.M)
        assert "sse/unterminated-event" in documented and "http/error-status" in documented
        flags = [part for rule_id in documented for part in ("--ignore", rule_id)]
        done = subprocess.run([sys.executable, "-m", "inspector", "validate", *flags, str(UNTERMINATED)],
                              capture_output=True, text=True, cwd=ROOT, timeout=120)
        assert (done.returncode, done.stderr) == (0, "")

    def test_a_stream_of_no_known_protocol_is_said_to_be_checked_for_its_framing_only(self, run_cli,
                                                                                       tmp_path: Path) -> None:
        """A new user's broken Gemini body saved with `curl -N` was `generic  ok`, read as a good stream."""
        unknown = tmp_path / "body.sse"
        unknown.write_bytes(b'data: {"x": 1}\n\n')
        result = run_cli("validate", str(unknown))
        assert (result.code, result.out) == (0, f"{unknown}  generic  ok  1 event\n")
        assert result.err == (f"sse-inspector: note: {unknown}: no protocol recognised from the path or the events: "
                              "only the SSE framing was checked (--protocol NAME checks one)\n")
        assert run_cli("validate", "--protocol", "generic", str(unknown)).err == ""  # asked for: no note

    def test_unknown_ignored_rule_is_a_usage_error(self, run_cli) -> None:
        result = run_cli("validate", "--ignore", "sse/nope", str(UNTERMINATED))
        assert (result.code, result.err) == (2, "sse-inspector: error: --ignore: unknown rule 'sse/nope' "
                                                "(see docs/rules.md)\n")

    def test_directory_has_a_summary_line(self, run_cli, tmp_path: Path) -> None:
        recording(tmp_path, 500, "application/json", b'{"error": {"message": "boom"}}', "a.jsonl")
        (tmp_path / "b.sse").write_bytes(b"data: {}\n\n")
        result = run_cli("validate", "--protocol", "generic", str(tmp_path))
        assert result.code == 1
        assert result.out.splitlines()[-1] == "2 files: 1 passed, 1 failed (1 error, 0 warnings)"
        assert "  end  http/error-status  error: HTTP 500: boom" in result.out

    @pytest.mark.parametrize("output_format", ["text", "junit"])
    def test_a_broken_file_in_a_directory_is_a_finding_and_the_others_are_still_checked(
        self, run_cli, tmp_path: Path, output_format: str
    ) -> None:
        (tmp_path / "a.sse").write_bytes(b"data: {}\n\n")
        (tmp_path / "b.jsonl").write_text('{"kind":"header","format":"sse-recording","version":7}\n')
        shutil.copy(UNTERMINATED, tmp_path / "c.sse")
        result = run_cli("validate", "--protocol", "generic", "--format", output_format, str(tmp_path))
        problem = f"{tmp_path / 'b.jsonl'}:1: recording format version 7 is not supported"
        assert (result.code, result.err) == (2, f"sse-inspector: error: {problem}\n")
        if output_format == "junit":
            suite = ElementTree.fromstring(result.out.split("\n", 1)[1])
            assert (suite.get("tests"), suite.get("failures"), suite.get("errors")) == ("3", "1", "1")
            return
        lines = result.out.splitlines()
        assert lines[:3] == [
            f"{tmp_path / 'a.sse'}  generic  ok  1 event",
            f"{tmp_path / 'b.jsonl'}  unreadable  FAIL  1 error",
            f"  end  input/unreadable  error: {problem}",
        ]
        assert lines[-1] == "3 files: 1 passed, 2 failed (2 errors, 0 warnings), 1 unreadable"
        assert lines[3].startswith(f"{tmp_path / 'c.sse'}  generic  FAIL  1 error")

    def test_a_single_broken_file_is_one_line_and_exit_2(self, run_cli, tmp_path: Path) -> None:
        (tmp_path / "b.jsonl").write_text('{"kind":"header","format":"sse-recording","version":7}\n')
        result = run_cli("validate", str(tmp_path / "b.jsonl"))
        assert (result.code, result.out) == (2, "")
        assert result.err == f"sse-inspector: error: {tmp_path / 'b.jsonl'}:1: recording format version 7 is not " \
                             "supported\n"

    def test_directory_skips_text_files_that_are_not_sse(self, run_cli, tmp_path: Path) -> None:
        (tmp_path / "LICENSE.txt").write_text("MIT License\n")
        (tmp_path / "capture.txt").write_bytes(b"data: {}\n\n")
        result = run_cli("validate", "--protocol", "generic", str(tmp_path))
        assert (result.code, result.out) == (0, f"{tmp_path / 'capture.txt'}  generic  ok  1 event\n")

    @pytest.mark.parametrize(("strict", "code", "verdict"), [((), 0, "ok"), (("--strict",), 1, "FAIL")])
    def test_strict_makes_warnings_fail(self, run_cli, strict: tuple, code: int, verdict: str) -> None:
        azure = CORPUS / "openai-chat" / "vercel-ai__azure-prompt-filter-first-chunk.sse"
        result = run_cli("validate", *strict, str(azure))
        assert result.code == code
        assert result.out.splitlines()[0] == f"{azure}  openai-chat  {verdict}  1 warning"


def test_absurdly_deep_json_is_a_finding_not_a_crash() -> None:
    too_deep_to_decode = b"data: " + b"[" * 5000 + b"]" * 5000 + b"\n\n"
    assert rules(check_bytes(too_deep_to_decode, "generic")) == [("sse/json-too-deep", 0)]
    # decodes, but too deep for the checker's snapshot comparison of the finished item
    minimal = (CORPUS / "openai-responses" / "vercel-ai__text-minimal.sse").read_bytes()
    nested = "[" * 800 + "]" * 800
    body = minimal.replace(b'"type":"message",', f'"type":"message","x":{nested},'.encode())
    assert rules(check_bytes(body)) == [("sse/json-too-deep", 8)]  # at the terminal event


def test_wire_text_with_a_lone_surrogate_is_printed_escaped(tmp_path: Path) -> None:
    import subprocess
    import sys

    path = tmp_path / "surrogate.sse"
    path.write_bytes(b'data: {"error":{"message":"bad \\ud800 x","type":"server_error"}}\n\n')
    done = subprocess.run([sys.executable, "-m", "inspector", "validate", "--protocol", "openai-chat", str(path)],
                          capture_output=True, text=True, errors="replace")
    assert (done.returncode, done.stderr) == (1, "")
    assert "in-band error `server_error`: `bad <U+D800> x`" in done.stdout


@pytest.mark.parametrize(
    ("reason", "expected"),
    [
        ("client-disconnected", [("sse/not-ended-by-server", None)]),
        ("error", [("sse/not-ended-by-server", None)]),
        ("upstream-closed", [("chat/done-missing", 10)]),
    ],
)
def test_end_of_stream_rules_apply_only_when_the_server_ended_the_stream(
    tmp_path: Path, reason: str, expected: list
) -> None:
    from inspector.inputs import open_source

    path = tmp_path / "cut.jsonl"
    writer = RecordingWriter(path, Header(
        request={"method": "POST", "url": "https://api.openai.com/v1/chat/completions"},
        response={"status": 200, "headers": {"content-type": "text/event-stream"}},
    ))
    for frame in TEXT_PLAIN.split(b"\n\n")[:11]:
        writer.chunk(0.1, frame + b"\n\n")
    writer.end(0.5, reason)
    assert rules(open_source(str(path)).validate()) == expected


@pytest.mark.parametrize("body", [b"", b"data: {\"a\":", TEXT_PLAIN.rstrip(b"\n") + b"\n"],
                         ids=["no-event", "cut-in-the-first-event", "cut-in-the-last-event"])
@pytest.mark.parametrize("reason", ["client-disconnected", "error"])
def test_a_recording_cut_by_the_client_or_the_recorder_says_only_that(body: bytes, reason: str) -> None:
    """The body went on past the recording's last line (the client left, the recorder failed or stopped): no
    finding says it ended without events or inside one; one warning says the server's end was not seen."""
    check = StreamCheck(status=200, content_type="text/event-stream", request_path="/v1/chat/completions")
    check.feed(body, 0.0)
    assert [(finding.rule, finding.severity.value) for finding in check.close(reason)
            if finding.rule.startswith("sse/")] == [("sse/not-ended-by-server", "warning")]


def usage_recording(tmp_path: Path, body: object, stream: bytes, name: str, broke: bool = False) -> Path:
    """`broke`: the server broke the connection after `stream` (else the body ended there)."""
    path = tmp_path / name
    writer = RecordingWriter(path, Header(
        request={"method": "POST", "url": "https://api.openai.com/v1/chat/completions", "headers": {}, "body": body},
        response={"status": 200, "headers": {"Content-Type": "text/event-stream"}},
    ))
    writer.chunk(0.2, stream)
    writer.end(0.3, *(("upstream-closed", BROKE) if broke else ("complete",)))
    return path


ASKS = {"model": "m", "stream": True, "stream_options": {"include_usage": True}, "messages": []}
WITHOUT_USAGE = TEXT_PLAIN.replace(TEXT_PLAIN.split(b"\n\n")[32] + b"\n\n", b"")  # the usage chunk (event 32) out


@pytest.mark.parametrize(("body", "stream", "expected"), [
    (json.dumps(ASKS), WITHOUT_USAGE, [("chat/usage-not-sent", 32)]),  # the proxy keeps the body's text
    (ASKS, WITHOUT_USAGE, [("chat/usage-not-sent", 32)]),  # `probe` keeps the object
    (ASKS, TEXT_PLAIN, []),  # it came
    ({**ASKS, "stream_options": {"include_usage": False}}, WITHOUT_USAGE, []),
    (None, WITHOUT_USAGE, []),  # no body kept: nothing is known of what was asked
    (ASKS, WITHOUT_USAGE.replace(b"data: [DONE]\n\n", b""), [("chat/done-missing", 31)]),  # broken: the break's
    (ASKS, WITHOUT_USAGE.replace(b"data: [DONE]\n\n", b""),  # ended without `[DONE]`: over all the same
     [("chat/done-missing", 31), ("chat/usage-not-sent", 31)]),
    (ASKS, WITHOUT_USAGE.replace(b"data: [DONE]\n\n", b'data: {"error": {"message": "x"}}'),  # LitServe's: the
     [("chat/done-missing", 32)]),  # body ended inside an event, which may have held it: the lost end is said
], ids=["text", "object", "sent", "not-asked", "no-body", "broken", "ended", "ended-inside-an-event"])
def test_usage_asked_for_and_never_sent_is_said_from_the_recorded_request(request, tmp_path: Path, body, stream,
                                                                          expected) -> None:
    """Found on llama-cpp-python's server, which ignores `stream_options.include_usage`: only `probe` said so; and
    on Guardrails' server 0.4.4, which ends its bodies cleanly without `[DONE]`: nothing said it."""
    broke = request.node.callspec.id == "broken"
    source = open_source(str(usage_recording(tmp_path, body, stream, "u.jsonl", broke)))
    check = source.validate()
    assert [pair for pair in rules(check) if pair[0] in ("chat/usage-not-sent", "chat/done-missing")] == expected


CUT_STREAMS = {  # protocol: (URL, corpus stream, its end-missing rule)
    "chat": ("https://api.openai.com/v1/chat/completions", "openai-chat/openai-python__text-plain.sse",
             "chat/done-missing"),
    "responses": ("https://api.openai.com/v1/responses", "openai-responses/vercel-ai__text-minimal.sse",
                  "responses/terminal-missing"),
    "anthropic": ("https://api.anthropic.com/v1/messages", "anthropic-messages/vercel-ai__text.sse",
                  "anthropic/terminal-missing"),
    "gemini": ("https://generativelanguage.googleapis.com/v1beta/models/m:streamGenerateContent?alt=sse",
               "gemini-generate-content/pydantic-ai__text-multichunk.sse", "gemini/finish-missing"),
}
BROKE = "peer closed connection without sending complete message body"


@pytest.mark.parametrize("protocol", list(CUT_STREAMS))
@pytest.mark.parametrize("error", [BROKE, "the body ended before the protocol's terminal event"],
                         ids=["connection-broke", "body-ended-early"])
def test_a_stream_whose_connection_broke_is_not_said_to_leave_the_client_unaware(tmp_path: Path, protocol: str,
                                                                               error: str) -> None:
    """Found recording gpt-oss's reference server, whose stream broke mid-body: `responses/terminal-missing` said
    the Python SDK raises "Didn't receive a `response.completed` event", where httpx raises `RemoteProtocolError` first;
    the other protocols said the client "cannot tell" the answer from a lost connection, which it was told of."""
    url, stream, rule_id = CUT_STREAMS[protocol]
    writer = RecordingWriter(tmp_path / "cut.jsonl", Header(
        request={"method": "POST", "url": url, "headers": {}},
        response={"status": 200, "headers": {"content-type": "text/event-stream"}}))
    frames = re.split(rb"\r?\n\r?\n", (CORPUS / stream).read_bytes())
    writer.chunk(0.1, b"".join(frame + b"\n\n" for frame in frames[:2]))
    writer.end(0.2, "upstream-closed", error)
    writer.close()
    [message] = [f.message for f in open_source(str(writer.path)).validate().findings if f.rule == rule_id]
    told = f"the server broke the connection ({BROKE}), so the client's HTTP library raises (httpx: `RemoteProto"
    assert (told in message) == (error == BROKE)


@pytest.mark.parametrize("error", [BROKE, None], ids=["connection-broke", "closed"])
def test_a_stream_broken_before_its_first_event_says_the_client_was_told(tmp_path: Path, error: str | None) -> None:
    """MLflow's gateway 3.17.2 sends `200 text/event-stream`, then cuts the body when the upstream answers 429:
    `sse/no-events` said only "the body ended", as of a cleanly closed empty stream."""
    writer = RecordingWriter(tmp_path / "empty.jsonl", Header(
        request={"method": "POST", "url": CUT_STREAMS["chat"][0], "headers": {}},
        response={"status": 200, "headers": {"content-type": "text/event-stream"}}))
    writer.end(0.2, "upstream-closed" if error else "complete", error)
    writer.close()
    [message] = [f.message for f in open_source(str(writer.path)).validate().findings if f.rule == "sse/no-events"]
    assert message.startswith("the body ended before any event was dispatched")
    assert (f"the server broke the connection ({BROKE}), so the client's HTTP library raises" in message) == bool(
        error)


def test_a_long_json_error_message_is_kept_to_a_length_and_its_cut_is_shown() -> None:
    """NeMo Guardrails relays Groq's tool validation errors of ~230 characters: the message was cut at 200 with
    nothing to say so."""
    for length, shown in ((230, "x" * 230), (1000, "x" * 400 + "…")):
        check = StreamCheck(status=200, content_type="application/json", request_path=PATHS["openai-chat"])
        check.feed(json.dumps({"error": {"message": "x" * length}}).encode())
        check.close()
        [message] = [f.message for f in check.findings if f.rule == "sse/json-error-body"]
        assert message == f"the body is a JSON error, not an event stream: {shown}"


@pytest.mark.parametrize(("line", "said"), [
    ('{"created": 1, "data": [{"b64_json": "iVBO"}]}data: {"choices": []}', True),  # uni-api 1.7.252's image chunk
    ('{"error": "bare"}', True),
    ("OK", False),  # a field the spec ignores, carrying nothing
])
def test_a_line_outside_field_syntax_that_carried_data_is_said(line: str, said: bool) -> None:
    """uni-api writes a Gemini image chunk as bare JSON with no line end, and the next event, the one with the
    finish, glued to it: the SDKs' parsers drop the line whole, and nothing said where the image and the finish
    went."""
    frames = re.split(rb"\n\n", (CORPUS / "openai-chat/openai-python__text-plain.sse").read_bytes().strip())
    body = b"\n\n".join([*frames[:3], line.encode() + b"\n", *frames[3:]]) + b"\n\n"
    found = [(f.rule, f.index, f.message) for f in check_bytes(body, protocol="openai-chat").findings
             if f.rule == "sse/stray-data"]
    assert bool(found) == said
    if said:
        assert found[0][1] == 3 and "drop such a line whole" in found[0][2]
        assert ("the `data:` field glued to it included" in found[0][2]) == ("data:" in line)
    from openai._streaming import SSEDecoder

    decoded = [sse.data for sse in SSEDecoder().iter_bytes(iter([body]))]
    assert len(decoded) == len(frames)  # the Python SDK's parser dropped the line, and what was glued to it


@pytest.mark.parametrize(("protocol", "says"), [
    ("openai-chat", "the openai Python SDK raises `UnicodeDecodeError` at this event, which ends the app's stream; "
                    "the TypeScript SDKs decode it as U+FFFD, so the text is damaged"),
    (None, "the openai Python SDK raises `UnicodeDecodeError` at this event"),  # told from the events it is in
    ("gemini", "python-genai and @google/genai decode it as U+FFFD, so the text is damaged"),
])
def test_bytes_that_are_not_utf8_are_said_as_the_protocols_sdks_take_them(protocol: str | None, says: str) -> None:
    """The message said "decoded as U+FFFD: text was lost", where the openai and anthropic Python SDKs decode each
    line strictly and raise (found running the official SDKs on hand-made streams)."""
    import anthropic._streaming
    import openai._streaming

    body = TEXT_PLAIN.replace(DELTA, b'"content":"H\xe9llo"', 1)
    for sdk in (openai._streaming, anthropic._streaming):
        with pytest.raises(UnicodeDecodeError):
            list(sdk.SSEDecoder().iter_bytes(iter([body])))
    check = StreamCheck(protocol)
    check.feed(body)
    [finding] = [f for f in check.close() if f.rule == "sse/invalid-utf8"]
    assert finding.index == 1 and says in finding.message, finding.message


def test_json_too_deep_says_what_the_protocols_python_sdk_does_with_the_frame() -> None:
    """The message said the openai and anthropic SDKs raise `RecursionError`, also on an Anthropic `ping`, which the
    anthropic Python SDK skips unread (it returned the whole message), and named no SDK on a Gemini stream."""
    import anthropic
    import httpx

    deep = ("[" * 5000 + "]" * 5000).encode()
    text = (CORPUS / "anthropic-messages" / "vercel-ai__text.sse").read_bytes()
    ping = b"event: ping\ndata: " + deep + b"\n\n"
    body = text.replace(b"event: content_block_start", ping + b"event: content_block_start", 1)
    transport = httpx.MockTransport(lambda request: httpx.Response(
        200, content=body, headers={"content-type": "text/event-stream"}))
    client = anthropic.Anthropic(api_key="k", http_client=httpx.Client(transport=transport))
    with client.messages.stream(model="m", max_tokens=8, messages=[{"role": "user", "content": "hi"}]) as stream:
        assert stream.get_final_message().stop_reason == "end_turn"
    [message] = [f.message for f in check_bytes(body, "anthropic-messages").findings if f.rule == "sse/json-too-deep"]
    assert message.endswith("the anthropic Python SDK skips `ping` frames unread, so only a client that decodes every "
                            "frame raises")
    gemini = b"data: " + deep + b"\n\n"
    [message] = [f.message for f in check_bytes(gemini, "gemini").findings if f.rule == "sse/json-too-deep"]
    assert message.endswith("python-genai raises on it")


@pytest.mark.parametrize(("query", "body", "expected"), [
    ("", "sse", ["http/stream-not-asked"]),
    ("?alt=sse", "sse", []),
    ("", "array", []),  # the form it asked for: not judged as SSE
], ids=["sse-not-asked", "sse-asked", "array-asked"])
def test_an_event_stream_answering_a_request_for_one_json_array_is_a_finding(
        query: str, body: str, expected: list[str], tmp_path: Path) -> None:
    """Found with llm-gemini 0.35, which asks `:streamGenerateContent` without `alt=sse` and parses a JSON array:
    answered with an event stream, it failed on every answer, and `validate` said ok."""
    events = [json.loads(event.data) for event in _gemini_events()]
    data = ("".join(f"data: {json.dumps(event)}\r\n\r\n" for event in events) if body == "sse"
            else "[" + ",\r\n".join(json.dumps(event) for event in events) + "]")
    path = tmp_path / "r.jsonl"
    writer = RecordingWriter(path, Header(
        request={"method": "POST", "url": f"http://h/v1beta/models/m:streamGenerateContent{query}", "headers": {},
                 "body": None},
        response={"status": 200, "headers": {"content-type": "text/event-stream" if body == "sse" else
                                                            "application/json"}}, source="import"))
    writer.chunk(0.1, data.encode())
    writer.end(0.2, "complete")
    assert [f.rule for f in open_source(str(path)).validate().findings] == expected


def _gemini_events() -> list:
    from inspector.sse import SSEParser

    parser = SSEParser()
    events = parser.feed((CORPUS / "gemini-generate-content" / "pydantic-ai__text-multichunk.sse").read_bytes())
    return events + parser.close()


def test_bytes_that_are_not_utf8_in_a_body_of_no_event_are_still_said() -> None:
    """The finding waits for the protocol (its words depend on it); a JSON answer to `stream: true` never names
    one, and its bad bytes were still to be said."""
    check = StreamCheck(status=200, content_type="application/json")
    check.feed(b'{"choices": [{"message": {"content": "caf\xe9"}}]}')
    assert [f.rule for f in check.close()] == ["sse/invalid-utf8", "http/content-type"]


@pytest.mark.parametrize(("path", "corpus", "body", "expected"), [
    ("/v1/chat/completions", "openai-chat/openai-python__text-plain.sse", '{"model": "m"}', ["http/stream-not-asked"]),
    ("/v1/chat/completions", "openai-chat/openai-python__text-plain.sse", '{"model": "m", "stream": true}', []),
    ("/v1/messages", "anthropic-messages/vercel-ai__text.sse", '{"model": "m", "max_tokens": 9}',
     ["http/stream-not-asked"]),
    ("/v1/messages", "anthropic-messages/vercel-ai__text.sse", None, []),  # the body was not kept: unknown
], ids=["chat-not-asked", "chat-asked", "anthropic-not-asked", "body-unknown"])
def test_an_event_stream_answering_a_request_that_asked_for_no_stream_is_a_finding(
        path: str, corpus: str, body: str | None, expected: list[str], tmp_path: Path) -> None:
    """Found with browser-use, whose OpenAI and Anthropic chat models do not stream: answered with an event stream,
    the SDK handed it the body as a string, and `validate` said ok (only Gemini's request was judged)."""
    import httpx
    import openai

    recording = tmp_path / "r.jsonl"
    writer = RecordingWriter(recording, Header(
        request={"method": "POST", "url": f"http://h{path}", "headers": {}, "body": body},
        response={"status": 200, "headers": {"content-type": "text/event-stream"}}, source="proxy"))
    writer.chunk(0.1, (CORPUS / corpus).read_bytes())
    writer.end(0.2, "complete")
    findings = open_source(str(recording)).validate().findings
    assert [f.rule for f in findings if f.rule.startswith("http/")] == expected
    if expected and path == "/v1/chat/completions":
        assert findings[0].message.endswith("the openai and anthropic Python SDKs hand the app the body as a string, "
                                            "which has no `choices` or `content` (`AttributeError`)")
        transport = httpx.MockTransport(lambda request: httpx.Response(
            200, content=(CORPUS / corpus).read_bytes(), headers={"content-type": "text/event-stream"}))
        client = openai.OpenAI(api_key="k", base_url="http://h/v1", http_client=httpx.Client(transport=transport))
        answer = client.chat.completions.create(model="m", messages=[{"role": "user", "content": "hi"}])
        assert isinstance(answer, str) and not hasattr(answer, "choices")


@pytest.mark.parametrize(("body", "declines"), [
    ('{"model": "m", "messages": [{"role": "user", "content": "say \\"stream\\": true"}]}', True),
    ('{"model": "m", "stream" : true}', False),
    ('{"model": "m", "stream": false}', True),
    ({"model": "m", "stream": True}, False),
    ({"model": "m"}, True),
    ("(not kept: nested too deeply to be checked for secrets)", False),
    (None, False),
], ids=["words-in-a-message", "asked", "false", "dict-asked", "dict-not-asked", "a-note", "not-kept"])
def test_whether_a_request_body_declines_a_stream_is_read_without_parsing_it(body: object, declines: bool) -> None:
    """A long conversation's body is megabytes and every `validate` of its recording asks: the text is searched for
    the key (a JSON string holds no raw quote, so words in a message cannot pass for it)."""
    assert detect.declines_stream("/v1/chat/completions", body) is declines
    assert detect.declines_stream("/v1beta/models/m:streamGenerateContent", body) is False  # its path asks
