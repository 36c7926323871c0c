"""The tables of the reports: the shared grid look, cell fitting and line breaking, and
:class:`FastTable`, which draws grids of short text cells directly on the canvas.

:func:`table` picks a :class:`FastTable` when every cell breaks simply into a few lines and a
reportlab Table (wrapping Paragraphs, rows that split across pages) otherwise;
:func:`chunked_tables` keeps long lists linear in time.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.utils import simpleSplit
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.platypus import Flowable, Paragraph, Table, TableStyle

from integrationsplaner.reports.fonts import FONT, FONT_BOLD
from integrationsplaner.reports.layout import ACCENT, INK, RULE, SHADE, STYLES, para
from integrationsplaner.reports.text import clean, markup


def grid_style(*extra: tuple, header: bool = True, grid: bool = True) -> TableStyle:
    """The sober table look shared by all reports: hairlines, shaded header row."""
    commands: list[tuple] = [
        ("FONT", (0, 0), (-1, -1), FONT, 8.5),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("TOPPADDING", (0, 0), (-1, -1), 2.5),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
        ("LEFTPADDING", (0, 0), (-1, -1), 4),
        ("RIGHTPADDING", (0, 0), (-1, -1), 4),
    ]
    if grid:
        commands.append(("GRID", (0, 0), (-1, -1), 0.4, RULE))
    if header:
        commands += [("BACKGROUND", (0, 0), (-1, 0), SHADE),
                     ("FONT", (0, 0), (-1, 0), FONT_BOLD, 8)]
    commands.extend(extra)
    return TableStyle(commands)


def _fit(value: object, width: float, style: ParagraphStyle) -> object:
    """A plain string when the text fits on one line of the cell (fast, and never parsed as
    markup), otherwise a wrapping Paragraph. Flowables pass through."""
    if isinstance(value, Flowable):
        return value
    if isinstance(value, Lead):
        rest = markup(value.rest)
        return Paragraph(f"<b>{markup(value.strong)}</b>" + (f"<br/>{rest}" if rest else ""),
                         style)
    text = clean("" if value is None else value)
    if "\n" not in text and stringWidth(text, style.fontName, style.fontSize) <= width - 8.5:
        return text
    return para(text, style)


class Strong(str):
    """A line of a table cell set in bold."""


@dataclass(frozen=True)
class Lead:
    """A table cell whose first part (a name) is bold and the rest (an address) normal."""

    strong: str
    rest: str = ""


def _lead_lines(cell: Lead, width: float) -> list[str] | None:
    strong = _lines(cell.strong, width, FONT_BOLD, 8.5)
    rest = _lines(cell.rest, width, FONT, 8.5) if cell.rest.strip() else []
    if strong is None or rest is None or len(strong) + len(rest) > MAX_CELL_LINES:
        return None
    return [Strong(x) for x in strong] + rest


def _lines(value: object, width: float, font: str, size: float) -> list[str] | None:
    """The text of a cell broken into lines that fit ``width``, or None when it cannot be done
    simply (a word wider than the cell, or more than :data:`MAX_CELL_LINES` lines)."""
    text = clean("" if value is None else value)
    if len(text) * size <= width and "\n" not in text:
        return [text]  # no DejaVu glyph is wider than one em: certainly fits, no measuring
    lines = _break(text, width, font, size)
    return list(lines) if lines is not None else None


@lru_cache(maxsize=8192)
def _break(text: str, width: float, font: str, size: float) -> tuple[str, ...] | None:
    """Cached: labels, office names, action areas and units repeat on every sheet."""
    lines: list[str] = []
    for part in text.split("\n"):
        if stringWidth(part, font, size) <= width:
            lines.append(part)
            continue
        if any(stringWidth(word, font, size) > width for word in part.split()):
            return None  # a word wider than the cell: leave it to a Paragraph
        lines.extend(simpleSplit(part, font, size, width))
    return tuple(lines) if len(lines) <= MAX_CELL_LINES else None


MAX_CELL_LINES = 8


class FastTable(Flowable):
    """A grid of short text cells drawn directly on the canvas.

    It looks like :func:`grid_style` tables but skips reportlab's per-cell style machinery,
    which dominates the time of evaluation sheets (hundreds of small tables). Only used when
    every cell breaks simply into a few lines; :func:`table` falls back to a reportlab Table
    (with wrapping Paragraphs and rows that split across pages) otherwise.
    """

    PAD_X, PAD_TOP, PAD_BOTTOM = 4.0, 2.5, 3.0

    def __init__(self, rows: list[list[list[str]]], widths: list[float], *, header: bool,
                 right: tuple[int, ...], labels: tuple[int, ...], pad: float, grid: bool
                 ) -> None:
        super().__init__()
        self.rows = rows
        self.widths = widths
        self.header = header
        self.right = right
        self.labels = labels
        self.pad = pad
        self.grid = grid
        self.hAlign = "LEFT"
        self.leading = STYLES.cell.leading
        self.heights = [
            max(1, *(len(cell) for cell in row)) * self.leading + self.PAD_TOP + self.PAD_BOTTOM
            + (0 if header and i == 0 else pad)
            for i, row in enumerate(rows)
        ]

    def _height(self, index: int) -> float:
        return self.heights[index]

    def wrap(self, _aw: float, _ah: float) -> tuple[float, float]:
        self.width = sum(self.widths)
        self.height = sum(self._height(i) for i in range(len(self.rows)))
        return self.width, self.height

    def split(self, _aw: float, ah: float) -> list[Flowable]:
        first = 1 if self.header else 0
        used, cut = 0.0, 0
        for i in range(len(self.rows)):
            if used + self._height(i) > ah:
                break
            used += self._height(i)
            cut = i + 1
        if cut <= first or cut >= len(self.rows):
            return []
        head = self.rows[:first]
        kw = {"header": self.header, "right": self.right, "labels": self.labels,
              "pad": self.pad, "grid": self.grid}
        return [FastTable(self.rows[:cut], self.widths, **kw),
                FastTable(head + self.rows[cut:], self.widths, **kw)]

    def draw(self) -> None:
        canv = self.canv
        xs = [0.0]
        for w in self.widths:
            xs.append(xs[-1] + w)
        tops = [self.height]
        for i in range(len(self.rows)):
            tops.append(tops[-1] - self._height(i))
        canv.setFillColor(SHADE)
        if self.header:
            canv.rect(0, tops[1], self.width, tops[0] - tops[1], stroke=0, fill=1)
        for j in self.labels:
            canv.rect(xs[j], 0, self.widths[j], tops[1 if self.header else 0], stroke=0,
                      fill=1)
        # one text object for the whole table: a drawString per cell costs several times more
        text = canv.beginText()
        current: tuple[str, float, Any] | None = None
        for i, row in enumerate(self.rows):
            head = self.header and i == 0
            for j, lines in enumerate(row):
                if not lines or lines == [""]:
                    continue
                if head:
                    base = (FONT_BOLD, 8.0, INK)
                elif j in self.labels:
                    base = (FONT_BOLD, 8.0, ACCENT)
                else:
                    base = (FONT, 8.5, INK)
                align_right = j in self.right and not head
                baseline = tops[i] - self.PAD_TOP - STYLES.cell.fontSize
                for line in lines:
                    wanted = (FONT_BOLD, 8.5, INK) if isinstance(line, Strong) else base
                    if wanted != current:
                        text.setFont(wanted[0], wanted[1])
                        text.setFillColor(wanted[2])
                        current = wanted
                    x = xs[j] + self.PAD_X
                    if align_right:
                        x = xs[j + 1] - self.PAD_X - stringWidth(line, wanted[0], wanted[1])
                    text.setTextOrigin(x, baseline)
                    text.textOut(line)
                    baseline -= self.leading
        canv.drawText(text)
        if self.grid:
            canv.setStrokeColor(RULE)
            canv.setLineWidth(0.4)
            path = canv.beginPath()
            for y in tops:
                path.moveTo(0, y)
                path.lineTo(self.width, y)
            for x in xs:
                path.moveTo(x, 0)
                path.lineTo(x, self.height)
            canv.drawPath(path, stroke=1, fill=0)


@lru_cache(maxsize=256)
def _header_widths(header: tuple[str, ...], widths: tuple[float, ...]) -> tuple[float, ...]:
    """Column widths adjusted so that no word of the header row has to be split: columns that
    are too narrow for their longest header word take room from the others."""
    pad = 2 * FastTable.PAD_X + 1
    need = [max((stringWidth(w, FONT_BOLD, 8) + pad for w in h.split()), default=0)
            for h in header]
    if all(n <= w for n, w in zip(need, widths, strict=True)) or sum(need) > sum(widths):
        return widths
    fixed = [max(n, w) for n, w in zip(need, widths, strict=True)]
    excess = sum(fixed) - sum(widths)
    slack = [f - n for f, n in zip(fixed, need, strict=True)]
    total_slack = sum(slack)
    return tuple(f - excess * s / total_slack for f, s in zip(fixed, slack, strict=True))


def table(rows: list[list[Any]], widths: list[float], *extra: tuple, header: bool = True,
          repeat: bool = True, right: tuple[int, ...] = (), labels: tuple[int, ...] = (),
          grid: bool = True, pad: float = 0) -> Flowable:
    """A table whose rows may split across pages (long user text never overflows a page).

    Text cells become plain strings when they fit and wrapping Paragraphs when not; ``right``
    columns are right-aligned (numbers), ``labels`` columns are shaded field labels, ``pad``
    adds room below every body row (space to write in by hand).
    """
    if header and rows and all(isinstance(c, str) for c in rows[0]):
        widths = list(_header_widths(tuple(rows[0]), tuple(widths)))

    def style_of(i: int, j: int) -> ParagraphStyle:
        if header and i == 0:
            return STYLES.cell_bold
        if j in labels:
            return STYLES.label
        return STYLES.cell_right if j in right else STYLES.cell

    if not extra and (repeat or not header):
        simple: list[list[list[str]]] = []
        for i, row in enumerate(rows):
            cells = []
            for j, cell in enumerate(row):
                if isinstance(cell, Flowable):
                    break
                style = style_of(i, j)
                if isinstance(cell, Lead):
                    lines = _lead_lines(cell, widths[j] - 2 * FastTable.PAD_X)
                else:
                    lines = _lines(cell, widths[j] - 2 * FastTable.PAD_X, style.fontName,
                                   style.fontSize)
                if lines is None:
                    break
                cells.append(lines)
            else:
                simple.append(cells)
                continue
            break
        else:
            return FastTable(simple, widths, header=header, right=right, labels=labels,
                             pad=pad, grid=grid)
    fitted = [[_fit(cell, widths[j], style_of(i, j)) for j, cell in enumerate(row)]
              for i, row in enumerate(rows)]
    commands: list[tuple] = [("ALIGN", (j, 1 if header else 0), (j, -1), "RIGHT") for j in right]
    for j in labels:
        commands += [("BACKGROUND", (j, 0), (j, -1), SHADE),
                     ("FONT", (j, 0), (j, -1), FONT_BOLD, 8),
                     ("TEXTCOLOR", (j, 0), (j, -1), ACCENT)]
    if pad:
        commands.append(("BOTTOMPADDING", (0, 1 if header else 0), (-1, -1), 3 + pad))
    style = grid_style(*commands, *extra, header=header, grid=grid)
    return Table(fitted, colWidths=widths, style=style, repeatRows=1 if header and repeat else 0,
                 splitInRow=1, hAlign="LEFT")


def chunked_tables(header: list[Any], rows: Iterable[list[Any]], widths: list[float],
                   *extra: tuple, size: int = 500) -> Iterator[Flowable]:
    """Long tables as several tables of at most ``size`` rows: one reportlab Table splits across
    pages in worse-than-linear time, chunks keep long lists linear."""
    chunk: list[list[Any]] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) >= size:
            yield table([header, *chunk], widths, *extra)
            chunk = []
    if chunk:
        yield table([header, *chunk], widths, *extra)
