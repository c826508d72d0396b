"""The replay server's pieces without a network: pacing and fault steps, what gets served, in which order."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from inspector.inputs import InputError
from inspector.protocols import detect
from inspector.recording import Chunk, Header, RecordingWriter
from inspector.replay import Catalog, Cut, Entry, Faults, Pause, Send, describe, load_entries, schedule

ROOT = Path(__file__).parent.parent
CORPUS = ROOT / "tests" / "fixtures" / "corpus"

A, B, C = b"data: a\n\n", b"data: b\n\n", b"data: c\n\n"


class TestSchedule:
    def test_recorded_chunks_go_out_unchanged_at_their_time_divided_by_speed(self) -> None:
        chunks = [Chunk(0.1, A), Chunk(0.3, B + C)]
        assert list(schedule(chunks, speed=2)) == [Send(0.05, A), Send(0.15, B + C)]

    @pytest.mark.parametrize(("speed", "gap"), [(1, 0.02), (4, 0.005)])
    def test_untimed_bytes_go_out_one_event_per_20_ms(self, speed: float, gap: float) -> None:
        chunks = [Chunk(None, A + B[:4]), Chunk(None, B[4:] + C + b": trailing comment")]
        assert list(schedule(chunks, speed=speed)) == [
            Send(0.0, A), Send(gap, B), Send(2 * gap, C), Send(3 * gap, b": trailing comment"),
        ]

    @pytest.mark.parametrize(
        ("faults", "steps"),
        [
            pytest.param(Faults(cut_after=0), [Cut()], id="cut-before-anything"),
            pytest.param(Faults(cut_after=1), [Send(0.1, A), Cut()], id="cut-inside-a-chunk"),
            pytest.param(Faults(cut_after=2), [Send(0.1, A + B), Cut()], id="cut-at-chunk-end"),
            pytest.param(Faults(cut_after=3), [Send(0.1, A + B), Send(0.2, C), Cut()], id="cut-after-the-last-event"),
            pytest.param(Faults(cut_after=9), [Send(0.1, A + B), Send(0.2, C)], id="cut-beyond-the-stream"),
            pytest.param(Faults(stall_at=0, stall_seconds=5), [Pause(5), Send(0.1, A + B), Send(0.2, C)],
                         id="stall-before-the-first-event"),
            pytest.param(Faults(stall_at=1, stall_seconds=5), [Send(0.1, A), Pause(5), Send(0.1, B), Send(0.2, C)],
                         id="stall-inside-a-chunk"),
            pytest.param(Faults(stall_at=2, stall_seconds=5), [Send(0.1, A + B), Pause(5), Send(0.2, C)],
                         id="stall-between-chunks"),
        ],
    )
    def test_faults_split_a_chunk_only_where_they_sit(self, faults: Faults, steps: list) -> None:
        assert list(schedule([Chunk(0.1, A + B), Chunk(0.2, C)], faults=faults)) == steps

    def test_a_crlf_split_between_chunks_counts_one_event(self) -> None:
        chunks = [Chunk(0.1, b"data: a\r\n\r"), Chunk(0.2, b"\ndata: b\r\n\r\n")]
        assert list(schedule(chunks, faults=Faults(cut_after=2))) == [
            Send(0.1, b"data: a\r\n\r"), Send(0.2, b"\ndata: b\r\n\r\n"), Cut(),
        ]

    def test_speed_must_be_positive(self) -> None:
        with pytest.raises(ValueError, match="speed must be positive"):
            list(schedule([Chunk(0.1, A)], speed=0))


@pytest.mark.parametrize(("value", "parsed"), [("3:1.5", (3, 1.5)), ("0:0", (0, 0.0)), ("12:2", (12, 2.0))])
def test_stall_option_parses(value: str, parsed: tuple[int, float]) -> None:
    assert Faults.parse_stall(value) == parsed


@pytest.mark.parametrize("value", ["3", "x:1", "3:x", "-1:2", "3:-1", "3:inf", ":"])
def test_stall_option_rejects(value: str) -> None:
    with pytest.raises(ValueError, match="expected EVENT:SECONDS"):
        Faults.parse_stall(value)


def _entry(name: str, path: str | None, protocol: str | None) -> Entry:
    return Entry(name, path, protocol, 200, ())


class TestCatalog:
    ENTRIES = [
        _entry("chat-1", "/v1/chat/completions", "openai-chat"),
        _entry("messages", "/v1/messages", "anthropic-messages"),
        _entry("chat-2", "/v1/chat/completions", "openai-chat"),
        _entry("raw-responses", None, "openai-responses"),
    ]

    @pytest.mark.parametrize(
        ("path", "served"),
        [
            pytest.param("/v1/chat/completions", ["chat-1", "chat-2", "chat-1"], id="same-path-in-turn"),
            pytest.param("/v1/messages", ["messages", "messages"], id="same-path-only-one"),
            pytest.param("/openai/v1/responses", ["raw-responses"], id="same-protocol"),
            pytest.param("/anything", ["chat-1", "messages", "chat-2", "raw-responses", "chat-1"], id="any"),
        ],
    )
    def test_picks_by_path_then_protocol_then_any_in_turn(self, path: str, served: list[str]) -> None:
        catalog = Catalog(list(self.ENTRIES))
        assert [catalog.pick(path).file for _ in served] == served  # type: ignore[union-attr]

    @pytest.mark.parametrize("path", ["/v1/responses", "/v1beta/models/g:streamGenerateContent"])
    def test_a_path_of_a_protocol_no_recording_has_is_answered_by_none(self, path: str) -> None:
        """A Chat stream sent to a Responses client breaks it far from the cause: nothing is picked (a 404)."""
        catalog = Catalog([_entry("chat-1", "/v1/chat/completions", "openai-chat"),
                           _entry("messages", "/v1/messages", "anthropic-messages")])
        assert (catalog.pick(path), catalog.pick("/v1/chat/completions").file) == (None, "chat-1")  # type: ignore[union-attr]
        assert catalog.not_found(path) == (f"no recording of {detect.from_path(path)} is served for {path} "
                                           "(serving anthropic-messages, openai-chat)")

    def test_a_recording_of_no_known_protocol_answers_where_none_of_the_paths_protocol_is_served(self) -> None:
        """An error body or a file that does not parse may be what the user means to serve, to any client."""
        catalog = Catalog([_entry("chat-1", "/v1/chat/completions", "openai-chat"), _entry("error", None, None)])
        assert [catalog.pick(path).file for path in ("/v1/responses", "/v1/chat/completions", "/api/generate",  # type: ignore[union-attr]
                                                     "/api/generate")] == ["error", "chat-1", "chat-1", "error"]

    def test_serve_lists_what_a_recording_without_a_path_answers(self) -> None:
        assert describe([_entry("raw.sse", None, "openai-chat"), _entry("odd.sse", None, None)]) == [
            "(any path but another protocol's)  openai-chat  raw.sse", "(any path)  unknown protocol  odd.sse"]


class TestLoadEntries:
    def test_a_recording_keeps_status_and_headers_but_not_the_hop_by_hop_ones(self, tmp_path: Path) -> None:
        header = Header(
            request={"method": "POST", "url": "https://api.example.com/v1/chat/completions?x=1", "headers": {}},
            response={"status": 429, "headers": {
                "Content-Type": "application/json", "Content-Length": "12", "Transfer-Encoding": "chunked",
                "Connection": "keep-alive", "Content-Encoding": "gzip", "x-request-id": "req_1"}},
            protocol=None,
        )
        RecordingWriter(tmp_path / "r.jsonl", header).end(0.1, "complete")
        assert load_entries([str(tmp_path)]) == [
            Entry(str(tmp_path / "r.jsonl"), "/v1/chat/completions", "openai-chat", 429,
                  (("Content-Type", "application/json"), ("x-request-id", "req_1"))),
        ]

    @pytest.mark.parametrize(
        ("file", "protocol"),
        [
            ("openai-chat/openai-python__text-plain.sse", "openai-chat"),
            ("openai-responses/vercel-ai__text-minimal.sse", "openai-responses"),
            ("anthropic-messages/vercel-ai__text.sse", "anthropic-messages"),
        ],
    )
    def test_a_raw_sse_file_is_an_event_stream_of_the_protocol_its_events_name(self, file: str, protocol: str) -> None:
        path = str(CORPUS / file)
        assert load_entries([path]) == [Entry(path, None, protocol, 200, (("Content-Type", "text/event-stream"),))]

    @pytest.mark.parametrize(("paths", "message"), [(["-"], "needs files, not stdin"), (["nope"], "no such file")])
    def test_unusable_paths(self, paths: list[str], message: str) -> None:
        with pytest.raises(InputError, match=message):
            load_entries(paths)

    def test_a_broken_recording_is_refused_at_startup_not_mid_response(self, tmp_path: Path) -> None:
        writer = RecordingWriter(tmp_path / "r.jsonl", Header(request={}))
        writer.chunk(0.1, A)
        writer.close()
        with (tmp_path / "r.jsonl").open("a") as file:
            file.write('{"kind": "chunk", "t": "soon", "text": "x"}\n')
        with pytest.raises(InputError, match=r"r\.jsonl:3: broken recording line"):
            load_entries([str(tmp_path)])


def test_the_example_recordings_hold_their_corpus_streams_byte_for_byte() -> None:
    """Provenance: each example is its corpus stream cut into events, nothing added (see the README there)."""
    examples = sorted((ROOT / "recordings" / "examples").glob("*.jsonl"))
    assert {path.name for path in examples} >= {
        "openai-chat-parallel-tool-calls.jsonl", "openai-responses-function-call.jsonl",
        "anthropic-messages-tool-use.jsonl", "gemini-function-call.jsonl",
    }
    for path in examples:
        lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
        body = "".join(line["text"] for line in lines if line["kind"] == "chunk").encode()
        assert body == (ROOT / lines[0]["origin"]).read_bytes(), path.name
        assert lines[-1]["reason"] == "complete"
