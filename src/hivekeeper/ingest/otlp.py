"""OTLP export requests of the three signals (traces, logs, metrics): which encoding a
request uses, decoding and mapping it, and the answers.

An export request is protobuf or JSON; the answer (success, partial success, or an
error status) is written in the same encoding, as the OTLP/HTTP specification asks
(OTLP/gRPC is always protobuf). Decoding is pure: bytes in, a `Decoded…` out, or an
error naming the field. `SIGNALS` holds what differs between the three, so one export
path (`api.otlp_export`) serves them all, over HTTP and gRPC.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, cast

import orjson
from google.protobuf.message import Message
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceResponse
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceResponse,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse

from hivekeeper.domain.errors import EventTypeConflict, ValidationFailed
from hivekeeper.domain.types import MergeOp, Skipped, Upsert, WriteNote
from hivekeeper.ingest.log_mapping import logs_to_ops
from hivekeeper.ingest.otlp_batch import (
    Decoded,
    DecodedLogs,
    DecodedMetrics,
    DecodedTraces,
    OtlpLimits,
    ShapeError,
)
from hivekeeper.ingest.otlp_json import decode_json
from hivekeeper.ingest.otlp_logs import decode_logs_json, decode_logs_protobuf
from hivekeeper.ingest.otlp_metrics import decode_metrics_json, decode_metrics_protobuf
from hivekeeper.ingest.otlp_protobuf import decode_protobuf
from hivekeeper.ingest.span_mapping import spans_to_ops
from hivekeeper.ingest.trace_sessions import TraceSessions

Encoding = Literal["protobuf", "json"]
SignalName = Literal["traces", "logs", "metrics"]
Decoder = Callable[[bytes, OtlpLimits], Decoded]

MEDIA_TYPES: dict[Encoding, str] = {
    "protobuf": "application/x-protobuf",
    "json": "application/json",
}
_DECLARED: dict[str, Encoding] = {
    "application/x-protobuf": "protobuf",
    "application/protobuf": "protobuf",
    "application/json": "json",
}
_JSON_WHITESPACE = b" \t\r\n"


def declared_encoding(content_type: str | None) -> Encoding | None:
    """The encoding a Content-Type names; None when absent or another type."""
    if not content_type:
        return None
    return _DECLARED.get(content_type.partition(";")[0].strip().lower())


def sniff_encoding(body: bytes) -> Encoding:
    """Guess the encoding of a body sent without a usable Content-Type.

    JSON when the body opens with `{` after whitespace, else protobuf. One case is
    ambiguous: a protobuf request starts with byte 0x0A (a newline), and when its
    first ResourceSpans is 123 bytes long the next byte is `{`. Such a body is JSON
    only if it parses as JSON.
    """
    if body[:1] == b"{":
        return "json"
    if not body.lstrip(_JSON_WHITESPACE).startswith(b"{"):
        return "protobuf"
    if body[:1] != b"\n":
        return "json"
    try:
        orjson.loads(body)
    except orjson.JSONDecodeError:
        return "protobuf"
    return "json"


@dataclass(frozen=True, slots=True)
class Signal:
    """What one OTLP signal's export takes: its decoders, mapping and answer."""

    name: SignalName
    decoders: Mapping[Encoding, Decoder]
    response: type[Message]
    """The Export…ServiceResponse message."""
    rejected_field: str
    """Its partial success's count field (protobuf name; the JSON name is camelCase)."""

    def decode(self, body: bytes, encoding: Encoding, limits: OtlpLimits) -> Decoded:
        """Decode a whole request before anything is stored.

        Item-level defects reject only their item (counted in the result). Raises
        BadRequest/InvalidJson when the body is not the encoding it claims, and
        ValidationFailed naming the field when it has the wrong shape or is past a limit.
        """
        try:
            return self.decoders[encoding](body, limits)
        except ShapeError as exc:
            field = exc.path or "body"
            raise ValidationFailed(f"{field}: {exc.reason}", field=field) from None


