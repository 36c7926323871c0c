"""Making user text safe for reportlab: no markup injection, no missing glyphs, nothing lost.

reportlab's ``Paragraph`` parses its text as a markup language, so every user text goes through
:func:`markup` (escaped, line breaks kept). Characters the embedded font cannot show would print
as empty boxes; they are replaced by a visible ``[U+1F600]`` so the reader knows something was
there. Invisible control and format characters are dropped.
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache
from xml.sax.saxutils import escape

from reportlab.pdfbase import pdfmetrics

from integrationsplaner.reports.fonts import FONT, FONT_BOLD, register_fonts

_NEWLINES = re.compile(r"\r\n|\r|\u2028|\u2029|\x0b|\x0c|\x85")


@cache
def _glyphs() -> frozenset[int]:
    register_fonts()
    regular = pdfmetrics.getFont(FONT).face.charToGlyph
    bold = pdfmetrics.getFont(FONT_BOLD).face.charToGlyph
    # Only the Basic Multilingual Plane: reportlab writes odd-length ToUnicode entries for
    # characters beyond it (emoji), which PDF readers cannot map back to text.
    return frozenset(c for c in frozenset(regular) & frozenset(bold) if c <= 0xFFFF)


@cache
def _printable() -> frozenset[str]:
    """Characters that pass unchanged (checked with one C-level set operation per text)."""
    return frozenset(chr(c) for c in _glyphs() if c >= 32 and not 0x7F <= c < 0xA0) | {"\n"}


def _char(ch: str, glyphs: frozenset[int]) -> str:
    code = ord(ch)
    if ch == "\t":
        return "    "
    if code in glyphs and code >= 32 and not 0x7F <= code < 0xA0:
        return ch
    if ch == "\n":
        return ch
    category = unicodedata.category(ch)
    if category in ("Cc", "Cf", "Cs", "Mn", "Me") or 0xFE00 <= code <= 0xFE0F:
        return ""  # control, format, variation selector or combining mark without a glyph
    if category.startswith("Z"):
        return " "
    return f"[U+{code:04X}]"


def clean(text: object) -> str:
    """Plain text the fonts can show: NFC, ``\\n`` line ends, unknown characters made visible."""
    if text is None:
        return ""
    value = unicodedata.normalize("NFC", str(text))
    value = _NEWLINES.sub("\n", value)
    if _printable().issuperset(value):
        return value
    glyphs = _glyphs()
    return "".join(_char(ch, glyphs) for ch in value)


def markup(text: object) -> str:
    """``text`` as safe Paragraph markup: escaped, line breaks kept. (Words longer than a line
    are split by reportlab itself: ``splitLongWords`` is on in every style.)"""
    value = clean(text).strip("\n")
    return escape(value).replace("\n", "<br/>")
