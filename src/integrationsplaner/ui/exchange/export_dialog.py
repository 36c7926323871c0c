"""Austausch menu: export a bundle (recipient, target file, what it will contain)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from integrationsplaner.errors import UserError
from integrationsplaner.exchange.export import export_bundle as write_bundle
from integrationsplaner.exchange.format import EXTENSION
from integrationsplaner.exchange.history import pending_count
from integrationsplaner.services.workspace import Workspace
from integrationsplaner.ui import msgbox
from integrationsplaner.ui.exchange.common import _named, run_with_progress


class ExportDialog(QDialog):
    def __init__(self, parent: QWidget | None, ws: Workspace) -> None:
        super().__init__(parent)
        self.ws = ws
        self.setWindowTitle("Bündel exportieren")
        self.setAccessibleName("Bündel exportieren")
        layout = QVBoxLayout(self)
        intro = QLabel("Ein Bündel enthält die Daten dieser Datenbank für andere Dienststellen. "
                       "Senden Sie es per E-Mail oder USB-Stick; der Empfänger sieht vor dem "
                       "Übernehmen genau, was sich ändert.")
        intro.setWordWrap(True)
        layout.addWidget(intro)
        form = QFormLayout()
        self.recipient = QComboBox()
        _named(self.recipient, "Empfänger", "Für wen das Bündel bestimmt ist")
        self.recipient.addItem("Alle Dienststellen (Vollbündel)", None)
        for office in ws.reference.offices:
            if office.key != ws.office_key:
                self.recipient.addItem(f"{office.name} (nur Neues)", office.key)
        form.addRow("&Empfänger:", self.recipient)
        row = QHBoxLayout()
        self.path = QLineEdit()
        _named(self.path, "Zieldatei", "Wohin das Bündel gespeichert wird")
        self.path.setText(str(Path.home() / f"{ws.office_key}{EXTENSION}"))
        browse = QPushButton("&Durchsuchen …")
        _named(browse, "Zieldatei auswählen")
        browse.clicked.connect(self._browse)
        row.addWidget(self.path, 1)
        row.addWidget(browse)
        file_label = QLabel("&Datei:")
        file_label.setBuddy(self.path)
        form.addRow(file_label, row)
        layout.addLayout(form)
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        _named(self.summary, "Inhalt des Bündels")
        layout.addWidget(self.summary)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.ok = buttons.addButton("&Exportieren", QDialogButtonBox.ButtonRole.AcceptRole)
        _named(self.ok, "Exportieren")
        _named(buttons.button(QDialogButtonBox.StandardButton.Cancel), "Abbrechen")
        buttons.button(QDialogButtonBox.StandardButton.Cancel).setText("Abbrechen")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.recipient.currentIndexChanged.connect(self._update_summary)
        self._update_summary()
        self.resize(560, 260)

    def _browse(self) -> None:
        name, _filter = QFileDialog.getSaveFileName(
            self, "Bündel speichern", self.path.text(), f"Bündel (*{EXTENSION})")
        if name:
            if not name.endswith(EXTENSION):
                name += EXTENSION
            self.path.setText(name)

    def _update_summary(self) -> None:
        to = self.recipient.currentData()
        count, incremental = pending_count(self.ws, to)
        if to is None:
            text = f"Vollbündel mit allen {count:,} Datensätzen dieser Datenbank."
        elif incremental:
            text = (f"Nur Änderungen, die diese Dienststelle noch nicht bestätigt hat: etwa "
                    f"{count:,} Datensätze.")
        else:
            text = ("Von dieser Dienststelle liegt noch keine Bestätigung vor; das Bündel "
                    f"enthält daher alle {count:,} Datensätze.")
        self.summary.setText(text.replace(",", "."))
        self.ok.setEnabled(True)


def export_bundle(parent: QWidget, ws: Workspace) -> None:
    dialog = ExportDialog(parent, ws)
    if dialog.exec() != QDialog.DialogCode.Accepted:
        return
    out = Path(dialog.path.text().strip())
    to = dialog.recipient.currentData()
    try:
        result = run_with_progress(parent, "Bündel exportieren", "Das Bündel wird geschrieben …",
                                   lambda progress: write_bundle(ws, out, to=to,
                                                                 progress=progress))
    except UserError as exc:
        msgbox.error(parent, "Bündel exportieren", exc.message)
        return
    if result is None:
        msgbox.info(parent, "Bündel exportieren", "Abgebrochen. Es wurde keine Datei "
                    "geschrieben.")
        return
    msgbox.info(parent, "Bündel exportieren",
                f"Das Bündel wurde gespeichert:\n{result.path}\n\n{result.total:,} Datensätze, "
                f"{result.size / 1024:,.0f} KB.".replace(",", "."))
