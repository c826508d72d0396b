"""What the recorder costs the app, side by side in one run: plain mitmdump streaming vs `sse-inspector record`.

    python bench/proxy.py [--events 20000] [--paced 300] [--interval-ms 5] [--rounds 3] [--streams 24]
                          [--stream-events 2000] [--concurrency 4] [--concurrent 50] [--concurrent-interval-ms 20]
                          [--cases burst,paced,sustained,concurrent] [--baseline TREE]

1. Burst: one Chat Completions stream of `--events` events, each its own HTTP chunk, sent as fast as the
   upstream can; the client times the whole body. Throughput in events/s; the recorder must keep >= 85 %.
   Beside it, the cost per event of validating inside the stream callable (`StreamCheck.feed`), measured
   in-process: the number behind computing the verdict once the stream has ended instead, in a child process.
2. Paced: `--paced` events `--interval-ms` apart; each event carries the upstream's send time, the client takes
   arrival minus send. The recorder must add < 1 ms per event at the median.
3. Sustained: `--streams` streams of `--stream-events` events, `--concurrency` at a time, back to back; the clock
   stops when the last recording has its end line, so the verdicts are included. Throughput in events/s; the
   recorder must keep >= 90 % of plain's. Also shown: the streams alone (the clock stopped at the last byte the
   clients got) and how long after that the last verdict came: the verdict process runs at the lowest CPU
   priority, so on a busy machine verdicts wait for idle CPU while the streams go on at full speed.
4. Concurrent paced: `--concurrent` streams at once, each `--paced` events `--concurrent-interval-ms` apart (20 ms:
   50 events/s, a fast model; at 5 ms, 50 streams keep plain mitmdump itself near a full core on a 2-core machine
   and its own p99 swings by tens of ms between rounds); p99 of the per-event latency over all of them. The
   recorder must add < 1 ms at the p99.

`--baseline TREE` runs a third proxy in the same rounds: `sse-inspector record` from another checkout (say,
`git archive main | tar -x -C /tmp/base`), so a change to the recorder is measured against the code before it,
each against the same plain mitmdump.

Cases 3 and 4 split the CPU per event: the proxy's event loop (its main thread) and the verdict process.
The upstream and the client share this process's event loop (their cost is the same for both proxies); each
proxy is its own process. Rounds alternate the order of the two proxies, and each round measures both back to
back, so on a shared machine the median of the per-round ratios is the steadier number; the load average is
printed with the figures.

Measured on the shared 2-core machine, 2026-12-04, 5 rounds, load average 6-7 from other work (CPU pressure
around 80 %), after the verdict moved to the lowest priority and to `FirstTokenClock` + `Source.feed_to`:

    burst        plain 7463 events/s, sse-inspector 6008: median of the rounds' ratios 84 %
                 event-loop CPU per event 33.0 vs 45.5 us
    paced        0.408 vs 0.463 ms at the median (+0.056 ms)
    sustained    verdicts included: 6942 vs 6413 events/s (92 %), median of the rounds' ratios 87 % (65-111 %)
                 the streams alone: median of the rounds' ratios 111 % (91-131 %); last end line 1.1-3.3 s later
                 CPU per event: event loop 35.0 vs 44.2 us, verdict process 14.4 us (before: about 19 us)
    concurrent   50 streams 20 ms apart, p99: plain 128-383 ms, sse-inspector 97-337 ms between rounds;
                 median of the rounds' differences -50 ms: the machine's scheduling, not the recorder, sets it
                 CPU per event: event loop 118.7 vs 122.7 us, verdict process 24.7 us

Before (same day, load 4.5): sustained 54 % of plain, concurrent p99 (5 ms apart) 102 vs 432 ms.

On a quiet machine (load 0.8), 3 rounds, once each chunk carried its send time in an `obfuscation` pad, as OpenAI
pads every chunk (a per-chunk number field before, which no real stream has, kept the validator off its fast path):
burst 85 % (median of the rounds' ratios); paced -0.015 ms; sustained 80 %, the streams alone 83 %, the last end
line 0.06 s after the last byte, verdict process 7.7 us per event (15.4 with the number field); concurrent p99
-10 ms. What is left of the sustained gap is the event loop's +4.2 us per event, not the verdicts.

Then the recorder's per-chunk work was cut (a full batch written at the loop's next turn, after its last chunk went
on; a batch's lines formatted in C; one `poll(2)` a millisecond for all the streams' client sockets, not one per
stream). Four runs with `--baseline` the recorder before that change, same day, load average 6-8 from other work
(3, 5, 5 and 3 rounds; the first two before the shared `poll(2)`), this tree vs the baseline, medians of the
rounds' ratios to plain mitmdump in the same run:

    burst        93/68, 95/69, 85/78, 79/77 %: faster in 13 of 16 rounds;
                 event-loop CPU per event 10.5, 10.5, 8.0 and 2.0 us less than the baseline's
    sustained    verdicts included 90/100, 90/85, 104/97, 76/93 %; the streams alone 99/114, 101/92, 119/106,
                 77/96 %: faster in 8 of 16 rounds, the load swings single rounds by tens of points;
                 event-loop CPU per event 6.0, 6.9, 7.9 and 0.0 us less than the baseline's
    paced        added at the median -0.002/+0.068, -0.062/+0.150, -0.109/+0.029, +0.053/+0.080 ms
    concurrent   p99, median of the rounds' differences to plain -8/+38, +80/+84, +3/+121, +69/+41 ms
                 (plain's own p99 55-900 ms between rounds: the machine's scheduling sets it)

Two more runs (5 rounds, burst and sustained, load 5-7): this change alone vs the baseline, burst 74/69 % (faster
in 5 of 5 rounds), sustained 80/82 %, event-loop CPU per event 2 us less; main after it (with other work merged)
vs the baseline, burst 71/66 %, sustained 81/89 % (slower in 5 of 5 rounds), event-loop CPU 7 us more. So the burst
gained a little, the sustained case did not measurably, and the sustained target (>= 90 %) is not met on this
loaded machine; a quiet machine is needed to see a few microseconds per event.

Later the same day, with nothing else running (load average 0.7-1.4; the VM's host still swings plain mitmdump
between 21,000 and 30,000 events/s from one run to the next), after chunk lines were built by msgspec's encoder
(0.7 us a chunk, bytes included, against 1.4), the client check was cut to one call a chunk, and the verdict
process decoded recordings in batches and read them through the parser's text path. `--baseline` the recorder
before those changes (498bba1), medians of the rounds' ratios:

    run (rounds)          burst      sustained (streams alone)   paced added   concurrent p99, difference
    21:02 (5)             90 / 82 %  84 / 88 % (86 / 90 %)       +0.04 / +0.05  +3 / +15 ms
    21:22 (7)             74 / 77 %  97 / 77 % (99 / 78 %)       -0.02 / -0.03  -14 / -17 ms
    CPU per event         event loop +0.5 and +10.0 us over plain's (baseline +5.4 and +6.0); verdict process
                          5.4-5.8 us (baseline 7.7-8.5)

Four more sustained runs of this tree (5-7 rounds each, 21:05-21:08) gave 77, 80, 84 and 88 %, and two at 21:37
(7 rounds each, beside 498bba1) 85 / 78 % and 81 / 81 %, the event loop +4.8 and +6.0 us per event (498bba1: +7.5
and +6.7), the verdict process 4.8 us per event (498bba1: 6.7 and 6.9). One of the four ran
beside the same tree with the verdict switched off (`_judge` skipped, an experiment): 77 % with verdicts against
90 % without, the event loop +7.9 against +4.8 us per event. So what is left of the sustained gap is mostly what
the verdict process's own CPU (5 us per event, at the lowest priority, on the same two cores as the proxy and
this bench) costs the proxy's event loop, not the recorder's work on that loop. Verdicts at nice 19 with
SCHED_BATCH instead of SCHED_IDLE measured worse (76 %); the verdict process kept off the proxy's CPU by its
affinity measured 85 and 87 % against 84 and 88 % without, within the noise, so neither was kept.

The next day, with nothing else running (load 0.4-1.9), three experiments side by side (7 rounds each) located
what was left: a tree whose verdict reads nothing (the job still goes to the child and back) against one with no
verdict at all: 83/94 %, 84/87 % and 81/87 %, the event loop +1.4, +2.1 and +2.9 us per event more. So the
`ProcessPoolExecutor` machinery itself (a manager and a queue-feeder thread in the proxy, taking the GIL from the
event loop at each stream's end) cost more than the verdict's own CPU. It was replaced by `VerdictProcess`, a socket
read on the event loop with no thread in the proxy; with it, the verdict also got cheaper (a recording's chunks
taken by the delta shape straight from their text: 3.5-3.8 us per event in the child against 4.6-5.4). This tree
against the recorder of the stop before (4a3e1ed), medians of the rounds' ratios to plain mitmdump:

    run (rounds)        sustained, verdicts included   streams alone   event loop over plain's   verdict process
    23:12 (5)           84 / 79 %                      87 / 81 %       +5.0 / +6.0 us            3.7 / 5.4 us
    23:18 (7)           91 / 86 %                      93 / 87 %       +2.5 / +4.0 us            3.5 / 4.8 us
    23:22 (7)           86 / 87 %                      89 / 88 %       +7.1 / +5.2 us            3.8 / 5.4 us
    23:27-23:31 (7)     86 / 84, 79 / 73, 80 / 75 %    89/86, 82/73, 81/77 %   +3.5/+4.8, +6.0/+12.3, +7.3/+9.4 us
    23:48 (7), socket   85 / 85 %                      88 / 87 %       +4.0 / +4.4 us            3.5 / 5.6 us

and the event loop's CPU per event over 8 alternating 5-second sustained rounds (no wait for the verdicts), the
pipe against the pool in the same tree otherwise: +3.3 against +5.7 us over plain mitmdump's, lower in 7 of 8
rounds; the socket that then replaced the pipe (its reply read as far as it has come, never waited for) against the
pipe, 6 rounds: 1.2 us less, lower in 5 of 6. Burst (23:12): 80 / 83 %, paced -0.003 / +0.014 ms, concurrent p99
-7.9 / -5.8 ms. The sustained target (>= 90 %) is met in one run of seven: plain mitmdump's own rate swings by a
fifth between runs here, and what is left is the recorder's own work on the event loop (about 1 us a chunk for the
stream callable, 0.8 for its batched lines, 1.5 ms a stream for the file, its header and its end line), not the
verdict.

2026-12-05 (load 0.3-1.9). Under this load the proxy's event loop turns only every 40-150 ms (a 5 ms timer ran a
median 40 ms late), and the verdict process got one job per turn: the next job went only once the last reply was
read. Jobs now go as they come (up to 32 in flight) and every reply that came is taken at one turn. Three runs
beside the recorder before (1a33c32), 7 rounds each, this tree / before:

    sustained, verdicts included   89 / 88, 86 / 86, 88 / 88 %   (streams alone 90 / 91, 87 / 88, 89 / 90 %)
    last end line after last byte  12-25 ms / 28-60 ms
    event loop over plain's        +3.3, +4.8, +4.0 us (before: +3.1 in the first run); verdict process 3.5 us
                                   per event (before: 3.3)

What the recorder's +3 to +5 us per event on the loop was made of, from 5-second sustained runs of trees with one
part taken out, each beside the whole recorder and plain mitmdump (5 rounds, medians): the recording started (file,
header) but a stream callable that only returns the chunk: -0.7 us against plain's (the per-stream start costs
nothing measurable); no verdict at all: 0.4 us less than the whole recorder; no verdict and nothing written (the
chunks queued, then dropped): 1.0 us less again. So about 2 us per chunk was the callable queueing the chunk and
checking the client (0.47 us in a loop of its own, four times that among mitmproxy's work), 1 us encoding and
writing the lines, 0.4 us the verdict. The callable then asked whether the client is still there inline instead of
through a closure: the event loop's CPU per event, alternating with the tree before it and plain mitmdump, 8
rounds: 0.9 us less (lower in 5 of 8; a trial of the same change, 0.5 us less, 6 of 8). Three runs beside 1a33c32
after it: 86 / 85, 88 / 87 and 87 / 87 % (streams alone 87 / 87, 89 / 89 and 88 / 89 %), the last end line 12-24 ms
/ 22-54 ms after the last byte; in the last run (5 rounds, all cases) burst 86 / 85 %, paced +0.002 / +0.002 ms,
concurrent p99 -4.8 / -4.9 ms.

Tried and not kept: following each live recording in the verdict process as it grows, so only its last lines were
left at its end (the end-line lag went to 12 ms as with the pipelined jobs, but the verdict process's CPU rose from
3.3 to 4.4-4.6 us per event, read a few dozen lines at a time, and the sustained ratio did not move); a writer
process that encodes and writes the batches the proxy sends it (a prototype, the batches pickled to it over a
socket: the event loop's CPU per event 1.0 us more, not less, lower in 3 of 8 rounds, as pickling and sending a
batch costs about what encoding and writing it did, and on these two cores the writer takes CPU from the proxy and
this bench). What is left is the callable's and the encoding's Python work per chunk, about 3 us among mitmproxy's
31: at the target's edge on this machine.

Later that day the end lines were looked for every millisecond instead of every 10 ms: the last end line still
came 9-14 ms after the last byte (the last streams' verdicts, about 5 ms each for 2,000 events, one after the
other in the verdict process). 7 rounds beside the same recorder (an A/A run, load 0.5-1.2): sustained 88 / 88 %,
the streams alone 89 / 89 %, the event loop +4.2 / +4.4 us per event over plain's, the verdict process 3.3 us.
All cases at the end of that session (5 rounds, beside a3af724, load 0.9-1.4): burst 87 / 82 %, paced +0.005 /
+0.029 ms, sustained 87 / 84 % (the streams alone 87 / 84 %), concurrent p99 -5.7 / -6.0 ms.

The next session (load 0.5-1.7), nothing on the per-chunk path changed: sustained 87 / 88 % beside the same recorder
(7 rounds), then 86 and 86 % (5 rounds); the event loop +4.4 to +5.0 us per event over plain's 31. Located further:
- the verdict switched off (`judge` answering at once) beside the whole recorder, 7 rounds: 88 / 87 %, the same
  event loop CPU: the verdict process costs the proxy nothing measurable;
- the event loop's CPU per event, 4-second sustained rounds alternating with plain mitmdump (6-8 rounds, medians
  over plain's): a stream callable that returns at once -1.1 us, queueing without writing +1.2 us, the whole
  recorder +2.3 us; without the per-chunk client check 0.9 us less than the whole (lower in 7 of 8 rounds);
- py-spy in those rounds: the callable 2.4 % of the loop's samples (0.8 us), the writes 2.4 % (the line encoding
  1.9 %), everything else of the recorder under 1 %;
- the proxy pinned to one CPU and this bench to the other: +1.5 to +2.0 us over plain's 30 (about 94 %), wherever
  the verdict process runs. Unpinned, the recorder's process mostly stayed near one of two levels while it lived
  (about +2 or about +4.5 us); this bench's recorders were near the higher one in every run that day. Pinning
  gives the lower one, so how the scheduler places the busy processes on two cores likely makes most of the
  difference between 94 and 87 %; not proven further.

2026-12-05, a new and faster machine with nothing else running (load 0.3-1.6; plain mitmdump's event loop 16-17 us
per event in a burst, not 31). Sustained, 7-9 rounds per run: 89, 85, 88, 90 and 87 % (medians of the rounds'
ratios), the event loop +1.9 to +2.5 us per event over plain's, the two levels of the day before not seen. Trees
with one part taken out, each beside the whole recorder in one run (9 rounds; whole / part):

    a stream callable that returns at once     84 / 96 %   event loop +3.3 / +1.0 us
    queued, the batch dropped unwritten        88 / 94 %   +2.1 / +0.8 us
    lines encoded, not written                 88 / 90 %   +2.3 / +1.9 us
    no verdict work (the job answered at once) 88 / 90 %   +2.1 / +2.1 us
    no client check                            88 / 88 %   +2.1 / +1.9 us
    each chunk's line encoded in the callable  89 / 86 %   +2.1 / +2.7 us
    batches of 256 chunks, not 64              90 / 90 %   +2.3 / +2.1 us

So what is left of the sustained gap is the encoding of the chunk lines on the event loop: 0.44 us a chunk in a
loop of its own (`chunk_lines`), about 1 us in the proxy among everything else; the per-stream start and end cost
about 0.27 ms a stream (300 streams of 50 events: 94 %). Taking the encoding off the event loop does not close it
on two cores: a prototype whose child process encoded and wrote the lines (the loop only packed each batch's raw
chunks down a pipe) measured 87 % against this recorder's 90 % in the same run, the loop +1.2 against +1.5 us but
the child 2.5 us per event on the cores this bench's client and upstream need. Only less work in all, not work
moved, can close it.

The concurrent case cost more than it showed: 50 paced streams each filled no batch, so each chunk was written
alone `WRITE_DELAY` (20 ms) later, a `write(2)` per chunk, about 3.5 us of work each on the loop: the event loop
+8.0 to +9.3 us per event over plain's 47-52, and the p99's median difference +0.65, +0.65, +1.19, +0.30 and
+2.40 ms over five runs (the target missed in two). With `WRITE_DELAY` 100 ms, beside the 20 ms tree (7 rounds):
+2.7 / +9.3 and +4.0 / +8.0 us, p99 -0.21 / +0.30 and -0.11 / +0.02 ms; 50 ms: +6.7 us, +0.82 ms.

Later that day (load 0.1-2.2; plain mitmdump's event loop 19-24 us per event in the sustained case, slower than
that morning). The stream callable became the recording's bound method `on_chunk`: Python calls an instance's
`__call__` through a lookup a method call skips (60 ns a chunk); the client watch's parts became the recording's
own attributes, the branch for writing at once went, and the microsecond rounding is `float.__round__` (30 ns less
than `round`). 0.92 -> 0.82 us a chunk in a loop of its own (`StreamRecording` fed 6,400 chunks). Sustained, 9
rounds beside the tree before (9037d09), six runs, this tree / before:

    sustained, verdicts included   89 / 86, 87 / 84, 84 / 83, 88 / 87, 89 / 82, 87 / 86 %
    event loop over plain's        +2.5 / +2.3, +3.3 / +4.0, +3.1 / +3.5, +2.9 / +2.9, +2.3 / +4.2, +2.9 / +3.1 us

All cases, 5 rounds beside 9037d09: burst 84 / 79 % (two more runs of 7 rounds: 85 / 83 and 88 / 85 %), paced
+0.014 / +0.001 ms, sustained 89 / 80 % (the streams alone 90 / 81 %), concurrent p99 -2.1 / -3.0 ms (median of
the rounds' differences).

Tried and not kept: `__slots__` on `StreamRecording`, its per-chunk attributes side by side in the object: 86 / 86,
86 / 86 and 86 / 85 % beside the same tree without them. orjson 3.13 for the lines: its string escaping, most of a
line's cost, took 196 ns a chunk against msgspec's 215, not worth a dependency. py-spy on the recorder in the
sustained case: the callable 2.1 % of the event loop's samples, the batches' writes 3.1 % (their lines 2.5 %), each
stream's start and end (file, header, end line, verdict reply) about 3 %; samples gather at system calls (`poll`,
`write`, `open`), where the scheduler preempts the loop, so those parts look larger than their CPU.

2026-12-05 afternoon (load 0.2-1.2). The garbage collector, counted with `gc.callbacks` in both proxies over 96,000
events of the sustained case: plain mitmdump ran 17 young and 1 middle collections and no full one (84,000 objects
tracked); the recorder 19, 2 and one full collection of 97,000 objects that took 30-31 ms, every live stream
stopped meanwhile (0.37 us per event in all, against 0.04). mitmproxy leaves reference cycles behind for every
request (the `TypeError`s its type checks raise and catch, with their frames), so collections come all along; the
recorder's process has more objects at start-up (the CLI, rich, msgspec), which each full collection walks. `record`
now freezes start-up's objects out of the collector once the proxy listens: no full collection in the same window,
4 ms of collection in all. `perf` sampling the two proxies (cpu-clock, 2 kHz; per event, recorder over plain):
Python code +0.56 us, the kernel waking the client +0.55 (the client sleeps more often when the proxy is slower: an
effect, not a cause), msgspec's string escaping +0.24, the collector +0.4 (before the freeze), allocation +0.17,
the file writes about +0.15. Sustained, 9 and 11 rounds beside the tree before the freeze: 90 / 92 and 87 / 88 %
(the event loop +2.1 / +1.7 and +2.5 / +2.3 us over plain's 17.3-17.5); the tree before alone, 9 rounds: 86 %
(+3.1 us). Rounds swing by more than the collector's share, so the freeze does not show in the ratio; the target
is not met.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
MITMDUMP = str(Path(PYTHON).with_name("mitmdump"))
_SENT = re.compile(rb'"obfuscation":"(\d+)"')


def chunk_event(index: int, sent_ns: int) -> bytes:
    payload = {
        "id": "chatcmpl-bench", "object": "chat.completion.chunk", "created": 1700000000, "model": "gpt-4o-mini",
        "choices": [{"index": 0, "delta": {"content": f" tok{index}"}, "finish_reason": None}],
        "obfuscation": str(sent_ns),  # NOTE: where OpenAI puts a new random pad on every chunk: the send time here
    }
    return b"data: " + json.dumps(payload, separators=(",", ":")).encode() + b"\n\n"


_FINISH = (b'data: {"id":"chatcmpl-bench","object":"chat.completion.chunk","created":1700000000,'
           b'"model":"gpt-4o-mini","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}\n\n')


def _http_chunk(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data)


async def upstream(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """A minimal HTTP/1.1 SSE server: `X-Events` events, `X-Interval-Ms` apart (0: a burst), the first after
    `X-First-Byte-Ms` (0 if not given)."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError:
        return  # a readiness probe
    headers = dict(line.split(b": ", 1) for line in head.split(b"\r\n")[1:] if b": " in line)
    length = int(headers.get(b"Content-Length", b"0"))
    if length:
        await reader.readexactly(length)
    events, interval = int(headers[b"X-Events"]), float(headers[b"X-Interval-Ms"]) / 1000
    await asyncio.sleep(float(headers.get(b"X-First-Byte-Ms", b"0")) / 1000)  # the model thinking, if asked
    writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n"
                 b"connection: close\r\n\r\n")
    for index in range(events):
        writer.write(_http_chunk(chunk_event(index, time.perf_counter_ns())))
        if interval:
            await writer.drain()
            await asyncio.sleep(interval)
        elif index % 64 == 63:
            await writer.drain()
    writer.write(_http_chunk(_FINISH) + _http_chunk(b"data: [DONE]\n\n") + b"0\r\n\r\n")
    await writer.drain()
    writer.close()


