"""`probe --protocol gemini` against the real replay server playing Gemini corpus streams as the endpoint."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from inspector.inputs import open_source
from inspector.probe import DIALECTS, TOOL_NAME, Probe
from inspector.replay import Replay, ReplayServer

CORPUS = Path(__file__).parent / "fixtures" / "corpus" / "gemini-generate-content"
SECRET = "AIza-test-0123456789SECRET"
# fmt: off
ANSWERS = {                                                   # what a well-behaved endpoint streams, per scenario
    "text":           "pydantic-ai__text-multichunk.sse",
    "tool-call":      "pydantic-ai__function-call-single-chunk.sse",   # calls its own tool, not the probe's
    "usage":          "pydantic-ai__text-usage-service-tier.sse",
    "max-tokens":     "js-genai__vertex-max-tokens.sse",               # finishReason MAX_TOKENS
    "blocked-prompt": "generative-ai-js__prompt-blocked-safety.sse",   # promptFeedback.blockReason
}
# fmt: on


def at_the_limit(directory: Path) -> str:
    """The MAX_TOKENS stream with its usage brought to the probe's limit (the capture asked for 20 tokens)."""
    text = (CORPUS / ANSWERS["max-tokens"]).read_text()
    path = directory / "at-the-limit.sse"
    path.write_text(text.replace('"candidatesTokenCount": 20,"totalTokenCount": 26',
                                 '"candidatesTokenCount": 16,"totalTokenCount": 22'))
    return str(path)


def probe(tmp_path: Path, answers: dict[str, str], **overrides: str) -> list:
    files = [str(CORPUS / overrides.get(scenario, name)) for scenario, name in answers.items()]
    with ReplayServer(Replay.from_paths(files, speed=500)) as server:
        return list(Probe(server.url, "gemini", tmp_path, api_key=SECRET).run())


@pytest.mark.slow
def test_a_well_behaved_endpoint_passes_every_scenario_and_each_is_recorded(tmp_path: Path) -> None:
    results = probe(tmp_path, ANSWERS, **{"max-tokens": at_the_limit(tmp_path)})
    called = json.loads((CORPUS / ANSWERS["tool-call"]).read_text().split("data: ")[1])
    name = called["candidates"][0]["content"]["parts"][0]["functionCall"]["name"]
    assert [(r.scenario, r.verdict, r.notes, [f.rule for f in r.findings]) for r in results] == [
        ("text", "pass", [], []),
        ("tool-call", "warn", [f"tool call names `{name}`, not `{TOOL_NAME}`"], []),
        ("usage", "pass", [], []),
        ("max-tokens", "pass", [], []),
        ("blocked-prompt", "warn", [], ["gemini/prompt-blocked"]),
    ]
    for result in results:
        source = open_source(str(result.recording))
        header = source.header
        assert (header.source, header.protocol, header.status) == ("probe", "gemini", 200)
        assert header.path == "/v1beta/models/gemini-2.5-flash:streamGenerateContent"
        assert header.request["headers"]["x-goog-api-key"] == "…CRET"
        assert SECRET not in result.recording.read_text()
        assert [f.rule for f in source.validate().findings] == [f.rule for f in result.findings]
        assert source.end_reason == "complete"


@pytest.mark.slow
def test_an_endpoint_that_ignores_the_token_limit_fails(tmp_path: Path) -> None:
    results = probe(tmp_path, ANSWERS, **{"max-tokens": ANSWERS["usage"]})  # 115 tokens by its usage, then STOP
    (limit,) = [result for result in results if result.scenario == "max-tokens"]
    assert limit.verdict == "fail"
    assert limit.problems == ["asked for at most 16 tokens (`generationConfig.maxOutputTokens`), the stream ended "
                              "with `STOP`, not `MAX_TOKENS`: the endpoint ignores the limit, or reports a cut "
                              "answer as a finished one"]


def test_each_scenario_asks_for_what_it_names() -> None:
    dialect = DIALECTS["gemini"]
    bodies = {scenario.name: scenario.body("m") for scenario in dialect.scenarios}
    assert {name: sorted(body) for name, body in bodies.items()} == {
        "text": ["contents"], "tool-call": ["contents", "tools"], "usage": ["contents"],
        "max-tokens": ["contents", "generationConfig"], "blocked-prompt": ["contents", "safetySettings"]}
    assert bodies["tool-call"]["tools"][0]["functionDeclarations"][0]["name"] == TOOL_NAME
    assert Probe("https://generativelanguage.googleapis.com", "gemini", Path("."), model="gemini-2.0-flash").url == (
        "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.0-flash:streamGenerateContent?alt=sse")


@pytest.mark.slow
def test_probe_command_for_gemini(run_cli, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("GEMINI_API_KEY", SECRET)
    answers = {**{scenario: str(CORPUS / name) for scenario, name in ANSWERS.items()},
               "max-tokens": at_the_limit(tmp_path)}
    with ReplayServer(Replay.from_paths(list(answers.values()), speed=500)) as server:
        result = run_cli("probe", "--base-url", server.url, "--protocol", "gemini", "--out", str(tmp_path))
    assert result.code == 0
    assert "probe gemini at" in result.out and SECRET not in result.out + result.err


def test_an_answer_shorter_than_the_limit_is_a_note_not_a_failure(tmp_path: Path) -> None:
    """The text answer takes fewer tokens than the limit by its usage: it never met the limit."""
    results = probe(tmp_path, ANSWERS, **{"max-tokens": ANSWERS["text"]})
    (limit,) = [result for result in results if result.scenario == "max-tokens"]
    assert (limit.verdict, limit.problems) == ("warn", [])
    [note] = limit.notes
    assert note.endswith("under the limit of 16: whether the endpoint stops at the limit is not known")


def test_an_answer_longer_than_the_limit_that_ends_with_the_length_reason_fails(tmp_path: Path) -> None:
    """Found probing llama-cpp-python's server, which ignores the limit and runs on to its context's end: the length
    reason came from another limit. The capture here took 20 tokens by its usage, the probe asked for 16."""
    results = probe(tmp_path, ANSWERS)
    (limit,) = [result for result in results if result.scenario == "max-tokens"]
    assert (limit.verdict, limit.problems) == ("fail", [
        "asked for at most 16 tokens (`generationConfig.maxOutputTokens`), the answer took 20 by the stream's usage "
        "before `MAX_TOKENS`: the endpoint ignores the limit (another one ended it)"])
