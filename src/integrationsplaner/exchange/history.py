"""Read helpers for the exchange history and for what an export would contain."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select

from integrationsplaner.exchange.export import recipient_start
from integrationsplaner.exchange.format import SPECS
from integrationsplaner.services.workspace import Workspace
from integrationsplaner.store.exchange_models import ExchangeLogEntry, JournalEntry


@dataclass(frozen=True)
class HistoryRow:
    at: datetime
    direction: str  # export | import | zurueck (an import taken back)
    bundle_id: str
    sender_office: str
    recipient: str
    kind: str
    user: str
    file_name: str
    summary: dict[str, int]


def list_history(ws: Workspace, limit: int = 1000) -> list[HistoryRow]:
    """Exported and imported bundles, newest first."""
    with ws.db.read() as session:
        rows = session.scalars(select(ExchangeLogEntry).order_by(ExchangeLogEntry.seq.desc())
                               .limit(limit)).all()
        return [HistoryRow(r.at, r.direction, r.bundle_id, r.sender_office, r.recipient, r.kind,
                           r.user, r.file_name, json.loads(r.summary or "{}")) for r in rows]


def pending_count(ws: Workspace, to: str | None) -> tuple[int, bool]:
    """How many records an export would carry and whether it is incremental."""
    start = recipient_start(ws, to) if to is not None else 0
    with ws.db.read() as session:
        if start:
            count = session.scalar(select(func.count(func.distinct(JournalEntry.record_id)))
                                   .where(JournalEntry.seq > start))
            return int(count or 0), True
        total = 0
        for spec in SPECS.values():
            total += int(session.execute(
                select(func.count()).select_from(
                    __import__("sqlalchemy").table(spec.table))).scalar() or 0)
        return total, False
