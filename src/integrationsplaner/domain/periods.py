"""Half-year review periods (Betrachtungszeiträume) such as ``2019-H1``."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from integrationsplaner.errors import UserError

_PATTERN = re.compile(r"^([0-9]{4})-H([12])\Z")  # ASCII digits only


@dataclass(frozen=True, order=True)
class HalfYear:
    year: int
    half: int

    @classmethod
    def parse(cls, text: str) -> HalfYear:
        match = _PATTERN.match(text.strip()) if isinstance(text, str) else None
        if not match or not 1900 <= int(match.group(1)) <= 2200:
            raise UserError(
                f"„{text}“ ist kein gültiger Betrachtungszeitraum. Erwartet wird z. B. 2019-H1 "
                "(1. Halbjahr 2019) oder 2019-H2."
            )
        return cls(int(match.group(1)), int(match.group(2)))

    @classmethod
    def containing(cls, day: date) -> HalfYear:
        return cls(day.year, 1 if day.month <= 6 else 2)

    @property
    def key(self) -> str:
        return f"{self.year}-H{self.half}"

    @property
    def start(self) -> date:
        return date(self.year, 1 if self.half == 1 else 7, 1)

    @property
    def end(self) -> date:
        return date(self.year, 6, 30) if self.half == 1 else date(self.year, 12, 31)

    @property
    def label(self) -> str:
        return f"{self.half}. Halbjahr {self.year}"

    def previous(self) -> HalfYear:
        return HalfYear(self.year - 1, 2) if self.half == 1 else HalfYear(self.year, 1)

    def next(self) -> HalfYear:
        return HalfYear(self.year, 2) if self.half == 1 else HalfYear(self.year + 1, 1)

    def overlaps(self, start: date | None, end: date | None) -> bool:
        """Whether a schedule from ``start`` to ``end`` (open ends allowed) runs in this period."""
        return (start is None or start <= self.end) and (end is None or end >= self.start)

    def __str__(self) -> str:
        return self.key


def half_years(first_year: int, last_year: int) -> list[HalfYear]:
    return [HalfYear(y, h) for y in range(first_year, last_year + 1) for h in (1, 2)]


def current_period(today: date | None = None) -> HalfYear:
    """The half-year to evaluate now: the last one that has ended (the previous half-year)."""
    return HalfYear.containing(today or date.today()).previous()
