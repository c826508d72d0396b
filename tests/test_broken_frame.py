"""One broken frame is one finding, where it is: later findings stay true of the wire.

The sweep cuts every frame of every corpus stream in half (mid-JSON) in turn. The cut frame gets its own
`sse/invalid-json`; any finding the whole stream did not already have must say what it owes to the unreadable
frame (it names that event), at most one of them is an error, and no finding claims anything about the cut frame
itself. The named cases are the false alarms that third-party endpoints showed.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
from msgspec.structs import replace

from inspector.findings import Finding, Severity
from inspector.sse import Event, SSEParser
from inspector.validate import StreamCheck, check_bytes

CORPUS = Path(__file__).parent / "fixtures" / "corpus"
STREAMS = sorted(path.relative_to(CORPUS).as_posix() for path in CORPUS.glob("*/*.sse"))
OWN = "sse/invalid-json"


def events_of(data: bytes) -> list[Event]:
    parser = SSEParser()
    events = parser.feed(data)
    parser.close()
    return events


def serialise(events: list[Event]) -> bytes:
    lines = []
    for event in events:
        if event.type != "message":
            lines.append(f"event: {event.type}\n")
        lines.extend(f"data: {line}\n" for line in event.data.split("\n"))
        lines.append("\n")
    return "".join(lines).encode()


def cut(events: list[Event], at: int) -> list[Event]:
    broken = list(events)
    broken[at] = replace(events[at], data=events[at].data[: max(1, len(events[at].data) // 2)])
    return broken


def beyond(findings: list[Finding], before: list[Finding], at: int) -> list[Finding]:
    """The findings of the cut stream that the whole stream did not have (by rule, counted), bar the frame's own."""
    budget = Counter(finding.rule for finding in before)
    extra = []
    for finding in findings:
        if finding.rule == OWN and finding.index == at:
            continue
        if budget[finding.rule]:
            budget[finding.rule] -= 1
        else:
            extra.append(finding)
    return extra


def retype(events: list[Event], at: int) -> list[Event] | None:
    """The frame with the field that places it (`output_index`, `index`, `response`, `message`, `delta`, or each
    choice's `index`) of the wrong JSON type: JSON, but schema-broken where the checker needs it."""
    payload = json.loads(events[at].data)
    if not isinstance(payload, dict):
        return None
    for key in ("output_index", "index", "response", "message", "delta"):
        if key in payload:
            payload[key] = "x" if key.endswith("index") else 1
            break
    else:
        choices = payload.get("choices")
        if not (isinstance(choices, list) and choices and all(isinstance(choice, dict) for choice in choices)):
            return None
        payload["choices"] = [{**choice, "index": "x"} for choice in choices]
    broken = list(events)
    broken[at] = replace(events[at], data=json.dumps(payload))
    return broken


def assert_one_finding_where_it_broke(name: str, events: list[Event], at: int, findings: list[Finding],
                                      before: list[Finding]) -> None:
    """Beyond what the whole stream had: one finding about the broken frame itself (its own; a schema finding may
    share the one the stream already had there), and later ones name the broken event and hold at most one error."""
    had = [(finding.rule, finding.index) for finding in before]
    about_it = [finding.rule for finding in findings if finding.index == at and (finding.rule, at) not in had
                and f"event {at}" not in finding.message]
    assert len(about_it) <= 1 and any(finding.index == at for finding in findings), f"{name}: {at}: {about_it}"
    extra = [finding for finding in beyond(findings, before, at) if finding.index != at]
    untold = [(finding.rule, finding.message) for finding in extra if f"event {at}" not in finding.message]
    assert untold == [], f"{name}: broken {at}: findings that do not say they rest on the broken event"
    errors = [finding.rule for finding in extra if finding.severity is Severity.ERROR]
    assert len(errors) <= 1, f"{name}: broken {at}: {errors}"


