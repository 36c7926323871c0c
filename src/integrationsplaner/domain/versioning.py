"""Version vectors and field stamps, the version metadata that bundle exchange merges by.

Every synchronised record carries a version vector ``{replica_id: counter}``. A local change by
replica ``r`` increments ``vv[r]`` and stamps every changed field with the *dot* ``(r, vv[r])``.
Fields without an explicit stamp carry the record's creation dot ``(origin_replica, 1)``, so a
freshly created record needs no per-field data at all (this keeps 100,000-record databases small).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from enum import Enum

VersionVector = dict[str, int]
Dot = tuple[str, int]


class Order(Enum):
    EQUAL = "equal"
    BEFORE = "before"  # left happened before right (right is newer)
    AFTER = "after"  # left is newer
    CONCURRENT = "concurrent"


def compare(left: Mapping[str, int], right: Mapping[str, int]) -> Order:
    less = greater = False
    for replica in set(left) | set(right):
        a, b = left.get(replica, 0), right.get(replica, 0)
        if a < b:
            less = True
        elif a > b:
            greater = True
    if less and greater:
        return Order.CONCURRENT
    if less:
        return Order.BEFORE
    if greater:
        return Order.AFTER
    return Order.EQUAL


def merge(left: Mapping[str, int], right: Mapping[str, int]) -> VersionVector:
    return {r: max(left.get(r, 0), right.get(r, 0)) for r in sorted(set(left) | set(right))}


def bump(vv: Mapping[str, int], replica: str) -> tuple[VersionVector, Dot]:
    """The vector after one local change by ``replica`` and the dot that stamps the change."""
    new = dict(vv)
    new[replica] = new.get(replica, 0) + 1
    return new, (replica, new[replica])


def dominates(vv: Mapping[str, int], dot: Dot) -> bool:
    """Whether the vector has seen the change stamped ``dot``."""
    return vv.get(dot[0], 0) >= dot[1]


def field_dot(stamps: Mapping[str, list | tuple], origin_replica: str, name: str) -> Dot:
    stamp = stamps.get(name)
    if stamp is None:
        return (origin_replica, 1)
    return (str(stamp[0]), int(stamp[1]))


def stamp_fields(
    stamps: Mapping[str, list | tuple], fields: Iterable[str], dot: Dot
) -> dict[str, list[str | int]]:
    new = {k: list(v) for k, v in stamps.items()}
    for name in fields:
        new[name] = [dot[0], dot[1]]
    return new
