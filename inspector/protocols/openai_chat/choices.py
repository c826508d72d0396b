"""OpenAI Chat Completions, one choice at a time: role, text, refusal, tool calls, finish_reason.

docs/protocols.md B.3 rules 3-6 and 8, checklist D "Chat Completions" 3-8. `ChoiceTracker` keeps one small state per
choice index and per tool call (never the events), fills the choice's `Output` in the Assembly, and reports
what breaks the rules. The envelope of the stream (framing, identity, usage, errors, `[DONE]`) is
`openai_chat.Checker`'s job; it hands every well-formed choice object here.

This module holds both the per-choice checks and the assembly the viewer uses (each choice's `Output`).
"""

from __future__ import annotations

import json
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any, get_args

import pydantic_core

from ...findings import Finding
from ..base import ARGUMENTS_HARM, Assembly, FirstTime, Fragments, Output, ToolCall, arguments_problem, listed
from ..schema import excerpt
from .models import Role, chunk_schema_message
from .rules import (
    CHOICE_AFTER_FINISH,
    CHOICE_INDEX_GAP,
    CONTENT_AND_REFUSAL,
    DELTA_LIST_INDEX,
    EMPTY_AFTER_FINISH,
    FINISH_MISMATCH,
    FINISH_MISSING,
    FINISH_REPEATED,
    LOGPROBS_MISMATCH,
    NAME_REPEATED,
    ROLE_LATE,
    ROLE_MISSING,
    ROLE_REPEATED,
    ROLE_UNEXPECTED,
    SCHEMA,
    TOOL_ARGUMENTS_JSON,
    TOOL_CHANGED,
    TOOL_CUT_AT_LENGTH,
    TOOL_INDEX_GAP,
    TOOL_REPEATED,
    TOOL_START_INCOMPLETE,
)

OTHER_ROLES = frozenset(get_args(Role)) - {"assistant"}
"""Roles the enum allows but a completion should not open with (values outside the enum are schema errors)."""
REASONING_FIELDS = ("reasoning_content", "reasoning")
"""Vendor reasoning deltas: DeepSeek sends `reasoning_content`, Groq and OpenRouter `reasoning`, Braintrust's proxy
`reasoning` as an object whose `content` is the text (and `id` the signature, or a new id every chunk)."""
TOOL_CALLS_EXPECTED_BY_FINISH = {"tool_calls": True, "stop": False}
"""finish_reason -> whether tool calls must (True) or must not (False) have been streamed; others say nothing."""
ARGUMENTS_CUT_BY = "length"
"""The finish_reason that cuts tool arguments short on purpose: they are not judged then."""
_NOT_TEXT = ("role", "refusal", *REASONING_FIELDS, "tool_calls", "function_call")
"""Delta fields that take a chunk off the fast path when present (`steady_text`)."""
_UNSEEN: Any = object()
TYPED_DELTA_FIELDS = frozenset({"role", "content", "refusal", "tool_calls", "function_call"})
"""The `delta` fields the schema types (`chat/schema` speaks for them). The Python SDK's stream helper merges the others
into the message too (`_check_untyped_fields`)."""

class StreamedToolCall(ToolCall):
    """A `ToolCall` whose `arguments` are kept as the list of streamed fragments, joined when read.

    Appending per delta is O(1) (`s += fragment` would recopy the growing string each time); readers of the
    Assembly, live or at the end, still see `arguments` as one exact string.
    """

    __slots__ = ("_parts", "sdk_type", "sent_arguments", "odd_arguments", "ids_changed")

    def __init__(self, id: str | None, name: str | None, kind: str = "function", sdk_type: Any = None) -> None:
        self._parts = Fragments([])
        self.sdk_type = sdk_type
        """The `type` the SDK's stream helper holds for the call: the last one a fragment gave (None: none yet)."""
        self.sent_arguments = False
        """A fragment carried `arguments` as a string, if an empty one (gemini-cli-openai sends none at all)."""
        self.odd_arguments = False
        """A fragment carried `arguments` as another JSON value (an object): `chat/schema` says so."""
        self.ids_changed = False
        """A later fragment under the call's `index` carried another `id`: a client that starts a new call at each
        new `id` holds several calls where one that files by `index` holds this one."""
        super().__init__(id, name, "", kind)

    @property  # type: ignore[override]
    def arguments(self) -> str:
        return self._parts.text()

    @arguments.setter
    def arguments(self, value: str) -> None:
        self._parts = Fragments([value] if value else [])

    def append(self, fragment: str) -> None:
        self._parts.append(fragment)


@dataclass(slots=True)
class _ChoiceState:
    """What the rules need to know about one choice index."""

    output: Output
    opened_at: int
    finished_at: int | None = None
    arguments_at: dict[int, int] | None = None
    """Set at the finish whose tool-call arguments are to be judged (not a `length` cut, no unreadable fragment):
    each call's arguments length then, by key. Judged once the stream has ended, with what came after the finish
    too (`judge_finished`)."""
    role_at: int | None = None
    """Event of the first non-empty `delta.role`."""
    role: Any = None
    """That role's value."""
    restarted_from: frozenset[int] = frozenset()
    """The tool calls the choice had when its role came again after its answer had begun (a restart: a server or
    gateway that retried its upstream mid-stream sends the answer again from its first chunk): their fragments sent
    again are the restart's, said by `chat/role-repeated`, not repeats of their own."""
    unknown_at: int | None = None
    """An unreadable chunk that may have belonged to this choice (its role, a tool-call fragment, its finish)."""
    gap: bool = False
    """It opened past the next new index (`CHOICE_INDEX_GAP`, the break said there): its role is not judged too."""
    misfiled: bool = False
    """A tool call opened at another index than the next new one: the Python SDK's stream helper files fragments by list
    position, so its calls' arguments are not the ones streamed per index."""
    content_at: int | None = None
    """Event of the first non-empty `delta.content`."""
    refusal_at: int | None = None
    """Event of the first non-empty `delta.refusal`."""
    tools: dict[int, StreamedToolCall] = field(default_factory=dict)
    """Tool-call index -> the call being assembled (a call without `index`: the next free one, `_on_unindexed`)."""
    unindexed: dict[str | None, int] = field(default_factory=dict)
    """The calls streamed without `index`: their `id` (None: a first fragment without one) -> their key in `tools`."""
    last_unindexed: int | None = None
    """The key in `tools` of the call the last fragment without `index` went to."""
    second_call_at: int | None = None
    """Event where a second tool call opened (a request with `parallel_tool_calls: false` asked for one at most)."""
    unindexed_where: dict[int, str] = field(default_factory=dict)
    """How findings name each call without `index` (by its `id`), by its key in `tools`."""
    function_call: StreamedToolCall | None = None
    """The deprecated single `delta.function_call`, assembled like a tool call."""
    untyped: dict[str, Any] = field(default_factory=dict)
    """Each untyped delta field the SDK's stream helper has merged: True while it is a list of scalars (extended),
    False once a list holding an object (merged entry by entry by `index`), for an object the same of each of its
    fields (merged into it), None for anything else (never checked)."""
    text: Fragments = field(init=False)
    refusal: Fragments = field(init=False)
    reasoning: Fragments = field(init=False)
    """The output's growing texts, appended per delta (memory follows the text, not the event count)."""

    def __post_init__(self) -> None:
        self.text = Fragments(self.output.text_parts)
        self.refusal = Fragments(self.output.refusal_parts)
        self.reasoning = Fragments(self.output.reasoning_parts)



