"""OpenAI Chat Completions streams: the checker (docs/protocols.md B, checklist D "Chat Completions").

A Chat stream is a run of `data:` frames, each a `chat.completion.chunk` object, closed by a literal
`data: [DONE]`. Every chunk repeats the same identity and carries deltas for one or more choices; each choice
opens with `delta.role`, streams text, refusal and tool-call fragments, and ends with exactly one
`finish_reason`. An optional usage chunk (`choices: []`) comes after every finish.

One `Checker` per stream, fed `(event, payload)` one event at a time. It keeps only what the rules need (the
identity of the first chunk, where `[DONE]`, the usage chunk and an error came) and updates the `Assembly` apart
from judging (STYLE.md §3). This module owns the envelope: framing, schema, identity, usage, in-band errors and
the end of the stream; each choice object goes to `choices.ChoiceTracker`. The rules themselves
are declared in `rules`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any, ClassVar

from ...findings import Finding
from ...sse import Event
from ..base import (
    DONE,
    UNREADABLE,
    Assembly,
    FirstTime,
    asks_for_one_call,
    broken_connection,
    left_open,
    listed,
    request_object,
)
from ..delta_shape import DeltaShape, Hole
from ..token_limit import TokenLimit
from .choices import ChoiceTracker
from .models import chunk_schema_message, schema_problems
from .rules import (
    CALLS_UNREQUESTED,
    CHOICES_MISSING,
    CHOICES_UNREQUESTED,
    CHUNK_AFTER_ERROR,
    CREATED_CHANGED,
    DONE_MISSING,
    DONE_REPEATED,
    ERROR_EVENT,
    EVENT_AFTER_DONE,
    EVENT_NAME,
    IDENTITY_CHANGED,
    OBJECT_INVALID,
    PROMPT_FILTER_FRAME,
    SCHEMA,
    USAGE_CACHED_EXCEEDS_PROMPT,
    USAGE_DECREASED,
    USAGE_DROPPED,
    USAGE_EARLY,
    USAGE_NEGATIVE,
    USAGE_NOT_SENT,
    USAGE_ON_CHOICE_CHUNK,
    USAGE_OVER_LIMIT,
    USAGE_REPEATED,
    USAGE_TOTAL_MISMATCH,
)

CHUNK_OBJECT = "chat.completion.chunk"
SSE_DEFAULT_TYPE = "message"
"""The SSE event type of a frame without `event:`: the only one Chat sends."""
IDENTITY_FIELDS = ("id", "created", "model")
"""Fields every chunk repeats unchanged (the Azure prompt-filter first frame excepted)."""
JSON_TYPE_NAMES = {list: "an array", str: "a string", int: "a number", float: "a number", bool: "a boolean",
                   type(None): "null"}
SDK_DEFAULT_ERROR = "An error occurred during streaming"
"""What the openai Python SDK raises with when the error carries no message."""


def _payload_kind(payload: Any) -> str:
    """Which handler a decoded payload goes to. The openai Python SDK reads every frame alike, so shape decides."""
    if payload is DONE:
        return "done"
    if payload is UNREADABLE:
        return "unreadable"
    if type(payload) is not dict:
        return "not-object"
    if payload.get("error"):  # the Python SDK raises `APIError` for any truthy top-level `error`
        return "error"
    return "chunk"


def _is_prompt_filter_frame(payload: dict[str, Any]) -> bool:
    """Azure's first frame; or one like it that a proxy passed on without its `prompt_filter_results` (MLflow's
    gateway 3.17.2): no choice, no usage, and an identity all empty."""
    if payload.get("choices") != []:
        return False
    return "prompt_filter_results" in payload or (payload.get("usage") is None and not any(
        payload.get(key) for key in ("object", *IDENTITY_FIELDS)))


SKIPPED_BY_HELPER = (f"the openai Python SDK's `chat.completions.stream()` helper skips every chunk whose `object` is "
                     f"not `{CHUNK_OBJECT}`, so its final completion lacks what they carried (and with none kept, "
                     "`get_final_completion()` raises)")
"""What the stream helper does with a chunk of another or no `object` (found on FastChat, which sends `object` only
on its finish chunk: the helper's message came out empty)."""


_SKIPPED_WITH_USAGE = ("; CrewAI 1.15's OpenAI provider skips every chunk that carries `usage`, with the text, "
                       "tool-call fragments and finish on it")
"""What a chunk with choices that carries `usage` costs a client that takes it for the usage chunk (crewai 1.15's
`OpenAICompletion` skips it whole: a Perplexity stream's answer came out empty, a Mistral one's last words and finish
were lost)."""


def _predicted(body: dict[str, Any], usage: dict[str, Any]) -> bool:
    """Whether the request gave a predicted output (`prediction`): its rejected tokens are counted in
    `completion_tokens` too, and whether the cap bounds them is not said."""
    return body.get("prediction") is not None


class Checker:
    """The Chat Completions state machine: `feed` each event, then `finish` at the end of the stream."""

    name: ClassVar[str] = "openai-chat"
    end_missing: ClassVar[str] = DONE_MISSING.id
    broken_after_end: ClassVar[str] = ("the openai Python SDK stops reading at the stream's end and does not notice, "
                                       "but a client that reads the body to its end (httpx's `iter_lines`, a browser's "
                                       "`fetch`) raises there")
    token_limit: ClassVar[TokenLimit] = TokenLimit(USAGE_OVER_LIMIT, ("max_completion_tokens", "max_tokens"),
                                                   "completion_tokens", several=("n",),
                                                   may_count_more=_predicted)

    @staticmethod
    def ends_stream(payload: Any) -> bool:
        return payload is DONE

    def __init__(self) -> None:
        self.connection_broke: str | None = None
        self.ended_inside_event = False
        self.assembly = Assembly(self.name)
        self._first_time = FirstTime()
        self._choices = ChoiceTracker(self.assembly, self._first_time)
        self._chunks = 0
        self._identity: tuple[Any, ...] | None = None
        self._identity_events: tuple[int, ...] = ()
        """The event that set each field of `_identity`."""
        self._done_at: int | None = None
        self._error_at: int | None = None
        self._usage_at: int | None = None
        self._usage_last_at: int | None = None
        """The last chunk that carried `usage`: the openai SDK's stream helper keeps the last chunk's `usage`, null
        or not, so it ends with none when chunks without it follow."""
        self.request_body: Any = None
        """The request's body as a recording keeps it (text or object; None: not known): asked whether it wanted
        usage only when none came, as the body of a long conversation may be megabytes."""
        self._usage_dropped_at: int | None = None
        """The first chunk without `usage` since `_usage_last_at` (None: none came, or one of unknown content). The
        fast path never hides a change of it: it takes neither a chunk with usage nor one of unknown content, and
        the first chunk after either goes the full way (the shape before it no longer fits)."""
        self._after_done_at: int | None = None
        """The first payload after `[DONE]` (`chat/event-after-done`)."""
        self._usage_on_choices_at: int | None = None
        """The first chunk with choices that carried `usage`: judged at the end, as the `choices: []` usage chunk may
        still come (gemini-balance puts usage on its choice chunks and sends the usage chunk too)."""
        self._usage_added = {"prompt_tokens": 0, "completion_tokens": 0}
        """Every chunk's `usage` counts added up, the usage chunk's too, as langchain-openai 1.8 and pydantic-ai add
        them (Perplexity repeats its cumulative count on every chunk: a client that adds them counts it over and
        over)."""
        self._unreadable_at: int | None = None
        self._fed = False
        self._helper_took = False
        """A chunk the Python SDK's stream helper takes came (its `object` says so): the helper has a completion."""
        self._handlers = {
            "done": self._on_done,
            "unreadable": self._on_unreadable,
            "not-object": self._on_not_object,
            "error": self._on_error,
            "chunk": self._on_chunk,
        }

    # -- the stream ------------------------------------------------------------------------------------------

    def feed(self, event: Event, payload: Any) -> list[Finding]:
        findings: list[Finding] = []
        index = event.index
        self._fed = True
        kind = _payload_kind(payload)
        if event.type != SSE_DEFAULT_TYPE and self._first_time(EVENT_NAME.id, event.type):
            lost = ("it raises on the `error` in the data all the same (`chat/error-event`)" if kind == "error" else
                    "anything it was meant to signal is lost")
            findings.append(EVENT_NAME(index, f"expected a `data:`-only frame, got `event: {event.type}`: the "
                                              "openai Python SDK ignores the name (a `thread.*` name changes how it "
                                              f"reads the data), so {lost} (reported once per name)"))
        if self._done_at is not None or self._error_at is not None:
            # the Python SDK read no further: what comes after the end is one break, said once (`_after_end`), and not
            # judged as the chunks the client never got
            if kind != "unreadable":
                self._after_end(index, kind, findings)
            if kind == "done":
                self._on_done(index, payload, findings)  # the server's end, after an in-band error too
            return findings
        self._handlers[kind](index, payload, findings)
        return findings

    def shape(self, event: Event, payload: Any) -> DeltaShape | None:
        """The fast path's shape of a chunk that only adds text or tool-call arguments to one choice in mid-stream
        (delta_shape.py): a chunk of the same shape passes every check here and in `ChoiceTracker.feed` silently,
        and only appends."""
        if (event.type != SSE_DEFAULT_TYPE or self._done_at is not None or self._error_at is not None
                or self._usage_at is not None or type(payload) is not dict or payload.get("object") != CHUNK_OBJECT
                or payload.get("usage") is not None or payload.get("error")):
            return None
        choices = payload.get("choices")
        if type(choices) is not list or len(choices) != 1 or type(choices[0]) is not dict:
            return None
        text = self._choices.steady_text(choices[0])
        if text is not None:
            grows, holes = text, [Hole("content", choices[0]["delta"]["content"])]
        elif (arguments := self._choices.steady_arguments(choices[0])) is not None:
            grows, holes = arguments[1], [Hole("arguments", arguments[0])]
        else:
            return None

        def apply(index: int, values: Sequence[Any]) -> bool:
            if not values[0]:
                return False  # an empty delta appends nothing: the full path's branch differs
            self._chunks += 1
            grows.append(values[0])
            return True

        if type(payload.get("obfuscation")) is str:  # OpenAI's random pad, new on every chunk: checked by nothing
            holes.append(Hole("obfuscation", payload["obfuscation"]))
        return DeltaShape.cut(event, holes, apply)

    def answer_whole(self) -> str | None:
        """Why the answer looks whole without `[DONE]`: every choice that appeared got its `finish_reason`."""
        return "every choice had its `finish_reason`" if self._choices.all_finished() else None

    def finish(self, end_index: int | None) -> list[Finding]:
        """A stream that an in-band error ended is reported by `chat/error-event` alone, one with no event at all by
        `sse/no-events`."""
        findings: list[Finding] = []
        if self._error_at is not None or not self._fed:
            self._choices.missing_finish_keys(findings, said=())
            self._choices.judge_finished(findings)
            return findings  # an error said it, or nothing came (the SSE layer's `sse/no-events`)
        if self._done_at is None:
            last = (f" (event {end_index}, the last one, could not be read and may have been it)"
                    if self._unreadable_at is not None and self._unreadable_at == end_index else "")
            harm = (broken_connection(self.connection_broke) if self.connection_broke else
                    "every choice had its `finish_reason`, so the answer looks whole, but a client that waits for "
                    "`[DONE]` to know the stream is over cannot tell this from a lost connection"
                    if self._choices.all_finished() else
                    "it was cut short or the server never ends its streams, and a client cannot tell a complete "
                    "answer from a truncated one")
            unfinished = self._choices.unfinished()
            if unfinished:  # NOTE: one break: said here, not by a `chat/finish-reason-missing` each
                harm += (f"; {listed([f'choice `{index}`' for index in unfinished])} never got "
                         f"{'its' if len(unfinished) == 1 else 'their'} `finish_reason`")
                calls = [(f"choice `{index}`'s " if len(unfinished) > 1 else "") + call for index in unfinished
                         if (call := self._choices.last_call(index)) is not None]
                harm += left_open(calls)  # NOTE: LangGraph ran a call cut inside its arguments, repaired
            elif not self._choices.count() and self._unreadable_at is None:  # NOTE: nor by its no-choice form
                harm += "; no choice came at all" + (
                    "" if self.connection_broke else
                    f" ({self._choices.helper_on_no_choice(end_index, self._helper_took)})")
            findings.append(DONE_MISSING(end_index, f"the stream ended without a readable `data: [DONE]`{last}: "
                                                    f"{harm}"))
        # NOTE: a cut stream might have brought usage again: the cut is its one break; a usage-early said it too
        if (self._usage_dropped_at is not None and self._done_at is not None and self._first_time(USAGE_EARLY.id)
                and self._choices.helper_gone(self._usage_dropped_at) is None):  # NOTE: it is about the helper alone
            findings.append(USAGE_DROPPED(self._usage_dropped_at, (
                f"no `usage` on this chunk or any after it, after event {self._usage_last_at}'s: the openai Python "
                "SDK's stream helper keeps the last chunk's `usage`, so its final completion has none (a client "
                "reading the chunks itself still finds it)")))
        # NOTE: a body that ended without `[DONE]` but whole is over too (Guardrails' server ends so); where the
        # server broke the connection, or the body ended inside an event (LitServe's lost error), the usage chunk
        # may have been on its way, or in it: the break is said
        # NOTE: ... and so is one cut before a choice finished (the usage chunk comes after every finish): the cut is
        # `chat/done-missing`'s (Open WebUI passing on a truncated upstream)
        over = self._done_at is not None or (self.connection_broke is None and not self.ended_inside_event
                                             and self._choices.all_finished())
        if (self._usage_last_at is None and over and self._unreadable_at is None and self._after_done_at is None
                and _asks_for_usage(self.request_body)):
            ended = "before `[DONE]`" if self._done_at is not None else "before the body ended (without `[DONE]`)"
            findings.append(USAGE_NOT_SENT(self._done_at if self._done_at is not None else end_index, (
                f"the request asked for usage (`stream_options.include_usage: true`), but no chunk carried `usage` "
                f"{ended}: the server ignored the option, or lost its upstream's usage (a gateway), and a client that "
                "counts tokens or cost from the stream has nothing to count")))
        usage_on_choices = self._usage_on_choices_at is not None and self._unreadable_at is None
        if usage_on_choices and self._usage_at is None:
            ended = ("before `[DONE]`" if self._done_at is not None else
                     "before the stream ended (without `[DONE]`: one may have been on its way)")
            last = (self.assembly.usage or {}).get("completion_tokens")
            added = self._usage_added["completion_tokens"]  # NOTE: no usage chunk came: the choice chunks' alone
            helper = "" if self._choices.helper_raised_at is not None else " (the openai Python SDK's stream helper)"
            several = (f"; several chunks carry it: a client that keeps the last gets {last} completion "
                       f"tokens{helper}, one that adds them up {added} (pydantic-ai)"
                       if type(last) is int and added != last else "")
            findings.append(USAGE_ON_CHOICE_CHUNK(self._usage_on_choices_at, (
                f"non-null `usage` on a chunk with choices, and no `choices: []` chunk carried usage {ended}: "
                "expected it on its own `choices: []` chunk after the finish; clients that read usage from that "
                f"chunk find none{several}{_SKIPPED_WITH_USAGE} (later chunks like this are not reported)")))
        elif not (usage_on_choices and self._usage_counted_again(findings)):
            self._choices.empty_with_usage(findings)
        carried = self._choices.count()  # NOTE: none at all is `finish-reason-missing`'s
        if self._done_at is not None and self._unreadable_at is None and 0 < carried < (
                asked := _asks_for_choices(self.request_body)):
            findings.append(CHOICES_MISSING(self._done_at, (
                f"the request asked for `n: {asked}` choices, but the stream carried {carried}: the server ignored "
                f"`n` (or merged the choices into one), and a client that reads `choices[{carried}]` of the answer "
                "gets an `IndexError`")))
        if (carried > 1 and self._unreadable_at is None  # NOTE: the body is read only then: it may be megabytes
                and request_object(self.request_body, lambda text: True) is not None
                and carried > (asked := _asks_for_choices(self.request_body))):
            what = f"`n: {asked}` choices" if asked > 1 else "one choice (no `n`)" if asked == 1 else f"`n: {asked}`"
            findings.append(CHOICES_UNREQUESTED(self._done_at if self._done_at is not None else end_index, (
                f"the request asked for {what}, but the stream carried {carried}: the openai Python SDK's stream "
                "helper returns them all, but a client written for what it asked reads `choices[0]` only, or joins "
                "every choice's deltas into one text (pydantic-ai 2.78 does; LangChain too, and it merges their tool "
                "calls by index, so one runs with arguments garbled or none and another is lost)")))
        if self._unreadable_at is None and asks_for_one_call(self.request_body):
            for choice, at, name in self._choices.second_calls():
                findings.append(CALLS_UNREQUESTED(at, (
                    f"choice `{choice}` opened a second tool call (`{name}`), but the request set "
                    "`parallel_tool_calls: false`: the openai Python SDK's stream helper returns every call, but a "
                    "client that asked for one call at a time reads the first only (LlamaIndex 0.14 keeps "
                    "`tool_calls[0]` of each chunk, and files interleaved fragments under calls with no id or name)")))
        self._choices.finish(end_index, findings, self._helper_took, self._done_at is not None,
                             broke=self.connection_broke is not None)
        return findings

    def finish_cut(self) -> list[Finding]:
        """End of a stream the server did not get to finish (the client left): the schema findings held for the end
        (`ChoiceTracker.hold_schema`) and the roles of the choices that finished are still true of what came."""
        findings: list[Finding] = []
        self._choices.missing_finish_keys(findings, said=())
        self._choices.judge_finished(findings)
        return findings

    def _after_end(self, index: int, kind: str, findings: list[Finding]) -> None:
        """After `[DONE]`, one break said once: the first payload that came anyway (a later `[DONE]` ends what came
        after it, and usage among it is the break's, not a usage the server failed to send)."""
        if self._done_at is not None:
            if kind == "done":
                if self._after_done_at is None and self._first_time(DONE_REPEATED.id):
                    findings.append(DONE_REPEATED(index, f"a second `[DONE]` (the first was event {self._done_at}); "
                                                         "expected exactly one, last"))
            elif self._after_done_at is None:
                self._after_done_at = index
                findings.append(EVENT_AFTER_DONE(index, f"a payload after `[DONE]` (event {self._done_at}): the "
                                                        "openai Python SDK stops reading at `[DONE]`, so this and "
                                                        "every later event is lost to the client"))
        elif kind != "done" and self._first_time(CHUNK_AFTER_ERROR.id):
            findings.append(CHUNK_AFTER_ERROR(index, f"a payload after the in-band error at event {self._error_at}: "
                                                     "the openai Python SDK raised there, so the client never sees it"))

    def _on_done(self, index: int, payload: Any, findings: list[Finding]) -> None:
        if self._done_at is None:
            self._done_at = index
            self.assembly.ended = True

    def _on_unreadable(self, index: int, payload: Any, findings: list[Finding]) -> None:
        """A chunk of unknown content (reported by the common layer): any choice may have got anything in it."""
        self._unreadable_at = index
        self._choices.unknown(index)
        self._usage_dropped_at = None  # it may have carried usage

    def _on_not_object(self, index: int, payload: Any, findings: list[Finding]) -> None:
        kind = JSON_TYPE_NAMES.get(type(payload), type(payload).__name__)
        gone = self._choices.helper_gone(index)
        helper = (f" ({gone})" if gone else
                  ", and its `chat.completions.stream()` helper raises `AttributeError` at this event")
        self._choices.helper_raises(index, f"`AttributeError` at event {{at}}, on {kind} where a chunk belongs "
                                           "(`chat/schema`)")
        findings.append(SCHEMA(index, f"expected a JSON object (a chunk or an error), got {kind}: the openai Python "
                                      "SDK hands it on as a chunk, so client code reading `chunk.choices` breaks"
                                      f"{helper}"))

    def _on_error(self, index: int, payload: dict[str, Any], findings: list[Finding]) -> None:
        if self._error_at is None:
            self._error_at = index
            self.assembly.ended = True  # an in-band error ends the stream (docs/protocols.md §D.10)
        error = payload["error"]
        message = error.get("message") if isinstance(error, dict) else error
        if not isinstance(message, str) or not message:
            message = SDK_DEFAULT_ERROR
        if self.assembly.error is None:
            self.assembly.error = message
        for _, problem in schema_problems("error", payload):
            findings.append(SCHEMA(index, f"error payload: {problem}"))
        kind = (error.get("type") or error.get("code")) if isinstance(error, dict) else None
        label = f" `{kind}`" if isinstance(kind, str) else ""
        findings.append(ERROR_EVENT(index, f"in-band error{label}: `{message}`; the openai Python SDK raises "
                                           "`APIError` on this payload, so the client gets an exception instead of the "
                                           "rest of the answer"))

    # -- chunks ----------------------------------------------------------------------------------------------

    def _on_chunk(self, index: int, payload: dict[str, Any], findings: list[Finding]) -> None:
        first = self._chunks == 0
        self._chunks += 1
        if first and _is_prompt_filter_frame(payload):
            self._on_prompt_filter_frame(index, payload, findings)
            return
        held = self._hold_missing_finish_keys(index, payload)
        problems = schema_problems("chunk", payload)
        found = [(path, problem) for path, problem in problems
                 if path not in held and self._first_time(SCHEMA.id, path)]
        # NOTE: each cause of a raise breaks the schema, so a chunk that fits it needs no look
        raises = _helper_exception(payload, self._choices.has_tool_calls) if problems else None
        if found:
            said = [problem for _, problem in found]
            gone = self._choices.helper_gone(index)
            helper = (f", and {SKIPPED_BY_HELPER}" if any(path == "object" for path, _ in found)
                      else f" ({gone})" if raises and gone
                      else f", and its stream helper raises `{raises[0]}` on a tool call without an `index`; a "
                      "client reading the chunks can tell such calls apart only by `id` (one that reads a missing "
                      "index as 0 joins them all into one call)" if raises and raises[1] == NO_INDEX
                      else f", and its `chat.completions.stream()` helper raises `{raises[0]}` at this event"
                      if raises else "")
            if held:
                self._choices.hold_schema(index, said, helper)  # said at the end with the missing key, once
            else:
                findings.append(SCHEMA(index, chunk_schema_message(said, helper)))
        if raises is not None:
            self._choices.helper_raises(index, f"`{raises[0]}` at event {{at}}, {raises[1]} (`chat/schema`)")
        kind = payload.get("object")
        if kind == CHUNK_OBJECT:
            self._helper_took = True
        elif isinstance(kind, str):
            findings.append(OBJECT_INVALID(index, f"expected `object` to be `{CHUNK_OBJECT}`, got `{kind}`: "
                                                  f"{SKIPPED_BY_HELPER}, as do other clients that check the type"))
        self._check_identity(index, payload, findings)
        choices = payload.get("choices")
        has_choices = type(choices) is list and bool(choices)
        self._check_usage(index, payload.get("usage"), has_choices, findings, moderation="moderation" in payload)
        if has_choices:
            with_usage = type(payload.get("usage")) is dict
            for choice in choices:  # type: ignore[union-attr]
                if type(choice) is dict and type(choice.get("index")) is int:
                    self._choices.feed(index, choice, findings, with_usage)
                else:
                    self._choices.unknown(index)  # reported by the schema: which choice it carried is unknown
        elif choices is not None and type(choices) is not list:
            self._choices.unknown(index)

    def _hold_missing_finish_keys(self, index: int, payload: dict[str, Any]) -> set[str]:
        """The paths of choices (of an integer `index`) whose `finish_reason` key is missing: handed to the choice
        tracker, which says it at the end, once it knows whether the choice ever finished (a server that omits the
        key on its last chunk, as openai-gemini and Snowflake do, broke one thing: `chat/finish-reason-missing`)."""
        choices = payload.get("choices")
        held: set[str] = set()
        if type(choices) is list:
            for position, choice in enumerate(choices):
                if type(choice) is dict and type(choice.get("index")) is int and "finish_reason" not in choice:
                    path = f"choices[{position}].finish_reason"
                    self._choices.finish_key_missing(index, choice["index"], path)
                    held.add(path)
        return held

    def _on_prompt_filter_frame(self, index: int, payload: dict[str, Any], findings: list[Finding]) -> None:
        for path, problem in schema_problems("prompt-filter", payload):
            if path != "prompt_filter_results" or "prompt_filter_results" in payload:  # NOTE: its absence is said below
                findings.append(SCHEMA(index, f"prompt-filter frame: {problem}"))
        identity = ", ".join(f"`{key}: {json.dumps(payload.get(key))}`" for key in ("object", *IDENTITY_FIELDS))
        which = ("Azure's prompt-filter frame" if "prompt_filter_results" in payload else
                 "a frame like Azure's prompt-filter frame without its `prompt_filter_results`, which carries nothing")
        findings.append(PROMPT_FILTER_FRAME(index, f"the first frame is {which} (`choices: []`, {identity}) rather "
                                                   f"than a `{CHUNK_OBJECT}`: its identity is not checked, and the "
                                                   "openai Python SDK's stream helper skips it; clients that take the "
                                                   "id or model from the first chunk get these"))

    def _check_identity(self, index: int, payload: dict[str, Any], findings: list[Finding]) -> None:
        identity = (payload.get("id"), payload.get("created"), payload.get("model"))
        if self._identity is None:
            self._identity, self._identity_events = identity, (index,) * len(identity)
            response_id, model = identity[0], identity[2]
            self.assembly.response_id = response_id if isinstance(response_id, str) and response_id else None
            self.assembly.model = model if isinstance(model, str) and model else None
            return
        if identity == self._identity:
            return
        # a chunk without a field is `chat/schema`'s to say (FastChat sends `created` on its last chunk only): the
        # first chunk that has it sets it, and a chunk without it changes nothing
        filled = [(now, index) if first is None else (first, at)
                  for first, at, now in zip(self._identity, self._identity_events, identity, strict=True)]
        self._identity, self._identity_events = tuple(value for value, _ in filled), tuple(at for _, at in filled)
        for name, first, at, now in zip(IDENTITY_FIELDS, self._identity, self._identity_events, identity, strict=True):
            # NOTE: a changed `created` is a timestamp drift some servers have (Groq, xAI): nothing is lost by it
            changed = CREATED_CHANGED if name == "created" else IDENTITY_CHANGED
            if now is not None and first != now and self._first_time(changed.id, name):
                findings.append(changed(index, f"`{name}` changed from `{first}` (event {at}) "
                                               f"to `{now}`: every chunk of a stream must repeat it, and clients key "
                                               "the answer on the first chunk's (later changes to it are not "
                                               "reported)"))

    def _check_usage(self, index: int, usage: Any, has_choices: bool, findings: list[Finding], *,
                     moderation: bool) -> None:
        """`moderation`: the chunk carries OpenAI's `moderation`, which comes after the usage chunk (observed): the
        stream helper then ends with no usage, OpenAI's own way, not the server's fault to report."""
        if has_choices and self._usage_at is not None and self._first_time(USAGE_EARLY.id):
            helper = ("" if self._choices.helper_gone(index) else
                      ", and the openai Python SDK's stream helper, which keeps the last chunk's usage, loses the "
                      "usage unless this chunk or a later one carries it again")
            findings.append(USAGE_EARLY(index, f"a choice chunk after the usage chunk (event {self._usage_at}): "
                                               "expected usage after every finish chunk; clients that stop "
                                               f"reading at the usage chunk lose this one{helper}"))
        if type(usage) is not dict:
            if self._usage_last_at is not None and self._usage_dropped_at is None and not moderation:
                self._usage_dropped_at = index
            return
        repeated = not has_choices and self._usage_at is not None  # `chat/usage-repeated`'s, said there
        if self._usage_last_at is not None and not repeated:
            self._check_usage_decrease(index, self.assembly.usage, usage, findings)
        self._usage_last_at, self._usage_dropped_at = index, None
        self.assembly.usage = usage
        self._check_usage_total(index, usage, findings)
        self._check_cached_tokens(index, usage, findings)
        for key, added in self._usage_added.items():
            if type(value := usage.get(key)) is int:
                self._usage_added[key] = added + value
        if has_choices:
            if self._usage_on_choices_at is None:
                self._usage_on_choices_at = index
            return
        if self._usage_at is not None:
            findings.append(USAGE_REPEATED(index, f"a second usage chunk (the first was event {self._usage_at}): "
                                                  "expected exactly one; clients that add them up count tokens "
                                                  "twice"))
        else:
            self._usage_at = index

    def _usage_counted_again(self, findings: list[Finding]) -> bool:
        """Usage on chunks with choices and on the usage chunk too (gemini-balance sends both): a client that keeps
        the last has it right, one that adds up every chunk's (LangChain) counts it again; whether that was said."""
        last = self.assembly.usage or {}
        wrong = [(key.partition("_")[0], added, last[key]) for key, added in self._usage_added.items()
                 if type(last.get(key)) is int and added != last[key]]
        if not wrong:
            return False
        counts = listed([f"{added} {name}" for name, added, _ in wrong])
        said = listed([f"{stream} {name}" for name, _, stream in wrong])
        findings.append(USAGE_ON_CHOICE_CHUNK(self._usage_on_choices_at, (
            f"non-null `usage` on a chunk with choices, and again on the `choices: []` usage chunk (event "
            f"{self._usage_at}): expected it on that chunk only; a client that keeps the last chunk's, as the openai "
            "Python SDK's stream helper does, or reads the usage chunk gets it right, but one that adds up every "
            f"chunk's `usage` (LangChain) counts {counts} tokens where the stream says {said}{_SKIPPED_WITH_USAGE} "
            "(later chunks like this are not reported)")))
        return True

    def _check_usage_decrease(self, index: int, before: Any, usage: dict[str, Any], findings: list[Finding]) -> None:
        """Token counts never fall within a stream: a server that sends usage on several chunks (AIClient-2-API, from
        Anthropic's events) and sends a smaller count last hands the stream helper, which keeps the last, that one."""
        if type(before) is not dict:
            return
        for key in ("prompt_tokens", "completion_tokens", "total_tokens"):
            old, new = before.get(key), usage.get(key)
            if type(old) is int and type(new) is int and new < old and self._first_time(USAGE_DECREASED.id):
                helper = ("" if self._choices.helper_gone(index) else
                          "; the openai Python SDK's stream helper keeps the last chunk's `usage` as its completion's")
                findings.append(USAGE_DECREASED(index, f"`usage.{key}` went from {old} (event "
                                                       f"{self._usage_last_at}) to {new}: the counts only grow within "
                                                       f"a stream, so one of the two is wrong{helper} (reported "
                                                       "once)"))
                return

    def _check_usage_total(self, index: int, usage: dict[str, Any], findings: list[Finding]) -> None:
        prompt, completion, total = (usage.get(key) for key in ("prompt_tokens", "completion_tokens", "total_tokens"))
        if not all(type(value) is int for value in (prompt, completion, total)):
            return  # the schema rule names the bad field
        if min(prompt, completion, total) < 0:  # NOTE: placeholders, not counts: their sum is no finding of its own
            if self._first_time(USAGE_NEGATIVE.id):
                findings.append(USAGE_NEGATIVE(index, f"`usage` holds a negative count (`prompt_tokens` {prompt}, "
                                                      f"`completion_tokens` {completion}, `total_tokens` {total}): "
                                                      "placeholders, not counts, and billing and budgets built on "
                                                      "usage get nonsense (reported once)"))
            return
        if total != prompt + completion and self._first_time(USAGE_TOTAL_MISMATCH.id):
            details = usage.get("completion_tokens_details")
            reasoning = details.get("reasoning_tokens") if type(details) is dict else None
            outside = (f" (the total adds `reasoning_tokens` {reasoning}, which OpenAI counts inside "
                       "`completion_tokens`)"
                       if type(reasoning) is int and reasoning and total == prompt + completion + reasoning else "")
            findings.append(USAGE_TOTAL_MISMATCH(index, f"`total_tokens` is `{total}`, expected `prompt_tokens + "
                                                        f"completion_tokens` = {prompt} + {completion} = "
                                                        f"{prompt + completion}{outside}: billing and budgets built "
                                                        "on usage disagree (reported once)"))

    def _check_cached_tokens(self, index: int, usage: dict[str, Any], findings: list[Finding]) -> None:
        """Cached tokens are a part of the prompt's (OpenAI's `CompletionUsage`). A gateway that copies Anthropic's
        `input_tokens`, which leave the cache reads out, into `prompt_tokens` makes the part larger than the whole."""
        prompt, details = usage.get("prompt_tokens"), usage.get("prompt_tokens_details")
        cached = details.get("cached_tokens") if type(details) is dict else None
        if (type(prompt) is int and type(cached) is int and cached > prompt
                and self._first_time(USAGE_CACHED_EXCEEDS_PROMPT.id)):
            findings.append(USAGE_CACHED_EXCEEDS_PROMPT(index, (
                f"`prompt_tokens_details.cached_tokens` is `{cached}`, more than `prompt_tokens` `{prompt}`, which "
                "counts them: a client that prices the uncached prompt as `prompt_tokens - cached_tokens` gets "
                f"{prompt - cached} (reported once)")))


def _asks_for_usage(body: Any) -> bool:
    """Whether a request body asked for a usage chunk (`stream_options.include_usage`)."""
    request = request_object(body, lambda text: '"include_usage"' in text)
    options = request.get("stream_options") if request is not None else None
    return isinstance(options, dict) and options.get("include_usage") is True


def _asks_for_choices(body: Any) -> int:
    """How many choices a request body asked for (`n`; 1 when it says nothing)."""
    request = request_object(body, lambda text: '"n"' in text)
    asked = request.get("n") if request is not None else None
    return asked if type(asked) is int else 1


NO_INDEX = "on a tool call without `index`"
"""Where the stream helper raises on a tool-call fragment without `index` (`_helper_exception`)."""


def _helper_exception(payload: dict[str, Any], has_calls: Callable[[int], bool]) -> tuple[str, str] | None:
    """What the openai SDK's stream helper raises on a chunk it takes, and on what (tried, openai 2.54): it iterates
    `choices`, calls each one's `delta.to_dict()` and files its tool calls by `index` (joining the roles before
    them): `TypeError` on a call without one, but `RuntimeError` on one without the key where its message already
    holds calls (`has_calls`, by choice index). None where it reads the chunk, or skips it (another `object`)."""
    if payload.get("object") != CHUNK_OBJECT:
        return None
    choices = payload.get("choices")
    if choices is None or type(choices) in (int, float, bool):
        return "TypeError", "on `choices` it cannot iterate"
    for choice in choices if type(choices) is list else ():
        delta = choice.get("delta") if type(choice) is dict else {}
        if type(delta) is not dict:
            return "AttributeError", "on a choice whose `delta` is not an object"
        calls = delta.get("tool_calls")
        for call in calls if type(calls) is list else ():
            if type(call) is dict and call.get("index") is None:
                later = "index" not in call and type(choice.get("index")) is int and has_calls(choice["index"])
                return ("RuntimeError" if later else "TypeError"), NO_INDEX
    return None
