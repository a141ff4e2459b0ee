"""Bad input: a clear 4xx JSON error naming the field, never a 500, nothing written."""

from __future__ import annotations

import gzip
import uuid

import httpx
import pytest

from tests.support.server import LiveServer, run_app


def _error(got: httpx.Response, status: int) -> dict:
    assert got.status_code == status, got.text
    body: dict = got.json()
    assert isinstance(body["message"], str) and body["message"]
    assert isinstance(body["errorCode"], str)
    return body


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/events", {"event": {"event_type": "banana"}}, "event.event_type"),
        ("/events", {"event": {"event_name": "no type"}}, "event.event_type"),
        ("/events", {"event": {"event_type": "tool", "inputs": "text"}}, "event.inputs"),
        ("/events", {"event": {"event_type": "tool", "metadata": [1]}}, "event.metadata"),
        ("/events", {"event": {"event_type": "tool", "event_id": 42}}, "event.event_id"),
        ("/events", {"event": {"event_type": "tool", "session_id": ""}}, "event.session_id"),
        ("/events", {"event": {"event_type": "tool", "start_time": "soon"}}, "event.start_time"),
        ("/events", {"event": {"event_type": "tool", "duration": True}}, "event.duration"),
        ("/events", {"event": {"event_type": "tool", "error": {"x": 1}}}, "event.error"),
        ("/events", {"event": {"event_type": "tool", "children_ids": "c"}}, "event.children_ids"),
        ("/events", {"event": "{not json"}, "event"),
        ("/events", [1, 2], "event"),
        ("/v1/sessions", {"session_name": 5}, "session.session_name"),
        ("/session/start", {"session": {"session_id": ["x"]}}, "session.session_id"),
        ("/events/batch", {"events": []}, "events"),
        (
            "/events/batch",
            {"events": [{"event_type": "tool"}], "is_single_session": "yes"},
            "is_single_session",
        ),
        ("/v1/events/export", {"limit": 7501}, "limit"),
        (
            "/v1/events/export",
            {"filters": [{"field": "event_name", "operator": "resembles", "value": "x"}]},
            "filters[0].operator",
        ),
    ],
)
def test_bad_bodies_name_the_field(api: httpx.Client, path: str, body: object, field: str) -> None:
    got = api.post(path, json=body)
    assert _error(got, 400)["field"] == field


def test_put_without_event_id(api: httpx.Client) -> None:
    assert _error(api.put("/events", json={"metadata": {}}), 400)["field"] == "body.event_id"


@pytest.mark.parametrize("raw", [b"", b"{", b"\xff\xfe", b"null garbage"])
def test_malformed_json_is_400(api: httpx.Client, raw: bytes) -> None:
    got = api.post("/events", content=raw, headers={"Content-Type": "application/json"})
    assert _error(got, 400)["errorCode"] == "INVALID_JSON"


def test_unknown_route_and_method(api: httpx.Client) -> None:
    assert _error(api.get("/nope"), 404)["errorCode"] == "NOT_FOUND"
    assert _error(api.patch("/events"), 405)["errorCode"] == "METHOD_NOT_ALLOWED"


def test_rejected_request_writes_nothing(api: httpx.Client) -> None:
    sid = str(uuid.uuid4())
    _error(api.post("/events", json={"event": {"session_id": sid, "event_type": "x"}}), 400)
    assert api.get(f"/v1/sessions/{sid}").status_code == 404
    export = api.post("/v1/events/export", json={}).json()
    assert export["totalEvents"] == 0


def test_body_size_limit(tmp_path: object, store_kind: str) -> None:
    with run_app(tmp_path, store_kind, max_body_bytes=4096) as live, live.client() as api:
        big = {"event": {"event_type": "tool", "inputs": {"x": "a" * 5000}}}
        assert _error(api.post("/events", json=big), 413)["errorCode"] == "PAYLOAD_TOO_LARGE"
        bomb = gzip.compress(
            b'{"event": {"event_type": "tool", "inputs": {"x": "' + b"a" * 100_000 + b'"}}}'
        )
        got = api.post(
            "/events",
            content=bomb,
            headers={"Content-Encoding": "gzip", "Content-Type": "application/json"},
        )
        assert _error(got, 413)["field"] == "body"
        small = gzip.compress(b'{"event": {"event_type": "tool"}}')
        ok = api.post(
            "/events",
            content=small,
            headers={"Content-Encoding": "gzip", "Content-Type": "application/json"},
        )
        assert ok.status_code == 200
        assert api.post("/v1/events/export", json={}).json()["totalEvents"] == 2


def test_deep_nesting_is_400_not_500(api: httpx.Client) -> None:
    deep = "[" * 2000 + "]" * 2000
    raw = '{"event": {"event_type": "tool", "inputs": {"x": ' + deep + "}}}"
    got = api.post("/events", content=raw, headers={"Content-Type": "application/json"})
    assert got.status_code == 400


def test_server_survives_bad_input(server: LiveServer, api: httpx.Client) -> None:
    for raw in (b"\x00" * 100, b'{"event": {"event_type": "tool", "inputs": {"a": NaN}}}'):
        api.post("/events", content=raw)
    assert api.get("/health").status_code == 200


def test_nesting_past_the_storable_depth_is_400(api: httpx.Client) -> None:
    deep = "[" * 300 + "]" * 300
    raw = '{"event": {"event_type": "tool", "inputs": {"x": ' + deep + "}}}"
    got = api.post("/events", content=raw, headers={"Content-Type": "application/json"})
    error = _error(got, 400)
    assert error["field"] == "event.inputs.x" + "[0]" * 61
    assert "max_json_depth" in error["message"]
    assert api.post("/v1/events/export", json={}).json()["totalEvents"] == 0


