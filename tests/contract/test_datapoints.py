"""Datapoints over HTTP, on every store: create, get, list (by ids as the SDK sends
them, by dataset name or id, or all), update, delete; datapoints made from stored
events; ground truth of any JSON type; bad input and another project's ids refused
with nothing written.

Answers are parsed by the honeyhive SDK's own response models, as its client does.
"""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from honeyhive._generated.api_config import _serialize_query_params
from honeyhive._generated.models import (
    AddDatapointsResponse,
    BatchCreateDatapointsResponse,
    CreateDatapointResponse,
    CreateDatasetResponse,
    DeleteDatapointResponse,
    GetDatapointResponse,
    GetDatapointsResponse,
    GetDatasetsResponse,
    UpdateDatapointResponse,
)

from tests.support.server import LiveServer
from tests.support.validation import parsed, refused

T0 = 1_795_700_000_000


def _create(api: httpx.Client, **body: Any) -> str:
    (point,) = parsed(
        api.post("/v1/datapoints", json=body), CreateDatapointResponse
    ).result.insertedIds
    return point


def _get(api: httpx.Client, datapoint_id: str) -> dict[str, Any]:
    (point,) = parsed(api.get(f"/v1/datapoints/{datapoint_id}"), GetDatapointResponse).datapoint
    return point.model_dump()


def _list(api: httpx.Client, **params: Any) -> list[dict[str, Any]]:
    # As the SDK's generated service sends them: lists in bracket form.
    answer = api.get("/v1/datapoints", params=_serialize_query_params(params))
    return [p.model_dump() for p in parsed(answer, GetDatapointsResponse).datapoints]


def _dataset(api: httpx.Client, name: str) -> str:
    created = parsed(api.post("/v1/datasets", json={"name": name}), CreateDatasetResponse)
    return created.result.insertedId


def test_a_datapoint_is_created_read_listed_updated_and_deleted(api: httpx.Client) -> None:
    dataset_id = _dataset(api, "set")
    other = _dataset(api, "other set")
    point = _create(
        api,
        inputs={"q": "hi"},
        history=[{"role": "user", "content": "hi"}],
        ground_truth={"a": "HI"},
        metadata={"m": 1},
        linked_datasets=[dataset_id],
        custom=[1, 2],
    )
    got = _get(api, point)
    assert got["inputs"] == {"q": "hi"} and got["ground_truth"] == {"a": "HI"}
    assert got["history"] == [{"role": "user", "content": "hi"}] and got["metadata"] == {"m": 1}
    assert got["linked_event"] is None and got["updated_at"] is None
    assert got["linked_datasets"] == [dataset_id] and got["custom"] == [1, 2]
    listed = parsed(api.get("/v1/datasets", params={"dataset_id": dataset_id}), GetDatasetsResponse)
    assert listed.datasets[0].datapoints == [point]

    loose = _create(api, inputs={"q": "alone"})
    assert [p["id"] for p in _list(api)] == [point, loose]
    assert [p["id"] for p in _list(api, datapoint_ids=[loose, point, "nope"])] == [loose, point]
    assert [p["id"] for p in _list(api, dataset_name="set")] == [point]
    assert [p["id"] for p in _list(api, dataset_id=dataset_id)] == [point]
    assert _list(api, dataset_name="nothing") == []
    assert _list(api, datapoint_ids=[loose], dataset_id=dataset_id) == []
    assert [p["id"] for p in _list(api, limit=1, page=2)] == [loose]

    # An update replaces the fields it names; linked_datasets joins more datasets.
    body = {"ground_truth": "HELLO", "linked_datasets": [other]}
    updated = api.put(f"/v1/datapoints/{point}", json=body)
    assert parsed(updated, UpdateDatapointResponse).result.modifiedCount == 1
    got = _get(api, point)
    assert got["ground_truth"] == {"value": "HELLO"}  # any JSON, answered as an object
    assert got["inputs"] == {"q": "hi"} and got["metadata"] == {"m": 1}
    assert got["updated_at"] is not None
    assert sorted(got["linked_datasets"]) == sorted([dataset_id, other])

    assert parsed(api.delete(f"/v1/datapoints/{point}"), DeleteDatapointResponse).deleted is True
    refused(api.get(f"/v1/datapoints/{point}"), 404, "NOT_FOUND", "datapoint_id")
    refused(api.delete(f"/v1/datapoints/{point}"), 404, "NOT_FOUND")
    refused(api.put(f"/v1/datapoints/{point}", json={"inputs": {}}), 404, "NOT_FOUND")
    assert [p["id"] for p in _list(api)] == [loose]
    assert _list(api, dataset_id=dataset_id) == []


