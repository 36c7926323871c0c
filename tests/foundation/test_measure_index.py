"""The in-memory list index agrees with the database's filters and sorts."""

from __future__ import annotations

from integrationsplaner.domain.model import MeasureFilter
from integrationsplaner.domain.text import sort_key
from integrationsplaner.services import measure_list, measures
from integrationsplaner.services.measure_index import load_measure_index
from integrationsplaner.services.workspace import Workspace


def test_index_filters_match_database(demo_ws: Workspace) -> None:
    index = load_measure_index(demo_ws)
    for flt in (MeasureFilter(), MeasureFilter(action_areas=(2,), statuses=("laufend",)),
                MeasureFilter(text="sprachcafe"), MeasureFilter(text="hausaufgaben hilfe"),
                MeasureFilter(offices=("vg-landstuhl",), period="2025-H2"),
                MeasureFilter(target_group="frauen")):
        mine = {index.ids[n] for n in index.select(demo_ws, flt)}
        assert mine == set(measures.measure_ids(demo_ws, flt)), flt


def test_short_words_match_titles_and_codes(demo_ws: Workspace) -> None:
    index = load_measure_index(demo_ws)
    found = [index.ids[n] for n in index.select(demo_ws, MeasureFilter(text="sp"))]
    rows = measure_list.rows_by_id(demo_ws, found)
    assert found and all("sp" in sort_key(r.title) or "sp" in r.code.casefold()
                         for r in rows.values())
    by_code = [index.ids[n] for n in index.select(demo_ws, MeasureFilter(text="H"))]
    assert len(by_code) == measures.count_measures(demo_ws)  # every code starts with HF


def test_sort_by_title_matches_database(demo_ws: Workspace) -> None:
    index = load_measure_index(demo_ws)
    positions = index.sort(index.select(demo_ws, MeasureFilter()), "title")
    titles = [index.title[n] for n in positions]
    assert titles == sorted(titles)
