"""Taking back a small import with its rollback file (``integrationsplaner rollback``)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from integrationsplaner.cli import main
from integrationsplaner.domain.model import IndicatorData
from integrationsplaner.services.workspace import Workspace, open_workspace

from .helpers import (
    dump,
    edit_measure,
    exchange,
    file_digest,
    import_file,
    new_measure,
    sealed,
)


def _state(ws: Workspace) -> dict[str, Any]:
    """What an import changes: the records, the open conflicts, the sender bookkeeping."""
    result = dump(ws)
    con = sqlite3.connect(ws.db.path)
    try:
        # without the times of the bookkeeping (a re-import writes its own; the review tests
        # compare the raw rows)
        result["exchange_received"] = sorted(con.execute(
            "SELECT replica_id, office_key, upto_seq FROM exchange_received").fetchall())
        result["exchange_acks"] = sorted(con.execute(
            "SELECT office_key, replica_id, acked_seq, bundle_id FROM exchange_acks").fetchall())
        result["fts"] = sorted(con.execute(
            "SELECT rowid, title FROM measures_fts WHERE measures_fts MATCH 'Sprachcafe*'"
        ).fetchall())
    finally:
        con.close()
    return result


@pytest.fixture
def after_conflict(offices, tmp_path: Path) -> dict[str, Any]:
    """The Kreis has a measure of VG Landstuhl; both Landstuhl PCs edit its title at the same
    time; PC 2's edit reaches the Kreis first, then PC 1's bundle with the concurrent edit (a
    conflict), a new measure with an indicator and a title change of another measure."""
    kreis, pc1, pc2, _ramstein = offices
    first = new_measure(pc1, "HF1-01", "Sprachcafe Landstuhl")
    other = new_measure(pc1, "HF1-02", "Sprachcafe Kindsbach")
    exchange(pc1, kreis, tmp_path / "b1.ipbundle")
    exchange(kreis, pc2, tmp_path / "relay.ipbundle")
    edit_measure(pc2, first, title="Sprachcafe Landstuhl (PC 2)")
    edit_measure(pc1, first, title="Sprachcafe Landstuhl (PC 1)")
    edit_measure(pc1, other, title="Sprachcafe Kindsbach & Umgebung <neu>")
    new_measure(pc1, "HF1-03", "Sprachcafe Ramstein",
                indicators=[IndicatorData("Teilnehmende", "Personen", 0, 20)])
    exchange(pc2, kreis, tmp_path / "b2.ipbundle")
    before = _state(kreis)
    bundle = tmp_path / "b3.ipbundle"
    from integrationsplaner.exchange.export import export_bundle

    export_bundle(pc1, bundle)
    result = import_file(kreis, bundle)
    assert result.applied and result.open_conflicts == 1
    assert result.backup is not None and result.backup.suffix == ".jsonl"
    return {"kreis": kreis, "pc1": pc1, "pc2": pc2, "before": before, "bundle": bundle,
            "rollback": result.backup, "after": _state(kreis), "b2": tmp_path / "b2.ipbundle"}


def test_rollback_restores_the_state_before_and_the_bundle_imports_again(
        after_conflict: dict[str, Any], capsys) -> None:
    s = after_conflict
    kreis: Workspace = s["kreis"]
    assert s["after"] != s["before"]
    kreis.close()  # the command opens the database itself
    capsys.readouterr()
    assert main(["rollback", "--db", str(kreis.db.path), str(s["rollback"])]) == 0
    out = capsys.readouterr().out
    assert "zurückgenommen" in out and "2 angelegte" in out and "2 geänderte" in out
    assert _state(kreis) == s["before"]
    con = sqlite3.connect(kreis.db.path)
    try:
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert con.execute("PRAGMA foreign_key_check").fetchall() == []
        assert con.execute("SELECT count(*) FROM audit_log WHERE action = 'zuruecknehmen'"
                           ).fetchone()[0] == 4
    finally:
        con.close()
    # the same bundle is not "already imported": it applies again, to the same result
    with open_workspace(kreis.db.path) as reopened:
        from integrationsplaner.exchange.history import list_history

        assert [r.direction for r in list_history(reopened)][:1] == ["zurueck"]
        again = import_file(reopened, s["bundle"])
        assert again.applied and not again.nothing_to_do and again.open_conflicts == 1
        assert _state(reopened) == s["after"]


def test_rollback_refusals_change_nothing(after_conflict: dict[str, Any], tmp_path: Path,
                                          capsys) -> None:
    s = after_conflict
    kreis: Workspace = s["kreis"]
    db = kreis.db.path
    kreis.close()

    def refused(file: Path, message: str) -> None:
        before = file_digest(db)
        capsys.readouterr()
        assert main(["rollback", "--db", str(db), str(file)]) == 1
        err = capsys.readouterr().err
        assert message in err and "Traceback" not in err, err
        assert file_digest(db) == before

    original = s["rollback"].read_bytes()
    assert b'"deleted":0' in original

    def seal(content: bytes) -> bytes:
        return sealed(content.decode()).encode()

    for name, content, message in (
            ("leer.jsonl", b"", "keine Rücksicherungsdatei"),
            ("kaputt.jsonl", original[: len(original) // 2], "beschädigt"),
            ("docx.jsonl", b"PK\x03\x04" + b"\x00" * 100, "beschädigt"),
            ("fremd.jsonl", seal(original.replace(b'"tabelle":"measures"',
                                                  b'"tabelle":"sqlite_master"', 1)),
             "unbekannter"),
            ("spalte.jsonl", seal(original.replace(b'"title":', b'"title\\" = 1; --":', 1)),
             "fremde Zeile"),
            # cut after a whole line, a value changed: the checksum no longer fits
            ("gekuerzt.jsonl", b"".join(original.splitlines(keepends=True)[:-2]),
             "Prüfsumme stimmt nicht"),
            ("geaendert.jsonl", original.replace(b'"deleted":0', b'"deleted":1', 1),
             "Prüfsumme stimmt nicht")):
        path = tmp_path / name
        path.write_bytes(content)
        refused(path, message)
    # a key the import did not add (the Kreis's own), to be "forgotten"
    con = sqlite3.connect(db)
    own_key = con.execute("SELECT fingerprint FROM exchange_keys WHERE private_key IS NOT NULL"
                          ).fetchone()[0]
    con.close()
    extra = tmp_path / "schluessel.jsonl"
    extra.write_bytes(seal(original + b'{"tabelle":"exchange_keys","id":"%s","vorher":null}\n'
                           % own_key.encode()))
    refused(extra, "nicht angelegt")
    # a file of another database (PC 1's replica id)
    foreign = tmp_path / "andere.jsonl"
    foreign.write_bytes(seal(original.replace(kreis.db.replica_id.encode(),
                                              s["pc1"].db.replica_id.encode(), 1)))
    refused(foreign, "anderen Datenbank")
    # after a later change: the import would take that work with it
    with open_workspace(db) as again:
        new_measure(again, "HF5-01", "Integrationsbeirat")
    refused(s["rollback"], "weiter bearbeitet")


def test_a_file_of_version_2_without_checksum_is_still_taken_back(
        after_conflict: dict[str, Any], capsys) -> None:
    """Files written before the checksum line existed (format version 2) stay usable."""
    s = after_conflict
    kreis: Workspace = s["kreis"]
    kreis.close()
    lines = s["rollback"].read_text(encoding="utf-8").splitlines()
    assert json.loads(lines[-1]).keys() == {"pruefsumme_sha256"}
    old = s["rollback"].with_name("alt.vor-import.jsonl")
    old.write_text("\n".join([json.dumps({**json.loads(lines[0]), "format_version": 2}),
                              *lines[1:-1]]) + "\n", encoding="utf-8")
    assert main(["rollback", "--db", str(kreis.db.path), str(old)]) == 0, capsys.readouterr()
    assert _state(kreis) == s["before"]


def test_only_the_last_import_and_only_once(after_conflict: dict[str, Any], capsys) -> None:
    s = after_conflict
    kreis: Workspace = s["kreis"]
    kreis.close()
    assert main(["rollback", "--db", str(kreis.db.path), str(s["rollback"])]) == 0
    capsys.readouterr()
    assert main(["rollback", "--db", str(kreis.db.path), str(s["rollback"])]) == 1
    assert "bereits zurückgenommen" in capsys.readouterr().err
