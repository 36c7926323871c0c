"""Taking back a small import with its rollback file (``Sicherungen/*.vor-import.jsonl``; the
format is in docs/bundle-format.md, "Importing: replay and backup").

Only the import applied last can be taken back, and only while nothing else has changed in the
database since (no audit entry after the import's own): otherwise later work would be lost. The
file is read and checked completely before anything is written; then the database is backed up
and the import undone in one transaction: the records it created are deleted, the records it
changed get their stored rows back, its conflict values are replaced by the ones before, the
sender's bookkeeping is reset, and its log entry is marked as taken back, so that the same
bundle can be imported again.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from integrationsplaner.errors import UserError
from integrationsplaner.exchange.format import ENTITY_ORDER, TABLE_OF
from integrationsplaner.exchange.reader import _LineError, strict_loads
from integrationsplaner.services.workspace import Workspace
from integrationsplaner.store.database import utcnow

FILE_FORMAT = "integrationsplaner-ruecksicherung"
FILE_VERSION = 1
#: The log entry of an import that was taken back (exchange_log.direction).
TAKEN_BACK = "zurueck"
MAX_FILE_BYTES = 512 * 1024**2

_ENTITY_OF_TABLE = {table: entity for entity, table in TABLE_OF.items()}
_BOOKKEEPING = ("exchange_received", "exchange_acks")
_TABLES = frozenset({*_ENTITY_OF_TABLE, "exchange_conflicts", *_BOOKKEEPING})
_SCALARS = (str, int, float, type(None))


@dataclass
class RollbackResult:
    bundle_id: str
    deleted: int  # records the import had created
    restored: int  # records the import had changed
    backup: Path
    message: str


@dataclass
class _File:
    header: dict[str, Any]
    created: dict[str, list[str]]  # table -> ids
    changed: dict[str, list[dict[str, Any]]]  # table -> stored rows before the import
    before: dict[str, list[dict[str, Any]]]  # conflicts and bookkeeping rows before


def _broken(path: Path, why: str) -> UserError:
    return UserError(f"Die Rücksicherungsdatei „{path.name}“ ist nicht lesbar oder beschädigt "
                     f"({why}). Es wurde nichts geändert.")


def read_rollback_file(path: Path) -> _File:
    """The whole file, strictly: a header line of the right format, then rows of known tables
    with plain values. Refused with a German message otherwise."""
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise _broken(path, "zu groß")
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError:
        raise _broken(path, "kein UTF-8-Text") from None
    except OSError as exc:
        raise UserError(f"Die Rücksicherungsdatei „{path.name}“ kann nicht gelesen werden "
                        f"({exc.strerror or exc}).") from None
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
    if header.get("format_version") != FILE_VERSION:
        raise _broken(path, f"unbekannte Formatversion {header.get('format_version')!r}")
    for key in ("replica_id", "buendel_id", "absender"):
        if not isinstance(header.get(key), str) or not header[key]:
            raise _broken(path, f"die Angabe „{key}“ fehlt")
    result = _File(header, {}, {}, {})
    for number, record in enumerate(records[1:], 2):
        table = record.get("tabelle") if isinstance(record, dict) else None
        if table not in _TABLES or set(record) - {"tabelle", "id", "vorher"}:
            raise _broken(path, f"Zeile {number}: unbekannter Eintrag")
        before = record.get("vorher")
        if before is not None and not (
                isinstance(before, dict) and before
                and all(isinstance(k, str) and isinstance(v, _SCALARS)
                        and not isinstance(v, bool) for k, v in before.items())):
            raise _broken(path, f"Zeile {number}: ungültige Werte")
        if table in _ENTITY_OF_TABLE:
            rid = record.get("id")
            if not isinstance(rid, str) or (before is not None and before.get("id") != rid):
                raise _broken(path, f"Zeile {number}: ungültige Datensatz-ID")
            if before is None:
                result.created.setdefault(table, []).append(rid)
            else:
                result.changed.setdefault(table, []).append(before)
        elif before is None:
            raise _broken(path, f"Zeile {number}: die Werte fehlen")
        else:
            result.before.setdefault(table, []).append(before)
    return result


def rollback_import(ws: Workspace, path: Path) -> RollbackResult:
    """Take back the import that wrote ``path``; see the module docstring."""
    path = Path(path)
    content = read_rollback_file(path)
    header = content.header
    bundle_id = header["buendel_id"]
    if header["replica_id"] != ws.db.replica_id:
        raise UserError(f"Die Rücksicherungsdatei „{path.name}“ gehört zu einer anderen "
                        f"Datenbank (Installation {header['replica_id']}), nicht zu "
                        f"„{ws.db.path.name}“. Es wurde nichts geändert.")
    con = _connect(ws)
    try:
        _check_latest(con, path, bundle_id)
    finally:
        con.close()
    backup = ws.db.backup("vor-ruecknahme")
    con = _connect(ws)
    try:
        con.execute("BEGIN IMMEDIATE")
        try:
            entry = _check_latest(con, path, bundle_id)  # again, under the write lock
            deleted, restored = _undo(ws, con, content, entry, bundle_id)
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
    except sqlite3.Error as exc:
        raise UserError(f"Der Import konnte nicht zurückgenommen werden ({exc}). Es wurde "
                        "nichts geändert.") from None
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


def _check_latest(con: sqlite3.Connection, path: Path, bundle_id: str) -> int:
    """The log entry of the import; refused unless it is the last import and nothing has been
    changed since."""
    row = con.execute("SELECT seq, bundle_id FROM exchange_log WHERE direction = 'import' "
                      "ORDER BY seq DESC LIMIT 1").fetchone()
    if row is None or row[1] != bundle_id:
        taken = con.execute("SELECT 1 FROM exchange_log WHERE direction = ? AND bundle_id = ?",
                            (TAKEN_BACK, bundle_id)).fetchone()
        if taken:
            raise UserError(f"Der Import des Bündels {bundle_id} wurde bereits zurückgenommen. "
                            "Es wurde nichts geändert.")
        raise UserError(f"„{path.name}“ gehört nicht zum zuletzt übernommenen Bündel. Nur der "
                        "letzte Import kann zurückgenommen werden. Es wurde nichts geändert.")
    last, own = con.execute(
        "SELECT (SELECT max(seq) FROM audit_log), (SELECT max(seq) FROM audit_log WHERE "
        "bundle_id = ? AND source = 'buendel')", (bundle_id,)).fetchone()
    if own is None or last != own:
        raise UserError("Seit diesem Import wurde die Datenbank weiter bearbeitet; ihn "
                        "zurückzunehmen würde diese Änderungen verwerfen. Stellen Sie bei Bedarf "
                        "eine vollständige Sicherung aus dem Ordner „Sicherungen“ wieder her. Es "
                        "wurde nichts geändert.")
    return int(row[0])


def _columns(con: sqlite3.Connection, table: str) -> set[str]:
    return {r[1] for r in con.execute(f'PRAGMA main.table_info("{table}")')}


def _checked(con: sqlite3.Connection, table: str, row: dict[str, Any]) -> list[str]:
    names = list(row)
    unknown = set(names) - _columns(con, table)
    if unknown:
        raise UserError(f"Die Rücksicherungsdatei nennt unbekannte Spalten von {table} "
                        f"({', '.join(sorted(unknown))}). Es wurde nichts geändert.")
    return names


def _undo(ws: Workspace, con: sqlite3.Connection, content: _File, entry: int,
          bundle_id: str) -> tuple[int, int]:
    header = content.header
    now = utcnow().strftime("%Y-%m-%d %H:%M:%S.000000")
    audit: list[tuple[str, str, str]] = []
    # conflict values of the import out, the ones before back in
    con.execute("DELETE FROM exchange_conflicts WHERE bundle_id = ?", (bundle_id,))
    # children before their parents
    deleted = 0
    for entity in reversed(ENTITY_ORDER):
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
            names = [n for n in _checked(con, table, row) if n != "id"]
            sets = ", ".join(f'"{n}" = ?' for n in names)
            count = con.execute(f'UPDATE "{table}" SET {sets} WHERE id = ?',
                                (*(row[n] for n in names), row["id"])).rowcount
            if count != 1:
                raise UserError(f"Der Datensatz {row['id']} fehlt in der Datenbank; der Import "
                                "kann nicht zurückgenommen werden. Es wurde nichts geändert.")
            restored += 1
            audit.append((entity, row["id"], "Import zurückgenommen: Stand davor"))
    for row in content.before.get("exchange_conflicts", ()):
        names = _checked(con, "exchange_conflicts", row)
        con.execute(f"INSERT OR REPLACE INTO exchange_conflicts ({_names(names)}) VALUES "
                    f"({', '.join('?' * len(names))})", tuple(row[n] for n in names))
    # the sender's bookkeeping as before (no row before: the import had created it)
    replica = con.execute("SELECT sender_replica FROM exchange_log WHERE seq = ?",
                          (entry,)).fetchone()[0]
    con.execute("DELETE FROM exchange_received WHERE replica_id = ?", (replica,))
    con.execute("DELETE FROM exchange_acks WHERE office_key = ? AND replica_id = ?",
                (header["absender"], replica))
    for table in _BOOKKEEPING:
        for row in content.before.get(table, ()):
            names = _checked(con, table, row)
            con.execute(f"INSERT INTO {table} ({_names(names)}) VALUES "
                        f"({', '.join('?' * len(names))})", tuple(row[n] for n in names))
    con.execute("UPDATE exchange_log SET direction = ? WHERE seq = ?", (TAKEN_BACK, entry))
    con.executemany(
        "INSERT INTO audit_log (at, user, office_key, replica_id, source, bundle_id, entity, "
        "record_id, action, field, old_value, new_value) VALUES (?, ?, ?, ?, 'system', ?, ?, ?, "
        "'zuruecknehmen', NULL, NULL, ?)",
        [(now, ws.user, ws.office_key, ws.db.replica_id, bundle_id, entity, rid, note)
         for entity, rid, note in audit])
    return deleted, restored


def _names(names: list[str]) -> str:
    return ", ".join(f'"{n}"' for n in names)