def test_ground_truth_of_any_json_type_goes_out_as_an_object_or_null(api: httpx.Client) -> None:
    for sent, answered in [
        (None, None),
        ({"a": 1}, {"a": 1}),
        (4, {"value": 4}),
        ("four", {"value": "four"}),
        ([1, 2], {"value": [1, 2]}),
        (False, {"value": False}),
    ]:
        body = {"inputs": {}} if sent is None else {"inputs": {}, "ground_truth": sent}
        assert _get(api, _create(api, **body))["ground_truth"] == answered


def test_bad_datapoint_bodies_are_refused_naming_the_field(api: httpx.Client) -> None:
    for body, field in [
        ({"inputs": "x"}, "inputs"),
        ({"history": [{"role": "user"}, "hi"]}, "history[1]"),
        ({"history": {"role": "user"}}, "history"),
        ({"metadata": []}, "metadata"),
        ({"linked_event": 5}, "linked_event"),
        ({"linked_datasets": "ds"}, "linked_datasets"),
        ([], "body"),
    ]:
        refused(api.post("/v1/datapoints", json=body), 400, "VALIDATION_ERROR", field)
    refused(
        api.post("/v1/datapoints", json={"linked_datasets": ["nope"]}),
        404,
        "NOT_FOUND",
        "dataset_id",
    )
    refused(api.get("/v1/datapoints", params={"limit": "7501"}), 400, "VALIDATION_ERROR", "limit")
    assert _list(api) == []


def _seed_events(api: httpx.Client) -> tuple[str, list[str]]:
    """A session with three events: a chat one with ground truth in its feedback, one
    whose output stands in for ground truth, and one of another name."""
    session_id = str(uuid.uuid4())
    events = [
        {
            "event_type": "model",
            "event_name": "llm",
            "start_time": T0 + 1,
            "inputs": {"q": "hi", "chat_history": [{"role": "user", "content": "hi"}]},
            "outputs": {"text": "hello"},
            "feedback": {"ground_truth": "HELLO"},
            "metadata": {"topic": "greet"},
        },
        {
            "event_type": "tool",
            "event_name": "search",
            "start_time": T0 + 2,
            "inputs": {"q": "paris"},
            "outputs": {"hits": 3},
        },
        {"event_type": "tool", "event_name": "other", "start_time": T0 + 3, "inputs": {}},
    ]
    body = {
        "events": events,
        "is_single_session": True,
        "session_properties": {"session_id": session_id, "start_time": T0},
    }
    answer = api.post("/events/batch", json=body)
    assert answer.status_code == 200, answer.text
    event_ids: list[str] = answer.json()["event_ids"]
    return session_id, event_ids


