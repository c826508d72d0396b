"""The recorder addon: every LLM event stream that crosses mitmproxy lands in its own recording.

`addons/sse_recorder.py` loads it into `mitmdump`; `sse-inspector record` runs it in-process. For every
`text/event-stream` response, `responseheaders` sets `flow.response.stream` to a `StreamRecording`'s `on_chunk`,
which hands each chunk to the app unchanged the moment it arrives and writes it, decoded, to the recording (an addon
loaded before the recorder that set a stream callable of its own keeps it: `Chained` records, then calls it). When
the body is over (`response` or `error`), a child process reads the recording back and validates it; back here the
end line is written and the live line reported, so judging a stream never delays anyone's traffic nor holds the
proxy's GIL. A streaming request answered with a plain body (a 401 or 429 JSON error) is recorded too: the user
sees why no stream came. When mitmproxy stops (`done`), the streams still open end as stopped; the connections it
closes after that start no new recording.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import BrokenExecutor, Executor, Future, ThreadPoolExecutor
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from mitmproxy import ctx, exceptions, http
from mitmproxy.connection import Client, ConnectionState
from mitmproxy.net.http.headers import infer_content_encoding

from ..escape import visible
from ..protocols import detect
from ..recording import Header
from ..redact import Policy
from .client_watch import WRITABLE, ClientWatch, SocketWatch
from .decode import BodyDecoder, DecodeError
from .stream import BatchedWrites, ChunkWriter, EncodedText, Ending, StreamRecording
from .verdict import Finished, StreamResult, judge, write_end
from .verdict_process import VerdictProcess

log = logging.getLogger(__name__)

STREAM_CHOICES = ("llm", "all")
PREPARED_ABOVE = 256 * 1024
"""Request bodies larger than this (bytes) are redacted and encoded for the recording's header on a worker thread as
soon as the request is in (`Recorder.request`), not on the event loop when the response starts."""
CLIENT_LEFT = "the client went away before the end of the body reached it"
_DROPPED_WHEN_DECODED = ("content-encoding", "content-length")  # the recorded chunks are decoded
# fmt: off
_ENDING_BY_MESSAGE = (
    # What mitmproxy 11 says in `flow.error.msg`, lower-cased, mapped to who went away.
    ("client disconnected",            "client"),
    ("reset by client",                "client"),
    ("server closed connection",       "upstream"),
    ("without sending complete",       "upstream"),   # h11: the upstream closed inside the body
    ("reset by server",                "upstream"),
)
# fmt: on


class Recorder:
    """mitmproxy addon: record event streams without buffering or changing them."""

    def __init__(
        self,
        on_result: Callable[[StreamResult], None] | None = None,
        on_running: Callable[[list[tuple[str, int]]], None] | None = None,
        executor: Executor | None = None,
    ) -> None:
        self.on_result = on_result or _log_result
        """Called with each finished stream's result, where the verdict's future completes: on the event loop
        (`VerdictProcess`), or on the thread of an executor that completes them in one."""
        self.on_running = on_running
        self._executor = executor or VerdictProcess()
        self._pending: set[Future] = set()
        self._executor_lock = threading.Lock()
        """`_judge` may run on the event loop and on an executor's thread (a retry): one new executor, not two."""
        self._recordings: dict[str, tuple[http.HTTPFlow, StreamRecording]] = {}
        """The event streams still open, by flow id."""
        self._sockets = SocketWatch()
        self._watched: dict[str, int] = {}
        """The client socket `_sockets` watches for each open event stream, by flow id."""
        self._writes: BatchedWrites | None = None
        self._bodies: dict[str, tuple[bytes, Future]] = {}
        """Large request bodies being made ready for their header on `_body_worker`, with the raw body they were
        made from, by flow id."""
        self._body_worker: ThreadPoolExecutor | None = None
        self._reported_dir_error: str | None = None
        self._stopped = False

    # -- options -------------------------------------------------------------------------------------------------

    def load(self, loader) -> None:
        loader.add_option("sse_dir", str, "recordings", "Directory the recordings are written to.")
        loader.add_option(
            "sse_redact", Sequence[str], [],
            "Extra header, query parameter, form or JSON field names whose values are redacted, on top of the policy "
            "(names with key, token, secret, password, auth, cookie, session, credential or signature among their "
            "words; see docs/recording.md).",
        )
        loader.add_option(
            "sse_request_body", bool, True, "Keep request bodies in recordings (secret JSON fields redacted)."
        )
        loader.add_option(
            "sse_streams", str, "llm",
            "Which event streams to record: llm (requests to an LLM API path) or all (every text/event-stream).",
            choices=STREAM_CHOICES,
        )
        loader.add_option(
            "sse_listen_file", str | None, None,
            "Write the proxy's bound address (host:port) to this file once it listens, for scripts and tests.",
        )

    def configure(self, updated: set[str]) -> None:
        if "sse_streams" in updated and ctx.options.sse_streams not in STREAM_CHOICES:
            raise exceptions.OptionsError(f"sse_streams must be one of {', '.join(STREAM_CHOICES)}")
        if "sse_dir" in updated:
            self._reported_dir_error = None
            directory = Path(ctx.options.sse_dir)
            try:
                directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            except OSError as error:
                # A warning: mitmproxy exits on an error logged at startup, and the app's traffic must pass.
                self._dir_error(error, logging.WARNING)

    def running(self) -> None:
        addresses = [(host, port) for host, port, *_ in ctx.master.addons.get("proxyserver").listen_addrs()]
        target = ctx.options.sse_listen_file
        if target and addresses:
            _write_address(Path(target), *addresses[0])
        if self.on_running is not None:
            self.on_running(addresses)

    # -- hooks ---------------------------------------------------------------------------------------------------

    def request(self, flow: http.HTTPFlow) -> None:
        """A large body (a conversation with images or PDF pages: tens of MB) starts being redacted and encoded for
        its header now, on a worker thread, while it goes upstream and the model reads it. Built on the event loop
        when the response starts, it held every live stream up for 100 ms at 21 MB (`bench/big_request.py`)."""
        request = flow.request
        raw = request.raw_content
        if (raw is None or len(raw) <= PREPARED_ABOVE or not ctx.options.sse_request_body or self._stopped
                or "content-encoding" in request.headers or detect.from_path(request.path) is None):
            return  # NOTE: a compressed body is decoded on the loop: mitmproxy's decoding cache is not thread-safe
        if self._body_worker is None:
            self._body_worker = ThreadPoolExecutor(1, thread_name_prefix="sse-inspector-body")
        self._bodies[flow.id] = raw, self._body_worker.submit(header_body, request, tuple(ctx.options.sse_redact))

    def responseheaders(self, flow: http.HTTPFlow) -> None:
        response = flow.response
        if response is None:
            return
        protocol = detect.from_path(flow.request.path)
        sse = is_event_stream(response)
        asked = not sse and protocol is not None and _asks_for_stream(flow.request)  # NOTE: parses the body: once
        if sse or (asked and 200 <= response.status_code < 300):
            # Even unrecorded, an event stream must pass chunk by chunk: mitmproxy would buffer it whole. So must a
            # 2xx answer to a stream request that does not say it is one (anyclaude's proxy sends no content type;
            # the SDKs read its events all the same): the findings say what its type was. Set first,
            # so a recording that fails to start (a bug of ours: mitmproxy logs what a hook raises and goes on)
            # leaves the stream passing as it would without the recorder.
            earlier = response.stream if callable(response.stream) else None  # another addon's, loaded before
            response.stream = earlier or True
            recording = None
            if protocol is not None or ctx.options.sse_streams == "all":
                try:
                    recording = self._start(flow, protocol, sse=True)
                except Exception:  # noqa: BLE001  logged with its traceback; the stream still passes
                    log.exception("sse-inspector: recording %s failed to start; the stream passes through unrecorded",
                                  _shown_url(flow))
            if recording is not None:
                response.stream = recording.on_chunk if earlier is None else Chained(recording, earlier)
                self._recordings[flow.id] = flow, recording
        elif asked:
            flow.metadata["sse_recorder_plain"] = protocol

    def response(self, flow: http.HTTPFlow) -> None:
        _, recording = self._recordings.pop(flow.id, (None, None))
        if recording is None and "sse_recorder_plain" in flow.metadata and flow.response is not None:
            recording = self._start(flow, flow.metadata["sse_recorder_plain"], sse=False)
            if recording is not None:
                end = flow.response.timestamp_end or recording.started
                # NOTE: mitmproxy's timestamps are wall-clock ones: one set back meanwhile must not give a negative time
                secrets = Policy(ctx.options.sse_redact).secret_values(flow.request.headers.items(multi=True),
                                                                       flow.request.pretty_url)
                recording.record(max(0.0, end - recording.started), flow.response.raw_content or b"", secrets)
        if recording is not None:
            gone = recording.client_left or flow.client_conn.state not in WRITABLE
            self._finish(flow, recording, Ending("client", CLIENT_LEFT) if gone else Ending("response"))
        self._forget_body(flow)

    def error(self, flow: http.HTTPFlow) -> None:
        _, recording = self._recordings.pop(flow.id, (None, None))
        if recording is None:
            protocol = detect.from_path(flow.request.path)
            if protocol is not None and _asks_for_stream(flow.request):
                # the upstream never answered, or mitmproxy refused its answer (the app got a 502 and no word of
                # it, nor of its body, which was never read): say why, and nothing about events
                recording = self._start(flow, protocol, sse=False, answered=False)
        if recording is not None:
            self._finish(flow, recording,
                         Ending("client", CLIENT_LEFT) if recording.client_left else _ending_of(flow))
        self._forget_body(flow)

    def done(self) -> None:
        self._stopped = True  # the verdict process is going away: what ends after this is not recorded
        for flow, recording in list(self._recordings.values()):
            if flow.response is not None:  # what still comes passes on, unrecorded: the recording is closed
                stream = flow.response.stream
                flow.response.stream = stream.then if isinstance(stream, Chained) else True
            self._finish(flow, recording, Ending("stopped", "the recorder stopped before the stream ended"))
        self._recordings.clear()
        self._executor.shutdown(wait=True)
        if self._body_worker is not None:
            self._body_worker.shutdown(wait=False, cancel_futures=True)

    # -- internals -----------------------------------------------------------------------------------------------

    def _start(self, flow: http.HTTPFlow, protocol: str | None, *, sse: bool, answered: bool = True
               ) -> StreamRecording | None:
        """`answered`: the app got the upstream's response (else the recording has none, as none reached it)."""
        if self._stopped:
            return None
        response = flow.response if answered else None
        try:
            decoder = BodyDecoder(response.headers.get("content-encoding") if response is not None else None)
        except DecodeError as error:
            log.error("sse-inspector: not recording %s: %s", _shown_url(flow), error)
            return None
        started = flow.request.timestamp_end or flow.request.timestamp_start
        header = self._header(flow, protocol, started, decoder, answered)
        path = Path(ctx.options.sse_dir) / file_name(started, protocol, flow.id)
        try:
            writer = _new_writer(path, header)
        except OSError as error:
            self._dir_error(error)
            return None
        summary = {
            "method": flow.request.method, "path": urlsplit(flow.request.path).path,
            "status": response.status_code if response is not None else None, "sse": sse,
        }
        socket = _socket_fd(flow.client_conn) if sse else None  # a buffered body has no chunks to check
        try:
            recording = StreamRecording(writer, started, decoder, summary=summary, defer=self._batched_writes(),
                                        client=ClientWatch(flow.client_conn, None if socket is None else self._sockets,
                                                           socket))
            if socket is not None:
                self._sockets.watch(socket)
                self._watched[flow.id] = socket
        except BaseException:  # a bug of ours: no file half made is left (the caller logs it; the stream passes)
            writer.close()
            path.unlink(missing_ok=True)
            raise
        return recording

    def _batched_writes(self) -> Callable[[float, Callable[[], None]], None] | None:
        """When the streams' chunks are written, on the running loop (`StreamRecording`'s `defer`); None outside a
        loop (tests)."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return None
        if self._writes is None or self._writes.loop is not loop:
            self._writes = BatchedWrites(loop)
        return self._writes.defer

    def _header(self, flow: http.HTTPFlow, protocol: str | None, started: float, decoder: BodyDecoder,
                answered: bool) -> Header:
        prepared = self._forget_body(flow)
        try:
            body = prepared.result() if prepared is not None else FROM_FLOW  # NOTE: waits for what is left, if any
        except Exception:  # noqa: BLE001  it failed there (stopping, a bug): made here, as it would have been
            body = FROM_FLOW
        return flow_header(flow, protocol, started, None if decoder.is_identity else decoder.encoding,
                           tuple(ctx.options.sse_redact), keep_body=ctx.options.sse_request_body, answered=answered,
                           body=body)

    def _forget_body(self, flow: http.HTTPFlow) -> Future | None:
        """The body `request` had made ready for this flow's header, if it is still the body the request has (an
        addon after this one may have changed it); forgotten here, either way."""
        raw, prepared = self._bodies.pop(flow.id, (None, None))
        if prepared is None or flow.request.raw_content is raw:
            return prepared
        prepared.cancel()
        return None

    def _finish(self, flow: http.HTTPFlow, recording: StreamRecording, ending: Ending) -> None:
        recording.finish()
        if (socket := self._watched.pop(flow.id, None)) is not None:
            self._sockets.forget(socket)
        self._judge(recording, Finished.of(recording, ending), first_try=True)

    def _judge(self, recording: StreamRecording, finished: Finished, *, first_try: bool) -> None:
        """Hand the stream to the verdict process (from the event loop, or again where a verdict failed)."""
        with self._executor_lock:
            try:
                future = self._executor.submit(judge, finished)
            except BrokenExecutor:  # the verdict process died (killed, out of memory): start another
                log.error("sse-inspector: the verdict process died; starting a new one")
                self._executor = VerdictProcess()
                future = self._executor.submit(judge, finished)
        self._pending.add(future)
        future.add_done_callback(partial(self._concluded, recording, finished, first_try))
        future.add_done_callback(self._pending.discard)

    def _concluded(self, recording: StreamRecording, finished: Finished, first_try: bool, verdict: Future) -> None:
        """The verdict is in (where its future completed): write the end line, report."""
        try:
            try:
                result = verdict.result()
            except BrokenExecutor:
                if not first_try or self._stopped:
                    raise  # NOTE: twice, this stream may be what kills it (out of memory); stopping, nobody waits
                self._judge(recording, finished, first_try=False)  # it died with this stream waiting: again
                return
            try:
                write_end(recording, result)
            except OSError as error:  # the disk filled up, say: the stream is reported all the same
                log.error("sse-inspector: error: cannot end %s (%s)", recording.path, error.strerror or error)
                with contextlib.suppress(OSError):
                    recording.writer.close()
            self.on_result(result)
        except Exception as error:  # noqa: BLE001  logged with its traceback; the next stream must still be judged
            log.exception("sse-inspector: judging %s failed", recording.path)
            with contextlib.suppress(OSError, ValueError):  # the file still gets its end line, if it can
                recording.writer.end(recording.ended_at, "error", f"recorder failed: {error}")
            recording.writer.close()

    def _dir_error(self, error: OSError, level: int = logging.ERROR) -> None:
        """One clear line per directory problem, not one per stream."""
        key = f"{ctx.options.sse_dir}:{error.errno}"
        if self._reported_dir_error == key:
            return
        self._reported_dir_error = key
        log.log(
            level,
            "sse-inspector: error: cannot write recordings to %s (%s): traffic passes through unrecorded",
            ctx.options.sse_dir, error.strerror or error,
        )


FROM_FLOW: Any = object()
"""`flow_header`'s `body` when it is to be made from the flow there."""


