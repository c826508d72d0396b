"""The terminal view of one stream: rich renderables built from a `StreamReport`.

Each part is a plain object holding data whose `__rich_console__` yields other renderables (rich's console
protocol): no I/O and no mutation while rendering, layout computed from `options.max_width`, styles named in
`THEME` (never colours in the renderables). `StreamView` puts the parts together, `print_view` adds the raw
frames verbatim; `export_html` records the same view into a self-contained HTML page for a bug report.
"""

from __future__ import annotations

import html
import io
import json
import math
from collections.abc import Sequence
from typing import IO, Any

from rich.console import Console, ConsoleOptions, Group, RenderResult
from rich.measure import Measurement
from rich.panel import Panel
from rich.table import Table
from rich.text import Text
from rich.theme import Theme

from ..escape import guard, visible
from ..findings import Finding, Severity
from ..protocols.base import Output, ToolCall
from ..timing import Timing
from .events import EventTable, RawFrames
from .model import StreamReport

THEME = Theme(
    {
        "inspector.label": "bold",
        "inspector.muted": "dim",
        "inspector.reasoning": "dim italic",
        "inspector.refusal": "magenta",
        "inspector.pass": "bold green",
        "inspector.fail": "bold red",
        "inspector.error": "red",
        "inspector.warning": "yellow",
        "inspector.stall": "yellow",
        "inspector.chart": "cyan",
        "inspector.invalid": "red",
    }
)
HTML_WIDTH = 120
_BARS = "▁▂▃▄▅▆▇█"
_ASCII_BARS = "._-=+*%#"
_PLAIN_TOOL_KINDS = frozenset({"function", "function_call", "tool_use"})  # the others are named in the table
_SEVERITY_STYLE = {Severity.ERROR: "inspector.error", Severity.WARNING: "inspector.warning"}


def make_console(file: IO[str] | None = None, *, width: int | None = None, record: bool = False,
                 color_system: str | None = "auto") -> Console:
    """A console that knows the viewer's theme and shows control characters from the wire as escapes."""
    return guard(Console(file=file, width=width, record=record, color_system=color_system, theme=THEME))


def seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f} s"


def _key_values(rows: Sequence[tuple[str, Any]]) -> Table:
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="inspector.label", no_wrap=True)
    grid.add_column(overflow="fold")
    for key, value in rows:
        grid.add_row(key, value if isinstance(value, Text) else Text(str(value)))
    return grid


class Verdict:
    """`pass` / `FAIL` with the error and warning counts."""

    def __init__(self, errors: int, warnings: int) -> None:
        self.errors = errors
        self.warnings = warnings

    def __rich__(self) -> Text:
        word = Text("FAIL", style="inspector.fail") if self.errors else Text("pass", style="inspector.pass")
        counts = [f"{n} {name}{'' if n == 1 else 's'}" for n, name in ((self.errors, "error"),
                                                                        (self.warnings, "warning")) if n]
        return word + Text(f" ({', '.join(counts)})" if counts else "")


class HeaderPanel:
    """What was asked and how it ended: method, URL, model, protocol, HTTP status, final status, verdict."""

    def __init__(self, report: StreamReport) -> None:
        self.report = report

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        report = self.report
        request = report.header.request if report.header else {}
        title = " ".join(str(part) for part in (request.get("method"), report.url) if part) or "raw SSE stream"
        rows: list[tuple[str, Any]] = [
            ("file", report.name),
            ("model", report.model or "-"),
            ("protocol", report.protocol),
            ("HTTP status", _http_status(report)),
            ("final status", report.assembly.status or "-"),
        ]
        if report.assembly.error:
            rows.append(("in-band error", Text(report.assembly.error, style="inspector.error")))
        if report.header is not None:
            rows.append(("recording end", _end_text(report)))
        rows.append(("verdict", Verdict(report.errors, report.warnings).__rich__()))
        yield Panel(_key_values(rows), title=Text(title, style="inspector.label"), title_align="left")


def _http_status(report: StreamReport) -> str:
    if report.http_status is not None:
        return str(report.http_status)
    return "- (raw SSE: no response)" if report.header is None else "- (no response recorded)"


def _end_text(report: StreamReport) -> Text:
    end = report.end
    if end is None:
        return Text("no end line: the recording was cut short", style="inspector.warning")
    text = Text(f"{end.reason} at {seconds(end.t)}")
    if end.error:
        text.append(f" ({end.error})", style="inspector.error")
    return text


