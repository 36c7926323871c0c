"""``pip install .`` ships the package with resources/ and the migrations inside."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_wheel_contains_resources_and_migrations(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
         "--wheel-dir", str(tmp_path), str(ROOT)],
        check=True, capture_output=True, cwd=tmp_path)
    wheel = next(tmp_path.glob("integrationsplaner-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    for required in (
        "integrationsplaner/resources/codelists.json",
        "integrationsplaner/resources/demo.json",
        "integrationsplaner/resources/districts/landkreis-kaiserslautern.json",
        "integrationsplaner/store/migrations/env.py",
        "integrationsplaner/store/migrations/script.py.mako",
        "integrationsplaner/store/migrations/versions/0001_initial.py",
    ):
        assert required in names, required
    assert any(n.startswith("integrationsplaner/resources/fonts/") for n in names)
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    assert "integrationsplaner = integrationsplaner.cli:main" in zipfile.ZipFile(wheel).read(
        entry_points).decode()
