"""Reading a bundle that may be hostile: every check runs before anything is written.

Order of the pipeline: size cap → the zip's central directory only (whitelist, entry count,
sizes, compression ratio, names, encryption, compression method) → manifest, sender key and
signature, format version → entry list against the manifest → per entry a streamed pass that
hashes every byte and validates every line strictly into a temporary staging database. Nothing
is extracted to disk under a name from the file, and the target database is only read.
"""

from __future__ import annotations

import json
import math
import re
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from integrationsplaner.domain.text import sort_key
from integrationsplaner.errors import UserError
from integrationsplaner.exchange import identity
from integrationsplaner.exchange.format import (
    ENTITY_OF_ENTRY,
    FORMAT_NAME,
    FORMAT_VERSION,
    KEY_RE,
    MANIFEST,
    MAX_BUNDLE_BYTES,
    MAX_ENTRIES,
    MAX_ENTRY_BYTES,
    MAX_INT,
    MAX_LIST_ITEMS,
    MAX_MANIFEST_BYTES,
    MAX_RATIO,
    MAX_SIBLINGS,
    MAX_TOTAL_BYTES,
    MAX_VV_ENTRIES,
    META_FIELDS,
    PERIOD_RE,
    REPLICA_RE,
    SIGNATURE,
    UUID_RE,
    WHITELIST,
    EntitySpec,
    FieldSpec,
    canonical_json,
    check_plain_text,
    db_datetime,
    valid_date,
    valid_datetime,
)
from integrationsplaner.services.evaluations import evaluation_id
from integrationsplaner.services.workspace import Workspace

_CHUNK = 1024 * 1024
_DRIVE_RE = re.compile(r"^[A-Za-z]:")
Progress = Callable[[int, int], bool]


class BundleError(UserError):
    """The bundle is refused as a whole; nothing was changed."""


class UnknownSenderError(BundleError):
    """The sender's key is not known yet; a person must confirm it (``--trust-new-sender``)."""

    def __init__(self, message: str, office: str, short_fingerprint: str) -> None:
        super().__init__(message)
        self.office = office
        self.short_fingerprint = short_fingerprint


class ImportCancelled(Exception):
    """The user cancelled before anything was applied."""


class _LineError(Exception):
    pass


@dataclass
class BundleHeader:
    path: Path
    size: int
    manifest: dict[str, Any]
    bundle_id: str
    created_at: datetime
    sender_office: str
    sender_replica: str
    sender_fingerprint: str
    sender_public: bytes
    new_sender: bool
    recipient: str
    kind: str
    journal_from: int
    journal_to: int
    acknowledgements: dict[str, int]
    replicas: dict[str, str]
    entries: dict[str, dict[str, Any]]
    counts: dict[str, int] = field(default_factory=dict)
    file_sha256: str = ""  # of the whole file; recorded in the import log

    @property
    def short_fingerprint(self) -> str:
        return identity.short_fingerprint(self.sender_fingerprint)


def _fail(text: str) -> BundleError:
    return BundleError(text)


def _strict_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        seen: set[str] = set()
        for key, _value in pairs:
            if key in seen:
                raise _LineError(f"Der Schlüssel „{key}“ kommt doppelt vor")
            seen.add(key)
    return result


def _parse_constant(text: str) -> Any:
    raise _LineError(f"„{text}“ ist keine zulässige Zahl")


# parse_int/parse_float hooks would cost a Python call per number: Python's own limit on integer
# digits refuses huge integers, and infinite floats are refused where numbers are validated.
_decoder = json.JSONDecoder(object_pairs_hook=_strict_pairs, parse_constant=_parse_constant)


#: Without the pairs hook: objects are built in C. Used first for record lines; see loads_line.
_fast_decoder = json.JSONDecoder(parse_constant=_parse_constant)
_SPACED_COLON = re.compile(r'"\s+:').search


