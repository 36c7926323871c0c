"""The plan of an import: the verified, staged and classified content of a bundle, and what
the preview shows of it (counts, items with field diffs and conflicts, the JSON of the
command line). Made by :func:`integrationsplaner.exchange.importer.prepare_import` and
:mod:`~integrationsplaner.exchange.planning`, written by
:func:`integrationsplaner.exchange.importer.apply_import`.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from integrationsplaner.exchange.format import ENTITY_ORDER, LABEL_FIELDS, SPECS
from integrationsplaner.exchange.planning import CATEGORIES, record_label
from integrationsplaner.exchange.reader import BundleHeader
from integrationsplaner.exchange.staging import Staged, StageFolder
from integrationsplaner.services.workspace import Workspace

CATEGORY_LABELS = {
    "new": "Neu",
    "changed": "Geändert",
    "conflict": "Konflikte",
    "deleted": "Gelöscht",
    "known": "Bereits bekannt",
    "local_newer": "Hier neuer",
    "refused": "Abgelehnt",
}


@dataclass
class PlanItem:
    entity: str
    record_id: str
    category: str
    office_key: str
    label: str
    reason: str = ""
    diffs: list[tuple[str, str, str]] = field(default_factory=list)  # field, old, new (escaped)
    conflicts: list[tuple[str, str, str]] = field(default_factory=list)  # field, shown, other

    def as_dict(self) -> dict[str, Any]:
        return {"art": self.entity, "id": self.record_id, "kategorie": self.category,
                "dienststelle": self.office_key, "bezeichnung": self.label,
                "grund": self.reason,
                "felder": [{"feld": f, "alt": o, "neu": n} for f, o, n in self.diffs],
                "konflikte": [{"feld": f, "angezeigt": a, "anderer_wert": b}
                              for f, a, b in self.conflicts]}


@dataclass
class Bookkeeping:
    received_to: int | None = None  # new upto_seq for the sender replica
    ack: int | None = None  # new acked_seq of our journal by the sender replica
    learned_replicas: dict[str, str] = field(default_factory=dict)


class ImportPlan:
    """The verified, staged and classified content of a bundle; the preview shows it."""

    def __init__(self, ws: Workspace, header: BundleHeader, folder: StageFolder,
                 con: sqlite3.Connection) -> None:
        self.ws = ws
        self.header = header
        self.folder = folder
        self.stage_path = folder.path / "stage.sqlite"
        self.con = con
        self.summary: dict[str, int] = dict.fromkeys(CATEGORIES, 0)
        self.by_entity: dict[str, dict[str, int]] = {}
        #: per entity how many staged records the apply inserts and updates (x_action)
        self.actions: dict[str, dict[str, int]] = {}
        self.staged = Staged()
        self.bookkeeping = Bookkeeping()
        self.imported_before: datetime | None = None

    # --- what the preview shows -----------------------------------------------------------

    @property
    def record_changes(self) -> int:
        return sum(self.summary[c] for c in ("new", "changed", "conflict", "deleted"))

    @property
    def nothing_to_do(self) -> bool:
        return (self.record_changes == 0 and self.imported_before is not None
                and self.bookkeeping.received_to is None and self.bookkeeping.ack is None
                and not self.bookkeeping.learned_replicas and not self.header.new_sender)

    @property
    def rejected(self) -> bool:
        """Only refused records and nothing else to take over: the bundle is refused."""
        return self.summary["refused"] > 0 and self.record_changes == 0

    def items(self, category: str, limit: int = 500, offset: int = 0) -> list[PlanItem]:
        if category in ("new", "known", "local_newer"):
            return list(self._plain_items(category, limit, offset))
        rows = self.con.execute(
            "SELECT entity, record_id, category, office_key, label, reason, detail FROM s_items "
            "WHERE category = ? ORDER BY rowid LIMIT ? OFFSET ?",
            (category, limit, offset)).fetchall()
        result = []
        for entity, rid, cat, office, label, reason, detail in rows:
            data = json.loads(detail) if detail else {}
            result.append(PlanItem(entity, rid, cat, office, label, reason or "",
                                   [tuple(d) for d in data.get("diffs", [])],
                                   [tuple(c) for c in data.get("conflicts", [])]))
        return result

    def _plain_items(self, category: str, limit: int, offset: int) -> Iterator[PlanItem]:
        for entity in ENTITY_ORDER:
            if limit <= 0:
                return
            count = self.by_entity.get(entity, {}).get(category, 0)
            if offset >= count:
                offset -= count
                continue
            spec = SPECS[entity]
            label_cols = ", ".join(f'"{c}"' for c in LABEL_FIELDS[entity])
            rows = self.con.execute(
                f"SELECT id, office_key, {label_cols} FROM s_{entity} WHERE x_category = ? "
                "ORDER BY x_rid LIMIT ? OFFSET ?", (category, limit, offset)).fetchall()
            offset = 0
            for row in rows:
                yield PlanItem(entity, row[0], category, row[1], record_label(spec, row[2:]))
            limit -= len(rows)

    def as_dict(self, item_limit: int = 1000) -> dict[str, Any]:
        h = self.header
        items = []
        for category in ("conflict", "changed", "deleted", "refused", "new"):
            items += [i.as_dict() for i in self.items(category, item_limit)]
        return {
            "buendel": {
                "id": h.bundle_id, "absender": h.sender_office, "installation": h.sender_replica,
                "fingerabdruck": h.short_fingerprint, "neuer_absender": h.new_sender,
                "empfaenger": h.recipient, "art": h.kind,
                "erstellt": h.created_at.isoformat(), "datensaetze": h.counts,
            },
            "bereits_importiert": self.imported_before.isoformat()
            if self.imported_before else None,
            "nichts_zu_tun": self.nothing_to_do,
            "zusammenfassung": self.summary,
            "je_art": self.by_entity,
            "eintraege": items,
            "eintraege_gekuerzt": any(
                self.summary[c] > item_limit for c in ("conflict", "changed", "deleted",
                                                       "refused", "new")),
        }

    def close(self) -> None:
        try:
            self.con.close()
        finally:
            self.folder.remove()

    def __enter__(self) -> ImportPlan:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()
