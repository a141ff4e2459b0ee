"""Request bodies → validated patches and write operations."""

from __future__ import annotations

import pytest

from hivekeeper.domain.errors import ValidationFailed
from hivekeeper.domain.events import parse_event, parse_session, parse_time_ms, parse_update
from hivekeeper.ingest.rest_writes import parse_model_event, plan_batch, plan_event, unwrap


def test_session_name_falls_back_to_event_name() -> None:
    assert parse_session({"event_name": "e"})["event_name"] == "e"
    assert parse_session({"session_name": "s", "event_name": "e"})["event_name"] == "s"


def test_session_ids_are_honoured_or_generated() -> None:
    assert parse_session({"session_id": "abc"})["event_id"] == "abc"
    generated = parse_session({})
    assert generated["event_id"] == generated["session_id"]
    assert len(generated["session_id"]) == 36


def test_patch_holds_only_what_was_sent() -> None:
    patch = parse_event({"event_type": "tool", "metadata": None, "inputs": {"a": 1}, "x": 2})
    assert patch == {"event_type": "tool", "inputs": {"a": 1}, "extra": {"x": 2}}


def test_project_hint_is_not_event_data() -> None:
    assert "extra" not in parse_event({"event_type": "tool", "project": "p"})


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1795700000000, 1795700000000.0),
        (1.5, 1.5),
        ("2000", 2000.0),
        ("2026-01-01T00:00:00Z", 1767225600000.0),
        ("2026-01-01T00:00:00", 1767225600000.0),
    ],
)
def test_times_accept_numbers_and_iso(value: object, expected: float) -> None:
    assert parse_time_ms(value, "t") == expected


@pytest.mark.parametrize(
    "value", [True, "soon", -1, float("inf"), float("nan"), 1e308, "9999999999999999", [1]]
)
def test_bad_times_name_the_field(value: object) -> None:
    with pytest.raises(ValidationFailed) as info:
        parse_time_ms(value, "event.start_time")
    assert info.value.field == "event.start_time"


def test_update_needs_an_id() -> None:
    with pytest.raises(ValidationFailed) as info:
        parse_update({"metadata": {}})
    assert info.value.field == "body.event_id"
    assert parse_update({"metadata": {}}, event_id="e")["event_id"] == "e"


def test_unwrap_accepts_object_string_and_bare() -> None:
    assert unwrap({"event": {"a": 1}}, "event") == {"a": 1}
    assert unwrap({"event": '{"a": 1}'}, "event") == {"a": 1}
    assert unwrap({"a": 1}, "event") == {"a": 1}
    with pytest.raises(ValidationFailed):
        unwrap({"event": "{"}, "event")


def test_plan_event_assigns_ids_and_parent() -> None:
    planned = plan_event("p", {"event_type": "tool"})
    patch = planned.ops[0].patch
    assert planned.event_ids == [patch["event_id"]]
    assert patch["session_id"] == planned.session_id


def test_single_session_batch_uses_the_named_session() -> None:
    planned = plan_batch(
        "p",
        {
            "events": [{"event_type": "tool"}, {"event_type": "tool", "session_id": "S"}],
            "single_session": True,
        },
    )
    assert planned.session_id == "S"
    assert {op.patch["session_id"] for op in planned.ops} == {"S"}


def test_batch_without_single_session_gives_each_event_a_session() -> None:
    planned = plan_batch("p", {"events": [{"event_type": "tool"}, {"event_type": "tool"}]})
    assert planned.session_id is None
    assert len({op.patch["session_id"] for op in planned.ops}) == 2


def test_model_event_shape() -> None:
    patch = parse_model_event(
        {"model": "m", "messages": [], "response": "text", "usage": {"prompt_tokens": 1}, "cost": 2}
    )
    assert patch["event_type"] == "model"
    assert patch["config"] == {"model": "m"}
    assert patch["inputs"] == {"chat_history": []}
    assert patch["outputs"] == {"content": "text"}
    assert patch["metadata"] == {"prompt_tokens": 1, "cost": 2}
