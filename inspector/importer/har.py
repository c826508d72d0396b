"""HAR 1.2 files (browser DevTools, HTTP Toolkit, Proxyman, Charles, Fiddler exports) as captures.

Read with the standard `json` module against the HAR 1.2 spec (http://www.softwareishard.com/blog/har-12-spec/):
`log.entries[]` each hold `startedDateTime`, `request` (`method`, `url`, `headers[]`, `postData.text`),
`response` (`status`, `headers[]`, `content.text`, `content.encoding`) and `timings` in milliseconds.
mitmproxy's own HAR reader is not used: it re-encodes a body whose content type names no charset as Latin-1,
and SSE is UTF-8 by definition, so every non-ASCII character would come out as broken UTF-8.

`content.text` is the body after the content encoding was undone (some tools keep it as it came, which
`_is_text` tells). HAR keeps no per-chunk times, so the body is one chunk without a time. Some tools add
`_eventSourceMessages` (as Chrome does `_webSocketMessages`): `{time, eventName, eventId, data}`, time in epoch
seconds. An entry with those but no body gets its event frames rebuilt from them, each at its time, and the header
says the frames were rebuilt.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import json
import math
import re
import uuid
from collections.abc import Iterator
from datetime import datetime
from typing import Any
from urllib.parse import quote

from mitmproxy import connection, exceptions, http
from mitmproxy.io.har import fix_headers

from ..recorder.decode import DecodeError
from ..recording import Chunk
from .capture import Capture, CaptureError, Skipped, decoded


def read_har(path: str) -> Iterator[Capture | Skipped | None]:
    """A Capture (or Skipped) per event-stream entry, None per other entry. CaptureError for a file that is not
    HAR at all; a broken entry only skips that entry."""
    try:
        with open(path, encoding="utf-8-sig") as stream:
            document = json.load(stream)
        entries = document["log"]["entries"]
    except OSError as error:
        raise CaptureError(f"{path}: {error.strerror or error}") from None
    except (ValueError, KeyError, TypeError) as error:
        raise CaptureError(f"{path}: not a HAR file (no log.entries: {error})") from None
    except RecursionError:
        raise CaptureError(f"{path}: not a HAR file (JSON nested too deeply to read)") from None
    if not isinstance(entries, list):
        raise CaptureError(f"{path}: not a HAR file (log.entries is not a list)")
    for number, entry in enumerate(entries):
        where = f"{path} entry {number}"
        try:
            if not _is_event_stream(_of(entry, dict, "the entry")):
                yield None
                continue
            yield _capture(where, entry)
        except (KeyError, TypeError, ValueError, binascii.Error, exceptions.OptionsError) as error:
            detail = f"missing {error}" if isinstance(error, KeyError) else str(error)
            yield Skipped(where, f"not a valid HAR 1.2 entry ({detail})")


def _is_event_stream(entry: dict[str, Any]) -> bool:
    response = _field(entry, "response", dict)
    content = _field(response, "content", dict, {}, "response.")
    content_type = _header(response, "content-type") or _field(content, "mimeType", str, "", "response.content.")
    return content_type.lower().startswith("text/event-stream")


def _header(response: dict[str, Any], name: str) -> str | None:
    return next((item["value"] for item in _headers(response, "response.") if item["name"].lower() == name), None)


def _capture(where: str, entry: dict[str, Any]) -> Capture | Skipped:
    request, response = _field(entry, "request", dict), entry["response"]
    started = datetime.fromisoformat(_field(entry, "startedDateTime", str).replace("Z", "+00:00")).timestamp()
    client = connection.Client(peername=("127.0.0.1", 0), sockname=("127.0.0.1", 0), timestamp_start=started)
    flow = http.HTTPFlow(client, connection.Server(address=None))
    # NOTE: headers and bodies are set after `make`, which would otherwise add a content-length of its own
    flow.request = http.Request.make(_field(request, "method", str, prefix="request."),
                                     _ascii(_field(request, "url", str, prefix="request.")))
    flow.request.headers = fix_headers(_headers(request, "request."))
    post_data = _field(request, "postData", dict, {}, "request.")
    flow.request.raw_content = _field(post_data, "text", str, "", "request.postData.").encode("utf-8")
    flow.request.timestamp_start = flow.request.timestamp_end = started
    status = response["status"]
    if type(status) is not int or not 100 <= status <= 599:
        raise ValueError(f"response.status must be an HTTP status code, got {status!r}")
    flow.response = http.Response.make(status)
    flow.response.headers = fix_headers(_headers(response, "response."))
    flow.response.raw_content = b""
    content = _field(response, "content", dict, {}, "response.")
    end_t = _seconds(_field(entry, "timings", dict, {}), "send", "wait", "receive")
    extra: dict[str, Any] = {}
    encoding = _header(response, "content-encoding")
    text = _field(content, "text", str, None, "response.content.")
    if text is not None:
        base64_text = _field(content, "encoding", str, "", "response.content.") == "base64"
        data = base64.b64decode(text, validate=True) if base64_text else text.encode("utf-8")
        if encoding and not _is_text(data):
            try:
                data, encoding = decoded(data, encoding)
            except DecodeError as error:
                return Skipped(where, f"its body is stored still encoded ({encoding}) and cannot be decoded: {error}")
        chunks = [Chunk(None, data)] if data else []
    elif entry.get("_eventSourceMessages"):
        chunks = _rebuilt(entry["_eventSourceMessages"], started)
        extra["rebuilt_from"] = "HAR _eventSourceMessages: event frames rebuilt from the tool's message list"
    else:
        return Skipped(where, "the HAR holds no body for this event stream (export it with content)")
    entry_id = uuid.uuid5(uuid.NAMESPACE_URL, where).hex  # HAR has no ids: derived, so a re-import names alike
    return Capture(where, entry_id, flow, started, chunks, end_t, decoded_from=encoding, extra=extra,
                   body_type=_string(post_data.get("mimeType")))


_REQUIRED: Any = object()


def _field(parent: dict[str, Any], key: str, kind: type, default: Any = _REQUIRED, prefix: str = "") -> Any:
    """`parent[key]`, which must be of `kind` (null stands for absent where there is a `default`); ValueError naming
    the field otherwise, so that the note says which one is wrong (`request.headers is null, not a list`)."""
    value = parent.get(key)
    if value is None and default is not _REQUIRED:
        return default
    if key not in parent:
        raise KeyError(f"{prefix}{key}")
    return _of(value, kind, f"{prefix}{key}")


def _of(value: Any, kind: type, name: str) -> Any:
    if not isinstance(value, kind):
        raise ValueError(f"{name} is {_kind(value)}, not {_kind(kind())}")
    return value


def _headers(parent: dict[str, Any], prefix: str) -> list[dict[str, str]]:
    """`headers[]`: `{name, value}` objects of strings, as mitmproxy's `fix_headers` takes them."""
    headers = _field(parent, "headers", list, prefix=prefix)
    for number, item in enumerate(headers):
        if not (isinstance(item, dict) and isinstance(item.get("name"), str) and isinstance(item.get("value"), str)):
            raise ValueError(f"{prefix}headers[{number}] is not a {{name, value}} object of strings")
    return headers


