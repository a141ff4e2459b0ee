"""OTLP log export requests, protobuf or JSON → `DecodedLogs`.

Both encodings share the trace decoders' rules: the same limits (`otlp_max_*`; the
item limit counts log records), the same AnyValue decoding, the same JSON leniency
(camelCase or snake_case, ids in hex or base64, numbers as strings, enum names or
numbers). A record with a malformed trace or span id is rejected alone; all-zero or
empty ids mean "outside any trace", as the SDKs send them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, NamedTuple, TypeVar

from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord as PbLogRecord
from opentelemetry.proto.logs.v1.logs_pb2 import SeverityNumber

from hivekeeper.ingest import otlp_json, otlp_protobuf
from hivekeeper.ingest.log_records import LogRecord
from hivekeeper.ingest.otlp_batch import (
    ZERO_SPAN_ID,
    ZERO_TRACE_ID,
    DecodedLogs,
    OtlpLimits,
    ShapeError,
    check_item_count,
    too_long,
)
from hivekeeper.ingest.spans import Attributes

# A record as one encoding holds it (a JSON value, a protobuf message).
_Wire = TypeVar("_Wire")

_EVENT_NAME_ATTRIBUTE = "event.name"
"""Where SDKs older than the LogRecord `event_name` field put the event's name."""
_SEVERITIES = dict(SeverityNumber.items())


def decode_logs_protobuf(body: bytes, limits: OtlpLimits) -> DecodedLogs:
    """Decode a binary ExportLogsServiceRequest.

    Raises BadRequest when the bytes are not one and ShapeError past a limit.
    """
    request = otlp_protobuf.parse_request(ExportLogsServiceRequest(), body)
    decoded = DecodedLogs()
    for r, resource_logs in enumerate(request.resource_logs):
        where = f"resourceLogs[{r}]"
        try:
            resource = otlp_protobuf.decode_attributes(
                resource_logs.resource.attributes, limits, "resource.attributes"
            )
        except ShapeError as exc:
            raise exc.within(where) from None
        for s, scope_logs in enumerate(resource_logs.scope_logs):
            here = f"{where}.scopeLogs[{s}]"
            scope = scope_logs.scope
            records = scope_logs.log_records
            try:
                otlp_protobuf.decode_attributes(scope.attributes, limits, "scope.attributes")
            except ShapeError as exc:
                raise exc.within(here) from None
            scoped = _Scope(scope.name, scope.version, resource)
            _add_records(decoded, records, _protobuf_record, limits, here, scoped)
    return decoded


def decode_logs_json(body: bytes, limits: OtlpLimits) -> DecodedLogs:
    """Decode a JSON ExportLogsServiceRequest.

    Raises InvalidJson when the body is not JSON, ShapeError when it has the wrong
    shape or is past a limit.
    """
    root = otlp_json.load_request(body, "ExportLogsServiceRequest")
    decoded = DecodedLogs()
    for r, resource_logs in enumerate(otlp_json.list_field(root, "resourceLogs", "resource_logs")):
        where = f"resourceLogs[{r}]"
        try:
            obj = otlp_json.require_object(resource_logs)
            resource_obj = otlp_json.object_field(obj, "resource", "resource")
            resource = otlp_json.decode_attributes(
                resource_obj.get("attributes"), limits, "resource.attributes"
            )
            all_scope_logs = otlp_json.list_field(obj, "scopeLogs", "scope_logs")
        except ShapeError as exc:
            raise exc.within(where) from None
        for s, scope_logs in enumerate(all_scope_logs):
            here = f"{where}.scopeLogs[{s}]"
            try:
                scope_obj = otlp_json.require_object(scope_logs)
                scope = otlp_json.object_field(scope_obj, "scope", "scope")
                scope_name = otlp_json.string_field(scope, "name", "scope.name")
                scope_version = otlp_json.string_field(scope, "version", "scope.version")
                otlp_json.decode_attributes(scope.get("attributes"), limits, "scope.attributes")
                records = otlp_json.list_field(scope_obj, "logRecords", "log_records")
            except ShapeError as exc:
                raise exc.within(here) from None
            scoped = _Scope(scope_name, scope_version, resource)
            _add_records(decoded, records, _json_record, limits, here, scoped)
    return decoded


class _Scope(NamedTuple):
    """What the records of one ScopeLogs share."""

    name: str
    version: str
    resource: Attributes


def _add_records(
    decoded: DecodedLogs,
    records: Sequence[_Wire],
    decode_record: Callable[[_Wire, int, OtlpLimits], LogRecord | str],
    limits: OtlpLimits,
    path: str,
    scope: _Scope,
) -> None:
    """Decode the `logRecords` of one ScopeLogs (at `path`) into `decoded`.

    Raises ShapeError when the request now holds more than `max_spans` items, or for a
    request-level defect of a record (its path then names the record).
    """
    # Every record so far was accepted or rejected: their sum is the next one's index.
    seen = len(decoded.records) + decoded.rejected
    check_item_count(decoded, seen + len(records), limits, "resourceLogs")
    for k, raw in enumerate(records):
        try:
            record = decode_record(raw, seen + k, limits)
        except ShapeError as exc:
            raise exc.within(f"{path}.logRecords[{k}]") from None
        if isinstance(record, str):
            decoded.reject(f"{path}.logRecords[{k}]", record)
            continue
        record.scope_name, record.scope_version, record.resource = scope
        decoded.records.append(record)


