"""Austausch menu: import a bundle (choose, check, preview, apply)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QHeaderView,
    QLabel,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from integrationsplaner.domain.formatting import format_datetime
from integrationsplaner.errors import UserError
from integrationsplaner.exchange.conflicts import FIELD_LABELS
from integrationsplaner.exchange.format import ENTITY_LABELS, EXTENSION
from integrationsplaner.exchange.importer import (
    ImportResult,
    apply_import,
    prepare_import,
    refusal_message,
)
from integrationsplaner.exchange.plan import CATEGORY_LABELS, ImportPlan
from integrationsplaner.exchange.reader import UnknownSenderError
from integrationsplaner.services.workspace import Workspace
from integrationsplaner.ui import msgbox, tasks
from integrationsplaner.ui.exchange.common import _named, run_with_progress
from integrationsplaner.ui.exchange.conflicts_dialog import show_conflicts

PREVIEW_LIMIT = 500


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
        self.note.setTextFormat(Qt.TextFormat.PlainText)  # quotes the file name
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
        # the window reads nothing while its modal progress dialog is open: once its background
        # reads are done, the import has the database to itself (a large first import then
        # writes each page once, see importer._rollback_journal)
        tasks.wait_all()
        try:
            result: ImportResult = run_with_progress(
                parent, "Bündel importieren", "Die Änderungen werden übernommen …",
                lambda _progress: apply_import(ws, plan, exclusive=True), cancellable=False)
        except UserError as exc:
            msgbox.error(parent, "Bündel importieren", exc.message)
            return False
    finally:
        plan.close()
    msgbox.info(parent, "Bündel importieren", result.message)
    if result.open_conflicts:
        show_conflicts(parent, ws)
    return result.applied
