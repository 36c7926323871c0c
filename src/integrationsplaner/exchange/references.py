"""Step 5 of the import: every reference of a staged record to another record resolves, in
the bundle or in this database (after :mod:`~.staging`, before :mod:`~.planning`)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from integrationsplaner.exchange.format import (
    ENTITY_LABELS,
    ENTRY_OF,
    OWNER_PARENT,
    REFERENCES,
    TABLE_OF,
)
from integrationsplaner.exchange.reader import BundleHeader, _fail
from integrationsplaner.exchange.staging import Staged


def check_references(con: sqlite3.Connection, header: BundleHeader, staged: Staged) -> None:
    """Every reference to another record resolves, in the bundle or in the local database.

    First every reference is looked up in the bundle alone, by two connections of their own
    at once (each query reads a whole staged table; SQLite works without Python's lock, so
    both cores help). The reference to the parent that owns a record (OWNER_PARENT) answers
    both questions in that one pass: does it resolve in the bundle, and does that parent
    belong to another office (``staged.owner_mismatch``, so that planning checks ownership only
    where it can fail). Only a reference not found in the bundle is then looked for here."""
    from concurrent.futures import ThreadPoolExecutor

    jobs = sorted(((entity, column, target) for entity, refs in REFERENCES.items()
                   for column, target in refs.items()),
                  key=lambda job: -header.counts.get(job[0], 0))
    (path,) = (row[2] for row in con.execute("PRAGMA database_list") if row[1] == "main")
    readers: list[sqlite3.Connection] = []
    try:
        for _ in range(2):
            readers.append(sqlite3.connect(Path(path).resolve().as_uri() + "?mode=ro",
                                           uri=True, check_same_thread=False))
        for reader in readers:
            # the parents' indexes stay in memory while every child looks them up
            reader.execute("PRAGMA cache_size=-16384")
        with ThreadPoolExecutor(len(readers)) as threads:
            # the largest tables first, one queue per reader
            lanes = [jobs[i::len(readers)] for i in range(len(readers))]
            results = threads.map(_bundle_references, readers, lanes)
            flags = {job: flag for lane in results for job, flag in lane}
    finally:
        for reader in readers:
            reader.close()
    for entity, refs in REFERENCES.items():
        for column, target in refs.items():
            missing, mismatch = flags[(entity, column, target)]
            if mismatch:
                staged.owner_mismatch.add(entity)
            if not missing:
                continue
            row = con.execute(
                f"SELECT s.x_line, s.\"{column}\" FROM s_{entity} s WHERE NOT EXISTS "
                f"(SELECT 1 FROM s_{target} t WHERE t.id = s.\"{column}\") AND NOT EXISTS "
                f"(SELECT 1 FROM live.{TABLE_OF[target]} m WHERE m.id = s.\"{column}\") "
                "LIMIT 1").fetchone()
            if row is not None:
                raise _fail(
                    f"„{header.path.name}“, Eintrag {ENTRY_OF[entity]}, Zeile {row[0]}: verweist "
                    f"auf {ENTITY_LABELS[target]} {row[1]}, die es weder im Bündel noch in "
                    "dieser Datenbank gibt. Die Datei wird nicht verarbeitet.")


def _bundle_references(reader: sqlite3.Connection, jobs: list[tuple[str, str, str]]
                       ) -> list[tuple[tuple[str, str, str], tuple[bool, bool]]]:
    """Per reference: is any not in the bundle, and (for the owning parent) does any parent in
    the bundle belong to another office than the record."""
    result = []
    for entity, column, target in jobs:
        if OWNER_PARENT.get(entity) == (column, target):
            # the parent's (id, office_key) index answers both without reading its rows
            missing, mismatch = reader.execute(
                f"SELECT max(p.id IS NULL), max(p.office_key != s.office_key) FROM "
                f"s_{entity} s LEFT JOIN s_{target} p INDEXED BY s_{target}_owner ON "
                f"p.id = s.\"{column}\"").fetchone()
        else:
            missing, mismatch = reader.execute(
                f"SELECT max(p.id IS NULL), 0 FROM s_{entity} s LEFT JOIN s_{target} p "
                f"INDEXED BY s_{target}_id ON p.id = s.\"{column}\"").fetchone()
        result.append(((entity, column, target), (bool(missing), bool(mismatch))))
    return result

