"""Strict checks of one record line of a bundle: JSON decoding without duplicate keys, NaN or
huge integers (:func:`loads_line`, :func:`strict_loads`), and every field against the bundle
format (:class:`Validator`), giving the row for the staging table.

:mod:`integrationsplaner.exchange.fastlines` restates these checks for speed (msgspec) and
hands every line it cannot prove valid to them; :mod:`~.reader` checks the file around the
lines (container, manifest, signature).
"""

from __future__ import annotations

import json
import math
import re
from datetime import datetime
from typing import Any

from integrationsplaner.domain.text import sort_key
from integrationsplaner.exchange.format import (
    KEY_RE,
    MAX_INT,
    MAX_LIST_ITEMS,
    MAX_SIBLINGS,
    MAX_VV_ENTRIES,
    META_FIELDS,
    PERIOD_RE,
    REPLICA_RE,
    UUID_RE,
    EntitySpec,
    FieldSpec,
    canonical_json,
    check_plain_text,
    db_datetime,
    escape_display,
    valid_date,
    valid_datetime,
)
from integrationsplaner.services.evaluations import evaluation_id
from integrationsplaner.services.workspace import Workspace


class _LineError(Exception):
    pass


def _strict_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        seen: set[str] = set()
        for key, _value in pairs:
            if key in seen:
                raise _LineError(f"Der Schlüssel „{key}“ kommt doppelt vor")
            seen.add(key)
    return result


def _parse_constant(text: str) -> Any:
    raise _LineError(f"„{text}“ ist keine zulässige Zahl")


# parse_int/parse_float hooks would cost a Python call per number: Python's own limit on integer
# digits refuses huge integers, and infinite floats are refused where numbers are validated.
_decoder = json.JSONDecoder(object_pairs_hook=_strict_pairs, parse_constant=_parse_constant)


#: Without the pairs hook: objects are built in C. Used first for record lines; see loads_line.
_fast_decoder = json.JSONDecoder(parse_constant=_parse_constant)
_SPACED_COLON = re.compile(r'"\s+:').search


#: A ``\\uD800``–``\\uDFFF`` escape: JSON admits it, but alone (not as a pair) it stands for no
#: character and cannot be stored as UTF-8.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]").search


def _no_lone_surrogates(record: Any) -> None:
    try:
        json.dumps(record, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        raise _LineError("Ein Text enthält ein ungültiges Zeichen (ein einzelnes "
                         "UTF-16-Surrogat wie \\ud800)") from None


def loads_line(text: str) -> Any:
    """A record line, strictly (see :func:`_decode_line`); a lone UTF-16 surrogate escape,
    which stands for no character, is refused too."""
    record = _decode_line(text)
    if _SURROGATE_ESCAPE(text) is not None:
        _no_lone_surrogates(record)
    return record


def _decode_line(text: str) -> Any:
    """Strictly, but fast: decoded without the duplicate-key hook, then the keys
    of the record and of its nested objects are counted against the ``":`` separators of the
    text. Without whitespace before a colon every key of the line ends in one such separator (a
    ``":`` inside a string value only adds to the count), so equal counts prove that no key was
    dropped as a duplicate; otherwise the line is decoded again with the strict hook, which
    names the duplicate key."""
    record = strict_loads(text, _fast_decoder)
    if type(record) is dict and _SPACED_COLON(text) is None:
        keys = len(record)
        for value in record.values():
            if type(value) is dict:
                keys += len(value)
        if keys == text.count('":'):
            return record
    return strict_loads(text)


def strict_loads(text: str, decoder: json.JSONDecoder = _decoder) -> Any:
    try:
        return decoder.decode(text)
    except RecursionError:
        raise _LineError("Die Daten sind zu tief verschachtelt") from None
    except json.JSONDecodeError as exc:
        raise _LineError(f"Kein gültiges JSON ({exc.msg}, Spalte {exc.colno})") from None
    except ValueError as exc:
        if "digits" in str(exc):
            raise _LineError("Eine ganze Zahl ist zu groß") from None
        raise _LineError(f"Ungültige Zahl ({exc})") from None



def _safe(name: str) -> str:
    return escape_display(name, 80)


_TEXT_KINDS = frozenset({"str", "text"})
_SPECIAL_TEXT = frozenset({"measure_id", "partner_id", "concept_period", "period"})
_F_LINE, _F_TEXT, _F_INT, _F_BOOL, _F_FLOAT, _F_DATE, _F_OTHER = range(7)
_META_KEYS = frozenset({*META_FIELDS, "siblings"})
_UUID_MATCH = UUID_RE.match
_REPLICA_MATCH = REPLICA_RE.match
_LINE_CONTROL = re.compile(r"[\x00-\x1f\x7f]").search
_TEXT_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]").search
_DATETIME_MATCH = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{6})?\Z").match
_fromisoformat = datetime.fromisoformat


