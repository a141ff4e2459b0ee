"""OTLP/protobuf trace export requests → `DecodedTraces`, and the AnyValue decoding
the logs and metrics decoders share.

The C (upb) parser builds the message; this module walks it directly rather than
through `MessageToDict`, which would build and then re-read a second, generic tree.
Each attribute costs one `string_value` read when it holds a non-empty string (most
do) and one `WhichOneof` otherwise.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from functools import partial
from typing import Any, TypeVar

from google.protobuf.message import DecodeError, Message
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span as PbSpan

from hivekeeper.domain.errors import BadRequest
from hivekeeper.ingest.otlp_batch import (
    STATUS_BY_NUMBER,
    ZERO_SPAN_ID,
    ZERO_TRACE_ID,
    DecodedTraces,
    OtlpLimits,
    ShapeError,
    add_spans,
    check_span_text,
    decode_array,
    finite_or_text,
    too_deep,
    too_long,
    too_many,
)
from hivekeeper.ingest.spans import Attributes, Span, SpanEvent, StatusCode

_Request = TypeVar("_Request", bound=Message)


def decode_protobuf(body: bytes, limits: OtlpLimits) -> DecodedTraces:
    """Decode a binary ExportTraceServiceRequest.

    Raises BadRequest when the bytes are not one (truncated, garbage, nested past
    protobuf's recursion limit) and ShapeError when a limit is exceeded.
    """
    request = parse_request(ExportTraceServiceRequest(), body)
    decoded = DecodedTraces()
    for r, resource_spans in enumerate(request.resource_spans):
        where = f"resourceSpans[{r}]"
        try:
            resource = decode_attributes(
                resource_spans.resource.attributes, limits, "resource.attributes"
            )
        except ShapeError as exc:
            raise exc.within(where) from None
        for s, scope_spans in enumerate(resource_spans.scope_spans):
            here = f"{where}.scopeSpans[{s}]"
            scope = scope_spans.scope
            try:
                # Validated for its limits only: a `Span` carries the scope's name and
                # version, not its attributes.
                decode_attributes(scope.attributes, limits, "scope.attributes")
            except ShapeError as exc:
                raise exc.within(here) from None
            decode_span = partial(
                _span,
                resource=resource,
                scope_name=scope.name,
                scope_version=scope.version,
                limits=limits,
            )
            add_spans(decoded, scope_spans.spans, decode_span, limits, here)
    return decoded


def parse_request(request: _Request, body: bytes) -> _Request:
    """`request` (an empty export request message) parsed from `body`.

    Raises BadRequest when the bytes are not one (truncated, garbage, nested past
    protobuf's recursion limit).
    """
    try:
        request.ParseFromString(body)
    except DecodeError as exc:
        raise BadRequest(
            f"the body is not a valid OTLP/protobuf {request.DESCRIPTOR.name} ({exc})",
            field="body",
        ) from None
    return request


def _span(
    span: PbSpan,
    resource: Attributes,
    scope_name: str,
    scope_version: str,
    limits: OtlpLimits,
) -> Span | str:
    """The decoded span, or why this one span is rejected."""
    trace_id = span.trace_id
    if len(trace_id) != 16 or trace_id == ZERO_TRACE_ID:
        return "traceId must be 16 bytes, not all zero"
    span_id = span.span_id
    if len(span_id) != 8 or span_id == ZERO_SPAN_ID:
        return "spanId must be 8 bytes, not all zero"
    parent = span.parent_span_id
    parent_id: str | None = None
    if parent and parent != ZERO_SPAN_ID:
        if len(parent) != 8:
            return "parentSpanId must be empty or 8 bytes"
        parent_id = parent.hex()
    start = span.start_time_unix_nano
    if not start:
        return "startTimeUnixNano is missing"
    status = span.status
    code = status.code
    kind = span.kind
    events = span.events
    name = span.name
    message = status.message
    check_span_text(name, message, limits)
    return Span(
        trace_id.hex(),
        span_id.hex(),
        parent_id,
        name,
        kind if 0 <= kind <= 5 else 0,
        start,
        span.end_time_unix_nano,
        decode_attributes(span.attributes, limits, "attributes"),
        _events(events, start, limits) if events else [],
        STATUS_BY_NUMBER[code] if 0 <= code <= 2 else StatusCode.UNSET,
        message,
        scope_name,
        scope_version,
        resource,
    )


def _events(events: Sequence[PbSpan.Event], start: int, limits: OtlpLimits) -> list[SpanEvent]:
    if len(events) > limits.max_events_per_span:
        raise too_many(
            "events", len(events), limits.max_events_per_span, "otlp_max_events_per_span"
        )
    out = []
    for i, event in enumerate(events):
        try:
            if len(event.name) > limits.max_string_chars:
                raise too_long("name", len(event.name), limits.max_string_chars)
            attributes = decode_attributes(event.attributes, limits, "attributes")
        except ShapeError as exc:
            raise exc.within(f"events[{i}]") from None
        # An event without a time is placed at its span's start.
        out.append(SpanEvent(event.name, event.time_unix_nano or start, attributes))
    return out


def decode_attributes(
    pairs: Sequence[KeyValue], limits: OtlpLimits, name: str, depth: int = 0
) -> Attributes:
    """Key-value pairs as a dict; unset values are skipped, a repeated key's last wins."""
    if len(pairs) > limits.max_attributes:
        raise too_many(name, len(pairs), limits.max_attributes, "otlp_max_attributes")
    out: Attributes = {}
    max_chars = limits.max_string_chars
    try:
        for pair in pairs:
            key = pair.key
            value = pair.value
            text = value.string_value
            if len(text) > max_chars:
                raise too_long("value", len(text), max_chars)
            if len(key) > max_chars:
                raise too_long("key", len(key), max_chars)
            if text:
                out[key] = text
                continue
            try:
                decoded = decode_value(value, depth, limits)
            except ShapeError as exc:
                raise exc.within("value") from None
            if decoded is not None:
                out[key] = decoded
    except ShapeError as exc:
        # The loop keeps no index (it is the hot path); the first pair equal to the
        # failing one fails the same way, so it is the one to name.
        raise exc.within(f"{name}[{list(pairs).index(pair)}]") from None
    return out


def decode_value(value: AnyValue, depth: int, limits: OtlpLimits) -> Any:
    """One AnyValue as a JSON value; None when unset."""
    kind = value.WhichOneof("value")
    if kind == "string_value":
        text = value.string_value
        if len(text) > limits.max_string_chars:
            raise too_long("", len(text), limits.max_string_chars)
        return text
    if kind == "int_value":
        return value.int_value
    if kind == "double_value":
        return finite_or_text(value.double_value)
    if kind == "bool_value":
        return value.bool_value
    if kind == "array_value":
        if depth >= limits.max_value_depth:
            raise too_deep(limits.max_value_depth)
        return decode_array(
            value.array_value.values,
            lambda item: decode_value(item, depth + 1, limits),
            "arrayValue.values",
        )
    if kind == "kvlist_value":
        if depth >= limits.max_value_depth:
            raise too_deep(limits.max_value_depth)
        return decode_attributes(value.kvlist_value.values, limits, "kvlistValue.values", depth + 1)
    if kind == "bytes_value":
        text = base64.b64encode(value.bytes_value).decode("ascii")
        if len(text) > limits.max_string_chars:
            raise too_long("", len(text), limits.max_string_chars)
        return text
    # Unset, or `string_value_strindex`, which only the profiles signal may use.
    return None
