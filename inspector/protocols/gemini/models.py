"""The schema of one Gemini `streamGenerateContent` chunk, a `GenerateContentResponse` (docs/protocols.md).

Strict where the SDKs are: JSON types, and the fields that @ai-sdk/google's `chunkSchema` requires (`jsonPath` of a
partial argument, `mimeType` + `data` of inline data, `language` + `code` of executable code, `outcome` of a code
result, `id` + `toolType` of built-in tool calls and responses, `modality` + `tokenCount` of token details). Open to
everything else (unknown keys are ignored), as python-genai is: it strips unknown fields before validation. Enum
values are plain strings here; the checker warns about values outside the tables below, since every client takes
new ones.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic_core import CoreSchema, PydanticCustomError, SchemaValidator, ValidationError
from pydantic_core import core_schema as cs

from ..schema import (
    ANY,
    ANY_OBJECT,
    BOOLEAN,
    COUNT,
    INTEGER,
    NUMBER,
    STRING,
    array,
    compiled,
    json_object,
    maybe,
    optional,
    summary,
)


def _all_maybe(name: str, fields: dict[str, CoreSchema]) -> CoreSchema:
    """An object whose keys all may be absent or null."""
    return json_object(name, {key: maybe(schema) for key, schema in fields.items()})


PARTIAL_ARG = json_object("PartialArg", {
    "jsonPath": STRING,
    "stringValue": maybe(STRING),
    "numberValue": maybe(NUMBER),
    "boolValue": maybe(BOOLEAN),
    "nullValue": optional(ANY),
    "willContinue": maybe(BOOLEAN),
})

FUNCTION_CALL = _all_maybe("FunctionCall", {
    "id": STRING, "name": STRING, "args": ANY_OBJECT, "partialArgs": array(PARTIAL_ARG), "willContinue": BOOLEAN,
})

def _base64(text: str) -> str:
    try:
        _decode_base64(text)
    except ValidationError:
        raise PydanticCustomError("base64", "Input should be base64 text, as python-genai decodes it") from None
    return text


_decode_base64 = SchemaValidator(cs.bytes_schema(), config=cs.CoreConfig(val_json_bytes="base64")).validate_python
"""python-genai's decoding of its `bytes` fields (pydantic-core's, the same library): standard or URL-safe alphabet,
padding optional but right, no whitespace."""
BASE64 = cs.no_info_after_validator_function(_base64, STRING)
"""Text that python-genai decodes as base64 (`thoughtSignature`, `inlineData.data`, `continuationToken`)."""

INLINE_DATA = json_object("InlineData", {"mimeType": STRING, "data": BASE64})
EXECUTABLE_CODE = json_object("ExecutableCode", {"language": STRING, "code": STRING, "id": maybe(STRING)})
CODE_EXECUTION_RESULT = json_object("CodeExecutionResult", {
    "outcome": STRING, "output": maybe(STRING), "id": maybe(STRING),
})
TOOL_CALL = json_object("ToolCall", {"id": STRING, "toolType": STRING, "args": maybe(ANY_OBJECT)})
TOOL_RESPONSE = json_object("ToolResponse", {"id": STRING, "toolType": STRING, "response": maybe(ANY_OBJECT)})

PART = _all_maybe("Part", {
    "text": STRING,
    "thought": BOOLEAN,
    "thoughtSignature": BASE64,
    "inlineData": INLINE_DATA,
    "fileData": _all_maybe("FileData", {"fileUri": STRING, "mimeType": STRING, "displayName": STRING}),
    "functionCall": FUNCTION_CALL,
    "functionResponse": _all_maybe("FunctionResponse", {"id": STRING, "name": STRING, "response": ANY_OBJECT}),
    "videoMetadata": ANY_OBJECT,
    "partMetadata": ANY_OBJECT,
    "executableCode": EXECUTABLE_CODE,
    "codeExecutionResult": CODE_EXECUTION_RESULT,
    "toolCall": TOOL_CALL,
    "toolResponse": TOOL_RESPONSE,
})

CONTENT = _all_maybe("Content", {"role": STRING, "parts": array(PART)})

SAFETY_RATING = _all_maybe("SafetyRating", {
    "category": STRING, "probability": STRING, "blocked": BOOLEAN, "severity": STRING,
})

CITATION = _all_maybe("Citation", {
    "startIndex": INTEGER, "endIndex": INTEGER, "uri": STRING, "title": STRING, "license": STRING,
})

CANDIDATE = _all_maybe("Candidate", {
    "content": CONTENT,
    "finishReason": STRING,
    "finishMessage": STRING,
    "index": COUNT,
    "safetyRatings": array(SAFETY_RATING),
    "citationMetadata": _all_maybe("CitationMetadata", {
        "citationSources": array(CITATION),  # the Gemini API's name
        "citations": array(CITATION),  # Vertex AI's
    }),
    "groundingMetadata": _all_maybe("GroundingMetadata", {
        "groundingChunks": array(ANY_OBJECT), "groundingSupports": array(ANY_OBJECT),
        "webSearchQueries": array(STRING), "searchEntryPoint": ANY_OBJECT, "retrievalMetadata": ANY_OBJECT,
    }),
    "urlContextMetadata": _all_maybe("UrlContextMetadata", {"urlMetadata": array(ANY_OBJECT)}),
    "avgLogprobs": NUMBER,
    "tokenCount": INTEGER,
    "logprobsResult": ANY_OBJECT,
    "continuationToken": BASE64,
})

PROMPT_FEEDBACK = _all_maybe("PromptFeedback", {
    "blockReason": STRING, "blockReasonMessage": STRING, "safetyRatings": array(SAFETY_RATING),
})

MODALITY_COUNT = json_object("ModalityCount", {"modality": STRING, "tokenCount": COUNT})

USAGE_METADATA = _all_maybe("UsageMetadata", {
    "promptTokenCount": COUNT,
    "candidatesTokenCount": COUNT,
    "totalTokenCount": COUNT,
    "thoughtsTokenCount": COUNT,
    "toolUsePromptTokenCount": COUNT,
    "cachedContentTokenCount": COUNT,
    "promptTokensDetails": array(MODALITY_COUNT),
    "candidatesTokensDetails": array(MODALITY_COUNT),
    "toolUsePromptTokensDetails": array(MODALITY_COUNT),
    "cacheTokensDetails": array(MODALITY_COUNT),
    "trafficType": STRING,
})

CHUNK = _all_maybe("Chunk", {
    "candidates": array(CANDIDATE),
    "promptFeedback": PROMPT_FEEDBACK,
    "usageMetadata": USAGE_METADATA,
    "modelVersion": STRING,
    "responseId": STRING,
    "createTime": STRING,
    "modelStatus": ANY_OBJECT,
})
"""One SSE event's data: every field is optional in the Python SDK types; the checker says which must come."""
_VALIDATE_CHUNK = compiled(CHUNK)


