"""The end of a recorded stream: why it ended, the validator's verdict, and the live line.

Runs once per stream after its body is over, reading the recording back (the same code path as
`sse-inspector validate`), in a child process of the proxy (`verdict_process.py`), so nothing of it sits on the
proxy's per-chunk path nor holds the proxy's GIL while other streams are live. Whether a stream is complete is
judged from its events first and from the proxy's hooks second: the openai SDK closes the connection right
after `[DONE]`, which mitmproxy reports as a client disconnect, yet that stream is complete.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass

from ..escape import visible
from ..findings import Finding, Severity, Tally
from ..inputs import open_source
from ..recording import ENDED_BEFORE_TERMINAL, Chunk, ChunkRun, End
from ..timing import STALL_SECONDS, FirstTokenClock
from ..wording import plural
from .stream import Ending, StreamRecording

_FIRST_STEP = 8
"""Chunks of a run fed at a time until the first token is timed."""

# fmt: off
_REASON_BY_ENDING = {
    "client":   "client-disconnected",
    "upstream": "upstream-closed",
    "error":    "error",
    "stopped":  "error",
}
# fmt: on
_NOT_FAILED = ("complete", "client-disconnected")
"""End reasons that fail no stream by themselves (the live line's count says how it ended)."""


@dataclass(frozen=True, slots=True)
class StreamResult(Tally):
    """What the live line shows about one finished stream."""

    path: str
    started: float
    method: str
    url_path: str
    protocol: str
    status: int | None
    events: int
    ttft: float | None
    reason: str
    error: str | None
    findings: tuple[Finding, ...]
    model: str | None = None
    """The model the stream named."""
    whole: bool = False
    """The protocol's last event came (a connection broken after it is a break, not a cut)."""
    silent_for: float | None = None
    """Seconds the server had sent nothing when a stream it did not end ended (a stall the app gave up on: Mistral
    Vibe waited 30 s for the rest of a tool call, then the user pressed Ctrl-C), when a stall's worth."""
    api_error: str | None = None
    """The message of an in-band error event: a stream can be right and still carry the API's refusal (Kilo Code
    retried a quota error for 70 s while every line said `ok`)."""

    @property
    def failed(self) -> bool:
        """An error finding, or a stream the server or the recorder did not finish; one the client left is not a
        failure (`validate` says only `sse/not-ended-by-server`, a warning: the server was never told to finish)."""
        return self.errors > 0 or self.reason not in _NOT_FAILED

    def line(self) -> str:
        """`12:04:31  POST /v1/responses  openai-responses  200  58 events  TTFT 412 ms  ok`, on one line."""
        clock = time.strftime("%H:%M:%S", time.localtime(self.started))
        status = "---" if self.status is None else str(self.status)
        silent = f", {self.silent_for:.1f} s after the server's last bytes" if self.silent_for is not None else ""
        cut = f"cut after {plural(self.events, 'event')} ({self.reason}{silent})"
        count = (plural(self.events, "event") if self.reason == "complete" or self.whole else
                 "no response" if self.status is None else cut)
        parts = [clock, f"{self.method} {self.url_path}", self.protocol, status, count]
        if self.api_error is not None:
            parts.append(f"in-band error: {_shorten(self.api_error, 60)}")
        if self.ttft is not None:
            parts.append(f"TTFT {self.ttft * 1000:.0f} ms")
        parts.append(self.verdict())
        return visible("  ".join(parts), one_line=True)  # the path, a tool name in a message: shown, never obeyed

    def verdict(self) -> str:
        """`ok`, or `FAIL` and why: the error count and first error, or how the stream was cut."""
        tally = ", ".join(plural(count, word) for count, word in ((self.errors, "error"), (self.warnings, "warning"))
                          if count)
        if self.status is None and self.error:  # no response at all: why is the whole story
            return f"FAIL {_shorten(self.error)}"
        if self.errors:
            first = next(finding for finding in self.findings if finding.severity is Severity.ERROR)
            return f"FAIL {tally}  {first.rule}: {_shorten(first.message)}"
        if self.reason not in _NOT_FAILED:
            return f"FAIL {self.error or self.reason}" + (f" ({tally})" if tally else "")
        return f"ok ({tally})" if tally else "ok"


@dataclass(frozen=True, slots=True)
class Finished:
    """What the verdict needs of a finished recording: small and picklable, so a child process can judge it."""

    path: str
    started: float
    ended_at: float
    summary: dict
    ending: Ending
    failure: str | None

    @classmethod
    def of(cls, recording: StreamRecording, ending: Ending) -> Finished:
        return cls(str(recording.path), recording.started, recording.end_time(), recording.summary, ending,
                   recording.failure)


def judge(finished: Finished) -> StreamResult:
    """Validate the finished recording and say how it went. Reads only the file (the same code path as
    `sse-inspector validate`), so it runs in any process; the end line is the caller's (`write_end`)."""
    source = open_source(finished.path)
    check = source.check(None)
    clock = FirstTokenClock()
    for piece in source.pieces():
        for part in _until_first_token(piece, clock):
            events = part.fed_to(check)
            if clock.index is None:
                for event in events:
                    clock.event(event)
                clock.first_token(check.assembly.first_content_index)
                check.events_wanted = clock.index is None  # then the fast path may take chunks without events
    summary = finished.summary
    status = summary["status"]
    # a non-2xx body is not read as events (`http/error-status`), nor a 2xx one that said it is something else and
    # held none (a JSON answer to `stream: true`): neither has a terminal event to wait for
    expects_terminal = (bool(summary.get("sse")) and check.checker is not None
                        and status is not None and 200 <= status < 300 and not check.not_a_stream)
    assembly = check.assembly
    terminal_seen = assembly.ended and not (assembly.end_may_follow and finished.ending.kind == "client")
    reason, error = end_reason(finished.ending, finished.failure, terminal_seen, expects_terminal)
    findings = check.close(reason, broken_by=End(None, reason, error).broken_by, ended_at=finished.ended_at)
    silence = finished.ended_at - check.last_chunk_at if check.last_chunk_at is not None else 0.0
    clock.first_token(check.assembly.first_content_index)
    return StreamResult(
        path=finished.path, started=finished.started, method=summary["method"], url_path=summary["path"],
        protocol=check.protocol or "generic", status=status, events=check.events, ttft=clock.ttft,
        reason=reason, error=error, findings=tuple(findings), model=check.assembly.model,
        whole=check.assembly.ended, api_error=check.assembly.error,
        silent_for=silence if silence >= STALL_SECONDS and reason not in ("complete", "upstream-closed") else None,
    )


def _until_first_token(piece: Chunk | ChunkRun, clock: FirstTokenClock) -> Iterator[Chunk | ChunkRun]:
    """`piece` a few chunks at a time while `clock` waits for the first token (its events are needed until then),
    then the rest of it at once."""
    while clock.index is None and isinstance(piece, ChunkRun) and len(piece.texts) > _FIRST_STEP:
        part, piece = piece.split(_FIRST_STEP)
        yield part
    yield piece


def write_end(recording: StreamRecording, result: StreamResult) -> None:
    """The recording's end line, with the verdict's end reason."""
    recording.writer.end(recording.end_time(), result.reason, result.error)


def conclude(recording: StreamRecording, ending: Ending) -> StreamResult:
    """Judge the finished recording in this process and write its end line."""
    result = judge(Finished.of(recording, ending))
    write_end(recording, result)
    return result


def end_reason(
    ending: Ending, failure: str | None, terminal_seen: bool, expects_terminal: bool
) -> tuple[str, str | None]:
    """The recording's end reason and error from the proxy's view, the recorder's own state and the events.

    `expects_terminal`: an event stream of a protocol that ends with a terminal event (a JSON error body or a
    generic stream has none, so a body that ended normally is complete).
    """
    if failure is not None:
        return "error", failure
    if terminal_seen:  # a body broken after it is a break all the same: clients that read to the end raise
        return ("upstream-closed", ending.error) if ending.kind == "upstream" else ("complete", None)
    if ending.kind == "response":
        if expects_terminal:
            return "upstream-closed", ENDED_BEFORE_TERMINAL
        return "complete", None
    return _REASON_BY_ENDING[ending.kind], ending.error


def _shorten(text: str, limit: int = 100) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
