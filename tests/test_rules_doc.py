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


PROTOCOLS_DOC = DOC.with_name("protocols.md")
ROOT = DOC.parent.parent


def _sections() -> dict[str, str]:
    """`A.3` -> the text of that section of docs/protocols.md (`0`, `A.1`, ..., `G.6`)."""
    text = PROTOCOLS_DOC.read_text()
    parts = re.split(r"^#{2,3} ([0-9A-G](?:\.[0-9])?)\.? ", text, flags=re.M)
    return dict(zip(parts[1::2], parts[2::2], strict=True))


def test_every_protocols_citation_in_the_rules_doc_names_a_section_that_exists() -> None:
    sections = _sections()
    cited = re.findall(r"§([0-9A-G](?:\.[0-9]+)?)(?: rules? ([0-9]+))?", DOC.read_text())
    assert cited
    for section, rule in cited:
        if section.startswith("D."):  # the checklist item n of the protocol's own list (1-10 each)
            assert 1 <= int(section[2:]) <= 10, section
            continue
        assert section in sections, f"rules.md cites §{section}, which docs/protocols.md does not have"
        if rule:
            assert re.search(rf"^{rule}\. ", sections[section], re.M), f"§{section} has no rule {rule}"


def test_the_repository_points_nowhere_outside_itself() -> None:
    """Docs and code cite docs/protocols.md, never the reading material the project was built from."""
    outside = re.compile("|".join(re.escape(word) for word in ("PROTOCOLS" + ".md", "PROTOCOLS" + "-gemini",
                                                               "DESIGN" + ".md", "../" + "shared", "/" + "work/")))
    files = [*ROOT.glob("*.md"), *ROOT.glob("*.toml"), *ROOT.glob("docs/**/*"), *ROOT.glob("inspector/**/*.py"),
             *ROOT.glob("tests/*.py"), *ROOT.glob("bench/**/*.py"), *ROOT.glob("addons/**/*.py"), ROOT / ".ci" / "run"]
    found = [f"{path.relative_to(ROOT)}: {match[0]}" for path in files if path.is_file()
             for match in [outside.search(path.read_text(errors="replace"))] if match]
    assert found == []
