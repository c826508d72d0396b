"""Semantic diff of two recordings: what the stream said and how it was shaped, not how it was cut.

Each input is run through the validator one chunk at a time and reduced to a `Digest`: the Assembly (text,
reasoning, refusal, tool calls, usage, status and finish reasons), the findings by rule id, the sequence of
event kinds with each run collapsed (`events`), and two times. Two digests are then compared aspect by
aspect (`ASPECTS`). Ids, `created` timestamps, `obfuscation` padding and the delta split never reach a
digest, so they never count.

`diff_paths(old, new)` also pairs two directories by relative file name; a file on one side only is a
difference.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from itertools import zip_longest
from pathlib import Path
from typing import TYPE_CHECKING

from ..findings import Finding
from ..inputs import InputError, Source, expand, open_source, streams_in
from ..protocols.base import Assembly, Output, ToolCall, broken_connection
from ..timing import TimingRecorder
from .events import Run, RunCollector, compare_runs
from .values import first_change, json_changes, parse_json, show, unified

if TYPE_CHECKING:
    from ..validate import StreamCheck


@dataclass(frozen=True, slots=True)
class Options:
    ignore_text: bool = False
    """Nondeterministic models: compare structure and tool calls only (no text, reasoning or refusal)."""
    usage: bool = False
    """Token counts vary from run to run; compare them only when asked."""
    timing_tolerance: float | None = None
    """Percent by which TTFT or duration may grow before it is a difference; None: times are not compared."""
    timing_floor: float = 0.0
    """Seconds a time must grow by as well: on a fast stream a few ms of noise are hundreds of percent."""
    protocol: str | None = None


@dataclass(frozen=True, slots=True)
class FindingTally:
    """The findings of one rule in one stream: how many, and the first (for the message)."""

    count: int
    first: Finding


@dataclass(slots=True)
class Digest:
    """What `diff` compares of one stream."""

    name: str
    assembly: Assembly
    findings: dict[str, FindingTally]
    runs: list[Run]
    http_status: int | None = None
    ttft: float | None = None
    """Time of the first content event (seconds since the request), None without times."""
    duration: float | None = None
    """Time of the last chunk, None without times."""
    body: str | None = None
    """The text of a body that held no event (an error answer, an answer in one body); None for a stream."""
    cut_short: str | None = None
    """How the stream stopped before it said its answer was over (a broken connection, a recording stopped early, a
    body that ended with no end and no stop or finish reason); None: it said so, or failed in words (an error)."""


@dataclass(frozen=True, slots=True)
class Difference:
    aspect: str
    """protocol, status, events, text, reasoning, refusal, body, tool_calls, usage, findings, timing, file,
    unreadable."""
    message: str
    detail: tuple[str, ...] = ()
    """Extra lines, e.g. a unified diff of the text."""

    def to_json(self) -> dict:
        return {"aspect": self.aspect, "message": self.message, "detail": list(self.detail)}


@dataclass(slots=True)
class PairResult:
    """One compared pair. A path is None for a file found on one side only (then there are no digests)."""

    name: str
    old_path: str | None
    new_path: str | None
    differences: list[Difference] = field(default_factory=list)
    old: Digest | None = None
    new: Digest | None = None
    readable: bool = True
    """False: a side could not be read; the one difference says why (the other pairs are compared all the same)."""

    @property
    def same(self) -> bool:
        return not self.differences


# -- reading -----------------------------------------------------------------------------------------------------


def digest(source: Source, protocol: str | None = None) -> Digest:
    """Validate one source and keep what `diff` compares."""
    check = source.check(protocol)
    runs = RunCollector()
    timer = TimingRecorder()
    for events in source.feed_to(check.feed, timer.chunk):
        runs.add(events)
        for event in events:
            timer.event(event)
        timer.first_token(check.assembly.first_content_index)
    check.close(source.end_reason, broken_by=source.broken_by, ended_at=source.ended_at)
    timer.first_token(check.assembly.first_content_index)
    tallies: dict[str, FindingTally] = {}
    for finding in check.findings:
        known = tallies.get(finding.rule)
        tallies[finding.rule] = (FindingTally(known.count + finding.count, known.first) if known
                                 else FindingTally(finding.count, finding))
    timing = timer.finish()  # NOTE: duration up to the last chunk, not the end line: when the data stopped
    status = source.header.status if source.header else None
    return Digest(
        source.name, check.assembly, tallies, runs.runs,
        http_status=status, ttft=timing.ttft, duration=timing.duration, body=check.body_without_events,
        cut_short=_cut_short(check, source, status),
    )


def _cut_short(check: StreamCheck, source: Source, status: int | None) -> str | None:
    """How a stream of a known protocol stopped before it said its answer was over, as every client sees it; None
    when it said so (its terminal event, or a stop or finish reason: Chat compat servers end without `[DONE]`), when
    it failed in words (an in-band error) or is no stream (an HTTP error answer: the status says it)."""
    assembly = check.assembly
    if (check.checker is None or assembly.ended or assembly.error is not None
            or status is not None and not 200 <= status < 300):
        return None
    if source.broken_by is not None:
        return broken_connection(source.broken_by)
    if source.end_reason in ("client-disconnected", "error"):
        return f"the recording ended as `{source.end_reason}` before the stream did: the server never got to finish"
    if assembly.status is None and not any(output.finish_reason for output in assembly.outputs.values()):
        return "the body ended before the protocol's last event, and no stop or finish reason said the answer was over"
    return None


# -- comparing ---------------------------------------------------------------------------------------------------

Aspect = Callable[[Digest, Digest, Options], Iterator[Difference]]


def _changed(label: str, old: object, new: object) -> str:
    return f"{label}: {show(old)} -> {show(new)}"


def _http_status(old: Digest, new: Digest, options: Options) -> Iterator[Difference]:
    """Shared by every protocol: a gateway that answers its upstream's 529 with a 200 differs here."""
    if old.http_status is not None and new.http_status is not None and old.http_status != new.http_status:
        yield Difference("status", _changed("http status", old.http_status, new.http_status))


