"""A fast path of the record-line checks of the import, with exactly the results of the slow one.

:func:`validate_lines` has the contract of ``staging._validate_lines``: the staged rows of
complete lines numbered from ``line_no + 1``, and the error of the first bad line (the rows
before it are still returned). Per entity a :mod:`msgspec` Struct type, built from
:data:`~integrationsplaner.exchange.format.SPECS` at first use, decodes a line's bytes directly
and checks in C what it can: the JSON syntax (no NaN/Infinity, no raw control characters in
strings, valid UTF-8, no lone surrogate escapes), exactly the known fields (none unknown, none
missing), every value's type (bool is not int, an int is accepted and converted for float),
string lengths (in code points, as ``len``), integer ranges and list/dict sizes. The rest runs
afterwards in a function generated per entity (unrolled over its fields, see
:func:`_check_source`): duplicate keys, the patterns of ids, replica ids, periods and keys
(msgspec's ``pattern`` calls ``re`` per value, slower than a cache of values found valid), the
reference data (offices, action areas, concept periods), version vector against stamps, dates
and datetimes, control characters behind escapes, float magnitudes, the evaluation id rule, and
the stored texts (vv, stamps, JSON columns, datetimes, sort keys, bool as 1/0).

The fast path only ever accepts what the slow path accepts, with the same row. Any line it
cannot prove valid (msgspec refuses it, a check after decoding fails, or anything unusual such
as ``siblings``) goes through the slow path (``loads_line`` and ``Validator.row``) alone, so
every error message is the slow path's own.

Duplicate keys: msgspec keeps the last value of a repeated key silently. The Struct admits
objects only at the top and in vv, stamps and actual_values, and every field is required, so
the decoded record has exactly ``keys`` distinct keys (fields plus the entries of those three).
Each occurrence of a key in the text is followed by exactly one colon, and a string may hold
more colons, so the text has at least ``keys`` colons, and exactly that many plus the colons in
strings only if no key occurs twice. Two proofs follow:

- the common, cheaper one: in a line without a backslash every string is in the text as
  decoded, so each datetime the line is accepted with holds exactly two colons; if the line
  has no more colons than ``keys`` plus those, none is left for a repeated key;
- otherwise: every key of the text ends in a quote; where no whitespace stands between that
  quote and the colon, each key adds one ``":`` to the text (a string value may add more, never
  less), so ``count('":') == keys`` proves that no key occurs twice, once a regular expression
  has excluded whitespace before a colon.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta

from integrationsplaner.exchange.format import (
    KEY_RE,
    MAX_INT,
    MAX_LINE_BYTES,
    MAX_LIST_ITEMS,
    MAX_VV_ENTRIES,
    META_FIELDS,
    PERIOD_RE,
    REPLICA_RE,
    UUID_RE,
    EntitySpec,
    FieldSpec,
    db_datetime,
    valid_date,
    valid_datetime,
)
from integrationsplaner.exchange.lines import (
    _LINE_CONTROL,
    _TEXT_CONTROL,
    Validator,
    _sort_key,
    _valid_datetime,
)
from integrationsplaner.services.evaluations import evaluation_id

Rows = tuple[list[list[Any]], str | None]

#: A colon after whitespace behind a closing quote: then ``":`` no longer ends every key.
_SPACED_COLON = re.compile(rb'"[ \t\r\n]+:').search

# Patterns are matched after decoding, with caches of values found valid: msgspec calls ``re``
# for each value, which costs more than the whole Struct.
_VV = Annotated[dict[str, Annotated[int, Meta(ge=1, le=MAX_INT)]],
                Meta(min_length=1, max_length=MAX_VV_ENTRIES)]
_INT = Annotated[int, Meta(ge=-MAX_INT, le=MAX_INT)]

#: Types of the JSON columns the fast path knows (any other JSON column: slow path).
_JSON_TYPES: dict[str, Any] = {
    "target_groups": Annotated[list[str], Meta(max_length=MAX_LIST_ITEMS)],
    "municipalities": Annotated[list[str], Meta(max_length=MAX_LIST_ITEMS)],
    "offices": Annotated[list[str], Meta(max_length=MAX_LIST_ITEMS)],
    "action_areas": Annotated[list[Annotated[int, Meta(ge=1, le=5)]],
                              Meta(max_length=MAX_LIST_ITEMS)],
    # int and float kept apart: canonical_json writes 1 and 1.0 differently
    "actual_values": Annotated[dict[str, int | float | None],
                               Meta(max_length=MAX_LIST_ITEMS)],
}

_UUID_MATCH = UUID_RE.match
_REPLICA_MATCH = REPLICA_RE.match
_KEY_MATCH = KEY_RE.match
_PERIOD_MATCH = PERIOD_RE.match

#: Caches of values already found valid (shared by all entities; datetime → stored text),
#: emptied when full.
_UUIDS: set[str] = set()
_REPLICAS: set[str] = set()
_KEYS: set[str] = set()
_PERIODS: set[str] = set()
_DATES: set[str] = set()
_DATETIMES: dict[str, str] = {}
_CACHE_LIMIT = 100_000


@dataclass(frozen=True)
class _Plan:
    """Per entity: the decoder of its Struct, and the generated function with the checks after
    decoding (``check(raw, row, offices, areas, concepts, pairs)``; see :func:`_check_source`)."""

    decode: Callable[[bytes], Any]
    check: Callable[..., list[Any] | None]
    source: str


_PLANS: dict[EntitySpec, _Plan | None] = {}
_META = ("id", "office_key", "origin_replica", "vv", "stamps", "created_at", "updated_at",
         "updated_by")


def _plan_of(spec: EntitySpec) -> _Plan | None:
    """The plan of an entity, built once; None when the fast path does not know the entity."""
    try:
        return _PLANS[spec]
    except KeyError:
        pass
    plan = _PLANS[spec] = _build_plan(spec)
    return plan


def _field_type(f: FieldSpec) -> Any:
    """The msgspec type of a data field; None for a field the fast path does not know."""
    kind = f.kind
    if kind in ("str", "text"):
        typ: Any = Annotated[str, Meta(max_length=f.max_len)]
    elif kind == "int":
        typ = _INT
    elif kind == "float":
        typ = float  # an int is converted; magnitudes are checked after decoding
    elif kind == "bool":
        typ = bool
    elif kind in ("date", "datetime"):
        typ = str
    elif kind == "json" and f.name in _JSON_TYPES:
        typ = _JSON_TYPES[f.name]
    else:
        return None
    return typ | None if f.nullable else typ


def _build_plan(spec: EntitySpec) -> _Plan | None:
    if META_FIELDS != _META:
        return None  # pragma: no cover - the rows below are built for these meta fields
    stamp_keys: Any = Literal[tuple(spec.field_names)]  # type: ignore[valid-type]
    fields: list[tuple[str, Any]] = [
        ("id", Annotated[str, Meta(max_length=36)]),
        ("office_key", str),
        ("origin_replica", str),
        ("vv", _VV),
        ("stamps", dict[stamp_keys, tuple[str, int]]),
        ("created_at", str),
        ("updated_at", str),
        ("updated_by", Annotated[str, Meta(max_length=200)]),
    ]
    for f in spec.fields:
        typ = _field_type(f)
        if typ is None:
            return None
        fields.append((f.name, typ))
    struct = msgspec.defstruct(f"Fast_{spec.name}", fields, forbid_unknown_fields=True,
                               gc=False)
    source = _check_source(spec)
    namespace = dict(_CHECK_GLOBALS)
    exec(compile(source, f"<fastlines {spec.name}>", "exec"), namespace)
    return _Plan(msgspec.json.Decoder(struct).decode, namespace["check"], source)


def _check_source(spec: EntitySpec) -> str:
    """The source of an entity's checks after decoding, unrolled over its fields.

    ``row`` holds the Struct's values in the order of ``META_FIELDS`` and then ``spec.fields``;
    the function returns it with the stored values (vv and stamps as text, bool as 1/0, ...),
    or None when the line is not proven valid (then the slow path decides). It adds the pair
    (office, replica) of each vv entry to ``pairs`` (a line the slow path then accepts has the
    same ones)."""
    offset = len(META_FIELDS)
    pos = {f.name: offset + i for i, f in enumerate(spec.fields)}
    keys = f"{offset + len(spec.fields)} + len(vv) + len(stamps)"
    controls = ["LINE_CONTROL(row[7]) is not None"]
    colons = ["4"]  # the two of created_at and of updated_at
    body: list[str] = []
    for f in spec.fields:
        p, name, kind = pos[f.name], f.name, f.kind
        guard = f"row[{p}] is not None and " if f.nullable else ""
        if kind in ("str", "text"):
            control = "LINE_CONTROL" if kind == "str" else "TEXT_CONTROL"
            controls.append(f"({guard}{control}(row[{p}]) is not None)")
        if kind == "datetime":
            colons.append(f"(2 if row[{p}] is not None else 0)" if f.nullable else "2")
        if name == "actual_values":
            keys += f" + len(row[{p}] or ())"
        # each check on ``v``, the value (None only where the field is nullable)
        checks: list[str] = []
        if name in ("measure_id", "partner_id"):
            checks = ["if v not in UUIDS and not remember(UUIDS, UUID_MATCH, v):",
                      "    return None"]
        elif name == "period":
            checks = ["if v not in PERIODS and not remember(PERIODS, PERIOD_MATCH, v):",
                      "    return None"]
        elif name == "concept_period":
            checks = ["if v not in concepts:", "    return None"]
        elif name == "action_area":
            checks = ["if v not in areas:", "    return None"]
        elif kind == "float":
            # beyond 2**53 an integer may have been rounded into range (NaN fails too)
            checks = ["if not -MAX_INT < v < MAX_INT:", "    return None"]
        elif kind == "bool":
            checks = [f"row[{p}] = 1 if v else 0"]
        elif kind == "date":
            checks = ["if v not in DATES and not remember(DATES, valid_date, v):",
                      "    return None"]
        elif kind == "datetime":
            checks = ["if not valid_datetime(v):", "    return None",
                      f"row[{p}] = db_datetime(v)"]
        elif name == "action_areas":
            checks = [f"row[{p}] = int_list_text(v)"]
        elif kind == "json" and name != "actual_values":
            checks = ["for k in v:",
                      "    if k not in KEYS and not remember(KEYS, KEY_MATCH, k):",
                      "        return None",
                      f"row[{p}] = key_list_text(v)"]
        elif name == "actual_values":
            checks = ["for k, n in v.items():",
                      "    if k not in UUIDS and not remember(UUIDS, UUID_MATCH, k):",
                      "        return None",
                      "    if type(n) is int and not -MAX_INT <= n <= MAX_INT:",
                      "        return None",
                      f"row[{p}] = number_map_text(v)"]
        if checks:
            body.append(f"v = row[{p}]  # {name}")
            if f.nullable:
                body.append("if v is not None:")
                checks = ["    " + line for line in checks]
            body.extend(checks)
    if spec.name == "measure":
        body.append(f"row.append(sort_key(row[{pos['title']}]))")
    elif spec.name == "partner":
        body.append(f"row.append(sort_key(row[{pos['name']}]))")
    # an evaluation's id must equal evaluation_id(), always a valid UUID: no pattern needed
    id_check = "UUID_MATCH(rid) is None or "
    if spec.name == "evaluation":
        body += [f"if rid != evaluation_id(row[{pos['measure_id']}], row[{pos['period']}]):",
                 "    return None"]
        id_check = ""
    head = f"""\
