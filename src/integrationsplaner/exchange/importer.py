"""Import of a bundle: verify → stage → plan (the preview) → backup → apply in one transaction.

:func:`prepare_import` runs every check and computes the plan in a temporary staging database
(the target database is only read). :func:`apply_import` writes exactly the staged plan into the
target database in one transaction, after a backup copy; it first makes sure that the database
has not changed since the plan was made. Nothing is written before that last step, so a refused
or cancelled import leaves the database file as it was.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import sqlite3
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select

from integrationsplaner.domain.versioning import Order
from integrationsplaner.errors import UserError
from integrationsplaner.exchange import identity
from integrationsplaner.exchange.format import (
    ENTITY_LABELS,
    ENTITY_ORDER,
    LABEL_FIELDS,
    OWNER_PARENT,
    REFERENCES,
    SPECS,
    TABLE_OF,
    EntitySpec,
    canonical_json,
    decode_stored,
    encode_stored,
    escape_display,
)
from integrationsplaner.exchange.merge import State, join, open_siblings
from integrationsplaner.exchange.reader import (
    BundleError,
    BundleHeader,
    ImportCancelled,
    read_header,
)
from integrationsplaner.exchange.staging import check_references, create_stage, stage_records
from integrationsplaner.services.workspace import Workspace
from integrationsplaner.store.database import utcnow
from integrationsplaner.store.exchange_models import (
    Acknowledgement,
    ExchangeLogEntry,
    Received,
)

Progress = Callable[[int, int], bool]

CATEGORIES = ("new", "changed", "conflict", "deleted", "known", "local_newer", "refused")
CATEGORY_LABELS = {
    "new": "Neu",
    "changed": "Geändert",
    "conflict": "Konflikte",
    "deleted": "Gelöscht",
    "known": "Bereits bekannt",
    "local_newer": "Hier neuer",
    "refused": "Abgelehnt",
}
CREATE, UPDATE, DELETE, RESTORE, CONFLICT = (
    "anlegen", "aendern", "loeschen", "wiederherstellen", "konflikt")


def _audit_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


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

    def __init__(self, ws: Workspace, header: BundleHeader, stage_dir: Path,
                 con: sqlite3.Connection) -> None:
        self.ws = ws
        self.header = header
        self.stage_dir = stage_dir
        self.stage_path = stage_dir / "stage.sqlite"
        self.con = con
        self.summary: dict[str, int] = dict.fromkeys(CATEGORIES, 0)
        self.by_entity: dict[str, dict[str, int]] = {}
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
                yield PlanItem(entity, row[0], category, row[1], _label(spec, row[2:]))
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
            shutil.rmtree(self.stage_dir, ignore_errors=True)

    def __enter__(self) -> ImportPlan:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


def _label(spec: EntitySpec, values: tuple[Any, ...]) -> str:
    parts = [str(v) for v in values if v not in (None, "")]
    return escape_display(" – ".join(parts), 120) if parts else ENTITY_LABELS[spec.name]


# --- planning ---------------------------------------------------------------------------------


def prepare_import(ws: Workspace, path: Path, *, trust_new_sender: bool = False,
                   progress: Progress | None = None) -> ImportPlan:
    """Verify the bundle completely and compute the plan; writes nothing to the database."""
    header = read_header(ws, Path(path), trust_new_sender=trust_new_sender)
    header.file_sha256 = _file_sha256(header.path)
    stage_dir = Path(tempfile.mkdtemp(prefix="integrationsplaner-import-"))
    try:
        con = create_stage(stage_dir / "stage.sqlite")
    except BaseException:
        shutil.rmtree(stage_dir, ignore_errors=True)
        raise
    plan = ImportPlan(ws, header, stage_dir, con)
    try:
        if _already_applied(plan):
            return plan
        stage_records(ws, header, con, progress)
        con.execute("ATTACH DATABASE ? AS live", (f"{ws.db.path.resolve().as_uri()}?mode=ro",))
        check_references(con, header)
        _plan(plan, progress)
    except BaseException:
        plan.close()
        raise
    return plan


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(1024 * 1024):
            digest.update(block)
    return digest.hexdigest()


def _already_applied(plan: ImportPlan) -> bool:
    """Fast answer for a replayed bundle: this very file (same SHA-256 of every byte, and its
    signature and manifest verified again just now) has been applied here before, and importing
    it again would change no bookkeeping either. Every record it carries was merged then; local
    versions only grow, so each is already known here or newer. The plan then changes nothing,
    counts every record as already known, and reads no record line."""
    ws, header = plan.ws, plan.header
    if header.new_sender or not header.file_sha256:
        return False
    with ws.db.read() as session:
        logged = session.scalar(select(ExchangeLogEntry.at).where(
            ExchangeLogEntry.direction == "import",
            ExchangeLogEntry.bundle_id == header.bundle_id,
            ExchangeLogEntry.file_sha256 == header.file_sha256).limit(1))
        if logged is None:
            return False
        known = identity.replica_offices(session)
        received = session.get(Received, header.sender_replica)
        ack = session.get(Acknowledgement, (header.sender_office, header.sender_replica))
    if known.get(header.sender_replica) != header.sender_office:
        return False
    if any(replica not in known for replica in header.replicas):
        return False
    current = received.upto_seq if received is not None else 0
    if header.journal_from <= current < header.journal_to:
        return False
    mine = header.acknowledgements.get(ws.db.replica_id)
    if mine is not None and (ack is None or ack.acked_seq != mine):
        return False
    plan.imported_before = logged
    for entity in ENTITY_ORDER:
        count = int(header.counts.get(entity, 0))
        plan.by_entity[entity] = {c: count if c == "known" else 0 for c in CATEGORIES}
        plan.summary["known"] += count
    return True


def _plan(plan: ImportPlan, progress: Progress | None) -> None:
    ws, header, con = plan.ws, plan.header, plan.con
    sender = header.sender_office
    relay = ws.reference.office(sender).kind == "kreis"
    with ws.db.read() as session:
        known = identity.replica_offices(session)
        received = session.get(Received, header.sender_replica)
        ack = session.get(Acknowledgement, (sender, header.sender_replica))
        logged = session.scalar(select(ExchangeLogEntry.at).where(
            ExchangeLogEntry.direction == "import",
            ExchangeLogEntry.bundle_id == header.bundle_id).limit(1))
    plan.imported_before = logged
    own = known.get(header.sender_replica)
    if own is not None and own != sender:
        raise BundleError(f"„{header.path.name}“: die absendende Installation gehört laut dieser "
                          f"Datenbank zur Dienststelle „{own}“, nicht zu „{sender}“. Die Datei "
                          "wird nicht verarbeitet.")
    learned: dict[str, str] = {}
    if own is None:
        learned[header.sender_replica] = sender
    for replica, office in header.replicas.items():
        if replica not in known and replica not in learned and (relay or office == sender):
            learned[replica] = office
    offices = {**known, **learned}

    con.execute("BEGIN")
    try:
        for entity in ENTITY_ORDER:
            _ownership(con, entity, sender, relay, offices, learned)
        refused = {entity for entity in ENTITY_ORDER if con.execute(
            f"SELECT 1 FROM s_{entity} WHERE x_action = 'refused' LIMIT 1").fetchone()}
        for entity in ENTITY_ORDER:
            refused |= _cascade(con, entity, refused)
        total = sum(header.counts.values()) or 1
        done = 0
        for entity in ENTITY_ORDER:
            done += _classify(plan, entity)
            if progress is not None and progress(min(done, total), total) is False:
                raise ImportCancelled()
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    for entity in ENTITY_ORDER:
        counts = dict(con.execute(
            f"SELECT x_category, count(*) FROM s_{entity} GROUP BY x_category").fetchall())
        plan.by_entity[entity] = {c: int(counts.get(c, 0)) for c in CATEGORIES}
        for c in CATEGORIES:
            plan.summary[c] += int(counts.get(c, 0))
    # bookkeeping: what we have now received from the sender, what it confirms of ours
    current = received.upto_seq if received is not None else 0
    if header.journal_from <= current < header.journal_to:
        plan.bookkeeping.received_to = header.journal_to
    mine = header.acknowledgements.get(ws.db.replica_id)
    if mine is not None and (ack is None or ack.acked_seq != mine):
        plan.bookkeeping.ack = mine
    plan.bookkeeping.learned_replicas = learned


def _refuse(con: sqlite3.Connection, entity: str, where: str, params: tuple[Any, ...],
            reason: str) -> int:
    """Refuse the staged records (all still ``new`` here) that match; how many."""
    return con.execute(f"UPDATE s_{entity} SET x_action = 'refused', x_category = 'refused', "
                       f"x_reason = ? WHERE x_action = 'new' AND ({where})",
                       (reason, *params)).rowcount


def _ownership(con: sqlite3.Connection, entity: str, sender: str, relay: bool,
               offices: dict[str, str], learned: dict[str, str]) -> None:
    label = ENTITY_LABELS[entity]
    pairs = con.execute(f"SELECT DISTINCT s.office_key, j.key FROM s_{entity} s, "
                        "json_each(s.vv) j").fetchall()
    for office in sorted({o for o, _r in pairs}):
        if office != sender and not relay:
            _refuse(con, entity, "office_key = ?", (office,),
                    f"{label} gehört der Dienststelle „{office}“; die Dienststelle „{sender}“ "
                    "darf ihn nicht ändern oder weitergeben.")
    claims: dict[str, set[str]] = {}
    for office, replica in pairs:
        claims.setdefault(replica, set()).add(office)
    for replica, owners in sorted(claims.items()):
        known = offices.get(replica)
        if known is None and len(owners) == 1:
            offices[replica] = learned[replica] = next(iter(owners))
            continue
        for office in sorted(owners):
            if known != office:
                who = known or "mehreren Dienststellen"
                _refuse(con, entity, "office_key = ? AND EXISTS (SELECT 1 FROM json_each("
                        f"s_{entity}.vv) j WHERE j.key = ?)", (office, replica),
                        f"{label} der Dienststelle „{office}“ enthält Änderungen einer "
                        f"Installation von {who}; nur die eigene Dienststelle darf ihre "
                        "Datensätze ändern.")
    table = TABLE_OF[entity]
    _refuse(con, entity, f"EXISTS (SELECT 1 FROM live.{table} m WHERE m.id = s_{entity}.id "
            f"AND m.office_key != s_{entity}.office_key)", (),
            f"{label} gehört hier einer anderen Dienststelle; die Zuständigkeit eines Datensatzes "
            "ändert sich nie.")
    if entity in OWNER_PARENT:
        column, parent = OWNER_PARENT[entity]
        ptable = TABLE_OF[parent]
        _refuse(con, entity,
                f"office_key != COALESCE((SELECT m.office_key FROM live.{ptable} m WHERE m.id = "
                f"s_{entity}.{column}), (SELECT p.office_key FROM s_{parent} p WHERE p.id = "
                f"s_{entity}.{column}))", (),
                f"{label} gehört nicht derselben Dienststelle wie "
                f"{ENTITY_LABELS[parent]}; so etwas kann nur ein verfälschtes Bündel enthalten.")


def _cascade(con: sqlite3.Connection, entity: str, refused: set[str]) -> set[str]:
    """Refuse the records whose parent record was refused (and is not here either); the set of
    entities with refused records afterwards (a bundle without refusals costs no scan)."""
    hit: set[str] = set()
    for column, target in REFERENCES.get(entity, {}).items():
        if target not in refused:
            continue
        ttable = TABLE_OF[target]
        if _refuse(con, entity,
                f"EXISTS (SELECT 1 FROM s_{target} p WHERE p.id = s_{entity}.{column} AND "
                f"p.x_action = 'refused') AND NOT EXISTS (SELECT 1 FROM live.{ttable} m "
                f"WHERE m.id = s_{entity}.{column})", (),
                f"{ENTITY_LABELS[target]}, zu dem dieser Datensatz gehört, wurde abgelehnt."):
            hit.add(entity)
    return hit


def _classify(plan: ImportPlan, entity: str) -> int:
    con = plan.con
    spec = SPECS[entity]
    table = TABLE_OF[entity]
    # staged as new; only the records known here are planned further (a first import of a
    # large bundle rewrites no staged row)
    con.execute(f"UPDATE s_{entity} SET x_action = NULL, x_category = NULL WHERE x_action = "
                f"'new' AND EXISTS (SELECT 1 FROM live.{table} m WHERE m.id = s_{entity}.id)")
    con.execute(f"UPDATE s_{entity} SET x_action = 'known', x_category = 'known' WHERE "
                f"x_action IS NULL AND EXISTS (SELECT 1 FROM live.{table} m "
                f"WHERE m.id = s_{entity}.id AND m.vv = s_{entity}.vv)")
    # items of the refused, and of new records that arrive with open conflicts
    label_cols = ", ".join(f's."{c}"' for c in LABEL_FIELDS[entity])
    for rid, office, reason, *labels in con.execute(
            f"SELECT s.id, s.office_key, s.x_reason, {label_cols} FROM s_{entity} s "
            "WHERE s.x_category = 'refused'").fetchall():
        con.execute("INSERT INTO s_items VALUES (?, ?, 'refused', ?, ?, ?, NULL)",
                    (entity, rid, office, _label(spec, tuple(labels)), reason))
    field_names = spec.field_names
    fields = spec.fields
    cols = ", ".join(f's."{c}"' for c in spec.columns)
    live_cols = ", ".join(f'm."{c}"' for c in spec.columns)
    n_cols = len(spec.columns)
    new_with_siblings = con.execute(
        f"SELECT {cols}, s.x_siblings FROM s_{entity} s WHERE s.x_action = 'new' AND "
        "s.x_siblings IS NOT NULL").fetchall()
    for row in new_with_siblings:
        remote = _state(spec, row[:n_cols], row[n_cols])
        _record_siblings(con, entity, remote, row[0], row[1], field_names)
        conflicts = [(name, escape_display(remote.values.get(name)), escape_display(v))
                     for name in field_names for _r, _c, v in open_siblings(remote, name)]
        _item(con, entity, spec, row[0], "conflict", row[1], remote.values, [], conflicts)
    pending = con.execute(
        f"SELECT s.x_rid, {cols}, s.x_siblings, {live_cols} FROM s_{entity} s JOIN live.{table} m "
        f"ON m.id = s.id WHERE s.x_action IS NULL").fetchall()
    if not pending:
        return int(con.execute(f"SELECT count(*) FROM s_{entity}").fetchone()[0])
    local_siblings = _local_siblings(con, entity)
    update_cols = [c for c in spec.columns if c != "id"]
    assignments = ", ".join(f'"{c}" = ?' for c in update_cols)
    update_sql = (f"UPDATE s_{entity} SET {assignments}, "
                  "x_siblings = ?, x_action = ?, x_category = ?, x_local_vv = ? WHERE x_rid = ?")
    for row in pending:
        rid = row[0]
        srow = row[1:1 + n_cols]
        ssib = row[1 + n_cols]
        lrow = row[2 + n_cols:]
        record_id, office = srow[0], srow[1]
        remote = _state(spec, srow, ssib)
        local = _state(spec, lrow, None, local_siblings.get(record_id))
        outcome = join(local, remote, field_names)
        if outcome.order in (Order.EQUAL, Order.AFTER):
            category = "known" if outcome.order is Order.EQUAL else "local_newer"
            con.execute(f"UPDATE s_{entity} SET x_action = ?, x_category = ? WHERE x_rid = ?",
                        (category, category, rid))
            continue
        merged = outcome.state
        was_deleted = bool(local.values.get("deleted"))
        now_deleted = bool(merged.values.get("deleted"))
        if outcome.new_conflicts or outcome.delete_conflict is not None:
            category = "conflict"
        elif now_deleted and not was_deleted:
            category = "deleted"
        else:
            category = "changed"
        # metadata of the merged record: never local time, never local identity
        meta = dict(zip(spec.columns, srow, strict=True))
        if outcome.order is Order.CONCURRENT:
            lmeta = dict(zip(spec.columns, lrow, strict=True))
            meta["created_at"] = min(lmeta["created_at"], meta["created_at"])
            if lmeta["updated_at"] > meta["updated_at"]:
                meta["updated_at"], meta["updated_by"] = lmeta["updated_at"], lmeta["updated_by"]
        values = [merged.origin if c == "origin_replica"
                  else canonical_json(dict(sorted(merged.vv.items()))) if c == "vv"
                  else canonical_json(merged.stamps) if c == "stamps"
                  else meta[c] for c in update_cols[:7]]
        values += [encode_stored(f, merged.values.get(f.name)) for f in fields]
        if entity == "measure":
            from integrationsplaner.domain.text import sort_key

            values.append(sort_key(merged.values.get("title") or ""))
        elif entity == "partner":
            from integrationsplaner.domain.text import sort_key

            values.append(sort_key(merged.values.get("name") or ""))
        sib_text = canonical_json({k: [list(s) for s in v] for k, v in merged.siblings.items()}) \
            if merged.siblings else None
        con.execute(update_sql, (*values, sib_text, "update", category, lrow[3], rid))
        con.execute("INSERT INTO s_touched VALUES (?, ?)", (entity, record_id))
        _record_siblings(con, entity, merged, record_id, office, field_names)
        diffs = []
        for name in outcome.changed_fields:
            old, new = local.values.get(name), merged.values.get(name)
            action = UPDATE
            if name == "deleted":
                action = DELETE if new else RESTORE
            con.execute("INSERT INTO s_changes VALUES (?, ?, ?, ?, ?, ?)",
                        (entity, record_id, action, name, _audit_text(old), _audit_text(new)))
            diffs.append((name, escape_display(old), escape_display(new)))
        conflicts = []
        for name in outcome.new_conflicts:
            for _r, _c, other in open_siblings(merged, name):
                conflicts.append((name, escape_display(merged.values.get(name)),
                                  escape_display(other)))
                con.execute("INSERT INTO s_changes VALUES (?, ?, ?, ?, ?, ?)",
                            (entity, record_id, CONFLICT, name,
                             _audit_text(merged.values.get(name)), _audit_text(other)))
        dc = outcome.delete_conflict
        if dc is not None:
            con.execute("INSERT INTO s_conflicts VALUES (?, ?, ?, 'deleted', 'loeschen', ?, ?, "
                        "?, ?, ?)", (entity, record_id, office, dc.edit_dot[0], dc.edit_dot[1],
                                     "false", dc.delete_dot[0], dc.delete_dot[1]))
            conflicts.append(("deleted", "gelöscht", "geändert, nicht gelöscht"))
            con.execute("INSERT INTO s_changes VALUES (?, ?, ?, ?, ?, ?)",
                        (entity, record_id, CONFLICT, "deleted", "true", "false"))
        _item(con, entity, spec, record_id, category, office, merged.values, diffs, conflicts)
    return int(con.execute(f"SELECT count(*) FROM s_{entity}").fetchone()[0])


def _item(con: sqlite3.Connection, entity: str, spec: EntitySpec, record_id: str, category: str,
          office: str, values: dict[str, Any], diffs: list[tuple[str, str, str]],
          conflicts: list[tuple[str, str, str]]) -> None:
    label = _label(spec, tuple(values.get(c) for c in LABEL_FIELDS[entity]))
    con.execute("INSERT INTO s_items VALUES (?, ?, ?, ?, ?, NULL, ?)",
                (entity, record_id, category, office, label,
                 json.dumps({"diffs": diffs, "conflicts": conflicts}, ensure_ascii=False)))


def _record_siblings(con: sqlite3.Connection, entity: str, state: State, record_id: str,
                     office: str, names: tuple[str, ...]) -> None:
    for name in names:
        winner = state.dot(name)
        for replica, counter, value in state.siblings.get(name, ()):
            con.execute("INSERT INTO s_conflicts VALUES (?, ?, ?, ?, 'feld', ?, ?, ?, ?, ?)",
                        (entity, record_id, office, name, replica, counter,
                         json.dumps(value, ensure_ascii=False), winner[0], winner[1]))


def _state(spec: EntitySpec, row: tuple[Any, ...], siblings_text: str | None,
           siblings: dict[str, list[tuple[str, int, Any]]] | None = None) -> State:
    data = dict(zip(spec.columns, row, strict=True))
    values = {f.name: decode_stored(f, data[f.name]) for f in spec.fields}
    vv = json.loads(data["vv"]) if isinstance(data["vv"], str) else dict(data["vv"])
    stamps = json.loads(data["stamps"]) if isinstance(data["stamps"], str) else data["stamps"]
    if siblings is None and siblings_text:
        siblings = {k: [(str(s[0]), int(s[1]), s[2]) for s in v]
                    for k, v in json.loads(siblings_text).items()}
    state = State({str(k): int(v) for k, v in vv.items()}, dict(stamps or {}),
                  str(data["origin_replica"]), values, dict(siblings or {}))
    if siblings:
        # a sibling is open only while the field still shows the value it lost against
        state.siblings = {k: v for k, v in state.siblings.items() if v}
    return state


def _local_siblings(con: sqlite3.Connection, entity: str
                    ) -> dict[str, dict[str, list[tuple[str, int, Any]]]]:
    """Open same-field conflict values of local records, only where the field still shows the
    value they lost against (a later edit of the field has superseded them)."""
    spec = SPECS[entity]
    table = TABLE_OF[entity]
    result: dict[str, dict[str, list[tuple[str, int, Any]]]] = {}
    rows = con.execute(
        "SELECT c.record_id, c.field, c.replica, c.counter, c.value, c.winner_replica, "
        f"c.winner_counter, m.stamps, m.origin_replica FROM live.exchange_conflicts c JOIN "
        f"live.{table} m ON m.id = c.record_id WHERE c.entity = ? AND c.kind = 'feld'",
        (entity,)).fetchall()
    names = set(spec.field_names)
    for rid, name, replica, counter, value, wr, wc, stamps_text, origin in rows:
        if name not in names:
            continue
        stamps = json.loads(stamps_text) if isinstance(stamps_text, str) else stamps_text
        stamp = (stamps or {}).get(name) or [origin, 1]
        if (str(stamp[0]), int(stamp[1])) != (wr, wc):
            continue
        result.setdefault(rid, {}).setdefault(name, []).append(
            (replica, int(counter), json.loads(value) if value is not None else None))
    return result


# --- applying ---------------------------------------------------------------------------------


@dataclass
class ImportResult:
    bundle_id: str
    sender_office: str
    applied: bool
    nothing_to_do: bool
    summary: dict[str, int]
    open_conflicts: int
    backup: Path | None
    message: str

    @property
    def exit_code(self) -> int:
        return 3 if self.applied and self.open_conflicts else 0

    def as_dict(self) -> dict[str, Any]:
        return {"buendel_id": self.bundle_id, "absender": self.sender_office,
                "uebernommen": self.applied, "nichts_zu_tun": self.nothing_to_do,
                "zusammenfassung": self.summary, "offene_konflikte": self.open_conflicts,
                "sicherung": str(self.backup) if self.backup else None,
                "meldung": self.message}


#: From this many new records of one entity on, a first import loads them in bulk (see _write).
BULK_MIN_RECORDS = 5000

#: Page cache of the apply connection (KiB): large imports touch every index of every table.
_APPLY_CACHE_KIB = 196_608

#: Test seam: called inside the apply transaction after the records are written.
_after_records_hook: Callable[[], None] | None = None


def refusal_message(plan: ImportPlan) -> str:
    reasons = [i.reason for i in plan.items("refused", 3)]
    text = "; ".join(dict.fromkeys(reasons))
    return (f"Das Bündel „{plan.header.path.name}“ wurde abgelehnt, unzulässige Datensätze: "
            f"{plan.summary['refused']} ({text}). Es wurde nichts geändert.")


def apply_import(ws: Workspace, plan: ImportPlan) -> ImportResult:
    """Back up, then write the plan in one transaction. Refuses a plan of refusals only."""
    header = plan.header
    if plan.rejected:
        raise BundleError(refusal_message(plan))
    if plan.nothing_to_do:
        when = plan.imported_before
        return ImportResult(header.bundle_id, header.sender_office, False, True, plan.summary, 0,
                            None, "Dieses Bündel wurde bereits am "
                            f"{when:%d.%m.%Y um %H:%M} Uhr übernommen. Es wurde nichts geändert."
                            if when else "Nichts zu tun: alles ist bereits bekannt.")
    small = 0 < plan.record_changes < ROLLBACK_FILE_LIMIT
    backup = ws.db.backup("vor-import") if plan.record_changes and not small else None
    con = sqlite3.connect(str(ws.db.path), isolation_level=None, check_same_thread=False)
    try:
        con.execute("PRAGMA foreign_keys=ON")
        con.execute("PRAGMA busy_timeout=5000")
        # a large import inserts into many indexes at random places: give it a page cache
        con.execute(f"PRAGMA main.cache_size={-_APPLY_CACHE_KIB}")
        con.execute("ATTACH DATABASE ? AS stage", (str(plan.stage_path),))
        con.execute("PRAGMA stage.cache_size=-16384")
        con.execute("BEGIN IMMEDIATE")
        try:
            if small:
                backup = _write_rollback_file(ws, plan, con)
            _write(ws, plan, con)
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
    except sqlite3.Error as exc:
        raise UserError(f"Das Bündel konnte nicht übernommen werden ({exc}). Es wurde nichts "
                        "geändert.") from None
    finally:
        con.close()
    open_conflicts = _open_conflicts_of(ws, plan)
    parts = [f"{CATEGORY_LABELS[c]}: {plan.summary[c]}" for c in CATEGORIES if plan.summary[c]]
    message = "Übernommen. " + (", ".join(parts) if parts else "Keine Datensätze geändert.")
    if plan.summary["refused"]:
        message += f" {plan.summary['refused']} Datensätze wurden abgelehnt."
    if open_conflicts:
        message += (f" {open_conflicts} Konflikte warten auf Ihre Entscheidung "
                    "(Austausch → Konflikte).")
    return ImportResult(header.bundle_id, header.sender_office, True, False, plan.summary,
                        open_conflicts, backup, message)


#: Below this many changed records the backup before an import is a rollback file (the
#: pre-images of exactly the rows the import changes) instead of a copy of the whole database.
ROLLBACK_FILE_LIMIT = 5000


def _write_rollback_file(ws: Workspace, plan: ImportPlan, con: sqlite3.Connection) -> Path:
    """Write the rollback file of a small import (see docs/bundle-format.md, "Sicherung vor dem
    Import"), inside the write transaction so that the pre-images are exactly what the import
    replaces; fsynced before anything is written to the database."""
    from integrationsplaner.store.database import BACKUP_DIR

    header = plan.header
    folder = ws.db.path.parent / BACKUP_DIR
    folder.mkdir(exist_ok=True)
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    target = folder / f"{ws.db.path.stem}.{stamp}.vor-import.jsonl"
    n = 1
    while target.exists():
        n += 1
        target = folder / f"{ws.db.path.stem}.{stamp}-{n}.vor-import.jsonl"
    encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode

    def rows(sql: str, params: tuple[Any, ...] = ()) -> Iterator[dict[str, Any]]:
        cursor = con.execute(sql, params)
        names = [d[0] for d in cursor.description]
        for row in cursor:
            yield dict(zip(names, row, strict=True))

    tmp = target.with_name(target.name + ".tmp")
    with tmp.open("w", encoding="utf-8", newline="\n") as out:
        out.write(encode({
            "format": "integrationsplaner-ruecksicherung", "format_version": 1,
            "datenbank": ws.db.path.name, "replica_id": ws.db.replica_id,
            "buendel_id": header.bundle_id, "absender": header.sender_office,
            "erstellt": utcnow().strftime("%Y-%m-%dT%H:%M:%S")}) + "\n")
        for entity in ENTITY_ORDER:
            table = TABLE_OF[entity]
            for (rid,) in con.execute(f"SELECT id FROM stage.s_{entity} WHERE x_action = 'new' "
                                      "ORDER BY x_rid"):
                out.write(encode({"tabelle": table, "id": rid, "vorher": None}) + "\n")
            for row in rows(f"SELECT m.* FROM main.{table} m JOIN stage.s_{entity} s ON "
                            "s.id = m.id WHERE s.x_action = 'update' ORDER BY s.x_rid"):
                out.write(encode({"tabelle": table, "id": row["id"], "vorher": row}) + "\n")
        for row in rows("SELECT c.* FROM main.exchange_conflicts c WHERE c.kind = 'feld' AND "
                        "EXISTS (SELECT 1 FROM stage.s_touched t WHERE t.record_id = "
                        "c.record_id AND t.entity = c.entity)"):
            out.write(encode({"tabelle": "exchange_conflicts", "vorher": row}) + "\n")
        for table, where, params in (
                ("exchange_received", "replica_id = ?", (header.sender_replica,)),
                ("exchange_acks", "office_key = ? AND replica_id = ?",
                 (header.sender_office, header.sender_replica))):
            for row in rows(f"SELECT * FROM main.{table} WHERE {where}", params):
                out.write(encode({"tabelle": table, "vorher": row}) + "\n")
        out.flush()
        os.fsync(out.fileno())
    os.replace(tmp, target)
    return target


def _write(ws: Workspace, plan: ImportPlan, con: sqlite3.Connection) -> None:
    header = plan.header
    stale = BundleError("Die Datenbank wurde seit der Vorschau verändert. Bitte importieren Sie "
                        "das Bündel erneut; es wurde nichts geändert.")
    now = utcnow().strftime("%Y-%m-%d %H:%M:%S.000000")
    actor = (now, ws.user, ws.office_key, ws.db.replica_id, header.bundle_id)
    for entity in ENTITY_ORDER:
        table = TABLE_OF[entity]
        if con.execute(f"SELECT 1 FROM stage.s_{entity} s JOIN main.{table} m ON m.id = s.id "
                       "WHERE s.x_action = 'new' LIMIT 1").fetchone() or con.execute(
                f"SELECT 1 FROM stage.s_{entity} s JOIN main.{table} m ON m.id = s.id WHERE "
                "s.x_action = 'update' AND m.vv IS NOT s.x_local_vv LIMIT 1").fetchone():
            raise stale
    # Many new records into a table that holds fewer (a first import): drop its secondary
    # indexes and triggers, insert, then do what the triggers do and rebuild the indexes, each
    # in one pass (store.bulk; same transaction). Only for tables without updates in the plan.
    bulk = []
    for entity in ENTITY_ORDER:
        table = TABLE_OF[entity]
        new, updates = (plan.by_entity.get(entity, {}).get(c, 0) for c in ("new", "changed"))
        if new >= BULK_MIN_RECORDS and not con.execute(
                f"SELECT 1 FROM stage.s_{entity} WHERE x_action = 'update' LIMIT 1").fetchone():
            existing = con.execute(f"SELECT coalesce(max(rowid), 0) FROM main.{table}"
                                   ).fetchone()[0]
            if existing < new and not updates:
                bulk.append(table)
    if bulk:
        # the audit entries of the new records too, when they outnumber the entries so far
        entries = sum(plan.by_entity[e]["new"] for e in ENTITY_ORDER if TABLE_OF[e] in bulk)
        if entries > con.execute("SELECT count(*) FROM main.audit_log").fetchone()[0]:
            bulk.append("audit_log")
    with contextlib.ExitStack() as loading:
        if bulk:
            from integrationsplaner.store.bulk import bulk_load

            loading.enter_context(bulk_load(con.cursor(), bulk))
        for entity in ENTITY_ORDER:
            spec = SPECS[entity]
            table = TABLE_OF[entity]
            cols = ", ".join(f'"{c}"' for c in spec.columns)
            con.execute(f"INSERT INTO main.{table} ({cols}) SELECT {cols} FROM stage.s_{entity} "
                        "WHERE x_action = 'new' ORDER BY x_rid")
            sets = ", ".join(f'"{c}" = s."{c}"' for c in spec.columns if c != "id")
            con.execute(f"UPDATE main.{table} AS m SET {sets} FROM stage.s_{entity} AS s "
                        "WHERE s.id = m.id AND s.x_action = 'update'")
            con.execute("INSERT INTO main.audit_log (at, user, office_key, replica_id, source, "
                        "bundle_id, entity, record_id, action, field, old_value, new_value) "
                        f"SELECT ?, ?, ?, ?, 'buendel', ?, '{entity}', id, '{CREATE}', NULL, "
                        f"NULL, NULL FROM stage.s_{entity} WHERE x_action = 'new' ORDER BY x_rid",
                        actor)
    con.execute("DELETE FROM main.exchange_conflicts WHERE kind = 'feld' AND EXISTS (SELECT 1 "
                "FROM stage.s_touched t WHERE t.record_id = exchange_conflicts.record_id AND "
                "t.entity = exchange_conflicts.entity)")
    con.execute("INSERT OR IGNORE INTO main.exchange_conflicts (entity, record_id, office_key, "
                "field, kind, replica, counter, value, winner_replica, winner_counter, "
                "detected_at, bundle_id) SELECT entity, record_id, office_key, field, kind, "
                "replica, counter, value, winner_replica, winner_counter, ?, ? FROM "
                "stage.s_conflicts", (now, header.bundle_id))
    con.execute("INSERT INTO main.audit_log (at, user, office_key, replica_id, source, bundle_id, "
                "entity, record_id, action, field, old_value, new_value) SELECT ?, ?, ?, ?, "
                "'buendel', ?, entity, record_id, action, field, old_value, new_value FROM "
                "stage.s_changes ORDER BY rowid", actor)
    if _after_records_hook is not None:
        _after_records_hook()
    # bookkeeping
    book = plan.bookkeeping
    for replica, office in sorted(book.learned_replicas.items()):
        via = "absender" if replica == header.sender_replica else "weitergeleitet"
        con.execute("INSERT OR IGNORE INTO main.exchange_replicas (replica_id, office_key, "
                    "first_seen, via) VALUES (?, ?, ?, ?)", (replica, office, now, via))
    if header.new_sender:
        con.execute("INSERT OR IGNORE INTO main.exchange_keys (fingerprint, office_key, "
                    "public_key, private_key, trusted, source, added_at, added_by) VALUES "
                    "(?, ?, ?, NULL, 1, 'erstkontakt', ?, ?)",
                    (header.sender_fingerprint, header.sender_office, header.sender_public.hex(),
                     now, ws.user))
    if book.received_to is not None:
        con.execute("INSERT INTO main.exchange_received (replica_id, office_key, upto_seq, "
                    "updated_at) VALUES (?, ?, ?, ?) ON CONFLICT(replica_id) DO UPDATE SET "
                    "upto_seq = excluded.upto_seq, updated_at = excluded.updated_at",
                    (header.sender_replica, header.sender_office, book.received_to, now))
    if book.ack is not None:
        con.execute("INSERT INTO main.exchange_acks (office_key, replica_id, acked_seq, "
                    "updated_at, bundle_id) VALUES (?, ?, ?, ?, ?) ON CONFLICT(office_key, "
                    "replica_id) DO UPDATE SET acked_seq = excluded.acked_seq, updated_at = "
                    "excluded.updated_at, bundle_id = excluded.bundle_id",
                    (header.sender_office, header.sender_replica, book.ack, now,
                     header.bundle_id))
    con.execute("INSERT INTO main.exchange_log (direction, bundle_id, sender_office, "
                "sender_replica, recipient, kind, bundle_created_at, at, user, file_name, "
                "file_sha256, journal_from, journal_to, summary) VALUES ('import', ?, ?, ?, ?, "
                "?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (header.bundle_id, header.sender_office, header.sender_replica,
                 header.recipient, header.kind,
                 header.created_at.strftime("%Y-%m-%d %H:%M:%S.000000"), now, ws.user,
                 str(header.path), header.file_sha256, header.journal_from, header.journal_to,
                 json.dumps(plan.summary, sort_keys=True)))


def _open_conflicts_of(ws: Workspace, plan: ImportPlan) -> int:
    from integrationsplaner.exchange.conflicts import count_open

    ids = {r[0] for r in plan.con.execute("SELECT record_id FROM s_conflicts").fetchall()}
    if not ids:
        return 0
    return count_open(ws, ids)
