"""A real forward proxy for the upstream-proxy tests: the user's corporate proxy, as small as it can be.

It listens on 127.0.0.1 (port picked by the OS), answers CONNECT with a tunnel to the host asked for and relays
bytes both ways until one side closes; anything but CONNECT gets a 405 (mitmproxy tunnels every upstream
connection through a proxy, http ones too). Each tunnel is noted with the Proxy-Authorization it came with, so a
test can tell that the recorder's traffic went through it, and with which credentials.
"""

from __future__ import annotations

import selectors
import socket
import socketserver
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from recorder_helpers import serving


@dataclass
class ForwardProxy:
    url: str
    tunnels: list[tuple[str, str | None]] = field(default_factory=list)
    """(host:port, Proxy-Authorization or None) of each CONNECT it relayed."""


def _handler(proxy: ForwardProxy) -> type[socketserver.BaseRequestHandler]:
    class Handler(socketserver.BaseRequestHandler):
        def handle(self) -> None:
            client: socket.socket = self.request
            head = b""
            while b"\r\n\r\n" not in head:
                data = client.recv(65536)
                if not data:
                    return
                head += data
            head, _, early = head.partition(b"\r\n\r\n")
            request_line, *header_lines = head.decode("latin-1").split("\r\n")
            method, target, _ = request_line.split(" ", 2)
            headers = {name.strip().lower(): value.strip() for name, _, value in
                       (line.partition(":") for line in header_lines)}
            if method != "CONNECT":
                client.sendall(b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                return
            host, _, port = target.rpartition(":")
            try:
                upstream = socket.create_connection((host.strip("[]"), int(port)), timeout=10)
            except OSError:
                client.sendall(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
                return
            proxy.tunnels.append((target, headers.get("proxy-authorization")))
            with upstream:
                client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
                if early:
                    upstream.sendall(early)
                _relay(client, upstream)

    return Handler


def _relay(one: socket.socket, other: socket.socket) -> None:
    """Copy bytes between the two sockets until either side closes."""
    with selectors.DefaultSelector() as selector:
        selector.register(one, selectors.EVENT_READ, other)
        selector.register(other, selectors.EVENT_READ, one)
        while True:
            for key, _ in selector.select():
                try:
                    data = key.fileobj.recv(65536)
                    if not data:
                        return
                    key.data.sendall(data)
                except OSError:
                    return


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


@contextmanager
def run_forward_proxy() -> Iterator[ForwardProxy]:
    proxy = ForwardProxy("")
    server = _Server(("127.0.0.1", 0), _handler(proxy))
    proxy.url = f"http://127.0.0.1:{server.server_address[1]}"
    with serving(server):
        yield proxy
