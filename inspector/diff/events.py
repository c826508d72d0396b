"""The shape of a stream for `diff`: its sequence of event kinds, each run of one kind collapsed.

Two runs of the same request cut their text into different deltas, so a run of `response.output_text.delta`
counts as one entry whatever its length (the length is kept for messages, never compared). What must show is
an event that went missing or appeared: a `response.output_text.done`, a finish chunk, the `[DONE]` frame.

The kind of an event is its SSE `event:` type; for frames without one (Chat Completions, some compat
servers) it is the payload's `type`, or for a Chat chunk a kind derived from what the chunk carries
(`chunk:role`, `chunk:content`, `chunk:tool_calls`, `chunk:finish`, `chunk:usage`, ...).
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from ..sse import Event

DONE_KIND = "[DONE]"
IGNORED_KINDS = frozenset({"ping"})
"""Keep-alives: how many come, and where, depends on the server's clock, not on the answer."""

_SHOWN_KINDS = 4  # kinds named in one message before "and N more"


def _text(value: Any) -> bool:
    return isinstance(value, str) and value != ""


# fmt: off
# What a Chat chunk carries, in the order the parts are named in its kind. Choice-level parts read
# (choice, delta); chunk-level parts read the chunk itself.
_CHOICE_PARTS: tuple[tuple[str, Callable[[dict, dict], bool]], ...] = (
    ("role",       lambda choice, delta: delta.get("role") is not None),
    ("reasoning",  lambda choice, delta: _text(delta.get("reasoning_content")) or _text(delta.get("reasoning"))),
    ("content",    lambda choice, delta: _text(delta.get("content"))),
    ("refusal",    lambda choice, delta: _text(delta.get("refusal"))),
    ("tool_calls", lambda choice, delta: bool(delta.get("tool_calls")) or bool(delta.get("function_call"))),
    ("finish",     lambda choice, delta: choice.get("finish_reason") is not None),
)
_CHUNK_PARTS: tuple[tuple[str, Callable[[dict], bool]], ...] = (
    ("usage",      lambda chunk: isinstance(chunk.get("usage"), dict)),
    ("moderation", lambda chunk: chunk.get("moderation") is not None),
    ("error",      lambda chunk: bool(chunk.get("error"))),
)
# fmt: on


def chat_kind(chunk: dict) -> str:
    """`chunk:content`, `chunk:finish+usage`, ...: the parts a Chat chunk carries, over all its choices."""
    choices = [choice for choice in chunk.get("choices") or () if isinstance(choice, dict)]
    present = set()
    for choice in choices:
        delta = choice.get("delta") if isinstance(choice.get("delta"), dict) else {}
        present.update(name for name, carries in _CHOICE_PARTS if carries(choice, delta))
    present.update(name for name, carries in _CHUNK_PARTS if carries(chunk))
    order = [name for name, _ in _CHOICE_PARTS] + [name for name, _ in _CHUNK_PARTS]
    return "chunk:" + ("+".join(name for name in order if name in present) or "empty")


_GEMINI_PARTS = ("thought", "text", "functionCall", "functionResponse", "executableCode", "codeExecutionResult",
                 "toolCall", "toolResponse", "inlineData", "fileData")


def gemini_kind(chunk: dict) -> str:
    """`candidate:thought`, `candidate:text+finish`, `promptFeedback:block`: what a Gemini chunk carries, for
    candidate 0 (usage rides on every chunk and is compared apart)."""
    candidates = chunk.get("candidates")
    candidate = candidates[0] if isinstance(candidates, list) and candidates and isinstance(candidates[0], dict) else {}
    content = candidate.get("content") if isinstance(candidate.get("content"), dict) else {}
    present = set()
    for part in content.get("parts") or () if isinstance(content.get("parts"), list) else ():
        if not isinstance(part, dict):
            continue
        for name in _GEMINI_PARTS[1:]:
            if part.get(name) is not None and (name != "text" or _text(part[name])):
                present.add("thought" if name == "text" and part.get("thought") is True else name)
    if candidate.get("finishReason") is not None:
        present.add("finish")
    if not candidate:
        feedback = chunk.get("promptFeedback")
        blocked = isinstance(feedback, dict) and feedback.get("blockReason") is not None
        return "promptFeedback:block" if blocked else "usage"
    return "candidate:" + ("+".join(name for name in (*_GEMINI_PARTS, "finish") if name in present) or "empty")


def event_kind(event: Event) -> str:
    """The kind `diff` compares for one event."""
    if event.type != "message":
        return event.type
    if event.data == "[DONE]":
        return DONE_KIND
    try:
        payload = json.loads(event.data)
    except (ValueError, RecursionError):
        return "message"  # not JSON (or too deep): the validator's `sse/invalid-json` (`sse/json-too-deep`) tells
    if not isinstance(payload, dict):
        return "message"
    if isinstance(payload.get("type"), str):
        return payload["type"]
    if isinstance(payload.get("choices"), list):
        return chat_kind(payload)
    if "error" in payload:
        return "error"
    if any(key in payload for key in ("candidates", "promptFeedback", "usageMetadata")):
        return gemini_kind(payload)
    return "message"


@dataclass(slots=True)
class Run:
    """Consecutive events of one kind."""

    kind: str
    count: int
    first_index: int

    def describe(self) -> str:
        return self.kind if self.count == 1 else f"{self.kind} ×{self.count}"

    def to_json(self) -> dict:
        return {"kind": self.kind, "count": self.count, "first_index": self.first_index}


class RunCollector:
    """Collapses the events of a stream, fed in the batches `StreamCheck.feed` returns, into runs."""

    def __init__(self) -> None:
        self.runs: list[Run] = []

    def add(self, events: Iterable[Event]) -> None:
        for event in events:
            kind = event_kind(event)
            if kind in IGNORED_KINDS:
                continue
            if self.runs and self.runs[-1].kind == kind:
                self.runs[-1].count += 1
            else:
                self.runs.append(Run(kind, 1, event.index))


def _names(runs: list[Run]) -> str:
    shown = ", ".join(run.kind for run in runs[:_SHOWN_KINDS])
    more = len(runs) - _SHOWN_KINDS
    return shown if more <= 0 else f"{shown} and {more} more"


def _after(runs: list[Run], position: int) -> str:
    return f"after {runs[position - 1].describe()}" if position > 0 else "at the start"


def compare_runs(old: list[Run], new: list[Run]) -> Iterator[str]:
    """One message per place where the kind sequences differ (run lengths never count)."""
    matcher = difflib.SequenceMatcher(None, [run.kind for run in old], [run.kind for run in new], autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "delete":
            where = f"old event {old[i1].first_index}"
            yield f"{_names(old[i1:i2])} missing {_after(old, i1)} ({where})"
        elif tag == "insert":
            where = f"new event {new[j1].first_index}"
            yield f"{_names(new[j1:j2])} added {_after(new, j1)} ({where})"
        elif tag == "replace":
            where = f"old event {old[i1].first_index}, new event {new[j1].first_index}"
            yield f"{_names(new[j1:j2])} instead of {_names(old[i1:i2])} {_after(old, i1)} ({where})"
