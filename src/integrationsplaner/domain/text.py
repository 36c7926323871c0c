"""Text helpers: German sort keys (DIN 5007-1: ä sorts as a, ß as ss)."""

from __future__ import annotations

import unicodedata


def sort_key(text: str) -> str:
    """Case- and accent-insensitive key so that „Ärztehaus“ sorts beside „Arzt“."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).strip()[:200]
