"""`sse-inspector ls`: one row per recording, newest first, with the stream's verdict and timing."""

import json
import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

from inspector.recording import Header, RecordingWriter
from inspector.view.listing import list_recordings

CORPUS = Path(__file__).parent / "fixtures" / "corpus"

GOOD_CHAT = [
    (0.4, b'data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,'
          b'"delta":{"role":"assistant","content":""},"finish_reason":null}]}\n\n'),
    (0.9, b'data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,'
          b'"delta":{"content":"Hi"},"finish_reason":null}]}\n\n'),
    (1.0, b'data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,'
          b'"delta":{},"finish_reason":"stop"}]}\n\ndata: [DONE]\n\n'),
]
# The stream stops after its first content chunk: no finish_reason, no [DONE].
CUT_CHAT = GOOD_CHAT[:2]


def write(directory: Path, name: str, started_at: str, chunks, status: int = 200, end: float | None = 1.1,
          url: str = "https://api.example.com/v1/chat/completions") -> Path:
    header = Header(request={"method": "POST", "url": url, "headers": {}},
                    response={"status": status, "headers": {"content-type": "text/event-stream"}},
                    source="proxy", id=name, started_at=started_at)
    writer = RecordingWriter(directory / name, header)
    for t, data in chunks:
        writer.chunk(t, data)
    if end is not None:
        writer.end(end, "complete")
    writer.close()
    return directory / name


@pytest.fixture
def recordings(tmp_path: Path) -> Path:
    """A directory with three recordings, a raw SSE file from 2020 and a file that is neither."""
    directory = tmp_path / "recordings"
    (directory / "sub").mkdir(parents=True)
    write(directory, "b-middle.jsonl", "2026-11-21T05:00:00.000Z", GOOD_CHAT)
    write(directory / "sub", "a-newest.jsonl", "2026-11-21T06:30:00.000Z", CUT_CHAT, end=None)
    write(directory, "c-oldest.jsonl", "2026-11-20T23:59:59.000Z", [(0.2, b'{"error":{"message":"nope"}}')],
          status=429)
    raw = directory / "raw.sse"
    raw.write_bytes((CORPUS / "openai-chat" / "openai-python__text-plain.sse").read_bytes())
    old = datetime(2020, 1, 2, 3, 4, 5, tzinfo=UTC).timestamp()
    os.utime(raw, (old, old))
    broken = directory / "broken.jsonl"
    broken.write_bytes(b"hello\n")
    os.utime(broken, (old - 60, old - 60))
    return directory


def test_rows_newest_first_with_their_stream_facts(recordings: Path) -> None:
    rows = [row.to_json() for row in list_recordings(str(recordings))]
    base = {"endpoint": "api.example.com/v1/chat/completions", "protocol": "openai-chat", "model": "m",
            "http_status": 200, "errors": 0, "warnings": 0, "problem": None, "api_error": None}
    assert [(row["path"], row["started_at"]) for row in rows] == [
        (str(recordings / "sub" / "a-newest.jsonl"), "2026-11-21T06:30:00.000Z"),
        (str(recordings / "b-middle.jsonl"), "2026-11-21T05:00:00.000Z"),
        (str(recordings / "c-oldest.jsonl"), "2026-11-20T23:59:59.000Z"),
        (str(recordings / "raw.sse"), "2020-01-02T03:04:05.000Z"),
        (str(recordings / "broken.jsonl"), "2020-01-02T03:03:05.000Z"),
    ]
    newest, middle, oldest, raw, broken = rows
    assert newest == {  # chat/done-missing (naming the unfinished choice)
        **base, "path": newest["path"], "started_at": newest["started_at"], "final_status": None, "events": 2,
        "ttft": 0.9, "duration": 0.9, "verdict": "fail", "errors": 1}
    assert middle == {**base, "path": middle["path"], "started_at": middle["started_at"], "final_status": "stop",
                      "events": 4, "ttft": 0.9, "duration": 1.1, "verdict": "pass"}
    assert {key: oldest[key] for key in ("http_status", "events", "ttft", "verdict", "errors")} == {
        "http_status": 429, "events": 0, "ttft": None, "verdict": "fail", "errors": 1}
    assert {key: raw[key] for key in ("endpoint", "protocol", "http_status", "final_status", "events", "ttft",
                                      "duration", "verdict")} == {
        "endpoint": None, "protocol": "openai-chat", "http_status": None, "final_status": "stop", "events": 34,
        "ttft": None, "duration": None, "verdict": "pass"}
    assert (broken["verdict"], broken["problem"]) == (
        "unreadable", f"{recordings / 'broken.jsonl'}:1: neither a recording nor an SSE stream")


