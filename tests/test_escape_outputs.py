"""Every output of every command shows hostile wire text (ESC, CSI, OSC 8, NUL, C1, U+202E, lone surrogates)
visibly and stays valid in its format: nothing from the wire reaches a terminal, a log or a report raw."""

from __future__ import annotations

import io
import json
import re
import socket
import subprocess
import sys
from pathlib import Path
from xml.etree import ElementTree

import pytest

from inspector.recorder.verdict import StreamResult
from inspector.recording import Header, RecordingWriter

# Everything a stream could use to drive a terminal or reorder text: a title change, a screen clear, a live OSC 8
# link, NUL, a C1 CSI, a bidi override and a lone surrogate (only JSON's `\ud800` escape can carry one).
# Invisible characters too: a zero-width space, a BOM and a tag character hide text, an RLM reorders it, U+2028
# breaks a line in some terminals.
HOSTILE = ("\x1b]0;pwned\x07\x1b[2J\x1b]8;;http://evil.example/\x1b\\click\x1b]8;;\x1b\\ \x00 \x9b \u202e ltr \ud800"
           " z\u200bw\ufeff\u200f\u2028\U000e0041")
SHOWN = ("␛]0;pwned␇␛[2J␛]8;;http://evil.example/␛\\click␛]8;;␛\\ ␀ <U+009B> <U+202E> ltr <U+D800>"
         " z<U+200B>w<U+FEFF><U+200F><U+2028><U+E0041>")
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff"
                     "\u061c\u200b\u200e\u200f\u2028\u2029\u2060\ufeff\U000e0000-\U000e007f]")


