"""Probe an endpoint that claims to speak a protocol: a few standard streaming requests, each recorded and judged.

Scenarios are data: per protocol, a table of request bodies (plain text; a tool call; usage requested; a low token
limit, `max_completion_tokens` for Chat) and of the expectation that goes with each. The limit must end the stream
with the protocol's length reason (`length`, `max_output_tokens`, `max_tokens`): that is an error when it does not
although the stream's usage shows the answer reached it (Chat asks for usage there too, once the endpoint accepted
the `usage` scenario's request). A stream that speaks another protocol than the one probed is said once, not judged
by the wrong rules. Each recording ends as the recorder would end it (`upstream-closed` for a body that stopped
before the terminal event). Each response is read as it streams (httpx), written to a recording (`RecordingWriter`,
source "probe", secrets redacted) and fed to a `StreamCheck` on the way. Protocol findings decide the verdict; what
a model may legitimately decline (calling the tool, reporting usage) is a note, a warning, never a failure. An
endpoint that cannot be probed at all (it cannot be reached, or it refuses the API key with 401 or 403) is not a
protocol finding: `run` raises `ProbeError`. The API key is passed in by the caller and leaves this module only
inside the request: every header that is written or shown goes through `redact.Policy`.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import closing
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console, ConsoleOptions, RenderResult
from rich.table import Table
from rich.text import Text

from . import __version__
from .escape import visible
from .findings import Finding, Severity
from .protocols.base import Assembly
from .recorder.stream import Ending
from .recorder.verdict import end_reason
from .recording import Header, RecordingWriter, now_iso
from .redact import Policy
from .validate import StreamCheck

TOOL_NAME = "get_weather"
_TEXT_PROMPT = "Say hello in one short sentence."
_TOOL_PROMPT = f"What is the weather in Paris right now? Use the {TOOL_NAME} tool."
_LONG_PROMPT = "Count from 1 to 100, one number per line."
_LOW_LIMIT = 16  # the lowest max_output_tokens OpenAI's Responses API accepts; tiny for the others too
_DESCRIBE_ENCODED_BODY = frozenset({"content-encoding", "content-length"})
_WEATHER_SCHEMA = {
    "type": "object",
    "properties": {"city": {"type": "string", "description": "City name"}},
    "required": ["city"],
}


# -- what to send, per protocol ------------------------------------------------------------------------------------

Body = dict[str, Any]
Check = Callable[[Assembly], list[str]]


def _no_check(assembly: Assembly) -> list[str]:
    return []


def _called_the_tool(assembly: Assembly) -> list[str]:
    """A model may answer in words instead of calling the tool: worth a warning, not a protocol failure."""
    calls = assembly.tool_calls
    if not calls:
        return [f"the model did not call the tool `{TOOL_NAME}` (it may decline; the stream itself is judged above)"]
    notes = [f"tool call names `{call.name}`, not `{TOOL_NAME}`" for call in calls if call.name != TOOL_NAME]
    for call in calls:
        try:
            json.loads(call.arguments)
        except ValueError:
            notes.append(f"the arguments of tool call `{call.name}` are not JSON: {call.arguments[:60]!r}")
        except RecursionError:  # a hostile endpoint's: no client can read them either
            notes.append(f"the arguments of tool call `{call.name}` nest too deeply to be read as JSON")
    return notes


def _reported_usage(assembly: Assembly) -> list[str]:
    return [] if assembly.usage else ["no token usage was reported although it was requested"]


def _stopped_at_the_limit(limit_field: str, reason: str) -> Check:
    """The endpoint must stop at a small token limit and say so with the protocol's length reason: a client tells a
    cut answer from a finished one by it. Said only of an answer that reached the limit by the stream's usage: an
    echo mock, or a model that declines, answers the long prompt in fewer tokens (`_under_the_limit` notes it)."""

    def check(assembly: Assembly) -> list[str]:
        if _finish(assembly) == reason:
            answer = _answer_tokens(assembly.usage)
            if answer is None or answer <= _LOW_LIMIT:
                return []
            return [f"asked for at most {_LOW_LIMIT} tokens (`{limit_field}`), the answer took {answer} by the "
                    f"stream's usage before `{reason}`: the endpoint ignores the limit (another one ended it)"]
        got = _ended_otherwise(assembly, reason)
        if got is None or not _reached_the_limit(_output_tokens(assembly.usage)):
            return []
        return [f"asked for at most {_LOW_LIMIT} tokens (`{limit_field}`), the stream ended with `{got}`, not "
                f"`{reason}`: the endpoint ignores the limit, or reports a cut answer as a finished one"]

    return check


def _output_tokens(usage: dict | None) -> int | None:
    """The tokens the limit counts, by the stream's usage: the answer's and its reasoning's (OpenAI and Anthropic
    count reasoning in their output field; Gemini apart, in `thoughtsTokenCount`)."""
    if not isinstance(usage, dict):
        return None
    for field_name in ("completion_tokens", "output_tokens"):
        if type(usage.get(field_name)) is int:
            return usage[field_name]
    if type(usage.get("candidatesTokenCount")) is int:
        thoughts = usage.get("thoughtsTokenCount")
        return usage["candidatesTokenCount"] + (thoughts if type(thoughts) is int else 0)
    return None


def _answer_tokens(usage: dict | None) -> int | None:
    """The answer's tokens that every protocol's limit counts, by the stream's usage (Gemini's thoughts left out:
    whether its limit counts them is not said)."""
    if isinstance(usage, dict) and type(usage.get("candidatesTokenCount")) is int:
        return usage["candidatesTokenCount"]
    return _output_tokens(usage)


def _under_the_limit(reason: str) -> Check:
    """The note for an answer that ended otherwise than with the length reason without reaching the limit by the
    stream's usage (an echo mock), or with no usage to tell: whether the endpoint stops at the limit is not known."""

    def check(assembly: Assembly) -> list[str]:
        used = _output_tokens(assembly.usage)
        if _finish(assembly) == reason:
            if used is not None:
                return []  # `_stopped_at_the_limit` judges it by the usage
            return [f"the stream ended with `{reason}` but reported no token usage: whether the answer stopped at "
                    f"the limit of {_LOW_LIMIT} tokens or at another one is not known"]
        if _ended_otherwise(assembly, reason) is None or _reached_the_limit(used):
            return []  # no finish at all (the protocol's rule says it), or `_stopped_at_the_limit` judges it
        if used is None:
            return [f"the stream reported no token usage, so whether its answer reached the limit of {_LOW_LIMIT} "
                    "tokens is not known, nor whether the endpoint stops at the limit"]
        return [f"the answer took {used} tokens by the stream's usage, under the limit of {_LOW_LIMIT}: whether "
                "the endpoint stops at the limit is not known"]

    return check


