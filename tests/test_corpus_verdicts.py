"""Every corpus stream gets the verdict `expectations.json` gives it (pass: no error; fail: at least one)."""

import json
from pathlib import Path

import pytest

from inspector.findings import Severity
from inspector.validate import check_bytes

CORPUS = Path(__file__).parent / "fixtures" / "corpus"
EXPECTATIONS = json.loads((CORPUS / "expectations.json").read_text())


@pytest.mark.parametrize(
    ("name", "verdict"), [pytest.param(name, verdict, id=name) for name, verdict in EXPECTATIONS.items()]
)
def test_corpus_verdict(name: str, verdict: str) -> None:
    protocol = name.split("/", 1)[0]
    check = check_bytes((CORPUS / name).read_bytes())
    assert check.protocol == protocol
    errors = [(f.rule, f.index, f.message) for f in check.findings if f.severity == Severity.ERROR]
    if verdict == "pass":
        assert errors == []
    elif verdict == "fail":
        assert errors
