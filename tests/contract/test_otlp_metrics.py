"""OTLP/HTTP metric export over real HTTP: every data point answered as rejected, and why;
`POST /v1/metrics` bodies that are no OTLP export are HoneyHive's create-metric."""

from __future__ import annotations

import httpx
from google.rpc.status_pb2 import Status
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceResponse,
)

from tests.support.otlp_logs import as_json, metric_export
from tests.support.server import LiveServer

ROUTES = ["/opentelemetry/v1/metrics", "/v1/metrics"]
PROTOBUF = {"Content-Type": "application/x-protobuf"}
JSON = {"Content-Type": "application/json"}
GENAI = {"gen_ai.client.token.usage": 2, "gen_ai.client.operation.duration": 1}


def test_data_points_are_answered_rejected_with_the_reason(
    server: LiveServer, api: httpx.Client
) -> None:
    request = metric_export(GENAI)
    with server.client(server.new_key(kind="ingest")) as ingest:
        for route in ROUTES:
            answer = ingest.post(route, content=request.SerializeToString(), headers=PROTOBUF)
            assert answer.status_code == 200, answer.content
            partial = ExportMetricsServiceResponse.FromString(answer.content).partial_success
            assert partial.rejected_data_points == 3
            assert "gen_ai.client.token.usage: 2" in partial.error_message
            assert "keeps no OTLP metrics" in partial.error_message
            answer = ingest.post(route, content=as_json(request), headers=JSON)
            assert answer.status_code == 200, answer.text
            assert answer.json()["partialSuccess"]["rejectedDataPoints"] == "3"
    # Nothing was stored, and the refusals are counted.
    assert api.post("/v1/events/export", json={"limit": 1}).json()["totalEvents"] == 0
    assert 'hivekeeper_otlp_data_points_total{outcome="rejected"} 12.0' in api.get("/metrics").text


def test_v1_metrics_without_resource_metrics_is_create_metric(server: LiveServer) -> None:
    with server.client() as api:
        # A create-metric body, answered as a REST route: here, the field it lacks.
        answer = api.post("/v1/metrics", json={"name": "accuracy", "type": "PYTHON"})
        assert answer.status_code == 400
        assert answer.json() == {
            "message": "criteria is required", "errorCode": "VALIDATION_ERROR", "field": "criteria"
        }
        # The OTLP-only path reads the same body as a malformed export instead.
        answer = api.post(ROUTES[0], json={"resourceMetrics": 5})
        assert answer.status_code == 400
        assert answer.json()["field"] == "resourceMetrics"
    with server.anonymous() as anonymous:
        refused = anonymous.post("/v1/metrics", content=b"", headers=PROTOBUF)
        assert refused.status_code == 401
        assert Status.FromString(refused.content).code == 16
