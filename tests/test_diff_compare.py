"""`diff` building blocks: event kinds and runs, JSON and text comparison, and `compare` over digests."""

from __future__ import annotations

import json

import pytest

from inspector.diff.compare import Difference, Digest, FindingTally, Options, compare, parse_tolerance
from inspector.diff.events import Run, RunCollector, chat_kind, compare_runs, event_kind
from inspector.diff.values import first_change, json_changes, unified
from inspector.findings import Finding, Severity
from inspector.protocols.base import Assembly, Output, ToolCall
from inspector.sse import Event


def _event(data: str, kind: str = "message", index: int = 0) -> Event:
    return Event(index, kind, data, None, 0, None)


def _chunk(delta: dict | None = None, finish: str | None = None, **top) -> str:
    choices = [] if delta is None else [{"index": 0, "delta": delta, "finish_reason": finish}]
    return json.dumps({"id": "chatcmpl-1", "object": "chat.completion.chunk", "choices": choices, **top})


# -- event kinds -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "data", "expected"),
    [
        pytest.param("response.output_text.delta", '{"type": "x"}', "response.output_text.delta", id="sse-type-wins"),
        pytest.param("message", '{"type": "message_start"}', "message_start", id="data-type"),
        pytest.param("message", "[DONE]", "[DONE]", id="done"),
        pytest.param("message", "not json", "message", id="not-json"),
        pytest.param("message", "[1, 2]", "message", id="not-an-object"),
        pytest.param("message", '{"error": {"message": "boom"}}', "error", id="bare-error"),
        pytest.param("error", '{"error": {"message": "boom"}}', "error", id="groq-error-event"),
        pytest.param("message", _chunk({"role": "assistant", "content": ""}), "chunk:role", id="chat-role-empty-text"),
        pytest.param("message", _chunk({"content": "Hi"}), "chunk:content", id="chat-content"),
        pytest.param("message", _chunk({"reasoning_content": "hm"}), "chunk:reasoning", id="chat-deepseek-reasoning"),
        pytest.param("message", _chunk({"refusal": "no"}), "chunk:refusal", id="chat-refusal"),
        pytest.param("message", _chunk({"tool_calls": [{"index": 0}]}), "chunk:tool_calls", id="chat-tool-calls"),
        pytest.param("message", _chunk({}, "stop"), "chunk:finish", id="chat-finish"),
        pytest.param("message", _chunk(usage={"total_tokens": 3}), "chunk:usage", id="chat-usage"),
        pytest.param("message", _chunk({}, "stop", usage={"total_tokens": 3}), "chunk:finish+usage",
                     id="chat-finish-with-usage"),
        pytest.param("message", _chunk({"content": "."}, "stop"), "chunk:content+finish", id="chat-mistral-last"),
        pytest.param("message", _chunk(usage=None, obfuscation="abc"), "chunk:empty", id="chat-empty"),
    ],
)
def test_event_kind(kind: str, data: str, expected: str) -> None:
    assert event_kind(_event(data, kind)) == expected


def test_chat_kind_unions_the_parts_of_every_choice() -> None:
    chunk = {"choices": [{"index": 0, "delta": {"content": "a"}}, {"index": 1, "delta": {}, "finish_reason": "stop"}]}
    assert chat_kind(chunk) == "chunk:content+finish"


def test_runs_collapse_repeats_and_skip_pings() -> None:
    kinds = ["message_start", "ping", "content_block_delta", "content_block_delta", "ping", "content_block_delta",
             "message_stop"]
    collector = RunCollector()
    collector.add(_event("{}", kind, index) for index, kind in enumerate(kinds))
    assert collector.runs == [Run("message_start", 1, 0), Run("content_block_delta", 3, 2), Run("message_stop", 1, 6)]


