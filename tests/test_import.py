"""`sse-inspector import`: a flow file written by a real `mitmdump -w`, and hand-made HAR 1.2 files."""

from __future__ import annotations

import base64
import gzip
import json
import queue
import re
import signal
import subprocess
import threading
import tracemalloc
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import brotli
import openai
import pytest
import zstandard
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from recorder_helpers import CORPUS, MITMDUMP, SECRET, WAIT, read_recording, recorded_body, run_upstream

from inspector.importer import capture
from inspector.pytest_plugin.endpoints import stop_process

CHAT = "openai-chat/openai-python__text-plain.sse"
EVENTS = (CORPUS / CHAT).read_bytes().replace(b'"content":"I\'m"', '"content":"Café € I\'m"'.encode(), 1)
"""A real Chat stream whose text is not ASCII (SSE is UTF-8 whatever the content type says)."""


@contextmanager
def mitmdump_writing(flow_file: Path, upstream_url: str) -> Iterator[str]:
    """A real `mitmdump -w FILE` in reverse mode (no addon of ours); yields its URL. SIGINT stops it, and
    waiting for it makes sure the flow file is complete."""
    command = [str(MITMDUMP), "--mode", f"reverse:{upstream_url}", "--listen-host", "127.0.0.1", "-p", "0",
               "-w", str(flow_file)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in process.stdout], daemon=True).start()
    try:
        while True:
            line = lines.get(timeout=WAIT)
            if found := re.search(r"listening at (127\.0\.0\.1:\d+)", line):
                break
        yield f"http://{found[1]}"
    finally:
        stop_process(process, signal.SIGINT, WAIT)


@pytest.mark.slow
def test_a_flow_file_from_a_real_mitmdump(run_cli, tmp_path: Path) -> None:
    """A gzip-compressed stream: the recording holds the decoded body, as the recorder's would."""
    flow_file = tmp_path / "capture.flow"
    with run_upstream() as upstream, mitmdump_writing(flow_file, upstream.url) as proxy:
        headers = {"X-Corpus": CHAT, "X-Encoding": "gzip"}
        client = openai.OpenAI(base_url=f"{proxy}/v1", api_key=SECRET, max_retries=0, timeout=WAIT,
                               default_headers=headers)
        stream = client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "hi"}],
                                                stream=True)
        text = "".join(chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices)
    assert text  # the Python SDK parsed the stream mitmproxy passed on
    out = tmp_path / "imported"
    result = run_cli("import", str(flow_file), "-o", str(out))
    assert result.code == 0, result.err
    [path] = sorted(out.iterdir())
    header, chunks, end = read_recording(path)
    assert recorded_body(chunks) == (CORPUS / CHAT).read_bytes()  # decoded, byte for byte
    assert [chunk["t"] for chunk in chunks] == [None]  # a flow file keeps no chunk times
    assert (header["source"], header["protocol"], header["response"]["status"]) == ("import", "openai-chat", 200)
    assert header["request"]["url"] == f"{upstream.url}/v1/chat/completions"
    assert header["request"]["headers"]["Authorization"] == f"Bearer …{SECRET[-4:]}"
    assert header["response"]["headers"]["Set-Cookie"] == f"…{SECRET[-4:]}"
    assert "SECRETVALUE" not in path.read_text()
    assert ("content-encoding" in {name.lower() for name in header["response"]["headers"]}) is False
    assert header["decoded_from"] == "gzip"
    assert end["reason"] == "complete" and end["t"] > 0
    assert result.out == f"{path}  POST /v1/chat/completions  200  openai-chat\n"
    assert run_cli("validate", str(path)).code == 0