def check(raw, row, offices, areas, concepts, pairs):
    vv = row[3]
    stamps = row[4]
    keys = {keys}
    # duplicate keys (msgspec keeps the last one silently): see the module docstring
    escaped = 92 in raw
    if escaped or raw.count(58) != keys + {" + ".join(colons)}:
        if raw.count(b'":') != keys or SPACED_COLON(raw) is not None:
            return None
    if (escaped or 127 in raw) and ({" or ".join(controls)}):
        return None
    rid = row[0]
    if {id_check}row[1] not in offices or row[2] not in vv:
        return None
    office = row[1]
    for k in vv:
        if k not in REPLICAS and not remember(REPLICAS, REPLICA_MATCH, k):
            return None
        pairs.add((office, k))
    if stamps:
        for replica, counter in stamps.values():
            if not 1 <= counter <= vv.get(replica, 0):
                return None
        row[4] = stamps_text(stamps)
    else:
        row[4] = "{{}}"
    row[3] = vv_text(vv)
    text = DATETIMES.get(row[5])
    if text is None:
        text = meta_datetime(row[5])
        if text is None:
            return None
    row[5] = text
    text = DATETIMES.get(row[6])
    if text is None:
        text = meta_datetime(row[6])
        if text is None:
            return None
    row[6] = text
