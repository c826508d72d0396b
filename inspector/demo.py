"""`sse-inspector demo`: the main job end to end, offline, in seconds, on the bundled example recordings.

    client (httpx) --> recorder (mitmproxy, reverse mode) --> replay server (bundled examples)
                            |
                            +--> new recordings --> view + verdict

The replay server runs in a thread, mitmproxy with the recorder addon runs on this thread's event loop, and the
client runs in a thread started once the proxy listens; when every stream has been judged the client thread shuts
the proxy down. Everything lives in this one process, so nothing is left behind when it returns. Ctrl-C stops the
proxy and the replay server cleanly (each closes its connections) and raises KeyboardInterrupt to the caller.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import signal
import threading
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path

import httpx
from mitmproxy import options
from mitmproxy.tools.dump import DumpMaster

from .inputs import InputError, open_source
from .recorder.addon import Recorder
from .recorder.run import RecorderError, check_directory, close_connections
from .recorder.verdict import StreamResult
from .recording import read_header
from .replay import Catalog, Entry, Replay, ReplayServer, load_entries
from .view.model import StreamReport, inspect

log = logging.getLogger(__name__)

_PACKAGE = Path(__file__).resolve().parent
EXAMPLES = next(
    (path for path in (_PACKAGE / "examples", _PACKAGE.parent / "recordings" / "examples") if path.is_dir()),
    _PACKAGE.parent / "recordings" / "examples",
)
"""The bundled example recordings: inside an installed wheel, or next to the package in a source checkout."""

_CLIENT_TIMEOUT = httpx.Timeout(20.0, connect=5.0)
_RESULT_TIMEOUT = 20.0  # seconds to wait for the recorder's verdict on a stream the client has finished


_USUAL_PATHS = {
    "openai-chat": "/v1/chat/completions",
    "openai-responses": "/v1/responses",
    "anthropic-messages": "/v1/messages",
}


class DemoError(RuntimeError):
    """The demo could not run (the proxy did not start, a request failed); the message is one line."""


@dataclass(frozen=True)
class DemoRequest:
    """One request the demo's client sends: the example recording's own request, through the proxy."""

    entry: Entry
    path: str
    body: bytes

    @classmethod
    def of(cls, entry: Entry) -> DemoRequest:
        """The recording's own request path and body; a raw SSE file gets its protocol's usual path."""
        with open(entry.file, "rb") as stream:  # load_entries has checked the file already
            header = read_header(stream.readline())
        request = header.request if header is not None else {}
        body = request.get("body")
        data = body.encode() if isinstance(body, str) else httpx.Request("POST", "/", json=body or {}).read()
        query = httpx.URL(request["url"]).query.decode() if isinstance(request.get("url"), str) else ""
        path = entry.request_path and entry.request_path + (f"?{query}" if query else "")  # Gemini's `alt=sse`
        path = path or _USUAL_PATHS.get(entry.protocol or "")
        if path is None:
            raise InputError(f"{entry.file}: no request path and no known protocol: the recorder would not record it")
        return cls(entry, path, data)

    @property
    def served(self) -> bytes:
        """The bytes the replay upstream sends for this request."""
        return b"".join(chunk.data for chunk in self.entry.chunks())


@dataclass
class DemoStream:
    """One stream of the demo: what the client received, and what the recorder made of it."""

    request: DemoRequest
    received: bytes
    result: StreamResult
    report: StreamReport

    @property
    def unchanged(self) -> bool:
        """The proxy passed the upstream's bytes through untouched."""
        return self.received == self.request.served

    @property
    def failed(self) -> bool:
        return self.result.failed or self.report.errors > 0 or not self.unchanged


