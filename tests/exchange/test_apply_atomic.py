"""Applying an import is all or nothing, and it applies exactly what the preview showed.

1. An exception at any point of :func:`~integrationsplaner.exchange.importer.apply_import`
   leaves the database file byte for byte as it was. The SQL statements of the apply
   connection are counted in a successful apply first (a stand-in for ``sqlite3`` inside the
   importer wraps its connection and cursors); then the apply fails at statement k, for every
   k from the first statement to the last (bulk_load's entry and exit, the rollback file's
   queries, the COMMIT and the best-effort statements after it included). Checked each time:
   a clean error (a :class:`UserError` without a chained sqlite3 traceback, or the injected
   exception itself), the SHA-256 of the database file after a ``wal_checkpoint(TRUNCATE)`` on
   a separate connection, no rollback file of the failed import in ``Sicherungen``, and (after
   the first and last failure of each phase) that a normal import of the same bundle gives the
   same database as a target that never failed. Situations: a Kreis database with records,
   open conflicts and exchange bookkeeping that imports a bundle with new, changed, deleted,
   conflicting, known, locally newer and refused records; and first imports into a fresh
   database that take the bulk path (``BULK_MIN_RECORDS`` lowered), one of them insert-only
   (foreign keys checked after loading). With the rollback-file backup and with the
   database-copy backup (``ROLLBACK_FILE_LIMIT`` lowered). Besides: other exception types and
   the after-records seam, failures of the rollback file's own file operations, a real
   "database or disk is full" (``PRAGMA max_page_count``), and the command line.
2. The preview equals what is applied: the staged plan (planned action and values of every
   record), the counts, the items with their field diffs, the audit entries and the listed
   conflicts, compared with the database after the apply, column by column; for the rich
   situation, and for drawn ones (hypothesis) of two PCs changing the same records.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import sqlite3
import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as hst

from integrationsplaner.cli import main
from integrationsplaner.domain.model import (
    BudgetLineData,
    ContactData,
    IndicatorData,
    MilestoneData,
    ParticipationData,
    PartnerData,
)
from integrationsplaner.errors import UserError
from integrationsplaner.exchange import importer, rollback
from integrationsplaner.exchange.conflicts import list_conflicts
from integrationsplaner.exchange.export import export_bundle
from integrationsplaner.exchange.format import (
    ENTITY_ORDER,
    SPECS,
    TABLE_OF,
    decode_stored,
    escape_display,
)
from integrationsplaner.exchange.importer import apply_import, prepare_import
from integrationsplaner.exchange.plan import ImportPlan
from integrationsplaner.exchange.planning import CATEGORIES, CREATE, DELETED_OTHER
from integrationsplaner.services import evaluations, measures, partners
from integrationsplaner.services.workspace import Workspace, open_workspace
from integrationsplaner.store.database import BACKUP_DIR, PAGE_SIZE

from .helpers import (
    edit_measure,
    exchange,
    make_ws,
    new_measure,
    private_key,
    read_bundle,
    trust_all,
    write_bundle,
)

TARGET_USER = "kreis-sachbearbeitung"
INJECTED = "eingeschleuster Fehler"


# --- counting and failing the statements of the apply connection -----------------------------


@dataclass
class Statement:
    number: int
    caller: str  # qualified name of the function that executed it
    sql: str


def _injected_database_error() -> BaseException:
    return sqlite3.OperationalError(INJECTED)


@dataclass
class Trap:
    """Counts the statements that apply_import's own connection executes and raises
    ``error()`` instead of executing statement number ``fail_at`` (or the first statement
    that ``fail_if`` accepts)."""

    fail_at: int | None = None
    error: Callable[[], BaseException] = _injected_database_error
    fail_if: Callable[[Statement], bool] | None = None
    on_connect: Callable[[sqlite3.Connection], None] | None = None
    on_statement: Callable[[Statement], None] | None = None  # before each statement
    log: list[Statement] = field(default_factory=list)
    fired: bool = False

    def before(self, sql: str) -> None:
        # frames: 0 = before, 1 = the proxy's execute, 2 = the code that executes the statement
        caller = sys._getframe(2).f_code.co_qualname
        st = Statement(len(self.log) + 1, caller, " ".join(sql.split()))
        self.log.append(st)
        if self.on_statement is not None:
            self.on_statement(st)
        if not self.fired and (st.number == self.fail_at
                               or (self.fail_if is not None and self.fail_if(st))):
            self.fired = True
            raise self.error()


class _TrappedCursor:
    def __init__(self, cursor: sqlite3.Cursor, trap: Trap) -> None:
        self._cursor = cursor
        self._trap = trap

    def execute(self, sql: str, *args: Any) -> sqlite3.Cursor:
        self._trap.before(sql)
        return self._cursor.execute(sql, *args)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._cursor, name)


class _TrappedConnection:
    def __init__(self, con: sqlite3.Connection, trap: Trap) -> None:
        self._con = con
        self._trap = trap

    def execute(self, sql: str, *args: Any) -> sqlite3.Cursor:
        self._trap.before(sql)
        return self._con.execute(sql, *args)

    def cursor(self) -> _TrappedCursor:
        return _TrappedCursor(self._con.cursor(), self._trap)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._con, name)


class _Sqlite3WithTrap:
    """Stands in for the ``sqlite3`` module inside the importer only (the backup copy, the
    workspace and the staging database keep the real one)."""

    def __init__(self, trap: Trap) -> None:
        self._trap = trap

    def connect(self, *args: Any, **kwargs: Any) -> _TrappedConnection:
        con = sqlite3.connect(*args, **kwargs)
        if self._trap.on_connect is not None:
            self._trap.on_connect(con)
        return _TrappedConnection(con, self._trap)

    def __getattr__(self, name: str) -> Any:
        return getattr(sqlite3, name)


def _phases(log: list[Statement]) -> list[str]:
    """Where each statement of a successful apply runs: setup (pragmas, attach, the choice of
    the bulk path), begin, rollback-file, write, bulk-enter, bulk-exit, fk-check (after an
    insert-only bulk load), commit, after-commit."""
    result = []
    state = "setup"
    bulk_seen = body_seen = False
    for st in log:
        if st.sql == "BEGIN IMMEDIATE":
            phase, state = "begin", "transaction"
        elif st.sql == "COMMIT":
            phase, state = "commit", "committed"
        elif state == "committed":
            phase = "after-commit"
        elif st.caller.startswith("_write_rollback_"):
            phase = "rollback-file"
        elif st.caller == "_check_foreign_keys":
            phase = "fk-check"
        elif st.caller.startswith("bulk_load"):  # its comprehensions too
            bulk_seen = True
            phase = "bulk-exit" if body_seen else "bulk-enter"
        elif state == "setup":
            phase = "setup"
        else:
            phase = "write"
            body_seen = body_seen or (bulk_seen and st.caller == "_write")
        result.append(phase)
    return result


# --- the database file, the backups folder and the state after an import --------------------


def _db_digest(path: Path, *, counter: bool = True) -> str:
    """SHA-256 of the database file after the committed frames of the write-ahead log are in
    it (frames of a transaction that never committed stay in the log and are never copied).

    ``counter=False``: without the change counter of the header (bytes 24-27 and 92-95), which
    SQLite counts up when an import of the command line switches the journal mode for its
    transaction and back (importer._rollback_journal), whether the import succeeds or not."""
    con = sqlite3.connect(path)
    try:
        busy, _frames, _done = con.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    finally:
        con.close()
    assert busy == 0, "the checkpoint was blocked by a reader"
    data = bytearray(path.read_bytes())
    if not counter:
        data[24:28] = data[92:96] = bytes(4)
    return hashlib.sha256(data).hexdigest()


def _backups(db: Path) -> set[str]:
    folder = db.parent / BACKUP_DIR
    return {p.name for p in folder.iterdir()} if folder.exists() else set()


#: Columns that hold the time of the import (they differ between two applications).
_TIME_COLUMNS = {"audit_log": ("at",), "exchange_conflicts": ("detected_at",),
                 "exchange_received": ("updated_at",), "exchange_acks": ("updated_at",),
                 "exchange_replicas": ("first_seen",), "exchange_keys": ("added_at",),
                 "exchange_log": ("at",)}


def _final_state(db: Path) -> dict[str, Any]:
    """Every row an import writes, raw (row keys included), without the time of the import;
    the schema objects (the bulk path drops and recreates indexes and triggers)."""
    tables = [TABLE_OF[e] for e in ENTITY_ORDER] + [
        "exchange_journal", "exchange_conflicts", "exchange_received", "exchange_acks",
        "exchange_replicas", "exchange_keys", "exchange_log", "audit_log"]
    con = sqlite3.connect(f"{db.resolve().as_uri()}?mode=ro", uri=True)
    try:
        state: dict[str, Any] = {}
        for table in tables:
            cur = con.execute(f"SELECT * FROM {table} ORDER BY rowid")
            names = [d[0] for d in cur.description]
            skip = _TIME_COLUMNS.get(table, ())
            state[table] = [{n: v for n, v in zip(names, row, strict=True) if n not in skip}
                            for row in cur]
        state["schema"] = sorted(con.execute(
            "SELECT type, name, sql FROM sqlite_master WHERE type IN ('index', 'trigger')"))
        state["fts"] = con.execute("SELECT rowid, title FROM measures_fts WHERE "
                                   "measures_fts MATCH 'Maßnahme' ORDER BY rowid").fetchall()
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert con.execute("PRAGMA foreign_key_check").fetchall() == []
    finally:
        con.close()
    return state


# --- the two situations ------------------------------------------------------------------------


@dataclass(frozen=True)
class Scenario:
    name: str
    db: Path  # the target before the import (closed, write-ahead log checkpointed)
    bundle: Path
    trust: bool  # the sender is new to the target: first contact, confirmed
    ids: dict[str, str]


def _freeze(ws: Workspace, folder: Path) -> Path:
    """Copy of the database file of ``ws`` (closed and checkpointed) into ``folder``."""
    path = ws.db.path
    ws.close()
    _db_digest(path)
    folder.mkdir(parents=True)
    target = folder / path.name
    shutil.copy(path, target)
    return target


@pytest.fixture(scope="module")
def rich(tmp_path_factory: pytest.TempPathFactory) -> Scenario:
    """The Kreis has the records of two PCs of VG Landstuhl and of Ramstein, an open conflict
    and the bookkeeping of earlier exchanges; PC 1 then sends a full bundle with new, changed,
    deleted, conflicting (same field; delete against edit), known and locally newer records of
    measures, indicators, budget lines, milestones, participations, partners, contact persons
    and evaluations, plus a forged line of a Ramstein measure (refused)."""
    root = tmp_path_factory.mktemp("rich")
    kreis = make_ws(root / "k", "kreis-kl")
    pc1 = make_ws(root / "l1", "vg-landstuhl", "landstuhl-pc1")
    pc2 = make_ws(root / "l2", "vg-landstuhl", "landstuhl-pc2")
    ram = make_ws(root / "r", "vg-ramstein-miesenbach")
    try:
        trust_all([kreis, pc1, pc2, ram], root / "keys")
        ids: dict[str, str] = {}
        ids["p1"] = partners.save_partner(pc1, PartnerData(
            name="Caritas", city="Landstuhl", contacts=[ContactData(name="Frau Adler")])).id
        ids["p2"] = partners.save_partner(pc1, PartnerData(name="Diakonie")).id
        ids["p4"] = partners.save_partner(pc1, PartnerData(name="Tafel", phone="1")).id
        for n in range(1, 9):
            ids[f"m{n}"] = new_measure(
                pc1, f"HF1-{n:02d}", f"Maßnahme {n}",
                indicators=[IndicatorData(f"K{n}", "Personen", 0, 10),
                            IndicatorData(f"L{n}", "Anzahl", 1, 5)],
                budget_lines=[BudgetLineData(2026, "sach", "kreis", 1000 * n)],
                milestones=[MilestoneData(f"Start {n}")],
                partners=[ParticipationData(partner_id=ids["p1"])])
        for key, mid in (("e1", ids["m1"]), ("e8", ids["m8"])):
            e = evaluations.new_evaluation(pc1, mid, "2026-H1")
            e.results = "gut"
            ids[key] = evaluations.save_evaluation(pc1, e).id
        ids["r1"] = new_measure(ram, "HF2-01", "Ramstein",
                                indicators=[IndicatorData("R", "Personen", 0, 3)])
        ids["own"] = new_measure(kreis, "K-01", "Maßnahme des Kreises")
        exchange(pc1, pc2, root / "a.ipbundle")
        exchange(pc1, kreis, root / "b.ipbundle")
        exchange(ram, kreis, root / "c.ipbundle")
        exchange(kreis, pc1, root / "d.ipbundle")  # PC 1 learns the Kreis' acknowledgement
        # an open conflict at the Kreis: PC 1 and PC 2 change M7's objective concurrently
        edit_measure(pc1, ids["m7"], objective="A von PC1")
        exchange(pc1, kreis, root / "e.ipbundle")
        edit_measure(pc2, ids["m7"], objective="B von PC2")
        # PC 2's edits reach the Kreis before PC 1's bundle
        edit_measure(pc2, ids["m2"], description="Beschreibung von PC2")
        edit_measure(pc2, ids["m5"], description="noch bearbeitet von PC2")
        edit_measure(pc2, ids["m6"], title="Maßnahme 6 von PC2")
        edit_measure(pc2, ids["m8"], objective="Ziel von PC2")
        p1 = partners.get_partner(pc2, ids["p1"])
        p1.notes = "Notiz von PC2"
        partners.save_partner(pc2, p1)
        ids["pc2only"] = new_measure(pc2, "HF1-50", "Maßnahme nur von PC2")
        exchange(pc2, kreis, root / "f.ipbundle")
        # PC 1's work for the bundle under test
        ids["m9"] = new_measure(
            pc1, "HF1-09", "Neue Maßnahme", indicators=[IndicatorData("N", "Personen", 0, 7)],
            budget_lines=[BudgetLineData(2027, "sach", "kreis", 500)],
            milestones=[MilestoneData("Auftakt")],
            partners=[ParticipationData(partner_id=ids["p1"])])
        ids["p3"] = partners.save_partner(pc1, PartnerData(
            name="AWO", contacts=[ContactData(name="Herr Berg")])).id
        e3 = evaluations.new_evaluation(pc1, ids["m3"], "2026-H1")
        e3.progress = 50
        ids["e3"] = evaluations.save_evaluation(pc1, e3).id
        edit_measure(pc1, ids["m3"], title="Maßnahme 3 neu", status="laufend")
        m1 = measures.get_measure(pc1, ids["m1"])
        ids["k1"], ids["l1"] = m1.indicators[0].id, m1.indicators[1].id  # type: ignore[assignment]
        m1.indicators[0].target = 99
        del m1.indicators[1]  # tombstoned: a deleted indicator
        measures.save_measure(pc1, m1)
        m4 = measures.get_measure(pc1, ids["m4"])
        ids["b4"] = m4.budget_lines[0].id  # type: ignore[assignment]
        m4.budget_lines[0].planned_cents = 123_456
        measures.save_measure(pc1, m4)
        measures.delete_measure(pc1, ids["m4"])
        p1 = partners.get_partner(pc1, ids["p1"])
        p1.city, p1.notes = "Kaiserslautern", "Notiz von PC1"
        ids["c1"] = p1.contacts[0].id  # type: ignore[assignment]
        p1.contacts[0].phone = "0631 1234"
        partners.save_partner(pc1, p1)
        partners.set_deleted(pc1, ids["p2"], True)
        p4 = partners.get_partner(pc1, ids["p4"])
        p4.phone = "2"
        partners.save_partner(pc1, p4)
        e1 = evaluations.get_evaluation(pc1, ids["m1"], "2026-H1")
        assert e1 is not None
        e1.results = "sehr gut"
        evaluations.save_evaluation(pc1, e1)
        evaluations.set_deleted(pc1, ids["m8"], "2026-H1", True)
        edit_measure(pc1, ids["m2"], description="Beschreibung von PC1")
        measures.delete_measure(pc1, ids["m5"])
        edit_measure(pc1, ids["m7"], title="Maßnahme 7 umbenannt")
        edit_measure(pc1, ids["m8"], objective="Ziel von PC1")
        exported = root / "pc1.ipbundle"
        export_bundle(pc1, exported)
        # a forged line: Ramstein's measure, changed and sent by Landstuhl (refused)
        manifest, entries = read_bundle(exported)
        name = "records/measures.jsonl"
        foreign = json.loads(read_bundle(root / "c.ipbundle")[1][name].decode().splitlines()[0])
        assert foreign["id"] == ids["r1"]
        foreign["title"] = "Von Landstuhl verfälscht"
        entries[name] += (json.dumps(foreign, ensure_ascii=False) + "\n").encode()
        bundle = root / "forged.ipbundle"
        write_bundle(bundle, manifest, entries, private_key(pc1))
        db = _freeze(kreis, root / "frozen")
    finally:
        for ws in (kreis, pc1, pc2, ram):
            ws.close()
    return Scenario("rich", db, bundle, False, ids)


def _first_import(root: Path, name: str, *, partners_too: bool) -> Scenario:
    """A first import into a new Kreis database that does not know the sender yet: enough
    measures, indicators, budget lines and milestones for the bulk path once
    ``BULK_MIN_RECORDS`` is 5; with a partner, its contact person and two participations
    (too few for the bulk path) or without (an insert-only load: foreign keys checked once
    after loading, see importer._insert_only_bulk)."""
    kreis = make_ws(root / "k", "kreis-kl")
    pc1 = make_ws(root / "l1", "vg-landstuhl", "landstuhl-pc1")
    try:
        pid = partners.save_partner(pc1, PartnerData(
            name="Caritas", contacts=[ContactData(name="Frau Adler")])).id if partners_too \
            else None
        for n in range(8):
            # texts longer than a page: the import must grow the file (see _disk_full)
            new_measure(pc1, f"HF1-{n:02d}", f"Maßnahme {n}",
                        description=f"Text {n} " + "x" * PAGE_SIZE,
                        indicators=[IndicatorData(f"K{n}", "Personen", 0, 10)],
                        budget_lines=[BudgetLineData(2026, "sach", "kreis", 100 * n)],
                        milestones=[MilestoneData(f"Start {n}")],
                        partners=[ParticipationData(partner_id=pid)] if pid and n < 2 else [])
        bundle = root / "first.ipbundle"
        export_bundle(pc1, bundle)
        db = _freeze(kreis, root / "frozen")
    finally:
        kreis.close()
        pc1.close()
    return Scenario(name, db, bundle, True, {})


@pytest.fixture(scope="module")
def fresh(tmp_path_factory: pytest.TempPathFactory) -> Scenario:
    return _first_import(tmp_path_factory.mktemp("fresh"), "fresh", partners_too=True)


@pytest.fixture(scope="module")
def fresh_insert_only(tmp_path_factory: pytest.TempPathFactory) -> Scenario:
    return _first_import(tmp_path_factory.mktemp("fresh-insert-only"), "fresh_insert_only",
                         partners_too=False)


@dataclass(frozen=True)
class Variant:
    id: str
    scenario: str  # fixture name
    bulk_min: int | None  # importer.BULK_MIN_RECORDS, None: unchanged
    rollback_limit: int | None  # importer.ROLLBACK_FILE_LIMIT, None: unchanged
    backup: str  # the kind of backup the import takes: ".jsonl" or ".sqlite"
    bulk: bool  # whether the apply takes the bulk path


VARIANTS = [
    Variant("rich-rollback-file", "rich", None, None, ".jsonl", False),
    Variant("rich-database-copy", "rich", None, 1, ".sqlite", False),
    Variant("bulk-rollback-file", "fresh", 5, None, ".jsonl", True),
    Variant("bulk-insert-only-database-copy", "fresh_insert_only", 5, 10, ".sqlite", True),
]


def _configure(monkeypatch: pytest.MonkeyPatch, variant: Variant) -> None:
    if variant.bulk_min is not None:
        monkeypatch.setattr(importer, "BULK_MIN_RECORDS", variant.bulk_min)
    if variant.rollback_limit is not None:
        monkeypatch.setattr(importer, "ROLLBACK_FILE_LIMIT", variant.rollback_limit)


@contextlib.contextmanager
def _target(s: Scenario, folder: Path) -> Iterator[Workspace]:
    """A fresh copy of the scenario's target database, opened."""
    folder.mkdir(parents=True)
    db = folder / s.db.name
    shutil.copy(s.db, db)
    with open_workspace(db, user=TARGET_USER) as ws:
        yield ws


