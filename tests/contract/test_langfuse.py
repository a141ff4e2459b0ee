"""Langfuse's routes on every store: Basic credentials only under /api/public/, its
OTLP path in JSON too, its project answer and its scores, partly refused."""

from __future__ import annotations

import base64
import time

from hivekeeper.ingest.span_mapping import span_event_id, trace_session_id
from tests.support.server import LiveServer

TRACE = "0af7651916cd43dd8448eb211c80319c"
SPAN = "b7ad6b7169203331"


def _basic(public: str, secret: str) -> dict[str, str]:
    pair = base64.b64encode(f"{public}:{secret}".encode()).decode()
    return {"Authorization": f"Basic {pair}"}


def _span_export(
    trace_id: str = TRACE, start_ns: int = 1_751_371_200_000_000_000, **extra: str
) -> dict[str, object]:
    attributes = {
        "langfuse.observation.type": "generation",
        "langfuse.observation.model.name": "gpt-4o-mini",
        "langfuse.observation.usage_details": '{"input": 1000, "output": 100}',
        "langfuse.trace.name": "json-trace",
        **extra,
    }
    span = {
        "traceId": trace_id,
        "spanId": SPAN,
        "name": "llm",
        "startTimeUnixNano": str(start_ns),
        "endTimeUnixNano": str(start_ns + 1_000_000_000),
        "attributes": [{"key": k, "value": {"stringValue": v}} for k, v in attributes.items()],
    }
    return {"resourceSpans": [{"scopeSpans": [{"spans": [span]}]}]}


def test_basic_credentials_carry_the_key_under_api_public_only(server: LiveServer) -> None:
    with server.anonymous(_basic("my-project", server.key)) as basic:
        projects = basic.get("/api/public/projects")
        assert projects.status_code == 200, projects.text
        (project,) = projects.json()["data"]
        assert project["name"] == "default"
        assert set(project) >= {"id", "organization", "metadata"}
        # Everywhere else a key comes as a Bearer token only.
        elsewhere = basic.post("/v1/sessions", json={})
        assert elsewhere.status_code == 401
        assert "Bearer" in elsewhere.json()["message"]
    with server.client() as bearer:
        assert bearer.get("/api/public/projects").status_code == 200
    for headers in (
        _basic("pk", "hh_unknown"),
        {"Authorization": "Basic !!not-base64"},
        {"Authorization": "Basic " + base64.b64encode(b"no-colon").decode()},
    ):
        with server.anonymous(headers) as refused:
            answer = refused.get("/api/public/projects")
            assert answer.status_code == 401, headers
            assert answer.json()["errorCode"] == "UNAUTHORIZED"


def test_langfuse_otlp_json_and_scores_land_on_the_events(server: LiveServer) -> None:
    with server.anonymous(_basic("pk-lf", server.key)) as client:
        exported = client.post("/api/public/otel/v1/traces", json=_span_export())
        assert exported.status_code == 200, exported.text
        scores = [
            {"name": "relevance", "value": 0.5, "traceId": TRACE, "observationId": SPAN},
            {"name": "overall", "value": "good", "traceId": TRACE, "source": "ANNOTATION"},
            {"name": "broken", "value": 1},
        ]
        partial = client.post("/api/public/scores", json=scores)
        assert partial.status_code == 207, partial.text
        body = partial.json()
        assert (body["accepted"], body["rejected"]) == (2, 1)
        assert "[2] traceId" in body["errors"][0]["message"]
        one = client.post(
            "/api/public/scores",
            json={"id": "score-1", "name": "clarity", "value": 3, "traceId": TRACE,
                  "observationId": SPAN},
        )
        assert (one.status_code, one.json()) == (200, {"id": "score-1"})
        bad = client.post("/api/public/scores", json={"name": "x", "value": True, "traceId": TRACE})
        assert bad.status_code == 400
        assert (bad.json()["errorCode"], bad.json()["field"]) == ("VALIDATION_ERROR", "value")
    with server.client() as api:
        event = api.get(f"/v1/events/{span_event_id(TRACE, SPAN)}").json()["event"]
        session = api.get(f"/v1/events/{trace_session_id(TRACE)}").json()["event"]
    assert event["event_type"] == "model"
    assert event["metrics"] == {"relevance": 0.5, "clarity": 3}
    assert event["metadata"]["cost_source"] == "computed"  # gpt-4o-mini, 1000 in, 100 out
    assert session["event_name"] == "json-trace"
    assert session["feedback"] == {"overall": "good"}


def test_a_trace_score_finds_the_session_its_spans_named(server: LiveServer) -> None:
    other_trace = "1" * 32
    # A trace's spans are looked for among those that started in the last 30 days.
    recent = _span_export(other_trace, time.time_ns() - 86_400 * 10**9, **{"session.id": "chat-1"})
    with server.anonymous(_basic("pk-lf", server.key)) as client:
        exported = client.post("/api/public/otel/v1/traces", json=recent)
        assert exported.status_code == 200, exported.text
        scored = client.post("/api/public/scores", json=[
            {"name": "helpful", "value": 1, "traceId": other_trace}
        ])
        assert scored.status_code == 200, scored.text
    with server.client() as api:
        session = api.get("/v1/events/chat-1").json()["event"]
    assert session["metrics"] == {"helpful": 1}


def test_an_ingest_key_passes_the_auth_check_and_a_data_plane_key_does_not(
    server: LiveServer,
) -> None:
    with server.anonymous(_basic("pk", server.new_key(kind="ingest"))) as ingest:
        assert ingest.get("/api/public/projects").status_code == 200
    with server.anonymous(_basic("pk", server.new_key(kind="dataplane"))) as dataplane:
        answer = dataplane.get("/api/public/projects")
        assert answer.status_code == 403
        assert answer.json()["errorCode"] == "FORBIDDEN"


def test_basic_failures_count_against_the_auth_throttle(server: LiveServer) -> None:
    answers = []
    with server.anonymous(_basic("pk", "hh_wrong")) as client:
        for _ in range(server.settings.auth_failures_per_minute + 1):
            answers.append(client.get("/api/public/projects").status_code)
        throttled = client.get("/api/public/projects", headers=_basic("pk", server.key))
    assert set(answers[:-1]) == {401}
    assert answers[-1] == 429
    assert throttled.status_code == 429
    assert throttled.json()["errorCode"] == "AUTH_THROTTLED"
