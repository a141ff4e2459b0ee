"""Datasets over HTTP, on every store: both route generations, rows added through a
mapping, versions and their history, removing a datapoint, a 10,000-row import, and
bad input or another project's ids refused with nothing written.

Answers are parsed by the honeyhive SDK's own response models, as its client does.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from honeyhive._generated.models import (
    AddDatapointsResponse,
    CreateDatapointResponse,
    CreateDatasetResponse,
    DeleteDatasetResponse,
    GetDatapointsResponse,
    GetDatasetsResponse,
    RemoveDatapointResponse,
    UpdateDatasetResponse,
)

from hivekeeper.domain.evaluation.ops import PutRun
from tests.support.server import LiveServer
from tests.support.validation import parsed, refused

ROWS = [
    {"question": "2+2?", "answer": "4", "turns": {"role": "user", "content": "hi"}, "topic": "m"},
    {"question": "capital of France?", "answer": "Paris", "topic": "geo"},
]
MAPPING = {"inputs": ["question"], "ground_truth": ["answer"], "history": ["turns"]}


def _create(api: httpx.Client, **body: Any) -> str:
    return parsed(api.post("/v1/datasets", json=body), CreateDatasetResponse).result.insertedId


def _add(
    api: httpx.Client,
    dataset_id: str,
    rows: list[dict[str, Any]],
    mapping: dict[str, list[str]] = MAPPING,
) -> list[str]:
    body = {"data": rows, "mapping": mapping}
    answer = api.post(f"/v1/datasets/{dataset_id}/datapoints", json=body)
    return parsed(answer, AddDatapointsResponse).datapoint_ids


def _one(api: httpx.Client, **params: Any) -> dict[str, Any]:
    listed = parsed(api.get("/v1/datasets", params=params), GetDatasetsResponse)
    (dataset,) = listed.datasets
    return dataset.model_dump()


def _datasets(api: httpx.Client, **params: Any) -> list[dict[str, Any]]:
    listed = parsed(api.get("/v1/datasets", params=params), GetDatasetsResponse)
    return [d.model_dump() for d in listed.datasets]


def test_a_dataset_is_created_listed_updated_and_deleted_in_both_generations(
    api: httpx.Client,
) -> None:
    untitled = _create(api)
    assert _one(api, dataset_id=untitled)["name"] == "Untitled Dataset"
    loose = parsed(api.post("/v1/datapoints", json={"inputs": {"q": 1}}), CreateDatapointResponse)
    (point,) = loose.result.insertedIds
    first = _create(api, name="qa", description="questions", datapoints=[point])
    twin = _create(api, name="qa")  # names are not unique: both are listed by name

    dataset = _one(api, dataset_id=first)
    assert (dataset["name"], dataset["description"], dataset["datapoints"]) == (
        "qa",
        "questions",
        [point],
    )
    assert dataset["version"] == 1 and dataset["num_datapoints"] == 1
    assert [d["id"] for d in _datasets(api, name="qa")] == [first, twin]
    assert [d["id"] for d in _datasets(api)] == [untitled, first, twin]
    assert _datasets(api, name="nothing") == []

    # 1.7.0's client updates through PUT /v1/datasets with the id in the body.
    legacy = api.put("/v1/datasets", json={"dataset_id": first, "name": "qa v2"})
    updated = parsed(legacy, UpdateDatasetResponse).result
    assert (updated.name, updated.description, updated.datapoints) == (
        "qa v2",
        "questions",
        [point],
    )
    # The newer route: `datapoints` replaces the membership, a new version.
    renamed = api.put(f"/v1/datasets/{first}", json={"description": "d", "datapoints": []})
    replaced = parsed(renamed, UpdateDatasetResponse).result.model_dump()
    assert (replaced["name"], replaced["description"], replaced["datapoints"]) == ("qa v2", "d", [])
    assert replaced["version"] == 2

    deleted = api.delete("/v1/datasets", params={"dataset_id": first})
    assert parsed(deleted, DeleteDatasetResponse).result.id == first
    assert parsed(api.delete(f"/v1/datasets/{twin}"), DeleteDatasetResponse).result.id == twin
    assert [d["id"] for d in _datasets(api)] == [untitled]
    assert _datasets(api, dataset_id=first) == []
    refused(api.delete(f"/v1/datasets/{first}"), 404, "NOT_FOUND", "dataset_id")
    refused(api.put(f"/v1/datasets/{first}", json={"name": "x"}), 404, "NOT_FOUND", "dataset_id")


def test_rows_become_datapoints_through_the_mapping_and_the_rest_is_metadata(
    api: httpx.Client,
) -> None:
    dataset_id = _create(api, name="rows")
    ids = _add(api, dataset_id, ROWS)
    assert len(ids) == 2
    assert _one(api, dataset_id=dataset_id)["datapoints"] == ids  # row order

    listed = parsed(
        api.get("/v1/datapoints", params={"dataset_id": dataset_id}), GetDatapointsResponse
    )
    first, second = (p.model_dump() for p in listed.datapoints)
    assert [first["id"], second["id"]] == ids
    assert first["inputs"] == {"question": "2+2?"}
    assert first["ground_truth"] == {"answer": "4"}
    assert first["history"] == [{"role": "user", "content": "hi"}]
    assert first["metadata"] == {"topic": "m"}
    assert first["linked_datasets"] == [dataset_id]
    assert second["history"] == [] and second["metadata"] == {"topic": "geo"}

    # include_datapoints inlines whole Datapoint objects.
    inline = api.get(
        "/v1/datasets", params={"dataset_id": dataset_id, "include_datapoints": "true"}
    )
    assert inline.status_code == 200
    (dataset,) = inline.json()["datasets"]
    points = GetDatapointsResponse.model_validate({"datapoints": dataset["datapoints"]})
    assert [p.model_dump() for p in points.datapoints] == [first, second]


def test_every_change_is_a_version_and_an_old_version_reads_as_it_was(
    server: LiveServer, api: httpx.Client
) -> None:
    dataset_id = _create(api, name="versions")
    a, b = _add(api, dataset_id, ROWS)
    assert api.put(f"/v1/datapoints/{a}", json={"inputs": {"question": "3+3?"}}).status_code == 200
    gone = api.delete(f"/v1/datasets/{dataset_id}/{b}")
    assert parsed(gone, RemoveDatapointResponse).dereferenced is True

    dataset = _one(api, dataset_id=dataset_id)
    assert dataset["version"] == 3 and dataset["datapoints"] == [a]
    history = dataset["versions"]
    assert [(v["version"], v["added"], v["removed"], v["edited"]) for v in history] == [
        (1, 2, 0, 0),
        (2, 0, 0, 1),
        (3, 0, 1, 0),
    ]
    key_id = server.key.split("_")[1]
    assert {v["key_id"] for v in history} == {key_id}

    first = api.get(
        "/v1/datasets",
        params={"dataset_id": dataset_id, "version": "1", "include_datapoints": "true"},
    )
    assert first.status_code == 200, first.text
    (then,) = first.json()["datasets"]
    assert then["version"] == 1 and len(then["versions"]) == 1
    # Whole datapoints (an extension the SDK never asks for), as version 1 showed them.
    points = GetDatapointsResponse.model_validate({"datapoints": then["datapoints"]}).datapoints
    assert [p.id for p in points] == [a, b]
    assert [p.inputs["question"] for p in points] == ["2+2?", "capital of France?"]
    ids_then = _one(api, dataset_id=dataset_id, version=2)["datapoints"]
    assert ids_then == [a, b]

    refused(
        api.get("/v1/datasets", params={"dataset_id": dataset_id, "version": 4}),
        404,
        "NOT_FOUND",
        "version",
    )
    refused(api.get("/v1/datasets", params={"version": 1}), 400, "VALIDATION_ERROR", "version")
    refused(api.get("/v1/datasets", params={"version": "0"}), 400, "VALIDATION_ERROR", "version")


def test_removing_a_datapoint_from_a_dataset_keeps_the_datapoint(api: httpx.Client) -> None:
    dataset_id = _create(api, name="remove")
    a, b = _add(api, dataset_id, ROWS)
    spec_path = api.delete(f"/v1/datasets/{dataset_id}/datapoints/{a}")
    assert parsed(spec_path, RemoveDatapointResponse).dereferenced is True
    again = parsed(api.delete(f"/v1/datasets/{dataset_id}/{a}"), RemoveDatapointResponse)
    assert again.dereferenced is False and a in again.message
    assert _one(api, dataset_id=dataset_id)["datapoints"] == [b]
    assert api.get(f"/v1/datapoints/{a}").status_code == 200
    refused(api.delete(f"/v1/datasets/nope/{b}"), 404, "NOT_FOUND", "dataset_id")


def test_a_dataset_a_run_uses_is_deleted_only_when_forced(
    server: LiveServer, api: httpx.Client
) -> None:
    dataset_id = _create(api, name="used")
    project_id = server.store.list_projects()[0].id
    # The runs routes live elsewhere; the store records a run on this dataset.
    server.store.write_batch([PutRun(project_id, "run-1", {"dataset_id": dataset_id}, True)], 1.0)
    refused(api.delete(f"/v1/datasets/{dataset_id}"), 409, "CONFLICT", "dataset_id")
    assert _one(api, dataset_id=dataset_id)["id"] == dataset_id
    forced = api.delete("/v1/datasets", params={"dataset_id": dataset_id, "force": "true"})
    assert parsed(forced, DeleteDatasetResponse).result.id == dataset_id
    assert _datasets(api) == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"data": [{"q": 1}], "mapping": {"inputs": ["question"]}}, "mapping.inputs[0]"),
        (
            {"data": [{"q": 1}], "mapping": {"inputs": ["q"], "ground_truth": ["q"]}},
            "mapping.ground_truth[0]",
        ),
        ({"data": [{"q": 1}], "mapping": {"inputs": "q"}}, "mapping.inputs"),
        ({"data": [{"q": 1}, "row"], "mapping": {}}, "data[1]"),
        ({"data": [], "mapping": {}}, "data"),
        ({"mapping": {}}, "data"),
        ({"data": [{"h": 1}], "mapping": {"history": ["h"]}}, "data[0].h"),
        ({"data": [{"q": 1}], "mapping": []}, "mapping"),
    ],
)
def test_bad_rows_are_refused_naming_the_field_and_nothing_is_written(
    api: httpx.Client, body: dict[str, Any], field: str
) -> None:
    dataset_id = _create(api, name="strict")
    refused(
        api.post(f"/v1/datasets/{dataset_id}/datapoints", json=body), 400, "VALIDATION_ERROR", field
    )
    assert _one(api, dataset_id=dataset_id)["version"] == 0
    assert parsed(api.get("/v1/datapoints"), GetDatapointsResponse).datapoints == []


def test_bad_dataset_bodies_and_unknown_ids_write_nothing(api: httpx.Client) -> None:
    refused(api.post("/v1/datasets", json={"name": 5}), 400, "VALIDATION_ERROR", "name")
    refused(api.post("/v1/datasets", json={"name": " "}), 400, "VALIDATION_ERROR", "name")
    refused(
        api.post("/v1/datasets", json={"datapoints": "x"}), 400, "VALIDATION_ERROR", "datapoints"
    )
    refused(api.post("/v1/datasets", json=["x"]), 400, "VALIDATION_ERROR", "body")
    refused(api.post("/v1/datasets", content=b"{"), 400, "INVALID_JSON", "body")
    refused(
        api.post("/v1/datasets", json={"datapoints": ["no-such-point"]}),
        404,
        "NOT_FOUND",
        "datapoints",
    )
    assert _datasets(api) == []
    refused(api.put("/v1/datasets", json={"name": "x"}), 400, "VALIDATION_ERROR", "dataset_id")
    refused(api.delete("/v1/datasets"), 400, "VALIDATION_ERROR", "dataset_id")
    refused(
        api.post("/v1/datasets/nope/datapoints", json={"data": [{"q": 1}], "mapping": {}}),
        404,
        "NOT_FOUND",
        "dataset_id",
    )
    assert parsed(api.get("/v1/datapoints"), GetDatapointsResponse).datapoints == []


def test_ten_thousand_rows_are_one_all_or_nothing_import(
    server: LiveServer, api: httpx.Client
) -> None:
    limit = server.settings.max_batch_events
    assert limit == 10_000
    dataset_id = _create(api, name="big")
    rows = [{"question": f"q{i}", "answer": i, "n": i} for i in range(limit)]
    ids = _add(api, dataset_id, rows, {"inputs": ["question"], "ground_truth": ["answer"]})
    assert len(ids) == limit == len(set(ids))
    dataset = _one(api, dataset_id=dataset_id)
    assert dataset["datapoints"] == ids and dataset["version"] == 1
    page = api.get("/v1/datapoints", params={"dataset_id": dataset_id, "page": 2, "limit": 7500})
    last = parsed(page, GetDatapointsResponse).datapoints[-1].model_dump()
    assert last["inputs"] == {"question": f"q{limit - 1}"} and last["metadata"] == {"n": limit - 1}

    # One row too many, or one bad row at the end: nothing of the import is stored.
    over = [*rows, {"question": "one more"}]
    refused(
        api.post(f"/v1/datasets/{dataset_id}/datapoints", json={"data": over, "mapping": {}}),
        400,
        "VALIDATION_ERROR",
        "data",
    )
    bad_last = [*rows[:-1], {"turns": "not a message"}]
    body = {"data": bad_last, "mapping": {"history": ["turns"]}}
    refused(
        api.post(f"/v1/datasets/{dataset_id}/datapoints", json=body),
        400,
        "VALIDATION_ERROR",
        f"data[{limit - 1}].turns",
    )
    assert _one(api, dataset_id=dataset_id)["version"] == 1


def test_another_projects_datasets_answer_404_and_stay_as_they_were(
    server: LiveServer, api: httpx.Client
) -> None:
    dataset_id = _create(api, name="mine")
    (point,) = _add(api, dataset_id, ROWS[:1])
    before = _one(api, dataset_id=dataset_id)
    server.store.create_project("other")
    with server.client(server.new_key("other")) as other:
        assert _datasets(other) == [] and _datasets(other, dataset_id=dataset_id) == []
        refused(
            other.put("/v1/datasets", json={"dataset_id": dataset_id, "name": "x"}),
            404,
            "NOT_FOUND",
        )
        refused(other.put(f"/v1/datasets/{dataset_id}", json={"datapoints": []}), 404, "NOT_FOUND")
        refused(other.delete("/v1/datasets", params={"dataset_id": dataset_id}), 404, "NOT_FOUND")
        refused(other.delete(f"/v1/datasets/{dataset_id}/{point}"), 404, "NOT_FOUND")
        refused(
            other.post(
                f"/v1/datasets/{dataset_id}/datapoints", json={"data": [{"q": 1}], "mapping": {}}
            ),
            404,
            "NOT_FOUND",
        )
        own = _create(other, name="theirs")
        refused(
            other.put(f"/v1/datasets/{own}", json={"datapoints": [point]}),
            404,
            "NOT_FOUND",
            "datapoints",
        )
    assert _one(api, dataset_id=dataset_id) == before
