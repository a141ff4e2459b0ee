"""Decoders under hostile input, in process: they answer or raise our errors, nothing else.

A `HivekeeperError` becomes a clean 4xx; any other exception would be a 500. Each
property feeds one decoder random and mutated input and allows only the former. The
OTLP properties also map what was decoded to write operations, and encode those as a
store would, since a server does both before it answers.
"""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from hivekeeper.domain.charts import parse_chart_params
from hivekeeper.domain.errors import HivekeeperError
from hivekeeper.domain.events import parse_event, parse_session, parse_update
from hivekeeper.domain.filters import parse_export_body, parse_query_params
from hivekeeper.domain.limits import JsonLimits, check_json
from hivekeeper.domain.types import Update, Upsert
from hivekeeper.ingest import OtlpLimits, decode_traces, spans_to_ops
from hivekeeper.ingest.rest_writes import plan_batch, plan_event, unwrap
from tests.fuzz.strategies import (
    HOSTILE_VALUES,
    NUMBER_TEXT,
    SIGNED_NUMBER_TEXT,
    TEXT,
    VALID_BODIES,
    VALID_OTLP_BYTES,
    dumps,
    examples,
    mutated_protobuf,
    otlp_json_body,
    rest_body,
)

NOW_MS = 1_795_700_000_000.0
OTLP_LIMITS = OtlpLimits(max_value_depth=16, max_string_chars=4096)
JSON_LIMITS = JsonLimits(max_depth=32, max_string_chars=4096)


def _ours_only(call: Any, *args: Any, **kwargs: Any) -> Any:
    """Run `call`; a HivekeeperError is a valid answer (None), any other is the bug."""
    try:
        return call(*args, **kwargs)
    except HivekeeperError as exc:
        assert 400 <= exc.status < 500, exc
        assert exc.message
        orjson.dumps(exc.body())  # the answer naming the fault can be sent
        return None


def _storable(ops: list[Any]) -> None:
    """What a store does with each op's JSON: encode it (orjson, as the stores do)."""
    for op in ops:
        if isinstance(op, Upsert | Update):
            orjson.dumps(dict(op.patch))


def _decode_and_map(body: bytes, encoding: Any) -> None:
    decoded = _ours_only(decode_traces, body, encoding, OTLP_LIMITS)
    if decoded is not None:
        _storable(spans_to_ops("proj", decoded.spans, source_header="fuzz"))


def test_the_valid_otlp_request_decodes() -> None:
    decoded = decode_traces(VALID_OTLP_BYTES, "protobuf", OTLP_LIMITS)
    assert len(decoded.spans) == 2 and not decoded.rejected


@examples(1000)
@given(mutated_protobuf())
def test_mutated_protobuf(body: bytes) -> None:
    _decode_and_map(body, "protobuf")


@examples(1000)
@given(otlp_json_body())
def test_mutated_otlp_json(body: bytes) -> None:
    _decode_and_map(body, "json")


@examples(300)
@given(st.binary(max_size=300) | HOSTILE_VALUES.map(dumps))
def test_random_bytes_as_either_encoding(body: bytes) -> None:
    _decode_and_map(body, "protobuf")
    _decode_and_map(body, "json")


def _json_body(value: Any) -> Any:
    """`value` as the server sees it: parsed by orjson and held to the JSON limits (or
    None when either refuses it, which is a 400 before any decoder runs)."""
    try:
        parsed = orjson.loads(dumps(value))
    except orjson.JSONDecodeError:
        return None
    return _ours_only(lambda: (check_json(parsed, JSON_LIMITS), parsed)[1])


@examples(600)
@given(rest_body("batch"), st.booleans())
def test_batches(value: Any, model_events: bool) -> None:
    body = _json_body(value)
    key = "model_events" if model_events else "events"
    if isinstance(body, dict) and model_events and "events" in body:
        body[key] = body.pop("events")
    planned = _ours_only(plan_batch, "proj", body, events_key=key, model_events=model_events)
    if planned is not None:
        _storable(planned.ops)


@examples(400)
@given(rest_body("event"))
def test_events(value: Any) -> None:
    body = _json_body(value)
    inner = _ours_only(unwrap, body, "event", JSON_LIMITS)
    planned = _ours_only(plan_event, "proj", inner)
    if planned is not None:
        _storable(planned.ops)
    _ours_only(parse_event, inner)


@examples(300)
@given(rest_body("model_event"))
def test_model_events(value: Any) -> None:
    body = _json_body(value)
    planned = _ours_only(
        plan_batch, "proj", {"model_events": [body]}, events_key="model_events", model_events=True
    )
    if planned is not None:
        _storable(planned.ops)


@examples(400)
@given(rest_body("update"), st.none() | TEXT)
def test_updates(value: Any, event_id: str | None) -> None:
    patch = _ours_only(parse_update, _json_body(value), event_id=event_id)
    if patch is not None:
        _storable([Update("proj", patch)])


@examples(300)
@given(rest_body("session"))
def test_sessions(value: Any) -> None:
    inner = _ours_only(unwrap, _json_body(value), "session", JSON_LIMITS)
    patch = _ours_only(parse_session, inner)
    if patch is not None:
        _storable([Upsert("proj", patch)])


@examples(600)
@given(rest_body("export"))
def test_export_bodies(value: Any) -> None:
    body = _json_body(value)
    if isinstance(body, dict):
        _ours_only(parse_export_body, body, now_ms=NOW_MS)


QUERY_KEYS = st.sampled_from(
    [
        "filters",
        "limit",
        "page",
        "dateRange",
        "projections",
        "filters[0][field]",
        "filters[0][value]",
        "sort_by",
        "sort_order",
        "metric",
        "bucket",
        "aggregation",
        "group_by",
    ]
)
"""Query parameters the list and chart routes read (their values are often JSON)."""
BRACKET_KEYS = st.builds(
    "filters[{}][{}]".format, NUMBER_TEXT, st.sampled_from(["field", "operator", "value"])
) | st.builds("dateRange[{}]".format, st.sampled_from(["$gte", "$lte", "relative"]))
"""Bracket keys with indices of any length."""


@examples(600)
@given(
    st.dictionaries(
        TEXT | QUERY_KEYS | BRACKET_KEYS,
        st.lists(
            TEXT | SIGNED_NUMBER_TEXT | HOSTILE_VALUES.map(lambda v: dumps(v).decode()),
            max_size=3,
        ),
        max_size=5,
    )
)
# Found by fuzzing: the stdlib JSON parser let a lone surrogate into the error message
# (a 500 when encoding the answer), and recursed without bound.
@example({"dateRange": ['{"\\ud800": 1}']})
@example({"filters": ["[" * 100_000]})
def test_query_parameters(params: dict[str, list[str]]) -> None:
    _ours_only(parse_query_params, params, now_ms=NOW_MS)
    _ours_only(parse_chart_params, params, now_ms=NOW_MS)


@examples(400)
@given(HOSTILE_VALUES, st.booleans())
def test_json_limits(value: Any, strings: bool) -> None:
    _ours_only(check_json, value, JSON_LIMITS, strings=strings)


@pytest.mark.parametrize("kind", sorted(VALID_BODIES))
def test_every_valid_body_passes_the_json_limits(kind: str) -> None:
    check_json(VALID_BODIES[kind], JSON_LIMITS)
