"""OTLP decoding: both encodings, the HoneyHive JSON flavour, rejections and limits."""

from __future__ import annotations

import base64
from typing import Any

import orjson
import pytest
from google.protobuf.json_format import MessageToJson
from google.rpc.status_pb2 import Status
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.trace.v1.trace_pb2 import Span as PbSpan

from hivekeeper.domain.errors import BadRequest, InvalidJson, ValidationFailed
from hivekeeper.ingest.otlp import (
    declared_encoding,
    decode_traces,
    encode_answer,
    encode_status,
    sniff_encoding,
)
from hivekeeper.ingest.otlp_batch import DecodedTraces, OtlpLimits
from hivekeeper.ingest.spans import Span, SpanEvent, StatusCode
from tests.support.otlp_protobuf import (
    deeply_nested_request,
    key_values,
    length_delimited,
    request_of_span,
)

LIMITS = OtlpLimits()
TRACE_ID = "6a294f3b28ead815dbd205f0561d9fa4"
SPAN_ID = "98f2ff890e8f9d75"
PARENT_ID = "835f568740ccac9a"
START = 1_795_720_438_732_924_851
END = 1_795_720_438_734_877_890
SPANS = "resourceSpans[0].scopeSpans[0].spans"


# --- building requests -------------------------------------------------------------


def _pb_span(**fields: Any) -> PbSpan:
    attributes = fields.pop("attributes", {})
    events = fields.pop("events", [])
    status = fields.pop("status", None)
    span = PbSpan(
        trace_id=fields.pop("trace_id", bytes.fromhex(TRACE_ID)),
        span_id=fields.pop("span_id", bytes.fromhex(SPAN_ID)),
        name=fields.pop("name", "child_model"),
        start_time_unix_nano=fields.pop("start", START),
        end_time_unix_nano=fields.pop("end", END),
        **fields,
    )
    span.attributes.extend(key_values(attributes))
    for name, time, event_attributes in events:
        event = span.events.add(name=name, time_unix_nano=time)
        event.attributes.extend(key_values(event_attributes))
    if status is not None:
        span.status.code, span.status.message = status
    return span


def _pb_request(
    *spans: PbSpan,
    resource: dict[str, Any] | None = None,
    scope: tuple[str, str] = ("honeyhive.0", "1.7.0"),
) -> ExportTraceServiceRequest:
    request = ExportTraceServiceRequest()
    resource_spans = request.resource_spans.add()
    resource_spans.resource.attributes.extend(key_values(resource or {}))
    scope_spans = resource_spans.scope_spans.add()
    scope_spans.scope.name, scope_spans.scope.version = scope
    scope_spans.spans.extend(spans)
    return request


def _json_span(**fields: Any) -> dict[str, Any]:
    """A span as the HoneyHive SDK's JSON encoder writes it (spec §6.2)."""
    span: dict[str, Any] = {
        "traceId": TRACE_ID,
        "spanId": SPAN_ID,
        "parentSpanId": None,
        "name": "child_model",
        "kind": "SPAN_KIND_INTERNAL",
        "startTimeUnixNano": str(START),
        "endTimeUnixNano": str(END),
        "attributes": [{"key": "honeyhive_event_type", "value": {"stringValue": "model"}}],
        "events": [],
        "status": {"code": "STATUS_CODE_UNSET"},
    }
    span.update(fields)
    return span


def _json_body(*spans: Any, resource: Any = None) -> bytes:
    resource_spans = {
        "resource": {"attributes": resource or []},
        "scopeSpans": [
            {"scope": {"name": "honeyhive.0", "version": "1.7.0"}, "spans": list(spans)}
        ],
    }
    return orjson.dumps({"resourceSpans": [resource_spans]})


def _decode_json(*spans: Any, limits: OtlpLimits = LIMITS) -> DecodedTraces:
    return decode_traces(_json_body(*spans), "json", limits)


def _one_json(**fields: Any) -> Span:
    decoded = _decode_json(_json_span(**fields))
    assert decoded.rejected == 0, decoded.problems
    [span] = decoded.spans
    return span


def _decode_pb(request: ExportTraceServiceRequest, limits: OtlpLimits = LIMITS) -> DecodedTraces:
    return decode_traces(request.SerializeToString(), "protobuf", limits)


def _shape_error(body: bytes, encoding: str = "json", limits: OtlpLimits = LIMITS) -> str:
    with pytest.raises(ValidationFailed) as caught:
        decode_traces(body, encoding, limits)  # type: ignore[arg-type]
    assert caught.value.field is not None
    assert caught.value.message.startswith(caught.value.field)
    return caught.value.field


# --- the same data in every encoding -------------------------------------------------