def _entry(content: dict, *, url: str = "https://api.openai.com/v1/chat/completions?key=sk-query-SECRET-abcd",
           content_type: str = "text/event-stream", extra: dict | None = None) -> dict:
    """One HAR 1.2 entry (every required field of the spec), a POST with an API key in header and query."""
    return {
        "startedDateTime": "2026-11-21T05:00:00.000+01:00", "time": 812.5,
        "request": {
            "method": "POST", "url": url, "httpVersion": "HTTP/1.1", "cookies": [], "queryString": [],
            "headers": [{"name": "Authorization", "value": f"Bearer {SECRET}"},
                        {"name": "Content-Type", "value": "application/json"}],
            "postData": {"mimeType": "application/json", "text": '{"model":"gpt-4o","stream":true}'},
            "headersSize": -1, "bodySize": 32,
        },
        "response": {
            "status": 200, "statusText": "OK", "httpVersion": "HTTP/1.1", "cookies": [], "redirectURL": "",
            "headers": [{"name": "Content-Type", "value": content_type}, {"name": "Content-Encoding", "value": "br"}],
            "content": {"size": len(EVENTS), "mimeType": content_type, **content}, "headersSize": -1, "bodySize": -1,
        },
        "cache": {}, "timings": {"blocked": 3, "dns": -1, "connect": -1, "send": 0.5, "wait": 211.5, "receive": 600},
        **(extra or {}),
    }


def _har(tmp_path: Path, *entries: dict) -> Path:
    path = tmp_path / "capture.har"
    document = {"log": {"version": "1.2", "creator": {"name": "hand", "version": "1"}, "entries": list(entries)}}
    path.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    return path


def test_har_event_streams_become_recordings_and_the_rest_is_left_out(run_cli, tmp_path: Path) -> None:
    har = _har(
        tmp_path,
        _entry({"text": EVENTS.decode()}),
        _entry({"text": '{"ok": true}'}, content_type="application/json"),
        _entry({"text": base64.b64encode(EVENTS).decode(), "encoding": "base64"}),
    )
    out = tmp_path / "out"
    result = run_cli("import", str(har), "-o", str(out))
    assert result.code == 0
    assert result.err == f"{har}: 2 event stream(s) imported, 0 skipped, 1 other response(s) left out\n"
    assert [line.split("  ")[1] for line in result.out.splitlines()] == [  # the query's key as the recording has it
        "POST /v1/chat/completions?key=…abcd"] * 2
    paths = sorted(out.iterdir())
    assert len(paths) == 2 and len({path.name for path in paths}) == 2
    for path in paths:
        header, chunks, end = read_recording(path)
        assert recorded_body(chunks) == EVENTS and "Café €".encode() in EVENTS  # UTF-8, not re-encoded as Latin-1
        assert [chunk["t"] for chunk in chunks] == [None]
        assert end == {"kind": "end", "t": 0.812, "reason": "complete", "error": None}  # send + wait + receive
        assert header["started_at"] == "2026-11-21T04:00:00.000Z"
        assert header["request"]["url"] == "https://api.openai.com/v1/chat/completions?key=…abcd"
        assert header["request"]["headers"] == {"Authorization": f"Bearer …{SECRET[-4:]}",
                                                "Content-Type": "application/json"}
        assert header["request"]["body"] == '{"model":"gpt-4o","stream":true}'
        assert header["response"] == {"status": 200, "headers": {"Content-Type": "text/event-stream"}}
        assert header["decoded_from"] == "br"  # the browser undid it: the header no longer holds
        assert "SECRET" not in path.read_text()
    assert run_cli("validate", str(out)).code == 0


def test_a_reimport_names_the_same_files(run_cli, tmp_path: Path) -> None:
    har = _har(tmp_path, _entry({"text": EVENTS.decode()}))
    run_cli("import", str(har), "-o", str(tmp_path / "a"))
    run_cli("import", str(har), "-o", str(tmp_path / "b"))
    assert [p.name for p in (tmp_path / "a").iterdir()] == [p.name for p in (tmp_path / "b").iterdir()]
    again = run_cli("import", str(har), "-o", str(tmp_path / "a"))
    assert again.code == 2 and "exists already" in again.err


def test_event_source_messages_give_chunk_times(run_cli, tmp_path: Path) -> None:
    started = 1795233600.0  # 2026-11-21T04:00:00Z, the entry's startedDateTime
    messages = [{"time": started + 0.25, "eventName": "message", "eventId": "", "data": '{"a":1}'},
                {"time": started + 0.5, "eventName": "done", "eventId": "7", "data": "x\ny"}]
    har = _har(tmp_path, _entry({}, extra={"_eventSourceMessages": messages}))
    assert run_cli("import", str(har), "-o", str(tmp_path / "out")).code == 0
    [path] = (tmp_path / "out").iterdir()
    header, chunks, _ = read_recording(path)
    assert [(chunk["t"], chunk["text"]) for chunk in chunks] == [
        (0.25, 'data: {"a":1}\n\n'), (0.5, "event: done\nid: 7\ndata: x\ndata: y\n\n"),
    ]
    assert header["rebuilt_from"].startswith("HAR _eventSourceMessages")


