"""Replay recordings as a live streaming endpoint, so a client can be tested offline against a real stream.

A tornado server on 127.0.0.1 answers each POST with a recording's status, headers and chunks, paced by the
recorded times divided by `speed` (a raw SSE file has no times: one event every 20 ms). Several recordings are
matched by request path, then served in turn. Two faults help client developers test their error paths:
`cut_after` drops the connection once N events went out, `stall_at` pauses before event N. A recording whose
upstream broke the connection mid-body is replayed so: the connection breaks after its last chunk.

`schedule()` turns a stream into timed steps without any I/O, so pacing and faults are tested on their own;
the handler only carries the steps out. `ReplayServer` runs the same server in a background thread (tests,
`demo`, `probe` tests); `serve_forever` runs it in the foreground (`sse-inspector serve`). Stopping the server
wakes every response still streaming: each drops its connection at once (a client sees a cut stream, never a
clean end that was not recorded), and the server returns only when they all have.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import re
import signal
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import tornado.httpserver
import tornado.iostream
import tornado.netutil
import tornado.web

from .escape import visible
from .inputs import InputError, expand, open_source
from .protocols import detect
from .protocols.base import DONE
from .recording import Chunk
from .sse import Event, SSEParser

log = logging.getLogger(__name__)


class VisibleFormatter(logging.Formatter):
    """For `serve`'s request lines: they carry what a client sent (a request path holding ESC): shown, never obeyed."""

    def format(self, record: logging.LogRecord) -> str:
        return visible(super().format(record), one_line=True)


HOST = "127.0.0.1"
RAW_EVENT_INTERVAL = 0.02
"""Seconds between two events of a raw SSE file, which carries no times of its own."""

DROPPED_HEADERS = frozenset({"content-length", "transfer-encoding", "connection", "content-encoding", "keep-alive"})
"""Hop-by-hop headers, and those that no longer hold: chunks are stored decoded and re-framed by the server."""

_LINE_END = re.compile(rb"\r\n|\r|\n")


# -- what to serve -------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Entry:
    """One servable stream: where it came from, what it answers, and how to read its chunks again."""

    file: str
    request_path: str | None
    protocol: str | None
    status: int
    headers: tuple[tuple[str, str], ...]
    """As tornado sends them (`_wire_header`)."""
    left_out: tuple[str, ...] = ()
    """The names of recorded headers no HTTP/1.1 response can carry."""
    broken: bool = False
    """The upstream broke the connection after the recorded chunks (`End.broken_by`): the replay breaks it
    too, so the client meets the error the recorded one met, not a clean end."""
    answered: bool = True
    """False for a recording of a request no response came to (`http/no-response`): the replay closes the
    connection without one, as the upstream did."""
    held: bool = False
    """The client left before the server ended the body (`client-disconnected`): after the recorded chunks the
    replay stays silent until the client leaves, as the server did (Codex's idle timeout fired live; a replay that
    ended the body made it say the stream closed instead)."""

    @property
    def is_stream(self) -> bool:
        """A 2xx answer served as an event stream (not an error body, not a JSON answer)."""
        return 200 <= self.status < 300 and any(
            name.lower() == "content-type" and "text/event-stream" in value.lower() for name, value in self.headers)

    def chunks(self) -> Iterator[Chunk]:
        """The stream's chunks, read afresh from the file for every request (nothing is kept in memory)."""
        yield from open_source(self.file).chunks()


def load_entries(paths: Sequence[str]) -> list[Entry]:
    """Every recording or raw SSE file under `paths`, ready to serve; InputError for anything unusable."""
    files = expand(paths)
    if "-" in files:
        raise InputError("-: serve reads each recording again for every request, so it needs files, not stdin")
    if not files:
        raise InputError(f"{' '.join(paths)}: no recordings or SSE files found")
    return [_entry(file) for file in files]


def _entry(file: str) -> Entry:
    source = open_source(file)
    header = source.header
    parser, sniffed = SSEParser(), None
    for chunk in source.chunks():  # one whole read: a broken line fails now, not in the middle of a response
        if header is None and sniffed is None:
            sniffed = _protocol_of(parser.feed(chunk.data))
    broken = source.end is not None and source.end.broken_by is not None
    held = source.end is not None and source.end.reason == "client-disconnected"
    if header is None:
        return Entry(file, None, sniffed, 200, (("Content-Type", "text/event-stream"),))
    if header.response is None:
        return Entry(file, header.path, header.protocol or detect.from_path(header.path), 0, (), answered=False)
    headers, left_out = [], []
    recorded = (header.response or {}).get("headers") or {}
    for name, value in recorded.items():
        if name.lower() not in DROPPED_HEADERS:
            sent = _wire_header(name, value)
            if sent is None:
                left_out.append(name)
            else:
                headers.append(sent)
    # the headers as the server sent them, a missing content type too (anyclaude's); none known (an imported body's):
    # the type of what is served
    if not recorded:
        headers.append(("Content-Type", "text/event-stream"))
    protocol = header.protocol or detect.from_path(header.path)
    return Entry(file, header.path, protocol, header.status or 200, tuple(headers), tuple(left_out), broken,
                 held=held)