def _trapped_apply(ws: Workspace, plan: ImportPlan, trap: Trap,
                   monkeypatch: pytest.MonkeyPatch, *, exclusive: bool = False
                   ) -> tuple[BaseException | None, Any]:
    """Apply with the trap on the apply connection: (error, result)."""
    with monkeypatch.context() as m:
        m.setattr(importer, "sqlite3", _Sqlite3WithTrap(trap))
        try:
            return None, apply_import(ws, plan, exclusive=exclusive)
        except BaseException as exc:  # KeyboardInterrupt too: it is one of the injections
            return exc, None


def _reimport(ws: Workspace, s: Scenario) -> dict[str, Any]:
    """A normal import of the bundle (prepared anew): the database it gives."""
    with prepare_import(ws, s.bundle, trust_new_sender=s.trust) as plan:
        result = apply_import(ws, plan)
    assert result.applied, result.message
    return _final_state(ws.db.path)


@dataclass
class Reference:
    log: list[Statement]
    phases: list[str]
    state: dict[str, Any]
    backup_suffix: str

    def where(self, number: int) -> str:
        st = self.log[number - 1]
        return f"statement {number} ({self.phases[number - 1]}, {st.caller}): {st.sql[:90]}"

    def first_and_last(self, phases: tuple[str, ...]) -> list[int]:
        """The first and the last statement of each of the phases."""
        numbers: set[int] = set()
        for phase in phases:
            where = [n for n, p in enumerate(self.phases, 1) if p == phase]
            numbers |= set(where[:1] + where[-1:])
        return sorted(numbers)


