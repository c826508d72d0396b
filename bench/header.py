"""What starting a recording costs the proxy's event loop when the request is a long conversation, side by side.

When a response's headers come, the recorder builds the recording's header (the request's URL, headers and body,
secrets redacted: `flow_header`) and creates the file with its header line (`ChunkWriter`), on the proxy's event
loop: every live stream waits meanwhile. An agent's request carries the whole conversation, hundreds of KiB, at
every turn. Three bodies of about `--kib` KiB:

- `anthropic-thinking`: an Anthropic Messages conversation with thinking blocks, whose `signature` fields are
  secret: the body is parsed, redacted and written again;
- `chat-words`: an OpenAI Chat conversation whose text says "token" and "key" but holds no secret field: parsed,
  nothing redacted, the text kept as it came;
- `chat-plain`: no secret word at all: parsed too (looking for the words first cost more), kept as it came.

    python bench/header.py [--kib 175] [--rounds 7] [--repeat 20] [--baseline REV]

Each round runs each tree in a child process (`python -P`, its tree first on the path, so `--baseline` measures the
code of REV with the same interpreter and packages): CPU milliseconds per header, the median of `--repeat` after a
warm-up; shown is the median of the rounds, and the median of the rounds' ratios now / baseline.

Measured 2026-12-05 (2 cores, load 0.9), `--baseline a3af724` (the json module, a copying redaction, and a search
for the secret words in the text first, which cost more than parsing it), 175 KiB, 7 rounds:

    body                   now ms   baseline ms   now / baseline
    anthropic-thinking      1.24        4.43          0.28x
    chat-words              0.72        1.96          0.37x
    chat-plain              0.73        2.91          0.25x

Later that day the key count (which tells a key given twice) also looks for a colon after JSON spacing or after an
escaped backslash, which could make it count too few and keep a secret: `--baseline 8d12114`, 7 rounds, load 0.4:
anthropic-thinking 1.14 / 1.15 ms, chat-words 0.84 / 0.77 ms (1.11x), chat-plain 0.85 / 0.77 ms (1.10x).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORDS = ["the", "a", "model", "answer", "tool", "call", "function", "result", "value", "stream", "chunk", "event",
         "weather", "city"]


def conversation(kind: str, kib: int) -> dict:
    """A request body of about `kib` KiB, the same every run."""
    pick = random.Random(1)

    def text(count: int) -> str:
        return " ".join(pick.choices(WORDS + (["token", "key"] if kind == "chat-words" else []), k=count))

    messages: list[dict] = []
    while len(json.dumps(messages)) < kib * 1024:
        turn = len(messages)
        if kind == "anthropic-thinking":
            messages.append({"role": "assistant", "content": [
                {"type": "thinking", "thinking": text(120), "signature": "EqQBCkYIBRgCKkD" + "x" * 300},
                {"type": "text", "text": text(80)},
                {"type": "tool_use", "id": f"toolu_{turn}", "name": "get_weather", "input": {"city": "Paris"}}]})
            messages.append({"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": f"toolu_{turn}", "content": text(150)}]})
        else:
            messages.append({"role": "assistant", "content": text(120)})
            messages.append({"role": "user", "content": text(150)})
    if kind == "anthropic-thinking":
        return {"model": "claude-sonnet-4-5", "max_tokens": 4096, "stream": True,
                "thinking": {"type": "enabled", "budget_tokens": 2000}, "messages": messages}
    return {"model": "gpt-4o", "stream": True, "messages": messages}


BODIES = ("anthropic-thinking", "chat-words", "chat-plain")


def measure(kib: int, repeat: int) -> dict[str, float]:
    """One round in this process: CPU ms per header of each body (`flow_header` and the file with its header line)."""
    from mitmproxy.test import tflow

    from inspector.recorder.addon import flow_header
    from inspector.recorder.stream import ChunkWriter

    found = {}
    with tempfile.TemporaryDirectory() as directory:
        for kind in BODIES:
            flow = tflow.tflow(resp=True)
            flow.request.headers["content-type"] = "application/json"
            flow.request.content = json.dumps(conversation(kind, kib)).encode()
            times = []
            for index in range(repeat + 2):  # the first two warm up (imports, caches)
                start = time.process_time()
                header = flow_header(flow, "anthropic", time.time(), None)
                ChunkWriter(Path(directory) / f"{kind}-{index}.jsonl", header).close()
                times.append(time.process_time() - start)
            found[kind] = statistics.median(times[2:]) * 1e3
    return found


def measure_in(tree: Path, kib: int, repeat: int) -> dict[str, float]:
    child = subprocess.run([sys.executable, "-P", __file__, "--measure", str(kib), str(repeat)], capture_output=True,
                           check=True, env={**os.environ, "PYTHONPATH": str(tree)}, cwd=tree)
    return json.loads(child.stdout)


def main() -> None:
    options = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    options.add_argument("--kib", type=int, default=175)
    options.add_argument("--rounds", type=int, default=7)
    options.add_argument("--repeat", type=int, default=20)
    options.add_argument("--baseline", metavar="REV", help="also measure the tree of this git revision, side by side")
    options.add_argument("--measure", nargs=2, type=int, help=argparse.SUPPRESS)  # a child's round: kib, repeat
    args = options.parse_args()
    if args.measure:
        print(json.dumps(measure(*args.measure)))
        return
    with tempfile.TemporaryDirectory() as temp:
        trees = {"now": ROOT}
        if args.baseline:
            from recording import extract  # bench/recording.py (this script's folder is on the path of this process)

            extract(args.baseline, Path(temp) / "baseline")
            trees["baseline"] = Path(temp) / "baseline"
        rounds: dict[str, list[dict[str, float]]] = {name: [] for name in trees}
        for _ in range(args.rounds):
            for name, tree in trees.items():
                rounds[name].append(measure_in(tree, args.kib, args.repeat))
    print(f"{args.kib} KiB bodies, CPU ms per header, median of {args.rounds} rounds; load {os.getloadavg()[0]:.2f}")
    print(f"{'body':<22}" + "".join(f"{name + ' ms':>14}" for name in trees)
          + ("   now / baseline" if "baseline" in trees else ""))
    for kind in BODIES:
        line = f"{kind:<22}" + "".join(f"{statistics.median(one[kind] for one in rounds[name]):>14.2f}"
                                       for name in trees)
        if "baseline" in trees:
            ratios = (now[kind] / before[kind] for now, before in zip(rounds["now"], rounds["baseline"], strict=True))
            line += f"   {statistics.median(ratios):>12.2f}x"
        print(line)


if __name__ == "__main__":
    main()
