"""`sse-inspector record` before the proxy runs (modes, the hints it prints, its usage errors), and what it does once
the proxy listens."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from inspector.cli import cli
from inspector.recorder.run import Listening, RecorderError, Settings, Target, assign_ports, banner, mode_for

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
    # Gemini CLI and google-genai read it (an auditor's Gemini CLI run was told of the other two only)
    ("https://generativelanguage.googleapis.com", [("gemini", "GOOGLE_GEMINI_BASE_URL=http://127.0.0.1:8080")]),
    ("https://llm.example.com", [
        ("openai", "OPENAI_BASE_URL=http://127.0.0.1:8080/v1"),
        ("anthropic", "ANTHROPIC_BASE_URL=http://127.0.0.1:8080"),
        ("gemini", "GOOGLE_GEMINI_BASE_URL=http://127.0.0.1:8080"),
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
    (["--reverse", "api.openai.com"], "--reverse needs an http(s) URL such as https://api.openai.com"),
    (["--reverse", "https://a.example@8081", "--reverse", "https://b.example@8081"],
     "port 8081 is asked for by two listeners"),
    (["--reverse", "https://a.example@70000"], "--reverse https://a.example@70000: port 70000 is out of range"),
    pytest.param(["--reverse", "https://a.example@²"], "--reverse https://a.example@²: port ² is out of range",
                 id="a-digit-int-refuses"),
    pytest.param(["--reverse", "https://a.example@" + "9" * 5000], "--reverse https://a.example@" + "9" * 5000
                 + ": port " + "9" * 5000 + " is out of range", id="more-digits-than-int-takes"),
    (["--upstream-ca", "/nonexistent/ca.pem"], "--upstream-ca /nonexistent/ca.pem: No such file or directory"),
    pytest.param(["--dir", "/dev/null"], "--dir /dev/null: not a directory", id="dir-is-a-file"),
    pytest.param(["--dir", "/dev/null/rec"], "--dir /dev/null/rec: cannot write recordings there (Not a directory)",
                 id="dir-cannot-be-created"),
])
def test_record_usage_errors_exit_2_with_one_line(args, message):
    result = CliRunner().invoke(cli, ["record", "--port", "0", *args])
    assert (result.exit_code, result.output.startswith(f"sse-inspector: error: {message}")) == (2, True), result.output
    assert result.output.count("\n") == 1


def test_an_upstream_ca_file_without_a_certificate_is_refused(tmp_path):
    not_a_ca = tmp_path / "ca.pem"
    not_a_ca.write_text("hello\n")
    result = CliRunner().invoke(cli, ["record", "--port", "0", "--upstream-ca", str(not_a_ca)])
    assert (result.exit_code, result.output) == (
        2, f"sse-inspector: error: --upstream-ca {not_a_ca}: no PEM certificate in it\n")


@pytest.mark.parametrize("spec, target", [
    ("https://api.openai.com", Target("https://api.openai.com")),
    ("https://api.openai.com@8081", Target("https://api.openai.com", 8081)),
    ("http://127.0.0.1:9000@0", Target("http://127.0.0.1:9000", 0)),
    ("https://user@llm.example.com", Target("https://user@llm.example.com")),
    ("https://user@llm.example.com@9001", Target("https://user@llm.example.com", 9001)),
])
def test_reverse_targets_take_an_optional_port(spec, target):
    assert Target.reverse(spec) == target


@pytest.mark.parametrize("ports, first, expected", [
    pytest.param([None], 8080, [8080], id="one"),
    pytest.param([None, None, None], 8080, [8080, 8081, 8082], id="counting-up"),
    pytest.param([None, 8081, None], 8080, [8080, 8081, 8082], id="around-an-asked-port"),
    pytest.param([9000, None], 8080, [9000, 8080], id="asked-elsewhere"),
    pytest.param([None], 0, [0], id="os-picks"),
])
def test_ports_count_up_from_the_first_skipping_asked_ones(ports, first, expected):
    assert assign_ports([Target("https://x.example", port) for port in ports], first, "127.0.0.1") == expected


def test_several_os_picked_ports_are_distinct_and_real():
    """mitmproxy refuses two listeners on port 0 of one address: each gets a port of its own."""
    ports = assign_ports([Target(), Target("https://x.example"), Target("https://y.example", 0)], 0, "127.0.0.1")
    assert len(set(ports)) == 3 and 0 not in ports


def test_banner_of_several_listeners_names_each_and_what_to_set():
    listening = [Listening("127.0.0.1", 8080, "https://api.openai.com", CA),
                 Listening("127.0.0.1", 8081, None, CA)]
    assert banner("rec", listening) == [
        "recording to rec/ — 2 listeners",
        "  reverse proxy for https://api.openai.com on http://127.0.0.1:8080",
        "    openai:    OPENAI_BASE_URL=http://127.0.0.1:8080/v1",
        "  regular proxy on http://127.0.0.1:8081",
        "    proxy:     HTTPS_PROXY=http://127.0.0.1:8081 HTTP_PROXY=http://127.0.0.1:8081",
        f"    python:    SSL_CERT_FILE={CA}  (httpx, openai, anthropic; requests: REQUESTS_CA_BUNDLE)",
        f"    node:      NODE_EXTRA_CA_CERTS={CA}",
    ]


@pytest.mark.parametrize("host, insecure, warnings", [
    ("127.0.0.1", False, []),
    ("localhost", False, []),
    ("::1", False, []),
    ("0.0.0.0", False, ["--listen-host 0.0.0.0: the proxy is reachable from the network; anyone who reaches it can "
                        "send requests through it"]),
    ("127.0.0.1", True, ["--insecure: upstream certificates are not verified; anyone on the way to the upstream can "
                         "read and change the traffic"]),
])
def test_warnings(host, insecure, warnings):
    assert Settings(host=host, insecure=insecure).warnings() == warnings


def test_record_warns_before_listening_off_loopback_or_without_verification():
    """The warnings come first, one line each (here the directory then stops `record` before it listens)."""
    result = CliRunner().invoke(cli, ["record", "--port", "0", "--listen-host", "0.0.0.0", "--insecure",
                                      "--dir", "/dev/null"])
    assert (result.exit_code, result.output.splitlines()) == (2, [
        "sse-inspector: warning: --listen-host 0.0.0.0: the proxy is reachable from the network; anyone who reaches "
        "it can send requests through it",
        "sse-inspector: warning: --insecure: upstream certificates are not verified; anyone on the way to the "
        "upstream can read and change the traffic",
        "sse-inspector: error: --dir /dev/null: not a directory",
    ])


def test_once_the_proxy_listens_what_start_up_made_is_out_of_the_collectors_view(tmp_path):
    """mitmproxy leaves reference cycles behind for every request, so the collector runs all along; each of its full
    passes over start-up's objects (mitmproxy, the modules) held every live stream up for about 30 ms."""
    code = textwrap.dedent("""
        import gc, sys
        from inspector.recorder.run import Settings, Target, run

        async def supervise(listening):
            print(gc.get_freeze_count())

        run([Target()], 0, Settings(directory=sys.argv[1]), on_result=print, supervise=supervise)
    """)
    done = subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert int(done.stdout) > 10_000