class ChoiceTracker:
    """Every choice of one stream: `feed` each choice object of each chunk, `finish` at the end."""

    def __init__(self, assembly: Assembly, first_time: FirstTime) -> None:
        self.assembly = assembly
        self._first_time = first_time
        """The checker's once-per-culprit guard, shared so a fault is reported once per stream."""
        self._empty_with_usage: dict[int, tuple[int, int | None, bool]] = {}
        """Choice index -> (event, its finish, whether it repeated the role) of the first empty chunk with `usage`
        after the choice's finish."""
        self._repeats: dict[tuple[str, str], int] = {}
        """(call, field) -> how many later fragments repeated the field's first value (`_repeated_or_changed`)."""
        self._restart_repeats: set[tuple[str, str]] = set()
        """(call, field) whose first repeat after a restart was the restart's (`_ChoiceState.restarted_from`)."""
        self._choices: dict[int, _ChoiceState] = {}
        self.helper_raised_at: int | None = None
        """The first chunk the openai SDK's stream helper raises on, so no later finding says what it makes of later
        chunks: a tool-call fragment without `index` (or a null one: `TypeError`, `chat/schema` says it), or a call
        opened past the next index (`IndexError`, `chat/tool-call-index-gap`)."""
        self._helper_raised_why = ""
        """What it raised there, and on what."""
        self._chunk_fragments: list[Any] = []
        """The `delta.tool_calls` of the chunk at hand (a gap filled in the same chunk raises nothing)."""
        self._finish_keys_missing: dict[int, tuple[int, str]] = {}
        """Choice index -> (the first event, its schema path) of a chunk of it without the `finish_reason` key."""
        self._held_schema: dict[int, tuple[list[str], str]] = {}
        """Event -> (its other schema problems, the helper's part of the message), for `hold_schema`."""
        self._unknown_at: int | None = None
        """The last unreadable chunk: choices opened since may have opened in it."""
        self._untouched: dict[int, _ChoiceState] = {}
        """The unfinished choices no unreadable chunk may have touched: the ones the next one marks (a scan of every
        choice at each unreadable chunk was quadratic on a hostile stream)."""

    def unknown(self, index: int) -> None:
        """An unreadable chunk: it may have opened a choice, or carried anything for any open one. Claims it could
        make false (a role or tool-call start missing, an index gap, arguments or a finish missing) are dropped."""
        self._unknown_at = index
        for state in self._untouched.values():
            state.unknown_at = index
        self._untouched.clear()

    def finish_key_missing(self, index: int, choice_index: int, path: str) -> None:
        """A chunk for this choice has no `finish_reason` key (the schema requires it, null until the finish): said
        at the end (`missing_finish_keys`), or by `chat/finish-reason-missing` when the choice never finished."""
        self._finish_keys_missing.setdefault(choice_index, (index, path))

    def hold_schema(self, index: int, problems: list[str], helper: str) -> None:
        """The other schema problems of a chunk whose `finish_reason` key is missing: said with it at the end, in
        one finding (ccproxy-api's first chunk lacks `object` too)."""
        self._held_schema[index] = (problems, helper)

    def missing_finish_keys(self, findings: list[Finding], said: Collection[int]) -> None:
        """The `chat/schema` finding of each choice's first chunk without the `finish_reason` key, with that chunk's
        other problems, but for the choices in `said`, whose `chat/finish-reason-missing` says it."""
        keys: dict[int, list[str]] = {}
        for choice_index, (index, path) in sorted(self._finish_keys_missing.items()):
            if choice_index not in said and self._first_time(SCHEMA.id, path):
                keys.setdefault(index, []).append(f"`{path}` is required but missing")
        for index in sorted(keys.keys() | self._held_schema.keys()):
            problems, helper = self._held_schema.get(index, ([], ""))
            problems = [*problems, *keys.get(index, ())]
            findings.append(SCHEMA(index, chunk_schema_message(problems, helper)))
        self._held_schema.clear()

    def count(self) -> int:
        """How many choices appeared."""
        return len(self._choices)

    def all_finished(self) -> bool:
        """Every choice that appeared got its `finish_reason` (and one did appear)."""
        return bool(self._choices) and all(state.finished_at is not None for state in self._choices.values())

    def helper_on_no_choice(self, end_index: int | None, helper_took: bool) -> str:
        """What the openai SDK's stream helper did with a stream that streamed no choice: raised earlier (a chunk it
        cannot read), or ends with no choices (`helper_took`: a chunk reached it), or with none at all."""
        gone = self.helper_gone(end_index) if end_index is not None else None
        return gone or "the openai Python SDK's `chat.completions.stream()` helper: " + (
            "its final completion has no choices" if helper_took else
            "it got no chunk, and its `get_final_completion()` raises `AssertionError`")

    def finish(self, end_index: int | None, findings: list[Finding], helper_took: bool, done: bool, *,
               broke: bool = False) -> None:
        """Every choice that appeared must have finished (one that never appeared was reported as a gap when a
        later one opened: `CHOICE_INDEX_GAP`), and the tool calls of one that did not are judged here, as no finish
        judged them. `helper_took`: a chunk reached the Python SDK's stream helper; `done`: `[DONE]` came; `broke`: the
        server broke the connection (the client's HTTP library raised)."""
        if not self._choices:
            if self._unknown_at is not None or not done:
                return  # the unreadable chunk may have been the answer; a stream without `[DONE]`: its end's finding
            findings.append(FINISH_MISSING(end_index, "no choice was streamed at all: expected at least choice `0` "
                                                      "to stream and finish, so the client got no answer "
                                                      f"({self.helper_on_no_choice(end_index, helper_took)})"))
            self.missing_finish_keys(findings, said=())
            return
        # NOTE: a choice that never finished lacked the key as it lacked the finish: one omission, said by
        # `chat/finish-reason-missing` (or left unsaid where an unreadable chunk may have been the finish)
        said = {choice_index for choice_index, state in self._choices.items()
                if state.finished_at is None and (done or state.unknown_at is not None)}
        self.judge_finished(findings)
        for choice_index in self.unfinished():  # NOTE: a choice that never appeared was a gap, said where it was
            state = self._choices[choice_index]
            # NOTE: a broken stream's unfinished choices are the break's, named by `chat/done-missing`: the app got
            # no message, with or without a role (MLflow's gateway breaks converted streams before any role);
            # a body that ended without `[DONE]` gave it one with no role (Guardrails' server never sends it)
            if done or not broke:
                self._report_role_missing(choice_index, state, findings)
            if done:
                keyless = self._finish_keys_missing.get(choice_index)
                how = (f"the server omits it (its first chunk without a `finish_reason` key, not even `null`, was "
                       f"event {keyless[0]})" if keyless else
                       "the answer was truncated or the server omits it")
                findings.append(FINISH_MISSING(end_index, f"choice `{choice_index}` never got a `finish_reason`: "
                                                          f"{how}, and a client cannot tell `stop` from `length` or "
                                                          "`tool_calls`"))
            for tool_index, call in state.tools.items():
                where = state.unindexed_where.get(tool_index, f"choice `{choice_index}` tool call `{tool_index}`")
                self._check_unfinished_arguments(end_index, where, call, done,
                                                 not (state.gap or state.misfiled or self.helper_raised_at is not None),
                                                 findings)
        self.missing_finish_keys(findings, said)

    def unfinished(self) -> list[int]:
        """The choices that appeared and never got a `finish_reason` (but where an unreadable chunk may have been
        it)."""
        return [index for index, state in sorted(self._choices.items())
                if state.finished_at is None and state.unknown_at is None]

    def last_call(self, choice_index: int) -> str | None:
        """The choice's last tool call, the one arguments were last streamed into, named for a cut's finding; None
        for a choice without one."""
        state = self._choices[choice_index]
        if not state.tools:
            return None
        key, call = next(reversed(state.tools.items()))
        label = call.id if key in state.unindexed_where and call.id else key
        return f"tool call `{label}`" + (f" (`{call.name}`)" if call.name else "")

    def steady_text(self, choice: dict[str, Any]) -> Fragments | None:
        """The text a choice object like this one appends to, when `feed` of one like it would only append text:
        the choice is open, has streamed text before, and the object carries nothing else (no role, refusal,
        reasoning, tool call, logprobs or finish). None otherwise. For the fast path (`Checker.shape`)."""
        index, delta = choice.get("index"), choice.get("delta")
        state = self._choices.get(index) if type(index) is int else None
        if (state is None or state.finished_at is not None or state.content_at is None or type(delta) is not dict
                or type(delta.get("content")) is not str or not delta["content"]
                or choice.get("finish_reason") is not None or choice.get("logprobs") is not None
                or any(delta.get(key) for key in _NOT_TEXT) or _merges_structure(delta)):
            return None
        return state.text

    def steady_arguments(self, choice: dict[str, Any]) -> tuple[str, StreamedToolCall] | None:
        """The arguments a choice object like this one carries, and the open tool call they append to, when `feed`
        of one like it would only append them: the choice is open and the object carries nothing but one fragment
        of `index` and `function.arguments` for a call already open. None otherwise (`Checker.shape`)."""
        index, delta = choice.get("index"), choice.get("delta")
        state = self._choices.get(index) if type(index) is int else None
        if (state is None or state.finished_at is not None or type(delta) is not dict or delta.get("content")
                or choice.get("finish_reason") is not None or choice.get("logprobs") is not None
                or any(delta.get(key) for key in _NOT_TEXT if key != "tool_calls") or _merges_structure(delta)):
            return None
        fragments = delta.get("tool_calls")
        fragment = fragments[0] if type(fragments) is list and len(fragments) == 1 else None
        function = fragment.get("function") if type(fragment) is dict and fragment.keys() == {"index", "function"} \
            else None
        if type(function) is not dict or function.keys() != {"arguments"} or type(function["arguments"]) is not str \
                or not function["arguments"]:
            return None
        call = state.tools.get(fragment["index"]) if type(fragment["index"]) is int else None  # type: ignore[index]
        return None if call is None else (function["arguments"], call)

    # -- one choice ------------------------------------------------------------------------------------------

    def feed(self, index: int, choice: dict[str, Any], findings: list[Finding], with_usage: bool = False) -> None:
        """One element of `choices[]` whose `index` is an int (the schema rule reports the rest); `with_usage`:
        its chunk carries `usage` (then `chat/usage-on-choice-chunk` speaks for an empty choice after its finish)."""
        choice_index: int = choice["index"]
        delta = choice.get("delta")
        if type(delta) is not dict:
            delta = {}
        state = self._choices.get(choice_index)
        if state is None:
            state = self._open_choice(index, choice_index, delta, findings)
        else:
            if state.finished_at is not None:
                self._report_after_finish(index, choice_index, state, choice, delta, with_usage, findings)
            if delta.get("role"):
                self._later_role(index, choice_index, state, choice, delta, findings)
        if not delta.keys() <= TYPED_DELTA_FIELDS:
            self._check_untyped_fields(index, choice_index, state, delta, findings)
        content = delta.get("content")
        if type(content) is str and content:
            state.text.append(content)
            self.assembly.saw_content(index)
            if state.content_at is None:
                state.content_at = index
                self._check_content_and_refusal(index, choice_index, state, findings)
        refusal = delta.get("refusal")
        if type(refusal) is str and refusal:
            state.refusal.append(refusal)
            self.assembly.saw_content(index)
            if state.refusal_at is None:
                state.refusal_at = index
                self._check_content_and_refusal(index, choice_index, state, findings)
        for key in REASONING_FIELDS:
            reasoning = delta.get(key)
            if type(reasoning) is dict:
                reasoning = reasoning.get("content")
            if type(reasoning) is str and reasoning:
                state.reasoning.append(reasoning)
                self.assembly.saw_content(index)
        tool_calls = delta.get("tool_calls")
        if type(tool_calls) is list and tool_calls:
            self._chunk_fragments = tool_calls
            for fragment in tool_calls:
                if type(fragment) is not dict:
                    continue
                tool_index = fragment.get("index")
                function = fragment.get("function")
                if type(function) is not dict:
                    function = {}
                if tool_index is None:  # NOTE: Mistral and openai-gemini omit `index` (a schema error, where the
                    # stream helper raises: the checker's `_helper_exception`)
                    call = self._on_unindexed(index, choice_index, state, fragment, function, findings)
                elif type(tool_index) is int:
                    call = self._on_tool_fragment(index, choice_index, state, tool_index, fragment, function,
                                                  findings)
                else:
                    continue
                self.assembly.saw_content(index)
                arguments = function.get("arguments")
                if type(arguments) is str:
                    call.sent_arguments = True
                    if arguments:
                        call.append(arguments)
                elif arguments is not None:
                    call.odd_arguments = True
        function_call = delta.get("function_call")
        if type(function_call) is dict and function_call:
            self._on_function_call(index, choice_index, state, function_call, findings)
        logprobs = choice.get("logprobs")
        if type(logprobs) is dict:
            self._check_logprobs(index, choice_index, logprobs, content, refusal, findings)
        finish_reason = choice.get("finish_reason")
        if type(finish_reason) is str:
            self._on_finish(index, choice_index, state, finish_reason, findings)

    def _open_choice(self, index: int, choice_index: int, delta: dict[str, Any],
                     findings: list[Finding]) -> _ChoiceState:
        expected = len(self._choices)
        gap = choice_index > expected and self._unknown_at is None  # NOTE: a lower one fills a reported gap
        if gap:
            findings.append(CHOICE_INDEX_GAP(index, f"choice `{choice_index}` opened while the next new choice "
                                                    f"should be `{expected}`: the openai Python SDK's stream helper "
                                                    "stores choices by position and raises `IndexError` on it"))
        state = self._choices[choice_index] = _ChoiceState(self.assembly.output(choice_index), index,
                                                           unknown_at=self._unknown_at, gap=gap)
        if state.unknown_at is None:
            self._untouched[choice_index] = state
        role = delta.get("role")
        if role:
            state.role_at, state.role = index, role
            self._check_role(index, choice_index, role, findings)
        return state

    def _check_untyped_fields(self, index: int, choice_index: int, state: _ChoiceState, delta: dict[str, Any],
                              findings: list[Finding]) -> None:
        """The openai SDK's stream helper merges each delta field into the message (`accumulate_delta`): the first
        value is kept; a later list extends a list of scalars, but is merged into a list holding objects entry by
        entry, by each entry's `index`, and an entry that is not an object or lacks an integer `index` raises; a
        later object is merged into the first the same way, field by field (LLM-API-Key-Proxy's
        `provider_specific_fields` carry such lists)."""
        self._merge_untyped(index, choice_index, state.untyped,
                            {key: value for key, value in delta.items() if key not in TYPED_DELTA_FIELDS}, "", findings)

    def _merge_untyped(self, index: int, choice_index: int, merged: dict[str, Any], values: dict[str, Any],
                       prefix: str, findings: list[Finding]) -> None:
        """`values` merged into what the helper holds (`merged`, its shape), as `accumulate_delta` does."""
        for key, value in values.items():
            if value is None:
                continue
            seen = merged.get(key, _UNSEEN)
            if seen is _UNSEEN or key == "index" or key == "type":  # NOTE: a value held stays: `None` never is
                merged[key] = _merge_shape(value)
            elif type(seen) is dict and type(value) is dict:
                self._merge_untyped(index, choice_index, seen, value, f"{prefix}{key}.", findings)
            elif type(seen) is bool and type(value) is list:
                if seen:
                    merged[key] = _only_scalars(value)  # extended: scalars still, if these are
                    continue
                raises = next(filter(None, map(_merge_error, value)), None)
                if raises is not None and self._first_time(DELTA_LIST_INDEX.id, (choice_index, prefix + key)):
                    self.helper_raises(index, f"`{raises[0]}` at event {{at}}, merging `delta.{prefix}{key}` "
                                              "(`chat/delta-list-without-index`)")
                    findings.append(DELTA_LIST_INDEX(index, (
                        f"choice `{choice_index}` `delta.{prefix}{key}` comes again as a list, and an entry "
                        f"{raises[1]} (`{raises[0]}`): "
                        "the openai Python SDK's stream helper merges such a list into the message by each entry's "
                        "`index`, so `client.chat.completions.stream()` fails here (a reader of the raw chunks does "
                        "not) (reported once per field)")))

    def _check_role(self, index: int, choice_index: int, role: Any, findings: list[Finding]) -> None:
        if type(role) is str and role in OTHER_ROLES:
            findings.append(ROLE_UNEXPECTED(index, f"choice `{choice_index}` has role `{role}`, expected "
                                                   "`assistant`: a completion is the assistant's message"))

    def _later_role(self, index: int, choice_index: int, state: _ChoiceState, choice: dict[str, Any],
                    delta: dict[str, Any], findings: list[Finding]) -> None:
        """A role on a chunk after the choice's first. The openai Python SDK's stream helper keeps a field's first
        non-null value and concatenates later strings onto it: a role that comes once, late, ends up intact. A chunk
        shaped as a first one after the answer had begun (the role, no text nor finish, only first tool-call
        fragments) may be a restart: the message says what a client makes of one; a role on every chunk (some servers
        send one each time) is not."""
        role = delta["role"]
        if state.role_at is None:
            state.role_at, state.role = index, role
            self._check_role(index, choice_index, role, findings)
            if state.unknown_at is not None:
                return  # the unreadable chunk may have carried it first: late or repeated, nobody can tell
            findings.append(ROLE_LATE(index, f"choice `{choice_index}` got its role `{role}` at event {index}, not "
                                             f"on its first chunk (event {state.opened_at}): the openai Python SDK's "
                                             "stream helper takes it from here, but a client that takes the role from "
                                             "the first chunk finds none"))
        elif self._first_time(ROLE_REPEATED.id, choice_index):
            gone = self.helper_gone(index)
            sdk = (f"clients that join the roles get `{role}{role}` ({gone})" if gone else
                   "the openai Python SDK's stream helper concatenates the roles (e.g. `assistantassistant`)")
            begun = [at for at in (state.content_at, state.refusal_at) if at is not None]
            calls = delta.get("tool_calls")
            first_like = (not any(delta.get(key) for key in ("content", "refusal", "function_call"))
                          and (not calls or type(calls) is list and all(type(call) is dict and call.get("id")
                                                                        for call in calls)))
            if (state.tools or begun) and first_like and choice.get("finish_reason") is None:
                state.restarted_from = frozenset(state.tools)
                kept = [part for part, said in (("the first one's text in front of the second's", begun),
                                                ("a tool call sent again under its `index` gets its `id` and name "
                                                 "twice", state.tools)) if said]
                since = f" (event {min(begun)})" if begun else ""
                findings.append(ROLE_REPEATED(index, (
                    f"choice `{choice_index}` repeats `delta.role` (`{role}`) in a chunk shaped as a first one, "
                    f"after its answer had begun{since}: expected it once; {sdk}, and if the answer starts again "
                    "here (a server or gateway that retried its upstream mid-stream), a client that joins the deltas "
                    f"keeps both attempts: {listed(kept)} (reported once per choice)")))
                return
            findings.append(ROLE_REPEATED(index, f"choice `{choice_index}` repeats `delta.role` (`{role}`) after "
                                                 f"event {state.role_at}: expected it once; {sdk} (reported once "
                                                 "per choice)"))

    def judge_finished(self, findings: list[Finding]) -> None:
        """The roles and tool-call arguments of the choices that finished, judged once the stream has ended, as the
        SDK's final message holds them: uni-api 1.7.252 puts `finish_reason` on its first chunks, and sends the
        role and the rest of the arguments after it (the findings said the role missing and the arguments empty,
        where the helper's message has both; what came after the finish is `chat/choice-after-finish`'s)."""
        for choice_index, state in sorted(self._choices.items()):
            if state.finished_at is not None:
                self._report_role_missing(choice_index, state, findings)
                if state.arguments_at is not None:
                    self._check_all_arguments(state.finished_at, choice_index, state, findings)
                elif state.output.finish_reason == ARGUMENTS_CUT_BY and state.unknown_at is None:
                    self._report_cut_call(choice_index, state, findings)

    def _report_cut_call(self, choice_index: int, state: _ChoiceState, findings: list[Finding]) -> None:
        """A `length` finish inside a tool call: the stream is right (the server says it cut the answer), but the
        call is no call to run. The SDK's stream helper raises `LengthFinishReasonError` at the final completion
        (at the chunk for strict tools); LangChain repairs the arguments and LangGraph's agent ran the tool."""
        named = self.last_call(choice_index)
        if named is None or state.finished_at is None:
            return
        call = next(reversed(state.tools.values()))
        if arguments_problem(call.arguments) is None:
            return
        findings.append(TOOL_CUT_AT_LENGTH(state.finished_at, (
            f"choice `{choice_index}` finished with `length` (the token limit) inside {named}, whose "
            f"arguments `{_excerpt(call.arguments)}` are cut short: the call must not be run; the openai Python "
            "SDK's stream helper raises `LengthFinishReasonError` at `get_final_completion()` (at the chunk for "
            "strict tools or a response format), but a client that takes calls from the chunks runs it: LangChain "
            "repairs the arguments into a call that LangGraph's agent runs")))

    def _report_role_missing(self, choice_index: int, state: _ChoiceState, findings: list[Finding]) -> None:
        """Judged at the end of the stream: a role may come late (`chat/role-late`)."""
        if (state.role_at is None and state.unknown_at is None and not state.gap
                and self._first_time(ROLE_MISSING.id, choice_index)):
            findings.append(ROLE_MISSING(state.opened_at, f"choice `{choice_index}` never carried `delta.role` "
                                                          "(expected `\"role\": \"assistant\"` on its first "
                                                          "chunk): the openai Python SDK's assembled message has no "
                                                          "role, and sending it back into the conversation fails"))

    def _report_after_finish(self, index: int, choice_index: int, state: _ChoiceState, choice: dict[str, Any],
                             delta: dict[str, Any], with_usage: bool, findings: list[Finding]) -> None:
        """Data for a finished choice, also on a chunk that repeats the finish (`chat/finish-reason-repeated` says
        that): a client that closed the answer at the first finish loses it. The choice's own role again is no data
        for it: it is `chat/role-repeated`'s (hayhooks re-sends its upstream's usage chunk as a choice chunk with
        `role` and `content: ""`: the stream helper's text is the upstream's, a raw reader gets `""`)."""
        role = delta.get("role")
        repeats_role = bool(role) and role == state.role
        if _carries_nothing(choice, {**delta, "role": None} if repeats_role else delta):
            if choice.get("finish_reason") is not None:
                return
            if with_usage:  # `chat/usage-on-choice-chunk` may say it, at the end (`empty_with_usage`)
                self._empty_with_usage.setdefault(choice_index, (index, state.finished_at, repeats_role))
            elif self._first_time(EMPTY_AFTER_FINISH.id, choice_index):
                findings.append(self._empty_after_finish(index, choice_index, state.finished_at, "", repeats_role))
            return
        if not self._first_time(CHOICE_AFTER_FINISH.id, choice_index):
            return
        findings.append(CHOICE_AFTER_FINISH(index, f"a chunk for choice `{choice_index}`, which finished at event "
                                                   f"{state.finished_at}: expected nothing for a choice after its "
                                                   "`finish_reason`; clients that close the answer there lose "
                                                   "this (later ones are not reported)"))

    @staticmethod
    def _empty_after_finish(index: int, choice_index: int, finished_at: int | None, usage: str,
                            repeats_role: bool) -> Finding:
        what = ("nothing new in it (only its role again, which `chat/role-repeated` says; no text, no "
                f"`finish_reason`{usage})" if repeats_role else
                f"nothing in it (empty delta, no `finish_reason`{usage})")
        return EMPTY_AFTER_FINISH(index, f"a chunk for choice `{choice_index}`, which finished at event {finished_at}, "
                                         f"with {what}: it adds nothing {'else ' if repeats_role else ''}to the "
                                         "answer, but clients that close the choice at its finish do not expect it")

    def empty_with_usage(self, findings: list[Finding]) -> None:
        """The empty chunks for a finished choice that carried usage, when `chat/usage-on-choice-chunk` did not speak
        for them (the usage chunk came too): each is then what it is, an empty chunk after the finish."""
        for choice_index, (index, finished_at, repeats_role) in sorted(self._empty_with_usage.items()):
            if self._first_time(EMPTY_AFTER_FINISH.id, choice_index):
                findings.append(self._empty_after_finish(index, choice_index, finished_at,
                                                         "; only the chunk's `usage`", repeats_role))

    def _check_content_and_refusal(self, index: int, choice_index: int, state: _ChoiceState,
                                   findings: list[Finding]) -> None:
        if state.content_at is not None and state.refusal_at is not None:
            findings.append(CONTENT_AND_REFUSAL(index, f"choice `{choice_index}` streams both `content` (from "
                                                       f"event {state.content_at}) and `refusal` (from event "
                                                       f"{state.refusal_at}): a choice is expected to be one or "
                                                       "the other, and clients show only one"))

    def _check_logprobs(self, index: int, choice_index: int, logprobs: dict[str, Any], content: Any,
                        refusal: Any, findings: list[Finding]) -> None:
        for kind, tokens, text in (("content", logprobs.get("content"), content),
                                   ("refusal", logprobs.get("refusal"), refusal)):
            if tokens and type(text) is not str and self._first_time(LOGPROBS_MISMATCH.id, (choice_index, kind)):
                findings.append(LOGPROBS_MISMATCH(index, f"choice `{choice_index}` has `logprobs.{kind}` tokens "
                                                         f"but no `delta.{kind}`: the tokens belong to text the "
                                                         "client never receives (reported once per choice)"))

    def _on_finish(self, index: int, choice_index: int, state: _ChoiceState, finish_reason: str,
                   findings: list[Finding]) -> None:
        if state.finished_at is not None:
            if not self._first_time(FINISH_REPEATED.id, choice_index):
                return
            gone = self.helper_gone(index)
            keeps = (f"clients that take the last get `{finish_reason}`, raw readers the first ({gone})" if gone else
                     "the stream helper keeps the last, raw readers the first, and LangChain joins them "
                     f"(`{state.output.finish_reason}{finish_reason}`)")
            findings.append(FINISH_REPEATED(index, f"choice `{choice_index}` gets a second `finish_reason` "
                                                   f"(`{finish_reason}`) after `{state.output.finish_reason}` at "
                                                   f"event {state.finished_at}: expected exactly one; {keeps}"))
            return
        state.finished_at = index
        self._untouched.pop(choice_index, None)
        state.output.finish_reason = finish_reason
        if choice_index == 0:
            self.assembly.status = finish_reason
        expects_tools = TOOL_CALLS_EXPECTED_BY_FINISH.get(finish_reason)
        if expects_tools is True and not state.tools and state.unknown_at is None:
            findings.append(FINISH_MISMATCH(index, f"choice `{choice_index}` finished with `tool_calls` but "
                                                   "streamed no tool call: an agent loop waiting for calls finds "
                                                   "none"))
        elif expects_tools is False and state.tools:
            apart = " (told apart by `id`, having no `index`)" if state.unindexed else ""
            findings.append(FINISH_MISMATCH(index, f"choice `{choice_index}` streamed {len(state.tools)} tool "
                                                   f"call(s){apart} but finished with `{finish_reason}`, expected "
                                                   "`tool_calls`: clients that dispatch on `finish_reason` never "
                                                   "run them"))
        if finish_reason != ARGUMENTS_CUT_BY and state.unknown_at is None:  # NOTE: a fragment may be unreadable
            state.arguments_at = {key: len(call.arguments) for key, call in state.tools.items()}

    # -- tool calls ------------------------------------------------------------------------------------------

    def _on_tool_fragment(self, index: int, choice_index: int, state: _ChoiceState, tool_index: int,
                          fragment: dict[str, Any], function: dict[str, Any],
                          findings: list[Finding]) -> StreamedToolCall:
        """The call a fragment of `delta.tool_calls` with an integer `index`, `tool_index`, goes to."""
        call = state.tools.get(tool_index)
        if call is None:
            return self._open_tool_call(index, choice_index, state, tool_index, fragment, function, findings)
        self._check_tool_fragment(index, f"choice `{choice_index}` tool call `{tool_index}`", call, fragment,
                                  function, not (state.gap or state.misfiled), findings,
                                  restarted=tool_index in state.restarted_from)
        return call

    def _on_unindexed(self, index: int, choice_index: int, state: _ChoiceState, fragment: dict[str, Any],
                      function: dict[str, Any], findings: list[Finding]) -> StreamedToolCall:
        """A tool-call fragment without `index` (or a null one), which `chat/schema` reports. The openai SDK's stream
        helper raises `TypeError` on it; a client reading the chunks has only the `id` to file it by, and OpenAI
        sends a call's `id` on its first fragment only. So a fragment with an `id` not seen yet starts a new call,
        and one without continues the call the last such fragment went to. (Clients that read a missing index as 0
        join every call into one: that is the missing `index`, not a changed id or name. openai-gemini sends each
        Gemini function-call part as an entry of its own with a fresh id: read as one call, its `read_theme` and
        `read_screen` were said to be one call whose id and name change.)"""
        call_id = fragment.get("id")
        call_id = call_id if type(call_id) is str and call_id else None
        key = state.unindexed.get(call_id) if call_id is not None else state.last_unindexed
        if key is None:
            key = max(state.tools, default=-1) + 1
            where = (f"choice `{choice_index}` tool call `{call_id}` (no `index`)" if call_id is not None else
                     f"choice `{choice_index}` tool call {len(state.tools) + 1} (no `index` or `id`)")
            state.unindexed[call_id], state.unindexed_where[key] = key, where
            call = self._start_call(index, where, state, key, fragment, function, findings, choice_index)
        else:
            call = state.tools[key]
            self._check_tool_fragment(index, state.unindexed_where[key], call, fragment, function, False, findings,
                                      keyed_by_id=True)
        state.last_unindexed = key
        return call

    def _open_tool_call(self, index: int, choice_index: int, state: _ChoiceState, tool_index: int,
                        fragment: dict[str, Any], function: dict[str, Any],
                        findings: list[Finding]) -> StreamedToolCall:
        expected = len(state.tools)
        where = f"choice `{choice_index}` tool call `{tool_index}`"
        unseen = state.unknown_at is not None  # its first fragment, or an earlier call, may have been unreadable
        if tool_index != expected:
            state.misfiled = True
        if tool_index < 0:  # NOTE: even after an unreadable fragment: no call has a negative index
            findings.append(TOOL_INDEX_GAP(index, f"{where} opened with a negative index (the next new one should "
                                                  f"be `{expected}`): the openai Python SDK finds calls by list "
                                                  "position, so it adds this call's fragments to whichever call is "
                                                  "last (to this one only while it is the only one)"))
        elif tool_index > expected and not unseen:  # NOTE: one below fills an index a gap skipped: said there
            # NOTE: counted, not built as a range: an index of 10**12 took all memory
            filled = len({fragment.get("index") for fragment in self._chunk_fragments if type(fragment) is dict
                          and type(fragment.get("index")) is int
                          and expected <= fragment["index"] < tool_index}) == tool_index - expected
            gone = self.helper_gone(index)
            sdk = (f"clients that file calls by index find none at `{expected}` ({gone})" if gone else
                   "the openai Python SDK's stream helper files calls by list position, so the next fragments land in "
                   "the wrong call" if filled else
                   f"the openai Python SDK's stream helper files it at list position `{expected}`, then looks it up as "
                   f"`tool_calls[{tool_index}]` and raises `IndexError` here")
            if not filled:
                self.helper_raises(index, "`IndexError` at event {at}, on a tool call opened past the next index "
                                           "(`chat/tool-call-index-gap`)")
            findings.append(TOOL_INDEX_GAP(index, f"{where} opened while the next new index should be "
                                                  f"`{expected}`: {sdk}"))
        return self._start_call(index, where, state, tool_index, fragment, function, findings, None)

    def _start_call(self, index: int, where: str, state: _ChoiceState, key: int, fragment: dict[str, Any],
                    function: dict[str, Any], findings: list[Finding], unindexed: int | None) -> StreamedToolCall:
        """A new call, filed under `key`; `unindexed`: its choice, when it came without `index` (then an incomplete
        start is said once per choice: openai-gemini sends a part of every streamed argument as a nameless call)."""
        unseen = state.unknown_at is not None  # its first fragment, or an earlier call, may have been unreadable
        call_id, name = fragment.get("id"), function.get("name")
        missing = [label for label, ok in (("`id`", type(call_id) is str and bool(call_id)),
                                           ("`type: \"function\"`", fragment.get("type") == "function"),
                                           ("`function.name`", type(name) is str and bool(name))) if not ok]
        if missing and not unseen and (unindexed is None
                                       or self._first_time(TOOL_START_INCOMPLETE.id, ("unindexed", unindexed))):
            lacks = listed(missing)
            once = " (reported once per choice for calls without `index`)" if unindexed is not None else ""
            findings.append(TOOL_START_INCOMPLETE(index, f"{where}: the first fragment lacks {lacks}; "
                                                         "expected `id`, `type: \"function\"` and `function.name` "
                                                         "there: without them the client cannot run the call or "
                                                         f"answer it by id{once}"))
        call = StreamedToolCall(call_id if type(call_id) is str and call_id else None,
                                name if type(name) is str and name else None, sdk_type=fragment.get("type"))
        state.tools[key] = call
        state.output.tool_calls.append(call)
        if len(state.tools) == 2:
            state.second_call_at = index
        return call

    def second_calls(self) -> list[tuple[int, int, str | None]]:
        """(choice index, event, name) of the second tool call of each choice that streamed more than one."""
        return [(choice, state.second_call_at, state.output.tool_calls[1].name)
                for choice, state in sorted(self._choices.items()) if state.second_call_at is not None]

    def helper_gone(self, index: int) -> str | None:
        """Why the openai Python SDK's stream helper never sees this chunk, or None when it does."""
        if self.helper_raised_at is None or self.helper_raised_at > index:
            return None
        if self.helper_raised_at == index:  # what it made of this event before it raised, the app never sees
            return (f"the openai Python SDK's stream helper raises {self._helper_raised_why}, so no final "
                    "completion comes")
        return f"the openai Python SDK's stream helper raised {self._helper_raised_why}, and never gets here"

    def has_tool_calls(self, choice_index: int) -> bool:
        """Whether the choice's message holds tool calls already (the stream helper's does too)."""
        state = self._choices.get(choice_index)
        return state is not None and bool(state.output.tool_calls)

    def helper_raises(self, index: int, why: str) -> None:
        """The helper raises at this chunk (`why`, with `{at}` for its event), unless it had already."""
        if self.helper_raised_at is None:
            self.helper_raised_at = index
            self._helper_raised_why = why.format(at=index)

    def _check_tool_fragment(self, index: int, where: str, call: StreamedToolCall, fragment: dict[str, Any],
                             function: dict[str, Any], as_streamed: bool, findings: list[Finding], *,
                             keyed_by_id: bool = False, restarted: bool = False) -> None:
        """`as_streamed`: no index gap in the choice, so the Python SDK's stream helper holds this call as streamed;
        `keyed_by_id`: a call without `index`, whose `id` is what files its fragments (`_on_unindexed`), not judged;
        `restarted`: a call the choice had before a restart (`_ChoiceState.restarted_from`), whose repeats it said."""
        if "type" in fragment:  # NOTE: an explicit null counts: the Python SDK takes it as the new type
            self._type_changed(index, where, call, fragment["type"], findings)
        for label, value, attribute in (("id", fragment.get("id"), "id"), ("function.name", function.get("name"),
                                                                            "name")):
            if type(value) is not str or not value or (keyed_by_id and label == "id"):
                continue
            known = getattr(call, attribute)
            if known is None:
                setattr(call, attribute, value)  # a late id or name: the start rule has reported its absence
            else:
                call.ids_changed |= label == "id" and value != known
                self._repeated_or_changed(index, where, label, known, value, "`index` and `function.arguments`",
                                          as_streamed, findings, restarted=restarted)

    def _type_changed(self, index: int, where: str, call: StreamedToolCall, kind: Any,
                      findings: list[Finding]) -> None:
        """A later fragment's explicit `type` against the one the Python SDK holds: it overwrites it, and raises
        `AssertionError` where the call had `type: "function"` (tried: a first `null` repeated later is no change,
        MLflow's gateway 3.17.2 sends it on every fragment of an Anthropic server tool's input)."""
        held, call.sdk_type = call.sdk_type, kind
        if kind == held or (held is None and kind == "function") or not self._first_time(TOOL_CHANGED.id,
                                                                                         (where, "type")):
            return
        shown = "null" if kind is None else f"`{kind}`"
        gone = self.helper_gone(index)
        sdk = (f"clients that take the last `type` get {shown} ({gone})" if gone else
               "the openai Python SDK's stream helper overwrites the call's `type` with it, and raises "
               "`AssertionError`, as the call had `type: function`" if held == "function" else
               "the openai Python SDK's stream helper overwrites the call's `type` with it, so the call's `type` is "
               f"{shown}")
        was = "`function`" if held == "function" else "null" if held is None else f"`{held}`"
        findings.append(TOOL_CHANGED(index, f"{where}: a later fragment has `type` {shown}, where the call had {was}: "
                                            f"{sdk}"))
        if held == "function":
            self.helper_raises(index, "`AssertionError` at event {at}, on a tool call whose `type` changed "
                                      "(`chat/tool-call-changed`)")

    def _repeated_or_changed(self, index: int, where: str, label: str, known: str, value: str, only: str,
                             as_streamed: bool, findings: list[Finding], *, restarted: bool = False) -> None:
        """A later fragment's `label` against the first one's (`only`: what later fragments should carry). The
        openai SDK's stream helper (`accumulate_delta`) appends every later string to the first, changed or not: it
        keeps no field as sent but `index` and `type`. Until the first change, the repeats are counted to say what
        it made of them (one count per call and field); after an index gap (not `as_streamed`) it files fragments
        by list position, and which call it is is not said; once it raised (`_helper_gone`), what clients that join
        the fragments get is said, not what it does."""
        key = (where, label)
        gone = self.helper_gone(index)
        if value != known:
            if self._first_time(TOOL_CHANGED.id, key):
                joined = _shown(known * (self._repeats.pop(key, 0) + 1) + value)
                held = (f"clients that join the fragments get `{joined}`, neither of the two ({gone})" if gone else
                        "the openai Python SDK's stream helper concatenates them, "
                        f"so its call's `{label}` is now `{joined}`, neither of the two (and every later `{label}` is "
                        "appended too)" if as_streamed else
                        "the openai Python SDK's stream helper concatenates them, "
                        "in whichever call it files this fragment (after the index gap, by list position)")
                findings.append(TOOL_CHANGED(index, f"{where}: a later fragment changes `{label}` from `{known}` to "
                                                    f"`{value}`: expected later fragments to carry only {only}; "
                                                    f"{held}"))
            return
        if restarted and key not in self._restart_repeats:  # the restart's own repeat: `chat/role-repeated` said it
            self._restart_repeats.add(key)
        elif self._first_time((repeated := TOOL_REPEATED if label == "id" else NAME_REPEATED).id, key):
            joined = _shown(value * (self._repeats.get(key, 0) + 2))
            joined = (f"clients that join the fragments get `{joined}` ({gone})" if gone else
                      f"the openai Python SDK's stream helper concatenates it to `{joined}` (and appends every later "
                      "repeat too)")
            langchain = {"function.name": "; LangChain joins the names too, and LangGraph's agent then finds no tool "
                                          "of that name",
                         "id": "; LangChain keeps it once"}.get(label, "") if as_streamed else ""
            findings.append(repeated(index, f"{where}: a later fragment repeats `{label}` `{value}`; expected only "
                                            f"{only} after the first: {joined}{langchain}"))
        self._repeats[key] = self._repeats.get(key, 0) + 1

    def _on_function_call(self, index: int, choice_index: int, state: _ChoiceState, function_call: dict[str, Any],
                          findings: list[Finding]) -> None:
        """The deprecated `function_call` delta (`{name?, arguments?}`): the Assembly, and a `name` that a later
        fragment repeats, which the Python SDK's stream helper concatenates as it does a tool call's."""
        self.assembly.saw_content(index)
        call = state.function_call
        name = function_call.get("name")
        if call is None:
            call = state.function_call = StreamedToolCall(None, name if type(name) is str and name else None,
                                                          kind="function_call")
            state.output.tool_calls.append(call)
        elif type(name) is str and name and call.name is not None:
            self._repeated_or_changed(index, f"choice `{choice_index}` `function_call`", "name", call.name, name,
                                      "`arguments`", not state.gap, findings)
        arguments = function_call.get("arguments")
        if type(arguments) is str and arguments:
            call.append(arguments)

    def _check_all_arguments(self, index: int, choice_index: int, state: _ChoiceState,
                             findings: list[Finding]) -> None:
        """Each call's arguments as the stream ended, said at its choice's finish; the calls without `index` in one
        finding per choice (how many there are is a reading of their ids: `_on_unindexed`)."""
        unindexed = []
        for key, call in state.tools.items():
            if key in state.unindexed_where:
                problem = arguments_problem(call.arguments)
                if problem is not None:
                    unindexed.append((state.unindexed_where[key], call, problem))
            else:
                grew = state.arguments_at is not None and len(call.arguments) != state.arguments_at.get(key, 0)
                self._check_arguments(index, f"choice `{choice_index}` tool call `{key}`", call,
                                      arguments_problem(call.arguments), "", findings, grew=grew)
        if unindexed:
            where, call, problem = unindexed[0]
            more = (f" (and {len(unindexed) - 1} more of its calls without `index`, reported here only)"
                    if len(unindexed) > 1 else "")
            self._check_arguments(index, where, call, problem, more, findings)

    def _check_arguments(self, index: int, where: str, call: StreamedToolCall, problem: str | None, more: str,
                         findings: list[Finding], *, grew: bool = False) -> None:
        """`grew`: fragments came after the choice's finish (its arguments are judged as they ended). Arguments sent
        as an object are `chat/schema`'s (the helper holds that object, not a string)."""
        if problem is not None and not call.odd_arguments:
            name = f" (`{call.name}`)" if call.name else ""
            finished = ("ended, after fragments that came after its finish, with" if grew else "finished with")
            findings.append(TOOL_ARGUMENTS_JSON(index, f"{where}{name} {finished} {_arguments_shown(call, problem)}"
                                                       f"{more}: {_harm(call)}"))

    def _check_unfinished_arguments(self, index: int | None, where: str, call: StreamedToolCall, done: bool,
                                    as_streamed: bool, findings: list[Finding]) -> None:
        """A call of a choice that never finished, at the end of the stream. After `[DONE]` its arguments are all
        the server sent, and the Python SDK's stream helper, which needs no finish, keeps them as the call's: they are
        judged as at a finish. In a stream cut short they may be merely cut, which is the cut's break
        (`chat/done-missing`): only arguments that no continuation makes a JSON object are said. `as_streamed`: the
        helper holds the calls as streamed (no index gap in the choice, where it raises or misfiles fragments, and no
        tool call without `index`, where it raised)."""
        if done:
            problem = arguments_problem(call.arguments)
            how = "when `[DONE]` came with no `finish_reason` for its choice"
            sdk = ("the openai Python SDK's stream helper needs no finish and keeps them as the call's `arguments`; "
                   if as_streamed else "")
        else:
            problem = _no_object_ahead(call.arguments)
            how = "when the stream was cut, before a `finish_reason` for its choice or `[DONE]`"
            sdk = "they were broken before the cut (which `chat/done-missing` says); "
        if problem is not None and not call.odd_arguments:
            name = f" (`{call.name}`)" if call.name else ""
            findings.append(TOOL_ARGUMENTS_JSON(index, f"{where}{name} had {_arguments_shown(call, problem, how)}: "
                                                       f"{sdk}{_harm(call)}"))


