"""The child process that judges finished streams, and its socket, driven from the proxy's event loop.

`submit` sends a job (a function and its arguments, pickled); the proxy's event loop reads the reply as it comes
(`add_reader`) and completes the job's future there, so its callbacks run on the loop. The proxy starts no thread
for it: `concurrent.futures.ProcessPoolExecutor` runs a manager thread and a queue-feeder thread in the parent,
and in `bench/proxy.py`'s sustained case they cost the event loop 1.4 to 2.9 µs per event (a verdict that read
nothing, against none at all), by taking the GIL from it at every stream's end.

A job goes to the child as soon as it is submitted, up to `IN_FLIGHT` jobs at a time, and every reply that has come
is taken at once: under a sustained load the proxy's event loop turns only every few tens of milliseconds, and jobs
sent one at a time, each after the last one's reply was read, took a turn each (the last verdict came 35-50 ms
after the last byte in `bench/proxy.py`'s sustained case, 12-25 ms since). Jobs are small (a path, a summary), and
those sent and not answered yet are kept under `IN_FLIGHT_BYTES`, so they fit in the socket's buffer and a send
never blocks the loop. Outside a running event loop (tests, a shutdown), `submit` makes the round trip at once,
blocking.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import multiprocessing.connection
import multiprocessing.resource_tracker
import os
import pickle
import select
import signal
import socket
import struct
import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import Executor, Future
from concurrent.futures.process import BrokenProcessPool
from typing import Any

_Job = tuple[Future, bytes]
"""A job's future, and its message (the function and its arguments, framed)."""
_LENGTH = struct.Struct("!Q")
"""A message on the socket: its length, then a pickle."""
IN_FLIGHT = 32
"""Jobs sent and not answered yet, at most (a verdict's job is about 400 bytes)..."""
IN_FLIGHT_BYTES = 64 * 1024
"""... and their bytes, at most, unless one job alone is larger, and never more than half of what the socket holds
(`_room`), so a send never blocks."""
SOCKET_BUFFER = 256 * 1024
"""The buffer asked for at each end of the socket: Linux gives a local socket 208 KiB, but macOS only 8 KiB, where
a few dozen verdicts waiting in the child (a burst of streams ending while it judges a long one) would fill it and
the next send would hold the proxy's event loop until the child, at the lowest priority, read."""


