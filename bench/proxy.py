"""What the recorder costs the app, side by side in one run: plain mitmdump streaming vs `sse-inspector record`.

    python bench/proxy.py [--events 20000] [--paced 300] [--interval-ms 5] [--rounds 3] [--streams 24]
                          [--stream-events 2000] [--concurrency 4] [--concurrent 50] [--concurrent-interval-ms 20]
                          [--cases burst,paced,sustained,concurrent,idle-load] [--baseline TREE]

1. Burst: one Chat Completions stream of `--events` events, each its own HTTP chunk, sent as fast as the
   upstream can; the client times the whole body. Throughput in events/s; the recorder must keep >= 85 %.
   Beside it, the cost per event of validating inside the stream callable (`StreamCheck.feed`), measured
   in-process: the number behind computing the verdict once the stream has ended instead, in a child process.
2. Paced: `--paced` events `--interval-ms` apart; each event carries the upstream's send time, the client takes
   arrival minus send. The recorder must add < 1 ms per event at the median.
3. Sustained: `--streams` streams of `--stream-events` events, `--concurrency` at a time, back to back; the clock
   stops when the last recording has its end line, so the verdicts are included. Throughput in events/s; the
   recorder must keep >= 90 % of plain's. Also shown: the streams alone (the clock stopped at the last byte the
   clients got) and how long after that the last verdict came: the verdict process runs at the lowest CPU
   priority, so on a busy machine verdicts wait for idle CPU while the streams go on at full speed.
4. Concurrent paced: `--concurrent` streams at once, each `--paced` events `--concurrent-interval-ms` apart (20 ms:
   50 events/s, a fast model; at 5 ms, 50 streams keep plain mitmdump itself near a full core on a 2-core machine
   and its own p99 swings by tens of ms between rounds); p99 of the per-event latency over all of them. The
   recorder must add < 1 ms at the p99.
5. Idle load: plain mitmdump alone, in the sustained case's workload, once as it is and once beside a busy loop at
   the verdict process's priority (`yield_to_the_proxy`: nice 19, `SCHED_IDLE`), which by the scheduler's rules
   only takes CPU time nobody else wants. What the busy loop costs plain mitmdump is what this machine charges for
   work at that priority while streams are live, whatever the work (the recorder's verdicts run there).

`--baseline TREE` runs a third proxy in the same rounds: `sse-inspector record` from another checkout (say,
`git archive main | tar -x -C /tmp/base`), so a change to the recorder is measured against the code before it,
each against the same plain mitmdump.

Cases 3 and 4 split the CPU per event: the proxy's event loop (its main thread) and the verdict process.
The upstream and the client share this process's event loop (their cost is the same for both proxies); each
proxy is its own process. Rounds alternate the order of the two proxies, and each round measures both back to
back, so on a shared machine the median of the per-round ratios is the steadier number; the load average is
printed with the figures.

Where it stands (2026-12-06, a 2-core virtual machine, nothing else running): paced and concurrent within a few
hundredths of a ms of plain mitmdump; sustained 80-84 % in runs of 31-41 rounds (the target is 90 %), where a
recorder that records no chunk keeps 95-100 % and one whose verdicts read nothing 88-92 %; and the idle-load case
shows that a busy loop at the verdict process's priority costs plain mitmdump itself 19 % here (81 %, quartiles
74-92 %). A round's ratio swings by ten points and more, so only runs of 30 rounds and more tell a few per cent
apart. Every dated run, what each change did to these figures and what was tried and not kept:
`bench/proxy-results.md`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
MITMDUMP = str(Path(PYTHON).with_name("mitmdump"))
_SENT = re.compile(rb'"obfuscation":"(\d+)"')


def chunk_event(index: int, sent_ns: int) -> bytes:
    payload = {
        "id": "chatcmpl-bench", "object": "chat.completion.chunk", "created": 1700000000, "model": "gpt-4o-mini",
        "choices": [{"index": 0, "delta": {"content": f" tok{index}"}, "finish_reason": None}],
        "obfuscation": str(sent_ns),  # NOTE: where OpenAI puts a new random pad on every chunk: the send time here
    }
    return b"data: " + json.dumps(payload, separators=(",", ":")).encode() + b"\n\n"


_FINISH = (b'data: {"id":"chatcmpl-bench","object":"chat.completion.chunk","created":1700000000,'
           b'"model":"gpt-4o-mini","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}\n\n')


def _http_chunk(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data)


async def upstream(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """A minimal HTTP/1.1 SSE server: `X-Events` events, `X-Interval-Ms` apart (0: a burst), the first after
    `X-First-Byte-Ms` (0 if not given)."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError:
        return  # a readiness probe
    headers = dict(line.split(b": ", 1) for line in head.split(b"\r\n")[1:] if b": " in line)
    length = int(headers.get(b"Content-Length", b"0"))
    if length:
        await reader.readexactly(length)
    events, interval = int(headers[b"X-Events"]), float(headers[b"X-Interval-Ms"]) / 1000
    await asyncio.sleep(float(headers.get(b"X-First-Byte-Ms", b"0")) / 1000)  # the model thinking, if asked
    writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n"
                 b"connection: close\r\n\r\n")
    for index in range(events):
        writer.write(_http_chunk(chunk_event(index, time.perf_counter_ns())))
        if interval:
            await writer.drain()
            await asyncio.sleep(interval)
        elif index % 64 == 63:
            await writer.drain()
    writer.write(_http_chunk(_FINISH) + _http_chunk(b"data: [DONE]\n\n") + b"0\r\n\r\n")
    await writer.drain()
    writer.close()


