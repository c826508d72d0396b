"""Pydantic models of one Gemini `streamGenerateContent` chunk, a `GenerateContentResponse` (docs/protocols.md).

Strict where the SDKs are: JSON types, and the fields that @ai-sdk/google's `chunkSchema` requires (`jsonPath` of a
partial argument, `mimeType` + `data` of inline data, `language` + `code` of executable code, `outcome` of a code
result, `id` + `toolType` of built-in tool calls and responses, `modality` + `tokenCount` of token details). Open to
everything else (`extra="ignore"`), as python-genai is: it strips unknown fields before validation. Enum values are
plain strings here; the checker warns about values outside the tables below, since every client takes new ones.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..schema import summary

Count = Annotated[int, Field(ge=0)]


class Wire(BaseModel):
    """Base of every model: strict JSON types, unknown fields ignored."""

    model_config = ConfigDict(strict=True, extra="ignore")


class PartialArg(Wire):
    jsonPath: str
    stringValue: str | None = None
    numberValue: float | None = None
    boolValue: bool | None = None
    nullValue: Any = None
    willContinue: bool | None = None


class FunctionCall(Wire):
    id: str | None = None
    name: str | None = None
    args: dict[str, Any] | None = None
    partialArgs: list[PartialArg] | None = None
    willContinue: bool | None = None


class InlineData(Wire):
    mimeType: str
    data: str


class ExecutableCode(Wire):
    language: str
    code: str
    id: str | None = None


class CodeExecutionResult(Wire):
    outcome: str
    output: str | None = None
    id: str | None = None


class ToolCall(Wire):
    id: str
    toolType: str
    args: dict[str, Any] | None = None


class ToolResponse(Wire):
    id: str
    toolType: str
    response: dict[str, Any] | None = None


class Part(Wire):
    text: str | None = None
    thought: bool | None = None
    thoughtSignature: str | None = None
    inlineData: InlineData | None = None
    fileData: dict[str, Any] | None = None
    functionCall: FunctionCall | None = None
    functionResponse: dict[str, Any] | None = None
    executableCode: ExecutableCode | None = None
    codeExecutionResult: CodeExecutionResult | None = None
    toolCall: ToolCall | None = None
    toolResponse: ToolResponse | None = None


class Content(Wire):
    role: str | None = None
    parts: list[Part] | None = None


class SafetyRating(Wire):
    category: str | None = None
    probability: str | None = None
    blocked: bool | None = None
    severity: str | None = None


class Candidate(Wire):
    content: Content | None = None
    finishReason: str | None = None
    finishMessage: str | None = None
    index: Count | None = None
    safetyRatings: list[SafetyRating] | None = None
    citationMetadata: dict[str, Any] | None = None
    groundingMetadata: dict[str, Any] | None = None
    urlContextMetadata: dict[str, Any] | None = None


class PromptFeedback(Wire):
    blockReason: str | None = None
    blockReasonMessage: str | None = None
    safetyRatings: list[SafetyRating] | None = None


class ModalityCount(Wire):
    modality: str
    tokenCount: Count


class UsageMetadata(Wire):
    promptTokenCount: Count | None = None
    candidatesTokenCount: Count | None = None
    totalTokenCount: Count | None = None
    thoughtsTokenCount: Count | None = None
    toolUsePromptTokenCount: Count | None = None
    cachedContentTokenCount: Count | None = None
    promptTokensDetails: list[ModalityCount] | None = None
    candidatesTokensDetails: list[ModalityCount] | None = None
    toolUsePromptTokensDetails: list[ModalityCount] | None = None
    cacheTokensDetails: list[ModalityCount] | None = None
    trafficType: str | None = None


class Chunk(Wire):
    """One SSE event's data: every field is optional in the SDK types; the checker says which must come."""

    candidates: list[Candidate] | None = None
    promptFeedback: PromptFeedback | None = None
    usageMetadata: UsageMetadata | None = None
    modelVersion: str | None = None
    responseId: str | None = None
    createTime: str | None = None


# The data fields of a part: exactly one per part (`thought`, `thoughtSignature`, `partMetadata`, ... modify it).
DATA_FIELDS = ("text", "inlineData", "fileData", "functionCall", "functionResponse", "executableCode",
               "codeExecutionResult", "toolCall", "toolResponse", "audioTranscription")

# fmt: off
# The enums of python-genai `types.py` (all open: a value outside them is a warning, never an error).
FINISH_REASONS = frozenset({
    "FINISH_REASON_UNSPECIFIED", "STOP", "MAX_TOKENS", "SAFETY", "RECITATION", "LANGUAGE", "OTHER", "BLOCKLIST",
    "PROHIBITED_CONTENT", "SPII", "MALFORMED_FUNCTION_CALL", "IMAGE_SAFETY", "UNEXPECTED_TOOL_CALL",
    "TOO_MANY_TOOL_CALLS", "IMAGE_PROHIBITED_CONTENT", "NO_IMAGE", "IMAGE_RECITATION", "IMAGE_OTHER",
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
                           "PROVISIONED_THROUGHPUT"})
MODALITIES = frozenset({"MODALITY_UNSPECIFIED", "TEXT", "IMAGE", "VIDEO", "AUDIO", "DOCUMENT"})
TOOL_TYPES = frozenset({"TOOL_TYPE_UNSPECIFIED", "GOOGLE_SEARCH_WEB", "GOOGLE_SEARCH_IMAGE", "URL_CONTEXT",
                        "GOOGLE_MAPS", "FILE_SEARCH"})
OUTCOMES = frozenset({"OUTCOME_UNSPECIFIED", "OUTCOME_OK", "OUTCOME_FAILED", "OUTCOME_DEADLINE_EXCEEDED"})
# fmt: on


def schema_problem(payload: Any) -> str | None:
    """None when `payload` fits a chunk, else which fields are wrong and what was expected, in a few words."""
    try:
        Chunk.model_validate(payload)
    except ValidationError as error:
        return summary(error, 3)
    return None
