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
from pathlib import Path
from typing import Any

from reportlab import rl_config
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER, TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    BaseDocTemplate,
    Flowable,
    Frame,
    PageTemplate,
    Paragraph,
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
