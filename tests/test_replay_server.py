"""The replay server over real HTTP: the official SDKs read what was recorded; status, headers, faults, CLI."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import anthropic
import httpx
import openai
import pytest

from inspector.cli import cli
from inspector.inputs import open_source
from inspector.recording import Header, RecordingWriter
from inspector.replay import Faults, Replay, ReplayServer, describe
from inspector.sse import SSEParser

pytestmark = pytest.mark.slow

ROOT = Path(__file__).parent.parent
CORPUS = ROOT / "tests" / "fixtures" / "corpus"
EXAMPLES = ROOT / "recordings" / "examples"
FAST = 200.0  # speed: a raw file's 20 ms per event becomes 0.1 ms


def _recorded(path: Path) -> tuple[str, list[tuple[str | None, str | None, str]]]:
    """What the validator's Assembly says the stream contains: text, and tool calls as (id, name, arguments)."""
    assembly = open_source(str(path)).validate().assembly
    return assembly.text, [(call.id, call.name, call.arguments) for call in assembly.tool_calls]


def _serve(path: Path, **faults: object) -> ReplayServer:
    return ReplayServer(Replay.from_paths([str(path)], speed=FAST, faults=Faults(**faults)))


def _read_chat(base_url: str) -> tuple[str, list[tuple[str | None, str | None, str]]]:
    client = openai.OpenAI(base_url=f"{base_url}/v1", api_key="test", max_retries=0)
    text, calls = [], {}
    stream = client.chat.completions.create(
        model="m", messages=[{"role": "user", "content": "hi"}], stream=True, stream_options={"include_usage": True}
    )
    for chunk in stream:
        for choice in chunk.choices:
            if choice.index != 0:
                continue
            text.append(choice.delta.content or "")
            for fragment in choice.delta.tool_calls or []:
                call = calls.setdefault(fragment.index, {"id": None, "name": None, "arguments": ""})
                call["id"] = call["id"] or fragment.id
                if fragment.function:
                    call["name"] = call["name"] or fragment.function.name
                    call["arguments"] += fragment.function.arguments or ""
    return "".join(text), [(call["id"], call["name"], call["arguments"]) for _, call in sorted(calls.items())]


def _read_responses(base_url: str) -> tuple[str, list[tuple[str | None, str | None, str]]]:
    client = openai.OpenAI(base_url=f"{base_url}/v1", api_key="test", max_retries=0)
    text, calls = [], []
    for event in client.responses.create(model="m", input="hi", stream=True):
        if event.type == "response.output_text.delta":
            text.append(event.delta)
        elif event.type == "response.output_item.done" and event.item.type == "function_call":
            calls.append((event.item.call_id, event.item.name, event.item.arguments))
    return "".join(text), calls


def _read_messages(base_url: str) -> tuple[str, list[tuple[str | None, str | None, str]]]:
    client = anthropic.Anthropic(base_url=base_url, api_key="test", max_retries=0)
    text, blocks = [], {}
    for event in client.messages.create(
        model="m", max_tokens=100, messages=[{"role": "user", "content": "hi"}], stream=True
    ):
        if event.type == "content_block_start" and event.content_block.type == "tool_use":
            blocks[event.index] = [event.content_block.id, event.content_block.name, ""]
        elif event.type == "content_block_delta" and event.delta.type == "text_delta":
            text.append(event.delta.text)
        elif event.type == "content_block_delta" and event.delta.type == "input_json_delta":
            blocks[event.index][2] += event.delta.partial_json
    return "".join(text), [tuple(block) for _, block in sorted(blocks.items())]


