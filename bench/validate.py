"""Events/s of the whole validation pipeline against what a user would otherwise run, in one run; peak memory.

Two long streams, each a real corpus stream with its text-delta events repeated to 50,000 events:

- Chat: `openai-chat/openai-python__json-object-long.sse`.
- Responses: `openai-responses/pydantic-ai__text-conversation.sse`, with `sequence_number`s renumbered and the
  `.done` snapshots rewritten to the new text, so the stream stays valid.

(a) ours: `StreamCheck` fed ~4 KiB network chunks, `close()` included (SSE parse, JSON decode, protocol checker,
Assembly). (b) baseline: the openai SDK's `SSEDecoder` on the same bytes, then `construct_type` of each payload
into the SDK's stream event type (`ChatCompletionChunk`, `ResponseStreamEvent`), `[DONE]` skipped as the SDK
does. Target: ours >= 5x the baseline.

Peak RSS: a ~13 MB and a ~130 MB stream of each protocol written to a temp dir, each validated in a fresh
subprocess that reads the file in 4 KiB chunks; `ru_maxrss` is the peak of that process. Target: < 150 MB.

    python bench/validate.py [--quick] [--repeat R]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from openai._models import construct_type
from openai._streaming import SSEDecoder
from openai.types.chat import ChatCompletionChunk
from openai.types.responses import ResponseStreamEvent
from pydantic import TypeAdapter

from inspector.validate import StreamCheck

CORPUS = Path(__file__).parent.parent / "tests" / "fixtures" / "corpus"
CHAT_SOURCE = CORPUS / "openai-chat" / "openai-python__json-object-long.sse"
RESPONSES_SOURCE = CORPUS / "openai-responses" / "pydantic-ai__text-conversation.sse"
CHUNK = 4096
TEXT_DELTA = "response.output_text.delta"


def chat_stream(total: int) -> bytes:
    """The Chat corpus stream with its content deltas repeated until there are `total` events."""
    frames = [frame + b"\n\n" for frame in CHAT_SOURCE.read_bytes().split(b"\n\n") if frame.strip()]
    deltas = [frame for frame in frames if b'"content":"' in frame and b'"role"' not in frame]
    head = frames[: frames.index(deltas[0])]
    tail = frames[frames.index(deltas[-1]) + 1 :]
    middle = [deltas[i % len(deltas)] for i in range(total - len(head) - len(tail))]
    return b"".join(head + middle + tail)


def responses_stream(total: int) -> bytes:
    """The Responses corpus stream with its text deltas repeated, renumbered, and its snapshots made to match."""
    events = [json.loads(line[6:]) for line in RESPONSES_SOURCE.read_text().splitlines() if line.startswith("data: ")]
    deltas = [event for event in events if event["type"] == TEXT_DELTA]
    first, last = events.index(deltas[0]), events.index(deltas[-1])
    head, tail = events[:first], events[last + 1 :]
    middle = [dict(deltas[i % len(deltas)]) for i in range(total - len(head) - len(tail))]
    old_text = "".join(event["delta"] for event in deltas)
    new_text = "".join(event["delta"] for event in middle)
    tail = [_replace_text(event, old_text, new_text) for event in tail]
    frames = []
    for number, event in enumerate(head + middle + tail):
        if "sequence_number" in event:
            event["sequence_number"] = number
        frames.append(f"event: {event['type']}\ndata: {json.dumps(event, separators=(',', ':'))}\n\n")
    return "".join(frames).encode()


def _replace_text(value: Any, old: str, new: str) -> Any:
    """`value` with every string equal to `old` replaced by `new` (the done snapshots of the streamed text)."""
    if isinstance(value, dict):
        return {key: _replace_text(item, old, new) for key, item in value.items()}
    if isinstance(value, list):
        return [_replace_text(item, old, new) for item in value]
    return new if value == old else value


def split(body: bytes, size: int = CHUNK) -> list[bytes]:
    return [body[i : i + size] for i in range(0, len(body), size)]


def ours(chunks: list[bytes]) -> int:
    check = StreamCheck()
    for chunk in chunks:
        check.feed(chunk)
    findings = check.close()
    if any(finding.severity == "error" for finding in findings):
        raise SystemExit(f"the benchmark stream is not valid: {[f.to_json() for f in findings][:3]}")
    return check.events


def sdk_consumer(decode: Callable[[str], object]) -> Callable[[list[bytes]], int]:
    """A consumer on the openai SDK's SSE decoder that hands each payload to `decode`, `[DONE]` skipped as the SDK
    does."""

    def run(chunks: list[bytes]) -> int:
        count = 0
        for sse in SSEDecoder().iter_bytes(iter(chunks)):
            count += 1
            if not sse.data.startswith("[DONE]"):
                decode(sse.data)
        return count

    return run


def baseline(event_type: Any) -> Callable[[list[bytes]], int]:
    """The openai SDK's own decoding: `construct_type` into its event type."""
    return sdk_consumer(lambda data: construct_type(type_=event_type, value=json.loads(data)))