@dataclass
class Demo:
    """Where the demo reads its examples and writes its recordings; `run()` does the whole loop."""

    out_dir: Path
    examples: Path = EXAMPLES
    speed: float = 1.0
    on_listening: Callable[[str, str], None] = lambda upstream, proxy: None
    """Called with the replay server's URL and the proxy's once both listen."""

    def requests(self) -> list[DemoRequest]:
        if not self.examples.is_dir():
            raise InputError(f"{self.examples}: no example recordings there (a source checkout or the wheel has them)")
        return [DemoRequest.of(entry) for entry in load_entries([str(self.examples)])]

    def run(self) -> list[DemoStream]:
        requests = self.requests()
        try:
            check_directory(str(self.out_dir))
        except RecorderError as error:
            raise DemoError(str(error)) from None
        replay = Replay(Catalog([request.entry for request in requests]), self.speed)
        with ReplayServer(replay) as upstream:
            received, results = _through_recorder(upstream.url, self.out_dir, requests, self.on_listening)
        # One request at a time and one verdict worker: the results come in the order of the requests.
        return [
            DemoStream(request, body, result, inspect(open_source(result.path)))
            for request, body, result in zip(requests, received, results, strict=True)
        ]


def _through_recorder(
    upstream: str, out_dir: Path, requests: list[DemoRequest], on_listening: Callable[[str, str], None]
) -> tuple[list[bytes], list[StreamResult]]:
    """Run the recorder in reverse mode in front of `upstream` until the client thread has sent every request
    and every stream has been judged; returns the bodies the client received and the recorder's results."""
    finished: queue.Queue[StreamResult] = queue.Queue()
    outcome: dict[str, object] = {}

    async def main() -> None:
        opts = options.Options()
        master = DumpMaster(opts, with_termlog=True, with_dumper=False)
        loop = asyncio.get_running_loop()

        def client(proxy: str) -> None:
            try:
                on_listening(upstream, proxy)
                outcome["received"] = [_send(proxy, request) for request in requests]
                outcome["results"] = [finished.get(timeout=_RESULT_TIMEOUT) for _ in requests]
            except httpx.HTTPError as error:
                outcome["error"] = f"the demo's request through the proxy failed: {type(error).__name__}: {error}"
            except queue.Empty:
                outcome["error"] = "the recorder did not record every stream the client received"
            finally:
                with suppress(RuntimeError):  # the loop is closed already: Ctrl-C stopped the proxy first
                    loop.call_soon_threadsafe(master.shutdown)

        def running(addresses: list[tuple[str, int]]) -> None:
            host, port = addresses[0]
            threading.Thread(target=client, args=(f"http://{host}:{port}",), name="demo-client", daemon=True).start()

        master.addons.add(Recorder(on_result=finished.put, on_running=running))
        opts.update(
            mode=[f"reverse:{upstream}"], listen_host="127.0.0.1", listen_port=0, sse_dir=str(out_dir),
            termlog_verbosity="warn",
        )

        def interrupted() -> None:
            outcome["interrupted"] = True
            master.shutdown()

        loop.add_signal_handler(signal.SIGINT, interrupted)
        try:
            await master.run()
        finally:
            await close_connections(master)

    try:
        asyncio.run(main())
    except SystemExit:  # mitmproxy exits from its error check when its startup logged an error
        raise DemoError("the recorder's proxy could not start (see the message above)") from None
    if "interrupted" in outcome:
        raise KeyboardInterrupt  # the proxy has stopped cleanly; leaving the replay server's block stops it too
    if "error" in outcome:
        raise DemoError(str(outcome["error"]))
    if "results" not in outcome:
        raise DemoError("the recorder's proxy stopped before the demo's requests were sent")
    return outcome["received"], outcome["results"]  # type: ignore[return-value]


def _send(proxy: str, request: DemoRequest) -> bytes:
    """Stream one response through the proxy, as an app would, and return its bytes."""
    body = bytearray()
    headers = {"content-type": "application/json", "accept": "text/event-stream"}
    with httpx.stream("POST", proxy + request.path, content=request.body, headers=headers,
                      timeout=_CLIENT_TIMEOUT) as response:
        for chunk in response.iter_bytes():
            body += chunk
    return bytes(body)