def _reached_the_limit(used: int | None) -> bool:
    """Whether the answer's tokens by the stream's usage (None: no usage) show it reached the limit."""
    return used is not None and used >= _LOW_LIMIT


def _finish(assembly: Assembly) -> str | None:
    """The stream's finish reason (its first output's, else the response's status)."""
    return (assembly.outputs[0].finish_reason if 0 in assembly.outputs else None) or assembly.status


def _ended_otherwise(assembly: Assembly, reason: str) -> str | None:
    """The stream's finish reason when it is not the length reason; None also when it has none, which the protocol's
    own missing-finish rule reports, once."""
    got = _finish(assembly)
    return None if got == reason else got


@dataclass(frozen=True)
class Scenario:
    name: str
    body: Callable[[str], Body]
    """The request body for a model name."""
    check: Check = _no_check
    """Notes (warnings): what a model may legitimately decline."""
    require: Check = _no_check
    """Problems (errors): what the endpoint must do whatever the model, judged once the stream is clean or ended
    the protocol's way (a stream cut short, or ended by an in-band error, cannot say how it would have ended)."""
    counts_tokens: bool = False
    """Judged by the answer's length: the request also asks for usage the `usage` scenario's way (`Dialect.
    usage_request`) once the endpoint accepted that scenario's request, never before (one that refuses the field
    would fail this scenario for it too)."""