EVERY_KIND: dict[str, Any] = {
    "s": "text",
    "empty_string": "",
    "i": -42,
    "big": 2**62,
    "d": 1.5,
    "b": True,
    "f": False,
    "bytes": b"\x00\xffhi",
    "list": [1, "two", 3.5, False, [None, "nested"]],
    "kv": {"a": 1, "inner": {"deep": ["x"]}, "unset": None},
    "unset": None,
}
EVERY_KIND_DECODED: dict[str, Any] = {
    "s": "text",
    "empty_string": "",
    "i": -42,
    "big": 2**62,
    "d": 1.5,
    "b": True,
    "f": False,
    "bytes": base64.b64encode(b"\x00\xffhi").decode(),
    "list": [1, "two", 3.5, False, [None, "nested"]],
    "kv": {"a": 1, "inner": {"deep": ["x"]}},
}


def _rich_request() -> ExportTraceServiceRequest:
    request = _pb_request(
        _pb_span(
            parent_span_id=bytes.fromhex(PARENT_ID),
            kind=PbSpan.SPAN_KIND_CLIENT,
            attributes=EVERY_KIND,
            events=[("exception", END - 5, {"exception.message": "kaput", "n": 3})],
            status=(2, "RuntimeError: kaput"),
        ),
        _pb_span(span_id=bytes.fromhex(PARENT_ID), name="parent_chain", kind=1),
        resource={"service.name": "svc", "pid": 7},
    )
    second = request.resource_spans.add()
    second.scope_spans.add().spans.append(_pb_span(span_id=b"\x01" * 8, name="other"))
    return request


RICH_EXPECTED = [
    Span(
        trace_id=TRACE_ID,
        span_id=SPAN_ID,
        parent_span_id=PARENT_ID,
        name="child_model",
        kind=3,
        start_unix_nano=START,
        end_unix_nano=END,
        attributes=EVERY_KIND_DECODED,
        events=[SpanEvent("exception", END - 5, {"exception.message": "kaput", "n": 3})],
        status_code=StatusCode.ERROR,
        status_message="RuntimeError: kaput",
        scope_name="honeyhive.0",
        scope_version="1.7.0",
        resource={"service.name": "svc", "pid": 7},
    ),
    Span(
        trace_id=TRACE_ID,
        span_id=PARENT_ID,
        parent_span_id=None,
        name="parent_chain",
        kind=1,
        start_unix_nano=START,
        end_unix_nano=END,
        scope_name="honeyhive.0",
        scope_version="1.7.0",
        resource={"service.name": "svc", "pid": 7},
    ),
    Span(
        trace_id=TRACE_ID,
        span_id="0101010101010101",
        parent_span_id=None,
        name="other",
        kind=0,
        start_unix_nano=START,
        end_unix_nano=END,
    ),
]


def test_protobuf_decodes_every_field() -> None:
    decoded = _decode_pb(_rich_request())
    assert decoded.spans == RICH_EXPECTED
    assert (decoded.rejected, decoded.problems, decoded.message()) == (0, [], "")


@pytest.mark.parametrize("snake_case", [False, True], ids=["camelCase", "snake_case"])
def test_canonical_json_decodes_like_protobuf(snake_case: bool) -> None:
    # MessageToJson writes what generic tools send: base64 ids, enum names, int64 as
    # strings, and (with preserving_proto_field_name) snake_case field names.
    text = MessageToJson(_rich_request(), preserving_proto_field_name=snake_case)
    assert ("trace_id" in text) is snake_case
    assert decode_traces(text.encode(), "json", LIMITS).spans == RICH_EXPECTED


def test_both_encodings_agree_on_many_spans() -> None:
    spans = [
        _pb_span(
            span_id=(i + 1).to_bytes(8, "big"),
            start=START + i,
            attributes={"i": i, "text": "x" * i, "f": i / 3, "arr": [i, str(i)]},
        )
        for i in range(50)
    ]
    request = _pb_request(*spans)
    from_pb = _decode_pb(request).spans
    assert len(from_pb) == 50
    assert decode_traces(MessageToJson(request).encode(), "json", LIMITS).spans == from_pb


def test_resource_is_decoded_once_per_resource_spans() -> None:
    decoded = _decode_pb(_rich_request())
    assert decoded.spans[0].resource is decoded.spans[1].resource


# --- the HoneyHive SDK's JSON flavour, quirk by quirk (spec §6.2) --------------------


