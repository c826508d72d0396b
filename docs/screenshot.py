"""Makes docs/html-report.png, the README's picture of `view --html`: run `python docs/screenshot.py`.

The stream is a real Anthropic Messages stream from the test corpus (text, a client tool call and a server tool
call), given times as a recording would have them, a 2 s wait while the server tool runs, and a `keepalive` event
that a proxy slipped in (an unknown event type: one warning, linked to its event). The page is opened in Debian's
chromium through playwright, as the tests do, and a timeline tick is hovered to show its tooltip.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from inspector.inputs import open_source  # noqa: E402
from inspector.recording import Header, RecordingWriter  # noqa: E402
from inspector.view.html import report_page  # noqa: E402
from inspector.view.model import inspect  # noqa: E402

STREAM = ROOT / "tests/fixtures/corpus/anthropic-messages/vercel-ai__text-tool-use-and-server-tool-use.sse"
REQUEST = {
    "model": "claude-sonnet-4-5", "max_tokens": 1024, "stream": True, "temperature": 0.3,
    "tools": [{"name": "read_note", "input_schema": {"type": "object"}},
              {"type": "tool_search_tool_bm25_20251119", "name": "tool_search"}],
    "messages": [{"role": "user", "content": "Add a bullet point to my note about the release."}],
}
RESPONSE_HEADERS = {
    "content-type": "text/event-stream; charset=utf-8", "request-id": "req_011CVd3Jx8sQw2", "x-api-key": "…wxyz",
    "anthropic-ratelimit-requests-remaining": "49", "anthropic-ratelimit-output-tokens-remaining": "7990",
}


def recording(directory: Path) -> Path:
    events = [block + b"\n\n" for block in STREAM.read_bytes().split(b"\n\n") if block.strip()]
    events.insert(20, b'event: keepalive\ndata: {"type":"keepalive"}\n\n')
    header = Header(
        request={"method": "POST", "url": "https://api.anthropic.com/v1/messages",
                 "headers": {"x-api-key": "…wxyz", "anthropic-version": "2023-06-01"}, "body": json.dumps(REQUEST)},
        response={"status": 200, "headers": RESPONSE_HEADERS}, protocol="anthropic-messages", source="proxy",
        id="screenshot", started_at="2026-11-21T05:00:00.000Z")
    path = directory / "20261121-050000.000-anthropic-messages-5f1c2a9b.jsonl"
    writer = RecordingWriter(path, header)
    t = 0.41
    for number, event in enumerate(events):
        t += 2.1 if number == 23 else 0.035  # the server tool runs for a while
        writer.chunk(round(t, 3), event)
    writer.end(round(t + 0.02, 3), "complete")
    return path


def main() -> None:
    with tempfile.TemporaryDirectory() as temporary:
        path = recording(Path(temporary))
        page_file = Path(temporary) / "report.html"
        source = open_source(str(path))
        source.name = path.name  # the page names the file as `view` run beside it would
        page_file.write_text(report_page(inspect(source, keep_events=True, keep_chunks=True)))
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=[
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--no-first-run"])
            page = browser.new_page(viewport={"width": 1280, "height": 1000})
            page.goto(page_file.as_uri())
            page.hover('#timeline .tick[data-event="23"]')
            page.screenshot(path=str(ROOT / "docs" / "html-report.png"))
            browser.close()


if __name__ == "__main__":
    main()
