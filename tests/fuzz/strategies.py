"""Hostile input for the fuzz tests: random JSON, mutated valid requests, mutated bytes.

Every strategy starts from what a real client sends (`valid_*`) and breaks it: one
position replaced by a random JSON value, bits flipped, bytes cut off or inserted, or
fields a protobuf parser must skip. Text includes lone surrogates, NUL and other
control characters, and long strings; values include deep nesting and huge numbers.
"""

from __future__ import annotations

import json
import os
import re
import uuid
from dataclasses import dataclass
from typing import Any

from google.protobuf.json_format import MessageToDict
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.trace.v1.trace_pb2 import Span as PbSpan

from tests.support.otlp_protobuf import key_values, length_delimited, request_of_span

# Deterministic and bounded: the same examples on every run, no example database, no
# per-example deadline (a loaded CI machine is slow, not wrong). HIVEKEEPER_FUZZ_EXAMPLES
# sets the count for a longer local hunt, with fresh random examples each run.
EXAMPLES = int(os.environ.get("HIVEKEEPER_FUZZ_EXAMPLES", "0")) or None
FUZZ = settings(
    derandomize=EXAMPLES is None,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    print_blob=True,
)


def examples(count: int) -> settings:
    """`FUZZ` with `count` examples (or HIVEKEEPER_FUZZ_EXAMPLES when set)."""
    return settings(FUZZ, max_examples=EXAMPLES or count)


# Any code point, surrogates (category Cs) and NUL included.
_CHARS = st.characters(min_codepoint=0, max_codepoint=0x10FFFF, exclude_categories=())
TEXT = st.text(_CHARS, max_size=40) | st.sampled_from(
    ["", "\x00", "\ud800", "a\udfffb", "é" * 3, "\u202e", "session", "tool", "model", "0", "-1"]
)


@dataclass(frozen=True, slots=True)
class RawNumber:
    """A JSON number written as its text: Python cannot hold some (`1e400` is a float
    overflow) nor write others (int() and str() refuse more than 4300 digits)."""

    text: str


# Numbers past what parsers and engines hold: Python's 4300-digit limit on int(str),
# SQLite's and every engine's 64-bit integers, the doubles, year 9999 (in ms), and
# digits padded with zeros (long text, small value).
HUGE_DIGITS = st.integers(min_value=4290, max_value=6000).map(lambda n: "9" * n)
NUMBER_TEXT = (
    HUGE_DIGITS
    | st.integers(min_value=19, max_value=400).map(lambda n: "1" + "0" * n)
    | st.integers(min_value=1, max_value=5000).map(lambda n: "0" * n + "1")
    | st.sampled_from(
        [
            str(2**63 - 1),
            str(2**63),
            str(2**64 - 1),
            str(2**64),
            str(-(2**63) - 1),
            "1e308",
            "-1e308",
            "1e400",
            "-1e400",
            "1e-400",
            "253402300799999",
            "253402300800000",
            "1000000000",
            "1000000001",
            "7500",
            "7501",
            "-0",
            "0",
        ]
    )
)
"""Decimal text of oversized, edge and zero-padded numbers."""
SIGNED_NUMBER_TEXT = st.builds(
    lambda sign, text: sign + text, st.sampled_from(["", "-", "+"]), NUMBER_TEXT
)
HUGE_PAGES = st.sampled_from([10**20, 2**63, 2**64, -(2**63) - 1, 1e300, -1e300, 10**4000]) | (
    st.builds(RawNumber, HUGE_DIGITS | st.sampled_from(["1e400", "-1e400", "-" + "9" * 5000]))
)
"""Page numbers (or limits) no page has: past int64, past the doubles, 5000 digits."""
NUMBERS = (
    st.integers()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.sampled_from([0, -1, 2**63, 2**64, 1e308, -0.0, 1795700000000])
    | HUGE_PAGES
)
SCALARS = st.none() | st.booleans() | NUMBERS | TEXT
JSON_VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4),
    max_leaves=12,
)
"""Any Python value `json.loads` could return, and a few it could not (NaN, surrogates)."""


def nested(depth: int, leaf: Any = 1) -> Any:
    """`depth` levels of alternating arrays and objects around `leaf`."""
    value = leaf
    for i in range(depth):
        value = [value] if i % 2 else {"k": value}
    return value


HOSTILE_VALUES = (
    JSON_VALUES
    | st.integers(min_value=1, max_value=400).map(nested)
    | st.sampled_from(["x" * 20_000, "\x00" * 1000, "\ud800" * 10, "[" * 50])
)
"""Random JSON, deep nesting and long strings."""


def paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every position in a JSON value (the root, each key's value, each array item)."""
    out = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            out.extend(paths(item, (*prefix, key)))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            out.extend(paths(item, (*prefix, i)))
    return out


def replaced(value: Any, path: tuple[Any, ...], new: Any) -> Any:
    """A copy of `value` with the item at `path` replaced by `new`."""
    if not path:
        return new
    head, rest = path[0], path[1:]
    if isinstance(value, dict):
        return {**value, head: replaced(value[head], rest, new)}
    copy = list(value)
    copy[head] = replaced(value[head], rest, new)
    return copy


@st.composite
def mutated_json(draw: st.DrawFn, valid: Any) -> Any:
    """`valid` with one position (possibly the root) replaced by a hostile value, or a
    key added to one of its objects."""
    where = draw(st.sampled_from(paths(valid)))
    if draw(st.booleans()):
        return replaced(valid, where, draw(HOSTILE_VALUES))
    target = valid
    for step in where:
        target = target[step]
    if not isinstance(target, dict):
        return replaced(valid, where, draw(HOSTILE_VALUES))
    extra = {**target, draw(TEXT): draw(HOSTILE_VALUES)}
    return replaced(valid, where, extra)


_RAW_MARK = "\x00RawNumber\x00"
_RAW_NUMBER = re.compile(r'"\\u0000RawNumber\\u0000([^"]*)"')


def dumps(value: Any) -> bytes:
    """JSON text of `value` as a lax client writes it: NaN, huge integers, `RawNumber`s
    as their digits and lone surrogates (as `\\ud800` escapes) included."""
    text = json.dumps(value, default=_raw_number_marker)
    return _RAW_NUMBER.sub(lambda m: m.group(1), text).encode()


def _raw_number_marker(value: object) -> str:
    if isinstance(value, RawNumber):
        return _RAW_MARK + value.text
    raise TypeError(f"not JSON: {value!r}")


# --- REST bodies --------------------------------------------------------------------

VALID_EVENT: dict[str, Any] = {
    "event_id": "0b9f6a8e-1f5a-4a57-9a53-6f0e1e3b4c11",
    "session_id": "6d1f8c7e-2c43-4a8c-8b1e-1d2b3c4d5e6f",
    "parent_id": "6d1f8c7e-2c43-4a8c-8b1e-1d2b3c4d5e6f",
    "event_type": "model",
    "event_name": "chat",
    "source": "fuzz",
    "start_time": 1795700000000,
    "end_time": 1795700000500.5,
    "duration": 500.5,
    "error": None,
    "config": {"model": "gpt-4o-mini", "temperature": 0.2},
    "inputs": {"chat_history": [{"role": "user", "content": "hi"}]},
    "outputs": {"role": "assistant", "content": "hello"},
    "metadata": {"prompt_tokens": 3, "cost": 0.0001},
    "metrics": {"score": 1},
    "feedback": {"rating": 5},
    "user_properties": {"user_id": "u1"},
    "children_ids": ["c1"],
}
VALID_BODIES: dict[str, Any] = {
    "event": {"event": VALID_EVENT},
    "batch": {
        "events": [VALID_EVENT, {"event_type": "tool", "inputs": {"q": "x"}}],
        "is_single_session": True,
        "session_properties": {"session_name": "s", "metadata": {"a": 1}},
    },
    "model_event": {
        "model": "gpt-4o",
        "messages": [{"role": "user", "content": "hi"}],
        "response": {"content": "yo"},
        "usage": {"prompt_tokens": 1},
        "cost": 0.1,
        "template_inputs": {"x": 1},
        "config": {"provider": "openai"},
    },
    "update": {"event_id": VALID_EVENT["event_id"], "metadata": {"a": 1}, "outputs": {"b": 2}},
    "session": {"session": {"session_name": "s", "inputs": {"q": "x"}, "user_properties": {}}},
    "export": {
        "filters": [
            {"field": "metadata.cost", "operator": "greater than", "value": 0.0, "type": "number"},
            {"field": "event_name", "operator": "is", "value": "chat", "type": "string"},
        ],
        "dateRange": {"$gte": "2026-01-01T00:00:00Z", "$lte": 1895700000000},
        "projections": ["event_name", "metadata.cost"],
        "limit": 10,
        "page": 1,
    },
}


def rest_body(kind: str) -> st.SearchStrategy[Any]:
    """A body for the `kind` route: random JSON, or its valid body mutated."""
    return HOSTILE_VALUES | mutated_json(VALID_BODIES[kind])


# --- OTLP requests ------------------------------------------------------------------


def valid_otlp_request() -> ExportTraceServiceRequest:
    """One export request as an instrumented app sends it: a session with a model span."""
    request = ExportTraceServiceRequest()
    resource_spans = request.resource_spans.add()
    resource_spans.resource.attributes.extend(key_values({"service.name": "fuzz"}))
    scope_spans = resource_spans.scope_spans.add()
    scope_spans.scope.name, scope_spans.scope.version = "honeyhive.0", "1.7.0"
    trace_id = uuid.UUID("6a294f3b-28ea-d815-dbd2-05f0561d9fa4").bytes
    for i, (kind, parent) in enumerate(
        [("chain", b""), ("model", bytes.fromhex("98f2ff890e8f9d75"))]
    ):
        span = PbSpan(
            trace_id=trace_id,
            span_id=bytes.fromhex(f"98f2ff890e8f9d7{5 + i}"),
            parent_span_id=parent,
            name=f"step-{i}",
            kind=PbSpan.SPAN_KIND_INTERNAL,
            start_time_unix_nano=1_795_720_438_732_924_851 + i,
            end_time_unix_nano=1_795_720_438_734_877_890,
        )
        span.attributes.extend(
            key_values(
                {
                    "honeyhive.session_id": "6d1f8c7e-2c43-4a8c-8b1e-1d2b3c4d5e6f",
                    "honeyhive_event_type": kind,
                    "gen_ai.prompt.0.role": "user",
                    "gen_ai.prompt.0.content": "hi",
                    "gen_ai.completion.0.content": "hello",
                    "gen_ai.usage.prompt_tokens": 3,
                    "honeyhive_metadata.cost": 0.25,
                    "honeyhive_inputs": '{"q": [1, 2, {"deep": true}]}',
                    "flags": [True, False],
                    "blob": b"\x00\xff",
                    "kv": {"a": 1, "b": ["x"]},
                }
            )
        )
        event = span.events.add(name="exception", time_unix_nano=1_795_720_438_733_000_000)
        event.attributes.extend(key_values({"exception.message": "boom"}))
        span.status.code, span.status.message = 2, "failed"
        scope_spans.spans.append(span)
    return request


VALID_OTLP = valid_otlp_request()
VALID_OTLP_BYTES = VALID_OTLP.SerializeToString()
VALID_OTLP_JSON: dict[str, Any] = MessageToDict(VALID_OTLP)


@st.composite
def mutated_protobuf(draw: st.DrawFn) -> bytes:
    """The valid request's bytes, broken: bits flipped, cut, bytes inserted, or an
    unknown or wrong-typed field added inside one of its messages."""
    body = bytearray(VALID_OTLP_BYTES)
    how = draw(st.sampled_from(["flip", "truncate", "insert", "field", "random"]))
    if how == "flip":
        for _ in range(draw(st.integers(1, 8))):
            at = draw(st.integers(0, len(body) - 1))
            body[at] ^= 1 << draw(st.integers(0, 7))
    elif how == "truncate":
        del body[draw(st.integers(0, len(body) - 1)) :]
    elif how == "insert":
        at = draw(st.integers(0, len(body)))
        body[at:at] = draw(st.binary(min_size=1, max_size=16))
    elif how == "field":
        # A field of any number and wire type, in the request or in a span: known
        # numbers with the wrong wire type, unknown ones a parser must skip.
        number = draw(st.integers(1, 15))
        wire = draw(st.sampled_from([0, 1, 2, 5]))
        if wire == 2:
            payload = draw(st.binary(max_size=32) | st.just(VALID_OTLP_BYTES[:64]))
            field = length_delimited(number, payload)
        else:
            size = {0: 1, 1: 8, 5: 4}[wire]
            field = bytes([number << 3 | wire]) + draw(st.binary(min_size=size, max_size=size))
            if wire == 0:
                field = field[:-1] + bytes([field[-1] & 0x7F])
        span = VALID_OTLP.resource_spans[0].scope_spans[0].spans[1].SerializeToString()
        return draw(st.sampled_from([VALID_OTLP_BYTES + field, request_of_span(span + field)]))
    else:
        return draw(st.binary(max_size=200))
    return bytes(body)


@st.composite
def otlp_json_body(draw: st.DrawFn) -> bytes:
    """The valid request as OTLP/JSON with one position replaced or one key added."""
    return dumps(draw(mutated_json(VALID_OTLP_JSON)))


# --- many filters -------------------------------------------------------------------

_FILTER_FIELDS = ["inputs", "metadata.cost", "metadata.num_events", "event_name", "a.b.c"]
FILTER = (
    st.fixed_dictionaries(
        {
            "field": st.sampled_from(_FILTER_FIELDS) | TEXT,
            "operator": st.sampled_from(["not contains", "is not", "greater than", "exists"])
            | TEXT,
            "value": SCALARS,
        },
        optional={"type": st.sampled_from(["string", "number", "boolean", "datetime"]) | TEXT},
    )
    | JSON_VALUES
)
"""One filter object of the export API, or anything in its place."""


@st.composite
def many_filters(draw: st.DrawFn) -> list[Any]:
    """A filter list of any length from none to thousands: a few drawn filters repeated."""
    drawn = draw(st.lists(FILTER, min_size=1, max_size=8))
    repeat = draw(st.sampled_from([0, 1, 3, 13, 40, 250, 1500]))
    return drawn * repeat