def _nested(depth: int) -> object:
    value: object = 1
    for _ in range(depth):
        value = [value]
    return value


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/events", {"event": {"event_type": "tool", "inputs": {"x": _nested(7)}}}, "event"),
        ("/events", {"event": '{"event_type": "tool", "inputs": {"x": [[[[[[[1]]]]]]]}}'}, "event"),
        ("/events/batch", {"events": [{"event_type": "tool", "outputs": _nested(7)}]}, "events"),
        ("/v1/events/export", {"filters": [{"value": _nested(8)}]}, "filters"),
        ("/session/start", {"session": '{"metadata": [[[[[[[[1]]]]]]]]}'}, "session"),
    ],
)
def test_json_depth_limit(
    tmp_path: object, store_kind: str, path: str, body: object, field: str
) -> None:
    with run_app(tmp_path, store_kind, max_json_depth=8) as live, live.client() as api:
        error = _error(api.post(path, json=body), 400)
        assert error["errorCode"] == "VALIDATION_ERROR"
        assert error["field"].startswith(field)
        assert "max_json_depth" in error["message"]
        assert api.post("/v1/events/export", json={}).json()["totalEvents"] == 0
        ok = {"event": {"event_type": "tool", "inputs": {"x": _nested(5)}}}
        assert api.post("/events", json=ok).status_code == 200


def test_string_length_limit(tmp_path: object, store_kind: str) -> None:
    with run_app(tmp_path, store_kind, max_string_chars=2048) as live, live.client() as api:
        long = "é" * 2049
        for path, body, field in [
            (
                "/events",
                {"event": {"event_type": "tool", "outputs": {"t": long}}},
                "event.outputs.t",
            ),
            ("/events/batch", {"events": [{"event_type": "tool"}, {long: 1}]}, "events[1]"),
            ("/events", {"event": {"event_type": "tool", "event_name": long}}, "event.event_name"),
            ("/v1/sessions", {"session_name": long}, "session_name"),
        ]:
            error = _error(api.post(path, json=body), 400)
            assert error["field"] == field
            assert "max_string_chars" in error["message"]
        assert api.post("/v1/events/export", json={}).json()["totalEvents"] == 0
        ok = {"event": {"event_type": "tool", "outputs": {"t": long[:-1]}}}
        assert api.post("/events", json=ok).status_code == 200


def test_batch_length_limit(tmp_path: object, store_kind: str) -> None:
    with run_app(tmp_path, store_kind, max_batch_events=2) as live, live.client() as api:
        events = [{"event_type": "tool"}] * 3
        for path, body, field in [
            ("/events/batch", {"events": events}, "events"),
            ("/session/s1/traces", {"logs": events}, "logs"),
            ("/events/model/batch", {"model_events": events}, "model_events"),
        ]:
            error = _error(api.post(path, json=body), 400)
            assert error["field"] == field
            assert "max_batch_events" in error["message"]
        assert api.post("/events/batch", json={"events": events[:2]}).status_code == 200


def test_pending_updates_obey_the_event_limits(tmp_path: object, store_kind: str) -> None:
    limits = {"max_body_bytes": 8192, "max_json_depth": 8, "max_string_chars": 2048}
    with run_app(tmp_path, store_kind, **limits) as live, live.client() as api:
        eid = str(uuid.uuid4())
        for body, status, field in [
            ({"event_id": eid, "inputs": {"x": "a" * 9000}}, 413, "body"),
            ({"event_id": eid, "outputs": {"t": "é" * 2049}}, 400, "outputs.t"),
            ({"event_id": eid, "metadata": {"x": _nested(8)}}, 400, "metadata.x"),
        ]:
            error = _error(api.put("/events", json=body), status)
            assert error["field"].startswith(field)
            error = _error(api.put(f"/v1/events/{eid}", json=body), status)
            assert error["field"].startswith(field)
        assert api.delete(f"/v1/events/{eid}").status_code == 404  # nothing was kept
        longest = {"event_id": eid, "outputs": {"t": "é" * 2048}}
        assert api.put("/events", json=longest).status_code == 200
        assert api.delete(f"/v1/events/{eid}").status_code == 200


def test_children_ids_are_capped(tmp_path: object, store_kind: str) -> None:
    with run_app(tmp_path, store_kind, max_children_ids=3) as live, live.client() as api:
        eid, pending = str(uuid.uuid4()), str(uuid.uuid4())
        event = {"event_id": eid, "event_type": "chain", "children_ids": ["a", "b"]}
        assert api.post("/events", json={"event": event}).status_code == 200
        for method, path, body in [
            ("POST", "/events", {"event": {**event, "children_ids": list("abcd")}}),
            ("POST", "/events/batch", {"events": [{**event, "children_ids": list("cd")}]}),
            ("PUT", "/events", {"event_id": eid, "children_ids": ["c", "d"]}),
            ("PUT", f"/v1/events/{eid}", {"children_ids": ["c", "d", "e"]}),
            ("PUT", f"/v1/events/{pending}", {"children_ids": list("abcd")}),
        ]:
            error = _error(api.request(method, path, json=body), 400)
            assert error["field"] == "children_ids", (path, error)
            assert "max_children_ids" in error["message"]
        within = {"event_id": eid, "children_ids": ["b", "c"]}
        assert api.put("/events", json=within).status_code == 200
        assert api.get(f"/v1/events/{eid}").json()["event"]["children_ids"] == ["a", "b", "c"]
        assert api.delete(f"/v1/events/{pending}").status_code == 404