def test_honeyhive_sdk_span() -> None:
    span = _one_json(
        parentSpanId=PARENT_ID,
        attributes=[
            {"key": "honeyhive.session_id", "value": {"stringValue": "b419e943"}},
            {"key": "honeyhive_outputs.result.tokens.0", "value": {"intValue": "1"}},
            {"key": "honeyhive_metrics.m", "value": {"doubleValue": 1.5}},
            {"key": "honeyhive_duration_ms", "value": {"doubleValue": 1.9533634185791016}},
        ],
    )
    assert span == Span(
        trace_id=TRACE_ID,
        span_id=SPAN_ID,
        parent_span_id=PARENT_ID,
        name="child_model",
        kind=1,
        start_unix_nano=START,
        end_unix_nano=END,
        attributes={
            "honeyhive.session_id": "b419e943",
            "honeyhive_outputs.result.tokens.0": 1,
            "honeyhive_metrics.m": 1.5,
            "honeyhive_duration_ms": 1.9533634185791016,
        },
        scope_name="honeyhive.0",
        scope_version="1.7.0",
    )


@pytest.mark.parametrize("parent", [None, "", "0000000000000000", "AAAAAAAAAAA="])
def test_root_span_parents(parent: str | None) -> None:
    assert _one_json(parentSpanId=parent).parent_span_id is None


def test_missing_parent_is_a_root() -> None:
    span = _json_span()
    del span["parentSpanId"]
    assert _decode_json(span).spans[0].parent_span_id is None


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        ("SPAN_KIND_INTERNAL", 1),
        ("SPAN_KIND_SERVER", 2),
        ("SPAN_KIND_CLIENT", 3),
        ("SPAN_KIND_PRODUCER", 4),
        ("SPAN_KIND_CONSUMER", 5),
        ("SPAN_KIND_UNSPECIFIED", 0),
        ("client", 3),
        ("3", 3),
        (2, 2),
        (None, 0),
        ("SPAN_KIND_TELEPATHY", 0),
        (99, 0),
    ],
)
def test_span_kind_by_name_or_number(kind: object, expected: int) -> None:
    assert _one_json(kind=kind).kind == expected


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ({"code": "STATUS_CODE_ERROR", "message": "boom"}, (StatusCode.ERROR, "boom")),
        ({"code": "STATUS_CODE_OK"}, (StatusCode.OK, "")),
        ({"code": "STATUS_CODE_UNSET"}, (StatusCode.UNSET, "")),
        ({"code": "error"}, (StatusCode.ERROR, "")),
        ({"code": 2, "message": "x"}, (StatusCode.ERROR, "x")),
        ({"code": 1}, (StatusCode.OK, "")),
        ({"code": 7}, (StatusCode.UNSET, "")),
        ({}, (StatusCode.UNSET, "")),
        (None, (StatusCode.UNSET, "")),
    ],
)
def test_status_by_name_or_number(status: object, expected: tuple[StatusCode, str]) -> None:
    span = _one_json(status=status)
    assert (span.status_code, span.status_message) == expected


@pytest.mark.parametrize(
    ("trace_id", "span_id"),
    [
        (TRACE_ID, SPAN_ID),
        (TRACE_ID.upper(), SPAN_ID.upper()),
        (
            base64.b64encode(bytes.fromhex(TRACE_ID)).decode(),
            base64.b64encode(bytes.fromhex(SPAN_ID)).decode(),
        ),
        (  # unpadded, URL-safe base64
            base64.urlsafe_b64encode(bytes.fromhex(TRACE_ID)).decode().rstrip("="),
            base64.urlsafe_b64encode(bytes.fromhex(SPAN_ID)).decode().rstrip("="),
        ),
    ],
    ids=["hex", "upper-hex", "base64", "base64url-unpadded"],
)
def test_ids_in_hex_or_base64(trace_id: str, span_id: str) -> None:
    span = _one_json(traceId=trace_id, spanId=span_id)
    assert (span.trace_id, span.span_id) == (TRACE_ID, SPAN_ID)


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        (str(START), str(END), (START, END)),
        (START, END, (START, END)),
        # A double cannot hold every nanosecond: near-enough is what was sent.
        (float(START), float(END), (int(float(START)), int(float(END)))),
        (f" {START}", str(END), (START, END)),
    ],
    ids=["strings", "integers", "floats", "padded-string"],
)
def test_timestamps_as_strings_or_numbers(start: object, end: object, expected: object) -> None:
    span = _one_json(startTimeUnixNano=start, endTimeUnixNano=end)
    assert (span.start_unix_nano, span.end_unix_nano) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ({"stringValue": "s"}, "s"),
        ({"stringValue": ""}, ""),
        ({"string_value": "snake"}, "snake"),
        ({"intValue": "123"}, 123),
        ({"intValue": 123}, 123),
        ({"intValue": "-9223372036854775808"}, -(2**63)),
        ({"intValue": 4.0}, 4),
        ({"doubleValue": 1.25}, 1.25),
        ({"doubleValue": 2}, 2.0),
        ({"doubleValue": "1.5"}, 1.5),
        ({"doubleValue": "NaN"}, "NaN"),
        ({"doubleValue": "Infinity"}, "Infinity"),
        ({"doubleValue": "-Infinity"}, "-Infinity"),
        ({"boolValue": False}, False),
        ({"bytesValue": "AP9oaQ=="}, "AP9oaQ=="),
        ({"arrayValue": {"values": [{"intValue": "1"}, {}, {"stringValue": "a"}]}}, [1, None, "a"]),
        ({"arrayValue": {}}, []),
        ({"array_value": {"values": [{"bool_value": True}]}}, [True]),
        (
            {
                "kvlistValue": {
                    "values": [
                        {"key": "a", "value": {"intValue": "1"}},
                        {"key": "b", "value": {"kvlistValue": {"values": []}}},
                        {"key": "unset", "value": {}},
                    ]
                }
            },
            {"a": 1, "b": {}},
        ),
        ({"futureValue": 1, "intValue": "2"}, 2),
    ],
)
def test_any_value_kinds(value: dict[str, Any], expected: Any) -> None:
    attributes = [{"key": "k", "value": value}]
    assert _one_json(attributes=attributes).attributes == {"k": expected}


