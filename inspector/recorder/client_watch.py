"""Whether the app is still there: asked before each chunk is recorded, so a chunk that never reached the client is
never recorded as delivered (docs/recording.md: a client that hung up is never recorded complete).

A busy proxy may not have read the client's FIN or reset yet when the upstream's next chunks come, so mitmproxy's
view of the connection is not enough: the socket itself is asked too, at most once per `SOCKET_CHECK_INTERVAL`
for all the streams being recorded together (`SocketWatch`). The stream callable asks inline
(`StreamRecording.on_chunk`): as a function call, the question cost the proxy's event loop 0.5 to 0.9 µs per
chunk more in `bench/proxy.py`'s sustained case.
"""

from __future__ import annotations

import select
import time
from dataclasses import dataclass

from mitmproxy.connection import Client, ConnectionState

SOCKET_CHECK_INTERVAL = 0.001
"""Seconds between two looks at the clients' sockets: a burst of chunks pays for one `poll(2)` per millisecond,
not one each (`bench/client_check.py`), for all the streams together (`SocketWatch`); what passes in the
millisecond after the client left is recorded."""
OPEN, CAN_WRITE = ConnectionState.OPEN, ConnectionState.CAN_WRITE
"""The states a client can still be written to in, compared by identity on every chunk (a Flag operation costs a
microsecond, hashing an enum member for `in WRITABLE` a quarter of one): every combination of flags is one cached
member."""
WRITABLE = frozenset({OPEN, CAN_WRITE})
"""The same states, for a check made once per stream."""


@dataclass(frozen=True, slots=True)
class ClientWatch:
    """What tells whether one stream's client has gone: mitmproxy's view of the connection (`client.state`), and
    the socket itself (`sockets`, which watches `socket`; None: mitmproxy's view only)."""

    client: Client
    sockets: SocketWatch | None = None
    socket: int | None = None


class SocketWatch:
    """The client sockets of the streams being recorded, asked together whether their client closed or reset them:
    one `poll(2)` per `SOCKET_CHECK_INTERVAL` for all the live streams, not one per stream (a `poll(2)` costs
    about 1.5 µs on a VM; 4 streams in a burst asked it every other chunk, `bench/proxy.py`'s sustained case)."""

    def __init__(self, interval: float = SOCKET_CHECK_INTERVAL) -> None:
        self._interval = interval
        self._poller = select.poll()
        self._watchers: dict[int, int] = {}
        """How many open streams watch each socket (HTTP/2 carries several streams over one connection)."""
        self.found: set[int] = set()
        """The sockets whose client hung up, as of the last `poll(2)`."""
        self.next_poll = 0.0
        """When the last `poll(2)`'s answer stops holding (monotonic)."""

    def watch(self, socket: int) -> None:
        if not self._watchers.get(socket):
            # POLLERR and POLLHUP (a reset, a full close) are always reported; the client's FIN only where the
            # platform has POLLRDHUP (Linux). macOS has none: asking POLLIN instead would take the data an HTTP/2
            # client sends for a hang-up, so there only what is always reported is seen.
            self._poller.register(socket, getattr(select, "POLLRDHUP", 0))
        self._watchers[socket] = self._watchers.get(socket, 0) + 1
        self.next_poll = 0.0  # the last answer may be about a closed socket this one's number was before

    def forget(self, socket: int) -> None:
        left = self._watchers.pop(socket, 0) - 1
        if left > 0:
            self._watchers[socket] = left
        elif left == 0:
            self._poller.unregister(socket)
            self.found.discard(socket)

    def hung_up(self, socket: int, now: float | None = None) -> bool:
        """Whether the client closed or reset `socket`, as of at most `SOCKET_CHECK_INTERVAL` before `now` (the
        caller's `time.monotonic()`, or the clock's)."""
        if now is None:
            now = time.monotonic()
        if now >= self.next_poll:
            self.next_poll = now + self._interval
            self.found = {found for found, _ in self._poller.poll(0)}
        return socket in self.found
