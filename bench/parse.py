"""Events/s of `inspector.sse` against the openai SDK's own `SSEDecoder`, on the same bytes, in one run.

The stream is a real corpus Chat stream with its content-delta events repeated to 50,000. Two chunkings:
one network chunk per event (a live stream) and 64 KiB blocks (reading a file); the same stream with CRLF and
with CR line ends (Gemini frames with CRLF). Targets: one chunk per event >= 1.5x the SDK; CRLF and CR within
1.2x of LF. On a shared machine wall time is noisy: the cases run in interleaved rounds and the medians are
shown; for instruction counts run one case under `valgrind --tool=callgrind`.

    python bench/parse.py [--events N] [--repeat R]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from pathlib import Path

from openai._streaming import SSEDecoder

from inspector.sse import SSEParser

CORPUS = Path(__file__).parent.parent / "tests" / "fixtures" / "corpus"
SOURCE = CORPUS / "openai-chat" / "openai-python__json-object-long.sse"


def long_stream(total: int) -> list[bytes]:
    """The corpus stream's frames with its content deltas repeated until there are `total` frames."""
    frames = [frame + b"\n\n" for frame in SOURCE.read_bytes().split(b"\n\n") if frame.strip()]
    deltas = [frame for frame in frames if b'"content":"' in frame and b'"role"' not in frame]
    head = frames[: frames.index(deltas[0])]
    tail = frames[frames.index(deltas[-1]) + 1 :]
    middle = [deltas[i % len(deltas)] for i in range(total - len(head) - len(tail))]
    return head + middle + tail


def blocks(frames: list[bytes], size: int) -> list[bytes]:
    body = b"".join(frames)
    return [body[i : i + size] for i in range(0, len(body), size)]


def ours(chunks: list[bytes]) -> int:
    parser = SSEParser()
    count = 0
    for chunk in chunks:
        count += len(parser.feed(chunk))
    parser.close()
    return count


def openai_sdk(chunks: list[bytes]) -> int:
    return sum(1 for _ in SSEDecoder().iter_bytes(iter(chunks)))


def rate(parse: Callable[[list[bytes]], int], chunks: list[bytes]) -> tuple[int, float]:
    start = time.perf_counter()
    count = parse(chunks)
    return count, count / (time.perf_counter() - start)


def with_line_ends(chunks: list[bytes], end: bytes) -> list[bytes]:
    return [chunk.replace(b"\n", end) for chunk in chunks]


def main() -> None:
    options = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    options.add_argument("--events", type=int, default=50_000)
    options.add_argument("--repeat", type=int, default=7)
    args = options.parse_args()
    frames = long_stream(args.events)
    cases = {  # label -> (parser, chunks); the rounds interleave them so machine noise hits all alike
        "sdk, one chunk per event": (openai_sdk, frames),
        "ours, one chunk per event": (ours, frames),
        "sdk, 64 KiB blocks": (openai_sdk, blocks(frames, 64 * 1024)),
        "ours, 64 KiB blocks LF": (ours, blocks(frames, 64 * 1024)),
        "ours, 64 KiB blocks CRLF": (ours, blocks(with_line_ends(frames, b"\r\n"), 64 * 1024)),
        "ours, 64 KiB blocks CR": (ours, blocks(with_line_ends(frames, b"\r"), 64 * 1024)),
        "ours, one chunk per event CRLF": (ours, with_line_ends(frames, b"\r\n")),
    }
    rates: dict[str, list[float]] = {label: [] for label in cases}
    for _ in range(args.repeat):
        for label, (parse, chunks) in cases.items():
            count, events_per_s = rate(parse, chunks)
            if count != len(frames):
                raise SystemExit(f"{label}: {count} events, expected {len(frames)}")
            rates[label].append(events_per_s)
    median = {label: statistics.median(values) for label, values in rates.items()}
    print(f"stream: {SOURCE.name}, {len(frames)} events, {sum(map(len, frames)) / 1e6:.1f} MB;")
    print(f"median of {args.repeat} interleaved rounds")
    for label, value in median.items():
        print(f"{label:<34}{value:>12,.0f} ev/s")
    print("targets:")
    one, blocks_lf = median["ours, one chunk per event"], median["ours, 64 KiB blocks LF"]
    print(f"  one chunk per event, ours / sdk (>= 1.5): {one / median['sdk, one chunk per event']:.2f}x")
    print(f"  64 KiB blocks, ours / sdk: {blocks_lf / median['sdk, 64 KiB blocks']:.2f}x")
    for end in ("CRLF", "CR"):
        print(f"  64 KiB blocks, LF / {end} time (<= 1.2): {blocks_lf / median[f'ours, 64 KiB blocks {end}']:.2f}x")
    print(f"  one chunk per event, LF / CRLF time (<= 1.2): {one / median['ours, one chunk per event CRLF']:.2f}x")


if __name__ == "__main__":
    main()
