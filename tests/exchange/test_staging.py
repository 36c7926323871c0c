"""Staging through worker processes gives exactly the staging tables of staging in-process.

Each worker stages whole entries into files of its own, which this process copies with their
indexes; a small chunk size (handed to the workers) puts the cuts between the read chunks in
the middle of lines, right behind line ends and into chunks without any line end.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from integrationsplaner.exchange import staging
from integrationsplaner.exchange.export import export_bundle
from integrationsplaner.exchange.format import ENTITY_ORDER, ENTRY_OF, SPECS
from integrationsplaner.exchange.reader import BundleError, read_header
from integrationsplaner.services import demo

from .helpers import make_ws, private_key, read_bundle, write_bundle

pytestmark = pytest.mark.skipif(not staging._can_fork(), reason="worker processes: Linux only")


def _stage(ws: Any, bundle: Path, folder: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every staged row with the storage class of each value."""
    header = read_header(ws, bundle, trust_new_sender=True)
    folder.mkdir()
    con = staging.create_stage(folder / "stage.sqlite")
    try:
        staging.stage_records(ws, header, con)
        return {entity: [tuple((type(v).__name__, v) for v in row) for row in con.execute(
            f"SELECT * FROM s_{entity} ORDER BY x_rid")] for entity in ENTITY_ORDER}
    finally:
        con.close()


def _here_and_in_workers(db: Path, bundle: Path, tmp_path: Path,
                         monkeypatch: pytest.MonkeyPatch, chunk: int
                         ) -> dict[str, list[tuple[Any, ...]]]:
    """The staged rows of ``bundle``, staged here and then by workers reading ``chunk`` bytes
    at a time; asserts that both are equal."""
    from integrationsplaner.services.workspace import open_workspace

    with open_workspace(db, user="t") as ws:
        here = _stage(ws, bundle, tmp_path / "here")
        monkeypatch.setattr(staging, "PARALLEL_MIN_BYTES", 0)
        monkeypatch.setattr(staging, "_CHUNK", chunk)
        workers = _stage(ws, bundle, tmp_path / "workers")
    assert workers == here
    return here


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Any]:
    """A demo bundle of the Kreis, a fresh database of the Kreis, and the sender's key."""
    root = tmp_path_factory.mktemp("staging")
    sender = make_ws(root / "s", "kreis-kl", "sender")
    demo.generate(sender, 40, 7)
    path = root / "demo.ipbundle"
    export_bundle(sender, path)
    key = private_key(sender)
    sender.close()
    target = make_ws(root / "t", "kreis-kl", "target")
    target.close()
    return path, target.path, key


