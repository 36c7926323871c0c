"""Use cases for measures: read, save (create or update with all parts), delete, restore, list."""

from __future__ import annotations

import json
from dataclasses import asdict

from sqlalchemy import Select, exists, func, select, text
from sqlalchemy.orm import Session

from integrationsplaner.domain.model import (
    BudgetLineData,
    IndicatorData,
    MeasureData,
    MeasureFilter,
    MeasureRow,
    MilestoneData,
    ParticipationData,
    SaveResult,
)
from integrationsplaner.domain.periods import HalfYear
from integrationsplaner.domain.validation import validate_measure
from integrationsplaner.errors import Issue, NotFoundError, ValidationError
from integrationsplaner.services import records
from integrationsplaner.services.measure_list import fts_query
from integrationsplaner.services.workspace import Workspace
from integrationsplaner.store.models import (
    BudgetLine,
    Indicator,
    Measure,
    MeasurePartner,
    Milestone,
    Partner,
)

MEASURE_FIELDS = (
    "code", "title", "action_area", "status", "concept_period", "description", "objective",
    "networking", "start_date", "end_date", "target_groups", "municipalities",
)
#: Sortable columns of the list, by name the UI uses.
SORT_COLUMNS = {
    "code": Measure.code,
    "title": Measure.title_sort,
    "action_area": Measure.action_area,
    "office": Measure.office_key,
    "status": Measure.status,
    "start_date": Measure.start_date,
    "end_date": Measure.end_date,
}
ALL = MeasureFilter()


def _load(session: Session, measure_id: str) -> Measure:
    measure = session.scalar(select(Measure).where(Measure.id == measure_id))
    if measure is None:
        raise NotFoundError(f"Die Maßnahme {measure_id} gibt es nicht (mehr).")
    return measure


def _children(session: Session, model, measure_id: str):
    return list(session.scalars(select(model).where(model.measure_id == measure_id)))


def get_measure(ws: Workspace, measure_id: str) -> MeasureData:
    with ws.db.read() as session:
        m = _load(session, measure_id)
        indicators = sorted(
            (i for i in _children(session, Indicator, measure_id) if not i.deleted),
            key=lambda i: (i.position, i.name),
        )
        budget = sorted(
            (b for b in _children(session, BudgetLine, measure_id) if not b.deleted),
            key=lambda b: (b.year, b.category, b.funding_source),
        )
        milestones = sorted(
            (x for x in _children(session, Milestone, measure_id) if not x.deleted),
            key=lambda x: (x.due_date is None, x.due_date, x.title),
        )
        links = session.execute(
            select(MeasurePartner, Partner.name)
            .join(Partner, Partner.id == MeasurePartner.partner_id)
            .where(MeasurePartner.measure_id == measure_id, MeasurePartner.deleted.is_(False))
            .order_by(MeasurePartner.role, Partner.name_sort)
        ).all()
        return MeasureData(
            **{f: getattr(m, f) for f in MEASURE_FIELDS if f not in ("target_groups",
                                                                     "municipalities")},
            target_groups=list(m.target_groups or []),
            municipalities=list(m.municipalities or []),
            office_key=m.office_key,
            indicators=[IndicatorData(i.name, i.unit, i.baseline, i.target, i.direction, i.id)
                        for i in indicators],
            budget_lines=[BudgetLineData(b.year, b.category, b.funding_source, b.planned_cents,
                                         b.note, b.id) for b in budget],
            milestones=[MilestoneData(x.title, x.due_date, x.done, x.done_on, x.id)
                        for x in milestones],
            partners=[ParticipationData(link.partner_id, link.role, name, link.id)
                      for link, name in links],
            id=m.id,
            version=dict(m.vv),
            deleted=m.deleted,
            updated_at=m.updated_at,
            updated_by=m.updated_by,
        )


def _duplicate_code(session: Session, office_key: str, code: str, own_id: str | None) -> bool:
    query = select(Measure.id).where(
        Measure.office_key == office_key, Measure.code == code, Measure.deleted.is_(False)
    )
    if own_id:
        query = query.where(Measure.id != own_id)
    return session.scalar(query.limit(1)) is not None


def save_measure(ws: Workspace, data: MeasureData) -> SaveResult:
    """Create (``data.id`` is None) or update a measure with its indicators, budget lines,
    milestones and participations, in one transaction."""
    data.code = data.code.strip()
    data.title = data.title.strip()
    issues = validate_measure(data, ws.reference)
    if issues:
        raise ValidationError(issues)
    actor = ws.actor
    with ws.db.transaction() as session:
        if _duplicate_code(session, actor.office_key, data.code, data.id):
            raise ValidationError([Issue("code", f"Kennung: „{data.code}“ ist in Ihrer "
                                                 "Dienststelle schon vergeben. Bitte eine andere "
                                                 "Kennung wählen.")])
        for link in data.partners:
            if session.scalar(select(Partner.id).where(Partner.id == link.partner_id)) is None:
                raise ValidationError([Issue("partners", "Ein gewählter Partner existiert nicht "
                                                         "mehr. Bitte neu auswählen.")])
        values = {f: getattr(data, f) for f in MEASURE_FIELDS}
        values["target_groups"] = sorted(set(data.target_groups))
        values["municipalities"] = sorted(set(data.municipalities))
        measure, created, changed = records.save(
            session, Measure, actor, data.id, data.version, values, "Die Maßnahme", _load)
        parent = {"measure_id": measure.id, "office_key": measure.office_key}
        changed += records.sync_children(
            session, actor, Indicator, _children(session, Indicator, measure.id),
            [{**asdict(i), "position": n} for n, i in enumerate(data.indicators)], parent)
        changed += records.sync_children(
            session, actor, BudgetLine, _children(session, BudgetLine, measure.id),
            [asdict(b) for b in data.budget_lines], parent)
        changed += records.sync_children(
            session, actor, Milestone, _children(session, Milestone, measure.id),
            [asdict(x) for x in data.milestones], parent)
        changed += records.sync_children(
            session, actor, MeasurePartner, _children(session, MeasurePartner, measure.id),
            [{"id": p.id, "partner_id": p.partner_id, "role": p.role} for p in data.partners],
            parent)
        return SaveResult(measure.id, created, tuple(changed))


