"""Unit checks of the fast paths of the import (they must be as strict as the slow ones)."""

from __future__ import annotations

import json

import pytest

from integrationsplaner.exchange.lines import _LineError, loads_line


@pytest.mark.parametrize("text", [
    '{"a":1,"a":2}',
    '{"a":1,"vv":{"r":1,"r":2}}',
    '{"a":"x\\":","a":2}',  # a separator inside a string must not hide the duplicate
    '{"a" : 1, "a" : 2}',
    '{"s":{"x":{"k":1,"k":2}}}',
    '[{"a":1,"a":2}]',
])
def test_duplicate_keys_are_found(text: str) -> None:
    with pytest.raises(_LineError, match="doppelt"):
        loads_line(text)


@pytest.mark.parametrize("text", [
    '{"a":1,"b":{"c":"d\\":"}}',
    '{"a" : 1, "b" : {"c" : [1, 2]}}',
    '{"a":"NaN"}',
])
def test_plain_lines_decode(text: str) -> None:
    assert loads_line(text) == json.loads(text)


def test_nan_is_refused() -> None:
    with pytest.raises(_LineError, match="keine zulässige Zahl"):
        loads_line('{"a":NaN}')


def test_replayed_file_is_answered_without_reading_records(tmp_path) -> None:
    from integrationsplaner.exchange import importer

    from .helpers import dump, exchange, import_file, make_ws, new_measure, trust_all

    kreis = make_ws(tmp_path / "k", "kreis-kl")
    pc1 = make_ws(tmp_path / "l1", "vg-landstuhl", "landstuhl-pc1")
    try:
        trust_all([kreis, pc1], tmp_path / "keys")
        new_measure(pc1, "HF1-01", "Sprachcafé")
        path = tmp_path / "b1.ipbundle"
        assert exchange(pc1, kreis, path).applied
        before = dump(kreis)
        calls = []
        original = importer.stage_records
        importer.stage_records = lambda *a, **k: calls.append(1) or original(*a, **k)
        try:
            again = import_file(kreis, path)
        finally:
            importer.stage_records = original
        assert again.nothing_to_do and not again.applied and "bereits" in again.message
        assert again.summary["known"] >= 1 and not calls
        assert dump(kreis) == before
        # the same bundle id in a changed file takes the full path (and is refused as damaged)
        data = bytearray(path.read_bytes())
        data[len(data) // 3] ^= 0xFF
        flipped = tmp_path / "flipped.ipbundle"
        flipped.write_bytes(bytes(data))
        importer.stage_records = lambda *a, **k: calls.append(1) or original(*a, **k)
        try:
            import_file(kreis, flipped)
        except Exception:  # refused somewhere in the full pipeline
            pass
        else:
            assert calls
        finally:
            importer.stage_records = original
        assert dump(kreis) == before
    finally:
        kreis.close()
        pc1.close()


def test_small_import_writes_a_rollback_file(tmp_path) -> None:
    from integrationsplaner.services import measures

    from .helpers import edit_measure, exchange, make_ws, new_measure, trust_all

    kreis = make_ws(tmp_path / "k", "kreis-kl")
    pc1 = make_ws(tmp_path / "l1", "vg-landstuhl", "landstuhl-pc1")
    try:
        trust_all([kreis, pc1], tmp_path / "keys")
        mid = new_measure(pc1, "HF1-01", "Sprachcafé")
        first = exchange(pc1, kreis, tmp_path / "b1.ipbundle")
        assert first.backup is not None and first.backup.suffix == ".jsonl"
        lines = [json.loads(x) for x in first.backup.read_text("utf-8").splitlines()]
        assert lines[0]["format"] == "integrationsplaner-ruecksicherung"
        assert {"tabelle": "measures", "id": mid, "vorher": None} in lines
        old_title = measures.get_measure(kreis, mid).title
        edit_measure(pc1, mid, title="Sprachcafé neu")
        second = exchange(pc1, kreis, tmp_path / "b2.ipbundle")
        assert second.applied and second.backup is not None and second.backup != first.backup
        lines = [json.loads(x) for x in second.backup.read_text("utf-8").splitlines()]
        before = [x for x in lines[1:] if x.get("id") == mid]
        assert len(before) == 1 and before[0]["vorher"]["title"] == old_title
        assert measures.get_measure(kreis, mid).title == "Sprachcafé neu"
    finally:
        kreis.close()
        pc1.close()


def test_bulk_first_import_equals_the_ordinary_one(tmp_path, monkeypatch) -> None:
    import sqlite3

    from integrationsplaner.domain.model import IndicatorData
    from integrationsplaner.exchange import importer
    from integrationsplaner.exchange.export import export_bundle

    from .helpers import dump, import_file, make_ws, new_measure, trust_all

    pc1 = make_ws(tmp_path / "l1", "vg-landstuhl", "landstuhl-pc1")
    plain = make_ws(tmp_path / "k1", "kreis-kl", "kreis1")
    bulk = make_ws(tmp_path / "k2", "kreis-kl", "kreis2")
    try:
        trust_all([pc1, plain, bulk], tmp_path / "keys")
        for n in range(3):
            new_measure(pc1, f"HF1-0{n}", f"Sprachcafé {n}",
                        indicators=[IndicatorData("Teilnehmende", "Personen", 0, 20)])
        path = tmp_path / "b.ipbundle"
        export_bundle(pc1, path)
        assert import_file(plain, path).applied
        monkeypatch.setattr(importer, "BULK_MIN_RECORDS", 1)
        assert import_file(bulk, path).applied
        assert dump(bulk) == dump(plain)

        def facts(db) -> tuple:
            con = sqlite3.connect(db)
            try:
                return (
                    con.execute("PRAGMA integrity_check").fetchone()[0],
                    sorted(con.execute("SELECT type, name, sql FROM sqlite_master WHERE type IN "
                                       "('index', 'trigger')").fetchall()),
                    sorted(con.execute("SELECT entity, record_id FROM exchange_journal")),
                    sorted(con.execute("SELECT title FROM measures_fts WHERE measures_fts "
                                       "MATCH 'Sprachcafé'")),
                )
            finally:
                con.close()

        assert facts(bulk.db.path) == facts(plain.db.path)
        assert facts(bulk.db.path)[0] == "ok" and len(facts(bulk.db.path)[3]) == 3
    finally:
        for ws in (pc1, plain, bulk):
            ws.close()


def test_sort_key_shortcut_matches_the_domain_rule() -> None:
    import string

    from integrationsplaner.domain.text import sort_key
    from integrationsplaner.exchange.lines import _sort_key

    samples = ["  Sprachcafe Landstuhl ", string.printable, "ABC xyz 123", "Ärztehaus",
               "Straße", "x" * 300, " \t\n", "", "İstanbul", "ﬁne"]
    for text in samples:
        assert _sort_key(text) == sort_key(text), text


@pytest.mark.parametrize("text", [
    '{"a":1, "a" :2}',
    '{"a":1,"a"\t:2}',
    '{"vv":{"r":1, "r" : 2}}',
])
def test_duplicate_keys_behind_spaced_colons_are_found(text: str) -> None:
    """A key written with whitespace before its colon has no ``":`` of its own: the count of
    separators must not let its duplicate pass."""
    with pytest.raises(_LineError, match="doppelt"):
        loads_line(text)


def test_a_large_import_gives_its_write_ahead_log_back(tmp_path, monkeypatch) -> None:
    """After an import backed up by a database copy, the write-ahead log (as large as all that
    the import wrote) is emptied, while the program keeps the database open."""
    from integrationsplaner.exchange import importer
    from integrationsplaner.services import demo

    from .helpers import exchange, make_ws, trust_all

    monkeypatch.setattr(importer, "ROLLBACK_FILE_LIMIT", 10)
    kreis = make_ws(tmp_path / "k", "kreis-kl")
    pc1 = make_ws(tmp_path / "l1", "vg-landstuhl", "landstuhl-pc1")
    try:
        trust_all([kreis, pc1], tmp_path / "keys")
        demo.generate(pc1, 30, 3)
        with kreis.db.read() as session:  # the program's own connection stays open
            session.execute(importer.select(1))
        result = exchange(pc1, kreis, tmp_path / "b.ipbundle")
        assert result.applied and result.summary["new"] > 100
        assert result.backup is not None and result.backup.suffix == ".sqlite"
        wal = kreis.db.path.with_name(kreis.db.path.name + "-wal")
        assert not wal.exists() or wal.stat().st_size == 0
    finally:
        kreis.close()
        pc1.close()


def test_insert_only_bulk_import_checks_foreign_keys_after_loading(tmp_path, monkeypatch) -> None:
    """A first import loads its tables in bulk with the foreign keys checked once per table
    afterwards; a record pointing nowhere (here planted into the staged plan) is refused and
    nothing is written."""

    import pytest

    from integrationsplaner.exchange import importer
    from integrationsplaner.exchange.reader import BundleError
    from integrationsplaner.services import demo

    from .helpers import dump, file_digest, make_ws, trace_statements, trust_all

    monkeypatch.setattr(importer, "BULK_MIN_RECORDS", 5)
    kreis = make_ws(tmp_path / "k", "kreis-kl")
    pc1 = make_ws(tmp_path / "l1", "vg-landstuhl", "landstuhl-pc1")
    try:
        trust_all([kreis, pc1], tmp_path / "keys")
        demo.generate(pc1, 30, 5)
        path = tmp_path / "b.ipbundle"
        from integrationsplaner.exchange.export import export_bundle

        export_bundle(pc1, path)
        statements = trace_statements(monkeypatch)  # the apply connection's among them
        with importer.prepare_import(kreis, path) as plan:
            plan.con.execute("UPDATE s_indicator SET measure_id = "
                             "'00000000-0000-4000-8000-000000000000' WHERE x_rid = 3")
            before = file_digest(kreis.db.path)
            with pytest.raises(BundleError, match="verweist auf"):
                importer.apply_import(kreis, plan)
        assert "PRAGMA foreign_keys=OFF" in statements
        assert any("foreign_key_check(indicators)" in s for s in statements)
        assert file_digest(kreis.db.path) == before
        # the same bundle, unharmed, goes in
        with importer.prepare_import(kreis, path) as plan:
            assert importer.apply_import(kreis, plan).applied
        assert dump(kreis) == dump(pc1)
    finally:
        kreis.close()
        pc1.close()


def test_first_import_counts_with_refused_and_conflicting_records(tmp_path) -> None:
    """A first import knows its counts without counting the staged rows (planning._classify):
    with a new record that arrives with conflict values, a refused one that has them too and
    its refused child, the counts and actions equal the staged rows', and the apply writes an
    audit entry for exactly the records it inserts."""
    import sqlite3

    from integrationsplaner.domain.model import IndicatorData, MeasureData
    from integrationsplaner.exchange.export import export_bundle
    from integrationsplaner.exchange.format import ENTITY_ORDER, ENTRY_OF
    from integrationsplaner.exchange.importer import apply_import, prepare_import
    from integrationsplaner.services import measures

    from .helpers import make_ws, private_key, read_bundle, trust_all, write_bundle

    sender = make_ws(tmp_path / "s", "vg-landstuhl", "sender")
    target = make_ws(tmp_path / "t", "kreis-kl", "target")
    try:
        trust_all([sender, target], tmp_path / "keys")
        for n in range(3):
            measures.save_measure(sender, MeasureData(
                code=f"HF1-0{n}", title=f"Maßnahme {n}", action_area=1, status="geplant",
                indicators=[IndicatorData(f"K{n}", "Personen", 0, 20)]))
        good = tmp_path / "good.ipbundle"
        export_bundle(sender, good)
        manifest, entries = read_bundle(good)
        name = ENTRY_OF["measure"]
        records = [json.loads(line) for line in entries[name].decode().splitlines()]
        for record, replica, office in ((records[0], "zweiter-pc", "vg-landstuhl"),
                                        (records[1], "dritter-pc", "vg-weilerbach")):
            record["office_key"] = office  # the second: another office's, refused
            record["vv"][replica] = 1
            record["siblings"] = {"title": [[replica, 1, "Anderer Titel"]]}
        entries[name] = "".join(json.dumps(r, ensure_ascii=False) + "\n"
                                for r in records).encode()
        bundle = tmp_path / "b.ipbundle"
        write_bundle(bundle, manifest, entries, private_key(sender))
        with prepare_import(target, bundle, trust_new_sender=True) as plan:
            for entity in ENTITY_ORDER:
                categories = dict.fromkeys(plan.by_entity[entity], 0)
                actions = {"new": 0, "update": 0}
                for category, action, n in plan.con.execute(
                        f"SELECT x_category, x_action, count(*) FROM s_{entity} GROUP BY 1, 2"):
                    categories[category] += n
                    if action in actions:
                        actions[action] += n
                assert plan.by_entity[entity] == categories, entity
                assert plan.actions[entity] == actions, entity
            assert plan.by_entity["measure"] == {
                **dict.fromkeys(plan.by_entity["measure"], 0),
                "new": 1, "conflict": 1, "refused": 1}
            assert plan.by_entity["indicator"]["refused"] == 1  # the refused measure's
            assert apply_import(target, plan).applied
        con = sqlite3.connect(target.db.path)
        try:
            for entity, table in (("measure", "measures"), ("indicator", "indicators")):
                created = {r for (r,) in con.execute(
                    "SELECT record_id FROM audit_log WHERE source = 'buendel' AND action = "
                    "'anlegen' AND entity = ?", (entity,))}
                assert created == {r for (r,) in con.execute(f"SELECT id FROM {table}")}
                assert len(created) == 2
        finally:
            con.close()
    finally:
        sender.close()
        target.close()
