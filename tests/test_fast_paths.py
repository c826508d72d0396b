"""The validator's JSON fast path (pydantic-core's parser) against its slow path (`json.loads`): same payloads,
same findings on the whole corpus, and never a payload where `json.loads` refuses."""

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic_core import from_json

import inspector.validate
from inspector.sse import SSEParser
from inspector.validate import check_bytes

CORPUS_FILES = sorted((Path(__file__).parent / "fixtures" / "corpus").glob("*/*.sse"))


def _both(text: str) -> tuple[str | None, str | None]:
    """repr of each parser's value (None when it refuses): repr tells 1 from 1.0, -0.0 from 0.0, and key order."""
    try:
        fast = repr(from_json(text))
    except ValueError:
        fast = None
    try:
        slow = repr(json.loads(text))
    except (ValueError, RecursionError):
        slow = None
    return fast, slow


def test_every_corpus_payload_decodes_as_json_loads_decodes_it() -> None:
    for path in CORPUS_FILES:
        parser = SSEParser()
        for event in parser.feed(path.read_bytes()):
            if event.data != "[DONE]":
                fast, slow = _both(event.data)
                assert fast == slow, (path.name, event.index)


JSON_PIECES = st.sampled_from(
    ['{', '}', '[', ']', ',', ':', '"a"', '"\\ud800"', '"\\u0000"', '"\\x"', '1', '-0', '1.5e400', 'NaN', 'Infinity',
     '-Infinity', 'inf', 'true', 'null', ' ', '\t', '\n', '\x00', '01', '.5', '1.', '"é"', '"\x01"', "'a'", '9' * 30]
)


@settings(max_examples=400, deadline=None)
@given(pieces=st.lists(JSON_PIECES, max_size=12))
def test_the_fast_parser_accepts_nothing_json_loads_refuses(pieces: list[str]) -> None:
    fast, slow = _both("".join(pieces))
    assert fast is None or fast == slow


@pytest.mark.parametrize("path", CORPUS_FILES, ids=[f"{p.parent.name}/{p.name}" for p in CORPUS_FILES])
def test_findings_and_assembly_are_those_of_the_slow_path(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    body = path.read_bytes()
    fast = check_bytes(body)

    def refuse(_text: str) -> None:
        raise ValueError("the slow path")

    monkeypatch.setattr(inspector.validate, "from_json", refuse)
    slow = check_bytes(body)
    assert [f.to_json() for f in fast.findings] == [f.to_json() for f in slow.findings]
    assert (fast.protocol, fast.events, fast.assembly.text, fast.assembly.reasoning) == (
        slow.protocol, slow.events, slow.assembly.text, slow.assembly.reasoning)