def loads_line(text: str) -> Any:
    """A record line, strictly, but fast: decoded without the duplicate-key hook, then the keys
    of the record and of its nested objects are counted against the ``":`` separators of the
    text. Without whitespace before a colon every key of the line ends in one such separator (a
    ``":`` inside a string value only adds to the count), so equal counts prove that no key was
    dropped as a duplicate; otherwise the line is decoded again with the strict hook, which
    names the duplicate key."""
    record = strict_loads(text, _fast_decoder)
    if type(record) is dict and _SPACED_COLON(text) is None:
        keys = len(record)
        for value in record.values():
            if type(value) is dict:
                keys += len(value)
        if keys == text.count('":'):
            return record
    return strict_loads(text)


def strict_loads(text: str, decoder: json.JSONDecoder = _decoder) -> Any:
    try:
        return decoder.decode(text)
    except RecursionError:
        raise _LineError("Die Daten sind zu tief verschachtelt") from None
    except json.JSONDecodeError as exc:
        raise _LineError(f"Kein gültiges JSON ({exc.msg}, Spalte {exc.colno})") from None
    except ValueError as exc:
        if "digits" in str(exc):
            raise _LineError("Eine ganze Zahl ist zu groß") from None
        raise _LineError(f"Ungültige Zahl ({exc})") from None


# --- step 1 and 2: file and central directory --------------------------------------------------


def _not_a_bundle(path: Path) -> BundleError:
    return _fail(f"„{path.name}“ ist keine Bündeldatei des Integrationsplaners (Endung "
                 ".ipbundle). Bitten Sie den Absender, das Bündel erneut zu exportieren.")


def check_container(path: Path) -> zipfile.ZipFile:
    """Open the zip reading only its central directory, and enforce every structural limit."""
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise _fail(f"Die Datei „{path}“ gibt es nicht.") from None
    except OSError as exc:
        raise _fail(f"Die Datei „{path}“ kann nicht gelesen werden ({exc.strerror}).") from None
    if path.is_dir():
        raise _fail(f"„{path}“ ist ein Ordner, keine Bündeldatei.")
    if size == 0:
        raise _fail(f"Die Datei „{path.name}“ ist leer (0 Bytes). Vermutlich wurde sie nicht "
                    "vollständig kopiert; bitten Sie den Absender um eine neue Kopie.")
    if size > MAX_BUNDLE_BYTES:
        raise _fail(f"Die Datei „{path.name}“ ist mit {size / 1024**3:.1f} GB zu groß für ein "
                    "Bündel. Es wurde nichts geändert.")
    try:
        zf = zipfile.ZipFile(path)
    except zipfile.BadZipFile:
        raise _fail(f"„{path.name}“ ist beschädigt oder unvollständig (keine lesbare "
                    "Zip-Struktur). Bitten Sie den Absender, das Bündel erneut zu "
                    "senden.") from None
    except (OSError, ValueError, EOFError):
        raise _not_a_bundle(path) from None
    try:
        infos = zf.infolist()
        if len(infos) > MAX_ENTRIES:
            raise _fail(f"„{path.name}“ enthält {len(infos)} Einträge; ein Bündel hat höchstens "
                        f"{MAX_ENTRIES}. Die Datei wird nicht verarbeitet.")
        names: set[str] = set()
        total = 0
        for info in infos:
            name = info.orig_filename
            if ("\\" in name or name.startswith("/") or _DRIVE_RE.match(name)
                    or ".." in name.split("/") or "\x00" in name):
                raise _fail(f"„{path.name}“ enthält den unzulässigen Eintragsnamen "
                            f"„{_safe(name)}“ (Pfadangabe). Die Datei wird nicht verarbeitet.")
            if name in names:
                raise _fail(f"„{path.name}“ enthält den Eintrag „{_safe(name)}“ doppelt. Die "
                            "Datei wird nicht verarbeitet.")
            names.add(name)
        if MANIFEST not in names and any(n.startswith("word/") or n == "[Content_Types].xml"
                                         for n in names):
            raise _fail(f"„{path.name}“ ist ein Office-Dokument (z. B. .docx), kein Bündel des "
                        "Integrationsplaners.")
        for info in infos:
            name = info.orig_filename
            if name not in WHITELIST:
                raise _fail(f"„{path.name}“ enthält den unbekannten Eintrag „{_safe(name)}“. "
                            "Ein Bündel enthält nur manifest.json, manifest.sig und "
                            "records/*.jsonl; die Datei wird nicht verarbeitet.")
            if info.flag_bits & 0x1:
                raise _fail(f"Der Eintrag „{name}“ in „{path.name}“ ist verschlüsselt. Bündel "
                            "werden nie verschlüsselt; die Datei wird nicht verarbeitet.")
            if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
                raise _fail(f"Der Eintrag „{name}“ in „{path.name}“ verwendet ein unbekanntes "
                            "Kompressionsverfahren. Die Datei wird nicht verarbeitet.")
            if info.file_size > MAX_ENTRY_BYTES or (
                    info.file_size > 1024**2
                    and info.file_size > MAX_RATIO * max(info.compress_size, 1)):
                raise _fail(f"Der Eintrag „{name}“ in „{path.name}“ würde entpackt "
                            f"{info.file_size:,} Bytes groß (Verdacht auf eine Zip-Bombe). "
                            "Die Datei wird nicht verarbeitet.".replace(",", "."))
            if info.compress_type == zipfile.ZIP_STORED and info.file_size != info.compress_size:
                raise _fail(f"Die Größenangaben des Eintrags „{name}“ in „{path.name}“ "
                            "widersprechen sich. Die Datei wird nicht verarbeitet.")
            total += info.file_size
        if total > MAX_TOTAL_BYTES:
            raise _fail(f"„{path.name}“ wäre entpackt zu groß. Die Datei wird nicht verarbeitet.")
        if MANIFEST not in names:
            raise _not_a_bundle(path)
        if SIGNATURE not in names:
            raise _fail(f"„{path.name}“ ist nicht signiert (manifest.sig fehlt). Unsignierte "
                        "Bündel werden nicht übernommen; bitten Sie den Absender, erneut zu "
                        "exportieren.")
    except BaseException:
        zf.close()
        raise
    return zf


