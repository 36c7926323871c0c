"""The Maßnahmen tab: filter bar, lazy measure list, measure editor."""

from __future__ import annotations

import time
from datetime import date
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from integrationsplaner.domain.formatting import format_number
from integrationsplaner.domain.model import MeasureFilter
from integrationsplaner.domain.periods import HalfYear, half_years
from integrationsplaner.services.workspace import Workspace
from integrationsplaner.ui.forms import describe
from integrationsplaner.ui.labels import Labels
from integrationsplaner.ui.models import MeasureTableModel
from integrationsplaner.ui.settings import Settings
from integrationsplaner.ui.tab_base import ListEditorTab, make_table

if TYPE_CHECKING:
    from integrationsplaner.ui.measure_editor import MeasureEditor

ALL = None


def _periods(ws: Workspace) -> list[HalfYear]:
    """Half-years from the first concept period up to now, newest first (no database query:
    the filter needs only their names)."""
    first = min(p.start_year for p in ws.reference.concept_periods)
    last = HalfYear.containing(date.today())
    return sorted((p for p in half_years(first, last.year) if p <= last), reverse=True)


def _combo(name: str, description: str, all_label: str,
           items: list[tuple[Any, str]]) -> QComboBox:
    combo = QComboBox()
    combo.addItem(all_label, ALL)
    for code, text in items:
        combo.addItem(text, code)
    describe(combo, name, description)
    combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
    combo.setMinimumContentsLength(max(12, len(all_label)))  # "Alle Handlungsfelder" in full
    return combo


