"""Read queries for the printed reports (evaluation sheets, review report, catalogue, directory).

Everything here is read-only, set-based and hands out plain dataclasses. Measures are streamed in
chunks (one ``IN`` query per child table and chunk) so that a catalogue of 10,000 measures never
holds more than one chunk of records in memory. Deleted records (tombstones) never appear.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.orm import Session

from integrationsplaner.domain.model import (
    BudgetLineData,
    ContactData,
    EvaluationData,
    IndicatorData,
    MeasureData,
    MeasureRow,
    MilestoneData,
    ParticipationData,
    PartnerData,
)
from integrationsplaner.domain.periods import HalfYear
from integrationsplaner.domain.reference import ConceptPeriodRef
from integrationsplaner.services.workspace import Workspace
from integrationsplaner.store.models import (
    BudgetLine,
    ContactPerson,
    Evaluation,
    Indicator,
    Measure,
    MeasurePartner,
    Milestone,
    Partner,
)

#: Measures per chunk: one query per child table and chunk; well below SQLite's variable limit.
CHUNK = 400


@dataclass(frozen=True)
class MeasureScope:
    """Which measures a report covers; every part is optional and they combine with AND.

    ``period``: measures whose schedule overlaps the half-year. ``concept``: measures assigned to
    the concept period, or without one whose schedule overlaps its years.
    """

    offices: tuple[str, ...] = ()
    period: HalfYear | None = None
    concept: ConceptPeriodRef | None = None


def _where(query: Select, scope: MeasureScope) -> Select:
    query = query.where(Measure.deleted.is_(False))
    if scope.offices:
        query = query.where(Measure.office_key.in_(scope.offices))
    if scope.period is not None:
        hy = scope.period
        query = query.where(
            Measure.start_date.is_(None) | (Measure.start_date <= hy.end),
            Measure.end_date.is_(None) | (Measure.end_date >= hy.start),
        )
    if scope.concept is not None:
        first = date(scope.concept.start_year, 1, 1)
        last = date(scope.concept.end_year, 12, 31)
        query = query.where(
            or_(
                Measure.concept_period == scope.concept.key,
                and_(
                    Measure.concept_period.is_(None),
                    Measure.start_date.is_(None) | (Measure.start_date <= last),
                    Measure.end_date.is_(None) | (Measure.end_date >= first),
                ),
            )
        )
    return query


def measure_outline(ws: Workspace, scope: MeasureScope) -> list[MeasureRow]:
    """The measures of the scope in report order (action area, title, code): light rows used for
    the table of contents, progress totals and the chunked loading of the full records."""
    query = _where(
        select(Measure.id, Measure.office_key, Measure.code, Measure.title, Measure.action_area,
               Measure.status, Measure.start_date, Measure.end_date),
        scope,
    ).order_by(Measure.action_area, Measure.title_sort, Measure.code, Measure.id)
    with ws.db.read() as session:
        return [MeasureRow(*row) for row in session.execute(query)]


def _chunks(items: Sequence[str], size: int = CHUNK) -> Iterator[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _load_chunk(session: Session, ids: Sequence[str]) -> list[MeasureData]:
    rows = session.execute(
        select(Measure.id, Measure.office_key, Measure.code, Measure.title, Measure.action_area,
               Measure.status, Measure.concept_period, Measure.description, Measure.objective,
               Measure.networking, Measure.start_date, Measure.end_date, Measure.target_groups,
               Measure.municipalities, Measure.updated_at)
        .where(Measure.id.in_(ids))
    ).all()
    indicators: dict[str, list[IndicatorData]] = defaultdict(list)
    for r in session.execute(
        select(Indicator.measure_id, Indicator.name, Indicator.unit, Indicator.baseline,
               Indicator.target, Indicator.direction, Indicator.id)
        .where(Indicator.measure_id.in_(ids), Indicator.deleted.is_(False))
        .order_by(Indicator.position, Indicator.name, Indicator.id)
    ):
        indicators[r[0]].append(IndicatorData(r[1], r[2], r[3], r[4], r[5], r[6]))
    budget: dict[str, list[BudgetLineData]] = defaultdict(list)
    for r in session.execute(
        select(BudgetLine.measure_id, BudgetLine.year, BudgetLine.category,
               BudgetLine.funding_source, BudgetLine.planned_cents, BudgetLine.note, BudgetLine.id)
        .where(BudgetLine.measure_id.in_(ids), BudgetLine.deleted.is_(False))
        .order_by(BudgetLine.year, BudgetLine.category, BudgetLine.funding_source, BudgetLine.id)
    ):
        budget[r[0]].append(BudgetLineData(r[1], r[2], r[3], r[4], r[5], r[6]))
    milestones: dict[str, list[MilestoneData]] = defaultdict(list)
    for r in session.execute(
        select(Milestone.measure_id, Milestone.title, Milestone.due_date, Milestone.done,
               Milestone.done_on, Milestone.id)
        .where(Milestone.measure_id.in_(ids), Milestone.deleted.is_(False))
        .order_by(Milestone.due_date.is_(None), Milestone.due_date, Milestone.title, Milestone.id)
    ):
        milestones[r[0]].append(MilestoneData(r[1], r[2], r[3], r[4], r[5]))
    partners: dict[str, list[ParticipationData]] = defaultdict(list)
    for r in session.execute(
        select(MeasurePartner.measure_id, MeasurePartner.partner_id, MeasurePartner.role,
               Partner.name, MeasurePartner.id)
        .join(Partner, Partner.id == MeasurePartner.partner_id)
        .where(MeasurePartner.measure_id.in_(ids), MeasurePartner.deleted.is_(False),
               Partner.deleted.is_(False))
        .order_by(MeasurePartner.role, Partner.name_sort, Partner.id)
    ):
        partners[r[0]].append(ParticipationData(r[1], r[2], r[3], r[4]))
    result = []
    for r in rows:
        mid = r[0]
        result.append(MeasureData(
            id=mid, office_key=r[1], code=r[2], title=r[3], action_area=r[4], status=r[5],
            concept_period=r[6], description=r[7] or "", objective=r[8] or "",
            networking=bool(r[9]), start_date=r[10], end_date=r[11],
            target_groups=list(r[12] or []), municipalities=list(r[13] or []),
            indicators=indicators.get(mid, []), budget_lines=budget.get(mid, []),
            milestones=milestones.get(mid, []), partners=partners.get(mid, []),
            updated_at=r[14],
        ))
    return result


def iter_measures(ws: Workspace, ids: Sequence[str], chunk: int = CHUNK
                  ) -> Iterator[MeasureData]:
    """Full measure records for ``ids``, in that order, loaded chunk by chunk."""
    for part in _chunks(ids, chunk):
        with ws.db.read() as session:
            loaded = {m.id: m for m in _load_chunk(session, part)}
        for mid in part:
            if mid in loaded:
                yield loaded[mid]


def _evaluation(e: Evaluation) -> EvaluationData:
    return EvaluationData(
        measure_id=e.measure_id, period=e.period, office_key=e.office_key, state=e.state,
        rating=e.rating, progress=e.progress, actual_values=dict(e.actual_values or {}),
        costs_spent_cents=e.costs_spent_cents, participants_total=e.participants_total,
        participants_female=e.participants_female, participants_minors=e.participants_minors,
        results=e.results or "", obstacles=e.obstacles or "", next_steps=e.next_steps or "",
        recommendation=e.recommendation, evaluated_by=e.evaluated_by or "",
        evaluated_on=e.evaluated_on, id=e.id, updated_at=e.updated_at,
    )


def evaluations(ws: Workspace, ids: Sequence[str], period: str) -> dict[str, EvaluationData]:
    """The live evaluations of the measures ``ids`` in ``period``, by measure id."""
    result: dict[str, EvaluationData] = {}
    with ws.db.read() as session:
        for part in _chunks(ids, 900):
            for e in session.scalars(
                select(Evaluation).where(Evaluation.measure_id.in_(part),
                                         Evaluation.period == period,
                                         Evaluation.deleted.is_(False))
            ):
                result[e.measure_id] = _evaluation(e)
    return result


def ratings(ws: Workspace, ids: Sequence[str], period: str) -> dict[str, str]:
    """Only the rating of each measure's live evaluation in ``period`` (for "previous period")."""
    result: dict[str, str] = {}
    with ws.db.read() as session:
        for part in _chunks(ids, 900):
            for mid, rating in session.execute(
                select(Evaluation.measure_id, Evaluation.rating)
                .where(Evaluation.measure_id.in_(part), Evaluation.period == period,
                       Evaluation.deleted.is_(False), Evaluation.rating.is_not(None))
            ):
                result[mid] = rating
    return result