def _sort_key(text: str) -> str:
    """domain.text.sort_key; for plain ASCII text (no decomposition, no combining marks, and
    casefold is lower) without the per-character pass."""
    if text.isascii():
        return text.lower().strip()[:200]
    return sort_key(text)


def _valid_datetime(text: str) -> bool:
    if _DATETIME_MATCH(text) is None:
        return False
    try:
        _fromisoformat(text)
    except ValueError:
        return False
    return True


class Validator:
    """Strict checks of one record line; returns the row for the staging table."""

    def __init__(self, ws: Workspace | None) -> None:
        if ws is not None:
            ref = ws.reference
            self.offices = frozenset(ref.office_keys())
            self.areas = frozenset(a.number for a in ref.action_areas)
            self.concepts = frozenset(c.key for c in ref.concept_periods)
        self._plans: dict[str, tuple[tuple[str, int, int, FieldSpec], ...]] = {}
        self._dates: set[str] = set()  # caches of values already found valid
        self._datetimes: dict[str, str] = {}
        self._users: set[str] = set()

    @classmethod
    def of(cls, offices: frozenset[str], areas: frozenset[int],
           concepts: frozenset[str]) -> Validator:
        """A validator from the reference data alone (in a worker process)."""
        validator = cls(None)
        validator.offices, validator.areas, validator.concepts = offices, areas, concepts
        return validator

    def _plan_of(self, spec: EntitySpec) -> tuple[tuple[str, int, int, FieldSpec], ...]:
        """Per entity once: each field's name, a fast-path code, its length limit and spec."""
        plan = self._plans.get(spec.name)
        if plan is None:
            items = []
            for f in spec.fields:
                if f.kind in _TEXT_KINDS and f.name not in _SPECIAL_TEXT:
                    code = _F_TEXT if f.kind == "text" else _F_LINE
                elif f.kind == "int" and f.name != "action_area":
                    code = _F_INT
                elif f.kind == "bool":
                    code = _F_BOOL
                elif f.kind == "float":
                    code = _F_FLOAT
                elif f.kind == "date":
                    code = _F_DATE
                else:
                    code = _F_OTHER
                items.append((f.name, code, f.max_len, f))
            plan = self._plans[spec.name] = tuple(items)
        return plan

    def row(self, spec: EntitySpec, record: Any) -> tuple[list[Any], str | None]:
        if type(record) is not dict:
            raise _LineError("Die Zeile ist kein Datensatz (JSON-Objekt erwartet)")
        fields = spec.fields
        siblings = record.get("siblings")
        expected = len(META_FIELDS) + len(fields) + (1 if "siblings" in record else 0)
        if len(record) != expected or not spec.field_set.issuperset(record.keys() - _META_KEYS):
            known = set(META_FIELDS) | {f.name for f in fields} | {"siblings"}
            unknown = sorted(set(record) - known)
            missing = sorted(known - set(record) - {"siblings"})
            if unknown:
                raise _LineError(f"Unbekanntes Feld „{_safe(unknown[0])}“")
            raise _LineError(f"Das Feld „{missing[0]}“ fehlt")
        rid = record["id"]
        if type(rid) is not str or not _UUID_MATCH(rid):
            raise _LineError(f"„{_safe(str(rid))}“ ist keine gültige Datensatz-ID (UUID)")
        office = record["office_key"]
        if type(office) is not str or office not in self.offices:
            raise _LineError(f"Unbekannte Dienststelle „{_safe(str(office))}“")
        vv = record["vv"]
        if type(vv) is not dict or not vv or len(vv) > MAX_VV_ENTRIES:
            raise _LineError("Der Versionsvektor „vv“ ist ungültig")
        for key, value in vv.items():
            if not _REPLICA_MATCH(key) or type(value) is not int or not 1 <= value <= MAX_INT:
                raise _LineError("Der Versionsvektor „vv“ ist ungültig")
        origin = record["origin_replica"]
        if type(origin) is not str or vv.get(origin, 0) < 1:
            raise _LineError("„origin_replica“ fehlt im Versionsvektor")
        stamps = record["stamps"]
        if type(stamps) is not dict:
            raise _LineError("„stamps“ ist ungültig")
        names = spec.field_set
        for key, dot in stamps.items():
            if key not in names or not _valid_dot(dot, vv):
                raise _LineError(f"Der Stempel des Felds „{_safe(key)}“ ist ungültig")
        # the stored texts of vv and stamps, exactly as canonical_json writes them (keys and
        # replica ids are validated above, so nothing in them needs escaping)
        if len(vv) == 1:
            ((k, v),) = vv.items()
            vv_text = f'{{"{k}": {v}}}'
        else:
            vv_text = "{" + ", ".join(f'"{k}": {v}' for k, v in sorted(vv.items())) + "}"
        stamps_text = "{" + ", ".join(f'"{k}": ["{d[0]}", {d[1]}]'
                                      for k, d in sorted(stamps.items())) + "}"
        values: list[Any] = [rid, office, origin, vv_text, stamps_text]
        stored = self._datetimes
        for key in ("created_at", "updated_at"):
            value = record[key]
            text = stored.get(value) if type(value) is str else None
            if text is None:
                if type(value) is not str or not _valid_datetime(value):
                    raise _LineError(f"„{key}“ ist kein gültiger Zeitpunkt")
                text = value[:19].replace("T", " ") + (value[19:] if len(value) > 19
                                                       else ".000000")
                if len(stored) < 100_000:
                    stored[value] = text
            values.append(text)
        by = record["updated_by"]
        if type(by) is not str or by not in self._users:
            if type(by) is not str or len(by) > 200 or _LINE_CONTROL(by) is not None:
                raise _LineError("„updated_by“ ist ungültig")
            if len(self._users) < 10_000:
                self._users.add(by)
        values.append(by)
        append = values.append
        dates = self._dates
        for name, code, max_len, f in self._plan_of(spec):
            value = record[name]
            # the common cases inline; everything else (and every error) through value()
            tv = type(value)
            if code == _F_LINE:
                if tv is str and len(value) <= max_len and _LINE_CONTROL(value) is None:
                    append(value)
                    continue
            elif code == _F_TEXT:
                if tv is str and len(value) <= max_len and _TEXT_CONTROL(value) is None:
                    append(value)
                    continue
            elif code == _F_INT:
                if tv is int and -MAX_INT <= value <= MAX_INT:
                    append(value)
                    continue
            elif code == _F_BOOL:
                if tv is bool:
                    append(1 if value else 0)
                    continue
            elif code == _F_FLOAT:
                if tv is float and math.isfinite(value):
                    append(value)
                    continue
            elif code == _F_DATE:
                if tv is str and value in dates:
                    append(value)
                    continue
                if tv is str and valid_date(value) and len(dates) < 100_000:
                    dates.add(value)
            if value is None and f.nullable:
                append(None)
                continue
            append(self.value(f, value, spec.name))
        if spec.name == "measure":
            values.append(_sort_key(record["title"]))
        elif spec.name == "partner":
            values.append(_sort_key(record["name"]))
        if spec.name == "evaluation" and rid != evaluation_id(record["measure_id"],
                                                             record["period"]):
            raise _LineError("Die ID der Bewertung passt nicht zu Maßnahme und Zeitraum")
        sib_text = None
        if siblings is not None:
            if not isinstance(siblings, dict):
                raise _LineError("„siblings“ ist ungültig")
            by_name = {f.name: f for f in fields}
            clean: dict[str, list[list[Any]]] = {}
            for key, items in siblings.items():
                if key not in by_name or not isinstance(items, list) or not (
                        0 < len(items) <= MAX_SIBLINGS):
                    raise _LineError("„siblings“ ist ungültig")
                out = []
                # a sibling is another write than the field's own, each one once
                seen = {tuple(stamps.get(key) or (origin, 1))}
                for item in items:
                    if not isinstance(item, list) or len(item) != 3 or not _valid_dot(
                            item[:2], vv) or (item[0], item[1]) in seen:
                        raise _LineError("„siblings“ ist ungültig")
                    seen.add((item[0], item[1]))
                    if key == "deleted":
                        # markers (None: merge.EDITED) and deletions only beside a deletion
                        # shown (a deletion always wins), as a merge leaves them
                        if item[2] is not False and record["deleted"] is not True:
                            raise _LineError("„siblings“ ist ungültig")
                        if item[2] is not None:
                            self.value(by_name[key], item[2], spec.name)
                    else:
                        self.value(by_name[key], item[2], spec.name)
                    out.append([item[0], item[1], item[2]])
                clean[key] = out
            sib_text = canonical_json(clean) if clean else None
        return values, sib_text

    def value(self, f: FieldSpec, value: Any, entity: str) -> Any:
        name = f.name
        if value is None:
            if f.nullable:
                return None
            raise _LineError(f"Das Feld „{name}“ darf nicht leer (null) sein")
        kind = f.kind
        if kind in ("str", "text"):
            if not isinstance(value, str):
                raise _LineError(f"Das Feld „{name}“ muss Text sein")
            if len(value) > f.max_len:
                raise _LineError(f"Das Feld „{name}“ ist zu lang ({len(value):,} Zeichen, "
                                 f"höchstens {f.max_len:,})".replace(",", "."))
            if not check_plain_text(value, kind == "text"):
                raise _LineError(f"Das Feld „{name}“ enthält Steuerzeichen")
            if name in ("measure_id", "partner_id") and not UUID_RE.match(value):
                raise _LineError(f"„{name}“ ist keine gültige Datensatz-ID (UUID)")
            if name == "concept_period" and value not in self.concepts:
                raise _LineError(f"Unbekannter Konzeptzeitraum „{_safe(value)}“")
            if name == "period" and not PERIOD_RE.match(value):
                raise _LineError(f"„{_safe(value)}“ ist kein gültiger Zeitraum (z. B. 2019-H1)")
            return value
        if kind == "int":
            if not isinstance(value, int) or isinstance(value, bool):
                raise _LineError(f"Das Feld „{name}“ muss eine ganze Zahl sein")
            if not -MAX_INT <= value <= MAX_INT:
                raise _LineError(f"Die Zahl im Feld „{name}“ ist zu groß")
            if name == "action_area" and value not in self.areas:
                raise _LineError(f"Unbekanntes Handlungsfeld {value}")
            return value
        if kind == "float":
            if not isinstance(value, int | float) or isinstance(value, bool):
                raise _LineError(f"Das Feld „{name}“ muss eine Zahl sein")
            if isinstance(value, int) and not -MAX_INT <= value <= MAX_INT:
                raise _LineError(f"Die Zahl im Feld „{name}“ ist zu groß")
            if not math.isfinite(value):
                raise _LineError(f"Die Zahl im Feld „{name}“ ist unendlich groß")
            return float(value)
        if kind == "bool":
            if not isinstance(value, bool):
                raise _LineError(f"Das Feld „{name}“ muss true oder false sein")
            return 1 if value else 0
        if kind == "date":
            if not isinstance(value, str) or not valid_date(value):
                raise _LineError(f"Das Feld „{name}“ enthält kein gültiges Datum "
                                 f"(„{_safe(str(value))}“)")
            return value
        if kind == "datetime":
            if not isinstance(value, str) or not valid_datetime(value):
                raise _LineError(f"Das Feld „{name}“ enthält keinen gültigen Zeitpunkt")
            return db_datetime(value)
        if kind == "json":
            return canonical_json(_json_value(name, value))
        raise _LineError(f"Das Feld „{name}“ hat einen unbekannten Typ")  # pragma: no cover


