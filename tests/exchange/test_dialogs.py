"""The Austausch dialogs: preview groups, conflicts side by side, accessible names, worker."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QAbstractButton, QWidget

from integrationsplaner.exchange.conflicts import list_conflicts
from integrationsplaner.exchange.export import export_bundle
from integrationsplaner.exchange.importer import apply_import, prepare_import
from integrationsplaner.services import measures
from integrationsplaner.ui.exchange.common import run_with_progress
from integrationsplaner.ui.exchange.conflicts_dialog import ConflictsDialog
from integrationsplaner.ui.exchange.export_dialog import ExportDialog
from integrationsplaner.ui.exchange.history_dialog import HistoryDialog
from integrationsplaner.ui.exchange.import_dialog import ImportPreviewDialog
from integrationsplaner.ui.exchange.keys_dialog import KeysDialog

from .helpers import edit_measure, exchange, make_ws, new_measure, trust_all


def _all_named(widget: QWidget) -> None:
    skip = ("QScrollBar", "QHeaderView", "QTableCornerButton", "QSplitterHandle")
    for child in widget.findChildren(QWidget):
        interactive = isinstance(child, QAbstractButton) or child.focusPolicy() != 0
        if interactive and child.isVisibleTo(widget) and (
                child.metaObject().className() not in skip):
            assert child.accessibleName() or (
                isinstance(child, QAbstractButton) and child.text()), child


def test_preview_and_conflicts_dialogs(qtbot, tmp_path: Path) -> None:
    pc1 = make_ws(tmp_path / "a", "vg-landstuhl", "pc1")
    pc2 = make_ws(tmp_path / "b", "vg-landstuhl", "pc2")
    try:
        trust_all([pc1, pc2], tmp_path / "keys")
        mid = new_measure(pc1, "HF1-01", "Sprachcafé")
        exchange(pc1, pc2, tmp_path / "a.ipbundle")
        edit_measure(pc1, mid, title="Titel 1")
        edit_measure(pc2, mid, title="Titel 2")
        export_bundle(pc1, tmp_path / "b.ipbundle")
        # the check runs in a worker thread behind a progress dialog
        plan = run_with_progress(
            None, "Prüfen", "…", lambda progress: prepare_import(pc2, tmp_path / "b.ipbundle",
                                                                progress=progress))
        with plan:
            dialog = ImportPreviewDialog(None, pc2, plan)
            qtbot.addWidget(dialog)
            groups = [dialog.tree.topLevelItem(i).text(0)
                      for i in range(dialog.tree.topLevelItemCount())]
            assert groups == ["Konflikte (1)"]
            assert dialog.apply_button.isEnabled()
            _all_named(dialog)
            apply_import(pc2, plan)
        view = ConflictsDialog(None, pc2)
        qtbot.addWidget(view)
        _all_named(view)
        assert view.list.count() == 1
        assert {view.current.toPlainText(), view.other.toPlainText()} == {"Titel 1", "Titel 2"}
        view.merged.setPlainText("Titel gemeinsam")
        view.take_merged.click()
        assert view.changed and view.list.count() == 0
        assert measures.get_measure(pc2, mid).title == "Titel gemeinsam"
        assert list_conflicts(pc2) == []
        for cls in (ExportDialog, HistoryDialog, KeysDialog):
            other = cls(None, pc2)
            qtbot.addWidget(other)
            _all_named(other)
    finally:
        pc1.close()
        pc2.close()


def test_cancel_before_apply_changes_nothing(qtbot, tmp_path: Path) -> None:
    pc1 = make_ws(tmp_path / "a", "vg-landstuhl", "pc1")
    kreis = make_ws(tmp_path / "k", "kreis-kl")
    try:
        trust_all([pc1, kreis], tmp_path / "keys")
        for n in range(5):
            new_measure(pc1, f"HF1-{n:02d}", f"M {n}")
        export_bundle(pc1, tmp_path / "b.ipbundle")
        result = run_with_progress(
            None, "Prüfen", "…", lambda _p: prepare_import(
                kreis, tmp_path / "b.ipbundle", progress=lambda _d, _t: False))
        assert result is None
        assert measures.count_measures(kreis) == 0
    finally:
        pc1.close()
        kreis.close()


def test_history_takes_back_the_last_small_import(qtbot, tmp_path: Path) -> None:
    from integrationsplaner.ui import msgbox

    kreis = make_ws(tmp_path / "k", "kreis-kl")
    pc1 = make_ws(tmp_path / "l", "vg-landstuhl", "pc1")
    try:
        trust_all([kreis, pc1], tmp_path / "keys")
        mid = new_measure(pc1, "HF1-01", "Sprachcafé")
        exchange(pc1, kreis, tmp_path / "a.ipbundle")
        assert [m.id for m in measures.list_measures(kreis)] == [mid]
        dialog = HistoryDialog(None, kreis)
        qtbot.addWidget(dialog)
        assert dialog.take_back.isEnabled() and dialog.rollback_file is not None
        _all_named(dialog)
        with msgbox.silenced({"rollback": msgbox.CANCEL}):
            dialog.take_back.click()  # asked first: cancelled, nothing happens
        assert not dialog.changed and [m.id for m in measures.list_measures(kreis)] == [mid]
        with msgbox.silenced({"rollback": msgbox.YES}) as shown:
            dialog.take_back.click()
        assert dialog.changed and measures.list_measures(kreis) == []
        assert shown[-1].kind == "info" and "zurückgenommen" in shown[-1].text
        again = HistoryDialog(None, kreis)
        qtbot.addWidget(again)
        assert not again.take_back.isEnabled()  # the last step is now taken back
        assert again.table.item(0, 1).text() == "Import (zurückgenommen)"
        # imported again and then exported: the import can no longer be taken back
        exchange(pc1, kreis, tmp_path / "b.ipbundle")
        ready = HistoryDialog(None, kreis)
        qtbot.addWidget(ready)
        assert ready.take_back.isEnabled()
        export_bundle(kreis, tmp_path / "c.ipbundle", to="vg-landstuhl")
        later = HistoryDialog(None, kreis)
        qtbot.addWidget(later)
        assert not later.take_back.isEnabled()
    finally:
        kreis.close()
        pc1.close()


def test_the_other_side_of_a_delete_conflict_is_named() -> None:
    """A marker (None) is a change, a sibling false a restore (exchange/merge.py)."""
    from integrationsplaner.exchange.conflicts import ConflictInfo
    from integrationsplaner.ui.exchange.conflicts_dialog import _lived_on

    def info(*values: object) -> ConflictInfo:
        return ConflictInfo("measure", "m", "vg-landstuhl", "HF1-01", "deleted", "loeschen",
                            True, ("a", 2), [("b", n, v) for n, v in enumerate(values, 1)],
                            None)

    assert _lived_on(info(None)) == "geändert (nicht gelöscht)"
    assert _lived_on(info(False)) == "wiederhergestellt (nicht gelöscht)"
    assert _lived_on(info(False, None)) == "wiederhergestellt und geändert (nicht gelöscht)"


def test_the_window_imports_a_large_first_bundle_with_a_rollback_journal(
        qtbot, tmp_path: Path, monkeypatch) -> None:
    """Dropped onto the main window, previewed and taken over: behind the modal progress
    dialog the import has the database to itself and writes with a rollback journal (each page
    once); the log mode is back afterwards and the window shows the new measures."""
    import sqlite3

    from PySide6.QtWidgets import QDialog

    from integrationsplaner.exchange import importer
    from integrationsplaner.ui import msgbox, tasks
    from integrationsplaner.ui.exchange import import_dialog
    from integrationsplaner.ui.main_window import MainWindow
    from integrationsplaner.ui.settings import Settings

    from .helpers import trace_statements

    monkeypatch.setattr(importer, "BULK_MIN_RECORDS", 5)
    kreis = make_ws(tmp_path / "k", "kreis-kl")
    pc1 = make_ws(tmp_path / "l", "vg-landstuhl", "pc1")
    window = None
    try:
        trust_all([kreis, pc1], tmp_path / "keys")
        for n in range(12):
            new_measure(pc1, f"HF1-{n:02d}", f"Sprachcafé {n}")
        bundle = tmp_path / "erst.ipbundle"
        export_bundle(pc1, bundle)
        window = MainWindow(kreis, Settings(tmp_path / "einstellungen.ini"))
        qtbot.addWidget(window)
        window.show()
        qtbot.waitExposed(window)
        tasks.wait_all()
        monkeypatch.setattr(import_dialog.ImportPreviewDialog, "exec",
                            lambda _self: QDialog.DialogCode.Accepted)
        statements = trace_statements(monkeypatch)
        with msgbox.silenced() as shown:
            window.import_bundle(bundle)
        assert shown and "Übernommen" in shown[-1].text, shown
        assert "PRAGMA main.journal_mode=DELETE" in statements
        assert "PRAGMA synchronous=FULL" in statements  # only once the switch succeeded
        con = sqlite3.connect(kreis.db.path)
        try:
            assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
            assert con.execute("SELECT count(*) FROM measures").fetchone()[0] == 12
        finally:
            con.close()
        assert not kreis.db.path.with_name(kreis.db.path.name + "-journal").exists()
        tasks.wait_all()
        assert measures.count_measures(kreis) == 12
    finally:
        if window is not None:
            window.close()
        tasks.wait_all()
        kreis.close()
        pc1.close()
