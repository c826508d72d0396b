"""The user's proxy between the recorder and the upstreams (`recorder/upstream_proxy.py`).

End to end: a real `run` / `record`, a real upstream (HTTPS behind a throwaway CA, or plain HTTP) and a real forward
proxy in between that notes each tunnel it relays (`forward_proxy.py`): the stream is recorded AND went through
the proxy, with the proxy's credentials on the CONNECT only; NO_PROXY and `--upstream-proxy none` go direct.
"""

from __future__ import annotations

import subprocess
import sys
from base64 import b64encode

import httpx
import pytest
from forward_proxy import run_forward_proxy
from hypothesis import given, settings
from hypothesis import strategies as st
from recorder_helpers import CORPUS, WAIT, run_tls_upstream, run_upstream
from test_run_command import ANTHROPIC, CHAT, environment, recordings, sse_run

from inspector.recorder.upstream_proxy import ProxyError, UpstreamProxy

PROXY_SECRET = "proxy-pass-0123-SECRET"


def test_each_scheme_takes_its_variable_lower_case_first():
    proxies = UpstreamProxy.choose(None, {"HTTPS_PROXY": "http://upper:3128", "https_proxy": "http://lower:3128",
                                          "HTTP_PROXY": "http://plain:8080"})
    assert str(proxies.for_url("https", "api.openai.com", 443)) == "http://lower:3128"
    assert str(proxies.for_url("http", "api.openai.com", 80)) == "http://plain:8080"
    assert proxies.describe() == ("upstream connections go through https: http://lower:3128, http: http://plain:8080 "
                                  "(from https_proxy, HTTP_PROXY)")


def test_a_proxy_without_a_scheme_is_an_http_one_as_for_curl_and_requests():
    proxies = UpstreamProxy.choose(None, {"HTTPS_PROXY": "proxy.corp:3128"})
    assert str(proxies.for_url("https", "api.openai.com", 443)) == "http://proxy.corp:3128"


def test_without_a_variable_for_its_scheme_an_upstream_goes_direct():
    proxies = UpstreamProxy.choose(None, {"HTTPS_PROXY": "http://corp:3128"})
    assert proxies.for_url("http", "localhost", 8000) is None
    assert UpstreamProxy.choose(None, {}).describe() == "upstream connections go direct"


@pytest.mark.parametrize("no_proxy, host, direct", [
    ("api.openai.com", "api.openai.com", True),
    (".openai.com", "api.openai.com", True),
    ("openai.com", "api.openai.com", True),
    ("openai.com", "notopenai.com", False),
    ("*", "api.anthropic.com", True),
    ("10.0.0.0/8, internal", "10.1.2.3", True),
    ("10.0.0.0/8", "11.1.2.3", False),
    ("api.openai.com:8443", "api.openai.com", False),
    ("", "api.openai.com", False),
])
def test_no_proxy_keeps_its_hosts_direct_as_curl_and_requests_do(no_proxy, host, direct):
    proxies = UpstreamProxy.choose(None, {"HTTPS_PROXY": "http://corp:3128", "no_proxy": no_proxy})
    assert (proxies.for_url("https", host, 443) is None) == direct


def test_the_option_names_one_proxy_for_both_schemes_or_none():
    environ = {"HTTPS_PROXY": "http://corp:3128", "NO_PROXY": "internal"}
    named = UpstreamProxy.choose("https://other:8443", environ)
    assert [str(named.for_url(scheme, "api.openai.com", 443)) for scheme in ("https", "http")] == [
        "https://other:8443"] * 2
    assert named.for_url("https", "internal", 443) is None
    assert UpstreamProxy.choose("none", environ).describe() == "upstream connections go direct (--upstream-proxy none)"


def test_credentials_go_in_the_connect_header_and_never_in_what_is_shown():
    proxies = UpstreamProxy.choose(f"http://corp%40eu:{PROXY_SECRET}@proxy.corp:3128", {})
    assert proxies.https.authorization == "Basic " + b64encode(f"corp@eu:{PROXY_SECRET}".encode()).decode()
    assert PROXY_SECRET not in proxies.describe()
    with pytest.raises(ProxyError) as raised:
        UpstreamProxy.choose(None, {"HTTPS_PROXY": f"socks5://corp:{PROXY_SECRET}@proxy.corp:1080"})
    assert str(raised.value) == ("HTTPS_PROXY=socks5://proxy.corp:1080: the recorder needs an http(s)://HOST:PORT "
                                 "proxy URL (--upstream-proxy none goes direct)")


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=60), st.sampled_from(["HTTPS_PROXY", "http_proxy"]))
def test_any_proxy_setting_is_used_or_refused_in_one_line(text, variable):
    for option, environ in ((text, {}), (None, {variable: text})):
        try:
            proxies = UpstreamProxy.choose(option, environ)
        except ProxyError as error:
            assert str(error).startswith(f"{variable if option is None else '--upstream-proxy'}=")
            continue
        assert all(proxy is None or (proxy.scheme in ("http", "https") and 0 < proxy.port < 65536)
                   for proxy in (proxies.https, proxies.http))


