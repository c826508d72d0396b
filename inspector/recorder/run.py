"""Run mitmproxy in-process with the recorder: what `sse-inspector record` does between parsing and printing.

In-process (not a `mitmdump` child) so the live lines come straight from the recorder's callback and an
installed wheel needs no addon file on disk. The proxy listens on 127.0.0.1 only: recordings hold prompts.

What keeps the proxy from starting (a directory it cannot write to, a port in use) is a `RecorderError` with a
one-line message, and mitmproxy prints nothing about it. Ctrl-C ends the streams still open as stopped, then
closes their connections before the event loop ends.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import os
import signal
import tempfile
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from mitmproxy import exceptions, options
from mitmproxy.master import Master
from mitmproxy.tools.dump import DumpMaster

from .addon import Recorder
from .verdict import StreamResult

CA_FILE = "mitmproxy-ca-cert.pem"
_CLOSE_TIMEOUT = 5.0
"""Seconds the connections still open at Ctrl-C get to wind down."""


class RecorderError(ValueError):
    """The proxy could not start; the message is one line."""


@dataclass
class Tally:
    """What Ctrl-C prints: streams seen, how many failed."""

    streams: int = 0
    failed: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, result: StreamResult) -> None:
        with self._lock:
            self.streams += 1
            self.failed += result.failed


@dataclass(frozen=True)
class Listening:
    """Where the proxy listens and what a client must set to use it."""

    host: str
    port: int
    reverse: str | None
    ca_file: Path

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def hints(self) -> list[tuple[str, str]]:
        """(client, what to set) pairs for the mode: base URLs in reverse mode, proxy and CA in regular mode."""
        if self.reverse is None:
            proxy = self.base_url
            return [
                ("proxy", f"HTTPS_PROXY={proxy} HTTP_PROXY={proxy}"),
                ("python", f"SSL_CERT_FILE={self.ca_file}  (httpx, openai, anthropic; requests: REQUESTS_CA_BUNDLE)"),
                ("node", f"NODE_EXTRA_CA_CERTS={self.ca_file}"),
            ]
        host = urlsplit(self.reverse).hostname or ""
        hints = {
            "openai": f"OPENAI_BASE_URL={self.base_url}/v1",
            "anthropic": f"ANTHROPIC_BASE_URL={self.base_url}",
            "other": f"base URL {self.base_url} followed by the path the upstream expects",
        }
        for vendor in ("openai", "anthropic"):
            if host.endswith(f"{vendor}.com"):
                return [(vendor, hints[vendor])]
        return list(hints.items())


def mode_for(reverse: str | None) -> str:
    """mitmproxy's mode spec for `--reverse URL` (None: regular mode)."""
    if reverse is None:
        return "regular"
    parts = urlsplit(reverse)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise RecorderError(f"--reverse needs an http(s) URL such as https://api.openai.com, got {reverse!r}")
    if parts.path.strip("/") or parts.query:
        raise RecorderError(f"--reverse takes the upstream's origin only (no path), got {reverse!r}")
    return f"reverse:{parts.scheme}://{parts.netloc}"


def run(
    reverse: str | None,
    port: int,
    directory: str,
    *,
    on_listening: Callable[[Listening], None],
    on_result: Callable[[StreamResult], None],
    host: str = "127.0.0.1",
    redact: Sequence[str] = (),
) -> Tally:
    """Record until SIGINT or SIGTERM; returns the tally. Raises RecorderError if the proxy cannot start: the
    directory is not writable, the port is taken."""
    mode = mode_for(reverse)
    check_directory(directory)
    tally = Tally()
    opts = options.Options()
    ca_file = Path(opts.confdir).expanduser() / CA_FILE

    def result(found: StreamResult) -> None:
        tally.add(found)
        on_result(found)

    def running(addresses: list[tuple[str, int]]) -> None:
        listen_host, listen_port = addresses[0]
        on_listening(Listening(listen_host, listen_port, reverse, ca_file))

    recorder = Recorder(on_result=result, on_running=running)
    settings = {
        "mode": [mode], "listen_host": host, "listen_port": port, "sse_dir": directory,
        "sse_redact": list(redact), "termlog_verbosity": "warn",
        # An upstream that does not answer gets the client a 502 and a recording that says why; "eager" would
        # connect before the request and only close the client's connection.
        "connection_strategy": "lazy" if reverse else "eager",
    }
    try:
        failure = asyncio.run(_serve(opts, recorder, settings))
    except SystemExit:  # mitmproxy's errorcheck exits when another error was logged during startup
        raise RecorderError(f"the proxy could not start on {host}:{port} (see the message above)") from None
    if failure is not None:
        raise RecorderError(_listen_problem(host, port, failure))
    return tally


