"""The pytest plugin, run by pytest itself (`pytester`): replay, record, check, faults, and the two helpers.

The inner test files are what a user writes: the official openai and anthropic SDKs pointed at `sse_replay`.
For --sse-record and --sse-check the "real API" is a replay server on 127.0.0.1 serving an example recording.
"""

from __future__ import annotations

import json
import math
import re
import shlex
import shutil
from pathlib import Path

import anthropic  # noqa: F401  (imported here once: pytester's in-process runs then reuse it, not re-import it)
import httpx  # noqa: F401
import openai  # noqa: F401
import pytest

from inspector.protocols import load_all_rules
from inspector.pytest_plugin import _Session, golden_files, golden_name
from inspector.replay import Replay, ReplayServer

pytest_plugins = ["pytester"]
load_all_rules()  # NOTE: in-process runs drop the modules they imported; a protocol re-imported would register twice

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "recordings" / "examples"
CHAT = EXAMPLES / "openai-chat-parallel-tool-calls.jsonl"
MESSAGES = EXAMPLES / "anthropic-messages-tool-use.jsonl"
CORPUS = ROOT / "tests" / "fixtures" / "corpus"


@pytest.fixture
def upstream():
    """Stands for the real API: serves a recording, as fast as it can."""

    def serve(path: Path) -> ReplayServer:
        return ReplayServer(Replay.from_paths([str(path)], math.inf))

    return serve


def _golden(pytester: pytest.Pytester, name: str, *sources: Path) -> None:
    target = pytester.path / "tests" / "golden" / "test_app"
    target.mkdir(parents=True, exist_ok=True)
    for number, source in enumerate(sources, 1):
        shutil.copy(source, target / f"{name}{'' if number == 1 else f'-{number}'}.jsonl")


def test_replay_golden_recordings_or_a_marked_path_with_faults(pytester: pytest.Pytester) -> None:
    """One inner session (a pytest start is slow): golden replay to both SDKs, a missing golden recording, a cut
    stream, a directory replayed paced with a stall."""
    _golden(pytester, "test_both", CHAT, MESSAGES)
    pytester.makepyfile(test_app=f'''
        import anthropic, openai, pytest

        def chat(url):
            client = openai.OpenAI(base_url=f"{{url}}/v1", api_key="k", max_retries=0)
            return client.chat.completions.create(model="m", messages=[], stream=True)

        def test_both(sse_replay):
            assert list(chat(sse_replay))[-1].usage.total_tokens > 0
            claude = anthropic.Anthropic(base_url=sse_replay, api_key="k", max_retries=0)
            with claude.messages.stream(model="m", max_tokens=9, messages=[]) as stream:
                assert stream.get_final_message().stop_reason == "tool_use"

        def test_new(sse_replay):
            pass

        @pytest.mark.sse_replay({str(CHAT)!r}, cut_after=3)
        def test_cut(sse_replay):
            with pytest.raises(Exception, match="peer closed connection without sending complete message body"):
                list(chat(sse_replay))

        @pytest.mark.sse_replay({str(EXAMPLES)!r}, paced=True, speed=1000, stall_at=(2, 0.01))
        def test_directory_paced_with_a_stall(sse_replay):
            assert list(chat(sse_replay))[-1].usage.total_tokens > 0

        @pytest.mark.sse_replay("tests/golden/test_app/not_recorded_yet.jsonl")
        def test_marked_path_missing(sse_replay):
            pass
    ''')
    result = pytester.runpytest("-p", "no:randomly")
    result.assert_outcomes(passed=3, errors=2)
    result.stdout.fnmatch_lines(["*no golden recording for this test (*test_app/test_new.jsonl): record it with "
                                 "--sse-record --sse-upstream URL*"])
    # a new user's first run of the docs' example: a marker path not recorded yet was an internal traceback
    result.stdout.fnmatch_lines(["*sse_replay: tests/golden/test_app/not_recorded_yet.jsonl: no such file or "
                                 "directory (a marker's path is relative to where pytest runs; golden recordings are "
                                 "made with --sse-record --sse-upstream URL)*"])
    assert "InputError" not in result.stdout.str()


