"""Evaluation sheets (Bewertungsbögen): one per measure running in a period, blank or filled.

Each sheet starts on a new page; a long sheet continues on the next page with "(Fortsetzung)"
and the measure's code in the header, so loose printed pages can be put back together.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

from reportlab.lib.units import mm
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.platypus import CondPageBreak, Flowable, PageBreak, Spacer

from integrationsplaner.domain.model import EvaluationData, MeasureData, MeasureRow
from integrationsplaner.domain.periods import HalfYear
from integrationsplaner.reports.common import (
    area_title,
    cents,
    format_date,
    format_number,
    lead_partners,
    measure_heading,
    office_name,
    office_order,
    planned_total,
    rating_text,
    resolve,
    schedule,
    scope_label,
    value,
)
from integrationsplaner.reports.fonts import FONT, FONT_BOLD
from integrationsplaner.reports.layout import (
    CONTENT_WIDTH,
    INK,
    RULE,
    STYLES,
    Heading,
    Marker,
    Progress,
    ReportOptions,
    TextLine,
    build_pdf,
    line,
    para,
)
from integrationsplaner.reports.tables import table
from integrationsplaner.reports.text import clean
from integrationsplaner.services import reporting
from integrationsplaner.services.workspace import Workspace

CHECKED = "☒"
UNCHECKED = "☐"


class RuledLines(Flowable):
    """Lines to write on by hand."""

    SPACING = 6.5 * mm

    def __init__(self, count: int) -> None:
        super().__init__()
        self.count = count
        self.spacing = self.SPACING

    def wrap(self, aw: float, _ah: float) -> tuple[float, float]:
        self.width = aw
        return aw, self.count * self.spacing

    def draw(self) -> None:
        canv = self.canv
        canv.setStrokeColor(RULE)
        canv.setLineWidth(0.4)
        path = canv.beginPath()
        for n in range(self.count):
            path.moveTo(0, n * self.spacing)
            path.lineTo(self.width, n * self.spacing)
        canv.drawPath(path, stroke=1, fill=0)


class Choices(Flowable):
    """Checkboxes with text (``☒ ✓ planmäßig``), flowing over as many lines as needed; the
    chosen one is also set in bold. Drawn directly: a table per row of boxes costs too much
    with hundreds of sheets."""

    BOX = 11
    SIZE = 8.5
    GAP = 7 * mm
    LINE = 13

    def __init__(self, items: Sequence[tuple[str, bool]]) -> None:
        super().__init__()
        self.items = [(clean(text), chosen) for text, chosen in items]
        self.places: list[tuple[float, int]] = []

    def wrap(self, aw: float, _ah: float) -> tuple[float, float]:
        self.width = aw
        self.places = []
        x, line = 0.0, 0
        for text, chosen in self.items:
            needed = stringWidth(text, FONT_BOLD if chosen else FONT, self.SIZE) + self.BOX + 4
            if x and x + needed > aw:
                x, line = 0.0, line + 1
            self.places.append((x, line))
            x += needed + self.GAP
        self.height = (line + 1) * self.LINE
        return aw, self.height

    def draw(self) -> None:
        text = self.canv.beginText()
        text.setFillColor(INK)
        for (label, chosen), (x, row) in zip(self.items, self.places, strict=True):
            y = self.height - (row + 1) * self.LINE + 4
            text.setFont(FONT, self.BOX)
            text.setTextOrigin(x, y - 1)
            text.textOut(CHECKED if chosen else UNCHECKED)
            text.setFont(FONT_BOLD if chosen else FONT, self.SIZE)
            text.setTextOrigin(x + self.BOX + 4, y)
            text.textOut(label)
        self.canv.drawText(text)


def _choices(codes: Sequence[tuple[str, str]], chosen: str | None) -> Flowable:
    return Choices([(text, code == chosen) for code, text in codes])


def _meta_table(ws: Workspace, m: MeasureData, period: HalfYear) -> Flowable:
    ref = ws.reference
    year_cost = planned_total(m, period.year)
    cost = f"{cents(planned_total(m))} gesamt" if m.budget_lines else "kein Kostenrahmen erfasst"
    if m.budget_lines:
        cost += f", davon {cents(year_cost)} im Jahr {period.year}"
    rows = [
        ["Dienststelle", office_name(ref, m.office_key), "Handlungsfeld",
         area_title(ref, m.action_area)],
        ["Federführung", lead_partners(m) or "nicht erfasst", "Zeitplan",
         schedule(m.start_date, m.end_date)],
        ["Kostenrahmen", cost, "Status", ref.codes("measure_statuses").label(m.status)],
    ]
    widths = [30 * mm, CONTENT_WIDTH / 2 - 30 * mm, 26 * mm, CONTENT_WIDTH / 2 - 26 * mm]
    return table(rows, widths, header=False, labels=(0, 2))


def _section(number: int, title: str, keep_with: float = 20 * mm) -> Flowable:
    return TextLine(f"{number}. {title}", STYLES.h3, keep_with)


def _indicators(m: MeasureData, e: EvaluationData | None, period: HalfYear,
                blank: bool) -> list[Flowable]:
    if not m.indicators:
        return [para("Für diese Maßnahme sind keine Kennzahlen hinterlegt.", STYLES.small)]
    rows: list[list[object]] = [["Kennzahl", "Einheit", "Ausgangswert", "Zielwert",
                                 f"Istwert am {format_date(period.end)}"]]
    for ind in m.indicators:
        actual = None if blank or e is None else e.actual_values.get(ind.id or "")
        rows.append([ind.name, ind.unit, value(ind.baseline), value(ind.target), value(actual)])
    widths = [CONTENT_WIDTH - 114 * mm, 24 * mm, 28 * mm, 22 * mm, 40 * mm]
    return [table(rows, widths, right=(2, 3, 4), pad=7)]


def _figures(e: EvaluationData | None, blank: bool) -> Flowable:
    shown = None if blank else e

    def count(x: int | None) -> str:
        return format_number(x, 0) if x is not None else ""

    numbers = [
        f"{shown.progress} %" if shown and shown.progress is not None else "",
        cents(shown.costs_spent_cents) if shown else "",
        count(shown.participants_total) if shown else "",
        count(shown.participants_female) if shown else "",
        count(shown.participants_minors) if shown else "",
    ]
    header = ["Fortschritt", "Kosten im Zeitraum", "Teilnehmende", "davon weiblich",
              "davon minderjährig"]
    width = CONTENT_WIDTH / 5
    return table([header, numbers], [width] * 5, right=(0, 1, 2, 3, 4), pad=9)


def _text_block(number: int, title: str, text: str, blank: bool, lines: int = 3
                ) -> list[Flowable]:
    if blank:
        return [_section(number, title, lines * RuledLines.SPACING + 2 * mm),
                Spacer(1, 1 * mm), RuledLines(lines)]
    return [_section(number, title), line(text.strip() or "keine Angabe", STYLES.body)]


def sheet(ws: Workspace, m: MeasureData, period: HalfYear, e: EvaluationData | None,
          previous: str | None, blank: bool) -> list[Flowable]:
    """The flowables of one sheet (without the page break before it)."""
    ref = ws.reference
    ratings = [(c.code, f"{c.symbol} {c.label}") for c in ref.codes("ratings").entries]
    recommendations = [(c.code, c.label) for c in ref.codes("recommendations").entries]
    filled = not blank and e is not None
    story: list[Flowable] = [
        Marker(context=f"Maßnahme {m.code}" if m.code else "Maßnahme"),
        line(f"BEWERTUNGSBOGEN · {period.label.upper()} "
                   f"({format_date(period.start)} – {format_date(period.end)})", STYLES.label),
        Heading(measure_heading(m), STYLES.h2, level=0),
        Spacer(1, 1 * mm),
    ]
    if not blank and e is None:
        story.append(line("Für diesen Zeitraum liegt noch keine Bewertung vor; der Bogen ist "
                          "zum Ausfüllen leer gelassen.", STYLES.small))
    elif filled and e is not None:
        states = ref.codes("evaluation_states")
        story.append(line(f"Stand der Bewertung: {states.label(e.state)}", STYLES.small))
    story.append(_meta_table(ws, m, period))
    story += [_section(1, "Kennzahlen"), *_indicators(m, e, period, blank or e is None)]
    story += [_section(2, "Umsetzung im Zeitraum"), _figures(e, blank)]
    chosen_rating = e.rating if filled and e else None
    prev = rating_text(ref, previous, "keine Bewertung")
    story += [_section(3, "Bewertung"),
              line(f"Zum Vergleich – Bewertung im {period.previous().label}: {prev}",
                   STYLES.small),
              _choices(ratings, chosen_rating)]
    show_text = blank or e is None
    story += _text_block(4, "Ergebnisse", e.results if e else "", show_text)
    story += _text_block(5, "Hemmnisse und Schwierigkeiten", e.obstacles if e else "", show_text)
    story += _text_block(6, "Nächste Schritte", e.next_steps if e else "", show_text)
    chosen_rec = e.recommendation if filled and e else None
    story += [_section(7, "Empfehlung"), _choices(recommendations, chosen_rec)]
    who = "" if show_text or e is None else e.evaluated_by
    when = "" if show_text or e is None else format_date(e.evaluated_on)
    signature = table(
        [["Bewertet von", "Datum", "Unterschrift"], [who, when, ""]],
        [CONTENT_WIDTH * 0.4, CONTENT_WIDTH * 0.2, CONTENT_WIDTH * 0.4], pad=14)
    story += [Spacer(1, 2 * mm), CondPageBreak(16 * mm), signature]
    return story


def _order(ws: Workspace, rows: list[MeasureRow]) -> list[MeasureRow]:
    """Sheets are sorted by office first, so each office gets its own bundle of pages."""
    order = office_order(ws.reference)
    return sorted(rows, key=lambda r: order.get(r.office_key, len(order)))


def build_sheets(ws: Workspace, period: HalfYear, out: Path, *, offices: tuple[str, ...] = (),
                 blank: bool = False, options: ReportOptions | None = None,
                 progress: Progress | None = None) -> int:
    """Write the evaluation sheets of every measure running in ``period``; returns page count."""
    rows = _order(ws, reporting.measure_outline(
        ws, reporting.MeasureScope(offices=offices, period=period)))
    return write_sheets(ws, period, [r.id for r in rows], out, scope=scope_label(
        ws.reference, offices), blank=blank, options=options, progress=progress)


def write_sheets(ws: Workspace, period: HalfYear, ids: list[str], out: Path, *, scope: str,
                 blank: bool = False, options: ReportOptions | None = None,
                 progress: Progress | None = None) -> int:
    """Write the sheets of the measures ``ids`` (in that order); returns the page count."""
    options = options or ReportOptions()
    resolved = resolve(ws, options)
    kind = "leer, zum Ausfüllen" if blank else "ausgefüllt"
    info = resolved.doc_info(
        title=f"Bewertungsbögen {period.label}",
        subject=f"Bewertungsbögen ({kind}) – {scope}",
        header=f"Bewertungsbogen {period.label}",
        keywords=("Bewertungsbogen", "Integrationskonzept", period.key),
    )

    def story() -> Iterator[Flowable]:
        evals = {} if blank else reporting.evaluations(ws, ids, period.key)
        previous = reporting.ratings(ws, ids, period.previous().key)
        if not ids:
            yield Heading(f"Bewertungsbögen {period.label}", STYLES.h1)
            yield para(f"Im {period.label} läuft laut Zeitplan keine Maßnahme ({scope}). Es "
                       "gibt daher keine Bewertungsbögen.")
            return
        for n, m in enumerate(reporting.iter_measures(ws, ids)):
            if n:
                yield PageBreak()
            yield from sheet(ws, m, period, evals.get(m.id or ""), previous.get(m.id or ""),
                             blank)

    return build_pdf(out, info, story(), progress=progress, total=len(ids))
