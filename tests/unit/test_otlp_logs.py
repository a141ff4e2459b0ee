"""OTLP logs and metrics decoding (both encodings, leniency, limits), the log mapping,
and which handler a `POST /v1/metrics` body belongs to."""

from __future__ import annotations

import base64
from typing import Any

import orjson
import pytest

from hivekeeper.domain.errors import BadRequest, ValidationFailed
from hivekeeper.domain.log_slots import SLOTS_KEY
from hivekeeper.domain.types import Update, Upsert
from hivekeeper.ingest import LOGS, METRICS, is_otlp_metrics
from hivekeeper.ingest.log_mapping import logs_to_ops
from hivekeeper.ingest.log_records import LogRecord
from hivekeeper.ingest.otlp_batch import DecodedLogs, DecodedMetrics, OtlpLimits
from hivekeeper.ingest.span_mapping import span_event_id, trace_session_id
from tests.support.otlp_logs import Record, as_json, log_export, metric_export

LIMITS = OtlpLimits()
TRACE, SPAN = "0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331"
T = 1_795_700_000_000_000_000  # 2026-11-26T...Z in nanoseconds


def _logs(body: bytes, encoding: str, limits: OtlpLimits = LIMITS) -> DecodedLogs:
    decoded = LOGS.decode(body, encoding, limits)  # type: ignore[arg-type]
    assert isinstance(decoded, DecodedLogs)
    return decoded


def test_both_encodings_decode_the_same_records() -> None:
    request = log_export(
        Record(
            T,
            "gen_ai.choice",
            {"index": 0, "message": {"content": "hi"}},
            {"n": 1},
            TRACE,
            SPAN,
            9,
            "INFO",
        ),
        Record(T + 1, "", ["a", 2], {"event.name": "legacy.name"}),
        service="svc",
    )
    from_protobuf = _logs(request.SerializeToString(), "protobuf")
    from_json = _logs(as_json(request), "json")
    assert from_protobuf == from_json
    first, second = from_protobuf.records
    assert (first.index, first.trace_id, first.span_id) == (0, TRACE, SPAN)
    assert (first.severity_number, first.severity_text, first.event_name) == (
        9,
        "INFO",
        "gen_ai.choice",
    )
    assert first.body == {"index": 0, "message": {"content": "hi"}}
    assert first.resource == {"service.name": "svc"} and first.scope_name == "tests"
    assert (second.index, second.trace_id, second.span_id) == (1, None, None)
    assert second.event_name == "legacy.name"  # the older `event.name` attribute
    assert second.body == ["a", 2]


def test_json_is_read_leniently() -> None:
    body = {
        "resource_logs": [
            {
                "scope_logs": [
                    {
                        "log_records": [
                            {
                                "time_unix_nano": T,
                                "traceId": TRACE,
                                "span_id": base64.b64encode(bytes.fromhex(SPAN)).decode(),
                                "severityNumber": "SEVERITY_NUMBER_WARN",
                                "body": {"stringValue": "x"},
                                "flags": "1",
                            },
                            {"traceId": "", "spanId": None, "severity_number": "ERROR"},
                        ]
                    }
                ]
            }
        ]
    }
    first, second = _logs(orjson.dumps(body), "json").records
    assert (first.trace_id, first.span_id, first.time_ns) == (TRACE, SPAN, T)
    assert (first.severity_number, first.body, first.flags) == (13, "x", 1)
    assert (second.trace_id, second.span_id, second.severity_number) == (None, None, 17)


def test_malformed_ids_reject_only_their_record() -> None:
    request = log_export(Record(T, body="ok"), Record(T, body="bad"), Record(T, body="orphan"))
    records = request.resource_logs[0].scope_logs[0].log_records
    records[1].trace_id = b"\x01"
    records[2].span_id = bytes.fromhex(SPAN)
    decoded = _logs(request.SerializeToString(), "protobuf")
    assert [r.body for r in decoded.records] == ["ok"]
    assert decoded.rejected == 2
    message = decoded.message()
    assert message.startswith("2 log record(s) rejected")
    assert "logRecords[1]: traceId must be empty or 16 bytes" in message
    assert "logRecords[2]: spanId is set but traceId is not" in message


def test_limits_refuse_the_whole_request_naming_the_field() -> None:
    request = log_export(*(Record(T, body=str(i)) for i in range(3)))
    with pytest.raises(ValidationFailed, match="too many log records") as caught:
        _logs(request.SerializeToString(), "protobuf", OtlpLimits(max_spans=2))
    assert caught.value.field == "resourceLogs"
    long = log_export(Record(T, body="x" * 2000))
    with pytest.raises(ValidationFailed) as caught:
        _logs(as_json(long), "json", OtlpLimits(max_string_chars=1000))
    assert caught.value.field == "resourceLogs[0].scopeLogs[0].logRecords[0].body"
    with pytest.raises(BadRequest):
        _logs(b"\xff\xff", "protobuf")