@pytest.mark.parametrize(
    ("reader", "path"),
    [
        pytest.param(_read_chat, EXAMPLES / "openai-chat-parallel-tool-calls.jsonl", id="chat-tool-calls"),
        pytest.param(_read_chat, CORPUS / "openai-chat/openai-python__text-plain.sse", id="chat-text"),
        pytest.param(_read_responses, EXAMPLES / "openai-responses-function-call.jsonl", id="responses-tool-call"),
        pytest.param(_read_responses, CORPUS / "openai-responses/vercel-ai__text-minimal.sse", id="responses-text"),
        pytest.param(_read_messages, EXAMPLES / "anthropic-messages-tool-use.jsonl", id="messages-tool-use"),
        pytest.param(_read_messages, CORPUS / "anthropic-messages/vercel-ai__text.sse", id="messages-text"),
    ],
)
def test_the_official_sdk_reads_exactly_what_was_recorded(reader, path: Path) -> None:
    text, calls = _recorded(path)
    assert text or calls  # the stream says something for the Python SDK to get right
    with _serve(path) as server:
        assert reader(server.url) == (text, calls)


def test_a_client_of_a_protocol_no_recording_has_gets_a_404_that_says_so() -> None:
    """The official SDK asks a Chat recording for a Responses stream: it raises `NotFoundError` naming what is
    served, not a parse error deep in its stream helper; a Chat request on the same server is still answered."""
    with _serve(CORPUS / "openai-chat" / "openai-python__logprobs-content.sse") as server:
        client = openai.OpenAI(base_url=f"{server.url}/v1", api_key="test", max_retries=0)
        with pytest.raises(openai.NotFoundError) as raised:
            client.responses.create(model="m", input="hi", stream=True)
        assert raised.value.body["message"] == ("sse-inspector serve: no recording of openai-responses is served for "
                                        "/v1/responses (serving openai-chat)")
        assert _read_chat(server.url)[0]


def test_a_recording_is_answered_with_its_status_headers_and_bytes(tmp_path: Path) -> None:
    header = Header(
        request={"method": "POST", "url": "https://api.example.com/v1/chat/completions", "headers": {}},
        response={"status": 429, "headers": {"Content-Type": "application/json", "Content-Length": "99",
                                             "x-request-id": "req_42", "server": "uvicorn",
                                             "date": "Sat, 05 Dec 2026 23:00:00 GMT"}},
    )
    writer = RecordingWriter(tmp_path / "limited.jsonl", header)
    writer.chunk(0.01, b'{"error": {"type": "rate_limit",')
    writer.chunk(0.02, b' "message": "slow down"}}')
    writer.end(0.02, "complete")
    with _serve(tmp_path / "limited.jsonl") as server:
        response = httpx.post(f"{server.url}/v1/chat/completions", json={})
        refused = httpx.get(f"{server.url}/v1/chat/completions")
    assert (response.status_code, response.headers["content-type"], response.headers["x-request-id"]) == (
        429, "application/json", "req_42")
    assert response.headers.get("content-length") is None
    # the recorded `server` and `date` alone, not tornado's beside them (the AI SDK saw both, comma-joined)
    assert (response.headers.get_list("server"), response.headers.get_list("date")) == (
        ["uvicorn"], ["Sat, 05 Dec 2026 23:00:00 GMT"])
    assert response.content == b'{"error": {"type": "rate_limit", "message": "slow down"}}'
    assert refused.status_code == 405


def test_recorded_headers_go_out_as_the_bytes_that_came_and_unsendable_ones_are_left_out(tmp_path: Path) -> None:
    """The recorder keeps a header byte that is not UTF-8 as a lone surrogate (mitmproxy's decoding): replayed, it
    is that byte again, and a UTF-8 value keeps its bytes. A header no response can carry (an imported file's
    control character or newline in a name) is left out and named; the rest is served."""
    header = Header(
        request={"method": "POST", "url": "https://api.example.com/v1/chat/completions", "headers": {}},
        response={"status": 200, "headers": {
            "Content-Type": "text/event-stream", "X-Latin1": b"caf\xe9".decode("utf-8", "surrogateescape"),
            "X-Utf8": "café \u202e", "X-Control": "a\x01b", "X-Split\r\nX-Injected": "1", "X-Surrogate": "\ud800"}},
    )
    writer = RecordingWriter(tmp_path / "odd.jsonl", header)
    writer.chunk(0.01, b"data: [DONE]\n\n")
    writer.end(0.02, "complete")
    replay = Replay.from_paths([str(tmp_path / "odd.jsonl")], speed=FAST, faults=Faults())
    assert describe(replay.catalog.entries) == [
        "/v1/chat/completions  openai-chat  odd.jsonl  (not sendable, left out: X-Control, X-Split\r\nX-Injected, "
        "X-Surrogate)"]
    with ReplayServer(replay) as server:
        response = httpx.post(f"{server.url}/v1/chat/completions", json={})
    sent = {name.lower(): value for name, value in response.headers.raw}
    assert (sent[b"x-latin1"], sent[b"x-utf8"]) == (b"caf\xe9", "café \u202e".encode())
    assert not {b"x-control", b"x-split", b"x-injected", b"x-surrogate"} & set(sent)
    assert response.content == b"data: [DONE]\n\n"


