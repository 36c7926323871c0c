"""Opening, creating, locking, backing up and migrating the SQLite database file.

Every check that can refuse a file runs before anything is written to it, so a file that is not
ours, is truncated, corrupt, locked or from a newer version keeps its exact bytes.

Opening an up-to-date file needs no SQLAlchemy: the checks, the lock and the meta table use the
plain sqlite3 driver, and :class:`Database` builds its engine on first use. Importing SQLAlchemy
and the ORM mappings takes about 0.6 s, so the program can show the first rows of its list
before that (see ``ui.app``).
"""

from __future__ import annotations

import os
import sqlite3
import struct
import sys
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from filelock import FileLock, Timeout

from integrationsplaner.errors import (
    DatabaseError,
    DatabaseLockedError,
    NewerDatabaseError,
    UserError,
)
from integrationsplaner.store.migrations import KNOWN_REVISIONS, SCHEMA_HEAD

if TYPE_CHECKING:
    from sqlalchemy import Engine
    from sqlalchemy.orm import Session, sessionmaker

#: ``PRAGMA application_id`` of our files ("IPLN"), so a foreign SQLite file is told apart cheaply.
APPLICATION_ID = 0x49504C4E
SQLITE_MAGIC = b"SQLite format 3\x00"
BACKUP_DIR = "Sicherungen"


def utcnow() -> datetime:
    """Current UTC time without tzinfo (how every timestamp is stored)."""
    return datetime.now(UTC).replace(tzinfo=None, microsecond=0)


