"""The Gemini `streamGenerateContent?alt=sse` checker: one state machine, fed one chunk at a time.

Three parts, one job each: `models` says what a chunk must look like, `assembly` accumulates what the stream said
(text, thoughts, calls with streamed arguments put back together, usage, grounding), and this module judges. The
protocol has no start or end event: every chunk is a whole `GenerateContentResponse`, and the stream ends when the
server closes it after the chunk with `finishReason` (or a `promptFeedback.blockReason`). A finding never stops
the stream: the checker records it and goes on.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any, ClassVar

from ...findings import Finding
from ...sse import Event
from ..base import DONE, UNREADABLE, Assembly, FirstTime, broken_connection, cut_or_done
from ..delta_shape import DeltaShape, Hole
from ..schema import excerpt, json_type
from ..token_limit import TokenLimit
from . import rules as R
from .assembly import BUILT_IN_PARTS, Accumulator, continues, error_text, partial_value
from .models import (
    BLOCK_REASONS,
    DATA_FIELDS,
    FINISH_REASONS,
    HARM_CATEGORIES,
    HARM_PROBABILITIES,
    HARM_SEVERITIES,
    MODALITIES,
    OUTCOMES,
    TOOL_TYPES,
    TRAFFIC_TYPES,
    genai_bool,
    schema_problem,
)

# fmt: off
RESUMABLE_FINISH = "CONTINUATION"  # the finish reason of a stream cut at the per-request token limit, to resume
RESUMES = "python-genai resumes from the stream's last `continuationToken` with another request"
IDENTITY_FIELDS = ("responseId", "modelVersion")
ENVELOPE_FIELDS = ("candidates", "promptFeedback", "usageMetadata")   # a chunk carries at least one of them
USAGE_PARTS = ("promptTokenCount", "candidatesTokenCount", "thoughtsTokenCount", "toolUsePromptTokenCount")
USAGE_COUNTS = (*USAGE_PARTS, "totalTokenCount", "cachedContentTokenCount")
DETAIL_LISTS = ("promptTokensDetails", "candidatesTokensDetails", "toolUsePromptTokensDetails", "cacheTokensDetails")
RATING_ENUMS = (("category", HARM_CATEGORIES), ("probability", HARM_PROBABILITIES), ("severity", HARM_SEVERITIES))
RESULT_OF = {"codeExecutionResult": "executableCode", "toolResponse": "toolCall"}   # result part -> its call part
TEXT_PART = frozenset({"text", "thought"})  # the keys of a part that only carries text (for the fast path)
UNREAD_LINES = {"comment": "a comment line (`:` ...)", "retry": "a `retry:` line",
                "data": "a `data:` line without the space after its colon",
                "event": "an `event: message` line (the default event name, given)",
                "bom": "a byte order mark before the first line"}   # the parser's `unusual` kinds
# fmt: on


def _runs_own_tools(body: dict[str, Any], usage: dict[str, Any]) -> bool:
    """Whether the request offers a built-in tool (code execution, search, URL context: every tool but function
    declarations): the answer may then hold several model calls, each under `maxOutputTokens`, and the usage sums
    them. (`candidatesTokenCount` leaves the thoughts out, so it never counts more than the cap bounds.)"""
    tools = body.get("tools")
    return isinstance(tools, list) and any(
        not isinstance(tool, dict) or any(key not in ("functionDeclarations", "function_declarations") for key in tool)
        for tool in tools)


class Checker:
    """Judges one Gemini stream; fills `assembly` through an `Accumulator`."""

    name: ClassVar[str] = "gemini"
    end_missing: ClassVar[str] = R.FINISH_MISSING.id
    broken_after_end: ClassVar[str] = ("google-genai reads on to the body's end, so `generate_content_stream` "
                                       "raises `httpx.RemoteProtocolError` after it yielded the last chunk")
    token_limit: ClassVar[TokenLimit] = TokenLimit(
        R.USAGE_OVER_LIMIT, ("generationConfig.maxOutputTokens", "generation_config.max_output_tokens"),
        "candidatesTokenCount", several=("generationConfig.candidateCount", "generation_config.candidate_count"),
        may_count_more=_runs_own_tools)

    @staticmethod
    def ends_stream(payload: Any) -> bool:
        """A finish on a candidate, a blocked prompt, or an error."""
        if type(payload) is not dict:
            return False
        feedback, candidates = payload.get("promptFeedback"), payload.get("candidates")
        return ("error" in payload or (type(feedback) is dict and feedback.get("blockReason") is not None)
                or (type(candidates) is list and any(type(candidate) is dict and candidate.get("finishReason")
                                                     is not None for candidate in candidates)))

    def __init__(self) -> None:
        self.connection_broke: str | None = None
        self.ended_inside_event = False
        self.assembly = Assembly(self.name)
        self._accumulator = Accumulator(self.assembly)
        self._events = 0
        self._once = FirstTime()
        self._identity: dict[str, Any] = {}
        self._finished_at: int | None = None
        """The last chunk with a `finishReason` (or a prompt block)."""
        self._resumable = False
        """Candidate 0 gave a `continuationToken` that no final `finishReason` took back: python-genai (automatic
        continuation, on by default) resumes from it with another request when the stream ends or fails."""
        self._not_last_reported = False
        self._answered = False
        """An answer part (text or call, not a thought) came: a thought after it is out of order."""
        self._streaming: str | None = None
        """The name of the function call whose arguments are streaming."""
        self._string_path: str | None = None
        """The `jsonPath` of a `stringValue` marked `willContinue`: the next piece must continue it."""
        self._calls: dict[str, list[Any]] = {"executableCode": [], "toolCall": []}
        """Built-in calls still waiting for their result, by part field: their ids (None when they had none)."""
        self._unreadable_at: int | None = None
        self._done_at: int | None = None
        """The last `data: [DONE]`: a stream that ends with it was ended by its server, not cut."""
        self._unknown_call = False
        """An unreadable event came since the last readable call start: it may have opened a streamed call or been
        a built-in call, so argument pieces and results with no call seen are not held against the stream."""

    # --- the event loop -----------------------------------------------------------------------------------------

    def feed(self, event: Event, payload: Any) -> list[Finding]:
        found: list[Finding] = []
        self._events += 1
        index = event.index
        self._framing(event, payload, found)
        if payload is UNREADABLE:
            self._unreadable_at = index
            self._streaming = self._string_path = None  # it may have closed the call: its arguments are not judged
            self._unknown_call = True
            return found
        if payload is DONE:
            self._done_at = index
            return found
        if type(payload) is not dict:
            genai = ("python-genai fails on it (`TypeError`)" if type(payload) in (int, float, bool) else
                     "python-genai yields an empty response for it, so what it carried is lost without an error")
            found.append(R.NOT_AN_OBJECT(index, f"expected a `GenerateContentResponse` object, got "
                                                f"{json_type(payload)} `{excerpt(payload)}`: {genai}"))
            return found
        payload = _unwrapped(payload)
        self._after_finish(index, found)
        error = payload.get("error")
        if error is not None:
            self._accumulator.feed(index, payload)
            detail = error_text(error) if isinstance(error, dict) else excerpt(error)
            genai, fails = _genai_on_error(payload)
            resumes = f" ({RESUMES} first)" if self._resumable and fails else ""
            found.append(R.ERROR_OBJECT(index, f"in-band error `{detail}`: the stream failed here; "
                                               f"{genai}{resumes}"))
            return found
        broken = schema_problem(payload, lambda path: self._once(R.SCHEMA_MISMATCH, path))
        if broken and broken[0]:  # NOTE: a field reported before is one broken habit of the endpoint, not a new one
            found.append(R.SCHEMA_MISMATCH(index, f"{broken[0]}: {broken[1]} (each field is reported once)"))
        if not any(payload.get(field) is not None for field in ENVELOPE_FIELDS):
            keys = ", ".join(f"`{key}`" for key in list(payload)[:4]) or "none"
            found.append(R.EMPTY_CHUNK(index, f"a chunk with none of `candidates`, `promptFeedback` and "
                                              f"`usageMetadata` (its fields: {keys}): it is not a "
                                              "`GenerateContentResponse`; the Vercel AI SDK's schema, all of whose "
                                              "fields are optional, takes it as a chunk of nothing"))
        self._identity_of(index, payload, found)
        self._accumulator.feed(index, payload)
        self._prompt_feedback(index, payload.get("promptFeedback"), found)
        self._usage(index, payload.get("usageMetadata"), found)
        candidates = payload.get("candidates")
        if isinstance(candidates, list):
            self._several_candidates(index, candidates, found)
            for candidate in candidates:
                if isinstance(candidate, dict):
                    self._candidate(index, candidate, found)
                    break  # the rules below follow candidate 0, as every client does
        return found

    def shape(self, event: Event, payload: Any) -> DeltaShape | None:
        """The fast path's shape of a chunk whose one candidate has one part that only carries text (delta_shape.py):
        a chunk of the same shape passes every check here silently and only appends its text and replaces the usage
        snapshot. Its holes: the text and the token counts, which grow from chunk to chunk.

        Every other field is fixed by the shape, and this chunk was judged without a finding: the full path would
        only set the same values again (identity, model, details) or stay silent on what it reported once already
        (`FirstTime`). A `finishReason` is refused: the next chunk makes it not the last (`FINISH_NOT_LAST`)."""
        candidates = payload.get("candidates") if type(payload) is dict else None
        # NOTE: one candidate is only defensive: the full path reads candidate 0 alone, and a second one would
        # repeat the `"text":` key, where `DeltaShape.cut` refuses to cut
        if type(candidates) is not list or len(candidates) != 1 or type(candidates[0]) is not dict:
            return None
        candidate = candidates[0]
        content = candidate.get("content")
        parts = content.get("parts") if type(content) is dict else None
        if (candidate.get("finishReason") is not None or type(parts) is not list or len(parts) != 1
                or type(parts[0]) is not dict or not parts[0].keys() <= TEXT_PART):
            return None
        text = parts[0].get("text")
        if type(text) is not str or not text:
            return None  # NOTE: an empty text does not set `_answered`, which a later text of this shape would
        thought = genai_bool(parts[0].get("thought"))
        usage = payload.get("usageMetadata")
        counted = tuple(field for field in USAGE_COUNTS if type(usage.get(field)) is int) if type(usage) is dict else ()
        holes = [Hole("text", text), *(Hole(field, usage[field]) for field in counted)]
        accumulator, assembly = self._accumulator, self.assembly
        adds_up = _adds_up_with(usage, counted) if counted else None  # type: ignore[arg-type]

        def apply(index: int, values: Sequence[Any]) -> bool:
            if adds_up is not None:
                counts = values[1:]
                if not adds_up(counts):
                    return False  # `_usage` judges it
                fresh = dict(usage)  # type: ignore[arg-type]
                fresh.update(zip(counted, counts, strict=True))
                assembly.usage = fresh
            self._events += 1
            accumulator.text(index, values[0], thought)
            return True

        return DeltaShape.cut(event, holes, apply)

    def finish(self, end_index: int | None) -> list[Finding]:
        found: list[Finding] = []
        if self._events == 0:
            return found  # nothing came: the SSE layer reports that (`sse/no-events`)
        last_unreadable = self._unreadable_at is not None and self._unreadable_at == end_index
        cut = self._finished_at is None and self.assembly.error is None and not last_unreadable
        if self._streaming is not None and not cut:  # NOTE: a cut stream's open call is the cut's, said there once
            found.append(R.STREAMED_ARGS_OPEN(end_index, f"the stream ended while the arguments of function call "
                                                         f"`{self._streaming}` were still streaming "
                                                         "(`willContinue: true` and no closing part): the call "
                                                         "is incomplete"))
        if cut:
            how = (broken_connection(self.connection_broke) if self.connection_broke else
                   f"{cut_or_done(self._done_at, end_index)}, and a client cannot tell a finished answer from a lost "
                   "connection (vercel reports finish reason `other`)")
            if self._resumable:
                how += f"; {RESUMES}"
            if self._streaming is not None:
                how += (f"; the arguments of function call `{self._streaming}` were still streaming (`willContinue: "
                        "true`), and are incomplete")
            found.append(R.FINISH_MISSING(end_index, "the stream ended with no `finishReason` and no "
                                                     f"`promptFeedback.blockReason`: {how}"))
        return found

    def out_of_band(self, lines: list[tuple[int, str]], unusual: dict[str, int]) -> list[Finding]:
        """Lines outside SSE field syntax, as (index of the next event, text): Google's servers write a failure
        after the stream began as a bare pretty-printed JSON object. SSE parsers drop such lines silently.
        `unusual`: valid SSE lines python-genai cannot read (kind -> index of the next event at the first)."""
        found = [R.NON_DATA_FIELD(index, f"{UNREAD_LINES[kind]}: valid SSE, but Google sends only `data: ` lines, "
                                         "and python-genai parses every other line as JSON and raises "
                                         "`UnknownApiResponseError` on it (reported once per kind)")
                 for kind, index in unusual.items()]
        if not lines:
            return found
        text = "\n".join(line for _, line in lines)
        detail = f"`{excerpt(lines[0][1], 60)}`"
        try:
            value = json.loads(text)
        except (ValueError, RecursionError):
            value = None
        genai = "python-genai raises `UnknownApiResponseError` on them"
        if isinstance(value, dict) and isinstance(value.get("error"), dict):
            self.assembly.error = error_text(value["error"])
            self.assembly.ended = True
            detail = f"a JSON error `{self.assembly.error}`"
            genai = _genai_on_error(value)[0]
        elif isinstance(value, dict):  # NOTE: python-genai reads any other line as JSON, counting its braces
            genai = "python-genai reads them as one more chunk"
        return [*found, R.OUT_OF_BAND_LINES(lines[0][0], f"{len(lines)} line(s) outside SSE field syntax, {detail}: "
                                                         f"{genai}, but SSE parsers (vercel's) drop them silently")]

    # --- framing, envelope ---------------------------------------------------------------------------------------

    def _framing(self, event: Event, payload: Any, found: list[Finding]) -> None:
        index = event.index
        if event.type != "message" and self._once(R.NON_DATA_FIELD, "event"):
            found.append(R.NON_DATA_FIELD(index, f"an `event: {event.type}` line: Google sends only `data:` lines; "
                                                 "python-genai raises `UnknownApiResponseError` on it and "
                                                 "@google/genai drops the whole event"))
        if event.id is not None and self._once(R.NON_DATA_FIELD, "id"):
            found.append(R.NON_DATA_FIELD(index, "an `id:` line: Google sends only `data:` lines; python-genai "
                                                 "raises `UnknownApiResponseError` on it and @google/genai drops "
                                                 "an event that starts with it"))
        if payload is DONE and self._once(R.NON_DATA_FIELD, "done"):
            found.append(R.NON_DATA_FIELD(index, "`data: [DONE]` is not part of this protocol (the stream just "
                                                 "ends): python-genai and @google/genai fail to parse it as JSON"))

    def _after_finish(self, index: int, found: list[Finding]) -> None:
        if self._finished_at is None or self._not_last_reported:
            return
        self._not_last_reported = True
        found.append(R.FINISH_NOT_LAST(self._finished_at, f"`finishReason` on chunk {self._finished_at}, but "
                                                          f"chunk {index} follows: real streams do this in built-in "
                                                          "tool rounds and on 2023 models, and a client that stops "
                                                          "at the first `finishReason` loses the rest"))

    def _several_candidates(self, index: int, candidates: list[Any], found: list[Finding]) -> None:
        """More than one answer: several candidates in a chunk, or one per chunk whose `index` is not 0 (api-for-gemini
        sends an upstream's three choices so, in turn: python-genai's `.text` joined them word by word)."""
        other = next((candidate["index"] for candidate in candidates if type(candidate) is dict
                      and type(candidate.get("index")) is int and candidate["index"] > 0), None)
        if (len(candidates) < 2 and other is None) or not self._once(R.SEVERAL_CANDIDATES):
            return
        if len(candidates) > 1:
            found.append(R.SEVERAL_CANDIDATES(index, f"{len(candidates)} candidates in one chunk: only "
                                                     "`candidateCount > 1` asks for that, and vercel and "
                                                     "python-genai's `.text` read candidate 0 only"))
        else:
            found.append(R.SEVERAL_CANDIDATES(index, f"a candidate with `index` {other}: the stream carries more "
                                                     "than one answer, one candidate a chunk; only `candidateCount "
                                                     "> 1` asks for that, and python-genai's `.text` reads each "
                                                     "chunk's first candidate whatever its index, so the answers "
                                                     "join into one text"))

    def _identity_of(self, index: int, payload: dict[str, Any], found: list[Finding]) -> None:
        for field in IDENTITY_FIELDS:
            value = payload.get(field)
            if value is None:
                continue
            first = self._identity.setdefault(field, value)
            if value != first and self._once(R.IDENTITY_CHANGED, field):
                found.append(R.IDENTITY_CHANGED(index, f"`{field}` changed from `{excerpt(first)}` to "
                                                       f"`{excerpt(value)}`: one stream is one response; a client "
                                                       "keying on it mixes two answers"))
        created = payload.get("createTime")
        first = self._identity.setdefault("createTime", created) if created is not None else None
        if created != first and self._once(R.CREATE_TIME_CHANGED):
            # NOTE: api-for-gemini maps each upstream chunk's `created`, which Perplexity stamps anew
            found.append(R.CREATE_TIME_CHANGED(index, f"`createTime` changed from `{excerpt(first)}` to "
                                                      f"`{excerpt(created)}`: a timestamp, which python-genai hands "
                                                      "over chunk by chunk, so nothing a client shows is lost; one "
                                                      "response has one creation time"))

    def _prompt_feedback(self, index: int, feedback: Any, found: list[Finding]) -> None:
        if not isinstance(feedback, dict):
            return
        reason = feedback.get("blockReason")
        if reason is not None:
            self._finished(index)
            self._enum(index, "promptFeedback.blockReason", reason, BLOCK_REASONS, found)
            message = feedback.get("blockReasonMessage")
            extra = f" ({message})" if isinstance(message, str) else ""
            ends = " and ends with finish reason `content-filter`" if reason == "SAFETY" else ""
            found.append(R.PROMPT_BLOCKED(index, f"the prompt was blocked: `{excerpt(reason)}`{extra}; vercel "
                                                 f"streams no text{ends}"))
        self._ratings(index, "promptFeedback.safetyRatings", feedback.get("safetyRatings"), found)

    def _usage(self, index: int, usage: Any, found: list[Finding]) -> None:
        if not isinstance(usage, dict):
            return
        self._enum(index, "usageMetadata.trafficType", usage.get("trafficType"), TRAFFIC_TYPES, found)
        for field in DETAIL_LISTS:
            for detail in usage.get(field) or () if isinstance(usage.get(field), list) else ():
                if isinstance(detail, dict):
                    self._enum(index, f"usageMetadata.{field}[].modality", detail.get("modality"), MODALITIES, found)
        counts = _counts(usage)
        if counts is None:
            return  # the schema rule said so
        parts = _total_not_parts(usage, counts)
        if parts is not None and self._once(R.USAGE_ARITHMETIC, "total"):
            found.append(R.USAGE_ARITHMETIC(index, f"`totalTokenCount` {counts['totalTokenCount']} is not "
                                                   f"prompt + candidates + thoughts + tool-use prompt = {parts}: "
                                                   "billing that adds the parts and billing that reads the "
                                                   "total disagree"))
        if _cache_over_prompt(counts) and self._once(R.USAGE_ARITHMETIC, "cache"):
            found.append(R.USAGE_ARITHMETIC(index, f"`cachedContentTokenCount` {counts['cachedContentTokenCount']} "
                                                   f"exceeds `promptTokenCount` {counts['promptTokenCount']}, which "
                                                   "counts the cached tokens too"))

    # --- the candidate and its parts -----------------------------------------------------------------------------

    def _candidate(self, index: int, candidate: dict[str, Any], found: list[Finding]) -> None:
        content = candidate.get("content")
        if isinstance(content, dict):
            role = content.get("role")
            if role is not None and role != "model" and self._once(R.ROLE_NOT_MODEL):
                found.append(R.ROLE_NOT_MODEL(index, f"`content.role` is `{excerpt(role)}`, expected `model`: a "
                                                     "client that appends the content to the history sends a "
                                                     "turn of the wrong speaker"))
            parts = content.get("parts")
            for position, part in enumerate(parts if isinstance(parts, list) else ()):
                if isinstance(part, dict):
                    self._part(index, position, part, found)
        self._ratings(index, "safetyRatings", candidate.get("safetyRatings"), found)
        reason = candidate.get("finishReason")
        token = candidate.get("continuationToken")
        if isinstance(token, str) and token:
            self._resumable = True
        elif reason is not None and reason != RESUMABLE_FINISH:
            self._resumable = False
        if reason is not None:
            self._enum(index, "finishReason", reason, FINISH_REASONS, found)
            self._finished(index)

    def _finished(self, index: int) -> None:
        self._finished_at = index

    def _part(self, index: int, position: int, part: dict[str, Any], found: list[Finding]) -> None:
        fields = [field for field in DATA_FIELDS if part.get(field) is not None]
        if len(fields) != 1 and self._once(R.PART_SHAPE, len(fields) > 1):
            what = ("no data field (" + ", ".join(f"`{key}`" for key in list(part)[:4]) + ")" if not fields
                    else "several data fields (" + ", ".join(f"`{field}`" for field in fields) + ")")
            readers = ("python-genai takes each of them (its `.text` and `.function_calls` alike), a client that "
                       "goes by the part's kind only one" if fields else "a client finds nothing in it")
            found.append(R.PART_SHAPE(index, f"part {position} has {what}: a part carries exactly one of "
                                             f"text, call, code, result or data; {readers}"))
        signature = part.get("thoughtSignature")
        if signature == "" and self._once(R.SIGNATURE_EMPTY):
            found.append(R.SIGNATURE_EMPTY(index, f"part {position} has an empty `thoughtSignature`: Gemini 3 "
                                                  "rejects the next request of a tool turn without its signature"))
        if genai_bool(part.get("thought")):
            if self._answered and self._once(R.THOUGHT_AFTER_ANSWER):
                found.append(R.THOUGHT_AFTER_ANSWER(index, f"a thought part (part {position}) after the answer "
                                                           "began: Google sends thoughts first; a client that "
                                                           "shows them apart mixes them into the answer's order"))
        elif (isinstance(part.get("text"), str) and part["text"]) or part.get("functionCall") is not None:
            self._answered = True
        call = part.get("functionCall")
        if isinstance(call, dict):
            self._function_call(index, call, found)
        for field in BUILT_IN_PARTS:
            value = part.get(field)
            if isinstance(value, dict):
                self._built_in(index, field, value, found)

    def _function_call(self, index: int, call: dict[str, Any], found: list[Finding]) -> None:
        """A complete call; or streamed arguments: `{name, willContinue: true}`, pieces, then `{}` or a part
        that does not continue (Vertex `streamFunctionCallArguments`)."""
        name = call.get("name")
        empty = name == ""  # NOTE: AIClient-2-API sends each streamed OpenAI argument fragment as a call named ""
        if empty:
            name = None
        pieces = call.get("partialArgs")
        if isinstance(pieces, list):
            self._pieces(index, pieces, found)
        if name is not None:
            if self._streaming is not None:
                found.append(R.STREAMED_ARGS_ORDER(index, f"function call `{excerpt(name)}` starts while the "
                                                          f"arguments of `{self._streaming}` are still streaming: "
                                                          "the first call never closed"))
            self._streaming = str(name) if call.get("willContinue") is True else None
            self._string_path = None
            self._unknown_call = False
            return
        if self._streaming is not None:
            if not continues(call):
                if self._string_path is not None:
                    self._string_broken(index, "the call closed", found)
                self._streaming = None
            return
        if self._unknown_call:
            return  # the unreadable event before it may have opened the call
        if pieces is not None or "willContinue" in call or not call:
            found.append(R.STREAMED_ARGS_ORDER(index, "streamed function-call arguments (`partialArgs`, "
                                                      "`willContinue` or a closing `{}`) with no call open: "
                                                      "no client knows which call they belong to"))
        elif self._once(R.FUNCTION_CALL_INCOMPLETE, empty):  # NOTE: a server that does it once does it always
            what = "with an empty `name`" if empty else "without a `name`"
            found.append(R.FUNCTION_CALL_INCOMPLETE(index, f"a `functionCall` {what}: no client can run it (vercel "
                                                           "needs `name`, python-genai's automatic function calling "
                                                           "looks the tool up by it; later ones are not reported)"))

    def _pieces(self, index: int, pieces: list[Any], found: list[Finding]) -> None:
        if self._streaming is None:
            return  # the caller reports arguments with no call open
        for piece in pieces:
            if not isinstance(piece, dict):
                continue
            path = piece.get("jsonPath")
            values = [key for key in ("stringValue", "numberValue", "boolValue", "nullValue") if key in piece]
            if isinstance(path, str) and (not path.startswith("$") or len(values) > 1):
                found.append(R.PARTIAL_ARG_SHAPE(index, f"`partialArgs` entry `{excerpt(path)}` "
                                                        + ("does not start with `$`" if not path.startswith("$")
                                                           else f"has {len(values)} values") + ": the arguments "
                                                        "cannot be put back together"))
            if self._string_path is not None and path != self._string_path:
                self._string_broken(index, f"`{excerpt(path)}` came next", found)
            has_value, value = partial_value(piece)
            continued = has_value and isinstance(value, str) and piece.get("willContinue") is True
            self._string_path = path if continued and isinstance(path, str) else None

    def _string_broken(self, index: int, what: str, found: list[Finding]) -> None:
        found.append(R.STREAMED_ARGS_ORDER(index, f"the string at `{self._string_path}` was marked `willContinue` "
                                                  f"but {what}: its value is cut"))
        self._string_path = None

    def _built_in(self, index: int, field: str, value: dict[str, Any], found: list[Finding]) -> None:
        if field == "toolCall" or field == "toolResponse":
            self._enum(index, f"{field}.toolType", value.get("toolType"), TOOL_TYPES, found)
        if field == "codeExecutionResult":
            self._enum(index, "codeExecutionResult.outcome", value.get("outcome"), OUTCOMES, found)
        if field in self._calls:
            self._calls[field].append(value.get("id"))
            return
        call_field = RESULT_OF.get(field)
        if call_field is None:
            return
        waiting = self._calls[call_field]
        result_id = value.get("id")
        if not waiting:
            if self._unknown_call:
                return  # the unreadable event before it may have been the call
            found.append(R.TOOL_RESULT_UNPAIRED(index, f"`{field}` with no `{call_field}` before it: a client "
                                                       "shows a result of a call it never saw"))
            return
        call_id = waiting.pop(0)
        if result_id is not None and call_id is not None and result_id != call_id:
            found.append(R.TOOL_RESULT_UNPAIRED(index, f"`{field}` id `{excerpt(result_id)}` answers "
                                                       f"`{call_field}` id `{excerpt(call_id)}`: the ids differ"))

    # --- enums ---------------------------------------------------------------------------------------------------

    def _ratings(self, index: int, where: str, ratings: Any, found: list[Finding]) -> None:
        for rating in ratings if isinstance(ratings, list) else ():
            if isinstance(rating, dict):
                for key, allowed in RATING_ENUMS:
                    self._enum(index, f"{where}[].{key}", rating.get(key), allowed, found)

    def _enum(self, index: int, where: str, value: Any, allowed: frozenset[str], found: list[Finding]) -> None:
        if isinstance(value, str) and value not in allowed and self._once(R.UNKNOWN_ENUM, where, value):
            vercel = ", vercel maps it to `other`" if where.endswith("finishReason") else ""
            genai = (f"python-genai reads its enums regardless of case, as `{value.upper()}`, but a client that "
                     f"compares the value as sent does not{vercel}" if value.upper() in allowed else
                     f"python-genai warns and keeps it{vercel}")
            found.append(R.UNKNOWN_ENUM(index, f"`{where}` is `{excerpt(value)}`, not a value the Python SDK types "
                                               f"list: {genai}"))


def _genai_on_error(payload: dict[str, Any]) -> tuple[str, bool]:
    """What the SDKs do with a chunk that carries `error`, and whether python-genai fails on it: it looks for the
    error only as the chunk's first key, and sorts it by `error.code` (`request_streamed`, `APIError.raise_error`);
    @google/genai throws for a `code` from 400 to 599."""
    if next(iter(payload)) != "error":
        return ("python-genai raises only when `error` is a chunk's first key, so it reads this as a chunk and the "
                "error is lost to it"), False
    error = payload["error"]
    if not isinstance(error, dict):
        return "python-genai fails on it (`AttributeError`: it reads `error.code`)", True
    code = error.get("code")
    if not isinstance(code, int | float):
        return "python-genai fails on it (`TypeError`: it compares `error.code` with numbers)", True
    if 400 <= code < 600:
        kind = "ClientError" if code < 500 else "ServerError"
        return f"python-genai raises `{kind}` (an `APIError`), @google/genai throws `ApiError`", True
    return "python-genai raises `APIError`", True


def _counts(usage: dict[str, Any]) -> dict[str, int] | None:
    """The token counts of `usageMetadata` (0 where absent); None when one is not an int."""
    counts = {field: usage.get(field, 0) for field in USAGE_COUNTS}
    return counts if all(type(value) is int for value in counts.values()) else None


def _total_not_parts(usage: dict[str, Any], counts: dict[str, int]) -> int | None:
    """The sum of the parts when `totalTokenCount` is given and differs from it."""
    parts = sum(counts[field] for field in USAGE_PARTS)
    return parts if "totalTokenCount" in usage and counts["totalTokenCount"] != parts else None


def _cache_over_prompt(counts: dict[str, int]) -> bool:
    return counts["cachedContentTokenCount"] > counts["promptTokenCount"]


def _adds_up(usage: dict[str, Any]) -> bool:
    """Whether `_usage` finds nothing wrong with these counts."""
    counts = _counts(usage)
    return counts is not None and _total_not_parts(usage, counts) is None and not _cache_over_prompt(counts)


def _adds_up_with(usage: dict[str, Any], counted: tuple[str, ...]) -> Callable[[Sequence[int]], bool]:
    """`_adds_up` of `usage` with new int values for `counted` (given in that order), for the fast path: a chunk
    pays a few additions (a third of a µs, against 3 µs for `_adds_up` of a fresh dict). `counted` is every count
    of `usage` that is an int (the shape's holes): any other count there is not one and never adds up, and the
    counts that are absent are 0."""
    if any(field in usage and field not in counted for field in USAGE_COUNTS):
        return lambda counts: False
    at = {field: position for position, field in enumerate(counted)}
    parts_at = tuple(at[field] for field in USAGE_PARTS if field in at)
    total_at, cached_at, prompt_at = (at.get(field) for field in ("totalTokenCount", "cachedContentTokenCount",
                                                                  "promptTokenCount"))

    def adds_up(counts: Sequence[int]) -> bool:
        if total_at is not None:
            parts = 0
            for position in parts_at:
                parts += counts[position]
            if counts[total_at] != parts:
                return False
        return (0 if cached_at is None else counts[cached_at]) <= (0 if prompt_at is None else counts[prompt_at])

    return adds_up


def _unwrapped(payload: dict[str, Any]) -> dict[str, Any]:
    """The `GenerateContentResponse` of a chunk of Google's Code Assist API (Gemini CLI signed in with a Google
    account: `/v1internal:streamGenerateContent`), which wraps each one as `{"response": ..., "traceId": ...}`; any
    other chunk as it is. A wrapped chunk takes the full path (`shape` finds no candidates in it)."""
    inner = payload.get("response")
    if type(inner) is dict and not any(field in payload for field in (*ENVELOPE_FIELDS, "error")):
        return inner
    return payload
