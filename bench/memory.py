"""Peak RSS of validating a 1M-event stream of each protocol, then (an older commit) and now, in one run.

Each stream is a real corpus stream with its text deltas repeated (Chat and Responses as in `bench/validate.py`,
Responses renumbered and its `.done` snapshots rewritten to the new text), written to a temp file:

- Anthropic: `anthropic-messages/vercel-ai__text.sse`.
- Gemini: `gemini-generate-content/pydantic-ai__text-multichunk.sse`, its middle chunk repeated with the text
  numbered (" 0", " 1", ...): pydantic-core hands every repeat of a short string out as one cached object, which
  would hide a list that keeps one object per chunk.

Each file is validated by a fresh interpreter in two ways: `StreamCheck` fed 4 KiB chunks, and `sse-inspector
validate FILE` (the CLI's own 64 KiB reads); `ru_maxrss` is that process's peak. `then` runs the source tree of
`--then` (extracted with `git archive`), `now` this one, one after the other on the same files. "text" is the size
of the reassembled answer: memory should follow it, never one object per event. The 10,000-event line shows
what the interpreter and the imports cost by themselves. Target: every protocol under 60 MB at 1M events.

    python bench/memory.py [--events N] [--then COMMIT]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from validate import CORPUS, chat_stream, responses_stream

ROOT = Path(__file__).resolve().parent.parent
ANTHROPIC_SOURCE = CORPUS / "anthropic-messages" / "vercel-ai__text.sse"
GEMINI_SOURCE = CORPUS / "gemini-generate-content" / "pydantic-ai__text-multichunk.sse"
THEN = "c136460"  # main before the memory work of #16


def anthropic_stream(total: int) -> bytes:
    """The Anthropic corpus stream with its text deltas repeated until there are `total` events."""
    frames = [frame + b"\n\n" for frame in ANTHROPIC_SOURCE.read_bytes().split(b"\n\n") if frame.strip()]
    deltas = [frame for frame in frames if b'"text_delta"' in frame]
    head = frames[: frames.index(deltas[0])]
    tail = frames[frames.index(deltas[-1]) + 1 :]
    middle = [deltas[i % len(deltas)] for i in range(total - len(head) - len(tail))]
    return b"".join(head + middle + tail)


def gemini_stream(total: int) -> bytes:
    """The Gemini corpus stream (CRLF-framed) with its middle chunk repeated, each repeat's text numbered."""
    first, chunk, last = [frame + b"\r\n\r\n" for frame in GEMINI_SOURCE.read_bytes().split(b"\r\n\r\n")
                          if frame.strip()]
    text = b'"text": " capital of France"'
    assert text in chunk
    before, after = chunk.split(text)
    middle = [before + b'"text": ' + json.dumps(f" {number}").encode() + after for number in range(total - 2)]
    return b"".join([first, *middle, last])


STREAMS: dict[str, Callable[[int], bytes]] = {
    "openai-chat": chat_stream,
    "openai-responses": responses_stream,
    "anthropic-messages": anthropic_stream,
    "gemini": gemini_stream,
}

# Each probe prints: events, error findings (or the exit code), peak RSS in KiB, then the text's length (read
# after the peak, so joining it does not count).
_STREAM_PROBE = """
import resource, sys
from inspector.validate import StreamCheck
check = StreamCheck()
with open(sys.argv[1], "rb") as stream:
    while chunk := stream.read(4096):
        check.feed(chunk)
findings = check.close()
errors = sum(1 for f in findings if f.severity == "error")
print(check.events, errors, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, len(check.assembly.text))
"""

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


def tree_at(commit: str, directory: Path) -> Path:
    """The `inspector` package as it was at `commit`, extracted into `directory`."""
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", commit, "inspector"], capture_output=True,
                             check=True)
    subprocess.run(["tar", "-x", "-C", str(directory)], input=archive.stdout, check=True)
    return directory


def probe(tree: Path, script: str, path: Path) -> tuple[str, str, float, str]:
    """(events, errors or exit code, peak RSS in MB, text length) of `script` on `path`, run from `tree`."""
    # NOTE: Linux keeps the larger of a process's `ru_maxrss` and its parent's RSS at fork across `exec`, so a
    # child of this (large) process would report our size. A shell forks the probe instead: it starts small.
    command = ["/bin/sh", "-c", '"$0" -c "$1" "$2"; :', sys.executable, script, str(path)]
    result = subprocess.run(command, cwd=tree, env={**os.environ, "PYTHONPATH": str(tree)}, capture_output=True,
                            text=True, check=True)
    output = result.stdout if script is _STREAM_PROBE else result.stderr
    events, errors, kib, text = output.strip().splitlines()[-1].split()
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
        then = tree_at(args.then, Path(directory))
        for name, make in STREAMS.items():
            for total in (10_000, args.events):
                path = Path(directory) / f"{name}-{total}.sse"
                body = make(total)
                path.write_bytes(body)
                size = len(body) / 1e6
                del body
                events, errors, check_then, text = probe(then, _STREAM_PROBE, path)
                now_events, now_errors, check_now, _ = probe(ROOT, _STREAM_PROBE, path)
                _, exit_then, cli_then, _ = probe(then, _CLI_PROBE, path)
                _, exit_now, cli_now, _ = probe(ROOT, _CLI_PROBE, path)
                same = (events, errors, exit_then) == (now_events, now_errors, exit_now)
                verdict = f"{errors} errors, exit {exit_now}" + ("" if same else " DIFFER")
                print(f"{name:<20}{int(events):>10,}{size:>6.0f}{int(text) / 1e6:>9.1f}{check_then:>18.0f}"
                      f"{check_now:>6.0f}{cli_then:>15.0f}{cli_now:>6.0f}  {verdict}")
                path.unlink()


if __name__ == "__main__":
    main()
