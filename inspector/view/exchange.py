"""What was asked and what came back, around the stream: the facts a person checks first when an answer goes wrong.

From the recording's header (request body, response headers) it picks the model, stream options, sampling and
length parameters, tool names, the conversation's size and its last user message; from the response the status,
content type, request id, rate-limit and processing-time headers. A non-streamed answer (a 401 or 429 JSON body)
is kept as the error answer it is. The same `Exchange` feeds the terminal, `--json` and the HTML report.
Headers, URL and body are redacted again on the way (a recording written elsewhere may hold secrets).
"""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from ..recording import Header
from ..redact import Policy
from ..validate import error_body_json

LAST_USER_LIMIT = 200
"""Characters of the last user message shown (the whole conversation is in the recording)."""
BODY_LIMIT = 64 * 1024
"""Bytes of a non-streamed answer kept for the view: an error body is small; anything longer is cut."""
_PARAMETERS = (
    # (shown name, path in the request body); the first of each name that is present wins
    ("max tokens", ("max_tokens",)), ("max tokens", ("max_output_tokens",)), ("max tokens", ("max_completion_tokens",)),
    ("temperature", ("temperature",)), ("top_p", ("top_p",)), ("tool choice", ("tool_choice",)),
    ("parallel tool calls", ("parallel_tool_calls",)), ("reasoning effort", ("reasoning", "effort")),
    ("reasoning effort", ("reasoning_effort",)), ("thinking", ("thinking",)), ("store", ("store",)),
    ("previous response", ("previous_response_id",)), ("service tier", ("service_tier",)),
    # Gemini keeps them in generationConfig
    ("max tokens", ("generationConfig", "maxOutputTokens")), ("temperature", ("generationConfig", "temperature")),
    ("top_p", ("generationConfig", "topP")), ("thinking", ("generationConfig", "thinkingConfig")),
    ("tool choice", ("toolConfig",)),
)
_MODEL_IN_PATH = re.compile(r"/models/([^/:?]+)")
"""Gemini names the model in the URL (`/v1beta/models/gemini-2.5-flash:streamGenerateContent`), not the body."""
_ID_HEADERS = ("x-request-id", "request-id", "openai-request-id", "cf-ray")
_TIMING_HEADERS = ("openai-processing-ms", "server-timing", "retry-after", "retry-after-ms",
                   "x-envoy-upstream-service-time")
_RATE_PREFIXES = ("x-ratelimit-", "anthropic-ratelimit-")


@dataclass(frozen=True)
class RequestFacts:
    method: str | None
    url: str | None
    model: str | None = None
    stream: Any = None
    stream_options: Any = None
    parameters: dict[str, Any] = field(default_factory=dict)
    tools: list[str] = field(default_factory=list)
    messages: int | None = None
    last_user: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    body_kept: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "method": self.method, "url": self.url, "model": self.model, "stream": self.stream,
            "stream_options": self.stream_options, "parameters": self.parameters, "tools": self.tools,
            "messages": self.messages, "last_user_message": self.last_user, "headers": self.headers,
        }


@dataclass(frozen=True)
class ResponseFacts:
    status: int | None
    content_type: str | None = None
    request_id: str | None = None
    rate_limits: dict[str, str] = field(default_factory=dict)
    timing: dict[str, str] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    error_body: str | None = None
    """The body of a non-streamed answer (an error), as text; None for an event stream."""
    error_message: str | None = None
    """The `error.message` of that body when it is the vendors' JSON error shape."""

    @property
    def streamed(self) -> bool:
        return self.error_body is None

    @property
    def error_title(self) -> str:
        """The heading of a non-streamed answer: an error's, or a whole answer's where a stream was asked for (a
        server that ignores `stream: true`); it says when the body is not even an event stream (an error sent as
        an event, as LiteLLM's proxy does, is one)."""
        kind = "answer in one body" if self.status is not None and 200 <= self.status < 300 else "error answer"
        framed = "text/event-stream" in (self.content_type or "").lower()
        return f"{kind}: HTTP {self.status}{'' if framed else ', not an event stream'}"

    def to_json(self) -> dict[str, Any]:
        return {
            "status": self.status, "content_type": self.content_type, "request_id": self.request_id,
            "rate_limits": self.rate_limits, "timing_headers": self.timing, "headers": self.headers,
            "error_body": self.error_body, "error_message": self.error_message,
        }


@dataclass(frozen=True)
class Exchange:
    request: RequestFacts
    response: ResponseFacts | None

    def to_json(self) -> dict[str, Any]:
        response = None if self.response is None else self.response.to_json()
        return {"request": self.request.to_json(), "response": response}


def is_streamed(header: Header) -> bool:
    """Whether the recorded response is an event stream (2xx and `text/event-stream`), not a plain answer."""
    if header.response is None:
        return True  # no answer at all: nothing to keep
    status = header.status
    kind = (header.header("response", "content-type") or "").lower()
    return status is not None and 200 <= status < 300 and kind.startswith("text/event-stream")


def exchange_of(header: Header, body: bytes | None = None) -> Exchange:
    """The request and response facts of a recording; `body` is a non-streamed answer's body, if one came."""
    return Exchange(_request(header), _response(header, body) if header.response is not None else None)


