"""Replays the REST requests the real honeyhive 1.7.0 SDK put on the wire.

Each capture in `tests/data/honeyhive-sdk-1.7.0/` holds the requests one scenario
script sent, byte for byte apart from the redacted Authorization header; its
responses came from a stand-in server, so only the requests are replayed. The ids in
a capture were minted by the SDK and agree across its requests (the `PUT` targets the
event the `POST` created), so replaying one file in order against a fresh server
reproduces the SDK's session. Each answer is checked against what the SDK's pydantic
models require (spec §5), then the stored state is read back through the REST API.

The dataset, datapoint, prompt, metric and chart requests name objects only the
stand-in held (`ds-1`, `dp-1`, `cfg-1`, `m-1`). Each of them is replayed against a
project that holds such objects, made just before it through the API, with the
stand-in's ids replaced by theirs wherever the request names them (path, query or
body): every request then meets the state the SDK met when it was captured.

Only the routes in `ROUTES` are replayed. The others the captures contain are listed in
`OUT_OF_SCOPE`, so a capture holding a route in neither list fails the completeness
test instead of being silently ignored.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Literal

import httpx
import pytest
from honeyhive._generated.models import (
    AddDatapointsResponse,
    CreateConfigurationResponse,
    CreateDatapointResponse,
    CreateDatasetResponse,
    CreateMetricResponse,
    DeleteConfigurationResponse,
    DeleteDatapointResponse,
    DeleteDatasetResponse,
    DeleteExperimentRunResponse,
    DeleteMetricResponse,
    ExportEventsResponse,
    GetChartsResponse,
    GetConfigurationsResponse,
    GetDatapointResponse,
    GetDatapointsResponse,
    GetDatasetsResponse,
    GetEventResponse,
    GetEventsSchemaResponse,
    GetExperimentRunCompareResponse,
    GetExperimentRunResponse,
    GetExperimentRunResultResponse,
    GetExperimentRunsResponse,
    GetMetricsResponse,
    PostEventBatchResponse,
    PostEventResponse,
    PostExperimentRunResponse,
    PostSessionStartResponse,
    PutExperimentRunResponse,
    RemoveDatapointResponse,
    SessionTracesResponse,
    UpdateConfigurationResponse,
    UpdateDatapointResponse,
    UpdateDatasetResponse,
    UpdateMetricResponse,
)
from honeyhive.experiments.models import AggregatedMetrics, DatapointResult
from honeyhive.models import EventExportResponse
from pydantic import BaseModel

from hivekeeper.domain.events import OBJECT_FIELDS
from tests.support.reads import stored_event
from tests.support.server import LiveServer

DATA_DIR = Path(__file__).resolve().parent.parent / "data" / "honeyhive-sdk-1.7.0"
CAPTURES = ("s11_api_client", "s12_api_client_ingestion_key", "s15_generated_v1")
API_CLIENT_CAPTURES = ("s11_api_client", "s12_api_client_ingestion_key")
TENANT_FIELDS = ("event_id", "session_id", "org_id", "workspace_id", "project_id")

Check = Literal[
    "session",
    "event",
    "batch",
    "session_batch",
    "update",
    "get_event",
    "export",
    "run_created",
    "run",
    "run_updated",
    "run_list",
    "run_result",
    "run_compare",
    "run_deleted",
    "schema",
    "evaluation",
]
_ID = "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
# Headers that describe one connection rather than the SDK's request; httpx sets them.
_CONNECTION_HEADERS = frozenset({"host", "content-length", "connection", "authorization"})


EVALUATION_MODELS: dict[tuple[str, str], type[BaseModel]] = {
    ("GET", "/v1/datasets"): GetDatasetsResponse,
    ("POST", "/v1/datasets"): CreateDatasetResponse,
    ("PUT", "/v1/datasets"): UpdateDatasetResponse,
    ("DELETE", "/v1/datasets"): DeleteDatasetResponse,
    ("POST", "/v1/datasets/{ref}/datapoints"): AddDatapointsResponse,
    ("DELETE", "/v1/datasets/{ref}/{ref}"): RemoveDatapointResponse,
    ("GET", "/v1/datapoints"): GetDatapointsResponse,
    ("POST", "/v1/datapoints"): CreateDatapointResponse,
    ("GET", "/v1/datapoints/{ref}"): GetDatapointResponse,
    ("PUT", "/v1/datapoints/{ref}"): UpdateDatapointResponse,
    ("DELETE", "/v1/datapoints/{ref}"): DeleteDatapointResponse,
    ("GET", "/v1/configurations"): GetConfigurationsResponse,
    ("POST", "/v1/configurations"): CreateConfigurationResponse,
    ("PUT", "/v1/configurations/{ref}"): UpdateConfigurationResponse,
    ("DELETE", "/v1/configurations/{ref}"): DeleteConfigurationResponse,
    ("GET", "/v1/metrics"): GetMetricsResponse,
    ("POST", "/v1/metrics"): CreateMetricResponse,
    ("PUT", "/v1/metrics"): UpdateMetricResponse,
    ("DELETE", "/v1/metrics"): DeleteMetricResponse,
    ("GET", "/v1/charts"): GetChartsResponse,
}
"""The SDK's model for the answer to each evaluation request the captures hold."""


