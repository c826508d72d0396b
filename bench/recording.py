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

A recording from 4 MiB on (`inspector.recording._LARGE`: the default 50,000 events make 17 MB) has its chunk lines
decoded a batch at a time by msgspec; below (`--events 10000`: 3.3 MB), one at a time by pydantic-core. Either way
a run of chunks stays text and goes to the parser's `feed_texts`, which makes a chunk of the usual shape (a `data:`
line, maybe after an `event:` line, and a blank line) its event directly.

Measured (`--baseline` the commit before `feed_texts`, 2 cores shared with other work, load 1.7; CPU µs per event):

    reader                  raw   recording  ratio    baseline: recording  ratio    recording now/baseline
    parse                   1.22     1.67    1.37x                2.49     2.02x            0.67x
    parse, chunk by chunk   1.20     2.95    2.49x                3.38     2.80x            0.88x
    validate                3.23     3.59    1.14x                4.41     1.40x            0.82x
    view --events          14.93    17.76    1.21x               18.44     1.21x            0.97x

    --events 10000 (pydantic-core): parse 1.40x (baseline 1.72x), validate 1.17x (1.40x), view 1.20x (1.15x)

Target: each reader on the recording within 1.5x of the raw file. The machine is shared: time is the process's
CPU time, the cases run in interleaved rounds, and each ratio is the median of the rounds' ratios.

`--baseline REV` also runs every reader with the tree of REV (a `git archive` in a temporary directory, with the same
interpreter and packages) on the same two files, interleaved in the same rounds, and shows the ratio now / baseline
on the recording. Each round then runs each tree in a child process (`python -P`, the tree first on the path).

    python bench/recording.py [--events N] [--repeat R] [--baseline REV]
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


def write_inputs(directory: Path, total: int) -> tuple[Path, Path]:
    from validate import chat_stream  # NOTE: bench/validate.py, on the path when this file runs as a script

    body = chat_stream(total)
    raw = directory / "stream.sse"
    raw.write_bytes(body)
    recording = directory / "stream.jsonl"
    header = Header(
        request={"method": "POST", "url": "https://api.openai.com/v1/chat/completions", "headers": {}},
        response={"status": 200, "headers": {"content-type": "text/event-stream"}},
        protocol="openai-chat", source="proxy",
    )
    writer = RecordingWriter(recording, header)
    frames = [frame + b"\n\n" for frame in body.split(b"\n\n") if frame]
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


def check_same_events(raw: Path, recording: Path) -> None:
    """The same events from both files, each recorded one with the time of its own chunk."""
    from_raw, from_recording = parsed(raw), parsed(recording)
    fields = [(event.index, event.type, event.data, event.id, event.offset) for event in from_raw]
    if fields != [(event.index, event.type, event.data, event.id, event.offset) for event in from_recording]:
        raise SystemExit("the recording and the raw file give different events")
    if [event.t for event in from_recording] != [round(FIRST_T + n * STEP_T, 6) for n in range(len(from_raw))]:
        raise SystemExit("an event from the recording does not have its chunk's time")


def measure(raw: Path, recording: Path, *warm_up: Path) -> dict[str, dict[str, float]]:
    """One round: every reader once on each file, CPU seconds per event (after reading the `warm_up` files and
    parsing the recording once, so no import or first-call cost is counted: a large recording's reader imports
    msgspec, about 10 ms, a small one's does not)."""
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
    options.add_argument("--measure", nargs=4, help=argparse.SUPPRESS)  # a child's round: raw, recording, warm-ups
    args = options.parse_args()
    if args.measure:
        print(json.dumps(measure(*map(Path, args.measure))))
        return
    with TemporaryDirectory() as temp:
        raw, recording = write_inputs(Path(temp), args.events)
        (Path(temp) / "warm").mkdir()
        warm_up = write_inputs(Path(temp) / "warm", 300)
        check_same_events(raw, recording)
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
        print(f"{args.events} events; {sizes}; CPU µs per event, median of {args.repeat} interleaved rounds; "
              f"load {os.getloadavg()[0]:.2f}")
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
