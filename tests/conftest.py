"""Shared fixtures: a pinned terminal environment and a CLI runner that goes through the real entry point."""

from __future__ import annotations

import io
import os
import queue
import resource
import subprocess
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import settings
from recorder_helpers import ROOT, RecordCommand

from inspector.cli import main

CORPUS = Path(__file__).parent / "fixtures" / "corpus"

# CI sets HYPOTHESIS_PROFILE=ci: the same examples on every run, so a red CI is a failure anyone can reproduce and
# never a new random draw. Elsewhere each run draws new examples and hypothesis keeps the failing ones.
settings.register_profile("ci", derandomize=True, database=None, print_blob=True)
# A long local hunt for new failures (fresh draws each run; tests with their own max_examples keep theirs).
settings.register_profile("hunt", max_examples=2000, derandomize=False, deadline=None, database=None, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


@pytest.fixture(autouse=True)
def _pinned_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    """CLI and viewer output depends on these: pin them so tests don't depend on the developer's terminal."""
    monkeypatch.setenv("COLUMNS", "100")
    monkeypatch.setenv("TERM", "dumb")
    for name in ("NO_COLOR", "FORCE_COLOR", "PY_COLORS", "CLICOLOR_FORCE"):
        monkeypatch.delenv(name, raising=False)


@dataclass
class Result:
    code: int
    out: str
    err: str


@pytest.fixture
def run_cli(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Callable[..., Result]:
    """Run `sse-inspector ARGS...` through `main()` (exit codes and error lines included)."""

    def run(*args: str, stdin: bytes | None = None) -> Result:
        monkeypatch.setattr(sys, "argv", ["sse-inspector", *args])
        if stdin is not None:
            monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(stdin)))
        capsys.readouterr()
        try:
            main()
            code = 0
        except SystemExit as done:
            code = done.code if isinstance(done.code, int) else (0 if done.code is None else 1)
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return run


@pytest.fixture
def record_command(tmp_path):
    """Starts `sse-inspector record --port 0 ARGS...` and returns it once it listens with its banner read
    (and the base URL its first line ends with); whatever is still running at teardown is killed."""
    started: list[subprocess.Popen] = []

    def start(*args: str, banner_lines: int = 5, limits: dict[int, tuple[int, int]] | None = None
              ) -> tuple[RecordCommand, str, list[str]]:
        """`limits`: resource limits the recorder starts with, `{resource.RLIMIT_FSIZE: (soft, hard)}`."""

        def set_limits() -> None:
            for which, limit in (limits or {}).items():
                resource.setrlimit(which, limit)

        process = subprocess.Popen(
            [sys.executable, "-m", "inspector", "record", "--port", "0", *args],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path,
            env={**os.environ, "PYTHONPATH": str(ROOT)}, preexec_fn=set_limits if limits else None,
        )
        started.append(process)
        lines: queue.Queue[str] = queue.Queue()
        reader = threading.Thread(target=lambda: [lines.put(line.rstrip()) for line in process.stdout], daemon=True)
        reader.start()
        command = RecordCommand(process, lines, reader)
        banner = [command.line() for _ in range(banner_lines)]  # 5: reverse mode to a host that is no known vendor
        return command, banner[0].split(" on ")[-1], banner

    yield start
    for process in started:
        if process.poll() is None:
            process.kill()
            process.wait()