@pytest.mark.parametrize("value", [{}, None, {"stringValue": None}, {"unknownValue": 1}])
def test_unset_values_skip_the_attribute(value: object) -> None:
    attributes = [{"key": "gone", "value": value}, {"key": "kept", "value": {"boolValue": True}}]
    assert _one_json(attributes=attributes).attributes == {"kept": True}


def test_missing_value_skips_the_attribute() -> None:
    assert _one_json(attributes=[{"key": "gone"}]).attributes == {}


def test_protobuf_non_finite_doubles_become_their_json_names() -> None:
    request = _pb_request(_pb_span(attributes={"n": float("nan"), "i": float("-inf")}))
    assert _decode_pb(request).spans[0].attributes == {"n": "NaN", "i": "-Infinity"}


def test_missing_optional_fields() -> None:
    span = {
        "traceId": TRACE_ID,
        "spanId": SPAN_ID,
        "startTimeUnixNano": str(START),
        "endTimeUnixNano": str(END),
    }
    body = orjson.dumps({"resourceSpans": [{"scopeSpans": [{"spans": [span]}]}]})
    assert decode_traces(body, "json", LIMITS).spans == [
        Span(TRACE_ID, SPAN_ID, None, "", 0, START, END)
    ]


@pytest.mark.parametrize(
    "body",
    [b"{}", b'{"resourceSpans": []}', b'{"resourceSpans": null}', b'{"resourceSpans": [{}]}'],
)
def test_requests_without_spans(body: bytes) -> None:
    assert decode_traces(body, "json", LIMITS) == DecodedTraces()


def test_empty_protobuf_request_has_no_spans() -> None:
    assert decode_traces(b"", "protobuf", LIMITS) == DecodedTraces()


def test_resource_and_event_attributes_decode_like_span_attributes() -> None:
    event = {
        "name": "exception",
        "timeUnixNano": str(END - 1),
        "attributes": [{"key": "exception.escaped", "value": {"boolValue": False}}],
    }
    resource = [{"key": "service.name", "value": {"stringValue": "svc"}}]
    body = _json_body(_json_span(events=[event, {"name": "no time"}]), resource=resource)
    [span] = decode_traces(body, "json", LIMITS).spans
    assert span.resource == {"service.name": "svc"}
    assert span.events == [
        SpanEvent("exception", END - 1, {"exception.escaped": False}),
        SpanEvent("no time", START),
    ]


# --- span-level defects: that span is rejected, the rest stored ----------------------


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"traceId": None}, "traceId"),
        ({"traceId": ""}, "traceId"),
        ({"traceId": "abc"}, "traceId"),
        ({"traceId": "z" * 32}, "traceId"),
        ({"traceId": "0" * 32}, "traceId"),
        ({"traceId": 12}, "traceId"),
        ({"traceId": "aa bb" + "0" * 27}, "traceId"),
        ({"spanId": "12345"}, "spanId"),
        ({"spanId": "0" * 16}, "spanId"),
        ({"spanId": "!" * 12}, "spanId"),
        ({"parentSpanId": "xyz"}, "parentSpanId"),
        ({"startTimeUnixNano": None}, "startTimeUnixNano"),
        ({"startTimeUnixNano": "0"}, "startTimeUnixNano"),
        ({"startTimeUnixNano": "soon"}, "startTimeUnixNano"),
        ({"startTimeUnixNano": -5}, "startTimeUnixNano"),
        ({"startTimeUnixNano": True}, "startTimeUnixNano"),
        ({"startTimeUnixNano": str(2**64)}, "startTimeUnixNano"),
        ({"endTimeUnixNano": "later"}, "endTimeUnixNano"),
        ({"events": [{"name": "e", "timeUnixNano": "x"}]}, "events[0].timeUnixNano"),
    ],
)
def test_bad_span_is_rejected_alone(fields: dict[str, Any], reason: str) -> None:
    good = _json_span(spanId="1111111111111111")
    decoded = _decode_json(_json_span(), _json_span(**fields), good)
    assert [s.span_id for s in decoded.spans] == [SPAN_ID, "1111111111111111"]
    assert decoded.rejected == 1
    [problem] = decoded.problems
    assert problem.startswith(f"{SPANS}[1]: {reason}")
    assert decoded.message() == f"1 span(s) rejected: {problem}"


