"""OTLP log and metric export requests for tests, built with the real protobuf classes.

`LogExport` holds records as a GenAI instrumentation (or a logging bridge) emits them,
and writes the request in protobuf or in OTLP/JSON (the protobuf library's JSON form:
base64 ids, integers as strings), so both decoders see the same export.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from google.protobuf.json_format import MessageToJson
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)
from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord

from tests.support.otlp_protobuf import any_value, key_values


@dataclass
class Record:
    """One log record; ids as hex (None: outside any trace or span)."""

    time_unix_nano: int
    event_name: str = ""
    body: Any = None
    attributes: dict[str, Any] = field(default_factory=dict)
    trace_id: str | None = None
    span_id: str | None = None
    severity_number: int = 0
    severity_text: str = ""

    def message(self) -> LogRecord:
        record = LogRecord(
            time_unix_nano=self.time_unix_nano,
            observed_time_unix_nano=self.time_unix_nano,
            severity_number=self.severity_number,  # type: ignore[arg-type]
            severity_text=self.severity_text,
            event_name=self.event_name,
        )
        if self.body is not None:
            record.body.CopyFrom(any_value(self.body))
        record.attributes.extend(key_values(self.attributes))
        if self.trace_id:
            record.trace_id = bytes.fromhex(self.trace_id)
        if self.span_id:
            record.span_id = bytes.fromhex(self.span_id)
        return record


def log_export(
    *records: Record, service: str = "svc", scope: str = "tests"
) -> ExportLogsServiceRequest:
    """One export of `records` from `service`, under one instrumentation scope."""
    request = ExportLogsServiceRequest()
    resource_logs = request.resource_logs.add()
    resource_logs.resource.attributes.extend(key_values({"service.name": service}))
    scope_logs = resource_logs.scope_logs.add()
    scope_logs.scope.name = scope
    scope_logs.log_records.extend(record.message() for record in records)
    return request


def metric_export(points: dict[str, int]) -> ExportMetricsServiceRequest:
    """An export of histogram metrics, `points` data points under each name."""
    request = ExportMetricsServiceRequest()
    scope_metrics = request.resource_metrics.add().scope_metrics.add()
    for name, count in points.items():
        metric = scope_metrics.metrics.add(name=name, unit="s")
        for i in range(count):
            point = metric.histogram.data_points.add(count=1, sum=float(i))
            point.attributes.extend(key_values({"gen_ai.request.model": f"m-{i}"}))
    return request


def as_json(request: ExportLogsServiceRequest | ExportMetricsServiceRequest) -> bytes:
    """The request in OTLP/JSON (camelCase fields, base64 ids, int64 as strings)."""
    return MessageToJson(request).encode()