# The data fields of a part: exactly one per part (`thought`, `thoughtSignature`, `partMetadata`, ... modify it).
DATA_FIELDS = ("text", "inlineData", "fileData", "functionCall", "functionResponse", "executableCode",
               "codeExecutionResult", "toolCall", "toolResponse", "audioTranscription")

# fmt: off
# The enums of python-genai `types.py` (all open: a value outside them is a warning, never an error); the values of
# the installed release must all be here (`tests/test_gemini.py`), or the warning would say what is not so.
FINISH_REASONS = frozenset({
    "FINISH_REASON_UNSPECIFIED", "STOP", "MAX_TOKENS", "SAFETY", "RECITATION", "LANGUAGE", "OTHER", "BLOCKLIST",
    "PROHIBITED_CONTENT", "SPII", "MALFORMED_FUNCTION_CALL", "IMAGE_SAFETY", "UNEXPECTED_TOOL_CALL",
    "TOO_MANY_TOOL_CALLS", "IMAGE_PROHIBITED_CONTENT", "NO_IMAGE", "IMAGE_RECITATION", "IMAGE_OTHER", "CONTINUATION",
})
BLOCK_REASONS = frozenset({
    "BLOCKED_REASON_UNSPECIFIED", "SAFETY", "OTHER", "BLOCKLIST", "PROHIBITED_CONTENT", "IMAGE_SAFETY",
    "MODEL_ARMOR", "JAILBREAK",
})
HARM_CATEGORIES = frozenset({f"HARM_CATEGORY_{name}" for name in (
    "UNSPECIFIED", "HARASSMENT", "HATE_SPEECH", "SEXUALLY_EXPLICIT", "DANGEROUS_CONTENT", "CIVIC_INTEGRITY",
    "JAILBREAK", "IMAGE_HATE", "IMAGE_DANGEROUS_CONTENT", "IMAGE_HARASSMENT", "IMAGE_SEXUALLY_EXPLICIT",
)})
HARM_PROBABILITIES = frozenset({"HARM_PROBABILITY_UNSPECIFIED", "NEGLIGIBLE", "LOW", "MEDIUM", "HIGH"})
HARM_SEVERITIES = frozenset({f"HARM_SEVERITY_{name}"
                             for name in ("UNSPECIFIED", "NEGLIGIBLE", "LOW", "MEDIUM", "HIGH")})
TRAFFIC_TYPES = frozenset({"TRAFFIC_TYPE_UNSPECIFIED", "ON_DEMAND", "ON_DEMAND_PRIORITY", "ON_DEMAND_FLEX",
                           "ON_DEMAND_OFFPEAK", "PROVISIONED_THROUGHPUT"})
