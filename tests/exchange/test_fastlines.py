"""The fast line checks (fastlines.validate_lines) against the slow ones
(staging._validate_lines): the same rows, value for value and type for type, and the same error
for the first bad line, for valid and for hostile lines."""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from integrationsplaner.exchange import fastlines, staging
from integrationsplaner.exchange.export import export_bundle
from integrationsplaner.exchange.format import (
    ENTITY_ORDER,
    ENTRY_OF,
    MAX_INT,
    MAX_LINE_BYTES,
    META_FIELDS,
    SPECS,
)
from integrationsplaner.exchange.lines import Validator
from integrationsplaner.services import demo

from .helpers import make_ws, read_bundle

Lines = dict[str, list[bytes]]
TODAY = date(2026, 11, 23)  # as tests/conftest.py: demo data independent of the calendar


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> tuple[Validator, Lines]:
    """The record lines of a small exported demo bundle per entity, and a validator."""
    root = tmp_path_factory.mktemp("fastlines")
    ws = make_ws(root / "k", "kreis-kl", "kreis")
    try:
        demo.generate(ws, 6, seed=11, today=TODAY)
        export_bundle(ws, root / "demo.ipbundle")
        validator = Validator(ws)
    finally:
        ws.close()
    _manifest, entries = read_bundle(root / "demo.ipbundle")
    lines = {entity: entries[ENTRY_OF[entity]].split(b"\n")[:-1] for entity in ENTITY_ORDER}
    assert all(lines.values()), {k: len(v) for k, v in lines.items()}
    return validator, lines


# --- comparison -------------------------------------------------------------------------------


def _strict(value: Any) -> Any:
    """A value with its exact type (and floats by repr: -0.0 is not 0.0)."""
    if type(value) is list:
        return [_strict(v) for v in value]
    if type(value) is float:
        return ("float", repr(value))
    return (type(value).__name__, value)


def _outcome(function: Callable[..., Any], *args: Any) -> tuple[Any, Any]:
    """A comparable outcome (rows with exact types, error; or the exception, which must be the
    same too), and the plain result (None if it raised)."""
    try:
        result = function(*args)
    except Exception as exc:
        return ("raised", type(exc).__name__, str(exc)), None
    rows, error = result
    return (_strict(rows), error), result


def same(validator: Validator, entity: str, lines: list[bytes], line_no: int = 0
         ) -> tuple[list[list[Any]], str | None]:
    """Both paths on ``lines``; asserts equal results and returns the slow path's."""
    spec = SPECS[entity]
    slow, result = _outcome(staging._validate_lines, validator, spec, lines, line_no)
    pairs: set[tuple[str, str]] = set()
    fast, _ = _outcome(fastlines.validate_lines, validator, spec, lines, line_no, pairs)
    assert fast == slow, (entity, lines)
    if result is not None and result[1] is None:
        # the (office, replica) pairs that planning's ownership check reads
        assert pairs == {(row[1], replica) for row in result[0] for replica in json.loads(row[3])}
    return result if result is not None else ([], f"raised {slow}")


