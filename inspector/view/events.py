"""`view --events` and `view --raw`: every event on one line, and the network chunks as they arrived.

The event table is laid out by hand, one line of segments per event with column widths computed once, rather than
as a rich `Table`: a table measures every cell and takes minutes on a stream of a hundred thousand events.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.cells import cell_len, set_cell_size
from rich.console import Console, ConsoleOptions, RenderResult
from rich.segment import Segment
from rich.text import Text

from ..escape import visible
from ..recording import Chunk
from .model import EventRow

_TYPE_WIDTH_LIMIT = 40


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


class EventTable:
    """Every event: index, time, gap since the previous event, type, and a one-line summary of its data."""

    def __init__(self, rows: Sequence[EventRow], stall_threshold: float) -> None:
        self.rows = rows
        self.stall_threshold = stall_threshold

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        rows = self.rows
        width = options.max_width
        index_width = len(str(rows[-1].index)) if rows else 1
        time_width = max(len("t (s)"), len(_seconds(rows[-1].t)) if rows else 0)  # times only grow
        gap_width = max(len("gap (s)"), time_width)
        type_width = min(_TYPE_WIDTH_LIMIT, max([len("event"), *(len(row.type) for row in rows)]))
        stall = console.get_style("inspector.stall")
        yield Text("events", style="inspector.label")
        head = f"{'#':>{index_width}}  {'t (s)':>{time_width}}  {'gap (s)':>{gap_width}}  {'event':<{type_width}}  data"
        yield Text(fit(head, width), style="inspector.label")
        # NOTE: plain segments, one line per event: a Text per row costs ~10x more to render.
        for row in rows:
            kind = row.type if len(row.type) <= type_width else row.type[: type_width - 1] + "…"
            stalled = row.gap is not None and row.gap > self.stall_threshold
            before = f"{row.index:>{index_width}}  {_seconds(row.t):>{time_width}}  "
            gap = f"{_seconds(row.gap):>{gap_width}}"
            after = fit(f"  {kind:<{type_width}}  {row.summary}", width - len(before) - len(gap))
            yield Segment(before)
            yield Segment(gap, stall if stalled else None)
            yield Segment(after)
            yield Segment.line()


def fit(text: str, width: int) -> str:
    """`text` cut to `width` terminal cells, with an ellipsis when it was cut."""
    if cell_len(text) <= width:
        return text
    return set_cell_size(text, max(0, width - 1)) + "…" if width > 0 else ""


class RawFrames:
    """The network chunks as they arrived, each under a line with its number, time and size.

    Print it with `soft_wrap=True`: the frames then go out whole (controls `visible`, CR as `␍`), neither wrapped
    nor cropped by rich.
    """

    def __init__(self, chunks: Sequence[Chunk]) -> None:
        self.chunks = chunks

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        for number, chunk in enumerate(self.chunks):
            when = "no time" if chunk.t is None else f"{chunk.t:.3f} s"
            yield Text(f"chunk {number} · {when} · {len(chunk.data)} bytes", style="inspector.label")
            text = visible(chunk.data.decode("utf-8", errors="replace"))
            yield Text(text, end="" if text.endswith("\n") else "\n")
