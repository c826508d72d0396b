"""Text from the wire is shown, never obeyed: the one escaping function every human-readable output uses.

A stream can carry an ESC that clears the screen or retitles the window, a CR that overwrites a line, or a bidi
override that reverses the text beside it (in a terminal and in an HTML table cell alike). `visible` turns each
of them into something a person can see:

- C0 controls (but tab and, unless `one_line`, newline) and DEL become their Unicode control pictures (`␛`, `␡`),
  one cell wide each;
- C1 controls, the bidi embeddings and overrides (U+202A..U+202E) and isolates (U+2066..U+2069) become `<U+XXXX>`;
- so do the bidi marks (LRM U+200E, RLM U+200F, ALM U+061C), which reorder the text beside them as an override
  does; the line and paragraph separators U+2028 and U+2029, which some terminals break a line at; and the
  characters that are invisible and hide text in plain sight: the zero-width space U+200B, the word joiner and
  invisible operators U+2060..U+2064, the zero-width no-break space (BOM) U+FEFF, and the tag characters
  U+E0000..U+E007F (invisible ASCII);
- but text needs some of them: the zero-width joiner U+200D is kept between two characters that are neither ASCII
  nor invisible (an emoji sequence, woman ZWJ laptop for a programmer; a conjunct in an Indic script) and shown
  anywhere else (`a<U+200D>b`); tag characters are kept where they spell a subdivision flag (U+1F3F4, tags, then
  the cancel tag U+E007F: Scotland's); the zero-width non-joiner U+200C, which Persian and Indic words need, is
  kept;
- lone surrogates (which no terminal or encoder can print) and the noncharacters U+FFFE and U+FFFF (which XML
  cannot hold) become `<U+D800>` likewise.

Plain output (`validate`, `diff`, `events`, log lines) calls `visible` on what it prints; a rich console gets
`guard`, which calls it on every segment the console writes (the terminal view, `ls`, the HTML page).
JSON outputs need none of this: `json.dumps` escapes what it must, and `json_safe` escapes the rest.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # NOTE: rich is imported only by the outputs that draw with it: plain output starts faster
    from rich.console import Console, ConsoleOptions, ConsoleRenderable, RenderableType, RenderResult

_SHOWN = ("\x7f-\x9f\u061c\u200b\u200e\u200f\u2028-\u202e\u2060-\u2064\u2066-\u2069\ud800-\udfff\ufeff"
          "\ufffe\uffff\U000e0000-\U000e007f")
_JOINED = "[^\x00-\xa0\u2000-\u206f\ufeff\ud800-\udfff\U000e0000-\U000e007f]"
"""A character a zero-width joiner may stand between: not ASCII, C1, a space or an invisible one."""
_KEPT = f"(\U0001f3f4[\U000e0020-\U000e007e]+\U000e007f)|(?<!{_JOINED})\u200d|\u200d(?!{_JOINED})|"
"""A subdivision flag (kept whole: group 1), or a zero-width joiner that joins nothing visible (shown)."""
_UNSAFE = re.compile(f"{_KEPT}[\x00-\x08\x0b-\x1f{_SHOWN}]")
_UNSAFE_ONE_LINE = re.compile(f"{_KEPT}[\x00-\x1f{_SHOWN}]")
_MAYBE = re.compile(f"[\x00-\x08\x0b-\x1f{_SHOWN}\u200d]")
_MAYBE_ONE_LINE = re.compile(f"[\x00-\x1f{_SHOWN}\u200d]")
"""Whether `visible` may change a text: one character class is searched ten times faster than `_UNSAFE`."""


def _picture(match: re.Match[str]) -> str:
    if match.group(1):
        return match.group(1)
    code = ord(match.group())
    if code < 0x20:
        return chr(0x2400 + code)
    if code == 0x7F:
        return "\u2421"
    return f"<U+{code:04X}>"


def visible(text: str, *, one_line: bool = False) -> str:
    """`text` with every control, bidi override, invisible character and lone surrogate shown as a visible symbol.

    `one_line` also shows newline and tab (for an event name, a URL, a log line: anything that must stay on one
    line).
    """
    if not (_MAYBE_ONE_LINE if one_line else _MAYBE).search(text):
        return text  # the common case costs one scan
    return (_UNSAFE_ONE_LINE if one_line else _UNSAFE).sub(_picture, text)


_JSON_EXTRA = re.compile(f"[{_SHOWN}]")


def json_safe(encoded: str) -> str:
    """A JSON text (from `json.dumps(..., ensure_ascii=False)`) with what `visible` shows (but for the zero-width
    joiner, which changes no line) written as `\\uXXXX` escapes, a tag character as its surrogate pair, so the text
    stays valid JSON holding the same value and prints harmlessly (lone surrogates cannot even be encoded)."""
    if not _JSON_EXTRA.search(encoded):
        return encoded
    return _JSON_EXTRA.sub(lambda match: json.dumps(match.group())[1:-1], encoded)


class _Visible:
    """A renderable whose text segments pass through `visible` (rich's own cursor and style codes do not)."""

    def __init__(self, inner: RenderableType) -> None:
        self.inner = inner

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        from rich.segment import Segment

        for segment in console.render(self.inner, options):
            if segment.control or not _MAYBE.search(segment.text):
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
