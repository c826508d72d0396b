"""Run mitmproxy in-process with the recorder: what `record` and `run` do between parsing and printing.

In-process (not a `mitmdump` child) so the live lines come straight from the recorder's callback and an
installed wheel needs no addon file on disk. One proxy listens as often as asked: a reverse proxy per upstream
and a regular HTTP(S) proxy, each on its own port. It listens on 127.0.0.1 unless told otherwise: recordings
hold prompts, and an open proxy lends anyone who reaches it the user's network.

What keeps the proxy from starting (a directory it cannot write to, a port in use, an unreadable CA file) is a
`RecorderError` with a one-line message, and mitmproxy prints nothing about it. Ctrl-C ends the streams still
open as stopped, then closes their connections before the event loop ends. `run` hands the proxy a `supervise`
coroutine (the command it runs); the proxy stops when that returns, once the connections it left have ended.
"""

from __future__ import annotations

import asyncio
import errno
import gc
import ipaddress
import logging
import os
import resource
import signal
import socket
import sys
import tempfile
import threading
from collections.abc import Awaitable, Callable, Sequence
from contextlib import ExitStack, suppress
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from mitmproxy import exceptions, options
from mitmproxy.addons.termlog import TermLog
from mitmproxy.master import Master
from mitmproxy.tools.dump import DumpMaster

from .addon import Recorder
from .ca_bundle import certificates, system_ca_files, write_bundle
from .own_listeners import OwnListeners
from .untrusted import UntrustedCertificate
from .upstream_proxy import ThroughProxy, UpstreamProxy
from .verdict import StreamResult

CA_FILE = "mitmproxy-ca-cert.pem"
_CLOSE_TIMEOUT = 5.0
"""Seconds the connections still open at Ctrl-C (or when `run`'s command exits) get to wind down."""


class RecorderError(ValueError):
    """The proxy could not start; the message is one line."""


@dataclass
class Tally:
    """What Ctrl-C prints: streams seen, how many failed, how many carried an in-band error."""

    streams: int = 0
    failed: int = 0
    api_errors: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, result: StreamResult) -> None:
        with self._lock:
            self.streams += 1
            self.failed += result.failed
            self.api_errors += result.api_error is not None

    def counts(self) -> str:
        """`6 ok, 0 failed; 6 with an in-band error`: a right stream can carry the API's refusal."""
        also = f"; {self.api_errors} with an in-band error" if self.api_errors else ""
        return f"{self.streams - self.failed} ok, {self.failed} failed{also}"


@dataclass(frozen=True)
class Target:
    """One listener to open: a reverse proxy for the origin `upstream`, or (None) a regular HTTP(S) proxy."""

    upstream: str | None = None
    port: int | None = None
    """None: the next free one of the ports counted from `--port`."""

    @classmethod
    def reverse(cls, spec: str) -> Target:
        """`--reverse URL` or `--reverse URL@PORT`."""
        url, at, port = spec.rpartition("@")
        if at and port.isdigit():  # not the `user@host` of a URL
            if not (port.isascii() and len(port) <= 5 and int(port) <= 65535):  # NOTE: `int()` refuses `²`
                raise RecorderError(f"--reverse {spec}: port {port} is out of range")
            return cls(origin(url), int(port))
        return cls(origin(spec))


@dataclass(frozen=True)
class Listening:
    """Where one listener listens and what a client must set to use it."""

    host: str
    port: int
    reverse: str | None
    ca_file: Path

    @property
    def base_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def description(self) -> str:
        return f"reverse proxy for {self.reverse}" if self.reverse else "regular proxy"

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
            "gemini": f"GOOGLE_GEMINI_BASE_URL={self.base_url}",
            "other": f"base URL {self.base_url} followed by the path the upstream expects",
        }
        for domain, vendor in (("openai.com", "openai"), ("anthropic.com", "anthropic"), ("googleapis.com", "gemini")):
            if host.endswith(domain):
                return [(vendor, hints[vendor])]
        return list(hints.items())


