"""Peak RSS of validating a 1M-event stream of each protocol, then (an older commit) and now, in one run.

The four streams of `bench/validate.py` (real corpus streams with their text deltas repeated), at 10,000 and at
`--events` events, written to a temp file; the Gemini one with the text of each repeated chunk numbered (" 0",
" 1", ...): pydantic-core hands every repeat of a short string out as one cached object, which would hide a list
that keeps one object per chunk.

Each file is validated by a fresh interpreter in two ways: `StreamCheck` fed 4 KiB chunks, and `sse-inspector
validate FILE` (the CLI's own 64 KiB reads); `ru_maxrss` is that process's peak. `then` runs the source tree of
`--then` (extracted with `git archive`), `now` this one, one after the other on the same files. "text" is the size
of the reassembled answer: memory should follow it, never one object per event. The 10,000-event line shows
what the interpreter and the imports cost by themselves. Target: every protocol under 60 MB at 1M events.

    python bench/memory.py [--events N] [--then COMMIT]

Measured 2026-12-04 (2 cores, load average 3.4-5), peak RSS in MB at 1M events, then -> now, StreamCheck / CLI:
Chat 34 -> 22 / 36 -> 26, Responses 68 -> 48 / 64 -> 53, Anthropic 42 -> 30 / 44 -> 33, Gemini 69 -> 24 / 71 -> 28
(text 3.4, 4.0, 10.7 and 4.9 MB; at 10,000 events 30-33 -> 19-23, Responses 32 -> 32: lazy model building
lowered the others' start). Responses' own part: 68 -> 48 / 65 -> 53 with c136460's start (the `.done` values
compared in place and shared, the value and the output text holding one copy, long `data:` lines decoded once).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from validate import _RSS_PROBE, ROOT, anthropic_stream, chat_stream, gemini_stream, issue_tree, responses_stream

THEN = "c136460"  # main before the memory work of #16
_REPEATED_TEXT = re.compile(rb'"text": " capital of France"')


def numbered_gemini_stream(total: int) -> bytes:
    """`bench/validate.py`'s Gemini stream with the text of each repeated chunk numbered (" 0", " 1", ...)."""
    number = itertools.count()
    return _REPEATED_TEXT.sub(lambda _: b'"text": ' + json.dumps(f" {next(number)}").encode(), gemini_stream(total))


STREAMS: dict[str, Callable[[int], bytes]] = {
    "openai-chat": chat_stream,
    "openai-responses": responses_stream,
    "anthropic-messages": anthropic_stream,
    "gemini": numbered_gemini_stream,
}

# Each probe prints: events, error findings (or the exit code), peak RSS in KiB, then the text's length (read
# after the peak, so joining it does not count).
_STREAM_PROBE = _RSS_PROBE + "print(len(check.assembly.text))\n"

_CLI_PROBE = """
import resource, sys
from inspector.cli import main
sys.argv = ["sse-inspector", "validate", sys.argv[1]]
try:
    main()
except SystemExit as exit:
    code = exit.code
print("-", code, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, "-", file=sys.stderr)
"""


def probe(tree: Path, script: str, path: Path) -> tuple[str, str, float, str]:
    """(events, errors or exit code, peak RSS in MB, text length) of `script` on `path`, run from `tree`."""
    # NOTE: Linux keeps the larger of a process's `ru_maxrss` and its parent's RSS at fork across `exec`, so a
    # child of this (large) process would report our size. A shell forks the probe instead: it starts small.
    command = ["/bin/sh", "-c", '"$0" -c "$1" "$2"; :', sys.executable, script, str(path)]
    result = subprocess.run(command, cwd=tree, env={**os.environ, "PYTHONPATH": str(tree)}, capture_output=True,
                            text=True, check=True)
    output = result.stdout if script is _STREAM_PROBE else result.stderr
    events, errors, kib, text = output.split()[-4:]
    return events, errors, int(kib) / 1024, text  # ru_maxrss is in KiB on Linux


def main() -> None:
    options = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    options.add_argument("--events", type=int, default=1_000_000)
    options.add_argument("--then", default=THEN, help="the commit to compare with (default: %(default)s)")
    args = options.parse_args()
    print(f"peak RSS in MB, then = {args.then}, now = this tree; StreamCheck fed 4 KiB chunks, and the CLI")
    print(f"{'stream':<20}{'events':>10}{'MB':>6}{'text MB':>9}{'StreamCheck then':>18}{'now':>6}"
          f"{'validate then':>15}{'now':>6}  findings")
    with tempfile.TemporaryDirectory() as directory:
        then, now = Path(directory) / "then", Path(directory) / "now"
        then.mkdir()
        if issue_tree(args.then, then) is None:
            raise SystemExit(f"cannot extract {args.then}: run from a git clone")
        shutil.copytree(ROOT / "inspector", now / "inspector")  # NOTE: edits made while it runs do not count
        for name, make in STREAMS.items():
            for total in (10_000, args.events):
                path = Path(directory) / f"{name}-{total}.sse"
                body = make(total)
                path.write_bytes(body)
                size = len(body) / 1e6
                del body
                events, errors, check_then, text = probe(then, _STREAM_PROBE, path)
                now_events, now_errors, check_now, _ = probe(now, _STREAM_PROBE, path)
                _, exit_then, cli_then, _ = probe(then, _CLI_PROBE, path)
                _, exit_now, cli_now, _ = probe(now, _CLI_PROBE, path)
                same = (events, errors, exit_then) == (now_events, now_errors, exit_now)
                verdict = f"{errors} errors, exit {exit_now}" + ("" if same else " DIFFER")
                print(f"{name:<20}{int(events):>10,}{size:>6.0f}{int(text) / 1e6:>9.1f}{check_then:>18.0f}"
                      f"{check_now:>6.0f}{cli_then:>15.0f}{cli_now:>6.0f}  {verdict}")
                path.unlink()


if __name__ == "__main__":
    main()
