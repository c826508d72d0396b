"""The protocol checkers, by name: one package per protocol, each with the same parts.

- `models`: the schemas of the wire events (strict on what the docs require, open to extra fields), in the
  words of `schema` (pydantic-core); checkers validate each payload and read the decoded dict;
- `rules`: the rule table, every `rule(...)` the protocol registers, grouped by what they check;
- `checker`: the `Checker` state machine fed one event at a time;
- the assembly the viewer uses: `assembly` in anthropic_messages and gemini; in openai_chat and
  openai_responses it is built by the per-choice/per-item module (`choices`, `items`) beside its checks.

Packages load on first use, so a stream costs only its own protocol."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .base import Checker

GENERIC = "generic"

_MODULES = {
    "openai-responses": "openai_responses",
    "openai-chat": "openai_chat",
    "anthropic-messages": "anthropic_messages",
    "gemini": "gemini",
}

NAMES = (*_MODULES, GENERIC)


def checker_for(name: str, *, fresh_request: bool = False, request_body: Any = None) -> Checker | None:
    """A fresh checker for the protocol `name`; None for `generic` (only the SSE and JSON layers apply).

    `fresh_request`: the request is known to start a new response (a POST), so the stream cannot be a resume of an
    earlier one (only the protocols that can resume a stream, Responses, take this into account). `request_body`: the
    request's body as a recording keeps it, for the checkers that judge a stream against what was asked (Chat
    Completions: whether usage was asked for).
    """
    if name == GENERIC:
        return None
    module = importlib.import_module(f"{__name__}.{_MODULES[name]}.checker")
    checker = module.Checker()
    if fresh_request and hasattr(checker, "fresh_request"):
        checker.fresh_request = True
    if request_body is not None and hasattr(checker, "request_body"):
        checker.request_body = request_body
    return checker


def load_all_rules() -> None:
    """Import every protocol checker, and the stream layer that registers the `http/` and `sse/` rules, so that all
    rules are registered (for docs, listings and `--ignore`: a fresh `validate` refused every `sse/` rule)."""
    importlib.import_module("inspector.validate")
    for module in _MODULES.values():
        importlib.import_module(f"{__name__}.{module}.checker")
