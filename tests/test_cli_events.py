"""`sse-inspector events`, `--help`, `--version` and the input errors every command shares."""

import json
from pathlib import Path

import pytest

from inspector import __version__
from inspector.recording import Header, RecordingWriter

CORPUS = Path(__file__).parent / "fixtures" / "corpus"

TEXT_PLAIN = CORPUS / "openai-chat" / "openai-python__text-plain.sse"


def test_events_text_one_line_per_event(run_cli) -> None:
    result = run_cli("events", str(TEXT_PLAIN))
    lines = result.out.splitlines()
    assert result.code == 0 and result.err == ""
    assert len(lines) == 34
    assert lines[-1] == "   33          -  message  [DONE]"
    assert lines[0].startswith('    0          -  message  {"id":"chatcmpl-')


def test_events_json_shape(run_cli) -> None:
    result = run_cli("events", "--json", str(TEXT_PLAIN))
    lines = [json.loads(line) for line in result.out.splitlines()]
    assert [list(line) for line in lines] == [["index", "t", "event", "data", "id"]] * 34
    assert lines[-1] == {"index": 33, "t": None, "event": "message", "data": "[DONE]", "id": None}


def test_events_of_a_recording_whose_chunks_split_a_character(run_cli, tmp_path: Path) -> None:
    body = "event: message_start\ndata: {\"t\": \"d\u00e9j\u00e0 \U0001f600\"}\n\n".encode()
    cut = body.index(b"\xf0") + 1
    path = tmp_path / "split.jsonl"
    writer = RecordingWriter(path, Header(request={"method": "POST", "url": "http://x/v1/messages"}))
    writer.chunk(0.25, body[:cut])
    writer.chunk(0.5, body[cut:])
    writer.end(0.6, "complete")
    assert '"b64"' in path.read_text()  # neither half is valid UTF-8 on its own
    result = run_cli("events", "--json", str(path))
    assert [json.loads(line) for line in result.out.splitlines()] == [
        {"index": 0, "t": 0.5, "event": "message_start", "data": '{"t": "d\u00e9j\u00e0 \U0001f600"}', "id": None}
    ]


def test_events_from_stdin(run_cli) -> None:
    result = run_cli("events", "-", stdin=b"event: ping\ndata: {}\n\n")
    assert (result.code, result.out) == (0, "    0          -  ping  {}\n")


def test_events_notes_an_unterminated_final_event(run_cli) -> None:
    path = CORPUS / "anthropic-messages" / "anthropic-sdk-python__basic-text.sse"
    result = run_cli("events", str(path))
    assert result.code == 0
    assert result.out.splitlines()[-1].startswith("    7          -  message_delta  ")
    assert "the stream ended inside an event" in result.err


def test_events_of_a_directory_names_each_file(run_cli) -> None:
    result = run_cli("events", str(CORPUS / "openai-responses"))
    headers = [line for line in result.out.splitlines() if line.startswith("==> ")]
    assert len(headers) == len(list((CORPUS / "openai-responses").glob("*.sse")))


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00", "binary data, neither a recording nor an SSE stream"),
        (b"", "empty: not a byte to judge (an answer with an empty body is judged with its status: save it with "
              "`curl -i -N`)"),
    ],
    ids=["binary", "empty"],
)
def test_unusable_file_is_one_line_and_exit_2(run_cli, tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "bad.sse"
    path.write_bytes(content)
    result = run_cli("events", str(path))
    assert (result.code, result.out, result.err) == (2, "", f"sse-inspector: error: {path}:1: {message}\n")


def test_broken_recording_line_is_one_line_and_exit_2(run_cli, tmp_path: Path) -> None:
    path = tmp_path / "broken.jsonl"
    chunk = '{"kind":"chunk","t":0.1,"text":"data: 1\\n\\n"}'
    path.write_text(f"{json.dumps(Header(request={}).to_json())}\n{chunk}\n{{oops\n")
    result = run_cli("events", str(path))
    assert result.code == 2
    assert result.err.splitlines() == [f"sse-inspector: error: {path}:3: broken recording line (Expecting "
                                       "property name enclosed in double quotes: line 1 column 2 (char 1))"]


def test_missing_file(run_cli) -> None:
    result = run_cli("events", "no/such.sse")
    assert (result.code, result.err) == (2, "sse-inspector: error: no/such.sse: no such file or directory\n")


def test_usage_error_exit_2(run_cli) -> None:
    result = run_cli("events")
    assert result.code == 2 and "Missing argument" in result.err and "Traceback" not in result.err


def test_help_and_version(run_cli) -> None:
    assert run_cli("--version").out == f"sse-inspector, version {__version__}\n"
    help_text = run_cli("--help").out
    assert "events" in help_text and "validate" in help_text


def test_an_empty_directory_is_unusable_input(run_cli, tmp_path: Path) -> None:
    (tmp_path / ".hidden.sse").write_bytes(b"")  # hidden files are not inputs
    result = run_cli("validate", str(tmp_path))
    assert (result.code, result.err) == (2, f"sse-inspector: error: {tmp_path}: no recordings or SSE files found\n")


def test_stdin_can_be_named_only_once(run_cli) -> None:
    result = run_cli("events", "-", "-", stdin=b"data: {}\n\n")
    assert (result.code, result.err) == (2, "sse-inspector: error: -: standard input can be read only once\n")


def test_a_nan_option_value_is_a_usage_error(run_cli) -> None:
    result = run_cli("diff", "--timing-tolerance", "nan", str(TEXT_PLAIN), str(TEXT_PLAIN))
    assert result.code == 2 and "expected PCT or PCT%,FLOOR (such as 50%,100ms), got 'nan'" in result.err


def test_diff_names_a_missing_file_as_typed(run_cli, tmp_path: Path) -> None:
    (tmp_path / "golden").mkdir()
    (tmp_path / "golden" / "a.sse").write_bytes(b"data: {}\n\n")
    result = run_cli("diff", str(tmp_path / "golden"), "nonexist.sse")
    assert (result.code, result.err) == (2, "sse-inspector: error: nonexist.sse: no such file or directory\n")
