"""Initial schema: reference tables, synchronised records, audit trail, full-text index.

Revision ID: 0001_initial
Revises:
Create Date: 2026-11-23 22:07:39.174592
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001_initial"
down_revision = None
branch_labels = None
depends_on = None

FTS_UP = (
    """CREATE VIRTUAL TABLE measures_fts USING fts5(
        code, title, description, objective, content='measures', content_rowid='seq',
        tokenize='unicode61 remove_diacritics 2')""",
    """CREATE TRIGGER measures_fts_insert AFTER INSERT ON measures BEGIN
        INSERT INTO measures_fts(rowid, code, title, description, objective)
        VALUES (new.seq, new.code, new.title, new.description, new.objective);
    END""",
    """CREATE TRIGGER measures_fts_update AFTER UPDATE OF code, title, description, objective
        ON measures BEGIN
        INSERT INTO measures_fts(measures_fts, rowid, code, title, description, objective)
        VALUES ('delete', old.seq, old.code, old.title, old.description, old.objective);
        INSERT INTO measures_fts(rowid, code, title, description, objective)
        VALUES (new.seq, new.code, new.title, new.description, new.objective);
    END""",
    """CREATE TRIGGER measures_fts_delete AFTER DELETE ON measures BEGIN
        INSERT INTO measures_fts(measures_fts, rowid, code, title, description, objective)
        VALUES ('delete', old.seq, old.code, old.title, old.description, old.objective);
    END""",
)
FTS_DOWN = (
    "DROP TRIGGER IF EXISTS measures_fts_delete",
    "DROP TRIGGER IF EXISTS measures_fts_update",
    "DROP TRIGGER IF EXISTS measures_fts_insert",
    "DROP TABLE IF EXISTS measures_fts",
)


def upgrade() -> None:
    op.create_table(
        "action_areas",
        sa.Column("number", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("short_title", sa.String(length=100), nullable=False),
        sa.Column("goal", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("number", name=op.f("pk_action_areas")),
    )
    op.create_table(
        "audit_log",
        sa.Column("seq", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("user", sa.String(length=200), nullable=False),
        sa.Column("office_key", sa.String(length=64), nullable=False),
        sa.Column("replica_id", sa.String(length=40), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("bundle_id", sa.String(length=64), nullable=True),
        sa.Column("entity", sa.String(length=40), nullable=False),
        sa.Column("record_id", sa.String(length=36), nullable=False),
        sa.Column("action", sa.String(length=20), nullable=False),
        sa.Column("field", sa.String(length=64), nullable=True),
        sa.Column("old_value", sa.Text(), nullable=True),
        sa.Column("new_value", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_audit_log")),
    )
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_log_record_id"), ["record_id"], unique=False)

    op.create_table(
        "concept_periods",
        sa.Column("key", sa.String(length=20), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("start_year", sa.Integer(), nullable=False),
        sa.Column("end_year", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_concept_periods")),
    )
    op.create_table(
        "meta",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_meta")),
    )
    op.create_table(
        "offices",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("short_name", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_offices")),
    )
    op.create_table(
        "review_periods",
        sa.Column("key", sa.String(length=10), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("half", sa.Integer(), nullable=False),
        sa.Column("closed", sa.Boolean(), nullable=False),
        sa.Column("closed_at", sa.DateTime(), nullable=True),
        sa.Column("closed_by", sa.String(length=200), nullable=True),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_review_periods")),
    )
    op.create_table(
        "measures",
        sa.Column("seq", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("code", sa.String(length=30), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("title_sort", sa.String(length=200), nullable=False),
        sa.Column("action_area", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=30), nullable=False),
        sa.Column("concept_period", sa.String(length=20), nullable=True),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("objective", sa.Text(), nullable=False),
        sa.Column("networking", sa.Boolean(), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=True),
        sa.Column("end_date", sa.Date(), nullable=True),
        sa.Column("target_groups", sa.JSON(), nullable=False),
        sa.Column("municipalities", sa.JSON(), nullable=False),
        sa.Column("office_key", sa.String(length=64), nullable=False),
        sa.Column("vv", sa.JSON(), nullable=False),
        sa.Column("stamps", sa.JSON(), nullable=False),
        sa.Column("origin_replica", sa.String(length=40), nullable=False),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("updated_by", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["action_area"],
            ["action_areas.number"],
            name=op.f("fk_measures_action_area_action_areas"),
        ),
        sa.ForeignKeyConstraint(
            ["concept_period"],
            ["concept_periods.key"],
            name=op.f("fk_measures_concept_period_concept_periods"),
        ),
        sa.ForeignKeyConstraint(
            ["office_key"], ["offices.key"], name=op.f("fk_measures_office_key_offices")
        ),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_measures")),
        sa.UniqueConstraint("id", name=op.f("uq_measures_id")),
    )
    with op.batch_alter_table("measures", schema=None) as batch_op:
        batch_op.create_index("ix_measures_area", ["action_area"], unique=False)
        batch_op.create_index("ix_measures_office_code", ["office_key", "code"], unique=False)
        batch_op.create_index(batch_op.f("ix_measures_office_key"), ["office_key"], unique=False)
        batch_op.create_index("ix_measures_title_sort", ["deleted", "title_sort"], unique=False)
        batch_op.create_index("ix_measures_deleted_code", ["deleted", "code"], unique=False)
        batch_op.create_index(
            "ix_measures_deleted_status", ["deleted", "status", "title_sort"], unique=False
        )
        batch_op.create_index(
            "ix_measures_deleted_office", ["deleted", "office_key", "title_sort"], unique=False
        )
        batch_op.create_index("ix_measures_deleted_start", ["deleted", "start_date"], unique=False)
        batch_op.create_index("ix_measures_deleted_end", ["deleted", "end_date"], unique=False)

    op.create_table(
        "municipalities",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("office_key", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["office_key"], ["offices.key"], name=op.f("fk_municipalities_office_key_offices")
        ),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_municipalities")),
    )
    with op.batch_alter_table("municipalities", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_municipalities_office_key"), ["office_key"], unique=False
        )

    op.create_table(
        "partners",
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("name_sort", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("street", sa.String(length=200), nullable=False),
        sa.Column("postal_code", sa.String(length=10), nullable=False),
        sa.Column("city", sa.String(length=200), nullable=False),
        sa.Column("phone", sa.String(length=50), nullable=False),
        sa.Column("email", sa.String(length=200), nullable=False),
        sa.Column("website", sa.String(length=200), nullable=False),
        sa.Column("action_areas", sa.JSON(), nullable=False),
        sa.Column("offices", sa.JSON(), nullable=False),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("office_key", sa.String(length=64), nullable=False),
        sa.Column("vv", sa.JSON(), nullable=False),
        sa.Column("stamps", sa.JSON(), nullable=False),
        sa.Column("origin_replica", sa.String(length=40), nullable=False),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("updated_by", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["office_key"], ["offices.key"], name=op.f("fk_partners_office_key_offices")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_partners")),
    )
    with op.batch_alter_table("partners", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_partners_name_sort"), ["name_sort"], unique=False)
        batch_op.create_index(batch_op.f("ix_partners_office_key"), ["office_key"], unique=False)

    op.create_table(
        "budget_lines",
        sa.Column("measure_id", sa.String(length=36), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("category", sa.String(length=30), nullable=False),
        sa.Column("funding_source", sa.String(length=30), nullable=False),
        sa.Column("planned_cents", sa.Integer(), nullable=False),
        sa.Column("note", sa.String(length=200), nullable=False),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("office_key", sa.String(length=64), nullable=False),
        sa.Column("vv", sa.JSON(), nullable=False),
        sa.Column("stamps", sa.JSON(), nullable=False),
        sa.Column("origin_replica", sa.String(length=40), nullable=False),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("updated_by", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["measure_id"], ["measures.id"], name=op.f("fk_budget_lines_measure_id_measures")
        ),
        sa.ForeignKeyConstraint(
            ["office_key"], ["offices.key"], name=op.f("fk_budget_lines_office_key_offices")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_budget_lines")),
    )
    with op.batch_alter_table("budget_lines", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_budget_lines_measure_id"), ["measure_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_budget_lines_office_key"), ["office_key"], unique=False
        )

    op.create_table(
        "contact_persons",
        sa.Column("partner_id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("function", sa.String(length=200), nullable=False),
        sa.Column("phone", sa.String(length=50), nullable=False),
        sa.Column("email", sa.String(length=200), nullable=False),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("office_key", sa.String(length=64), nullable=False),
        sa.Column("vv", sa.JSON(), nullable=False),
        sa.Column("stamps", sa.JSON(), nullable=False),
        sa.Column("origin_replica", sa.String(length=40), nullable=False),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("updated_by", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["office_key"], ["offices.key"], name=op.f("fk_contact_persons_office_key_offices")
        ),
        sa.ForeignKeyConstraint(
            ["partner_id"], ["partners.id"], name=op.f("fk_contact_persons_partner_id_partners")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contact_persons")),
    )
    with op.batch_alter_table("contact_persons", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_contact_persons_office_key"), ["office_key"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_contact_persons_partner_id"), ["partner_id"], unique=False
        )

    op.create_table(
        "evaluations",
        sa.Column("measure_id", sa.String(length=36), nullable=False),
        sa.Column("period", sa.String(length=10), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("rating", sa.String(length=30), nullable=True),
        sa.Column("progress", sa.Integer(), nullable=True),
        sa.Column("actual_values", sa.JSON(), nullable=False),
        sa.Column("costs_spent_cents", sa.Integer(), nullable=True),
        sa.Column("participants_total", sa.Integer(), nullable=True),
        sa.Column("participants_female", sa.Integer(), nullable=True),
        sa.Column("participants_minors", sa.Integer(), nullable=True),
        sa.Column("results", sa.Text(), nullable=False),
        sa.Column("obstacles", sa.Text(), nullable=False),
        sa.Column("next_steps", sa.Text(), nullable=False),
        sa.Column("recommendation", sa.String(length=30), nullable=True),
        sa.Column("evaluated_by", sa.String(length=200), nullable=False),
        sa.Column("evaluated_on", sa.Date(), nullable=True),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("office_key", sa.String(length=64), nullable=False),
        sa.Column("vv", sa.JSON(), nullable=False),
        sa.Column("stamps", sa.JSON(), nullable=False),
        sa.Column("origin_replica", sa.String(length=40), nullable=False),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("updated_by", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["measure_id"], ["measures.id"], name=op.f("fk_evaluations_measure_id_measures")
        ),
        sa.ForeignKeyConstraint(
            ["office_key"], ["offices.key"], name=op.f("fk_evaluations_office_key_offices")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_evaluations")),
        sa.UniqueConstraint("measure_id", "period", name=op.f("uq_evaluations_measure_id")),
    )
    with op.batch_alter_table("evaluations", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_evaluations_office_key"), ["office_key"], unique=False)
        batch_op.create_index("ix_evaluations_period", ["period"], unique=False)

    op.create_table(
        "indicators",
        sa.Column("measure_id", sa.String(length=36), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("unit", sa.String(length=50), nullable=False),
        sa.Column("baseline", sa.Float(), nullable=True),
        sa.Column("target", sa.Float(), nullable=True),
        sa.Column("direction", sa.String(length=20), nullable=False),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("office_key", sa.String(length=64), nullable=False),
        sa.Column("vv", sa.JSON(), nullable=False),
        sa.Column("stamps", sa.JSON(), nullable=False),
        sa.Column("origin_replica", sa.String(length=40), nullable=False),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("updated_by", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["measure_id"], ["measures.id"], name=op.f("fk_indicators_measure_id_measures")
        ),
        sa.ForeignKeyConstraint(
            ["office_key"], ["offices.key"], name=op.f("fk_indicators_office_key_offices")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_indicators")),
    )
    with op.batch_alter_table("indicators", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_indicators_measure_id"), ["measure_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_indicators_office_key"), ["office_key"], unique=False)

    op.create_table(
        "measure_partners",
        sa.Column("measure_id", sa.String(length=36), nullable=False),
        sa.Column("partner_id", sa.String(length=36), nullable=False),
        sa.Column("role", sa.String(length=30), nullable=False),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("office_key", sa.String(length=64), nullable=False),
        sa.Column("vv", sa.JSON(), nullable=False),
        sa.Column("stamps", sa.JSON(), nullable=False),
        sa.Column("origin_replica", sa.String(length=40), nullable=False),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("updated_by", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["measure_id"], ["measures.id"], name=op.f("fk_measure_partners_measure_id_measures")
        ),
        sa.ForeignKeyConstraint(
            ["office_key"], ["offices.key"], name=op.f("fk_measure_partners_office_key_offices")
        ),
        sa.ForeignKeyConstraint(
            ["partner_id"], ["partners.id"], name=op.f("fk_measure_partners_partner_id_partners")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_measure_partners")),
    )
    with op.batch_alter_table("measure_partners", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_measure_partners_measure_id"), ["measure_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_measure_partners_office_key"), ["office_key"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_measure_partners_partner_id"), ["partner_id"], unique=False
        )

    op.create_table(
        "milestones",
        sa.Column("measure_id", sa.String(length=36), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=True),
        sa.Column("done", sa.Boolean(), nullable=False),
        sa.Column("done_on", sa.Date(), nullable=True),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("office_key", sa.String(length=64), nullable=False),
        sa.Column("vv", sa.JSON(), nullable=False),
        sa.Column("stamps", sa.JSON(), nullable=False),
        sa.Column("origin_replica", sa.String(length=40), nullable=False),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("updated_by", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["measure_id"], ["measures.id"], name=op.f("fk_milestones_measure_id_measures")
        ),
        sa.ForeignKeyConstraint(
            ["office_key"], ["offices.key"], name=op.f("fk_milestones_office_key_offices")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_milestones")),
    )
    with op.batch_alter_table("milestones", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_milestones_measure_id"), ["measure_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_milestones_office_key"), ["office_key"], unique=False)

    # Full-text index over title, description and objective (external content on measures.seq),
    # kept in step by triggers on every write, also by bundle imports and bulk inserts.
    for statement in FTS_UP:
        op.execute(statement)


def downgrade() -> None:
    for statement in FTS_DOWN:
        op.execute(statement)
    with op.batch_alter_table("milestones", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_milestones_office_key"))
        batch_op.drop_index(batch_op.f("ix_milestones_measure_id"))

    op.drop_table("milestones")
    with op.batch_alter_table("measure_partners", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_measure_partners_partner_id"))
        batch_op.drop_index(batch_op.f("ix_measure_partners_office_key"))
        batch_op.drop_index(batch_op.f("ix_measure_partners_measure_id"))

    op.drop_table("measure_partners")
    with op.batch_alter_table("indicators", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_indicators_office_key"))
        batch_op.drop_index(batch_op.f("ix_indicators_measure_id"))

    op.drop_table("indicators")
    with op.batch_alter_table("evaluations", schema=None) as batch_op:
        batch_op.drop_index("ix_evaluations_period")
        batch_op.drop_index(batch_op.f("ix_evaluations_office_key"))

    op.drop_table("evaluations")
    with op.batch_alter_table("contact_persons", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_contact_persons_partner_id"))
        batch_op.drop_index(batch_op.f("ix_contact_persons_office_key"))

    op.drop_table("contact_persons")
    with op.batch_alter_table("budget_lines", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_budget_lines_office_key"))
        batch_op.drop_index(batch_op.f("ix_budget_lines_measure_id"))

    op.drop_table("budget_lines")
    with op.batch_alter_table("partners", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_partners_office_key"))
        batch_op.drop_index(batch_op.f("ix_partners_name_sort"))

    op.drop_table("partners")
    with op.batch_alter_table("municipalities", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_municipalities_office_key"))

    op.drop_table("municipalities")
    with op.batch_alter_table("measures", schema=None) as batch_op:
        batch_op.drop_index("ix_measures_title_sort")
        batch_op.drop_index("ix_measures_deleted_code")
        batch_op.drop_index("ix_measures_deleted_status")
        batch_op.drop_index("ix_measures_deleted_office")
        batch_op.drop_index("ix_measures_deleted_start")
        batch_op.drop_index("ix_measures_deleted_end")
        batch_op.drop_index(batch_op.f("ix_measures_office_key"))
        batch_op.drop_index("ix_measures_office_code")
        batch_op.drop_index("ix_measures_area")

    op.drop_table("measures")
    op.drop_table("review_periods")
    op.drop_table("offices")
    op.drop_table("meta")
    op.drop_table("concept_periods")
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_log_record_id"))

    op.drop_table("audit_log")
    op.drop_table("action_areas")
