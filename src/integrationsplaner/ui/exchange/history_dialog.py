"""Austausch menu: the history of exported, imported and taken-back bundles; taking back the
last import."""

from __future__ import annotations

from collections.abc import Callable

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
from integrationsplaner.errors import UserError
from integrationsplaner.exchange.history import list_history
from integrationsplaner.exchange.plan import CATEGORY_LABELS
from integrationsplaner.exchange.rollback import find_rollback_file, rollback_import
from integrationsplaner.services.workspace import Workspace
from integrationsplaner.ui import msgbox
from integrationsplaner.ui.exchange.common import _named
from integrationsplaner.ui.labels import plain_tooltip

#: exchange_log.direction as shown (``zurueck``: an import taken back with its rollback file)
_DIRECTIONS = {"import": "Import", "export": "Export", "zurueck": "Import (zurückgenommen)"}


class HistoryDialog(QDialog):
    """The exchange log; the last import can be taken back here while nothing else has
    happened since (``before_change`` is the main window's unsaved-changes guard)."""

    def __init__(self, parent: QWidget | None, ws: Workspace,
                 before_change: Callable[[], bool] = lambda: True) -> None:
        super().__init__(parent)
        self.ws = ws
        self.before_change = before_change
        self.changed = False
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
                item.setToolTip(plain_tooltip(f"Bündel {row.bundle_id}\n{row.file_name}\n"
                                              f"{row.user}"))
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
        self.rollback_file = find_rollback_file(ws)
        self.take_back = close.addButton("Letzten Import &zurücknehmen …",
                                         QDialogButtonBox.ButtonRole.ActionRole)
        _named(self.take_back, "Letzten Import zurücknehmen",
               "Macht den zuletzt übernommenen kleinen Import rückgängig, solange seitdem nichts "
               "anderes geändert, importiert oder exportiert wurde")
        self.take_back.setEnabled(self.rollback_file is not None)
        if self.rollback_file is None:
            self.take_back.setToolTip("Nur der letzte Austauschschritt kann zurückgenommen "
                                      "werden, wenn er ein kleiner Import war.")
        self.take_back.clicked.connect(self._take_back)
        layout.addWidget(close)
        self.resize(900, 420)

    def _take_back(self) -> None:
        path = self.rollback_file
        if path is None or not self.before_change():
            return
        if not msgbox.confirm(
                self, "rollback", "Letzten Import zurücknehmen",
                "Der zuletzt übernommene Import wird rückgängig gemacht: die Datensätze, die er "
                "angelegt hat, werden entfernt, die er geändert hat, bekommen ihren Stand davor "
                f"zurück (Rücksicherungsdatei „{path.name}“). Vorher wird die Datenbank "
                "gesichert. Das Bündel kann danach erneut importiert werden.",
                "Import &zurücknehmen"):
            return
        try:
            result = rollback_import(self.ws, path)
        except UserError as exc:
            msgbox.warning(self, "Import nicht zurückgenommen", exc.message)
            return
        self.changed = True
        msgbox.info(self, "Import zurückgenommen", result.message)
        self.accept()


def show_history(parent: QWidget, ws: Workspace,
                 before_change: Callable[[], bool] = lambda: True) -> bool:
    """True when the last import was taken back (the caller shows the data again)."""
    dialog = HistoryDialog(parent, ws, before_change)
    dialog.exec()
    return dialog.changed