def _events_until_failure(url: str, timeout: httpx.Timeout) -> tuple[list[str], type[Exception] | None]:
    """The SSE data lines a client received, and the exception that ended the stream (None: it ended well)."""
    received: list[str] = []
    try:
        with httpx.stream("POST", url, json={}, timeout=timeout) as response:
            for line in response.iter_lines():
                if line.startswith("data: "):
                    received.append(line[6:])
    except (httpx.RemoteProtocolError, httpx.ReadTimeout) as error:
        return received, type(error)
    return received, None


def _data_lines(path: Path) -> list[str]:
    return [line[6:] for line in path.read_text().splitlines() if line.startswith("data: ")]


@pytest.mark.parametrize("cut_after", [0, 3, 10])
def test_cut_after_drops_the_connection_after_that_many_events(cut_after: int) -> None:
    path = CORPUS / "openai-chat/openai-python__text-plain.sse"
    with _serve(path, cut_after=cut_after) as server:
        received, failure = _events_until_failure(f"{server.url}/v1/chat/completions", httpx.Timeout(10))
    assert (received, failure) == (_data_lines(path)[:cut_after], httpx.RemoteProtocolError)


@pytest.mark.parametrize(("error", "failure"), [
    ("peer closed connection without sending complete message body", httpx.RemoteProtocolError),
    ("the body ended before the protocol's terminal event", None),  # the server ended the body early, cleanly
], ids=["connection-broke", "body-ended-early"])
def test_a_recording_whose_upstream_broke_the_connection_is_replayed_breaking_it(tmp_path: Path, error: str,
                                                                                  failure: type | None) -> None:
    """Found replaying gpt-oss's reference server: its recorded stream broke mid-body (the Python SDK raised
    `RemoteProtocolError`); replayed, it ended cleanly, and the Python SDK's helper raised another error instead."""
    corpus = CORPUS / "openai-chat/openai-python__text-plain.sse"
    lines = _data_lines(corpus)[:5]
    writer = RecordingWriter(tmp_path / "cut.jsonl", Header(
        request={"method": "POST", "url": "http://127.0.0.1/v1/chat/completions", "headers": {}},
        response={"status": 200, "headers": {"content-type": "text/event-stream"}}))
    writer.chunk(0.01, "".join(f"data: {line}\n\n" for line in lines).encode())
    writer.end(0.02, "upstream-closed", error)
    writer.close()
    with _serve(writer.path) as server:
        received = _events_until_failure(f"{server.url}/v1/chat/completions", httpx.Timeout(10))
    assert received == (lines, failure)
    [line] = describe(Replay.from_paths([str(writer.path)]).catalog.entries)
    assert ("ends by breaking the connection, as recorded" in line) == (failure is not None)


def _final_chat(url: str) -> None:
    with openai.OpenAI(base_url=f"{url}/v1", api_key="t", max_retries=0).chat.completions.stream(
            model="m", messages=[{"role": "user", "content": "hi"}]) as stream:
        stream.get_final_completion()


def _final_response(url: str) -> None:
    with openai.OpenAI(base_url=f"{url}/v1", api_key="t", max_retries=0).responses.stream(
            model="m", input="hi") as stream:
        stream.get_final_response()


