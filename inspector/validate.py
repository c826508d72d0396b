"""The common layer of validation: HTTP, SSE and JSON rules, protocol detection, then the protocol checker.

One `StreamCheck` per stream, fed network chunks as they come (in the proxy, from a file, in the probe).
It keeps no events: memory stays flat however long the stream. Findings accumulate in `findings`; what the
stream said accumulates in `assembly`.
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from pydantic_core import from_json

from .findings import Finding, RuleCap, Severity, rule
from .protocols import GENERIC, checker_for, detect
from .protocols.base import DONE, UNREADABLE, Assembly, Checker, break_shown, broken_connection
from .protocols.delta_shape import DeltaShape
from .sse import Event, SSEParser
from .timing import STALL_SECONDS

# fmt: off
HTTP_STATUS       = rule("http/error-status", Severity.ERROR, "the response status is not 2xx: no stream came")
HTTP_CONTENT_TYPE = rule("http/content-type", Severity.ERROR, "a 2xx response that is not `text/event-stream`")
HTTP_NOT_ASKED    = rule("http/stream-not-asked", Severity.ERROR,
                         "an event stream answering a request that did not ask for one (no `\"stream\": true`, or "
                         "Gemini without `alt=sse`)")
HTTP_NO_RESPONSE  = rule("http/no-response", Severity.ERROR,
                         "the request got no response at all: no status, no headers, no body")
SSE_INVALID_UTF8  = rule("sse/invalid-utf8", Severity.ERROR, "bytes that are not valid UTF-8")
SSE_UNTERMINATED  = rule("sse/unterminated-event", Severity.ERROR,
                         "the stream ends inside an event, which a conformant client drops")
SSE_INVALID_JSON  = rule("sse/invalid-json", Severity.ERROR, "an event whose data is not JSON")
SSE_NO_EVENTS     = rule("sse/no-events", Severity.ERROR, "a 2xx event stream that carried no event at all")
SSE_NOT_ENDED     = rule("sse/not-ended-by-server", Severity.WARNING,
                         "the client or the recorder ended the stream, not the server: end-of-stream rules skipped")
SSE_ERROR_BODY    = rule("sse/json-error-body", Severity.ERROR,
                         "the body is one JSON error object, not an event stream (an HTTP error without its status)")
SSE_TOO_DEEP      = rule("sse/json-too-deep", Severity.ERROR,
                         "an event whose JSON nests too deeply to decode or check (Python clients give up too)")
SSE_STRAY_DATA    = rule("sse/stray-data", Severity.ERROR,
                         "a line outside SSE field syntax that carries data (bare JSON, a glued `data:`): dropped")
SSE_BROKEN_AFTER_END = rule("sse/broken-after-end", Severity.ERROR,
                            "the server broke the connection after the stream's end: a client reading the body to "
                            "its end raises")
# fmt: on

_NOT_ENDED_BY_SERVER = frozenset({"client-disconnected", "error"})
_DETECT_WINDOW = 8  # events to look at before calling an unrecognised stream generic
_ERROR_BODY_LIMIT = 64 * 1024
_RUN = 8
"""Chunks a check that wants no events (`StreamCheck.events_wanted`) feeds the usual way at a time while it has
no shape: then it looks again whether a shape was cut meanwhile."""


class StreamCheck:
    """Validate one stream incrementally: `feed` chunks, then `close`."""

    def __init__(
        self,
        protocol: str | None = None,
        *,
        request_path: str | None = None,
        request_method: str | None = None,
        status: int | None = None,
        content_type: str | None = None,
        request_body: Any = None,
        sse_asked: bool = True,
        answered: bool = True,
    ) -> None:
        self.parser = SSEParser()
        self.answered = answered
        """False for a recording of a request no response came to (the upstream closed the connection, or mitmproxy
        refused what it sent): one finding says so, none about a body there never was."""
        self.fresh_request = (request_method or "").upper() == "POST"
        """A POST starts a new response: its stream is never a resume (a resume is a GET)."""
        self.request_body = request_body
        """The request's body as a recording keeps it (its text, or the object), for the rules that judge the stream
        against what was asked; None for a raw body, which has no request."""
        self.findings: list[Finding] = []
        self._cap = RuleCap()
        self.protocol = protocol if protocol and protocol != "auto" else detect.from_path(request_path)
        self.looks_like: str | None = None
        """The protocol the first events point to, when a protocol was given (to tell a wrong `--protocol`)."""
        self._sniff = _DETECT_WINDOW if self.protocol is not None else 0
        self.checker: Checker | None = None
        self._assembly: Assembly | None = None
        self._held: list[tuple[Event, Any]] = []
        self._shape: DeltaShape | None = None
        """The last event's shape when the checker offered one: events that fit it take the fast path."""
        self._misses = 0
        """Shapes in a row that the next event did not fit: cutting one costs several events' worth, so a stream
        whose events never repeat a shape gets them cut ever more rarely (1, 2, 4 ... 1,024 events apart)."""
        self._next_cut = 0
        self.fast_path = True
        """False: every event goes the full way (tests hold the two paths to the same result)."""
        self.events_wanted = True
        """False: `feed_texts` may leave out of what it returns the events the fast path took straight from their
        chunks' text (`DeltaShape.take_texts`), for a caller that wants only the findings and the assembly."""
        self.events = 0
        self.last_index: int | None = None
        self.last_chunk_at: float | None = None
        """The time of the last chunk fed (None: none had one)."""
        self.status = status
        self._error_body: bytearray | None = None
        self._said_type: str | None = None
        """The content type of a 2xx response that says its body is something else (`http/content-type`, reported
        at the end, when it is known whether the body held events anyway)."""
        if status is not None and not 200 <= status < 300:
            self._error_body = bytearray()
        elif content_type is not None and "text/event-stream" not in content_type.lower() and sse_asked:
            self._said_type = content_type
        self.sse_asked = sse_asked
        """False for a request that asked for another streaming form (Gemini without `alt=sse`: one JSON array),
        which is not judged as SSE."""
        if self.protocol is not None:
            self._start(self.protocol)

    @property
    def not_a_stream(self) -> bool:
        """A 2xx body of no event that said it is something else (`http/content-type`: llm-mock's JSON answer to
        `stream: true`) or whose lines make one JSON error (Google's 404 body sent with status 200): an answer in
        one body, with no terminal event to wait for."""
        return self.events == 0 and (self._said_type is not None or self._json_error() is not None)

    @property
    def body_without_events(self) -> str | None:
        """The text of a body that held no event (an error answer, an answer in one body, a page of plain text),
        at most 64 KiB of an error answer and the lines of the others as the parser kept them; None for a stream."""
        if self._error_body is not None:
            return self._error_body.decode("utf-8", errors="replace")
        if self.events == 0 and self.parser.stray:
            return self._stray_text()
        return None

    @property
    def assembly(self) -> Assembly:
        if self.checker is not None:
            return self.checker.assembly
        if self._assembly is None:
            self._assembly = Assembly(self.protocol or GENERIC)
        return self._assembly

    def feed(self, chunk: bytes, t: float | None = None) -> list[Event]:
        """Parse and check one network chunk; returns the events it completed."""
        self.last_chunk_at = t
        if self._error_body is not None:
            self._error_body += chunk[: _ERROR_BODY_LIMIT - len(self._error_body)]
            return []
        return self._checked(self.parser.feed(chunk, t))

    def feed_texts(self, texts: list[str], times: list[float | None]) -> list[Event]:
        """Chunks given as text with their times, in one call (`SSEParser.feed_texts`): what `feed` does with each
        one's bytes."""
        if self._error_body is not None:
            return self.feed("".join(texts).encode(), times[-1] if times else None)
        if times:
            self.last_chunk_at = times[-1]
        if self.events_wanted:
            return self._checked(self.parser.feed_texts(texts, times))
        events: list[Event] = []
        parser, start, count = self.parser, 0, len(texts)
        while start < count:
            shape = self._shape
            if shape is not None and parser.between_events():
                taken = shape.take_texts(texts, start, parser.next_index, parser.last_id)
                if taken > start:
                    self._took(texts[start:taken])
                    start = taken
                    continue
                end = start + 1  # a chunk the shape does not take goes the full way, which may drop the shape
            else:
                end = start + _RUN
            events += self._checked(parser.feed_texts(texts[start:end], times[start:end]))
            start = end
        return events

    def _took(self, texts: list[str]) -> None:
        """Count what `DeltaShape.take_texts` took: one event per chunk, read between events."""
        self.parser.count_usual(texts)
        self.events += len(texts)
        self.last_index = self.parser.next_index - 1
        self._misses = 0

    def _checked(self, events: list[Event]) -> list[Event]:
        self._take_problems()  # first: the parser met each of them before it dispatched the event it is about
        position, count = 0, len(events)
        while position < count:
            if self._shape is not None:
                taken = self._shape.take(events, position)
                if taken > position:
                    self.events += taken - position
                    self.last_index = events[taken - 1].index
                    self._misses = 0
                    position = taken
                    continue
                self._shape = None  # it did not fit the next event
                self._misses += 1
                self._next_cut = self.events + (1 << min(self._misses, 10))
            self._event(events[position])
            position += 1
        return events

    def close(self, end_reason: str | None = None, *, broken_by: str | None = None,
              ended_at: float | None = None) -> list[Finding]:
        """End of stream: end-of-stream rules of every layer. Returns all findings, in event order.

        `end_reason` is the recording's (`complete`, `upstream-closed`, `client-disconnected`, `error`; None for a
        raw body). When the client went away or the recorder failed, the server never got to finish: its
        end-of-stream rules (a terminal event, closed items, and the body's own: a last event closed, an event at
        all) are not judged, and one warning says so. `broken_by`: the message of a connection the server broke
        mid-body (`End.broken_by`): the end rules say the client was told. `ended_at`: the end line's time.
        """
        if not self.answered:
            why = (f" ({break_shown(broken_by)})" if broken_by else
                   f" (the recording ended as `{end_reason}`)" if end_reason else "")
            self._report(HTTP_NO_RESPONSE(None, f"no response came{why}: no status, no headers, no body; the app got "
                                                "a connection error (through the recorder, mitmproxy's 502 page)"))
            return self.findings
        if self._error_body is not None:
            self._report(HTTP_STATUS(None, _status_message(self.status, bytes(self._error_body))))
            return self.findings
        self.parser.close()
        self._take_problems(closing=True)
        no_event = self.events == 0 and self.parser.unterminated is None
        if self._said_type is not None:
            self._report(HTTP_CONTENT_TYPE(None, _content_type_message(self._said_type, no_event)))
        if no_event and (self._error_body_read() or self._said_type is not None or not self.sse_asked):
            return self.findings  # a body of no event that said it is none (a JSON answer): said once, as that
        if not self.sse_asked and self.events:
            self._report(HTTP_NOT_ASKED(0, _NOT_ASKED_ARRAY if self.protocol == "gemini" else _NOT_ASKED_OBJECT))
        pending = self.parser.unterminated
        payload = _event_payload(pending.data) if pending is not None else None
        if self.protocol is None:  # NOTE: a lone event with no blank line after it names it too (a Gemini chunk)
            self._start((detect.from_payload(pending.type, payload) if pending is not None else None) or GENERIC)
        cut_short = end_reason in _NOT_ENDED_BY_SERVER  # the body did not end where the recording does
        lost_end = pending is not None and self.checker is not None and self.checker.ends_stream(payload)
        unterminated = None
        if pending is not None and not cut_short:
            whole = getattr(self.checker, "answer_whole", lambda: None)() if lost_end else None
            message = _unterminated_message(pending, payload, lost_end, self.protocol == "gemini", whole)
            also = getattr(self.checker, "lost_with_end", "") if lost_end else ""
            unterminated = SSE_UNTERMINATED(pending.index, f"{message}{also}")
        if self.events == 0 and pending is None and not cut_short:
            how = f": {broken_connection(broken_by)}" if broken_by else ""  # MLflow's gateway, on an upstream's 429
            self._report(SSE_NO_EVENTS(None, f"the body ended before any event was dispatched{how}"))
        if cut_short and (not self.assembly.ended or self.assembly.end_may_follow):
            silence = (ended_at - self.last_chunk_at if ended_at is not None and self.last_chunk_at is not None
                       else 0.0)
            silent = (f", {silence:.1f} s after the server's last bytes (it sent nothing meanwhile: a stall, or a "
                      "server waiting on its own upstream)" if silence >= STALL_SECONDS else "")
            self._report(SSE_NOT_ENDED(None, f"the recording ended as `{end_reason}` before the protocol's last "
                                             f"event{silent}: the server's end-of-stream rules are not judged"))
            cut = getattr(self.checker, "finish_cut", None)
            if cut is not None:
                self._report(*cut())
        elif self.checker is not None:
            self._report(*self._out_of_band())
            missing = self.checker.end_missing if lost_end else None  # said once: the lost end, by the SSE layer
            ended = self.assembly.ended  # then a break came after the protocol's end: said here, not a cut
            self.checker.connection_broke = None if ended else broken_by
            self.checker.ended_inside_event = pending is not None
            ends = [finding for finding in self.checker.finish(self.last_index) if finding.rule != missing]
            self._report(*_one_break(ends, unterminated, self.checker.end_missing))
            unterminated = None
            if self.request_body is not None and (over := self.checker.token_limit.judge(
                    self.request_body, self.assembly.usage)) is not None:
                self._report(over)
            if broken_by and ended:
                self._report(SSE_BROKEN_AFTER_END(None, f"the server broke the connection ({break_shown(broken_by)}) "
                                                        f"after the stream's last event (event {self.last_index}) "
                                                        f"came: {self.checker.broken_after_end}"))
        if unterminated is not None:
            self._report(unterminated)
        self.findings.extend(self._cap.unlisted())
        # in event order, findings about the stream as a whole last (the sort is stable)
        self.findings.sort(key=lambda finding: (finding.index is None, finding.index or 0))
        return self.findings

    def _error_body_read(self) -> bool:
        """A body of no event whose lines make one JSON `{"error": ...}` object: an HTTP error body read without
        its status (Google's 404 comes labelled `text/event-stream`). Judged as such, not as an empty stream."""
        payload = self._json_error()
        if payload is None:
            return False
        if self.protocol is None:
            self._start(detect.from_payload("message", payload) or GENERIC)
        error = payload["error"]
        if isinstance(error, dict):
            head = " ".join(str(error[key]) for key in ("code", "status") if type(error.get(key)) in (int, str))
            message = f"{head}: {error.get('message')}" if head else str(error.get("message"))
        else:
            message = str(error)
        self.assembly.error = message = message if len(message) <= 400 else message[:400] + "…"  # a cut is shown
        self._report(SSE_ERROR_BODY(None, f"the body is a JSON error, not an event stream: {message}"))
        return True

    def _json_error(self) -> dict[str, Any] | None:
        """The JSON `{"error": ...}` object the lines outside SSE syntax make, if they make one."""
        payload = _json_object(self._stray_text())
        return payload if payload is not None and "error" in payload else None

    def _stray_text(self) -> str:
        """The lines outside SSE field syntax, as the parser kept them (a body that is no stream is all such)."""
        return "\n".join(line for _, line in self.parser.stray)

    def _out_of_band(self) -> list[Finding]:
        """Lines SSE parsers drop or read quietly, for a protocol whose clients do not (Gemini): lines outside SSE
        field syntax, and comment, `retry:` and space-less `data:` lines. For the others, whose SDKs parse SSE as the
        spec does, the lines outside field syntax that carried data, which they drop."""
        judge = getattr(self.checker, "out_of_band", None)
        parser = self.parser
        if judge is not None:
            return judge(parser.stray, parser.unusual) if parser.stray or parser.unusual else []
        return _stray_data(parser.stray)

    def _event(self, event: Event) -> None:
        """The full way: an event the shape (if any) did not take."""
        self.events += 1
        self.last_index = event.index
        if event.data == "[DONE]":
            payload: Any = DONE
        else:
            try:
                # NOTE: pydantic-core's parser, about 3x `json.loads`; what it refuses, `json.loads` decides
                payload = from_json(event.data)
            except ValueError:
                payload = self._slow_json(event)
        if self._sniff:
            self._sniff -= 1
            self.looks_like = detect.from_payload(event.type, payload)
            if self.looks_like is not None:
                self._sniff = 0
        if self.protocol is None:
            self._held.append((event, payload))
            found = detect.from_payload(event.type, payload)
            if found is None and len(self._held) < _DETECT_WINDOW:
                return
            self._start(found or GENERIC)
            return
        if self.checker is not None:
            self._check(event, payload)

    def _slow_json(self, event: Event) -> Any:
        """`json.loads` decides what pydantic-core's parser refused: the payload, or a finding and UNREADABLE."""
        try:
            return json.loads(event.data)
        except ValueError as error:
            skipped = getattr(self.checker, "sdk_skips", None)
            unnamed = event.type == "message" and not event.named_message
            frames = "frames without an `event:` line" if unnamed else f"`{event.type}` frames"
            harm = ("an SDK raises on this event" if skipped is None or not skipped(event) else
                    f"the Python SDK skips {frames} unread, but a client that decodes every frame raises")
            self._report(
                SSE_INVALID_JSON(event.index, f"`data` of `{event.type}` is not JSON ({error}): "
                                              f"{_excerpt(event.data)}; {harm} (later findings take it as an event "
                                              "of unknown content)")
            )
        except RecursionError:
            self._report(self._too_deep(event, "decode"))
        return UNREADABLE

    def _too_deep(self, event: Event, step: str) -> Finding:
        """Nesting past Python's recursion limit: the protocol's Python SDK raises on it, unless it skips the frame
        unread (a `ping`: tried, llmock's hand-made one)."""
        skipped = getattr(self.checker, "sdk_skips", None)
        if skipped is not None and skipped(event):
            harm = (f"{_python_sdks(self.protocol, 'skip')} `{event.type}` frames unread, so only a client that "
                    "decodes every frame raises")
        else:
            harm = f"{_python_sdks(self.protocol, 'raise')} on it"
        return SSE_TOO_DEEP(event.index, f"the JSON of `{event.type}` nests too deeply to {step}: Python's decoder "
                                         f"raises `RecursionError` on such data; {harm}")

    def _check(self, event: Event, payload: Any) -> None:
        """The protocol checker's findings on one event (there is a checker: not a generic stream)."""
        checker: Checker = self.checker  # type: ignore[assignment]
        try:
            findings = checker.feed(event, payload)
        except RecursionError:  # NOTE: only absurdly nested JSON gets here; the checker is not recursion-safe
            self._report(self._too_deep(event, "check"))
            return
        if findings:
            self._report(*findings)
        elif self.fast_path and not self._sniff and self.events >= self._next_cut:
            offer = getattr(checker, "shape", None)
            self._shape = offer(event, payload) if offer is not None else None

    def _report(self, *findings: Finding) -> None:
        """List findings, up to `LISTED_PER_RULE` per rule; the rest are counted (memory stays flat)."""
        self.findings.extend(finding for finding in findings if self._cap.admit(finding))

    def _take_problems(self, closing: bool = False) -> None:
        """The parser's problems as findings, as they come (the parser's list would grow with the stream), once the
        protocol is known, what a problem does depending on its clients; `closing`: now, known or not."""
        if self.protocol is None and not closing:
            return  # detecting: held, as the events are, for at most the detection window
        for problem in self.parser.problems:
            if problem.kind == "invalid-utf8":
                self._report(SSE_INVALID_UTF8(problem.index, f"{problem.detail}: {_utf8_harm(self.protocol)}"))
        self.parser.problems.clear()

    def _start(self, protocol: str) -> None:
        self.protocol = protocol
        self.checker = checker_for(protocol, fresh_request=self.fresh_request, request_body=self.request_body)
        self._take_problems()  # met before the held events were dispatched
        held, self._held = self._held, []
        if self.checker is not None:
            for event, payload in held:
                self._check(event, payload)


