"""Fixtures of the UI tests: a main window over a test database, with its own settings file and
message boxes silenced (answers per topic; every message recorded)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from PySide6.QtWidgets import QApplication

from integrationsplaner.services.workspace import Workspace
from integrationsplaner.ui import msgbox, tasks
from integrationsplaner.ui.main_window import MainWindow
from integrationsplaner.ui.settings import Settings


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(tmp_path / "einstellungen.ini")


@pytest.fixture
def answers() -> Iterator[dict[str, str]]:
    """Answers to questions by topic; tests set e.g. ``answers["delete"] = msgbox.YES``."""
    table: dict[str, str] = {}
    with msgbox.silenced(table, default=msgbox.CANCEL) as shown:
        table["_shown"] = shown  # type: ignore[assignment]
        yield table


@pytest.fixture
def shown(answers: dict) -> list[msgbox.Shown]:
    return answers["_shown"]  # type: ignore[return-value]


@pytest.fixture
def make_window(qtbot, settings: Settings, answers: dict) -> Iterator[Callable[..., MainWindow]]:
    windows: list[MainWindow] = []

    def make(ws: Workspace, tab: int = 1) -> MainWindow:
        settings.last_tab = tab
        window = MainWindow(ws, settings)
        qtbot.addWidget(window)
        window.resize(1366, 768)
        window.show()
        qtbot.waitExposed(window)
        window.activateWindow()
        windows.append(window)
        settle(qtbot)
        return window

    yield make
    answers["unsaved"] = msgbox.DISCARD
    for window in windows:
        window.close()
    tasks.wait_all()
    QApplication.processEvents()


def settle(qtbot, ms: int = 0) -> None:
    """Let background tasks finish and their results arrive on the UI thread."""
    for _ in range(3):
        tasks.wait_all()
        QApplication.processEvents()
    if ms:
        qtbot.wait(ms)
        tasks.wait_all()
        QApplication.processEvents()
