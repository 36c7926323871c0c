"""Who is who in the exchange: Ed25519 keys of offices, fingerprints, key files, replicas.

Each installation creates its own key pair for its office on first use (the private key stays in
the database). Offices exchange public keys once as a small key file (``*.ipkey``) and compare the
short fingerprint by phone. A bundle from an unknown key is refused unless the user explicitly
trusts a new sender (only possible for an office of which no key is known yet).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from sqlalchemy import select
from sqlalchemy.orm import Session

from integrationsplaner.errors import UserError
from integrationsplaner.exchange.format import KEY_FILE_FORMAT, REPLICA_RE
from integrationsplaner.services.workspace import Workspace
from integrationsplaner.store.database import utcnow
from integrationsplaner.store.exchange_models import KnownReplica, OfficeKey

MAX_KEY_FILE_BYTES = 64 * 1024


def fingerprint(public_raw: bytes) -> str:
    return hashlib.sha256(public_raw).hexdigest()


def short_fingerprint(full: str) -> str:
    """The first 80 bits in groups of four, to be read out by phone: ``3F2A-91C0-…``."""
    text = full[:20].upper()
    return "-".join(text[i:i + 4] for i in range(0, len(text), 4))


@dataclass(frozen=True)
class KeyInfo:
    office_key: str
    fingerprint: str
    short: str
    own: bool
    trusted: bool
    source: str
    added_at: datetime


def _raw_public(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(Encoding.Raw, PublicFormat.Raw)


def own_key(session: Session, office_key: str, user: str) -> tuple[Ed25519PrivateKey, str]:
    """This installation's signing key (created on first use) and its fingerprint."""
    row = session.scalar(
        select(OfficeKey).where(OfficeKey.private_key.is_not(None),
                                OfficeKey.office_key == office_key).limit(1))
    if row is not None:
        private = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(row.private_key or ""))
        return private, row.fingerprint
    private = Ed25519PrivateKey.generate()
    from cryptography.hazmat.primitives.serialization import NoEncryption, PrivateFormat

    raw_private = private.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    raw_public = _raw_public(private.public_key())
    fp = fingerprint(raw_public)
    session.add(OfficeKey(fingerprint=fp, office_key=office_key, public_key=raw_public.hex(),
                          private_key=raw_private.hex(), trusted=True, source="eigen",
                          added_at=utcnow(), added_by=user))
    session.flush()
    return private, fp


def ensure_own_key(ws: Workspace) -> str:
    with ws.db.transaction() as session:
        _private, fp = own_key(session, ws.office_key, ws.user)
        remember_replica(session, ws.db.replica_id, ws.office_key, "eigen")
        return fp


def list_keys(ws: Workspace) -> list[KeyInfo]:
    ensure_own_key(ws)
    with ws.db.read() as session:
        rows = session.scalars(select(OfficeKey).order_by(OfficeKey.office_key,
                                                          OfficeKey.added_at)).all()
        return [KeyInfo(r.office_key, r.fingerprint, short_fingerprint(r.fingerprint),
                        r.private_key is not None, r.trusted, r.source, r.added_at)
                for r in rows]


def export_key_file(ws: Workspace, out: Path) -> KeyInfo:
    """Write this installation's public key as a key file for the other offices."""
    ensure_own_key(ws)
    with ws.db.read() as session:
        row = session.scalar(select(OfficeKey).where(OfficeKey.private_key.is_not(None),
                                                     OfficeKey.office_key == ws.office_key))
        assert row is not None
        payload = {
            "format": KEY_FILE_FORMAT,
            "version": 1,
            "office": ws.office_key,
            "public_key": row.public_key,
            "fingerprint": row.fingerprint,
            "created_at": row.added_at.isoformat(),
        }
        info = KeyInfo(row.office_key, row.fingerprint, short_fingerprint(row.fingerprint), True,
                       True, row.source, row.added_at)
    tmp = out.with_name(out.name + ".tmp")
    try:
        tmp.write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n", "utf-8")
        tmp.replace(out)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise UserError(f"Die Schlüsseldatei „{out}“ kann nicht geschrieben werden "
                        f"({exc.strerror}). Wählen Sie einen anderen Speicherort.") from None
    return info