def _utf8_harm(protocol: str | None) -> str:
    """What bytes that are not UTF-8 do to the protocol's clients (tried: the openai and anthropic Python SDKs decode
    each line strictly; python-genai and the TypeScript SDKs replace them)."""
    if protocol == "gemini":
        return "python-genai and @google/genai decode it as U+FFFD, so the text is damaged"
    return (f"{_python_sdks(protocol, 'raise')} `UnicodeDecodeError` at this event, which ends the app's stream; the "
            "TypeScript SDKs decode it as U+FFFD, so the text is damaged")


def check_bytes(data: bytes, protocol: str | None = None) -> StreamCheck:
    """Validate a whole raw SSE body (tests and small inputs)."""
    check = StreamCheck(protocol)
    check.feed(data)
    check.close()
    return check


_PYTHON_SDKS = {"openai-chat": "the openai Python SDK", "openai-responses": "the openai Python SDK",
                "anthropic-messages": "the anthropic Python SDK", "gemini": "python-genai"}
"""The protocol's Python SDK, as a finding names it."""


def _python_sdks(protocol: str | None, verb: str) -> str:
    """`the openai Python SDK raises`: the protocol's Python SDK and the verb, or, for a stream of no known
    protocol, both that read SSE strictly (`the openai and anthropic Python SDKs raise`)."""
    sdk = _PYTHON_SDKS.get(protocol or "")
    return f"{sdk} {verb}s" if sdk else f"the openai and anthropic Python SDKs {verb}"


