"""Gemini recordings replayed by `serve` to real clients: the official google-genai SDK (Gemini API and Vertex AI
paths), a plain REST client, and google-genai through the recorder (a real mitmdump).

What the SDK makes of each stream must be what sse-inspector's assembly says, and where a rule says the SDK breaks,
it does.
"""

from __future__ import annotations

import json
import logging
import warnings
from pathlib import Path

import httpx
import pytest
from google import genai
from google.genai import errors, types
from google.oauth2.credentials import Credentials
from recorder_helpers import read_recording, recorded_body, run_mitmdump

from inspector.inputs import open_source
from inspector.recording import Header, RecordingWriter
from inspector.replay import Replay, ReplayServer
from inspector.validate import check_bytes

CORPUS = Path(__file__).parent / "fixtures" / "corpus" / "gemini-generate-content"
STREAMS = sorted(path.name for path in CORPUS.glob("*.sse"))
ERROR_BODY = "js-genai__http-404-error-body.sse"
VERTEX = "js-genai__vertex-text-multichunk.sse"
SPEED = 1000.0  # a raw file is paced at one event every 20 ms: replay it faster
API_KEY = "test-key-SECRETVALUE"


@pytest.fixture(autouse=True)
def _quiet_sdk() -> None:
    """The Python SDK warns about non-text parts and unknown enum values: expected here, not test noise."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        logging.getLogger("google_genai").setLevel(logging.ERROR)
        yield


def gemini_api(url: str) -> genai.Client:
    return genai.Client(api_key=API_KEY, http_options=types.HttpOptions(base_url=url))


def vertex(url: str) -> genai.Client:
    return genai.Client(vertexai=True, project="p", location="us-central1", credentials=Credentials(token="t"),
                        http_options=types.HttpOptions(base_url=url))


def sdk_answer(client: genai.Client) -> tuple[str, list[str], list[str]]:
    """(answer text, thought text, names of the function calls) as the Python SDK's chunks give them."""
    text, thoughts, calls = "", "", []
    for chunk in client.models.generate_content_stream(model="gemini-2.5-flash", contents="hi"):
        for candidate in chunk.candidates or []:
            for part in candidate.content.parts if candidate.content and candidate.content.parts else []:
                if part.text and part.thought:
                    thoughts += part.text
                elif part.text:
                    text += part.text
                if part.function_call and part.function_call.name:
                    calls.append(part.function_call.name)
    return text, thoughts, calls


def served(*files: Path) -> ReplayServer:
    return ReplayServer(Replay.from_paths([str(file) for file in files], speed=SPEED))


@pytest.mark.parametrize("name", [name for name in STREAMS if name != ERROR_BODY])
def test_google_genai_reads_what_the_assembly_says(name: str) -> None:
    assembly = check_bytes((CORPUS / name).read_bytes(), protocol="gemini").assembly
    with served(CORPUS / name) as server:
        text, thoughts, calls = sdk_answer(gemini_api(server.url))
    function_calls = [call.name for call in assembly.tool_calls if call.kind == "function_call"]
    assert (text, thoughts, calls) == (assembly.text, assembly.reasoning, function_calls)


def test_vertex_client_on_a_vertex_recording() -> None:
    assembly = check_bytes((CORPUS / VERTEX).read_bytes(), protocol="gemini").assembly
    with served(CORPUS / VERTEX) as server:
        assert sdk_answer(vertex(server.url)) == (assembly.text, "", [])


def test_the_404_body_the_rule_calls_an_error_is_one_for_the_sdk() -> None:
    check = check_bytes((CORPUS / ERROR_BODY).read_bytes())
    assert [finding.rule for finding in check.findings] == ["sse/json-error-body"]
    with served(CORPUS / ERROR_BODY) as server, pytest.raises(errors.ClientError) as raised:
        sdk_answer(gemini_api(server.url))
    assert raised.value.code == 404


def _prefixed(frame: bytes):
    return lambda body: frame + body


def _after_the_first_event(frame: bytes):
    return lambda body: body[: body.index(b"\r\n\r\n") + 4] + frame + body[body.index(b"\r\n\r\n") + 4 :]


