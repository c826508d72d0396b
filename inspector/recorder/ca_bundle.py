"""CA bundles: the certificates of several PEM files in one, for a client or for mitmproxy to trust.

A bundle that held mitmproxy's CA alone would make every other HTTPS connection of an app fail, and one that held a
private CA alone would stop mitmproxy from reaching public upstreams: so a bundle always starts from the system's
CAs (certifi's Mozilla set plus the OpenSSL default file, where the OS adds its local ones) and adds to them.
"""

from __future__ import annotations

import re
import ssl
from collections.abc import Iterable
from pathlib import Path

import certifi

_CERTIFICATE = re.compile(r"-----BEGIN CERTIFICATE-----\r?\n.+?\r?\n-----END CERTIFICATE-----", re.DOTALL)


def system_ca_files() -> list[str]:
    """certifi's bundle, then the OpenSSL default CA file when there is one."""
    files = [certifi.where()]
    default = ssl.get_default_verify_paths().openssl_cafile
    if default and Path(default).is_file():
        files.append(default)
    return files


def certificates(path: str | Path) -> list[str]:
    """The PEM certificates in the file (OSError if it cannot be read)."""
    return _CERTIFICATE.findall(Path(path).read_text(encoding="ascii", errors="replace"))


def write_bundle(target: Path, files: Iterable[str | Path]) -> list[str]:
    """Write the certificates of `files` to `target`, each once, in order; returns the files that could not be read
    (each with why), which the caller reports."""
    seen: dict[str, None] = {}
    problems = []
    for path in files:
        try:
            seen.update(dict.fromkeys(certificates(path)))
        except OSError as error:
            problems.append(f"{path}: {error.strerror or error}")
    target.write_text("\n".join(seen) + "\n", encoding="ascii")
    return problems
