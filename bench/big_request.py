"""What a large request (a conversation with images or PDFs) costs the other live streams, side by side in one run.

When a response starts, the recorder needs the request's body in the recording's header, secrets redacted. For a
request of tens of MB (Anthropic takes up to 32 MB of PDF pages, OpenAI up to 50 MB of images) that work is long,
and on the proxy's event loop every other live stream waits meanwhile. Here a paced stream (a chunk every
`--interval-ms`, each carrying its send time) runs through the proxy while one request of `--mb` MB (a base64 image
in a Chat message, `stream: true`) goes through the same proxy and gets its own short stream; shown is the paced
stream's worst per-event latency, plain mitmdump against `sse-inspector record` (and `--baseline TREE`'s record).

    python bench/big_request.py [--mb 21] [--rounds 5] [--interval-ms 5] [--first-byte-ms 0] [--baseline TREE]

Each round measures every proxy once, in an order that turns with the rounds; shown are the medians of the rounds.

Measured 2026-12-05 (2 cores, load 0.3-1), 5 rounds, `--baseline` the recorder before (f0b5950: the body redacted
and the header line written on the event loop when the response starts), the stream's worst latency in ms:

    first byte after     plain   record   baseline
    300 ms                 2.1     38.0       95.1
    0 ms                   7.2     45.5      112.0

What is left is the GIL: the worker thread's longest C call (msgspec parsing the body: 8 ms at 21 MB) holds it,
and the event loop waits for it whenever it needs the GIL back, several times while mitmproxy sends the request
on. Steps on the way, first byte after 300 ms: the thread alone, with the body decoded to text before it was
parsed (14 and 19 ms calls), 70 ms; with the keys counted by a regex, 56 ms; without the thread, 60-80 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import proxy as common  # noqa: E402  the upstream, the paced client and the proxies of bench/proxy.py


def big_body(mb: float) -> bytes:
    """A Chat request of about `mb` MB: one user message with a base64 image, the same every run."""
    image = base64.b64encode(random.Random(1).randbytes(int(mb * 1_000_000 * 3 / 4))).decode()
    return json.dumps({"model": "gpt-4o", "stream": True, "messages": [{"role": "user", "content": [
        {"type": "text", "text": "What is in this picture?"},
        {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{image}"}}]}]}).encode()


async def send_big(port: int, body: bytes, first_byte_ms: float) -> float:
    """Seconds until the big request's own (short) stream has ended."""
    start = time.perf_counter()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"POST /v1/chat/completions HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\n"
                 b"Authorization: Bearer sk-bench-secret-0123456789\r\nX-Events: 5\r\nX-Interval-Ms: 0\r\n"
                 b"X-First-Byte-Ms: %g\r\nContent-Length: %d\r\n\r\n" % (first_byte_ms, len(body)))
    writer.write(body)
    await writer.drain()
    pending = b""
    while data := await reader.read(65536):
        pending = (pending + data)[-16:]
        if pending.endswith(b"0\r\n\r\n"):
            break
    writer.close()
    return time.perf_counter() - start


async def one_round(port: int, body: bytes, events: int, interval_ms: float, first_byte_ms: float
                    ) -> tuple[float, float, float]:
    """(worst latency ms, median latency ms, big request's seconds) of a paced stream with the big request sent
    through the same proxy a tenth of the way in."""
    paced = asyncio.ensure_future(common.fetch(port, events, interval_ms))
    await asyncio.sleep(events * interval_ms / 1000 / 10)
    took = await send_big(port, body, first_byte_ms)
    _, latencies = await paced
    return max(latencies), statistics.median(latencies), took


async def main(args: argparse.Namespace) -> None:
    body = big_body(args.mb)
    server = await asyncio.start_server(common.upstream, "127.0.0.1", 0)
    up = server.sockets[0].getsockname()[1]
    work = Path(tempfile.mkdtemp(prefix="sse-bench-"))
    trees = {"record": common.ROOT} | ({"baseline": Path(args.baseline).resolve()} if args.baseline else {})
    processes = common.start_proxies(up, work, trees)
    results: dict[str, list[tuple[float, float, float]]] = {name: [] for name in processes}
    try:
        for process, port in processes.values():
            await common.wait_listening(port, process)
        names = list(processes)
        for round_ in range(args.rounds):
            for name in names[round_ % len(names):] + names[: round_ % len(names)]:
                results[name].append(await one_round(processes[name][1], body, args.events, args.interval_ms,
                                                     args.first_byte_ms))
    finally:
        common.stop_proxies(processes, work)
        server.close()
    print(f"a {len(body) / 1e6:.1f} MB request (first byte after {args.first_byte_ms:g} ms) through the proxy while "
          f"a stream of a chunk every {args.interval_ms:g} ms runs, medians of {args.rounds} rounds:")
    for name, found in results.items():
        worst, median, took = (statistics.median(values) for values in zip(*found, strict=True))
        print(f"  {name:9} the stream's worst latency {worst:7.1f} ms (median {median:.2f} ms); "
              f"the big request's stream ended after {took * 1000:.0f} ms; rounds' worst: "
              + ", ".join(f"{value[0]:.0f}" for value in found))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mb", type=float, default=21.0)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--events", type=int, default=600)
    parser.add_argument("--interval-ms", type=float, default=5.0)
    parser.add_argument("--first-byte-ms", type=float, default=0.0,
                        help="the upstream's time to its first byte for the big request (the model reading it)")
    parser.add_argument("--baseline", metavar="TREE", help="also measure `record` run from this checkout")
    asyncio.run(main(parser.parse_args()))
