"""A one-line summary of an event's data, for `view --events`.

It knows no protocol: it flattens the event's JSON into `path=value` leaves and leaves out what repeats on every
event (ids, model, timestamps, sequence numbers, padding) and empty values, so what is left is what the event
carries: a delta, a finish reason, a tool name. Summaries are cut at a few hundred characters, so keeping one per
event stays small even when the events are large.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

_REPEATED_KEYS = frozenset(
    {"id", "object", "created", "created_at", "model", "system_fingerprint", "sequence_number", "obfuscation",
     "logprobs", "service_tier", "item_id"}
)
_SUMMARY_LIMIT = 300  # wider than any terminal line


def summarize(event_type: str, data: str) -> str:
    """`choices[0].delta.content="Hi"`-style summary of an event's data, on one line."""
    try:
        payload = json.loads(data)
    except (ValueError, RecursionError):  # not JSON, or too deep to decode (the findings say which)
        return _one_line(data)
    parts: list[str] = []
    length = 0
    for path, value in _leaves(payload, ""):
        if path == "type" and value == event_type:
            continue
        part = f"{path}={json.dumps(value, ensure_ascii=False)}" if path else json.dumps(value, ensure_ascii=False)
        parts.append(part)
        length += len(part) + 2
        if length > _SUMMARY_LIMIT:
            break
    return "  ".join(parts) if parts else "{}"


def _leaves(value: Any, path: str) -> Iterator[tuple[str, Any]]:
    if isinstance(value, dict):
        for key, item in value.items():
            if key not in _REPEATED_KEYS:
                yield from _leaves(item, f"{path}.{key}" if path else key)
    elif isinstance(value, list):
        for position, item in enumerate(value):
            if isinstance(item, dict) and item.get("index") == position:  # `choices[0].index=0` says nothing
                item = {key: field for key, field in item.items() if key != "index"}
            yield from _leaves(item, f"{path}[{position}]")
    elif value is not None and value != "":
        yield path, value


def _one_line(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\r", "\\r").replace("\n", "\\n")
