"""The ``report`` command of the CLI and the one entry point both CLI and GUI use.

``integrationsplaner report sheets|review|catalogue|partners --db PATH [--period 2019-H1]
[--office KEY] [--blank] [--no-contacts] --out FILE.pdf``. Every input is checked before anything
is written; the PDF appears only complete (temporary file, then rename).
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from integrationsplaner.domain.periods import HalfYear
from integrationsplaner.domain.reference import ConceptPeriodRef, Reference
from integrationsplaner.errors import UserError
from integrationsplaner.reports.layout import Progress, ReportOptions
from integrationsplaner.services.periods import current_period
from integrationsplaner.services.workspace import Workspace, open_workspace

KINDS = {
    "sheets": "Bewertungsbögen",
    "review": "Halbjahresbericht",
    "catalogue": "Maßnahmenkatalog",
    "partners": "Partnerverzeichnis",
}
EXIT_OK = 0


@dataclass(frozen=True)
class ReportRequest:
    """One report to write, as chosen in the dialog or on the command line."""

    kind: str
    out: Path
    period: str | None = None
    offices: tuple[str, ...] = ()
    blank: bool = False
    contacts: bool = True


def check_period(ref: Reference, text: str) -> HalfYear:
    """A half-year within the concept periods of the district (or refused in German)."""
    period = HalfYear.parse(text)
    first = min(p.start_year for p in ref.concept_periods)
    last = max(p.end_year for p in ref.concept_periods)
    if not first <= period.year <= last:
        raise UserError(
            f"Für das {period.label} gibt es kein Integrationskonzept (erfasst sind die Jahre "
            f"{first} bis {last}). Bitte wählen Sie einen Zeitraum aus diesen Jahren."
        )
    return period


def check_concept(ref: Reference, text: str | None, today: date | None = None
                  ) -> ConceptPeriodRef | None:
    """The concept period for the catalogue: its key (``2018-2020``), a half-year inside it, or
    None (no period given: every measure of every concept period)."""
    if text is None:
        return None
    for concept in ref.concept_periods:
        if concept.key == text.strip():
            return concept
    try:
        period = check_period(ref, text)
    except UserError:
        keys = ", ".join(c.key for c in ref.concept_periods)
        raise UserError(
            f"„{text}“ ist kein bekannter Zeitraum. Für den Maßnahmenkatalog geben Sie ein "
            f"Konzept ({keys}) oder ein Halbjahr wie 2019-H1 an."
        ) from None
    return next(c for c in ref.concept_periods if c.start_year <= period.year <= c.end_year)


def check_offices(ref: Reference, offices: tuple[str, ...]) -> tuple[str, ...]:
    for key in offices:
        ref.office(key)  # raises a German UserError naming the known keys
    return tuple(dict.fromkeys(offices))


def check_out(out: Path) -> Path:
    if out.suffix.lower() != ".pdf":
        raise UserError(f"„{out}“: Bitte geben Sie einen Dateinamen mit der Endung .pdf an.")
    if not out.parent.is_dir():
        raise UserError(f"Der Ordner „{out.parent}“ existiert nicht. Bitte legen Sie ihn an "
                        "oder wählen Sie einen anderen Speicherort.")
    return out


def run_report(ws: Workspace, request: ReportRequest, *, options: ReportOptions | None = None,
               progress: Progress | None = None, today: date | None = None) -> int:
    """Check the request and write the report; returns the number of pages."""
    ref = ws.reference
    if request.kind not in KINDS:
        raise UserError(f"Unbekannte Berichtsart „{request.kind}“. Möglich sind: "
                        f"{', '.join(KINDS)}.")
    offices = check_offices(ref, request.offices)
    out = check_out(Path(request.out))
    options = options or ReportOptions()
    if request.kind in ("sheets", "review"):
        period = (check_period(ref, request.period) if request.period
                  else current_period(today))
        if request.kind == "sheets":
            from integrationsplaner.reports import sheets

            return sheets.build_sheets(ws, period, out, offices=offices, blank=request.blank,
                                       options=options, progress=progress)
        from integrationsplaner.reports import review

        return review.build_review(ws, period, out, offices=offices,
                                   contacts=request.contacts, options=options,
                                   progress=progress)
    if request.kind == "catalogue":
        from integrationsplaner.reports import catalogue

        concept = check_concept(ref, request.period)
        return catalogue.build_catalogue(ws, out, concept=concept, offices=offices,
                                         options=options, progress=progress)
    from integrationsplaner.reports import partners

    return partners.build_partners(ws, out, offices=offices, contacts=request.contacts,
                                   options=options, progress=progress)


def report_command(args: argparse.Namespace) -> int:
    """CLI entry: exit 0 on success; rejected input raises UserError (exit 1, nothing written)."""
    request = ReportRequest(
        kind=args.kind, out=Path(args.out), period=args.period,
        offices=(args.office,) if args.office else (), blank=bool(args.blank),
        contacts=not args.no_contacts,
    )
    with open_workspace(args.db, readonly=True) as ws:
        pages = run_report(ws, request)
    unit = "Seite" if pages == 1 else "Seiten"
    print(f"{KINDS[request.kind]} mit {pages} {unit} nach {request.out} geschrieben.")
    return EXIT_OK