class GapChart:
    """The largest gap between events in each time slice since the request, as one row of bars.

    A blank column is a slice in which no event arrived; a stall shows as blanks followed by a tall bar.
    """

    def __init__(self, slices: Sequence[float | None], slice_width: float, end: float | None) -> None:
        if slice_width <= 0:
            raise ValueError(f"slice_width must be positive, got {slice_width}")
        self.slices = list(slices)
        self.slice_width = slice_width
        self.end = end

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        return Measurement(min(20, options.max_width), options.max_width)

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        bars = _ASCII_BARS if options.ascii_only else _BARS
        width = max(1, options.max_width)
        columns = self._columns(width)
        tallest = max((gap for gap in columns if gap is not None), default=0.0)
        line = Text(style="inspector.chart")
        for gap in columns:
            line.append(" " if gap is None else bars[_level(gap, tallest, len(bars))])
        yield line
        end = self.end if self.end is not None else len(self.slices) * self.slice_width
        left, right = "0 s", f"{end:.2f} s"
        middle = f"max gap {tallest:.3f} s"
        room = len(line) - len(left) - len(right)
        axis = Text(left, style="inspector.muted")
        if room >= len(middle) + 2:
            axis.append(middle.center(room), style="inspector.muted")
        else:
            axis.append(" " * max(1, room))
        axis.append(right, style="inspector.muted")
        yield axis

    def _columns(self, width: int) -> list[float | None]:
        """The slices spread over `width` columns: column c shows the largest gap of the slices it covers."""
        slices = self.slices
        count = len(slices)
        columns: list[float | None] = []
        for column in range(width if count else 0):
            start = column * count // width
            stop = max((column + 1) * count // width, start + 1)
            columns.append(_max_gap(slices[start:stop]))
        return columns


def _max_gap(group: Sequence[float | None]) -> float | None:
    gaps = [gap for gap in group if gap is not None]
    return max(gaps) if gaps else None


def _level(gap: float, tallest: float, levels: int) -> int:
    if tallest <= 0:
        return 0
    return min(levels - 1, max(0, math.ceil(gap / tallest * levels) - 1))


class TimingPanel:
    """Time to first byte, event and token; duration; counts; gap percentiles; stalls; throughput; the chart."""

    def __init__(self, timing: Timing) -> None:
        self.timing = timing

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        timing = self.timing
        counts = f"{timing.events} events in {timing.chunks} chunks"
        if not timing.has_times:
            first_token = "-" if timing.first_token_index is None else f"event {timing.first_token_index}"
            rows: list[tuple[str, Any]] = [("times", "none in this input (raw SSE)"), ("counts", counts),
                                           ("first token", first_token)]
            yield Panel(_key_values(rows), title="timing", title_align="left")
            return
        first_token = seconds(timing.ttft)
        if timing.first_token_index is not None:
            first_token += f" (event {timing.first_token_index})"
        elif timing.events:
            first_token = "- (no event carried content)"
        gap_max = seconds(timing.gap_max)
        if timing.gap_max_index is not None:
            gap_max += f" (event {timing.gap_max_index})"
        rows = [
            ("first byte", seconds(timing.ttfb)),
            ("first event", seconds(timing.first_event)),
            ("first token", first_token),
            ("duration", seconds(timing.duration)),
            ("counts", counts),
            ("gaps", f"p50 {seconds(timing.gap_p50)}  p95 {seconds(timing.gap_p95)}  max {gap_max}"),
        ]
        if timing.output_tokens is not None:
            rate = "-" if timing.tokens_per_s is None else f"{timing.tokens_per_s:.1f} tokens/s"
            rows.append(("throughput", f"{rate} ({timing.output_tokens} output tokens after the first token)"))
        rows.append(("stalls", _stalls_text(timing)))
        parts: list[Any] = [_key_values(rows)]
        if timing.chart and timing.chart_slice is not None:
            parts += [Text(f"gaps over time (largest per {timing.chart_slice:g} s slice; blank: no event)",
                           style="inspector.muted"),
                      GapChart(timing.chart, timing.chart_slice, timing.duration)]
        yield Panel(Group(*parts), title="timing", title_align="left")


def _stalls_text(timing: Timing) -> Text:
    if not timing.stalls:
        return Text(f"none over {timing.stall_threshold:g} s")
    text = Text()
    for number, stall in enumerate(timing.stalls):
        where = "before the end of the stream" if stall.index is None else f"before event {stall.index} `{stall.type}`"
        text.append(("\n" if number else "") + f"{stall.gap:.3f} s {where} (at {stall.t:.3f} s)",
                    style="inspector.stall")
    if timing.stalls_dropped:
        text.append(f"\n... and {timing.stalls_dropped} more")
    return text


class ToolCallTable:
    """Tool calls: id, name, and the arguments pretty-printed as JSON (or shown as streamed when they don't parse)."""

    def __init__(self, calls: Sequence[ToolCall]) -> None:
        self.calls = calls

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        table = Table(title="tool calls", title_justify="left", expand=True, show_lines=True)
        table.add_column("id", overflow="fold")
        table.add_column("name", overflow="fold")
        table.add_column("arguments", overflow="fold", ratio=1)
        for call in self.calls:
            name = call.name or "-"
            if call.kind not in _PLAIN_TOOL_KINDS:
                name += f" ({call.kind})"
            # NOTE: cells are shown `visible` before layout too, so a control in them cannot shift the columns
            table.add_row(visible(call.id or "-"), visible(name), _arguments(call.arguments))
        yield table


def _arguments(arguments: str) -> Text:
    if arguments == "":
        return Text("(empty)", style="inspector.muted")
    try:
        parsed = json.loads(arguments)
    except ValueError as error:
        text = Text(f"does not parse as JSON ({error}):\n", style="inspector.invalid")
        return text.append(visible(arguments), style="")
    return Text(visible(json.dumps(parsed, indent=2, ensure_ascii=False)))


class OutputView:
    """One answer (one Chat choice): its text, reasoning (dimmed), refusal and tool calls."""

    def __init__(self, output: Output, title: str) -> None:
        self.output = output
        self.title = title

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        output = self.output
        if output.reasoning:
            yield Panel(Text(output.reasoning, style="inspector.reasoning"), title=f"{self.title}: reasoning",
                        title_align="left")
        if output.text or not output.tool_calls:
            text = Text(output.text) if output.text else Text("(no text)", style="inspector.muted")
            yield Panel(text, title=f"{self.title}: text", title_align="left")
        if output.refusal:
            yield Panel(Text(output.refusal, style="inspector.refusal"), title=f"{self.title}: refusal",
                        title_align="left")
        if output.tool_calls:
            yield ToolCallTable(output.tool_calls)


class UsageView:
    """The usage object, flattened to `input_tokens_details.cached_tokens  12` rows."""

    def __init__(self, usage: dict | None) -> None:
        self.usage = usage

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        if not self.usage:
            yield Text("usage: not reported", style="inspector.muted")
            return
        rows = [(key, json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else value)
                for key, value in _flatten(self.usage, "")]
        yield Panel(_key_values(rows), title="usage", title_align="left")


def _flatten(value: Any, path: str) -> list[tuple[str, Any]]:
    if isinstance(value, dict) and value:
        return [row for key, item in value.items() for row in _flatten(item, f"{path}.{key}" if path else key)]
    return [(path, value)]


class FindingsTable:
    """Findings with their rule id, event index and message, in the order of the events they point at."""

    def __init__(self, findings: Sequence[Finding]) -> None:
        self.findings = findings

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        if not self.findings:
            yield Text("findings: none", style="inspector.pass")
            return
        table = Table(title="findings", title_justify="left", expand=True)
        table.add_column("severity", no_wrap=True)
        table.add_column("rule", no_wrap=True)
        table.add_column("event", justify="right", no_wrap=True)
        table.add_column("message", ratio=1)
        for finding in sorted(self.findings, key=_by_event):
            table.add_row(
                Text(str(finding.severity), style=_SEVERITY_STYLE[finding.severity]), finding.rule,
                "end" if finding.index is None else str(finding.index), visible(finding.message),
            )
        yield table


def _by_event(finding: Finding) -> tuple[bool, int]:
    """Findings in stream order; those about the stream as a whole (no index) last."""
    return finding.index is None, finding.index or 0


class StreamView:
    """The whole view of one stream, in reading order; events and raw frames when the report kept them."""

    def __init__(self, report: StreamReport) -> None:
        self.report = report

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        report = self.report
        yield HeaderPanel(report)
        yield TimingPanel(report.timing)
        several = len(report.outputs) > 1
        for output in report.outputs:
            title = f"choice {output.index}" if several else "answer"
            if several and output.finish_reason:
                title += f" ({output.finish_reason})"
            yield OutputView(output, title)
        if not report.outputs:
            yield Text("no answer: the stream carried no text, reasoning or tool call", style="inspector.muted")
        yield UsageView(report.assembly.usage)
        yield FindingsTable(report.findings)
        if report.events is not None:
            yield EventTable(report.events, report.timing.stall_threshold)


def print_view(console: Console, report: StreamReport) -> None:
    """Print the view, then the raw frames if the report kept them, verbatim (soft wrap: no cropping)."""
    console.print(StreamView(report))
    if report.chunks is not None:
        console.print(Text("raw frames", style="inspector.label"))
        console.print(RawFrames(report.chunks), soft_wrap=True)


def export_html(report: StreamReport, width: int = HTML_WIDTH) -> str:
    """The view as a self-contained HTML page (inline styles, no external assets), titled after the stream."""
    console = make_console(io.StringIO(), width=width, record=True, color_system="truecolor")
    print_view(console, report)
    page = console.export_html(inline_styles=True)
    title = html.escape(f"sse-inspector view: {report.name}")
    return page.replace("<head>", f"<head>\n<title>{title}</title>", 1)
