"""The fields of the Responses snapshots that the official openai Python SDK types as required (docs/protocols.md §A.2).

The Python SDK builds every event without validating it, so a field the server leaves out (or sends as `null`) reaches
the app as `None`, while the Python SDK's types promise a value: app code written against those types reads it without a
None check (`final.usage.output_tokens_details.reasoning_tokens` raises `AttributeError`, `for tool in
response.tools` raises `TypeError`). These tables are the required fields of openai-python 2.x
`types/responses` (`Response`, `ResponseUsage`, each `ResponseOutputItem`, content part and annotation), minus the
ones OpenAI's own streams do not send (listed in docs/rules.md under `responses/sdk-field-missing`), which no app
can rely on. `id` and `type`, which the item models check already, are left out.
"""

from __future__ import annotations

from typing import Any

# fmt: off
RESPONSE = ("object", "created_at", "model", "output", "tools", "tool_choice", "parallel_tool_calls")
USAGE = ("input_tokens", "input_tokens_details", "output_tokens", "output_tokens_details", "total_tokens")
USAGE_DETAILS: dict[str, tuple[str, ...]] = {
    "input_tokens_details":  ("cached_tokens",),     # NOTE: `cache_write_tokens` too in the Python SDK; OpenAI omits it
    "output_tokens_details": ("reasoning_tokens",),
}
ITEMS: dict[str, tuple[str, ...]] = {
    "message":                 ("content", "role", "status"),
    "function_call":           ("arguments", "call_id", "name"),
    "custom_tool_call":        ("call_id", "input", "name"),
    "reasoning":               ("summary",),
    "file_search_call":        ("queries", "status"),
    "web_search_call":         ("status",),          # NOTE: `action` too in the Python SDK; OpenAI's `added` omits it
    "computer_call":           ("call_id", "pending_safety_checks", "status"),
    "image_generation_call":   ("status",),
    "code_interpreter_call":   ("container_id", "status"),
    "local_shell_call":        ("action", "call_id", "status"),
    "shell_call":              ("action", "call_id", "status"),
    "apply_patch_call":        ("call_id", "operation", "status"),
    "mcp_call":                ("arguments", "name", "server_label"),
    "mcp_list_tools":          ("server_label", "tools"),
    "mcp_approval_request":    ("arguments", "name", "server_label"),
    "tool_search_call":        ("arguments", "execution", "status"),
    "tool_search_output":      ("execution", "status", "tools"),
    "compaction":              ("encrypted_content",),
}
PARTS: dict[str, tuple[str, ...]] = {
    "output_text":    ("text", "annotations"),
    "refusal":        ("refusal",),
    "reasoning_text": ("text",),
    "summary_text":   ("text",),
}
ANNOTATIONS: dict[str, tuple[str, ...]] = {
    "url_citation":            ("url", "title", "start_index", "end_index"),
    "file_citation":           ("file_id", "filename", "index"),
    "container_file_citation": ("container_id", "file_id", "filename", "start_index", "end_index"),
    "file_path":               ("file_id", "index"),
}
# fmt: on


def _absent(value: dict[str, Any], fields: tuple[str, ...], path: str) -> list[str]:
    return [f"{path}.{name}" for name in fields if value.get(name) is None]


def _fields(table: dict[str, tuple[str, ...]], value: dict[str, Any]) -> tuple[str, ...]:
    """The required fields for the object's `type` (of any JSON type on a broken stream: nothing then)."""
    kind = value.get("type")
    return table.get(kind, ()) if isinstance(kind, str) else ()


def missing_in_part(part: Any, path: str) -> list[str]:
    """`path.field` of each required field a content part (and its annotations) lacks."""
    if not isinstance(part, dict):
        return []
    found = _absent(part, _fields(PARTS, part), path)
    annotations = part.get("annotations")
    for number, annotation in enumerate(annotations if isinstance(annotations, list) else ()):
        found += missing_in_annotation(annotation, f"{path}.annotations[{number}]")
    return found


def missing_in_annotation(annotation: Any, path: str) -> list[str]:
    if not isinstance(annotation, dict):
        return []
    return _absent(annotation, _fields(ANNOTATIONS, annotation), path)


def missing_in_item(item: Any, path: str) -> list[str]:
    """`path.field` of each required field an output item (and its parts) lacks."""
    if not isinstance(item, dict):
        return []
    found = _absent(item, _fields(ITEMS, item), path)
    for key in ("content", "summary"):
        parts = item.get(key)
        for number, part in enumerate(parts if isinstance(parts, list) else ()):
            found += missing_in_part(part, f"{path}.{key}[{number}]")
    return found


def missing_in_response(response: Any, path: str = "response") -> list[str]:
    """`path.field` of each required field the response object, its usage and its output items lack."""
    if not isinstance(response, dict):
        return []
    found = _absent(response, RESPONSE, path)
    usage = response.get("usage")
    if isinstance(usage, dict):
        found += _absent(usage, USAGE, f"{path}.usage")
        for name, fields in USAGE_DETAILS.items():
            details = usage.get(name)
            if isinstance(details, dict):
                found += _absent(details, fields, f"{path}.usage.{name}")
    output = response.get("output")
    for number, item in enumerate(output if isinstance(output, list) else ()):
        found += missing_in_item(item, f"{path}.output[{number}]")
    return found
