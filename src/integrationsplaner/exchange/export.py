"""Writing bundles: full, or incremental for one recipient office.

Records are turned into JSON lines by SQLite itself (``json_object``), read in one consistent
snapshot and streamed into the zip entry by entry, so memory stays flat at any size. The zip is
written to a temporary file beside the target and renamed only when it is complete.

Building the lines is most of the work and stays in one thread on one connection: SQLite
contends on process-wide mutexes (its allocator), so two connections stepping in two threads
of one process were slower than one. A second thread hashes and deflates what the first has
built. Lines stay UTF-8 bytes from SQLite to the zip, and a full export fetches them joined in
batches (one Python object per 2,000 lines instead of two per line).
"""

from __future__ import annotations

import hashlib
import json
import os
import queue
import sqlite3
import threading
import uuid
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from integrationsplaner import __version__
from integrationsplaner.errors import UserError
from integrationsplaner.exchange import identity
from integrationsplaner.exchange.format import (
    ENTITY_ORDER,
    ENTRY_OF,
    EXTENSION,
    FORMAT_NAME,
    FORMAT_VERSION,
    MANIFEST,
    MAX_SIBLINGS,
    META_FIELDS,
    SIGNATURE,
    SPECS,
    bundle_datetime_sql,
    compact_json,
)
from integrationsplaner.services.workspace import Workspace
from integrationsplaner.store.database import utcnow
from integrationsplaner.store.exchange_models import (
    Acknowledgement,
    ConflictValue,
    ExchangeLogEntry,
    KnownReplica,
    Received,
)

#: Deflate level: 1 is three times faster than 6 and JSON lines still shrink about tenfold.
COMPRESS_LEVEL = 1
_CHUNK = 1024 * 1024
#: Lines per fetch at most; a full export gets each batch as one joined text (of about
#: ``_CHUNK`` bytes: the batches of long lines are smaller).
_BATCH = 2000
Progress = Callable[[int, int], bool]  # (done, total) -> False to cancel


class ExportCancelled(Exception):
    """The progress callback asked to stop; no file was left behind."""


@dataclass
class ExportResult:
    path: Path
    bundle_id: str
    recipient: str
    kind: str  # voll | inkrementell
    journal_from: int
    journal_to: int
    counts: dict[str, int] = field(default_factory=dict)
    size: int = 0

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def as_dict(self) -> dict[str, Any]:
        return {"datei": str(self.path), "buendel_id": self.bundle_id,
                "empfaenger": self.recipient, "art": self.kind,
                "journal_von": self.journal_from, "journal_bis": self.journal_to,
                "datensaetze": self.counts, "bytes": self.size}


def _line_sql(entity: str) -> str:
    """The query of ``(id, line)`` of every record of an entity, in table order."""
    return f"SELECT id, {_line_expr(entity)} FROM {SPECS[entity].table}"


def _batch_sql(entity: str, own_only: bool) -> str:
    """The query of the next batch of at most ``?`` lines from a rowid on: ``(lines joined by
    newlines, last rowid, number of lines)``.

    Rowid order is the order of :func:`_line_sql` with no condition or with the office
    condition (a table scan), so a full bundle is the same either way. The ``+`` keeps SQLite
    off an index that begins with the office (measures, partners), which would sort every
    remaining row per batch.
    """
    own = " AND +office_key = ?" if own_only else ""
    return (f"SELECT group_concat(line, char(10)), max(r), count(*) FROM ("
            f"SELECT rowid AS r, {_line_expr(entity)} AS line FROM {SPECS[entity].table} "
            f"WHERE rowid >= ?{own} ORDER BY rowid LIMIT ?)")


