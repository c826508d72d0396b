"""Pydantic models of the OpenAI Responses stream events, items and parts (docs/protocols.md §A.2).

Strict on what the docs require and on JSON types (`"0"` is not an index), open to every field they do not
name: the API adds fields every month, so models never forbid extras. Dispatch is by dict (`EVENT_MODELS`,
`ITEM_MODELS`, `PART_MODELS`), never by a ladder; a type missing from a dict is simply not modelled.

Deliberately NOT required although the schema lists them (docs/protocols.md §A.4): `name` on
`function_call_arguments.done`, `logprobs` on `output_text.*`, `sequence_number` (absent on 2025-03 streams,
checked by the state machine instead), `response_id` on the audio events (never defined), `obfuscation`.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, model_validator


class _Open(BaseModel):
    model_config = ConfigDict(strict=True, extra="allow")


# ---- snapshots -------------------------------------------------------------------------------------------


class ResponseError(_Open):
    code: str | None = None
    message: str


class IncompleteDetails(_Open):
    reason: str


class ResponseSnapshot(_Open):
    """The `response` of the lifecycle events."""

    id: str
    object: Literal["response"]
    created_at: int | float
    status: Literal["completed", "failed", "in_progress", "cancelled", "queued", "incomplete"]
    error: ResponseError | None = None
    incomplete_details: IncompleteDetails | None = None
    output: list[dict[str, Any]]
    usage: dict[str, Any] | None = None
    model: str | None = None


class Item(_Open):
    """Any output item: new item types keep appearing, so an unknown `type` only needs an `id`."""

    id: str
    type: str


class MessageItem(Item):
    role: Literal["assistant"]
    content: list[dict[str, Any]]


class FunctionCallItem(Item):
    call_id: str
    name: str
    arguments: str


class CustomToolCallItem(Item):
    call_id: str
    name: str
    input: str


class ReasoningItem(Item):
    summary: list[dict[str, Any]]


class McpCallItem(Item):
    name: str
    server_label: str
    arguments: str


class McpListToolsItem(Item):
    server_label: str
    tools: list[Any]


class McpApprovalRequestItem(Item):
    name: str
    server_label: str
    arguments: str


ITEM_MODELS: dict[str, type[Item]] = {
    "message": MessageItem,
    "function_call": FunctionCallItem,
    "custom_tool_call": CustomToolCallItem,
    "reasoning": ReasoningItem,
    "mcp_call": McpCallItem,
    "mcp_list_tools": McpListToolsItem,
    "mcp_approval_request": McpApprovalRequestItem,
}


class Part(_Open):
    type: str


class OutputTextPart(Part):
    text: str
    annotations: list[Any]


class RefusalPart(Part):
    refusal: str


class TextPart(Part):
    text: str


PART_MODELS: dict[str, type[Part]] = {
    "output_text": OutputTextPart,
    "refusal": RefusalPart,
    "reasoning_text": TextPart,
    "summary_text": TextPart,
}


# ---- events ----------------------------------------------------------------------------------------------


class Event(_Open):
    type: str
    sequence_number: int | None = None


class LifecycleEvent(Event):
    response: ResponseSnapshot


class OutputItemEvent(Event):
    output_index: int
    item: dict[str, Any]


class ItemEvent(Event):
    """A child event of one output item (tool progress and item-scoped deltas)."""

    output_index: int
    item_id: str


class ContentEvent(ItemEvent):
    content_index: int


class ContentPartEvent(ContentEvent):
    part: dict[str, Any]


class Delta(ItemEvent):
    delta: str


class ContentDelta(ContentEvent):
    delta: str
    logprobs: list[Any] | None = None
    """Required by the schema on `output_text.delta`, absent in 2025-03 streams: checked only when present."""


class TextDone(ContentEvent):
    text: str
    logprobs: list[Any] | None = None


class RefusalDone(ContentEvent):
    refusal: str


class AnnotationAdded(ContentEvent):
    annotation_index: int
    annotation: dict[str, Any] | None


class SummaryPartEvent(ItemEvent):
    summary_index: int
    part: dict[str, Any]


class SummaryDelta(ItemEvent):
    summary_index: int
    delta: str


class SummaryDone(ItemEvent):
    summary_index: int
    text: str


class ArgumentsDone(ItemEvent):
    arguments: str


class InputDone(ItemEvent):
    input: str


class CodeDone(ItemEvent):
    code: str


class DiffDone(ItemEvent):
    diff: str


class PartialImage(ItemEvent):
    partial_image_index: int
    partial_image_b64: str


class ShellCommandEvent(Event):
    output_index: int
    command_index: int
    command: str


class ShellCommandDelta(Event):
    output_index: int
    command_index: int
    delta: str


class ShellOutputDelta(ItemEvent):
    command_index: int
    delta: dict[str, Any]


class ShellOutputDone(ItemEvent):
    command_index: int
    output: list[Any]


class AudioDelta(Event):
    delta: str


class NestedError(_Open):
    message: str
    code: str | None = None
    type: str | None = None
    param: str | None = None


class ErrorEvent(Event):
    """Both shapes: the schema's flat `{code, message, param}` and the wire's nested `{error: {...}}`."""

    message: str | None = None
    code: str | None = None
    param: str | None = None
    error: NestedError | None = None

    @model_validator(mode="after")
    def _one_shape(self) -> ErrorEvent:
        if self.message is None and self.error is None:
            raise ValueError("an error event needs `message` (flat shape) or `error.message` (nested shape)")
        return self

    @property
    def text(self) -> str:
        nested = self.error
        return nested.message if nested is not None else (self.message or "")

    @property
    def error_code(self) -> str | None:
        return self.error.code or self.error.type if self.error is not None else self.code


_TOOL_PROGRESS = (
    "code_interpreter_call.completed", "code_interpreter_call.in_progress", "code_interpreter_call.interpreting",
    "file_search_call.completed", "file_search_call.in_progress", "file_search_call.searching",
    "web_search_call.completed", "web_search_call.in_progress", "web_search_call.searching",
    "image_generation_call.completed", "image_generation_call.generating", "image_generation_call.in_progress",
    "mcp_call.completed", "mcp_call.failed", "mcp_call.in_progress",
    "mcp_list_tools.completed", "mcp_list_tools.failed", "mcp_list_tools.in_progress",
)

# fmt: off
EVENT_MODELS: dict[str, type[Event]] = {
    "response.created":                              LifecycleEvent,
    "response.queued":                               LifecycleEvent,
    "response.in_progress":                          LifecycleEvent,
    "response.completed":                            LifecycleEvent,
    "response.failed":                               LifecycleEvent,
    "response.incomplete":                           LifecycleEvent,
    "response.output_item.added":                    OutputItemEvent,
    "response.output_item.done":                     OutputItemEvent,
    "response.content_part.added":                   ContentPartEvent,
    "response.content_part.done":                    ContentPartEvent,
    "response.output_text.delta":                    ContentDelta,
    "response.output_text.done":                     TextDone,
    "response.output_text.annotation.added":         AnnotationAdded,
    "response.refusal.delta":                        ContentDelta,
    "response.refusal.done":                         RefusalDone,
    "response.reasoning_text.delta":                 ContentDelta,
    "response.reasoning_text.done":                  TextDone,
    "response.reasoning_summary_part.added":         SummaryPartEvent,
    "response.reasoning_summary_part.done":          SummaryPartEvent,
    "response.reasoning_summary_text.delta":         SummaryDelta,
    "response.reasoning_summary_text.done":          SummaryDone,
    "response.function_call_arguments.delta":        Delta,
    "response.function_call_arguments.done":         ArgumentsDone,
    "response.custom_tool_call_input.delta":         Delta,
    "response.custom_tool_call_input.done":          InputDone,
    "response.mcp_call_arguments.delta":             Delta,
    "response.mcp_call_arguments.done":              ArgumentsDone,
    "response.code_interpreter_call_code.delta":     Delta,
    "response.code_interpreter_call_code.done":      CodeDone,
    "response.apply_patch_call_operation_diff.delta": Delta,
    "response.apply_patch_call_operation_diff.done":  DiffDone,
    "response.image_generation_call.partial_image":  PartialImage,
    "response.shell_call_command.added":             ShellCommandEvent,
    "response.shell_call_command.delta":             ShellCommandDelta,
    "response.shell_call_command.done":              ShellCommandEvent,
    "response.shell_call_output_content.delta":      ShellOutputDelta,
    "response.shell_call_output_content.done":       ShellOutputDone,
    "response.audio.delta":                          AudioDelta,
    "response.audio.done":                           Event,
    "response.audio.transcript.delta":               AudioDelta,
    "response.audio.transcript.done":                Event,
    "error":                                         ErrorEvent,
    **{f"response.{name}": ItemEvent for name in _TOOL_PROGRESS},
}
# fmt: on
