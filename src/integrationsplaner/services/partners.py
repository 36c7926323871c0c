"""Use cases for partners (Akteure) and their contact persons."""

from __future__ import annotations

from dataclasses import asdict

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from integrationsplaner.domain.model import (
    ContactData,
    MeasureRow,
    PartnerData,
    PartnerRow,
    SaveResult,
)
from integrationsplaner.domain.text import sort_key
from integrationsplaner.domain.validation import validate_partner
from integrationsplaner.errors import NotFoundError, ValidationError
from integrationsplaner.services import records
from integrationsplaner.services.workspace import Workspace
from integrationsplaner.store.models import ContactPerson, Measure, MeasurePartner, Partner

PARTNER_FIELDS = ("name", "kind", "street", "postal_code", "city", "phone", "email", "website",
                  "action_areas", "offices", "notes")
SORT_COLUMNS = {"name": Partner.name_sort, "kind": Partner.kind, "city": Partner.city,
                "office": Partner.office_key}


def _load(session: Session, partner_id: str) -> Partner:
    partner = session.get(Partner, partner_id)
    if partner is None:
        raise NotFoundError(f"Den Partner {partner_id} gibt es nicht (mehr).")
    return partner


def get_partner(ws: Workspace, partner_id: str) -> PartnerData:
    with ws.db.read() as session:
        p = _load(session, partner_id)
        contacts = session.scalars(
            select(ContactPerson)
            .where(ContactPerson.partner_id == partner_id, ContactPerson.deleted.is_(False))
            .order_by(ContactPerson.name)
        ).all()
        return PartnerData(
            **{f: getattr(p, f) for f in PARTNER_FIELDS if f not in ("action_areas", "offices")},
            action_areas=list(p.action_areas or []),
            offices=list(p.offices or []),
            office_key=p.office_key,
            contacts=[ContactData(c.name, c.function, c.phone, c.email, c.notes, c.id)
                      for c in contacts],
            id=p.id,
            version=dict(p.vv),
            deleted=p.deleted,
            updated_at=p.updated_at,
            updated_by=p.updated_by,
        )


def save_partner(ws: Workspace, data: PartnerData) -> SaveResult:
    data.name = data.name.strip()
    issues = validate_partner(data, ws.reference)
    if issues:
        raise ValidationError(issues)
    actor = ws.actor
    values = {f: getattr(data, f) for f in PARTNER_FIELDS}
    values["action_areas"] = sorted(set(data.action_areas))
    values["offices"] = sorted(set(data.offices))
    with ws.db.transaction() as session:
        partner, created, changed = records.save(
            session, Partner, actor, data.id, data.version, values, "Der Partner", _load)
        existing = list(session.scalars(
            select(ContactPerson).where(ContactPerson.partner_id == partner.id)))
        changed += records.sync_children(
            session, actor, ContactPerson, existing, [asdict(c) for c in data.contacts],
            {"partner_id": partner.id, "office_key": partner.office_key})
        return SaveResult(partner.id, created, tuple(changed))


def set_deleted(ws: Workspace, partner_id: str, deleted: bool) -> None:
    actor = ws.actor
    with ws.db.transaction() as session:
        partner = _load(session, partner_id)
        records.check_owner(partner, actor, "Der Partner")
        records.change(session, partner, actor, {"deleted": deleted})


def list_partners(ws: Workspace, text: str = "", *, kind: str | None = None,
                  office: str | None = None, deleted: bool = False, sort: str = "name",
                  descending: bool = False, limit: int | None = None) -> list[PartnerRow]:
    column = SORT_COLUMNS.get(sort, Partner.name_sort)
    query = select(Partner.id, Partner.office_key, Partner.name, Partner.kind, Partner.city,
                   Partner.deleted).where(Partner.deleted.is_(deleted))
    if text.strip():
        needle = f"%{sort_key(text).replace('%', '').replace('_', '')}%"
        query = query.where(or_(Partner.name_sort.like(needle), Partner.city.like(needle)))
    if kind:
        query = query.where(Partner.kind == kind)
    if office:
        query = query.where(Partner.office_key == office)
    query = query.order_by(column.desc() if descending else column.asc(), Partner.id)
    if limit:
        query = query.limit(limit)
    with ws.db.read() as session:
        return [PartnerRow(*row) for row in session.execute(query)]


def count_partners(ws: Workspace) -> int:
    with ws.db.read() as session:
        return session.scalar(
            select(func.count()).select_from(Partner).where(Partner.deleted.is_(False))) or 0


def measures_of_partner(ws: Workspace, partner_id: str) -> list[tuple[MeasureRow, str]]:
    """The measures a partner takes part in, with its role there."""
    with ws.db.read() as session:
        rows = session.execute(
            select(Measure.id, Measure.office_key, Measure.code, Measure.title,
                   Measure.action_area, Measure.status, Measure.start_date, Measure.end_date,
                   Measure.deleted, MeasurePartner.role)
            .join(MeasurePartner, MeasurePartner.measure_id == Measure.id)
            .where(MeasurePartner.partner_id == partner_id, MeasurePartner.deleted.is_(False),
                   Measure.deleted.is_(False))
            .order_by(Measure.title_sort)
        ).all()
        return [(MeasureRow(*row[:9]), row[9]) for row in rows]
