"""Any input, every command: exit 0, 1 or 2, never a traceback, exactly one stderr line on 2, and nothing from the
input reaching the output raw (controls, bidi overrides, lone surrogates).

Inputs are recordings with mangled headers and lines (any JSON where a field goes, JSON nested thousands deep, a URL
that does not parse, a number for `started_at`) and SSE bodies spliced from corpus streams and hostile text.
Bounded: a few dozen examples, each run through every file-reading command in-process.
"""

from __future__ import annotations

import base64
import contextlib
import io
import json
import re
import sys
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from inspector.cli import main
from inspector.inputs import InputError
from inspector.replay import load_entries

CORPUS = Path(__file__).parent / "fixtures" / "corpus"
STREAMS = sorted(str(path) for path in CORPUS.rglob("*.sse"))[::6]
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
_FUZZ = settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))

# text with every kind of character, lone surrogates included (JSON carries them as `\ud800`)
wild_text = st.text(st.characters(codec=None, exclude_categories=()), max_size=12) | st.sampled_from(
    ["\x1b]0;t\x07", "\x1b[2J", "\x1b]8;;http://x/\x1b\\l\x1b]8;;\x1b\\", "\x00", "\x9b", "\u202e", "\ud800"])
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | wild_text,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(wild_text, inner, max_size=3),
    max_leaves=8,
)
deep_json = st.integers(500, 30000).map(lambda depth: "[" * depth + "]" * depth)
json_text = st.one_of(json_values.map(json.dumps), deep_json)


def _chat_chunk(content: str, name: str, arguments: str) -> str:
    """A Chat chunk carrying text and a tool call: what view, diff and the checker read deepest."""
    call = {"index": 0, "id": "call_1", "type": "function", "function": {"name": name, "arguments": arguments}}
    chunk = {"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m",
             "choices": [{"index": 0, "delta": {"content": content, "tool_calls": [call]}, "finish_reason": None}]}
    return json.dumps(chunk)


chat_chunks = st.builds(_chat_chunk, wild_text, wild_text, json_text | wild_text)


@st.composite
def sse_bodies(draw) -> bytes:
    """A corpus stream cut and spliced with hostile frames, or frames made up from scratch."""
    frames = []
    if draw(st.booleans()):
        body = Path(draw(st.sampled_from(STREAMS))).read_bytes()
        cut = draw(st.integers(0, len(body)))
        frames.append(body[:cut] if draw(st.booleans()) else body)
    for _ in range(draw(st.integers(0, 3))):
        name = draw(wild_text).replace("\n", "").replace("\r", "")
        data = draw(json_text | wild_text | chat_chunks)
        frame = (f"event: {name}\n" if name else "") + "".join(f"data: {line}\n" for line in data.split("\n")) + "\n"
        frames.insert(draw(st.integers(0, len(frames))), frame.encode("utf-8", "surrogatepass"))
    return b"".join(frames) or b"data: {}\n\n"


@st.composite
def recordings(draw) -> bytes:
    """A recording whose header fields, chunk lines and end line may each hold anything."""
    url = draw(st.sampled_from(["http://127.0.0.1/v1/chat/completions", "http://[::1/x", "https://h/v1/messages?k=1",
                                "", "::"]) | wild_text)
    header = {"kind": "header", "format": "sse-recording", "version": 1, "id": "r", "started_at": "2026-01-01T00:00Z",
              "source": "proxy", "protocol": None, "request": {"method": "POST", "url": url, "headers": {}},
              "response": {"status": 200, "headers": {"content-type": "text/event-stream"}}}
    for key in draw(st.lists(st.sampled_from(sorted(header)), max_size=2)):
        header[key] = draw(json_values | st.integers())
    lines = [json.dumps(header)]
    if draw(st.booleans()):
        lines[0] = lines[0][:-1] + f', "x": {draw(deep_json)}}}'
    body = draw(sse_bodies())
    cut = draw(st.integers(0, len(body)))
    for part in (body[:cut], body[cut:]):
        line = {"kind": "chunk", "t": draw(st.none() | st.floats(0, 100)), "b64": base64.b64encode(part).decode()}
        lines.append(json.dumps(line))
    lines += draw(st.lists(json_text.map(lambda text: f'{{"kind": "chunk", "t": 1, "x": {text}}}') | json_text,
                           max_size=1))
    if draw(st.booleans()):
        lines.append(json.dumps({"kind": "end", "t": draw(json_values), "reason": draw(wild_text),
                                 "error": draw(json_values)}))
    return ("\n".join(lines) + "\n").encode("utf-8", "surrogatepass")


