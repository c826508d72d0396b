"""The child process that judges finished streams, and its pipe, driven from the proxy's event loop.

`submit` sends a job (a function and its arguments, pickled); the proxy's event loop reads the reply when it comes
(`add_reader`) and completes the job's future there, so its callbacks run on the loop. The proxy starts no thread
for it: `concurrent.futures.ProcessPoolExecutor` runs a manager thread and a queue-feeder thread in the parent,
and in `bench/proxy.py`'s sustained case they cost the event loop 1.4 to 2.9 µs per event (a verdict that read
nothing, against none at all), by taking the GIL from it at every stream's end.

Jobs go one at a time, so the pipe never holds more than one and a send never blocks the loop. Outside a running
event loop (tests, a shutdown), `submit` makes the round trip at once, blocking.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import multiprocessing.connection
import os
import signal
import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import Executor, Future
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from ..recording import decode_in_batches_from

_Job = tuple[Future, Callable[..., Any], tuple[Any, ...]]


class VerdictProcess(Executor):
    """One child process that judges finished streams, one at a time: validating never takes the proxy's GIL from
    the streams still live, and at the lowest CPU priority (`yield_to_the_proxy`) it never takes a core from them
    either. A job whose process dies fails with `BrokenProcessPool`, and so does every later `submit`."""

    def __init__(self) -> None:
        self._connection: multiprocessing.connection.Connection | None = None
        self._process: multiprocessing.process.BaseProcess | None = None
        """Started with the first job, as a pool's worker is: a recorder that judges nothing starts no process."""
        self._jobs: deque[_Job] = deque()
        """Jobs not done yet, in order; the first one is in the child once `_sent`."""
        self._sent = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._broken = False

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future:
        if kwargs:
            raise TypeError("VerdictProcess.submit takes positional arguments only")
        if self._broken:
            raise BrokenProcessPool("the verdict process died")
        future: Future = Future()
        self._jobs.append((future, fn, args))
        if self._process is None:
            self._start()
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self._drain()
            return future
        if self._loop is None:
            self._loop = loop
            loop.add_reader(self._connection.fileno(), self._receive)
        if not self._sent:
            self._send()
        return future

    def _start(self) -> None:
        context = multiprocessing.get_context("spawn")
        self._connection, theirs = context.Pipe()
        self._process = context.Process(target=_serve, args=(theirs,), name="sse-inspector-verdicts", daemon=True)
        self._process.start()
        theirs.close()

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Judge what waits (blocking), then let the child go: it exits when its end of the pipe closes."""
        if cancel_futures:
            while len(self._jobs) > self._sent:
                self._jobs.pop()[0].cancel()
        if wait:
            self._drain()
        self._close()
        if wait and self._process is not None:
            self._process.join()

    def _drain(self) -> None:
        """Every job, a blocking round trip each."""
        while self._jobs and not self._broken:
            if not self._sent:
                self._send()
            if self._jobs:
                self._receive()

    def _send(self) -> None:
        _, fn, args = self._jobs[0]
        try:
            self._connection.send((fn, args))
        except OSError:  # BrokenPipeError: the child is gone
            self._died()
            return
        self._sent = True

    def _receive(self) -> None:
        """The reply to the job in the child: complete its future and send the next one."""
        try:
            done, value = self._connection.recv()
        except (EOFError, OSError):  # the child died (killed, out of memory) with the job in it
            self._died()
            return
        except Exception as error:  # noqa: BLE001  a reply read whole that does not unpickle: this job's
            done, value = False, error
        future, _, _ = self._jobs.popleft()
        self._sent = False
        if self._jobs:
            self._send()
        if done:
            future.set_result(value)
        else:
            future.set_exception(value)

    def _died(self) -> None:
        self._broken = True
        self._close()
        jobs, self._jobs = self._jobs, deque()
        for future, _, _ in jobs:
            future.set_exception(BrokenProcessPool("the verdict process died"))

    def _close(self) -> None:
        connection = self._connection
        if connection is None or connection.closed:
            return
        if self._loop is not None:
            with contextlib.suppress(ValueError, OSError, RuntimeError):  # RuntimeError: the loop has closed
                self._loop.remove_reader(connection.fileno())
        connection.close()


def _serve(connection: multiprocessing.connection.Connection) -> None:
    """The child's loop: a job in, its result (or what it raised) out, until the proxy closes the pipe."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the recorder's: it stops, judges what waits, closes
    start_verdict_process()
    while True:
        try:
            fn, args = connection.recv()
        except EOFError:
            return
        try:
            reply: tuple[bool, Any] = (True, fn(*args))
        except Exception as error:  # noqa: BLE001  the proxy logs it with the stream it was about
            reply = (False, error)
        try:
            connection.send(reply)
        except OSError:  # the proxy is gone
            return
        except Exception as error:  # noqa: BLE001  a result or an error that does not pickle
            connection.send((False, RuntimeError(f"the verdict could not be sent back: {error!r}")))


def start_verdict_process() -> None:
    yield_to_the_proxy()
    leave_with_the_proxy()
    decode_in_batches_from(0)


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
    load; a live stream never waits for one (`bench/proxy.py`, sustained and concurrent cases)."""
    with contextlib.suppress(OSError, AttributeError):  # AttributeError: a platform without these calls
        os.nice(19)  # NOTE: adds to the niceness; the kernel caps the sum at 19
    with contextlib.suppress(OSError, AttributeError):
        os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
