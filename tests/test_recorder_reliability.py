"""The recorder under real-world input, end to end through a real mitmdump: a long conversation's request
body, secrets wherever a client puts them, and clients that hang up."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import httpx
import pytest
from recorder_helpers import CORPUS, SECRET, WAIT, read_recording, recorded_body, run_mitmdump, run_upstream

pytestmark = pytest.mark.slow

CHAT = "openai-chat/openai-python__text-plain.sse"


@pytest.fixture(scope="module")
def upstream():
    with run_upstream() as running:
        yield running


@pytest.fixture(scope="module")
def proxy(upstream, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("mitmdump")
    with run_mitmdump(tmp, upstream.url, "--set", "sse_redact=X-Team-Id") as running:
        yield running


def test_a_one_megabyte_request_body_round_trips_through_every_command(proxy, run_cli, tmp_path):
    """A long conversation: the header line is over 1 MB; recorded, listed, viewed, validated and diffed."""
    conversation = [{"role": "user", "content": f"turn {n}: " + "lorem ipsum " * 800} for n in range(110)]
    body = {"model": "gpt-4o", "stream": True, "messages": conversation}
    assert len(json.dumps(body)) > 1_000_000
    with httpx.stream("POST", f"{proxy.url}/v1/chat/completions", json=body,
                      headers={"X-Corpus": CHAT}, timeout=WAIT) as response:
        received = response.read()
    [line] = proxy.results(1)
    assert received == (CORPUS / CHAT).read_bytes()
    assert line.split("  ")[-2] == "ok", line
    path = Path(line.split()[-1])
    header, chunks, end = read_recording(path)
    assert json.loads(header["request"]["body"]) == body
    assert (recorded_body(chunks), end["reason"]) == (received, "complete")

    listed = run_cli("ls", "--json", str(path))
    assert (listed.code, json.loads(listed.out)["verdict"]) == (0, "pass")
    viewed = run_cli("view", "--json", str(path))
    assert (viewed.code, json.loads(viewed.out)["end"]["reason"]) == (0, "complete")
    assert run_cli("validate", str(path)).code == 0
    assert run_cli("events", str(path)).code == 0
    compared = run_cli("diff", str(path), str(CORPUS / CHAT))
    assert (compared.code, compared.err) == (0, "")


def test_no_secret_reaches_disk_wherever_the_client_or_the_upstream_puts_it(proxy, run_cli, tmp_path):
    """Headers (Cookie, a user-named one), query parameters, JSON fields at any depth, the response's Set-Cookie."""
    body = {"stream": True, "max_tokens": 77, "top_k": 5, "openai_api_key": SECRET, "private_key": SECRET,
            "metadata": {"x-api-key": SECRET, "items": [{"sessionToken": SECRET}]}, "messages": []}
    headers = {"X-Corpus": CHAT, "Authorization": f"Bearer {SECRET}", "Cookie": f"session={SECRET}; theme=dark",
               "X-Team-Id": SECRET}
    url = f"{proxy.url}/v1/chat/completions?openai_api_key={SECRET}&alt=sse"
    with httpx.stream("POST", url, json=body, headers=headers, timeout=WAIT) as response:
        response.read()
    [line] = proxy.results(1)
    path = Path(line.split()[-1])
    text = path.read_text()
    assert "SECRETVALUE" not in text
    header, _, _ = read_recording(path)
    request = header["request"]
    assert json.loads(request["body"])["max_tokens"] == 77 and json.loads(request["body"])["top_k"] == 5
    assert request["url"].endswith("?openai_api_key=…wxyz&alt=sse")
    sent = {name.lower(): value for name, value in request["headers"].items()}
    assert (sent["cookie"], sent["x-team-id"], sent["authorization"]) == ("…dark", "…wxyz", "Bearer …wxyz")
    assert {name.lower(): value for name, value in header["response"]["headers"].items()}["set-cookie"] == "…wxyz"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600

    page = tmp_path / "page.html"
    page.write_text("")
    os.chmod(page, 0o644)
    assert run_cli("view", "--html", str(page), str(path)).code == 0
    assert stat.S_IMODE(page.stat().st_mode) == 0o600  # it holds the prompt: like a recording
