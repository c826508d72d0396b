"""The terminal view of one stream: rich renderables built from a `StreamReport`.

Each part is a plain object holding data whose `__rich_console__` yields other renderables (rich's console
protocol): no I/O and no mutation while rendering, layout computed from `options.max_width`, styles named in
`THEME` (never colours in the renderables). `StreamView` puts the parts together, `print_view` adds the raw
frames verbatim. The HTML report is `html` (beside it).
"""

from __future__ import annotations

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
from ..protocols.base import PLAIN_FUNCTION_KINDS, Output, ToolCall
from ..timing import Timing
from ..wording import plural
from .events import EventTable, RawFrames
from .exchange import Exchange, RequestFacts, ResponseFacts
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
CHART_FLOOR = 0.05
"""Seconds at the top of the gap chart's scale at least: a stream whose gaps are all a few ms draws low bars."""
TEXT_LIMIT = 100_000
"""Characters of one text the terminal and HTML views show: rich lays text out at some microseconds a character, so
a 10 MB delta took most of a minute, and a page held it several times over; past this the text is cut with a marker
(`view --json` shows it whole)."""
_BARS = "▁▂▃▄▅▆▇█"
_ASCII_BARS = "._-=+*%#"
_SEVERITY_STYLE = {Severity.ERROR: "inspector.error", Severity.WARNING: "inspector.warning"}


def make_console(file: IO[str] | None = None, *, width: int | None = None, record: bool = False,
                 color_system: str | None = "auto") -> Console:
    """A console that knows the viewer's theme and shows control characters from the wire as escapes. Plain strings
    are printed as they are: rich would read `[...]` in one as markup and drop it, and `:name:` as an emoji code
    (a schema error's `[missing properties: 'name']` vanished from the findings table)."""
    return guard(Console(file=file, width=width, record=record, color_system=color_system, theme=THEME,
                         markup=False, emoji=False))


def seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f} s"


def _key_values(rows: Sequence[tuple[str, Any]]) -> Table:
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="inspector.label", overflow="fold")  # NOTE: a 76-character usage key left values no room
    grid.add_column(overflow="fold", min_width=12)
    for key, value in rows:
        grid.add_row(key, value if isinstance(value, Text) else Text(visible(str(value))))
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
        title = report.request_line
        rows: list[tuple[str, Any]] = [
            ("file", report.name),
            ("model", report.model or "-"),
            ("protocol", report.protocol),
            ("HTTP status", _http_status(report)),
            ("final status", report.assembly.status or "-"),
        ]
        if report.assembly.error:
            rows.append(("in-band error", Text(visible(report.assembly.error), style="inspector.error")))
        if report.header is not None and report.header.source != "curl":  # curl -i output has no end line
            rows.append(("recording end", _end_text(report)))
        rows.append(("verdict", Verdict(report.errors, report.warnings).__rich__()))
        yield Panel(_key_values(rows), title=Text(visible(title, one_line=True), style="inspector.label"),
                    title_align="left")


def _http_status(report: StreamReport) -> str:
    if report.http_status is not None:
        return str(report.http_status)
    return "- (raw SSE: no response)" if report.header is None else "- (no response recorded)"


def _end_text(report: StreamReport) -> Text:
    end = report.end
    if end is None:
        return Text("no end line: the recording was cut short", style="inspector.warning")
    text = Text(f"{visible(end.reason, one_line=True)} at {seconds(end.t)}")
    if end.error:
        text.append(f" ({visible(end.error, one_line=True)})", style="inspector.error")
    return text


class ExchangePanel:
    """The request and the response around the stream (section "request"/"response"); headers when asked."""

    def __init__(self, exchange: Exchange, *, headers: bool = False) -> None:
        self.exchange = exchange
        self.headers = headers

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield Panel(_key_values(_request_rows(self.exchange.request, self.headers)), title="request",
                    title_align="left")
        response = self.exchange.response
        if response is None:
            return
        yield Panel(_key_values(_response_rows(response, self.headers)), title="response", title_align="left")
        if not response.streamed:
            yield ErrorAnswer(response)


def _compact(value: Any) -> str:
    return visible(value if isinstance(value, str) else json.dumps(value, ensure_ascii=False), one_line=True)


def _request_rows(request: RequestFacts, headers: bool) -> list[tuple[str, Any]]:
    if not request.body_kept:
        rows: list[tuple[str, Any]] = [("body", Text("not recorded, or not JSON", style="inspector.muted"))]
    else:
        stream = _compact(request.stream) if request.stream is not None else "-"
        if request.stream_options is not None:
            stream += f"  options {_compact(request.stream_options)}"
        parameters = "  ".join(f"{name} {_compact(value)}" for name, value in request.parameters.items())
        messages = str(request.messages)
        if request.last_user is not None:
            messages += f", last from the user: {_compact(request.last_user)}"
        rows = [("model", _compact(request.model or "-")), ("stream", stream)]
        rows += [(label, value) for label, value in (
            ("parameters", parameters), ("tools", visible(", ".join(request.tools), one_line=True)),
            ("messages", "" if request.messages is None else messages)) if value]
    return rows + _header_rows(request.headers, headers)


