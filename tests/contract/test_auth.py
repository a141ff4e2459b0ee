"""Auth and tenancy: bad keys are 401, ingest keys cannot read, projects are sealed."""

from __future__ import annotations

import uuid

import httpx
import pytest

from tests.support.server import LiveServer

ROUTES = [
    ("POST", "/v1/sessions", {}),
    ("POST", "/session/start", {"session": {}}),
    ("POST", "/events", {"event": {"event_type": "tool"}}),
    ("POST", "/events/batch", {"events": [{"event_type": "tool"}]}),
    ("PUT", "/events", {"event_id": "x"}),
    ("POST", "/v1/events/export", {}),
    ("GET", "/events", None),
    ("GET", "/v1/events/chart", None),
    ("GET", "/v1/sessions/abc", None),
    ("GET", "/v1/events/abc", None),
    ("DELETE", "/v1/sessions/abc", None),
]


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "Bearer",
        "Token abc",
        "Bearer None",
        "Bearer null",
        "Basic abc",
        "Bearer hh_not_a_real_key",
    ],
)
def test_bad_credentials_are_401_everywhere(server: LiveServer, header: str | None) -> None:
    headers = {} if header is None else {"Authorization": header}
    with server.anonymous(headers) as client:
        for method, path, body in ROUTES:
            got = client.request(method, path, json=body)
            assert got.status_code == 401, (method, path, got.text)
            assert set(got.json()) >= {"message", "errorCode"}
            assert got.json()["errorCode"] == "UNAUTHORIZED"


def test_header_and_scheme_are_case_insensitive(server: LiveServer) -> None:
    with server.anonymous() as client:
        got = client.post(
            "/v1/sessions", json={}, headers={"authorization": f"bearer {server.key}"}
        )
        assert got.status_code == 200


def test_health_and_docs_need_no_key(server: LiveServer) -> None:
    with server.anonymous() as client:
        assert client.get("/health").json()["status"] == "ok"
        assert client.get("/openapi.json").json()["info"]["title"] == "hivekeeper"
        assert client.get("/docs").status_code == 200


def test_revoked_key_is_refused(server: LiveServer) -> None:
    secret = server.new_key()
    with server.client(secret) as client:
        assert client.post("/v1/sessions", json={}).status_code == 200
        key_id = secret.split("_")[1]
        server.store.revoke_key(key_id)
        assert client.post("/v1/sessions", json={}).status_code == 401


def test_ingest_key_writes_but_cannot_read(server: LiveServer, api: httpx.Client) -> None:
    secret = server.new_key(kind="ingest")
    assert secret.startswith("hh_ingst_")
    with server.client(secret) as ingest:
        sid = ingest.post("/session/start", json={"session": {}}).json()["session_id"]
        eid = ingest.post("/events", json={"event": {"event_type": "tool", "session_id": sid}})
        assert eid.status_code == 200
        assert (
            ingest.put("/events", json={"event_id": sid, "metadata": {"a": 1}}).status_code == 200
        )
        for method, path in [
            ("GET", f"/v1/sessions/{sid}"),
            ("GET", f"/v1/events/{sid}"),
            ("POST", "/v1/events/export"),
            ("GET", "/events"),
            ("GET", "/v1/events/chart"),
            ("DELETE", f"/v1/sessions/{sid}"),
        ]:
            got = ingest.request(method, path, json={} if method == "POST" else None)
            assert got.status_code == 403, (method, path)
            assert got.json()["errorCode"] == "FORBIDDEN"
    assert api.get(f"/v1/sessions/{sid}").json()["metadata"]["a"] == 1


def test_projects_are_sealed_from_each_other(server: LiveServer, api: httpx.Client) -> None:
    server.store.create_project("other")
    other_key = server.new_key("other")
    sid = api.post("/v1/sessions", json={"session_name": "mine"}).json()["session_id"]
    eid = api.post(
        "/events",
        json={"event": {"event_type": "tool", "session_id": sid, "metadata": {"secret": 1}}},
    ).json()["event_id"]
    with server.client(other_key) as other:
        assert other.get(f"/v1/sessions/{sid}").status_code == 404
        assert other.get(f"/v1/events/{eid}").status_code == 404
        assert other.delete(f"/v1/sessions/{sid}").status_code == 404
        assert other.delete(f"/v1/events/{eid}").status_code == 404
        export = other.post("/v1/events/export", json={}).json()
        assert export["totalEvents"] == 0
        # Writing the same ids from project B creates B's own rows; A's stay untouched.
        assert (
            other.put("/events", json={"event_id": eid, "metadata": {"secret": 2}}).status_code
            == 200
        )
        took = other.post("/v1/sessions", json={"session_id": sid, "session_name": "theirs"})
        assert took.json()["project_id"] != api.get(f"/v1/sessions/{sid}").json()["project_id"]
    assert api.get(f"/v1/events/{eid}").json()["event"]["metadata"] == {"secret": 1}
    assert api.get(f"/v1/sessions/{sid}").json()["event_name"] == "mine"
    assert api.get(f"/v1/sessions/{uuid.uuid4()}").status_code == 404