@pytest.fixture
def slow_calls(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts the lines the fast path hands to the slow path."""
    calls: list[int] = []
    original = fastlines._slow

    def counting(validator: Validator, spec: Any, lines: list[bytes], line_no: int,
                 *rest: Any) -> Any:
        calls.append(len(lines))
        return original(validator, spec, lines, line_no, *rest)

    monkeypatch.setattr(fastlines, "_slow", counting)
    return calls


def _record(line: bytes) -> dict[str, Any]:
    return json.loads(line)


def _line(record: dict[str, Any], **dumps: Any) -> bytes:
    return json.dumps(record, ensure_ascii=dumps.pop("ensure_ascii", False),
                      separators=dumps.pop("separators", (",", ":")), **dumps).encode()


def _with(line: bytes, key: str, raw: bytes) -> bytes:
    """The line with the value of ``key`` replaced by the raw JSON text ``raw``."""
    record = _record(line)
    record[key] = "\x00SENTINEL\x00"
    return _line(record).replace(b'"\\u0000SENTINEL\\u0000"', raw)


# --- valid lines take the fast path -----------------------------------------------------------


def test_valid_lines_are_staged_by_the_fast_path(corpus: tuple[Validator, Lines],
                                                 slow_calls: list[int]) -> None:
    validator, lines = corpus
    for entity in ENTITY_ORDER:
        rows, error = same(validator, entity, lines[entity], 10)
        assert error is None and len(rows) == len(lines[entity])
        assert [row[-1] for row in rows] == list(range(11, 11 + len(rows)))
    assert slow_calls == []


def _variants(entity: str, line: bytes) -> list[bytes]:
    """Valid lines other than the exporter writes them: spaced separators, escapes, two
    replicas with stamps, nulls, int in float fields, texts with line breaks."""
    record = _record(line)
    spec = SPECS[entity]
    out = [_line(record, separators=(", ", ": ")), _line(record, ensure_ascii=True),
           b" \t" + line + b" \r"]
    replica = record["origin_replica"]
    two = dict(record, vv={replica: 3, "zweiter-pc": 2},
               stamps={spec.fields[0].name: ["zweiter-pc", 2], "deleted": [replica, 3]})
    out.append(_line(two))
    nulls = dict(record)
    for f in spec.fields:
        if f.nullable:
            nulls[f.name] = None
    out.append(_line(nulls))
    changed = dict(record)
    for f in spec.fields:
        if f.kind == "float":
            changed[f.name] = 7
        elif f.kind == "text":
            changed[f.name] = "Zeile 1\nZeile 2\tmit Tab\r\n„Zitat“: <b>&amp;</b> 😀"
        elif f.kind == "str" and f.name in ("name", "title", "note", "function"):
            changed[f.name] = "Ärztehaus: \u00c4 Maße"
    out.append(_line(changed))
    out.append(_line(changed, ensure_ascii=True))
    return out


def test_valid_variants_are_staged_by_the_fast_path(corpus: tuple[Validator, Lines],
                                                    slow_calls: list[int]) -> None:
    validator, lines = corpus
    for entity in ENTITY_ORDER:
        variants = [v for line in lines[entity][:3] for v in _variants(entity, line)]
        rows, error = same(validator, entity, variants)
        assert error is None and len(rows) == len(variants)
    assert slow_calls == []


def test_siblings_and_escaped_spaced_colons_fall_back_with_the_same_rows(
        corpus: tuple[Validator, Lines], slow_calls: list[int]) -> None:
    validator, lines = corpus
    record = _record(lines["measure"][0])
    replica = record["origin_replica"]
    record["vv"] = {replica: 2, "zweiter-pc": 1}
    record["siblings"] = {"title": [["zweiter-pc", 1, "Anderer Titel"]]}
    spaced = _line(_record(lines["measure"][1]), separators=(",", " : "))
    # with a backslash the colons alone prove nothing: the spaced colons then need the slow path
    escaped = _line(_record(lines["measure"][3]), separators=(",", " : "), ensure_ascii=True)
    assert b"\\u" in escaped
    rows, error = same(validator, "measure",
                       [lines["measure"][2], _line(record), spaced, escaped])
    assert error is None and len(rows) == 4
    assert rows[1][-2] == '{"title": [["zweiter-pc", 1, "Anderer Titel"]]}'
    assert slow_calls == [1, 1]  # the siblings and the escaped line; the spaced one is proven


# --- the worst cases, one by one --------------------------------------------------------------

_ALL_DIGITS = b"9" * 100_000


def _cases() -> list[tuple[str, str, Callable[[bytes], bytes], str | None]]:
    """(entity, label, mutation of a valid line, expected part of the error or None)."""
    ind, ev, me, pa = "indicator", "evaluation", "measure", "partner"
    return [
        (me, "duplicate key", lambda b: b'{"title":"x",' + b[1:], "„title“ kommt doppelt vor"),
        (me, "duplicate key last", lambda b: b[:-1] + b',"deleted":true}', "doppelt"),
        (me, "duplicate key spaced", lambda b: b'{"code" : "x", ' + b[1:], "doppelt"),
        (me, "duplicate in vv", lambda b: b.replace(b'"vv":{', b'"vv":{"%s":1,' % _record(
            b)["origin_replica"].encode()), "doppelt"),
        (me, "duplicate escaped", lambda b: b'{"t\\u0069tle":"x",' + b[1:], "doppelt"),
        (ev, "duplicate in actual_values",
         lambda b: b.replace(b'"actual_values":{', b'"actual_values":{'
                             b'"af771a03-bbe0-4334-86f9-af6fb977d2bc":1,'
                             b'"af771a03-bbe0-4334-86f9-af6fb977d2bc":2,'), "doppelt"),
        (me, "key colon inside a string",
         lambda b: _with(b, "description", b'"Ziel\\":\\":"'), None),
        (me, "colon text and spaced dup",
         lambda b: b'{"title" :"x",' + b[1:].replace(b'"description":"',
                                                    b'"description":"a: b ', 1), "doppelt"),
        (me, "escaped datetime colons and spaced duplicates",
         lambda b: b'{"title" :"x","code" :"y",' + _with(
             b, "created_at", b'"2017-10-01T09\\u003a00\\u003a00"')[1:], "doppelt"),
        (ind, "NaN", lambda b: _with(b, "baseline", b"NaN"), "„NaN“ ist keine zulässige Zahl"),
        (ind, "Infinity", lambda b: _with(b, "target", b"-Infinity"), "keine zulässige Zahl"),
        (ind, "1e400", lambda b: _with(b, "baseline", b"1e400"), "unendlich groß"),
        (ind, "float 1e300", lambda b: _with(b, "baseline", b"1e300"), None),
        (ind, "int beyond 2**53 in float",
         lambda b: _with(b, "baseline", str(MAX_INT + 1).encode()), "zu groß"),
        (ind, "int 2**53 in float", lambda b: _with(b, "baseline", str(MAX_INT).encode()), None),
        (ind, "int in float", lambda b: _with(b, "baseline", b"-0"), None),
        (ind, "int beyond 2**53", lambda b: _with(b, "position", str(-MAX_INT - 1).encode()),
         "zu groß"),
        (ind, "100,000 digits", lambda b: _with(b, "position", _ALL_DIGITS),
         "Eine ganze Zahl ist zu groß"),
        (ind, "100,000 digits in float", lambda b: _with(b, "target", _ALL_DIGITS),
         "Eine ganze Zahl ist zu groß"),
        (ind, "bool for int", lambda b: _with(b, "position", b"true"), "ganze Zahl"),
        (ind, "bool for float", lambda b: _with(b, "baseline", b"false"), "muss eine Zahl"),
        (ind, "float for int", lambda b: _with(b, "position", b"1.0"), "ganze Zahl"),
        (ind, "int for bool", lambda b: _with(b, "deleted", b"0"), "true oder false"),
        (ind, "null not nullable", lambda b: _with(b, "name", b"null"), "nicht leer"),
        (ind, "control escape", lambda b: _with(b, "name", b'"a\\u0007b"'), "Steuerzeichen"),
        (ind, "newline in line text", lambda b: _with(b, "name", b'"a\\nb"'), "Steuerzeichen"),
        (ind, "raw tab", lambda b: _with(b, "name", b'"a\tb"'), "Kein gültiges JSON"),
        (ind, "raw DEL", lambda b: _with(b, "name", b'"a\x7fb"'), "Steuerzeichen"),
        (me, "tab in text", lambda b: _with(b, "description", b'"a\\tb\\r\\n"'), None),
        (me, "form feed in text", lambda b: _with(b, "description", b'"a\\fb"'),
         "Steuerzeichen"),
        (me, "DEL in updated_by", lambda b: _with(b, "updated_by", b'"a\\u007f"'),
         "„updated_by“ ist ungültig"),
        (ind, "too long", lambda b: _with(b, "unit", json.dumps("ä" * 51).encode()), "zu lang"),
        (ind, "max length emoji", lambda b: _with(b, "unit", json.dumps("😀" * 50).encode()),
         None),
        (ind, "too long emoji", lambda b: _with(b, "unit", json.dumps("😀" * 51).encode()),
         "zu lang"),
        (ind, "invalid UTF-8", lambda b: _with(b, "name", b'"a\xffb"'), "kein gültiger UTF-8"),
        (ind, "encoded surrogate", lambda b: _with(b, "name", b'"\xed\xa0\x80"'), "UTF-8"),
        # a lone surrogate stands for no character: refused (the fast path hands it over)
        (ind, "lone surrogate escape", lambda b: _with(b, "name", b'"\\ud800"'), "Surrogat"),
        (ind, "reversed surrogates", lambda b: _with(b, "name", b'"\\udc00\\ud800"'),
         "Surrogat"),
        (ind, "lone surrogate in a key", lambda b: _with(b, "stamps", b'{"\\udfff": 1}'),
         "Surrogat"),
        (ind, "surrogate pair", lambda b: _with(b, "name", b'"\\ud83d\\ude00"'), None),
        (ind, "line too long", lambda b: b[:-1] + b" " * MAX_LINE_BYTES + b"}", "zu lang"),
        (ind, "array", lambda b: b"[" + b + b"]", "kein Datensatz"),
        (ind, "empty", lambda b: b"", "Kein gültiges JSON"),
        (ind, "BOM", lambda b: b"\xef\xbb\xbf" + b, "Kein gültiges JSON"),
        (ind, "trailing garbage", lambda b: b + b" x", "Kein gültiges JSON"),
        (ind, "vertical tab", lambda b: b + b"\x0b", "Kein gültiges JSON"),
        (ind, "deep", lambda b: _with(b, "name", b"[" * 100_000 + b"]" * 100_000),
         "zu tief verschachtelt"),
        (ind, "renamed field", lambda b: b.replace(b'"unit":', b'"unix":'), "Unbekanntes Feld"),
        (ind, "unknown field", lambda b: b[:-1] + b',"x":1}', "Unbekanntes Feld „x“"),
        (ind, "missing", lambda b: _line({k: v for k, v in _record(b).items() if k != "target"}),
         "„target“ fehlt"),
        (me, "invalid date", lambda b: _with(b, "start_date", b'"2023-02-30"'),
         "kein gültiges Datum"),
        (me, "leap day", lambda b: _with(b, "start_date", b'"2024-02-29"'), None),
        (me, "fullwidth date", lambda b: _with(b, "end_date", '"２０２３-０１-０１"'.encode()),
         "kein gültiges Datum"),
        (me, "datetime with micro", lambda b: _with(b, "created_at", b'"2023-01-01T00:00:00.1'
                                                                     b'23456"'), None),
        (me, "datetime with space", lambda b: _with(b, "updated_at", b'"2023-01-01 00:00:00"'),
         "kein gültiger Zeitpunkt"),
        (me, "datetime 24h", lambda b: _with(b, "updated_at", b'"2023-01-01T24:00:00"'),
         "kein gültiger Zeitpunkt"),
        (me, "upper-case uuid", lambda b: _with(b, "id", json.dumps(
            _record(b)["id"].upper()).encode()), "keine gültige Datensatz-ID"),
        (ind, "bad measure_id", lambda b: _with(b, "measure_id", b'"x"'), "keine gültige"),
        (me, "unknown office", lambda b: _with(b, "office_key", b'"vg-nirgendwo"'),
         "Unbekannte Dienststelle"),
        (me, "unknown area", lambda b: _with(b, "action_area", b"6"), "Handlungsfeld 6"),
        (me, "unknown concept", lambda b: _with(b, "concept_period", b'"1999-2001"'),
         "Konzeptzeitraum"),
        (me, "bad key list", lambda b: _with(b, "target_groups", b'["A"]'), "ungültige Schl"),
        (pa, "bad area list", lambda b: _with(b, "action_areas", b"[1, 6]"), "Handlungsfelder"),
        (pa, "bool in area list", lambda b: _with(b, "action_areas", b"[true]"),
         "Handlungsfelder"),
        (ev, "bad period", lambda b: _with(b, "period", b'"2019-H3"'), "kein gültiger Zeitraum"),
        (ev, "arabic period", lambda b: _with(b, "period", '"٢٠١٩-H1"'.encode()),
         "kein gültiger Zeitraum"),
        # the fast path proves an evaluation's id only by comparing it with evaluation_id()
        (ev, "upper-case evaluation id", lambda b: _with(b, "id", json.dumps(
            _record(b)["id"].upper()).encode()), "keine gültige Datensatz-ID"),
        (ev, "evaluation id", lambda b: _with(b, "measure_id", json.dumps(
            _record(b)["id"]).encode()), "passt nicht zu Maßnahme"),
        (ev, "actual value int", lambda b: _with(b, "actual_values", json.dumps(
            dict.fromkeys(_record(b)["actual_values"], 3)).encode()), None),
        (ev, "actual value null", lambda b: _with(b, "actual_values", json.dumps(
            dict.fromkeys(_record(b)["actual_values"])).encode()), None),
        (ev, "actual value huge", lambda b: _with(b, "actual_values", json.dumps(
            dict.fromkeys(_record(b)["actual_values"], MAX_INT + 1)).encode()),
         "ungültigen Wert"),
        (ev, "actual value key", lambda b: _with(b, "actual_values", b'{"x": 1}'),
         "ungültige Kennzahl-ID"),
        (me, "empty vv", lambda b: _with(b, "vv", b"{}"), "„vv“ ist ungültig"),
        (me, "vv zero", lambda b: _with(b, "vv", json.dumps(
            {_record(b)["origin_replica"]: 0}).encode()), "„vv“ ist ungültig"),
        (me, "vv bad replica", lambda b: _with(b, "vv", json.dumps(
            {_record(b)["origin_replica"]: 1, "A": 1}).encode()), "„vv“ ist ungültig"),
        (me, "origin missing", lambda b: _with(b, "origin_replica", b'"anderer"'),
         "fehlt im Versionsvektor"),
        (me, "stamp beyond vv", lambda b: _with(b, "stamps", json.dumps(
            {"title": [_record(b)["origin_replica"], 5]}).encode()), "Stempel"),
        (me, "stamp bool", lambda b: _with(b, "stamps", json.dumps(
            {"title": [_record(b)["origin_replica"], True]}).encode()), "Stempel"),
        (me, "stamp unknown field", lambda b: _with(b, "stamps", json.dumps(
            {"x": [_record(b)["origin_replica"], 1]}).encode()), "Stempel"),
        (me, "bad siblings", lambda b: b[:-1] + b',"siblings":{"title":[]}}',
         "„siblings“ ist ungültig"),
        (me, "non-ASCII title sort key", lambda b: _with(b, "title", '"Ärztehaus Ǆ"'.encode()),
         None),
    ]


@pytest.mark.parametrize("case", _cases(), ids=lambda case: f"{case[0]}-{case[1]}")
def test_worst_cases(corpus: tuple[Validator, Lines], case: Any) -> None:
    entity, _label, mutate, expected = case
    validator, lines = corpus
    good = lines[entity]
    bad = mutate(good[1])
    rows, error = same(validator, entity, [good[0], bad, good[2]], 41)
    if expected is None:
        assert error is None and len(rows) == 3
    else:
        assert error is not None and error.startswith("Zeile 43"), error
        assert expected in error, error
        assert len(rows) == 1 and rows[0][-1] == 42


def test_int_in_float_field_is_stored_as_float(corpus: tuple[Validator, Lines]) -> None:
    validator, lines = corpus
    line = _with(lines["indicator"][0], "baseline", b"7")
    rows, error = fastlines.validate_lines(validator, SPECS["indicator"], [line], 0)
    position = len(META_FIELDS) + SPECS["indicator"].field_names.index("baseline")
    assert error is None and type(rows[0][position]) is float and rows[0][position] == 7.0


def test_values_are_stored_as_the_slow_path_stores_them(corpus: tuple[Validator, Lines],
                                                        slow_calls: list[int]) -> None:
    validator, lines = corpus
    record = _record(lines["partner"][0])
    record.update(deleted=True, action_areas=[3, 1], offices=["kreis-kl", "vg-landstuhl"],
                  name="  Ärztehaus  ", created_at="2020-01-02T03:04:05.123456")
    rows, error = same(validator, "partner", [_line(record)])
    assert error is None and not slow_calls
    row = dict(zip((*SPECS["partner"].columns, "x_siblings", "x_line"), rows[0], strict=True))
    assert row["deleted"] == 1 and type(row["deleted"]) is int
    assert row["action_areas"] == "[3, 1]" and row["offices"] == '["kreis-kl", "vg-landstuhl"]'
    assert row["name_sort"] == "arztehaus" and row["created_at"] == "2020-01-02 03:04:05.123456"
    assert row["updated_at"].endswith(".000000") and row["vv"].startswith('{"')
    assert row["x_siblings"] is None and row["x_line"] == 1


# --- property: random mutations of valid lines ------------------------------------------------

_SENTINEL = "\x00SENTINEL\x00"
_TRICKY = [
    "", " ", "a\x00b", "a\tb", "a\nb", "a\rb", "a\x7fb", "\x1f", "\x85", "<script>&amp;",
    "\u202eabc", "😀", "\u200b", "Maße", "2023-02-30", "2024-02-29", "2023-13-01", "2023-1-01",
    "２０２３-０１-０１", "2023-01-01T00:00:00", "2023-01-01T00:00:00.123456",
    "2023-01-01T00:00:00.123", "2023-01-01 00:00:00", "2023-01-01T24:00:00", "2019-H1",
    "2019-H3", "٢٠١٩-H1", "kreis-kl", "vg-landstuhl", "vg-nirgendwo", "2024-2026", "2099-2101",
    "3ad61db3642172b7", "A", "a_b", "-a", "a" * 41, "abgeschlossen",
    "86be84e3-f298-4081-b613-000a7d2de80f", "86BE84E3-F298-4081-B613-000A7D2DE80F",
    "86be84e3-f298-4081-b613-000a7d2de80f\n", "zweiter-pc", "x\":", ": :", "\\", '"',
]
_RAW_VALUES = [
    b"NaN", b"Infinity", b"-Infinity", b"1e400", b"-1e400", b"1e-400", b"1E2", b"-0", b"-0.0",
    b"01", b"1.", b".5", b"+1", b"0x10", b"9007199254740993", b"-9007199254740993",
    b"9007199254740992", b"1" * 4301, b"1" * 30, b"true", b"True", b"null", b"None", b"[]",
    b"{}", b'"\\ud800"', b'"\\udc00\\ud800"', b'"\\ud83d\\ude00"', b'"\\u0041"', b'"a\\u0000"',
    b'"a\\/b"', b'"\\x41"', b'"a\xffb"', b'"\xed\xa0\x80"', b'"\xc3"', b'"\xc0\x80"',
    b'"\xf4\x90\x80\x80"', b'"a\tb"', b'"a\x01"', b"[" * 3000 + b"]" * 3000, b"[1,]", b"{,}",
    b'{"a":1,"a":1}', b'"2023-01-01"', b'"\xe2\x80\xae"',
]
_WHITESPACE = [b" ", b"\t", b"\r", b"\n", b"\x0b", b"\x0c", b"\xc2\xa0", b"\x00"]

_values = st.one_of(
    st.none(), st.booleans(), st.integers(),
    st.sampled_from([0, 1, 5, 6, -1, MAX_INT, MAX_INT + 1, -MAX_INT, -MAX_INT - 1, 10**30]),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from([0.0, -0.0, 1.5, 1e300, 5e-324, float(MAX_INT), 1e16]),
    st.text(max_size=12), st.sampled_from(_TRICKY),
    st.builds(lambda ch, n: ch * n, st.sampled_from(["a", "ä", "😀", "<", "\u202e", "\n"]),
              st.sampled_from([9, 10, 11, 19, 20, 21, 29, 30, 31, 36, 37, 49, 50, 51, 199, 200,
                               201, 20_000, 20_001])),
    st.lists(st.sampled_from(["arbeitgeber", "a", "A", "-a", 1, 3, 6, True, None]), max_size=3),
    st.dictionaries(st.sampled_from(["zweiter-pc", "title", "A",
                                     "86be84e3-f298-4081-b613-000a7d2de80f"]),
                    st.sampled_from([1, 2, 0, 1.5, None, True, ["zweiter-pc", 1]]), max_size=2),
)


_UUIDS = ["86be84e3-f298-4081-b613-000a7d2de80f", "86BE84E3-F298-4081-B613-000A7D2DE80F",
          "86be84e3-f298-4081-b613-000a7d2de80f\n", "86be84e3f2984081b613000a7d2de80f", ""]
_NUMBERS = [0, 7, -1, 1.5, -0.0, 1e300, 5e-324, 1e16, float(MAX_INT), MAX_INT, MAX_INT + 1,
            -MAX_INT, -MAX_INT - 1, 10**30, True, "1", None]
#: Hostile values per kind of field (besides the generic ones above).
_BY_KIND: dict[str, list[Any]] = {
    "id": _UUIDS, "measure_id": _UUIDS, "partner_id": _UUIDS,
    "office_key": ["kreis-kl", "vg-landstuhl", "vg-nirgendwo", "Kreis-KL", "", None],
    "origin_replica": ["zweiter-pc", "A", "", None, 1],
    "created_at": ["2023-01-01T00:00:00", "2023-01-01T00:00:00.123456", "2023-02-30T00:00:00",
                   "2023-01-01T00:00:00.123", "2023-01-01 00:00:00", "2023-01-01T24:00:00",
                   "٢٠٢٣-٠١-٠١T00:00:00", "2023-01-01", None, 0],
    "period": ["2019-H1", "2025-H2", "2019-H3", "٢٠١٩-H1", "2019-h1", None],
    "concept_period": ["2024-2026", "2018-2020", "2099-2101", "", None],
    "action_area": [1, 5, 6, 0, -1, True, 2.0, None],
    "int": [0, 1, -1, 2026, MAX_INT, MAX_INT + 1, -MAX_INT, -MAX_INT - 1, 10**30, True, 1.0,
            "1", None],
    "float": _NUMBERS,
    "bool": [True, False, 0, 1, "true", None],
    "date": ["2023-02-28", "2023-02-30", "2024-02-29", "2023-13-01", "2023-1-01",
             "２０２３-０１-０１", "2023-01-01T00:00:00", " 2023-01-01", 20230101, None],
    "json": [[], ["arbeitgeber"], ["a", "b"], ["A"], ["-a"], ["a" * 64], ["a" * 65], [1],
             [None], ["a"] * 201, [1, 5], [6], [True], [0], [1] * 201, {}, "a", None],
}


def _aimed(entity: str, key: str, record: dict[str, Any]) -> list[Any]:
    """Values aimed at the checks of one field: most have the right type, so that only the
    checks after decoding can tell them apart."""
    spec = {f.name: f for f in SPECS[entity].fields}.get(key)
    replica = str(record.get("origin_replica"))
    if key in _BY_KIND:
        return _BY_KIND[key]
    if key == "updated_at":
        return _BY_KIND["created_at"]
    if key == "updated_by":
        return ["a" * 200, "a" * 201, "ä\n", "x\x7f", "", None]
    if key == "vv":
        return [{replica: 2}, {replica: 1, "zweiter-pc": 3}, {"zweiter-pc": 1}, {},
                {replica: 0}, {replica: MAX_INT}, {replica: MAX_INT + 1}, {replica: True},
                {replica: 1, "A": 1}, {replica: 1, "a" * 41: 1}, {replica: 1, "-a": 1},
                {replica: 1.0}, [replica, 1]]
    if key == "stamps":
        fields = SPECS[entity].field_names
        return [{fields[0]: [replica, 1]}, {fields[-1]: [replica, 2]}, {"x": [replica, 1]},
                {fields[0]: ["zweiter-pc", 1]}, {fields[0]: [replica, 0]},
                {fields[0]: [replica, True]}, {fields[0]: [replica]}, {fields[0]: [replica, 1, 1]},
                {fields[0]: "x"}, []]
    if key == "actual_values":
        ids = [*record[key]] if isinstance(record.get(key), dict) else []
        return [{k: v} for k in [*ids[:1], *_UUIDS[:3], "x"] for v in _NUMBERS]
    if spec is None:
        return []
    if spec.kind in ("str", "text"):
        n = spec.max_len
        return [ch * size for ch in ("a", "ä", "😀", "\n", "\t", "\u202e", "\x7f")
                for size in (n - 1, n, n + 1)] + [None, 1, "", "a\x00", "a\r\n", "\u0085"]
    return _BY_KIND.get(spec.kind, [])


def _value_strategy(entity: str, key: str, record: dict[str, Any]) -> st.SearchStrategy[Any]:
    """Mostly values aimed at the field's own checks, else anything."""
    aimed = _aimed(entity, key, record)
    if not aimed:
        return _values
    return st.one_of(st.sampled_from(aimed), st.sampled_from(aimed), _values)


def test_every_aimed_value_of_every_field(corpus: tuple[Validator, Lines]) -> None:
    """Exhaustively: each field of a line of each entity set to each of its aimed values."""
    validator, lines = corpus
    for entity in ENTITY_ORDER:
        good = lines[entity]
        for line in (good[0], good[-1]):
            record = _record(line)
            for key in record:
                batch = [_line({**record, key: value}) for value in
                         _aimed(entity, key, record)]
                for start in range(0, len(batch), 3):
                    same(validator, entity, [good[1], *batch[start:start + 3]], start)


def test_every_duplicate_key(corpus: tuple[Validator, Lines]) -> None:
    """Each key of a line once more, with the same or another value, in front or at the end,
    directly or spaced before the colon, also where colons hide in texts and escapes."""
    validator, lines = corpus
    for entity in ENTITY_ORDER:
        good = lines[entity]
        record, other = _record(good[0]), _record(good[1])
        texts = [f.name for f in SPECS[entity].fields if f.kind in ("str", "text")]
        colon = _line({**record, texts[-1]: "Ziel: mehr"})
        escaped = _line({**record, texts[-1]: "Zeile\nZeile"})
        batch = []
        for key in record:
            for value in (record[key], other[key]):
                for sep in (b":", b" :", b"\t:", b"\r\n:"):
                    pair = json.dumps(key).encode() + sep + json.dumps(value).encode()
                    for base in (good[0], colon, escaped):
                        batch += [b"{" + pair + b"," + base[1:], base[:-1] + b"," + pair + b"}"]
        replica = record["origin_replica"].encode()
        batch += [good[0].replace(b'"vv":{', b'"vv":{"%s"%s1,' % (replica, sep))
                  for sep in (b":", b" :")]
        for start in range(0, len(batch), 4):
            rows, error = same(validator, entity, [good[1], *batch[start:start + 4]], start)
            assert error is not None and "doppelt" in error, error
            assert len(rows) == 1


@st.composite
def _mutated(draw: st.DrawFn, entity: str, lines: list[bytes]) -> bytes:
    """A line of the corpus, changed in one to three ways (or not at all)."""
    line = draw(st.sampled_from(lines))
    record = _record(line)
    raws: list[bytes] = []  # raw JSON texts that replace sentinel values
    mode = draw(st.sampled_from(["value", "raw", "mixed"]))
    if mode != "mixed":
        # one change only: a line broken just by it tests that very check
        if mode == "value":
            key = draw(st.sampled_from(sorted(record)))
            record[key] = draw(_value_strategy(entity, key, record))
            line = _line(record, ensure_ascii=draw(st.booleans()))
        return _raw_change(draw, line, record) if mode == "raw" else line
    for _ in range(draw(st.integers(0, 3))):
        keys = sorted(record)
        how = draw(st.sampled_from(["value", "value", "value", "raw", "delete", "extra", "vv",
                                    "stamps", "nested", "siblings"]))
        key = draw(st.sampled_from(keys)) if keys else "id"
        if how == "value":
            record[key] = draw(_value_strategy(entity, key, record))
        elif how == "raw":
            record[key] = _SENTINEL
            raws.append(draw(st.sampled_from(_RAW_VALUES)))
        elif how == "delete":
            record.pop(key, None)
        elif how == "extra":
            record[draw(st.sampled_from(["x", "siblings", "Title", "title "]))] = draw(_values)
        elif how == "vv" and isinstance(record.get("vv"), dict):
            record["vv"][draw(st.sampled_from(["zweiter-pc", record.get("origin_replica", "a"),
                                               "A", "a" * 40, "a" * 41, "-a"]))] = draw(
                st.sampled_from([1, 2, 3, 0, -1, MAX_INT, MAX_INT + 1, True, 1.0, None]))
        elif how == "stamps" and isinstance(record.get("stamps"), dict):
            record["stamps"][draw(st.sampled_from(keys))] = draw(st.sampled_from([
                [replica, counter]
                for replica in ("zweiter-pc", str(record.get("origin_replica")), "A")
                for counter in (1, 2, 0, True, 1.0, MAX_INT)] + [[], "x", None]))
        elif how == "nested" and isinstance(record.get(key), dict | list):
            container = record[key]
            if isinstance(container, dict):
                container[draw(st.sampled_from(["zweiter-pc", "x", *container]))] = draw(_values)
            else:
                container.append(draw(_values))
        elif how == "siblings":
            record["siblings"] = {draw(st.sampled_from(keys)): [
                [draw(st.sampled_from(["zweiter-pc", str(record.get("origin_replica"))])),
                 draw(st.sampled_from([1, 2])), draw(_values)]]}
    text = _line(record, ensure_ascii=draw(st.booleans()),
                 separators=draw(st.sampled_from([(",", ":"), (", ", ": "), (",", " :")])))
    for raw in raws:
        text = text.replace(b'"\\u0000SENTINEL\\u0000"', raw, 1)
    for _ in range(draw(st.integers(0, 2))):
        text = _raw_change(draw, text, record)
    return text


def _raw_change(draw: st.DrawFn, text: bytes, record: dict[str, Any]) -> bytes:
    how = draw(st.sampled_from(["duplicate", "duplicate", "spaced", "whitespace", "flip",
                                "insert", "delete", "truncate", "wrap", "escape"]))
    at = draw(st.integers(0, len(text)))
    if how == "duplicate" and record:
        key = draw(st.sampled_from(sorted(record)))
        value = json.dumps(draw(st.one_of(st.just(record[key]), _values)), ensure_ascii=False)
        # spaced, the duplicate adds no ``":``: the count alone would miss it
        pair = json.dumps(key).encode() + draw(st.sampled_from([b":", b" :", b"\t:"])) + (
            value.encode())
        if draw(st.booleans()):
            return b"{" + pair + b"," + text[1:]
        return text[:-1] + b"," + pair + b"}"
    if how == "spaced":
        return text.replace(b'":', draw(st.sampled_from([b'" :', b'"\t:', b'"\r:', b'"\n:'])),
                            draw(st.integers(1, 3)))
    if how == "whitespace":
        return text[:at] + draw(st.sampled_from(_WHITESPACE)) + text[at:]
    if how == "flip" and at < len(text):
        return text[:at] + bytes([text[at] ^ (1 << draw(st.integers(0, 7)))]) + text[at + 1:]
    if how == "insert":
        return text[:at] + draw(st.sampled_from([b'"', b"\\", b":", b",", b"}", b"{", b"\xff",
                                                 b"\\u0000", b'":', b"\x7f"])) + text[at:]
    if how == "delete" and at < len(text):
        return text[:at] + text[at + 1:]
    if how == "truncate":
        return text[:at]
    if how == "wrap":
        return draw(st.sampled_from([b"[", b"\xef\xbb\xbf", b" ", b"{}"])) + text + draw(
            st.sampled_from([b"]", b" ", b"\r", b"x", b"}", b""]))
    if how == "escape":
        # a plain character of a string spelled as a \u escape (same value, other text)
        index = text.find(b'":"', at)
        if index >= 0 and text[index + 3:index + 4].isalnum():
            char = text[index + 3:index + 4]
            return text[:index + 3] + b"\\u%04x" % ord(char) + text[index + 4:]
    return text


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.data_too_large])
@given(data=st.data())
def test_fast_equals_slow_on_mutated_batches(corpus: tuple[Validator, Lines],
                                             data: st.DataObject) -> None:
    validator, lines = corpus
    entity = data.draw(st.sampled_from(ENTITY_ORDER))
    batch = data.draw(st.lists(st.one_of(st.sampled_from(lines[entity]),
                                         _mutated(entity, lines[entity])),
                                         min_size=1, max_size=5))
    same(validator, entity, batch, data.draw(st.integers(0, 10**6)))


