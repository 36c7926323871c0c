"""Dialogs of the Austausch menu: export, import preview, conflicts, history, keys.

The main window calls the module-level functions. Slow work (reading, checking and applying a
bundle, writing one) runs in a worker thread with a progress dialog; cancelling before
"Übernehmen" changes nothing.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QEventLoop, Qt, QThread, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QProgressDialog,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from integrationsplaner.domain.formatting import format_datetime
from integrationsplaner.errors import UserError
from integrationsplaner.exchange import identity
from integrationsplaner.exchange.conflicts import (
    FIELD_LABELS,
    ConflictInfo,
    list_conflicts,
    resolve,
)
from integrationsplaner.exchange.export import ExportCancelled
from integrationsplaner.exchange.export import export_bundle as write_bundle
from integrationsplaner.exchange.format import ENTITY_LABELS, EXTENSION, KEY_EXTENSION
from integrationsplaner.exchange.history import list_history, pending_count
from integrationsplaner.exchange.importer import (
    CATEGORY_LABELS,
    ImportPlan,
    ImportResult,
    apply_import,
    prepare_import,
    refusal_message,
)
from integrationsplaner.exchange.reader import ImportCancelled, UnknownSenderError
from integrationsplaner.services.workspace import Workspace
from integrationsplaner.ui import msgbox

PREVIEW_LIMIT = 500
_CANCELLED = object()


def _named(widget: QWidget, name: str, description: str = "") -> QWidget:
    widget.setAccessibleName(name)
    if description:
        widget.setAccessibleDescription(description)
    return widget


#: exchange_log.direction as shown (``zurueck``: an import taken back with its rollback file)
_DIRECTIONS = {"import": "Import", "export": "Export", "zurueck": "Import (zurückgenommen)"}


# --- running slow work off the UI thread ----------------------------------------------------


class _Worker(QThread):
    progressed = Signal(int, int)

    def __init__(self, fn: Callable[[Callable[[int, int], bool]], Any]) -> None:
        super().__init__()
        self.fn = fn
        self.cancel = threading.Event()
        self.result: Any = None
        self.error: BaseException | None = None

    def _progress(self, done: int, total: int) -> bool:
        self.progressed.emit(done, total)
        return not self.cancel.is_set()

    def run(self) -> None:
        try:
            self.result = self.fn(self._progress)
        except (ImportCancelled, ExportCancelled):
            self.result = _CANCELLED
        except BaseException as exc:  # handed to the UI thread
            self.error = exc


def run_with_progress(parent: QWidget | None, title: str, label: str,
                      fn: Callable[[Callable[[int, int], bool]], Any],
                      cancellable: bool = True) -> Any:
    """Run ``fn(progress)`` in a worker thread behind a modal progress dialog. Returns its
    result, ``None`` if the user cancelled; re-raises its exception on the UI thread."""
    worker = _Worker(fn)
    dialog = QProgressDialog(label, "Abbrechen" if cancellable else "", 0, 0, parent)
    dialog.setWindowTitle(title)
    dialog.setAccessibleName(title)
    dialog.setWindowModality(Qt.WindowModality.WindowModal)
    dialog.setMinimumDuration(300)
    if not cancellable:
        dialog.setCancelButton(None)

    def on_progress(done: int, total: int) -> None:
        scale = max(total, 1)
        dialog.setMaximum(1000)
        dialog.setValue(min(999, int(done * 1000 / scale)))

    worker.progressed.connect(on_progress)
    dialog.canceled.connect(worker.cancel.set)
    loop = QEventLoop()
    worker.finished.connect(loop.quit)
    worker.start()
    if worker.isRunning():
        loop.exec()
    worker.wait()
    dialog.reset()
    dialog.deleteLater()
    if worker.error is not None:
        raise worker.error
    if worker.result is _CANCELLED:
        return None
    return worker.result


# --- export ---------------------------------------------------------------------------------


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


# --- import ---------------------------------------------------------------------------------


class ImportPreviewDialog(QDialog):
    """The plan grouped into new, changed, conflicts, deleted and refused, with field diffs."""

    def __init__(self, parent: QWidget | None, ws: Workspace, plan: ImportPlan) -> None:
        super().__init__(parent)
        self.plan = plan
        h = plan.header
        self.setWindowTitle("Bündel importieren – Vorschau")
        self.setAccessibleName("Vorschau des Bündel-Imports")
        layout = QVBoxLayout(self)
        sender = ws.reference.office(h.sender_office).name
        lines = [f"<b>Absender:</b> {sender} (Installation {h.sender_replica})",
                 f"<b>Fingerabdruck:</b> {h.short_fingerprint}",
                 f"<b>Erstellt:</b> {format_datetime(h.created_at)} UTC, "
                 f"{'Vollbündel' if h.kind == 'voll' else 'nur Änderungen'}"]
        if plan.imported_before:
            lines.append(f"<b>Hinweis:</b> Dieses Bündel wurde bereits am "
                         f"{format_datetime(plan.imported_before)} übernommen.")
        if h.new_sender:
            lines.append("<b>Neuer Absender:</b> der Schlüssel wird nach dem Übernehmen als "
                         "vertrauenswürdig gespeichert.")
        header = QLabel("<br>".join(lines))
        header.setTextFormat(Qt.TextFormat.RichText)
        header.setWordWrap(True)
        _named(header, "Angaben zum Bündel")
        layout.addWidget(header)
        summary = ", ".join(f"{CATEGORY_LABELS[c]}: {plan.summary[c]:,}".replace(",", ".")
                            for c in plan.summary)
        summary_label = QLabel(summary)
        summary_label.setWordWrap(True)
        _named(summary_label, "Zusammenfassung")
        layout.addWidget(summary_label)
        self.tree = QTreeWidget()
        _named(self.tree, "Änderungen nach Gruppen",
               "Neu, geändert, Konflikte, gelöscht und abgelehnt, mit Feldänderungen")
        self.tree.setHeaderLabels(["Datensatz", "Dienststelle", "Feld", "Bisher", "Neu"])
        self.tree.setUniformRowHeights(True)
        self.tree.header().setSectionResizeMode(0, QHeaderView.ResizeMode.Interactive)
        self.tree.setColumnWidth(0, 300)
        for category in ("conflict", "changed", "deleted", "new", "refused"):
            count = plan.summary[category]
            if not count:
                continue
            group = QTreeWidgetItem([f"{CATEGORY_LABELS[category]} ({count:,})"
                                     .replace(",", ".")])
            self.tree.addTopLevelItem(group)
            for item in plan.items(category, PREVIEW_LIMIT):
                node = QTreeWidgetItem([f"{ENTITY_LABELS[item.entity]}: {item.label}",
                                        item.office_key])
                if item.reason:
                    node.addChild(QTreeWidgetItem(["Grund", "", "", item.reason]))
                for name, old, new in item.diffs:
                    node.addChild(QTreeWidgetItem(["", "", FIELD_LABELS.get(name, name), old,
                                                   new]))
                for name, shown, other in item.conflicts:
                    node.addChild(QTreeWidgetItem(["Konflikt: angezeigt ⟷ anderer Wert", "",
                                                   FIELD_LABELS.get(name, name), shown, other]))
                group.addChild(node)
                node.setExpanded(category != "new")
            if count > PREVIEW_LIMIT:
                group.addChild(QTreeWidgetItem([f"… und {count - PREVIEW_LIMIT:,} weitere"
                                                .replace(",", ".")]))
            group.setExpanded(True)
        layout.addWidget(self.tree, 1)
        self.note = QLabel()
        self.note.setWordWrap(True)
        _named(self.note, "Hinweis")
        layout.addWidget(self.note)
        buttons = QDialogButtonBox()
        self.apply_button = buttons.addButton("Ü&bernehmen", QDialogButtonBox.ButtonRole.AcceptRole)
        cancel = buttons.addButton("&Abbrechen", QDialogButtonBox.ButtonRole.RejectRole)
        _named(self.apply_button, "Übernehmen", "Die Änderungen in die Datenbank übernehmen")
        _named(cancel, "Abbrechen", "Nichts übernehmen")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        cancel.setDefault(True)
        layout.addWidget(buttons)
        if plan.rejected:
            self.apply_button.setEnabled(False)
            self.note.setText(refusal_message(plan))
        elif plan.nothing_to_do:
            self.apply_button.setEnabled(False)
            self.note.setText("Nichts zu tun: alles in diesem Bündel ist bereits bekannt.")
        else:
            self.note.setText("Vor dem Übernehmen wird im Ordner „Sicherungen“ eine Sicherung "
                              "angelegt (bei kleinen Bündeln eine Datei mit den bisherigen "
                              "Ständen der geänderten Datensätze).")
        self.resize(900, 600)


def _prepare(parent: QWidget, ws: Workspace, path: Path) -> ImportPlan | None:
    trust = False
    while True:
        try:
            return run_with_progress(
                parent, "Bündel importieren", f"„{path.name}“ wird geprüft …",
                lambda progress, t=trust: prepare_import(ws, path, trust_new_sender=t,
                                                         progress=progress))
        except UnknownSenderError as exc:
            office = ws.reference.office(exc.office).name
            if trust or not msgbox.confirm(
                    parent, "new_sender", "Neuer Absender",
                    f"Von {office} ist noch kein Schlüssel bekannt.\n\nFingerabdruck: "
                    f"{exc.short_fingerprint}\n\nBitte vergleichen Sie diesen Fingerabdruck "
                    "telefonisch mit der Dienststelle. Stimmt er überein?",
                    "Fingerabdruck stimmt, &vertrauen"):
                return None
            trust = True


def import_bundle(parent: QWidget, ws: Workspace, path: Path | None = None) -> bool:
    """Choose (unless given), check, preview and apply a bundle. True if data changed."""
    if path is None:
        name, _filter = QFileDialog.getOpenFileName(
            parent, "Bündel importieren", str(Path.home()), f"Bündel (*{EXTENSION})")
        if not name:
            return False
        path = Path(name)
    try:
        plan = _prepare(parent, ws, Path(path))
    except UserError as exc:
        msgbox.error(parent, "Bündel importieren", exc.message)
        return False
    if plan is None:
        return False
    try:
        if plan.nothing_to_do:
            when = plan.imported_before
            msgbox.info(parent, "Bündel importieren",
                        f"Dieses Bündel wurde bereits am {format_datetime(when)} übernommen. "
                        "Es wurde nichts geändert." if when else
                        "Alles in diesem Bündel ist bereits bekannt. Es wurde nichts geändert.")
            return False
        dialog = ImportPreviewDialog(parent, ws, plan)
        if dialog.exec() != QDialog.DialogCode.Accepted:
            return False
        try:
            result: ImportResult = run_with_progress(
                parent, "Bündel importieren", "Die Änderungen werden übernommen …",
                lambda _progress: apply_import(ws, plan), cancellable=False)
        except UserError as exc:
            msgbox.error(parent, "Bündel importieren", exc.message)
            return False
    finally:
        plan.close()
    msgbox.info(parent, "Bündel importieren", result.message)
    if result.open_conflicts:
        show_conflicts(parent, ws)
    return result.applied


# --- conflicts ------------------------------------------------------------------------------


def _to_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


class ConflictsDialog(QDialog):
    """Open conflicts; both values side by side; take one or edit a merged value."""

    def __init__(self, parent: QWidget | None, ws: Workspace) -> None:
        super().__init__(parent)
        self.ws = ws
        self.changed = False
        self.setWindowTitle("Konflikte aus dem Austausch")
        self.setAccessibleName("Konflikte aus dem Austausch")
        layout = QVBoxLayout(self)
        intro = QLabel("Zwei Installationen haben dasselbe Feld unabhängig geändert, oder eine "
                       "hat gelöscht, was die andere geändert hat. Angezeigt wird überall "
                       "derselbe Wert, bis Sie entscheiden.")
        intro.setWordWrap(True)
        layout.addWidget(intro)
        splitter = QSplitter()
        self.list = QListWidget()
        _named(self.list, "Offene Konflikte")
        splitter.addWidget(self.list)
        right = QWidget()
        grid = QVBoxLayout(right)
        sides = QHBoxLayout()
        self.current = QPlainTextEdit()
        self.current.setReadOnly(True)
        _named(self.current, "Angezeigter Wert")
        self.other = QPlainTextEdit()
        self.other.setReadOnly(True)
        _named(self.other, "Anderer Wert")
        for label, widget in (("Angezeigter Wert", self.current), ("Anderer Wert", self.other)):
            box = QVBoxLayout()
            caption = QLabel(label)
            caption.setBuddy(widget)
            box.addWidget(caption)
            box.addWidget(widget)
            sides.addLayout(box)
        grid.addLayout(sides)
        caption = QLabel("&Zusammengeführter Wert (bearbeitbar):")
        self.merged = QPlainTextEdit()
        _named(self.merged, "Zusammengeführter Wert")
        caption.setBuddy(self.merged)
        grid.addWidget(caption)
        grid.addWidget(self.merged)
        row = QHBoxLayout()
        self.take_current = QPushButton("&Angezeigten Wert behalten")
        self.take_other = QPushButton("A&nderen Wert übernehmen")
        self.take_merged = QPushButton("&Bearbeiteten Wert übernehmen")
        for button in (self.take_current, self.take_other, self.take_merged):
            _named(button, button.text().replace("&", ""))
            row.addWidget(button)
        grid.addLayout(row)
        self.info = QLabel()
        self.info.setWordWrap(True)
        _named(self.info, "Hinweis zum Konflikt")
        grid.addWidget(self.info)
        splitter.addWidget(right)
        splitter.setSizes([300, 600])
        layout.addWidget(splitter, 1)
        close = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        close.button(QDialogButtonBox.StandardButton.Close).setText("&Schließen")
        _named(close.button(QDialogButtonBox.StandardButton.Close), "Schließen")
        close.rejected.connect(self.reject)
        layout.addWidget(close)
        self.list.currentRowChanged.connect(self._show)
        self.take_current.clicked.connect(lambda: self._decide("current"))
        self.take_other.clicked.connect(lambda: self._decide("other"))
        self.take_merged.clicked.connect(lambda: self._decide("merged"))
        self.conflicts: list[ConflictInfo] = []
        self._reload()
        self.resize(960, 560)

    def _reload(self) -> None:
        self.conflicts = list_conflicts(self.ws)
        self.list.clear()
        for c in self.conflicts:
            item = QListWidgetItem(f"{c.entity_label}: {c.label}\nFeld „{c.field_label}“ "
                                   f"[{c.office_key}]")
            self.list.addItem(item)
        if self.conflicts:
            self.list.setCurrentRow(0)
        else:
            self._show(-1)

    def _selected(self) -> ConflictInfo | None:
        row = self.list.currentRow()
        return self.conflicts[row] if 0 <= row < len(self.conflicts) else None

    def _show(self, _row: int) -> None:
        c = self._selected()
        enabled = c is not None and c.office_key == self.ws.office_key
        for button in (self.take_current, self.take_other, self.take_merged):
            button.setEnabled(enabled)
        self.merged.setReadOnly(not enabled)
        if c is None:
            for box in (self.current, self.other, self.merged):
                box.setPlainText("")
            self.info.setText("Keine offenen Konflikte.")
            return
        if c.kind == "loeschen":
            self.current.setPlainText("gelöscht")
            self.other.setPlainText("geändert (nicht gelöscht)")
            self.merged.setPlainText("")
            self.merged.setReadOnly(True)
            self.take_merged.setEnabled(False)
            self.take_current.setText("&Löschung bestätigen")
            self.take_other.setText("&Wiederherstellen")
        else:
            self.current.setPlainText(_to_text(c.current))
            self.other.setPlainText(_to_text(c.others[0][2]) if c.others else "")
            self.merged.setPlainText(_to_text(c.current))
            self.take_current.setText("&Angezeigten Wert behalten")
            self.take_other.setText("A&nderen Wert übernehmen")
        for button in (self.take_current, self.take_other):
            button.setAccessibleName(button.text().replace("&", ""))
        self.info.setText("" if enabled else
                          f"Dieser Datensatz gehört der Dienststelle „{c.office_key}“; nur dort "
                          "kann der Konflikt gelöst werden.")

    def _decide(self, which: str) -> None:
        c = self._selected()
        if c is None:
            return
        if c.kind == "loeschen":
            value: Any = which == "current"
        elif which == "current":
            value = c.current
        elif which == "other":
            value = c.others[0][2] if c.others else c.current
        else:
            text = self.merged.toPlainText()
            value = text
            if not isinstance(c.current, str) and text.strip():
                try:
                    value = json.loads(text)
                except ValueError:
                    msgbox.error(self, "Konflikt lösen", "Der bearbeitete Wert ist keine gültige "
                                 "Angabe für dieses Feld. Bitte korrigieren Sie ihn.")
                    return
            elif not isinstance(c.current, str):
                value = None
        try:
            resolve(self.ws, c.entity, c.record_id, c.field, value, c.kind)
        except UserError as exc:
            msgbox.error(self, "Konflikt lösen", exc.message)
            return
        self.changed = True
        self._reload()


def show_conflicts(parent: QWidget, ws: Workspace) -> bool:
    dialog = ConflictsDialog(parent, ws)
    dialog.exec()
    return dialog.changed


# --- history --------------------------------------------------------------------------------


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


# --- keys -----------------------------------------------------------------------------------


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
