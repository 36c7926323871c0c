"""Plain data carried between services and their callers (UI, CLI, exchange, reports).

Services hand out and take these dataclasses, never ORM objects, so no caller holds a session.
``version`` is the record's version vector when it was read; saving compares it to detect a
record that changed in between (for example through a bundle import).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime


@dataclass
class RecordState:
    """Identity and version of a stored record as read (``id`` None: not saved yet)."""

    id: str | None = None
    version: dict[str, int] = field(default_factory=dict)
    deleted: bool = False
    updated_at: datetime | None = None
    updated_by: str = ""


@dataclass
class IndicatorData:
    name: str = ""
    unit: str = ""
    baseline: float | None = None
    target: float | None = None
    direction: str = "steigend"
    id: str | None = None


@dataclass
class BudgetLineData:
    year: int = 0
    category: str = "sach"
    funding_source: str = "kreis"
    planned_cents: int = 0
    note: str = ""
    id: str | None = None


@dataclass
class MilestoneData:
    title: str = ""
    due_date: date | None = None
    done: bool = False
    done_on: date | None = None
    id: str | None = None


@dataclass
class ParticipationData:
    partner_id: str = ""
    role: str = "partner"
    partner_name: str = ""  # read-only, for display
    id: str | None = None


@dataclass
class MeasureData(RecordState):
    office_key: str = ""
    code: str = ""
    title: str = ""
    action_area: int = 1
    status: str = "geplant"
    concept_period: str | None = None
    description: str = ""
    objective: str = ""
    networking: bool = False
    start_date: date | None = None
    end_date: date | None = None
    target_groups: list[str] = field(default_factory=list)
    municipalities: list[str] = field(default_factory=list)
    indicators: list[IndicatorData] = field(default_factory=list)
    budget_lines: list[BudgetLineData] = field(default_factory=list)
    milestones: list[MilestoneData] = field(default_factory=list)
    partners: list[ParticipationData] = field(default_factory=list)


@dataclass
class ContactData:
    name: str = ""
    function: str = ""
    phone: str = ""
    email: str = ""
    notes: str = ""
    id: str | None = None


@dataclass
class PartnerData(RecordState):
    office_key: str = ""
    name: str = ""
    kind: str = "sonstige"
    street: str = ""
    postal_code: str = ""
    city: str = ""
    phone: str = ""
    email: str = ""
    website: str = ""
    action_areas: list[int] = field(default_factory=list)
    offices: list[str] = field(default_factory=list)
    notes: str = ""
    contacts: list[ContactData] = field(default_factory=list)


@dataclass
class EvaluationData(RecordState):
    measure_id: str = ""
    period: str = ""
    office_key: str = ""
    state: str = "entwurf"
    rating: str | None = None
    progress: int | None = None
    actual_values: dict[str, float | None] = field(default_factory=dict)
    costs_spent_cents: int | None = None
    participants_total: int | None = None
    participants_female: int | None = None
    participants_minors: int | None = None
    results: str = ""
    obstacles: str = ""
    next_steps: str = ""
    recommendation: str | None = None
    evaluated_by: str = ""
    evaluated_on: date | None = None


@dataclass(frozen=True)
class MeasureRow:
    """One line of the measure list (selected columns, no ORM objects)."""

    id: str
    office_key: str
    code: str
    title: str
    action_area: int
    status: str
    start_date: date | None
    end_date: date | None
    deleted: bool = False


@dataclass(frozen=True)
class PartnerRow:
    id: str
    office_key: str
    name: str
    kind: str
    city: str
    deleted: bool = False


@dataclass(frozen=True)
class EvaluationRow:
    """A measure running in a period with the state of its evaluation there."""

    measure_id: str
    office_key: str
    code: str
    title: str
    action_area: int
    evaluation_id: str | None
    state: str  # fehlt | entwurf | abgeschlossen
    rating: str | None


@dataclass(frozen=True)
class MeasureFilter:
    """Filters of the measure list; every field is optional and they combine with AND."""

    text: str = ""
    action_areas: tuple[int, ...] = ()
    offices: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ()
    target_group: str | None = None
    partner_id: str | None = None
    period: str | None = None  # only measures running in this half-year
    deleted: bool = False  # True: the Papierkorb (tombstones only)


@dataclass(frozen=True)
class AuditRow:
    at: datetime
    user: str
    office_key: str
    source: str
    entity: str
    record_id: str
    action: str
    field: str | None
    old_value: str | None
    new_value: str | None
    bundle_id: str | None = None


@dataclass(frozen=True)
class SaveResult:
    id: str
    created: bool
    changed_fields: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
