"""`docs/rules.md` documents exactly the registered rules, each with its registered severity."""

import re
from pathlib import Path

import inspector.validate  # noqa: F401  (registers the HTTP and SSE rules)
from inspector.findings import RULES
from inspector.protocols import load_all_rules

DOC = Path(__file__).parent.parent / "docs" / "rules.md"


def test_rules_doc_lists_exactly_the_registered_rules() -> None:
    load_all_rules()
    documented = dict(re.findall(r"^### `([a-z0-9/-]+)` \((error|warning)\)$", DOC.read_text(), re.M))
    assert documented == {rule_id: str(r.severity) for rule_id, r in RULES.items()}
