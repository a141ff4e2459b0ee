"""OTLP/gRPC: stock gRPC exporters against `hivekeeper serve`, its keys, limits and
status codes, graceful stop, and the hint a gRPC client gets on the HTTP port."""

from __future__ import annotations

import os
import re
import signal
import socket
import sqlite3
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import grpc
import httpx
import pytest
from google.rpc.error_details_pb2 import RetryInfo
from google.rpc.status_pb2 import Status
from opentelemetry._logs import LogRecord as ApiLogRecord
from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter
from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceResponse
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.trace.v1.trace_pb2 import Span
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import SimpleLogRecordProcessor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.trace import set_span_in_context

from hivekeeper.ingest.span_mapping import span_event_id
from tests.support.otlp_logs import Record, log_export
from tests.support.overload import full_write_queue
from tests.support.poll import eventually
from tests.support.process import ServeProcess, run_cli, serve_process
from tests.support.reads import export, stored_event
from tests.support.server import free_port, run_server

TRACES = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"
LOGS = "/opentelemetry.proto.collector.logs.v1.LogsService/Export"
START = time.time_ns() - 60_000_000_000


@pytest.fixture(autouse=True)
def _no_otel_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """The exporters read OTEL_* variables; a developer's shell must not redirect them."""
    for name in [n for n in os.environ if n.startswith("OTEL_")]:
        monkeypatch.delenv(name)


@dataclass
class Served:
    process: ServeProcess
    grpc_port: int
    data_dir: Path


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """`hivekeeper serve` with its gRPC receiver on a free port."""
    port = free_port()
    data_dir = tmp_path_factory.mktemp("grpc")
    with serve_process(data_dir, grpc_port=port) as process:
        yield Served(process, port, data_dir)


def _spans(trace_id: str, count: int) -> bytes:
    request = ExportTraceServiceRequest()
    scope_spans = request.resource_spans.add().scope_spans.add()
    for i in range(count):
        scope_spans.spans.append(
            Span(
                trace_id=bytes.fromhex(trace_id),
                span_id=bytes.fromhex(f"{i + 1:016x}"),
                name=f"step-{i}",
                start_time_unix_nano=START,
                end_time_unix_nano=START + 1000,
            )
        )
    return request.SerializeToString()


def _call(
    port: int, method: str, body: bytes, key: str | None
) -> tuple[bytes | None, grpc.RpcError | None]:
    """One raw unary call; (answer, None) or (None, the error)."""
    metadata = [("authorization", f"Bearer {key}")] if key is not None else []
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        call = channel.unary_unary(method)
        try:
            return call(body, metadata=metadata, timeout=30), None
        except grpc.RpcError as error:
            return None, error


def test_stock_grpc_exporters_store_spans_logs_and_get_metrics_answered(served: Served) -> None:
    endpoint = f"127.0.0.1:{served.grpc_port}"
    headers = {"authorization": f"Bearer {served.process.key}"}
    resource = Resource.create({"service.name": "grpc-e2e"})
    tracer_provider = TracerProvider(resource=resource)
    tracer_provider.add_span_processor(
        SimpleSpanProcessor(OTLPSpanExporter(endpoint=endpoint, insecure=True, headers=headers))
    )
    logger_provider = LoggerProvider(resource=resource)
    logger_provider.add_log_record_processor(
        SimpleLogRecordProcessor(OTLPLogExporter(endpoint=endpoint, insecure=True, headers=headers))
    )
    metric_exporter = OTLPMetricExporter(endpoint=endpoint, insecure=True, headers=headers)
    meter_provider = MeterProvider(
        resource=resource,
        metric_readers=[
            PeriodicExportingMetricReader(metric_exporter, export_interval_millis=60_000)
        ],
    )
    tracer = tracer_provider.get_tracer("e2e")
    logger = logger_provider.get_logger("e2e")
    with tracer.start_as_current_span(
        "chat gpt-4o-mini",
        attributes={"gen_ai.operation.name": "chat", "gen_ai.request.model": "gpt-4o-mini"},
    ) as span:
        logger.emit(
            ApiLogRecord(
                event_name="gen_ai.user.message",
                body={"content": "Hello over gRPC"},
                context=set_span_in_context(span),
            )
        )
    meter_provider.get_meter("e2e").create_histogram("gen_ai.client.token.usage").record(12)
    assert meter_provider.force_flush(30_000)
    tracer_provider.shutdown()
    logger_provider.shutdown()
    meter_provider.shutdown()

    context = span.get_span_context()
    event_id = span_event_id(f"{context.trace_id:032x}", f"{context.span_id:016x}")
    with served.process.client() as api:
        event = stored_event(api, event_id)
        assert event["event_type"] == "model"
        assert event["inputs"]["chat_history"] == [{"role": "user", "content": "Hello over gRPC"}]
        metrics = api.get("/metrics").text
    for service in ("traces", "logs", "metrics"):
        assert f'hivekeeper_grpc_requests_total{{code="OK",service="{service}"}}' in metrics
    # Each flush and the shutdown export the (cumulative) histogram point once more.
    rejected = re.search(r'hivekeeper_otlp_data_points_total\{outcome="rejected"\} (\S+)', metrics)
    assert rejected is not None and float(rejected.group(1)) >= 1


