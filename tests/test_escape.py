"""The one escaping function: everything that could drive a terminal or reorder text is shown, nothing else."""

import json
import re

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


def test_invisible_characters_and_bidi_marks_are_visible():
    """Zero-width characters hid text, RLM and LRM reorder it, U+2028 and U+2029 break a line in some terminals."""
    assert visible("zero\u200bwidth\ufeffBOM\u200eLRM\u200fRLM\u061cALM mid\u2028LS\u2029PS\u2060WJ") == (
        "zero<U+200B>width<U+FEFF>BOM<U+200E>LRM<U+200F>RLM<U+061C>ALM mid<U+2028>LS<U+2029>PS<U+2060>WJ")
    assert visible("hi\U000e0049\U000e0047\U000e004e") == "hi<U+E0049><U+E0047><U+E004E>"  # invisible ASCII


def test_a_zero_width_joiner_is_kept_only_where_it_joins():
    emoji = ["\U0001f469\u200d\U0001f4bb", "\u2764\ufe0f\u200d\U0001f525", "\U0001f44d\U0001f3fd\u200d\u2642\ufe0f",
             "\u0915\u094d\u200d\u0937", "\U0001f3f4\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f",
             "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645"]
    for text in emoji:
        assert visible(f"a {text}.", one_line=True) == f"a {text}."
    assert visible("a\u200db \u200d\U0001f469 \U0001f469\u200d \u200b\u200d\u200b") == (
        "a<U+200D>b <U+200D>\U0001f469 \U0001f469<U+200D> <U+200B><U+200D><U+200B>")
    assert visible("\U000e0067\U000e007f \U0001f3f4\U000e0067") == "<U+E0067><U+E007F> \U0001f3f4<U+E0067>"


def _unsafe(c: str) -> bool:
    code = ord(c)
    return (code < 0x20 or 0x7F <= code <= 0x9F or 0x202A <= code <= 0x202E or 0x2066 <= code <= 0x2069
            or 0xD800 <= code <= 0xDFFF or c in "\u061c\u200b\u200e\u200f\u2028\u2029\u2060\ufeff")


@given(st.text())
def test_output_holds_no_unsafe_character(text):
    shown = visible(text, one_line=True)
    assert not any(map(_unsafe, shown))
    assert not re.search("(?:^|[\x00-\x7f])\u200d|\u200d(?:$|[\x00-\x7f])", shown)  # a joiner kept joins two
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
