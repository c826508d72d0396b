"""Incremental Server-Sent Events parser, exact to the WHATWG event-stream rules.

https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation

Two small steps, one job each: `LineSplitter` turns byte chunks into complete lines (split on bytes, so a
multi-byte character cut between chunks costs nothing), `SSEParser` turns lines into events. The parser knows
nothing about any protocol: it reports what the wire says, and notes where the wire broke the format
(`problems`, `unterminated`) so the validator can name the rule.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

_LINE_END = re.compile(rb"\r\n|\r|\n")
_BOM = "\ufeff"


@dataclass(frozen=True, slots=True)
class Event:
    """One dispatched SSE event."""

    index: int
    """0-based position among the dispatched events of the stream."""
    type: str
    """The `event:` field, or "message" when the block had none."""
    data: str
    """The `data:` lines joined with LF."""
    id: str | None
    """The last event id at dispatch time (it persists across events), None when never set or reset."""
    offset: int
    """Byte offset in the stream where the event's first line starts."""
    t: float | None
    """Time of the chunk that completed the event (None for inputs without times)."""


@dataclass(frozen=True, slots=True)
class Problem:
    """A place where the bytes broke the event-stream format."""

    kind: str
    """"invalid-utf8" or "unterminated-event"."""
    offset: int
    """Byte offset of the offending line."""
    index: int
    """Index the next event would get: the problem sits in or before that event."""
    detail: str


class LineSplitter:
    """Turns byte chunks into complete lines (terminators removed), each with its byte offset.

    Lines end with CRLF, LF or CR (spec: "end-of-line"). Never `splitlines()`, which also breaks on U+2028 and
    friends. A CR at the end of a chunk is a complete line end; an LF at the start of the next chunk then
    belongs to it (`_skip_lf`).
    """

    __slots__ = ("_buffer", "_offset", "_skip_lf")

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._offset = 0  # stream offset of the first byte in _buffer
        self._skip_lf = False

    def feed(self, chunk: bytes) -> list[tuple[int, bytes]]:
        if self._skip_lf and chunk:
            self._skip_lf = False
            if chunk[:1] == b"\n":
                chunk = chunk[1:]
                self._offset += 1
        if b"\n" not in chunk and b"\r" not in chunk:
            # NOTE: no line end in this chunk: just keep it. Each byte is appended once and scanned at most
            # twice, so a long line arriving in many small chunks stays linear.
            self._buffer += chunk
            return []
        buffer = self._buffer
        buffer += chunk
        offset = self._offset
        lines: list[tuple[int, bytes]] = []
        if b"\r" not in buffer:
            *complete, rest = bytes(buffer).split(b"\n")
            for line in complete:
                lines.append((offset, line))
                offset += len(line) + 1
        else:
            data = bytes(buffer)
            start = 0
            for match in _LINE_END.finditer(data):
                lines.append((offset + start, data[start : match.start()]))
                start = match.end()
            rest = data[start:]
            offset += start
            if data.endswith(b"\r"):
                self._skip_lf = True  # the CR ended a line; an LF that follows is part of that line end
        self._buffer = bytearray(rest)
        self._offset = offset
        return lines

    @property
    def pending(self) -> tuple[int, bytes]:
        """The incomplete last line (its offset and bytes)."""
        return self._offset, bytes(self._buffer)


class SSEParser:
    """Feed byte chunks, get the events they complete; `close()` at the end of the stream.

    After `close()`, `unterminated` holds the event that a final block without its blank line would have
    been: a conformant client never dispatches it.
    """

    def __init__(self) -> None:
        self._lines = LineSplitter()
        self._index = 0
        self._data: list[str] = []
        self._type = ""
        self._last_id = ""
        self._block_offset: int | None = None
        self._at_start = True
        self.problems: list[Problem] = []
        self.unterminated: Event | None = None
        self.bytes_seen = 0

    def feed(self, chunk: bytes, t: float | None = None) -> list[Event]:
        self.bytes_seen += len(chunk)
        events: list[Event] = []
        for offset, raw in self._lines.feed(chunk):
            event = self._line(offset, raw, t)
            if event is not None:
                events.append(event)
        return events

    def close(self, t: float | None = None) -> list[Event]:
        """End of stream. Spec: "any pending data must be discarded"; we keep it aside as `unterminated`."""
        offset, raw = self._lines.pending
        if raw:
            self._line(offset, raw, t, dispatch=False)
        if self._data:
            data = "\n".join(self._data)
            self.unterminated = Event(
                self._index, self._type or "message", data, self._last_id or None, self._block_start(offset), t
            )
            self.problems.append(
                Problem("unterminated-event", self._block_start(offset), self._index,
                        "the stream ended inside an event: no blank line closed it")
            )
        self._data = []
        return []

    def _block_start(self, fallback: int) -> int:
        return fallback if self._block_offset is None else self._block_offset

    def _line(self, offset: int, raw: bytes, t: float | None, dispatch: bool = True) -> Event | None:
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError as error:
            line = raw.decode("utf-8", errors="replace")
            self.problems.append(
                Problem("invalid-utf8", offset, self._index,
                        f"byte {offset + error.start} is not valid UTF-8; decoded as U+FFFD")
            )
        if self._at_start:
            self._at_start = False
            if line.startswith(_BOM):  # spec: one leading U+FEFF is ignored
                line = line[1:]
        if not line:
            return self._dispatch(t) if dispatch else None
        if self._block_offset is None:
            self._block_offset = offset
        if line[0] == ":":  # spec: a comment
            return None
        name, colon, value = line.partition(":")
        if colon and value[:1] == " ":  # spec: one leading space after the colon is dropped
            value = value[1:]
        if name == "data":
            self._data.append(value)
        elif name == "event":
            self._type = value
        elif name == "id" and "\0" not in value:  # NOTE: spec: an id containing NUL is ignored
            self._last_id = value
        # NOTE: "retry" only steers reconnection, and unknown fields are ignored by the spec.
        return None

    def _dispatch(self, t: float | None) -> Event | None:
        offset = self._block_offset
        self._block_offset = None
        event_type, self._type = self._type, ""
        if not self._data:  # spec: a block whose data buffer is empty dispatches nothing
            return None
        data = "\n".join(self._data)
        self._data = []
        event = Event(self._index, event_type or "message", data, self._last_id or None, offset or 0, t)
        self._index += 1
        return event


def parse_chunks(chunks: Iterable[tuple[float | None, bytes]]) -> Iterator[Event]:
    """Events of a whole stream given as (time, bytes) chunks. Problems are lost: use SSEParser to keep them."""
    parser = SSEParser()
    for t, chunk in chunks:
        yield from parser.feed(chunk, t)
    yield from parser.close()