@pytest.mark.parametrize("width", [80, 160])
def test_table_shows_every_file_name_whole(run_cli, recordings: Path, monkeypatch, width: int) -> None:
    monkeypatch.setenv("COLUMNS", str(width))
    result = run_cli("ls", str(recordings))
    assert (result.code, result.err) == (0, "")
    lines = [line.rstrip() for line in result.out.splitlines()]
    assert max(len(line) for line in lines) <= width
    names = ["sub/a-newest.jsonl", "b-middle.jsonl", "c-oldest.jsonl", "raw.sse", "broken.jsonl"]
    if width == 160:  # one line per stream, the file name last
        assert lines[0].split() == ["time", "(UTC)", "protocol", "model", "status", "events", "TTFT", "s", "total",
                                    "s", "verdict", "file"]
        rows = [line.split() for line in lines[1:] if line[:1].isdigit()]
        assert [row[-1] for row in rows] == [f"{name}" if name in ("raw.sse", "broken.jsonl")
                                             else "api.example.com/v1/chat/completions" for name in names]
        assert [row[-2] for row in rows[:3]] == names[:3]  # the endpoint after the name
        rows = [row if row[2] == "unreadable" else row[:3] + row[4:] for row in rows]  # the model: below
    else:  # the name on its own line above its row, with the model (a pipe's 80 columns cut it to `gpt-…`)
        assert lines[:2] == ["file  model  endpoint",
                             "time (UTC)      protocol     status    events  TTFT s  total s  verdict"]
        assert [line.split("  ")[0] for line in lines[2:] if not line[:1].isdigit() and not line.startswith("  ")] \
            == names
        assert lines[2] == "sub/a-newest.jsonl  m  api.example.com/v1/chat/completions"
        assert lines[lines.index("raw.sse  gpt-4o-2024-08-06") + 1].split()[2] == "openai-chat"
        rows = [line.split() for line in lines[2:] if line[:1].isdigit()]
    assert [row[:7] for row in rows] == [
        ["11-21", "06:30:00", "openai-chat", "-", "2", "0.900", "0.900"],
        ["11-21", "05:00:00", "openai-chat", "stop", "4", "0.900", "1.100"],
        ["11-20", "23:59:59", "openai-chat", "HTTP", "429", "0", "-"],
        ["01-02", "03:04:05", "openai-chat", "stop", "34", "-", "-"],
        ["01-02", "03:03:05", "unreadable"] + ([names[-1]] if width == 160 else []),
    ]
    if width == 160:
        assert [line.split()[3] for line in lines[1:5]] == ["m", "m", "-", "gpt-4o-2024-08-06"]