@dataclass
class AreaSummary:
    """Figures of one action area in a review period."""

    number: int
    measures: int = 0
    by_status: dict[str, int] = field(default_factory=dict)
    by_rating: dict[str, int] = field(default_factory=dict)  # rating code, "" = without rating
    received: int = 0  # evaluations present (draft or final)
    final: int = 0  # evaluations marked as abgeschlossen
    planned_cents: int = 0  # cost frame of the period's year
    spent_cents: int = 0  # spent in the period's year up to the end of the period


def review_summary(ws: Workspace, scope: MeasureScope, period: HalfYear,
                   areas: Iterable[int]) -> dict[int, AreaSummary]:
    """Per action area: measures by status and rating, evaluations received, budget planned for
    the period's year against costs spent in that year up to the end of the period."""
    summary = {n: AreaSummary(n) for n in areas}
    measures = _where(select(Measure.id, Measure.action_area, Measure.status), scope).subquery()
    year_periods = [HalfYear(period.year, h).key for h in range(1, period.half + 1)]
    with ws.db.read() as session:
        for area, status, count in session.execute(
            select(measures.c.action_area, measures.c.status, func.count())
            .group_by(measures.c.action_area, measures.c.status)
        ):
            s = summary.setdefault(area, AreaSummary(area))
            s.by_status[status] = count
            s.measures += count
        for area, state, rating, count in session.execute(
            select(measures.c.action_area, Evaluation.state, Evaluation.rating, func.count())
            .join(Evaluation, and_(Evaluation.measure_id == measures.c.id,
                                   Evaluation.period == period.key,
                                   Evaluation.deleted.is_(False)))
            .group_by(measures.c.action_area, Evaluation.state, Evaluation.rating)
        ):
            s = summary[area]
            s.received += count
            if state == "abgeschlossen":
                s.final += count
            s.by_rating[rating or ""] = s.by_rating.get(rating or "", 0) + count
        for area, planned in session.execute(
            select(measures.c.action_area, func.sum(BudgetLine.planned_cents))
            .join(BudgetLine, BudgetLine.measure_id == measures.c.id)
            .where(BudgetLine.deleted.is_(False), BudgetLine.year == period.year)
            .group_by(measures.c.action_area)
        ):
            summary[area].planned_cents = int(planned or 0)
        for area, spent in session.execute(
            select(measures.c.action_area, func.sum(Evaluation.costs_spent_cents))
            .join(Evaluation, Evaluation.measure_id == measures.c.id)
            .where(Evaluation.deleted.is_(False), Evaluation.period.in_(year_periods))
            .group_by(measures.c.action_area)
        ):
            summary[area].spent_cents = int(spent or 0)
    return summary


