"""The Chat Completions wire schemas (docs/protocols.md B.2), in the schema words of `protocols.schema`.

Strict on what the docs require and on JSON types (`"0"` is not an index, `true` is not a count), open to every
field they do not name: vendors add fields every month (`obfuscation`, `content_filter_results`, `x_groq`, ...),
so extra keys are ignored, never rejected. Vendor extensions the checker reads (`reasoning_content`,
`reasoning`) are left out on purpose: their shape is nobody's contract, the assembler takes them when they are
strings.

Payloads are validated into nothing but a verdict: the checker reads the decoded dict anyway (validating into
model instances would cost three times as much, ~1.6 µs per delta chunk). The official SDK types are no schema:
they lag the wire.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic_core import ValidationError

from ..schema import (
    ANY_OBJECT,
    INTEGER,
    NUMBER,
    STRING,
    array,
    compiled,
    json_object,
    maybe,
    nullable,
    one_of,
    optional,
    problems,
)

FinishReason = Literal["stop", "length", "tool_calls", "content_filter", "function_call"]
Role = Literal["assistant", "developer", "system", "user", "tool"]

FUNCTION_FRAGMENT = json_object("FunctionFragment", {
    "name": maybe(STRING),
    "arguments": maybe(STRING),
})

TOOL_CALL_FRAGMENT = json_object("ToolCallFragment", {
    "index": INTEGER,  # the only required field: the Python SDK raises without it
    "id": maybe(STRING),
    "type": maybe(STRING),
    "function": maybe(FUNCTION_FRAGMENT),
})

DELTA = json_object("Delta", {
    "role": maybe(one_of(Role)),
    "content": maybe(STRING),
    "refusal": maybe(STRING),
    "tool_calls": maybe(array(TOOL_CALL_FRAGMENT)),
    "function_call": maybe(FUNCTION_FRAGMENT),  # deprecated single function call: `{name?, arguments?}`
})

TOP_LOGPROB = json_object("TopLogprob", {
    "token": STRING,
    "logprob": NUMBER,
    "bytes": maybe(array(INTEGER)),
})

TOKEN_LOGPROB = json_object("TokenLogprob", {**TOP_LOGPROB["fields"], "top_logprobs": optional(array(TOP_LOGPROB))})

CHOICE_LOGPROBS = json_object("ChoiceLogprobs", {
    "content": maybe(array(TOKEN_LOGPROB)),
    "refusal": maybe(array(TOKEN_LOGPROB)),
})

CHOICE = json_object("Choice", {
    "index": INTEGER,
    "delta": DELTA,
    "finish_reason": nullable(one_of(FinishReason)),  # a required key, null until the choice ends
    "logprobs": maybe(CHOICE_LOGPROBS),
})

PROMPT_TOKENS_DETAILS = json_object("PromptTokensDetails", {
    "cached_tokens": maybe(INTEGER),
    "audio_tokens": maybe(INTEGER),
})

COMPLETION_TOKENS_DETAILS = json_object("CompletionTokensDetails", {
    "reasoning_tokens": maybe(INTEGER),
    "audio_tokens": maybe(INTEGER),
    "accepted_prediction_tokens": maybe(INTEGER),
    "rejected_prediction_tokens": maybe(INTEGER),
})

USAGE = json_object("Usage", {
    "prompt_tokens": INTEGER,
    "completion_tokens": INTEGER,
    "total_tokens": INTEGER,
    "prompt_tokens_details": maybe(PROMPT_TOKENS_DETAILS),
    "completion_tokens_details": maybe(COMPLETION_TOKENS_DETAILS),
})

CHUNK = json_object("Chunk", {
    "id": STRING,
    "object": STRING,  # the value `chat.completion.chunk` is checked by its own rule, not here
    "created": INTEGER,
    "model": STRING,
    "choices": array(CHOICE),
    "usage": maybe(USAGE),
    "system_fingerprint": maybe(STRING),
    "service_tier": maybe(STRING),
    "obfuscation": maybe(STRING),
    "moderation": maybe(ANY_OBJECT),
})
"""`chat.completion.chunk`."""

PROMPT_FILTER_FRAME = json_object("PromptFilterFrame", {
    "choices": array(CHOICE),
    "prompt_filter_results": array(ANY_OBJECT),
})
"""Azure's first frame: `choices: []`, empty identity, `prompt_filter_results` (docs/protocols.md B.3 rule 2)."""

ERROR_PAYLOAD = json_object("ErrorPayload", {
    "error": json_object("ErrorBody", {
        "message": STRING,
        "type": maybe(STRING),
        "param": maybe(STRING),
    }),
})
"""The Python SDK convention for an in-band error: a top-level `error` object (docs/protocols.md B.3 rule 9)."""

_VALIDATORS = {kind: compiled(schema) for kind, schema in
               (("chunk", CHUNK), ("prompt-filter", PROMPT_FILTER_FRAME), ("error", ERROR_PAYLOAD))}
"""Payload kind -> its validator (0.2 ms to compile all three)."""

_SCHEMA_HARM = ("the openai Python SDK does not validate chunks, so client code reading these fields gets the wrong "
                "type, a value its types do not list, or nothing")
"""What a `chat/schema` finding says a broken chunk does to a client."""


def chunk_schema_message(problems: list[str], helper: str) -> str:
    """A chunk's `chat/schema` message: its first three problems (and how many more), what that does to a client,
    and `helper`, what the Python SDK's stream helper does besides."""
    more = f" (and {len(problems) - 3} more)" if len(problems) > 3 else ""
    return f"chunk: {'; '.join(problems[:3])}{more}; {_SCHEMA_HARM}{helper} (each field is reported once)"

_MAX_PROBLEMS = 5  # per payload: a wholly wrong object should not bury the rest of the report


def schema_problems(kind: str, payload: dict[str, Any]) -> list[tuple[str, str]]:
    """(field path, message) for every field of `payload` that breaks the schema of `kind` (empty when it fits)."""
    try:
        _VALIDATORS[kind](payload)
    except ValidationError as error:
        return problems(error)[:_MAX_PROBLEMS]
    return []
