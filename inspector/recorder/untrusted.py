"""A client that does not trust the proxy's certificate: said once per host, with where the CA is.

mitmproxy warns of it only when the client answers the certificate with a TLS alert (Python's `ssl` does). Node
closes the connection without one, which mitmproxy logs at info level, below `record`'s terminal level: Continue's
CLI showed "Connection error." and the recorder said nothing at all.
"""

from __future__ import annotations

import logging
from pathlib import Path

from mitmproxy import tls
from mitmproxy.utils import human

from ..escape import visible

log = logging.getLogger(__name__)
_REFUSALS = ("does not trust the proxy's certificate", "may not trust the proxy's certificate",
             "The client disconnected during the handshake")
"""How mitmproxy's reasons for a failed client handshake begin or say it, when the certificate may be why."""


class UntrustedCertificate:
    """The mitmproxy addon."""

    def __init__(self, ca_file: Path) -> None:
        self.ca_file = ca_file
        self._said: set[str] = set()

    def tls_failed_client(self, data: tls.TlsData) -> None:
        reason = data.conn.error or ""
        if not any(refusal in reason for refusal in _REFUSALS):
            return  # no TLS version in common, a ClientHello that does not parse: mitmproxy says those
        host = data.conn.sni or human.format_address(data.context.server.address)
        if host in self._said:
            return
        self._said.add(host)
        log.warning("sse-inspector: a client broke off its TLS handshake for %s: it may not trust the proxy's "
                    "certificate; give it the CA, %s (SSL_CERT_FILE for Python, NODE_EXTRA_CA_CERTS for Node; said "
                    "once per host)", visible(host, one_line=True), self.ca_file)
