"""Pydantic models of the Anthropic Messages stream events (docs/protocols.md §C.2).

Strict where the docs are (required fields, JSON types: `"0"` is not an index), open to everything else
(`extra="ignore"`): the API adds fields every month, and the SDK's own types lag the wire. The checker
validates each payload against the model its `type` names and keeps working on the raw dict, so a payload
that fails its model is one finding, never an exception.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model

from ..schema import summary

Index = Annotated[int, Field(ge=0)]
Count = Annotated[int, Field(ge=0)]


class Wire(BaseModel):
    """Base of every model: strict JSON types, unknown fields ignored."""

    model_config = ConfigDict(strict=True, extra="ignore")


class Typed(Wire):
    """Anything tagged with a string `type`: blocks and deltas of types the catalogue does not know."""

    type: str


# --- the message envelope -------------------------------------------------------------------------------------


class StartUsage(Wire):
    input_tokens: Count
    output_tokens: Count
    cache_creation_input_tokens: Count | None = None
    cache_read_input_tokens: Count | None = None


class Message(Wire):
    id: str
    type: Literal["message"]
    role: Literal["assistant"]
    model: str
    content: list[Typed]
    stop_reason: str | None
    stop_sequence: str | None = None
    usage: StartUsage


class MessageStart(Wire):
    message: Message


class MessageDeltaBody(Wire):
    stop_reason: str | None
    stop_sequence: str | None = None
    stop_details: dict[str, Any] | None = None


class DeltaUsage(Wire):
    output_tokens: Count
    input_tokens: Count | None = None
    cache_creation_input_tokens: Count | None = None
    cache_read_input_tokens: Count | None = None


class MessageDelta(Wire):
    delta: MessageDeltaBody
    usage: DeltaUsage


class Empty(Wire):
    """`message_stop` and `ping`: nothing besides `type`."""


class ErrorBody(Wire):
    type: str
    message: str


class ErrorEvent(Wire):
    error: ErrorBody


# --- content blocks (the `content_block` of `content_block_start`) ----------------------------------------------


class TextBlock(Wire):
    text: str
    citations: list[dict[str, Any]] | None = None


class ThinkingBlock(Wire):
    thinking: str
    signature: str | None = None  # NOTE: the docs example omits it; real captures start with "".


class RedactedThinkingBlock(Wire):
    data: str


class ToolUseBlock(Wire):
    id: str
    name: str
    input: dict[str, Any]


class McpToolUseBlock(ToolUseBlock):
    server_name: str


class ToolResultBlock(Wire):
    tool_use_id: str
    content: Any


class CompactionBlock(Wire):
    content: str | None = None
    encrypted_content: str | None = None


class ContentBlockStart(Wire):
    index: Index
    content_block: Typed


class ContentBlockStop(Wire):
    index: Index


# fmt: off
RESULT_BLOCKS = (
    "web_search_tool_result", "web_fetch_tool_result", "code_execution_tool_result",
    "bash_code_execution_tool_result", "text_editor_code_execution_tool_result", "tool_search_tool_result",
    "mcp_tool_result",
)
BLOCK_MODELS: dict[str, type[Wire]] = {
    "text":              TextBlock,
    "thinking":          ThinkingBlock,
    "redacted_thinking": RedactedThinkingBlock,
    "tool_use":          ToolUseBlock,
    "server_tool_use":   ToolUseBlock,
    "mcp_tool_use":      McpToolUseBlock,
    "compaction":        CompactionBlock,   # beta
    "container_upload":  Typed,             # beta, fields not documented
    "fallback":          Typed,             # beta, fields not documented
    **dict.fromkeys(RESULT_BLOCKS, ToolResultBlock),
}
# fmt: on


def block_model(block_type: str) -> type[Wire] | None:
    """The model of a block type; a new `*_tool_result` follows the documented result shape. None: unknown."""
    found = BLOCK_MODELS.get(block_type)
    if found is None and block_type.endswith("_tool_result"):
        return ToolResultBlock
    return found


# --- deltas (the `delta` of `content_block_delta`) --------------------------------------------------------------


class TextDelta(Wire):
    text: str


class InputJsonDelta(Wire):
    partial_json: str


class ThinkingDelta(Wire):
    thinking: str


class SignatureDelta(Wire):
    signature: str


class CitationsDelta(Wire):
    citation: dict[str, Any]


class CompactionDelta(Wire):
    content: str | None = None
    encrypted_content: str | None = None


def _delta_event(delta: type[Wire]) -> type[Wire]:
    """A whole `content_block_delta` model for one delta type: the hot event costs one validation."""
    return create_model(f"{delta.__name__}Event", __base__=Wire, index=(Index, ...), delta=(delta, ...))


# fmt: off
DELTA_EVENT_MODELS: dict[str, type[Wire]] = {
    "text_delta":       _delta_event(TextDelta),
    "input_json_delta": _delta_event(InputJsonDelta),
    "thinking_delta":   _delta_event(ThinkingDelta),
    "signature_delta":  _delta_event(SignatureDelta),
    "citations_delta":  _delta_event(CitationsDelta),
    "compaction_delta": _delta_event(CompactionDelta),   # beta
}
UNKNOWN_DELTA_EVENT = _delta_event(Typed)

EVENT_MODELS: dict[str, type[Wire]] = {
    "message_start":       MessageStart,
    "content_block_start": ContentBlockStart,
    "content_block_delta": UNKNOWN_DELTA_EVENT,   # refined by delta type: DELTA_EVENT_MODELS
    "content_block_stop":  ContentBlockStop,
    "message_delta":       MessageDelta,
    "message_stop":        Empty,
    "ping":                Empty,
    "error":               ErrorEvent,
}
# fmt: on


def schema_problem(model: type[Wire], payload: Any, prefix: str = "") -> str | None:
    """None when `payload` fits `model`, else which fields are wrong and what was expected, in a few words."""
    try:
        model.model_validate(payload)
    except ValidationError as error:
        return summary(error, 3, prefix)
    return None
