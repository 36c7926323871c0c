"""The streaming export: every entry holds exactly the lines of the plain per-record query (in
its order), whether fetched in batches or per record; cancellation and failures leave nothing
behind."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from integrationsplaner.domain.model import IndicatorData, MeasureData
from integrationsplaner.errors import UserError
from integrationsplaner.exchange import export
from integrationsplaner.exchange.export import ExportCancelled, export_bundle
from integrationsplaner.exchange.format import ENTITY_ORDER, ENTRY_OF
from integrationsplaner.services import measures

from .helpers import edit_measure, exchange, make_ws, new_measure, read_bundle


def _plain_lines(ws, entity: str, office: str | None) -> list[bytes]:
    """The lines as one plain query gives them, record by record."""
    con = sqlite3.connect(f"{ws.db.path.resolve().as_uri()}?mode=ro", uri=True)
    con.text_factory = bytes
    try:
        sql = export._line_sql(entity)
        if office is None:
            return [line for _id, line in con.execute(sql)]
        return [line for _id, line in con.execute(sql + " WHERE office_key = ?", (office,))]
    finally:
        con.close()


def _check_entries(ws, out: Path, office: str | None, conflicted: set[str]) -> dict[str, int]:
    _manifest, entries = read_bundle(out)
    assert list(entries) == [ENTRY_OF[e] for e in ENTITY_ORDER]
    counts = {}
    for entity in ENTITY_ORDER:
        got = entries[ENTRY_OF[entity]].split(b"\n")
        assert got.pop() == b""  # every line ends with a newline
        plain = _plain_lines(ws, entity, office)
        assert len(got) == len(plain)
        for line, expected in zip(got, plain, strict=True):
            record = json.loads(line)
            if record["id"] in conflicted:  # the open conflict's values travel along
                assert set(record.pop("siblings")) == {"title"}
                assert record == json.loads(expected)
            else:
                assert line == expected
        counts[entity] = len(got)
    return counts


def test_entries_are_the_lines_of_the_plain_query(offices, tmp_path: Path,
                                                   monkeypatch) -> None:
    kreis, pc1, pc2, ramstein = offices
    # tiny batches and chunks: every boundary is crossed many times
    monkeypatch.setattr(export, "_BATCH", 3)
    monkeypatch.setattr(export, "_CHUNK", 500)
    ids = []
    for n in range(12):
        ids.append(measures.save_measure(pc1, MeasureData(
            code=f"HF1-{n:02d}", title=f"Maßnahme „{n}“ \\ \"zitiert\"", action_area=1,
            status="geplant", description="Zeile 1\nZeile 2\tmit Tab",
            indicators=[IndicatorData(f"Kennzahl {n}", "Personen", 0.5, 20)])).id)
        new_measure(ramstein, f"HF2-{n:02d}", f"Ramstein {n}")
    exchange(ramstein, kreis, tmp_path / "r.ipbundle", to="kreis-kl")
    exchange(pc1, kreis, tmp_path / "l.ipbundle", to="kreis-kl")
    exchange(kreis, pc1, tmp_path / "k.ipbundle")  # pc1 now also holds Ramstein's records
    exchange(pc1, pc2, tmp_path / "a.ipbundle")
    edit_measure(pc1, ids[3], title="Titel PC 1")
    edit_measure(pc2, ids[3], title="Titel PC 2")
    exchange(pc2, pc1, tmp_path / "b.ipbundle")  # an open conflict in pc1

    # an office sends only its own records; measures (with siblings) go record by record
    out = tmp_path / "pc1.ipbundle"
    result = export_bundle(pc1, out)
    counts = _check_entries(pc1, out, "vg-landstuhl", {ids[3]})
    assert counts == result.counts
    assert counts["measure"] == 12 and counts["indicator"] == 12
    # the Kreis relays everything, in batches
    out = tmp_path / "kreis.ipbundle"
    result = export_bundle(kreis, out)
    assert _check_entries(kreis, out, None, set()) == result.counts
    assert result.counts["measure"] == 24


def test_incremental_bundle_has_the_changed_lines(offices, tmp_path: Path) -> None:
    kreis, pc1, _pc2, _r = offices
    ids = [new_measure(pc1, f"HF1-{n:02d}", f"Maßnahme {n}") for n in range(6)]
    exchange(pc1, kreis, tmp_path / "full.ipbundle", to="kreis-kl")
    exchange(kreis, pc1, tmp_path / "ack.ipbundle", to="vg-landstuhl")  # carries the ack
    for n in (1, 4):
        edit_measure(pc1, ids[n], description=f"Änderung {n}")
    out = tmp_path / "inc.ipbundle"
    result = export_bundle(pc1, out, to="kreis-kl")
    assert result.kind == "inkrementell" and result.counts["measure"] == 2
    _manifest, entries = read_bundle(out)
    plain = {json.loads(line)["id"]: line for line in _plain_lines(pc1, "measure", None)}
    lines = entries[ENTRY_OF["measure"]].splitlines()
    assert sorted(lines) == sorted(plain[ids[n]] for n in (1, 4))


def test_progress_reaches_the_total(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(export, "_BATCH", 2)
    ws = make_ws(tmp_path, "kreis-kl")
    try:
        for n in range(5):
            new_measure(ws, f"HF1-{n:02d}", f"Maßnahme {n}")
        calls: list[tuple[int, int]] = []
        result = export_bundle(ws, tmp_path / "b.ipbundle",
                               progress=lambda done, total: calls.append((done, total)) or True)
        assert result.total >= 5
        assert calls[-1] == (result.total, result.total)
        assert [done for done, _ in calls] == sorted(done for done, _ in calls)
    finally:
        ws.close()


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.suffix in (".tmp", ".ipbundle"))


def test_cancel_leaves_nothing(tmp_path: Path) -> None:
    ws = make_ws(tmp_path / "db", "kreis-kl")
    try:
        new_measure(ws, "HF1-01", "Sprachcafé")
        out = tmp_path / "b.ipbundle"
        with pytest.raises(ExportCancelled):
            export_bundle(ws, out, progress=lambda _done, _total: False)
        assert _leftovers(tmp_path) == []
        assert export_bundle(ws, out).total >= 1  # no read transaction was left open
    finally:
        ws.close()


@pytest.mark.parametrize("where", ["hand-over", "writer thread"])
def test_failing_write_leaves_nothing(tmp_path: Path, monkeypatch, where: str) -> None:
    ws = make_ws(tmp_path / "db", "kreis-kl")
    try:
        new_measure(ws, "HF1-01", "Sprachcafé")

        class Full:
            def write(self, data: bytes) -> None:
                raise OSError(28, "No space left on device")

        if where == "hand-over":
            monkeypatch.setattr(export._EntryWriter, "put", Full.write)
        else:
            init = export._EntryWriter.__init__
            monkeypatch.setattr(export._EntryWriter, "__init__",
                                lambda self, _handle, digest: init(self, Full(), digest))
        out = tmp_path / "b.ipbundle"
        with pytest.raises(UserError, match="kann nicht geschrieben werden"):
            export_bundle(ws, out)
        assert _leftovers(tmp_path) == []
    finally:
        ws.close()


def test_more_open_values_than_a_receiver_takes(tmp_path: Path) -> None:
    """A field with more open conflict values than a bundle may carry per field (MAX_SIBLINGS):
    the newest travel, so the receiver takes the bundle and shows the conflict open."""
    from integrationsplaner.exchange.conflicts import list_conflicts
    from integrationsplaner.exchange.format import MAX_SIBLINGS

    from .helpers import trust_all

    pc1 = make_ws(tmp_path / "l1", "vg-landstuhl", "landstuhl-pc1")
    kreis = make_ws(tmp_path / "k", "kreis-kl", "kreis")
    try:
        trust_all([pc1, kreis], tmp_path / "keys")
        mid = new_measure(pc1, "HF1-01", "Sprachcafé")
        replica = pc1.db.replica_id
        extra = MAX_SIBLINGS + 10
        con = sqlite3.connect(pc1.db.path)
        with con:  # deleted at write 100, which met that many changes it had not seen
            con.execute("UPDATE measures SET deleted = 1, vv = ?, stamps = ? WHERE id = ?",
                        (json.dumps({replica: 100}), json.dumps({"deleted": [replica, 100]}),
                         mid))
            con.executemany(
                "INSERT INTO exchange_conflicts (entity, record_id, office_key, field, kind, "
                "replica, counter, value, winner_replica, winner_counter, detected_at) VALUES "
                "('measure', ?, 'vg-landstuhl', 'deleted', 'loeschen', ?, ?, 'null', ?, 100, "
                "'2026-11-24 08:00:00')", [(mid, replica, n, replica) for n in range(1, extra + 1)])
        con.close()
        result = exchange(pc1, kreis, tmp_path / "b.ipbundle")
        assert result.applied and result.summary["refused"] == 0, result.message
        _manifest, entries = read_bundle(tmp_path / "b.ipbundle")
        line = json.loads(entries[ENTRY_OF["measure"]].decode().splitlines()[0])
        assert [s[1] for s in line["siblings"]["deleted"]] == list(
            range(extra - MAX_SIBLINGS + 1, extra + 1))
        [conflict] = list_conflicts(kreis)
        assert conflict.kind == "loeschen" and len(conflict.others) == MAX_SIBLINGS
    finally:
        pc1.close()
        kreis.close()
