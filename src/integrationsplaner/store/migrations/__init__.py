"""Alembic migrations, run programmatically (no alembic.ini needed at run time).

``SCHEMA_HEAD`` and ``KNOWN_REVISIONS`` let the open path decide without importing Alembic; a
test keeps them equal to what the migration scripts say.
"""

from __future__ import annotations

from pathlib import Path

SCHEMA_HEAD = "0004_office_indexes"
KNOWN_REVISIONS: tuple[str, ...] = ("0001_initial", "0002_exchange", "0003_delete_markers",
                                   "0004_office_indexes")

_HERE = Path(__file__).resolve().parent


def alembic_config(db_path: Path | None = None):  # -> alembic.config.Config
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(_HERE))
    if db_path is not None:
        config.set_main_option("sqlalchemy.url", f"sqlite+pysqlite:///{db_path}")
    return config


def upgrade(db_path: Path, from_revision: str | None, target: str = "head") -> None:
    """Upgrade the file to ``target`` in one connection with foreign keys off (batch mode)."""
    from alembic import command

    del from_revision  # Alembic reads the current revision itself
    command.upgrade(alembic_config(db_path), target)


def downgrade(db_path: Path, target: str) -> None:
    from alembic import command

    command.downgrade(alembic_config(db_path), target)
