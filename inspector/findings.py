"""Findings and the rule registry.

Every rule is declared once with `rule(...)`, next to the code that checks it; the registry is the single
source of truth for ids, severities and summaries (`docs/rules.md` must list exactly these ids, a test checks
it). Ids are forever: never rename or reuse one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum


class Severity(StrEnum):
    ERROR = "error"
    """A conformant client can break or lose data."""
    WARNING = "warning"
    """Allowed by the docs but suspicious, or an extension."""


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    severity: Severity
    summary: str

    def __call__(self, index: int | None, message: str) -> Finding:
        """A finding of this rule at event `index` (None: about the stream as a whole, e.g. its end)."""
        return Finding(self.id, self.severity, index, message)


@dataclass(frozen=True, slots=True)
class Finding:
    rule: str
    severity: Severity
    index: int | None
    message: str

    def to_json(self) -> dict:
        return {"rule": self.rule, "severity": str(self.severity), "index": self.index, "message": self.message}


RULES: dict[str, Rule] = {}


def rule(rule_id: str, severity: Severity, summary: str) -> Rule:
    """Register a rule; ids are unique across the whole tool."""
    if rule_id in RULES:
        raise ValueError(f"rule id {rule_id!r} is registered twice")
    registered = Rule(rule_id, severity, summary)
    RULES[rule_id] = registered
    return registered


class Tally:
    """`errors` and `warnings` for anything that holds a `findings` list (a validated file, a viewed stream)."""

    findings: Sequence[Finding]

    @property
    def errors(self) -> int:
        return sum(1 for finding in self.findings if finding.severity == Severity.ERROR)

    @property
    def warnings(self) -> int:
        return sum(1 for finding in self.findings if finding.severity == Severity.WARNING)
