"""The wire parser against the WHATWG event-stream rules, one behaviour per test."""

import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from inspector.sse import Event, LineSplitter, SSEParser

CORPUS = Path(__file__).parent / "fixtures" / "corpus"
CORPUS_FILES = sorted(CORPUS.glob("*/*.sse"))
NOT_SSE = {"js-genai__http-404-error-body.sse"}  # a JSON error body saved as the stream: no SSE field at all


def decode(chunks: list[bytes]) -> tuple[list[tuple[str, str, str | None]], SSEParser]:
    """Feed the chunks, close, and return (type, data, id) per event plus the parser."""
    parser = SSEParser()
    events: list[Event] = []
    for chunk in chunks:
        events += parser.feed(chunk)
    parser.close()
    return [(e.type, e.data, e.id) for e in events], parser


def events_of(body: bytes) -> list[tuple[str, str, str | None]]:
    return decode([body])[0]


class TestLineEnds:
    @pytest.mark.parametrize("end", [b"\n", b"\r\n", b"\r"], ids=["lf", "crlf", "cr"])
    def test_each_line_end(self, end: bytes) -> None:
        body = b"event: a" + end + b"data: 1" + end + end + b"data: 2" + end + end
        assert events_of(body) == [("a", "1", None), ("message", "2", None)]

    def test_crlf_across_chunks_is_one_line_end(self) -> None:
        # "data: 1\r" | "\n\r\n": the LF belongs to the CR before it, so only one blank line follows.
        assert decode([b"data: 1\r", b"\n\r\n"])[0] == [("message", "1", None)]

    def test_cr_at_chunk_end_then_data(self) -> None:
        assert decode([b"data: 1\r", b"\r", b"data: 2\r\r"])[0] == [("message", "1", None), ("message", "2", None)]

    def test_lone_cr_then_lf_is_two_line_ends_when_not_adjacent(self) -> None:
        assert events_of(b"data: 1\r\r\ndata: 2\n\n") == [("message", "1", None), ("message", "2", None)]

    def test_unicode_line_separators_are_not_line_ends(self) -> None:
        assert events_of("data: a\u2028b\x85c\n\n".encode()) == [("message", "a\u2028b\x85c", None)]

    def test_single_byte_chunks(self) -> None:
        body = b"event: e\r\ndata: x\r\ndata: y\r\n\r\n"
        assert decode([body[i : i + 1] for i in range(len(body))])[0] == [("e", "x\ny", None)]


class TestFields:
    def test_multiline_data_joined_with_lf(self) -> None:
        assert events_of(b"data: a\ndata: b\ndata:\n\n") == [("message", "a\nb\n", None)]

    def test_one_leading_space_dropped(self) -> None:
        assert events_of(b"data:  two\n\n") == [("message", " two", None)]

    def test_no_space_after_colon(self) -> None:
        assert events_of(b"data:x\n\n") == [("message", "x", None)]

    def test_field_without_colon_has_empty_value(self) -> None:
        assert events_of(b"data\n\n") == [("message", "", None)]

    def test_comments_ignored(self) -> None:
        assert events_of(b": keep-alive\ndata: 1\n: more\n\n") == [("message", "1", None)]

    def test_retry_and_unknown_fields_ignored(self) -> None:
        assert events_of(b"retry: 5\nfoo: bar\ndata: 1\n\n") == [("message", "1", None)]

    def test_event_type_resets_after_dispatch(self) -> None:
        assert events_of(b"event: a\ndata: 1\n\ndata: 2\n\n") == [("a", "1", None), ("message", "2", None)]

    def test_field_order_does_not_matter(self) -> None:
        # A real AWS Bedrock capture puts data: before event:.
        assert events_of(b"data: 1\nevent: a\n\n") == [("a", "1", None)]


