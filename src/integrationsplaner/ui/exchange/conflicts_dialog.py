"""Austausch menu: open conflicts, both values side by side; take one or edit a merged value."""

from __future__ import annotations

import json
from typing import Any

from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from integrationsplaner.errors import UserError
from integrationsplaner.exchange.conflicts import ConflictInfo, list_conflicts, resolve
from integrationsplaner.services.workspace import Workspace
from integrationsplaner.ui import msgbox
from integrationsplaner.ui.exchange.common import _named


def _lived_on(c: ConflictInfo) -> str:
    """The other side of a delete conflict: changed (a marker), restored, or both."""
    values = [v for _r, _n, v in c.others]
    what = [text for text, found in (("wiederhergestellt", False in values),
                                     ("geändert", None in values)) if found]
    return " und ".join(what or ["geändert"]) + " (nicht gelöscht)"


def _to_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


class ConflictsDialog(QDialog):
    """Open conflicts; both values side by side; take one or edit a merged value."""

    def __init__(self, parent: QWidget | None, ws: Workspace) -> None:
        super().__init__(parent)
        self.ws = ws
        self.changed = False
        self.setWindowTitle("Konflikte aus dem Austausch")
        self.setAccessibleName("Konflikte aus dem Austausch")
        layout = QVBoxLayout(self)
        intro = QLabel("Zwei Installationen haben dasselbe Feld unabhängig geändert, oder eine "
                       "hat gelöscht, was die andere geändert hat. Angezeigt wird überall "
                       "derselbe Wert, bis Sie entscheiden.")
        intro.setWordWrap(True)
        layout.addWidget(intro)
        splitter = QSplitter()
        self.list = QListWidget()
        _named(self.list, "Offene Konflikte")
        splitter.addWidget(self.list)
        right = QWidget()
        grid = QVBoxLayout(right)
        sides = QHBoxLayout()
        self.current = QPlainTextEdit()
        self.current.setReadOnly(True)
        _named(self.current, "Angezeigter Wert")
        self.other = QPlainTextEdit()
        self.other.setReadOnly(True)
        _named(self.other, "Anderer Wert")
        for label, widget in (("Angezeigter Wert", self.current), ("Anderer Wert", self.other)):
            box = QVBoxLayout()
            caption = QLabel(label)
            caption.setBuddy(widget)
            box.addWidget(caption)
            box.addWidget(widget)
            sides.addLayout(box)
        grid.addLayout(sides)
        caption = QLabel("&Zusammengeführter Wert (bearbeitbar):")
        self.merged = QPlainTextEdit()
        _named(self.merged, "Zusammengeführter Wert")
        caption.setBuddy(self.merged)
        grid.addWidget(caption)
        grid.addWidget(self.merged)
        row = QHBoxLayout()
        self.take_current = QPushButton("&Angezeigten Wert behalten")
        self.take_other = QPushButton("A&nderen Wert übernehmen")
        self.take_merged = QPushButton("&Bearbeiteten Wert übernehmen")
        for button in (self.take_current, self.take_other, self.take_merged):
            _named(button, button.text().replace("&", ""))
            row.addWidget(button)
        grid.addLayout(row)
        self.info = QLabel()
        self.info.setWordWrap(True)
        _named(self.info, "Hinweis zum Konflikt")
        grid.addWidget(self.info)
        splitter.addWidget(right)
        splitter.setSizes([300, 600])
        layout.addWidget(splitter, 1)
        close = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        close.button(QDialogButtonBox.StandardButton.Close).setText("&Schließen")
        _named(close.button(QDialogButtonBox.StandardButton.Close), "Schließen")
        close.rejected.connect(self.reject)
        layout.addWidget(close)
        self.list.currentRowChanged.connect(self._show)
        self.take_current.clicked.connect(lambda: self._decide("current"))
        self.take_other.clicked.connect(lambda: self._decide("other"))
        self.take_merged.clicked.connect(lambda: self._decide("merged"))
        self.conflicts: list[ConflictInfo] = []
        self._reload()
        self.resize(960, 560)

    def _reload(self) -> None:
        self.conflicts = list_conflicts(self.ws)
        self.list.clear()
        for c in self.conflicts:
            item = QListWidgetItem(f"{c.entity_label}: {c.label}\nFeld „{c.field_label}“ "
                                   f"[{c.office_key}]")
            self.list.addItem(item)
        if self.conflicts:
            self.list.setCurrentRow(0)
        else:
            self._show(-1)

    def _selected(self) -> ConflictInfo | None:
        row = self.list.currentRow()
        return self.conflicts[row] if 0 <= row < len(self.conflicts) else None

    def _show(self, _row: int) -> None:
        c = self._selected()
        enabled = c is not None and c.office_key == self.ws.office_key
        for button in (self.take_current, self.take_other, self.take_merged):
            button.setEnabled(enabled)
        self.merged.setReadOnly(not enabled)
        if c is None:
            for box in (self.current, self.other, self.merged):
                box.setPlainText("")
            self.info.setText("Keine offenen Konflikte.")
            return
        if c.kind == "loeschen":
            self.current.setPlainText("gelöscht")
            self.other.setPlainText(_lived_on(c))
            self.merged.setPlainText("")
            self.merged.setReadOnly(True)
            self.take_merged.setEnabled(False)
            self.take_current.setText("&Löschung bestätigen")
            self.take_other.setText("&Wiederherstellen")
        else:
            self.current.setPlainText(_to_text(c.current))
            self.other.setPlainText(_to_text(c.others[0][2]) if c.others else "")
            self.merged.setPlainText(_to_text(c.current))
            self.take_current.setText("&Angezeigten Wert behalten")
            self.take_other.setText("A&nderen Wert übernehmen")
        for button in (self.take_current, self.take_other):
            button.setAccessibleName(button.text().replace("&", ""))
        self.info.setText("" if enabled else
                          f"Dieser Datensatz gehört der Dienststelle „{c.office_key}“; nur dort "
                          "kann der Konflikt gelöst werden.")

    def _decide(self, which: str) -> None:
        c = self._selected()
        if c is None:
            return
        if c.kind == "loeschen":
            value: Any = which == "current"
        elif which == "current":
            value = c.current
        elif which == "other":
            value = c.others[0][2] if c.others else c.current
        else:
            text = self.merged.toPlainText()
            value = text
            if not isinstance(c.current, str) and text.strip():
                try:
                    value = json.loads(text)
                except ValueError:
                    msgbox.error(self, "Konflikt lösen", "Der bearbeitete Wert ist keine gültige "
                                 "Angabe für dieses Feld. Bitte korrigieren Sie ihn.")
                    return
            elif not isinstance(c.current, str):
                value = None
        try:
            resolve(self.ws, c.entity, c.record_id, c.field, value, c.kind)
        except UserError as exc:
            msgbox.error(self, "Konflikt lösen", exc.message)
            return
        self.changed = True
        self._reload()


def show_conflicts(parent: QWidget, ws: Workspace) -> bool:
    dialog = ConflictsDialog(parent, ws)
    dialog.exec()
    return dialog.changed
