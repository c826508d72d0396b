"""The verdict process's pipe, driven from the proxy's event loop: jobs in order, their futures completed on the
loop, no thread in the proxy, a death that fails the waiting jobs (and only those), and nothing left behind."""

import asyncio
import os
import threading
from concurrent.futures import Future
from concurrent.futures.process import BrokenProcessPool

import pytest

from inspector.recorder.verdict_process import VerdictProcess


def echo(value: object) -> object:
    return value


def fail(message: str) -> None:
    raise ValueError(message)


def die() -> None:
    os._exit(3)


def test_jobs_submitted_on_the_event_loop_complete_there_in_order_with_no_thread() -> None:
    verdicts = VerdictProcess()
    threads = threading.active_count()

    async def judge_all() -> tuple[list[object], set[int], int]:
        done_in: set[int] = set()
        futures = [verdicts.submit(echo, number) for number in range(5)] + [verdicts.submit(os.getpid)]
        for future in futures:
            future.add_done_callback(lambda _: done_in.add(threading.get_ident()))
        results = await asyncio.gather(*map(asyncio.wrap_future, futures))
        return results, done_in, threading.active_count()

    try:
        results, done_in, threads_meanwhile = asyncio.run(judge_all())
    finally:
        verdicts.shutdown()
    assert results[:5] == [0, 1, 2, 3, 4] and results[5] != os.getpid()
    assert done_in == {threading.get_ident()}  # the loop's thread: the callbacks write the end lines there
    assert threads_meanwhile == threads


def test_a_job_that_raises_fails_alone() -> None:
    verdicts = VerdictProcess()
    try:
        with pytest.raises(ValueError, match="no verdict"):
            verdicts.submit(fail, "no verdict").result()
        assert verdicts.submit(echo, "next").result() == "next"
    finally:
        verdicts.shutdown()


def test_a_process_that_dies_fails_the_jobs_waiting_in_it_and_takes_no_more() -> None:
    verdicts = VerdictProcess()

    async def submit_both() -> list[Future]:
        first, second = verdicts.submit(die), verdicts.submit(echo, "after")
        await asyncio.gather(*map(asyncio.wrap_future, (first, second)), return_exceptions=True)
        return [first, second]

    try:
        futures = asyncio.run(submit_both())
        assert all(isinstance(future.exception(), BrokenProcessPool) for future in futures)
        with pytest.raises(BrokenProcessPool):
            verdicts.submit(echo, "later")
    finally:
        verdicts.shutdown()


def test_no_process_before_the_first_job_and_none_after_shutdown() -> None:
    verdicts = VerdictProcess()
    assert verdicts._process is None
    assert verdicts.submit(echo, 1).result() == 1
    process = verdicts._process
    assert process is not None and process.is_alive()
    verdicts.shutdown()
    assert not process.is_alive() and process.exitcode == 0


def test_a_reply_that_comes_in_pieces_never_holds_the_event_loop() -> None:
    """The child, at the lowest priority, may be held between two writes of a long reply: the proxy takes what
    has come and goes back to its streams, and completes the job once the reply is whole."""
    import pickle
    import socket
    import struct

    verdicts = VerdictProcess()
    ours, theirs = socket.socketpair()
    verdicts._socket, verdicts._sent, verdicts._sent_bytes = theirs, 1, len(b"the job")
    # NOTE: a read that waited for the rest would wait for this: the end of the socket, read as the child's death
    watchdog = threading.Timer(5, ours.shutdown, args=(socket.SHUT_WR,))
    watchdog.start()
    future: Future = Future()
    verdicts._jobs.append((future, b"the job"))
    reply = pickle.dumps((True, "x" * 300_000))
    message = struct.pack("!Q", len(reply)) + reply
    try:
        ours.sendall(message[:100_000])
        for _ in range(3):
            verdicts._receive()
        assert not future.done()
        rest = threading.Thread(target=ours.sendall, args=(message[100_000:],))
        rest.start()
        while not future.done():
            verdicts._receive()
        rest.join()
        assert future.result() == "x" * 300_000
    finally:
        watchdog.cancel()
        ours.close()
        theirs.close()