@pytest.mark.parametrize(
    "fields",
    [
        {"trace_id": b"\x01" * 15},
        {"trace_id": bytes(16)},
        {"trace_id": b""},
        {"span_id": b"\x01" * 9},
        {"span_id": bytes(8)},
        {"parent_span_id": b"\x01" * 4},
        {"start": 0},
    ],
)
def test_bad_protobuf_span_is_rejected_alone(fields: dict[str, Any]) -> None:
    decoded = _decode_pb(_pb_request(_pb_span(**fields), _pb_span(span_id=b"\x02" * 8)))
    assert [s.span_id for s in decoded.spans] == ["0202020202020202"]
    assert decoded.rejected == 1
    assert decoded.problems[0].startswith(f"{SPANS}[0]: ")


def test_protobuf_zero_parent_is_a_root() -> None:
    [span] = _decode_pb(_pb_request(_pb_span(parent_span_id=bytes(8)))).spans
    assert span.parent_span_id is None


@pytest.mark.parametrize("end", [START - 1, 0], ids=["before-start", "missing"])
def test_end_before_start_is_stored_as_start_with_a_warning(end: int) -> None:
    decoded = _decode_pb(_pb_request(_pb_span(end=end)))
    [span] = decoded.spans
    assert span.end_unix_nano == START
    assert decoded.rejected == 0
    assert decoded.message().startswith(f"all spans accepted: {SPANS}[0]: endTimeUnixNano")


def test_problems_quoted_are_bounded_but_all_counted() -> None:
    decoded = _decode_json(*[_json_span(traceId="bad") for _ in range(12)])
    assert decoded.rejected == 12
    assert len(decoded.problems) == 5
    assert decoded.message().endswith("; and 7 more")


# --- limits --------------------------------------------------------------------------


def test_span_count_limit() -> None:
    limits = OtlpLimits(max_spans=2)
    spans = [_pb_span(span_id=(i + 1).to_bytes(8, "big")) for i in range(3)]
    assert len(_decode_pb(_pb_request(*spans[:2]), limits).spans) == 2
    request = _pb_request(*spans)
    assert _shape_error(request.SerializeToString(), "protobuf", limits) == "resourceSpans"
    assert _shape_error(MessageToJson(request).encode(), "json", limits) == "resourceSpans"


def test_span_count_limit_counts_across_scopes() -> None:
    request = _pb_request(_pb_span(), _pb_span())
    request.resource_spans.add().scope_spans.add().spans.append(_pb_span())
    with pytest.raises(ValidationFailed, match="otlp_max_spans_per_request"):
        _decode_pb(request, OtlpLimits(max_spans=2))


@pytest.mark.parametrize(
    ("build", "field"),
    [
        (lambda many: _pb_request(_pb_span(attributes=many)), f"{SPANS}[0].attributes"),
        (
            lambda many: _pb_request(_pb_span(events=[("e", START, {}), ("e", START, many)])),
            f"{SPANS}[0].events[1].attributes",
        ),
        (
            lambda many: _pb_request(_pb_span(), resource=many),
            "resourceSpans[0].resource.attributes",
        ),
        (
            lambda many: _pb_request(_pb_span(attributes={"ok": 1, "kv": many})),
            f"{SPANS}[0].attributes[1].value.kvlistValue.values",
        ),
    ],
    ids=["span", "event", "resource", "kvlist"],
)
def test_attribute_count_limit(build: Any, field: str) -> None:
    limits = OtlpLimits(max_attributes=3)
    assert _decode_pb(build({f"k{i}": i for i in range(3)}), limits).spans
    request = build({f"k{i}": i for i in range(4)})
    for body, encoding in ((request.SerializeToString(), "protobuf"), (_to_json(request), "json")):
        assert _shape_error(body, encoding, limits) == field


def test_scope_attribute_count_limit() -> None:
    request = _pb_request(_pb_span())
    request.resource_spans[0].scope_spans[0].scope.attributes.extend(key_values({"a": 1, "b": 2}))
    field = "resourceSpans[0].scopeSpans[0].scope.attributes"
    assert (
        _shape_error(request.SerializeToString(), "protobuf", OtlpLimits(max_attributes=1)) == field
    )
    assert _shape_error(_to_json(request), "json", OtlpLimits(max_attributes=1)) == field


