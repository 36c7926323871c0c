"""Services: create, update, delete, restore, search, validation, audit, ownership."""

from __future__ import annotations

import sqlite3
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from integrationsplaner.domain.model import (
    BudgetLineData,
    EvaluationData,
    IndicatorData,
    MeasureData,
    MeasureFilter,
    MilestoneData,
    ParticipationData,
    PartnerData,
)
from integrationsplaner.domain.text import sort_key
from integrationsplaner.errors import (
    PermissionDeniedError,
    StaleRecordError,
    ValidationError,
)
from integrationsplaner.services import (
    audit,
    evaluations,
    measure_list,
    measures,
    partners,
    periods,
)
from integrationsplaner.services.workspace import Workspace

HOSTILE = "<b>Sprach&café</b> =SUMME(A1) \u202egnp.exe"


def make_measure(ws: Workspace, **overrides) -> MeasureData:
    data = MeasureData(
        code="HF1-01", title="Sprachcafé Landstuhl", action_area=1, status="laufend",
        description="Offener Treff zum Deutschüben", objective="Alltagsdeutsch festigen",
        start_date=date(2019, 1, 1), end_date=date(2020, 12, 31),
        target_groups=["gefluechtete"], municipalities=["landstuhl"],
        indicators=[IndicatorData("Teilnehmende", "Personen", 0, 40)],
        budget_lines=[BudgetLineData(2019, "sach", "kreis", 150_000)],
        milestones=[MilestoneData("Auftakt", date(2019, 2, 1))],
    )
    for key, value in overrides.items():
        setattr(data, key, value)
    return data


def test_create_read_update_with_parts(ws: Workspace) -> None:
    partner = partners.save_partner(ws, PartnerData(name="Jobcenter", kind="jobcenter"))
    data = make_measure(ws, partners=[ParticipationData(partner.id, "federfuehrend")])
    result = measures.save_measure(ws, data)
    assert result.created
    loaded = measures.get_measure(ws, result.id)
    assert loaded.title == "Sprachcafé Landstuhl"
    assert loaded.office_key == "vg-landstuhl"
    assert [i.name for i in loaded.indicators] == ["Teilnehmende"]
    assert loaded.budget_lines[0].planned_cents == 150_000
    assert loaded.partners[0].partner_name == "Jobcenter"
    loaded.title = "Sprachcafé Landstuhl-Nord"
    loaded.indicators.append(IndicatorData("Termine", "Termine", 0, 24))
    loaded.budget_lines = []
    update = measures.save_measure(ws, loaded)
    assert "title" in update.changed_fields and "indicator+" in update.changed_fields
    again = measures.get_measure(ws, result.id)
    assert again.title == "Sprachcafé Landstuhl-Nord"
    assert len(again.indicators) == 2 and again.budget_lines == []
    assert again.version[ws.db.replica_id] == 2


def test_hostile_text_is_stored_verbatim(ws: Workspace) -> None:
    result = measures.save_measure(ws, make_measure(ws, title=HOSTILE, description=HOSTILE))
    assert measures.get_measure(ws, result.id).title == HOSTILE
    assert measures.count_measures(ws, MeasureFilter(text="Sprach")) == 1


def test_saving_unchanged_record_changes_nothing(ws: Workspace) -> None:
    result = measures.save_measure(ws, make_measure(ws))
    loaded = measures.get_measure(ws, result.id)
    assert measures.save_measure(ws, loaded).changed_fields == ()
    assert measures.get_measure(ws, result.id).version == loaded.version


@pytest.mark.parametrize(
    ("overrides", "field", "text"),
    [
        ({"end_date": date(2018, 1, 1)}, "end_date", "vor dem Beginn"),
        ({"title": "  "}, "title", "Bitte ausfüllen"),
        ({"title": "x" * 201}, "title", "höchstens 200"),
        ({"description": "x" * 10_000_000}, "description", "höchstens 20.000"),
        ({"code": "HF 1;DROP"}, "code", "nur Buchstaben"),
        ({"action_area": 9}, "action_area", "Handlungsfeld"),
        ({"budget_lines": [BudgetLineData(2019, "sach", "kreis", -5)]},
         "budget_lines[0].planned_cents", "nicht negativ"),
        ({"budget_lines": [BudgetLineData(2019, "sach", "kreis", "12a")]},  # type: ignore[arg-type]
         "budget_lines[0].planned_cents", "Betrag in Euro"),
        ({"budget_lines": [BudgetLineData(1800, "sach", "kreis", 5)]},
         "budget_lines[0].year", "Haushaltsjahr"),
        ({"indicators": [IndicatorData("Quote", "", 0, 90)]}, "indicators[0].unit",
         "braucht eine Einheit"),
        ({"indicators": [IndicatorData("Quote", "%", float("nan"), 90)]},
         "indicators[0].baseline", "keine gültige Zahl"),
        ({"target_groups": ["marsianer"]}, "target_groups", "unbekannt"),
        ({"municipalities": ["paris"]}, "municipalities", "keine Gemeinde"),
    ],
)
def test_validation_names_field_and_fix(ws: Workspace, overrides, field: str, text: str) -> None:
    with pytest.raises(ValidationError) as info:
        measures.save_measure(ws, make_measure(ws, **overrides))
    assert any(i.field == field and text in i.message for i in info.value.issues), info.value
    assert measures.count_measures(ws) == 0  # nothing half-saved


