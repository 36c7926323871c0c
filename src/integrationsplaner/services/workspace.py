"""A workspace: one open database plus who is acting (user, office, replica)."""

from __future__ import annotations

import getpass
from dataclasses import dataclass
from pathlib import Path

from integrationsplaner.domain.reference import Reference, load_reference
from integrationsplaner.store.database import Database, create_database, open_database

SOURCE_KEYBOARD = "tastatur"
SOURCE_BUNDLE = "buendel"
SOURCE_SYSTEM = "system"


def current_user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no login name (service account, odd environment)
        return "unbekannt"


@dataclass(frozen=True)
class Actor:
    """Who makes a change, and how it arrives (keyboard, bundle, system)."""

    user: str
    office_key: str
    replica_id: str
    source: str = SOURCE_KEYBOARD
    bundle_id: str | None = None


class Workspace:
    """The open database of this PC's office; services take it as their first argument."""

    def __init__(self, db: Database, user: str | None = None) -> None:
        self.db = db
        self.reference: Reference = load_reference()
        self.user = user or current_user()
        if db.meta.get("reference_digest") != self.reference.digest and not db.readonly:
            from integrationsplaner.store.reference import sync_reference  # SQLAlchemy

            with db.transaction() as session:
                sync_reference(session, self.reference)
            db.meta["reference_digest"] = self.reference.digest

    @property
    def office_key(self) -> str:
        return self.db.office_key

    @property
    def actor(self) -> Actor:
        return Actor(self.user, self.db.office_key, self.db.replica_id)

    @property
    def path(self) -> Path:
        return self.db.path

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


def open_workspace(path: Path | str, *, user: str | None = None, readonly: bool = False):
    """Open a database file. An up-to-date file opens without SQLAlchemy (see
    ``store.database``); :func:`load_database_layer` loads it."""
    return Workspace(open_database(path, readonly=readonly), user)


def load_database_layer(ws: Workspace) -> None:
    """Import SQLAlchemy, build the ORM mappings and connect the engine now (about 0.6 s), so
    that the first record opened or saved after start does not wait for them."""
    from sqlalchemy.orm import configure_mappers

    import integrationsplaner.store.models  # noqa: F401 (the mappings to configure)

    configure_mappers()
    with ws.db.read() as session:
        session.connection()


def create_workspace(path: Path | str, office_key: str, *, user: str | None = None) -> Workspace:
    return Workspace(create_database(path, office_key), user)
