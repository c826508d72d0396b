"""The rules of the OpenAI Responses checker (docs/protocols.md §A, checklist D "Responses").

Registered once, in the order the checker has always registered them (schema, items and parts, then the envelope).
Ids are forever and name what they flag. `error`: the official SDK (or a client built like it) can break or lose
data; `warning`: allowed, an extension, or a documented vendor departure.
Each rule is documented in `docs/rules.md`.
"""

from __future__ import annotations

from ...findings import Severity, rule

E, W = Severity.ERROR, Severity.WARNING

# fmt: off
# schema (§A.2), checked against models.py
SCHEMA = rule("responses/schema", E, "an event, item or part that does not match its documented shape")
UNCHECKED = ("the openai Python SDK builds it unchecked by default, so code written to its types reads a missing or "
             "wrongly typed value there (with strict response validation the Python SDK raises instead)")
"""What a schema problem does to a client: tried with openai-python 2.x, whose streams build each event with
`construct_type` unless the client was made with `_strict_response_validation=True`."""
# output items, checked in items.py (§A.3 rules 4, 5)
OUTPUT_INDEX_ORDER = rule("responses/output-index-out-of-order", E,
                          "`output_item.added` indices are not 0, 1, 2, ... in order")
ITEM_NOT_OPEN      = rule("responses/item-not-open", E,
                          "an event names an `output_index` with no open item (never added, or already done)")
ITEM_ID_MISMATCH   = rule("responses/item-id-mismatch", E,
                          "an `item_id` (or the done item's `id`) differs from the id of the item it belongs to")
ITEM_DONE_MISSING  = rule("responses/item-done-missing", E,
                          "an added output item never got its `output_item.done`")
MCP_DONE_MISSING   = rule("responses/mcp-list-tools-done-missing", W,
                          "a concurrently open `mcp_list_tools` item never got its `output_item.done` "
                          "(a known OpenAI anomaly)")
# content parts and their values (§A.3 rules 6, 7)
EVENT_KIND         = rule("responses/event-kind-mismatch", E,
                          "an event that does not fit the type of the item or part it names")
CONTENT_INDEX      = rule("responses/content-index-out-of-order", E,
                          "`content_part.added` indices of an item are not 0, 1, 2, ... in order")
PART_NOT_OPEN      = rule("responses/part-not-open", E,
                          "an event names a content part, summary part or shell command that is not open")
PART_DONE_MISSING  = rule("responses/part-done-missing", E,
                          "`output_item.done` while a part of that item is still open")
DELTA_AFTER_DONE   = rule("responses/delta-after-done", E,
                          "a delta, annotation or second `.done` after the value's `.done`")
ANNOTATION_INDEX   = rule("responses/annotation-index-out-of-order", E,
                          "`annotation_index` of a text part is not 0, 1, 2, ... in order")
DELTA_MISMATCH     = rule("responses/delta-mismatch", E,
                          "the deltas of a value, joined, differ from its `.done` value")
DONE_WITHOUT_DELTA = rule("responses/done-without-delta", W,
                          "tool-call arguments arrive whole in `.done` with no delta at all")
SNAPSHOT_MISMATCH  = rule("responses/snapshot-mismatch", E,
                          "a part or item snapshot disagrees with the value streamed for it")
# reasoning, tool calls and the terminal output (§A.3 rules 8, 10)
SUMMARY_ORDER      = rule("responses/summary-part-out-of-order", E,
                          "reasoning summary parts are not sequential (0, 1, 2, ..., each closed before the next)")
DONE_EVENT_MISSING = rule("responses/done-event-missing", W,
                          "a part or item closes without the `.done` event of the value streamed into it")
TOOL_ARGUMENTS     = rule("responses/tool-arguments-invalid-json", E,
                          "a done `function_call` or `mcp_call` item whose `arguments` are not a JSON object")
CALLS_UNREQUESTED  = rule("responses/tool-calls-unrequested", W,
                          "a second function call for a request with `parallel_tool_calls: false`")
TERMINAL_OUTPUT    = rule("responses/terminal-output-mismatch", E,
                          "the terminal `response.output` differs from the streamed items")
# the envelope, checked in checker.py: framing (§A.3)
EVENT_NAME        = rule("responses/event-name-mismatch", E,
                         "the SSE `event:` name differs from the payload's `type`")
UNKNOWN_EVENT     = rule("responses/unknown-event", W, "an event type the docs do not list")
DONE_SENTINEL     = rule("responses/done-sentinel", E,
                         "a `data: [DONE]` frame before the terminal event: the openai SDKs stop reading there")
DONE_AFTER_END    = rule("responses/done-after-terminal", W,
                         "a `data: [DONE]` frame after the terminal event, which Responses streams never send")
# sequence numbers and resumed streams (§A.3 rule 3)
SEQUENCE_GAP      = rule("responses/sequence-not-contiguous", E,
                         "`sequence_number` does not grow by exactly 1 from one event to the next")
SEQUENCE_BASE     = rule("responses/sequence-not-zero-based", E,
                         "a fresh stream whose first `sequence_number` is not 0")
SEQUENCE_MISSING  = rule("responses/sequence-number-missing", E,
                         "some events carry `sequence_number` and others do not")
SEQUENCE_ABSENT   = rule("responses/sequence-number-absent", W,
                         "a stream whose events carry no `sequence_number` (the pre-2025 wire shape)")
STREAM_RESUMED    = rule("responses/stream-resumed", W,
                         "a stream that starts past `sequence_number` 0 without `response.created`: taken as a "
                         "`starting_after` resume")
# how a stream starts (§A.3 rule 1)
CREATED_NOT_FIRST = rule("responses/created-not-first", E,
                         "a fresh stream that does not start with `response.created`")
START_ORDER       = rule("responses/start-order", E,
                         "`response.created`, (`response.queued`,) `response.in_progress` out of order, missing "
                         "or repeated")
STATUS_MISMATCH   = rule("responses/status-mismatch", E,
                         "a lifecycle event whose `response.status` does not fit its name")
RESPONSE_ID       = rule("responses/response-id-changed", E,
                         "`response.id` differs between lifecycle events")
# one terminal event, last, and what it carries (§A.3 rules 2, 10)
TERMINAL_MISSING  = rule("responses/terminal-missing", E,
                         "the stream ended without `response.completed`, `response.failed` or `response.incomplete`")
AFTER_TERMINAL    = rule("responses/event-after-terminal", E,
                         "an event (a second terminal one included) after the terminal event")
TERMINAL_FIELD    = rule("responses/terminal-field-missing", E,
                         "a terminal event without the field its status requires (`usage`, `error`, "
                         "`incomplete_details`)")
TERMINAL_EXTRA    = rule("responses/terminal-field-unexpected", W,
                         "a terminal event carrying a field that contradicts its status (`error` on a completed "
                         "response, `incomplete_details` on a completed or failed one)")
SDK_FIELD_MISSING = rule("responses/sdk-field-missing", E,
                         "a response, item, part or annotation without a field the openai Python SDK types as required")
USAGE_OVER_LIMIT  = rule("responses/usage-over-limit", W,
                         "the usage counts more output tokens than the request's `max_output_tokens` allowed")
# the in-band `error` event (§A.3 rule 12)
ERROR_EVENT       = rule("responses/error-event", W, "an in-band `error` event: the response failed")
AFTER_ERROR       = rule("responses/event-after-error", E,
                         "an event other than `response.failed` after an `error` event")
# fmt: on
