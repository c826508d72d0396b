"""The HTML report: one self-contained page per stream, and an index page for a directory of them.

A page needs nothing but itself (its CSS and JS are inlined from `html_assets/`, no font, image or script is
fetched), so it opens from `file://`, as a CI artifact or as a mail attachment. The page is built here as text;
the script only adds behaviour (expand and filter the events, findings and timeline ticks that lead to their
event, sorting and filtering the index). Every string from the wire or the recording goes through `_text` (or
`_attr`): `escape.visible` first, so controls and bidi overrides show as symbols, then HTML escaping.
"""

from __future__ import annotations

import html
import json
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import quote

from .. import __version__
from ..escape import visible
from ..findings import Finding
from ..inputs import stream_check
from ..private import open_private
from ..protocols.base import Output, ToolCall
from ..sse import Event, SSEParser
from ..timing import Timing
from .exchange import Exchange, RequestFacts, ResponseFacts
from .model import EventRow, StreamReport
from .render import STREAMED_APART, clip, flatten, tool_kind

MAX_EVENTS = 20_000
"""Event rows a page shows at most (a page stays usable in a browser); the rest are counted, not listed."""
MAX_DETAIL = 20_000
"""Characters of one event's data or wire text shown when expanded; longer ones are cut, and say so."""
_TIMELINE_WIDTH = 1000.0
_TIMELINE_HEIGHT = 100.0
_TICK_TOP = 18.0


def _text(value: Any) -> str:
    """Any value as HTML text: wire controls and bidi overrides visible, then escaped."""
    return html.escape(visible(value if isinstance(value, str) else str(value)), quote=False)


def _line(value: str) -> str:
    """A value that must stay on one line (an event type, a summary): newlines and tabs shown too."""
    return html.escape(visible(value, one_line=True), quote=False)


def _attr(value: Any) -> str:
    return html.escape(visible(value if isinstance(value, str) else str(value), one_line=True), quote=True)


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f} s"


def _asset(name: str) -> str:
    return resources.files(__package__).joinpath("html_assets", name).read_text(encoding="utf-8")


def _page(title: str, body: str) -> str:
    # NOTE: the assets are our own files; a `</script>` or `</style>` in them would end the element early.
    return (
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; "
        "script-src 'unsafe-inline'; img-src data:\">\n"
        f"<title>{_text(title)}</title>\n<style>\n{_asset('report.css')}</style>\n</head>\n<body>\n{body}\n"
        f"<footer>sse-inspector {__version__}: a self-contained page, it loads nothing.</footer>\n"
        f"<script>\n{_asset('report.js')}</script>\n</body>\n</html>\n"
    )


# -- one stream ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _WireEvent:
    row: EventRow
    data: str
    wire: bytes

    @property
    def raw(self) -> str:
        return self.wire.decode("utf-8", errors="replace")


@dataclass(frozen=True, slots=True)
class _Piece:
    """What one event added to the answer's text (or reasoning)."""

    index: int
    t: float | None
    text: str


def report_page(report: StreamReport, *, index_href: str | None = None) -> str:
    """The page of one stream. `report` must have kept its events and chunks (`inspect(..., keep_events=True,
    keep_chunks=True)`); `index_href` links back to the index page of a directory."""
    events = list(_wire_events(report))
    parts = [
        _top(report, report.request_line, index_href),
        "<nav><a href=\"#timeline\">timeline</a><a href=\"#findings\">findings</a><a href=\"#answer\">answer</a>"
        "<a href=\"#exchange\">request &amp; response</a><a href=\"#events\">events</a></nav>\n<main>",
        _timeline(report.timing, events),
        _findings(report.findings),
        _answer(report, events),
        _exchange(report.exchange),
        _events(events, report.timing, len(report.events or ())),
        "</main>",
    ]
    return _page(f"sse-inspector: {report.name}", "\n".join(parts))


def _wire_events(report: StreamReport) -> Iterable[_WireEvent]:
    """Each kept event with its data and the wire text it came from (from its first line to the next event's)."""
    rows = (report.events or [])[:MAX_EVENTS]
    if not rows or report.chunks is None:
        return
    stream = b"".join(chunk.data for chunk in report.chunks)
    parser = SSEParser()
    parsed: list[Event] = parser.feed(stream) + parser.close()
    bounds = [event.offset for event in parsed] + [len(stream)]
    for row, event, stop in zip(rows, parsed, bounds[1:], strict=False):
        yield _WireEvent(row, event.data, stream[event.offset:stop])