def _line_expr(entity: str) -> str:
    spec = SPECS[entity]
    parts = [
        "'id', id", "'office_key', office_key", "'origin_replica', origin_replica",
        "'vv', json(vv)", "'stamps', json(stamps)",
        f"'created_at', {bundle_datetime_sql('created_at')}",
        f"'updated_at', {bundle_datetime_sql('updated_at')}",
        "'updated_by', updated_by",
    ]
    for f in spec.fields:
        col = f.name
        if f.kind == "bool":
            expr = (f"CASE WHEN {col} IS NULL THEN NULL WHEN {col} THEN json('true') "
                    f"ELSE json('false') END")
        elif f.kind == "json":
            expr = f"json({col})"
        elif f.kind == "datetime":
            expr = bundle_datetime_sql(col)
        elif f.kind == "float":
            expr = f"CAST({col} AS REAL)"
        else:
            expr = col
        parts.append(f"'{col}', {expr}")
    assert len(parts) == len(META_FIELDS) + len(spec.fields)
    return f"json_object({', '.join(parts)})"


def recipient_start(ws: Workspace, office: str) -> int:
    """The journal position the recipient office has confirmed (the least of its PCs)."""
    with ws.db.read() as session:
        value = session.scalar(select(func.min(Acknowledgement.acked_seq))
                               .where(Acknowledgement.office_key == office))
    return int(value or 0)


