"""Recording format v1: JSON Lines, a header, one line per network chunk, an end line.

Chunks, not events, are stored, so a replay reproduces the exact bytes and timing and parsing stays
deterministic. The writer flushes every line (a crash leaves a readable file, just without its end line) and
redacts secrets before anything touches disk. The reader streams: it never loads a whole file.
See docs/recording-format.md.
"""

from __future__ import annotations

import base64
import json
import os
from bisect import bisect_right
from collections import deque
from collections.abc import Generator, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from itertools import accumulate, compress, count, repeat
from operator import attrgetter, not_
from pathlib import Path
from typing import IO, TYPE_CHECKING, Annotated, Any, BinaryIO, Literal
from urllib.parse import urlsplit

from .private import open_private

if TYPE_CHECKING:
    from .sse import Event

FORMAT = "sse-recording"
VERSION = 1
END_REASONS = ("complete", "upstream-closed", "client-disconnected", "error")

_TOO_DEEP = "JSON nested too deeply to read"
_OFFSET = attrgetter("offset")
_MAX_TIME = 1e7  # seconds (about 4 months): anything later in a recording is a broken time, not a slow stream


class RecordingError(ValueError):
    """A recording that cannot be read; the message names the file and line."""


@dataclass(slots=True)
class Header:
    """The first line: what was asked and what came back (secrets already redacted)."""

    request: dict[str, Any]
    response: dict[str, Any] | None = None
    protocol: str | None = None
    source: str = "import"
    id: str = ""
    started_at: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def status(self) -> int | None:
        return (self.response or {}).get("status")

    @property
    def url(self) -> str | None:
        return self.request.get("url")

    @property
    def path(self) -> str | None:
        url = self.url
        return urlsplit(url).path if url else None

    def header(self, side: str, name: str) -> str | None:
        """A request or response header by case-insensitive name."""
        headers = (self.request if side == "request" else self.response or {}).get("headers") or {}
        name = name.lower()
        return next((value for key, value in headers.items() if key.lower() == name), None)

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": "header", "format": FORMAT, "version": VERSION, "id": self.id, "started_at": self.started_at,
            "source": self.source, "protocol": self.protocol, "request": self.request, "response": self.response,
            **self.extra,
        }

    @classmethod
    def from_json(cls, line: dict[str, Any]) -> Header:
        known = {"kind", "format", "version", "id", "started_at", "source", "protocol", "request", "response"}
        return cls(
            request=line.get("request") or {}, response=line.get("response"), protocol=line.get("protocol"),
            source=line.get("source") or "import", id=line.get("id") or "", started_at=line.get("started_at") or "",
            extra={key: value for key, value in line.items() if key not in known},
        )


@dataclass(slots=True)  # NOTE: not frozen: a frozen dataclass is built twice as slowly, and readers make millions
class Chunk:
    t: float | None
    data: bytes

    # NOTE: the few methods of a `ChunkRun`, so readers take either without asking which
    def chunks(self) -> tuple[Chunk]:
        return (self,)

    def timed(self) -> tuple[tuple[float | None, bytes]]:
        return ((self.t, self.data),)

    def stamp(self, events: list[Event]) -> list[Event]:
        """The events this chunk completed: they carry its time already."""
        return events


@dataclass(slots=True)
class ChunkRun:
    """Consecutive chunks read in one go, for readers that feed a parser and need no per-chunk calls: `data`
    (their bytes joined) is fed once, then `stamp` gives each event it completed the time of its own chunk.

    Every chunk but the last ends with a blank line (`\\n\\n`): no event spans two of them, so an event came in
    the chunk where it starts, or in the first one when it began before the run (see `_runs`).
    """

    data: bytes
    times: list[float | None]
    pieces: list[bytes]
    """Each chunk's bytes."""
    bounds: list[int]
    """The stream offset where each chunk but the first starts."""

    @property
    def t(self) -> float | None:
        return self.times[-1]

    def chunks(self) -> Iterator[Chunk]:
        return map(Chunk, self.times, self.pieces)

    def timed(self) -> Iterator[tuple[float | None, bytes]]:
        """Each chunk's time and bytes."""
        return zip(self.times, self.pieces, strict=True)

    def stamp(self, events: list[Event]) -> list[Event]:
        """The events this run's `data` completed, each given the time of the chunk that completed it."""
        offsets = list(map(_OFFSET, events))
        times: Iterable[float | None] = self.times
        if len(offsets) != len(self.times) or offsets[1:] != self.bounds:  # NOTE: else one event per chunk
            times = map(self.times.__getitem__, map(bisect_right, repeat(self.bounds), offsets))
        deque(map(setattr, events, repeat("t"), times), maxlen=0)  # NOTE: no loop
        return events