def _reference(s: Scenario, variant: Variant, folder: Path,
               monkeypatch: pytest.MonkeyPatch, *, exclusive: bool = False) -> Reference:
    """A successful apply on a copy: its statements and the database it gives (``exclusive``:
    as the command line applies)."""
    trap = Trap()
    with _target(s, folder) as ws, \
            prepare_import(ws, s.bundle, trust_new_sender=s.trust) as plan:
        error, result = _trapped_apply(ws, plan, trap, monkeypatch, exclusive=exclusive)
        assert error is None and result.applied and result.backup is not None, error
        state = _final_state(ws.db.path)
    phases = _phases(trap.log)
    assert ("bulk-exit" in phases) is variant.bulk, phases
    assert ("rollback-file" in phases) is (variant.backup == ".jsonl"), phases
    assert phases.count("commit") == 1 and phases[0] == "setup"
    assert ("fk-check" in phases) is (s.name == "fresh_insert_only"), phases
    return Reference(trap.log, phases, state, result.backup.suffix)


class Attempts:
    """A copy of the target, opened, with the bundle prepared. Failed applies reuse it (each
    must leave the file byte-identical; the preview stays valid then); a successful import
    ends it, and the next attempt starts from a fresh copy."""

    def __init__(self, s: Scenario, folder: Path) -> None:
        self.s, self.folder, self.copies = s, folder, 0
        self.ws: Workspace | None = None
        self.plan: ImportPlan | None = None
        self.original = ""  # SHA-256 of the copy before any attempt

    def start(self) -> tuple[Workspace, ImportPlan]:
        if self.ws is None or self.plan is None:
            self.copies += 1
            folder = self.folder / f"copy{self.copies}"
            folder.mkdir(parents=True)
            shutil.copy(self.s.db, folder / self.s.db.name)
            self.ws = open_workspace(folder / self.s.db.name, user=TARGET_USER)
            self.plan = prepare_import(self.ws, self.s.bundle, trust_new_sender=self.s.trust)
            self.original = _db_digest(self.ws.db.path)
        return self.ws, self.plan

    def end(self) -> None:
        if self.plan is not None:
            self.plan.close()
        if self.ws is not None:
            self.ws.close()
        self.ws = self.plan = None


