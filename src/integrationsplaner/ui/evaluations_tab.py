"""The Bewertungen tab: choose a review period, see every measure running in it with the state
of its evaluation (fehlt, Entwurf, abgeschlossen), enter the evaluation beside the previous
period's one, close the period."""

from __future__ import annotations

import html
from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSplitter,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from integrationsplaner.domain.formatting import (
    format_cents,
    format_date,
    format_datetime,
    format_number,
    parse_cents,
)
from integrationsplaner.domain.model import EvaluationData, EvaluationRow, MeasureData
from integrationsplaner.domain.periods import HalfYear
from integrationsplaner.domain.validation import validate_evaluation
from integrationsplaner.errors import Issue, UserError, ValidationError
from integrationsplaner.services import evaluations as evaluation_service
from integrationsplaner.services import measures as measure_service
from integrationsplaner.services import periods as period_service
from integrationsplaner.services.workspace import Workspace
from integrationsplaner.ui import msgbox
from integrationsplaner.ui.editor import RecordEditor, scroll
from integrationsplaner.ui.forms import (
    ComboField,
    DateField,
    LineField,
    SpinField,
    TextField,
    describe,
)
from integrationsplaner.ui.labels import Labels
from integrationsplaner.ui.measure_editor import parse_optional_date, parse_optional_number
from integrationsplaner.ui.models import Column, RowListModel
from integrationsplaner.ui.settings import Settings
from integrationsplaner.ui.tab_base import ListEditorTab, make_table
from integrationsplaner.ui.table_field import TableColumn, TableField
from integrationsplaner.ui.tasks import run_task


