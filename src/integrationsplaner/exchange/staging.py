"""Step 4 of the import: every records entry streamed, hashed and validated into a staging
database (a temporary SQLite file; the target database is only read).

Per entry: the zip entry is inflated in chunks, every byte hashed, lines cut, each line decoded
strictly and checked by :class:`integrationsplaner.exchange.lines.Validator`, and the rows
stored in ``s_<entity>`` (large entries by worker processes, each entry whole by one worker
into a file of its own, which this process then copies). A hash mismatch is reported in
preference to any error of the same entry (a flipped byte makes a line invalid too, but the
honest message is "damaged").
"""

from __future__ import annotations

import hashlib
import shutil
import sqlite3
import tempfile
import time
import zipfile
from collections.abc import Callable
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout

from integrationsplaner.errors import UserError
from integrationsplaner.exchange.fastlines import validate_lines
from integrationsplaner.exchange.format import (
    ENTITY_LABELS,
    ENTITY_ORDER,
    ENTRY_OF,
    MAX_LINE_BYTES,
    OWNER_PARENT,
    SPECS,
    EntitySpec,
)
from integrationsplaner.exchange.lines import Validator, _LineError, loads_line
from integrationsplaner.exchange.reader import (
    READ_ERRORS,
    BundleError,
    BundleHeader,
    EntryReader,
    ImportCancelled,
    _damaged,
    _fail,
    check_container,
)
from integrationsplaner.services.workspace import Workspace

Progress = Callable[[int, int], bool]

_CHUNK = 1024 * 1024


#: The temporary folders of imports (one each, removed when its import ends).
STAGE_PREFIX = "integrationsplaner-import-"
_IN_USE = "in-use.lock"
#: A staging folder without its lock file (made by an older version) is left alone this long.
_UNLOCKED_GRACE_SECONDS = 24 * 3600
#: Every staging folder is left alone this long: a new import takes its lock a moment after
#: making the folder, and a sweep in that moment would take the lock first.
_YOUNG_SECONDS = 120


class StageFolder:
    """The temporary folder of one import's staging database, locked while the import lives.

    A killed import (task manager, power failure) cannot remove its folder, and the staging
    database in it is about as large as the bundle uncompressed (half a gigabyte at state
    scale); Windows never empties its temporary folder. So every import first removes the
    folders whose lock nobody holds any more (see sweep_stale_stages): the operating system
    releases a lock when its process ends, however it ends."""

    def __init__(self) -> None:
        sweep_stale_stages()
        self.path = Path(tempfile.mkdtemp(prefix=STAGE_PREFIX))
        # not per thread: the window checks in a worker thread and closes the plan in its own
        self._lock: FileLock | None = FileLock(str(self.path / _IN_USE), timeout=0,
                                               is_singleton=False, thread_local=False)
        try:
            self._lock.acquire()
        except NotImplementedError:  # a temporary folder without file locks: never swept
            self._lock = None
        except (Timeout, OSError) as exc:
            shutil.rmtree(self.path, ignore_errors=True)
            raise UserError(f"Der temporäre Ordner für die Prüfung des Bündels kann nicht "
                            f"angelegt werden ({exc}). Es wurde nichts geändert. Bitte versuchen "
                            "Sie es erneut.") from None

    def remove(self) -> None:
        try:
            if self._lock is not None:
                self._lock.release()
        finally:
            shutil.rmtree(self.path, ignore_errors=True)


def sweep_stale_stages(root: Path | None = None) -> int:
    """Remove the staging folders (in ``root``, by default the temporary folder) of imports
    that ended without cleaning up; how many. A folder whose lock is held belongs to an import
    that still runs (in this or another program) and stays; so does a folder of another user
    that cannot be locked or removed."""
    root = Path(tempfile.gettempdir()) if root is None else root
    removed = 0
    now = time.time()
    for folder in root.glob(STAGE_PREFIX + "*"):
        try:
            if folder.is_symlink() or not folder.is_dir():
                continue
            age = now - folder.stat().st_mtime
            lock_path = folder / _IN_USE
            if age < _YOUNG_SECONDS:
                continue
            if lock_path.exists():
                lock = FileLock(str(lock_path), timeout=0, is_singleton=False,
                                thread_local=False)
                lock.acquire()  # Timeout while its import lives
                lock.release()
            elif age < _UNLOCKED_GRACE_SECONDS:
                continue
        except (Timeout, OSError, NotImplementedError):
            continue
        shutil.rmtree(folder, ignore_errors=True)
        removed += not folder.exists()
    return removed


