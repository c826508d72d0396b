"""Requests sent through the recorder's regular proxy to one of its own reverse listeners go to that listener's
upstream.

`run` sets both `OPENAI_BASE_URL` (a reverse listener) and `HTTPS_PROXY` (the regular one), with `NO_PROXY` for
loopback. A client that ignores `NO_PROXY` (Node's undici `ProxyAgent`, which Qwen Code builds from `HTTPS_PROXY`)
sends its requests for the reverse listener through the regular proxy, and mitmproxy refuses to connect to itself
("Request destination unknown"): every request failed. Sent on as the reverse listener would send them, each is
recorded once.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from mitmproxy import http
from mitmproxy.connection import Server

LOOPBACK = frozenset({"localhost", "127.0.0.1", "::1"})


class OwnListeners:
    """The mitmproxy addon: `listen(host, port, upstream)` once each reverse listener listens."""

    def __init__(self) -> None:
        self._upstreams: dict[tuple[str, int], tuple[str, str, int]] = {}

    def listen(self, host: str, port: int, upstream: str) -> None:
        parts = urlsplit(upstream)
        assert parts.hostname is not None
        target = (parts.scheme, parts.hostname, parts.port or (443 if parts.scheme == "https" else 80))
        for name in {host, *(LOOPBACK if host in LOOPBACK or host in ("0.0.0.0", "::") else ())}:
            self._upstreams[(name, port)] = target

    def requestheaders(self, flow: http.HTTPFlow) -> None:
        request = flow.request
        target = self._upstreams.get((request.host, request.port)) if self._upstreams else None
        if target is None:
            return
        request.scheme, request.host, request.port = target
        flow.server_conn = Server(address=(request.host, request.port))