class TestIds:
    def test_id_persists_across_events(self) -> None:
        assert events_of(b"id: 7\ndata: 1\n\ndata: 2\n\n") == [("message", "1", "7"), ("message", "2", "7")]

    def test_id_with_nul_is_ignored(self) -> None:
        assert events_of(b"id: 1\ndata: a\n\nid: 2\x003\ndata: b\n\n") == [("message", "a", "1"), ("message", "b", "1")]

    def test_empty_id_resets(self) -> None:
        assert events_of(b"id: 1\ndata: a\n\nid\ndata: b\n\n") == [("message", "a", "1"), ("message", "b", None)]


class TestDispatch:
    def test_block_without_data_dispatches_nothing(self) -> None:
        # httpx-sse dispatches this; the spec does not.
        assert events_of(b"event: a\nid: 3\n\n\n\ndata: 1\n\n") == [("message", "1", "3")]

    def test_unterminated_final_event_is_not_dispatched_and_reported(self) -> None:
        events, parser = decode([b"data: 1\n\nevent: last\ndata: 2"])
        assert events == [("message", "1", None)]
        assert parser.unterminated is not None
        assert (parser.unterminated.type, parser.unterminated.data, parser.unterminated.index) == ("last", "2", 1)
        assert [(p.kind, p.offset, p.index) for p in parser.problems] == [("unterminated-event", 9, 1)]

    def test_final_event_missing_only_blank_line(self) -> None:
        events, parser = decode([b"data: 1\n"])
        assert events == []
        assert parser.unterminated is not None and parser.unterminated.data == "1"

    def test_trailing_comment_is_not_an_unterminated_event(self) -> None:
        _, parser = decode([b"data: 1\n\n: bye"])
        assert parser.unterminated is None and parser.problems == []


class TestBytes:
    def test_leading_bom_dropped_once(self) -> None:
        assert events_of(b"\xef\xbb\xbfdata: 1\n\n") == [("message", "1", None)]
        assert events_of(b"\xef\xbb\xbf\xef\xbb\xbfdata: 1\n\n") == []  # the second BOM makes an unknown field

    def test_bom_split_across_chunks(self) -> None:
        assert decode([b"\xef", b"\xbb\xbfdata: 1\n\n"])[0] == [("message", "1", None)]

    def test_multibyte_character_split_across_chunks(self) -> None:
        body = "data: caf\u00e9 \U0001f600\n\n".encode()
        cut = body.index(b"\xf0") + 2
        events, parser = decode([body[:cut], body[cut:]])
        assert events == [("message", "caf\u00e9 \U0001f600", None)]
        assert parser.problems == []

    def test_invalid_utf8_replaced_and_reported(self) -> None:
        events, parser = decode([b"data: 1\n\ndata: caf\xe9\n\n"])
        assert events == [("message", "1", None), ("message", "caf\ufffd", None)]
        assert [(p.kind, p.offset, p.index) for p in parser.problems] == [("invalid-utf8", 9, 1)]

    def test_offsets_and_times(self) -> None:
        parser = SSEParser()
        first = parser.feed(b"data: a\n\nevent: x\ndata:", t=0.5)
        second = parser.feed(b" b\n\n", t=1.25)
        assert [(e.index, e.offset, e.t) for e in first + second] == [(0, 0, 0.5), (1, 9, 1.25)]

    def test_long_event_in_many_chunks(self) -> None:
        payload = b"x" * 200_000
        body = b"data: " + payload + b"\n\n"
        events, _ = decode([body[i : i + 7] for i in range(0, len(body), 7)])
        assert events == [("message", payload.decode(), None)]



