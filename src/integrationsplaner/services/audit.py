"""The audit trail: every change with who, office, when, field, old → new, and its source."""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from integrationsplaner.domain.model import AuditRow
from integrationsplaner.services.workspace import Actor, Workspace
from integrationsplaner.store.database import utcnow
from integrationsplaner.store.models import AuditEntry

CREATE = "anlegen"
UPDATE = "aendern"
DELETE = "loeschen"
RESTORE = "wiederherstellen"
CLOSE = "abschliessen"


def _encode(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, date | datetime):
        return value.isoformat()
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


def record(
    session: Session,
    actor: Actor,
    entity: str,
    record_id: str,
    action: str,
    field: str | None = None,
    old: Any = None,
    new: Any = None,
) -> None:
    session.add(
        AuditEntry(
            at=utcnow(),
            user=actor.user,
            office_key=actor.office_key,
            replica_id=actor.replica_id,
            source=actor.source,
            bundle_id=actor.bundle_id,
            entity=entity,
            record_id=record_id,
            action=action,
            field=field,
            old_value=_encode(old),
            new_value=_encode(new),
        )
    )


def history(ws: Workspace, record_ids: list[str], limit: int = 1000) -> list[AuditRow]:
    """Audit entries of the given records (a measure and its parts), newest first."""
    with ws.db.read() as session:
        rows = session.scalars(
            select(AuditEntry)
            .where(AuditEntry.record_id.in_(record_ids))
            .order_by(AuditEntry.seq.desc())
            .limit(limit)
        ).all()
        return [
            AuditRow(r.at, r.user, r.office_key, r.source, r.entity, r.record_id, r.action,
                     r.field, r.old_value, r.new_value, r.bundle_id)
            for r in rows
        ]
