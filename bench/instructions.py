"""Instructions per event under valgrind's callgrind: where the wall clock of a shared 2-core machine swings by more
than the few per cent being measured, an instruction count is the same on every run.

    python bench/instructions.py validate [--events 10000] [--tree TREE ...]
    python bench/instructions.py proxy [--streams 8] [--stream-events 2000] [--tree TREE]

`validate`: `StreamCheck.feed` over the four streams of `bench/validate.py` in 4 KiB chunks, from this checkout and
from each `--tree` (another checkout, or `git archive REV | tar -x -C DIR`); per event = (instructions of three
passes - of one pass) / 2 / events, so start-up and imports cancel out.

`proxy`: the sustained case of `bench/proxy.py` (`--streams` streams, 4 at a time) through plain mitmdump and
through `sse-inspector record` (this checkout, or `--tree`), one after the other; collection is switched on
(`callgrind_control -i on`) only around the workload. The recorder's own process and its verdict process are
counted apart. Under callgrind a proxy runs about 50 times slower, so what happens once per wall-clock interval
(the recorder's one `poll(2)` per millisecond) comes far more often per event than in real time.

Needs valgrind (Debian: `apt-get install valgrind`). Figures of past runs: `bench/proxy-results.md` and the notes.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import re
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import proxy  # noqa: E402  (this folder's bench/proxy.py)
import validate  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
_PASSES = """
import sys
from inspector.validate import StreamCheck
body = open(sys.argv[1], "rb").read()
chunks = [body[i : i + 4096] for i in range(0, len(body), 4096)]
for _ in range(int(sys.argv[2])):
    check = StreamCheck()
    for chunk in chunks:
        check.feed(chunk)
    check.close()
"""
_TOTALS = re.compile(rb"^totals: (\d+)", re.MULTILINE)


def counted(command: list[str], out: Path, tree: Path) -> int:
    """Instructions of `command` run whole under callgrind, with the `inspector` package of `tree`."""
    subprocess.run(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", *command], cwd=tree,
                   env={**os.environ, "PYTHONPATH": str(tree)}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   check=True)
    return int(_TOTALS.search(out.read_bytes()).group(1))  # type: ignore[union-attr]


def per_event_of_validation(tree: Path, stream: Path, events: int, work: Path) -> float:
    one, three = (counted([sys.executable, "-c", _PASSES, str(stream), str(passes)], work / "out", tree)
                  for passes in (1, 3))
    return (three - one) / 2 / events


def validation(args: argparse.Namespace) -> None:
    trees = [ROOT, *(Path(tree).resolve() for tree in args.tree)]
    streams = {"openai-chat": validate.chat_stream, "openai-responses": validate.responses_stream,
               "anthropic-messages": validate.anthropic_stream, "gemini": validate.gemini_stream}
    with tempfile.TemporaryDirectory() as directory:
        work = Path(directory)
        print(f"instructions per event, StreamCheck.feed, {args.events:,} events in 4 KiB chunks")
        print(f"{'stream':20}" + "".join(f"{str(tree)[-28:]:>30}" for tree in trees))
        for name, make in streams.items():
            stream = work / f"{name}.sse"
            stream.write_bytes(make(args.events))
            counts = [per_event_of_validation(tree, stream, args.events, work) for tree in trees]
            print(f"{name:20}" + "".join(f"{count:>30,.0f}" for count in counts))


async def _sustained_under_callgrind(kind: str, tree: Path, args: argparse.Namespace, work: Path) -> None:
    server = await asyncio.start_server(proxy.upstream, "127.0.0.1", 0)
    upstream = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    port = proxy.free_port()
    valgrind = ["valgrind", "--tool=callgrind", "--instr-atstart=no", "--trace-children=yes",
                f"--callgrind-out-file={work / kind}.%p"]
    if kind == "plain":
        command = [proxy.MITMDUMP, "-q", "--mode", f"reverse:{upstream}", "--listen-host", "127.0.0.1", "-p",
                   str(port), "--set", "stream_large_bodies=1"]
    else:
        command = [sys.executable, "-m", "inspector", "record", "--reverse", upstream, "--port", str(port), "--dir",
                   str(work / "recordings")]
    process = subprocess.Popen([*valgrind, *command], cwd=tree, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(20):  # NOTE: under callgrind, starting takes a minute or more
            with contextlib.suppress(SystemExit):
                await proxy.wait_listening(port, process)
                break
        await proxy.fetch(port, 500, 0)  # warm: first-call costs are not counted
        if kind != "plain":
            await proxy.wait_recorded(work / "recordings", 1)
        subprocess.run(["callgrind_control", "-i", "on"], capture_output=True, check=True)
        await proxy.sustained(port, args.streams, args.stream_events, 4)
        if kind != "plain":
            await proxy.wait_recorded(work / "recordings", 1 + args.streams)
        subprocess.run(["callgrind_control", "-i", "off"], capture_output=True, check=True)
        subprocess.run(["callgrind_control", "-d"], capture_output=True, check=True)
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=600)
        server.close()


def proxies(args: argparse.Namespace) -> None:
    tree = Path(args.tree[0]).resolve() if args.tree else ROOT
    events = args.streams * args.stream_events
    with tempfile.TemporaryDirectory() as directory:
        work = Path(directory)
        print(f"instructions per event, {args.streams} streams of {args.stream_events} events, 4 at a time "
              f"(the sustained case of bench/proxy.py); recorder from {tree}")
        for kind in ("plain", "record"):
            asyncio.run(_sustained_under_callgrind(kind, tree, args, work))
            for dump in sorted(work.glob(f"{kind}.*.1")):  # the dumps `callgrind_control -d` asked for
                data = dump.read_bytes()
                role = ("plain mitmdump" if kind == "plain" else "the recorder's proxy" if b"inspector record" in data
                        else "the verdict process" if b"spawn_main" in data else None)
                if role is not None:
                    print(f"  {role:24} {int(_TOTALS.search(data).group(1)) / events:>10,.0f}")  # type: ignore[union-attr]


def main() -> None:
    options = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    options.add_argument("what", choices=["validate", "proxy"])
    options.add_argument("--events", type=int, default=10_000, help="validate: events a stream (%(default)s)")
    options.add_argument("--streams", type=int, default=8, help="proxy: streams (%(default)s)")
    options.add_argument("--stream-events", type=int, default=2000, help="proxy: events a stream (%(default)s)")
    options.add_argument("--tree", action="append", default=[], help="another checkout to count (validate: any "
                                                                      "number; proxy: the recorder's, one)")
    args = options.parse_args()
    validation(args) if args.what == "validate" else proxies(args)


if __name__ == "__main__":
    main()
