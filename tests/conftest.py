"""Shared fixtures. Qt runs headless (offscreen) with one session-wide QApplication."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from datetime import date
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest

from integrationsplaner.services import demo
from integrationsplaner.services.workspace import Workspace, create_workspace, open_workspace

#: A fixed "today" so that demo data and period logic do not depend on the calendar.
TODAY = date(2026, 11, 23)


@pytest.fixture
def ws(tmp_path: Path) -> Iterator[Workspace]:
    """A fresh, empty database of the Verbandsgemeinde Landstuhl."""
    workspace = create_workspace(tmp_path / "landstuhl.sqlite", "vg-landstuhl", user="tester")
    yield workspace
    workspace.close()


@pytest.fixture
def kreis_ws(tmp_path: Path) -> Iterator[Workspace]:
    workspace = create_workspace(tmp_path / "kreis.sqlite", "kreis-kl", user="kreis")
    yield workspace
    workspace.close()


@pytest.fixture(scope="session")
def _demo_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("demo") / "demo.sqlite"
    with create_workspace(path, "kreis-kl", user="demo") as workspace:
        demo.generate(workspace, 300, seed=7, today=TODAY)
    return path


@pytest.fixture
def demo_ws(_demo_template: Path, tmp_path: Path) -> Iterator[Workspace]:
    """A copy of a Kreis database with 300 demo measures (built once per test session)."""
    target = tmp_path / "demo.sqlite"
    shutil.copy(_demo_template, target)
    workspace = open_workspace(target, user="tester")
    yield workspace
    workspace.close()