def _response_rows(response: ResponseFacts, headers: bool) -> list[tuple[str, Any]]:
    status = "-" if response.status is None else str(response.status)
    if response.content_type:
        status += f"  {visible(response.content_type, one_line=True)}"
    rows: list[tuple[str, Any]] = [("status", status), ("request id", _compact(response.request_id or "-"))]
    for label, values in (("rate limits", response.rate_limits), ("timing", response.timing)):
        if values:
            rows.append((label, "\n".join(f"{_compact(name)}  {_compact(value)}" for name, value in values.items())))
    return rows + _header_rows(response.headers, headers)


def _header_rows(headers: dict[str, str], shown: bool) -> list[tuple[str, Any]]:
    if not shown:
        return [("headers", Text(f"{len(headers)} (shown with --headers)", style="inspector.muted"))]
    lines = "\n".join(f"{_compact(name)}: {_compact(value)}" for name, value in headers.items())
    return [("headers", lines or "-")]


class ErrorAnswer:
    """A non-streamed answer (a 401 or 429 JSON error): its message and its body, pretty-printed when JSON."""

    def __init__(self, response: ResponseFacts) -> None:
        self.response = response

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        response = self.response
        body = response.error_body or ""
        try:
            shown = json.dumps(json.loads(body), indent=2, ensure_ascii=False)
        except (ValueError, RecursionError):
            shown = body
        parts: list[Any] = []
        if response.error_message:
            parts.append(Text(visible(response.error_message), style="inspector.error"))
        parts.append(long_text(shown) if shown else Text("(empty body)"))
        yield Panel(Group(*parts), title=Text(response.error_title, style="inspector.fail"), title_align="left")


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


def _level(gap: float, scale: float, levels: int) -> int:
    """The bar for `gap` on a scale whose top is `scale` (at least `CHART_FLOOR`, so that gaps of about 0 ms stay
    low bars instead of all being the tallest)."""
    scale = max(scale, CHART_FLOOR)
    return min(levels - 1, max(0, math.ceil(gap / scale * levels) - 1))


