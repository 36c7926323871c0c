"""Validation rules with German messages that name the field and say what to fix."""

from __future__ import annotations

import math
import re

from integrationsplaner.domain.model import EvaluationData, MeasureData, PartnerData
from integrationsplaner.domain.periods import HalfYear
from integrationsplaner.domain.reference import Reference
from integrationsplaner.errors import Issue

# Length limits of text fields (characters). Generous, but a 10 MB paste is refused.
SHORT_TEXT = 200
CODE_TEXT = 30
LONG_TEXT = 20_000
MAX_NUMBER = 1e15
MAX_COUNT = 10_000_000
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_CODE = re.compile(r"^[\w.\-/]+$")


def _text(issues: list[Issue], field: str, label: str, value: str, limit: int, *, required=False):
    if required and not value.strip():
        issues.append(Issue(field, f"{label}: Bitte ausfüllen."))
    if len(value) > limit:
        issues.append(
            Issue(field, f"{label}: höchstens {limit:,} Zeichen erlaubt, eingegeben sind "
                  f"{len(value):,}. Bitte kürzen.".replace(",", "."))
        )
    if "\x00" in value:
        issues.append(Issue(field, f"{label}: enthält ein unzulässiges Steuerzeichen."))


def _number(issues: list[Issue], field: str, label: str, value: float | None) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int | float):
        issues.append(Issue(field, f"{label}: Bitte eine Zahl eingeben."))
    elif math.isnan(value) or math.isinf(value) or abs(value) > MAX_NUMBER:
        issues.append(Issue(field, f"{label}: „{value}“ ist keine gültige Zahl."))


def _count(issues: list[Issue], field: str, label: str, value: int | None) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int):
        issues.append(Issue(field, f"{label}: Bitte eine ganze Zahl eingeben."))
    elif value < 0:
        issues.append(Issue(field, f"{label}: darf nicht negativ sein."))
    elif value > MAX_COUNT:
        issues.append(Issue(field, f"{label}: {value} ist unrealistisch hoch. Bitte prüfen."))


def _cents(issues: list[Issue], field: str, label: str, value: int | None) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int):
        issues.append(Issue(field, f"{label}: Bitte einen Betrag in Euro eingeben."))
    elif value < 0:
        issues.append(Issue(field, f"{label}: Der Betrag darf nicht negativ sein."))
    elif value > 10**13:
        issues.append(Issue(field, f"{label}: Der Betrag ist unrealistisch hoch. Bitte prüfen."))