def test_a_long_path_stays_on_one_line_at_80_columns(run_cli, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    deep = tmp_path / "a-rather-long-directory-name" / "and-another-one-below-it"
    deep.mkdir(parents=True)
    path = write(deep, "20261121-050000.000-openai-chat-0123abcd.jsonl", "2026-11-21T05:00:00.000Z", GOOD_CHAT)
    lines = run_cli("ls", str(path)).out.splitlines()
    assert "".join(lines[2:-1]) == f"{path}  api.example.com/v1/chat/completions"


@pytest.mark.parametrize(
    ("options", "names"),
    [
        pytest.param(["--failed"], ["a-newest.jsonl", "c-oldest.jsonl", "broken.jsonl"], id="failed"),
        pytest.param(["--protocol", "openai-chat", "--since", "2026-11-21"], ["a-newest.jsonl", "b-middle.jsonl"],
                     id="protocol-since"),
        pytest.param(["--since", "2026-11-21T05:00:00Z"], ["a-newest.jsonl", "b-middle.jsonl"], id="since-time"),
        pytest.param(["--model", "GPT-4O"], ["raw.sse"], id="model"),
        pytest.param(["--search", "real-time"], ["raw.sse"], id="search-text"),
        pytest.param(["--search", "Hi", "--failed"], ["a-newest.jsonl"], id="search-and-failed"),
        pytest.param(["--search", "nowhere to be found"], [], id="search-nothing"),
    ],
)
def test_filters(run_cli, recordings: Path, options: list[str], names: list[str]) -> None:
    result = run_cli("ls", "--json", *options, str(recordings))
    assert (result.code, [Path(json.loads(line)["path"]).name for line in result.out.splitlines()]) == (0, names)


def test_since_takes_an_age() -> None:
    from inspector.view.listing import parse_since

    now = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
    assert [parse_since(age, now) for age in ("90s", "30m", "2h", "1.5d")] == [
        datetime(2026, 11, 21, 11, 58, 30, tzinfo=UTC), datetime(2026, 11, 21, 11, 30, tzinfo=UTC),
        datetime(2026, 11, 21, 10, 0, tzinfo=UTC), datetime(2026, 11, 20, 0, 0, tzinfo=UTC)]


@pytest.mark.parametrize("age", ["1000000d", "99999999999d", "1" + "0" * 400 + "s"])
def test_an_age_before_any_date_keeps_everything(run_cli, recordings: Path, age: str) -> None:
    """An age reaching back past year 1 (a datetime's range) means no limit, not an `OverflowError`."""
    result = run_cli("ls", "--json", "--since", age, str(recordings))
    assert (result.code, len(result.out.splitlines()), result.err) == (0, len(run_cli("ls", "--json", str(
        recordings)).out.splitlines()), "")


def test_a_bad_since_is_one_line_and_exit_2(run_cli, recordings: Path) -> None:
    result = run_cli("ls", "--since", "yesterday", str(recordings))
    assert (result.code, result.out, result.err.splitlines()[-1]) == (
        2, "", "sse-inspector: error: Invalid value for '--since': expected a date, a date and time (UTC) or an age "
               "such as 30m, 2h, 1d; got 'yesterday'")


def test_json_lines(run_cli, recordings: Path) -> None:
    result = run_cli("ls", "--json", str(recordings))
    rows = [json.loads(line) for line in result.out.splitlines()]
    assert [(Path(row["path"]).name, row["verdict"]) for row in rows] == [
        ("a-newest.jsonl", "fail"), ("b-middle.jsonl", "pass"), ("c-oldest.jsonl", "fail"), ("raw.sse", "pass"),
        ("broken.jsonl", "unreadable")]


def test_the_endpoint_shows_no_credentials(run_cli, tmp_path: Path, monkeypatch) -> None:
    """The endpoint column dropped the query but kept `user:password@`."""
    monkeypatch.setenv("COLUMNS", "160")
    url = "https://user:sk-proj-SECRETVALUE0123456789TAIL@api.example.com:8443/v1/chat/completions?key=sk-x"
    write(tmp_path, "a.jsonl", "2026-11-21T05:00:00.000Z", GOOD_CHAT, url=url)
    listed = run_cli("ls", str(tmp_path)).out
    assert "a.jsonl  api.example.com:8443/v1/chat/completions\n" in listed
    assert json.loads(run_cli("ls", "--json", str(tmp_path)).out)["endpoint"] == \
        "api.example.com:8443/v1/chat/completions"
    assert "SECRET" not in listed and "user" not in listed


def test_default_directory_is_recordings(run_cli, recordings: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(recordings.parent)
    result = run_cli("ls", "--json")
    assert [Path(json.loads(line)["path"]).name for line in result.out.splitlines()] == [
        "a-newest.jsonl", "b-middle.jsonl", "c-oldest.jsonl", "raw.sse", "broken.jsonl"]


def test_empty_directory(run_cli, tmp_path: Path) -> None:
    assert (run_cli("ls", str(tmp_path)).code, run_cli("ls", str(tmp_path)).out) == (0, "no recordings\n")


def test_filters_that_match_nothing_do_not_say_the_directory_is_empty(run_cli, recordings: Path) -> None:
    result = run_cli("ls", str(recordings), "--search", "zzzzqqq")
    assert (result.code, result.out) == (0, "no recording matches the filters\n")


def test_missing_directory_is_exit_2(run_cli, tmp_path: Path) -> None:
    result = run_cli("ls", str(tmp_path / "nope"))
    assert (result.code, result.out, result.err) == (
        2, "", f"sse-inspector: error: {tmp_path / 'nope'}: no such file or directory\n")


def test_listing_one_file_shows_its_path(tmp_path: Path) -> None:
    import io

    from rich.console import Console

    from inspector.view.listing import RecordingTable, list_recordings

    path = tmp_path / "one.sse"
    path.write_bytes(b"data: {}\n\n")
    console = Console(width=200, file=io.StringIO(), color_system=None)
    console.print(RecordingTable(list_recordings(str(path)), str(path)))
    assert str(path) in console.file.getvalue()


def test_errors_lists_the_streams_that_carried_an_in_band_error_though_they_pass(run_cli, tmp_path: Path) -> None:
    """Kilo Code retried a quota error for 70 s; the streams passed (the error is the API's, the stream is right),
    so `--failed` found none of them and the status column said `-` for one the client left at the error."""
    errored = (CORPUS / "openai-responses" / "vercel-ai__error-then-failed.sse").read_bytes()
    (tmp_path / "quota.sse").write_bytes(errored)
    (tmp_path / "left-at-error.sse").write_bytes(errored[: errored.index(b"event: response.failed")])
    (tmp_path / "text.sse").write_bytes((CORPUS / "openai-chat" / "openai-python__text-plain.sse").read_bytes())
    rows = {Path(row["path"]).name: row for row in map(json.loads, run_cli("ls", "--json", "--errors",
                                                                             str(tmp_path)).out.splitlines())}
    assert sorted(rows) == ["left-at-error.sse", "quota.sse"]
    assert rows["quota.sse"]["verdict"] == "pass" and rows["quota.sse"]["api_error"].startswith("You exceeded")
    assert run_cli("ls", "--failed", "--json", str(tmp_path)).out.count("quota.sse") == 0
    table = run_cli("ls", str(tmp_path)).out
    assert " failed " in table and " error " in table
