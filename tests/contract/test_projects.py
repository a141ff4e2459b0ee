"""The project routes and what is not served yet, over HTTP on every store: the key's
own project at `GET /v1/projects`, and 501 `NOT_IMPLEMENTED` for key management over
HTTP and annotation queues, behind the same key rules as every route."""

from __future__ import annotations

import httpx

from tests.support.server import LiveServer
from tests.support.validation import refused

QUEUES = [
    ("GET", "/v1/queues"),
    ("POST", "/v1/queues"),
    ("GET", "/v1/queues/q1"),
    ("PUT", "/v1/queues/q1"),
    ("DELETE", "/v1/queues/q1"),
]


def test_v1_projects_lists_only_the_keys_own_project(server: LiveServer, api: httpx.Client) -> None:
    default = server.store.list_projects()[0]
    server.store.create_project("other")
    answer = api.get("/v1/projects")
    assert answer.status_code == 200
    (project,) = answer.json()
    assert (project["id"], project["name"], project["org_id"]) == (
        default.id,
        default.name,
        default.org_id,
    )
    assert project["created_at"].startswith("20")
    assert api.get("/v1/projects", params={"name": "default"}).json() == [project]
    assert api.get("/v1/projects", params={"name": "other"}).json() == []
    with server.client(server.new_key(kind="ingest")) as ingest:
        refused(ingest.get("/v1/projects"), 403, "FORBIDDEN")


def test_key_management_over_http_answers_501_naming_the_cli(
    server: LiveServer, api: httpx.Client
) -> None:
    project_id = server.store.list_projects()[0].id
    other_id = server.store.create_project("other").id
    with (
        server.client(server.new_key(kind="dataplane")) as dataplane,
        server.client(server.new_key(kind="ingest")) as ingest,
    ):
        for kind in ("ingestion_api_keys", "fine_grained_api_keys"):
            own, foreign = (f"/v1/projects/{p}/{kind}" for p in (project_id, other_id))
            for client in (api, dataplane):
                body = refused(client.post(own, json={}), 501, "NOT_IMPLEMENTED")
                assert "hivekeeper keys create" in body["message"]
                refused(client.post(foreign, json={}), 404, "NOT_FOUND", "project_id")
            refused(ingest.post(own, json={}), 403, "FORBIDDEN")


def test_annotation_queues_answer_501_to_full_keys_only(
    server: LiveServer, api: httpx.Client
) -> None:
    for method, path in QUEUES:
        body = refused(api.request(method, path, json={}), 501, "NOT_IMPLEMENTED")
        assert "annotation queues" in body["message"]
    for kind in ("ingest", "dataplane"):
        with server.client(server.new_key(kind=kind)) as limited:
            for method, path in QUEUES:
                refused(limited.request(method, path, json={}), 403, "FORBIDDEN")
    with server.anonymous() as anonymous:
        for method, path in QUEUES:
            refused(anonymous.request(method, path), 401, "UNAUTHORIZED")