@dataclass(frozen=True, slots=True)
class Route:
    method: str
    template: str
    check: Check

    def matches(self, method: str, path: str) -> bool:
        pattern = re.escape(self.template).replace(re.escape("{id}"), _ID)
        pattern = pattern.replace(re.escape("{ref}"), "[^/]+")
        return method == self.method and re.fullmatch(pattern, path) is not None


ROUTES = (
    Route("POST", "/session/start", "session"),
    Route("POST", "/v1/sessions", "session"),
    Route("POST", "/events", "event"),
    Route("POST", "/v1/events", "event"),
    Route("POST", "/events/batch", "batch"),
    Route("POST", "/v1/events/batch", "batch"),
    Route("PUT", "/events", "update"),
    Route("PUT", "/v1/events/{id}", "update"),
    Route("GET", "/v1/events/{id}", "get_event"),
    Route("POST", "/v1/sessions/{id}/events/batch", "session_batch"),
    Route("POST", "/session/{id}/traces", "session_batch"),
    Route("POST", "/v1/events/export", "export"),
    Route("POST", "/v1/events/search", "export"),
    Route("POST", "/v1/runs", "run_created"),
    Route("GET", "/v1/runs", "run_list"),
    Route("GET", "/v1/runs/{id}", "run"),
    Route("PUT", "/v1/runs/{id}", "run_updated"),
    Route("GET", "/v1/runs/{id}/result", "run_result"),
    Route("GET", "/v1/runs/{id}/compare-with/old-run", "run_compare"),
    Route("DELETE", "/v1/runs/{id}", "run_deleted"),
    Route("GET", "/v1/events/schema", "schema"),
    *(Route(method, template, "evaluation") for method, template in EVALUATION_MODELS),
)
OLD_RUN = "old-run"
"""The run the captures compare theirs with: one their recording server held."""
OUT_OF_SCOPE = tuple(
    re.compile(p)
    for p in (
        # OTLP exports are replayed, bytes as sent, by test_otlp_replay.py.
        r"/opentelemetry/v1/traces",
        r"/v1/traces",
    )
)


@dataclass(frozen=True, slots=True)
class Replayed:
    route: Route
    request: dict[str, Any]
    body: Any


@cache
def _capture(name: str) -> dict[str, Any]:
    capture: dict[str, Any] = json.loads((DATA_DIR / f"{name}.json").read_text())
    return capture


def _route(request: dict[str, Any]) -> Route | None:
    return next((r for r in ROUTES if r.matches(request["method"], request["path"])), None)


def _requests(name: str) -> Iterator[dict[str, Any]]:
    for exchange in _capture(name)["exchanges"]:
        request: dict[str, Any] = exchange["request"]
        yield request


def _key_kind(request: dict[str, Any]) -> str:
    """The kind of key the capture redacted: `other` (an API key) or `hh_ingst_*`."""
    kind = re.search(r"kind=([^;>]+)", request["headers"]["Authorization"])
    assert kind is not None, request["headers"]["Authorization"]
    return kind.group(1)