class EvaluationEditor(RecordEditor):
    what = "Die Bewertung"
    openMeasure = Signal(str)

    def __init__(self, ws: Workspace, labels: Labels, parent: QWidget | None = None) -> None:
        super().__init__(ws, labels, parent)
        ref = ws.reference
        self.measure: MeasureData | None = None
        self.period_info: period_service.PeriodInfo | None = None
        self.delete_button.setVisible(False)
        self.restore_button.setVisible(False)
        f = self.form
        self.state = f.add(ComboField("state", "S&tand:", [
            ("entwurf", labels.state("entwurf")),
            ("abgeschlossen", labels.state("abgeschlossen"))],
            "Entwurf oder abgeschlossene Bewertung"))
        self.rating = f.add(ComboField(
            "rating", "&Einstufung:",
            [(c.code, f"{c.symbol} {c.label}") for c in ref.codes("ratings").entries],
            "Wie die Maßnahme im Zeitraum verlaufen ist", none_label="– noch keine –"))
        self.progress = f.add(SpinField("progress", "&Fortschritt:", 0, 100, " %",
                                        "Fortschritt der Maßnahme in Prozent"))
        self.actuals = f.add(TableField(
            "actual_values", "Istwerte der Kennzahlen:",
            [TableColumn("name", "Kennzahl", "readonly", width=200),
             TableColumn("unit", "Einheit", "readonly", width=80),
             TableColumn("baseline", "Ausgangswert", "readonly", width=95),
             TableColumn("target", "Zielwert", "readonly", width=80),
             TableColumn("actual", "Istwert", width=80)],
            description="Istwert je Kennzahl im Zeitraum; F2 bearbeitet die Zelle"))
        self.actuals.add_button.setVisible(False)
        self.actuals.remove_button.setVisible(False)
        self.actuals.table.setMinimumHeight(110)
        self.costs = f.add(LineField("costs_spent_cents", "A&usgaben im Zeitraum (€):",
                                     "Betrag, z. B. 1.234,56", max_length=20))
        self.total = f.add(SpinField("participants_total", "Teilnehmende &gesamt:", 0,
                                     10_000_000, description="Nur Anzahlen, keine Namen"))
        self.female = f.add(SpinField("participants_female", "davon &weiblich:", 0, 10_000_000))
        self.minors = f.add(SpinField("participants_minors", "davon &minderjährig:", 0,
                                      10_000_000))
        self.results = f.add(TextField("results", "E&rgebnisse:", height=60))
        self.obstacles = f.add(TextField("obstacles", "&Hindernisse:", height=60))
        self.next_steps = f.add(TextField("next_steps", "&Nächste Schritte:", height=60))
        self.recommendation = f.add(ComboField(
            "recommendation", "Em&pfehlung:",
            [(c.code, c.label) for c in ref.codes("recommendations").entries],
            none_label="– keine –"))
        self.evaluated_by = f.add(LineField("evaluated_by", "Bewertet &von:", max_length=200))
        self.evaluated_on = f.add(DateField("evaluated_on", "Bewertet &am:"))

        form_page = QWidget()
        grid = QFormLayout(form_page)
        for field in (self.state, self.rating, self.progress):
            grid.addRow(field.label, field.container)
        grid.addRow(self.actuals.label)
        grid.addRow(self.actuals.container)
        for field in (self.costs, self.total, self.female, self.minors, self.results,
                      self.obstacles, self.next_steps, self.recommendation, self.evaluated_by,
                      self.evaluated_on):
            grid.addRow(field.label, field.container)
        self.previous = QTextBrowser()
        self.previous.setOpenLinks(False)
        describe(self.previous, "Bewertung des vorigen Zeitraums",
                 "Zum Vergleich; nur zum Lesen")
        previous_box = QWidget()
        pbox = QVBoxLayout(previous_box)
        pbox.setContentsMargins(0, 0, 0, 0)
        self.previous_title = QLabel("Voriger Zeitraum")
        self.previous_title.setBuddy(self.previous)
        pbox.addWidget(self.previous_title)
        pbox.addWidget(self.previous)
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(scroll(form_page))
        split.addWidget(previous_box)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        split.setChildrenCollapsible(False)
        self.body.addWidget(split)
        self.open_measure_button = QPushButton("&Maßnahme öffnen")
        describe(self.open_measure_button, "Maßnahme öffnen",
                 "Zeigt die bewertete Maßnahme im Bereich Maßnahmen")
        self.open_measure_button.clicked.connect(
            lambda: self.measure and self.measure.id and self.openMeasure.emit(self.measure.id))
        self.button_row.insertWidget(3, self.open_measure_button)
        self.clear("Bitte wählen Sie links eine Maßnahme.")

    def _update_buttons(self) -> None:
        super()._update_buttons()
        self.delete_button.setVisible(False)
        self.restore_button.setVisible(False)

    # -- loading ---------------------------------------------------------------------------

    def show_measure(self, measure_id: str, period: period_service.PeriodInfo) -> None:
        measure = measure_service.get_measure(self.ws, measure_id)
        evaluation = evaluation_service.get_evaluation(self.ws, measure_id, period.key)
        if evaluation is None:
            evaluation = evaluation_service.new_evaluation(self.ws, measure_id, period.key)
            evaluation.evaluated_by = self.ws.user
        self.measure = measure
        self.period_info = period
        self.load(evaluation)
        self._show_previous(evaluation_service.previous_evaluation(self.ws, measure_id,
                                                                   period.key))

    def fetch(self, record_id: str) -> EvaluationData:
        assert self.measure is not None and self.period_info is not None
        found = evaluation_service.get_evaluation(self.ws, self.measure.id or "",
                                                  self.period_info.key)
        if found is None:
            raise UserError("Die Bewertung gibt es nicht (mehr).")
        return found

    def discard(self) -> None:
        if self.record is not None and self.record.id is None:
            self.load(self.record)
            return
        super().discard()

    def store(self, data: EvaluationData) -> str:
        result = evaluation_service.save_evaluation(self.ws, data)
        if result.warnings:
            msgbox.warning(self, "Hinweis", "\n".join(result.warnings))
        return result.id

    def title_of(self, record: EvaluationData) -> str:
        if self.measure is None:
            return ""
        return (f"{self.measure.code} · {self.measure.title}\n"
                f"Bewertung {HalfYear.parse(record.period).label}")

    def readonly_reason_for(self, record: Any) -> str:
        info = self.period_info
        if info is not None and info.closed:
            when = f" am {format_datetime(info.closed_at)}" if info.closed_at else ""
            who = f" von {info.closed_by}" if info.closed_by else ""
            return (f"Nur zum Lesen: Der Zeitraum {info.label} wurde{when}{who} abgeschlossen. "
                    "Bewertungen darin können nicht mehr geändert werden.")
        return super().readonly_reason_for(record)

    def validate(self, data: EvaluationData) -> list[Issue]:
        measure = self.measure
        issues = validate_evaluation(
            data, self.ws.reference,
            measure_start=measure.start_date if measure else None,
            measure_end=measure.end_date if measure else None)
        return [i for i in issues if not i.warning]

    def to_raw(self, e: EvaluationData) -> dict[str, Any]:
        indicators = self.measure.indicators if self.measure else []
        return {
            "state": e.state, "rating": e.rating, "progress": e.progress,
            "actual_values": [
                {"name": i.name, "unit": i.unit, "baseline": format_number(i.baseline, 4),
                 "target": format_number(i.target, 4),
                 "actual": format_number(e.actual_values.get(i.id or ""), 4), "_id": i.id}
                for i in indicators],
            "costs_spent_cents": format_cents(e.costs_spent_cents),
            "participants_total": e.participants_total,
            "participants_female": e.participants_female,
            "participants_minors": e.participants_minors,
            "results": e.results, "obstacles": e.obstacles, "next_steps": e.next_steps,
            "recommendation": e.recommendation, "evaluated_by": e.evaluated_by,
            "evaluated_on": format_date(e.evaluated_on),
        }

    def to_data(self, raw: dict[str, Any]) -> EvaluationData:
        base: EvaluationData = self.record
        issues: list[Issue] = []
        actual: dict[str, float | None] = {}
        for n, row in enumerate(raw["actual_values"]):
            if row["_id"]:
                actual[row["_id"]] = parse_optional_number(
                    issues, f"actual_values[{n}].actual", f"Istwert „{row['name']}“",
                    row["actual"])
        costs = None
        if raw["costs_spent_cents"].strip():
            try:
                costs = parse_cents(raw["costs_spent_cents"])
            except ValueError as exc:
                issues.append(Issue("costs_spent_cents", f"Ausgaben im Zeitraum: {exc}"))
        data = EvaluationData(
            measure_id=base.measure_id, period=base.period, office_key=base.office_key,
            state=raw["state"] or "entwurf", rating=raw["rating"], progress=raw["progress"],
            actual_values=actual, costs_spent_cents=costs,
            participants_total=raw["participants_total"],
            participants_female=raw["participants_female"],
            participants_minors=raw["participants_minors"], results=raw["results"],
            obstacles=raw["obstacles"], next_steps=raw["next_steps"],
            recommendation=raw["recommendation"], evaluated_by=raw["evaluated_by"].strip(),
            evaluated_on=parse_optional_date(issues, "evaluated_on", "Bewertet am",
                                             raw["evaluated_on"]),
            id=base.id, version=dict(base.version))
        if issues:
            raise ValidationError(issues)
        return data

    def _show_previous(self, previous: EvaluationData | None) -> None:
        period = HalfYear.parse(self.record.period).previous() if self.record else None
        self.previous_title.setText(f"Zum Vergleich: {period.label if period else ''}")
        if previous is None:
            self.previous.setPlainText("Für den vorigen Zeitraum gibt es keine Bewertung.")
            return
        lab = self.labels
        names = {i.id: i for i in (self.measure.indicators if self.measure else [])}
        rows = [("Stand", lab.state(previous.state)), ("Einstufung", lab.rating(previous.rating)),
                ("Fortschritt", f"{previous.progress} %" if previous.progress is not None
                 else "–")]
        for key, value in previous.actual_values.items():
            indicator = names.get(key)
            if indicator is not None:
                rows.append((f"Istwert {indicator.name}",
                             f"{format_number(value, 4) or '–'} {indicator.unit}".strip()))
        rows += [("Ausgaben", format_cents(previous.costs_spent_cents) or "–"),
                 ("Teilnehmende", _count(previous.participants_total)),
                 ("davon weiblich", _count(previous.participants_female)),
                 ("davon minderjährig", _count(previous.participants_minors)),
                 ("Ergebnisse", previous.results), ("Hindernisse", previous.obstacles),
                 ("Nächste Schritte", previous.next_steps),
                 ("Empfehlung", lab.code("recommendations", previous.recommendation)),
                 ("Bewertet", f"{previous.evaluated_by} {format_date(previous.evaluated_on)}")]
        body = "".join(f"<p><b>{html.escape(k)}:</b> {html.escape(v or '–')}</p>"
                       for k, v in rows)
        self.previous.setHtml(body)