def test_datapoints_are_made_from_stored_events_by_ids_or_by_filters(api: httpx.Client) -> None:
    _, (llm, search, other) = _seed_events(api)
    dataset_id = _dataset(api, "from events")
    by_ids = api.post(
        "/v1/datapoints/batch", json={"events": [llm, search], "dataset_id": dataset_id}
    )
    made = parsed(by_ids, BatchCreateDatapointsResponse)
    assert made.inserted is True and len(made.insertedIds) == 2
    first, second = (_get(api, i) for i in made.insertedIds)
    assert first["linked_event"] == llm and second["linked_event"] == search
    assert first["inputs"] == {"q": "hi"}
    assert first["history"] == [{"role": "user", "content": "hi"}]
    assert first["ground_truth"] == {"value": "HELLO"}  # feedback.ground_truth
    assert second["ground_truth"] == {"hits": 3}  # else the outputs
    assert [p["id"] for p in _list(api, dataset_id=dataset_id)] == made.insertedIds

    # A mapping names event fields; selectAll takes what filters and dateRange match,
    # checkState unticks one (the range in the SDK's {gte, lte} form).
    body = {
        "selectAll": True,
        "filters": [{"field": "event_type", "operator": "is", "value": "tool", "type": "string"}],
        "dateRange": {"gte": T0, "lte": T0 + 10},
        "checkState": {other: False},
        "mapping": {"inputs": ["inputs.q", "event_name"], "ground_truth": ["outputs.hits"]},
    }
    (mapped,) = parsed(
        api.post("/v1/datapoints/batch", json=body), BatchCreateDatapointsResponse
    ).insertedIds
    point = _get(api, mapped)
    assert point["inputs"] == {"q": "paris", "event_name": "search"}
    assert point["ground_truth"] == {"hits": 3} and point["linked_event"] == search


def test_a_batch_naming_an_unknown_event_or_nothing_writes_nothing(
    server: LiveServer, api: httpx.Client
) -> None:
    _, (llm, _, _) = _seed_events(api)
    refused(
        api.post("/v1/datapoints/batch", json={"events": [llm, "nope"]}), 404, "NOT_FOUND", "events"
    )
    refused(api.post("/v1/datapoints/batch", json={}), 400, "VALIDATION_ERROR", "events")
    refused(
        api.post("/v1/datapoints/batch", json={"events": [llm], "mapping": {"inputs": ["x.y"]}}),
        400,
        "VALIDATION_ERROR",
        "mapping.inputs[0]",
    )
    refused(
        api.post("/v1/datapoints/batch", json={"checkState": {llm: "yes"}}),
        400,
        "VALIDATION_ERROR",
        f"checkState.{llm}",
    )
    refused(
        api.post("/v1/datapoints/batch", json={"events": [llm], "dataset_id": "nope"}),
        404,
        "NOT_FOUND",
        "dataset_id",
    )
    nothing = {
        "selectAll": True,
        "filters": [{"field": "event_name", "operator": "is", "value": "absent", "type": "string"}],
    }
    refused(api.post("/v1/datapoints/batch", json=nothing), 400, "VALIDATION_ERROR", "events")
    assert _list(api) == []
    # Another project's events are absent too.
    server.store.create_project("other")
    with server.client(server.new_key("other")) as other:
        refused(other.post("/v1/datapoints/batch", json={"events": [llm]}), 404, "NOT_FOUND")


def test_another_projects_datapoints_answer_404_and_stay_as_they_were(
    server: LiveServer, api: httpx.Client
) -> None:
    point = _create(api, inputs={"secret": "a"})
    dataset_id = _dataset(api, "mine")
    body = {"data": [{"q": 1}], "mapping": {"inputs": ["q"]}}
    parsed(api.post(f"/v1/datasets/{dataset_id}/datapoints", json=body), AddDatapointsResponse)
    before = _list(api)
    server.store.create_project("other")
    with server.client(server.new_key("other")) as other:
        refused(other.get(f"/v1/datapoints/{point}"), 404, "NOT_FOUND")
        refused(other.put(f"/v1/datapoints/{point}", json={"inputs": {}}), 404, "NOT_FOUND")
        refused(other.delete(f"/v1/datapoints/{point}"), 404, "NOT_FOUND")
        assert _list(other) == [] and _list(other, datapoint_ids=[point]) == []
        assert _list(other, dataset_id=dataset_id) == [] and _list(other, dataset_name="mine") == []
        refused(
            other.post("/v1/datapoints", json={"linked_datasets": [dataset_id]}), 404, "NOT_FOUND"
        )
    assert _list(api) == before
