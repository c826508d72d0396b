"""The environment `sse-inspector run` gives the command it runs: the parent's, pointed at the recorder.

- Each base-URL variable a common client reads (`BASE_URL_VARIABLES`) points at a reverse listener whose upstream
  is what that variable held before, so an app aimed at a compatible third-party endpoint is recorded against that
  endpoint. A variable that was not set takes the value of the first one of its vendor that was (LiteLLM, for one,
  reads `OPENAI_BASE_URL` before `OPENAI_API_BASE`: pointing the unset one at the public API would change where the
  app goes), else the vendor's public API.
- `HTTPS_PROXY` and `HTTP_PROXY` (both spellings: curl reads `http_proxy` only, Python prefers the lower-case one)
  point at the regular listener, for clients that ignore base-URL variables.
- `SSL_CERT_FILE`, `REQUESTS_CA_BUNDLE`, `CURL_CA_BUNDLE` and `NODE_EXTRA_CA_CERTS` name one bundle: the system's
  CAs, the files those variables named before, and mitmproxy's CA, so the app trusts everything it trusted and the
  proxy too.
- `NO_PROXY` keeps its entries and gains the loopback names: the reverse listeners (and the app's local services)
  are reached directly, never twice through the regular listener.

Everything else of the parent's environment passes unchanged.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

# fmt: off
BASE_URL_VARIABLES = {
    # vendor: (its public API as its SDKs spell the base URL, the variables clients read, the official SDKs' first)
    "openai":    ("https://api.openai.com/v1", ("OPENAI_BASE_URL",     # openai SDKs, Codex CLI, LiteLLM
                                                "OPENAI_API_BASE")),   # LangChain, LiteLLM, openai-python < 1
    "anthropic": ("https://api.anthropic.com", ("ANTHROPIC_BASE_URL",  # anthropic SDKs, Claude Code, LiteLLM
                                                "ANTHROPIC_API_URL",   # LangChain
                                                "ANTHROPIC_API_BASE")),  # LiteLLM
    "gemini":    ("https://generativelanguage.googleapis.com", ("GOOGLE_GEMINI_BASE_URL",)),  # google-genai
}
# fmt: on
PROXY_VARIABLES = ("HTTPS_PROXY", "HTTP_PROXY", "https_proxy", "http_proxy")
CA_VARIABLES = ("SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "NODE_EXTRA_CA_CERTS")
NO_PROXY_VARIABLES = ("NO_PROXY", "no_proxy")
LOOPBACK = ("localhost", "127.0.0.1", "::1")


@dataclass(frozen=True)
class BaseUrl:
    """One base-URL variable: where its client went before, split into the upstream and the rest."""

    variable: str
    upstream: str
    """`scheme://host[:port]`: one reverse listener per distinct upstream."""
    rest: str
    """Path and query, kept after the listener's address."""

    def through(self, listener: str) -> str:
        """The variable's value for the child: the listener's base URL followed by the original path."""
        return listener + self.rest


def base_urls(environ: Mapping[str, str]) -> tuple[list[BaseUrl], list[str]]:
    """Every base-URL variable with where it goes, and the variables left alone (set, but not to an http(s) URL:
    their clients' traffic can still go through the regular listener)."""
    found, left_alone = [], []
    for default, variables in BASE_URL_VARIABLES.values():
        given = next((environ[name] for name in variables if environ.get(name)), default)
        for name in variables:
            parts = urlsplit(environ.get(name) or given)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                left_alone.append(name)
                continue
            rest = urlunsplit(("", "", parts.path, parts.query, ""))
            found.append(BaseUrl(name, f"{parts.scheme}://{parts.netloc}", rest))
    return found, left_alone


def upstreams(found: list[BaseUrl]) -> list[str]:
    """The distinct upstreams, in the order of the variables."""
    return list(dict.fromkeys(base.upstream for base in found))


def child_environment(
    environ: Mapping[str, str], found: list[BaseUrl], listeners: Mapping[str, str], proxy: str, ca_bundle: str
) -> dict[str, str]:
    """The parent's environment with the variables above pointed at the recorder. `listeners` maps each upstream
    to the base URL of its reverse listener; `proxy` is the regular listener's."""
    child = dict(environ)
    for base in found:
        child[base.variable] = base.through(listeners[base.upstream])
    child.update(dict.fromkeys(PROXY_VARIABLES, proxy))
    child.update(dict.fromkeys(CA_VARIABLES, ca_bundle))
    entries = [entry.strip() for name in NO_PROXY_VARIABLES for entry in environ.get(name, "").split(",")]
    child.update(dict.fromkeys(NO_PROXY_VARIABLES, ",".join(dict.fromkeys(e for e in [*entries, *LOOPBACK] if e))))
    return child


def previous_ca_files(environ: Mapping[str, str]) -> list[str]:
    """The CA files the parent's environment named: the child's bundle keeps trusting them."""
    return list(dict.fromkeys(environ[name] for name in CA_VARIABLES if environ.get(name)))