_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
"""What a header name may be made of (RFC 9110's token)."""
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _wire_header(name: str, value: object) -> tuple[str, str] | None:
    """A recorded header as tornado must get it to send the bytes that came over the wire, or None where no HTTP/1.1
    response can carry it (a name that is not a token, a control character, a lone surrogate no byte became).

    mitmproxy decodes header bytes as UTF-8, a byte that is not as a lone surrogate (`surrogateescape`); tornado
    writes a value as Latin-1. So a Latin-1 `é` from the upstream is the byte 0xE9 again, and a UTF-8 `é` its two
    bytes, not one, as tornado would make of the text."""
    try:
        wire = str(value).encode("utf-8", "surrogateescape").decode("latin-1")
    except UnicodeEncodeError:
        return None
    if not _TOKEN.fullmatch(name) or _CONTROL.search(wire):
        return None
    return name, wire


def _protocol_of(events: Iterable[Event]) -> str | None:
    """The protocol the first telling event names (a raw SSE file has no request path to go by)."""
    for event in events:
        found = detect.from_payload(event.type, _json_or_none(event.data))
        if found:
            return found
    return None


def _json_or_none(data: str) -> object:
    if data == "[DONE]":
        return DONE
    try:
        return json.loads(data)
    except (ValueError, RecursionError):
        return None


@dataclass
class Catalog:
    """Picks the recording that answers a request: same path, else same protocol, in turn. A path of no known
    protocol (a gateway's own route) may get any recording; a path of a known one may get one of no known protocol
    (an error body, a file that does not parse), never another protocol's stream, which its client would misread in
    ways that point nowhere near the cause: it gets a 404."""

    entries: list[Entry]
    _turns: dict[tuple[int, ...], Iterator[int]] = field(default_factory=dict)

    def pick(self, request_path: str) -> Entry | None:
        """The recording that answers `request_path` this time; None: none may."""
        candidates = self._candidates(request_path)
        if not candidates:
            return None
        if candidates not in self._turns:
            self._turns[candidates] = itertools.cycle(candidates)
        return self.entries[next(self._turns[candidates])]

    def _candidates(self, request_path: str) -> tuple[int, ...]:
        """Indices of the entries that may answer: same path, else same protocol, else those of no known protocol
        (for a path of none: all)."""
        numbered = list(enumerate(self.entries))
        same_path = tuple(i for i, entry in numbered if entry.request_path == request_path)
        protocol = detect.from_path(request_path)
        if protocol is None:
            return same_path or tuple(range(len(self.entries)))
        return (same_path or tuple(i for i, entry in numbered if entry.protocol == protocol)
                or tuple(i for i, entry in numbered if entry.protocol is None))

    def refuses(self, request_path: str, body: str) -> str | None:
        """Why a request that asks for no stream gets none of the recorded streams (None: it may): its client reads
        one JSON object, and taking a stream's turn would shift every later request's answer (CrewAI's Anthropic
        agent calls `count_tokens` first, and its replay never saw the tool call). Only an API request (one that
        names its model) is refused so: a bare `curl -d '{}'` still gets a stream."""
        if request_path.rstrip("/").endswith("/count_tokens") and not any(
                entry.request_path == request_path for entry in self.entries):
            return f"{request_path} counts tokens and is not recorded: serve replays recorded streams"
        candidates = self._candidates(request_path)
        if (candidates and all(self.entries[i].is_stream for i in candidates) and '"model"' in body
                and detect.declines_stream(request_path, body)):  # NOTE: an SDK's request names its model
            return ("the request does not ask for a stream (no `\"stream\": true` in its body), and every recording "
                    f"served for {request_path} is one: serve replays recorded streams")
        return None

    def not_found(self, request_path: str) -> str:
        """Why nothing answers `request_path`: the protocol it names, and those served."""
        served = sorted({entry.protocol for entry in self.entries if entry.protocol})
        return (f"no recording of {detect.from_path(request_path)} is served for {request_path} "
                f"(serving {', '.join(served)})")