def test_span_event_limit() -> None:
    limits = OtlpLimits(max_events_per_span=2)
    request = _pb_request(_pb_span(events=[("e", START, {})] * 3))
    for body, encoding in ((request.SerializeToString(), "protobuf"), (_to_json(request), "json")):
        assert _shape_error(body, encoding, limits) == f"{SPANS}[0].events"
    with pytest.raises(ValidationFailed, match="otlp_max_events_per_span"):
        _decode_pb(request, limits)


def _nested(depth: int) -> Any:
    value: Any = "leaf"
    for i in range(depth):
        value = [value] if i % 2 else {"k": value}
    return value


@pytest.mark.parametrize("encoding", ["protobuf", "json"])
def test_value_depth_limit(encoding: str) -> None:
    limits = OtlpLimits(max_value_depth=4)
    ok = _pb_request(_pb_span(attributes={"a": 1, "deep": _nested(4)}))
    too_deep = _pb_request(_pb_span(attributes={"a": 1, "deep": _nested(5)}))
    encode = (lambda r: r.SerializeToString()) if encoding == "protobuf" else _to_json
    [span] = decode_traces(encode(ok), encoding, limits).spans  # type: ignore[arg-type]
    assert span.attributes["deep"] == _nested(4)
    field = _shape_error(encode(too_deep), encoding, limits)
    assert field == (
        f"{SPANS}[0].attributes[1].value.kvlistValue.values[0].value.arrayValue.values[0]"
        ".kvlistValue.values[0].value.arrayValue.values[0]"
    )
    with pytest.raises(ValidationFailed, match="otlp_max_value_depth"):
        decode_traces(encode(too_deep), encoding, limits)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("build", "field"),
    [
        (lambda text: _pb_span(attributes={"a": 1, "s": text}), "attributes[1].value"),
        (lambda text: _pb_span(attributes={"a": 1, text: 1}), "attributes[1].key"),
        (
            lambda text: _pb_span(attributes={"a": ["x", {"k": text}]}),
            "attributes[0].value.arrayValue.values[1].kvlistValue.values[0].value",
        ),
        (lambda text: _pb_span(name=text), "name"),
        (lambda text: _pb_span(status=(2, text)), "status.message"),
        (lambda text: _pb_span(events=[("ok", START, {}), (text, START, {})]), "events[1].name"),
        (
            lambda text: _pb_span(events=[("e", START, {"s": text})]),
            "events[0].attributes[0].value",
        ),
    ],
    ids=["value", "key", "nested", "name", "status", "event-name", "event-attribute"],
)
def test_string_length_limit(build: Any, field: str) -> None:
    limits = OtlpLimits(max_string_chars=16)
    assert _decode_pb(_pb_request(build("é" * 16)), limits).spans
    request = _pb_request(build("é" * 17))
    for body, encoding in ((request.SerializeToString(), "protobuf"), (_to_json(request), "json")):
        assert _shape_error(body, encoding, limits) == f"{SPANS}[0].{field}"
    with pytest.raises(ValidationFailed, match="max_string_chars"):
        _decode_pb(request, limits)


def test_bytes_value_counts_its_base64_text() -> None:
    limits = OtlpLimits(max_string_chars=16)
    assert _decode_pb(_pb_request(_pb_span(attributes={"b": b"123456789012"})), limits).spans
    request = _pb_request(_pb_span(attributes={"b": b"1234567890123"}))
    assert _shape_error(request.SerializeToString(), "protobuf", limits) == (
        f"{SPANS}[0].attributes[0].value"
    )
    assert _shape_error(_to_json(request), "json", limits) == f"{SPANS}[0].attributes[0].value"


def _to_json(request: ExportTraceServiceRequest) -> bytes:
    return MessageToJson(request).encode()


# --- request-level defects: 400, nothing decoded -------------------------------------


def _deep_protobuf(depth: int) -> bytes:
    return deeply_nested_request(_pb_span().SerializeToString(), depth)


@pytest.mark.parametrize(
    "body",
    [
        b"\xff\xff\xff\xff",
        b"garbage that is not protobuf",
        _pb_request(_pb_span(attributes={"k": "v" * 100})).SerializeToString()[:-7],
        # A span attribute whose key is not UTF-8 (Span.attributes[0].key).
        request_of_span(length_delimited(9, length_delimited(1, b"\xff\xfe"))),
        _deep_protobuf(200),
        _deep_protobuf(5_000),
    ],
    ids=["junk", "text", "truncated", "bad-utf8", "deep", "very-deep"],
)
def test_malformed_protobuf_is_a_bad_request(body: bytes) -> None:
    with pytest.raises(BadRequest) as caught:
        decode_traces(body, "protobuf", OtlpLimits(max_value_depth=64))
    assert caught.value.status == 400
    assert caught.value.field == "body"
    assert "ExportTraceServiceRequest" in caught.value.message


