"""Wire text is shown, never obeyed: control characters in a stream (an ESC that clears the screen or retitles
the window, a CR that overwrites a line) reach the terminal as visible symbols such as `␛`.

A rich render hook wraps everything a console prints, so no renderable has to remember to do it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from rich.console import Console, ConsoleOptions, ConsoleRenderable, RenderableType, RenderHook, RenderResult
from rich.segment import Segment

# C0 controls but tab and newline (rich lays those out itself), DEL, and the C1 controls.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def _visible(match: re.Match[str]) -> str:
    """The Unicode "control pictures" (␀ to ␟, ␡): one cell wide, so the layout rich computed still holds."""
    code = ord(match.group())
    return chr(0x2400 + code) if code < 0x20 else "\u2421" if code == 0x7F else "\ufffd"


class _Escaped:
    """A renderable whose text segments have their control characters made visible."""

    def __init__(self, inner: RenderableType) -> None:
        self.inner = inner

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        for segment in console.render(self.inner, options):
            if segment.control or not _CONTROL.search(segment.text):
                yield segment  # rich's own cursor and style codes pass untouched
            else:
                yield Segment(_CONTROL.sub(_visible, segment.text), segment.style)


class EscapeControls(RenderHook):
    def process_renderables(self, renderables: list[ConsoleRenderable]) -> Sequence[RenderableType]:
        return [_Escaped(renderable) for renderable in renderables]


def guard(console: Console) -> Console:
    """The console, made to show control characters from the wire instead of obeying them."""
    console.push_render_hook(EscapeControls())
    return console
