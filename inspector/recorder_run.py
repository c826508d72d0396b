"""Run mitmproxy in-process with the recorder: what `sse-inspector record` does between parsing and printing.

In-process (not a `mitmdump` child) so the live lines come straight from the recorder's callback and an
installed wheel needs no addon file on disk. The proxy listens on 127.0.0.1 only: recordings hold prompts.
"""

from __future__ import annotations

import asyncio
import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from mitmproxy import exceptions, options
from mitmproxy.tools.dump import DumpMaster

from .recorder import Recorder
from .recorder_verdict import StreamResult

CA_FILE = "mitmproxy-ca-cert.pem"


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
) -> Tally:
    """Record until SIGINT or SIGTERM; returns the tally. Raises RecorderError if the proxy cannot start."""
    mode = mode_for(reverse)
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
        "termlog_verbosity": "warn",
    }
    try:
        started = asyncio.run(_serve(opts, recorder, settings))
    except SystemExit:  # mitmproxy's errorcheck exits when an error was logged during startup
        started = False
    if not started:
        raise RecorderError(f"the proxy could not start on {host}:{port} (see the message above)")
    return tally


async def _serve(opts: options.Options, recorder: Recorder, settings: dict) -> bool:
    master = DumpMaster(opts, with_termlog=True, with_dumper=False)
    master.addons.add(recorder)
    try:
        opts.update(**settings)
    except exceptions.OptionsError as error:
        raise RecorderError(str(error)) from None
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, master.shutdown)
    listening = asyncio.Event()
    original = recorder.on_running

    def running(addresses: list[tuple[str, int]]) -> None:
        listening.set()
        if original is not None:
            original(addresses)

    recorder.on_running = running
    await master.run()
    return listening.is_set()
