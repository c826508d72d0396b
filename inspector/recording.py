"""Recording format v1: JSON Lines, a header, one line per network chunk, an end line.

Chunks, not events, are stored, so a replay reproduces the exact bytes and timing and parsing stays
deterministic. The writer flushes every line (a crash leaves a readable file, just without its end line) and
redacts secrets before anything touches disk. The reader streams: it never loads a whole file.
See docs/recording-format.md.
"""

from __future__ import annotations

import base64
import contextlib
import io
import json
import os
from collections.abc import Generator, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import IO, TYPE_CHECKING, Annotated, Any, BinaryIO, Literal
from urllib.parse import urlsplit

from .escape import json_safe
from .private import open_private

if TYPE_CHECKING:
    from .sse import Event, SSEParser
    from .validate import StreamCheck

FORMAT = "sse-recording"
VERSION = 1
END_REASONS = ("complete", "upstream-closed", "client-disconnected", "error")
ENDED_BEFORE_TERMINAL = "the body ended before the protocol's terminal event"
"""The end line's `error` of an `upstream-closed` body that ended as HTTP says (its last chunk came) before the
protocol's terminal event: the server stopped early without breaking the connection. Any other `upstream-closed` is a
broken connection (mitmproxy's or the HTTP client's message)."""

_TOO_DEEP = "JSON nested too deeply to read"
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

    def fed_to(self, reader: SSEParser | StreamCheck) -> list[Event]:
        """The events this chunk completed, from the reader's `feed`."""
        return reader.feed(self.data, self.t)


@dataclass(slots=True)
class ChunkRun:
    """Consecutive chunks read in one go, for readers that feed a parser and need no per-chunk calls: the chunks
    stay text, as decoded from their JSON lines, and go to the reader's `feed_texts` in one call (`fed_to`),
    which gives each event the time of its own chunk without encoding the text the reader would decode again.
    """

    times: list[float | None]
    texts: list[str]
    """Each chunk's bytes, as text (a chunk that is not UTF-8 comes as a `Chunk`)."""

    @property
    def data(self) -> bytes:
        """The chunks' bytes, joined."""
        return "".join(self.texts).encode()

    def chunks(self) -> Iterator[Chunk]:
        return map(Chunk, self.times, map(str.encode, self.texts))

    def timed(self) -> Iterator[tuple[float | None, bytes]]:
        """Each chunk's time and bytes."""
        return zip(self.times, map(str.encode, self.texts), strict=True)

    def fed_to(self, reader: SSEParser | StreamCheck) -> list[Event]:
        """The events these chunks completed, each with the time of its own chunk (the reader's `feed_texts`)."""
        return reader.feed_texts(self.texts, self.times)

    def split(self, at: int) -> tuple[ChunkRun, ChunkRun]:
        """The first `at` chunks, and the rest."""
        return ChunkRun(self.times[:at], self.texts[:at]), ChunkRun(self.times[at:], self.texts[at:])


@dataclass(slots=True, frozen=True)
class End:
    t: float | None
    reason: str
    error: str | None = None

    @property
    def broken_by(self) -> str | None:
        """The message of the connection the upstream broke in the middle of the body, so the client got a cut body,
        not a clean end (None: it did not): an `upstream-closed` end, but for a body that ended as HTTP says before
        the protocol's last event."""
        if self.reason != "upstream-closed" or self.error == ENDED_BEFORE_TERMINAL:
            return None
        return self.error or "no message"


# -- writing -----------------------------------------------------------------------------------------------------


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class RecordingWriter:
    """Writes one recording, one flushed line at a time; the file is readable by its owner only."""

    def __init__(self, path: str | os.PathLike[str], header: Header) -> None:
        self.path = Path(path)
        self._file: IO[str] = open_private(self.path, exclusive=True)
        try:
            self._write(header.to_json())
        except BaseException:  # a full disk, say: no file without its header is left behind
            with contextlib.suppress(OSError):
                self._file.close()
            self.path.unlink(missing_ok=True)
            raise

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
        text = json.dumps(line, ensure_ascii=False, separators=(",", ":")) + "\n"
        try:
            self._file.write(text)  # encodes the whole line first: nothing is written when it fails
        except UnicodeEncodeError:  # a lone surrogate: mitmproxy decodes a header or body byte that is not UTF-8 to
            self._file.write(json_safe(text))  # one (`surrogateescape`); as a `\udcXX` escape it reads back as it was
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
    with stream:
        while block := stream.read(_BATCH):
            if not block.endswith(b"\n"):
                block += stream.readline()  # the batch ends with a whole line (or the file's last line, cut short)
            start_line = yield from _read_block(block, name, start_line)


def _read_block(block: bytes, name: str, start_line: int) -> Generator[Chunk | ChunkRun | End, None, int]:
    """The items of a batch of whole lines, the first numbered `start_line`; returns the next line's number. Its
    chunk lines are first decoded all at once (`_chunk_block`); the others, or all of them if one is broken, one by
    one."""
    times, texts, rest = _chunk_block(block)
    lines = io.BytesIO(rest).readlines()
    yield from _read_lines(lines, name, start_line + len(texts), times, texts)
    return start_line + len(texts) + len(lines)