def _as_streamed(report: StreamReport, events: Sequence[_WireEvent]) -> tuple[list[_Piece], list[_Piece]] | None:
    """The text and the reasoning of the (first) answer cut where each event added to them, by reading the events
    again one at a time; None when the pieces do not make up the answer (events left out of the page)."""
    first = report.outputs[0] if report.outputs else None
    if first is None or not events or len(events) < len(report.events or ()):
        return None
    check = stream_check(report.header, report.protocol)
    pieces: tuple[list[_Piece], list[_Piece]] = ([], [])
    seen = [0, 0]
    for event in events:
        check.feed(event.wire, event.row.t)
        output = check.assembly.outputs.get(first.index)
        if output is None:
            continue
        for kind, parts in enumerate((output.text_parts, output.reasoning_parts)):
            if len(parts) > seen[kind]:
                pieces[kind].append(_Piece(event.row.index, event.row.t, "".join(parts[seen[kind]:])))
                seen[kind] = len(parts)
    text, reasoning = ("".join(piece.text for piece in kind) for kind in pieces)
    return pieces if (text, reasoning) == (first.text, first.reasoning) else None


def _pieces(pieces: Sequence[_Piece], whole: str) -> str:
    """The text as it streamed: one span per event (hover: which event and when; click: that event), cut as
    `_long_text` cuts `whole`."""
    shown, marker = clip(whole)
    spans: list[str] = []
    room = len(shown)
    for piece in pieces:
        if room <= 0:
            break
        text = piece.text[:room]
        room -= len(text)
        t, at = ("", "") if piece.t is None else (piece.t, f" at {piece.t:.3f} s")
        spans.append(f"<span class=\"piece\" data-event=\"{piece.index}\" data-t=\"{t}\" "
                     f"title=\"event {piece.index}{at}\">{_text(text)}</span>")
    return "".join(spans) + _marker(marker)


def _long_text(text: str) -> str:
    """An answer's text, cut past `render.TEXT_LIMIT` characters with the terminal view's marker: a page holding a
    10 MB answer several times over took more than a gigabyte to build."""
    shown, marker = clip(text)
    return _text(shown) + _marker(marker)


def _marker(marker: str) -> str:
    return f"<span class=\"muted cut\">{_text(marker)}</span>" if marker else ""


def _top(report: StreamReport, title: str, index_href: str | None) -> str:
    verdict = report.verdict
    counts = f"{report.errors} error{'s' * (report.errors != 1)}, {report.warnings} warning" + "s" * (
        report.warnings != 1)
    facts = [("file", report.name), ("protocol", report.protocol), ("model", report.model or "-"),
             ("HTTP status", "-" if report.http_status is None else report.http_status),
             ("final status", report.assembly.status or "-"), ("first token", _seconds(report.timing.ttft)),
             ("duration", _seconds(report.timing.duration))]
    if report.end is not None:
        facts.append(("recording end", report.end.reason + (f" ({report.end.error})" if report.end.error else "")))
    elif report.header is not None:
        facts.append(("recording end", "none: the recording was cut short"))
    if report.assembly.error:
        facts.append(("in-band error", report.assembly.error))
    back = f"<a href=\"{html.escape(index_href, quote=True)}\">&larr; all recordings</a> " if index_href else ""
    return (
        f"<header class=\"top\">{back}<h1>{_text(title)} <span class=\"badge {verdict}\" id=\"verdict\">"
        f"{'FAIL' if verdict == 'fail' else 'pass'}</span> <span class=\"muted\">{counts}</span></h1>"
        "<div class=\"facts\">"
        + "".join(f"<span>{name} <b>{_text(value)}</b></span>" for name, value in facts)
        + "</div></header>"
    )