def _set_pragmas(dbapi_connection: sqlite3.Connection, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def make_engine(path: Path, *, readonly: bool = False) -> Engine:
    from sqlalchemy import create_engine, event

    if readonly:
        return create_engine(f"sqlite+pysqlite:///file:{path.resolve()}?mode=ro&uri=true")
    engine = create_engine(f"sqlite+pysqlite:///{path}", future=True)
    event.listen(engine, "connect", _set_pragmas)
    return engine


def _read_only_uri(path: Path) -> str:
    return f"{path.resolve().as_uri()}?mode=ro"


def _describe(path: Path) -> str:
    return f"„{path}“"


def inspect_file(path: Path) -> None:
    """Refuse anything that is not a whole Integrationsplaner database, reading only."""
    if not path.exists():
        raise DatabaseError(
            f"Die Datenbank {_describe(path)} gibt es nicht. Prüfen Sie den Pfad oder legen Sie "
            "mit „integrationsplaner init“ eine neue Datenbank an."
        )
    if path.is_dir():
        raise DatabaseError(f"{_describe(path)} ist ein Ordner, keine Datenbankdatei.")
    try:
        with path.open("rb") as handle:
            header = handle.read(100)
        size = path.stat().st_size
    except PermissionError:
        raise DatabaseError(
            f"Die Datei {_describe(path)} darf nicht gelesen werden. Bitten Sie die IT, Ihnen "
            "Lese- und Schreibrechte zu geben."
        ) from None
    if len(header) < 100 or not header.startswith(SQLITE_MAGIC):
        raise DatabaseError(
            f"{_describe(path)} ist keine Integrationsplaner-Datenbank (keine SQLite-Datei). "
            "Wählen Sie die richtige Datei (Endung .sqlite) oder legen Sie eine neue an."
        )
    (page_size,) = struct.unpack(">H", header[16:18])
    page_size = 65536 if page_size == 1 else page_size
    change_counter, page_count = struct.unpack(">II", header[24:32])
    (valid_for,) = struct.unpack(">I", header[92:96])
    (application_id,) = struct.unpack(">I", header[68:72])
    if valid_for == change_counter and size < page_size * page_count and not _journal_of(
            path).exists():  # with a rollback journal the header is not the last word
        raise DatabaseError(
            f"Die Datenbank {_describe(path)} ist unvollständig (abgeschnitten, {size:,} statt "
            f"{page_size * page_count:,} Bytes). Spielen Sie eine Sicherung aus dem Ordner "
            f"„{BACKUP_DIR}“ zurück.".replace(",", ".")
        )
    if application_id != APPLICATION_ID:
        raise DatabaseError(
            f"{_describe(path)} ist eine SQLite-Datei, aber keine Integrationsplaner-Datenbank. "
            "Wählen Sie die richtige Datei."
        )


def _journal_of(path: Path) -> Path:
    return path.with_name(path.name + "-journal")


def _recover_interrupted_write(path: Path) -> None:
    """Roll back a write transaction that was interrupted while the database had a rollback
    journal (a large first import of the command line, importer._rollback_journal, killed or cut
    off by a power failure): SQLite does it on the first read of a connection that may write,
    and until then a read-only connection cannot read the file at all. Only while nobody else
    has the database open (the caller holds the lock file)."""
    if not _journal_of(path).exists():
        return
    with suppress(sqlite3.Error):  # not our file, or not writable: reported later
        con = sqlite3.connect(str(path), timeout=5)
        try:
            con.execute("PRAGMA schema_version").fetchone()
            con.execute("PRAGMA journal_mode=WAL")  # the program's mode again
        finally:
            con.close()


def read_revision(path: Path) -> str:
    """The schema revision of the file, read in read-only mode."""
    try:
        con = sqlite3.connect(_read_only_uri(path), uri=True)
        try:
            row = con.execute("SELECT version_num FROM alembic_version").fetchone()
        finally:
            con.close()
    except (sqlite3.DatabaseError, UnicodeDecodeError) as exc:
        text = str(exc)
        if "locked" in text or "busy" in text:
            raise DatabaseLockedError(
                f"Die Datenbank {_describe(path)} ist gerade gesperrt. Schließen Sie andere "
                "Programme, die sie verwenden, und versuchen Sie es erneut."
            ) from None
        raise DatabaseError(
            f"Die Datenbank {_describe(path)} ist beschädigt oder unlesbar ({text}). Spielen Sie "
            f"eine Sicherung aus dem Ordner „{BACKUP_DIR}“ zurück."
        ) from None
    if row is None:
        raise DatabaseError(f"Die Datenbank {_describe(path)} hat keine Schemaversion.")
    return str(row[0])


def _check_writable(path: Path) -> None:
    folder = path.parent if path.parent != Path("") else Path(".")
    if not os.access(folder, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise DatabaseError(
            f"Der Speicherort von {_describe(path)} ist schreibgeschützt. Kopieren Sie die "
            "Datenbank in einen Ordner, in dem Sie schreiben dürfen (z. B. Ihre Dokumente), "
            "oder öffnen Sie sie nur zum Prüfen."
        )


def _acquire_lock(path: Path) -> FileLock:
    lock = FileLock(str(path) + ".lock", timeout=0, is_singleton=False)
    try:
        lock.acquire()
    except Timeout:
        raise DatabaseLockedError(
            f"Die Datenbank {_describe(path)} wird bereits von einem anderen laufenden "
            "Integrationsplaner verwendet. Schließen Sie das andere Fenster oder warten Sie, bis "
            "dessen Vorgang beendet ist."
        ) from None
    except OSError as exc:
        raise DatabaseError(
            f"Die Sperrdatei für {_describe(path)} kann nicht angelegt werden ({exc.strerror}). "
            "Ist der Speicherort schreibgeschützt?"
        ) from None
    return lock


@contextmanager
def _storage_errors(path: Path) -> Iterator[None]:
    """Turn storage failures a user can act on (corrupt file, lock, full disk) into German
    messages; everything else stays a bug and reaches the crash handler."""
    try:
        yield
    except UnicodeDecodeError:
        raise DatabaseError(
            f"Die Datenbank {_describe(path)} ist beschädigt (unlesbarer Text). Spielen Sie eine "
            f"Sicherung aus dem Ordner „{BACKUP_DIR}“ zurück.") from None
    except Exception as exc:
        original = _driver_error(exc)
        if original is None:
            raise
        text = str(original).lower()
        if isinstance(original, sqlite3.IntegrityError):
            raise
        if "locked" in text or "busy" in text:
            raise DatabaseLockedError(
                f"Die Datenbank {_describe(path)} ist gerade durch einen anderen Vorgang "
                "gesperrt. Bitte versuchen Sie es in einem Moment erneut.") from None
        if "disk is full" in text or "database or disk is full" in text:
            raise DatabaseError(
                f"Auf dem Laufwerk von {_describe(path)} ist kein Platz mehr. Schaffen Sie Platz "
                "und wiederholen Sie den Vorgang; es wurde nichts gespeichert.") from None
        if "malformed" in text or "not a database" in text or "corrupt" in text:
            raise DatabaseError(
                f"Die Datenbank {_describe(path)} ist beschädigt ({original}). Spielen Sie eine "
                f"Sicherung aus dem Ordner „{BACKUP_DIR}“ zurück.") from None
        raise


def _driver_error(exc: BaseException) -> BaseException | None:
    """The driver error behind ``exc``, or None when it is none. SQLAlchemy wraps driver errors
    (``DBAPIError.orig``); code that reads through the driver directly (the measure list) sees
    sqlite3's own. SQLAlchemy is asked only once loaded: before that no error can be its own."""
    if isinstance(exc, sqlite3.DatabaseError):
        return exc
    sa_exc = sys.modules.get("sqlalchemy.exc")
    if sa_exc is not None and isinstance(exc, sa_exc.DBAPIError):
        return exc.orig
    return None


class Database:
    """An open database file: instance lock, identity facts, and (built on first use) the
    SQLAlchemy engine and session factory."""

    def __init__(self, path: Path, lock: FileLock | None, *, readonly: bool = False) -> None:
        self.path = path
        self.readonly = readonly
        self._lock = lock
        self._engine: Engine | None = None
        self._sessions: sessionmaker[Session] | None = None
        self._building = threading.RLock()  # background tasks may be first to ask for the engine
        self._owner = threading.get_ident()
        self._reader: sqlite3.Connection | None = None
        self.meta = self._read_meta()

    def _read_meta(self) -> dict[str, str]:
        with self.reader() as con:
            return dict(con.execute("SELECT key, value FROM meta"))

    @property
    def engine(self) -> Engine:
        """The SQLAlchemy engine; the first call imports SQLAlchemy."""
        with self._building:
            if self._engine is None:
                self._engine = make_engine(self.path, readonly=self.readonly)
            return self._engine

    @property
    def sessions(self) -> sessionmaker[Session]:
        with self._building:
            if self._sessions is None:
                from sqlalchemy.orm import sessionmaker

                self._sessions = sessionmaker(self.engine, expire_on_commit=False)
            return self._sessions

    @contextmanager
    def reader(self) -> Iterator[sqlite3.Connection]:
        """A read-only connection of the plain sqlite3 driver, for reads that must not wait for
        SQLAlchemy (the first rows at start-up) or would pay for its row objects (the list
        index). The thread that opened the database keeps one until :meth:`close` (opening one
        and reading the schema costs 1–2 ms, noticeable per keystroke of a search); other
        threads get one for this use."""
        with _storage_errors(self.path):
            if threading.get_ident() != self._owner:
                con = sqlite3.connect(_read_only_uri(self.path), uri=True)
                try:
                    yield con
                finally:
                    con.close()
                return
            if self._reader is None:
                self._reader = sqlite3.connect(_read_only_uri(self.path), uri=True,
                                               check_same_thread=False)
            yield self._reader

    @property
    def office_key(self) -> str:
        return self.meta["office_key"]

    @property
    def replica_id(self) -> str:
        return self.meta["replica_id"]

    def set_meta(self, session: Session, key: str, value: str) -> None:
        from integrationsplaner.store.models import Meta

        session.execute(
            Meta.__table__.insert().prefix_with("OR REPLACE"), {"key": key, "value": value}
        )
        self.meta[key] = value

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """One unit of work: commit on success, roll back everything on any error."""
        with _storage_errors(self.path), self.sessions() as session, session.begin():
            yield session

    @contextmanager
    def read(self) -> Iterator[Session]:
        with _storage_errors(self.path), self.sessions() as session:
            yield session

    def backup_path(self, reason: str, suffix: str) -> Path:
        """A new file name in ``Sicherungen/`` beside the database: name, time, reason."""
        folder = self.path.parent / BACKUP_DIR
        folder.mkdir(exist_ok=True)
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        target = folder / f"{self.path.stem}.{stamp}.{reason}{suffix}"
        n = 1
        while target.exists():
            n += 1
            target = folder / f"{self.path.stem}.{stamp}-{n}.{reason}{suffix}"
        return target

    def backup(self, reason: str) -> Path:
        """A consistent copy (SQLite backup API) in ``Sicherungen/`` beside the file.

        The copy is marked so that, if it is ever restored and opened, it takes a new replica id
        (a restored backup must not reuse the identity whose later changes others already have).
        """
        target = self.backup_path(reason, ".sqlite")
        source = sqlite3.connect(str(self.path))
        dest = sqlite3.connect(str(target))
        try:
            source.backup(dest)
            dest.execute(
                "INSERT OR REPLACE INTO meta(key, value) VALUES ('restored_backup', ?)",
                (self.meta.get("replica_id", ""),),
            )
            dest.commit()
        except BaseException:
            dest.close()
            target.unlink(missing_ok=True)  # no half copy that looks like a backup
            raise
        finally:
            dest.close()
            source.close()
        return target

    def release_connections(self) -> None:
        """Close the idle connections (the pool's, and the reader of the thread that opened the
        database); they are opened again on next use. Call from the thread that opened it."""
        if self._reader is not None:
            self._reader.close()
            self._reader = None
        if self._engine is not None:
            self._engine.dispose()

    def close(self) -> None:
        if self._reader is not None:
            self._reader.close()
            self._reader = None
        if self._engine is not None:
            self._engine.dispose()
        if self._lock is not None:
            self._lock.release()
            self._lock = None

    def __enter__(self) -> Database:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


def _migrate(path: Path, from_revision: str | None) -> None:
    from integrationsplaner.store.migrations import upgrade

    upgrade(path, from_revision)


def open_database(path: Path | str, *, readonly: bool = False) -> Database:
    """Open an existing database: check, lock, back up and migrate if needed.

    ``readonly`` opens without lock or migration (for ``check`` and viewing a foreign file).
    """
    path = Path(path)
    inspect_file(path)
    if not readonly:
        _check_writable(path)
    lock = None if readonly else _acquire_lock(path)
    try:
        if lock is not None:
            _recover_interrupted_write(path)
        elif _journal_of(path).exists():
            try:
                probe = _acquire_lock(path)
            except DatabaseError:  # in use by another program, or a folder without write access
                pass
            else:
                try:
                    _recover_interrupted_write(path)
                finally:
                    probe.release()
        revision = read_revision(path)
        if revision not in KNOWN_REVISIONS:
            raise NewerDatabaseError(
                f"Die Datenbank {_describe(path)} wurde mit einer neueren Version des "
                f"Integrationsplaners geschrieben (Schema „{revision}“). Bitte installieren Sie "
                "die aktuelle Version; die Datei bleibt unverändert."
            )
        if readonly:
            return Database(path, None, readonly=True)
        if revision != SCHEMA_HEAD:
            _backup_file(path, f"vor-update-{revision}")
            _migrate(path, revision)
        db = Database(path, lock)
    except BaseException:
        if lock is not None:
            lock.release()
        raise
    if "restored_backup" in db.meta:
        from integrationsplaner.store.models import Meta

        with db.transaction() as session:
            db.set_meta(session, "replica_id", new_replica_id())
            session.execute(Meta.__table__.delete().where(Meta.key == "restored_backup"))
        db.meta.pop("restored_backup", None)
    return db


def _backup_file(path: Path, reason: str) -> Path:
    """Backup of a file that is not open yet (before a migration)."""
    folder = path.parent / BACKUP_DIR
    folder.mkdir(exist_ok=True)
    target = folder / f"{path.stem}.{datetime.now().strftime('%Y%m%d-%H%M%S')}.{reason}.sqlite"
    source = sqlite3.connect(_read_only_uri(path), uri=True)
    dest = sqlite3.connect(str(target))
    try:
        source.backup(dest)
    finally:
        dest.close()
        source.close()
    return target


def new_replica_id() -> str:
    return uuid.uuid4().hex[:16]


#: Page size of new databases (bytes). Larger than SQLite's 4096: a measure with its texts fills
#: most of a 4 KiB page, and an import or export of state scale moves about a gigabyte; with
#: 16 KiB pages a first import of 100,000 measures writes its tables and indexes about 3 s
#: (a fifth) faster. Existing databases keep theirs (changing it needs a VACUUM).
PAGE_SIZE = 16384


def create_database(path: Path | str, office_key: str) -> Database:
    """Create a new, empty database for ``office_key`` with reference data and open it."""
    from integrationsplaner.domain.reference import load_reference
    from integrationsplaner.store.migrations import upgrade
    from integrationsplaner.store.models import Meta
    from integrationsplaner.store.reference import sync_reference

    path = Path(path)
    reference = load_reference()
    reference.office(office_key)  # refuses unknown keys before anything is written
    if path.exists():
        raise UserError(
            f"{_describe(path)} gibt es bereits. Wählen Sie einen anderen Dateinamen; eine "
            "bestehende Datenbank wird nie überschrieben."
        )
    if not path.parent.exists():
        try:
            path.parent.mkdir(parents=True)
        except OSError as exc:
            raise DatabaseError(
                f"Der Ordner {path.parent} kann nicht angelegt werden ({exc.strerror})."
            ) from None
    _check_writable(path)
    lock = _acquire_lock(path)
    try:
        try:
            con = sqlite3.connect(str(path))
            con.execute(f"PRAGMA page_size={PAGE_SIZE}")  # before anything is written
            con.execute(f"PRAGMA application_id={APPLICATION_ID}")
            con.execute("PRAGMA journal_mode=WAL")
            con.close()
            upgrade(path, None)
            con = sqlite3.connect(str(path))
            con.execute("VACUUM")  # the pages of what later migrations dropped (milliseconds)
            con.close()
        except BaseException:
            for suffix in ("", "-wal", "-shm"):
                Path(str(path) + suffix).unlink(missing_ok=True)
            raise
        db = Database(path, lock)
        with db.transaction() as session:
            sync_reference(session, reference)
            for key, value in (
                ("office_key", office_key),
                ("replica_id", new_replica_id()),
                ("created_at", utcnow().isoformat()),
            ):
                session.add(Meta(key=key, value=value))
        db.meta = db._read_meta()
        return db
    except BaseException:
        lock.release()
        raise

