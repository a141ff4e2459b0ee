"""OTLP protobuf for tests: attribute values from Python values, and requests nested
deeper than the protobuf library will build."""

from __future__ import annotations

from typing import Any

from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue


def any_value(value: Any) -> AnyValue:
    """The AnyValue of a Python value: None is unset, bytes are `bytes_value`, a list is
    an array and a dict a key-value list."""
    out = AnyValue()
    if value is None:
        pass
    elif isinstance(value, bool):
        out.bool_value = value
    elif isinstance(value, int):
        out.int_value = value
    elif isinstance(value, float):
        out.double_value = value
    elif isinstance(value, str):
        out.string_value = value
    elif isinstance(value, bytes):
        out.bytes_value = value
    elif isinstance(value, list):
        out.array_value.values.extend(any_value(v) for v in value)
    else:
        out.kvlist_value.values.extend(key_values(value))
    return out


def key_values(attributes: dict[str, Any]) -> list[KeyValue]:
    """Attributes as the KeyValue list of a span, event, resource or scope."""
    return [KeyValue(key=k, value=any_value(v)) for k, v in attributes.items()]


def length_delimited(number: int, payload: bytes) -> bytes:
    """One length-delimited protobuf field (a message, string or bytes), written by hand."""
    length = bytearray()
    n = len(payload)
    while n > 0x7F:
        length.append((n & 0x7F) | 0x80)
        n >>= 7
    length.append(n)
    return bytes([number << 3 | 2]) + bytes(length) + payload


def deeply_nested_request(span: bytes, depth: int) -> bytes:
    """An ExportTraceServiceRequest of one span: `span` (serialized) with one more
    attribute, `deep`, whose value is an array nested `depth` levels deep.

    Written by hand: the protobuf library refuses to build a message this deep.
    """
    value = length_delimited(1, b"leaf")  # AnyValue.string_value
    for _ in range(depth):
        value = length_delimited(5, length_delimited(1, value))  # AnyValue.array_value.values[0]
    attribute = length_delimited(1, b"deep") + length_delimited(2, value)  # KeyValue
    return request_of_span(span + length_delimited(9, attribute))  # Span.attributes


def request_of_span(span: bytes) -> bytes:
    """An ExportTraceServiceRequest of one serialized span, whatever its bytes."""
    # resource_spans[0].scope_spans[0].spans[0]
    return length_delimited(1, length_delimited(2, length_delimited(2, span)))