def test_protobuf_nesting_within_protobufs_own_limit_reaches_ours() -> None:
    with pytest.raises(ValidationFailed, match="otlp_max_value_depth"):
        decode_traces(_deep_protobuf(40), "protobuf", LIMITS)


@pytest.mark.parametrize("body", [b"", b"{", b'{"resourceSpans": [}', b"\xff", b'"\\ud800"'])
def test_malformed_json_is_invalid_json(body: bytes) -> None:
    with pytest.raises(InvalidJson):
        decode_traces(body, "json", LIMITS)


def _with(path: list[str | int], value: Any) -> bytes:
    """The standard one-span body with the value at `path` replaced."""
    body = orjson.loads(_json_body(_json_span()))
    target = body
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    return orjson.dumps(body)


SPAN_PATH: list[str | int] = ["resourceSpans", 0, "scopeSpans", 0, "spans", 0]
ATTRIBUTE = [*SPAN_PATH, "attributes", 0]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (b"[]", "body"),
        (b'"text"', "body"),
        (_with(["resourceSpans"], {}), "resourceSpans"),
        (_with(["resourceSpans", 0], 1), "resourceSpans[0]"),
        (_with(["resourceSpans", 0, "resource"], []), "resourceSpans[0].resource"),
        (
            _with(["resourceSpans", 0, "resource", "attributes"], {}),
            "resourceSpans[0].resource.attributes",
        ),
        (
            _with(["resourceSpans", 0, "resource", "attributes"], [{"key": "k", "value": 1}]),
            "resourceSpans[0].resource.attributes[0].value",
        ),
        (_with(["resourceSpans", 0, "scopeSpans"], "x"), "resourceSpans[0].scopeSpans"),
        (_with(["resourceSpans", 0, "scopeSpans", 0], None), "resourceSpans[0].scopeSpans[0]"),
        (
            _with(["resourceSpans", 0, "scopeSpans", 0, "scope"], "s"),
            "resourceSpans[0].scopeSpans[0].scope",
        ),
        (
            _with(["resourceSpans", 0, "scopeSpans", 0, "scope", "name"], 5),
            "resourceSpans[0].scopeSpans[0].scope.name",
        ),
        (
            _with(["resourceSpans", 0, "scopeSpans", 0, "scope", "attributes"], [[]]),
            "resourceSpans[0].scopeSpans[0].scope.attributes[0]",
        ),
        (
            _with(["resourceSpans", 0, "scopeSpans", 0, "spans"], {}),
            "resourceSpans[0].scopeSpans[0].spans",
        ),
        (_with(SPAN_PATH, "span"), f"{SPANS}[0]"),
        (_with([*SPAN_PATH, "name"], ["n"]), f"{SPANS}[0].name"),
        (_with([*SPAN_PATH, "kind"], {"k": 1}), f"{SPANS}[0].kind"),
        (_with([*SPAN_PATH, "status"], "ok"), f"{SPANS}[0].status"),
        (_with([*SPAN_PATH, "status", "code"], 1.5), f"{SPANS}[0].status.code"),
        (_with([*SPAN_PATH, "status", "message"], 1), f"{SPANS}[0].status.message"),
        (_with([*SPAN_PATH, "attributes"], "a=b"), f"{SPANS}[0].attributes"),
        (_with(ATTRIBUTE, "k=v"), f"{SPANS}[0].attributes[0]"),
        (_with([*ATTRIBUTE, "key"], 7), f"{SPANS}[0].attributes[0].key"),
        (_with([*ATTRIBUTE, "value"], "plain"), f"{SPANS}[0].attributes[0].value"),
        (_with([*ATTRIBUTE, "value"], {"stringValue": 5}), f"{SPANS}[0].attributes[0].value"),
        (_with([*ATTRIBUTE, "value"], {"intValue": "abc"}), f"{SPANS}[0].attributes[0].value"),
        (_with([*ATTRIBUTE, "value"], {"intValue": str(2**63)}), f"{SPANS}[0].attributes[0].value"),
        (_with([*ATTRIBUTE, "value"], {"intValue": 1.5}), f"{SPANS}[0].attributes[0].value"),
        (_with([*ATTRIBUTE, "value"], {"intValue": True}), f"{SPANS}[0].attributes[0].value"),
        (_with([*ATTRIBUTE, "value"], {"doubleValue": "many"}), f"{SPANS}[0].attributes[0].value"),
        (_with([*ATTRIBUTE, "value"], {"doubleValue": []}), f"{SPANS}[0].attributes[0].value"),
        (_with([*ATTRIBUTE, "value"], {"boolValue": "true"}), f"{SPANS}[0].attributes[0].value"),
        (_with([*ATTRIBUTE, "value"], {"bytesValue": 1}), f"{SPANS}[0].attributes[0].value"),
        (_with([*ATTRIBUTE, "value"], {"arrayValue": [1]}), f"{SPANS}[0].attributes[0].value"),
        (
            _with([*ATTRIBUTE, "value"], {"arrayValue": {"values": {}}}),
            f"{SPANS}[0].attributes[0].value.arrayValue.values",
        ),
        (
            _with([*ATTRIBUTE, "value"], {"arrayValue": {"values": [{}, 3]}}),
            f"{SPANS}[0].attributes[0].value.arrayValue.values[1]",
        ),
        (
            _with([*ATTRIBUTE, "value"], {"kvlistValue": {"values": [{"key": "a", "value": 2}]}}),
            f"{SPANS}[0].attributes[0].value.kvlistValue.values[0].value",
        ),
        (_with([*SPAN_PATH, "events"], {}), f"{SPANS}[0].events"),
        (_with([*SPAN_PATH, "events"], [None]), f"{SPANS}[0].events[0]"),
        (_with([*SPAN_PATH, "events"], [{"name": 1}]), f"{SPANS}[0].events[0].name"),
        (
            _with([*SPAN_PATH, "events"], [{"attributes": [{"key": "k", "value": []}]}]),
            f"{SPANS}[0].events[0].attributes[0].value",
        ),
    ],
)
def test_wrong_json_shape_names_the_field(body: bytes, field: str) -> None:
    assert _shape_error(body) == field


