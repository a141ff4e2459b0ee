"""OTLP/HTTP ingestion: traces, logs and metrics, at `/opentelemetry/v1/<signal>` and
the stock `/v1/<signal>` paths.

Every answer, errors included, is in the request's encoding (protobuf or JSON), as
OTLP/HTTP exporters expect. Statuses follow their retry logic: 400 means "this input
is bad, do not retry"; 429/503 carry `Retry-After`; 200 only after the commit.
`POST /v1/metrics` is also HoneyHive's create-metric (`api.evaluators`):
`ingest.is_otlp_metrics` tells the two apart.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from hivekeeper.api import evaluators
from hivekeeper.api.auth import writer_principal
from hivekeeper.api.otlp_export import store_export
from hivekeeper.domain.errors import HivekeeperError
from hivekeeper.ingest import (
    LOGS,
    MEDIA_TYPES,
    METRICS,
    TRACES,
    Encoding,
    Signal,
    declared_encoding,
    encode_answer,
    encode_status,
    grpc_code,
    is_otlp_metrics,
    sniff_encoding,
)
from hivekeeper.web import context, note_error, read_body

router = APIRouter(tags=["opentelemetry"])

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

_LOGS_DESCRIPTION = """\
Standard OTLP/HTTP log export: an `ExportLogsServiceRequest`, in the encodings, with
the key and limits of the trace export. GenAI records naming a span
(`gen_ai.user.message` … `gen_ai.choice`, `gen_ai.client.inference.operation.details`,
`gen_ai.evaluation.result`) attach to that span's event, before or after it arrives:
its `inputs.chat_history`, `outputs` and `metrics`. Every other record is an event of
its own (`chain`): in its trace's session under its span, or without a trace in an
implicit session per `service.name` and UTC day. Records with malformed ids are
rejected alone and counted in `partialSuccess`."""

_METRICS_DESCRIPTION = """\
Standard OTLP/HTTP metric export: an `ExportMetricsServiceRequest`, in the encodings,
with the key and limits of the trace export. hivekeeper keeps no OTLP metrics (token
usage and durations come from spans): the answer is a `200` whose `partialSuccess`
counts every data point as rejected and says why."""


def _content(json_properties: dict[str, Any]) -> dict[str, Any]:
    """An OpenAPI `content` map: binary protobuf, or a JSON object of these properties."""
    return {
        "application/x-protobuf": {"schema": {"type": "string", "format": "binary"}},
        "application/json": {"schema": {"type": "object", "properties": json_properties}},
    }


def _request_body(items_key: str, rejected_key: str, items: str) -> dict[str, Any]:
    """The OpenAPI request and answer of an export whose JSON body lists `items_key`."""
    array = {"type": "array", "items": {"type": "object", "additionalProperties": True}}
    partial = {
        "type": "object",
        "properties": {rejected_key: {"type": "string"}, "errorMessage": {"type": "string"}},
    }
    return {
        "requestBody": {"required": True, "content": _content({items_key: array})},
        "responses": {
            "200": {
                "description": f"Stored (committed); `partialSuccess` counts rejected {items}.",
                "content": _content({"partialSuccess": partial}),
            }
        },
    }


_REQUEST_BODY = _request_body("resourceSpans", "rejectedSpans", "spans")


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
@router.post(
    "/api/public/otel/v1/traces",
    summary="Export OTLP traces (Langfuse's path; HTTP Basic credentials too)",
    description=_DESCRIPTION,
    openapi_extra=_REQUEST_BODY,
    response_class=Response,
)
async def export_traces(request: Request) -> Response:
    return await _export(request, TRACES)


@router.post(
    "/opentelemetry/v1/logs",
    summary="Export OTLP logs",
    description=_LOGS_DESCRIPTION,
    openapi_extra=_request_body("resourceLogs", "rejectedLogRecords", "log records"),
    response_class=Response,
)
@router.post(
    "/v1/logs",
    summary="Export OTLP logs (stock OTLP path)",
    description=_LOGS_DESCRIPTION,
    openapi_extra=_request_body("resourceLogs", "rejectedLogRecords", "log records"),
    response_class=Response,
)
async def export_logs(request: Request) -> Response:
    return await _export(request, LOGS)


@router.post(
    "/opentelemetry/v1/metrics",
    summary="Export OTLP metrics",
    description=_METRICS_DESCRIPTION,
    openapi_extra=_request_body("resourceMetrics", "rejectedDataPoints", "data points"),
    response_class=Response,
)
async def export_metrics(request: Request) -> Response:
    return await _export(request, METRICS)


@router.post(
    "/v1/metrics",
    summary="Export OTLP metrics, or create a metric (HoneyHive)",
    description=_METRICS_DESCRIPTION
    + "\n\nAny other body is HoneyHive's create-metric (a full key): `{name, type, "
    "criteria, …}` → `{inserted, metric_id}`, errors as every REST route answers them.",
    openapi_extra=_request_body("resourceMetrics", "rejectedDataPoints", "data points"),
    response_class=Response,
)
async def export_or_create_metrics(request: Request) -> Response:
    return await _export(request, METRICS, or_create_metric=True)


async def _export(request: Request, signal: Signal, *, or_create_metric: bool = False) -> Response:
    """An OTLP/HTTP export of `signal`: authenticate, read, store, answer in its encoding.

    With `or_create_metric`, a body that is no OTLP metrics export (`is_otlp_metrics`)
    is HoneyHive's create-metric instead, answered (errors too) as a REST route.
    """
    ctx = context(request)
    content_type = request.headers.get("content-type")
    declared = declared_encoding(content_type)
    encoding: Encoding = declared or "json"
    try:
        principal = await writer_principal(request)
        body = await read_body(request, ctx.settings.max_body_bytes)
        create_metric = or_create_metric and not is_otlp_metrics(content_type, body)
        if not create_metric:
            encoding = declared or sniff_encoding(body)
            decoded = await store_export(
                ctx, signal, body, encoding, principal.project.id, request.headers.get("x-source")
            )
    except HivekeeperError as exc:
        return _error(request, exc, encoding)
    if create_metric:
        return await evaluators.create_metric(request, principal, body)
    return Response(encode_answer(encoding, decoded), media_type=MEDIA_TYPES[encoding])


def _error(request: Request, exc: HivekeeperError, encoding: Encoding) -> Response:
    note_error(request, exc)
    extra = {k: v for k, v in exc.body().items() if k != "message"}
    return Response(
        encode_status(encoding, grpc_code(exc.status), exc.message, extra),
        status_code=exc.status,
        headers=exc.headers(),
        media_type=MEDIA_TYPES[encoding],
    )
