"""Reading a recording in runs (`Source.feed_to`, `Source.pieces`: chunks read together, fed in one call) against
the simple path (each line decoded by `json.loads`, each chunk fed on its own): the same events, each with the
time of the chunk that completed it, the same findings, view and diff digest, on the corpus and on any recording."""

import base64
import json
import random
import re
import tempfile
from pathlib import Path
from unittest import mock

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from inspector import recording
from inspector.diff.compare import digest
from inspector.inputs import InputError, Source, open_source
from inspector.recording import (
    _BLANK,
    Chunk,
    ChunkRun,
    End,
    Header,
    RecordingError,
    RecordingWriter,
    _chunk_block,
    _read_block,
    _slow_line,
)
from inspector.sse import SSEParser
from inspector.validate import StreamCheck
from inspector.view.model import Inspection, inspect

CORPUS_FILES = sorted((Path(__file__).parent / "fixtures" / "corpus").glob("*/*.sse"))
PROTOCOL_OF = {"openai-chat": "openai-chat", "openai-responses": "openai-responses",
               "anthropic-messages": "anthropic-messages", "gemini-generate-content": None}


def header(protocol: str | None = "openai-chat") -> Header:
    return Header(
        request={"method": "POST", "url": "https://api.example/v1/stream", "headers": {}, "body": None},
        response={"status": 200, "headers": {"content-type": "text/event-stream"}},
        protocol=protocol, source="test", id="r1", started_at="2026-11-21T00:00:00.000Z",
    )