def _chunk(delta: dict, finish: str | None = None) -> bytes:
    chunk = {"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": "m",
             "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
    return b"data: " + json.dumps(chunk).encode() + b"\n\n"  # ASCII JSON: every control arrives as an escape


def hostile_body(content: str = HOSTILE) -> bytes:
    call = {"index": 0, "id": "call\u202e1", "type": "function",
            "function": {"name": "get\u202eweather" + HOSTILE, "arguments": json.dumps({"city": HOSTILE})}}
    return b"".join([
        _chunk({"role": "assistant", "content": content}),
        _chunk({"tool_calls": [call]}),
        b"event: x\x1b[31mred\x00\xc2\x9b\xe2\x80\xae\ndata: {}\n\n",  # raw bytes in an event name
        _chunk({}, "tool_calls"),
        b"data: [DONE]\n\n",
    ])


def _record(path: Path, body: bytes, url: str = "http://127.0.0.1/v1/chat/completions?q=\x1b]0;t\x07") -> Path:
    header = Header(request={"method": "POST", "url": url, "headers": {}},
                    response={"status": 200, "headers": {"content-type": "text/event-stream"}})
    writer = RecordingWriter(path, header)
    writer.chunk(0.1, body)
    writer.end(0.2, "complete")
    return path


@pytest.fixture
def hostile(tmp_path: Path) -> Path:
    return _record(tmp_path / "hostile.jsonl", hostile_body())


def assert_shown_not_obeyed(text: str) -> None:
    assert not _UNSAFE.findall(text)
    text.encode("utf-8")  # strict: no lone surrogate made it out


TEXT_OUTPUTS = [
    pytest.param(["events"], id="events"),
    pytest.param(["validate"], id="validate-text"),
    pytest.param(["validate", "--format", "github"], id="validate-github"),
    pytest.param(["view"], id="view"),
    pytest.param(["view", "--events", "--raw"], id="view-events-raw"),
]


@pytest.mark.parametrize("args", TEXT_OUTPUTS)
def test_text_outputs_show_controls_visibly(run_cli, hostile: Path, args: list[str]) -> None:
    result = run_cli(*args, str(hostile))
    assert result.code in (0, 1)
    assert_shown_not_obeyed(result.out + result.err)
    assert "␛[31mred" in result.out


def test_events_shows_the_event_name_visibly(run_cli, hostile: Path) -> None:
    lines = run_cli("events", str(hostile)).out.splitlines()
    assert lines[2] == "    2     0.100s  x␛[31mred␀<U+009B><U+202E>  {}"


def test_validate_text_quotes_the_event_name_visibly(run_cli, hostile: Path) -> None:
    out = run_cli("validate", str(hostile)).out
    assert "got `event: x␛[31mred␀<U+009B><U+202E>`" in out


def test_github_annotations_stay_one_line_each(run_cli, hostile: Path) -> None:
    lines = run_cli("validate", "--format", "github", str(hostile)).out.splitlines()
    assert lines and all(line.startswith(("::error ", "::warning ")) for line in lines)


@pytest.mark.parametrize("command", ["validate", "diff"])
def test_junit_is_valid_xml_for_any_content(run_cli, hostile: Path, tmp_path: Path, command: str) -> None:
    args = [str(_record(tmp_path / "plain.jsonl", hostile_body("Hello"))), str(hostile)] if command == "diff" \
        else [str(hostile)]
    out = run_cli(command, "--format", "junit", *args).out
    suite = ElementTree.fromstring(out.encode("utf-8"))  # NUL or a lone surrogate would make this raise
    failure = suite.find("testcase/failure")
    assert failure is not None and "␛" in failure.text
    assert_shown_not_obeyed(out)


@pytest.mark.parametrize("args", [["validate", "--format", "json"], ["view", "--json"], ["events", "--json"],
                                  ["ls", "--json"]], ids=lambda args: "-".join(args))
def test_json_outputs_escape_as_json_does_and_keep_the_value(run_cli, hostile: Path, args: list[str]) -> None:
    out = run_cli(*args, str(hostile)).out
    assert_shown_not_obeyed(out)
    documents = [json.loads(line) for line in out.splitlines()] if args[0] in ("events", "ls") else [json.loads(out)]
    if args[0] == "view":
        assert documents[0]["text"] == HOSTILE
        assert documents[0]["tool_calls"][0]["name"] == "get\u202eweather" + HOSTILE
    elif args[0] == "events":
        assert documents[2]["event"] == "x\x1b[31mred\x00\x9b\u202e"
    elif args[0] == "ls":
        assert documents[0]["endpoint"] == "127.0.0.1/v1/chat/completions"
    else:
        messages = [finding["message"] for finding in documents[0]["files"][0]["findings"]]
        assert any("x\x1b[31mred\x00\x9b\u202e" in message for message in messages)


def test_diff_text_shows_an_escape_that_makes_two_texts_differ(run_cli, tmp_path: Path) -> None:
    old = _record(tmp_path / "old.jsonl", hostile_body("Hello"))
    new = _record(tmp_path / "new.jsonl", hostile_body("\x1b[31mHello"))
    result = run_cli("diff", str(old), str(new))
    assert result.code == 1
    assert_shown_not_obeyed(result.out)
    lines = [line.strip() for line in result.out.splitlines()]
    assert "-Hello" in lines and "+␛[31mHello" in lines


def test_diff_text_shows_title_changes_and_links_visibly(run_cli, hostile: Path, tmp_path: Path) -> None:
    old = _record(tmp_path / "old.jsonl", hostile_body("Hello"))
    result = run_cli("diff", str(old), str(hostile))
    assert_shown_not_obeyed(result.out)
    assert f"+{SHOWN}" in [line.strip() for line in result.out.splitlines()]


def test_diff_json_keeps_the_value(run_cli, hostile: Path, tmp_path: Path) -> None:
    old = _record(tmp_path / "old.jsonl", hostile_body("Hello"))
    out = run_cli("diff", "--format", "json", str(old), str(hostile)).out
    assert_shown_not_obeyed(out)
    texts = [d for d in json.loads(out)["files"][0]["differences"] if d["aspect"] == "text"]
    assert f"+{HOSTILE}" in texts[0]["detail"]


def test_html_view_holds_no_bidi_override_or_control(run_cli, hostile: Path) -> None:
    """A U+202E in a tool name would reverse the table cell beside it in the browser."""
    page = run_cli("view", "--html", "-", str(hostile)).out
    assert_shown_not_obeyed(page)
    assert "get&lt;U+202E&gt;weather" in page


def test_ls_shows_a_hostile_file_name_and_endpoint_visibly(run_cli, tmp_path: Path) -> None:
    _record(tmp_path / "a\x1b[2Jb.jsonl", hostile_body(), url="http://h/v1/chat/completions\u202e")
    result = run_cli("ls", str(tmp_path))
    assert_shown_not_obeyed(result.out)
    shown = "".join(result.out.split())  # the column folds long names
    assert "a␛[2Jb.jsonl" in shown and "h/v1/chat/completions<U+202E>" in shown


INVISIBLE = "\u200f\u200b\ufeff\u2028\u200d"
INVISIBLE_SHOWN = "<U+200F><U+200B><U+FEFF><U+2028><U+200D>"


def test_ls_and_runs_table_show_invisible_characters(run_cli, tmp_path: Path, monkeypatch) -> None:
    """An RLM, a zero-width space, a BOM, U+2028 and a stray zero-width joiner reached the terminal raw."""
    from inspector.recorder.run_summary import RunSummary
    from inspector.view.render import make_console

    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.setenv("TERM", "xterm")  # a dumb terminal is 80 columns wide, whatever the width given
    body = hostile_body().replace(b'"model": "m"', f'"model": "m{INVISIBLE[:2]}"'.encode("unicode_escape"))
    path = _record(tmp_path / f"a{INVISIBLE}.jsonl", body)
    listed = run_cli("ls", str(tmp_path)).out
    assert_shown_not_obeyed(listed)
    assert f"a{INVISIBLE_SHOWN}.jsonl" in listed and "m<U+200F><U+200B>" in listed  # the model's column is narrow
    result = StreamResult(path=str(path), started=0.0, method="POST", url_path="/v1/chat/completions",
                          protocol="openai-chat", status=200, events=1, ttft=0.1, reason="complete", error=None,
                          findings=(), model=f"m{INVISIBLE}")
    for terminal in (False, True):
        out = io.StringIO()
        console = make_console(out, width=200)
        console._force_terminal = terminal
        console.print(RunSummary([result], str(tmp_path), "cmd", 0))
        assert_shown_not_obeyed(out.getvalue())
        assert f"a{INVISIBLE_SHOWN}.jsonl" in out.getvalue() and f"m{INVISIBLE_SHOWN}" in out.getvalue()


def test_the_error_line_shows_a_hostile_file_name_on_one_line(run_cli, tmp_path: Path) -> None:
    path = tmp_path / "x\x1b]0;t\x07\ny.jsonl"
    path.write_bytes(b"\x00not a stream\n")
    result = run_cli("validate", str(path))
    assert result.code == 2
    assert len(result.err.splitlines()) == 1
    assert "x␛]0;t␇␊y.jsonl" in result.err
    assert_shown_not_obeyed(result.err)


def test_the_recorders_live_line_shows_the_path_and_message_visibly() -> None:
    result = StreamResult(path="r.jsonl", started=0.0, method="POST", url_path="/v1/\x1b]0;t\x07\x1b[2J",
                          protocol="openai-chat", status=None, events=0, ttft=None, reason="error",
                          error="refused: \x1b[2J\u202e", findings=())
    line = result.line()
    assert_shown_not_obeyed(line)
    assert "POST /v1/␛]0;t␇␛[2J" in line and line.endswith("FAIL refused: ␛[2J<U+202E>")


def test_serve_logs_a_hostile_request_path_visibly(hostile: Path) -> None:
    process = subprocess.Popen([sys.executable, "-m", "inspector", "serve", "--port", "0", str(hostile)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        first = process.stdout.readline().decode()
        port = int(first.split("http://127.0.0.1:", 1)[1].split()[0])
        with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
            connection.sendall(b"POST /v1/\x1b]0;pwned\x07\x1b[2J HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n"
                               b"Connection: close\r\n\r\n")
            while connection.recv(65536):
                pass
        lines = []
        while not any("POST /v1/" in line for line in lines):
            lines.append(process.stdout.readline().decode("utf-8", "surrogateescape"))
    finally:
        process.terminate()
        process.wait(10)
    logged = next(line for line in lines if "POST /v1/" in line)
    assert_shown_not_obeyed(logged.rstrip("\n"))
    assert "POST /v1/␛]0;pwned␇␛[2J -> hostile.jsonl (200)" in logged


def test_view_prints_brackets_and_colons_from_the_wire_as_they_are(run_cli, tmp_path: Path) -> None:
    """rich reads `[...]` in a plain string as markup and drops it, and `:smile:` as an emoji: the text, the tool
    table and a finding that quotes a schema error (`errors: [missing properties: ...]`) must show them as sent."""
    wire = "[bold]x[/bold] [link=http://evil.example]y[/link] :smile:"
    call = {"index": 0, "id": "c[1]", "type": "function", "function": {"name": "[red]get", "arguments": "{}"}}
    body = b"".join([_chunk({"role": "assistant", "content": wire}), _chunk({"tool_calls": [call]}),
                     _chunk({}, "tool_calls"), b"data: [DONE]\n\n"])
    out = run_cli("view", str(_record(tmp_path / "brackets.jsonl", body))).out
    assert wire in out and "[red]get" in out and "c[1]" in out, out
    corpus = Path(__file__).parent / "fixtures" / "corpus" / "openai-chat"
    out = run_cli("view", str(corpus / "pydantic-ai__compat-groq-error-event-midstream.sse")).out
    table = out[out.index("findings"):]
    assert "errors: [missing properties: 'name'," in table, table


def test_view_shows_the_controls_rich_would_drop(run_cli, tmp_path: Path) -> None:
    """CR, BS and BEL vanished from the terminal view (`visible\\rHIDDEN` showed as `visibleHIDDEN`, an OSC 52
    lost its BEL) while `events` showed them: the text, a finish reason in a title, the end's error and the raw
    frames show them now. A finish reason is not read as markup either."""
    text = "visible\rHIDDEN\b\bBS \x1b]52;c;eA==\x07"
    choices = [{"index": index, "delta": {"content": text}, "finish_reason": None} for index in (0, 1)]
    chunk = {"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": "m", "choices": choices}
    done = {**chunk, "choices": [{"index": 0, "delta": {}, "finish_reason": "[b]stop\r[/b]"}]}
    body = b"".join(b"data: " + json.dumps(event).encode() + b"\n\n" for event in (chunk, done))
    path = tmp_path / "cr.jsonl"
    writer = RecordingWriter(path, Header(request={"method": "POST", "url": "http://127.0.0.1/v1/chat/completions",
                                                   "headers": {}}, response={"status": 200, "headers": {}}))
    writer.chunk(0.1, body + b"data: [DONE]\r\n\r\n")
    writer.end(0.2, "error", "reset\rby peer\x07")
    out = run_cli("view", "--raw", str(path)).out
    assert_shown_not_obeyed(out)
    assert out.count("visible␍HIDDEN␈␈BS ␛]52;c;eA==␇") == 2
    assert "choice 0 ([b]stop␍[/b]): text" in out and "(reset␍by peer␇)" in out
    assert "data: [DONE]␍\n␍\n" in out
