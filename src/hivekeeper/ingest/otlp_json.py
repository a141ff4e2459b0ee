"""OTLP/JSON trace export requests → `DecodedTraces`, leniently (spec §6.2), and the
lenient JSON reading (ids, times, AnyValues, fields) the logs and metrics decoders share.

Accepted beyond canonical OTLP/JSON, because real senders emit it: the HoneyHive
SDK's flavour (`parentSpanId: null`, enum names, decimal-string integers), snake_case
field names from generic protobuf→JSON tools, ids as hex or base64 (told apart by
length), timestamps as strings or numbers, doubles as strings ("NaN", "1.5"). Unknown
fields are ignored, as the OTLP/JSON rules require; a missing or null field means its
default. Anything else of the wrong type is a `ShapeError` naming its path.
"""

from __future__ import annotations

import base64
import binascii
from functools import partial
from typing import Any

import orjson

from hivekeeper.domain.errors import InvalidJson
from hivekeeper.ingest.otlp_batch import (
    MAX_INT64,
    MAX_UINT64,
    MIN_INT64,
    SPAN_KINDS,
    STATUS_BY_NUMBER,
    STATUS_CODES,
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

_JSON_TYPES = {
    dict: "an object",
    list: "an array",
    str: "a string",
    int: "a number",
    float: "a number",
    bool: "a boolean",
    type(None): "null",
}
# Both spellings of each AnyValue member → one kind.
_VALUE_KINDS = {
    name: kind
    for kind in ("string", "bool", "int", "double", "array", "kvlist", "bytes")
    for name in (f"{kind}Value", f"{kind}_value")
}


def decode_json(body: bytes, limits: OtlpLimits) -> DecodedTraces:
    """Decode a JSON ExportTraceServiceRequest.

    Raises InvalidJson when the body is not JSON at all, ShapeError when it is JSON of
    the wrong shape or past a limit.
    """
    root = load_request(body, "ExportTraceServiceRequest")
    decoded = DecodedTraces()
    for r, resource_spans in enumerate(list_field(root, "resourceSpans", "resource_spans")):
        where = f"resourceSpans[{r}]"
        try:
            resource_obj = object_field(require_object(resource_spans), "resource", "resource")
            resource = decode_attributes(
                resource_obj.get("attributes"), limits, "resource.attributes"
            )
            all_scope_spans = list_field(resource_spans, "scopeSpans", "scope_spans")
        except ShapeError as exc:
            raise exc.within(where) from None
        for s, scope_spans in enumerate(all_scope_spans):
            here = f"{where}.scopeSpans[{s}]"
            try:
                scope = object_field(require_object(scope_spans), "scope", "scope")
                scope_name = string_field(scope, "name", "scope.name")
                scope_version = string_field(scope, "version", "scope.version")
                # Validated only: a `Span` carries the scope's name and version.
                decode_attributes(scope.get("attributes"), limits, "scope.attributes")
                spans = list_field(scope_spans, "spans", "spans")
            except ShapeError as exc:
                raise exc.within(here) from None
            decode_span = partial(
                _span,
                resource=resource,
                scope_name=scope_name,
                scope_version=scope_version,
                limits=limits,
            )
            add_spans(decoded, spans, decode_span, limits, here)
    return decoded


def load_request(body: bytes, name: str) -> dict[str, Any]:
    """The JSON object of an export request (`name`, e.g. ExportLogsServiceRequest).

    Raises InvalidJson when the body is not JSON at all, ShapeError when it is not an
    object.
    """
    try:
        root = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise InvalidJson(f"the body is not valid JSON: {exc}", field="body") from None
    if type(root) is not dict:
        raise ShapeError("", f"the body must be an OTLP {name} object, got {json_type(root)}")
    return root


def _span(
    raw: object,
    resource: Attributes,
    scope_name: str,
    scope_version: str,
    limits: OtlpLimits,
) -> Span | str:
    """The decoded span, or why this one span is rejected."""
    obj = require_object(raw)
    trace_id = decode_id(field_value(obj, "traceId", "trace_id"), 16)
    if trace_id is None or trace_id == ZERO_TRACE_ID:
        return "traceId must be 32 hex digits or 24 base64 characters, not all zero"
    span_id = decode_id(field_value(obj, "spanId", "span_id"), 8)
    if span_id is None or span_id == ZERO_SPAN_ID:
        return "spanId must be 16 hex digits or 12 base64 characters, not all zero"
    parent = field_value(obj, "parentSpanId", "parent_span_id")
    parent_id: str | None = None
    if parent:
        parent_raw = decode_id(parent, 8)
        if parent_raw is None:
            return "parentSpanId must be empty, null, 16 hex digits or 12 base64 characters"
        if parent_raw != ZERO_SPAN_ID:
            parent_id = parent_raw.hex()
    start = decode_nanos(field_value(obj, "startTimeUnixNano", "start_time_unix_nano"))
    if not start:
        return "startTimeUnixNano must be a positive integer (nanoseconds since the epoch)"
    end_raw = field_value(obj, "endTimeUnixNano", "end_time_unix_nano")
    end = 0 if end_raw is None else decode_nanos(end_raw)
    if end is None:
        return "endTimeUnixNano must be an integer (nanoseconds since the epoch)"
    status = object_field(obj, "status", "status")
    events = _events(obj.get("events"), start, limits)
    if isinstance(events, str):
        return events
    name = string_field(obj, "name", "name")
    message = string_field(status, "message", "status.message") if status else ""
    check_span_text(name, message, limits)
    return Span(
        trace_id.hex(),
        span_id.hex(),
        parent_id,
        name,
        _kind(obj.get("kind")),
        start,
        end,
        decode_attributes(obj.get("attributes"), limits, "attributes"),
        events,
        _status_code(status.get("code")) if status else StatusCode.UNSET,
        message,
        scope_name,
        scope_version,
        resource,
    )


def _events(raw: object, start: int, limits: OtlpLimits) -> list[SpanEvent] | str:
    """The span's events, or why the span is rejected."""
    if raw is None:
        return []
    if type(raw) is not list:
        raise ShapeError("events", f"must be an array, got {json_type(raw)}")
    if len(raw) > limits.max_events_per_span:
        raise too_many("events", len(raw), limits.max_events_per_span, "otlp_max_events_per_span")
    out = []
    for i, event in enumerate(raw):
        try:
            obj = require_object(event)
            time_raw = field_value(obj, "timeUnixNano", "time_unix_nano")
            # An event without a time is placed at its span's start.
            time = start if time_raw is None else decode_nanos(time_raw)
            if time is None:
                return f"events[{i}].timeUnixNano must be an integer (nanoseconds since the epoch)"
            name = string_field(obj, "name", "name")
            if len(name) > limits.max_string_chars:
                raise too_long("name", len(name), limits.max_string_chars)
            attributes = decode_attributes(obj.get("attributes"), limits, "attributes")
        except ShapeError as exc:
            raise exc.within(f"events[{i}]") from None
        out.append(SpanEvent(name, time or start, attributes))
    return out


def decode_attributes(pairs: object, limits: OtlpLimits, name: str, depth: int = 0) -> Attributes:
    """A KeyValue array as a dict; unset values are skipped, a repeated key's last wins."""
    if pairs is None:
        return {}
    if type(pairs) is not list:
        raise ShapeError(
            name, f"must be an array of {{key, value}} objects, got {json_type(pairs)}"
        )
    if len(pairs) > limits.max_attributes:
        raise too_many(name, len(pairs), limits.max_attributes, "otlp_max_attributes")
    out: Attributes = {}
    max_chars = limits.max_string_chars
    try:
        for pair in pairs:
            # Fast path: a string value, as most attributes are.
            if type(pair) is dict:
                value = pair.get("value")
                if type(value) is dict:
                    text = value.get("stringValue")
                    key = pair.get("key")
                    if (
                        type(text) is str
                        and type(key) is str
                        and len(text) <= max_chars
                        and len(key) <= max_chars
                    ):
                        out[key] = text
                        continue
            key, decoded = _pair(pair, depth, limits)
            if decoded is not None:
                out[key] = decoded
    except ShapeError as exc:
        # The loop keeps no index (it is the hot path); the first pair equal to the
        # failing one fails the same way, so it is the one to name.
        raise exc.within(f"{name}[{pairs.index(pair)}]") from None
    return out


def _pair(pair: object, depth: int, limits: OtlpLimits) -> tuple[str, Any]:
    obj = require_object(pair)
    key = obj.get("key")
    if key is None:
        key = ""
    elif type(key) is not str:
        raise ShapeError("key", f"must be a string, got {json_type(key)}")
    elif len(key) > limits.max_string_chars:
        raise too_long("key", len(key), limits.max_string_chars)
    try:
        return key, decode_value(obj.get("value"), depth, limits)
    except ShapeError as exc:
        raise exc.within("value") from None


def decode_value(value: object, depth: int, limits: OtlpLimits) -> Any:
    """One AnyValue object as a JSON value; None when unset."""
    if value is None:
        return None
    if type(value) is not dict:
        raise ShapeError(
            "", f'must be an AnyValue object such as {{"stringValue": "…"}}, got {json_type(value)}'
        )
    for member, item in value.items():
        kind = _VALUE_KINDS.get(member)
        if kind is None or item is None:
            continue  # unknown members are ignored; null is unset
        if kind == "string" or kind == "bytes":
            # Bytes are kept as the base64 text they arrive as: their JSON form (spec §7.1).
            if type(item) is str:
                if len(item) > limits.max_string_chars:
                    raise too_long("", len(item), limits.max_string_chars)
                return item
        elif kind == "int":
            return _int_value(item)
        elif kind == "double":
            return _double_value(item)
        elif kind == "bool":
            if type(item) is bool:
                return item
        else:
            if depth >= limits.max_value_depth:
                raise too_deep(limits.max_value_depth)
            values = _object_member(item, member).get("values")
            if kind == "array":
                return _array(values, member, depth + 1, limits)
            return decode_attributes(values, limits, f"{member}.values", depth + 1)
        raise ShapeError("", f"{member} must be {_EXPECTED[kind]}, got {json_type(item)}")
    return None


_EXPECTED = {"string": "a string", "bool": "true or false", "bytes": "a base64 string"}


def _object_member(item: object, member: str) -> dict[str, Any]:
    if type(item) is not dict:
        raise ShapeError(
            "", f'{member} must be an object {{"values": [...]}}, got {json_type(item)}'
        )
    return item


def _array(values: object, member: str, depth: int, limits: OtlpLimits) -> list[Any]:
    if values is None:
        return []
    if type(values) is not list:
        raise ShapeError(f"{member}.values", f"must be an array, got {json_type(values)}")
    return decode_array(values, lambda item: decode_value(item, depth, limits), f"{member}.values")


def _int_value(item: object) -> int:
    number: int | None = None
    if type(item) is int:
        number = item
    elif type(item) is str:
        try:
            number = int(item)
        except ValueError:
            number = None
    elif type(item) is float and item.is_integer():
        number = int(item)
    if number is None or not MIN_INT64 <= number <= MAX_INT64:
        raise ShapeError(
            "", f"intValue must be a 64-bit integer or its decimal string, got {json_type(item)}"
        )
    return number


def _double_value(item: object) -> float | str:
    if type(item) is float or type(item) is int:
        return float(item)
    if type(item) is str:
        try:
            return finite_or_text(float(item))
        except ValueError:
            pass
    raise ShapeError("", f"doubleValue must be a number or a numeric string, got {json_type(item)}")


def decode_id(value: object, size: int) -> bytes | None:
    """A `size`-byte id from hex (2*size chars) or base64 text; None if malformed."""
    if type(value) is not str:
        return None
    length = len(value)
    if length == 2 * size:
        try:
            raw = bytes.fromhex(value)
        except ValueError:
            return None
    elif length in _BASE64_LENGTHS[size]:
        padded = value + "=" * (-length % 4)
        try:
            raw = base64.b64decode(padded.replace("-", "+").replace("_", "/"), validate=True)
        except (binascii.Error, ValueError):
            return None
    else:
        return None
    return raw if len(raw) == size else None


# Padded and unpadded base64 lengths of 16- and 8-byte ids.
_BASE64_LENGTHS = {16: (24, 22), 8: (12, 11)}


def decode_nanos(value: object) -> int | None:
    """A timestamp in nanoseconds (decimal string or number), None if not one."""
    if type(value) is str:
        try:
            number = int(value)
        except ValueError:
            return None
    elif type(value) is int:
        number = value
    elif type(value) is float and value.is_integer():
        number = int(value)
    else:
        return None
    return number if 0 <= number <= MAX_UINT64 else None


def _kind(value: object) -> int:
    """A SpanKind from its number or name (with or without `SPAN_KIND_`); 0 if unknown."""
    if value is None:
        return 0
    if type(value) is int:
        return value if 0 <= value <= 5 else 0
    if type(value) is str:
        found = SPAN_KINDS.get(value)
        if found is None:
            if (number := _enum_number(value)) is not None:
                return _kind(number)
            found = SPAN_KINDS.get("SPAN_KIND_" + value.upper().removeprefix("SPAN_KIND_"), 0)
        return found
    raise ShapeError("kind", f"must be a SpanKind name or number, got {json_type(value)}")


def _status_code(value: object) -> StatusCode:
    """A status code from its number or name (with or without `STATUS_CODE_`)."""
    if value is None:
        return StatusCode.UNSET
    if type(value) is int:
        return STATUS_BY_NUMBER[value] if 0 <= value <= 2 else StatusCode.UNSET
    if type(value) is str:
        found = STATUS_CODES.get(value)
        if found is None:
            if (number := _enum_number(value)) is not None:
                return _status_code(number)
            key = "STATUS_CODE_" + value.upper().removeprefix("STATUS_CODE_")
            found = STATUS_CODES.get(key, StatusCode.UNSET)
        return found
    raise ShapeError("status.code", f"must be a StatusCode name or number, got {json_type(value)}")


def _enum_number(text: str) -> int | None:
    """The number a decimal string spells, for an enum lookup; None if it spells none.

    Past four digits it is no enum's number whatever follows, so only those are read:
    int() refuses more than 4300 digits, and `"²".isdigit()` though int() refuses it.
    """
    if not (text.isascii() and text.isdigit()):
        return None
    return int(text.lstrip("0")[:4] or "0")


def field_value(obj: dict[str, Any], camel: str, snake: str) -> Any:
    """A field under its lowerCamelCase name, else its snake_case one."""
    value = obj.get(camel)
    return obj.get(snake) if value is None else value


def list_field(obj: dict[str, Any], camel: str, snake: str) -> list[Any]:
    value = field_value(obj, camel, snake)
    if value is None:
        return []
    if type(value) is not list:
        raise ShapeError(camel, f"must be an array, got {json_type(value)}")
    return value


def object_field(obj: dict[str, Any], camel: str, snake: str) -> dict[str, Any]:
    value = field_value(obj, camel, snake)
    if value is None:
        return {}
    if type(value) is not dict:
        raise ShapeError(camel, f"must be an object, got {json_type(value)}")
    return value


def string_field(obj: dict[str, Any], name: str, path: str) -> str:
    value = obj.get(name)
    if value is None:
        return ""
    if type(value) is not str:
        raise ShapeError(path, f"must be a string, got {json_type(value)}")
    return value


def require_object(value: object) -> dict[str, Any]:
    if type(value) is not dict:
        raise ShapeError("", f"must be an object, got {json_type(value)}")
    return value


def json_type(value: object) -> str:
    return _JSON_TYPES.get(type(value), type(value).__name__)