def _final_message(url: str) -> None:
    with anthropic.Anthropic(base_url=url, api_key="t", max_retries=0).messages.stream(
            model="m", max_tokens=1000, messages=[{"role": "user", "content": "hi"}]) as stream:
        stream.get_final_message()


def _gemini_chunks(url: str) -> None:
    from google import genai

    client = genai.Client(api_key="t", http_options=genai.types.HttpOptions(base_url=url))
    for _ in client.models.generate_content_stream(model="g", contents="hi"):
        pass


@pytest.mark.parametrize(("corpus", "path", "read", "raises"), [
    ("openai-chat/openai-python__text-plain.sse", "/v1/chat/completions", _final_chat, False),
    ("openai-responses/vercel-ai__text-minimal.sse", "/v1/responses", _final_response, True),
    ("anthropic-messages/vercel-ai__text.sse", "/v1/messages", _final_message, True),
    ("gemini-generate-content/pydantic-ai__text-multichunk.sse",
     "/v1beta/models/g:streamGenerateContent?alt=sse", _gemini_chunks, True),
], ids=["chat", "responses", "anthropic", "gemini"])
def test_a_connection_broken_after_the_last_event_is_said_once_as_each_sdk_meets_it(
        tmp_path: Path, corpus: str, path: str, read: Callable[[str], None], raises: bool) -> None:
    """`sse/broken-after-end`: the anthropic SDK, google-genai and the openai SDK on Responses read on to the body's
    end and raise; the openai SDK on Chat stops at `[DONE]` and does not notice (lm-proxy's upstreams showed it)."""
    writer = RecordingWriter(tmp_path / "broken.jsonl", Header(
        request={"method": "POST", "url": f"http://127.0.0.1{path}", "headers": {}},
        response={"status": 200, "headers": {"content-type": "text/event-stream"}}))
    writer.chunk(0.01, (CORPUS / corpus).read_bytes())
    writer.end(0.02, "upstream-closed", "peer closed connection without sending complete message body")
    writer.close()
    findings = open_source(str(writer.path)).validate().findings
    [broken] = [finding for finding in findings if finding.rule == "sse/broken-after-end"]
    assert broken.index is None and not [finding for finding in findings if finding.severity == "error"
                                         and finding is not broken], findings
    assert ("does not notice" in broken.message) == (not raises), broken.message
    with _serve(writer.path) as server:
        if raises:
            with pytest.raises(httpx.RemoteProtocolError):
                read(server.url)
        else:
            read(server.url)


def test_stall_at_holds_back_the_event_and_everything_after_it() -> None:
    """The client's read timeout (1 s) is far shorter than the stall (30 s) and far longer than the pacing."""
    path = CORPUS / "openai-chat/openai-python__text-plain.sse"
    with _serve(path, stall_at=2, stall_seconds=30) as server:
        stalled = _events_until_failure(f"{server.url}/v1/chat/completions", httpx.Timeout(10, read=1))
    with _serve(path) as server:
        unstalled = _events_until_failure(f"{server.url}/v1/chat/completions", httpx.Timeout(10, read=1))
    assert stalled == (_data_lines(path)[:2], httpx.ReadTimeout)
    assert unstalled == (_data_lines(path), None)


def test_a_client_that_leaves_early_does_not_disturb_the_next_request() -> None:
    path = CORPUS / "openai-chat/openai-python__text-plain.sse"
    with _serve(path) as server:
        with httpx.stream("POST", f"{server.url}/v1/chat/completions", json={}) as response:
            first = next(response.iter_lines())
        second = httpx.post(f"{server.url}/v1/chat/completions", json={})
    assert first == f"data: {_data_lines(path)[0]}"
    assert second.content == path.read_bytes()


