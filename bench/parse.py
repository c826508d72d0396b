"""Events/s of `inspector.sse` against the openai SDK's own `SSEDecoder`, on the same bytes, in one run.

The stream is a real corpus Chat stream with its content-delta events repeated to 50,000. Two chunkings:
one network chunk per event (a live stream) and 64 KiB blocks (reading a file).

    python bench/parse.py [--events N] [--repeat R]
"""

from __future__ import annotations

import argparse
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


def best_rate(parse: Callable[[list[bytes]], int], chunks: list[bytes], repeat: int) -> tuple[int, float]:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        count = parse(chunks)
        best = min(best, time.perf_counter() - start)
    return count, count / best


def main() -> None:
    options = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    options.add_argument("--events", type=int, default=50_000)
    options.add_argument("--repeat", type=int, default=5)
    args = options.parse_args()
    frames = long_stream(args.events)
    print(f"stream: {SOURCE.name}, {len(frames)} events, {sum(map(len, frames)) / 1e6:.1f} MB; best of {args.repeat}")
    print(f"{'chunking':<22}{'openai SSEDecoder':>20}{'inspector.sse':>16}{'ratio':>8}")
    for label, chunks in (("one chunk per event", frames), ("64 KiB blocks", blocks(frames, 64 * 1024))):
        base_count, base = best_rate(openai_sdk, chunks, args.repeat)
        our_count, rate = best_rate(ours, chunks, args.repeat)
        if base_count != our_count:
            raise SystemExit(f"event counts differ: openai {base_count}, ours {our_count}")
        print(f"{label:<22}{base:>14,.0f} ev/s{rate:>10,.0f} ev/s{rate / base:>7.2f}x")


if __name__ == "__main__":
    main()