def _check_failed(ws: Workspace, ref: Reference, before: str, backups: set[str],
                  error: BaseException | None, number: int, expected: type[BaseException],
                  where: str = "") -> None:
    """After apply_import failed at statement ``number``: the error, the file, the backups."""
    where = where or ref.where(number)
    assert error is not None, f"no failure at {where}"
    assert isinstance(error, expected), (where, repr(error))
    if expected is UserError:
        assert isinstance(error, UserError) and not isinstance(error, sqlite3.Error)
        # raised "from None": no sqlite3 traceback chained to the message
        assert error.__suppress_context__ and error.__cause__ is None, where
        assert INJECTED in error.message and "Es wurde nichts geändert" in error.message
    assert _db_digest(ws.db.path) == before, f"the database file changed: {where}"
    new = _backups(ws.db.path) - backups
    copies = {n for n in new if n.endswith(".vor-import.sqlite")}
    assert not new - copies, f"a rollback file of the failed import is left: {new}, {where}"
    if ref.backup_suffix == ".jsonl":
        assert not copies, where
    else:  # the copy is taken before the transaction and stays: a copy of the unchanged file
        assert len(copies) <= 1, where


@contextlib.contextmanager
def _fresh_copy_after_a_failure(attempts: Attempts) -> Iterator[None]:
    """A failed check may have left the copy changed: the next attempt takes a fresh one."""
    try:
        yield
    except BaseException:
        attempts.end()
        raise


def _fail_everywhere(s: Scenario, ref: Reference, numbers: list[int],
                     make: Callable[[], BaseException], reimport_after: set[int],
                     folder: Path, monkeypatch: pytest.MonkeyPatch,
                     subtests: pytest.Subtests) -> None:
    """Fail the apply at each statement number (0: in importer._after_records_hook), check
    each failure, and after the ones in ``reimport_after`` (and the last) import normally."""
    expected = UserError if isinstance(make(), sqlite3.Error) else type(make())
    attempts = Attempts(s, folder)
    try:
        for number in numbers:
            phase = ref.phases[number - 1] if number else "after-records-hook"
            with subtests.test(k=number, phase=phase), _fresh_copy_after_a_failure(attempts):
                ws, plan = attempts.start()
                before, backups = _db_digest(ws.db.path), _backups(ws.db.path)
                assert before == attempts.original
                trap = Trap(fail_at=number or None, error=make)
                if number == 0:
                    def boom() -> None:
                        raise make()

                    monkeypatch.setattr(importer, "_after_records_hook", boom)
                    try:
                        error, _ = _trapped_apply(ws, plan, trap, monkeypatch)
                    finally:
                        monkeypatch.setattr(importer, "_after_records_hook", None)
                    _check_failed(ws, ref, before, backups, error,
                                  ref.phases.index("commit") + 1, expected, phase)
                else:
                    error, _ = _trapped_apply(ws, plan, trap, monkeypatch)
                    assert trap.fired and [st.sql for st in trap.log[:number]] == [
                        st.sql for st in ref.log[:number]], "another statement sequence"
                    # what ran after the failure: only the ROLLBACK
                    assert [st.sql for st in trap.log[number:]] in (
                        ["ROLLBACK"], []), trap.log[number:]
                    if phase == "after-commit":
                        # best effort after the commit (emptying the write-ahead log): no
                        # failure of the import, which is complete
                        assert error is None, repr(error)
                        assert _final_state(ws.db.path) == ref.state
                        attempts.end()
                        continue
                    _check_failed(ws, ref, before, backups, error, number, expected)
                if expected is RuntimeError:
                    assert str(error) == INJECTED
                if number in reimport_after or number == numbers[-1]:
                    assert _reimport(ws, s) == ref.state
                    attempts.end()
    finally:
        attempts.end()


# --- 1. an exception at any statement of the apply changes nothing ------------------------------


@pytest.mark.parametrize("variant", VARIANTS, ids=[v.id for v in VARIANTS])
def test_failure_at_any_statement_leaves_the_file_byte_identical(
        variant: Variant, request: pytest.FixtureRequest, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch, subtests: pytest.Subtests) -> None:
    """Fail the apply at statement k with sqlite3.OperationalError (what a full or failing
    disk gives), for every k of a successful apply (bulk_load's entry and exit, the rollback
    file's queries and the COMMIT included): a UserError, the file byte-identical, no
    rollback file left. After the first and last failure of each phase, a normal import
    gives the very database of a target that never failed. A failure after the COMMIT
    (emptying the write-ahead log, best effort) is no failure of the import."""
    s: Scenario = request.getfixturevalue(variant.scenario)
    _configure(monkeypatch, variant)
    ref = _reference(s, variant, tmp_path / "reference", monkeypatch)
    assert ref.backup_suffix == variant.backup
    numbers = list(range(1, len(ref.log) + 1))  # every one: the first, the COMMIT, the last
    reimport_after = set(ref.first_and_last(tuple(set(ref.phases))))
    _fail_everywhere(s, ref, numbers, _injected_database_error, reimport_after,
                     tmp_path / "attempts", monkeypatch, subtests)