@pytest.fixture
def start_serve() -> Iterator[Callable[..., tuple[subprocess.Popen, str]]]:
    """Starts `sse-inspector serve --port 0 ARGS...` in a subprocess and returns it with its URL (read from its
    output); every process started is killed at teardown if it is still running."""
    processes: list[subprocess.Popen] = []

    def start(*args: str) -> tuple[subprocess.Popen, str]:
        process = subprocess.Popen(
            [sys.executable, "-m", "inspector", "serve", "--port", "0", *args],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),  # even if the test runner ignores ^C
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        processes.append(process)
        first = process.stdout.readline()
        return process, first.split(" on ", 1)[1].split()[0]

    yield start
    for process in processes:
        if process.poll() is None:
            process.kill()
        process.wait(10)


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_serve_command_answers_then_stops_cleanly(start_serve, stop: signal.Signals) -> None:
    process, url = start_serve("--speed", str(FAST), str(EXAMPLES))
    response = httpx.post(f"{url}/v1/messages", json={})
    process.send_signal(stop)
    process.wait(10)
    out, err = process.stdout.read(), process.stderr.read()
    assert response.content == (CORPUS / "anthropic-messages/vercel-ai__tool-use-only.sse").read_bytes()
    assert (process.returncode, err) == (0, "")
    assert re.sub(r"^\d\d:\d\d:\d\d  ", "HH:MM:SS  ", out, flags=re.M).splitlines() == [
        "  /v1/messages  anthropic-messages  anthropic-messages-tool-use.jsonl",
        "  /v1beta/models/gemini-2.0-flash:streamGenerateContent  gemini  gemini-function-call.jsonl",
        "  /v1/chat/completions  openai-chat  openai-chat-parallel-tool-calls.jsonl",
        "  /v1/responses  openai-responses  openai-responses-function-call.jsonl",
        f"point a client at it: openai SDK base_url={url}/v1, anthropic and google-genai SDK base_url={url}",
        "HH:MM:SS  POST /v1/messages -> anthropic-messages-tool-use.jsonl (200)",
        "stopped",
    ]


def test_serve_command_shows_a_hostile_request_path_and_never_prints_it_raw(start_serve) -> None:
    """A path holding ESC, answered with a 404 (a protocol no recording is of) and a 405 (a GET): tornado's own
    access line printed it raw to stderr."""
    process, url = start_serve(str(CORPUS / "openai-chat" / "openai-python__text-plain.sse"))
    port = int(url.rsplit(":", 1)[1])
    for request in (b"POST /v1/\x1b[31mRED/responses HTTP/1.1\r\nContent-Length: 2\r\n", b"GET /\x1b[2J HTTP/1.1\r\n"):
        with socket.create_connection(("127.0.0.1", port)) as client:
            client.sendall(request + b"Host: x\r\nConnection: close\r\n\r\n{}")
            answer = b"".join(iter(lambda: client.recv(65536), b""))
        assert answer.split(b" ", 2)[1] in (b"404", b"405")
    process.send_signal(signal.SIGTERM)
    process.wait(10)
    out, err = process.stdout.read(), process.stderr.read()
    assert "\x1b" not in out + err
    assert "POST /v1/\u241b[31mRED/responses -> 404: no recording of openai-responses" in out


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_serve_command_stopped_mid_stream_cuts_the_stream_without_a_traceback(start_serve,
                                                                             stop: signal.Signals) -> None:
    """At speed 0.01 the recording takes minutes: the stop comes while the response waits for its next chunk."""
    path = EXAMPLES / "openai-chat-parallel-tool-calls.jsonl"
    process, url = start_serve("--speed", "0.01", str(path))
    lines = []
    with httpx.stream("POST", f"{url}/v1/chat/completions", json={}, timeout=10) as response:
        stream = response.iter_lines()
        lines.append(next(stream))  # the first event arrived: the response is in flight
        process.send_signal(stop)
        with pytest.raises(httpx.RemoteProtocolError):  # cut, not ended as if complete
            lines.extend(stream)
    process.wait(10)
    out, err = process.stdout.read(), process.stderr.read()
    assert (process.returncode, err) == (0, "")
    assert re.sub(r"^\d\d:\d\d:\d\d  ", "HH:MM:SS  ", out, flags=re.M).splitlines()[-3:] == [
        "HH:MM:SS  POST /v1/chat/completions -> openai-chat-parallel-tool-calls.jsonl (200)",
        "HH:MM:SS  POST /v1/chat/completions: cut short, the server is stopping",
        "stopped",
    ]
    served = b"".join(chunk.data for chunk in open_source(str(path)).chunks()).decode()
    assert lines == served.splitlines()[:2]  # the first event and its blank line


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--stall-at", "soon"], "--stall-at: expected EVENT:SECONDS"),
        (["--speed", "0"], "Invalid value for '--speed'"),
        (["--speed", "nan"], "--speed: expected a finite number, got nan"),
        (["--speed", "inf"], "--speed: expected a finite number, got inf"),
        (["--cut-after", "-1"], "Invalid value for '--cut-after'"),
        (["--idle-timeout", "0"], "Invalid value for '--idle-timeout'"),
        (["--idle-timeout", "nan"], "--idle-timeout: expected a finite number, got nan"),
    ],
)
def test_serve_command_rejects_bad_options(args: list[str], message: str) -> None:
    from click.testing import CliRunner

    result = CliRunner().invoke(cli, ["serve", *args, str(EXAMPLES)])
    assert (result.exit_code, message in result.output) == (2, True), result.output


