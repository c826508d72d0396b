"""A recording read while it is still being written (`view --follow`, the live panel of `record`).

`GrowingFile` hands out what has been appended since the last look, complete lines only (the writer may be
half-way through one). `Follower` feeds it to an `Inspection`, the same pass `view` makes over a whole file,
so the view at the end is exactly the one `view` prints. Nothing here sleeps or blocks: the caller decides how
often to look.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from ..inputs import InputError
from ..recording import Chunk, End, RecordingError, iter_body, read_header
from ..sse import Event
from ..timing import output_tokens, per_second
from .exchange import RequestFacts, exchange_of
from .model import Inspection, StreamReport

_READ_SIZE = 256 * 1024


class GrowingFile:
    """The lines appended to a file since the last `read` (raw SSE: its new bytes), without blocking."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        try:
            self._file = open(self.path, "rb")  # noqa: SIM115  (closed by `close`)
        except OSError as error:
            raise InputError(f"{path}: {error.strerror or error}") from None
        self._pending = b""
        self.lines_read = 0

    def read_lines(self) -> list[bytes]:
        """The complete lines appended since the last call (each with its newline)."""
        data = self._pending + self._read()
        cut = data.rfind(b"\n") + 1
        self._pending = data[cut:]
        lines = data[:cut].splitlines(keepends=True)  # NOTE: JSON Lines: a raw CR cannot occur inside a line
        self.lines_read += len(lines)
        return lines

    def read_bytes(self) -> bytes:
        data, self._pending = self._pending + self._read(), b""
        return data

    def _read(self) -> bytes:
        blocks = []
        while block := self._file.read(_READ_SIZE):
            blocks.append(block)
        return b"".join(blocks)

    def close(self) -> None:
        self._file.close()


@dataclass(frozen=True, slots=True)
class Progress:
    """What a live display shows about a stream in flight."""

    name: str
    protocol: str | None
    model: str | None
    method: str | None
    path: str | None
    events: int
    ttft: float | None
    elapsed: float | None
    text: str
    characters: int
    output_tokens: int | None

    @property
    def tokens_per_s(self) -> tuple[float, bool] | None:
        """(rate, exact): from the usage when the stream reported it, else estimated at four characters a token."""
        if self.ttft is None or self.elapsed is None or self.elapsed <= self.ttft:
            return None
        exact = self.output_tokens is not None
        rate = per_second(self.output_tokens if exact else self.characters / 4, self.elapsed - self.ttft)
        return None if rate is None else (rate, exact)


class Follower:
    """One recording (or raw SSE file) followed as it grows: call `poll` now and then, `finish` at the end.

    `done` turns true with the recording's end line (a raw SSE file has none: it is done once its protocol's
    terminal event came).
    """

    def __init__(self, path: str, protocol: str | None = None, *, keep_events: bool = False,
                 keep_chunks: bool = False) -> None:
        self.name = path
        self.protocol = protocol
        self.keep_events = keep_events
        self.keep_chunks = keep_chunks
        self.file = GrowingFile(path)
        self.inspection: Inspection | None = None
        self.raw = False
        self.end: End | None = None
        self._asked: RequestFacts | None = None
        self.elapsed: float | None = None
        """Seconds since the request, as of the last chunk read (None for a raw body)."""

    @property
    def done(self) -> bool:
        if self.raw:
            return self.inspection is not None and self.inspection.check.assembly.ended
        return self.end is not None

    def poll(self) -> list[Event]:
        """Read what was appended and return the events it completed. Raises InputError for a broken file."""
        if self.raw:
            return self._feed_raw(self.file.read_bytes())
        lines = self.file.read_lines()
        if self.inspection is None:
            if not lines:
                return []
            try:
                header = read_header(lines[0], self.name)
            except RecordingError as error:
                raise InputError(str(error)) from None
            self.inspection = Inspection(self.name, header, self.protocol, keep_events=self.keep_events,
                                         keep_chunks=self.keep_chunks)
            if header is None:  # a raw SSE body being written: its bytes as they come
                self.raw = True
                return self._feed_raw(b"".join(lines) + self.file.read_bytes())
            lines = lines[1:]
        events: list[Event] = []
        try:
            for item in iter_body(lines, self.name, self.file.lines_read - len(lines) + 1):
                if isinstance(item, End):
                    self.end = item
                    self.elapsed = item.t
                else:
                    self.elapsed = item.t if item.t is not None else self.elapsed
                    events += self.inspection.feed(item)
        except RecordingError as error:
            raise InputError(str(error)) from None
        return events

    def _feed_raw(self, data: bytes) -> list[Event]:
        return self.inspection.feed(Chunk(None, data)) if data and self.inspection else []

    def progress(self) -> Progress:
        """Where the stream is: events so far, time to first token, the text so far."""
        inspection = self.inspection
        if inspection is None:
            return Progress(self.name, None, None, None, None, 0, None, None, "", 0, None)
        header, check = inspection.header, inspection.check
        assembly = check.assembly
        outputs = list(assembly.outputs.values())
        characters = sum(len(output.text) + len(output.reasoning) + sum(len(call.arguments)
                                                                         for call in output.tool_calls)
                         for output in outputs)
        if self._asked is None and header is not None:
            self._asked = exchange_of(header).request
        request = header.request if header else {}
        asked = self._asked.model if self._asked else None
        return Progress(
            name=self.name, protocol=check.protocol, model=assembly.model or asked,
            method=request.get("method"), path=header.path if header else None, events=check.events,
            ttft=inspection.timer.ttft, elapsed=self.elapsed, text=outputs[0].text if outputs else "",
            characters=characters, output_tokens=output_tokens(assembly.usage),
        )

    def finish(self) -> StreamReport:
        """The report of what was read (the whole view, as `view` shows it); closes the file."""
        self.file.close()
        if self.inspection is None:
            raise InputError(f"{self.name}:1: empty")
        return self.inspection.finish(self.end)
