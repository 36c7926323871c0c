"""Bulk loading (demo data) ends in the same state as row-by-row inserts."""

from __future__ import annotations

import os
import sqlite3
import threading

import pytest

from integrationsplaner.domain.model import MeasureFilter
from integrationsplaner.services import demo, measures
from integrationsplaner.services.integrity import check_database
from integrationsplaner.services.workspace import Workspace
from integrationsplaner.store.bulk import flush_in_background
from integrationsplaner.store.models import SYNCED_MODELS


def _schema(con: sqlite3.Connection) -> set[tuple[str, str]]:
    return {(kind, name) for kind, name in con.execute(
        "SELECT type, name FROM sqlite_master WHERE type IN ('index', 'trigger')")}


def test_bulk_load_keeps_indexes_triggers_journal_and_search(ws: Workspace) -> None:
    con = sqlite3.connect(ws.path)
    before = _schema(con)
    demo.generate(ws, 30, seed=5)
    assert _schema(con) == before
    records = sum(con.execute(f"SELECT count(*) FROM {m.__tablename__}").fetchone()[0]
                  for m in SYNCED_MODELS)
    assert con.execute("SELECT count(*) FROM exchange_journal").fetchone()[0] == records
    assert check_database(ws.path).ok
    # a second load appends; triggers work again for ordinary saves afterwards
    demo.generate(ws, 10, seed=6)
    row = measures.list_measures(ws, limit=1)[0]
    data = measures.get_measure(ws, row.id)
    data.title = "Nachträglich umbenannt Zebrastreifen"
    journal = con.execute("SELECT count(*) FROM exchange_journal").fetchone()[0]
    measures.save_measure(ws, data)
    assert con.execute("SELECT count(*) FROM exchange_journal").fetchone()[0] > journal
    assert measures.count_measures(ws, MeasureFilter(text="zebrastreifen")) == 1
    assert measures.count_measures(ws) == 40
    con.close()


def test_cancelled_load_changes_nothing(ws: Workspace) -> None:
    import pytest

    con = sqlite3.connect(ws.path)
    before = _schema(con)
    with pytest.raises(demo.DemoCancelled):
        demo.generate(ws, 12_000, seed=5, progress=lambda done, total: done < 5_000)
    assert _schema(con) == before  # dropped indexes and triggers are back
    assert measures.count_measures(ws) == 0
    assert con.execute("SELECT count(*) FROM exchange_journal").fetchone()[0] == 0
    assert check_database(ws.path).ok
    con.close()


def test_flush_in_background_flushes_the_file_while_the_load_runs(tmp_path, monkeypatch
                                                                   ) -> None:
    """The thread flushes the file (through a descriptor of its own) until the block ends."""
    path = tmp_path / "data.bin"
    path.write_bytes(b"x" * 100)
    flushed: list[int] = []
    seen = threading.Event()

    def fake_sync(fd: int) -> None:
        assert os.fstat(fd).st_ino == path.stat().st_ino
        flushed.append(fd)
        seen.set()

    monkeypatch.setattr(os, "fdatasync" if hasattr(os, "fdatasync") else "fsync", fake_sync)
    with flush_in_background(path, interval=0.001):
        assert seen.wait(30)
    done = len(flushed)
    assert not any(t.name == "flush" for t in threading.enumerate())
    with pytest.raises(OSError):  # the descriptor is closed
        os.fstat(flushed[0])
    assert len(flushed) == done  # nothing after the block


def test_flush_in_background_is_best_effort(tmp_path, monkeypatch) -> None:
    """A file that cannot be opened, or a flush that fails, does not disturb the load."""
    with flush_in_background(tmp_path / "missing.bin", interval=0.001):
        pass
    path = tmp_path / "data.bin"
    path.write_bytes(b"x")
    calls: list[int] = []
    failed = threading.Event()

    def failing_sync(fd: int) -> None:
        calls.append(fd)
        failed.set()
        raise OSError(5, "I/O error")

    monkeypatch.setattr(os, "fdatasync" if hasattr(os, "fdatasync") else "fsync", failing_sync)
    with flush_in_background(path, interval=0.001):
        assert failed.wait(30)
        threading.Event().wait(0.05)  # time for more calls, which must not come
    assert len(calls) == 1  # the thread stopped after the failure
