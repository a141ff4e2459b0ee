"""Projects are sealed on every route, and keys stop working the moment they are revoked.

The routes come from the app object itself: a route added later fails
`test_every_route_is_covered_or_public` until it has a case here (or is listed as
public), so isolation is checked for it too.

Project A holds sessions, events and OTLP spans, datasets, datapoints, prompts,
metrics, saved charts and an experiment run, all carrying a marker. Project B's full key then reads,
deletes, updates and writes naming A's ids (and A's project id) on every route: reads,
updates and deletes answer as if A's data did not exist, writes act inside B only, no
answer to B mentions A, and A's data reads back byte for byte as it did before. An
ingest key of A is refused everything but telemetry writes, a data-plane key
everything but its own project's `/v1/projects/{project_id}/…` routes.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import httpx
import orjson
import pytest
from starlette.routing import BaseRoute, Mount, Route

from hivekeeper import ui
from hivekeeper.app import create_app
from hivekeeper.config import Settings
from hivekeeper.domain.tenancy import key_id_of
from hivekeeper.ingest.span_mapping import span_event_id
from tests.support.process import run_cli
from tests.support.server import LiveServer, run_app

MARKER = "project-a-private-marker"
START_MS = 1_790_000_000_000.0
# Routes that need no key; any method. /metrics may or may not exist yet.
PUBLIC = {"/health", "/metrics", "/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"}

Kind = Literal["read", "update", "delete", "write", "own", "unserved"]
"""What B's full key gets on a route naming A's ids: `read`, `update`, `delete` find
nothing (404, or an empty listing); `write` (telemetry) and `own` (a record of B's
own, with B's own ids) succeed inside B; `unserved` is a 501. An ingest key gets 403 on
all but `write`."""
PROJECT_ROUTES = "/v1/projects/{project_id}/"
Call = Callable[[httpx.Client, "Seeded"], list[httpx.Response]]


@dataclass(frozen=True)
class SeededEvaluation:
    """Project A's evaluation records: its project id, a dataset holding a datapoint,
    a prompt, a metric, a saved chart."""

    project_id: str
    dataset_id: str
    datapoint_id: str
    configuration_id: str
    metric_id: str
    chart_id: str


@dataclass(frozen=True)
class Seeded:
    """Project A's ids, as a foreign key might name them."""

    session_id: str
    event_id: str
    batch_event_id: str
    model_event_id: str
    otlp_session_id: str
    trace_id: str
    span_ids: tuple[str, ...]
    evaluation: SeededEvaluation
    run_id: str
    price_id: int

    @property
    def otlp_event_ids(self) -> list[str]:
        return [span_event_id(self.trace_id, s) for s in self.span_ids]

    @property
    def event_ids(self) -> list[str]:
        """Every id of A, sessions included."""
        return [
            self.session_id,
            self.event_id,
            self.batch_event_id,
            self.model_event_id,
            self.otlp_session_id,
            *self.otlp_event_ids,
        ]


@dataclass(frozen=True)
class Case:
    kind: Kind
    call: Call


CASES: dict[tuple[str, str], Case] = {}


def case(method: str, path: str, kind: Kind) -> Callable[[Call], Call]:
    def register(call: Call) -> Call:
        CASES[(method, path)] = Case(kind, call)
        return call

    return register


def _each(ids: list[str], fn: Callable[[str], httpx.Response]) -> list[httpx.Response]:
    return [fn(i) for i in ids]


# --- reads ---
@case("GET", "/v1/events/{event_id}", "read")
def _get_event(c: httpx.Client, a: Seeded) -> list[httpx.Response]:
    return _each(a.event_ids, lambda i: c.get(f"/v1/events/{i}"))


@case("GET", "/v1/sessions/{session_id}", "read")
def _get_session(c: httpx.Client, a: Seeded) -> list[httpx.Response]:
    return _each(a.event_ids, lambda i: c.get(f"/v1/sessions/{i}"))


def _naming_a(a: Seeded) -> list[dict[str, Any]]:
    """Filter sets that name A's data: unfiltered, A's session, A's marker."""
    return [
        {},
        {"filters": [{"field": "session_id", "operator": "is", "value": a.session_id}]},
        {"filters": [{"field": "event_id", "operator": "is", "value": a.event_id}]},
        {"filters": [{"field": "metadata.tag", "operator": "is", "value": MARKER}]},
    ]


@case("POST", "/v1/events/export", "read")
def _export(c: httpx.Client, a: Seeded) -> list[httpx.Response]:
    return [c.post("/v1/events/export", json={**q, "limit": 7500}) for q in _naming_a(a)]


@case("POST", "/v1/events/search", "read")
def _search(c: httpx.Client, a: Seeded) -> list[httpx.Response]:
    return [c.post("/v1/events/search", json=q) for q in _naming_a(a)]


def _as_params(query: dict[str, Any]) -> dict[str, str]:
    return {k: orjson.dumps(v).decode() for k, v in query.items()}


@case("GET", "/events", "read")
def _list(c: httpx.Client, a: Seeded) -> list[httpx.Response]:
    return [c.get("/events", params=_as_params(q)) for q in _naming_a(a)]


@case("GET", "/v1/sessions", "read")
def _list_sessions(c: httpx.Client, a: Seeded) -> list[httpx.Response]:
    named = [c.get("/v1/sessions", params=_as_params(q)) for q in _naming_a(a)]
    return [*named, c.get("/v1/sessions", params={"q": MARKER})]


@case("GET", "/v1/events/chart", "read")
def _chart(c: httpx.Client, a: Seeded) -> list[httpx.Response]:
    return [
        c.get("/v1/events/chart", params={**_as_params(q), "aggregation": "count"})
        for q in _naming_a(a)
    ]


# --- deletes ---
@case("DELETE", "/v1/sessions/{session_id}", "delete")
def _delete_session(c: httpx.Client, a: Seeded) -> list[httpx.Response]:
    return _each([a.session_id, a.otlp_session_id], lambda i: c.delete(f"/v1/sessions/{i}"))


@case("DELETE", "/v1/events/{event_id}", "delete")
def _delete_event(c: httpx.Client, a: Seeded) -> list[httpx.Response]:
    return _each(a.event_ids, lambda i: c.delete(f"/v1/events/{i}"))


# --- updates ---
@case("PUT", "/events", "write")
def _update(c: httpx.Client, a: Seeded) -> list[httpx.Response]:
    return _each(a.event_ids, lambda i: c.put("/events", json={"event_id": i, **_b_fields()}))


@case("PUT", "/v1/events/{event_id}", "write")
def _update_by_id(c: httpx.Client, a: Seeded) -> list[httpx.Response]:
    return _each(a.event_ids, lambda i: c.put(f"/v1/events/{i}", json=_b_fields()))


# --- writes naming A's ids ---
def _b_fields() -> dict[str, Any]:
    return {"metadata": {"tag": "b"}, "outputs": {"by": "b"}}


def _b_event(a: Seeded, event_id: str) -> dict[str, Any]:
    # The type A's event of that id has: B's writes are each one event of B's, and an
    # event's type is set once.
    event_type = {a.model_event_id: "model", a.otlp_event_ids[0]: "chain"}.get(event_id, "tool")
    return {
        "event_type": event_type,
        "event_id": event_id,
        "session_id": a.session_id,
        "parent_id": a.session_id,
        "start_time": START_MS + 50,
        **_b_fields(),
    }


def _b_model_event(a: Seeded, event_id: str) -> dict[str, Any]:
    return {
        "event_id": event_id,
        "session_id": a.session_id,
        "model": "b-model",
        "messages": [{"role": "user", "content": "b"}],
        "response": {"role": "assistant", "content": "b"},
    }


@case("POST", "/v1/sessions", "write")
def _start(c: httpx.Client, a: Seeded) -> list[httpx.Response]:
    sessions = [a.session_id, a.otlp_session_id]
    return _each(sessions, lambda i: c.post("/v1/sessions", json={"session_id": i, **_b_fields()}))


@case("POST", "/session/start", "write")
def _start_legacy(c: httpx.Client, a: Seeded) -> list[httpx.Response]:
    return [c.post("/session/start", json={"session": {"session_id": a.session_id}})]


@case("POST", "/events", "write")
def _create(c: httpx.Client, a: Seeded) -> list[httpx.Response]:
    return [c.post("/events", json={"event": _b_event(a, a.event_id)})]


@case("POST", "/v1/events", "write")
def _create_v1(c: httpx.Client, a: Seeded) -> list[httpx.Response]:
    return [c.post("/v1/events", json={"event": _b_event(a, a.batch_event_id)})]


@case("POST", "/events/batch", "write")
def _batch(c: httpx.Client, a: Seeded) -> list[httpx.Response]:
    events = [_b_event(a, i) for i in a.event_ids if i not in (a.session_id, a.otlp_session_id)]
    return [c.post("/events/batch", json={"events": events})]


@case("POST", "/v1/events/batch", "write")
def _batch_v1(c: httpx.Client, a: Seeded) -> list[httpx.Response]:
    body = {
        "events": [_b_event(a, a.event_id)],
        "is_single_session": True,
        "session_properties": {"session_id": a.session_id},
    }
    return [c.post("/v1/events/batch", json=body)]


@case("POST", "/v1/sessions/{session_id}/events/batch", "write")
def _session_batch(c: httpx.Client, a: Seeded) -> list[httpx.Response]:
    body = {"events": [_b_event(a, a.event_id)]}
    return [c.post(f"/v1/sessions/{a.session_id}/events/batch", json=body)]


@case("POST", "/session/{session_id}/traces", "write")
def _session_traces(c: httpx.Client, a: Seeded) -> list[httpx.Response]:
    body = {"logs": [_b_event(a, a.batch_event_id)]}
    return [c.post(f"/session/{a.otlp_session_id}/traces", json=body)]


@case("POST", "/events/model", "write")
def _model(c: httpx.Client, a: Seeded) -> list[httpx.Response]:
    return [c.post("/events/model", json={"model_event": _b_model_event(a, a.model_event_id)})]


@case("POST", "/v1/events/model", "write")
def _model_v1(c: httpx.Client, a: Seeded) -> list[httpx.Response]:
    return [c.post("/v1/events/model", json={"model_event": _b_model_event(a, a.model_event_id)})]


@case("POST", "/events/model/batch", "write")
def _model_batch(c: httpx.Client, a: Seeded) -> list[httpx.Response]:
    body = {"model_events": [_b_model_event(a, a.model_event_id)]}
    return [c.post("/events/model/batch", json=body)]


@case("POST", "/v1/events/model/batch", "write")
def _model_batch_v1(c: httpx.Client, a: Seeded) -> list[httpx.Response]:
    body = {"model_events": [_b_model_event(a, a.model_event_id)]}
    return [c.post("/v1/events/model/batch", json=body)]


def _otlp(c: httpx.Client, a: Seeded, path: str) -> list[httpx.Response]:
    body = _otlp_body(a.trace_id, a.span_ids, a.otlp_session_id, tag="b")
    return [c.post(path, content=body, headers={"Content-Type": "application/json"})]


@case("POST", "/opentelemetry/v1/traces", "write")
def _otlp_honeyhive(c: httpx.Client, a: Seeded) -> list[httpx.Response]:
    return _otlp(c, a, "/opentelemetry/v1/traces")


@case("POST", "/v1/traces", "write")
def _otlp_stock(c: httpx.Client, a: Seeded) -> list[httpx.Response]:
    return _otlp(c, a, "/v1/traces")


@case("POST", "/api/public/otel/v1/traces", "write")
def _otlp_langfuse(c: httpx.Client, a: Seeded) -> list[httpx.Response]:
    return _otlp(c, a, "/api/public/otel/v1/traces")


@case("POST", "/api/public/scores", "write")
def _langfuse_scores(c: httpx.Client, a: Seeded) -> list[httpx.Response]:
    """Scores naming A's spans, trace and session: they wait in B for B's events."""
    scores = [
        {"name": "s", "value": 1, "traceId": a.trace_id, "observationId": a.span_ids[0]},
        {"name": "t", "value": 2, "traceId": a.trace_id},
        {"name": "u", "value": "ok", "sessionId": a.session_id},
    ]
    return [c.post("/api/public/scores", json=scores), c.post("/api/public/scores", json=scores[1])]


# Langfuse's auth check: a telemetry key's own project, like the writes above.
@case("GET", "/api/public/projects", "write")
def _langfuse_projects(c: httpx.Client, a: Seeded) -> list[httpx.Response]:
    return [c.get("/api/public/projects")]


def _otlp_logs(c: httpx.Client, a: Seeded, path: str) -> list[httpx.Response]:
    """GenAI messages naming A's spans (they attach to B's events of those ids, which
    B's deletes then remove with them)."""
    time_ns = str(int((START_MS + 15) * 1_000_000))
    records = [
        {
            "timeUnixNano": time_ns,
            "traceId": a.trace_id,
            "spanId": span_id,
            "eventName": "gen_ai.user.message",
            "body": {
                "kvlistValue": {"values": [{"key": "content", "value": {"stringValue": "b"}}]}
            },
        }
        for span_id in a.span_ids
    ]
    body = {"resourceLogs": [{"scopeLogs": [{"logRecords": records}]}]}
    return [c.post(path, content=orjson.dumps(body), headers={"Content-Type": "application/json"})]


@case("POST", "/opentelemetry/v1/logs", "write")
def _otlp_logs_honeyhive(c: httpx.Client, a: Seeded) -> list[httpx.Response]:
    return _otlp_logs(c, a, "/opentelemetry/v1/logs")


@case("POST", "/v1/logs", "write")
def _otlp_logs_stock(c: httpx.Client, a: Seeded) -> list[httpx.Response]:
    return _otlp_logs(c, a, "/v1/logs")


def _otlp_metrics(c: httpx.Client, path: str) -> list[httpx.Response]:
    point = {"asInt": "1", "timeUnixNano": str(int(START_MS * 1_000_000))}
    metric = {"name": "gen_ai.client.token.usage", "sum": {"dataPoints": [point]}}
    body = {"resourceMetrics": [{"scopeMetrics": [{"metrics": [metric]}]}]}
    return [c.post(path, content=orjson.dumps(body), headers={"Content-Type": "application/json"})]


@case("POST", "/opentelemetry/v1/metrics", "write")
def _otlp_metrics_honeyhive(c: httpx.Client, a: Seeded) -> list[httpx.Response]:
    return _otlp_metrics(c, "/opentelemetry/v1/metrics")


@case("POST", "/v1/metrics", "write")
def _otlp_metrics_stock(c: httpx.Client, a: Seeded) -> list[httpx.Response]:
    return _otlp_metrics(c, "/v1/metrics")


# --- the evaluation plane ---
_PROMPT = {"name": "b", "provider": "p", "parameters": {"call_type": "chat", "model": "m"}}
_METRIC = {"name": "b", "type": "PYTHON", "criteria": "c"}
_CHART = {"name": "b", "metric": "duration"}


@case("GET", "/v1/datasets", "read")
def _list_datasets(c: httpx.Client, a: Seeded) -> list[httpx.Response]:
    e = a.evaluation
    queries: list[dict[str, str]] = [
        {}, {"dataset_id": e.dataset_id}, {"name": MARKER},
        {"dataset_id": e.dataset_id, "include_datapoints": "true", "version": "1"},
    ]  # fmt: skip
    return [c.get("/v1/datasets", params=q) for q in queries]


@case("POST", "/v1/datasets", "own")
def _create_dataset(c: httpx.Client, a: Seeded) -> list[httpx.Response]:
    return [c.post("/v1/datasets", json={"name": "b"})]


@case("PUT", "/v1/datasets", "update")
def _update_dataset_legacy(c: httpx.Client, a: Seeded) -> list[httpx.Response]:
    body = {"dataset_id": a.evaluation.dataset_id, "name": "b", "datapoints": []}
    return [c.put("/v1/datasets", json=body)]


@case("PUT", "/v1/datasets/{dataset_id}", "update")
def _update_dataset(c: httpx.Client, a: Seeded) -> list[httpx.Response]:
    return [c.put(f"/v1/datasets/{a.evaluation.dataset_id}", json={"description": "b"})]


@case("POST", "/v1/datasets/{dataset_id}/datapoints", "update")
def _add_datapoints(c: httpx.Client, a: Seeded) -> list[httpx.Response]:
    body = {"data": [{"q": "b"}], "mapping": {"inputs": ["q"]}}
    return [c.post(f"/v1/datasets/{a.evaluation.dataset_id}/datapoints", json=body)]


@case("DELETE", "/v1/datasets", "delete")
def _delete_dataset_legacy(c: httpx.Client, a: Seeded) -> list[httpx.Response]:
    params = {"dataset_id": a.evaluation.dataset_id, "force": "true"}
    return [c.delete("/v1/datasets", params=params)]


@case("DELETE", "/v1/datasets/{dataset_id}", "delete")
def _delete_dataset(c: httpx.Client, a: Seeded) -> list[httpx.Response]:
    return [c.delete(f"/v1/datasets/{a.evaluation.dataset_id}")]


@case("DELETE", "/v1/datasets/{dataset_id}/{datapoint_id}", "delete")
def _remove_datapoint_legacy(c: httpx.Client, a: Seeded) -> list[httpx.Response]:
    e = a.evaluation
    return [c.delete(f"/v1/datasets/{e.dataset_id}/{e.datapoint_id}")]


@case("DELETE", "/v1/datasets/{dataset_id}/datapoints/{datapoint_id}", "delete")
def _remove_datapoint(c: httpx.Client, a: Seeded) -> list[httpx.Response]:
    e = a.evaluation
    return [c.delete(f"/v1/datasets/{e.dataset_id}/datapoints/{e.datapoint_id}")]


@case("GET", "/v1/datapoints", "read")
def _list_datapoints(c: httpx.Client, a: Seeded) -> list[httpx.Response]:
    e = a.evaluation
    queries: list[dict[str, str]] = [
        {}, {"datapoint_ids[]": e.datapoint_id}, {"dataset_id": e.dataset_id},
        {"dataset_name": MARKER},
    ]  # fmt: skip
    return [c.get("/v1/datapoints", params=q) for q in queries]


@case("POST", "/v1/datapoints", "own")
def _create_datapoint(c: httpx.Client, a: Seeded) -> list[httpx.Response]:
    return [c.post("/v1/datapoints", json={"inputs": {"by": "b"}})]


@case("POST", "/v1/datapoints/batch", "update")
def _datapoints_from_events(c: httpx.Client, a: Seeded) -> list[httpx.Response]:
    return [c.post("/v1/datapoints/batch", json={"events": [i]}) for i in a.event_ids[:2]]


@case("GET", "/v1/datapoints/{datapoint_id}", "read")
def _get_datapoint(c: httpx.Client, a: Seeded) -> list[httpx.Response]:
    return [c.get(f"/v1/datapoints/{a.evaluation.datapoint_id}")]


@case("PUT", "/v1/datapoints/{datapoint_id}", "update")
def _update_datapoint(c: httpx.Client, a: Seeded) -> list[httpx.Response]:
    return [c.put(f"/v1/datapoints/{a.evaluation.datapoint_id}", json={"inputs": {}})]


@case("DELETE", "/v1/datapoints/{datapoint_id}", "delete")
def _delete_datapoint(c: httpx.Client, a: Seeded) -> list[httpx.Response]:
    return [c.delete(f"/v1/datapoints/{a.evaluation.datapoint_id}")]


@case("GET", "/v1/configurations", "read")
def _list_configurations(c: httpx.Client, a: Seeded) -> list[httpx.Response]:
    return [c.get("/v1/configurations", params=q) for q in ({}, {"name": MARKER})]


@case("POST", "/v1/configurations", "own")
def _create_configuration(c: httpx.Client, a: Seeded) -> list[httpx.Response]:
    return [c.post("/v1/configurations", json=_PROMPT)]


@case("PUT", "/v1/configurations/{config_id}", "update")
def _update_configuration(c: httpx.Client, a: Seeded) -> list[httpx.Response]:
    return [c.put(f"/v1/configurations/{a.evaluation.configuration_id}", json=_PROMPT)]


@case("DELETE", "/v1/configurations/{config_id}", "delete")
def _delete_configuration(c: httpx.Client, a: Seeded) -> list[httpx.Response]:
    return [c.delete(f"/v1/configurations/{a.evaluation.configuration_id}")]


@case("GET", "/v1/metrics", "read")
def _list_metrics(c: httpx.Client, a: Seeded) -> list[httpx.Response]:
    return [c.get("/v1/metrics", params=q) for q in ({}, {"id": a.evaluation.metric_id})]


@case("PUT", "/v1/metrics", "update")
def _update_metric_legacy(c: httpx.Client, a: Seeded) -> list[httpx.Response]:
    return [c.put("/v1/metrics", json={"id": a.evaluation.metric_id, "criteria": "b"})]


@case("PUT", "/v1/metrics/{metric_id}", "update")
def _update_metric(c: httpx.Client, a: Seeded) -> list[httpx.Response]:
    return [c.put(f"/v1/metrics/{a.evaluation.metric_id}", json={"criteria": "b"})]


@case("DELETE", "/v1/metrics", "delete")
def _delete_metric_legacy(c: httpx.Client, a: Seeded) -> list[httpx.Response]:
    return [c.delete("/v1/metrics", params={"metric_id": a.evaluation.metric_id})]


@case("DELETE", "/v1/metrics/{metric_id}", "delete")
def _delete_metric(c: httpx.Client, a: Seeded) -> list[httpx.Response]:
    return [c.delete(f"/v1/metrics/{a.evaluation.metric_id}")]


@case("GET", "/v1/metrics/{metric_id}/versions", "read")
def _metric_versions(c: httpx.Client, a: Seeded) -> list[httpx.Response]:
    return [c.get(f"/v1/metrics/{a.evaluation.metric_id}/versions")]


@case("POST", "/v1/metrics/{metric_id}/versions", "update")
def _create_metric_version(c: httpx.Client, a: Seeded) -> list[httpx.Response]:
    body = {"message": "b", "content": _METRIC, "deploy_immediately": True}
    return [c.post(f"/v1/metrics/{a.evaluation.metric_id}/versions", json=body)]


@case("POST", "/v1/metrics/{metric_id}/versions/{version_name}/deploy", "update")
def _deploy_metric_version(c: httpx.Client, a: Seeded) -> list[httpx.Response]:
    return [c.post(f"/v1/metrics/{a.evaluation.metric_id}/versions/1/deploy")]


@case("POST", "/v1/metrics/run", "unserved")
def _run_metric(c: httpx.Client, a: Seeded) -> list[httpx.Response]:
    return [c.post("/v1/metrics/run", json={"metric": _METRIC, "event": {}})]


@case("POST", "/v1/metrics/run_metric", "unserved")
def _run_metric_legacy(c: httpx.Client, a: Seeded) -> list[httpx.Response]:
    return [c.post("/v1/metrics/run_metric", json={"metric": _METRIC, "event": {}})]


def _project_charts(a: Seeded) -> str:
    """A's charts under A's project id."""
    return f"/v1/projects/{a.evaluation.project_id}/charts"


@case("GET", "/v1/charts", "read")
def _list_charts(c: httpx.Client, a: Seeded) -> list[httpx.Response]:
    return [c.get("/v1/charts")]


@case("POST", "/v1/charts", "own")
def _create_chart(c: httpx.Client, a: Seeded) -> list[httpx.Response]:
    return [c.post("/v1/charts", json=_CHART)]


@case("GET", "/v1/charts/{chart_id}", "read")
def _get_chart(c: httpx.Client, a: Seeded) -> list[httpx.Response]:
    return [c.get(f"/v1/charts/{a.evaluation.chart_id}")]


@case("PUT", "/v1/charts/{chart_id}", "update")
def _update_chart(c: httpx.Client, a: Seeded) -> list[httpx.Response]:
    return [c.put(f"/v1/charts/{a.evaluation.chart_id}", json={"name": "b"})]


@case("DELETE", "/v1/charts/{chart_id}", "delete")
def _delete_chart(c: httpx.Client, a: Seeded) -> list[httpx.Response]:
    return [c.delete(f"/v1/charts/{a.evaluation.chart_id}")]


@case("GET", "/v1/projects/{project_id}/charts", "read")
def _list_project_charts(c: httpx.Client, a: Seeded) -> list[httpx.Response]:
    return [c.get(_project_charts(a))]


@case("POST", "/v1/projects/{project_id}/charts", "update")
def _create_project_chart(c: httpx.Client, a: Seeded) -> list[httpx.Response]:
    return [c.post(_project_charts(a), json=_CHART)]


@case("GET", "/v1/projects/{project_id}/charts/{chart_id}", "read")
def _get_project_chart(c: httpx.Client, a: Seeded) -> list[httpx.Response]:
    return [c.get(f"{_project_charts(a)}/{a.evaluation.chart_id}")]


@case("PATCH", "/v1/projects/{project_id}/charts/{chart_id}", "update")
def _update_project_chart(c: httpx.Client, a: Seeded) -> list[httpx.Response]:
    return [c.patch(f"{_project_charts(a)}/{a.evaluation.chart_id}", json={"name": "b"})]


@case("DELETE", "/v1/projects/{project_id}/charts/{chart_id}", "delete")
def _delete_project_chart(c: httpx.Client, a: Seeded) -> list[httpx.Response]:
    return [c.delete(f"{_project_charts(a)}/{a.evaluation.chart_id}")]


@case("GET", "/v1/projects", "own")
def _list_projects(c: httpx.Client, a: Seeded) -> list[httpx.Response]:
    return [c.get("/v1/projects"), c.get("/v1/projects", params={"name": "default"})]


@case("POST", "/v1/projects/{project_id}/ingestion_api_keys", "update")
def _create_ingestion_key(c: httpx.Client, a: Seeded) -> list[httpx.Response]:
    return [c.post(f"/v1/projects/{a.evaluation.project_id}/ingestion_api_keys", json={})]


@case("POST", "/v1/projects/{project_id}/fine_grained_api_keys", "update")
def _create_dataplane_key(c: httpx.Client, a: Seeded) -> list[httpx.Response]:
    return [c.post(f"/v1/projects/{a.evaluation.project_id}/fine_grained_api_keys", json={})]


def _queues(c: httpx.Client, method: str, path: str) -> list[httpx.Response]:
    return [c.request(method, path, json={"name": "b"})]


@case("GET", "/v1/queues", "unserved")
def _list_queues(c: httpx.Client, a: Seeded) -> list[httpx.Response]:
    return _queues(c, "GET", "/v1/queues")


@case("POST", "/v1/queues", "unserved")
def _create_queue(c: httpx.Client, a: Seeded) -> list[httpx.Response]:
    return _queues(c, "POST", "/v1/queues")


@case("GET", "/v1/queues/{queue_id}", "unserved")
def _get_queue(c: httpx.Client, a: Seeded) -> list[httpx.Response]:
    return _queues(c, "GET", "/v1/queues/q")


@case("PUT", "/v1/queues/{queue_id}", "unserved")
def _update_queue(c: httpx.Client, a: Seeded) -> list[httpx.Response]:
    return _queues(c, "PUT", "/v1/queues/q")


@case("DELETE", "/v1/queues/{queue_id}", "unserved")
def _delete_queue(c: httpx.Client, a: Seeded) -> list[httpx.Response]:
    return _queues(c, "DELETE", "/v1/queues/q")


# --- experiment runs (api/runs.py) ---
_RUN_READS = (
    "/v1/runs/{run_id}",
    "/v1/runs/{run_id}/result",
    "/v1/runs/{run_id}/summary",
    "/v1/runs/{run_id}/metrics",
    "/v1/runs/{run_id}/schema",
)
_RUN_PAIRS = (
    "/v1/runs/{new_run_id}/compare-with/{old_run_id}",
    "/v1/runs/{new_run_id}/compare/{old_run_id}",
    "/v1/runs/{new_run_id}/compare/{old_run_id}/events",
)


def _run_read(path: str) -> Call:
    return lambda c, a: [c.get(path.format(run_id=a.run_id))]


def _run_pair(path: str) -> Call:
    return lambda c, a: [c.get(path.format(new_run_id=a.run_id, old_run_id=a.run_id))]


for _path in _RUN_READS:
    case("GET", _path, "read")(_run_read(_path))
for _path in _RUN_PAIRS:
    case("GET", _path, "read")(_run_pair(_path))


@case("GET", "/v1/runs", "read")
def _list_runs(c: httpx.Client, a: Seeded) -> list[httpx.Response]:
    return [c.get("/v1/runs"), c.get("/v1/runs", params={"run_ids[]": a.run_id})]


@case("GET", "/v1/runs/compare/events", "read")
def _compare_events(c: httpx.Client, a: Seeded) -> list[httpx.Response]:
    return [c.get("/v1/runs/compare/events", params={"run_id_1": a.run_id, "run_id_2": a.run_id})]


@case("GET", "/v1/runs/schema", "read")
def _runs_schema(c: httpx.Client, a: Seeded) -> list[httpx.Response]:
    return [c.get("/v1/runs/schema")]


@case("GET", "/v1/events/schema", "read")
def _events_schema(c: httpx.Client, a: Seeded) -> list[httpx.Response]:
    return [c.get("/v1/events/schema"), c.get(f"/v1/events/schema?evaluation_id={a.run_id}")]


@case("DELETE", "/v1/runs/{run_id}", "delete")
def _delete_run(c: httpx.Client, a: Seeded) -> list[httpx.Response]:
    return [c.delete(f"/v1/runs/{a.run_id}", params={"delete_sessions": "true"})]


@case("POST", "/v1/runs", "own")
def _create_run(c: httpx.Client, a: Seeded) -> list[httpx.Response]:
    body = {"name": "b", "event_ids": [a.session_id], "datapoint_ids": [a.run_id]}
    return [c.post("/v1/runs", json=body)]


@case("PUT", "/v1/runs/{run_id}", "update")
def _update_run(c: httpx.Client, a: Seeded) -> list[httpx.Response]:
    body = {"status": "completed", "event_ids": [a.otlp_session_id], "metadata": {"tag": "b"}}
    return [c.put(f"/v1/runs/{a.run_id}", json=body)]


# --- a project's own prices ---
@case("GET", "/v1/prices", "read")
def _list_prices(c: httpx.Client, a: Seeded) -> list[httpx.Response]:
    return [c.get("/v1/prices")]


@case("POST", "/v1/prices", "own")
def _add_price(c: httpx.Client, a: Seeded) -> list[httpx.Response]:
    return [c.post("/v1/prices", json={"provider": "openai", "model": "b", "rates": {"input": 2}})]


@case("DELETE", "/v1/prices/{price_id}", "delete")
def _remove_price(c: httpx.Client, a: Seeded) -> list[httpx.Response]:
    return [c.delete(f"/v1/prices/{a.price_id}")]


# --- seeding and snapshots ---
def _otlp_body(trace_id: str, span_ids: tuple[str, ...], session_id: str, *, tag: str) -> bytes:
    spans = []
    for i, span_id in enumerate(span_ids):
        attributes = {
            "honeyhive.session_id": session_id,
            "honeyhive_event_type": "chain" if i == 0 else "tool",
            "honeyhive_metadata.tag": tag,
            "honeyhive_inputs.query": f"{tag} question {i}",
        }
        spans.append(
            {
                "traceId": trace_id,
                "spanId": span_id,
                "parentSpanId": span_ids[0] if i else None,
                "name": f"step-{i}",
                "startTimeUnixNano": str(int((START_MS + 10 + i) * 1_000_000)),
                "endTimeUnixNano": str(int((START_MS + 20 + i) * 1_000_000)),
                "attributes": [
                    {"key": k, "value": {"stringValue": v}} for k, v in attributes.items()
                ],
            }
        )
    scope_spans = [{"scope": {"name": "honeyhive.0"}, "spans": spans}]
    return orjson.dumps({"resourceSpans": [{"resource": {}, "scopeSpans": scope_spans}]})


def seed_project_a(api: httpx.Client) -> Seeded:
    """Sessions, events, a model event and OTLP spans in A, each carrying MARKER."""
    private = {"metadata": {"tag": MARKER}, "inputs": {"secret": MARKER}}
    session_id = _ok(api.post("/v1/sessions", json={"session_name": MARKER, **private}))[
        "session_id"
    ]
    event = {"event_type": "tool", "session_id": session_id, "start_time": START_MS + 1}
    event_id = _ok(api.post("/events", json={"event": {**event, **private}}))["event_id"]
    batch = {"events": [{**event, **private, "start_time": START_MS + 2}]}
    batch_event_id = _ok(api.post("/events/batch", json=batch))["event_ids"][0]
    model = {
        "session_id": session_id,
        "model": MARKER,
        "messages": [{"role": "user", "content": MARKER}],
        "response": {"role": "assistant", "content": MARKER},
        "start_time": START_MS + 3,
    }
    model_event_id = _ok(api.post("/events/model", json={"model_event": model}))["event_id"]
    _ok(api.put("/events", json={"event_id": event_id, "feedback": {"rating": MARKER}}))
    trace_id, span_ids, otlp_session_id = uuid.uuid4().hex, ("0a" * 8, "0b" * 8), str(uuid.uuid4())
    _ok(
        api.post(
            "/opentelemetry/v1/traces",
            content=_otlp_body(trace_id, span_ids, otlp_session_id, tag=MARKER),
            headers={"Content-Type": "application/json"},
        )
    )
    run = {"name": MARKER, "metadata": private["metadata"], "datapoint_ids": [MARKER]}
    run_id = _ok(api.post("/v1/runs", json={**run, "event_ids": [session_id, otlp_session_id]}))[
        "run_id"
    ]
    return Seeded(
        session_id=session_id,
        event_id=event_id,
        batch_event_id=batch_event_id,
        model_event_id=model_event_id,
        otlp_session_id=otlp_session_id,
        trace_id=trace_id,
        span_ids=span_ids,
        evaluation=seed_evaluation_of_a(api, project_id=_ok(api.get("/v1/projects"))[0]["id"]),
        run_id=run_id,
        price_id=_ok(api.post("/v1/prices", json=_PRICE_OF_A))["price"]["id"],
    )


_PRICE_OF_A = {"provider": "openai", "model": MARKER, "rates": {"input": 1.0}}


def seed_evaluation_of_a(api: httpx.Client, project_id: str) -> SeededEvaluation:
    """A dataset holding a datapoint, a prompt, a metric and a saved chart in A, each
    carrying MARKER."""
    dataset_id = _ok(api.post("/v1/datasets", json={"name": MARKER, "description": MARKER}))[
        "result"
    ]["insertedId"]
    rows = {
        "data": [{"q": MARKER, "a": MARKER}],
        "mapping": {"inputs": ["q"], "ground_truth": ["a"]},
    }
    (datapoint_id,) = _ok(api.post(f"/v1/datasets/{dataset_id}/datapoints", json=rows))[
        "datapoint_ids"
    ]
    prompt = {
        "name": MARKER,
        "provider": MARKER,
        "parameters": {"call_type": "chat", "model": MARKER},
    }
    configuration_id = _ok(api.post("/v1/configurations", json={**prompt, "env": ["prod"]}))[
        "insertedId"
    ]
    metric = {"name": MARKER, "type": "PYTHON", "criteria": MARKER, "threshold": {"min": 1}}
    metric_id = _ok(api.post("/v1/metrics", json=metric))["metric_id"]
    chart = {"name": MARKER, "metric": "duration", "description": MARKER}
    chart_id = _ok(api.post("/v1/charts", json=chart))["data"]["id"]
    return SeededEvaluation(
        project_id=project_id,
        dataset_id=dataset_id,
        datapoint_id=datapoint_id,
        configuration_id=configuration_id,
        metric_id=metric_id,
        chart_id=chart_id,
    )


def _ok(answer: httpx.Response) -> Any:
    assert answer.status_code == 200, (answer.request.url, answer.text)
    return answer.json()


def snapshot(api: httpx.Client, a: Seeded) -> dict[str, bytes]:
    """What A's key reads: every event and session tree, export, list and chart, and
    every evaluation record, as bytes."""
    reads = {f"event {i}": api.get(f"/v1/events/{i}") for i in a.event_ids}
    for sid in (a.session_id, a.otlp_session_id):
        reads[f"session {sid}"] = api.get(f"/v1/sessions/{sid}")
    reads["export"] = api.post("/v1/events/export", json={"limit": 7500})
    reads["list"] = api.get("/events", params={"limit": "7500"})
    reads["chart"] = api.get("/v1/events/chart", params={"aggregation": "count"})
    e = a.evaluation
    reads["datasets"] = api.get("/v1/datasets", params={"include_datapoints": "true"})
    reads["datapoints"] = api.get("/v1/datapoints")
    reads["configurations"] = api.get("/v1/configurations")
    reads["metrics"] = api.get("/v1/metrics")
    reads["metric versions"] = api.get(f"/v1/metrics/{e.metric_id}/versions")
    reads["charts"] = api.get(f"/v1/projects/{e.project_id}/charts")
    reads["run"] = api.get(f"/v1/runs/{a.run_id}")
    reads["run result"] = api.get(f"/v1/runs/{a.run_id}/result")
    reads["runs"] = api.get("/v1/runs")
    reads["prices"] = api.get("/v1/prices")
    for name, answer in reads.items():
        assert answer.status_code == 200, (name, answer.text)
    assert MARKER in reads["export"].text and MARKER in reads["datasets"].text
    return {name: answer.content for name, answer in reads.items()}


# --- the tests ---
def app_routes() -> set[tuple[str, str]]:
    """(method, path) of every route the app serves; a mount counts as (`MOUNT`, path)."""
    app = create_app(Settings(data_dir=Path("/nonexistent/hivekeeper-route-listing")))
    found: set[tuple[str, str]] = set()
    for route in app.routes:
        found |= _route_keys(route)
    return found


def ui_routes() -> set[tuple[str, str]]:
    """(method, path) of every web UI route."""
    return {key for route in ui.router.routes for key in _route_keys(route)}


def _route_keys(route: BaseRoute, prefix: str = "") -> set[tuple[str, str]]:
    if isinstance(route, Route):
        return {(m, prefix + route.path) for m in (route.methods or {"GET"}) if m != "HEAD"}
    if isinstance(route, Mount):
        return {("MOUNT", prefix + route.path)}
    # FastAPI >= 0.16x keeps an included router as one entry that resolves lazily.
    included = getattr(route, "original_router", None)
    if included is not None:
        prefix += route.include_context.prefix  # type: ignore[attr-defined]  # FastAPI's _IncludedRouter
        return {key for child in included.routes for key in _route_keys(child, prefix)}
    return {("UNKNOWN", repr(route))}


def test_every_route_is_covered_or_public() -> None:
    # Web UI pages authenticate by cookie, not Bearer key: tests/ui/test_isolation.py
    # covers each of them (and fails on a UI route it does not cover).
    routes = app_routes() - ui_routes()
    uncovered = {r for r in routes if r not in CASES and r[1] not in PUBLIC}
    assert not uncovered, (
        "routes with no isolation case in tests/contract/test_isolation.py; add one "
        f"(or list the path in PUBLIC if it needs no key): {sorted(uncovered)}"
    )
    stale = set(CASES) - routes
    assert not stale, f"cases for routes the app no longer has: {sorted(stale)}"


@pytest.fixture
def server(tmp_path: Path, store_kind: str) -> Iterator[LiveServer]:
    """The shared fixture's server with the failed-auth throttle off: these tests present
    refused keys on every route, far past the default budget of one client."""
    with run_app(tmp_path, store_kind, auth_failures_per_minute=0) as live:
        yield live


@dataclass
class Projects:
    a: httpx.Client
    b: httpx.Client
    b_project_id: str
    seeded: Seeded


@pytest.fixture
def projects(server: LiveServer, api: httpx.Client) -> Iterator[Projects]:
    """A (the server's default project, seeded) and B's full key."""
    b_project = server.store.create_project("b")
    seeded = seed_project_a(api)
    with server.client(server.new_key("b")) as b:
        yield Projects(a=api, b=b, b_project_id=b_project.id, seeded=seeded)


def _sealed_from_a(answer: httpx.Response, a_project_id: str, b_project_id: str) -> None:
    """Nothing of A in an answer to B: no marker, no A project id, only B's rows."""
    where = f"{answer.request.method} {answer.request.url}"
    assert MARKER not in answer.text, where
    assert a_project_id not in answer.text, where
    if answer.headers.get("content-type", "").startswith("application/json"):
        for project_id in _values_of(answer.json(), "project_id"):
            assert project_id == b_project_id, where


def _values_of(node: Any, key: str) -> Iterator[Any]:
    if isinstance(node, dict):
        for k, v in node.items():
            if k == key:
                yield v
            yield from _values_of(v, key)
    elif isinstance(node, list):
        for item in node:
            yield from _values_of(item, key)


def _is_empty(answer: httpx.Response) -> bool:
    """An answer that found nothing: 404, or a listing or chart whose every list is
    empty (events, datasets, datapoints, configurations, metrics, charts)."""
    if answer.status_code == 404:
        return answer.json()["errorCode"] == "NOT_FOUND"
    body = answer.json()
    if answer.status_code != 200 or not isinstance(body, dict):
        return False
    listings = [value for value in body.values() if isinstance(value, list)]
    totals = (body.get("totalEvents", 0), body.get("totalSessions", 0))
    return bool(listings) and not any(listings) and totals == (0, 0)


def test_a_foreign_key_sees_and_touches_nothing_of_another_project(
    projects: Projects,
) -> None:
    a, b, seeded = projects.a, projects.b, projects.seeded
    a_project_id = a.get(f"/v1/sessions/{seeded.session_id}").json()["project_id"]
    before = snapshot(a, seeded)

    # B before it wrote anything: A's ids are absent everywhere.
    for (method, path), check in sorted(CASES.items()):
        if check.kind not in ("read", "update", "delete"):
            continue
        for answer in check.call(b, seeded):
            assert _is_empty(answer), (method, path, answer.status_code, answer.text)
            _sealed_from_a(answer, a_project_id, projects.b_project_id)
    assert snapshot(a, seeded) == before

    # B writes, updates and sends spans under A's ids, and makes records of its own:
    # all of it lands in B. What is not served is a 501 for B as for anyone.
    for (method, path), check in sorted(CASES.items()):
        if check.kind not in ("write", "own", "unserved"):
            continue
        for answer in check.call(b, seeded):
            expected = 501 if check.kind == "unserved" else 200
            assert answer.status_code == expected, (method, path, answer.text)
            _sealed_from_a(answer, a_project_id, projects.b_project_id)
    assert snapshot(a, seeded) == before

    # B now has rows under A's ids: it reads and deletes those, and only those.
    for kind in ("read", "update", "delete"):
        for (method, path), check in sorted(CASES.items()):
            if check.kind != kind:
                continue
            for answer in check.call(b, seeded):
                assert answer.status_code in (200, 404), (method, path, answer.text)
                _sealed_from_a(answer, a_project_id, projects.b_project_id)
    b_events = b.post("/v1/events/export", json={"limit": 7500}).json()
    assert b_events["totalEvents"] == 0  # B deleted its own copies
    assert snapshot(a, seeded) == before


def test_ingest_keys_get_403_on_every_read_and_delete_route(
    server: LiveServer, projects: Projects
) -> None:
    # A's own ingest key: it may write into A, but not read A back or delete from it.
    before = snapshot(projects.a, projects.seeded)
    with server.client(server.new_key(kind="ingest")) as ingest:
        for (method, path), check in sorted(CASES.items()):
            if check.kind == "write":
                continue
            for answer in check.call(ingest, projects.seeded):
                assert answer.status_code == 403, (method, path, answer.text)
                assert answer.json()["errorCode"] == "FORBIDDEN"
                assert MARKER not in answer.text
        assert snapshot(projects.a, projects.seeded) == before
        for (method, path), check in sorted(CASES.items()):
            if check.kind == "write":
                for answer in check.call(ingest, projects.seeded):
                    assert answer.status_code == 200, (method, path, answer.text)


def test_data_plane_keys_reach_only_their_own_projects_routes(
    server: LiveServer, projects: Projects
) -> None:
    # B's data-plane key: 403 on every route but /v1/projects/{project_id}/…, and
    # there A's project id is absent (404) like any foreign id.
    before = snapshot(projects.a, projects.seeded)
    with server.client(server.new_key("b", kind="dataplane")) as dataplane:
        for (method, path), check in sorted(CASES.items()):
            for answer in check.call(dataplane, projects.seeded):
                if path.startswith(PROJECT_ROUTES):
                    assert answer.status_code == 404, (method, path, answer.text)
                    assert answer.json()["field"] == "project_id"
                else:
                    assert answer.status_code == 403, (method, path, answer.text)
                    assert "/v1/projects/{project_id}/" in answer.text
                assert MARKER not in answer.text
    assert snapshot(projects.a, projects.seeded) == before


def _revoke_with_cli(server: LiveServer, key_id: str) -> None:
    done = run_cli(
        "keys", "revoke", key_id, "--database-url", server.settings.database_url, timeout_s=60
    )
    if server.settings.database_url.startswith("chdb:"):
        # A chdb directory belongs to one process: the CLI must refuse while the
        # server runs, saying why; the server's own store then revokes the key.
        assert done.returncode == 1, done.stderr
        assert "open in another process" in done.stderr
        _revoke_in_process(server, key_id)
        return
    assert done.returncode == 0, done.stderr


def _revoke_in_process(server: LiveServer, key_id: str) -> None:
    server.store.revoke_key(key_id)


@pytest.mark.parametrize("revoke", [_revoke_with_cli, _revoke_in_process], ids=["cli", "store"])
def test_a_revoked_key_is_refused_on_the_very_next_request(
    server: LiveServer, projects: Projects, revoke: Callable[[LiveServer, str], None]
) -> None:
    for kind in ("full", "ingest", "dataplane"):
        secret = server.new_key("b", kind=kind)
        with server.client(secret) as client:
            # Warm every path the key takes (connection, reader threads), then revoke.
            warm = (
                client.get(f"/v1/projects/{projects.b_project_id}/charts")
                if kind == "dataplane"
                else client.post("/v1/sessions", json={})
            )
            assert warm.status_code == 200, warm.text
            key_id = key_id_of(secret)
            assert key_id is not None
            revoke(server, key_id)
            for (method, path), check in sorted(CASES.items()):
                for answer in check.call(client, projects.seeded):
                    assert answer.status_code == 401, (kind, method, path, answer.text)
                    assert answer.json()["errorCode"] == "UNAUTHORIZED"
