"""Reading a recording against reading the same stream as a raw `.sse` file, in one run.

The stream is the long Chat stream of `bench/validate.py` (a corpus stream with its content deltas repeated),
written twice to a temp dir: as a recording with one chunk line per event (as the recorder stores a live
stream) and as the raw body. Each reader runs on both files, and the same events reach it from both (checked
before timing):

- `parse`: open the input and parse its SSE events (what `events` and `diff` start with), through
  `Source.feed_to`, which feeds the chunks of a recording read together in one call;
- `parse, chunk by chunk`: the recording fed one chunk at a time (`Source.chunks`), as every reader did before
  `feed_to`: the baseline this change is measured against;
- `validate`: the whole `Source.validate`;
- `view --events`: `inspect(source, keep_events=True)`, the pass `view` makes for its event listing.

A recording's chunk lines are decoded a batch at a time by msgspec (until 2026-12-06 only from 4 MiB on; below, one
at a time by pydantic-core). A run of chunks stays text and goes to the parser's `feed_texts`, which makes a chunk
of the usual shape (a `data:` line, maybe after an `event:` line, and a blank line) its event directly.

Measured (`--baseline 498bba1`, the commit before `feed_texts`; 2 cores shared with other work, load 1.9; CPU µs per
event, median of 5 rounds):

    reader                  raw   recording  ratio    baseline: recording  ratio    recording now/baseline
    parse                   1.34     1.68    1.27x                2.56     2.00x            0.65x
    parse, chunk by chunk   1.29     3.36    2.45x                3.85     2.85x            0.86x
    validate                3.36     3.68    1.12x                4.97     1.37x            0.77x
    view --events          16.16    20.15    1.23x               28.85     1.76x            0.82x

    --events 10000 (pydantic-core): parse 1.35x (baseline 1.72x), validate 1.13x (1.37x), view 1.25x (1.26x)

Other chunkings (`--chunking`, median of 3 rounds, load 1.8-2.2), ratio recording / raw now (baseline):

    chunking   parse          validate       view --events
    two        1.76x (1.92x)  1.36x (1.39x)  1.18x (1.18x)
    halves     2.76x (6.36x)  1.52x (3.32x)  1.32x (2.39x)
    crlf       1.35x (5.47x)  1.21x (2.72x)  1.15x (2.53x)   (CRLF `data:` chunks read directly; load 0.9)

Target: each reader on the recording within 1.5x of the raw file. The machine is shared: time is the process's
CPU time, the cases run in interleaved rounds, and each ratio is the median of the rounds' ratios.

`--baseline REV` also runs every reader with the tree of REV (a `git archive` in a temporary directory, with the same
interpreter and packages) on the same two files, interleaved in the same rounds, and shows the ratio now / baseline
on the recording. Each round then runs each tree in a child process (`python -P`, the tree first on the path).

    python bench/recording.py [--events N] [--repeat R] [--baseline REV] [--chunking event|two|halves|crlf]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import subprocess
import sys
import tarfile
import time
from collections.abc import Callable
from pathlib import Path
from tempfile import TemporaryDirectory

from inspector.inputs import open_source
from inspector.recording import Header, RecordingWriter
from inspector.sse import Event, SSEParser
from inspector.view.model import inspect

FIRST_T = 0.2
STEP_T = 0.01


ROOT = Path(__file__).resolve().parent.parent


CHUNKINGS: dict[str, Callable[[int], int]] = {  # how the recording's chunks hold the events: event -> its chunk
    "event": lambda event: event,  # one event a chunk, as a server flushes them
    "two": lambda event: event // 2,  # two events a chunk, as a busy network joins them
    "halves": lambda event: 2 * event + 1,  # each event cut in two: the second half completes it
    "crlf": lambda event: event,  # one event a chunk, every line ending with CRLF (as Gemini's)
}


def write_inputs(directory: Path, total: int, chunking: str = "event") -> tuple[Path, Path]:
    from validate import chat_stream  # NOTE: bench/validate.py, on the path when this file runs as a script

    body = chat_stream(total)
    end = b"\n\n"
    if chunking == "crlf":
        body, end = body.replace(b"\n", b"\r\n"), b"\r\n\r\n"
    raw = directory / "stream.sse"
    raw.write_bytes(body)
    recording = directory / "stream.jsonl"
    header = Header(
        request={"method": "POST", "url": "https://api.openai.com/v1/chat/completions", "headers": {}},
        response={"status": 200, "headers": {"content-type": "text/event-stream"}},
        protocol="openai-chat", source="proxy",
    )
    writer = RecordingWriter(recording, header)
    frames = [frame + end for frame in body.split(end) if frame]
    if chunking == "two":
        frames = [b"".join(frames[start : start + 2]) for start in range(0, len(frames), 2)]
    elif chunking == "halves":
        frames = [half for frame in frames for half in (frame[: len(frame) // 2], frame[len(frame) // 2 :])]
    for number, frame in enumerate(frames):
        writer.chunk(FIRST_T + number * STEP_T, frame)
    writer.end(FIRST_T + len(frames) * STEP_T, "complete")
    return raw, recording


def parsed(path: Path) -> list[Event]:
    parser = SSEParser()
    return [event for events in open_source(str(path)).feed_to(parser.feed) for event in events]


def parse(path: Path) -> int:
    parser = SSEParser()
    return sum(map(len, open_source(str(path)).feed_to(parser.feed)))


def parse_chunk_by_chunk(path: Path) -> int:
    parser = SSEParser()
    return sum(len(parser.feed(chunk.data, chunk.t)) for chunk in open_source(str(path)).chunks())


def validate(path: Path) -> int:
    return open_source(str(path)).validate().events


def view_events(path: Path) -> int:
    return len(inspect(open_source(str(path)), keep_events=True).events or [])


READERS: dict[str, Callable[[Path], int]] = {
    "parse": parse, "parse, chunk by chunk": parse_chunk_by_chunk, "validate": validate, "view --events": view_events,
}


def check_same_events(raw: Path, recording: Path, chunking: str) -> None:
    """The same events from both files, each recorded one with the time of the chunk that completed it."""
    from_raw, from_recording = parsed(raw), parsed(recording)
    fields = [(event.index, event.type, event.data, event.id, event.offset) for event in from_raw]
    if fields != [(event.index, event.type, event.data, event.id, event.offset) for event in from_recording]:
        raise SystemExit("the recording and the raw file give different events")
    chunk = CHUNKINGS[chunking]
    if [event.t for event in from_recording] != [round(FIRST_T + chunk(n) * STEP_T, 6) for n in range(len(from_raw))]:
        raise SystemExit("an event from the recording does not have its chunk's time")


def measure(raw: Path, recording: Path, *warm_up: Path) -> dict[str, dict[str, float]]:
    """One round: every reader once on each file, CPU seconds per event (after reading the `warm_up` files and
    parsing the recording once, so no import or first-call cost is counted)."""
    for path in warm_up:
        for read in READERS.values():
            read(path)
    parse(recording)
    seconds: dict[str, dict[str, float]] = {}
    for reader, read in READERS.items():
        for kind, path in (("raw .sse", raw), ("recording", recording)):
            start = time.process_time()
            count = read(path)
            seconds.setdefault(reader, {})[kind] = (time.process_time() - start) / count
    return seconds


def extract(revision: str, into: Path) -> None:
    """The files of `revision` of this repository, written under `into`."""
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", revision], capture_output=True, check=True).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")


def measure_in(tree: Path, *paths: Path) -> dict[str, dict[str, float]]:
    """One round in a child process reading with the `inspector` package of `tree`."""
    child = subprocess.run(
        [sys.executable, "-P", __file__, "--measure", *map(str, paths)], capture_output=True, check=True,
        env={**os.environ, "PYTHONPATH": str(tree)}, cwd=tree,
    )
    return json.loads(child.stdout)


def main() -> None:
    options = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    options.add_argument("--events", type=int, default=50_000)
    options.add_argument("--repeat", type=int, default=5)
    options.add_argument("--baseline", metavar="REV", help="also read with the tree of this git revision, side by side")
    options.add_argument("--chunking", choices=CHUNKINGS, default="event", help="how the recording's chunks hold them")
    options.add_argument("--measure", nargs=4, help=argparse.SUPPRESS)  # a child's round: raw, recording, warm-ups
    args = options.parse_args()
    if args.measure:
        print(json.dumps(measure(*map(Path, args.measure))))
        return
    with TemporaryDirectory() as temp:
        raw, recording = write_inputs(Path(temp), args.events, args.chunking)
        (Path(temp) / "warm").mkdir()
        warm_up = write_inputs(Path(temp) / "warm", 300, args.chunking)
        check_same_events(raw, recording, args.chunking)
        for reader, read in READERS.items():
            for path in (raw, recording):
                if (count := read(path)) != args.events:
                    raise SystemExit(f"{reader}, {path.name}: {count} events, expected {args.events}")
        trees = {"now": ROOT}
        if args.baseline:
            extract(args.baseline, Path(temp) / "baseline")
            trees["baseline"] = Path(temp) / "baseline"
        rounds: dict[str, list[dict[str, dict[str, float]]]] = {name: [] for name in trees}
        for _ in range(args.repeat):
            for name, tree in trees.items():
                rounds[name].append(measure_in(tree, raw, recording, *warm_up) if args.baseline else
                                    measure(raw, recording))
        sizes = f"recording {recording.stat().st_size / 1e6:.1f} MB, raw {raw.stat().st_size / 1e6:.1f} MB"
        print(f"{args.events} events, chunking {args.chunking}; {sizes}; CPU µs per event, median of {args.repeat} "
              f"interleaved rounds; load {os.getloadavg()[0]:.2f}")
        report(rounds)


def report(rounds: dict[str, list[dict[str, dict[str, float]]]]) -> None:
    header = f"{'reader':<24}" + "".join(f"{name + ': raw':>16}{'recording':>11}{'ratio':>7}" for name in rounds)
    print(header + ("   recording now/baseline" if "baseline" in rounds else "   (ratio target <= 1.5)"))
    for reader in READERS:
        line = f"{reader:<24}"
        for measured in rounds.values():
            on_raw = [one[reader]["raw .sse"] for one in measured]
            on_recording = [one[reader]["recording"] for one in measured]
            ratio = statistics.median(b / a for a, b in zip(on_raw, on_recording, strict=True))
            line += f"{statistics.median(on_raw) * 1e6:>16.2f}{statistics.median(on_recording) * 1e6:>11.2f}"
            line += f"{ratio:>6.2f}x"
        if "baseline" in rounds:
            now = [one[reader]["recording"] for one in rounds["now"]]
            before = [one[reader]["recording"] for one in rounds["baseline"]]
            line += f"   {statistics.median(a / b for a, b in zip(now, before, strict=True)):>10.2f}x"
        print(line)


if __name__ == "__main__":
    main()