@pytest.mark.parametrize("chunk", [1024 * 1024, 4096, 701])
def test_workers_stage_exactly_what_this_process_stages(
        bundle: tuple[Path, Path, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        chunk: int) -> None:
    path, db, _key = bundle
    here = _here_and_in_workers(db, path, tmp_path, monkeypatch, chunk)
    assert sum(len(rows) for rows in here.values()) > 400
    # every storage class the records use arrives as it was bound
    kinds = {kind for rows in here.values() for row in rows for kind, _v in row}
    assert {"str", "int", "float", "NoneType"} <= kinds


@pytest.mark.parametrize("chunk", [1024 * 1024, 4096])
def test_records_with_conflict_values_are_staged_alike(
        bundle: tuple[Path, Path, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        chunk: int) -> None:
    """A batch with records that carry conflict values (``siblings``) and batches without
    them: the empty column is written as NULL only where no row of the batch has one."""
    import json

    path, db, key = bundle
    manifest, entries = read_bundle(path)
    name = ENTRY_OF["measure"]
    lines = entries[name].split(b"\n")
    for n in (2, 3, 30):
        record = json.loads(lines[n])
        record["vv"] = {record["origin_replica"]: 2, "zweiter-pc": 1}
        record["siblings"] = {"title": [["zweiter-pc", 1, f"Anderer Titel {n}"]]}
        lines[n] = json.dumps(record, ensure_ascii=False).encode()
    entries[name] = b"\n".join(lines)
    conflicts = tmp_path / "conflicts.ipbundle"
    write_bundle(conflicts, manifest, entries, key)
    here = _here_and_in_workers(db, conflicts, tmp_path, monkeypatch, chunk)
    at = 1 + len(SPECS["measure"].columns)  # behind x_rid and the record's columns
    siblings = [row[at] for row in here["measure"]]
    assert sum(value != ("NoneType", None) for value in siblings) == 3
    assert siblings[3] == ("str", '{"title": [["zweiter-pc", 1, "Anderer Titel 3"]]}')


def test_a_bad_line_in_a_later_block_names_its_line(
        bundle: tuple[Path, Path, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The line number of an error found by a worker counts the lines of all blocks before."""
    from integrationsplaner.services.workspace import open_workspace

    path, db, key = bundle
    manifest, entries = read_bundle(path)
    name = ENTRY_OF["indicator"]
    lines = entries[name].split(b"\n")
    assert len(lines) > 100
    lines[57] = lines[57].replace(b'"unit":', b'"unit": 5, "x":', 1)
    entries[name] = b"\n".join(lines)
    broken = tmp_path / "broken.ipbundle"
    write_bundle(broken, manifest, entries, key)
    monkeypatch.setattr(staging, "PARALLEL_MIN_BYTES", 0)
    monkeypatch.setattr(staging, "_CHUNK", 997)
    with open_workspace(db, user="t") as ws, pytest.raises(BundleError, match="Zeile 58"):
        _stage(ws, broken, tmp_path / "s")


@pytest.mark.parametrize("parallel", [False, True], ids=["here", "workers"])
def test_an_earlier_entry_is_reported_first(
        bundle: tuple[Path, Path, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        parallel: bool) -> None:
    """An id twice in the measures and a damaged indicators entry: the measures are reported,
    as before the id index of an entry was built while the next one is read."""
    import zipfile

    from integrationsplaner.services.workspace import open_workspace

    path, db, key = bundle
    manifest, entries = read_bundle(path)
    measures = entries[ENTRY_OF["measure"]].split(b"\n")
    measures[5] = measures[3].replace(b'"title":"', b'"title":"Doppelt ', 1)
    entries[ENTRY_OF["measure"]] = b"\n".join(measures)
    twice = tmp_path / "twice.ipbundle"
    write_bundle(twice, manifest, entries, key)
    if parallel:
        monkeypatch.setattr(staging, "PARALLEL_MIN_BYTES", 0)
        monkeypatch.setattr(staging, "_CHUNK", 997)
    with open_workspace(db, user="t") as ws:
        with pytest.raises(BundleError, match=r"Zeile 6: die Datensatz-ID .* mehrfach"):
            _stage(ws, twice, tmp_path / "a")
        # the same with a later entry whose bytes do not match the manifest
        damaged = tmp_path / "damaged.ipbundle"
        data = twice.read_bytes()
        with zipfile.ZipFile(twice) as zf:
            info = zf.getinfo(ENTRY_OF["indicator"])
        start = info.header_offset + 30 + len(info.filename) + len(info.extra) + 40
        damaged.write_bytes(data[:start] + bytes([data[start] ^ 0xFF]) + data[start + 1:])
        with pytest.raises(BundleError, match=r"Zeile 6: die Datensatz-ID .* mehrfach"):
            _stage(ws, damaged, tmp_path / "b")
        # and the damaged entry alone is reported as damaged
        entries[ENTRY_OF["measure"]] = b"\n".join(measures[:5] + measures[6:])
        once = tmp_path / "once.ipbundle"
        write_bundle(once, manifest, entries, key)
        data = once.read_bytes()
        with zipfile.ZipFile(once) as zf:
            info = zf.getinfo(ENTRY_OF["indicator"])
        start = info.header_offset + 30 + len(info.filename) + len(info.extra) + 40
        (tmp_path / "c.ipbundle").write_bytes(
            data[:start] + bytes([data[start] ^ 0xFF]) + data[start + 1:])
        with pytest.raises(BundleError, match="beschädigt"):
            _stage(ws, tmp_path / "c.ipbundle", tmp_path / "c")


def test_one_progress_bar_over_checking_and_planning(bundle: tuple[Path, Path, Any]) -> None:
    """The progress of an import's check never runs backwards (checking the records, then
    planning, fill one bar)."""
    from integrationsplaner.exchange.importer import prepare_import
    from integrationsplaner.services.workspace import open_workspace

    path, db, _key = bundle
    seen: list[tuple[int, int]] = []
    with open_workspace(db, user="t") as ws:
        prepare_import(ws, path, trust_new_sender=True,
                       progress=lambda done, total: seen.append((done, total)) or True).close()
    assert {total for _done, total in seen} == {1000}
    values = [done for done, _total in seen]
    assert values == sorted(values)
    assert values[0] < 750 < values[-1] <= 1000


def test_a_crashed_worker_is_not_reported_as_a_damaged_file(
        bundle: tuple[Path, Path, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    """A worker process that dies (killed for lack of memory, say) ends the check with a
    message that says so, not with "the file is damaged"."""
    import os
    from concurrent.futures import ProcessPoolExecutor

    from integrationsplaner.errors import UserError
    from integrationsplaner.exchange.importer import prepare_import
    from integrationsplaner.services.workspace import open_workspace

    def dying_workers(_validator: Any) -> Any:
        context = staging.multiprocessing_context()
        return staging._Workers(ProcessPoolExecutor(1, mp_context=context, initializer=os._exit,
                                                    initargs=(9,)),
                                context.Value("q", 0), context.Value("b", 0, lock=False))

    monkeypatch.setattr(staging, "PARALLEL_MIN_BYTES", 0)
    monkeypatch.setattr(staging, "_workers", dying_workers)
    path, db, _key = bundle
    with open_workspace(db, user="t") as ws, pytest.raises(UserError) as caught:
        prepare_import(ws, path, trust_new_sender=True)
    assert "Hilfsprozess" in caught.value.message and "beschädigt" not in caught.value.message


def test_progress_of_the_workers_runs_forward_and_cancels(
        bundle: tuple[Path, Path, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Entries staged by workers report their records as they go (one bar that never runs
    backwards and ends at the total), and a cancel stops them: nothing is left behind."""
    import tempfile

    from integrationsplaner.exchange.reader import ImportCancelled
    from integrationsplaner.services.workspace import open_workspace

    monkeypatch.setattr(staging, "PARALLEL_MIN_BYTES", 0)
    monkeypatch.setattr(staging, "_CHUNK", 2048)
    path, db, _key = bundle
    header_total = 0
    seen: list[int] = []
    with open_workspace(db, user="t") as ws:
        header = read_header(ws, path, trust_new_sender=True)
        header_total = sum(header.counts.values())
        folder = tmp_path / "a"
        folder.mkdir()
        con = staging.create_stage(folder / "stage.sqlite")
        try:
            staging.stage_records(ws, header, con, lambda done, total: seen.append(done) or True)
        finally:
            con.close()
        assert seen == sorted(seen) and seen[-1] == header_total
        assert sorted(p.name for p in folder.iterdir()) == ["stage.sqlite"]  # parts removed
        # cancelled at the first report: the error, and no worker left running
        monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
        (tmp_path / "tmp").mkdir()
        from integrationsplaner.exchange.importer import prepare_import

        with pytest.raises(ImportCancelled):
            prepare_import(ws, path, trust_new_sender=True, progress=lambda d, t: False)
    assert not list((tmp_path / "tmp").glob(staging.STAGE_PREFIX + "*"))


@pytest.mark.parametrize("parallel", [False, True], ids=["here", "workers"])
def test_a_full_temporary_disk_is_told_in_german(
        bundle: tuple[Path, Path, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        parallel: bool) -> None:
    """The staging files may not grow (what a full disk does): a German message that says
    what to do, nothing changed, no staging folder left behind."""
    import tempfile

    from integrationsplaner.errors import UserError
    from integrationsplaner.exchange import importer
    from integrationsplaner.services.workspace import open_workspace

    if parallel:  # a worker's file: the worker fails, its error is told here (the workers
        # run in fresh processes, so they are handed a function that limits their file there)
        monkeypatch.setattr(staging, "PARALLEL_MIN_BYTES", 0)
        monkeypatch.setattr(staging, "_worker_stage_entry", _full_worker_stage_entry)
    else:
        monkeypatch.setattr(importer, "create_stage",
                            lambda path: _full(staging.create_stage(path)))
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    path, db, _key = bundle
    before = db.read_bytes()
    with open_workspace(db, user="t") as ws, pytest.raises(UserError) as caught:
        importer.prepare_import(ws, path, trust_new_sender=True)
    assert "konnte nicht geprüft werden" in caught.value.message
    assert "full" in caught.value.message and "temporäre Dateien" in caught.value.message
    assert db.read_bytes() == before
    assert not list(tmp_path.glob(staging.STAGE_PREFIX + "*"))


def _full(con: Any) -> Any:
    """The connection, on a file that may not grow beyond what it has."""
    con.execute("PRAGMA max_page_count = 2")
    return con


def _full_worker_stage_entry(path: str, info: Any, entity: str, entry: Any, part: str,
                             chunk: int) -> Any:
    """_worker_stage_entry on a file that may not grow (runs in a worker process)."""
    real = staging._create_part
    staging._create_part = lambda *a: _full(real(*a))
    try:
        return staging._worker_stage_entry(path, info, entity, entry, part, chunk)
    finally:
        staging._create_part = real
