"""The audit trail of a record as a table: when, who, office, how, what, field, old → new."""

from __future__ import annotations

from typing import Any

from integrationsplaner.domain.formatting import format_datetime
from integrationsplaner.domain.model import AuditRow
from integrationsplaner.ui.labels import Labels
from integrationsplaner.ui.models import Column, RowListModel

ENTITIES = {
    "measure": "Maßnahme", "indicator": "Kennzahl", "budget_line": "Kostenposition",
    "milestone": "Meilenstein", "measure_partner": "Beteiligung", "partner": "Partner",
    "contact_person": "Ansprechperson", "evaluation": "Bewertung",
    "review_period": "Betrachtungszeitraum",
}
ACTIONS = {"anlegen": "angelegt", "aendern": "geändert", "loeschen": "gelöscht",
           "wiederherstellen": "wiederhergestellt", "abschliessen": "abgeschlossen",
           "zuruecknehmen": "Import zurückgenommen"}
SOURCES = {"tastatur": "Eingabe", "buendel": "Bündel-Import", "system": "System"}
FIELDS = {
    "code": "Kennung", "title": "Titel", "action_area": "Handlungsfeld", "status": "Status",
    "concept_period": "Konzeptzeitraum", "description": "Beschreibung",
    "objective": "Zielsetzung", "networking": "Vernetzungsmaßnahme", "start_date": "Beginn",
    "end_date": "Ende", "target_groups": "Zielgruppen", "municipalities": "Orte",
    "name": "Name", "unit": "Einheit", "baseline": "Ausgangswert", "target": "Zielwert",
    "direction": "Richtung", "position": "Reihenfolge", "year": "Haushaltsjahr",
    "category": "Kostenart", "funding_source": "Finanzierung", "planned_cents": "Geplant (Cent)",
    "note": "Bemerkung", "due_date": "Fällig am", "done": "Erledigt", "done_on": "Erledigt am",
    "partner_id": "Partner", "role": "Rolle", "deleted": "Papierkorb", "kind": "Art",
    "street": "Straße", "postal_code": "PLZ", "city": "Ort", "phone": "Telefon",
    "email": "E-Mail", "website": "Website", "offices": "Dienststellen", "notes": "Notizen",
    "action_areas": "Handlungsfelder", "function": "Funktion", "state": "Stand",
    "rating": "Einstufung", "progress": "Fortschritt", "actual_values": "Istwerte",
    "costs_spent_cents": "Ausgaben (Cent)", "participants_total": "Teilnehmende",
    "participants_female": "davon weiblich", "participants_minors": "davon minderjährig",
    "results": "Ergebnisse", "obstacles": "Hindernisse", "next_steps": "Nächste Schritte",
    "recommendation": "Empfehlung", "evaluated_by": "Bewertet von",
    "evaluated_on": "Bewertet am", "closed": "Abgeschlossen",
}


def _short(value: str | None) -> str:
    if value is None:
        return ""
    text = value.replace("\n", " ")
    return text if len(text) <= 80 else text[:79] + "…"


def history_model(labels: Labels, parent: Any = None) -> RowListModel:
    return RowListModel([
        Column("Zeitpunkt (UTC)", lambda r: format_datetime(r.at), sort_key=lambda r: r.at),
        Column("Benutzer", lambda r: r.user),
        Column("Dienststelle", lambda r: labels.office(r.office_key)),
        Column("Quelle", lambda r: SOURCES.get(r.source, r.source)),
        Column("Was", lambda r: ENTITIES.get(r.entity, r.entity)),
        Column("Aktion", lambda r: ACTIONS.get(r.action, r.action)),
        Column("Feld", lambda r: FIELDS.get(r.field or "", r.field or "")),
        Column("Alt", lambda r: _short(r.old_value), tooltip=lambda r: r.old_value),
        Column("Neu", lambda r: _short(r.new_value), tooltip=lambda r: r.new_value),
    ], parent=parent)


__all__ = ["AuditRow", "history_model"]
