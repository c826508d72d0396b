"""The rules of the OpenAI Chat Completions checker (docs/protocols.md §B, checklist D "Chat Completions").

Registered once, in the order the checker has always registered them (the per-choice rules, then the envelope).
Ids are forever and name what they flag. `error`: the official SDK (or a client built like it) can break or lose
data; `warning`: allowed, an extension, or a documented vendor departure.
Each rule is documented in `docs/rules.md`.
"""

from __future__ import annotations

from ...findings import Severity, rule

E, W = Severity.ERROR, Severity.WARNING

# fmt: off
# each choice: its index, role and finish_reason (§B.3 rules 3, 6, 8), checked in choices.py
CHOICE_INDEX_GAP      = rule("chat/choice-index-gap", E, "a new choice index that is not the next one (0, 1, ...)")
ROLE_MISSING          = rule("chat/role-missing", E, "a choice that never carries `delta.role`")
ROLE_LATE             = rule("chat/role-late", W,
                             "a choice's `delta.role` comes once, but on a later chunk than its first")
ROLE_UNEXPECTED       = rule("chat/role-unexpected", W, "a choice's role is not `assistant`")
ROLE_REPEATED         = rule("chat/role-repeated", E, "`delta.role` again after the choice already had one")
FINISH_REPEATED       = rule("chat/finish-reason-repeated", E, "a second non-null `finish_reason` for one choice")
CHOICE_AFTER_FINISH   = rule("chat/choice-after-finish", E,
                             "content, a tool call or a role for a choice that has already finished")
EMPTY_AFTER_FINISH    = rule("chat/empty-choice-after-finish", W,
                             "a chunk that carries nothing for a choice that has already finished")
FINISH_MISSING        = rule("chat/finish-reason-missing", E,
                             "the stream ends with a choice that never got a `finish_reason` (truncated)")
FINISH_MISMATCH       = rule("chat/finish-reason-mismatch", W,
                             "`finish_reason` contradicts the tool calls streamed (`tool_calls` vs `stop`)")
# text, refusal and logprobs of a choice (§B.3 rule 4)
CONTENT_AND_REFUSAL   = rule("chat/content-and-refusal", W, "one choice streams both content and refusal text")
LOGPROBS_MISMATCH     = rule("chat/logprobs-mismatch", W,
                             "`logprobs.content`/`logprobs.refusal` tokens without the matching delta kind")
# tool calls of a choice (§B.3 rule 5)
TOOL_INDEX_GAP        = rule("chat/tool-call-index-gap", E,
                             "a new tool-call index that is not the next one (0, 1, 2, ...) in its choice")
DELTA_LIST_INDEX      = rule("chat/delta-list-without-index", E,
                             "an untyped `delta` field comes again as a list whose entries lack an integer `index`")
TOOL_START_INCOMPLETE = rule("chat/tool-call-start-incomplete", E,
                             "a tool call's first fragment lacks `id`, `type: \"function\"` or `function.name`")
TOOL_CHANGED          = rule("chat/tool-call-changed", E, "a later tool-call fragment changes its id, name or type")
TOOL_REPEATED         = rule("chat/tool-call-repeated", W,
                             "a later tool-call fragment repeats the `id` (accumulators concatenate it)")
NAME_REPEATED         = rule("chat/tool-name-repeated", E,
                             "a later tool-call fragment repeats the function's name (accumulators concatenate it into "
                             "a name no tool has)")
TOOL_ARGUMENTS_JSON   = rule("chat/tool-arguments-invalid-json", E,
                             "a tool call's concatenated arguments are not a JSON object at its choice's finish "
                             "(or at the end of a stream in which it never finished)")
TOOL_CUT_AT_LENGTH    = rule("chat/tool-call-cut-at-length", W,
                             "a choice finished by the token limit (`length`) inside a tool call whose arguments are "
                             "cut short")
# the envelope, checked in checker.py: framing and schema (§B.3 rule 1)
EVENT_NAME            = rule("chat/event-name", W, "a frame with an `event:` field; Chat frames are `data:` only")
SCHEMA                = rule("chat/schema", E, "a payload that breaks the documented chunk or error schema")
OBJECT_INVALID        = rule("chat/object-invalid", E, "a chunk whose `object` is not `chat.completion.chunk`")
PROMPT_FILTER_FRAME   = rule("chat/prompt-filter-frame", W,
                             "Azure's first frame: empty identity, `choices: []` (and `prompt_filter_results`)")
# one identity (§B.3 rule 2)
IDENTITY_CHANGED      = rule("chat/identity-changed", E, "`id` or `model` differs from the first chunk")
CREATED_CHANGED       = rule("chat/created-changed", W, "`created` differs from the first chunk")
# usage (§B.3 rule 7)
USAGE_REPEATED        = rule("chat/usage-repeated", E, "a second usage chunk (`choices: []` with `usage`)")
USAGE_NEGATIVE        = rule("chat/usage-negative", E, "a negative token count in `usage`")
USAGE_DECREASED       = rule("chat/usage-decreased", E, "a token count in a later chunk's `usage` below an earlier one")
USAGE_EARLY           = rule("chat/usage-early", E, "a choice chunk after the usage chunk")
USAGE_ON_CHOICE_CHUNK = rule("chat/usage-on-choice-chunk", W,
                             "non-null `usage` on a chunk that has choices, and no `choices: []` usage chunk")
USAGE_TOTAL_MISMATCH  = rule("chat/usage-total-mismatch", E,
                             "`usage.total_tokens` is not `prompt_tokens + completion_tokens`")
USAGE_CACHED_EXCEEDS_PROMPT = rule("chat/usage-cached-exceeds-prompt", E,
                                   "`prompt_tokens_details.cached_tokens` is greater than `prompt_tokens`")
USAGE_NOT_SENT        = rule("chat/usage-not-sent", W,
                             "the request asked for usage (`stream_options.include_usage`) and no chunk carried it")
CHOICES_MISSING       = rule("chat/choices-missing", W,
                             "the request asked for `n` choices and the stream carried fewer")
CALLS_UNREQUESTED     = rule("chat/tool-calls-unrequested", W,
                             "a choice streams several tool calls for a request with `parallel_tool_calls: false`")
CHOICES_UNREQUESTED   = rule("chat/choices-unrequested", W,
                             "the stream carried more choices than the request's `n` (1 when it says nothing)")
USAGE_OVER_LIMIT      = rule("chat/usage-over-limit", W,
                             "the usage counts more completion tokens than the request's `max_completion_tokens` "
                             "(or `max_tokens`) allowed")
USAGE_DROPPED         = rule("chat/usage-dropped", E,
                             "the last chunks carry no `usage` after one that did: the Python SDK's stream helper "
                             "has none")
# in-band errors and the end of the stream (§B.3 rules 1, 9)
ERROR_EVENT           = rule("chat/error-event", E, "an in-band error payload (a top-level `error` object)")
CHUNK_AFTER_ERROR     = rule("chat/chunk-after-error", W, "data after an in-band error, which ends the stream")
DONE_MISSING          = rule("chat/done-missing", E, "the stream ends without `data: [DONE]` (truncated)")
DONE_REPEATED         = rule("chat/done-repeated", W, "a second `data: [DONE]`")
EVENT_AFTER_DONE      = rule("chat/event-after-done", E, "a chunk after `data: [DONE]`, which a client never reads")
# fmt: on