@pytest.mark.parametrize(("breaking", "rule"), [
    pytest.param(_prefixed(b"event: chunk\r\n"), "gemini/non-data-field", id="event-line"),
    pytest.param(_after_the_first_event(b": keep-alive\r\n"), "gemini/non-data-field", id="comment-line"),
    pytest.param(_after_the_first_event(b"retry: 1000\r\n"), "gemini/non-data-field", id="retry-line"),
    pytest.param(lambda body: body.replace(b"data: ", b"data:"), "gemini/non-data-field", id="data-without-space"),
    pytest.param(_after_the_first_event(b'{\r\n  "error": {"code": 503, "message": "overloaded", "status": '
                                        b'"UNAVAILABLE"}\r\n}\r\n'), "gemini/out-of-band-lines", id="bare-json"),
])
def test_what_the_error_rules_flag_breaks_the_sdk(tmp_path: Path, breaking, rule: str) -> None:
    broken = tmp_path / "broken.sse"
    broken.write_bytes(breaking((CORPUS / "pydantic-ai__text-multichunk.sse").read_bytes()))
    assert [finding.rule for finding in check_bytes(broken.read_bytes()).findings].count(rule) == 1
    with served(broken) as server, pytest.raises((errors.APIError, errors.UnknownApiResponseError)):
        sdk_answer(gemini_api(server.url))


def test_a_rest_client_gets_the_recorded_bytes() -> None:
    name = "pydantic-ai__function-call-single-chunk.sse"
    with served(CORPUS / name) as server:
        url = f"{server.url}/v1beta/models/gemini-2.0-flash:streamGenerateContent?alt=sse&key=k"
        with httpx.stream("POST", url, json={"contents": [{"parts": [{"text": "hi"}]}]}) as response:
            body = response.read()
    assert (response.status_code, response.headers["content-type"].split(";")[0]) == (200, "text/event-stream")
    assert body == (CORPUS / name).read_bytes()


@pytest.mark.slow
def test_google_genai_through_the_recorder(tmp_path: Path) -> None:
    name = "pydantic-ai__thinking-summaries.sse"
    with served(CORPUS / name) as server, run_mitmdump(tmp_path, server.url) as proxy:
        answer = sdk_answer(gemini_api(proxy.url))
        [line] = proxy.results(1)
    path = Path(line.split()[-1])
    assert API_KEY not in path.read_text() and "SECRETVALUE" not in path.read_text()
    header, chunks, end = read_recording(path)
    assert header["protocol"] == "gemini" and ":streamGenerateContent" in header["request"]["url"]
    assert (recorded_body(chunks), end["reason"]) == ((CORPUS / name).read_bytes(), "complete")
    assembly = open_source(str(path)).validate().assembly
    assert answer == (assembly.text, assembly.reasoning, [])
    assert json.loads(json.dumps(assembly.usage))["thoughtsTokenCount"] > 0


@pytest.mark.slow
def test_vertex_sdk_and_a_plain_error_on_the_gemini_path_through_the_recorder(tmp_path: Path) -> None:
    """Vertex's path is recognised too; an error that is not an event stream is recorded (the path asked for a
    stream, not the body: Gemini requests carry no `"stream": true`)."""
    quota = tmp_path / "served" / "quota.jsonl"
    quota.parent.mkdir()
    writer = RecordingWriter(quota, Header(
        request={"method": "POST", "url": "http://upstream/v1beta/models/gemini-2.5-flash:streamGenerateContent",
                 "headers": {}, "body": None},
        response={"status": 429, "headers": {"content-type": "application/json"}}, source="import"))
    writer.chunk(0.0, b'{"error": {"code": 429, "message": "Quota exceeded", "status": "RESOURCE_EXHAUSTED"}}')
    writer.end(0.0, "complete")
    with served(CORPUS / VERTEX, quota) as server, run_mitmdump(tmp_path, server.url) as proxy:
        text = sdk_answer(vertex(proxy.url))[0]
        with pytest.raises(errors.ClientError) as raised:
            sdk_answer(gemini_api(proxy.url))
        lines = proxy.results(2)
    assert raised.value.code == 429
    recordings = {read_recording(Path(line.split()[-1]))[0]["response"]["status"]: Path(line.split()[-1])
                  for line in lines}
    vertex_header, _, _ = read_recording(recordings[200])
    assert "/projects/p/locations/us-central1/publishers/google/models/" in vertex_header["request"]["url"]
    assert vertex_header["protocol"] == "gemini" and text
    assert vertex_header["request"]["headers"].get("authorization", vertex_header["request"]["headers"].get(
        "Authorization")) != "Bearer t"
    check = open_source(str(recordings[429])).validate()
    assert [finding.rule for finding in check.findings] == ["http/error-status"]
    assert "Quota exceeded" in check.findings[0].message


