"""The command line contract: commands, options, exit codes, German messages on stderr."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

from integrationsplaner import __version__
from integrationsplaner.cli import main


def run(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "INTEGRATIONSPLANER_DISTRICT"}
    return subprocess.run([sys.executable, "-m", "integrationsplaner", *map(str, args)],
                          capture_output=True, text=True, timeout=120, cwd=cwd, env=env)


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_version_and_help() -> None:
    result = run("--version")
    assert result.returncode == 0 and result.stdout.strip() == f"Integrationsplaner {__version__}"
    result = run("--help")
    assert result.returncode == 0
    assert "Aufruf:" in result.stdout and "Befehle" in result.stdout


def test_offices_lists_contract_keys(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["offices"]) == 0
    keys = [line.split("\t")[0] for line in capsys.readouterr().out.splitlines()]
    assert keys == ["kreis-kl", "vg-bruchmuehlbach-miesau", "vg-enkenbach-alsenborn",
                    "vg-kaiserslautern-sued", "vg-landstuhl", "vg-otterbach-otterberg",
                    "vg-ramstein-miesenbach", "vg-weilerbach"]


def test_init_demo_check(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "vg.sqlite"
    assert main(["init", "--db", str(db), "--office", "vg-weilerbach"]) == 0
    assert main(["init", "--db", str(db), "--office", "vg-weilerbach"]) == 1
    assert "gibt es bereits" in capsys.readouterr().err
    assert main(["demo", "--db", str(db), "--measures", "12", "--seed", "4"]) == 0
    assert main(["check", "--db", str(db)]) == 0
    out = capsys.readouterr().out
    assert "measures: 12" in out and "Ergebnis: in Ordnung" in out


def test_demo_is_deterministic_for_a_seed(tmp_path: Path) -> None:
    import sqlite3

    dumps = []
    for name in ("a", "b"):
        db = tmp_path / f"{name}.sqlite"
        assert main(["demo", "--db", str(db), "--measures", "40", "--seed", "9",
                     "--office", "vg-landstuhl"]) == 0
        con = sqlite3.connect(db)
        rows = []
        for table in ("measures", "indicators", "budget_lines", "evaluations", "partners"):
            columns = [r[1] for r in con.execute(f"PRAGMA table_info({table})")
                       if r[1] not in ("origin_replica", "vv", "seq")]
            rows.append(con.execute(
                f"SELECT {', '.join(columns)} FROM {table} ORDER BY id").fetchall())
        con.close()
        dumps.append(rows)
    assert dumps[0] == dumps[1]
    assert len(dumps[0][0]) == 40


@pytest.mark.parametrize(
    ("args", "code", "stderr"),
    [
        (["init", "--db", "{tmp}/x.sqlite", "--office", "vg-atlantis"], 1,
         "Unbekannte Dienststelle"),
        (["init", "--db", "{tmp}/x.sqlite"], 2, "Diese Angaben fehlen: --office"),
        (["demo", "--db", "{tmp}/x.sqlite", "--measures", "viele"], 2, "keine ganze Zahl"),
        (["check", "--db", "{tmp}/fehlt.sqlite"], 1, "gibt es nicht"),
        (["check", "--db", "{tmp}"], 1, "Ordner"),
        (["frobnicate"], 2, "ungültige Auswahl"),
        (["export", "--db", "{tmp}/x.sqlite", "--out", "o", "--to", "kreis-kl", "--full"], 2,
         "nicht zusammen"),
    ],
)
def test_rejections_and_usage_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                     args: list[str], code: int, stderr: str) -> None:
    with pytest.raises(SystemExit) if code == 2 else _no_exit() as info:
        result = main([a.replace("{tmp}", str(tmp_path)) for a in args])
    if code == 2:
        assert info.value.code == 2
    else:
        assert result == code
    assert stderr in capsys.readouterr().err
    assert not (tmp_path / "x.sqlite").exists()


class _no_exit:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> bool:
        return False


@pytest.mark.parametrize("content", [b"", b"kein Datenbankinhalt" * 50, b"SQLite format 3\x00"])
def test_bad_database_via_cli_untouched(tmp_path: Path, content: bytes) -> None:
    db = tmp_path / "kaputt.sqlite"
    db.write_bytes(content)
    before = digest(db)
    for args in (["check", "--db", db], ["demo", "--db", db, "--measures", "1"]):
        result = run(*args)
        assert result.returncode == 1, result.stderr
        assert result.stderr.startswith("Fehler: ")
        assert "Traceback" not in result.stderr
        assert digest(db) == before


def test_newer_database_via_cli(tmp_path: Path) -> None:
    import sqlite3

    db = tmp_path / "neu.sqlite"
    assert main(["init", "--db", str(db), "--office", "kreis-kl"]) == 0
    con = sqlite3.connect(db)
    con.execute("UPDATE alembic_version SET version_num = '0999_future'")
    con.commit()
    con.close()
    before = digest(db)
    for args in (["check", "--db", db], ["demo", "--db", db, "--measures", "1"]):
        result = run(*args)
        assert result.returncode == 1 and "neueren Version" in result.stderr
    assert digest(db) == before


def test_locked_database_via_cli(tmp_path: Path) -> None:
    db = tmp_path / "gesperrt.sqlite"
    assert main(["init", "--db", str(db), "--office", "kreis-kl"]) == 0
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sys\nfrom integrationsplaner.store.database import open_database\n"
         f"db = open_database({str(db)!r})\nprint('bereit', flush=True)\nsys.stdin.readline()\n"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "bereit"
        result = run("demo", "--db", db, "--measures", "1")
        assert result.returncode == 1 and "bereits von einem anderen" in result.stderr
    finally:
        holder.communicate("\n", timeout=30)


@pytest.mark.skipif(sys.platform == "win32", reason="no SIGPIPE on Windows")
def test_output_into_a_closed_pipe_ends_quietly() -> None:
    """``integrationsplaner offices | head -0``: the reader is gone before the output comes."""
    process = subprocess.Popen([sys.executable, "-m", "integrationsplaner", "offices"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert process.stdout is not None and process.stderr is not None
    process.stdout.close()
    with process.stderr:
        error = process.stderr.read().decode()
    process.wait(timeout=60)
    assert "Traceback" not in error and "BrokenPipe" not in error, error
