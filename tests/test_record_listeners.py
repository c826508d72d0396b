"""`sse-inspector record` with several listeners and its TLS options, end to end: real clients, a real proxy, real
upstreams (plain HTTP, and HTTPS behind a throwaway private CA)."""

from __future__ import annotations

import socket
import ssl
import textwrap
from pathlib import Path

import httpx
import pytest
from recorder_helpers import CORPUS, WAIT, read_recording, recorded_body, run_mitmdump, run_tls_upstream, run_upstream

pytestmark = pytest.mark.slow

CHAT = "openai-chat/openai-python__text-plain.sse"
RESPONSES = "openai-responses/vercel-ai__text-minimal.sse"
ANTHROPIC = "anthropic-messages/vercel-ai__text.sse"
MITMPROXY_CA = Path("~/.mitmproxy/mitmproxy-ca-cert.pem").expanduser()


def trusting_mitmproxy() -> ssl.SSLContext:
    """What a client through the regular proxy trusts: mitmproxy's CA (`record` created it on its first start)."""
    return ssl.create_default_context(cafile=MITMPROXY_CA)


@pytest.fixture(scope="module")
def upstream():
    with run_upstream() as running:
        yield running


@pytest.fixture(scope="module")
def tls_upstream(tmp_path_factory):
    with run_tls_upstream(tmp_path_factory.mktemp("tls")) as running:
        yield running


def post(url: str, corpus: str, **client: object) -> httpx.Response:
    with httpx.Client(timeout=WAIT, **client) as session:
        return session.post(url, json={"stream": True}, headers={"X-Corpus": corpus})


def by_url(directory: Path) -> dict[str, tuple[bytes, str]]:
    """(body, end reason) of each recording in `directory`, by request URL."""
    found = {}
    for path in directory.iterdir():
        header, chunks, end = read_recording(path)
        found[header["request"]["url"]] = recorded_body(chunks), end["reason"]
    return found


def test_reverse_listeners_and_a_regular_one_in_one_record(upstream, tls_upstream, record_command, tmp_path):
    """Two upstreams, one given a port of its own, plus the regular proxy: all listed at start, each recording."""
    secure, ca_file = tls_upstream
    with socket.socket() as probe:  # a free port for the @PORT form
        probe.bind(("127.0.0.1", 0))
        asked = probe.getsockname()[1]
    command, _, banner = record_command(
        "--reverse", upstream.url, "--reverse", f"{secure.url}@{asked}", "--regular", "--upstream-ca", str(ca_file),
        "--dir", str(tmp_path / "rec"), banner_lines=15,
    )
    listeners = [line.strip() for line in banner if line.startswith("  ") and not line.startswith("    ")]
    assert banner[0] == f"recording to {tmp_path / 'rec'}/ — 3 listeners"
    assert [line.rsplit(":", 1)[0] for line in listeners] == [
        f"reverse proxy for {upstream.url} on http://127.0.0.1", f"reverse proxy for {secure.url} on http://127.0.0.1",
        "regular proxy on http://127.0.0.1",
    ]
    plain, private, regular = (line.split(" on ")[-1] for line in listeners)
    assert private == f"http://127.0.0.1:{asked}"
    responses = [
        post(f"{plain}/v1/chat/completions", CHAT),
        post(f"{private}/v1/messages", ANTHROPIC),
        post(f"{secure.url}/v1/responses", RESPONSES, proxy=regular, verify=trusting_mitmproxy()),
    ]
    live = [command.line() for _ in responses]
    code, rest, err = command.stop()
    assert [response.content for response in responses] == [(CORPUS / name).read_bytes()
                                                           for name in (CHAT, ANTHROPIC, RESPONSES)]
    assert [line.split("  ")[-1] for line in live] == ["ok"] * 3
    assert (code, rest, err) == (0, [f"stopped: 3 streams recorded to {tmp_path / 'rec'}/ (3 ok, 0 failed)"], "")
    assert by_url(tmp_path / "rec") == {
        f"{upstream.url}/v1/chat/completions": ((CORPUS / CHAT).read_bytes(), "complete"),
        f"{secure.url}/v1/messages": ((CORPUS / ANTHROPIC).read_bytes(), "complete"),
        f"{secure.url}/v1/responses": ((CORPUS / RESPONSES).read_bytes(), "complete"),
    }


