"""Text from the wire is shown, never obeyed: the one escaping function every human-readable output uses.

A stream can carry an ESC that clears the screen or retitles the window, a CR that overwrites a line, or a bidi
override that reverses the text beside it (in a terminal and in an HTML table cell alike). `visible` turns each
of them into something a person can see:

- C0 controls (but tab and, unless `one_line`, newline) and DEL become their Unicode control pictures (`␛`, `␡`),
  one cell wide each;
- C1 controls, the bidi embeddings and overrides (U+202A..U+202E) and isolates (U+2066..U+2069) become `<U+XXXX>`;
- lone surrogates (which no terminal or encoder can print) and the noncharacters U+FFFE and U+FFFF (which XML
  cannot hold) become `<U+D800>` likewise.

Plain output (`validate`, `diff`, `events`, log lines) calls `visible` on what it prints; a rich console gets
`guard`, which calls it on every segment the console writes (the terminal view, `ls`, the HTML page).
JSON outputs need none of this: `json.dumps` escapes what it must, and `json_safe` adds the rest.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # NOTE: rich is imported only by the outputs that draw with it: plain output starts faster
    from rich.console import Console, ConsoleOptions, ConsoleRenderable, RenderableType, RenderResult

_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff\ufffe\uffff]")
_UNSAFE_ONE_LINE = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff\ufffe\uffff]")


def _picture(match: re.Match[str]) -> str:
    code = ord(match.group())
    if code < 0x20:
        return chr(0x2400 + code)
    if code == 0x7F:
        return "\u2421"
    return f"<U+{code:04X}>"


def visible(text: str, *, one_line: bool = False) -> str:
    """`text` with every control, bidi override and lone surrogate shown as a visible symbol.

    `one_line` also shows newline and tab (for an event name, a URL, a log line: anything that must stay on one
    line).
    """
    pattern = _UNSAFE_ONE_LINE if one_line else _UNSAFE
    if not pattern.search(text):
        return text  # the common case costs one scan
    return pattern.sub(_picture, text)


_JSON_EXTRA = re.compile("[\x7f-\x9f\u202a-\u202e\u2066-\u2069\u2028\u2029\ud800-\udfff]")


def json_safe(encoded: str) -> str:
    """A JSON text (from `json.dumps(..., ensure_ascii=False)`) with DEL, C1 controls and bidi overrides written as
    `\\uXXXX` escapes too (and
    lone surrogates, which cannot be encoded), so the text stays valid JSON and prints harmlessly."""
    if not _JSON_EXTRA.search(encoded):
        return encoded
    return _JSON_EXTRA.sub(lambda match: f"\\u{ord(match.group()):04x}", encoded)


class _Visible:
    """A renderable whose text segments pass through `visible` (rich's own cursor and style codes do not)."""

    def __init__(self, inner: RenderableType) -> None:
        self.inner = inner

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        from rich.segment import Segment

        for segment in console.render(self.inner, options):
            if segment.control or not _UNSAFE.search(segment.text):
                yield segment
            else:
                yield Segment(visible(segment.text), segment.style)


class _VisibleHook:  # a rich RenderHook (duck-typed, so this module need not import rich)
    def process_renderables(self, renderables: list[ConsoleRenderable]) -> Sequence[RenderableType]:
        return [_Visible(renderable) for renderable in renderables]


def guard(console: Console) -> Console:
    """The console, made to show what `visible` shows in everything it prints: a plain string (printed, or a table
    cell) is made `visible` before rich lays it out, and every segment rich writes after.

    NOTE: rich drops BEL, BS, VT, FF and CR from any `Text` it is given, without a trace (`a\rb` showed as `ab`):
    a `Text` built from wire text must be built from `visible` text. Rich measures a control as zero cells wide, so
    a line holding one that reaches the hook comes out a little wider than laid out; it is shown either way.
    """
    console.push_render_hook(_VisibleHook())
    render_str = console.render_str
    console.render_str = lambda text, **options: render_str(visible(text), **options)  # type: ignore[method-assign]
    return console