async def fetch(port: int, events: int, interval_ms: float) -> tuple[float, list[float]]:
    """(seconds for the whole body, per-event latency in ms) through the proxy at `port`."""
    body = b'{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"hi"}]}'
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    start = time.perf_counter()
    writer.write(b"POST /v1/chat/completions HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\n"
                 b"Authorization: Bearer sk-bench-secret-0123456789\r\n"
                 b"X-Events: %d\r\nX-Interval-Ms: %g\r\nContent-Length: %d\r\n\r\n%s"
                 % (events, interval_ms, len(body), body))
    await writer.drain()
    latencies: list[float] = []
    pending = b""
    while data := await reader.read(65536):
        now = time.perf_counter_ns()
        pending += data
        if interval_ms:
            *complete, pending = pending.split(b"\n\n")
            latencies.extend((now - int(found.group(1))) / 1e6 for block in complete if (found := _SENT.search(block)))
        elif len(pending) > 1 << 16:
            pending = pending[-32:]
        if pending.endswith(b"0\r\n\r\n"):
            break
    elapsed = time.perf_counter() - start
    writer.close()
    return elapsed, latencies


def loop_cpu(pid: int) -> float:
    """CPU seconds used so far by a process's main thread (the event loop; not the verdict worker)."""
    return _cpu(f"/proc/{pid}/task/{pid}/stat")


def children_cpu(pid: int) -> float:
    """CPU seconds used so far by a process's live children (the recorder's verdict process)."""
    tasks = Path(f"/proc/{pid}/task").iterdir()
    children = [child for task in tasks for child in (task / "children").read_text().split()]
    return sum(_cpu(f"/proc/{child}/stat") for child in children)


def _cpu(stat: str) -> float:
    fields = Path(stat).read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def wait_listening(port: int, process: subprocess.Popen) -> None:
    for _ in range(600):
        if process.poll() is not None:
            raise SystemExit(f"proxy exited with {process.returncode}")
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            await asyncio.sleep(0.05)
            continue
        writer.close()
        return
    raise SystemExit("proxy did not start")


_ENDED: set[Path] = set()


