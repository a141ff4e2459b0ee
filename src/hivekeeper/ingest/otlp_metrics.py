"""OTLP metric export requests, protobuf or JSON → `DecodedMetrics`: data points counted
by metric name, and the answer that says none of them is stored.

hivekeeper keeps no OTLP metrics. The GenAI ones instrumentations send by default
(`gen_ai.client.token.usage`, `gen_ai.client.operation.duration`) are aggregates of
what every model span already carries (its tokens, its duration), and
`GET /v1/events/chart` computes the same sums and percentiles from the stored events,
split by model or name, with each event one click away. So an export is read (the
item limit counts data points), and answered `200` with a partial success rejecting
every data point and saying why: the exporter stops failing, and nothing is dropped
silently.
"""

from __future__ import annotations

from typing import Any

from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)

from hivekeeper.ingest import otlp_json, otlp_protobuf
from hivekeeper.ingest.otlp_batch import DecodedMetrics, OtlpLimits, ShapeError, check_item_count

# The Metric `data` oneof, by its JSON names (both spellings).
_DATA_KINDS = {
    name: kind
    for kind, snake in (
        ("gauge", "gauge"),
        ("sum", "sum"),
        ("histogram", "histogram"),
        ("exponentialHistogram", "exponential_histogram"),
        ("summary", "summary"),
    )
    for name in (kind, snake)
}


def decode_metrics_protobuf(body: bytes, limits: OtlpLimits) -> DecodedMetrics:
    """Count the data points of a binary ExportMetricsServiceRequest.

    Raises BadRequest when the bytes are not one and ShapeError past the item limit.
    """
    request = otlp_protobuf.parse_request(ExportMetricsServiceRequest(), body)
    decoded = DecodedMetrics()
    for resource_metrics in request.resource_metrics:
        for scope_metrics in resource_metrics.scope_metrics:
            for metric in scope_metrics.metrics:
                kind = metric.WhichOneof("data")
                points = len(getattr(metric, kind).data_points) if kind else 0
                _count(decoded, metric.name, points, limits)
    return decoded


def decode_metrics_json(body: bytes, limits: OtlpLimits) -> DecodedMetrics:
    """Count the data points of a JSON ExportMetricsServiceRequest.

    Raises InvalidJson when the body is not JSON, ShapeError when it has the wrong
    shape (naming the field) or is past the item limit.
    """
    root = otlp_json.load_request(body, "ExportMetricsServiceRequest")
    decoded = DecodedMetrics()
    for r, resource_metrics in enumerate(
        otlp_json.list_field(root, "resourceMetrics", "resource_metrics")
    ):
        where = f"resourceMetrics[{r}]"
        try:
            obj = otlp_json.require_object(resource_metrics)
            all_scope_metrics = otlp_json.list_field(obj, "scopeMetrics", "scope_metrics")
        except ShapeError as exc:
            raise exc.within(where) from None
        for s, scope_metrics in enumerate(all_scope_metrics):
            here = f"{where}.scopeMetrics[{s}]"
            try:
                scope_obj = otlp_json.require_object(scope_metrics)
                metrics = otlp_json.list_field(scope_obj, "metrics", "metrics")
            except ShapeError as exc:
                raise exc.within(here) from None
            for m, metric in enumerate(metrics):
                try:
                    name, points = _json_metric(metric)
                except ShapeError as exc:
                    raise exc.within(f"{here}.metrics[{m}]") from None
                _count(decoded, name, points, limits)
    return decoded


def _json_metric(raw: object) -> tuple[str, int]:
    """A Metric object's name and number of data points."""
    obj = otlp_json.require_object(raw)
    name = otlp_json.string_field(obj, "name", "name")
    for member, kind in _DATA_KINDS.items():
        data = obj.get(member)
        if data is None:
            continue
        data_obj = _object_at(data, kind)
        try:
            points = otlp_json.list_field(data_obj, "dataPoints", "data_points")
        except ShapeError as exc:
            raise exc.within(kind) from None
        return name, len(points)
    return name, 0


def _object_at(value: Any, path: str) -> dict[str, Any]:
    if type(value) is not dict:
        raise ShapeError(path, f"must be an object, got {otlp_json.json_type(value)}")
    return value


def _count(decoded: DecodedMetrics, name: str, points: int, limits: OtlpLimits) -> None:
    """Add a metric's points: all of them are rejected (none is stored)."""
    check_item_count(decoded, decoded.rejected + points, limits, "resourceMetrics")
    decoded.rejected += points
    decoded.points[name] = decoded.points.get(name, 0) + points
