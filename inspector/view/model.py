"""One pass over a stream for the viewer: what it said (Assembly), what is wrong (findings), when (Timing).

`inspect(source)` feeds every chunk to the source's `StreamCheck` and every event it returns to a
`TimingRecorder`; events and raw chunks are kept only when the caller asks for them (`view --events`,
`view --raw`). `Inspection` does the same one chunk at a time, for a recording still being written
(`view --follow`, the live panel of `record`). The result, a `StreamReport`, is plain data: the renderables in
`inspector.view` and the JSON shape of `view --json` (docs/recording.md) are both built from it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..findings import Finding, Tally
from ..inputs import Source, stream_check
from ..protocols.base import Assembly, Output
from ..recording import Chunk, ChunkRun, End, Header
from ..redact import Policy
from ..sse import Event
from ..timing import Timing, TimingRecorder
from .exchange import BODY_LIMIT, Exchange, exchange_of, is_streamed
from .summary import summarize


@dataclass(frozen=True, slots=True)
class EventRow:
    """One event as `view --events` shows it; the summary, not the data, is kept (it stays small)."""

    index: int
    t: float | None
    gap: float | None
    type: str
    summary: str

    @classmethod
    def of(cls, event: Event, gap: float | None) -> EventRow:
        return cls(event.index, event.t, gap, event.type, summarize(event.type, event.data))

    def to_json(self) -> dict[str, Any]:
        gap = None if self.gap is None else round(self.gap, 6)
        return {"index": self.index, "t": self.t, "gap": gap, "event": self.type, "summary": self.summary}


@dataclass
class StreamReport(Tally):
    """Everything the viewer shows about one stream."""

    name: str
    header: Header | None
    protocol: str
    assembly: Assembly
    findings: list[Finding]
    timing: Timing
    end: End | None
    events: list[EventRow] | None = None
    chunks: list[Chunk] | None = None
    outputs: list[Output] = field(default_factory=list)
    body: bytes | None = None
    """The body of a non-streamed answer (a 401 or 429 JSON error), at most `BODY_LIMIT` bytes."""

    @property
    def exchange(self) -> Exchange | None:
        """The request and response around the stream; None for a raw SSE body (it has neither)."""
        return None if self.header is None else exchange_of(self.header, self.body)

    @property
    def verdict(self) -> str:
        return "fail" if self.errors else "pass"

    @property
    def http_status(self) -> int | None:
        return self.header.status if self.header else None

    @property
    def url(self) -> str | None:
        """The request URL with secrets redacted (again: a recording written elsewhere may hold them)."""
        url = self.header.url if self.header else None
        return Policy().url(url) if isinstance(url, str) else None

    @property
    def request_line(self) -> str:
        """`POST https://…` with the URL redacted (`url`), or `raw SSE stream`: what each view shows first."""
        method = self.header.request.get("method") if self.header else None
        return " ".join(str(part) for part in (method, self.url) if part) or "raw SSE stream"

    @property
    def model(self) -> str | None:
        """The model the stream named, else the one the request asked for."""
        if self.assembly.model:
            return self.assembly.model
        body = self.header.request.get("body") if self.header else None
        model = body.get("model") if isinstance(body, dict) else None
        return model if isinstance(model, str) else None

    def to_json(self) -> dict[str, Any]:
        """The `view --json` document: the documented keys first, then extras (`choices`, `verdict`, ...)."""
        assembly = self.assembly
        request = self.header.request if self.header else {}
        return {
            "protocol": self.protocol,
            "status": assembly.status,
            "text": assembly.text,
            "reasoning": assembly.reasoning,
            "tool_calls": [call.to_json() for call in assembly.tool_calls],
            "usage": assembly.usage,
            "timing": self.timing.to_json(),
            "findings": [finding.to_json() for finding in self.findings],
            "path": self.name,
            "model": self.model,
            "response_id": assembly.response_id,
            "http_status": self.http_status,
            "method": request.get("method"),
            "url": self.url,
            "verdict": self.verdict,
            "errors": self.errors,
            "warnings": self.warnings,
            "refusal": assembly.outputs[0].refusal if 0 in assembly.outputs else "",
            "error": assembly.error,
            "details": assembly.details,
            "end": None if self.end is None else {"t": self.end.t, "reason": self.end.reason, "error": self.end.error},
            "choices": [_output_json(output) for output in self.outputs],
            **(self.exchange.to_json() if self.header is not None else {"request": None, "response": None}),
            **({} if self.events is None else {"events": [row.to_json() for row in self.events]}),
        }


def _output_json(output: Output) -> dict[str, Any]:
    return {
        "index": output.index, "text": output.text, "reasoning": output.reasoning, "refusal": output.refusal,
        "tool_calls": [call.to_json() for call in output.tool_calls], "finish_reason": output.finish_reason,
    }


class Inspection:
    """A stream read one chunk at a time: `feed` each chunk (its events come back), then `finish` once."""

    def __init__(self, name: str, header: Header | None, protocol: str | None = None, *, keep_events: bool = False,
                 keep_chunks: bool = False) -> None:
        self.name = name
        self.header = header
        self.check = stream_check(header, protocol)
        self.timer = TimingRecorder()
        self.rows: list[EventRow] | None = [] if keep_events else None
        self.chunks: list[Chunk] | None = [] if keep_chunks else None
        self.body = None if header is None or is_streamed(header) else bytearray()

    def feed(self, chunk: Chunk | ChunkRun) -> list[Event]:
        """One chunk, or a run of chunks read together (fed to the checker in one call)."""
        for t, piece in chunk.timed():
            self.timer.chunk(t, len(piece))
        if self.chunks is not None:
            self.chunks.extend(chunk.chunks())
        if self.body is not None and len(self.body) < BODY_LIMIT:
            self.body += chunk.data[: BODY_LIMIT - len(self.body)]
        events = chunk.fed_to(self.check)
        for event in events:
            gap = self.timer.event(event)
            if self.rows is not None:
                self.rows.append(EventRow.of(event, gap))
        self.timer.first_token(self.check.assembly.first_content_index)
        return events

    def finish(self, end: End | None) -> StreamReport:
        """The report; `end` is the recording's end line (None: a raw body, or a recording cut short)."""
        check = self.check
        ended_at = end.t if end else None
        check.close(end.reason if end else None, broken_by=end.broken_by if end else None, ended_at=ended_at)
        assembly = check.assembly
        self.timer.first_token(assembly.first_content_index)
        timing = self.timer.finish(ended_at, assembly.usage)
        outputs = [assembly.outputs[index] for index in sorted(assembly.outputs)]
        if check.events and check.status is not None and 200 <= check.status < 300:
            self.body = None  # a body of events is a stream, whatever its content type said (the findings say it)
        return StreamReport(
            name=self.name, header=self.header, protocol=check.protocol or "generic", assembly=assembly,
            findings=list(check.findings), timing=timing, end=end, events=self.rows, chunks=self.chunks,
            outputs=outputs, body=None if self.body is None else bytes(self.body),
        )


def inspect(source: Source, protocol: str | None = None, *, keep_events: bool = False,
            keep_chunks: bool = False) -> StreamReport:
    """Read `source` once: check it, time it, and keep events or chunks only if asked."""
    inspection = Inspection(source.name, source.header, protocol, keep_events=keep_events, keep_chunks=keep_chunks)
    for piece in source.pieces():
        inspection.feed(piece)
    return inspection.finish(source.end)
