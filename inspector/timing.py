"""Timing of a stream from its chunk and event times: TTFB, TTFT, gaps, stalls, throughput.

`TimingRecorder` is fed chunk times and events as they arrive and keeps fixed-size summaries only: a log-scale
histogram for the gap percentiles (1 % relative accuracy, the DDSketch idea), a fixed number of time slices for
the chart, and the stalls (capped). Memory does not grow with the length of the stream.

Times are seconds since the request was sent (a recording's `t`). A raw SSE body has no times: every
time-derived value is then None, and counts are still given.
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .sse import Event

STALL_SECONDS = 1.0
"""A gap longer than this between two events is a stall: a user sees the answer freeze."""
CHART_SLICES = 64
MAX_STALLS = 100
EXACT_GAPS = 4096
_ACCURACY = 0.01
_GAMMA = (1 + _ACCURACY) / (1 - _ACCURACY)
_ZERO_GAP = 1e-6  # events completed by the same chunk share its time: their gap is exactly zero
_FIRST_SLICE = 0.05
# Responses and Anthropic; Chat; Gemini
_OUTPUT_TOKEN_KEYS = ("output_tokens", "completion_tokens", "candidatesTokenCount")


class GapSketch:
    """Quantiles of non-negative gaps: exact for the first `exact_limit` gaps, then within 1 % relative error.

    Bucket `k` holds gaps in (gamma**(k-1), gamma**k]; its estimate 2 gamma**k / (gamma + 1) is within 1 % of
    any value in it, so memory is bounded by the range of the values, not their number. Zero gaps (events of
    one chunk) are counted apart. The exact values of a short stream are kept too (at most `exact_limit`).
    """

    def __init__(self, exact_limit: int = EXACT_GAPS) -> None:
        self.count = 0
        self.zeros = 0
        self.max: float | None = None
        self._bins: dict[int, int] = {}
        self._exact_limit = exact_limit
        self._exact: array[float] | None = array("d")

    def add(self, gap: float) -> None:
        self.count += 1
        self.max = gap if self.max is None else max(self.max, gap)
        if self._exact is not None:
            if len(self._exact) < self._exact_limit:
                self._exact.append(gap)
            else:
                self._exact = None
        if gap < _ZERO_GAP:
            self.zeros += 1
            return
        key = math.ceil(math.log(gap, _GAMMA))
        self._bins[key] = self._bins.get(key, 0) + 1

    def quantile(self, q: float) -> float | None:
        """The gap at 0-based rank floor(q * (count - 1)) of the sorted gaps; None without gaps."""
        if not 0 <= q <= 1:
            raise ValueError(f"quantile must be within [0, 1], got {q}")
        if self.count == 0 or self.max is None:
            return None
        rank = math.floor(q * (self.count - 1))
        if self._exact is not None:
            return sorted(self._exact)[rank]
        seen = self.zeros
        if rank < seen:
            return 0.0
        for key in sorted(self._bins):
            seen += self._bins[key]
            if rank < seen:
                return min(2 * _GAMMA**key / (_GAMMA + 1), self.max)
        return self.max


class GapTimeline:
    """The largest gap ending in each of a fixed number of equal time slices since the request.

    When an event falls past the last slice, neighbouring slices merge in pairs and the slice width doubles,
    so a stream of any length fits in `slices` numbers. A slice with no event holds None.
    """

    def __init__(self, slices: int = CHART_SLICES, width: float = _FIRST_SLICE) -> None:
        if slices < 2 or slices % 2:
            raise ValueError(f"slices must be an even number >= 2, got {slices}")
        if width <= 0:
            raise ValueError(f"width must be positive, got {width}")
        self.width = width
        self._slots: list[float | None] = [None] * slices

    def add(self, t: float, gap: float) -> None:
        while t >= self.width * len(self._slots):
            self._merge_pairs()
        index = max(0, int(t // self.width))
        slot = self._slots[index]
        self._slots[index] = gap if slot is None else max(slot, gap)

    def until(self, end: float | None) -> list[float | None]:
        """The slices that cover [0, end] (all slices up to the last used one if end is None)."""
        used = max((i for i, slot in enumerate(self._slots) if slot is not None), default=-1) + 1
        if end is not None:
            used = max(used, min(len(self._slots), math.ceil(end / self.width)))
        return self._slots[:used]

    def _merge_pairs(self) -> None:
        slots = self._slots
        merged = [_max_or_none(slots[i], slots[i + 1]) for i in range(0, len(slots), 2)]
        self._slots = merged + [None] * (len(slots) - len(merged))
        self.width *= 2


def _max_or_none(a: float | None, b: float | None) -> float | None:
    if a is None:
        return b
    return a if b is None else max(a, b)


@dataclass(frozen=True, slots=True)
class Stall:
    """A gap over the stall threshold, named by the event that ended it (index None: the end of the stream)."""

    index: int | None
    type: str
    t: float
    gap: float

    def to_json(self) -> dict[str, Any]:
        return {"index": self.index, "event": self.type, "t": _round(self.t), "gap": _round(self.gap)}


@dataclass(frozen=True)
class Timing:
    """What the times of one stream say. Every time is in seconds since the request; None where unknown."""

    ttfb: float | None = None
    first_event: float | None = None
    ttft: float | None = None
    first_token_index: int | None = None
    duration: float | None = None
    events: int = 0
    chunks: int = 0
    gap_p50: float | None = None
    gap_p95: float | None = None
    gap_max: float | None = None
    gap_max_index: int | None = None
    stalls: tuple[Stall, ...] = ()
    stalls_dropped: int = 0
    output_tokens: int | None = None
    tokens_per_s: float | None = None
    chart: tuple[float | None, ...] = ()
    chart_slice: float | None = None
    stall_threshold: float = STALL_SECONDS

    @property
    def has_times(self) -> bool:
        return self.ttfb is not None

    def to_json(self) -> dict[str, Any]:
        """Seconds rounded to the microsecond (the recording's precision), throughput to 0.01 token/s."""
        return {
            "ttfb": _round(self.ttfb), "ttft": _round(self.ttft), "duration": _round(self.duration),
            "events": self.events, "gap_p50": _round(self.gap_p50), "gap_p95": _round(self.gap_p95),
            "gap_max": _round(self.gap_max), "first_event": _round(self.first_event),
            "first_token_index": self.first_token_index, "chunks": self.chunks, "gap_max_index": self.gap_max_index,
            "stalls": [stall.to_json() for stall in self.stalls], "stalls_dropped": self.stalls_dropped,
            "output_tokens": self.output_tokens,
            "tokens_per_s": None if self.tokens_per_s is None else round(self.tokens_per_s, 2),
        }


class FirstTokenClock:
    """The time to first token: the time of the first content event, which the protocol checker may name a few
    events after it came. Until then it keeps the first index and time of each run of equal event times; after,
    nothing. The recorder's verdict needs only this of the timing (`TimingRecorder` is about 4 µs per event more).
    """

    __slots__ = ("index", "ttft", "_runs")

    def __init__(self) -> None:
        self.index: int | None = None
        """The first content event's index, once the checker named it."""
        self.ttft: float | None = None
        self._runs: list[tuple[int, float | None]] = []

    def event(self, event: Event) -> None:
        if self.index is None and (not self._runs or self._runs[-1][1] != event.t):
            self._runs.append((event.index, event.t))

    def first_token(self, index: int | None) -> None:
        """The index of the first content event, once the protocol checker knows it (None: not yet)."""
        if index is None or self.index is not None:
            return
        self.index = index
        self.ttft = next((t for start, t in reversed(self._runs) if start <= index), None)
        self._runs = []


class TimingRecorder:
    """Feed `chunk(t, size)` for every network chunk and `event(event)` for every event, then `finish(...)`."""

    def __init__(self, stall_threshold: float = STALL_SECONDS) -> None:
        self.stall_threshold = stall_threshold
        self.chunks = 0
        self.events = 0
        self.first_byte: float | None = None
        self.last_chunk: float | None = None
        self.first_event: float | None = None
        self.gaps = GapSketch()
        self.timeline = GapTimeline()
        self.stalls: list[Stall] = []
        self.stalls_dropped = 0
        self._previous: Event | None = None
        self._gap_max_index: int | None = None
        self._first = FirstTokenClock()

    def chunk(self, t: float | None, size: int) -> None:
        self.chunks += 1
        if t is None:
            return
        if size and self.first_byte is None:
            self.first_byte = t
        self.last_chunk = t

    def event(self, event: Event) -> float | None:
        """Record one event; returns its gap since the previous event (None for the first, or without times)."""
        self.events += 1
        previous, self._previous = self._previous, event
        self._first.event(event)
        if event.t is None:
            return None
        if previous is None or previous.t is None:
            if self.first_event is None:
                self.first_event = event.t
                self.timeline.add(event.t, 0.0)  # the chart shows that an event came, with no gap before it
            return None
        gap = max(0.0, event.t - previous.t)
        if self.gaps.max is None or gap > self.gaps.max:
            self._gap_max_index = event.index
        self.gaps.add(gap)
        self.timeline.add(event.t, gap)
        if gap > self.stall_threshold:
            self._stall(Stall(event.index, event.type, event.t, gap))
        return gap

    @property
    def ttft(self) -> float | None:
        """The time to first token so far: None until the checker names the first content event."""
        return self._first.ttft

    def first_token(self, index: int | None) -> None:
        """The index of the first content event, once the protocol checker knows it (it may lag a few events)."""
        self._first.first_token(index)

    def finish(self, end: float | None = None, usage: Mapping[str, Any] | None = None) -> Timing:
        """The summary; `end` is the time of the recording's end line (None: the last chunk's time is used)."""
        duration = end if end is not None else self.last_chunk
        stalls, dropped = list(self.stalls), self.stalls_dropped
        if duration is not None and self._previous is not None and self._previous.t is not None:
            trailing = duration - self._previous.t
            if trailing > self.stall_threshold:  # the stream went quiet before it closed
                if len(stalls) < MAX_STALLS:
                    stalls.append(Stall(None, "end of stream", duration, trailing))
                else:
                    dropped += 1
        tokens = output_tokens(usage)
        tokens_per_s = None
        ttft = self._first.ttft
        if tokens is not None and duration is not None and ttft is not None and duration > ttft:
            tokens_per_s = per_second(tokens, duration - ttft)
        timed = self.first_byte is not None
        return Timing(
            ttfb=self.first_byte, first_event=self.first_event, ttft=ttft,
            first_token_index=self._first.index, duration=duration if timed else None,
            events=self.events, chunks=self.chunks,
            gap_p50=self.gaps.quantile(0.5), gap_p95=self.gaps.quantile(0.95), gap_max=self.gaps.max,
            gap_max_index=self._gap_max_index, stalls=tuple(stalls), stalls_dropped=dropped,
            output_tokens=tokens, tokens_per_s=tokens_per_s,
            chart=tuple(self.timeline.until(duration)) if timed else (),
            chart_slice=self.timeline.width if timed else None, stall_threshold=self.stall_threshold,
        )

    def _stall(self, stall: Stall) -> None:
        if len(self.stalls) < MAX_STALLS:
            self.stalls.append(stall)
        else:
            self.stalls_dropped += 1


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 6)


def per_second(count: float, seconds: float) -> float | None:
    """`count / seconds`, or None when a float cannot hold it: the count comes from the wire (any integer) and a
    recorded interval may be next to nothing, and JSON output has no `Infinity`."""
    try:
        rate = count / seconds
    except OverflowError:
        return None
    return rate if math.isfinite(rate) else None


def output_tokens(usage: Mapping[str, Any] | None) -> int | None:
    """The output token count of a usage object (each protocol names it its own way), None when absent or negative
    (a placeholder: langchain-openai-api-bridge sends -1, which made a rate of -31 tokens/s)."""
    if not isinstance(usage, Mapping):
        return None
    for key in _OUTPUT_TOKEN_KEYS:
        value = usage.get(key)
        if isinstance(value, int) and not isinstance(value, bool):
            return value if value >= 0 else None
    return None
