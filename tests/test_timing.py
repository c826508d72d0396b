"""Timing from chunk and event times: first byte / event / token, gaps, stalls, throughput, the chart slices."""

import json
import math
import random

import pytest

from inspector.sse import Event
from inspector.timing import GapSketch, GapTimeline, Stall, TimingRecorder


def _event(index: int, t: float | None, kind: str = "message") -> Event:
    return Event(index, kind, "{}", None, 0, t)


def _record(chunks: list[tuple[float | None, list[str]]], first_token: int | None = None, end: float | None = None,
            usage: dict | None = None):
    """Feed chunks, each completing the named events (in order), as the viewer does; returns the Timing."""
    recorder = TimingRecorder()
    index = 0
    for t, kinds in chunks:
        recorder.chunk(t, 10)
        for kind in kinds:
            recorder.event(_event(index, t, kind))
            index += 1
    recorder.first_token(first_token)
    return recorder.finish(end, usage)


def _refuse(constant: str) -> None:
    raise ValueError(f"{constant} is not JSON")


class TestRecorder:
    def test_ttft_is_the_first_content_event_not_the_first_byte(self) -> None:
        timing = _record([(0.2, ["created"]), (0.5, ["role"]), (0.9, ["delta", "delta"]), (1.0, ["done"])],
                         first_token=2, end=1.1)
        assert (timing.ttfb, timing.first_event, timing.ttft, timing.first_token_index) == (0.2, 0.2, 0.9, 2)

    def test_whole_summary(self) -> None:
        timing = _record([(0.2, ["a"]), (0.5, ["b"]), (0.9, ["c", "d"]), (2.4, ["e"])], first_token=1, end=2.5,
                         usage={"output_tokens": 40})
        assert timing.to_json() == {
            "ttfb": 0.2, "ttft": 0.5, "duration": 2.5, "events": 5, "gap_p50": 0.3, "gap_p95": 0.4,
            "gap_max": 1.5, "first_event": 0.2, "first_token_index": 1, "chunks": 4, "gap_max_index": 4,
            "stalls": [{"index": 4, "event": "e", "t": 2.4, "gap": 1.5}], "stalls_dropped": 0,
            "output_tokens": 40, "tokens_per_s": 20.0,
        }

    def test_first_token_known_late_still_gets_its_own_time(self) -> None:
        """The checker may learn the first content event a few events later (protocol detection holds events)."""
        recorder = TimingRecorder()
        for index, t in enumerate([0.1, 0.2, 0.3, 0.4]):
            recorder.chunk(t, 1)
            recorder.event(_event(index, t))
        recorder.first_token(1)
        recorder.first_token(3)  # only the first call counts
        assert recorder.finish().ttft == 0.2

    def test_raw_input_without_times_gives_counts_only(self) -> None:
        timing = _record([(None, ["a", "b"]), (None, ["c"])], first_token=1)
        assert timing.to_json() == {
            "ttfb": None, "ttft": None, "duration": None, "events": 3, "gap_p50": None, "gap_p95": None,
            "gap_max": None, "first_event": None, "first_token_index": 1, "chunks": 2, "gap_max_index": None,
            "stalls": [], "stalls_dropped": 0, "output_tokens": None, "tokens_per_s": None,
        }
        assert (timing.has_times, timing.chart, timing.chart_slice) == (False, (), None)

    def test_stalls_over_one_second_name_their_event(self) -> None:
        timing = _record([(0.1, ["a"]), (1.0, ["b"]), (2.5, ["slow"]), (2.6, ["c"])], end=4.0)
        assert timing.stalls == (Stall(2, "slow", 2.5, 1.5), Stall(None, "end of stream", 4.0, pytest.approx(1.4)))

    def test_finish_can_be_called_again(self) -> None:
        recorder = TimingRecorder()
        for index, t in enumerate([0.1, 1.5]):
            recorder.chunk(t, 1)
            recorder.event(_event(index, t))
        assert recorder.finish(3.0) == recorder.finish(3.0)
        assert [stall.index for stall in recorder.finish(3.0).stalls] == [1, None]

    def test_a_gap_of_exactly_the_threshold_is_no_stall(self) -> None:
        assert _record([(0.5, ["a"]), (1.5, ["b"])]).stalls == ()

    def test_stalls_are_capped(self) -> None:
        chunks = [(2.0 * n, ["e"]) for n in range(110)]
        timing = _record(chunks)
        assert (len(timing.stalls), timing.stalls_dropped) == (100, 9)

    @pytest.mark.parametrize(
        ("usage", "tokens", "rate"),
        [
            pytest.param({"completion_tokens": 30, "prompt_tokens": 5}, 30, 15.0, id="chat"),
            pytest.param({"input_tokens": 5, "output_tokens": 10}, 10, 5.0, id="responses-anthropic"),
            pytest.param({"output_tokens": "10"}, None, None, id="not-an-integer"),
            pytest.param({"output_tokens": True}, None, None, id="bool"),
            pytest.param(None, None, None, id="no-usage"),
        ],
    )
    def test_output_tokens_per_second_after_the_first_token(self, usage, tokens, rate) -> None:
        timing = _record([(0.5, ["a"]), (1.0, ["b"]), (2.0, ["c"])], first_token=1, end=3.0, usage=usage)
        assert (timing.output_tokens, timing.tokens_per_s) == (tokens, rate)

    @pytest.mark.parametrize(("tokens", "start", "end"), [(10**400, 1.0, 3.0), (10, 0.0, 5e-324)],
                             ids=["count", "interval"])
    def test_no_rate_where_a_float_cannot_hold_it(self, tokens: int, start: float, end: float) -> None:
        """The count comes from the wire (any integer) and the times from the recording: a rate over a float's
        range is no rate (an `OverflowError` once, and JSON has no `Infinity`)."""
        timing = _record([(start, ["a"]), (start, ["b"])], first_token=0, end=end, usage={"output_tokens": tokens})
        assert (timing.output_tokens, timing.tokens_per_s) == (tokens, None)
        assert json.loads(json.dumps(timing.to_json()), parse_constant=_refuse) == timing.to_json()

    def test_no_rate_without_a_first_token(self) -> None:
        timing = _record([(0.5, ["a"]), (1.0, ["b"])], end=3.0, usage={"output_tokens": 3})
        assert (timing.output_tokens, timing.tokens_per_s) == (3, None)

    def test_duration_falls_back_to_the_last_chunk(self) -> None:
        assert _record([(0.5, ["a"]), (0.7, [])]).duration == 0.7

    def test_empty_chunks_are_not_the_first_byte(self) -> None:
        recorder = TimingRecorder()
        recorder.chunk(0.1, 0)
        recorder.chunk(0.3, 5)
        assert (recorder.finish().ttfb, recorder.finish().chunks) == (0.3, 2)

    def test_chart_covers_the_stream_up_to_its_end(self) -> None:
        timing = _record([(0.01, ["a"]), (0.12, ["b"]), (0.13, ["c"])], end=0.3)
        assert timing.chart_slice == 0.05
        assert timing.chart == (0.0, None, pytest.approx(0.11), None, None, None)


