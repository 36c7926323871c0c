"""The page layout every report shares and the machinery that writes a report file.

- A4 with sober margins; header with district, report title and (optional) logo; footer with the
  authority, "Seite x von y" and the "Stand" date.
- One layout pass only: "von y" and the page numbers of the table of contents are PDF form
  XObjects that are referenced on the pages and defined once the last page is known.
- The story is consumed lazily (:class:`LazyStory`), so a catalogue of 10,000 measures is never
  held in memory as flowables.
- Deterministic output: ``invariant`` ids and a creation date derived from the data.
- Atomic output: written to a temporary file beside the target and renamed on success.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any

from reportlab import rl_config
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER, TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader, simpleSplit
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    BaseDocTemplate,
    Flowable,
    Frame,
    PageTemplate,
    Paragraph,
    Table,
    TableStyle,
)

from integrationsplaner.domain.formatting import format_date
from integrationsplaner.errors import UserError
from integrationsplaner.reports.fonts import FONT, FONT_BOLD, register_fonts
from integrationsplaner.reports.text import clean, markup

register_fonts()  # styles and Paragraphs need the fonts before any document exists
# Binary (not ASCII85) streams: standard PDF, a fifth smaller and noticeably faster to write.
rl_config.useA85 = 0

PAGE_WIDTH, PAGE_HEIGHT = A4
MARGIN_LEFT = 25 * mm
MARGIN_RIGHT = 20 * mm
MARGIN_TOP = 25 * mm
MARGIN_BOTTOM = 20 * mm
CONTENT_WIDTH = PAGE_WIDTH - MARGIN_LEFT - MARGIN_RIGHT

INK = colors.HexColor("#1a1a1a")
ACCENT = colors.HexColor("#1f3a5f")
RULE = colors.HexColor("#7a8699")
SHADE = colors.HexColor("#e8ebf0")
LIGHT = colors.HexColor("#f4f5f7")

#: Called with (done, total); returning False cancels the report.
Progress = Callable[[int, int], bool]


class ReportCancelled(Exception):
    """The user cancelled a report; nothing was written."""


@dataclass(frozen=True)
class ReportOptions:
    """Settings a report takes from the program's settings (never from global state).

    ``district_name``/``authority`` default to the reference data; ``as_of`` (the "Stand" date
    and the PDF creation date) defaults to the day of the latest change in the data, so the same
    data gives the same file.
    """

    district_name: str | None = None
    authority: str | None = None
    logo_path: Path | None = None
    author: str | None = None
    as_of: date | None = None


@dataclass(frozen=True)
class DocInfo:
    """What the page furniture and the PDF metadata of one report show."""

    title: str  # PDF title and title page
    subject: str
    header: str  # short title in the page header
    district: str
    authority: str
    author: str
    as_of: date
    logo: Path | None = None
    keywords: tuple[str, ...] = ()


# --- styles ------------------------------------------------------------------------------------


def _style(name: str, **kw: Any) -> ParagraphStyle:
    base: dict[str, Any] = {"fontName": FONT, "fontSize": 9.5, "leading": 12.5,
                            "textColor": INK, "splitLongWords": 1, "allowWidows": 0}
    base.update(kw)
    return ParagraphStyle(name, **base)


@dataclass(frozen=True)
class Styles:
    body: ParagraphStyle = field(default_factory=lambda: _style("body", spaceAfter=4))
    small: ParagraphStyle = field(default_factory=lambda: _style("small", fontSize=8,
                                                                 leading=10))
    cell: ParagraphStyle = field(default_factory=lambda: _style("cell", fontSize=8.5,
                                                                leading=10.5))
    cell_bold: ParagraphStyle = field(default_factory=lambda: _style(
        "cell_bold", fontName=FONT_BOLD, fontSize=8, leading=10.5))
    cell_right: ParagraphStyle = field(default_factory=lambda: _style(
        "cell_right", fontSize=8.5, leading=10.5, alignment=TA_RIGHT))
    label: ParagraphStyle = field(default_factory=lambda: _style(
        "label", fontName=FONT_BOLD, fontSize=8, leading=10, textColor=ACCENT))
    h1: ParagraphStyle = field(default_factory=lambda: _style(
        "h1", fontName=FONT_BOLD, fontSize=15, leading=19, textColor=ACCENT, spaceAfter=8))
    h2: ParagraphStyle = field(default_factory=lambda: _style(
        "h2", fontName=FONT_BOLD, fontSize=12, leading=15, textColor=ACCENT, spaceBefore=8,
        spaceAfter=5))
    h3: ParagraphStyle = field(default_factory=lambda: _style(
        "h3", fontName=FONT_BOLD, fontSize=10, leading=12.5, spaceBefore=5, spaceAfter=2))
    title: ParagraphStyle = field(default_factory=lambda: _style(
        "title", fontName=FONT_BOLD, fontSize=24, leading=30, textColor=ACCENT, spaceAfter=10))
    subtitle: ParagraphStyle = field(default_factory=lambda: _style(
        "subtitle", fontSize=14, leading=19, spaceAfter=6))
    toc: ParagraphStyle = field(default_factory=lambda: _style("toc", fontSize=9.5,
                                                               leading=13))
    toc_top: ParagraphStyle = field(default_factory=lambda: _style(
        "toc_top", fontName=FONT_BOLD, fontSize=10, leading=14, spaceBefore=4))
    centered: ParagraphStyle = field(default_factory=lambda: _style("centered",
                                                                    alignment=TA_CENTER))


STYLES = Styles()


def para(text: object, style: ParagraphStyle | None = None, empty: str = "") -> Paragraph:
    """A Paragraph of user text (escaped and glyph-safe); ``empty`` is shown for blank text."""
    value = markup(text)
    return Paragraph(value if value.strip() else markup(empty), style or STYLES.body)


def line(text: object, style: ParagraphStyle | None = None) -> Flowable:
    """One line of text without markup: a cheap :class:`TextLine` when it fits the width of
    the page, a wrapping Paragraph otherwise."""
    style = style or STYLES.body
    value = clean(text).strip("\n")
    fits = len(value) < 200 and stringWidth(value, style.fontName, style.fontSize) <= CONTENT_WIDTH
    if "\n" not in value and fits:
        return TextLine(value, style, keep_with=0)
    return para(value, style)


class LabelLine(Flowable):
    """``Label: text`` on one line, the label in bold (cheap stand-in for a Paragraph)."""

    def __init__(self, label: str, text: str, style: ParagraphStyle) -> None:
        super().__init__()
        self.label = label
        self.text = text
        self.style = style
        self.spaceAfter = style.spaceAfter

    def wrap(self, aw: float, _ah: float) -> tuple[float, float]:
        self.width = aw
        return aw, self.style.leading

    def draw(self) -> None:
        style = self.style
        text = self.canv.beginText(0, style.leading - style.fontSize)
        text.setFillColor(style.textColor)
        text.setFont(FONT_BOLD, style.fontSize)
        text.textOut(self.label + " ")
        text.setFont(style.fontName, style.fontSize)
        text.textOut(self.text)
        self.canv.drawText(text)


def labeled(label: str, text: object, style: ParagraphStyle | None = None) -> Flowable:
    """``Label: text`` (label in bold): one cheap line when it fits, a Paragraph otherwise."""
    style = style or STYLES.body
    value = clean(text).strip("\n")
    if "\n" not in value and len(value) < 200:
        width = stringWidth(label + " ", FONT_BOLD, style.fontSize) + stringWidth(
            value, style.fontName, style.fontSize)
        if width <= CONTENT_WIDTH:
            return LabelLine(label, value, style)
    return Paragraph(f"<b>{markup(label)}</b> {markup(value)}", style)


def label_para(text: str, style: ParagraphStyle | None = None) -> Paragraph:
    """A Paragraph of our own fixed text (which may contain our own markup)."""
    return Paragraph(text, style or STYLES.body)


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


# --- flowables that talk to the document ---------------------------------------------------------


class Heading(Paragraph):
    """A heading that becomes a PDF outline entry and, with ``toc_key``, a TOC target."""

    def __init__(self, text: str, style: ParagraphStyle, *, level: int = 0,
                 toc_key: str | None = None, outline: bool = True) -> None:
        super().__init__(markup(text), style)
        self.plain = clean(text).replace("\n", " ")
        self.level = level
        self.toc_key = toc_key
        self.outline = outline

    def split(self, availWidth: float, availHeight: float) -> list[Flowable]:
        """A heading is never split: it moves to the next page as a whole."""
        return []


class TextLine(Flowable):
    """One line of our own fixed text (a section title): far cheaper than a Paragraph, which
    matters with thousands of sheets. Keeps ``keep_with`` points of the following content on
    the same page by asking for that much room."""

    def __init__(self, text: str, style: ParagraphStyle, keep_with: float = 20 * mm) -> None:
        super().__init__()
        self.text = text
        self.style = style
        self.keep_with = keep_with
        self.spaceBefore = style.spaceBefore
        self.spaceAfter = style.spaceAfter

    def wrap(self, aw: float, ah: float) -> tuple[float, float]:
        self.width = aw
        # claim the room of the following content too, so that a title never ends a page
        if ah < self.style.leading + self.keep_with:
            return aw, ah + 1
        return aw, self.style.leading

    def split(self, aw: float, ah: float) -> list[Flowable]:
        return []

    def draw(self) -> None:
        canv = self.canv
        canv.setFont(self.style.fontName, self.style.fontSize)
        canv.setFillColor(self.style.textColor)
        canv.drawString(0, self.style.leading - self.style.fontSize, self.text)


class Marker(Flowable):
    """An invisible mark: sets the header context (e.g. the measure of a sheet) and counts
    progress. It takes no space."""

    def __init__(self, context: str | None = None, tick: bool = True) -> None:
        super().__init__()
        self.context = context
        self.tick = tick
        self.width = self.height = 0

    def wrap(self, _aw: float, _ah: float) -> tuple[float, float]:
        return 0, 0

    def draw(self) -> None:
        return None


@dataclass(frozen=True)
class TocEntry:
    key: str
    text: str
    level: int = 0


class TocLine(Flowable):
    """One line of the table of contents: text, page number (a form filled in at the end) and a
    link to the heading."""

    NUMBER_WIDTH = 14 * mm

    def __init__(self, entry: TocEntry) -> None:
        super().__init__()
        self.entry = entry
        style = STYLES.toc_top if entry.level == 0 else STYLES.toc
        self.indent = entry.level * 6 * mm
        self.para = Paragraph(markup(entry.text), style)
        self.style = style
        self.spaceBefore = style.spaceBefore

    def wrap(self, aw: float, ah: float) -> tuple[float, float]:
        _w, h = self.para.wrap(aw - self.indent - self.NUMBER_WIDTH, ah)
        self.width, self.height = aw, h
        return aw, h

    def draw(self) -> None:
        canv = self.canv
        self.para.drawOn(canv, self.indent, 0)
        canv.saveState()
        canv.translate(self.width, self.style.leading - self.style.fontSize)
        canv.doForm(toc_form(self.entry.key))
        canv.restoreState()
        canv.linkRect("", self.entry.key, (0, 0, self.width, self.height), relative=1,
                      thickness=0)


def toc_form(key: str) -> str:
    return "toc_" + "".join(ch if ch.isalnum() else "_" for ch in key)


# --- the lazy story ------------------------------------------------------------------------------


class LazyStory(list):  # type: ignore[type-arg]
    """A list of flowables that pulls from a generator as reportlab consumes it.

    reportlab reads the story through ``len``, indexing, ``del [0]`` and ``insert(0, ...)``;
    keeping a small look-ahead buffer (for keep-with-next chains) is all it needs.
    """

    LOOKAHEAD = 64

    def __init__(self, source: Iterable[Flowable]) -> None:
        super().__init__()
        self._source: Iterator[Flowable] | None = iter(source)
        self._fill()

    def _fill(self) -> None:
        while self._source is not None and super().__len__() < self.LOOKAHEAD:
            try:
                self.append(next(self._source))
            except StopIteration:
                self._source = None

    def __len__(self) -> int:
        self._fill()
        return super().__len__()

    def __getitem__(self, index):  # type: ignore[no-untyped-def]
        self._fill()
        return super().__getitem__(index)


# --- the document --------------------------------------------------------------------------------


class ReportDoc(BaseDocTemplate):
    """A4 document with header, footer, outline, one-pass page numbers and progress."""

    def __init__(self, target: str, info: DocInfo, *, progress: Progress | None = None,
                 total: int = 0, title_page: bool = False) -> None:
        register_fonts()
        super().__init__(
            target, pagesize=A4, leftMargin=MARGIN_LEFT, rightMargin=MARGIN_RIGHT,
            topMargin=MARGIN_TOP, bottomMargin=MARGIN_BOTTOM, title=info.title,
            author=info.author, subject=info.subject, creator="Integrationsplaner",
            producer="Integrationsplaner (reportlab)", keywords=list(info.keywords),
            invariant=1, lang="de-DE", displayDocTitle=1, initialFontName=FONT,
        )
        self.info = info
        self.progress = progress
        self.total = total
        self.done = 0
        self.context: str | None = None
        self.context_page = 0
        self.toc_pages: dict[str, int] = {}
        self._headings = 0
        self._logo = _logo(info.logo)
        frame = Frame(MARGIN_LEFT, MARGIN_BOTTOM, CONTENT_WIDTH,
                      PAGE_HEIGHT - MARGIN_TOP - MARGIN_BOTTOM, id="body",
                      leftPadding=0, rightPadding=0, topPadding=0, bottomPadding=0)
        templates = [PageTemplate("body", [frame], onPageEnd=self._furniture)]
        if title_page:
            templates.insert(0, PageTemplate("title", [frame], onPageEnd=self._title_furniture))
        self.addPageTemplates(templates)

    # page furniture

    def _furniture(self, canv: Canvas, _doc: BaseDocTemplate) -> None:
        info = self.info
        canv.saveState()
        top = PAGE_HEIGHT - 13 * mm
        right = PAGE_WIDTH - MARGIN_RIGHT
        text_right = right
        if self._logo is not None:
            reader, (w, h) = self._logo
            height = 9 * mm
            width = height * w / h
            canv.drawImage(reader, right - width, top - 2 * mm, width, height, mask="auto")
            text_right = right - width - 3 * mm
        header = info.header
        if self.context:
            header += " · " + self.context
            if self.page > self.context_page:
                header += " (Fortsetzung)"
        header = clean(header)
        text = canv.beginText(MARGIN_LEFT, top + 3)
        text.setFillColor(ACCENT)
        text.setFont(FONT_BOLD, 9)
        text.textOut(clean(info.district))
        text.setFillColor(INK)
        text.setFont(FONT, 8)
        text.setTextOrigin(text_right - stringWidth(header, FONT, 8), top + 3)
        text.textOut(header)
        canv.drawText(text)
        canv.setStrokeColor(RULE)
        canv.setLineWidth(0.5)
        canv.line(MARGIN_LEFT, top - 3, right, top - 3)
        self._footer(canv)
        canv.restoreState()

    def _title_furniture(self, canv: Canvas, _doc: BaseDocTemplate) -> None:
        canv.saveState()
        self._footer(canv)
        canv.restoreState()

    def _footer(self, canv: Canvas) -> None:
        info = self.info
        right = PAGE_WIDTH - MARGIN_RIGHT
        y = 10 * mm
        canv.setStrokeColor(RULE)
        canv.setLineWidth(0.5)
        canv.line(MARGIN_LEFT, y + 9, right, y + 9)
        centre = MARGIN_LEFT + CONTENT_WIDTH / 2
        stand = f"Stand: {format_date(info.as_of)}"
        number = f"Seite {self.page} von "
        text = canv.beginText(MARGIN_LEFT, y)
        text.setFillColor(INK)
        text.setFont(FONT, 7.5)
        text.textOut(clean(info.authority))
        text.setTextOrigin(right - stringWidth(stand, FONT, 7.5), y)
        text.textOut(stand)
        text.setTextOrigin(centre - stringWidth(number, FONT, 7.5), y)
        text.textOut(number)
        canv.drawText(text)
        canv.saveState()
        canv.translate(centre, y)
        canv.doForm("pageTotal")
        canv.restoreState()

    # flowable hooks

    def afterFlowable(self, flowable: Flowable) -> None:
        if isinstance(flowable, Heading):
            self._headings += 1
            key = flowable.toc_key or f"h{self._headings}"  # deterministic destination names
            if flowable.toc_key:
                self.toc_pages[key] = self.page
            if flowable.outline:
                self.canv.bookmarkHorizontal(key, 0, self.frame._y + flowable.height + 6)
                self.canv.addOutlineEntry(flowable.plain, key, flowable.level,
                                          closed=flowable.level > 0)
        elif isinstance(flowable, Marker):
            if flowable.context is not None:
                self.context = flowable.context
                self.context_page = self.page
            if flowable.tick:
                self.done += 1
                if self.progress is not None and not self.progress(self.done, self.total):
                    raise ReportCancelled()

    def finish_forms(self, toc_keys: Iterable[str]) -> None:
        """Define the forms the pages refer to: total pages and TOC page numbers."""
        canv = self.canv
        canv.beginForm("pageTotal", lowerx=0, lowery=-5, upperx=80, uppery=20)
        canv.setFillColor(INK)
        canv.setFont(FONT, 7.5)
        canv.drawString(0, 0, str(self.page))
        canv.endForm()
        for key in toc_keys:
            canv.beginForm(toc_form(key), lowerx=-80, lowery=-5, upperx=0, uppery=20)
            canv.setFillColor(INK)
            canv.setFont(FONT, 9.5)
            page = self.toc_pages.get(key)
            canv.drawRightString(0, 0, str(page) if page else "–")
            canv.endForm()


def _logo(path: Path | None) -> tuple[ImageReader, tuple[int, int]] | None:
    if path is None:
        return None
    try:
        reader = ImageReader(str(path))
        size = reader.getSize()
    except Exception:  # any unreadable image: PIL raises many different errors
        raise UserError(
            f"Das Logo „{path}“ kann nicht gelesen werden. Wählen Sie in den Einstellungen eine "
            "PNG- oder JPEG-Datei oder entfernen Sie das Logo."
        ) from None
    if not size[0] or not size[1]:
        raise UserError(f"Das Logo „{path}“ ist leer.")
    return reader, size


def _canvas_maker(as_of: date) -> Callable[..., Canvas]:
    """A canvas whose PDF creation date is ``as_of`` (noon UTC) instead of the clock."""

    def make(*args: Any, **kwargs: Any) -> Canvas:
        canv = Canvas(*args, **kwargs)
        stamp = canv._doc._timeStamp
        stamp.YMDhms = (as_of.year, as_of.month, as_of.day, 12, 0, 0)
        stamp.dhh = stamp.dmm = 0
        return canv

    return make


def build_pdf(out: Path, info: DocInfo, story: Iterable[Flowable], *,
              toc: Iterable[str] = (), progress: Progress | None = None, total: int = 0,
              title_page: bool = False) -> int:
    """Lay out ``story`` into ``out`` atomically; returns the number of pages.

    ``toc``: keys of every TOC entry (their page-number forms must be defined). On any error or
    cancellation the temporary file is removed and ``out`` is left untouched.
    """
    out = Path(out)
    folder = out.parent
    if not folder.is_dir():
        raise UserError(f"Der Ordner „{folder}“ existiert nicht. Bitte wählen Sie einen "
                        "vorhandenen Ordner für die PDF-Datei.")
    if out.is_dir():
        raise UserError(f"„{out}“ ist ein Ordner. Bitte geben Sie einen Dateinamen an, "
                        "z. B. bericht.pdf.")
    temp = folder / f".{out.name}.{os.getpid()}.{secrets.token_hex(4)}.part"
    try:
        doc = ReportDoc(str(temp), info, progress=progress, total=total, title_page=title_page)
        doc._doSave = 0
        doc.build(LazyStory(story), canvasmaker=_canvas_maker(info.as_of))
        doc.finish_forms(toc)
        doc.canv.save()
        pages = doc.page
        os.replace(temp, out)
    except OSError as exc:
        with contextlib.suppress(OSError):
            temp.unlink()
        raise UserError(f"Die PDF-Datei „{out}“ kann nicht geschrieben werden "
                        f"({exc.strerror or exc}). Ist sie in einem anderen Programm geöffnet "
                        "oder der Ordner schreibgeschützt?") from None
    except BaseException:
        with contextlib.suppress(OSError):
            temp.unlink()
        raise
    return pages
