"""Review of ``integrationsplaner rollback``: the restored state, what must refuse the rollback,
and hostile rollback files; the bugs the review found have a test each."""

from __future__ import annotations

import contextlib
import json
import shutil
import sqlite3
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from integrationsplaner.cli import main
from integrationsplaner.domain.model import IndicatorData, MilestoneData
from integrationsplaner.errors import UserError
from integrationsplaner.exchange.export import export_bundle
from integrationsplaner.exchange.format import ENTITY_ORDER, TABLE_OF
from integrationsplaner.exchange.rollback import rollback_import
from integrationsplaner.services import measures
from integrationsplaner.services.workspace import Workspace, open_workspace

from .helpers import (
    dump,
    edit_measure,
    exchange,
    file_digest,
    import_file,
    make_ws,
    new_measure,
    sealed,
    trust_all,
)

_BOOK = ("exchange_conflicts", "exchange_received", "exchange_acks")
#: What the import learned (tested on their own below); left out of the other tests.
_LEARNED = ("exchange_keys", "exchange_replicas")


def _raw(ws: Workspace | Path, *, stamps: bool = True, learned: bool = False
         ) -> dict[str, Any]:
    """Every row an import may touch, raw (seq, sort keys, timestamps included), the open
    conflicts as shown, and the full-text index (checked against its content table)."""
    path = ws if isinstance(ws, Path) else ws.db.path
    result: dict[str, Any] = {}
    con = sqlite3.connect(path)
    try:
        for table in (*(TABLE_OF[e] for e in ENTITY_ORDER), *_BOOK,
                      *(_LEARNED if learned else ())):
            cur = con.execute(f"SELECT * FROM {table}")
            names = [d[0] for d in cur.description]
            rows = []
            for row in cur.fetchall():
                record = dict(zip(names, row, strict=True))
                if not stamps:
                    for key in ("seq", "detected_at", "updated_at", "first_seen", "added_at"):
                        if table.startswith("exchange_"):
                            record.pop(key, None)
                rows.append(json.dumps(record, sort_keys=True, default=str))
            result[table] = sorted(rows)
        con.execute("INSERT INTO measures_fts(measures_fts, rank) VALUES ('integrity-check', 1)")
        words = {w for (t,) in con.execute("SELECT title FROM measures") for w in t.split()
                 if w.isalnum()}
        result["fts"] = {w: sorted(r for (r,) in con.execute(
            "SELECT rowid FROM measures_fts WHERE measures_fts MATCH ?", (f'"{w}"',)))
            for w in sorted(words)}
        assert con.execute("PRAGMA foreign_key_check").fetchall() == []
    finally:
        con.close()
    if isinstance(ws, Workspace):
        result["shown_conflicts"] = dump(ws)["conflicts"]
    return result


def _audit_entries(ws: Workspace, bundle_id: str) -> int:
    con = sqlite3.connect(ws.db.path)
    try:
        return con.execute("SELECT count(*) FROM audit_log WHERE bundle_id = ?",
                           (bundle_id,)).fetchone()[0]
    finally:
        con.close()


def _undo(ws: Workspace, file: Path) -> None:
    rollback_import(ws, file)


def _landstuhl(tmp: Path) -> tuple[Workspace, Workspace]:
    """Two PCs of VG Landstuhl (the same office: both may change the same records)."""
    pc1 = make_ws(tmp / "l1", "vg-landstuhl", "landstuhl-pc1")
    pc2 = make_ws(tmp / "l2", "vg-landstuhl", "landstuhl-pc2")
    trust_all([pc1, pc2], tmp / "keys")
    return pc1, pc2


def _round_trip(target: Workspace, source: Workspace, bundle: Path) -> dict[str, Any]:
    """Import ``bundle`` of ``source`` into ``target``, take it back, import it again."""
    export_bundle(source, bundle)
    before = _raw(target)
    result = import_file(target, bundle)
    assert result.applied and result.backup is not None and result.backup.suffix == ".jsonl"
    after = _raw(target, stamps=False)
    _undo(target, result.backup)
    restored = _raw(target)
    assert restored == before
    again = import_file(target, bundle)
    assert again.applied and not again.nothing_to_do
    assert _raw(target, stamps=False) == after
    return {"before": before, "after": after, "result": result}


