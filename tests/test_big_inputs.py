"""Big inputs stay cheap: a fault repeated on every event is listed a few times and counted (memory stays flat), and
a huge text is cut in the terminal view with a marker (the JSON view keeps it whole). Figures: bench/big_inputs.py."""

from __future__ import annotations

import json
import re
from pathlib import Path

from inspector.findings import LISTED_PER_RULE, Finding, RuleCap, Severity
from inspector.report import FileResult
from inspector.validate import StreamCheck
from inspector.view.render import TEXT_LIMIT


def test_a_rule_lists_its_first_findings_and_counts_the_rest() -> None:
    cap = RuleCap(limit=2)
    found = [Finding("sse/invalid-json", Severity.ERROR, index, f"event {index}") for index in range(5)]
    other = Finding("sse/no-events", Severity.ERROR, None, "none")
    assert [cap.admit(finding) for finding in [*found, other]] == [True, True, False, False, False, True]
    assert cap.unlisted() == [Finding(
        "sse/invalid-json", Severity.ERROR, 2,
        "3 more `sse/invalid-json` findings from here on are not listed (a rule lists its first 2); "
        "the first of them: event 2", count=3,
    )]


def test_the_entry_for_the_unlisted_findings_counts_them_all() -> None:
    result = FileResult("x.sse", "generic", [Finding("a/b", Severity.ERROR, 0, "m"),
                                             Finding("a/b", Severity.ERROR, 1, "n", count=41)], events=42)
    assert (result.errors, result.warnings) == (42, 0)
    assert result.findings[1].to_json()["count"] == 41 and "count" not in result.findings[0].to_json()


def test_findings_stay_few_however_long_the_stream_repeats_a_fault() -> None:
    check = StreamCheck("openai-chat")
    for _ in range(200):
        check.feed(b"data: x\xff\n\n" * 50)  # a non-JSON event with a byte that is not UTF-8, 10,000 times
        assert len(check.findings) <= 2 * LISTED_PER_RULE + 1 and check.parser.problems == []
    findings = check.close()
    assert sorted((f.rule, f.count) for f in findings if f.count > 1) == [("sse/invalid-json", 9_980),
                                                                          ("sse/invalid-utf8", 9_980)]
    assert sum(f.count for f in findings if f.rule == "sse/invalid-json") == 10_000


def test_validate_json_lists_the_first_findings_and_the_true_totals(run_cli, tmp_path: Path) -> None:
    path = tmp_path / "many.sse"
    path.write_bytes(b"data: x\n\n" * 1000)
    result = run_cli("validate", "--format", "json", str(path))
    report = json.loads(result.out)["files"][0]
    invalid = [f for f in report["findings"] if f["rule"] == "sse/invalid-json"]
    assert result.code == 1 and report["errors"] == sum(f.get("count", 1) for f in report["findings"])
    assert [f["index"] for f in invalid] == [*range(LISTED_PER_RULE), LISTED_PER_RULE]
    assert invalid[-1]["count"] == 1000 - LISTED_PER_RULE
    assert invalid[-1]["message"].startswith(f"{1000 - LISTED_PER_RULE} more `sse/invalid-json` findings")


def test_diff_compares_the_true_counts(run_cli, tmp_path: Path) -> None:
    old, new = tmp_path / "old.sse", tmp_path / "new.sse"
    old.write_bytes(b"data: x\n\n" * 300)
    new.write_bytes(b"data: x\n\n" * 400)
    result = run_cli("diff", str(old), str(new))
    assert "more findings (300 -> 400): sse/invalid-json" in result.out


def _long_answer(path: Path, text: str) -> Path:
    def chunk(delta: dict, finish: str | None = None) -> str:
        body = {"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m",
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
        return f"data: {json.dumps(body)}\n\n"

    path.write_text(chunk({"role": "assistant", "content": text}) + chunk({}, "stop") + "data: [DONE]\n\n")
    return path


def test_the_terminal_view_cuts_a_huge_text_with_a_marker(run_cli, tmp_path: Path) -> None:
    text = "a" * (TEXT_LIMIT - 1) + "Z" + "b" * 1234
    path = _long_answer(tmp_path / "long.sse", text)
    shown = run_cli("view", str(path)).out
    flat = re.sub(r"[│\s]+", " ", shown)  # the panel's borders and line breaks
    assert ("aZ … 1,234 more characters not shown here (`view --json` shows the whole text)"
            in flat)
    assert "b" not in flat.replace("verdict", "")
    assert json.loads(run_cli("view", "--json", str(path)).out)["text"] == text


def test_a_text_within_the_limit_is_shown_whole(run_cli, tmp_path: Path) -> None:
    path = _long_answer(tmp_path / "short.sse", "x" * 300 + "END")
    shown = run_cli("view", str(path)).out
    assert "END" in shown and "not shown here" not in shown
