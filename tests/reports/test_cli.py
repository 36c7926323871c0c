"""The ``report`` command: exit codes, German messages, nothing written on rejected input."""

from __future__ import annotations

from pathlib import Path

import pytest

from integrationsplaner.cli import main

from .conftest import PERIOD, pdf_text


@pytest.mark.parametrize("kind", ("sheets", "review", "catalogue", "partners"))
def test_report_writes_a_pdf(report_db: Path, tmp_path: Path, kind: str,
                             capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / f"{kind}.pdf"
    assert main(["report", kind, "--db", str(report_db), "--period", PERIOD,
                 "--out", str(out)]) == 0
    assert out.read_bytes().startswith(b"%PDF-")
    assert "geschrieben" in capsys.readouterr().out


@pytest.mark.parametrize(("extra", "message"), [
    (["--period", "2019-H3"], "kein gültiger Betrachtungszeitraum"),
    (["--period", "1950-H1"], "kein Integrationskonzept"),
    (["--office", "vg-atlantis"], "Unbekannte Dienststelle"),
])
def test_rejected_input_writes_nothing(report_db: Path, tmp_path: Path, extra: list[str],
                                       message: str, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "bericht.pdf"
    code = main(["report", "review", "--db", str(report_db), *extra, "--out", str(out)])
    assert code == 1
    assert message in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_missing_folder_and_wrong_suffix(report_db: Path, tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", "partners", "--db", str(report_db),
                 "--out", str(tmp_path / "fehlt" / "a.pdf")]) == 1
    assert "existiert nicht" in capsys.readouterr().err
    assert main(["report", "partners", "--db", str(report_db),
                 "--out", str(tmp_path / "a.docx")]) == 1
    assert ".pdf" in capsys.readouterr().err


def test_unknown_database(tmp_path: Path) -> None:
    assert main(["report", "partners", "--db", str(tmp_path / "nix.sqlite"),
                 "--out", str(tmp_path / "a.pdf")]) == 1
    assert not (tmp_path / "a.pdf").exists()


def test_office_and_blank_options(report_db: Path, tmp_path: Path) -> None:
    out = tmp_path / "a.pdf"
    assert main(["report", "sheets", "--db", str(report_db), "--period", PERIOD,
                 "--office", "vg-landstuhl", "--blank", "--out", str(out)]) == 0
    assert "987,65 €" not in pdf_text(out)
    out2 = tmp_path / "b.pdf"
    assert main(["report", "partners", "--db", str(report_db), "--no-contacts",
                 "--out", str(out2)]) == 0
    assert "Erika Mustermann" not in pdf_text(out2)


def test_the_database_is_not_changed(report_db: Path, tmp_path: Path) -> None:
    before = report_db.read_bytes()
    main(["report", "review", "--db", str(report_db), "--period", PERIOD,
          "--out", str(tmp_path / "a.pdf")])
    assert report_db.read_bytes() == before
