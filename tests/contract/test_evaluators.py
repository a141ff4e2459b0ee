"""Metrics (evaluator definitions) over HTTP, on every store: both route generations,
versions (list, create, deploy), `POST /v1/metrics` told apart from OTLP exports,
the 501 of running a metric, bad input and another project's ids.

Answers are parsed by the honeyhive SDK's own response models, as its client does.
"""

from __future__ import annotations

from typing import Any

import httpx
from honeyhive._generated.models import (
    CreateMetricResponse,
    CreateMetricVersionResponse,
    DeleteMetricResponse,
    DeployMetricVersionResponse,
    GetMetricsResponse,
    GetMetricVersionsResponse,
    UpdateMetricResponse,
)

from tests.support.otlp_logs import as_json, metric_export
from tests.support.server import LiveServer
from tests.support.validation import parsed, refused

METRIC = {
    "name": "accuracy",
    "type": "PYTHON",
    "criteria": "def accuracy(outputs, inputs, ground_truth): return 1.0",
    "return_type": "float",
    "threshold": {"min": 0.5, "max": 1},
}


def _create(api: httpx.Client, **body: Any) -> str:
    return parsed(api.post("/v1/metrics", json={**METRIC, **body}), CreateMetricResponse).metric_id


def _list(api: httpx.Client, **params: str) -> list[dict[str, Any]]:
    answer = api.get("/v1/metrics", params=params)
    return [m.model_dump() for m in parsed(answer, GetMetricsResponse).metrics]


def _versions(api: httpx.Client, metric_id: str) -> list[dict[str, Any]]:
    answer = api.get(f"/v1/metrics/{metric_id}/versions")
    return [v.model_dump() for v in parsed(answer, GetMetricVersionsResponse).data]


def test_metrics_are_created_listed_updated_and_deleted_in_both_generations(
    api: httpx.Client,
) -> None:
    metric_id = _create(api)
    (metric,) = _list(api)
    assert (metric["id"], metric["name"], metric["type"]) == (metric_id, "accuracy", "PYTHON")
    assert metric["threshold"] == {"min": 0.5, "max": 1}
    assert metric["description"] is None and metric["updated_at"] is None
    assert metric["enabled_in_prod"] is False and metric["needs_ground_truth"] is False
    assert metric["sampling_percentage"] == 100 and metric["filters"] == {"filterArray": []}

    llm = _create(api, name="tone", type="LLM", criteria="Rate the tone", model_name="gpt-4o")
    assert [m["id"] for m in _list(api)] == [metric_id, llm]
    assert [m["id"] for m in _list(api, type="LLM")] == [llm]
    assert [m["id"] for m in _list(api, id=metric_id)] == [metric_id]

    # 1.7.0's client updates through PUT /v1/metrics with the id in the body; the
    # update is a new version, deployed, so it takes effect.
    legacy = api.put("/v1/metrics", json={"id": metric_id, "description": "share right"})
    assert parsed(legacy, UpdateMetricResponse).updated is True
    renamed = api.put(f"/v1/metrics/{metric_id}", json={"threshold": {"min": 0.8}})
    assert parsed(renamed, UpdateMetricResponse).updated is True
    (metric,) = _list(api, id=metric_id)
    assert metric["description"] == "share right" and metric["threshold"] == {"min": 0.8}
    assert metric["updated_at"] is not None
    assert [v["deployed"] for v in _versions(api, metric_id)] == [False, False, True]

    refused(api.post("/v1/metrics", json={**METRIC, "type": "LLM"}), 409, "CONFLICT", "name")
    refused(api.put(f"/v1/metrics/{llm}", json={"name": "accuracy"}), 409, "CONFLICT", "name")

    deleted = api.delete("/v1/metrics", params={"metric_id": metric_id})
    assert parsed(deleted, DeleteMetricResponse).deleted is True
    assert parsed(api.delete(f"/v1/metrics/{llm}"), DeleteMetricResponse).deleted is True
    assert _list(api) == []
    refused(api.delete(f"/v1/metrics/{llm}"), 404, "NOT_FOUND")
    refused(api.put("/v1/metrics", json={"id": llm, "name": "x"}), 404, "NOT_FOUND", "metric_id")
    refused(api.get(f"/v1/metrics/{llm}/versions"), 404, "NOT_FOUND", "metric_id")
    # The name is free again once its metric is gone.
    assert _create(api) != metric_id