async def fetch(port: int, events: int, interval_ms: float) -> tuple[float, list[float]]:
    """(seconds for the whole body, per-event latency in ms) through the proxy at `port`."""
    body = b'{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"hi"}]}'
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    start = time.perf_counter()
    writer.write(b"POST /v1/chat/completions HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\n"
                 b"Authorization: Bearer sk-bench-secret-0123456789\r\n"
                 b"X-Events: %d\r\nX-Interval-Ms: %g\r\nContent-Length: %d\r\n\r\n%s"
                 % (events, interval_ms, len(body), body))
    await writer.drain()
    latencies: list[float] = []
    pending = b""
    while data := await reader.read(65536):
        now = time.perf_counter_ns()
        pending += data
        if interval_ms:
            *complete, pending = pending.split(b"\n\n")
            latencies.extend((now - int(found.group(1))) / 1e6 for block in complete if (found := _SENT.search(block)))
        elif len(pending) > 1 << 16:
            pending = pending[-32:]
        if pending.endswith(b"0\r\n\r\n"):
            break
    elapsed = time.perf_counter() - start
    writer.close()
    return elapsed, latencies


def loop_cpu(pid: int) -> float:
    """CPU seconds used so far by a process's main thread (the event loop; not the verdict worker)."""
    return _cpu(f"/proc/{pid}/task/{pid}/stat")