@dataclass(frozen=True)
class Dialect:
    """How one protocol is spoken: the path under the base URL, the auth header, the scenarios."""

    protocol: str
    path: str
    key_env: str
    default_model: str
    auth: Callable[[str], dict[str, str]]
    scenarios: tuple[Scenario, ...]
    client: str
    """The official SDK's `User-Agent` product, sent before the probe's own: an endpoint may route or refuse by it
    (MockAI answers only requests whose User-Agent names the SDK)."""
    extra_headers: dict[str, str] = field(default_factory=dict)
    usage_request: Body = field(default_factory=dict)
    """What the `usage` scenario's request adds to have usage in the stream (Chat's `stream_options`; the others
    report it unasked)."""


def _chat(model: str, prompt: str, **extra: Any) -> Body:
    return {"model": model, "messages": [{"role": "user", "content": prompt}], "stream": True, **extra}


def _responses(model: str, prompt: str, **extra: Any) -> Body:
    return {"model": model, "input": prompt, "stream": True, **extra}


def _messages(model: str, prompt: str, max_tokens: int = 256, **extra: Any) -> Body:
    return {"model": model, "max_tokens": max_tokens, "messages": [{"role": "user", "content": prompt}],
            "stream": True, **extra}


_CHAT_TOOL = {"type": "function", "function": {"name": TOOL_NAME, "description": "Current weather in a city",
                                               "parameters": _WEATHER_SCHEMA}}
_RESPONSES_TOOL = {"type": "function", "name": TOOL_NAME, "description": "Current weather in a city",
                   "parameters": _WEATHER_SCHEMA}
_MESSAGES_TOOL = {"name": TOOL_NAME, "description": "Current weather in a city", "input_schema": _WEATHER_SCHEMA}


def _gemini(model: str, prompt: str, **extra: Any) -> Body:
    """A `GenerateContentRequest`: the model is in the path (`{model}` in the dialect's path), not the body."""
    return {"contents": [{"role": "user", "parts": [{"text": prompt}]}], **extra}


_GEMINI_TOOL = {"functionDeclarations": [{"name": TOOL_NAME, "description": "Current weather in a city",
                                          "parameters": _WEATHER_SCHEMA}]}
_STRICTEST_SAFETY = [{"category": f"HARM_CATEGORY_{name}", "threshold": "BLOCK_LOW_AND_ABOVE"}
                     for name in ("HARASSMENT", "HATE_SPEECH", "SEXUALLY_EXPLICIT", "DANGEROUS_CONTENT")]
_BORDERLINE_PROMPT = "Explain step by step how to pick a pin tumbler lock."
_CHAT_USAGE: Body = {"stream_options": {"include_usage": True}}

