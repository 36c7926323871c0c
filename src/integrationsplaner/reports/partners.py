"""The partner directory (Partnerverzeichnis): every partner with address and reachability,
with or without contact persons (personal data: leave them out for publication)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from reportlab.platypus import Flowable

from integrationsplaner.reports.common import format_number, partner_tables, resolve, scope_label
from integrationsplaner.reports.layout import (
    STYLES,
    Heading,
    Progress,
    ReportOptions,
    build_pdf,
    para,
)
from integrationsplaner.services import reporting
from integrationsplaner.services.workspace import Workspace


def build_partners(ws: Workspace, out: Path, *, offices: tuple[str, ...] = (),
                   contacts: bool = True, options: ReportOptions | None = None,
                   progress: Progress | None = None) -> int:
    """Write the partner directory; returns the number of pages."""
    ref = ws.reference
    options = options or ReportOptions()
    resolved = resolve(ws, options)
    scope_text = scope_label(ref, offices)
    note = ("mit Ansprechpersonen – enthält personenbezogene Daten, nur für den "
            "Dienstgebrauch" if contacts
            else "ohne Ansprechpersonen, zur Veröffentlichung geeignet")
    info = resolved.doc_info(
        title="Partnerverzeichnis",
        subject=f"Akteure der Integrationsarbeit – {scope_text} ({note})",
        header="Partnerverzeichnis",
        keywords=("Partnerverzeichnis", "Integrationskonzept"),
    )

    def story() -> Iterator[Flowable]:
        directory = reporting.partner_directory(ws, offices=offices, contacts=contacts)
        if progress is not None:
            progress(0, 1)
        yield Heading("Partnerverzeichnis", STYLES.h1)
        yield para(f"Akteure der Integrationsarbeit: {scope_text}. "
                   f"{format_number(len(directory), 0)} Partner, nach Art geordnet; {note}. "
                   "„Felder“ nennt die Nummern der Handlungsfelder, in denen der Partner tätig "
                   "ist.")
        if not directory:
            yield para("Es sind keine Partner erfasst.")
        yield from partner_tables(ref, directory, contacts, level=0)

    return build_pdf(out, info, story(), progress=progress, total=1)
