"""What the measure list reads, through the plain sqlite3 driver (read-only): the first page at
start-up, pages of rows as the view scrolls, counts, and the rows of the list index.

No SQLAlchemy here, on purpose: the program shows the first rows of its list before SQLAlchemy
and the ORM mappings have loaded (about 0.6 s, see ``ui.app``), and SQLAlchemy's row objects cost
as much as SQLite itself when a broad search returns 25,000 ids.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date

from integrationsplaner.domain.model import MeasureRow
from integrationsplaner.services.workspace import Workspace

#: The columns of a :class:`MeasureRow`, in its field order.
_ROW_COLUMNS = "id, office_key, code, title, action_area, status, start_date, end_date, deleted"
_TOKEN = re.compile(r"\w+", re.UNICODE)


def query(ws: Workspace, sql: str, params: Sequence[object] = ()) -> list[tuple]:
    """Rows as plain sqlite3 tuples; storage failures become German messages."""
    with ws.db.reader() as con:
        return con.execute(sql, tuple(params)).fetchall()


def fts_query(text_input: str) -> str | None:
    """Turn what a user typed into a safe FTS5 query: every word as a quoted prefix term."""
    tokens = _TOKEN.findall(text_input)
    if not tokens:
        return None
    return " ".join(f'"{t}"*' for t in tokens[:20])


def count_live(ws: Workspace) -> int:
    """Number of live (not deleted) measures."""
    return query(ws, "SELECT count(*) FROM measures WHERE deleted = 0")[0][0]


def _date(text: str | None) -> date | None:
    return date.fromisoformat(text) if text else None


def _measure_row(row: Sequence) -> MeasureRow:
    return MeasureRow(row[0], row[1], row[2], row[3], row[4], row[5], _date(row[6]),
                      _date(row[7]), bool(row[8]))


def first_page(ws: Workspace, limit: int) -> list[MeasureRow]:
    """The first rows of the default list: live measures by title (ties in creation order),
    as ``measures.list_measures(ws, limit=limit)`` gives them; one walk of the title index."""
    rows = query(ws, f"SELECT {_ROW_COLUMNS} FROM measures WHERE deleted = 0 "
                     "ORDER BY title_sort, seq LIMIT ?", (limit,))
    return [_measure_row(r) for r in rows]


def rows_by_id(ws: Workspace, ids: Sequence[str]) -> dict[str, MeasureRow]:
    """The list rows of the given ids (a page of the lazy list model's row cache)."""
    result: dict[str, MeasureRow] = {}
    with ws.db.reader() as con:
        for start in range(0, len(ids), 500):
            chunk = tuple(ids[start:start + 500])
            marks = ",".join("?" for _ in chunk)
            for row in con.execute(
                    f"SELECT {_ROW_COLUMNS} FROM measures WHERE id IN ({marks})", chunk):
                result[row[0]] = _measure_row(row)
    return result