def test_a_request_for_a_reverse_listener_sent_through_the_regular_one_reaches_its_upstream(
        upstream, record_command, tmp_path):
    """Qwen Code under `run`: undici's `ProxyAgent` ignores `NO_PROXY`, so requests for `OPENAI_BASE_URL` (a reverse
    listener) came through the regular listener, and mitmproxy refused to connect to itself: every one failed."""
    command, _, banner = record_command("--reverse", upstream.url, "--regular", "--dir", str(tmp_path / "rec"),
                                        banner_lines=10)
    reverse, regular = (line.strip().split(" on ")[-1] for line in banner
                        if line.startswith("  ") and not line.startswith("    "))
    response = post(f"{reverse}/v1/chat/completions", CHAT, proxy=regular)
    live = command.line()
    code, _, err = command.stop()
    assert (response.status_code, response.content) == (200, (CORPUS / CHAT).read_bytes())
    assert live.endswith("ok") and (code, err) == (0, "")
    assert by_url(tmp_path / "rec") == {
        f"{upstream.url}/v1/chat/completions": ((CORPUS / CHAT).read_bytes(), "complete")}


def test_regular_mode_records_an_unreachable_https_host_with_the_connect_error(record_command, tmp_path):
    with socket.socket() as refusing:  # bound, not listening: a connection to it is refused
        refusing.bind(("127.0.0.1", 0))
        port = refusing.getsockname()[1]
        command, proxy, _ = record_command("--regular", "--dir", str(tmp_path / "rec"), banner_lines=4)
        response = post(f"https://127.0.0.1:{port}/v1/chat/completions", CHAT, proxy=proxy, verify=trusting_mitmproxy())
        live = command.line()
    command.stop()
    assert response.status_code == 502
    assert live.split("  ")[1:5] == ["POST /v1/chat/completions", "openai-chat", "---", "no response"]
    [path] = (tmp_path / "rec").iterdir()
    header, chunks, end = read_recording(path)
    assert (header["request"]["url"], chunks, end["reason"], end["error"]) == (
        f"https://127.0.0.1:{port}/v1/chat/completions", [], "error",
        f"[Errno 111] Connect call failed ('127.0.0.1', {port})")


@pytest.mark.parametrize("streams, recorded, counted", [("all", 1, "1 stream"), ("llm", 0, "0 streams")])
def test_streams_all_records_event_streams_off_llm_paths(upstream, record_command, tmp_path, streams, recorded,
                                                         counted):
    command, base_url, _ = record_command("--reverse", upstream.url, "--streams", streams, "--dir", str(tmp_path / "r"))
    response = post(f"{base_url}/notifications", CHAT)
    if recorded:
        assert command.line().split("  ")[1:3] == ["POST /notifications", "openai-chat"]  # known by its events
    code, rest, _ = command.stop()
    assert (code, response.content) == (0, (CORPUS / CHAT).read_bytes())
    assert rest == [f"stopped: {counted} recorded to {tmp_path / 'r'}/ ({recorded} ok, 0 failed)"]


def test_the_recorder_keeps_the_stream_callable_of_an_addon_loaded_before_it(upstream, tmp_path):
    """A real mitmdump with another addon that rewrites the stream: the app gets the rewritten bytes, the recording
    the upstream's."""
    other = tmp_path / "shout.py"
    other.write_text(textwrap.dedent("""
        class Shout:
            def responseheaders(self, flow):
                flow.response.stream = lambda data: data.replace(b"data:", b"DATA:")

        addons = [Shout()]
    """))
    with run_mitmdump(tmp_path, upstream.url, addons_before=(other,)) as proxy:
        response = post(f"{proxy.url}/v1/chat/completions", CHAT)
        [line] = proxy.results(1)
    sent = (CORPUS / CHAT).read_bytes()
    assert response.content == sent.replace(b"data:", b"DATA:")
    _, chunks, end = read_recording(line.split()[-1])
    assert (recorded_body(chunks), end["reason"]) == (sent, "complete")