def _has_end_line(path: Path) -> bool:
    with open(path, "rb") as file:
        file.seek(max(0, path.stat().st_size - 300))
        return b'"kind":"end"' in file.read()


async def wait_recorded(directory: Path, count: int) -> None:
    """Until `count` recordings have their end line (the recorder validates after the stream, off the path). Looked
    for every millisecond: the last end line comes a few milliseconds after the last byte, and looking every 10 ms
    (as before 2026-12-05) counted up to 10 ms more against the recorder."""
    for _ in range(60_000):
        _ENDED.update(path for path in directory.glob("*.jsonl") if path not in _ENDED and _has_end_line(path))
        if sum(path.parent == directory for path in _ENDED) >= count:
            return
        await asyncio.sleep(0.001)
    raise SystemExit("recordings did not end")


async def sustained(port: int, streams: int, events: int, concurrency: int) -> None:
    """`streams` burst streams, `concurrency` at a time, back to back."""
    slots = asyncio.Semaphore(concurrency)

    async def one() -> None:
        async with slots:
            await fetch(port, events, 0)

    await asyncio.gather(*(one() for _ in range(streams)))


async def concurrent_paced(port: int, streams: int, events: int, interval_ms: float) -> list[float]:
    """Per-event latencies (ms) of `streams` paced streams at once."""
    done = await asyncio.gather(*(fetch(port, events, interval_ms) for _ in range(streams)))
    return [latency for _, latencies in done for latency in latencies]


def p99(values: list[float]) -> float:
    return statistics.quantiles(values, n=100)[98]


def validation_cost(events: int) -> float:
    """Microseconds per event that `StreamCheck.feed` would add inside the stream callable."""
    sys.path.insert(0, str(ROOT))
    from inspector.validate import StreamCheck

    chunks = [chunk_event(index, 0) for index in range(events)]
    check = StreamCheck(request_path="/v1/chat/completions", status=200, content_type="text/event-stream")
    start = time.perf_counter()
    for chunk in chunks:
        check.feed(chunk, 0.0)
    return (time.perf_counter() - start) / events * 1e6


CASES = ("burst", "paced", "sustained", "concurrent", "idle-load")
BUSY = ("from inspector.recorder.verdict_process import yield_to_the_proxy\n"
        "yield_to_the_proxy()\nwhile True:\n    pass\n")
"""A process that only spins, at the verdict process's priority."""


async def sustained_rate(port: int, args: argparse.Namespace) -> float:
    """Events/s of the sustained case's streams through the proxy at `port`."""
    start = time.perf_counter()
    await sustained(port, args.streams, args.stream_events, args.concurrency)
    return args.streams * args.stream_events / (time.perf_counter() - start)


async def beside_busy_loop(port: int, args: argparse.Namespace) -> float:
    """`sustained_rate` while a busy loop runs at the verdict process's priority."""
    busy = subprocess.Popen([PYTHON, "-c", BUSY], cwd=ROOT)
    try:
        await asyncio.sleep(0.3)  # NOTE: the loop spinning before the clock starts
        return await sustained_rate(port, args)
    finally:
        busy.kill()
        busy.wait()


def cases(text: str) -> list[str]:
    """`--cases`: names of `CASES`, comma-separated (a misspelt one would measure nothing)."""
    named = text.split(",")
    if unknown := [name for name in named if name not in CASES]:
        raise argparse.ArgumentTypeError(f"unknown case {', '.join(unknown)} (known: {', '.join(CASES)})")
    return named


