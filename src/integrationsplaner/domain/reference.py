"""Reference data (district, offices, municipalities, action areas, code lists) from ``resources/``.

The data files ship inside the package as ``integrationsplaner.resources``. Another district can
ship its own district file and point ``INTEGRATIONSPLANER_DISTRICT`` at it.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from integrationsplaner.errors import UserError

DISTRICT_ENV = "INTEGRATIONSPLANER_DISTRICT"
DEFAULT_DISTRICT = "districts/landkreis-kaiserslautern.json"


@dataclass(frozen=True)
class Code:
    """One entry of a code list: a stable code, its German label and optional extras."""

    code: str
    label: str
    symbol: str = ""
    ascii: str = ""
    color: str = ""


@dataclass(frozen=True)
class MunicipalityRef:
    key: str
    name: str
    kind: str
    office_key: str


@dataclass(frozen=True)
class OfficeRef:
    key: str
    name: str
    short_name: str
    kind: str
    municipalities: tuple[MunicipalityRef, ...] = ()


@dataclass(frozen=True)
class ActionAreaRef:
    number: int
    title: str
    short_title: str
    goal: str


@dataclass(frozen=True)
class ConceptPeriodRef:
    key: str
    title: str
    start_year: int
    end_year: int


@dataclass(frozen=True)
class CodeList:
    name: str
    entries: tuple[Code, ...]

    def codes(self) -> tuple[str, ...]:
        return tuple(c.code for c in self.entries)

    def label(self, code: str | None) -> str:
        for entry in self.entries:
            if entry.code == code:
                return entry.label
        return code or ""

    def get(self, code: str | None) -> Code | None:
        for entry in self.entries:
            if entry.code == code:
                return entry
        return None

    def __contains__(self, code: object) -> bool:
        return any(c.code == code for c in self.entries)


@dataclass(frozen=True)
class Reference:
    """Everything that is reference data, loaded once per process."""

    district_key: str
    district_name: str
    authority: str
    offices: tuple[OfficeRef, ...]
    action_areas: tuple[ActionAreaRef, ...]
    concept_periods: tuple[ConceptPeriodRef, ...]
    code_lists: dict[str, CodeList] = field(default_factory=dict)
    digest: str = ""

    def office(self, key: str) -> OfficeRef:
        for office in self.offices:
            if office.key == key:
                return office
        known = ", ".join(o.key for o in self.offices)
        raise UserError(f"Unbekannte Dienststelle „{key}“. Bekannt sind: {known}.")

    def office_keys(self) -> tuple[str, ...]:
        return tuple(o.key for o in self.offices)

    def municipalities(self) -> tuple[MunicipalityRef, ...]:
        return tuple(m for o in self.offices for m in o.municipalities)

    def area(self, number: int) -> ActionAreaRef:
        for area in self.action_areas:
            if area.number == number:
                return area
        raise UserError(
            f"Unbekanntes Handlungsfeld {number}. Erlaubt sind 1 bis {len(self.action_areas)}."
        )

    def codes(self, name: str) -> CodeList:
        return self.code_lists[name]


def resource_path(relative: str) -> Path:
    """Path of a file below ``resources/`` (inside the installed package)."""
    return Path(str(resources.files("integrationsplaner.resources").joinpath(relative)))


def _read_json(path: Path) -> tuple[dict[str, Any], bytes]:
    try:
        raw = path.read_bytes()
        return json.loads(raw.decode("utf-8")), raw
    except FileNotFoundError:
        raise UserError(f"Die Referenzdatei {path} fehlt.") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UserError(f"Die Referenzdatei {path} ist kein gültiges JSON ({exc}).") from None


def _district_path() -> Path:
    override = os.environ.get(DISTRICT_ENV)
    return Path(override) if override else resource_path(DEFAULT_DISTRICT)


@cache
def load_reference() -> Reference:
    """Load and check the district file and the code lists."""
    district_file = _district_path()
    district, raw_district = _read_json(district_file)
    codes, raw_codes = _read_json(resource_path("codelists.json"))
    try:
        offices = tuple(
            OfficeRef(
                key=o["key"],
                name=o["name"],
                short_name=o.get("short_name", o["name"]),
                kind=o["kind"],
                municipalities=tuple(
                    MunicipalityRef(m["key"], m["name"], m.get("kind", "ortsgemeinde"), o["key"])
                    for m in o.get("municipalities", [])
                ),
            )
            for o in district["offices"]
        )
        areas = tuple(
            ActionAreaRef(a["number"], a["title"], a.get("short_title", a["title"]), a["goal"])
            for a in district["action_areas"]
        )
        periods = tuple(
            ConceptPeriodRef(p["key"], p["title"], int(p["start_year"]), int(p["end_year"]))
            for p in district["concept_periods"]
        )
        code_lists = {
            name: CodeList(name, tuple(Code(**entry) for entry in entries))
            for name, entries in codes.items()
            if isinstance(entries, list)
        }
        info = district["district"]
    except (KeyError, TypeError, ValueError) as exc:
        raise UserError(
            f"Die Referenzdatei {district_file} ist unvollständig "
            f"(Feld {exc} fehlt oder ist falsch)."
        ) from None
    if len({o.key for o in offices}) != len(offices):
        raise UserError(f"Die Referenzdatei {district_file} nennt eine Dienststelle doppelt.")
    digest = hashlib.sha256(raw_district + b"\0" + raw_codes).hexdigest()
    return Reference(
        district_key=info["key"],
        district_name=info["name"],
        authority=info.get("authority", info["name"]),
        offices=offices,
        action_areas=areas,
        concept_periods=periods,
        code_lists=code_lists,
        digest=digest,
    )
