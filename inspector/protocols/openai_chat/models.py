"""The Chat Completions wire schemas (docs/protocols.md B.2), as pydantic-validated TypedDicts.

Strict on what the docs require and on JSON types (`"0"` is not an index, `true` is not a count), open to every
field they do not name: vendors add fields every month (`obfuscation`, `content_filter_results`, `x_groq`, ...),
so extra keys are ignored, never rejected. Vendor extensions the checker reads (`reasoning_content`,
`reasoning`) are left out on purpose: their shape is nobody's contract, the assembler takes them when they are
strings.

TypedDicts behind `TypeAdapter`s built once, not `BaseModel`s: the checker reads the decoded dict anyway, and
validating into dicts costs a third of building model instances (~1.6 µs per delta chunk), which keeps the
whole pipeline above 75k events/s. The official SDK types are no schema: they lag the wire.
"""

from __future__ import annotations

from typing import Any, Literal, NotRequired

from pydantic import ConfigDict, TypeAdapter, ValidationError
from typing_extensions import TypedDict  # pydantic needs this one on Python < 3.12

from ..schema import problems

_CONFIG = ConfigDict(strict=True, extra="ignore")

FinishReason = Literal["stop", "length", "tool_calls", "content_filter", "function_call"]
Role = Literal["assistant", "developer", "system", "user", "tool"]


class FunctionFragment(TypedDict, total=False):
    __pydantic_config__ = _CONFIG  # type: ignore[misc]
    name: str | None
    arguments: str | None


class ToolCallFragment(TypedDict):
    """One piece of a streamed tool call; `index` is the only required field (the SDK raises without it)."""

    __pydantic_config__ = _CONFIG  # type: ignore[misc]
    index: int
    id: NotRequired[str | None]
    type: NotRequired[str | None]
    function: NotRequired[FunctionFragment | None]


class Delta(TypedDict, total=False):
    __pydantic_config__ = _CONFIG  # type: ignore[misc]
    role: Role | None
    content: str | None
    refusal: str | None
    tool_calls: list[ToolCallFragment] | None
    function_call: FunctionFragment | None
    """Deprecated single function call: `{name?, arguments?}`."""


class TopLogprob(TypedDict):
    __pydantic_config__ = _CONFIG  # type: ignore[misc]
    token: str
    logprob: float
    bytes: NotRequired[list[int] | None]


class TokenLogprob(TopLogprob):
    top_logprobs: NotRequired[list[TopLogprob]]


class ChoiceLogprobs(TypedDict, total=False):
    __pydantic_config__ = _CONFIG  # type: ignore[misc]
    content: list[TokenLogprob] | None
    refusal: list[TokenLogprob] | None


class Choice(TypedDict):
    __pydantic_config__ = _CONFIG  # type: ignore[misc]
    index: int
    delta: Delta
    finish_reason: FinishReason | None
    """Required key, null until the choice ends."""
    logprobs: NotRequired[ChoiceLogprobs | None]


class PromptTokensDetails(TypedDict, total=False):
    __pydantic_config__ = _CONFIG  # type: ignore[misc]
    cached_tokens: int | None
    audio_tokens: int | None


class CompletionTokensDetails(TypedDict, total=False):
    __pydantic_config__ = _CONFIG  # type: ignore[misc]
    reasoning_tokens: int | None
    audio_tokens: int | None
    accepted_prediction_tokens: int | None
    rejected_prediction_tokens: int | None


class Usage(TypedDict):
    __pydantic_config__ = _CONFIG  # type: ignore[misc]
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int
    prompt_tokens_details: NotRequired[PromptTokensDetails | None]
    completion_tokens_details: NotRequired[CompletionTokensDetails | None]


class Chunk(TypedDict):
    """`chat.completion.chunk`. The value of `object` is checked by its own rule, not here."""

    __pydantic_config__ = _CONFIG  # type: ignore[misc]
    id: str
    object: str
    created: int
    model: str
    choices: list[Choice]
    usage: NotRequired[Usage | None]
    system_fingerprint: NotRequired[str | None]
    service_tier: NotRequired[str | None]
    obfuscation: NotRequired[str | None]
    moderation: NotRequired[dict[str, Any] | None]


class PromptFilterFrame(TypedDict):
    """Azure's first frame: `choices: []`, empty identity, `prompt_filter_results` (docs/protocols.md B.3 rule 2)."""

    __pydantic_config__ = _CONFIG  # type: ignore[misc]
    choices: list[Choice]
    prompt_filter_results: list[dict[str, Any]]


class ErrorBody(TypedDict):
    __pydantic_config__ = _CONFIG  # type: ignore[misc]
    message: str
    type: NotRequired[str | None]
    param: NotRequired[str | None]


class ErrorPayload(TypedDict):
    """The SDK convention for an in-band error: a top-level `error` object (docs/protocols.md B.3 rule 9)."""

    __pydantic_config__ = _CONFIG  # type: ignore[misc]
    error: ErrorBody


SCHEMAS: dict[str, TypeAdapter[Any]] = {
    "chunk": TypeAdapter(Chunk),
    "prompt-filter": TypeAdapter(PromptFilterFrame),
    "error": TypeAdapter(ErrorPayload),
}
"""Payload kind -> its schema, built once."""
_VALIDATORS = {kind: adapter.validator.validate_python for kind, adapter in SCHEMAS.items()}
"""The compiled validators themselves: `TypeAdapter.validate_python` adds ~0.5 µs of Python per call."""

_MAX_PROBLEMS = 5  # per payload: a wholly wrong object should not bury the rest of the report


def schema_problems(kind: str, payload: dict[str, Any]) -> list[tuple[str, str]]:
    """(field path, message) for every field of `payload` that breaks the schema of `kind` (empty when it fits)."""
    try:
        _VALIDATORS[kind](payload)
    except ValidationError as error:
        return problems(error)[:_MAX_PROBLEMS]
    return []