def _protobuf_record(raw: PbLogRecord, index: int, limits: OtlpLimits) -> LogRecord | str:
    """The decoded record, or why this one record is rejected."""
    ids = _ids(raw.trace_id, raw.span_id)
    if isinstance(ids, str):
        return ids
    attributes = otlp_protobuf.decode_attributes(raw.attributes, limits, "attributes")
    body = None
    if raw.HasField("body"):
        try:
            body = otlp_protobuf.decode_value(raw.body, 0, limits)
        except ShapeError as exc:
            raise exc.within("body") from None
    return LogRecord(
        index,
        *ids,
        raw.time_unix_nano,
        raw.observed_time_unix_nano,
        severity_number=raw.severity_number,
        severity_text=_short(raw.severity_text, "severityText", limits),
        event_name=_event_name(_short(raw.event_name, "eventName", limits), attributes),
        body=body,
        attributes=attributes,
        flags=raw.flags,
        dropped_attributes_count=raw.dropped_attributes_count,
    )


def _json_record(raw: object, index: int, limits: OtlpLimits) -> LogRecord | str:
    """The decoded record, or why this one record is rejected."""
    obj = otlp_json.require_object(raw)
    trace_id = _json_id(otlp_json.field_value(obj, "traceId", "trace_id"), 16)
    span_id = _json_id(otlp_json.field_value(obj, "spanId", "span_id"), 8)
    if trace_id is None:
        return "traceId must be empty, 32 hex digits or 24 base64 characters"
    if span_id is None:
        return "spanId must be empty, 16 hex digits or 12 base64 characters"
    ids = _ids(trace_id, span_id)
    if isinstance(ids, str):
        return ids
    times = []
    for camel, snake in (
        ("timeUnixNano", "time_unix_nano"),
        ("observedTimeUnixNano", "observed_time_unix_nano"),
    ):
        value = otlp_json.field_value(obj, camel, snake)
        nanos = 0 if value is None else otlp_json.decode_nanos(value)
        if nanos is None:
            return f"{camel} must be an integer (nanoseconds since the epoch)"
        times.append(nanos)
    attributes = otlp_json.decode_attributes(obj.get("attributes"), limits, "attributes")
    try:
        body = otlp_json.decode_value(obj.get("body"), 0, limits)
    except ShapeError as exc:
        raise exc.within("body") from None
    text = _json_text(obj, "severityText", "severity_text", limits)
    name = _json_text(obj, "eventName", "event_name", limits)
    return LogRecord(
        index,
        *ids,
        times[0],
        times[1],
        severity_number=_severity(otlp_json.field_value(obj, "severityNumber", "severity_number")),
        severity_text=text,
        event_name=_event_name(name, attributes),
        body=body,
        attributes=attributes,
        flags=_counter(otlp_json.field_value(obj, "flags", "flags"), "flags"),
        dropped_attributes_count=_counter(
            otlp_json.field_value(obj, "droppedAttributesCount", "dropped_attributes_count"),
            "droppedAttributesCount",
        ),
    )


def _ids(trace_id: bytes, span_id: bytes) -> tuple[str | None, str | None] | str:
    """(trace id, span id) as hex, None where absent; or why the record is rejected."""
    if trace_id and len(trace_id) != 16:
        return "traceId must be empty or 16 bytes"
    if span_id and len(span_id) != 8:
        return "spanId must be empty or 8 bytes"
    trace = trace_id.hex() if trace_id and trace_id != ZERO_TRACE_ID else None
    span = span_id.hex() if span_id and span_id != ZERO_SPAN_ID else None
    if span is not None and trace is None:
        return "spanId is set but traceId is not"
    return trace, span


def _json_id(value: object, size: int) -> bytes | None:
    """An id's bytes; empty for a missing, null or empty one; None if malformed."""
    if value is None or value == "":
        return b""
    return otlp_json.decode_id(value, size)


def _event_name(name: str, attributes: Attributes) -> str:
    if name:
        return name
    legacy = attributes.get(_EVENT_NAME_ATTRIBUTE)
    return legacy if type(legacy) is str else ""


def _json_text(obj: dict[str, Any], camel: str, snake: str, limits: OtlpLimits) -> str:
    value = otlp_json.field_value(obj, camel, snake)
    if value is None:
        return ""
    if type(value) is not str:
        raise ShapeError(camel, f"must be a string, got {otlp_json.json_type(value)}")
    return _short(value, camel, limits)


def _short(text: str, path: str, limits: OtlpLimits) -> str:
    if len(text) > limits.max_string_chars:
        raise too_long(path, len(text), limits.max_string_chars)
    return text


def _severity(value: Any) -> int:
    """A SeverityNumber from its number or name (with or without `SEVERITY_NUMBER_`)."""
    if value is None:
        return 0
    if type(value) is int:
        return value if 0 <= value <= 24 else 0
    if type(value) is str:
        if value.isascii() and value.isdigit():
            return _severity(int(value)) if len(value) <= 2 else 0
        return _SEVERITIES.get(
            "SEVERITY_NUMBER_" + value.upper().removeprefix("SEVERITY_NUMBER_"), 0
        )
    raise ShapeError(
        "severityNumber",
        f"must be a SeverityNumber name or number, got {otlp_json.json_type(value)}",
    )


def _counter(value: Any, path: str) -> int:
    """A fixed32/uint32 field (flags, dropped counts) from a number or its decimal string."""
    if value is None:
        return 0
    number = otlp_json.decode_nanos(value)
    if number is None:
        raise ShapeError(path, f"must be a non-negative integer, got {otlp_json.json_type(value)}")
    return number