def test_an_event_stream_without_its_body_or_a_broken_entry_is_skipped_with_a_note(run_cli, tmp_path: Path) -> None:
    broken = _entry({"text": EVENTS.decode()})
    broken["startedDateTime"] = "yesterday"
    har = _har(tmp_path, _entry({}), broken, _entry({"text": EVENTS.decode()}))
    result = run_cli("import", str(har), "-o", str(tmp_path / "out"))
    assert result.code == 0
    assert result.err.splitlines() == [
        f"sse-inspector: note: {har} entry 0: skipped: the HAR holds no body for this event stream "
        "(export it with content)",
        f"sse-inspector: note: {har} entry 1: skipped: not a valid HAR 1.2 entry (Invalid isoformat string: "
        "'yesterday')",
        f"{har}: 1 event stream(s) imported, 2 skipped, 0 other response(s) left out",
    ]


def _nested_tnetstring(depth: int) -> bytes:
    """A list in a list, `depth` times, in mitmproxy's flow file format (tnetstring)."""
    data = b"0:]"
    for _ in range(depth):
        data = b"%d:%s]" % (len(data), data)
    return data


@pytest.mark.parametrize(
    ("content", "error"),
    [
        pytest.param(b"hello", "{path}: not a HAR or mitmproxy flow file (Invalid data format.)", id="junk"),
        pytest.param(b'{"log": {}}', "{path}: not a HAR file (no log.entries: 'entries')", id="no-entries"),
        pytest.param(b'{"log": {"entries": []}}', "no event-stream response could be imported from {path}",
                     id="no-streams"),
        pytest.param(b"", "no event-stream response could be imported from {path}", id="empty-flow-file"),
        pytest.param(b'{"log": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
                     "{path}: not a HAR file (JSON nested too deeply to read)", id="too-deep-har"),
        pytest.param(_nested_tnetstring(50_000), "{path}: not a mitmproxy flow file (nested too deeply to read)",
                     id="too-deep-flows"),
    ],
)
def test_unusable_files_are_one_line_and_exit_2(run_cli, tmp_path: Path, content: bytes, error: str) -> None:
    path = tmp_path / "input"
    path.write_bytes(content)
    result = run_cli("import", str(path), "-o", str(tmp_path / "out"))
    assert (result.code, result.err.splitlines()[-1]) == (2, "sse-inspector: error: " + error.format(path=path))
    assert "Traceback" not in result.err


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(entry=st.one_of(_json, st.builds(lambda e: _entry({"text": e}), st.text(max_size=20))))
def test_any_har_entry_imports_or_is_one_line(run_cli, tmp_path_factory, entry) -> None:
    tmp = tmp_path_factory.mktemp("har")
    result = run_cli("import", str(_har(tmp, entry)), "-o", str(tmp / "out"))
    assert result.code in (0, 2) and "Traceback" not in result.err


def _paths(value, prefix: tuple = ()) -> Iterator[tuple]:
    """Every place in a JSON value, as the keys and indexes that lead there."""
    if prefix:
        yield prefix
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _paths(item, (*prefix, index))


_MESSAGES = [{"time": 1795233600.25, "eventName": "message", "eventId": "1", "data": '{"a":1}'}]
_GOOD_ENTRIES = [
    _entry({"text": EVENTS.decode()}),
    _entry({"text": base64.b64encode(gzip.compress(EVENTS)).decode(), "encoding": "base64"}),
    _entry({}, extra={"_eventSourceMessages": _MESSAGES}),
]
_GOOD_ENTRIES[1]["response"]["headers"][1]["value"] = "gzip"
_GOOD_ENTRIES[2]["request"]["postData"] = {"mimeType": "application/x-www-form-urlencoded", "text": "a=1"}
_DELETE = object()


