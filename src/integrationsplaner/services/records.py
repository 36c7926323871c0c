"""Shared mechanics of synchronised records: create, change with stamps, tombstone, ownership.

Every local change goes through :func:`create` or :func:`change`, which keep the version vector,
the per-field stamps and the audit trail in step. Exchange uses the same audit helper but keeps
the stamps it receives (imported data is never re-stamped with local time or identity).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy.orm import Session

from integrationsplaner.domain import versioning
from integrationsplaner.errors import PermissionDeniedError, StaleRecordError
from integrationsplaner.services import audit
from integrationsplaner.services.workspace import Actor
from integrationsplaner.store.database import utcnow
from integrationsplaner.store.models import ENTITY_NAMES, Synced

T = TypeVar("T", bound=Synced)


def new_id() -> str:
    return str(uuid.uuid4())


def check_owner(record: Synced, actor: Actor, what: str) -> None:
    if record.office_key != actor.office_key:
        raise PermissionDeniedError(
            f"{what} gehört der Dienststelle „{record.office_key}“ und kann nur dort geändert "
            "werden. Bitten Sie die zuständige Stelle um die Änderung."
        )


def check_version(record: Synced, expected: dict[str, int] | None, what: str) -> None:
    if expected and dict(record.vv) != dict(expected):
        raise StaleRecordError(
            f"{what} wurde inzwischen geändert (z. B. durch einen Bündel-Import). Bitte laden Sie "
            "den Datensatz neu und übertragen Sie Ihre Änderungen erneut."
        )


def create(session: Session, model: type[T], actor: Actor, *, id: str | None = None,
           office_key: str | None = None, **fields: Any) -> T:
    now = utcnow()
    record = model(
        id=id or new_id(),
        office_key=office_key or actor.office_key,
        vv={actor.replica_id: 1},
        stamps={},
        origin_replica=actor.replica_id,
        deleted=False,
        created_at=now,
        updated_at=now,
        updated_by=actor.user,
        **fields,
    )
    session.add(record)
    audit.record(session, actor, ENTITY_NAMES[model], record.id, audit.CREATE,
                 new={k: v for k, v in fields.items() if v not in (None, "", [], {})})
    return record


def change(session: Session, record: Synced, actor: Actor, changes: dict[str, Any]) -> list[str]:
    """Apply the fields that really differ; bump the version and stamp them. Returns their names."""
    changed = [name for name, value in changes.items() if getattr(record, name) != value]
    if not changed:
        return []
    vv, dot = versioning.bump(record.vv or {}, actor.replica_id)
    entity = ENTITY_NAMES[type(record)]
    for name in changed:
        old = getattr(record, name)
        new = changes[name]
        setattr(record, name, new)
        action = audit.UPDATE
        if name == "deleted":
            action = audit.DELETE if new else audit.RESTORE
        audit.record(session, actor, entity, record.id, action, name, old, new)
    record.vv = vv
    record.stamps = versioning.stamp_fields(record.stamps or {}, changed, dot)
    record.updated_at = utcnow()
    record.updated_by = actor.user
    return changed


def save(
    session: Session,
    model: type[T],
    actor: Actor,
    record_id: str | None,
    expected_version: dict[str, int],
    values: dict[str, Any],
    what: str,
    load: Callable[[Session, str], T],
) -> tuple[T, bool, list[str]]:
    """Create (``record_id`` None) or update a top-level record owned by the actor's office.

    Returns the record, whether it was created, and the names of the fields that changed."""
    if record_id is None:
        record = create(session, model, actor, **values)
        session.flush()
        return record, True, list(values)
    record = load(session, record_id)
    check_owner(record, actor, what)
    check_version(record, expected_version, what)
    return record, False, change(session, record, actor, values)


def sync_children(
    session: Session,
    actor: Actor,
    model: type[T],
    existing: list[T],
    wanted: list[dict[str, Any]],
    parent: dict[str, Any],
) -> list[str]:
    """Make the live children equal ``wanted`` (dicts with optional ``id``): create, change,
    tombstone. Returns a list of change descriptions for the parent's result."""
    by_id = {c.id: c for c in existing}
    seen: set[str] = set()
    changes: list[str] = []
    entity = ENTITY_NAMES[model]
    for values in wanted:
        child_id = values.pop("id", None)
        child = by_id.get(child_id) if child_id else None
        if child is None:
            create(session, model, actor, id=child_id, **parent, **values)
            changes.append(f"{entity}+")
            continue
        seen.add(child.id)
        values = {**values, "deleted": False}
        if change(session, child, actor, values):
            changes.append(f"{entity}~")
    for child in existing:
        if child.id not in seen and not child.deleted:
            change(session, child, actor, {"deleted": True})
            changes.append(f"{entity}-")
    return changes