def _request(header: Header) -> RequestFacts:
    policy = Policy()
    request = header.request
    body = request.get("body")
    try:  # a copy of the header's: redacted in place
        body = json.loads(body) if isinstance(body, str) else copy.deepcopy(body)
        policy.redact(body)
    except (ValueError, RecursionError):  # not JSON, or nested too deeply to read: no facts come from it
        body = None
    headers = _redacted(request.get("headers") or {})
    url = request.get("url")
    url = policy.url(url) if isinstance(url, str) else None
    if not isinstance(body, dict):
        return RequestFacts(request.get("method"), url, headers=headers)
    parameters: dict[str, Any] = {}
    for name, path in _PARAMETERS:
        value = _at(body, path)
        if value is not None and name not in parameters:
            parameters[name] = value
    conversation = _conversation(body)
    in_path = _MODEL_IN_PATH.search(urlsplit(url).path) if url else None
    return RequestFacts(
        method=request.get("method"), url=url,
        model=body["model"] if isinstance(body.get("model"), str) else in_path.group(1) if in_path else None,
        stream=body.get("stream"), stream_options=body.get("stream_options"), parameters=parameters,
        tools=[name for tool in body.get("tools") or [] if isinstance(tool, dict) for name in _tool_names(tool)],
        messages=None if conversation is None else len(conversation),
        last_user=_last_user(conversation), headers=headers, body_kept=True,
    )


def _redacted(headers: dict[str, str]) -> dict[str, str]:
    """Headers redacted again, but for values the recorder already redacted (`Bearer …WXYZ` keeps its tail)."""
    again = Policy().headers(headers)
    return {name: value if "…" in value else again[name] for name, value in headers.items()}


def _at(body: dict[str, Any], path: tuple[str, ...]) -> Any:
    value: Any = body
    for key in path:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


def _conversation(body: dict[str, Any]) -> list[Any] | None:
    """The request's messages: Chat and Anthropic `messages`, Responses `input` (a string is one user message)."""
    for key in ("messages", "input", "contents"):
        value = body.get(key)
        if isinstance(value, list):
            return value
        if isinstance(value, str):
            return [{"role": "user", "content": value}]
    return None


def _tool_names(tool: dict[str, Any]) -> list[str]:
    """The names a `tools` entry declares: one, or each of a Gemini entry's function declarations."""
    declarations = tool.get("functionDeclarations", tool.get("function_declarations"))
    if isinstance(declarations, list):
        return [_tool_name(declared) for declared in declarations if isinstance(declared, dict)]
    return [_tool_name(tool)]


def _tool_name(tool: dict[str, Any]) -> str:
    function = tool.get("function")
    name = tool.get("name") or (function.get("name") if isinstance(function, dict) else None)
    kind = tool.get("type")
    if isinstance(name, str):
        return name if kind in (None, "function", "custom") else f"{name} ({kind})"
    return str(kind or next(iter(tool), "?"))  # Gemini: `{"googleSearch": {}}`


def _last_user(conversation: list[Any] | None) -> str | None:
    for message in reversed(conversation or []):
        if isinstance(message, dict) and message.get("role") == "user":
            text = _text_of(message.get("content", message.get("parts")))
            if text is not None:
                return text if len(text) <= LAST_USER_LIMIT else text[: LAST_USER_LIMIT - 1] + "…"
    return None


def _text_of(content: Any) -> str | None:
    """The text of a message's content: a string, or the text parts of a list of parts (others named)."""
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        return None
    pieces = []
    for part in content:
        if isinstance(part, dict):
            text = part.get("text")
            pieces.append(text if isinstance(text, str) else f"[{part.get('type', 'part')}]")
    return " ".join(pieces)


def _response(header: Header, body: bytes | None) -> ResponseFacts:
    headers = _redacted((header.response or {}).get("headers") or {})
    lowered = {name.lower(): value for name, value in headers.items()}
    error_body = None if body is None else body.decode("utf-8", errors="replace")
    return ResponseFacts(
        status=header.status,
        content_type=lowered.get("content-type"),
        request_id=next((lowered[name] for name in _ID_HEADERS if name in lowered), None),
        rate_limits={name: value for name, value in lowered.items() if name.startswith(_RATE_PREFIXES)},
        timing={name: lowered[name] for name in _TIMING_HEADERS if name in lowered},
        headers=headers,
        error_body=error_body,
        error_message=_error_message(body),
    )


def _error_message(body: bytes | None) -> str | None:
    """`error.message` of OpenAI's and Anthropic's error bodies (`{"error": {"message": ...}}`, also when sent as an
    event), else None."""
    payload = error_body_json(body) if body else None
    error = payload.get("error") if isinstance(payload, dict) else None
    if isinstance(error, list) and error:  # Gemini answers with a list of one error
        error = error[0].get("error") if isinstance(error[0], dict) else None
    if isinstance(error, dict) and isinstance(error.get("message"), str):
        kind = error.get("type") or error.get("code") or error.get("status")
        return f"{kind}: {error['message']}" if isinstance(kind, str) else error["message"]
    return None