def start_proxies(upstream_port: int, work: Path, trees: dict[str, Path]) -> dict[str, tuple[subprocess.Popen, int]]:
    """Plain mitmdump and `sse-inspector record` run from each tree (recording into `work/<name>`), each in reverse
    mode in front of the upstream: (process, port) by name, `plain` first."""
    upstream_url = f"http://127.0.0.1:{upstream_port}"
    port = free_port()
    processes = {"plain": (subprocess.Popen(
        [MITMDUMP, "-q", "--mode", f"reverse:{upstream_url}", "--listen-host", "127.0.0.1", "-p", str(port),
         "--set", "stream_large_bodies=1"], stdout=subprocess.DEVNULL), port)}
    for name, tree in trees.items():
        port = free_port()
        command = [PYTHON, "-m", "inspector", "record", "--reverse", upstream_url, "--port", str(port),
                   "--dir", str(work / name)]
        processes[name] = subprocess.Popen(command, stdout=subprocess.DEVNULL, cwd=tree), port  # cwd: its code
    return processes


def stop_proxies(processes: dict[str, tuple[subprocess.Popen, int]], work: Path) -> None:
    """Ctrl-C for each (the recorders end their recordings), then their recordings go."""
    for process, _ in processes.values():
        process.send_signal(signal.SIGINT)
        process.wait(timeout=30)
    shutil.rmtree(work, ignore_errors=True)


async def main(args: argparse.Namespace) -> None:
    load = os.getloadavg()
    server = await asyncio.start_server(upstream, "127.0.0.1", 0)
    up = server.sockets[0].getsockname()[1]
    work = Path(tempfile.mkdtemp(prefix="sse-bench-"))
    trees = {"record": ROOT} | ({"baseline": Path(args.baseline).resolve()} if args.baseline else {})
    processes = start_proxies(up, work, trees)
    results: dict[str, dict[str, list[float]]] = {name: defaultdict(list) for name in processes}
    recorded: dict[str, int] = defaultdict(int)

    async def ended(name: str, streams: int) -> None:
        """Until the recorder's streams so far have their end lines (plain mitmdump has none to wait for)."""
        if name in trees:
            recorded[name] += streams
            await wait_recorded(work / name, recorded[name])

    async def measure(name: str) -> None:
        process, port = processes[name]
        found = results[name]
        if "burst" in args.cases:
            cpu = loop_cpu(process.pid)
            elapsed, _ = await fetch(port, args.events, 0)
            found["cpu_us"].append((loop_cpu(process.pid) - cpu) / args.events * 1e6)
            found["burst"].append(args.events / elapsed)
            await ended(name, 1)
        if "paced" in args.cases:
            _, latencies = await fetch(port, args.paced, args.interval_ms)
            found["paced"].append(statistics.median(latencies))
            await ended(name, 1)
        if "sustained" in args.cases:
            start, cpu, child = time.perf_counter(), loop_cpu(process.pid), children_cpu(process.pid)
            await sustained(port, args.streams, args.stream_events, args.concurrency)
            delivered = time.perf_counter()
            await ended(name, args.streams)
            count = args.streams * args.stream_events
            found["sustained"].append(count / (time.perf_counter() - start))
            found["delivered"].append(count / (delivered - start))
            found["verdict_lag_s"].append(time.perf_counter() - delivered)
            found["sustained_loop_us"].append((loop_cpu(process.pid) - cpu) / count * 1e6)
            found["sustained_child_us"].append((children_cpu(process.pid) - child) / count * 1e6)
        if "concurrent" in args.cases:
            cpu, child = loop_cpu(process.pid), children_cpu(process.pid)
            latencies = await concurrent_paced(port, args.concurrent, args.paced, args.concurrent_interval_ms)
            await ended(name, args.concurrent)
            found["p99"].append(p99(latencies))
            found["p99_loop_us"].append((loop_cpu(process.pid) - cpu) / len(latencies) * 1e6)
            found["p99_child_us"].append((children_cpu(process.pid) - child) / len(latencies) * 1e6)
        if "idle-load" in args.cases and name == "plain":
            for busy in (False, True) if len(found["alone"]) % 2 else (True, False):  # each first every other round
                if busy:
                    found["beside_busy_loop"].append(await beside_busy_loop(port, args))
                else:
                    found["alone"].append(await sustained_rate(port, args))

    try:
        for process, port in processes.values():
            await wait_listening(port, process)
        for name, (_, port) in processes.items():  # warm-up
            await fetch(port, 200, 0)
            await ended(name, 1)
        order = list(processes)
        for round_number in range(args.rounds):
            for name in order[round_number % len(order):] + order[:round_number % len(order)]:
                await measure(name)
    finally:
        stop_proxies(processes, work)
        server.close()
    report(args, results)
    print(f"load average (1, 5, 15 min) at the start {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}, at the end "
          + " ".join(f"{value:.2f}" for value in os.getloadavg()))
    print("raw:", json.dumps(results))


