"""Pieces several reports share: scope and options resolution, labels, title page, TOC, partners."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path

from reportlab.lib.units import mm
from reportlab.platypus import (
    CondPageBreak,
    Flowable,
    Image,
    NextPageTemplate,
    PageBreak,
    Spacer,
)

from integrationsplaner.domain import formatting
from integrationsplaner.domain.model import MeasureData, PartnerData
from integrationsplaner.domain.reference import Reference
from integrationsplaner.reports.layout import (
    CONTENT_WIDTH,
    STYLES,
    DocInfo,
    Heading,
    ReportOptions,
    TocEntry,
    TocLine,
    label_para,
    para,
)
from integrationsplaner.reports.tables import Lead, chunked_tables
from integrationsplaner.reports.text import markup
from integrationsplaner.services import reporting
from integrationsplaner.services.workspace import Workspace

# Babel formatting is exact but slow (a tenth of a millisecond per call); the same amounts,
# dates and numbers recur on every sheet, so reports use these cached forms.
format_cents = lru_cache(maxsize=8192)(formatting.format_cents)
format_date = lru_cache(maxsize=4096)(formatting.format_date)
format_number = lru_cache(maxsize=8192)(formatting.format_number)

#: Longest excerpt of a free text in the review report; longer texts are shortened *visibly*.
EXCERPT = 700
SHORTENED = " […] (gekürzt; vollständiger Text im Bewertungsbogen)"


@dataclass(frozen=True)
class Resolved:
    """Options with every default filled in from reference data and the database."""

    district: str
    authority: str
    author: str
    as_of: date
    logo: Path | None

    def doc_info(self, *, title: str, subject: str, header: str,
                 keywords: tuple[str, ...]) -> DocInfo:
        """Page furniture and PDF metadata of one report under these settings."""
        return DocInfo(title=title, subject=subject, header=header, district=self.district,
                       authority=self.authority, author=self.author, as_of=self.as_of,
                       logo=self.logo, keywords=keywords)


def resolve(ws: Workspace, options: ReportOptions) -> Resolved:
    ref = ws.reference
    as_of = options.as_of or reporting.data_as_of(ws) or date(2000, 1, 1)
    return Resolved(
        district=options.district_name or ref.district_name,
        authority=options.authority or ref.authority,
        author=options.author or options.authority or ref.authority,
        as_of=as_of,
        logo=options.logo_path,
    )


def scope_label(ref: Reference, offices: Sequence[str]) -> str:
    if not offices:
        return f"{ref.district_name} (alle Dienststellen)"
    return ", ".join(ref.office(key).name for key in offices)


def office_name(ref: Reference, key: str) -> str:
    for office in ref.offices:
        if office.key == key:
            return office.name
    return key


def office_order(ref: Reference) -> dict[str, int]:
    return {key: n for n, key in enumerate(ref.office_keys())}


def area_title(ref: Reference, number: int) -> str:
    for area in ref.action_areas:
        if area.number == number:
            return f"Handlungsfeld {number}: {area.title}"
    return f"Handlungsfeld {number}"


def rating_text(ref: Reference, code: str | None, missing: str = "keine Bewertung") -> str:
    """Symbol plus text (never colour alone): ``✓ planmäßig``."""
    entry = ref.codes("ratings").get(code)
    if entry is None:
        return missing if code is None else code
    return f"{entry.symbol} {entry.label}"


def schedule(start: date | None, end: date | None) -> str:
    if start is None and end is None:
        return "ohne Zeitplan"
    return f"{format_date(start) or 'offen'} – {format_date(end) or 'offen'}"


def measure_heading(m: MeasureData) -> str:
    return f"{m.code} – {m.title}" if m.code else m.title


def lead_partners(m: MeasureData) -> str:
    names = [p.partner_name for p in m.partners if p.role == "federfuehrend"]
    return ", ".join(names)


def planned_total(m: MeasureData, year: int | None = None) -> int:
    return sum(b.planned_cents for b in m.budget_lines if year is None or b.year == year)


def value(number: float | None, unit: str = "") -> str:
    if number is None:
        return ""
    text = format_number(number)
    return f"{text} {unit}".strip() if unit and unit != "Anzahl" else text


def excerpt(text: str, limit: int = EXCERPT) -> str:
    """At most ``limit`` characters, cut at a word boundary and marked as shortened."""
    text = text.strip()
    if len(text) <= limit:
        return text
    cut = text[:limit]
    space = cut.rfind(" ")
    if space > limit * 0.6:
        cut = cut[:space]
    return cut.rstrip() + SHORTENED


def title_page(ws: Workspace, resolved: Resolved, title: str, subtitle: str,
               lines: Iterable[str]) -> list[Flowable]:
    """The cover: district, logo, title, subtitle, scope lines and the "Stand" date."""
    story: list[Flowable] = [NextPageTemplate("body")]
    logo = resolved.logo
    if logo is not None:
        image = Image(str(logo))
        ratio = image.imageWidth / image.imageHeight
        height = 22 * mm
        image.drawHeight, image.drawWidth = height, min(height * ratio, 70 * mm)
        image.hAlign = "LEFT"
        story.append(image)
        story.append(Spacer(1, 8 * mm))
    story += [
        para(resolved.district, STYLES.subtitle),
        para(resolved.authority, STYLES.body),
        Spacer(1, 55 * mm),
        para(title, STYLES.title),
        para(subtitle, STYLES.subtitle),
        Spacer(1, 6 * mm),
    ]
    story += [para(line, STYLES.body) for line in lines]
    story += [Spacer(1, 4 * mm), para(f"Stand der Daten: {format_date(resolved.as_of)}"),
              PageBreak()]
    return story


def toc(entries: Sequence[TocEntry]) -> Iterator[Flowable]:
    yield Heading("Inhaltsverzeichnis", STYLES.h1, outline=True)
    for entry in entries:
        yield TocLine(entry)
    yield PageBreak()


def partner_tables(ref: Reference, partners: Sequence[PartnerData], contacts: bool,
                   level: int = 1) -> Iterator[Flowable]:
    """Partners grouped by kind, one (chunked) table per kind."""
    kinds = ref.codes("partner_kinds")
    order = {code: n for n, code in enumerate(kinds.codes())}
    groups: dict[str, list[PartnerData]] = {}
    for partner in partners:
        groups.setdefault(partner.kind, []).append(partner)
    widths = [50 * mm, 47 * mm, 14 * mm, CONTENT_WIDTH - 111 * mm] if contacts else \
        [70 * mm, 62 * mm, CONTENT_WIDTH - 132 * mm]
    header = ["Partner und Anschrift", "Erreichbarkeit", "Felder"]
    if contacts:
        header.append("Ansprechpersonen")
    for kind in sorted(groups, key=lambda k: (order.get(k, len(order)), k)):
        yield CondPageBreak(40 * mm)
        yield Heading(f"{kinds.label(kind)} ({len(groups[kind])})", STYLES.h3, level=level)
        rows = (_partner_row(p, contacts) for p in groups[kind])
        yield from chunked_tables(header, rows, widths)


def _partner_row(p: PartnerData, contacts: bool) -> list[object]:
    address = "\n".join(x for x in (p.street, f"{p.postal_code} {p.city}".strip()) if x)
    reach = "\n".join(x for x in (p.phone, p.email, p.website) if x)
    row: list[object] = [Lead(p.name, address), reach or "–",
                         ", ".join(str(a) for a in sorted(p.action_areas)) or "–"]
    if contacts:
        people = [Lead(c.name, "\n".join(x for x in (c.function, c.phone, c.email) if x))
                  for c in p.contacts]
        if len(people) == 1:
            row.append(people[0])
        elif people:
            row.append(label_para("<br/>".join(
                f"<b>{markup(c.strong)}</b>" + "".join(f"<br/>{markup(x)}"
                                                      for x in c.rest.split("\n") if x)
                for c in people), STYLES.cell))
        else:
            row.append("–")
    return row


def cents(amount: int | None) -> str:
    return format_cents(amount) if amount is not None else ""