# -- when to send what ----------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Faults:
    """Faults to inject: drop the connection after `cut_after` events, pause `stall_seconds` before event
    `stall_at` (0-based, so `stall_at=0` pauses before the first byte)."""

    cut_after: int | None = None
    stall_at: int | None = None
    stall_seconds: float = 0.0

    @classmethod
    def parse_stall(cls, value: str) -> tuple[int, float]:
        """`N:SECONDS` -> (N, seconds); ValueError with a readable message otherwise."""
        event, colon, seconds = value.partition(":")
        try:
            parsed = int(event), float(seconds)
        except ValueError:
            parsed = None
        if not colon or parsed is None or parsed[0] < 0 or not 0 <= parsed[1] < float("inf"):
            raise ValueError(f"expected EVENT:SECONDS with EVENT >= 0 and SECONDS >= 0, got {value!r}")
        return parsed


@dataclass(frozen=True, slots=True)
class Send:
    """Write `data` at `at` seconds after the response started (pauses come on top)."""

    at: float
    data: bytes

    async def perform(self, out: _Outlet) -> bool:
        await out.send_at(self.at, self.data)
        return True


@dataclass(frozen=True, slots=True)
class Pause:
    seconds: float

    async def perform(self, out: _Outlet) -> bool:
        await out.pause(self.seconds)
        return True


@dataclass(frozen=True, slots=True)
class Cut:
    """Drop the connection without ending the response."""

    async def perform(self, out: _Outlet) -> bool:
        out.cut()
        return False


@dataclass(frozen=True, slots=True)
class Hold:
    """Send nothing more and keep the response open until the client leaves (or the server stops)."""

    async def perform(self, out: _Outlet) -> bool:
        await out.hold()
        return False


Step = Send | Pause | Cut | Hold


def schedule(chunks: Iterable[Chunk], speed: float = 1.0, faults: Faults = Faults(), *,
             broken: bool = False, held: bool = False) -> Iterator[Step]:
    """The steps that replay `chunks`: recorded chunks unchanged at their time / speed, untimed bytes one event
    per `RAW_EVENT_INTERVAL / speed`; a chunk is split only where a fault sits between two of its events. `broken`:
    the recorded connection broke after the last chunk, so the replay ends with a `Cut`; `held`: the client left
    first, so it ends with a `Hold`."""
    if speed <= 0:
        raise ValueError(f"speed must be positive, got {speed}")
    interval = RAW_EVENT_INTERVAL / speed
    if faults.cut_after == 0:
        yield Cut()
        return
    if faults.stall_at == 0:
        yield Pause(faults.stall_seconds)
    parser = SSEParser()
    events = 0
    pending = bytearray()  # bytes not sent yet; untimed ones wait for the end of their event
    for chunk in chunks:
        at = None if chunk.t is None else chunk.t / speed
        for piece, completed in _pieces(parser, chunk.data):
            pending += piece
            if not completed:
                continue
            events += completed
            if at is None:  # untimed: each event goes out on its own, on the event clock
                yield Send((events - 1) * interval, bytes(pending))
                pending.clear()
            if faults.cut_after == events or faults.stall_at == events:
                if pending:
                    yield Send(at, bytes(pending))
                    pending.clear()
                if faults.cut_after == events:
                    yield Cut()
                    return
                yield Pause(faults.stall_seconds)
        if pending and at is not None:
            yield Send(at, bytes(pending))
            pending.clear()
    if pending:
        yield Send(events * interval, bytes(pending))
    if broken:
        yield Cut()
    elif held:
        yield Hold()


def as_json_array(steps: Iterator[Step]) -> Iterator[Step]:
    """The steps of a Gemini event stream with each event's data sent as one element of a JSON array instead, at
    the time its event would have gone: the form a request without `alt=sse` asks for (Google separates the
    elements with `,\\r\\n`). The array stays open where the replay breaks the connection or holds it."""
    parser, opened, at = SSEParser(), False, 0.0

    def elements(events: list[Event]) -> bytes:
        nonlocal opened
        text = ",\r\n".join(event.data for event in events)
        start, opened = ",\r\n" if opened else "[", True
        return (start + text).encode()

    for step in steps:
        if isinstance(step, Send):
            at = step.at
            events = parser.feed(step.data)
            if events:
                yield Send(at, elements(events))
            continue
        yield step
        if isinstance(step, Cut | Hold):
            return
    last = parser.close()  # a last event no blank line closed: python-genai takes its `data:` line too
    yield Send(at, (elements(last) if last or not opened else b"") + b"]")


