"""Bulk loading of many new records (demo data at state scale) at a fraction of the row-by-row
cost, with the same end state as ordinary inserts.

Inside :func:`bulk_load` the secondary indexes and triggers of the given tables are dropped; on
leaving, what the triggers would have done for the new rows is done in one statement per table
(full-text index entries, change-journal entries for the exchange), then indexes and triggers are
created again from their saved SQL. It all runs in the caller's transaction, so a failure or a
cancel rolls everything back, dropped indexes and triggers included.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

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