TRACES = Signal(
    "traces",
    {"protobuf": decode_protobuf, "json": decode_json},
    ExportTraceServiceResponse,
    "rejected_spans",
)
LOGS = Signal(
    "logs",
    {"protobuf": decode_logs_protobuf, "json": decode_logs_json},
    ExportLogsServiceResponse,
    "rejected_log_records",
)
METRICS = Signal(
    "metrics",
    {"protobuf": decode_metrics_protobuf, "json": decode_metrics_json},
    ExportMetricsServiceResponse,
    "rejected_data_points",
)
SIGNALS: dict[SignalName, Signal] = {s.name: s for s in (TRACES, LOGS, METRICS)}


def decode_traces(body: bytes, encoding: Encoding, limits: OtlpLimits) -> DecodedTraces:
    """`TRACES.decode`: a trace export request, decoded whole (see `Signal.decode`)."""
    return cast(DecodedTraces, TRACES.decode(body, encoding, limits))


def export_ops(
    decoded: Decoded,
    project_id: str,
    *,
    now_ms: float,
    source_header: str | None,
    traces: TraceSessions | None = None,
) -> list[MergeOp]:
    """The write operations that store a decoded export for `project_id` (none for
    metrics, which are not stored); `traces` is the writer's memory of recent traces."""
    if isinstance(decoded, DecodedTraces):
        return spans_to_ops(
            project_id, decoded.spans, source_header=source_header, traces=traces
        )
    if isinstance(decoded, DecodedLogs):
        return logs_to_ops(
            project_id, decoded.records, now_ms=now_ms, source_header=source_header, traces=traces
        )
    return []


def accepted_items(decoded: Decoded) -> int:
    """How many items of a decoded export were stored (after `settle_export`)."""
    if isinstance(decoded, DecodedTraces):
        return len(decoded.spans)
    if isinstance(decoded, DecodedLogs):
        return len(decoded.records) - decoded.skipped
    return 0


def settle_export(decoded: Decoded, ops: Sequence[MergeOp], notes: Sequence[WriteNote]) -> None:
    """Count the upserts the store skipped (another event type was stored under their
    id; the stored type is kept) as rejected items of `decoded`."""
    if isinstance(decoded, DecodedTraces):
        reject_skipped(decoded, ops, notes)
        return
    for note in notes:
        if isinstance(note, Skipped):
            decoded.reject(f"log record event {note.op.patch['event_id']}", note.conflict.message)
            if isinstance(decoded, DecodedLogs):
                decoded.skipped += 1


def reject_skipped(
    decoded: DecodedTraces, ops: Sequence[MergeOp], notes: Sequence[WriteNote]
) -> None:
    """Move the spans the store skipped from `decoded.spans` to its rejected ones.

    A span naming a stored event of another type was not written (`Skipped`): the
    stored type is kept, and the answer's partial success names the span. `ops` are
    `spans_to_ops(decoded.spans)`: one upsert per span, in order, after the session
    updates. Notes name the ops as queued (redaction may have copied them), so spans
    are matched by event id and the type they named.
    """
    conflicts: dict[tuple[str, str], EventTypeConflict] = {
        (note.op.patch["event_id"], note.conflict.sent_type): note.conflict
        for note in notes
        if isinstance(note, Skipped)
    }
    if not conflicts:
        return
    upserts = [op for op in ops if isinstance(op, Upsert)]
    kept = []
    for span, op in zip(decoded.spans, upserts, strict=True):
        conflict = conflicts.get((op.patch["event_id"], op.patch.get("event_type", "")))
        if conflict is None:
            kept.append(span)
        else:
            where = f"span {span.span_id} of trace {span.trace_id}"
            decoded.reject(where, f"{conflict.message}; the stored type is kept")
    decoded.spans = kept


_SIGNAL_OF: dict[type[Decoded], Signal] = {
    DecodedTraces: TRACES,
    DecodedLogs: LOGS,
    DecodedMetrics: METRICS,
}


