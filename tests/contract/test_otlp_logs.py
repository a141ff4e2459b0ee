"""OTLP/HTTP log export over real HTTP: GenAI messages join their span's event whatever
arrives first, other records are events of their own, and the answers and errors match
the trace export's."""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import orjson
from google.rpc.status_pb2 import Status
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceResponse
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from hivekeeper.ingest.span_mapping import span_event_id, trace_session_id
from tests.support.otlp_logs import Record, as_json, log_export
from tests.support.otlp_protobuf import key_values
from tests.support.overload import full_write_queue
from tests.support.reads import export, session_tree, stored_event
from tests.support.server import LiveServer, run_server

ROUTES = ["/opentelemetry/v1/logs", "/v1/logs"]
PROTOBUF = {"Content-Type": "application/x-protobuf"}
JSON = {"Content-Type": "application/json"}
START = time.time_ns() - 60_000_000_000
SYSTEM = {"role": "system", "content": "Be terse."}
USER = {"role": "user", "content": "Weather in Paris?"}
ANSWER = {"role": "assistant", "content": "Sunny.", "finish_reason": "stop"}


class Chat:
    """One GenAI chat call: its span, and its messages as the older GenAI log events."""

    def __init__(self) -> None:
        self.trace_id = uuid.uuid4().hex
        self.span_id = uuid.uuid4().hex[:16]
        self.event_id = span_event_id(self.trace_id, self.span_id)

    def span(self) -> bytes:
        request = ExportTraceServiceRequest()
        scope_spans = request.resource_spans.add().scope_spans.add()
        span = Span(
            trace_id=bytes.fromhex(self.trace_id),
            span_id=bytes.fromhex(self.span_id),
            name="chat gpt-4o-mini",
            kind=Span.SPAN_KIND_CLIENT,
            start_time_unix_nano=START,
            end_time_unix_nano=START + 5_000_000,
        )
        span.attributes.extend(
            key_values(
                {
                    "gen_ai.operation.name": "chat",
                    "gen_ai.system": "openai",
                    "gen_ai.request.model": "gpt-4o-mini",
                    "gen_ai.usage.input_tokens": 12,
                    "gen_ai.usage.output_tokens": 3,
                }
            )
        )
        scope_spans.spans.append(span)
        return request.SerializeToString()

    def record(self, at_ms: int, name: str, body: Any, **attributes: Any) -> Record:
        return Record(
            START + at_ms * 1_000_000,
            name,
            body,
            {"gen_ai.system": "openai", **attributes},
            self.trace_id,
            self.span_id,
        )

    def questions(self) -> bytes:
        """The first export: the system and user messages, at the same instant."""
        return log_export(
            self.record(1, "gen_ai.system.message", {"content": SYSTEM["content"]}),
            self.record(1, "gen_ai.user.message", {"content": USER["content"]}),
        ).SerializeToString()

    def answer(self) -> bytes:
        """The second export: the choice."""
        body = {
            "index": 0,
            "finish_reason": "stop",
            "message": {"role": "assistant", "content": "Sunny."},
        }
        return log_export(self.record(4, "gen_ai.choice", body)).SerializeToString()


def _ok(answer: httpx.Response) -> ExportLogsServiceResponse:
    assert answer.status_code == 200, answer.content
    assert answer.headers["content-type"] == "application/x-protobuf"
    return ExportLogsServiceResponse.FromString(answer.content)


def _post_logs(api: httpx.Client, body: bytes, route: str = ROUTES[0]) -> None:
    response = _ok(api.post(route, content=body, headers=PROTOBUF))
    assert not response.HasField("partial_success"), response