def children_cpu(pid: int) -> float:
    """CPU seconds used so far by a process's live children (the recorder's verdict process)."""
    tasks = Path(f"/proc/{pid}/task").iterdir()
    children = [child for task in tasks for child in (task / "children").read_text().split()]
    return sum(_cpu(f"/proc/{child}/stat") for child in children)


def _cpu(stat: str) -> float:
    fields = Path(stat).read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def wait_listening(port: int, process: subprocess.Popen) -> None:
    for _ in range(600):
        if process.poll() is not None:
            raise SystemExit(f"proxy exited with {process.returncode}")
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            await asyncio.sleep(0.05)
            continue
        writer.close()
        return
    raise SystemExit("proxy did not start")


_ENDED: set[Path] = set()


def _has_end_line(path: Path) -> bool:
    with open(path, "rb") as file:
        file.seek(max(0, path.stat().st_size - 300))
        return b'"kind":"end"' in file.read()


async def wait_recorded(directory: Path, count: int) -> None:
    """Until `count` recordings have their end line (the recorder validates after the stream, off the path). Looked
    for every millisecond: the last end line comes a few milliseconds after the last byte, and looking every 10 ms
    (as before 2026-12-05) counted up to 10 ms more against the recorder."""
    for _ in range(60_000):
        _ENDED.update(path for path in directory.glob("*.jsonl") if path not in _ENDED and _has_end_line(path))
        if sum(path.parent == directory for path in _ENDED) >= count:
            return
        await asyncio.sleep(0.001)
    raise SystemExit("recordings did not end")