def stage_schema(spec: EntitySpec) -> str:
    """The staging table of an entity; rows arrive with ``x_action = 'new'``."""
    cols = ", ".join(f'"{c}"' for c in spec.columns)
    return (f"CREATE TABLE s_{spec.name} (x_rid INTEGER PRIMARY KEY, {cols}, x_siblings TEXT, "
            "x_action TEXT, x_category TEXT, x_reason TEXT, x_local_vv TEXT, x_line INTEGER)")


def create_stage(path: Path) -> sqlite3.Connection:
    con = sqlite3.connect(path.resolve().as_uri(), uri=True, isolation_level=None,
                          check_same_thread=False)
    # the largest pages: written once in bulk, then only scanned and looked up
    con.execute("PRAGMA page_size=65536")
    con.execute("PRAGMA journal_mode=OFF")
    con.execute("PRAGMA synchronous=OFF")
    con.execute("PRAGMA cache_size=-65536")
    con.execute("PRAGMA temp_store=FILE")
    con.execute("BEGIN")
    for entity in ENTITY_ORDER:
        # the unique index on id is built after the entry is staged (stage_records)
        con.execute(stage_schema(SPECS[entity]))
    con.execute("CREATE TABLE s_items (entity TEXT, record_id TEXT, category TEXT, "
                "office_key TEXT, label TEXT, reason TEXT, detail TEXT)")
    con.execute("CREATE TABLE s_changes (entity TEXT, record_id TEXT, action TEXT, "
                "field TEXT, old_value TEXT, new_value TEXT)")
    con.execute("CREATE TABLE s_conflicts (entity TEXT, record_id TEXT, office_key TEXT, "
                "field TEXT, kind TEXT, replica TEXT, counter INTEGER, value TEXT, "
                "winner_replica TEXT, winner_counter INTEGER)")
    con.execute("CREATE TABLE s_touched (entity TEXT, record_id TEXT)")
    con.execute("COMMIT")
    return con


#: Entries at least this large (uncompressed) are staged by worker processes, each entry whole
#: by one worker into a file of its own, several entries at once; smaller ones right here.
PARALLEL_MIN_BYTES = 8 * 1024**2
_PARENTS = frozenset(parent for _column, parent in OWNER_PARENT.values())
#: Rows per insert statement when staging (fewer where SQLite allows fewer values).
_ROWS_PER_INSERT = 50


def _validate_lines(validator: Validator, spec: EntitySpec, lines: list[bytes], line_no: int
                    ) -> tuple[list[list[Any]], str | None]:
    """Strict checks of complete lines, numbered from ``line_no + 1``: the staged rows, and the
    error of the first bad line (the rows before it are still returned).

    The reference implementation: :func:`integrationsplaner.exchange.fastlines.validate_lines`
    gives the same results faster and hands every line it cannot prove valid to this one."""
    rows: list[list[Any]] = []
    for raw in lines:
        line_no += 1
        if len(raw) > MAX_LINE_BYTES:
            return rows, f"Zeile {line_no} ist zu lang"
        try:
            values, sib = validator.row(spec, loads_line(raw.decode("utf-8")))
        except UnicodeDecodeError:
            return rows, f"Zeile {line_no}: kein gültiger UTF-8-Text"
        except _LineError as exc:
            return rows, f"Zeile {line_no}: {exc}"
        values.append(sib)
        values.append(line_no)
        rows.append(values)
    return rows, None


@dataclass
class Staged:
    """What staging learned on the way, so that planning need not scan the staged rows for it."""

    #: staged records that carry open conflict values (``siblings``)
    siblings: dict[str, int] = field(default_factory=dict)
    #: (office, replica) of every version-vector entry of the staged records
    pairs: dict[str, set[tuple[str, str]]] = field(default_factory=dict)
    #: children with a parent in the bundle of another office (set by check_references)
    owner_mismatch: set[str] = field(default_factory=set)


@dataclass
class _Entry:
    """What staging one records entry gave: its records, how many carry conflict values, the
    (office, replica) pairs of their version vectors."""

    records: int
    siblings: int
    pairs: set[tuple[str, str]]