@dataclass(slots=True, frozen=True)
class End:
    t: float | None
    reason: str
    error: str | None = None


# -- writing -----------------------------------------------------------------------------------------------------


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class RecordingWriter:
    """Writes one recording, one flushed line at a time; the file is readable by its owner only."""

    def __init__(self, path: str | os.PathLike[str], header: Header) -> None:
        self.path = Path(path)
        self._file: IO[str] = open_private(self.path, exclusive=True)
        self._write(header.to_json())

    def chunk(self, t: float | None, data: bytes) -> None:
        try:
            line: dict[str, Any] = {"kind": "chunk", "t": _round(t), "text": data.decode("utf-8")}
        except UnicodeDecodeError:
            line = {"kind": "chunk", "t": _round(t), "b64": base64.b64encode(data).decode("ascii")}
        self._write(line)

    def end(self, t: float | None, reason: str, error: str | None = None) -> None:
        if reason not in END_REASONS:
            raise ValueError(f"unknown end reason {reason!r}")
        self._write({"kind": "end", "t": _round(t), "reason": reason, "error": error})
        self.close()

    def close(self) -> None:
        if not self._file.closed:
            self._file.close()

    def _write(self, line: dict[str, Any]) -> None:
        self._file.write(json.dumps(line, ensure_ascii=False, separators=(",", ":")) + "\n")
        self._file.flush()


def _round(t: float | None) -> float | None:
    return None if t is None else round(t, 6)


# -- reading -----------------------------------------------------------------------------------------------------


def read_header(first_line: bytes | str, name: str = "<recording>") -> Header | None:
    """The header if `first_line` is a recording header, None if it is not a recording at all."""
    try:
        line = json.loads(first_line)
    except ValueError:
        return None
    except RecursionError:
        raise RecordingError(f"{name}:1: {_TOO_DEEP}") from None
    if not isinstance(line, dict) or line.get("kind") != "header" or line.get("format") != FORMAT:
        return None
    if line.get("version") != VERSION:
        raise RecordingError(f"{name}:1: recording format version {line.get('version')!r} is not supported")
    problem = _header_problem(line)
    if problem is not None:
        raise RecordingError(f"{name}:1: broken recording header ({problem})")
    return Header.from_json(line)


def _header_problem(line: dict[str, Any]) -> str | None:
    """What makes a header unusable, checked up front so no command trips over it later."""
    from .protocols import NAMES

    request, response = line.get("request"), line.get("response")
    if request is not None and not isinstance(request, dict):
        return "`request` must be an object"
    if response is not None and not isinstance(response, dict):
        return "`response` must be an object or null"
    for side, value in (("request", request or {}), ("response", response or {})):
        headers = value.get("headers")
        if headers is not None and not (
            isinstance(headers, dict) and all(isinstance(v, str) for v in headers.values())
        ):
            return f"`{side}.headers` must be an object of strings"
    for field_name, value in (("request.url", (request or {}).get("url")), ("request.method", (request or {}).get(
            "method")), ("started_at", line.get("started_at")), ("id", line.get("id")), ("source", line.get("source"))):
        if value is not None and not isinstance(value, str):
            return f"`{field_name}` must be a string"
    try:
        urlsplit((request or {}).get("url") or "")
    except ValueError as error:  # `http://[::1/x`: every reader of the URL would trip over it
        return f"`request.url` is not a URL ({error})"
    status = (response or {}).get("status")
    if status is not None and (type(status) is not int or not 100 <= status <= 599):
        return f"`response.status` must be an HTTP status code, got {status!r}"
    protocol = line.get("protocol")
    if protocol is not None and protocol not in NAMES:
        return f"unknown `protocol` {protocol!r} (known: {', '.join(NAMES)})"
    return None