def test_the_failing_attribute_is_named_among_many() -> None:
    attributes = [{"key": f"k{i}", "value": {"intValue": str(i)}} for i in range(10)]
    attributes[7]["value"] = {"intValue": "x"}
    body = _json_body(_json_span(attributes=attributes))
    assert _shape_error(body) == f"{SPANS}[0].attributes[7].value"


def test_a_bad_span_later_in_the_request_fails_the_whole_request() -> None:
    spans = [_json_span(), _json_span(spanId="1" * 16), _json_span(name=5)]
    assert _shape_error(_json_body(*spans)) == f"{SPANS}[2].name"


# --- encodings, answers, status ------------------------------------------------------


@pytest.mark.parametrize(
    ("content_type", "expected"),
    [
        ("application/x-protobuf", "protobuf"),
        ("application/protobuf", "protobuf"),
        ("Application/JSON; charset=utf-8", "json"),
        ("application/json", "json"),
        ("text/plain", None),
        ("", None),
        (None, None),
    ],
)
def test_declared_encoding(content_type: str | None, expected: str | None) -> None:
    assert declared_encoding(content_type) == expected


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b'{"resourceSpans": []}', "json"),
        (b' \r\n\t{"resourceSpans": []}', "json"),
        (b'\n{"resourceSpans": []}', "json"),
        (b"", "protobuf"),
        (_pb_request(_pb_span()).SerializeToString(), "protobuf"),
        (b"\n{" + b"\x00" * 123, "protobuf"),
    ],
    ids=["json", "json-after-whitespace", "json-after-newline", "empty", "protobuf", "ambiguous"],
)
def test_sniffed_encoding(body: bytes, expected: str) -> None:
    assert sniff_encoding(body) == expected


def test_a_protobuf_body_that_opens_like_json_is_still_protobuf() -> None:
    # A first ResourceSpans of exactly 123 bytes: the body starts b"\n{".
    request = _pb_request(_pb_span(name="x" * 10))
    body = request.SerializeToString()
    while body[1] != ord("{"):
        request.resource_spans[0].scope_spans[0].spans[0].name += "x"
        body = request.SerializeToString()
        assert len(body) < 200
    assert sniff_encoding(body) == "protobuf"
    assert len(decode_traces(body, "protobuf", LIMITS).spans) == 1


def test_answers_without_problems_are_empty() -> None:
    assert encode_answer("json", DecodedTraces()) == b"{}"
    assert encode_answer("protobuf", DecodedTraces()) == b""


def test_partial_success_answers() -> None:
    decoded = _decode_json(_json_span(), _json_span(traceId="bad"))
    json_answer = orjson.loads(encode_answer("json", decoded))
    assert json_answer == {
        "partialSuccess": {"rejectedSpans": "1", "errorMessage": decoded.message()}
    }
    response = ExportTraceServiceResponse.FromString(encode_answer("protobuf", decoded))
    assert response.partial_success.rejected_spans == 1
    assert response.partial_success.error_message == decoded.message()
    assert "traceId" in decoded.message()


@pytest.mark.parametrize("message", ["bad", "é" * 200])
def test_status_answers(message: str) -> None:
    status = Status.FromString(encode_status("protobuf", 3, message, {"errorCode": "X"}))
    assert (status.code, status.message) == (3, message)
    body = orjson.loads(encode_status("json", 3, message, {"errorCode": "X", "field": "f"}))
    assert body == {"code": 3, "message": message, "errorCode": "X", "field": "f"}