def _status(old: Digest, new: Digest, options: Options) -> Iterator[Difference]:
    yield from _http_status(old, new, options)
    a, b = old.assembly, new.assembly
    if a.status != b.status:
        yield Difference("status", _changed("status", a.status, b.status))
    if a.error != b.error:
        yield Difference("status", _changed("error", a.error, b.error))
    compared = _compared(a, b)
    for index in sorted((set(a.outputs) ^ set(b.outputs)) - set(compared)):
        alone = a.outputs.get(index) or b.outputs[index]
        side = "missing" if index in a.outputs else "added"
        yield Difference("status", f"choice {index}: {side} (text of {len(alone.text)} characters, finish reason "
                                   f"{show(alone.finish_reason)})")
    for index in compared:
        before, after = _finish(a, index), _finish(b, index)
        restates_status = index == 0 and before == a.status and after == b.status
        if before != after and not restates_status:
            yield Difference("status", _changed(f"finish reason{_choice(a, b, index)}", before, after))


def _finish(assembly: Assembly, index: int) -> str | None:
    output = assembly.outputs.get(index)
    return output.finish_reason if output else None


def _choice(a: Assembly, b: Assembly, index: int) -> str:
    """` (choice 2)` when a stream has several choices, else nothing."""
    return f" (choice {index})" if len(a.outputs) > 1 or len(b.outputs) > 1 or index else ""


def _events(old: Digest, new: Digest, options: Options) -> Iterator[Difference]:
    for message in compare_runs(old.runs, new.runs):
        yield Difference("events", f"events: {message}")


_TEXTS: tuple[tuple[str, Callable[[Output], str]], ...] = (
    ("text", lambda output: output.text),
    ("reasoning", lambda output: output.reasoning),
    ("refusal", lambda output: output.refusal),
)


def _compared(a: Assembly, b: Assembly) -> list[int]:
    """The outputs (choices, candidates) compared field by field: those both streams have, and the first answer
    wherever it is (its loss is its text's and finish's to say); a later one only a stream has is said once, by
    `_status`."""
    old, new = set(a.outputs), set(b.outputs)
    return sorted(old & new | {0} & (old | new))


def _outputs(old: Digest, new: Digest) -> Iterator[tuple[int, Output, Output]]:
    a, b = old.assembly, new.assembly
    for index in _compared(a, b):
        yield index, a.outputs.get(index) or Output(index), b.outputs.get(index) or Output(index)


def _texts(old: Digest, new: Digest, options: Options) -> Iterator[Difference]:
    if options.ignore_text:
        return
    for index, before, after in _outputs(old, new):
        for aspect, read in _TEXTS:
            old_text, new_text = read(before), read(after)
            if old_text != new_text:
                label = f"{aspect}{_choice(old.assembly, new.assembly, index)}"
                yield Difference(aspect, f"{label}: changed {first_change(old_text, new_text)}",
                                 tuple(unified(old_text, new_text, label)))