def test_serve_command_without_recordings_is_unusable_input(tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, "-m", "inspector", "serve", str(tmp_path)], capture_output=True,
                            text=True, timeout=30)
    assert (result.returncode, result.stdout, result.stderr) == (
        2, "", f"sse-inspector: error: {tmp_path}: no recordings or SSE files found\n")



def _closed_by_the_server(connection: socket.socket) -> bool:
    """Reads until the server closes the connection (True) or 20 s pass without that (False)."""
    connection.settimeout(20)
    try:
        while connection.recv(4096):
            pass
    except TimeoutError:
        return False
    except ConnectionResetError:
        pass
    return True


@pytest.mark.parametrize(
    "sent",
    [
        b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nX-Slow: ",  # headers that never end (slowloris)
        b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{",  # a body that never ends
        b"",  # connected, never a byte
    ],
    ids=["headers", "body", "nothing"],
)
def test_a_client_that_never_finishes_its_request_is_disconnected(sent: bytes) -> None:
    """Real sockets against the real server: a slow client is closed after the idle timeout, and others are
    served meanwhile."""
    path = CORPUS / "openai-chat/openai-python__text-plain.sse"
    replay = Replay.from_paths([str(path)], speed=FAST, idle_timeout=0.2)
    with ReplayServer(replay) as server, socket.create_connection(("127.0.0.1", server.port)) as slow:
        slow.sendall(sent)
        assert httpx.post(f"{server.url}/v1/chat/completions", json={}).content == path.read_bytes()
        assert _closed_by_the_server(slow)


def test_an_idle_kept_alive_connection_is_closed_after_its_response() -> None:
    path = CORPUS / "openai-chat/openai-python__text-plain.sse"
    replay = Replay.from_paths([str(path)], speed=FAST, idle_timeout=0.2)
    with ReplayServer(replay) as server, socket.create_connection(("127.0.0.1", server.port)) as client:
        client.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}")
        client.settimeout(20)
        received = b""
        while not received.endswith(b"0\r\n\r\n"):  # the whole chunked response, then nothing more is asked
            received += client.recv(65536)
        assert received.startswith(b"HTTP/1.1 200")
        assert _closed_by_the_server(client)