def set_deleted(ws: Workspace, measure_id: str, deleted: bool) -> None:
    """Tombstone (``deleted=True``) or restore a measure. Its parts stay as they are, so a
    restore brings the measure back whole."""
    actor = ws.actor
    with ws.db.transaction() as session:
        measure = _load(session, measure_id)
        records.check_owner(measure, actor, "Die Maßnahme")
        records.change(session, measure, actor, {"deleted": deleted})


def delete_measure(ws: Workspace, measure_id: str) -> None:
    set_deleted(ws, measure_id, True)


def restore_measure(ws: Workspace, measure_id: str) -> None:
    set_deleted(ws, measure_id, False)


#: Above this many full-text hits, walking the title index (and testing each row against the
#: hits) is faster than looking every hit up and sorting them; below it, the reverse.
BROAD_MATCH = 20_000


def _filtered(session: Session, query: Select, flt: MeasureFilter) -> Select:
    if flt.text.strip():
        match = fts_query(flt.text)
        if match is None:
            return query.where(text("0"))
        hits = session.scalars(
            text("SELECT rowid FROM measures_fts WHERE measures_fts MATCH :m LIMIT :n")
            .bindparams(m=match, n=BROAD_MATCH + 1)).all()
        if len(hits) > BROAD_MATCH:
            query = query.where(Measure.deleted.is_(flt.deleted), Measure.seq.in_(
                text("SELECT rowid FROM measures_fts WHERE measures_fts MATCH :m")
                .bindparams(m=match)))
        else:
            # "+deleted" keeps SQLite from walking the title index: the hits drive the query
            query = query.where(
                text("+measures.deleted = :deleted").bindparams(deleted=int(flt.deleted)),
                Measure.seq.in_(text("SELECT value FROM json_each(:hits)")
                                .bindparams(hits=json.dumps(hits))))
    else:
        query = query.where(Measure.deleted.is_(flt.deleted))
    if flt.action_areas:
        query = query.where(Measure.action_area.in_(flt.action_areas))
    if flt.offices:
        query = query.where(Measure.office_key.in_(flt.offices))
    if flt.statuses:
        query = query.where(Measure.status.in_(flt.statuses))
    if flt.target_group:
        query = query.where(
            text("EXISTS (SELECT 1 FROM json_each(measures.target_groups) WHERE value = :tg)")
            .bindparams(tg=flt.target_group)
        )
    if flt.partner_id:
        query = query.where(
            exists().where(MeasurePartner.measure_id == Measure.id,
                           MeasurePartner.partner_id == flt.partner_id,
                           MeasurePartner.deleted.is_(False))
        )
    if flt.period:
        period = HalfYear.parse(flt.period)
        query = query.where(
            (Measure.start_date.is_(None) | (Measure.start_date <= period.end))
            & (Measure.end_date.is_(None) | (Measure.end_date >= period.start))
        )
    return query


def _row_columns():
    return (Measure.id, Measure.office_key, Measure.code, Measure.title, Measure.action_area,
            Measure.status, Measure.start_date, Measure.end_date, Measure.deleted)


def list_measures(
    ws: Workspace,
    flt: MeasureFilter = ALL,
    *,
    sort: str = "title",
    descending: bool = False,
    offset: int = 0,
    limit: int | None = None,
) -> list[MeasureRow]:
    column = SORT_COLUMNS.get(sort, Measure.title_sort)
    order = column.desc() if descending else column.asc()
    with ws.db.read() as session:
        query = _filtered(session, select(*_row_columns()), flt).order_by(order, Measure.seq)
        if limit is not None:
            query = query.offset(offset).limit(limit)
        return [MeasureRow(*row) for row in session.execute(query)]


def measure_ids(ws: Workspace, flt: MeasureFilter = ALL, *, sort: str = "title",
                descending: bool = False) -> list[str]:
    """Only the ids, in order: what a lazy list model holds for 100,000 rows."""
    column = SORT_COLUMNS.get(sort, Measure.title_sort)
    order = column.desc() if descending else column.asc()
    with ws.db.read() as session:
        query = _filtered(session, select(Measure.id), flt).order_by(order, Measure.seq)
        return list(session.scalars(query))


def count_measures(ws: Workspace, flt: MeasureFilter = ALL) -> int:
    with ws.db.read() as session:
        query = _filtered(session, select(func.count()).select_from(Measure), flt)
        return session.scalar(query) or 0
