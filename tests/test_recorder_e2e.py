"""End to end: a real mitmdump with the recorder addon between real clients and a local upstream.

One upstream and one mitmdump serve the whole module. Every test waits for its own streams' live lines
(blocking on mitmdump's output, never sleeping), then reads the recordings those lines name.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import resource
import signal
import socket
import ssl
import stat
import subprocess
import sys
import time
from pathlib import Path

import anthropic
import httpx
import openai
import pytest
from recorder_helpers import (
    CORPUS,
    ROOT,
    SECRET,
    WAIT,
    brotli_bomb,
    corpus_events,
    read_recording,
    recorded_body,
    run_h2_upstream,
    run_mitmdump,
    run_upstream,
    spawned_children,
    stream_events,
)

from inspector.inputs import open_source
from inspector.replay import Replay, ReplayServer
from inspector.sse import SSEParser

pytestmark = pytest.mark.slow

CHAT = "openai-chat/openai-python__text-plain.sse"
ANTHROPIC = "anthropic-messages/vercel-ai__text.sse"
PATHS = {"openai-chat": "/v1/chat/completions", "openai-responses": "/v1/responses",
         "anthropic-messages": "/v1/messages",
         "gemini-generate-content": "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse"}
_keys = itertools.count()


@pytest.fixture(scope="module")
def upstream():
    with run_upstream() as running:
        yield running


@pytest.fixture(scope="module")
def proxy(upstream, tmp_path_factory):
    with run_mitmdump(tmp_path_factory.mktemp("mitmdump"), upstream.url) as running:
        yield running


def recording_of(line: str) -> Path:
    """The recording a live line names (its last field), checked for secrets on the way."""
    path = Path(line.split()[-1])
    assert "SECRETVALUE" not in path.read_text(), f"the client's key reached {path}"
    return path


def read_in_lock_step(upstream, proxy, **headers: str) -> list[bytes]:
    """The events of `CHAT` as an httpx client got them from a lock-step upstream, which waits for the client to see
    event i before it sends i+1 (buffering anywhere would hang); asserts nothing else came."""
    key = f"lockstep-{next(_keys)}"
    expected = corpus_events(CHAT)
    received: list[bytes] = []
    with httpx.stream("POST", f"{proxy.url}/v1/chat/completions", json={"stream": True},
                      headers={"X-Corpus": CHAT, "X-Lockstep": key, **headers}, timeout=WAIT) as response:
        pending = b""
        for data in response.iter_raw():
            pending += data
            while len(received) < len(expected) and pending.startswith(expected[len(received)]):
                pending = pending[len(expected[len(received)]):]
                received.append(expected[len(received)])
                upstream.ack(key)
    assert pending == b""
    return received


def test_httpx_gets_each_event_before_the_next_is_sent(upstream, proxy):
    expected = corpus_events(CHAT)
    assert read_in_lock_step(upstream, proxy, Authorization=f"Bearer {SECRET}") == expected
    [line] = proxy.results(1)
    header, chunks, end = read_recording(recording_of(line))
    assert [chunk["text"].encode() for chunk in chunks] == expected  # one chunk per event, as sent
    assert [chunk["t"] for chunk in chunks] == sorted(chunk["t"] for chunk in chunks)
    assert (header["request"]["headers"]["Authorization"], end["reason"]) == ("Bearer …wxyz", "complete")
    assert line.split("  ")[1:5] == ["POST /v1/chat/completions", "openai-chat", "200", "34 events"]
    assert line.split("  ")[-2] == "ok"


@pytest.mark.parametrize("content_type", ["", "text/plain", "application/json"], ids=["none", "text", "json"])
def test_an_answer_to_a_stream_request_passes_chunk_by_chunk_whatever_its_content_type(upstream, proxy,
                                                                                          content_type):
    """Found with anyclaude's proxy, which sends its streams without a content type: mitmproxy buffered each whole
    answer, so the app got it in one piece at the end, and the recording had one chunk and no timing."""
    expected = corpus_events(CHAT)
    assert read_in_lock_step(upstream, proxy, **{"X-Content-Type": content_type}) == expected
    [line] = proxy.results(1)
    path = recording_of(line)
    _, chunks, _ = read_recording(path)
    assert [chunk["text"].encode() for chunk in chunks] == expected  # one chunk per event, as sent
    said = [finding.message for finding in open_source(str(path)).validate().findings
            if finding.rule == "http/content-type"]
    assert said == [("the response has no `content-type` header, where `text/event-stream` is expected"
                     if not content_type else f"expected `text/event-stream`, got `{content_type}`")
                    + ": EventSource and the clients that check the type refuse the stream; the openai and "
                      "anthropic Python SDKs read its events anyway"]


def test_openai_sdk_stream_is_complete_though_the_sdk_hangs_up_after_done(upstream, proxy):
    key = f"lockstep-{next(_keys)}"
    client = openai.OpenAI(base_url=f"{proxy.url}/v1", api_key=SECRET, max_retries=0, timeout=WAIT)
    chunks = client.chat.completions.create(
        model="gpt-4o", messages=[{"role": "user", "content": "hi"}], stream=True,
        extra_headers={"X-Corpus": CHAT, "X-Lockstep": key},
    )
    text = []
    for chunk in chunks:
        text.append(chunk.choices[0].delta.content or "" if chunk.choices else "")
        upstream.ack(key)
    upstream.ack(key)  # for `[DONE]`, which the Python SDK consumes without yielding
    chunks.close()
    [line] = proxy.results(1)
    source = open_source(str(recording_of(line)))
    check = source.validate()
    assert (source.end.reason, check.assembly.text, [f.rule for f in check.findings]) == ("complete", "".join(text), [])


def test_anthropic_sdk_sees_every_event_and_the_recording_is_complete(proxy):
    client = anthropic.Anthropic(base_url=proxy.url, api_key=SECRET, max_retries=0, timeout=WAIT)
    events = client.messages.create(
        model="claude-sonnet-4-5", max_tokens=64, messages=[{"role": "user", "content": "hi"}], stream=True,
        extra_headers={"X-Corpus": ANTHROPIC, "X-Delay-Ms": "2"},
    )
    seen = [event.type for event in events]
    sent = [event.type for event in SSEParser().feed((CORPUS / ANTHROPIC).read_bytes())]
    assert seen == [kind for kind in sent if kind != "ping"]  # the Python SDK drops pings
    [line] = proxy.results(1)
    header, _, end = read_recording(recording_of(line))
    api_key = {name.lower(): value for name, value in header["request"]["headers"].items()}["x-api-key"]
    assert (api_key, end["reason"]) == ("…wxyz", "complete")
    assert line.split("  ")[2] == "anthropic-messages" and line.split("  ")[-2] == "ok"


def test_many_concurrent_streams_get_complete_separate_recordings(proxy):
    expectations = json.loads((CORPUS / "expectations.json").read_text())
    names = sorted(name for name, verdict in expectations.items() if verdict == "pass")[:24]

    async def one(client: httpx.AsyncClient, name: str) -> bytes:
        path = PATHS[name.split("/")[0]]
        headers = {"X-Corpus": name, "X-Delay-Ms": "3", "Authorization": f"Bearer {SECRET}"}
        async with client.stream("POST", proxy.url + path, json={"stream": True}, headers=headers) as response:
            return await response.aread()

    async def all_at_once() -> list[bytes]:
        async with httpx.AsyncClient(timeout=WAIT, limits=httpx.Limits(max_connections=len(names))) as client:
            return await asyncio.gather(*(one(client, name) for name in names))

    bodies = asyncio.run(all_at_once())
    assert bodies == [(CORPUS / name).read_bytes() for name in names]
    lines = proxy.results(len(names))
    recorded = {}
    for line in lines:
        header, chunks, end = read_recording(recording_of(line))
        recorded[header["request"]["headers"]["X-Corpus"]] = (recorded_body(chunks), end["reason"])
    assert recorded == {name: ((CORPUS / name).read_bytes(), "complete") for name in names}
    assert len({line.split()[-1] for line in lines}) == len(names)
    assert len(names) >= 20


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc and asks for SCHED_IDLE")
def test_the_verdict_process_runs_at_the_lowest_cpu_priority(proxy):
    """A verdict only gets the CPU time the live streams leave: nice 19 and SCHED_IDLE, asked of the kernel."""
    response = httpx.post(f"{proxy.url}/v1/chat/completions", json={"stream": True}, headers={"X-Corpus": CHAT},
                          timeout=WAIT)
    assert response.status_code == 200
    proxy.results(1)  # judged: the verdict process is running
    [child] = spawned_children(proxy.process.pid)
    assert (os.getpriority(os.PRIO_PROCESS, child), os.sched_getscheduler(child)) == (19, os.SCHED_IDLE)
    assert os.getpriority(os.PRIO_PROCESS, proxy.process.pid) == os.getpriority(os.PRIO_PROCESS, 0)  # the proxy's own


def test_a_proxy_killed_outright_mid_stream_leaves_what_the_client_got_recorded(upstream, tmp_path):
    """`kill -9` while a stream is held mid-way: the chunks the client had are on disk already (a paced chunk
    waits at most `WRITE_DELAY`, without the stream ending), and the file reads as a recording cut short."""
    key = f"lockstep-{next(_keys)}"
    expected = corpus_events(CHAT)[:5]
    with run_mitmdump(tmp_path, upstream.url) as proxy:
        headers = {"X-Corpus": CHAT, "X-Lockstep": key}
        with httpx.stream("POST", f"{proxy.url}/v1/chat/completions", json={"stream": True}, headers=headers,
                          timeout=WAIT) as response:
            raw = response.iter_raw()  # NOTE: kept, not left by `break`: that would close the client's connection
            got, pending = 0, b""
            while got < len(expected):
                pending += next(raw)
                while got < len(expected) and pending.startswith(expected[got]):
                    pending, got = pending[len(expected[got]):], got + 1
                    if got < len(expected):
                        upstream.ack(key)  # the upstream sends the next event only once this one came
            # held: the upstream waits for an ack that comes only after the kill, the client still connected
            deadline = time.monotonic() + WAIT / 2  # NOTE: the upstream holds the stream for WAIT, then gives up
            while _chunks_on_disk(proxy.directory) < len(expected) and time.monotonic() < deadline:
                time.sleep(0.01)  # NOTE: polled, not slept for a fixed time: the write comes `WRITE_DELAY` later
            assert upstream.gate(f"{key}:sent").empty(), "the upstream gave up: the stream was not held"
            proxy.process.kill()
            proxy.process.wait(WAIT)
            upstream.ack(key)  # its next write fails on the dead connection, and it lets go
    [recording] = proxy.directory.glob("*.jsonl")
    _, chunks, end = read_recording(recording)
    assert ([chunk["text"].encode() for chunk in chunks], end) == (expected, None)
    source = open_source(str(recording))
    assert (source.end, source.validate().events) == (None, len(expected))


def _chunks_on_disk(directory: Path) -> int:
    """The chunk lines of the one recording in `directory` so far (a line being written is not one yet)."""
    lines = [line for path in directory.glob("*.jsonl") for line in path.read_bytes().split(b"\n")[1:]]
    return sum(line.startswith(b'{"kind":"chunk"') and line.endswith(b"}") for line in lines)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_the_verdict_process_leaves_with_a_proxy_killed_outright(upstream, tmp_path):
    """`record` killed with SIGKILL (out of memory, `kill -9`) leaves no verdict process behind, orphaned."""
    with run_mitmdump(tmp_path, upstream.url) as proxy:
        response = httpx.post(f"{proxy.url}/v1/chat/completions", json={"stream": True},
                              headers={"X-Corpus": CHAT}, timeout=WAIT)
        assert response.status_code == 200
        proxy.results(1)  # judged: the verdict process is running
        [child] = spawned_children(proxy.process.pid)
        proxy.process.kill()
        proxy.process.wait(WAIT)
        deadline = time.monotonic() + WAIT
        while Path(f"/proc/{child}").exists() and time.monotonic() < deadline:
            time.sleep(0.05)  # NOTE: the orphan's reaper (init or a subreaper) removes it once it has exited
        alive = Path(f"/proc/{child}").exists() and "Z" not in Path(f"/proc/{child}/stat").read_text().split()[2]
        if alive:
            os.kill(child, signal.SIGKILL)  # clean up before failing
        assert not alive


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_a_stream_waiting_in_a_verdict_process_that_dies_is_judged_in_a_new_one(upstream, tmp_path):
    """The verdict process killed (out of memory, an operator) with a verdict waiting in it: that stream gets its
    true verdict from a new process, and so do the streams after it."""
    with run_mitmdump(tmp_path, upstream.url) as proxy:
        def stream() -> None:
            response = httpx.post(f"{proxy.url}/v1/chat/completions", json={"stream": True},
                                  headers={"X-Corpus": CHAT}, timeout=WAIT)
            assert response.status_code == 200

        stream()
        proxy.results(1)  # the verdict process runs
        [child] = spawned_children(proxy.process.pid)
        os.kill(child, signal.SIGSTOP)  # the next verdict waits in it...
        stream()
        time.sleep(0.5)  # NOTE: the proxy hands the stream over just after the client has its last byte
        os.kill(child, signal.SIGKILL)  # ...when it dies
        stream()
        lines = proxy.results(2)
    ends = [read_recording(recording_of(line))[2] for line in lines]
    assert [(end["reason"], line.split("  ")[-2]) for end, line in zip(ends, lines, strict=True)] == [
        ("complete", "ok"), ("complete", "ok")]


def test_upstream_that_dies_mid_stream_is_recorded_as_cut_and_fails(proxy):
    headers = {"X-Corpus": CHAT, "X-Cut-After": "3"}
    with pytest.raises(httpx.RemoteProtocolError), httpx.stream(
        "POST", f"{proxy.url}/v1/chat/completions", json={"stream": True}, headers=headers, timeout=WAIT
    ) as response:
        response.read()
    [line] = proxy.results(1)
    source = open_source(str(recording_of(line)))
    check = source.validate()
    assert (source.end.reason, check.events) == ("upstream-closed", 3)
    [(rule, index, message)] = [(finding.rule, finding.index, finding.message) for finding in check.findings]
    assert (rule, index) == ("chat/done-missing", 3)  # one break, where it broke: inside event 3, which is lost
    assert "the body ended inside event 3" in message and "so it is lost" in message, message
    assert "cut after 3 events (upstream-closed)" in line and "FAIL" in line


def test_upstream_that_breaks_the_connection_after_the_last_event_is_recorded_as_broken(proxy):
    """Found through lm-proxy: an upstream that dropped its connection after `message_stop`, without the chunked
    body's last chunk, was recorded `complete` and validated clean, while the anthropic SDK behind the proxy raised."""
    headers = {"X-Corpus": ANTHROPIC, "X-Cut-After": str(len(corpus_events(ANTHROPIC)))}
    client = anthropic.Anthropic(base_url=proxy.url, api_key=SECRET, max_retries=0, default_headers=headers)
    with pytest.raises(httpx.RemoteProtocolError), client.messages.stream(
            model="m", max_tokens=1000, messages=[{"role": "user", "content": "hi"}]) as stream:
        stream.get_final_message()
    [line] = proxy.results(1)
    source = open_source(str(recording_of(line)))
    check = source.validate()
    assert (source.end.reason, check.events, check.assembly.ended) == ("upstream-closed", 12, True)
    assert [finding.rule for finding in check.findings] == ["sse/broken-after-end"]
    assert "  12 events  " in line and "FAIL 1 error  sse/broken-after-end: the server broke" in line, line