def test_versions_are_listed_oldest_first_and_one_is_deployed_at_a_time(api: httpx.Client) -> None:
    metric_id = _create(api)
    (first,) = _versions(api, metric_id)
    assert first["deployed"] is True and first["content"]["threshold"] == {"min": 0.5, "max": 1}
    assert len(first["full_sha"]) == 64 and first["name"] == first["full_sha"][:12]

    content = {**METRIC, "threshold": {"min": 0.9}}
    body = {"message": "stricter", "content": content}
    made = parsed(
        api.post(f"/v1/metrics/{metric_id}/versions", json=body), CreateMetricVersionResponse
    ).data
    assert made.message == "stricter" and made.deployed is False
    (live,) = _list(api)
    assert live["threshold"] == {"min": 0.5, "max": 1}  # not deployed: the list shows v1

    body = {
        "message": "loosest",
        "content": {**METRIC, "threshold": {"min": 0.1}},
        "deploy_immediately": True,
    }
    third = parsed(
        api.post(f"/v1/metrics/{metric_id}/versions", json=body), CreateMetricVersionResponse
    ).data
    assert third.deployed is True and _list(api)[0]["threshold"] == {"min": 0.1}

    for ref, expected in (
        (made.name, made.full_sha),
        ("v1", first["full_sha"]),
        ("3", third.full_sha),
        (made.full_sha, made.full_sha),
    ):
        deployed = api.post(f"/v1/metrics/{metric_id}/versions/{ref}/deploy")
        version = parsed(deployed, DeployMetricVersionResponse).data
        assert version.full_sha == expected and version.deployed is True
        listed = _versions(api, metric_id)
        assert [v["full_sha"] for v in listed if v["deployed"]] == [expected]
    assert [v["message"] for v in _versions(api, metric_id)] == ["", "stricter", "loosest"]

    refused(api.post(f"/v1/metrics/{metric_id}/versions/v9/deploy"), 404, "NOT_FOUND", "version")
    refused(
        api.post(f"/v1/metrics/{metric_id}/versions", json={"message": "no content"}),
        400,
        "VALIDATION_ERROR",
        "content",
    )
    refused(
        api.post(
            f"/v1/metrics/{metric_id}/versions",
            json={"message": "m", "content": {"name": "x", "type": "PYTHON"}},
        ),
        400,
        "VALIDATION_ERROR",
        "content.criteria",
    )
    refused(
        api.post("/v1/metrics/nope/versions", json={"message": "m", "content": METRIC}),
        404,
        "NOT_FOUND",
    )
    assert len(_versions(api, metric_id)) == 3


def test_bad_metrics_are_refused_naming_the_field(api: httpx.Client) -> None:
    for body, field in [
        ({"name": "m", "type": "PYTHON"}, "criteria"),
        ({"name": "m", "criteria": "c"}, "type"),
        ({"type": "PYTHON", "criteria": "c"}, "name"),
        ({**METRIC, "type": "SQL"}, "type"),
        ({**METRIC, "return_type": "int"}, "return_type"),
        ({**METRIC, "sampling_percentage": 101}, "sampling_percentage"),
        ({**METRIC, "threshold": {"min": 2, "max": 1}}, "threshold.min"),
        ({**METRIC, "threshold": {"pass_when": "yes"}}, "threshold.pass_when"),
        ({**METRIC, "categories": [{"score": 1}]}, "categories[0].category"),
    ]:
        refused(api.post("/v1/metrics", json=body), 400, "VALIDATION_ERROR", field)
    refused(
        api.post("/v1/metrics", content=b"{", headers={"Content-Type": "application/json"}),
        400,
        "INVALID_JSON",
        "body",
    )
    refused(api.put("/v1/metrics", json={"name": "x"}), 400, "VALIDATION_ERROR", "id")
    refused(api.delete("/v1/metrics"), 400, "VALIDATION_ERROR", "metric_id")
    refused(api.get("/v1/metrics", params={"type": "SQL"}), 400, "VALIDATION_ERROR", "type")
    assert _list(api) == []


def test_post_v1_metrics_is_otlp_for_an_export_and_create_metric_otherwise(
    server: LiveServer, api: httpx.Client
) -> None:
    request = metric_export({"gen_ai.client.token.usage": 1})
    with server.client(server.new_key(kind="ingest")) as ingest:
        exported = ingest.post(
            "/v1/metrics", content=as_json(request), headers={"Content-Type": "application/json"}
        )
        assert exported.json()["partialSuccess"]["rejectedDataPoints"] == "1"
        # An ingest key writes telemetry only: create-metric is refused, as REST.
        body = refused(ingest.post("/v1/metrics", json=METRIC), 403, "FORBIDDEN")
        assert "ingest-only" in body["message"] and "code" not in body
    exported = api.post(
        "/v1/metrics",
        content=request.SerializeToString(),
        headers={"Content-Type": "application/x-protobuf"},
    )
    assert exported.status_code == 200
    assert _list(api) == []
    assert _create(api) == _list(api)[0]["id"]


def test_running_a_metric_on_the_server_is_not_served(api: httpx.Client) -> None:
    for path in ("/v1/metrics/run", "/v1/metrics/run_metric"):
        body = refused(api.post(path, json={"metric": METRIC, "event": {}}), 501, "NOT_IMPLEMENTED")
        assert "evaluate()" in body["message"]


def test_another_projects_metrics_answer_404_and_stay_as_they_were(
    server: LiveServer, api: httpx.Client
) -> None:
    metric_id = _create(api)
    before = (_list(api), _versions(api, metric_id))
    server.store.create_project("other")
    with server.client(server.new_key("other")) as other:
        assert _list(other) == [] and _list(other, id=metric_id) == []
        refused(other.put("/v1/metrics", json={"id": metric_id, "criteria": "x"}), 404, "NOT_FOUND")
        refused(other.put(f"/v1/metrics/{metric_id}", json={"criteria": "x"}), 404, "NOT_FOUND")
        refused(other.delete("/v1/metrics", params={"metric_id": metric_id}), 404, "NOT_FOUND")
        refused(other.get(f"/v1/metrics/{metric_id}/versions"), 404, "NOT_FOUND")
        body = {"message": "m", "content": METRIC}
        refused(other.post(f"/v1/metrics/{metric_id}/versions", json=body), 404, "NOT_FOUND")
        refused(other.post(f"/v1/metrics/{metric_id}/versions/1/deploy"), 404, "NOT_FOUND")
        assert _create(other) != metric_id  # names are per project
    assert (_list(api), _versions(api, metric_id)) == before