def _stage_entry(con: sqlite3.Connection, path: Path, info: zipfile.ZipInfo, entity: str,
                 entry: dict[str, Any], validator: Validator, chunk: int,
                 tick: Callable[[int], bool] | None) -> _Entry:
    """Stream one records entry into ``s_<entity>`` of ``con``: hash, size, line limits, strict
    JSON, validation, then the unique id index (and a parent's owner index). Raises a
    BundleError naming the problem; a hash mismatch in preference to a line's error (a flipped
    byte makes a line invalid too, but the honest message is "damaged"). ``tick(records)``
    after every chunk: False cancels (ImportCancelled).

    The staging file has no journal and is thrown away whole when anything fails, so the rows
    are written in short transactions."""
    spec = SPECS[entity]
    name = info.orig_filename
    digest = hashlib.sha256()
    size = line_no = records = siblings = 0
    pairs: set[tuple[str, str]] = set()
    error: str | None = None
    batch: list[list[Any]] = []
    pending = b""
    try:
        with EntryReader(path, info) as handle:
            while data := handle.read(chunk):
                digest.update(data)
                size += len(data)
                if size > entry["size"] + chunk:
                    error = error or "Der Eintrag ist größer als im Manifest angegeben"
                    break
                if error is not None:
                    continue  # hashed to the end: "damaged" is reported before a line's error
                data = pending + data
                cut = data.rfind(b"\n")
                block, pending = data[:max(cut, 0)], data[cut + 1:]
                count = block.count(b"\n") + 1 if cut >= 0 else 0
                if len(pending) > MAX_LINE_BYTES:
                    error = f"Zeile {line_no + count + 1} ist zu lang"
                    pending = b""
                    continue
                if count:
                    rows, error = validate_lines(validator, spec, block.split(b"\n"), line_no,
                                                 pairs)
                    batch += rows
                    records += len(rows)
                    siblings += _with_siblings(rows)
                    if error is None and len(batch) >= 2000:
                        _insert(con, spec, batch)
                        batch = []
                line_no += count
                if tick is not None and tick(records) is False:
                    raise ImportCancelled()
    except READ_ERRORS:
        raise _damaged(path) from None
    if digest.hexdigest() != entry["sha256"] or size != entry["size"]:
        raise _damaged(path)
    if error is None and pending:
        error = f"Zeile {line_no + 1} ist nicht abgeschlossen (Zeilenende fehlt)"
    if error is not None:
        raise _fail(f"„{path.name}“, Eintrag {name}: {error}. Die Datei wird nicht "
                    "verarbeitet; bitten Sie den Absender, sie zu prüfen.")
    if batch:
        _insert(con, spec, batch)
    if records != entry["records"]:
        raise _fail(f"„{path.name}“: {name} enthält {records} Datensätze, das Manifest nennt "
                    f"{entry['records']}. Die Datei wird nicht verarbeitet.")
    _index_ids(con, entity, name)
    if entity in _PARENTS:
        _index_owners(con, entity)
    return _Entry(records, siblings, pairs)


def _with_siblings(rows: list[list[Any]]) -> int:
    """How many validated rows carry conflict values (``x_siblings``, the last but one)."""
    return sum(1 for row in rows if row[-2] is not None)


# --- worker processes: each stages whole entries into files of its own -----------------------

_worker_validator: Validator | None = None
_worker_progress: Any = None  # records staged by all workers (a shared counter)
_worker_cancel: Any = None  # set by the importing process when the user cancels


def _worker_init(offices: frozenset[str], areas: frozenset[int], concepts: frozenset[str],
                 progress: Any, cancel: Any) -> None:
    global _worker_validator, _worker_progress, _worker_cancel
    _worker_validator = Validator.of(offices, areas, concepts)
    _worker_progress, _worker_cancel = progress, cancel


def _worker_stage_entry(path: str, info: zipfile.ZipInfo, entity: str, entry: dict[str, Any],
                        part: str, chunk: int) -> tuple[str, Any]:
    """Stage one entry in a worker into the new file ``part`` (a staging table alike, with its
    indexes); ``("ok", _Entry)``, ``("refused", message)`` or ``("cancelled", None)``.

    The importing process then copies the table with its indexes into the staging database
    in one statement, which SQLite does by copying the stored rows and index entries as they
    are. Before, the workers sent back their rows a chunk at a time, which this process copied
    row by row: about 6 s of CPU more for 1.2 million records, on the same two cores."""
    assert _worker_validator is not None
    staged = 0

    def tick(records: int) -> bool:
        nonlocal staged
        with _worker_progress.get_lock():
            _worker_progress.value += records - staged
        staged = records
        return not _worker_cancel.value

    con = _create_part(Path(part), entity)
    try:
        return "ok", _stage_entry(con, Path(path), info, entity, entry, _worker_validator, chunk,
                                  tick)
    except BundleError as exc:
        return "refused", exc.message
    except ImportCancelled:
        return "cancelled", None
    finally:
        con.close()


