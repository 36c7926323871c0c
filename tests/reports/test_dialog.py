"""The Berichte dialog: generate in the background, preview, save, print, cancel."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pypdf import PdfReader
from PySide6.QtCore import Qt
from PySide6.QtPdf import QPdfDocument
from PySide6.QtPrintSupport import QPrinter
from pytestqt.qtbot import QtBot

from integrationsplaner.reports.commands import ReportRequest, run_report
from integrationsplaner.services.workspace import Workspace, open_workspace
from integrationsplaner.ui import msgbox, tasks
from integrationsplaner.ui.reports_dialog import ReportsDialog, print_pdf

from .conftest import PERIOD, pdf_text


@pytest.fixture
def dialog(qtbot: QtBot, report_db: Path) -> Iterator[ReportsDialog]:
    ws = open_workspace(report_db, readonly=True)
    widget = ReportsDialog(None, ws, period=PERIOD, report="review")
    qtbot.addWidget(widget)
    yield widget
    widget.reject()
    tasks.wait_all()
    ws.close()


def _generate(qtbot: QtBot, dialog: ReportsDialog) -> None:
    dialog.start()
    qtbot.waitUntil(lambda: not dialog._running, timeout=30_000)


def test_controls_have_accessible_names(dialog: ReportsDialog) -> None:
    from PySide6.QtWidgets import (
        QAbstractButton,
        QComboBox,
        QListWidget,
        QProgressBar,
    )

    for kind in (QComboBox, QAbstractButton, QListWidget, QProgressBar):
        for widget in dialog.findChildren(kind):
            if widget.objectName().startswith("qt_"):
                continue
            assert widget.accessibleName() or widget.text(), widget


def test_preselection_and_options_per_kind(dialog: ReportsDialog) -> None:
    assert dialog.kind_key() == "review"
    assert dialog.period.currentData() == PERIOD
    assert dialog.selected_offices() == ("vg-landstuhl",)  # a VG prints its own by default
    dialog.kind.setCurrentIndex(dialog.kind.findData("partners"))
    assert not dialog.period.isEnabled()
    dialog.kind.setCurrentIndex(dialog.kind.findData("catalogue"))
    assert dialog.period.findData("2018-2020") >= 0
    dialog.kind.setCurrentIndex(dialog.kind.findData("sheets"))
    assert dialog.period.currentData() == PERIOD


def test_generate_preview_and_save(qtbot: QtBot, dialog: ReportsDialog, tmp_path: Path) -> None:
    assert not dialog.save_button.isEnabled()
    _generate(qtbot, dialog)
    assert dialog.document.status() == QPdfDocument.Status.Ready
    assert dialog.document.pageCount() > 3
    assert dialog.save_button.isEnabled() and dialog.print_button.isEnabled()
    target = tmp_path / "Halbjahresbericht.pdf"
    dialog.save_to(target)
    assert "Halbjahresbericht" in pdf_text(target)
    assert dialog.suggested_name() == f"Halbjahresbericht-{PERIOD}.pdf"


@pytest.mark.qt_log_ignore("does not support propagateSizeHints")  # offscreen platform
def test_rendered_dialog(qtbot: QtBot, dialog: ReportsDialog, tmp_path: Path) -> None:
    dialog.resize(1000, 700)
    dialog.show()
    _generate(qtbot, dialog)
    image = dialog.grab()
    assert image.width() >= 900
    assert image.save(str(tmp_path / "dialog.png"))


def test_cancel(qtbot: QtBot, dialog: ReportsDialog) -> None:
    dialog.kind.setCurrentIndex(dialog.kind.findData("sheets"))
    dialog._cancel.set()  # as if "Abbrechen" were pressed before the first sheet is done
    dialog.start()
    dialog._cancel.set()
    qtbot.waitUntil(lambda: not dialog._running, timeout=30_000)
    if dialog._pdf is None:
        assert "Abgebrochen" in dialog.status.text()


def test_error_is_shown_in_german(qtbot: QtBot, dialog: ReportsDialog) -> None:
    dialog.period.clear()
    dialog.period.addItem("kaputt", "2019-H9")
    with msgbox.silenced() as shown:
        _generate(qtbot, dialog)
    assert shown and "2019-H9" in shown[0].text
    assert not dialog.save_button.isEnabled()


def test_keyboard_checks_an_office(qtbot: QtBot, dialog: ReportsDialog) -> None:
    dialog.offices.setFocus()
    dialog.offices.setCurrentRow(0)
    qtbot.keyClick(dialog.offices, Qt.Key.Key_Space)
    assert "kreis-kl" in dialog.selected_offices()


def test_print_to_pdf_file(qtbot: QtBot, rws: Workspace, tmp_path: Path) -> None:
    source = tmp_path / "boegen.pdf"
    run_report(rws, ReportRequest("sheets", source, PERIOD))
    document = QPdfDocument()
    document.load(str(source))
    printer = QPrinter(QPrinter.PrinterMode.HighResolution)
    printer.setOutputFormat(QPrinter.OutputFormat.PdfFormat)
    printed = tmp_path / "gedruckt.pdf"
    printer.setOutputFileName(str(printed))
    printer.setResolution(100)
    assert print_pdf(document, printer, pages=range(0, 2)) == 2
    assert len(PdfReader(str(printed)).pages) == 2
    document.close()
