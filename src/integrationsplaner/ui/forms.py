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
from typing import Any

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialogButtonBox,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QSpinBox,
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
