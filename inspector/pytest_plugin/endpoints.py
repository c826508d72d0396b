"""The two endpoints `sse_replay` can hand a test: recordings replayed, or a recorder in front of a real API.

`ReplayEndpoint` runs the `serve` server in a thread of the test process. `RecordingProxy` runs
`sse-inspector record --reverse UPSTREAM` as a child process, as a user would (mitmproxy keeps process-wide
state, so it stays out of the test process); stopping it with SIGTERM and waiting for it is what makes every
recording complete, end line included.
"""

from __future__ import annotations

import math
import os
import queue
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Sequence
from pathlib import Path

from ..inputs import streams_in
from ..replay import Faults, Replay, ReplayServer

START_TIMEOUT = 60.0
"""Seconds the recorder gets to start listening (mitmproxy's import alone takes a second or two)."""
STOP_TIMEOUT = 30.0
_ADDRESS = re.compile(r"http://127\.0\.0\.1:\d+")


class ReplayEndpoint:
    """Recordings served as a live endpoint: paced by their recorded times (or at once), with faults."""

    def __init__(self, paths: Sequence[str], *, paced: bool = False, speed: float = 1.0,
                 cut_after: int | None = None, stall_at: tuple[int, float] | None = None) -> None:
        event, seconds = stall_at if stall_at is not None else (None, 0.0)
        replay = Replay.from_paths(paths, speed if paced else math.inf, Faults(cut_after, event, seconds))
        self._server = ReplayServer(replay)

    def start(self) -> str:
        return self._server.__enter__().url

    def stop(self) -> None:
        self._server.__exit__(None, None, None)


class RecordingProxy:
    """`sse-inspector record --reverse UPSTREAM --port 0 --dir DIRECTORY` in a child process."""

    def __init__(self, upstream: str, directory: Path) -> None:
        self.upstream = upstream
        self.directory = directory
        self._process: subprocess.Popen[str] | None = None
        self._output: list[str] = []

    def start(self) -> str:
        command = [sys.executable, "-m", "inspector", "record", "--reverse", self.upstream, "--port", "0",
                   "--dir", str(self.directory)]
        self._process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                         stdin=subprocess.DEVNULL, env={**os.environ, "PYTHONUNBUFFERED": "1"})
        lines: queue.Queue[str | None] = queue.Queue()

        def pump() -> None:
            for line in self._process.stdout:
                self._output.append(line)
                lines.put(line)
            lines.put(None)

        threading.Thread(target=pump, daemon=True).start()
        while True:
            try:
                line = lines.get(timeout=START_TIMEOUT)
            except queue.Empty:
                line = None
            if line is None:
                self.stop()
                raise RuntimeError(f"sse-inspector record did not start: {''.join(self._output).strip()}")
            # "recording to DIR/ — set OPENAI_BASE_URL=http://127.0.0.1:P/v1", or "... for UPSTREAM on http://..."
            proxies = [url for url in _ADDRESS.findall(line) if url != self.upstream.rstrip("/")]
            if proxies:
                return proxies[0]

    def stop(self) -> list[Path]:
        """Stop the recorder and wait until it has written every recording; they come back in call order."""
        process, self._process = self._process, None
        if process is not None:
            stop_process(process)
        return streams_in(self.directory) if self.directory.is_dir() else []  # names start with the time

    @property
    def output(self) -> str:
        return "".join(self._output)


def stop_process(process: subprocess.Popen, signum: int = signal.SIGTERM, timeout: float = STOP_TIMEOUT) -> None:
    """Ask a child process to stop and wait until it has (what it does on the signal is its clean stop); kill it
    if it has not within `timeout` seconds."""
    if process.poll() is None:
        process.send_signal(signum)
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
