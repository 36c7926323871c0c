"""The bundle format: names, limits, field specifications and value conversion.

A bundle (``*.ipbundle``) is a zip file with a fixed whitelist of entries: ``manifest.json``,
``manifest.sig`` and one JSON-lines file per entity under ``records/``. Every record line carries
identity, ownership, version metadata and all data fields of the record. ``docs/bundle-format.md``
describes it for people who write their own tools; this module is the executable version.
"""

from __future__ import annotations

import json
import math
import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime
from functools import cached_property
from typing import Any

from sqlalchemy import JSON, Boolean, Date, DateTime, Float, Integer, String, Text

from integrationsplaner.store.models import ENTITY_NAMES, SYNCED_MODELS, Synced, data_fields

FORMAT_NAME = "integrationsplaner-buendel"
FORMAT_VERSION = 1
EXTENSION = ".ipbundle"
KEY_FILE_FORMAT = "integrationsplaner-schluessel"
KEY_EXTENSION = ".ipkey"

MANIFEST = "manifest.json"
SIGNATURE = "manifest.sig"

# --- limits (a bundle beyond any of them is refused before anything is read in full) ---------
MAX_BUNDLE_BYTES = 2 * 1024**3  # the file on disk
MAX_ENTRIES = 16  # entries in the zip's central directory
MAX_MANIFEST_BYTES = 1024**2
MAX_ENTRY_BYTES = 8 * 1024**3  # uncompressed size of one records entry
MAX_TOTAL_BYTES = 16 * 1024**3  # uncompressed size of all entries together
MAX_RATIO = 200  # uncompressed / compressed size of an entry (JSON lines reach 10 to 40)
MAX_LINE_BYTES = 16 * 1024**2  # one record line
MAX_TEXT_CHARS = 20_000  # a free-text field (description, results, notes ...)
MAX_LIST_ITEMS = 200
MAX_INT_DIGITS = 18
MAX_INT = 2**53  # integers beyond this are not exact in every JSON reader
MAX_VV_ENTRIES = 1000
MAX_SIBLINGS = 50

UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\Z")
REPLICA_RE = re.compile(r"^[0-9a-z][0-9a-z_-]{0,39}\Z")
KEY_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}\Z")
# [0-9], not \d: \d matches every Unicode digit ("٢٠١٩-H1" would pass as a period)
DATE_RE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}\Z")
DATETIME_RE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{6})?\Z")
PERIOD_RE = re.compile(r"^[0-9]{4}-H[12]\Z")
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_CONTROL_LINE_RE = re.compile(r"[\x00-\x1f\x7f]")

ENTITY_BY_NAME: dict[str, type[Synced]] = {name: model for model, name in ENTITY_NAMES.items()}
TABLE_OF: dict[str, str] = {
    name: model.__table__.name for model, name in ENTITY_NAMES.items()  # type: ignore[attr-defined]
}
ENTRY_OF: dict[str, str] = {name: f"records/{TABLE_OF[name]}.jsonl" for name in ENTITY_BY_NAME}
ENTITY_OF_ENTRY: dict[str, str] = {entry: name for name, entry in ENTRY_OF.items()}
ENTITY_ORDER: tuple[str, ...] = tuple(ENTITY_NAMES[m] for m in SYNCED_MODELS)
WHITELIST = frozenset({MANIFEST, SIGNATURE, *ENTRY_OF.values()})

#: Local columns that never travel: derived sort keys and the integer full-text row key.
LOCAL_ONLY = frozenset({"seq", "title_sort", "name_sort"})
META_FIELDS = ("id", "office_key", "origin_replica", "vv", "stamps", "created_at", "updated_at",
               "updated_by")

#: Element types of the JSON columns.
JSON_SHAPES: dict[str, str] = {
    "target_groups": "list[str]",
    "municipalities": "list[str]",
    "action_areas": "list[int]",
    "offices": "list[str]",
    "actual_values": "dict[uuid,float?]",
}
#: Columns that reference another synchronised record: (entity referenced).
REFERENCES: dict[str, dict[str, str]] = {
    "contact_person": {"partner_id": "partner"},
    "indicator": {"measure_id": "measure"},
    "budget_line": {"measure_id": "measure"},
    "milestone": {"measure_id": "measure"},
    "measure_partner": {"measure_id": "measure", "partner_id": "partner"},
    "evaluation": {"measure_id": "measure"},
}
#: The parent whose office owns a child record.
OWNER_PARENT: dict[str, tuple[str, str]] = {
    "contact_person": ("partner_id", "partner"),
    "indicator": ("measure_id", "measure"),
    "budget_line": ("measure_id", "measure"),
    "milestone": ("measure_id", "measure"),
    "measure_partner": ("measure_id", "measure"),
    "evaluation": ("measure_id", "measure"),
}
#: A human label of a record in the preview.
LABEL_FIELDS: dict[str, tuple[str, ...]] = {
    "partner": ("name",),
    "contact_person": ("name",),
    "measure": ("code", "title"),
    "indicator": ("name",),
    "budget_line": ("year", "category"),
    "milestone": ("title",),
    "measure_partner": ("role",),
    "evaluation": ("period",),
}
ENTITY_LABELS: dict[str, str] = {
    "partner": "Partner",
    "contact_person": "Ansprechperson",
    "measure": "Maßnahme",
    "indicator": "Kennzahl",
    "budget_line": "Haushaltsposition",
    "milestone": "Meilenstein",
    "measure_partner": "Beteiligung",
    "evaluation": "Bewertung",
}