def export_bundle(
    ws: Workspace,
    out: Path,
    *,
    to: str | None = None,
    progress: Progress | None = None,
) -> ExportResult:
    """Write a bundle. ``to``: incremental for that office (what it has not acknowledged);
    ``None``: a full bundle for every office."""
    out = Path(out)
    if to is not None and to not in ws.reference.office_keys():
        known = ", ".join(ws.reference.office_keys())
        raise UserError(f"Die Dienststelle „{to}“ gibt es nicht. Bekannte Dienststellen: {known}.")
    if out.is_dir():
        raise UserError(f"„{out}“ ist ein Ordner. Geben Sie einen Dateinamen an, z. B. "
                        f"„{ws.office_key}{EXTENSION}“.")
    if not out.parent.exists():
        raise UserError(f"Den Ordner „{out.parent}“ gibt es nicht.")
    start = recipient_start(ws, to) if to is not None else 0
    with ws.db.transaction() as session:
        private, fp = identity.own_key(session, ws.office_key, ws.user)
        identity.remember_replica(session, ws.db.replica_id, ws.office_key, "eigen")
        acks = dict(session.execute(select(Received.replica_id, Received.upto_seq)).all())
        replicas = dict(session.execute(
            select(KnownReplica.replica_id, KnownReplica.office_key)).all())
        conflict_rows = list(session.scalars(
            select(ConflictValue).where(ConflictValue.kind.in_(("feld", "loeschen")))))
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    public_hex = private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw).hex()
    siblings_by_entity: dict[str, dict[str, dict[str, list[Any]]]] = {}
    for row in conflict_rows:
        siblings_by_entity.setdefault(row.entity, {}).setdefault(row.record_id, {}) \
            .setdefault(row.field, []).append(row)

    bundle_id = str(uuid.uuid4())
    tmp = out.with_name(f".{out.name}.{bundle_id[:8]}.tmp")
    con = sqlite3.connect(f"{ws.db.path.resolve().as_uri()}?mode=ro", uri=True,
                          isolation_level=None, check_same_thread=False)
    counts: dict[str, int] = {}
    entries: dict[str, dict[str, Any]] = {}
    try:
        con.text_factory = bytes  # lines go to the zip as SQLite's UTF-8, never decoded
        con.execute("PRAGMA busy_timeout=5000")
        con.execute("BEGIN")  # one snapshot for the journal position and every table
        journal_to = int(con.execute("SELECT COALESCE(MAX(seq), 0) FROM exchange_journal")
                         .fetchone()[0])
        # only the Kreis relays other offices' records; an office sends only its own
        relay = ws.reference.office(ws.office_key).kind == "kreis"
        # "+": no index that begins with the office (their order is not the table's)
        conditions = [] if relay else ["+office_key = ?"]
        if start:
            conditions.append("id IN (SELECT record_id FROM exchange_journal WHERE entity = ? "
                              "AND seq > ? AND seq <= ?)")
        where = (" WHERE " + " AND ".join(conditions)) if conditions else ""

        own: tuple[Any, ...] = () if relay else (ws.office_key,)

        def params_of(entity: str) -> tuple[Any, ...]:
            return (*own, entity, start, journal_to) if start else own

        totals = {}
        for entity in ENTITY_ORDER:
            params = params_of(entity)
            totals[entity] = int(con.execute(
                f"SELECT count(*) FROM {SPECS[entity].table}{where}", params).fetchone()[0])
        grand_total = sum(totals.values()) or 1
        done = 0
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED,
                             compresslevel=COMPRESS_LEVEL, allowZip64=True) as zf:
            for entity in ENTITY_ORDER:
                name = ENTRY_OF[entity]
                digest = hashlib.sha256()
                size = 0
                n = 0
                siblings = {record_id.encode(): fields for record_id, fields
                            in siblings_by_entity.get(entity, {}).items()}
                if start or siblings:
                    chunks = _line_chunks(con, _line_sql(entity) + where, params_of(entity),
                                          siblings)
                else:
                    chunks = _batched_chunks(con, _batch_sql(entity, not relay), own)
                with zf.open(name, "w", force_zip64=True) as handle:
                    # SQLite builds the lines (it releases the GIL while it steps) while a
                    # writer thread hashes and deflates the previous chunk (zlib and hashlib
                    # release it too): on two cores the two halves overlap
                    writer = _EntryWriter(handle, digest)
                    try:
                        for chunk, lines in chunks:
                            writer.put(chunk)
                            n += lines
                            if progress is not None and progress(done + n, grand_total) is False:
                                raise ExportCancelled()
                    finally:
                        size = writer.finish()
                done += n
                counts[entity] = n
                entries[name] = {"size": size, "sha256": digest.hexdigest(), "records": n}
            con.execute("COMMIT")
            created = datetime.now(UTC).replace(microsecond=0)
            manifest = {
                "format": FORMAT_NAME,
                "format_version": FORMAT_VERSION,
                "bundle_id": bundle_id,
                "created_at": created.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "program_version": __version__,
                "district": ws.db.meta.get("district_key", ""),
                "sender": {"office": ws.office_key, "replica": ws.db.replica_id,
                           "key_fingerprint": fp, "public_key": public_hex},
                "recipient": to or "*",
                "coverage": {"kind": "inkrementell" if start else "voll",
                             "journal_from": start, "journal_to": journal_to},
                "acknowledgements": {k: int(v) for k, v in sorted(acks.items())},
                "replicas": {k: v for k, v in sorted(replicas.items())},
                "entries": entries,
                "record_counts": counts,
            }
            manifest_bytes = json.dumps(manifest, ensure_ascii=False, indent=1,
                                        sort_keys=True).encode("utf-8")
            signature = private.sign(manifest_bytes)
            zf.writestr(MANIFEST, manifest_bytes)
            zf.writestr(zipfile.ZipInfo(SIGNATURE, date_time=created.timetuple()[:6]), signature,
                        compress_type=zipfile.ZIP_STORED)
        file_hash = hashlib.sha256()
        with tmp.open("rb") as fh:
            for block in iter(lambda: fh.read(_CHUNK), b""):
                file_hash.update(block)
        os.replace(tmp, out)
    except BaseException as exc:
        con.close()
        tmp.unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise UserError(f"Das Bündel „{out}“ kann nicht geschrieben werden ({exc.strerror}). "
                            "Prüfen Sie den Speicherort und den freien Platz.") from None
        raise
    con.close()
    size = out.stat().st_size
    kind = "inkrementell" if start else "voll"
    with ws.db.transaction() as session:
        session.add(ExchangeLogEntry(
            direction="export", bundle_id=bundle_id, sender_office=ws.office_key,
            sender_replica=ws.db.replica_id, recipient=to or "*", kind=kind,
            bundle_created_at=created.replace(tzinfo=None), at=utcnow(), user=ws.user,
            file_name=str(out), file_sha256=file_hash.hexdigest(), journal_from=start,
            journal_to=journal_to, summary=json.dumps(counts, sort_keys=True)))
    return ExportResult(out, bundle_id, to or "*", kind, start, journal_to, counts, size)