@st.composite
def _broken_entries(draw) -> dict:
    """A valid entry (a body, a still-gzipped body, event-source messages) with a few places given other JSON,
    or deleted."""
    entry = json.loads(json.dumps(draw(st.sampled_from(_GOOD_ENTRIES))))
    for _ in range(draw(st.integers(1, 3))):
        *parents, last = draw(st.sampled_from(list(_paths(entry))))
        target = entry
        for key in parents:
            target = target[key]
        value = draw(st.one_of(st.just(_DELETE), _json, st.sampled_from(["gzip", "br", "\x1f\x8b", "é", "\r"])))
        if value is _DELETE:
            del target[last]
        else:
            target[last] = value
        if not list(_paths(entry)):
            break
    return entry


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(entry=_broken_entries())
def test_a_har_entry_broken_anywhere_imports_or_is_a_note(run_cli, tmp_path_factory, entry) -> None:
    """No traceback, an exit code of the contract, and never a secret of the request on the terminal."""
    tmp = tmp_path_factory.mktemp("har")
    result = run_cli("import", str(_har(tmp, entry)), "-o", str(tmp / "out"))
    assert result.code in (0, 2)
    assert SECRET not in result.out + result.err and "sk-query-SECRET" not in result.out + result.err


@pytest.mark.parametrize(
    ("messages", "reason"),
    [
        pytest.param("notalist", "_eventSourceMessages is a string, not a list of messages", id="not-a-list"),
        pytest.param([{"data": "a"}, None, 5, "s", []], "_eventSourceMessages[1] is null, not a message object",
                     id="null-message"),
        pytest.param([5], "_eventSourceMessages[0] is a number, not a message object", id="number-message"),
        pytest.param([{"data": {"a": 1}}], "_eventSourceMessages[0].data is an object, not a string", id="data-object"),
        pytest.param([{"eventName": "a\rb", "data": "x"}],
                     "_eventSourceMessages[0] has a line break in its eventName or eventId", id="name-line-break"),
    ],
)
def test_malformed_event_source_messages_skip_the_entry_with_a_note(run_cli, tmp_path: Path, messages,
                                                                     reason: str) -> None:
    har = _har(tmp_path, _entry({}, extra={"_eventSourceMessages": messages}), _entry({"text": EVENTS.decode()}))
    result = run_cli("import", str(har), "-o", str(tmp_path / "out"))
    assert result.code == 0
    assert result.err.splitlines()[0] == (
        f"sse-inspector: note: {har} entry 0: skipped: not a valid HAR 1.2 entry ({reason})")
    alone = run_cli("import", str(_har(tmp_path, _entry({}, extra={"_eventSourceMessages": messages}))),
                    "-o", str(tmp_path / "alone"))
    assert alone.code == 2 and "Traceback" not in alone.err


def test_event_source_messages_with_null_fields_cr_lines_and_unusable_times(run_cli, tmp_path: Path) -> None:
    started = 1795233600.0
    messages = [{"time": float("inf"), "eventName": None, "eventId": None, "data": "a\r\nb\rc"},
                {"time": True, "eventName": "message", "data": None},
                {"time": started + 1}]
    har = _har(tmp_path, _entry({}, extra={"_eventSourceMessages": messages}))
    assert run_cli("import", str(har), "-o", str(tmp_path / "out")).code == 0
    [path] = (tmp_path / "out").iterdir()
    _, chunks, _ = read_recording(path)
    assert [(chunk["t"], chunk["text"]) for chunk in chunks] == [
        (None, "data: a\ndata: b\ndata: c\n\n"), (None, "data: \n\n"), (1.0, "data: \n\n"),
    ]


def test_the_terminal_shows_the_url_redacted_as_the_recording_has_it(run_cli, tmp_path: Path) -> None:
    url = f"https://api.openai.com/v1/chat/completions?api_key={SECRET}&mine=my-own-secret-value&x=1"
    har = _har(tmp_path, _entry({"text": EVENTS.decode()}, url=url))
    result = run_cli("import", str(har), "-o", str(tmp_path / "out"), "--redact", "mine")
    [path] = (tmp_path / "out").iterdir()
    shown = f"/v1/chat/completions?api_key=…{SECRET[-4:]}&mine=…alue&x=1"
    assert result.out == f"{path}  POST {shown}  200  openai-chat\n"
    assert read_recording(path)[0]["request"]["url"] == f"https://api.openai.com{shown}"