def _safe(name: str) -> str:
    from integrationsplaner.exchange.format import escape_display

    return escape_display(name, 80)


def _read_small(zf: zipfile.ZipFile, name: str, limit: int, path: Path) -> bytes:
    info = zf.getinfo(name)
    if info.file_size > limit:
        raise _fail(f"Der Eintrag „{name}“ in „{path.name}“ ist zu groß.")
    try:
        with zf.open(info) as handle:
            data = handle.read(limit + 1)
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError,
            RuntimeError, ValueError):
        raise _damaged(path) from None
    if len(data) > limit:
        raise _fail(f"Der Eintrag „{name}“ in „{path.name}“ ist zu groß.")
    return data


def _damaged(path: Path) -> BundleError:
    return _fail(f"„{path.name}“ ist beschädigt: der Inhalt passt nicht zur Prüfsumme. "
                 "Vermutlich wurde die Datei beim Kopieren oder Versenden verändert. Bitten Sie "
                 "den Absender, das Bündel erneut zu senden.")


# --- step 3: manifest, key, signature ---------------------------------------------------------


def read_header(ws: Workspace, path: Path, *, trust_new_sender: bool = False) -> BundleHeader:
    """Every check up to the records: container, manifest, signature, sender, entry list."""
    path = Path(path)
    zf = check_container(path)
    with zf:
        manifest_bytes = _read_small(zf, MANIFEST, MAX_MANIFEST_BYTES, path)
        signature = _read_small(zf, SIGNATURE, 1024, path)
        names = {i.orig_filename for i in zf.infolist()} - {MANIFEST, SIGNATURE}
    size = path.stat().st_size
    try:
        manifest = strict_loads(manifest_bytes.decode("utf-8"))
    except (UnicodeDecodeError, _LineError) as exc:
        raise _fail(f"Das Manifest von „{path.name}“ ist unlesbar ({exc}). Die Datei wird nicht "
                    "verarbeitet.") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT_NAME:
        raise _not_a_bundle(path)
    version = manifest.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise _fail(f"Das Manifest von „{path.name}“ nennt keine gültige Formatversion.")
    if version > FORMAT_VERSION:
        raise _fail(f"„{path.name}“ wurde mit einer neueren Version des Integrationsplaners "
                    f"erstellt (Bündelformat {version}, diese Version kennt bis "
                    f"{FORMAT_VERSION}). Bitte installieren Sie die aktuelle Version; es wurde "
                    "nichts geändert.")
    sender = manifest.get("sender")
    bad_manifest = _fail(f"Das Manifest von „{path.name}“ ist unvollständig oder fehlerhaft. Die "
                         "Datei wird nicht verarbeitet.")
    if not isinstance(sender, dict):
        raise bad_manifest
    office = sender.get("office")
    replica = sender.get("replica")
    fp = sender.get("key_fingerprint")
    public_hex = sender.get("public_key")
    if not (isinstance(office, str) and isinstance(replica, str) and isinstance(fp, str)
            and isinstance(public_hex, str) and REPLICA_RE.match(replica)
            and re.fullmatch(r"[0-9a-f]{64}", public_hex) and re.fullmatch(r"[0-9a-f]{64}", fp)):
        raise bad_manifest
    public = bytes.fromhex(public_hex)
    if identity.fingerprint(public) != fp:
        raise bad_manifest
    if office not in ws.reference.office_keys():
        raise _fail(f"„{path.name}“ stammt angeblich von der Dienststelle „{_safe(office)}“, die "
                    "es im Landkreis nicht gibt. Die Datei wird nicht verarbeitet.")
    if len(signature) != 64 or not identity.verify(public, signature, manifest_bytes):
        raise _fail(f"Die Signatur von „{path.name}“ ist ungültig: das Manifest wurde nach dem "
                    "Signieren verändert oder mit einem anderen Schlüssel signiert. Die Datei "
                    "wird nicht verarbeitet.")
    recipient = manifest.get("recipient")
    if not isinstance(recipient, str) or (
            recipient != "*" and recipient not in ws.reference.office_keys()):
        raise bad_manifest
    if recipient not in ("*", ws.office_key):
        raise _fail(f"„{path.name}“ ist für die Dienststelle "
                    f"{ws.reference.office(recipient).name} bestimmt, nicht für diese. Es wurde "
                    "nichts geändert.")
    with ws.db.read() as session:
        trusted = identity.trusted_keys(session, office)
    short = identity.short_fingerprint(fp)
    office_name = ws.reference.office(office).name
    new_sender = False
    if fp not in trusted:
        if trusted:
            raise _fail(
                f"„{path.name}“ ist mit einem anderen Schlüssel signiert als dem bekannten der "
                f"Dienststelle {office_name} (Fingerabdruck des Bündels {short}). Das kann eine "
                "Fälschung sein. Hat die Dienststelle einen neuen Schlüssel, lesen Sie ihre "
                "Schlüsseldatei ein (Austausch → Schlüssel verwalten) und vergleichen Sie den "
                "Fingerabdruck telefonisch.")
        if not trust_new_sender:
            raise UnknownSenderError(
                f"Von der Dienststelle {office_name} ist noch kein Schlüssel bekannt "
                f"(Fingerabdruck {short}). Vergleichen Sie den Fingerabdruck telefonisch mit "
                "der Dienststelle und bestätigen Sie den neuen Absender (Befehl: "
                "--trust-new-sender) oder lesen Sie vorher ihre Schlüsseldatei ein.",
                office, short)
        new_sender = True
    # the signature holds: now the rest of the manifest, strictly
    bundle_id = manifest.get("bundle_id")
    created = manifest.get("created_at")
    coverage = manifest.get("coverage")
    acks = manifest.get("acknowledgements")
    replicas = manifest.get("replicas", {})
    entries = manifest.get("entries")
    if not (isinstance(bundle_id, str) and UUID_RE.match(bundle_id)
            and isinstance(created, str) and re.fullmatch(
                r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z", created)
            and isinstance(recipient, str) and isinstance(coverage, dict)
            and isinstance(acks, dict) and isinstance(replicas, dict)
            and isinstance(entries, dict)):
        raise bad_manifest
    try:
        created_at = datetime.fromisoformat(created[:-1])
    except ValueError:
        raise bad_manifest from None
    district = manifest.get("district", "")
    if district and ws.db.meta.get("district_key") and district != ws.db.meta["district_key"]:
        raise _fail(f"„{path.name}“ stammt aus einem anderen Landkreis ({_safe(district)}).")
    kind = coverage.get("kind")
    j_from, j_to = coverage.get("journal_from"), coverage.get("journal_to")
    if kind not in ("voll", "inkrementell") or not all(
            isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= MAX_INT
            for v in (j_from, j_to)) or j_from > j_to:
        raise bad_manifest
    for key, value in acks.items():
        if not REPLICA_RE.match(key) or not isinstance(value, int) or isinstance(value, bool) \
                or not 0 <= value <= MAX_INT:
            raise bad_manifest
    for key, value in replicas.items():
        if not REPLICA_RE.match(key) or value not in ws.reference.office_keys():
            raise bad_manifest
    for name, entry in entries.items():
        if name not in ENTITY_OF_ENTRY or not isinstance(entry, dict) or not (
                isinstance(entry.get("size"), int) and isinstance(entry.get("records"), int)
                and isinstance(entry.get("sha256"), str)
                and re.fullmatch(r"[0-9a-f]{64}", entry["sha256"])):
            raise bad_manifest
    missing = sorted(set(entries) - names)
    extra = sorted(names - set(entries))
    if missing:
        raise _fail(f"In „{path.name}“ fehlt der Eintrag „{missing[0]}“, den das Manifest "
                    "nennt. Die Datei ist unvollständig; bitten Sie den Absender, sie erneut zu "
                    "senden.")
    if extra:
        raise _fail(f"„{path.name}“ enthält den Eintrag „{extra[0]}“, den das Manifest nicht "
                    "nennt. Die Datei wird nicht verarbeitet.")
    return BundleHeader(
        path=path, size=size, manifest=manifest, bundle_id=bundle_id, created_at=created_at,
        sender_office=office, sender_replica=replica, sender_fingerprint=fp,
        sender_public=public, new_sender=new_sender, recipient=recipient, kind=kind,
        journal_from=j_from, journal_to=j_to, acknowledgements=dict(acks),
        replicas=dict(replicas), entries=dict(entries),
        counts={ENTITY_OF_ENTRY[n]: int(e["records"]) for n, e in entries.items()},
    )


# --- step 4: records, streamed, hashed and validated into the staging database ---------------


_TEXT_KINDS = frozenset({"str", "text"})
_SPECIAL_TEXT = frozenset({"measure_id", "partner_id", "concept_period", "period"})
_F_LINE, _F_TEXT, _F_INT, _F_BOOL, _F_FLOAT, _F_DATE, _F_OTHER = range(7)
_META_KEYS = frozenset({*META_FIELDS, "siblings"})
_UUID_MATCH = UUID_RE.match
_REPLICA_MATCH = REPLICA_RE.match
_LINE_CONTROL = re.compile(r"[\x00-\x1f\x7f]").search
_TEXT_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]").search
_DATETIME_MATCH = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{6})?\Z").match
_fromisoformat = datetime.fromisoformat


