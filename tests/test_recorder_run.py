"""`sse-inspector record` before the proxy runs: modes, the hints it prints, and its usage errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from inspector.cli import cli
from inspector.recorder.run import Listening, RecorderError, mode_for

CA = Path("/home/me/.mitmproxy/mitmproxy-ca-cert.pem")


@pytest.mark.parametrize("reverse, mode", [
    (None, "regular"),
    ("https://api.openai.com", "reverse:https://api.openai.com"),
    ("https://api.anthropic.com/", "reverse:https://api.anthropic.com"),
    ("http://127.0.0.1:9000", "reverse:http://127.0.0.1:9000"),
])
def test_mode_for(reverse, mode):
    assert mode_for(reverse) == mode


@pytest.mark.parametrize("reverse, message", [
    ("api.openai.com", "--reverse needs an http(s) URL such as https://api.openai.com, got 'api.openai.com'"),
    ("ftp://example.com", "--reverse needs an http(s) URL such as https://api.openai.com, got 'ftp://example.com'"),
    ("https://api.openai.com/v1", "--reverse takes the upstream's origin only (no path), got "
                                  "'https://api.openai.com/v1'"),
])
def test_mode_for_refuses_what_is_not_an_origin(reverse, message):
    with pytest.raises(RecorderError) as raised:
        mode_for(reverse)
    assert str(raised.value) == message


@pytest.mark.parametrize("reverse, hints", [
    ("https://api.openai.com", [("openai", "OPENAI_BASE_URL=http://127.0.0.1:8080/v1")]),
    ("https://api.anthropic.com", [("anthropic", "ANTHROPIC_BASE_URL=http://127.0.0.1:8080")]),
    ("https://llm.example.com", [
        ("openai", "OPENAI_BASE_URL=http://127.0.0.1:8080/v1"),
        ("anthropic", "ANTHROPIC_BASE_URL=http://127.0.0.1:8080"),
        ("other", "base URL http://127.0.0.1:8080 followed by the path the upstream expects"),
    ]),
    (None, [
        ("proxy", "HTTPS_PROXY=http://127.0.0.1:8080 HTTP_PROXY=http://127.0.0.1:8080"),
        ("python", f"SSL_CERT_FILE={CA}  (httpx, openai, anthropic; requests: REQUESTS_CA_BUNDLE)"),
        ("node", f"NODE_EXTRA_CA_CERTS={CA}"),
    ]),
])
def test_hints(reverse, hints):
    assert Listening("127.0.0.1", 8080, reverse, CA).hints() == hints


@pytest.mark.parametrize("args, message", [
    (["--reverse", "https://api.openai.com", "--regular"], "--reverse and --regular exclude each other"),
    (["--reverse", "api.openai.com"], "--reverse needs an http(s) URL such as https://api.openai.com"),
    pytest.param(["--dir", "/dev/null"], "--dir /dev/null: not a directory", id="dir-is-a-file"),
    pytest.param(["--dir", "/dev/null/rec"], "--dir /dev/null/rec: cannot write recordings there (Not a directory)",
                 id="dir-cannot-be-created"),
])
def test_record_usage_errors_exit_2_with_one_line(args, message):
    result = CliRunner().invoke(cli, ["record", *args])
    assert (result.exit_code, result.output.startswith(f"sse-inspector: error: {message}")) == (2, True), result.output
    assert result.output.count("\n") == 1
