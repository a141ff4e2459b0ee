"""One exception counts once in its session's `error_count`, on every store, whatever
order its events arrive in; every event stays stored, the repeats marked.

The shape is what the HoneyHive SDK's `@trace` sends for `outer()` calling `inner()`,
which raises: `inner` and `outer` fail with the same error, and each gets an
`<fn>_error` sibling (named after it, under the same parent).
"""

from __future__ import annotations

import itertools

import pytest

from hivekeeper.domain.types import DeleteEvent, EventPatch, StoredRow, Update, Upsert
from hivekeeper.store import Store

NOW = 1_800_000_000_000.0
ERROR = "ValueError: boom 3"


def _event(event_id: str, parent: str, error: str | None, **more: object) -> EventPatch:
    patch: EventPatch = {"event_id": event_id, "session_id": "s", "parent_id": parent,
                         "event_type": "tool", "event_name": event_id, "error": error}  # fmt: skip
    patch.update(more)  # type: ignore[typeddict-item]  # test data
    return patch


NESTED = {
    "outer": _event("outer", "s", ERROR),
    "inner": _event("inner", "outer", ERROR),
    "inner_error": _event("inner_error", "outer", "boom 3"),
    "outer_error": _event("outer_error", "s", "boom 3"),
}


def _row(store: Store, project: str, event_id: str) -> StoredRow:
    row = store.get_event(project, event_id)
    assert row is not None, f"{event_id} is not stored"
    return row


def _marks(store: Store, project: str) -> dict[str, str | None]:
    return {
        name: _row(store, project, name)["metadata"].get("error_repeats") for name in NESTED
    }


def test_one_exception_through_two_nested_functions_counts_once(
    store: Store, project: str
) -> None:
    session: EventPatch = {"event_id": "s", "session_id": "s", "event_type": "session"}
    store.write_batch(
        [Upsert(project, session), *(Upsert(project, p) for p in NESTED.values())], NOW
    )
    assert _row(store, project, "s")["error_count"] == 1
    # Every event is kept with its error; the repeats name the event they repeat.
    assert {name: _row(store, project, name)["error"] for name in NESTED} == {
        "outer": ERROR, "inner": ERROR, "inner_error": "boom 3", "outer_error": "boom 3",
    }  # fmt: skip
    assert _marks(store, project) == {
        "outer": "inner", "inner": None, "inner_error": "inner", "outer_error": "outer",
    }  # fmt: skip


@pytest.mark.parametrize(
    "order",
    [
        ["outer_error", "outer", "inner_error", "inner"],  # the parents first
        ["inner_error", "outer_error", "inner", "outer"],
    ],
)
def test_the_count_is_the_same_whatever_order_the_events_arrive_in(
    store: Store, project: str, order: list[str]
) -> None:
    for name in order:  # one batch each: every rule meets rows stored earlier
        store.write_batch([Upsert(project, NESTED[name])], NOW)
    assert _row(store, project, "s")["error_count"] == 1
    assert _marks(store, project)["inner"] is None


def test_distinct_errors_each_count(store: Store, project: str) -> None:
    store.write_batch(
        [
            Upsert(project, _event("a", "s", "KeyError: 'x'")),
            Upsert(project, _event("b", "a", "TimeoutError")),
            Upsert(project, _event("c", "s", "TimeoutError")),  # a sibling, not a child
            Upsert(project, _event("d_error", "s", "boom")),  # no `d` beside it
        ],
        NOW,
    )
    assert _row(store, project, "s")["error_count"] == 4


def test_an_update_that_changes_the_error_moves_the_count(store: Store, project: str) -> None:
    store.write_batch([Upsert(project, p) for p in NESTED.values()], NOW)
    # `outer` turns out to have failed for its own reason: it counts again.
    store.write_batch([Update(project, {"event_id": "outer", "error": "RuntimeError"})], NOW)
    assert _row(store, project, "s")["error_count"] == 2
    marks = _marks(store, project)
    assert (marks["outer"], marks["outer_error"]) == (None, "outer")


def test_deleting_a_repeat_leaves_the_count(store: Store, project: str) -> None:
    store.write_batch([Upsert(project, p) for p in NESTED.values()], NOW)
    store.write_batch([DeleteEvent(project, "outer_error")], NOW)
    assert _row(store, project, "s")["error_count"] == 1


def test_a_repeated_batch_keeps_the_count(store: Store, project: str) -> None:
    batch = [Upsert(project, p) for p in NESTED.values()]
    for _ in itertools.repeat(None, 2):
        store.write_batch(batch, NOW)
    assert _row(store, project, "s")["error_count"] == 1
