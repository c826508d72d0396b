"""The verdict on a finished recording: its end reason judged from the events, then the proxy's hooks."""

import json
import time
from pathlib import Path

import pytest

from inspector.recorder.decode import BodyDecoder
from inspector.recorder.stream import ChunkWriter, Ending, StreamRecording
from inspector.recorder.verdict import conclude
from inspector.recording import Header

CORPUS = Path(__file__).parent / "fixtures" / "corpus"
TEXT_PLAIN = (CORPUS / "openai-chat" / "openai-python__text-plain.sse").read_bytes()


def finished(tmp_path: Path, status: int | None, body: bytes, ending: Ending, *, url_path: str = "/v1/chat/completions",
             content_type: str = "text/event-stream") -> tuple:
    path = tmp_path / "r.jsonl"
    response = None if status is None else {"status": status, "headers": {"content-type": content_type}}
    header = Header(request={"method": "POST", "url": f"http://x{url_path}"}, response=response)
    summary = {"method": "POST", "path": url_path, "status": status, "sse": True}
    recording = StreamRecording(ChunkWriter(path, header), time.time(), BodyDecoder(None), summary=summary)
    if body:
        recording.on_chunk(body)
    recording.finish()
    result = conclude(recording, ending)
    end = json.loads(path.read_text().splitlines()[-1])
    return result, end


@pytest.mark.parametrize(
    ("status", "body", "reason"),
    [
        (200, TEXT_PLAIN, "complete"),
        (200, TEXT_PLAIN[: TEXT_PLAIN.index(b"data: [DONE]")], "upstream-closed"),
        (500, TEXT_PLAIN, "complete"),  # an error status: the body is not read as events, nothing was cut
    ],
    ids=["whole", "cut", "error-status"],
)
def test_end_reason_of_a_body_that_ended_normally(tmp_path: Path, status: int, body: bytes, reason: str) -> None:
    result, end = finished(tmp_path, status, body, Ending("response"))
    assert (result.reason, end["reason"]) == (reason, reason)


def test_a_client_that_left_early_is_not_blamed_on_the_server(tmp_path: Path) -> None:
    cut = TEXT_PLAIN[: TEXT_PLAIN.index(b"data: [DONE]")]
    result, end = finished(tmp_path, 200, cut, Ending("client", "client disconnected"))
    assert end["reason"] == "client-disconnected"
    assert [finding.rule for finding in result.findings] == ["sse/not-ended-by-server"]


def test_an_upstream_that_never_answered_says_why_in_the_live_line(tmp_path: Path) -> None:
    result, end = finished(tmp_path, None, b"", Ending("upstream", "connect failed: connection refused"))
    assert (end["reason"], end["error"]) == ("upstream-closed", "connect failed: connection refused")
    assert result.line().endswith("FAIL connect failed: connection refused")


