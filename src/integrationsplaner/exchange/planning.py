"""Planning an import: every staged record classified against this database.

Ownership first (a record only from its own office, relayed only by the Kreis; edits only from
installations of its office; an office never changes), then the children of refused records,
then the merge of each record that is here already (version vectors and field stamps,
:mod:`integrationsplaner.exchange.merge`). What would change is written into the staging
database (``x_action``, ``x_category``, items with field diffs, audit entries, conflict values),
so that the preview shows exactly what :func:`integrationsplaner.exchange.importer.apply_import`
writes.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from integrationsplaner.domain.versioning import Order
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
from integrationsplaner.exchange.merge import DELETED, EDITED, State, join, open_siblings
from integrationsplaner.exchange.reader import BundleError, ImportCancelled
from integrationsplaner.exchange.staging import Staged
from integrationsplaner.store.exchange_models import (
    Acknowledgement,
    ExchangeLogEntry,
    Received,
)

if TYPE_CHECKING:
    from integrationsplaner.exchange.plan import ImportPlan

Progress = Callable[[int, int], bool]

CATEGORIES = ("new", "changed", "conflict", "deleted", "known", "local_newer", "refused")

CREATE, UPDATE, DELETE, RESTORE, CONFLICT = (
    "anlegen", "aendern", "loeschen", "wiederherstellen", "konflikt")


def _audit_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def record_label(spec: EntitySpec, values: tuple[Any, ...]) -> str:
    parts = [str(v) for v in values if v not in (None, "")]
    return escape_display(" – ".join(parts), 120) if parts else ENTITY_LABELS[spec.name]


def plan_records(plan: ImportPlan, progress: Progress | None) -> None:
    """Classify every staged record against this database (ownership, parents, merge) and
    fill the plan's counts, items and bookkeeping; only the staging database is written."""
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

    staged = plan.staged
    con.execute("BEGIN")
    try:
        refused = {entity for entity in ENTITY_ORDER
                   if _ownership(con, entity, sender, relay, offices, learned, staged)}
        for entity in ENTITY_ORDER:
            refused |= _cascade(con, entity, refused)
        total = sum(header.counts.values()) or 1
        done = 0
        counted: dict[str, dict[tuple[str, str], int] | None] = {}
        for entity in ENTITY_ORDER:
            counted[entity] = _classify(plan, entity, entity in refused)
            done += header.counts.get(entity, 0)
            if progress is not None and progress(min(done, total), total) is False:
                raise ImportCancelled()
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    for entity in ENTITY_ORDER:
        counts = counted[entity]
        if counts is None:
            counts = {(c, a): n for c, a, n in con.execute(
                f"SELECT x_category, x_action, count(*) FROM s_{entity} GROUP BY 1, 2")}
        by_category = dict.fromkeys(CATEGORIES, 0)
        by_action = {"new": 0, "update": 0}
        for (category, action), n in counts.items():
            by_category[category] += n
            if action in by_action:
                by_action[action] += n
        plan.by_entity[entity] = by_category
        plan.actions[entity] = by_action
        for c in CATEGORIES:
            plan.summary[c] += by_category[c]
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
               offices: dict[str, str], learned: dict[str, str], staged: Staged) -> int:
    """Refuse the staged records that the sender may not give; how many."""
    label = ENTITY_LABELS[entity]
    pairs = sorted(staged.pairs.get(entity, ()))
    refused = 0
    for office in sorted({o for o, _r in pairs}):
        if office != sender and not relay:
            refused += _refuse(
                con, entity, "office_key = ?", (office,),
                f"{label} gehört der Dienststelle „{office}“; die Dienststelle „{sender}“ darf "
                "ihn nicht ändern oder weitergeben.")
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
                refused += _refuse(
                    con, entity, "office_key = ? AND EXISTS (SELECT 1 FROM json_each("
                    f"s_{entity}.vv) j WHERE j.key = ?)", (office, replica),
                    f"{label} der Dienststelle „{office}“ enthält Änderungen einer "
                    f"Installation von {who}; nur die eigene Dienststelle darf ihre "
                    "Datensätze ändern.")
    table = TABLE_OF[entity]
    if _live_has_rows(con, table):
        refused += _refuse(
            con, entity, f"EXISTS (SELECT 1 FROM live.{table} m WHERE m.id = s_{entity}.id "
            f"AND m.office_key != s_{entity}.office_key)", (),
            f"{label} gehört hier einer anderen Dienststelle; die Zuständigkeit eines "
            "Datensatzes ändert sich nie.")
    if entity in OWNER_PARENT:
        column, parent = OWNER_PARENT[entity]
        ptable = TABLE_OF[parent]
        here = _live_has_rows(con, ptable)
        # the parents of a first import are all in the bundle: check_references has looked
        # them up already, so only a bundle with a mismatch is checked record by record
        if here or entity in staged.owner_mismatch:
            owners = {o for o, _r in pairs} | {o for o, _r in staged.pairs.get(parent, ())}
            if here:
                owners |= {o for (o,) in con.execute(
                    f"SELECT DISTINCT office_key FROM live.{ptable}")}
            if len(owners) > 1:  # with one office in play no record can belong to another
                owner = f"(SELECT p.office_key FROM s_{parent} p WHERE p.id = s_{entity}.{column})"
                if here:
                    owner = (f"COALESCE((SELECT m.office_key FROM live.{ptable} m WHERE m.id = "
                             f"s_{entity}.{column}), {owner})")
                refused += _refuse(
                    con, entity, f"office_key != {owner}", (),
                    f"{label} gehört nicht derselben Dienststelle wie "
                    f"{ENTITY_LABELS[parent]}; so etwas kann nur ein verfälschtes Bündel "
                    "enthalten.")
    return refused