"""
    return head + "".join(f"    {line}\n" for line in body) + "    return row\n"


def _remember(cache: set[str], test: Callable[[str], Any], value: str) -> bool:
    """Whether ``value`` passes ``test``; a valid value is remembered in ``cache``."""
    if not test(value):
        return False
    if len(cache) >= _CACHE_LIMIT:
        cache.clear()
    cache.add(value)
    return True


def _meta_datetime(value: str) -> str | None:
    """The stored text of ``created_at``/``updated_at`` as Validator.row writes it (remembered);
    None if the value is no valid datetime."""
    if not _valid_datetime(value):
        return None
    text = value[:19].replace("T", " ") + (value[19:] if len(value) > 19 else ".000000")
    if len(_DATETIMES) >= _CACHE_LIMIT:
        _DATETIMES.clear()
    _DATETIMES[value] = text
    return text


def _vv_text(vv: dict[str, int]) -> str:
    """As Validator.row writes it (replica ids are validated: nothing to escape)."""
    if len(vv) == 1:
        for k, v in vv.items():
            return f'{{"{k}": {v}}}'
    return "{" + ", ".join(f'"{k}": {v}' for k, v in sorted(vv.items())) + "}"


def _stamps_text(stamps: dict[str, tuple[str, int]]) -> str:
    return "{" + ", ".join(f'"{k}": ["{d[0]}", {d[1]}]' for k, d in sorted(stamps.items())) + "}"


def _key_list_text(keys: list[str]) -> str:
    """canonical_json of a list of keys ([a-z0-9-] only: nothing to escape)."""
    return '["' + '", "'.join(keys) + '"]' if keys else "[]"


def _int_list_text(numbers: list[int]) -> str:
    """canonical_json of a list of ints."""
    return "[" + ", ".join(map(str, numbers)) + "]"


def _number_map_text(numbers: dict[str, int | float | None]) -> str:
    """canonical_json of ``actual_values``: sorted keys (UUIDs: nothing to escape), numbers
    written by repr as the json module does, None as null."""
    parts = []
    for k in sorted(numbers):
        n = numbers[k]
        parts.append(f'"{k}": {"null" if n is None else repr(n)}')
    return "{" + ", ".join(parts) + "}"


_CHECK_GLOBALS: dict[str, Any] = {
    "LINE_CONTROL": _LINE_CONTROL, "TEXT_CONTROL": _TEXT_CONTROL,
    "SPACED_COLON": _SPACED_COLON, "MAX_INT": MAX_INT,
    "UUID_MATCH": _UUID_MATCH, "REPLICA_MATCH": _REPLICA_MATCH, "KEY_MATCH": _KEY_MATCH,
    "PERIOD_MATCH": _PERIOD_MATCH,
    "UUIDS": _UUIDS, "REPLICAS": _REPLICAS, "KEYS": _KEYS, "PERIODS": _PERIODS,
    "DATES": _DATES, "DATETIMES": _DATETIMES,
    "remember": _remember, "meta_datetime": _meta_datetime, "valid_date": valid_date,
    "valid_datetime": valid_datetime, "db_datetime": db_datetime, "sort_key": _sort_key,
    "evaluation_id": evaluation_id, "vv_text": _vv_text, "stamps_text": _stamps_text,
    "key_list_text": _key_list_text, "int_list_text": _int_list_text,
    "number_map_text": _number_map_text,
}


def validate_lines(validator: Validator, spec: EntitySpec, lines: list[bytes], line_no: int,
                   pairs: set[tuple[str, str]] | None = None) -> Rows:
    """Strict checks of complete lines, numbered from ``line_no + 1``: the staged rows, and the
    error of the first bad line (the rows before it are still returned). The same results as
    ``staging._validate_lines``, faster.

    ``pairs`` collects (office, replica) of every vv entry of the rows (planning's ownership
    check needs them; collected here they cost no scan of the staged rows)."""
    if pairs is None:
        pairs = set()
    plan = _plan_of(spec)
    if plan is None:
        return _slow(validator, spec, lines, line_no, pairs)
    decode, check = plan.decode, plan.check
    offices, areas, concepts = validator.offices, validator.areas, validator.concepts
    astuple = msgspec.structs.astuple
    rows: list[list[Any]] = []
    for raw in lines:
        line_no += 1
        row = None
        if len(raw) <= MAX_LINE_BYTES:
            try:
                record = decode(raw)
            except Exception:  # any refusal (syntax, type, UTF-8, a huge number): slow path
                pass
            else:
                row = check(raw, list(astuple(record)), offices, areas, concepts, pairs)
        if row is None:
            more, error = _slow(validator, spec, [raw], line_no - 1, pairs)
            rows += more
            if error is not None:
                return rows, error
            continue
        row.append(None)  # siblings: a line with siblings never takes the fast path
        row.append(line_no)
        rows.append(row)
    return rows, None


def _slow(validator: Validator, spec: EntitySpec, lines: list[bytes], line_no: int,
          pairs: set[tuple[str, str]]) -> Rows:
    from integrationsplaner.exchange import staging  # staging may import this module

    rows, error = staging._validate_lines(validator, spec, lines, line_no)
    for row in rows:  # office_key, vv (stored text of a validated version vector)
        pairs.update((row[1], replica) for replica in json.loads(row[3]))
    return rows, error
