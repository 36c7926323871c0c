"""Berichte → Berichtseinstellungen: logo, issuing authority and author for every report."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QImage

from integrationsplaner.ui.report_settings import ReportSettingsDialog, report_options


def _png(path: Path) -> Path:
    image = QImage(80, 40, QImage.Format.Format_RGB32)
    image.fill(QColor("#1f3a5f"))
    assert image.save(str(path), "PNG")
    return path


@pytest.mark.qt_log_ignore("does not support propagateSizeHints")  # offscreen platform
def test_logo_authority_and_author_are_kept_for_the_reports(qtbot, settings, tmp_path):
    dialog = ReportSettingsDialog(None, settings, "Kreisverwaltung Kaiserslautern")
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    assert report_options(settings).logo_path is None  # nothing set: the reference data
    broken = tmp_path / "logo.png"
    broken.write_bytes(b"<kein Bild & nichts>")
    assert not dialog.set_logo(str(broken))
    assert dialog.problem.isVisibleTo(dialog) and "kein lesbares PNG" in dialog.problem.text()
    assert dialog.logo.text() == ""
    word = tmp_path / "bericht.docx"
    word.write_bytes(b"PK\x03\x04 not an image")
    assert not dialog.set_logo(str(word))
    assert not dialog.set_logo(str(tmp_path / "fehlt.png"))
    assert "gibt es nicht" in dialog.problem.text()
    logo = _png(tmp_path / "wappen.png")
    assert dialog.set_logo(str(logo))
    assert not dialog.problem.isVisibleTo(dialog) and dialog.remove.isEnabled()
    qtbot.keyClicks(dialog.authority, "Kreisverwaltung <Kaiserslautern> & Co")
    dialog.author.insert("Integrationsbüro")  # QTest types ASCII only
    qtbot.keyClick(dialog.author, Qt.Key.Key_Return)  # Speichern is the default button
    assert dialog.result() == dialog.DialogCode.Accepted
    options = report_options(settings)
    assert options.logo_path == logo
    assert options.authority == "Kreisverwaltung <Kaiserslautern> & Co"
    assert options.author == "Integrationsbüro"


def test_cancel_keeps_the_settings_and_remove_clears_the_logo(qtbot, settings, tmp_path):
    logo = _png(tmp_path / "wappen.png")
    settings.report_logo = str(logo)
    dialog = ReportSettingsDialog(None, settings, "Kreisverwaltung")
    qtbot.addWidget(dialog)
    qtbot.mouseClick(dialog.remove, Qt.MouseButton.LeftButton)
    assert dialog.logo.text() == "" and not dialog.remove.isEnabled()
    dialog.reject()
    assert report_options(settings).logo_path == logo
    dialog = ReportSettingsDialog(None, settings, "Kreisverwaltung")
    qtbot.addWidget(dialog)
    qtbot.mouseClick(dialog.remove, Qt.MouseButton.LeftButton)
    dialog.accept()
    assert report_options(settings).logo_path is None


def test_reports_dialog_gets_the_settings(make_window, ws, settings, tmp_path, monkeypatch):
    from integrationsplaner.ui import reports_dialog

    settings.report_logo = str(_png(tmp_path / "wappen.png"))
    settings.report_authority = "Landkreis KL"
    seen = []
    monkeypatch.setattr(reports_dialog, "show_reports_dialog",
                        lambda *a, **k: seen.append(k["options"]))
    window = make_window(ws)
    window.show_reports("partners")
    assert seen[0].logo_path == Path(settings.report_logo)
    assert seen[0].authority == "Landkreis KL" and seen[0].author is None
