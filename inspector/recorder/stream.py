"""One recorded response: the stream callable on mitmproxy's hot path, and the file it writes.

The callable runs on mitmproxy's event loop for every network chunk of every stream, so it does as little as
possible: a time stamp and a queue; every `WRITE_DELAY`, or at the loop's next turn once a batch is full, the
queued chunks are decoded (when the body is compressed) and written with one system call. It never raises (an
escaping exception would cut the app's connection) and always hands the chunk back unchanged. Parsing and
validation happen once the stream has ended (`verdict`), off this path: `bench/proxy.py` measured that
validating each chunk would cost more than the proxying itself.
"""

from __future__ import annotations

import asyncio
import codecs
import logging
import os
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from itertools import chain, repeat
from operator import mul, truediv
from pathlib import Path
from typing import Any

import msgspec

from ..recording import RecordingWriter
from ..redact import redact_value
from .client_watch import CAN_WRITE, OPEN, ClientWatch
from .decode import BodyDecoder, DecodeError

log = logging.getLogger(__name__)
_BATCH = 64
"""Chunks that make a batch: once this many wait, they are written at the loop's next turn (a burst delivers
thousands per second), not `WRITE_DELAY` later."""
WRITE_DELAY = 0.1
"""Seconds a chunk may wait in memory before it is written. mitmproxy hands over one chunk per turn of its loop,
so writing every turn cost a `write(2)` per chunk: `bench/proxy.py` measured ~2.5 µs of the recorder's ~5 µs per
event there. Paced streams (an LLM's tokens, 20 ms apart) fill no batch, so each waits this long: at 20 ms each
write carried one chunk, and 50 such streams cost the proxy's event loop +9.3 µs per event over plain mitmdump's
against +2.7 at 100 ms (`bench/proxy.py`'s concurrent case, 2026-12-05). A recorder killed outright loses at most
this much; every normal end flushes at once, and `record`'s live panel repaints only every 250 ms."""


class ChunkWriter(RecordingWriter):
    """A `RecordingWriter` whose lines skip the generic JSON encoder, and whose chunk lines go out many per `write(2)`.

    The lines are the same format v1 lines (`{"kind":"chunk","t":...,"text":...}` or `"b64"`), each complete
    on disk as soon as its batch is written, so a crash still leaves a readable file.
    """

    def chunk(self, t: float | None, data: bytes) -> None:
        self.write(chunk_lines([t], [data]))

    def write(self, lines: bytes) -> None:
        """Whole lines, with one `write(2)` as a rule."""
        fd = self._file.fileno()
        while lines:
            written = os.write(fd, lines)
            lines = lines[written:]

    def _write(self, line: dict[str, Any]) -> None:
        """The header and end lines, by msgspec: a long conversation's header line (hundreds of KiB) costs the
        proxy's event loop a third of what the `json` module's does (`bench/header.py`). The recorder writes only
        strings, integers and finite floats, which both write alike; a line with a lone surrogate, which msgspec
        refuses, goes the generic way. A request body encoded ahead (`EncodedText`) is written around."""
        request = line.get("request")
        body = request.get("body") if isinstance(request, dict) else None
        try:
            if isinstance(body, EncodedText):
                before, after = _LINES.encode(_with_body(line, _BODY_MARK)).split(bytes(_BODY_MARK), 1)
                for piece in (before, *body.pieces, after + b"\n"):  # NOTE: no copy of the body, no big allocation
                    self.write(piece)
                return
            data = _LINES.encode(line)
        except UnicodeEncodeError:
            super()._write(_with_body(line, body.text()) if isinstance(body, EncodedText) else line)
            return
        self.write(data + b"\n")


TEXT_SLICE = 1 << 20
"""Characters of a long text encoded in one call on a worker thread (`EncodedText.encode`): msgspec holds the GIL
for a whole call, and the proxy's event loop waits for the GIL meanwhile."""
_BODY_MARK = msgspec.Raw(b'"sse-inspector:body"')
"""Where the header line's body goes: no JSON string holds these quotes unescaped."""


@dataclass(frozen=True, slots=True)
class EncodedText:
    """A long text (a request body of tens of MB) already encoded as a JSON string, in pieces: the header line that
    holds it is written around it (`ChunkWriter._write`), with no escaping of it, no copy and no big allocation on
    the event loop, where each would hold every live stream up (`bench/big_request.py`)."""

    pieces: list[bytes]

    @classmethod
    def encode(cls, text: str | bytes) -> EncodedText:
        """On a worker thread, a slice at a time, by msgspec's module function (the event loop's `_LINES` encoder
        stays the loop's own); bytes are read as UTF-8 (`surrogateescape`, as mitmproxy's `get_text` does).
        UnicodeEncodeError: a lone surrogate (msgspec refuses it)."""
        slices: Iterable[str | bytes] = (text[start:start + TEXT_SLICE] for start in range(0, len(text), TEXT_SLICE))
        if isinstance(text, bytes):  # a character may be cut between two slices: decoded as a stream
            decode = codecs.getincrementaldecoder("utf-8")("surrogateescape").decode
            slices = chain(map(decode, slices), [decode(b"", True)])
        return cls([b'"', *(msgspec.json.encode(piece)[1:-1] for piece in slices), b'"'])

    def text(self) -> str:
        return msgspec.json.decode(b"".join(self.pieces))