def _create_part(path: Path, entity: str) -> sqlite3.Connection:
    con = sqlite3.connect(path, isolation_level=None)
    con.execute("PRAGMA page_size=65536")
    con.execute("PRAGMA journal_mode=OFF")
    con.execute("PRAGMA synchronous=OFF")
    con.execute("PRAGMA cache_size=-16384")
    con.execute("PRAGMA temp_store=FILE")
    con.execute(stage_schema(SPECS[entity]))
    return con


def _can_fork() -> bool:
    """Worker processes only on Linux, where they are forked from a fork server: a clean
    process started for that, not this one, whose other threads (the window's background
    loads) may hold SQLite's locks at the moment of a fork. (A spawned worker of a frozen
    Windows program would start the program again, and forking is unsafe on macOS.)"""
    import multiprocessing
    import sys

    return (sys.platform.startswith("linux")
            and "forkserver" in multiprocessing.get_all_start_methods())


def multiprocessing_context() -> Any:
    """The start method of the workers (see _can_fork)."""
    import multiprocessing

    return multiprocessing.get_context("forkserver")


@dataclass
class _Workers:
    pool: Any  # ProcessPoolExecutor
    progress: Any  # records staged by the workers so far (multiprocessing.Value)
    cancel: Any  # set to stop them (multiprocessing.Value)


def _workers(validator: Validator) -> _Workers:
    import os
    from concurrent.futures import ProcessPoolExecutor

    context = multiprocessing_context()
    progress, cancel = context.Value("q", 0), context.Value("b", 0, lock=False)
    count = max(1, min(4, os.cpu_count() or 1))
    pool = ProcessPoolExecutor(count, mp_context=context, initializer=_worker_init,
                               initargs=(validator.offices, validator.areas, validator.concepts,
                                         progress, cancel))
    return _Workers(pool, progress, cancel)


def stage_records(
    ws: Workspace,
    header: BundleHeader,
    con: sqlite3.Connection,
    progress: Progress | None = None,
) -> Staged:
    """Stream every records entry into the staging database (see _stage_entry), the large ones
    by worker processes at once, the largest first (so that the last one to finish is small),
    the others right here; the first problem in the order of the entries is reported."""
    from concurrent.futures import TimeoutError as FutureTimeout

    validator = Validator(ws)
    staged = Staged()
    total = sum(header.counts.values()) or 1
    folder = Path(con.execute("PRAGMA database_list").fetchone()[2]).parent
    zf = check_container(header.path)
    work = [(entity, ENTRY_OF[entity], header.entries[ENTRY_OF[entity]])
            for entity in ENTITY_ORDER if ENTRY_OF[entity] in header.entries]
    large = [item for item in work if item[2]["size"] >= PARALLEL_MIN_BYTES] if _can_fork() else []
    workers: _Workers | None = None
    futures: dict[str, Any] = {}
    here = 0  # records staged in this process

    def report() -> None:
        done = here + (workers.progress.value if workers is not None else 0)
        if progress is not None and progress(done, total) is False:
            raise ImportCancelled()

    try:
        if large:
            workers = _workers(validator)
            for entity, name, entry in sorted(large, key=lambda item: -item[2]["size"]):
                futures[entity] = workers.pool.submit(
                    _worker_stage_entry, str(header.path), zf.getinfo(name), entity, entry,
                    str(folder / f"part-{entity}.sqlite"), _CHUNK)
        for entity, name, entry in work:
            if entity in futures:
                while True:
                    try:
                        kind, result = futures[entity].result(timeout=0.1)
                        break
                    except FutureTimeout:
                        report()
                if kind != "ok":
                    raise _fail(result)
                _take_part(con, entity, folder / f"part-{entity}.sqlite")
            else:
                start = here

                def tick(records: int, start: int = start) -> bool:
                    nonlocal here
                    here = start + records
                    try:
                        report()
                    except ImportCancelled:
                        return False
                    return True

                result = _stage_entry(con, header.path, zf.getinfo(name), entity, entry,
                                      validator, _CHUNK, tick)
                here = start + result.records
            staged.siblings[entity] = result.siblings
            staged.pairs[entity] = result.pairs
            report()
        for entity in ENTITY_ORDER:  # entities without an entry: empty, indexed all the same
            if not any(item[0] == entity for item in work):
                con.execute(f"CREATE UNIQUE INDEX s_{entity}_id ON s_{entity}(id)")
                if entity in _PARENTS:
                    _index_owners(con, entity)
    except BrokenProcessPool:
        raise UserError("Die Prüfung des Bündels wurde unterbrochen: ein Hilfsprozess wurde "
                        "unerwartet beendet (zu wenig Arbeitsspeicher?). Es wurde nichts "
                        "geändert. Bitte versuchen Sie es erneut.") from None
    finally:
        zf.close()
        if workers is not None:
            workers.cancel.value = 1  # the others stop at their next chunk
            workers.pool.shutdown(wait=True, cancel_futures=True)
    return staged


