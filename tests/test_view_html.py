"""The HTML report: a self-contained page per stream and an index per directory, checked as text and in a real
headless chromium (Debian's package, driven by playwright): findings lead to their events, the events table
expands and filters, the timeline tells what each tick is, the index sorts and filters, nothing is fetched."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path
from urllib.parse import unquote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from inspector.inputs import open_source
from inspector.recording import Header, RecordingWriter
from inspector.view.html import report_page
from inspector.view.model import inspect
from inspector.view.render import TEXT_LIMIT

CHROMIUM = "/usr/bin/chromium"
BROWSER_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--no-first-run"]
HOSTILE_TEXT = "Sure \u202eevil\u202c \x1b[2J</pre><script>window.pwned = 1</script>"


def chunk(delta: dict, finish: str | None = None) -> bytes:
    body = {"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "gpt-test",
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
    return f"data: {json.dumps(body)}\n\n".encode()


GOOD = [(0.3, chunk({"role": "assistant", "content": ""})), (0.5, chunk({"content": "Hel"})),
        (0.6, chunk({"content": "lo"})), (2.4, chunk({}, "stop")), (2.5, b"data: [DONE]\n\n")]
# event 2 is not JSON: one error finding pointing at it
BROKEN = [(0.3, chunk({"role": "assistant", "content": ""})), (0.5, chunk({"content": "Hi"})),
          (0.6, b"data: {oops\n\n"), (0.7, chunk({}, "stop")), (0.8, b"data: [DONE]\n\n")]


def record(directory: Path, name: str, chunks, *, started_at="2026-11-21T05:00:00.000Z", model="gpt-test",
           url="https://api.openai.com/v1/chat/completions") -> Path:
    header = Header(request={"method": "POST", "url": url, "headers": {},
                             "body": json.dumps({"model": model, "stream": True,
                                                 "messages": [{"role": "user", "content": "Say hello"}]})},
                    response={"status": 200, "headers": {"content-type": "text/event-stream", "x-request-id": "r1"}},
                    protocol="openai-chat", source="proxy", id=name, started_at=started_at)
    directory.mkdir(parents=True, exist_ok=True)
    writer = RecordingWriter(directory / name, header)
    for t, data in chunks:
        writer.chunk(t, data)
    writer.end(chunks[-1][0] + 0.05, "complete")
    return directory / name


def page_of(path: Path) -> str:
    return report_page(inspect(open_source(str(path)), keep_events=True, keep_chunks=True))


# -- as text ------------------------------------------------------------------------------------------------------


def test_a_page_is_self_contained(tmp_path: Path) -> None:
    page = page_of(record(tmp_path, "a.jsonl", GOOD))
    assert page.startswith("<!DOCTYPE html>")
    assert re.findall(r"<(?:link|img|iframe)\b|\bsrc=|https?://(?!api\.openai\.com)", page) == []
    assert (page.count("<script>"), page.count("<style>")) == (1, 1)


def test_wire_text_is_escaped_and_made_visible(tmp_path: Path) -> None:
    page = page_of(record(tmp_path, "a.jsonl", [(0.3, chunk({"role": "assistant", "content": HOSTILE_TEXT})),
                                                (0.4, chunk({}, "stop")), (0.5, b"data: [DONE]\n\n")]))
    assert ("\u202e" in page, "\x1b" in page, "window.pwned = 1</script>" in page) == (False, False, False)
    assert "Sure &lt;U+202E&gt;evil&lt;U+202C&gt; ␛[2J&lt;/pre&gt;&lt;script&gt;window.pwned = 1" in page


SECRET = "sk-proj-SECRETVALUE0123456789TAIL"


def test_the_page_shows_the_url_through_the_redaction_policy(run_cli, tmp_path: Path) -> None:
    """The heading carried the URL's query secret and its `user:password@`, which `view` and `view --json` drop."""
    url = f"https://user:{SECRET}@api.openai.com/v1/chat/completions?alt=sse&key={SECRET}"
    path = record(tmp_path / "r", "a.jsonl", GOOD, url=url)
    redacted = "https://api.openai.com/v1/chat/completions?alt=sse&amp;key=…TAIL"
    page = page_of(path)
    assert f"<h1>POST {redacted} <span" in page and f"<dd>{redacted}</dd>" in page
    assert run_cli("view", str(path), "--html", "-").out == page
    assert run_cli("view", str(tmp_path / "r"), "--html", str(tmp_path / "out")).code == 0
    for written in (page, *(page.read_text() for page in (tmp_path / "out").iterdir())):
        assert "SECRETVALUE" not in written and "user:" not in written