async def sustained(port: int, streams: int, events: int, concurrency: int) -> None:
    """`streams` burst streams, `concurrency` at a time, back to back."""
    slots = asyncio.Semaphore(concurrency)

    async def one() -> None:
        async with slots:
            await fetch(port, events, 0)

    await asyncio.gather(*(one() for _ in range(streams)))


async def concurrent_paced(port: int, streams: int, events: int, interval_ms: float) -> list[float]:
    """Per-event latencies (ms) of `streams` paced streams at once."""
    done = await asyncio.gather(*(fetch(port, events, interval_ms) for _ in range(streams)))
    return [latency for _, latencies in done for latency in latencies]


def p99(values: list[float]) -> float:
    return statistics.quantiles(values, n=100)[98]


def validation_cost(events: int) -> float:
    """Microseconds per event that `StreamCheck.feed` would add inside the stream callable."""
    sys.path.insert(0, str(ROOT))
    from inspector.validate import StreamCheck

    chunks = [chunk_event(index, 0) for index in range(events)]
    check = StreamCheck(request_path="/v1/chat/completions", status=200, content_type="text/event-stream")
    start = time.perf_counter()
    for chunk in chunks:
        check.feed(chunk, 0.0)
    return (time.perf_counter() - start) / events * 1e6


CASES = ("burst", "paced", "sustained", "concurrent")