def _harm(call: StreamedToolCall) -> str:
    """What the arguments do to clients: fragments of several `id`s under one `index` are one call only to clients
    that file them by `index` (langchain-core 1.8 starts a new call at a new `id`, and ran each with its own)."""
    if not call.ids_changed:
        return ARGUMENTS_HARM
    return ("fragments of more than one `id` came under this `index` (`chat/tool-call-changed`): clients that file "
            "them by `index`, the openai Python SDK's stream helper among them, join them into this one call and "
            "cannot run it as sent; a client that starts a new call at each new `id` (LangChain) gets one call per "
            "`id`, each with its own arguments")


def _arguments_shown(call: StreamedToolCall, problem: str, when: str = "") -> str:
    """`arguments `{"a":`, not JSON (...)`, or, where no fragment carried `arguments` at all, that (the stream helper
    then holds `None`, not an empty string)."""
    when = f" {when}" if when else ""
    if not call.sent_arguments:
        return f"no `arguments` in any fragment{when}, not a JSON object"
    return f"arguments `{_excerpt(call.arguments)}`{when}, {problem}"


def _no_object_ahead(arguments: str) -> str | None:
    """Why no continuation of arguments cut off mid-call makes them a JSON object, or None when one may. One full
    decode, and for an object not closed yet one decode in partial mode (jiter's, as pydantic-core's `from_json`:
    it reads a cut value as far as it goes and raises only on what no continuation mends; tried on every prefix of
    generated JSON objects). Once, at the end of the stream: linear."""
    start = arguments.lstrip(" \t\r\n")
    if not start:
        return None  # nothing yet
    try:
        json.loads(arguments)
    except RecursionError:
        return None
    except ValueError as error:
        if not start.startswith("{"):
            return f"which open with `{start[0]}`: nothing that followed could make them a JSON object"
        if error.msg == "Extra data":  # a whole value, then more
            return f"not JSON ({error}) whatever would have followed"
        try:
            pydantic_core.from_json(arguments.encode("utf-8", "replace"), allow_partial=True)
        except ValueError as partial:
            if str(partial).startswith("recursion limit"):
                return None
            return f"not JSON whatever would have followed ({partial})"
        return None
    return arguments_problem(arguments)  # whole: an object, or a value that never becomes one


