"""`sse-inspector demo` end to end, in a subprocess (mitmproxy's DumpMaster is one per process)."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from inspector.demo import EXAMPLES, DemoRequest
from inspector.inputs import InputError, open_source
from inspector.recording import Header, RecordingWriter
from inspector.replay import Entry, load_entries

ROOT = Path(__file__).parent.parent
CORPUS = ROOT / "tests" / "fixtures" / "corpus"


def _demo(*args: str) -> subprocess.CompletedProcess:
    """Run the demo with a fixed width and no colour settings inherited from the developer's terminal."""
    env = {name: value for name, value in os.environ.items() if name not in ("NO_COLOR", "FORCE_COLOR", "PY_COLORS")}
    return subprocess.run(
        [sys.executable, "-m", "inspector", "demo", "--speed", "10", *args],
        capture_output=True, text=True, timeout=120, env={**env, "COLUMNS": "250"},
    )


@pytest.mark.slow
def test_demo_records_one_stream_per_protocol_through_the_proxy_and_shows_them(tmp_path: Path) -> None:
    result = _demo("--dir", str(tmp_path))
    assert (result.returncode, result.stderr) == (0, ""), result.stdout + result.stderr
    recordings = sorted(tmp_path.glob("*.jsonl"))
    headers = [open_source(str(path)).header for path in recordings]
    assert sorted((header.source, header.protocol, header.path, header.status) for header in headers) == [
        ("proxy", "anthropic-messages", "/v1/messages", 200),
        ("proxy", "gemini", "/v1beta/models/gemini-2.0-flash:streamGenerateContent", 200),
        ("proxy", "openai-chat", "/v1/chat/completions", 200),
        ("proxy", "openai-responses", "/v1/responses", 200),
    ]
    for path in recordings:
        assert open_source(str(path)).validate().findings == [], path.name
    out = result.stdout
    assert out.count("client received the upstream's bytes unchanged: yes") == 4
    assert all(f"file           {path}" in out for path in recordings)
    assert f"4 streams recorded through the proxy into {tmp_path}: 4 passed, 0 failed" in out
    # Nothing is left behind: both servers the demo started are gone once it has returned.
    for url in re.findall(r"^(?:replay upstream|recorder proxy)\s+(http://127\.0\.0\.1:\d+)", out, re.M):
        with pytest.raises(httpx.ConnectError):
            httpx.post(f"{url}/v1/messages", json={}, timeout=5)


@pytest.mark.slow
def test_demo_fails_when_the_upstream_breaks_the_protocol(tmp_path: Path) -> None:
    examples = tmp_path / "examples"
    examples.mkdir()
    header = Header(request={"method": "POST", "url": "http://upstream/v1/messages", "headers": {}, "body": {}},
                    response={"status": 200, "headers": {"content-type": "text/event-stream"}})
    writer = RecordingWriter(examples / "broken.jsonl", header)
    writer.chunk(0.0, (CORPUS / "anthropic-messages/vercel-ai__synthetic-invalid-duplicate-message-start.sse")
                 .read_bytes())
    writer.end(0.01, "complete")
    result = _demo("--dir", str(tmp_path / "out"), "--examples", str(examples))
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"1 stream recorded through the proxy into {tmp_path / 'out'}: 0 passed, 1 failed" in result.stdout
    assert "anthropic/message-start-repeated" in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param(["--speed", "nan"], "--speed: expected a finite number, got nan", id="speed-nan"),
        pytest.param(["--speed", "inf"], "--speed: expected a finite number, got inf", id="speed-inf"),
        pytest.param(["--dir", "/dev/null/demo"], "--dir /dev/null/demo: cannot write recordings there (Not a "
                     "directory)", id="dir-cannot-be-created"),
    ],
)
def test_demo_usage_errors_exit_2_with_one_line(run_cli, args: list[str], message: str) -> None:
    result = run_cli("demo", *args)
    assert (result.code, result.out, result.err) == (2, "", f"sse-inspector: error: {message}\n")


@pytest.mark.slow
def test_demo_interrupted_stops_its_servers_without_a_traceback(tmp_path: Path) -> None:
    """Ctrl-C once the first stream is under way (its recording exists): at speed 0.05 it takes seconds more."""
    env = {**os.environ, "COLUMNS": "250", "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        [sys.executable, "-m", "inspector", "demo", "--speed", "0.05", "--dir", str(tmp_path)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),  # even if the test runner ignores ^C
    )
    try:
        upstream, proxy = process.stdout.readline(), process.stdout.readline()
        deadline = time.monotonic() + 30
        while not any(tmp_path.iterdir()) and time.monotonic() < deadline:  # nothing to block on: the file is
            threading.Event().wait(0.01)                                    # created when the headers came
        assert any(tmp_path.iterdir()), "the first stream never started"
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert [upstream.split()[:2], proxy.split()[:2]] == [["replay", "upstream"], ["recorder", "proxy"]]
    assert (process.returncode, out, err) == (130, "", "\nsse-inspector: aborted\n")


def test_the_bundled_examples_cover_every_protocol_with_tool_calls() -> None:
    requests = [DemoRequest.of(entry) for entry in load_entries([str(EXAMPLES)])]
    summary = sorted(
        (request.entry.protocol, request.path, bool(open_source(request.entry.file).validate().assembly.tool_calls))
        for request in requests
    )
    assert summary == [  # Gemini's asks for an event stream, as python-genai does (else `serve` sends JSON)
        ("anthropic-messages", "/v1/messages", True),
        ("gemini", "/v1beta/models/gemini-2.0-flash:streamGenerateContent?alt=sse", True),
        ("openai-chat", "/v1/chat/completions", True),
        ("openai-responses", "/v1/responses", True),
    ]
    assert all(json.loads(request.body)["stream"] is True for request in requests if request.entry.protocol != "gemini")


@pytest.mark.parametrize(
    ("entry", "path"),
    [
        (Entry(str(CORPUS / "openai-chat/openai-python__text-plain.sse"), None, "openai-chat", 200, ()),
         "/v1/chat/completions"),
        (Entry(str(CORPUS / "anthropic-messages/vercel-ai__text.sse"), None, "anthropic-messages", 200, ()),
         "/v1/messages"),
    ],
)
def test_a_raw_file_is_requested_on_its_protocols_usual_path(entry: Entry, path: str) -> None:
    assert (DemoRequest.of(entry).path, DemoRequest.of(entry).body) == (path, b"{}")


def test_a_raw_file_of_unknown_protocol_cannot_be_demoed() -> None:
    entry = Entry(str(CORPUS / "openai-chat/openai-python__text-plain.sse"), None, None, 200, ())
    with pytest.raises(InputError, match="no request path and no known protocol"):
        DemoRequest.of(entry)
