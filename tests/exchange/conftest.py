"""Fixtures of the exchange tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from integrationsplaner.services.workspace import Workspace

from .helpers import make_ws, trust_all


@pytest.fixture
def offices(tmp_path: Path) -> Iterator[tuple[Workspace, Workspace, Workspace, Workspace]]:
    """The Kreis, two PCs of VG Landstuhl and VG Ramstein-Miesenbach, all keys trusted."""
    kreis = make_ws(tmp_path / "k", "kreis-kl")
    pc1 = make_ws(tmp_path / "l1", "vg-landstuhl", "landstuhl-pc1")
    pc2 = make_ws(tmp_path / "l2", "vg-landstuhl", "landstuhl-pc2")
    ramstein = make_ws(tmp_path / "r", "vg-ramstein-miesenbach")
    trust_all([kreis, pc1, pc2, ramstein], tmp_path / "keys")
    yield kreis, pc1, pc2, ramstein
    for ws in (kreis, pc1, pc2, ramstein):
        ws.close()
