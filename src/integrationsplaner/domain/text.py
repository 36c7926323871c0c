"""Text helpers: German sort keys (DIN 5007-1: ä sorts as a, ß as ss)."""

from __future__ import annotations

import unicodedata

_ASCII = frozenset(map(chr, range(128)))


def sort_key(text: str) -> str:
    """Case- and accent-insensitive key so that „Ärztehaus“ sorts beside „Arzt“."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    # the combining marks removed one distinct character at a time: a text has few of them
    # (an import computes this for every measure and partner; a pass per character costs more)
    for ch in set(decomposed) - _ASCII:
        if unicodedata.combining(ch):
            decomposed = decomposed.replace(ch, "")
    return decomposed.strip()[:200]
