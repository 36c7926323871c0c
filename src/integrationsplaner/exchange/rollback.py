"""The rollback file of a small import (``Sicherungen/*.vor-import.jsonl``; the format is in
docs/bundle-format.md, "Importing: replay and backup"): written by the import inside its
transaction (:func:`write_rollback_file`), and used to take the import back.

A file belongs to one application of one bundle: its header holds the positions of the audit
trail, the exchange log and the change journal just before the import. The import can be taken
back only while it is the last thing that happened to the database: its log entry the only one
after that position (no later import or export, which would already have confirmed its records
to their sender), no audit entry after it but its own, and every record the file names touched
by it. The file is read and checked completely, and against the database, before anything is
written; then the database is backed up and the import undone in one transaction: the records
it created are deleted, the records it changed get their stored rows back, its conflict values
are replaced by the ones before, the sender's bookkeeping is reset, installations and a sender
key it learned are forgotten, and its log entry is marked as taken back, so that the same
bundle can be imported again.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from integrationsplaner.errors import UserError
from integrationsplaner.exchange.format import ENTITY_ORDER, TABLE_OF
from integrationsplaner.exchange.lines import _LineError, strict_loads
from integrationsplaner.services.workspace import Workspace
from integrationsplaner.store.database import BACKUP_DIR, utcnow

if TYPE_CHECKING:
    from integrationsplaner.exchange.plan import ImportPlan

FILE_FORMAT = "integrationsplaner-ruecksicherung"
FILE_VERSION = 3
#: Version 2 (written before the checksum line existed) is still taken back.
_READABLE_VERSIONS = (2, FILE_VERSION)
#: The last line of a file of version 3: the SHA-256 of every byte before it.
_CHECKSUM = "pruefsumme_sha256"
#: The log entry of an import that was taken back (exchange_log.direction).
TAKEN_BACK = "zurueck"
MAX_FILE_BYTES = 512 * 1024**2

_ENTITY_OF_TABLE = {table: entity for entity, table in TABLE_OF.items()}
_BOOKKEEPING = ("exchange_received", "exchange_acks")
#: What the import learned (created rows only): table -> key column, and how the import's
#: rows are marked (besides its time: see _verify).
_LEARNED = {"exchange_replicas": "replica_id", "exchange_keys": "fingerprint"}
_LEARNED_BY_IMPORT = {
    "exchange_replicas": "first_seen = ? AND via IN ('absender', 'weitergeleitet')",
    "exchange_keys": "added_at = ? AND source = 'erstkontakt' AND private_key IS NULL",
}
_TABLES = frozenset({*_ENTITY_OF_TABLE, "exchange_conflicts", *_BOOKKEEPING, *_LEARNED})
_POSITIONS = ("audit_bis", "protokoll_bis", "journal_bis")
_INT64 = 2**63


@dataclass
class RollbackResult:
    bundle_id: str
    deleted: int  # records the import had created
    restored: int  # records the import had changed
    backup: Path
    message: str


@dataclass
class _File:
    path: Path
    header: dict[str, Any]
    created: dict[str, list[str]]  # table -> ids
    changed: dict[str, list[dict[str, Any]]]  # table -> stored rows before the import
    before: dict[str, list[dict[str, Any]]]  # conflicts and bookkeeping rows before
    learned: dict[str, list[str]]  # exchange_replicas / exchange_keys -> keys the import added


# --- writing (inside the import's transaction) -----------------------------------------------


def write_rollback_file(ws: Workspace, plan: ImportPlan, con: sqlite3.Connection) -> Path:
    """Write the rollback file of a small import (see docs/bundle-format.md, "Sicherung vor dem
    Import"), inside the write transaction so that the pre-images are exactly what the import
    replaces; fsynced before anything is written to the database."""
    target = ws.db.backup_path("vor-import", ".jsonl")
    tmp = target.with_name(target.name + ".tmp")
    try:
        _write_rollback_lines(ws, plan, con, tmp)
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)  # no partial file beside the backups
        raise
    return target


def _write_rollback_lines(ws: Workspace, plan: ImportPlan, con: sqlite3.Connection,
                          tmp: Path) -> None:
    header = plan.header
    encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode

    def rows(sql: str, params: tuple[Any, ...] = ()) -> Iterator[dict[str, Any]]:
        cursor = con.execute(sql, params)
        names = [d[0] for d in cursor.description]
        for row in cursor:
            yield dict(zip(names, row, strict=True))

    def top(table: str) -> int:
        return int(con.execute(f"SELECT coalesce(max(seq), 0) FROM main.{table}").fetchone()[0])

    digest = hashlib.sha256()

    with tmp.open("wb") as handle:

        def put(line: dict[str, Any]) -> None:
            data = (encode(line) + "\n").encode("utf-8")
            digest.update(data)
            handle.write(data)

        # the positions before the import tie the file to this one application of the bundle
        put({
            "format": FILE_FORMAT, "format_version": FILE_VERSION,
            "datenbank": ws.db.path.name, "replica_id": ws.db.replica_id,
            "buendel_id": header.bundle_id, "absender": header.sender_office,
            "erstellt": utcnow().strftime("%Y-%m-%dT%H:%M:%S"),
            "audit_bis": top("audit_log"), "protokoll_bis": top("exchange_log"),
            "journal_bis": top("exchange_journal")})
        for entity in ENTITY_ORDER:
            table = TABLE_OF[entity]
            for (rid,) in con.execute(f"SELECT id FROM stage.s_{entity} WHERE x_action = 'new' "
                                      "ORDER BY x_rid"):
                put({"tabelle": table, "id": rid, "vorher": None})
            for row in rows(f"SELECT m.* FROM main.{table} m JOIN stage.s_{entity} s ON "
                            "s.id = m.id WHERE s.x_action = 'update' ORDER BY s.x_rid"):
                put({"tabelle": table, "id": row["id"], "vorher": row})
        for row in rows("SELECT c.* FROM main.exchange_conflicts c WHERE c.kind IN ('feld', "
                        "'loeschen') AND EXISTS (SELECT 1 FROM stage.s_touched t WHERE "
                        "t.record_id = c.record_id AND t.entity = c.entity)"):
            put({"tabelle": "exchange_conflicts", "vorher": row})
        for table, where, params in (
                ("exchange_received", "replica_id = ?", (header.sender_replica,)),
                ("exchange_acks", "office_key = ? AND replica_id = ?",
                 (header.sender_office, header.sender_replica))):
            for row in rows(f"SELECT * FROM main.{table} WHERE {where}", params):
                put({"tabelle": table, "vorher": row})
        # what the import learns: installations, and the key of a new sender
        for replica in sorted(plan.bookkeeping.learned_replicas):
            if not con.execute("SELECT 1 FROM main.exchange_replicas WHERE replica_id = ?",
                               (replica,)).fetchone():
                put({"tabelle": "exchange_replicas", "id": replica, "vorher": None})
        if header.new_sender and not con.execute(
                "SELECT 1 FROM main.exchange_keys WHERE fingerprint = ?",
                (header.sender_fingerprint,)).fetchone():
            put({"tabelle": "exchange_keys", "id": header.sender_fingerprint, "vorher": None})
        # a damaged, cut or edited file is refused instead of restoring part of it
        handle.write((encode({_CHECKSUM: digest.hexdigest()}) + "\n").encode("utf-8"))
        handle.flush()
        os.fsync(handle.fileno())


# --- reading and applying --------------------------------------------------------------------


def _broken(path: Path, why: str) -> UserError:
    return UserError(f"Die Rücksicherungsdatei „{path.name}“ ist nicht lesbar oder beschädigt "
                     f"({why}). Es wurde nichts geändert.")


def _plain(value: Any) -> bool:
    """A value SQLite stores as it is: text that is valid Unicode, a 64-bit integer, a finite
    float, or null (a bool or a nested value is no stored column value)."""
    kind = type(value)
    if kind is str:
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate
            return False
        return True
    if kind is int:
        return -_INT64 <= value < _INT64
    return kind is float or value is None


def read_rollback_file(path: Path) -> _File:
    """The whole file, strictly: a header line of the right format, then rows of known tables
    with plain values, and (version 3) the checksum of all that as the last line. Refused with
    a German message otherwise."""
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise _broken(path, "zu groß")
        data = path.read_bytes()
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise _broken(path, "kein UTF-8-Text") from None
    except OSError:
        raise UserError(f"Die Rücksicherungsdatei „{path}“ kann nicht gelesen werden. Prüfen "
                        "Sie den Pfad und die Zugriffsrechte.") from None
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    records: list[Any] = []
    for number, line in enumerate(lines, 1):
        try:
            records.append(strict_loads(line))
        except _LineError:
            raise _broken(path, f"Zeile {number} ist kein gültiges JSON") from None
    if not records or not isinstance(records[0], dict) or (
            records[0].get("format") != FILE_FORMAT):
        raise _broken(path, "keine Rücksicherungsdatei des Integrationsplaners")
    header = records[0]
    version = header.get("format_version")
    if type(version) is not int or version not in _READABLE_VERSIONS:
        raise UserError(f"Die Rücksicherungsdatei „{path.name}“ hat die Formatversion "
                        f"{version!r}; dieses Programm nimmt Importe nur mit Dateien der "
                        f"Versionen {' und '.join(map(str, _READABLE_VERSIONS))} zurück. Es "
                        "wurde nichts geändert.")
    if version >= 3:
        seal = records.pop()
        body = data[:data.rstrip(b"\n").rfind(b"\n") + 1]
        if not (len(records) >= 1 and data.endswith(b"\n") and isinstance(seal, dict)
                and set(seal) == {_CHECKSUM}
                and seal[_CHECKSUM] == hashlib.sha256(body).hexdigest()):
            raise _broken(path, "die Prüfsumme stimmt nicht: die Datei ist unvollständig oder "
                          "wurde verändert")
    for key in ("replica_id", "buendel_id", "absender"):
        if type(header.get(key)) is not str or not header[key]:
            raise _broken(path, f"die Angabe „{key}“ fehlt")
    for key in _POSITIONS:
        if type(header.get(key)) is not int or not 0 <= header[key] < _INT64:
            raise _broken(path, f"die Angabe „{key}“ fehlt")
    result = _File(path, header, {}, {}, {}, {})
    for number, record in enumerate(records[1:], 2):
        table = record.get("tabelle") if isinstance(record, dict) else None
        if type(table) is not str or table not in _TABLES or (
                set(record) - {"tabelle", "id", "vorher"}):
            raise _broken(path, f"Zeile {number}: unbekannter Eintrag")
        before = record.get("vorher")
        if before is not None and not (
                isinstance(before, dict) and before
                and all(_plain(k) and _plain(v) for k, v in before.items())):
            raise _broken(path, f"Zeile {number}: ungültige Werte")
        rid = record.get("id")
        if table in _ENTITY_OF_TABLE or table in _LEARNED:
            if type(rid) is not str or not _plain(rid) or (
                    before is not None and before.get("id") != rid):
                raise _broken(path, f"Zeile {number}: ungültige Datensatz-ID")
            if table in _LEARNED:
                if before is not None:
                    raise _broken(path, f"Zeile {number}: unbekannter Eintrag")
                result.learned.setdefault(table, []).append(rid)
            elif before is None:
                result.created.setdefault(table, []).append(rid)
            else:
                result.changed.setdefault(table, []).append(before)
        elif before is None or rid is not None:
            raise _broken(path, f"Zeile {number}: die Werte fehlen")
        else:
            result.before.setdefault(table, []).append(before)
    return result


def find_rollback_file(ws: Workspace) -> Path | None:
    """The rollback file of the last exchange step, when that step is an import that wrote one
    (only the header lines are read; :func:`rollback_import` checks everything)."""
    con = _connect(ws)
    try:
        last = con.execute("SELECT seq, direction, bundle_id FROM exchange_log ORDER BY seq DESC "
                           "LIMIT 1").fetchone()
    finally:
        con.close()
    if last is None or last[1] != "import":
        return None
    folder = ws.db.path.parent / BACKUP_DIR
    for path in sorted(folder.glob(f"{ws.db.path.stem}.*.vor-import.jsonl"), reverse=True):
        try:
            with path.open("rb") as handle:
                header = strict_loads(handle.readline(64 * 1024).decode("utf-8"))
        except (OSError, UnicodeDecodeError, _LineError):
            continue
        if (isinstance(header, dict) and header.get("format") == FILE_FORMAT
                and header.get("replica_id") == ws.db.replica_id
                and header.get("buendel_id") == last[2]
                and type(header.get("protokoll_bis")) is int
                and header["protokoll_bis"] < last[0]):
            return path
    return None


def rollback_import(ws: Workspace, path: Path) -> RollbackResult:
    """Take back the import that wrote ``path``; see the module docstring."""
    content = read_rollback_file(Path(path))
    header = content.header
    bundle_id = header["buendel_id"]
    if header["replica_id"] != ws.db.replica_id:
        raise UserError(f"Die Rücksicherungsdatei „{content.path.name}“ gehört zu einer "
                        f"anderen Datenbank (Installation {header['replica_id']}), nicht zu "
                        f"„{ws.db.path.name}“. Es wurde nichts geändert.")
    con = _connect(ws)
    try:
        _verify(con, content)  # read-only: no backup copy for a file that is refused
    finally:
        con.close()
    backup = ws.db.backup("vor-ruecknahme")
    con = _connect(ws)
    try:
        con.execute("BEGIN IMMEDIATE")
        try:
            # a created measure may by now hold a child the import moved there: the foreign
            # keys are checked at the end
            con.execute("PRAGMA defer_foreign_keys=ON")
            entry = _verify(con, content)  # again, under the write lock
            deleted, restored = _undo(ws, con, content, entry)
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
    except sqlite3.Error as exc:
        backup.unlink(missing_ok=True)
        raise UserError(f"Der Import konnte nicht zurückgenommen werden ({exc}). Es wurde "
                        "nichts geändert.") from None
    except UserError:
        backup.unlink(missing_ok=True)  # nothing changed: no copy of the unchanged database
        raise
    finally:
        con.close()
    return RollbackResult(
        bundle_id, deleted, restored, backup,
        f"Der Import des Bündels {bundle_id} wurde zurückgenommen: {deleted} angelegte "
        f"Datensätze entfernt, {restored} geänderte auf den Stand davor gebracht. Das Bündel "
        "kann erneut importiert werden.")


def _connect(ws: Workspace) -> sqlite3.Connection:
    con = sqlite3.connect(str(ws.db.path), isolation_level=None)
    con.execute("PRAGMA foreign_keys=ON")
    con.execute("PRAGMA busy_timeout=5000")
    return con


def _verify(con: sqlite3.Connection, content: _File) -> int:
    """The seq of the import's log entry; refused (German message, nothing written) unless the
    import is the last thing that happened and the file names exactly rows it touched."""
    header, name = content.header, content.path.name
    bundle_id = header["buendel_id"]
    since = con.execute(
        "SELECT seq, direction, bundle_id, sender_office, at FROM exchange_log WHERE seq > ? "
        "ORDER BY seq", (header["protokoll_bis"],)).fetchall()
    if not since or since[0][2] != bundle_id:
        raise UserError(f"„{name}“ passt nicht zu dieser Datenbank: ihr Protokoll enthält den "
                        f"Import des Bündels {bundle_id} an dieser Stelle nicht. Es wurde nichts "
                        "geändert.")
    entry, direction, _bundle, sender, applied_at = since[0]
    if direction == TAKEN_BACK:
        raise UserError(f"Der Import des Bündels {bundle_id} wurde bereits zurückgenommen. Es "
                        "wurde nichts geändert.")
    if direction != "import" or sender != header["absender"]:
        raise UserError(f"„{name}“ passt nicht zum Protokoll dieser Datenbank. Es wurde nichts "
                        "geändert.")
    if len(since) > 1:
        raise UserError("Nach diesem Import wurden weitere Bündel übernommen oder erstellt; "
                        "ihn jetzt zurückzunehmen würde den Austausch mit den anderen "
                        "Dienststellen durcheinanderbringen. Es wurde nichts geändert.")
    later = con.execute(
        "SELECT count(*) FROM audit_log WHERE seq > ? AND NOT (source = 'buendel' AND "
        "bundle_id IS ?)", (header["audit_bis"], bundle_id)).fetchone()[0]
    if later:
        raise UserError("Seit diesem Import wurde die Datenbank weiter bearbeitet; ihn "
                        "zurückzunehmen würde diese Änderungen verwerfen. Stellen Sie bei Bedarf "
                        "eine vollständige Sicherung aus dem Ordner „Sicherungen“ wieder her. Es "
                        "wurde nichts geändert.")
    touched = set(con.execute("SELECT entity, record_id FROM exchange_journal WHERE seq > ?",
                              (header["journal_bis"],)).fetchall())
    named = [(_ENTITY_OF_TABLE[t], rid) for t, ids in content.created.items() for rid in ids]
    named += [(_ENTITY_OF_TABLE[t], row["id"]) for t, rows in content.changed.items()
              for row in rows]
    if set(named) != touched or len(named) != len(touched):
        raise UserError(f"„{name}“ nennt nicht genau die Datensätze, die dieser Import angelegt "
                        "oder geändert hat. Die Datei ist verändert worden; es wurde nichts "
                        "geändert.")
    # installations and a key the import learned carry its time (see importer._write)
    for table, column in _LEARNED.items():
        for key in content.learned.get(table, ()):
            if con.execute(f"SELECT 1 FROM {table} WHERE {column} = ? AND "
                           f"{_LEARNED_BY_IMPORT[table]}", (key, applied_at)).fetchone() is None:
                raise UserError(f"„{name}“ nennt einen Eintrag von {table}, den dieser Import "
                                "nicht angelegt hat. Es wurde nichts geändert.")
    for table, rows in (*content.changed.items(), *content.before.items()):
        columns = {r[1] for r in con.execute(f'PRAGMA main.table_info("{table}")')}
        for row in rows:
            if set(row) != columns:
                raise UserError(f"Die Rücksicherungsdatei „{name}“ enthält eine unvollständige "
                                f"oder fremde Zeile der Tabelle {table}. Es wurde nichts "
                                "geändert.")
    return int(entry)


def _undo(ws: Workspace, con: sqlite3.Connection, content: _File, entry: int
          ) -> tuple[int, int]:
    header = content.header
    bundle_id = header["buendel_id"]
    now = utcnow().strftime("%Y-%m-%d %H:%M:%S.000000")
    audit: list[tuple[str, str, str]] = []
    # conflict values of the import out (the ones before come back below)
    con.execute("DELETE FROM exchange_conflicts WHERE bundle_id = ?", (bundle_id,))
    deleted = 0
    for entity in reversed(ENTITY_ORDER):  # children before their parents
        table = TABLE_OF[entity]
        for rid in content.created.get(table, ()):
            con.execute("DELETE FROM exchange_conflicts WHERE entity = ? AND record_id = ?",
                        (entity, rid))
            deleted += con.execute(f'DELETE FROM "{table}" WHERE id = ?', (rid,)).rowcount
            audit.append((entity, rid, "Import zurückgenommen: Datensatz entfernt"))
    restored = 0
    for entity in ENTITY_ORDER:
        table = TABLE_OF[entity]
        for row in content.changed.get(table, ()):
            names = [n for n in row if n != "id"]
            sets = ", ".join(f'"{n}" = ?' for n in names)
            if con.execute(f'UPDATE "{table}" SET {sets} WHERE id = ?',
                           (*(row[n] for n in names), row["id"])).rowcount != 1:
                raise UserError(f"Der Datensatz {row['id']} fehlt in der Datenbank; der Import "
                                "kann nicht zurückgenommen werden. Es wurde nichts geändert.")
            restored += 1
            audit.append((entity, row["id"], "Import zurückgenommen: Stand davor"))
    for row in content.before.get("exchange_conflicts", ()):
        _insert(con, "INSERT OR REPLACE", "exchange_conflicts", row)
    # the sender's bookkeeping as before (no row before: the import had created it)
    replica = con.execute("SELECT sender_replica FROM exchange_log WHERE seq = ?",
                          (entry,)).fetchone()[0]
    con.execute("DELETE FROM exchange_received WHERE replica_id = ?", (replica,))
    con.execute("DELETE FROM exchange_acks WHERE office_key = ? AND replica_id = ?",
                (header["absender"], replica))
    for table in _BOOKKEEPING:
        for row in content.before.get(table, ()):
            _insert(con, "INSERT", table, row)
    for table, column in _LEARNED.items():
        own = " AND private_key IS NULL" if table == "exchange_keys" else ""  # never our key
        for key in content.learned.get(table, ()):
            con.execute(f"DELETE FROM {table} WHERE {column} = ?{own}", (key,))
    con.execute("UPDATE exchange_log SET direction = ? WHERE seq = ?", (TAKEN_BACK, entry))
    con.executemany(
        "INSERT INTO audit_log (at, user, office_key, replica_id, source, bundle_id, entity, "
        "record_id, action, field, old_value, new_value) VALUES (?, ?, ?, ?, 'system', ?, ?, ?, "
        "'zuruecknehmen', NULL, NULL, ?)",
        [(now, ws.user, ws.office_key, ws.db.replica_id, bundle_id, entity, rid, note)
         for entity, rid, note in audit])
    return deleted, restored


def _insert(con: sqlite3.Connection, verb: str, table: str, row: dict[str, Any]) -> None:
    names = ", ".join(f'"{n}"' for n in row)
    con.execute(f"{verb} INTO {table} ({names}) VALUES ({', '.join('?' * len(row))})",
                tuple(row.values()))
