"""First start and Datei → Neue Datenbank: which office this PC belongs to; optional demo data."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressDialog,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from integrationsplaner.domain.reference import load_reference
from integrationsplaner.errors import UserError
from integrationsplaner.services.workspace import Workspace
from integrationsplaner.ui import msgbox
from integrationsplaner.ui.forms import describe, ok_cancel

DEMO_MEASURES = 300


class NewDatabaseDialog(QDialog):
    """Choose the office (and the file); creates the database. ``workspace`` holds the result."""

    def __init__(self, parent: QWidget | None = None, path: Path | None = None,
                 default_folder: Path | None = None, first_start: bool = False) -> None:
        super().__init__(parent)
        self.workspace: Workspace | None = None
        self.setWindowTitle("Willkommen beim Integrationsplaner" if first_start
                            else "Neue Datenbank anlegen")
        ref = load_reference()
        intro = QLabel(
            "Bitte wählen Sie, zu welcher Dienststelle dieser PC gehört. Die Maßnahmen und "
            "Partner, die Sie hier anlegen, gehören dieser Dienststelle; Daten anderer "
            "Dienststellen kommen über Austausch-Bündel und sind hier nur zum Ansehen."
            if first_start else
            "Legen Sie eine neue, leere Datenbank für eine Dienststelle an.")
        intro.setWordWrap(True)
        self.office = QComboBox()
        for office in ref.offices:
            self.office.addItem(office.name, office.key)
        describe(self.office, "Dienststelle", "Die Dienststelle, der dieser PC gehört")
        office_label = QLabel("&Dienststelle:")
        office_label.setBuddy(self.office)
        self.path = QLineEdit(str(path) if path else "")
        describe(self.path, "Datenbankdatei", "Wo die Datenbank gespeichert wird")
        path_label = QLabel("Date&i:")
        path_label.setBuddy(self.path)
        browse = QPushButton("&Durchsuchen …")
        describe(browse, "Speicherort wählen")
        browse.clicked.connect(self._browse)
        self._default_folder = default_folder
        if path is not None:
            self.path.setReadOnly(True)
            browse.setVisible(False)
        path_row = QHBoxLayout()
        path_row.addWidget(self.path, 1)
        path_row.addWidget(browse)
        self.demo = QCheckBox(f"Mit &Beispieldaten zum Ausprobieren füllen ({DEMO_MEASURES} "
                              "erfundene Maßnahmen)")
        describe(self.demo, "Beispieldaten",
                 "Füllt die Datenbank mit erfundenen Maßnahmen, Partnern und Bewertungen, um "
                 "das Programm kennenzulernen. Nicht für die echte Arbeit verwenden.")
        buttons = ok_cancel("Datenbank &anlegen", self._create, self.reject, "Abbre&chen")
        form = QFormLayout()
        form.addRow(office_label, self.office)
        form.addRow(path_label, path_row)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(form)
        layout.addWidget(self.demo)
        layout.addWidget(buttons)
        self.resize(560, 0)

    def _browse(self) -> None:
        folder = str(self._default_folder or Path.home())
        name, _ = QFileDialog.getSaveFileName(self, "Neue Datenbank", folder,
                                              "Integrationsplaner-Datenbank (*.sqlite)")
        if name:
            if not name.endswith(".sqlite"):
                name += ".sqlite"
            self.path.setText(name)

    def _create(self) -> None:
        from integrationsplaner.services.workspace import create_workspace

        text = self.path.text().strip()
        if not text:
            msgbox.warning(self, "Datei fehlt", "Bitte wählen Sie, wo die Datenbank gespeichert "
                                                "werden soll.")
            return
        try:
            ws = create_workspace(Path(text), self.office.currentData())
        except UserError as exc:
            msgbox.error(self, "Datenbank kann nicht angelegt werden", exc.message)
            return
        if self.demo.isChecked() and not self._fill_demo(ws):
            ws.close()
            for suffix in ("", "-wal", "-shm", ".lock"):
                Path(text + suffix).unlink(missing_ok=True)
            return
        self.workspace = ws
        self.accept()

    def _fill_demo(self, ws: Workspace) -> bool:
        from integrationsplaner.services import demo

        progress = QProgressDialog("Beispieldaten werden angelegt …", "Abbrechen", 0,
                                   DEMO_MEASURES, self)
        progress.setWindowModality(Qt.WindowModality.WindowModal)
        progress.setMinimumDuration(300)

        def step(done: int, total: int) -> bool:
            progress.setMaximum(total)
            progress.setValue(done)
            return not progress.wasCanceled()

        try:
            demo.generate(ws, DEMO_MEASURES, seed=7, progress=step)
        except demo.DemoCancelled:
            return False
        finally:
            progress.close()
        return True
