"""Austausch menu: key management (own key file, reading other offices' keys, removing)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from integrationsplaner.domain.formatting import format_datetime
from integrationsplaner.errors import UserError
from integrationsplaner.exchange import identity
from integrationsplaner.exchange.format import KEY_EXTENSION
from integrationsplaner.services.workspace import Workspace
from integrationsplaner.ui import msgbox
from integrationsplaner.ui.exchange.common import _named


class KeysDialog(QDialog):
    def __init__(self, parent: QWidget | None, ws: Workspace) -> None:
        super().__init__(parent)
        self.ws = ws
        self.setWindowTitle("Schlüssel verwalten")
        self.setAccessibleName("Schlüssel verwalten")
        layout = QVBoxLayout(self)
        intro = QLabel("Bündel werden signiert. Tauschen Sie Schlüsseldateien einmal aus und "
                       "vergleichen Sie den Fingerabdruck telefonisch mit der Dienststelle.")
        intro.setWordWrap(True)
        layout.addWidget(intro)
        self.table = QTableWidget(0, 4)
        _named(self.table, "Bekannte Schlüssel")
        self.table.setHorizontalHeaderLabels(["Dienststelle", "Fingerabdruck", "Herkunft",
                                              "Hinzugefügt"])
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        layout.addWidget(self.table)
        row = QHBoxLayout()
        export = QPushButton("Eigenen Schlüssel &exportieren …")
        load = QPushButton("Schlüsseldatei &einlesen …")
        self.remove = QPushButton("&Entfernen")
        for button in (export, load, self.remove):
            _named(button, button.text().replace("&", "").replace(" …", ""))
            row.addWidget(button)
        row.addStretch(1)
        layout.addLayout(row)
        close = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        close.button(QDialogButtonBox.StandardButton.Close).setText("&Schließen")
        _named(close.button(QDialogButtonBox.StandardButton.Close), "Schließen")
        close.rejected.connect(self.reject)
        layout.addWidget(close)
        export.clicked.connect(self._export)
        load.clicked.connect(self._load)
        self.remove.clicked.connect(self._remove)
        self._reload()
        self.resize(760, 380)

    def _reload(self) -> None:
        keys = identity.list_keys(self.ws)
        self.keys = keys
        self.table.setRowCount(len(keys))
        sources = {"eigen": "eigener Schlüssel", "schluesseldatei": "Schlüsseldatei",
                   "erstkontakt": "beim ersten Import bestätigt"}
        for r, key in enumerate(keys):
            name = self.ws.reference.office(key.office_key).name
            for c, value in enumerate((name, key.short, sources.get(key.source, key.source),
                                       format_datetime(key.added_at))):
                self.table.setItem(r, c, QTableWidgetItem(value))
        self.table.resizeColumnsToContents()

    def _export(self) -> None:
        name, _f = QFileDialog.getSaveFileName(
            self, "Schlüssel speichern", str(Path.home() / f"{self.ws.office_key}{KEY_EXTENSION}"),
            f"Schlüsseldatei (*{KEY_EXTENSION})")
        if not name:
            return
        try:
            info = identity.export_key_file(self.ws, Path(name))
        except UserError as exc:
            msgbox.error(self, "Schlüssel exportieren", exc.message)
            return
        msgbox.info(self, "Schlüssel exportieren", f"Gespeichert: {name}\n\nFingerabdruck: "
                    f"{info.short}\nNennen Sie ihn der empfangenden Dienststelle am Telefon.")

    def _load(self) -> None:
        name, _f = QFileDialog.getOpenFileName(self, "Schlüsseldatei einlesen", str(Path.home()),
                                               f"Schlüsseldatei (*{KEY_EXTENSION})")
        if not name:
            return
        try:
            info, new = identity.import_key_file(self.ws, Path(name))
        except UserError as exc:
            msgbox.error(self, "Schlüssel einlesen", exc.message)
            return
        office = self.ws.reference.office(info.office_key).name
        msgbox.info(self, "Schlüssel einlesen",
                    (f"Schlüssel von {office} eingelesen." if new else
                     f"Der Schlüssel von {office} ist bereits bekannt.")
                    + f"\n\nFingerabdruck: {info.short}\nBitte vergleichen Sie ihn telefonisch.")
        self._reload()

    def _remove(self) -> None:
        row = self.table.currentRow()
        if not 0 <= row < len(self.keys):
            return
        key = self.keys[row]
        if key.own:
            msgbox.warning(self, "Schlüssel entfernen", "Der eigene Schlüssel dieser Installation "
                           "kann nicht entfernt werden.")
            return
        if not msgbox.confirm(self, "remove_key", "Schlüssel entfernen",
                              f"Den Schlüssel {key.short} von {key.office_key} entfernen? Bündel "
                              "mit diesem Schlüssel werden danach abgelehnt.", "&Entfernen"):
            return
        identity.remove_key(self.ws, key.fingerprint)
        self._reload()


def manage_keys(parent: QWidget, ws: Workspace) -> None:
    KeysDialog(parent, ws).exec()
