"""The main window: tabs Übersicht, Maßnahmen, Partner, Bewertungen; menus, toolbar, status bar.

The window owns the open :class:`Workspace` and passes it into each tab (tabs never reach up for
it). Switching the database rebuilds the tabs. Tabs other than the current one are built when
first shown, which keeps the start fast. The actions, menus and toolbar are built in
:mod:`integrationsplaner.ui.main_actions`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QSize, QUrl
from PySide6.QtGui import (
    QCloseEvent,
    QDesktopServices,
    QDragEnterEvent,
    QDropEvent,
    QUndoGroup,
)
from PySide6.QtWidgets import (
    QFileDialog,
    QLabel,
    QMainWindow,
    QTabWidget,
    QWidget,
)

from integrationsplaner import __version__
from integrationsplaner.errors import UserError
from integrationsplaner.ui import msgbox
from integrationsplaner.ui.labels import Labels, plain_label, plain_tooltip
from integrationsplaner.ui.main_actions import build_actions_and_menus
from integrationsplaner.ui.settings import Settings
from integrationsplaner.ui.tab_base import ListEditorTab

if TYPE_CHECKING:  # the database layer loads after the window is on screen (fast start)
    from integrationsplaner.services.workspace import Workspace

log = logging.getLogger(__name__)
BUNDLE_SUFFIX = ".ipbundle"
TAB_OVERVIEW, TAB_MEASURES, TAB_PARTNERS, TAB_EVALUATIONS = range(4)
TAB_TITLES = ("Übersicht", "Maßnahmen", "Partner", "Bewertungen")


class MainWindow(QMainWindow):
    def __init__(self, ws: Workspace | None, settings: Settings | None = None,
                 open_workspace: Callable[[Path], Workspace | None] | None = None) -> None:
        super().__init__()
        self.settings = settings or Settings()
        self._open_workspace_fn = open_workspace
        self.ws: Workspace | None = None
        self.tabs_by_index: dict[int, QWidget] = {}
        self._current_tab = -1
        self._switching = False
        self.setWindowTitle("Integrationsplaner[*]")
        self.setAcceptDrops(True)
        self.setMinimumSize(QSize(640, 400))
        self.undo_group = QUndoGroup(self)
        self.tab_widget = QTabWidget()
        self.tab_widget.setAccessibleName("Bereiche")
        self.tab_widget.setDocumentMode(True)
        self.setCentralWidget(self.tab_widget)
        build_actions_and_menus(self, TAB_TITLES)
        self._build_status_bar()
        self.tab_widget.currentChanged.connect(self._tab_changed)
        self._defer_editor = False  # see set_workspace
        if ws is not None:
            self.set_workspace(ws)
        else:  # shown at once while the database opens (see ui.app.run)
            self.status_office.setText("Datenbank wird geöffnet …")
        if not self.settings.window_geometry.isEmpty():
            self.restoreGeometry(self.settings.window_geometry)
        else:
            self.resize(1340, 720)
        if not self.settings.window_state.isEmpty():
            self.restoreState(self.settings.window_state)

    # -- building -----------------------------------------------------------------------------

    def _build_status_bar(self) -> None:
        status = self.statusBar()
        self.status_office = QLabel()
        self.status_file = plain_label()
        self.status_period = QLabel()
        self.status_dirty = QLabel()
        for label, name in ((self.status_office, "Dienststelle"),
                            (self.status_file, "Datenbankdatei"),
                            (self.status_period, "Aktueller Betrachtungszeitraum"),
                            (self.status_dirty, "Speicherstand")):
            label.setAccessibleName(name)
            status.addPermanentWidget(label)

    # -- workspace and tabs ----------------------------------------------------------------------

    def set_workspace(self, ws: Workspace, *, defer_editor: bool = False) -> None:
        """Show a database. All or nothing: when its first reads fail (a file damaged inside),
        ``ws`` is closed, the database shown before stays, and the UserError propagates.
        ``defer_editor``: the caller calls :meth:`finish_start` once the first rows are painted
        (program start)."""
        from integrationsplaner.domain.periods import current_period

        old = self.ws
        self._defer_editor = defer_editor
        try:
            self._show_tabs(ws)
        except UserError:
            ws.close()
            self.ws = None
            if old is not None and old is not ws:
                self._show_tabs(old)
            raise
        if old is not None and old is not ws:
            old.close()
        office = self.labels.office_name(ws.office_key)
        self.setWindowTitle(f"Integrationsplaner – {office} – {ws.path.name}[*]")
        self.status_office.setText(f"Dienststelle: {office}")
        self.status_file.setText(f"Datei: {ws.path.name}")
        self.status_file.setToolTip(plain_tooltip(str(ws.path)))
        self.status_period.setText(f"Zu bewerten: {current_period().label}")
        self._update_dirty(False)
        self.settings.add_recent(ws.path)

    def _show_tabs(self, ws: Workspace) -> None:
        self.ws = ws
        self.labels = Labels(ws.reference)
        self._switching = True
        try:
            for n in range(self.tab_widget.count() - 1, -1, -1):
                widget = self.tab_widget.widget(n)
                self.tab_widget.removeTab(n)
                widget.deleteLater()
            self.tabs_by_index.clear()
            for title in TAB_TITLES:
                placeholder = QWidget()
                placeholder.setAccessibleName(title)
                self.tab_widget.addTab(placeholder, title)
            wanted = self.settings.last_tab if 0 <= self.settings.last_tab < 4 else 1
            self._current_tab = -1
            self.tab_widget.setCurrentIndex(wanted)
        finally:
            self._switching = False
        self._ensure_tab(self.tab_widget.currentIndex())
        self._current_tab = self.tab_widget.currentIndex()
        self._activate_tab(self._current_tab)

    def tab(self, index: int) -> QWidget:
        return self._ensure_tab(index)

    def _ensure_tab(self, index: int) -> QWidget:
        existing = self.tabs_by_index.get(index)
        if existing is not None:
            return existing
        assert self.ws is not None
        widget = self._create_tab(index)
        self.tabs_by_index[index] = widget
        self._switching = True
        try:
            current = self.tab_widget.currentIndex()
            old = self.tab_widget.widget(index)
            self.tab_widget.removeTab(index)
            self.tab_widget.insertTab(index, widget, TAB_TITLES[index])
            old.deleteLater()
            self.tab_widget.setCurrentIndex(current)
        finally:
            self._switching = False
        if isinstance(widget, ListEditorTab):
            widget.restore_state(self.settings)
            widget.dirtyChanged.connect(self._update_dirty)
            widget.editorReady.connect(lambda tab=widget: self._editor_ready(tab))
            if not self._defer_editor:
                widget.ensure_editor()
        start = getattr(widget, "start", None)
        if start is not None:
            start()
        return widget

    def _create_tab(self, index: int) -> QWidget:
        ws = self.ws
        assert ws is not None
        if index == TAB_MEASURES:
            from integrationsplaner.ui.measures_tab import MeasuresTab

            return MeasuresTab(ws, self.labels, self.settings)
        if index == TAB_PARTNERS:
            from integrationsplaner.ui.partners_tab import PartnersTab

            tab = PartnersTab(ws, self.labels, self.settings)
            tab.openMeasure.connect(self.open_measure)
            tab.showMeasures.connect(self.show_measures_of_partner)
            return tab
        if index == TAB_EVALUATIONS:
            from integrationsplaner.ui.evaluations_tab import EvaluationsTab

            tab = EvaluationsTab(ws, self.labels, self.settings)
            tab.printSheets.connect(lambda period: self.show_reports("sheets", period))
            tab.openMeasure.connect(self.open_measure)
            return tab
        from integrationsplaner.ui.overview_tab import OverviewTab

        tab = OverviewTab(ws, self.labels)
        tab.showMeasures.connect(self.show_measures)
        tab.showEvaluations.connect(self.show_evaluations)
        tab.openMeasure.connect(self.open_measure)
        return tab

    def current_tab(self) -> QWidget:
        return self._ensure_tab(self.tab_widget.currentIndex())

    def editor_tab(self) -> ListEditorTab | None:
        widget = self.tabs_by_index.get(self.tab_widget.currentIndex())
        return widget if isinstance(widget, ListEditorTab) else None

    def _tab_changed(self, index: int) -> None:
        if self._switching or index < 0:
            return
        previous = self.tabs_by_index.get(self._current_tab)
        if isinstance(previous, ListEditorTab) and not previous.maybe_leave():
            self._switching = True
            self.tab_widget.setCurrentIndex(self._current_tab)
            self._switching = False
            return
        self._current_tab = index
        self._ensure_tab(index)
        self._activate_tab(index)

    def _activate_tab(self, index: int) -> None:
        self.settings.last_tab = index
        tab = self.tabs_by_index.get(index)
        editor_tab = tab if isinstance(tab, ListEditorTab) else None
        self._bind_undo(editor_tab)
        has_editor = editor_tab is not None
        for action in (self.act_save, self.act_discard, self.act_delete, self.act_restore):
            action.setEnabled(has_editor)
        self.act_new.setEnabled(index in (TAB_MEASURES, TAB_PARTNERS))
        self.act_find.setEnabled(has_editor)
        self._update_dirty(editor_tab.is_dirty() if editor_tab else False)
        refresh = getattr(tab, "activated", None)
        if refresh is not None:
            refresh()

    def _bind_undo(self, editor_tab: ListEditorTab | None) -> None:
        """Undo and redo act on the shown tab's editor (none until that editor is built)."""
        if editor_tab is not None and editor_tab.has_editor:
            stack = editor_tab.editor.undo_stack
            if stack not in self.undo_group.stacks():
                self.undo_group.addStack(stack)
            self.undo_group.setActiveStack(stack)
        else:
            self.undo_group.setActiveStack(None)

    def _editor_ready(self, tab: ListEditorTab) -> None:
        if tab is self.editor_tab():
            self._bind_undo(tab)

    def finish_start(self) -> None:
        """Build what the shown tab left for later (the measure editor)."""
        self._defer_editor = False
        tab = self.editor_tab()
        if tab is not None:
            tab.ensure_editor()

    def _update_dirty(self, _dirty: bool = False) -> None:
        dirty = any(isinstance(t, ListEditorTab) and t.is_dirty()
                    for t in self.tabs_by_index.values())
        self.status_dirty.setText("● Ungespeicherte Änderungen" if dirty
                                  else "Alle Änderungen gespeichert")
        self.setWindowModified(dirty)

    # -- routing of commands -------------------------------------------------------------------

    def new_record(self) -> None:
        tab = self.editor_tab()
        if tab is not None:
            tab.new_record()

    def save(self) -> None:
        tab = self.editor_tab()
        if tab is not None and tab.save():
            self.statusBar().showMessage("Gespeichert.", 4000)

    def discard(self) -> None:
        tab = self.editor_tab()
        if tab is not None:
            tab.discard()

    def delete(self) -> None:
        tab = self.editor_tab()
        if tab is not None:
            tab.delete()

    def restore(self) -> None:
        tab = self.editor_tab()
        if tab is not None:
            tab.restore()

    def focus_search(self) -> None:
        tab = self.editor_tab()
        if tab is not None:
            tab.focus_search()

    def toggle_trash(self) -> None:
        from integrationsplaner.ui.measures_tab import MeasuresTab

        self.tab_widget.setCurrentIndex(TAB_MEASURES)
        tab = self.tabs_by_index.get(TAB_MEASURES)
        if isinstance(tab, MeasuresTab) and self.tab_widget.currentIndex() == TAB_MEASURES:
            tab.filter_bar.trash.setChecked(self.act_trash.isChecked())
        else:
            self.act_trash.setChecked(False)

    def refresh_all(self) -> None:
        for tab in self.tabs_by_index.values():
            refresh = getattr(tab, "refresh", None)
            if refresh is not None:
                refresh()
        self.statusBar().showMessage("Alle Listen wurden neu eingelesen.", 4000)

    def show_measures(self, flt: object) -> None:
        from integrationsplaner.ui.measures_tab import MeasuresTab

        self.tab_widget.setCurrentIndex(TAB_MEASURES)
        tab = self.tabs_by_index.get(TAB_MEASURES)
        if isinstance(tab, MeasuresTab) and self.tab_widget.currentIndex() == TAB_MEASURES:
            tab.show_filter(flt)

    def show_measures_of_partner(self, partner_id: str, name: str) -> None:
        from integrationsplaner.domain.model import MeasureFilter
        from integrationsplaner.ui.measures_tab import MeasuresTab

        self.tab_widget.setCurrentIndex(TAB_MEASURES)
        tab = self.tabs_by_index.get(TAB_MEASURES)
        if isinstance(tab, MeasuresTab) and self.tab_widget.currentIndex() == TAB_MEASURES:
            tab.filter_bar.set_value(MeasureFilter(partner_id=partner_id), name)

    def show_evaluations(self, period: str, state: str | None) -> None:
        self.tab_widget.setCurrentIndex(TAB_EVALUATIONS)
        tab = self.tabs_by_index.get(TAB_EVALUATIONS)
        if tab is not None and self.tab_widget.currentIndex() == TAB_EVALUATIONS:
            tab.show_period(period, state)  # type: ignore[attr-defined]

    def open_measure(self, measure_id: str) -> None:
        from integrationsplaner.domain.model import MeasureFilter
        from integrationsplaner.ui.measures_tab import MeasuresTab

        self.tab_widget.setCurrentIndex(TAB_MEASURES)
        tab = self.tabs_by_index.get(TAB_MEASURES)
        if not isinstance(tab, MeasuresTab) or self.tab_widget.currentIndex() != TAB_MEASURES:
            return
        if tab.row_of(measure_id) < 0 and not tab.model.loading:
            tab.show_filter(MeasureFilter())
        tab.show_record(measure_id)

    # -- databases -------------------------------------------------------------------------------

    def maybe_leave_all(self) -> bool:
        for tab in self.tabs_by_index.values():
            if isinstance(tab, ListEditorTab) and tab.is_dirty():
                index = self.tab_widget.indexOf(tab)
                self.tab_widget.setCurrentIndex(index)
                if not tab.maybe_leave():
                    return False
        return True

    def open_database_dialog(self) -> None:
        folder = str(self.ws.path.parent) if self.ws else ""
        path, _ = QFileDialog.getOpenFileName(self, "Datenbank öffnen", folder,
                                              "Integrationsplaner-Datenbank (*.sqlite);;"
                                              "Alle Dateien (*)")
        if path:
            self.open_database(Path(path))

    def open_database(self, path: Path) -> bool:
        if self.ws is not None and Path(path).resolve() == self.ws.path.resolve():
            return True
        if not self.maybe_leave_all():
            return False
        from integrationsplaner.services.workspace import open_workspace
        from integrationsplaner.ui.tasks import wait_all

        wait_all()
        try:
            ws = (self._open_workspace_fn or open_workspace)(Path(path))
        except UserError as exc:
            msgbox.error(self, "Datenbank kann nicht geöffnet werden", exc.message)
            return False
        if ws is None:
            return False
        try:
            self.set_workspace(ws)
        except UserError as exc:
            msgbox.error(self, "Datenbank kann nicht geöffnet werden", exc.message)
            return False
        return True

    def new_database(self) -> None:
        from integrationsplaner.ui.first_start import NewDatabaseDialog

        if not self.maybe_leave_all():
            return
        dialog = NewDatabaseDialog(self, default_folder=self.ws.path.parent if self.ws else None)
        if dialog.exec() and dialog.workspace is not None:
            self.set_workspace(dialog.workspace)

    # -- reports and exchange (other modules, loaded when used) -----------------------------------

    def show_reports(self, report: str | None = None, period: str | None = None) -> None:
        from integrationsplaner.ui.report_settings import report_options
        from integrationsplaner.ui.reports_dialog import show_reports_dialog

        show_reports_dialog(self, self.ws, period=period, report=report,
                            options=report_options(self.settings))

    def report_settings(self) -> None:
        from integrationsplaner.ui.report_settings import ReportSettingsDialog

        authority = self.ws.reference.authority if self.ws else ""
        dialog = ReportSettingsDialog(self, self.settings, authority)
        dialog.exec()
        dialog.deleteLater()

    def export_bundle(self) -> None:
        from integrationsplaner.ui.exchange import export_bundle

        export_bundle(self, self.ws)

    def import_bundle(self, path: Path | None = None) -> None:
        if not self.maybe_leave_all():
            return
        from integrationsplaner.ui.exchange import import_bundle

        if import_bundle(self, self.ws, path):
            self.refresh_all()

    def show_conflicts(self) -> None:
        from integrationsplaner.ui.exchange import show_conflicts

        if show_conflicts(self, self.ws):
            self.refresh_all()

    def show_history(self) -> None:
        from integrationsplaner.ui.exchange import show_history

        if show_history(self, self.ws, self.maybe_leave_all):
            self.refresh_all()

    def manage_keys(self) -> None:
        from integrationsplaner.ui.exchange import manage_keys

        manage_keys(self, self.ws)

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if any(url.toLocalFile().lower().endswith(BUNDLE_SUFFIX)
               for url in event.mimeData().urls()):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event: QDropEvent) -> None:
        for url in event.mimeData().urls():
            path = url.toLocalFile()
            if path.lower().endswith(BUNDLE_SUFFIX):
                event.acceptProposedAction()
                self.import_bundle(Path(path))
                return
        event.ignore()

    # -- help ----------------------------------------------------------------------------------

    def about(self) -> None:
        msgbox.info(self, "Über Integrationsplaner",
                    f"Integrationsplaner {__version__}\n\nMaßnahmen, Partner und Bewertungen des "
                    "regionalen Integrationskonzepts des Landkreises Kaiserslautern planen, "
                    "austauschen und auswerten.\n\nLizenz: EUPL-1.2")

    def shortcuts_help(self) -> None:
        msgbox.info(self, "Tastenkürzel", SHORTCUTS_TEXT)

    def open_log_folder(self) -> None:
        from integrationsplaner.ui.crash import log_path

        path = log_path()
        if path is None:
            msgbox.info(self, "Protokoll", "Es wird keine Protokolldatei geschrieben.")
            return
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(path.parent)))

    # -- closing -------------------------------------------------------------------------------

    def save_settings(self) -> None:
        self.settings.window_geometry = self.saveGeometry()
        self.settings.window_state = self.saveState()
        self.settings.last_tab = self.tab_widget.currentIndex()
        for tab in self.tabs_by_index.values():
            if isinstance(tab, ListEditorTab):
                tab.save_state(self.settings)
        self.settings.sync()

    def closeEvent(self, event: QCloseEvent) -> None:
        if not self.maybe_leave_all():
            event.ignore()
            return
        self.save_settings()
        from integrationsplaner.ui.tasks import wait_all

        wait_all()
        event.accept()

    def close_workspace(self) -> None:
        """Close the database (the window is going away)."""
        if self.ws is not None:
            self.ws.close()
            self.ws = None


SHORTCUTS_TEXT = """Strg+1 … Strg+4: Übersicht, Maßnahmen, Partner, Bewertungen
Strg+F: Suchfeld der Liste
Strg+N: neue Maßnahme / neuer Partner
Strg+S: speichern
Strg+Umschalt+Z: Änderungen verwerfen
Strg+Z / Strg+Y: rückgängig / wiederholen (im aktuellen Datensatz)
Strg+Entf: in den Papierkorb
F5: alle Listen neu einlesen
Alt + unterstrichener Buchstabe: Feld oder Schaltfläche direkt anspringen
Tab / Umschalt+Tab: nächstes / voriges Feld; Pfeiltasten: in Listen und Tabellen
F2: Tabellenzelle bearbeiten; Leertaste: Haken setzen oder entfernen"""


