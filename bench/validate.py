"""Events/s of the whole validation pipeline, side by side in one run: the SDKs' own decoding, the commit #16 was
filed at, and today's (with and without the fast path for repeated deltas); peak memory.

Four long streams, each a real corpus stream with its text-delta events repeated to 50,000 events:

- Chat: `openai-chat/openai-python__json-object-long.sse`.
- Responses: `openai-responses/pydantic-ai__text-conversation.sse`, with `sequence_number`s renumbered and the
  `.done` snapshots rewritten to the new text, so the stream stays valid.
- Anthropic: `anthropic-messages/pydantic-ai__thinking-long.sse` (its deltas padded with varying whitespace, as
  the API sends them).
- Gemini: `gemini-generate-content/pydantic-ai__text-multichunk.sse`.

Columns, events/s: `sdk` = the SDK's SSE decoder, then its own typing of each payload (openai and anthropic:
`construct_type` into the stream event type; google-genai: `GenerateContentResponse.model_validate_json`);
`typed` (Chat) = the openai decoder, then pydantic's `TypeAdapter(ChatCompletionChunk).validate_json` (JSON and
schema in one native pass); `then` = `StreamCheck` at the commit #16 was filed at (82f5920, extracted with
`git archive`; Gemini had no checker then); `full` = today's without the fast path; `ours` = today's. `then` and
`ours` run in fresh interpreters, alternating, `--repeat` rounds each; the ratio is the median of the per-round
ratios. Everything else is best of `--repeat` in this process. All are fed ~4 KiB network chunks.

Peak RSS: a ~13 MB and a ~130 MB stream of each protocol written to a temp dir, each validated in a fresh
subprocess that reads the file in 4 KiB chunks; `ru_maxrss` is the peak of that process.

    python bench/validate.py [--quick] [--repeat R] [--then COMMIT]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anthropic._streaming
from anthropic.types import RawMessageStreamEvent
from google.genai.types import GenerateContentResponse
from openai._models import construct_type
from openai._streaming import SSEDecoder
from openai.types.chat import ChatCompletionChunk
from openai.types.responses import ResponseStreamEvent
from pydantic import TypeAdapter

from inspector.validate import StreamCheck

CORPUS = Path(__file__).parent.parent / "tests" / "fixtures" / "corpus"
CHAT_SOURCE = CORPUS / "openai-chat" / "openai-python__json-object-long.sse"
RESPONSES_SOURCE = CORPUS / "openai-responses" / "pydantic-ai__text-conversation.sse"
ANTHROPIC_SOURCE = CORPUS / "anthropic-messages" / "pydantic-ai__thinking-long.sse"
GEMINI_SOURCE = CORPUS / "gemini-generate-content" / "pydantic-ai__text-multichunk.sse"
ISSUE_COMMIT = "82f5920"
ROOT = Path(__file__).resolve().parent.parent
CHUNK = 4096
TEXT_DELTA = "response.output_text.delta"


def _repeated(source: Path, is_delta: Callable[[bytes], bool], total: int) -> bytes:
    """`source` with the frames `is_delta` picks repeated, in turn, until the stream has `total` events."""
    body = source.read_bytes()
    blank = b"\r\n\r\n" if b"\r\n\r\n" in body else b"\n\n"  # Gemini frames its events with CRLF
    frames = [frame + blank for frame in body.split(blank) if frame.strip()]
    deltas = [frame for frame in frames if is_delta(frame)]
    head = frames[: frames.index(deltas[0])]
    tail = frames[frames.index(deltas[-1]) + 1 :]
    middle = [deltas[i % len(deltas)] for i in range(total - len(head) - len(tail))]
    return b"".join(head + middle + tail)


def chat_stream(total: int) -> bytes:
    """The Chat corpus stream with its content deltas repeated until there are `total` events."""
    return _repeated(CHAT_SOURCE, lambda frame: b'"content":"' in frame and b'"role"' not in frame, total)


def anthropic_stream(total: int) -> bytes:
    return _repeated(ANTHROPIC_SOURCE, lambda frame: b'"text_delta"' in frame, total)


def gemini_stream(total: int) -> bytes:
    return _repeated(GEMINI_SOURCE, lambda frame: b'"text": ' in frame and b"finishReason" not in frame, total)


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


def ours(chunks: list[bytes], fast_path: bool = True) -> int:
    check = StreamCheck()
    check.fast_path = fast_path
    for chunk in chunks:
        check.feed(chunk)
    findings = check.close()
    if any(finding.severity == "error" for finding in findings):
        raise SystemExit(f"the benchmark stream is not valid: {[f.to_json() for f in findings][:3]}")
    return check.events


def sdk_consumer(decode: Callable[[str], object], decoder: Any = SSEDecoder) -> Callable[[list[bytes]], int]:
    """A consumer on an SDK's SSE decoder that hands each payload to `decode`, `[DONE]` skipped as openai's does."""

    def run(chunks: list[bytes]) -> int:
        count = 0
        for sse in decoder().iter_bytes(iter(chunks)):
            count += 1
            if not sse.data.startswith("[DONE]"):
                decode(sse.data)
        return count

    return run


def sdk_baseline(event_type: Any, construct: Callable[..., object] = construct_type,
                 decoder: Any = SSEDecoder) -> Callable[[list[bytes]], int]:
    """An SDK's own decoding: `construct_type` into its event type."""
    return sdk_consumer(lambda data: construct(type_=event_type, value=json.loads(data)), decoder)


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