def _timeline(timing: Timing, events: Sequence[_WireEvent]) -> str:
    head = "<section id=\"timeline\"><h2>timeline</h2>"
    timed = [event for event in events if event.row.t is not None]
    if not timed or timing.duration is None:
        return head + "<p class=\"muted\">no times in this input (a raw SSE body has none)</p></section>"
    end = max(timing.duration, timed[-1].row.t or 0.0, 1e-6)
    tallest = max((event.row.gap or 0.0 for event in timed), default=0.0) or 1.0
    x = lambda t: f"{t / end * _TIMELINE_WIDTH:.2f}"  # noqa: E731
    shapes: list[str] = []
    for stall in timing.stalls:
        start, width = stall.t - stall.gap, stall.gap / end * _TIMELINE_WIDTH
        shapes.append(f"<rect class=\"stall\" x=\"{x(start)}\" y=\"0\" width=\"{width:.2f}\" "
                      f"height=\"{_TIMELINE_HEIGHT}\"><title>stall: {stall.gap:.3f} s</title></rect>")
    room = _TIMELINE_HEIGHT - _TICK_TOP - 2
    for event in timed:
        row = event.row
        height = 6 + (room - 6) * ((row.gap or 0.0) / tallest) ** 0.5  # a stall stands out, small gaps still show
        tip = f"#{row.index} · {row.t:.3f} s · {row.type} · {len(event.wire)} B" + (
            "" if row.gap is None else f" · gap {row.gap:.3f} s")
        shapes.append(f"<rect class=\"tick\" data-event=\"{row.index}\" data-tip=\"{_attr(tip)}\" "
                      f"x=\"{x(row.t or 0.0)}\" y=\"{_TIMELINE_HEIGHT - height:.2f}\" width=\"2\" "
                      f"height=\"{height:.2f}\"><title>{_text(tip)}</title></rect>")
    markers = [("ttfb", "first byte", timing.ttfb), ("first-event", "first event", timing.first_event),
               ("ttft", "first token", timing.ttft)]
    legend = []
    for number, (kind, label, t) in enumerate(markers):
        if t is None:
            continue
        shapes.append(f"<line class=\"marker {kind}\" x1=\"{x(t)}\" x2=\"{x(t)}\" y1=\"0\" y2=\"{_TIMELINE_HEIGHT}\">"
                      f"<title>{label}: {t:.3f} s</title></line>")
        shapes.append(f"<text class=\"label\" x=\"{float(x(t)) + 3:.2f}\" y=\"{11 + 12 * number}\">{label}</text>")
        legend.append(f"<span>{label} {t:.3f} s</span>")
    legend.append(f"<span>end {end:.3f} s</span><span>tick height: gap before the event; red: a stall over "
                  f"{timing.stall_threshold:g} s</span>")
    if len(events) < timing.events:
        legend.append(f"<span>the first {len(events)} of {timing.events} events</span>")
    return (head + f"<svg viewBox=\"0 0 {_TIMELINE_WIDTH:g} {_TIMELINE_HEIGHT:g}\" preserveAspectRatio=\"none\" "
            f"role=\"img\" aria-label=\"events over time\">{''.join(shapes)}</svg><div class=\"tip\"></div>"
            f"<div class=\"legend\">{''.join(legend)}</div></section>")


def _findings(findings: Sequence[Finding]) -> str:
    head = "<section id=\"findings\"><h2>findings</h2>"
    if not findings:
        return head + "<p class=\"muted\">none</p></section>"
    rows = []
    for finding in sorted(findings, key=lambda found: (found.index is None, found.index or 0)):
        where = "end" if finding.index is None else (
            f"<a class=\"finding\" href=\"#event-{finding.index}\" data-event=\"{finding.index}\">"
            f"event {finding.index}</a>")
        rows.append(f"<tr><td class=\"sev-{finding.severity}\">{finding.severity}</td><td class=\"mono\">"
                    f"{_text(finding.rule)}</td><td class=\"num\">{where}</td><td>{_text(finding.message)}</td></tr>")
    return (head + "<table><thead><tr><th>severity</th><th>rule</th><th class=\"num\">where</th><th>message</th>"
            f"</tr></thead><tbody>{''.join(rows)}</tbody></table></section>")