def start_proxies(upstream_port: int, work: Path, trees: dict[str, Path]) -> dict[str, tuple[subprocess.Popen, int]]:
    """Plain mitmdump and `sse-inspector record` run from each tree (recording into `work/<name>`), each in reverse
    mode in front of the upstream: (process, port) by name, `plain` first."""
    upstream_url = f"http://127.0.0.1:{upstream_port}"
    port = free_port()
    processes = {"plain": (subprocess.Popen(
        [MITMDUMP, "-q", "--mode", f"reverse:{upstream_url}", "--listen-host", "127.0.0.1", "-p", str(port),
         "--set", "stream_large_bodies=1"], stdout=subprocess.DEVNULL), port)}
    for name, tree in trees.items():
        port = free_port()
        command = [PYTHON, "-m", "inspector", "record", "--reverse", upstream_url, "--port", str(port),
                   "--dir", str(work / name)]
        processes[name] = subprocess.Popen(command, stdout=subprocess.DEVNULL, cwd=tree), port  # cwd: its code
    return processes


def stop_proxies(processes: dict[str, tuple[subprocess.Popen, int]], work: Path) -> None:
    """Ctrl-C for each (the recorders end their recordings), then their recordings go."""
    for process, _ in processes.values():
        process.send_signal(signal.SIGINT)
        process.wait(timeout=30)
    shutil.rmtree(work, ignore_errors=True)


