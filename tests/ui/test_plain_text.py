"""Texts from records, users and file names are shown as they are, never as HTML: a title like
``<b>Fett</b> & Co`` appears with its tags in the editor heading, in messages and tooltips."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox

from integrationsplaner.domain.model import MeasureData
from integrationsplaner.services import measures as measure_service
from integrationsplaner.ui import msgbox
from integrationsplaner.ui.labels import plain_tooltip

from .conftest import settle

MARKUP = "<b>Fett</b> & <i>Kursiv</i> <img src='x'>"


def test_markup_in_a_title_is_shown_as_text(make_window, ws, qtbot) -> None:
    mid = measure_service.save_measure(ws, MeasureData(
        code="HF1-88", title="Vorher", action_area=1, status="geplant")).id
    data = measure_service.get_measure(ws, mid)
    data.title = MARKUP
    measure_service.save_measure(ws, data)
    window = make_window(ws)
    tab = window.current_tab()
    tab.view.setCurrentIndex(tab.model.index(0, 0))
    settle(qtbot)
    editor = tab.editor
    assert editor.heading.textFormat() == Qt.TextFormat.PlainText
    assert MARKUP in editor.heading.text()
    assert editor.owner.textFormat() == Qt.TextFormat.PlainText
    assert window.status_file.textFormat() == Qt.TextFormat.PlainText
    # the change history's tooltip of the new title: escaped, so Qt shows the tags
    editor.sections.setCurrentWidget(editor.history_view)  # loaded when shown
    settle(qtbot)
    model = editor.history
    tips = [model.data(model.index(r, c), Qt.ItemDataRole.ToolTipRole)
            for r in range(model.rowCount()) for c in range(model.columnCount())]
    assert plain_tooltip(MARKUP) in tips
    assert "&lt;b&gt;Fett&lt;/b&gt; &amp; &lt;i&gt;" in plain_tooltip(MARKUP)


def test_message_boxes_show_their_text_as_it_is(qtbot) -> None:
    box = msgbox._box(QMessageBox.Icon.Critical, "Titel", f"Die Datei „{MARKUP}“ fehlt.",
                      QMessageBox.StandardButton.Ok, None)
    qtbot.addWidget(box)
    assert box.textFormat() == Qt.TextFormat.PlainText
    assert box.text() == f"Die Datei „{MARKUP}“ fehlt."


def test_plain_tooltip_keeps_line_breaks_and_nothing_else() -> None:
    assert plain_tooltip(None) is None
    assert plain_tooltip("") == ""
    tip = plain_tooltip("a < b\nc & d")
    assert tip == "<p style='white-space:pre-wrap'>a &lt; b\nc &amp; d</p>"
