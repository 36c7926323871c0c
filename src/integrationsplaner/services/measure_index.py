"""A compact in-memory index of every measure's list columns, for sorting and filtering lists.

At state scale (100,000 measures) SQLite needs 400 ms to sort the measure table by a column
without an index (every row is read from the wide table), too slow for a click on a column
header. This index reads the narrow list columns once (one table scan) into parallel lists;
sorting then takes about 0.1 s in Python and filters by area, office, status, period, target
group and Papierkorb run over the lists. Free text still uses the database's full-text index
(``measures_fts``), partners the participation table. Reads go through the plain sqlite3 driver
(``services.measure_list``): no SQLAlchemy, no ORM objects, no Qt.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from integrationsplaner.domain.model import MeasureFilter
from integrationsplaner.domain.periods import HalfYear
from integrationsplaner.domain.text import sort_key
from integrationsplaner.services.measure_list import fts_query
from integrationsplaner.services.measure_list import query as _query
from integrationsplaner.services.workspace import Workspace

_COLUMNS = ("seq, id, code, title_sort, action_area, office_key, status, start_date, end_date, "
            "deleted, target_groups")
#: Shorter search words are matched in titles and codes in memory, longer ones in the full text.
FULL_TEXT_MIN = 3
_WORD = re.compile(r"\w+")
SORTABLE = ("code", "title", "action_area", "office", "status", "start_date", "end_date")


@dataclass
class MeasureIndex:
    """Parallel lists, one entry per measure (live and tombstoned)."""

    seq: list[int] = field(default_factory=list)
    ids: list[str] = field(default_factory=list)
    code: list[str] = field(default_factory=list)  # case-folded
    title: list[str] = field(default_factory=list)  # the German sort key of the title
    area: list[int] = field(default_factory=list)
    office: list[str] = field(default_factory=list)
    status: list[str] = field(default_factory=list)
    start: list[str] = field(default_factory=list)  # ISO date or "" (open start)
    end: list[str] = field(default_factory=list)  # ISO date or "" (open end)
    deleted: list[bool] = field(default_factory=list)
    groups: list[str] = field(default_factory=list)  # the JSON text of the target groups
    _by_seq: dict[int, int] = field(default_factory=dict)
    _by_id: dict[str, int] = field(default_factory=dict)
    _ranks: dict[str, list[int]] = field(default_factory=dict)
    _hay: list[str] | None = None

    def __len__(self) -> int:
        return len(self.ids)

    def _extend(self, rows: Sequence[Sequence]) -> None:
        if not rows:
            return
        first = len(self.ids)
        (seq, ids, code, title, area, office, status, start, end, deleted,
         groups) = (list(c) for c in zip(*rows, strict=True))
        self.seq += seq
        self.ids += ids
        self.code += [(c or "").casefold() for c in code]
        self.title += [t or "" for t in title]
        self.area += area
        self.office += office
        self.status += status
        self.start += [str(d) if d else "" for d in start]
        self.end += [str(d) if d else "" for d in end]
        self.deleted += [bool(d) for d in deleted]
        self.groups += [g or "" for g in groups]
        self._by_seq.update(zip(seq, range(first, first + len(seq)), strict=True))
        self._by_id.update(zip(ids, range(first, first + len(ids)), strict=True))
        self._ranks.clear()
        self._hay = None

    def _store(self, n: int, row: Sequence) -> None:
        self.code[n] = (row[2] or "").casefold()
        self.title[n] = row[3] or ""
        self.area[n] = row[4]
        self.office[n] = row[5]
        self.status[n] = row[6]
        self.start[n] = str(row[7] or "")
        self.end[n] = str(row[8] or "")
        self.deleted[n] = bool(row[9])
        self.groups[n] = row[10] or ""
        self._ranks.clear()
        self._hay = None

    def _haystack(self) -> list[str]:
        """Title sort key and code of each measure in one string (cached like the ranks)."""
        if self._hay is None:
            self._hay = [f"{t}\x00{c}" for t, c in zip(self.title, self.code, strict=True)]
        return self._hay

    def position(self, measure_id: str) -> int:
        return self._by_id.get(measure_id, -1)

    # -- queries -----------------------------------------------------------------------------

    def select(self, ws: Workspace, flt: MeasureFilter) -> list[int]:
        """Positions of the measures that pass the filter (in index order)."""
        candidates: Iterable[int] = range(len(self.ids))
        if flt.text.strip():
            words = [sort_key(w) for w in _WORD.findall(flt.text)]
            if not words:
                return []
            if max(map(len, words)) < FULL_TEXT_MIN:
                # one or two letters match most of the full-text index (slow, and useless in
                # long descriptions): match them in titles and codes here instead
                hay = self._haystack()
                candidates = [n for n, h in enumerate(hay) if words[0] in h]
                for word in words[1:]:
                    candidates = [n for n in candidates if word in hay[n]]
            else:
                match = fts_query(flt.text)
                seqs = _query(ws, "SELECT rowid FROM measures_fts WHERE measures_fts MATCH ?",
                              (match,))
                by_seq = self._by_seq
                candidates = sorted({by_seq[s] for (s,) in seqs if s in by_seq})
        if flt.partner_id:
            ids = _query(ws, "SELECT measure_id FROM measure_partners WHERE partner_id = ? "
                             "AND deleted = 0", (flt.partner_id,))
            wanted = {self._by_id[i] for (i,) in ids if i in self._by_id}
            candidates = [n for n in candidates if n in wanted]
        deleted = flt.deleted
        dl = self.deleted
        result = [n for n in candidates if dl[n] is deleted]
        if flt.action_areas:
            areas, col = set(flt.action_areas), self.area
            result = [n for n in result if col[n] in areas]
        if flt.offices:
            offices, col = set(flt.offices), self.office
            result = [n for n in result if col[n] in offices]
        if flt.statuses:
            statuses, col = set(flt.statuses), self.status
            result = [n for n in result if col[n] in statuses]
        if flt.target_group:
            needle, col = f'"{flt.target_group}"', self.groups
            result = [n for n in result if needle in col[n]]
        if flt.period:
            period = HalfYear.parse(flt.period)
            first, last = period.start.isoformat(), period.end.isoformat()
            starts, ends = self.start, self.end
            result = [n for n in result if starts[n] <= last and (not ends[n] or ends[n] >= first)]
        return result

    def rank(self, column: str) -> list[int]:
        """Each measure's place in the order of a column (ties by title, then creation), cached
        until the index changes: two stable C-level sorts, about 0.1 s for 100,000."""
        cached = self._ranks.get(column)
        if cached is not None:
            return cached
        by_title = self._ranks.get("_title_order")
        if by_title is None:  # stable sort: equal titles stay in creation (seq) order
            by_title = sorted(range(len(self.ids)), key=self.title.__getitem__)
            self._ranks["_title_order"] = by_title
        if column == "title":
            order = by_title
        else:
            values = {"code": self.code, "action_area": self.area, "office": self.office,
                      "status": self.status}.get(column)
            if column == "start_date":
                values = [d or "9999" for d in self.start]  # open start: last
            elif column == "end_date":
                values = [d or "9999" for d in self.end]
            if values is None:
                values = self.title
            order = sorted(by_title, key=values.__getitem__)
        rank = [0] * len(order)
        for place, n in enumerate(order):
            rank[n] = place
        self._ranks[column] = rank
        return rank

    def sort(self, positions: list[int], column: str, descending: bool = False) -> list[int]:
        """Sort positions by a list column (see :meth:`rank`)."""
        return sorted(positions, key=self.rank(column).__getitem__, reverse=descending)


def load_measure_index(ws: Workspace) -> MeasureIndex:
    index = MeasureIndex()
    rows = _query(ws, f"SELECT {_COLUMNS} FROM measures ORDER BY seq")
    index._extend(rows)
    # every column's order, computed in the loading thread so that no first click on a column
    # header has to wait for it (about 0.1 s per column at 100,000 measures)
    for column in SORTABLE:
        index.rank(column)
    return index


def refresh(ws: Workspace, index: MeasureIndex, measure_ids: Sequence[str]) -> None:
    """Re-read the given measures (after a save, delete or restore) into the index."""
    if not measure_ids:
        return
    marks = ",".join("?" for _ in measure_ids)
    rows = _query(ws, f"SELECT {_COLUMNS} FROM measures WHERE id IN ({marks})",
                  tuple(measure_ids))
    new = []
    for row in rows:
        n = index._by_id.get(row[1])
        if n is None:
            new.append(row)
        else:
            index._store(n, row)
    index._extend(new)
