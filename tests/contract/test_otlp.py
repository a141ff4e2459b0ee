"""OTLP/HTTP trace export over real HTTP: encodings, answers, errors, limits, overload."""

from __future__ import annotations

import gzip
import time
import uuid
import zlib
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from google.rpc.status_pb2 import Status
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from hivekeeper.ingest.span_mapping import span_event_id
from tests.support.otlp_protobuf import deeply_nested_request, key_values
from tests.support.overload import full_write_queue
from tests.support.server import LiveServer, run_app, run_server

ROUTES = ["/opentelemetry/v1/traces", "/v1/traces"]
PROTOBUF = {"Content-Type": "application/x-protobuf"}
JSON = {"Content-Type": "application/json"}
START = time.time_ns() - 60_000_000_000


class Trace:
    """One trace of a few spans in one HoneyHive session, in either encoding."""

    def __init__(self, spans: int = 2, *, session_id: str | None = None) -> None:
        self.session_id = session_id or str(uuid.uuid4())
        self.trace_id = uuid.uuid4().hex
        self.span_ids = [f"{i + 1:016x}" for i in range(spans)]

    def event_ids(self) -> list[str]:
        return [span_event_id(self.trace_id, s) for s in self.span_ids]

    def _attributes(self, i: int) -> dict[str, Any]:
        return {
            "honeyhive.session_id": self.session_id,
            "honeyhive_event_type": "chain" if i == 0 else "tool",
            "honeyhive_event_name": f"step-{i}",
            "honeyhive_inputs.query": f"question {i}",
            "honeyhive_metrics.score": 0.5 + i,
            "honeyhive_metadata.attempt": i,
        }

    def protobuf(self, *, bad_trace_id_at: int | None = None) -> bytes:
        request = ExportTraceServiceRequest()
        resource_spans = request.resource_spans.add()
        resource_spans.resource.attributes.add(key="service.name").value.string_value = "svc"
        scope_spans = resource_spans.scope_spans.add()
        scope_spans.scope.name = "honeyhive.0"
        for i, span_id in enumerate(self.span_ids):
            span = Span(
                trace_id=bytes.fromhex(self.trace_id),
                span_id=bytes.fromhex(span_id),
                parent_span_id=bytes.fromhex(self.span_ids[0]) if i else b"",
                name=f"step-{i}",
                kind=Span.SPAN_KIND_INTERNAL,
                start_time_unix_nano=START + i * 1_000_000,
                end_time_unix_nano=START + (i + 10) * 1_000_000,
            )
            if i == bad_trace_id_at:
                span.trace_id = b"\x01\x02"
            span.attributes.extend(key_values(self._attributes(i)))
            scope_spans.spans.append(span)
        return request.SerializeToString()

    def json(self, *, bad_trace_id_at: int | None = None) -> bytes:
        """The HoneyHive SDK's JSON flavour (spec §6.2)."""
        spans = []
        for i, span_id in enumerate(self.span_ids):
            attributes = []
            for key, value in self._attributes(i).items():
                if isinstance(value, str):
                    wire = {"stringValue": value}
                elif isinstance(value, int):
                    wire = {"intValue": str(value)}
                else:
                    wire = {"doubleValue": value}
                attributes.append({"key": key, "value": wire})
            spans.append(
                {
                    "traceId": "zz" if i == bad_trace_id_at else self.trace_id,
                    "spanId": span_id,
                    "parentSpanId": self.span_ids[0] if i else None,
                    "name": f"step-{i}",
                    "kind": "SPAN_KIND_INTERNAL",
                    "startTimeUnixNano": str(START + i * 1_000_000),
                    "endTimeUnixNano": str(START + (i + 10) * 1_000_000),
                    "attributes": attributes,
                    "events": [],
                    "status": {"code": "STATUS_CODE_UNSET"},
                }
            )
        scope_spans = [{"scope": {"name": "honeyhive.0"}, "spans": spans}]
        return orjson.dumps({"resourceSpans": [{"resource": {}, "scopeSpans": scope_spans}]})


