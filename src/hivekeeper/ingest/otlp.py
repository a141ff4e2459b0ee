"""OTLP/HTTP trace export: which encoding a request uses, decoding it, and the answers.

An export request is protobuf or JSON; the answer (success, partial success, or an
error status) is written in the same encoding, as the OTLP/HTTP specification asks.
Decoding is pure: bytes in, `DecodedTraces` out, or an error naming the field.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Literal

import orjson
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse

from hivekeeper.domain.errors import EventTypeConflict, ValidationFailed
from hivekeeper.domain.types import MergeOp, Skipped, Upsert, WriteNote
from hivekeeper.ingest.otlp_batch import DecodedTraces, OtlpLimits, ShapeError
from hivekeeper.ingest.otlp_json import decode_json
from hivekeeper.ingest.otlp_protobuf import decode_protobuf

Encoding = Literal["protobuf", "json"]

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


def decode_traces(body: bytes, encoding: Encoding, limits: OtlpLimits) -> DecodedTraces:
    """Decode a whole request before anything is stored.

    Span-level defects reject only their span (counted in the result). Raises
    BadRequest/InvalidJson when the body is not the encoding it claims, and
    ValidationFailed naming the field when it has the wrong shape or is past a limit.
    """
    try:
        if encoding == "protobuf":
            return decode_protobuf(body, limits)
        return decode_json(body, limits)
    except ShapeError as exc:
        field = exc.path or "body"
        raise ValidationFailed(f"{field}: {exc.reason}", field=field) from None


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


def encode_answer(encoding: Encoding, decoded: DecodedTraces) -> bytes:
    """The ExportTraceServiceResponse: empty, or a partial success with its count."""
    message = decoded.message()
    if encoding == "protobuf":
        response = ExportTraceServiceResponse()
        if message:
            response.partial_success.rejected_spans = decoded.rejected
            response.partial_success.error_message = message
        return response.SerializeToString()
    if not message:
        return b"{}"
    # int64 is a decimal string in proto3 JSON; OTLP/JSON parsers accept both forms.
    partial = {"rejectedSpans": str(decoded.rejected), "errorMessage": message}
    return orjson.dumps({"partialSuccess": partial})


def encode_status(
    encoding: Encoding, code: int, message: str, json_fields: Mapping[str, str]
) -> bytes:
    """An error answer: a google.rpc.Status (`code` is a gRPC status code).

    JSON answers also carry `json_fields` (our `errorCode`, `field`), so OTLP and
    REST clients read the same keys.
    """
    if encoding == "json":
        return orjson.dumps({"code": code, "message": message, **json_fields})
    # google.rpc.Status is two fields: 1 `code` (varint), 2 `message` (string). Written
    # by hand so the server needs no googleapis-common-protos for one message.
    text = message.encode()
    return b"\x08" + _varint(code) + b"\x12" + _varint(len(text)) + text


def _varint(number: int) -> bytes:
    out = bytearray()
    while number > 0x7F:
        out.append((number & 0x7F) | 0x80)
        number >>= 7
    out.append(number)
    return bytes(out)
