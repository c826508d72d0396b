"""Recording format v1: round trip, redaction, streaming reads, broken files."""

import io
import json
import os
import stat
from pathlib import Path

import pytest

from inspector.inputs import InputError, open_source
from inspector.recording import Chunk, End, Header, RecordingWriter
from inspector.redact import Policy

SECRET = "sk-proj-abcdefghijklmnopqrstuvwxyz0123456789WXYZ"


def header(**request) -> Header:
    return Header(
        request={"method": "POST", "url": "https://api.openai.com/v1/chat/completions", "headers": {}, "body": None,
                 **request},
        response={"status": 200, "headers": {"content-type": "text/event-stream"}},
        protocol="openai-chat", source="test", id="r1", started_at="2026-11-21T00:00:00.000Z",
    )


def read_all(path: Path) -> tuple[Header | None, list[Chunk], End | None]:
    source = open_source(str(path))
    chunks = list(source.chunks())
    return source.header, chunks, source.end


def test_round_trip_keeps_bytes_times_and_end(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    emoji = "data: \U0001f600\n\n".encode()
    chunks = [Chunk(0.0125, b"data: {}\n\n"), Chunk(0.5, emoji[:8]), Chunk(0.75, emoji[8:]), Chunk(1.0, b"\xff\xfe")]
    writer = RecordingWriter(path, header())
    for chunk in chunks:
        writer.chunk(chunk.t, chunk.data)
    writer.end(1.5, "complete")
    got_header, got_chunks, end = read_all(path)
    assert got_header == header()
    assert got_chunks == chunks
    assert end == End(1.5, "complete", None)
    kinds = [("text" in line, "b64" in line) for line in map(json.loads, path.read_text().splitlines()[1:-1])]
    assert kinds == [(True, False), (False, True), (False, True), (False, True)]


def test_a_header_holding_bytes_that_are_not_utf8_is_written_and_reads_back_as_it_was(tmp_path: Path) -> None:
    """mitmproxy decodes a header or body byte that is not UTF-8 (a Latin-1 `é` from a third-party server) to a lone
    surrogate; a JSON body can spell one itself (`"\\ud800"`). The file stays UTF-8 and every string reads back."""
    latin1 = b"caf\xe9".decode("utf-8", "surrogateescape")
    written = header(headers={"x-note": latin1}, body='{"x": "\ud800", "y": "\u2028\x85\u202e"}')
    written.response["headers"]["x-note"] = latin1
    path = tmp_path / "r.jsonl"
    RecordingWriter(path, written).end(0.5, "complete")
    path.read_bytes().decode("utf-8")  # strict: no raw surrogate, no invalid byte
    assert read_all(path)[0] == written


def test_file_is_readable_by_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    RecordingWriter(path, header()).close()
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


def test_writer_never_overwrites(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    path.write_text("precious")
    with pytest.raises(FileExistsError):
        RecordingWriter(path, header())
    assert path.read_text() == "precious"


def test_every_line_is_flushed_so_a_crash_leaves_a_readable_file(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    writer = RecordingWriter(path, header())
    writer.chunk(0.1, b"data: 1\n\n")
    got_header, got_chunks, end = read_all(path)  # the writer is still open: no end line yet
    assert (got_header is not None, got_chunks, end) == (True, [Chunk(0.1, b"data: 1\n\n")], None)
    writer.close()


def test_no_secret_reaches_the_file(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    request_headers = Policy().headers({"Authorization": f"Bearer {SECRET}", "x-api-key": SECRET})
    rec = header(url=Policy().url(f"https://api.example/v1/chat/completions?api_key={SECRET}"), headers=request_headers)
    RecordingWriter(path, rec).end(0.1, "complete")
    text = path.read_text()
    assert SECRET not in text and SECRET[:-4] not in text
    assert "…WXYZ" in text


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        (['{"kind":"chunk","t":0.1,"text":"data: 1\\n\\n"}', "{not json"], "r.jsonl:3: broken recording line"),
        (['{"kind":"chunk","t":"soon","text":"x"}'], "r.jsonl:2: broken recording line (`t` must be seconds"),
        (['{"kind":"chunk","t":NaN,"text":"x"}'], "r.jsonl:2: broken recording line (`t` must be seconds"),
        (['{"kind":"chunk","t":-5,"text":"x"}'], "r.jsonl:2: broken recording line (`t` must be seconds"),
        (['{"kind":"chunk","t":1e308,"text":"x"}'], "r.jsonl:2: broken recording line (`t` must be seconds"),
        (['{"kind":"chunk","t":0.1}'], "r.jsonl:2: broken recording line (missing 'b64')"),
        (['{"kind":"what"}'], "r.jsonl:2: broken recording line (unknown line kind 'what')"),
    ],
)
def test_broken_line_names_file_and_line(tmp_path: Path, lines: list[str], message: str) -> None:
    path = tmp_path / "r.jsonl"
    path.write_text("\n".join([json.dumps(header().to_json()), *lines]) + "\n")
    source = open_source(str(path))
    with pytest.raises(InputError) as error:
        list(source.chunks())
    assert str(error.value).startswith(str(path.parent / message))


def test_unsupported_version(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    path.write_text(json.dumps({**header().to_json(), "version": 9}) + "\n")
    with pytest.raises(InputError, match=r"r\.jsonl:1: recording format version 9 is not supported"):
        open_source(str(path))


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"request": "oops"}, "`request` must be an object"),
        ({"response": {"status": "200"}}, "`response.status` must be an HTTP status code, got '200'"),
        ({"response": {"status": 200, "headers": ["x"]}}, "`response.headers` must be an object of strings"),
        ({"protocol": "nope"}, "unknown `protocol` 'nope'"),
    ],
)
def test_header_with_wrong_types_names_the_field(tmp_path: Path, change: dict, problem: str) -> None:
    path = tmp_path / "r.jsonl"
    path.write_text(json.dumps({**header().to_json(), **change}) + "\n")
    with pytest.raises(InputError) as error:
        open_source(str(path))
    assert str(error.value).startswith(f"{path}:1: broken recording header ({problem}")


