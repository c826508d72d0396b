"""Input loading shared by every command: a recording, a raw SSE body, a directory of them, or `-` for stdin.

Every input becomes a `Source`: an optional recording header, then its chunks one at a time, then (for
recordings) the end line. Nothing is read whole. Anything that is not a recording is read as an SSE body, however
odd (that is what the rules are for); `curl -i -N` output (status line, headers, blank line, body) is read as a
response whose status and headers feed the HTTP rules. Only empty input, binary garbage and a `.jsonl` file that
is not a recording end in an `InputError`, whose message is one line naming the file and line.
"""

from __future__ import annotations

import errno
import re
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO
from urllib.parse import urlsplit

from .findings import Severity, rule
from .recording import Chunk, ChunkRun, End, Header, RecordingError, read_body, read_header
from .redact import Policy

if TYPE_CHECKING:
    from .sse import Event
    from .validate import StreamCheck

SUFFIXES = (".jsonl", ".sse", ".txt")
RECORDING_SUFFIX = ".jsonl"
"""A file named like a recording must be one: it is not read as SSE."""
_READ_SIZE = 64 * 1024
"""Bytes read at a time from a raw SSE body, and sniffed from a file's start."""
_SSE_START = re.compile(rb"^(\xef\xbb\xbf)?(:|(data|event|id|retry)(:|\r|\n|$))")
CURL = "curl"
"""`Header.source` of `curl -i` output: a response without a request, times or end line."""
EMPTY = "empty: not a byte to judge (an answer with an empty body is judged with its status: save it with `curl -i -N`)"
"""Why an empty file is refused: a raw body has no status, so an empty one says nothing, not even that it was a
stream."""
_STATUS_LINE = re.compile(rb"^HTTP/\d(?:\.\d)? (\d{3})(?: |\r|\n|$)")
_LINE_BREAK = re.compile(r"\r\n|\r|\n")


UNREADABLE = rule("input/unreadable", Severity.ERROR,
                  "one file among several is not a readable recording or SSE stream: the others are still checked")


class InputError(ValueError):
    """An input that cannot be used; its message is the one line the CLI prints."""


@dataclass
class Source:
    """One stream to read: `chunks()` yields it; `end` is known once they are exhausted."""

    name: str
    header: Header | None
    _body: Iterator[Chunk | ChunkRun | End]
    end: End | None = field(default=None, init=False)

    @property
    def end_reason(self) -> str | None:
        """The recording's end reason, once the chunks are read (None: a raw body, or a recording cut short)."""
        return self.end.reason if self.end is not None else None

    @property
    def broken_by(self) -> str | None:
        """The message of the connection the server broke mid-body, once the chunks are read (None: it did not)."""
        return self.end.broken_by if self.end is not None else None

    @property
    def ended_at(self) -> float | None:
        """The end line's time, once the chunks are read (None: no end line, or one without a time)."""
        return self.end.t if self.end is not None else None

    @property
    def is_recording(self) -> bool:
        return self.header is not None

    def chunks(self) -> Iterator[Chunk]:
        """The chunks one by one, as they came over the network."""
        for piece in self.pieces():
            yield from piece.chunks()

    def pieces(self) -> Iterator[Chunk | ChunkRun]:
        """The chunks, consecutive ones joined into a `ChunkRun` where they were read together: for a reader
        that needs no call per chunk (`fed_to` gives a run to a parser's or a check's `feed_texts` in one call)."""
        for item in self._body:
            if item.__class__ is End:
                self.end = item  # type: ignore[assignment]
            else:
                yield item  # type: ignore[misc]

    def feed_to(self, feed: Callable[[bytes, float | None], list[Event]],
                chunk: Callable[[float | None, int], object] | None = None) -> Iterator[list[Event]]:
        """Every chunk through `feed`, the `feed` of an `SSEParser` or a `StreamCheck`, a run of chunks read
        together through the same reader's `feed_texts` in one call: yields what each call returns, every event
        with the time of the chunk that completed it. `chunk`, if given, is told each chunk's time and size first
        (`TimingRecorder.chunk`)."""
        reader = feed.__self__  # type: ignore[attr-defined]
        for piece in self.pieces():
            if chunk is not None:
                for t, data in piece.timed():
                    chunk(t, len(data))
            yield piece.fed_to(reader)

    def check(self, protocol: str | None = None) -> StreamCheck:
        """A `StreamCheck` set up from this source's header (path, status, content type)."""
        return stream_check(self.header, protocol)

    def validate(self, protocol: str | None = None) -> StreamCheck:
        """Run the whole source through a StreamCheck and close it."""
        check = self.check(protocol)
        check.events_wanted = False
        for _ in self.feed_to(check.feed):
            pass
        check.close(self.end_reason, broken_by=self.broken_by, ended_at=self.ended_at)
        return check


