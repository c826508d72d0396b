"""Streams shown while they are written: `view --follow` (against a real recorder mid-stream, and a writer in the
test), the follower's reading of a growing file, and the live panel of `record` (fed by a writer process)."""

from __future__ import annotations

import fcntl
import io
import json
import os
import pty
import queue
import re
import signal
import struct
import subprocess
import sys
import termios
import threading
from pathlib import Path

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from recorder_helpers import WAIT, corpus_events, run_mitmdump, run_upstream, spawned_children
from rich.console import Console

from inspector.inputs import open_source
from inspector.recorder.verdict import StreamResult
from inspector.recording import Header, RecordingWriter
from inspector.view.follow import Follower, Progress
from inspector.view.live import FollowPanel, RecordWatch, follow
from inspector.view.model import inspect
from inspector.view.render import THEME

CHAT = "openai-chat/openai-python__text-plain.sse"
EVENTS = corpus_events(CHAT)
HEADER = Header(request={"method": "POST", "url": "https://api.openai.com/v1/chat/completions", "headers": {},
                         "body": json.dumps({"model": "gpt-4o", "stream": True})},
                response={"status": 200, "headers": {"content-type": "text/event-stream"}},
                protocol="openai-chat", source="proxy", id="w", started_at="2026-11-21T05:00:00.000Z")


def render(renderable, width: int) -> str:
    console = Console(width=width, file=io.StringIO(), color_system=None, theme=THEME)
    console.print(renderable)
    return console.file.getvalue()


class Writer:
    """A recording written one event at a time, as the recorder would, 0.1 s apart."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.writer = RecordingWriter(path, HEADER)
        self.sent = 0

    def next(self, *_ignored) -> None:
        if self.sent < len(EVENTS):
            self.writer.chunk(0.2 + self.sent / 10, EVENTS[self.sent])
            self.sent += 1
        else:
            self.writer.end(0.3 + self.sent / 10, "complete")


def test_the_follower_reads_complete_lines_only(tmp_path: Path) -> None:
    path = tmp_path / "growing.jsonl"
    writer = Writer(path)
    follower = Follower(str(path))
    assert (follower.poll(), follower.done) == ([], False)
    writer.next()
    writer.next()
    file = writer.writer._file
    file.write('{"kind":"chunk","t":0.4,"te')  # the writer is half-way through a line
    file.flush()
    assert [event.index for event in follower.poll()] == [0, 1]
    file.write('xt":' + json.dumps(EVENTS[2].decode()) + "}\n")
    file.flush()
    assert [event.index for event in follower.poll()] == [2]
    writer.sent = 3
    while not follower.done:
        writer.next()
        follower.poll()
    assert follower.finish().to_json() == inspect(open_source(str(path))).to_json()


@pytest.mark.parametrize(("tokens", "elapsed"), [(10**400, 1.0), (10, 5e-324)], ids=["count", "interval"])
def test_the_follow_panel_shows_no_rate_a_float_cannot_hold(tokens: int, elapsed: float) -> None:
    """The usage's count is any integer from the wire: a rate past a float's range is shown as none."""
    progress = Progress("s", "openai-chat", None, "POST", "/", 3, 0.0, elapsed, "hi", 2, tokens)
    assert progress.tokens_per_s is None
    assert "tokens/s     -" in render(FollowPanel(progress), 80)


@pytest.mark.parametrize("width", [80, 160])
def test_the_follow_panel_mid_stream(tmp_path: Path, width: int) -> None:
    path = tmp_path / "growing.jsonl"
    writer = Writer(path)
    for _ in range(6):
        writer.next()
    follower = Follower(str(path))
    follower.poll()
    lines = render(FollowPanel(follower.progress()), width).splitlines()
    assert max(len(line) for line in lines) == width
    assert [line.strip("│ ") for line in lines[1:8]] == [
        "stream       POST /v1/chat/completions  (openai-chat)", "model        gpt-4o-2024-08-06", "events       6",
        "first token  0.300 s", "tokens/s     ~16  (~: estimated from the text)", "elapsed      0.700 s", ""]
    assert lines[8].strip("│ ") == "I'm unable to provide real"
    assert lines[0].startswith("╭─ following… (Ctrl-C stops)  ")


def test_follow_in_a_terminal_repaints_then_prints_the_view(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("TERM", "xterm-256color")  # rich repaints no live display on a dumb terminal
    path = tmp_path / "growing.jsonl"
    writer = Writer(path)
    console = Console(width=80, file=io.StringIO(), force_terminal=True, color_system=None, theme=THEME)
    report = follow(str(path), console, live=True, wait=writer.next)  # the writer writes while follow waits
    shown = console.file.getvalue()
    assert "following… (Ctrl-C stops)" in shown
    assert (report.timing.events, report.verdict, "verdict        pass" in shown) == (34, "pass", True)


def test_follow_elsewhere_prints_a_line_per_event(tmp_path: Path) -> None:
    path = tmp_path / "growing.jsonl"
    writer = Writer(path)
    console = Console(width=100, file=io.StringIO(), color_system=None, theme=THEME)
    lines: list[str] = []
    follow(str(path), console, live=False, on_event=lines.append, wait=writer.next)
    assert len(lines) == 34
    assert lines[1] == '    1     0.300  message  choices[0].delta.content="I\'m"'


def test_follow_refuses_what_it_cannot_follow(run_cli, tmp_path: Path) -> None:
    Writer(tmp_path / "r.jsonl").next()
    result = run_cli("view", "--follow", "--json", str(tmp_path / "r.jsonl"))
    assert (result.code, result.err) == (2, "sse-inspector: error: --follow takes one file, shown in the terminal "
                                            "(not -, a directory, --json or --html)\n")


@pytest.mark.slow
def test_follow_shows_a_stream_the_recorder_is_still_writing(tmp_path: Path) -> None:
    """A real mitmdump records a lock-step stream: the follower prints event 0 while the upstream holds event 1
    back, and ends with the whole view once the recorder wrote the end line."""
    key = "follow"
    with run_upstream() as upstream, run_mitmdump(tmp_path, upstream.url) as proxy:
        received: queue.Queue[bytes] = queue.Queue()

        def client() -> None:
            headers = {"X-Corpus": CHAT, "X-Lockstep": key}
            with httpx.stream("POST", f"{proxy.url}/v1/chat/completions", json={"model": "gpt-4o", "stream": True},
                              headers=headers, timeout=WAIT) as response:
                for data in response.iter_raw():
                    received.put(data)

        thread = threading.Thread(target=client, daemon=True)
        thread.start()
        received.get(timeout=WAIT)  # event 0 reached the client: its recording exists
        [recording] = list(proxy.directory.glob("*.jsonl"))
        follower = subprocess.Popen([sys.executable, "-m", "inspector", "view", "--follow", str(recording)],
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            watchdog = threading.Timer(WAIT, follower.kill)
            watchdog.start()
            first = follower.stdout.readline()
            assert first.split()[:3] == ["0", first.split()[1], "message"]
            assert follower.poll() is None  # still following: the upstream has not sent event 1 yet
            for _ in EVENTS:
                upstream.ack(key)
            thread.join(WAIT)
            out, err = follower.communicate(timeout=WAIT)
            watchdog.cancel()
        finally:
            if follower.poll() is None:
                follower.kill()
                follower.wait()
    lines = (first + out).splitlines()
    assert (follower.returncode, err) == (0, "")
    assert [int(line.split()[0]) for line in lines[:34]] == list(range(34))
    assert any(line.startswith("│ verdict        pass") for line in lines)
    assert any("recording end  complete at" in line for line in lines)


WRITER_PROCESS = """
import sys
from inspector.recording import Header, RecordingWriter
header = Header.from_json({header})
writer = RecordingWriter(sys.argv[1], header)
for number, event in enumerate({events}[:3]):
    writer.chunk(0.2 + number / 10, event)
