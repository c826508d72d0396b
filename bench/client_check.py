"""What asking "is the client still there?" costs the recorder per chunk, side by side in one run.

The stream callable (`StreamRecording.on_chunk`) runs on mitmproxy's event loop for every chunk. Before it records
a chunk it asks whether the client has gone (docs/recording.md: a client that hung up is never recorded
complete). Four variants on the same chunks, rounds alternating, medians in µs per chunk:

- no check: the callable as it was before;
- state: mitmproxy's view of the client connection only;
- state + socket, each chunk: also `poll(2)` on the client's socket for every chunk;
- state + socket, rate-limited: the socket at most once per `SOCKET_CHECK_INTERVAL` (the recorder's
  `ClientWatch`).

    .venv/bin/python bench/client_check.py [--chunks 30000] [--rounds 9]
"""

from __future__ import annotations

import argparse
import socket
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from mitmproxy.connection import ConnectionState

from inspector.recorder.client_watch import SOCKET_CHECK_INTERVAL, ClientWatch, SocketWatch
from inspector.recorder.decode import BodyDecoder
from inspector.recorder.stream import ChunkWriter, StreamRecording
from inspector.recording import Header

CHUNK = b'data: {"id":"c","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"hi"}}]}\n\n'


class _Client:
    state = ConnectionState.OPEN


def _per_chunk(directory: Path, name: str, chunks: int, client: ClientWatch | None) -> float:
    writer = ChunkWriter(directory / name, Header(request={}))
    recording = StreamRecording(writer, time.time(), BodyDecoder(None), summary={}, client=client,
                                defer=lambda delay, flush: None)  # written once, at the end
    started = time.perf_counter()
    for _ in range(chunks):
        recording.on_chunk(CHUNK)
    recording.finish()
    return (time.perf_counter() - started) / chunks * 1e6


def _watch(ours: socket.socket, interval: float = SOCKET_CHECK_INTERVAL) -> SocketWatch:
    sockets = SocketWatch(interval)
    sockets.watch(ours.fileno())
    return sockets


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chunks", type=int, default=30000)
    parser.add_argument("--rounds", type=int, default=9)
    args = parser.parse_args()
    ours, theirs = socket.socketpair()
    client = _Client()

    variants: dict[str, Callable[[], ClientWatch | None]] = {
        "no check": lambda: None,
        "state": lambda: ClientWatch(client),  # type: ignore[arg-type]
        "state + socket, each chunk": lambda: ClientWatch(client, _watch(ours, 0), ours.fileno()),  # type: ignore[arg-type]
        "state + socket, rate-limited": lambda: ClientWatch(client, _watch(ours), ours.fileno()),  # type: ignore[arg-type]
    }
    times: dict[str, list[float]] = {name: [] for name in variants}
    with tempfile.TemporaryDirectory() as tmp:
        for round_ in range(args.rounds):
            for index, (name, make) in enumerate(variants.items()):
                times[name].append(_per_chunk(Path(tmp), f"{round_}-{index}.jsonl", args.chunks, make()))
    for name, values in times.items():
        print(f"{name:30} {statistics.median(values):6.2f} µs/chunk")
    ours.close()
    theirs.close()


if __name__ == "__main__":
    main()