def _excerpt(text: str, limit: int = 60) -> str:
    return repr(text if len(text) <= limit else text[:limit] + "…")


_NOT_ASKED_ARRAY = ("the request asked for its answer as one JSON array (`:streamGenerateContent` without `alt=sse`), "
                    "but the answer is an event stream: a client that reads the array it asked for cannot parse it "
                    "(llm-gemini 0.35 fails with a JSON lexical error; uni-api, which reads either form line by line, "
                    "copes); python-genai always asks for `alt=sse`")
_NOT_ASKED_OBJECT = ("the request did not ask for a stream (no `\"stream\": true` in its body), but the answer is an "
                     "event stream: the call that sent it reads one JSON object, and the openai and anthropic Python "
                     "SDKs hand the app the body as a string, which has no `choices` or `content` "
                     "(`AttributeError`)")


def _event_payload(data: str) -> Any:
    """An event's data as a checker takes it: `DONE`, the JSON value, or None when it is no JSON."""
    if data == "[DONE]":
        return DONE
    try:
        return json.loads(data)
    except (ValueError, RecursionError):
        return None


def _content_type_message(content_type: str, no_event: bool) -> str:
    said = f"expected `text/event-stream`, got `{content_type}`" if content_type else (
        "the response has no `content-type` header, where `text/event-stream` is expected")
    if no_event:
        return f"{said}: an SSE client cannot read this body as a stream"
    return (f"{said}: EventSource and the clients that check the type refuse the stream; the openai and anthropic "
            "Python SDKs read its events anyway")