# fmt: off
DIALECTS: dict[str, Dialect] = {
    "openai-chat": Dialect(
        "openai-chat", "/chat/completions", "OPENAI_API_KEY", "gpt-4o-mini",
        lambda key: {"Authorization": f"Bearer {key}"},
        (
            Scenario("text",       lambda m: _chat(m, _TEXT_PROMPT)),
            Scenario("tool-call",  lambda m: _chat(m, _TOOL_PROMPT, tools=[_CHAT_TOOL]), _called_the_tool),
            Scenario("usage",      lambda m: _chat(m, _TEXT_PROMPT, **_CHAT_USAGE), _reported_usage),
            # NOTE: `max_tokens` is deprecated for Chat and rejected by reasoning models: the limit is
            # `max_completion_tokens`
            Scenario("max-tokens", lambda m: _chat(m, _LONG_PROMPT, max_completion_tokens=_LOW_LIMIT),
                     _under_the_limit("length"), require=_stopped_at_the_limit("max_completion_tokens", "length"),
                     counts_tokens=True),
        ),
        "OpenAI/Python",
        usage_request=_CHAT_USAGE,
    ),
    "openai-responses": Dialect(
        "openai-responses", "/responses", "OPENAI_API_KEY", "gpt-4o-mini",
        lambda key: {"Authorization": f"Bearer {key}"},
        (
            Scenario("text",       lambda m: _responses(m, _TEXT_PROMPT)),
            Scenario("tool-call",  lambda m: _responses(m, _TOOL_PROMPT, tools=[_RESPONSES_TOOL]), _called_the_tool),
            Scenario("usage",      lambda m: _responses(m, _TEXT_PROMPT), _reported_usage),  # always in .completed
            Scenario("max-tokens", lambda m: _responses(m, _LONG_PROMPT, max_output_tokens=_LOW_LIMIT),
                     _under_the_limit("max_output_tokens"),
                     require=_stopped_at_the_limit("max_output_tokens", "max_output_tokens"), counts_tokens=True),
        ),
        "OpenAI/Python",
    ),
    "anthropic-messages": Dialect(
        "anthropic-messages", "/v1/messages", "ANTHROPIC_API_KEY", "claude-haiku-4-5",
        lambda key: {"x-api-key": key},
        (
            Scenario("text",       lambda m: _messages(m, _TEXT_PROMPT)),
            Scenario("tool-call",  lambda m: _messages(m, _TOOL_PROMPT, tools=[_MESSAGES_TOOL]), _called_the_tool),
            Scenario("usage",      lambda m: _messages(m, _TEXT_PROMPT), _reported_usage),  # always in the stream
            Scenario("max-tokens", lambda m: _messages(m, _LONG_PROMPT, max_tokens=_LOW_LIMIT),
                     _under_the_limit("max_tokens"), require=_stopped_at_the_limit("max_tokens", "max_tokens"),
                     counts_tokens=True),
        ),
        "Anthropic/Python",
        {"anthropic-version": "2023-06-01"},
    ),
    "gemini": Dialect(
        "gemini", "/v1beta/models/{model}:streamGenerateContent?alt=sse", "GEMINI_API_KEY", "gemini-2.5-flash",
        lambda key: {"x-goog-api-key": key},
        (
            Scenario("text",       lambda m: _gemini(m, _TEXT_PROMPT)),
            Scenario("tool-call",  lambda m: _gemini(m, _TOOL_PROMPT, tools=[_GEMINI_TOOL]), _called_the_tool),
            Scenario("usage",      lambda m: _gemini(m, _TEXT_PROMPT), _reported_usage),  # on every chunk
            Scenario("max-tokens", lambda m: _gemini(m, _LONG_PROMPT, generationConfig={"maxOutputTokens": _LOW_LIMIT}),
                     _under_the_limit("MAX_TOKENS"),
                     require=_stopped_at_the_limit("generationConfig.maxOutputTokens", "MAX_TOKENS"),
                     counts_tokens=True),
            # the endpoint decides whether it blocks: a block (`promptFeedback.blockReason`), a `SAFETY` finish
            # and an answer are all judged as the stream they are
            Scenario("blocked-prompt", lambda m: _gemini(m, _BORDERLINE_PROMPT, safetySettings=_STRICTEST_SAFETY)),
        ),
        "google-genai-sdk",
    ),
}
# fmt: on
"""Paths follow the official SDKs' base URLs: OpenAI's includes `/v1`, Anthropic's and Google's do not (Gemini's
path names the model: `{model}`)."""


class ProbeError(Exception):
    """The endpoint cannot be probed at all; the message is one line."""


class Unreachable(ProbeError):
    """No scenario could connect: `cannot reach URL: connection refused`."""


class KeyRefused(ProbeError):
    """The endpoint answered 401 or 403: the API key is missing, wrong or not allowed there."""

    def __init__(self, url: str, status: int, phrase: str) -> None:
        super().__init__(f"{url} answered {status} {phrase}".rstrip())
        self.status = status


REFUSED_KEY = frozenset({401, 403})


# -- one scenario -------------------------------------------------------------------------------------------------


@dataclass
class ScenarioResult:
    scenario: str
    recording: Path | None = None
    status: int | None = None
    events: int = 0
    findings: list[Finding] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    """Probe-level warnings: what a model may legitimately do but the scenario hoped it would not."""
    failure: str | None = None
    """The request or the connection failed: no usable stream."""
    problems: list[str] = field(default_factory=list)
    """Probe-level errors: what the endpoint must do whatever the model (stop at a token limit)."""
    looks_like: str | None = None
    """The stream speaks this other protocol: its findings against the probed one are left out."""

    @property
    def errors(self) -> int:
        return (sum(finding.severity is Severity.ERROR for finding in self.findings) + (self.failure is not None)
                + len(self.problems) + (self.looks_like is not None))

    @property
    def warnings(self) -> int:
        return sum(finding.severity is Severity.WARNING for finding in self.findings) + len(self.notes)

    @property
    def verdict(self) -> str:
        return "fail" if self.errors else "warn" if self.warnings else "pass"