def report(args: argparse.Namespace, results: dict[str, dict[str, list[float]]]) -> None:
    def median(key: str) -> dict[str, float]:
        return {name: statistics.median(values[key]) for name, values in results.items()}

    def ratio(key: str, name: str = "record") -> str:
        """The median of the rounds' ratios (each round measured both back to back), and their quartiles."""
        return spread([ours / plain for ours, plain in zip(results[name][key], results["plain"][key], strict=True)])

    def baseline(key: str, unit: str = "events/s") -> None:
        """The same figure for `--baseline`'s recorder, measured in the same rounds."""
        if "baseline" in results:
            value = statistics.median(results["baseline"][key])
            print(f"  baseline tree     {value:>9.0f} {unit}   "
                  f"median of the rounds' ratios {ratio(key, 'baseline')}")

    if "burst" in args.cases:
        burst, cpu = median("burst"), median("cpu_us")
        print(f"burst of {args.events} events, median of {args.rounds} rounds:")
        print(f"  plain mitmdump    {burst['plain']:>9.0f} events/s   ({1e6 / burst['plain']:.1f} us/event)")
        print(f"  sse-inspector     {burst['record']:>9.0f} events/s   = {burst['record'] / burst['plain']:.0%} of "
              f"plain; median of the rounds' ratios {ratio('burst')}; target >= 85%")
        baseline("burst")
        print(f"  event-loop CPU per event: plain {cpu['plain']:.1f} us, sse-inspector {cpu['record']:.1f} us "
              f"(+{cpu['record'] - cpu['plain']:.1f} us; {cpu['plain'] / cpu['record']:.0%} of plain's rate if "
              "CPU-bound)")
        cost = validation_cost(args.events)
        print(f"  validating in the stream callable (StreamCheck.feed) would add {cost:.1f} us/event more: "
              f"{cpu['plain'] / (cpu['record'] + cost):.0%} of plain's rate if CPU-bound, so the verdict is "
              "computed once the stream has ended, in a child process")
    if "paced" in args.cases:
        paced = median("paced")
        print(f"paced: {args.paced} events {args.interval_ms:g} ms apart, median latency upstream -> client:")
        print(f"  plain mitmdump    {paced['plain']:.3f} ms")
        print(f"  sse-inspector     {paced['record']:.3f} ms   added {paced['record'] - paced['plain']:+.3f} ms "
              "(target < 1 ms)")
        if "baseline" in paced:
            print(f"  baseline tree     {paced['baseline']:.3f} ms   "
                  f"added {paced['baseline'] - paced['plain']:+.3f} ms")
    if "sustained" in args.cases:
        steady = median("sustained")
        print(f"sustained: {args.streams} streams of {args.stream_events} events, {args.concurrency} at a time, "
              "verdicts included, median of the rounds:")
        print(f"  plain mitmdump    {steady['plain']:>9.0f} events/s")
        print(f"  sse-inspector     {steady['record']:>9.0f} events/s   = {steady['record'] / steady['plain']:.0%} "
              f"of plain; median of the rounds' ratios {ratio('sustained')}; target >= 90%")
        baseline("sustained")
        delivered, lag = median("delivered"), statistics.median(results["record"]["verdict_lag_s"])
        print(f"  the streams alone (the clock stopped when the last client had its last byte): plain "
              f"{delivered['plain']:.0f} events/s, sse-inspector {delivered['record']:.0f} events/s, median of the "
              f"rounds' ratios {ratio('delivered')}; the last end line came {lag:.2f} s after the last byte")
        if "baseline" in results:
            print("  baseline tree, the streams alone: median of the rounds' ratios "
                  f"{ratio('delivered', 'baseline')}")
        _cpu_split(results, "sustained")
    if "concurrent" in args.cases:
        tail = median("p99")
        added, before = (statistics.median(ours - plain for ours, plain in zip(results[name]["p99"],
                                                                                results["plain"]["p99"], strict=True))
                         if name in results else None for name in ("record", "baseline"))
        print(f"concurrent paced: {args.concurrent} streams at once, {args.paced} events "
              f"{args.concurrent_interval_ms:g} ms apart, p99 latency upstream -> client, median of the rounds:")
        print(f"  plain mitmdump    {tail['plain']:.3f} ms")
        print(f"  sse-inspector     {tail['record']:.3f} ms   added {tail['record'] - tail['plain']:+.3f} ms; "
              f"median of the rounds' differences {added:+.3f} ms (target < 1 ms)")
        if before is not None:
            print(f"  baseline tree     {tail['baseline']:.3f} ms   median of the rounds' differences {before:+.3f} ms")
        _cpu_split(results, "p99")
    if "idle-load" in args.cases:
        plain = results["plain"]
        alone, busy = statistics.median(plain["alone"]), statistics.median(plain["beside_busy_loop"])
        ratios = [beside / by_itself for beside, by_itself in zip(plain["beside_busy_loop"], plain["alone"],
                                                                   strict=True)]
        print(f"idle load: plain mitmdump, {args.streams} streams of {args.stream_events} events, {args.concurrency} "
              "at a time, beside a busy loop at the verdict process's priority, median of the rounds:")
        print(f"  alone {alone:.0f} events/s, beside the busy loop {busy:.0f} events/s; median of the rounds' ratios "
              f"{spread(ratios)}")