def _runs(*spec: tuple[str, int]) -> list[Run]:
    runs, index = [], 0
    for kind, count in spec:
        runs.append(Run(kind, count, index))
        index += count
    return runs


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        pytest.param(_runs(("a", 1), ("delta", 31), ("done", 1)), _runs(("a", 1), ("delta", 2), ("done", 1)), [],
                     id="run-length-never-counts"),
        pytest.param(_runs(("a", 1), ("delta", 31), ("done", 1), ("end", 1)),
                     _runs(("a", 1), ("delta", 30), ("end", 1)),
                     ["done missing after delta ×31 (old event 32)"], id="missing"),
        pytest.param(_runs(("a", 1), ("end", 1)), _runs(("a", 1), ("x", 1), ("y", 2), ("end", 1)),
                     ["x, y added after a (new event 1)"], id="added"),
        pytest.param(_runs(("a", 1), ("end", 1)), _runs(("b", 1), ("end", 1)),
                     ["b instead of a at the start (old event 0, new event 0)"], id="replaced"),
        pytest.param(_runs(*[(str(n), 1) for n in range(6)]), _runs(("0", 1)),
                     ["1, 2, 3, 4 and 1 more missing after 0 (old event 1)"], id="long-list-cut"),
    ],
)
def test_compare_runs(old: list[Run], new: list[Run], expected: list[str]) -> None:
    assert list(compare_runs(old, new)) == expected


# -- values ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        pytest.param('{"a": 1, "b": [1, 2]}', '{"b":[1,2],"a":1}', [], id="key-order-and-spacing"),
        pytest.param('{"city": "Paris"}', '{"city": "Lyon"}', ['arguments.city  "Paris" -> "Lyon"'], id="value"),
        pytest.param('{"n": 1}', '{"n": 1.0}', [], id="same-number"),
        pytest.param('{"n": 1}', '{"n": true}', ["arguments.n  1 -> true"], id="bool-is-not-int"),
        pytest.param('{"n": "1"}', '{"n": 1}', ['arguments.n  "1" -> 1'], id="string-is-not-int"),
        pytest.param('{"a": 1}', '{"b": 1}', ["arguments.a removed (was 1)", "arguments.b added: 1"], id="keys"),
        pytest.param('{"xs": [1, {"k": 2}]}', '{"xs": [1, {"k": 3}, 4]}',
                     ["arguments.xs[1].k  2 -> 3", "arguments.xs[2] added: 4"], id="nested-list"),
        pytest.param('{"a b": 1}', '{"a b": 2}', ['arguments["a b"]  1 -> 2'], id="odd-key"),
        pytest.param('{"a": 1}', "[1]", ['arguments  {"a": 1} -> [1]'], id="type"),
    ],
)
def test_json_changes(old: str, new: str, expected: list[str]) -> None:
    assert list(json_changes(json.loads(old), json.loads(new), "arguments")) == expected


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("The weather in Paris is sunny.", "The weather in Lyon is sunny.",
         'at char 15: "The weather in Paris is sunny." -> "The weather in Lyon is sunny."'),
        ("abc", "abcd", 'at char 3: "abc" -> "abcd"'),
        ("x" * 50 + "A" + "y" * 50, "x" * 50 + "B" + "y" * 50,
         f'at char 50: "…{"x" * 20}A{"y" * 19}…" -> "…{"x" * 20}B{"y" * 19}…"'),
    ],
)
def test_first_change(old: str, new: str, expected: str) -> None:
    assert first_change(old, new) == expected


def test_unified_diff_of_text() -> None:
    assert unified("one\ntwo\nthree", "one\n2\nthree", "text") == [
        "--- old text", "+++ new text", "@@ -1,3 +1,3 @@", " one", "-two", "+2", " three",
    ]


# -- compare -----------------------------------------------------------------------------------------------------


def _digest(
    text: str = "Hello",
    calls: tuple[ToolCall, ...] = (),
    findings: tuple[Finding, ...] = (),
    status: str | None = "completed",
    usage: dict | None = None,
    times: tuple[float | None, float | None] = (None, None),
    protocol: str = "openai-responses",
) -> Digest:
    assembly = Assembly(protocol, status=status, usage=usage,
                        outputs={0: Output(0, text_parts=[text], tool_calls=list(calls))})
    tallies: dict[str, FindingTally] = {}
    for finding in findings:
        known = tallies.get(finding.rule)
        tallies[finding.rule] = FindingTally(known.count + 1, known.first) if known else FindingTally(1, finding)
    runs = [Run("response.created", 1, 0), Run("response.completed", 1, 1)]
    return Digest("x", assembly, tallies, runs, 200, times[0], times[1])


def _warning(index: int, message: str = "odd") -> Finding:
    return Finding("responses/odd-thing", Severity.WARNING, index, message)


def _messages(old: Digest, new: Digest, options: Options | None = None) -> list[tuple[str, str]]:
    return [(difference.aspect, difference.message) for difference in compare(old, new, options or Options())]


