"""Bounds on client JSON: nesting depth, string length, batch length, each naming the field."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from hivekeeper.domain.errors import ValidationFailed
from hivekeeper.domain.limits import JsonLimits, check_json
from hivekeeper.ingest.rest_writes import plan_batch, unwrap

LIMITS = JsonLimits(max_depth=4, max_string_chars=8)


def _nested(depth: int) -> Any:
    """`depth` levels of arrays and objects, alternating, the outermost an object."""
    value: Any = "leaf"
    for i in range(depth):
        value = {"k": value} if i % 2 else [value]
    return value


def _fault(value: object, limits: JsonLimits = LIMITS, **kwargs: Any) -> ValidationFailed:
    with pytest.raises(ValidationFailed) as caught:
        check_json(value, limits, **kwargs)
    assert caught.value.status == 400
    assert caught.value.field is not None
    assert caught.value.message.startswith(caught.value.field + ": ")
    return caught.value


@pytest.mark.parametrize(
    "value",
    [None, 1, 1.5, True, "12345678", [], {}, _nested(4), {"k": ["12345678"], "12345678": 1}],
)
def test_within_the_limits(value: object) -> None:
    check_json(value, LIMITS)


def test_depth_limit_names_the_container_past_it() -> None:
    body = {"events": [{"inputs": {"x": [[1]]}}]}
    fault = _fault(body)
    assert fault.field == "events[0].inputs.x"
    assert "max_json_depth" in fault.message


# strings=False takes the fast path (encoding by orjson), True the walk: same answers.
@pytest.mark.parametrize("strings", [False, True])
def test_depth_counts_the_body_as_level_one(strings: bool) -> None:
    check_json(_nested(4), LIMITS, strings=strings)
    assert _fault(_nested(5), strings=strings).field == "body[0].k[0].k"
    assert _fault([[[[[1]]]]], strings=strings).field == "body[0][0][0][0]"
    limits = JsonLimits(max_depth=200)
    check_json(_nested(200), limits, strings=strings)
    assert "max_json_depth" in _fault(_nested(201), limits, strings=strings).message
    assert "max_json_depth" in _fault(_nested(300), limits, strings=strings).message


def test_values_orjson_cannot_encode_are_still_checked() -> None:
    check_json({"n": 2**70, "x": float("nan"), "s": "\ud800"}, LIMITS, strings=False)
    assert _fault([2**70, [[[[1]]]]], strings=False).field == "body[1][0][0][0]"


def test_long_string_names_its_field() -> None:
    fault = _fault({"event": {"outputs": {"text": "x" * 9}}})
    assert fault.field == "event.outputs.text"
    assert "max_string_chars" in fault.message
    assert _fault({"a": ["ok", "123456789"]}).field == "a[1]"
    assert _fault("123456789").field == "body"


def test_long_key_names_the_object_holding_it() -> None:
    assert _fault({"inputs": {"k" * 9: 1}}).field == "inputs"


def test_strings_false_skips_only_the_string_check() -> None:
    check_json({"a": "x" * 100, "b" * 100: 1}, LIMITS, strings=False)
    assert "max_json_depth" in _fault(_nested(5), strings=False).message


def test_where_prefixes_the_path() -> None:
    assert _fault({"x": "123456789"}, where="event").field == "event.x"


def test_first_fault_in_document_order_is_named() -> None:
    assert _fault({"a": [[[[[1]]]]], "b": "123456789"}).field == "a[0][0][0]"


def test_very_deep_value_is_checked_without_recursion_errors() -> None:
    # As deep as orjson parses (1024 levels): found by the walk, named at the limit.
    value = orjson.loads("[" * 1000 + "]" * 1000)
    fault = _fault(value, JsonLimits())
    assert fault.field == "body" + "[0]" * 64


def test_check_never_changes_the_value() -> None:
    value = {"a": [{"b": "c"}], "d": 1}
    copy = orjson.loads(orjson.dumps(value))
    check_json(value, LIMITS)
    assert value == copy


def test_unwrapped_json_text_is_held_to_the_depth_limit() -> None:
    text = orjson.dumps({"event_type": "tool", "inputs": _nested(4)}).decode()
    with pytest.raises(ValidationFailed) as caught:
        unwrap({"event": text}, "event", LIMITS)
    assert caught.value.field == "event.inputs.k[0].k"
    assert unwrap({"event": '{"a": [1]}'}, "event", LIMITS) == {"a": [1]}


def test_batch_length_limit() -> None:
    events = [{"event_type": "tool"}] * 3
    assert len(plan_batch("p", {"events": events}, max_events=3).ops) == 3
    with pytest.raises(ValidationFailed, match="max_batch_events") as caught:
        plan_batch("p", {"events": events}, max_events=2)
    assert caught.value.field == "events"
    with pytest.raises(ValidationFailed) as caught:
        plan_batch("p", {"logs": events}, events_key="logs", max_events=2)
    assert caught.value.field == "logs"
