"""The schemas of the Anthropic Messages stream events (docs/protocols.md §C.2), in the words of `protocols.schema`.

Strict where the docs are (required fields, JSON types: `"0"` is not an index), open to everything else (unknown
keys are ignored): the API adds fields every month, and the Python SDK's own types lag the wire. The checker validates
each payload against the schema its `type` names and keeps working on the raw dict, so a payload that fails its
schema is one finding, never an exception.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

from pydantic_core import ValidationError

from ..schema import (
    ANY,
    ANY_OBJECT,
    COUNT,
    STRING,
    Validator,
    array,
    compiled,
    json_object,
    maybe,
    nullable,
    one_of,
    summary,
)

TYPED = json_object("Typed", {"type": STRING})
"""Anything tagged with a string `type`: blocks and deltas of types the catalogue does not know."""


# --- the message envelope -------------------------------------------------------------------------------------

START_USAGE = json_object("StartUsage", {
    "input_tokens": COUNT,
    "output_tokens": COUNT,
    "cache_creation_input_tokens": maybe(COUNT),
    "cache_read_input_tokens": maybe(COUNT),
})

MESSAGE_START = json_object("MessageStart", {
    "message": json_object("Message", {
        "id": STRING,
        "type": one_of(Literal["message"]),
        "role": one_of(Literal["assistant"]),
        "model": STRING,
        "content": array(TYPED),
        "stop_reason": nullable(STRING),
        "stop_sequence": maybe(STRING),
        "usage": START_USAGE,
    }),
})

MESSAGE_DELTA = json_object("MessageDelta", {
    "delta": json_object("MessageDeltaBody", {
        "stop_reason": nullable(STRING),
        "stop_sequence": maybe(STRING),
        "stop_details": maybe(ANY_OBJECT),
    }),
    "usage": json_object("DeltaUsage", {
        "output_tokens": COUNT,
        "input_tokens": maybe(COUNT),
        "cache_creation_input_tokens": maybe(COUNT),
        "cache_read_input_tokens": maybe(COUNT),
    }),
})

EMPTY = json_object("Empty", {})
"""`message_stop` and `ping`: nothing besides `type`."""

ERROR_EVENT = json_object("ErrorEvent", {"error": json_object("ErrorBody", {"type": STRING, "message": STRING})})

# --- content blocks (the `content_block` of `content_block_start`) ----------------------------------------------

TEXT_BLOCK = json_object("TextBlock", {"text": STRING, "citations": maybe(array(ANY_OBJECT))})
THINKING_BLOCK = json_object("ThinkingBlock", {
    "thinking": STRING,
    "signature": maybe(STRING),  # NOTE: the docs example omits it; real captures start with "".
})
REDACTED_THINKING_BLOCK = json_object("RedactedThinkingBlock", {"data": STRING})
TOOL_USE_BLOCK = json_object("ToolUseBlock", {"id": STRING, "name": STRING, "input": ANY_OBJECT})
MCP_TOOL_USE_BLOCK = json_object("McpToolUseBlock", {**TOOL_USE_BLOCK["fields"], "server_name": STRING})
TOOL_RESULT_BLOCK = json_object("ToolResultBlock", {"tool_use_id": STRING, "content": ANY})
WEB_SEARCH_RESULT = compiled(json_object("WebSearchResult", {
    "url": STRING,
    "title": STRING,
    "encrypted_content": STRING,
    "page_age": maybe(STRING),
}))
"""One `web_search_result` of a `web_search_tool_result` block's `content` (a list of them, or an error object)."""
COMPACTION_BLOCK = json_object("CompactionBlock", {"content": maybe(STRING), "encrypted_content": maybe(STRING)})

# fmt: off
RESULT_BLOCKS = (
    "web_search_tool_result", "web_fetch_tool_result", "code_execution_tool_result",
    "bash_code_execution_tool_result", "text_editor_code_execution_tool_result", "tool_search_tool_result",
    "mcp_tool_result",
)
BLOCK_MODELS: dict[str, Validator] = {kind: compiled(schema) for kind, schema in {
    "text":              TEXT_BLOCK,
    "thinking":          THINKING_BLOCK,
    "redacted_thinking": REDACTED_THINKING_BLOCK,
    "tool_use":          TOOL_USE_BLOCK,
    "server_tool_use":   TOOL_USE_BLOCK,
    "mcp_tool_use":      MCP_TOOL_USE_BLOCK,
    "compaction":        COMPACTION_BLOCK,  # beta
    "container_upload":  TYPED,             # beta, fields not documented
    "fallback":          TYPED,             # beta, fields not documented
    **dict.fromkeys(RESULT_BLOCKS, TOOL_RESULT_BLOCK),
}.items()}
# fmt: on
_UNKNOWN_RESULT_BLOCK = compiled(TOOL_RESULT_BLOCK)


def block_model(block_type: str) -> Validator | None:
    """The schema of a block type; a new `*_tool_result` follows the documented result shape. None: unknown."""
    found = BLOCK_MODELS.get(block_type)
    if found is None and block_type.endswith("_tool_result"):
        return _UNKNOWN_RESULT_BLOCK
    return found


# --- deltas (the `delta` of `content_block_delta`) --------------------------------------------------------------


def _delta_event(name: str, delta: dict[str, Any]) -> Validator:
    """A whole `content_block_delta` schema for one delta type: the hot event costs one validation."""
    return compiled(json_object(f"{name}Event", {"index": COUNT, "delta": json_object(name, delta)}))


# fmt: off
DELTA_EVENT_MODELS: dict[str, Validator] = {
    "text_delta":       _delta_event("TextDelta", {"text": STRING}),
    "input_json_delta": _delta_event("InputJsonDelta", {"partial_json": STRING}),
    "thinking_delta":   _delta_event("ThinkingDelta", {"thinking": STRING}),
    "signature_delta":  _delta_event("SignatureDelta", {"signature": STRING}),
    "citations_delta":  _delta_event("CitationsDelta", {"citation": ANY_OBJECT}),
    "compaction_delta": _delta_event("CompactionDelta", {    # beta
        "content": maybe(STRING),
        "encrypted_content": maybe(STRING),
    }),
}
UNKNOWN_DELTA_EVENT = _delta_event("Typed", {"type": STRING})

EVENT_MODELS: dict[str, Validator] = {
    "message_start":       compiled(MESSAGE_START),
    "content_block_start": compiled(json_object("ContentBlockStart", {"index": COUNT, "content_block": TYPED})),
    "content_block_delta": UNKNOWN_DELTA_EVENT,   # refined by delta type: DELTA_EVENT_MODELS
    "content_block_stop":  compiled(json_object("ContentBlockStop", {"index": COUNT})),
    "message_delta":       compiled(MESSAGE_DELTA),
    "message_stop":        compiled(EMPTY),
    "ping":                compiled(EMPTY),
    "error":               compiled(ERROR_EVENT),
}
# fmt: on


def schema_problem(model: Validator, payload: Any, prefix: str = "",
                   fresh: Callable[[str], bool] | None = None) -> str | None:
    """None when `payload` fits `model`, else which fields are wrong and what was expected, in a few words (of
    the fields `fresh(path)` is true of: "" when it is of none)."""
    try:
        model(payload)
    except ValidationError as error:
        return summary(error, 3, prefix, fresh)
    return None