def _tool_calls(old: Digest, new: Digest, options: Options) -> Iterator[Difference]:
    same_protocol = old.assembly.protocol == new.assembly.protocol  # else the block or item types differ by name
    for index, before, after in _outputs(old, new):
        choice = _choice(old.assembly, new.assembly, index)
        for position, (a, b) in enumerate(zip_longest(before.tool_calls, after.tool_calls)):
            name = f"{(a or b).name}{_server_run(a, b)}"
            for message in _tool_call_changes(a, b, kinds=same_protocol):
                yield Difference("tool_calls", f"tool call {position}{choice} {name}: {message}")


def _server_run(*calls: ToolCall | None) -> str:
    """` (server tool)` for a call the API ran on every side that has it (a web search, code execution): its
    record went missing, not a call the client had to run (who runs a call that changed sides is said apart)."""
    return " (server tool)" if all(call is None or not call.run_by_client for call in calls) else ""


def _runner(call: ToolCall) -> str:
    return "the client" if call.run_by_client else "the server"


def _tool_call_changes(a: ToolCall | None, b: ToolCall | None, *, kinds: bool = True) -> Iterator[str]:
    """What changed in the call at one position (`a` or `b` is None when only one stream has it); `kinds`: the
    item or block types that carried them are compared too."""
    if a is None or b is None:
        what, call = ("added", b) if a is None else ("missing", a)
        yield f"{what} (arguments {show(call.arguments)})"
        return
    if a.name != b.name:
        yield _changed("name", a.name, b.name)
    if kinds and a.kind != b.kind:
        yield _changed("kind", a.kind, b.kind)
    elif a.run_by_client != b.run_by_client:  # across protocols, who runs it is still shared
        yield _changed("run by", _runner(a), _runner(b))
    old_arguments, new_arguments = a.arguments, b.arguments
    if not kinds:  # across protocols: a Chat call without arguments streams none, an Anthropic one says `{}`
        old_arguments, new_arguments = old_arguments or "{}", new_arguments or "{}"
    (old_ok, old_value), (new_ok, new_value) = parse_json(old_arguments), parse_json(new_arguments)
    if old_ok and new_ok:
        yield from json_changes(old_value, new_value, "arguments")
    elif old_arguments != new_arguments:  # NOTE: the side that does not parse says so, not the label
        yield (f"arguments: {show(old_arguments)}{'' if old_ok else ' (not JSON)'} -> "
               f"{show(new_arguments)}{'' if new_ok else ' (not JSON)'}")


_VOLATILE_KEYS = frozenset({"id", "created", "created_at", "system_fingerprint", "responseId", "request_id",
                            "obfuscation"})
_USAGE_KEYS = frozenset({"usage", "usageMetadata"})


def _body(old: Digest, new: Digest, options: Options) -> Iterator[Difference]:
    """Two bodies that held no event (two error answers, two answers in one body): as JSON by path where both are
    JSON, leaving out what two runs always change (ids, timestamps; usage without `--usage`), else as text. An
    answer's words are left out with `--ignore-text`; an error's never are. A JSON error read from a 2xx body
    (Google's 404 sent as a stream) whose message changed is said once, by `_status`."""
    a, b = old.body, new.body
    if (a is None or b is None or a == b or old.assembly.error != new.assembly.error
            or options.ignore_text and not (_failed(old) or _failed(new))):
        return
    (old_ok, old_value), (new_ok, new_value) = parse_json(a), parse_json(b)
    if old_ok and new_ok:
        left_out = _VOLATILE_KEYS if options.usage else _VOLATILE_KEYS | _USAGE_KEYS
        for message in json_changes(_without(old_value, left_out), _without(new_value, left_out), "body"):
            yield Difference("body", message)
    else:
        yield Difference("body", f"body: changed {first_change(a, b)}", tuple(unified(a, b, "body")))


def _failed(digest: Digest) -> bool:
    return _http_failed(digest) or digest.assembly.error is not None


def _http_failed(digest: Digest) -> bool:
    """An HTTP error answer: no stream came, and `error: null` would misread it (codex-router-proxy's 429 upstream)."""
    return digest.http_status is not None and not 200 <= digest.http_status < 300


def _without(value: object, keys: frozenset[str]) -> object:
    """A JSON value with the given keys left out of every object in it."""
    if isinstance(value, dict):
        return {key: _without(item, keys) for key, item in value.items() if key not in keys}
    if isinstance(value, list):
        return [_without(item, keys) for item in value]
    return value


def _usage(old: Digest, new: Digest, options: Options) -> Iterator[Difference]:
    if options.usage:
        for message in json_changes(old.assembly.usage, new.assembly.usage, "usage"):
            yield Difference("usage", message)