def test_fast_equals_slow_on_random_bytes(corpus: tuple[Validator, Lines]) -> None:
    """Every single-byte change of some valid lines (a cheap exhaustive neighbourhood)."""
    validator, lines = corpus
    rng = random.Random(5)
    for entity in ENTITY_ORDER:
        line = lines[entity][0]
        batch = []
        for at in rng.sample(range(len(line)), min(60, len(line))):
            for byte in (0x00, 0x09, 0x20, 0x22, 0x2C, 0x3A, 0x5C, 0x7F, 0xFF,
                         line[at] ^ 0x01):
                batch.append(line[:at] + bytes([byte]) + line[at + 1:])
        for start in range(0, len(batch), 7):
            same(validator, entity, batch[start:start + 7], start)


def test_whitespace_between_tokens_is_judged_alike(corpus: tuple[Validator, Lines]) -> None:
    """Any byte next to any structural character: msgspec must not accept what json refuses."""
    validator, lines = corpus
    line = lines["budget_line"][0]
    spots = [i for i, c in enumerate(line) if c in b'{}[],:'][:12]
    for at in spots:
        batch = [line[:at] + bytes([byte]) + line[at:] for byte in range(256)]
        same(validator, "budget_line", batch, 0)


def test_an_entity_the_fast_path_does_not_know_is_checked_slowly(
        corpus: tuple[Validator, Lines], slow_calls: list[int]) -> None:
    from dataclasses import replace

    from integrationsplaner.exchange.format import FieldSpec

    corpus_validator, lines = corpus
    validator = Validator.of(corpus_validator.offices, corpus_validator.areas,
                             corpus_validator.concepts)  # its field plans are cached by name
    spec = SPECS["measure"]
    odd = replace(spec, fields=tuple(FieldSpec(f.name, "json", f.nullable)
                                     if f.name == "code" else f for f in spec.fields))
    line = _with(lines["measure"][0], "code", b'["a"]')
    assert fastlines._plan_of(odd) is None
    assert fastlines.validate_lines(validator, odd, [line], 0) == staging._validate_lines(
        validator, odd, [line], 0)
    assert slow_calls == [1]


