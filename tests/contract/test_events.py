"""Events over HTTP: create in every envelope, batches, legacy model events, updates."""

from __future__ import annotations

import uuid

import httpx
import orjson


def _get(api: httpx.Client, event_id: str) -> dict:
    got = api.get(f"/v1/events/{event_id}")
    assert got.status_code == 200, got.text
    event: dict = got.json()["event"]
    return event


def test_create_event_in_every_envelope(api: httpx.Client) -> None:
    event = {"event_type": "tool", "event_name": "t", "inputs": {"x": 1}}
    wrapped = api.post("/events", json={"event": event}).json()
    as_string = api.post("/events", json={"event": orjson.dumps(event).decode()}).json()
    bare = api.post("/v1/events", json=event).json()
    for answer in (wrapped, as_string, bare):
        assert answer["success"] is True
        stored = _get(api, answer["event_id"])
        assert stored["event_name"] == "t"
        assert stored["inputs"] == {"x": 1}
        assert stored["parent_id"] == stored["session_id"]
        assert _get(api, stored["session_id"])["event_type"] == "session"


def test_event_defaults_and_extra_keys(api: httpx.Client) -> None:
    eid = api.post(
        "/events",
        json={
            "event": {
                "event_type": "MODEL",
                "start_time": 1000,
                "duration": 250,
                "my_extra": {"k": "v"},
                "project": "ignored-hint",
            }
        },
    ).json()["event_id"]
    stored = _get(api, eid)
    assert stored["event_type"] == "model"
    assert stored["event_name"] == "unknown"
    assert stored["source"] == "unknown"
    assert stored["end_time"] == 1250
    assert stored["my_extra"] == {"k": "v"}
    assert "project" not in stored
    assert stored["project_id"].startswith("proj_")


def test_update_merges_per_namespace(api: httpx.Client) -> None:
    eid = str(uuid.uuid4())
    api.post(
        "/events",
        json={
            "event": {
                "event_id": eid,
                "event_type": "model",
                "start_time": 100,
                "end_time": 600,
                "metadata": {"a": 1},
                "outputs": {"content": "x"},
                "feedback": {"rating": 3},
                "children_ids": ["c1"],
            }
        },
    )
    assert api.put(
        "/events",
        json={
            "event_id": eid,
            "metadata": {"b": 2},
            "feedback": {"comment": "ok"},
            "metrics": {"acc": 1.0},
            "children_ids": ["c2", "c1"],
            "end_time": 700,
        },
    ).json() == {"success": True}
    assert api.put(f"/v1/events/{eid}", json={"metadata": {"a": 9}}).status_code == 200
    stored = _get(api, eid)
    assert stored["metadata"] == {"a": 9, "b": 2}
    assert stored["feedback"] == {"rating": 3, "comment": "ok"}
    assert stored["metrics"] == {"acc": 1.0}
    assert stored["outputs"] == {"content": "x"}
    assert stored["children_ids"] == ["c1", "c2"]
    assert stored["end_time"] == 700
    assert stored["duration"] == 600


def test_update_before_the_event_is_kept_and_merged(api: httpx.Client) -> None:
    eid = str(uuid.uuid4())
    assert (
        api.put(
            "/events", json={"event_id": eid, "metadata": {"late": True}, "feedback": {"rating": 5}}
        ).status_code
        == 200
    )
    assert api.get(f"/v1/events/{eid}").status_code == 404  # pending updates stay invisible
    api.post(
        "/events",
        json={
            "event": {"event_id": eid, "event_type": "chain", "metadata": {"late": False, "own": 1}}
        },
    )
    stored = _get(api, eid)
    assert stored["metadata"] == {"late": True, "own": 1}
    assert stored["feedback"] == {"rating": 5}
    session = api.get(f"/v1/sessions/{stored['session_id']}").json()
    assert session["metadata"]["has_feedback"] is True


def test_batch_is_all_or_nothing(api: httpx.Client) -> None:
    sid = str(uuid.uuid4())
    bad = api.post(
        "/events/batch",
        json={
            "events": [
                {"event_type": "tool", "session_id": sid},
                {"event_type": "banana", "session_id": sid},
            ]
        },
    )
    assert bad.status_code == 400
    assert bad.json()["field"] == "events[1].event_type"
    assert api.get(f"/v1/sessions/{sid}").status_code == 404