async def main(args: argparse.Namespace) -> None:
    load = os.getloadavg()
    server = await asyncio.start_server(upstream, "127.0.0.1", 0)
    up = server.sockets[0].getsockname()[1]
    work = Path(tempfile.mkdtemp(prefix="sse-bench-"))
    trees = {"record": ROOT} | ({"baseline": Path(args.baseline).resolve()} if args.baseline else {})
    processes = start_proxies(up, work, trees)
    results: dict[str, dict[str, list[float]]] = {name: defaultdict(list) for name in processes}
    recorded: dict[str, int] = defaultdict(int)

    async def ended(name: str, streams: int) -> None:
        """Until the recorder's streams so far have their end lines (plain mitmdump has none to wait for)."""
        if name in trees:
            recorded[name] += streams
            await wait_recorded(work / name, recorded[name])

    async def measure(name: str) -> None:
        process, port = processes[name]
        found = results[name]
        if "burst" in args.cases:
            cpu = loop_cpu(process.pid)
            elapsed, _ = await fetch(port, args.events, 0)
            found["cpu_us"].append((loop_cpu(process.pid) - cpu) / args.events * 1e6)
            found["burst"].append(args.events / elapsed)
            await ended(name, 1)
        if "paced" in args.cases:
            _, latencies = await fetch(port, args.paced, args.interval_ms)
            found["paced"].append(statistics.median(latencies))
            await ended(name, 1)
        if "sustained" in args.cases:
            start, cpu, child = time.perf_counter(), loop_cpu(process.pid), children_cpu(process.pid)
            await sustained(port, args.streams, args.stream_events, args.concurrency)
            delivered = time.perf_counter()
            await ended(name, args.streams)
            count = args.streams * args.stream_events
            found["sustained"].append(count / (time.perf_counter() - start))
            found["delivered"].append(count / (delivered - start))
            found["verdict_lag_s"].append(time.perf_counter() - delivered)
            found["sustained_loop_us"].append((loop_cpu(process.pid) - cpu) / count * 1e6)
            found["sustained_child_us"].append((children_cpu(process.pid) - child) / count * 1e6)
        if "concurrent" in args.cases:
            cpu, child = loop_cpu(process.pid), children_cpu(process.pid)
            latencies = await concurrent_paced(port, args.concurrent, args.paced, args.concurrent_interval_ms)
            await ended(name, args.concurrent)
            found["p99"].append(p99(latencies))
            found["p99_loop_us"].append((loop_cpu(process.pid) - cpu) / len(latencies) * 1e6)
            found["p99_child_us"].append((children_cpu(process.pid) - child) / len(latencies) * 1e6)

    try:
        for process, port in processes.values():
            await wait_listening(port, process)
        for name, (_, port) in processes.items():  # warm-up
            await fetch(port, 200, 0)
            await ended(name, 1)
        order = list(processes)
        for round_number in range(args.rounds):
            for name in order[round_number % len(order):] + order[:round_number % len(order)]:
                await measure(name)
    finally:
        stop_proxies(processes, work)
        server.close()
    report(args, results)
    print(f"load average (1, 5, 15 min) at the start {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}, at the end "
          + " ".join(f"{value:.2f}" for value in os.getloadavg()))
    print("raw:", json.dumps(results))