def _with_body(line: dict[str, Any], body: Any) -> dict[str, Any]:
    return {**line, "request": {**line["request"], "body": body}}


class _TextLine(msgspec.Struct, tag_field="kind", tag="chunk", gc=False):
    """`{"kind":"chunk","t":...,"text":...}`: the tag is written first, then the fields in this order."""

    t: float | None
    text: str


class _Base64Line(msgspec.Struct, tag_field="kind", tag="chunk", gc=False):
    t: float | None
    b64: bytes
    """msgspec writes bytes as base64."""


_LINES = msgspec.json.Encoder()


def chunk_lines(times: list[float | None], chunks: list[bytes]) -> bytes:
    """The chunk lines of format v1 for these chunks: `text` where a chunk is valid UTF-8 on its own, else `b64`;
    `t` to the microsecond. The common case (every chunk valid UTF-8) runs without a Python frame per chunk (`map`
    over C functions, msgspec's encoder): about 0.6 µs a line on the proxy's event loop, half of what the escaping
    and formatting of the `json` module's C functions cost."""
    try:
        stamps = list(map(truediv, map(float.__round__, map(mul, times, repeat(1e6))), repeat(1e6)))  # to the µs
    except TypeError:  # a chunk without a time
        stamps = [None if t is None else round(t, 6) for t in times]
    try:
        lines = list(map(_TextLine, stamps, map(bytes.decode, chunks)))  # strict UTF-8
    except UnicodeDecodeError:  # a chunk that splits a character, or a binary body: line by line
        lines = list(map(_line, stamps, chunks))
    return _LINES.encode_lines(lines)


def _line(t: float | None, data: bytes) -> _TextLine | _Base64Line:
    try:
        return _TextLine(t, data.decode())
    except UnicodeDecodeError:
        return _Base64Line(t, data)


class BatchedWrites:
    """When the streams' queued chunks are written (`StreamRecording`'s `defer`): a full batch at the event loop's
    next turn; the others all together, `WRITE_DELAY` after the first of them was queued, with one timer for every
    stream, not one each. Paced streams queue one chunk at a time, so each asked for a timer of its own on nearly
    every chunk: 50 streams of a chunk every 20 ms cost 23 µs of CPU per chunk with one timer against 31 with one
    per stream (`bench/paced_writes.py`)."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self._waiting: list[Callable[[], None]] = []
        """The flushes due when the timer fires, in the order they were asked for."""

    def defer(self, delay: float, flush: Callable[[], None]) -> None:
        if delay <= 0:
            self.loop.call_soon(flush)
            return
        if not self._waiting:
            self.loop.call_later(delay, self._flush_waiting)  # NOTE: every stream asks with `WRITE_DELAY`
        self._waiting.append(flush)

    def _flush_waiting(self) -> None:
        waiting, self._waiting = self._waiting, []
        for flush in waiting:
            flush()  # NOTE: a flush catches what it raises (`StreamRecording.flush`)


@dataclass(frozen=True, slots=True)
class Ending:
    """How the proxy saw the stream end, before the events are looked at."""

    kind: str
    """`response` (the body ended normally), `client` (the app went away), `upstream` (the server went away),
    `error` (anything else the proxy reported), `stopped` (the recorder shut down first)."""
    error: str | None = None


def _at_once(delay: float, flush: Callable[[], None]) -> None:
    """`StreamRecording`'s `defer` outside an event loop: every chunk written as it comes."""
    flush()


