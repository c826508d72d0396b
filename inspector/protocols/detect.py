"""Which protocol a stream speaks: from the request path when there is one, else from the first events."""

from __future__ import annotations

import re
from typing import Any

from . import GENERIC
from .base import DONE

_STREAMING_SUFFIX = ":streamGenerateContent"
# fmt: off
_PATH_SUFFIXES = (
    ("/responses",        "openai-responses"),
    ("/chat/completions", "openai-chat"),
    ("/messages",         "anthropic-messages"),
    (_STREAMING_SUFFIX,   "gemini"),   # Gemini API and Vertex AI: .../models/{model}:streamGenerateContent
)
_STREAM_FLAGGED = frozenset({"openai-responses", "openai-chat", "anthropic-messages"})
"""The APIs whose requests ask for a stream in their body (`"stream": true`); Gemini's path asks."""
_ASKS_FOR_STREAM = re.compile(r'"stream"\s*:\s*true')
_GEMINI_FIELDS = ("candidates", "promptFeedback", "usageMetadata")
_ANTHROPIC_TYPES = frozenset({
    "message_start", "message_delta", "message_stop", "ping",
    "content_block_start", "content_block_delta", "content_block_stop",
})
# fmt: on


def from_path(path: str | None) -> str | None:
    """The protocol named by a request path (`/v1/chat/completions?x=1` -> openai-chat), or None."""
    if not path:
        return None
    path = path.split("?", 1)[0].rstrip("/")
    for suffix, name in _PATH_SUFFIXES:
        if path.endswith(suffix):
            return name
    return None


def path_asks_for_stream(path: str | None) -> bool:
    """Whether the request path alone asks for a stream (Gemini's `:streamGenerateContent`; the others ask with
    `"stream": true` in the body), so an answer that is not an event stream (an error) is still an LLM stream's."""
    return bool(path) and path.split("?", 1)[0].rstrip("/").endswith(_STREAMING_SUFFIX)


def asks_for_array(path: str, query: str) -> bool:
    """A Gemini stream request without `alt=sse`: it asks for its answer as one JSON array, not as events."""
    return path.rstrip("/").endswith(_STREAMING_SUFFIX) and "alt=sse" not in query


def declines_stream(path: str, body: Any) -> bool:
    """An OpenAI or Anthropic request whose body is known and does not ask for a stream (`"stream": true`): its
    client reads the answer as one JSON object (an unknown body, or another API's, declines nothing). A body kept as
    text is searched, not parsed: a long conversation's is megabytes, and every `validate` of it asks this."""
    if from_path(path) not in _STREAM_FLAGGED:
        return False
    if isinstance(body, str):  # NOTE: a JSON string holds no raw quote, so this is the key, not a message's words
        return body.lstrip().startswith("{") and _ASKS_FOR_STREAM.search(body) is None
    return isinstance(body, dict) and body.get("stream") is not True


def from_payload(event_type: str, payload: Any) -> str | None:
    """The protocol one decoded event points to, or None when it says nothing either way."""
    if payload is DONE:
        return "openai-chat"
    if not isinstance(payload, dict):
        return None
    kind = payload.get("type")
    if isinstance(kind, str):
        if kind.startswith("response."):
            return "openai-responses"
        if kind in _ANTHROPIC_TYPES or event_type in _ANTHROPIC_TYPES:
            return "anthropic-messages"
    if payload.get("object") == "text_completion":
        return GENERIC  # the legacy `/v1/completions` stream: `choices` too, but of no protocol checked here
    if payload.get("object") == "chat.completion.chunk" or "choices" in payload:
        return "openai-chat"
    if any(isinstance(payload.get(field), dict | list) for field in _GEMINI_FIELDS) or _google_error(payload):
        return "gemini"
    if isinstance(payload.get("error"), dict) and "type" not in payload:
        return "openai-chat"  # Chat's in-band error; Responses and Anthropic errors carry `"type": "error"`
    return None



def _google_error(payload: dict[str, Any]) -> bool:
    """Google's error object: `{"error": {"code": 404, "status": "NOT_FOUND", "message": ...}}`."""
    error = payload.get("error")
    return isinstance(error, dict) and type(error.get("code")) is int and isinstance(error.get("status"), str)