def report(args: argparse.Namespace, results: dict[str, dict[str, list[float]]]) -> None:
    def median(key: str) -> dict[str, float]:
        return {name: statistics.median(values[key]) for name, values in results.items()}

    def ratio(key: str, name: str = "record") -> float:
        """The median of the rounds' ratios: each round measured both back to back."""
        return statistics.median(ours / plain for ours, plain in zip(results[name][key], results["plain"][key],
                                                                      strict=True))

    def baseline(key: str, unit: str = "events/s") -> None:
        """The same figure for `--baseline`'s recorder, measured in the same rounds."""
        if "baseline" in results:
            value = statistics.median(results["baseline"][key])
            print(f"  baseline tree     {value:>9.0f} {unit}   "
                  f"median of the rounds' ratios {ratio(key, 'baseline'):.0%}")

    if "burst" in args.cases:
        burst, cpu = median("burst"), median("cpu_us")
        print(f"burst of {args.events} events, median of {args.rounds} rounds:")
        print(f"  plain mitmdump    {burst['plain']:>9.0f} events/s   ({1e6 / burst['plain']:.1f} us/event)")
        print(f"  sse-inspector     {burst['record']:>9.0f} events/s   = {burst['record'] / burst['plain']:.0%} of "
              f"plain; median of the rounds' ratios {ratio('burst'):.0%} (target >= 85%)")
        baseline("burst")
        print(f"  event-loop CPU per event: plain {cpu['plain']:.1f} us, sse-inspector {cpu['record']:.1f} us "
              f"(+{cpu['record'] - cpu['plain']:.1f} us; {cpu['plain'] / cpu['record']:.0%} of plain's rate if "
              "CPU-bound)")
        cost = validation_cost(args.events)
        print(f"  validating in the stream callable (StreamCheck.feed) would add {cost:.1f} us/event more: "
              f"{cpu['plain'] / (cpu['record'] + cost):.0%} of plain's rate if CPU-bound, so the verdict is "
              "computed once the stream has ended, in a child process")
    if "paced" in args.cases:
        paced = median("paced")
        print(f"paced: {args.paced} events {args.interval_ms:g} ms apart, median latency upstream -> client:")
        print(f"  plain mitmdump    {paced['plain']:.3f} ms")
        print(f"  sse-inspector     {paced['record']:.3f} ms   added {paced['record'] - paced['plain']:+.3f} ms "
              "(target < 1 ms)")
        if "baseline" in paced:
            print(f"  baseline tree     {paced['baseline']:.3f} ms   "
                  f"added {paced['baseline'] - paced['plain']:+.3f} ms")
    if "sustained" in args.cases:
        steady = median("sustained")
        print(f"sustained: {args.streams} streams of {args.stream_events} events, {args.concurrency} at a time, "
              "verdicts included, median of the rounds:")
        print(f"  plain mitmdump    {steady['plain']:>9.0f} events/s")
        print(f"  sse-inspector     {steady['record']:>9.0f} events/s   = {steady['record'] / steady['plain']:.0%} "
              f"of plain; median of the rounds' ratios {ratio('sustained'):.0%} (target >= 90%)")
        baseline("sustained")
        delivered, lag = median("delivered"), statistics.median(results["record"]["verdict_lag_s"])
        print(f"  the streams alone (the clock stopped when the last client had its last byte): plain "
              f"{delivered['plain']:.0f} events/s, sse-inspector {delivered['record']:.0f} events/s, median of the "
              f"rounds' ratios {ratio('delivered'):.0%}; the last end line came {lag:.2f} s after the last byte")
        if "baseline" in results:
            print("  baseline tree, the streams alone: median of the rounds' ratios "
                  f"{ratio('delivered', 'baseline'):.0%}")
        _cpu_split(results, "sustained")
    if "concurrent" in args.cases:
        tail = median("p99")
        added, before = (statistics.median(ours - plain for ours, plain in zip(results[name]["p99"],
                                                                                results["plain"]["p99"], strict=True))
                         if name in results else None for name in ("record", "baseline"))
        print(f"concurrent paced: {args.concurrent} streams at once, {args.paced} events "
              f"{args.concurrent_interval_ms:g} ms apart, p99 latency upstream -> client, median of the rounds:")
        print(f"  plain mitmdump    {tail['plain']:.3f} ms")
        print(f"  sse-inspector     {tail['record']:.3f} ms   added {tail['record'] - tail['plain']:+.3f} ms; "
              f"median of the rounds' differences {added:+.3f} ms (target < 1 ms)")
        if before is not None:
            print(f"  baseline tree     {tail['baseline']:.3f} ms   median of the rounds' differences {before:+.3f} ms")
        _cpu_split(results, "p99")


