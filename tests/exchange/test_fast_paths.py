"""Unit checks of the fast paths of the import (they must be as strict as the slow ones)."""

from __future__ import annotations

import json

import pytest

from integrationsplaner.exchange.reader import _LineError, loads_line


@pytest.mark.parametrize("text", [
    '{"a":1,"a":2}',
    '{"a":1,"vv":{"r":1,"r":2}}',
    '{"a":"x\\":","a":2}',  # a separator inside a string must not hide the duplicate
    '{"a" : 1, "a" : 2}',
    '{"s":{"x":{"k":1,"k":2}}}',
    '[{"a":1,"a":2}]',
])
def test_duplicate_keys_are_found(text: str) -> None:
    with pytest.raises(_LineError, match="doppelt"):
        loads_line(text)


@pytest.mark.parametrize("text", [
    '{"a":1,"b":{"c":"d\\":"}}',
    '{"a" : 1, "b" : {"c" : [1, 2]}}',
    '{"a":"NaN"}',
])
def test_plain_lines_decode(text: str) -> None:
    assert loads_line(text) == json.loads(text)


def test_nan_is_refused() -> None:
    with pytest.raises(_LineError, match="keine zulässige Zahl"):
        loads_line('{"a":NaN}')
