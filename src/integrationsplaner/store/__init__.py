"""Persistence: SQLAlchemy 2 mappings, the database file (open, lock, migrate), Alembic."""
