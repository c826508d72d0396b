"""The Gemini checker: every rule fires on a real corpus stream broken in exactly one way, and stays silent on it
unbroken; the assembly puts back together what the stream said (streamed arguments included).

Each case loads a corpus stream, edits its parsed chunks, re-serialises them with Google's CRLF framing and runs the
whole pipeline (`check_bytes`). The broken stream must give exactly the listed `(rule, index)` pairs.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from inspector.findings import RULES, Severity
from inspector.protocols import detect
from inspector.protocols.gemini import checker as gemini  # noqa: F401  (registers the rules)
from inspector.protocols.gemini.assembly import path_steps
from inspector.sse import SSEParser
from inspector.validate import StreamCheck, check_bytes

CORPUS = Path(__file__).parent / "fixtures" / "corpus" / "gemini-generate-content"

# fmt: off
TEXT      = "pydantic-ai__text-multichunk.sse"                    # 0-2 text, STOP on 2
VERTEX    = "js-genai__vertex-text-multichunk.sse"                # 0-11 text, Vertex identity, STOP on 11
THINKING  = "pydantic-ai__thinking-summaries.sse"                 # thoughts first, then answer
CALL      = "pydantic-ai__function-call-single-chunk.sse"         # 0 functionCall + STOP
STREAMED  = "vercel-ai__vertex-streamed-args-two-calls.sse"       # 0 open, 1-2 pieces, 3 {}, 4 open, ..., 7 {} + STOP
NO_END    = "vercel-ai__vertex-streamed-args-no-terminator.sse"   # 0 open, 1-14 pieces (14 closes), 15 text + STOP
CODE      = "pydantic-ai__code-execution-ids.sse"                 # 0 executableCode (id), 1 codeExecutionResult (id)
BLOCKED   = "generative-ai-js__prompt-blocked-safety.sse"         # 0 promptFeedback.blockReason
# fmt: on

Chunk = Any
Mutation = Callable[[list[Chunk]], list[Chunk]]


def load(name: str) -> list[Chunk]:
    parser = SSEParser()
    events = parser.feed((CORPUS / name).read_bytes())
    parser.close()
    return [json.loads(event.data) for event in events]


def serialise(chunks: list[Chunk], head: str = "") -> bytes:
    return "".join(f"{head}data: {json.dumps(chunk) if not isinstance(chunk, str) else chunk}\r\n\r\n"
                   for chunk in chunks).encode()


def findings(data: bytes, rule_id: str | None = None) -> list[tuple[str, int | None]]:
    check = check_bytes(data, protocol="gemini")
    return [(f.rule, f.index) for f in check.findings if rule_id is None or f.rule == rule_id]


def part(chunks: list[Chunk], index: int, position: int = 0) -> dict[str, Any]:
    return chunks[index]["candidates"][0]["content"]["parts"][position]


def set_in(index: int, change: Callable[[list[Chunk]], None]) -> Mutation:
    def run(chunks: list[Chunk]) -> list[Chunk]:
        change(chunks)
        return chunks

    return run


class Case(NamedTuple):
    rule: str
    stream: str
    mutate: Mutation
    expected: list[tuple[str, int | None]]


def _drop_last(chunks: list[Chunk]) -> list[Chunk]:
    return chunks[:-1]


def _with(index: int, **fields: Any) -> Mutation:
    def run(chunks: list[Chunk]) -> list[Chunk]:
        chunks[index].update(fields)
        return chunks

    return run


def _candidate(index: int, **fields: Any) -> Mutation:
    def run(chunks: list[Chunk]) -> list[Chunk]:
        chunks[index]["candidates"][0].update(fields)
        return chunks

    return run


def _part(index: int, position: int = 0, **fields: Any) -> Mutation:
    def run(chunks: list[Chunk]) -> list[Chunk]:
        part(chunks, index, position).update(fields)
        return chunks

    return run


def _insert(index: int, chunk: Chunk) -> Mutation:
    return lambda chunks: [*chunks[:index], chunk, *chunks[index:]]


def _drop(*positions: int) -> Mutation:
    return lambda chunks: [chunk for i, chunk in enumerate(chunks) if i not in positions]


CALL_PART = {"candidates": [{"content": {"role": "model", "parts": [{"functionCall": {"args": {"a": 1}}}]}}]}
EMPTY_NAME_PART = {"candidates": [{"content": {"role": "model", "parts": [
    {"functionCall": {"name": "", "args": {"partial": "{"}}}]}}]}  # AIClient-2-API: an OpenAI argument fragment
# fmt: off
CASES = [
    Case("gemini/not-an-object", TEXT, _insert(1, [1, 2]), [("gemini/not-an-object", 1)]),
    Case("gemini/error-object", TEXT, lambda c: [c[0], {"error": {"code": 500, "status": "INTERNAL", "message": "x"}}],
         [("gemini/error-object", 1)]),
    Case("gemini/schema", TEXT, lambda c: _with(1, usageMetadata={"promptTokenCount": "15"})(c),
         [("gemini/schema", 1)]),
    Case("gemini/empty-chunk", TEXT, _insert(1, {"modelVersion": "gemini-2.0-flash-exp"}), [("gemini/empty-chunk", 1)]),
    Case("gemini/several-candidates", TEXT,
         lambda c: _with(1, candidates=[c[1]["candidates"][0], copy.deepcopy(c[1]["candidates"][0])])(c),
         [("gemini/several-candidates", 1)]),
    # api-for-gemini 1.4.2 sends an upstream's three choices one candidate a chunk, `index` 0, 1, 2 in turn
    Case("gemini/several-candidates", TEXT, lambda c: c[1]["candidates"][0].update(index=1) or c,
         [("gemini/several-candidates", 1)]),
    Case("gemini/identity-changed", VERTEX, _with(5, responseId="another"), [("gemini/identity-changed", 5)]),
    Case("gemini/create-time-changed", VERTEX, _with(5, createTime="2026-02-11T00:04:04Z"),
         [("gemini/create-time-changed", 5)]),
    Case("gemini/role-not-model", TEXT, lambda c: c[1]["candidates"][0]["content"].update(role="user") or c,
         [("gemini/role-not-model", 1)]),
    Case("gemini/part-shape", TEXT, _part(1, inlineData={"mimeType": "image/png", "data": ""}),
         [("gemini/part-shape", 1)]),
    Case("gemini/thought-after-answer", THINKING,
         lambda c: [*c[:-1], {"candidates": [{"content": {"parts": [{"text": "hm", "thought": True}]}}]}, c[-1]],
         [("gemini/thought-after-answer", len(load(THINKING)) - 1)]),
    Case("gemini/thought-signature-empty", CALL, _part(0, thoughtSignature=""),
         [("gemini/thought-signature-empty", 0)]),
    Case("gemini/function-call-incomplete", TEXT, _insert(1, CALL_PART), [("gemini/function-call-incomplete", 1)]),
    Case("gemini/function-call-incomplete", TEXT, _insert(1, EMPTY_NAME_PART),
         [("gemini/function-call-incomplete", 1)]),
    Case("gemini/streamed-args-order", STREAMED, _drop(3), [("gemini/streamed-args-order", 3)]),
    Case("gemini/streamed-args-open", STREAMED, lambda c: part(c, 7).pop("functionCall") and part(c, 7).update(
        text="") or c, [("gemini/streamed-args-open", 7)]),  # gemini-balance 2.2.8's rewrite of the closing part
    Case("gemini/partial-arg-shape", STREAMED,
         lambda c: part(c, 1)["functionCall"]["partialArgs"][0].update(jsonPath="location") or c,
         [("gemini/partial-arg-shape", 1)]),
    Case("gemini/tool-result-unpaired", CODE, lambda c: part(c, 1)["codeExecutionResult"].update(id="other") or c,
         [("gemini/tool-result-unpaired", 1)]),
    Case("gemini/finish-missing", TEXT, _drop_last, [("gemini/finish-missing", 1)]),
    Case("gemini/finish-not-last", TEXT, _candidate(0, finishReason="STOP"), [("gemini/finish-not-last", 0)]),
    Case("gemini/unknown-enum", TEXT, _candidate(2, finishReason="NEW_REASON"), [("gemini/unknown-enum", 2)]),
    Case("gemini/usage-arithmetic", TEXT,
         lambda c: c[2]["usageMetadata"].update(totalTokenCount=c[2]["usageMetadata"]["totalTokenCount"] + 1) or c,
         [("gemini/usage-arithmetic", 2)]),
]
# fmt: on


@pytest.mark.parametrize("case", [pytest.param(case, id=case.rule) for case in CASES])
def test_rule_fires_on_the_broken_stream_only(case: Case) -> None:
    chunks = load(case.stream)
    assert findings(serialise(chunks), case.rule) == []
    assert findings(serialise(case.mutate(copy.deepcopy(chunks))), case.rule) == case.expected


@pytest.mark.parametrize(("ours", "theirs"), [
    ("FINISH_REASONS", "FinishReason"), ("BLOCK_REASONS", "BlockedReason"), ("HARM_CATEGORIES", "HarmCategory"),
    ("HARM_PROBABILITIES", "HarmProbability"), ("HARM_SEVERITIES", "HarmSeverity"), ("TRAFFIC_TYPES", "TrafficType"),
    ("MODALITIES", "MediaModality"), ("TOOL_TYPES", "ToolType"), ("OUTCOMES", "Outcome"),
])
def test_every_enum_value_the_installed_sdk_lists_is_known(ours: str, theirs: str) -> None:
    """`gemini/unknown-enum` says a value is "not a value the Python SDK types list": true only while every value of the
    installed google-genai is in our lists (2.34 added `CONTINUATION`, `ON_DEMAND_OFFPEAK` and `MEDIA_PROCESSING`)."""
    from google.genai import types

    from inspector.protocols.gemini import models

    assert {member.value for member in getattr(types, theirs)} <= getattr(models, ours)


def test_every_gemini_rule_has_a_case() -> None:
    covered = {case.rule for case in CASES} | {"gemini/non-data-field", "gemini/out-of-band-lines",
                                               "gemini/prompt-blocked", "gemini/usage-over-limit"}
    assert covered == {rule_id for rule_id in RULES if rule_id.startswith("gemini/")}


@pytest.mark.parametrize(("head", "tail", "culprit"), [
    ("event: chunk\r\n", "", "event"), ("id: 7\r\n", "", "id"), ("", "data: [DONE]\r\n\r\n", "done")])
def test_non_data_fields_are_errors(head: str, tail: str, culprit: str) -> None:
    data = serialise(load(TEXT), head if head.startswith("event") else "") + tail.encode()
    if head.startswith("id"):
        data = head.encode() + data
    found = findings(data, "gemini/non-data-field")
    assert len(found) == 1, culprit
    assert findings(serialise(load(TEXT)), "gemini/non-data-field") == []


def test_prompt_block_is_a_warning_and_an_end() -> None:
    data = (CORPUS / BLOCKED).read_bytes()
    check = check_bytes(data, protocol="gemini")
    assert [(f.rule, f.severity) for f in check.findings] == [("gemini/prompt-blocked", Severity.WARNING)]
    assert check.assembly.status == "prompt blocked: SAFETY"


def test_bare_json_error_mid_stream_is_reported_once_where_it_broke() -> None:
    chunks = load(TEXT)[:2]
    error = '{\n  "error": {\n    "code": 503,\n    "message": "overloaded",\n    "status": "UNAVAILABLE"\n  }\n}\n'
    check = check_bytes(serialise(chunks) + error.encode(), protocol="gemini")
    assert [(f.rule, f.index) for f in check.findings] == [("gemini/out-of-band-lines", 2)]
    assert "503 UNAVAILABLE: overloaded" in check.findings[0].message
    assert check.assembly.error == "503 UNAVAILABLE: overloaded"


def test_a_stray_line_in_another_protocol_is_left_to_the_spec() -> None:
    data = b'data: {"choices": []}\n\n{\n' + b"data: [DONE]\n\n"
    assert not [f for f in check_bytes(data).findings if "out-of-band" in f.rule]


def test_unterminated_last_chunk_is_the_sse_rule() -> None:
    data = serialise(load(TEXT))[:-4]
    # what a WHATWG client (vercel) sees: the last chunk is lost, and with it the finish, said once
    assert findings(data) == [("sse/unterminated-event", 2)]


def test_a_lone_chunk_with_no_blank_line_after_it_still_names_its_protocol() -> None:
    """A raw Gemini body of one chunk whose blank line was lost was judged `generic`, and the finding said the
    event is lost, where python-genai (which reads `data:` lines) takes it: Microsoft Agent Framework ran its call."""
    data = serialise(load(TEXT)[-1:])[:-4]
    check = check_bytes(data)
    assert check.protocol == "gemini"
    [message] = [f.message for f in check.findings if f.rule == "sse/unterminated-event"]
    assert message.endswith("python-genai, which reads `data: ` lines rather than events, still takes it")
    assert check_bytes(b'data: {"kind": "not a known protocol"}').protocol == "generic"


# --- the 404 body and detection -----------------------------------------------------------------------------------


def test_404_json_body_is_judged_not_refused(tmp_path: Path, run_cli) -> None:
    result = run_cli("validate", str(CORPUS / "js-genai__http-404-error-body.sse"))
    assert result.code == 1
    assert "sse/json-error-body" in result.out and "404 NOT_FOUND" in result.out
    one_line = tmp_path / "one-line.sse"
    one_line.write_text('{"error": {"code": 429, "message": "quota", "status": "RESOURCE_EXHAUSTED"}}\n')
    result = run_cli("validate", str(one_line))
    assert (result.code, "sse/json-error-body" in result.out, "gemini" in result.out) == (1, True, True)
    other = tmp_path / "notes.sse"
    other.write_text('{"kind": "not a stream"}\n')
    assert "sse/no-events" in run_cli("validate", str(other)).out


@pytest.mark.parametrize("path", [
    "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse",
    "/v1/projects/p/locations/us-central1/publishers/google/models/gemini-2.0-flash:streamGenerateContent?alt=sse",
    "/v1beta1/projects/p/locations/global/publishers/google/models/gemini-3-flash:streamGenerateContent",
])
def test_path_detection_for_both_hosts(path: str) -> None:
    assert detect.from_path(path) == "gemini"
    assert detect.from_path(path.replace("streamGenerateContent", "generateContent")) is None


# --- what the assembly says ----------------------------------------------------------------------------------------


def test_streamed_arguments_are_put_back_together() -> None:
    assembly = check_bytes((CORPUS / NO_END).read_bytes(), protocol="gemini").assembly
    (call,) = assembly.tool_calls
    assert call.name == "writeItems"
    assert json.loads(call.arguments) == {"operations": [
        {"action": "add", "description": "Fresh red apple", "itemid": "apple_001", "price": 0.5},
        {"action": "add", "description": "Ripe yellow banana", "itemid": "banana_001", "price": 0.3}]}
    two = check_bytes((CORPUS / STREAMED).read_bytes(), protocol="gemini").assembly
    assert [json.loads(call.arguments) for call in two.tool_calls] == [{"location": "Boston"},
                                                                       {"location": "San Francisco"}]


def test_thoughts_apart_and_ttft_at_the_answer() -> None:
    chunks = load(THINKING)
    assembly = check_bytes(serialise(chunks), protocol="gemini").assembly
    parts = [chunk["candidates"][0]["content"]["parts"] for chunk in chunks]
    first_answer = next(i for i, got in enumerate(parts) if any(p.get("text") and not p.get("thought") for p in got))
    assert assembly.reasoning and assembly.text and assembly.reasoning not in assembly.text
    assert assembly.first_content_index == first_answer > 0
    assert assembly.status == "STOP" and assembly.usage == chunks[-1]["usageMetadata"]


def test_built_in_tools_grounding_and_safety_are_kept() -> None:
    code = check_bytes((CORPUS / CODE).read_bytes(), protocol="gemini").assembly
    assert [call.kind for call in code.tool_calls] == ["executable_code", "code_execution_result"]
    grounding = check_bytes((CORPUS / "pydantic-ai__google-search-grounding.sse").read_bytes()).assembly
    assert grounding.details["groundingMetadata"]["webSearchQueries"]
    safety = check_bytes((CORPUS / "firebase-test-data__vertex-finish-safety.sse").read_bytes()).assembly
    assert safety.status == "SAFETY" and safety.details["safetyRatings"]


@pytest.mark.parametrize(("path", "steps"), [
    ("$.a", ["a"]), ("$.ops[0].action", ["ops", 0, "action"]), ("$['x y'][2]", ["x y", 2]), ("$", []),
    ("a.b", None), ("$.a[", None), ("$.a[" + "9" * 5000 + "]", None)])
def test_path_steps(path: str, steps: list | None) -> None:
    assert path_steps(path) == steps


JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=5),
                    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(
                        ["candidates", "content", "parts", "text", "functionCall", "name", "willContinue",
                         "partialArgs", "jsonPath", "stringValue", "finishReason", "usageMetadata", "error", "thought",
                         "totalTokenCount", "promptFeedback", "blockReason", "toolResponse", "id"]), inner, max_size=4),
                    max_leaves=12)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(JSON, max_size=6))
def test_any_chunks_give_findings_never_an_exception(chunks: list[Any]) -> None:
    check = StreamCheck("gemini")
    check.feed(serialise(chunks))
    check.close()
    assert all(f.rule in RULES for f in check.findings)


# --- diff ----------------------------------------------------------------------------------------------------------


def test_diff_names_a_changed_call_argument_and_a_new_chunk_kind(tmp_path: Path) -> None:
    from inspector.diff.compare import Options, diff_paths

    chunks = load(STREAMED)
    old, new = tmp_path / "old.sse", tmp_path / "new.sse"
    old.write_bytes(serialise(chunks))
    changed = copy.deepcopy(chunks)
    part(changed, 1)["functionCall"]["partialArgs"][0]["stringValue"] = "Bos"  # a streamed argument changes
    thought = {"text": "Let me see.", "thought": True}
    changed.insert(0, {"candidates": [{"content": {"role": "model", "parts": [thought]}}]})
    new.write_bytes(serialise(changed))
    (result,) = diff_paths(str(old), str(new), Options())
    aspects = {difference.aspect: difference.message for difference in result.differences}
    assert "tool_calls" in aspects and "reasoning" in aspects
    assert "candidate:thought" in aspects["events"]
    (same,) = diff_paths(str(old), str(old), Options())
    assert same.differences == []


@pytest.mark.parametrize(("chunk", "kind"), [
    ({"candidates": [{"content": {"parts": [{"text": "a"}, {"functionCall": {"name": "f"}}]}}]},
     "candidate:text+functionCall"),
    ({"candidates": [{"content": {"parts": [{"text": "", "thoughtSignature": "s"}]}, "finishReason": "STOP"}]},
     "candidate:finish"),
    ({"candidates": [{"content": {"parts": [{"text": "t", "thought": True}]}}]}, "candidate:thought"),
    ({"promptFeedback": {"blockReason": "SAFETY"}}, "promptFeedback:block"),
    ({"usageMetadata": {"totalTokenCount": 1}}, "usage"),
])
def test_gemini_event_kinds(chunk: dict, kind: str) -> None:
    from inspector.diff.events import gemini_kind

    assert gemini_kind(chunk) == kind


def test_view_shows_the_details_in_the_terminal_json_and_html() -> None:
    from inspector.inputs import open_source
    from inspector.view.html import report_page
    from inspector.view.model import inspect
    from inspector.view.render import DetailsView, make_console

    report = inspect(open_source(str(CORPUS / "pydantic-ai__google-search-grounding.sse")))
    queries = report.assembly.details["groundingMetadata"]["webSearchQueries"]
    assert report.to_json()["details"]["groundingMetadata"]["webSearchQueries"] == queries
    console = make_console(width=100, record=True)
    console.print(DetailsView(report.assembly.details))
    assert "groundingMetadata.webSearchQueries" in console.export_text()
    page = report_page(report)
    assert 'id="details"' in page and "webSearchQueries" in page
    assert "<style>" not in page.split('id="details"')[1].split("</dl>")[0]  # the rendered chip is escaped


def test_a_streamed_argument_far_past_its_array_end_is_not_placed() -> None:
    """A lost piece leaves a hole (null) in an array; an index from the wire far past the end is not placed: one
    small piece must not make the assembly allocate millions of nulls (or raise on an index `int()` refuses)."""
    from inspector.protocols.gemini.assembly import StreamedCall

    call = StreamedCall("c1", "f", "{}")
    call.add([{"jsonPath": "$.near[2]", "stringValue": "x"}, {"jsonPath": "$.far[10000000]", "stringValue": "y"},
              {"jsonPath": "$.huge[" + "9" * 5000 + "]", "boolValue": True}])
    assert call.arguments == '{"near":[null,null,"x"],"far":[]}'


def test_streamed_string_arguments_grow_without_recopying_or_reserialising(monkeypatch) -> None:
    """A long argument streamed in many `partialArgs` pieces: appended in place and serialised when read, not the
    whole arguments again per piece (quadratic on long code or text arguments)."""
    from inspector.protocols.gemini import assembly

    serialised = []
    compact = assembly._compact
    monkeypatch.setattr(assembly, "_compact", lambda value: serialised.append(1) or compact(value))
    call = assembly.StreamedCall("c1", "run", "{}")
    for _ in range(5000):
        call.add([{"jsonPath": "$.code", "stringValue": "ab"}, {"jsonPath": "$.n", "numberValue": 1}])
    assert serialised == []
    assert call.arguments == '{"code":"' + "ab" * 5000 + '","n":1}'
    assert len(call.args["code"].parts.parts) < 50  # grouped, not one part per piece


def test_a_field_wrong_in_every_chunk_is_one_finding() -> None:
    """One broken habit of an endpoint is one finding, as for the other protocols, not one per chunk."""
    chunk = ('data: {"candidates": [{"content": {"parts": [{"text": "x"}], "role": "model"}, "index": "0"}]}\r\n\r\n')
    last = ('data: {"candidates": [{"content": {"parts": [{"text": "."}], "role": "model"}, "index": 0, '
            '"finishReason": "STOP"}]}\r\n\r\n')
    check = check_bytes((chunk * 5 + last).encode(), "gemini")
    schema = [f for f in check.findings if f.rule == "gemini/schema"]
    assert [f.index for f in schema] == [0]
    assert schema[0].message.endswith("python-genai coerces the value (pydantic's lax mode), a stricter client "
                                      "rejects it (each field is reported once)")


def test_a_stream_cut_inside_a_streamed_call_is_one_finding_that_names_the_call() -> None:
    """gemini-balance 2.2.8 ends a cut upstream cleanly: `finish-missing` and `streamed-args-open` came at the same
    event, one break said twice."""
    [finding] = check_bytes(serialise(_drop(7)(load(STREAMED))), protocol="gemini").findings
    assert (finding.rule, finding.index) == ("gemini/finish-missing", 6)
    assert "; the arguments of function call `" in finding.message
    assert finding.message.endswith("were still streaming (`willContinue: true`), and are incomplete")


def test_a_call_named_empty_reaches_the_app_as_a_call_no_tool_answers() -> None:
    """python-genai hands the app a function call named `""`: the finding says the name is empty, once (AIClient-2-API
    sends one per argument fragment)."""
    from google.genai import types

    [part] = types.GenerateContentResponse.model_validate(EMPTY_NAME_PART).candidates[0].content.parts
    assert (part.function_call.name, part.function_call.args) == ("", {"partial": "{"})
    chunks = _insert(1, EMPTY_NAME_PART)(_insert(1, copy.deepcopy(EMPTY_NAME_PART))(load(TEXT)))
    check = check_bytes(serialise(chunks), protocol="gemini")
    [incomplete] = [finding for finding in check.findings if finding.rule == "gemini/function-call-incomplete"]
    assert incomplete.message.startswith("a `functionCall` with an empty `name`: no client can run it")


def test_what_the_messages_say_vercel_does_is_what_its_ai_sdk_did() -> None:
    """Held to the Vercel AI SDK 6.0 (ai 6.0.333, @ai-sdk/google 3.0.141) by an audit that ran it on these streams:
    an empty chunk is taken as a chunk of nothing, a blocked prompt ends with `content-filter`, and a part missing a
    required field is dropped silently (the part union's catch-all takes it) where `executableCode` errors."""
    def messages(chunks: list[Chunk], rule: str) -> list[str]:
        return [f.message for f in check_bytes(serialise(chunks), protocol="gemini").findings if f.rule == rule]

    [empty] = messages(_insert(1, {"foo": 1})(load(TEXT)), "gemini/empty-chunk")
    assert empty.endswith("the Vercel AI SDK's schema, all of whose fields are optional, takes it as a chunk of "
                          "nothing")
    blocked = {"promptFeedback": {"blockReason": "SAFETY"}}
    assert messages([blocked], "gemini/prompt-blocked")[0].endswith("vercel streams no text and ends with finish "
                                                                     "reason `content-filter`")
    inline = {"candidates": [{"content": {"role": "model", "parts": [{"inlineData": {"mimeType": "image/png"}}]}}]}
    [schema] = messages(_insert(1, inline)(load(TEXT)), "gemini/schema")
    assert "drops the part silently (its part union's catch-all member takes it) and keeps the chunk" in schema
    code = {"candidates": [{"content": {"role": "model", "parts": [{"executableCode": {"language": "PYTHON"}}]}}]}
    [schema] = messages(_insert(1, code)(load(TEXT)), "gemini/schema")
    assert "rejects the chunk (an error part)" in schema


@pytest.mark.parametrize("name", sorted(path.name for path in CORPUS.glob("*.sse")))
def test_a_code_assist_stream_is_judged_as_the_responses_it_wraps(name: str) -> None:
    """Google's Code Assist API (Gemini CLI signed in with a Google account; gemini-cli-openai's upstream) wraps each
    chunk as `{"response": ..., "traceId": ...}`: every chunk was `gemini/empty-chunk` and every whole stream
    `gemini/finish-missing`. Wrapped, each corpus stream gets the findings it gets bare."""
    parser = SSEParser()
    raw = (CORPUS / name).read_bytes()
    events = parser.feed(raw) + parser.close()

    def wrapped(data: str) -> str:
        try:
            payload = json.loads(data)
        except ValueError:
            return data
        return json.dumps({"response": payload, "traceId": "t"}) if isinstance(payload, dict) and (
            "error" not in payload) else data

    body = "".join(f"data: {wrapped(event.data)}\r\n\r\n" for event in events).encode()
    bare = "".join(f"data: {event.data}\r\n\r\n" for event in events).encode()

    def found(data: bytes, path: str) -> list[tuple[str, int | None]]:
        check = StreamCheck(request_path=path)
        check.feed(data)
        return [(finding.rule, finding.index) for finding in check.close()]

    assert found(body, "/v1internal:streamGenerateContent") == found(bare, "/v1beta/models/m:streamGenerateContent")