def typed_consumer(event_type: Any) -> Callable[[list[bytes]], int]:
    """A plain consumer that decodes with the SDK's own types: pydantic's `TypeAdapter(event type).validate_json`
    on each payload (JSON and schema in one native pass)."""
    return sdk_consumer(TypeAdapter(event_type).validate_json)


def best_rate(run: Callable[[list[bytes]], int], chunks: list[bytes], repeat: int) -> tuple[int, float]:
    best = float("inf")
    count = 0
    for _ in range(repeat):
        start = time.perf_counter()
        count = run(chunks)
        best = min(best, time.perf_counter() - start)
    return count, count / best


_RSS_PROBE = """
import resource, sys
from inspector.validate import StreamCheck
check = StreamCheck()
with open(sys.argv[1], "rb") as stream:
    while chunk := stream.read(4096):
        check.feed(chunk)
findings = check.close()
errors = sum(1 for f in findings if f.severity == "error")
print(check.events, errors, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def peak_rss(body: bytes, directory: Path, label: str) -> tuple[int, int, float]:
    """(events, errors, peak RSS in MB) of validating `body` from a file in a fresh interpreter."""
    path = directory / f"{label}.sse"
    path.write_bytes(body)
    # NOTE: Linux keeps the larger of a process's `ru_maxrss` and its parent's RSS at fork across `exec`, so a
    # child of this (large) process would report our size. A shell forks the probe instead: it starts small.
    command = ["/bin/sh", "-c", '"$0" -c "$1" "$2"; :', sys.executable, _RSS_PROBE, str(path)]
    result = subprocess.run(command, capture_output=True, text=True, check=True)
    events, errors, kib = result.stdout.split()
    return int(events), int(errors), int(kib) / 1024  # ru_maxrss is in KiB on Linux


def main() -> None:
    options = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    options.add_argument("--quick", action="store_true", help="5,000 events, one repeat, 1.3 and 13 MB for RSS")
    options.add_argument("--repeat", type=int, default=3)
    args = options.parse_args()
    events, repeat = (5_000, 1) if args.quick else (50_000, args.repeat)

    streams = (
        ("openai-chat", chat_stream(events), ChatCompletionChunk),
        ("openai-responses", responses_stream(events), ResponseStreamEvent),
    )
    print(f"events/s, best of {repeat}, {CHUNK} B chunks; baseline = SDK decode + construct_type, typed = SDK "
          "decode + TypeAdapter.validate_json")
    print(f"{'stream':<18}{'events':>8}{'MB':>7}{'baseline ev/s':>15}{'typed ev/s':>12}{'ours ev/s':>12}"
          f"{'/baseline':>10}{'/typed':>8}")
    for name, body, event_type in streams:
        chunks = split(body)
        base_count, base = best_rate(baseline(event_type), chunks, repeat)
        our_count, rate = best_rate(ours, chunks, repeat)
        # NOTE: Chat only: the SDK's strict Responses types refuse this (legacy) corpus stream's terminal event
        typed_count, typed = best_rate(typed_consumer(event_type), chunks, repeat) if name == "openai-chat" else (
            our_count, float("nan"))
        if not base_count == typed_count == our_count:
            raise SystemExit(f"{name}: event counts differ: {base_count}, typed {typed_count}, ours {our_count}")
        print(f"{name:<18}{our_count:>8,}{len(body) / 1e6:>7.1f}{base:>15,.0f}{typed:>12,.0f}{rate:>12,.0f}"
              f"{rate / base:>9.1f}x{rate / typed:>7.2f}x")

    print("\npeak RSS of validating a stream from a file (fresh interpreter)")
    print(f"{'stream':<18}{'size':>8}{'events':>10}{'errors':>8}{'peak RSS':>11}")
    sizes = (1.3e6, 13e6) if args.quick else (13e6, 130e6)
    with tempfile.TemporaryDirectory() as directory:
        for name, make in (("openai-chat", chat_stream), ("openai-responses", responses_stream)):
            event_size = len(make(5_000)) / 5_000
            for size in sizes:
                body = make(int(size / event_size))
                megabytes = len(body) / 1e6
                count, errors, rss = peak_rss(body, Path(directory), f"{name}-{int(size)}")
                print(f"{name:<18}{megabytes:>6.0f}MB{count:>10,}{errors:>8}{rss:>8.0f} MB")

if __name__ == "__main__":
    main()
