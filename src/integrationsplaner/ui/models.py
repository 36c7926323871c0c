"""Item models of the lists.

``MeasureTableModel`` holds only the ids of the current filter and sort order (from the
database) and fills a row cache page by page as the view asks for rows, as Anki's browser does,
so it stays fast with 100,000 measures. ``RowListModel`` shows small in-memory lists (partners,
evaluations of a period, audit trail) and sorts them in the model.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt, Signal
from PySide6.QtGui import QFont

from integrationsplaner.domain.formatting import format_date
from integrationsplaner.domain.model import MeasureFilter, MeasureRow
from integrationsplaner.services import measure_list
from integrationsplaner.services.measure_index import MeasureIndex, load_measure_index
from integrationsplaner.services.measure_index import refresh as refresh_index
from integrationsplaner.services.workspace import Workspace
from integrationsplaner.ui.labels import Labels, plain_tooltip
from integrationsplaner.ui.tasks import run_task

Index = QModelIndex | QPersistentModelIndex
ID_ROLE = Qt.ItemDataRole.UserRole + 1
# the roles as plain ints: comparing an int with a Qt enum member costs a Python call
_ID, _FONT, _TOOLTIP = int(ID_ROLE), int(Qt.ItemDataRole.FontRole), int(Qt.ItemDataRole.ToolTipRole)
_MEASURE_ROLES = frozenset({_ID, _FONT, _TOOLTIP, int(Qt.ItemDataRole.DisplayRole),
                            int(Qt.ItemDataRole.AccessibleTextRole)})


class _IdsInOrder(Sequence[str]):
    """The ids of the list's rows as a view of the index's ids in the filtered, sorted order:
    a keystroke would otherwise build a list of up to 100,000 strings (about 20 ms)."""

    def __init__(self, ids: Sequence[str], positions: list[int]) -> None:
        self._all = ids
        self._order = positions

    def __len__(self) -> int:
        return len(self._order)

    def __getitem__(self, item: Any) -> Any:
        if isinstance(item, slice):
            return [self._all[n] for n in self._order[item]]
        return self._all[self._order[item]]

    def __iter__(self) -> Iterator[str]:
        return map(self._all.__getitem__, self._order)


class MeasureTableModel(QAbstractTableModel):
    """The measure list: ids in filter and sort order, rows fetched lazily in pages.

    Filtering and sorting run on a :class:`MeasureIndex` (narrow columns of every measure, read
    once). With many measures the index loads in a background thread; meanwhile the first page
    comes straight from the database in the default order, so rows show at once. Every read
    goes through the plain sqlite3 driver (``services.measure_list``), so the list shows before
    SQLAlchemy has loaded.
    """

    COLUMNS: tuple[tuple[str, str], ...] = (
        ("code", "Kennung"),
        ("title", "Titel"),
        ("action_area", "Handlungsfeld"),
        ("office", "Dienststelle"),
        ("status", "Status"),
        ("start_date", "Beginn"),
        ("end_date", "Ende"),
    )
    PAGE = 200
    #: up to this many measures the index loads at once on the UI thread (a few milliseconds)
    SYNC_LIMIT = 5000
    countChanged = Signal(int)
    loadingChanged = Signal(bool)

    def __init__(self, ws: Workspace, labels: Labels, parent: Any = None) -> None:
        super().__init__(parent)
        self.ws = ws
        self.labels = labels
        self.filter = MeasureFilter()
        self.sort_column = "title"
        self.descending = False
        self.measure_index: MeasureIndex | None = None
        self._ids: Sequence[str] = []
        self._cache: dict[str, MeasureRow] = {}
        self._positions: dict[str, int] | None = None
        self._own = ws.office_key
        #: While the list loads: how many measures it will show (the view has the first page).
        self.live_total = 0
        self._italic = QFont()  # records of other offices: read-only here
        self._italic.setItalic(True)

    # -- loading -----------------------------------------------------------------------------

    def start(self) -> None:
        """Load the list: at once when small, else first page now and the index in the
        background."""
        total = measure_list.count_live(self.ws)
        if total <= self.SYNC_LIMIT:
            self.measure_index = load_measure_index(self.ws)
            self.reload()
            return
        first = measure_list.first_page(self.ws, self.PAGE)
        self.live_total = total
        self._reset([r.id for r in first])
        self._cache.update({r.id: r for r in first})
        self.loadingChanged.emit(True)
        ws = self.ws
        run_task(self, lambda: load_measure_index(ws), self._index_loaded, key="index")

    def _index_loaded(self, index: MeasureIndex) -> None:
        self.measure_index = index
        self.loadingChanged.emit(False)
        self.reload()

    @property
    def loading(self) -> bool:
        return self.measure_index is None

    def set_filter(self, flt: MeasureFilter) -> None:
        self.filter = flt
        self.reload()

    def reload(self) -> None:
        """Apply filter and sort order again (no-op while the index is still loading)."""
        if self.measure_index is None:
            return
        index = self.measure_index
        positions = index.sort(index.select(self.ws, self.filter), self.sort_column,
                               self.descending)
        self._reset(_IdsInOrder(index.ids, positions))

    def reload_all(self) -> None:
        """Read every measure again (after an import or when the database changed)."""
        self.measure_index = load_measure_index(self.ws)
        self._cache.clear()
        self.reload()

    def records_changed(self, measure_ids: Sequence[str]) -> None:
        """Some measures were saved, deleted or restored: update index and list."""
        for measure_id in measure_ids:
            self._cache.pop(measure_id, None)
        if self.measure_index is not None:
            refresh_index(self.ws, self.measure_index, measure_ids)
        self.reload()

    def _reset(self, ids: Sequence[str]) -> None:
        self.beginResetModel()
        self._ids = ids
        self._positions = None
        if len(self._cache) > 20 * self.PAGE:
            self._cache.clear()
        self.endResetModel()
        self.countChanged.emit(len(ids))

    def refresh_row(self, measure_id: str) -> None:
        """Forget the cached row of one measure (after it was saved) and repaint it."""
        self._cache.pop(measure_id, None)
        row = self.row_of(measure_id)
        if row >= 0:
            self.dataChanged.emit(self.index(row, 0), self.index(row, self.columnCount() - 1))

    def id_at(self, row: int) -> str | None:
        return self._ids[row] if 0 <= row < len(self._ids) else None

    def row_of(self, measure_id: str | None) -> int:
        if measure_id is None:
            return -1
        if self._positions is None:
            self._positions = {mid: n for n, mid in enumerate(self._ids)}
        return self._positions.get(measure_id, -1)

    def ids(self) -> Sequence[str]:
        return self._ids

    def _row(self, row: int) -> MeasureRow | None:
        measure_id = self._ids[row]
        cached = self._cache.get(measure_id)
        if cached is not None:
            return cached
        start = max(0, row - self.PAGE // 4)
        page = [i for i in self._ids[start:start + self.PAGE] if i not in self._cache]
        if len(self._cache) > 20 * self.PAGE:  # keep the cache bounded while scrolling far
            self._cache.clear()
        self._cache.update(measure_list.rows_by_id(self.ws, page))
        return self._cache.get(measure_id)

    # -- Qt model interface ------------------------------------------------------------------

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._ids)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if (orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole
                and 0 <= section < len(self.COLUMNS)):
            return self.COLUMNS[section][1]
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        # a repaint asks each visible cell for about eight roles: the others leave at once
        if role not in _MEASURE_ROLES:
            return None
        number = index.row()
        if not index.isValid() or not 0 <= number < len(self._ids):
            return None
        if role == _ID:
            return self._ids[number]
        row = self._row(number)
        if row is None:
            return None
        if role == _FONT:
            return self._italic if row.office_key != self._own else None
        key = self.COLUMNS[index.column()][0]
        text = self._text(row, key)
        if role == _TOOLTIP:
            if row.office_key != self._own:
                return (f"{row.title}\nGehört: {self.labels.office_name(row.office_key)} "
                        "(bei Ihnen nur zum Ansehen)")
            return row.title if key == "title" else None
        return text

    def _text(self, row: MeasureRow, key: str) -> str:
        if key == "code":
            return row.code
        if key == "title":
            return row.title
        if key == "action_area":
            return self.labels.area(row.action_area)
        if key == "office":
            return self.labels.office(row.office_key)
        if key == "status":
            return self.labels.code("measure_statuses", row.status)
        if key == "start_date":
            return format_date(row.start_date)
        if key == "end_date":
            return format_date(row.end_date)
        return ""

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        if not 0 <= column < len(self.COLUMNS):
            return
        self.sort_column = self.COLUMNS[column][0]
        self.descending = order == Qt.SortOrder.DescendingOrder
        self.reload()


@dataclass(frozen=True)
class Column:
    """A column of a :class:`RowListModel`: title, display text and an optional sort key."""

    title: str
    text: Callable[[Any], str]
    sort_key: Callable[[Any], Any] | None = None
    align_right: bool = False
    tooltip: Callable[[Any], str | None] | None = None
    bold: Callable[[Any], bool] | None = None


class RowListModel(QAbstractTableModel):
    """A table over an in-memory list of rows (dataclasses); sorted in the model."""

    def __init__(self, columns: Sequence[Column], id_of: Callable[[Any], str] | None = None,
                 parent: Any = None) -> None:
        super().__init__(parent)
        self.columns = list(columns)
        self.id_of = id_of
        self._rows: list[Any] = []

    def set_rows(self, rows: Sequence[Any]) -> None:
        self.beginResetModel()
        self._rows = list(rows)
        self.endResetModel()

    def rows(self) -> list[Any]:
        return list(self._rows)

    def row_at(self, row: int) -> Any:
        return self._rows[row] if 0 <= row < len(self._rows) else None

    def row_of(self, record_id: str | None) -> int:
        if record_id is None or self.id_of is None:
            return -1
        for n, row in enumerate(self._rows):
            if self.id_of(row) == record_id:
                return n
        return -1

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.columns)

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if (orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole
                and 0 <= section < len(self.columns)):
            return self.columns[section].title
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        row = self._rows[index.row()]
        column = self.columns[index.column()]
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.AccessibleTextRole):
            return column.text(row)
        if role == ID_ROLE and self.id_of is not None:
            return self.id_of(row)
        if role == Qt.ItemDataRole.TextAlignmentRole and column.align_right:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.ToolTipRole and column.tooltip is not None:
            return plain_tooltip(column.tooltip(row))
        if role == Qt.ItemDataRole.FontRole and column.bold is not None and column.bold(row):
            font = QFont()
            font.setBold(True)
            return font
        return None

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        if not 0 <= column < len(self.columns):
            return
        spec = self.columns[column]
        key = spec.sort_key or (lambda r: spec.text(r).casefold())
        self.layoutAboutToBeChanged.emit()
        old = list(self._rows)
        self._rows.sort(key=lambda r: _none_last(key(r)),
                        reverse=order == Qt.SortOrder.DescendingOrder)
        mapping = {id(r): n for n, r in enumerate(self._rows)}
        for persistent in self.persistentIndexList():
            if persistent.isValid():
                new_row = mapping[id(old[persistent.row()])]
                self.changePersistentIndex(persistent,
                                           self.index(new_row, persistent.column()))
        self.layoutChanged.emit()


def _none_last(value: Any) -> tuple[bool, Any]:
    return (value is None or value == "", value if value is not None else 0)