def read_body(stream: BinaryIO, name: str, start_line: int = 2) -> Iterator[Chunk | ChunkRun | End]:
    """Chunks and the end line of a recording, from the rest of `stream` (closed at the end), read a batch of
    lines at a time (about `_BATCH` bytes): consecutive chunk lines come as `ChunkRun`s, for readers that feed a
    parser once per run instead of once per chunk (`Source.feed_to`)."""
    offset = 0  # stream offset of the next chunk
    together = _size(stream) >= _LARGE
    with stream:
        while lines := stream.readlines(_BATCH):
            offset = yield from _read_lines(lines, name, start_line, offset, together)
            start_line += len(lines)


def _size(stream: BinaryIO) -> int:
    """The file's size; 0 for a pipe or anything but a file."""
    try:
        return os.fstat(stream.fileno()).st_size
    except (OSError, ValueError):  # io.UnsupportedOperation is both
        return 0


def iter_body(lines: Iterable[bytes], name: str, start_line: int = 2) -> Iterator[Chunk | End]:
    """Chunks and the end line of a recording, from its lines after the header, one `Chunk` per chunk line."""
    for item in _read_lines(list(lines), name, start_line, 0):
        if item.__class__ is ChunkRun:
            yield from item.chunks()  # type: ignore[union-attr]
        else:
            yield item  # type: ignore[misc]


def _read_lines(lines: list[bytes], name: str, start_line: int, offset: int, together: bool = False) -> Generator[
        Chunk | ChunkRun | End, None, int]:
    """The items of some lines of a recording, and the stream offset after their chunks (`offset`: before).

    A chunk line as the writer writes it takes the fast path: pydantic-core's JSON parser, four times as fast as
    `json.loads` on these escape-heavy lines, and no object of its own (consecutive ones make one `ChunkRun`);
    `together`, the chunk lines are first decoded all at once (`_chunk_lines`). The fast paths only ever accept
    what `json.loads` accepts too; anything else (end line, blank line, base64 chunk, broken line) goes through
    `_slow_line`, which decides what the line means or why it is broken. All paths give the same chunks
    (tests/test_recording.py and tests/test_recording_runs.py check).
    """
    from pydantic_core import from_json  # NOTE: imported on use: it costs start-up time to commands that read none

    times, pieces = _chunk_lines(lines) if together else ([], [])
    for number, raw in enumerate(lines[len(times):], start_line + len(times)):
        try:
            line = from_json(raw, cache_strings="keys")
            if line.__class__ is not dict:
                raise ValueError
            t = line.get("t")
            if t.__class__ is not float or not 0 <= t < _MAX_TIME:
                raise ValueError
            text = line["text"]
            if line["kind"] == "chunk" and text.__class__ is str:
                pieces.append(text.encode())
                times.append(t)
                continue
        except (ValueError, KeyError):
            pass
        try:
            item = _slow_line(raw, name, number)
        except RecordingError:
            yield from _runs(times, pieces, offset)  # the chunks before the broken line are read first
            raise
        if item.__class__ is Chunk:
            pieces.append(item.data)  # type: ignore[union-attr]
            times.append(item.t)  # type: ignore[union-attr]
        elif item is not _BLANK:
            offset = yield from _runs(times, pieces, offset)
            times, pieces = [], []
            if item is None:
                return offset
            yield item  # type: ignore[misc]
    return (yield from _runs(times, pieces, offset))


_BATCH = 64 * 1024
_LARGE = 4 << 20
"""Recordings from this size on (bytes) have their chunk lines decoded a batch at a time by msgspec: importing it
costs about 10 ms, which its speed (about 0.7 µs a line) pays back from about 3 MB of lines."""


def decode_in_batches_from(size: int) -> None:
    """Recordings from `size` bytes on have their chunk lines decoded a batch at a time (`_LARGE` by default). A
    process that reads many recordings, the recorder's verdict process, pays for importing msgspec once: with 0,
    every recording it reads is decoded in batches, about 13 % less CPU for a verdict of a 2,000-event stream."""
    global _LARGE
    _LARGE = size


_CHUNK_START = b'{"kind":"chunk",'


