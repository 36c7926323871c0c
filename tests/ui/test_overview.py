"""The Übersicht: figures and charts; a click on a figure opens the filtered list."""

from __future__ import annotations

from integrationsplaner.domain.model import MeasureFilter
from integrationsplaner.services import measures as measure_service
from integrationsplaner.services import overview as overview_service
from integrationsplaner.ui.main_window import TAB_EVALUATIONS, TAB_MEASURES, TAB_OVERVIEW

from .conftest import settle


def test_overview_figures_open_filtered_lists(make_window, demo_ws, qtbot, answers):
    window = make_window(demo_ws, tab=TAB_OVERVIEW)
    tab = window.current_tab()
    qtbot.waitUntil(lambda: tab.data is not None)
    period = tab.period_key()
    data = overview_service.overview(demo_ws, period)
    assert tab.data.measures_total == data.measures_total
    assert tab.area_view.chart().series()[0].count() == 5  # one bar set per status
    assert "Sprache" in tab.area_view.accessibleDescription()
    tab.office.setCurrentIndex(tab.office.findData("vg-landstuhl"))
    qtbot.waitUntil(lambda: tab.data.offices == ("vg-landstuhl",))
    expected = measure_service.count_measures(
        demo_ws, MeasureFilter(period=period, offices=("vg-landstuhl",)))
    assert tab.data.measures_total == expected
    # a click on a bar: measures of that area and status
    area_series = tab.area_view.chart().series()[0]
    area_series.barSets()[1].clicked.emit(0)  # "laufend" in area 1
    assert window.tab_widget.currentIndex() == TAB_MEASURES
    measures = window.current_tab()
    flt = MeasureFilter(period=period, offices=("vg-landstuhl",), action_areas=(1,),
                        statuses=("laufend",))
    assert measures.filter_bar.value() == flt
    assert measures.model.rowCount() == measure_service.count_measures(demo_ws, flt)
    # the key figure button (keyboard reachable) opens the missing evaluations
    window.tab_widget.setCurrentIndex(TAB_OVERVIEW)
    tab.fig_missing.click()
    assert window.tab_widget.currentIndex() == TAB_EVALUATIONS
    evaluations = window.current_tab()
    settle(qtbot)
    assert evaluations.state.currentData() == "fehlt"
    assert all(r.state == "fehlt" for r in evaluations.model.rows())


def test_overview_list_opens_measure(make_window, demo_ws, qtbot, answers):
    window = make_window(demo_ws, tab=TAB_OVERVIEW)
    tab = window.current_tab()
    qtbot.waitUntil(lambda: tab.data is not None)
    if not tab.ending.rowCount():
        return
    index = tab.ending.index(0, 0)
    tab.ending_view.activated.emit(index)
    assert window.tab_widget.currentIndex() == TAB_MEASURES
    assert window.current_tab().editor.record.id == tab.ending.row_at(0).measure_id