def spread(ratios: list[float]) -> str:
    """`84% (quartiles 80-88%)`: a round's ratio swings by ten points and more on a shared machine, so the median
    alone does not say whether a few rounds more would move it."""
    if len(ratios) < 2:
        return f"{statistics.median(ratios):.0%}"
    low, _, high = statistics.quantiles(ratios, n=4)
    return f"{statistics.median(ratios):.0%} (quartiles {low:.0%}-{high:.0%})"


def _cpu_split(results: dict[str, dict[str, list[float]]], case: str) -> None:
    """The proxy's event-loop CPU and its children's (the verdict process) per event, medians of the rounds."""
    loop = {name: statistics.median(values[f"{case}_loop_us"]) for name, values in results.items()}
    child = statistics.median(results["record"][f"{case}_child_us"])
    print(f"  CPU per event: event loop plain {loop['plain']:.1f} us, sse-inspector {loop['record']:.1f} us "
          f"(+{loop['record'] - loop['plain']:.1f} us); verdict process {child:.1f} us (at the lowest priority)")
    if "baseline" in loop:
        print(f"  baseline tree: event loop {loop['baseline']:.1f} us (+{loop['baseline'] - loop['plain']:.1f} us), "
              f"verdict process {statistics.median(results['baseline'][f'{case}_child_us']):.1f} us")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=20000)
    parser.add_argument("--paced", type=int, default=300)
    parser.add_argument("--interval-ms", type=float, default=5.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--streams", type=int, default=24)
    parser.add_argument("--stream-events", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--concurrent", type=int, default=50)
    parser.add_argument("--concurrent-interval-ms", type=float, default=20.0)
    parser.add_argument("--baseline", metavar="TREE", help="also measure `record` run from this checkout")
    parser.add_argument("--cases", type=cases, default=list(CASES), help=f"comma-separated, of {','.join(CASES)}")
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    asyncio.run(main(parser.parse_args()))
