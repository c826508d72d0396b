"""What `sse-inspector run` changes in its command's environment: base URLs, proxies, CA bundle, NO_PROXY."""

from __future__ import annotations

import pytest

from inspector.recorder.ca_bundle import certificates, write_bundle
from inspector.recorder.child_env import BaseUrl, base_urls, child_environment, previous_ca_files, upstreams

OPENAI, ANTHROPIC = "https://api.openai.com", "https://api.anthropic.com"
GEMINI = "https://generativelanguage.googleapis.com"
ALL_BASE_URL_VARIABLES = ["OPENAI_BASE_URL", "OPENAI_API_BASE", "ANTHROPIC_BASE_URL", "ANTHROPIC_API_URL",
                          "ANTHROPIC_API_BASE", "GOOGLE_GEMINI_BASE_URL"]


def test_unset_variables_go_to_the_vendors_public_apis():
    found, left_alone = base_urls({})
    assert found == [
        BaseUrl("OPENAI_BASE_URL", OPENAI, "/v1"), BaseUrl("OPENAI_API_BASE", OPENAI, "/v1"),
        BaseUrl("ANTHROPIC_BASE_URL", ANTHROPIC, ""), BaseUrl("ANTHROPIC_API_URL", ANTHROPIC, ""),
        BaseUrl("ANTHROPIC_API_BASE", ANTHROPIC, ""), BaseUrl("GOOGLE_GEMINI_BASE_URL", GEMINI, ""),
    ]
    assert (left_alone, upstreams(found)) == ([], [OPENAI, ANTHROPIC, GEMINI])


def test_a_set_variable_keeps_its_upstream_and_lends_it_to_the_unset_ones_of_its_vendor():
    """An app aimed at a compatible endpoint stays aimed at it, whichever of the vendor's variables its client reads."""
    found, _ = base_urls({"OPENAI_API_BASE": "http://127.0.0.1:8000/v1?api-version=2"})
    openai = [base for base in found if base.variable.startswith("OPENAI")]
    assert openai == [BaseUrl("OPENAI_BASE_URL", "http://127.0.0.1:8000", "/v1?api-version=2"),
                      BaseUrl("OPENAI_API_BASE", "http://127.0.0.1:8000", "/v1?api-version=2")]


def test_two_set_variables_with_different_upstreams_keep_theirs_each():
    found, _ = base_urls({"ANTHROPIC_BASE_URL": "https://llm.example.com/anthropic/",
                          "ANTHROPIC_API_URL": "https://other.example.com:8443"})
    anthropic = [(base.variable, base.upstream, base.rest) for base in found if base.variable.startswith("ANTHROPIC")]
    assert anthropic == [("ANTHROPIC_BASE_URL", "https://llm.example.com", "/anthropic/"),
                         ("ANTHROPIC_API_URL", "https://other.example.com:8443", ""),
                         ("ANTHROPIC_API_BASE", "https://llm.example.com", "/anthropic/")]
    assert upstreams(found) == [OPENAI, "https://llm.example.com", "https://other.example.com:8443", GEMINI]


def test_a_variable_that_is_not_an_http_url_is_left_alone():
    environ = {"OPENAI_BASE_URL": "api.openai.com/v1"}
    found, left_alone = base_urls(environ)
    assert left_alone == ["OPENAI_BASE_URL", "OPENAI_API_BASE"]  # the unset one would have followed it
    listeners = {ANTHROPIC: "http://127.0.0.1:2", GEMINI: "http://127.0.0.1:4"}
    child = child_environment(environ, found, listeners, "http://127.0.0.1:3", "/b.pem")
    assert (child["OPENAI_BASE_URL"], "OPENAI_API_BASE" in child) == ("api.openai.com/v1", False)


def test_child_environment_points_everything_at_the_recorder_and_keeps_the_rest():
    environ = {"PATH": "/usr/bin", "HOME": "/home/me", "OPENAI_API_KEY": "sk-1", "no_proxy": "corp.example, .internal",
               "https_proxy": "http://corp-proxy:3128", "SSL_CERT_FILE": "/etc/corp.pem"}
    found, _ = base_urls(environ)
    listeners = {OPENAI: "http://127.0.0.1:1001", ANTHROPIC: "http://127.0.0.1:1002", GEMINI: "http://127.0.0.1:1004"}
    child = child_environment(environ, found, listeners, "http://127.0.0.1:1003", "/tmp/x/bundle.pem")
    proxy, bundle = "http://127.0.0.1:1003", "/tmp/x/bundle.pem"
    no_proxy = "corp.example,.internal,localhost,127.0.0.1,::1"
    assert child == {
        "PATH": "/usr/bin", "HOME": "/home/me", "OPENAI_API_KEY": "sk-1",
        "OPENAI_BASE_URL": "http://127.0.0.1:1001/v1", "OPENAI_API_BASE": "http://127.0.0.1:1001/v1",
        "ANTHROPIC_BASE_URL": "http://127.0.0.1:1002", "ANTHROPIC_API_URL": "http://127.0.0.1:1002",
        "ANTHROPIC_API_BASE": "http://127.0.0.1:1002", "GOOGLE_GEMINI_BASE_URL": "http://127.0.0.1:1004",
        "HTTPS_PROXY": proxy, "HTTP_PROXY": proxy, "https_proxy": proxy, "http_proxy": proxy,
        "SSL_CERT_FILE": bundle, "REQUESTS_CA_BUNDLE": bundle, "CURL_CA_BUNDLE": bundle, "NODE_EXTRA_CA_CERTS": bundle,
        "NO_PROXY": no_proxy, "no_proxy": no_proxy,
    }
    assert previous_ca_files(environ) == ["/etc/corp.pem"]


@pytest.mark.parametrize("no_proxy, expected", [
    ("", "localhost,127.0.0.1,::1"),
    ("127.0.0.1,,example.com", "127.0.0.1,example.com,localhost,::1"),
])
def test_no_proxy_gains_loopback_once(no_proxy, expected):
    child = child_environment({"NO_PROXY": no_proxy}, [], {}, "http://127.0.0.1:1", "/b.pem")
    assert (child["NO_PROXY"], child["no_proxy"]) == (expected, expected)


PEM_A = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----"
PEM_B = "-----BEGIN CERTIFICATE-----\nBBBB\n-----END CERTIFICATE-----"


def test_bundle_holds_each_certificate_once_and_names_the_files_it_could_not_read(tmp_path):
    first, second = tmp_path / "a.pem", tmp_path / "b.pem"
    first.write_text(f"# system\n{PEM_A}\n")
    second.write_text(f"{PEM_B}\nsome text\n{PEM_A}\n")
    bundle = tmp_path / "bundle.pem"
    problems = write_bundle(bundle, [first, tmp_path / "missing.pem", second])
    assert certificates(bundle) == [PEM_A, PEM_B]
    assert problems == [f"{tmp_path / 'missing.pem'}: No such file or directory"]