def test_single_session_batch(api: httpx.Client) -> None:
    answer = api.post(
        "/v1/events/batch",
        json={
            "events": [
                {"event_type": "tool", "event_name": "a"},
                {"event_type": "chain", "event_name": "b"},
            ],
            "is_single_session": True,
            "session_properties": {"session_name": "batch-session", "metadata": {"m": 2}},
        },
    ).json()
    assert answer["success"] is True
    assert len(answer["event_ids"]) == 2
    tree = api.get(f"/v1/sessions/{answer['session_id']}").json()
    assert tree["event_name"] == "batch-session"
    assert tree["metadata"]["m"] == 2
    assert sorted(c["event_name"] for c in tree["children"]) == ["a", "b"]


def test_session_events_batch_route(api: httpx.Client) -> None:
    sid = str(uuid.uuid4())
    got = api.post(
        f"/v1/sessions/{sid}/events/batch",
        json={"events": [{"event_type": "tool"}, {"event_type": "tool"}]},
    )
    assert got.status_code == 200
    assert api.get(f"/v1/sessions/{sid}").json()["metadata"]["num_events"] == 2


def test_legacy_model_events(api: httpx.Client) -> None:
    model_event = {
        "model": "gpt-4o",
        "provider": "openai",
        "hyperparameters": {"temperature": 0},
        "messages": [{"role": "user", "content": "hi"}],
        "response": {"role": "assistant", "content": "hello"},
        "usage": {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4},
        "cost": 0.001,
        "template_inputs": {"name": "x"},
        "event_name": "chat",
    }
    eid = api.post("/events/model", json={"model_event": model_event}).json()["event_id"]
    stored = _get(api, eid)
    assert stored["event_type"] == "model"
    assert stored["config"] == {
        "model": "gpt-4o",
        "provider": "openai",
        "hyperparameters": {"temperature": 0},
    }
    assert stored["inputs"] == {"chat_history": [{"role": "user", "content": "hi"}], "name": "x"}
    assert stored["outputs"] == {"role": "assistant", "content": "hello"}
    assert stored["metadata"] == {
        "prompt_tokens": 3,
        "completion_tokens": 1,
        "total_tokens": 4,
        "cost": 0.001,
        "cost_source": "given",  # the client's cost, marked so (issue 15)
    }
    batch = api.post(
        "/events/model/batch",
        json={"model_events": [model_event, model_event], "is_single_session": True},
    ).json()
    assert len(batch["event_ids"]) == 2
    session = api.get(f"/v1/sessions/{batch['session_id']}").json()
    assert session["metadata"]["num_model_events"] == 2
    assert session["metadata"]["total_tokens"] == 8


def test_event_type_session_starts_a_session(api: httpx.Client) -> None:
    sid = str(uuid.uuid4())
    answer = api.post(
        "/events",
        json={"event": {"event_type": "session", "session_id": sid, "event_name": "via-events"}},
    ).json()
    assert answer["event_id"] == sid
    got = api.get(f"/v1/events/{sid}").json()
    assert got["event"]["event_type"] == "session"
    assert got["event_name"] == "via-events"
    assert got["children"] == []


def test_delete_event_adjusts_rollups(api: httpx.Client) -> None:
    sid = api.post("/v1/sessions", json={}).json()["session_id"]
    ids = api.post(
        "/events/batch",
        json={
            "events": [
                {"event_type": "model", "session_id": sid, "metadata": {"cost": 1}},
                {"event_type": "model", "session_id": sid, "metadata": {"cost": 2}},
            ]
        },
    ).json()["event_ids"]
    assert api.delete(f"/v1/events/{ids[0]}").json() == {"success": True, "deleted": ids[0]}
    meta = api.get(f"/v1/sessions/{sid}").json()["metadata"]
    assert meta["num_events"] == 1
    assert meta["cost"] == 2


def test_legacy_session_traces_route_takes_events_or_logs(api: httpx.Client) -> None:
    sid = str(uuid.uuid4())
    for key in ("events", "logs"):
        got = api.post(f"/session/{sid}/traces", json={key: [{"event_type": "tool"}]})
        assert got.status_code == 200, got.text
        assert got.json()["success"] is True
    assert api.get(f"/v1/sessions/{sid}").json()["metadata"]["num_events"] == 2
    empty = api.post(f"/session/{sid}/traces", json={"logs": []})
    assert empty.status_code == 400
    assert empty.json()["field"] == "logs"


