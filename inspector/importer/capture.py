"""What a reader hands to the writer: one captured exchange, or why an event stream could not be imported."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mitmproxy import http

from ..recorder.decode import BodyDecoder, DecodeError
from ..recording import Chunk


class CaptureError(ValueError):
    """A file that cannot be imported at all; the message is the one line the CLI prints."""


@dataclass(slots=True)
class Capture:
    """An event-stream response as a capture tool kept it.

    `chunks` hold the body decoded (by the capture tool, or by `decoded`), with times when the tool kept them;
    `decoded_from` names the content encoding that was undone (its headers no longer hold for the chunks)."""

    where: str
    """`FILE entry N` / `FILE flow N`: names the exchange in messages."""
    id: str
    """The recording's id: mitmproxy's flow id, or one derived from `where` (stable across re-imports)."""
    flow: http.HTTPFlow
    started: float
    """Epoch seconds when the request was sent."""
    chunks: list[Chunk]
    end_t: float | None
    decoded_from: str | None = None
    error: str | None = None
    """The capture tool's error for an exchange that did not finish, if any."""
    extra: dict[str, Any] = field(default_factory=dict)
    body_type: str | None = None
    """The request body's type as the capture tool noted it apart from the headers (HAR's `postData.mimeType`)."""


@dataclass(frozen=True, slots=True)
class Skipped:
    """An event-stream response that is in the file but cannot become a recording, and why."""

    where: str
    reason: str


MOST = 64 << 20
"""Bytes a body may decode to at import, on top of the recorder's bound (`decode.MAX_RATIO`): the recorder writes a
stream chunk by chunk, but an imported body is decoded whole in memory, where a thousand times a few MiB of a
decompression bomb would be gigabytes."""
_SLICE = 1 << 10
"""Encoded bytes decoded at a time, so that no more than `MOST` and what one slice makes is ever held."""


def decoded(data: bytes, content_encoding: str | None) -> tuple[bytes, str | None]:
    """The body with its content encoding undone, and that encoding (None when there was none to undo).
    DecodeError (one line) for a body that does not decode, or decodes to too much."""
    decoder = BodyDecoder(content_encoding)
    out = bytearray()
    for start in range(0, len(data), _SLICE):
        out += decoder.decode(data[start : start + _SLICE])
        if len(out) > MOST:
            raise DecodeError(f"the body decodes to over {MOST >> 20} MiB, more than import decodes in memory "
                              "(a decompression bomb?)")
    out += decoder.flush()
    return bytes(out), None if decoder.is_identity else decoder.encoding
