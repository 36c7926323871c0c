"""The Übersicht tab: key figures, charts (QtCharts) and what needs attention, for a period and
an office. Every figure opens the matching filtered list: a click on a bar, a pie slice or a
figure button (the buttons also work by keyboard)."""

from __future__ import annotations

from typing import Any

from PySide6.QtCharts import (
    QBarCategoryAxis,
    QBarSeries,
    QBarSet,
    QChart,
    QChartView,
    QHorizontalStackedBarSeries,
    QPieSeries,
    QValueAxis,
)
from PySide6.QtCore import QMargins, Qt, Signal
from PySide6.QtGui import QColor, QFontMetrics, QPainter
from PySide6.QtWidgets import (
    QComboBox,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from integrationsplaner.domain.formatting import format_cents, format_date, format_number
from integrationsplaner.domain.model import MeasureFilter
from integrationsplaner.services import overview as overview_service
from integrationsplaner.services import periods as period_service
from integrationsplaner.services.workspace import Workspace
from integrationsplaner.ui.editor import scroll
from integrationsplaner.ui.forms import describe
from integrationsplaner.ui.labels import Labels
from integrationsplaner.ui.models import Column, RowListModel
from integrationsplaner.ui.tab_base import make_table
from integrationsplaner.ui.tasks import run_task

# Colour-blind-safe palette (Okabe–Ito); every series is also named in its legend and labels.
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442"]
STATE_COLORS = {"fehlt": "#D55E00", "entwurf": "#E69F00", "abgeschlossen": "#009E73"}


def _chart(title: str) -> QChart:
    chart = QChart()
    chart.setTitle(title)
    chart.setAnimationOptions(QChart.AnimationOption.NoAnimation)
    chart.legend().setAlignment(Qt.AlignmentFlag.AlignBottom)
    chart.setMargins(QMargins(4, 4, 4, 4))
    chart.setBackgroundRoundness(0)
    return chart


def _view(name: str) -> QChartView:
    view = QChartView()
    view.setRenderHint(QPainter.RenderHint.Antialiasing)
    view.setMinimumSize(300, 260)
    view.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
    view.setAccessibleName(name)
    return view


class OverviewTab(QWidget):
    showMeasures = Signal(object)  # MeasureFilter
    showEvaluations = Signal(str, object)  # period, state or None
    openMeasure = Signal(str)
    loaded = Signal()

    def __init__(self, ws: Workspace, labels: Labels, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ws = ws
        self.labels = labels
        self.data: overview_service.Overview | None = None
        self.period = QComboBox()
        for info in period_service.list_periods(ws):
            self.period.addItem(info.label, info.key)
        self.period.setCurrentIndex(max(0, self.period.findData(
            period_service.current_period().key)))
        describe(self.period, "Betrachtungszeitraum", "Halbjahr der Übersicht")
        period_label = QLabel("&Zeitraum:")
        period_label.setBuddy(self.period)
        self.office = QComboBox()
        self.office.addItem("Alle Dienststellen", None)
        for office in ws.reference.offices:
            self.office.addItem(office.short_name, office.key)
        describe(self.office, "Dienststelle", "Nur Zahlen dieser Dienststelle")
        office_label = QLabel("&Dienststelle:")
        office_label.setBuddy(self.office)
        self.state = QLabel()
        self.state.setAccessibleName("Ladezustand")
        top = QHBoxLayout()
        top.addWidget(period_label)
        top.addWidget(self.period)
        top.addWidget(office_label)
        top.addWidget(self.office)
        top.addStretch(1)
        top.addWidget(self.state)

        # key figures: buttons, so that keyboard users open the lists too
        self.fig_running = QPushButton()
        self.fig_missing = QPushButton()
        self.fig_ending = QPushButton()
        self.fig_overdue = QPushButton()
        figures = QHBoxLayout()
        for button, name, tip in (
                (self.fig_running, "Maßnahmen im Zeitraum", "Öffnet die Liste dieser Maßnahmen"),
                (self.fig_missing, "Fehlende Bewertungen", "Öffnet die fehlenden Bewertungen"),
                (self.fig_ending, "Enden bald", "Maßnahmen, die in 90 Tagen enden"),
                (self.fig_overdue, "Überfällige Meilensteine",
                 "Meilensteine, deren Termin verstrichen ist")):
            describe(button, name, tip)
            button.setMinimumHeight(44)
            figures.addWidget(button)
        self.fig_running.clicked.connect(lambda: self.showMeasures.emit(self._filter()))
        self.fig_missing.clicked.connect(lambda: self.showEvaluations.emit(self.period_key(),
                                                                           "fehlt"))
        self.fig_ending.clicked.connect(lambda: self.ending_view.setFocus())
        self.fig_overdue.clicked.connect(lambda: self.overdue_view.setFocus())

        self.area_view = _view("Maßnahmen nach Handlungsfeld und Status")
        self.eval_view = _view("Bewertungen: erledigt und fehlend")
        self.budget_view = _view("Kosten je Handlungsfeld: geplant und ausgegeben")
        charts = QGridLayout()
        charts.addWidget(self.area_view, 0, 0)
        charts.addWidget(self.eval_view, 0, 1)
        charts.addWidget(self.budget_view, 0, 2)
        charts.setColumnStretch(0, 4)
        charts.setColumnStretch(1, 3)
        charts.setColumnStretch(2, 4)

        self.ending = RowListModel(
            [Column("Ende", lambda r: format_date(r.end_date), sort_key=lambda r: r.end_date),
             Column("Kennung", lambda r: r.code), Column("Titel", lambda r: r.title),
             Column("Dienststelle", lambda r: labels.office(r.office_key))],
            id_of=lambda r: r.measure_id, parent=self)
        self.ending_view = make_table("Maßnahmen, die bald enden",
                                      "Eingabetaste oder Doppelklick öffnet die Maßnahme")
        self.ending_view.setModel(self.ending)
        self.overdue = RowListModel(
            [Column("Fällig", lambda r: format_date(r.due_date), sort_key=lambda r: r.due_date),
             Column("Meilenstein", lambda r: r.title), Column("Kennung", lambda r: r.code),
             Column("Maßnahme", lambda r: r.measure_title),
             Column("Dienststelle", lambda r: labels.office(r.office_key))],
            id_of=lambda r: r.measure_id, parent=self)
        self.overdue_view = make_table("Überfällige Meilensteine",
                                       "Eingabetaste oder Doppelklick öffnet die Maßnahme")
        self.overdue_view.setModel(self.overdue)
        for view in (self.ending_view, self.overdue_view):
            view.setMinimumHeight(160)
            view.setColumnWidth(0, 90)
            view.doubleClicked.connect(self._open)
            view.activated.connect(self._open)
        self.ending_view.setColumnWidth(2, 260)
        self.overdue_view.setColumnWidth(1, 200)
        self.ending_box = QGroupBox("Enden in den nächsten 90 Tagen")
        QVBoxLayout(self.ending_box).addWidget(self.ending_view)
        self.overdue_box = QGroupBox("Überfällige Meilensteine")
        QVBoxLayout(self.overdue_box).addWidget(self.overdue_view)
        lists = QHBoxLayout()
        lists.addWidget(self.ending_box)
        lists.addWidget(self.overdue_box)

        content = QWidget()
        box = QVBoxLayout(content)
        box.addLayout(top)
        box.addLayout(figures)
        box.addLayout(charts, 3)
        box.addLayout(lists, 2)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(scroll(content))
        self.period.currentIndexChanged.connect(self.reload)
        self.office.currentIndexChanged.connect(self.reload)

    def start(self) -> None:
        self.reload()

    def activated(self) -> None:
        if self.data is not None:
            self.reload()

    def refresh(self) -> None:
        self.reload()

    def period_key(self) -> str:
        return self.period.currentData() or period_service.current_period().key

    def offices(self) -> tuple[str, ...]:
        office = self.office.currentData()
        return (office,) if office else ()

    def _filter(self, **extra: Any) -> MeasureFilter:
        return MeasureFilter(period=self.period_key(), offices=self.offices(), **extra)

    def reload(self) -> None:
        self.state.setText("Zahlen werden berechnet …")
        ws, period, offices = self.ws, self.period_key(), self.offices()
        run_task(self, lambda: overview_service.overview(ws, period, offices), self._show,
                 key="overview")

    # -- showing ---------------------------------------------------------------------------------

    def _show(self, data: overview_service.Overview) -> None:
        self.data = data
        self.state.setText("")
        period_label = self.period.currentText()
        evaluations = data.evaluations
        missing = evaluations.get("fehlt", 0)
        self.fig_running.setText(f"{format_number(data.measures_total, 0)} Maßnahmen laufen "
                                 f"im {period_label}")
        self.fig_missing.setText(f"⚠ {format_number(missing, 0)} Bewertungen fehlen")
        self.fig_ending.setText(f"{format_number(data.ending_soon_total, 0)} enden in 90 Tagen")
        self.fig_overdue.setText(f"{format_number(data.overdue_total, 0)} Meilensteine "
                                 "überfällig")
        self._area_chart(data)
        self._evaluation_chart(data)
        self._budget_chart(data)
        self.ending.set_rows(data.ending_soon)
        self.overdue.set_rows(data.overdue)
        self.ending_box.setTitle(f"Enden in den nächsten 90 Tagen ({data.ending_soon_total})")
        self.overdue_box.setTitle(f"Überfällige Meilensteine ({data.overdue_total})")
        self.loaded.emit()

    def _replace_chart(self, view: QChartView, chart: QChart) -> None:
        old = view.chart()
        view.setChart(chart)
        if old is not None:
            old.deleteLater()

    def _area_chart(self, data: overview_service.Overview) -> None:
        chart = _chart("Maßnahmen nach Handlungsfeld und Status")
        areas = [a.number for a in self.ws.reference.action_areas]
        statuses = self.ws.reference.codes("measure_statuses").entries
        series = QHorizontalStackedBarSeries()
        summary = []
        for n, status in enumerate(statuses):
            bar_set = QBarSet(status.label)
            bar_set.setColor(QColor(PALETTE[n % len(PALETTE)]))
            for area in areas:
                bar_set.append(data.by_area_status.get(area, {}).get(status.code, 0))
            bar_set.clicked.connect(
                lambda index, code=status.code: self.showMeasures.emit(
                    self._filter(action_areas=(areas[index],), statuses=(code,))))
            series.append(bar_set)
        for area in areas:
            counts = data.by_area_status.get(area, {})
            summary.append(f"{self.labels.area(area)}: {sum(counts.values())}")
        chart.addSeries(series)
        axis = QBarCategoryAxis()
        axis.append([self.labels.area(a) for a in areas])
        chart.addAxis(axis, Qt.AlignmentFlag.AlignLeft)
        series.attachAxis(axis)
        values = QValueAxis()
        values.setLabelFormat("%d")
        chart.addAxis(values, Qt.AlignmentFlag.AlignBottom)
        series.attachAxis(values)
        self._replace_chart(self.area_view, chart)
        self.area_view.setAccessibleDescription("; ".join(summary))
        self.area_view.setToolTip("Klick auf einen Balken öffnet die passenden Maßnahmen")

    def _evaluation_chart(self, data: overview_service.Overview) -> None:
        chart = _chart("Bewertungen im Zeitraum")
        series = QPieSeries()
        summary = []
        for state in ("abgeschlossen", "entwurf", "fehlt"):
            count = data.evaluations.get(state, 0)
            summary.append(f"{self.labels.state(state)}: {count}")
            if not count:
                continue
            piece = series.append(f"{self.labels.state(state)}: {count}", count)
            piece.setColor(QColor(STATE_COLORS[state]))
            piece.clicked.connect(lambda s=state: self.showEvaluations.emit(self.period_key(), s))
        series.setPieSize(0.85)
        chart.addSeries(series)
        # the full texts in a column beside the pie: below it, or as labels around it, three
        # of them do not fit the chart's width and Qt cuts them off ("✔ abgeschl…")
        legend = chart.legend()
        legend.setAlignment(Qt.AlignmentFlag.AlignRight)
        metrics = QFontMetrics(legend.font())
        legend.setMinimumWidth(max((metrics.horizontalAdvance(piece.label())
                                    for piece in series.slices()), default=0) + 40)
        self._replace_chart(self.eval_view, chart)
        self.eval_view.setAccessibleDescription("; ".join(summary))
        self.eval_view.setToolTip("Klick auf ein Stück öffnet die Bewertungen in diesem Stand")

    def _budget_chart(self, data: overview_service.Overview) -> None:
        chart = _chart(f"Kosten {data.budget_year}: geplant und ausgegeben (Tsd. €)")
        areas = [a.number for a in self.ws.reference.action_areas]
        planned = QBarSet("geplant")
        spent = QBarSet("ausgegeben")
        planned.setColor(QColor(PALETTE[0]))
        spent.setColor(QColor(PALETTE[1]))
        summary = []
        for area in areas:
            planned.append(data.planned.get(area, 0) / 100_000)
            spent.append(data.spent.get(area, 0) / 100_000)
            summary.append(f"{self.labels.area(area)}: geplant "
                           f"{format_cents(data.planned.get(area, 0))}, ausgegeben "
                           f"{format_cents(data.spent.get(area, 0))}")
        series = QBarSeries()
        series.append(planned)
        series.append(spent)
        for bar_set in (planned, spent):
            bar_set.clicked.connect(lambda index: self.showMeasures.emit(
                MeasureFilter(action_areas=(areas[index],), offices=self.offices())))
        chart.addSeries(series)
        axis = QBarCategoryAxis()
        axis.append([str(a) for a in areas])
        axis.setTitleText("Handlungsfeld")
        chart.addAxis(axis, Qt.AlignmentFlag.AlignBottom)
        series.attachAxis(axis)
        values = QValueAxis()
        values.setLabelFormat("%.0f")
        chart.addAxis(values, Qt.AlignmentFlag.AlignLeft)
        series.attachAxis(values)
        self._replace_chart(self.budget_view, chart)
        self.budget_view.setAccessibleDescription("; ".join(summary))
        self.budget_view.setToolTip("\n".join(summary))

    def _open(self, index: Any) -> None:
        measure_id = index.model().data(index, Qt.ItemDataRole.UserRole + 1)
        if measure_id:
            self.openMeasure.emit(measure_id)