def test_a_recording_the_client_left_is_replayed_silent_until_the_client_leaves(tmp_path: Path) -> None:
    """Codex's idle timeout fired live (the server had sent nothing more); a replay that ended the body made it say
    the stream closed instead. After the recorded chunks the replay sends nothing and keeps the connection open:
    the client's own read timeout fires, as it did, and the next request is answered as usual."""
    lines = _data_lines(CORPUS / "openai-chat/openai-python__text-plain.sse")[:3]
    writer = RecordingWriter(tmp_path / "left.jsonl", Header(
        request={"method": "POST", "url": "http://127.0.0.1/v1/chat/completions", "headers": {}},
        response={"status": 200, "headers": {"content-type": "text/event-stream"}}))
    writer.chunk(0.01, "".join(f"data: {line}\n\n" for line in lines).encode())
    writer.end(1.5, "client-disconnected", "Client disconnected.")
    writer.close()
    with _serve(writer.path) as server:
        received = _events_until_failure(f"{server.url}/v1/chat/completions", httpx.Timeout(10, read=2))
        again = _events_until_failure(f"{server.url}/v1/chat/completions", httpx.Timeout(10, read=2))
    assert received == again == (lines, httpx.ReadTimeout)
    [line] = describe(Replay.from_paths([str(writer.path)]).catalog.entries)
    assert line.endswith("(then silent until the client leaves, as recorded)")


GEMINI_TEXT = CORPUS / "gemini-generate-content" / "pydantic-ai__text-multichunk.sse"


@pytest.mark.parametrize("cut", [None, 2], ids=["whole", "cut-after-2"])
def test_a_gemini_request_without_alt_sse_gets_its_answer_as_one_json_array(cut: int | None) -> None:
    """llm-gemini 0.35 asks without `alt=sse` and reads a JSON array: served as events, every answer failed. The
    array holds each event's data, as Google's does; a cut leaves it open, as a broken connection would."""
    parser = SSEParser()
    recorded = [json.loads(event.data) for event in parser.feed(GEMINI_TEXT.read_bytes()) + parser.close()]
    received, broke = bytearray(), False
    with _serve(GEMINI_TEXT, **({} if cut is None else {"cut_after": cut})) as server:
        path = f"{server.url}/v1beta/models/gemini-2.5-flash:streamGenerateContent"
        with httpx.Client(timeout=10) as client:
            try:
                with client.stream("POST", path, json={}) as response:
                    for piece in response.iter_raw():
                        received += piece
            except httpx.RemoteProtocolError:
                broke = True
            if cut is None:
                sse = client.post(f"{path}?alt=sse", json={})
                assert sse.headers["content-type"].startswith("text/event-stream") and sse.text.startswith("data: ")
    assert response.headers["content-type"].startswith("application/json")
    body = received.decode()
    if cut is None:
        assert not broke and json.loads(body) == recorded and ",\r\n" in body
    else:
        assert broke and json.loads(body + "]") == recorded[:cut]


def test_a_request_for_no_stream_is_refused_without_taking_a_recordings_turn(tmp_path: Path) -> None:
    """browser-use's chat models and CrewAI's Anthropic agent (its `count_tokens` first) made requests that asked for
    no stream: each got the next recorded stream, which its SDK could not read, and every later request got the answer
    meant for the one before."""
    first, second = tmp_path / "1-text.sse", tmp_path / "2-tool.sse"
    first.write_bytes((CORPUS / "openai-chat" / "openai-python__text-plain.sse").read_bytes())
    second.write_bytes((CORPUS / "openai-chat" / "openai-python__tool-call-single.sse").read_bytes())
    with ReplayServer(Replay.from_paths([str(first), str(second)], speed=FAST)) as server:
        client = openai.OpenAI(base_url=f"{server.url}/v1", api_key="test", max_retries=0)
        with pytest.raises(openai.BadRequestError, match="the request does not ask for a stream"):
            client.chat.completions.create(model="m", messages=[{"role": "user", "content": "hi"}])
        counted = httpx.post(f"{server.url}/v1/messages/count_tokens", json={"model": "m", "messages": []})
        assert counted.status_code == 400 and "counts tokens and is not recorded" in counted.text
        assert _read_chat(server.url)[0] == _recorded(first)[0]  # the first recording's turn is still its own
        assert httpx.post(f"{server.url}/v1/chat/completions", json={}).status_code == 200  # a bare curl: served
