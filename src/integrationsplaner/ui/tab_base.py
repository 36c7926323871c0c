"""What the Maßnahmen, Partner and Bewertungen tabs share: a list beside a detail editor, the
unsaved-changes guard on switching record, re-selecting after a reload."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QItemSelectionModel, QModelIndex, Qt, Signal
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableView, QWidget

from integrationsplaner.errors import UserError
from integrationsplaner.ui import msgbox
from integrationsplaner.ui.editor import RecordEditor


def make_table(name: str, description: str) -> QTableView:
    view = QTableView()
    view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    view.setSortingEnabled(True)
    view.setAlternatingRowColors(True)
    view.setWordWrap(False)
    view.verticalHeader().setVisible(False)
    view.verticalHeader().setDefaultSectionSize(view.fontMetrics().height() + 8)
    view.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
    header = view.horizontalHeader()
    header.setSectionsMovable(True)
    header.setHighlightSections(False)
    header.setStretchLastSection(True)
    view.setAccessibleName(name)
    view.setAccessibleDescription(description)
    view.setTabKeyNavigation(False)
    return view


class ListEditorTab(QWidget):
    """A table of records and the editor of the current one."""

    dirtyChanged = Signal(bool)
    statusMessage = Signal(str)
    #: The detail editor exists now (see :attr:`editor`).
    editorReady = Signal()
    title = ""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.view: QTableView
        self._editor: RecordEditor | None = None
        self._selecting = False

    def connect_view(self) -> None:
        self.view.selectionModel().currentRowChanged.connect(self._current_changed)

    # -- the editor -----------------------------------------------------------------------------

    @property
    def editor(self) -> RecordEditor:
        """The detail editor. A tab either sets it while it is built (:meth:`set_editor`) or
        builds it on first use (:meth:`build_editor`): the measure list paints its first rows
        at start before the editor and its modules are loaded."""
        return self.ensure_editor()

    def ensure_editor(self) -> RecordEditor:
        if self._editor is None:
            self.set_editor(self.build_editor())
        assert self._editor is not None
        return self._editor

    @property
    def has_editor(self) -> bool:
        return self._editor is not None

    def set_editor(self, editor: RecordEditor) -> None:
        self._editor = editor
        editor.dirtyChanged.connect(self.dirtyChanged)
        self.editorReady.emit()

    def build_editor(self) -> RecordEditor:
        """Hook of a tab whose editor is built on first use."""
        raise NotImplementedError

    def current_id(self) -> str | None:
        """The record shown in the editor (None before the editor is built)."""
        return self._editor.record_id if self._editor is not None else None

    def is_dirty(self) -> bool:
        return self._editor is not None and self._editor.is_dirty()

    # -- hooks ------------------------------------------------------------------------------

    def id_at(self, row: int) -> str | None:
        raise NotImplementedError

    def row_of(self, record_id: str | None) -> int:
        raise NotImplementedError

    def open_id(self, record_id: str) -> None:
        """Load a record into the editor (no guard)."""
        raise NotImplementedError

    # -- selection with guard ---------------------------------------------------------------

    def _current_changed(self, current: QModelIndex, previous: QModelIndex) -> None:
        if self._selecting:
            return
        record_id = self.id_at(current.row()) if current.isValid() else None
        if record_id is None or record_id == self.current_id():
            return
        if not self.editor.maybe_leave():
            self._select_row(previous.row() if previous.isValid() else
                             self.row_of(self.editor.record_id))
            return
        self._open(record_id)

    def _open(self, record_id: str) -> None:
        try:
            self.open_id(record_id)
        except UserError as exc:
            msgbox.warning(self, "Nicht verfügbar", exc.message)

    def _select_row(self, row: int) -> None:
        self._selecting = True
        try:
            model = self.view.model()
            if row < 0 or row >= model.rowCount():
                self.view.selectionModel().clear()
                return
            index = model.index(row, 0)
            self.view.selectionModel().setCurrentIndex(
                index, QItemSelectionModel.SelectionFlag.ClearAndSelect
                | QItemSelectionModel.SelectionFlag.Rows)
            self.view.scrollTo(index)
        finally:
            self._selecting = False

    def reselect(self) -> None:
        """After the list was reloaded: mark the record shown in the editor again."""
        self._select_row(self.row_of(self.current_id()))

    def show_record(self, record_id: str) -> bool:
        """Open a record (from elsewhere, e.g. a double-click in another tab), with guard."""
        if record_id != self.editor.record_id:
            if not self.editor.maybe_leave():
                return False
            self._open(record_id)
        self.reselect()
        return True

    # -- commands the main window routes here -------------------------------------------------

    def maybe_leave(self) -> bool:
        return self._editor is None or self._editor.maybe_leave()

    def save(self) -> bool:
        return self.editor.save()

    def discard(self) -> None:
        self.editor.discard()

    def delete(self) -> None:
        self.editor.delete()

    def restore(self) -> None:
        self.editor.restore()

    def new_record(self) -> None:
        """Hook; tabs without new records ignore it."""

    def focus_search(self) -> None:
        """Hook."""

    def refresh(self) -> None:
        """Re-read everything (after an import)."""

    #: Prefix of this tab's settings: ``<prefix>_splitter`` and ``<prefix>_header`` are declared
    #: in ``ui.settings`` (typed, once); a tab without a prefix remembers nothing.
    state_key = ""

    def save_state(self, settings: Any) -> None:
        """Remember the splitter position and the list's columns."""
        if self.state_key:
            setattr(settings, f"{self.state_key}_splitter", self.splitter.saveState())
            setattr(settings, f"{self.state_key}_header",
                    self.view.horizontalHeader().saveState())

    def restore_state(self, settings: Any) -> None:
        if not self.state_key:
            return
        splitter = getattr(settings, f"{self.state_key}_splitter")
        header = getattr(settings, f"{self.state_key}_header")
        if not splitter.isEmpty():
            self.splitter.restoreState(splitter)
        if not header.isEmpty():
            self.view.horizontalHeader().restoreState(header)

    @staticmethod
    def align_left(view: QTableView) -> None:
        view.horizontalHeader().setDefaultAlignment(Qt.AlignmentFlag.AlignLeft
                                                    | Qt.AlignmentFlag.AlignVCenter)
