"""`ls`: one row per recording (time, protocol, model, status, events, TTFT, duration, verdict, file), newest
first, so that a user finds the stream that went wrong; filters narrow it down (failed ones, a protocol, a model,
since when, words in the answer).

Each file is read once, streaming, through the same pass as the viewer (`model.inspect`). A file that
cannot be read gets a row that says why instead of ending the listing. The table is laid out by hand so that
the file name always shows: on the row when it fits, else on a line of its own above the row.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, RenderResult
from rich.padding import Padding
from rich.text import Text

from ..escape import visible
from ..inputs import InputError, expand, open_source, streams_in
from .events import fit
from .model import StreamReport, inspect

UNREADABLE = "unreadable"
_VERDICT_STYLE = {"pass": "inspector.pass", "fail": "inspector.fail", UNREADABLE: "inspector.warning"}


@dataclass(frozen=True)
class ListingRow:
    path: str
    started: datetime | None
    endpoint: str | None = None
    protocol: str | None = None
    model: str | None = None
    http_status: int | None = None
    final_status: str | None = None
    events: int | None = None
    ttft: float | None = None
    duration: float | None = None
    verdict: str = UNREADABLE
    errors: int = 0
    warnings: int = 0
    problem: str | None = None
    api_error: str | None = None
    """The message of an in-band error event: a right stream can carry the API's refusal (quota, overload)."""

    def to_json(self) -> dict[str, Any]:
        return {
            "path": self.path, "started_at": _iso(self.started), "endpoint": self.endpoint,
            "protocol": self.protocol, "model": self.model, "http_status": self.http_status,
            "final_status": self.final_status,
            "events": self.events, "ttft": self.ttft, "duration": self.duration, "verdict": self.verdict,
            "errors": self.errors, "warnings": self.warnings, "problem": self.problem, "api_error": self.api_error,
        }


@dataclass(frozen=True)
class Filters:
    """What `ls` keeps: all of the given conditions must hold (none given: every row)."""

    failed: bool = False
    """Only streams that fail (or files that cannot be read)."""
    api_errors: bool = False
    """Only streams that carried an in-band error."""
    protocol: str | None = None
    model: str | None = None
    """A part of the model's name, any case."""
    since: datetime | None = None
    text: str | None = None
    """Words in the reassembled answer (text, reasoning, refusal, tool calls), any case."""

    def keeps(self, row: ListingRow) -> bool:
        if self.failed and row.verdict == "pass":
            return False
        if self.api_errors and row.api_error is None:
            return False
        if self.protocol is not None and row.protocol != self.protocol:
            return False
        if self.model is not None and self.model.lower() not in (row.model or "").lower():
            return False
        return self.since is None or (row.started is not None and row.started >= self.since)

    def finds(self, report: StreamReport) -> bool:
        if self.text is None:
            return True
        wanted = self.text.lower()
        return any(wanted in part.lower() for part in _answer_parts(report))


def _answer_parts(report: StreamReport) -> list[str]:
    parts = []
    for output in report.outputs:
        parts += [output.text, output.reasoning, output.refusal]
        parts += [f"{call.name} {call.arguments}" for call in output.tool_calls]
    return parts


_RELATIVE = re.compile(r"^(\d+(?:\.\d+)?)\s*(s|m|h|d)$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


def parse_since(value: str, now: datetime) -> datetime:
    """`2026-11-21`, `2026-11-21T05:30` (UTC unless it says otherwise), or an age: `90s`, `30m`, `2h`, `1d`."""
    relative = _RELATIVE.match(value.strip().lower())
    if relative:
        try:
            return now - timedelta(**{_UNITS[relative.group(2)]: float(relative.group(1))})
        except OverflowError:
            return datetime.min.replace(tzinfo=UTC)  # an age reaching back past year 1: no limit
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"expected a date, a date and time (UTC) or an age such as 30m, 2h, 1d; got {value!r}")\
            from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def list_recordings(directory: str, filters: Filters | None = None) -> list[ListingRow]:
    """A row for every recording or SSE file under `directory` that `filters` keeps, newest first (ties: by path)."""
    filters = filters or Filters()
    root = Path(directory)
    paths = [str(path) for path in streams_in(root)] if root.is_dir() else expand([directory])
    rows = [row for path in paths if (row := _row(path, filters)) is not None and filters.keeps(row)]
    oldest = datetime.min.replace(tzinfo=UTC)
    rows.sort(key=lambda row: row.path)
    rows.sort(key=lambda row: row.started or oldest, reverse=True)
    return rows


