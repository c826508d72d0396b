"""mitmproxy flow files (`mitmdump -w FILE`, mitmweb's "Save") as captures, read with mitmproxy's own `io`.

Without streaming, mitmproxy keeps an event stream's whole body in the flow (and warns that the client got it
only at the end); the flow keeps no per-chunk times, so the body is one chunk without a time. A flow whose body
was streamed through (`stream_large_bodies`, or an addon that set `response.stream`) kept no body: skipped.
"""

from __future__ import annotations

from collections.abc import Iterator

from mitmproxy import exceptions, http, io

from ..recorder.addon import is_event_stream
from ..recorder.decode import DecodeError
from ..recording import Chunk
from .capture import Capture, CaptureError, Skipped, decoded


def read_flows(path: str) -> Iterator[Capture | Skipped | None]:
    """A Capture (or Skipped) per event-stream HTTP flow, None per other flow; CaptureError for a file that is
    not a flow file."""
    try:
        with open(path, "rb") as stream:
            for number, flow in enumerate(io.FlowReader(stream).stream()):
                if not isinstance(flow, http.HTTPFlow) or flow.response is None or not is_event_stream(flow.response):
                    yield None
                    continue
                yield _capture(f"{path} flow {number}", flow)
    except OSError as error:
        raise CaptureError(f"{path}: {error.strerror or error}") from None
    except exceptions.FlowReadException as error:
        raise CaptureError(f"{path}: not a HAR or mitmproxy flow file ({error})") from None
    except RecursionError:  # mitmproxy's reader recurses into what it reads
        raise CaptureError(f"{path}: not a mitmproxy flow file (nested too deeply to read)") from None


def _capture(where: str, flow: http.HTTPFlow) -> Capture | Skipped:
    response = flow.response
    if response.raw_content is None:
        return Skipped(where, "mitmproxy streamed this body through without keeping it")
    try:
        data, decoded_from = decoded(response.raw_content, response.headers.get("content-encoding"))
    except DecodeError as error:
        return Skipped(where, str(error))
    started = flow.request.timestamp_end or flow.request.timestamp_start
    end_t = response.timestamp_end - started if response.timestamp_end and started else None
    return Capture(where, flow.id, flow, started, [Chunk(None, data)] if data else [], end_t,
                   decoded_from=decoded_from,
                   error=flow.error.msg if flow.error else None)
