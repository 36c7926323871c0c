"""``integrationsplaner check``: is the file whole, consistent and of a schema we know?"""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

from integrationsplaner.errors import DatabaseError
from integrationsplaner.store.database import inspect_file, read_revision
from integrationsplaner.store.migrations import KNOWN_REVISIONS, SCHEMA_HEAD

#: Tables whose rows name their owning office (checked against the offices table).
_OWNED_TABLES = ("measures", "indicators", "budget_lines", "milestones", "partners",
                 "contact_persons", "measure_partners", "evaluations")


@dataclass
class CheckReport:
    path: Path
    revision: str = ""
    counts: dict[str, int] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def lines(self) -> list[str]:
        out = [f"Datenbank: {self.path}", f"Schema: {self.revision or 'unbekannt'}"]
        for table, count in self.counts.items():
            out.append(f"{table}: {count:,}".replace(",", "."))
        out.append("Ergebnis: in Ordnung" if self.ok else
                   f"Ergebnis: {len(self.problems)} Problem(e) gefunden")
        return out


def check_database(path: Path | str) -> CheckReport:
    """Read-only checks: SQLite integrity, foreign keys, schema version, FTS in step, meta."""
    path = Path(path)
    report = CheckReport(path)
    inspect_file(path)  # raises DatabaseError for files that are not ours at all
    report.revision = read_revision(path)
    if report.revision not in KNOWN_REVISIONS:
        report.problems.append(
            f"Schema „{report.revision}“ stammt von einer neueren Version des "
            "Integrationsplaners. Bitte installieren Sie die aktuelle Version.")
        return report
    if report.revision != SCHEMA_HEAD:
        report.problems.append(
            f"Schema „{report.revision}“ ist veraltet; es wird beim nächsten Öffnen (nach einer "
            "Sicherung) aktualisiert.")
    try:
        con = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    except sqlite3.DatabaseError as exc:  # pragma: no cover - inspect_file catches most
        raise DatabaseError(f"Die Datenbank kann nicht geöffnet werden ({exc}).") from None
    try:
        _run_checks(con, report)
    except sqlite3.DatabaseError as exc:
        report.problems.append(f"Die Datei ist beschädigt: {exc}.")
    finally:
        con.close()
    return report


def _run_checks(con: sqlite3.Connection, report: CheckReport) -> None:
    for (message,) in con.execute("PRAGMA integrity_check(20)"):
        if message != "ok":
            report.problems.append(f"SQLite-Integrität: {message}")
    for table, rowid, parent, _fk in con.execute("PRAGMA foreign_key_check"):
        report.problems.append(
            f"Verweis ins Leere: Tabelle {table}, Zeile {rowid} verweist auf fehlende {parent}.")
    for table in _OWNED_TABLES:
        report.counts[table] = con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    meta = dict(con.execute("SELECT key, value FROM meta"))
    for key in ("office_key", "replica_id"):
        if not meta.get(key):
            report.problems.append(f"Angabe „{key}“ fehlt in der Tabelle meta.")
    if meta.get("office_key") and con.execute(
        "SELECT 1 FROM offices WHERE key = ?", (meta["office_key"],)
    ).fetchone() is None:
        report.problems.append(f"Die Dienststelle „{meta['office_key']}“ ist unbekannt.")
    _fts_compare(con, report)
    duplicates = con.execute(
        "SELECT office_key, code, count(*) FROM measures WHERE deleted = 0 "
        "GROUP BY office_key, code HAVING count(*) > 1 LIMIT 20").fetchall()
    for office, code, count in duplicates:
        report.problems.append(f"Kennung „{code}“ ist in {office} {count}-mal vergeben.")


def _fts_compare(con: sqlite3.Connection, report: CheckReport) -> None:
    """The full-text index must hold exactly one entry per measure, and agree with its text.

    Row coverage is compared read-only; FTS5's own ``integrity-check`` (index versus content) is
    a special INSERT, so it runs on a separate connection only where the file is writable, and
    is rolled back (it changes nothing)."""
    missing = con.execute(
        "SELECT count(*) FROM measures m WHERE NOT EXISTS "
        "(SELECT 1 FROM measures_fts_docsize d WHERE d.id = m.seq)").fetchone()[0]
    extra = con.execute(
        "SELECT count(*) FROM measures_fts_docsize d WHERE NOT EXISTS "
        "(SELECT 1 FROM measures m WHERE m.seq = d.id)").fetchone()[0]
    if missing or extra:
        report.problems.append(
            f"Volltextindex nicht im Gleichschritt: {missing} Maßnahme(n) fehlen im Index, "
            f"{extra} Indexeinträge ohne Maßnahme. Spielen Sie eine Sicherung aus dem Ordner "
            "„Sicherungen“ zurück.")
        return
    if not os.access(report.path, os.W_OK):
        return
    rw = sqlite3.connect(str(report.path), timeout=5)
    try:
        rw.execute("INSERT INTO measures_fts(measures_fts, rank) VALUES ('integrity-check', 1)")
    except sqlite3.OperationalError as exc:
        if "locked" not in str(exc) and "busy" not in str(exc):
            raise
    except sqlite3.DatabaseError as exc:
        report.problems.append(f"Volltextindex passt nicht zum Text der Maßnahmen ({exc}).")
    finally:
        rw.rollback()
        rw.close()
