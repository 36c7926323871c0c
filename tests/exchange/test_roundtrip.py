"""Export, import, merge, conflicts, ownership, incremental bundles and the CLI contract."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest

from integrationsplaner.cli import main
from integrationsplaner.exchange import importer
from integrationsplaner.exchange.conflicts import list_conflicts, resolve
from integrationsplaner.exchange.export import export_bundle
from integrationsplaner.exchange.importer import apply_import, prepare_import
from integrationsplaner.services import measures
from integrationsplaner.services.workspace import open_workspace

from .helpers import (
    dump,
    edit_measure,
    exchange,
    file_digest,
    import_file,
    make_ws,
    new_measure,
    trust,
)


def test_full_roundtrip_and_second_import_is_noop(offices, tmp_path: Path) -> None:
    kreis, pc1, _pc2, _r = offices
    mid = new_measure(pc1, "HF1-01", "Sprachcafé Landstuhl", description="Jeden Dienstag")
    result = exchange(pc1, kreis, tmp_path / "b1.ipbundle")
    assert result.applied and result.summary["new"] >= 1 and result.exit_code == 0
    assert measures.get_measure(kreis, mid).title == "Sprachcafé Landstuhl"
    before = dump(kreis)
    again = import_file(kreis, tmp_path / "b1.ipbundle")
    assert again.nothing_to_do and not again.applied
    assert "bereits" in again.message
    assert dump(kreis) == before
    # imported data keeps its original stamps and time, never the importer's
    row = measures.get_measure(kreis, mid)
    assert row.version == measures.get_measure(pc1, mid).version
    assert row.updated_by == "landstuhl-pc1"


def test_different_fields_merge_same_field_conflicts(offices, tmp_path: Path) -> None:
    _k, pc1, pc2, _r = offices
    mid = new_measure(pc1, "HF1-02", "Lernpaten")
    exchange(pc1, pc2, tmp_path / "a.ipbundle")
    edit_measure(pc1, mid, description="Beschreibung von PC 1")
    edit_measure(pc2, mid, objective="Ziel von PC 2")
    edit_measure(pc1, mid, title="Titel PC 1")
    edit_measure(pc2, mid, title="Titel PC 2")
    r2 = exchange(pc1, pc2, tmp_path / "b.ipbundle")
    r1 = exchange(pc2, pc1, tmp_path / "c.ipbundle")
    assert r1.exit_code == 3 and r2.exit_code == 3
    m1, m2 = measures.get_measure(pc1, mid), measures.get_measure(pc2, mid)
    assert m1.description == m2.description == "Beschreibung von PC 1"
    assert m1.objective == m2.objective == "Ziel von PC 2"
    assert m1.title == m2.title  # the same deterministic winner everywhere
    conflicts = list_conflicts(pc1)
    assert [(c.field, c.others[0][2]) for c in conflicts] == [
        ("title", ({"Titel PC 1", "Titel PC 2"} - {m1.title}).pop())]
    assert dump(pc1) == dump(pc2)
    # resolving is a new edit that supersedes both values everywhere
    resolve(pc1, "measure", mid, "title", "Titel gemeinsam")
    assert list_conflicts(pc1) == []
    exchange(pc1, pc2, tmp_path / "d.ipbundle")
    assert measures.get_measure(pc2, mid).title == "Titel gemeinsam"
    assert list_conflicts(pc2) == []


def test_delete_versus_edit_is_a_conflict(offices, tmp_path: Path) -> None:
    _k, pc1, pc2, _r = offices
    mid = new_measure(pc1, "HF1-03", "Elterncafé")
    exchange(pc1, pc2, tmp_path / "a.ipbundle")
    measures.delete_measure(pc1, mid)
    edit_measure(pc2, mid, description="noch geändert")
    result = exchange(pc1, pc2, tmp_path / "b.ipbundle")
    assert result.exit_code == 3
    merged = measures.get_measure(pc2, mid)
    assert merged.deleted and merged.description == "noch geändert"  # nothing lost
    [conflict] = list_conflicts(pc2)
    assert conflict.kind == "loeschen"
    resolve(pc2, "measure", mid, "deleted", False, kind="loeschen")
    assert not measures.get_measure(pc2, mid).deleted
    assert list_conflicts(pc2) == []


def test_only_the_kreis_relays_other_offices_records(offices, tmp_path: Path) -> None:
    kreis, pc1, _pc2, ramstein = offices
    mid = new_measure(pc1, "HF1-04", "Integrationslotsen")
    exchange(pc1, kreis, tmp_path / "a.ipbundle")
    exchange(kreis, ramstein, tmp_path / "k.ipbundle")  # relayed by the Kreis: accepted
    assert measures.get_measure(ramstein, mid).title == "Integrationslotsen"
    # a Verbandsgemeinde sends only its own records (forged ones: see test_hostile)
    result = export_bundle(ramstein, tmp_path / "r.ipbundle")
    assert result.total == 0


def test_kreis_cannot_change_vg_records(offices, tmp_path: Path) -> None:
    kreis, pc1, _pc2, ramstein = offices
    mid = new_measure(pc1, "HF1-05", "Nähcafé")
    exchange(pc1, kreis, tmp_path / "a.ipbundle")
    # a forged change by the Kreis' own installation on Landstuhl's measure
    with kreis.db.transaction() as session:
        from sqlalchemy import select

        from integrationsplaner.services import records
        from integrationsplaner.store.models import Measure

        m = session.scalar(select(Measure).where(Measure.id == mid))
        records.change(session, m, kreis.actor, {"title": "vom Kreis verfälscht"})
    with pytest.raises(importer.BundleError, match="nur die eigene Dienststelle"):
        exchange(kreis, ramstein, tmp_path / "k.ipbundle")
    from integrationsplaner.errors import NotFoundError

    with pytest.raises(NotFoundError):
        measures.get_measure(ramstein, mid)


def test_incremental_bundle_is_small(offices, tmp_path: Path) -> None:
    kreis, pc1, _pc2, _r = offices
    ids = [new_measure(pc1, f"HF1-{n:02d}", f"Maßnahme {n}") for n in range(30)]
    exchange(pc1, kreis, tmp_path / "full.ipbundle", to="kreis-kl")
    exchange(kreis, pc1, tmp_path / "ack.ipbundle", to="vg-landstuhl")  # carries the ack
    for n in range(10):
        edit_measure(pc1, ids[n], description=f"Änderung {n}")
    out = tmp_path / "inc.ipbundle"
    result = export_bundle(pc1, out, to="kreis-kl")
    assert result.kind == "inkrementell"
    assert result.counts["measure"] == 10
    assert out.stat().st_size < 16_000
    assert import_file(kreis, out).summary["changed"] == 10


def test_any_order_gives_the_same_database(offices, tmp_path: Path) -> None:
    kreis, pc1, pc2, ramstein = offices
    a = new_measure(pc1, "HF1-10", "A")
    bundles = []
    exchange(pc1, pc2, tmp_path / "x.ipbundle")
    edit_measure(pc1, a, title="A von PC1")
    edit_measure(pc2, a, title="A von PC2", description="d2")
    new_measure(ramstein, "HF2-01", "R")
    for n, ws in enumerate((pc1, pc2, ramstein)):
        path = tmp_path / f"o{n}.ipbundle"
        export_bundle(ws, path)
        bundles.append(path)
    dumps = []
    for n, order in enumerate(itertools.permutations(bundles)):
        target = make_ws(tmp_path / f"t{n}", "kreis-kl", f"t{n}")
        try:
            trust(target, [pc1, pc2, ramstein], tmp_path / f"keys{n}")
            for path in order:
                import_file(target, path)
            dumps.append(dump(target))
        finally:
            target.close()
    assert all(d == dumps[0] for d in dumps)
    assert dumps[0]["conflicts"]
    del kreis


def test_exception_during_apply_changes_nothing(offices, tmp_path: Path, monkeypatch) -> None:
    kreis, pc1, _pc2, _r = offices
    new_measure(pc1, "HF1-20", "Kochkurs")
    path = tmp_path / "a.ipbundle"
    export_bundle(pc1, path)
    before = dump(kreis)

    def boom() -> None:
        raise RuntimeError("eingeschleuster Fehler")

    monkeypatch.setattr(importer, "_after_records_hook", boom)
    with prepare_import(kreis, path) as plan, pytest.raises(RuntimeError):
        apply_import(kreis, plan)
    assert dump(kreis) == before
    monkeypatch.setattr(importer, "_after_records_hook", None)
    assert import_file(kreis, path).applied


def test_cli_contract(offices, tmp_path: Path, capsys) -> None:
    kreis, pc1, _pc2, _r = offices
    new_measure(pc1, "HF1-30", "CLI")
    db1, dbk = str(pc1.path), str(kreis.path)
    pc1.close()
    kreis.close()
    out = tmp_path / "cli.ipbundle"
    assert main(["export", "--db", db1, "--out", str(out), "--to", "kreis-kl"]) == 0
    assert "geschrieben" in capsys.readouterr().out
    assert main(["import", "--db", dbk, str(out), "--dry-run", "--json"]) == 0
    plan = json.loads(capsys.readouterr().out)
    assert plan["zusammenfassung"]["new"] == 1
    assert main(["import", "--db", dbk, str(out), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["ergebnis"]["uebernommen"] is True
    assert main(["import", "--db", dbk, str(out)]) == 0
    assert "bereits" in capsys.readouterr().out
    assert main(["conflicts", "--db", dbk, "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {"konflikte": []}
    assert main(["keys", "list", "--db", dbk]) == 0
    assert "vg-landstuhl" in capsys.readouterr().out
    key = tmp_path / "k.ipkey"
    assert main(["keys", "export", "--db", dbk, "--out", str(key)]) == 0
    assert main(["keys", "import", "--db", db1, str(key)]) == 0
    assert "bereits bekannt" in capsys.readouterr().out
    # unknown sender: refused until confirmed
    fresh = tmp_path / "fresh.sqlite"
    assert main(["init", "--db", str(fresh), "--office", "vg-ramstein-miesenbach"]) == 0
    capsys.readouterr()
    assert main(["import", "--db", str(fresh), str(out)]) == 1
    assert "bestimmt" in capsys.readouterr().err  # addressed to the Kreis
    full = tmp_path / "full.ipbundle"
    assert main(["export", "--db", db1, "--out", str(full), "--full"]) == 0
    assert main(["import", "--db", str(fresh), str(full)]) == 1
    assert "noch kein Schlüssel" in capsys.readouterr().err
    assert main(["import", "--db", str(fresh), str(full), "--trust-new-sender"]) == 0
    reopened = open_workspace(dbk)
    reopened.close()


def test_cli_exit_code_3_only_when_applied_with_open_conflicts(offices, tmp_path: Path,
                                                             capsys) -> None:
    """Same-field edits at two installations: the dry run of the conflicting bundle applies
    nothing (exit 0, the plan names the conflict, the file is unchanged); the import applies it
    with an open conflict (exit 3, stated on stdout); the conflicts command lists it."""
    _k, pc1, pc2, _r = offices
    mid = new_measure(pc1, "HF1-50", "Lernpaten")
    exchange(pc1, pc2, tmp_path / "a.ipbundle")
    edit_measure(pc1, mid, title="Titel PC 1")
    edit_measure(pc2, mid, title="Titel PC 2")
    bundle = tmp_path / "b.ipbundle"
    export_bundle(pc1, bundle)
    db2 = pc2.path
    pc2.close()
    before = file_digest(db2)
    assert main(["import", "--db", str(db2), str(bundle), "--dry-run", "--json"]) == 0
    plan = json.loads(capsys.readouterr().out)
    assert plan["zusammenfassung"]["conflict"] == 1
    assert file_digest(db2) == before
    assert main(["import", "--db", str(db2), str(bundle), "--dry-run"]) == 0
    assert "Probelauf" in capsys.readouterr().out
    assert main(["import", "--db", str(db2), str(bundle)]) == 3
    out = capsys.readouterr()
    assert "Konflikte warten" in out.out and out.err == ""
    assert main(["conflicts", "--db", str(db2), "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)["konflikte"]
    assert len(listed) == 1 and listed[0]["feld"] == "title"
    assert main(["conflicts", "--db", str(db2)]) == 0
    assert "1 offene Konflikte" in capsys.readouterr().out
    # the same bundle again: nothing to do, exit 0
    assert main(["import", "--db", str(db2), str(bundle)]) == 0


def test_rtl_and_formula_prefix_kept_as_text(offices, tmp_path: Path, capsys) -> None:
    """Stored exactly as sent; shown escaped wherever the preview shows it (labels of new
    records, field diffs, the command line's plan)."""
    kreis, pc1, _pc2, _r = offices
    title = "=HYPERLINK(\"x\") \u202eevil"
    mid = new_measure(pc1, "HF1-40", title)
    path = tmp_path / "a.ipbundle"
    export_bundle(pc1, path)
    with prepare_import(kreis, path) as plan:
        [item] = [i for i in plan.items("new") if i.entity == "measure"]
        assert "\\u202e" in item.label and "\u202e" not in item.label
        apply_import(kreis, plan)
    assert measures.get_measure(kreis, mid).title == title
    edit_measure(pc1, mid, description="@SUMME(A1) \u2067links\u2069 \u200bnull")
    changed = tmp_path / "b.ipbundle"
    export_bundle(pc1, changed)
    with prepare_import(kreis, changed) as plan:
        [item] = plan.items("changed")
        [(field, old, new)] = item.diffs
        assert field == "description" and old == ""
        assert new == "@SUMME(A1) \\u2067links\\u2069 \\u200bnull"
    db = kreis.path
    kreis.close()
    assert main(["import", "--db", str(db), str(changed), "--dry-run"]) == 0
    text = capsys.readouterr().out
    assert "\\u2067links" in text and "\u2067" not in text and "\u202e" not in text
    assert main(["import", "--db", str(db), str(path), "--dry-run"]) == 0  # known already
    with open_workspace(db) as ws:
        assert measures.get_measure(ws, mid).description == ""
    fresh = make_ws(tmp_path / "f", "kreis-kl", "fresh")
    trust(fresh, [pc1], tmp_path / "keys")
    fresh_db = fresh.path
    fresh.close()
    capsys.readouterr()
    assert main(["import", "--db", str(fresh_db), str(path), "--dry-run"]) == 0
    text = capsys.readouterr().out
    assert "Neu:" in text and "\\u202eevil" in text and "\u202e" not in text


def test_migrates_kept_schema_0001_database(tmp_path: Path) -> None:
    import shutil

    source = Path(__file__).parents[1] / "fixtures" / "db" / "schema-0001_initial.sqlite"
    if not source.exists():
        pytest.skip("no kept 0001 database")
    target = tmp_path / "old.sqlite"
    shutil.copy(source, target)
    with open_workspace(target) as ws:
        out = tmp_path / "old.ipbundle"
        result = export_bundle(ws, out)
        assert result.total >= 0
