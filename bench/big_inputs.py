"""Time and peak memory of the commands on two inputs that used to blow up, against a baseline checkout, in one run.

- `many-events.sse`: one million `data: x` events (9 MB); every event is a finding (`sse/invalid-json`), so an
  output that kept a finding per event grew with the stream (1.7 GB). Commands: `validate --format json`,
  `view --json`.
- `long-delta.sse`: a Chat stream whose one content delta is 10 MB of text; the terminal and HTML views laid it
  out whole (44 s and 52 s). Commands: `view`, `view --html`, `view --json`.

Each command runs in a fresh subprocess (`python -m inspector`, stdout to /dev/null); the figures are its wall
time and `ru_maxrss`. `--baseline DIR` runs the same commands on another checkout too (its `inspector` package on
PYTHONPATH), side by side: e.g. `git worktree add /tmp/base <commit>`.

    python bench/big_inputs.py [--baseline DIR] [--events N] [--delta-mb M]

Figures (2026-12-04, 2 shared cores, so times are loud; one run, side by side). this: f257b2f; baseline: 1df934f,
the same code before the finding cap and the terminal view's text limit:

    input and command                                       this              baseline
    long delta: view --json                     1.5 s     116 MB      1.6 s     115 MB
    long delta: view                            1.2 s      75 MB     82.7 s     165 MB
    long delta: view --html                     5.2 s    1335 MB      1.8 s     235 MB
    many events: validate --format json        20.0 s      53 MB     63.1 s    1911 MB
    many events: view --json                   30.7 s      53 MB     43.2 s    1869 MB

`view --html` differs because the HTML report itself changed between the two commits (it now re-reads the stream
to show the text as it streamed); the 1.3 GB was the regex that lays out an event's JSON, keeping state for each
character of the 10 MB string. Long delta again after that fix and the answer cut at the terminal view's limit
(this: html-mem; baseline: 3592308, one run side by side):

    long delta: view --html                     1.4 s     186 MB      5.0 s    1335 MB
    long delta: view                            0.6 s      75 MB      2.0 s      75 MB
    long delta: view --json                     1.3 s     115 MB      1.7 s     115 MB
"""

from __future__ import annotations

import argparse
import json
import os
import site
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent


def many_events(path: Path, count: int) -> None:
    with open(path, "wb") as out:
        out.write(b"data: x\n\n" * count)


def long_delta(path: Path, megabytes: int) -> None:
    text = ("All work and no play makes Jack a dull boy. " * (megabytes * 1024 * 1024 // 44 + 1))[: megabytes << 20]

    def chunk(delta: dict, finish: str | None = None) -> str:
        body = {"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m",
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
        return f"data: {json.dumps(body)}\n\n"

    path.write_text(chunk({"role": "assistant", "content": ""}) + chunk({"content": text}) + chunk({}, "stop")
                    + "data: [DONE]\n\n")


# runs the CLI and reports its own peak RSS (KB) as the last stderr line, however the command exits
_MEASURED = ("import atexit, resource, sys; atexit.register(lambda: sys.__stderr__.write("
             "f'\\nmaxrss {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}\\n')); "
             "from inspector.cli import main; main()")


def measure(source: Path, args: list[str]) -> tuple[float, float]:
    """(seconds, peak MB) of `sse-inspector ARGS` run from `source`'s `inspector` package."""
    # NOTE: -S skips site, so an editable install's import hook cannot put another checkout's package first (and
    # the working directory, first on the path with -c, is the checkout itself)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(source), *site.getsitepackages()]), "COLUMNS": "100"}
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-S", "-c", _MEASURED, *args], env=env, cwd=source,
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, check=False)
    seconds = time.perf_counter() - start
    peak = int(done.stderr.rsplit("maxrss ", 1)[1]) / 1024
    return seconds, peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", type=Path, help="another checkout to measure side by side")
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--delta-mb", type=int, default=10)
    options = parser.parse_args()
    sources = [("this", HERE)] + ([("baseline", options.baseline.resolve())] if options.baseline else [])
    with tempfile.TemporaryDirectory() as directory:
        root = Path(directory)
        events, delta = root / "many-events.sse", root / "long-delta.sse"
        many_events(events, options.events)
        long_delta(delta, options.delta_mb)
        runs = [
            (["view", "--json", str(delta)], "long delta: view --json"),
            (["view", str(delta)], "long delta: view"),
            (["view", "--html", str(root / "page.html"), str(delta)], "long delta: view --html"),
            (["validate", "--format", "json", str(events)], "many events: validate --format json"),
            (["view", "--json", str(events)], "many events: view --json"),
        ]
        print(f"{'input and command':<38}" + "".join(f"{name:>22}" for name, _ in sources))
        for args, label in runs:
            cells = []
            for _, source in sources:
                seconds, peak = measure(source, args)
                cells.append(f"{seconds:8.1f} s {peak:7.0f} MB")
            print(f"{label:<38}" + "".join(f"{cell:>22}" for cell in cells), flush=True)


if __name__ == "__main__":
    main()
