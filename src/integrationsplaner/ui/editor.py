"""Base of the detail editors: load, explicit save and discard, undo/redo, unsaved-changes guard,
read-only with a visible reason, validation messages at the fields.

Undo works on snapshots of the form's raw values: every edit pushes a command holding the values
before and after; typing in one field merges into one step. The stack's clean state is the saved
state, so "unsaved changes" is simply ``not undo_stack.isClean()``.
"""

from __future__ import annotations

import contextlib
import logging
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QUndoCommand, QUndoStack
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from integrationsplaner.errors import (
    Issue,
    PermissionDeniedError,
    StaleRecordError,
    UserError,
    ValidationError,
)
from integrationsplaner.ui import msgbox
from integrationsplaner.ui.forms import Field, Form, describe, plain
from integrationsplaner.ui.labels import Labels, plain_label

if TYPE_CHECKING:  # keeps the database layer out of the window's start-up imports
    from integrationsplaner.services.workspace import Workspace

log = logging.getLogger(__name__)
BANNER_STYLE = ("QLabel { background: #fff4ce; color: #3b2f00; border: 1px solid #c8a600; "
                "padding: 6px; }")
ERROR_BANNER_STYLE = ("QLabel { background: #fde7e9; color: #6b0000; border: 1px solid #a80000; "
                      "padding: 6px; }")


class _Snapshot(QUndoCommand):
    def __init__(self, editor: RecordEditor, before: dict[str, Any], after: dict[str, Any],
                 key: str, label: str) -> None:
        super().__init__(label)
        self.editor = editor
        self.before = before
        self.after = after
        self.key = key
        self._first = True

    def id(self) -> int:
        return 1

    def mergeWith(self, other: QUndoCommand) -> bool:
        if not isinstance(other, _Snapshot) or other.key != self.key or self.key.endswith(
                ("+", "-")):
            return False
        self.after = other.after
        return True

    def redo(self) -> None:
        if self._first:
            self._first = False
            return
        self.editor._apply(self.after)

    def undo(self) -> None:
        self.editor._apply(self.before)


def scroll(widget: QWidget) -> QScrollArea:
    area = QScrollArea()
    area.setWidgetResizable(True)
    area.setFrameShape(QFrame.Shape.NoFrame)
    area.setWidget(widget)
    return area