def test_duplicate_code_within_office(ws: Workspace) -> None:
    measures.save_measure(ws, make_measure(ws))
    with pytest.raises(ValidationError, match="schon vergeben"):
        measures.save_measure(ws, make_measure(ws, title="Anderer Titel"))
    assert measures.count_measures(ws) == 1


def test_delete_is_tombstone_and_restore(ws: Workspace) -> None:
    result = measures.save_measure(ws, make_measure(ws))
    measures.delete_measure(ws, result.id)
    assert measures.count_measures(ws) == 0
    assert measures.count_measures(ws, MeasureFilter(deleted=True)) == 1
    con = sqlite3.connect(ws.path)
    assert con.execute("SELECT deleted FROM measures").fetchall() == [(1,)]
    con.close()
    # a deleted measure's code is free again; restoring it would then clash, so check order
    measures.restore_measure(ws, result.id)
    assert measures.count_measures(ws) == 1
    actions = [a.action for a in audit.history(ws, [result.id])]
    assert actions[:2] == ["wiederherstellen", "loeschen"]


def test_audit_names_field_old_new_source(ws: Workspace) -> None:
    result = measures.save_measure(ws, make_measure(ws))
    loaded = measures.get_measure(ws, result.id)
    loaded.status = "abgeschlossen"
    measures.save_measure(ws, loaded)
    entry = audit.history(ws, [result.id])[0]
    assert (entry.field, entry.old_value, entry.new_value) == ("status", "laufend",
                                                               "abgeschlossen")
    assert (entry.user, entry.office_key, entry.source) == ("tester", "vg-landstuhl",
                                                            "tastatur")


def test_foreign_record_is_refused(demo_ws: Workspace) -> None:
    rows = measures.list_measures(demo_ws, MeasureFilter(offices=("vg-weilerbach",)), limit=1)
    data = measures.get_measure(demo_ws, rows[0].id)
    data.title = "Übernommen"
    with pytest.raises(PermissionDeniedError, match="vg-weilerbach"):
        measures.save_measure(demo_ws, data)
    with pytest.raises(PermissionDeniedError):
        measures.delete_measure(demo_ws, rows[0].id)
    assert measures.get_measure(demo_ws, rows[0].id).title == rows[0].title


def test_stale_record_is_refused(ws: Workspace) -> None:
    result = measures.save_measure(ws, make_measure(ws))
    first = measures.get_measure(ws, result.id)
    second = measures.get_measure(ws, result.id)
    first.title = "Erste Änderung"
    measures.save_measure(ws, first)
    second.title = "Zweite Änderung"
    with pytest.raises(StaleRecordError, match="inzwischen geändert"):
        measures.save_measure(ws, second)


def test_full_text_search_and_filters(demo_ws: Workspace) -> None:
    everything = measures.count_measures(demo_ws)
    assert everything == 300
    cafe = measures.list_measures(demo_ws, MeasureFilter(text="sprachcafe"))
    assert cafe and all("Sprachcafé" in r.title for r in cafe)
    area = measures.list_measures(demo_ws, MeasureFilter(text="sprach", action_areas=(1,),
                                                         statuses=("laufend",)))
    assert all(r.action_area == 1 and r.status == "laufend" for r in area)
    assert measures.count_measures(demo_ws, MeasureFilter(text="\"*)(-")) == 0
    titles = [r.title for r in measures.list_measures(demo_ws, limit=200)]
    assert len(titles) == 200
    assert [sort_key(t) for t in titles] == sorted(sort_key(t) for t in titles)
    ids = measures.measure_ids(demo_ws, sort="end_date", descending=True)
    assert len(ids) == everything and len(set(ids)) == everything
    page = measure_list.rows_by_id(demo_ws, ids[:50])
    assert set(page) == set(ids[:50])
    # the plain-driver reads of the list give exactly the ORM's rows (types included)
    orm_rows = {r.id: r for r in measures.list_measures(demo_ws)}
    assert all(row == orm_rows[row.id] for row in page.values())
    assert measure_list.first_page(demo_ws, 200) == measures.list_measures(demo_ws, limit=200)
    assert measure_list.count_live(demo_ws) == everything


