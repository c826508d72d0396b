"""`sse-inspector diff`: output formats, directories, exit codes 0 / 1 / 2."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from xml.etree import ElementTree

import pytest

from inspector.recording import Header, RecordingWriter

CORPUS = Path(__file__).parent / "fixtures" / "corpus"
TOOL = CORPUS / "openai-responses" / "vercel-ai__function-call.sse"
TEXT = CORPUS / "anthropic-messages" / "vercel-ai__text.sse"


@pytest.fixture
def changed_tool(tmp_path: Path) -> Path:
    """The Responses tool-call stream calling `forecast` instead of `weather`."""
    path = tmp_path / "changed.sse"
    path.write_text(TOOL.read_text().replace('"weather"', '"forecast"'))
    return path


@pytest.fixture
def trees(tmp_path: Path, changed_tool: Path) -> tuple[Path, Path]:
    """golden/ and new/: one file the same, one changed, one on each side only."""
    golden, new = tmp_path / "golden", tmp_path / "new"
    for side in (golden, new):
        (side / "sub").mkdir(parents=True)
        shutil.copy(TEXT, side / "text.sse")
    shutil.copy(TOOL, golden / "sub" / "tool.sse")
    shutil.copy(changed_tool, new / "sub" / "tool.sse")
    shutil.copy(TEXT, golden / "gone.sse")
    shutil.copy(TEXT, new / "extra.sse")
    (new / "notes.md").write_text("not a stream")
    return golden, new


def test_same_exits_0(run_cli) -> None:
    result = run_cli("diff", str(TOOL), str(TOOL))
    assert (result.code, result.out, result.err) == (0, "no differences\n", "")


def test_a_difference_exits_1_and_names_it(run_cli, changed_tool: Path) -> None:
    result = run_cli("diff", str(TOOL), str(changed_tool))
    assert (result.code, result.err) == (1, "")
    assert result.out == 'tool call 0 weather: name: "weather" -> "forecast"\n'


def test_a_translation_is_held_to_its_upstream_across_protocols(run_cli, tmp_path: Path) -> None:
    """The same answer as Chat and as Gemini differs in protocol alone; a lost word shows as a text change."""

    def chat_chunk(delta: dict, finish: str | None = None) -> dict:
        return {"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m",
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}

    def gemini_chunk(text: str, finish: str | None = None) -> dict:
        candidate = {"content": {"role": "model", "parts": [{"text": text}]}}
        return {"candidates": [candidate | ({"finishReason": finish} if finish else {})]}

    def write(path: Path, chunks: list[dict], end: str = "\n\n", done: bool = False) -> Path:
        path.write_text("".join(f"data: {json.dumps(chunk)}{end}" for chunk in chunks)
                        + ("data: [DONE]\n\n" if done else ""))
        return path

    chat = write(tmp_path / "chat.sse", [chat_chunk({"role": "assistant", "content": "Hello"}),
                                         chat_chunk({"content": " there"}), chat_chunk({}, "stop")], done=True)
    gemini = write(tmp_path / "gemini.sse", [gemini_chunk("Hello"), gemini_chunk(" there", "STOP")], "\r\n\r\n")
    lossy = write(tmp_path / "lossy.sse", [gemini_chunk("Hello"), gemini_chunk("", "STOP")], "\r\n\r\n")
    same = run_cli("diff", str(chat), str(gemini))
    assert (same.code, same.out, same.err) == (1, 'protocol: "openai-chat" -> "gemini"\n', "")
    asked = run_cli("diff", "--usage", str(chat), str(gemini))  # ant2oai changes what usage counts: not unsaid
    assert asked.err == ("sse-inspector: note: --usage compares streams of one protocol only: each protocol counts "
                         "tokens its own way\n")
    lost = run_cli("diff", str(chat), str(lossy))
    assert lost.code == 1 and lost.out.splitlines()[1] == 'text: changed at char 5: "Hello there" -> "Hello"'


def _sse(event: str, data: dict) -> str:
    return f"event: {event}\ndata: {json.dumps(data)}\n\n"


_MESSAGE = {"id": "msg_1", "type": "message", "role": "assistant", "content": [], "model": "m", "stop_reason": None,
            "usage": {"input_tokens": 1, "output_tokens": 1}}
_ANTHROPIC_START = (_sse("message_start", {"type": "message_start", "message": _MESSAGE})
                    + _sse("content_block_start", {"type": "content_block_start", "index": 0,
                                                   "content_block": {"type": "text", "text": ""}})
                    + _sse("content_block_delta", {"type": "content_block_delta", "index": 0,
                                                   "delta": {"type": "text_delta", "text": "4"}}))
_ANTHROPIC_END = (_sse("content_block_stop", {"type": "content_block_stop", "index": 0})
                  + _sse("message_delta", {"type": "message_delta", "delta": {"stop_reason": "end_turn"},
                                           "usage": {"output_tokens": 2}})
                  + _sse("message_stop", {"type": "message_stop"}))
_OVERLOADED = _sse("error", {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}})
_BROKEN = "HTTP/1 protocol error: peer closed connection without sending complete message body"


def _chat(path: Path, tail: str = "data: [DONE]\n\n") -> Path:
    """Chat's answer "4", then `tail` (`[DONE]` by default)."""
    chunks = [{"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m",
               "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
              for delta, finish in (({"role": "assistant", "content": "4"}, None), ({}, "stop"))]
    path.write_text("".join(f"data: {json.dumps(chunk)}\n\n" for chunk in chunks) + tail)
    return path


def _recording(path: Path, body: str, reason: str = "complete", error: str | None = None,
               url: str = "http://gw/v1/messages") -> Path:
    """A gateway's answer (Anthropic's, or another at `url`) as the recorder writes it: `body` in one chunk, then
    the end line."""
    writer = RecordingWriter(path, Header(request={"method": "POST", "url": url},
                                          response={"status": 200, "headers": {"content-type": "text/event-stream"}}))
    writer.chunk(0.01, body.encode())
    writer.end(0.02, reason, error)
    return path


def test_a_translation_broken_off_mid_answer_differs_from_its_whole_upstream(run_cli, tmp_path: Path) -> None:
    """A gateway that crashed after the text "4" (the recorder's end: `upstream-closed`, every SDK raised) against
    its whole Chat upstream: `diff` said only that the protocols differ, as the finding that says so
    (`anthropic/terminal-missing`) is Anthropic's own. Whether the stream broke off is shared."""
    upstream = _chat(tmp_path / "upstream.sse")
    broken = _recording(tmp_path / "broken.jsonl", _ANTHROPIC_START, "upstream-closed", _BROKEN)
    result = run_cli("diff", str(upstream), str(broken))
    assert (result.code, result.err) == (1, "")
    assert result.out.splitlines() == [
        'protocol: "openai-chat" -> "anthropic-messages"',
        "cut short: false -> true",
        "    new: the server broke the connection (HTTP/1 protocol error: peer closed connection without sending "
        "complete message …), so the client's HTTP library raises (httpx: `RemoteProtocolError`) and the client knows "
        "the answer is cut"]
    reverse = json.loads(run_cli("diff", "--format", "json", str(broken), str(upstream)).out)
    assert reverse["files"][0]["differences"][1] == {
        "aspect": "status", "message": "cut short: true -> false",
        "detail": ["old: " + result.out.splitlines()[2].removeprefix("    new: ")]}
    whole = _recording(tmp_path / "whole.jsonl", _ANTHROPIC_START + _ANTHROPIC_END)
    assert run_cli("diff", str(upstream), str(whole)).out == 'protocol: "openai-chat" -> "anthropic-messages"\n'
    cut = _recording(tmp_path / "cut.jsonl", _chat(tmp_path / "x.sse", tail="").read_text(), "upstream-closed",
                     _BROKEN, url="http://up/v1/chat/completions")
    both = run_cli("diff", str(cut), str(broken))
    assert both.out == 'protocol: "openai-chat" -> "anthropic-messages"\n'  # both broke off: alike
    left = _recording(tmp_path / "left.jsonl", _ANTHROPIC_START, "client-disconnected", "client went away")
    assert run_cli("diff", str(upstream), str(left)).out.splitlines()[1:] == [
        "cut short: false -> true",
        "    new: the recording ended as `client-disconnected` before the stream did: the server never got to finish"]


def test_a_translation_that_fails_in_words_or_breaks_off_says_it_once(run_cli, tmp_path: Path) -> None:
    """An in-band error ends a stream as its protocol says: its own line (`error: ...`), never a cut as well; a
    gateway that stops short where its upstream failed in words says how on the error's line."""
    failed = _recording(tmp_path / "failed.jsonl", _ANTHROPIC_START + _OVERLOADED)
    assert run_cli("diff", str(_chat(tmp_path / "upstream.sse")), str(failed)).out.splitlines()[1:] == [
        'error: null -> "Overloaded"']
    whole = _chat(tmp_path / "whole.sse", tail="")  # Chat compat servers end so: finished, without `[DONE]`
    assert run_cli("diff", str(failed), str(whole)).out.splitlines()[1:] == ['error: "Overloaded" -> null']
    stopped = tmp_path / "stopped.sse"
    stopped.write_text(whole.read_text().split("\n\n")[0] + "\n\n")  # no finish reason, no `[DONE]`
    assert run_cli("diff", str(failed), str(stopped)).out.splitlines()[1:] == [
        'error: "Overloaded" -> null',
        "    new: the body ended before the protocol's last event, and no stop or finish reason said the answer was "
        "over"]


def test_a_server_tool_dropped_in_translation_is_named_so(run_cli, tmp_path: Path) -> None:
    """Anthropic's `server_tool_use` (run by Anthropic: `view`'s "server tool") has no Chat form, so a gateway drops
    it: `diff` said `missing` of it as of a call the client had to run. Still a difference (its record is gone), named
    as what it was, in text and JSON."""
    upstream = CORPUS / "anthropic-messages" / "vercel-ai__text-tool-use-and-server-tool-use.sse"
    text = ("I'll help you with this task. Let me start by reading the note tree to see the current structure, and "
            "then search for the right tools to add a bullet point.")
    call = {"index": 0, "id": "call_1", "type": "function",
            "function": {"name": "readNoteTree", "arguments": '{"noteId": "d10aa585-982b-4bd9-984e-420f9b3717f7"}'}}

    def chat(path: Path, *deltas: dict) -> Path:
        chunks = [{"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m",
                   "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
                  for delta, finish in ((deltas[0], None), *((delta, None) for delta in deltas[1:]),
                                        ({}, "tool_calls"))]
        path.write_text("".join(f"data: {json.dumps(chunk)}\n\n" for chunk in chunks) + "data: [DONE]\n\n")
        return path

    kept = chat(tmp_path / "kept.sse", {"role": "assistant", "content": text}, {"tool_calls": [call]})
    server_line = ('tool call 1 tool_search_tool_bm25 (server tool): missing (arguments "{\\"query\\": \\"add '
                   'bullet point insert text editor\\", \\"lim…)')
    result = run_cli("diff", str(upstream), str(kept))
    assert (result.code, result.out.splitlines()) == (1, ['protocol: "anthropic-messages" -> "openai-chat"',
                                                          server_line])
    messages = [d["message"] for d in json.loads(run_cli("diff", "--format", "json", str(upstream),
                                                          str(kept)).out)["files"][0]["differences"]]
    assert messages[1] == server_line
    lost = chat(tmp_path / "lost.sse", {"role": "assistant", "content": text})
    assert run_cli("diff", str(upstream), str(lost)).out.splitlines()[1:] == [
        'tool call 0 readNoteTree: missing (arguments "{\\"noteId\\": \\"d10aa585-982b-4bd9-984e-420f9b3717f7\\"}")',
        server_line]


def test_directories_pair_files_by_relative_name(run_cli, trees: tuple[Path, Path]) -> None:
    golden, new = trees
    result = run_cli("diff", str(golden), str(new))
    assert result.code == 1
    assert result.out.splitlines() == [
        "file          result       differences",
        "extra.sse     only in new",
        "gone.sse      only in old",
        "sub/tool.sse  different    1",
        "text.sse      same",
        "",
        "== sub/tool.sse ==",
        '  tool call 0 weather: name: "weather" -> "forecast"',
        "",
        "4 files: 1 same, 1 different, 2 on one side only",
    ]


def test_identical_directories_exit_0(run_cli, tmp_path: Path) -> None:
    shutil.copytree(CORPUS / "anthropic-messages", tmp_path / "copy")
    result = run_cli("diff", str(CORPUS / "anthropic-messages"), str(tmp_path / "copy"))
    assert result.code == 0
    assert result.out.splitlines()[-1] == "18 files: 18 same, 0 different"


def test_a_directory_against_a_file_takes_the_file_of_the_same_name(run_cli, trees: tuple[Path, Path]) -> None:
    golden, new = trees
    result = run_cli("diff", str(golden), str(new / "text.sse"))
    assert (result.code, result.out) == (0, "no differences\n")


def test_json_format(run_cli, trees: tuple[Path, Path]) -> None:
    golden, new = trees
    result = run_cli("diff", "--format", "json", str(golden / "sub"), str(new / "sub"))
    assert result.code == 1
    assert json.loads(result.out) == {
        "same": False,
        "files": [{
            "name": "tool.sse", "old": str(golden / "sub" / "tool.sse"), "new": str(new / "sub" / "tool.sse"),
            "result": "different",
            "differences": [{"aspect": "tool_calls", "detail": [],
                             "message": 'tool call 0 weather: name: "weather" -> "forecast"'}],
            "timing": {"old": {"ttft": None, "duration": None}, "new": {"ttft": None, "duration": None}},
        }],
    }


def test_junit_format_has_a_failing_case_per_differing_file(run_cli, trees: tuple[Path, Path]) -> None:
    golden, new = trees
    result = run_cli("diff", "--format", "junit", str(golden), str(new))
    assert result.code == 1
    suite = ElementTree.fromstring(result.out.split("\n", 1)[1])
    assert (suite.tag, suite.get("tests"), suite.get("failures")) == ("testsuite", "4", "3")
    cases = {case.get("name"): case.find("failure") for case in suite.iter("testcase")}
    assert {name: None if failure is None else failure.get("message") for name, failure in cases.items()} == {
        "extra.sse": "only in new", "gone.sse": "only in old", "sub/tool.sse": "1 difference", "text.sse": None,
    }
    assert cases["sub/tool.sse"].text == 'tool call 0 weather: name: "weather" -> "forecast"'


def test_usage_flag(run_cli, tmp_path: Path) -> None:
    more = tmp_path / "more.sse"
    more.write_text(TEXT.read_text().replace('"output_tokens":30', '"output_tokens":31'))
    assert run_cli("diff", str(TEXT), str(more)).code == 0
    result = run_cli("diff", "--usage", str(TEXT), str(more))
    assert (result.code, result.out) == (1, "usage.output_tokens  30 -> 31\n")


@pytest.mark.parametrize(
    ("args", "error"),
    [
        pytest.param(["missing.sse", str(TOOL)], "sse-inspector: error: missing.sse: no such file or directory",
                     id="missing-file"),
        pytest.param(["-", "-"], "sse-inspector: error: -: only one side can be stdin", id="stdin-twice"),
        pytest.param(["--timing-tolerance", "-5", str(TOOL), str(TOOL)],
                     "sse-inspector: error: Invalid value for '--timing-tolerance': expected PCT or PCT%,FLOOR "
                     "(such as 50%,100ms), got '-5'",
                     id="negative-tolerance"),
        pytest.param(["--timing-tolerance", "50%,5", str(TOOL), str(TOOL)],
                     "sse-inspector: error: Invalid value for '--timing-tolerance': expected PCT or PCT%,FLOOR "
                     "(such as 50%,100ms), got '50%,5' (the floor needs its unit: ms or s)",
                     id="floor-without-unit"),
    ],
)
def test_unusable_input_exits_2_with_one_line(run_cli, args: list[str], error: str) -> None:
    result = run_cli("diff", *args)
    assert (result.code, result.out, result.err.splitlines()[-1]) == (2, "", error)


def test_a_file_that_is_not_a_stream_exits_2(run_cli, tmp_path: Path) -> None:
    junk = tmp_path / "junk.sse"
    junk.write_bytes(b"\x7fELF\x02\x01\x01\x00\x00\x00")
    result = run_cli("diff", str(TOOL), str(junk))
    assert (result.code, result.err) == (
        2, f"sse-inspector: error: {junk}:1: binary data, neither a recording nor an SSE stream\n")


def test_stdin_on_one_side(run_cli) -> None:
    result = run_cli("diff", str(TOOL), "-", stdin=TOOL.read_bytes())
    assert (result.code, result.out) == (0, "no differences\n")


@pytest.mark.parametrize(
    ("flags", "code", "out"),
    [
        pytest.param([], 1, "text: changed at char 7: "
                            '"Hello! I\'m doing well, than…" -> "Hello! Good day! I\'m doing …"', id="text-counts"),
        pytest.param(["--ignore-text"], 0, "no differences", id="ignore-text"),
    ],
)
def test_ignore_text_flag(run_cli, tmp_path: Path, flags: list[str], code: int, out: str) -> None:
    other = tmp_path / "other.sse"
    other.write_text(TEXT.read_text().replace('"text":"Hello"', '"text":"Hello! Good day"', 1))
    result = run_cli("diff", *flags, str(TEXT), str(other))
    assert (result.code, result.out.splitlines()[0]) == (code, out)


def test_protocol_generic_compares_the_event_sequence_only(run_cli, changed_tool: Path) -> None:
    result = run_cli("diff", "--protocol", "generic", str(TOOL), str(changed_tool))
    assert (result.code, result.out) == (0, "no differences\n")


def _break(path: Path) -> None:
    """A recording whose second line was cut by a bad merge (the header stays whole)."""
    header = '{"kind":"header","format":"sse-recording","version":1,"request":{},"response":null}\n'
    path.write_text(header + '{"kind":"chunk","t":0.1,"te\n{"kind":"end","t":0.2,"reason":"complete"}\n')


def test_a_broken_file_in_a_directory_is_reported_and_the_others_still_compared(run_cli, trees) -> None:
    golden, new = trees
    _break(golden / "broken.jsonl")
    shutil.copy(CORPUS.parent.parent.parent / "recordings" / "examples" / "openai-chat-parallel-tool-calls.jsonl",
                new / "broken.jsonl")
    result = run_cli("diff", str(golden), str(new))
    problem = result.err.removeprefix("sse-inspector: error: ").rstrip("\n")
    assert (result.code, result.err.count("\n")) == (2, 1)
    assert problem.startswith(f"{golden / 'broken.jsonl'}:2: broken recording line (")
    assert result.out.splitlines() == [
        "file          result       differences",
        "broken.jsonl  unreadable",
        "extra.sse     only in new",
        "gone.sse      only in old",
        "sub/tool.sse  different    1",
        "text.sse      same",
        "",
        "== broken.jsonl ==",
        f"  {problem}",
        "",
        "== sub/tool.sse ==",
        '  tool call 0 weather: name: "weather" -> "forecast"',
        "",
        "5 files: 1 same, 1 different, 2 on one side only, 1 unreadable",
    ]


def test_a_broken_file_is_a_junit_error_and_a_json_result(run_cli, trees) -> None:
    golden, new = trees
    _break(new / "text.sse")
    junit = run_cli("diff", "--format", "junit", str(golden), str(new))
    suite = ElementTree.fromstring(junit.out.split("\n", 1)[1])
    assert (junit.code, suite.get("tests"), suite.get("failures"), suite.get("errors")) == (2, "4", "3", "1")
    error = next(case for case in suite.iter("testcase") if case.get("name") == "text.sse").find("error")
    assert error.text.startswith(f"{new / 'text.sse'}:2: broken recording line")
    files = json.loads(run_cli("diff", "--format", "json", str(golden), str(new)).out)["files"]
    assert {file["name"]: file["result"] for file in files} == {
        "extra.sse": "only in new", "gone.sse": "only in old", "sub/tool.sse": "different", "text.sse": "unreadable",
    }


def test_directories_with_no_file_in_common_say_how_they_are_paired(run_cli, tmp_path: Path) -> None:
    """Two recorder directories never pair by name (each name carries its time and id): the summary says why
    nothing was compared, not '0 same, 2 different'."""
    stream = Path(__file__).parent / "fixtures" / "corpus" / "openai-chat" / "openai-python__text-plain.sse"
    for side, name in (("old", "20261205-225843.092-openai-chat-501f3cb3.sse"),
                       ("new", "20261205-230102.417-openai-chat-9c0e22aa.sse")):
        (tmp_path / side).mkdir()
        (tmp_path / side / name).write_bytes(stream.read_bytes())
    result = run_cli("diff", str(tmp_path / "old"), str(tmp_path / "new"))
    assert result.code == 1
    assert result.out.splitlines()[-2:] == [
        "2 files: 0 same, 0 different, 2 on one side only",
        "no file has a namesake on the other side: directories are paired by file name, and the recorder's names "
        "carry their time and id; compare two files, or name them alike"]


def test_a_choice_one_stream_lacks_is_said_missing_not_a_null_finish(run_cli, tmp_path: Path) -> None:
    """langchain-openai-api-bridge folds `n: 3` into choice 0: choices 1 and 2 never came, which diff said as
    `finish reason (choice 1): "stop" -> null` and an emptied text."""
    corpus = Path(__file__).parent / "fixtures" / "corpus" / "openai-chat" / "openai-python__n3-multiple-choices.sse"
    events = corpus.read_bytes().split(b"\n\n")
    only_first = b"\n\n".join(event for event in events if b'"index":1' not in event and b'"index":2' not in event
                              and b'"index": 1' not in event and b'"index": 2' not in event)
    (tmp_path / "one.sse").write_bytes(only_first)
    lines = run_cli("diff", str(corpus), str(tmp_path / "one.sse")).out.splitlines()
    assert [line for line in lines if line.startswith("choice ")] == [
        'choice 1: missing (text of 53 characters, finish reason "stop")',
        'choice 2: missing (text of 53 characters, finish reason "stop")']
    assert not [line for line in lines if "(choice 1)" in line or "(choice 2)" in line], lines
