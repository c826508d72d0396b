"""Anything that is not a recording is read as SSE and judged; `curl -i -N` output is read as a response."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from inspector.inputs import InputError, open_source, streams_in
from inspector.validate import check_bytes

CORPUS = Path(__file__).parent / "fixtures" / "corpus"
TEXT = (CORPUS / "openai-chat" / "openai-python__text-plain.sse").read_bytes()
ANSWER = check_bytes(TEXT).assembly.text


def rules_of(path: Path) -> list[str]:
    return [finding.rule for finding in open_source(str(path)).validate().findings]


@pytest.mark.parametrize(
    "start",
    [b"foo: bar\n", b"data : x\n\n", b"id: a\x00b\n", b"\xef\xbb\xbfretry: 10\n", b"hello\n"],
    ids=["unknown-field", "space-before-colon", "id-with-nul", "bom", "a-word"],
)
def test_a_stream_that_starts_oddly_is_read_as_sse_and_judged(tmp_path: Path, start: bytes) -> None:
    path = tmp_path / "odd.sse"
    path.write_bytes(start + TEXT)
    source = open_source(str(path))
    check = source.validate()
    assert source.header is None
    assert check.protocol == "openai-chat"
    assert check.assembly.text == ANSWER


def test_a_json_error_body_is_judged_as_a_stream_without_events(tmp_path: Path) -> None:
    path = tmp_path / "error.sse"
    path.write_bytes(b'{"error": {"message": "nope"}}\n')
    assert rules_of(path) == ["sse/json-error-body"]  # the error body said why no event came: it is named


def test_binary_garbage_is_refused_naming_the_line(tmp_path: Path) -> None:
    path = tmp_path / "garbage.sse"
    path.write_bytes(b"data: {}\n\n" + bytes(range(256)) * 4)
    with pytest.raises(InputError) as raised:
        open_source(str(path))
    assert str(raised.value) == f"{path}:3: binary data, neither a recording nor an SSE stream"


def curl(status: bytes, headers: bytes, body: bytes, before: bytes = b"") -> bytes:
    return before + status + b"\r\n" + headers + b"\r\n" + body


@pytest.mark.parametrize(
    ("output", "status", "rules"),
    [
        (curl(b"HTTP/1.1 200 OK", b"Content-Type: text/event-stream; charset=utf-8\r\n", TEXT), 200, []),
        (curl(b"HTTP/2 200 ", b"content-type: application/json\r\n", TEXT), 200, ["http/content-type"]),
        (curl(b"HTTP/2 429 ", b"content-type: application/json\r\n",
              b'{"error": {"message": "Rate limit reached"}}'), 429, ["http/error-status"]),
        (curl(b"HTTP/1.1 200 OK", b"Content-Type: text/event-stream\r\n", TEXT,
              before=b"HTTP/1.1 100 Continue\r\n\r\n"), 200, []),
        (curl(b"HTTP/1.1 200 OK", b"Content-Type: text/event-stream\r\n", TEXT,
              before=b"HTTP/1.1 200 Connection established\r\n\r\n"), 200, []),
    ],
    ids=["event-stream", "json-content-type", "429", "100-continue", "proxy-tunnel"],
)
def test_curl_i_output_is_a_response(tmp_path: Path, output: bytes, status: int, rules: list[str]) -> None:
    path = tmp_path / "capture.txt"
    path.write_bytes(output)
    source = open_source(str(path))
    check = source.validate()
    assert source.header is not None and source.header.status == status
    assert [finding.rule for finding in check.findings] == rules
    if status == 429:
        assert check.findings[0].message == "HTTP 429: Rate limit reached"


def test_curl_i_headers_are_redacted_and_the_capture_is_found_in_a_directory(tmp_path: Path) -> None:
    path = tmp_path / "capture.txt"
    path.write_bytes(curl(b"HTTP/1.1 200 OK", b"Content-Type: text/event-stream\r\n"
                          b"Set-Cookie: session=abcdefghijklmnop\r\n", TEXT))
    (tmp_path / "notes.txt").write_text("not a stream\n")
    header = open_source(str(path)).header
    assert header is not None and "abcdefghijklmnop" not in str(header.response)
    assert streams_in(tmp_path) == [path]


def test_validate_reads_curl_output_from_stdin(run_cli) -> None:
    result = run_cli("validate", "-", stdin=curl(b"HTTP/1.1 503 Service Unavailable", b"Content-Type: text/plain\r\n",
                                                  b"upstream down"))
    assert result.code == 1
    assert "http/error-status" in result.out and "HTTP 503" in result.out


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=400))
def test_any_bytes_are_read_or_refused_in_one_line(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "any.sse"
    path.write_bytes(data)
    try:
        source = open_source(str(path))
    except InputError as error:
        assert "\n" not in str(error)
        return
    source.validate()


def test_a_jsonl_file_that_is_not_a_recording_is_refused(tmp_path: Path) -> None:
    """`.jsonl` is the recording format's name: JSON Lines of another kind are not read as SSE."""
    path = tmp_path / "notes.jsonl"
    path.write_bytes(b'{"note": 1}\n')
    with pytest.raises(InputError) as raised:
        open_source(str(path))
    assert str(raised.value) == f"{path}:1: neither a recording nor an SSE stream"
