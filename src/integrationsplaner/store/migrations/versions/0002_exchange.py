"""Bundle exchange: office keys, known replicas, acknowledgements, conflicts, log, change journal.

Revision ID: 0002_exchange
Revises: 0001_initial
Create Date: 2026-11-23 22:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_exchange"
down_revision = "0001_initial"
branch_labels = None
depends_on = None

#: Synchronised tables and the entity name the journal records (frozen for this revision).
JOURNALED = (
    ("partners", "partner"),
    ("contact_persons", "contact_person"),
    ("measures", "measure"),
    ("indicators", "indicator"),
    ("budget_lines", "budget_line"),
    ("milestones", "milestone"),
    ("measure_partners", "measure_partner"),
    ("evaluations", "evaluation"),
)


def _triggers() -> list[tuple[str, str]]:
    result = []
    for table, entity in JOURNALED:
        for event in ("INSERT", "UPDATE"):
            name = f"exchange_journal_{table}_{event.lower()}"
            result.append((name, (
                f"CREATE TRIGGER {name} AFTER {event} ON {table} BEGIN "
                f"INSERT INTO exchange_journal(entity, record_id) VALUES ('{entity}', new.id); "
                "END")))
    return result


def upgrade() -> None:
    op.create_table(
        "exchange_keys",
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("office_key", sa.String(length=64), nullable=False),
        sa.Column("public_key", sa.String(length=64), nullable=False),
        sa.Column("private_key", sa.Text(), nullable=True),
        sa.Column("trusted", sa.Boolean(), nullable=False),
        sa.Column("source", sa.String(length=30), nullable=False),
        sa.Column("added_at", sa.DateTime(), nullable=False),
        sa.Column("added_by", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("fingerprint", name=op.f("pk_exchange_keys")),
    )
    with op.batch_alter_table("exchange_keys", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_exchange_keys_office_key"), ["office_key"],
                              unique=False)
    op.create_table(
        "exchange_replicas",
        sa.Column("replica_id", sa.String(length=40), nullable=False),
        sa.Column("office_key", sa.String(length=64), nullable=False),
        sa.Column("first_seen", sa.DateTime(), nullable=False),
        sa.Column("via", sa.String(length=30), nullable=False),
        sa.PrimaryKeyConstraint("replica_id", name=op.f("pk_exchange_replicas")),
    )
    op.create_table(
        "exchange_received",
        sa.Column("replica_id", sa.String(length=40), nullable=False),
        sa.Column("office_key", sa.String(length=64), nullable=False),
        sa.Column("upto_seq", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("replica_id", name=op.f("pk_exchange_received")),
    )
    op.create_table(
        "exchange_acks",
        sa.Column("office_key", sa.String(length=64), nullable=False),
        sa.Column("replica_id", sa.String(length=40), nullable=False),
        sa.Column("acked_seq", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("bundle_id", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("office_key", "replica_id", name=op.f("pk_exchange_acks")),
    )
    op.create_table(
        "exchange_conflicts",
        sa.Column("seq", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("entity", sa.String(length=40), nullable=False),
        sa.Column("record_id", sa.String(length=36), nullable=False),
        sa.Column("office_key", sa.String(length=64), nullable=False),
        sa.Column("field", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("replica", sa.String(length=40), nullable=False),
        sa.Column("counter", sa.Integer(), nullable=False),
        sa.Column("value", sa.Text(), nullable=True),
        sa.Column("winner_replica", sa.String(length=40), nullable=False),
        sa.Column("winner_counter", sa.Integer(), nullable=False),
        sa.Column("detected_at", sa.DateTime(), nullable=False),
        sa.Column("bundle_id", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_exchange_conflicts")),
        sa.UniqueConstraint("entity", "record_id", "field", "replica", "counter", "kind",
                            name="uq_exchange_conflicts_value"),
    )
    with op.batch_alter_table("exchange_conflicts", schema=None) as batch_op:
        batch_op.create_index("ix_exchange_conflicts_record", ["record_id"], unique=False)
    op.create_table(
        "exchange_log",
        sa.Column("seq", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("direction", sa.String(length=10), nullable=False),
        sa.Column("bundle_id", sa.String(length=64), nullable=False),
        sa.Column("sender_office", sa.String(length=64), nullable=False),
        sa.Column("sender_replica", sa.String(length=40), nullable=False),
        sa.Column("recipient", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("bundle_created_at", sa.DateTime(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("user", sa.String(length=200), nullable=False),
        sa.Column("file_name", sa.Text(), nullable=False),
        sa.Column("file_sha256", sa.String(length=64), nullable=False),
        sa.Column("journal_from", sa.Integer(), nullable=False),
        sa.Column("journal_to", sa.Integer(), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_exchange_log")),
    )
    with op.batch_alter_table("exchange_log", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_exchange_log_bundle_id"), ["bundle_id"],
                              unique=False)
    op.create_table(
        "exchange_journal",
        sa.Column("seq", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("entity", sa.String(length=40), nullable=False),
        sa.Column("record_id", sa.String(length=36), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_exchange_journal")),
    )
    # records that exist before this revision are in the journal too (a first incremental
    # bundle then carries them all)
    for table, entity in JOURNALED:
        op.execute(f"INSERT INTO exchange_journal(entity, record_id) "
                   f"SELECT '{entity}', id FROM {table}")
    for _name, sql in _triggers():
        op.execute(sql)


def downgrade() -> None:
    for name, _sql in _triggers():
        op.execute(f"DROP TRIGGER IF EXISTS {name}")
    op.drop_table("exchange_journal")
    with op.batch_alter_table("exchange_log", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_exchange_log_bundle_id"))
    op.drop_table("exchange_log")
    with op.batch_alter_table("exchange_conflicts", schema=None) as batch_op:
        batch_op.drop_index("ix_exchange_conflicts_record")
    op.drop_table("exchange_conflicts")
    op.drop_table("exchange_acks")
    op.drop_table("exchange_received")
    op.drop_table("exchange_replicas")
    with op.batch_alter_table("exchange_keys", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_exchange_keys_office_key"))
    op.drop_table("exchange_keys")