def _pieces(parser: SSEParser, data: bytes) -> Iterator[tuple[bytes, int]]:
    """`data` cut after each line end, each piece with the number of events it completed (0 or 1)."""
    start = 0
    for match in _LINE_END.finditer(data):
        piece = data[start : match.end()]
        yield piece, len(parser.feed(piece))
        start = match.end()
    if start < len(data):
        yield data[start:], len(parser.feed(data[start:]))


# -- the server --------------------------------------------------------------------------------------------------

IDLE_TIMEOUT = 30.0


@dataclass
class Replay:
    """What the server serves and how: the catalog, the speed and the faults."""

    catalog: Catalog
    speed: float = 1.0
    faults: Faults = Faults()
    idle_timeout: float = IDLE_TIMEOUT
    """Seconds a client may take to send a request's headers, or its body, or to start the next request on a
    kept-alive connection, before the connection is closed: slow clients (slowloris) cannot hold it forever."""

    @classmethod
    def from_paths(cls, paths: Sequence[str], speed: float = 1.0, faults: Faults = Faults(),
                   idle_timeout: float = IDLE_TIMEOUT) -> Replay:
        return cls(Catalog(load_entries(paths)), speed, faults, idle_timeout)


@dataclass
class _Running:
    """What the handlers share with the server loop: the stop signal, and the responses still streaming."""

    stop: asyncio.Event
    streaming: set[asyncio.Task] = field(default_factory=set)


class _Stopped(Exception):
    """The server is stopping: the response ends where it is."""