# --- what is fine ----------------------------------------------------------------------------


def test_delete_edit_conflict_and_papierkorb_are_restored(tmp_path: Path) -> None:
    """PC 1 moved a measure to the Papierkorb while PC 2 edited it (kind 'loeschen'), and a
    second one PC 2 restored from the Papierkorb while PC 1 edited it."""
    pc1, pc2 = _landstuhl(tmp_path)
    try:
        gone = new_measure(pc1, "HF1-01", "Sprachcafe Landstuhl")
        back = new_measure(pc1, "HF1-02", "Lernpaten Kindsbach")
        measures.delete_measure(pc1, back)
        exchange(pc1, pc2, tmp_path / "start.ipbundle")
        measures.delete_measure(pc1, gone)
        edit_measure(pc2, gone, title="Sprachcafe Landstuhl neu")
        measures.restore_measure(pc2, back)
        edit_measure(pc1, back, description="bei PC 1 bearbeitet")
        s = _round_trip(pc1, pc2, tmp_path / "b.ipbundle")
        kinds = {json.loads(r)["kind"] for r in s["after"]["exchange_conflicts"]}
        assert "loeschen" in kinds
    finally:
        pc1.close()
        pc2.close()


def test_conflicts_with_the_same_key_from_an_earlier_bundle_come_back_as_they_were(
        tmp_path: Path) -> None:
    """An open conflict of bundle A on a record that bundle B changes again: B replaces it (the
    same unique key); taking B back restores A's row with its seq, bundle id and time."""
    pc1, pc2 = _landstuhl(tmp_path)
    try:
        mid = new_measure(pc1, "HF1-01", "Sprachcafe")
        exchange(pc1, pc2, tmp_path / "start.ipbundle")
        edit_measure(pc1, mid, title="Sprachcafe PC 1")
        edit_measure(pc2, mid, title="Sprachcafe PC 2")
        first = exchange(pc2, pc1, tmp_path / "a.ipbundle")
        assert first.open_conflicts == 1
        edit_measure(pc2, mid, description="Beschreibung von PC 2",
                     indicators=[IndicatorData("Teilnehmende", "Personen", 0, 12)])
        s = _round_trip(pc1, pc2, tmp_path / "b.ipbundle")
        bundles = {k: {json.loads(r)["bundle_id"] for r in s[k]["exchange_conflicts"]}
                   for k in ("before", "after")}
        assert bundles == {"before": {first.bundle_id}, "after": {s["result"].bundle_id}}
        assert len(s["before"]["shown_conflicts"]) == 1
    finally:
        pc1.close()
        pc2.close()


def test_children_of_new_and_of_known_measures_are_removed_children_first(
        tmp_path: Path) -> None:
    pc1, pc2 = _landstuhl(tmp_path)
    try:
        mid = new_measure(pc1, "HF1-01", "Sprachcafe",
                          indicators=[IndicatorData("Treffen", "Anzahl", 0, 10)])
        exchange(pc1, pc2, tmp_path / "start.ipbundle")
        edit_measure(pc2, mid, indicators=[IndicatorData("Besuch", "Personen", 1, 40)],
                     milestones=[MilestoneData("Auftakt")])
        new_measure(pc2, "HF2-01", "Elterncafe",
                    indicators=[IndicatorData("Eltern", "Personen", 0, 8)],
                    milestones=[MilestoneData("Start")])
        s = _round_trip(pc1, pc2, tmp_path / "b.ipbundle")
        assert len(s["after"]["indicators"]) > len(s["before"]["indicators"])
    finally:
        pc1.close()
        pc2.close()