def _answer(report: StreamReport, events: Sequence[_WireEvent]) -> str:
    parts = ["<section id=\"answer\"><h2>answer</h2>"]
    streamed = _as_streamed(report, events)
    if streamed is not None and any(streamed):
        parts.append("<p class=\"muted\">hover the text to see which event carried it, click for the event; "
                     "<button type=\"button\" id=\"replay\">replay it as it streamed</button></p>")
    several = len(report.outputs) > 1
    for output in report.outputs:
        if several:
            finish = f" ({_text(output.finish_reason)})" if output.finish_reason else ""
            parts.append(f"<h3>choice {output.index}{finish}</h3>")
        parts.append(_output(output, streamed if output is report.outputs[0] else None))
    if not report.outputs:
        parts.append("<p class=\"muted\">no answer: the stream carried no text, reasoning or tool call</p>")
    usage = report.assembly.usage
    if usage:
        rows = "".join(f"<dt class=\"mono\">{_text(key)}</dt><dd class=\"mono\">{_text(json.dumps(value))}</dd>"
                       for key, value in flatten(usage))
        parts.append(f"<h3>usage</h3><dl class=\"kv\" id=\"usage\">{rows}</dl>")
    else:
        parts.append("<h3>usage</h3><p class=\"muted\">not reported</p>")
    details = report.assembly.details  # Gemini: grounding, citations, safety ratings, prompt feedback
    if details:
        rows = "".join(f"<dt class=\"mono\">{_text(key)}</dt><dd class=\"mono\">"
                       f"{_text(json.dumps(value, ensure_ascii=False))}</dd>" for key, value in flatten(details))
        parts.append(f"<h3>details</h3><dl class=\"kv\" id=\"details\">{rows}</dl>")
    return "".join(parts) + "</section>"


def _output(output: Output, streamed: tuple[list[_Piece], list[_Piece]] | None) -> str:
    parts = []
    if output.reasoning:
        reasoning = _pieces(streamed[1], output.reasoning) if streamed else _long_text(output.reasoning)
        parts.append(f"<h3>reasoning</h3><div class=\"text reasoning\"><pre>{reasoning}</pre></div>")
    if output.text or not output.tool_calls:
        text = _long_text(output.text) if output.text else "<span class=\"muted\">(no text)</span>"
        if streamed and output.text:
            text = _pieces(streamed[0], output.text)
        parts.append(f"<h3>text</h3><div class=\"text answer-text\"><pre>{text}</pre></div>")
    if output.refusal:
        parts.append(f"<h3>refusal</h3><div class=\"text refusal\"><pre>{_long_text(output.refusal)}</pre></div>")
    if output.tool_calls:
        rows = "".join(
            f"<tr><td class=\"mono\">{_text(call.id or '-')}</td><td class=\"mono\">{_text(call.name or '-')}</td>"
            f"<td>{_text(tool_kind(call))}</td><td><pre>{_pretty(call.arguments)}</pre>{_streamed(call)}</td></tr>"
            for call in output.tool_calls)
        parts.append("<h3>tool calls</h3><table class=\"tool-calls\"><thead><tr><th>id</th><th>name</th><th>kind</th>"
                     f"<th>arguments</th></tr></thead><tbody>{rows}</tbody></table>")
    return "".join(parts)


def _streamed(call: ToolCall) -> str:
    """What the deltas joined to, where it is not what a client runs ("" otherwise)."""
    if call.streamed is None:
        return ""
    return f"<p class=\"sev-warning\">{STREAMED_APART}</p><pre>{_pretty(call.streamed)}</pre>"


def _pretty(text: str, limit: int = MAX_DETAIL) -> str:
    """JSON pretty-printed, or the text as it is (with a note) when it is not JSON; cut at `limit` characters."""
    if text == "":
        return "<span class=\"muted\">(empty)</span>"
    try:
        json.loads(text)
    except (ValueError, RecursionError):
        return "<span class=\"muted\">not JSON:</span>\n" + _cut(text, limit)
    return _cut(indent_json(text), limit)


