"""Logging to the user's log folder and one excepthook with a German crash dialog."""

from __future__ import annotations

import logging
import logging.handlers
import sys
import traceback
from pathlib import Path
from types import TracebackType

from integrationsplaner import paths

log = logging.getLogger("integrationsplaner")
_log_path: Path | None = None


def setup_logging(path: Path | None = None) -> Path | None:
    """Log to a rotating file in the user's log folder; returns its path (None if impossible)."""
    global _log_path
    target = path or paths.log_file()
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        handler = logging.handlers.RotatingFileHandler(target, maxBytes=1_000_000, backupCount=3,
                                                       encoding="utf-8")
    except OSError:
        return None
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    _log_path = target
    return target


def log_path() -> Path | None:
    return _log_path


def crash_text(log_file: Path | None) -> str:
    where = (f"Die Einzelheiten stehen in der Protokolldatei:\n{log_file}"
             if log_file else "Es konnte keine Protokolldatei geschrieben werden.")
    return ("Im Integrationsplaner ist ein unerwarteter Fehler aufgetreten. Gespeicherte Daten "
            "sind sicher; die gerade bearbeitete Eingabe ist möglicherweise nicht gespeichert.\n\n"
            f"{where}\n\nBitte senden Sie diese Datei an Ihre IT-Betreuung, damit der Fehler "
            "behoben werden kann. Sie können weiterarbeiten; speichern Sie Ihre Arbeit.")


def excepthook(kind: type[BaseException], value: BaseException,
               tb: TracebackType | None) -> None:
    """Log a bug and tell the user in German where the log is (never a bare traceback)."""
    if issubclass(kind, KeyboardInterrupt):
        sys.__excepthook__(kind, value, tb)
        return
    from integrationsplaner.errors import UserError

    if isinstance(value, UserError):  # an actionable error that slipped through: show its text
        from integrationsplaner.ui import msgbox

        msgbox.error(None, "Integrationsplaner", value.message)
        return
    text = "".join(traceback.format_exception(kind, value, tb))
    log.error("Unerwarteter Fehler:\n%s", text)
    try:
        from integrationsplaner.ui import msgbox

        msgbox.error(None, "Unerwarteter Fehler", crash_text(_log_path), details=text)
    except Exception:  # the dialog itself failed: at least keep stderr
        sys.__excepthook__(kind, value, tb)


def install() -> None:
    sys.excepthook = excepthook