def test_the_verdict_process_judges_every_corpus_stream_as_this_process_does(tmp_path: Path) -> None:
    """The addon judges in a child process (never on the proxy's GIL): same results as judging here, cut or not."""
    import os

    from inspector.recorder.verdict import Finished, judge
    from inspector.recorder.verdict_process import VerdictProcess

    pool = VerdictProcess()
    try:
        assert pool.submit(os.getpid).result(timeout=120) != os.getpid()
        for number, source in enumerate(sorted(CORPUS.glob("*/*.sse"))):
            body = source.read_bytes()
            for cut, ending in ((len(body), Ending("response")), (len(body) // 2, Ending("client"))):
                path = tmp_path / f"{number}-{cut}.jsonl"
                header = Header(request={"method": "POST", "url": "http://x/v1/x"}, response=None)
                summary = {"method": "POST", "path": "/v1/x", "status": 200, "sse": True}
                recording = StreamRecording(ChunkWriter(path, header), time.time(), BodyDecoder(None), summary=summary)
                *events, rest = body[:cut].split(b"\n\n")
                for chunk in [event + b"\n\n" for event in events] + [rest]:  # a chunk line per event: batches
                    recording.on_chunk(chunk)
                recording.finish()
                finished = Finished.of(recording, ending)
                assert pool.submit(judge, finished).result(timeout=120) == judge(finished), source.name
    finally:
        pool.shutdown()


def test_the_verdicts_ttft_is_the_one_view_shows_on_every_corpus_stream(tmp_path: Path) -> None:
    """The verdict times the first token with `FirstTokenClock` alone, not the whole `TimingRecorder`: the same
    TTFT as `view`'s on every stream, each event in a chunk of its own, a hundredth of a second apart."""
    from inspector.inputs import open_source
    from inspector.recorder.stream import chunk_lines
    from inspector.recorder.verdict import Finished, judge
    from inspector.view.model import inspect

    timed = 0
    for number, source in enumerate(sorted(CORPUS.glob("*/*.sse"))):
        body = source.read_bytes()
        events = [block + b"\n\n" for block in body.split(b"\n\n") if block]
        path = tmp_path / f"{number}.jsonl"
        writer = ChunkWriter(path, Header(request={"method": "POST", "url": "http://x/v1/x"}, response=None))
        writer.write(chunk_lines([0.5 + index / 100 for index in range(len(events))], events))
        summary = {"method": "POST", "path": "/v1/x", "status": 200, "sse": True}
        finished = Finished(str(path), time.time(), 9.0, summary, Ending("response"), None)
        shown = inspect(open_source(str(path))).timing.ttft
        assert judge(finished).ttft == shown, source.name
        timed += shown is not None and shown > 0.5
    assert timed >= 40  # many streams' first token is not their first event


def test_a_json_answer_to_a_stream_request_is_complete_not_cut(tmp_path: Path) -> None:
    """llm-mock answers `stream: true` with one JSON object (200, `application/json`): whole, not cut; the finding
    says what it was."""
    body = b'{"id": "c", "object": "chat.completion", "choices": []}'
    result, _ = finished(tmp_path, 200, body, Ending("response"), content_type="application/json")
    assert (result.reason, [finding.rule for finding in result.findings]) == ("complete", ["http/content-type"])
    assert "  0 events  " in result.line()


def test_a_json_error_body_sent_as_an_event_stream_is_complete_not_cut(tmp_path: Path) -> None:
    """Google's 404 body replayed with status 200 and `text/event-stream` (Gemini CLI's audit): the whole body came,
    one JSON error; said by `sse/json-error-body`, and not a stream cut after 0 events."""
    body = (CORPUS / "gemini-generate-content" / "js-genai__http-404-error-body.sse").read_bytes()
    result, end = finished(tmp_path, 200, body, Ending("response"))
    assert (end["reason"], [finding.rule for finding in result.findings]) == ("complete", ["sse/json-error-body"])
    assert "  0 events  " in result.line()


def test_a_stream_the_client_left_after_a_stall_says_how_long_the_server_had_been_silent(tmp_path: Path) -> None:
    """Mistral Vibe waited 30 s on a stalled upstream until the user pressed Ctrl-C: the line said only
    `cut after 3 events (client-disconnected) ... ok (1 warning)`."""
    from inspector.recorder.verdict import Finished, judge
    from inspector.recording import RecordingWriter

    path = tmp_path / "r.jsonl"
    header = Header(request={"method": "POST", "url": "http://x/v1/chat/completions"},
                    response={"status": 200, "headers": {"content-type": "text/event-stream"}})
    writer = RecordingWriter(path, header)
    writer.chunk(0.25, TEXT_PLAIN[: TEXT_PLAIN.index(b"\n\n") + 2])
    writer.close()
    summary = {"method": "POST", "path": "/v1/chat/completions", "status": 200, "sse": True}
    stalled = judge(Finished(str(path), time.time(), 30.35, summary, Ending("client", "client disconnected"), None))
    assert "  cut after 1 event (client-disconnected, 30.1 s after the server's last bytes)  " in stalled.line()
    prompt = judge(Finished(str(path), time.time(), 0.5, summary, Ending("client", "client disconnected"), None))
    assert "  cut after 1 event (client-disconnected)  " in prompt.line()


def test_an_in_band_error_is_on_the_live_line_and_counted_though_the_stream_is_right(tmp_path: Path) -> None:
    """Kilo Code retried a quota error for 70 s while every line and the summary said `ok`: the stream was right (the
    error is a warning), the answer was the API's refusal."""
    from inspector.recorder.run import Tally

    body = (CORPUS / "openai-responses" / "vercel-ai__error-then-failed.sse").read_bytes()
    result, _ = finished(tmp_path, 200, body, Ending("response"), url_path="/v1/responses")
    assert not result.failed
    assert ("  4 events  in-band error: You exceeded your current quota, please check your plan and…  ok (1 warning)"
            in result.line())
    tally = Tally()
    tally.add(result)
    assert tally.counts() == "1 ok, 0 failed; 1 with an in-band error"