# NOTE: a string is matched as runs between escapes (`"[^"\\]*(?:\\.[^"\\]*)*"`): `"(?:[^"\\]|\\.)*"` made the
# regex engine keep state per character, 1.3 GB for one 10 MB string.
_JSON_TOKEN = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[{}\[\],:]|[^\s{}\[\],:"]+')
_OPENERS = frozenset("{[")
_CLOSERS = frozenset("}]")


def indent_json(text: str) -> str:
    """Valid JSON text laid out two spaces an indent, its strings and numbers kept exactly as written.

    (`json.dumps(..., indent=2)` runs the pure-Python encoder: it cost most of a page's time.)
    """
    tokens = _JSON_TOKEN.findall(text)
    parts: list[str] = []
    depth = 0
    for number, token in enumerate(tokens):
        if token in _OPENERS:
            if number + 1 < len(tokens) and tokens[number + 1] in _CLOSERS:
                parts.append(token)  # an empty object or array stays `{}` / `[]`
                continue
            depth += 1
            parts.append(f"{token}\n{'  ' * depth}")
        elif token in _CLOSERS:
            if number and tokens[number - 1] in _OPENERS:
                parts.append(token)
                continue
            depth -= 1
            parts.append(f"\n{'  ' * depth}{token}")
        elif token == ",":
            parts.append(f",\n{'  ' * depth}")
        elif token == ":":
            parts.append(": ")
        else:
            parts.append(token)
    return "".join(parts)


def _cut(text: str, limit: int) -> str:
    if len(text) <= limit:
        return _text(text)
    return _text(text[:limit]) + f"<span class=\"muted\">… ({len(text) - limit} more characters)</span>"


def _exchange(exchange: Exchange | None) -> str:
    head = "<section id=\"exchange\"><h2>request &amp; response</h2>"
    if exchange is None:
        return head + "<p class=\"muted\">a raw SSE body: no request or response was recorded</p></section>"
    response = exchange.response
    right = _response_pane(response) if response is not None else (
        "<div class=\"pane\"><h3>response</h3><p class=\"muted\">none recorded: the upstream never answered</p></div>")
    return head + f"<div class=\"panes\">{_request_pane(exchange.request)}{right}</div></section>"


def _facts(rows: Sequence[tuple[str, Any]]) -> str:
    return "<dl class=\"kv\">" + "".join(f"<dt>{name}</dt><dd>{value}</dd>" for name, value in rows) + "</dl>"


def _compact(value: Any) -> str:
    return _text(value if isinstance(value, str) else json.dumps(value, ensure_ascii=False))


def _headers(headers: dict[str, str]) -> str:
    rows = "".join(f"<dt class=\"mono\">{_text(name)}</dt><dd class=\"mono\">{_text(value)}</dd>"
                   for name, value in headers.items())
    return f"<details><summary>{len(headers)} headers (secrets redacted when recorded)</summary>" \
           f"<dl class=\"kv\">{rows}</dl></details>"


def _request_pane(request: RequestFacts) -> str:
    rows: list[tuple[str, str]] = [("method", _text(request.method or "-")), ("URL", _text(request.url or "-"))]
    if request.body_kept:
        rows += [("model", _text(request.model or "-")), ("stream", _compact(request.stream))]
        if request.stream_options is not None:
            rows.append(("stream options", _compact(request.stream_options)))
        rows += [(_text(name), _compact(value)) for name, value in request.parameters.items()]
        if request.tools:
            rows.append(("tools", _text(", ".join(request.tools))))
        if request.messages is not None:
            rows.append(("messages", str(request.messages)))
        if request.last_user is not None:
            rows.append(("last user message", f"<pre>{_text(request.last_user)}</pre>"))
    else:
        rows.append(("body", "<span class=\"muted\">not recorded, or not JSON</span>"))
    return f"<div class=\"pane\" id=\"request\"><h3>request</h3>{_facts(rows)}{_headers(request.headers)}</div>"


def _response_pane(response: ResponseFacts) -> str:
    rows = [("status", _text("-" if response.status is None else response.status)),
            ("content type", _text(response.content_type or "-")), ("request id", _text(response.request_id or "-"))]
    rows += [(_text(name), _text(value)) for name, value in {**response.rate_limits, **response.timing}.items()]
    error = ""
    if not response.streamed:
        message = f"<p class=\"sev-error\">{_text(response.error_message)}</p>" if response.error_message else ""
        error = (f"<h3>{_text(response.error_title)}</h3>{message}"
                 f"<pre class=\"text\">{_pretty(response.error_body or '')}</pre>")
    kind = " error-answer" if error else ""
    return (f"<div class=\"pane{kind}\" id=\"response\"><h3>response</h3>{_facts(rows)}{_headers(response.headers)}"
            f"{error}</div>")


def _events(events: Sequence[_WireEvent], timing: Timing, kept: int) -> str:
    head = "<section id=\"events\"><h2>events</h2>"
    if not events:
        return head + "<p class=\"muted\">none</p></section>"
    types = Counter(event.row.type for event in events)
    options = "".join(f"<option value=\"{_attr(kind)}\">{_text(kind)} ({count})</option>"
                      for kind, count in sorted(types.items()))
    rows = []
    for event in events:
        row = event.row
        stalled = " stalled" if row.gap is not None and row.gap > timing.stall_threshold else ""
        rows.append(
            f"<tr class=\"event{stalled}\" id=\"event-{row.index}\" data-type=\"{_attr(row.type)}\" "
            f"aria-expanded=\"false\"><td class=\"num\">{row.index}</td><td class=\"num\">{_number(row.t)}</td>"
            f"<td class=\"num gap\">{_number(row.gap)}</td><td class=\"mono\">{_line(row.type)}"
            f"</td><td class=\"summary mono\">{_line(row.summary)}</td></tr>"
            f"<tr class=\"detail\" hidden><td colspan=\"5\"><div class=\"wire\"><div><h3>data</h3>"
            f"<pre class=\"data\">{_pretty(event.data)}</pre></div><div><h3>on the wire ({len(event.wire)} bytes)</h3>"
            f"<pre class=\"raw\">{_cut(event.raw, MAX_DETAIL)}</pre></div></div></td></tr>")
    more = "" if kept <= len(events) else (
        f"<p class=\"muted\">{kept - len(events)} more events are not listed (see `sse-inspector view --events`)</p>")
    return (head + "<div class=\"filters\"><label>type <select id=\"event-type\"><option value=\"\">all</option>"
            f"{options}</select></label><label>search <input id=\"event-text\" type=\"search\"></label>"
            f"<span class=\"muted\"><span id=\"event-count\">{len(events)}</span> shown; click a row for its data and "
            "wire text</span></div><table><thead><tr><th class=\"num\">#</th><th class=\"num\">t (s)</th>"
            "<th class=\"num\">gap (s)</th><th>type</th><th>summary</th></tr></thead><tbody>"
            f"{''.join(rows)}</tbody></table>{more}</section>")


def _number(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


# -- a directory --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class IndexEntry:
    """One recording on the index page: its facts, and its page (None when the file could not be read)."""

    name: str
    href: str | None
    verdict: str
    protocol: str | None = None
    model: str | None = None
    status: str | None = None
    ttft: float | None = None
    duration: float | None = None
    errors: int = 0
    warnings: int = 0
    started: str | None = None
    problem: str | None = None

    @classmethod
    def of(cls, report: StreamReport, href: str, name: str) -> IndexEntry:
        http = report.http_status
        status = f"HTTP {http}" if http is not None and not 200 <= http < 300 else report.assembly.status
        return cls(name, href, report.verdict, report.protocol, report.model, status, report.timing.ttft,
                   report.timing.duration, report.errors, report.warnings,
                   report.header.started_at if report.header else None)


def index_page(entries: Sequence[IndexEntry], title: str) -> str:
    """The index of a directory's pages: sortable by any column, filterable by verdict, protocol and text."""
    protocols = sorted({entry.protocol for entry in entries if entry.protocol})
    rows = []
    for entry in entries:
        name = f"<a href=\"{_link(entry.href)}\">{_text(entry.name)}</a>" if entry.href else (
            f"{_text(entry.name)}<br><span class=\"muted\">{_text(entry.problem or '')}</span>")
        cells = [
            (entry.verdict, f"<span class=\"badge {entry.verdict}\">{entry.verdict}</span>", ""),
            (entry.started or "", _text(entry.started or "-"), ""),
            (entry.protocol or "", _text(entry.protocol or "-"), ""),
            (entry.model or "", _text(entry.model or "-"), ""),
            (entry.status or "", _text(entry.status or "-"), ""),
            (_sort_number(entry.ttft), _number(entry.ttft), " num"),
            (_sort_number(entry.duration), _number(entry.duration), " num"),
            (str(entry.errors), str(entry.errors), " num"),
            (str(entry.warnings), str(entry.warnings), " num"),
            (entry.name, name, ""),
        ]
        rows.append(f"<tr data-verdict=\"{entry.verdict}\" data-protocol=\"{_attr(entry.protocol or '')}\">"
                    + "".join(f"<td class=\"{kind.strip()}\" data-sort=\"{_attr(key)}\">{shown}</td>"
                              for key, shown, kind in cells) + "</tr>")
    heads = [("verdict", ""), ("started (UTC)", ""), ("protocol", ""), ("model", ""), ("status", ""),
             ("TTFT s", " num"), ("total s", " num"), ("errors", " num"), ("warnings", " num"), ("file", "")]
    failed = sum(entry.verdict != "pass" for entry in entries)
    body = (
        f"<header class=\"top\"><h1>{_text(title)}</h1><div class=\"facts\"><span>recordings <b>{len(entries)}</b>"
        f"</span><span>not passing <b>{failed}</b></span></div></header><main><div class=\"filters\">"
        "<label>verdict <select id=\"filter-verdict\"><option value=\"\">all</option><option value=\"pass\">pass"
        "</option><option value=\"fail\">fail</option><option value=\"unreadable\">unreadable</option></select>"
        "</label><label>protocol <select id=\"filter-protocol\"><option value=\"\">all</option>"
        + "".join(f"<option value=\"{_attr(name)}\">{_text(name)}</option>" for name in protocols)
        + "</select></label><label>search <input id=\"filter-text\" type=\"search\"></label><span class=\"muted\">"
        f"<span id=\"recording-count\">{len(entries)}</span> shown; click a column to sort</span></div>"
        "<table id=\"recordings\"><thead><tr>"
        + "".join(f"<th class=\"sortable{kind}\">{name}</th>" for name, kind in heads)
        + f"</tr></thead><tbody>{''.join(rows)}</tbody></table></main>"
    )
    return _page(title, body)


def _link(page: str) -> str:
    """A relative link to a page beside the index: `./` first and percent-encoded, so that no browser reads a page
    named `javascript:alert(1).sse.html` as a scheme, and a control or newline in a name still resolves."""
    return html.escape("./" + quote(page, safe=""), quote=True)


_UNSAFE_IN_NAME = re.compile(r"[^\w.-]")


def page_name(relative: Path, taken: set[str]) -> str:
    """The file name of a recording's page: its path's parts joined by `__`, each character but letters, digits,
    `_`, `.` and `-` as `_` (a name from the wire must not write an ESC into the next `ls` of the report), then a
    number when another page (or the index) has that name already; added to `taken`."""
    stem = _UNSAFE_IN_NAME.sub("_", "__".join(relative.parts))
    name, number = f"{stem}.html", 1
    while name in taken:
        number += 1
        name = f"{stem}-{number}.html"
    taken.add(name)
    return name


def _sort_number(value: float | None) -> str:
    return "" if value is None else repr(value)


def write_directory(directory: str, out: Path, protocol: str | None = None) -> list[IndexEntry]:
    """A page for every recording under `directory` and `index.html` linking them, all written into `out`."""
    from ..inputs import InputError, open_source, streams_in
    from .model import inspect

    out.mkdir(mode=0o700, parents=True, exist_ok=True)
    root = Path(directory)
    entries = []
    taken = {"index.html"}
    for path in streams_in(root):
        relative = path.relative_to(root)
        name = str(relative)
        try:
            report = inspect(open_source(str(path)), protocol, keep_events=True, keep_chunks=True)
        except InputError as error:
            entries.append(IndexEntry(name, None, "unreadable", problem=str(error)))
            continue
        href = page_name(relative, taken)
        with open_private(out / href) as page:  # pages hold prompts and answers, like the recordings
            page.write(report_page(report, index_href="index.html"))
        entries.append(IndexEntry.of(report, href, name))
    entries.sort(key=lambda entry: entry.started or "", reverse=True)
    with open_private(out / "index.html") as page:
        page.write(index_page(entries, f"sse-inspector: {directory}"))
    return entries
