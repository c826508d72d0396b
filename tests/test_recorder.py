"""The recorder addon's logic, driven through mitmproxy's own test helpers (`taddons`, `tflow`, `tutils`).

`cycle` fires hooks only, so the tests call the stream callable with chunks themselves, as mitmproxy would.
Verdicts run inline (no worker thread) so each test reads the finished recording right after the hook.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import logging
import shutil
import socket
import stat
import struct
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, Future
from pathlib import Path
from typing import NamedTuple

import brotli
import pytest
import zstandard
from hypothesis import example, given, settings
from hypothesis import strategies as st
from mitmproxy import exceptions, http
from mitmproxy.connection import ConnectionState
from mitmproxy.test import taddons, tflow, tutils
from recorder_helpers import CORPUS, SECRET, read_recording, recorded_body

from inspector.findings import Finding, Severity
from inspector.inputs import open_source
from inspector.recorder import addon as addon_module
from inspector.recorder import stream as stream_module
from inspector.recorder.addon import PREPARED_ABOVE, Recorder, flow_header
from inspector.recorder.client_watch import ClientWatch, SocketWatch
from inspector.recorder.decode import BodyDecoder
from inspector.recorder.stream import (
    _BATCH,
    WRITE_DELAY,
    BatchedWrites,
    ChunkWriter,
    Ending,
    StreamRecording,
    chunk_lines,
)
from inspector.recorder.verdict import StreamResult, end_reason
from inspector.recording import End, Header, RecordingWriter

CHAT = "openai-chat/openai-python__text-plain.sse"
RESPONSES = "openai-responses/vercel-ai__text-minimal.sse"
ANTHROPIC = "anthropic-messages/vercel-ai__text.sse"
SECRET_PART = "SECRETVALUE"


class InlineExecutor(Executor):
    """Runs each verdict at once, in the test's thread."""

    def submit(self, fn, /, *args, **kwargs) -> Future:
        future: Future = Future()
        future.set_result(fn(*args, **kwargs))
        return future


class Rig(NamedTuple):
    addon: Recorder
    results: list[StreamResult]
    tctx: taddons.context


@pytest.fixture
def recorder(tmp_path: Path) -> Iterator[Rig]:
    """A Recorder loaded in a mitmproxy test context, recording into `tmp_path/rec`."""
    results: list[StreamResult] = []
    addon = Recorder(on_result=results.append, executor=InlineExecutor())
    with taddons.context(addon) as tctx:
        tctx.configure(addon, sse_dir=str(tmp_path / "rec"))
        yield Rig(addon, results, tctx)


def make_flow(
    path: str = "/v1/chat/completions",
    *,
    status: int = 200,
    content_type: str = "text/event-stream",
    request_body: bytes = b'{"model":"m","stream":true}',
    request_headers: tuple[tuple[bytes, bytes], ...] = (),
    response_headers: tuple[tuple[bytes, bytes], ...] = (),
    response_body: bytes = b"",
) -> http.HTTPFlow:
    now = time.time()
    request = tutils.treq(
        method=b"POST", path=path.encode(), host="api.example.com", port=443, scheme=b"https",
        headers=http.Headers(((b"authorization", f"Bearer {SECRET}".encode()), *request_headers)),
        content=request_body, timestamp_start=now, timestamp_end=now,
    )
    response = tutils.tresp(
        status_code=status, headers=http.Headers(((b"content-type", content_type.encode()), *response_headers)),
        content=response_body, timestamp_start=now, timestamp_end=now,
    )
    flow = tflow.tflow(req=request, resp=response)
    flow.server_conn.state = ConnectionState.OPEN  # a live stream: both sides connected
    return flow


def stream(addon: Recorder, flow: http.HTTPFlow, chunks: list[bytes], hook: str = "response") -> list[object]:
    """Run a flow through the hooks and the stream callable; returns what the callable gave back."""
    addon.responseheaders(flow)
    given = [flow.response.stream(chunk) for chunk in chunks] if callable(flow.response.stream) else []
    if callable(flow.response.stream):
        given.append(flow.response.stream(b""))
    getattr(addon, hook)(flow)
    return given


def split(data: bytes, size: int) -> list[bytes]:
    return [data[start : start + size] for start in range(0, len(data), size)]


def only_recording(tmp_path: Path) -> Path:
    files = sorted((tmp_path / "rec").iterdir())
    assert len(files) == 1, files
    return files[0]


class LaterExecutor(Executor):
    """Keeps each verdict to run when the test says, as a busy worker thread would."""

    def __init__(self) -> None:
        self.waiting: list[tuple] = []

    def submit(self, fn, /, *args, **kwargs) -> Future:
        future: Future = Future()
        self.waiting.append((future, fn, args, kwargs))
        return future

    def run_all(self) -> None:
        for future, fn, args, kwargs in self.waiting:
            future.set_result(fn(*args, **kwargs))


def test_end_line_time_is_when_the_body_ended_not_when_the_verdict_came(tmp_path, monkeypatch):
    executor = LaterExecutor()
    addon = Recorder(on_result=lambda result: None, executor=executor)
    with taddons.context(addon) as tctx:
        tctx.configure(addon, sse_dir=str(tmp_path / "rec"))
        stream(addon, make_flow(), [(CORPUS / CHAT).read_bytes()])
        now = time.time()
        monkeypatch.setattr(time, "time", lambda: now + 100)  # the verdict runs 100 s later
        executor.run_all()
    _, recorded, end = read_recording(only_recording(tmp_path))
    assert end["reason"] == "complete"
    assert recorded[-1]["t"] <= end["t"] < 50


@pytest.mark.parametrize("size", [1, 7, 100, 1 << 20], ids=lambda size: f"{size}-byte-chunks")
def test_chunks_pass_unchanged_and_are_recorded_as_they_came(recorder, tmp_path, size):
    addon, results, _ = recorder
    body = (CORPUS / CHAT).read_bytes()
    chunks = split(body, size)
    given = stream(addon, make_flow(), chunks)
    assert given[:-1] == chunks and all(a is b for a, b in zip(given, chunks, strict=False))
    assert given[-1] == []  # the end marker: nothing, never b"" (which would end an HTTP/1 body early)
    header, recorded, end = read_recording(only_recording(tmp_path))
    assert [chunk.get("text") for chunk in recorded] == [chunk.decode() for chunk in chunks]
    assert (header["source"], header["protocol"], header["response"]["status"]) == ("proxy", "openai-chat", 200)
    assert (end["reason"], end["error"]) == ("complete", None)
    assert (results[0].protocol, results[0].events, results[0].reason, results[0].errors) == ("openai-chat", 34,
                                                                                              "complete", 0)