def banner(directory: str, listening: Sequence[Listening], proxy: UpstreamProxy | None = None) -> list[str]:
    """What `record` prints once it listens: where each listener is and what to set to use it (and the proxy its
    upstream connections go through, if any)."""
    through = [f"  {proxy.describe()}"] if proxy is not None and proxy.in_use else []
    if len(listening) == 1:
        [where] = listening
        hints = where.hints()
        if len(hints) == 1:
            return [f"recording to {directory}/ — set {hints[0][1]}", *through]
        return [f"recording to {directory}/ — {where.description} on {where.base_url}",
                *(f"  {client + ':':<11}{hint}" for client, hint in hints), *through]
    lines = [f"recording to {directory}/ — {len(listening)} listeners"]
    for where in listening:
        lines.append(f"  {where.description} on {where.base_url}")
        lines.extend(f"    {client + ':':<11}{hint}" for client, hint in where.hints())
    return [*lines, *through]


@dataclass(frozen=True)
class Settings:
    """How the proxy listens, what it records and whom it trusts upstream."""

    directory: str = "recordings"
    host: str = "127.0.0.1"
    streams: str = "llm"
    upstream_ca: tuple[str, ...] = ()
    """PEM files of CAs trusted for upstreams besides the system's."""
    insecure: bool = False
    """Do not verify upstream certificates at all."""
    redact: tuple[str, ...] = ()
    """Names of headers, query parameters and JSON fields to redact besides the usual secrets."""
    upstream_proxy: UpstreamProxy = UpstreamProxy()
    """The proxy the upstream connections go through (the user's; direct by default)."""

    def warnings(self) -> list[str]:
        """What the user must know before trusting the proxy with traffic."""
        found = []
        if not is_loopback(self.host):
            found.append(f"--listen-host {self.host}: the proxy is reachable from the network; anyone who reaches it "
                         "can send requests through it")
        if self.insecure:
            found.append("--insecure: upstream certificates are not verified; anyone on the way to the upstream can "
                         "read and change the traffic")
        return found


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def origin(url: str) -> str:
    """`scheme://host[:port]` of an http(s) URL given as an upstream; RecorderError for anything else."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise RecorderError(f"--reverse needs an http(s) URL such as https://api.openai.com, got {url!r}")
    if parts.path.strip("/") or parts.query:
        raise RecorderError(f"--reverse takes the upstream's origin only (no path), got {url!r}")
    return f"{parts.scheme}://{parts.netloc}"


def mode_for(reverse: str | None) -> str:
    """mitmproxy's mode spec for `--reverse URL` (None: regular mode)."""
    return "regular" if reverse is None else f"reverse:{origin(reverse)}"


def assign_ports(targets: Sequence[Target], first: int, host: str) -> list[int]:
    """The port of each target: its own, else the next one counted from `first` that no target asked for
    (`first` 0: each one picked by the OS)."""
    asked = [target.port for target in targets if target.port]
    if len(set(asked)) != len(asked):
        twice = next(port for port in asked if asked.count(port) > 1)
        raise RecorderError(f"port {twice} is asked for by two listeners")
    ports, candidate = [], first
    for target in targets:
        if target.port is not None or first == 0:
            ports.append(target.port or 0)
            continue
        while candidate in asked:
            candidate += 1
        if candidate > 65535:
            raise RecorderError(f"--port {first}: not enough ports above it for {len(targets)} listeners")
        ports.append(candidate)
        candidate += 1
    if ports.count(0) > 1:
        picked = iter(_free_ports(host, ports.count(0)))
        ports = [port or next(picked) for port in ports]
    return ports


