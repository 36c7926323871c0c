"""Every message box of the program goes through here, so tests can silence and inspect them.

``with silenced({"unsaved": "save"}) as shown:`` answers questions without showing a window and
records every message (kind, title, text) in ``shown``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox, QWidget

# Answers of :func:`ask`
YES = "yes"
NO = "no"
SAVE = "save"
DISCARD = "discard"
CANCEL = "cancel"


@dataclass
class Shown:
    kind: str  # info | warning | error | question
    title: str
    text: str
    topic: str = ""
    answer: str = ""


class _Silencer:
    def __init__(self, answers: dict[str, str], default: str) -> None:
        self.answers = answers
        self.default = default
        self.shown: list[Shown] = []

    def answer(self, topic: str) -> str:
        return self.answers.get(topic, self.default)


_silencer: _Silencer | None = None


@contextmanager
def silenced(answers: dict[str, str] | None = None, default: str = CANCEL) -> Iterator[list[Shown]]:
    """Answer questions by topic (``{"unsaved": SAVE}``) and record all messages instead."""
    global _silencer
    previous = _silencer
    _silencer = _Silencer(answers if answers is not None else {}, default)
    try:
        yield _silencer.shown
    finally:
        _silencer = previous


def _box(icon: QMessageBox.Icon, title: str, text: str,
         buttons: QMessageBox.StandardButton, parent: QWidget | None) -> QMessageBox:
    """A message box that shows its text as it is: messages quote file names and record texts,
    and Qt would take a text with something like a tag in its first line for HTML."""
    box = QMessageBox(icon, title, text, buttons, parent)
    box.setTextFormat(Qt.TextFormat.PlainText)
    return box


def _show(parent: QWidget | None, icon: QMessageBox.Icon, kind: str, title: str, text: str,
          details: str = "") -> None:
    if _silencer is not None:
        _silencer.shown.append(Shown(kind, title, text))
        return
    box = _box(icon, title, text, QMessageBox.StandardButton.Ok, parent)
    if details:
        box.setDetailedText(details)
    box.setAccessibleName(title)
    box.setAccessibleDescription(text)
    box.exec()


def info(parent: QWidget | None, title: str, text: str) -> None:
    _show(parent, QMessageBox.Icon.Information, "info", title, text)


def warning(parent: QWidget | None, title: str, text: str) -> None:
    _show(parent, QMessageBox.Icon.Warning, "warning", title, text)


def error(parent: QWidget | None, title: str, text: str, details: str = "") -> None:
    _show(parent, QMessageBox.Icon.Critical, "error", title, text, details)


def ask(parent: QWidget | None, topic: str, title: str, text: str,
        buttons: list[tuple[str, str]], default: str, escape: str = CANCEL) -> str:
    """Ask a question; ``buttons`` are (answer, German label with mnemonic). Returns the answer.

    ``topic`` names the question for tests (e.g. ``unsaved``, ``delete``, ``close_period``).
    """
    if _silencer is not None:
        result = _silencer.answer(topic)
        _silencer.shown.append(Shown("question", title, text, topic, result))
        return result
    box = _box(QMessageBox.Icon.Question, title, text, QMessageBox.StandardButton.NoButton,
               parent)
    box.setAccessibleName(title)
    box.setAccessibleDescription(text)
    roles = {YES: QMessageBox.ButtonRole.YesRole, SAVE: QMessageBox.ButtonRole.AcceptRole,
             NO: QMessageBox.ButtonRole.NoRole, DISCARD: QMessageBox.ButtonRole.DestructiveRole,
             CANCEL: QMessageBox.ButtonRole.RejectRole}
    by_button = {}
    for answer, label in buttons:
        button = box.addButton(label, roles.get(answer, QMessageBox.ButtonRole.ActionRole))
        by_button[button] = answer
        if answer == default:
            box.setDefaultButton(button)
        if answer == escape:
            box.setEscapeButton(button)
    box.exec()
    return by_button.get(box.clickedButton(), escape)


def ask_unsaved(parent: QWidget | None, what: str) -> str:
    """The unsaved-changes guard: SAVE, DISCARD or CANCEL."""
    return ask(parent, "unsaved", "Ungespeicherte Änderungen",
               f"{what} hat ungespeicherte Änderungen. Möchten Sie sie speichern?",
               [(SAVE, "&Speichern"), (DISCARD, "&Verwerfen"), (CANCEL, "&Abbrechen")], SAVE)


def confirm(parent: QWidget | None, topic: str, title: str, text: str, yes_label: str) -> bool:
    return ask(parent, topic, title, text, [(YES, yes_label), (CANCEL, "&Abbrechen")],
               CANCEL) == YES
