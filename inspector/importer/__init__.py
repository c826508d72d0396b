"""`sse-inspector import`: recordings from captures people already have (HAR files, mitmproxy flow files).

Each reader turns its file into `Capture`s (a mitmproxy flow plus the body as it was received); `write` turns
every event-stream response into a recording whose header the recorder's own `flow_header` builds, so the
request and response metadata are redacted exactly as the recorder redacts them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .capture import Capture, CaptureError, Skipped
from .flows import read_flows
from .har import read_har
from .write import Imported, write_capture

__all__ = ["Capture", "CaptureError", "ImportReport", "Imported", "Skipped", "import_file"]


@dataclass
class ImportReport:
    """What one file gave: the recordings written, the event streams that could not be, the other entries."""

    source: str
    imported: list[Imported] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    others: int = 0


def import_file(path: str, out_dir: Path, redact: Sequence[str] = ()) -> ImportReport:
    """Every event-stream response in a HAR or mitmproxy flow file, written to `out_dir` as a recording.
    Raises CaptureError (one line) for a file that is neither."""
    try:
        with open(path, "rb") as stream:
            first = stream.read(4).lstrip(b"\xef\xbb\xbf \t\r\n")
    except OSError as error:
        raise CaptureError(f"{path}: {error.strerror or error}") from None
    captures = read_har(path) if first.startswith(b"{") else read_flows(path)
    report = ImportReport(path)
    for item in captures:
        if item is None:
            report.others += 1
        elif isinstance(item, Skipped):
            report.skipped.append(item)
        else:
            report.imported.append(write_capture(item, out_dir, redact))
    return report