class TimingPanel:
    """Time to first byte, event and token; duration; counts; gap percentiles; stalls; throughput; the chart."""

    def __init__(self, timing: Timing, *, recorded: bool = False) -> None:
        self.timing = timing
        self.recorded = recorded
        """Whether the input is a recording (its times are missing only when no chunk came), not a raw body."""

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        timing = self.timing
        counts = f"{plural(timing.events, 'event')} in {plural(timing.chunks, 'chunk')}"
        if not timing.has_times:
            first_token = "-" if timing.first_token_index is None else f"event {timing.first_token_index}"
            times = "none: no chunk arrived" if self.recorded else "none in this input (raw SSE)"
            rows: list[tuple[str, Any]] = [("times", times), ("counts", counts),
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
        where = ("before the end of the stream" if stall.index is None
                 else f"before event {stall.index} `{visible(stall.type, one_line=True)}`")
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
        # NOTE: ids of 50 characters (OpenAI's) and long names are folded: the arguments keep most of the width
        table.add_column("id", overflow="fold", max_width=20)
        table.add_column("name", overflow="fold", max_width=24)
        table.add_column("kind", overflow="fold", max_width=24)
        table.add_column("arguments", overflow="fold", ratio=1)
        for call in self.calls:
            # NOTE: cells are shown `visible` before layout too, so a control in them cannot shift the columns
            table.add_row(visible(call.id or "-"), visible(call.name or "-"), visible(tool_kind(call)),
                          _call_arguments(call))
        yield table


def tool_kind(call: ToolCall) -> str:
    """`client function` for a call the app must run, `server tool (web_search_call)` for one the API ran."""
    if call.kind in PLAIN_FUNCTION_KINDS:
        return "client function"
    return f"client tool ({call.kind})" if call.run_by_client else f"server tool ({call.kind})"


STREAMED_APART = "the deltas joined to something else:"
"""Above what a tool call's deltas joined to, where a client runs other arguments (`ToolCall.streamed`)."""


def _call_arguments(call: ToolCall) -> Text:
    """The arguments a client runs, and what the deltas joined to where that differs (a client that builds the call
    from the deltas runs that)."""
    shown = _arguments(call.arguments)
    if call.streamed is None:
        return shown
    return shown.append(f"\n{STREAMED_APART}\n", style="inspector.invalid").append_text(
        _arguments(call.streamed))


def _arguments(arguments: str) -> Text:
    if arguments == "":
        return Text("(empty)", style="inspector.muted")
    try:
        pretty = json.dumps(json.loads(arguments), indent=2, ensure_ascii=False)
    except ValueError as error:
        text = Text(f"does not parse as JSON ({error}):\n", style="inspector.invalid")
        return text.append_text(long_text(arguments))
    except RecursionError:
        text = Text("nests too deeply to lay out as JSON:\n", style="inspector.invalid")
        return text.append_text(long_text(arguments))
    return long_text(pretty)


def clip(text: str) -> tuple[str, str]:
    """`text` cut at `TEXT_LIMIT` characters, and the marker to show after it saying how much is left out and where
    to see it whole ("" when nothing was cut)."""
    if len(text) <= TEXT_LIMIT:
        return text, ""
    return text[:TEXT_LIMIT], (f"\n… {len(text) - TEXT_LIMIT:,} more characters not shown here (`view --json` "
                               "shows the whole text)")


def long_text(text: str, style: str = "") -> Text:
    """`text` from the wire for the terminal, `visible`, cut past `TEXT_LIMIT` characters with a marker."""
    shown, marker = clip(text)
    return Text(visible(shown), style=style).append(marker, style="inspector.muted")


class OutputView:
    """One answer (one Chat choice): its text, reasoning (dimmed), refusal and tool calls."""

    def __init__(self, output: Output, title: str) -> None:
        self.output = output
        self.title = title

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        output = self.output
        if output.reasoning:
            yield Panel(long_text(output.reasoning, "inspector.reasoning"), title=self._title("reasoning"),
                        title_align="left")
        if output.text or not output.tool_calls:
            text = long_text(output.text) if output.text else Text("(no text)", style="inspector.muted")
            yield Panel(text, title=self._title("text"), title_align="left")
        if output.refusal:
            yield Panel(long_text(output.refusal, "inspector.refusal"), title=self._title("refusal"),
                        title_align="left")
        if output.tool_calls:
            yield ToolCallTable(output.tool_calls)

    def _title(self, part: str) -> Text:
        """A `Text`: rich reads a string title as markup (a finish reason `[b]x` lost its brackets)."""
        return Text(visible(f"{self.title}: {part}", one_line=True))


class UsageView:
    """The usage object, flattened to `input_tokens_details.cached_tokens  12` rows."""

    def __init__(self, usage: dict | None) -> None:
        self.usage = usage

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        if not self.usage:
            yield Text("usage: not reported", style="inspector.muted")
            return
        rows = [(key, json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else value)
                for key, value in flatten(self.usage)]
        yield Panel(_key_values(rows), title="usage", title_align="left")


class DetailsView:
    """Protocol facts beside the answer (`Assembly.details`: Gemini's grounding, citations, safety ratings, prompt
    feedback; the Responses terminal output where the stream showed no answer), flattened
    like usage; long values are cut, the JSON output has them whole."""

    ROWS = 40
    WIDTH = 200

    def __init__(self, details: dict[str, Any]) -> None:
        self.details = details

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        rows = [(key, _cut(value if isinstance(value, str) else json.dumps(value, ensure_ascii=False), self.WIDTH))
                for key, value in flatten(self.details)]
        more = len(rows) - self.ROWS
        rows = rows[: self.ROWS] + ([("...", f"{more} more")] if more > 0 else [])
        shown = [(visible(key), visible(value, one_line=True)) for key, value in rows]
        yield Panel(_key_values(shown), title="details", title_align="left")


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit] + "…"


def flatten(value: Any, path: str = "") -> list[tuple[str, Any]]:
    """A nested object as (dotted path, leaf value) rows, as the usage is shown."""
    if isinstance(value, dict) and value:
        return [row for key, item in value.items() for row in flatten(item, f"{path}.{key}" if path else key)]
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

    def __init__(self, report: StreamReport, *, headers: bool = False) -> None:
        self.report = report
        self.headers = headers

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        report = self.report
        yield HeaderPanel(report)
        exchange = report.exchange
        if exchange is not None:
            yield ExchangePanel(exchange, headers=self.headers)
        yield TimingPanel(report.timing, recorded=report.header is not None)
        several = len(report.outputs) > 1
        for output in report.outputs:
            title = f"choice {output.index}" if several else "answer"
            if several and output.finish_reason:
                title += f" ({output.finish_reason})"
            yield OutputView(output, title)
        if not report.outputs:
            yield Text("no answer: the stream carried no text, reasoning or tool call", style="inspector.muted")
        yield UsageView(report.assembly.usage)
        if report.assembly.details:
            yield DetailsView(report.assembly.details)
        yield FindingsTable(report.findings)
        if report.events is not None:
            yield EventTable(report.events, report.timing.stall_threshold)


def print_view(console: Console, report: StreamReport, *, headers: bool = False) -> None:
    """Print the view, then the raw frames if the report kept them, verbatim (soft wrap: no cropping)."""
    console.print(StreamView(report, headers=headers))
    if report.chunks is not None:
        console.print(Text("raw frames", style="inspector.label"))
        console.print(RawFrames(report.chunks), soft_wrap=True)