def _headers(request: dict[str, Any], keys: dict[str, str]) -> dict[str, str]:
    """The SDK's own headers, with our key for the kind of key it had redacted."""
    headers = {k: v for k, v in request["headers"].items() if k.lower() not in _CONNECTION_HEADERS}
    headers["Authorization"] = f"Bearer {keys[_key_kind(request)]}"
    return headers


def _content(request: dict[str, Any]) -> bytes | None:
    if request["body_kind"] == "none":
        return None
    assert request["body_kind"] == "json", request["body_kind"]
    # httpx's own JSON encoding, so the bytes match what the SDK sent.
    text = json.dumps(request["body"], ensure_ascii=False, separators=(",", ":"))
    return text.encode()


def replay(server: LiveServer, name: str) -> list[Replayed]:
    """Send the capture's in-scope requests in order; check and return each answer."""
    keys = {"other": server.key, "hh_ingst_*": server.new_key(kind="ingest")}
    replayed: list[Replayed] = []
    with httpx.Client(base_url=server.url, timeout=30) as client:
        if any(r["path"].endswith(f"/{OLD_RUN}") for r in _requests(name)):
            full = {"Authorization": f"Bearer {server.key}"}
            created = client.post("/v1/runs", json={"run_id": OLD_RUN}, headers=full)
            assert created.status_code == 200, created.text
        for captured in _requests(name):
            route = _route(captured)
            if route is None:
                continue
            request = captured
            if route.check == "evaluation":
                request = _with_ids(captured, _stand_in_objects(client, server.key))
            response = client.request(
                request["method"],
                request["path"],
                params=request["query"],
                headers=_headers(request, keys),
                content=_content(request),
            )
            where = f"{request['method']} {request['target']}"
            assert response.status_code == 200, f"{where}: {response.text}"
            assert response.headers["content-type"].startswith("application/json"), where
            body = response.json()
            _CHECKS[route.check](request, body)
            replayed.append(Replayed(route, request, body))
    return replayed


def _stand_in_objects(client: httpx.Client, key: str) -> dict[str, str]:
    """Make the objects the stand-in held; answer their ids by the stand-in's ids."""
    full = {"Authorization": f"Bearer {key}"}

    def made(path: str, body: dict[str, Any]) -> Any:
        answer = client.post(path, json=body, headers=full)
        assert answer.status_code == 200, answer.text
        return answer.json()

    dataset = made("/v1/datasets", {"name": "stand-in"})["result"]["insertedId"]
    rows = {"data": [{"q": "a"}, {"q": "b"}], "mapping": {"inputs": ["q"]}}
    dp1, dp2 = made(f"/v1/datasets/{dataset}/datapoints", rows)["datapoint_ids"]
    prompt = {
        "name": "stand-in",
        "provider": "openai",
        "parameters": {"call_type": "chat", "model": "m"},
    }
    configuration = made("/v1/configurations", prompt)["insertedId"]
    metric = {"name": f"stand-in-{uuid.uuid4()}", "type": "PYTHON", "criteria": "c"}
    metric_id = made("/v1/metrics", metric)["metric_id"]
    return {"ds-1": dataset, "dp-1": dp1, "dp-2": dp2, "cfg-1": configuration, "m-1": metric_id}


def _with_ids(request: dict[str, Any], ids: dict[str, str]) -> dict[str, Any]:
    """The request with every stand-in id it names, whole, replaced by ours."""

    def swap(value: Any) -> Any:
        if isinstance(value, str):
            return ids.get(value, value)
        if isinstance(value, list):
            return [swap(v) for v in value]
        if isinstance(value, dict):
            return {k: swap(v) for k, v in value.items()}
        return value

    path = "/".join(swap(segment) for segment in request["path"].split("/"))
    return {**request, "path": path, "query": swap(request["query"]), "body": swap(request["body"])}


def _check_evaluation(request: dict[str, Any], body: Any) -> None:
    route = _route(request)
    assert route is not None
    EVALUATION_MODELS[(route.method, route.template)].model_validate(body)


def _check_session(request: dict[str, Any], body: Any) -> None:
    PostSessionStartResponse.model_validate(body)
    for field in TENANT_FIELDS:
        assert isinstance(body[field], str) and body[field], field
    sent = request["body"].get("session", request["body"])
    if "session_id" in sent:
        assert body["session_id"] == sent["session_id"]
    assert body["event_id"] == body["session_id"]
    if _key_kind(request) == "hh_ingst_*":
        # An ingest key reads nothing back: what it sent, and the ids (README).
        assert body == {**sent, **{field: body[field] for field in TENANT_FIELDS}}
        return
    assert body["event_type"] == "session"
    assert body["event_name"] == sent["session_name"]
    _assert_object_fields(body)


