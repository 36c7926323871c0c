"""Merging two states of one record: per-field multi-value registers under a version vector.

Pure Python (no SQL, no Qt). A record state is its version vector (the causal context), the dot
of each field's current value (explicit stamp, or the creation dot), the values, and the open
*siblings*: concurrent values of a field that lost the deterministic choice. The join of two
states keeps, per field, every (dot, value) that the other side has not seen or also keeps; the
value shown is the one with the largest ``(counter, replica)`` dot, the rest stay as siblings
until a person resolves them. The join is commutative, associative and idempotent, so bundles
can be imported in any order, twice, or relayed, and every database ends in the same state.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from integrationsplaner.domain.versioning import Dot, Order, compare, dominates, field_dot
from integrationsplaner.domain.versioning import merge as merge_vv


def dot_key(dot: Dot) -> tuple[int, str]:
    """Order of dots for the deterministic winner: larger counter, then larger replica id."""
    return (dot[1], dot[0])


@dataclass
class State:
    vv: dict[str, int]
    stamps: dict[str, list[Any]]
    origin: str
    values: dict[str, Any]
    siblings: dict[str, list[tuple[str, int, Any]]] = field(default_factory=dict)

    def dot(self, name: str) -> Dot:
        return field_dot(self.stamps, self.origin, name)

    def field_set(self, name: str) -> dict[Dot, Any]:
        result = {self.dot(name): self.values.get(name)}
        for replica, counter, value in self.siblings.get(name, ()):
            result.setdefault((replica, counter), value)
        return result


@dataclass
class DeleteConflict:
    """One side deleted the record while the other changed it, neither having seen the other."""

    delete_dot: Dot
    edit_dot: Dot
    deleted_locally: bool


@dataclass
class Outcome:
    order: Order
    state: State
    changed_fields: list[str]  # fields whose shown value differs from the local one
    new_conflicts: list[str]  # fields with a sibling value the local state did not have
    delete_conflict: DeleteConflict | None = None


def open_siblings(state: State, name: str) -> list[tuple[str, int, Any]]:
    """Siblings whose value differs from the shown one (equal values are kept, not shown)."""
    shown = state.values.get(name)
    return [s for s in state.siblings.get(name, ()) if s[2] != shown]


def _join_field(local: State, remote: State, name: str) -> dict[Dot, Any]:
    sl, sr = local.field_set(name), remote.field_set(name)
    if sl.keys() == sr.keys():
        return sl
    result: dict[Dot, Any] = {}
    for d, v in sl.items():
        if d in sr or not dominates(remote.vv, d):
            result[d] = v
    for d, v in sr.items():
        if d not in sl and not dominates(local.vv, d):
            result[d] = v
    if not result:  # inconsistent input; keep the newest dot rather than nothing
        both = {**sr, **sl}
        best = max(both, key=dot_key)
        result[best] = both[best]
    return result


def join(local: State, remote: State, fields: Iterable[str]) -> Outcome:
    """The merged state of ``local`` with ``remote``; see the module docstring."""
    order = compare(local.vv, remote.vv)
    names = list(fields)
    if order in (Order.EQUAL, Order.AFTER):
        return Outcome(order, local, [], [])
    if order is Order.BEFORE:
        changed = [n for n in names if remote.values.get(n) != local.values.get(n)]
        new_conflicts = [n for n in names if _new_open(local, remote, n)]
        return Outcome(order, remote, changed, new_conflicts)
    origin = min(local.origin, remote.origin)
    values: dict[str, Any] = {}
    stamps: dict[str, list[Any]] = {}
    siblings: dict[str, list[tuple[str, int, Any]]] = {}
    for name in names:
        joined = _join_field(local, remote, name)
        winner = max(joined, key=dot_key)
        values[name] = joined[winner]
        if winner != (origin, 1):
            stamps[name] = [winner[0], winner[1]]
        rest = sorted(((d[0], d[1], v) for d, v in joined.items() if d != winner),
                      key=lambda s: (s[1], s[0]))
        if rest:
            siblings[name] = rest
    merged = State(merge_vv(local.vv, remote.vv), stamps, origin, values, siblings)
    changed = [n for n in names if merged.values.get(n) != local.values.get(n)]
    new_conflicts = [n for n in names if _new_open(local, merged, n)]
    return Outcome(order, merged, changed, new_conflicts,
                   _delete_conflict(local, remote, merged, names))


def _new_open(local: State, result: State, name: str) -> bool:
    """Whether the result has an open conflict on the field that the local state did not show
    in this form (a new concurrent value, or a conflict that was not there before)."""
    after = open_siblings(result, name)
    if not after:
        return False
    before = {(r, c) for r, c, _v in open_siblings(local, name)}
    if not before:
        return True
    return ({(r, c) for r, c, _v in after} | {result.dot(name)}) != (before | {local.dot(name)})


def _delete_conflict(local: State, remote: State, merged: State,
                     names: list[str]) -> DeleteConflict | None:
    if not merged.values.get("deleted"):
        return None
    wd = merged.dot("deleted")
    for deleter, editor, deleted_locally in ((remote, local, False), (local, remote, True)):
        if dominates(editor.vv, wd) or not dominates(deleter.vv, wd):
            continue
        edits = [editor.dot(n) for n in names if n != "deleted"
                 and not dominates(deleter.vv, editor.dot(n))]
        if edits:
            return DeleteConflict(wd, max(edits, key=dot_key), deleted_locally)
    return None


def state_of(vv: Mapping[str, int], stamps: Mapping[str, Any], origin: str,
             values: dict[str, Any], siblings: Mapping[str, Any] | None = None) -> State:
    return State(
        dict(vv), {k: list(v) for k, v in stamps.items()}, origin, values,
        {k: [(str(s[0]), int(s[1]), s[2]) for s in v] for k, v in (siblings or {}).items()},
    )
