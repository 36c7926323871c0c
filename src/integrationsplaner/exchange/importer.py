"""Import of a bundle: verify → stage → plan (the preview) → backup → apply in one transaction.

:func:`prepare_import` runs every check and computes the plan in a temporary staging database
(the target database is only read): the container and manifest checks are in
:mod:`~integrationsplaner.exchange.reader`, the records' in :mod:`~.staging`, the merge in
:mod:`~.planning`, the plan itself (what the preview shows) in :mod:`~.plan`.
:func:`apply_import` writes exactly the staged plan into the target database in one
transaction, after a backup copy; it first makes sure that the database has not changed since
the plan was made. Nothing is written before that last step, so a refused or cancelled import
leaves the database file as it was.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select

from integrationsplaner.errors import UserError
from integrationsplaner.exchange import identity
from integrationsplaner.exchange.format import (
    ENTITY_ORDER,
    SPECS,
    TABLE_OF,
)
from integrationsplaner.exchange.plan import CATEGORY_LABELS, ImportPlan
from integrationsplaner.exchange.planning import CATEGORIES, CREATE, plan_records
from integrationsplaner.exchange.reader import (
    BundleError,
    read_header,
)
from integrationsplaner.exchange.references import check_references
from integrationsplaner.exchange.rollback import write_rollback_file
from integrationsplaner.exchange.staging import (
    StageFolder,
    create_stage,
    stage_records,
)
from integrationsplaner.services.workspace import Workspace
from integrationsplaner.store.bulk import flush_in_background
from integrationsplaner.store.database import utcnow
from integrationsplaner.store.exchange_models import (
    Acknowledgement,
    ExchangeLogEntry,
    Received,
)

Progress = Callable[[int, int], bool]

# --- planning ---------------------------------------------------------------------------------


def prepare_import(ws: Workspace, path: Path, *, trust_new_sender: bool = False,
                   progress: Progress | None = None) -> ImportPlan:
    """Verify the bundle completely and compute the plan; writes nothing to the database."""
    header = read_header(ws, Path(path), trust_new_sender=trust_new_sender)
    header.file_sha256 = _file_sha256(header.path)
    folder = StageFolder()
    try:
        con = create_stage(folder.path / "stage.sqlite")
    except BaseException:
        folder.remove()
        raise
    plan = ImportPlan(ws, header, folder, con)
    try:
        if _already_applied(plan):
            return plan
        # one progress bar for both steps (checking the records takes about three quarters)
        plan.staged = stage_records(ws, header, con, _share_of(progress, 0, 750))
        con.execute("ATTACH DATABASE ? AS live", (f"{ws.db.path.resolve().as_uri()}?mode=ro",))
        check_references(con, header, plan.staged)
        plan_records(plan, _share_of(progress, 750, 250))
    except sqlite3.Error as exc:  # the staging file (a full disk, say), also from a worker
        plan.close()
        raise UserError(f"Das Bündel konnte nicht geprüft werden ({exc}). Es wurde nichts "
                        "geändert. Die Prüfung braucht vorübergehend etwa so viel freien Platz "
                        "im Ordner für temporäre Dateien wie das Bündel entpackt groß ist; bitte "
                        "prüfen Sie das und versuchen Sie es erneut.") from None
    except BaseException:
        plan.close()
        raise
    return plan


def _share_of(progress: Progress | None, start: int, share: int) -> Progress | None:
    """``progress`` for a step that fills ``share`` of 1000 from ``start``."""
    if progress is None:
        return None

    def scaled(done: int, total: int) -> bool:
        return progress(start + share * min(done, total) // max(total, 1), 1000)

    return scaled


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
        plan.actions[entity] = {"new": 0, "update": 0}
        plan.summary["known"] += count
    return True


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


#: From this many new records of one entity on, a first import loads them in bulk
#: (see _bulk_tables).
BULK_MIN_RECORDS = 5000

#: Page cache of the apply connection (KiB): large imports touch every index of every table.
_APPLY_CACHE_KIB = 131_072

#: Test seam: called inside the apply transaction after the records are written.
_after_records_hook: Callable[[], None] | None = None


def refusal_message(plan: ImportPlan) -> str:
    reasons = [i.reason for i in plan.items("refused", 3)]
    text = "; ".join(dict.fromkeys(reasons))
    return (f"Das Bündel „{plan.header.path.name}“ wurde abgelehnt, unzulässige Datensätze: "
            f"{plan.summary['refused']} ({text}). Es wurde nichts geändert.")


def apply_import(ws: Workspace, plan: ImportPlan, *, exclusive: bool = False) -> ImportResult:
    """Back up, then write the plan in one transaction. Refuses a plan of refusals only.

    ``exclusive``: the caller has the database to itself while this runs, no other thread
    opens it (the command line; the window behind its modal progress dialog, after its
    background reads have finished); a large first import may then use a rollback journal
    (see _rollback_journal)."""
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
    try:
        backup = ws.db.backup("vor-import") if plan.record_changes and not small else None
    except (OSError, sqlite3.Error) as exc:
        raise _backup_failed(exc) from None
    con = sqlite3.connect(str(ws.db.path), isolation_level=None, check_same_thread=False)
    try:
        con.execute("PRAGMA foreign_keys=ON")
        con.execute("PRAGMA busy_timeout=5000")
        con.execute("PRAGMA synchronous=NORMAL")  # as every connection of the program (WAL)
        # a large import inserts into many indexes at random places: give it a page cache
        con.execute(f"PRAGMA main.cache_size={-_APPLY_CACHE_KIB}")
        con.execute("ATTACH DATABASE ? AS stage", (str(plan.stage_path),))
        con.execute("PRAGMA stage.cache_size=-16384")
        bulk = _bulk_tables(plan, con)
        checked_after = _insert_only_bulk(plan, bulk)
        if checked_after:
            con.execute("PRAGMA foreign_keys=OFF")  # not inside a transaction
        with contextlib.ExitStack() as stack:
            journal = bool(exclusive and bulk) and stack.enter_context(
                _rollback_journal(ws, plan, con))
            if journal:  # the load writes the file directly: flush it while it runs
                stack.enter_context(flush_in_background(ws.db.path))
            con.execute("BEGIN IMMEDIATE")
            try:
                if small:
                    backup = write_rollback_file(ws, plan, con)
                _write(ws, plan, con, bulk)
                if checked_after:
                    _check_foreign_keys(con, bulk)
                con.execute("COMMIT")
            except BaseException:
                # after some errors (a full disk, no memory) SQLite has rolled back by itself
                if con.in_transaction:
                    with contextlib.suppress(sqlite3.Error):  # closing the connection rolls back
                        con.execute("ROLLBACK")
                if small and backup is not None:  # the rollback file of an import that never was
                    backup.unlink(missing_ok=True)
                raise
        if not small and not journal:
            # the write-ahead log of a large import is as large as what it wrote (about 1 GB for
            # 100,000 measures) and would stay on disk while the program runs; the commit has
            # copied it into the database file, so give that space back (best effort, without
            # waiting for a reader of the program that still holds an older snapshot)
            with contextlib.suppress(sqlite3.Error):
                con.execute("PRAGMA busy_timeout=0")
                con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    except sqlite3.Error as exc:
        raise UserError(f"Das Bündel konnte nicht übernommen werden ({exc}). Es wurde nichts "
                        "geändert.") from None
    except OSError as exc:  # the rollback file could not be written
        raise _backup_failed(exc) from None
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


@contextlib.contextmanager
def _rollback_journal(ws: Workspace, plan: ImportPlan, con: sqlite3.Connection
                      ) -> Iterator[bool]:
    """Whether the import's transaction runs with a rollback journal instead of the write-ahead
    log (switched back afterwards, also after a failure).

    For a large first import: in a database that held few records almost every page the import
    writes is new, and new pages need no journal, so each is written once. Through the log each
    is written twice (log, then database), and the log grows as large as the data (about 1 GB
    for 100,000 measures). SQLite only switches when no other connection has the file open;
    otherwise (False) the log is used as always. The caller must make sure that no other
    connection is opened meanwhile (readers would wait for the commit)."""
    with contextlib.suppress(sqlite3.Error):  # the plan's read-only view of this database
        plan.con.execute("DETACH DATABASE live")
    ws.db.release_connections()
    try:
        con.execute("PRAGMA busy_timeout=0")
        # main only: without a schema the pragma would switch the attached stage file too
        switched = con.execute("PRAGMA main.journal_mode=DELETE").fetchone()[0] == "delete"
    except sqlite3.OperationalError:  # another connection has the file open
        switched = False
    finally:
        con.execute("PRAGMA busy_timeout=5000")
    try:
        if switched:
            con.execute("PRAGMA synchronous=FULL")  # with a rollback journal NORMAL is not
            # safe against a power failure
        yield switched
    finally:
        if switched:
            with contextlib.suppress(sqlite3.Error):  # every connection sets it again anyway
                con.execute("PRAGMA synchronous=NORMAL")
                con.execute("PRAGMA main.journal_mode=WAL")
        with contextlib.suppress(sqlite3.Error):
            plan.con.execute("ATTACH DATABASE ? AS live",
                             (f"{ws.db.path.resolve().as_uri()}?mode=ro",))


def _backup_failed(exc: BaseException) -> UserError:
    return UserError(f"Die Sicherung vor dem Import konnte nicht angelegt werden ({exc}). Es "
                     "wurde nichts geändert. Prüfen Sie den freien Speicherplatz und die "
                     "Schreibrechte im Ordner „Sicherungen“ neben der Datenbank.")


#: Below this many changed records the backup before an import is a rollback file (the
#: pre-images of exactly the rows the import changes) instead of a copy of the whole database.
ROLLBACK_FILE_LIMIT = 5000


def _bulk_tables(plan: ImportPlan, con: sqlite3.Connection) -> list[str]:
    """The record tables loaded in bulk: many new records into a table that holds fewer (a
    first import). Their secondary indexes and triggers are dropped, the rows inserted, then
    what the triggers do is done and the indexes rebuilt, each in one pass (store.bulk; in the
    import's transaction). Only for tables without updates in the plan. A choice of speed only:
    bulk loading gives the same rows as inserting one by one."""
    bulk = []
    for entity in ENTITY_ORDER:
        table = TABLE_OF[entity]
        new = plan.by_entity.get(entity, {}).get("new", 0)
        if new >= BULK_MIN_RECORDS and not plan.actions.get(entity, {}).get("update"):
            existing = con.execute(f"SELECT coalesce(max(rowid), 0) FROM main.{table}"
                                   ).fetchone()[0]
            if existing < new:
                bulk.append(table)
    return bulk


def _insert_only_bulk(plan: ImportPlan, bulk: list[str]) -> bool:
    """Whether the import only inserts records, all of them into bulk-loaded tables: then the
    foreign keys are checked once per table after loading (``PRAGMA foreign_key_check``)
    instead of row by row, which costs about a third of the inserts' time."""
    if not bulk:
        return False
    for entity in ENTITY_ORDER:
        # any update, or a new record (new records with conflict values included) elsewhere
        actions = plan.actions.get(entity, {})
        if actions.get("update") or (TABLE_OF[entity] not in bulk and actions.get("new")):
            return False
    return True


def _check_foreign_keys(con: sqlite3.Connection, tables: list[str]) -> None:
    """The foreign keys of the bulk-loaded tables, checked at once (see _insert_only_bulk)."""
    for table in tables:
        row = con.execute(f"PRAGMA main.foreign_key_check({table})").fetchone()
        if row is not None:
            raise BundleError(
                f"Ein Datensatz des Bündels verweist auf einen Eintrag, den es in dieser "
                f"Datenbank nicht gibt (Tabelle {table}, Verweis auf {row[2]}). Es wurde nichts "
                "geändert.")


def _write(ws: Workspace, plan: ImportPlan, con: sqlite3.Connection, bulk: list[str]) -> None:
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
    loads = list(bulk)
    # every staged record of an entity is new (a first import): its audit entries are written
    # from the staged id index alone, without reading the staged rows; otherwise in the order
    # of the bundle
    sorted_audit = {e for e in ENTITY_ORDER if header.counts.get(e)
                    and plan.actions[e]["new"] == header.counts[e]}
    if bulk:
        # the audit entries of the new records too, when they outnumber the entries so far: the
        # index on record_id built once afterwards (at state scale 1.1-1.3 s faster than
        # inserting 1.2 million random ids into it, also in runs of sorted ids)
        entries = sum(plan.by_entity[e]["new"] for e in ENTITY_ORDER if TABLE_OF[e] in bulk)
        if entries > con.execute("SELECT count(*) FROM main.audit_log").fetchone()[0]:
            loads.append("audit_log")
    with contextlib.ExitStack() as loading:
        if loads:
            from integrationsplaner.store.bulk import bulk_load

            loading.enter_context(bulk_load(con.cursor(), loads))
        for entity in ENTITY_ORDER:
            spec = SPECS[entity]
            table = TABLE_OF[entity]
            cols = ", ".join(f'"{c}"' for c in spec.columns)
            actions = plan.actions[entity]
            if actions["new"]:
                con.execute(f"INSERT INTO main.{table} ({cols}) SELECT {cols} FROM "
                            f"stage.s_{entity} WHERE x_action = 'new' ORDER BY x_rid")
                source = (f"stage.s_{entity} INDEXED BY s_{entity}_id ORDER BY id"
                          if entity in sorted_audit else
                          f"stage.s_{entity} WHERE x_action = 'new' ORDER BY x_rid")
                con.execute("INSERT INTO main.audit_log (at, user, office_key, replica_id, "
                            "source, bundle_id, entity, record_id, action, field, old_value, "
                            f"new_value) SELECT ?, ?, ?, ?, 'buendel', ?, '{entity}', id, "
                            f"'{CREATE}', NULL, NULL, NULL FROM {source}", actor)
            if actions["update"]:
                sets = ", ".join(f'"{c}" = s."{c}"' for c in spec.columns if c != "id")
                con.execute(f"UPDATE main.{table} AS m SET {sets} FROM stage.s_{entity} AS s "
                            "WHERE s.id = m.id AND s.x_action = 'update'")
    con.execute("DELETE FROM main.exchange_conflicts WHERE kind IN ('feld', 'loeschen') AND "
                "EXISTS (SELECT 1 FROM stage.s_touched t WHERE t.record_id = "
                "exchange_conflicts.record_id AND t.entity = exchange_conflicts.entity)")
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