def test_client_abort_is_recorded_as_such(upstream, proxy):
    key = f"lockstep-{next(_keys)}"
    headers = {"X-Corpus": CHAT, "X-Lockstep": key}
    with httpx.stream("POST", f"{proxy.url}/v1/chat/completions", json={"stream": True}, headers=headers,
                      timeout=WAIT) as response:
        first = next(response.iter_raw())
    [line] = proxy.results(1)
    for _ in corpus_events(CHAT):
        upstream.ack(key)  # let the upstream run into the closed connection and end
    _, chunks, end = read_recording(recording_of(line))
    assert (recorded_body(chunks), end["reason"]) == (first, "client-disconnected")
    assert "(client-disconnected)" in line


def test_a_client_gone_at_an_in_band_error_before_the_rest_came_is_not_recorded_complete(upstream, proxy):
    """Kilo Code (the Vercel AI SDK) hangs up at a Responses `error` event; the server's `response.failed` was still
    to come. The recording said `complete`, as if the server had ended there, and lost the final status."""
    key = f"lockstep-{next(_keys)}"
    name = "openai-responses/vercel-ai__error-then-failed.sse"
    events = corpus_events(name)
    with httpx.stream("POST", f"{proxy.url}/v1/responses", json={"stream": True}, timeout=WAIT,
                      headers={"X-Corpus": name, "X-Lockstep": key}) as response:
        received = b""
        for piece in response.iter_raw():
            received += piece
            if received.endswith(events[2]):
                break  # the error event: the client leaves
            upstream.ack(key)
    [line] = proxy.results(1)
    for _ in events:
        upstream.ack(key)
    _, chunks, end = read_recording(recording_of(line))
    assert (recorded_body(chunks), end["reason"]) == (b"".join(events[:3]), "client-disconnected")
    check = open_source(str(recording_of(line))).validate()
    assert [finding.rule for finding in check.findings] == ["responses/error-event", "sse/not-ended-by-server"]


