"""The pytest plugin, run by pytest itself (`pytester`): replay, record, check, faults, and the two helpers.

The inner test files are what a user writes: the official openai and anthropic SDKs pointed at `sse_replay`.
For --sse-record and --sse-check the "real API" is a replay server on 127.0.0.1 serving an example recording.
"""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import anthropic  # noqa: F401  (imported here once: pytester's in-process runs then reuse it, not re-import it)
import httpx  # noqa: F401
import openai  # noqa: F401
import pytest

from inspector.protocols import load_all_rules
from inspector.replay import Replay, ReplayServer

pytest_plugins = ["pytester"]
load_all_rules()  # NOTE: in-process runs drop the modules they imported; a protocol re-imported would register twice

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "recordings" / "examples"
CHAT = EXAMPLES / "openai-chat-parallel-tool-calls.jsonl"
MESSAGES = EXAMPLES / "anthropic-messages-tool-use.jsonl"
CORPUS = ROOT / "tests" / "fixtures" / "corpus"

CHAT_TEST = '''
import openai

def stream_tools(base_url):
    client = openai.OpenAI(base_url=f"{base_url}/v1", api_key="sk-test-0123-SECRETVALUE-wxyz", max_retries=0)
    stream = client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "hi"}],
                                            stream=True)
    return [call.function.name for chunk in stream if chunk.choices
            for call in chunk.choices[0].delta.tool_calls or [] if call.function.name]

def test_chat(sse_replay):
    assert stream_tools(sse_replay)[0] == "GetWeatherArgs"
    assert stream_tools(sse_replay)[0] == "GetWeatherArgs"
'''


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
    ''')
    result = pytester.runpytest("-p", "no:randomly")
    result.assert_outcomes(passed=3, errors=1)
    result.stdout.fnmatch_lines(["*no golden recording for this test (*test_app/test_new.jsonl): record it with "
                                 "--sse-record --sse-upstream URL*"])


@pytest.mark.slow
def test_record_then_replay_then_check(pytester: pytest.Pytester, upstream) -> None:
    pytester.makepyfile(test_app=CHAT_TEST)
    with upstream(CHAT) as api:
        pytester.runpytest("--sse-record", "--sse-upstream", api.url).assert_outcomes(passed=1)
    golden = pytester.path / "tests" / "golden" / "test_app"
    assert sorted(path.name for path in golden.iterdir()) == ["test_chat-2.jsonl", "test_chat.jsonl"]
    header = json.loads((golden / "test_chat.jsonl").read_text().splitlines()[0])
    assert (header["source"], header["request"]["headers"]["Authorization"]) == ("proxy", "Bearer …wxyz")

    pytester.runpytest().assert_outcomes(passed=1)  # no upstream now: the golden recordings are replayed

    changed = pytester.path / "changed.jsonl"
    changed.write_text(CHAT.read_text().replace("get_stock_price", "get_share_price"))
    with upstream(changed) as api:  # the test's own asserts pass: only the check sees the change
        result = pytester.runpytest("--sse-check", "--sse-upstream", api.url)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([
        "*.jsonl differs from *test_app/test_chat.jsonl:",
        '*tool call 1 get_stock_price: name: "get_stock_price" -> "get_share_price"',
    ])
    with upstream(CHAT) as api:
        pytester.runpytest("--sse-check", "--sse-upstream", api.url).assert_outcomes(passed=1)


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
        "*event 8  sse/unterminated-event*error: the stream ended inside event 8 (`message_stop`)*",
    ])
    result.stdout.fnmatch_lines([
        f"*AssertionError: {changed} differs from {tool}:",
        '*tool call 0 weather: name: "weather" -> "forecast"',
    ])
