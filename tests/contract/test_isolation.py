"""Projects are sealed on every route, and keys stop working the moment they are revoked.

The routes come from the app object itself: a route added later fails
`test_every_route_is_covered_or_public` until it has a case here (or is listed as
public), so isolation is checked for it too.

Project A holds sessions, events, OTLP spans and an experiment run, all carrying a
marker. Project B's full key then reads, deletes, updates and writes naming A's ids on
every route: reads and deletes answer as if A's data did not exist, writes act inside B
only, no answer to B mentions A, and A's data reads back byte for byte as it did before.
An ingest key of A is refused everything but telemetry writes.
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
from hivekeeper.ingest.span_mapping import span_event_id
from tests.support.process import run_cli
from tests.support.server import LiveServer, run_server

MARKER = "project-a-private-marker"
START_MS = 1_790_000_000_000.0
# Routes that need no key; any method. /metrics may or may not exist yet.
PUBLIC = {"/health", "/metrics", "/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"}

Kind = Literal["read", "update", "delete", "write", "own"]
"""What B's full key gets on a route naming A's ids: `read`, `update`, `delete` find
nothing (404, or an empty listing); `write` (telemetry) and `own` (a record of B's
own, with B's own ids) succeed inside B. An ingest key gets 403 on all but `write`."""
Call = Callable[[httpx.Client, "Seeded"], list[httpx.Response]]


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
    run_id: str

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
        run_id=run_id,
    )


def _ok(answer: httpx.Response) -> Any:
    assert answer.status_code == 200, (answer.request.url, answer.text)
    return answer.json()


def snapshot(api: httpx.Client, a: Seeded) -> dict[str, bytes]:
    """What A's key reads: every event and session tree, export, list and chart, as bytes."""
    reads = {f"event {i}": api.get(f"/v1/events/{i}") for i in a.event_ids}
    for sid in (a.session_id, a.otlp_session_id):
        reads[f"session {sid}"] = api.get(f"/v1/sessions/{sid}")
    reads["export"] = api.post("/v1/events/export", json={"limit": 7500})
    reads["list"] = api.get("/events", params={"limit": "7500"})
    reads["chart"] = api.get("/v1/events/chart", params={"aggregation": "count"})
    reads["run"] = api.get(f"/v1/runs/{a.run_id}")
    reads["run result"] = api.get(f"/v1/runs/{a.run_id}/result")
    reads["runs"] = api.get("/v1/runs")
    for name, answer in reads.items():
        assert answer.status_code == 200, (name, answer.text)
    assert MARKER in reads["export"].text
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
    with run_server(tmp_path, store_kind, auth_failures_per_minute=0) as live:
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
    """An answer that found nothing: 404, or a listing/chart without events, a run list
    without runs, a schema without fields."""
    if answer.status_code == 404:
        return answer.json()["errorCode"] == "NOT_FOUND"
    body = answer.json()
    nothing = (
        body.get("totalEvents") == 0
        or body.get("pagination", {}).get("total") == 0
        or body.get("fields") == []
    )
    return answer.status_code == 200 and nothing


def test_a_foreign_key_sees_and_touches_nothing_of_another_project(
    projects: Projects,
) -> None:
    a, b, seeded = projects.a, projects.b, projects.seeded
    a_project_id = a.get(f"/v1/sessions/{seeded.session_id}").json()["project_id"]
    before = snapshot(a, seeded)

    # B before it wrote anything: A's ids are absent everywhere.
    for (method, path), check in sorted(CASES.items()):
        if check.kind in ("write", "own"):
            continue
        for answer in check.call(b, seeded):
            assert _is_empty(answer), (method, path, answer.status_code, answer.text)
            _sealed_from_a(answer, a_project_id, projects.b_project_id)
    assert snapshot(a, seeded) == before

    # B writes, updates and sends spans under A's ids: all of it lands in B.
    for (method, path), check in sorted(CASES.items()):
        if check.kind not in ("write", "own"):
            continue
        for answer in check.call(b, seeded):
            assert answer.status_code == 200, (method, path, answer.text)
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


def test_ingest_keys_get_403_on_every_route_but_telemetry_writes(
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
    for kind in ("full", "ingest"):
        secret = server.new_key("b", kind=kind)
        with server.client(secret) as client:
            # Warm every path the key takes (connection, reader threads), then revoke.
            assert client.post("/v1/sessions", json={}).status_code == 200
            revoke(server, secret.removeprefix("hh_ingst_").removeprefix("hh_").split("_")[0])
            for (method, path), check in sorted(CASES.items()):
                for answer in check.call(client, projects.seeded):
                    assert answer.status_code == 401, (kind, method, path, answer.text)
                    assert answer.json()["errorCode"] == "UNAUTHORIZED"