def test_genai_messages_join_their_span_event_whatever_arrives_first(api: httpx.Client) -> None:
    # The same call three ways: span first, span last, span between its two log
    # exports; the log exports always in reverse order (the answer before the question).
    arrivals = {
        "span first": ["span", "answer", "questions"],
        "span last": ["answer", "questions", "span"],
        "span between": ["answer", "span", "questions"],
    }
    stored = {}
    for label, order in arrivals.items():
        chat = Chat()
        for part in order:
            if part == "span":
                assert (
                    api.post("/v1/traces", content=chat.span(), headers=PROTOBUF).status_code == 200
                )
            else:
                _post_logs(
                    api,
                    chat.questions() if part == "questions" else chat.answer(),
                    ROUTES[order.index(part) % 2],
                )
        event = stored_event(api, chat.event_id)
        assert event["event_type"] == "model", label
        assert event["config"]["model"] == "gpt-4o-mini", label
        assert event["inputs"]["chat_history"] == [SYSTEM, USER], label
        assert {k: event["outputs"][k] for k in ANSWER} == ANSWER, label
        assert event["metadata"]["prompt_tokens"] == 12, label
        # Each record is kept whole in its slot, in order.
        slots = event["metadata"]["otel_log_records"]
        assert [slots[k]["event_name"] for k in sorted(slots)] == [
            "gen_ai.system.message",
            "gen_ai.user.message",
            "gen_ai.choice",
        ], label
        assert {s["attributes"]["gen_ai"]["system"] for s in slots.values()} == {"openai"}
        stored[label] = {k: event[k] for k in ("inputs", "outputs", "config", "event_type")}
        # Sending everything again changes nothing.
        _post_logs(api, chat.answer())
        _post_logs(api, chat.questions())
        assert stored_event(api, chat.event_id)["inputs"] == event["inputs"]
    assert stored["span first"] == stored["span last"] == stored["span between"]
    # The chat span's session rolls the model event up as usual.
    session = session_tree(api, trace_session_id(chat.trace_id))
    assert session["metadata"]["num_events"] == 1


def test_operation_details_and_evaluation_results_in_json(api: httpx.Client) -> None:
    chat = Chat()
    details = chat.record(
        2,
        "gen_ai.client.inference.operation.details",
        None,
        **{
            "gen_ai.operation.name": "chat",
            "gen_ai.input.messages": [
                {"role": "system", "parts": [{"type": "text", "content": SYSTEM["content"]}]},
                {"role": "user", "parts": [{"type": "text", "content": USER["content"]}]},
            ],
            "gen_ai.output.messages": [
                {
                    "role": "assistant",
                    "parts": [{"type": "text", "content": "Sunny."}],
                    "finish_reason": "stop",
                }
            ],
            "gen_ai.response.id": "chatcmpl-1",
        },
    )
    evaluation = chat.record(
        3,
        "gen_ai.evaluation.result",
        None,
        **{
            "gen_ai.evaluation.name": "relevance",
            "gen_ai.evaluation.score.value": 0.75,
            "gen_ai.evaluation.explanation": "on topic",
        },
    )
    answer = api.post(ROUTES[1], content=as_json(log_export(details, evaluation)), headers=JSON)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/json"
    assert answer.json() == {}
    assert api.post("/v1/traces", content=chat.span(), headers=PROTOBUF).status_code == 200
    event = stored_event(api, chat.event_id)
    assert event["inputs"]["chat_history"] == [SYSTEM, USER]
    assert {k: event["outputs"][k] for k in ANSWER} == ANSWER
    assert event["metrics"]["relevance"] == 0.75
    slots = list(event["metadata"]["otel_log_records"].values())
    kept = {s["event_name"]: s.get("attributes", {}) for s in slots}
    assert (
        kept["gen_ai.client.inference.operation.details"]["gen_ai"]["response"]["id"]
        == "chatcmpl-1"
    )
    assert kept["gen_ai.evaluation.result"]["gen_ai"]["evaluation"]["explanation"] == "on topic"