class StreamRecording:
    """Records one response. `on_chunk` is given each network chunk; `finish` once the proxy says the body is over.

    The call only stamps the chunk and queues it; `flush` decodes and writes the queue `WRITE_DELAY` later,
    or once `_BATCH` chunks wait (`defer(delay, flush)` schedules it on the event loop: `BatchedWrites.defer`),
    so a burst of chunks costs one `write(2)`, not one each, and never holds up the chunk that filled the batch.
    Without `defer` every chunk is written at once.
    """

    def __init__(
        self,
        writer: ChunkWriter,
        started: float,
        decoder: BodyDecoder,
        *,
        summary: dict,
        defer: Callable[[float, Callable[[], None]], object] | None = None,
        client: ClientWatch | None = None,
    ) -> None:
        self.writer = writer
        self.started = started
        """Wall-clock time the request was sent: chunk times are seconds since then."""
        self._zero = time.monotonic() - max(0.0, time.time() - started)
        """`started` on the monotonic clock: chunk times never step back with the wall clock (an NTP step, a VM
        resume), and a negative time would make the whole recording unreadable."""
        self.decoder = decoder
        self.summary = summary
        """What the live line needs from the header: method, path, status, whether the body is an event stream."""
        self.failure: str | None = None
        """Set when recording failed (disk, decoding): the app's stream still passes, the file says `error`."""
        self.finished = False
        self.ended_at: float | None = None
        """Seconds from the request to the end of the body: the end line's time (the verdict comes later)."""
        self.client_left = False
        """The proxy learnt the client had gone while the body still came: the rest was not recorded."""
        self._defer = defer or _at_once
        self._client = client.client if client is not None else None
        """Asked before each chunk whether the app is still there (None: never asked), with `_sockets`, which
        watches `_socket`: `ClientWatch`'s parts, each one attribute away on every chunk."""
        self._sockets = client.sockets if client is not None else None
        self._socket = client.socket if client is not None else None
        self._taking = True
        """Chunks still go into the recording: not finished, not failed, the client still there."""
        self._times: list[float] = []
        self._chunks: list[bytes] = []
        """The queue: the chunks not written yet and their times, in two lists so a batch is written in C."""
        self._secrets: Sequence[str] = ()

    @property
    def path(self) -> Path:
        return self.writer.path

    def elapsed(self) -> float:
        """Seconds since the request was sent, now."""
        return time.monotonic() - self._zero

    def end_time(self) -> float:
        """The end line's time: when the body ended, or now for one that has not (the recorder stopped)."""
        return self.ended_at if self.ended_at is not None else self.elapsed()

    def on_chunk(self, data: bytes) -> bytes | list[bytes]:
        """mitmproxy's stream callable: queue `data` for the recording, give it back unchanged. The proxy is given
        this bound method, not the instance: Python calls a method without the lookup an instance's `__call__`
        takes (60 ns a chunk, `bench/proxy.py`)."""
        if not data:
            return []  # NOTE: the end marker (twice under HTTP/2); returning b"" for data would end an HTTP/1 body
        if self._taking:
            try:
                now = time.monotonic()
                if (client := self._client) is not None:  # NOTE: inline, not a call: every chunk
                    state = client.state
                    sockets = self._sockets
                    if (state is not OPEN and state is not CAN_WRITE) or (sockets is not None and (
                            self._socket in sockets.found if now < sockets.next_poll  # `hung_up` while it holds
                            else sockets.hung_up(self._socket, now))):  # type: ignore[arg-type]
                        self.client_left = True  # what comes from here on never reaches the client: not recorded
                        self._taking = False
                        return data
                self._times.append(now - self._zero)  # NOTE: `elapsed()` inline: every chunk
                chunks = self._chunks
                chunks.append(data)
                if len(chunks) == 1:
                    self._defer(WRITE_DELAY, self.flush)  # a little later, with whatever else arrives meanwhile
                elif len(chunks) == _BATCH:
                    self._defer(0, self.flush)  # a burst: as soon as this chunk has gone on to the client
            except Exception as error:  # noqa: BLE001  the one boundary: nothing may escape into mitmproxy
                self._fail(error)
        return data

    def record(self, t: float, data: bytes, secrets: Sequence[str] = ()) -> None:
        """Queue a chunk received at `t` (a whole buffered body, for instance) and write it now, with each of the
        request's `secrets` it echoes redacted (an error body that quotes the key the client sent)."""
        self._times.append(t)
        self._chunks.append(data)
        self._secrets = secrets
        self.flush()

    def flush(self) -> None:
        """Decode and write the queued chunks. Runs as an event-loop callback, so it catches what it raises."""
        times, chunks = self._times, self._chunks
        if not chunks:
            return
        self._times, self._chunks = [], []
        if self.failure is not None:
            return
        try:
            if not self.decoder.is_identity:
                decode = self.decoder.decode
                decoded = [(t, text) for t, data in zip(times, chunks, strict=True) if (text := decode(data))]
                times, chunks = [t for t, _ in decoded], [text for _, text in decoded]
            if self._secrets:
                chunks = [_without(chunk, self._secrets) for chunk in chunks]
            if chunks:
                self.writer.write(chunk_lines(times, chunks))
        except Exception as error:  # noqa: BLE001  same boundary, a little later
            self._fail(error)

    def finish(self) -> None:
        """Write what is queued and what the decoder still holds; the end line comes with the verdict."""
        if self.finished:
            return
        self.finished = True
        self._taking = False
        self.ended_at = self.elapsed()
        self.flush()
        if self.failure is None:
            try:
                tail = self.decoder.flush()
                if tail:
                    self.writer.chunk(self.elapsed(), tail)
            except (OSError, DecodeError) as error:
                self._fail(error)

    def _fail(self, error: Exception) -> None:
        if isinstance(error, OSError | DecodeError):  # the disk, or the upstream's body: one line says it all
            log.error("sse-inspector: error: recording %s stopped (%s): the stream passes through unrecorded",
                      self.path, (error.strerror if isinstance(error, OSError) else None) or error)
        else:  # a bug of ours: its traceback
            log.exception("sse-inspector: recording %s failed; the stream passes through unrecorded", self.path)
        self.failure = f"recorder failed: {error}"
        self._taking = False


def _without(chunk: bytes, secrets: Sequence[str]) -> bytes:
    """`chunk` with each secret it holds redacted as the request's header keeps it (`…WXYZ`)."""
    for secret in secrets:
        raw = secret.encode()
        if raw in chunk:
            chunk = chunk.replace(raw, redact_value(secret).encode())
    return chunk