def test_a_client_gone_before_the_proxy_read_the_rest_is_not_recorded_complete(upstream, proxy):
    """The client hangs up after the first event; only then does a busy proxy (here: stopped with SIGSTOP) get to
    the rest of the body, terminal event included. The client never got it, so it is not recorded."""
    key = f"lockstep-{next(_keys)}"
    host, port = proxy.url.removeprefix("http://").rsplit(":", 1)
    client = socket.create_connection((host, int(port)))
    try:
        client.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nX-Corpus: %s\r\nX-Lockstep: %s\r\n"
                       b"Content-Length: 16\r\n\r\n{\"stream\": true}" % (CHAT.encode(), key.encode()))
        received = b""
        while b"\n\n" not in received.partition(b"\r\n\r\n")[2]:
            received += client.recv(65536)
        proxy.process.send_signal(signal.SIGSTOP)
        os.waitpid(proxy.process.pid, os.WUNTRACED)  # NOTE: stopped for sure before the upstream sends the rest
        for _ in corpus_events(CHAT):
            upstream.ack(key)
        upstream.wait_sent(key)  # the whole body waits in the stopped proxy's socket
    finally:
        client.close()
        proxy.process.send_signal(signal.SIGCONT)
    [line] = proxy.results(1)
    _, chunks, end = read_recording(recording_of(line))
    first_event = corpus_events(CHAT)[0]
    assert (recorded_body(chunks), end["reason"]) == (first_event, "client-disconnected")
    assert "cut after 1 event (client-disconnected)" in line