@pytest.mark.parametrize("header", [None, "application/x-www-form-urlencoded; charset=utf-8", "text/plain"])
def test_a_form_body_is_redacted_when_only_post_data_says_it_is_a_form(run_cli, tmp_path: Path, header) -> None:
    entry = _entry({"text": EVENTS.decode()})
    request = entry["request"]
    request["headers"] = [item for item in request["headers"] if item["name"] != "Content-Type"]
    if header:
        request["headers"].append({"name": "Content-Type", "value": header})
    request["postData"] = {"mimeType": "application/x-www-form-urlencoded",
                           "text": f"client_secret={SECRET}&api_key={SECRET}&x=1"}
    assert run_cli("import", str(_har(tmp_path, entry)), "-o", str(tmp_path / "out")).code == 0
    [path] = (tmp_path / "out").iterdir()
    tail = SECRET[-4:]
    assert read_recording(path)[0]["request"]["body"] == f"client_secret=…{tail}&api_key=…{tail}&x=1"
    assert SECRET not in path.read_text()



def _raw_deflate(data: bytes) -> bytes:
    compressor = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    return compressor.compress(data) + compressor.flush()


def _stored(encoding: str, body: bytes) -> dict:
    """An entry whose tool kept the body as it came, still content-encoded (base64, as it is not text)."""
    entry = _entry({"text": base64.b64encode(body).decode(), "encoding": "base64"})
    entry["response"]["headers"][1]["value"] = encoding
    return entry


@pytest.mark.parametrize(
    ("encoding", "body"),
    [
        pytest.param("gzip", gzip.compress(EVENTS), id="gzip"),
        pytest.param("deflate", zlib.compress(EVENTS), id="deflate"),
        pytest.param("deflate", _raw_deflate(EVENTS), id="deflate-raw"),
        pytest.param("br", brotli.compress(EVENTS), id="br"),
        pytest.param("zstd", zstandard.ZstdCompressor().compress(EVENTS), id="zstd"),
        pytest.param("gzip, br", brotli.compress(gzip.compress(EVENTS)), id="gzip-then-br"),
        pytest.param("gzip", EVENTS, id="decoded-by-the-tool"),
    ],
)
def test_a_body_kept_still_encoded_is_decoded(run_cli, tmp_path: Path, encoding: str, body: bytes) -> None:
    out = tmp_path / "out"
    assert run_cli("import", str(_har(tmp_path, _stored(encoding, body))), "-o", str(out)).code == 0
    [path] = out.iterdir()
    header, chunks, _ = read_recording(path)
    assert recorded_body(chunks) == EVENTS
    assert header["decoded_from"] == encoding
    assert header["response"]["headers"] == {"Content-Type": "text/event-stream"}
    assert run_cli("validate", str(path)).code == 0


def _gzip_bomb(megabytes: int) -> bytes:
    compressor = zlib.compressobj(wbits=16 + zlib.MAX_WBITS)
    block = b"A" * (1 << 20)
    return b"".join(compressor.compress(block) for _ in range(megabytes)) + compressor.flush()


@pytest.mark.parametrize(
    ("encoding", "body", "reason"),
    [
        pytest.param("gzip", b"\x1f\x8b" + bytes(range(200)), "deflate/gzip: Error -3 while decompressing data: "
                     "unknown compression method", id="broken-gzip"),
        pytest.param("compress", b"\x1f\x9d" + bytes(range(200)), "unsupported content-encoding 'compress'",
                     id="unknown-encoding"),
        pytest.param("gzip", _gzip_bomb(300), "the body decodes to over 1000 times its encoded size", id="bomb"),
    ],
)
def test_a_body_that_stays_encoded_is_skipped_with_a_note(run_cli, tmp_path: Path, encoding: str, body: bytes,
                                                          reason: str) -> None:
    har = _har(tmp_path, _stored(encoding, body))
    tracemalloc.start()
    try:
        result = run_cli("import", str(har), "-o", str(tmp_path / "out"))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert result.code == 2
    assert result.err.startswith(f"sse-inspector: note: {har} entry 0: skipped: its body is stored still encoded "
                                 f"({encoding}) and cannot be decoded: {reason}")
    assert peak < 3 * capture.MOST  # the bomb's 300 MB were never held


