"""Seconds to build `view --html`'s page against the terminal view's one pass (the baseline), in one run.

The stream is a recording of a real corpus Chat stream with its content deltas repeated to N events, 10 ms apart.
The page keeps every event's data and wire text (up to `inspector.view.html.MAX_EVENTS` rows).

    python bench/html_report.py [--events N]
"""

from __future__ import annotations

import argparse
import io
import tempfile
import time
from pathlib import Path

from parse import long_stream

from inspector.inputs import open_source
from inspector.recording import Header, RecordingWriter
from inspector.view.html import report_page
from inspector.view.model import inspect
from inspector.view.render import make_console, print_view


def recording(directory: Path, events: int) -> Path:
    header = Header(request={"method": "POST", "url": "https://api.openai.com/v1/chat/completions", "headers": {}},
                    response={"status": 200, "headers": {"content-type": "text/event-stream"}},
                    protocol="openai-chat", source="proxy")
    path = directory / "long.jsonl"
    writer = RecordingWriter(path, header)
    frames = long_stream(events)
    for number, frame in enumerate(frames):
        writer.chunk(0.2 + number / 100, frame)
    writer.end(0.3 + len(frames) / 100, "complete")
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=10_000)
    events = parser.parse_args().events
    with tempfile.TemporaryDirectory() as temporary:
        path = str(recording(Path(temporary), events))
        start = time.perf_counter()
        print_view(make_console(io.StringIO(), width=120), inspect(open_source(path)))
        terminal = time.perf_counter() - start
        start = time.perf_counter()
        page = report_page(inspect(open_source(path), keep_events=True, keep_chunks=True))
        html = time.perf_counter() - start
    print(f"{events} events: terminal view {terminal:.2f} s, HTML page {html:.2f} s ({len(page) / 1e6:.1f} MB), "
          f"{(html - terminal) / events * 1e6:.0f} µs more per event")


if __name__ == "__main__":
    main()