def _row(path: str, filters: Filters) -> ListingRow | None:
    try:
        report = inspect(open_source(path))
    except InputError as error:
        return None if filters.text is not None else ListingRow(path, _modified(path), problem=str(error))
    return _from_report(path, report) if filters.finds(report) else None


def _from_report(path: str, report: StreamReport) -> ListingRow:
    header = report.header
    return ListingRow(
        path=path,
        started=(_started(header.started_at) if header else None) or _modified(path),
        endpoint=_endpoint(header.request) if header else None,
        protocol=report.protocol,
        model=report.model,
        http_status=report.http_status,
        final_status=report.assembly.status,
        events=report.timing.events,
        ttft=report.timing.ttft,
        duration=report.timing.duration,
        verdict=report.verdict,
        errors=report.errors,
        warnings=report.warnings,
        api_error=report.assembly.error,
    )


def _started(value: str) -> datetime | None:
    try:
        started = datetime.fromisoformat(value)
    except ValueError:
        return None
    return started if started.tzinfo else started.replace(tzinfo=UTC)


def _modified(path: str) -> datetime | None:
    try:
        return datetime.fromtimestamp(os.stat(path).st_mtime, UTC)
    except OSError:
        return None


def _endpoint(request: dict[str, Any]) -> str | None:
    """`host:port/path`: no scheme or query, and no credentials (`user:password@`), which the redaction policy
    drops."""
    url = request.get("url")
    if not isinstance(url, str):
        return None
    parts = urlsplit(url)
    return f"{parts.netloc.rpartition('@')[2]}{parts.path}"


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


class RecordingTable:
    """The listing, one row per stream, its file name (relative to `base`, the listed directory) always whole.

    At 160 columns a row is one line ending in the file name and the endpoint; when they do not fit beside the
    columns they get a line of their own above them (at 80 columns, typically). An unreadable file shows its
    reason instead.
    """

    def __init__(self, rows: Sequence[ListingRow], base: str | None = None, empty: str = "no recordings") -> None:
        self.rows = rows
        self.base = base
        self.empty = empty
        """What an empty listing says (filters that matched nothing are not an empty directory)."""

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        if not self.rows:
            yield Text(self.empty, style="inspector.muted")
            return
        relative = self.base is not None and os.path.isdir(self.base)
        names = [visible(os.path.relpath(row.path, self.base) if relative else row.path, one_line=True)
                 for row in self.rows]
        cells = [_cells(row) for row in self.rows]
        heads = list(_HEADS)
        widths = [max(cell_len(head), *(cell_len(row[column][0]) for row in cells))
                  for column, head in enumerate(heads)]
        endpoints = [f"  {visible(row.endpoint, one_line=True)}" if row.endpoint else "" for row in self.rows]
        one_line = sum(widths) + 2 * len(widths) + max(
            cell_len(name + endpoint) for name, endpoint in zip(names, endpoints, strict=True)) <= options.max_width
        models = [""] * len(self.rows)
        if not one_line and sum(widths) + 2 * (len(widths) - 1) > options.max_width:
            # NOTE: the model goes to the file's own line rather than be cut to `gpt-…` (in a pipe, at 80 columns)
            models = [f"  {visible(row.model, one_line=True)}" if row.model and row.problem is None else ""
                      for row in self.rows]
            for columns in (heads, widths, *cells):
                del columns[_MODEL]
        excess = sum(widths) + 2 * (len(widths) - 1) - options.max_width
        for column, narrowest in _SHRINKABLE if len(heads) == len(_HEADS) else _SHRINKABLE_WITHOUT_MODEL:
            cut = max(0, min(excess, widths[column] - narrowest))
            widths[column] -= cut
            excess -= cut
        fixed = sum(widths) + 2 * len(widths)
        numeric = {heads.index(_HEADS[number]) for number in _NUMERIC}
        if not one_line:
            yield Text("file  model  endpoint" if any(models) else "file", style="inspector.label")
        head = _line(heads, widths, numeric)
        yield Text(f"{head:<{fixed - 2}}  file" if one_line else head, style="inspector.label")
        for name, model, endpoint_text, row, columns in zip(names, models, endpoints, self.rows, cells, strict=True):
            line = Text()
            endpoint = Text(endpoint_text, style="inspector.muted")
            if not one_line:
                yield Text.assemble(Text(name, style="bold" if row.problem is None else "inspector.warning"), model,
                                    endpoint, overflow="fold")
            for number, ((text, style), width) in enumerate(zip(columns, widths, strict=True)):
                text = fit(text, width)
                shown = text.rjust(width) if number in numeric else text.ljust(width)
                line.append(shown, style=style)
                line.append("  ")
            if one_line:
                line.append(name)
                line.append_text(endpoint)
            line.rstrip()
            line.overflow = "ellipsis"
            line.no_wrap = True
            yield line
            if row.problem is not None:
                yield Padding(Text(visible(row.problem, one_line=True), style="inspector.muted", overflow="fold"),
                              (0, 0, 0, 2))


