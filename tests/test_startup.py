"""Start-up: each command imports only what it needs (checked by module names, never by timing)."""

import subprocess
import sys
from pathlib import Path

import pytest

CORPUS = Path(__file__).parent / "fixtures" / "corpus"
CHAT = CORPUS / "openai-chat" / "openai-python__text-plain.sse"

PROBE = """
import sys
from inspector.cli import main
sys.argv = ["sse-inspector", *sys.argv[1:]]
try:
    main()
except SystemExit:
    pass
inspector = (name for name in sys.modules if name.startswith("inspector."))
print(" ".join(sorted({name.split(".")[0] for name in sys.modules} | set(inspector))), file=sys.stderr)
"""


def imported_after(*args: str) -> set[str]:
    """The top-level modules (and inspector's own) a fresh interpreter holds after running the command."""
    done = subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True, text=True, timeout=120)
    return set(done.stderr.split())


def test_version_imports_no_checker_no_pydantic_no_rich() -> None:
    modules = imported_after("--version")
    assert not modules & {"pydantic", "pydantic_core", "rich", "mitmproxy", "httpx", "inspector.validate", "logging"}


def test_validate_of_a_chat_stream_loads_only_the_chat_checker() -> None:
    modules = imported_after("validate", str(CHAT))
    checkers = {name.split(".")[2] for name in modules if name.startswith("inspector.protocols.")}
    assert "openai_chat" in checkers and not checkers & {"openai_responses", "anthropic_messages"}
    assert not modules & {"rich", "mitmproxy"}


@pytest.mark.parametrize("stream, package", [
    pytest.param(CHAT, "openai_chat", id="chat"),
    pytest.param(CORPUS / "openai-responses" / "pydantic-ai__legacy-no-seq-text.sse", "openai_responses",
                 id="responses"),
    pytest.param(CORPUS / "anthropic-messages" / "vercel-ai__text.sse", "anthropic_messages", id="anthropic"),
    pytest.param(CORPUS / "gemini-generate-content" / "firebase-test-data__image-chunk-without-parts.sse", "gemini",
                 id="gemini"),
])
def test_validate_compiles_its_schemas_without_pydantic_models(stream, package) -> None:
    """The schemas are pydantic-core's: pydantic's Python layer (models, TypeAdapter, plugins) is not loaded."""
    modules = imported_after("validate", str(stream))
    assert "pydantic_core" in modules and f"inspector.protocols.{package}.models" in modules
    assert not modules & {"pydantic", "logging"}
