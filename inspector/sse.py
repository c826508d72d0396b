"""Incremental Server-Sent Events parser, exact to the WHATWG event-stream rules.

https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation

Two small steps, one job each: `LineSplitter` turns byte chunks into complete lines (split on bytes, so a
multi-byte character cut between chunks costs nothing), `SSEParser` turns lines into events. The parser knows
nothing about any protocol: it reports what the wire says, and notes where the wire broke the format
(`problems`, `unterminated`) so the validator can name the rule.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import accumulate

import msgspec

_LINE_END = re.compile(rb"\r\n|\r|\n")
_BOM = b"\xef\xbb\xbf"
_STRAY_LIMIT = 1000
_STRAY_LINE = 4096
_LONG_LINE = 65536
_LINE_ENDS = {  # (no CR, no LF) in a chunk -> its line end, blank line and a data line's start after a line
    (True, False): (b"\n", b"\n\n", b"\ndata: "),
    (False, True): (b"\r", b"\r\r", b"\rdata: "),
    (False, False): (b"\r\n", b"\r\n\r\n", b"\r\ndata: "),
}
"""How `SSEParser._feed_events` reads the usual events of a chunk with one kind of line end (a chunk of CRLF lines
with a lone CR or LF in a line stops there: the line loop reads the rest)."""
_BULK_LIMIT = 1 << 20
"""Bytes of a chunk above which its events are left to the line loop: `_feed_events` copies what it reads."""
_NAMES = 64
"""Event names a parser keeps decoded (`event: T` lines as they come, to their names)."""


def _line_ends(chunk: bytes) -> tuple[bytes, bytes, bytes] | None:
    """The chunk's entry in `_LINE_ENDS`, looked for once per chunk; None for a chunk with no line end at all."""
    return _LINE_ENDS.get((13 not in chunk, 10 not in chunk))


class Event(msgspec.Struct, gc=False):
    """One dispatched SSE event. A struct built in C: a dataclass's `__init__` is a Python call, which cost every
    event about twice as many instructions again (callgrind)."""

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
    named_message: bool = False
    """The block gave the default name itself (`event: message`): clients that test for an `event:` line tell it
    from a block without one (the anthropic SDKs read its data, and skip a frame without a name)."""


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
    """Turns byte chunks into complete lines (terminators removed) and the length of each line's terminator.

    Lines end with CRLF, LF or CR (spec: "end-of-line"). Never `str.splitlines()`, which also breaks on U+2028
    and friends. A CR at the end of a chunk is a complete line end; an LF at the start of the next chunk then
    belongs to it (`_skip_lf`). An incomplete line waits in `_pending` as a list of pieces, joined once when its
    end arrives, so a long line in many small chunks stays linear.
    """

    __slots__ = ("_pending", "_skip_lf", "skipped")

    def __init__(self) -> None:
        self._pending: list[bytes] = []
        self._skip_lf = False
        self.skipped = 0
        """LF bytes dropped as the second half of a CRLF cut between chunks (they count for offsets): `feed`
        then gives one terminator length per line, so the parser takes its slow path, which reads this."""

    def feed(self, chunk: bytes) -> tuple[list[bytes], int | list[int]]:
        """The lines the chunk completes, and their terminators' length: one int when all are alike (the
        common case, kept apart because it is the fast one), else one per line."""
        # NOTE: `13 in chunk` (an int) is a memchr; `b"\r" in chunk` costs ten times more on a short chunk.
        if self._skip_lf and chunk:
            self._skip_lf = False
            if chunk[0] == 10:
                return self._feed_after_crlf(chunk[1:])
        if self._pending:
            self._pending.append(chunk)
            if 10 not in chunk and 13 not in chunk:
                return [], 1
            chunk = b"".join(self._pending)
            self._pending = []
        if 13 not in chunk:
            lines = chunk.split(b"\n")
            ends: int | list[int] = 1
        elif 10 not in chunk:  # CR only
            lines = chunk.split(b"\r")
            ends = 1
            self._skip_lf = chunk[-1] == 13  # the CR ended a line; an LF right after belongs to it
        else:  # NOTE: inline, not a method: one event per chunk of a CRLF stream (Gemini) pays no extra call
            # `bytes.splitlines` breaks on CRLF, lone CR and lone LF (`str.splitlines` also on U+2028 and friends) in
            # one pass, faster than `split(b"\r\n")`, whose two-byte search has no memchr
            lines = chunk.splitlines()
            last = chunk[-1]
            if last == 10 or last == 13:
                lines.append(b"")  # the empty rest after a final line end, which `splitlines` leaves out
            removed = len(chunk) - len(b"".join(lines))  # terminator bytes: 2 per CRLF, 1 per lone CR or LF
            if removed == 2 * (len(lines) - 1):  # CRLF only (a final CR cut from its LF counts 1: mixed)
                ends = 2
            elif removed == len(lines) - 1:  # lone CRs and LFs, no CRLF
                ends = 1
                self._skip_lf = last == 13  # the CR ended a line; an LF right after belongs to it
            else:  # CRLF beside lone CRs or LFs: the rare path
                lines, ends = self._split_mixed(chunk)
        rest = lines.pop()
        if rest:
            self._pending.append(rest)
        return lines, ends

    def _feed_after_crlf(self, chunk: bytes) -> tuple[list[bytes], list[int]]:
        """The chunk after a CRLF cut between chunks, its LF dropped: lengths per line, so the parser
        takes its slow path, which counts the dropped byte (`skipped`) for offsets."""
        self.skipped += 1
        lines, ends = self.feed(chunk)
        return lines, [ends] * len(lines) if ends.__class__ is int else ends

    def _split_mixed(self, chunk: bytes) -> tuple[list[bytes], list[int]]:
        lines, ends = [], []
        start = 0
        for match in _LINE_END.finditer(chunk):
            lines.append(chunk[start : match.start()])
            ends.append(match.end() - match.start())
            start = match.end()
        lines.append(chunk[start:])
        self._skip_lf = chunk[-1] == 13  # the CR ended a line; an LF right after belongs to it
        return lines, ends

    @property
    def pending(self) -> bytes:
        """The incomplete last line."""
        return b"".join(self._pending)


