"""Smoke test of the frozen program (slow, not in the default test run).

Builds the one-folder program with ``packaging/build.py``, then runs the frozen binaries in a
temporary folder through --version, init, demo, keys, export, import, check and report, and
starts the GUI offscreen until its window is shown. ``.ci/run`` runs it with IP_PACKAGING_SMOKE=1.

    python packaging/smoke_test.py [--skip-build]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DIST = ROOT / "build" / "dist" / "Integrationsplaner"
SUFFIX = ".exe" if sys.platform == "win32" else ""
CLI = DIST / f"integrationsplaner-cli{SUFFIX}"
GUI = DIST / f"Integrationsplaner{SUFFIX}"


def run(*args: str | Path, expect: int = 0, env: dict[str, str] | None = None,
        cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([str(a) for a in args], capture_output=True, text=True, cwd=cwd,
                            timeout=600, env=env)
    if result.returncode != expect:
        raise SystemExit(f"FEHLER: {' '.join(map(str, args))} → {result.returncode} "
                         f"(erwartet {expect})\n{result.stdout}\n{result.stderr}")
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--skip-build", action="store_true")
    args = parser.parse_args()
    if not args.skip_build:
        run(sys.executable, ROOT / "packaging" / "build.py", "--no-installer")
    from integrationsplaner import __version__

    size = sum(p.stat().st_size for p in DIST.rglob("*") if p.is_file() and not p.is_symlink())
    print(f"Programmordner: {size / 2**20:.0f} MiB")
    with tempfile.TemporaryDirectory(prefix="ip-smoke-") as tmp:
        work = Path(tmp)
        assert run(CLI, "--version").stdout.strip() == f"Integrationsplaner {__version__}"
        run(CLI, "offices")
        run(CLI, "init", "--db", work / "kreis.sqlite", "--office", "kreis-kl")
        run(CLI, "demo", "--db", work / "vg.sqlite", "--office", "vg-landstuhl",
            "--measures", "30")
        run(CLI, "init", "--db", work / "x.sqlite", "--office", "vg-nirgendwo", expect=1)
        run(CLI, "keys", "export", "--db", work / "kreis.sqlite", "--out", work / "kreis.ipkey")
        run(CLI, "keys", "export", "--db", work / "vg.sqlite", "--out", work / "vg.ipkey")
        run(CLI, "keys", "import", "--db", work / "kreis.sqlite", work / "vg.ipkey")
        run(CLI, "keys", "import", "--db", work / "vg.sqlite", work / "kreis.ipkey")
        run(CLI, "export", "--db", work / "vg.sqlite", "--out", work / "vg.ipbundle", "--full")
        plan = json.loads(run(CLI, "import", "--db", work / "kreis.sqlite", work / "vg.ipbundle",
                              "--json").stdout)
        assert plan, "leere Antwort des Imports"
        check = run(CLI, "check", "--db", work / "kreis.sqlite").stdout
        assert "measures: 30" in check, check
        for kind, extra in (("review", ["--period", "2026-H1"]), ("catalogue", []),
                            ("sheets", ["--period", "2026-H1", "--blank"]),
                            ("partners", ["--no-contacts"])):
            out = work / f"{kind}.pdf"
            run(CLI, "report", kind, "--db", work / "kreis.sqlite", *extra, "--out", out)
            assert out.read_bytes().startswith(b"%PDF"), kind
        env = dict(os.environ, QT_QPA_PLATFORM="offscreen", INTEGRATIONSPLANER_EXIT_AFTER_SHOW="1",
                   HOME=str(work), XDG_CONFIG_HOME=str(work / "config"),
                   XDG_DATA_HOME=str(work / "data"), XDG_STATE_HOME=str(work / "state"))
        windows, rows = [], []
        for _ in range(5):
            env["INTEGRATIONSPLANER_LAUNCHED_AT"] = repr(time.time())
            out = run(GUI, "--db", work / "vg.sqlite", env=env).stdout
            stages = dict(line.split("=") for line in out.split())
            windows.append(float(stages["window"]))
            rows.append(float(stages["rows"]))
        print("GUI-Kaltstart (Median aus 5): Fenster sichtbar nach "
              f"{statistics.median(windows):.2f} s (Ziel ≤ 1,5 s), erste Zeilen nach "
              f"{statistics.median(rows):.2f} s")
    print("Smoke-Test bestanden.")


if __name__ == "__main__":
    main()