def test_keys_and_malformed_requests_get_the_codes_exporters_act_on(served: Served) -> None:
    port, key = served.grpc_port, served.process.key
    body = _spans(uuid.uuid4().hex, 1)
    for wrong in (None, "hh_not-a-key"):
        _, error = _call(port, TRACES, body, wrong)
        assert error is not None and error.code() == grpc.StatusCode.UNAUTHENTICATED
    _, error = _call(port, TRACES, b"\xff\xff\xff", key)
    assert error is not None and error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "ExportTraceServiceRequest" in (error.details() or "")
    created = run_cli(
        "keys",
        "create",
        "--project",
        "default",
        "--kind",
        "ingest",
        env={"HIVEKEEPER_DATA_DIR": str(served.data_dir)},
    )
    ingest_key = created.stdout.strip()
    logs = log_export(Record(START, "app.started", "via gRPC")).SerializeToString()
    answer, error = _call(port, LOGS, logs, ingest_key)
    assert error is None and answer is not None
    assert not ExportLogsServiceResponse.FromString(answer).HasField("partial_success")
    with served.process.client() as api:
        (event,) = export(api, event_name="app.started")
    assert event["outputs"] == {"body": "via gRPC"}
    # A data-plane key writes no telemetry, over gRPC as over HTTP.
    dataplane = run_cli(
        "keys",
        "create",
        "--project",
        "default",
        "--kind",
        "dataplane",
        env={"HIVEKEEPER_DATA_DIR": str(served.data_dir)},
    ).stdout.strip()
    _, error = _call(port, TRACES, body, dataplane)
    assert error is not None and error.code() == grpc.StatusCode.PERMISSION_DENIED
    assert "/v1/projects/{project_id}/" in (error.details() or "")


def test_limits_and_overload_get_invalid_argument_and_resource_exhausted(tmp_path: Path) -> None:
    port = free_port()
    with (
        run_server(
            tmp_path,
            "sqlite",
            grpc_port=port,
            max_body_bytes=4096,
            otlp_max_spans_per_request=2,
            max_queue_ops=2,
            max_batch_ops=1,
        ) as live,
        live.client() as api,
    ):
        trace_id = uuid.uuid4().hex
        _, error = _call(port, TRACES, _spans(trace_id, 3), live.key)
        assert error is not None and error.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "too many spans" in (error.details() or "")
        _, error = _call(port, TRACES, _spans(trace_id, 1) + b"\x0a\x00" * 3000, live.key)
        assert error is not None and error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        with full_write_queue(live, api) as pending:
            _, error = _call(port, TRACES, _spans(trace_id, 1), live.key)
            assert error is not None and error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
            trailing = dict(error.trailing_metadata() or ())
            assert (
                RetryInfo.FromString(trailing["google.rpc.retryinfo-bin"]).retry_delay.seconds == 1
            )
            status = Status.FromString(trailing["grpc-status-details-bin"])
            info = RetryInfo()
            assert status.code == 8 and status.details[0].Unpack(info)
            assert info.retry_delay.seconds == 1
        assert [f.result().status_code for f in pending] == [200, 200, 200]
        answer, error = _call(port, TRACES, _spans(trace_id, 1), live.key)
        assert error is None and answer is not None
        assert not ExportTraceServiceResponse.FromString(answer).HasField("partial_success")
        assert stored_event(api, span_event_id(trace_id, f"{1:016x}"))["event_name"] == "step-0"


def test_a_grpc_client_on_the_http_port_is_told_where_to_go(served: Served) -> None:
    http_port = int(served.process.url.rsplit(":", 1)[1])
    _, error = _call(http_port, TRACES, _spans(uuid.uuid4().hex, 1), served.process.key)
    assert error is not None and error.code() == grpc.StatusCode.UNAVAILABLE
    log = served.data_dir / "server.log"
    hint = f"send OTLP/gRPC to port {served.grpc_port} (--grpc-port)"
    eventually(lambda: hint in log.read_text(), 30, "the gRPC hint in the server log")


def test_stopping_finishes_grpc_calls_in_flight_then_drains_the_writer(tmp_path: Path) -> None:
    port = free_port()
    trace_id = uuid.uuid4().hex
    with serve_process(tmp_path, grpc_port=port) as process:
        blocker = sqlite3.connect(tmp_path / "hivekeeper.db", isolation_level=None)
        blocker.execute("BEGIN IMMEDIATE")  # the writer cannot commit until released
        with ThreadPoolExecutor(1) as pool:
            call = pool.submit(_call, port, TRACES, _spans(trace_id, 2), process.key)
            eventually(lambda: _writing(process), 30, "the export waiting for its commit")
            process.proc.send_signal(signal.SIGTERM)
            eventually(lambda: _refused(process.url), 30, "the HTTP port to close")
            blocker.execute("ROLLBACK")
            answer, error = call.result(60)
        assert error is None and answer is not None
        assert process.proc.wait(30) == 0
    with sqlite3.connect(tmp_path / "hivekeeper.db") as conn:
        (count,) = conn.execute(
            "SELECT count(*) FROM events WHERE event_name LIKE 'step-%' AND event_type != 'session'"
        ).fetchone()
    assert count == 2


def _writing(process: ServeProcess) -> bool:
    health = httpx.get(f"{process.url}/health").json()
    return bool(health.get("writing") or health.get("queued_writes"))


def _refused(url: str) -> bool:
    try:
        httpx.get(f"{url}/health", timeout=2)
    except httpx.TransportError:
        return True
    return False


def test_a_grpc_port_in_use_is_refused_in_one_line(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        ran = run_cli(
            "serve",
            env={
                "HIVEKEEPER_DATA_DIR": str(tmp_path),
                "HIVEKEEPER_PORT": str(free_port()),
                "HIVEKEEPER_GRPC_PORT": str(port),
            },
        )
    assert ran.returncode == 1, ran.stderr
    assert "Traceback" not in ran.stderr
    assert len(ran.stderr.strip().splitlines()) == 1, ran.stderr
    assert f"cannot listen for OTLP/gRPC on 127.0.0.1:{port}" in ran.stderr
    assert "--grpc-port" in ran.stderr
