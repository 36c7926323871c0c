"""German formatting and parsing of dates and amounts (31.12.2019, 1.234,56 €) via Babel."""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from babel.dates import format_date as _babel_date
from babel.dates import format_datetime as _babel_datetime
from babel.numbers import NumberFormatError, parse_decimal
from babel.numbers import format_currency as _babel_currency
from babel.numbers import format_decimal as _babel_decimal

LOCALE = "de_DE"
_AMOUNT_CHARS = re.compile(r"^[0-9.,]+$")
MAX_CENTS = 10**13  # 100 billion euros: anything beyond is a typing error


def format_date(value: date | None) -> str:
    return _babel_date(value, "dd.MM.yyyy", locale=LOCALE) if value else ""


def format_datetime(value: datetime | None) -> str:
    return _babel_datetime(value, "dd.MM.yyyy HH:mm", locale=LOCALE) if value else ""


def format_cents(cents: int | None) -> str:
    """``123456`` → ``1.234,56 €``."""
    if cents is None:
        return ""
    return _babel_currency(Decimal(cents) / 100, "EUR", locale=LOCALE)


def format_number(value: float | int | None, digits: int = 2) -> str:
    if value is None:
        return ""
    pattern = f"#,##0.{'#' * digits}" if digits else "#,##0"
    return _babel_decimal(value, format=pattern, locale=LOCALE)


def parse_cents(text: str) -> int:
    """Parse a German amount (``1.234,56``, ``1234,5 €``) to cents; ValueError with German text."""
    cleaned = text.replace("€", "").replace("\u00a0", "").replace(" ", "").strip()
    if not cleaned:
        raise ValueError("Bitte geben Sie einen Betrag ein.")
    if cleaned.startswith("-"):
        raise ValueError("Der Betrag darf nicht negativ sein.")
    if not _AMOUNT_CHARS.match(cleaned):
        raise ValueError(f"„{text}“ ist kein Betrag. Beispiel: 1.234,56")
    try:
        value = parse_decimal(cleaned, locale=LOCALE, strict=True)
    except (NumberFormatError, InvalidOperation):
        raise ValueError(f"„{text}“ ist kein Betrag. Beispiel: 1.234,56") from None
    if not value.is_finite():
        raise ValueError(f"„{text}“ ist kein Betrag. Beispiel: 1.234,56")
    if value < 0:
        raise ValueError("Der Betrag darf nicht negativ sein.")
    cents = value * 100
    if cents != cents.to_integral_value():
        raise ValueError("Bitte höchstens zwei Nachkommastellen (Cent) angeben.")
    if cents > MAX_CENTS:
        raise ValueError("Der Betrag ist unrealistisch hoch. Bitte prüfen Sie die Eingabe.")
    return int(cents)


def parse_number(text: str) -> float:
    """Parse a German decimal number (``1.234,5``); ValueError with German text."""
    cleaned = text.replace("\u00a0", "").replace(" ", "").strip()
    try:
        value = parse_decimal(cleaned, locale=LOCALE, strict=True)
    except (NumberFormatError, InvalidOperation):
        raise ValueError(f"„{text}“ ist keine Zahl. Beispiel: 1.234,5") from None
    if not value.is_finite() or abs(value) > Decimal(10) ** 15:
        raise ValueError(f"„{text}“ ist keine gültige Zahl.")
    return float(value)


def parse_date(text: str) -> date:
    """Parse ``31.12.2019`` (also ``2019-12-31``); ValueError with German text."""
    cleaned = text.strip()
    for fmt in ("%d.%m.%Y", "%Y-%m-%d", "%d.%m.%y"):
        try:
            return datetime.strptime(cleaned, fmt).date()
        except ValueError:
            continue
    raise ValueError(f"„{text}“ ist kein gültiges Datum. Bitte im Format TT.MM.JJJJ eingeben.")
