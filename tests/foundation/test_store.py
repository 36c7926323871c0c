"""Database files: migrations, backups, and every bad input refused with the file untouched."""

from __future__ import annotations

import hashlib
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import text

from integrationsplaner.domain.model import MeasureFilter
from integrationsplaner.errors import DatabaseError, DatabaseLockedError, NewerDatabaseError
from integrationsplaner.services import measure_list, measures
from integrationsplaner.services.workspace import create_workspace, open_workspace
from integrationsplaner.store import migrations
from integrationsplaner.store.database import BACKUP_DIR, open_database

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "db"


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_single_migration_head_matches_constants() -> None:
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(migrations.alembic_config())
    assert script.get_heads() == [migrations.SCHEMA_HEAD]
    known = {rev.revision for rev in script.walk_revisions()}
    assert known == set(migrations.KNOWN_REVISIONS)


def test_schema_matches_models(tmp_path: Path) -> None:
    """Autogenerate against a fresh database finds nothing to do: migrations == mappings."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from integrationsplaner.store.migrations.env_filter import include_object
    from integrationsplaner.store.models import Base

    path = tmp_path / "fresh.sqlite"
    with create_workspace(path, "kreis-kl") as ws, ws.db.engine.connect() as con:
        context = MigrationContext.configure(
            con, opts={"compare_type": True, "include_object": include_object})
        assert compare_metadata(context, Base.metadata) == []


def test_upgrade_downgrade_with_data(tmp_path: Path) -> None:
    path = tmp_path / "roundtrip.sqlite"
    with create_workspace(path, "vg-landstuhl") as ws:
        from integrationsplaner.services import demo

        demo.generate(ws, 10, seed=2)
    head = migrations.SCHEMA_HEAD
    revisions = migrations.KNOWN_REVISIONS
    for previous in reversed(revisions[:-1]):  # step down and up again with the data inside
        migrations.downgrade(path, previous)
        migrations.upgrade(path, previous)
        with open_workspace(path) as ws:
            assert measures.count_measures(ws) == 10
            assert len(measures.get_measure(ws, measures.measure_ids(ws)[0]).indicators) == 3
    migrations.downgrade(path, "base")
    con = sqlite3.connect(path)
    tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    con.close()
    assert tables <= {"alembic_version"}
    migrations.upgrade(path, None)
    con = sqlite3.connect(path)
    assert con.execute("SELECT version_num FROM alembic_version").fetchone() == (head,)
    con.close()


@pytest.mark.parametrize("kept", sorted(FIXTURES.glob("schema-*.sqlite")), ids=lambda p: p.stem)
def test_kept_database_of_each_released_schema_opens_and_migrates(kept: Path,
                                                                   tmp_path: Path) -> None:
    path = tmp_path / kept.name
    shutil.copy(kept, path)
    with open_workspace(path) as ws:
        assert ws.office_key == "vg-landstuhl"
        assert measures.count_measures(ws) == 25
        with ws.db.engine.connect() as con:
            revision = con.execute(text("SELECT version_num FROM alembic_version")).scalar()
        assert revision == migrations.SCHEMA_HEAD
    if kept.stem != f"schema-{migrations.SCHEMA_HEAD}":
        assert list((tmp_path / BACKUP_DIR).glob("*.vor-update-*.sqlite")), "no backup taken"


def test_backup_copy_gets_new_replica_on_restore(ws) -> None:
    backup = ws.db.backup("test")
    original_replica = ws.db.replica_id
    with open_workspace(backup) as restored:
        assert restored.db.replica_id != original_replica
    with open_workspace(backup) as again:  # only once: the new identity is kept
        assert again.db.replica_id == restored.db.replica_id


def test_new_databases_have_large_pages_and_old_ones_keep_theirs(tmp_path: Path) -> None:
    """New databases get PAGE_SIZE (faster bulk imports) and no free pages (what the
    migrations dropped); a database made with SQLite's default keeps its pages, also through a
    backup copy."""
    from integrationsplaner.store.database import PAGE_SIZE

    def pragma(path: Path, name: str = "page_size") -> int:
        con = sqlite3.connect(path)
        try:
            return int(con.execute(f"PRAGMA {name}").fetchone()[0])
        finally:
            con.close()

    new = _make_db(tmp_path)
    assert pragma(new) == PAGE_SIZE == 16384
    assert pragma(new, "freelist_count") == 0
    old = tmp_path / "alt.sqlite"
    shutil.copy(FIXTURES / "schema-0001_initial.sqlite", old)
    assert pragma(old) == 4096
    with open_workspace(old) as ws:
        backup = ws.db.backup("test")
    assert pragma(old) == pragma(backup) == 4096


def _make_db(tmp_path: Path) -> Path:
    path = tmp_path / "good.sqlite"
    create_workspace(path, "vg-landstuhl").close()
    return path


def _truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _corrupt(path: Path) -> None:
    data = bytearray(path.read_bytes())
    for offset in range(4096, len(data), 997):
        data[offset] ^= 0xFF
    path.write_bytes(bytes(data))


def _foreign_sqlite(path: Path) -> None:
    path.unlink()
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE kunden(id INTEGER)")
    con.commit()
    con.close()


def _newer(path: Path) -> None:
    con = sqlite3.connect(path)
    con.execute("UPDATE alembic_version SET version_num = '9999_from_the_future'")
    con.commit()
    con.close()


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda p: p.write_bytes(b"Sehr geehrte Damen und Herren,\n" * 100), "keine SQLite-Datei"),
        (lambda p: p.write_bytes(b""), "keine SQLite-Datei"),
        (lambda p: p.write_bytes(b"PK\x03\x04" + os.urandom(4000)), "keine SQLite-Datei"),
        (_truncate, "abgeschnitten"),
        (_corrupt, "beschädigt"),
        (_foreign_sqlite, "keine Integrationsplaner-Datenbank"),
        (_newer, "neueren Version"),
    ],
    ids=["text", "empty", "zip", "truncated", "corrupt", "foreign-sqlite", "newer"],
)
def test_bad_files_are_refused_untouched(tmp_path: Path, damage, message: str) -> None:
    path = _make_db(tmp_path)
    damage(path)
    before = digest(path)
    with pytest.raises(DatabaseError, match=message):
        ws = open_workspace(path)
        try:  # damage deep inside the file shows only when those pages are read
            measure_list.first_page(ws, 200)  # the start path reads through the plain driver
            measures.list_measures(ws)
            measures.count_measures(ws)
        finally:
            ws.close()
    assert digest(path) == before
    assert not (tmp_path / BACKUP_DIR).exists() or message != "neueren Version"


def test_newer_database_error_type(tmp_path: Path) -> None:
    path = _make_db(tmp_path)
    _newer(path)
    with pytest.raises(NewerDatabaseError):
        open_database(path)


def test_missing_file_and_directory(tmp_path: Path) -> None:
    with pytest.raises(DatabaseError, match="gibt es nicht"):
        open_database(tmp_path / "fehlt.sqlite")
    with pytest.raises(DatabaseError, match="Ordner"):
        open_database(tmp_path)


@pytest.mark.skipif(os.geteuid() == 0 if hasattr(os, "geteuid") else True,
                    reason="root ignores file permissions")
def test_read_only_location(tmp_path: Path) -> None:  # pragma: no cover - not as root
    path = _make_db(tmp_path)
    before = digest(path)
    tmp_path.chmod(0o555)
    try:
        with pytest.raises(DatabaseError, match="schreibgeschützt"):
            open_database(path)
    finally:
        tmp_path.chmod(0o755)
    assert digest(path) == before


def test_read_only_location_checked_by_access(tmp_path: Path, monkeypatch) -> None:
    """As root chmod does not bite, so the access check itself is exercised."""
    path = _make_db(tmp_path)
    before = digest(path)
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, mode: False if mode == os.W_OK
                        else real_access(p, mode))
    with pytest.raises(DatabaseError, match="schreibgeschützt"):
        open_database(path)
    assert digest(path) == before


def test_second_instance_is_told_and_nothing_corrupts(tmp_path: Path) -> None:
    path = _make_db(tmp_path)
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sys, time\n"
         "from integrationsplaner.store.database import open_database\n"
         f"db = open_database({str(path)!r})\n"
         "print('bereit', flush=True)\n"
         "sys.stdin.readline()\n"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "bereit"
        with pytest.raises(DatabaseLockedError, match="bereits von einem anderen"):
            open_database(path)
    finally:
        holder.communicate("\n", timeout=30)
    with open_workspace(path) as ws:  # usable again once the other instance has gone
        assert measures.count_measures(ws) == 0


def test_delete_conflicts_of_before_markers_are_carried_over(tmp_path: Path) -> None:
    """0003: a change a deletion had not seen was stored as 'false' (now: a marker, null), a
    concurrent value of ``deleted`` as kind 'feld' (now 'loeschen'); and back."""
    path = tmp_path / "old.sqlite"
    create_workspace(path, "vg-landstuhl").close()
    migrations.downgrade(path, "0002_exchange")
    con = sqlite3.connect(path)
    rows = [("loeschen", "deleted", "false"), ("feld", "deleted", "true"),
            ("feld", "title", '"Sprachcafé"')]
    con.executemany(
        "INSERT INTO exchange_conflicts (entity, record_id, office_key, field, kind, replica, "
        "counter, value, winner_replica, winner_counter, detected_at) VALUES ('measure', 'm', "
        "'vg-landstuhl', ?, ?, 'r2', ?, ?, 'r1', 2, '2026-11-23 12:00:00')",
        [(field, kind, n, value) for n, (kind, field, value) in enumerate(rows, 1)])
    con.commit()
    con.close()

    def stored() -> list[tuple[str, str, str]]:
        con = sqlite3.connect(path)
        try:
            return con.execute("SELECT kind, field, value FROM exchange_conflicts "
                               "ORDER BY counter").fetchall()
        finally:
            con.close()

    migrations.upgrade(path, "0002_exchange")
    assert stored() == [("loeschen", "deleted", "null"), ("loeschen", "deleted", "true"),
                        ("feld", "title", '"Sprachcafé"')]
    migrations.downgrade(path, "0002_exchange")
    assert stored() == [(kind, field, value) for kind, field, value in rows]


def test_office_indexes_only_where_lists_filter_by_office(tmp_path: Path) -> None:
    """0004: the children of measures and partners lose their office index, the partner list
    keeps its own; and back. Ordinary saves and the office filter still work after it."""
    path = tmp_path / "old.sqlite"
    shutil.copy(FIXTURES / "schema-0001_initial.sqlite", path)

    def office_indexes() -> set[str]:
        con = sqlite3.connect(path)
        try:
            return {r[0] for r in con.execute(
                "SELECT name FROM sqlite_master WHERE type = 'index' "
                "AND name LIKE 'ix\\_%\\_office\\_key' ESCAPE '\\'")}
        finally:
            con.close()

    children = {"ix_indicators_office_key", "ix_budget_lines_office_key",
                "ix_milestones_office_key", "ix_measure_partners_office_key",
                "ix_evaluations_office_key", "ix_contact_persons_office_key",
                "ix_measures_office_key"}
    assert children <= office_indexes()
    with open_workspace(path) as ws:  # migrates
        assert office_indexes() == {"ix_partners_office_key", "ix_municipalities_office_key",
                                    "ix_exchange_keys_office_key"}
        data = measures.get_measure(ws, measures.measure_ids(ws)[0])
        data.title = "Nach der Migration gespeichert"
        measures.save_measure(ws, data)
        assert measures.count_measures(ws, MeasureFilter(offices=("vg-landstuhl",))) == 25
    migrations.downgrade(path, "0003_delete_markers")
    assert children <= office_indexes()