def iter_body(lines: Iterable[bytes], name: str, start_line: int = 2) -> Iterator[Chunk | End]:
    """Chunks and the end line of a recording, from its lines after the header, one `Chunk` per chunk line."""
    for item in _read_lines(list(lines), name, start_line, [], []):
        if item.__class__ is ChunkRun:
            yield from item.chunks()  # type: ignore[union-attr]
        else:
            yield item  # type: ignore[misc]


def _read_lines(lines: list[bytes], name: str, start_line: int, times: list[float | None],
                texts: list[str]) -> Iterator[Chunk | ChunkRun | End]:
    """The items of some lines of a recording, after the chunks `times` and `texts` read just before them.

    A chunk line as the writer writes it takes the fast path: pydantic-core's JSON parser, four times as fast as
    `json.loads` on these escape-heavy lines, and no object of its own (consecutive ones make one `ChunkRun`).
    The fast paths (this one and `_chunk_block`) only ever accept what `json.loads` accepts too; anything else
    (end line, blank line, base64 chunk, broken line) goes through `_slow_line`, which decides what the line
    means or why it is broken. All paths give the same chunks (tests/test_recording.py and
    tests/test_recording_runs.py check).
    """
    from pydantic_core import from_json  # NOTE: imported on use: it costs start-up time to commands that read none

    for number, raw in enumerate(lines, start_line):
        try:
            line = from_json(raw, cache_strings="keys")
            if line.__class__ is not dict:
                raise ValueError
            t = line.get("t")
            if t.__class__ is not float or not 0 <= t < _MAX_TIME:
                raise ValueError
            text = line["text"]
            if line["kind"] == "chunk" and text.__class__ is str:
                texts.append(text)
                times.append(t)
                continue
        except (ValueError, KeyError):
            pass
        try:
            item = _slow_line(raw, name, number)
        except RecordingError:
            if texts:
                yield ChunkRun(times, texts)  # the chunks before the broken line are read first
            raise
        if item.__class__ is Chunk:
            try:
                texts.append(item.data.decode())  # type: ignore[union-attr]  # base64 of UTF-8: the same bytes
                times.append(item.t)  # type: ignore[union-attr]
                continue
            except UnicodeDecodeError:
                pass
        elif item is _BLANK:
            continue
        if texts:
            yield ChunkRun(times, texts)
            times, texts = [], []
        if item is None:
            return
        yield item  # type: ignore[misc]
    if texts:
        yield ChunkRun(times, texts)


_BATCH = 64 * 1024
_CHUNK_START = b'{"kind":"chunk",'


@cache
def _chunk_decoder() -> Any:
    """A msgspec decoder of one-item JSON arrays, each holding a chunk line as the writer writes it: exactly the
    keys `kind` ("chunk"), `t` (null or seconds in range) and `text` (a string), or a ValueError."""
    import msgspec

    seconds = Annotated[float, msgspec.Meta(ge=0, lt=_MAX_TIME)]
    line = msgspec.defstruct("ChunkLine", [("kind", Literal["chunk"]), ("t", seconds | None), ("text", str)],
                             forbid_unknown_fields=True, gc=False)
    one = msgspec.defstruct("OneLine", [("line", line)], array_like=True, forbid_unknown_fields=True, gc=False)
    return msgspec.json.Decoder(one)


def _chunk_block(block: bytes) -> tuple[list[float | None], list[str], bytes]:
    """The times and texts of the chunk lines of `block`, a batch of whole lines (all of them but an end line
    last), decoded by msgspec in ONE call, and the lines left (the end line); nothing decoded if any line is not
    a chunk line of the writer's shape: then each line is read on its own (`_read_lines`), a broken one reported
    as always.

    Each line goes into an array of its own, LF kept: `L1\nL2\n` is decoded as the arrays `[L1\n][L2\n]`. A raw
    LF is never inside a JSON string, so every `][` put after one is outside strings, and a chunk line holds no
    array: each `]` closes the array of one line, each `[` opens the next one's. An array of one value (`OneLine`
    forbids more), so each line is exactly one chunk line, as `json.loads` reads it on its own.
    """
    last = block.rfind(b"\n", 0, -1) + 1  # where the last line starts: the end line, or one cut short, is left
    lines = block if block.startswith(_CHUNK_START, last) and block.endswith(b"\n") else block[:last]
    if not lines:
        return [], [], block
    try:
        items = _chunk_decoder().decode_lines(memoryview((b"[" + lines).replace(b"\n", b"\n]["))[:-1])
    except ValueError:  # not JSON, not a chunk line, a lone surrogate...
        return [], [], block
    return [item.line.t for item in items], [item.line.text for item in items], block[len(lines):]



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
            error = line.get("error")  # NOTE: a hand-edited `"error": true` is read as text, as the reason is
            return End(_time(line.get("t")), str(line.get("reason")), None if error is None else str(error))
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