def _findings(old: Digest, new: Digest, options: Options) -> Iterator[Difference]:
    for rule in sorted(set(old.findings) | set(new.findings)):
        before, after = old.findings.get(rule), new.findings.get(rule)
        old_count, new_count = before.count if before else 0, after.count if after else 0
        if old_count == new_count:
            continue
        if old_count == 0 or new_count == 0:
            what = "new finding" if old_count == 0 else "finding gone"
        else:
            what = f"{'more' if new_count > old_count else 'fewer'} findings ({old_count} -> {new_count})"
        example = after.first if new_count > old_count else before.first
        where = "end" if example.index is None else f"event {example.index}"
        yield Difference("findings", f"{what}: {rule} ({example.severity}) at {where}: {example.message}")


_TIMES: tuple[tuple[str, Callable[[Digest], float | None]], ...] = (
    ("TTFT", lambda digest: digest.ttft),
    ("duration", lambda digest: digest.duration),
)


def _timing(old: Digest, new: Digest, options: Options) -> Iterator[Difference]:
    if options.timing_tolerance is None:
        return
    for label, read in _TIMES:
        before, after = read(old), read(new)
        if before is None or after is None:
            continue
        allowed = max(before * (1 + options.timing_tolerance / 100), before + options.timing_floor)
        if after > allowed:
            growth = "" if before <= 0 else f", +{(after / before - 1) * 100:.0f}%"
            floor = f" and {options.timing_floor * 1000:g}ms" if options.timing_floor else ""
            yield Difference("timing", f"{label}: {before:.3f}s -> {after:.3f}s{growth} "
                                       f"(tolerance {options.timing_tolerance:g}%{floor})")


_TOLERANCE = re.compile(r"^\s*(?P<pct>\d+(\.\d+)?)\s*%?\s*(,\s*(?P<floor>\d+(\.\d+)?)\s*(?P<unit>ms|s)\s*)?$")


def parse_tolerance(value: str) -> tuple[float, float]:
    """`50`, `50%` or `50%,100ms` (`0.1s` too) -> (percent, floor in seconds); ValueError otherwise."""
    match = _TOLERANCE.match(value)
    if match is None:
        unit = " (the floor needs its unit: ms or s)" if re.fullmatch(r"[^,]*,\s*\d+(\.\d+)?\s*", value) else ""
        raise ValueError(f"expected PCT or PCT%,FLOOR (such as 50%,100ms), got {value!r}{unit}")
    floor = float(match["floor"] or 0) / (1000 if match["unit"] == "ms" else 1)
    return float(match["pct"]), floor


def _error_reported(old: Digest, new: Digest, options: Options) -> Iterator[Difference]:
    """Across protocols: whether each stream reported an in-band error (its words are each protocol's own). A
    gateway that ends a failed upstream as a clean answer differs here; one that breaks off instead says how."""
    a, b = old.assembly.error, new.assembly.error
    if (a is None) != (b is None) and not (_http_failed(old) or _http_failed(new)):  # NOTE: its status line says it
        yield Difference("status", _changed("error", a, b), tuple(_how_cut(old, new)))


def _cut(old: Digest, new: Digest, options: Options) -> Iterator[Difference]:
    """Across protocols: whether each stream stopped before it said its answer was over (the findings that say so
    are each protocol's own). A gateway that crashes mid-answer, or makes a cut upstream look whole, differs here;
    where one side failed in words instead, the error's line says so (`_error_reported`)."""
    if old.assembly.error is None and new.assembly.error is None and (old.cut_short is None) != (new.cut_short is None):
        yield Difference("status", _changed("cut short", old.cut_short is not None, new.cut_short is not None),
                         tuple(_how_cut(old, new)))


def _how_cut(old: Digest, new: Digest) -> Iterator[str]:
    """`new: the server broke the connection (…)`: how each side that was cut short ended."""
    for side, digest in (("old", old), ("new", new)):
        if digest.cut_short is not None:
            yield f"{side}: {digest.cut_short}"


# fmt: off
SHARED_ENDS: tuple[tuple[str, frozenset[str]], ...] = (
    # How an answer ended that every protocol can say, each in its own words (Chat's, Anthropic's, Gemini's and
    # Responses' finish reasons, stop reasons and statuses).
    ("cut at the token limit",  frozenset({"length", "max_tokens", "MAX_TOKENS", "max_output_tokens"})),
    ("refused or filtered",     frozenset({"content_filter", "refusal", "SAFETY", "PROHIBITED_CONTENT", "BLOCKLIST",
                                           "SPII", "IMAGE_SAFETY", "RECITATION"})),
    ("paused, to be continued", frozenset({"pause_turn"})),
    ("incomplete, no reason given", frozenset({"incomplete"})),  # Responses' status with no `incomplete_details`
)
# fmt: on


