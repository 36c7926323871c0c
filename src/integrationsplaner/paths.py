"""Where the program keeps its files on this PC (no Qt, so the CLI can use it too)."""

from __future__ import annotations

from pathlib import Path

APP_NAME = "Integrationsplaner"
DEFAULT_DB_NAME = "integrationsplaner.sqlite"
LOG_NAME = "integrationsplaner.log"


def data_dir() -> Path:
    """The user's data folder of the program (created on demand by the caller)."""
    from platformdirs import user_data_dir

    return Path(user_data_dir(APP_NAME, False))


def default_db_path() -> Path:
    """The database used when the program starts without ``--db``."""
    return data_dir() / DEFAULT_DB_NAME


def log_dir() -> Path:
    from platformdirs import user_log_dir

    return Path(user_log_dir(APP_NAME, False))


def log_file() -> Path:
    return log_dir() / LOG_NAME