def test_error_answer_to_a_streaming_request_is_recorded(proxy):
    client = openai.OpenAI(base_url=f"{proxy.url}/v1", api_key=SECRET, max_retries=0, timeout=WAIT)
    with pytest.raises(openai.AuthenticationError):
        client.chat.completions.create(
            model="gpt-4o", messages=[{"role": "user", "content": "hi"}], stream=True,
            extra_headers={"X-Status": "401"},
        )
    [line] = proxy.results(1)
    header, _, end = read_recording(recording_of(line))
    assert (header["response"]["status"], end["reason"]) == (401, "complete")
    assert line.split("  ")[3:-1] == [
        "401", "0 events", "FAIL 1 error", "http/error-status: HTTP 401: Incorrect API key provided"
    ]


def test_an_answer_mitmproxy_refuses_is_recorded_with_the_reason_the_app_got_a_502(proxy):
    """An upstream answering a streaming request with both Content-Length and chunked framing: mitmproxy refuses it
    and the app gets a 502. Recorded as an answer that never reached the app, with mitmproxy's reason, and no
    finding about events: the body was never read; `serve` answers it as no answer."""
    response = httpx.post(f"{proxy.url}/v1/chat/completions", json={"stream": True}, timeout=WAIT,
                          headers={"X-Corpus": CHAT, "X-Both-Lengths": "1"})
    assert response.status_code == 502
    [line] = proxy.results(1)
    header, chunks, end = read_recording(Path(line.split()[-1]))
    assert (header["response"], chunks, end["reason"]) == (None, [], "upstream-closed")
    assert "both transfer-encoding and content-length headers from server" in end["error"]
    assert line.split("  ")[3:6] == ["---", "no response", "FAIL " + end["error"][:99] + "…"], line
    assert [finding.rule for finding in open_source(line.split()[-1]).validate().findings] == ["http/no-response"]
    with ReplayServer(Replay.from_paths([line.split()[-1]])) as server, pytest.raises(httpx.RemoteProtocolError,
                                                                                      match="without sending"):
        httpx.post(f"{server.url}/v1/chat/completions", json={"stream": True}, timeout=WAIT)


