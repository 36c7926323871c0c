"""Every item model of the UI passes Qt's model tester."""

from __future__ import annotations

from PySide6.QtCore import Qt

from integrationsplaner.domain.model import MeasureFilter
from integrationsplaner.services import audit, evaluations, measure_list, partners
from integrationsplaner.services import measures as measure_service
from integrationsplaner.ui.history import history_model
from integrationsplaner.ui.labels import Labels
from integrationsplaner.ui.models import Column, MeasureTableModel, RowListModel


def test_measure_model(qtmodeltester, demo_ws):
    model = MeasureTableModel(demo_ws, Labels(demo_ws.reference))
    model.start()
    assert model.rowCount() == measure_service.count_measures(demo_ws)
    qtmodeltester.check(model)
    model.sort(0, Qt.SortOrder.DescendingOrder)
    qtmodeltester.check(model)
    model.set_filter(MeasureFilter(text="Sprach"))
    assert 0 < model.rowCount() < 300
    qtmodeltester.check(model)


def test_measure_model_pages_rows_lazily(demo_ws, monkeypatch):
    model = MeasureTableModel(demo_ws, Labels(demo_ws.reference))
    model.start()
    calls = []
    real = measure_list.rows_by_id
    monkeypatch.setattr(measure_list, "rows_by_id",
                        lambda ws, ids: calls.append(len(ids)) or real(ws, ids))
    model.data(model.index(0, 1))
    model.data(model.index(5, 1))
    assert calls == [model.PAGE]


def test_measure_model_large_list_loads_in_background(qtbot, demo_ws):
    model = MeasureTableModel(demo_ws, Labels(demo_ws.reference))
    model.SYNC_LIMIT = 10
    with qtbot.waitSignal(model.loadingChanged, timeout=10_000,
                          check_params_cb=lambda loading: not loading):
        model.start()
        assert model.loading and model.rowCount() == model.PAGE  # first page at once
    assert not model.loading
    qtbot.waitUntil(lambda: model.rowCount() == 300)


def test_row_list_models(qtmodeltester, demo_ws):
    labels = Labels(demo_ws.reference)
    model = RowListModel([Column("Name", lambda r: r.name), Column("Ort", lambda r: r.city)],
                         id_of=lambda r: r.id)
    model.set_rows(partners.list_partners(demo_ws))
    qtmodeltester.check(model)
    model.sort(1, Qt.SortOrder.DescendingOrder)
    qtmodeltester.check(model)
    rows = evaluations.evaluation_rows(demo_ws, "2025-H2")
    model = RowListModel([Column("Stand", lambda r: labels.state(r.state)),
                          Column("Einstufung", lambda r: labels.rating(r.rating))])
    model.set_rows(rows)
    qtmodeltester.check(model)
    ids = measure_service.measure_ids(demo_ws)[:3]
    history = history_model(labels)
    history.set_rows(audit.history(demo_ws, ids))
    qtmodeltester.check(history)


def test_text_filter_finds_codes_too(demo_ws):
    model = MeasureTableModel(demo_ws, Labels(demo_ws.reference))
    model.start()
    code = model.data(model.index(0, 0))
    model.set_filter(MeasureFilter(text=code))
    assert model.rowCount() >= 1
    assert code in [model.data(model.index(r, 0)) for r in range(model.rowCount())]


def test_count_while_the_list_loads_is_the_whole_list(qtbot, demo_ws, settings, monkeypatch):
    """While the background index loads, the view has the first page but the count already
    says how many measures the list will hold."""
    from integrationsplaner.ui.measures_tab import MeasuresTab

    monkeypatch.setattr(MeasureTableModel, "SYNC_LIMIT", 10)
    seen: list[str] = []
    tab = MeasuresTab(demo_ws, Labels(demo_ws.reference), settings)
    qtbot.addWidget(tab)
    tab.model.loadingChanged.connect(lambda _loading: seen.append(tab.filter_bar.count.text()))
    with qtbot.waitSignal(tab.model.loadingChanged, timeout=10_000,
                          check_params_cb=lambda loading: not loading):
        tab.start()
        assert tab.model.rowCount() == MeasureTableModel.PAGE
        assert tab.filter_bar.count.text() == "300 Maßnahmen (Liste wird geladen …)"
    assert seen[-1] == "300 Maßnahmen"
