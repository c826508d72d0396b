"""`sse-inspector view`: exit codes, --json, --events, --raw, --html, and what it refuses."""

import json
from pathlib import Path

import pytest

from inspector.recording import Header, RecordingWriter

CORPUS = Path(__file__).parent / "fixtures" / "corpus"
TEXT_PLAIN = CORPUS / "openai-chat" / "openai-python__text-plain.sse"
NO_FINISH = CORPUS / "openai-chat" / "pydantic-ai__compat-snowflake-no-finish-reason.sse"

CHUNKS = [
    (0.3, b'data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,'
          b'"delta":{"role":"assistant","content":""},"finish_reason":null}]}\n\n'),
    (0.5, b'data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,'
          b'"delta":{"content":"Hel"},"finish_reason":null}]}\n\ndata: {"id":"c","object":"chat.completion.chunk",'
          b'"created":1,"model":"m","choices":[{"index":0,"delta":{"content":"lo"},"finish_reason":null}]}\n\n'),
    (2.0, b'data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,'
          b'"delta":{},"finish_reason":"stop"}]}\n\n'),
    (2.1, b"data: [DONE]\n\n"),
]


@pytest.fixture
def recording(tmp_path: Path) -> Path:
    """A small chat recording with times: first token at 0.5 s, a 1.5 s stall before event 3."""
    path = tmp_path / "chat.jsonl"
    header = Header(request={"method": "POST", "url": "https://api.openai.com/v1/chat/completions", "headers": {}},
                    response={"status": 200, "headers": {"content-type": "text/event-stream"}})
    writer = RecordingWriter(path, header)
    for t, data in CHUNKS:
        writer.chunk(t, data)
    writer.end(2.2, "complete")
    return path


@pytest.mark.parametrize(("path", "code"), [pytest.param(TEXT_PLAIN, 0, id="pass"),
                                            pytest.param(NO_FINISH, 1, id="errors")])
def test_exit_code_follows_the_error_findings(run_cli, path: Path, code: int) -> None:
    result = run_cli("view", str(path))
    assert (result.code, result.err) == (code, "")
    assert ("│ verdict       pass" in result.out, "│ verdict       FAIL" in result.out) == (code == 0, code == 1)


def test_json(run_cli, recording: Path) -> None:
    result = run_cli("view", "--json", str(recording))
    document = json.loads(result.out)
    assert (result.code, document["text"], document["status"], document["protocol"]) == (
        0, "Hello", "stop", "openai-chat")
    assert {key: document["timing"][key] for key in ("ttfb", "ttft", "duration", "events", "gap_max")} == {
        "ttfb": 0.3, "ttft": 0.5, "duration": 2.2, "events": 5, "gap_max": 1.5}
    assert "events" not in document


def test_json_with_events(run_cli, recording: Path) -> None:
    document = json.loads(run_cli("view", "--json", "--events", str(recording)).out)
    assert [(e["index"], e["t"], e["gap"], e["summary"]) for e in document["events"]] == [
        (0, 0.3, None, 'choices[0].delta.role="assistant"'),
        (1, 0.5, 0.2, 'choices[0].delta.content="Hel"'),
        (2, 0.5, 0.0, 'choices[0].delta.content="lo"'),
        (3, 2.0, 1.5, 'choices[0].finish_reason="stop"'),
        (4, 2.1, 0.1, "[DONE]"),
    ]


def test_events_table_has_a_row_per_event(run_cli, recording: Path) -> None:
    out = run_cli("view", "--events", str(recording)).out
    assert out[out.index("events\n#"):].splitlines() == [
        "events",
        "#  t (s)  gap (s)  event    data",
        '0  0.300        -  message  choices[0].delta.role="assistant"',
        '1  0.500    0.200  message  choices[0].delta.content="Hel"',
        '2  0.500    0.000  message  choices[0].delta.content="lo"',
        '3  2.000    1.500  message  choices[0].finish_reason="stop"',
        "4  2.100    0.100  message  [DONE]",
    ]


def test_events_table_cuts_long_lines_to_the_width(run_cli) -> None:
    lines = run_cli("view", "--events", str(CORPUS / "openai-responses" / "vercel-ai__text-minimal.sse")).out
    rows = lines.splitlines()[lines.splitlines().index("events") + 2:]
    assert (len(rows), max(len(row) for row in rows)) == (9, 100)
    assert rows[0].startswith('0      -        -  response.created             response.status="in_progress"  ')
    assert rows[0][-1] == "…"


def test_raw_shows_the_frames_as_they_arrived(run_cli, recording: Path) -> None:
    out = run_cli("view", "--raw", str(recording)).out
    raw = out[out.index("raw frames\n") + len("raw frames\n"):]
    assert raw == "".join(f"chunk {n} · {t:.3f} s · {len(data)} bytes\n{data.decode()}"
                          for n, (t, data) in enumerate(CHUNKS))


