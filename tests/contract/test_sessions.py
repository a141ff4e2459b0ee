"""Sessions over HTTP: start (both routes), merge on repeat, tree, roll-ups, delete."""

from __future__ import annotations

import uuid

import httpx
import orjson

from tests.support.server import LiveServer

REQUIRED = ("event_id", "session_id", "org_id", "workspace_id", "project_id")


def test_start_session_answers_full_session_event(api: httpx.Client) -> None:
    sid = str(uuid.uuid4())
    body = {
        "session_id": sid,
        "session_name": "chat",
        "source": "prod",
        "inputs": {"q": "hi"},
        "metadata": {"m": 1},
        "user_properties": {"user_id": "u1"},
        "config": {"c": 1},
        "start_time": 1795700000000.0,
        "custom_key": [1, 2],
    }
    got = api.post("/v1/sessions", json=body)
    assert got.status_code == 200, got.text
    event = got.json()
    for field in REQUIRED:
        assert isinstance(event[field], str)
    assert event["event_id"] == event["session_id"] == sid
    assert event["event_type"] == "session"
    assert event["event_name"] == "chat"
    assert event["parent_id"] is None
    assert event["children_ids"] == []
    assert event["inputs"] == {"q": "hi"}
    assert event["config"] == {"c": 1}
    assert event["user_properties"] == {"user_id": "u1"}
    assert event["metadata"]["m"] == 1
    assert event["metadata"]["num_events"] == 0
    assert event["start_time"] == 1795700000000.0
    assert event["custom_key"] == [1, 2]
    assert event["outputs"] == {} and event["metrics"] == {} and event["feedback"] == {}
    assert event["error"] is None


def test_start_session_generates_id_and_defaults(api: httpx.Client) -> None:
    event = api.post("/v1/sessions", json={"event_name": "fallback-name"}).json()
    assert uuid.UUID(event["session_id"]).version == 4
    assert event["event_id"] == event["session_id"]
    assert event["event_name"] == "fallback-name"
    assert event["source"] == "unknown"


def test_legacy_start_accepts_object_and_json_string(api: httpx.Client) -> None:
    as_object = api.post("/session/start", json={"session": {"session_name": "a"}})
    assert as_object.status_code == 200
    sid = str(uuid.uuid4())
    as_string = api.post(
        "/session/start",
        json={"session": orjson.dumps({"session_id": sid, "session_name": "b"}).decode()},
    )
    assert as_string.status_code == 200
    assert as_string.json()["session_id"] == sid
    assert as_string.json()["event_name"] == "b"


def test_repeated_start_merges_and_keeps_earlier_fields(api: httpx.Client) -> None:
    sid = str(uuid.uuid4())
    first = {"session_id": sid, "session_name": "job", "metadata": {"worker": 1, "a": 1}}
    assert api.post("/session/start", json={"session": first}).status_code == 200
    second = {"session_id": sid, "metadata": {"worker": 2, "b": 2}}
    merged = api.post("/session/start", json={"session": second}).json()
    assert merged["event_name"] == "job"
    assert merged["metadata"]["a"] == 1
    assert merged["metadata"]["b"] == 2
    assert merged["metadata"]["worker"] == 2


def test_session_tree_nests_events_and_rolls_up(api: httpx.Client) -> None:
    sid = api.post("/v1/sessions", json={"session_name": "tree", "start_time": 1000}).json()[
        "session_id"
    ]
    chain = str(uuid.uuid4())
    events = [
        {
            "event_id": chain,
            "event_type": "chain",
            "event_name": "pipeline",
            "start_time": 1100,
            "end_time": 1900,
        },
        {
            "event_type": "model",
            "event_name": "llm",
            "parent_id": chain,
            "start_time": 1200,
            "end_time": 1500,
            "metadata": {"prompt_tokens": 10, "completion_tokens": 5, "cost": 0.5},
            "feedback": {"rating": 1},
        },
        {
            "event_type": "model",
            "event_name": "llm2",
            "parent_id": chain,
            "start_time": 1500,
            "end_time": 2500,
            "metadata": {"total_tokens": 7, "cost": 0.25},
        },
        {
            "event_type": "tool",
            "event_name": "search",
            "start_time": 1950,
            "end_time": 2000,
            "error": "timeout",
        },
    ]
    for event in events:
        event["session_id"] = sid
    assert api.post("/events/batch", json={"events": events}).status_code == 200
    tree = api.get(f"/v1/sessions/{sid}").json()
    assert [c["event_name"] for c in tree["children"]] == ["pipeline", "search"]
    pipeline = tree["children"][0]
    assert [c["event_name"] for c in pipeline["children"]] == ["llm", "llm2"]
    assert pipeline["children_ids"] == [c["event_id"] for c in pipeline["children"]]
    assert set(tree["children_ids"]) == {c["event_id"] for c in tree["children"]}
    meta = tree["metadata"]
    assert meta["num_events"] == 4
    assert meta["num_model_events"] == 2
    assert meta["prompt_tokens"] == 10
    assert meta["completion_tokens"] == 5
    assert meta["total_tokens"] == 22
    assert meta["cost"] == 0.75
    assert meta["has_feedback"] is True
    assert meta["error_count"] == 1
    assert tree["start_time"] == 1000
    assert tree["end_time"] == 2500
    assert tree["duration"] == 1500