def _one_break(ends: list[Finding], unterminated: Finding | None, end_missing: str) -> list[Finding]:
    """The end rules' findings, and the SSE layer's lost last event: where the body ended inside an event that was
    not the end, and the protocol's end is missing, that is one break (Open WebUI passing on a cut upstream), said
    once by the end's finding, where it broke, with the lost event in its words."""
    if unterminated is None:
        return ends
    for position, finding in enumerate(ends):
        if finding.rule == end_missing:
            ends[position] = replace(finding, index=unterminated.index,
                                     message=f"{finding.message}; {unterminated.message}")
            return ends
    return [*ends, unterminated]


def _unterminated_message(pending: Event, payload: Any, lost_end: bool, gemini: bool, whole: str | None = None) -> str:
    """`gemini`: python-genai reads `data: ` lines, not events, and takes a last one that no blank line closed (and
    raises when its JSON is cut too);
    `whole`: why the answer looks whole before it (Chat: every choice had its `finish_reason`), None if it does not."""
    kind = f"`{pending.type}`"
    if payload is DONE:
        kind = "`[DONE]`"
    elif pending.type == "message" and isinstance(payload, dict):
        if isinstance(payload.get("type"), str):
            kind = f"`{payload['type']}`"
        elif payload.get("choices") == [] and payload.get("usage") is not None:
            kind = "the usage chunk"  # what a Chat client loses with it (LangChain JS: no usage)
    lost = (f"so the stream's end is lost with it: the answer looks whole ({whole}), "
            "but a client that waits for the end to know the stream is over cannot tell this from a lost connection"
            if lost_end and whole else
            "so the stream's end is lost with it: the client cannot tell a finished answer from a lost connection"
            if lost_end else "so it is lost")
    if gemini:
        # NOTE: its JSON cut too, python-genai raises on the line (tried: google-adk and agno passed the error on)
        takes = "still takes it" if payload is not None else (
            "takes it and raises `UnknownApiResponseError` on its cut JSON")
        return (f"the body ended inside event {pending.index} ({kind}) with no blank line after it: an SSE "
                f"client (vercel's) never dispatches it, {lost}; python-genai, which reads `data: ` lines rather "
                f"than events, {takes}")
    return (f"the body ended inside event {pending.index} ({kind}) with no blank line after it: "
            f"a conformant client never dispatches it, {lost}")


