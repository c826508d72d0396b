"""The Chat Completions wire schemas (docs/protocols.md B.2), as pydantic-core schemas.

Strict on what the docs require and on JSON types (`"0"` is not an index, `true` is not a count), open to every
field they do not name: vendors add fields every month (`obfuscation`, `content_filter_results`, `x_groq`, ...),
so extra keys are ignored, never rejected. Vendor extensions the checker reads (`reasoning_content`,
`reasoning`) are left out on purpose: their shape is nobody's contract, the assembler takes them when they are
strings.

Written with pydantic-core's schema builders and compiled by `SchemaValidator`, not as pydantic TypedDicts or
models: the checker reads the decoded dict anyway, validating into dicts costs a third of building model instances
(~1.6 µs per delta chunk), and a Chat stream then never imports pydantic's Python layer, which is most of the
start-up of `validate` on a small file (~0.08 s of ~0.3 s). The errors are pydantic's own, so findings read the
same as in the other protocols. The official SDK types are no schema: they lag the wire.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic_core import SchemaValidator, ValidationError
from pydantic_core import core_schema as cs

from ..schema import problems

FinishReason = Literal["stop", "length", "tool_calls", "content_filter", "function_call"]
Role = Literal["assistant", "developer", "system", "user", "tool"]

_STRICT = cs.CoreConfig(strict=True, extra_fields_behavior="ignore")


def _object(name: str, required: dict[str, cs.CoreSchema], optional: dict[str, cs.CoreSchema] | None = None
            ) -> cs.TypedDictSchema:
    """A JSON object with these keys (`optional` ones may be absent); every other key is ignored."""
    fields = {key: cs.typed_dict_field(schema, required=True) for key, schema in required.items()}
    fields |= {key: cs.typed_dict_field(schema, required=False) for key, schema in (optional or {}).items()}
    return cs.typed_dict_schema(fields, cls_name=name, extra_behavior="ignore", config=_STRICT)


def _or_null(schema: cs.CoreSchema) -> cs.NullableSchema:
    return cs.nullable_schema(schema)


def _one_of(values: Any) -> cs.LiteralSchema:
    """One of the values of a `Literal` type."""
    return cs.literal_schema(list(values.__args__))


STRING, INTEGER, NUMBER = cs.str_schema(), cs.int_schema(), cs.float_schema()
ANY_OBJECT = cs.dict_schema(cs.str_schema(), cs.any_schema())

FUNCTION_FRAGMENT = _object("FunctionFragment", {}, {"name": _or_null(STRING), "arguments": _or_null(STRING)})

TOOL_CALL_FRAGMENT = _object("ToolCallFragment", {
    "index": INTEGER,  # the only required field: the SDK raises without it
}, {
    "id": _or_null(STRING),
    "type": _or_null(STRING),
    "function": _or_null(FUNCTION_FRAGMENT),
})

DELTA = _object("Delta", {}, {
    "role": _or_null(_one_of(Role)),
    "content": _or_null(STRING),
    "refusal": _or_null(STRING),
    "tool_calls": _or_null(cs.list_schema(TOOL_CALL_FRAGMENT)),
    "function_call": _or_null(FUNCTION_FRAGMENT),  # deprecated single function call: `{name?, arguments?}`
})

_TOP_LOGPROB_FIELDS = {"bytes": _or_null(cs.list_schema(INTEGER))}
TOP_LOGPROB = _object("TopLogprob", {"token": STRING, "logprob": NUMBER}, _TOP_LOGPROB_FIELDS)
TOKEN_LOGPROB = _object("TokenLogprob", {"token": STRING, "logprob": NUMBER},
                        _TOP_LOGPROB_FIELDS | {"top_logprobs": cs.list_schema(TOP_LOGPROB)})

CHOICE_LOGPROBS = _object("ChoiceLogprobs", {}, {
    "content": _or_null(cs.list_schema(TOKEN_LOGPROB)),
    "refusal": _or_null(cs.list_schema(TOKEN_LOGPROB)),
})

CHOICE = _object("Choice", {
    "index": INTEGER,
    "delta": DELTA,
    "finish_reason": _or_null(_one_of(FinishReason)),  # a required key, null until the choice ends
}, {
    "logprobs": _or_null(CHOICE_LOGPROBS),
})

PROMPT_TOKENS_DETAILS = _object("PromptTokensDetails", {}, {
    "cached_tokens": _or_null(INTEGER),
    "audio_tokens": _or_null(INTEGER),
})

COMPLETION_TOKENS_DETAILS = _object("CompletionTokensDetails", {}, {
    "reasoning_tokens": _or_null(INTEGER),
    "audio_tokens": _or_null(INTEGER),
    "accepted_prediction_tokens": _or_null(INTEGER),
    "rejected_prediction_tokens": _or_null(INTEGER),
})

USAGE = _object("Usage", {
    "prompt_tokens": INTEGER,
    "completion_tokens": INTEGER,
    "total_tokens": INTEGER,
}, {
    "prompt_tokens_details": _or_null(PROMPT_TOKENS_DETAILS),
    "completion_tokens_details": _or_null(COMPLETION_TOKENS_DETAILS),
})

CHUNK = _object("Chunk", {
    "id": STRING,
    "object": STRING,  # the value `chat.completion.chunk` is checked by its own rule, not here
    "created": INTEGER,
    "model": STRING,
    "choices": cs.list_schema(CHOICE),
}, {
    "usage": _or_null(USAGE),
    "system_fingerprint": _or_null(STRING),
    "service_tier": _or_null(STRING),
    "obfuscation": _or_null(STRING),
    "moderation": _or_null(ANY_OBJECT),
})
"""`chat.completion.chunk`."""

PROMPT_FILTER_FRAME = _object("PromptFilterFrame", {
    "choices": cs.list_schema(CHOICE),
    "prompt_filter_results": cs.list_schema(ANY_OBJECT),
})
"""Azure's first frame: `choices: []`, empty identity, `prompt_filter_results` (docs/protocols.md B.3 rule 2)."""

ERROR_PAYLOAD = _object("ErrorPayload", {
    "error": _object("ErrorBody", {"message": STRING}, {"type": _or_null(STRING), "param": _or_null(STRING)}),
})
"""The SDK convention for an in-band error: a top-level `error` object (docs/protocols.md B.3 rule 9)."""

SCHEMAS: dict[str, cs.CoreSchema] = {"chunk": CHUNK, "prompt-filter": PROMPT_FILTER_FRAME, "error": ERROR_PAYLOAD}
"""Payload kind -> its schema."""
_VALIDATORS = {kind: SchemaValidator(schema).validate_python for kind, schema in SCHEMAS.items()}
"""The compiled validators (0.2 ms to compile all three)."""

_MAX_PROBLEMS = 5  # per payload: a wholly wrong object should not bury the rest of the report


def schema_problems(kind: str, payload: dict[str, Any]) -> list[tuple[str, str]]:
    """(field path, message) for every field of `payload` that breaks the schema of `kind` (empty when it fits)."""
    try:
        _VALIDATORS[kind](payload)
    except ValidationError as error:
        return problems(error)[:_MAX_PROBLEMS]
    return []