def _stored(api: httpx.Client, trace: Trace) -> list[dict[str, Any]]:
    """The trace's events as `GET /v1/events/{id}` answers them (404s are skipped)."""
    found = []
    for event_id in trace.event_ids():
        answer = api.get(f"/v1/events/{event_id}")
        if answer.status_code == 200:
            found.append(answer.json()["event"])
        else:
            assert answer.status_code == 404, answer.text
    return found


def _event_count(api: httpx.Client) -> int:
    answer = api.post("/v1/events/export", json={"limit": 1})
    assert answer.status_code == 200, answer.text
    total: int = answer.json()["totalEvents"]
    return total


def _ok_protobuf(answer: httpx.Response) -> ExportTraceServiceResponse:
    assert answer.status_code == 200, answer.content
    assert answer.headers["content-type"] == "application/x-protobuf"
    return ExportTraceServiceResponse.FromString(answer.content)


def _ok_json(answer: httpx.Response) -> dict[str, Any]:
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/json"
    body: dict[str, Any] = answer.json()
    return body


def _protobuf_status(answer: httpx.Response, status: int) -> Status:
    assert answer.status_code == status, answer.content
    assert answer.headers["content-type"] == "application/x-protobuf"
    decoded = Status.FromString(answer.content)
    assert decoded.message
    return decoded


def _json_status(answer: httpx.Response, status: int) -> dict[str, Any]:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == "application/json"
    body: dict[str, Any] = answer.json()
    assert isinstance(body["code"], int)
    assert isinstance(body["message"], str) and body["message"]
    assert isinstance(body["errorCode"], str)
    return body


# --- the happy paths -----------------------------------------------------------------


@pytest.mark.parametrize("route", ROUTES)
def test_protobuf_export_is_stored(api: httpx.Client, route: str) -> None:
    trace = Trace()
    response = _ok_protobuf(api.post(route, content=trace.protobuf(), headers=PROTOBUF))
    assert not response.HasField("partial_success")
    assert len(_stored(api, trace)) == 2


@pytest.mark.parametrize("route", ROUTES)
def test_json_export_is_stored(api: httpx.Client, route: str) -> None:
    trace = Trace()
    assert _ok_json(api.post(route, content=trace.json(), headers=JSON)) == {}
    assert len(_stored(api, trace)) == 2


@pytest.mark.parametrize(
    ("encoding", "compress"),
    [
        ("gzip", gzip.compress),
        ("deflate", zlib.compress),
        ("deflate", lambda raw: zlib.compress(raw, wbits=-zlib.MAX_WBITS)),
    ],
    ids=["gzip", "deflate-zlib", "deflate-raw"],
)
@pytest.mark.parametrize("body_format", ["protobuf", "json"])
def test_compressed_bodies(
    api: httpx.Client, encoding: str, compress: Any, body_format: str
) -> None:
    trace = Trace()
    raw = trace.protobuf() if body_format == "protobuf" else trace.json()
    content_type = PROTOBUF if body_format == "protobuf" else JSON
    answer = api.post(
        ROUTES[0],
        content=compress(raw),
        headers={**content_type, "Content-Encoding": encoding},
    )
    assert answer.status_code == 200, answer.content
    assert len(_stored(api, trace)) == 2


@pytest.mark.parametrize("content_type", [None, "text/plain", "application/octet-stream"])
def test_undeclared_encodings_are_sniffed(api: httpx.Client, content_type: str | None) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    as_json, as_protobuf = Trace(), Trace()
    for trace, body in ((as_json, as_json.json()), (as_protobuf, as_protobuf.protobuf())):
        answer = api.post(ROUTES[0], content=body, headers=headers)
        assert ("content-type" in answer.request.headers) is bool(content_type)
        assert answer.status_code == 200, answer.content
        assert len(_stored(api, trace)) == 2
        expected = "application/json" if trace is as_json else "application/x-protobuf"
        assert answer.headers["content-type"] == expected


@pytest.mark.parametrize("run", [run_app, run_server], ids=["in-process", "socket"])
def test_chunked_body(tmp_path: Path, store_kind: str, run: Any) -> None:
    """The app reads a body that arrives in chunks; over a socket, uvicorn and our
    protocol (`connections.py`) decode the chunked framing first."""
    trace = Trace()
    body = trace.protobuf()
    chunks = iter([body[:7], body[7:100], body[100:]])
    with run(tmp_path, store_kind) as live, live.client() as api:
        answer = api.post(ROUTES[0], content=chunks, headers=PROTOBUF)
        assert answer.request.headers["Transfer-Encoding"] == "chunked"
        _ok_protobuf(answer)
        assert len(_stored(api, trace)) == 2