def test_record_command_prints_where_to_point_the_app_and_a_summary(upstream, record_command, tmp_path):
    """`sse-inspector record` in reverse mode on a port the OS picks; Ctrl-C (SIGINT) ends it cleanly."""
    command, base_url, banner = record_command("--reverse", upstream.url, "--dir", str(tmp_path / "rec"))
    assert banner == [f"recording to {tmp_path / 'rec'}/ — reverse proxy for {upstream.url} on {base_url}",
                      f"  openai:    OPENAI_BASE_URL={base_url}/v1", f"  anthropic: ANTHROPIC_BASE_URL={base_url}",
                      f"  gemini:    GOOGLE_GEMINI_BASE_URL={base_url}",
                      f"  other:     base URL {base_url} followed by the path the upstream expects"]
    assert base_url.startswith("http://127.0.0.1:")
    response = httpx.post(f"{base_url}/v1/chat/completions", json={"stream": True},
                          headers={"X-Corpus": CHAT}, timeout=WAIT)
    assert response.content == (CORPUS / CHAT).read_bytes()
    live = command.line()
    assert live.split("  ")[1:] == ["POST /v1/chat/completions", "openai-chat", "200", "34 events",
                                    live.split("  ")[5], "ok"]
    assert command.stop() == (0, [f"stopped: 1 stream recorded to {tmp_path / 'rec'}/ (1 ok, 0 failed)"], "")


def test_bytes_that_are_not_utf8_in_headers_and_body_are_recorded_not_a_traceback(upstream, record_command, run_cli,
                                                                                 tmp_path):
    """A third-party server's Latin-1 header, a client's, and a JSON body holding a secret and a lone surrogate
    escape: mitmproxy hands them over as lone surrogates. The stream is recorded and judged like any other."""
    command, base_url, _ = record_command("--reverse", upstream.url, "--dir", str(tmp_path / "rec"))
    body = b'{"stream": true, "api_key": "%s", "x": "\\ud800"}' % SECRET.encode()
    response = httpx.post(f"{base_url}/v1/chat/completions", content=body, timeout=WAIT,
                          headers={"X-Corpus": CHAT, "X-Latin1-Header": "1", "X-Client-Note": b"caf\xe9",
                                   "Content-Type": "application/json"})
    assert response.content == (CORPUS / CHAT).read_bytes()
    assert command.line().endswith("  ok")
    assert command.stop() == (0, [f"stopped: 1 stream recorded to {tmp_path / 'rec'}/ (1 ok, 0 failed)"], "")
    [path] = (tmp_path / "rec").iterdir()
    text = path.read_bytes().decode("utf-8")  # strict
    assert "SECRETVALUE" not in text
    header, _, end = read_recording(path)
    latin1 = b"caf\xe9".decode("utf-8", "surrogateescape")
    assert header["response"]["headers"]["X-Note"] == latin1
    assert header["request"]["headers"]["X-Client-Note"] == latin1
    assert json.loads(header["request"]["body"]) == {"stream": True, "api_key": "…wxyz", "x": "\ud800"}
    assert end["reason"] == "complete"
    for args in (("validate", str(path)), ("view", str(path)), ("view", "--json", str(path)), ("ls", str(path))):
        done = run_cli(*args)
        assert (done.code, "Traceback" in done.err) == (0, False), (args, done.err)


def test_a_recording_that_cannot_grow_leaves_the_stream_whole_and_says_why_in_a_line(upstream, record_command,
                                                                                     run_cli, tmp_path):
    """The recorder may not write past 64 KiB in a file (RLIMIT_FSIZE: what a full disk does to a recording in the
    middle of a stream). The app gets every byte; one line names the recording that stopped, one that it could not
    be ended; no traceback; the stream is reported as failed, and its file is still read as a cut recording."""
    command, base_url, _ = record_command("--reverse", upstream.url, "--dir", str(tmp_path / "rec"),
                                          limits={resource.RLIMIT_FSIZE: (64 * 1024, 64 * 1024)})
    response = httpx.post(f"{base_url}/v1/chat/completions", json={"stream": True}, timeout=WAIT,
                          headers={"X-Corpus": CHAT, "X-Repeat": "20"})
    assert response.content == b"".join(stream_events(CHAT, 20))
    live = command.line()
    assert "(error)" in live and "FAIL recorder failed: [Errno 27] File too large" in live, live
    code, rest, err = command.stop()
    [path] = (tmp_path / "rec").iterdir()
    assert (code, rest) == (0, [f"stopped: 1 stream recorded to {tmp_path / 'rec'}/ (0 ok, 1 failed)"])
    assert [line.split("] ", 1)[-1] for line in err.splitlines()] == [
        f"sse-inspector: error: recording {path} stopped (File too large): the stream passes through unrecorded",
        f"sse-inspector: error: cannot end {path} (File too large)"]
    assert path.stat().st_size <= 64 * 1024
    viewed = run_cli("view", "--json", str(path))
    assert (viewed.code, json.loads(viewed.out)["end"]) == (1, None)  # read as a recording cut short


def test_record_raises_its_open_file_limit_so_many_streams_are_all_recorded(upstream, record_command, tmp_path):
    """A recorded stream holds three descriptors (two sockets and its file). Started with a soft limit of 64 open
    files, as a low default would, `record` raises it towards the hard one: 40 streams at once all pass and are all
    recorded (without it, connections are refused and streams go unrecorded)."""
    command, base_url, _ = record_command("--reverse", upstream.url, "--dir", str(tmp_path / "rec"),
                                          limits={resource.RLIMIT_NOFILE: (64, 4096)})
    count = 40

    async def one(client: httpx.AsyncClient) -> bytes:
        headers = {"X-Corpus": CHAT, "X-Delay-Ms": "5"}
        async with client.stream("POST", f"{base_url}/v1/chat/completions", json={"stream": True},
                                 headers=headers) as response:
            return await response.aread()

    async def all_at_once() -> list[bytes]:
        async with httpx.AsyncClient(timeout=WAIT, limits=httpx.Limits(max_connections=count)) as client:
            return await asyncio.gather(*(one(client) for _ in range(count)))

    assert asyncio.run(all_at_once()) == [(CORPUS / CHAT).read_bytes()] * count
    assert [command.line().endswith("  ok") for _ in range(count)] == [True] * count
    summary = f"stopped: {count} streams recorded to {tmp_path / 'rec'}/ ({count} ok, 0 failed)"
    assert command.stop() == (0, [summary], "")


