"""Reading a recording against reading the same stream as a raw `.sse` file, in one run.

The stream is the long Chat stream of `bench/validate.py` (a corpus stream with its content deltas repeated),
written twice to a temp dir: as a recording with one chunk line per event (as the recorder stores a live
stream) and as the raw body. Two readers, each timed on both files: `events` (open the input, parse the SSE
events: what `events`, `view` and `diff` start with) and `validate` (the whole `Source.validate`). Target: the
recording within 1.5x of the raw file. Rounds interleave the cases and medians are shown (a shared machine is
noisy).

    python bench/recording.py [--events N] [--repeat R]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from validate import chat_stream

from inspector.inputs import open_source
from inspector.recording import Header, RecordingWriter
from inspector.sse import SSEParser


def write_inputs(directory: Path, total: int) -> tuple[Path, Path]:
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
        writer.chunk(0.2 + number * 0.01, frame)
    writer.end(0.2 + len(frames) * 0.01, "complete")
    return raw, recording


def events(path: Path) -> int:
    source = open_source(str(path))
    parser = SSEParser()
    count = 0
    for chunk in source.chunks():
        count += len(parser.feed(chunk.data, chunk.t))
    parser.close()
    return count


def validate(path: Path) -> int:
    return open_source(str(path)).validate().events


def main() -> None:
    options = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    options.add_argument("--events", type=int, default=50_000)
    options.add_argument("--repeat", type=int, default=5)
    args = options.parse_args()
    with tempfile.TemporaryDirectory() as temp:
        raw, recording = write_inputs(Path(temp), args.events)
        cases: dict[str, tuple[Callable[[Path], int], Path]] = {
            "events, raw .sse": (events, raw), "events, recording": (events, recording),
            "validate, raw .sse": (validate, raw), "validate, recording": (validate, recording),
        }
        seconds: dict[str, list[float]] = {label: [] for label in cases}
        for _ in range(args.repeat):
            for label, (read, path) in cases.items():
                start = time.perf_counter()
                count = read(path)
                seconds[label].append((time.perf_counter() - start) / count)
                if count != args.events:
                    raise SystemExit(f"{label}: {count} events, expected {args.events}")
        median = {label: statistics.median(values) * 1e6 for label, values in seconds.items()}
        sizes = f"recording {recording.stat().st_size / 1e6:.1f} MB, raw {raw.stat().st_size / 1e6:.1f} MB"
        print(f"{args.events} events; {sizes}; median of {args.repeat} interleaved rounds, µs per event")
        for label, value in median.items():
            print(f"{label:<24}{value:>8.2f}")
        for reader in ("events", "validate"):
            ratio = median[f"{reader}, recording"] / median[f"{reader}, raw .sse"]
            print(f"{reader}: recording / raw = {ratio:.2f}x (target <= 1.5)")


if __name__ == "__main__":
    main()
