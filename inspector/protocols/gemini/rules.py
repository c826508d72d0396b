"""The rules of the Gemini `streamGenerateContent` checker, registered once (docs/rules.md, "Gemini").

Ids are forever and name what they flag. `error`: an official client (python-genai, @google/genai, or the vercel
provider built like them) breaks, raises or loses data on it; `warning`: real Google streams do it, or a client
may lose something while the stream is still usable.
"""

from __future__ import annotations

from ...findings import Severity, rule

E, W = Severity.ERROR, Severity.WARNING

# fmt: off
# framing and the chunk envelope
NON_DATA_FIELD       = rule("gemini/non-data-field", E,
                            "an `event:`, `id:`, `retry:` or comment line, a `data:` line without its space, or a "
                            "`data: [DONE]` frame: Google sends only `data: ` lines")
OUT_OF_BAND_LINES    = rule("gemini/out-of-band-lines", E,
                            "lines outside SSE field syntax (a bare JSON error written into the stream)")
ERROR_OBJECT         = rule("gemini/error-object", E, "an in-band `{\"error\": ...}` chunk: the stream failed")
NOT_AN_OBJECT        = rule("gemini/not-an-object", E, "a chunk whose data is JSON but not an object")
SCHEMA_MISMATCH      = rule("gemini/schema", E,
                            "a chunk whose fields do not fit `GenerateContentResponse` (wrong type, missing field)")
EMPTY_CHUNK          = rule("gemini/empty-chunk", E,
                            "a chunk with none of `candidates`, `promptFeedback` and `usageMetadata`")
SEVERAL_CANDIDATES   = rule("gemini/several-candidates", W,
                            "a chunk with more than one candidate, or a candidate whose `index` is not 0")
IDENTITY_CHANGED     = rule("gemini/identity-changed", E, "`responseId` or `modelVersion` changes within one stream")
CREATE_TIME_CHANGED  = rule("gemini/create-time-changed", W, "`createTime` changes within one stream")
# parts
ROLE_NOT_MODEL       = rule("gemini/role-not-model", E, "a candidate's `content.role` other than `model`")
PART_SHAPE           = rule("gemini/part-shape", E, "a part with no data field, or with more than one")
THOUGHT_AFTER_ANSWER = rule("gemini/thought-after-answer", W, "a thought part after an answer part")
SIGNATURE_EMPTY      = rule("gemini/thought-signature-empty", W, "an empty `thoughtSignature`")
FUNCTION_CALL_INCOMPLETE = rule("gemini/function-call-incomplete", E,
                                "a complete `functionCall` without a non-empty string `name`")
STREAMED_ARGS_ORDER  = rule("gemini/streamed-args-order", E,
                            "streamed function-call arguments (`partialArgs`, `willContinue`) out of order")
STREAMED_ARGS_OPEN   = rule("gemini/streamed-args-open", E, "the stream ends while a streamed function call is open")
PARTIAL_ARG_SHAPE    = rule("gemini/partial-arg-shape", E,
                            "a `partialArgs` entry whose `jsonPath` does not start with `$` or that has two values")
TOOL_RESULT_UNPAIRED = rule("gemini/tool-result-unpaired", W,
                            "a built-in tool result with no call before it, or with another `id`")
# the end
FINISH_MISSING       = rule("gemini/finish-missing", E,
                            "the stream ends with no `finishReason` and no `promptFeedback.blockReason`: cut short, "
                            "or never ended")
FINISH_NOT_LAST      = rule("gemini/finish-not-last", W, "a `finishReason` on a chunk that is not the last")
PROMPT_BLOCKED       = rule("gemini/prompt-blocked", W, "the prompt was blocked (`promptFeedback.blockReason`)")
UNKNOWN_ENUM         = rule("gemini/unknown-enum", W, "an enum value the Python SDK types do not list")
USAGE_ARITHMETIC     = rule("gemini/usage-arithmetic", W,
                            "`totalTokenCount` differs from the sum of its parts, or more cached than prompt tokens")
USAGE_OVER_LIMIT     = rule("gemini/usage-over-limit", W,
                            "the usage counts more candidate tokens than the request's `maxOutputTokens` allowed")
# fmt: on
