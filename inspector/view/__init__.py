"""The viewer: one stream rendered for the terminal, as JSON or as an HTML page, and `ls` over many.

Parts: `model` (one pass over a stream into a StreamReport), `summary` (the one-line output digest), `render`
(the rich renderables and page export), `events` (the event table and raw frames), `listing` (`ls`).
"""

from .render import export_html, make_console, print_view

__all__ = ["export_html", "make_console", "print_view"]
