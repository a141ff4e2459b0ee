"""The merge rule and the write planner, on their own (pure functions, no store)."""

from __future__ import annotations

import pytest

from hivekeeper.domain.errors import EventTypeConflict, ValidationFailed
from hivekeeper.domain.merge import apply_ops, in_write_order, merge_fields, rollup_metadata
from hivekeeper.domain.types import (
    DeleteEvent,
    EventPatch,
    ExpirePending,
    ExpireSessions,
    Key,
    Skipped,
    StoredRow,
    Update,
    Upsert,
)

P = "proj"
NOW = 1_000_000.0


def _event(event_id: str, session_id: str = "s", **fields: object) -> Upsert:
    patch: EventPatch = {"event_id": event_id, "session_id": session_id, "event_type": "tool"}
    patch.update(fields)  # type: ignore[typeddict-item]
    return Upsert(P, patch)


def test_objects_merge_key_by_key_and_scalars_replace() -> None:
    base = {"metadata": {"a": 1, "b": 1}, "event_name": "x", "error": "bad", "duration": 5}
    patch = {"metadata": {"b": 2, "c": 3}, "event_name": "y", "error": None, "duration": None}
    assert merge_fields(base, patch) == {
        "metadata": {"a": 1, "b": 2, "c": 3},
        "event_name": "y",
        "error": "bad",
        "duration": 5,
    }


def test_children_are_an_ordered_union_and_merge_is_idempotent() -> None:
    once = merge_fields({"children_ids": ["a", "b"]}, {"children_ids": ["c", "a", "c"]})
    assert once["children_ids"] == ["a", "b", "c"]
    assert merge_fields(once, {"children_ids": ["c", "a"]}) == once


def test_merge_does_not_modify_its_arguments() -> None:
    base = {"metadata": {"a": 1}}
    merge_fields(base, {"metadata": {"b": 2}})
    assert base == {"metadata": {"a": 1}}


def test_new_event_gets_defaults_and_creates_its_session() -> None:
    rows: dict[Key, StoredRow] = {}
    changed = apply_ops(rows, [_event("e", start_time=100.0, end_time=350.0, source="w")], NOW)
    assert changed == {(P, "e"), (P, "s")}
    event, session = rows[(P, "e")], rows[(P, "s")]
    assert event["parent_id"] == "s"
    assert event["event_name"] == "unknown"
    assert event["duration"] == 250.0
    assert session["event_type"] == "session"
    assert session["source"] == "w"
    assert session["num_events"] == 1
    assert (session["start_time"], session["end_time"]) == (100.0, 350.0)


def test_missing_start_time_is_the_server_clock() -> None:
    rows: dict[Key, StoredRow] = {}
    apply_ops(rows, [_event("e")], NOW)
    assert rows[(P, "e")]["start_time"] == NOW


def test_repeat_of_same_batch_gives_same_state() -> None:
    rows: dict[Key, StoredRow] = {}
    ops = [_event("e", metadata={"cost": 1.5}, event_type="model", feedback={"r": 1})]
    apply_ops(rows, ops, NOW)
    first = {k: dict(v) for k, v in rows.items()}
    apply_ops(rows, ops, NOW)
    assert rows == first
    assert rollup_metadata(rows[(P, "s")])["cost"] == 1.5


def test_update_before_event_wins_over_the_event() -> None:
    rows: dict[Key, StoredRow] = {}
    apply_ops(rows, [Update(P, {"event_id": "e", "metadata": {"k": "late"}, "duration": 9.0})], NOW)
    assert rows[(P, "e")]["event_type"] is None  # pending
    assert (P, "s") not in rows
    apply_ops(
        rows, [_event("e", metadata={"k": "early", "own": 1}, start_time=10.0, end_time=50.0)], NOW
    )
    event = rows[(P, "e")]
    assert event["metadata"] == {"k": "late", "own": 1}
    assert event["duration"] == 9.0
    assert rows[(P, "s")]["num_events"] == 1


def test_pending_session_update_merges_into_implicit_session() -> None:
    rows: dict[Key, StoredRow] = {}
    apply_ops(rows, [Update(P, {"event_id": "s", "metadata": {"who": "me"}})], NOW)
    apply_ops(rows, [_event("e")], NOW)
    assert rows[(P, "s")]["event_type"] == "session"
    assert rows[(P, "s")]["metadata"] == {"who": "me"}