def test_events_carry_their_data_and_wire_text(tmp_path: Path) -> None:
    page = page_of(record(tmp_path, "a.jsonl", GOOD))
    assert page.count('<tr class="event') == 5
    raw = page[page.index('id="event-1"'):]
    raw = raw[raw.index('<pre class="raw">') + len('<pre class="raw">'):]
    assert raw[:raw.index("</pre>")] == chunk({"content": "Hel"}).decode()


def test_a_directory_gets_an_index_and_a_page_each(run_cli, tmp_path: Path) -> None:
    source = tmp_path / "recordings"
    record(source, "good.jsonl", GOOD)
    record(source / "sub", "broken.jsonl", BROKEN, started_at="2026-11-21T06:00:00.000Z")
    (source / "junk.jsonl").write_text("not a recording\n")
    out = tmp_path / "report"
    result = run_cli("view", str(source), "--html", str(out))
    assert (result.code, result.out, result.err) == (1, "", f"wrote {out / 'index.html'} and 2 pages\n")
    assert sorted(path.name for path in out.iterdir()) == ["good.jsonl.html", "index.html", "sub__broken.jsonl.html"]
    index = (out / "index.html").read_text()
    assert re.findall(r'<tr data-verdict="(\w+)"', index) == ["fail", "pass", "unreadable"]
    assert 'href="./sub__broken.jsonl.html"' in index and 'href="index.html"' in (out / "good.jsonl.html").read_text()
    assert {path.name: path.stat().st_mode & 0o777 for path in out.iterdir()} == dict.fromkeys(
        ["good.jsonl.html", "index.html", "sub__broken.jsonl.html"], 0o600)  # they hold prompts and answers


HOSTILE_NAMES = ["javascript:alert('xss').jsonl", "\x1b[2J\x1b]0;TITLE\x07name.jsonl", "new\nline.jsonl",
                 "\u202eevil_gpj.jsonl", "q?x#y%41 é.jsonl", "index.jsonl"]


def test_a_link_to_a_page_is_relative_and_the_page_is_named_safely(run_cli, tmp_path: Path) -> None:
    """A file named `javascript:...` linked as is ran script when clicked; an ESC went raw into the `href` (and the
    page's file name); a newline gave a link that did not resolve."""
    source = tmp_path / "recordings"
    for name in HOSTILE_NAMES:
        record(source, name, GOOD)
    record(source / "a", "b.jsonl", GOOD)
    record(source, "a__b.jsonl", GOOD)
    out = tmp_path / "report"
    assert run_cli("view", str(source), "--html", str(out)).code == 0
    hrefs = re.findall(r'<a href="([^"]*)"', (out / "index.html").read_text())
    assert len(hrefs) == len(HOSTILE_NAMES) + 2
    pages = sorted(path.name for path in out.iterdir())
    assert pages == sorted([*(unquote(html.unescape(href))[2:] for href in hrefs), "index.html"])
    assert "a__b.jsonl.html" in pages and "a__b.jsonl-2.html" in pages  # two pages never share a name
    assert all(re.fullmatch(r"[\w.-]+", page) for page in pages)
    assert all(href.startswith("./") and re.fullmatch(r"[\w.%/-]+", href) for href in hrefs)
    assert "./q_x_y_41_%C3%A9.jsonl.html" in hrefs


def test_a_directory_report_cannot_go_to_stdout(run_cli, tmp_path: Path) -> None:
    record(tmp_path / "r", "good.jsonl", GOOD)
    result = run_cli("view", str(tmp_path / "r"), "--html", "-")
    assert (result.code, result.out) == (2, "")
    assert result.err == ("sse-inspector: error: --html -: a directory's report is several pages: give a directory to "
                          "write them to\n")