_RATE_PROBE = """
import sys, time
from inspector.validate import StreamCheck
body = open(sys.argv[1], "rb").read()
chunks = [body[i : i + 4096] for i in range(0, len(body), 4096)]
best = float("inf")
for _ in range(2):  # the first pass also imports the checker
    start = time.perf_counter()
    check = StreamCheck()
    for chunk in chunks:
        check.feed(chunk)
    check.close()
    best = min(best, time.perf_counter() - start)
print(check.events / best)
"""


def rate_in(tree: Path, path: Path) -> float:
    """Events/s of `StreamCheck` from the source tree `tree` on the stream file `path`, in a fresh interpreter."""
    result = subprocess.run([sys.executable, "-c", _RATE_PROBE, str(path)], cwd=tree, capture_output=True,
                            text=True, check=True, env={**os.environ, "PYTHONPATH": str(tree)})
    return float(result.stdout)


def issue_tree(commit: str, directory: Path) -> Path | None:
    """The `inspector` package as it was at `commit` (None outside a git clone)."""
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", commit, "inspector"], capture_output=True)
    if archive.returncode != 0:
        return None
    subprocess.run(["tar", "-x", "-C", str(directory)], input=archive.stdout, check=True)
    return directory


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
    options.add_argument("--then", default=ISSUE_COMMIT, help="the commit to compare with (default: %(default)s)")
    args = options.parse_args()
    events, repeat = (5_000, 1) if args.quick else (50_000, args.repeat)

    streams = (
        ("openai-chat", chat_stream, sdk_baseline(ChatCompletionChunk), typed_consumer(ChatCompletionChunk)),
        ("openai-responses", responses_stream, sdk_baseline(ResponseStreamEvent), None),
        ("anthropic-messages", anthropic_stream,
         sdk_baseline(RawMessageStreamEvent, anthropic._models.construct_type, anthropic._streaming.SSEDecoder),
         None),
        ("gemini", gemini_stream, sdk_consumer(GenerateContentResponse.model_validate_json), None),
    )
    print(f"events/s, {CHUNK} B chunks; then = {args.then}, run alternating with ours in fresh interpreters "
          f"({repeat} rounds, ratio = median of the rounds' ratios); sdk, typed and full: best of {repeat}")
    print(f"{'stream':<19}{'events':>8}{'MB':>6}{'sdk':>10}{'typed':>10}{'then':>10}{'full':>10}{'ours':>10}"
          f"{'/sdk':>7}{'/typed':>7}{'/then':>7}{'/full':>7}")
    with tempfile.TemporaryDirectory() as directory:
        then_tree = issue_tree(args.then, Path(directory))
        for name, make, sdk, typed in streams:
            body = make(events)
            chunks = split(body)
            path = Path(directory) / f"{name}.sse"
            path.write_bytes(body)
            count, sdk_rate = best_rate(sdk, chunks, repeat)
            _, typed_rate = best_rate(typed, chunks, repeat) if typed else (count, float("nan"))
            our_count, full = best_rate(lambda chunks: ours(chunks, fast_path=False), chunks, repeat)
            if count != our_count:
                raise SystemExit(f"{name}: event counts differ: sdk {count}, ours {our_count}")
            rounds = []
            for round_number in range(repeat):
                pair = {}
                for who in (("then", "ours") if round_number % 2 == 0 else ("ours", "then")):
                    tree = then_tree if who == "then" else ROOT
                    pair[who] = rate_in(tree, path) if tree is not None and (who == "ours" or name != "gemini") \
                        else float("nan")
                rounds.append(pair)
            now = statistics.median(pair["ours"] for pair in rounds)
            then = statistics.median(pair["then"] for pair in rounds)
            versus_then = statistics.median(pair["ours"] / pair["then"] for pair in rounds)
            print(f"{name:<19}{count:>8,}{len(body) / 1e6:>6.1f}{sdk_rate:>10,.0f}{typed_rate:>10,.0f}{then:>10,.0f}"
                  f"{full:>10,.0f}{now:>10,.0f}{now / sdk_rate:>6.1f}x{now / typed_rate:>6.2f}x"
                  f"{versus_then:>6.2f}x{now / full:>6.2f}x")

    print("\npeak RSS of validating a stream from a file (fresh interpreter)")
    print(f"{'stream':<18}{'size':>8}{'events':>10}{'errors':>8}{'peak RSS':>11}")
    sizes = (1.3e6, 13e6) if args.quick else (13e6, 130e6)
    with tempfile.TemporaryDirectory() as directory:
        for name, make in (("openai-chat", chat_stream), ("openai-responses", responses_stream),
                           ("anthropic-messages", anthropic_stream), ("gemini", gemini_stream)):
            event_size = len(make(5_000)) / 5_000
            for size in sizes:
                body = make(int(size / event_size))
                megabytes = len(body) / 1e6
                count, errors, rss = peak_rss(body, Path(directory), f"{name}-{int(size)}")
                print(f"{name:<18}{megabytes:>6.0f}MB{count:>10,}{errors:>8}{rss:>8.0f} MB")

if __name__ == "__main__":
    main()
