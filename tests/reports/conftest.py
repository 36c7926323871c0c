"""Fixtures of the report tests: a small database with known figures and hostile texts, built
once per session and opened read-only by each test (reports never write to the database)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from pypdf import PdfReader

from integrationsplaner.domain.model import (
    BudgetLineData,
    ContactData,
    EvaluationData,
    IndicatorData,
    MeasureData,
    MilestoneData,
    ParticipationData,
    PartnerData,
)
from integrationsplaner.services import evaluations, measures, partners
from integrationsplaner.services.workspace import Workspace, create_workspace, open_workspace

PERIOD = "2019-H2"
#: 20,000 characters (the longest text the program accepts) with a countable marker word.
LONG_TEXT = ("Zwischenbericht " * 1250)[:20_000]
LONG_WORD = "Donaudampfschifffahrtsgesellschaftskapitän" * 12
HOSTILE = ("<b>fett?</b> <para>Absatz</para> & &amp; < > \"x\" 'y' <font size=40>G</font> "
           "emoji 😀🚀 \u202eumgedreht Ende")


def pdf_pages(path: Path) -> list[str]:
    """The extracted text of each page."""
    return [page.extract_text() or "" for page in PdfReader(str(path)).pages]


def page_number(text: str) -> tuple[int, int] | None:
    """The footer's "Seite x von y" (the total is a form, so it may come on its own line)."""
    match = re.search(r"Seite (\d+) von\s*(\d+)", text)
    return (int(match.group(1)), int(match.group(2))) if match else None


def pdf_text(path: Path) -> str:
    return "\n".join(pdf_pages(path))


def _measure(code: str, title: str, **kw: object) -> MeasureData:
    data = MeasureData(
        code=code, title=title, action_area=1, status="laufend", concept_period="2018-2020",
        description="Offener Treff zum Deutschüben.", objective="Alltagsdeutsch festigen.",
        start_date=date(2019, 1, 1), end_date=date(2019, 12, 31),
        target_groups=["gefluechtete"], municipalities=["landstuhl"],
        indicators=[IndicatorData("Teilnehmende", "Personen", 0, 40)],
        budget_lines=[BudgetLineData(2019, "sach", "kreis", 123_456)],
        milestones=[MilestoneData("Auftakt", date(2019, 2, 1), True, date(2019, 2, 1))],
    )
    for key, value in kw.items():
        setattr(data, key, value)
    return data


def build(ws: Workspace) -> dict[str, str]:
    """Three measures running in 2019-H2 (one evaluated, one hostile, one without evaluation)
    and one that ended before; a deleted measure that must never appear."""
    jc = partners.save_partner(ws, PartnerData(
        name="Jobcenter Landstuhl", kind="jobcenter", city="Landstuhl", phone="06371 12345",
        contacts=[ContactData("Erika Mustermann", "Integrationsberatung", "06371 1", "e@m.de")]))
    hostile_partner = partners.save_partner(ws, PartnerData(
        name=HOSTILE[:200], kind="ehrenamt", notes=LONG_TEXT,
        contacts=[ContactData("Max <b>Geheim</b>", "Ehrenamt")]))
    ids = {}
    ids["plain"] = measures.save_measure(ws, _measure(
        "HF1-01", "Sprachcafé Landstuhl",
        partners=[ParticipationData(jc.id, "federfuehrend")])).id
    ids["hostile"] = measures.save_measure(ws, _measure(
        "HF2-02", HOSTILE[:200], action_area=2, description=LONG_TEXT,
        objective=LONG_WORD + " " + HOSTILE,
        indicators=[IndicatorData(HOSTILE[:200], "<u>", 1, 2),
                    IndicatorData(LONG_WORD[:200], "Personen", None, None)],
        partners=[ParticipationData(hostile_partner.id, "partner")])).id
    ids["missing"] = measures.save_measure(ws, _measure(
        "HF3-03", "Jobbörse ohne Bewertung", action_area=3, indicators=[], budget_lines=[])).id
    ids["ended"] = measures.save_measure(ws, _measure(
        "HF1-04", "Schon beendete Maßnahme", end_date=date(2019, 3, 31))).id
    deleted = measures.save_measure(ws, _measure("HF1-05", "Gelöschte Maßnahme")).id
    measures.set_deleted(ws, deleted, True)
    plain = measures.get_measure(ws, ids["plain"])
    evaluations.save_evaluation(ws, EvaluationData(
        measure_id=ids["plain"], period=PERIOD, state="abgeschlossen", rating="planmaessig",
        progress=60, actual_values={plain.indicators[0].id: 35},
        costs_spent_cents=98_765, participants_total=1234, participants_female=600,
        participants_minors=12, results="Kurs läuft gut.", obstacles="Raum zu klein.",
        next_steps="Zweiten Termin anbieten.", recommendation="ausweiten",
        evaluated_by="Anna Beispiel", evaluated_on=date(2019, 12, 31)))
    evaluations.save_evaluation(ws, EvaluationData(
        measure_id=ids["plain"], period="2019-H1", state="abgeschlossen",
        rating="leichte_abweichung", evaluated_by="Anna Beispiel",
        evaluated_on=date(2019, 6, 30)))
    evaluations.save_evaluation(ws, EvaluationData(
        measure_id=ids["hostile"], period=PERIOD, state="entwurf",
        rating="erhebliche_abweichung", results=LONG_TEXT, obstacles=HOSTILE,
        next_steps=LONG_WORD, evaluated_by=HOSTILE[:200], evaluated_on=date(2019, 12, 1)))
    return ids


@pytest.fixture(scope="session")
def _report_db(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    path = tmp_path_factory.mktemp("reports") / "landstuhl.sqlite"
    with create_workspace(path, "vg-landstuhl", user="tester") as ws:
        ids = build(ws)
    return path, ids


@pytest.fixture
def report_db(_report_db: tuple[Path, dict[str, str]]) -> Path:
    return _report_db[0]


@pytest.fixture
def ids(_report_db: tuple[Path, dict[str, str]]) -> dict[str, str]:
    return _report_db[1]


@pytest.fixture
def rws(report_db: Path) -> Iterator[Workspace]:
    """The report database, opened read-only as the CLI does."""
    workspace = open_workspace(report_db, readonly=True)
    yield workspace
    workspace.close()