@dataclass(frozen=True)
class FieldSpec:
    name: str
    kind: str  # str | text | int | float | bool | date | json
    nullable: bool
    max_len: int = 0


@dataclass(frozen=True)
class EntitySpec:
    name: str
    table: str
    fields: tuple[FieldSpec, ...]  # exchanged data fields, ``deleted`` included

    @cached_property
    def field_names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields)

    @cached_property
    def field_set(self) -> frozenset[str]:
        return frozenset(self.field_names)

    @property
    def derived(self) -> tuple[str, ...]:
        return ("title_sort",) if self.name == "measure" else (
            ("name_sort",) if self.name == "partner" else ())

    @cached_property
    def columns(self) -> tuple[str, ...]:
        """Every stored column written by an import (the measures' ``seq`` is assigned)."""
        return (*META_FIELDS, *self.field_names, *self.derived)


def _spec_of(model: type[Synced]) -> EntitySpec:
    table = model.__table__  # type: ignore[attr-defined]
    fields = []
    for name in data_fields(model):
        if name in LOCAL_ONLY:
            continue
        column = table.columns[name]
        ctype = column.type
        if isinstance(ctype, Boolean):
            kind, max_len = "bool", 0
        elif isinstance(ctype, DateTime):
            kind, max_len = "datetime", 0
        elif isinstance(ctype, Date):
            kind, max_len = "date", 0
        elif isinstance(ctype, Integer):
            kind, max_len = "int", 0
        elif isinstance(ctype, Float):
            kind, max_len = "float", 0
        elif isinstance(ctype, JSON):
            kind, max_len = "json", 0
        elif isinstance(ctype, Text):
            kind, max_len = "text", MAX_TEXT_CHARS
        elif isinstance(ctype, String):
            kind, max_len = "str", int(ctype.length or 200)
        else:  # pragma: no cover - a new column type needs a decision here
            raise TypeError(f"no bundle kind for {model.__name__}.{name}: {ctype!r}")
        fields.append(FieldSpec(name, kind, bool(column.nullable), max_len))
    return EntitySpec(ENTITY_NAMES[model], table.name, tuple(fields))


SPECS: dict[str, EntitySpec] = {ENTITY_NAMES[m]: _spec_of(m) for m in SYNCED_MODELS}


# --- value conversion ------------------------------------------------------------------------


def db_datetime(text: str) -> str:
    """Bundle datetime ``2025-06-08T00:00:00`` → stored text ``2025-06-08 00:00:00.000000``."""
    base = text[:19].replace("T", " ")
    return base + (text[19:] if len(text) > 19 else ".000000")


def bundle_datetime_sql(column: str) -> str:
    """SQL expression of a stored datetime column in bundle form (seconds, ``T``)."""
    return (f"replace(iif(substr({column}, 20) = '.000000', substr({column}, 1, 19), {column}), "
            "' ', 'T')")


def parse_stored_datetime(text: str | None) -> datetime | None:
    if text is None:
        return None
    return datetime.fromisoformat(text.replace(" ", "T"))


_CANONICAL = json.JSONEncoder(ensure_ascii=False, sort_keys=True).encode


def canonical_json(value: Any) -> str:
    """How the import stores JSON columns (sorted keys), so equal values have equal texts."""
    return _CANONICAL(value)


def compact_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"),
                      allow_nan=False)


def decode_stored(spec: FieldSpec, value: Any) -> Any:
    """A stored column value as the plain Python value a bundle line carries."""
    if value is None:
        return None
    kind = spec.kind
    if kind == "bool":
        return bool(value)
    if kind == "json":
        return json.loads(value) if isinstance(value, str) else value
    if kind == "float":
        return float(value)
    if kind == "datetime":
        return str(value)[:19].replace(" ", "T")
    if kind == "date":
        return str(value)[:10]
    return value


def encode_stored(spec: FieldSpec, value: Any) -> Any:
    """A validated bundle value as the SQLite value of its column."""
    if value is None:
        return None
    kind = spec.kind
    if kind == "bool":
        return 1 if value else 0
    if kind == "json":
        return canonical_json(value)
    if kind == "datetime":
        return db_datetime(value)
    return value


# --- display ---------------------------------------------------------------------------------


def escape_display(text: Any, limit: int = 200) -> str:
    """A value as safe text for the preview: control and format characters (right-to-left
    overrides, zero-width characters) shown as ``\\u202e``, long texts shortened."""
    if text is None:
        return "–"
    if isinstance(text, bool):
        return "ja" if text else "nein"
    if not isinstance(text, str):
        text = json.dumps(text, ensure_ascii=False)
    out = []
    for ch in text[: limit + 1]:
        cat = unicodedata.category(ch)
        if ch in "\n\t":
            out.append(" ")
        elif cat in ("Cc", "Cf", "Co", "Cs", "Zl", "Zp"):
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    result = "".join(out)
    if len(text) > limit:
        result = result[:limit] + "…"
    return result


def has_hidden_characters(text: str) -> bool:
    return any(unicodedata.category(ch) in ("Cf", "Cc") and ch not in "\n\t\r" for ch in text)


def is_finite_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and (
        isinstance(value, int) or math.isfinite(value))


def check_plain_text(value: str, multiline: bool) -> bool:
    return (_CONTROL_RE if multiline else _CONTROL_LINE_RE).search(value) is None


def valid_date(text: str) -> bool:
    if not DATE_RE.match(text):
        return False
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return True


def valid_datetime(text: str) -> bool:
    if not DATETIME_RE.match(text):
        return False
    try:
        datetime.fromisoformat(text)
    except ValueError:
        return False
    return True