def _merges_structure(delta: dict[str, Any]) -> bool:
    """An untyped field holding a list or an object, which the stream helper merges (and may raise on): such a chunk
    goes the full way, however like the last one it is (`_merge_untyped`)."""
    return any(type(value) in (list, dict) for key, value in delta.items() if key not in TYPED_DELTA_FIELDS)


def _merge_shape(value: Any) -> Any:
    """What `ChoiceTracker._merge_untyped` keeps of a value the helper takes whole: a list's kind, an object's
    fields' shapes, None for the rest."""
    if type(value) is list:
        return _only_scalars(value)
    if type(value) is dict:
        return {key: _merge_shape(item) for key, item in value.items() if item is not None}
    return None


def _only_scalars(values: list[Any]) -> bool:
    """As the Python SDK tests a list it extends instead of merging by `index` (a bool is an int there)."""
    return all(isinstance(value, str | int | float) for value in values)


def _merge_error(entry: Any) -> tuple[str, str] | None:
    """What the Python SDK raises on merging this list entry, and the entry said; None: nothing."""
    if type(entry) is not dict:
        return "TypeError", f"is {excerpt(entry)}, not an object"
    if "index" not in entry:
        return "RuntimeError", f"{excerpt(entry)} has no `index`"
    if not isinstance(entry["index"], int):
        return "TypeError", f"{excerpt(entry)} has a non-integer `index`"
    return None


def _carries_nothing(choice: dict[str, Any], delta: dict[str, Any]) -> bool:
    """A choice object whose delta and logprobs are all empty: no client gets anything from it."""
    return not any(delta.values()) and not choice.get("logprobs")


def _shown(text: str, limit: int = 200) -> str:
    """A value whose end matters as much as its start (a concatenation): both kept."""
    return text if len(text) <= limit else f"{text[:limit // 2]}…{text[-limit // 2:]}"


def _excerpt(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[:limit] + "…"