def test_a_digest_equals_itself() -> None:
    digest = _digest(calls=(ToolCall("call_1", "f", '{"a": 1}'),), findings=(_warning(3),), usage={"t": 1})
    assert compare(digest, digest, Options(usage=True, timing_tolerance=0)) == []


def test_tool_call_ids_never_count() -> None:
    assert _messages(_digest(calls=(ToolCall("call_1", "f", '{"a": 1}'),)),
                     _digest(calls=(ToolCall("call_2", "f", '{ "a" : 1 }'),))) == []


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        pytest.param([ToolCall("1", "get_weather", '{"city": "Paris"}')],
                     [ToolCall("1", "get_weather", '{"city": "Lyon"}')],
                     ['tool call 0 get_weather: arguments.city  "Paris" -> "Lyon"'], id="argument"),
        pytest.param([ToolCall("1", "f", "{}")], [ToolCall("1", "g", "{}")], ['tool call 0 f: name: "f" -> "g"'],
                     id="name"),
        pytest.param([ToolCall("1", "f", "{}")], [ToolCall("1", "f", "{}", kind="custom_tool_call")],
                     ['tool call 0 f: kind: "function" -> "custom_tool_call"'], id="kind"),
        pytest.param([ToolCall("1", "f", "{}")], [ToolCall("1", "f", "{}"), ToolCall("2", "g", '{"x": 1}')],
                     ['tool call 1 g: added (arguments "{\\"x\\": 1}")'], id="added"),
        pytest.param([ToolCall("1", "f", "{}")], [], ['tool call 0 f: missing (arguments "{}")'], id="missing"),
        pytest.param([ToolCall("1", None, "{}")], [], ['tool call 0 None: missing (arguments "{}")'],
                     id="nameless-missing"),  # hypothesis: a call whose name never came
        pytest.param([ToolCall("1", "web_search", '{"q": "a"}', kind="web_search_call")],
                     [ToolCall("1", "web_search", '{"q": "b"}', kind="web_search_call")],
                     ['tool call 0 web_search (server tool): arguments.q  "a" -> "b"'], id="server-tool"),
        pytest.param([ToolCall("1", "web_search", "{}", kind="web_search_call")], [ToolCall("1", "f", "{}")],
                     ['tool call 0 web_search: name: "web_search" -> "f"',
                      'tool call 0 web_search: kind: "web_search_call" -> "function"'], id="server-tool-then-client"),
        pytest.param([ToolCall("1", "f", '{"a": ')], [ToolCall("1", "f", '{"a": 2')],
                     ['tool call 0 f: arguments: "{\\"a\\": " (not JSON) -> "{\\"a\\": 2" (not JSON)'],
                     id="not-json"),
        pytest.param([ToolCall("1", "f", '{"a": 1}')], [ToolCall("1", "f", '{"a": ')],
                     ['tool call 0 f: arguments: "{\\"a\\": 1}" -> "{\\"a\\": " (not JSON)'], id="one-side-not-json"),
    ],
)
def test_tool_call_differences(old: list[ToolCall], new: list[ToolCall], expected: list[str]) -> None:
    assert _messages(_digest(calls=tuple(old)), _digest(calls=tuple(new))) == [("tool_calls", m) for m in expected]


def test_findings_compare_by_rule_not_by_index_or_message() -> None:
    assert _messages(_digest(findings=(_warning(3, "a"),)), _digest(findings=(_warning(9, "b"),))) == []


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        pytest.param((), (_warning(4, "the thing is odd"),),
                     "new finding: responses/odd-thing (warning) at event 4: the thing is odd", id="new"),
        pytest.param((_warning(4),), (), "finding gone: responses/odd-thing (warning) at event 4: odd", id="gone"),
        pytest.param((_warning(4),), (_warning(2), _warning(5)),
                     "more findings (1 -> 2): responses/odd-thing (warning) at event 2: odd", id="more"),
        pytest.param((_warning(2), _warning(5)), (_warning(4),),
                     "fewer findings (2 -> 1): responses/odd-thing (warning) at event 2: odd", id="fewer"),
    ],
)
def test_finding_differences(old: tuple[Finding, ...], new: tuple[Finding, ...], expected: str) -> None:
    assert _messages(_digest(findings=old), _digest(findings=new)) == [("findings", expected)]