class SSEParser:
    """Feed byte chunks, get the events they complete; `close()` at the end of the stream.

    After `close()`, `unterminated` holds the event that a final block without its blank line would have
    been: a conformant client never dispatches it.
    """

    def __init__(self) -> None:
        self._lines = LineSplitter()
        self._offset = 0  # stream offset of the next line
        self._index = 0
        self._data: list[str] = []
        self._type = ""
        self._last_id = ""
        self._block: int | None = None
        self._at_start = True
        self._dispatched: list[int] | None = None
        """When a list, `_process` and `_feed_events` add the offset of the blank line that dispatched each event
        (`_feed_together`)."""
        self._names: dict[bytes, tuple[str, bool]] = {}
        """`event: T` lines `_feed_events` has read, to their event's type and `named_message`: a stream names its
        events with a few names over and over."""
        self.problems: list[Problem] = []
        self.unterminated: Event | None = None
        self.stray: list[tuple[int, str]] = []
        """Lines that are no SSE field (a bare `{`, a JSON error written into the stream), with the index the next
        event would get: the spec ignores them, a protocol may not (the first `_STRAY_LIMIT`, each cut short)."""
        self.unusual: dict[str, int] = {}
        """Valid SSE lines that clients reading only `data: ` lines choke on, by kind (`comment`, `retry`, `data`
        without its space, `event: message`, whose events look like unnamed ones, and `bom`, the byte order mark the
        spec drops), with the index the next event would get at the first of each kind."""

    def feed(self, chunk: bytes, t: float | None = None) -> list[Event]:
        if self.between_events():
            event = self._whole_event(chunk, t)  # maybe a chunk of exactly one usual event
            if event is not None:
                return [event]
            return self._feed_events(chunk, t, 0, _line_ends(chunk))
        ends = _line_ends(chunk)
        if ends is not None and (self._block is not None or self._lines._pending):  # an event under way: to its end
            blank = ends[1]
            end = chunk.find(blank) + len(blank)
            if len(blank) <= end < len(chunk):
                events = self._feed_lines(chunk[:end], t)
                # NOTE: an LF after a CR that ended a blank line makes one more blank line between events: no change
                self._lines._skip_lf = False
                return events + (self._feed_events(chunk, t, end, ends) if self.between_events()
                                 else self._feed_lines(chunk[end:], t))
        return self._feed_lines(chunk, t)

    def _feed_events(self, chunk: bytes, t: float | None, start: int,
                     ends: tuple[bytes, bytes, bytes] | None) -> list[Event]:
        """`chunk[start:]`, read between events: its leading run of usual events (`event: T` or none, one `data: X`,
        a blank line, all with the chunk's one kind of line end) split apart in C, then the rest by the line loop. A
        network chunk of a fast stream holds many events, and the line loop takes a Python iteration per line (three
        for a named event), this one per event (callgrind: a quarter to a third fewer instructions). `ends`: the
        chunk's `_line_ends`."""
        stop = -1 if ends is None or len(chunk) > _BULK_LIMIT else chunk.rfind(ends[1], start)
        if stop <= start:
            return self._feed_lines(chunk[start:] if start else chunk, t)
        line_end, blank, data_line = ends
        step, names = len(blank), self._names
        events: list[Event] = []
        append, index, last_id, dispatched = events.append, self._index, self._last_id or None, self._dispatched
        offset = self._offset - start  # the stream offset of the chunk's first byte
        for block in chunk[start:stop].split(blank):
            if block[:6] == b"data: ":
                kind, named, data = "message", False, block[6:]
            else:
                head, found, data = block.partition(data_line)
                if not found or (name := names.get(head) or self._name(head, index)) is None:
                    break
                kind, named = name
            if 10 in data or 13 in data or len(data) > _LONG_LINE:
                break  # more lines (or a lone CR or LF), or a long value (the line loop decodes it in place)
            try:
                text = data.decode()
            except UnicodeDecodeError:
                break  # the line loop reports where
            append(Event(index, kind, text, last_id, offset + start, t, named))
            if dispatched is not None:
                dispatched.append(offset + start + len(block) + len(line_end))  # the blank line's offset
            index += 1
            start += len(block) + step
        self._index, self._offset = index, offset + start
        if start < len(chunk):
            events += self._feed_lines(chunk[start:], t)
        return events

    def _name(self, head: bytes, index: int) -> tuple[str, bool] | None:
        """The event type and `named_message` of an `event: T` line (`head`, its line end cut) that `_feed_events`
        meets first, kept for the next ones; None for any other line, or once `_NAMES` are kept."""
        if head[:7] != b"event: " or 10 in head or 13 in head or len(self._names) >= _NAMES:
            return None
        try:
            name = head[7:].decode()
        except UnicodeDecodeError:
            return None  # the line loop reports where
        if name == "message":  # the default name, given: an event tells it from none no more
            self.unusual.setdefault("event", index)
        self._names[head] = kind = (name or "message", name == "message")
        return kind

    def _feed_lines(self, chunk: bytes, t: float | None) -> list[Event]:
        """`chunk` read line by line (`LineSplitter`, then `_process`)."""
        lines, ends = self._lines.feed(chunk)
        if ends.__class__ is int and not self._at_start:
            return self._process(lines, ends, t) if lines else []
        if lines and self._at_start:
            self._strip_bom(lines)
        if ends.__class__ is int:
            return self._process(lines, ends, t)
        # the rare path: mixed line ends, or an LF dropped after a CR that ended the last chunk
        self._offset += self._lines.skipped
        self._lines.skipped = 0
        events = []
        for line, end in zip(lines, ends, strict=True):
            events += self._process([line], end, t)
        return events

    def _whole_event(self, chunk: bytes, t: float | None) -> Event | None:
        """The event of a chunk that is exactly one usual event (`_usual_event`), fed between events: what the line
        loop would make of it, without it. A live stream sends most events a chunk each; for them this is about 1.5
        times as fast. None for anything else (and for invalid UTF-8 or a long chunk: the line loop reports them)."""
        if len(chunk) > _LONG_LINE:
            return None
        try:
            usual = _usual_event(chunk.decode())
        except UnicodeDecodeError:
            return None  # the line loop reports where
        if usual is None:
            return None
        event = Event(self._index, usual[0], usual[1], self._last_id or None, self._offset, t)
        if self._dispatched is not None:
            self._dispatched.append(self._offset + len(chunk) - usual[2])  # the blank line's offset
        self._index += 1
        self._offset += len(chunk)
        return event

    def feed_texts(self, texts: list[str], times: list[float | None]) -> list[Event]:
        """Chunks given as text (a recording's, decoded from JSON already) with their times: the events of feeding
        each one's UTF-8 bytes in turn, each with the time of the chunk that completed it, in one call for them all.

        A chunk that is exactly one usual event (`_usual_event`), read between events, becomes that event directly:
        what `feed` makes of its bytes, without the round trip through bytes and the line loop. Consecutive other
        chunks are fed together (`_feed_together`).
        """
        events: list[Event] = []
        append = events.append
        index, offset, last_id = self._index, self._offset, self._last_id or None
        between = self.between_events()
        other: list[str] = []  # chunks of other shapes, or read inside an event: fed together
        other_times: list[float | None] = []
        for text, t in zip(texts, times, strict=True):
            usual = _usual_event(text)
            if usual is not None:
                if other:
                    self._index, self._offset = index, offset
                    events += self._feed_together(other, other_times)
                    other, other_times = [], []
                    index, offset, last_id = self._index, self._offset, self._last_id or None
                    between = self.between_events()
                if between:
                    append(Event(index, usual[0], usual[1], last_id, offset, t))
                    index += 1
                    offset += len(text) if text.isascii() else len(text.encode())
                    continue
            other.append(text)
            other_times.append(t)
        self._index, self._offset = index, offset
        if other:
            events += self._feed_together(other, other_times)
        return events

    def _feed_together(self, texts: list[str], times: list[float | None]) -> list[Event]:
        """Chunks fed as one: each event then gets the time of the chunk that holds the blank line that dispatched
        it, which is where feeding the chunks one by one would have completed it."""
        if len(texts) == 1:
            return self.feed(texts[0].encode(), times[0])
        pieces = [text.encode() for text in texts]
        starts = list(accumulate(map(len, pieces), initial=self._offset + len(self._lines.pending)))  # stream offsets
        self._dispatched = dispatched = []
        try:
            events = self.feed(b"".join(pieces), times[-1])
        finally:
            self._dispatched = None
        for event, at in zip(events, dispatched, strict=True):
            event.t = times[bisect_right(starts, at) - 1]
        return events

    def between_events(self) -> bool:
        """No event under way and no line either (the BOM check done): the next line starts an event. (No incomplete
        line and no LF to drop after a CR: the splitter's state, read here directly, as `feed` asks for every chunk.)"""
        return self._block is None and not self._at_start and not self._lines._pending and not self._lines._skip_lf

    @property
    def next_index(self) -> int:
        """The index the next event gets."""
        return self._index

    @property
    def last_id(self) -> str | None:
        """The last event ID, as the next event would carry it."""
        return self._last_id or None

    def count_usual(self, texts: list[str]) -> None:
        """Count chunks that are each one usual event (`_usual_event`), fed between events and read by the caller's
        own fast path (`StreamCheck.feed_texts`): the parser is then where feeding them would leave it."""
        joined = "".join(texts)
        self._index += len(texts)
        self._offset += len(joined) if joined.isascii() else len(joined.encode())

    def close(self, t: float | None = None) -> list[Event]:
        """End of stream. Spec: "any pending data must be discarded"; we keep it aside as `unterminated`."""
        raw = self._lines.pending
        if raw:
            lines = [raw]
            if self._at_start:
                self._strip_bom(lines)
            self._process(lines, 0, t)  # a non-empty line never dispatches
        if self._data:
            offset = self._offset if self._block is None else self._block
            data = "\n".join(self._data)
            self.unterminated = Event(self._index, self._type or "message", data, self._last_id or None, offset, t,
                                      self._type == "message")
            detail = f"the stream ended inside an event (from byte {offset}): no blank line closed it"
            self.problems.append(Problem("unterminated-event", offset, self._index, detail))
            self._data = []
        return []

    def _strip_bom(self, lines: list[bytes]) -> None:
        """Spec: one U+FEFF at the very start of the stream is ignored."""
        self._at_start = False
        if lines[0][:3] == _BOM:
            lines[0] = lines[0][3:]
            self._offset += 3
            self.unusual["bom"] = self._index

    def _process(self, lines: list[bytes], end: int, t: float | None) -> list[Event]:
        """The spec's line interpretation of lines that each end with `end` bytes, with the state in locals: this
        loop is the parser's hot path."""
        events: list[Event] = []
        offset = self._offset
        data, event_type, last_id, block, index = self._data, self._type, self._last_id, self._block, self._index
        dispatched = self._dispatched
        for raw in lines:
            if not raw:  # spec: a blank line dispatches the event
                if data:  # NOTE: a block whose data buffer is empty dispatches nothing
                    start = offset if block is None else block
                    text = data[0] if len(data) == 1 else "\n".join(data)
                    events.append(Event(index, event_type or "message", text, last_id or None, start, t,
                                        event_type == "message"))
                    if dispatched is not None:
                        dispatched.append(offset)
                    index += 1
                    data = []
                event_type = ""
                block = None
                offset += end
                continue
            if len(raw) > _LONG_LINE and raw[:6] == b"data: ":
                try:  # NOTE: a long value (a whole answer in one event) decoded in place: never held twice
                    data.append(str(memoryview(raw)[6:], "utf-8"))
                    block = offset if block is None else block
                    offset += len(raw) + end
                    continue
                except UnicodeDecodeError:
                    pass  # the common path below reports where
            try:
                line = raw.decode()
            except UnicodeDecodeError as error:
                line = raw.decode("utf-8", errors="replace")
                detail = f"byte {offset + error.start} is not valid UTF-8"
                self.problems.append(Problem("invalid-utf8", offset, index, detail))
            if block is None:
                block = offset
            offset += len(raw) + end
            if line[:6] == "data: ":  # the common case first
                data.append(line[6:])
            elif line[:5] == "data:":
                data.append(line[5:])
                self.unusual.setdefault("data", index)
            elif line[:7] == "event: ":  # the second most common (Responses, Anthropic, Gemini name each event)
                event_type = line[7:]
                if event_type == "message":  # the default name, given: an event tells it from none no more
                    self.unusual.setdefault("event", index)
            elif line[0] == ":":  # spec: a line starting with a colon is a comment
                self.unusual.setdefault("comment", index)
            else:
                name, _, value = line.partition(":")
                if value[:1] == " ":  # spec: one leading space after the colon is dropped
                    value = value[1:]
                if name == "data":  # a bare `data` line: an empty value
                    data.append(value)
                    self.unusual.setdefault("data", index)
                elif name == "event":
                    event_type = value
                    if value == "message":
                        self.unusual.setdefault("event", index)
                elif name == "id" and "\0" not in value:  # NOTE: spec: an id containing NUL is ignored
                    last_id = value
                elif name == "retry":
                    self.unusual.setdefault("retry", index)
                elif name != "id" and len(self.stray) < _STRAY_LIMIT:
                    self.stray.append((index, line[:_STRAY_LINE]))
                # NOTE: "retry" only steers reconnection, and unknown fields are ignored by the spec.
        self._data, self._type, self._last_id, self._block, self._index = data, event_type, last_id, block, index
        self._offset = offset
        return events


