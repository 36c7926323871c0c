"""What the four reports contain, checked on the PDF text (pypdf), page by page."""

from __future__ import annotations

from pathlib import Path

from pypdf import PdfReader

from integrationsplaner.domain.periods import HalfYear
from integrationsplaner.reports.commands import ReportRequest, run_report
from integrationsplaner.services.workspace import Workspace

from .conftest import PERIOD, page_number, pdf_pages, pdf_text


def _sheet_starts(pages: list[str]) -> list[int]:
    return [n for n, text in enumerate(pages) if "BEWERTUNGSBOGEN" in text]


def test_one_sheet_per_running_measure(rws: Workspace, tmp_path: Path) -> None:
    out = tmp_path / "boegen.pdf"
    pages = run_report(rws, ReportRequest("sheets", out, PERIOD))
    texts = pdf_pages(out)
    assert len(texts) == pages
    starts = _sheet_starts(texts)
    assert len(starts) == 3  # plain, hostile, missing; not the ended one, not the deleted one
    text = "\n".join(texts)
    assert "HF1-01 – Sprachcafé Landstuhl" in text and "HF3-03" in text
    assert "Schon beendete" not in text and "Gelöschte" not in text
    outline = [o.title for o in PdfReader(str(out)).outline]
    assert len(outline) == 3 and outline[0].startswith("HF1-01")


def test_filled_sheet_shows_the_evaluation_in_german_format(rws: Workspace,
                                                            tmp_path: Path) -> None:
    out = tmp_path / "boegen.pdf"
    run_report(rws, ReportRequest("sheets", out, PERIOD))
    first = pdf_pages(out)[0]
    assert "2. Halbjahr 2019 (01.07.2019 – 31.12.2019)".upper() in first
    assert "1.234,56 € gesamt" in first  # cost frame
    assert "987,65 €" in first  # costs spent in the period
    assert "1.234" in first and "31.12.2019" in first and "Anna Beispiel" in first
    assert "☒ ✓ planmäßig" in first.replace("\n", " ")
    assert "☒ ausweiten" in first.replace("\n", " ")
    assert "☐ anpassen" in first.replace("\n", " ")
    assert "◐ leichte Abweichung" in first  # previous period's rating for reference
    assert "Federführung" in first and "Jobcenter Landstuhl" in first
    assert "Seite 1 von" in first and "Landkreis Kaiserslautern" in first


def test_blank_sheets_leave_every_field_empty(rws: Workspace, tmp_path: Path) -> None:
    out = tmp_path / "leer.pdf"
    run_report(rws, ReportRequest("sheets", out, PERIOD, blank=True))
    texts = pdf_pages(out)
    starts = _sheet_starts(texts)
    assert len(starts) == 3
    assert starts[:2] == [0, 1]  # an ordinary blank sheet fits on one page
    text = "\n".join(texts)
    assert "987,65 €" not in text and "Anna Beispiel" not in text and "☒" not in text
    assert "Kurs läuft gut" not in text
    assert text.count("Unterschrift") == 3


def test_long_sheet_continues_with_the_measure_in_the_header(rws: Workspace,
                                                             tmp_path: Path) -> None:
    out = tmp_path / "boegen.pdf"
    run_report(rws, ReportRequest("sheets", out, PERIOD))
    texts = pdf_pages(out)
    continued = [t for t in texts if "HF2-02 (Fortsetzung)" in t]
    assert continued, "the 20,000-character results need continuation pages"
    assert [page_number(t) for t in texts] == [(n, len(texts)) for n in range(1, len(texts) + 1)]