def write(path: Path, chunks: list[tuple[float | None, bytes]], protocol: str | None, *, odd: bool = False,
          end: str | None = "complete") -> Path:
    """A recording of `chunks` as the recorder writes it; `odd` then rewrites every third chunk line in another
    form a reader must accept (base64 for valid UTF-8, a null or whole-number time) and adds a blank line after
    it: lines the fast path hands to the slow one, in the middle of a run."""
    writer = RecordingWriter(path, header(protocol))
    for t, data in chunks:
        writer.chunk(t, data)
    if end is not None:
        writer.end((chunks[-1][0] or 0.0) + 1 if chunks else 1.0, end)
    writer.close()
    if odd:
        lines = path.read_text(encoding="utf-8").split("\n")
        for number, (t, data) in enumerate(chunks):
            if number % 3 == 0:
                encoded = base64.b64encode(data).decode()
                form = [{"kind": "chunk", "t": t, "b64": encoded}, {"kind": "chunk", "t": None, "b64": encoded},
                        {"kind": "chunk", "t": round(t or 0), "text": data.decode("utf-8", "replace")}][number % 9 // 3]
                if form.get("text") is not None and form["text"].encode() != data:
                    form = {"kind": "chunk", "t": round(t or 0), "b64": encoded}
                lines[1 + number] = json.dumps(form) + "\n"
        path.write_text("\n".join(lines), encoding="utf-8")
    return path


def simple_chunks(path: Path) -> tuple[list[Chunk], End | None]:
    """The chunks and end line of a recording, each line decoded on its own by `json.loads` (the slow path)."""
    chunks: list[Chunk] = []
    end = None
    lines = path.read_bytes().splitlines(keepends=True)[1:]
    for number, raw in enumerate(lines, 2):
        item = _slow_line(raw, str(path), number)
        if isinstance(item, Chunk):
            chunks.append(item)
        elif isinstance(item, End) and item.reason:
            end = item
    return chunks, end


def fields(events) -> list[tuple]:
    return [(event.index, event.type, event.data, event.id, event.offset, event.t) for event in events]


def assert_same_reading(path: Path, protocol: str | None) -> None:
    for chunk_block in (lambda block: ([], [], block), _chunk_block):  # line by line, then a batch of lines at a time
        with mock.patch.object(recording, "_chunk_block", chunk_block):
            assert_same_reading_now(path, protocol)


def assert_same_reading_now(path: Path, protocol: str | None) -> None:
    chunks, end = simple_chunks(path)

    parser = SSEParser()
    expected = [event for chunk in chunks for event in parser.feed(chunk.data, chunk.t)]
    parser.close()
    fast_parser = SSEParser()
    source = open_source(str(path))
    got = [event for events in source.feed_to(fast_parser.feed) for event in events]
    fast_parser.close()
    assert fields(got) == fields(expected)
    assert (fast_parser.problems, fast_parser.stray, fast_parser.unterminated) == (
        parser.problems, parser.stray, parser.unterminated)
    assert source.end == end

    check = StreamCheck(protocol, request_path="/v1/stream", request_method="POST", status=200,
                        content_type="text/event-stream")
    for chunk in chunks:
        check.feed(chunk.data, chunk.t)
    check.close(end.reason if end else None, ended_at=end.t if end else None)
    validated = open_source(str(path)).validate()
    assert [finding.to_json() for finding in validated.findings] == [finding.to_json() for finding in check.findings]
    assert validated.events == check.events

    inspection = Inspection(str(path), header(protocol), keep_events=True, keep_chunks=True)
    for chunk in chunks:
        inspection.feed(chunk)
    expected_view = inspection.finish(end)
    view = inspect(open_source(str(path)), keep_events=True, keep_chunks=True)
    assert view.to_json() == expected_view.to_json()
    assert view.chunks == expected_view.chunks

    one_by_one = Source(str(path), header(protocol), iter([*chunks, *([end] if end else [])]))  # no runs
    assert digest(open_source(str(path)), protocol) == digest(one_by_one, protocol)


def frames(body: bytes) -> list[bytes]:
    """The body cut after each blank line, as a recorder stores a stream that sends one event per chunk."""
    pieces = body.split(b"\n\n")
    return [piece + b"\n\n" for piece in pieces[:-1]] + ([pieces[-1]] if pieces[-1] else [])


@pytest.mark.parametrize("path", CORPUS_FILES, ids=lambda path: path.name)
def test_the_corpus_reads_the_same_in_runs(path: Path, tmp_path: Path) -> None:
    body = path.read_bytes()
    protocol = PROTOCOL_OF[path.parent.name]
    cut = random.Random(path.name)
    positions = sorted(cut.sample(range(1, len(body)), min(len(body) - 1, len(body) // 50)))
    chunkings = {
        "frames": frames(body),
        "97 bytes": [body[start : start + 97] for start in range(0, len(body), 97)],
        "random": [body[a:b] for a, b in zip([0, *positions], [*positions, len(body)], strict=True)],
    }
    for number, (name, pieces) in enumerate(chunkings.items()):
        assert b"".join(pieces) == body, name
        timed = [(round(0.05 + index * 0.0125, 6), piece) for index, piece in enumerate(pieces)]
        assert_same_reading(write(tmp_path / f"{number}.jsonl", timed, protocol), protocol)
        assert_same_reading(write(tmp_path / f"{number}-odd.jsonl", timed, protocol, odd=True), protocol)


def test_a_run_gives_each_event_the_time_of_the_chunk_that_completed_it(tmp_path: Path) -> None:
    chunks = [(0.1, b"data: a\n\n"), (0.2, b"data: b\n\ndata: c\n\n"), (0.3, b": ping\n\n"), (0.4, b"data: d\n"),
              (0.5, b"\ndata: e\r"), (0.6, b"\n\r\n"), (0.7, b"data: \xf0\x9f"), (0.8, b"\x98\x80\n\n")]
    path = write(tmp_path / "r.jsonl", chunks, "openai-chat")
    pieces = list(open_source(str(path)).pieces())
    assert any(isinstance(piece, ChunkRun) and len(piece.times) > 1 for piece in pieces)  # read together indeed
    parser = SSEParser()
    got = [(event.data, event.t) for events in open_source(str(path)).feed_to(parser.feed) for event in events]
    assert got == [("a", 0.1), ("b", 0.2), ("c", 0.2), ("d", 0.5), ("e", 0.6), ("\U0001f600", 0.8)]


def test_chunks_before_a_broken_line_are_read_before_the_error(tmp_path: Path) -> None:
    path = write(tmp_path / "r.jsonl", [(0.1, b"data: a\n\n"), (0.2, b"data: b\n\n")], "openai-chat", end=None)
    with path.open("a") as file:
        file.write('{"kind":"chunk","t":0.3}\n{"kind":"chunk","t":0.4,"text":"data: c\\n\\n"}\n')
    parser = SSEParser()
    got = []
    with pytest.raises(InputError, match=r"r.jsonl:4: broken recording line \(missing 'b64'\)"):
        for events in open_source(str(path)).feed_to(parser.feed):
            got += [event.data for event in events]
    assert got == ["a", "b"]


def test_a_recording_cut_mid_line_reads_up_to_the_cut(tmp_path: Path) -> None:
    path = write(tmp_path / "r.jsonl", [(0.1, b"data: a\n\n"), (0.2, b"data: b\n\n")], "openai-chat", end=None)
    with path.open("a") as file:
        file.write('{"kind":"chunk","t":0.3,"text":"data: c')
    source = open_source(str(path))
    assert [chunk.data for chunk in source.chunks()] == [b"data: a\n\n", b"data: b\n\n"]
    assert source.end is None


def test_a_long_recording_is_read_in_several_batches(tmp_path: Path) -> None:
    """More than one batch of lines (`_BATCH`): the offsets carry on from one batch to the next."""
    event = b'data: {"choices":[{"delta":{"content":"' + "é".encode() * 300 + b'"}}]}\n\n'
    chunks = [(round(index * 0.001, 6), event) for index in range(1500)]
    chunks[700] = (chunks[700][0], event[:40])  # a run ends early: the next starts mid-event
    chunks[701] = (chunks[701][0], event[40:] + event)
    assert_same_reading(write(tmp_path / "r.jsonl", chunks, "openai-chat"), "openai-chat")


LINE_ENDS = st.sampled_from([b"\n", b"\r\n", b"\r"])
TEXT = st.text(alphabet=st.sampled_from(["a", "é", "\U0001f600", ":", " ", "{", "}", '"', "\\", "\t", "\u2028"]),
               max_size=8)


@st.composite
def sse_bodies(draw) -> bytes:
    """SSE bodies with LF, CRLF and CR line ends, multi-byte characters, comments, ids and unterminated ends."""
    lines: list[bytes] = []
    for _ in range(draw(st.integers(0, 12))):
        kind = draw(st.sampled_from(["data", "data", "event", "id", "comment", "blank", "blank", "other"]))
        value = draw(TEXT).encode()
        line = {"data": b"data: " + value, "event": b"event: " + value, "id": b"id: " + value,
                "comment": b": " + value, "blank": b"", "other": value}[kind]
        lines.append(line + draw(LINE_ENDS))
    if draw(st.booleans()):
        lines.append(b"data: " + draw(TEXT).encode())  # no line end: cut short
    return b"".join(lines)


@settings(max_examples=150, deadline=None)
@given(body=sse_bodies(), data=st.data(), odd=st.booleans(), end=st.sampled_from(["complete", "error", None]))
def test_any_recording_reads_the_same_in_runs(body: bytes, data, odd: bool, end: str | None) -> None:
    cuts = sorted(data.draw(st.sets(st.integers(1, max(1, len(body) - 1)), max_size=12))) if body else []
    cuts = [cut for cut in cuts if cut < len(body)]
    pieces = [body[a:b] for a, b in zip([0, *cuts], [*cuts, len(body)], strict=True)] if body else []
    times = sorted(data.draw(st.lists(st.floats(0, 100), min_size=len(pieces), max_size=len(pieces))))
    chunks = [(round(t, 6), piece) for t, piece in zip(times, pieces, strict=True)]
    with tempfile.TemporaryDirectory() as directory:
        path = write(Path(directory) / "r.jsonl", chunks, "openai-chat", odd=odd, end=end)
        assert_same_reading(path, "openai-chat")


# -- chunk lines decoded together (`_chunk_block`) against each line on its own --------------------------------------

END_LINE = b'{"kind":"end","t":9.0,"reason":"complete","error":null}\n'
MUTATIONS = {  # ways a line of the writer's can be broken or unusual, each handed to the slow path
    "cut": lambda line, draw: line[: draw(st.integers(0, len(line) - 1))] + b"\n",
    "blank": lambda line, draw: b"\n",
    "crlf": lambda line, draw: line[:-1] + b"\r\n",
    "int time": lambda line, draw: re.sub(rb'"t":[^,]*', b'"t":1', line, count=1),
    "null time": lambda line, draw: re.sub(rb'"t":[^,]*', b'"t":null', line, count=1),
    "nan time": lambda line, draw: re.sub(rb'"t":[^,]*', b'"t":NaN', line, count=1),
    "late time": lambda line, draw: re.sub(rb'"t":[^,]*', b'"t":1e400', line, count=1),
    "extra key": lambda line, draw: line[:-2] + b',"x":[{"y":1}]}\n',
    "repeated key": lambda line, draw: line[:-2] + b',"text":"data: z\\n\\n"}\n',
    "lone surrogate": lambda line, draw: line.replace(b'"text":"', b'"text":"\\ud800', 1),
    "non-UTF-8": lambda line, draw: line.replace(b'"text":"', b'"text":"\xff', 1),
    "raw control": lambda line, draw: line.replace(b'"text":"', b'"text":"\x01', 1),
    "base64": lambda line, draw: json.dumps({"kind": "chunk", "t": 0.5, "b64": base64.b64encode(
        json.loads(line)["text"].encode()).decode()}).encode() + b"\n",
    "two in one": lambda line, draw: line[:-1] + b"," + line,  # one line holding two objects
    "split at a key": lambda line, draw: line.replace(b',"text"', b'\n"text"', 1),  # two lines, one object
    "end line": lambda line, draw: END_LINE,
}


def read_together(lines: list[bytes]) -> tuple[list, str | None]:
    """What `_read_block` (batch first, then line by line) makes of `lines`: chunks, end lines, the error."""
    items: list = []
    try:
        for item in _read_block(b"".join(lines), "r", 2):
            items += item.chunks() if isinstance(item, ChunkRun) else [item]
    except RecordingError as error:
        return items, str(error)
    return items, None


def read_one_by_one(lines: list[bytes]) -> tuple[list, str | None]:
    """What the slow path alone makes of each line."""
    items: list = []
    for number, raw in enumerate(lines, 2):
        try:
            item = _slow_line(raw, "r", number)
        except RecordingError as error:
            return items, str(error)
        if item is None:
            break
        if item is not _BLANK:
            items.append(item)
    return items, None


@settings(max_examples=300, deadline=None)
@given(texts=st.lists(st.text(alphabet=st.characters(codec="utf-8"), max_size=30).filter(bool), min_size=1,
                      max_size=12), data=st.data(), end=st.booleans())
def test_chunk_lines_read_together_as_one_by_one(texts: list[str], data, end: bool) -> None:
    """Lines as the writer writes them are decoded in one call; any broken or unusual line in the middle, or two
    lines merged or one split, gives exactly what reading each line on its own gives (chunks, or the same error on
    the same line after the same chunks)."""
    with tempfile.TemporaryDirectory() as directory:
        path = write(Path(directory) / "r.jsonl", [(round(0.1 * n, 6), text.encode()) for n, text in
                                                   enumerate(texts)], "openai-chat", end="complete" if end else None)
        lines = path.read_bytes().splitlines(keepends=True)[1:]
    if data.draw(st.booleans(), "untouched"):
        times, _, _ = _chunk_block(b"".join(lines))
        assert len(times) == len(lines) - end  # the batch path is taken
    else:
        chunk_lines = range(len(texts))  # the writer's chunk lines, each mutated at most once, the last first
        for where in sorted(data.draw(st.sets(st.sampled_from(chunk_lines), min_size=1, max_size=3)), reverse=True):
            how = data.draw(st.sampled_from(sorted(MUTATIONS)), "how")
            lines[where : where + 1] = MUTATIONS[how](lines[where], data.draw).splitlines(keepends=True)
        if data.draw(st.booleans(), "merge two lines"):
            where = data.draw(st.integers(0, max(0, len(lines) - 2)), "merged")
            lines[where : where + 2] = [b"".join(lines[where : where + 2]).replace(b"\n", b",", 1)]
    assert read_together(lines) == read_one_by_one(lines)


def test_lines_merged_and_split_so_the_count_still_matches_are_read_one_by_one() -> None:
    """Lines that make one object and one line holding two: as many objects as lines, yet not the lines."""
    a = b'{"kind":"chunk","t":0.1,"text":"data: a\\n\\n","x":[{"q":"z"}\n'
    b = b'{"kind":"chunk","t":0.2,"text":"b"}],"w":"z"}\n'
    c = b'{"kind":"chunk","t":0.3,"text":"c"},{"kind":"chunk","t":0.4,"text":"d"}\n'
    lines = [a, b, c, END_LINE]
    assert _chunk_block(b"".join(lines))[:2] == ([], [])
    assert read_together(lines) == read_one_by_one(lines) == ([], "r:2: broken recording line (Expecting ',' "
                                                                   "delimiter: line 2 column 1 (char 60))")
    lines = [b'{"kind":"chunk","t":0.1\n', b'"text":"data: a\\n\\n"}\n', c, END_LINE]
    assert _chunk_block(b"".join(lines))[:2] == ([], [])
    assert read_together(lines) == read_one_by_one(lines) == ([], "r:2: broken recording line (Expecting ',' "
                                                                   "delimiter: line 2 column 1 (char 24))")


def test_a_recording_is_decoded_a_batch_of_chunk_lines_at_a_time(tmp_path: Path) -> None:
    path = write(tmp_path / "r.jsonl", [(0.001 * n, b"data: %d\n\n" % n) for n in range(3000)], "openai-chat")
    batches: list[int] = []

    def chunk_block(block: bytes) -> tuple[list[float | None], list[str], bytes]:
        times, texts, rest = _chunk_block(block)
        batches.append(len(times))
        return times, texts, rest

    expected = [(chunk.t, chunk.data) for chunk in simple_chunks(path)[0]]
    with mock.patch.object(recording, "_chunk_block", chunk_block):
        assert [(chunk.t, chunk.data) for chunk in open_source(str(path)).chunks()] == expected
    assert len(batches) > 1 and sum(batches) == 3000


def test_a_line_of_two_chunk_lines_or_one_across_two_lines_is_read_one_by_one() -> None:
    """A batch decodes each line as a one-item array: a line holding two chunk lines (`{...},{...}`) is no chunk
    line, nor is a string that runs on into the next line (its LF is kept, so the string cannot hold the next
    line's array brackets)."""
    good = b'{"kind":"chunk","t":0.1,"text":"data: a\\n\\n"}\n'
    two = b'{"kind":"chunk","t":0.2,"text":"b"},{"kind":"chunk","t":0.3,"text":"c"}\n'
    across = [b'{"kind":"chunk","t":0.2,"text":"b\n', b'c"}\n']
    for lines, error in (([good, two, good, END_LINE], "r:3: broken recording line (Extra data: line 1 column 36 "
                                                       "(char 35))"),
                         ([good, *across, good, END_LINE], "r:3: broken recording line (Invalid control character at: "
                                                           "line 1 column 34 (char 33))")):
        assert _chunk_block(b"".join(lines))[:2] == ([], [])
        assert read_together(lines) == read_one_by_one(lines) == ([Chunk(0.1, b"data: a\n\n")], error)


def test_an_error_body_read_in_runs_is_judged_as_chunk_by_chunk() -> None:
    texts, times = ['{"error": {"message": "over', ' quota"}}\n'], [0.1, 0.2]
    checks = [StreamCheck("openai-chat", status=429) for _ in range(2)]
    for text, t in zip(texts, times, strict=True):
        checks[0].feed(text.encode(), t)
    assert checks[1].feed_texts(texts, times) == []
    assert [[finding.to_json() for finding in check.close()] for check in checks] == [
        [finding.to_json() for finding in checks[0].findings]] * 2
    assert "over quota" in checks[1].findings[0].message
