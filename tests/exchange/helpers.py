"""Helpers of the exchange tests: workspaces of several offices, trust, dumps, bundle surgery."""

from __future__ import annotations

import hashlib
import io
import json
import sqlite3
import zipfile
from pathlib import Path
from typing import Any

from integrationsplaner.domain.model import MeasureData
from integrationsplaner.exchange import identity
from integrationsplaner.exchange.export import export_bundle
from integrationsplaner.exchange.format import ENTITY_ORDER, MANIFEST, SIGNATURE, TABLE_OF
from integrationsplaner.exchange.importer import ImportResult, apply_import, prepare_import
from integrationsplaner.services import measures
from integrationsplaner.services.workspace import Workspace, create_workspace

_TEMPLATES: dict[str, Path] = {}


def make_ws(folder: Path, office: str, name: str | None = None) -> Workspace:
    """A new empty database of ``office`` (copied from a template: migrations are slow) with its
    own replica id, like a fresh installation."""
    import shutil
    import tempfile

    from integrationsplaner.services.workspace import open_workspace
    from integrationsplaner.store.database import new_replica_id

    folder.mkdir(parents=True, exist_ok=True)
    template = _TEMPLATES.get(office)
    if template is None:
        template = Path(tempfile.mkdtemp(prefix="ip-template-")) / f"{office}.sqlite"
        create_workspace(template, office, user="vorlage").close()
        _TEMPLATES[office] = template
    target = folder / f"{name or office}.sqlite"
    shutil.copy(template, target)
    con = sqlite3.connect(target)
    con.execute("UPDATE meta SET value = ? WHERE key = 'replica_id'", (new_replica_id(),))
    con.commit()
    con.close()
    return open_workspace(target, user=name or office)


def trust_all(workspaces: list[Workspace], folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    files = []
    for n, ws in enumerate(workspaces):
        path = folder / f"key{n}.ipkey"
        identity.export_key_file(ws, path)
        files.append((ws, path))
    for ws in workspaces:
        for other, path in files:
            if other is not ws:
                identity.import_key_file(ws, path)


def trust(target: Workspace, sources: list[Workspace], folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for n, ws in enumerate(sources):
        path = folder / f"trust{n}.ipkey"
        identity.export_key_file(ws, path)
        identity.import_key_file(target, path)


def new_measure(ws: Workspace, code: str, title: str, **extra: Any) -> str:
    data = MeasureData(code=code, title=title, action_area=1, status="geplant", **extra)
    return measures.save_measure(ws, data).id


def edit_measure(ws: Workspace, measure_id: str, **changes: Any) -> None:
    data = measures.get_measure(ws, measure_id)
    for key, value in changes.items():
        setattr(data, key, value)
    measures.save_measure(ws, data)


def exchange(source: Workspace, target: Workspace, path: Path, *, to: str | None = None,
             trust: bool = False) -> ImportResult:
    export_bundle(source, path, to=to)
    return import_file(target, path, trust=trust)


def import_file(target: Workspace, path: Path, *, trust: bool = False) -> ImportResult:
    with prepare_import(target, path, trust_new_sender=trust) as plan:
        return apply_import(target, plan)


def dump(ws: Workspace) -> dict[str, Any]:
    """Everything that must converge: every synchronised row (without local-only columns) and
    the open conflicts."""
    from integrationsplaner.exchange.conflicts import list_conflicts

    result: dict[str, Any] = {}
    con = sqlite3.connect(f"{ws.db.path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        for entity in ENTITY_ORDER:
            table = TABLE_OF[entity]
            cur = con.execute(f"SELECT * FROM {table} ORDER BY id")
            names = [d[0] for d in cur.description]
            rows = []
            for row in cur.fetchall():
                record = dict(zip(names, row, strict=True))
                record.pop("seq", None)
                record.pop("updated_by", None)
                for key in ("vv", "stamps"):
                    record[key] = json.loads(record[key])
                for key in ("target_groups", "municipalities", "action_areas", "offices",
                            "actual_values"):
                    if key in record and isinstance(record[key], str):
                        record[key] = json.loads(record[key])
                rows.append(record)
            result[entity] = rows
    finally:
        con.close()
    result["conflicts"] = sorted(
        (c.entity, c.record_id, c.field, c.kind, json.dumps(c.others, sort_keys=True))
        for c in list_conflicts(ws))
    return result


def file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def read_bundle(path: Path) -> tuple[dict[str, Any], dict[str, bytes]]:
    with zipfile.ZipFile(path) as zf:
        manifest = json.loads(zf.read(MANIFEST))
        entries = {n: zf.read(n) for n in zf.namelist() if n not in (MANIFEST, SIGNATURE)}
    return manifest, entries


def write_bundle(path: Path, manifest: dict[str, Any], entries: dict[str, bytes], private: Any,
                 *, sign: bool = True, rehash: bool = True,
                 extra: list[tuple[zipfile.ZipInfo | str, bytes]] = ()) -> None:
    """Write a bundle from parts, recomputing the manifest's entry data and signature."""
    if rehash:
        manifest = dict(manifest)
        manifest["entries"] = {
            name: {"size": len(data), "sha256": hashlib.sha256(data).hexdigest(),
                   "records": data.count(b"\n")} for name, data in entries.items()}
    manifest_bytes = json.dumps(manifest, indent=1, sort_keys=True).encode()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
        zf.writestr(MANIFEST, manifest_bytes)
        if sign:
            zf.writestr(SIGNATURE, private.sign(manifest_bytes))
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # duplicate names are the point of some tests
            for info, data in extra:
                zf.writestr(info, data)
    path.write_bytes(buffer.getvalue())


def private_key(ws: Workspace) -> Any:
    with ws.db.transaction() as session:
        return identity.own_key(session, ws.office_key, ws.user)[0]


def trace_statements(monkeypatch: Any) -> list[str]:
    """Every statement of every sqlite3 connection opened from now on (the import's apply
    connection among them), in order."""
    import sqlite3

    statements: list[str] = []
    connect = sqlite3.connect

    def traced(*args: Any, **kwargs: Any) -> sqlite3.Connection:
        con = connect(*args, **kwargs)
        con.set_trace_callback(statements.append)
        return con

    monkeypatch.setattr(sqlite3, "connect", traced)
    return statements


def sealed(text: str) -> str:
    """A rollback file's text with its checksum (the last line) made to fit again: tests that
    edit a file mean the refusal of what they changed, not of the checksum (which has tests of
    its own)."""
    from integrationsplaner.exchange.rollback import _CHECKSUM

    lines = [line for line in text.rstrip("\n").split("\n")
             if not line.startswith('{"' + _CHECKSUM)]
    body = "".join(line + "\n" for line in lines)
    return body + json.dumps({_CHECKSUM: hashlib.sha256(body.encode()).hexdigest()}) + "\n"