def test_other_records_are_events_of_their_trace_or_of_a_daily_service_session(
    api: httpx.Client,
) -> None:
    chat = Chat()
    in_span = chat.record(1, "", "retrying the call", **{"code.lineno": 42})
    in_span.severity_number, in_span.severity_text = 13, "WARN"
    day = time.strftime("%Y-%m-%d", time.gmtime(START / 1e9))
    outside = Record(
        START, "app.started", {"version": "1.2"}, {"deploy.id": "d-7"}, severity_number=9
    )
    assert (
        api.post(
            ROUTES[0],
            content=log_export(in_span, outside, service="worker").SerializeToString(),
            headers=PROTOBUF,
        ).status_code
        == 200
    )
    assert api.post("/v1/traces", content=chat.span(), headers=PROTOBUF).status_code == 200

    tree = session_tree(api, trace_session_id(chat.trace_id))
    (model,) = tree["children"]
    assert model["event_id"] == chat.event_id
    (log,) = model["children"]
    assert log["event_type"] == "chain"
    assert log["event_name"] == "log"
    assert log["outputs"] == {"body": "retrying the call"}
    assert log["metadata"]["log"]["severity_text"] == "WARN"
    assert log["metadata"]["log"]["severity_number"] == 13
    assert log["metadata"]["attributes"]["code"]["lineno"] == 42
    assert log["metadata"]["otel"]["span_id"] == chat.span_id
    assert log["start_time"] == (START + 1_000_000) / 1e6

    (started,) = export(api, event_name="app.started")
    assert started["outputs"] == {"body": {"version": "1.2"}}
    assert started["metadata"]["attributes"] == {"deploy": {"id": "d-7"}}
    assert started["metadata"]["otel"]["resource"] == {"service": {"name": "worker"}}
    session = session_tree(api, started["session_id"])
    assert session["event_name"] == f"worker logs {day}"
    assert [c["event_id"] for c in session["children"]] == [started["event_id"]]


def test_answers_rejections_and_errors_match_the_trace_export(
    server: LiveServer, api: httpx.Client
) -> None:
    chat = Chat()
    good = chat.record(1, "gen_ai.user.message", {"content": "hi"})
    request = log_export(good, chat.record(2, "gen_ai.user.message", {"content": "lost"}))
    request.resource_logs[0].scope_logs[0].log_records[1].trace_id = b"\x01\x02"
    partial = _ok(api.post(ROUTES[0], content=request.SerializeToString(), headers=PROTOBUF))
    assert partial.partial_success.rejected_log_records == 1
    assert "resourceLogs[0].scopeLogs[0].logRecords[1]" in partial.partial_success.error_message
    answer = api.post(ROUTES[1], content=as_json(request), headers=JSON)
    assert answer.json()["partialSuccess"]["rejectedLogRecords"] == "1"

    bad = api.post(ROUTES[0], content=b'{"resourceLogs": [{"scopeLogs": 7}]}', headers=JSON)
    assert bad.status_code == 400
    assert bad.json()["field"] == "resourceLogs[0].scopeLogs"
    assert bad.json()["code"] == 3
    garbage = api.post(ROUTES[1], content=b"\xff\xff\xff", headers=PROTOBUF)
    assert garbage.status_code == 400
    assert Status.FromString(garbage.content).code == 3

    body = log_export(good).SerializeToString()
    with server.anonymous() as anonymous:
        refused = anonymous.post(ROUTES[0], content=body, headers=PROTOBUF)
    assert refused.status_code == 401
    assert Status.FromString(refused.content).code == 16
    with server.client(server.new_key(kind="ingest")) as ingest:
        _ok(ingest.post(ROUTES[1], content=body, headers=PROTOBUF))


def test_full_queue_is_429_with_retry_after(tmp_path: Path, store_kind: str) -> None:
    with (
        run_server(tmp_path, store_kind, max_queue_ops=2, max_batch_ops=1) as live,
        live.client() as api,
    ):
        body = log_export(Record(START, "app.started", "up")).SerializeToString()
        with full_write_queue(live, api) as pending:
            refused = api.post(ROUTES[0], content=body, headers=PROTOBUF)
            assert refused.headers["Retry-After"] == "1"
            assert Status.FromString(refused.content).code == 8  # RESOURCE_EXHAUSTED
        assert [f.result().status_code for f in pending] == [200, 200, 200]
        assert export(api, event_name="app.started") == []
        _ok(api.post(ROUTES[0], content=body, headers=PROTOBUF))
        assert len(export(api, event_name="app.started")) == 1


def test_logs_routes_are_documented(api: httpx.Client) -> None:
    paths = orjson.loads(api.get("/openapi.json").content)["paths"]
    for route in [*ROUTES, "/v1/metrics", "/opentelemetry/v1/metrics"]:
        assert "OTLP" in paths[route]["post"]["summary"]
