"""Start of the desktop program: ``run(db_path)`` opens the database and shows the main window.

Heavy modules (reports, exchange, charts) load only when used, so the window shows quickly. The
database layer (SQLAlchemy and the ORM mappings, about 0.6 s) loads after the window shows the
first rows of its list: an up-to-date database file opens through the plain sqlite3 driver
(every file check, the lock, the schema version), and the list reads its rows the same way.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from integrationsplaner.services.workspace import Workspace
    from integrationsplaner.ui.main_window import MainWindow

log = logging.getLogger(__name__)


def _application():
    from PySide6.QtCore import QLocale, Qt
    from PySide6.QtGui import QGuiApplication
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance()
    if app is None:
        QGuiApplication.setHighDpiScaleFactorRoundingPolicy(
            Qt.HighDpiScaleFactorRoundingPolicy.PassThrough)
        app = QApplication(sys.argv[:1])
        app.setApplicationName("Integrationsplaner")
        app.setOrganizationName("Integrationsplaner")
        app.setApplicationDisplayName("Integrationsplaner")
    QLocale.setDefault(QLocale(QLocale.Language.German, QLocale.Country.Germany))
    return app


def _translate_qt(app) -> None:
    """German texts for Qt's own dialogs (file dialog, standard buttons) where available."""
    from PySide6.QtCore import QLibraryInfo, QTranslator

    translator = QTranslator(app)
    if translator.load("qtbase_de", QLibraryInfo.path(QLibraryInfo.LibraryPath.TranslationsPath)):
        app.installTranslator(translator)


def open_or_create(db_path: Path | None):
    """The workspace to show: the given file, the default file, or a new one (first start).
    Returns None when the user cancels or the file cannot be used (after saying why)."""
    from integrationsplaner import paths
    from integrationsplaner.errors import UserError
    from integrationsplaner.services.workspace import open_workspace
    from integrationsplaner.ui import msgbox

    path = db_path or paths.default_db_path()
    if db_path is None and not path.exists():
        from integrationsplaner.ui.first_start import NewDatabaseDialog

        dialog = NewDatabaseDialog(None, path=path, first_start=True)
        if not dialog.exec():
            return None
        return dialog.workspace
    try:
        return open_workspace(path)
    except UserError as exc:
        msgbox.error(None, "Datenbank kann nicht geöffnet werden", exc.message)
        return None


#: Set to 1 to leave right after the window is shown with its first rows (frozen-program smoke
#: test and start-up measurement, which time the whole process from outside).
EXIT_AFTER_SHOW = "INTEGRATIONSPLANER_EXIT_AFTER_SHOW"


def run(db_path: Path | None, bundle: Path | None = None) -> int:
    """Show the program window; returns the exit code.

    ``bundle`` (a double-clicked ``.ipbundle``) opens the import preview. Without ``--db``, or
    with a bundle, a window already running for this user gets the request instead.
    """
    from integrationsplaner.ui import crash, single_instance

    app = _application()
    crash.setup_logging()
    crash.install()
    if (db_path is None or bundle is not None) and single_instance.hand_over(bundle):
        log.info("An das laufende Programmfenster übergeben: %s", bundle or "(aktivieren)")
        return 0
    _translate_qt(app)
    from integrationsplaner.ui.main_window import MainWindow

    if db_path is None and not _default_exists():  # first start: ask before any window
        ws = open_or_create(None)
        if ws is None:
            return 1
        window = MainWindow(ws)
        window.show()
    else:
        # The window is on screen before the database file is even opened; the file and the
        # first rows follow a moment later.
        window = MainWindow(None)
        window.show()
        app.processEvents()
        _report_timing("window")
        ws = open_or_create(db_path)
        if ws is None:
            window.close()
            return 1
        if not _show_workspace(window, ws):
            return 1
    server = single_instance.InstanceServer(window)
    server.activate.connect(lambda: _bring_to_front(window))
    server.open_bundle.connect(window.import_bundle)
    log.info("Programm gestartet mit %s", ws.path)
    if os.environ.get(EXIT_AFTER_SHOW) == "1":
        from integrationsplaner.ui.tasks import wait_all

        wait_all()
        window.close_workspace()
        return 0
    if bundle is not None:
        from PySide6.QtCore import QTimer

        QTimer.singleShot(0, lambda: window.import_bundle(bundle))
    try:
        return app.exec()
    finally:
        server.close()
        window.close_workspace()


def _show_workspace(window: MainWindow, ws: Workspace) -> bool:
    """Show the opened database in the window and paint its first rows; then load the database
    layer in the background (the list stays usable meanwhile; opening a record waits for it).
    False (after saying why) when the file fails on the first reads, e.g. when it is damaged
    inside although its header and schema version are fine."""
    from PySide6.QtCore import QEventLoop
    from PySide6.QtWidgets import QApplication

    from integrationsplaner.errors import UserError
    from integrationsplaner.ui import msgbox
    from integrationsplaner.ui.tasks import run_task

    try:
        window.set_workspace(ws, defer_editor=True)
    except UserError as exc:
        msgbox.error(window, "Datenbank kann nicht geöffnet werden", exc.message)
        window.close()
        window.close_workspace()
        return False
    QApplication.processEvents(QEventLoop.ProcessEventsFlag.ExcludeUserInputEvents)
    _report_timing("rows")
    run_task(window, lambda: _load_database_layer(ws), lambda _none: None, key="database-layer")
    window.finish_start()
    return True


def _load_database_layer(ws: Workspace) -> None:
    from integrationsplaner.services.workspace import load_database_layer

    load_database_layer(ws)
    _report_timing("ready")


def _default_exists() -> bool:
    from integrationsplaner import paths

    return paths.default_db_path().exists()


def _report_timing(stage: str) -> None:
    """For the start-up benchmark: seconds since ``INTEGRATIONSPLANER_LAUNCHED_AT`` at each
    stage: ``window`` shown, first ``rows`` of the list painted, database layer ``ready``."""
    launched = os.environ.get("INTEGRATIONSPLANER_LAUNCHED_AT")
    if launched and os.environ.get(EXIT_AFTER_SHOW) == "1":
        print(f"{stage}={time.time() - float(launched):.3f}", flush=True)


def _bring_to_front(window) -> None:
    from PySide6.QtCore import Qt

    window.setWindowState(window.windowState() & ~Qt.WindowState.WindowMinimized)
    window.show()
    window.raise_()
    window.activateWindow()

