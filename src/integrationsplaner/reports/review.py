"""The half-year review report (Halbjahresbericht) for the steering group, the integration
council and the district parliament: one period, one office or the whole district."""

from __future__ import annotations

from collections.abc import Iterator
from itertools import groupby
from pathlib import Path

from reportlab.lib.units import mm
from reportlab.platypus import CondPageBreak, Flowable, PageBreak, Spacer

from integrationsplaner.domain.model import EvaluationData, MeasureData, MeasureRow
from integrationsplaner.domain.periods import HalfYear
from integrationsplaner.domain.reference import Reference
from integrationsplaner.reports import charts
from integrationsplaner.reports.common import (
    area_title,
    cents,
    excerpt,
    format_date,
    format_number,
    measure_heading,
    office_name,
    office_order,
    partner_tables,
    planned_total,
    rating_text,
    resolve,
    scope_label,
    title_page,
    toc,
    value,
)
from integrationsplaner.reports.layout import (
    CONTENT_WIDTH,
    STYLES,
    Heading,
    Marker,
    Progress,
    ReportOptions,
    TocEntry,
    build_pdf,
    label_para,
    labeled,
    line,
    para,
)
from integrationsplaner.reports.tables import chunked_tables, table
from integrationsplaner.reports.text import markup
from integrationsplaner.services import reporting
from integrationsplaner.services.reporting import AreaSummary
from integrationsplaner.services.workspace import Workspace


def _percent(part: int, whole: int) -> str:
    return f"{format_number(100 * part / whole, 1)} %" if whole else "–"


def _missing_text(count: int) -> str:
    if count == 1:
        return "1 Bewertung fehlt noch"
    return f"{format_number(count, 0)} Bewertungen fehlen noch"


def _summary(ref: Reference, period: HalfYear, summary: dict[int, AreaSummary]
             ) -> Iterator[Flowable]:
    areas = [summary[a.number] for a in ref.action_areas if a.number in summary]
    total = sum(s.measures for s in areas)
    received = sum(s.received for s in areas)
    final = sum(s.final for s in areas)
    planned = sum(s.planned_cents for s in areas)
    spent = sum(s.spent_cents for s in areas)
    yield Heading("1 Zusammenfassung", STYLES.h1, toc_key="summary")
    yield para(
        f"Im {period.label} ({format_date(period.start)} bis {format_date(period.end)}) liefen "
        f"laut Zeitplan {format_number(total, 0)} Maßnahmen. Für "
        f"{format_number(received, 0)} davon liegt eine Bewertung vor "
        f"({_percent(received, total)}), {format_number(final, 0)} davon endgültig und "
        f"{format_number(received - final, 0)} als Entwurf; {_missing_text(total - received)} "
        "(siehe Anhang A). Dem "
        f"Kostenrahmen von {cents(planned)} für {period.year} stehen bis zum "
        f"{format_date(period.end)} gemeldete Ausgaben von {cents(spent)} gegenüber "
        f"({_percent(spent, planned)})."
    )
    short = {a.number: f"{a.number} {a.short_title}" for a in ref.action_areas}

    statuses = ref.codes("measure_statuses").entries
    yield Heading("Maßnahmen nach Handlungsfeld und Status", STYLES.h3, level=1)
    width = (CONTENT_WIDTH - 50 * mm) / (len(statuses) + 1)
    rows: list[list[object]] = [["Handlungsfeld", *[c.label for c in statuses], "gesamt"]]
    for s in areas:
        rows.append([short[s.number], *[format_number(s.by_status.get(c.code, 0), 0)
                                        for c in statuses], format_number(s.measures, 0)])
    rows.append(["Summe", *[format_number(sum(s.by_status.get(c.code, 0) for s in areas), 0)
                            for c in statuses], format_number(total, 0)])
    yield table(rows, [50 * mm] + [width] * (len(statuses) + 1),
                right=tuple(range(1, len(statuses) + 2)))

    yield CondPageBreak(70 * mm)
    yield Heading("Bewertungen: eingegangen und fehlend", STYLES.h3, level=1)
    rows = [["Handlungsfeld", "Maßnahmen", "Bewertungen", "davon abgeschlossen", "fehlend",
             "Quote"]]
    for s in areas:
        rows.append([short[s.number], format_number(s.measures, 0), format_number(s.received, 0),
                     format_number(s.final, 0), format_number(s.measures - s.received, 0),
                     _percent(s.received, s.measures)])
    rows.append(["Summe", format_number(total, 0), format_number(received, 0),
                 format_number(final, 0), format_number(total - received, 0),
                 _percent(received, total)])
    w = (CONTENT_WIDTH - 50 * mm) / 5
    yield table(rows, [50 * mm] + [w] * 5, right=(1, 2, 3, 4, 5))

    ratings = ref.codes("ratings").entries
    yield CondPageBreak(90 * mm)
    yield Heading("Bewertungen nach Ergebnis", STYLES.h3, level=1)
    rows = [["Handlungsfeld", *[f"{c.symbol} {c.label}" for c in ratings], "ohne Bewertung"]]
    bars = []
    for s in areas:
        counts = [s.by_rating.get(c.code, 0) for c in ratings]
        missing = s.measures - sum(counts)
        rows.append([short[s.number], *[format_number(n, 0) for n in counts],
                     format_number(missing, 0)])
        bars.append(charts.AreaBar(short[s.number], [*counts, missing]))
    w = (CONTENT_WIDTH - 40 * mm) / (len(ratings) + 1)
    yield table(rows, [40 * mm] + [w] * (len(ratings) + 1),
                right=tuple(range(1, len(ratings) + 2)))
    yield Spacer(1, 3 * mm)
    yield charts.ratings_chart(bars, ratings)
    yield line("Abbildung 1: Anteil der Bewertungsergebnisse je Handlungsfeld (Symbol und Anzahl "
               "im Balken).", STYLES.small)

    yield CondPageBreak(100 * mm)
    yield Heading(f"Kostenrahmen {period.year} und gemeldete Ausgaben", STYLES.h3, level=1)
    rows = [["Handlungsfeld", f"Kostenrahmen {period.year}",
             f"Ausgaben bis {format_date(period.end)}", "Anteil"]]
    budget_bars = []
    for s in areas:
        rows.append([short[s.number], cents(s.planned_cents), cents(s.spent_cents),
                     _percent(s.spent_cents, s.planned_cents)])
        budget_bars.append(charts.AreaBar(short[s.number], [s.planned_cents, s.spent_cents]))
    rows.append(["Summe", cents(planned), cents(spent), _percent(spent, planned)])
    w = (CONTENT_WIDTH - 50 * mm) / 3
    yield table(rows, [50 * mm, w, w, w], right=(1, 2, 3))
    yield Spacer(1, 3 * mm)
    yield charts.budget_chart(budget_bars, f"Kostenrahmen {period.year}",
                              f"Ausgaben bis {format_date(period.end)}")
    yield line("Abbildung 2: Kostenrahmen und gemeldete Ausgaben je Handlungsfeld.",
               STYLES.small)
    yield PageBreak()


