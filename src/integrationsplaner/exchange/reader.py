"""Reading a bundle that may be hostile: every check runs before anything is written.

Order of the pipeline: size cap → the zip's central directory only (whitelist, entry count,
sizes, compression ratio, names, encryption, compression method) → manifest, sender key and
signature, format version → entry list against the manifest → per entry a streamed pass that
hashes every byte and validates every line strictly into a temporary staging database
(:mod:`~.staging`, with the line checks of :mod:`~.lines`). Nothing is extracted to disk under a
name from the file, and the target database is only read.
"""

from __future__ import annotations

import re
import struct
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from integrationsplaner.errors import UserError
from integrationsplaner.exchange import identity
from integrationsplaner.exchange.format import (
    ENTITY_OF_ENTRY,
    FORMAT_NAME,
    FORMAT_VERSION,
    MANIFEST,
    MAX_BUNDLE_BYTES,
    MAX_ENTRIES,
    MAX_ENTRY_BYTES,
    MAX_INT,
    MAX_MANIFEST_BYTES,
    MAX_RATIO,
    MAX_TOTAL_BYTES,
    REPLICA_RE,
    SIGNATURE,
    UUID_RE,
    WHITELIST,
)
from integrationsplaner.exchange.lines import _LineError, _safe, strict_loads
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


#: Inflate for the records entries: Intel's ISA-L (``isal``) inflates two to three times as fast
#: as zlib, which otherwise takes a tenth of a large import's time; zlib where it is missing.
try:
    from isal import isal_zlib as _inflate
except ImportError:  # pragma: no cover - a platform without its wheel
    _inflate = zlib  # type: ignore[no-redef]
#: What reading a damaged entry may raise (besides zlib's and ISA-L's errors).
READ_ERRORS: tuple[type[BaseException], ...] = (
    zipfile.BadZipFile, zlib.error, _inflate.error, EOFError, OSError, NotImplementedError,
    RuntimeError, ValueError)
_LOCAL_HEADER = struct.Struct("<4s2xHH8x4x4xHH")  # signature, flags, method, name and extra size
_INPUT = 256 * 1024


class EntryReader:
    """The uncompressed bytes of one records entry, read from its local header on.

    For the records entries instead of ``ZipFile.open``: inflated with ISA-L (see ``_inflate``),
    and without zip's CRC-32, which the SHA-256 of every entry (checked against the signed
    manifest) makes redundant. The entry's ZipInfo comes from the central directory that
    check_container has checked; its local header must agree (name, method, no encryption),
    at most its compressed size is read, and at most its stated size inflated, ``size`` bytes
    per call, so a file changed since the check cannot make it read or allocate more. A deflate
    stream that ends before the stated size, or does not end, raises EOFError; what it holds
    beyond the stated size is never read (the entry's SHA-256 then fails), as with zipfile."""

    def __init__(self, path: Path, info: zipfile.ZipInfo) -> None:
        self._file = open(path, "rb")  # noqa: SIM115 - closed by close()
        try:
            self._file.seek(info.header_offset)
            head = self._file.read(_LOCAL_HEADER.size)
            if len(head) != _LOCAL_HEADER.size:
                raise EOFError("local header cut short")
            magic, flags, method, name_size, extra_size = _LOCAL_HEADER.unpack(head)
            name = self._file.read(name_size)
            encoding = "utf-8" if info.flag_bits & 0x800 else "cp437"
            if (magic != b"PK\x03\x04" or name != info.orig_filename.encode(encoding)
                    or flags & 0x41 or method != info.compress_type
                    or method not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)):
                raise zipfile.BadZipFile(f"local header of {info.orig_filename!r}")
            self._file.seek(extra_size, 1)
        except BaseException:
            self._file.close()
            raise
        self._left = info.compress_size  # compressed bytes not read yet
        self._unread = info.file_size  # uncompressed bytes not returned yet
        self._stream = _inflate.decompressobj(-15) if method == zipfile.ZIP_DEFLATED else None
        self._tail = b""  # read, not inflated yet

    def read(self, size: int) -> bytes:
        """The next ``size`` bytes (fewer only at the end; ``b""`` after it)."""
        if self._stream is None:
            data = self._file.read(min(size, self._left))
            self._left -= len(data)
            if not data and self._left:
                raise EOFError("entry cut short")
            return data
        parts: list[bytes] = []
        wanted = min(size, self._unread)  # never beyond the size the zip states (as zipfile)
        self._unread -= wanted
        while wanted > 0 and not self._stream.eof:
            if not self._tail and self._left > 0:
                self._tail = self._file.read(min(_INPUT, self._left))
                if not self._tail:
                    raise EOFError("entry cut short")
                self._left -= len(self._tail)
            before = len(self._tail)
            # with no input left this still gives what the stream holds back of earlier input
            out = self._stream.decompress(self._tail, wanted)
            self._tail = self._stream.unconsumed_tail
            if not out and len(self._tail) == before and not self._stream.eof:
                raise EOFError("deflate stream without its end")
            parts.append(out)
            wanted -= len(out)
        if wanted:  # the stream ended before the size the zip states
            raise EOFError("entry shorter than stated")
        return b"".join(parts)

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> EntryReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


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
