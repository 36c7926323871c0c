"""The Partner tab: partner list with filters, partner editor with contact persons and the
measures the partner takes part in."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSplitter,
    QTableView,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from integrationsplaner.domain.formatting import format_date, format_datetime, format_number
from integrationsplaner.domain.model import ContactData, PartnerData, PartnerRow
from integrationsplaner.domain.validation import validate_partner
from integrationsplaner.errors import Issue
from integrationsplaner.services import audit, partners
from integrationsplaner.services.workspace import Workspace
from integrationsplaner.ui.editor import RecordEditor, scroll
from integrationsplaner.ui.forms import (
    ChecklistField,
    ComboField,
    Field,
    LineField,
    TextField,
    describe,
)
from integrationsplaner.ui.history import history_model
from integrationsplaner.ui.labels import Labels, plain_tooltip
from integrationsplaner.ui.models import Column, RowListModel
from integrationsplaner.ui.settings import Settings
from integrationsplaner.ui.tab_base import ListEditorTab, make_table
from integrationsplaner.ui.table_field import TableColumn, TableField


class PartnerEditor(RecordEditor):
    what = "Der Partner"
    openMeasure = Signal(str)
    showMeasures = Signal(str, str)

    def __init__(self, ws: Workspace, labels: Labels, parent: QWidget | None = None) -> None:
        super().__init__(ws, labels, parent)
        ref = ws.reference
        f = self.form
        self.name = f.add(LineField("name", "&Name:", "Name der Einrichtung oder Initiative",
                                    max_length=200))
        self.kind = f.add(ComboField("kind", "&Art:", [(c.code, c.label) for c in
                                                       ref.codes("partner_kinds").entries]))
        self.street = f.add(LineField("street", "St&raße:", max_length=200))
        self.postal_code = f.add(LineField("postal_code", "P&LZ:", "Fünf Ziffern",
                                           max_length=10))
        self.city = f.add(LineField("city", "&Ort:", max_length=200))
        self.phone = f.add(LineField("phone", "&Telefon:", max_length=50))
        self.email = f.add(LineField("email", "&E-Mail:", "z. B. info@beispiel.de",
                                     max_length=200))
        self.website = f.add(LineField("website", "&Website:", max_length=200))
        self.areas = f.add(ChecklistField("action_areas", "&Handlungsfelder:",
                                          [(a.number, f"{a.number} {a.title}")
                                           for a in ref.action_areas],
                                          "In welchen Handlungsfeldern der Partner aktiv ist",
                                          height=100))
        self.offices = f.add(ChecklistField("offices", "Aktiv in &Dienststellen:",
                                            [(o.key, o.name) for o in ref.offices],
                                            "Wo der Partner aktiv ist", height=140))
        self.notes = f.add(TextField("notes", "N&otizen:", height=70))
        self.contacts = f.add(TableField(
            "contacts", "Ansprechpersonen:",
            [TableColumn("name", "Name", width=160), TableColumn("function", "Funktion",
                                                                 width=130),
             TableColumn("phone", "Telefon", width=110), TableColumn("email", "E-Mail",
                                                                     width=170),
             TableColumn("notes", "Notizen")],
            add_label="Ansprech&person hinzufügen",
            description="Personenbezogene Daten: nur dienstliche Kontaktdaten eintragen",
            new_row=lambda: {"name": "", "function": "", "phone": "", "email": "",
                             "notes": ""}))
        self.sections = QTabWidget()
        self.sections.setDocumentMode(True)
        self.sections.setAccessibleName("Abschnitte des Partners")
        basics = QWidget()
        form = QFormLayout(basics)
        for field in (self.name, self.kind, self.street, self.postal_code, self.city, self.phone,
                      self.email, self.website, self.areas, self.offices, self.notes):
            form.addRow(field.label, field.container)
        self.sections.addTab(scroll(basics), "&Stammdaten")
        page = QWidget()
        box = QVBoxLayout(page)
        box.addWidget(self.contacts.label)
        box.addWidget(self.contacts.container)
        self.sections.addTab(page, "Ansprech&personen")

        self.measures = RowListModel(
            [Column("Kennung", lambda r: r[0].code),
             Column("Titel", lambda r: r[0].title),
             Column("Rolle", lambda r: labels.code("partner_roles", r[1])),
             Column("Dienststelle", lambda r: labels.office(r[0].office_key)),
             Column("Ende", lambda r: format_date(r[0].end_date),
                    sort_key=lambda r: r[0].end_date)],
            id_of=lambda r: r[0].id, parent=self)
        self.measure_view = make_table("Maßnahmen, an denen der Partner beteiligt ist",
                                       "Doppelklick oder Eingabetaste öffnet die Maßnahme")
        self.measure_view.setModel(self.measures)
        self.measure_view.setColumnWidth(1, 280)
        self.measure_view.doubleClicked.connect(self._open_measure)
        self.measure_view.activated.connect(self._open_measure)
        self.measures_in_list = QPushButton("In der Maßnahmenliste &zeigen")
        describe(self.measures_in_list, "In der Maßnahmenliste zeigen",
                 "Filtert die Maßnahmenliste auf diesen Partner")
        self.measures_in_list.clicked.connect(
            lambda: self.record and self.record.id
            and self.showMeasures.emit(self.record.id, self.record.name))
        page = QWidget()
        box = QVBoxLayout(page)
        box.addWidget(self.measure_view)
        box.addWidget(self.measures_in_list, 0, Qt.AlignmentFlag.AlignLeft)
        self.sections.addTab(page, "&Beteiligungen")
        self.history = history_model(labels, self)
        self.history_view = make_table("Verlauf der Änderungen", "Änderungen dieses Partners")
        self.history_view.setSortingEnabled(False)
        self.history_view.setModel(self.history)
        self.sections.addTab(self.history_view, "Ver&lauf")
        self.body.addWidget(self.sections)
        self.clear()

    def new_record(self) -> PartnerData:
        return PartnerData(office_key=self.ws.office_key, offices=[self.ws.office_key])

    def title_of(self, record: PartnerData) -> str:
        return record.name if record.id else "Neuer Partner"

    def fetch(self, record_id: str) -> PartnerData:
        return partners.get_partner(self.ws, record_id)

    def store(self, data: PartnerData) -> str:
        return partners.save_partner(self.ws, data).id

    def set_deleted(self, record_id: str, deleted: bool) -> None:
        partners.set_deleted(self.ws, record_id, deleted)

    def validate(self, data: PartnerData) -> list[Issue]:
        return validate_partner(data, self.ws.reference)

    def load(self, record: Any) -> None:
        super().load(record)
        if record.id:
            self.measures.set_rows(partners.measures_of_partner(self.ws, record.id))
            ids = [record.id] + [c.id for c in record.contacts if c.id]
            self.history.set_rows(audit.history(self.ws, ids))
        else:
            self.measures.set_rows([])
            self.history.set_rows([])
        self.sections.setTabText(2, f"&Beteiligungen ({self.measures.rowCount()})")
        if record.updated_at:
            self.heading.setToolTip(plain_tooltip(
                f"Zuletzt geändert am {format_datetime(record.updated_at)} von "
                f"{record.updated_by}"))

    def to_raw(self, d: PartnerData) -> dict[str, Any]:
        return {
            "name": d.name, "kind": d.kind, "street": d.street, "postal_code": d.postal_code,
            "city": d.city, "phone": d.phone, "email": d.email, "website": d.website,
            "action_areas": list(d.action_areas), "offices": list(d.offices), "notes": d.notes,
            "contacts": [{"name": c.name, "function": c.function, "phone": c.phone,
                          "email": c.email, "notes": c.notes, "_id": c.id} for c in d.contacts],
        }

    def to_data(self, raw: dict[str, Any]) -> PartnerData:
        base: PartnerData = self.record
        return PartnerData(
            office_key=base.office_key, name=raw["name"].strip(), kind=raw["kind"] or "sonstige",
            street=raw["street"].strip(), postal_code=raw["postal_code"].strip(),
            city=raw["city"].strip(), phone=raw["phone"].strip(), email=raw["email"].strip(),
            website=raw["website"].strip(), action_areas=list(raw["action_areas"]),
            offices=list(raw["offices"]), notes=raw["notes"],
            contacts=[ContactData(c["name"].strip(), c["function"].strip(), c["phone"].strip(),
                                  c["email"].strip(), c["notes"], c["_id"])
                      for c in raw["contacts"]],
            id=base.id, version=dict(base.version), deleted=base.deleted)

    def reveal(self, field: Field) -> None:
        for n in range(self.sections.count()):
            if self.sections.widget(n).isAncestorOf(field.widget):
                self.sections.setCurrentIndex(n)
                return

    def _open_measure(self, index: Any) -> None:
        measure_id = self.measures.data(index, Qt.ItemDataRole.UserRole + 1)
        if measure_id:
            self.openMeasure.emit(measure_id)


class PartnersTab(ListEditorTab):
    state_key = "partners"
    title = "&Partner"
    openMeasure = Signal(str)
    showMeasures = Signal(str, str)

    def __init__(self, ws: Workspace, labels: Labels, settings: Settings,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ws = ws
        self.labels = labels
        ref = ws.reference
        self.search = QLineEdit()
        self.search.setPlaceholderText("Name oder Ort …")
        self.search.setClearButtonEnabled(True)
        describe(self.search, "Partner suchen", "Filtert beim Tippen nach Name oder Ort")
        search_label = QLabel("&Suchen:")
        search_label.setBuddy(self.search)
        self.kind = QComboBox()
        self.kind.addItem("Alle Arten", None)
        for entry in ref.codes("partner_kinds").entries:
            self.kind.addItem(entry.label, entry.code)
        describe(self.kind, "Art", "Nur Partner dieser Art")
        self.office = QComboBox()
        self.office.addItem("Alle Dienststellen", None)
        for office in ref.offices:
            self.office.addItem(office.short_name, office.key)
        describe(self.office, "Dienststelle", "Nur Partner, die diese Dienststelle angelegt hat")
        self.trash = QCheckBox("&Papierkorb")
        describe(self.trash, "Papierkorb anzeigen", "Zeigt gelöschte Partner")
        self.count = QLabel()
        self.count.setAccessibleName("Anzahl der gefundenen Partner")
        self.model = RowListModel(
            [Column("Name", lambda r: r.name),
             Column("Art", lambda r: labels.code("partner_kinds", r.kind)),
             Column("Ort", lambda r: r.city),
             Column("Angelegt von", lambda r: labels.office(r.office_key))],
            id_of=lambda r: r.id, parent=self)
        self.view = make_table("Liste der Partner",
                               "Pfeiltasten wählen einen Partner; er erscheint rechts im Editor")
        self.align_left(self.view)
        self.view.setModel(self.model)
        self.view.setColumnWidth(0, 280)
        self.view.setColumnWidth(1, 200)
        self.view.setColumnWidth(2, 130)
        self.view.sortByColumn(0, Qt.SortOrder.AscendingOrder)
        self.new_button = QPushButton("&Neuer Partner")
        describe(self.new_button, "Neuer Partner", "Legt einen neuen Partner an (Strg+N)")
        self.new_button.clicked.connect(self.new_record)
        self.set_editor(PartnerEditor(ws, labels))
        self.editor.openMeasure.connect(self.openMeasure)
        self.editor.showMeasures.connect(self.showMeasures)

        left = QWidget()
        box = QVBoxLayout(left)
        box.setContentsMargins(6, 6, 6, 6)
        top = QHBoxLayout()
        top.addWidget(search_label)
        top.addWidget(self.search, 1)
        top.addWidget(self.count)
        box.addLayout(top)
        row = QHBoxLayout()
        row.addWidget(self.kind, 1)
        row.addWidget(self.office, 1)
        row.addWidget(self.trash)
        box.addLayout(row)
        box.addWidget(self.view, 1)
        buttons = QHBoxLayout()
        buttons.addWidget(self.new_button)
        buttons.addStretch(1)
        box.addLayout(buttons)
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(left)
        self.splitter.addWidget(self.editor)
        self.splitter.setChildrenCollapsible(False)
        self.splitter.setSizes([640, 700])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.splitter)

        self._timer = QTimer(self, singleShot=True, interval=200)
        self._timer.timeout.connect(self.reload)
        self.search.textChanged.connect(lambda _t: self._timer.start())
        self.kind.currentIndexChanged.connect(self.reload)
        self.office.currentIndexChanged.connect(self.reload)
        self.trash.toggled.connect(self.reload)
        self.model.modelReset.connect(self.reselect)
        self.model.layoutChanged.connect(self.reselect)
        self.editor.saved.connect(lambda _id: self.reload())
        self.editor.deletedChanged.connect(lambda _id, _d: self.reload())
        self.connect_view()

    def start(self) -> None:
        self.reload()

    def reload(self) -> None:
        self._timer.stop()
        rows: list[PartnerRow] = partners.list_partners(
            self.ws, self.search.text(), kind=self.kind.currentData(),
            office=self.office.currentData(), deleted=self.trash.isChecked())
        self.model.set_rows(rows)
        header = self.view.horizontalHeader()
        self.model.sort(header.sortIndicatorSection(), header.sortIndicatorOrder())
        noun = "Partner"
        self.count.setText(f"{format_number(len(rows), 0)} {noun}"
                           + (" im Papierkorb" if self.trash.isChecked() else ""))

    def id_at(self, row: int) -> str | None:
        record = self.model.row_at(row)
        return record.id if record else None

    def row_of(self, record_id: str | None) -> int:
        return self.model.row_of(record_id)

    def open_id(self, record_id: str) -> None:
        self.editor.load(self.editor.fetch(record_id))

    def new_record(self) -> None:
        if not self.editor.maybe_leave():
            return
        self.trash.setChecked(False)
        self.view.selectionModel().clear()
        self.editor.load(self.editor.new_record())
        self.editor.sections.setCurrentIndex(0)
        self.editor.name.widget.setFocus()

    def focus_search(self) -> None:
        self.search.setFocus()
        self.search.selectAll()

    def refresh(self) -> None:
        self.reload()
        if self.editor.record_id and not self.editor.is_dirty():
            self._open(self.editor.record_id)



__all__ = ["PartnerEditor", "PartnersTab", "QAbstractItemView", "QTableView"]