def _valid_dot(dot: Any, vv: dict[str, int]) -> bool:
    return (isinstance(dot, list) and len(dot) == 2 and isinstance(dot[0], str)
            and REPLICA_RE.match(dot[0]) is not None and isinstance(dot[1], int)
            and not isinstance(dot[1], bool) and 1 <= dot[1] <= vv.get(dot[0], 0))


def _json_value(name: str, value: Any) -> Any:
    if name == "actual_values":
        if not isinstance(value, dict) or len(value) > MAX_LIST_ITEMS:
            raise _LineError("„actual_values“ muss eine Zuordnung Kennzahl → Wert sein")
        for key, number in value.items():
            if not UUID_RE.match(key):
                raise _LineError("„actual_values“ enthält eine ungültige Kennzahl-ID")
            if number is not None and (not isinstance(number, int | float)
                                       or isinstance(number, bool)
                                       or (isinstance(number, int) and abs(number) > MAX_INT)
                                       or not math.isfinite(number)):
                raise _LineError("„actual_values“ enthält einen ungültigen Wert")
        return value
    if not isinstance(value, list) or len(value) > MAX_LIST_ITEMS:
        raise _LineError(f"Das Feld „{name}“ muss eine Liste sein")
    if name == "action_areas":
        if not all(isinstance(v, int) and not isinstance(v, bool) and 1 <= v <= 5 for v in value):
            raise _LineError("„action_areas“ darf nur Handlungsfelder 1 bis 5 enthalten")
    elif not all(isinstance(v, str) and KEY_RE.match(v) for v in value):
        raise _LineError(f"Das Feld „{name}“ enthält ungültige Schlüssel")
    return value