@pytest.mark.parametrize("name", STREAMS)
def test_every_cut_frame_is_one_finding_where_it_is(name: str) -> None:
    events = events_of((CORPUS / name).read_bytes())
    before = check_bytes(serialise(events)).findings
    for at, event in enumerate(events):
        if event.data == "[DONE]":
            continue  # not JSON to begin with
        findings = check_bytes(serialise(cut(events, at))).findings
        assert (OWN, at) in [(finding.rule, finding.index) for finding in findings], at
        assert_one_finding_where_it_broke(name, events, at, findings, before)


@pytest.mark.parametrize("name", STREAMS)
def test_every_schema_broken_frame_is_one_finding_where_it_is(name: str) -> None:
    events = events_of((CORPUS / name).read_bytes())
    before = check_bytes(serialise(events)).findings
    for at, event in enumerate(events):
        broken = None if event.data == "[DONE]" else retype(events, at)
        if broken is not None:
            assert_one_finding_where_it_broke(name, events, at, check_bytes(serialise(broken)).findings, before)


def findings_of(name: str, at: int, **check: str) -> list[tuple[str, int | None]]:
    stream = StreamCheck(**check)
    stream.feed(serialise(cut(events_of((CORPUS / name).read_bytes()), at)))
    return [(finding.rule, finding.index) for finding in stream.close()]


@pytest.mark.parametrize(
    ("name", "at", "check"),
    [
        # the number of the next event is on the wire, inside the broken frame: no `sequence-not-contiguous`
        ("openai-responses/vercel-ai__text-minimal.sse", 4, {}),
        # a broken `response.created` on `POST /v1/responses`: not a resume, not a stream without its start
        ("openai-responses/vercel-ai__text-minimal.sse", 0,
         {"request_path": "/v1/responses", "request_method": "POST"}),
        # a broken `output_item.added`: no `item-not-open` for its events, no `terminal-output-mismatch`
        ("openai-responses/vercel-ai__text-minimal.sse", 2, {}),
        ("openai-responses/vercel-ai__function-call.sse", 2, {}),
        # a broken `message_start`: the ping after it is not `ping-before-message-start`
        ("anthropic-messages/vercel-ai__text.sse", 0, {}),
        # a broken first chunk (the role chunk): no `role-missing`, no late role
        ("openai-chat/openai-python__text-plain.sse", 0, {}),
    ],
)
def test_a_broken_frame_is_the_only_finding(name: str, at: int, check: dict[str, str]) -> None:
    assert findings_of(name, at, **check) == [(OWN, at)]


def test_a_fresh_post_that_starts_past_zero_lost_its_start_and_is_no_resume() -> None:
    events = events_of((CORPUS / "openai-responses/vercel-ai__text-minimal.sse").read_bytes())[1:]
    stream = StreamCheck(request_path="/v1/responses", request_method="POST")
    stream.feed(serialise(events))
    assert [(finding.rule, finding.index) for finding in stream.close()] == [("responses/created-not-first", 0)]


def test_a_broken_last_event_says_it_may_have_been_the_terminal_one() -> None:
    events = events_of((CORPUS / "openai-responses/vercel-ai__text-minimal.sse").read_bytes())
    findings = check_bytes(serialise(cut(events, len(events) - 1))).findings
    assert [(finding.rule, finding.index) for finding in findings] == [(OWN, 8), ("responses/terminal-missing", 8)]
    assert "(event 8, the last one, could not be read and may have been it)" in findings[1].message


def test_a_schema_broken_item_event_is_one_finding() -> None:
    """A frame that is JSON but breaks its schema is as unknown as an unreadable one."""
    events = events_of((CORPUS / "openai-responses/vercel-ai__text-minimal.sse").read_bytes())
    payload = json.loads(events[2].data)
    payload["output_index"] = "0"
    events[2] = replace(events[2], data=json.dumps(payload))
    assert [(f.rule, f.index) for f in check_bytes(serialise(events)).findings] == [("responses/schema", 2)]