def _reject_duplicates(pairs: list[tuple[str, object]]) -> dict[str, object]:
    result: dict[str, object] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"doppelter Schlüssel {key}")
        result[key] = value
    return result


def read_key_file(ws: Workspace, path: Path) -> tuple[str, bytes]:
    """Office and raw public key from a key file, strictly checked."""
    bad = (f"„{path.name}“ ist keine gültige Schlüsseldatei des Integrationsplaners. Bitten Sie "
           "die Dienststelle, ihren Schlüssel erneut zu exportieren (Austausch → Schlüssel).")
    try:
        size = path.stat().st_size
        if size > MAX_KEY_FILE_BYTES:
            raise UserError(bad)
        data = json.loads(path.read_bytes().decode("utf-8"), object_pairs_hook=_reject_duplicates)
    except FileNotFoundError:
        raise UserError(f"Die Schlüsseldatei „{path}“ gibt es nicht.") from None
    except (OSError, ValueError, UnicodeDecodeError, RecursionError):
        raise UserError(bad) from None
    if not isinstance(data, dict) or data.get("format") != KEY_FILE_FORMAT:
        raise UserError(bad)
    if data.get("version") != 1:
        raise UserError(f"„{path.name}“ stammt von einer neueren Version des Integrationsplaners."
                        " Bitte installieren Sie die aktuelle Version.")
    office = data.get("office")
    public_hex = data.get("public_key")
    if not isinstance(office, str) or not isinstance(public_hex, str) or len(public_hex) != 64:
        raise UserError(bad)
    try:
        raw = bytes.fromhex(public_hex)
        Ed25519PublicKey.from_public_bytes(raw)
    except ValueError:
        raise UserError(bad) from None
    if data.get("fingerprint") not in (None, fingerprint(raw)):
        raise UserError(bad)
    if office not in ws.reference.office_keys():
        raise UserError(f"Die Schlüsseldatei nennt die Dienststelle „{office}“, die es im "
                        "Landkreis nicht gibt.")
    return office, raw


def import_key_file(ws: Workspace, path: Path) -> tuple[KeyInfo, bool]:
    """Trust the public key in a key file. Returns the key and whether it was new."""
    office, raw = read_key_file(ws, path)
    fp = fingerprint(raw)
    with ws.db.transaction() as session:
        row = session.get(OfficeKey, fp)
        if row is not None:
            if row.private_key is not None:
                raise UserError("Das ist der eigene Schlüssel dieser Installation; er muss nicht "
                                "eingelesen werden.")
            if not row.trusted:
                row.trusted = True
            return KeyInfo(row.office_key, fp, short_fingerprint(fp), False, True, row.source,
                           row.added_at), False
        now = utcnow()
        session.add(OfficeKey(fingerprint=fp, office_key=office, public_key=raw.hex(),
                              private_key=None, trusted=True, source="schluesseldatei",
                              added_at=now, added_by=ws.user))
        return KeyInfo(office, fp, short_fingerprint(fp), False, True, "schluesseldatei",
                       now), True


def remove_key(ws: Workspace, fp: str) -> None:
    with ws.db.transaction() as session:
        row = session.get(OfficeKey, fp)
        if row is None:
            return
        if row.private_key is not None:
            raise UserError("Der eigene Schlüssel dieser Installation kann nicht entfernt werden.")
        session.delete(row)


def trusted_keys(session: Session, office_key: str) -> dict[str, bytes]:
    rows = session.scalars(select(OfficeKey).where(OfficeKey.office_key == office_key,
                                                   OfficeKey.trusted.is_(True))).all()
    return {r.fingerprint: bytes.fromhex(r.public_key) for r in rows}


def verify(public_raw: bytes, signature: bytes, message: bytes) -> bool:
    try:
        Ed25519PublicKey.from_public_bytes(public_raw).verify(signature, message)
    except (InvalidSignature, ValueError):
        return False
    return True


def remember_replica(session: Session, replica_id: str, office_key: str, via: str) -> None:
    if not REPLICA_RE.match(replica_id):
        return
    if session.get(KnownReplica, replica_id) is None:
        session.add(KnownReplica(replica_id=replica_id, office_key=office_key,
                                 first_seen=utcnow(), via=via))
        session.flush()


def replica_offices(session: Session) -> dict[str, str]:
    return dict(session.execute(select(KnownReplica.replica_id, KnownReplica.office_key)).all())