def encode_answer(encoding: Encoding, decoded: Decoded) -> bytes:
    """The Export…ServiceResponse of its signal: empty, or a partial success with its
    count and message."""
    signal = _SIGNAL_OF[type(decoded)]
    message = decoded.message()
    if encoding == "protobuf":
        response = signal.response()
        if message:
            partial = response.partial_success  # type: ignore[attr-defined]  # each has one
            setattr(partial, signal.rejected_field, decoded.rejected)
            partial.error_message = message
        return response.SerializeToString()
    if not message:
        return b"{}"
    # int64 is a decimal string in proto3 JSON; OTLP/JSON parsers accept both forms.
    head, *rest = signal.rejected_field.split("_")
    count_key = head + "".join(word.title() for word in rest)
    partial_json = {count_key: str(decoded.rejected), "errorMessage": message}
    return orjson.dumps({"partialSuccess": partial_json})


def is_otlp_metrics(content_type: str | None, body: bytes) -> bool:
    """Whether a `POST /v1/metrics` body is an OTLP metrics export rather than a
    HoneyHive create-metric request: protobuf (declared, or a body that does not look
    like JSON), or a JSON object holding `resourceMetrics` (or `resource_metrics`)."""
    encoding = declared_encoding(content_type) or sniff_encoding(body)
    if encoding == "protobuf":
        return True
    try:
        root = orjson.loads(body)
    except orjson.JSONDecodeError:
        return False
    return type(root) is dict and ("resourceMetrics" in root or "resource_metrics" in root)


# google.rpc.Code for each HTTP status we answer (OTLP/HTTP puts it in the Status body;
# OTLP/gRPC answers it as the call's status).
_GRPC_CODES = {
    400: 3,  # INVALID_ARGUMENT
    401: 16,  # UNAUTHENTICATED
    403: 7,  # PERMISSION_DENIED
    404: 5,  # NOT_FOUND
    413: 8,  # RESOURCE_EXHAUSTED: what gRPC answers for a message past its size limit
    429: 8,  # RESOURCE_EXHAUSTED
    501: 12,  # UNIMPLEMENTED
    503: 14,  # UNAVAILABLE
}
_GRPC_INTERNAL = 13


def grpc_code(status: int) -> int:
    """The google.rpc.Code (gRPC status code) answering what HTTP answers `status`."""
    return _GRPC_CODES.get(status, _GRPC_INTERNAL)


def encode_status(
    encoding: Encoding, code: int, message: str, json_fields: Mapping[str, str]
) -> bytes:
    """An error answer: a google.rpc.Status (`code` is a gRPC status code).

    JSON answers also carry `json_fields` (our `errorCode`, `field`), so OTLP and
    REST clients read the same keys.
    """
    if encoding == "json":
        return orjson.dumps({"code": code, "message": message, **json_fields})
    return _status(code, message)


_RETRY_INFO_TYPE = b"type.googleapis.com/google.rpc.RetryInfo"


def encode_retry_info(retry_after_s: int) -> bytes:
    """A google.rpc.RetryInfo asking to retry after `retry_after_s` seconds."""
    # RetryInfo is one field, 1 `retry_delay` (a Duration: 1 `seconds`, varint).
    return _length_delimited(1, b"\x08" + _varint(retry_after_s))


def encode_retry_status(code: int, message: str, retry_after_s: int) -> bytes:
    """A google.rpc.Status holding a RetryInfo among its details: the
    `grpc-status-details-bin` that gRPC exporters read their back-off from."""
    detail = _length_delimited(1, _RETRY_INFO_TYPE) + _length_delimited(
        2, encode_retry_info(retry_after_s)
    )
    return _status(code, message) + _length_delimited(3, detail)


def _status(code: int, message: str) -> bytes:
    # google.rpc.Status: 1 `code` (varint), 2 `message` (string), 3 `details` (Any,
    # repeated). Written by hand, like RetryInfo, so the server needs no
    # googleapis-common-protos for two small messages.
    return b"\x08" + _varint(code) + _length_delimited(2, message.encode())


def _length_delimited(number: int, payload: bytes) -> bytes:
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def _varint(number: int) -> bytes:
    out = bytearray()
    while number > 0x7F:
        out.append((number & 0x7F) | 0x80)
        number >>= 7
    out.append(number)
    return bytes(out)