def test_html_writes_a_page(run_cli, recording: Path, tmp_path: Path) -> None:
    page = tmp_path / "bug.html"
    result = run_cli("view", "--html", str(page), str(recording))
    assert (result.code, result.out, result.err) == (0, "", f"wrote {page}\n")
    html = page.read_text()
    assert (html.startswith("<!DOCTYPE html>"), "stall: 1.500 s" in html) == (True, True)


def test_html_to_stdout(run_cli, recording: Path, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = run_cli("view", "--html", "-", str(recording))
    assert (result.code, result.out.startswith("<!DOCTYPE html>"), (tmp_path / "-").exists()) == (0, True, False)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param(["--html", "/no/such/dir/page.html"], "--html /no/such/dir/page.html: No such file or directory",
                     id="html-unwritable"),
        pytest.param(["--html", "page.html", str(TEXT_PLAIN), str(NO_FINISH)],
                     "--html FILE holds the page of one stream; 2 given", id="html-of-two-streams"),
        pytest.param(["/no/such/file.jsonl"], "/no/such/file.jsonl: no such file or directory", id="missing"),
    ],
)
def test_unusable_input_is_one_line_and_exit_2(run_cli, args: list[str], message: str) -> None:
    if args[0] == "--html" and len(args) == 2:
        args = [*args, str(TEXT_PLAIN)]
    result = run_cli("view", *args)
    assert (result.code, result.out, len(result.err.splitlines())) == (2, "", 1)
    assert result.err.startswith("sse-inspector: error: ") and message in result.err


def test_view_from_stdin(run_cli) -> None:
    result = run_cli("view", "--json", "-", stdin=TEXT_PLAIN.read_bytes())
    assert (result.code, json.loads(result.out)["text"][:30]) == (0, "I'm unable to provide real-tim")


def test_several_streams_in_one_call_each_as_alone(run_cli, recording: Path) -> None:
    """One call, many files (no start-up per file): each stream's view is the one it gets alone, in order."""
    alone = [json.loads(run_cli("view", "--json", str(path)).out) for path in (TEXT_PLAIN, NO_FINISH, recording)]
    result = run_cli("view", "--json", str(TEXT_PLAIN), str(NO_FINISH), str(recording))
    lines = [json.loads(line) for line in result.out.splitlines()]
    assert result.code == 1  # one of them has an error finding
    assert [line["path"] for line in lines] == [str(TEXT_PLAIN), str(NO_FINISH), str(recording)]
    assert lines == alone
    text = run_cli("view", str(TEXT_PLAIN), str(recording))
    assert text.code == 0
    assert [line for line in text.out.splitlines() if line.startswith("==> ")] == [
        f"==> {TEXT_PLAIN} <==", f"==> {recording} <=="]


def test_a_directory_is_viewed_stream_by_stream(run_cli) -> None:
    result = run_cli("view", "--json", str(CORPUS / "openai-chat"))
    assert len(result.out.splitlines()) == len(list((CORPUS / "openai-chat").glob("*.sse")))


def test_a_responses_call_whose_done_arguments_differ_shows_what_clients_run_and_what_streamed(
        run_cli, tmp_path: Path) -> None:
    """Found with Kilo Code (the Vercel AI SDK): the `.done` arguments said `secret.txt`, the deltas `hello.txt`;
    Kilo read `secret.txt` while `view` showed `hello.txt`, and `diff` saw no tool-call change."""
    original = CORPUS / "openai-responses" / "vercel-ai__function-call.sse"
    blocks = original.read_text().split("\n\n")
    whole = json.loads(blocks[9].split("data: ", 1)[1])["arguments"]
    other = json.dumps({**json.loads(whole), "location": "Somewhere else"}, separators=(",", ":"))
    changed = tmp_path / "changed.sse"
    changed.write_text("\n\n".join(block.replace(json.dumps(whole)[1:-1], json.dumps(other)[1:-1]) if index >= 9
                                   else block for index, block in enumerate(blocks)))
    [call] = json.loads(run_cli("view", "--json", str(changed)).out)["tool_calls"]
    assert (call["arguments"], call["streamed_arguments"]) == (other, whole)
    assert "streamed_arguments" not in json.loads(run_cli("view", "--json", str(original)).out)["tool_calls"][0]
    assert "the deltas joined to something else" in run_cli("view", str(changed)).out
    assert "the deltas joined to something else" in run_cli("view", "--html", "-", str(changed)).out
    compared = run_cli("diff", str(original), str(changed))
    assert 'arguments.location  "San Francisco" -> "Somewhere else"' in compared.out
