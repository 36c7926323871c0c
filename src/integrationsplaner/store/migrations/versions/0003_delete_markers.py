"""Delete-versus-edit conflicts as markers: every open value of the tombstone field is kind
``loeschen``, and the changes a deletion has not seen are stored with the value ``null``
(exchange/merge.py, "markers"). Before, such a change was stored as ``false`` (then a restore)
and concurrent values of ``deleted`` were kind ``feld``.

Revision ID: 0003_delete_markers
Revises: 0002_exchange
Create Date: 2026-11-24 08:40:00
"""

from __future__ import annotations

from alembic import op

revision = "0003_delete_markers"
down_revision = "0002_exchange"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("UPDATE exchange_conflicts SET value = 'null' "
               "WHERE kind = 'loeschen' AND value = 'false'")
    op.execute("UPDATE OR IGNORE exchange_conflicts SET kind = 'loeschen' "
               "WHERE kind = 'feld' AND field = 'deleted'")
    op.execute("DELETE FROM exchange_conflicts WHERE kind = 'feld' AND field = 'deleted'")


def downgrade() -> None:
    op.execute("UPDATE OR IGNORE exchange_conflicts SET kind = 'feld' "
               "WHERE kind = 'loeschen' AND value IN ('true', 'false')")
    op.execute("DELETE FROM exchange_conflicts WHERE kind = 'loeschen' "
               "AND value IN ('true', 'false')")
    op.execute("UPDATE exchange_conflicts SET value = 'false' "
               "WHERE kind = 'loeschen' AND value = 'null'")