def _is_text(data: bytes) -> bool:
    """Whether a body's start is UTF-8, as an event stream's is. HAR 1.2 keeps a body with its content encoding
    undone (browsers do), but some tools keep the bytes as they came: those are not UTF-8 from their first bytes on
    (gzip's magic `1f 8b` and zstd's `28 b5` never are; brotli and deflate, compressed, hardly for long)."""
    try:
        codecs.getincrementaldecoder("utf-8")().decode(data[:_SNIFF])  # a character cut at the end is fine
    except UnicodeDecodeError:
        return False
    return True


_SNIFF = 1 << 10


def _ascii(url: Any) -> Any:
    """The URL with each character beyond ASCII percent-encoded as UTF-8, as a browser sends it: a tool may keep
    `é` as it is, and mitmproxy takes ASCII only."""
    return quote(url, safe=_ASCII) if isinstance(url, str) else url


_ASCII = "".join(map(chr, range(128)))


def _string(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _seconds(timings: dict[str, Any], *names: str) -> float | None:
    """The sum of HAR timings (milliseconds; -1 means not available) in seconds, None if one is missing."""
    values = [timings.get(name) for name in names]
    if any(not isinstance(value, int | float) or isinstance(value, bool) or value < 0 for value in values):
        return None
    return sum(values) / 1000


def _rebuilt(messages: Any, started: float) -> list[Chunk]:
    """One SSE frame per message, timed from the request's start when the message has a usable time. ValueError
    (the entry is skipped) for a list that is not one of messages: a frame made up from it would not be the wire's."""
    if not isinstance(messages, list):
        raise ValueError(f"_eventSourceMessages is {_kind(messages)}, not a list of messages")
    chunks = []
    for number, message in enumerate(messages):
        if not isinstance(message, dict):
            raise ValueError(f"_eventSourceMessages[{number}] is {_kind(message)}, not a message object")
        fields = {key: message.get(key, "") for key in ("eventName", "eventId", "data")}
        for key, value in fields.items():
            if value is not None and not isinstance(value, str):
                raise ValueError(f"_eventSourceMessages[{number}].{key} is {_kind(value)}, not a string")
        name, event_id, data = (value or "" for value in fields.values())
        if _LINE_BREAK.search(name + event_id):
            raise ValueError(f"_eventSourceMessages[{number}] has a line break in its eventName or eventId")
        lines = [f"event: {name}"] if name and name != "message" else []
        if event_id:
            lines.append(f"id: {event_id}")
        lines.extend(f"data: {line}" for line in _LINE_BREAK.split(data))
        at = message.get("time")
        usable = type(at) in (int, float) and math.isfinite(at) and at >= started
        chunks.append(Chunk(at - started if usable else None, ("\n".join(lines) + "\n\n").encode("utf-8")))
    return chunks


_LINE_BREAK = re.compile(r"\r\n|\r|\n")
"""What ends a line in SSE: each line of a message's data is a `data:` line of its own."""


def _kind(value: Any) -> str:
    """A JSON value's type in words, for a note: the value itself may hold anything."""
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean", type(None): "null"}.get(
        type(value), "a number")