def test_metric_points_are_counted_by_name_in_both_encodings() -> None:
    request = metric_export({"gen_ai.client.token.usage": 2, "custom": 1})
    for decoded in (
        METRICS.decode(request.SerializeToString(), "protobuf", LIMITS),
        METRICS.decode(as_json(request), "json", LIMITS),
    ):
        assert isinstance(decoded, DecodedMetrics)
        assert decoded.points == {"gen_ai.client.token.usage": 2, "custom": 1}
        assert decoded.rejected == 3
        assert decoded.message().startswith("3 data point(s) not stored")
    with pytest.raises(ValidationFailed, match="too many data points"):
        METRICS.decode(request.SerializeToString(), "protobuf", OtlpLimits(max_spans=2))
    with pytest.raises(ValidationFailed) as caught:
        METRICS.decode(
            b'{"resourceMetrics": [{"scopeMetrics": [{"metrics": [{"sum": 1}]}]}]}', "json", LIMITS
        )
    assert caught.value.field == "resourceMetrics[0].scopeMetrics[0].metrics[0].sum"
    assert METRICS.decode(b"{}", "json", LIMITS).message() == ""


@pytest.mark.parametrize(
    ("content_type", "body", "otlp"),
    [
        ("application/x-protobuf", b"", True),
        ("application/protobuf", b'{"name": "x"}', True),  # declared protobuf wins
        (None, metric_export({"m": 1}).SerializeToString(), True),
        ("application/json", b'{"resourceMetrics": []}', True),
        ("application/json; charset=utf-8", b'{"resource_metrics": []}', True),
        (None, b' {"resourceMetrics": []}', True),
        ("application/json", b'{"name": "accuracy", "type": "PYTHON"}', False),
        ("application/json", b"[1, 2]", False),
        ("application/json", b"not json", False),
        ("text/plain", b'{"metric": {"resourceMetrics": []}}', False),
    ],
)
def test_which_handler_a_v1_metrics_body_belongs_to(
    content_type: str | None, body: bytes, otlp: bool
) -> None:
    assert is_otlp_metrics(content_type, body) is otlp


def _record(**fields: Any) -> LogRecord:
    values: dict[str, Any] = {
        "index": 0,
        "trace_id": TRACE,
        "span_id": SPAN,
        "time_unix_nano": T,
        "observed_time_unix_nano": T,
    }
    values.update(fields)
    return LogRecord(**values)


def test_genai_records_become_one_update_of_their_span_event() -> None:
    ops = logs_to_ops(
        "p",
        [
            _record(
                event_name="gen_ai.user.message",
                body={"content": "hi"},
                attributes={"gen_ai.system": "openai"},
            ),
            _record(
                index=1,
                event_name="gen_ai.evaluation.result",
                attributes={
                    "gen_ai.evaluation.name": "relevance",
                    "gen_ai.evaluation.score.label": "high",
                },
            ),
            _record(
                index=2, event_name="gen_ai.tool.message", body={"content": "42", "id": "call_1"}
            ),
        ],
        now_ms=0.0,
    )
    (op,) = ops
    assert isinstance(op, Update)
    assert op.patch["event_id"] == span_event_id(TRACE, SPAN)
    assert op.patch["metrics"] == {"relevance": "high"}
    slots = [op.patch["metadata"][SLOTS_KEY][k] for k in sorted(op.patch["metadata"][SLOTS_KEY])]
    assert slots[0]["inputs"] == [{"role": "user", "content": "hi"}]
    assert slots[0]["attributes"] == {"gen_ai": {"system": "openai"}}
    assert "inputs" not in slots[1] and slots[1]["event_name"] == "gen_ai.evaluation.result"
    assert slots[2]["inputs"] == [{"role": "tool", "content": "42", "tool_call_id": "call_1"}]
    assert logs_to_ops(
        "p", [_record(event_name="gen_ai.user.message", body={"content": "hi"})], now_ms=0
    ) == logs_to_ops(
        "p", [_record(event_name="gen_ai.user.message", body={"content": "hi"})], now_ms=5
    )


def test_other_records_are_chain_events_in_their_trace_or_service_day_session() -> None:
    in_trace, no_trace, no_time = logs_to_ops(
        "p",
        [
            _record(body="retry"),
            _record(index=1, trace_id=None, span_id=None, resource={"service.name": "api"}),
            _record(
                index=2, trace_id=None, span_id=None, time_unix_nano=0, observed_time_unix_nano=0
            ),
        ],
        now_ms=86_400_000.0 * 3,
    )[2:]
    names = [
        op
        for op in logs_to_ops("p", [_record(index=1, trace_id=None, span_id=None)], now_ms=0)
        if isinstance(op, Update)
    ]
    assert names[0].patch["event_name"] == "unknown_service logs 2026-11-26"
    for op in (in_trace, no_trace, no_time):
        assert isinstance(op, Upsert) and op.on_type_conflict == "keep_stored"
        assert op.patch["event_type"] == "chain"
    assert in_trace.patch["session_id"] == trace_session_id(TRACE)
    assert in_trace.patch["parent_id"] == span_event_id(TRACE, SPAN)
    assert in_trace.patch["outputs"] == {"body": "retry"}
    assert in_trace.patch["event_name"] == "log"
    assert (
        no_trace.patch["parent_id"] == no_trace.patch["session_id"] != no_time.patch["session_id"]
    )
    assert "start_time" not in no_time.patch  # the server's clock decides
