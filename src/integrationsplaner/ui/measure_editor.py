"""The measure editor: Grunddaten, Kennzahlen, Kosten, Zeitplan, Beteiligte, Orte, Verlauf.

The services it calls (and SQLAlchemy with them) are imported where used: the editor is built
on the start path, before the database layer has loaded (see ``ui.app``).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QFormLayout,
    QLabel,
    QLineEdit,
    QTableView,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from integrationsplaner.domain.formatting import (
    format_cents,
    format_date,
    format_datetime,
    format_number,
    parse_cents,
    parse_date,
    parse_number,
)
from integrationsplaner.domain.model import (
    BudgetLineData,
    IndicatorData,
    MeasureData,
    MilestoneData,
    ParticipationData,
    PartnerRow,
)
from integrationsplaner.domain.periods import HalfYear
from integrationsplaner.domain.validation import validate_measure
from integrationsplaner.errors import Issue, ValidationError
from integrationsplaner.services.workspace import Workspace
from integrationsplaner.ui.editor import RecordEditor, scroll
from integrationsplaner.ui.forms import (
    CheckField,
    ChecklistField,
    ComboField,
    DateField,
    Field,
    LineField,
    TextField,
    describe,
    ok_cancel,
)
from integrationsplaner.ui.history import history_model
from integrationsplaner.ui.labels import Labels, plain_label
from integrationsplaner.ui.models import Column, RowListModel
from integrationsplaner.ui.table_field import TableColumn, TableField

if TYPE_CHECKING:
    from integrationsplaner.services.measure_details import EvaluationSummary


def parse_optional_date(issues: list[Issue], key: str, label: str, text: str) -> date | None:
    if not text.strip():
        return None
    try:
        return parse_date(text)
    except ValueError as exc:
        issues.append(Issue(key, f"{label}: {exc}"))
        return None


def parse_optional_number(issues: list[Issue], key: str, label: str, text: str) -> float | None:
    if not str(text).strip():
        return None
    try:
        return parse_number(str(text))
    except ValueError as exc:
        issues.append(Issue(key, f"{label}: {exc}"))
        return None


class PartnerPicker(QDialog):
    """Search a partner by name or place and choose its role."""

    def __init__(self, ws: Workspace, labels: Labels, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ws = ws
        self.setWindowTitle("Partner hinzufügen")
        self.search = QLineEdit()
        self.search.setPlaceholderText("Name oder Ort eingeben …")
        describe(self.search, "Partner suchen", "Filtert die Liste nach Name oder Ort")
        self.model = RowListModel(
            [Column("Name", lambda r: r.name),
             Column("Art", lambda r: labels.code("partner_kinds", r.kind)),
             Column("Ort", lambda r: r.city)],
            id_of=lambda r: r.id, parent=self)
        self.view = QTableView()
        self.view.setModel(self.model)
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.view.horizontalHeader().setStretchLastSection(True)
        self.view.verticalHeader().setVisible(False)
        self.view.setColumnWidth(0, 320)
        describe(self.view, "Gefundene Partner", "Pfeiltasten wählen, Eingabetaste übernimmt")
        self.role = QComboBox()
        for entry in ws.reference.codes("partner_roles").entries:
            self.role.addItem(entry.label, entry.code)
        self.role.setCurrentIndex(max(0, self.role.findData("partner")))
        describe(self.role, "Rolle", "Rolle des Partners in dieser Maßnahme")
        buttons = ok_cancel("&Übernehmen", self.accept, self.reject)
        self.view.doubleClicked.connect(lambda _i: self.accept())
        form = QFormLayout()
        search_label = QLabel("&Suchen:")
        search_label.setBuddy(self.search)
        form.addRow(search_label, self.search)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.view, 1)
        role_form = QFormLayout()
        role_label = QLabel("&Rolle:")
        role_label.setBuddy(self.role)
        role_form.addRow(role_label, self.role)
        layout.addLayout(role_form)
        layout.addWidget(buttons)
        self.resize(620, 460)
        self._timer = QTimer(self, singleShot=True, interval=150)
        self._timer.timeout.connect(self._refresh)
        self.search.textChanged.connect(lambda _t: self._timer.start())
        self.search.returnPressed.connect(lambda: self.view.setFocus())
        self._refresh()

    def _refresh(self) -> None:
        from integrationsplaner.services import partners

        self.model.set_rows(partners.list_partners(self.ws, self.search.text(), limit=300))
        if self.model.rowCount():
            self.view.selectRow(0)

    def chosen(self) -> tuple[PartnerRow, str] | None:
        row = self.model.row_at(self.view.currentIndex().row())
        if row is None:
            return None
        return row, self.role.currentData()


class MeasureEditor(RecordEditor):
    what = "Die Maßnahme"
    SECTIONS = ("&Grunddaten", "&Kennzahlen", "K&osten", "&Zeitplan", "Be&teiligte", "Or&te",
                "Ver&lauf")

    def __init__(self, ws: Workspace, labels: Labels, parent: QWidget | None = None) -> None:
        super().__init__(ws, labels, parent)
        ref = ws.reference
        self._evaluations: list[EvaluationSummary] = []
        self._history_loaded_for: str | None = None
        self.sections = QTabWidget()
        self.sections.setAccessibleName("Abschnitte der Maßnahme")
        self.sections.setDocumentMode(True)
        self.body.addWidget(self.sections)
        f = self.form

        # Grunddaten
        self.code = f.add(LineField("code", "&Kennung:", "Kurze Kennung, z. B. HF1-03",
                                    placeholder="z. B. HF1-03", max_length=30))
        self.title = f.add(LineField("title", "T&itel:", "Titel der Maßnahme", max_length=200))
        self.area = f.add(ComboField("action_area", "&Handlungsfeld:",
                                     [(a.number, f"{a.number} {a.title}")
                                      for a in ref.action_areas],
                                     "Strategisches Handlungsfeld des Integrationskonzepts"))
        self.owner = plain_label()
        self.owner.setAccessibleName("Zuständige Dienststelle")
        self.owner.setWordWrap(True)
        self.owner.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByKeyboard
                                           | Qt.TextInteractionFlag.TextSelectableByMouse)
        self.status = f.add(ComboField("status", "&Status:",
                                       [(c.code, c.label)
                                        for c in ref.codes("measure_statuses").entries]))
        self.concept = f.add(ComboField("concept_period", "Konzept&zeitraum:",
                                        [(p.key, p.title) for p in ref.concept_periods],
                                        "Zu welchem Integrationskonzept die Maßnahme gehört",
                                        none_label="– keiner –"))
        self.groups = f.add(ChecklistField("target_groups", "Ziel&gruppen:",
                                           [(c.code, c.label)
                                            for c in ref.codes("target_groups").entries],
                                           "Leertaste hakt eine Zielgruppe an oder ab",
                                           height=110))
        self.description = f.add(TextField("description", "&Beschreibung:",
                                           "Was geschieht in der Maßnahme"))
        self.objective = f.add(TextField("objective", "Ziel&setzung:",
                                         "Was die Maßnahme erreichen soll"))
        self.networking = f.add(CheckField(
            "networking", "&Vernetzungsmaßnahme (vernetzt und unterstützt die Akteure)",
            "Angehakt, wenn die Maßnahme vor allem Akteure vernetzt und unterstützt"))
        basics = QWidget()
        grid = QFormLayout(basics)
        grid.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        for field in (self.code, self.title, self.area):
            grid.addRow(field.label, field.container)
        grid.addRow("Zuständig:", self.owner)
        for field in (self.status, self.concept, self.groups, self.description, self.objective):
            grid.addRow(field.label, field.container)
        grid.addRow(self.networking.container)
        self.sections.addTab(scroll(basics), self.SECTIONS[0])

        # Kennzahlen
        directions = [(c.code, c.label) for c in ref.codes("indicator_directions").entries]
        self.indicators = f.add(TableField(
            "indicators", "Kennzahlen:",
            [TableColumn("name", "Kennzahl", width=220),
             TableColumn("unit", "Einheit", width=90),
             TableColumn("baseline", "Ausgangswert", width=100),
             TableColumn("target", "Zielwert", width=90),
             TableColumn("direction", "Richtung", "choice", directions, width=170)],
            add_label="Kennzahl &hinzufügen",
            description="Kennzahlen mit Einheit, Ausgangs- und Zielwert. F2 bearbeitet eine "
                        "Zelle.",
            new_row=lambda: {"name": "", "unit": "", "baseline": "", "target": "",
                             "direction": "steigend"}))
        self.actuals = QTableWidget(0, 0)
        self.actuals.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        describe(self.actuals, "Istwerte je Betrachtungszeitraum",
                 "Aus den Bewertungen; nur zum Lesen")
        self.actuals.setMinimumHeight(120)
        page = QWidget()
        box = QVBoxLayout(page)
        box.addWidget(self.indicators.label)
        box.addWidget(self.indicators.container, 2)
        actual_label = QLabel("Istwerte je Betrachtungszeitraum (aus den Bewertungen, nur "
                              "lesbar):")
        actual_label.setBuddy(self.actuals)
        box.addWidget(actual_label)
        box.addWidget(self.actuals, 1)
        self.sections.addTab(page, self.SECTIONS[1])

        # Kosten
        categories = [(c.code, c.label) for c in ref.codes("budget_categories").entries]
        sources = [(c.code, c.label) for c in ref.codes("funding_sources").entries]
        self.budget = f.add(TableField(
            "budget_lines", "Kostenrahmen:",
            [TableColumn("year", "Haushaltsjahr", width=100),
             TableColumn("category", "Kostenart", "choice", categories, width=170),
             TableColumn("funding_source", "Finanzierung", "choice", sources, width=200),
             TableColumn("planned_cents", "Geplant (€)", width=120),
             TableColumn("note", "Bemerkung")],
            add_label="Kostenposition &hinzufügen",
            description="Haushaltspositionen je Jahr mit Kostenart, Finanzierungsquelle und "
                        "geplantem Betrag (z. B. 1.234,56)",
            new_row=lambda: {"year": str(date.today().year), "category": "sach",
                             "funding_source": "kreis", "planned_cents": "", "note": ""}))
        self.sums = QLabel()
        self.sums.setWordWrap(True)
        self.sums.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse
                                          | Qt.TextInteractionFlag.TextSelectableByKeyboard)
        self.sums.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        describe(self.sums, "Summen der Kosten", "Summen je Jahr, gesamt und bisher ausgegeben")
        page = QWidget()
        box = QVBoxLayout(page)
        box.addWidget(self.budget.label)
        box.addWidget(self.budget.container, 1)
        box.addWidget(self.sums)
        self.sections.addTab(page, self.SECTIONS[2])

        # Zeitplan
        self.start = f.add(DateField("start_date", "&Beginn:"))
        self.end = f.add(DateField("end_date", "&Ende:"))
        self.milestones = f.add(TableField(
            "milestones", "Meilensteine:",
            [TableColumn("title", "Meilenstein", width=260),
             TableColumn("due_date", "Fällig am", width=100),
             TableColumn("done", "Erledigt", "check", width=80),
             TableColumn("done_on", "Erledigt am", width=100)],
            add_label="Meilenstein &hinzufügen",
            description="Meilensteine mit Fälligkeit (TT.MM.JJJJ); Leertaste hakt „Erledigt“ an",
            new_row=lambda: {"title": "", "due_date": "", "done": False, "done_on": ""}))
        page = QWidget()
        box = QVBoxLayout(page)
        dates = QFormLayout()
        dates.addRow(self.start.label, self.start.container)
        dates.addRow(self.end.label, self.end.container)
        box.addLayout(dates)
        box.addWidget(self.milestones.label)
        box.addWidget(self.milestones.container, 1)
        self.sections.addTab(page, self.SECTIONS[3])

        # Beteiligte
        roles = [(c.code, c.label) for c in ref.codes("partner_roles").entries]
        self.partners = f.add(TableField(
            "partners", "Beteiligte Partner:",
            [TableColumn("partner_name", "Partner", "readonly", width=320),
             TableColumn("role", "Rolle", "choice", roles, width=150)],
            add_label="Partner &hinzufügen …",
            description="Beteiligte Akteure mit ihrer Rolle; „Partner hinzufügen“ öffnet die "
                        "Suche",
            add_handler=self._pick_partner))
        page = QWidget()
        box = QVBoxLayout(page)
        box.addWidget(self.partners.label)
        box.addWidget(self.partners.container, 1)
        self.sections.addTab(page, self.SECTIONS[4])

        # Orte
        own = [m for m in ref.municipalities() if m.office_key == ws.office_key]
        other = [m for m in ref.municipalities() if m.office_key != ws.office_key]
        choices = [(m.key, f"{m.name} ({labels.office(m.office_key)})") for m in own + other]
        self.places = f.add(ChecklistField("municipalities", "&Orte:", choices,
                                           "Gemeinden, in denen die Maßnahme stattfindet",
                                           with_filter=True, height=260))
        page = QWidget()
        box = QVBoxLayout(page)
        box.addWidget(self.places.label)
        box.addWidget(self.places.container, 1)
        self.sections.addTab(page, self.SECTIONS[5])

        # Verlauf
        self.history = history_model(labels, self)
        self.history_view = QTableView()
        self.history_view.setModel(self.history)
        self.history_view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.history_view.verticalHeader().setVisible(False)
        self.history_view.horizontalHeader().setStretchLastSection(True)
        describe(self.history_view, "Verlauf der Änderungen",
                 "Wer hat wann welches Feld von welchem Wert auf welchen geändert")
        self.sections.addTab(self.history_view, self.SECTIONS[6])
        self.sections.currentChanged.connect(self._section_changed)
        self.clear()

    # -- data hooks ----------------------------------------------------------------------------

    def new_record(self) -> MeasureData:
        today = date.today()
        concept = next((p.key for p in self.ws.reference.concept_periods
                        if p.start_year <= today.year <= p.end_year), None)
        return MeasureData(office_key=self.ws.office_key, concept_period=concept)

    def title_of(self, record: MeasureData) -> str:
        if record.id is None:
            return "Neue Maßnahme"
        return f"{record.code} · {record.title}"

    def fetch(self, record_id: str) -> MeasureData:
        from integrationsplaner.services import measures as measure_service

        return measure_service.get_measure(self.ws, record_id)

    def store(self, data: MeasureData) -> str:
        from integrationsplaner.services import measures as measure_service

        return measure_service.save_measure(self.ws, data).id

    def set_deleted(self, record_id: str, deleted: bool) -> None:
        from integrationsplaner.services import measures as measure_service

        measure_service.set_deleted(self.ws, record_id, deleted)

    def validate(self, data: MeasureData) -> list[Issue]:
        return validate_measure(data, self.ws.reference)

    def load(self, record: Any) -> None:
        from integrationsplaner.services import measure_details

        self._evaluations = (measure_details.evaluations_of_measure(self.ws, record.id)
                             if record.id else [])
        self._history_loaded_for = None
        super().load(record)
        changed = ""
        if record.updated_at:
            changed = (f" · zuletzt geändert am {format_datetime(record.updated_at)} von "
                       f"{record.updated_by}")
        self.owner.setText(self.labels.office_name(record.office_key) + changed)
        if self.sections.currentWidget() is self.history_view:
            self._load_history()

    def to_raw(self, d: MeasureData) -> dict[str, Any]:
        return {
            "code": d.code, "title": d.title, "action_area": d.action_area, "status": d.status,
            "concept_period": d.concept_period, "description": d.description,
            "objective": d.objective, "networking": d.networking,
            "target_groups": list(d.target_groups), "municipalities": list(d.municipalities),
            "start_date": format_date(d.start_date), "end_date": format_date(d.end_date),
            "indicators": [{"name": i.name, "unit": i.unit,
                            "baseline": format_number(i.baseline, 4),
                            "target": format_number(i.target, 4), "direction": i.direction,
                            "_id": i.id} for i in d.indicators],
            "budget_lines": [{"year": str(b.year), "category": b.category,
                              "funding_source": b.funding_source,
                              "planned_cents": format_cents(b.planned_cents), "note": b.note,
                              "_id": b.id} for b in d.budget_lines],
            "milestones": [{"title": m.title, "due_date": format_date(m.due_date),
                            "done": m.done, "done_on": format_date(m.done_on), "_id": m.id}
                           for m in d.milestones],
            "partners": [{"partner_name": p.partner_name, "role": p.role, "_id": p.id,
                          "_extra": p.partner_id} for p in d.partners],
        }

    def to_data(self, raw: dict[str, Any]) -> MeasureData:
        base: MeasureData = self.record
        issues: list[Issue] = []
        indicators = []
        for n, row in enumerate(raw["indicators"]):
            label = f"Kennzahl {n + 1}"
            indicators.append(IndicatorData(
                name=row["name"].strip(), unit=row["unit"].strip(),
                baseline=parse_optional_number(issues, f"indicators[{n}].baseline",
                                               f"{label}, Ausgangswert", row["baseline"]),
                target=parse_optional_number(issues, f"indicators[{n}].target",
                                             f"{label}, Zielwert", row["target"]),
                direction=row["direction"] or "steigend", id=row["_id"]))
        budget = []
        for n, row in enumerate(raw["budget_lines"]):
            label = f"Kostenposition {n + 1}"
            try:
                year = int(row["year"].strip())
            except ValueError:
                issues.append(Issue(f"budget_lines[{n}].year",
                                    f"{label}: Haushaltsjahr „{row['year']}“ ist keine Jahreszahl "
                                    "(z. B. 2025)."))
                year = 0
            cents = 0
            try:
                cents = parse_cents(row["planned_cents"])
            except ValueError as exc:
                issues.append(Issue(f"budget_lines[{n}].planned_cents",
                                    f"{label}, geplanter Betrag: {exc}"))
            budget.append(BudgetLineData(year=year, category=row["category"] or "sach",
                                         funding_source=row["funding_source"] or "kreis",
                                         planned_cents=cents, note=row["note"].strip(),
                                         id=row["_id"]))
        milestones = []
        for n, row in enumerate(raw["milestones"]):
            label = f"Meilenstein {n + 1}"
            milestones.append(MilestoneData(
                title=row["title"].strip(),
                due_date=parse_optional_date(issues, f"milestones[{n}].due_date",
                                             f"{label}, fällig am", row["due_date"]),
                done=bool(row["done"]),
                done_on=parse_optional_date(issues, f"milestones[{n}].done_on",
                                            f"{label}, erledigt am", row["done_on"]),
                id=row["_id"]))
        links = [ParticipationData(partner_id=row["_extra"] or "", role=row["role"] or "partner",
                                   partner_name=row["partner_name"], id=row["_id"])
                 for row in raw["partners"]]
        data = MeasureData(
            office_key=base.office_key, code=raw["code"].strip(), title=raw["title"].strip(),
            action_area=int(raw["action_area"] or 1), status=raw["status"] or "geplant",
            concept_period=raw["concept_period"], description=raw["description"],
            objective=raw["objective"], networking=bool(raw["networking"]),
            start_date=parse_optional_date(issues, "start_date", "Beginn", raw["start_date"]),
            end_date=parse_optional_date(issues, "end_date", "Ende", raw["end_date"]),
            target_groups=list(raw["target_groups"]), municipalities=list(raw["municipalities"]),
            indicators=indicators, budget_lines=budget, milestones=milestones, partners=links,
            id=base.id, version=dict(base.version), deleted=base.deleted)
        if issues:
            raise ValidationError(issues)
        return data

    # -- read-only parts -------------------------------------------------------------------------

    def after_load(self) -> None:
        self._update_sums()
        self._update_actuals()

    def after_edit(self, key: str) -> None:
        if key.startswith("budget_lines"):
            self._update_sums()
        if key.startswith("indicators"):
            self._update_actuals()

    def _update_sums(self) -> None:
        per_year: dict[int, int] = defaultdict(int)
        unreadable = 0
        for row in self.budget.get():
            try:
                per_year[int(row["year"])] += parse_cents(row["planned_cents"])
            except ValueError:
                unreadable += 1
        spent = sum(e.costs_spent_cents or 0 for e in self._evaluations)
        parts = [f"{year}: {format_cents(cents)}" for year, cents in sorted(per_year.items())]
        text = "Geplant je Jahr: " + ("; ".join(parts) if parts else "noch keine Positionen")
        text += f"\nGeplant gesamt: {format_cents(sum(per_year.values()))}"
        periods = sum(1 for e in self._evaluations if e.costs_spent_cents is not None)
        text += (f"\nBisher ausgegeben (laut {periods} Bewertung{'en' if periods != 1 else ''}): "
                 f"{format_cents(spent)}")
        if unreadable:
            text += f"\n{unreadable} Position(en) ohne gültigen Betrag sind nicht mitgezählt."
        self.sums.setText(text)

    def _update_actuals(self) -> None:
        rows = self.indicators.get()
        ids = [r["_id"] for r in rows]
        self.actuals.clear()
        self.actuals.setColumnCount(len(rows))
        self.actuals.setHorizontalHeaderLabels(
            [f"{r['name']} ({r['unit']})" if r["unit"] else r["name"] for r in rows])
        evaluations = [e for e in self._evaluations if any(
            e.actual_values.get(i) is not None for i in ids if i)]
        self.actuals.setRowCount(len(evaluations))
        self.actuals.setVerticalHeaderLabels([HalfYear.parse(e.period).label
                                              for e in evaluations])
        for r, evaluation in enumerate(evaluations):
            for c, indicator_id in enumerate(ids):
                value = evaluation.actual_values.get(indicator_id) if indicator_id else None
                item = QTableWidgetItem(format_number(value, 4) if value is not None else "–")
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.actuals.setItem(r, c, item)

    def _section_changed(self, _index: int) -> None:
        if self.sections.currentWidget() is self.history_view:
            self._load_history()

    def _load_history(self) -> None:
        record_id = self.record_id
        if record_id is None:
            self.history.set_rows([])
            return
        if self._history_loaded_for == record_id:
            return
        self._history_loaded_for = record_id
        from integrationsplaner.services import audit, measure_details

        ids = measure_details.part_ids(self.ws, record_id)
        self.history.set_rows(audit.history(self.ws, ids))

    def reveal(self, field: Field) -> None:
        for n in range(self.sections.count()):
            if self.sections.widget(n).isAncestorOf(field.widget):
                self.sections.setCurrentIndex(n)
                return

    def _pick_partner(self) -> dict[str, Any] | None:
        picker = PartnerPicker(self.ws, self.labels, self)
        if picker.exec() != QDialog.DialogCode.Accepted:
            return None
        chosen = picker.chosen()
        if chosen is None:
            return None
        row, role = chosen
        return {"partner_name": row.name, "role": role, "_extra": row.id}