def test_text_difference_names_the_change_and_carries_a_unified_diff() -> None:
    assert compare(_digest("Hello Paris"), _digest("Hello Lyon")) == [
        Difference("text", 'text: changed at char 6: "Hello Paris" -> "Hello Lyon"',
                   ("--- old text", "+++ new text", "@@ -1 +1 @@", "-Hello Paris", "+Hello Lyon")),
    ]


def test_ignore_text_keeps_tool_calls() -> None:
    old = _digest("Hello Paris", calls=(ToolCall("1", "f", '{"a": 1}'),))
    new = _digest("Hello Lyon", calls=(ToolCall("1", "f", '{"a": 2}'),))
    assert _messages(old, new, Options(ignore_text=True)) == [("tool_calls", "tool call 0 f: arguments.a  1 -> 2")]


def test_usage_only_when_asked() -> None:
    old, new = _digest(usage={"output_tokens": 12}), _digest(usage={"output_tokens": 15})
    assert _messages(old, new) == []
    assert _messages(old, new, Options(usage=True)) == [("usage", "usage.output_tokens  12 -> 15")]


def test_status() -> None:
    assert _messages(_digest(status="completed"), _digest(status="incomplete")) == [
        ("status", 'status: "completed" -> "incomplete"')
    ]


def test_streams_of_two_protocols_are_compared_by_the_answer_they_share() -> None:
    """A gateway's translation against its upstream: status words, findings, usage fields and the types that carry
    a tool call are each protocol's own; the text and the calls (arguments as JSON) must survive."""
    call = ToolCall("call_1", "get_weather", '{"city": "Paris"}', kind="function")
    chat = _digest(calls=(call,), status="stop", findings=(_warning(3),), usage={"prompt_tokens": 1},
                   protocol="openai-chat")
    same = _digest(calls=(ToolCall("fc_1", "get_weather", '{"city":"Paris"}', kind="function_call"),),
                   status="STOP", usage={"promptTokenCount": 1}, protocol="gemini")
    protocol = ("protocol", 'protocol: "openai-chat" -> "gemini"')
    assert _messages(chat, same, Options(usage=True)) == [protocol]
    lost = _digest("Help", calls=(ToolCall("fc_1", "get_weather", '{"city":"Rome"}', kind="function_call"),),
                   protocol="gemini")
    assert [aspect for aspect, _ in _messages(chat, lost)] == ["protocol", "text", "tool_calls"]


@pytest.mark.parametrize(
    ("old", "new", "tolerance", "expected"),
    [
        pytest.param((0.5, 2.0), (0.55, 2.2), 10.0, [], id="within"),
        pytest.param((0.5, 2.0), (0.6, 2.0), 10.0, ["TTFT: 0.500s -> 0.600s, +20% (tolerance 10%)"], id="ttft"),
        pytest.param((0.5, 2.0), (0.5, 3.0), 10.0, ["duration: 2.000s -> 3.000s, +50% (tolerance 10%)"],
                     id="duration"),
        pytest.param((0.5, 2.0), (0.1, 1.0), 0.0, [], id="faster-is-fine"),
        pytest.param((None, None), (9.0, 9.0), 0.0, [], id="old-without-times"),
        pytest.param((0.5, 2.0), (None, None), 0.0, [], id="new-without-times"),
    ],
)
def test_timing_tolerance(old: tuple, new: tuple, tolerance: float, expected: list[str]) -> None:
    messages = _messages(_digest(times=old), _digest(times=new), Options(timing_tolerance=tolerance))
    assert messages == [("timing", message) for message in expected]


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        # the trivial local gateway: +560 % but only 161 ms: within a 200 ms floor, not within 100 ms
        pytest.param((0.029, 1.0), (0.190, 1.0), [], id="fast-stream-noise-under-the-floor"),
        pytest.param((0.5, 2.0), (0.6, 2.0), [], id="under-the-percentage"),
        pytest.param((0.5, 2.0), (1.0, 2.5), ["TTFT: 0.500s -> 1.000s, +100% (tolerance 50% and 200ms)"],
                     id="both-exceeded"),
    ],
)
def test_timing_floor_must_be_exceeded_too(old: tuple, new: tuple, expected: list[str]) -> None:
    options = Options(timing_tolerance=50, timing_floor=0.2)
    messages = _messages(_digest(times=old), _digest(times=new), options)
    assert messages == [("timing", message) for message in expected]


