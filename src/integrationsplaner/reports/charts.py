"""The two charts of the review report, drawn with reportlab graphics shapes.

Colour is never the only carrier of meaning: rating segments show their symbol, the legend
names symbol and text, bars carry their amounts, and the tables beside the charts give every
number.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from reportlab.graphics.shapes import Drawing, Rect, String
from reportlab.lib import colors
from reportlab.pdfbase.pdfmetrics import stringWidth

from integrationsplaner.domain.formatting import format_cents
from integrationsplaner.domain.reference import Code
from integrationsplaner.reports.fonts import FONT, FONT_BOLD
from integrationsplaner.reports.layout import ACCENT, CONTENT_WIDTH, INK, RULE, SHADE
from integrationsplaner.reports.text import clean

LABEL_WIDTH = 105.0
ROW = 18.0
MISSING = Code("", "ohne Bewertung", symbol="–", color="#ffffff")


@dataclass(frozen=True)
class AreaBar:
    label: str
    values: Sequence[int]


def _label(drawing: Drawing, text: str, y: float) -> None:
    drawing.add(String(0, y, clean(text), fontName=FONT, fontSize=8, fillColor=INK))


def ratings_chart(rows: Sequence[AreaBar], ratings: Sequence[Code]) -> Drawing:
    """Stacked bars: share of each rating (and of missing ratings) among the measures of an
    action area. ``values`` are counts in the order of ``ratings`` plus one for "missing"."""
    codes = [*ratings, MISSING]
    legend_rows = 2
    height = len(rows) * ROW + legend_rows * 13 + 10
    drawing = Drawing(CONTENT_WIDTH, height)
    bar_width = CONTENT_WIDTH - LABEL_WIDTH - 10
    for n, row in enumerate(rows):
        y = height - (n + 1) * ROW
        _label(drawing, row.label, y + 5)
        total = sum(row.values)
        x = LABEL_WIDTH
        if not total:
            drawing.add(String(x, y + 5, "keine laufenden Maßnahmen", fontName=FONT,
                               fontSize=7.5, fillColor=INK))
            continue
        for code, count in zip(codes, row.values, strict=True):
            if not count:
                continue
            w = bar_width * count / total
            drawing.add(Rect(x, y + 1, w, ROW - 5, fillColor=colors.HexColor(code.color),
                             strokeColor=RULE, strokeWidth=0.4))
            text = f"{code.symbol} {count}"
            light = code.color.lower() in ("#ffffff", "#f9a825")
            if stringWidth(text, FONT_BOLD, 7) + 4 <= w:
                drawing.add(String(x + w / 2, y + 5, text, fontName=FONT_BOLD, fontSize=7,
                                   fillColor=INK if light else colors.white,
                                   textAnchor="middle"))
            x += w
    # legend: symbol and text for every colour
    x, y = LABEL_WIDTH, legend_rows * 13 - 8
    for code in codes:
        text = f"{code.symbol} {code.label}"
        w = stringWidth(text, FONT, 7.5) + 16
        if x + w > CONTENT_WIDTH:
            x, y = LABEL_WIDTH, y - 13
        drawing.add(Rect(x, y - 1, 9, 9, fillColor=colors.HexColor(code.color),
                         strokeColor=RULE, strokeWidth=0.4))
        drawing.add(String(x + 12, y, text, fontName=FONT, fontSize=7.5, fillColor=INK))
        x += w + 6
    return drawing


def budget_chart(rows: Sequence[AreaBar], planned_label: str, spent_label: str) -> Drawing:
    """Per action area two bars: cost frame (outlined, light) and costs spent (solid), each
    with its amount written beside it. ``values`` are (planned, spent) in cents."""
    pair = 2 * 9 + 8
    height = len(rows) * pair + 26
    drawing = Drawing(CONTENT_WIDTH, height)
    top = max((max(r.values) for r in rows if r.values), default=0) or 1
    amount_room = 70
    bar_width = CONTENT_WIDTH - LABEL_WIDTH - amount_room
    for n, row in enumerate(rows):
        y = height - (n + 1) * pair
        planned, spent = row.values
        _label(drawing, row.label, y + 7)
        for k, (value, fill) in enumerate(((planned, SHADE), (spent, ACCENT))):
            yy = y + 9 - k * 9
            w = max(bar_width * value / top, 0.5)
            drawing.add(Rect(LABEL_WIDTH, yy, w, 8, fillColor=fill, strokeColor=ACCENT,
                             strokeWidth=0.5))
            drawing.add(String(LABEL_WIDTH + w + 4, yy + 1.5, format_cents(value),
                               fontName=FONT, fontSize=7, fillColor=INK))
    y = 6
    drawing.add(Rect(LABEL_WIDTH, y - 1, 9, 8, fillColor=SHADE, strokeColor=ACCENT,
                     strokeWidth=0.5))
    drawing.add(String(LABEL_WIDTH + 13, y, clean(planned_label), fontName=FONT, fontSize=7.5,
                       fillColor=INK))
    x = LABEL_WIDTH + 13 + stringWidth(clean(planned_label), FONT, 7.5) + 14
    drawing.add(Rect(x, y - 1, 9, 8, fillColor=ACCENT, strokeColor=ACCENT, strokeWidth=0.5))
    drawing.add(String(x + 13, y, clean(spent_label), fontName=FONT, fontSize=7.5,
                       fillColor=INK))
    return drawing
