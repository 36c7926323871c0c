"""Austausch menu: the history of exported, imported and taken-back bundles."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from integrationsplaner.domain.formatting import format_datetime
from integrationsplaner.exchange.history import list_history
from integrationsplaner.exchange.importer import CATEGORY_LABELS
from integrationsplaner.services.workspace import Workspace
from integrationsplaner.ui.exchange.common import _named

#: exchange_log.direction as shown (``zurueck``: an import taken back with its rollback file)
_DIRECTIONS = {"import": "Import", "export": "Export", "zurueck": "Import (zurückgenommen)"}


class HistoryDialog(QDialog):
    def __init__(self, parent: QWidget | None, ws: Workspace) -> None:
        super().__init__(parent)
        self.setWindowTitle("Austauschverlauf")
        self.setAccessibleName("Austauschverlauf")
        layout = QVBoxLayout(self)
        rows = list_history(ws)
        self.table = QTableWidget(len(rows), 6)
        _named(self.table, "Exportierte und importierte Bündel")
        self.table.setHorizontalHeaderLabels(
            ["Zeitpunkt (UTC)", "Richtung", "Absender", "Empfänger", "Art", "Änderungen"])
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        for r, row in enumerate(rows):
            if row.direction in ("import", "zurueck"):
                changes = ", ".join(f"{CATEGORY_LABELS.get(k, k)}: {v}"
                                    for k, v in row.summary.items() if v)
            else:
                changes = f"{sum(row.summary.values())} Datensätze"
            values = [format_datetime(row.at), _DIRECTIONS.get(row.direction, row.direction),
                      row.sender_office, "alle" if row.recipient == "*" else row.recipient,
                      "Vollbündel" if row.kind == "voll" else "nur Änderungen",
                      changes or "keine"]
            for c, value in enumerate(values):
                item = QTableWidgetItem(value)
                item.setToolTip(f"Bündel {row.bundle_id}\n{row.file_name}\n{row.user}")
                self.table.setItem(r, c, item)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.resizeColumnsToContents()
        layout.addWidget(self.table)
        if not rows:
            empty = QLabel("Es wurden noch keine Bündel exportiert oder importiert.")
            _named(empty, "Hinweis")
            layout.addWidget(empty)
        close = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        close.button(QDialogButtonBox.StandardButton.Close).setText("&Schließen")
        _named(close.button(QDialogButtonBox.StandardButton.Close), "Schließen")
        close.rejected.connect(self.reject)
        layout.addWidget(close)
        self.resize(900, 420)


def show_history(parent: QWidget, ws: Workspace) -> None:
    HistoryDialog(parent, ws).exec()
