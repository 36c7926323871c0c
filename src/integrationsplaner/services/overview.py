"""Figures of the Übersicht: measures by area and status, evaluations done vs missing, budget
planned vs spent per area, measures ending soon, overdue milestones.

Plain SQL aggregates over the narrow columns (no ORM objects), so they stay quick at state
scale; the UI runs them in a background thread.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from integrationsplaner.domain.periods import HalfYear
from integrationsplaner.services.workspace import Workspace

ENDING_SOON_DAYS = 90
LIST_LIMIT = 200


@dataclass(frozen=True)
class EndingMeasure:
    measure_id: str
    code: str
    title: str
    office_key: str
    end_date: date


@dataclass(frozen=True)
class OverdueMilestone:
    measure_id: str
    code: str
    measure_title: str
    office_key: str
    title: str
    due_date: date


@dataclass
class Overview:
    period: str
    offices: tuple[str, ...]
    today: date
    by_area_status: dict[int, dict[str, int]] = field(default_factory=dict)
    evaluations: dict[str, int] = field(default_factory=dict)  # fehlt / entwurf / abgeschlossen
    budget_year: int = 0
    planned: dict[int, int] = field(default_factory=dict)  # area -> cents in budget_year
    spent: dict[int, int] = field(default_factory=dict)  # area -> cents spent in budget_year
    ending_soon: list[EndingMeasure] = field(default_factory=list)
    ending_soon_total: int = 0
    overdue: list[OverdueMilestone] = field(default_factory=list)
    overdue_total: int = 0

    @property
    def measures_total(self) -> int:
        return sum(sum(v.values()) for v in self.by_area_status.values())


def _office_clause(alias: str, offices: tuple[str, ...]) -> tuple[str, list[str]]:
    if not offices:
        return "", []
    marks = ",".join("?" for _ in offices)
    return f" AND {alias}.office_key IN ({marks})", list(offices)


def _d(value: object) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def overview(ws: Workspace, period: str, offices: tuple[str, ...] = (),
             today: date | None = None) -> Overview:
    hy = HalfYear.parse(period)
    today = today or date.today()
    result = Overview(hy.key, offices, today, budget_year=hy.year)
    where, args = _office_clause("measures", offices)
    running = ("(m.start_date IS NULL OR m.start_date <= ?) "
               "AND (m.end_date IS NULL OR m.end_date >= ?)")
    span = [hy.end.isoformat(), hy.start.isoformat()]
    with ws.db.read() as session:
        con = session.connection()

        def rows(sql: str, params: list) -> list:
            return con.exec_driver_sql(sql, tuple(params)).fetchall()

        # One scan of the wide measure table into a narrow temporary copy of the live measures
        # (of the chosen offices); every figure below reads that copy.
        con.exec_driver_sql("DROP TABLE IF EXISTS temp.overview_measures")
        con.exec_driver_sql(
            "CREATE TEMP TABLE overview_measures AS SELECT id, code, title, title_sort, "
            "action_area, status, office_key, start_date, end_date FROM measures "
            f"WHERE +deleted = 0{where}", tuple(args))
        con.exec_driver_sql("CREATE INDEX temp.ix_overview_measures ON overview_measures(id)")
        where, args = "", []

        for area, status, count in rows(
                "SELECT m.action_area, m.status, count(*) FROM overview_measures m "
                f"WHERE {running}{where} GROUP BY 1, 2", span + args):
            result.by_area_status.setdefault(area, {})[status] = count
        for state, count in rows(
                "SELECT coalesce(e.state, 'fehlt'), count(*) FROM overview_measures m "
                "LEFT JOIN evaluations e ON e.measure_id = m.id AND e.period = ? "
                f"AND e.deleted = 0 WHERE {running}{where} GROUP BY 1",
                [hy.key, *span, *args]):
            result.evaluations[state] = count
        for area, cents in rows(
                "SELECT m.action_area, sum(b.planned_cents) FROM budget_lines b "
                "JOIN overview_measures m ON m.id = b.measure_id WHERE b.deleted = 0 "
                f"AND b.year = ?{where} GROUP BY 1", [hy.year, *args]):
            result.planned[area] = cents or 0
        for area, cents in rows(
                "SELECT m.action_area, sum(e.costs_spent_cents) FROM evaluations e "
                "JOIN overview_measures m ON m.id = e.measure_id WHERE e.deleted = 0 "
                f"AND e.period IN (?, ?){where} GROUP BY 1",
                [f"{hy.year}-H1", f"{hy.year}-H2", *args]):
            result.spent[area] = cents or 0
        soon = [today.isoformat(), (today + timedelta(days=ENDING_SOON_DAYS)).isoformat()]
        ending = ("FROM overview_measures m WHERE m.end_date BETWEEN ? AND ? "
                  f"AND m.status NOT IN ('abgeschlossen', 'abgebrochen'){where}")
        result.ending_soon_total = rows(f"SELECT count(*) {ending}", soon + args)[0][0]
        result.ending_soon = [
            EndingMeasure(i, c, t, o, _d(e)) for i, c, t, o, e in rows(
                f"SELECT m.id, m.code, m.title, m.office_key, m.end_date {ending} "
                f"ORDER BY m.end_date, m.title_sort LIMIT {LIST_LIMIT}", soon + args)]
        overdue = ("FROM milestones s JOIN overview_measures m ON m.id = s.measure_id "
                   "WHERE s.deleted = 0 AND s.done = 0 AND s.due_date < ? "
                   f"AND m.status NOT IN ('abgeschlossen', 'abgebrochen'){where}")
        result.overdue_total = rows(f"SELECT count(*) {overdue}", [today.isoformat(), *args])[0][0]
        result.overdue = [
            OverdueMilestone(i, c, t, o, s, _d(d)) for i, c, t, o, s, d in rows(
                f"SELECT m.id, m.code, m.title, m.office_key, s.title, s.due_date {overdue} "
                f"ORDER BY s.due_date, m.title_sort LIMIT {LIST_LIMIT}",
                [today.isoformat(), *args])]
        con.exec_driver_sql("DROP TABLE temp.overview_measures")
    return result