class _Outlet:
    """Carries out steps on one response: a clock that starts when the headers went out, plus the pauses.
    Every wait ends early, with `_Stopped`, when the server stops."""

    def __init__(self, handler: tornado.web.RequestHandler, stop: asyncio.Event) -> None:
        self.handler = handler
        self.stop = stop
        self.loop = asyncio.get_running_loop()
        self.start = self.loop.time()
        self.client_gone = asyncio.Event()
        """Set by the handler when tornado sees the client close the connection."""

    async def send_at(self, at: float, data: bytes) -> None:
        await self._wait(self.start + at - self.loop.time())
        self.handler.write(data)
        await self.handler.flush()

    async def pause(self, seconds: float) -> None:
        self.start += seconds
        await self._wait(seconds)

    async def _wait(self, seconds: float) -> None:
        if seconds > 0 and not self.stop.is_set():
            try:
                async with asyncio.timeout(seconds):
                    await self.stop.wait()
            except TimeoutError:
                return
        if self.stop.is_set():
            raise _Stopped

    def cut(self) -> None:
        self.handler.request.connection.stream.close()

    async def hold(self) -> None:
        stopping = asyncio.ensure_future(self.stop.wait())
        leaving = asyncio.ensure_future(self.client_gone.wait())
        try:
            await asyncio.wait((stopping, leaving), return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopping.cancel()
            leaving.cancel()
        if self.stop.is_set():
            raise _Stopped


class _ReplayHandler(tornado.web.RequestHandler):
    """Answers every POST with the next matching recording; other methods get 405 from tornado."""

    SUPPORTED_METHODS = ("POST",)

    def initialize(self, replay: Replay, running: _Running) -> None:
        self.replay = replay
        self.running = running
        self.outlet: _Outlet | None = None

    def on_connection_close(self) -> None:
        if self.outlet is not None:
            self.outlet.client_gone.set()

    async def post(self, *_: str) -> None:
        task = asyncio.current_task()
        self.running.streaming.add(task)
        try:
            await self._answer()
        finally:
            self.running.streaming.discard(task)

    async def _answer(self) -> None:
        catalog = self.replay.catalog
        path = self.request.path
        refused = catalog.refuses(path, self.request.body.decode("utf-8", "replace"))
        if refused is not None:
            log.info("%s %s -> 400: %s", self.request.method, path, refused)
            self.set_status(400)
            self.finish({"error": {"message": f"sse-inspector serve: {refused}", "type": "invalid_request_error"}})
            return
        entry = catalog.pick(path)
        if entry is None:
            message = catalog.not_found(path)
            log.info("%s %s -> 404: %s", self.request.method, path, message)
            self.set_status(404)
            self.finish({"error": {"message": f"sse-inspector serve: {message}", "type": "not_found_error"}})
            return
        if not entry.answered:
            log.info("%s %s -> %s (no response, as recorded)", self.request.method, self.request.path,
                     Path(entry.file).name)
            self.request.connection.stream.close()
            return
        log.info("%s %s -> %s (%s)", self.request.method, self.request.path, Path(entry.file).name, entry.status)
        self.set_status(entry.status)
        self.clear_header("Content-Type")
        recorded = {name.lower() for name, _ in entry.headers}
        for default in ("Server", "Date"):  # tornado's own, sent twice beside the recorded ones
            if default.lower() in recorded:
                self.clear_header(default)
        for name, value in entry.headers:
            self.add_header(name, value)
        steps = schedule(entry.chunks(), self.replay.speed, self.replay.faults, broken=entry.broken,
                         held=entry.held)
        if (200 <= entry.status < 300 and entry.protocol == "gemini"
                and detect.asks_for_array(self.request.path, self.request.query)):
            steps = as_json_array(steps)
            self.set_header("Content-Type", "application/json; charset=UTF-8")
        try:
            await self.flush()
            out = self.outlet = _Outlet(self, self.running.stop)
            for step in steps:
                if not await step.perform(out):
                    return
        except tornado.iostream.StreamClosedError:
            log.info("%s %s: the client went away before the end", self.request.method, self.request.path)
        except _Stopped:
            log.info("%s %s: cut short, the server is stopping", self.request.method, self.request.path)
            self.request.connection.stream.close()
        finally:
            steps.close()


def make_app(replay: Replay, running: _Running) -> tornado.web.Application:
    return tornado.web.Application([(r"/(.*)", _ReplayHandler, {"replay": replay, "running": running})])


async def _run(replay: Replay, port: int, ready: Callable[[int], None], stop: asyncio.Event) -> None:
    sockets = tornado.netutil.bind_sockets(port, address=HOST)
    running = _Running(stop)
    server = tornado.httpserver.HTTPServer(
        make_app(replay, running), idle_connection_timeout=replay.idle_timeout, body_timeout=replay.idle_timeout
    )  # tornado's idle timeout also bounds the wait for a request's headers
    server.add_sockets(sockets)
    try:
        ready(sockets[0].getsockname()[1])
        await stop.wait()
    finally:
        stop.set()  # also when cancelled: the responses still streaming must end before the loop does
        server.stop()
        await server.close_all_connections()  # a response blocked on a client that does not read ends too
        if running.streaming:
            await asyncio.wait(running.streaming)


def serve_forever(replay: Replay, port: int = 0, ready: Callable[[int], None] = lambda port: None) -> None:
    """Serve in the foreground; `ready(port)` is called once the socket is bound. SIGINT (Ctrl-C) and SIGTERM
    stop it and it returns normally, once every response still streaming has been cut and its connection
    closed."""

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        await _run(replay, port, ready, stop)

    asyncio.run(main())


class ReplayServer:
    """The replay server in a background thread, as a context manager: `with ReplayServer(replay) as server:`
    then `server.url`. Leaving the block closes every connection and joins the thread."""

    def __init__(self, replay: Replay, port: int = 0) -> None:
        self.replay = replay
        self.port = port
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._main, name="replay-server", daemon=True)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._failure: BaseException | None = None

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def __enter__(self) -> ReplayServer:
        self._thread.start()
        self._ready.wait()
        if self._failure is not None:
            self._thread.join()
            raise self._failure
        return self

    def __exit__(self, *_: object) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join()

    def _main(self) -> None:
        async def main() -> None:
            self._loop = asyncio.get_running_loop()
            self._stop = asyncio.Event()
            await _run(self.replay, self.port, self._bound, self._stop)

        try:
            asyncio.run(main())
        except OSError as error:  # the port is taken: report it to the thread that waits in __enter__
            self._failure = error
            self._ready.set()

    def _bound(self, port: int) -> None:
        self.port = port
        self._ready.set()


def describe(entries: Sequence[Entry]) -> list[str]:
    """One line per served stream: the request path it answers, its protocol, its file, and the recorded headers
    it cannot send."""
    return [
        f"{entry.request_path or _answered_without_path(entry)}  {entry.protocol or 'unknown protocol'}  "
        f"{Path(entry.file).name}"
        + (f"  (not sendable, left out: {', '.join(entry.left_out)})" if entry.left_out else "")
        + ("  (ends by breaking the connection, as recorded)" if entry.broken else "")
        + ("  (no response: closes the connection, as recorded)" if not entry.answered else "")
        + ("  (then silent until the client leaves, as recorded)" if entry.held else "")
        for entry in entries
    ]


def _answered_without_path(entry: Entry) -> str:
    """What a recording with no request path answers (`Catalog`)."""
    return "(any path)" if entry.protocol is None else "(any path but another protocol's)"