def flow_header(
    flow: http.HTTPFlow, protocol: str | None, started: float, decoded_from: str | None, extra: Sequence[str] = (),
    *, keep_body: bool = True, source: str = "proxy", answered: bool = True, body: Any = FROM_FLOW,
) -> Header:
    """The recording header of a flow, secrets redacted: the one place the recorder and `import` build it.
    `decoded_from` names the content encoding undone for the stored chunks (its headers then no longer hold);
    `answered`: the response reached the app (else the header has none); `body`: the request's as `header_body`
    made it already."""
    policy = Policy(extra)
    request = flow.request
    if body is FROM_FLOW:
        body = policy.body(request.get_text(strict=False), request.headers.get("content-type")) if keep_body else None
    elif not keep_body:
        body = None
    recorded_response = None
    if flow.response is not None and answered:
        headers = [(name, value) for name, value in flow.response.headers.items(multi=True)
                   if decoded_from is None or name.lower() not in _DROPPED_WHEN_DECODED]
        recorded_response = {"status": flow.response.status_code, "headers": policy.headers(headers)}
    return Header(
        request={
            "method": request.method,
            "url": policy.url(request.pretty_url),
            "headers": policy.headers(request.headers.items(multi=True)),
            "body": body or None,
        },
        response=recorded_response,
        protocol=protocol,
        source=source,
        id=flow.id,
        started_at=datetime.fromtimestamp(started, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        extra={"decoded_from": decoded_from} if decoded_from else {},
    )


class Chained:
    """The stream callable when another addon had set one: the recording sees each chunk as the upstream sent it,
    then the other callable gets it (the end marker `b""` too) and what it returns goes to the app."""

    __slots__ = ("recording", "then")

    def __init__(self, recording: StreamRecording, then: Callable[[bytes], Any]) -> None:
        self.recording = recording
        self.then = then

    def __call__(self, data: bytes) -> Any:
        self.recording.on_chunk(data)
        return self.then(data)


def header_body(request: http.Request, extra: Sequence[str]) -> EncodedText | str | None:
    """The request body as `flow_header` keeps it, encoded already for the header line (unless it holds a lone
    surrogate, which only the generic way writes). Runs on a worker thread (`Recorder.request`): it only reads the
    request, which no one changes meanwhile. A JSON body read as UTF-8 is parsed as the bytes it is, not decoded
    first: the longest calls, which hold the GIL and so the event loop, are half as long."""
    policy = Policy(extra)
    content_type = request.headers.get("content-type")
    raw = request.raw_content
    try:
        if raw and infer_content_encoding(content_type or "", raw).lower().replace("-", "") == "utf8":
            redacted = policy.json_body(raw)
            return EncodedText.encode(raw if redacted is None else redacted)
    except (ValueError, RecursionError):  # not JSON (a form), too deep, a lone surrogate: as on the loop
        pass
    body = policy.body(request.get_text(strict=False), content_type)
    if not body:
        return None
    try:
        return EncodedText.encode(body)
    except UnicodeEncodeError:
        return body


def _new_writer(path: Path, header: Header) -> ChunkWriter:
    """The recording's file, its directory made again if it went away meanwhile (someone cleaned up `recordings/`
    while the proxy ran): the streams after that are recorded, not lost."""
    try:
        return ChunkWriter(path, header)
    except FileNotFoundError:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        return ChunkWriter(path, header)


def _shown_url(flow: http.HTTPFlow) -> str:
    """The flow's URL for a log line, which may reach a terminal: secrets redacted, control characters shown."""
    return visible(Policy(ctx.options.sse_redact).url(flow.request.pretty_url), one_line=True)


def _socket_fd(client: Client) -> int | None:
    """The client's socket (None: no socket to watch, as in mitmproxy's test contexts or its non-TCP modes).
    NOTE: reaches into mitmproxy 11's proxy server (connection handler, then transport) for the socket: no public
    API gives it."""
    try:
        handler = ctx.master.addons.get("proxyserver").connections[client.id]
        socket = handler.transports[client].writer.get_extra_info("socket").fileno()
    except (AttributeError, KeyError, OSError, ValueError):
        return None
    return socket if socket >= 0 else None


def _write_address(target: Path, host: str, port: int) -> None:
    """`host:port` into `target`: straight into a FIFO (a reader blocks on it), else by an atomic rename."""
    if target.is_fifo():
        target.write_text(f"{host}:{port}\n")
        return
    temporary = target.with_name(target.name + ".tmp")
    temporary.write_text(f"{host}:{port}\n")
    temporary.replace(target)  # a reader polling the file never sees half an address


def _log_result(result: StreamResult) -> None:
    log.info("%s  %s", result.line(), result.path)


def is_event_stream(response: http.Response) -> bool:
    return response.headers.get("content-type", "").lower().startswith("text/event-stream")


def _asks_for_stream(request: http.Request) -> bool:
    """A JSON request with `"stream": true` (OpenAI's and Anthropic's way), or a path that names a stream (Gemini's
    `:streamGenerateContent`)."""
    if detect.path_asks_for_stream(request.path):
        return True
    content = request.get_content(strict=False) or b""
    if b'"stream"' not in content:
        return False
    try:
        body = json.loads(content)
    except (ValueError, RecursionError):
        return False
    return isinstance(body, dict) and body.get("stream") is True


def _ending_of(flow: http.HTTPFlow) -> Ending:
    """Who went away, from mitmproxy's error message first and the connection states second."""
    message = flow.error.msg if flow.error else "unknown error"
    lowered = message.lower()
    for marker, kind in _ENDING_BY_MESSAGE:
        if marker in lowered:
            return Ending(kind, message)
    if not flow.client_conn.state & ConnectionState.CAN_READ:
        return Ending("client", message)
    server = flow.server_conn
    if server is not None and server.timestamp_tcp_setup is not None and not server.state & ConnectionState.CAN_READ:
        return Ending("upstream", message)  # it had connected, and it is the side that closed
    return Ending("error", message)


def file_name(started: float, protocol: str | None, flow_id: str) -> str:
    """`20250301-101502.123-openai-chat-1a2b3c4d.jsonl`: sorts by time, says what it holds."""
    stamp = datetime.fromtimestamp(started).strftime("%Y%m%d-%H%M%S.%f")[:-3]
    return f"{stamp}-{protocol or 'sse'}-{flow_id[:8]}.jsonl"

