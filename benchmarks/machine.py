"""The speed of this machine at the moment of a measurement.

The 2-core VM the figures are taken on changes speed by up to 4× within an hour (other guests
on the host). Every benchmark prints this reference loop before and after its series, so that
figures of different runs can be compared: only runs with similar reference times are.
"""

from __future__ import annotations

import timeit


def reference_us() -> float:
    """Best of five: one ``sum(range(1000))`` in µs (about 7 µs in the VM's fast state)."""
    return min(timeit.repeat("sum(range(1000))", number=10000, repeat=5)) / 10000 * 1e6