def test_record_saves_each_stream_of_a_test_in_call_order(tmp_path: Path) -> None:
    """The naming of --sse-record (the real recorder is run by the docs example test below)."""

    class Recorded:  # stands for the recorder: what it caught, oldest first
        output = ""

        def stop(self) -> list[Path]:
            return [CHAT, MESSAGES, CHAT]

    golden = tmp_path / "golden"
    (golden / "test_app").mkdir(parents=True)
    (golden / "test_app" / "test_x-4.jsonl").write_text("left from an older recording")
    session = _Session("record", golden, golden_name("test_app.py::TestX::test_x[a b]"), Recorded())
    session.finish()
    assert sorted(path.name for path in (golden / "test_app").iterdir()) == [
        "TestX.test_x_a_b-2.jsonl", "TestX.test_x_a_b-3.jsonl", "TestX.test_x_a_b.jsonl", "test_x-4.jsonl",
    ]
    assert golden_files(golden, Path("test_app/TestX.test_x_a_b"))[1].read_text() == MESSAGES.read_text()


def test_record_needs_an_upstream(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_app="def test_x(sse_replay):\n    pass\n")
    result = pytester.runpytest("--sse-record")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*--sse-record needs the real API's origin: --sse-upstream URL or the sse_upstream "
                                 "ini value"])


def test_the_helpers_fail_with_the_findings_and_the_diff(pytester: pytest.Pytester) -> None:
    broken = CORPUS / "anthropic-messages" / "anthropic-sdk-python__basic-text.sse"
    tool = CORPUS / "openai-responses" / "vercel-ai__function-call.sse"
    changed = pytester.path / "changed.sse"
    changed.write_text(tool.read_text().replace('"weather"', '"forecast"'))
    pytester.makepyfile(test_app=f'''
        from inspector.pytest_plugin import assert_same, assert_valid

        def test_valid():
            assert_valid({str(tool)!r}, strict=True)

        def test_invalid():
            assert_valid({str(broken)!r})

        def test_same():
            assert_same({str(tool)!r}, {str(tool)!r})

        def test_different():
            assert_same({str(tool)!r}, {str(changed)!r})
    ''')
    result = pytester.runpytest("-p", "no:randomly")
    result.assert_outcomes(passed=2, failed=2)
    result.stdout.fnmatch_lines([
        "*AssertionError: stream(s) failed validation:",
        "*anthropic-sdk-python__basic-text.sse  anthropic-messages  FAIL  * error*",  # the validate text report
        "*event 8  sse/unterminated-event*error: the body ended inside event 8 (`message_stop`)*",
    ])
    result.stdout.fnmatch_lines([
        f"*AssertionError: {changed} differs from {tool}:",
        '*tool call 0 weather: name: "weather" -> "forecast"',
    ])


def _doc_blocks(language: str) -> list[str]:
    text = (ROOT / "docs" / "pytest.md").read_text()
    return re.findall(rf"^```{language}\n(.*?)^```$", text, flags=re.M | re.S)


def _doc_command(line: str, upstream_url: str) -> list[str]:
    """A `pytest ...` line of docs/pytest.md as arguments: the API key assignment dropped, the API's origin
    replaced by the local stand-in."""
    words = [word for word in shlex.split(line) if not word.startswith("OPENAI_API_KEY=")]
    assert words[0] == "pytest"
    return [upstream_url if word.startswith("https://api.") else word for word in words[1:]]


@pytest.mark.slow
def test_the_docs_example_works_as_written(pytester: pytest.Pytester, upstream) -> None:
    [example] = [block for block in _doc_blocks("python") if block.startswith("# tests/test_chat.py\n")]
    record, replay, check = [block.strip() for block in _doc_blocks("sh")]
    pytester.makefile(".toml", pyproject='[project]\nname = "app"\nversion = "0"\n')  # a project root, as yours
    (pytester.path / "tests").mkdir()
    (pytester.path / "tests" / "test_chat.py").write_text(example)
    text = CORPUS / "openai-chat" / "openai-python__text-plain.sse"
    with upstream(text) as api:
        pytester.runpytest(*_doc_command(record, api.url)).assert_outcomes(passed=3)
        golden = pytester.path / "tests" / "golden" / "test_chat" / "test_answers.jsonl"
        header = json.loads(golden.read_text().splitlines()[0])
        assert (header["source"], header["protocol"]) == ("proxy", "openai-chat")
        pytester.runpytest(*_doc_command(check, api.url)).assert_outcomes(passed=3)
    cut_short = pytester.path / "length.sse"  # the API now stops at the token limit: the documented failure
    cut_short.write_text(text.read_text().replace('"finish_reason":"stop"', '"finish_reason":"length"'))
    with upstream(cut_short) as api:
        result = pytester.runpytest(*_doc_command(check, api.url))
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(["golden/test_chat/test_answers.jsonl: the fresh recording differs:",
                                 'status: "stop" -> "length"'])
    pytester.runpytest(*_doc_command(replay, "")).assert_outcomes(passed=3)  # no API at all now
