"""Merging two states of one record: per-field multi-value registers under a version vector.

Pure Python (no SQL, no Qt). A record state is its version vector (the causal context), the dot
of each field's current value (explicit stamp, or the creation dot), the values, and the open
*siblings*: concurrent values of a field that lost the deterministic choice. The join of two
states keeps, per field, every (dot, value) that the other side has not seen or also keeps; the
value shown is the one with the largest ``(counter, replica)`` dot, the rest stay as siblings
until a person resolves them. The join is commutative, associative and idempotent, so bundles
can be imported in any order, twice, or relayed, and every database ends in the same state.

The tombstone field ``deleted`` differs in two ways. A deletion wins: the shown value is the
largest dot with the value true, if there is one. And a deletion that meets changes it has not
seen (delete versus edit) keeps the dot of every such change as a sibling of ``deleted``
with the value None (:data:`EDITED`, a *marker*: "the record was changed at this write, not
deleted"). Being a sibling, a marker travels in bundles. It is kept until the other side of a
merge has settled it (seen the write, knows the deletion, and keeps no marker: a person decided,
which is a new write of ``deleted``), until the write is superseded, or until the record shows
as not deleted (restored: nothing left to decide); see :func:`_markers`. So every database
shows the same open delete conflict, whichever bundles meet where (exactly so with one deleting
installation: the markers are relative to the deletion shown, which may change while several
installations delete and restore concurrently). A marker is never a value: it never wins.
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


#: The tombstone field (see the module docstring).
DELETED = "deleted"

#: The value of a delete-versus-edit marker among the siblings of ``deleted``.
EDITED = None


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
        """Every (dot, value) of the field: the shown one and the siblings (for ``deleted``
        without the markers, which are no values: see :meth:`markers`)."""
        result = {self.dot(name): self.values.get(name)}
        for replica, counter, value in self.siblings.get(name, ()):
            if value is EDITED and name == DELETED:
                continue
            result.setdefault((replica, counter), value)
        return result

    def markers(self) -> set[Dot]:
        """The writes an open delete conflict holds against the deletion (see the module
        docstring)."""
        return {(r, c) for r, c, v in self.siblings.get(DELETED, ()) if v is EDITED}


def winner_of(name: str, joined: dict[Dot, Any]) -> Dot:
    """The dot of the shown value: the largest; for ``deleted`` the largest deletion, or
    else the largest restore (markers never win)."""
    if name == DELETED:
        values = [d for d in joined if joined[d] is not EDITED] or list(joined)
        return max(values, key=lambda d: (joined[d] is True, dot_key(d)))
    return max(joined, key=dot_key)


@dataclass
class DeleteConflict:
    """One side deleted the record while the other changed it, neither having seen the other."""

    delete_dot: Dot
    edit_dots: list[Dot]  # every write the deletion has not seen, oldest first


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
        winner = winner_of(name, joined)
        values[name] = joined[winner]
        if winner != (origin, 1):
            stamps[name] = [winner[0], winner[1]]
        rest = sorted(((d[0], d[1], v) for d, v in joined.items() if d != winner),
                      key=lambda s: (s[1], s[0]))
        if rest:
            siblings[name] = rest
    merged = State(merge_vv(local.vv, remote.vv), stamps, origin, values, siblings)
    conflict = _delete_conflict(local, remote, merged, names)
    if values.get(DELETED) is True:
        markers = _markers(local, remote, merged, names, conflict)
        if markers:
            kept = merged.siblings.setdefault(DELETED, [])
            kept += [(*d, EDITED) for d in markers if d not in merged.field_set(DELETED)]
            kept.sort(key=lambda s: (s[1], s[0]))
    changed = [n for n in names if merged.values.get(n) != local.values.get(n)]
    new_conflicts = [n for n in names if _new_open(local, merged, n)]
    return Outcome(order, merged, changed, new_conflicts, conflict)


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


def _markers(local: State, remote: State, merged: State, names: list[str],
             conflict: DeleteConflict | None) -> set[Dot]:
    """The markers of the merged (deleted) state: the writes newly found concurrent with the
    deletion, and the markers of either side unless the other side has settled them (it has
    seen the write, knows the deletion, and keeps no marker: it decided, restored, or deleted
    after seeing the write); only writes the merged record still holds (a write superseded by a
    later one is no change the deletion would lose: the later one is)."""
    result = set(conflict.edit_dots) if conflict is not None else set()
    shown = merged.dot(DELETED)
    for side, other in ((local, remote), (remote, local)):
        theirs = other.markers()
        # the other side knows the deletion: it has seen it, or it shows its own
        knows = dominates(other.vv, side.dot(DELETED)) or (
            other.values.get(DELETED) is True and other.dot(DELETED) == shown)
        result |= {d for d in side.markers()
                   if d in theirs or not (knows and dominates(other.vv, d))}
    held = {d for n in names if n != DELETED for d in merged.field_set(n)}
    return result & held


def _delete_conflict(local: State, remote: State, merged: State,
                     names: list[str]) -> DeleteConflict | None:
    if not merged.values.get(DELETED):
        return None
    wd = merged.dot(DELETED)
    for deleter, editor in ((remote, local), (local, remote)):
        if dominates(editor.vv, wd) or not dominates(deleter.vv, wd):
            continue
        # every write the editor still holds (shown, or kept as a sibling) counts
        edits = [d for n in names if n != DELETED for d in editor.field_set(n)
                 if not dominates(deleter.vv, d)]
        if edits:
            return DeleteConflict(wd, sorted(set(edits), key=dot_key))
    return None


def state_of(vv: Mapping[str, int], stamps: Mapping[str, Any], origin: str,
             values: dict[str, Any], siblings: Mapping[str, Any] | None = None) -> State:
    return State(
        dict(vv), {k: list(v) for k, v in stamps.items()}, origin, values,
        {k: [(str(s[0]), int(s[1]), s[2]) for s in v] for k, v in (siblings or {}).items()},
    )
