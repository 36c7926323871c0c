"""The catalogue of measures (Maßnahmenkatalog) of a concept period, grouped by action area.

Built for state scale: measures are streamed chunk by chunk from the database into a lazy story,
long lists are tables of at most 500 rows, and the table of contents needs no second pass.
"""

from __future__ import annotations

from collections.abc import Iterator
from itertools import groupby
from pathlib import Path

from reportlab.lib.units import mm
from reportlab.platypus import CondPageBreak, Flowable, PageBreak, Spacer

from integrationsplaner.domain.model import MeasureData
from integrationsplaner.domain.reference import ConceptPeriodRef, Reference
from integrationsplaner.reports.common import (
    area_title,
    cents,
    format_date,
    format_number,
    measure_heading,
    office_name,
    planned_total,
    resolve,
    schedule,
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
    para,
)
from integrationsplaner.reports.tables import table
from integrationsplaner.reports.text import markup
from integrationsplaner.services import reporting
from integrationsplaner.services.workspace import Workspace


def _labels(ref: Reference, name: str, codes: list[str]) -> str:
    codes_list = ref.codes(name)
    return ", ".join(codes_list.label(c) for c in codes)


def _municipalities(ref: Reference, keys: list[str]) -> str:
    names = {m.key: m.name for m in ref.municipalities()}
    return ", ".join(names.get(k, k) for k in keys)


def measure_entry(ref: Reference, m: MeasureData) -> Iterator[Flowable]:
    """Everything the catalogue says about one measure."""
    yield Marker()
    yield CondPageBreak(50 * mm)
    yield Heading(measure_heading(m), STYLES.h2, level=1, toc_key=f"m{m.id}")
    half = (CONTENT_WIDTH - 56 * mm) / 2
    yield table([
        ["Dienststelle", office_name(ref, m.office_key), "Status",
         ref.codes("measure_statuses").label(m.status)],
        ["Zeitplan", schedule(m.start_date, m.end_date), "Vernetzung",
         "ja, vernetzt Akteure" if m.networking else "nein"],
        ["Zielgruppen", _labels(ref, "target_groups", m.target_groups) or "–", "Orte",
         _municipalities(ref, m.municipalities) or "im ganzen Gebiet"],
    ], [26 * mm, half, 30 * mm, half], header=False, labels=(0, 2))
    yield Spacer(1, 1.5 * mm)
    for title, text in (("Beschreibung", m.description), ("Ziel", m.objective)):
        yield labeled(f"{title}:", text.strip() or "keine Angabe")
    if m.indicators:
        directions = ref.codes("indicator_directions")
        rows = [["Kennzahl", "Einheit", "Ausgangswert", "Zielwert", "Richtung"]]
        rows += [[i.name, i.unit, value(i.baseline), value(i.target),
                  directions.label(i.direction).split(" (")[0]] for i in m.indicators]
        yield table(rows, [CONTENT_WIDTH - 100 * mm, 24 * mm, 28 * mm, 24 * mm, 24 * mm],
                    right=(2, 3))
    else:
        yield para("Kennzahlen: keine erfasst.", STYLES.small)
    if m.budget_lines:
        categories, sources = ref.codes("budget_categories"), ref.codes("funding_sources")
        rows = [["Jahr", "Kostenart", "Finanzierung", "Betrag"]]
        rows += [[str(b.year), categories.label(b.category), sources.label(b.funding_source),
                  cents(b.planned_cents)] for b in m.budget_lines]
        rows.append(["", "Summe", "", cents(planned_total(m))])
        yield Spacer(1, 1.5 * mm)
        yield table(rows, [16 * mm, 48 * mm, CONTENT_WIDTH - 96 * mm, 32 * mm], right=(3,))
    else:
        yield para("Kostenrahmen: keiner erfasst.", STYLES.small)
    if m.milestones:
        rows = [["Meilenstein", "fällig", "erledigt"]]
        rows += [[x.title, format_date(x.due_date) or "–",
                  format_date(x.done_on) if x.done and x.done_on else ("ja" if x.done else "–")]
                 for x in m.milestones]
        yield Spacer(1, 1.5 * mm)
        yield table(rows, [CONTENT_WIDTH - 50 * mm, 25 * mm, 25 * mm])
    if m.partners:
        roles = ref.codes("partner_roles")
        yield labeled("Beteiligte Partner:", "; ".join(
            f"{p.partner_name} ({roles.label(p.role)})" for p in m.partners))
    yield Spacer(1, 3 * mm)


def build_catalogue(ws: Workspace, out: Path, *, concept: ConceptPeriodRef | None = None,
                    offices: tuple[str, ...] = (), options: ReportOptions | None = None,
                    progress: Progress | None = None) -> int:
    """Write the catalogue of measures; returns the number of pages."""
    ref = ws.reference
    options = options or ReportOptions()
    resolved = resolve(ws, options)
    rows = reporting.measure_outline(ws, reporting.MeasureScope(offices=offices,
                                                                concept=concept))
    ids = [r.id for r in rows]
    concept_title = concept.title if concept else "Alle Konzeptzeiträume"
    scope_text = scope_label(ref, offices)
    info = resolved.doc_info(
        title=f"Maßnahmenkatalog – {concept_title}",
        subject=f"Maßnahmen des Integrationskonzepts nach Handlungsfeldern – {scope_text}",
        header=f"Maßnahmenkatalog {concept.key}" if concept else "Maßnahmenkatalog",
        keywords=("Maßnahmenkatalog", "Integrationskonzept"),
    )
    entries: list[TocEntry] = []
    for number, group in groupby(rows, key=lambda r: r.action_area):
        entries.append(TocEntry(f"area{number}", area_title(ref, number)))
        entries += [TocEntry(f"m{r.id}", f"{r.code} – {r.title}" if r.code else r.title, 1)
                    for r in group]

    def story() -> Iterator[Flowable]:
        lines = [concept_title, f"Bereich: {scope_text}",
                 f"{format_number(len(ids), 0)} Maßnahmen in "
                 f"{len({r.action_area for r in rows})} Handlungsfeldern"]
        yield from title_page(ws, resolved, "Maßnahmenkatalog", "Regionales Integrationskonzept",
                              lines)
        if not ids:
            yield Heading("Keine Maßnahmen", STYLES.h1)
            yield para(f"Für {concept_title} ({scope_text}) sind keine Maßnahmen erfasst.")
            return
        yield from toc(entries)
        measures = reporting.iter_measures(ws, ids)
        for n, (number, group) in enumerate(groupby(rows, key=lambda r: r.action_area)):
            if n:
                yield PageBreak()
            count = sum(1 for _ in group)
            yield Heading(area_title(ref, number), STYLES.h1, toc_key=f"area{number}")
            goal = next((a.goal for a in ref.action_areas if a.number == number), "")
            if goal:
                yield label_para(f"<i>Strategisches Ziel:</i> {markup(goal)}", STYLES.body)
            yield para(f"{format_number(count, 0)} Maßnahmen.", STYLES.small)
            for _ in range(count):
                yield from measure_entry(ref, next(measures))

    return build_pdf(out, info, story(), toc=[e.key for e in entries], progress=progress,
                     total=len(ids), title_page=True)
