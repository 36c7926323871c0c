"""SQLAlchemy 2 mappings of every entity of the glossary.

Synchronised records (everything an office owns and exchanges) share :class:`Synced`: a UUID, an
owning office that never changes, a version vector, per-field stamps and a tombstone flag (see
``domain.versioning``). Reference tables (offices, municipalities, action areas, concept periods)
are filled from ``resources/`` and are the same in every database of a district.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    event,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from integrationsplaner.domain.text import sort_key

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar = {dict[str, Any]: JSON, list[Any]: JSON}


# --- reference data ---------------------------------------------------------------------------


class Office(Base):
    __tablename__ = "offices"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    short_name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(30))


class Municipality(Base):
    __tablename__ = "municipalities"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(30))
    office_key: Mapped[str] = mapped_column(ForeignKey("offices.key"), index=True)


class ActionArea(Base):
    __tablename__ = "action_areas"
    number: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    title: Mapped[str] = mapped_column(String(200))
    short_title: Mapped[str] = mapped_column(String(100))
    goal: Mapped[str] = mapped_column(Text)


class ConceptPeriod(Base):
    __tablename__ = "concept_periods"
    key: Mapped[str] = mapped_column(String(20), primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    start_year: Mapped[int] = mapped_column(Integer)
    end_year: Mapped[int] = mapped_column(Integer)


class ReviewPeriod(Base):
    """A half-year of this installation: open for evaluations, or closed (read-only)."""

    __tablename__ = "review_periods"
    key: Mapped[str] = mapped_column(String(10), primary_key=True)  # "2019-H1"
    year: Mapped[int] = mapped_column(Integer)
    half: Mapped[int] = mapped_column(Integer)
    closed: Mapped[bool] = mapped_column(Boolean, default=False)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime)
    closed_by: Mapped[str | None] = mapped_column(String(200))


class Meta(Base):
    """Key/value facts about this database: its office, replica id, reference digest."""

    __tablename__ = "meta"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


# --- synchronised records ---------------------------------------------------------------------


class Synced:
    """Identity, ownership and version metadata every exchanged record carries."""

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    # no index of its own: only the measure and partner lists filter by office (their tables
    # have indexes for that); offices are reference data, never deleted or re-keyed
    office_key: Mapped[str] = mapped_column(ForeignKey("offices.key"))
    vv: Mapped[dict[str, Any]] = mapped_column(default=dict)
    stamps: Mapped[dict[str, Any]] = mapped_column(default=dict)
    origin_replica: Mapped[str] = mapped_column(String(40))
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    updated_at: Mapped[datetime] = mapped_column(DateTime)
    updated_by: Mapped[str] = mapped_column(String(200), default="")


#: Columns of Synced that are metadata, not exchanged data fields.
META_COLUMNS = frozenset(
    {"id", "seq", "office_key", "vv", "stamps", "origin_replica", "created_at", "updated_at",
     "updated_by"}
)
#: Columns derived from others and recomputed locally (never stamped or exchanged).
DERIVED_COLUMNS = frozenset({"title_sort", "name_sort"})


class Measure(Synced, Base):
    """A measure. ``seq`` is an integer row key only for the full-text index (external content
    needs a stable integer rowid); the record's identity everywhere else is ``id``."""

    __tablename__ = "measures"
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(36), unique=True)
    code: Mapped[str] = mapped_column(String(30))
    title: Mapped[str] = mapped_column(String(200))
    title_sort: Mapped[str] = mapped_column(String(200), default="")
    action_area: Mapped[int] = mapped_column(ForeignKey("action_areas.number"))
    status: Mapped[str] = mapped_column(String(30))
    concept_period: Mapped[str | None] = mapped_column(ForeignKey("concept_periods.key"))
    description: Mapped[str] = mapped_column(Text, default="")
    objective: Mapped[str] = mapped_column(Text, default="")
    networking: Mapped[bool] = mapped_column(Boolean, default=False)
    start_date: Mapped[date | None] = mapped_column(Date)
    end_date: Mapped[date | None] = mapped_column(Date)
    target_groups: Mapped[list[Any]] = mapped_column(default=list)
    municipalities: Mapped[list[Any]] = mapped_column(default=list)

    __table_args__ = (
        # each sortable column of the list, behind the tombstone flag every list filters on
        Index("ix_measures_title_sort", "deleted", "title_sort"),
        Index("ix_measures_deleted_code", "deleted", "code"),
        Index("ix_measures_deleted_status", "deleted", "status", "title_sort"),
        Index("ix_measures_deleted_office", "deleted", "office_key", "title_sort"),
        Index("ix_measures_deleted_start", "deleted", "start_date"),
        Index("ix_measures_deleted_end", "deleted", "end_date"),
        Index("ix_measures_office_code", "office_key", "code"),
        Index("ix_measures_area", "action_area"),
    )