MAX_TIME = 300.0
"""`Probe.max_time`'s default: a reasoning model may think for minutes before a short answer."""


MAX_HELD = 64 << 20
"""`Probe.max_held`'s default, in bytes: a whole image in one event is a few MB."""


class _StoppedReading(Exception):
    """The probe stopped reading a stream: it ran for longer than `Probe.max_time`, or sent more than
    `Probe.max_held` bytes with no event's end."""


@dataclass
class Probe:
    """Everything one run needs. `api_key` may be None for endpoints without auth (a local server)."""

    base_url: str
    protocol: str
    out_dir: Path
    model: str | None = None
    api_key: str | None = None
    timeout: httpx.Timeout = field(default_factory=lambda: httpx.Timeout(60.0, connect=10.0))
    max_time: float = MAX_TIME
    """Seconds a scenario's stream may run: an endpoint that keeps a stream open (a comment now and then) must not
    hold the probe forever."""
    max_held: int = MAX_HELD
    """Bytes a stream may send with no event's end: the parser holds them, so an endless line from a hostile
    endpoint must not fill the memory before `max_time`."""
    transport: httpx.BaseTransport | None = None
    """None for the network; tests hand in an `httpx.MockTransport`."""

    @property
    def dialect(self) -> Dialect:
        return DIALECTS[self.protocol]

    @property
    def url(self) -> str:
        return self.base_url.rstrip("/") + self.dialect.path.format(model=self.model or self.dialect.default_model)

    def headers(self) -> dict[str, str]:
        headers = {"content-type": "application/json", "accept": "text/event-stream",
                   "user-agent": f"{self.dialect.client} sse-inspector/{__version__}", **self.dialect.extra_headers}
        if self.api_key:
            headers.update(self.dialect.auth(self.api_key))
        return headers

    def run(self) -> Iterator[ScenarioResult]:
        """Each scenario in turn, yielded as soon as its stream has ended. Raises `Unreachable` when the first
        scenario cannot connect and `KeyRefused` when the endpoint answers 401 or 403."""
        self.out_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        model = self.model or self.dialect.default_model
        usage_accepted = False
        # NOTE: a connection per scenario: a server may close a kept-alive connection as the next request goes out
        # on it (llama.cpp's does), which the SDKs retry but the probe would take for the endpoint failing
        with httpx.Client(timeout=self.timeout, transport=self.transport,
                          limits=httpx.Limits(max_keepalive_connections=0)) as client:
            for number, scenario in enumerate(self.dialect.scenarios):
                body = scenario.body(model)
                if scenario.counts_tokens and usage_accepted:
                    body = {**body, **self.dialect.usage_request}
                try:
                    result = self._one(client, scenario, body)
                except (httpx.ConnectError, httpx.ConnectTimeout) as error:
                    if number:  # it answered before: a scenario that fails, not an endpoint out of reach
                        yield ScenarioResult(scenario.name, failure=_describe(error))
                        continue
                    raise Unreachable(f"cannot reach {self.url}: {_connect_problem(error)}") from None
                if scenario.name == "usage":
                    usage_accepted = result.status is not None and 200 <= result.status < 300
                yield result

    def _one(self, client: httpx.Client, scenario: Scenario, body: Body) -> ScenarioResult:
        result = ScenarioResult(scenario.name)
        headers = self.headers()
        request = {"method": "POST", "url": Policy().url(self.url), "headers": Policy().headers(headers), "body": body}
        started_at, started = now_iso(), time.monotonic()
        check: StreamCheck | None = None
        hung_up: str | None = None
        broken: str | None = None
        try:
            with client.stream("POST", self.url, json=body, headers=headers) as response:
                if response.status_code in REFUSED_KEY:
                    raise KeyRefused(self.url, response.status_code, response.reason_phrase)
                result.status = response.status_code
                result.recording = self._path(scenario)
                check = StreamCheck(self.protocol, request_path=httpx.URL(self.url).path, request_method="POST",
                                    status=response.status_code, content_type=response.headers.get("content-type", ""))
                header = self._header(request, response, started_at)
                with closing(RecordingWriter(result.recording, header)) as writer:
                    self._stream(response, writer, check, started)
        except (httpx.ConnectError, httpx.ConnectTimeout):
            raise  # `run` decides: the endpoint is out of reach, or this scenario failed
        except httpx.HTTPError as error:
            result.failure = broken = _describe(error)  # as the recording's end line says it (`_stream`)
        except _StoppedReading as error:
            result.failure, hung_up = str(error), HUNG_UP  # the server's end-of-stream rules are not judged
        if check is None:
            return result
        check.close(hung_up, broken_by=broken)
        result.events = check.events
        if check.looks_like not in (None, self.protocol):
            result.looks_like = check.looks_like  # its findings against the wrong protocol would only be noise
            return result
        result.findings = list(check.findings)
        assembly = check.assembly
        if not result.errors or (assembly.ended and assembly.error is None):
            # the server ended the stream its protocol's way: how it ended is what it meant, whatever else broke
            result.problems = scenario.require(assembly)
            result.notes = scenario.check(assembly)
        elif (scenario.require is not _no_check or scenario.check is not _no_check) and (
                result.status is None or 200 <= result.status < 300):  # NOTE: an error status says it: no stream
            result.notes = [f"what the `{scenario.name}` scenario asks was not judged: the stream did not end the "
                            "protocol's way, so how it would have ended is not known"]
        return result

    def _header(self, request: dict[str, Any], response: httpx.Response, started_at: str) -> Header:
        """The recording header. httpx hands over decoded bytes, so (like the recorder) the headers that describe
        the encoded body are dropped and the encoding is noted."""
        encoding = response.headers.get("content-encoding", "identity").strip().lower()
        decoded = encoding != "identity"
        headers = [(name, value) for name, value in response.headers.multi_items()
                   if not (decoded and name.lower() in _DESCRIBE_ENCODED_BODY)]
        return Header(
            request=request, response={"status": response.status_code, "headers": Policy().headers(headers)},
            protocol=self.protocol, source="probe", id=uuid.uuid4().hex, started_at=started_at,
            extra={"decoded_from": encoding} if decoded else {},
        )

    def _stream(self, response: httpx.Response, writer: RecordingWriter, check: StreamCheck, started: float) -> None:
        """Record and check each chunk as it arrives; a broken connection still ends the recording, and so does a
        stream the probe stops reading (`_StoppedReading`): after `max_time` seconds, or `max_held` bytes with
        no event's end."""
        held = 0
        try:
            for chunk in response.iter_bytes():
                t = time.monotonic() - started
                writer.chunk(t, chunk)
                held = 0 if check.feed(chunk, t) else held + len(chunk)
                if (why := self._why_stop(t, held)) is not None:
                    writer.end(t, HUNG_UP, why)
                    raise _StoppedReading(why)
        except httpx.HTTPError as error:
            # the probe never hangs up by itself: a broken read is the server's doing
            writer.end(time.monotonic() - started, "upstream-closed", _describe(error))
            raise
        # as the recorder says it: an event stream whose body ended before the protocol's terminal event was cut
        # upstream; a body of another kind (one JSON answer) has no terminal event to wait for
        sse = "text/event-stream" in response.headers.get("content-type", "").lower()
        expects_terminal = (sse and check.checker is not None and check.status is not None
                            and 200 <= check.status < 300)
        reason, error = end_reason(Ending("response"), None, check.assembly.ended, expects_terminal)
        writer.end(time.monotonic() - started, reason, error)

    def _why_stop(self, t: float, held: int) -> str | None:
        if t > self.max_time:
            return f"the probe stopped reading after {self.max_time:g} s: the stream had not ended (--max-time)"
        if held > self.max_held:
            return f"the probe stopped reading: {held:,} bytes came with no event's end"
        return None

    def _path(self, scenario: Scenario) -> Path:
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        return self.out_dir / f"{stamp}-probe-{self.protocol}-{scenario.name}-{uuid.uuid4().hex[:6]}.jsonl"


