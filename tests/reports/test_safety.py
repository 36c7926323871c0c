"""Any user text is safe: no markup injection, no crash, nothing cut silently; output is
byte-identical for the same data and appears only complete."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from pypdf import PdfReader

from integrationsplaner.errors import UserError
from integrationsplaner.reports.commands import ReportRequest, run_report
from integrationsplaner.reports.layout import ReportCancelled, ReportOptions
from integrationsplaner.reports.text import clean, markup
from integrationsplaner.services.workspace import Workspace

from .conftest import LONG_TEXT, LONG_WORD, PERIOD, pdf_text

KINDS = ("sheets", "review", "catalogue", "partners")


def _squash(text: str) -> str:
    return "".join(text.split())


@pytest.mark.parametrize("kind", KINDS)
def test_hostile_text_prints_literally(rws: Workspace, tmp_path: Path, kind: str) -> None:
    out = tmp_path / f"{kind}.pdf"
    run_report(rws, ReportRequest(kind, out, PERIOD))
    text = _squash(pdf_text(out))
    assert _squash("<b>fett?</b> <para>Absatz</para> & &amp; < >") in text
    assert _squash("<font size=40>G</font>") in text
    # characters the font lacks (or emoji) are shown by their code, not dropped
    assert "[U+1F600][U+1F680]" in text


@pytest.mark.parametrize("kind", ("sheets", "review", "catalogue"))
def test_long_texts_and_words_are_not_cut(rws: Workspace, tmp_path: Path, kind: str) -> None:
    out = tmp_path / f"{kind}.pdf"
    run_report(rws, ReportRequest(kind, out, PERIOD))
    text = _squash(pdf_text(out))
    if kind == "review":  # the review shortens visibly and says where the full text is
        assert "(gekürzt;vollständigerTextimBewertungsbogen)" in text
    else:
        assert text.count("Zwischenbericht") >= LONG_TEXT.count("Zwischenbericht")
    if kind != "review":
        assert _squash(LONG_WORD) in text


def test_clean_and_markup() -> None:
    assert markup("<b>&</b>") == "&lt;b&gt;&amp;&lt;/b&gt;"
    assert markup("a\nb") == "a<br/>b"
    assert clean("a\x00\x07b\tc") == "ab    c"
    assert clean("\U0001f680") == "[U+1F680]"
    assert clean("ä€ß") == "ä€ß"
    assert clean(None) == ""


@pytest.mark.parametrize("kind", KINDS)
def test_same_data_gives_identical_bytes(rws: Workspace, tmp_path: Path, kind: str) -> None:
    first, second = tmp_path / "a.pdf", tmp_path / "b.pdf"
    run_report(rws, ReportRequest(kind, first, PERIOD))
    run_report(rws, ReportRequest(kind, second, PERIOD))
    assert first.read_bytes() == second.read_bytes()


def test_creation_date_comes_from_the_data(rws: Workspace, tmp_path: Path) -> None:
    out = tmp_path / "a.pdf"
    options = ReportOptions(as_of=date(2020, 1, 15), district_name="Testkreis",
                            author="Integrationsbüro")
    run_report(rws, ReportRequest("partners", out), options=options)
    reader = PdfReader(str(out))
    assert reader.metadata["/CreationDate"].startswith("D:20200115")
    text = pdf_text(out)
    assert "Stand: 15.01.2020" in text and "Testkreis" in text
    assert reader.metadata.author == "Integrationsbüro"


def test_fonts_are_embedded(rws: Workspace, tmp_path: Path) -> None:
    out = tmp_path / "a.pdf"
    run_report(rws, ReportRequest("partners", out))
    fonts = set()
    for page in PdfReader(str(out)).pages:
        for font in page["/Resources"]["/Font"].values():
            obj = font.get_object()
            descendant = obj["/DescendantFonts"][0].get_object() if "/DescendantFonts" in obj \
                else obj
            fonts.add(str(obj["/BaseFont"]))
            assert "/FontFile2" in descendant["/FontDescriptor"]
    assert any("DejaVuSans" in f for f in fonts)


def test_logo_from_settings(rws: Workspace, tmp_path: Path) -> None:
    from PIL import Image

    logo = tmp_path / "logo.png"
    Image.new("RGB", (80, 40), (31, 58, 95)).save(logo)
    out = tmp_path / "a.pdf"
    run_report(rws, ReportRequest("review", out, PERIOD),
               options=ReportOptions(logo_path=logo))
    page = PdfReader(str(out)).pages[0]
    assert page["/Resources"]["/XObject"]
    broken = tmp_path / "kaputt.png"
    broken.write_bytes(b"kein Bild")
    with pytest.raises(UserError, match="Logo"):
        run_report(rws, ReportRequest("review", tmp_path / "b.pdf", PERIOD),
                   options=ReportOptions(logo_path=broken))
    assert not (tmp_path / "b.pdf").exists()


def test_cancel_leaves_nothing_behind(rws: Workspace, tmp_path: Path) -> None:
    out = tmp_path / "abbruch.pdf"
    out.write_bytes(b"alter Stand")
    with pytest.raises(ReportCancelled):
        run_report(rws, ReportRequest("sheets", out, PERIOD), progress=lambda d, t: d < 2)
    assert out.read_bytes() == b"alter Stand"
    assert [p.name for p in tmp_path.iterdir()] == ["abbruch.pdf"]


def test_progress_counts_every_measure(rws: Workspace, tmp_path: Path) -> None:
    seen: list[tuple[int, int]] = []
    run_report(rws, ReportRequest("sheets", tmp_path / "a.pdf", PERIOD),
               progress=lambda d, t: seen.append((d, t)) or True)
    assert seen == [(1, 3), (2, 3), (3, 3)]


def test_heading_at_the_bottom_of_a_page_moves_whole(tmp_path: Path) -> None:
    from reportlab.platypus import Spacer

    from integrationsplaner.reports.layout import STYLES, DocInfo, Heading, build_pdf

    info = DocInfo("T", "S", "H", "Kreis", "Verwaltung", "A", date(2020, 1, 1))
    title = "Sehr langer Titel " * 11
    story = [Spacer(1, 690), Heading(title, STYLES.h2, level=0), Spacer(1, 10)]
    assert build_pdf(tmp_path / "a.pdf", info, story) == 2
    assert "Sehr langer Titel" in pdf_text(tmp_path / "a.pdf").split("Seite 1 von")[1]
