"""The schemas of the OpenAI Responses stream events, items and parts (docs/protocols.md §A.2), in the words of
`protocols.schema`.

Strict on what the docs require and on JSON types (`"0"` is not an index), open to every field they do not
name: the API adds fields every month, so schemas never forbid extras. Dispatch is by dict (`EVENT_MODELS`,
`ITEM_MODELS`, `PART_MODELS`), never by a ladder; a type missing from a dict is simply not modelled. The checker
validates each payload against the schema its `type` names and keeps working on the raw dict.

Deliberately NOT required although the schema lists them (docs/protocols.md §A.4): `name` on
`function_call_arguments.done`, `logprobs` on `output_text.*`, `sequence_number` (absent on 2025-03 streams,
checked by the state machine instead), `response_id` on the audio events (never defined), `obfuscation`.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic_core import core_schema as cs

from ..schema import (
    ANY,
    ANY_OBJECT,
    INTEGER,
    NUMBER,
    STRING,
    Validator,
    array,
    compiled,
    json_object,
    maybe,
    nullable,
    one_of,
)

Status = Literal["completed", "failed", "in_progress", "cancelled", "queued", "incomplete"]

# ---- snapshots -------------------------------------------------------------------------------------------

RESPONSE_ERROR = json_object("ResponseError", {"code": maybe(STRING), "message": STRING})

RESPONSE = json_object("ResponseSnapshot", {
    "id": STRING,
    "object": one_of(Literal["response"]),
    "created_at": cs.union_schema([INTEGER, NUMBER]),
    "status": one_of(Status),
    "error": maybe(RESPONSE_ERROR),
    "incomplete_details": maybe(json_object("IncompleteDetails", {"reason": STRING})),
    "output": array(ANY_OBJECT),
    "usage": maybe(ANY_OBJECT),
    "model": maybe(STRING),
})
"""The `response` of the lifecycle events."""


def _item(name: str, fields: dict[str, Any]) -> cs.TypedDictSchema:
    """An output item: new item types keep appearing, so an unknown `type` only needs an `id`."""
    return json_object(name, {"id": STRING, "type": STRING, **fields})


_MCP_CALL = {"name": STRING, "server_label": STRING, "arguments": STRING}

# fmt: off
ITEM = compiled(_item("Item", {}))
ITEM_MODELS: dict[str, Validator] = {kind: compiled(schema) for kind, schema in {
    "message":              _item("MessageItem", {"role": one_of(Literal["assistant"]), "content": array(ANY_OBJECT)}),
    "function_call":        _item("FunctionCallItem", {"call_id": STRING, "name": STRING, "arguments": STRING}),
    "custom_tool_call":     _item("CustomToolCallItem", {"call_id": STRING, "name": STRING, "input": STRING}),
    "reasoning":            _item("ReasoningItem", {"summary": array(ANY_OBJECT)}),
    "mcp_call":             _item("McpCallItem", _MCP_CALL),
    "mcp_list_tools":       _item("McpListToolsItem", {"server_label": STRING, "tools": array(ANY)}),
    "mcp_approval_request": _item("McpApprovalRequestItem", _MCP_CALL),
}.items()}

_TEXT_PART = compiled(json_object("TextPart", {"type": STRING, "text": STRING}))
PART_MODELS: dict[str, Validator] = {
    "output_text":    compiled(json_object("OutputTextPart", {"type": STRING, "text": STRING,
                                                              "annotations": array(ANY)})),
    "refusal":        compiled(json_object("RefusalPart", {"type": STRING, "refusal": STRING})),
    "reasoning_text": _TEXT_PART,
    "summary_text":   _TEXT_PART,
}
# fmt: on


def item_model(kind: Any) -> Validator:
    """The schema of an output item of this `type` (any JSON value): the generic item for types not modelled."""
    return ITEM_MODELS.get(kind, ITEM) if isinstance(kind, str) else ITEM


# ---- events ----------------------------------------------------------------------------------------------


def _event(name: str, fields: dict[str, Any]) -> cs.TypedDictSchema:
    return json_object(name, {"type": STRING, "sequence_number": maybe(INTEGER), **fields})


ITEM_SCOPED = {"output_index": INTEGER, "item_id": STRING}
"""The fields of a child event of one output item (tool progress and item-scoped deltas)."""
CONTENT_SCOPED = {**ITEM_SCOPED, "content_index": INTEGER}
SHELL_COMMAND = {"output_index": INTEGER, "command_index": INTEGER}

NESTED_ERROR = json_object("NestedError", {
    "message": STRING,
    "code": maybe(STRING),
    "type": maybe(STRING),
    "param": maybe(STRING),
})


def _one_error_shape(event: dict[str, Any]) -> dict[str, Any]:
    if event.get("message") is None and event.get("error") is None:
        raise ValueError("an error event needs `message` (flat shape) or `error.message` (nested shape)")
    return event


ERROR_EVENT = cs.no_info_after_validator_function(_one_error_shape, _event("ErrorEvent", {
    "message": maybe(STRING),
    "code": maybe(STRING),
    "param": maybe(STRING),
    "error": maybe(NESTED_ERROR),
}))
"""Both shapes: the schema's flat `{code, message, param}` and the wire's nested `{error: {...}}`."""

# fmt: off
_SCHEMAS: dict[str, cs.CoreSchema] = {
    "lifecycle":     _event("LifecycleEvent", {"response": RESPONSE}),
    "output-item":   _event("OutputItemEvent", {"output_index": INTEGER, "item": ANY_OBJECT}),
    "item":          _event("ItemEvent", ITEM_SCOPED),
    "content-part":  _event("ContentPartEvent", {**CONTENT_SCOPED, "part": ANY_OBJECT}),
    "delta":         _event("Delta", {**ITEM_SCOPED, "delta": STRING}),
    "content-delta": _event("ContentDelta", {**CONTENT_SCOPED, "delta": STRING, "logprobs": maybe(array(ANY))}),
    "text-done":     _event("TextDone", {**CONTENT_SCOPED, "text": STRING, "logprobs": maybe(array(ANY))}),
    "refusal-done":  _event("RefusalDone", {**CONTENT_SCOPED, "refusal": STRING}),
    "annotation":    _event("AnnotationAdded", {**CONTENT_SCOPED, "annotation_index": INTEGER,
                                                "annotation": nullable(ANY_OBJECT)}),
    "summary-part":  _event("SummaryPartEvent", {**ITEM_SCOPED, "summary_index": INTEGER, "part": ANY_OBJECT}),
    "summary-delta": _event("SummaryDelta", {**ITEM_SCOPED, "summary_index": INTEGER, "delta": STRING}),
    "summary-done":  _event("SummaryDone", {**ITEM_SCOPED, "summary_index": INTEGER, "text": STRING}),
    "arguments-done": _event("ArgumentsDone", {**ITEM_SCOPED, "arguments": STRING}),
    "input-done":    _event("InputDone", {**ITEM_SCOPED, "input": STRING}),
    "code-done":     _event("CodeDone", {**ITEM_SCOPED, "code": STRING}),
    "diff-done":     _event("DiffDone", {**ITEM_SCOPED, "diff": STRING}),
    "partial-image": _event("PartialImage", {**ITEM_SCOPED, "partial_image_index": INTEGER,
                                             "partial_image_b64": STRING}),
    "shell-command": _event("ShellCommandEvent", {**SHELL_COMMAND, "command": STRING}),
    "shell-command-delta": _event("ShellCommandDelta", {**SHELL_COMMAND, "delta": STRING}),
    "shell-output-delta": _event("ShellOutputDelta", {**ITEM_SCOPED, "command_index": INTEGER,
                                                      "delta": ANY_OBJECT}),
    "shell-output-done": _event("ShellOutputDone", {**ITEM_SCOPED, "command_index": INTEGER,
                                                    "output": array(ANY)}),
    "audio-delta":   _event("AudioDelta", {"delta": STRING}),
    "event":         _event("Event", {}),
    "error":         ERROR_EVENT,
}

_TOOL_PROGRESS = (
    "code_interpreter_call.completed", "code_interpreter_call.in_progress", "code_interpreter_call.interpreting",
    "file_search_call.completed", "file_search_call.in_progress", "file_search_call.searching",
    "web_search_call.completed", "web_search_call.in_progress", "web_search_call.searching",
    "image_generation_call.completed", "image_generation_call.generating", "image_generation_call.in_progress",
    "mcp_call.completed", "mcp_call.failed", "mcp_call.in_progress",
    "mcp_list_tools.completed", "mcp_list_tools.failed", "mcp_list_tools.in_progress",
)

EVENT_SCHEMAS: dict[str, str] = {
    "response.created":                               "lifecycle",
    "response.queued":                                "lifecycle",
    "response.in_progress":                           "lifecycle",
    "response.completed":                             "lifecycle",
    "response.failed":                                "lifecycle",
    "response.incomplete":                            "lifecycle",
    "response.output_item.added":                     "output-item",
    "response.output_item.done":                      "output-item",
    "response.content_part.added":                    "content-part",
    "response.content_part.done":                     "content-part",
    "response.output_text.delta":                     "content-delta",
    "response.output_text.done":                      "text-done",
    "response.output_text.annotation.added":          "annotation",
    "response.refusal.delta":                         "content-delta",
    "response.refusal.done":                          "refusal-done",
    "response.reasoning_text.delta":                  "content-delta",
    "response.reasoning_text.done":                   "text-done",
    "response.reasoning_summary_part.added":          "summary-part",
    "response.reasoning_summary_part.done":           "summary-part",
    "response.reasoning_summary_text.delta":          "summary-delta",
    "response.reasoning_summary_text.done":           "summary-done",
    "response.function_call_arguments.delta":         "delta",
    "response.function_call_arguments.done":          "arguments-done",
    "response.custom_tool_call_input.delta":          "delta",
    "response.custom_tool_call_input.done":           "input-done",
    "response.mcp_call_arguments.delta":              "delta",
    "response.mcp_call_arguments.done":               "arguments-done",
    "response.code_interpreter_call_code.delta":      "delta",
    "response.code_interpreter_call_code.done":       "code-done",
    "response.apply_patch_call_operation_diff.delta": "delta",
    "response.apply_patch_call_operation_diff.done":  "diff-done",
    "response.image_generation_call.partial_image":   "partial-image",
    "response.shell_call_command.added":              "shell-command",
    "response.shell_call_command.delta":              "shell-command-delta",
    "response.shell_call_command.done":               "shell-command",
    "response.shell_call_output_content.delta":       "shell-output-delta",
    "response.shell_call_output_content.done":        "shell-output-done",
    "response.audio.delta":                           "audio-delta",
    "response.audio.done":                            "event",
    "response.audio.transcript.delta":                "audio-delta",
    "response.audio.transcript.done":                 "event",
    "error":                                          "error",
    **{f"response.{name}": "item" for name in _TOOL_PROGRESS},
}
"""Event type -> the name of its schema in `_SCHEMAS`."""
# fmt: on

_COMPILED = {name: compiled(schema) for name, schema in _SCHEMAS.items()}
EVENT_MODELS: dict[str, Validator] = {kind: _COMPILED[name] for kind, name in EVENT_SCHEMAS.items()}
"""Event type -> its validator (each schema compiled once)."""
