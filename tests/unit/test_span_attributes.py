"""Flattened span attributes rebuilt into JSON (spec §7.1), and JSON strings parsed."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from hivekeeper.ingest.attributes import (
    MAX_JSON_DEPTH,
    MAX_PATH_SEGMENTS,
    as_number,
    indexed,
    merge_missing,
    parse_json,
    rebuild_object,
)


@pytest.mark.parametrize(
    ("flat", "expected"),
    [
        ({"a.b": 1, "a.c.d": 2}, {"a": {"b": 1, "c": {"d": 2}}}),
        ({"t.0": "x", "t.1": "y"}, {"t": ["x", "y"]}),
        ({"t.1": "y", "t.0": "x"}, {"t": ["x", "y"]}),  # order of arrival does not matter
        ({"t.0": "x", "t.2": "z"}, {"t": {"0": "x", "2": "z"}}),  # a gap: not a list
        ({"t.0.a": 1, "t.1.a": 2}, {"t": [{"a": 1}, {"a": 2}]}),
        ({"t.0.0": 1, "t.0.1": 2}, {"t": [[1, 2]]}),
        ({"t.1": "y"}, {"t": {"1": "y"}}),
        ({"a": [1, 2]}, {"a": [1, 2]}),  # an OTLP array value is already a list
    ],
)
def test_flattened_keys_are_rebuilt(flat: dict[str, Any], expected: dict[str, Any]) -> None:
    assert rebuild_object(flat.items()) == expected


@pytest.mark.parametrize(
    "flat",
    [
        {"a": 1, "a.b": 2},
        {"a.b": 2, "a": 1},
    ],
)
def test_a_value_that_is_also_a_prefix_moves_under_value(flat: dict[str, Any]) -> None:
    assert rebuild_object(flat.items()) == {"a": {"value": 1, "b": 2}}


def test_an_explicit_value_key_beats_the_bare_key() -> None:
    for flat in ({"a": 1, "a.value": 3}, {"a.value": 3, "a": 1}):
        assert rebuild_object(flat.items()) == {"a": {"value": 3}}


def test_object_values_are_data_not_index_maps() -> None:
    kvlist = {"0": "zero", "1": "one"}
    rebuilt = rebuild_object([("a.kv", kvlist), ("a.t.0", 1)])
    assert rebuilt == {"a": {"kv": {"0": "zero", "1": "one"}, "t": [1]}}
    assert rebuilt["a"]["kv"] is kvlist  # not copied


def test_deep_keys_are_capped() -> None:
    key = ".".join(f"k{i}" for i in range(MAX_PATH_SEGMENTS + 10))
    node = rebuild_object([(key, 1)])
    depth = 0
    while isinstance(node, dict):
        ((segment, node),) = node.items()
        depth += 1
    assert depth == MAX_PATH_SEGMENTS
    assert segment == ".".join(
        f"k{i}" for i in range(MAX_PATH_SEGMENTS - 1, MAX_PATH_SEGMENTS + 10)
    )


def test_indexed_families_in_index_order() -> None:
    pairs = [
        ("1.message.role", "user"),
        ("0.message.role", "system"),
        ("0.message.content", "be brief"),
        ("1.message.tool_calls.0.tool_call.id", "c1"),
        ("10.message.role", "tool"),
        ("2.message.role", "assistant"),
    ]
    assert indexed(pairs, "message") == [
        {"role": "system", "content": "be brief"},
        {"role": "user", "tool_calls": [{"tool_call": {"id": "c1"}}]},
        {"role": "assistant"},
        {"role": "tool"},
    ]
    assert indexed([("0.role", "user"), ("0", "bare")]) == [{"role": "user", "value": "bare"}]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"a": [1, 2]}', {"a": [1, 2]}),
        ("[1, 2", "[1, 2"),
        ("{'rows': ['r1']}", "{'rows': ['r1']}"),  # Python repr, not JSON
        ("plain text", "plain text"),
        ("12", 12),
        (5, 5),
        ("NaN", "NaN"),
    ],
)
def test_json_strings_are_parsed_only_when_they_are_json(text: Any, expected: Any) -> None:
    assert parse_json(text) == expected


def test_json_nested_deeper_than_the_store_can_write_stays_a_string() -> None:
    deep = "[" * (MAX_JSON_DEPTH + 1) + "]" * (MAX_JSON_DEPTH + 1)
    assert parse_json(deep) == deep
    shallow = "[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH
    assert isinstance(parse_json(shallow), list)
    many = orjson.dumps([[i] for i in range(500)]).decode()  # many brackets, little depth
    assert len(parse_json(many)) == 500


@pytest.mark.parametrize(
    ("value", "expected"),
    [(3, 3), (2.5, 2.5), ("12", 12), ("0.25", 0.25), (True, None), ("x", None), (None, None)],
)
def test_numbers(value: Any, expected: Any) -> None:
    assert as_number(value) == expected


def test_non_finite_numbers_are_not_counts() -> None:
    assert as_number(float("nan")) is None
    assert as_number("inf") is None


def test_merge_missing_keeps_what_is_there_and_shadows_the_rest() -> None:
    mine = {"nested": {"x": 1}}
    target: dict[str, Any] = {"cost": 1, "nested": mine["nested"]}
    shadowed: dict[str, Any] = {}
    merge_missing(target, {"cost": 2, "nested": {"x": 5, "y": 6}, "new": 3}, shadowed, "m.")
    assert target == {"cost": 1, "nested": {"x": 1, "y": 6}, "new": 3}
    assert shadowed == {"m.cost": 2, "m.nested.x": 5}
    assert mine == {"nested": {"x": 1}}  # the object it came from is untouched