def test_an_imported_body_decodes_to_at_most_most_bytes(run_cli, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(capture, "MOST", len(EVENTS) - 1)
    result = run_cli("import", str(_har(tmp_path, _stored("gzip", gzip.compress(EVENTS)))), "-o", str(tmp_path / "o"))
    assert result.code == 2
    assert result.err.splitlines()[0].endswith(": its body is stored still encoded (gzip) and cannot be decoded: the "
                                               "body decodes to over 0 MiB, more than import decodes in memory "
                                               "(a decompression bomb?)")


def test_a_flow_file_body_decodes_within_the_same_limit(run_cli, tmp_path: Path, monkeypatch) -> None:
    from mitmproxy import io as flow_io
    from mitmproxy.test import tflow

    flow = tflow.tflow(resp=True)
    flow.response.headers.update({"content-type": "text/event-stream", "content-encoding": "gzip"})
    flow.response.raw_content = gzip.compress(EVENTS)
    flow_file = tmp_path / "capture.flow"
    with flow_file.open("wb") as stream:
        flow_io.FlowWriter(stream).add(flow)
    assert run_cli("import", str(flow_file), "-o", str(tmp_path / "out")).code == 0
    [path] = (tmp_path / "out").iterdir()
    header, chunks, _ = read_recording(path)
    assert (recorded_body(chunks), header["decoded_from"]) == (EVENTS, "gzip")
    monkeypatch.setattr(capture, "MOST", len(EVENTS) - 1)
    result = run_cli("import", str(flow_file), "-o", str(tmp_path / "again"))
    assert result.code == 2
    assert result.err.splitlines()[0] == (f"sse-inspector: note: {flow_file} flow 0: skipped: the body decodes to "
                                          "over 0 MiB, more than import decodes in memory (a decompression bomb?)")


def test_a_url_with_raw_non_ascii_characters_is_percent_encoded(run_cli, tmp_path: Path) -> None:
    url = "https://api.openai.com/v1/chat/completions?q=caf\u00e9&c1=\x9b31m&key=sk-query-SECRET-abcd"
    result = run_cli("import", str(_har(tmp_path, _entry({"text": EVENTS.decode()}, url=url))), "-o",
                     str(tmp_path / "out"))
    assert result.code == 0, result.err
    [path] = (tmp_path / "out").iterdir()
    shown = "/v1/chat/completions?q=caf%C3%A9&c1=%C2%9B31m&key=…abcd"
    assert result.out == f"{path}  POST {shown}  200  openai-chat\n"
    assert read_recording(path)[0]["request"]["url"] == f"https://api.openai.com{shown}"


@pytest.mark.parametrize(
    ("where", "key", "value", "reason"),
    [
        pytest.param("request", "headers", None, "request.headers is null, not a list", id="request-headers"),
        pytest.param("response", "headers", [{"name": 5, "value": "x"}],
                     "response.headers[0] is not a {name, value} object of strings", id="response-header"),
        pytest.param("response", "content", "text", "response.content is a string, not an object", id="content"),
        pytest.param("request", "postData", [1], "request.postData is a list, not an object", id="post-data"),
        pytest.param("entry", "timings", "fast", "timings is a string, not an object", id="timings"),
        pytest.param("entry", "startedDateTime", None, "startedDateTime is null, not a string", id="started"),
    ],
)
def test_a_field_of_the_wrong_type_skips_the_entry_with_a_note_naming_it(run_cli, tmp_path: Path, where: str,
                                                                         key: str, value, reason: str) -> None:
    entry = _entry({"text": EVENTS.decode()})
    if where == "response" and key == "headers":
        value = [*entry["response"]["headers"], *value]
        reason = reason.replace("[0]", "[2]")
    (entry if where == "entry" else entry[where])[key] = value
    har = _har(tmp_path, entry)
    result = run_cli("import", str(har), "-o", str(tmp_path / "out"))
    assert result.code == 2
    assert result.err.splitlines()[0] == f"sse-inspector: note: {har} entry 0: skipped: not a valid HAR 1.2 entry " \
                                         f"({reason})"