EXCEPTIONS: dict[str, Callable[[], BaseException]] = {
    "RuntimeError": lambda: RuntimeError(INJECTED),
    "KeyboardInterrupt": KeyboardInterrupt,
}
#: Phases at whose first and last statement the other exceptions are injected.
KEY_PHASES = ("setup", "begin", "rollback-file", "write", "bulk-enter", "bulk-exit", "fk-check",
              "commit")


@pytest.mark.parametrize("variant", [VARIANTS[0], VARIANTS[3]],
                         ids=[VARIANTS[0].id, VARIANTS[3].id])
@pytest.mark.parametrize("kind", list(EXCEPTIONS))
def test_other_exceptions_propagate_unchanged_and_change_nothing(
        variant: Variant, kind: str, request: pytest.FixtureRequest, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch, subtests: pytest.Subtests) -> None:
    """A programming error or a cancel (KeyboardInterrupt) at the first and last statement of
    each phase (inside bulk_load's exit too) and in the seam after the records: the very
    exception reaches the caller, the file keeps its bytes, and the import works afterwards."""
    s: Scenario = request.getfixturevalue(variant.scenario)
    _configure(monkeypatch, variant)
    ref = _reference(s, variant, tmp_path / "reference", monkeypatch)
    numbers = [*ref.first_and_last(KEY_PHASES), 0]
    _fail_everywhere(s, ref, numbers, EXCEPTIONS[kind], set(), tmp_path / "attempts",
                     monkeypatch, subtests)


def _cli_import(db: Path, s: Scenario) -> int:
    argv = ["import", "--db", str(db), str(s.bundle)]
    return main([*argv, "--trust-new-sender"] if s.trust else argv)


@pytest.mark.parametrize("variant", [VARIANTS[0], VARIANTS[3]],
                         ids=[VARIANTS[0].id, VARIANTS[3].id])
def test_failures_through_the_command_line_are_messages_not_tracebacks(
        variant: Variant, request: pytest.FixtureRequest, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """``integrationsplaner import``: a database error in the apply (its first write, the
    COMMIT, inside bulk_load's exit) is one German line on stderr and exit code 1, a cancel
    says so; no traceback, the file unchanged, and the same command then succeeds."""
    s: Scenario = request.getfixturevalue(variant.scenario)
    _configure(monkeypatch, variant)
    ref = _reference(s, variant, tmp_path / "reference", monkeypatch, exclusive=True)
    if variant.bulk:  # a first import: the command line runs it with a rollback journal
        assert "PRAGMA main.journal_mode=DELETE" in [st.sql for st in ref.log]
    clean = tmp_path / "clean"
    clean.mkdir()
    shutil.copy(s.db, clean / s.db.name)
    assert _cli_import(clean / s.db.name, s) in (0, 3)
    expected_state = _final_state(clean / s.db.name)  # with the user of the command line
    points: list[tuple[str, Callable[[], BaseException]]] = [
        ("write", _injected_database_error), ("commit", _injected_database_error),
        ("write", KeyboardInterrupt)]
    if variant.bulk:
        points += [("bulk-exit", _injected_database_error)]
    for n, (phase, make) in enumerate(points):
        number = ref.phases.index(phase) + 1
        folder = tmp_path / f"cli{n}"
        folder.mkdir()
        db = folder / s.db.name
        shutil.copy(s.db, db)
        before, backups = _db_digest(db, counter=False), _backups(db)
        capsys.readouterr()
        with monkeypatch.context() as m:
            m.setattr(importer, "sqlite3", _Sqlite3WithTrap(Trap(number, make)))
            code = _cli_import(db, s)
        out, err = capsys.readouterr()
        assert code == 1, (phase, out, err)
        assert "Traceback" not in err and "sqlite3" not in err and "OperationalError" not in err
        if make is KeyboardInterrupt:
            assert err == "Abgebrochen. Es wurde nichts geändert.\n"
        else:
            assert err.startswith("Fehler: Das Bündel konnte nicht übernommen werden "
                                  f"({INJECTED}).")
            assert err.endswith("Es wurde nichts geändert.\n") and err.count("\n") == 1
        assert _db_digest(db, counter=False) == before, phase
        assert not {x for x in _backups(db) - backups if not x.endswith(".sqlite")}, phase
        assert _cli_import(db, s) in (0, 3)
        assert _final_state(db) == expected_state, phase


# --- failures of the rollback file itself, and a real full disk ---------------------------------


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Scenario:
    """The smallest import with a rollback file: one new measure of a known sender."""
    root = tmp_path_factory.mktemp("small")
    kreis = make_ws(root / "k", "kreis-kl")
    pc1 = make_ws(root / "l1", "vg-landstuhl", "landstuhl-pc1")
    try:
        trust_all([kreis, pc1], root / "keys")
        new_measure(pc1, "HF1-01", "Sprachcafé")
        bundle = root / "a.ipbundle"
        export_bundle(pc1, bundle)
        db = _freeze(kreis, root / "frozen")
    finally:
        kreis.close()
        pc1.close()
    return Scenario("small", db, bundle, False, {})


def _copy(s: Scenario, folder: Path) -> Path:
    folder.mkdir(parents=True)
    shutil.copy(s.db, folder / s.db.name)
    return folder / s.db.name


class _OsWith:
    """The ``os`` module with one function failing (inside the importer only)."""

    def __init__(self, name: str) -> None:
        self._name = name

    def _fail(self, *_args: Any) -> None:
        raise OSError(28, f"No space left on device ({INJECTED})")

    def __getattr__(self, name: str) -> Any:
        return self._fail if name == self._name else getattr(os, name)


def _fail_rollback_file(where: str, small: Scenario, tmp_path: Path,
                        monkeypatch: pytest.MonkeyPatch) -> tuple[BaseException, set[str]]:
    """Apply the small import failing at ``where`` of write_rollback_file: the error and the
    files it left in Sicherungen; the database file is checked to be unchanged."""
    db, bundle = _copy(small, tmp_path / "t"), small.bundle
    with open_workspace(db, user=TARGET_USER) as ws:
        before, backups = _db_digest(db), _backups(db)
        trap = Trap()
        with prepare_import(ws, bundle) as plan, monkeypatch.context() as m:
            m.setattr(importer, "sqlite3", _Sqlite3WithTrap(trap))
            if where == "query":  # the first statement of the rollback file's
                trap.fail_if = lambda st: st.caller.startswith("_write_rollback_")
            else:
                m.setattr(rollback, "os", _OsWith(where))
            with pytest.raises((UserError, OSError)) as caught:
                apply_import(ws, plan)
        assert where != "query" or trap.fired
        assert INJECTED in str(caught.value)
        assert _db_digest(db) == before
        left = _backups(db) - backups
        with prepare_import(ws, bundle) as plan:  # and the import works afterwards
            assert apply_import(ws, plan).applied
        return caught.value, left


@pytest.mark.parametrize("where", ["query", "fsync", "replace"])
def test_failed_rollback_file_write_fails_cleanly(
        where: str, small: Scenario, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A failing query for the pre-images, and the file system's own error (no space at the
    fsync or the rename), are German messages (UserError, no traceback); the database file is
    unchanged (checked in _fail_rollback_file)."""
    error, _left = _fail_rollback_file(where, small, tmp_path, monkeypatch)
    assert isinstance(error, UserError)
    if where != "query":
        assert "Sicherung vor dem Import" in error.message
        assert "Speicherplatz" in error.message and "nichts geändert" in error.message


@pytest.mark.parametrize("where", ["query", "fsync", "replace"])
def test_failed_rollback_file_write_leaves_no_partial_file(
        where: str, small: Scenario, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _error, left = _fail_rollback_file(where, small, tmp_path, monkeypatch)
    assert not left, f"left in Sicherungen by the failed import: {sorted(left)}"


def _disk_full(con: sqlite3.Connection) -> None:
    """From now on the database may not grow: what SQLite reports when the disk is full
    (SQLITE_FULL, "database or disk is full")."""
    pages = con.execute("PRAGMA page_count").fetchone()[0]
    con.execute(f"PRAGMA max_page_count = {pages}")


@dataclass
class FullDisk:
    error: UserError
    left: set[str]  # new files in Sicherungen
    log: list[Statement]
    in_transaction_at_rollback: bool | None  # None: no ROLLBACK was executed


def _apply_on_full_disk(db: Path, s: Scenario, monkeypatch: pytest.MonkeyPatch, *,
                        at_log_entry: bool = False, user: str = TARGET_USER) -> FullDisk:
    """Apply with a disk that is full from the apply connection's start on, or only from the
    import's log entry on (a single-row insert without a statement journal: on SQLITE_FULL
    SQLite rolls the whole transaction back by itself, as documented)."""
    raw: list[sqlite3.Connection] = []
    at_rollback: list[bool] = []

    def watch(st: Statement) -> None:
        if at_log_entry and st.sql.startswith("INSERT INTO main.exchange_log"):
            _disk_full(raw[0])
        if st.sql == "ROLLBACK":
            at_rollback.append(raw[0].in_transaction)

    def connected(con: sqlite3.Connection) -> None:
        raw.append(con)
        if not at_log_entry:
            _disk_full(con)

    with open_workspace(db, user=user) as ws:
        before, backups = _db_digest(db), _backups(db)
        trap = Trap(on_connect=connected, on_statement=watch)
        with prepare_import(ws, s.bundle, trust_new_sender=s.trust) as plan, \
                monkeypatch.context() as m:
            m.setattr(importer, "sqlite3", _Sqlite3WithTrap(trap))
            with pytest.raises(UserError) as caught:
                apply_import(ws, plan)
        assert _db_digest(db) == before
        return FullDisk(caught.value, _backups(db) - backups, trap.log,
                        at_rollback[0] if at_rollback else None)


@pytest.mark.parametrize("variant", [VARIANTS[0], VARIANTS[1], VARIANTS[3]],
                         ids=[VARIANTS[0].id, VARIANTS[1].id, VARIANTS[3].id])
def test_full_disk_during_apply_changes_no_byte(
        variant: Variant, request: pytest.FixtureRequest, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A real SQLITE_FULL while the records are written: a UserError, the file
    byte-identical, no rollback file left, and once there is room the import gives the
    database of a target that never failed."""
    s: Scenario = request.getfixturevalue(variant.scenario)
    _configure(monkeypatch, variant)
    ref = _reference(s, variant, tmp_path / "reference", monkeypatch)
    db = _copy(s, tmp_path / "full")
    full = _apply_on_full_disk(db, s, monkeypatch)
    assert "database or disk is full" in full.error.message
    assert "Es wurde nichts geändert" in full.error.message
    assert full.error.__suppress_context__ and full.error.__cause__ is None
    assert any(st.sql.startswith(("INSERT INTO main.", "CREATE INDEX")) for st in full.log)
    assert full.in_transaction_at_rollback is True  # the statement alone was undone by SQLite
    assert not {n for n in full.left if not n.endswith(".vor-import.sqlite")}
    with open_workspace(db, user=TARGET_USER) as ws:
        assert _reimport(ws, s) == ref.state