MODALITIES = frozenset({"MODALITY_UNSPECIFIED", "TEXT", "IMAGE", "VIDEO", "AUDIO", "DOCUMENT"})
TOOL_TYPES = frozenset({"TOOL_TYPE_UNSPECIFIED", "GOOGLE_SEARCH_WEB", "GOOGLE_SEARCH_IMAGE", "URL_CONTEXT",
                        "GOOGLE_MAPS", "FILE_SEARCH", "MEDIA_PROCESSING"})
OUTCOMES = frozenset({"OUTCOME_UNSPECIFIED", "OUTCOME_OK", "OUTCOME_FAILED", "OUTCOME_DEADLINE_EXCEEDED"})
# fmt: on


def schema_problem(payload: Any, fresh: Callable[[str], bool] | None = None) -> tuple[str, str] | None:
    """None when `payload` fits a chunk, else which fields are wrong and what was expected, in a few words (of the
    fields `fresh(path)` is true of: "" when it is of none), and what the SDKs do with the chunk."""
    try:
        _VALIDATE_CHUNK(payload)
    except ValidationError as error:
        return summary(error, 3, fresh=fresh), _what_clients_do(error.errors(include_url=False))
    return None


_LAX_TRUE = frozenset({"true", "1", "yes", "on", "t", "y"})
_LAX_BOOLS = _LAX_TRUE | {"false", "0", "no", "off", "f", "n"}
_DROPPED_BY_GENAI = ("finishMessage",)
"""Fields python-genai's Gemini API client does not copy into its objects (`_Candidate_from_mldev`)."""


def _genai_coerces(kind: str, value: Any) -> bool:
    """Whether pydantic's lax mode, which python-genai's models validate in, turns this JSON value into the number
    or boolean the Python SDK types (a numeric string, a whole float, `"true"`)."""
    if kind.startswith("int"):
        return (type(value) is float and value.is_integer()) or type(value) is bool or (
            type(value) is str and value.strip().lstrip("+-").isdigit())
    if kind.startswith("float"):
        return type(value) in (int, bool) or (type(value) is str and _is_number(value))
    if kind.startswith("bool"):
        return (type(value) is str and value.strip().lower() in _LAX_BOOLS) or (
            type(value) in (int, float) and value in (0, 1))
    return False


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def genai_bool(value: Any) -> bool:
    """A `thought` flag as python-genai reads it (pydantic's lax mode): `true`, `"true"`, `1` and the like."""
    return value is True or (type(value) is str and value.strip().lower() in _LAX_TRUE) or (
        type(value) in (int, float) and value == 1)


_DROPPED_BY_VERCEL = frozenset({"inlineData", "toolCall", "partialArgs"})
"""Parts whose missing required field the AI SDK's part union lets its catch-all member take (tried, ai 6.0): the
part goes, silently, and the chunk stays."""


def _vercel_on_missing(locations: list[tuple[Any, ...]]) -> str:
    """What the Vercel AI SDK does with a chunk missing a field its schema requires: an error part, or, inside a part
    its part union's catch-all member takes, the part dropped silently (the chunk is kept)."""
    kinds = {"drops" if _DROPPED_BY_VERCEL & set(map(str, loc)) else
             "rejects" if "parts" not in loc or "executableCode" in loc else "either" for loc in locations}
    if kinds == {"drops"}:
        return "drops the part silently (its part union's catch-all member takes it) and keeps the chunk"
    if kinds == {"rejects"}:
        return "rejects the chunk (an error part)"
    return "rejects the chunk (an error part) or, for a part its catch-all member takes, drops the part silently"


def _what_clients_do(errors: list[Any]) -> str:
    """What the SDKs do with a chunk that breaks the schema so (tried with python-genai for each kind of break): a
    field vercel's `chunkSchema` requires is optional in python-genai's models; a wrong type it coerces where
    pydantic's lax mode can, and raises on otherwise; a value under a minimum it keeps."""
    said = []
    missing = [error["loc"] for error in errors if error["type"] == "missing"]
    if missing:
        said.append(f"vercel's `chunkSchema`, which requires it, {_vercel_on_missing(missing)}, while python-genai "
                    "reads `None` there")
    wrong = [error for error in errors if error["type"] != "missing"
             and not any(isinstance(part, str) and part in _DROPPED_BY_GENAI for part in error["loc"])]
    if any(not error["type"].startswith(("greater_than", "less_than")) and not _genai_coerces(error["type"],
                                                                                             error["input"])
           for error in wrong):
        said.append("python-genai raises on it (a pydantic error or another exception)")
    elif any(error["type"].startswith(("int", "float", "bool")) for error in wrong):
        said.append("python-genai coerces the value (pydantic's lax mode), a stricter client rejects it")
    elif wrong:
        said.append("python-genai keeps the value as it came")
    return "; ".join(said) or "python-genai's Gemini API client drops the field"
