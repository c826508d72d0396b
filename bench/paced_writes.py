"""What writing the recordings of many paced streams costs the event loop per chunk, side by side in one run.

Paced streams (an LLM's tokens, 20 ms apart) queue one chunk at a time, so every chunk starts a batch that is
written `WRITE_DELAY` later. Two ways to schedule those writes on one asyncio loop, rounds alternating, process CPU
per chunk (the driver's own sleeps included, the same for both):

- a timer per stream: `loop.call_later` for each stream's batch (the recorder before `BatchedWrites`);
- one timer for all: `BatchedWrites`, the recorder's.

    .venv/bin/python bench/paced_writes.py [--streams 50] [--events 100] [--interval-ms 20] [--rounds 4]

Measured 2026-12-05 on the 2-core VM, 50 streams of 100 chunks 20 ms apart, 4 rounds: a timer per stream
31.6-33.1 µs per chunk, one timer for all 23.5-24.5.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

from inspector.recorder.decode import BodyDecoder
from inspector.recorder.stream import BatchedWrites, ChunkWriter, StreamRecording
from inspector.recording import Header

CHUNK = b'data: {"id":"c","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"hi"}}]}\n\n'


async def per_chunk(directory: Path, shared: bool, streams: int, events: int, interval: float) -> float:
    """Process CPU per chunk (µs) of `streams` paced streams recorded at once."""
    loop = asyncio.get_running_loop()
    writes = BatchedWrites(loop)
    recordings = [
        StreamRecording(ChunkWriter(directory / f"{shared}-{index}.jsonl", Header(request={})), time.time(),
                        BodyDecoder(None), summary={}, defer=writes.defer if shared else loop.call_later)
        for index in range(streams)
    ]

    async def paced(recording: StreamRecording, offset: float) -> None:
        await asyncio.sleep(offset)
        for _ in range(events):
            recording.on_chunk(CHUNK)
            await asyncio.sleep(interval)
        recording.finish()
        recording.writer.close()

    started = time.process_time()
    await asyncio.gather(*(paced(recording, index * interval / streams) for index, recording in
                           enumerate(recordings)))
    return (time.process_time() - started) / (streams * events) * 1e6


async def main(args: argparse.Namespace) -> None:
    found: dict[str, list[float]] = {"a timer per stream": [], "one timer for all": []}
    for _ in range(args.rounds):
        with tempfile.TemporaryDirectory() as tmp:
            for name, shared in (("a timer per stream", False), ("one timer for all", True)):
                found[name].append(await per_chunk(Path(tmp), shared, args.streams, args.events,
                                                   args.interval_ms / 1000))
    for name, values in found.items():
        print(f"{name:20} {statistics.median(values):6.1f} µs/chunk  ({', '.join(f'{v:.1f}' for v in values)})")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--streams", type=int, default=50)
    parser.add_argument("--events", type=int, default=100)
    parser.add_argument("--interval-ms", type=float, default=20)
    parser.add_argument("--rounds", type=int, default=4)
    asyncio.run(main(parser.parse_args()))