def test_check_source_compiles_for_every_entity() -> None:
    for entity in ENTITY_ORDER:
        plan = fastlines._plan_of(SPECS[entity])
        assert plan is not None and "return row" in plan.source



def test_datetime_fields_and_nullable_kinds(corpus: tuple[Validator, Lines],
                                            slow_calls: list[int]) -> None:
    """Kinds no entity has today: datetime fields (nullable or not), nullable bool and int."""
    from dataclasses import replace

    from integrationsplaner.exchange.format import FieldSpec

    corpus_validator, lines = corpus
    # a validator of its own: Validator caches its field plans by entity name
    validator = Validator.of(corpus_validator.offices, corpus_validator.areas,
                             corpus_validator.concepts)
    kinds = {"due_date": ("datetime", False), "done_on": ("datetime", True),
             "done": ("bool", True), "title": ("text", True)}
    spec = replace(SPECS["milestone"], fields=tuple(
        FieldSpec(f.name, *kinds[f.name], f.max_len) if f.name in kinds else f
        for f in SPECS["milestone"].fields))
    record = _record(lines["milestone"][0])
    good = [dict(record, due_date="2023-01-01T00:00:00", done_on=None, done=None, title=None),
            dict(record, due_date="2023-01-01T10:11:12.123456", done_on="2024-02-29T23:59:59")]
    valid = [_line(r) for r in good]
    bad = [_line(dict(good[0], due_date=value)) for value in
           (None, "2023-02-30T00:00:00", "2023-01-01", "2023-01-01T00:00", 1)]
    bad += [b'{"due_date" :"2023-01-01T00:00:00",' + valid[1][1:],
            b'{"done_on"\t:null,' + valid[1][1:]]

    def both(batch: list[bytes]) -> tuple[list[list[Any]], str | None]:
        slow, result = _outcome(staging._validate_lines, validator, spec, batch, 0)
        assert _outcome(fastlines.validate_lines, validator, spec, batch, 0)[0] == slow
        assert result is not None
        return result

    rows, error = both(valid)
    assert error is None and rows[0][8 + 2] == "2023-01-01 00:00:00.000000"
    assert rows[1][8 + 4] == "2024-02-29 23:59:59.000000" and rows[0][8 + 3] is None
    assert slow_calls == []
    for line in bad:
        rows, error = both([valid[0], line])
        assert error is not None and error.startswith("Zeile 2") and len(rows) == 1


#: SHA-256 of the slow path's rules as fastlines restates them (see the test below).
_SLOW_RULES_SHA256 = "eae67371334e1cf3b0dc0bb4da6eaf18d3d9b1f8e6664f96c8730126f7727e05"


def test_a_change_of_the_slow_rules_is_carried_into_fastlines() -> None:
    """fastlines restates the checks of ``Validator.row``: a rule tightened there but not there
    would let the fast path accept what the slow path refuses, and the equivalence tests only
    catch that if they happen to generate such a line. So any edit of the slow rules fails here
    until fastlines has been checked against it and this hash is updated."""
    import hashlib
    import inspect

    from integrationsplaner.exchange import lines

    source = "".join(inspect.getsource(f) for f in (
        lines.Validator.row, lines.Validator.value, lines._json_value, lines._valid_dot))
    assert hashlib.sha256(source.encode()).hexdigest() == _SLOW_RULES_SHA256, (
        "The checks of lines.Validator changed: carry the change into exchange/fastlines.py "
        "(or make sure it needs none), then update _SLOW_RULES_SHA256.")
