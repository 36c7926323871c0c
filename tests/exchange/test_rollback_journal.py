"""A large first import from the command line runs its transaction with a rollback journal
instead of the write-ahead log (importer._rollback_journal): the same database in the end, the
log mode back afterwards, nothing changed when it fails, and the log kept where another
connection has the file open."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from integrationsplaner.exchange import importer
from integrationsplaner.exchange.export import export_bundle
from integrationsplaner.services import demo
from integrationsplaner.services.workspace import Workspace

from .helpers import dump, make_ws, trace_statements, trust_all


@pytest.fixture
def offices(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    monkeypatch.setattr(importer, "BULK_MIN_RECORDS", 5)
    pc1 = make_ws(tmp_path / "l1", "vg-landstuhl", "landstuhl-pc1")
    plain = make_ws(tmp_path / "k1", "kreis-kl", "kreis1")
    kreis = make_ws(tmp_path / "k2", "kreis-kl", "kreis2")
    try:
        trust_all([pc1, plain, kreis], tmp_path / "keys")
        demo.generate(pc1, 20, 4)
        path = tmp_path / "b.ipbundle"
        export_bundle(pc1, path)
        statements = trace_statements(monkeypatch)
        yield {"pc1": pc1, "plain": plain, "kreis": kreis, "bundle": path,
               "statements": statements}
    finally:
        for ws in (pc1, plain, kreis):
            ws.close()


def _apply(ws: Workspace, path: Path, *, exclusive: bool) -> importer.ImportResult:
    with importer.prepare_import(ws, path, trust_new_sender=True) as plan:
        return importer.apply_import(ws, plan, exclusive=exclusive)


def _journal_mode(path: Path) -> str:
    con = sqlite3.connect(path)
    try:
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        return str(con.execute("PRAGMA journal_mode").fetchone()[0])
    finally:
        con.close()


def _content(path: Path) -> bytes:
    """The file's bytes but the change counter in the header (bytes 24-27 and 92-95), which
    SQLite counts up when the journal mode is switched, even without any change of content."""
    data = bytearray(path.read_bytes())
    data[24:28] = data[92:96] = bytes(4)
    return bytes(data)


def _checkpoint(ws: Workspace) -> None:
    ws.db.release_connections()
    con = sqlite3.connect(ws.db.path)
    try:
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        con.close()


def _journal_files(path: Path) -> list[Path]:
    return [p for p in path.parent.iterdir() if p.name.endswith("-journal")]


def test_same_database_and_the_log_mode_back(offices: dict[str, Any]) -> None:
    kreis, plain = offices["kreis"], offices["plain"]
    assert _apply(plain, offices["bundle"], exclusive=False).applied
    result = _apply(kreis, offices["bundle"], exclusive=True)
    assert result.applied and result.summary["new"] > 100
    assert "PRAGMA main.journal_mode=DELETE" in offices["statements"]
    assert "PRAGMA main.journal_mode=WAL" in offices["statements"]
    assert dump(kreis) == dump(plain) == dump(offices["pc1"])
    assert _journal_mode(kreis.db.path) == "wal"
    assert _journal_files(kreis.db.path) == []
    # the program goes on working with the database: an edit, and a second import (a no-op)
    demo.generate(kreis, 2, 1)
    assert _apply(kreis, offices["bundle"], exclusive=True).nothing_to_do


def test_a_failure_changes_nothing(offices: dict[str, Any],
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    kreis = offices["kreis"]
    _checkpoint(kreis)  # leaving the log mode moves what the log holds into the file
    before = _content(kreis.db.path)
    state = dump(kreis)

    def fail() -> None:
        raise RuntimeError("injected")

    monkeypatch.setattr(importer, "_after_records_hook", fail)
    with pytest.raises(RuntimeError, match="injected"):
        _apply(kreis, offices["bundle"], exclusive=True)
    assert "PRAGMA main.journal_mode=DELETE" in offices["statements"]
    assert dump(kreis) == state
    assert _journal_mode(kreis.db.path) == "wal"
    assert _journal_files(kreis.db.path) == []
    _checkpoint(kreis)
    assert _content(kreis.db.path) == before
    monkeypatch.setattr(importer, "_after_records_hook", None)
    assert _apply(kreis, offices["bundle"], exclusive=True).applied
    assert dump(kreis) == dump(offices["pc1"])


def test_another_open_connection_keeps_the_log(offices: dict[str, Any]) -> None:
    """Another connection to the file (a reader of the window, say): SQLite refuses to leave
    the log mode, and the import goes through the log as always."""
    kreis = offices["kreis"]
    other = sqlite3.connect(kreis.db.path)
    try:
        other.execute("SELECT count(*) FROM measures").fetchone()
        assert _apply(kreis, offices["bundle"], exclusive=True).applied
        assert other.execute("SELECT count(*) FROM measures").fetchone()[0] == 20
    finally:
        other.close()
    assert "PRAGMA main.journal_mode=WAL" not in offices["statements"]
    assert dump(kreis) == dump(offices["pc1"])
    assert _journal_mode(kreis.db.path) == "wal"


def test_without_exclusive_the_log_is_kept(offices: dict[str, Any]) -> None:
    """Without ``exclusive`` (a caller whose other threads may read meanwhile) the log is always
    used. (The window's import has the database to itself: test_dialogs.py.)"""
    assert _apply(offices["kreis"], offices["bundle"], exclusive=False).applied
    assert "PRAGMA main.journal_mode=DELETE" not in offices["statements"]


def test_the_command_line_uses_it(offices: dict[str, Any], tmp_path: Path, capsys) -> None:
    from integrationsplaner.cli import main
    from integrationsplaner.services.workspace import open_workspace

    target = tmp_path / "kreis-neu.sqlite"
    assert main(["init", "--db", str(target), "--office", "kreis-kl"]) == 0
    offices["statements"].clear()
    assert main(["import", "--db", str(target), str(offices["bundle"]),
                 "--trust-new-sender"]) == 0
    assert "Übernommen" in capsys.readouterr().out
    assert "PRAGMA main.journal_mode=DELETE" in offices["statements"]
    assert _journal_mode(target) == "wal"
    with open_workspace(target) as ws:
        assert dump(ws) == dump(offices["pc1"])


_KILLED_IMPORT = """
import os, sys
from pathlib import Path
from integrationsplaner.exchange import importer
from integrationsplaner.services.workspace import open_workspace

importer.BULK_MIN_RECORDS = 5
importer._APPLY_CACHE_KIB = 64  # pages reach the file before the commit (the cache spills)
importer._after_records_hook = lambda: os.kill(os.getpid(), 9)
if __name__ == "__main__":
    ws = open_workspace(Path(sys.argv[1]))
    with importer.prepare_import(ws, Path(sys.argv[2]), trust_new_sender=True) as plan:
        importer.apply_import(ws, plan, exclusive=True)
"""


@pytest.mark.parametrize("readonly", [False, True], ids=["open", "open-to-check"])
def test_a_killed_import_is_rolled_back_on_the_next_open(
        offices: dict[str, Any], tmp_path: Path, readonly: bool,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The process dies inside the transaction (a power failure, the task manager): the next
    open rolls the journal back, also one only for checking, and the import then goes in. The
    next import also removes the staging folder the killed one left behind."""
    import os
    import subprocess
    import sys
    import tempfile

    from integrationsplaner.exchange import staging
    from integrationsplaner.exchange.staging import STAGE_PREFIX
    from integrationsplaner.services.workspace import create_workspace, open_workspace

    target = tmp_path / "kreis-neu.sqlite"
    create_workspace(target, "kreis-kl").close()
    with open_workspace(target) as ws:
        before = dump(ws)
    script = tmp_path / "killed_import.py"
    script.write_text(_KILLED_IMPORT)
    temp = tmp_path / "temp"
    temp.mkdir()
    done = subprocess.run([sys.executable, str(script), str(target), str(offices["bundle"])],
                          capture_output=True, text=True, timeout=300,
                          env={**os.environ, "TMPDIR": str(temp)})
    assert done.returncode == -9, done.stderr
    left = list(temp.glob(STAGE_PREFIX + "*"))
    assert len(left) == 1 and (left[0] / "stage.sqlite").exists()
    assert target.with_name(target.name + "-journal").exists()  # a hot journal is left
    with open_workspace(target, readonly=readonly) as ws:
        assert dump(ws) == before
    assert _journal_mode(target) == "wal"
    assert _journal_files(target) == []
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    monkeypatch.setattr(staging, "_YOUNG_SECONDS", 0)  # the killed import's folder is new
    with open_workspace(target) as ws:
        assert _apply(ws, offices["bundle"], exclusive=True).applied
        assert dump(ws) == dump(offices["pc1"])
    assert list(temp.iterdir()) == []
