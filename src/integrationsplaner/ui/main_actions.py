"""The actions, menus and toolbar of the main window.

:func:`build_actions_and_menus` creates them once, when the window is built. Every action is
kept on the window as an ``act_*`` attribute (the window enables and disables them, tests
trigger them), as are ``recent_menu``, ``view_menu`` and ``toolbar``. The slots the actions
trigger stay methods of :class:`~integrationsplaner.ui.main_window.MainWindow`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QToolBar

if TYPE_CHECKING:  # main_window imports this module
    from integrationsplaner.ui.main_window import MainWindow


def build_actions_and_menus(window: MainWindow, tab_titles: Sequence[str]) -> None:
    """Create the actions, then the menu bar, then the toolbar of ``window``.

    ``tab_titles``: the titles of the window's tabs, one "go to tab" action each.
    """
    _build_actions(window, tab_titles)
    _build_menus(window)
    _build_toolbar(window)


def _action(window: MainWindow, text: str, slot: Callable[[], object],
            shortcut: QKeySequence | str | None = None, tip: str = "",
            shortcuts: list | None = None) -> QAction:
    action = QAction(text, window)
    if shortcuts:
        action.setShortcuts(shortcuts)
    elif shortcut is not None:
        action.setShortcut(QKeySequence(shortcut))
    if tip:
        action.setStatusTip(tip)
        action.setToolTip(tip)
    action.triggered.connect(lambda _checked=False: slot())
    window.addAction(action)
    return action


def _undo_action(w: MainWindow, label: str, *, redo: bool) -> QAction:
    """The undo or redo action of the active editor's stack, titled "label: what" (the undo
    group's own titles keep a bare "prefix:" when there is nothing to undo and drop the
    accelerator key)."""
    group = w.undo_group
    action = (group.createRedoAction if redo else group.createUndoAction)(w, label)
    changed = group.redoTextChanged if redo else group.undoTextChanged

    def retitle(text: str) -> None:
        action.setText(f"{label}: {text.replace('&', '&&')}" if text else label)

    changed.connect(retitle)  # after the group's own update: this title wins
    retitle("")
    return action


def _build_actions(w: MainWindow, tab_titles: Sequence[str]) -> None:
    SK = QKeySequence.StandardKey
    w.act_new_db = _action(w, "&Neue Datenbank …", w.new_database,
                           tip="Eine neue, leere Datenbank für eine Dienststelle anlegen")
    w.act_open_db = _action(w, "Datenbank ö&ffnen …", w.open_database_dialog, SK.Open,
                            tip="Eine andere Datenbankdatei öffnen")
    w.act_quit = _action(w, "&Beenden", w.close, "Ctrl+Q",
                         tip="Programm beenden")
    w.act_new = _action(w, "&Neu", w.new_record, SK.New,
                        tip="Neue Maßnahme bzw. neuen Partner anlegen")
    w.act_save = _action(w, "&Speichern", w.save, SK.Save,
                         tip="Änderungen am aktuellen Datensatz speichern")
    w.act_discard = _action(w, "&Verwerfen", w.discard, "Ctrl+Shift+Z",
                            tip="Ungespeicherte Änderungen verwerfen")
    w.act_undo = _undo_action(w, "&Rückgängig", redo=False)
    w.act_undo.setShortcuts(QKeySequence.keyBindings(SK.Undo))
    w.act_redo = _undo_action(w, "Wieder&holen", redo=True)
    # Ctrl+Y everywhere, and the platform's own redo keys unless a command of ours has them
    # (KDE and GNOME redo with Ctrl+Shift+Z, which is "Verwerfen" here: a shortcut on two
    # actions would trigger neither)
    taken = {w.act_discard.shortcut().toString(), "Ctrl+Y"}
    w.act_redo.setShortcuts([QKeySequence("Ctrl+Y")] + [
        k for k in QKeySequence.keyBindings(SK.Redo) if k.toString() not in taken])
    w.addAction(w.act_undo)
    w.addAction(w.act_redo)
    w.act_delete = _action(w, "In den &Papierkorb …", w.delete, "Ctrl+Del",
                           tip="Aktuellen Datensatz nach Rückfrage löschen")
    w.act_restore = _action(w, "&Wiederherstellen", w.restore,
                            tip="Datensatz aus dem Papierkorb zurückholen")
    w.act_find = _action(w, "&Suchen", w.focus_search, SK.Find,
                         tip="Zum Suchfeld der Liste springen")
    w.act_tabs = []
    for n, title in enumerate(tab_titles):
        w.act_tabs.append(_action(w, f"&{n + 1} {title}",
                                  lambda n=n: w.tab_widget.setCurrentIndex(n),
                                  f"Ctrl+{n + 1}", tip=f"Zum Bereich {title}"))
    w.act_trash = _action(w, "&Papierkorb anzeigen", w.toggle_trash,
                          tip="Gelöschte Maßnahmen anzeigen")
    w.act_trash.setCheckable(True)
    w.act_refresh = _action(w, "&Aktualisieren", w.refresh_all, SK.Refresh,
                            tip="Alle Listen neu einlesen")
    w.act_reports = [
        _action(w, "&Bewertungsbögen …", lambda: w.show_reports("sheets")),
        _action(w, "&Halbjahresbericht …", lambda: w.show_reports("review")),
        _action(w, "&Maßnahmenkatalog …", lambda: w.show_reports("catalogue")),
        _action(w, "&Partnerverzeichnis …", lambda: w.show_reports("partners")),
    ]
    w.act_report_settings = _action(
        w, "Berichts&einstellungen …", w.report_settings,
        tip="Logo, Herausgeber und Bearbeitung der Berichte festlegen")
    w.act_export = _action(w, "Bündel &exportieren …", w.export_bundle,
                           tip="Ihre Daten als Austausch-Bündel speichern")
    w.act_import = _action(w, "Bündel &importieren …", w.import_bundle,
                           tip="Ein Austausch-Bündel einer anderen Dienststelle übernehmen")
    w.act_conflicts = _action(w, "&Konflikte …", w.show_conflicts)
    w.act_exchange_history = _action(w, "&Austauschverlauf …", w.show_history)
    w.act_keys = _action(w, "&Schlüssel verwalten …", w.manage_keys)
    w.act_about = _action(w, "Ü&ber Integrationsplaner", w.about)
    w.act_keys_help = _action(w, "&Tastenkürzel", w.shortcuts_help, SK.HelpContents)
    w.act_log = _action(w, "&Protokollordner öffnen", w.open_log_folder)


def _build_menus(w: MainWindow) -> None:
    bar = w.menuBar()
    file_menu = bar.addMenu("&Datei")
    file_menu.addAction(w.act_new_db)
    file_menu.addAction(w.act_open_db)
    w.recent_menu = file_menu.addMenu("&Zuletzt geöffnet")
    w.recent_menu.aboutToShow.connect(lambda: _fill_recent(w))
    file_menu.addSeparator()
    file_menu.addAction(w.act_quit)
    edit = bar.addMenu("&Bearbeiten")
    for action in (w.act_new, w.act_save, w.act_discard, None, w.act_undo,
                   w.act_redo, None, w.act_delete, w.act_restore, None,
                   w.act_find):
        edit.addSeparator() if action is None else edit.addAction(action)
    view = bar.addMenu("&Ansicht")
    for action in w.act_tabs:
        view.addAction(action)
    view.addSeparator()
    view.addAction(w.act_trash)
    view.addAction(w.act_refresh)
    w.view_menu = view
    reports = bar.addMenu("Be&richte")
    for action in w.act_reports:
        reports.addAction(action)
    reports.addSeparator()
    reports.addAction(w.act_report_settings)
    exchange = bar.addMenu("A&ustausch")
    for action in (w.act_export, w.act_import, None, w.act_conflicts,
                   w.act_exchange_history, None, w.act_keys):
        exchange.addSeparator() if action is None else exchange.addAction(action)
    help_menu = bar.addMenu("&Hilfe")
    help_menu.addAction(w.act_keys_help)
    help_menu.addAction(w.act_log)
    help_menu.addSeparator()
    help_menu.addAction(w.act_about)


def _build_toolbar(w: MainWindow) -> None:
    bar = QToolBar("Werkzeugleiste")
    bar.setObjectName("main_toolbar")
    bar.setMovable(False)
    bar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
    bar.setAccessibleName("Werkzeugleiste")
    for action in (w.act_new, w.act_save, w.act_discard, None, w.act_undo,
                   w.act_redo, None, w.act_delete, None, w.act_find,
                   w.act_refresh):
        bar.addSeparator() if action is None else bar.addAction(action)
    w.addToolBar(bar)
    w.toolbar = bar
    w.view_menu.addAction(bar.toggleViewAction())


def _fill_recent(w: MainWindow) -> None:
    """Fill "Zuletzt geöffnet" with the recent database files (each time it opens)."""
    w.recent_menu.clear()
    files = w.settings.recent_files
    if not files:
        action = w.recent_menu.addAction("(noch keine)")
        action.setEnabled(False)
        return
    for n, name in enumerate(files, 1):
        action = w.recent_menu.addAction(f"&{n} {name}")
        action.triggered.connect(lambda _c=False, p=name: w.open_database(Path(p)))