def test_large_request(api: httpx.Client) -> None:
    # Past 1 MB the route decodes on a worker thread; the answer is the same.
    trace = Trace(300)
    request = ExportTraceServiceRequest.FromString(trace.protobuf())
    for span in request.resource_spans[0].scope_spans[0].spans:
        span.attributes.add(key="honeyhive_outputs.text").value.string_value = "x" * 5000
    body = request.SerializeToString()
    assert len(body) > 1.4 * 2**20
    response = _ok_protobuf(api.post(ROUTES[0], content=body, headers=PROTOBUF))
    assert not response.HasField("partial_success")
    stored = _stored(api, trace)
    assert len(stored) == 300
    assert stored[-1]["outputs"] == {"text": "x" * 5000}


def test_application_protobuf_is_protobuf(api: httpx.Client) -> None:
    trace = Trace()
    answer = api.post(
        ROUTES[0], content=trace.protobuf(), headers={"Content-Type": "application/protobuf"}
    )
    _ok_protobuf(answer)
    assert len(_stored(api, trace)) == 2


def test_spans_are_readable_as_events_and_sessions(api: httpx.Client) -> None:
    trace = Trace(3)
    _ok_protobuf(api.post(ROUTES[0], content=trace.protobuf(), headers=PROTOBUF))
    root_id, *child_ids = trace.event_ids()
    root = api.get(f"/v1/events/{root_id}").json()["event"]
    assert root["session_id"] == trace.session_id
    assert root["event_type"] == "chain"
    assert root["event_name"] == "step-0"
    assert root["inputs"] == {"query": "question 0"}
    assert set(root["children_ids"]) == set(child_ids)
    export = api.post(
        "/v1/events/export",
        json={"filters": [{"field": "session_id", "operator": "is", "value": trace.session_id}]},
    ).json()
    assert {e["event_id"] for e in export["events"]} >= set(trace.event_ids())
    session = api.get(f"/v1/sessions/{trace.session_id}")
    assert session.status_code == 200, session.text
    tree = session.json()
    assert [c["event_id"] for c in tree["children"]] == [root_id]
    assert {c["event_id"] for c in tree["children"][0]["children"]} == set(child_ids)


def test_the_same_export_twice_is_idempotent(api: httpx.Client) -> None:
    trace = Trace()
    for _ in range(2):
        _ok_protobuf(api.post(ROUTES[0], content=trace.protobuf(), headers=PROTOBUF))
    before = _event_count(api)
    _ok_json(api.post(ROUTES[0], content=trace.json(), headers=JSON))
    assert _event_count(api) == before


def test_ingest_key_may_export(server: LiveServer) -> None:
    trace = Trace()
    with server.client(server.new_key(kind="ingest")) as ingest:
        _ok_protobuf(ingest.post(ROUTES[0], content=trace.protobuf(), headers=PROTOBUF))
    with server.client() as api:
        assert len(_stored(api, trace)) == 2


def test_x_source_header_is_the_fallback_source(api: httpx.Client) -> None:
    trace = Trace(1)
    headers = {**PROTOBUF, "X-Source": "from-header"}
    _ok_protobuf(api.post(ROUTES[0], content=trace.protobuf(), headers=headers))
    [event] = _stored(api, trace)
    assert event["source"] == "from-header"


def test_an_update_that_arrived_before_its_span_is_merged_into_it(api: httpx.Client) -> None:
    trace = Trace(1)
    [event_id] = trace.event_ids()
    update = {"event_id": event_id, "metadata": {"attempt": 99, "reviewed": True}}
    answer = api.put("/events", json={**update, "feedback": {"rating": 5}})
    assert answer.status_code == 200, answer.text
    assert api.get(f"/v1/events/{event_id}").status_code == 404  # kept, but not an event yet
    _ok_protobuf(api.post(ROUTES[0], content=trace.protobuf(), headers=PROTOBUF))
    event = api.get(f"/v1/events/{event_id}").json()["event"]
    # The update describes a later state than the span, so its values win.
    assert event["metadata"]["attempt"] == 99 and event["metadata"]["reviewed"] is True
    assert event["feedback"] == {"rating": 5}
    assert event["inputs"] == {"query": "question 0"}
    assert event["metrics"] == {"score": 0.5}
    session = api.get(f"/v1/sessions/{trace.session_id}").json()
    assert session["metadata"]["has_feedback"] is True