MULTICHUNK = "pydantic-ai__text-multichunk.sse"  # "The", " capital of France", " is Paris.\n" + STOP


def _replace_second(old: bytes, new: bytes):
    """The second chunk of MULTICHUNK with `old` replaced by `new`."""
    def mutate(body: bytes) -> bytes:
        first = body.index(b"\r\n\r\n") + 4
        second = body.index(b"\r\n\r\n", first) + 4
        assert old in body[first:second]
        return body[:first] + body[first:second].replace(old, new, 1) + body[second:]
    return mutate


def _sdk_outcome(body: bytes, tmp_path: Path) -> tuple[str, ...]:
    """What python-genai makes of this stream: ("raises", exception name) or ("ok", text, thoughts, calls)."""
    stream = tmp_path / "stream.sse"
    stream.write_bytes(body)
    with served(stream) as server:
        try:
            text, thoughts, calls = sdk_answer(gemini_api(server.url))
        except Exception as error:  # noqa: BLE001  what the Python SDK raised is the point
            return "raises", type(error).__name__
    return "ok", text, thoughts, ",".join(calls)


def _message(body: bytes, rule: str) -> str:
    [message] = [finding.message for finding in check_bytes(body, protocol="gemini").findings if finding.rule == rule]
    return message


SECOND = b'{"text": " capital of France"}'


@pytest.mark.parametrize(("mutation", "rule", "said", "outcome"), [
    # a chunk with `error` after other keys: python-genai reads it as a chunk (the audit's `err-not-first-key`)
    (_replace_second(b'{"candidates"', b'{"responseId": "r", "error": {"code": 500, "message": "boom"}, '
                                       b'"candidates"'), "gemini/error-object",
     "python-genai raises only when `error` is a chunk's first key", ("ok", "The capital of France is Paris.\n")),
    (_replace_second(b'{"candidates"', b'{"error": {"code": 503, "message": "boom"}, "candidates"'),
     "gemini/error-object", "python-genai raises `ServerError`", ("raises", "ServerError")),
    (_replace_second(b'{"candidates"', b'{"error": {"status": "INTERNAL", "message": "boom"}, "candidates"'),
     "gemini/error-object", "python-genai fails on it (`TypeError`", ("raises", "TypeError")),
    (lambda body: body.replace(b'data: {"candidates"', b'data: [{"candidates"', 1).replace(
        b'"w1peaMz6INOvnvgPgYfPiQY"}\r\n', b'"w1peaMz6INOvnvgPgYfPiQY"}]\r\n', 1),
     "gemini/not-an-object", "python-genai yields an empty response for it", ("ok", " capital of France is Paris.\n")),
    (lambda body: body.replace(b"\r\n\r\n", b"\r\n\r\ndata: 42\r\n\r\n", 1), "gemini/not-an-object",
     "python-genai fails on it (`TypeError`)", ("raises", "TypeError")),
    (_replace_second(SECOND, b'{"text": " capital of France", "thought": "true"}'), "gemini/schema",
     "python-genai coerces the value", ("ok", "The is Paris.\n", " capital of France")),
    (_replace_second(b'"promptTokenCount": 15', b'"promptTokenCount": "x"'), "gemini/schema",
     "python-genai raises on it", ("raises", "ValidationError")),
    (_replace_second(b'{"modality": "TEXT","tokenCount": 15}', b'{"tokenCount": 15}'), "gemini/schema",
     "python-genai reads `None` there", ("ok", "The capital of France is Paris.\n")),
    (_replace_second(SECOND, b'{"text": " capital of France", "functionCall": {"name": "f", "args": {}}}'),
     "gemini/part-shape", "python-genai takes each of them", ("ok", "The capital of France is Paris.\n", "", "f")),
    (lambda body: body.replace(b'"finishReason": "STOP"', b'"finishReason": "stop"'), "gemini/unknown-enum",
     "python-genai reads its enums regardless of case, as `STOP`", ("ok", "The capital of France is Paris.\n")),
    (lambda body: body.replace(b"\r\n\r\n", b"\r\n\r\n" + body[6:body.index(b"\r\n")] + b"\r\n", 1),
     "gemini/out-of-band-lines", "python-genai reads them as one more chunk",
     ("ok", "TheThe capital of France is Paris.\n")),
    (lambda body: b"\xef\xbb\xbf" + body, "gemini/non-data-field", "a byte order mark before the first line",
     ("raises", "UnknownApiResponseError")),
    (lambda body: b"event: message\r\n" + body, "gemini/non-data-field", "an `event: message` line",
     ("raises", "UnknownApiResponseError")),
], ids=["error-not-first", "error-first", "error-without-code", "array", "number", "thought-string", "count-string",
        "detail-without-modality", "text-and-call", "enum-lower-case", "bare-chunk-line", "bom", "event-message"])