def test_a_decompression_bomb_passes_to_the_app_and_stops_only_its_recording(upstream, record_command, tmp_path):
    """An upstream's brotli body of a hundred bytes that decodes to 64 MiB: the app gets its bytes as they came; the
    recorder stops decoding at a thousand times their size and says so in one line (its memory never holds 64 MiB:
    `test_recorder_decode.py`)."""
    command, base_url, _ = record_command("--reverse", upstream.url, "--dir", str(tmp_path / "rec"))
    with httpx.stream("POST", f"{base_url}/v1/chat/completions", json={"stream": True}, timeout=WAIT,
                      headers={"X-Bomb": "br", "Accept-Encoding": "br"}) as response:
        assert b"".join(response.iter_raw()) == brotli_bomb()
    live = command.line()
    assert "FAIL recorder failed: the body decodes to over 1000 times its encoded size" in live, live
    code, _, err = command.stop()
    [path] = (tmp_path / "rec").iterdir()
    assert (code, [line.split("] ", 1)[-1] for line in err.splitlines()]) == (0, [
        f"sse-inspector: error: recording {path} stopped (the body decodes to over 1000 times its encoded size "
        f"(past {1 + 1000 * len(brotli_bomb()) + (1 << 20) - 1} bytes), as a decompression bomb does: not recorded "
        "further): the stream passes through unrecorded"])


def test_record_command_stopped_mid_stream_ends_the_stream_as_stopped(upstream, record_command, tmp_path):
    """Ctrl-C while the lock-step upstream holds its second event back: no traceback, the recording says so."""
    command, base_url, _ = record_command("--reverse", upstream.url, "--dir", str(tmp_path / "rec"))
    key = f"lockstep-{next(_keys)}"
    headers = {"X-Corpus": CHAT, "X-Lockstep": key}
    with httpx.stream("POST", f"{base_url}/v1/chat/completions", json={"stream": True}, headers=headers,
                      timeout=WAIT) as response:
        body = response.iter_raw()
        first = next(body)
        code, out, err = command.stop()
        with pytest.raises(httpx.RemoteProtocolError):  # the client sees its stream cut, not ended
            b"".join(body)
    for _ in corpus_events(CHAT):
        upstream.ack(key)  # let the upstream run into the closed connection and end
    assert (code, err) == (0, "")
    assert [line.split("  ", 1)[-1] for line in out] == [
        "POST /v1/chat/completions  openai-chat  200  cut after 1 event (error)  "
        "FAIL the recorder stopped before the stream ended (1 warning)",
        f"stopped: 1 stream recorded to {tmp_path / 'rec'}/ (0 ok, 1 failed)",
    ]
    [path] = (tmp_path / "rec").iterdir()
    _, chunks, end = read_recording(path)
    assert (recorded_body(chunks), end["reason"], end["error"]) == (
        first, "error", "the recorder stopped before the stream ended")


def test_an_upstream_that_refuses_gets_the_client_a_502_and_is_recorded_with_the_error(record_command, tmp_path):
    with socket.socket() as refusing:  # bound, not listening: a connection to it is refused
        refusing.bind(("127.0.0.1", 0))
        address = refusing.getsockname()
        command, base_url, _ = record_command("--reverse", f"http://127.0.0.1:{address[1]}",
                                              "--dir", str(tmp_path / "rec"))
        response = httpx.post(f"{base_url}/v1/chat/completions", json={"stream": True}, timeout=WAIT)
        live = command.line()
    code, out, err = command.stop()
    assert response.status_code == 502
    assert live.split("  ")[1:5] == ["POST /v1/chat/completions", "openai-chat", "---", "no response"]
    [path] = (tmp_path / "rec").iterdir()
    header, chunks, end = read_recording(path)
    assert (header["response"], chunks, end["reason"], end["error"]) == (
        None, [], "error", f"[Errno 111] Connect call failed {address!r}")
    assert (code, out, err) == (0, [f"stopped: 1 stream recorded to {tmp_path / 'rec'}/ (0 ok, 1 failed)"], "")


def test_record_command_on_a_port_in_use_says_so_in_one_line(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "inspector", "record", "--port", str(port), "--dir", str(tmp_path / "rec")],
            capture_output=True, text=True, timeout=WAIT, cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
    assert (result.returncode, result.stdout, result.stderr) == (
        2, "", f"sse-inspector: error: port {port} on 127.0.0.1 is in use: pick another with --port (0 lets the OS "
               "choose)\n")