def validate_measure(data: MeasureData, ref: Reference) -> list[Issue]:
    issues: list[Issue] = []
    _text(issues, "code", "Kennung", data.code, CODE_TEXT, required=True)
    if data.code.strip() and not _CODE.match(data.code.strip()):
        issues.append(Issue("code", "Kennung: nur Buchstaben, Ziffern, Punkt, Binde- und "
                                    "Schrägstrich verwenden (z. B. HF1-03)."))
    _text(issues, "title", "Titel", data.title, SHORT_TEXT, required=True)
    _text(issues, "description", "Beschreibung", data.description, LONG_TEXT)
    _text(issues, "objective", "Zielsetzung", data.objective, LONG_TEXT)
    if data.action_area not in {a.number for a in ref.action_areas}:
        issues.append(Issue("action_area", "Handlungsfeld: Bitte eines der fünf Handlungsfelder "
                                           "wählen."))
    if data.status not in ref.codes("measure_statuses"):
        issues.append(Issue("status", f"Status: „{data.status}“ ist unbekannt."))
    if data.concept_period and data.concept_period not in {p.key for p in ref.concept_periods}:
        issues.append(Issue("concept_period", f"Konzeptzeitraum „{data.concept_period}“ ist "
                                              "unbekannt."))
    if data.start_date and data.end_date and data.end_date < data.start_date:
        issues.append(Issue("end_date", "Ende: liegt vor dem Beginn. Bitte ein Enddatum nach dem "
                                        "Beginn wählen."))
    tg = ref.codes("target_groups")
    for code in data.target_groups:
        if code not in tg:
            issues.append(Issue("target_groups", f"Zielgruppe „{code}“ ist unbekannt."))
    known_municipalities = {m.key for m in ref.municipalities()}
    for key in data.municipalities:
        if key not in known_municipalities:
            issues.append(Issue("municipalities", f"Ort „{key}“ ist keine Gemeinde des Kreises."))
    directions = ref.codes("indicator_directions")
    for n, ind in enumerate(data.indicators, 1):
        prefix = f"Kennzahl {n}"
        _text(issues, f"indicators[{n - 1}].name", f"{prefix}, Name", ind.name, SHORT_TEXT,
              required=True)
        _text(issues, f"indicators[{n - 1}].unit", f"{prefix}, Einheit", ind.unit, 50)
        _number(issues, f"indicators[{n - 1}].baseline", f"{prefix}, Ausgangswert", ind.baseline)
        _number(issues, f"indicators[{n - 1}].target", f"{prefix}, Zielwert", ind.target)
        if ind.target is not None and not ind.unit.strip():
            issues.append(Issue(f"indicators[{n - 1}].unit",
                                f"{prefix}: Ein Zielwert braucht eine Einheit (z. B. Personen, "
                                "Kurse, %)."))
        if ind.direction not in directions:
            issues.append(Issue(f"indicators[{n - 1}].direction",
                                f"{prefix}: Richtung „{ind.direction}“ ist unbekannt."))
    categories = ref.codes("budget_categories")
    sources = ref.codes("funding_sources")
    for n, line in enumerate(data.budget_lines, 1):
        prefix = f"Kostenposition {n}"
        if isinstance(line.year, bool) or not isinstance(line.year, int) or not (
            1990 <= line.year <= 2100
        ):
            issues.append(Issue(f"budget_lines[{n - 1}].year", f"{prefix}: Haushaltsjahr "
                                f"„{line.year}“ ist ungültig (1990 bis 2100)."))
        if line.category not in categories:
            issues.append(Issue(f"budget_lines[{n - 1}].category",
                                f"{prefix}: Kostenart „{line.category}“ ist unbekannt."))
        if line.funding_source not in sources:
            issues.append(Issue(f"budget_lines[{n - 1}].funding_source",
                                f"{prefix}: Finanzierungsquelle „{line.funding_source}“ ist "
                                "unbekannt."))
        _cents(issues, f"budget_lines[{n - 1}].planned_cents", f"{prefix}, geplanter Betrag",
               line.planned_cents)
        _text(issues, f"budget_lines[{n - 1}].note", f"{prefix}, Bemerkung", line.note,
              SHORT_TEXT)
    for n, ms in enumerate(data.milestones, 1):
        _text(issues, f"milestones[{n - 1}].title", f"Meilenstein {n}, Titel", ms.title,
              SHORT_TEXT, required=True)
    roles = ref.codes("partner_roles")
    seen: set[tuple[str, str]] = set()
    for n, part in enumerate(data.partners, 1):
        if not part.partner_id:
            issues.append(Issue(f"partners[{n - 1}]", f"Beteiligung {n}: Bitte einen Partner "
                                                      "wählen."))
        if part.role not in roles:
            issues.append(Issue(f"partners[{n - 1}].role", f"Beteiligung {n}: Rolle "
                                f"„{part.role}“ ist unbekannt."))
        if (part.partner_id, part.role) in seen:
            issues.append(Issue(f"partners[{n - 1}]", f"Beteiligung {n}: Dieser Partner ist mit "
                                "derselben Rolle bereits eingetragen."))
        seen.add((part.partner_id, part.role))
    return issues


