"""Form fields with a raw value, read-only state, an error shown at the field, and accessibility.

Each field wraps one control and keeps what the user typed as a *raw* value (text as typed,
codes of choices, table rows), so that undo can restore exactly what was on screen, even input
that does not parse yet. Editors turn raw values into domain data and report problems as
:class:`~integrationsplaner.errors.Issue` with the field's key; :meth:`Form.show_issues` puts
each message below its field.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDialogButtonBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QStyledItemDelegate,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from integrationsplaner.errors import Issue
from integrationsplaner.ui.labels import plain_label

ERROR_STYLE = "color: #8b0000; font-weight: 600;"
_FIELD_PATH = re.compile(r"^(\w+)(?:\[(\d+)\])?(?:\.(\w+))?")
Choices = Sequence[tuple[Any, str]]


def plain(text: str) -> str:
    """A label without mnemonic ampersand and trailing colon (for accessible names)."""
    return text.replace("&&", "\0").replace("&", "").replace("\0", "&").rstrip(":").strip()


def describe(widget: QWidget, name: str, description: str = "") -> QWidget:
    """Give a control its accessible name and description (BITV 2.0)."""
    widget.setAccessibleName(plain(name))
    if description:
        widget.setAccessibleDescription(description)
        if not widget.toolTip():
            widget.setToolTip(description)
    return widget


def ok_cancel(ok_text: str, on_ok: Callable[[], object], on_cancel: Callable[[], object],
              cancel_text: str = "&Abbrechen") -> QDialogButtonBox:
    """The buttons of a dialog that confirms or cancels, with German labels and mnemonics."""
    buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                               | QDialogButtonBox.StandardButton.Cancel)
    buttons.button(QDialogButtonBox.StandardButton.Ok).setText(ok_text)
    buttons.button(QDialogButtonBox.StandardButton.Cancel).setText(cancel_text)
    buttons.accepted.connect(on_ok)
    buttons.rejected.connect(on_cancel)
    return buttons


class _UndoKeyFilter(QObject):
    """Let Strg+Z / Strg+Y reach the record's undo instead of a text field's own undo."""

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.ShortcutOverride:
            if event.matches(QKeySequence.StandardKey.Undo) or event.matches(
                QKeySequence.StandardKey.Redo
            ) or event.matches(QKeySequence.StandardKey.Save):
                event.ignore()
                return True
            key = event.keyCombination()
            if key.key() == Qt.Key.Key_Y and key.keyboardModifiers() == (
                    Qt.KeyboardModifier.ControlModifier):
                event.ignore()
                return True
        return False


_UNDO_FILTER: _UndoKeyFilter | None = None


def route_undo_keys(widget: QWidget) -> None:
    global _UNDO_FILTER
    if _UNDO_FILTER is None:
        _UNDO_FILTER = _UndoKeyFilter()
    widget.installEventFilter(_UNDO_FILTER)


class Field(QObject):
    """Base of all fields: ``key`` (as in validation issues), label, control, error label."""

    edited = Signal(str)  # the key of what changed (a table cell has its own key)

    def __init__(self, key: str, label: str, widget: QWidget, description: str = "") -> None:
        super().__init__()
        self.key = key
        self.label_text = label
        self.widget = widget
        self.description = description
        describe(widget, label, description)
        route_undo_keys(widget)
        self.label = QLabel(label)
        self.label.setBuddy(widget)
        self.error = plain_label()
        self.error.setStyleSheet(ERROR_STYLE)
        self.error.setWordWrap(True)
        self.error.setVisible(False)
        self.error.setAccessibleName(f"Hinweis zu {plain(label)}")
        self.container = QWidget()
        layout = QVBoxLayout(self.container)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(widget)
        layout.addWidget(self.error)
        self._readonly = False

    def get(self) -> Any:
        raise NotImplementedError

    def set(self, value: Any) -> None:
        raise NotImplementedError

    def set_readonly(self, readonly: bool) -> None:
        self._readonly = readonly
        self.widget.setEnabled(not readonly)

    def set_error(self, message: str | None) -> None:
        self.error.setText(f"⚠ {message}" if message else "")
        self.error.setVisible(bool(message))
        self.widget.setProperty("invalid", bool(message))
        self.widget.setStyleSheet("border: 2px solid #8b0000;" if message else "")
        base = self.description
        self.widget.setAccessibleDescription(f"Fehler: {message}. {base}".strip() if message
                                             else base)

    def mark_cell(self, row: int, column: str | None, message: str) -> None:
        """Tables override this; other fields just show the message."""

    def _emit(self, *_args: Any) -> None:
        self.edited.emit(self.key)


class LineField(Field):
    def __init__(self, key: str, label: str, description: str = "", placeholder: str = "",
                 max_length: int = 0) -> None:
        edit = QLineEdit()
        if placeholder:
            edit.setPlaceholderText(placeholder)
        if max_length:
            edit.setMaxLength(max_length)
        super().__init__(key, label, edit, description)
        self.edit = edit
        edit.textEdited.connect(self._emit)

    def get(self) -> str:
        return self.edit.text()

    def set(self, value: Any) -> None:
        self.edit.setText("" if value is None else str(value))

    def set_readonly(self, readonly: bool) -> None:
        self._readonly = readonly
        self.edit.setReadOnly(readonly)


class DateField(LineField):
    """A date typed as TT.MM.JJJJ (empty allowed); parsed by the editor."""

    def __init__(self, key: str, label: str, description: str = "") -> None:
        super().__init__(key, label, description or "Datum im Format TT.MM.JJJJ",
                         placeholder="TT.MM.JJJJ", max_length=10)
        self.edit.setMaximumWidth(140)


class TextField(Field):
    def __init__(self, key: str, label: str, description: str = "", height: int = 90) -> None:
        edit = QPlainTextEdit()
        edit.setTabChangesFocus(True)
        edit.setUndoRedoEnabled(False)
        edit.setMinimumHeight(height)
        super().__init__(key, label, edit, description)
        self.edit = edit
        edit.textChanged.connect(self._on_change)
        self._setting = False

    def _on_change(self) -> None:
        if not self._setting:
            self._emit()

    def get(self) -> str:
        return self.edit.toPlainText()

    def set(self, value: Any) -> None:
        if self.edit.toPlainText() == (value or ""):
            return
        self._setting = True
        try:
            self.edit.setPlainText(value or "")
        finally:
            self._setting = False

    def set_readonly(self, readonly: bool) -> None:
        self._readonly = readonly
        self.edit.setReadOnly(readonly)


class ComboField(Field):
    def __init__(self, key: str, label: str, choices: Choices, description: str = "",
                 none_label: str | None = None) -> None:
        combo = QComboBox()
        # long entries ("Regionales Integrationskonzept 2018–2020") must not widen the whole
        # form beyond a 1366-pixel screen; the open list still shows them in full
        combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        combo.setMinimumContentsLength(16)
        super().__init__(key, label, combo, description)
        self.combo = combo
        self.set_choices(choices, none_label)
        combo.activated.connect(self._emit)

    def set_choices(self, choices: Choices, none_label: str | None = None) -> None:
        self.combo.blockSignals(True)
        self.combo.clear()
        if none_label is not None:
            self.combo.addItem(none_label, None)
        for code, text in choices:
            self.combo.addItem(text, code)
        self.combo.blockSignals(False)

    def get(self) -> Any:
        return self.combo.currentData()

    def set(self, value: Any) -> None:
        n = self.combo.findData(value)
        if n < 0 and value is not None:  # an unknown code: show it rather than hide it
            self.combo.addItem(str(value), value)
            n = self.combo.count() - 1
        self.combo.setCurrentIndex(max(n, 0))


class CheckField(Field):
    def __init__(self, key: str, label: str, description: str = "") -> None:
        box = QCheckBox(label)
        super().__init__(key, label, box, description)
        self.box = box
        self.label.setText("")
        box.toggled.connect(self._emit)

    def get(self) -> bool:
        return self.box.isChecked()

    def set(self, value: Any) -> None:
        self.box.blockSignals(True)
        self.box.setChecked(bool(value))
        self.box.blockSignals(False)


class SpinField(Field):
    """An optional whole number; the lowest value means "keine Angabe" (None)."""

    def __init__(self, key: str, label: str, minimum: int, maximum: int, suffix: str = "",
                 description: str = "") -> None:
        spin = QSpinBox()
        spin.setRange(minimum - 1, maximum)
        spin.setSpecialValueText("keine Angabe")
        spin.setSuffix(suffix)
        super().__init__(key, label, spin, description)
        self.spin = spin
        self.minimum = minimum
        spin.valueChanged.connect(self._emit)

    def get(self) -> int | None:
        value = self.spin.value()
        return None if value < self.minimum else value

    def set(self, value: Any) -> None:
        self.spin.blockSignals(True)
        self.spin.setValue(self.minimum - 1 if value is None else int(value))
        self.spin.blockSignals(False)

    def set_readonly(self, readonly: bool) -> None:
        self._readonly = readonly
        self.spin.setReadOnly(readonly)


class ChecklistField(Field):
    """Several codes chosen by ticking (space bar toggles); optional filter line for long lists."""

    def __init__(self, key: str, label: str, choices: Choices, description: str = "",
                 with_filter: bool = False, height: int = 140) -> None:
        self.list = QListWidget()
        self.list.setMinimumHeight(height)
        super().__init__(key, label, self.list, description)
        self.set_choices(choices)
        self.list.itemChanged.connect(self._emit)
        if with_filter:
            self.filter = QLineEdit()
            self.filter.setPlaceholderText("Liste filtern …")
            describe(self.filter, f"{plain(label)} filtern",
                     "Zeigt nur Einträge, die den Text enthalten")
            self.filter.textChanged.connect(self._apply_filter)
            self.container.layout().insertWidget(0, self.filter)

    def set_choices(self, choices: Choices) -> None:
        self.list.blockSignals(True)
        self.list.clear()
        for code, text in choices:
            item = QListWidgetItem(text)
            item.setData(Qt.ItemDataRole.UserRole, code)
            item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsUserCheckable
                          | Qt.ItemFlag.ItemIsSelectable)
            item.setCheckState(Qt.CheckState.Unchecked)
            self.list.addItem(item)
        self.list.blockSignals(False)

    def _apply_filter(self, text: str) -> None:
        needle = text.casefold().strip()
        for n in range(self.list.count()):
            item = self.list.item(n)
            item.setHidden(bool(needle) and needle not in item.text().casefold())

    def get(self) -> list[Any]:
        return [self.list.item(n).data(Qt.ItemDataRole.UserRole)
                for n in range(self.list.count())
                if self.list.item(n).checkState() == Qt.CheckState.Checked]

    def set(self, value: Any) -> None:
        wanted = set(value or [])
        self.list.blockSignals(True)
        for n in range(self.list.count()):
            item = self.list.item(n)
            item.setCheckState(Qt.CheckState.Checked
                               if item.data(Qt.ItemDataRole.UserRole) in wanted
                               else Qt.CheckState.Unchecked)
        self.list.blockSignals(False)

    def set_readonly(self, readonly: bool) -> None:
        self._readonly = readonly
        self.list.blockSignals(True)
        for n in range(self.list.count()):
            item = self.list.item(n)
            flags = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
            if not readonly:
                flags |= Qt.ItemFlag.ItemIsUserCheckable
            item.setFlags(flags)
        self.list.blockSignals(False)


# --- tables ----------------------------------------------------------------------------------


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


class Form(QObject):
    """The fields of one editor: raw values as a dict, errors, read-only state."""

    edited = Signal(str)

    def __init__(self) -> None:
        super().__init__()
        self.fields: dict[str, Field] = {}

    def add(self, field: Field) -> Field:
        self.fields[field.key] = field
        field.edited.connect(self.edited)
        return field

    def __getitem__(self, key: str) -> Field:
        return self.fields[key]

    def values(self) -> dict[str, Any]:
        return {key: field.get() for key, field in self.fields.items()}

    def set_values(self, values: dict[str, Any]) -> None:
        for key, field in self.fields.items():
            if key in values:
                field.set(values[key])

    def set_readonly(self, readonly: bool) -> None:
        for field in self.fields.values():
            field.set_readonly(readonly)

    def clear_errors(self) -> None:
        for field in self.fields.values():
            field.set_error(None)

    def show_issues(self, issues: Sequence[Issue]) -> Field | None:
        """Show each message at its field; returns the first field with a problem."""
        self.clear_errors()
        grouped: dict[str, list[str]] = {}
        first: Field | None = None
        for issue in issues:
            match = _FIELD_PATH.match(issue.field)
            key = match.group(1) if match else issue.field
            field = self.fields.get(key)
            if field is None:
                continue
            grouped.setdefault(key, []).append(issue.message)
            if match and match.group(2) is not None:
                field.mark_cell(int(match.group(2)), match.group(3), issue.message)
            if first is None:
                first = field
        for key, messages in grouped.items():
            self.fields[key].set_error("\n".join(dict.fromkeys(messages)))
        return first