HUNG_UP = "client-disconnected"
"""The end reason of a stream the probe stopped reading: the client's doing, as the recorder would say."""


def _describe(error: httpx.HTTPError) -> str:
    return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__


def _connect_problem(error: httpx.HTTPError) -> str:
    """`connection refused`, `name or service not known`: the operating system's words, else httpx's."""
    if isinstance(error, httpx.ConnectTimeout):
        return "no answer before the connect timeout"
    cause: BaseException | None = error
    while cause is not None:
        if isinstance(cause, OSError) and cause.strerror:
            return cause.strerror[:1].lower() + cause.strerror[1:]
        cause = cause.__cause__ or cause.__context__
    return str(error) or type(error).__name__


# -- the report ------------------------------------------------------------------------------------------------------


@dataclass
class ProbeReport:
    """The scenario x verdict table, then the findings and notes of each scenario; a rich renderable."""

    url: str
    protocol: str
    results: list[ScenarioResult]
    out_dir: Path | None = None
    max_details: int = 8
    """Findings and notes listed per scenario; the rest are counted (the recording keeps them all)."""

    @property
    def failed(self) -> bool:
        return any(result.errors for result in self.results)

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        table = Table(title=f"probe {self.protocol} at {self.url}", title_justify="left")
        for column in ("scenario", "verdict", "status", "events", "findings", "recording"):
            # NOTE: a recording's name folds, whole, rather than end in `…` (a pipe's 80 columns cut it)
            table.add_column(column, justify="right" if column in _NUMERIC_COLUMNS else "left",
                             overflow="fold" if column == "recording" else "ellipsis")
        for result in self.results:
            table.add_row(
                result.scenario, Text(result.verdict, style=_VERDICT_STYLE[result.verdict]),
                "-" if result.status is None else str(result.status), str(result.events), _counts(result),
                result.recording.name if result.recording else "-",
            )
        yield table
        for other in sorted({result.looks_like for result in self.results if result.looks_like}):
            names = ", ".join(result.scenario for result in self.results if result.looks_like == other)
            yield Text(f"error: the stream looks like `{other}`, not `{self.protocol}` ({names}): its findings "
                       f"against the `{self.protocol}` rules are left out; probe it with `--protocol {other}`")
        for result in self.results:
            details = list(_detail_lines(result))
            yield from details[: self.max_details]
            if len(details) > self.max_details:
                more = len(details) - self.max_details
                yield Text(f"{result.scenario}: ... and {more} more findings: sse-inspector validate "
                           f"{result.recording}", style="inspector.muted")
        if self.out_dir is not None and any(result.recording for result in self.results):
            yield Text(f"recordings in {self.out_dir}", style="inspector.muted")
        clean = sum(not result.errors for result in self.results)
        yield Text(f"{'FAIL' if self.failed else 'ok'}: {clean}/{len(self.results)} scenarios without errors",
                   style="inspector.fail" if self.failed else "inspector.pass")