def test_jobs_go_to_the_child_without_waiting_for_replies_and_replies_that_came_together_are_all_taken() -> None:
    """Under load the proxy's event loop turns only every few tens of milliseconds: a job must not wait for the
    reply to the one before it to be read (up to `IN_FLIGHT` jobs are in the child), and every reply that has come
    is taken at one turn, not one a turn."""
    import pickle
    import socket
    import struct

    from inspector.recorder.verdict_process import IN_FLIGHT, _read_message

    verdicts = VerdictProcess()
    ours, theirs = socket.socketpair()
    verdicts._socket = theirs
    ours.settimeout(5)

    async def submit_all() -> list[Future]:
        verdicts._loop = asyncio.get_running_loop()  # so no reader is added: the test calls `_receive` itself
        return [verdicts.submit(echo, number) for number in range(IN_FLIGHT + 8)]

    try:
        futures = asyncio.run(submit_all())
        jobs = [pickle.loads(_read_message(ours)) for _ in range(IN_FLIGHT)]
        assert [args for _, args in jobs] == [(number,) for number in range(IN_FLIGHT)]
        replies = [pickle.dumps((True, number)) for number in range(3)]
        ours.sendall(b"".join(struct.pack("!Q", len(reply)) + reply for reply in replies))
        verdicts._receive()
        assert [future.result(timeout=0) for future in futures[:3]] == [0, 1, 2] and not futures[3].done()
        sent_after = [pickle.loads(_read_message(ours)) for _ in range(3)]  # three answered: three more go
        assert [args for _, args in sent_after] == [(number,) for number in range(IN_FLIGHT, IN_FLIGHT + 3)]
    finally:
        ours.close()
        theirs.close()


def test_jobs_in_flight_are_kept_under_a_size_that_fits_the_sockets_buffer() -> None:
    """A send must never block the proxy's event loop: jobs go while those not answered yet stay under
    `IN_FLIGHT_BYTES` (one larger job still goes alone), the rest as the replies come."""
    import pickle
    import socket
    import struct

    from inspector.recorder.verdict_process import IN_FLIGHT_BYTES, _read_message

    verdicts = VerdictProcess()
    ours, theirs = socket.socketpair()
    verdicts._socket = theirs
    ours.settimeout(5)
    big = "x" * (IN_FLIGHT_BYTES // 3)

    async def submit_all() -> list[Future]:
        verdicts._loop = asyncio.get_running_loop()  # so no reader is added: the test calls `_receive` itself
        return [verdicts.submit(echo, "y" * IN_FLIGHT_BYTES)] + [verdicts.submit(echo, big) for _ in range(4)]

    try:
        asyncio.run(submit_all())
        assert verdicts._sent == 1  # alone, larger than the limit
        _read_message(ours)
        reply = pickle.dumps((True, None))
        ours.sendall(struct.pack("!Q", len(reply)) + reply)
        verdicts._receive()
        assert verdicts._sent == 2  # two thirds of the limit and a little more: a third would not fit
        assert [pickle.loads(_read_message(ours))[1] for _ in range(2)] == [(big,), (big,)]
    finally:
        ours.close()
        theirs.close()


def test_a_ctrl_c_while_the_child_starts_does_not_reach_it() -> None:
    """Ctrl-C in a terminal goes to the whole process group, and is the recorder's to handle: a child still starting
    (importing, before its own handler is set) must neither die of it nor print its traceback."""
    import signal

    verdicts = VerdictProcess()
    try:
        verdicts._start()
        os.kill(verdicts._process.pid, signal.SIGINT)  # it takes a good tenth of a second to start
        assert verdicts.submit(echo, "still here").result(timeout=60) == "still here"
    finally:
        verdicts.shutdown()


def test_a_send_never_blocks_where_local_sockets_hold_little(monkeypatch: pytest.MonkeyPatch) -> None:
    """macOS gives a local socket 8 KiB: with `IN_FLIGHT_BYTES` of jobs waiting in a busy child, the next send
    would hold the proxy's event loop until the child read. Simulated with small buffers that refuse to grow: every
    job is submitted at once while the child is stopped, and all are judged, in order, once it goes on."""
    import signal
    import socket

    class Stubborn(socket.socket):
        def setsockopt(self, *args: object) -> None:  # a platform that keeps its small buffers
            pass

    real_pair = socket.socketpair

    def small_pair() -> tuple[socket.socket, socket.socket]:
        ours, theirs = real_pair()
        ours.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
        theirs.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        return Stubborn(fileno=ours.detach()), theirs

    monkeypatch.setattr(socket, "socketpair", small_pair)
    verdicts = VerdictProcess()
    verdicts._start()
    monkeypatch.undo()
    os.kill(verdicts._process.pid, signal.SIGSTOP)  # busy: it reads nothing meanwhile
    futures: list[Future] = []

    async def submit_all() -> None:
        futures.extend(verdicts.submit(echo, f"{number}" * 1000) for number in range(30))  # ~30 KB of jobs

    submitting = threading.Thread(target=asyncio.run, args=(submit_all(),))
    submitting.start()
    submitting.join(10)
    blocked = submitting.is_alive()
    os.kill(verdicts._process.pid, signal.SIGCONT)
    submitting.join(60)
    try:
        assert not blocked, "a send blocked the event loop"
        verdicts._loop = None  # the submitting loop has ended: the rest is sent and read here, blocking
        verdicts._drain()
        assert [future.result(timeout=0) for future in futures] == [f"{number}" * 1000 for number in range(30)]
    finally:
        verdicts.shutdown()