def test_end_marker_twice_as_under_http2(recorder, tmp_path):
    addon, results, _ = recorder
    flow = make_flow()
    addon.responseheaders(flow)
    body = (CORPUS / CHAT).read_bytes()
    assert flow.response.stream(body) is body
    assert (flow.response.stream(b""), flow.response.stream(b"")) == ([], [])
    addon.response(flow)
    assert [result.reason for result in results] == ["complete"]


@pytest.mark.parametrize("encoding, compress", [
    ("gzip", gzip.compress),
    ("deflate", zlib.compress),
    ("br", brotli.compress),
    ("zstd", lambda data: zstandard.ZstdCompressor().compress(data)),
])
def test_compressed_body_is_recorded_decoded_and_passed_on_untouched(recorder, tmp_path, encoding, compress):
    addon, results, _ = recorder
    body = (CORPUS / RESPONSES).read_bytes()
    wire = compress(body)
    chunks = split(wire, 13)
    flow = make_flow("/v1/responses", response_headers=((b"content-encoding", encoding.encode()),))
    given = stream(addon, flow, chunks)
    assert b"".join(given[:-1]) == wire
    header, recorded, end = read_recording(only_recording(tmp_path))
    assert recorded_body(recorded) == body
    assert header["decoded_from"] == encoding
    assert "content-encoding" not in {name.lower() for name in header["response"]["headers"]}
    assert (end["reason"], results[0].errors) == ("complete", 0)


@pytest.mark.parametrize("writer", [RecordingWriter, ChunkWriter])
def test_a_header_that_cannot_be_written_leaves_no_file_behind(tmp_path, writer):
    """A full disk fails the header line after the file was made: no file without its header is left (`validate
    DIR` would call it unusable). Here the header holds what no JSON writer takes."""
    with pytest.raises(TypeError):
        writer(tmp_path / "r.jsonl", Header(request={}, extra={"odd": object()}))
    assert list(tmp_path.iterdir()) == []


def test_corrupt_compressed_body_still_passes_and_is_marked_error(recorder, tmp_path, caplog):
    addon, results, _ = recorder
    chunks = [b"\x1f\x8b\x08\x00 definitely not gzip", b"more"]
    flow = make_flow(response_headers=((b"content-encoding", b"gzip"),))
    with caplog.at_level(logging.ERROR):
        given = stream(addon, flow, chunks)
    assert given == [*chunks, []]
    _, recorded, end = read_recording(only_recording(tmp_path))
    assert (recorded, end["reason"]) == ([], "error")
    assert end["error"].startswith("recorder failed: deflate/gzip: Error -3 while decompressing data")
    [line] = [record for record in caplog.records if record.levelno >= logging.ERROR]
    assert (line.getMessage().endswith("invalid stored block lengths): the stream passes through unrecorded"),
            line.exc_info) == (True, None)  # the upstream's body, not a bug of ours: one line, no traceback


def test_unsupported_encoding_streams_unrecorded(recorder, tmp_path, caplog):
    """The line that says so names the URL with its secrets redacted and its control characters shown, not sent."""
    addon, _, _ = recorder
    flow = make_flow(f"/v1/chat/completions?key={SECRET}&x=\x1b[2J",
                     response_headers=((b"content-encoding", b"compress"),))
    addon.responseheaders(flow)
    assert flow.response.stream is True
    assert list((tmp_path / "rec").iterdir()) == []
    assert "unsupported content-encoding 'compress'" in caplog.text
    assert "/v1/chat/completions?key=…" in caplog.text
    assert SECRET not in caplog.text and "\x1b" not in caplog.text


@pytest.mark.parametrize("where", ["flow_header", "SocketWatch"])
def test_a_recording_that_fails_to_start_never_holds_the_stream_back(recorder, tmp_path, caplog, monkeypatch, where):
    """A bug of ours while a recording starts (the header, the client's socket: `select.POLLRDHUP` was one, on
    macOS): mitmproxy logs what a hook raises and goes on, so the stream must already be set to pass chunk by
    chunk, or mitmproxy buffers it whole. The traceback is logged, and no file is left half made."""
    addon, _, _ = recorder

    def boom(*args: object, **kwargs: object) -> None:
        raise RuntimeError("a bug")

    if where == "flow_header":
        monkeypatch.setattr(addon_module, "flow_header", boom)
    else:
        monkeypatch.setattr(addon_module, "_socket_fd", lambda client: 7)
        monkeypatch.setattr(addon._sockets, "watch", boom)
    flow = make_flow()
    addon.responseheaders(flow)
    assert flow.response.stream is True
    assert list((tmp_path / "rec").glob("*")) == []  # no file half made
    [record] = [record for record in caplog.records if record.levelno >= logging.ERROR]
    assert "passes through unrecorded" in record.getMessage() and record.exc_info is not None


@pytest.mark.parametrize("path, which, recorded", [
    ("/v1/chat/completions", "llm", True),
    ("/v1/messages?beta=true", "llm", True),
    ("/notifications", "llm", False),
    ("/notifications", "all", True),
])
def test_which_event_streams_are_recorded(recorder, tmp_path, path, which, recorded):
    addon, _, tctx = recorder
    tctx.configure(addon, sse_streams=which)
    flow = make_flow(path)
    addon.responseheaders(flow)
    assert (flow.response.stream is not True, len(list((tmp_path / "rec").iterdir()))) == (recorded, int(recorded))
    assert flow.response.stream  # recorded or not, an event stream is never buffered


def test_error_body_of_a_streaming_request_is_recorded(recorder, tmp_path):
    addon, results, _ = recorder
    error = b'{"error":{"message":"Incorrect API key provided","type":"invalid_request_error"}}'
    flow = make_flow(status=401, content_type="application/json", response_body=error)
    addon.responseheaders(flow)
    assert flow.response.stream is False  # a small JSON body: mitmproxy buffers it as usual
    addon.response(flow)
    header, recorded, end = read_recording(only_recording(tmp_path))
    assert (header["response"]["status"], recorded_body(recorded), end["reason"]) == (401, error, "complete")
    assert [(f.rule, f.message) for f in results[0].findings] == [
        ("http/error-status", "HTTP 401: Incorrect API key provided")
    ]