print("written", flush=True)
sys.stdin.readline()
writer.end(1.0, "complete")
"""


@pytest.mark.slow
@pytest.mark.parametrize("width", [80, 160])
def test_the_record_panel_shows_streams_in_flight_then_finished(tmp_path: Path, width: int) -> None:
    directory = tmp_path / "recordings"
    directory.mkdir()
    (directory / "older.jsonl").write_text("")  # there before: not shown
    watch = RecordWatch(str(directory))
    name = "20261121-050000.000-openai-chat-0123abcd.jsonl"
    script = WRITER_PROCESS.format(header=repr(HEADER.to_json()), events=repr(EVENTS))
    writer = subprocess.Popen([sys.executable, "-c", script, str(directory / name)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert writer.stdout.readline() == "written\n"
        lines = render(watch.poll(), width).splitlines()
        writer.communicate("\n", timeout=WAIT)
    finally:
        if writer.poll() is None:
            writer.kill()
            writer.wait()
    assert lines[0].startswith("╭─ 1 in flight, 0 finished (the last ones): ")
    assert lines[1].strip("│ ") == f"streaming  {name}"
    details = " ".join(line.strip("│ ") for line in lines[2:-1])
    assert details.split() == ["POST", "/v1/chat/completions", "openai-chat", "gpt-4o-2024-08-06", "3", "events",
                               "TTFT", "300", "ms", "~25", "tokens/s"]
    watch.finished(StreamResult(path=str(directory / name), started=0.0, method="POST",
                                url_path="/v1/chat/completions", protocol="openai-chat", status=200, events=34,
                                ttft=0.3, reason="complete", error=None, findings=()))
    lines = render(watch.poll(), width).splitlines()
    watch.close()
    assert lines[0].startswith("╭─ 0 in flight, 1 finished (the last ones): ")
    assert lines[1].strip("│ ") == f"ok         {name}"
    assert " ".join(line.strip("│ ") for line in lines[2:-1]).split("  ")[1:] == [  # after the clock
        "POST /v1/chat/completions", "openai-chat", "200", "34 events", "TTFT 300 ms", "ok"]


class Terminal:
    """A pseudo-terminal (100 x 30) whose output is collected by a thread; `wait_for` blocks until text shows."""

    def __init__(self) -> None:
        self.master, self.slave = pty.openpty()
        fcntl.ioctl(self.slave, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 100, 0, 0))
        self.output = ""
        self._changed = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)

    def start(self) -> None:
        os.close(self.slave)
        self._reader.start()

    def _read(self) -> None:
        while True:
            try:
                data = os.read(self.master, 65536)
            except OSError:  # EIO: the other side closed
                data = b""
            with self._changed:
                self.output += data.decode("utf-8", errors="replace")
                self._changed.notify_all()
            if not data:
                return

    def wait_for(self, pattern: str) -> re.Match[str]:
        with self._changed:
            found = self._changed.wait_for(lambda: re.search(pattern, self.output), timeout=WAIT)
        assert found, f"{pattern!r} never showed; the terminal shows:\n{self.output}"
        return re.search(pattern, self.output)

    def close(self) -> None:
        self._reader.join(WAIT)
        os.close(self.master)


@pytest.mark.slow
def test_record_on_a_terminal_shows_streams_in_flight(tmp_path: Path) -> None:
    """`sse-inspector record` in a pseudo-terminal: the live panel shows a lock-step stream while it is held back
    mid-way, then as finished; Ctrl-C ends it with the summary."""
    terminal = Terminal()
    key = "panel"
    with run_upstream() as upstream:
        process = subprocess.Popen(
            [sys.executable, "-m", "inspector", "record", "--port", "0", "--reverse", upstream.url,
             "--dir", str(tmp_path / "rec")], stdin=subprocess.DEVNULL, stdout=terminal.slave, stderr=terminal.slave,
            env={**os.environ, "TERM": "xterm-256color", "COLUMNS": "100"})
        terminal.start()
        try:
            base_url = terminal.wait_for(r"on (http://127\.0\.0\.1:\d+)").group(1)
            received: queue.Queue[bytes] = queue.Queue()

            def client() -> None:
                with httpx.stream("POST", f"{base_url}/v1/chat/completions", json={"model": "gpt-4o", "stream": True},
                                  headers={"X-Corpus": CHAT, "X-Lockstep": key}, timeout=WAIT) as response:
                    for data in response.iter_raw():
                        received.put(data)

            thread = threading.Thread(target=client, daemon=True)
            thread.start()
            received.get(timeout=WAIT)
            terminal.wait_for(r"1 in flight, 0 finished")
            terminal.wait_for(r"streaming.*openai-chat-\w+\.jsonl")
            if sys.platform.startswith("linux"):  # reading and checking the stream in flight is a child's job
                watchers = spawned_children(process.pid)
                assert watchers and {os.getpriority(os.PRIO_PROCESS, child) for child in watchers} == {19}
            for _ in EVENTS:
                upstream.ack(key)
            thread.join(WAIT)
            terminal.wait_for(r"0 in flight, 1 finished")
            process.send_signal(signal.SIGINT)
            assert process.wait(WAIT) == 0
            terminal.wait_for(r"stopped: 1 stream recorded to .* \(1 ok, 0 failed\)")
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
            terminal.close()
    assert "Traceback" not in terminal.output


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cuts=st.lists(st.integers(min_value=0, max_value=100_000), max_size=12))
def test_a_recording_read_in_any_pieces_gives_the_view_of_the_whole(tmp_path_factory, cuts: list[int]) -> None:
    """However the writer's bytes arrive (cut anywhere, inside a line too), following them gives the
    same report as reading the finished file."""
    directory = tmp_path_factory.mktemp("pieces")
    whole = directory / "whole.jsonl"
    writer = Writer(whole)
    while writer.writer._file is not None and not writer.writer._file.closed:
        writer.next()
    data = whole.read_bytes()
    growing = directory / "growing.jsonl"
    follower = None
    with open(growing, "wb") as out:
        for start, stop in zip([0, *sorted(cuts)], [*sorted(cuts), len(data)], strict=True):
            out.write(data[min(start, len(data)):min(stop, len(data))])
            out.flush()
            follower = follower or Follower(str(growing))
            follower.poll()
    assert follower.done
    assert follower.finish().to_json() | {"path": None} == inspect(open_source(str(whole))).to_json() | {"path": None}