def _measure(ref: Reference, m: MeasureData, e: EvaluationData | None, previous: str | None,
             period: HalfYear) -> Iterator[Flowable]:
    yield Marker()
    yield CondPageBreak(45 * mm)
    yield Heading(measure_heading(m), STYLES.h3, level=1)
    recommendations = ref.codes("recommendations")
    rating = rating_text(ref, e.rating if e else None, "Bewertung fehlt")
    if e is not None and e.state != "abgeschlossen":
        rating += " (Entwurf)"
    half = (CONTENT_WIDTH - 56 * mm) / 2
    rows = [
        ["Dienststelle", office_name(ref, m.office_key), "Bewertung", rating],
        ["Fortschritt", f"{e.progress} %" if e and e.progress is not None else "–",
         "Vorperiode", rating_text(ref, previous, "keine")],
        ["Ausgaben", cents(e.costs_spent_cents) if e and e.costs_spent_cents is not None
         else "–", f"Kostenrahmen {period.year}", cents(planned_total(m, period.year))],
        ["Teilnehmende", format_number(e.participants_total, 0)
         if e and e.participants_total is not None else "–", "Empfehlung",
         recommendations.label(e.recommendation) if e and e.recommendation else "–"],
    ]
    yield table(rows, [26 * mm, half, 30 * mm, half], header=False, labels=(0, 2))
    if m.indicators:
        rows = [["Kennzahl", "Ausgangswert", "Zielwert", f"Ist {format_date(period.end)}"]]
        for ind in m.indicators:
            actual = e.actual_values.get(ind.id or "") if e else None
            rows.append([f"{ind.name} ({ind.unit})" if ind.unit else ind.name,
                         value(ind.baseline), value(ind.target),
                         value(actual) if actual is not None else "–"])
        yield Spacer(1, 1.5 * mm)
        yield table(rows, [CONTENT_WIDTH - 86 * mm, 28 * mm, 26 * mm, 32 * mm], right=(1, 2, 3))
    if e is not None:
        for title, text in (("Ergebnisse", e.results), ("Hemmnisse", e.obstacles),
                            ("Nächste Schritte", e.next_steps)):
            if text.strip():
                yield labeled(f"{title}:", excerpt(text))
    yield Spacer(1, 2 * mm)


