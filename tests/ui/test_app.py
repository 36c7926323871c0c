"""Start, databases, settings, partners, errors."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

from PySide6.QtCore import QByteArray

from integrationsplaner.services import measures as measure_service
from integrationsplaner.services import partners
from integrationsplaner.services.workspace import open_workspace
from integrationsplaner.ui import app, crash, tasks
from integrationsplaner.ui.main_window import TAB_MEASURES, TAB_OVERVIEW, TAB_PARTNERS, MainWindow
from integrationsplaner.ui.models import MeasureTableModel
from integrationsplaner.ui.settings import Settings


def test_broken_database_gets_a_german_message(qtbot, tmp_path, answers, shown):
    broken = tmp_path / "kaputt.sqlite"
    broken.write_bytes(b"Das ist keine Datenbank" * 10)
    assert app.open_or_create(broken) is None
    assert shown[-1].kind == "error"
    assert "keine Integrationsplaner-Datenbank" in shown[-1].text


def test_open_database_from_menu_keeps_window_on_error(make_window, ws, tmp_path, answers,
                                                      shown):
    window = make_window(ws)
    missing = tmp_path / "fehlt.sqlite"
    assert not window.open_database(missing)
    assert "gibt es nicht" in shown[-1].text
    assert window.ws is ws


def test_switch_database_and_recent_files(make_window, ws, kreis_ws, settings, answers):
    window = make_window(ws)
    path = kreis_ws.path
    kreis_ws.close()
    assert window.open_database(path)
    assert window.ws.office_key == "kreis-kl"
    assert "Kreisverwaltung" in window.status_office.text()
    assert settings.recent_files[0] == str(path.resolve())
    window.ws.close()


def test_settings_are_typed_and_remembered(tmp_path: Path):
    settings = Settings(tmp_path / "s.ini")
    assert settings.last_tab == 1 and settings.recent_files == []
    settings.last_tab = 3
    settings.measures_splitter = QByteArray(b"abc")
    for n in range(12):
        settings.add_recent(tmp_path / f"{n}.sqlite")
    settings.sync()
    again = Settings(tmp_path / "s.ini")
    assert again.last_tab == 3
    assert bytes(again.measures_splitter) == b"abc"
    assert len(again.recent_files) == 8 and again.recent_files[0].endswith("11.sqlite")


def test_window_remembers_tab_and_geometry(make_window, ws, settings, answers):
    window = make_window(ws, tab=TAB_PARTNERS)
    window.close()
    assert settings.last_tab == TAB_PARTNERS
    assert not settings.window_geometry.isEmpty()
    assert not settings.partners_splitter.isEmpty()


def test_measure_editor_is_there_when_its_tab_is_opened_later(make_window, ws, answers):
    """Started on the Übersicht: the Maßnahmen tab, opened later, shows its editor at once
    (only the program start leaves it for after the first rows)."""
    window = make_window(ws, tab=TAB_OVERVIEW)
    window.tab_widget.setCurrentIndex(TAB_MEASURES)
    tab = window.current_tab()
    assert tab.has_editor and tab.splitter.widget(1) is tab.editor
    assert tab.editor.isVisible()
    assert window.undo_group.activeStack() is tab.editor.undo_stack


def test_crash_dialog_names_the_log_file(tmp_path, answers, shown):
    log_file = crash.setup_logging(tmp_path / "log" / "integrationsplaner.log")
    try:
        raise RuntimeError("Testfehler")
    except RuntimeError as exc:
        crash.excepthook(type(exc), exc, exc.__traceback__)
    assert shown[-1].title == "Unerwarteter Fehler"
    assert str(log_file) in shown[-1].text
    assert "Testfehler" in log_file.read_text(encoding="utf-8")
    import logging

    for handler in list(logging.getLogger().handlers):
        if getattr(handler, "baseFilename", "") == str(log_file):
            logging.getLogger().removeHandler(handler)
            handler.close()


def test_partner_create_contacts_and_measures(make_window, demo_ws, qtbot, answers):
    window = make_window(demo_ws, tab=TAB_PARTNERS)
    tab = window.current_tab()
    window.act_new.trigger()
    editor = tab.editor
    qtbot.keyClicks(editor.name.edit, "Sprachtreff Kaiserslautern")
    qtbot.keyClicks(editor.postal_code.edit, "6765")
    qtbot.keyClicks(editor.email.edit, "kein-at")
    editor.sections.setCurrentIndex(1)
    editor.contacts.add_button.click()
    editor.contacts.table.item(0, 0).setText("Erika Muster")
    window.act_save.trigger()
    assert editor.record.id is None
    assert "fünf Ziffern" in editor.postal_code.error.text()
    assert "E-Mail" in editor.email.error.text()
    editor.postal_code.edit.setText("67655")
    editor.email.edit.setText("info@sprachtreff.de")
    editor.email._emit()
    window.act_save.trigger()
    assert editor.record.id is not None, editor.issues_banner.text()
    assert partners.get_partner(demo_ws, editor.record.id).contacts[0].name == "Erika Muster"
    assert tab.row_of(editor.record.id) >= 0
    # a partner with measures: double-click opens the measure
    tab.search.setText("")
    tab.reload()
    with_measures = next(r for r in tab.model.rows()
                         if partners.measures_of_partner(demo_ws, r.id))
    tab.view.selectRow(tab.row_of(with_measures.id))
    assert editor.measures.rowCount() > 0
    measure_id = editor.measures.row_at(0)[0].id
    editor.measure_view.doubleClicked.emit(editor.measures.index(0, 0))
    assert window.current_tab().editor.record.id == measure_id


# -- the start path: first rows through the plain sqlite3 driver, database layer afterwards ------


def _copy_demo(template: Path, tmp_path: Path) -> Path:
    target = tmp_path / "start.sqlite"
    shutil.copy(template, target)
    return target


def test_start_shows_first_rows_before_the_database_layer(qtbot, _demo_template, tmp_path,
                                                         settings, answers, monkeypatch):
    monkeypatch.setattr(MeasureTableModel, "SYNC_LIMIT", 10)  # the 100,000-measure path
    ws = open_workspace(_copy_demo(_demo_template, tmp_path))
    window = MainWindow(None, settings)
    qtbot.addWidget(window)
    window.show()
    at_rows: list[tuple[bool, str, bool, bool]] = []

    def report(stage: str) -> None:
        if stage == "rows":
            tab = window.current_tab()
            # the first page, or already the whole list when its background load was quicker
            at_rows.append((tab.model.rowCount() >= MeasureTableModel.PAGE,
                            tab.model.data(tab.model.index(0, 1)),
                            ws.db._engine is None, tab.has_editor))

    monkeypatch.setattr(app, "_report_timing", report)
    assert app._show_workspace(window, ws)
    first = measure_service.list_measures(ws, limit=MeasureTableModel.PAGE)
    # no SQLAlchemy engine and no measure editor yet when the first rows are painted
    assert at_rows == [(True, first[0].title, True, False)]
    tab = window.current_tab()
    # the editor follows at once, in its place beside the list, with undo bound to it
    assert tab.has_editor and tab.splitter.widget(1) is tab.editor
    assert window.undo_group.activeStack() is tab.editor.undo_stack
    tasks.wait_all()
    assert ws.db._engine is not None  # the database layer loaded in the background
    window.close()
    window.close_workspace()


def test_start_with_a_file_damaged_inside_says_so_in_german(qtbot, _demo_template, tmp_path,
                                                           settings, answers, shown):
    path = _copy_demo(_demo_template, tmp_path)
    con = sqlite3.connect(path)
    page_size = con.execute("PRAGMA page_size").fetchone()[0]
    root = con.execute("SELECT rootpage FROM sqlite_master WHERE name = 'measures'").fetchone()[0]
    con.close()
    with path.open("r+b") as handle:  # header, meta and schema version stay intact
        handle.seek((root - 1) * page_size)
        handle.write(b"\xff" * page_size)
    ws = open_workspace(path)
    window = MainWindow(None, settings)
    qtbot.addWidget(window)
    window.show()
    assert not app._show_workspace(window, ws)
    assert shown[-1].kind == "error" and "beschädigt" in shown[-1].text
    assert window.ws is None and not window.isVisible()


def test_opening_a_file_damaged_inside_keeps_the_open_database(qtbot, _demo_template, tmp_path,
                                                              settings, answers, shown):
    """Datei → Öffnen of a file whose pages are damaged (header and schema fine): a German
    message, and the database open before stays open and shown."""
    good = _copy_demo(_demo_template, tmp_path)
    broken = tmp_path / "kaputt.sqlite"
    shutil.copy(good, broken)
    con = sqlite3.connect(broken)
    page_size = con.execute("PRAGMA page_size").fetchone()[0]
    root = con.execute("SELECT rootpage FROM sqlite_master WHERE name = 'measures'").fetchone()[0]
    con.close()
    with broken.open("r+b") as handle:
        handle.seek((root - 1) * page_size)
        handle.write(b"\xff" * page_size)
    window = MainWindow(open_workspace(good), settings)
    qtbot.addWidget(window)
    window.show()
    assert not window.open_database(broken)
    assert shown[-1].kind == "error" and "beschädigt" in shown[-1].text
    assert window.ws is not None and window.ws.path == good
    tab = window.current_tab()
    assert tab.model.rowCount() > 0 and tab.model.data(tab.model.index(0, 1))
    assert "start.sqlite" in window.windowTitle()
    tasks.wait_all()
    window.close()
    window.close_workspace()


def test_real_start_paints_rows_before_importing_sqlalchemy(_demo_template, tmp_path):
    path = _copy_demo(_demo_template, tmp_path)
    code = ("import sys\nfrom pathlib import Path\nfrom integrationsplaner.ui import app\n"
            "stages = {}\n"
            "app._report_timing = lambda stage: stages.setdefault(stage, 'sqlalchemy' in "
            "sys.modules)\n"
            f"print(app.run(Path({str(path)!r})), sorted(stages.items()))\n")
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", app.EXIT_AFTER_SHOW: "1"}
    for variable in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME"):
        env[variable] = str(tmp_path / variable.lower())
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                            text=True, timeout=120)
    assert result.stdout.split("\n")[-2] == (
        "0 [('ready', True), ('rows', False), ('window', False)]"), result.stdout + result.stderr