def stream_check(header: Header | None, protocol: str | None = None) -> StreamCheck:
    """A `StreamCheck` set up from a recording's header (path, status, content type); `protocol` overrides."""
    from .validate import StreamCheck  # NOTE: imported on use: `--version` and `ls` need no checker

    if protocol in (None, "auto") and header is not None:
        protocol = header.protocol
    return StreamCheck(
        protocol,
        request_path=header.path if header else None,
        request_method=header.request.get("method") if header else None,
        status=header.status if header else None,
        content_type=_content_type(header),
        request_body=header.request.get("body") if header else None,
        sse_asked=_asks_for_sse(header),
        answered=header is None or header.response is not None,
    )


def _asks_for_sse(header: Header | None) -> bool:
    """False for a Gemini request without `alt=sse`, which asks for its answer as one JSON array (not checked), and
    for an OpenAI or Anthropic request whose kept body does not ask for a stream (`"stream": true`)."""
    from .protocols.detect import asks_for_array, declines_stream  # NOTE: imported on use, as `StreamCheck` is

    url = urlsplit(header.url) if header is not None and header.url else None
    if url is None:
        return True
    return not asks_for_array(url.path, url.query) and not declines_stream(url.path, header.request.get("body"))


def _content_type(header: Header | None) -> str | None:
    """The recorded response's content type: "" when its recorded headers have none (the server sent none), None
    when no headers are known (a raw body, a response recorded without them)."""
    if header is None or not header.response or not header.response.get("headers"):
        return None
    return header.header("response", "content-type") or ""


def expand(paths: Sequence[str]) -> list[str]:
    """Paths with directories replaced by the recordings and SSE files in them (sorted); `-` kept.

    A directory with none in it is an error: a CI step whose recorder wrote nothing must not pass.
    """
    if list(paths).count("-") > 1:
        raise InputError("-: standard input can be read only once")
    found: list[str] = []
    for path in paths:
        if path == "-":
            found.append(path)
            continue
        target = Path(path)
        if target.is_dir():
            streams = streams_in(target)
            if not streams:
                raise InputError(f"{path}: no recordings or SSE files found")
            found.extend(str(p) for p in streams)
        elif target.exists():
            found.append(path)
        else:
            raise InputError(f"{path}: {_why_missing(target)}")
    return found


def _why_missing(path: Path) -> str:
    """Why a path that does not exist for `Path.exists` cannot be read: a symlink loop, a broken link and a folder
    that may not be entered are not "no such file"."""
    try:
        path.stat()
    except OSError as error:
        why = (error.strerror or "cannot be read").lower()
        if error.errno == errno.ENOENT and path.is_symlink():
            return f"{why} (a link to a path that does not exist)"
        return why
    return "no such file or directory"


def streams_in(directory: Path) -> list[Path]:
    """The recordings and SSE files under a directory, sorted; hidden files and folders are skipped. A `.txt`
    file counts only when it starts like SSE (a folder of `curl -N` captures may also hold notes and licenses)."""
    return [
        path for path in sorted(directory.rglob("*"))
        if path.is_file() and path.suffix in SUFFIXES and not _hidden(path.relative_to(directory))
        and (path.suffix != ".txt" or _starts_like_sse(path))
    ]


def _hidden(relative: Path) -> bool:
    return any(part.startswith(".") for part in relative.parts)


def _starts_like_sse(path: Path) -> bool:
    try:
        with open(path, "rb") as stream:
            return _looks_like_sse(stream.readline(_READ_SIZE))
    except OSError:
        return True  # let open_source report why it cannot be read