def _take_part(con: sqlite3.Connection, entity: str, part: Path) -> None:
    """Copy a worker's staged entry with its indexes into the (empty) table of the staging
    database: the indexes first, so that SQLite copies rows and index entries as they are
    stored (its "transfer optimisation"), then remove the file."""
    con.execute(f"CREATE UNIQUE INDEX s_{entity}_id ON s_{entity}(id)")
    if entity in _PARENTS:
        _index_owners(con, entity)
    con.execute("ATTACH DATABASE ? AS part", (str(part),))
    try:
        con.execute(f"INSERT INTO main.s_{entity} SELECT * FROM part.s_{entity}")
    finally:
        con.execute("DETACH DATABASE part")
    part.unlink(missing_ok=True)


def _index_ids(con: sqlite3.Connection, entity: str, name: str) -> None:
    """The unique index on the staged ids, built in one sorted pass once the entry is staged
    (random UUIDs inserted into a live index would scatter the writes); an id that occurs twice
    is reported at its second line."""
    try:
        con.execute(f"CREATE UNIQUE INDEX s_{entity}_id ON s_{entity}(id)")
    except sqlite3.IntegrityError:
        row = con.execute(
            f"WITH d AS (SELECT id, min(x_rid) AS first FROM s_{entity} GROUP BY id HAVING "
            f"count(*) > 1) SELECT s.x_line, s.id FROM s_{entity} s JOIN d ON d.id = s.id "
            "WHERE s.x_rid > d.first ORDER BY s.x_rid LIMIT 1").fetchone()
        raise _fail(f"Eintrag {name}, Zeile {row[0]}: die Datensatz-ID {row[1]} kommt mehrfach "
                    f"vor ({ENTITY_LABELS[entity]}). Die Datei wird nicht verarbeitet.") from None


def _index_owners(con: sqlite3.Connection, parent: str) -> None:
    """The owner check of every child record looks up its parent's office: from this index
    alone, not from the (large) staged row."""
    con.execute(f"CREATE INDEX s_{parent}_owner ON s_{parent}(id, office_key)")


def _insert(con: sqlite3.Connection, spec: EntitySpec, batch: list[list[Any]]) -> None:
    """Stage the validated rows of ``batch`` (ids may still repeat: _index_ids finds that).

    If none of them has conflict values, that column is left NULL instead of binding None:
    Python binds None through its adapter lookup, ten times the cost of another value (about
    3 s of a state-scale import). Those rows go in many per statement, a sixth cheaper than
    one per statement."""
    cols = ", ".join(f'"{c}"' for c in spec.columns)
    con.execute("BEGIN")
    try:
        if _with_siblings(batch):
            n = len(spec.columns) + 2
            marks = ", ".join(f"?{i}" for i in range(1, n + 1))
            con.executemany(
                f"INSERT INTO s_{spec.name} ({cols}, x_siblings, x_line, x_action, x_category) "
                f"VALUES ({marks}, 'new', CASE WHEN ?{n - 1} IS NULL THEN 'new' ELSE "
                "'conflict' END)", batch)
            return
        for row in batch:
            del row[-2]
        width = len(spec.columns) + 1
        one = "(" + "?, " * width + "'new', 'new')"
        sql = f"INSERT INTO s_{spec.name} ({cols}, x_line, x_action, x_category) VALUES "
        per = max(1, min(_ROWS_PER_INSERT,
                         con.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER) // width))
        whole = len(batch) - len(batch) % per
        if whole:
            flat = [value for row in batch[:whole] for value in row]
            step = width * per
            con.executemany(sql + ", ".join([one] * per),
                            [flat[i:i + step] for i in range(0, len(flat), step)])
        con.executemany(sql + one, batch[whole:])
    finally:
        con.execute("COMMIT")