#: A user name that makes the import's log entry larger than a database page: writing it
#: needs a new page, which a full disk refuses.
LONG_USER = "sachbearbeitung-" + "x" * PAGE_SIZE


def test_full_disk_at_the_log_entry_changes_no_byte(small: Scenario, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """SQLITE_FULL at the single-row insert of the log entry: SQLite has rolled the whole
    transaction back by itself, so apply_import issues no ROLLBACK of its own (which would fail
    and hide the cause). The file is byte-identical, the error a UserError naming the full
    disk, the rollback file of the import that never was is gone, and the import works
    afterwards."""
    db = _copy(small, tmp_path / "t")
    full = _apply_on_full_disk(db, small, monkeypatch, at_log_entry=True, user=LONG_USER)
    assert full.in_transaction_at_rollback is None  # SQLite's own rollback happened
    assert full.error.__suppress_context__ and full.error.__cause__ is None
    assert "database or disk is full" in full.error.message, full.error.message
    assert not full.left, f"rollback file of the failed import left: {sorted(full.left)}"
    with open_workspace(db, user=LONG_USER) as ws, prepare_import(ws, small.bundle) as plan:
        assert apply_import(ws, plan).applied


# --- 2. the preview equals what is applied --------------------------------------------------------

#: What the rich situation must plan for its named records (keeps the situation as rich as its
#: docstring says).
EXPECTED_PLAN = {
    ("measure", "m9"): "new", ("partner", "p3"): "new", ("evaluation", "e3"): "new",
    ("measure", "m3"): "changed", ("measure", "m7"): "changed", ("partner", "p4"): "changed",
    ("contact_person", "c1"): "changed", ("indicator", "k1"): "changed",
    ("budget_line", "b4"): "changed", ("evaluation", "e1"): "changed",
    ("measure", "m4"): "deleted", ("partner", "p2"): "deleted", ("indicator", "l1"): "deleted",
    ("evaluation", "e8"): "deleted",
    ("measure", "m2"): "conflict", ("measure", "m8"): "conflict", ("partner", "p1"): "conflict",
    ("measure", "m5"): "conflict",  # deleted by PC 1, edited by PC 2
    ("measure", "m1"): "known", ("measure", "m6"): "local_newer", ("measure", "r1"): "refused",
}
#: Records of the target that the bundle does not carry.
NOT_IN_BUNDLE = (("measure", "own"), ("measure", "pc2only"))

Rows = dict[str, dict[str, dict[str, Any]]]  # entity -> id -> column -> stored value


def _stored(db: Path) -> Rows:
    con = sqlite3.connect(f"{db.resolve().as_uri()}?mode=ro", uri=True)
    try:
        result: Rows = {}
        for entity in ENTITY_ORDER:
            cur = con.execute(f"SELECT * FROM {TABLE_OF[entity]}")
            names = [d[0] for d in cur.description]
            rows = [dict(zip(names, row, strict=True)) for row in cur]
            result[entity] = {row["id"]: row for row in rows}
    finally:
        con.close()
    return result


def _columns(db: Path, table: str) -> set[str]:
    con = sqlite3.connect(f"{db.resolve().as_uri()}?mode=ro", uri=True)
    try:
        return {row[1] for row in con.execute(f'PRAGMA table_info("{table}")')}
    finally:
        con.close()


@dataclass
class Staged:
    values: dict[str, Any]  # the planned stored values of every column the import writes
    action: str
    category: str


def _staged(plan: ImportPlan) -> dict[str, dict[str, Staged]]:
    result: dict[str, dict[str, Staged]] = {}
    for entity in ENTITY_ORDER:
        columns = SPECS[entity].columns
        cols = ", ".join(f'"{c}"' for c in columns)
        result[entity] = {}
        for row in plan.con.execute(f"SELECT {cols}, x_action, x_category FROM s_{entity}"):
            assert row[0] not in result[entity], "a record staged twice"
            result[entity][row[0]] = Staged(dict(zip(columns, row[:-2], strict=True)),
                                            row[-2], row[-1])
    return result


def _shown(entity: str, name: str, stored: Any) -> str:
    """How the preview shows the stored value of a field."""
    spec = next(f for f in SPECS[entity].fields if f.name == name)
    return escape_display(decode_stored(spec, stored))


def _conflict_lines(ws: Workspace) -> dict[tuple[str, str, str, str], list[tuple[str, str]]]:
    """Open conflicts as the preview lists them: key -> [(shown value, other value)]."""
    result: dict[tuple[str, str, str, str], list[tuple[str, str]]] = {}
    for c in list_conflicts(ws):
        lines = result.setdefault(c.key, [])
        for _replica, _counter, value in c.others:
            if c.kind == "loeschen":
                lines.append(("gelöscht" if c.current else "nicht gelöscht",
                              DELETED_OTHER[value]))
            else:
                lines.append((escape_display(c.current), escape_display(value)))
    return result


@dataclass
class Applied:
    """What the preview showed, kept for the checks of the situation."""

    staged: dict[str, dict[str, Staged]]
    summary: dict[str, int]
    by_entity: dict[str, dict[str, int]]
    received_to: int | None
    listed_conflicts: list[tuple[str, str, str, str, str]]


def _apply_and_compare(ws: Workspace, bundle: Path) -> Applied:
    """Prepare the import, keep everything the preview shows, apply it, and compare: every
    staged record's planned action and values, the counts, the items with their field diffs,
    the audit entries and the listed conflicts, against the database after apply_import,
    column by column; everything else stays as it was."""
    before = _stored(ws.db.path)
    conflicts_before = _conflict_lines(ws)
    with prepare_import(ws, bundle) as plan:
        staged = _staged(plan)
        items = {c: plan.items(c, limit=100_000) for c in CATEGORIES}
        summary = dict(plan.summary)
        by_entity = {e: dict(v) for e, v in plan.by_entity.items()}
        book = plan.bookkeeping
        bundle_id, sender = plan.header.bundle_id, plan.header.sender_replica
        s_conflicts = sorted(plan.con.execute("SELECT * FROM s_conflicts").fetchall())
        s_changes = plan.con.execute("SELECT * FROM s_changes").fetchall()
        if plan.rejected:
            with pytest.raises(UserError):
                apply_import(ws, plan)
            assert _stored(ws.db.path) == before
            return Applied(staged, summary, by_entity, book.received_to, [])
        result = apply_import(ws, plan)
    after = _stored(ws.db.path)
    conflicts_after = _conflict_lines(ws)
    con = sqlite3.connect(f"{ws.db.path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        stored_conflicts = sorted(con.execute(
            "SELECT entity, record_id, office_key, field, kind, replica, counter, value, "
            "winner_replica, winner_counter FROM exchange_conflicts WHERE bundle_id = ?",
            (bundle_id,)).fetchall())
        audit = con.execute("SELECT entity, record_id, action, field, old_value, new_value "
                            "FROM audit_log WHERE bundle_id = ? AND source = 'buendel'",
                            (bundle_id,)).fetchall()
        received = con.execute("SELECT upto_seq FROM exchange_received WHERE replica_id = ?",
                               (sender,)).fetchone()
        logged = con.execute("SELECT summary FROM exchange_log WHERE bundle_id = ? AND "
                             "direction = 'import'", (bundle_id,)).fetchall()
    finally:
        con.close()
    assert result.applied and result.summary == summary

    # the preview's counts and lists are the staged plan
    for entity in ENTITY_ORDER:
        for category in CATEGORIES:
            assert by_entity[entity][category] == sum(
                1 for r in staged[entity].values() if r.category == category), (entity, category)
    assert summary == {c: sum(by_entity[e][c] for e in ENTITY_ORDER) for c in CATEGORIES}
    for category in CATEGORIES:
        listed = sorted((i.entity, i.record_id, i.office_key) for i in items[category])
        assert listed == sorted((e, rid, r.values["office_key"]) for e in ENTITY_ORDER
                                for rid, r in staged[e].items() if r.category == category)
        assert all(i.category == category for i in items[category])
    actions = {"new": "new", "changed": "update", "deleted": "update", "conflict": "update",
               "known": "known", "local_newer": "local_newer", "refused": "refused"}
    for entity in ENTITY_ORDER:
        for rid, r in staged[entity].items():
            assert r.action == actions[r.category], (entity, rid, r.action, r.category)

    # every column of every record: planned values written, all others untouched
    for entity in ENTITY_ORDER:
        spec = SPECS[entity]
        table_columns = _columns(ws.db.path, TABLE_OF[entity])
        # every column: those the import writes, and the measures' local row key (seq)
        assert set(spec.columns) <= table_columns and table_columns - set(spec.columns) <= {
            "seq"}, table_columns
        for rid, r in staged[entity].items():
            where = (entity, rid, r.category)
            if r.action in ("new", "update"):
                assert (rid in before[entity]) is (r.action == "update"), where
                row = after[entity][rid]
                assert {c: row[c] for c in spec.columns} == r.values, where
                if r.action == "update":  # the rest of the row: its local key
                    assert row == {**before[entity][rid], **r.values}, where
            elif rid in before[entity]:
                assert after[entity][rid] == before[entity][rid], where
            else:  # a refused record that is not here stays away
                assert r.category == "refused" and rid not in after[entity], where
        for rid, row in before[entity].items():
            if rid not in staged[entity]:
                assert after[entity][rid] == row, (entity, rid, "not in the bundle")
        assert set(after[entity]) == set(before[entity]) | {
            rid for rid, r in staged[entity].items() if r.action == "new"}
    # the field diffs shown are exactly the fields that changed, with the old and new values
    for category in ("changed", "deleted", "conflict"):
        for item in items[category]:
            old, new = before[item.entity][item.record_id], after[item.entity][item.record_id]
            changed = [(f, _shown(item.entity, f, old[f]), _shown(item.entity, f, new[f]))
                       for f in SPECS[item.entity].field_names if old[f] != new[f]]
            assert sorted(item.diffs) == sorted(changed), (item.entity, item.label)
            if category == "deleted":
                assert not old["deleted"] and new["deleted"]
    assert sorted(audit, key=repr) == sorted(
        [*s_changes, *((e, rid, CREATE, None, None, None) for e in ENTITY_ORDER
                       for rid, r in staged[e].items() if r.action == "new")], key=repr)

    # conflicts: the ones the preview lists are exactly the ones opened by the import
    listed = sorted((i.entity, i.record_id, f, shown, other)
                    for i in items["conflict"] for f, shown, other in i.conflicts)
    assert all(i.conflicts for i in items["conflict"])
    opened = sorted((key[0], key[1], "deleted" if key[3] == "loeschen" else key[2], *line)
                    for key, lines in conflicts_after.items() if key not in conflicts_before
                    for line in lines)
    assert opened == listed
    for key, lines in conflicts_before.items():  # nothing in the bundle resolves them
        assert conflicts_after.get(key) == lines, key
    # stored for this bundle: what was staged. Beyond the listed conflicts only values of
    # touched records that were open before (rewritten with the record, unchanged: see
    # above), and concurrent changes to the same value (two PCs both deleted a record),
    # which are no open conflict
    assert stored_conflicts == s_conflicts
    listed_keys = {(e, rid, f) for e, rid, f, *_ in listed}
    carried = {(e, rid, f) for e, rid, f, _kind in conflicts_before}
    for entity, rid, _office, name, kind, _r, _c, value, *_ in stored_conflicts:
        if (entity, rid, name) in listed_keys | carried:
            continue
        current = decode_stored(next(f for f in SPECS[entity].fields if f.name == name),
                                after[entity][rid][name])
        assert kind == ("loeschen" if name == "deleted" else "feld"), (entity, rid, name, kind)
        assert json.loads(value) == current, (entity, rid, name, value)

    # bookkeeping
    if book.received_to is not None:
        assert received == (book.received_to,)
    assert [json.loads(x) for (x,) in logged] == [summary]
    return Applied(staged, summary, by_entity, book.received_to, listed)


