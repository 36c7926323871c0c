"""The Berichte dialog: choose a report, generate it off the UI thread, preview, print, save.

The PDF is written by :mod:`integrationsplaner.reports` into a temporary folder of the dialog;
the preview shows that very file (QtPdf), printing renders its pages onto the printer, and
"Als PDF speichern" copies it. So preview, print and file are always the same document.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import threading
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, QPointF, QRectF, QSize, Qt, QTemporaryDir, Signal, Slot
from PySide6.QtGui import QCloseEvent, QImage, QKeySequence, QPainter, QShortcut
from PySide6.QtPdf import QPdfDocument
from PySide6.QtPdfWidgets import QPdfView
from PySide6.QtPrintSupport import QPrintDialog, QPrinter
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QDialog,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QProgressBar,
    QPushButton,
    QRadioButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from integrationsplaner.errors import UserError
from integrationsplaner.reports.commands import KINDS, ReportRequest, run_report
from integrationsplaner.reports.layout import ReportCancelled, ReportOptions
from integrationsplaner.services import periods as period_service
from integrationsplaner.services.workspace import Workspace
from integrationsplaner.ui import msgbox
from integrationsplaner.ui.labels import plain_label
from integrationsplaner.ui.tasks import run_task

#: Printing renders pages as images; 300 dpi is sharp on paper and keeps memory moderate.
PRINT_DPI = 300
DESCRIPTIONS = {
    "sheets": "Ein Bogen je Maßnahme, die im Zeitraum läuft – leer zum Ausfüllen in der "
              "Sitzung oder mit den erfassten Bewertungen.",
    "review": "Bericht an Steuerungsgruppe, Integrationsbeirat und Kreistag: Zusammenfassung "
              "mit Grafiken, alle Maßnahmen je Handlungsfeld, fehlende Bewertungen, Partner.",
    "catalogue": "Alle Maßnahmen eines Konzeptzeitraums mit Beschreibung, Zielen, Kennzahlen, "
                 "Kostenrahmen, Zeitplan und Partnern.",
    "partners": "Alle Partner mit Anschrift und Erreichbarkeit, wahlweise mit "
                "Ansprechpersonen.",
}


class _Progress(QObject):
    """Carries progress from the worker thread to the UI thread (queued signal)."""

    changed = Signal(int, int)


def print_pdf(document: QPdfDocument, printer: QPrinter, *,
              pages: range | None = None,
              progress: Callable[[int, int], bool] | None = None) -> int:
    """Print ``pages`` (0-based; default all) of ``document`` on ``printer``, each rendered as an
    image at up to :data:`PRINT_DPI` and scaled into the printable area, keeping its aspect.
    Returns the number of pages printed; ``progress`` returning False stops after a page."""
    count = document.pageCount()
    pages = pages if pages is not None else range(count)
    pages = range(max(pages.start, 0), min(pages.stop, count))
    if not len(pages):
        return 0
    painter = QPainter()
    if not painter.begin(printer):
        raise UserError("Der Drucker kann nicht angesprochen werden. Prüfen Sie, ob er "
                        "eingeschaltet und verbunden ist, oder speichern Sie den Bericht als "
                        "PDF.")
    printed = 0
    try:
        dpi = min(printer.resolution(), PRINT_DPI)
        for n, index in enumerate(pages):
            if n:
                printer.newPage()
            points = document.pagePointSize(index)
            size = QSize(round(points.width() * dpi / 72), round(points.height() * dpi / 72))
            image: QImage = document.render(index, size)
            area = QRectF(painter.viewport())
            scale = min(area.width() / size.width(), area.height() / size.height())
            target = QRectF(QPointF(0, 0), QSize(round(size.width() * scale),
                                                  round(size.height() * scale)).toSizeF())
            target.moveCenter(area.center())
            painter.drawImage(target, image)
            printed += 1
            if progress is not None and not progress(printed, len(pages)):
                break
    finally:
        painter.end()
    return printed


class ReportsDialog(QDialog):
    """Choose, generate, preview, print and save a report."""

    def __init__(self, parent: QWidget | None, ws: Workspace, *, period: str | None = None,
                 report: str | None = None, options: ReportOptions | None = None) -> None:
        super().__init__(parent)
        self.ws = ws
        self.options = options or ReportOptions()
        self.setWindowTitle("Berichte – Integrationsplaner")
        self.setAccessibleName("Berichte erstellen, ansehen, drucken und speichern")
        self.resize(1100, 760)
        self._temp = QTemporaryDir()
        self._pdf: Path | None = None
        self._generation = 0
        self._cancel = threading.Event()
        self._running = False
        self._bridge = _Progress(self)
        self._bridge.changed.connect(self._on_progress)
        self.document = QPdfDocument(self)
        self._build(period, report)
        self._kind_changed()

    # -- layout ------------------------------------------------------------------------------

    def _build(self, period: str | None, report: str | None) -> None:
        ref = self.ws.reference
        form_box = QWidget()
        form_box.setMinimumWidth(370)
        form = QFormLayout()

        self.kind = QComboBox()
        for key, label in KINDS.items():
            self.kind.addItem(label, key)
        self.kind.setAccessibleName("Berichtsart")
        if report in KINDS:
            self.kind.setCurrentIndex(list(KINDS).index(report))
        self.kind.currentIndexChanged.connect(self._kind_changed)
        kind_label = QLabel("&Bericht:")
        kind_label.setBuddy(self.kind)
        form.addRow(kind_label, self.kind)

        self.description = QLabel()
        self.description.setWordWrap(True)
        self.description.setAccessibleName("Beschreibung des Berichts")
        form.addRow(self.description)

        self.period = QComboBox()
        self.period.setAccessibleName("Zeitraum")
        self._half_years = [(p.key, p.label + (" (abgeschlossen)" if p.closed else ""))
                            for p in period_service.list_periods(self.ws)]
        self._concepts = [(c.key, c.title) for c in ref.concept_periods]
        self._wanted_period = period
        self.period_label = QLabel("&Zeitraum:")
        self.period_label.setBuddy(self.period)
        form.addRow(self.period_label, self.period)

        self.offices = QListWidget()
        self.offices.setAccessibleName("Dienststellen (keine Auswahl: alle)")
        self.offices.setMaximumHeight(170)
        own = self.ws.office_key
        own_kind = next((o.kind for o in ref.offices if o.key == own), "")
        for office in ref.offices:
            item = QListWidgetItem(office.name)
            item.setData(Qt.ItemDataRole.UserRole, office.key)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            checked = own_kind != "kreis" and office.key == own
            item.setCheckState(Qt.CheckState.Checked if checked else Qt.CheckState.Unchecked)
            self.offices.addItem(item)
        offices_label = QLabel("&Dienststellen:")
        offices_label.setBuddy(self.offices)
        form.addRow(offices_label, self.offices)
        hint = QLabel("Ohne Haken: alle Dienststellen (ganzer Landkreis). Leertaste setzt "
                      "oder entfernt den Haken.")
        hint.setWordWrap(True)
        form.addRow(hint)

        self.mode_box = QGroupBox("Bewertungsbögen")
        self.mode_box.setAccessibleName("Art der Bewertungsbögen")
        mode_layout = QVBoxLayout(self.mode_box)
        self.filled = QRadioButton("&ausgefüllt mit den erfassten Bewertungen")
        self.filled.setAccessibleName("Bögen ausgefüllt")
        self.blank = QRadioButton("&leer zum Ausfüllen von Hand")
        self.blank.setAccessibleName("Bögen leer")
        self.filled.setChecked(True)
        group = QButtonGroup(self.mode_box)
        group.addButton(self.filled)
        group.addButton(self.blank)
        mode_layout.addWidget(self.filled)
        mode_layout.addWidget(self.blank)
        form.addRow(self.mode_box)

        self.contacts = QCheckBox("Ansprechpersonen aufnehmen (&personenbezogene Daten)")
        self.contacts.setAccessibleName("Ansprechpersonen aufnehmen")
        self.contacts.setToolTip("Für eine Veröffentlichung den Haken entfernen.")
        self.contacts.setChecked(True)
        form.addRow(self.contacts)

        self.generate = QPushButton("&Vorschau erstellen")
        self.generate.setAccessibleName("Vorschau erstellen")
        self.generate.setDefault(True)
        self.generate.clicked.connect(self.start)
        self.cancel = QPushButton("Abbre&chen")
        self.cancel.setAccessibleName("Erstellung abbrechen")
        self.cancel.setEnabled(False)
        self.cancel.clicked.connect(self._cancel_clicked)
        buttons = QHBoxLayout()
        buttons.addWidget(self.generate)
        buttons.addWidget(self.cancel)

        self.progress = QProgressBar()
        self.progress.setAccessibleName("Fortschritt")
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.status = plain_label("Wählen Sie einen Bericht und erstellen Sie die Vorschau.")
        self.status.setWordWrap(True)
        self.status.setAccessibleName("Status")

        left = QVBoxLayout(form_box)
        left.addLayout(form)
        left.addLayout(buttons)
        left.addWidget(self.progress)
        left.addWidget(self.status)
        left.addStretch(1)

        self.view = QPdfView()
        self.view.setAccessibleName("Vorschau des Berichts")
        self.view.setDocument(self.document)
        self.view.setPageMode(QPdfView.PageMode.MultiPage)
        self.view.setZoomMode(QPdfView.ZoomMode.FitToWidth)
        self.view.setFocusPolicy(Qt.FocusPolicy.StrongFocus)

        splitter = QSplitter()
        splitter.addWidget(form_box)
        splitter.addWidget(self.view)
        splitter.setStretchFactor(1, 1)

        self.print_button = QPushButton("&Drucken …")
        self.print_button.setAccessibleName("Drucken")
        self.print_button.clicked.connect(self.print_report)
        self.save_button = QPushButton("Als PDF &speichern …")
        self.save_button.setAccessibleName("Als PDF speichern")
        self.save_button.clicked.connect(self.save_report)
        self.zoom = QComboBox()
        self.zoom.setAccessibleName("Zoom der Vorschau")
        for label, mode in (("Seitenbreite", QPdfView.ZoomMode.FitToWidth),
                            ("Ganze Seite", QPdfView.ZoomMode.FitInView),
                            ("100 %", QPdfView.ZoomMode.Custom)):
            self.zoom.addItem(label, mode)
        self.zoom.currentIndexChanged.connect(self._zoom_changed)
        zoom_label = QLabel("&Zoom:")
        zoom_label.setBuddy(self.zoom)
        close = QPushButton("Schließen")
        close.setAccessibleName("Dialog schließen")
        close.clicked.connect(self.reject)
        bottom = QHBoxLayout()
        bottom.addWidget(zoom_label)
        bottom.addWidget(self.zoom)
        bottom.addStretch(1)
        bottom.addWidget(self.print_button)
        bottom.addWidget(self.save_button)
        bottom.addWidget(close)

        layout = QVBoxLayout(self)
        layout.addWidget(splitter, 1)
        layout.addLayout(bottom)
        QShortcut(QKeySequence.StandardKey.Print, self, self.print_report)
        QShortcut(QKeySequence.StandardKey.Save, self, self.save_report)
        self._set_ready(False)

    # -- state ---------------------------------------------------------------------------------

    def kind_key(self) -> str:
        return str(self.kind.currentData())

    def _kind_changed(self, *_args: object) -> None:
        kind = self.kind_key()
        self.description.setText(DESCRIPTIONS[kind])
        previous = self.period.currentData() or self._wanted_period
        self.period.blockSignals(True)
        self.period.clear()
        if kind in ("sheets", "review"):
            for key, label in self._half_years:
                self.period.addItem(label, key)
        elif kind == "catalogue":
            self.period.addItem("alle Konzeptzeiträume", None)
            for key, label in self._concepts:
                self.period.addItem(label, key)
        index = self.period.findData(previous)
        if index < 0 and kind in ("sheets", "review"):
            index = self.period.findData(period_service.current_period().key)
        self.period.setCurrentIndex(max(index, 0))
        self.period.blockSignals(False)
        self.period.setEnabled(kind != "partners")
        self.period_label.setEnabled(kind != "partners")
        self.mode_box.setVisible(kind == "sheets")
        self.contacts.setVisible(kind in ("review", "partners"))

    def selected_offices(self) -> tuple[str, ...]:
        keys = []
        for row in range(self.offices.count()):
            item = self.offices.item(row)
            if item.checkState() == Qt.CheckState.Checked:
                keys.append(str(item.data(Qt.ItemDataRole.UserRole)))
        return tuple(keys)

    def request(self, out: Path) -> ReportRequest:
        period = self.period.currentData() if self.period.isEnabled() else None
        return ReportRequest(kind=self.kind_key(), out=out, period=period,
                             offices=self.selected_offices(), blank=self.blank.isChecked(),
                             contacts=self.contacts.isChecked())

    def _set_ready(self, ready: bool) -> None:
        self.print_button.setEnabled(ready)
        self.save_button.setEnabled(ready)

    def _set_running(self, running: bool) -> None:
        self._running = running
        self.generate.setEnabled(not running)
        self.cancel.setEnabled(running)
        for widget in (self.kind, self.period, self.offices, self.mode_box, self.contacts):
            widget.setEnabled(not running and (widget is not self.period
                                               or self.kind_key() != "partners"))

    # -- generating ----------------------------------------------------------------------------

    def start(self) -> None:
        """Generate the chosen report in the background; the preview shows it when done."""
        if self._running:
            return
        self._generation += 1
        out = Path(self._temp.path()) / f"bericht-{self._generation}.pdf"
        request = self.request(out)
        self._cancel.clear()
        self._set_running(True)
        self._set_ready(False)
        self.progress.setRange(0, 0)
        self.status.setText(f"{KINDS[request.kind]} wird erstellt …")
        ws, options, cancel, bridge = self.ws, self.options, self._cancel, self._bridge

        def progress(done: int, total: int) -> bool:
            bridge.changed.emit(done, total)
            return not cancel.is_set()

        def work() -> int:
            return run_report(ws, request, options=options, progress=progress)

        run_task(self, work, lambda pages: self._done(out, pages), self._failed, key="report")

    @Slot(int, int)
    def _on_progress(self, done: int, total: int) -> None:
        if not self._running:
            return
        self.progress.setRange(0, max(total, 1))
        self.progress.setValue(min(done, max(total, 1)))

    def _cancel_clicked(self) -> None:
        self._cancel.set()
        self.status.setText("Wird abgebrochen …")

    def _done(self, out: Path, pages: int) -> None:
        self._set_running(False)
        self.progress.setRange(0, 1)
        self.progress.setValue(1)
        self.document.close()
        previous, self._pdf = self._pdf, out
        if previous is not None and previous != out:
            with contextlib.suppress(OSError):
                previous.unlink()
        self.document.load(str(out))
        self._set_ready(True)
        self.status.setText(f"{KINDS[self.kind_key()]}: {pages} Seiten. Sie können ihn jetzt "
                            "drucken oder als PDF speichern.")
        self.view.setFocus()

    def _failed(self, exc: BaseException) -> None:
        self._set_running(False)
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        if isinstance(exc, ReportCancelled):
            self.status.setText("Abgebrochen. Es wurde nichts gespeichert.")
            return
        if isinstance(exc, UserError):
            self.status.setText("Der Bericht konnte nicht erstellt werden.")
            msgbox.error(self, "Bericht nicht erstellt", exc.message)
            return
        raise exc

    def _zoom_changed(self, *_args: object) -> None:
        mode = self.zoom.currentData()
        self.view.setZoomMode(mode)
        if mode == QPdfView.ZoomMode.Custom:
            self.view.setZoomFactor(1.0)

    # -- output --------------------------------------------------------------------------------

    def suggested_name(self) -> str:
        kind = self.kind_key()
        names = {"sheets": "Bewertungsboegen", "review": "Halbjahresbericht",
                 "catalogue": "Massnahmenkatalog", "partners": "Partnerverzeichnis"}
        period = self.period.currentData() if self.period.isEnabled() else None
        suffix = f"-{period}" if period else ""
        if kind == "sheets" and self.blank.isChecked():
            suffix += "-leer"
        return f"{names[kind]}{suffix}.pdf"

    def save_to(self, target: Path) -> None:
        """Copy the generated PDF to ``target`` (complete or not at all)."""
        if self._pdf is None:
            return
        target = target if target.suffix.lower() == ".pdf" else target.with_suffix(".pdf")
        temp = target.with_name(f".{target.name}.part")
        try:
            shutil.copyfile(self._pdf, temp)
            os.replace(temp, target)
        except OSError as exc:
            with contextlib.suppress(OSError):
                temp.unlink()
            raise UserError(f"Die Datei „{target}“ kann nicht gespeichert werden "
                            f"({exc.strerror or exc}). Ist sie in einem anderen Programm "
                            "geöffnet oder der Ordner schreibgeschützt?") from None

    def save_report(self) -> None:
        if self._pdf is None or self._running:
            return
        start = str(Path.home() / self.suggested_name())
        name, _filter = QFileDialog.getSaveFileName(self, "Bericht als PDF speichern", start,
                                                    "PDF-Dateien (*.pdf)")
        if not name:
            return
        try:
            self.save_to(Path(name))
        except UserError as exc:
            msgbox.error(self, "Nicht gespeichert", exc.message)
            return
        self.status.setText(f"Gespeichert: {name}")

    def print_report(self) -> None:
        if self._pdf is None or self._running:
            return
        printer = QPrinter(QPrinter.PrinterMode.HighResolution)
        printer.setDocName(self.suggested_name())
        printer.setFromTo(1, self.document.pageCount())
        dialog = QPrintDialog(printer, self)
        dialog.setWindowTitle("Bericht drucken")
        dialog.setMinMax(1, self.document.pageCount())
        if dialog.exec() != QDialog.DialogCode.Accepted:
            return
        first, last = printer.fromPage(), printer.toPage()
        pages = range(first - 1, last) if first and last else None
        self.status.setText("Wird gedruckt …")
        try:
            printed = print_pdf(self.document, printer, pages=pages)
        except UserError as exc:
            msgbox.error(self, "Nicht gedruckt", exc.message)
            return
        self.status.setText(f"{printed} Seiten an den Drucker gesendet.")

    def closeEvent(self, event: QCloseEvent) -> None:
        self._cancel.set()
        self.document.close()
        super().closeEvent(event)

    def reject(self) -> None:
        self._cancel.set()
        self.document.close()
        super().reject()


def show_reports_dialog(parent: QWidget, ws: Workspace, period: str | None = None,
                        report: str | None = None, *,
                        options: ReportOptions | None = None) -> None:
    """Open the Berichte dialog (modal) with ``report`` and ``period`` preselected.

    ``options`` carries what the settings say about reports (district name, logo, author);
    without it the reference data are used."""
    dialog = ReportsDialog(parent, ws, period=period, report=report, options=options)
    dialog.exec()
    dialog.deleteLater()