def _cpu_split(results: dict[str, dict[str, list[float]]], case: str) -> None:
    """The proxy's event-loop CPU and its children's (the verdict process) per event, medians of the rounds."""
    loop = {name: statistics.median(values[f"{case}_loop_us"]) for name, values in results.items()}
    child = statistics.median(results["record"][f"{case}_child_us"])
    print(f"  CPU per event: event loop plain {loop['plain']:.1f} us, sse-inspector {loop['record']:.1f} us "
          f"(+{loop['record'] - loop['plain']:.1f} us); verdict process {child:.1f} us (at the lowest priority)")
    if "baseline" in loop:
        print(f"  baseline tree: event loop {loop['baseline']:.1f} us (+{loop['baseline'] - loop['plain']:.1f} us), "
              f"verdict process {statistics.median(results['baseline'][f'{case}_child_us']):.1f} us")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=20000)
    parser.add_argument("--paced", type=int, default=300)
    parser.add_argument("--interval-ms", type=float, default=5.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--streams", type=int, default=24)
    parser.add_argument("--stream-events", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--concurrent", type=int, default=50)
    parser.add_argument("--concurrent-interval-ms", type=float, default=20.0)
    parser.add_argument("--baseline", metavar="TREE", help="also measure `record` run from this checkout")
    parser.add_argument("--cases", type=lambda text: text.split(","), default=list(CASES),
                        help=f"comma-separated, of {','.join(CASES)}")
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    asyncio.run(main(parser.parse_args()))