def test_what_a_gemini_finding_says_of_python_genai_is_what_it_does(tmp_path: Path, mutation, rule: str, said: str,
                                                                    outcome: tuple[str, ...]) -> None:
    """Found by feeding mutated streams to google-genai 2.34: "raises `APIError`" of every error object, "raises"
    of every non-object and schema break, "clients read only one of them" of a part with text and a call, "warns"
    of a lower-case enum, "raises" of a bare line that is a chunk; a byte order mark and an explicit `event:
    message`, on which it raises, were not said at all."""
    body = mutation((CORPUS / MULTICHUNK).read_bytes())
    assert said in _message(body, rule)
    got = _sdk_outcome(body, tmp_path)
    assert got[:len(outcome)] == outcome
    # the view shows what python-genai reads, but for lines outside SSE field syntax, which SSE parsers drop
    if got[0] == "ok" and rule != "gemini/out-of-band-lines":
        assembly = check_bytes(body, protocol="gemini").assembly
        assert (assembly.text, assembly.reasoning)[:len(outcome) - 1] == got[1:len(outcome)][:2]


def test_a_stream_cut_after_a_continuation_token_is_said_to_be_resumed_by_python_genai(tmp_path: Path) -> None:
    """google-genai 2.34 continues a stream automatically: a cut after a chunk whose candidate gave a
    `continuationToken` (and no final finish reason) sends the request again with it, where `finish-missing` said a
    client cannot tell a finished answer from a lost connection."""
    body = (CORPUS / MULTICHUNK).read_bytes()
    cut = body[:body.index(b"\r\n\r\n", body.index(b"\r\n\r\n") + 4) + 4]  # the first two chunks
    resumable = _replace_second(b'"role": "model"}', b'"role": "model"}, "continuationToken": "dG9rZW4="')(cut)
    assert "python-genai resumes from the stream's last `continuationToken`" in _message(
        resumable, "gemini/finish-missing")
    assert "continuationToken" not in _message(cut, "gemini/finish-missing")
    requests = []
    stream = tmp_path / "stream.sse"
    stream.write_bytes(resumable)
    with served(stream) as server:
        transport = httpx.HTTPTransport()

        class Counting(httpx.BaseTransport):
            def handle_request(self, request: httpx.Request) -> httpx.Response:
                requests.append(json.loads(request.content))
                return transport.handle_request(request)

        client = genai.Client(api_key=API_KEY, http_options=types.HttpOptions(
            base_url=server.url, httpx_client=httpx.Client(transport=Counting())))
        sdk_answer(client)  # NOTE: the replay answers each request with the same stream: it gives up on no progress
    assert len(requests) > 1 and "dG9rZW4=" in json.dumps(requests[1])


def _in_part(field: bytes):
    return _replace_second(SECOND, SECOND[:-1] + b", " + field + b"}")


def _in_candidate(field: bytes):
    return _replace_second(b'"role": "model"}', b'"role": "model"}, ' + field)