def run(*args: str) -> tuple[int, str, str]:
    """`sse-inspector ARGS`, in-process, with stdout and stderr as a terminal would encode them."""
    out, err = io.TextIOWrapper(io.BytesIO(), "utf-8"), io.TextIOWrapper(io.BytesIO(), "utf-8")
    saved = sys.argv, sys.stdout, sys.stderr
    sys.argv, sys.stdout, sys.stderr = ["sse-inspector", *args], out, err
    try:
        main()
        code = 0
    except SystemExit as done:
        code = done.code if isinstance(done.code, int) else 1
    finally:
        sys.argv, sys.stdout, sys.stderr = saved
    out.flush()
    err.flush()
    return code, out.buffer.getvalue().decode(), err.buffer.getvalue().decode()  # strict: no lone surrogate left


def commands(file: str, good: str, directory: str, page: str) -> list[list[str]]:
    return [
        ["events", file], ["events", "--json", file],
        *(["validate", "--format", fmt, file] for fmt in ("text", "json", "junit", "github")),
        ["view", file], ["view", "--json", file], ["view", "--events", "--raw", file], ["view", "--html", page, file],
        ["ls", directory], ["ls", "--json", directory],
        *(["diff", "--format", fmt, good, file] for fmt in ("text", "json", "junit")),
        ["diff", "--timing-tolerance", "10", file, file],
    ]


def check_every_command(content: bytes, name: str) -> None:
    with tempfile.TemporaryDirectory() as directory:
        root = Path(directory)
        good = root / "good.sse"
        good.write_bytes(Path(STREAMS[0]).read_bytes())
        file = root / name
        file.write_bytes(content)
        for args in commands(str(file), str(good), directory, str(root / "page.html")):
            code, out, err = run(*args)
            assert code in (0, 1, 2), (args, code, err)
            assert "Traceback" not in err, (args, err)
            if code == 2:
                assert len(err.splitlines()) == 1, (args, err)
            assert not _UNSAFE.search(out + err), (args, _UNSAFE.findall(out + err))
            if args[:2] == ["ls", "--json"]:  # the good file listed, the bad one named
                assert code == 0
                listed = sorted(Path(json.loads(line)["path"]).name for line in out.splitlines())
                assert listed == sorted(["good.sse", name])
        with contextlib.suppress(InputError):
            load_entries([str(file)])  # what `serve` reads at start: usable, or one InputError


@pytest.mark.slow
@_FUZZ
@given(recordings())
@example(  # found: `"error": true` in the end line made the terminal view raise (its text was escaped as a string)
    b'{"kind": "header", "format": "sse-recording", "version": 1, "id": "r", "started_at": "2026-01-01T00:00Z", '
    b'"source": "proxy", "protocol": null, "request": {"method": "POST", "url": "http://127.0.0.1/v1/chat/completions'
    b'", "headers": {}}, "response": {"status": 200, "headers": {"content-type": "text/event-stream"}}}\n'
    b'{"kind": "chunk", "t": null, "b64": "ZGF0YToge30KCg=="}\n{"kind": "end", "t": null, "reason": "", '
    b'"error": true}\n')
def test_any_recording_gives_0_1_or_2_and_never_a_traceback(content: bytes) -> None:
    check_every_command(content, "fuzzed.jsonl")


@pytest.mark.slow
@_FUZZ
@given(sse_bodies())
def test_any_sse_body_gives_0_1_or_2_and_never_a_traceback(content: bytes) -> None:
    check_every_command(content, "fuzzed.sse")