@pytest.mark.parametrize(
    ("value", "expected"),
    [("50", (50.0, 0.0)), ("50%", (50.0, 0.0)), ("50%,100ms", (50.0, 0.1)), (" 12.5 % , 0.25s ", (12.5, 0.25))],
)
def test_parse_tolerance(value: str, expected: tuple[float, float]) -> None:
    assert parse_tolerance(value) == expected


@pytest.mark.parametrize("value", ["", "-5", "nan", "inf", "50%,", "50%,100", "50%,100h", "%", "50%%"])
def test_parse_tolerance_rejects(value: str) -> None:
    with pytest.raises(ValueError, match="expected PCT or PCT%,FLOOR"):
        parse_tolerance(value)


def test_timing_is_not_compared_without_a_tolerance() -> None:
    assert _messages(_digest(times=(0.1, 0.2)), _digest(times=(5.0, 9.0))) == []


def _choices(*texts: str, finish: tuple[str | None, ...] = ()) -> Digest:
    outputs = {i: Output(i, text_parts=[text], finish_reason=finish[i] if finish else "stop")
               for i, text in enumerate(texts)}
    return Digest("x", Assembly("openai-chat", status="stop", outputs=outputs), {}, [], 200)


def test_several_choices_name_the_choice() -> None:
    old, new = _choices("a", "b"), _choices("a", "c", finish=("stop", "length"))
    assert _messages(old, new) == [
        ("status", 'finish reason (choice 1): "stop" -> "length"'),
        ("text", 'text (choice 1): changed at char 0: "b" -> "c"'),
    ]


def test_choice_0_finish_reason_is_not_repeated_when_it_is_the_status() -> None:
    old = _choices("a")
    new = Digest("x", Assembly("openai-chat", status="length", outputs={0: Output(0, ["a"], finish_reason="length")}),
                 {}, [], 200)
    assert _messages(old, new) == [("status", 'status: "stop" -> "length"')]


def test_http_status_counts_only_when_both_inputs_have_one() -> None:
    ok, failed, raw = _digest(), _digest(), _digest()
    failed.http_status, raw.http_status = 429, None
    assert _messages(ok, failed) == [("status", "http status: 200 -> 429")]
    assert _messages(raw, failed) == []


def test_a_translation_that_ends_a_failed_upstream_as_a_clean_answer_differs_in_its_error() -> None:
    """ccproxy-api 0.2.10 turns an Anthropic `overloaded_error` into a Chat answer that ends `stop` and `[DONE]`:
    `diff` said only that the protocols differ. Error words are each protocol's own: only whether one came counts."""
    upstream = _digest("Partial", status="end_turn", protocol="anthropic-messages")
    upstream.assembly.error = "Overloaded"
    clean = _digest("Partial", status="stop", protocol="openai-chat")
    assert _messages(upstream, clean) == [("protocol", 'protocol: "anthropic-messages" -> "openai-chat"'),
                                          ("status", 'error: "Overloaded" -> null')]
    relayed = _digest("Partial", status="stop", protocol="openai-chat")
    relayed.assembly.error = "upstream error: overloaded"
    assert [aspect for aspect, _ in _messages(upstream, relayed)] == ["protocol"]


def test_a_translation_that_ends_an_answer_cut_at_the_token_limit_as_finished_differs() -> None:
    """y-router turns Chat's `finish_reason: length` into Anthropic's `end_turn`: a truncated answer looks whole,
    and `diff` said nothing. Each protocol's word for the cut is its own; whether the answer was cut is shared."""
    cut = _digest("Partial", status="length", protocol="openai-chat")
    cut.assembly.outputs[0].finish_reason = "length"
    assert _messages(cut, _digest("Partial", status="end_turn", protocol="anthropic-messages")) == [
        ("protocol", 'protocol: "openai-chat" -> "anthropic-messages"'),
        ("status", "cut at the token limit: true -> false")]
    kept = _digest("Partial", status="max_tokens", protocol="anthropic-messages")
    assert [aspect for aspect, _ in _messages(cut, kept)] == ["protocol"]


def test_a_call_without_arguments_is_the_same_call_across_protocols() -> None:
    """A Chat call without arguments streams none (`""`), an Anthropic one says `{}` (y-router's placeholder)."""
    chat = _digest(calls=(ToolCall("call_1", "ping", "", kind="function"),), protocol="openai-chat")
    anthropic = _digest(calls=(ToolCall("toolu_1", "ping", "{}", kind="tool_use"),), protocol="anthropic-messages")
    assert [aspect for aspect, _ in _messages(chat, anthropic)] == ["protocol"]
    same_protocol = _digest(calls=(ToolCall("call_1", "ping", "{}", kind="function"),), protocol="openai-chat")
    assert [aspect for aspect, _ in _messages(chat, same_protocol)] == ["tool_calls"]  # within one, bytes count