def _sort_key(text: str) -> str:
    """domain.text.sort_key; for plain ASCII text (no decomposition, no combining marks, and
    casefold is lower) without the per-character pass."""
    if text.isascii():
        return text.lower().strip()[:200]
    return sort_key(text)


def _valid_datetime(text: str) -> bool:
    if _DATETIME_MATCH(text) is None:
        return False
    try:
        _fromisoformat(text)
    except ValueError:
        return False
    return True


class Validator:
    """Strict checks of one record line; returns the row for the staging table."""

    def __init__(self, ws: Workspace | None) -> None:
        if ws is not None:
            ref = ws.reference
            self.offices = frozenset(ref.office_keys())
            self.areas = frozenset(a.number for a in ref.action_areas)
            self.concepts = frozenset(c.key for c in ref.concept_periods)
        self._plans: dict[str, tuple[tuple[str, int, int, FieldSpec], ...]] = {}
        self._dates: set[str] = set()  # caches of values already found valid
        self._datetimes: dict[str, str] = {}
        self._users: set[str] = set()

    @classmethod
    def of(cls, offices: frozenset[str], areas: frozenset[int],
           concepts: frozenset[str]) -> Validator:
        """A validator from the reference data alone (in a worker process)."""
        validator = cls(None)
        validator.offices, validator.areas, validator.concepts = offices, areas, concepts
        return validator

    def _plan_of(self, spec: EntitySpec) -> tuple[tuple[str, int, int, FieldSpec], ...]:
        """Per entity once: each field's name, a fast-path code, its length limit and spec."""
        plan = self._plans.get(spec.name)
        if plan is None:
            items = []
            for f in spec.fields:
                if f.kind in _TEXT_KINDS and f.name not in _SPECIAL_TEXT:
                    code = _F_TEXT if f.kind == "text" else _F_LINE
                elif f.kind == "int" and f.name != "action_area":
                    code = _F_INT
                elif f.kind == "bool":
                    code = _F_BOOL
                elif f.kind == "float":
                    code = _F_FLOAT
                elif f.kind == "date":
                    code = _F_DATE
                else:
                    code = _F_OTHER
                items.append((f.name, code, f.max_len, f))
            plan = self._plans[spec.name] = tuple(items)
        return plan

    def row(self, spec: EntitySpec, record: Any) -> tuple[list[Any], str | None]:
        if type(record) is not dict:
            raise _LineError("Die Zeile ist kein Datensatz (JSON-Objekt erwartet)")
        fields = spec.fields
        siblings = record.get("siblings")
        expected = len(META_FIELDS) + len(fields) + (1 if "siblings" in record else 0)
        if len(record) != expected or not spec.field_set.issuperset(record.keys() - _META_KEYS):
            known = set(META_FIELDS) | {f.name for f in fields} | {"siblings"}
            unknown = sorted(set(record) - known)
            missing = sorted(known - set(record) - {"siblings"})
            if unknown:
                raise _LineError(f"Unbekanntes Feld „{_safe(unknown[0])}“")
            raise _LineError(f"Das Feld „{missing[0]}“ fehlt")
        rid = record["id"]
        if type(rid) is not str or not _UUID_MATCH(rid):
            raise _LineError(f"„{_safe(str(rid))}“ ist keine gültige Datensatz-ID (UUID)")
        office = record["office_key"]
        if type(office) is not str or office not in self.offices:
            raise _LineError(f"Unbekannte Dienststelle „{_safe(str(office))}“")
        vv = record["vv"]
        if type(vv) is not dict or not vv or len(vv) > MAX_VV_ENTRIES:
            raise _LineError("Der Versionsvektor „vv“ ist ungültig")
        for key, value in vv.items():
            if not _REPLICA_MATCH(key) or type(value) is not int or not 1 <= value <= MAX_INT:
                raise _LineError("Der Versionsvektor „vv“ ist ungültig")
        origin = record["origin_replica"]
        if type(origin) is not str or vv.get(origin, 0) < 1:
            raise _LineError("„origin_replica“ fehlt im Versionsvektor")
        stamps = record["stamps"]
        if type(stamps) is not dict:
            raise _LineError("„stamps“ ist ungültig")
        names = spec.field_set
        for key, dot in stamps.items():
            if key not in names or not _valid_dot(dot, vv):
                raise _LineError(f"Der Stempel des Felds „{_safe(key)}“ ist ungültig")
        # the stored texts of vv and stamps, exactly as canonical_json writes them (keys and
        # replica ids are validated above, so nothing in them needs escaping)
        if len(vv) == 1:
            ((k, v),) = vv.items()
            vv_text = f'{{"{k}": {v}}}'
        else:
            vv_text = "{" + ", ".join(f'"{k}": {v}' for k, v in sorted(vv.items())) + "}"
        stamps_text = "{" + ", ".join(f'"{k}": ["{d[0]}", {d[1]}]'
                                      for k, d in sorted(stamps.items())) + "}"
        values: list[Any] = [rid, office, origin, vv_text, stamps_text]
        stored = self._datetimes
        for key in ("created_at", "updated_at"):
            value = record[key]
            text = stored.get(value) if type(value) is str else None
            if text is None:
                if type(value) is not str or not _valid_datetime(value):
                    raise _LineError(f"„{key}“ ist kein gültiger Zeitpunkt")
                text = value[:19].replace("T", " ") + (value[19:] if len(value) > 19
                                                       else ".000000")
                if len(stored) < 100_000:
                    stored[value] = text
            values.append(text)
        by = record["updated_by"]
        if type(by) is not str or by not in self._users:
            if type(by) is not str or len(by) > 200 or _LINE_CONTROL(by) is not None:
                raise _LineError("„updated_by“ ist ungültig")
            if len(self._users) < 10_000:
                self._users.add(by)
        values.append(by)
        append = values.append
        dates = self._dates
        for name, code, max_len, f in self._plan_of(spec):
            value = record[name]
            # the common cases inline; everything else (and every error) through value()
            tv = type(value)
            if code == _F_LINE:
                if tv is str and len(value) <= max_len and _LINE_CONTROL(value) is None:
                    append(value)
                    continue
            elif code == _F_TEXT:
                if tv is str and len(value) <= max_len and _TEXT_CONTROL(value) is None:
                    append(value)
                    continue
            elif code == _F_INT:
                if tv is int and -MAX_INT <= value <= MAX_INT:
                    append(value)
                    continue
            elif code == _F_BOOL:
                if tv is bool:
                    append(1 if value else 0)
                    continue
            elif code == _F_FLOAT:
                if tv is float and math.isfinite(value):
                    append(value)
                    continue
            elif code == _F_DATE:
                if tv is str and value in dates:
                    append(value)
                    continue
                if tv is str and valid_date(value) and len(dates) < 100_000:
                    dates.add(value)
            if value is None and f.nullable:
                append(None)
                continue
            append(self.value(f, value, spec.name))
        if spec.name == "measure":
            values.append(_sort_key(record["title"]))
        elif spec.name == "partner":
            values.append(_sort_key(record["name"]))
        if spec.name == "evaluation" and rid != evaluation_id(record["measure_id"],
                                                             record["period"]):
            raise _LineError("Die ID der Bewertung passt nicht zu Maßnahme und Zeitraum")
        sib_text = None
        if siblings is not None:
            if not isinstance(siblings, dict):
                raise _LineError("„siblings“ ist ungültig")
            by_name = {f.name: f for f in fields}
            clean: dict[str, list[list[Any]]] = {}
            for key, items in siblings.items():
                if key not in by_name or not isinstance(items, list) or not (
                        0 < len(items) <= MAX_SIBLINGS):
                    raise _LineError("„siblings“ ist ungültig")
                out = []
                for item in items:
                    if not isinstance(item, list) or len(item) != 3 or not _valid_dot(
                            item[:2], vv):
                        raise _LineError("„siblings“ ist ungültig")
                    self.value(by_name[key], item[2], spec.name)
                    out.append([item[0], item[1], item[2]])
                clean[key] = out
            sib_text = canonical_json(clean) if clean else None
        return values, sib_text

    def value(self, f: FieldSpec, value: Any, entity: str) -> Any:
        name = f.name
        if value is None:
            if f.nullable:
                return None
            raise _LineError(f"Das Feld „{name}“ darf nicht leer (null) sein")
        kind = f.kind
        if kind in ("str", "text"):
            if not isinstance(value, str):
                raise _LineError(f"Das Feld „{name}“ muss Text sein")
            if len(value) > f.max_len:
                raise _LineError(f"Das Feld „{name}“ ist zu lang ({len(value):,} Zeichen, "
                                 f"höchstens {f.max_len:,})".replace(",", "."))
            if not check_plain_text(value, kind == "text"):
                raise _LineError(f"Das Feld „{name}“ enthält Steuerzeichen")
            if name in ("measure_id", "partner_id") and not UUID_RE.match(value):
                raise _LineError(f"„{name}“ ist keine gültige Datensatz-ID (UUID)")
            if name == "concept_period" and value not in self.concepts:
                raise _LineError(f"Unbekannter Konzeptzeitraum „{_safe(value)}“")
            if name == "period" and not PERIOD_RE.match(value):
                raise _LineError(f"„{_safe(value)}“ ist kein gültiger Zeitraum (z. B. 2019-H1)")
            return value
        if kind == "int":
            if not isinstance(value, int) or isinstance(value, bool):
                raise _LineError(f"Das Feld „{name}“ muss eine ganze Zahl sein")
            if not -MAX_INT <= value <= MAX_INT:
                raise _LineError(f"Die Zahl im Feld „{name}“ ist zu groß")
            if name == "action_area" and value not in self.areas:
                raise _LineError(f"Unbekanntes Handlungsfeld {value}")
            return value
        if kind == "float":
            if not isinstance(value, int | float) or isinstance(value, bool):
                raise _LineError(f"Das Feld „{name}“ muss eine Zahl sein")
            if isinstance(value, int) and not -MAX_INT <= value <= MAX_INT:
                raise _LineError(f"Die Zahl im Feld „{name}“ ist zu groß")
            if not math.isfinite(value):
                raise _LineError(f"Die Zahl im Feld „{name}“ ist unendlich groß")
            return float(value)
        if kind == "bool":
            if not isinstance(value, bool):
                raise _LineError(f"Das Feld „{name}“ muss true oder false sein")
            return 1 if value else 0
        if kind == "date":
            if not isinstance(value, str) or not valid_date(value):
                raise _LineError(f"Das Feld „{name}“ enthält kein gültiges Datum "
                                 f"(„{_safe(str(value))}“)")
            return value
        if kind == "datetime":
            if not isinstance(value, str) or not valid_datetime(value):
                raise _LineError(f"Das Feld „{name}“ enthält keinen gültigen Zeitpunkt")
            return db_datetime(value)
        if kind == "json":
            return canonical_json(_json_value(name, value))
        raise _LineError(f"Das Feld „{name}“ hat einen unbekannten Typ")  # pragma: no cover