def _json_object(text: str) -> dict[str, Any] | None:
    try:
        payload = json.loads(text)
    except (ValueError, RecursionError):
        return None
    return payload if isinstance(payload, dict) else None


def _stray_data(lines: list[tuple[int, str]]) -> list[Finding]:
    """One finding for the lines outside SSE field syntax that carried data: bare JSON, or a `data:` field glued
    after other text on one line (uni-api 1.7.252 writes an image chunk bare, with the next event glued to it). The
    spec ignores such a line, and so do the openai and anthropic Python SDKs' parsers: what it carried is lost."""
    carrying = [(index, line) for index, line in lines if line.lstrip()[:1] in ("{", "[") or "data:" in line]
    if not carrying:
        return []
    index, line = carrying[0]
    glued = ", the `data:` field glued to it included," if "data:" in line else ""
    return [SSE_STRAY_DATA(index, f"{len(carrying)} line(s) outside SSE field syntax carried data (the first: "
                                  f"`{_excerpt(line, 80)}`): SSE parsers, the SDKs' among them, drop such a line "
                                  f"whole{glued} so what it carried never reaches the app")]


def error_body_json(body: bytes) -> dict[str, Any] | None:
    """The JSON object of an error body: the body itself, or its first event's data, for an error sent as an event
    (`data: {"error": ...}`, as LiteLLM's proxy does)."""
    payload = _json_object(body.decode("utf-8", errors="replace").strip())
    if payload is None:
        parser = SSEParser()
        events = parser.feed(body) + parser.close()
        payload = _json_object(events[0].data) if events else None
    return payload


def _status_message(status: int | None, body: bytes) -> str:
    """`HTTP 401: Incorrect API key provided` from a JSON error body, or from one sent as an event
    (`data: {"error": ...}`, as LiteLLM's proxy does), or an excerpt of the body."""
    text = body.decode("utf-8", errors="replace").strip()
    payload = error_body_json(body)
    message = None
    if isinstance(payload, dict):
        error = payload.get("error", payload)
        if isinstance(error, dict):
            message = error.get("message")
        elif isinstance(error, str):
            message = error
    detail = message if isinstance(message, str) else (_excerpt(text, 120) if text else "empty body")
    return f"HTTP {status}: {detail}"