def _live_has_rows(con: sqlite3.Connection, table: str) -> bool:
    """Whether this database holds any record of the table (if not, every check against its
    records can be skipped: a first import scans the staged rows fewer times)."""
    return con.execute(f"SELECT 1 FROM live.{table} LIMIT 1").fetchone() is not None


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


def _classify(plan: ImportPlan, entity: str, has_refused: bool
              ) -> dict[tuple[str, str], int] | None:
    """Plan the staged records of an entity. For a table that is empty here: the number of
    staged records per (category, action), known without counting them; else None."""
    con = plan.con
    spec = SPECS[entity]
    table = TABLE_OF[entity]
    # staged as new; only the records known here are planned further (a first import of a
    # large bundle rewrites no staged row, and scans none for a table that is empty here)
    here = _live_has_rows(con, table)
    if here:
        con.execute(f"UPDATE s_{entity} SET x_action = NULL, x_category = NULL WHERE x_action "
                    f"= 'new' AND EXISTS (SELECT 1 FROM live.{table} m WHERE m.id = "
                    f"s_{entity}.id)")
        con.execute(f"UPDATE s_{entity} SET x_action = 'known', x_category = 'known' WHERE "
                    f"x_action IS NULL AND EXISTS (SELECT 1 FROM live.{table} m "
                    f"WHERE m.id = s_{entity}.id AND m.vv = s_{entity}.vv)")
    # items of the refused, and of new records that arrive with open conflicts
    label_cols = ", ".join(f's."{c}"' for c in LABEL_FIELDS[entity])
    refused = con.execute(
        f"SELECT s.id, s.office_key, s.x_reason, {label_cols} FROM s_{entity} s "
        "WHERE s.x_category = 'refused'").fetchall() if has_refused else []
    for rid, office, reason, *labels in refused:
        con.execute("INSERT INTO s_items VALUES (?, ?, 'refused', ?, ?, ?, NULL)",
                    (entity, rid, office, record_label(spec, tuple(labels)), reason))
    field_names = spec.field_names
    fields = spec.fields
    cols = ", ".join(f's."{c}"' for c in spec.columns)
    live_cols = ", ".join(f'm."{c}"' for c in spec.columns)
    n_cols = len(spec.columns)
    new_with_siblings = con.execute(
        f"SELECT {cols}, s.x_siblings FROM s_{entity} s WHERE s.x_action = 'new' AND "
        "s.x_siblings IS NOT NULL").fetchall() if plan.staged.siblings.get(entity) else []
    for row in new_with_siblings:
        remote = _state(spec, row[:n_cols], row[n_cols])
        _record_siblings(con, entity, remote, row[0], row[1], field_names)
        conflicts = [_conflict_item(name, remote.values.get(name), v)
                     for name in field_names for _r, _c, v in open_siblings(remote, name)]
        _item(con, entity, spec, row[0], "conflict", row[1], remote.values, [], conflicts)
    pending = con.execute(
        f"SELECT s.x_rid, {cols}, s.x_siblings, {live_cols} FROM s_{entity} s JOIN live.{table} m "
        f"ON m.id = s.id WHERE s.x_action IS NULL").fetchall() if here else []
    if not here:
        # staged as new (with conflict values: as conflicts) unless refused
        conflicts = len(new_with_siblings)
        # (the manifest's count: staging has checked that it is the number staged)
        staged = plan.header.counts.get(entity, 0)
        counts = {("new", "new"): staged - len(refused) - conflicts,
                  ("conflict", "new"): conflicts, ("refused", "refused"): len(refused)}
        return {key: n for key, n in counts.items() if n}
    if not pending:
        return None
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
                conflicts.append(_conflict_item(name, merged.values.get(name), other))
                con.execute("INSERT INTO s_changes VALUES (?, ?, ?, ?, ?, ?)",
                            (entity, record_id, CONFLICT, name,
                             _audit_text(merged.values.get(name)), _audit_text(other)))
        _item(con, entity, spec, record_id, category, office, merged.values, diffs, conflicts)
    return None