class MeasureFilterBar(QWidget):
    """Free text (full-text index), action area, office, status, target group, partner, period,
    Papierkorb. Typing is debounced; every change emits the whole filter."""

    changed = Signal(object)
    DEBOUNCE_MS = 200

    def __init__(self, ws: Workspace, labels: Labels, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ws = ws
        self.labels = labels
        ref = ws.reference
        self.partner_id: str | None = None
        self.search = QLineEdit()
        self.search.setPlaceholderText("Titel, Beschreibung, Zielsetzung oder Kennung …")
        self.search.setClearButtonEnabled(True)
        describe(self.search, "Maßnahmen suchen",
                 "Volltextsuche; die Liste filtert beim Tippen (Strg+F springt hierher)")
        search_label = QLabel("&Suchen:")
        search_label.setBuddy(self.search)
        self.area = _combo("Handlungsfeld", "Nur Maßnahmen dieses Handlungsfelds",
                           "Alle Handlungsfelder",
                           [(a.number, f"{a.number} {a.short_title}") for a in ref.action_areas])
        self.office = _combo("Dienststelle", "Nur Maßnahmen dieser Dienststelle",
                             "Alle Dienststellen", [(o.key, o.short_name) for o in ref.offices])
        self.status = _combo("Status", "Nur Maßnahmen mit diesem Status", "Alle Status",
                             [(c.code, c.label) for c in ref.codes("measure_statuses").entries])
        self.group = _combo("Zielgruppe", "Nur Maßnahmen für diese Zielgruppe",
                            "Alle Zielgruppen",
                            [(c.code, c.label) for c in ref.codes("target_groups").entries])
        self.period = _combo("Zeitraum", "Nur Maßnahmen, die in diesem Halbjahr laufen",
                             "Alle Zeiträume",
                             [(p.key, p.label) for p in _periods(ws)])
        self.partner = QPushButton("Partner: alle …")
        describe(self.partner, "Partner-Filter",
                 "Nur Maßnahmen, an denen ein bestimmter Partner beteiligt ist; öffnet die Suche")
        self.partner_clear = QPushButton("×")
        self.partner_clear.setFixedWidth(28)
        describe(self.partner_clear, "Partner-Filter aufheben")
        self.partner_clear.setVisible(False)
        self.trash = QCheckBox("&Papierkorb")
        describe(self.trash, "Papierkorb anzeigen",
                 "Zeigt gelöschte Maßnahmen, die wiederhergestellt werden können")
        self.reset = QPushButton("Filter &zurücksetzen")
        describe(self.reset, "Filter zurücksetzen", "Hebt alle Filter auf")
        self.count = QLabel()
        self.count.setAccessibleName("Anzahl der gefundenen Maßnahmen")

        grid = QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        top = QHBoxLayout()
        top.addWidget(search_label)
        top.addWidget(self.search, 1)
        top.addWidget(self.count)
        grid.addLayout(top, 0, 0, 1, 4)
        grid.addWidget(self.area, 1, 0)
        grid.addWidget(self.office, 1, 1)
        grid.addWidget(self.status, 1, 2)
        grid.addWidget(self.group, 1, 3)
        grid.addWidget(self.period, 2, 0)
        partner_box = QHBoxLayout()
        partner_box.setSpacing(2)
        partner_box.addWidget(self.partner, 1)
        partner_box.addWidget(self.partner_clear)
        grid.addLayout(partner_box, 2, 1)
        grid.addWidget(self.trash, 2, 2)
        grid.addWidget(self.reset, 2, 3)

        self._timer = QTimer(self, singleShot=True, interval=self.DEBOUNCE_MS)
        self._timer.timeout.connect(self._emit)
        self.search.textChanged.connect(lambda _t: self._timer.start())
        self.search.returnPressed.connect(self._emit_now)
        for combo in (self.area, self.office, self.status, self.group, self.period):
            combo.currentIndexChanged.connect(self._emit)
        self.trash.toggled.connect(self._emit)
        self.reset.clicked.connect(self.clear)
        self.partner.clicked.connect(self._pick_partner)
        self.partner_clear.clicked.connect(lambda: self.set_partner(None, ""))
        self._muted = False

    def _emit_now(self) -> None:
        self._timer.stop()
        self._emit()

    def _emit(self, *_args: Any) -> None:
        if not self._muted:
            self.changed.emit(self.value())

    def value(self) -> MeasureFilter:
        def one(combo: QComboBox) -> tuple:
            data = combo.currentData()
            return () if data is None else (data,)

        return MeasureFilter(
            text=self.search.text(), action_areas=one(self.area), offices=one(self.office),
            statuses=one(self.status), target_group=self.group.currentData(),
            partner_id=self.partner_id, period=self.period.currentData(),
            deleted=self.trash.isChecked())

    def set_value(self, flt: MeasureFilter, partner_name: str = "") -> None:
        """Show a filter (e.g. from a click in the Übersicht) and emit it once."""
        self._muted = True
        try:
            self._timer.stop()
            self.search.setText(flt.text)
            for combo, values in ((self.area, flt.action_areas), (self.office, flt.offices),
                                  (self.status, flt.statuses)):
                combo.setCurrentIndex(max(0, combo.findData(values[0])) if values else 0)
            self.group.setCurrentIndex(max(0, self.group.findData(flt.target_group))
                                       if flt.target_group else 0)
            self.period.setCurrentIndex(max(0, self.period.findData(flt.period))
                                        if flt.period else 0)
            self.trash.setChecked(flt.deleted)
            self.set_partner(flt.partner_id, partner_name, emit=False)
        finally:
            self._muted = False
        self._emit()

    def clear(self) -> None:
        self.set_value(MeasureFilter())

    def set_partner(self, partner_id: str | None, name: str, emit: bool = True) -> None:
        self.partner_id = partner_id
        self.partner.setText(f"Partner: {name}" if partner_id else "Partner: alle …")
        self.partner_clear.setVisible(partner_id is not None)
        if emit:
            self._emit()

    def _pick_partner(self) -> None:
        from integrationsplaner.ui.measure_editor import PartnerPicker

        picker = PartnerPicker(self.ws, self.labels, self)
        picker.setWindowTitle("Nach Partner filtern")
        picker.role.setVisible(False)
        if picker.exec() == QDialog.DialogCode.Accepted and picker.chosen() is not None:
            row, _role = picker.chosen()
            self.set_partner(row.id, row.name)

    def set_count(self, count: int, loading: bool = False) -> None:
        noun = "Maßnahme" if count == 1 else "Maßnahmen"
        where = " im Papierkorb" if self.trash.isChecked() else ""
        text = f"{format_number(count, 0)} {noun}{where}"
        if loading:
            text = f"{text} (Liste wird geladen …)"
        self.count.setText(text)
        self.count.setAccessibleDescription(text)


class MeasuresTab(ListEditorTab):
    state_key = "measures"
    title = "&Maßnahmen"

    def __init__(self, ws: Workspace, labels: Labels, settings: Settings,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ws = ws
        self.labels = labels
        self.settings = settings
        self.last_filter_ms = 0.0
        self.filter_bar = MeasureFilterBar(ws, labels)
        self.model = MeasureTableModel(ws, labels, self)
        self.view = make_table("Liste der Maßnahmen",
                               "Pfeiltasten wählen eine Maßnahme; sie erscheint rechts im Editor. "
                               "Ein Klick auf eine Spaltenüberschrift sortiert.")
        self.align_left(self.view)
        self.view.setModel(self.model)
        self.view.sortByColumn(1, Qt.SortOrder.AscendingOrder)
        for column, width in enumerate((80, 300, 130, 140, 90, 85, 85)):
            self.view.setColumnWidth(column, width)
        self.new_button = QPushButton("&Neue Maßnahme")
        describe(self.new_button, "Neue Maßnahme", "Legt eine neue Maßnahme an (Strg+N)")
        self.new_button.clicked.connect(self.new_record)

        left = QWidget()
        box = QVBoxLayout(left)
        box.setContentsMargins(6, 6, 6, 6)
        box.addWidget(self.filter_bar)
        box.addWidget(self.view, 1)
        buttons = QHBoxLayout()
        buttons.addWidget(self.new_button)
        buttons.addStretch(1)
        box.addLayout(buttons)
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(left)
        self.splitter.addWidget(QWidget())  # the editor's place until it is built
        self.splitter.setSizes([700, 640])
        self.splitter.setChildrenCollapsible(False)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.splitter)

        self.filter_bar.changed.connect(self.apply_filter)
        self.model.countChanged.connect(self._count_changed)
        self.model.loadingChanged.connect(self._loading_changed)
        self.model.modelReset.connect(self.reselect)
        self.connect_view()
        self.setTabOrder(self.filter_bar.reset, self.view)
        self.setTabOrder(self.view, self.new_button)

    def start(self) -> None:
        self.model.start()

    def build_editor(self) -> MeasureEditor:
        """Built on first use, or right after the first rows are painted at start
        (MainWindow.finish_start): its widgets and modules are not needed for them."""
        from integrationsplaner.ui.measure_editor import MeasureEditor

        editor = MeasureEditor(self.ws, self.labels)
        placeholder = self.splitter.replaceWidget(1, editor)
        if placeholder is not None:
            placeholder.deleteLater()
        editor.saved.connect(self._record_changed)
        editor.deletedChanged.connect(lambda rid, _d: self._record_changed(rid))
        self.setTabOrder(self.new_button, editor.sections)
        return editor

    # -- list ---------------------------------------------------------------------------------

    def apply_filter(self, flt: MeasureFilter) -> None:
        began = time.perf_counter()
        self.model.set_filter(flt)
        self.last_filter_ms = (time.perf_counter() - began) * 1000

    def show_filter(self, flt: MeasureFilter) -> None:
        self.filter_bar.set_value(flt)

    def _count_changed(self, count: int) -> None:
        loading = self.model.loading
        self.filter_bar.set_count(self.model.live_total if loading else count, loading)

    def _loading_changed(self, loading: bool) -> None:
        self.filter_bar.set_count(
            self.model.live_total if loading else self.model.rowCount(), loading)
        if not loading:
            self.model.set_filter(self.filter_bar.value())

    def _record_changed(self, record_id: str) -> None:
        self.model.records_changed([record_id])
        self.reselect()

    def id_at(self, row: int) -> str | None:
        return self.model.id_at(row)

    def row_of(self, record_id: str | None) -> int:
        return self.model.row_of(record_id)

    def open_id(self, record_id: str) -> None:
        self.editor.load(self.editor.fetch(record_id))

    # -- commands -------------------------------------------------------------------------------

    def new_record(self) -> None:
        if not self.editor.maybe_leave():
            return
        if self.filter_bar.trash.isChecked():
            self.filter_bar.trash.setChecked(False)
        self.view.selectionModel().clear()
        self.editor.load(self.editor.new_record())
        self.editor.sections.setCurrentIndex(0)
        self.editor.code.widget.setFocus()

    def focus_search(self) -> None:
        self.filter_bar.search.setFocus()
        self.filter_bar.search.selectAll()

    def refresh(self) -> None:
        self.model.reload_all()
        record_id = self.current_id()
        if record_id and not self.is_dirty():
            self._open(record_id)

    def restore_state(self, settings: Settings) -> None:
        super().restore_state(settings)
        if not settings.measures_header.isEmpty():  # the list always starts sorted by title
            self.view.horizontalHeader().setSortIndicator(1, Qt.SortOrder.AscendingOrder)


