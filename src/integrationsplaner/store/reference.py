"""Copy reference data from ``resources/`` into the reference tables (insert or update)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from integrationsplaner.domain.reference import Reference
from integrationsplaner.store.models import ActionArea, ConceptPeriod, Meta, Municipality, Office


def sync_reference(session: Session, reference: Reference) -> None:
    for office in reference.offices:
        session.merge(
            Office(key=office.key, name=office.name, short_name=office.short_name,
                   kind=office.kind)
        )
    session.flush()
    for m in reference.municipalities():
        session.merge(Municipality(key=m.key, name=m.name, kind=m.kind, office_key=m.office_key))
    for area in reference.action_areas:
        session.merge(
            ActionArea(number=area.number, title=area.title, short_title=area.short_title,
                       goal=area.goal)
        )
    for period in reference.concept_periods:
        session.merge(
            ConceptPeriod(key=period.key, title=period.title, start_year=period.start_year,
                          end_year=period.end_year)
        )
    session.merge(Meta(key="reference_digest", value=reference.digest))
    session.merge(Meta(key="district_key", value=reference.district_key))
