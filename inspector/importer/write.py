"""A capture to a recording: the recorder's header (and redaction), the chunks, an end line."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ..protocols import detect
from ..recorder.addon import file_name, flow_header
from ..recording import RecordingWriter
from ..redact import Policy, is_form
from .capture import Capture, CaptureError


@dataclass(frozen=True, slots=True)
class Imported:
    path: Path
    method: str
    url_path: str
    """Redacted as the recording's URL is: it is shown on the terminal."""
    status: int
    protocol: str | None


def write_capture(capture: Capture, out_dir: Path, redact: Sequence[str] = ()) -> Imported:
    """Write one recording into `out_dir`; CaptureError when it cannot be written."""
    flow = capture.flow
    protocol = detect.from_path(flow.request.path)
    content_type = flow.request.headers.get("content-type")
    if is_form(capture.body_type):  # a form body whose type the tool kept apart from the headers is a form too
        content_type = capture.body_type
    policy = Policy(redact)
    body = policy.body(flow.request.get_text(strict=False), content_type)
    header = flow_header(flow, protocol, capture.started, capture.decoded_from, redact, source="import", body=body)
    header.id = capture.id
    header.extra.update(capture.extra)
    path = out_dir / file_name(capture.started, protocol, capture.id)
    try:
        out_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        writer = RecordingWriter(path, header)
    except FileExistsError:
        raise CaptureError(f"{path}: exists already (imported before? pick another -o)") from None
    except OSError as error:
        raise CaptureError(f"-o {out_dir}: {error.strerror or error}") from None
    for chunk in capture.chunks:
        writer.chunk(chunk.t, chunk.data)
    writer.end(capture.end_t, "error" if capture.error else "complete", capture.error)
    url_path = policy.url(flow.request.path)
    return Imported(path, flow.request.method, url_path, flow.response.status_code, protocol)