def test_compressed_error_body_is_recorded_decoded(recorder, tmp_path):
    addon, results, _ = recorder
    error = b'{"error":{"message":"Rate limit reached","type":"requests"}}'
    flow = make_flow(status=429, content_type="application/json", response_body=gzip.compress(error),
                     response_headers=((b"content-encoding", b"gzip"),))
    addon.responseheaders(flow)
    addon.response(flow)
    header, recorded, _ = read_recording(only_recording(tmp_path))
    assert (header["decoded_from"], recorded_body(recorded)) == ("gzip", error)
    assert [finding.message for finding in results[0].findings] == ["HTTP 429: Rate limit reached"]


@pytest.mark.parametrize("path, body", [
    ("/v1/chat/completions", b'{"model":"m"}'),  # not a streaming request
    ("/v1/models", b'{"stream":true}'),  # not an LLM path
])
def test_plain_responses_of_other_requests_are_not_recorded(recorder, tmp_path, path, body):
    addon, results, _ = recorder
    flow = make_flow(path, status=401, content_type="application/json", request_body=body, response_body=b"{}")
    addon.responseheaders(flow)
    addon.response(flow)
    assert (list((tmp_path / "rec").iterdir()), results) == ([], [])


def large_body(model: str = "m") -> bytes:
    """A Chat request of more than `PREPARED_ABOVE` bytes (an image, text to escape), with a secret field."""
    image = "QUJD" * (PREPARED_ABOVE // 4)
    return json.dumps({"model": model, "stream": True, "api_key": SECRET, "messages": [{"role": "user", "content": [
        {"type": "text", "text": 'Qu\'est-ce que c\'est ? "🙂"\n\t\\ ' * 500},
        {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{image}"}}]}]}, ensure_ascii=False).encode()


def test_a_large_request_body_is_made_ready_on_a_worker_thread_as_soon_as_the_request_is_in(recorder, tmp_path,
                                                                                             monkeypatch):
    """Not on the event loop when the response starts, where every live stream would wait for it; the header is the
    one `flow_header` builds from the flow, and its line holds no secret."""
    addon, _, _ = recorder
    threads: list[str] = []

    def header_body(*args):
        threads.append(threading.current_thread().name)
        return prepared(*args)

    prepared = addon_module.header_body
    monkeypatch.setattr(addon_module, "header_body", header_body)
    monkeypatch.setattr(stream_module, "TEXT_SLICE", 1000)  # many pieces, cut anywhere
    flow = make_flow(request_body=large_body(), request_headers=((b"content-type", b"application/json"),))
    addon.request(flow)
    stream(addon, flow, [b"data: [DONE]\n\n"])
    assert [name.startswith("sse-inspector-body") for name in threads] == [True]
    path = only_recording(tmp_path)
    assert SECRET_PART not in path.read_text()
    header, _, _ = read_recording(path)
    assert header["request"] == flow_header(flow, "openai-chat", 0.0, None).request
    assert json.loads(header["request"]["body"])["api_key"] == "…wxyz"
    assert addon._bodies == {}


def test_a_large_body_that_gives_a_secret_key_twice_keeps_no_secret(recorder, tmp_path):
    addon, _, _ = recorder
    body = large_body().replace(b'{"model"', b'{"api_key": "%s", "model"' % SECRET.encode(), 1)
    flow = make_flow(request_body=body, request_headers=((b"content-type", b"application/json; charset=utf-8"),))
    addon.request(flow)
    stream(addon, flow, [b"data: [DONE]\n\n"])
    assert SECRET_PART not in only_recording(tmp_path).read_text()


def test_a_body_that_could_not_be_made_ready_is_made_on_the_loop(recorder, tmp_path, monkeypatch):
    addon, _, _ = recorder

    def header_body(*args):
        raise RuntimeError("a bug")

    monkeypatch.setattr(addon_module, "header_body", header_body)
    flow = make_flow(request_body=large_body())
    addon.request(flow)
    stream(addon, flow, [b"data: [DONE]\n\n"])
    header, _, _ = read_recording(only_recording(tmp_path))
    assert header["request"] == flow_header(flow, "openai-chat", 0.0, None).request


def test_a_small_or_compressed_request_body_is_made_ready_on_the_loop(recorder):
    addon, _, _ = recorder
    for flow in (make_flow(), make_flow(request_body=gzip.compress(large_body()),
                                        request_headers=((b"content-encoding", b"gzip"),))):
        addon.request(flow)
        assert addon._bodies == {}


def test_a_body_changed_after_it_was_made_ready_is_recorded_as_it_went_upstream(recorder, tmp_path):
    """An addon after this one may rewrite the request in its own `request` hook: what was sent is recorded."""
    addon, _, _ = recorder
    flow = make_flow(request_body=large_body("before"))
    addon.request(flow)
    flow.request.content = large_body("after")
    stream(addon, flow, [b"data: [DONE]\n\n"])
    header, _, _ = read_recording(only_recording(tmp_path))
    assert json.loads(header["request"]["body"])["model"] == "after"


def test_a_made_ready_body_in_a_header_msgspec_cannot_write_is_recorded_the_generic_way(recorder, tmp_path):
    """A byte that is not UTF-8 in a request header (a lone surrogate, as mitmproxy hands it over) sends the header
    line the json module's way, with the body encoded ahead as text again."""
    addon, _, _ = recorder
    flow = make_flow(request_body=large_body())
    flow.request.headers["X-Note"] = "caf\udce9"
    addon.request(flow)
    stream(addon, flow, [b"data: [DONE]\n\n"])
    header = open_source(str(only_recording(tmp_path))).header
    assert header.request["headers"]["X-Note"] == "caf\udce9"
    assert json.loads(header.request["body"])["model"] == "m"


@pytest.mark.parametrize("ends", ["unrecorded response", "error"])
def test_a_made_ready_body_is_forgotten_with_its_flow(recorder, ends):
    addon, _, _ = recorder
    flow = make_flow("/v1/chat/completions", status=401, content_type="application/json", request_body=large_body(),
                     response_body=b"{}")
    flow.request.content = flow.request.content.replace(b'"stream": true', b'"stream": false')
    addon.request(flow)
    assert len(addon._bodies) == 1
    if ends == "error":
        flow.response = None
        flow.error = tflow.terr("Connection refused")
        addon.error(flow)
    else:
        addon.responseheaders(flow)
        addon.response(flow)
    assert addon._bodies == {}


def test_upstream_that_never_answered_is_recorded_with_the_reason(recorder, tmp_path):
    addon, results, _ = recorder
    flow = make_flow()
    flow.response = None
    flow.server_conn.timestamp_tcp_setup = None
    flow.error = tflow.terr("Connection refused")
    addon.error(flow)
    header, recorded, end = read_recording(only_recording(tmp_path))
    assert (header["response"], recorded, end["reason"], end["error"]) == (None, [], "error", "Connection refused")
    assert results[0].line().split("  ")[1:5] == [
        "POST /v1/chat/completions", "openai-chat", "---", "no response"
    ]
    # no body came: nothing is said of its events, only that no response came
    assert [(finding.rule, finding.message) for finding in results[0].findings] == [
        ("http/no-response", "no response came (the recording ended as `error`): no status, no headers, no body; the "
                             "app got a connection error (through the recorder, mitmproxy's 502 page)")]


# Events of one stream before and after its terminal event, and what mitmproxy 11 says when it ends.
_CHAT_EVENTS = (CORPUS / CHAT).read_bytes().split(b"\n\n")
_CHAT_CUT = b"\n\n".join(_CHAT_EVENTS[:5]) + b"\n\n"


@pytest.mark.parametrize("body, hook, message, reason", [
    pytest.param((CORPUS / CHAT).read_bytes(), "response", None, "complete", id="body-ended-after-DONE"),
    pytest.param((CORPUS / CHAT).read_bytes(), "error", "Client disconnected.", "complete",
                 id="openai-sdk-closes-after-DONE"),
    pytest.param(_CHAT_CUT, "error", "Client disconnected.", "client-disconnected", id="client-aborted"),
    pytest.param(_CHAT_CUT, "error", "stream reset by client (CANCEL)", "client-disconnected", id="h2-client-reset"),
    pytest.param(_CHAT_CUT, "error", "HTTP/1 protocol error: peer closed connection without sending complete "
                 "message body: incomplete chunked read", "upstream-closed", id="upstream-died"),
    pytest.param(_CHAT_CUT, "error", "server closed connection", "upstream-closed", id="upstream-closed"),
    pytest.param(_CHAT_CUT, "response", None, "upstream-closed", id="body-ended-before-DONE"),
    pytest.param(_CHAT_CUT, "error", "killed", "error", id="other-error"),
])
def test_end_reason_from_events_then_hooks(recorder, tmp_path, body, hook, message, reason):
    addon, results, _ = recorder
    flow = make_flow()
    if message is not None:
        flow.error = tflow.terr(message)
    stream(addon, flow, [body], hook)
    _, _, end = read_recording(only_recording(tmp_path))
    assert (end["reason"], results[0].reason) == (reason, reason)


def test_connection_state_decides_when_the_message_does_not(recorder, tmp_path):
    addon, results, _ = recorder
    flow = make_flow()
    flow.error = tflow.terr("something unexpected")
    flow.client_conn.state = ConnectionState.CAN_WRITE  # the app half-closed: it went away
    stream(addon, flow, [_CHAT_CUT], "error")
    assert results[0].reason == "client-disconnected"


@pytest.mark.parametrize("kind, failure, terminal, expects, expected", [
    ("response", None, False, False, ("complete", None)),
    ("response", None, False, True, ("upstream-closed", "the body ended before the protocol's terminal event")),
    ("client", None, True, True, ("complete", None)),
    ("client", None, False, True, ("client-disconnected", "msg")),
    ("upstream", None, False, True, ("upstream-closed", "msg")),
    ("stopped", None, False, True, ("error", "msg")),
    ("response", "recorder failed: disk full", True, True, ("error", "recorder failed: disk full")),
])
def test_end_reason_table(kind, failure, terminal, expects, expected):
    assert end_reason(Ending(kind, None if kind == "response" else "msg"), failure, terminal, expects) == expected


@pytest.mark.parametrize("name, path", [
    (RESPONSES, "/v1/responses"),
    (ANTHROPIC, "/v1/messages"),
])
def test_other_protocols_complete_on_their_terminal_event(recorder, tmp_path, name, path):
    addon, results, _ = recorder
    flow = make_flow(path)
    flow.error = tflow.terr("Client disconnected.")
    stream(addon, flow, [(CORPUS / name).read_bytes()], "error")
    assert (results[0].reason, results[0].errors) == ("complete", 0)


def test_a_recording_directory_removed_while_recording_is_made_again(recorder, tmp_path, caplog):
    """Someone cleans up `recordings/` while the proxy runs: the next stream is recorded in it, made again, private."""
    addon, results, _ = recorder
    stream(addon, make_flow(), [(CORPUS / CHAT).read_bytes()])
    shutil.rmtree(tmp_path / "rec")
    with caplog.at_level(logging.WARNING):
        stream(addon, make_flow(), [(CORPUS / CHAT).read_bytes()])
    assert [result.verdict() for result in results] == ["ok", "ok"]
    assert (only_recording(tmp_path).parent, stat.S_IMODE((tmp_path / "rec").stat().st_mode)) == (tmp_path / "rec",
                                                                                                  0o700)
    assert caplog.records == []


def test_unwritable_directory_passes_traffic_with_one_error_line(tmp_path, caplog):
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    addon = Recorder(on_result=lambda result: None, executor=InlineExecutor())
    with caplog.at_level(logging.WARNING), taddons.context(addon) as tctx:
        tctx.configure(addon, sse_dir=str(blocker / "rec"))
        flows = [make_flow(), make_flow()]
        for flow in flows:
            stream(addon, flow, [(CORPUS / CHAT).read_bytes()])
    assert [flow.response.stream for flow in flows] == [True, True]
    lines = [record.getMessage() for record in caplog.records if "cannot write recordings" in record.getMessage()]
    assert lines == [f"sse-inspector: error: cannot write recordings to {blocker / 'rec'} (Not a directory): "
                     "traffic passes through unrecorded"]


def test_no_secret_reaches_disk(recorder, tmp_path):
    addon, _, tctx = recorder
    tctx.configure(addon, sse_redact=["X-Org-Token"])
    flow = make_flow(
        f"/v1/chat/completions?api_key={SECRET}&model=m",
        request_headers=((b"x-api-key", SECRET.encode()), (b"X-Org-Token", SECRET.encode()),
                         (b"cookie", f"s={SECRET}".encode())),
        request_body=json.dumps({"stream": True, "api_key": SECRET, "nested": {"secret": SECRET}}).encode(),
    )
    stream(addon, flow, [(CORPUS / CHAT).read_bytes()])
    path = only_recording(tmp_path)
    assert SECRET_PART not in path.read_text()
    header, _, _ = read_recording(path)
    headers = header["request"]["headers"]
    assert [headers[name] for name in ("authorization", "x-api-key", "X-Org-Token", "cookie")] == [
        "Bearer …wxyz", "…wxyz", "…wxyz", "…wxyz"
    ]
    assert json.loads(header["request"]["body"]) == {"stream": True, "api_key": "…wxyz", "nested": {"secret": "…wxyz"}}


def test_request_body_can_be_left_out(recorder, tmp_path):
    addon, _, tctx = recorder
    tctx.configure(addon, sse_request_body=False)
    stream(addon, make_flow(), [(CORPUS / CHAT).read_bytes()])
    header, _, _ = read_recording(only_recording(tmp_path))
    assert header["request"]["body"] is None


def test_recordings_are_readable_by_their_owner_only(recorder, tmp_path):
    addon, _, _ = recorder
    stream(addon, make_flow(), [(CORPUS / CHAT).read_bytes()])
    modes = (stat.S_IMODE((tmp_path / "rec").stat().st_mode), stat.S_IMODE(only_recording(tmp_path).stat().st_mode))
    assert modes == (0o700, 0o600)


def test_interleaved_streams_each_get_their_own_file(recorder, tmp_path):
    addon, results, _ = recorder
    names = [CHAT, "openai-chat/openai-python__tool-call-single.sse"]
    flows = [make_flow() for _ in names]
    bodies = [split((CORPUS / name).read_bytes(), 50) for name in names]
    for flow in flows:
        addon.responseheaders(flow)
    for index in range(max(len(chunks) for chunks in bodies)):
        for flow, chunks in zip(flows, bodies, strict=True):
            if index < len(chunks):
                flow.response.stream(chunks[index])
    for flow in flows:
        addon.response(flow)
    recorded = {result.path: recorded_body(read_recording(result.path)[1]) for result in results}
    assert sorted(recorded.values()) == sorted((CORPUS / name).read_bytes() for name in names)


def test_done_ends_streams_still_open_and_records_nothing_after(recorder, tmp_path):
    addon, results, _ = recorder
    flow, waiting = make_flow(), make_flow()
    addon.responseheaders(flow)
    flow.response.stream(_CHAT_CUT)
    addon.done()
    assert flow.response.stream is True  # what the upstream still sends passes on; the recording is closed
    waiting.response = None  # a request the upstream had not answered yet
    for unfinished in (flow, waiting):  # mitmproxy closes the connections still open after `done`
        unfinished.error = tflow.terr("Client disconnected.")
        addon.error(unfinished)
    _, _, end = read_recording(only_recording(tmp_path))
    assert (end["reason"], end["error"], len(results)) == ("error", "the recorder stopped before the stream ended", 1)


class Uppercase:
    """Another addon's stream callable: changes what the app gets and holds the last chunk back until the end."""

    def __init__(self) -> None:
        self.seen: list[bytes] = []
        self.held = b""

    def __call__(self, data: bytes) -> bytes | list[bytes]:
        self.seen.append(data)
        out, self.held = self.held, data.upper()
        if not data:
            return [out, b""] if out else b""
        return out or []


def _bytes_out(given: list[bytes | list[bytes]]) -> bytes:
    """What mitmproxy sends on from the stream callable's return values."""
    return b"".join(piece for out in given for piece in ([out] if isinstance(out, bytes) else out))


@pytest.mark.parametrize("ending", ["response", "done"])
def test_a_stream_callable_another_addon_set_still_gets_every_chunk(recorder, tmp_path, ending):
    """The recording holds what the upstream sent; the other callable sees it all, the end marker too, and what it
    returns is what the app gets."""
    addon, _, _ = recorder
    flow, other = make_flow(), Uppercase()
    flow.response.stream = other
    body = (CORPUS / CHAT).read_bytes()
    chunks = split(body, 100)
    addon.responseheaders(flow)
    given = [flow.response.stream(chunk) for chunk in chunks[:-1]]
    if ending == "done":
        addon.done()
        assert flow.response.stream is other  # the recording is closed; the other addon's callable goes on
    given += [flow.response.stream(chunks[-1]), flow.response.stream(b"")]
    if ending == "response":
        addon.response(flow)
    assert (other.seen, _bytes_out(given)) == ([*chunks, b""], body.upper())
    _, recorded, end = read_recording(only_recording(tmp_path))
    if ending == "response":
        assert (recorded_body(recorded), end["reason"]) == (body, "complete")
    else:
        assert (recorded_body(recorded), end["reason"]) == (b"".join(chunks[:-1]), "error")


def test_another_addons_stream_callable_is_kept_for_streams_not_recorded(recorder, tmp_path):
    addon, _, _ = recorder
    flow, other = make_flow(path="/not/an/llm/api"), Uppercase()
    flow.response.stream = other
    addon.responseheaders(flow)
    assert (flow.response.stream, list((tmp_path / "rec").iterdir())) == (other, [])


def test_options_and_their_defaults():
    addon = Recorder()
    with taddons.context(addon) as tctx:
        options = tctx.options
        assert (options.sse_dir, options.sse_redact, options.sse_request_body, options.sse_streams,
                options.sse_listen_file) == ("recordings", [], True, "llm", None)
        with pytest.raises(exceptions.OptionsError):
            tctx.configure(addon, sse_streams="some")


def test_chunks_queued_in_one_loop_turn_are_written_together(tmp_path):
    due: list = []
    writer = ChunkWriter(tmp_path / "r.jsonl", Header(request={}))
    recording = StreamRecording(writer, time.time(), BodyDecoder(None), summary={},
                                defer=lambda delay, flush: due.append(flush))
    for chunk in (b"data: 1\n\n", b"data: 2\n\n", b"\xff"):
        recording.on_chunk(chunk)
    assert (len(due), len((tmp_path / "r.jsonl").read_text().splitlines())) == (1, 1)  # the header only
    due.pop()()
    _, chunks, _ = read_recording(tmp_path / "r.jsonl")
    assert [{key: value for key, value in chunk.items() if key != "t"} for chunk in chunks] == [
        {"kind": "chunk", "text": "data: 1\n\n"},
        {"kind": "chunk", "text": "data: 2\n\n"},
        {"kind": "chunk", "b64": "/w=="},
    ]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.binary(max_size=40) | st.text(max_size=40).map(str.encode), min_size=1, max_size=8),
       st.floats(min_value=0, max_value=1e6))
@example([b""] * 5, 524287.8248069285)  # the fifth time is a tie that the two writers round apart
def test_fast_chunk_lines_read_back_as_the_generic_writers_lines(tmp_path_factory, chunks, start):
    """The lines `ChunkWriter` builds in C are format v1: read back, they give what the generic `RecordingWriter`
    (the `json` module) gives for the same chunks, every byte exactly (quotes, control characters, a character
    split between chunks, binary) and every time to the microsecond."""
    directory = tmp_path_factory.mktemp("lines")
    times = [start + index / 7 for index in range(len(chunks))]
    fast, generic = ChunkWriter(directory / "fast.jsonl", Header(request={})), RecordingWriter(
        directory / "generic.jsonl", Header(request={}))
    fast.write(chunk_lines(times, chunks))
    for t, chunk in zip(times, chunks, strict=True):
        generic.chunk(t, chunk)
    for writer in (fast, generic):
        writer.end(1.0, "complete")
    fast_source = open_source(str(directory / "fast.jsonl"))
    read_fast, read_generic = list(fast_source.chunks()), list(open_source(str(directory / "generic.jsonl")).chunks())
    assert fast_source.end == End(1.0, "complete", None)
    assert [chunk.data for chunk in read_fast] == [chunk.data for chunk in read_generic] == chunks
    # NOTE: in whole microseconds: at a tie (t * 1e6 rounded up from x.5 by the product) the two may differ by one,
    # and the difference of two floats near 5e5 is then a hair over 1e-6
    assert all(abs(round(a.t * 1e6) - round(b.t * 1e6)) <= 1 and round(a.t, 6) == a.t
               for a, b in zip(read_fast, read_generic, strict=True))


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=20), st.binary(max_size=20), st.binary(max_size=60) | st.text(max_size=30).map(
    lambda text: json.dumps({"api_key": SECRET, "x": text}, ensure_ascii=False).encode(
        "utf-8", "surrogatepass")))
def test_any_header_and_body_bytes_give_a_recording_that_reads_back_as_the_proxy_saw_it(tmp_path_factory, sent,
                                                                                         answered, body):
    """Whatever bytes a client or an upstream puts in a header or a JSON body (mitmproxy hands the ones that are not
    UTF-8 over as lone surrogates), the recording is written, is UTF-8, and its header reads back whole."""
    flow = tflow.tflow(resp=True)
    flow.request.headers["X-Sent"] = sent.decode("utf-8", "surrogateescape")
    flow.request.headers["Content-Type"] = "application/json"
    flow.request.content = body
    flow.response.headers["X-Answered"] = answered.decode("utf-8", "surrogateescape")
    header = flow_header(flow, "openai-chat", time.time(), None)
    path = tmp_path_factory.mktemp("odd") / "r.jsonl"
    ChunkWriter(path, header).close()
    path.read_bytes().decode("utf-8")  # strict
    assert open_source(str(path)).header == header
    assert SECRET not in path.read_text()


@settings(max_examples=200, deadline=None)
@given(
    path=st.sampled_from(["/v1/chat/completions", "/v1/responses", "/v1/messages", "/v1/other"]),
    status=st.sampled_from([200, 429, 500]),
    content_type=st.sampled_from(["text/event-stream", "application/json"]),
    encoding=st.sampled_from([None, "gzip", "br", "zstd", "deflate", "gzip, br", "compress", "identity"]),
    odd_header=st.binary(max_size=12),
    request_body=st.binary(max_size=40) | st.sampled_from([b'{"stream": true, "api_key": "%s"}' % SECRET.encode()]),
    chunks=st.lists(st.binary(min_size=1, max_size=48)  # NOTE: mitmproxy never hands over an empty chunk as data
                    | st.sampled_from([event + b"\n\n" for event in (CORPUS / CHAT).read_bytes().split(b"\n\n")]),
                    max_size=6),
    hook=st.sampled_from(["response", "error"]),
)
def test_any_flow_passes_unchanged_and_leaves_only_readable_recordings(tmp_path_factory, path, status, content_type,
                                                                       encoding, odd_header, request_body, chunks,
                                                                       hook):
    """Whatever the flow (any status, encoding, header bytes, body, chunks, ending), the hooks raise nothing, the
    app gets every chunk unchanged, and every file left behind is a recording that reads, with its end line."""
    directory = tmp_path_factory.mktemp("any")
    headers = ((b"x-odd", odd_header),) + (((b"content-encoding", encoding.encode()),) if encoding else ())
    flow = make_flow(path, status=status, content_type=content_type, request_body=request_body,
                     response_headers=headers)
    if hook == "error":
        flow.error = tflow.terr("Connection reset by peer")
    addon = Recorder(on_result=lambda result: None, executor=InlineExecutor())
    with taddons.context(addon) as tctx:
        tctx.configure(addon, sse_dir=str(directory))
        given = stream(addon, flow, chunks, hook)
    if given:
        assert given == [*chunks, []]
    for recording in directory.iterdir():
        source = open_source(str(recording))
        list(source.chunks())
        assert source.end is not None, recording
        assert SECRET not in recording.read_text()


@settings(max_examples=300, deadline=None)
@given(st.lists(st.binary(max_size=40) | st.text(max_size=40).map(str.encode), min_size=1, max_size=8))
def test_a_batch_of_chunk_lines_is_the_lines_one_by_one(chunks):
    """A batch with a chunk that is not UTF-8 on its own is built line by line: the same lines either way."""
    times = [index / 7 for index in range(len(chunks))]
    assert chunk_lines(times, chunks) == b"".join(chunk_lines([t], [chunk]) for t, chunk in zip(times, chunks,
                                                                                                  strict=True))


def test_a_full_batch_is_written_at_the_loops_next_turn_not_before_its_last_chunk_goes_on(tmp_path):
    """The chunk that fills a batch is handed back to mitmproxy at once; the write comes at the loop's next turn."""
    due: list = []
    writer = ChunkWriter(tmp_path / "r.jsonl", Header(request={}))
    recording = StreamRecording(writer, time.time(), BodyDecoder(None), summary={},
                                defer=lambda delay, flush: due.append((delay, flush)))
    chunks = [b"data: %d\n\n" % index for index in range(_BATCH)]
    assert [recording.on_chunk(chunk) for chunk in chunks] == chunks
    assert ([delay for delay, _ in due], len(read_recording(tmp_path / "r.jsonl")[1])) == ([WRITE_DELAY, 0], 0)
    due.pop()[1]()
    assert recorded_body(read_recording(tmp_path / "r.jsonl")[1]) == b"".join(chunks)


class FakeLoop:
    """The two calls `BatchedWrites` makes of an event loop, kept for the test to run."""

    def __init__(self) -> None:
        self.later: list[tuple[float, Callable[[], None]]] = []
        self.soon: list[Callable[[], None]] = []

    def call_later(self, delay: float, callback: Callable[[], None]) -> None:
        self.later.append((delay, callback))

    def call_soon(self, callback: Callable[[], None]) -> None:
        self.soon.append(callback)


def test_the_streams_waiting_chunks_are_written_together_with_one_timer(tmp_path):
    """Paced streams queue a chunk at a time: one timer for all of them, not one each, and when it fires every
    stream's chunks are written; a full batch is still written at the loop's next turn."""
    loop = FakeLoop()
    writes = BatchedWrites(loop)  # type: ignore[arg-type]
    recordings = [StreamRecording(ChunkWriter(tmp_path / f"{index}.jsonl", Header(request={})), time.time(),
                                  BodyDecoder(None), summary={}, defer=writes.defer) for index in range(3)]
    for index, recording in enumerate(recordings):
        recording.on_chunk(b"data: %d\n\n" % index)
    assert ([delay for delay, _ in loop.later], loop.soon) == ([WRITE_DELAY], [])
    loop.later.pop()[1]()
    assert [recorded_body(read_recording(tmp_path / f"{index}.jsonl")[1]) for index in range(3)] == [
        b"data: 0\n\n", b"data: 1\n\n", b"data: 2\n\n"]
    recordings[0].on_chunk(b"data: again\n\n")  # a new batch after the timer fired: a new timer
    assert len(loop.later) == 1
    chunks = [b"data: %d\n\n" % index for index in range(_BATCH)]
    for chunk in chunks:
        recordings[1].on_chunk(chunk)
    assert len(loop.later) == 1 and len(loop.soon) == 1  # the full batch: at the next turn
    loop.soon.pop()()
    assert recorded_body(read_recording(tmp_path / "1.jsonl")[1]) == b"data: 1\n\n" + b"".join(chunks)


def test_the_recorders_streams_share_one_timer_for_their_writes(tmp_path):
    addon = Recorder(on_result=lambda result: None, executor=InlineExecutor())

    async def start_two() -> list[StreamRecording]:
        with taddons.context(addon) as tctx:
            tctx.configure(addon, sse_dir=str(tmp_path / "rec"))
            flows = [make_flow(), make_flow()]
            for flow in flows:
                addon.responseheaders(flow)
            return [flow.response.stream.__self__ for flow in flows]  # the recording's bound method

    first, second = asyncio.run(start_two())
    assert isinstance(first._defer.__self__, BatchedWrites) and first._defer.__self__ is second._defer.__self__


_NOON = time.mktime((2026, 1, 2, 12, 4, 31, 0, 0, -1))


@pytest.mark.parametrize("fields, line", [
    ({}, "12:04:31  POST /v1/responses  openai-responses  200  58 events  TTFT 412 ms  ok"),
    ({"ttft": None, "events": 1}, "12:04:31  POST /v1/responses  openai-responses  200  1 event  ok"),
    ({"reason": "upstream-closed", "error": "server closed connection", "events": 17},
     "12:04:31  POST /v1/responses  openai-responses  200  cut after 17 events (upstream-closed)  TTFT 412 ms  "
     "FAIL server closed connection"),
    ({"status": None, "events": 0, "ttft": None, "reason": "error", "error": "Connection refused"},
     "12:04:31  POST /v1/responses  openai-responses  ---  no response  FAIL Connection refused"),
    # the app left (Codex's idle timeout): `validate` says ok with a warning, and so does the line
    ({"reason": "client-disconnected", "error": "Client disconnected.", "events": 6,
      "findings": (Finding("sse/not-ended-by-server", Severity.WARNING, None, "..."),)},
     "12:04:31  POST /v1/responses  openai-responses  200  cut after 6 events (client-disconnected)  TTFT 412 ms  "
     "ok (1 warning)"),
])
def test_live_line(fields, line):
    base = {"path": "r.jsonl", "started": _NOON, "method": "POST", "url_path": "/v1/responses",
            "protocol": "openai-responses", "status": 200, "events": 58, "ttft": 0.4121, "reason": "complete",
            "error": None, "findings": ()}
    assert StreamResult(**{**base, **fields}).line() == line


def test_what_comes_after_the_proxy_learnt_the_client_left_is_not_recorded(recorder, tmp_path):
    """The upstream goes on (its terminal event included) after the client went away: the client never got it,
    so the recording stops where the client left and says so."""
    addon, results, _ = recorder
    events = (CORPUS / CHAT).read_bytes().split(b"\n\n")
    flow = make_flow()
    addon.responseheaders(flow)
    passed = [flow.response.stream(event + b"\n\n") for event in events[:3]]
    flow.client_conn.state = ConnectionState.CLOSED
    passed += [flow.response.stream(event + b"\n\n") for event in events[3:-1]]
    addon.response(flow)
    assert passed == [event + b"\n\n" for event in events[:-1]]  # the app's traffic is never touched
    _, chunks, end = read_recording(only_recording(tmp_path))
    assert recorded_body(chunks) == b"".join(event + b"\n\n" for event in events[:3])
    assert (end["reason"], end["error"]) == ("client-disconnected", "the client went away before the end of the "
                                                                    "body reached it")
    assert results[0].reason == "client-disconnected"


def test_a_body_that_ends_after_the_client_left_is_not_complete(recorder, tmp_path):
    addon, _, _ = recorder
    flow = make_flow()
    addon.responseheaders(flow)
    flow.response.stream(b'data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[]}\n\n')
    flow.client_conn.state = ConnectionState.CAN_READ  # mitmproxy closed its writing side
    addon.response(flow)
    assert read_recording(only_recording(tmp_path))[2]["reason"] == "client-disconnected"


def test_chunks_after_the_end_are_not_recorded(tmp_path):
    """A verdict reads the file while the loop is free to run: a chunk that still comes must not land in it."""
    writer = ChunkWriter(tmp_path / "r.jsonl", Header(request={}))
    recording = StreamRecording(writer, time.time(), BodyDecoder(None), summary={})
    assert recording.on_chunk(b"data: 1\n\n") == b"data: 1\n\n"
    recording.finish()
    assert recording.on_chunk(b"data: 2\n\n") == b"data: 2\n\n"
    assert recorded_body(read_recording(tmp_path / "r.jsonl")[1]) == b"data: 1\n\n"


def test_chunk_times_do_not_step_back_with_the_wall_clock(tmp_path, monkeypatch):
    """The wall clock set back mid-stream (an NTP step, a VM resume): the chunk times still grow from 0, and the
    recording stays readable (a negative time would make all of it unusable)."""
    path = tmp_path / "r.jsonl"
    recording = StreamRecording(ChunkWriter(path, Header(request={})), time.time(), BodyDecoder(None), summary={})
    recording.on_chunk(b"data: 1\n\n")
    an_hour_ago = time.time() - 3600
    monkeypatch.setattr(time, "time", lambda: an_hour_ago)
    recording.on_chunk(b"data: 2\n\n")
    recording.finish()
    recording.writer.end(recording.ended_at, "complete", None)
    times = [chunk["t"] for chunk in read_recording(path)[1]]
    assert 0 <= times[0] <= times[1] <= read_recording(path)[2]["t"]
    source = open_source(str(path))
    check = source.check(None)
    for _ in source.feed_to(check.feed):
        pass
    assert check.events == 2


def test_the_stream_callable_sees_a_client_that_closed_its_socket_or_a_connection_mitmproxy_closed(tmp_path):
    """Before each chunk the callable asks whether the client is still there: the socket (a FIN mitmproxy has not
    read yet) when it watches one, mitmproxy's view of the connection always; from then on nothing is recorded."""

    def recorded_until_gone(watch: ClientWatch, leave: Callable[[], None]) -> tuple[list[str], bool]:
        path = tmp_path / f"{len(list(tmp_path.iterdir()))}.jsonl"
        recording = StreamRecording(ChunkWriter(path, Header(request={})), time.time(), BodyDecoder(None),
                                    summary={}, client=watch)
        recording.on_chunk(b"data: 1\n\n")
        leave()
        assert recording.on_chunk(b"data: 2\n\n") == b"data: 2\n\n"  # passed on all the same
        recording.finish()
        recording.writer.close()
        return [chunk["text"] for chunk in read_recording(path)[1]], recording.client_left

    ours, theirs = socket.socketpair()
    sockets = SocketWatch(interval=0)  # asks the sockets every time
    sockets.watch(ours.fileno())
    client = tflow.tclient_conn()
    client.state = ConnectionState.OPEN
    try:
        assert recorded_until_gone(ClientWatch(client, sockets, ours.fileno()), theirs.close) == (
            ["data: 1\n\n"], True)
        assert recorded_until_gone(ClientWatch(client), lambda: None) == (["data: 1\n\n", "data: 2\n\n"], False)

        def close_writing() -> None:
            client.state = ConnectionState.CAN_READ  # mitmproxy closed its writing side

        assert recorded_until_gone(ClientWatch(client), close_writing) == (["data: 1\n\n"], True)
    finally:
        ours.close()


def test_one_socket_watch_tells_which_client_hung_up_and_forgets_a_stream_that_ended():
    pairs = [socket.socketpair() for _ in range(3)]
    sockets = SocketWatch(interval=0)
    try:
        for ours, _ in pairs:
            sockets.watch(ours.fileno())
        sockets.watch(pairs[1][0].fileno())  # a second stream on the same connection (HTTP/2)
        pairs[1][1].close()
        assert [sockets.hung_up(ours.fileno()) for ours, _ in pairs] == [False, True, False]
        sockets.forget(pairs[1][0].fileno())  # one of its two streams ended: still watched
        assert sockets.hung_up(pairs[1][0].fileno()) is True
        sockets.forget(pairs[1][0].fileno())
        assert sockets.hung_up(pairs[1][0].fileno()) is False
    finally:
        for pair in pairs:
            for end in pair:
                end.close()


def _tcp_pair() -> tuple[socket.socket, socket.socket]:
    """(the proxy's end, the client's end) of a real TCP connection on 127.0.0.1."""
    with socket.create_server(("127.0.0.1", 0)) as server:
        client = socket.create_connection(server.getsockname())
        ours, _ = server.accept()
    return ours, client


@pytest.mark.parametrize("rdhup", [True, False], ids=["linux", "no-pollrdhup"])
def test_the_socket_watch_never_takes_data_for_a_hang_up_and_sees_a_reset_everywhere(monkeypatch, rdhup):
    """macOS has no POLLRDHUP: watching a client there once raised AttributeError in `responseheaders`, so mitmproxy
    buffered every event stream whole. Without it, a reset is still seen, and a client's data never looks like a
    hang-up (a FIN is seen only where POLLRDHUP is)."""
    import select

    if not rdhup:
        monkeypatch.delattr(select, "POLLRDHUP", raising=False)
    (talking, talker), (reset, resetter), (closed, closer) = _tcp_pair(), _tcp_pair(), _tcp_pair()
    sockets = SocketWatch(interval=0)
    try:
        for ours in (talking, reset, closed):
            sockets.watch(ours.fileno())
        talker.sendall(b"PING")  # an HTTP/2 client's frames while the answer streams
        resetter.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        resetter.close()  # linger 0: a reset
        closer.close()  # a FIN
        deadline = time.monotonic() + 5
        while not sockets.hung_up(reset.fileno()) and time.monotonic() < deadline:
            time.sleep(0.01)  # NOTE: the reset crosses the loopback at once; polled, never a fixed sleep
        assert [sockets.hung_up(ours.fileno()) for ours in (talking, reset, closed)] == [False, True, rdhup]
    finally:
        for end in (talking, talker, reset, closed):
            end.close()


def test_a_new_stream_is_never_told_of_an_answer_older_than_itself():
    """Answers are kept for `SOCKET_CHECK_INTERVAL`; a socket watched since then (its number may be a closed one's)
    gets a fresh answer."""
    (ours, theirs), (other, peer) = socket.socketpair(), socket.socketpair()
    sockets = SocketWatch(interval=3600)  # never stale by the clock
    try:
        sockets.watch(ours.fileno())
        assert sockets.hung_up(ours.fileno()) is False
        theirs.close()
        assert sockets.hung_up(ours.fileno()) is False  # the answer of a moment ago
        sockets.watch(other.fileno())
        assert sockets.hung_up(ours.fileno()) is True
    finally:
        for end in (ours, theirs, other, peer):
            end.close()