@pytest.mark.parametrize("mutation", [
    _in_part(b'"thoughtSignature": "not base64!!"'),
    _in_part(b'"inlineData": {"mimeType": "image/png", "data": "%%%"}'),
    _in_part(b'"fileData": {"fileUri": 5}'),
    _in_part(b'"functionResponse": {"name": 5, "response": {}}'),
    _in_part(b'"videoMetadata": "x"'),
    _in_part(b'"partMetadata": 5'),
    _in_candidate(b'"citationMetadata": {"citationSources": [{"startIndex": "x"}]}'),
    _in_candidate(b'"groundingMetadata": {"groundingChunks": "x"}'),
    _in_candidate(b'"urlContextMetadata": {"urlMetadata": 5}'),
    _in_candidate(b'"avgLogprobs": "high"'),
    _in_candidate(b'"tokenCount": "x"'),
    _in_candidate(b'"continuationToken": "%%%"'),
], ids=["signature", "inline-data", "file-uri", "response-name", "video-metadata", "part-metadata", "citation-index",
        "grounding-chunks", "url-metadata", "avg-logprobs", "token-count", "continuation-token"])
def test_a_field_python_genai_refuses_is_a_schema_finding(tmp_path: Path, mutation) -> None:
    """Found by the audit: each of these passed `validate` with no finding, while python-genai raised a pydantic
    error at the chunk (its models validate them; base64 as pydantic-core decodes it)."""
    body = mutation((CORPUS / MULTICHUNK).read_bytes())
    assert "python-genai raises on it" in _message(body, "gemini/schema")
    assert _sdk_outcome(body, tmp_path) == ("raises", "ValidationError")


@pytest.mark.parametrize("signature", [b"dG9rZW4=", b"dG9rZW4", b"dG9r_W4-", b""])
def test_base64_python_genai_decodes_is_no_finding(tmp_path: Path, signature: bytes) -> None:
    body = _in_part(b'"thoughtSignature": "' + signature + b'"')((CORPUS / MULTICHUNK).read_bytes())
    assert not [f for f in check_bytes(body, protocol="gemini").findings if f.rule == "gemini/schema"]
    assert _sdk_outcome(body, tmp_path)[0] == "ok"


@pytest.mark.parametrize(("query", "rules"), [("", []), ("?alt=sse", ["http/content-type"])])
def test_a_gemini_request_without_alt_sse_asked_for_one_json_array_not_an_event_stream(
        tmp_path: Path, query: str, rules: list[str]) -> None:
    """llmock 0.2.2 answers `:streamGenerateContent` without `alt=sse` with a JSON array, as Google does: the
    finding said an SSE client cannot read it, where none was asked for (the form is not checked)."""
    path = tmp_path / "array.jsonl"
    writer = RecordingWriter(path, Header(
        request={"method": "POST", "url": f"http://upstream/v1beta/models/gemini-2.5-flash:streamGenerateContent{query}",
                 "headers": {}, "body": None},
        response={"status": 200, "headers": {"content-type": "application/json"}}, source="proxy"))
    writer.chunk(0.0, b'[{"candidates": [{"content": {"parts": [{"text": "Hi"}], "role": "model"}, '
                      b'"finishReason": "STOP"}]}]')
    writer.end(0.1, "complete")
    writer.close()
    assert [finding.rule for finding in open_source(str(path)).validate().findings] == rules


def test_a_last_chunk_cut_inside_its_json_is_said_to_make_python_genai_raise(tmp_path: Path) -> None:
    """Found through google-adk and agno: the message said python-genai "still takes" a last line with no blank line
    after it; when its JSON is cut too, python-genai raises on it instead."""
    whole = b"".join(b"data: " + json.dumps({"candidates": [{"content": {"parts": [{"text": text}], "role": "model"}}]
                                              }).encode() + b"\n\n" for text in ("The answer", " is"))
    cut = tmp_path / "cut.sse"
    cut.write_bytes(whole + b'data: {"candidates": [{"content": {"parts": [{"text": " for')
    with served(cut) as server, pytest.raises(errors.UnknownApiResponseError):
        sdk_answer(gemini_api(server.url))
    [message] = [f.message for f in check_bytes(cut.read_bytes(), protocol="gemini").findings
                 if f.rule == "gemini/finish-missing"]
    assert message.endswith("python-genai, which reads `data: ` lines rather than events, takes it and raises "
                            "`UnknownApiResponseError` on its cut JSON")