def _check_event(request: dict[str, Any], body: Any) -> None:
    PostEventResponse.model_validate(body)
    assert body["success"] is True
    sent = request["body"].get("event", request["body"])
    assert body["event_id"] == sent.get("event_id", body["event_id"])
    assert isinstance(body["event_id"], str) and body["event_id"]


def _check_batch(request: dict[str, Any], body: Any) -> None:
    PostEventBatchResponse.model_validate(body)
    assert body["success"] is True
    events = request["body"]["events"]
    assert len(body["event_ids"]) == len(events)
    assert all(isinstance(i, str) and i for i in body["event_ids"])
    named = [e["session_id"] for e in events if "session_id" in e]
    if named:
        assert body["session_id"] == named[0]


def _check_session_batch(request: dict[str, Any], body: Any) -> None:
    SessionTracesResponse.model_validate(body)
    assert body["success"] is True


def _check_update(request: dict[str, Any], body: Any) -> None:
    assert body == {"success": True}


def _check_get_event(request: dict[str, Any], body: Any) -> None:
    GetEventResponse.model_validate(body)
    assert body["event"]["event_id"] == request["path"].rsplit("/", 1)[1]
    _assert_object_fields(body["event"])


def _check_export(request: dict[str, Any], body: Any) -> None:
    ExportEventsResponse.model_validate(body)  # the generated search client needs `count`
    EventExportResponse(events=body["events"], total_events=body["totalEvents"])
    assert isinstance(body["totalEvents"], int)
    assert body["count"] == body["totalEvents"]
    sent = request["body"]
    assert len(body["events"]) <= sent.get("limit", 1000)
    assert body["totalEvents"] >= len(body["events"])
    for event in body["events"]:
        if "projections" in sent:
            assert set(event) <= set(sent["projections"]), event
        _assert_object_fields(event)


def _check_run_created(request: dict[str, Any], body: Any) -> None:
    parsed = PostExperimentRunResponse(**body)
    sent = request["body"]
    assert parsed.run_id == parsed.evaluation.run_id == sent["run_id"]
    assert (parsed.evaluation.name, parsed.evaluation.dataset_id) == (
        sent["name"],
        sent["dataset_id"],
    )


def _check_run(request: dict[str, Any], body: Any) -> None:
    parsed = GetExperimentRunResponse(**body)
    assert parsed.evaluation.run_id == request["path"].rsplit("/", 1)[1]


def _check_run_updated(request: dict[str, Any], body: Any) -> None:
    parsed = PutExperimentRunResponse(**body)
    assert parsed.evaluation.status == request["body"]["status"]


def _check_run_list(request: dict[str, Any], body: Any) -> None:
    parsed = GetExperimentRunsResponse(**body)
    limit = dict(request["query"]).get("limit")
    assert limit is None or parsed.pagination.limit == int(limit)


def _check_run_result(request: dict[str, Any], body: Any) -> None:
    # What `evaluate()` then does with it (experiments/results.py).
    dumped = GetExperimentRunResultResponse(**body).model_dump()
    AggregatedMetrics(**dumped["metrics"])
    for datapoint in dumped["datapoints"]:
        DatapointResult(**datapoint)


def _check_run_compare(request: dict[str, Any], body: Any) -> None:
    parsed = GetExperimentRunCompareResponse(**body)
    assert parsed.old_run.run_id == OLD_RUN


def _check_run_deleted(request: dict[str, Any], body: Any) -> None:
    parsed = DeleteExperimentRunResponse(**body)
    assert parsed.deleted and parsed.id == request["path"].rsplit("/", 1)[1]


def _check_schema(request: dict[str, Any], body: Any) -> None:
    GetEventsSchemaResponse(**body)


def _assert_object_fields(event: dict[str, Any]) -> None:
    for field in OBJECT_FIELDS:
        if field in event:
            assert event[field] is None or isinstance(event[field], dict), (field, event)


