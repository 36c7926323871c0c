"""Bulk loading of many new records (demo data at state scale) at a fraction of the row-by-row
cost, with the same end state as ordinary inserts.

Inside :func:`bulk_load` the secondary indexes and triggers of the given tables are dropped; on
leaving, what the triggers would have done for the new rows is done in one statement per table
(full-text index entries, change-journal entries for the exchange), then indexes and triggers are
created again from their saved SQL. It all runs in the caller's transaction, so a failure or a
cancel rolls everything back, dropped indexes and triggers included.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from integrationsplaner.store.models import ENTITY_NAMES

_TABLE_ENTITIES = {model.__tablename__: name for model, name in ENTITY_NAMES.items()}
#: Tables without triggers that may be loaded in bulk too (an import's audit entries).
_PLAIN_TABLES = frozenset({"audit_log"})


@contextmanager
def bulk_load(cursor: sqlite3.Cursor, tables: Sequence[str]) -> Iterator[None]:
    """Insert-only bulk load into ``tables`` (no updates or deletes of existing rows inside)."""
    unknown = set(tables) - set(_TABLE_ENTITIES) - _PLAIN_TABLES
    if unknown:
        raise ValueError(f"no bulk load for {sorted(unknown)}")
    if not cursor.connection.in_transaction:
        # sqlite3 opens transactions only before DML: without this the DROPs below would commit
        # at once, and a failed or cancelled load would leave the tables without indexes
        cursor.execute("BEGIN")
    marks = ", ".join("?" * len(tables))
    saved = cursor.execute(
        "SELECT type, name, sql FROM sqlite_master WHERE type IN ('index', 'trigger') "
        f"AND sql IS NOT NULL AND tbl_name IN ({marks}) ORDER BY type", tuple(tables)).fetchall()
    last_rowid = {t: cursor.execute(f"SELECT coalesce(max(rowid), 0) FROM {t}").fetchone()[0]
                  for t in tables}
    journal = cursor.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'exchange_journal'"
    ).fetchone() is not None
    for kind, name, _sql in saved:
        cursor.execute(f'DROP {kind.upper()} "{name}"')
    yield
    if "measures" in tables:
        cursor.execute(
            "INSERT INTO measures_fts(rowid, code, title, description, objective) "
            "SELECT seq, code, title, description, objective FROM measures WHERE seq > ?",
            (last_rowid["measures"],))
    if journal:
        for table in (t for t in tables if t in _TABLE_ENTITIES):
            cursor.execute(
                f"INSERT INTO exchange_journal(entity, record_id) SELECT ?, id FROM {table} "
                "WHERE rowid > ? ORDER BY rowid", (_TABLE_ENTITIES[table], last_rowid[table]))
    for _kind, _name, sql in saved:
        cursor.execute(sql)


#: Seconds between two flushes of :func:`flush_in_background`.
FLUSH_INTERVAL = 0.5


@contextmanager
def flush_in_background(path: Path, interval: float = FLUSH_INTERVAL) -> Iterator[None]:
    """Hand what SQLite has written to ``path`` so far to the disk every ``interval`` seconds
    while a long transaction runs in this thread.

    A large load writes hundreds of megabytes into the file (pages spilled from the page cache)
    that the operating system keeps in memory until the commit's fsync, which then waits for
    all of it (about 1.6 s per 900 MB here). Flushed meanwhile, from a thread of its own that
    waits outside Python's lock, the commit finds little left to write. A flush only makes
    written data durable earlier; it changes nothing SQLite relies on (its own fsyncs still
    order journal and database). Best effort: if the file cannot be opened or flushed, it is
    not (the commit still flushes everything)."""
    # fsync of a read-only descriptor is enough on POSIX; Windows' FlushFileBuffers needs
    # write access (nothing is ever written through it)
    flags = (os.O_RDWR | getattr(os, "O_BINARY", 0)) if os.name == "nt" else os.O_RDONLY
    try:
        fd = os.open(path, flags)
    except OSError:
        yield
        return
    sync = getattr(os, "fdatasync", os.fsync)
    stop = threading.Event()

    def flush() -> None:
        while not stop.wait(interval):
            try:
                sync(fd)
            except OSError:
                return

    worker = threading.Thread(target=flush, name="flush", daemon=True)
    worker.start()
    try:
        yield
    finally:
        stop.set()
        worker.join()
        with contextlib.suppress(OSError):
            os.close(fd)