def _free_ports(host: str, count: int) -> list[int]:
    """`count` distinct ports the OS picks on `host`.

    NOTE: mitmproxy refuses two listeners on the same address, port 0 included; so the ports are bound here, all at
    once, and let go just before mitmproxy binds them (if another program took one meanwhile, `record` says that the
    port is in use)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with ExitStack() as stack:
        sockets = [stack.enter_context(socket.socket(family)) for _ in range(count)]
        for sock in sockets:
            sock.bind((host, 0))
        return [sock.getsockname()[1] for sock in sockets]


def run(
    targets: Sequence[Target],
    port: int,
    settings: Settings,
    *,
    on_result: Callable[[StreamResult], None],
    on_listening: Callable[[list[Listening]], None] | None = None,
    supervise: Callable[[list[Listening]], Awaitable[None]] | None = None,
) -> Tally:
    """Record until SIGINT or SIGTERM, or until `supervise` returns; returns the tally. Raises RecorderError if the
    proxy cannot start (the directory is not writable, a port is taken, a CA file is unreadable), and what
    `supervise` raised."""
    ports = assign_ports(targets, port, settings.host)
    for number in ports:
        if (loop := settings.upstream_proxy.loops_to(settings.host, number)) is not None:
            raise RecorderError(f"the upstream proxy {loop} is the recorder's own listener: give --upstream-proxy "
                                "URL (or none), or another --port")
    modes = [f"{mode_for(target.upstream)}@{number}" for target, number in zip(targets, ports, strict=True)]
    check_directory(settings.directory)
    raise_open_file_limit()
    tally = Tally()
    opts = options.Options()
    ca_file = Path(opts.confdir).expanduser() / CA_FILE
    upstream_of = {mode: target.upstream for mode, target in zip(modes, targets, strict=True)}

    def result(found: StreamResult) -> None:
        tally.add(found)
        on_result(found)

    recorder = Recorder(on_result=result)
    with tempfile.TemporaryDirectory(prefix="sse-inspector-") as scratch:
        mitmproxy_settings = {
            "mode": modes, "listen_host": settings.host, "sse_dir": settings.directory,
            "sse_streams": settings.streams, "sse_redact": list(settings.redact), "termlog_verbosity": "warn",
            # An upstream that does not answer gets the client a 502 and a recording that says why; "eager" would
            # connect before the request (at CONNECT, in regular mode) and only close the client's connection.
            "connection_strategy": "lazy",
            "ssl_insecure": settings.insecure,
        }
        if settings.upstream_ca:
            mitmproxy_settings["ssl_verify_upstream_trusted_ca"] = str(_upstream_bundle(Path(scratch), settings))
        session = _Session(recorder, upstream_of, ca_file, on_listening, supervise,
                           through=ThroughProxy(settings.upstream_proxy))
        try:
            failure = asyncio.run(session.serve(opts, mitmproxy_settings))
        except SystemExit:  # mitmproxy's errorcheck exits when another error was logged during startup
            raise RecorderError(f"the proxy could not start on {settings.host} (see the message above)") from None
    if failure is not None:
        raise RecorderError(_listen_problem(settings.host, *failure))
    supervised = session.supervised
    if supervised is not None and not supervised.cancelled() and (raised := supervised.exception()) is not None:
        raise raised
    return tally


OPEN_FILES_WANTED = 65536
_MACOS_OPEN_MAX = 10240
OPEN_FILES_AT_START = resource.getrlimit(resource.RLIMIT_NOFILE)
"""The limit this process started with: what the command `run` starts gets (`run_child`), not the raised one. A
program that passes descriptors to select() breaks on those past 1024, which a raised limit would let it open."""


def raise_open_file_limit() -> None:
    """Raise this process's soft limit of open files towards its hard limit (at most `OPEN_FILES_WANTED`).

    A recorded stream holds three descriptors (the app's socket, the upstream's, its file) where plain mitmproxy
    holds two, so with a common soft limit of 1024 (256 on macOS) the proxy would refuse connections, or leave
    streams unrecorded, at a third fewer streams. Raising the soft limit up to the hard one needs no privilege."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = OPEN_FILES_WANTED if hard == resource.RLIM_INFINITY else min(hard, OPEN_FILES_WANTED)
    for limit in (wanted, _MACOS_OPEN_MAX):  # macOS refuses more than its per-process maximum, but never OPEN_MAX
        if soft != resource.RLIM_INFINITY and soft < limit <= wanted:
            with suppress(ValueError, OSError):
                resource.setrlimit(resource.RLIMIT_NOFILE, (limit, hard))
                return


def _upstream_bundle(directory: Path, settings: Settings) -> Path:
    """The system's CAs and the user's in one file: mitmproxy's own CA option replaces the system's otherwise."""
    for path in settings.upstream_ca:
        try:
            if not certificates(path):
                raise RecorderError(f"--upstream-ca {path}: no PEM certificate in it")
        except OSError as error:
            raise RecorderError(f"--upstream-ca {path}: {error.strerror or error}") from None
    bundle = directory / "upstream-ca.pem"
    write_bundle(bundle, [*system_ca_files(), *settings.upstream_ca])
    return bundle


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


