"""Properties of the record merge itself (exchange/merge.py), without databases: three
installations write fields, delete and restore, and merge each other's states in an order drawn
by hypothesis; every pair and triple of the states reached is then joined in every order.

The join must be commutative, associative and idempotent, so that bundles may meet in any order;
a deletion always shows; and a delete-versus-edit conflict is the same whichever states meet
first (with one deleting installation; see test_concurrent_deletions_are_kept for several).
"""

from __future__ import annotations

import itertools
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from integrationsplaner.domain.versioning import bump
from integrationsplaner.exchange.merge import DELETED, EDITED, State, join, open_siblings

FIELDS = ("title", "description", DELETED)
REPLICAS = ("r1", "r2", "r3")

steps = st.lists(st.one_of(
    st.tuples(st.just("write"), st.sampled_from(REPLICAS), st.sampled_from(FIELDS[:2]),
              st.sampled_from(("a", "b", "c"))),
    # deleted and restored at one installation (see test_concurrent_deletions_are_kept)
    st.tuples(st.just("toggle"), st.just("r1")),
    st.tuples(st.just("merge"), st.sampled_from(REPLICAS), st.sampled_from(REPLICAS)),
), max_size=14)


def _write(state: State, replica: str, name: str, value: Any) -> State:
    """A local edit: a new dot for the field, the conflicts of that field decided."""
    vv, dot = bump(state.vv, replica)
    siblings = {k: list(v) for k, v in state.siblings.items() if k != name}
    return State(vv, {**state.stamps, name: list(dot)}, state.origin,
                 {**state.values, name: value}, siblings)


def _merged(local: State, remote: State) -> State:
    return join(local, remote, FIELDS).state


def _key(state: State) -> tuple[Any, ...]:
    return (tuple(sorted(state.vv.items())),
            tuple(sorted((k, tuple(v)) for k, v in state.stamps.items())),
            tuple(sorted(state.values.items())),
            tuple(sorted((k, tuple(sorted(v))) for k, v in state.siblings.items() if v)))


def _history(plan: list[tuple[Any, ...]]) -> list[State]:
    """Every state the installations pass through."""
    start = State({"r1": 1}, {}, "r1", {"title": "t", "description": "d", DELETED: False})
    states = {r: start for r in REPLICAS}
    seen = [start]
    for step in plan:
        if step[0] == "write":
            _kind, replica, name, value = step
            states[replica] = _write(states[replica], replica, name, value)
        elif step[0] == "toggle":
            replica = step[1]
            states[replica] = _write(states[replica], replica, DELETED,
                                     not states[replica].values[DELETED])
        else:
            _kind, into, source = step
            states[into] = _merged(states[into], states[source])
        seen.append(states[step[1]])
    return seen


@settings(max_examples=300, deadline=None)
@given(steps)
def test_join_is_commutative_associative_idempotent(plan: list[tuple[Any, ...]]) -> None:
    states = _history(plan)[-6:]
    for a in states:
        assert _key(_merged(a, a)) == _key(a)
    for a, b in itertools.combinations(states, 2):
        assert _key(_merged(a, b)) == _key(_merged(b, a))
    for a, b, c in itertools.combinations(states[-4:], 3):
        results = {_key(_merged(_merged(x, y), z)) for x, y, z in itertools.permutations((a, b, c))}
        assert len(results) == 1


def _seen(observer: State, state: State) -> bool:
    """Whether ``observer`` has seen the deletion of ``state``."""
    replica, counter = state.stamps[DELETED]
    return observer.vv.get(replica, 0) >= counter


def test_delete_versus_edit_travels_with_the_state() -> None:
    """r1 deletes while r2 edits; r3 gets the merge of the two from r1 and then r2's own state:
    it shows the same open delete conflict as r1, and a decision by r2 closes it everywhere."""
    start = State({"r1": 1}, {}, "r1", {"title": "t", "description": "d", DELETED: False})
    deleted = _write(start, "r1", DELETED, True)
    edited = _write(start, "r2", "description", "neu")
    at_r1 = _merged(deleted, edited)
    assert at_r1.values[DELETED] is True and at_r1.values["description"] == "neu"
    assert open_siblings(at_r1, DELETED) == [("r2", 1, EDITED)]
    at_r3 = _merged(_merged(start, at_r1), edited)  # the merged state first, then the edit
    assert _key(at_r3) == _key(at_r1)
    at_r2 = _merged(edited, at_r1)
    decided = _write(at_r2, "r2", DELETED, False)  # r2 keeps the measure
    for other in (at_r1, at_r3):
        after = _merged(other, decided)
        assert after.values[DELETED] is False and not open_siblings(after, DELETED)


def _without_markers(state: State) -> tuple[Any, ...]:
    return _key(State(state.vv, state.stamps, state.origin, state.values, {
        k: [s for s in v if not (k == DELETED and s[2] is EDITED)]
        for k, v in state.siblings.items()}))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(
    st.tuples(st.just("write"), st.sampled_from(REPLICAS), st.sampled_from(FIELDS[:2]),
              st.sampled_from(("a", "b"))),
    st.tuples(st.just("toggle"), st.sampled_from(REPLICAS)),
    st.tuples(st.just("merge"), st.sampled_from(REPLICAS), st.sampled_from(REPLICAS)),
), max_size=14))
def test_concurrent_deletions_are_kept(plan: list[tuple[Any, ...]]) -> None:
    """Several installations delete and restore concurrently: values, deletions and restores
    (every write to ``deleted``) merge in any order to the same state, and a deletion that the
    other side has not seen always shows. Only the delete-versus-edit markers may then differ
    by order: they are relative to the deletion shown, and which deletion that is can change
    as bundles arrive (exact markers would need each deletion's causal context in the
    tombstone)."""
    states = _history(plan)[-5:]
    for a, b in itertools.combinations(states, 2):
        ab = _merged(a, b)
        assert _key(ab) == _key(_merged(b, a))
        for s, o in ((a, b), (b, a)):
            if s.values[DELETED] and DELETED in s.stamps and not _seen(o, s):
                assert ab.values[DELETED] is True
    for a, b, c in itertools.combinations(states[-4:], 3):
        results = {_without_markers(_merged(_merged(x, y), z))
                   for x, y, z in itertools.permutations((a, b, c))}
        assert len(results) == 1