class VerdictProcess(Executor):
    """One child process that judges finished streams, one at a time: validating never takes the proxy's GIL from
    the streams still live, and at the lowest CPU priority (`yield_to_the_proxy`) it never takes a core from them
    either. A job whose process dies fails with `BrokenProcessPool`, and so does every later `submit`. Jobs run in
    the order they were submitted.

    The proxy never waits on the socket in its event loop: a reply is read as far as it has come (`MSG_DONTWAIT`)
    and taken once whole. A child at the lowest priority can be held between two writes of a long reply for as
    long as the machine is busy, and a read that waited would hold the event loop, and every live stream, that
    long. A job is sent whole at once: a few hundred bytes."""

    def __init__(self) -> None:
        self._socket: socket.socket | None = None
        self._process: multiprocessing.process.BaseProcess | None = None
        """Started with the first job, as a pool's worker is: a recorder that judges nothing starts no process."""
        self._jobs: deque[_Job] = deque()
        """Jobs not done yet, in order; the first `_sent` of them are in the child."""
        self._sent = 0
        self._sent_bytes = 0
        self._in_flight_bytes = IN_FLIGHT_BYTES
        """What `_room` found the socket holds, up to `IN_FLIGHT_BYTES`."""
        self._received = bytearray()
        """What has come of the replies not taken yet."""
        self._loop: asyncio.AbstractEventLoop | None = None
        self._broken = False

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future:
        if kwargs:
            raise TypeError("VerdictProcess.submit takes positional arguments only")
        if self._broken:
            raise BrokenProcessPool("the verdict process died")
        future: Future = Future()
        self._jobs.append((future, _framed((fn, args))))
        if self._socket is None:
            self._start()
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self._drain()
            return future
        if self._loop is None:
            self._loop = loop
            loop.add_reader(self._socket.fileno(), self._receive)  # type: ignore[union-attr]
        self._send()
        return future

    def _start(self) -> None:
        ours, theirs = socket.socketpair()
        for end, option in ((ours, socket.SO_SNDBUF), (theirs, socket.SO_RCVBUF)):
            with contextlib.suppress(OSError):  # a platform's own cap: `_room` reads what was granted
                end.setsockopt(socket.SOL_SOCKET, option, SOCKET_BUFFER)
        context = multiprocessing.get_context("spawn")
        self._process = context.Process(target=_serve, args=(theirs,), name="sse-inspector-verdicts", daemon=True)
        # Born deaf to Ctrl-C (the recorder's: it stops, judges what waits, closes), not only once `_serve` runs: a
        # Ctrl-C while the child still imports would print its traceback. Starting multiprocessing's resource
        # tracker unblocks SIGINT, so it runs first; a Ctrl-C meanwhile waits for the unblock here, not lost.
        multiprocessing.resource_tracker.ensure_running()
        blocked = signal.pthread_sigmask(signal.SIG_BLOCK, DEAF_TO)
        try:
            self._process.start()
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, blocked)
        self._in_flight_bytes = _room(ours, theirs)
        theirs.close()
        self._socket = ours

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Judge what waits (blocking), then let the child go: it exits when its end of the socket closes."""
        if cancel_futures:
            while len(self._jobs) > self._sent:
                self._jobs.pop()[0].cancel()
        if wait:
            self._drain()
        self._close()
        if wait and self._process is not None:
            self._process.join()

    def _drain(self) -> None:
        """Every job, waiting for each reply (blocking)."""
        while self._jobs and not self._broken:
            self._send()
            if self._sent:
                select.select([self._socket], [], [])
                self._receive()

    def _send(self) -> None:
        """The jobs not sent yet, as far as `IN_FLIGHT` and `IN_FLIGHT_BYTES` allow."""
        while self._sent < min(len(self._jobs), IN_FLIGHT):
            _, message = self._jobs[self._sent]
            if self._sent and self._sent_bytes + len(message) > self._in_flight_bytes:
                return
            try:
                self._socket.sendall(message)  # type: ignore[union-attr]
            except OSError:  # the child is gone
                self._died()
                return
            self._sent += 1
            self._sent_bytes += len(message)

    def _receive(self) -> None:
        """What has come of the replies; complete the future of each whole one, then send the jobs waiting."""
        try:
            data = self._socket.recv(1 << 16, socket.MSG_DONTWAIT)  # type: ignore[union-attr]
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:  # the child died (killed, out of memory) with jobs in it
            self._died()
            return
        received = self._received
        received += data
        while len(received) >= _LENGTH.size and not self._broken:  # broken: by a callback's `submit`
            size = _LENGTH.size + _LENGTH.unpack_from(received)[0]
            if len(received) < size:
                break
            message = bytes(received[_LENGTH.size : size])
            del received[:size]
            try:
                done, value = pickle.loads(message)
            except Exception as error:  # noqa: BLE001  a reply that does not unpickle: this job's failure
                done, value = False, error
            future, sent = self._jobs.popleft()
            self._sent -= 1
            self._sent_bytes -= len(sent)
            if done:
                future.set_result(value)
            else:
                future.set_exception(value)
        self._send()

    def _died(self) -> None:
        self._broken = True
        self._sent = self._sent_bytes = 0
        self._close()
        jobs, self._jobs = self._jobs, deque()
        for future, _ in jobs:
            future.set_exception(BrokenProcessPool("the verdict process died"))

    def _close(self) -> None:
        channel = self._socket
        if channel is None or channel.fileno() < 0:
            return
        if self._loop is not None:
            with contextlib.suppress(ValueError, OSError, RuntimeError):  # RuntimeError: the loop has closed
                self._loop.remove_reader(channel.fileno())
        channel.close()


def _room(ours: socket.socket, theirs: socket.socket) -> int:
    """The bytes of jobs that may wait in the socket: `IN_FLIGHT_BYTES`, or half of the smaller of our end's send
    buffer and the child's receive buffer if that is less (Linux reports twice the bytes it lets wait, to count its
    own overhead; macOS bounds a local socket by the receiving end's buffer)."""
    held = min(ours.getsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF),
               theirs.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF))
    return min(IN_FLIGHT_BYTES, held // 2)


DEAF_TO = {signal.SIGINT, signal.SIGTERM}
"""What the child ignores: a Ctrl-C goes to the whole process group, and so does the TERM of a CI runner's `timeout`
(it killed the child, and `run` said "the verdict process died"); the recorder handles both, judges what waits,
and closes the socket, at which the child exits."""


def _serve(channel: socket.socket) -> None:
    """The child's loop: a job in, its result (or what it raised) out, until the proxy closes its end."""
    for signum in DEAF_TO:  # a Ctrl-C (or a TERM) that came while it started is dropped with this
        signal.signal(signum, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, DEAF_TO)
    start_verdict_process()
    while (message := _read_message(channel)) is not None:
        fn, args = pickle.loads(message)
        try:
            reply: tuple[bool, Any] = (True, fn(*args))
        except Exception as error:  # noqa: BLE001  the proxy logs it with the stream it was about
            reply = (False, error)
        try:
            data = _framed(reply)
        except Exception as error:  # noqa: BLE001  a result or an error that does not pickle
            data = _framed((False, RuntimeError(f"the verdict could not be sent back: {error!r}")))
        try:
            channel.sendall(data)
        except OSError:  # the proxy is gone
            return


def _framed(value: Any) -> bytes:
    """`value` as one message: its pickle's length, then the pickle."""
    message = pickle.dumps(value, pickle.HIGHEST_PROTOCOL)
    return _LENGTH.pack(len(message)) + message


def _read_message(channel: socket.socket) -> bytes | None:
    """The next whole message (blocking); None once the proxy has closed its end."""
    head = _read_exactly(channel, _LENGTH.size)
    return None if head is None else _read_exactly(channel, _LENGTH.unpack(head)[0])


def _read_exactly(channel: socket.socket, size: int) -> bytes | None:
    data = bytearray()
    while len(data) < size:
        piece = channel.recv(size - len(data))
        if not piece:
            return None
        data += piece
    return bytes(data)


def start_verdict_process() -> None:
    yield_to_the_proxy()
    leave_with_the_proxy()


def leave_with_the_proxy() -> None:
    """The verdict process exits as soon as the proxy is gone, even killed outright (SIGKILL, out of memory): its
    verdicts only serve the proxy, which writes the end lines."""
    proxy = multiprocessing.parent_process()
    if proxy is None:
        return

    def wait_then_exit() -> None:
        multiprocessing.connection.wait([proxy.sentinel])
        os._exit(0)

    threading.Thread(target=wait_then_exit, name="leave-with-the-proxy", daemon=True).start()


def yield_to_the_proxy() -> None:
    """Runs first in the verdict process: the lowest CPU priority there is (nice 19; on Linux `SCHED_IDLE` on
    top), so a verdict only gets the CPU time the proxy and the apps leave idle. A verdict comes later under
    load; a live stream never waits for one (`bench/proxy.py`, sustained and concurrent cases). That idle time is
    not free on a few cores: a busy core is dearer to wake than an idle one (the bench's idle-load case)."""
    with contextlib.suppress(OSError, AttributeError):  # AttributeError: a platform without these calls
        os.nice(19)  # NOTE: adds to the niceness; the kernel caps the sum at 19
    with contextlib.suppress(OSError, AttributeError):
        os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
