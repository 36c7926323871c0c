"""Alembic environment: SQLite in batch mode, metadata from our mappings."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine, pool

from integrationsplaner.store import exchange_models  # noqa: F401  (registers the tables)
from integrationsplaner.store.migrations.env_filter import include_object
from integrationsplaner.store.models import Base

config = context.config
target_metadata = Base.metadata


def run_migrations_online() -> None:
    connectable = create_engine(config.get_main_option("sqlalchemy.url"), poolclass=pool.NullPool)
    with connectable.connect() as connection:
        connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
        connection.commit()  # so that Alembic's own transaction is the outermost one
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=True,
            compare_type=True,
            include_object=include_object,
        )
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    raise SystemExit("Offline-Migrationen werden nicht unterstützt.")
run_migrations_online()