def test_a_span_creates_its_session_and_a_later_start_merges_into_it(api: httpx.Client) -> None:
    trace = Trace(2)
    _ok_protobuf(api.post(ROUTES[0], content=trace.protobuf(), headers=PROTOBUF))
    implicit = api.get(f"/v1/sessions/{trace.session_id}").json()
    assert implicit["event_type"] == "session" and implicit["parent_id"] is None
    assert implicit["metadata"]["num_events"] == 2
    assert implicit["start_time"] == pytest.approx(START / 1e6)
    assert implicit["end_time"] == pytest.approx((START + 11_000_000) / 1e6)
    started = api.post(
        "/v1/sessions",
        json={"session_id": trace.session_id, "session_name": "named later", "source": "app"},
    )
    assert started.status_code == 200, started.text
    session = api.get(f"/v1/sessions/{trace.session_id}").json()
    assert (session["event_name"], session["source"]) == ("named later", "app")
    assert session["metadata"]["num_events"] == 2
    assert session["start_time"] == implicit["start_time"]
    assert [c["event_id"] for c in session["children"]] == trace.event_ids()[:1]


# --- partial success -----------------------------------------------------------------


def test_partial_success_protobuf(api: httpx.Client) -> None:
    trace = Trace(3)
    answer = api.post(ROUTES[0], content=trace.protobuf(bad_trace_id_at=1), headers=PROTOBUF)
    response = _ok_protobuf(answer)
    assert response.partial_success.rejected_spans == 1
    assert "spans[1]: traceId" in response.partial_success.error_message
    assert len(_stored(api, trace)) == 2


def test_partial_success_json(api: httpx.Client) -> None:
    trace = Trace(3)
    body = _ok_json(api.post(ROUTES[1], content=trace.json(bad_trace_id_at=2), headers=JSON))
    assert body["partialSuccess"]["rejectedSpans"] == "1"
    assert "spans[2]: traceId" in body["partialSuccess"]["errorMessage"]
    assert len(_stored(api, trace)) == 2


def test_a_span_naming_a_stored_event_of_another_type_is_rejected_alone(
    api: httpx.Client,
) -> None:
    trace = Trace(2)  # span 0 is a chain, span 1 a tool
    first, second = trace.event_ids()
    rest = {"event_id": second, "session_id": trace.session_id, "event_type": "model"}
    assert api.post("/events", json={"event": {**rest, "event_name": "rest"}}).status_code == 200
    for encoding in ("protobuf", "json"):
        if encoding == "protobuf":
            answer = api.post(ROUTES[0], content=trace.protobuf(), headers=PROTOBUF)
            partial = _ok_protobuf(answer).partial_success
            rejected, message = partial.rejected_spans, partial.error_message
        else:
            body = _ok_json(api.post(ROUTES[1], content=trace.json(), headers=JSON))
            rejected = int(body["partialSuccess"]["rejectedSpans"])
            message = body["partialSuccess"]["errorMessage"]
        assert rejected == 1, message
        assert trace.span_ids[1] in message and second in message
        assert "model" in message and "tool" in message
    kept = api.get(f"/v1/events/{second}").json()["event"]
    assert (kept["event_type"], kept["event_name"], kept["inputs"]) == ("model", "rest", {})
    assert api.get(f"/v1/events/{first}").json()["event"]["event_type"] == "chain"


# --- errors: in the request's encoding, nothing written, server unaffected -----------


def _assert_nothing_written_and_alive(api: httpx.Client, before: int) -> None:
    assert _event_count(api) == before
    trace = Trace(1)
    _ok_protobuf(api.post(ROUTES[0], content=trace.protobuf(), headers=PROTOBUF))
    assert len(_stored(api, trace)) == 1


