"""What asking "is the client still there?" costs the recorder per chunk, side by side in one run.

The stream callable (`StreamRecording.__call__`) runs on mitmproxy's event loop for every chunk. Before it records
a chunk it asks whether the client has gone (docs/recording.md: a client that hung up is never recorded
complete). Four variants on the same chunks, rounds alternating, medians in µs per chunk:

- no check: the callable as it was before;
- state: mitmproxy's view of the client connection only;
- state + socket, each chunk: also `poll(2)` on the client's socket for every chunk;
- state + socket, rate-limited: the socket at most once per `SOCKET_CHECK_INTERVAL` (the recorder's
  `client_watch`).

    .venv/bin/python bench/client_check.py [--chunks 30000] [--rounds 9]
"""

from __future__ import annotations

import argparse
import select
import socket
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from mitmproxy.connection import ConnectionState

from inspector.recorder import addon
from inspector.recorder.decode import BodyDecoder
from inspector.recorder.stream import ChunkWriter, StreamRecording
from inspector.recording import Header

CHUNK = b'data: {"id":"c","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"hi"}}]}\n\n'


class _Client:
    state = ConnectionState.OPEN


def _per_chunk(directory: Path, name: str, chunks: int, gone: Callable[[float], bool]) -> float:
    writer = ChunkWriter(directory / name, Header(request={}))
    recording = StreamRecording(writer, time.time(), BodyDecoder(None), summary={}, client_gone=gone,
                                defer=lambda delay, flush: None)  # written once, at the end
    started = time.perf_counter()
    for _ in range(chunks):
        recording(CHUNK)
    recording.finish()
    return (time.perf_counter() - started) / chunks * 1e6


def _watch(ours: socket.socket) -> addon.SocketWatch:
    sockets = addon.SocketWatch()
    sockets.watch(ours.fileno())
    return sockets


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chunks", type=int, default=30000)
    parser.add_argument("--rounds", type=int, default=9)
    args = parser.parse_args()
    ours, theirs = socket.socketpair()
    poller = select.poll()
    poller.register(ours.fileno(), select.POLLRDHUP)
    client = _Client()
    writable = addon._WRITABLE

    variants: dict[str, Callable[[], Callable[[float], bool]]] = {
        "no check": lambda: lambda now: False,
        "state": lambda: lambda now: client.state not in writable,
        "state + socket, each chunk": lambda: lambda now: client.state not in writable or bool(poller.poll(0)),
        "state + socket, rate-limited": lambda: addon.client_watch(client, _watch(ours), ours.fileno()),
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