_NUMERIC_COLUMNS = frozenset({"status", "events"})
_VERDICT_STYLE = {"pass": "inspector.pass", "warn": "inspector.warning", "fail": "inspector.fail"}
"""Theme names of the viewer's theme (`inspector.view.THEME`)."""


def _counts(result: ScenarioResult) -> str:
    parts = [f"{count} {word}{'s' if count != 1 else ''}"
             for count, word in ((result.errors, "error"), (result.warnings, "warning")) if count]
    return ", ".join(parts) or "-"


def _detail_lines(result: ScenarioResult) -> Iterator[Text]:
    """One line each: what the wire said (an error message, a finding quoting it) is shown with its newlines and
    controls as visible symbols, as `validate` shows it, so a server cannot write lines of its own into the report."""
    # NOTE: the probe's own lines first: when the list is capped, what it leaves out is findings, which `validate`
    # shows
    lines = [f"error: {result.failure}"] if result.failure else []
    lines += [f"error: {problem}" for problem in result.problems]
    lines += [f"warning: {note}" for note in result.notes]
    lines += [f"{finding.severity}{'' if finding.index is None else f' #{finding.index}'} {finding.rule}: "
              f"{finding.message}" for finding in result.findings]
    for line in lines:
        yield Text(f"{result.scenario}: {visible(line, one_line=True)}")
