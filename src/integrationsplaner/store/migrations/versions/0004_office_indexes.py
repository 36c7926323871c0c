"""No ``office_key`` index on the tables whose rows nothing looks up by office: the children
of measures and partners (indicators, budget lines, milestones, participations, evaluations,
contact persons), and measures, where ``ix_measures_office_code`` begins with the office.
Each index cost every insert, and a first import of a whole district about 1 s to build. The
partner list still filters by office through ``ix_partners_office_key``.

Revision ID: 0004_office_indexes
Revises: 0003_delete_markers
Create Date: 2026-11-24 16:30:00
"""

from __future__ import annotations

from alembic import op

revision = "0004_office_indexes"
down_revision = "0003_delete_markers"
branch_labels = None
depends_on = None

TABLES = ("measures", "indicators", "budget_lines", "milestones", "measure_partners",
          "evaluations", "contact_persons")


def upgrade() -> None:
    for table in TABLES:
        op.drop_index(f"ix_{table}_office_key", table_name=table, if_exists=True)


def downgrade() -> None:
    for table in TABLES:
        op.create_index(f"ix_{table}_office_key", table, ["office_key"], if_not_exists=True)
