"""Log-record slots: they merge key by key, and the messages rebuilt from them do not
depend on the order in which the slots and the span came."""

from __future__ import annotations

import itertools
from typing import Any

from hivekeeper.domain.log_slots import SLOTS_KEY, slot_key
from hivekeeper.domain.merge import apply_ops, merge_fields
from hivekeeper.domain.types import Key, MergeOp, StoredRow, Update, Upsert

P = "proj"
NOW = 1_000_000.0
SYSTEM = {"role": "system", "content": "Be terse."}
USER = {"role": "user", "content": "Hi"}
CHOICE = {"role": "assistant", "content": "Hello", "finish_reason": "stop"}


def _slots(event_id: str, *slots: tuple[str, dict[str, Any]]) -> Update:
    return Update(P, {"event_id": event_id, "metadata": {SLOTS_KEY: dict(slots)}})


def _span(event_id: str, **fields: Any) -> Upsert:
    return Upsert(
        P,
        {"event_id": event_id, "session_id": "s", "event_type": "model", **fields},  # type: ignore[typeddict-item]
    )


def _applied(ops: list[MergeOp]) -> StoredRow:
    rows: dict[Key, StoredRow] = {}
    for op in ops:  # one transaction per op: each arrives in its own export
        apply_ops(rows, [op], NOW)
    return rows[(P, "e")]


def test_slot_keys_sort_by_time_then_index() -> None:
    keys = [
        slot_key(10, 2, "ff"),
        slot_key(9, 7, "00"),
        slot_key(10, 1, "aa"),
        slot_key(100, 0, "a"),
    ]
    assert sorted(keys) == [keys[1], keys[2], keys[0], keys[3]]


def test_slots_merge_key_by_key_and_other_metadata_one_level() -> None:
    base = {"metadata": {SLOTS_KEY: {"a": {"inputs": [SYSTEM]}}, "otel": {"x": 1}}}
    patch = {"metadata": {SLOTS_KEY: {"b": {"inputs": [USER]}}, "otel": {"y": 2}}}
    merged = merge_fields(base, patch)
    assert merged["metadata"] == {
        SLOTS_KEY: {"a": {"inputs": [SYSTEM]}, "b": {"inputs": [USER]}},
        "otel": {"y": 2},
    }
    assert base["metadata"][SLOTS_KEY] == {"a": {"inputs": [SYSTEM]}}  # not modified


def test_the_rebuilt_messages_are_the_same_in_every_arrival_order() -> None:
    parts: list[MergeOp] = [
        _span("e", inputs={"query": "kept"}, outputs={"content": "from the span", "id": "r1"}),
        _slots("e", (slot_key(5, 0, "a"), {"inputs": [SYSTEM]})),
        _slots("e", (slot_key(5, 1, "b"), {"inputs": [USER]})),
        _slots("e", (slot_key(9, 0, "c"), {"outputs": [CHOICE]})),
    ]
    results = []
    for order in itertools.permutations(parts):
        row = _applied(list(order))
        results.append((row["inputs"], row["outputs"], row["event_type"], row["pending_since"]))
    first = results[0]
    assert all(result == first for result in results)
    inputs, outputs, event_type, pending_since = first
    assert inputs == {"query": "kept", "chat_history": [SYSTEM, USER]}
    # The slots' message wins the keys it has; the span's other keys stay.
    assert outputs == {**CHOICE, "id": "r1"}
    assert (event_type, pending_since) == ("model", None)


def test_several_output_messages_are_choices_and_a_pending_event_holds_its_slots() -> None:
    first = {"role": "assistant", "content": "A"}
    second = {"role": "assistant", "tool_calls": [{"id": "t1"}]}
    row = _applied(
        [
            _slots("e", (slot_key(2, 0, "b"), {"outputs": [second]})),
            _slots("e", (slot_key(1, 0, "a"), {"outputs": [first]})),
        ]
    )
    assert row["event_type"] is None  # pending until its span comes
    assert row["outputs"] == {**first, "choices": [first, second]}
    row = _applied(
        [
            _slots("e", (slot_key(1, 0, "a"), {"outputs": [first]})),
            _span("e", outputs={"content": "ignored", "tool_calls": "ignored"}),
            _slots("e", (slot_key(2, 0, "b"), {"outputs": [second]})),
        ]
    )
    assert row["outputs"] == {**first, "choices": [first, second]}


def test_a_row_without_slots_is_untouched() -> None:
    row = _applied([_span("e", inputs={"chat_history": [USER]}, outputs={"content": "x"})])
    assert row["inputs"] == {"chat_history": [USER]}
    assert row["outputs"] == {"content": "x"}