def test_event_type_is_set_once_and_another_type_is_a_409_on_every_route(
    api: httpx.Client,
) -> None:
    sid, eid, fresh = (str(uuid.uuid4()) for _ in range(3))
    model = {"event_id": eid, "session_id": sid, "event_type": "model", "event_name": "llm"}
    assert api.post("/events", json={"event": model}).status_code == 200
    retyped = {"event_id": eid, "session_id": sid, "event_type": "tool", "metadata": {"x": 1}}
    newcomer = {"event_id": fresh, "session_id": sid, "event_type": "tool"}
    attempts: list[tuple[str, str, object, str]] = [
        ("POST", "/events", {"event": retyped}, "tool"),
        ("POST", "/v1/events", retyped, "tool"),
        ("POST", "/events/batch", {"events": [newcomer, retyped]}, "tool"),
        ("POST", "/v1/events/batch", {"events": [newcomer, retyped]}, "tool"),
        ("POST", f"/v1/sessions/{sid}/events/batch", {"events": [newcomer, retyped]}, "tool"),
        ("POST", f"/session/{sid}/traces", {"logs": [newcomer, retyped]}, "tool"),
        ("POST", "/events/model", {"model_event": {**retyped, "event_type": "chain"}}, "chain"),
        ("PUT", "/events", {**retyped, "event_type": "chain"}, "chain"),
        ("PUT", f"/v1/events/{eid}", {"event_type": "chain", "metadata": {"x": 1}}, "chain"),
        ("POST", "/v1/sessions", {"session_id": eid, "metadata": {"x": 1}}, "session"),
        ("POST", "/session/start", {"session": {"session_id": eid}}, "session"),
    ]
    for method, path, body, sent_type in attempts:
        answer = api.request(method, path, json=body)
        assert answer.status_code == 409, (path, answer.text)
        error = answer.json()
        assert error["errorCode"] == "EVENT_TYPE_CONFLICT", path
        assert eid in error["message"], path
        assert "model" in error["message"] and sent_type in error["message"], path
    stored = _get(api, eid)
    assert (stored["event_type"], stored["event_name"], stored["metadata"]) == ("model", "llm", {})
    assert api.get(f"/v1/events/{fresh}").status_code == 404  # batches are all-or-nothing
    assert api.get(f"/v1/sessions/{sid}").json()["metadata"]["num_events"] == 1
    # The same type merges as ever.
    same = {**retyped, "event_type": "model"}
    assert api.post("/events", json={"event": same}).status_code == 200
    assert _get(api, eid)["metadata"] == {"x": 1}


def test_a_pending_update_takes_its_first_type(api: httpx.Client) -> None:
    eid = str(uuid.uuid4())
    assert api.put("/events", json={"event_id": eid, "metadata": {"a": 1}}).status_code == 200
    event = {"event_id": eid, "event_type": "tool"}
    assert api.post("/events", json={"event": event}).status_code == 200
    stored = _get(api, eid)
    assert (stored["event_type"], stored["metadata"]) == ("tool", {"a": 1})
    answer = api.post("/events", json={"event": {**event, "event_type": "chain"}})
    assert answer.status_code == 409, answer.text
    assert _get(api, eid)["event_type"] == "tool"


def test_a_pending_update_can_be_deleted(api: httpx.Client) -> None:
    eid = str(uuid.uuid4())
    update = {"event_id": eid, "metadata": {"late": True}, "inputs": {"big": "x" * 1000}}
    assert api.put("/events", json=update).status_code == 200
    assert api.get(f"/v1/events/{eid}").status_code == 404  # still invisible
    deleted = api.delete(f"/v1/events/{eid}")
    assert deleted.status_code == 200, deleted.text
    assert deleted.json() == {"success": True, "deleted": eid}
    assert api.delete(f"/v1/events/{eid}").status_code == 404
    event = {"event_id": eid, "event_type": "tool"}
    assert api.post("/events", json={"event": event}).status_code == 200
    stored = _get(api, eid)
    assert stored["metadata"] == {} and stored["inputs"] == {}  # the update is gone