@pytest.mark.parametrize(
    "body",
    [b"\xff\xff\xff\xff", b"not protobuf at all", Trace(5).protobuf()[:-9]],
    ids=["junk", "text", "truncated"],
)
def test_malformed_protobuf_is_a_400_status(api: httpx.Client, body: bytes) -> None:
    before = _event_count(api)
    status = _protobuf_status(api.post(ROUTES[0], content=body, headers=PROTOBUF), 400)
    assert status.code == 3  # INVALID_ARGUMENT
    assert "ExportTraceServiceRequest" in status.message
    _assert_nothing_written_and_alive(api, before)


@pytest.mark.parametrize("depth", [40, 120, 5000])
def test_deeply_nested_protobuf_is_a_400(api: httpx.Client, depth: int) -> None:
    request = ExportTraceServiceRequest.FromString(Trace(1).protobuf())
    span = request.resource_spans[0].scope_spans[0].spans[0].SerializeToString()
    body = deeply_nested_request(span, depth)
    before = _event_count(api)
    status = _protobuf_status(api.post(ROUTES[0], content=body, headers=PROTOBUF), 400)
    assert status.code == 3
    _assert_nothing_written_and_alive(api, before)


def test_wrong_json_shape_is_a_400_naming_the_field(api: httpx.Client) -> None:
    trace = Trace(3)
    body = orjson.loads(trace.json())
    body["resourceSpans"][0]["scopeSpans"][0]["spans"][2]["attributes"][4]["value"] = "plain"
    before = _event_count(api)
    error = _json_status(api.post(ROUTES[0], content=orjson.dumps(body), headers=JSON), 400)
    field = "resourceSpans[0].scopeSpans[0].spans[2].attributes[4].value"
    assert error["code"] == 3
    assert error["errorCode"] == "VALIDATION_ERROR"
    assert error["field"] == field
    assert error["message"].startswith(field)
    _assert_nothing_written_and_alive(api, before)
    assert _stored(api, trace) == []


@pytest.mark.parametrize("body", [b"", b"{", b"[1, 2]", b'{"resourceSpans": 5}'])
def test_bad_json_is_a_400(api: httpx.Client, body: bytes) -> None:
    before = _event_count(api)
    error = _json_status(api.post(ROUTES[1], content=body, headers=JSON), 400)
    assert error["errorCode"] in ("INVALID_JSON", "VALIDATION_ERROR")
    _assert_nothing_written_and_alive(api, before)


def test_bad_protobuf_field_is_a_400_status_naming_it(tmp_path: Path, store_kind: str) -> None:
    with run_app(tmp_path, store_kind, otlp_max_attributes=3) as live, live.client() as api:
        status = _protobuf_status(
            api.post(ROUTES[0], content=Trace().protobuf(), headers=PROTOBUF), 400
        )
        assert status.code == 3
        assert "resourceSpans[0].scopeSpans[0].spans[0].attributes" in status.message
        assert "otlp_max_attributes" in status.message
        assert _event_count(api) == 0


def test_span_limit_is_a_400(tmp_path: Path, store_kind: str) -> None:
    with (
        run_app(tmp_path, store_kind, otlp_max_spans_per_request=2) as live,
        live.client() as api,
    ):
        _ok_json(api.post(ROUTES[0], content=Trace(2).json(), headers=JSON))
        before = _event_count(api)
        error = _json_status(api.post(ROUTES[0], content=Trace(3).json(), headers=JSON), 400)
        assert error["field"] == "resourceSpans"
        assert "otlp_max_spans_per_request" in error["message"]
        assert _event_count(api) == before


def test_string_past_the_limit_is_a_400_naming_the_attribute(
    tmp_path: Path, store_kind: str
) -> None:
    long = "x" * 1025
    request = ExportTraceServiceRequest.FromString(Trace(2).protobuf())
    request.resource_spans[0].scope_spans[0].spans[1].attributes[3].value.string_value = long
    as_json = orjson.loads(Trace(2).json())
    as_json["resourceSpans"][0]["scopeSpans"][0]["spans"][1]["attributes"][3]["value"] = {
        "stringValue": long
    }
    field = "resourceSpans[0].scopeSpans[0].spans[1].attributes[3].value"
    with run_app(tmp_path, store_kind, max_string_chars=1024) as live, live.client() as api:
        answer = api.post(ROUTES[0], content=request.SerializeToString(), headers=PROTOBUF)
        status = _protobuf_status(answer, 400)
        assert status.code == 3
        assert field in status.message
        assert "max_string_chars" in status.message
        error = _json_status(api.post(ROUTES[1], content=orjson.dumps(as_json), headers=JSON), 400)
        assert error["field"] == field
        assert _event_count(api) == 0


