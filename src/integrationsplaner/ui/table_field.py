"""A form field that edits a list of rows in a table (indicators, budget lines, actual
values): cells as typed, choice columns with a drop-down, add and remove buttons, errors per
cell; a :class:`~integrationsplaner.ui.forms.Field` like the others."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QObject, Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QPushButton,
    QStyledItemDelegate,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from integrationsplaner.ui.forms import Choices, Field, describe, plain
from integrationsplaner.ui.labels import plain_label


@dataclass(frozen=True)
class TableColumn:
    key: str
    title: str
    kind: str = "text"  # text | choice | check | readonly
    choices: Choices = ()
    width: int = 0
    description: str = ""


class _ChoiceDelegate(QStyledItemDelegate):
    def __init__(self, choices: Choices, parent: QObject) -> None:
        super().__init__(parent)
        self.choices = list(choices)

    def createEditor(self, parent: QWidget, _option: Any, _index: Any) -> QWidget:
        combo = QComboBox(parent)
        for code, text in self.choices:
            combo.addItem(text, code)
        combo.setAccessibleName("Auswahl")
        return combo

    def setEditorData(self, editor: QWidget, index: Any) -> None:
        assert isinstance(editor, QComboBox)
        editor.setCurrentIndex(max(0, editor.findData(index.data(Qt.ItemDataRole.UserRole))))

    def setModelData(self, editor: QWidget, model: Any, index: Any) -> None:
        assert isinstance(editor, QComboBox)
        model.setData(index, editor.currentData(), Qt.ItemDataRole.UserRole)
        model.setData(index, editor.currentText(), Qt.ItemDataRole.DisplayRole)


class TableField(Field):
    """Rows of a record part (indicators, budget lines, milestones, contacts, partners).

    The raw value is a list of dicts: column key → text / code / bool, plus ``_id`` (the part's
    id) and ``_extra`` (data the table does not show, e.g. a partner's id)."""

    def __init__(self, key: str, label: str, columns: Sequence[TableColumn],
                 add_label: str = "&Hinzufügen", description: str = "",
                 new_row: Callable[[], dict[str, Any]] | None = None,
                 add_handler: Callable[[], dict[str, Any] | None] | None = None) -> None:
        self.columns = list(columns)
        self.table = QTableWidget(0, len(self.columns))
        super().__init__(key, label, self.table, description)
        self.new_row = new_row or (lambda: {})
        self.add_handler = add_handler
        self.table.setHorizontalHeaderLabels([c.title for c in self.columns])
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setTabKeyNavigation(False)  # Tab leaves the table; arrows move inside
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.AllEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.setMinimumHeight(150)
        header = self.table.horizontalHeader()
        for n, column in enumerate(self.columns):
            if column.kind == "choice":
                self.table.setItemDelegateForColumn(n, _ChoiceDelegate(column.choices,
                                                                       self.table))
            if column.width:
                header.resizeSection(n, column.width)
        header.setStretchLastSection(True)
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self._choice_labels = {c.key: dict(c.choices) for c in self.columns}
        self._meta: list[dict[str, Any]] = []
        self._setting = False
        self.table.itemChanged.connect(self._cell_changed)
        self.add_button = QPushButton(add_label)
        describe(self.add_button, add_label, f"Neue Zeile in „{plain(label)}“ anlegen")
        self.remove_button = QPushButton("Zeile &entfernen")
        describe(self.remove_button, f"Zeile aus {plain(label)} entfernen",
                 "Entfernt die markierte Zeile")
        self.add_button.clicked.connect(self.add_row)
        self.remove_button.clicked.connect(self.remove_current)
        buttons = QHBoxLayout()
        buttons.addWidget(self.add_button)
        buttons.addWidget(self.remove_button)
        buttons.addStretch(1)
        layout = self.container.layout()
        assert isinstance(layout, QVBoxLayout)
        layout.insertLayout(1, buttons)
        self.cell_errors = plain_label()

    # -- raw value ---------------------------------------------------------------------------

    def get(self) -> list[dict[str, Any]]:
        rows = []
        for r in range(self.table.rowCount()):
            row: dict[str, Any] = {}
            for c, column in enumerate(self.columns):
                item = self.table.item(r, c)
                if column.kind == "check":
                    row[column.key] = bool(item and item.checkState() == Qt.CheckState.Checked)
                elif column.kind == "choice":
                    row[column.key] = item.data(Qt.ItemDataRole.UserRole) if item else None
                else:
                    row[column.key] = item.text() if item else ""
            meta = self._meta[r] if r < len(self._meta) else {}
            row["_id"] = meta.get("_id")
            row["_extra"] = meta.get("_extra")
            rows.append(row)
        return rows

    def set(self, value: Any) -> None:
        rows = list(value or [])
        self._setting = True
        self.table.blockSignals(True)
        try:
            self.table.setRowCount(len(rows))
            self._meta = [{"_id": r.get("_id"), "_extra": r.get("_extra")} for r in rows]
            for r, row in enumerate(rows):
                for c, column in enumerate(self.columns):
                    self.table.setItem(r, c, self._item(column, row.get(column.key)))
        finally:
            self.table.blockSignals(False)
            self._setting = False

    def _item(self, column: TableColumn, value: Any) -> QTableWidgetItem:
        item = QTableWidgetItem()
        flags = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
        if column.kind == "check":
            item.setCheckState(Qt.CheckState.Checked if value else Qt.CheckState.Unchecked)
            item.setText("ja" if value else "nein")
            if not self._readonly:
                flags |= Qt.ItemFlag.ItemIsUserCheckable
        elif column.kind == "choice":
            item.setData(Qt.ItemDataRole.UserRole, value)
            item.setText(self._choice_labels[column.key].get(value, str(value or "")))
            if not self._readonly:
                flags |= Qt.ItemFlag.ItemIsEditable
        else:
            item.setText("" if value is None else str(value))
            if column.kind == "text" and not self._readonly:
                flags |= Qt.ItemFlag.ItemIsEditable
        item.setFlags(flags)
        return item

    def _cell_changed(self, item: QTableWidgetItem) -> None:
        if self._setting:
            return
        column = self.columns[item.column()]
        if column.kind == "check":
            text = "ja" if item.checkState() == Qt.CheckState.Checked else "nein"
            if item.text() != text:
                self.table.blockSignals(True)
                item.setText(text)
                self.table.blockSignals(False)
        self.edited.emit(f"{self.key}[{item.row()}].{column.key}")

    # -- rows --------------------------------------------------------------------------------

    def add_row(self, values: dict[str, Any] | None = None) -> None:
        if self._readonly:
            return
        if not isinstance(values, dict):
            values = self.add_handler() if self.add_handler else self.new_row()
            if values is None:
                return
        rows = self.get()
        rows.append(values)
        self.set(rows)
        row = len(rows) - 1
        self.edited.emit(f"{self.key}+")
        first_editable = next((n for n, c in enumerate(self.columns) if c.kind != "readonly"), 0)
        self.table.setCurrentCell(row, first_editable)
        self.table.setFocus()

    def remove_current(self) -> None:
        row = self.table.currentRow()
        if self._readonly or row < 0:
            return
        rows = self.get()
        del rows[row]
        self.set(rows)
        self.edited.emit(f"{self.key}-")
        if rows:
            self.table.setCurrentCell(min(row, len(rows) - 1), 0)

    def set_readonly(self, readonly: bool) -> None:
        self._readonly = readonly
        self.add_button.setEnabled(not readonly)
        self.remove_button.setEnabled(not readonly)
        self.set(self.get())

    def mark_cell(self, row: int, column: str | None, message: str) -> None:
        col = next((n for n, c in enumerate(self.columns) if c.key == column), 0)
        item = self.table.item(row, col)
        if item is not None:
            self.table.blockSignals(True)
            item.setToolTip(message)
            self.table.blockSignals(False)
            self.table.setCurrentCell(row, col)


# --- a whole form ----------------------------------------------------------------------------
