"""Berichte → Berichtseinstellungen: the logo, the issuing authority and the author that every
report shows (cover, page header, PDF metadata), kept in the program's settings."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtGui import QImageReader
from PySide6.QtWidgets import (
    QDialog,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from integrationsplaner.reports.layout import ReportOptions
from integrationsplaner.ui.forms import describe, ok_cancel
from integrationsplaner.ui.labels import plain_label
from integrationsplaner.ui.settings import Settings

#: Image formats reportlab places in a PDF without further libraries.
LOGO_FORMATS = ("png", "jpeg")


def logo_problem(path: Path) -> str | None:
    """Why a file cannot be the reports' logo (German, for the user), or None if it can."""
    if not path.is_file():
        return f"Die Datei „{path}“ gibt es nicht."
    reader = QImageReader(str(path))
    fmt = bytes(reader.format().data()).decode("ascii", "replace").lower()
    if not reader.canRead() or fmt not in LOGO_FORMATS:
        return (f"„{path.name}“ ist kein lesbares PNG- oder JPEG-Bild. Wählen Sie eine andere "
                "Datei.")
    size = reader.size()
    if size.width() < 1 or size.height() < 1:
        return f"Das Bild „{path.name}“ ist leer."
    return None


def report_options(settings: Settings) -> ReportOptions:
    """What the settings say about reports; empty settings fall back to the reference data."""
    logo = settings.report_logo
    return ReportOptions(authority=settings.report_authority.strip() or None,
                         author=settings.report_author.strip() or None,
                         logo_path=Path(logo) if logo else None)


def _labelled(form: QFormLayout, text: str, field: QWidget | QHBoxLayout,
              buddy: QWidget) -> None:
    """A form row whose label's mnemonic (Alt + underlined letter) jumps to ``buddy``."""
    label = QLabel(text)
    label.setBuddy(buddy)
    form.addRow(label, field)


class ReportSettingsDialog(QDialog):
    def __init__(self, parent: QWidget | None, settings: Settings, authority: str) -> None:
        super().__init__(parent)
        self.settings = settings
        self.setWindowTitle("Berichtseinstellungen")
        describe(self, "Berichtseinstellungen",
                 "Logo, Herausgeber und Bearbeitung, die jeder Bericht zeigt")
        form = QFormLayout()
        self.logo = QLineEdit(settings.report_logo)
        self.logo.setReadOnly(True)
        self.logo.setPlaceholderText("kein Logo")
        describe(self.logo, "Logo", "Bilddatei des Logos (PNG oder JPEG)")
        self.choose = QPushButton("Datei &wählen …")
        describe(self.choose, "Logo-Datei wählen")
        self.choose.clicked.connect(self._choose)
        self.remove = QPushButton("Logo &entfernen")
        describe(self.remove, "Logo entfernen")
        self.remove.clicked.connect(lambda: self.set_logo(""))
        row = QHBoxLayout()
        row.addWidget(self.logo, 1)
        row.addWidget(self.choose)
        row.addWidget(self.remove)
        _labelled(form, "&Logo:", row, self.choose)
        self.problem = plain_label()
        self.problem.setWordWrap(True)
        self.problem.setStyleSheet("color: #a00000")
        describe(self.problem, "Hinweis zum Logo")
        self.problem.hide()
        form.addRow("", self.problem)
        self.authority = QLineEdit(settings.report_authority)
        self.authority.setPlaceholderText(authority)
        describe(self.authority, "Herausgeber",
                 f"Behörde auf Deckblatt und in der Kopfzeile; leer: {authority}")
        _labelled(form, "&Herausgeber:", self.authority, self.authority)
        self.author = QLineEdit(settings.report_author)
        self.author.setPlaceholderText("wie Herausgeber")
        describe(self.author, "Bearbeitet von",
                 "Stelle oder Person, die als Verfasser in den PDF-Eigenschaften steht")
        _labelled(form, "Bearbeitet &von:", self.author, self.author)
        hint = QLabel("Das Logo erscheint auf dem Deckblatt und in der Kopfzeile jedes Berichts. "
                      "Die Einstellungen gelten für diesen PC.")
        hint.setWordWrap(True)
        buttons = ok_cancel("&Speichern", self.accept, self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(hint)
        layout.addWidget(buttons)
        self.resize(640, self.sizeHint().height())
        self.remove.setEnabled(bool(settings.report_logo))

    def _choose(self) -> None:
        start = str(Path(self.logo.text()).parent) if self.logo.text() else ""
        path, _ = QFileDialog.getOpenFileName(self, "Logo wählen", start,
                                              "Bilder (*.png *.jpg *.jpeg)")
        if path:
            self.set_logo(path)

    def set_logo(self, path: str) -> bool:
        """Take a logo file (or none with ``""``); a file that cannot be one is refused with a
        message beside the field, and the logo stays as it was."""
        problem = logo_problem(Path(path)) if path else None
        self.problem.setText(problem or "")
        self.problem.setVisible(problem is not None)
        if problem is not None:
            return False
        self.logo.setText(path)
        self.remove.setEnabled(bool(path))
        return True

    def accept(self) -> None:
        self.settings.report_logo = self.logo.text()
        self.settings.report_authority = self.authority.text().strip()
        self.settings.report_author = self.author.text().strip()
        super().accept()