def _missing(ref: Reference, rows: list[MeasureRow], evals: dict[str, EvaluationData]
             ) -> Iterator[Flowable]:
    yield Heading("Anhang A: Fehlende und unfertige Bewertungen", STYLES.h1, toc_key="missing")
    order = office_order(ref)
    open_rows = sorted(
        (r for r in rows if r.id not in evals or evals[r.id].state != "abgeschlossen"),
        key=lambda r: (order.get(r.office_key, len(order)), r.action_area, r.code),
    )
    if not open_rows:
        yield para("Alle Bewertungen des Zeitraums liegen abgeschlossen vor.")
        return
    yield para(f"{format_number(len(open_rows), 0)} Maßnahmen ohne abgeschlossene Bewertung, "
               "nach Dienststelle geordnet.")
    header = ["Dienststelle", "Kennung", "Maßnahme", "HF", "Stand"]
    widths = [48 * mm, 24 * mm, CONTENT_WIDTH - 102 * mm, 10 * mm, 20 * mm]
    yield from chunked_tables(header, (
        [office_name(ref, r.office_key), r.code, r.title, str(r.action_area),
         "Entwurf" if r.id in evals else "fehlt"] for r in open_rows), widths)


def build_review(ws: Workspace, period: HalfYear, out: Path, *, offices: tuple[str, ...] = (),
                 contacts: bool = True, options: ReportOptions | None = None,
                 progress: Progress | None = None) -> int:
    """Write the half-year review report; returns the number of pages."""
    ref = ws.reference
    options = options or ReportOptions()
    resolved = resolve(ws, options)
    scope = reporting.MeasureScope(offices=offices, period=period)
    rows = reporting.measure_outline(ws, scope)
    ids = [r.id for r in rows]
    scope_text = scope_label(ref, offices)
    info = resolved.doc_info(
        title=f"Halbjahresbericht {period.label}",
        subject=f"Umsetzung des Integrationskonzepts im {period.label} – {scope_text}",
        header=f"Halbjahresbericht {period.label}",
        keywords=("Halbjahresbericht", "Integrationskonzept", period.key),
    )
    areas_present = sorted({r.action_area for r in rows})
    entries = [TocEntry("summary", "1 Zusammenfassung")]
    entries += [TocEntry(f"area{n}", f"{i + 2} {area_title(ref, n)}")
                for i, n in enumerate(areas_present)]
    entries += [TocEntry("missing", "Anhang A: Fehlende und unfertige Bewertungen"),
                TocEntry("partners", "Anhang B: Partnerverzeichnis")]

    def story() -> Iterator[Flowable]:
        evals = reporting.evaluations(ws, ids, period.key)
        previous = reporting.ratings(ws, ids, period.previous().key)
        summary = reporting.review_summary(ws, scope, period,
                                           [a.number for a in ref.action_areas])
        yield from title_page(ws, resolved, "Halbjahresbericht", period.label, [
            f"Berichtszeitraum: {format_date(period.start)} bis {format_date(period.end)}",
            f"Bereich: {scope_text}",
            "Bericht an die Steuerungsgruppe, den Integrationsbeirat und den Kreistag",
        ])
        yield from toc(entries)
        yield from _summary(ref, period, summary)
        measures = reporting.iter_measures(ws, ids)
        for i, (number, group) in enumerate(groupby(rows, key=lambda r: r.action_area)):
            count = sum(1 for _ in group)
            yield Heading(f"{i + 2} {area_title(ref, number)}", STYLES.h1, toc_key=f"area{number}")
            goal = next((a.goal for a in ref.action_areas if a.number == number), "")
            if goal:
                yield label_para(f"<i>Strategisches Ziel:</i> {markup(goal)}", STYLES.body)
            yield para(f"{format_number(count, 0)} Maßnahmen im Berichtszeitraum.", STYLES.small)
            for _ in range(count):
                m = next(measures)
                yield from _measure(ref, m, evals.get(m.id or ""), previous.get(m.id or ""),
                                    period)
            yield PageBreak()
        yield from _missing(ref, rows, evals)
        yield PageBreak()
        yield Heading("Anhang B: Partnerverzeichnis", STYLES.h1, toc_key="partners")
        partner_ids = reporting.partners_of_measures(ws, ids)
        directory = reporting.partner_directory(ws, partner_ids=partner_ids, contacts=contacts)
        note = ("mit Ansprechpersonen" if contacts
                else "ohne Ansprechpersonen (zur Veröffentlichung)")
        yield para(f"Partner, die an Maßnahmen des Berichtszeitraums beteiligt sind – {note}.",
                   STYLES.small)
        if not directory:
            yield para("An den Maßnahmen des Zeitraums sind keine Partner erfasst.")
        yield from partner_tables(ref, directory, contacts)

    return build_pdf(out, info, story(), toc=[e.key for e in entries], progress=progress,
                     total=len(ids), title_page=True)