@pytest.mark.parametrize("content_type", [PROTOBUF, JSON])
def test_gzip_bomb_is_a_413(server: LiveServer, api: httpx.Client, content_type: Any) -> None:
    limit = server.settings.max_body_bytes
    bomb = gzip.compress(b"\x00" * (limit + 1024), compresslevel=9)
    assert len(bomb) < limit // 100
    before = _event_count(api)
    answer = api.post(ROUTES[0], content=bomb, headers={**content_type, "Content-Encoding": "gzip"})
    assert answer.status_code == 413, answer.content
    if content_type is PROTOBUF:
        assert _protobuf_status(answer, 413).code == 8  # RESOURCE_EXHAUSTED
        assert "max_body_bytes" in Status.FromString(answer.content).message
    else:
        assert _json_status(answer, 413)["errorCode"] == "PAYLOAD_TOO_LARGE"
    _assert_nothing_written_and_alive(api, before)


def test_body_past_the_limit_is_a_413(tmp_path: Path, store_kind: str) -> None:
    with run_app(tmp_path, store_kind, max_body_bytes=4096) as live, live.client() as api:
        answer = api.post(ROUTES[0], content=Trace(40).protobuf(), headers=PROTOBUF)
        assert _protobuf_status(answer, 413).code == 8


def test_unsupported_content_encoding_is_a_400(api: httpx.Client) -> None:
    answer = api.post(ROUTES[0], content=Trace().json(), headers={**JSON, "Content-Encoding": "br"})
    assert _json_status(answer, 400)["errorCode"] == "BAD_REQUEST"


@pytest.mark.parametrize("authorization", [None, "Bearer None", "Bearer wrong", "Basic abc"])
def test_unauthenticated_is_a_401(server: LiveServer, authorization: str | None) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    with server.anonymous(headers) as anonymous:
        answer = anonymous.post(ROUTES[0], content=Trace().json(), headers=JSON)
        assert _json_status(answer, 401)["errorCode"] == "UNAUTHORIZED"
        answer = anonymous.post(ROUTES[1], content=Trace().protobuf(), headers=PROTOBUF)
        assert _protobuf_status(answer, 401).code == 16  # UNAUTHENTICATED
    with server.client() as api:
        assert _event_count(api) == 0


def test_wrong_method_is_not_a_2xx(api: httpx.Client) -> None:
    assert api.get(ROUTES[0]).status_code == 405


def test_route_is_in_the_openapi_document(api: httpx.Client) -> None:
    paths = api.get("/openapi.json").json()["paths"]
    for route in ROUTES:
        operation = paths[route]["post"]
        assert "OTLP" in operation["summary"]
        content = operation["requestBody"]["content"]
        assert {"application/x-protobuf", "application/json"} <= set(content)


# --- overload ------------------------------------------------------------------------


def test_full_queue_is_429_with_retry_after(tmp_path: Path, store_kind: str) -> None:
    with (
        run_app(tmp_path, store_kind, max_queue_ops=2, max_batch_ops=1) as live,
        live.client() as api,
    ):
        trace = Trace(1)
        with full_write_queue(live, api) as pending:
            refused = api.post(ROUTES[0], content=trace.protobuf(), headers=PROTOBUF)
            assert refused.headers["Retry-After"] == "1"
            assert _protobuf_status(refused, 429).code == 8  # RESOURCE_EXHAUSTED
            refused = api.post(ROUTES[1], content=trace.json(), headers=JSON)
            assert refused.headers["Retry-After"] == "1"
            assert _json_status(refused, 429)["errorCode"] == "OVERLOADED"
        assert [f.result().status_code for f in pending] == [200, 200, 200]
        assert _stored(api, trace) == []
        _ok_protobuf(api.post(ROUTES[0], content=trace.protobuf(), headers=PROTOBUF))
        assert len(_stored(api, trace)) == 1