def test_rollups_move_with_an_event_that_changes_session() -> None:
    rows: dict[Key, StoredRow] = {}
    apply_ops(
        rows, [_event("e", session_id="s1", event_type="model", metadata={"total_tokens": 4})], NOW
    )
    apply_ops(rows, [_event("e", session_id="s2", event_type="model")], NOW)
    assert rows[(P, "s1")]["num_events"] == 0
    assert rows[(P, "s1")]["total_tokens"] == 0
    assert rows[(P, "s2")]["num_events"] == 1
    assert rows[(P, "s2")]["total_tokens"] == 4


def test_explicit_duration_survives_later_end_time() -> None:
    rows: dict[Key, StoredRow] = {}
    apply_ops(rows, [_event("e", start_time=0.0, end_time=10.0)], NOW)
    apply_ops(rows, [Update(P, {"event_id": "e", "end_time": 30.0})], NOW)
    assert rows[(P, "e")]["duration"] == 30.0
    apply_ops(rows, [Update(P, {"event_id": "e", "duration": 7.0})], NOW)
    apply_ops(rows, [Update(P, {"event_id": "e", "end_time": 40.0})], NOW)
    assert rows[(P, "e")]["duration"] == 7.0


def test_session_start_repeated_without_name_keeps_name() -> None:
    rows: dict[Key, StoredRow] = {}
    session: EventPatch = {
        "event_id": "s",
        "session_id": "s",
        "event_type": "session",
        "event_name": "job",
    }
    apply_ops(rows, [Upsert(P, session)], NOW)
    apply_ops(rows, [Upsert(P, {"event_id": "s", "session_id": "s", "event_type": "session"})], NOW)
    assert rows[(P, "s")]["event_name"] == "job"


def test_a_later_end_time_stretches_the_session() -> None:
    rows: dict[Key, StoredRow] = {}
    apply_ops(rows, [_event("e", start_time=100.0, end_time=200.0)], NOW)
    changed = apply_ops(rows, [Update(P, {"event_id": "e", "end_time": 900.0})], NOW)
    assert (P, "s") in changed
    assert rows[(P, "s")]["end_time"] == 900.0
    assert rows[(P, "s")]["duration"] == 800.0
    assert rows[(P, "s")]["num_events"] == 1
    unchanged = apply_ops(rows, [Update(P, {"event_id": "e", "metadata": {"x": 1}})], NOW)
    assert unchanged == {(P, "e")}  # nothing for the session to save


def test_cost_sums_do_not_show_float_drift() -> None:
    rows: dict[Key, StoredRow] = {}
    for i, cost in enumerate([0.1, 0.2, 0.3]):
        apply_ops(rows, [_event(f"e{i}", event_type="model", metadata={"cost": cost})], NOW)
    assert rollup_metadata(rows[(P, "s")])["cost"] == 0.6


def test_write_order_groups_merges_and_keeps_removals_after_them() -> None:
    upsert = Upsert("p", {"event_id": "e1", "session_id": "s", "event_type": "tool"})
    update = Update("p", {"event_id": "e1", "metadata": {"a": 1}})
    delete = DeleteEvent("p", "e1")
    expire = ExpireSessions("p", 0.0)
    pending = ExpirePending("p", 0.0)
    steps = list(in_write_order([upsert, update, delete, expire, pending, upsert]))
    assert steps == [[upsert, update], delete, expire, pending, [upsert]]
    assert list(in_write_order([])) == []


# --- an event's type is set once ---


def test_a_pending_row_takes_its_first_type_and_keeps_it() -> None:
    rows: dict[Key, StoredRow] = {}
    apply_ops(rows, [Update(P, {"event_id": "e", "metadata": {"k": 1}})], NOW)
    apply_ops(rows, [_event("e", event_type="model")], NOW)
    assert rows[(P, "e")]["event_type"] == "model"
    before = {k: dict(v) for k, v in rows.items()}
    retype = _event("e", event_type="chain", metadata={"k": 2})
    with pytest.raises(EventTypeConflict) as refused:
        apply_ops(rows, [retype], NOW)
    conflict = refused.value
    assert (conflict.event_id, conflict.stored_type, conflict.sent_type) == ("e", "model", "chain")
    assert conflict.status == 409 and conflict.culprit is retype
    assert "e" in conflict.message and "model" in conflict.message and "chain" in conflict.message
    assert rows == before  # refused before anything of it was applied
    apply_ops(rows, [_event("e", event_type="model", metadata={"k": 3})], NOW)  # same type merges
    assert rows[(P, "e")]["metadata"] == {"k": 3}