def test_unwritable_directory_leaves_traffic_alone_with_one_error_line(upstream, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    with run_mitmdump(tmp_path, upstream.url, directory=blocker / "rec") as running:
        bodies = [
            httpx.post(f"{running.url}/v1/chat/completions", json={"stream": True}, headers={"X-Corpus": CHAT},
                       timeout=WAIT).content
            for _ in range(2)
        ]
    assert bodies == [(CORPUS / CHAT).read_bytes()] * 2
    output = []
    while not running.lines.empty():
        output.append(running.lines.get().rstrip())
    errors = [line.split("] ", 1)[-1] for line in output if "cannot write recordings" in line]
    assert errors == [f"sse-inspector: error: cannot write recordings to {blocker / 'rec'} (Not a directory): "
                      "traffic passes through unrecorded"]
    assert running.process.returncode == 0


def test_http2_on_both_sides(tmp_path):
    """A client speaking HTTP/2 (TLS, ALPN h2) through mitmdump to an HTTP/2 upstream: streamed and recorded."""
    with run_h2_upstream(tmp_path) as upstream_url, run_mitmdump(
        tmp_path, upstream_url, "--set", "ssl_insecure=true"
    ) as running, httpx.Client(http2=True, verify=False, timeout=WAIT) as client:
        url = running.url.replace("http://", "https://") + "/v1/chat/completions"
        headers = {"X-Corpus": CHAT, "X-Delay-Ms": "1"}
        with client.stream("POST", url, json={"stream": True}, headers=headers) as response:
            version, body = response.http_version, response.read()
        [line] = running.results(1)
    assert (version, body) == ("HTTP/2", (CORPUS / CHAT).read_bytes())
    header, chunks, end = read_recording(recording_of(line))
    assert [chunk["text"].encode() for chunk in chunks] == corpus_events(CHAT)  # one DATA frame per event
    assert (end["reason"], line.split("  ")[-2]) == ("complete", "ok")


def test_a_one_megabyte_request_body_round_trips_through_every_command(proxy, run_cli, tmp_path):
    """A long conversation: the header line is over 1 MB; recorded, listed, viewed, validated and diffed."""
    conversation = [{"role": "user", "content": f"turn {n}: " + "lorem ipsum " * 800} for n in range(110)]
    body = {"model": "gpt-4o", "stream": True, "messages": conversation}
    assert len(json.dumps(body)) > 1_000_000
    with httpx.stream("POST", f"{proxy.url}/v1/chat/completions", json=body,
                      headers={"X-Corpus": CHAT}, timeout=WAIT) as response:
        received = response.read()
    [line] = proxy.results(1)
    assert received == (CORPUS / CHAT).read_bytes()
    assert line.split("  ")[-2] == "ok", line
    path = Path(line.split()[-1])
    header, chunks, end = read_recording(path)
    assert json.loads(header["request"]["body"]) == body
    assert (recorded_body(chunks), end["reason"]) == (received, "complete")

    listed = run_cli("ls", "--json", str(path))
    assert (listed.code, json.loads(listed.out)["verdict"]) == (0, "pass")
    viewed = run_cli("view", "--json", str(path))
    assert (viewed.code, json.loads(viewed.out)["end"]["reason"]) == (0, "complete")
    assert run_cli("validate", str(path)).code == 0
    assert run_cli("events", str(path)).code == 0
    compared = run_cli("diff", str(path), str(CORPUS / CHAT))
    assert (compared.code, compared.err) == (0, "")


def test_a_large_request_is_recorded_redacted_whole(upstream, record_command, tmp_path):
    """A request of a few MB (an image): its body is made ready on the proxy's worker thread, and written around."""
    command, base_url, _ = record_command("--reverse", upstream.url, "--dir", str(tmp_path / "rec"))
    image = "iVBORw0KGgo" * 300_000
    body = {"model": "m", "stream": True, "api_key": SECRET, "messages": [{"role": "user", "content": [
        {"type": "text", "text": "Qu'est-ce que c'est ? \"🙂\"\n"},
        {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{image}"}}]}]}
    with httpx.stream("POST", f"{base_url}/v1/chat/completions", json=body, headers={"X-Corpus": CHAT},
                      timeout=WAIT) as response:
        response.read()
    assert command.line().endswith("  ok")
    [path] = (tmp_path / "rec").iterdir()
    assert "SECRETVALUE" not in path.read_text()
    header, _, end = read_recording(path)
    assert end["reason"] == "complete"
    assert json.loads(header["request"]["body"]) == {**body, "api_key": "…wxyz"}


@pytest.mark.parametrize("padding", [0, 300_000], ids=["on the loop", "large, on the worker thread"])
def test_a_secret_under_a_key_given_twice_does_not_reach_disk_however_the_body_is_spaced(
        upstream, record_command, tmp_path, padding):
    """A key given twice hides a secret from the parser; spacing before a colon once threw the key count off by
    as many, and the body was kept as it came."""
    command, base_url, _ = record_command("--reverse", upstream.url, "--dir", str(tmp_path / "rec"))
    body = f'{{"stream": true, "api_key": "{SECRET}", "api_key": 1, "model" : "{"m" * padding}"}}'
    with httpx.stream("POST", f"{base_url}/v1/chat/completions", content=body, timeout=WAIT,
                      headers={"X-Corpus": CHAT, "Content-Type": "application/json"}) as response:
        response.read()
    assert command.line().endswith("  ok")
    [path] = (tmp_path / "rec").iterdir()
    assert "SECRETVALUE" not in path.read_text()
    header, _, _ = read_recording(path)
    assert json.loads(header["request"]["body"]) == {"stream": True, "api_key": 1, "model": "m" * padding}


def test_a_key_an_error_body_echoes_does_not_reach_disk(upstream, record_command, run_cli, tmp_path):
    """A hostile upstream's 401 body quoted the `Authorization` the client sent: the recorder kept it in full, and
    `record`'s live line, `validate` and `view` showed it. The client still gets the body as it came."""
    command, base_url, _ = record_command("--reverse", upstream.url, "--dir", str(tmp_path / "rec"))
    headers = {"X-Corpus": CHAT, "X-Status": "401", "X-Echo-Key": "1", "Authorization": f"Bearer {SECRET}"}
    with httpx.stream("POST", f"{base_url}/v1/chat/completions", json={"stream": True}, headers=headers,
                      timeout=WAIT) as response:
        got = response.read()
    live = command.line()
    assert SECRET in got.decode() and "SECRETVALUE" not in live
    [path] = (tmp_path / "rec").iterdir()
    assert "SECRETVALUE" not in path.read_text()
    assert "Incorrect API key provided: Bearer …wxyz" in run_cli("validate", str(path)).out


def test_no_secret_reaches_disk_wherever_the_client_or_the_upstream_puts_it(upstream, record_command, run_cli,
                                                                           tmp_path):
    """Headers (Cookie, one named by `record --redact`), query parameters, JSON fields at any depth, the
    response's Set-Cookie, a form-encoded body's fields."""
    command, base_url, _ = record_command("--reverse", upstream.url, "--dir", str(tmp_path / "rec"),
                                          "--redact", "X-Team-Id")
    body = {"stream": True, "max_tokens": 77, "top_k": 5, "openai_api_key": SECRET, "private_key": SECRET,
            "metadata": {"x-api-key": SECRET, "items": [{"sessionToken": SECRET}]}, "messages": []}
    headers = {"X-Corpus": CHAT, "Authorization": f"Bearer {SECRET}", "Cookie": f"session={SECRET}; theme=dark",
               "X-Team-Id": SECRET}
    url = f"{base_url}/v1/chat/completions?openai_api_key={SECRET}&alt=sse"
    with httpx.stream("POST", url, json=body, headers=headers, timeout=WAIT) as response:
        response.read()
    assert command.line().endswith("  ok")
    [path] = (tmp_path / "rec").iterdir()
    text = path.read_text()
    assert "SECRETVALUE" not in text
    header, _, _ = read_recording(path)
    request = header["request"]
    assert json.loads(request["body"])["max_tokens"] == 77 and json.loads(request["body"])["top_k"] == 5
    assert request["url"].endswith("?openai_api_key=…wxyz&alt=sse")
    sent = {name.lower(): value for name, value in request["headers"].items()}
    assert (sent["cookie"], sent["x-team-id"], sent["authorization"]) == ("…dark", "…wxyz", "Bearer …wxyz")
    assert {name.lower(): value for name, value in header["response"]["headers"].items()}["set-cookie"] == "…wxyz"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600

    form = f"model=m&stream=true&client_secret={SECRET}&password={SECRET}"
    with httpx.stream("POST", f"{base_url}/v1/chat/completions", content=form, timeout=WAIT,
                      headers={"X-Corpus": CHAT, "Content-Type": "application/x-www-form-urlencoded"}) as response:
        response.read()
    assert command.line().endswith("  ok")
    [form_path] = set((tmp_path / "rec").iterdir()) - {path}
    assert "SECRETVALUE" not in form_path.read_text()
    assert read_recording(form_path)[0]["request"]["body"] == "model=m&stream=true&client_secret=…wxyz&password=…wxyz"

    page = tmp_path / "page.html"
    page.write_text("")
    os.chmod(page, 0o644)
    assert run_cli("view", "--html", str(page), str(path)).code == 0
    assert stat.S_IMODE(page.stat().st_mode) == 0o600  # it holds the prompt: like a recording


def _handshake_then_hang_up(proxy_address: str, host: str) -> None:
    """Through the proxy's CONNECT tunnel, start a TLS handshake with `host` and close the connection at the proxy's
    certificate without a TLS alert, as Node does when it does not trust it."""
    proxy_host, port = proxy_address.rsplit(":", 1)
    with socket.create_connection((proxy_host, int(port)), timeout=WAIT) as connection:
        connection.sendall(f"CONNECT {host}:443 HTTP/1.1\r\nHost: {host}:443\r\n\r\n".encode())
        answer = b""
        while b"\r\n\r\n" not in answer:
            answer += connection.recv(4096)
        incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
        client = ssl.create_default_context().wrap_bio(incoming, outgoing, server_hostname=host)
        with contextlib.suppress(ssl.SSLWantReadError):
            client.do_handshake()
        connection.sendall(outgoing.read())
        connection.recv(65536)  # the proxy's hello and certificate: then nothing, as Node does


def test_a_client_that_hangs_up_at_the_proxy_certificate_is_told_where_the_ca_is_once_per_host(record_command):
    """Node closes the connection at a certificate it does not trust, without a TLS alert: mitmproxy logs that at
    info level, which `record` does not show, and Continue's CLI said only "Connection error."."""
    command, _, banner = record_command("--regular", banner_lines=4)
    address = banner[0].split("http://")[-1]
    for host in ("api.openai.com", "api.openai.com", "api.anthropic.com"):
        _handshake_then_hang_up(address, host)
    code, _, errors = command.stop()
    said = [line for line in errors.splitlines() if "broke off its TLS handshake" in line]
    assert code == 0 and len(said) == 2, errors
    assert said[0].endswith("a client broke off its TLS handshake for api.openai.com: it may not trust the proxy's "
                            f"certificate; give it the CA, {Path.home() / '.mitmproxy' / 'mitmproxy-ca-cert.pem'} "
                            "(SSL_CERT_FILE for Python, NODE_EXTRA_CA_CERTS for Node; said once per host)")
