"""Peak RSS of validating a 1M-event stream of each protocol, beside the same stream at 10,000 events, in one run.

Each stream is a real corpus stream with its text deltas repeated (Responses renumbered, its snapshots rewritten
to the new text, as in `bench/validate.py`), written to a temp file and validated by a fresh interpreter that
reads it in 4 KiB chunks; `ru_maxrss` is that process's peak. The text grows with the event count too, so the
line "text" gives the size of the reassembled text: memory should follow it, never one object per event.
Target: every protocol under 60 MB at 1M events.

    python bench/memory.py [--events N]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from validate import CORPUS, chat_stream, peak_rss, responses_stream

ANTHROPIC_SOURCE = CORPUS / "anthropic-messages" / "vercel-ai__text.sse"


def anthropic_stream(total: int) -> bytes:
    """The Anthropic corpus stream with its text deltas repeated until there are `total` events."""
    frames = [frame + b"\n\n" for frame in ANTHROPIC_SOURCE.read_bytes().split(b"\n\n") if frame.strip()]
    deltas = [frame for frame in frames if b'"text_delta"' in frame]
    head = frames[: frames.index(deltas[0])]
    tail = frames[frames.index(deltas[-1]) + 1 :]
    middle = [deltas[i % len(deltas)] for i in range(total - len(head) - len(tail))]
    return b"".join(head + middle + tail)


def main() -> None:
    options = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    options.add_argument("--events", type=int, default=1_000_000)
    args = options.parse_args()
    print(f"{'stream':<20}{'events':>10}{'MB':>7}{'errors':>8}{'peak RSS':>11}")
    with tempfile.TemporaryDirectory() as directory:
        for name, make in (("openai-chat", chat_stream), ("openai-responses", responses_stream),
                           ("anthropic-messages", anthropic_stream)):
            for total in (10_000, args.events):
                body = make(total)
                count, errors, rss = peak_rss(body, Path(directory), f"{name}-{total}")
                print(f"{name:<20}{count:>10,}{len(body) / 1e6:>7.0f}{errors:>8}{rss:>8.0f} MB")
                del body


if __name__ == "__main__":
    main()