@pytest.mark.slow
def test_https_upstreams_of_both_listeners_go_through_the_users_proxy_with_its_credentials(tmp_path):
    """HTTPS_PROXY (with credentials) as `run` found it: the reverse listener's upstream (OPENAI_BASE_URL) and the
    regular listener's (the app's own proxy use) are both reached through it; both streams recorded in full."""
    with run_tls_upstream(tmp_path) as (upstream, ca_file), run_forward_proxy() as proxy:
        users_proxy = proxy.url.replace("http://", f"http://corp:{PROXY_SECRET}@")
        command = (f'curl -sS -N -H "X-Corpus: {CHAT}" -d "{{\\"stream\\": true}}" "$OPENAI_BASE_URL/chat/completions"'
                   f' && curl -sS -N --noproxy "" -H "X-Corpus: {ANTHROPIC}" -d "{{\\"stream\\": true}}" '
                   f'{upstream.url}/v1/messages')
        recorded = sse_run(tmp_path, "--upstream-ca", str(ca_file), "--", "sh", "-c", command,
                           env=environment(OPENAI_BASE_URL=f"{upstream.url}/v1", HTTPS_PROXY=users_proxy))
    both = (CORPUS / CHAT).read_bytes() + (CORPUS / ANTHROPIC).read_bytes()
    assert (recorded.returncode, recorded.stdout) == (0, both)
    assert [(header["request"]["url"], end["reason"]) for header, _, end in recordings(tmp_path)] == [
        (f"{upstream.url}/v1/chat/completions", "complete"), (f"{upstream.url}/v1/messages", "complete")]
    authority = upstream.url.removeprefix("https://")
    credentials = "Basic " + b64encode(f"corp:{PROXY_SECRET}".encode()).decode()
    assert proxy.tunnels == [(authority, credentials)] * 2
    stderr = recorded.stderr.decode()
    assert f"  upstream connections go through https: {proxy.url}, http: direct (from HTTPS_PROXY)\n" in stderr
    assert PROXY_SECRET not in stderr
    assert not [path for path in (tmp_path / "rec").iterdir() if PROXY_SECRET.encode() in path.read_bytes()]


@pytest.mark.slow
@pytest.mark.parametrize("how", ["NO_PROXY", "--upstream-proxy none", "--upstream-proxy URL"])
def test_no_proxy_and_none_go_direct_and_the_option_names_the_proxy(tmp_path, how):
    """A plain-http upstream: through HTTP_PROXY unless NO_PROXY lists it or `--upstream-proxy none`; with
    `--upstream-proxy URL` and no variable, through that one."""
    with run_upstream() as upstream, run_forward_proxy() as proxy:
        variables = {"HTTP_PROXY": proxy.url, "HTTPS_PROXY": proxy.url}
        options = []
        if how == "NO_PROXY":
            variables["NO_PROXY"] = "localhost,127.0.0.1"
        elif how == "--upstream-proxy none":
            options = ["--upstream-proxy", "none"]
        else:
            variables, options = {}, ["--upstream-proxy", proxy.url]
        command = f'curl -sS -N -H "X-Corpus: {CHAT}" -d "{{\\"stream\\": true}}" "$OPENAI_BASE_URL/chat/completions"'
        recorded = sse_run(tmp_path, *options, "--", "sh", "-c", command,
                           env=environment(OPENAI_BASE_URL=f"{upstream.url}/v1", **variables))
    assert (recorded.returncode, recorded.stdout) == (0, (CORPUS / CHAT).read_bytes())
    [(header, body, end)] = recordings(tmp_path)
    assert (body, end["reason"]) == ((CORPUS / CHAT).read_bytes(), "complete")
    through = how == "--upstream-proxy URL"
    assert proxy.tunnels == ([(upstream.url.removeprefix("http://"), None)] if through else [])
    stderr = recorded.stderr.decode()
    if through:
        assert f"upstream connections go through {proxy.url} (from --upstream-proxy)" in stderr
    elif how == "NO_PROXY":
        assert (f"upstream connections go through {proxy.url} (from HTTPS_PROXY, HTTP_PROXY); not for "
                "NO_PROXY=localhost,127.0.0.1") in stderr
    else:
        assert "upstream connections go direct (--upstream-proxy none)" in stderr


@pytest.mark.slow
def test_record_goes_through_the_named_proxy_and_says_so(record_command, tmp_path):
    with run_upstream() as upstream, run_forward_proxy() as proxy:
        command, base_url, banner = record_command("--reverse", upstream.url, "--upstream-proxy", proxy.url,
                                                   "--dir", str(tmp_path / "rec"), banner_lines=6)
        with httpx.Client(timeout=WAIT, trust_env=False) as client:
            response = client.post(f"{base_url}/v1/chat/completions", json={"stream": True},
                                   headers={"X-Corpus": CHAT})
        command.line()  # the live line: the stream is recorded
        code, _, _ = command.stop()
    assert (code, response.content) == (0, (CORPUS / CHAT).read_bytes())
    assert banner[-1] == f"  upstream connections go through {proxy.url} (from --upstream-proxy)"
    assert proxy.tunnels == [(upstream.url.removeprefix("http://"), None)]


@pytest.mark.slow
@pytest.mark.parametrize("args, message", [
    (["run", "--upstream-proxy", "ftp://corp:21", "--", "true"],
     "--upstream-proxy=ftp://corp:21: the recorder needs an http(s)://HOST:PORT proxy URL (--upstream-proxy none "
     "goes direct)"),
    (["run", "--upstream-proxy", f"http://corp:{PROXY_SECRET}@proxy.corp", "--", "true"],
     "--upstream-proxy=http://proxy.corp: the recorder needs an http(s)://HOST:PORT proxy URL (--upstream-proxy none "
     "goes direct)"),
    (["record", "--port", "8", "--upstream-proxy", "http://localhost:8"],
     "the upstream proxy http://localhost:8 is the recorder's own listener: give --upstream-proxy URL (or none), or "
     "another --port"),
])
def test_a_proxy_url_it_cannot_use_is_one_line_and_exit_2(tmp_path, args, message):
    done = subprocess.run([sys.executable, "-m", "inspector", *args], capture_output=True, text=True, cwd=tmp_path,
                          timeout=WAIT, env=environment())
    assert (done.returncode, done.stderr) == (2, f"sse-inspector: error: {message}\n")