def test_fts_stays_in_step_with_writes(ws: Workspace) -> None:
    result = measures.save_measure(ws, make_measure(ws))
    loaded = measures.get_measure(ws, result.id)
    loaded.title = "Hausaufgabenhilfe Bann"
    measures.save_measure(ws, loaded)
    assert measures.count_measures(ws, MeasureFilter(text="Sprachcafé")) == 0
    assert measures.count_measures(ws, MeasureFilter(text="hausaufgaben")) == 1
    assert measures.count_measures(ws, MeasureFilter(text="HF1-01")) == 1  # codes are found too
    loaded = measures.get_measure(ws, result.id)
    loaded.code = "HF1-77"
    measures.save_measure(ws, loaded)
    assert measures.count_measures(ws, MeasureFilter(text="HF1-01")) == 0
    assert measures.count_measures(ws, MeasureFilter(text="hf1 77")) == 1


def test_evaluation_rules(ws: Workspace) -> None:
    result = measures.save_measure(ws, make_measure(ws))
    indicator_id = measures.get_measure(ws, result.id).indicators[0].id
    data = evaluations.new_evaluation(ws, result.id, "2019-H1")
    assert data.actual_values == {indicator_id: None}
    data.rating, data.progress, data.participants_total = "planmaessig", 40, 12
    data.actual_values = {indicator_id: 11.0}
    saved = evaluations.save_evaluation(ws, data)
    assert saved.created and not saved.warnings
    rows = evaluations.evaluation_rows(ws, "2019-H1")
    assert [(r.state, r.rating) for r in rows] == [("entwurf", "planmaessig")]
    outside = evaluations.new_evaluation(ws, result.id, "2023-H1")
    assert evaluations.save_evaluation(ws, outside).warnings  # not running: warning only
    bad = evaluations.new_evaluation(ws, result.id, "2019-H2")
    bad.participants_total, bad.participants_female, bad.progress = 5, 9, 130
    with pytest.raises(ValidationError) as info:
        evaluations.save_evaluation(ws, bad)
    assert {i.field for i in info.value.issues} == {"participants_female", "progress"}
    periods.close_period(ws, "2019-H1")
    again = evaluations.get_evaluation(ws, result.id, "2019-H1")
    assert again is not None
    again.results = "Nachträglich"
    with pytest.raises(PermissionDeniedError, match="abgeschlossen"):
        evaluations.save_evaluation(ws, again)
    assert evaluations.get_evaluation(ws, result.id, "2019-H1").results == ""


def test_evaluation_with_foreign_indicator_is_refused(ws: Workspace) -> None:
    result = measures.save_measure(ws, make_measure(ws))
    data = EvaluationData(measure_id=result.id, period="2019-H1",
                          actual_values={"nicht-vorhanden": 1.0})
    with pytest.raises(ValidationError, match="nicht gibt"):
        evaluations.save_evaluation(ws, data)


def test_partner_validation_and_measures_of_partner(ws: Workspace) -> None:
    with pytest.raises(ValidationError) as info:
        partners.save_partner(ws, PartnerData(name="", kind="xyz", email="kein-at",
                                              postal_code="12"))
    assert {i.field for i in info.value.issues} == {"name", "kind", "email", "postal_code"}
    partner = partners.save_partner(ws, PartnerData(name="AWO", kind="wohlfahrt"))
    result = measures.save_measure(
        ws, make_measure(ws, partners=[ParticipationData(partner.id, "partner")]))
    found = partners.measures_of_partner(ws, partner.id)
    assert [(row.id, role) for row, role in found] == [(result.id, "partner")]
    assert measures.count_measures(ws, MeasureFilter(partner_id=partner.id)) == 1


@given(st.text(max_size=60), st.text(max_size=12))
def test_evaluation_id_is_uuid5_of_measure_and_period(measure_id: str, period: str) -> None:
    """The id computed from the SHA-1 digits is exactly uuid.uuid5's (odd text included)."""
    import uuid

    from integrationsplaner.services.evaluations import _NAMESPACE, evaluation_id

    assert evaluation_id(measure_id, period) == str(uuid.uuid5(_NAMESPACE,
                                                               f"{measure_id}/{period}"))
