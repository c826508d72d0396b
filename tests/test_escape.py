"""The one escaping function: everything that could drive a terminal or reorder text is shown, nothing else."""

import json

from hypothesis import given
from hypothesis import strategies as st

from inspector.escape import json_safe, visible


def test_plain_text_is_unchanged():
    assert visible("Hello, wörld! 你好 \t tab\nnext") == "Hello, wörld! 你好 \t tab\nnext"


def test_c0_del_and_c1_are_visible():
    assert visible("\x1b[2J\x07\r\x7f\x9b") == "␛[2J␇␍␡<U+009B>"


def test_bidi_overrides_and_isolates_are_visible():
    assert visible("a\u202eb\u2066c\u2069") == "a<U+202E>b<U+2066>c<U+2069>"


def test_lone_surrogate_is_visible():
    assert visible("x\ud800y") == "x<U+D800>y"


def test_one_line_shows_newline_and_tab():
    assert visible("a\nb\tc", one_line=True) == "a␊b␉c"


@given(st.text())
def test_output_holds_no_unsafe_character(text):
    shown = visible(text, one_line=True)
    assert not any(ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F or 0x202A <= ord(c) <= 0x202E or 0x2066 <= ord(c) <= 0x2069
                   or 0xD800 <= ord(c) <= 0xDFFF for c in shown)
    shown.encode("utf-8")


@given(st.text())
def test_json_safe_stays_equal_json(text):
    encoded = json_safe(json.dumps({"t": text}, ensure_ascii=False))
    assert json.loads(encoded) == {"t": text}
    assert "\u202e" not in encoded and "\x9b" not in encoded
    encoded.encode("utf-8")


def test_noncharacters_xml_cannot_hold_are_visible():
    assert visible("a\ufffeb\uffff") == "a<U+FFFE>b<U+FFFF>"


def test_a_guarded_console_shows_what_visible_shows():
    import io

    from rich.console import Console
    from rich.text import Text

    from inspector.escape import guard

    out = io.StringIO()
    guard(Console(file=out, width=40, color_system=None)).print(Text("a\x1b[2J\u202eb\x00"))
    assert out.getvalue() == "a␛[2J<U+202E>b␀\n"


def test_a_guarded_console_shows_the_controls_rich_drops():
    """rich drops CR, BS, BEL, VT and FF from a string it lays out: `a\\rb` showed as `ab`, the text hidden."""
    import io

    from rich.console import Console
    from rich.table import Table

    from inspector.escape import guard

    out = io.StringIO()
    console = guard(Console(file=out, width=40, color_system=None))
    table = Table.grid()
    table.add_row("cell\r\b\x07\x0b\x0c")
    console.print("a\rb\b\bc\x07")
    console.print(table)
    assert out.getvalue() == "a␍b␈␈c␇\ncell␍␈␇␋␌\n"
