"""Hostile bundles: each is refused with a clear German message and the database file keeps its
exact bytes (the import runs through the CLI, as a user would)."""

from __future__ import annotations

import json
import sqlite3
import uuid
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from integrationsplaner.cli import main
from integrationsplaner.domain.model import BudgetLineData, IndicatorData, MeasureData
from integrationsplaner.exchange.export import export_bundle
from integrationsplaner.exchange.format import MANIFEST, SIGNATURE
from integrationsplaner.services import measures

from .helpers import file_digest, make_ws, private_key, read_bundle, trust_all, write_bundle

M = "records/measures.jsonl"
IND = "records/indicators.jsonl"


@pytest.fixture(scope="module")
def setting(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("hostile")
    sender = make_ws(root / "s", "vg-landstuhl", "sender")
    target = make_ws(root / "t", "kreis-kl", "target")
    other = make_ws(root / "o", "vg-weilerbach", "other")
    trust_all([sender, target, other], root / "keys")
    measures.save_measure(sender, MeasureData(
        code="HF1-01", title="Sprachcafé", action_area=1, status="geplant",
        indicators=[IndicatorData("Teilnehmende", "Personen", 0, 20)],
        budget_lines=[BudgetLineData(2026, "sach", "kreis", 100_000)]))
    measures.save_measure(other, MeasureData(code="HF2-01", title="Fremd", action_area=2,
                                             status="geplant"))
    good = root / "good.ipbundle"
    export_bundle(sender, good)
    foreign = root / "foreign.ipbundle"
    export_bundle(other, foreign)
    key = private_key(sender)
    db = target.path
    old = root / "old.ipbundle"
    export_bundle(sender, old)
    target.close()
    assert main(["import", "--db", str(db), str(old)]) == 0  # imported once: a replay later
    sender.close()
    other.close()
    return {"root": root, "good": good, "foreign": foreign, "key": key, "db": db, "old": old}


def _lines(entries: dict[str, bytes], name: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in entries[name].decode().splitlines()]


def _put(entries: dict[str, bytes], name: str, records: list[Any]) -> None:
    entries[name] = "".join(
        (r if isinstance(r, str) else json.dumps(r, ensure_ascii=False)) + "\n"
        for r in records).encode()


def _edit_measure(change: Callable[[dict[str, Any]], Any]) -> Callable[..., None]:
    def build(s: dict[str, Any], out: Path) -> None:
        manifest, entries = read_bundle(s["good"])
        records = _lines(entries, M)
        result = change(records[0])
        _put(entries, M, [result if result is not None else records[0], *records[1:]])
        write_bundle(out, manifest, entries, s["key"])
    return build


def _sibling(name: str, value: Any, *, deleted: bool = False,
             twice: bool = False) -> Callable[..., None]:
    """The first measure with one sibling of ``name`` at a later write of its installation."""
    def change(r: dict[str, Any]) -> None:
        replica = r["origin_replica"]
        r["vv"][replica] += 1
        r["deleted"] = deleted
        r["siblings"] = {name: [[replica, r["vv"][replica], value]] * (2 if twice else 1)}
    return _edit_measure(change)


def _raw_measure_line(text_of: Callable[[str], str]) -> Callable[..., None]:
    def build(s: dict[str, Any], out: Path) -> None:
        manifest, entries = read_bundle(s["good"])
        lines = entries[M].decode().splitlines()
        lines[0] = text_of(lines[0])
        entries[M] = ("\n".join(lines) + "\n").encode()
        write_bundle(out, manifest, entries, s["key"])
    return build


def _with_extra(name: str | zipfile.ZipInfo, data: bytes = b"x") -> Callable[..., None]:
    def build(s: dict[str, Any], out: Path) -> None:
        manifest, entries = read_bundle(s["good"])
        write_bundle(out, manifest, entries, s["key"], extra=[(name, data)])
    return build


def _raw_zip(mutate: Callable[[bytes], bytes]) -> Callable[..., None]:
    def build(s: dict[str, Any], out: Path) -> None:
        out.write_bytes(mutate(s["good"].read_bytes()))
    return build


def _zip_bomb(s: dict[str, Any], out: Path) -> None:
    manifest, entries = read_bundle(s["good"])
    entries[M] = entries[M] + b" " * (50 * 1024**2)
    write_bundle(out, manifest, entries, s["key"])


def _lying_size(s: dict[str, Any], out: Path) -> None:
    data = bytearray(s["good"].read_bytes())
    # patch the uncompressed size in the central directory entry of the measures file
    name = M.encode()
    pos = data.rfind(b"PK\x01\x02" + bytes(0), 0)
    pos = data.find(b"PK\x01\x02")
    while pos != -1:
        name_len = int.from_bytes(data[pos + 28:pos + 30], "little")
        if data[pos + 46:pos + 46 + name_len] == name:
            data[pos + 24:pos + 28] = (10).to_bytes(4, "little")
            break
        pos = data.find(b"PK\x01\x02", pos + 4)
    out.write_bytes(bytes(data))


def _too_many(s: dict[str, Any], out: Path) -> None:
    manifest, entries = read_bundle(s["good"])
    write_bundle(out, manifest, entries, s["key"],
                 extra=[(f"x{n}.txt", b"x") for n in range(40)])


def _encrypted(s: dict[str, Any], out: Path) -> None:
    manifest, entries = read_bundle(s["good"])
    info = zipfile.ZipInfo(M)
    info.flag_bits |= 0x1
    data = entries.pop(M)
    write_bundle(out, manifest, {**entries, M: data}, s["key"])
    raw = bytearray(out.read_bytes())
    pos = raw.find(b"PK\x01\x02")
    while pos != -1:
        name_len = int.from_bytes(raw[pos + 28:pos + 30], "little")
        if raw[pos + 46:pos + 46 + name_len] == M.encode():
            raw[pos + 8] |= 0x1
        pos = raw.find(b"PK\x01\x02", pos + 4)
    out.write_bytes(bytes(raw))


def _unknown_compression(s: dict[str, Any], out: Path) -> None:
    manifest, entries = read_bundle(s["good"])
    write_bundle(out, manifest, entries, s["key"])
    raw = bytearray(out.read_bytes())
    pos = raw.find(b"PK\x01\x02")
    while pos != -1:
        name_len = int.from_bytes(raw[pos + 28:pos + 30], "little")
        if raw[pos + 46:pos + 46 + name_len] == M.encode():
            raw[pos + 10:pos + 12] = (99).to_bytes(2, "little")
        pos = raw.find(b"PK\x01\x02", pos + 4)
    out.write_bytes(bytes(raw))


def _missing_entry(s: dict[str, Any], out: Path) -> None:
    manifest, entries = read_bundle(s["good"])
    manifest_entries = dict(manifest["entries"])
    write_bundle(out, {**manifest, "entries": manifest_entries}, {
        k: v for k, v in entries.items() if k != IND}, s["key"], rehash=False)


def _extra_entry(s: dict[str, Any], out: Path) -> None:
    manifest, entries = read_bundle(s["good"])
    del manifest["entries"][IND]
    write_bundle(out, manifest, entries, s["key"], rehash=False)


def _flipped(s: dict[str, Any], out: Path) -> None:
    manifest, entries = read_bundle(s["good"])
    data = bytearray(entries[M])
    data[40] ^= 0x01
    entries[M] = bytes(data)
    write_bundle(out, manifest, entries, s["key"], rehash=False)


def _docx(s: dict[str, Any], out: Path) -> None:
    with zipfile.ZipFile(out, "w") as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        zf.writestr("word/document.xml", "<w:document/>")


def _unsigned(s: dict[str, Any], out: Path) -> None:
    manifest, entries = read_bundle(s["good"])
    write_bundle(out, manifest, entries, s["key"], sign=False)


def _wrong_key(s: dict[str, Any], out: Path) -> None:
    manifest, entries = read_bundle(s["good"])
    stranger = Ed25519PrivateKey.generate()
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    from integrationsplaner.exchange.identity import fingerprint

    raw = stranger.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    manifest["sender"] = {**manifest["sender"], "public_key": raw.hex(),
                          "key_fingerprint": fingerprint(raw)}
    write_bundle(out, manifest, entries, stranger)


def _edited_after_signing(s: dict[str, Any], out: Path) -> None:
    manifest, entries = read_bundle(s["good"])
    with zipfile.ZipFile(s["good"]) as zf:
        signature = zf.read(SIGNATURE)
    manifest["recipient"] = "*"
    manifest["created_at"] = "2030-01-01T00:00:00Z"
    body = json.dumps(manifest, indent=1, sort_keys=True).encode()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
        zf.writestr(MANIFEST, body)
        zf.writestr(SIGNATURE, signature)


def _future(s: dict[str, Any], out: Path) -> None:
    manifest, entries = read_bundle(s["good"])
    manifest["format_version"] = 99
    write_bundle(out, manifest, entries, s["key"])


def _huge_line(s: dict[str, Any], out: Path) -> None:
    import base64
    import os

    manifest, entries = read_bundle(s["good"])
    blob = base64.b64encode(os.urandom(75 * 1024**2))  # 100 MB that does not compress
    entries[M] = b'{"id": "' + blob + b'"}\n'
    write_bundle(out, manifest, entries, s["key"])


def _deep(record: dict[str, Any]) -> str:
    text = json.dumps(record)
    return text[:-1] + ', "x": ' + "[" * 100_000 + "]" * 100_000 + "}"


def _noise(size: int) -> str:
    import base64
    import os

    return base64.b64encode(os.urandom(size * 3 // 4)).decode()


def _twice_different(s: dict[str, Any], out: Path) -> None:
    manifest, entries = read_bundle(s["good"])
    records = _lines(entries, M)
    changed = dict(records[0], title="anders")
    _put(entries, M, [*records, changed])
    write_bundle(out, manifest, entries, s["key"])


def _dangling(s: dict[str, Any], out: Path) -> None:
    manifest, entries = read_bundle(s["good"])
    records = _lines(entries, IND)
    records[0]["measure_id"] = "00000000-0000-4000-8000-000000000000"
    _put(entries, IND, records)
    write_bundle(out, manifest, entries, s["key"])


def _another_office(s: dict[str, Any], out: Path) -> None:
    manifest, entries = read_bundle(s["good"])
    _m2, foreign = read_bundle(s["foreign"])
    entries[M] = foreign[M]  # Weilerbach's measure in Landstuhl's signed bundle
    for name in entries:
        if name != M:
            entries[name] = b""
    write_bundle(out, manifest, entries, s["key"])


CASES: list[tuple[str, Callable[..., None], str]] = [
    ("dotdot", _with_extra("../evil.txt"), "unzulässigen Eintragsnamen"),
    ("absolute", _with_extra("/etc/evil"), "unzulässigen Eintragsnamen"),
    ("drive", _with_extra("C:/evil.txt"), "unzulässigen Eintragsnamen"),
    ("duplicate_entry", _with_extra(M, b"{}\n"), "doppelt"),
    ("zip_bomb", _zip_bomb, "Zip-Bombe"),
    ("lying_size", _lying_size, "beschädigt"),
    ("too_many_entries", _too_many, "Einträge"),
    ("nested_zip", _with_extra("records/inner.zip", b"PK\x03\x04"), "unbekannten Eintrag"),
    ("encrypted", _encrypted, "verschlüsselt"),
    ("unknown_compression", _unknown_compression, "Kompressionsverfahren"),
    ("missing_from_zip", _missing_entry, "fehlt der Eintrag"),
    ("extra_to_manifest", _extra_entry, "nicht nennt"),
    ("flipped_byte", _flipped, "beschädigt"),
    ("truncated", _raw_zip(lambda b: b[: len(b) // 2]), "beschädigt oder unvollständig"),
    ("zero_bytes", _raw_zip(lambda b: b""), "leer"),
    ("renamed_docx", _docx, "Office-Dokument"),
    ("unsigned", _unsigned, "nicht signiert"),
    ("wrong_key", _wrong_key, "anderen Schlüssel"),
    ("edited_after_signing", _edited_after_signing, "Signatur"),
    ("future_version", _future, "neueren Version"),
    ("huge_line", _huge_line, "zu lang"),
    ("deep_nesting", _raw_measure_line(lambda t: _deep(json.loads(t))), "verschachtelt"),
    ("duplicate_json_key", _raw_measure_line(lambda t: t[:-1] + ', "title": "x"}'),
     "doppelt vor"),
    ("nan", _raw_measure_line(lambda t: t.replace('"action_area":1', '"action_area":NaN')),
     "keine zulässige Zahl"),
    ("huge_int", _raw_measure_line(
        lambda t: t.replace('"action_area":1', '"action_area":' + "9" * 100_000)), "zu groß"),
    ("wrong_type", _edit_measure(lambda r: r.update(title=42)), "muss Text sein"),
    ("lone_surrogate", _raw_measure_line(lambda t: t.replace('"title":"', '"title":"\\ud800', 1)),
     "Surrogat"),
    ("impossible_date", _edit_measure(lambda r: r.update(start_date="2019-02-30")),
     "kein gültiges Datum"),
    ("malformed_uuid", _edit_measure(lambda r: r.update(id="nicht-eine-uuid")),
     "keine gültige Datensatz-ID"),
    ("same_id_twice", _twice_different, "mehrfach"),
    ("dangling_reference", _dangling, "weder im Bündel"),
    ("another_office", _another_office, "vg-weilerbach"),
    # a marker (null) is a sibling of the tombstone only; any other sibling is a value
    ("null_sibling", _sibling("title", None), "darf nicht leer"),
    ("text_sibling_of_deleted", _sibling("deleted", "ja", deleted=True), "„deleted“"),
    # siblings a merge never leaves: a deletion or a marker beside a record shown as not
    # deleted (a deletion always wins: it would flip the record later), the field's own write
    # as its sibling, one write twice
    ("planted_deletion", _sibling("deleted", True), "„siblings“ ist ungültig"),
    ("planted_marker", _sibling("deleted", None), "„siblings“ ist ungültig"),
    ("sibling_of_its_own_write", _edit_measure(lambda r: r.update(
        siblings={"title": [[r["origin_replica"], 1, "x"]]})), "„siblings“ ist ungültig"),
    ("same_sibling_twice", _sibling("title", "x", twice=True), "„siblings“ ist ungültig"),
    ("ten_mb_text", _edit_measure(lambda r: r.update(description=_noise(10 * 1024**2))),
     "zu lang"),
]


@pytest.mark.parametrize(("name", "build", "message"), CASES, ids=[c[0] for c in CASES])
def test_hostile_bundle_rejected(setting: dict[str, Any], name: str,
                                 build: Callable[..., None], message: str, capsys) -> None:
    out = setting["root"] / f"{name}.ipbundle"
    build(setting, out)
    db: Path = setting["db"]
    before = file_digest(db)
    capsys.readouterr()
    assert main(["import", "--db", str(db), str(out)]) == 1
    err = capsys.readouterr().err
    assert message in err, err
    assert "Traceback" not in err
    assert file_digest(db) == before


def test_replayed_old_bundle_is_noop(setting: dict[str, Any], capsys) -> None:
    db: Path = setting["db"]
    before = file_digest(db)
    capsys.readouterr()
    assert main(["import", "--db", str(db), str(setting["old"])]) == 0
    assert "bereits" in capsys.readouterr().out
    assert file_digest(db) == before


_LINE_CASES = [c for c in CASES if c[0] in {
    "huge_line", "deep_nesting", "duplicate_json_key", "nan", "huge_int", "wrong_type",
    "lone_surrogate",
    "impossible_date", "malformed_uuid", "same_id_twice", "dangling_reference", "flipped_byte",
    "ten_mb_text"}]


@pytest.mark.parametrize(("name", "build", "message"), _LINE_CASES,
                         ids=[c[0] for c in _LINE_CASES])
def test_hostile_lines_rejected_by_worker_processes(
        setting: dict[str, Any], name: str, build: Callable[..., None], message: str,
        capsys, monkeypatch: pytest.MonkeyPatch) -> None:
    """The same checks when the records are validated in worker processes (large entries)."""
    from integrationsplaner.exchange import staging

    monkeypatch.setattr(staging, "PARALLEL_MIN_BYTES", 0)
    test_hostile_bundle_rejected(setting, name, build, message, capsys)


def test_good_bundle_through_worker_processes(setting: dict[str, Any], tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    import shutil

    from integrationsplaner.exchange import staging
    from integrationsplaner.exchange.format import TABLE_OF

    def rows(db: Path) -> dict[str, list[Any]]:
        con = sqlite3.connect(db)
        try:
            return {t: con.execute(f"SELECT * FROM {t} ORDER BY id").fetchall()
                    for t in TABLE_OF.values()}
        finally:
            con.close()

    here = tmp_path / "here.sqlite"
    workers = tmp_path / "workers.sqlite"
    shutil.copy(setting["db"], here)
    shutil.copy(setting["db"], workers)
    assert main(["import", "--db", str(here), str(setting["good"]), "--json"]) == 0
    monkeypatch.setattr(staging, "PARALLEL_MIN_BYTES", 0)
    assert main(["import", "--db", str(workers), str(setting["good"]), "--json"]) == 0
    assert rows(here) == rows(workers)
    assert rows(here)["measures"]


def test_children_of_a_refused_record_are_refused_with_it(setting: dict[str, Any],
                                                          tmp_path: Path, capsys) -> None:
    """A measure that carries an edit of another office's installation is refused; its
    indicators and budget lines (valid on their own) are refused with it, naming the reason."""
    from integrationsplaner.exchange.importer import prepare_import
    from integrationsplaner.services.workspace import open_workspace

    fresh = make_ws(tmp_path / "f", "kreis-kl", "fresh")
    db = fresh.path
    fresh.close()
    assert main(["import", "--db", str(db), str(setting["foreign"]),
                 "--trust-new-sender"]) == 0  # its installation is now known as vg-weilerbach's
    foreign_replica = read_bundle(setting["foreign"])[0]["sender"]["replica"]
    manifest, entries = read_bundle(setting["good"])
    records = _lines(entries, M)
    records[0]["vv"][foreign_replica] = 1
    _put(entries, M, records)
    out = tmp_path / "claims.ipbundle"
    write_bundle(out, manifest, entries, setting["key"])
    before = file_digest(db)
    capsys.readouterr()
    assert main(["import", "--db", str(db), str(out), "--trust-new-sender"]) == 1
    assert "Installation von vg-weilerbach" in capsys.readouterr().err
    assert file_digest(db) == before
    with open_workspace(db) as ws, prepare_import(ws, out, trust_new_sender=True) as plan:
        reasons = {(i.entity, i.reason) for i in plan.items("refused", 50)}
        assert plan.rejected and plan.summary["refused"] == 3, plan.summary
    cascaded = "Maßnahme, zu dem dieser Datensatz gehört, wurde abgelehnt."
    assert {("indicator", cascaded), ("budget_line", cascaded)} <= reasons


@pytest.mark.parametrize("measure_here", [False, True], ids=["fresh", "measure-here"])
def test_a_part_of_another_office_than_its_measure_is_refused(
        setting: dict[str, Any], tmp_path: Path, capsys, measure_here: bool) -> None:
    """The Kreis relays records of several offices; an indicator that Weilerbach claims (with
    Weilerbach's installation in its vector) under Landstuhl's measure is refused, whether the
    measure arrives with it or is here already."""
    from integrationsplaner.exchange.importer import prepare_import
    from integrationsplaner.services.workspace import open_workspace

    kreis = make_ws(tmp_path / "k", "kreis-kl", "kreis")
    kdb = kreis.path
    kreis.close()
    for bundle in (setting["good"], setting["foreign"]):
        assert main(["import", "--db", str(kdb), str(bundle), "--trust-new-sender"]) == 0
    relayed = tmp_path / "relayed.ipbundle"
    assert main(["export", "--db", str(kdb), "--out", str(relayed), "--full"]) == 0
    with open_workspace(kdb) as kws:
        key = private_key(kws)
    weilerbach = read_bundle(setting["foreign"])[0]["sender"]["replica"]
    manifest, entries = read_bundle(relayed)
    indicators = _lines(entries, "records/indicators.jsonl")
    indicators[0].update(id=str(uuid.uuid4()), office_key="vg-weilerbach",
                         origin_replica=weilerbach, vv={weilerbach: 1})
    _put(entries, "records/indicators.jsonl", indicators)
    out = tmp_path / "claimed.ipbundle"
    write_bundle(out, manifest, entries, key)
    target = make_ws(tmp_path / "t", "kreis-kl", "target")
    db = target.path
    target.close()
    if measure_here:
        assert main(["import", "--db", str(db), str(setting["good"]),
                     "--trust-new-sender"]) == 0
    before = file_digest(db)
    with open_workspace(db) as ws, prepare_import(ws, out, trust_new_sender=True) as plan:
        refused = plan.items("refused", 10)
        assert [(i.entity, i.record_id) for i in refused] == [
            ("indicator", indicators[0]["id"])]
        assert "nicht derselben Dienststelle wie Maßnahme" in refused[0].reason
    assert file_digest(db) == before
    capsys.readouterr()