def test_a_last_line_cut_mid_write_reads_as_a_recording_cut_short(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    writer = RecordingWriter(path, header())
    writer.chunk(0.1, b"data: 1\n\n")
    writer.chunk(0.2, b"data: 2\n\n")
    writer.close()
    path.write_bytes(path.read_bytes()[:-12])  # the recorder died in the middle of the last line
    _, chunks, end = read_all(path)
    assert (chunks, end) == ([Chunk(0.1, b"data: 1\n\n")], None)


def test_a_header_line_of_any_length_is_read(tmp_path: Path) -> None:
    """The format has no size limit: a long conversation's request body makes a header line of megabytes."""
    body = json.dumps({"stream": True, "messages": [{"role": "user", "content": "x" * 300_000}]})
    header = Header(request={"method": "POST", "url": "https://h/v1/chat/completions", "headers": {}, "body": body})
    writer = RecordingWriter(tmp_path / "long.jsonl", header)
    writer.chunk(0.1, b"data: [DONE]\n\n")
    writer.end(0.2, "complete")
    source = open_source(str(tmp_path / "long.jsonl"))
    assert source.header is not None and source.header.request["body"] == body
    assert [chunk.data for chunk in source.chunks()] == [b"data: [DONE]\n\n"]
    assert source.end_reason == "complete"


def test_a_raw_body_whose_first_line_is_long_is_still_read_whole(tmp_path: Path) -> None:
    data = b"data: " + b"y" * 200_000 + b"\n\n"
    (tmp_path / "long.sse").write_bytes(data)
    source = open_source(str(tmp_path / "long.sse"))
    assert source.header is None and b"".join(chunk.data for chunk in source.chunks()) == data


CORPUS_FILES = sorted((Path(__file__).parent / "fixtures" / "corpus").glob("*/*.sse"))

# lines the fast path must hand to the slow one, which decides them exactly as before
ODD_LINES = [
    b'{"kind":"chunk","t":1,"text":"data: x\\n\\n"}\n',  # an int time
    b'{"kind":"chunk","t":null,"text":"data: x\\n\\n"}\n',
    b' {"kind":"chunk","t":0.5,"text":"data: x\\n\\n"}\n',  # leading space
    b'{"kind":"chunk","t":0.5,"text":"data: \\ud800\\n\\n"}\n',  # a lone surrogate: not encodable
    b'{"kind":"chunk","t":0.5,"b64":"ZGF0YTogeAoK"}\n',
    b'{"kind":"chunk","t":0.5,"text":7}\n',
    b'{"kind":"chunk","t":-0.5,"text":"data: x\\n\\n"}\n',
    b'{"kind":"chunk","t":1e9,"text":"data: x\\n\\n"}\n',
    b'{"kind":"chunk","t":0.5,"text":"a","text":"data: y\\n\\n"}\n',  # a repeated key: the last wins in both
    b'{"kind":"chunk","t":0.5,"text":"data: x\\n\\n"}{"kind":"end"}\n',
    b'["chunk"]\n',
    b"\n",
    b'{"kind":"end","t":2.0,"reason":"complete","error":null}\n',
    b'{"kind":"chunk","t":0.5,"text":"data: x\\n\\n"}',  # cut mid-write, yet whole
]


def _slow_items(lines: list[bytes]) -> list:
    """What the slow path alone makes of each line (None: a cut line ends the body; an exception: its message)."""
    from inspector.recording import _BLANK, RecordingError, _slow_line

    items = []
    for number, raw in enumerate(lines, 2):
        try:
            item = _slow_line(raw, "r", number)
        except RecordingError as error:
            items.append(str(error))
            break
        if item is None:
            break
        if item is not _BLANK:
            items.append(item)
    return items


def _fast_items(lines: list[bytes], together: bool = False) -> list:
    from inspector.recording import ChunkRun, RecordingError, _read_block, iter_body

    items = []
    try:
        if together:
            for item in _read_block(b"".join(lines), "r", 2):
                items.extend(item.chunks() if isinstance(item, ChunkRun) else [item])
        else:
            items.extend(iter_body(iter(lines), "r"))
    except RecordingError as error:
        items.append(str(error))
    return items


@pytest.mark.parametrize("line", ODD_LINES)
def test_reader_fast_path_reads_odd_lines_as_the_slow_path(line: bytes) -> None:
    good = b'{"kind":"chunk","t":0.25,"text":"data: a\\n\\n"}\n'
    lines = [good, line]
    assert _fast_items(lines) == _slow_items(lines)
    # in the middle of a batch decoded in one call (`_chunk_block`), before an end line
    block = b"".join([good, good, line, good, b'{"kind":"end","t":2.0,"reason":"complete","error":null}\n'])
    lines = io.BytesIO(block).readlines()  # the lines as a file holds them (a line cut short runs into the next)
    assert _fast_items(lines, together=True) == _fast_items(lines) == _slow_items(lines)


def test_reader_fast_path_reads_the_corpus_as_the_slow_path(tmp_path: Path) -> None:
    """Each corpus stream written as the recorder writes it (one chunk per event, some cut mid-character)."""
    for number, source in enumerate(CORPUS_FILES):
        path = tmp_path / f"{number}.jsonl"
        writer = RecordingWriter(path, header())
        body = source.read_bytes()
        for index, start in enumerate(range(0, len(body), 97)):
            writer.chunk(index * 0.01, body[start : start + 97])
        writer.end(9.0, "complete")
        lines = path.read_bytes().splitlines(keepends=True)[1:]
        fast = _fast_items(lines)
        assert fast == _slow_items(lines)
        assert b"".join(item.data for item in fast if isinstance(item, Chunk)) == body
