"""Saved charts over HTTP, on every store: the key's project at `/v1/charts`, and
`/v1/projects/{project_id}/charts` for a full or data-plane key of that project;
partial updates, bad definitions, and the key kinds each route takes.

Answers are parsed by the honeyhive SDK's own response models, as its client does.
"""

from __future__ import annotations

from typing import Any

import httpx
from honeyhive._generated.models import (
    CreateChartResponse,
    DeleteChartResponse,
    GetChartResponse,
    GetChartsResponse,
    UpdateChartResponse,
)

from tests.support.server import LiveServer
from tests.support.validation import parsed, refused

CHART = {
    "name": "cost by model",
    "metric": "metadata.cost",
    "func": "p95",
    "groupBy": "config.model",
    "bucketing": "day",
    # The SDK sends a date range without its `$` aliases.
    "dateRange": {"gte": "2026-01-01T00:00:00Z", "lte": "2026-12-31T00:00:00Z"},
    "query": [{"field": "event_type", "operator": "is", "value": "model", "type": "string"}],
}


def _project_id(server: LiveServer) -> str:
    return server.store.list_projects()[0].id


def _crud(client: httpx.Client, base: str, update_method: str) -> None:
    """Create, read, list, update and delete a chart under `base`."""
    created = parsed(client.post(base, json=CHART), CreateChartResponse).data.model_dump()
    chart_id = created["id"]
    assert {k: created[k] for k in CHART} == CHART
    assert created["description"] is None and created["owner_id"] is None
    assert created["is_active"] is True and created["updated_at"] is None
    got = parsed(client.get(f"{base}/{chart_id}"), GetChartResponse).data.model_dump()
    assert got == created
    listed = parsed(client.get(base), GetChartsResponse).data
    assert [c.id for c in listed] == [chart_id]

    change = {"name": "cost", "description": "weekly"}
    answer = client.request(update_method, f"{base}/{chart_id}", json=change)
    updated = parsed(answer, UpdateChartResponse).data.model_dump()
    assert (updated["name"], updated["description"]) == ("cost", "weekly")
    assert updated["func"] == "p95" and updated["query"] == CHART["query"]  # untouched
    assert updated["updated_at"] is not None

    deleted = parsed(client.delete(f"{base}/{chart_id}"), DeleteChartResponse)
    assert deleted.success is True and chart_id in deleted.message
    assert parsed(client.get(base), GetChartsResponse).data == []
    refused(client.get(f"{base}/{chart_id}"), 404, "NOT_FOUND", "chart_id")
    refused(client.delete(f"{base}/{chart_id}"), 404, "NOT_FOUND")
    refused(client.request(update_method, f"{base}/{chart_id}", json=change), 404, "NOT_FOUND")


def test_a_full_key_saves_charts_at_both_routes(server: LiveServer, api: httpx.Client) -> None:
    _crud(api, "/v1/charts", "PUT")
    _crud(api, f"/v1/projects/{_project_id(server)}/charts", "PATCH")


def test_a_data_plane_key_saves_charts_of_its_own_project_only(
    server: LiveServer, api: httpx.Client
) -> None:
    own = f"/v1/projects/{_project_id(server)}/charts"
    secret = server.new_key(kind="dataplane")
    assert secret.startswith("hh_fgdp_")
    with server.client(secret) as dataplane:
        _crud(dataplane, own, "PATCH")
        # Anywhere else it is refused: 403 saying where it may go.
        body = refused(dataplane.get("/v1/charts"), 403, "FORBIDDEN")
        assert "/v1/projects/{project_id}/" in body["message"]
        refused(dataplane.post("/v1/charts", json=CHART), 403, "FORBIDDEN")
        refused(dataplane.post("/v1/sessions", json={}), 403, "FORBIDDEN")
        refused(dataplane.post("/v1/events/export", json={}), 403, "FORBIDDEN")
        # Another project's id is absent, whether or not it exists.
        other = server.store.create_project("other")
        for project_id in (other.id, "proj_nope"):
            refused(
                dataplane.get(f"/v1/projects/{project_id}/charts"), 404, "NOT_FOUND", "project_id"
            )
    with server.client(server.new_key("other", kind="dataplane")) as foreign:
        parsed(api.post(own, json=CHART), CreateChartResponse)
        refused(foreign.get(own), 404, "NOT_FOUND", "project_id")
        refused(foreign.post(own, json=CHART), 404, "NOT_FOUND")
    with server.client(server.new_key("other")) as foreign_full:
        refused(foreign_full.get(own), 404, "NOT_FOUND", "project_id")
        assert parsed(foreign_full.get("/v1/charts"), GetChartsResponse).data == []
    assert len(parsed(api.get("/v1/charts"), GetChartsResponse).data) == 1


def test_ingest_keys_get_403_on_saved_charts(server: LiveServer) -> None:
    own = f"/v1/projects/{_project_id(server)}/charts"
    with server.client(server.new_key(kind="ingest")) as ingest:
        for method, path in (
            ("GET", "/v1/charts"),
            ("POST", "/v1/charts"),
            ("GET", own),
            ("POST", own),
            ("PATCH", f"{own}/x"),
            ("DELETE", "/v1/charts/x"),
        ):
            body = refused(ingest.request(method, path, json=CHART), 403, "FORBIDDEN")
            assert "ingest-only" in body["message"]


def test_bad_chart_definitions_are_refused_naming_the_field(api: httpx.Client) -> None:
    cases: list[tuple[dict[str, Any], str]] = [
        ({"metric": "duration"}, "name"),
        ({"name": "c"}, "metric"),
        ({**CHART, "metric": "metadata..cost"}, "metric"),
        ({**CHART, "func": "mode"}, "func"),
        ({**CHART, "bucketing": "fortnight"}, "bucketing"),
        ({**CHART, "groupBy": 5}, "groupBy"),
        ({**CHART, "dateRange": {"relative": "7x"}}, "dateRange"),
        (
            {**CHART, "query": [{"field": "event_type", "operator": "resembles"}]},
            "query[0].operator",
        ),
    ]
    for body, field in cases:
        answer = api.post("/v1/charts", json=body)
        assert refused(answer, 400, "VALIDATION_ERROR")["field"].startswith(field), answer.text
    chart_id = parsed(api.post("/v1/charts", json=CHART), CreateChartResponse).data.id
    refused(
        api.put(f"/v1/charts/{chart_id}", json={"func": "mode"}), 400, "VALIDATION_ERROR", "func"
    )
    assert parsed(api.get(f"/v1/charts/{chart_id}"), GetChartResponse).data.func == "p95"