class _Session:
    """One run of the proxy on this thread's event loop: starts it, tells who listens where, stops it."""

    def __init__(
        self,
        recorder: Recorder,
        upstream_of: dict[str, str | None],
        ca_file: Path,
        on_listening: Callable[[list[Listening]], None] | None,
        supervise: Callable[[list[Listening]], Awaitable[None]] | None,
        *,
        through: ThroughProxy,
    ) -> None:
        self.recorder = recorder
        self.through = through
        self.own_listeners = OwnListeners()
        self.upstream_of = upstream_of
        """The upstream of each mode spec (None: regular mode)."""
        self.ca_file = ca_file
        self.on_listening = on_listening
        self.supervise = supervise
        self.supervised: asyncio.Task | None = None
        """The `supervise` task, once started."""
        self.master: DumpMaster | None = None
        self.listening = False

    async def serve(self, opts: options.Options, settings: dict) -> tuple[int, OSError] | None:
        """Run the proxy until it is told to stop; the port and error that kept it from listening, if one did."""
        self.master = master = DumpMaster(opts, with_termlog=False, with_dumper=False)
        # mitmproxy's own warnings (a failed upstream handshake, ...) go to stderr: stdout is the live lines', and
        # under `run` the command's
        terminal_log = TermLog(out=sys.stderr)
        master.addons.add(terminal_log, self.recorder, self.own_listeners, self.through,
                          UntrustedCertificate(self.ca_file))
        try:
            opts.update(**settings)
        except exceptions.OptionsError as error:
            raise RecorderError(str(error)) from None
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):  # `supervise` may replace these with its own
            loop.add_signal_handler(signum, master.shutdown)
        proxy_log = logging.getLogger("mitmproxy.addons.proxyserver")
        held_back = _HeldBack()
        proxy_log.addFilter(held_back)

        def running(_addresses: list[tuple[str, int]]) -> None:
            proxy_log.removeFilter(held_back)
            self._running()

        self.recorder.on_running = running
        servers = master.addons.get("proxyserver").servers
        try:
            await master.run()
        finally:
            proxy_log.removeFilter(held_back)
            failures = [(server.mode.custom_listen_port, server.last_exception) for server in servers]
            await close_connections(master)
            terminal_log.uninstall()
        if self.listening:
            return None
        # None: stopped while starting
        return next(((port, error) for port, error in failures if isinstance(error, OSError)), None)

    def _running(self) -> None:
        """The proxy listens. What start-up made (mitmproxy, its addons, the modules: about 97,000 objects the
        garbage collector tracks) is frozen out of the collector's view: mitmproxy leaves a few reference cycles
        behind for every request, so the collector runs all along, and each of its full passes over everything
        stopped every live stream for about 30 ms, about 0.3 us per event of a sustained load (`bench/proxy.py`)."""
        assert self.master is not None
        servers = list(self.master.addons.get("proxyserver").servers)
        if not all(server.listen_addrs for server in servers):  # one could not listen: `run` reports it
            self.master.shutdown()
            return
        self.listening = True
        gc.freeze()  # NOTE: see `_running`'s docstring
        listening = [
            Listening(*server.listen_addrs[0][:2], self.upstream_of[server.mode.full_spec], self.ca_file)
            for server in servers
        ]
        for where in listening:
            if where.reverse is not None:
                self.own_listeners.listen(where.host, where.port, where.reverse)
        if self.on_listening is not None:
            self.on_listening(listening)
        if self.supervise is not None:
            self.supervised = asyncio.create_task(self._supervised(listening))

    async def _supervised(self, listening: list[Listening]) -> None:
        assert self.master is not None and self.supervise is not None
        if self.master.should_exit.is_set():
            return  # stopped before this task began: nothing to start
        try:
            await self.supervise(listening)
        finally:
            await drain(self.master)  # the streams the command left end for their own reason, not as "stopped"
            self.master.shutdown()


async def drain(master: Master, timeout: float = _CLOSE_TIMEOUT) -> None:
    """Wait, `timeout` seconds at most, for the clients' connections still open to end by themselves."""
    proxyserver = master.addons.get("proxyserver")
    open_ones = [transport.handler for handler in proxyserver.connections.values()
                 if (transport := handler.transports.get(handler.client)) is not None and transport.handler is not None]
    if open_ones:
        await asyncio.wait(open_ones, timeout=timeout)


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
