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
    count: int = 1
    """How many findings this entry stands for: more than 1 only for the entry that closes a rule's list once
    `LISTED_PER_RULE` of it were listed (see `RuleCap`)."""

    def to_json(self) -> dict:
        found = {"rule": self.rule, "severity": str(self.severity), "index": self.index, "message": self.message}
        return found if self.count == 1 else {**found, "count": self.count}


RULES: dict[str, Rule] = {}


def rule(rule_id: str, severity: Severity, summary: str) -> Rule:
    """Register a rule; ids are unique across the whole tool."""
    if rule_id in RULES:
        raise ValueError(f"rule id {rule_id!r} is registered twice")
    registered = Rule(rule_id, severity, summary)
    RULES[rule_id] = registered
    return registered


LISTED_PER_RULE = 20


class RuleCap:
    """At most `limit` findings of a rule are listed; the rest are only counted, into one closing entry per rule.

    A stream that repeats one fault a million times (a million `data: x` events) then costs the same memory, and
    reads the same, as one that repeats it twenty-one times.
    """

    def __init__(self, limit: int = LISTED_PER_RULE) -> None:
        self.limit = limit
        self._listed: dict[str, int] = {}
        self._unlisted: dict[str, tuple[Finding, int]] = {}  # rule -> (its first unlisted finding, how many)

    def admit(self, finding: Finding) -> bool:
        """Whether to list `finding`; when not, it is counted."""
        listed = self._listed.get(finding.rule, 0)
        if listed < self.limit:
            self._listed[finding.rule] = listed + 1
            return True
        first, count = self._unlisted.get(finding.rule, (finding, 0))
        self._unlisted[finding.rule] = (first, count + 1)
        return False

    def unlisted(self) -> list[Finding]:
        """One entry per rule that went over the limit, at its first unlisted finding, standing for all of them."""
        return [
            Finding(first.rule, first.severity, first.index,
                    f"{count:,} more `{first.rule}` findings from here on are not listed (a rule lists its first "
                    f"{self.limit}); the first of them: {first.message}", count)
            for first, count in self._unlisted.values()
        ]


class Tally:
    """`errors` and `warnings` for anything that holds a `findings` list (a validated file, a viewed stream)."""

    findings: Sequence[Finding]

    @property
    def errors(self) -> int:
        return sum(finding.count for finding in self.findings if finding.severity == Severity.ERROR)

    @property
    def warnings(self) -> int:
        return sum(finding.count for finding in self.findings if finding.severity == Severity.WARNING)
