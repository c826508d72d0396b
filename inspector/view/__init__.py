"""The viewer: one stream rendered for the terminal, as JSON or as an HTML page, live while it is written, and
`ls` over many.

Parts: `model` (one pass over a stream into a StreamReport), `exchange` (the request and response around it),
`summary` (the one-line event digest), `render` (the rich renderables), `events` (the event table and raw
frames), `html` (the self-contained HTML report and its `html_assets/`), `follow` (a recording read while it
grows), `live` (`view --follow` and the record panel), `listing` (`ls`).
"""

from .render import make_console, print_view

__all__ = ["make_console", "print_view"]
