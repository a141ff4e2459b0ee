"""OTLP/HTTP trace ingestion: `POST /opentelemetry/v1/traces` and `POST /v1/traces`.

Every answer, errors included, is in the request's encoding (protobuf or JSON), as
OTLP/HTTP exporters expect. Statuses follow their retry logic: 400 means "this input
is bad, do not retry"; 429/503 carry `Retry-After`; 200 only after the commit.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from hivekeeper.api.auth import writer_principal
from hivekeeper.config import Settings
from hivekeeper.domain.errors import HivekeeperError
from hivekeeper.domain.types import MergeOp
from hivekeeper.ingest import (
    MEDIA_TYPES,
    DecodedTraces,
    Encoding,
    OtlpLimits,
    declared_encoding,
    decode_traces,
    encode_answer,
    encode_status,
    reject_skipped,
    sniff_encoding,
    spans_to_ops,
)
from hivekeeper.web import context, note_error, read_body

router = APIRouter(tags=["opentelemetry"])

# Bodies up to this size are decoded and mapped on the event loop: ~15 ms of work at
# most, less than a thread hop costs in GIL hand-offs. Larger ones (up to
# max_body_bytes, hundreds of milliseconds for 20 MB) go to a worker thread, so they
# cannot stall every other connection meanwhile.
_INLINE_DECODE_BYTES = 1 << 20

# google.rpc.Code for each status we answer (OTLP/HTTP puts it in the Status body).
_GRPC_CODES = {
    400: 3,  # INVALID_ARGUMENT
    401: 16,  # UNAUTHENTICATED
    403: 7,  # PERMISSION_DENIED
    404: 5,  # NOT_FOUND
    413: 8,  # RESOURCE_EXHAUSTED: what gRPC answers for a message past its size limit
    429: 8,  # RESOURCE_EXHAUSTED
    503: 14,  # UNAVAILABLE
}
_GRPC_INTERNAL = 13

_DESCRIPTION = """\
Standard OTLP/HTTP trace export (what the HoneyHive tracer and any OpenTelemetry
exporter send). The body is an `ExportTraceServiceRequest`:

* `application/x-protobuf` or `application/protobuf`: binary protobuf;
* `application/json`: OTLP/JSON, read leniently (hex or base64 ids, enum names or
  numbers, camelCase or snake_case fields, integers as strings or numbers);
* another or no Content-Type: JSON if the body starts with `{`, else protobuf.

`Content-Encoding: gzip` or `deflate` is accepted. Needs `Authorization: Bearer <key>`
(an ingest key will do). Each span becomes an event. The answer is an
`ExportTraceServiceResponse` in the request's encoding; spans with malformed ids or no
start time, or naming a stored event of another type (whose type is kept), are
rejected alone and counted in `partialSuccess`. A malformed request is a
400 with a `google.rpc.Status` (JSON: `code`, `message`, `errorCode`, `field`) and
stores nothing."""


def _content(json_properties: dict[str, Any]) -> dict[str, Any]:
    """An OpenAPI `content` map: binary protobuf, or a JSON object of these properties."""
    return {
        "application/x-protobuf": {"schema": {"type": "string", "format": "binary"}},
        "application/json": {"schema": {"type": "object", "properties": json_properties}},
    }


_REQUEST_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": _content(
            {
                "resourceSpans": {
                    "type": "array",
                    "items": {"type": "object", "additionalProperties": True},
                }
            }
        ),
    },
    "responses": {
        "200": {
            "description": "Stored (committed); `partialSuccess` counts rejected spans.",
            "content": _content(
                {
                    "partialSuccess": {
                        "type": "object",
                        "properties": {
                            "rejectedSpans": {"type": "string"},
                            "errorMessage": {"type": "string"},
                        },
                    }
                }
            ),
        }
    },
}


def _limits(settings: Settings) -> OtlpLimits:
    """The decoder limits a server runs with."""
    return OtlpLimits(
        max_spans=settings.otlp_max_spans_per_request,
        max_attributes=settings.otlp_max_attributes,
        max_events_per_span=settings.otlp_max_events_per_span,
        max_value_depth=settings.otlp_max_value_depth,
        max_string_chars=settings.max_string_chars,
    )


@router.post(
    "/opentelemetry/v1/traces",
    summary="Export OTLP traces",
    description=_DESCRIPTION,
    openapi_extra=_REQUEST_BODY,
    response_class=Response,
)
@router.post(
    "/v1/traces",
    summary="Export OTLP traces (stock OTLP path)",
    description=_DESCRIPTION,
    openapi_extra=_REQUEST_BODY,
    response_class=Response,
)
async def export_traces(request: Request) -> Response:
    ctx = context(request)
    declared = declared_encoding(request.headers.get("content-type"))
    encoding: Encoding = declared or "json"
    try:
        principal = await writer_principal(request)
        body = await read_body(request, ctx.settings.max_body_bytes)
        encoding = declared or sniff_encoding(body)
        args = (
            body,
            encoding,
            _limits(ctx.settings),
            principal.project.id,
            request.headers.get("x-source"),
        )
        if len(body) <= _INLINE_DECODE_BYTES:
            decoded, ops = _decode_and_map(*args)
        else:
            decoded, ops = await ctx.decode(_decode_and_map, *args)
        notes = await ctx.writer.submit(ops)
    except HivekeeperError as exc:
        return _error(request, exc, encoding)
    reject_skipped(decoded, ops, notes)
    ctx.metrics.count_spans(accepted=len(decoded.spans), rejected=decoded.rejected)
    return Response(encode_answer(encoding, decoded), media_type=MEDIA_TYPES[encoding])


def _decode_and_map(
    body: bytes,
    encoding: Encoding,
    limits: OtlpLimits,
    project_id: str,
    source_header: str | None,
) -> tuple[DecodedTraces, list[MergeOp]]:
    decoded = decode_traces(body, encoding, limits)
    ops = spans_to_ops(project_id, decoded.spans, source_header=source_header)
    return decoded, ops


def _error(request: Request, exc: HivekeeperError, encoding: Encoding) -> Response:
    note_error(request, exc)
    extra = {k: v for k, v in exc.body().items() if k != "message"}
    return Response(
        encode_status(encoding, _GRPC_CODES.get(exc.status, _GRPC_INTERNAL), exc.message, extra),
        status_code=exc.status,
        headers=exc.headers(),
        media_type=MEDIA_TYPES[encoding],
    )