def _item(con: sqlite3.Connection, entity: str, spec: EntitySpec, record_id: str, category: str,
          office: str, values: dict[str, Any], diffs: list[tuple[str, str, str]],
          conflicts: list[tuple[str, str, str]]) -> None:
    label = record_label(spec, tuple(values.get(c) for c in LABEL_FIELDS[entity]))
    con.execute("INSERT INTO s_items VALUES (?, ?, ?, ?, ?, NULL, ?)",
                (entity, record_id, category, office, label,
                 json.dumps({"diffs": diffs, "conflicts": conflicts}, ensure_ascii=False)))


#: How the preview names the other side of a conflict of ``deleted``.
DELETED_OTHER = {EDITED: "geändert, nicht gelöscht", False: "wiederhergestellt", True: "gelöscht"}


def _conflict_item(name: str, shown: Any, other: Any) -> tuple[str, str, str]:
    """A conflict as the preview lists it: field, shown value, the other value."""
    if name == DELETED:
        return name, "gelöscht" if shown else "nicht gelöscht", DELETED_OTHER[other]
    return name, escape_display(shown), escape_display(other)


def conflict_kind(name: str) -> str:
    """``loeschen`` for the siblings of the tombstone (delete versus edit), else ``feld``."""
    return "loeschen" if name == DELETED else "feld"


def _record_siblings(con: sqlite3.Connection, entity: str, state: State, record_id: str,
                     office: str, names: tuple[str, ...]) -> None:
    for name in names:
        winner = state.dot(name)
        for replica, counter, value in state.siblings.get(name, ()):
            con.execute("INSERT INTO s_conflicts VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        (entity, record_id, office, name, conflict_kind(name), replica, counter,
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
    """Open conflict values of local records (same field, and delete versus edit as siblings of
    ``deleted``), only where the field still shows the value they lost against (a later edit
    of the field has superseded them)."""
    spec = SPECS[entity]
    table = TABLE_OF[entity]
    result: dict[str, dict[str, list[tuple[str, int, Any]]]] = {}
    rows = con.execute(
        "SELECT c.record_id, c.field, c.replica, c.counter, c.value, c.winner_replica, "
        f"c.winner_counter, m.stamps, m.origin_replica FROM live.exchange_conflicts c JOIN "
        f"live.{table} m ON m.id = c.record_id WHERE c.entity = ? AND c.kind IN ('feld', "
        "'loeschen')",
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