def check_directory(directory: str) -> None:
    """Create `directory` if need be and make sure a recording can be written there; RecorderError otherwise.
    (A problem that appears later, during a run, is the recorder's: traffic passes and one error line says so.)"""
    path = Path(directory)
    if path.exists() and not path.is_dir():
        raise RecorderError(f"--dir {directory}: not a directory")
    try:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=path):
            pass
    except OSError as error:
        raise RecorderError(f"--dir {directory}: cannot write recordings there ({error.strerror or error})") from None


def _listen_problem(host: str, port: int, error: OSError) -> str:
    if error.errno == errno.EADDRINUSE:
        return f"port {port} on {host} is in use: pick another with --port (0 lets the OS choose)"
    reason = os.strerror(error.errno) if error.errno else str(error)
    return f"cannot listen on {host}:{port}: {reason}"


class _HeldBack(logging.Filter):
    """Keeps mitmproxy's report of a port it could not listen on (several lines, with advice about options
    `record` does not have) from its terminal log and from its startup error check: `record` says it in one."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.levelno >= logging.ERROR and "failed to listen on" in record.getMessage())


async def _serve(opts: options.Options, recorder: Recorder, settings: dict) -> OSError | None:
    """Run the proxy until it is told to stop; the error that kept it from listening, if one did."""
    master = DumpMaster(opts, with_termlog=True, with_dumper=False)
    master.addons.add(recorder)
    try:
        opts.update(**settings)
    except exceptions.OptionsError as error:
        raise RecorderError(str(error)) from None
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, master.shutdown)
    proxy_log = logging.getLogger("mitmproxy.addons.proxyserver")
    held_back = _HeldBack()
    proxy_log.addFilter(held_back)
    original = recorder.on_running
    listening = False

    def running(addresses: list[tuple[str, int]]) -> None:
        nonlocal listening
        proxy_log.removeFilter(held_back)
        if not addresses:  # it could not listen: the error was held back, `run` reports it
            master.shutdown()
            return
        listening = True
        if original is not None:
            original(addresses)

    recorder.on_running = running
    try:
        await master.run()
    finally:
        proxy_log.removeFilter(held_back)
        failures = [server.last_exception for server in master.addons.get("proxyserver").servers]
        await close_connections(master)
    if listening:
        return None
    return next((error for error in failures if isinstance(error, OSError)), None)  # None: stopped while starting


async def close_connections(master: Master) -> None:
    """Stop listening, close the clients' connections still open and let mitmproxy wind each one down.
    Left to `asyncio.run`, they would be cancelled, and Python 3.11 prints a traceback for every one
    (`StreamReaderProtocol.connection_made` asks the cancelled task for its exception)."""
    proxyserver = master.addons.get("proxyserver")
    for server in proxyserver.servers:
        if server.is_running:  # no new connections while the open ones wind down
            await server.stop()
    for handler in list(proxyserver.connections.values()):
        client = handler.transports.get(handler.client)
        if client is not None and client.handler is not None:
            client.handler.cancel("the recorder stopped")
    winding_down = asyncio.all_tasks() - {asyncio.current_task()}
    if winding_down:
        await asyncio.wait(winding_down, timeout=_CLOSE_TIMEOUT)  # what is left then, asyncio.run cancels
