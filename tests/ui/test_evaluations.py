"""The Bewertungen tab: enter an evaluation, see it in the list, close the period."""

from __future__ import annotations

from datetime import date

from integrationsplaner.domain.model import IndicatorData, MeasureData
from integrationsplaner.domain.periods import HalfYear
from integrationsplaner.services import evaluations as evaluation_service
from integrationsplaner.services import measures as measure_service
from integrationsplaner.services import periods as period_service
from integrationsplaner.ui import msgbox
from integrationsplaner.ui.main_window import TAB_EVALUATIONS

from .conftest import settle


def _measure(ws) -> str:
    period = period_service.current_period()
    data = MeasureData(office_key=ws.office_key, code="HF1-01", title="Sprachkurs",
                       start_date=date(period.year - 1, 1, 1),
                       end_date=date(period.year + 1, 12, 31),
                       indicators=[IndicatorData("Teilnehmende", "Personen", 0, 20)])
    return measure_service.save_measure(ws, data).id


def test_enter_evaluation_and_see_it_in_the_list(make_window, ws, qtbot, answers):
    measure_id = _measure(ws)
    window = make_window(ws, tab=TAB_EVALUATIONS)
    tab = window.current_tab()
    settle(qtbot)
    assert tab.model.rowCount() == 1
    assert "fehlt" in tab.model.data(tab.model.index(0, 0))
    tab.view.selectRow(0)
    editor = tab.editor
    assert editor.measure.id == measure_id and not editor.readonly
    editor.rating.combo.setCurrentIndex(editor.rating.combo.findData("planmaessig"))
    editor.rating._emit()
    editor.actuals.table.item(0, 4).setText("18")
    qtbot.keyClicks(editor.costs.edit, "1.200,00")
    editor.total.spin.setValue(25)
    qtbot.keyClicks(editor.results.edit, "Gut angenommen.")
    editor.state.combo.setCurrentIndex(editor.state.combo.findData("abgeschlossen"))
    editor.state._emit()
    assert editor.is_dirty()
    window.act_save.trigger()
    assert not editor.is_dirty(), editor.issues_banner.text()
    settle(qtbot)
    assert "abgeschlossen" in tab.model.data(tab.model.index(0, 0))
    assert tab.model.data(tab.model.index(0, 5)) == "✓ planmäßig"  # symbol and text
    saved = evaluation_service.get_evaluation(ws, measure_id, tab.period_key())
    assert saved.costs_spent_cents == 120000 and saved.participants_total == 25
    assert list(saved.actual_values.values()) == [18.0]
    # the measure editor shows the actual value read-only per period
    window.open_measure(measure_id)
    measure_editor = window.current_tab().editor
    label = HalfYear.parse(tab.period_key()).label
    assert measure_editor.actuals.verticalHeaderItem(0).text() == label
    assert measure_editor.actuals.item(0, 0).text() == "18"
    assert "1.200,00" in measure_editor.sums.text()


def test_closed_period_is_read_only(make_window, ws, qtbot, answers):
    _measure(ws)
    window = make_window(ws, tab=TAB_EVALUATIONS)
    tab = window.current_tab()
    settle(qtbot)
    tab.view.selectRow(0)
    answers["close_period"] = msgbox.CANCEL
    tab.close_button.click()
    assert not tab.period_info().closed
    answers["close_period"] = msgbox.YES
    tab.close_button.click()
    settle(qtbot)
    question = [s for s in answers["_shown"] if s.topic == "close_period"][-1]
    assert "1 Bewertung(en) fehlen" in question.text
    assert tab.period_info().closed
    assert "abgeschlossen" in tab.period.currentText()
    assert not tab.close_button.isEnabled()
    tab.view.selectRow(0)
    editor = tab.editor
    assert editor.record is not None
    assert editor.readonly and "abgeschlossen" in editor.banner.text()
    assert not editor.save_button.isEnabled()
    window.act_save.trigger()
    assert evaluation_service.get_evaluation(ws, editor.measure.id, tab.period_key()) is None


def test_evaluations_of_foreign_measures_are_read_only(make_window, demo_ws, qtbot, answers):
    window = make_window(demo_ws, tab=TAB_EVALUATIONS)
    tab = window.current_tab()
    settle(qtbot)
    tab.office.setCurrentIndex(tab.office.findData("vg-weilerbach"))
    assert tab.model.rowCount() > 0
    tab.view.selectRow(0)
    assert tab.editor.readonly and "Weilerbach" in tab.editor.banner.text()