def _usual_event(text: str) -> tuple[str, str, int] | None:
    """The type, data and blank line's length of a chunk that is exactly one event of the usual shape, as the line
    loop would read them: `data: X`, or `event: T` then `data: X`, then a blank line, with LF line ends; or
    `data: X` and a blank line with CRLF line ends (Gemini's). None for anything else (a lone CR, which ends a line
    too; mixed line ends; a field of any other spelling; more lines). The hot path of recordings and live streams."""
    head, _, rest = text.partition("\n")
    if "\r" in text:  # CRLF: the CR of each line end only, right before its LF
        if rest == "\r\n" and head[:6] == "data: " and head[-1:] == "\r" and "\r" not in (data := head[6:-1]):
            return "message", data, 2
        return None
    if rest == "\n":
        return ("message", head[6:], 1) if head[:6] == "data: " else None
    if head[:7] != "event: " or head == "event: message":  # NOTE: the default name given goes the line loop's way
        return None
    line, _, rest = rest.partition("\n")
    return (head[7:] or "message", line[6:], 1) if rest == "\n" and line[:6] == "data: " else None


def parse_chunks(chunks: Iterable[tuple[float | None, bytes]]) -> Iterator[Event]:
    """Events of a whole stream given as (time, bytes) chunks. Problems are lost: use SSEParser to keep them."""
    parser = SSEParser()
    for t, chunk in chunks:
        yield from parser.feed(chunk, t)
    yield from parser.close()
