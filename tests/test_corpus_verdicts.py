"""Every corpus stream gets the verdict `expectations.json` gives it (pass: no error; fail: at least one)."""

import json
from pathlib import Path

import pytest

from inspector.findings import Severity
from inspector.validate import StreamCheck, check_bytes

CORPUS = Path(__file__).parent / "fixtures" / "corpus"
EXPECTATIONS = json.loads((CORPUS / "expectations.json").read_text())
# corpus folder -> protocol name, where they differ
PROTOCOL_OF_FOLDER = {"gemini-generate-content": "gemini"}
# Gemini streams are checked as the recorder sees them, with their request path (one of them has no Gemini field
# at all: only the path can tell, see test_gemini_corpus_detected_from_content)
REQUEST_PATH = {"gemini": "/v1beta/models/gemini-2.5-flash:streamGenerateContent"}
NOTHING_GEMINI_INSIDE = {"gemini-generate-content/firebase-test-data__synthetic-invalid-json.sse"}


@pytest.mark.parametrize(
    ("name", "verdict"), [pytest.param(name, verdict, id=name) for name, verdict in EXPECTATIONS.items()]
)
def test_corpus_verdict(name: str, verdict: str) -> None:
    folder = name.split("/", 1)[0]
    protocol = PROTOCOL_OF_FOLDER.get(folder, folder)
    check = StreamCheck(request_path=REQUEST_PATH.get(protocol))
    check.feed((CORPUS / name).read_bytes())
    check.close()
    assert check.protocol == protocol
    errors = [(f.rule, f.index, f.message) for f in check.findings if f.severity == Severity.ERROR]
    if verdict == "pass":
        assert errors == []
    elif verdict == "fail":
        assert errors


@pytest.mark.parametrize("name", [name for name in EXPECTATIONS if name.startswith("gemini-generate-content/")])
def test_gemini_corpus_detected_from_content(name: str) -> None:
    """Without a request path, the content alone names the protocol (but for a chunk with no Gemini field)."""
    check = check_bytes((CORPUS / name).read_bytes())
    assert (check.protocol == "gemini") is (name not in NOTHING_GEMINI_INSIDE)
