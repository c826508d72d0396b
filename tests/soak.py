"""A soak: many concurrent streams with faults through a real recorder (mitmdump), checked one by one.

Every tenth stream carries a fault, in turn: the upstream cuts it, the client aborts a long stream part-way,
the upstream stalls, the body is gzip-compressed, the body comes one byte per HTTP chunk; one stream is big
(20 MB in the bench). Each request carries its own `X-Soak-Id`, so every recording is matched to the request
that made it, and checked: it exists and has an end line (else lost), it holds exactly the bytes the upstream
sent for that request (else mixed), and its end reason is what happened (else wrong). `tests/test_soak.py` runs
a small one, `bench/soak.py` a large one with its figures.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import queue
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from recorder_helpers import CORPUS, WAIT, read_recording, recorded_body, run_mitmdump, run_upstream, stream_events

FAULTS = ("cut", "abort", "stall", "gzip", "bytes")
PATHS = {"openai-chat": "/v1/chat/completions", "openai-responses": "/v1/responses",
         "anthropic-messages": "/v1/messages",
         "gemini-generate-content": "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse"}
LONG = "openai-chat/openai-python__json-object-long.sse"
"""181 events: the stream that clients abort part-way, and that the big stream repeats."""
_ABORT_AFTER = 10
"""Events an aborting client reads before it hangs up (of `LONG`'s 181, paced by the upstream)."""


@dataclass(frozen=True)
class Plan:
    """One request of the soak: what the upstream is asked to do and what the recording must then say."""

    id: str
    corpus: str
    fault: str
    headers: dict[str, str]
    sent: bytes
    """The body the upstream sends (decoded); a cut stream stops inside it."""
    reason: str

    @property
    def path(self) -> str:
        return PATHS[self.corpus.split("/")[0]]


@dataclass
class Figures:
    streams: int = 0
    faults: int = 0
    lost: int = 0
    mixed: int = 0
    wrong_reason: int = 0
    late_aborts: int = 0
    """Aborting clients whose connection closed only after the upstream's last event (see `check`)."""
    proxy_peak_rss_mb: float = 0.0
    seconds: float = 0.0
    problems: list[str] = field(default_factory=list)

    def to_json(self) -> dict:
        return {key: value for key, value in self.__dict__.items() if key != "problems"}


def plans(count: int, big_bytes: int) -> list[Plan]:
    """`count` requests: every tenth with the next fault of `FAULTS`, and one big stream of about `big_bytes`."""
    expectations = json.loads((CORPUS / "expectations.json").read_text())
    names = sorted(name for name, verdict in expectations.items() if verdict == "pass")
    result = []
    for index in range(count):
        fault = FAULTS[(index // 10) % len(FAULTS)] if index % 10 == 9 else "none"
        if index == count // 2:
            fault = "big"
        corpus = LONG if fault in ("abort", "big") else names[index % len(names)]
        headers = {"X-Soak-Id": f"soak-{index}", "X-Corpus": corpus, "X-Delay-Ms": "2"}
        repeat = 1
        reason = "complete"
        if fault == "big":
            repeat = max(1, big_bytes // sum(len(event) for event in stream_events(LONG)[1:-3]))
            headers.update({"X-Repeat": str(repeat), "X-Delay-Ms": "0"})
        events = stream_events(corpus, repeat)
        sent = b"".join(events)
        if fault == "cut":
            cut = len(events) // 2
            headers["X-Cut-After"] = str(cut)
            sent = b"".join(events[:cut]) + events[cut][: len(events[cut]) // 2]
            reason = "upstream-closed"
        elif fault == "abort":
            headers["X-Delay-Ms"] = "50"  # 9 s: the client is gone well before the end, even when it lags
            reason = "client-disconnected"
        elif fault == "stall":
            headers["X-Stall"] = f"{len(events) // 2}:1500"
        elif fault == "gzip":
            headers["X-Encoding"] = "gzip"
        elif fault == "bytes":
            headers["X-Chunk-Size"] = "1"
        result.append(Plan(f"soak-{index}", corpus, fault, headers, sent, reason))
    return result


@dataclass
class Received:
    body: bytes
    closed_at: float | None = None
    """`time.monotonic()` once an aborting client's connection is closed."""


async def _request(client: httpx.AsyncClient, base_url: str, plan: Plan) -> Received:
    """What the client received (decoded); an aborting client hangs up after `_ABORT_AFTER` events."""
    received = bytearray()
    events = 0
    try:
        async with client.stream("POST", base_url + plan.path, json={"stream": True}, headers=plan.headers) as response:
            async for data in response.aiter_bytes():
                received += data
                events += data.count(b"\n\n")
                if plan.fault == "abort" and events >= _ABORT_AFTER:
                    break  # leaving the block closes the connection mid-stream
    except httpx.RemoteProtocolError:
        pass  # the cut ones
    if plan.fault != "abort":
        return Received(bytes(received))
    for _ in range(2):  # the transport closes its socket on the loop's next turns
        await asyncio.sleep(0)
    return Received(bytes(received), time.monotonic())


async def _all(base_url: str, batch: list[Plan]) -> list[Received]:
    limits = httpx.Limits(max_connections=len(batch), max_keepalive_connections=0)
    async with httpx.AsyncClient(timeout=120, limits=limits) as client:
        return await asyncio.gather(*(_request(client, base_url, plan) for plan in batch))


def _peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _live_lines(lines: queue.Queue[str], count: int) -> tuple[list[str], list[str]]:
    """Up to `count` live lines, and the proxy's other output; stops early when nothing came for `WAIT` seconds
    (the streams without a line are lost)."""
    found: list[str] = []
    other: list[str] = []
    while len(found) < count:
        try:
            line = lines.get(timeout=WAIT)
        except queue.Empty:
            break
        (found if line.rstrip().endswith(".jsonl") else other).append(line.rstrip())
    return found, other


def check(plan: Plan, got: Received, path: Path | None, figures: Figures, last_event_at: float | None) -> None:
    """Adds what is wrong with one stream's recording to `figures`.

    An aborting client must be recorded `client-disconnected`, without the upstream's end, when its connection
    closed before the upstream sent its last event. When a busy client process closed it only after that, the
    whole body had reached the client's socket: as far as the wire shows, it was delivered, and `complete` is
    right too (`late_aborts` counts those)."""
    received = got.body
    if path is None:
        figures.lost += 1
        figures.problems.append(f"{plan.id} ({plan.fault}): no recording")
        return
    header, chunks, end = read_recording(path)
    if end is None:
        figures.lost += 1
        figures.problems.append(f"{plan.id} ({plan.fault}): no end line in {path}")
        return
    body = recorded_body(chunks)
    reasons = {plan.reason}
    if plan.fault == "abort" and last_event_at is not None and (got.closed_at or 0) > last_event_at:
        figures.late_aborts += 1
        reasons.add("complete")
    if plan.fault == "abort" and end["reason"] == "client-disconnected":
        # recorded: what the upstream sent up to where the proxy found the client gone, never the whole
        matches = plan.sent.startswith(body) and body.startswith(received) and len(body) < len(plan.sent)
    else:
        matches = body == plan.sent and (plan.fault in ("cut", "abort") or received == plan.sent)
    if not matches:
        figures.mixed += 1
        figures.problems.append(f"{plan.id} ({plan.fault}): recorded {len(body)} bytes, the client got "
                                f"{len(received)}, the upstream sent {len(plan.sent)}")
    if end["reason"] not in reasons:
        figures.wrong_reason += 1
        figures.problems.append(f"{plan.id} ({plan.fault}): ended {end['reason']}, expected {' or '.join(reasons)}")


def _upstream_process(urls: multiprocessing.Queue, stop: multiprocessing.Event,
                      ends: multiprocessing.Queue) -> None:
    with run_upstream() as upstream:
        urls.put(upstream.url)
        stop.wait()
        ends.put(dict(upstream.last_event_at))


@contextmanager
def _separate_upstream() -> Iterator[tuple[str, dict[str, float]]]:
    """The upstream in a process of its own, so that it and the clients do not slow each other down (one GIL):
    yields its URL and, filled in on exit, when each request's last event went out."""
    context = multiprocessing.get_context("spawn")  # not fork: the parent runs threads (a lock held at a fork)
    urls, ends, stop = context.Queue(), context.Queue(), context.Event()
    process = context.Process(target=_upstream_process, args=(urls, stop, ends), daemon=True)
    process.start()
    last_event_at: dict[str, float] = {}
    try:
        yield urls.get(timeout=WAIT), last_event_at
    finally:
        stop.set()
        last_event_at.update(ends.get(timeout=WAIT))
        process.join(WAIT)


def soak(tmp: Path, count: int, big_bytes: int) -> Figures:
    """Runs the soak in `tmp` (its recordings land there) and returns its figures."""
    batch = plans(count, big_bytes)
    figures = Figures(streams=count, faults=sum(plan.fault != "none" for plan in batch))
    started = time.monotonic()
    with _separate_upstream() as (upstream_url, last_event_at), run_mitmdump(tmp, upstream_url) as proxy:
        received = asyncio.run(_all(proxy.url, batch))
        lines, other = _live_lines(proxy.lines, count)
        noise = (" connect", " disconnect", "Loading script", "listening at", "Streaming response")
        figures.problems.extend(f"proxy: {line}" for line in other if not any(word in line for word in noise))
        figures.seconds = round(time.monotonic() - started, 1)
        figures.proxy_peak_rss_mb = round(_peak_rss_mb(proxy.process.pid), 1)
    by_id: dict[str, Path] = {}
    for line in lines:
        path = Path(line.split()[-1])
        header, _, _ = read_recording(path)
        soak_id = {name.lower(): value for name, value in header["request"]["headers"].items()}["x-soak-id"]
        if soak_id in by_id:
            figures.mixed += 1
            figures.problems.append(f"{soak_id}: two recordings ({by_id[soak_id]}, {path})")
        by_id[soak_id] = path
    for plan, got in zip(batch, received, strict=True):
        check(plan, got, by_id.get(plan.id), figures, last_event_at.get(plan.id))
    return figures