def open_source(path: str) -> Source:
    """Open one file (or `-`) as a Source; raises InputError for anything else."""
    if path == "-":
        return _from_stream("-", sys.stdin.buffer)
    try:
        stream = open(path, "rb")  # noqa: SIM115  (closed by the generator that reads it)
    except OSError as error:
        raise InputError(f"{path}: {error.strerror or error}") from None
    try:
        return _from_stream(path, stream)
    except InputError:
        stream.close()
        raise


def iter_sources(paths: Sequence[str]) -> Iterator[Source]:
    for path in expand(paths):
        yield open_source(path)


def _from_stream(name: str, stream: BinaryIO) -> Source:
    first = _first_line(stream)
    try:
        header = read_header(first, name)
    except RecordingError as error:
        raise InputError(str(error)) from None
    if header is not None:
        return Source(name, header, _guarded(read_body(stream, name)))
    if not first:
        raise InputError(f"{name}:1: {EMPTY}")
    if name.endswith(RECORDING_SUFFIX):  # JSON Lines of another kind, or a recording that lost its header
        raise InputError(f"{name}:1: neither a recording nor an SSE stream")
    if _STATUS_LINE.match(first):
        return _curl_response(name, first, stream)
    rest = stream.read(_READ_SIZE)
    line = _binary_line(first + rest)
    if line is not None:
        raise InputError(f"{name}:{line}: binary data, neither a recording nor an SSE stream")
    return Source(name, None, _raw_chunks(stream, first, rest))


def _binary_line(head: bytes) -> int | None:
    """The line (1-based) where the data turns binary, when the start of an input is mostly binary garbage.

    Anything else is read as SSE, however odd (a `foo: bar` line, an `id` with a NUL): the parser ignores what the
    format ignores, and the rules judge the rest. Only data a third or more of whose characters are not text
    (control characters other than tab, CR and LF; bytes that are not UTF-8) is refused.
    """
    text = head.decode("utf-8", errors="replace")
    binary = [index for index, char in enumerate(text) if char == "\ufffd" or (char < " " and char not in "\t\r\n")]
    if not text or len(binary) * 3 < len(text):
        return None
    return len(_LINE_BREAK.findall(text[: binary[0]])) + 1


def _curl_response(name: str, status_line: bytes, stream: BinaryIO) -> Source:
    """`curl -i -N` output: status line, headers, a blank line, then the body. Interim responses (`100
    Continue`) and a proxy's `Connection established` come first as blocks of their own: the last block counts."""
    while True:
        status = int(_STATUS_LINE.match(status_line).group(1))  # type: ignore[union-attr]
        headers: list[tuple[str, str]] = []
        while (line := stream.readline(_READ_SIZE)).strip():
            field, colon, value = line.decode("utf-8", errors="replace").partition(":")
            if colon:
                headers.append((field.strip(), value.strip()))
        body = stream.readline(_READ_SIZE)
        if not _STATUS_LINE.match(body):
            break
        status_line = body
    header = Header(request={}, response={"status": status, "headers": Policy().headers(headers)}, source=CURL)
    return Source(name, header, _raw_chunks(stream, body))


def _first_line(stream: BinaryIO) -> bytes:
    """The first line: whole when it may be a recording header (the format has no size limit: a long
    conversation's request body is part of it), else at most `_READ_SIZE` bytes (a raw body need not have lines)."""
    first = stream.readline(_READ_SIZE)
    if first.startswith(b"{") and not first.endswith(b"\n"):
        first += stream.readline()
    return first


def _looks_like_sse(first: bytes) -> bool:
    """For files found in a directory: a `.txt` file counts when it starts like SSE or like `curl -i` output."""
    return first in (b"\n", b"\r\n", b"\r") or bool(_SSE_START.match(first) or _STATUS_LINE.match(first))


def _raw_chunks(stream: BinaryIO, *read: bytes) -> Iterator[Chunk]:
    """What was already read (the first line, the start of the rest), then the rest as it is read."""
    with stream:
        for block in read:
            if block:
                yield Chunk(None, block)
        while block := stream.read(_READ_SIZE):
            yield Chunk(None, block)


def _guarded(body: Iterator[Chunk | ChunkRun | End]) -> Iterator[Chunk | ChunkRun | End]:
    try:
        yield from body
    except RecordingError as error:
        raise InputError(str(error)) from None
