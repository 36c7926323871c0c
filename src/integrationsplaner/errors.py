"""Errors a user can act on. Each carries a German message that says what to fix.

Everything else is a bug and goes to the crash handler. The CLI maps ``UserError`` to exit 1.
"""

from __future__ import annotations

from dataclasses import dataclass


class UserError(Exception):
    """Rejected input or an unusable file; the message is German and tells what to do."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class DatabaseError(UserError):
    """The database file cannot be used (not a database, corrupt, locked, newer, read-only)."""


class DatabaseLockedError(DatabaseError):
    """Another running instance holds the database."""


class NewerDatabaseError(DatabaseError):
    """The database was written by a newer program version."""


class PermissionDeniedError(UserError):
    """The record is owned by another office or the period is closed."""


class NotFoundError(UserError):
    """A record does not exist (or no longer exists)."""


class StaleRecordError(UserError):
    """The record changed since it was loaded (for example through a bundle import)."""


@dataclass(frozen=True)
class Issue:
    """One validation finding: the field it concerns and a German message saying what to fix."""

    field: str
    message: str
    warning: bool = False

    def __str__(self) -> str:
        return self.message


class ValidationError(UserError):
    """Input failed validation; ``issues`` names every field with its problem."""

    def __init__(self, issues: list[Issue]) -> None:
        self.issues = [i for i in issues if not i.warning]
        text = "\n".join(f"- {i.message}" for i in self.issues)
        super().__init__("Bitte korrigieren Sie die Eingaben:\n" + text)