_CHECKS = {
    "session": _check_session,
    "event": _check_event,
    "batch": _check_batch,
    "session_batch": _check_session_batch,
    "update": _check_update,
    "get_event": _check_get_event,
    "export": _check_export,
    "run_created": _check_run_created,
    "run": _check_run,
    "run_updated": _check_run_updated,
    "run_list": _check_run_list,
    "run_result": _check_run_result,
    "run_compare": _check_run_compare,
    "run_deleted": _check_run_deleted,
    "schema": _check_schema,
    "evaluation": _check_evaluation,
}


def _export(rest: httpx.Client, *filters: tuple[str, str]) -> list[dict[str, Any]]:
    body = {
        "filters": [
            {"field": f, "operator": "is", "value": v, "type": "string"} for f, v in filters
        ]
    }
    answer = rest.post("/v1/events/export", json=body)
    assert answer.status_code == 200, answer.text
    events: list[dict[str, Any]] = answer.json()["events"]
    assert answer.json()["totalEvents"] == len(events)
    return events


def _answers(replayed: list[Replayed], method: str, template: str) -> list[Replayed]:
    return [r for r in replayed if (r.route.method, r.route.template) == (method, template)]


@pytest.mark.parametrize("name", CAPTURES)
def test_every_captured_request_is_replayed_or_out_of_scope(name: str) -> None:
    for request in _requests(name):
        replayable = _route(request) is not None
        skipped = any(p.fullmatch(request["path"]) for p in OUT_OF_SCOPE)
        assert replayable != skipped, f"{request['method']} {request['path']}"


def test_every_route_is_exercised_by_some_capture() -> None:
    used = {_route(r) for name in CAPTURES for r in _requests(name)}
    assert set(ROUTES) <= used


@pytest.mark.parametrize("name", CAPTURES)
def test_replay_answers_what_the_sdk_requires(server: LiveServer, name: str) -> None:
    replayed = replay(server, name)
    expected = sum(_route(r) is not None for r in _requests(name))
    assert len(replayed) == expected > 0


@pytest.mark.parametrize("name", API_CLIENT_CAPTURES)
def test_api_client_capture_is_stored(server: LiveServer, api: httpx.Client, name: str) -> None:
    replayed = replay(server, name)
    wrapped, flat = _answers(replayed, "POST", "/session/start")
    sid = wrapped.body["session_id"]
    (created,) = _answers(replayed, "POST", "/events")
    eid = created.body["event_id"]
    (batch,) = _answers(replayed, "POST", "/events/batch")
    assert batch.body["session_id"] == sid  # the batch's first event names the session

    in_session = {e["event_id"]: e for e in _export(api, ("session_id", sid))}
    assert set(in_session) == {sid, eid, *batch.body["event_ids"]}
    assert sorted(e["event_name"] for e in in_session.values() if e["event_id"] != sid) == [
        "c1",
        "llm_call",
        "t1",
    ]
    session = in_session[sid]
    assert session["inputs"] == {"q": "hi"}
    assert session["metadata"]["num_events"] == 3
    assert session["metadata"]["num_model_events"] == 1
    flat_session = stored_event(api, flat.body["session_id"])
    assert (flat_session["event_name"], flat_session["source"]) == ("flat-session", "capture-test")

    event = stored_event(api, eid)
    assert event["metadata"] == {
        "prompt_tokens": 3,
        "completion_tokens": 1,
        "total_tokens": 4,
        "cost": 0.0001,
        "cost_source": "given",  # the client's cost, marked so (issue 15)
        "late": True,
        "x": 1,
    }
    assert event["feedback"] == {"rating": 5}
    assert event["metrics"] == {"m": 1, "acc": 1.0}
    assert event["outputs"] == {"role": "assistant", "content": "hello!"}
    assert event["config"] == {"model": "gpt-4o", "provider": "openai", "temperature": 0}
    assert event["user_properties"] == {"user_id": "u1", "tier": "pro"}
    assert (event["duration"], event["end_time"]) == (510, 1795700000610)

    filtered, _listed, by_session, everything = _answers(replayed, "POST", "/v1/events/export")
    assert (filtered.body["events"], filtered.body["totalEvents"]) == ([], 0)  # cost 0.0001
    assert {e["event_id"] for e in by_session.body["events"]} == set(in_session)
    assert by_session.body["totalEvents"] == 4
    assert everything.body["totalEvents"] == 5  # plus the flat session

    # The capture's run reported the session: its result reads the session's scores.
    (result,) = _answers(replayed, "GET", "/v1/runs/{id}/result")
    assert [d["session_id"] for d in result.body["datapoints"]] == [sid]
    assert {m["name"]: m["value"] for m in result.body["datapoints"][0]["metrics"]} == {
        "m": 1,
        "acc": 1.0,
    }
    assert (result.body["status"], result.body["success"]) == ("completed", True)
    (schema,) = _answers(replayed, "GET", "/v1/events/schema")
    assert {"name": "metrics.acc", "event_type": "model"} in schema.body["fields"]
    run_id = result.body["run_object"]["run_id"]
    assert api.get(f"/v1/runs/{run_id}").status_code == 404  # the capture deleted it