@cache
def _chunk_decoder() -> Any:
    """A msgspec decoder of a JSON array of chunk lines as the writer writes them: exactly the keys `kind`
    ("chunk"), `t` (null or seconds in range) and `text` (a string), or a ValueError."""
    import msgspec

    seconds = Annotated[float, msgspec.Meta(ge=0, lt=_MAX_TIME)]
    line = msgspec.defstruct("ChunkLine", [("kind", Literal["chunk"]), ("t", seconds | None), ("text", str)],
                             forbid_unknown_fields=True, gc=False)
    return msgspec.json.Decoder(list[line])  # type: ignore[valid-type]


def _chunk_lines(lines: list[bytes]) -> tuple[list[float | None], list[bytes]]:
    """The times and bytes of the chunk lines that start `lines` (all of them but an end line last), decoded by
    msgspec in ONE call as a JSON array (half the time of pydantic-core's parser line by line); nothing if any of
    them is not a chunk line of the writer's shape, and then each line is read on its own (`_read_lines`), a
    broken one reported as always.

    The array's values are exactly the lines: every line ends with `}\n`, and a raw LF is never inside a JSON
    string, so each such `}` closes an object; every value is an object of three plain values (no object in it),
    so there are as many objects as lines only if the k-th closes at the end of the k-th line.
    """
    count = len(lines) - (not lines[-1].startswith(_CHUNK_START)) if lines else 0  # NOTE: the end line comes last
    head = lines[:count]
    if count < 2 or not all(map(bytes.endswith, head, repeat(b"}\n"))):
        return [], []
    try:
        items = _chunk_decoder().decode(b"[" + b",".join(head) + b"]")
        if len(items) != count:
            return [], []
        return list(map(_T, items)), list(map(str.encode, map(_TEXT, items)))
    except ValueError:  # not JSON, not a chunk line, a lone surrogate...
        return [], []


_T, _TEXT = attrgetter("t"), attrgetter("text")


def _runs(times: list[float | None], pieces: list[bytes], offset: int) -> Generator[ChunkRun, None, int]:
    """Consecutive chunks, from stream offset `offset`, as `ChunkRun`s whose chunks all end with a blank line
    (`\\n\\n`) but the last; returns the offset after them."""
    if not pieces:
        return offset
    stops = [len(pieces)]
    if not all(map(bytes.endswith, pieces[:-1], repeat(b"\n\n"))):  # NOTE: else one run, the common case
        stops[:0] = compress(count(1), map(not_, map(bytes.endswith, pieces[:-1], repeat(b"\n\n"))))
    start = 0
    for stop in stops:
        run = pieces[start:stop]
        starts = list(accumulate(map(len, run), initial=offset))
        yield ChunkRun(b"".join(run), times[start:stop], run, starts[1:-1])
        offset = starts[-1]
        start = stop
    return offset


_BLANK = End(None, "")  # marks a blank line, which is skipped


def _slow_line(raw: bytes, name: str, number: int) -> Chunk | End | None:
    """Any line: a Chunk, an End, `_BLANK`, or None for a last line cut mid-write; raises for a broken line."""
    if not raw.strip():
        return _BLANK
    try:
        line = json.loads(raw)
        kind = line["kind"]
        if kind == "chunk":
            data = line["text"].encode("utf-8") if "text" in line else base64.b64decode(line["b64"], validate=True)
            return Chunk(_time(line.get("t")), data)
        if kind == "end":
            return End(_time(line.get("t")), str(line.get("reason")), line.get("error"))
        raise ValueError(f"unknown line kind {kind!r}")
    except (ValueError, KeyError, TypeError, AttributeError, RecursionError) as error:
        if not raw.endswith(b"\n"):
            return None  # NOTE: a last line cut mid-write (the recorder died): the recording is just cut short
        detail = f"missing {error}" if isinstance(error, KeyError) else str(error)
        if isinstance(error, RecursionError):
            detail = _TOO_DEEP
        raise RecordingError(f"{name}:{number}: broken recording line ({detail})") from None


def _time(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value < _MAX_TIME:
        raise ValueError(f"`t` must be seconds since the request (a number from 0), got {value!r}")
    return float(value)
