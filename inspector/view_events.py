"""`view --events` and `view --raw`: every event on one line, and the network chunks as they arrived.

The one-line summary knows no protocol: it flattens the event's JSON into `path=value` leaves and leaves out
what repeats on every event (ids, model, timestamps, sequence numbers, padding) and empty values, so what is
left is what the event carries: a delta, a finish reason, a tool name.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from typing import Any

from rich.console import Console, ConsoleOptions, RenderResult
from rich.table import Table
from rich.text import Text

from .recording import Chunk
from .view_model import EventRow

_REPEATED_KEYS = frozenset(
    {"id", "object", "created", "created_at", "model", "system_fingerprint", "sequence_number", "obfuscation",
     "logprobs", "service_tier"}
)
_SUMMARY_LIMIT = 400


def summarize(event_type: str, data: str) -> str:
    """`choices[0].delta.content="Hi"`-style summary of an event's data, on one line."""
    try:
        payload = json.loads(data)
    except ValueError:
        return _one_line(data)
    parts: list[str] = []
    length = 0
    for path, value in _leaves(payload, ""):
        if path == "type" and value == event_type:
            continue
        part = f"{path}={json.dumps(value, ensure_ascii=False)}" if path else json.dumps(value, ensure_ascii=False)
        parts.append(part)
        length += len(part) + 2
        if length > _SUMMARY_LIMIT:
            break
    return "  ".join(parts) if parts else "{}"


def _leaves(value: Any, path: str) -> Iterator[tuple[str, Any]]:
    if isinstance(value, dict):
        for key, item in value.items():
            if key not in _REPEATED_KEYS:
                yield from _leaves(item, f"{path}.{key}" if path else key)
    elif isinstance(value, list):
        for position, item in enumerate(value):
            yield from _leaves(item, f"{path}[{position}]")
    elif value is not None and value != "":
        yield path, value


def _one_line(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\r", "\\r").replace("\n", "\\n")


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


class EventTable:
    """Every event: index, time, gap since the previous event, type, and a one-line summary of its data."""

    def __init__(self, rows: Sequence[EventRow], stall_threshold: float) -> None:
        self.rows = rows
        self.stall_threshold = stall_threshold

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        table = Table(title="events", title_justify="left", expand=True, show_edge=False, pad_edge=False)
        table.add_column("#", justify="right", no_wrap=True)
        table.add_column("t (s)", justify="right", no_wrap=True)
        table.add_column("gap (s)", justify="right", no_wrap=True)
        table.add_column("event", no_wrap=True, overflow="fold")
        table.add_column("data", no_wrap=True, overflow="ellipsis", ratio=1)
        for row in self.rows:
            event = row.event
            stalled = row.gap is not None and row.gap > self.stall_threshold
            table.add_row(
                str(event.index), _seconds(event.t),
                Text(_seconds(row.gap), style="inspector.stall" if stalled else ""),
                event.type, Text(summarize(event.type, event.data)),
            )
        yield table


class RawFrames:
    """The network chunks as they arrived, each under a line with its number, time and size.

    Print it with `soft_wrap=True`: the frames then go out verbatim, neither wrapped nor cropped by rich.
    """

    def __init__(self, chunks: Sequence[Chunk]) -> None:
        self.chunks = chunks

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        for number, chunk in enumerate(self.chunks):
            when = "no time" if chunk.t is None else f"{chunk.t:.3f} s"
            yield Text(f"chunk {number} · {when} · {len(chunk.data)} bytes", style="inspector.label")
            text = chunk.data.decode("utf-8", errors="replace")
            yield Text(text, end="" if text.endswith(("\n", "\r")) else "\n")
