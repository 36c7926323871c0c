"""Read-only figures the measure editor shows beside the record: the evaluations of a measure
over all periods (actual values, money spent) and the ids of its parts (for its audit trail)."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select

from integrationsplaner.services.workspace import Workspace
from integrationsplaner.store.models import (
    BudgetLine,
    Evaluation,
    Indicator,
    MeasurePartner,
    Milestone,
)


@dataclass(frozen=True)
class EvaluationSummary:
    period: str
    state: str
    rating: str | None
    costs_spent_cents: int | None
    actual_values: dict[str, float | None] = field(default_factory=dict)


def evaluations_of_measure(ws: Workspace, measure_id: str) -> list[EvaluationSummary]:
    """The live evaluations of a measure, oldest period first."""
    query = (
        select(Evaluation.period, Evaluation.state, Evaluation.rating,
               Evaluation.costs_spent_cents, Evaluation.actual_values)
        .where(Evaluation.measure_id == measure_id, Evaluation.deleted.is_(False))
        .order_by(Evaluation.period)
    )
    with ws.db.read() as session:
        return [EvaluationSummary(p, s, r, c, dict(a or {}))
                for p, s, r, c, a in session.execute(query)]


def part_ids(ws: Workspace, measure_id: str) -> list[str]:
    """Ids of the measure and of all its parts (also removed ones), for the audit trail."""
    ids = [measure_id]
    with ws.db.read() as session:
        for model in (Indicator, BudgetLine, Milestone, MeasurePartner):
            ids += session.scalars(select(model.id).where(model.measure_id == measure_id))
        ids += session.scalars(select(Evaluation.id).where(Evaluation.measure_id == measure_id))
    return ids