class RecordEditor(QWidget):
    """A detail editor. Subclasses build ``self.form`` and implement the data hooks."""

    saved = Signal(str)  # id of the saved record
    dirtyChanged = Signal(bool)
    deletedChanged = Signal(str, bool)  # id, deleted
    what = "Der Datensatz"  # for messages: "Die Maßnahme"

    def __init__(self, ws: Workspace, labels: Labels, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ws = ws
        self.labels = labels
        self.form = Form()
        self.undo_stack = QUndoStack(self)
        self.undo_stack.setUndoLimit(200)
        self.undo_stack.cleanChanged.connect(self._clean_changed)
        self.record: Any = None
        self.readonly = False
        self.readonly_reason = ""
        self._snapshot: dict[str, Any] = {}
        self._applying = False
        self._live_validation = False
        self.form.edited.connect(self._edited)

        self.heading = plain_label()
        font = self.heading.font()
        font.setPointSizeF(font.pointSizeF() * 1.3)
        font.setBold(True)
        self.heading.setFont(font)
        self.heading.setWordWrap(True)
        self.heading.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.heading.setAccessibleName("Überschrift des Datensatzes")
        self.banner = plain_label()
        self.banner.setWordWrap(True)
        self.banner.setStyleSheet(BANNER_STYLE)
        self.banner.setVisible(False)
        self.banner.setAccessibleName("Hinweis")
        self.issues_banner = QLabel()
        self.issues_banner.setWordWrap(True)
        self.issues_banner.setStyleSheet(ERROR_BANNER_STYLE)
        self.issues_banner.setVisible(False)
        self.issues_banner.setAccessibleName("Eingaben prüfen")

        self.save_button = QPushButton("&Speichern")
        describe(self.save_button, "Speichern", "Änderungen speichern (Strg+S)")
        self.discard_button = QPushButton("&Verwerfen")
        describe(self.discard_button, "Verwerfen",
                 "Ungespeicherte Änderungen verwerfen und den gespeicherten Stand zeigen")
        self.delete_button = QPushButton("In den Papierkorb …")
        describe(self.delete_button, "In den Papierkorb verschieben",
                 "Löscht den Datensatz nach Rückfrage; im Papierkorb kann er wiederhergestellt "
                 "werden")
        self.restore_button = QPushButton("&Wiederherstellen")
        describe(self.restore_button, "Wiederherstellen",
                 "Holt den Datensatz aus dem Papierkorb zurück")
        self.save_button.clicked.connect(self.save)
        self.discard_button.clicked.connect(self.discard)
        self.delete_button.clicked.connect(self.delete)
        self.restore_button.clicked.connect(self.restore)
        self.button_row = QHBoxLayout()
        self.button_row.addWidget(self.save_button)
        self.button_row.addWidget(self.discard_button)
        self.button_row.addStretch(1)
        self.button_row.addWidget(self.restore_button)
        self.button_row.addWidget(self.delete_button)

        self.body = QVBoxLayout()
        self.body.setContentsMargins(0, 0, 0, 0)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(6, 6, 6, 6)
        outer.addWidget(self.heading)
        outer.addWidget(self.banner)
        outer.addWidget(self.issues_banner)
        outer.addLayout(self.body, 1)
        outer.addLayout(self.button_row)
        self.empty_hint = QLabel()
        self.empty_hint.setWordWrap(True)
        self.empty_hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty_hint.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self._update_buttons()

    def _clean_changed(self, clean: bool) -> None:
        with contextlib.suppress(RuntimeError, TypeError):  # the widget is being destroyed
            self.dirtyChanged.emit(not clean)

    # -- hooks for subclasses ----------------------------------------------------------------

    def to_raw(self, record: Any) -> dict[str, Any]:
        """Raw form values of a record."""
        raise NotImplementedError

    def to_data(self, raw: dict[str, Any]) -> Any:
        """Domain data from raw values; raises ValidationError for input that does not parse."""
        raise NotImplementedError

    def validate(self, data: Any) -> list[Issue]:
        """Domain validation without saving (shown live after a failed save)."""
        return []

    def store(self, data: Any) -> str:
        """Save through the service; returns the record id."""
        raise NotImplementedError

    def fetch(self, record_id: str) -> Any:
        raise NotImplementedError

    def owner_of(self, record: Any) -> str:
        return record.office_key

    def title_of(self, record: Any) -> str:
        return ""

    def set_deleted(self, record_id: str, deleted: bool) -> None:
        raise NotImplementedError

    def after_load(self) -> None:
        """Refresh read-only parts (sums, history) after load, undo, or save."""

    def after_edit(self, key: str) -> None:
        """React to an edit (recompute sums)."""

    # -- state -------------------------------------------------------------------------------

    @property
    def record_id(self) -> str | None:
        return getattr(self.record, "id", None) if self.record is not None else None

    def is_dirty(self) -> bool:
        return self.record is not None and not self.readonly and not self.undo_stack.isClean()

    def load(self, record: Any) -> None:
        """Show a record (no guard here; callers ask :meth:`maybe_leave` first)."""
        self.record = record
        self._live_validation = False
        self.issues_banner.setVisible(False)
        self.form.clear_errors()
        self._apply(self.to_raw(record))
        self._snapshot = self.form.values()
        self.undo_stack.clear()
        self.undo_stack.setClean()
        reason = self.readonly_reason_for(record)
        self.set_readonly(bool(reason), reason)
        self.heading.setText(self.title_of(record))
        self.setEnabled(True)
        self._update_buttons()
        self.dirtyChanged.emit(False)

    def readonly_reason_for(self, record: Any) -> str:
        owner = self.owner_of(record)
        if owner and owner != self.ws.office_key:
            return (f"Nur zum Ansehen: {self.what} gehört der Dienststelle "
                    f"„{self.labels.office_name(owner)}“. Änderungen nimmt die zuständige "
                    "Stelle vor; sie kommen mit deren Austausch-Bündel zu Ihnen.")
        if getattr(record, "deleted", False):
            return (f"{self.what} liegt im Papierkorb. Stellen Sie sie mit „Wiederherstellen“ "
                    "wieder her, um sie zu bearbeiten.")
        return ""

    def clear(self, hint: str = "") -> None:
        self.record = None
        self.undo_stack.clear()
        self.heading.setText(hint or "Kein Datensatz ausgewählt")
        self.banner.setVisible(False)
        self.issues_banner.setVisible(False)
        self.form.clear_errors()
        self.set_readonly(True, "")
        self._update_buttons()
        self.dirtyChanged.emit(False)

    def set_readonly(self, readonly: bool, reason: str) -> None:
        self.readonly = readonly
        self.readonly_reason = reason
        self.form.set_readonly(readonly)
        self.banner.setText(reason)
        self.banner.setVisible(bool(reason))
        self._update_buttons()

    def _update_buttons(self) -> None:
        has = self.record is not None
        deleted = bool(getattr(self.record, "deleted", False))
        own = has and self.owner_of(self.record) in ("", self.ws.office_key)
        self.save_button.setEnabled(has and not self.readonly)
        self.discard_button.setEnabled(has and not self.readonly)
        saved = has and self.record_id is not None
        self.delete_button.setVisible(not deleted)
        self.delete_button.setEnabled(saved and own and not deleted)
        self.restore_button.setVisible(deleted)
        self.restore_button.setEnabled(saved and own and deleted)

    # -- editing and undo --------------------------------------------------------------------

    def _apply(self, raw: dict[str, Any]) -> None:
        self._applying = True
        try:
            self.form.set_values(raw)
        finally:
            self._applying = False
        self._snapshot = dict(raw)
        self.after_load()
        if self._live_validation:
            self._revalidate()

    def _edited(self, key: str) -> None:
        if self._applying or self.record is None or self.readonly:
            return
        after = self.form.values()
        if after == self._snapshot:
            return
        field_key = key.split("[")[0].rstrip("+-")
        field = self.form.fields.get(field_key)
        label = plain(field.label_text) if field is not None else key
        self.undo_stack.push(_Snapshot(self, self._snapshot, after, key, f"{label} ändern"))
        self._snapshot = after
        self.after_edit(key)
        if self._live_validation:
            self._revalidate()

    def _revalidate(self) -> list[Issue]:
        try:
            data = self.to_data(self.form.values())
            issues = self.validate(data)
        except ValidationError as exc:
            issues = exc.issues
        self._show_issues(issues, focus=False)
        return issues

    def _show_issues(self, issues: list[Issue], focus: bool = True) -> None:
        first = self.form.show_issues(issues)
        if issues:
            self.issues_banner.setText("Bitte korrigieren Sie die markierten Eingaben; erst dann "
                                       "kann gespeichert werden:\n"
                                       + "\n".join(f"• {i.message}" for i in issues[:8])
                                       + ("\n• …" if len(issues) > 8 else ""))
        self.issues_banner.setVisible(bool(issues))
        if focus and first is not None:
            self.reveal(first)
            first.widget.setFocus()

    def reveal(self, field: Field) -> None:
        """Make a field visible (subclasses switch to its section)."""

    # -- commands ----------------------------------------------------------------------------

    def save(self) -> bool:
        """Save; returns False (and shows why) when nothing was saved."""
        if self.record is None or self.readonly:
            return False
        try:
            data = self.to_data(self.form.values())
            issues = self.validate(data)
            if issues:
                raise ValidationError(issues)
            record_id = self.store(data)
        except ValidationError as exc:
            self._live_validation = True
            self._show_issues(exc.issues)
            return False
        except StaleRecordError as exc:
            msgbox.warning(self, "Inzwischen geändert", exc.message)
            return False
        except PermissionDeniedError as exc:
            msgbox.warning(self, "Nicht erlaubt", exc.message)
            return False
        except UserError as exc:
            msgbox.warning(self, "Speichern nicht möglich", exc.message)
            return False
        self.load(self.fetch(record_id))
        self.saved.emit(record_id)
        return True

    def discard(self) -> None:
        if self.record is None:
            return
        if self.record_id is not None:
            try:
                self.load(self.fetch(self.record_id))
                return
            except UserError:
                pass
        self.load(self.record)

    def delete(self) -> bool:
        record_id = self.record_id
        if record_id is None:
            return False
        title = self.title_of(self.record)
        if not msgbox.confirm(self, "delete", "In den Papierkorb verschieben",
                              f"„{title}“ in den Papierkorb verschieben?\n\nSie können den "
                              "Datensatz über Ansicht → Papierkorb wiederherstellen.",
                              "In den &Papierkorb"):
            return False
        try:
            self.set_deleted(record_id, True)
        except UserError as exc:
            msgbox.warning(self, "Löschen nicht möglich", exc.message)
            return False
        self.undo_stack.clear()
        self.load(self.fetch(record_id))
        self.deletedChanged.emit(record_id, True)
        return True

    def restore(self) -> bool:
        record_id = self.record_id
        if record_id is None:
            return False
        try:
            self.set_deleted(record_id, False)
        except UserError as exc:
            msgbox.warning(self, "Wiederherstellen nicht möglich", exc.message)
            return False
        self.load(self.fetch(record_id))
        self.deletedChanged.emit(record_id, False)
        return True

    def maybe_leave(self) -> bool:
        """The unsaved-changes guard: True when it is fine to show something else."""
        if not self.is_dirty():
            return True
        answer = msgbox.ask_unsaved(self, self.what)
        if answer == msgbox.SAVE:
            return self.save()
        if answer == msgbox.DISCARD:
            self.discard()
            return True
        return False