def test_an_update_or_session_start_naming_another_type_is_refused() -> None:
    rows: dict[Key, StoredRow] = {}
    apply_ops(rows, [_event("e")], NOW)
    for op in (
        Update(P, {"event_id": "e", "event_type": "model"}),
        Upsert(P, {"event_id": "e", "session_id": "e", "event_type": "session"}),
    ):
        with pytest.raises(EventTypeConflict):
            apply_ops(rows, [op], NOW)
    apply_ops(rows, [Update(P, {"event_id": "e", "metadata": {"untyped": True}})], NOW)
    assert rows[(P, "e")]["event_type"] == "tool"


def test_a_conflict_within_one_batch_is_found_too() -> None:
    first, second = _event("e", event_type="model"), _event("e", event_type="tool")
    with pytest.raises(EventTypeConflict) as refused:
        apply_ops({}, [first, second], NOW)
    assert refused.value.culprit is second


def test_keep_stored_upserts_are_skipped_alone_and_reported() -> None:
    rows: dict[Key, StoredRow] = {}
    apply_ops(rows, [_event("e", event_type="model", event_name="llm")], NOW)
    span = Upsert(
        P,
        {"event_id": "e", "session_id": "s", "event_type": "tool", "event_name": "span"},
        on_type_conflict="keep_stored",
    )
    other = Upsert(P, {**span.patch, "event_id": "f"}, on_type_conflict="keep_stored")
    skipped: list[Skipped] = []
    changed = apply_ops(rows, [span, other], NOW, skipped=skipped)
    assert [(note.op, note.conflict.stored_type) for note in skipped] == [(span, "model")]
    assert (P, "e") not in changed and (P, "f") in changed
    assert (rows[(P, "e")]["event_type"], rows[(P, "e")]["event_name"]) == ("model", "llm")
    assert rows[(P, "s")]["num_events"] == 2


# --- children_ids are capped ---


def test_children_ids_past_the_cap_are_refused_naming_the_field() -> None:
    rows: dict[Key, StoredRow] = {}
    apply_ops(rows, [_event("e", children_ids=["a", "b"])], NOW, max_children_ids=3)
    grow = Update(P, {"event_id": "e", "children_ids": ["b", "c", "d"]})
    with pytest.raises(ValidationFailed) as refused:
        apply_ops(rows, [grow], NOW, max_children_ids=3)
    assert refused.value.field == "children_ids" and refused.value.culprit is grow
    assert "max_children_ids" in refused.value.message
    pending = Update(P, {"event_id": "p", "children_ids": list("abcd")})
    with pytest.raises(ValidationFailed):  # a new or pending row too
        apply_ops(rows, [pending], NOW, max_children_ids=3)
    apply_ops(rows, [Update(P, {"event_id": "e", "children_ids": ["c"]})], NOW, max_children_ids=3)
    assert rows[(P, "e")]["children_ids"] == ["a", "b", "c"]


def test_a_row_already_past_a_lowered_cap_still_takes_writes_adding_no_child() -> None:
    rows: dict[Key, StoredRow] = {}
    apply_ops(rows, [_event("e", children_ids=list("abcde"))], NOW)
    more = [Update(P, {"event_id": "e", "metadata": {"x": 1}, "children_ids": ["a"]})]
    apply_ops(rows, more, NOW, max_children_ids=3)
    assert rows[(P, "e")]["metadata"] == {"x": 1}
    grow = Update(P, {"event_id": "e", "children_ids": ["f"]})
    with pytest.raises(ValidationFailed):
        apply_ops(rows, [grow], NOW, max_children_ids=3)


# --- pending rows know their age ---


def test_a_pending_row_remembers_its_first_write_until_its_event_comes() -> None:
    rows: dict[Key, StoredRow] = {}
    apply_ops(rows, [Update(P, {"event_id": "e", "metadata": {"a": 1}})], NOW)
    apply_ops(rows, [Update(P, {"event_id": "e", "metadata": {"b": 2}})], NOW + 5)
    assert rows[(P, "e")]["pending_since"] == NOW
    apply_ops(rows, [_event("e")], NOW + 9)
    assert rows[(P, "e")]["pending_since"] is None
    assert rows[(P, "e")]["metadata"] == {"a": 1, "b": 2}
    assert rows[(P, "s")]["pending_since"] is None
    apply_ops(rows, [Update(P, {"event_id": "typed", "event_type": "chain"})], NOW)
    assert rows[(P, "typed")]["pending_since"] is None  # a typed row is an event
    apply_ops(rows, [Update(P, {"event_id": "s2", "event_name": "named"})], NOW)
    apply_ops(rows, [_event("x", session_id="s2")], NOW)
    assert rows[(P, "s2")]["event_type"] == "session"
    assert rows[(P, "s2")]["pending_since"] is None  # an implicit session is an event