def _valid_dot(dot: Any, vv: dict[str, int]) -> bool:
    return (isinstance(dot, list) and len(dot) == 2 and isinstance(dot[0], str)
            and REPLICA_RE.match(dot[0]) is not None and isinstance(dot[1], int)
            and not isinstance(dot[1], bool) and 1 <= dot[1] <= vv.get(dot[0], 0))


def _json_value(name: str, value: Any) -> Any:
    if name == "actual_values":
        if not isinstance(value, dict) or len(value) > MAX_LIST_ITEMS:
            raise _LineError("„actual_values“ muss eine Zuordnung Kennzahl → Wert sein")
        for key, number in value.items():
            if not UUID_RE.match(key):
                raise _LineError("„actual_values“ enthält eine ungültige Kennzahl-ID")
            if number is not None and (not isinstance(number, int | float)
                                       or isinstance(number, bool)
                                       or (isinstance(number, int) and abs(number) > MAX_INT)
                                       or not math.isfinite(number)):
                raise _LineError("„actual_values“ enthält einen ungültigen Wert")
        return value
    if not isinstance(value, list) or len(value) > MAX_LIST_ITEMS:
        raise _LineError(f"Das Feld „{name}“ muss eine Liste sein")
    if name == "action_areas":
        if not all(isinstance(v, int) and not isinstance(v, bool) and 1 <= v <= 5 for v in value):
            raise _LineError("„action_areas“ darf nur Handlungsfelder 1 bis 5 enthalten")
    elif not all(isinstance(v, str) and KEY_RE.match(v) for v in value):
        raise _LineError(f"Das Feld „{name}“ enthält ungültige Schlüssel")
    return value
