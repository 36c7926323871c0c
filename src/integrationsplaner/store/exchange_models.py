"""Mappings of the bundle-exchange bookkeeping (keys, replicas, acknowledgements, conflicts, log).

These tables are local to one database and never travel in bundles themselves; what the exchange
needs from them travels inside the signed manifest (acknowledgements) or inside record lines
(open conflict siblings). See ``docs/bundle-format.md``.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, DateTime, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from integrationsplaner.store.models import Base


class OfficeKey(Base):
    """An Ed25519 public key of an office (with the private key only for this installation)."""

    __tablename__ = "exchange_keys"
    fingerprint: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256 of the key
    office_key: Mapped[str] = mapped_column(String(64), index=True)
    public_key: Mapped[str] = mapped_column(String(64))  # 32 raw bytes, hex
    private_key: Mapped[str | None] = mapped_column(Text)  # 32 raw bytes, hex; own key only
    trusted: Mapped[bool] = mapped_column(Boolean, default=True)
    source: Mapped[str] = mapped_column(String(30))  # eigen | schluesseldatei | erstkontakt
    added_at: Mapped[datetime] = mapped_column(DateTime)
    added_by: Mapped[str] = mapped_column(String(200), default="")


class KnownReplica(Base):
    """Which office an installation (replica id) belongs to, as far as this database knows."""

    __tablename__ = "exchange_replicas"
    replica_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    office_key: Mapped[str] = mapped_column(String(64))
    first_seen: Mapped[datetime] = mapped_column(DateTime)
    via: Mapped[str] = mapped_column(String(30))  # eigen | absender | weitergeleitet


class Received(Base):
    """How far this database has received the change journal of another installation."""

    __tablename__ = "exchange_received"
    replica_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    office_key: Mapped[str] = mapped_column(String(64))
    upto_seq: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(DateTime)


class Acknowledgement(Base):
    """How far an installation of another office has confirmed receiving our journal."""

    __tablename__ = "exchange_acks"
    office_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    replica_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    acked_seq: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(DateTime)
    bundle_id: Mapped[str | None] = mapped_column(String(64))


class ConflictValue(Base):
    """A concurrent value of one field that lost the deterministic choice and waits for a person.

    ``kind`` is ``feld`` (two installations changed the same field) or ``loeschen`` (a sibling
    of ``deleted``: one side deleted, the other changed; see exchange/merge.py); both travel in
    bundles as siblings.
    ``winner_*`` is the dot of the field's current value when the conflict was recorded: once the
    field carries another dot, a later change has superseded the conflict.
    """

    __tablename__ = "exchange_conflicts"
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    entity: Mapped[str] = mapped_column(String(40))
    record_id: Mapped[str] = mapped_column(String(36))
    office_key: Mapped[str] = mapped_column(String(64))
    field: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(20), default="feld")
    replica: Mapped[str] = mapped_column(String(40))
    counter: Mapped[int] = mapped_column(Integer)
    value: Mapped[str | None] = mapped_column(Text)  # JSON text of the value
    winner_replica: Mapped[str] = mapped_column(String(40))
    winner_counter: Mapped[int] = mapped_column(Integer)
    detected_at: Mapped[datetime] = mapped_column(DateTime)
    bundle_id: Mapped[str | None] = mapped_column(String(64))

    __table_args__ = (
        UniqueConstraint("entity", "record_id", "field", "replica", "counter", "kind",
                         name="uq_exchange_conflicts_value"),
        Index("ix_exchange_conflicts_record", "record_id"),
    )


class ExchangeLogEntry(Base):
    """One exported or imported bundle: which, from or to whom, when, what it changed."""

    __tablename__ = "exchange_log"
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    direction: Mapped[str] = mapped_column(String(10))  # export | import | zurueck
    bundle_id: Mapped[str] = mapped_column(String(64), index=True)
    sender_office: Mapped[str] = mapped_column(String(64))
    sender_replica: Mapped[str] = mapped_column(String(40))
    recipient: Mapped[str] = mapped_column(String(64))  # office key or "*"
    kind: Mapped[str] = mapped_column(String(20))  # voll | inkrementell
    bundle_created_at: Mapped[datetime] = mapped_column(DateTime)
    at: Mapped[datetime] = mapped_column(DateTime)
    user: Mapped[str] = mapped_column(String(200))
    file_name: Mapped[str] = mapped_column(Text, default="")
    file_sha256: Mapped[str] = mapped_column(String(64), default="")
    journal_from: Mapped[int] = mapped_column(Integer, default=0)
    journal_to: Mapped[int] = mapped_column(Integer, default=0)
    summary: Mapped[str] = mapped_column(Text, default="{}")  # JSON counts per action


class JournalEntry(Base):
    """Append-only change journal of synchronised records, filled by SQL triggers; incremental
    bundles send what changed after the sequence number a recipient has acknowledged."""

    __tablename__ = "exchange_journal"
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    entity: Mapped[str] = mapped_column(String(40))
    record_id: Mapped[str] = mapped_column(String(36))


EXCHANGE_MODELS = (OfficeKey, KnownReplica, Received, Acknowledgement, ConflictValue,
                   ExchangeLogEntry, JournalEntry)
