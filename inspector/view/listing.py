"""`ls`: one row per recording (time, endpoint, protocol, status, events, TTFT, duration, verdict), newest first,
so that a user finds the stream that went wrong.

Each file is read once, streaming, through the same pass as the viewer (`model.inspect`). A file that
cannot be read gets a row that says why instead of ending the listing.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from rich import box
from rich.console import Console, ConsoleOptions, RenderResult
from rich.table import Table
from rich.text import Text

from ..escape import visible
from ..inputs import InputError, expand, open_source, streams_in
from .model import StreamReport, inspect

UNREADABLE = "unreadable"
_VERDICT_STYLE = {"pass": "inspector.pass", "fail": "inspector.fail", UNREADABLE: "inspector.warning"}


@dataclass(frozen=True)
class ListingRow:
    path: str
    started: datetime | None
    endpoint: str | None = None
    protocol: str | None = None
    http_status: int | None = None
    final_status: str | None = None
    events: int | None = None
    ttft: float | None = None
    duration: float | None = None
    verdict: str = UNREADABLE
    errors: int = 0
    warnings: int = 0
    problem: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "path": self.path, "started_at": _iso(self.started), "endpoint": self.endpoint,
            "protocol": self.protocol, "http_status": self.http_status, "final_status": self.final_status,
            "events": self.events, "ttft": self.ttft, "duration": self.duration, "verdict": self.verdict,
            "errors": self.errors, "warnings": self.warnings, "problem": self.problem,
        }


def list_recordings(directory: str) -> list[ListingRow]:
    """A row for every recording or SSE file under `directory`, newest first (ties: by path)."""
    root = Path(directory)
    paths = [str(path) for path in streams_in(root)] if root.is_dir() else expand([directory])
    rows = [_row(path) for path in paths]
    oldest = datetime.min.replace(tzinfo=UTC)
    rows.sort(key=lambda row: row.path)
    rows.sort(key=lambda row: row.started or oldest, reverse=True)
    return rows


def _row(path: str) -> ListingRow:
    try:
        report = inspect(open_source(path))
    except InputError as error:
        return ListingRow(path, _modified(path), problem=str(error))
    return _from_report(path, report)


def _from_report(path: str, report: StreamReport) -> ListingRow:
    header = report.header
    return ListingRow(
        path=path,
        started=(_started(header.started_at) if header else None) or _modified(path),
        endpoint=_endpoint(header.request) if header else None,
        protocol=report.protocol,
        http_status=report.http_status,
        final_status=report.assembly.status,
        events=report.timing.events,
        ttft=report.timing.ttft,
        duration=report.timing.duration,
        verdict=report.verdict,
        errors=report.errors,
        warnings=report.warnings,
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
    url = request.get("url")
    if not isinstance(url, str):
        return None
    parts = urlsplit(url)
    return f"{parts.netloc}{parts.path}"


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


class RecordingTable:
    """The listing as a table, one row per stream; an unreadable file shows its reason instead.

    The last column holds the file (relative to `base`, the listed directory) over its endpoint, so that the
    table fits a 100-column terminal.
    """

    def __init__(self, rows: Sequence[ListingRow], base: str | None = None) -> None:
        self.rows = rows
        self.base = base

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        if not self.rows:
            yield Text("no recordings", style="inspector.muted")
            return
        table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, padding=(0, 1), collapse_padding=True)
        table.add_column("time (UTC)", no_wrap=True)
        table.add_column("protocol", no_wrap=True)
        table.add_column("status", no_wrap=True)
        table.add_column("events", justify="right", no_wrap=True)
        table.add_column("TTFT s", justify="right", no_wrap=True)
        table.add_column("total s", justify="right", no_wrap=True)
        table.add_column("verdict", no_wrap=True)
        table.add_column("stream", overflow="fold")
        for row in self.rows:
            relative = self.base is not None and os.path.isdir(self.base)
            stream = Text(visible(os.path.relpath(row.path, self.base) if relative else row.path, one_line=True))
            verdict = Text(row.verdict, style=_VERDICT_STYLE[row.verdict])
            if row.problem is not None:
                stream.append(f"\n{visible(row.problem, one_line=True)}", style="inspector.muted")
                table.add_row(_when(row.started), "", "", "", "", "", verdict, stream)
                continue
            if row.endpoint:
                stream.append(f"\n{visible(row.endpoint, one_line=True)}", style="inspector.muted")
            if row.errors or row.warnings:
                verdict.append(f" {row.errors}E {row.warnings}W", style="inspector.muted")
            table.add_row(
                _when(row.started), row.protocol or "-", _status(row), "-" if row.events is None else str(row.events),
                _seconds(row.ttft), _seconds(row.duration), verdict, stream,
            )
        yield table


def _when(moment: datetime | None) -> str:
    return "-" if moment is None else moment.astimezone(UTC).strftime("%m-%d %H:%M:%S")


def _status(row: ListingRow) -> str:
    """The final status; the HTTP status instead when it is not 2xx (then no stream came)."""
    if row.http_status is not None and not 200 <= row.http_status < 300:
        return f"HTTP {row.http_status}"
    return row.final_status or "-"


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"
