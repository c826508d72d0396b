"""The rules of the Anthropic Messages checker (docs/protocols.md §D, "Anthropic Messages"), registered once.

Ids are forever and name what they flag. `error`: the official SDK (or a client built like it) can break or lose
data; `warning`: allowed, an extension, or a documented vendor departure (the "lenient switches" of §D).
Each rule is documented in `docs/rules.md`.
"""

from __future__ import annotations

from ...findings import Severity, rule

E, W = Severity.ERROR, Severity.WARNING

# fmt: off
# framing (§D.1)
EVENT_NAME_MISMATCH   = rule("anthropic/event-name-mismatch", E,
                             "the SSE `event:` name is missing, or one the Python SDK skips, where `data.type` names "
                             "an event")
EVENT_NAME_DIFFERS    = rule("anthropic/event-name-differs", W,
                             "the SSE `event:` name differs from `data.type`, where the SDKs still read the frame")
DONE_SENTINEL         = rule("anthropic/done-sentinel", E, "a `data: [DONE]` frame, which this protocol does not have")
SCHEMA_MISMATCH       = rule("anthropic/schema", E,
                             "an event whose fields do not fit the documented schema (missing or wrong JSON type)")
UNKNOWN_EVENT         = rule("anthropic/unknown-event", W, "an event type the protocol does not document (ignored)")
# the message envelope (§D.2, §D.3, §D.9, §D.10)
MESSAGE_START_NOT_FIRST = rule("anthropic/message-start-not-first", E,
                               "an event other than `ping` before `message_start`, or no `message_start` at all")
MESSAGE_START_REPEATED  = rule("anthropic/message-start-repeated", E, "a second `message_start` in one stream")
MESSAGE_START_NOT_EMPTY = rule("anthropic/message-start-not-empty", E,
                               "a `message_start` whose message already has content or a `stop_reason`")
MESSAGE_START_SHORT_FORM = rule("anthropic/message-start-short-form", W,
                                "the programmatic-tool short form: a complete `message_start` then `message_stop`")
PING_BEFORE_START     = rule("anthropic/ping-before-message-start", W, "a `ping` before `message_start`")
EVENT_AFTER_TERMINAL  = rule("anthropic/event-after-terminal", E, "an event after `message_stop` or `error`")
TERMINAL_MISSING      = rule("anthropic/terminal-missing", E,
                             "the stream ends without `message_stop` or `error`: cut short, or never ended")
ERROR_EVENT           = rule("anthropic/error-event", W, "an in-band `error` event: the response failed")
# content blocks (§D.4 to §D.7)
BLOCK_INDEX_NOT_SEQUENTIAL = rule("anthropic/block-index-not-sequential", E,
                                  "a `content_block_start` index that is not the next of 0, 1, 2, ...")
BLOCK_NOT_OPEN        = rule("anthropic/block-not-open", E,
                             "a delta or stop for a block that was never started or is already stopped")
BLOCK_OVERLAP         = rule("anthropic/block-overlap", W, "a block starts while another one is still open")
BLOCK_UNCLOSED        = rule("anthropic/block-unclosed", E, "a block never gets its `content_block_stop`")
BLOCK_AFTER_MESSAGE_DELTA = rule("anthropic/block-after-message-delta", E,
                                 "a `content_block_start` after `message_delta`")
UNKNOWN_BLOCK_TYPE    = rule("anthropic/unknown-block-type", W, "a content block type the docs do not list")
UNKNOWN_DELTA_TYPE    = rule("anthropic/unknown-delta-type", W, "a delta type the docs do not list")
DELTA_TYPE_MISMATCH   = rule("anthropic/delta-type-mismatch", E,
                             "a delta that does not fit its block's type (or a delta to a complete block)")
TOOL_INPUT_INVALID_JSON = rule("anthropic/tool-input-invalid-json", E,
                               "a tool block's joined `partial_json` is not a JSON object at its stop")
TOOL_ID_REPEATED = rule("anthropic/tool-id-repeated", E, "a tool block with the `id` of an earlier one")
THINKING_SIGNATURE_MISSING = rule("anthropic/thinking-signature-missing", E,
                                  "a thinking block stops without a `signature_delta`, or with an empty signature")
THINKING_SIGNATURE_REPEATED = rule("anthropic/thinking-signature-repeated", E,
                                   "a thinking block gets more than one `signature_delta`")
THINKING_AFTER_SIGNATURE = rule("anthropic/thinking-after-signature", E,
                                "a `thinking_delta` after the block's `signature_delta`")
# message_delta and the end (§D.6, §D.8, §D.9)
MESSAGE_DELTA_WITH_OPEN_BLOCK = rule("anthropic/message-delta-with-open-block", E,
                                     "a `message_delta` while a content block is still open")
MAX_TOKENS_OPEN_TOOL_BLOCK = rule("anthropic/max-tokens-open-tool-block", W,
                                  "`stop_reason: max_tokens` arrives while a tool block is open (documented anomaly)")
MESSAGE_DELTA_MISSING = rule("anthropic/message-delta-missing", E, "a `message_stop` with no `message_delta` before it")
STOP_REASON_MISSING   = rule("anthropic/stop-reason-missing", E,
                             "the final `message_delta` leaves `stop_reason` null")
UNKNOWN_STOP_REASON   = rule("anthropic/unknown-stop-reason", W, "a `stop_reason` the docs do not list")
STOP_REASON_MISMATCH  = rule("anthropic/stop-reason-mismatch", W,
                             "`stop_reason` contradicts the `tool_use` blocks streamed (`tool_use` vs `end_turn`)")
STOP_SEQUENCE_UNEXPECTED = rule("anthropic/stop-sequence-unexpected", W,
                                "a non-null `stop_sequence` with a `stop_reason` other than `stop_sequence`")
OUTPUT_TOKENS_DECREASED = rule("anthropic/output-tokens-decreased", E,
                               "cumulative `usage.output_tokens` smaller than an earlier value")
OUTPUT_TOKENS_ZERO = rule("anthropic/output-tokens-zero", W,
                          "a message that streamed content ends with `usage.output_tokens` 0")
USAGE_OVER_LIMIT = rule("anthropic/usage-over-limit", W,
                        "the usage counts more output tokens than the request's `max_tokens` allowed")
# fmt: on