_HEADS = ("time (UTC)", "protocol", "model", "status", "events", "TTFT s", "total s", "verdict")
_MODEL = 2
_NUMERIC = frozenset({4, 5, 6})
_SHRINKABLE = ((2, 5), (1, 8), (3, 6))
"""(column, narrowest width): the model, protocol and status columns give way, in that order, on a narrow terminal."""
_SHRINKABLE_WITHOUT_MODEL = ((1, 9), (2, 6))
"""The same once the model has moved to the file's line: the protocol (to `openai-c…`, still not `openai-r…`), then
the status."""
_MODEL_LIMIT = 24


def _line(cells: Sequence[str], widths: Sequence[int], numeric: set[int]) -> str:
    cells = [fit(cell, width) for cell, width in zip(cells, widths, strict=True)]
    return "  ".join(cell.rjust(width) if number in numeric else cell.ljust(width)
                     for number, (cell, width) in enumerate(zip(cells, widths, strict=True))).rstrip()


def _cells(row: ListingRow) -> list[tuple[str, str | None]]:
    verdict = row.verdict + (f" {row.errors}E {row.warnings}W" if row.errors or row.warnings else "")
    if row.problem is not None:
        return [(_when(row.started), None), ("", None), ("", None), ("", None), ("", None), ("", None), ("", None),
                (verdict, _VERDICT_STYLE[row.verdict])]
    model = visible(row.model or "-", one_line=True)
    if len(model) > _MODEL_LIMIT:
        model = model[: _MODEL_LIMIT - 1] + "…"
    return [
        (_when(row.started), None), (row.protocol or "-", None), (model, None),
        (visible(_status(row), one_line=True), None),
        ("-" if row.events is None else str(row.events), None), (_seconds(row.ttft), None),
        (_seconds(row.duration), None), (verdict, _VERDICT_STYLE[row.verdict]),
    ]


def _when(moment: datetime | None) -> str:
    return "-" if moment is None else moment.astimezone(UTC).strftime("%m-%d %H:%M:%S")


def _status(row: ListingRow) -> str:
    """The final status; the HTTP status instead when it is not 2xx (then no stream came); `error` for an in-band
    error that no final status followed (the client left at it)."""
    if row.http_status is not None and not 200 <= row.http_status < 300:
        return f"HTTP {row.http_status}"
    return row.final_status or ("error" if row.api_error is not None else "-")


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"
