"""Inputs that used to end in a traceback (found by fuzzing): one line and exit 2 for every command, or a finding
where the validator already makes one; `ls` lists the good files and names the broken one."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

CORPUS = Path(__file__).parent / "fixtures" / "corpus"
GOOD = CORPUS / "openai-chat" / "openai-python__text-plain.sse"
DEEP = "[" * 100_000 + "]" * 100_000


def _header(**changes: object) -> dict:
    header = {"kind": "header", "format": "sse-recording", "version": 1, "id": "r", "started_at": "2026-01-01T00:00Z",
              "source": "proxy", "protocol": None,
              "request": {"method": "POST", "url": "http://127.0.0.1/v1/chat/completions", "headers": {}},
              "response": {"status": 200, "headers": {"content-type": "text/event-stream"}}}
    return {**header, **changes}


def _recording(header: str, *lines: str) -> bytes:
    chunk = json.dumps({"kind": "chunk", "t": 0.1, "text": GOOD.read_text()})
    return "\n".join([header, chunk, *lines, ""]).encode()


BROKEN = {
    "deep-header": (_recording(json.dumps(_header())[:-1] + f', "x": {DEEP}}}'),
                    "broken.jsonl:1: JSON nested too deeply to read"),
    "deep-chunk-line": (_recording(json.dumps(_header()), f'{{"kind": "chunk", "t": 1, "x": {DEEP}}}'),
                        "broken.jsonl:3: broken recording line (JSON nested too deeply to read)"),
    "bad-ipv6-url": (_recording(json.dumps(_header(request={"method": "POST", "url": "http://[::1/x"}))),
                     "broken.jsonl:1: broken recording header (`request.url` is not a URL (Invalid IPv6 URL))"),
    "integer-started-at": (_recording(json.dumps(_header(started_at=1733300000))),
                           "broken.jsonl:1: broken recording header (`started_at` must be a string)"),
}
COMMANDS = [["events"], ["validate"], ["view"], ["view", "--json"], ["diff", str(GOOD)]]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda command: "-".join(command[:2]).replace(str(GOOD), "good"))
@pytest.mark.parametrize("case", sorted(BROKEN))
def test_a_broken_recording_is_one_line_and_exit_2(run_cli, tmp_path: Path, case: str, command: list[str]) -> None:
    content, message = BROKEN[case]
    path = tmp_path / "broken.jsonl"
    path.write_bytes(content)
    result = run_cli(*command, str(path))
    assert (result.code, result.err) == (2, f"sse-inspector: error: {tmp_path}/{message}\n")


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_ls_lists_the_good_files_and_names_the_broken_one(run_cli, tmp_path: Path, case: str) -> None:
    content, message = BROKEN[case]
    (tmp_path / "broken.jsonl").write_bytes(content)
    (tmp_path / "good.sse").write_bytes(GOOD.read_bytes())
    result = run_cli("ls", "--json", str(tmp_path))
    rows = {Path(row["path"]).name: row for row in map(json.loads, result.out.splitlines())}
    assert result.code == 0
    assert (rows["good.sse"]["verdict"], rows["good.sse"]["problem"]) == ("pass", None)
    assert (rows["broken.jsonl"]["verdict"], rows["broken.jsonl"]["problem"]) == ("unreadable",
                                                                                  f"{tmp_path}/{message}")
    table = run_cli("ls", str(tmp_path))
    assert table.code == 0 and "unreadable" in table.out and "pass" in table.out


def test_diff_against_deeply_nested_event_json_reports_the_finding(run_cli, tmp_path: Path) -> None:
    """`validate` makes this input a finding (sse/json-too-deep); `diff` shows that finding as the difference."""
    path = tmp_path / "deep.sse"
    path.write_bytes(GOOD.read_bytes() + f"data: {DEEP}\n\n".encode())
    result = run_cli("diff", str(GOOD), str(path))
    assert result.code == 1 and result.err == ""
    assert "new finding: sse/json-too-deep (error) at event 34" in result.out


def test_tool_arguments_nested_too_deeply_to_lay_out_are_shown_as_streamed(run_cli, tmp_path: Path) -> None:
    call = {"index": 0, "id": "call_1", "type": "function", "function": {"name": "f", "arguments": DEEP}}
    chunk = {"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m",
             "choices": [{"index": 0, "delta": {"tool_calls": [call]}, "finish_reason": None}]}
    path = tmp_path / "deep-arguments.sse"
    path.write_text(f"data: {json.dumps(chunk)}\n\n")
    result = run_cli("view", str(path))
    assert result.code in (0, 1) and result.err == ""
    assert "nests too deeply to lay out as JSON:" in result.out


@pytest.mark.parametrize("command", ["validate", "view", "events"])
def test_a_path_that_cannot_be_reached_says_why(run_cli, tmp_path: Path, command: str) -> None:
    """A symlink loop and a broken link are not "no such file": the user looks for the wrong thing."""
    (tmp_path / "loop-a").symlink_to(tmp_path / "loop-b")
    (tmp_path / "loop-b").symlink_to(tmp_path / "loop-a")
    (tmp_path / "dangling.sse").symlink_to(tmp_path / "moved.sse")
    for name, why in [("loop-a", "too many levels of symbolic links"),
                      ("dangling.sse", "no such file or directory (a link to a path that does not exist)"),
                      ("absent.sse", "no such file or directory")]:
        result = run_cli(command, str(tmp_path / name))
        assert (result.code, result.err) == (2, f"sse-inspector: error: {tmp_path / name}: {why}\n")