def _count(value: int | None) -> str:
    return format_number(value, 0) if value is not None else "–"


class EvaluationsTab(ListEditorTab):
    state_key = "evaluations"
    title = "&Bewertungen"
    printSheets = Signal(str)
    openMeasure = Signal(str)
    loaded = Signal()

    def __init__(self, ws: Workspace, labels: Labels, settings: Settings,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ws = ws
        self.labels = labels
        self.settings = settings
        self.periods: list[period_service.PeriodInfo] = []
        self._all_rows: list[EvaluationRow] = []
        self.period = QComboBox()
        describe(self.period, "Betrachtungszeitraum", "Halbjahr, dessen Bewertungen gezeigt werden")
        period_label = QLabel("&Zeitraum:")
        period_label.setBuddy(self.period)
        self.office = QComboBox()
        self.office.addItem("Alle Dienststellen", None)
        for office in ws.reference.offices:
            self.office.addItem(office.short_name, office.key)
        describe(self.office, "Dienststelle", "Nur Maßnahmen dieser Dienststelle")
        self.state = QComboBox()
        self.state.addItem("Alle Stände", None)
        for code in ("fehlt", "entwurf", "abgeschlossen"):
            self.state.addItem(labels.state(code), code)
        describe(self.state, "Stand der Bewertung", "Nur fehlende, Entwürfe oder abgeschlossene")
        self.search = QLineEdit()
        self.search.setPlaceholderText("Kennung oder Titel …")
        self.search.setClearButtonEnabled(True)
        describe(self.search, "Bewertungen suchen", "Filtert nach Kennung oder Titel")
        search_label = QLabel("&Suchen:")
        search_label.setBuddy(self.search)
        self.period_state = QLabel()
        self.period_state.setWordWrap(True)
        self.period_state.setAccessibleName("Stand des Zeitraums")
        self.count = QLabel()
        self.count.setWordWrap(True)
        self.count.setAccessibleName("Zusammenfassung der Bewertungen")
        self.close_button = QPushButton("Zeitraum a&bschließen …")
        describe(self.close_button, "Zeitraum abschließen",
                 "Schließt den Zeitraum nach Rückfrage; danach sind seine Bewertungen nur lesbar")
        self.print_button = QPushButton("Bewertungsbögen &drucken …")
        describe(self.print_button, "Bewertungsbögen drucken",
                 "Bewertungsbögen des Zeitraums für die Sitzungen drucken")
        self.model = RowListModel(
            [Column("Stand", lambda r: labels.state(r.state), bold=lambda r: r.state == "fehlt",
                    sort_key=lambda r: ("fehlt", "entwurf", "abgeschlossen").index(r.state)),
             Column("Kennung", lambda r: r.code),
             Column("Titel", lambda r: r.title),
             Column("HF", lambda r: str(r.action_area), sort_key=lambda r: r.action_area,
                    tooltip=lambda r: labels.area(r.action_area)),
             Column("Dienststelle", lambda r: labels.office(r.office_key)),
             Column("Einstufung", lambda r: labels.rating(r.rating))],
            id_of=lambda r: r.measure_id, parent=self)
        self.view = make_table("Maßnahmen des Zeitraums mit Stand ihrer Bewertung",
                               "Fehlende Bewertungen sind fett und mit ⚠ markiert")
        self.align_left(self.view)
        self.view.setModel(self.model)
        for column, width in enumerate((120, 80, 260, 40, 140)):
            self.view.setColumnWidth(column, width)
        self.view.sortByColumn(0, Qt.SortOrder.AscendingOrder)  # missing ones first
        self.set_editor(EvaluationEditor(ws, labels))
        self.editor.openMeasure.connect(self.openMeasure)

        left = QWidget()
        box = QVBoxLayout(left)
        box.setContentsMargins(6, 6, 6, 6)
        grid = QGridLayout()
        grid.addWidget(period_label, 0, 0)
        grid.addWidget(self.period, 0, 1)
        grid.addWidget(self.office, 0, 2)
        grid.addWidget(self.state, 0, 3)
        grid.addWidget(search_label, 1, 0)
        grid.addWidget(self.search, 1, 1, 1, 3)
        grid.setColumnStretch(1, 1)
        grid.setColumnStretch(2, 1)
        grid.setColumnStretch(3, 1)
        box.addLayout(grid)
        box.addWidget(self.period_state)
        box.addWidget(self.count)
        box.addWidget(self.view, 1)
        buttons = QHBoxLayout()
        buttons.addWidget(self.print_button)
        buttons.addStretch(1)
        buttons.addWidget(self.close_button)
        box.addLayout(buttons)
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(left)
        self.splitter.addWidget(self.editor)
        self.splitter.setChildrenCollapsible(False)
        self.splitter.setSizes([560, 780])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.splitter)

        self._timer = QTimer(self, singleShot=True, interval=200)
        self._timer.timeout.connect(self._apply_filter)
        self.search.textChanged.connect(lambda _t: self._timer.start())
        self.period.currentIndexChanged.connect(self._period_changed)
        self.office.currentIndexChanged.connect(self._apply_filter)
        self.state.currentIndexChanged.connect(self._apply_filter)
        self.close_button.clicked.connect(self.close_period)
        self.print_button.clicked.connect(lambda: self.printSheets.emit(self.period_key()))
        self.model.modelReset.connect(self.reselect)
        self.model.layoutChanged.connect(self.reselect)
        self.editor.saved.connect(lambda _id: self.reload())
        self.connect_view()

    def start(self) -> None:
        self._fill_periods(self.settings.evaluations_period
                           or period_service.current_period().key)

    def _fill_periods(self, wanted: str) -> None:
        self.periods = period_service.list_periods(self.ws)
        self.period.blockSignals(True)
        self.period.clear()
        for info in self.periods:
            self.period.addItem(info.label + (" (abgeschlossen)" if info.closed else ""),
                                info.key)
        index = self.period.findData(wanted)
        self.period.setCurrentIndex(max(index, 0))
        self.period.blockSignals(False)
        self._period_changed()

    def period_key(self) -> str:
        return self.period.currentData() or period_service.current_period().key

    def period_info(self) -> period_service.PeriodInfo:
        key = self.period_key()
        return next((p for p in self.periods if p.key == key),
                    period_service.PeriodInfo(key, HalfYear.parse(key).label, False, None, None))

    def _period_changed(self, *_args: Any) -> None:
        if self.editor.record is not None and self.editor.period_info is not None and (
                self.editor.period_info.key != self.period_key()):
            if not self.editor.maybe_leave():
                self.period.blockSignals(True)
                self.period.setCurrentIndex(self.period.findData(self.editor.period_info.key))
                self.period.blockSignals(False)
                return
            self.editor.clear("Bitte wählen Sie links eine Maßnahme.")
        self.settings.evaluations_period = self.period_key()
        info = self.period_info()
        if info.closed:
            when = f" am {format_datetime(info.closed_at)}" if info.closed_at else ""
            self.period_state.setText(f"🔒 {info.label}: abgeschlossen{when} – nur lesbar")
        else:
            self.period_state.setText(f"{info.label}: offen für Bewertungen")
        self.close_button.setEnabled(not info.closed)
        self.reload()

    def reload(self) -> None:
        ws, key = self.ws, self.period_key()
        run_task(self, lambda: evaluation_service.evaluation_rows(ws, key), self._rows_loaded,
                 key="rows")

    def _rows_loaded(self, rows: list[EvaluationRow]) -> None:
        self._all_rows = rows
        self._apply_filter()
        if self.editor.record is not None and self.editor.period_info is not None:
            self.editor.period_info = self.period_info()
        self.loaded.emit()

    def _apply_filter(self) -> None:
        self._timer.stop()
        office, state = self.office.currentData(), self.state.currentData()
        needle = self.search.text().casefold().strip()
        rows = [r for r in self._all_rows
                if (office is None or r.office_key == office)
                and (state is None or r.state == state)
                and (not needle or needle in r.title.casefold() or needle in r.code.casefold())]
        self.model.set_rows(rows)
        header = self.view.horizontalHeader()
        if header.sortIndicatorSection() >= 0 and self.view.isSortingEnabled():
            self.model.sort(header.sortIndicatorSection(), header.sortIndicatorOrder())
        counts = {s: sum(1 for r in rows if r.state == s)
                  for s in ("fehlt", "entwurf", "abgeschlossen")}
        self.count.setText(
            f"{format_number(len(rows), 0)} Maßnahmen laufen im Zeitraum: "
            f"{counts['fehlt']} {self.labels.state('fehlt')}, "
            f"{counts['entwurf']} {self.labels.state('entwurf')}, "
            f"{counts['abgeschlossen']} {self.labels.state('abgeschlossen')}")

    def show_period(self, period: str, state: str | None = None) -> None:
        index = self.period.findData(period)
        if index >= 0:
            self.period.setCurrentIndex(index)
        self.state.setCurrentIndex(max(0, self.state.findData(state)) if state else 0)

    def id_at(self, row: int) -> str | None:
        record = self.model.row_at(row)
        return record.measure_id if record else None

    def row_of(self, record_id: str | None) -> int:
        if self.editor.measure is None:
            return -1
        return self.model.row_of(self.editor.measure.id)

    def _current_changed(self, current: Any, previous: Any) -> None:
        if self._selecting:
            return
        measure_id = self.id_at(current.row()) if current.isValid() else None
        if measure_id is None or (self.editor.measure is not None
                                  and self.editor.measure.id == measure_id):
            return
        if not self.editor.maybe_leave():
            self._select_row(previous.row() if previous.isValid() else -1)
            return
        self._open(measure_id)

    def open_id(self, record_id: str) -> None:
        self.editor.show_measure(record_id, self.period_info())

    def close_period(self) -> None:
        info = self.period_info()
        if info.closed or not self.editor.maybe_leave():
            return
        missing = sum(1 for r in self._all_rows if r.state == "fehlt")
        drafts = sum(1 for r in self._all_rows if r.state == "entwurf")
        text = f"Den Zeitraum {info.label} abschließen?\n\n"
        if missing or drafts:
            text += (f"Achtung: {missing} Bewertung(en) fehlen noch, {drafts} sind Entwürfe.\n\n")
        text += ("Danach können Bewertungen dieses Zeitraums nicht mehr geändert werden. Das "
                 "lässt sich nicht rückgängig machen.")
        if not msgbox.confirm(self, "close_period", "Zeitraum abschließen", text,
                              "Zeitraum &abschließen"):
            return
        try:
            period_service.close_period(self.ws, info.key)
        except UserError as exc:
            msgbox.warning(self, "Abschließen nicht möglich", exc.message)
            return
        measure_id = self.editor.measure.id if self.editor.measure else None
        self._fill_periods(info.key)
        if measure_id:
            self._open(measure_id)
        self.statusMessage.emit(f"Der Zeitraum {info.label} ist abgeschlossen.")

    def refresh(self) -> None:
        self._fill_periods(self.period_key())

    def activated(self) -> None:
        if self.periods:
            self.reload()