def test_rollups_follow_updates_without_double_counting(api: httpx.Client) -> None:
    sid = api.post("/v1/sessions", json={}).json()["session_id"]
    eid = str(uuid.uuid4())
    event = {
        "event_id": eid,
        "session_id": sid,
        "event_type": "model",
        "metadata": {"cost": 1.0, "total_tokens": 3},
    }
    for _ in range(2):  # the same event twice is idempotent
        assert api.post("/events", json={"event": event}).status_code == 200
    assert api.put("/events", json={"event_id": eid, "metadata": {"cost": 2.5}}).status_code == 200
    meta = api.get(f"/v1/sessions/{sid}").json()["metadata"]
    assert meta["num_events"] == 1
    assert meta["cost"] == 2.5
    assert meta["total_tokens"] == 3


def test_events_naming_unknown_session_create_it(api: httpx.Client) -> None:
    sid = str(uuid.uuid4())
    got = api.post(
        "/events",
        json={
            "event": {
                "session_id": sid,
                "event_type": "tool",
                "source": "worker",
                "start_time": 5000,
            }
        },
    )
    assert got.status_code == 200
    session = api.get(f"/v1/sessions/{sid}").json()
    assert session["event_type"] == "session"
    assert session["source"] == "worker"
    assert session["event_name"] == "unknown"
    assert session["metadata"]["num_events"] == 1
    named = api.post("/v1/sessions", json={"session_id": sid, "session_name": "late"}).json()
    assert named["event_name"] == "late"
    assert named["metadata"]["num_events"] == 1


def test_delete_session_removes_all_its_events(api: httpx.Client) -> None:
    sid = api.post("/v1/sessions", json={}).json()["session_id"]
    ids = api.post(
        "/events/batch",
        json={"events": [{"event_type": "tool", "session_id": sid} for _ in range(3)]},
    ).json()["event_ids"]
    deleted = api.delete(f"/v1/sessions/{sid}")
    assert deleted.status_code == 200
    assert deleted.json() == {"success": True, "deleted": sid}
    assert api.get(f"/v1/sessions/{sid}").status_code == 404
    for eid in ids:
        assert api.get(f"/v1/events/{eid}").status_code == 404
    assert api.delete(f"/v1/sessions/{sid}").status_code == 404


def test_unknown_session_is_404_json(api: httpx.Client) -> None:
    got = api.get(f"/v1/sessions/{uuid.uuid4()}")
    assert got.status_code == 404
    assert got.json()["errorCode"] == "NOT_FOUND"


def test_a_very_deep_trace_still_renders(api: httpx.Client) -> None:
    sid = api.post("/v1/sessions", json={}).json()["session_id"]
    parent = sid
    events = []
    for depth in range(300):
        eid = f"{sid}-{depth}"
        events.append(
            {
                "event_id": eid,
                "parent_id": parent,
                "session_id": sid,
                "event_type": "chain",
                "start_time": 1000 + depth,
            }
        )
        parent = eid
    assert api.post("/events/batch", json={"events": events}).status_code == 200
    node = api.get(f"/v1/sessions/{sid}").json()
    depth = 0
    while node["children"]:
        (node,) = node["children"]
        depth += 1
    assert depth == 300


def test_an_ingest_key_session_start_answers_only_what_it_sent(
    server: LiveServer, api: httpx.Client
) -> None:
    sid = str(uuid.uuid4())
    private = {"session_id": sid, "inputs": {"secret": "read me"}, "metadata": {"kept": 1}}
    assert api.post("/v1/sessions", json=private).status_code == 200
    tenancy = {k: api.get(f"/v1/sessions/{sid}").json()[k] for k in REQUIRED}
    sent = {"session_id": sid, "session_name": "worker", "metadata": {"worker": 2}}
    with server.client(server.new_key(kind="ingest")) as ingest:
        for path, body in (("/v1/sessions", sent), ("/session/start", {"session": sent})):
            answer = ingest.post(path, json=body)
            assert answer.status_code == 200, answer.text
            assert answer.json() == {**sent, **tenancy}
            assert "read me" not in answer.text
        fresh = ingest.post("/session/start", json={"session": {"session_name": "new"}}).json()
    assert set(fresh) == {"session_name", *REQUIRED}
    assert all(isinstance(fresh[field], str) for field in REQUIRED)
    assert fresh["event_id"] == fresh["session_id"] != sid
    # The writes themselves were merged as before.
    stored = api.get(f"/v1/sessions/{sid}").json()
    assert stored["inputs"] == {"secret": "read me"}
    assert stored["metadata"]["kept"] == 1 and stored["metadata"]["worker"] == 2
    assert stored["event_name"] == "worker"


def test_a_session_start_cannot_turn_an_event_into_a_session(
    server: LiveServer, api: httpx.Client
) -> None:
    eid = str(uuid.uuid4())
    chat = {"chat_history": [{"role": "user", "content": "private question"}]}
    outputs = {"a": "private answer"}
    model = {"event_id": eid, "event_type": "model", "inputs": chat, "outputs": outputs}
    assert api.post("/events", json={"event": model}).status_code == 200
    with server.client(server.new_key(kind="ingest")) as ingest:
        for client in (api, ingest):
            for path, body in (
                ("/v1/sessions", {"session_id": eid}),
                ("/session/start", {"session": {"session_id": eid, "session_name": "x"}}),
            ):
                answer = client.post(path, json=body)
                assert answer.status_code == 409, answer.text
                error = answer.json()
                assert error["errorCode"] == "EVENT_TYPE_CONFLICT"
                assert eid in error["message"]
                assert "model" in error["message"] and "session" in error["message"]
                assert "private question" not in answer.text and "private answer" not in answer.text
    stored = api.get(f"/v1/events/{eid}").json()["event"]
    assert (stored["event_type"], stored["event_name"]) == ("model", "unknown")
    assert stored["inputs"] == chat and stored["outputs"] == outputs