def test_generated_v1_capture_is_stored(server: LiveServer, api: httpx.Client) -> None:
    replayed = replay(server, "s15_generated_v1")
    (session,) = _answers(replayed, "POST", "/v1/sessions")
    sid = session.body["session_id"]
    (created,) = _answers(replayed, "POST", "/v1/events")
    eid = created.body["event_id"]
    (batch,) = _answers(replayed, "POST", "/v1/events/batch")
    assert batch.body["session_id"] == sid

    (got,) = _answers(replayed, "GET", "/v1/events/{id}")  # sent after the PUT
    assert got.body["event"]["metadata"] == {"total_tokens": 3, "late": 1}
    assert got.body["event"]["feedback"] == {"rating": 5}
    assert got.body["event"]["duration"] == 101
    assert got.body["event"]["outputs"] == {"role": "assistant", "content": "hello"}

    in_session = _export(api, ("session_id", sid))
    names = sorted(e["event_name"] for e in in_session if e["event_id"] != sid)
    assert names == ["c", "llm", "t", "t2"]  # t2 came through /session/{id}/traces
    assert {e["parent_id"] for e in in_session if e["event_id"] != sid} == {sid}
    stored_session = stored_event(api, sid)
    assert stored_session["inputs"] == {"q": "hi"}
    assert stored_session["metadata"]["num_events"] == 4

    (search,) = _answers(replayed, "POST", "/v1/events/search")
    assert [e["event_id"] for e in search.body["events"]] == [eid]
    assert search.body["count"] == 1


@pytest.mark.parametrize("name", API_CLIENT_CAPTURES)
def test_evaluation_requests_meet_the_objects_they_name(server: LiveServer, name: str) -> None:
    replayed = _evaluation_answers(replay(server, name))
    by_name, by_id = replayed[("GET", "/v1/datasets")]
    assert [d["name"] for d in by_id["datasets"]] == ["stand-in"]
    assert [d["name"] for d in by_name["datasets"]] == []  # "capture-dataset" was not made yet
    (renamed,) = replayed[("PUT", "/v1/datasets")]
    assert renamed["result"]["name"] == "renamed"
    (added,) = replayed[("POST", "/v1/datasets/{ref}/datapoints")]
    assert added["inserted"] is True and len(added["datapoint_ids"]) == 2
    (removed,) = replayed[("DELETE", "/v1/datasets/{ref}/{ref}")]
    assert removed["dereferenced"] is True
    by_ids, _by_dataset = replayed[("GET", "/v1/datapoints")]
    assert [d["inputs"] for d in by_ids["datapoints"]] == [{"q": "a"}]
    (one,) = replayed[("GET", "/v1/datapoints/{ref}")]
    assert [d["inputs"] for d in one["datapoint"]] == [{"q": "a"}]
    (metrics,) = replayed[("GET", "/v1/metrics")]
    assert metrics["metrics"] and {m["type"] for m in metrics["metrics"]} == {"PYTHON"}


def _evaluation_answers(replayed: list[Replayed]) -> dict[tuple[str, str], list[Any]]:
    answers: dict[tuple[str, str], list[Any]] = {}
    for r in replayed:
        if r.route.check == "evaluation":
            answers.setdefault((r.route.method, r.route.template), []).append(r.body)
    return answers
