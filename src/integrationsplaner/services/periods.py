"""Review periods (half-years): list, current, close.

``current_period`` is the pure rule of ``domain.periods`` (the window needs it before SQLAlchemy
has loaded), re-exported for the callers of this service.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from integrationsplaner.domain.periods import HalfYear, half_years
from integrationsplaner.domain.periods import current_period as current_period  # re-exported
from integrationsplaner.errors import PermissionDeniedError, UserError
from integrationsplaner.services import audit
from integrationsplaner.services.workspace import Workspace
from integrationsplaner.store.database import utcnow
from integrationsplaner.store.models import ReviewPeriod


@dataclass(frozen=True)
class PeriodInfo:
    key: str
    label: str
    closed: bool
    closed_at: datetime | None
    closed_by: str | None


def ensure_period(session: Session, period: HalfYear) -> ReviewPeriod:
    row = session.get(ReviewPeriod, period.key)
    if row is None:
        row = ReviewPeriod(key=period.key, year=period.year, half=period.half, closed=False)
        session.add(row)
        session.flush()
    return row


def list_periods(ws: Workspace, today: date | None = None) -> list[PeriodInfo]:
    """Every half-year of the concept periods up to the current one, newest first."""
    today = today or date.today()
    first = min(p.start_year for p in ws.reference.concept_periods)
    last = HalfYear.containing(today)
    wanted = [p for p in half_years(first, last.year) if p <= last]
    with ws.db.read() as session:
        stored = {r.key: r for r in session.scalars(select(ReviewPeriod))}
    result = []
    for p in sorted(set(wanted) | {HalfYear.parse(k) for k in stored}, reverse=True):
        row = stored.get(p.key)
        result.append(PeriodInfo(p.key, p.label, bool(row and row.closed),
                                 row.closed_at if row else None, row.closed_by if row else None))
    return result


def is_closed(session: Session, period_key: str) -> bool:
    row = session.get(ReviewPeriod, period_key)
    return bool(row and row.closed)


def require_open(session: Session, period_key: str) -> None:
    if is_closed(session, period_key):
        raise PermissionDeniedError(
            f"Der Betrachtungszeitraum {HalfYear.parse(period_key).label} ist abgeschlossen; "
            "Bewertungen darin können nicht mehr geändert werden."
        )


def close_period(ws: Workspace, period_key: str) -> None:
    period = HalfYear.parse(period_key)
    actor = ws.actor
    with ws.db.transaction() as session:
        row = ensure_period(session, period)
        if row.closed:
            raise UserError(f"Der Zeitraum {period.label} ist bereits abgeschlossen.")
        row.closed = True
        row.closed_at = utcnow()
        row.closed_by = actor.user
        audit.record(session, actor, "review_period", period.key, audit.CLOSE, "closed",
                     False, True)
