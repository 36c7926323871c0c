"""What Alembic's autogenerate compares (importable without an Alembic context, for tests)."""

from __future__ import annotations

from typing import Any


def include_object(obj: Any, name: str | None, type_: str, reflected: bool,
                   compare_to: Any) -> bool:
    """Leave the full-text index (an FTS5 virtual table and its shadow tables, made by raw SQL
    in the migrations) out of autogenerate."""
    return not (type_ == "table" and name is not None and name.startswith("measures_fts"))