def test_a_server_tool_turned_into_a_call_the_client_must_run_differs_across_protocols() -> None:
    """LiteLLM's Responses bridge turns Anthropic's `server_tool_use` (`tool_search_tool_bm25`, run by Anthropic)
    into a `function_call` the client is asked to run: `diff` said nothing, as the kinds' names differ anyway."""
    server = _digest(calls=(ToolCall("srvtoolu_1", "tool_search_tool_bm25", '{"q": "x"}', kind="server_tool_use"),),
                     protocol="anthropic-messages")
    client = _digest(calls=(ToolCall("fc_1", "tool_search_tool_bm25", '{"q": "x"}', kind="function_call"),),
                     protocol="openai-responses")
    assert _messages(server, client)[1:] == [
        ("tool_calls", 'tool call 0 tool_search_tool_bm25: run by: "the server" -> "the client"')]
    same = _digest(calls=(ToolCall("toolu_1", "tool_search_tool_bm25", '{"q": "x"}', kind="tool_use"),),
                   protocol="anthropic-messages")
    assert [aspect for aspect, _ in _messages(same, client)] == ["protocol"]


def test_a_built_in_tool_is_run_by_the_server_in_every_protocol() -> None:
    """Responses' `code_interpreter_call` and `web_search_call` are run by OpenAI as Anthropic's `server_tool_use`
    is by Anthropic: `diff` said "run by the client" of the first, and the second was no tool call at all."""
    anthropic = _digest(calls=(ToolCall("srvtoolu_1", "web_search", '{"query": "x"}', kind="server_tool_use"),
                               ToolCall("srvtoolu_2", "code_execution", '{"code": "1"}', kind="server_tool_use")),
                        protocol="anthropic-messages")
    responses = _digest(calls=(ToolCall("ws_1", "web_search", '{"query": "x"}', kind="web_search_call"),
                               ToolCall("ci_2", "code_execution", '{"code": "1"}', kind="code_interpreter_call")),
                        protocol="openai-responses")
    assert [aspect for aspect, _ in _messages(anthropic, responses)] == ["protocol"]


def test_a_translation_that_hides_a_failed_status_a_refusal_or_a_pause_differs() -> None:
    """MLflow's gateway 3.17.2 answers an Anthropic 529 with a 200 and ends Anthropic's `refusal` and `pause_turn`
    as Chat's `stop`: `diff` said only that the protocols differ."""
    failed = _digest("", status=None, protocol="anthropic-messages")
    failed.http_status = 529
    relayed = _digest("", status=None, protocol="openai-chat")
    relayed.http_status = 200
    assert _messages(failed, relayed)[1:] == [("status", "http status: 529 -> 200")]
    for reason, label in (("refusal", "refused or filtered"), ("pause_turn", "paused, to be continued")):
        upstream = _digest("Partial", status=reason, protocol="anthropic-messages")
        stopped = _digest("Partial", status="stop", protocol="openai-chat")
        stopped.assembly.outputs[0].finish_reason = "stop"
        assert _messages(upstream, stopped)[1:] == [("status", f"{label}: true -> false")]
    filtered = _digest("Partial", status="content_filter", protocol="openai-chat")
    filtered.assembly.outputs[0].finish_reason = "content_filter"
    blocked = _digest("Partial", status="prompt blocked: SAFETY", protocol="gemini")
    assert [aspect for aspect, _ in _messages(filtered, blocked)] == ["protocol"]  # both said it, each its way


def test_a_complete_answer_translated_into_an_incomplete_response_differs() -> None:
    """codex-router-proxy 0.5.0 ends an Anthropic `tool_use` answer as a Responses `status: incomplete` with no
    `incomplete_details`: `diff` said only that the protocols differ (`validate` said `responses/status-mismatch`)."""
    upstream = _digest("Partial", status="tool_use", protocol="anthropic-messages")
    incomplete = _digest("Partial", status="incomplete", protocol="openai-responses")
    incomplete.assembly.outputs[0].finish_reason = "incomplete"
    assert _messages(upstream, incomplete)[1:] == [("status", "incomplete, no reason given: false -> true")]
