"""German display texts of codes (offices, areas, code lists), shared by every view."""

from __future__ import annotations

import html

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel

from integrationsplaner.domain.reference import Reference

STATE_SYMBOLS = {"fehlt": "⚠", "entwurf": "✎", "abgeschlossen": "✔"}


class Labels:
    """Lookups from codes to German labels, built once per workspace."""

    def __init__(self, ref: Reference) -> None:
        self.ref = ref
        self._offices = {o.key: o.short_name for o in ref.offices}
        self._office_names = {o.key: o.name for o in ref.offices}
        self._areas = {a.number: a.short_title for a in ref.action_areas}
        self._municipalities = {m.key: m.name for m in ref.municipalities()}

    def office(self, key: str | None) -> str:
        return self._offices.get(key or "", key or "")

    def office_name(self, key: str | None) -> str:
        return self._office_names.get(key or "", key or "")

    def area(self, number: int | None) -> str:
        if number is None:
            return ""
        return f"{number} {self._areas.get(number, '')}".strip()

    def area_title(self, number: int) -> str:
        return self._areas.get(number, str(number))

    def municipality(self, key: str) -> str:
        return self._municipalities.get(key, key)

    def code(self, code_list: str, code: str | None) -> str:
        return self.ref.codes(code_list).label(code) if code else ""

    def rating(self, code: str | None) -> str:
        """A rating as symbol plus text (never colour alone)."""
        entry = self.ref.codes("ratings").get(code)
        if entry is None:
            return ""
        return f"{entry.symbol} {entry.label}"

    def state(self, code: str) -> str:
        label = self.ref.codes("evaluation_states").label(code)
        return f"{STATE_SYMBOLS.get(code, '')} {label}".strip()


def plain_label(text: str = "") -> QLabel:
    """A label for texts that come from records, users or file names: shown as they are (Qt
    would render a text with something like a tag in its first line as HTML)."""
    label = QLabel(text)
    label.setTextFormat(Qt.TextFormat.PlainText)
    return label


def plain_tooltip(text: str | None) -> str | None:
    """A tooltip that shows ``text`` as it is (tooltips have no plain-text mode: Qt renders a
    text that looks like HTML as HTML), line breaks kept."""
    if not text:
        return text
    return f"<p style='white-space:pre-wrap'>{html.escape(text, quote=False)}</p>"