class Indicator(Synced, Base):
    __tablename__ = "indicators"
    measure_id: Mapped[str] = mapped_column(ForeignKey("measures.id"), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    name: Mapped[str] = mapped_column(String(200))
    unit: Mapped[str] = mapped_column(String(50), default="")
    baseline: Mapped[float | None] = mapped_column(Float)
    target: Mapped[float | None] = mapped_column(Float)
    direction: Mapped[str] = mapped_column(String(20), default="steigend")


class BudgetLine(Synced, Base):
    __tablename__ = "budget_lines"
    measure_id: Mapped[str] = mapped_column(ForeignKey("measures.id"), index=True)
    year: Mapped[int] = mapped_column(Integer)
    category: Mapped[str] = mapped_column(String(30))
    funding_source: Mapped[str] = mapped_column(String(30))
    planned_cents: Mapped[int] = mapped_column(Integer)
    note: Mapped[str] = mapped_column(String(200), default="")


class Milestone(Synced, Base):
    __tablename__ = "milestones"
    measure_id: Mapped[str] = mapped_column(ForeignKey("measures.id"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    due_date: Mapped[date | None] = mapped_column(Date)
    done: Mapped[bool] = mapped_column(Boolean, default=False)
    done_on: Mapped[date | None] = mapped_column(Date)


class Partner(Synced, Base):
    __tablename__ = "partners"
    name: Mapped[str] = mapped_column(String(200))
    name_sort: Mapped[str] = mapped_column(String(200), default="", index=True)
    kind: Mapped[str] = mapped_column(String(30))
    street: Mapped[str] = mapped_column(String(200), default="")
    postal_code: Mapped[str] = mapped_column(String(10), default="")
    city: Mapped[str] = mapped_column(String(200), default="")
    phone: Mapped[str] = mapped_column(String(50), default="")
    email: Mapped[str] = mapped_column(String(200), default="")
    website: Mapped[str] = mapped_column(String(200), default="")
    action_areas: Mapped[list[Any]] = mapped_column(default=list)
    offices: Mapped[list[Any]] = mapped_column(default=list)
    notes: Mapped[str] = mapped_column(Text, default="")

    __table_args__ = (Index("ix_partners_office_key", "office_key"),)


class ContactPerson(Synced, Base):
    """A contact person of a partner: personal data, left out where reports are published."""

    __tablename__ = "contact_persons"
    partner_id: Mapped[str] = mapped_column(ForeignKey("partners.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    function: Mapped[str] = mapped_column(String(200), default="")
    phone: Mapped[str] = mapped_column(String(50), default="")
    email: Mapped[str] = mapped_column(String(200), default="")
    notes: Mapped[str] = mapped_column(Text, default="")


class MeasurePartner(Synced, Base):
    """A partner's participation in a measure, with its role; owned by the measure's office."""

    __tablename__ = "measure_partners"
    measure_id: Mapped[str] = mapped_column(ForeignKey("measures.id"), index=True)
    partner_id: Mapped[str] = mapped_column(ForeignKey("partners.id"), index=True)
    role: Mapped[str] = mapped_column(String(30))


class Evaluation(Synced, Base):
    """The half-yearly evaluation of one measure. Its id is derived from measure and period."""

    __tablename__ = "evaluations"
    measure_id: Mapped[str] = mapped_column(ForeignKey("measures.id"))
    period: Mapped[str] = mapped_column(String(10))
    state: Mapped[str] = mapped_column(String(20), default="entwurf")
    rating: Mapped[str | None] = mapped_column(String(30))
    progress: Mapped[int | None] = mapped_column(Integer)
    actual_values: Mapped[dict[str, Any]] = mapped_column(default=dict)
    costs_spent_cents: Mapped[int | None] = mapped_column(Integer)
    participants_total: Mapped[int | None] = mapped_column(Integer)
    participants_female: Mapped[int | None] = mapped_column(Integer)
    participants_minors: Mapped[int | None] = mapped_column(Integer)
    results: Mapped[str] = mapped_column(Text, default="")
    obstacles: Mapped[str] = mapped_column(Text, default="")
    next_steps: Mapped[str] = mapped_column(Text, default="")
    recommendation: Mapped[str | None] = mapped_column(String(30))
    evaluated_by: Mapped[str] = mapped_column(String(200), default="")
    evaluated_on: Mapped[date | None] = mapped_column(Date)

    __table_args__ = (
        UniqueConstraint("measure_id", "period"),
        Index("ix_evaluations_period", "period"),
    )


class AuditEntry(Base):
    """One audited change: who, which office, when, which field from what to what, and how."""

    __tablename__ = "audit_log"
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(DateTime)
    user: Mapped[str] = mapped_column(String(200))
    office_key: Mapped[str] = mapped_column(String(64))
    replica_id: Mapped[str] = mapped_column(String(40))
    source: Mapped[str] = mapped_column(String(20))  # tastatur | buendel | system
    bundle_id: Mapped[str | None] = mapped_column(String(64))
    entity: Mapped[str] = mapped_column(String(40))
    record_id: Mapped[str] = mapped_column(String(36), index=True)
    action: Mapped[str] = mapped_column(String(20))  # anlegen | aendern | loeschen | ...
    field: Mapped[str | None] = mapped_column(String(64))
    old_value: Mapped[str | None] = mapped_column(Text)
    new_value: Mapped[str | None] = mapped_column(Text)


#: Every synchronised entity, in an order where referenced records come first.
SYNCED_MODELS: tuple[type[Synced], ...] = (
    Partner,
    ContactPerson,
    Measure,
    Indicator,
    BudgetLine,
    Milestone,
    MeasurePartner,
    Evaluation,
)

ENTITY_NAMES: dict[type[Synced], str] = {
    Partner: "partner",
    ContactPerson: "contact_person",
    Measure: "measure",
    Indicator: "indicator",
    BudgetLine: "budget_line",
    Milestone: "milestone",
    MeasurePartner: "measure_partner",
    Evaluation: "evaluation",
}


def data_fields(model: type[Synced]) -> tuple[str, ...]:
    """The exchanged, stamped data fields of a synchronised model (``deleted`` included)."""
    table = model.__table__  # type: ignore[attr-defined]
    return tuple(
        c.name for c in table.columns if c.name not in META_COLUMNS | DERIVED_COLUMNS
    )


@event.listens_for(Measure, "before_insert")
@event.listens_for(Measure, "before_update")
def _measure_sort_key(_mapper: Any, _connection: Any, target: Measure) -> None:
    target.title_sort = sort_key(target.title)


@event.listens_for(Partner, "before_insert")
@event.listens_for(Partner, "before_update")
def _partner_sort_key(_mapper: Any, _connection: Any, target: Partner) -> None:
    target.name_sort = sort_key(target.name)
