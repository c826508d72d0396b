"""The proxy the recorder's own upstream connections go through: the user's, as curl and requests find it.

Behind a corporate proxy an app reaches the API only through it; under the recorder the app talks to the recorder,
so the recorder must go through that proxy in its place. By default it is what the environment `record` or `run`
was started with names: `https_proxy`/`HTTPS_PROXY` for https upstreams, `http_proxy`/`HTTP_PROXY` for http ones
(the lower-case spelling first, as requests and curl read them), skipped for the hosts `no_proxy`/`NO_PROXY` lists.
`--upstream-proxy URL` names one proxy for both schemes (NO_PROXY still applies); `--upstream-proxy none` goes direct.

mitmproxy's `upstream:` mode covers a regular listener only; the addon here sets the connection's `via` for each
request instead, which reverse listeners honour too. mitmproxy then opens a CONNECT tunnel through the proxy, for
http upstreams as well (no absolute-form requests). The proxy's credentials (`http://user:pass@host:port`) go in
the CONNECT's Proxy-Authorization header only, never to the upstream (mitmproxy's own `upstream_auth` would set
Authorization on every request of a reverse listener, over the app's API key), and never on a terminal.
"""

from __future__ import annotations

import ipaddress
from base64 import b64encode
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit
from urllib.request import proxy_bypass_environment

from mitmproxy import http
from mitmproxy.connection import Server

from ..redact import Policy


class ProxyError(ValueError):
    """A proxy URL the recorder cannot use; the message is one line."""


@dataclass(frozen=True)
class ProxyUrl:
    """An http(s) proxy: where it listens and the credentials for its CONNECT, if its URL had some."""

    scheme: str
    host: str
    port: int
    authorization: str | None = None
    """`Basic ...` for Proxy-Authorization."""

    @classmethod
    def parse(cls, url: str, source: str) -> ProxyUrl:
        """`http(s)://[user:pass@]host:port[/]`, or `host:port` as http (curl and requests take it so); ProxyError
        naming `source` (an option or variable) otherwise."""
        shown = Policy().url(url)
        try:
            parts = urlsplit(url.strip() if "://" in url else f"http://{url.strip()}")
            port = parts.port
        except ValueError:
            parts, port = None, None
        if (parts is None or parts.scheme.lower() not in ("http", "https") or not parts.hostname or not port
                or parts.path.strip("/") or parts.query or parts.fragment):
            raise ProxyError(f"{source}={shown}: the recorder needs an http(s)://HOST:PORT proxy URL"
                             " (--upstream-proxy none goes direct)")
        authorization = None
        if parts.username is not None:
            credentials = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
            authorization = "Basic " + b64encode(credentials.encode()).decode()
        return cls(parts.scheme.lower(), parts.hostname, port, authorization)

    def __str__(self) -> str:
        """The URL without credentials: what a terminal may show."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}:{self.port}"


@dataclass(frozen=True)
class UpstreamProxy:
    """Which proxy each upstream scheme goes through (None: direct), and the hosts that always go direct."""

    https: ProxyUrl | None = None
    http: ProxyUrl | None = None
    no_proxy: str = ""
    source: str = ""
    """Where the setting came from, for the banner: `--upstream-proxy` or the variables' names."""

    @classmethod
    def choose(cls, option: str | None, environ: Mapping[str, str]) -> UpstreamProxy:
        """From `--upstream-proxy` (None: not given, `none`: direct) or else the environment."""
        no_proxy = _first(environ, "no_proxy") or ""
        if option is not None and option.strip().lower() == "none":
            return cls(source="--upstream-proxy none")
        if option is not None:
            proxy = ProxyUrl.parse(option, "--upstream-proxy")
            return cls(proxy, proxy, no_proxy, "--upstream-proxy")
        named = {scheme: _named(environ, f"{scheme}_proxy") for scheme in ("https", "http")}
        proxies = {scheme: ProxyUrl.parse(value, name) if value else None for scheme, (name, value) in named.items()}
        names = [name for name, value in named.values() if value]
        return cls(proxies["https"], proxies["http"], no_proxy, ", ".join(names))

    def for_url(self, scheme: str, host: str, port: int) -> ProxyUrl | None:
        """The proxy a request to `scheme://host:port` goes through; None: direct."""
        proxy = self.https if scheme == "https" else self.http
        if proxy is None or _bypassed(host, port, self.no_proxy):
            return None
        return proxy

    def loops_to(self, host: str, port: int) -> ProxyUrl | None:
        """The proxy that is the listener `host:port` itself (its requests would come back to it)."""
        return next((proxy for proxy in (self.https, self.http)
                     if proxy is not None and proxy.port == port and _same_host(proxy.host, host)), None)

    @property
    def in_use(self) -> bool:
        return self.https is not None or self.http is not None

    def describe(self) -> str:
        """One line for the banner, without credentials."""
        if not self.in_use:
            return f"upstream connections go direct{f' ({self.source})' if self.source else ''}"
        if self.https == self.http:
            through = f"{self.https}"
        else:
            through = ", ".join(f"{scheme}: {proxy or 'direct'}" for scheme, proxy in
                                (("https", self.https), ("http", self.http)))
        skipped = f"; not for NO_PROXY={Policy().url(self.no_proxy)}" if self.no_proxy.strip() else ""
        return f"upstream connections go through {through} (from {self.source}){skipped}"


class ThroughProxy:
    """The mitmproxy addon: each request's upstream connection goes through the chosen proxy."""

    def __init__(self, proxies: UpstreamProxy) -> None:
        self.proxies = proxies

    def requestheaders(self, flow: http.HTTPFlow) -> None:
        request = flow.request
        proxy = self.proxies.for_url(request.scheme, request.host, request.port)
        if proxy is None:
            return
        # a fresh connection spec: mitmproxy reuses an open connection that matches it, and an open one's `via`
        # cannot change
        flow.server_conn = Server(address=(request.host, request.port), via=(proxy.scheme, (proxy.host, proxy.port)))

    def http_connect_upstream(self, flow: http.HTTPFlow) -> None:
        """The CONNECT mitmproxy sends to the proxy: its credentials, if the URL had some."""
        proxy = next((proxy for proxy in (self.proxies.https, self.proxies.http)
                      if proxy is not None and (proxy.host, proxy.port) == flow.server_conn.address), None)
        if proxy is not None and proxy.authorization:
            flow.request.headers["Proxy-Authorization"] = proxy.authorization


def _named(environ: Mapping[str, str], name: str) -> tuple[str, str]:
    """(the spelling found, its value): the lower-case one first, as requests and curl read them."""
    for spelling in (name.lower(), name.upper()):
        if environ.get(spelling, "").strip():
            return spelling, environ[spelling]
    return name.upper(), ""


def _first(environ: Mapping[str, str], name: str) -> str:
    return _named(environ, name)[1]


def _bypassed(host: str, port: int, no_proxy: str) -> bool:
    """Whether NO_PROXY keeps `host` direct: names, `.suffix`, `host:port` and `*` as urllib reads them, plus the
    IP ranges (`10.0.0.0/8`) requests and curl also take."""
    if not no_proxy.strip():
        return False
    if proxy_bypass_environment(f"{host}:{port}", {"no": no_proxy}):
        return True
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    for entry in no_proxy.split(","):
        try:
            if address in ipaddress.ip_network(entry.strip(), strict=False):
                return True
        except ValueError:
            continue
    return False


def _same_host(one: str, other: str) -> bool:
    loopback = {"localhost", "127.0.0.1", "::1", "0.0.0.0", "::"}
    return one.lower() == other.lower() or (one.lower() in loopback and other.lower() in loopback)
