"""The protocol checkers, by name: one package per protocol, each with the same parts (models, rules, checker,
assembly). Packages load on first use, so a stream costs only its own protocol."""

from __future__ import annotations

import importlib

from .base import Checker

GENERIC = "generic"

_MODULES = {
    "openai-responses": "openai_responses",
    "openai-chat": "openai_chat",
    "anthropic-messages": "anthropic_messages",
}

NAMES = (*_MODULES, GENERIC)


def checker_for(name: str) -> Checker | None:
    """A fresh checker for the protocol `name`; None for `generic` (only the SSE and JSON layers apply)."""
    if name == GENERIC:
        return None
    module = importlib.import_module(f"{__name__}.{_MODULES[name]}.checker")
    return module.Checker()


def load_all_rules() -> None:
    """Import every protocol checker so that all rules are registered (for docs and listings)."""
    for module in _MODULES.values():
        importlib.import_module(f"{__name__}.{module}.checker")