class TestGapSketch:
    def test_exact_while_short(self) -> None:
        sketch = GapSketch()
        for gap in [0.3, 0.0, 0.1, 0.2, 0.0]:
            sketch.add(gap)
        assert [sketch.quantile(q) for q in (0, 0.5, 0.95, 1)] == [0.0, 0.1, 0.2, 0.3]

    @pytest.mark.parametrize("q", [0.0, 0.25, 0.5, 0.9, 0.95, 0.99, 1.0])
    def test_within_one_percent_past_the_exact_limit(self, q: float) -> None:
        rng = random.Random(5)
        gaps = [0.0] * 300 + [rng.lognormvariate(-3, 1.5) for _ in range(2000)]
        sketch = GapSketch(exact_limit=100)
        for gap in gaps:
            sketch.add(gap)
        exact = sorted(gaps)[math.floor(q * (len(gaps) - 1))]
        assert sketch.quantile(q) == pytest.approx(exact, rel=0.01, abs=1e-12)

    def test_none_without_gaps(self) -> None:
        assert GapSketch().quantile(0.5) is None

    def test_rejects_a_quantile_outside_zero_one(self) -> None:
        with pytest.raises(ValueError, match="quantile must be within"):
            GapSketch().quantile(1.5)


class TestGapTimeline:
    def test_keeps_the_largest_gap_per_slice(self) -> None:
        timeline = GapTimeline(slices=4, width=1.0)
        for t, gap in [(0.5, 0.2), (0.7, 0.4), (2.2, 1.5)]:
            timeline.add(t, gap)
        assert timeline.until(None) == [0.4, None, 1.5]
        assert timeline.until(4.0) == [0.4, None, 1.5, None]

    def test_slices_merge_in_pairs_when_the_stream_outgrows_them(self) -> None:
        timeline = GapTimeline(slices=4, width=1.0)
        for t, gap in [(0.5, 0.2), (1.5, 0.3), (3.5, 0.1), (6.0, 0.9)]:
            timeline.add(t, gap)
        assert (timeline.width, timeline.until(8.0)) == (2.0, [0.3, 0.1, None, 0.9])

    @pytest.mark.parametrize(("slices", "width", "message"), [(3, 1.0, "even number"), (4, 0.0, "positive")])
    def test_rejects_bad_arguments(self, slices: int, width: float, message: str) -> None:
        with pytest.raises(ValueError, match=message):
            GapTimeline(slices, width)


def test_a_negative_output_count_is_no_count_for_the_rate() -> None:
    """langchain-openai-api-bridge sends -1 placeholders: view showed -31.1 tokens/s."""
    from inspector.timing import output_tokens

    assert output_tokens({"completion_tokens": -1}) is None
    assert output_tokens({"completion_tokens": 0}) == 0