def test_review_report_structure(rws: Workspace, tmp_path: Path) -> None:
    out = tmp_path / "bericht.pdf"
    run_report(rws, ReportRequest("review", out, PERIOD))
    reader = PdfReader(str(out))
    texts = pdf_pages(out)
    assert "Halbjahresbericht" in texts[0] and "2. Halbjahr 2019" in texts[0]
    assert "Inhaltsverzeichnis" in texts[1]
    for title in ("1 Zusammenfassung", "Handlungsfeld 1: Sprachförderung",
                  "Anhang A: Fehlende und unfertige Bewertungen", "Anhang B: Partnerverzeichnis"):
        assert title in texts[1], title
    text = "\n".join(texts)
    assert "Abbildung 1" in text and "Abbildung 2" in text
    flat = " ".join(text.split())
    assert "✓ planmäßig" in flat and "✗ erhebliche Abweichung (Entwurf)" in flat
    assert "Bewertung fehlt" in text
    annex = next(t for t in texts if "Anhang A:" in t and "Kennung" in t)
    assert "HF3-03" in annex and "HF2-02" in annex and "HF1-01" not in annex
    assert "Kostenrahmen 2019" in text and "1.234,56 €" in text
    assert "Erika Mustermann" in text  # contacts in the annex unless left out
    titles = [o.title if not isinstance(o, list) else None for o in reader.outline]
    assert "Inhaltsverzeichnis" in titles and "1 Zusammenfassung" in titles
    assert reader.metadata.title == "Halbjahresbericht 2. Halbjahr 2019"
    assert reader.metadata.author == "Kreisverwaltung Kaiserslautern"
    assert "2. Halbjahr 2019" in reader.metadata.subject
    assert [page_number(t) for t in texts] == [(n, len(texts)) for n in range(1, len(texts) + 1)]


def test_toc_page_numbers_point_at_the_headings(rws: Workspace, tmp_path: Path) -> None:
    out = tmp_path / "bericht.pdf"
    run_report(rws, ReportRequest("review", out, PERIOD))
    texts = pdf_pages(out)
    toc_lines = texts[1].splitlines()
    line = next(x for x in toc_lines if x.startswith("Anhang A:"))
    page = int(line.split()[-1]) if line.split()[-1].isdigit() else int(
        toc_lines[toc_lines.index(line) + 1])
    assert texts[page - 1].lstrip().startswith("Anhang A") or "Anhang A:" in texts[page - 1]


def test_review_without_contacts_has_no_personal_data(rws: Workspace, tmp_path: Path) -> None:
    out = tmp_path / "bericht.pdf"
    run_report(rws, ReportRequest("review", out, PERIOD, contacts=False))
    text = pdf_text(out)
    assert "Erika Mustermann" not in text and "Jobcenter Landstuhl" in text


def test_catalogue(rws: Workspace, tmp_path: Path) -> None:
    out = tmp_path / "katalog.pdf"
    run_report(rws, ReportRequest("catalogue", out, "2018-2020"))
    reader = PdfReader(str(out))
    texts = pdf_pages(out)
    text = "\n".join(texts)
    assert "Maßnahmenkatalog" in texts[0] and "Regionales Integrationskonzept 2018–2020" in text
    assert "Inhaltsverzeichnis" in texts[1]
    for needle in ("HF1-01 – Sprachcafé Landstuhl", "Schon beendete Maßnahme",
                   "Offener Treff zum Deutschüben", "Kreishaushalt", "1.234,56 €",
                   "Auftakt", "01.02.2019", "Jobcenter Landstuhl (federführend)", "Geflüchtete"):
        assert needle in text, needle
    assert "Gelöschte" not in text
    top = [o.title for o in reader.outline if not isinstance(o, list)]
    assert any(t.startswith("Handlungsfeld 1") for t in top)
    assert reader.metadata.title.startswith("Maßnahmenkatalog")


def test_partner_directory_with_and_without_contacts(rws: Workspace, tmp_path: Path) -> None:
    with_contacts = tmp_path / "partner.pdf"
    without = tmp_path / "partner-oeffentlich.pdf"
    run_report(rws, ReportRequest("partners", with_contacts))
    run_report(rws, ReportRequest("partners", without, contacts=False))
    assert "Erika Mustermann" in pdf_text(with_contacts)
    public = pdf_text(without)
    assert "Erika Mustermann" not in public and "Ansprechpersonen" not in public.split(
        "Partner und Anschrift")[1]
    assert "Jobcenter Landstuhl" in public and "06371 12345" in public


def test_empty_period_gives_a_short_explanation(rws: Workspace, tmp_path: Path) -> None:
    out = tmp_path / "leer.pdf"
    assert run_report(rws, ReportRequest("sheets", out, "2018-H1")) == 1
    assert "keine Maßnahme" in pdf_text(out)


def test_office_filter(demo_ws: Workspace, tmp_path: Path) -> None:
    out = tmp_path / "landstuhl.pdf"
    run_report(demo_ws, ReportRequest("sheets", out, "2026-H1", offices=("vg-landstuhl",)))
    text = pdf_text(out)
    assert "Verbandsgemeinde Landstuhl" in text
    assert "Verbandsgemeinde Weilerbach" not in text.replace("Federführung", "")
    assert HalfYear.parse("2026-H1").label in text
