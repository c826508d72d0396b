"""What a reader hands to the writer: one captured exchange, or why an event stream could not be imported."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mitmproxy import http

from ..recording import Chunk


class CaptureError(ValueError):
    """A file that cannot be imported at all; the message is the one line the CLI prints."""


@dataclass(slots=True)
class Capture:
    """An event-stream response as a capture tool kept it.

    `chunks` hold the body already decoded (capture tools store it so), with times when the tool kept them;
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
