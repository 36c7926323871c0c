"""Open conflicts from the exchange: list them, and resolve one by a new local edit.

A resolution is an ordinary local change of the field (new dot, version bumped): its version
vector has seen both values, so every other database that imports it drops the conflict too.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import select

from integrationsplaner.domain import versioning
from integrationsplaner.errors import Issue as ValidationIssue
from integrationsplaner.errors import NotFoundError, PermissionDeniedError, ValidationError
from integrationsplaner.exchange.format import (
    ENTITY_BY_NAME,
    ENTITY_LABELS,
    LABEL_FIELDS,
    SPECS,
    FieldSpec,
    escape_display,
)
from integrationsplaner.exchange.merge import dot_key
from integrationsplaner.services import audit
from integrationsplaner.services.workspace import Workspace
from integrationsplaner.store.database import utcnow
from integrationsplaner.store.exchange_models import ConflictValue

FIELD_LABELS = {
    "title": "Titel", "code": "Kennung", "description": "Beschreibung", "objective": "Ziel",
    "status": "Status", "action_area": "Handlungsfeld", "start_date": "Beginn",
    "end_date": "Ende", "deleted": "Gelöscht", "name": "Name", "notes": "Notizen",
    "results": "Ergebnisse", "obstacles": "Hindernisse", "next_steps": "Nächste Schritte",
    "rating": "Bewertung", "progress": "Fortschritt", "recommendation": "Empfehlung",
}


@dataclass
class ConflictInfo:
    entity: str
    record_id: str
    office_key: str
    label: str
    field: str
    kind: str  # feld | loeschen
    current: Any
    current_dot: tuple[str, int]
    others: list[tuple[str, int, Any]] = field(default_factory=list)
    updated_at: datetime | None = None

    @property
    def key(self) -> tuple[str, str, str, str]:
        return (self.entity, self.record_id, self.field, self.kind)

    @property
    def field_label(self) -> str:
        return FIELD_LABELS.get(self.field, self.field)

    @property
    def entity_label(self) -> str:
        return ENTITY_LABELS[self.entity]

    def as_dict(self) -> dict[str, Any]:
        return {
            "art": self.entity, "id": self.record_id, "dienststelle": self.office_key,
            "bezeichnung": self.label, "feld": self.field, "konfliktart": self.kind,
            "angezeigter_wert": _jsonable(self.current),
            "andere_werte": [{"installation": r, "zaehler": c, "wert": _jsonable(v)}
                             for r, c, v in self.others],
        }


def _jsonable(value: Any) -> Any:
    if isinstance(value, date | datetime):
        return value.isoformat()
    return value


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat(timespec="seconds")
    if isinstance(value, date):
        return value.isoformat()
    return value


def list_conflicts(ws: Workspace, record_ids: Iterable[str] | None = None) -> list[ConflictInfo]:
    """Every open conflict (optionally only of the given records), oldest first."""
    ids = set(record_ids) if record_ids is not None else None
    result: dict[tuple[str, str, str, str], ConflictInfo] = {}
    with ws.db.read() as session:
        query = select(ConflictValue).order_by(ConflictValue.seq)
        rows = session.scalars(query).all()
        records: dict[tuple[str, str], Any] = {}
        for row in rows:
            if ids is not None and row.record_id not in ids:
                continue
            model = ENTITY_BY_NAME.get(row.entity)
            if model is None:
                continue
            key = (row.entity, row.record_id)
            if key not in records:
                records[key] = session.scalar(select(model).where(model.id == row.record_id))
            record = records[key]
            if record is None or row.field not in SPECS[row.entity].field_names:
                continue
            dot = versioning.field_dot(record.stamps or {}, record.origin_replica, row.field)
            if dot != (row.winner_replica, row.winner_counter):
                continue  # a later change of the field has superseded this conflict
            current = _plain(getattr(record, row.field))
            value = json.loads(row.value) if row.value is not None else None
            if value == current or (row.kind == "loeschen" and not record.deleted):
                continue  # the same value from both sides (two PCs deleted it): no conflict
            info = result.get((row.entity, row.record_id, row.field, row.kind))
            if info is None:
                label = " – ".join(str(getattr(record, c)) for c in LABEL_FIELDS[row.entity]
                                   if getattr(record, c, None) not in (None, ""))
                info = ConflictInfo(row.entity, row.record_id, record.office_key,
                                    escape_display(label, 120), row.field, row.kind, current,
                                    dot, [], record.updated_at)
                result[info.key] = info
            info.others.append((row.replica, row.counter, value))
    for info in result.values():
        info.others.sort(key=lambda o: dot_key((o[0], o[1])), reverse=True)
    return list(result.values())


def count_open(ws: Workspace, record_ids: Iterable[str] | None = None) -> int:
    return len(list_conflicts(ws, record_ids))


def _to_orm(spec: FieldSpec, value: Any) -> Any:
    """A plain value (as the conflict view shows it) as the ORM attribute value, checked."""
    from integrationsplaner.exchange.lines import Validator, _LineError

    if spec.kind == "date" and isinstance(value, date):
        value = value.isoformat()
    try:
        Validator.value(_VALIDATOR_STUB, spec, value, "")  # type: ignore[arg-type]
    except _LineError as exc:
        raise ValidationError([ValidationIssue(spec.name, f"{exc}.")]) from None
    if value is None:
        return None
    if spec.kind == "date":
        return date.fromisoformat(value)
    if spec.kind == "datetime":
        return datetime.fromisoformat(value)
    if spec.kind == "float":
        return float(value)
    return value


class _Stub:
    offices: frozenset[str] = frozenset()
    areas = frozenset(range(1, 100))
    concepts: frozenset[str] = frozenset()


_VALIDATOR_STUB = _Stub()


def resolve(ws: Workspace, entity: str, record_id: str, field_name: str, value: Any,
            kind: str = "feld") -> None:
    """Decide a conflict: ``value`` becomes the field's value by a new local edit, so that the
    decision travels to every other database with the next bundle."""
    model = ENTITY_BY_NAME[entity]
    spec = next(f for f in SPECS[entity].fields if f.name == field_name)
    if field_name == "concept_period" and value is not None and value not in {
            c.key for c in ws.reference.concept_periods}:
        raise ValidationError([ValidationIssue(field_name, "Unbekannter Konzeptzeitraum.")])
    new_value = _to_orm(spec, value)
    actor = ws.actor
    with ws.db.transaction() as session:
        record = session.scalar(select(model).where(model.id == record_id))
        if record is None:
            raise NotFoundError("Den Datensatz dieses Konflikts gibt es nicht mehr.")
        if record.office_key != actor.office_key:
            raise PermissionDeniedError(
                f"Dieser Konflikt betrifft einen Datensatz der Dienststelle "
                f"„{record.office_key}“. Nur dort kann er gelöst werden; die Lösung kommt mit "
                "dem nächsten Bündel hierher.")
        old = getattr(record, field_name)
        vv, dot = versioning.bump(record.vv or {}, actor.replica_id)
        setattr(record, field_name, new_value)
        record.vv = vv
        record.stamps = versioning.stamp_fields(record.stamps or {}, [field_name], dot)
        record.updated_at = utcnow()
        record.updated_by = actor.user
        action = audit.UPDATE
        if field_name == "deleted":
            action = audit.DELETE if new_value else audit.RESTORE
        audit.record(session, actor, entity, record_id, action, field_name, old, new_value)
        audit.record(session, actor, entity, record_id, "konflikt_geloest", field_name, None,
                     kind)
        for row in session.scalars(select(ConflictValue).where(
                ConflictValue.entity == entity, ConflictValue.record_id == record_id,
                ConflictValue.field == field_name)):
            session.delete(row)