_OPS = st.lists(st.sampled_from([
    ("pc2", "title"), ("pc2", "description"), ("pc2", "delete"), ("pc2", "restore"),
    ("pc2", "indicator"), ("pc2", "new"), ("pc1", "title"), ("pc1", "description"),
    ("pc1", "delete"), ("pc1", "restore"), ("pc1", "new"), ("both", "title"),
    ("both", "delete")]), min_size=1, max_size=6)


@settings(max_examples=20, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(earlier=_OPS, ops=_OPS, picks=st.lists(st.integers(0, 1), min_size=6, max_size=6))
def test_rollback_restores_the_state_before_for_random_concurrent_work(
        earlier: list[tuple[str, str]], ops: list[tuple[str, str]], picks: list[int]) -> None:
    """Shared measures; concurrent work on both PCs and an exchange PC 2 → PC 1 (earlier
    conflicts), more concurrent work, then the bundle under test: imported, taken back (every
    row as before), imported again (the same result)."""
    root = Path(tempfile.mkdtemp(prefix="ip-rollback-review-"))
    pc1, pc2 = _landstuhl(root)
    try:
        shared = [new_measure(pc1, "HF1-01", "Sprachcafe"),
                  new_measure(pc1, "HF1-02", "Lernpaten")]
        exchange(pc1, pc2, root / "start.ipbundle")
        serial = iter(range(1000))

        def work(steps: list[tuple[str, str]]) -> None:
            for n, (name, op) in enumerate(steps):
                ws = pc1 if name == "pc1" else pc2
                mid = shared[picks[n % len(picks)]]
                if name == "both":  # the same record on both PCs at once
                    if not measures.get_measure(pc2, mid).deleted:
                        edit_measure(pc2, mid, title=f"Titel PC 2 {next(serial)}")
                    if op == "delete":
                        measures.delete_measure(pc1, mid)
                    elif not measures.get_measure(pc1, mid).deleted:
                        edit_measure(pc1, mid, title=f"Titel PC 1 {next(serial)}")
                    continue
                text = f"{op} {name} {next(serial)}"
                data = measures.get_measure(ws, mid)
                if op == "new":
                    new_measure(ws, f"HF3-{next(serial):02d}", f"Neu {text}")
                elif op == "delete":
                    measures.delete_measure(ws, mid)
                elif op == "restore":
                    measures.restore_measure(ws, mid)
                elif data.deleted:
                    continue
                elif op == "indicator":
                    edit_measure(ws, mid, indicators=[
                        *data.indicators, IndicatorData(f"K {text}", "Anzahl", 0, 5)])
                else:
                    edit_measure(ws, mid, **{op: f"{op} {text}"})

        work(earlier)
        exchange(pc2, pc1, root / "a.ipbundle")
        work(ops)
        export_bundle(pc2, root / "b.ipbundle")
        before = _raw(pc1)
        result = import_file(pc1, root / "b.ipbundle")
        if not result.applied or result.backup is None:
            return  # nothing changed: no rollback file
        if not _audit_entries(pc1, result.bundle_id):
            return  # only version changes: refused, see test_import_without_audit_entries
        after = _raw(pc1, stamps=False)
        _undo(pc1, result.backup)
        assert _raw(pc1) == before
        again = import_file(pc1, root / "b.ipbundle")
        assert again.applied
        assert _raw(pc1, stamps=False) == after
    finally:
        pc1.close()
        pc2.close()
        shutil.rmtree(root, ignore_errors=True)


# --- hostile files: refused with a German message, the database unchanged --------------------


@pytest.fixture
def imported(offices, tmp_path: Path) -> dict[str, Any]:
    """The Kreis has a measure of its own, then imports a small bundle of PC 1 (a new measure
    with an indicator, a changed one); the database is closed for the command."""
    kreis, pc1, _pc2, _ramstein = offices
    own = new_measure(kreis, "KR-01", "Integrationsbeirat")
    changed = new_measure(pc1, "HF1-01", "Sprachcafe")
    exchange(pc1, kreis, tmp_path / "b1.ipbundle")
    edit_measure(pc1, changed, title="Sprachcafe Landstuhl")
    new_measure(pc1, "HF1-02", "Lernpaten",
                indicators=[IndicatorData("Teilnehmende", "Personen", 0, 20)])
    result = exchange(pc1, kreis, tmp_path / "b2.ipbundle")
    assert result.backup is not None and result.backup.suffix == ".jsonl"
    kreis.close()
    return {"db": kreis.db.path, "file": result.backup, "own": own, "changed": changed,
            "kreis": kreis, "pc1": pc1}


def _refused(db: Path, file: Path, capsys, message: str = "") -> str:
    digest = file_digest(db)
    capsys.readouterr()
    assert main(["rollback", "--db", str(db), str(file)]) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err and "nichts geändert" in err and message in err, err
    assert file_digest(db) == digest
    return err


def test_hostile_headers_and_injection_attempts_are_refused(imported: dict[str, Any],
                                                             tmp_path: Path, capsys) -> None:
    db, original = imported["db"], imported["file"].read_text(encoding="utf-8")
    lines = original.splitlines()
    header = json.loads(lines[0])
    variants: dict[str, tuple[str, str]] = {}
    for key, value, message in (
            ("format_version", 1, "Formatversion"), ("format_version", 4, "Formatversion"),
            ("format_version", True, "Formatversion"), ("format_version", "2", "Formatversion"),
            ("audit_bis", -1, "audit_bis"), ("journal_bis", "7", "journal_bis"),
            ("protokoll_bis", None, "protokoll_bis"),
            ("format_version", None, "Formatversion"), ("format", "integrationsplaner-buendel",
                                                       "keine Rücksicherungsdatei"),
            ("buendel_id", "", "buendel_id"), ("buendel_id", 17, "buendel_id"),
            ("buendel_id", "00000000-0000-0000-0000-000000000000", "passt nicht"),
            ("replica_id", None, "replica_id"), ("absender", ["x"], "absender")):
        variants[f"{key}-{value!r}"] = (
            "\n".join([json.dumps({**header, key: value}), *lines[1:]]), message)
    variants["ohne-kopf"] = ("\n".join(lines[1:]), "keine Rücksicherungsdatei")
    variants["liste"] = ("[1, 2]\n", "keine Rücksicherungsdatei")
    variants["doppelter-schluessel"] = (original.replace('"tabelle":', '"tabelle":"x","tabelle":',
                                                         1), "kein gültiges JSON")
    for table in ('measures\\"; DROP TABLE measures; --', "audit_log", "exchange_log", "meta",
                  "measures_fts"):
        variants[f"tabelle-{table[:8]}"] = (
            original.replace('"tabelle":"measures"', f'"tabelle":"{table}"', 1), "unbekannter")
    # a created measure passed off as a learned key or installation: the measure is missing
    for table in ("exchange_keys", "exchange_replicas"):
        variants[f"tabelle-{table}"] = (
            original.replace('"tabelle":"measures"', f'"tabelle":"{table}"', 1), "nicht genau")
    for column in ('title\\" = 1, \\"office_key', "rowid", "oid", "_rowid_", "main.title",
                   "TITLE "):
        variants[f"spalte-{column[:5]}"] = (
            original.replace('"title":', f'"{column}":', 1), "fremde Zeile")
    changed = next(x for x in map(json.loads, lines) if x.get("vorher"))
    for key, value in (("id", "anders"), ("id", None)):
        wrong = {**changed, "vorher": {**changed["vorher"], key: value}}
        variants[f"vorher-{key}-{value}"] = (
            "\n".join(x if json.loads(x) != changed else json.dumps(wrong) for x in lines),
            "Datensatz-ID")
    variants["bool"] = (original.replace('"deleted":0', '"deleted":false', 1), "ungültige Werte")
    variants["nan"] = (original.replace('"deleted":0', '"deleted":NaN', 1), "gültiges JSON")
    variants["verschachtelt"] = (original.replace('"deleted":0', '"deleted":[[0]]', 1),
                                 "ungültige Werte")
    variants["leere-werte"] = (original.replace(
        '"tabelle":"exchange_received","vorher":{', '"tabelle":"exchange_received","vorher":{},'
        '"x":{', 1), "unbekannter Eintrag")
    variants["ohne-werte"] = (original.replace(
        '"tabelle":"exchange_received","vorher":{', '"tabelle":"exchange_received","y":{', 1),
        "unbekannter Eintrag")
    for n, (name, (text, message)) in enumerate(sorted(variants.items())):
        path = tmp_path / f"{n:02d}-{name[:20].replace('/', '_')}.jsonl"
        path.write_text(sealed(text), encoding="utf-8")
        _refused(db, path, capsys, message)


@settings(max_examples=25, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
def test_mutated_rollback_files_never_crash(imported: dict[str, Any], data: st.DataObject
                                            ) -> None:
    """One value or key of the file replaced (scalars in SQLite's range, no lone surrogates:
    those have tests of their own below): a German refusal that changes nothing, or a rollback that
    leaves a consistent database."""
    lines = [json.loads(x) for x in imported["file"].read_text(encoding="utf-8").splitlines()]
    scalars = (st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1)
               | st.floats(allow_nan=False, allow_infinity=False)
               | st.text(st.characters(blacklist_categories=("Cs",)), max_size=12)
               | st.sampled_from(["measures", "indicators", "exchange_conflicts", "id",
                                  "vorher", "tabelle", "seq", imported["own"]]))
    n = data.draw(st.integers(0, len(lines) - 1), label="line")
    line = lines[n]
    paths = [(k,) for k in line] + [("vorher", k) for k in (line.get("vorher") or {})]
    where = data.draw(st.sampled_from(paths), label="where")
    action = data.draw(st.sampled_from(["value", "drop", "add"]), label="action")
    target = line if len(where) == 1 else line["vorher"]
    if action == "value":
        target[where[-1]] = data.draw(scalars, label="value")
    elif action == "drop":
        del target[where[-1]]
    else:
        target[data.draw(st.text(max_size=8), label="key")] = data.draw(scalars, label="v")
    root = Path(tempfile.mkdtemp(prefix="ip-rollback-fuzz-"))
    try:
        db = root / imported["db"].name
        shutil.copy(imported["db"], db)
        file = root / "r.jsonl"
        file.write_text(sealed("\n".join(json.dumps(x, ensure_ascii=False) for x in lines)),
                        encoding="utf-8")
        digest = file_digest(db)
        with open_workspace(db) as ws:
            try:
                rollback_import(ws, file)
            except UserError as exc:
                assert "nichts geändert" in exc.message
                assert file_digest(db) == digest
        con = sqlite3.connect(db)
        try:
            assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        finally:
            con.close()
    finally:
        shutil.rmtree(root, ignore_errors=True)


# --- bugs --------------------------------------------------------------------------------------


def test_stale_rollback_file_of_an_earlier_application_of_the_same_bundle(
        tmp_path: Path) -> None:
    pc1, pc2 = _landstuhl(tmp_path)
    try:
        mid = new_measure(pc2, "HF1-01", "Sprachcafe")
        exchange(pc2, pc1, tmp_path / "start.ipbundle")
        edit_measure(pc2, mid, title="Sprachcafe (PC 2)")
        bundle = tmp_path / "b.ipbundle"
        export_bundle(pc2, bundle)
        first = import_file(pc1, bundle)
        _undo(pc1, first.backup)
        edit_measure(pc1, mid, description="Wichtige Arbeit von PC 1")
        second = import_file(pc1, bundle)
        assert second.applied and second.backup != first.backup
        with contextlib.suppress(UserError):
            _undo(pc1, first.backup)  # the wrong file: must be refused
        assert measures.get_measure(pc1, mid).description == "Wichtige Arbeit von PC 1"
    finally:
        pc1.close()
        pc2.close()


def test_rollback_after_an_export_does_not_lose_the_records_for_good(
        offices, tmp_path: Path) -> None:
    kreis, pc1, _pc2, _ramstein = offices
    new_measure(pc1, "HF1-01", "Start")
    exchange(pc1, kreis, tmp_path / "b1.ipbundle")
    exchange(kreis, pc1, tmp_path / "k1.ipbundle", to="vg-landstuhl")
    later = new_measure(pc1, "HF1-02", "Lernpaten")
    export_bundle(pc1, tmp_path / "b2.ipbundle", to="kreis-kl")
    result = import_file(kreis, tmp_path / "b2.ipbundle")
    assert result.backup is not None and result.backup.suffix == ".jsonl"
    export_bundle(kreis, tmp_path / "k2.ipbundle", to="vg-landstuhl")
    with contextlib.suppress(UserError):
        _undo(kreis, result.backup)  # must be refused: the export acknowledged the records
    # the ordinary exchange goes on
    import_file(pc1, tmp_path / "k2.ipbundle")
    exchange(pc1, kreis, tmp_path / "b3.ipbundle", to="kreis-kl")
    assert later in {r["id"] for r in dump(kreis)["measure"]}


def test_rollback_forgets_a_key_trusted_by_the_import(offices, tmp_path: Path) -> None:
    _kreis, pc1, _pc2, _ramstein = offices
    fresh = make_ws(tmp_path / "neu", "kreis-kl", "kreis-neu")
    try:
        new_measure(pc1, "HF1-01", "Sprachcafe")
        export_bundle(pc1, tmp_path / "b.ipbundle")
        before = _raw(fresh, learned=True)["exchange_keys"]
        result = import_file(fresh, tmp_path / "b.ipbundle", trust=True)
        assert result.backup is not None and result.backup.suffix == ".jsonl"
        _undo(fresh, result.backup)
        assert _raw(fresh, learned=True)["exchange_keys"] == before
    finally:
        fresh.close()


def test_rollback_forgets_installations_learned_by_the_import(offices, tmp_path: Path) -> None:
    kreis, pc1, _pc2, _ramstein = offices
    new_measure(pc1, "HF1-01", "Sprachcafe")
    export_bundle(pc1, tmp_path / "b.ipbundle")
    before = _raw(kreis, learned=True)["exchange_replicas"]
    result = import_file(kreis, tmp_path / "b.ipbundle")
    assert _raw(kreis, learned=True)["exchange_replicas"] != before
    _undo(kreis, result.backup)
    assert _raw(kreis, learned=True)["exchange_replicas"] == before


def test_a_line_naming_a_record_the_import_did_not_create_is_refused(
        imported: dict[str, Any], tmp_path: Path, capsys) -> None:
    file = tmp_path / "fremde-zeile.jsonl"
    file.write_text(sealed(imported["file"].read_text(encoding="utf-8") + json.dumps(
        {"tabelle": "measures", "id": imported["own"], "vorher": None}) + "\n"),
        encoding="utf-8")
    _refused(imported["db"], file, capsys)


def test_table_name_of_a_wrong_json_type(imported: dict[str, Any], tmp_path: Path,
                                         capsys) -> None:
    file = tmp_path / "liste.jsonl"
    file.write_text(sealed(imported["file"].read_text(encoding="utf-8").replace(
        '"tabelle":"indicators"', '"tabelle":["indicators"]', 1)), encoding="utf-8")
    _refused(imported["db"], file, capsys, "unbekannter Eintrag")


def test_huge_integer(imported: dict[str, Any], tmp_path: Path, capsys) -> None:
    file = tmp_path / "gross.jsonl"
    text = imported["file"].read_text(encoding="utf-8")
    assert '"action_area":1' in text
    file.write_text(sealed(text.replace('"action_area":1', '"action_area":99999999999999999999',
                                        1)), encoding="utf-8")
    _refused(imported["db"], file, capsys)


def test_lone_surrogate(imported: dict[str, Any], tmp_path: Path, capsys) -> None:
    file = tmp_path / "surrogat.jsonl"
    text = imported["file"].read_text(encoding="utf-8")
    assert '"title":"Sprachcafe"' in text
    file.write_text(sealed(text.replace('"title":"Sprachcafe"', '"title":"\\ud800"', 1)),
                    encoding="utf-8")
    _refused(imported["db"], file, capsys)


def test_a_refused_file_leaves_no_backup_copy(imported: dict[str, Any], tmp_path: Path,
                                              capsys) -> None:
    folder = imported["file"].parent
    copies = sorted(folder.glob("*.vor-ruecknahme.sqlite"))
    file = tmp_path / "spalte.jsonl"
    file.write_text(sealed(imported["file"].read_text(encoding="utf-8").replace(
        '"title":', '"titel":', 1)), encoding="utf-8")
    _refused(imported["db"], file, capsys, "fremde Zeile")
    assert sorted(folder.glob("*.vor-ruecknahme.sqlite")) == copies


def test_import_without_audit_entries_can_be_taken_back(tmp_path: Path) -> None:
    pc1, pc2 = _landstuhl(tmp_path)
    try:
        mid = new_measure(pc1, "HF1-01", "Sprachcafe")
        exchange(pc1, pc2, tmp_path / "start.ipbundle")
        measures.delete_measure(pc2, mid)
        exchange(pc2, pc1, tmp_path / "a.ipbundle")
        measures.restore_measure(pc2, mid)
        measures.delete_measure(pc2, mid)
        export_bundle(pc2, tmp_path / "b.ipbundle")
        before = _raw(pc1)
        result = import_file(pc1, tmp_path / "b.ipbundle")
        assert result.applied and result.backup is not None and result.backup.suffix == ".jsonl"
        assert _audit_entries(pc1, result.bundle_id) == 0
        _undo(pc1, result.backup)
        assert _raw(pc1) == before
    finally:
        pc1.close()
        pc2.close()


def test_a_failed_import_leaves_no_rollback_file(tmp_path: Path) -> None:
    from integrationsplaner.exchange.importer import apply_import, prepare_import
    from integrationsplaner.exchange.reader import BundleError

    pc1, pc2 = _landstuhl(tmp_path)
    try:
        mid = new_measure(pc1, "HF1-01", "Sprachcafe")
        exchange(pc1, pc2, tmp_path / "start.ipbundle")
        edit_measure(pc2, mid, title="Sprachcafe (PC 2)")
        export_bundle(pc2, tmp_path / "b.ipbundle")
        folder = pc1.db.path.parent / "Sicherungen"
        files = sorted(folder.glob("*.jsonl"))
        with prepare_import(pc1, tmp_path / "b.ipbundle") as plan:
            edit_measure(pc1, mid, description="nach der Vorschau")
            with pytest.raises(BundleError, match="seit der Vorschau"):
                apply_import(pc1, plan)
        assert sorted(folder.glob("*.jsonl")) == files
    finally:
        pc1.close()
        pc2.close()


def test_child_moved_to_a_new_measure(offices, tmp_path: Path) -> None:
    from sqlalchemy import select

    from integrationsplaner.services import records
    from integrationsplaner.store.models import Indicator

    kreis, pc1, _pc2, _ramstein = offices
    old = new_measure(pc1, "HF1-01", "Sprachcafe",
                      indicators=[IndicatorData("Treffen", "Anzahl", 0, 10)])
    exchange(pc1, kreis, tmp_path / "b1.ipbundle")
    moved_to = new_measure(pc1, "HF1-02", "Sprachcafe II")
    with pc1.db.transaction() as session:  # a tool of the office moves the indicator
        indicator = session.scalar(select(Indicator).where(Indicator.measure_id == old))
        records.change(session, indicator, pc1.actor, {"measure_id": moved_to})
    before = _raw(kreis)
    result = exchange(pc1, kreis, tmp_path / "b2.ipbundle")
    assert result.applied and result.backup is not None and result.backup.suffix == ".jsonl"
    _undo(kreis, result.backup)
    assert _raw(kreis) == before
