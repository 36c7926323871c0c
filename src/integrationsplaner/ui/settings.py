"""Every setting of the program declared once, with its type and default, over QSettings.

Widgets never invent ``QSettings("some/key")`` strings; they read and write attributes of
:class:`Settings`. ``VERSION`` and :func:`_upgrade` let a later release rename or drop keys.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Generic, TypeVar

from PySide6.QtCore import QByteArray, QSettings

T = TypeVar("T")
VERSION = 1
MAX_RECENT = 8


class Setting(Generic[T]):
    """A typed setting: ``settings.last_tab`` reads with the default, assignment writes."""

    def __init__(self, key: str, kind: type, default: T) -> None:
        self.key = key
        self.kind = kind
        self.default = default

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, obj: Settings | None, _owner: type) -> T:
        if obj is None:
            return self  # type: ignore[return-value]
        return obj._read(self)

    def __set__(self, obj: Settings, value: T) -> None:
        obj._write(self, value)


class Settings:
    """The program's settings; one instance per main window (tests pass a file of their own)."""

    version = Setting[int]("meta/version", int, 0)
    window_geometry = Setting[QByteArray]("window/geometry", QByteArray, QByteArray())
    window_state = Setting[QByteArray]("window/state", QByteArray, QByteArray())
    last_tab = Setting[int]("window/last_tab", int, 1)
    last_database = Setting[str]("files/last_database", str, "")
    recent_files = Setting[list]("files/recent", list, [])
    measures_splitter = Setting[QByteArray]("measures/splitter", QByteArray, QByteArray())
    measures_header = Setting[QByteArray]("measures/header", QByteArray, QByteArray())
    partners_splitter = Setting[QByteArray]("partners/splitter", QByteArray, QByteArray())
    partners_header = Setting[QByteArray]("partners/header", QByteArray, QByteArray())
    evaluations_splitter = Setting[QByteArray]("evaluations/splitter", QByteArray, QByteArray())
    evaluations_header = Setting[QByteArray]("evaluations/header", QByteArray, QByteArray())
    evaluations_period = Setting[str]("evaluations/period", str, "")
    report_logo = Setting[str]("reports/logo", str, "")
    report_authority = Setting[str]("reports/authority", str, "")
    report_author = Setting[str]("reports/author", str, "")

    def __init__(self, path: Path | None = None) -> None:
        if path is None:
            self._qs = QSettings("Integrationsplaner", "Integrationsplaner")
        else:
            self._qs = QSettings(str(path), QSettings.Format.IniFormat)
        self._upgrade()

    # -- typed access ------------------------------------------------------------------------

    def _read(self, setting: Setting[Any]) -> Any:
        raw = self._qs.value(setting.key, None)
        if raw is None:
            return _copy(setting.default)
        try:
            if setting.kind is QByteArray:
                return raw if isinstance(raw, QByteArray) else QByteArray(raw)
            if setting.kind is bool:
                return raw if isinstance(raw, bool) else str(raw).lower() in ("1", "true")
            if setting.kind is int:
                return int(raw)
            if setting.kind is list:
                if isinstance(raw, str):
                    return [raw] if raw else []
                return [str(x) for x in raw]
            return setting.kind(raw)
        except (TypeError, ValueError):
            return _copy(setting.default)

    def _write(self, setting: Setting[Any], value: Any) -> None:
        self._qs.setValue(setting.key, value)

    def sync(self) -> None:
        self._qs.sync()

    # -- helpers -----------------------------------------------------------------------------

    def add_recent(self, path: Path) -> None:
        text = str(Path(path).resolve())
        files = [f for f in self.recent_files if f != text]
        self.recent_files = [text, *files][:MAX_RECENT]
        self.last_database = text

    def _upgrade(self) -> None:
        if self.version < VERSION:
            # Version 1 is the first; later versions rename or drop keys here.
            self.version = VERSION


def _copy(value: Any) -> Any:
    if isinstance(value, list):
        return list(value)
    if isinstance(value, QByteArray):
        return QByteArray(value)
    return value