def _line_chunks(con: sqlite3.Connection, sql: str, params: tuple[Any, ...],
                 siblings: dict[bytes, dict[str, list[ConflictValue]]],
                 ) -> Iterator[tuple[bytes, int]]:
    """Newline-terminated lines of ``(id, line)`` rows, in chunks of about ``_CHUNK`` bytes,
    with the number of lines since the previous chunk (reported at least every batch)."""
    cursor = con.execute(sql, params)
    buffer: list[bytes] = []
    buffered = 0
    while rows := cursor.fetchmany(_BATCH):
        for record_id, line in rows:
            if record_id in siblings:
                line = _with_siblings(line.decode("utf-8"), siblings[record_id]).encode("utf-8")
            buffer.append(line)
            buffered += len(line) + 1
        if buffered >= _CHUNK:
            buffer.append(b"")  # the last line's newline
            yield b"\n".join(buffer), len(rows)
            buffer, buffered = [], 0
        else:
            yield b"", len(rows)
    if buffer:
        buffer.append(b"")
        yield b"\n".join(buffer), 0


def _batched_chunks(con: sqlite3.Connection, sql: str, own: tuple[Any, ...],
                    ) -> Iterator[tuple[bytes, int]]:
    """Newline-terminated lines of :func:`_batch_sql`, a batch at a time."""
    after = -(1 << 63)  # the least rowid
    limit = 100
    while True:
        lines, last, count = con.execute(sql, (after, *own, limit)).fetchone()
        if not count:
            return
        yield lines + b"\n", count
        after = last + 1
        limit = max(1, min(_BATCH, count * _CHUNK // len(lines)))


class _EntryWriter:
    """Hashes and writes (deflates) the chunks of one zip entry in a thread of its own."""

    def __init__(self, handle: Any, digest: Any) -> None:
        self.handle = handle
        self.digest = digest
        self.size = 0
        self.error: BaseException | None = None
        self.queue: queue.Queue[bytes | None] = queue.Queue(maxsize=4)
        self.thread = threading.Thread(target=self._run, name="bundle-writer", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while True:
            data = self.queue.get()
            if data is None:
                return
            if self.error is not None:
                continue
            try:
                self.digest.update(data)
                self.handle.write(data)
                self.size += len(data)
            except BaseException as exc:  # re-raised in the exporting thread
                self.error = exc

    def put(self, data: bytes) -> None:
        if self.error is not None:
            raise self.error
        if data:
            self.queue.put(data)

    def finish(self) -> int:
        self.queue.put(None)
        self.thread.join()
        if self.error is not None:
            raise self.error
        return self.size


def _with_siblings(line: str, fields: dict[str, list[ConflictValue]]) -> str:
    """Add the open conflict values of the record whose winner is still the field's value."""
    record = json.loads(line)
    stamps = record.get("stamps") or {}
    origin = record["origin_replica"]
    out: dict[str, list[list[Any]]] = {}
    for name, values in fields.items():
        stamp = stamps.get(name) or [origin, 1]
        current = (str(stamp[0]), int(stamp[1]))
        valid = [[c.replica, c.counter, json.loads(c.value) if c.value is not None else None]
                 for c in values if (c.winner_replica, c.winner_counter) == current]
        if valid:
            # a receiver refuses more than MAX_SIBLINGS per field: the newest travel, the
            # conflict stays open everywhere (the rest wait here for the decision)
            out[name] = sorted(valid, key=lambda v: (v[1], v[0]))[-MAX_SIBLINGS:]
    if not out:
        return line
    record["siblings"] = out
    return compact_json(record)
