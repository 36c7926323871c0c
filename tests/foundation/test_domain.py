"""Pure domain rules: periods, German formatting, version vectors, sort keys."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from integrationsplaner.domain import versioning
from integrationsplaner.domain.formatting import (
    format_cents,
    format_date,
    parse_cents,
    parse_date,
    parse_number,
)
from integrationsplaner.domain.periods import HalfYear
from integrationsplaner.domain.reference import load_reference
from integrationsplaner.domain.text import sort_key
from integrationsplaner.errors import UserError


def test_half_year_parse_and_neighbours() -> None:
    hy = HalfYear.parse("2019-H1")
    assert (hy.start, hy.end, hy.label) == (date(2019, 1, 1), date(2019, 6, 30),
                                            "1. Halbjahr 2019")
    assert hy.previous() == HalfYear(2018, 2)
    assert hy.next() == HalfYear(2019, 2)
    assert HalfYear(2019, 2).next() == HalfYear(2020, 1)
    assert HalfYear.containing(date(2019, 7, 1)) == HalfYear(2019, 2)


@pytest.mark.parametrize("text", ["2019-H3", "2019H1", "19-H1", "", "2019-h1x", "9999-H1"])
def test_half_year_rejects_garbage_in_german(text: str) -> None:
    with pytest.raises(UserError, match="kein gültiger Betrachtungszeitraum"):
        HalfYear.parse(text)


def test_overlap_with_open_ends() -> None:
    hy = HalfYear(2019, 1)
    assert hy.overlaps(None, None)
    assert hy.overlaps(date(2019, 6, 30), None)
    assert not hy.overlaps(date(2019, 7, 1), None)
    assert not hy.overlaps(None, date(2018, 12, 31))


def test_german_formats() -> None:
    assert format_cents(123456) == "1.234,56\xa0€"
    assert format_date(date(2019, 12, 31)) == "31.12.2019"
    assert parse_cents("1.234,56 €") == 123456
    assert parse_date("31.12.2019") == date(2019, 12, 31)
    assert parse_number("1.234,5") == 1234.5


@pytest.mark.parametrize(
    ("text", "message"),
    [("-5", "negativ"), ("abc", "kein Betrag"), ("1,234", "zwei Nachkommastellen"),
     ("1e5", "kein Betrag"), ("NaN", "kein Betrag"), ("", "Betrag ein"),
     ("9" * 40, "unrealistisch")],
)
def test_parse_cents_rejects_with_german_message(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_cents(text)


@given(st.integers(min_value=0, max_value=10**13))
def test_cents_round_trip(cents: int) -> None:
    assert parse_cents(format_cents(cents)) == cents


def test_version_vector_order() -> None:
    assert versioning.compare({"a": 1}, {"a": 1}) is versioning.Order.EQUAL
    assert versioning.compare({"a": 1}, {"a": 2}) is versioning.Order.BEFORE
    assert versioning.compare({"a": 2, "b": 1}, {"a": 2}) is versioning.Order.AFTER
    assert versioning.compare({"a": 2}, {"b": 1}) is versioning.Order.CONCURRENT
    vv, dot = versioning.bump({"a": 2}, "b")
    assert vv == {"a": 2, "b": 1} and dot == ("b", 1)
    assert versioning.dominates(vv, ("a", 2)) and not versioning.dominates(vv, ("a", 3))
    assert versioning.field_dot({}, "origin", "title") == ("origin", 1)


@given(st.dictionaries(st.sampled_from("abcd"), st.integers(0, 5)),
       st.dictionaries(st.sampled_from("abcd"), st.integers(0, 5)))
def test_merge_dominates_both(left: dict[str, int], right: dict[str, int]) -> None:
    merged = versioning.merge(left, right)
    assert versioning.compare(left, merged) in (versioning.Order.BEFORE, versioning.Order.EQUAL)
    assert versioning.compare(right, merged) in (versioning.Order.BEFORE, versioning.Order.EQUAL)


def test_sort_key_is_german_friendly() -> None:
    assert sort_key("Ärztehaus") < sort_key("Bäckerei") < sort_key("zeppelin")
    assert sort_key("ÜBERGANG") == sort_key("übergang") == "ubergang"


def test_reference_data_contract() -> None:
    ref = load_reference()
    assert ref.office_keys() == (
        "kreis-kl", "vg-bruchmuehlbach-miesau", "vg-enkenbach-alsenborn",
        "vg-kaiserslautern-sued", "vg-landstuhl", "vg-otterbach-otterberg",
        "vg-ramstein-miesenbach", "vg-weilerbach")
    assert [a.number for a in ref.action_areas] == [1, 2, 3, 4, 5]
    assert ref.action_areas[0].title == "Sprachförderung und Spracherwerb"
    assert all(o.municipalities for o in ref.offices if o.kind == "verbandsgemeinde")
    for name in ("target_groups", "partner_kinds", "funding_sources", "budget_categories",
                 "ratings", "recommendations"):
        assert ref.codes(name).entries
    assert all(r.symbol and r.label for r in ref.codes("ratings").entries)
    with pytest.raises(UserError, match="Unbekannte Dienststelle"):
        ref.office("vg-nirgendwo")


@given(st.text(max_size=80))
def test_sort_key_drops_exactly_the_combining_marks(text: str) -> None:
    """The rule character by character (as documented) and the faster implementation agree."""
    import unicodedata

    decomposed = unicodedata.normalize("NFKD", text.casefold())
    expected = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    assert sort_key(text) == expected.strip()[:200]