class TestLongLines:
    """A `data: ` line over 64 KiB (a whole answer in one `.done` event) is decoded in place: same events, same
    problems and offsets as any other line."""

    LONG = "\u00e9" * 40_000 + "x" * 30_000

    def test_a_long_line_across_chunks_then_a_short_event(self) -> None:
        body = b"event: done\ndata: " + self.LONG.encode() + b"\n\ndata: next\n\n"
        parser = SSEParser()
        events = [event for i in range(0, len(body), 4096) for event in parser.feed(body[i : i + 4096])]
        assert [(e.type, e.data, e.offset) for e in events] == [
            ("done", self.LONG, 0), ("message", "next", len(body) - len(b"data: next\n\n"))]
        assert parser.problems == []

    def test_long_lines_join_with_short_ones(self) -> None:
        body = f"data: a\ndata: {self.LONG}\ndata:{self.LONG}\n\n".encode()
        assert events_of(body) == [("message", f"a\n{self.LONG}\n{self.LONG}", None)]

    def test_invalid_utf8_in_a_long_line_is_replaced_and_reported(self) -> None:
        events, parser = decode([b"data: 1\n\ndata: " + b"a" * 70_000 + b"\xff\n\ndata: 2\n\n"])
        assert events == [("message", "1", None), ("message", "a" * 70_000 + "\ufffd", None), ("message", "2", None)]
        assert [(p.kind, p.offset, p.index) for p in parser.problems] == [("invalid-utf8", 9, 1)]
        assert "byte 70015 " in parser.problems[0].detail

@pytest.mark.parametrize("path", CORPUS_FILES, ids=[f"{p.parent.name}/{p.name}" for p in CORPUS_FILES])
def test_every_corpus_stream_parses_to_json_events(path: Path) -> None:
    import json

    events, parser = decode([path.read_bytes()])
    if path.name in NOT_SSE:
        assert not events and not parser.problems
        return
    assert events
    for _, data, _ in events:
        if data != "[DONE]":
            json.loads(data)
    assert [p.kind for p in parser.problems] in ([], ["unterminated-event"])