def _shared_ends(old: Digest, new: Digest, options: Options) -> Iterator[Difference]:
    """Across protocols: whether each answer was cut at the token limit, refused (or filtered), or paused for the
    client to continue. A gateway that ends such an upstream as a finished answer (y-router's `length` as
    `end_turn`, MLflow's `refusal` and `pause_turn` as `stop`) differs here."""
    for label, reasons in SHARED_ENDS:
        a, b = _ended_as(old.assembly, reasons), _ended_as(new.assembly, reasons)
        if a != b:
            yield Difference("status", _changed(label, a, b))


def _ended_as(assembly: Assembly, reasons: frozenset[str]) -> bool:
    status = assembly.status or ""
    return (status in reasons or status.removeprefix("prompt blocked: ") in reasons
            or any(output.finish_reason in reasons for output in assembly.outputs.values()))


ASPECTS: tuple[Aspect, ...] = (_status, _events, _texts, _body, _tool_calls, _usage, _findings, _timing)
"""Compared in this order, which is also the order of the report."""


ACROSS_PROTOCOLS: tuple[Aspect, ...] = (_http_status, _error_reported, _cut, _shared_ends, _texts, _tool_calls,
                                        _timing)
"""What two streams of different protocols still share, so a gateway's translation can be held to its upstream:
the HTTP status, whether an error was reported, whether the stream was cut short (broken off) and whether the
answer was cut at the token limit, refused or paused, the answer (text, reasoning, refusal, tool calls by name and
arguments) and its timing. Status words, error texts, event types, usage fields and rules are each protocol's
own."""


def compare(old: Digest, new: Digest, options: Options = Options()) -> list[Difference]:
    """Every difference between two digests; of streams of different protocols, that and `ACROSS_PROTOCOLS`."""
    if old.assembly.protocol != new.assembly.protocol:
        changed = Difference("protocol", _changed("protocol", old.assembly.protocol, new.assembly.protocol))
        return [changed, *(difference for aspect in ACROSS_PROTOCOLS for difference in aspect(old, new, options))]
    return [difference for aspect in ASPECTS for difference in aspect(old, new, options)]


# -- pairing -----------------------------------------------------------------------------------------------------


def diff_sources(old: Source, new: Source, options: Options = Options(), name: str | None = None) -> PairResult:
    before, after = digest(old, options.protocol), digest(new, options.protocol)
    return PairResult(name or new.name, old.name, new.name, compare(before, after, options), before, after)


def pairs(old: str, new: str) -> list[tuple[str, str | None, str | None]]:
    """(name, old path, new path) for two files, or for two directories paired by relative name.

    A directory against a file compares the file with the directory's file of the same name, as `diff` does.
    """
    old_dir, new_dir = _is_dir(old), _is_dir(new)
    if old_dir and new_dir:
        before, after = _listing(old), _listing(new)
        return [(name, before.get(name), after.get(name)) for name in sorted(set(before) | set(after))]
    if old_dir:
        expand([new])  # a missing file is named as the user typed it
        old = str(Path(old) / Path(new).name)
    elif new_dir:
        expand([old])
        new = str(Path(new) / Path(old).name)
    expand([old, new])  # raises InputError for a missing file
    return [(Path(new).name if new != "-" else Path(old).name, old, new)]


def _is_dir(path: str) -> bool:
    return path != "-" and Path(path).is_dir()


def _listing(directory: str) -> dict[str, str]:
    root = Path(directory)
    return {
        path.relative_to(root).as_posix(): str(path)
        for path in streams_in(root)
    }


def diff_paths(old: str, new: str, options: Options = Options()) -> Iterable[PairResult]:
    """Compare two files or two directories, one pair at a time. Unusable input raises InputError, except a
    broken file among several: its pair reports it (`readable` False) and the other pairs are still compared."""
    if old == "-" and new == "-":
        raise InputError("-: only one side can be stdin")
    found = pairs(old, new)
    for name, old_path, new_path in found:
        if old_path is None or new_path is None:
            side, present = ("new", new_path) if old_path is None else ("old", old_path)
            yield PairResult(name, old_path, new_path, [Difference("file", f"only in {side}: {present}")])
            continue
        try:
            result = diff_sources(open_source(old_path), open_source(new_path), options, name)
        except InputError as error:
            if len(found) == 1:
                raise
            result = PairResult(name, old_path, new_path, [Difference("unreadable", str(error))], readable=False)
        yield result