def test_the_preview_is_exactly_what_is_applied(rich: Scenario, tmp_path: Path) -> None:
    """The rich situation: see _apply_and_compare; and the situation is as rich as promised."""
    s = rich
    with _target(s, tmp_path / "t") as ws:
        applied = _apply_and_compare(ws, s.bundle)
    staged, summary, by_entity = applied.staged, applied.summary, applied.by_entity
    for (entity, name), category in EXPECTED_PLAN.items():
        assert staged[entity][s.ids[name]].category == category, (entity, name)
    for entity in ("partner", "contact_person", "measure", "indicator", "budget_line",
                   "milestone", "measure_partner", "evaluation"):
        assert by_entity[entity]["new"] >= 1, entity
    assert all(summary[c] for c in CATEGORIES), summary
    assert applied.received_to is not None
    assert {(e, f) for e, _rid, f, *_ in applied.listed_conflicts} == {
        ("measure", "description"), ("measure", "objective"), ("measure", "deleted"),
        ("partner", "notes")}
    here = _stored(s.db)
    for entity, name in NOT_IN_BUNDLE:
        assert s.ids[name] in here[entity] and s.ids[name] not in staged[entity]


@pytest.fixture(scope="module")
def shared_start(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The Kreis and two PCs of VG Landstuhl that have all exchanged four measures (with an
    indicator, a budget line and a partner's participation each), the partner and an
    evaluation: the start of each drawn situation (database files, closed)."""
    root = tmp_path_factory.mktemp("shared")
    kreis = make_ws(root / "k", "kreis-kl")
    pc1 = make_ws(root / "l1", "vg-landstuhl", "landstuhl-pc1")
    pc2 = make_ws(root / "l2", "vg-landstuhl", "landstuhl-pc2")
    try:
        trust_all([kreis, pc1, pc2], root / "keys")
        pid = partners.save_partner(pc1, PartnerData(
            name="Caritas", contacts=[ContactData(name="Frau Adler")])).id
        ids = [new_measure(pc1, f"HF1-{n:02d}", f"Maßnahme {n}",
                           indicators=[IndicatorData(f"K{n}", "Personen", 0, 10)],
                           budget_lines=[BudgetLineData(2026, "sach", "kreis", 100)],
                           partners=[ParticipationData(partner_id=pid)]) for n in range(4)]
        e = evaluations.new_evaluation(pc1, ids[0], "2026-H1")
        e.results = "gut"
        evaluations.save_evaluation(pc1, e)
        exchange(pc1, pc2, root / "a.ipbundle")
        exchange(pc1, kreis, root / "b.ipbundle")
        exchange(kreis, pc1, root / "c.ipbundle")
        files = {name: _freeze(ws, root / f"frozen-{name}")
                 for name, ws in (("kreis", kreis), ("pc1", pc1), ("pc2", pc2))}
    finally:
        for ws in (kreis, pc1, pc2):
            ws.close()
    return {"files": files, "measures": ids, "partner": pid}


MEASURE_OPS = ("nothing", "title", "description", "delete", "indicator", "drop-indicator",
               "budget")


def _change_measure(ws: Workspace, mid: str, op: str, who: str) -> None:
    if op == "nothing":
        return
    if op == "delete":
        measures.delete_measure(ws, mid)
        return
    data = measures.get_measure(ws, mid)
    if op in ("title", "description"):
        setattr(data, op, f"{op} von {who}")
    elif op == "indicator":
        data.indicators[0].target = 42 if who == "pc1" else 24
    elif op == "drop-indicator":
        data.indicators = []
    elif op == "budget":
        data.budget_lines[0].planned_cents = 777 if who == "pc1" else 555
    measures.save_measure(ws, data)


@settings(max_examples=8, deadline=None, database=None, phases=[Phase.generate],
          suppress_health_check=[HealthCheck.too_slow])
@given(pc1_ops=hst.lists(hst.sampled_from(MEASURE_OPS), min_size=4, max_size=4),
       pc2_ops=hst.lists(hst.sampled_from(MEASURE_OPS), min_size=4, max_size=4),
       partner=hst.sampled_from(("nothing", "pc1", "pc2", "both", "delete")),
       new_records=hst.booleans())
def test_the_preview_is_what_is_applied_in_drawn_situations(
        shared_start: dict[str, Any], pc1_ops: list[str], pc2_ops: list[str], partner: str,
        new_records: bool) -> None:
    """PC 2's changes reach the Kreis first, then PC 1's full bundle with its own changes of
    the same records (same field, other fields, delete against edit, children): whatever the
    draw, the preview is what is applied (see _apply_and_compare)."""
    with tempfile.TemporaryDirectory(prefix="ip-preview-") as tmp:
        root = Path(tmp)
        ws: dict[str, Workspace] = {}
        try:
            for name, file in shared_start["files"].items():
                (root / name).mkdir()
                shutil.copy(file, root / name / file.name)
                ws[name] = open_workspace(root / name / file.name, user=name)
            pid = shared_start["partner"]
            for who, ops in (("pc2", pc2_ops), ("pc1", pc1_ops)):
                for mid, op in zip(shared_start["measures"], ops, strict=True):
                    _change_measure(ws[who], mid, op, who)
                if partner in (who, "both"):
                    data = partners.get_partner(ws[who], pid)
                    data.notes = f"Notiz von {who}"
                    partners.save_partner(ws[who], data)
                if who == "pc2":
                    export_bundle(ws["pc2"], root / "pc2.ipbundle")
                    assert _apply_and_compare(ws["kreis"], root / "pc2.ipbundle")
            if partner == "delete":
                partners.set_deleted(ws["pc1"], pid, True)
            if new_records:
                new_measure(ws["pc1"], "HF1-99", "Neu", indicators=[
                    IndicatorData("N", "Personen", 0, 5)])
                partners.save_partner(ws["pc1"], PartnerData(name="AWO"))
            export_bundle(ws["pc1"], root / "pc1.ipbundle")
            applied = _apply_and_compare(ws["kreis"], root / "pc1.ipbundle")
            if any(op != "nothing" for op in pc1_ops) or new_records or partner in (
                    "pc1", "both", "delete"):  # PC 1 changed something the Kreis has not seen
                assert sum(applied.summary[c] for c in ("new", "changed", "deleted",
                                                        "conflict")) >= 1, applied.summary
        finally:
            for w in ws.values():
                w.close()