def partner_directory(ws: Workspace, *, offices: tuple[str, ...] = (),
                      partner_ids: Iterable[str] | None = None,
                      contacts: bool = True) -> list[PartnerData]:
    """Live partners sorted by name; only those of ``offices`` (owner or working area) and, if
    given, only ``partner_ids``. Contact persons (personal data) only when ``contacts``."""
    wanted = set(partner_ids) if partner_ids is not None else None
    query = (
        select(Partner.id, Partner.office_key, Partner.name, Partner.kind, Partner.street,
               Partner.postal_code, Partner.city, Partner.phone, Partner.email, Partner.website,
               Partner.action_areas, Partner.offices, Partner.notes)
        .where(Partner.deleted.is_(False))
        .order_by(Partner.name_sort, Partner.name, Partner.id)
    )
    result: list[PartnerData] = []
    with ws.db.read() as session:
        for r in session.execute(query):
            if wanted is not None and r[0] not in wanted:
                continue
            if offices and r[1] not in offices and not set(r[11] or []) & set(offices):
                continue
            result.append(PartnerData(
                id=r[0], office_key=r[1], name=r[2], kind=r[3], street=r[4] or "",
                postal_code=r[5] or "", city=r[6] or "", phone=r[7] or "", email=r[8] or "",
                website=r[9] or "", action_areas=list(r[10] or []), offices=list(r[11] or []),
                notes=r[12] or "",
            ))
        if contacts and result:
            by_id = {p.id: p for p in result}
            ids = list(by_id)
            for part in _chunks(ids, 900):
                for r in session.execute(
                    select(ContactPerson.partner_id, ContactPerson.name, ContactPerson.function,
                           ContactPerson.phone, ContactPerson.email, ContactPerson.id)
                    .where(ContactPerson.partner_id.in_(part), ContactPerson.deleted.is_(False))
                    .order_by(ContactPerson.name, ContactPerson.id)
                ):
                    by_id[r[0]].contacts.append(ContactData(r[1], r[2], r[3] or "", r[4] or "",
                                                            id=r[5]))
    return result


def partners_of_measures(ws: Workspace, ids: Sequence[str]) -> set[str]:
    """Ids of the live partners taking part in any of the measures ``ids``."""
    result: set[str] = set()
    with ws.db.read() as session:
        for part in _chunks(ids, 900):
            result.update(session.scalars(
                select(MeasurePartner.partner_id)
                .where(MeasurePartner.measure_id.in_(part), MeasurePartner.deleted.is_(False))
            ))
    return result


def data_as_of(ws: Workspace) -> date | None:
    """The day of the latest change to any measure, evaluation or partner: the "Stand" printed
    on reports. Derived from the data (never from the clock) so that reports are reproducible."""
    latest: datetime | None = None
    with ws.db.read() as session:
        for model in (Measure, Evaluation, Partner, ContactPerson):
            value = session.scalar(select(func.max(model.updated_at)))
            if value is not None and (latest is None or value > latest):
                latest = value
    return latest.date() if latest else None