def validate_partner(data: PartnerData, ref: Reference) -> list[Issue]:
    issues: list[Issue] = []
    _text(issues, "name", "Name", data.name, SHORT_TEXT, required=True)
    for fld, label, limit in (("street", "Straße", SHORT_TEXT), ("postal_code", "PLZ", 10),
                              ("city", "Ort", SHORT_TEXT), ("phone", "Telefon", 50),
                              ("email", "E-Mail", SHORT_TEXT), ("website", "Website", SHORT_TEXT),
                              ("notes", "Notizen", LONG_TEXT)):
        _text(issues, fld, label, getattr(data, fld), limit)
    if data.kind not in ref.codes("partner_kinds"):
        issues.append(Issue("kind", f"Art: „{data.kind}“ ist unbekannt."))
    if data.email.strip() and not _EMAIL.match(data.email.strip()):
        issues.append(Issue("email", "E-Mail: Bitte eine Adresse der Form name@beispiel.de "
                                     "eingeben."))
    if data.postal_code.strip() and not re.fullmatch(r"\d{5}", data.postal_code.strip()):
        issues.append(Issue("postal_code", "PLZ: Bitte fünf Ziffern eingeben."))
    areas = {a.number for a in ref.action_areas}
    for number in data.action_areas:
        if number not in areas:
            issues.append(Issue("action_areas", f"Handlungsfeld {number} ist unbekannt."))
    offices = set(ref.office_keys())
    for key in data.offices:
        if key not in offices:
            issues.append(Issue("offices", f"Dienststelle „{key}“ ist unbekannt."))
    for n, c in enumerate(data.contacts, 1):
        _text(issues, f"contacts[{n - 1}].name", f"Ansprechperson {n}, Name", c.name,
              SHORT_TEXT, required=True)
        _text(issues, f"contacts[{n - 1}].function", f"Ansprechperson {n}, Funktion",
              c.function, SHORT_TEXT)
        _text(issues, f"contacts[{n - 1}].phone", f"Ansprechperson {n}, Telefon", c.phone, 50)
        _text(issues, f"contacts[{n - 1}].notes", f"Ansprechperson {n}, Notizen", c.notes,
              LONG_TEXT)
        if c.email.strip() and not _EMAIL.match(c.email.strip()):
            issues.append(Issue(f"contacts[{n - 1}].email",
                                f"Ansprechperson {n}: E-Mail-Adresse ist ungültig."))
    return issues


def validate_evaluation(
    data: EvaluationData,
    ref: Reference,
    *,
    measure_start=None,
    measure_end=None,
    indicator_ids: set[str] | None = None,
) -> list[Issue]:
    """Errors block saving; ``warning`` issues (measure not running in the period) do not."""
    issues: list[Issue] = []
    try:
        period = HalfYear.parse(data.period)
    except Exception as exc:  # UserError with the German text
        issues.append(Issue("period", str(exc)))
        period = None
    if data.rating is not None and data.rating not in ref.codes("ratings"):
        issues.append(Issue("rating", f"Bewertung: „{data.rating}“ ist unbekannt."))
    if data.recommendation is not None and data.recommendation not in ref.codes(
        "recommendations"
    ):
        issues.append(Issue("recommendation", f"Empfehlung: „{data.recommendation}“ ist "
                                              "unbekannt."))
    if data.state not in ("entwurf", "abgeschlossen"):
        issues.append(Issue("state", f"Status der Bewertung „{data.state}“ ist unbekannt."))
    if data.progress is not None and (
        isinstance(data.progress, bool) or not isinstance(data.progress, int)
        or not 0 <= data.progress <= 100
    ):
        issues.append(Issue("progress", "Fortschritt: Bitte einen Wert von 0 bis 100 % angeben."))
    _cents(issues, "costs_spent_cents", "Ausgaben im Zeitraum", data.costs_spent_cents)
    _count(issues, "participants_total", "Teilnehmende gesamt", data.participants_total)
    _count(issues, "participants_female", "davon weiblich", data.participants_female)
    _count(issues, "participants_minors", "davon minderjährig", data.participants_minors)
    total = data.participants_total
    for fld, label in (("participants_female", "davon weiblich"),
                       ("participants_minors", "davon minderjährig")):
        part = getattr(data, fld)
        if (isinstance(total, int) and isinstance(part, int) and part > total
                and not isinstance(part, bool)):
            issues.append(Issue(fld, f"{label}: kann nicht größer sein als „Teilnehmende "
                                     "gesamt“."))
    for fld, label in (("results", "Ergebnisse"), ("obstacles", "Hindernisse"),
                       ("next_steps", "Nächste Schritte")):
        _text(issues, fld, label, getattr(data, fld), LONG_TEXT)
    _text(issues, "evaluated_by", "Bewertet von", data.evaluated_by, SHORT_TEXT)
    for key, value in data.actual_values.items():
        if indicator_ids is not None and key not in indicator_ids:
            issues.append(Issue("actual_values", "Istwert für eine Kennzahl, die es bei dieser "
                                                 "Maßnahme nicht gibt."))
        _number(issues, "actual_values", "Istwert", value)
    if data.state == "abgeschlossen" and data.rating is None:
        issues.append(Issue("rating", "Bewertung: Eine abgeschlossene Bewertung braucht eine "
                                      "Einstufung."))
    if period is not None and not period.overlaps(measure_start, measure_end):
        issues.append(Issue("period", f"Die Maßnahme läuft im {period.label} nicht (laut "
                                      "Zeitplan). Bitte prüfen Sie den Zeitraum.", warning=True))
    return issues