def _split(body: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({min(c, len(body)) for c in cuts})
    return [body[a:b] for a, b in zip([0, *points], [*points, len(body)], strict=True)]


SSE_PIECES = st.sampled_from(
    [b"data: ", b"data:", b"event: ", b"id: ", b"retry: 3", b": c", b"x", b"\xc3\xa9", b"\xf0\x9f\x98\x80", b"\xe9",
     b"\n", b"\r", b"\r\n", b"\n\n", b"\r\n\r\n", b"\xef\xbb\xbf", b"\x00", b"{\"a\": 1}"]
)


@settings(max_examples=300, deadline=None)
@given(pieces=st.lists(SSE_PIECES, max_size=40), cuts=st.lists(st.integers(0, 400), max_size=12))
def test_any_split_gives_the_same_events(pieces: list[bytes], cuts: list[int]) -> None:
    body = b"".join(pieces)
    whole = SSEParser()
    expected = whole.feed(body)
    whole.close()
    split = SSEParser()
    got = [event for chunk in _split(body, cuts) for event in split.feed(chunk)]
    split.close()
    assert [(e.index, e.type, e.data, e.id, e.offset) for e in got] == [
        (e.index, e.type, e.data, e.id, e.offset) for e in expected
    ]
    assert split.unterminated == whole.unterminated
    assert [(p.kind, p.offset) for p in split.problems] == [(p.kind, p.offset) for p in whole.problems]


LINE_PIECES = st.sampled_from([b"a", b"data: x", b"\xe9", b"\r", b"\n", b"\r\n", b"\r\n\r\n", b"\n\r"])


@settings(max_examples=400, deadline=None)
@given(pieces=st.lists(LINE_PIECES, max_size=30), cuts=st.lists(st.integers(0, 200), max_size=8))
def test_the_line_splitter_finds_the_spec_s_line_ends_in_any_chunking(pieces: list[bytes], cuts: list[int]) -> None:
    """Lines and terminator bytes as one regex pass over the whole body finds them: CRLF, lone CR and lone LF,
    alone or mixed in one chunk (each mix takes its own path), a CRLF cut between chunks included."""
    body = b"".join(pieces)
    ends = [match.end() for match in re.finditer(rb"\r\n|\r|\n", body)]
    starts = [0, *ends]
    expected = [(body[start:end].rstrip(b"\r\n"), len(body[start:end]) - len(body[start:end].rstrip(b"\r\n")))
                for start, end in zip(starts, ends, strict=False)]
    splitter = LineSplitter()
    got: list[tuple[bytes, int]] = []
    for chunk in _split(body, cuts):
        lines, lengths = splitter.feed(chunk)
        got += zip(lines, [lengths] * len(lines) if isinstance(lengths, int) else lengths, strict=True)
    assert [line for line, _ in got] == [line for line, _ in expected]
    assert sum(length for _, length in got) + splitter.skipped == sum(length for _, length in expected)
    assert splitter.pending == body[starts[-1]:]


@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_any_split_of_a_corpus_stream_gives_the_same_events(data: st.DataObject) -> None:
    body = data.draw(st.sampled_from(CORPUS_FILES)).read_bytes()
    cuts = data.draw(st.lists(st.integers(0, len(body)), max_size=30))
    assert decode(_split(body, cuts))[0] == decode([body])[0]


@pytest.mark.parametrize("end", [b"\r\n", b"\r"], ids=["crlf", "cr"])
def test_corpus_with_other_line_ends_parses_as_with_lf(end: bytes) -> None:
    """The fast whole-chunk paths for CRLF and CR against the LF stream and against the byte-at-a-time slow path
    (a CRLF cut between chunks, a lone CR at a chunk's end), offsets included."""
    for path in CORPUS_FILES:
        body = path.read_bytes().replace(b"\r\n", b"\n")
        converted = body.replace(b"\n", end)
        whole = SSEParser()
        fast = whole.feed(converted)
        whole.close()
        slow = SSEParser()
        split = [event for i in range(len(converted)) for event in slow.feed(converted[i : i + 1])]
        slow.close()
        assert [(e.type, e.data, e.id, e.offset) for e in fast] == [(e.type, e.data, e.id, e.offset) for e in split]
        lf = SSEParser().feed(body)
        assert [(e.type, e.data, e.id) for e in fast] == [(e.type, e.data, e.id) for e in lf], path.name
        assert [e.offset for e in fast] == [e.offset + (len(end) - 1) * body[: e.offset].count(b"\n") for e in lf]


def test_lines_clients_of_data_only_streams_choke_on_are_noted_once_per_kind_where_they_came() -> None:
    parser = SSEParser()
    parser.feed(b"data: {}\n\n: keep-alive\ndata: {}\n\nretry: 10\ndata:{}\n\ndata\n\n: again\nretry: 5\n\n")
    assert parser.unusual == {"comment": 1, "retry": 2, "data": 2}


def test_data_lines_with_their_space_and_named_events_are_not_unusual() -> None:
    parser = SSEParser()
    parser.feed(b"event: x\ndata: {}\nid: 1\n\ndata: {}\r\n\r\n")
    assert parser.unusual == {}


# -- chunks given as text (`feed_texts`, a recording's runs) against each chunk's bytes fed on its own -----------------

VALUE = st.text(alphabet=st.sampled_from(["a", "é", "\U0001f600", ":", " ", "\0", "\u2028", "\n", "\r"]), max_size=6)


@st.composite
def chunk_texts(draw) -> str:
    """Chunks of the shapes `feed_texts` makes events of directly, near misses of them, and any text."""
    value, name = draw(VALUE), draw(VALUE)
    return draw(st.sampled_from([
        f"data: {value}\n\n", f"event: {name}\ndata: {value}\n\n",  # the shapes read directly (if no LF or CR in them)
        f"data: {value}\r\n\r\n", f"data: {value}\r\n\r\n\r\n", f"data: {value}\r\n\n", f"data: {value}\r\n",
        f"data: {value}\n", f"data: {value}\n\n\n", f"data:{value}\n\n", f"data: {value}\nz",
        f"event: {name}\ndata: {value}\ndata: {value}\n\n", f"event: {name}\n\n", f"id: {name}\ndata: {value}\n\n",
        f"event: {name}\ndata: {value}\n", f"event: {name}\ndata: {value}\nz", f"\ufeffdata: {value}\n\n",
        f": {value}\n\n", "\n\n", "\n", "\r", value,
    ]))


def by_the_byte(parser: SSEParser, chunk: bytes, t: float | None) -> list[Event]:
    """What the line loop makes of `chunk`: fed a byte at a time, no chunk can be a whole event (`_whole_event`)."""
    return [event for at in range(len(chunk)) for event in parser.feed(chunk[at : at + 1], t)]


def assert_fed_whole_as_by_the_byte(chunks: list[bytes]) -> None:
    """Each chunk fed whole gives the events (and problems, unusual lines, strays) of feeding it a byte at a time."""
    whole, reference = SSEParser(), SSEParser()
    for number, chunk in enumerate(chunks):
        assert whole.feed(chunk, number) == by_the_byte(reference, chunk, number)
    whole.close(99.0)
    reference.close(99.0)
    assert (whole.problems, whole.stray, whole.unusual, whole.unterminated) == (
        reference.problems, reference.stray, reference.unusual, reference.unterminated)


@settings(max_examples=400, deadline=None)
@given(chunks=st.lists(chunk_texts().map(str.encode) | st.sampled_from([
    b"data: \xff\n\n", b"event: \xff\ndata: x\n\n", b"data: \xe9\r\n\r\n", b"data: x\r\n\n\r\n"]), max_size=12))
def test_a_chunk_fed_whole_gives_what_the_line_loop_gives(chunks: list[bytes]) -> None:
    """`feed` makes a chunk of one usual event its event directly; anything else, the line loop reads: the same
    events (and problems, unusual lines, strays) as each chunk fed a byte at a time, which never takes that path."""
    assert_fed_whole_as_by_the_byte(chunks)


CLEAN_VALUE = st.text(alphabet=st.sampled_from(["a", "é", "\U0001f600", ":", " ", "\0", "\u2028"]), max_size=6)


@st.composite
def events_of_one_line_end(draw) -> str:
    """A body of usual events with one kind of line end, among other lines and a stray line end of another kind."""
    end = draw(st.sampled_from(["\n", "\r", "\r\n"]))
    return "".join(draw(st.lists(
        CLEAN_VALUE.map(lambda value: f"data: {value}{end}{end}")
        | st.tuples(CLEAN_VALUE, CLEAN_VALUE).map(lambda pair: f"event: {pair[0]}{end}data: {pair[1]}{end}{end}")
        | st.sampled_from([f"event: message{end}data: m{end}{end}", f"data: a{end}data: b{end}{end}", f": c{end}",
                           f"id: 1{end}", end, f"data:x{end}{end}", f"event: x{end}{end}", "\n", "\r"]),
        min_size=2, max_size=16)))


def cuts_in(body: bytes | str) -> st.SearchStrategy[list[int]]:
    """Where to cut `body`: anywhere, and most often right after a line end (between a line and a blank line)."""
    ends = [at + 1 for at, character in enumerate(body) if character in (10, 13, "\n", "\r")]
    return st.lists(st.integers(0, len(body)) | (st.sampled_from(ends) if ends else st.nothing()), max_size=8)


EVENTS = events_of_one_line_end() | st.lists(chunk_texts(), min_size=2, max_size=12).map("".join)


@settings(max_examples=500, deadline=None)
@given(body=EVENTS.map(str.encode) | st.sampled_from([b"data: a\n\ndata: \xff\n\n", b"event: \xe9\ndata: x\n\n" * 2]),
       data=st.data())
def test_chunks_of_many_events_give_what_the_line_loop_gives(body: bytes, data: st.DataObject) -> None:
    """`feed` splits a chunk's run of usual events apart at once (`_feed_events`), after the end of an event under way;
    the line loop reads the rest: the same events, offsets and times, problems, unusual lines and strays as each
    chunk fed a byte at a time, which never takes that path. Line ends of every kind, alone and mixed, in any cut."""
    # NOTE: the line loop reads the first chunk, so that the others are fed between events
    assert_fed_whole_as_by_the_byte([b"data: 0\n\n", *_split(body, data.draw(cuts_in(body)))])


@settings(max_examples=300, deadline=None)
@given(body=EVENTS, data=st.data())
def test_texts_of_many_events_fed_at_once_get_the_times_of_the_chunks_that_completed_them(body: str,
                                                                                          data: st.DataObject) -> None:
    """`feed_texts` feeds chunks of other shapes together (`_feed_together`), and each event gets the time of the
    chunk that held its blank line, wherever the events were split apart."""
    points = sorted(set(data.draw(cuts_in(body))))
    texts = [body[a:b] for a, b in zip([0, *points], [*points, len(body)], strict=True)]
    times = [float(number) for number in range(1, len(texts) + 1)]
    one_by_one, at_once = SSEParser(), SSEParser()
    assert one_by_one.feed(b"data: 0\n\n", 0.0) == at_once.feed(b"data: 0\n\n", 0.0)  # the line loop reads the first
    expected = [event for text, t in zip(texts, times, strict=True) for event in by_the_byte(one_by_one,
                                                                                            text.encode(), t)]
    assert at_once.feed_texts(texts, times) == expected


@settings(max_examples=300, deadline=None)
@given(texts=st.lists(chunk_texts(), max_size=12), data=st.data())
def test_texts_fed_at_once_give_what_each_chunk_fed_on_its_own_gives(texts: list[str], data) -> None:
    times = sorted(data.draw(st.lists(st.floats(0, 100), min_size=len(texts), max_size=len(texts))))
    one_by_one, at_once = SSEParser(), SSEParser()
    expected = [event for text, t in zip(texts, times, strict=True) for event in by_the_byte(one_by_one,
                                                                                            text.encode(), t)]
    cut = data.draw(st.integers(0, len(texts)))  # in two calls: the state carries over from one to the next
    got = at_once.feed_texts(texts[:cut], times[:cut]) + at_once.feed_texts(texts[cut:], times[cut:])
    assert got == expected
    expected += one_by_one.feed(b"data: next\n\n", 200.0)
    got += at_once.feed(b"data: next\n\n", 200.0)
    one_by_one.close(300.0)
    at_once.close(300.0)
    assert got == expected
    assert (at_once.problems, at_once.stray, at_once.unusual, at_once.unterminated) == (
        one_by_one.problems, one_by_one.stray, one_by_one.unusual, one_by_one.unterminated)


def test_texts_of_the_usual_shapes_are_read_without_feeding_their_bytes(monkeypatch: pytest.MonkeyPatch) -> None:
    parser = SSEParser()
    parser.feed(b": hello\n\n")
    fed: list[bytes] = []
    feed = parser.feed
    monkeypatch.setattr(parser, "feed", lambda chunk, t=None: fed.append(chunk) or feed(chunk, t))
    texts = ["data: é\n\n", "event: delta\ndata: {}\n\n", "event: \ndata: z\n\n", "data: a\rb\n\n", "data: c\n\n",
             "data: d\r\n\r\n", "data: e\rf\r\n\r\n", "data: g\nh\r\n\r\n"]
    events = parser.feed_texts(texts, [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8])
    # a lone CR or LF ends a line too (`b`, `f`, `h` are no fields); the last two chunks are fed together
    assert fed == [b"data: a\rb\n\n", b"data: e\rf\r\n\r\ndata: g\nh\r\n\r\n"]
    assert [(e.index, e.type, e.data, e.offset, e.t) for e in events] == [
        (0, "message", "é", 9, 0.1), (1, "delta", "{}", 19, 0.2), (2, "message", "z", 42, 0.3),
        (3, "message", "a", 59, 0.4), (4, "message", "c", 70, 0.5), (5, "message", "d", 79, 0.6),
        (6, "message", "e", 90, 0.7), (7, "message", "g", 103, 0.8)]


def test_chunks_fed_together_that_make_one_usual_event_give_it_the_time_of_the_chunk_that_completed_it() -> None:
    """Joined, `data: x` + LF and a lone LF are one whole event (`_whole_event`): it still gets the time of the
    chunk that held its blank line."""
    parser = SSEParser()
    parser.feed(b": hello\n\n")
    for pieces in (["data: x\n", "\n"], ["data: y\r\n", "\r\n"], ["event: e\n", "data: z\n", "\n"]):
        times = [float(number) for number in range(len(pieces))]
        [event] = parser.feed_texts(pieces, times)
        assert event.t == times[-1]