# -- in the browser -----------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser():
    """One headless chromium for the module (Debian's /usr/bin/chromium; playwright downloads no browser here)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=BROWSER_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def open_page(browser):
    """Factory: open a file in a fresh page; a request for anything but a file beside it fails the test."""
    opened, fetched, errors = [], [], []

    def open_(path: Path):
        page = browser.new_page(viewport={"width": 1200, "height": 700})
        local = path.parent.as_uri() + "/"
        page.route("**/*", lambda route: route.continue_() if route.request.url.startswith(local)
                   else (fetched.append(route.request.url), route.abort()))
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(path.as_uri())
        opened.append(page)
        return page

    yield open_
    for page in opened:
        page.close()
    assert (fetched, errors) == ([], [])


def in_view(page, selector: str) -> bool:
    return page.eval_on_selector(selector, "e => { const r = e.getBoundingClientRect();"
                                           " return r.top >= 0 && r.bottom <= window.innerHeight; }")


@pytest.mark.slow
def test_clicking_a_finding_highlights_its_event(open_page, tmp_path: Path) -> None:
    many = BROKEN[:2] + [(0.5 + n / 100, chunk({"content": "x"})) for n in range(60)] + BROKEN[2:]
    path = tmp_path / "broken.html"
    path.write_text(page_of(record(tmp_path, "broken.jsonl", many)))
    page = open_page(path)
    assert page.inner_text("a.finding") == "event 62"
    assert not in_view(page, "#event-62")
    page.click("a.finding")
    assert page.eval_on_selector_all("tr.highlight", "rows => rows.map(r => r.id)") == ["event-62"]
    assert in_view(page, "#event-62")
    assert page.is_visible("#event-62 + tr.detail pre.raw")
    assert page.inner_text("#event-62 + tr.detail pre.raw") == "data: {oops\n\n"


@pytest.mark.slow
def test_the_events_filter_by_type_and_expand(open_page, tmp_path: Path) -> None:
    source = record(tmp_path, "anthropic.jsonl", [(0.2, (Path(__file__).parent / "fixtures" / "corpus" /
                                                        "anthropic-messages" / "vercel-ai__text.sse").read_bytes())])
    path = tmp_path / "a.html"
    path.write_text(page_of(source))
    page = open_page(path)
    page.select_option("#event-type", "content_block_delta")
    shown = page.eval_on_selector_all("tr.event", "rows => rows.filter(r => !r.hidden).map(r => r.dataset.type)")
    assert set(shown) == {"content_block_delta"} and page.inner_text("#event-count") == str(len(shown))
    first = page.eval_on_selector_all("tr.event", "rows => rows.find(r => !r.hidden).id")
    assert not page.is_visible(f"#{first} + tr.detail")
    page.click(f"#{first}")
    data = page.inner_text(f"#{first} + tr.detail pre.data")
    assert data.startswith('{\n  "type": "content_block_delta",\n  "index": 0,\n')
    assert page.inner_text(f"#{first} + tr.detail pre.raw").startswith("event: content_block_delta\ndata: {")


@pytest.mark.slow
def test_a_timeline_tick_tells_what_it_is_and_leads_to_its_event(open_page, tmp_path: Path) -> None:
    path = tmp_path / "good.html"
    path.write_text(page_of(record(tmp_path, "good.jsonl", GOOD)))
    page = open_page(path)
    assert page.eval_on_selector_all("#timeline .marker", "lines => lines.map(l => l.classList[1])") == [
        "ttfb", "first-event", "ttft"]
    assert page.eval_on_selector_all("#timeline .stall", "rects => rects.length") == 1
    tick = '#timeline .tick[data-event="3"]'
    page.hover(tick)
    assert page.inner_text("#timeline .tip") == f"#3 · 2.400 s · message · {len(GOOD[3][1])} B · gap 1.800 s"
    page.click(tick)
    assert page.eval_on_selector_all("tr.highlight", "rows => rows.map(r => r.id)") == ["event-3"]


@pytest.mark.slow
def test_the_index_filters_by_verdict_and_sorts(run_cli, open_page, tmp_path: Path) -> None:
    source = tmp_path / "recordings"
    record(source, "slow.jsonl", [(t + 1, data) for t, data in GOOD], started_at="2026-11-21T04:00:00.000Z")
    record(source, "good.jsonl", GOOD, started_at="2026-11-21T05:00:00.000Z")
    record(source, "broken.jsonl", [(t + 0.2, data) for t, data in BROKEN], started_at="2026-11-21T06:00:00.000Z")
    assert run_cli("view", str(source), "--html", str(tmp_path / "out")).code == 1
    page = open_page(tmp_path / "out" / "index.html")
    names = "rows => rows.filter(r => !r.hidden).map(r => r.cells[9].innerText)"
    assert page.eval_on_selector_all("#recordings tbody tr", names) == ["broken.jsonl", "good.jsonl", "slow.jsonl"]
    page.select_option("#filter-verdict", "fail")
    assert page.eval_on_selector_all("#recordings tbody tr", names) == ["broken.jsonl"]
    assert page.inner_text("#recording-count") == "1"
    page.select_option("#filter-verdict", "")
    page.click("#recordings th:has-text('TTFT s')")
    assert page.eval_on_selector_all("#recordings tbody tr", names) == ["good.jsonl", "broken.jsonl", "slow.jsonl"]
    page.click("#recordings th:has-text('TTFT s')")
    assert page.eval_on_selector_all("#recordings tbody tr", names) == ["slow.jsonl", "broken.jsonl", "good.jsonl"]
    page.fill("#filter-text", "BROKEN")
    assert page.eval_on_selector_all("#recordings tbody tr", names) == ["broken.jsonl"]
    page.click("text=broken.jsonl")
    assert page.inner_text("#verdict") == "FAIL"


@pytest.mark.slow
def test_every_link_of_the_index_opens_its_page_and_none_runs_script(run_cli, open_page, tmp_path: Path) -> None:
    source = tmp_path / "recordings"
    for name in HOSTILE_NAMES:
        record(source, name, GOOD)
    assert run_cli("view", str(source), "--html", str(tmp_path / "out")).code == 0
    page = open_page(tmp_path / "out" / "index.html")
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    for number in range(len(HOSTILE_NAMES)):
        page.locator("#recordings tbody a").nth(number).click()
        page.wait_for_load_state()
        assert page.inner_text("#verdict") == "pass"
        page.go_back()
    assert dialogs == []


@pytest.mark.slow
def test_hostile_wire_text_stays_text_in_the_browser(open_page, tmp_path: Path) -> None:
    path = tmp_path / "hostile.html"
    path.write_text(page_of(record(tmp_path, "h.jsonl", [(0.3, chunk({"role": "assistant", "content": HOSTILE_TEXT})),
                                                         (0.4, chunk({}, "stop")), (0.5, b"data: [DONE]\n\n")])))
    page = open_page(path)
    assert page.evaluate("window.pwned") is None
    assert page.evaluate("document.scripts.length") == 1
    assert page.inner_text(".answer-text") == "Sure <U+202E>evil<U+202C> ␛[2J</pre><script>window.pwned = 1</script>"


def test_a_non_streamed_error_answer_has_its_pane(tmp_path: Path) -> None:
    header = Header(request={"method": "POST", "url": "https://api.anthropic.com/v1/messages", "headers": {}},
                    response={"status": 429, "headers": {"content-type": "application/json", "retry-after": "7"}},
                    protocol="anthropic-messages", source="proxy", id="e", started_at="2026-11-21T05:00:00.000Z")
    writer = RecordingWriter(tmp_path / "e.jsonl", header)
    writer.chunk(0.2, b'{"type":"error","error":{"type":"rate_limit_error","message":"Slow down"}}')
    writer.end(0.25, "complete")
    page = page_of(tmp_path / "e.jsonl")
    pane = page[page.index('<div class="pane error-answer" id="response">'):]
    pane = pane[:pane.index("</div>")]
    assert "<dt>retry-after</dt><dd>7</dd>" in pane
    assert '<h3>error answer: HTTP 429, not an event stream</h3><p class="sev-error">rate_limit_error: Slow down</p>' \
           in pane
    assert '&quot;' not in pane and '"message": "Slow down"' in pane


PAGE_TAGS = {prefix + tag for prefix in ("", "/") for tag in (
    "html", "head", "meta", "title", "style", "body", "header", "h1", "h2", "h3", "span", "div", "b", "nav", "a",
    "main", "section", "svg", "rect", "line", "text", "p", "table", "thead", "tbody", "tr", "th", "td", "pre", "dl",
    "dt", "dd", "details", "summary", "label", "select", "option", "input", "footer", "script", "br", "button")}
"""The elements the report itself writes: wire text never adds one."""
UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(), name=st.text(min_size=1), kind=st.text(alphabet=st.characters(blacklist_characters="\r\n:"),
                                                               min_size=1))
def test_no_wire_text_reaches_the_page_unescaped(tmp_path_factory, text: str, name: str, kind: str) -> None:
    """Any text in a delta, a tool name or an event type: the page holds no control, bidi override or lone
    surrogate, and no markup but its own."""
    tool = {"tool_calls": [{"index": 0, "id": "c1", "type": "function", "function": {"name": name, "arguments": "{}"}}]}
    events = [json.dumps({"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m",
                          "choices": [{"index": 0, "delta": delta, "finish_reason": None}]}).encode()
              for delta in ({"role": "assistant", "content": text}, tool)]
    chunks = [(0.1, b"data: " + events[0] + b"\n\n"), (0.2, b"event: " + kind.encode("utf-8", "surrogatepass")
                                                        + b"\ndata: " + events[1] + b"\n\n"),
              (0.3, b"data: [DONE]\n\n")]
    page = page_of(record(tmp_path_factory.mktemp("h"), "h.jsonl", chunks))
    assert UNSAFE.findall(page) == []
    assert set(re.findall(r"<(/?[a-zA-Z][\w-]*)", page)) <= PAGE_TAGS
    assert (page.count("<script"), page.count("<style")) == (1, 1)


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda inner: st.lists(inner) | st.dictionaries(st.text(), inner), max_leaves=30)


@settings(max_examples=80, deadline=None)
@given(value=JSON_VALUES)
def test_json_is_laid_out_as_json_dumps_would_keeping_what_was_written(value) -> None:
    from inspector.view.html import indent_json

    for written in (json.dumps(value), json.dumps(value, separators=(",", ":")), json.dumps(value, indent=4)):
        assert indent_json(written) == json.dumps(value, indent=2)
    assert indent_json('{"a": "é\\u00e9", "n": 1.50e3}') == '{\n  "a": "é\\u00e9",\n  "n": 1.50e3\n}'


def test_the_answer_shows_which_event_carried_each_piece(tmp_path: Path) -> None:
    page = page_of(record(tmp_path, "good.jsonl", GOOD))
    text = page[page.index('<div class="text answer-text"><pre>'):]
    assert text[:text.index("</pre>")].split("<pre>")[1] == (
        '<span class="piece" data-event="1" data-t="0.5" title="event 1 at 0.500 s">Hel</span>'
        '<span class="piece" data-event="2" data-t="0.6" title="event 2 at 0.600 s">lo</span>')


def test_a_huge_answer_is_cut_with_the_terminal_views_marker(tmp_path: Path) -> None:
    chunks = [(0.3, chunk({"role": "assistant", "content": ""})), (0.5, chunk({"content": "a" * (TEXT_LIMIT - 1)})),
              (0.6, chunk({"content": "Z" + "b" * 5000})), (0.7, chunk({}, "stop")), (0.8, b"data: [DONE]\n\n")]
    page = page_of(record(tmp_path, "long.jsonl", chunks))
    answer = page[page.index('<div class="text answer-text"><pre>'):]
    answer = answer[:answer.index("</pre>")]
    assert answer.endswith('title="event 2 at 0.600 s">Z</span><span class="muted cut">\n… 5,000 more characters '
                           "not shown here (`view --json` shows the whole text)</span>")
    assert "b" not in answer.replace("title=", "")


@pytest.mark.slow
def test_the_answer_replays_and_its_pieces_lead_to_their_events(open_page, tmp_path: Path) -> None:
    path = tmp_path / "good.html"
    path.write_text(page_of(record(tmp_path, "good.jsonl", GOOD)))
    page = open_page(path)
    page.click("#answer .piece >> nth=1")
    assert page.eval_on_selector_all("tr.highlight", "rows => rows.map(r => r.id)") == ["event-2"]
    # the page's timers are collected, not run, so the test sees the pace without waiting for it
    page.evaluate("window.timers = []; window.setTimeout = (run, ms) => window.timers.push([run, ms])")
    page.click("#replay")
    pending = "pieces => pieces.map(p => p.classList.contains('pending'))"
    assert page.eval_on_selector_all("#answer .piece", pending) == [True, True]
    replays = "window.timers.filter(([run]) => String(run).includes('pending'))"
    assert page.evaluate(f"{replays}.map(([run, ms]) => Math.round(ms))") == [0, 100]  # 0.5 s and 0.6 s
    page.evaluate(f"{replays}.forEach(([run]) => run())")
    assert page.eval_on_selector_all("#answer .piece", pending) == [False, False]
    assert page.inner_text(".answer-text") == "Hello"


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.binary(max_size=300) | st.builds(lambda lines: b"\n".join(lines), st.lists(st.sampled_from([
    b'{"kind":"header","format":"sse-recording","version":1,"request":{"method":"POST","url":"http://h/v1/responses"},'
    b'"response":{"status":200,"headers":{"content-type":"text/event-stream"}}}',
    b'{"kind":"chunk","t":0.1,"text":"data: {\\"type\\":\\"response.created\\"}\\n\\n"}',
    b'{"kind":"chunk","t":0.2,"b64":"ZGF0YTog/w=="}', b'{"kind":"end","t":0.3,"reason":"complete"}',
    b"data: [DONE]", b"event: x", b"", b"\xff\xfe"]), max_size=8)))
def test_any_input_gives_a_page_or_one_line_and_exit_2(run_cli, tmp_path_factory, body: bytes) -> None:
    path = tmp_path_factory.mktemp("any") / "input.jsonl"
    path.write_bytes(body)
    result = run_cli("view", "--html", "-", str(path))
    assert result.code in (0, 1, 2) and "Traceback" not in result.err
    if result.code == 2:
        assert (result.out, len(result.err.splitlines())) == ("", 1)
    else:
        assert result.out.startswith("<!DOCTYPE html>") and result.out.endswith("</html>\n")
