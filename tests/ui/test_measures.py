"""The Maßnahmen tab through its widgets, as a user works with it."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from integrationsplaner.domain.model import MeasureFilter
from integrationsplaner.services import measures as measure_service
from integrationsplaner.ui import msgbox
from integrationsplaner.ui.main_window import TAB_MEASURES
from integrationsplaner.ui.measures_tab import MeasuresTab

from .conftest import settle

CTRL = Qt.KeyboardModifier.ControlModifier


def _fill_new_measure(qtbot, window, code: str = "HF1-77",
                      title: str = "Sprachcafe Landstuhl") -> MeasuresTab:
    tab = window.current_tab()
    assert isinstance(tab, MeasuresTab)
    window.act_new.trigger()
    editor = tab.editor
    qtbot.keyClicks(editor.code.edit, code)
    qtbot.keyClicks(editor.title.edit, title)
    qtbot.keyClicks(editor.description.edit, "Offener Treffpunkt zum Deutschsprechen.")
    editor.sections.setCurrentIndex(1)
    qtbot.mouseClick(editor.indicators.add_button, Qt.MouseButton.LeftButton)
    table = editor.indicators.table
    table.item(0, 0).setText("Teilnehmende")
    table.item(0, 1).setText("Personen")
    table.item(0, 3).setText("40")
    editor.sections.setCurrentIndex(2)
    qtbot.mouseClick(editor.budget.add_button, Qt.MouseButton.LeftButton)
    budget = editor.budget.table
    budget.item(0, 0).setText("2026")
    budget.item(0, 3).setText("1.500,50")
    qtbot.mouseClick(editor.budget.add_button, Qt.MouseButton.LeftButton)
    budget.item(1, 0).setText("2027")
    budget.item(1, 3).setText("2.000")
    return tab


def test_create_save_find_edit_undo_discard_delete_restore(make_window, ws, qtbot, answers):
    window = make_window(ws)
    tab = _fill_new_measure(qtbot, window)
    editor = tab.editor
    assert editor.is_dirty()
    assert "3.500,50\u00a0€" in editor.sums.text()
    window.act_save.trigger()
    assert editor.record.id is not None, editor.issues_banner.text()
    assert not editor.is_dirty()
    saved = measure_service.get_measure(ws, editor.record.id)
    assert saved.indicators[0].name == "Teilnehmende" and saved.indicators[0].target == 40
    assert sorted(b.planned_cents for b in saved.budget_lines) == [150050, 200000]
    assert tab.model.rowCount() == 1

    # find it by typing into the filter (full-text search, debounced)
    qtbot.keyClicks(tab.filter_bar.search, "Deutschspr")
    qtbot.waitUntil(lambda: tab.model.filter.text == "Deutschspr")
    assert tab.model.rowCount() == 1
    qtbot.keyClicks(tab.filter_bar.search, "xyz")
    qtbot.waitUntil(lambda: tab.model.filter.text == "Deutschsprxyz")
    assert tab.model.rowCount() == 0
    tab.filter_bar.clear()
    assert tab.model.rowCount() == 1
    assert tab.view.currentIndex().row() == 0  # the record in the editor stays selected

    # edit, undo, redo, discard
    editor.sections.setCurrentIndex(0)
    qtbot.keyClicks(editor.title.edit, " am Markt")
    assert editor.is_dirty()
    assert window.status_dirty.text().startswith("●")
    assert window.act_undo.text().startswith("&Rückgängig: ")  # says what it takes back
    assert window.act_redo.text() == "Wieder&holen"  # nothing to redo: no stray colon
    window.act_undo.trigger()
    assert editor.title.edit.text() == "Sprachcafe Landstuhl"
    assert not editor.is_dirty()
    assert window.act_undo.text() == "&Rückgängig"
    assert window.act_redo.text().startswith("Wieder&holen: ")
    # one shortcut, one action: redo never takes Verwerfen's keys (KDE/GNOME redo keys)
    assert window.act_discard.shortcut() not in window.act_redo.shortcuts()
    assert "Ctrl+Y" in [k.toString() for k in window.act_redo.shortcuts()]
    window.act_redo.trigger()
    assert editor.title.edit.text() == "Sprachcafe Landstuhl am Markt"
    window.act_discard.trigger()
    assert editor.title.edit.text() == "Sprachcafe Landstuhl"
    assert not editor.is_dirty()

    # delete (with confirmation) into the Papierkorb, and restore from there
    answers["delete"] = msgbox.CANCEL
    window.act_delete.trigger()
    assert tab.model.rowCount() == 1
    answers["delete"] = msgbox.YES
    window.act_delete.trigger()
    assert measure_service.get_measure(ws, editor.record.id).deleted, answers
    assert tab.model.rowCount() == 0
    assert measure_service.get_measure(ws, editor.record.id).deleted
    window.act_trash.trigger()
    assert tab.filter_bar.trash.isChecked()
    assert tab.model.rowCount() == 1
    tab.view.selectRow(0)
    assert editor.readonly and "Papierkorb" in editor.banner.text()
    window.act_restore.trigger()
    assert not measure_service.get_measure(ws, editor.record.id).deleted
    assert tab.model.rowCount() == 0
    tab.filter_bar.trash.setChecked(False)
    assert tab.model.rowCount() == 1


def test_validation_messages_at_the_field_block_saving(make_window, ws, qtbot, answers):
    window = make_window(ws)
    tab = window.current_tab()
    window.act_new.trigger()
    editor = tab.editor
    editor.sections.setCurrentIndex(2)
    qtbot.mouseClick(editor.budget.add_button, Qt.MouseButton.LeftButton)
    editor.budget.table.item(0, 3).setText("zwölf Euro")
    window.act_save.trigger()
    assert editor.record.id is None
    assert measure_service.count_measures(ws) == 0
    assert editor.budget.error.isVisibleTo(editor)
    assert "Kostenposition 1" in editor.budget.error.text()
    editor.budget.table.item(0, 3).setText("12,00")
    window.act_save.trigger()
    assert editor.record.id is None
    assert "Kennung" in editor.code.error.text()
    assert "Titel" in editor.title.error.text()
    assert editor.sections.currentIndex() == 0  # jumped to the first problem
    qtbot.keyClicks(editor.code.edit, "HF2-1")
    assert not editor.code.error.isVisibleTo(editor)  # live re-check after a failed save
    qtbot.keyClicks(editor.title.edit, "Elterncafe")
    window.act_save.trigger()
    assert editor.record.id is not None
    assert not editor.issues_banner.isVisibleTo(editor)


def test_keyboard_only_creation(make_window, ws, qtbot, answers):
    window = make_window(ws)
    tab = window.current_tab()
    qtbot.keyClick(tab.view, Qt.Key.Key_N, CTRL)
    focus = QApplication.focusWidget()
    assert focus is tab.editor.code.edit
    qtbot.keyClicks(focus, "HF3-05")
    qtbot.keyClick(focus, Qt.Key.Key_Tab)
    focus = QApplication.focusWidget()
    assert focus is tab.editor.title.edit
    qtbot.keyClicks(focus, "Jobboerse mit Tastatur")
    qtbot.keyClick(focus, Qt.Key.Key_Tab)
    area = QApplication.focusWidget()
    assert area is tab.editor.area.combo
    qtbot.keyClick(area, Qt.Key.Key_Down)
    qtbot.keyClick(area, Qt.Key.Key_Down)
    qtbot.keyClick(area, Qt.Key.Key_S, CTRL)
    assert tab.editor.record.id is not None, tab.editor.issues_banner.text()
    saved = measure_service.get_measure(ws, tab.editor.record.id)
    assert (saved.code, saved.title, saved.action_area) == ("HF3-05", "Jobboerse mit Tastatur", 3)
    # undo by keyboard inside a text field goes to the record's undo
    title = tab.editor.title.edit
    title.setFocus()
    qtbot.keyClicks(title, "!")
    qtbot.keyClick(title, Qt.Key.Key_Z, CTRL)
    assert title.text() == "Jobboerse mit Tastatur"
    assert not tab.editor.is_dirty()


def test_unsaved_changes_guard(make_window, demo_ws, qtbot, answers):
    window = make_window(demo_ws)
    tab = window.current_tab()
    tab.filter_bar.set_value(MeasureFilter(offices=("kreis-kl",)))
    tab.view.selectRow(0)
    first = tab.editor.record.id
    qtbot.keyClicks(tab.editor.title.edit, " (neu)")
    # switching record: Abbrechen keeps the record and its edit
    answers["unsaved"] = msgbox.CANCEL
    tab.view.selectRow(1)
    assert tab.editor.record.id == first and tab.editor.is_dirty()
    assert tab.view.currentIndex().row() == 0
    # switching tab: Abbrechen stays on the tab
    window.tab_widget.setCurrentIndex(2)
    assert window.tab_widget.currentIndex() == TAB_MEASURES
    # closing the window: Abbrechen keeps it open
    assert not window.close()
    assert window.isVisible()
    # switching record: Speichern saves, then shows the other record
    answers["unsaved"] = msgbox.SAVE
    tab.view.selectRow(1)
    assert measure_service.get_measure(demo_ws, first).title.endswith("(neu)")
    assert tab.editor.record.id != first
    # Verwerfen drops the edit
    second = tab.editor.record.id
    qtbot.keyClicks(tab.editor.title.edit, " (weg)")
    answers["unsaved"] = msgbox.DISCARD
    window.tab_widget.setCurrentIndex(2)
    assert window.tab_widget.currentIndex() == 2
    assert not measure_service.get_measure(demo_ws, second).title.endswith("(weg)")


def test_foreign_records_are_read_only_with_reason(make_window, demo_ws, qtbot, answers):
    window = make_window(demo_ws)
    tab = window.current_tab()
    tab.filter_bar.set_value(MeasureFilter(offices=("vg-landstuhl",)))
    assert tab.model.rowCount() > 0
    tab.view.selectRow(0)
    editor = tab.editor
    assert editor.readonly
    assert editor.banner.isVisibleTo(editor)
    assert "Verbandsgemeinde Landstuhl" in editor.banner.text()
    assert not editor.save_button.isEnabled()
    assert editor.title.edit.isReadOnly()
    before = editor.title.edit.text()
    window.act_save.trigger()
    assert measure_service.get_measure(demo_ws, editor.record.id).title == before


def test_filter_bar_combines_filters_and_counts(make_window, demo_ws, qtbot, answers):
    window = make_window(demo_ws)
    tab = window.current_tab()
    total = tab.model.rowCount()
    assert total == measure_service.count_measures(demo_ws)
    assert tab.filter_bar.count.text().startswith(f"{total} ")
    tab.filter_bar.area.setCurrentIndex(tab.filter_bar.area.findData(2))
    expected = measure_service.count_measures(demo_ws, MeasureFilter(action_areas=(2,)))
    assert tab.model.rowCount() == expected
    tab.filter_bar.status.setCurrentIndex(tab.filter_bar.status.findData("laufend"))
    tab.filter_bar.period.setCurrentIndex(tab.filter_bar.period.findData("2025-H2"))
    flt = MeasureFilter(action_areas=(2,), statuses=("laufend",), period="2025-H2")
    assert tab.model.rowCount() == measure_service.count_measures(demo_ws, flt)
    ids = list(tab.model.ids())
    assert set(ids) == set(measure_service.measure_ids(demo_ws, flt))
    # sorting by a column in the model: same order as the database sorts
    tab.filter_bar.clear()
    tab.view.sortByColumn(0, Qt.SortOrder.AscendingOrder)
    codes = [tab.model.data(tab.model.index(r, 0)) for r in range(tab.model.rowCount())]
    assert codes == sorted(codes, key=str.casefold)
    tab.view.sortByColumn(6, Qt.SortOrder.DescendingOrder)
    settle(qtbot)
    assert tab.model.rowCount() == total
