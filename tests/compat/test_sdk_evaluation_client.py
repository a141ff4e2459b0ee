"""The real honeyhive 1.7.0 client's `datasets`, `datapoints`, `configurations`,
`metrics`, `metric_versions` and `charts` namespaces against a live hivekeeper, on
every store: every public method, its async twin and its backwards-compatible alias,
called as users call them, returning without raising and round-tripping the values.

Each test records the methods it called and fails if its namespace has one it did not
call, so a method the SDK gains is not silently left out.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable
from typing import Any, TypeVar

import pytest
from honeyhive import HoneyHive
from honeyhive._generated.api_config import HTTPException
from honeyhive.api.client import (
    ChartsAPI,
    ConfigurationsAPI,
    DatapointsAPI,
    DatasetsAPI,
    MetricsAPI,
    MetricVersionsAPI,
)
from honeyhive.models import (
    AddDatapointsToDatasetRequest,
    CreateChartRequest,
    CreateConfigurationRequest,
    CreateDatapointRequest,
    CreateDatasetRequest,
    CreateMetricRequest,
    CreateMetricVersionRequest,
    DatapointMapping,
    UpdateChartRequest,
    UpdateConfigurationRequest,
    UpdateDatapointRequest,
    UpdateDatasetRequest,
    UpdateMetricRequest,
)
from honeyhive.utils import RetryConfig

from tests.support.server import LiveServer

T = TypeVar("T")
PARAMETERS = {"call_type": "chat", "model": "gpt-4o"}
ROWS = [
    {"question": "2+2?", "answer": "4", "topic": "math"},
    {"question": "capital of France?", "answer": "Paris", "topic": "geo"},
]


class Calls:
    """Calls methods of one SDK namespace and remembers which."""

    def __init__(self, namespace: object) -> None:
        self.namespace = namespace
        self.called: set[str] = set()

    def __call__(self, method: str, *args: Any, **kwargs: Any) -> Any:
        self.called.add(method)
        result = getattr(self.namespace, method)(*args, **kwargs)
        return asyncio.run(result) if inspect.isawaitable(result) else result

    def deprecated(self, method: str, *args: Any, **kwargs: Any) -> Any:
        """A call the SDK warns about (a legacy form it still sends)."""
        with pytest.warns(DeprecationWarning):
            return self(method, *args, **kwargs)

    def assert_every_method(self, api: type) -> None:
        public = {
            name
            for name, member in vars(api).items()
            if not name.startswith("_") and callable(member)
        }
        assert public - self.called == set(), "methods of the namespace never called"


def _client(server: LiveServer, **keys: str) -> HoneyHive:
    return HoneyHive(
        api_key=server.key,
        server_url=server.url,
        timeout=60,
        retry_config=RetryConfig(max_retries=0),
        **keys,
    )


def _gather(*calls: Awaitable[T]) -> list[T]:
    async def run() -> list[T]:
        return list(await asyncio.gather(*calls))

    return asyncio.run(run())


def test_datasets(server: LiveServer) -> None:
    client = _client(server)
    call = Calls(client.datasets)
    first = call("create", CreateDatasetRequest(name="qa", description="questions"))
    dataset_id = first.result.insertedId
    second = call("create_async", CreateDatasetRequest(name="qa")).result.insertedId
    third = call("create_dataset", CreateDatasetRequest()).result.insertedId

    mapping = DatapointMapping(inputs=["question"], ground_truth=["answer"])
    added = call(
        "add_datapoints", dataset_id, AddDatapointsToDatasetRequest(data=ROWS, mapping=mapping)
    )
    assert added.inserted is True and len(added.datapoint_ids) == 2
    more = call(
        "add_datapoints_async",
        second,
        AddDatapointsToDatasetRequest(data=ROWS[:1], mapping=mapping),
    )
    (datapoint,) = client.datapoints.get(added.datapoint_ids[0]).datapoint
    assert datapoint.inputs == {"question": "2+2?"} and datapoint.ground_truth == {"answer": "4"}
    assert datapoint.metadata == {"topic": "math"}

    (listed,) = call("list", dataset_id=dataset_id).datasets
    assert (listed.name, listed.description, listed.datapoints) == (
        "qa",
        "questions",
        added.datapoint_ids,
    )
    assert [d.id for d in call("list", name="qa").datasets] == [dataset_id, second]
    assert [d.id for d in call("list_async").datasets] == [dataset_id, second, third]
    assert call("list_datasets", name="Untitled Dataset").datasets[0].id == third
    assert call("get_dataset", second).datasets[0].datapoints == more.datapoint_ids

    updated = call("update", UpdateDatasetRequest(dataset_id=dataset_id, name="qa 2"))
    assert updated.result.name == "qa 2" and updated.result.datapoints == added.datapoint_ids
    keep = added.datapoint_ids[:1]
    trimmed = call("update_async", UpdateDatasetRequest(dataset_id=dataset_id, datapoints=keep))
    assert trimmed.result.datapoints == keep
    described = call("update_dataset", UpdateDatasetRequest(dataset_id=third, description="d"))
    assert described.result.description == "d"

    removed = call("remove_datapoint", dataset_id, keep[0])
    assert removed.dereferenced is True
    again = call("remove_datapoint_async", dataset_id, keep[0])
    assert again.dereferenced is False and keep[0] in again.message
    assert call("list", dataset_id=dataset_id).datasets[0].datapoints == []

    assert call("delete", dataset_id).result.id == dataset_id
    assert call("delete_async", second).result.id == second
    assert call("delete_dataset", third).result.id == third
    assert call("list").datasets == []
    with pytest.raises(HTTPException) as missing:
        client.datasets.delete(dataset_id)
    assert missing.value.status_code == 404
    call.assert_every_method(DatasetsAPI)


def test_datapoints(server: LiveServer) -> None:
    client = _client(server)
    call = Calls(client.datapoints)
    dataset_id = client.datasets.create(CreateDatasetRequest(name="dps")).result.insertedId
    created = call(
        "create",
        CreateDatapointRequest(
            inputs={"q": "hi"},
            history=[{"role": "user", "content": "hi"}],
            ground_truth={"a": "HI"},
            metadata={"m": 1},
            linked_datasets=[dataset_id],
        ),
    )
    (point,) = created.result.insertedIds
    (async_point,) = call(
        "create_async", CreateDatapointRequest(inputs={"q": 2})
    ).result.insertedIds
    (alias_point,) = call(
        "create_datapoint", CreateDatapointRequest(inputs={"q": 3})
    ).result.insertedIds

    (got,) = call("get", point).datapoint
    assert (got.inputs, got.history, got.ground_truth, got.metadata) == (
        {"q": "hi"},
        [{"role": "user", "content": "hi"}],
        {"a": "HI"},
        {"m": 1},
    )
    assert got.linked_datasets == [dataset_id] and got.linked_event is None
    assert call("get_async", async_point).datapoint[0].inputs == {"q": 2}
    assert call("get_datapoint", alias_point).datapoint[0].inputs == {"q": 3}

    assert [p.id for p in call("list").datapoints] == [point, async_point, alias_point]
    assert [p.id for p in call("list", dataset_name="dps").datapoints] == [point]
    assert [p.id for p in call("list_async", datapoint_ids=[alias_point, point]).datapoints] == [
        alias_point,
        point,
    ]
    listed = call("list_datapoints", datapoint_ids=[async_point])
    assert [p.id for p in listed.datapoints] == [async_point]

    # More ids than one request takes: the SDK batches them by 100, in order.
    rows = [{"question": f"q{i}"} for i in range(150)]
    many = client.datasets.add_datapoints(
        dataset_id,
        AddDatapointsToDatasetRequest(data=rows, mapping=DatapointMapping(inputs=["question"])),
    ).datapoint_ids
    assert [p.id for p in call("list", datapoint_ids=many).datapoints] == many
    assert [p.id for p in call("list_async", datapoint_ids=many).datapoints] == many

    updated = call("update", point, UpdateDatapointRequest(ground_truth={"a": "HELLO"}))
    assert updated.updated is True and updated.result.modifiedCount == 1
    call("update_async", async_point, UpdateDatapointRequest(metadata={"m": 2}))
    call("update_datapoint", alias_point, UpdateDatapointRequest(inputs={"q": 33}))
    (got,) = client.datapoints.get(point).datapoint
    assert got.ground_truth == {"a": "HELLO"} and got.inputs == {"q": "hi"}
    assert client.datapoints.get(async_point).datapoint[0].metadata == {"m": 2}
    assert client.datapoints.get(alias_point).datapoint[0].inputs == {"q": 33}

    assert call("delete", point).deleted is True
    assert call("delete_async", async_point).deleted is True
    assert call("delete_datapoint", alias_point).deleted is True
    with pytest.raises(HTTPException) as missing:
        client.datapoints.get(point)
    assert missing.value.status_code == 404
    assert sorted(p.id for p in client.datapoints.list().datapoints) == sorted(many)
    call.assert_every_method(DatapointsAPI)


def test_configurations(server: LiveServer) -> None:
    client = _client(server)
    call = Calls(client.configurations)
    created = call(
        "create",
        CreateConfigurationRequest(
            name="greeter", provider="openai", parameters=PARAMETERS, env=["dev"], tags=["a"]
        ),
    )
    config_id = created.insertedId
    second = call(
        "create_async",
        CreateConfigurationRequest(name="summarizer", provider="anthropic", parameters=PARAMETERS),
    ).insertedId
    third = call(
        "create_configuration",
        CreateConfigurationRequest(name="router", provider="openai", parameters=PARAMETERS),
    ).insertedId

    listed = call("list")
    assert [c.id for c in listed] == [config_id, second, third]
    assert (listed[0].name, listed[0].provider, listed[0].env, listed[0].tags) == (
        "greeter",
        "openai",
        ["dev"],
        ["a"],
    )
    assert listed[0].parameters.model == "gpt-4o"
    assert [c.id for c in call("list_async")] == [config_id, second, third]
    assert [c.id for c in call("list_configurations")] == [config_id, second, third]
    assert [c.id for c in call("get_configuration", config_id)] == [config_id, second, third]
    with pytest.warns(DeprecationWarning, match="project"):
        assert len(call("list", project="ignored")) == 3

    parameters = {**PARAMETERS, "model": "gpt-4.1"}
    updated = call(
        "update",
        config_id,
        UpdateConfigurationRequest(name="greeter", parameters=parameters, env=["prod"]),
    )
    assert updated.acknowledged is True and updated.modifiedCount == 1
    call("update_async", second, UpdateConfigurationRequest(name="summarizer 2"))
    call("update_configuration", third, UpdateConfigurationRequest(name="router", tags=["b"]))
    greeter, summarizer, router = client.configurations.list()
    assert greeter.parameters.model == "gpt-4.1" and greeter.env == ["dev", "prod"]
    assert summarizer.name == "summarizer 2" and router.tags == ["b"]

    assert call("delete", config_id).deletedCount == 1
    assert call("delete_async", second).acknowledged is True
    assert call("delete_configuration", third).deletedCount == 1
    assert client.configurations.list() == []
    call.assert_every_method(ConfigurationsAPI)


def _metric(name: str, **more: Any) -> CreateMetricRequest:
    fields = {"type": "PYTHON", "criteria": f"def {name}(): ...", **more}
    return CreateMetricRequest(name=name, **fields)


def test_metrics(server: LiveServer) -> None:
    client = _client(server)
    call = Calls(client.metrics)
    metric_id = call("create", _metric("accuracy", threshold={"min": 0.5})).metric_id
    second = call("create_async", _metric("tone", type="LLM")).metric_id
    third = call("create_metric", _metric("length")).metric_id

    listed = call("list")
    assert [m.id for m in listed] == [metric_id, second, third]
    assert listed[0].name == "accuracy" and listed[0].threshold == {"min": 0.5}
    assert [m.id for m in call("list", type="LLM")] == [second]
    assert [m.id for m in call("list_async", type="PYTHON")] == [metric_id, third]
    assert [m.id for m in call("list_metrics")] == [metric_id, second, third]
    with pytest.warns(DeprecationWarning, match="name"):
        assert len(call("list", name="ignored")) == 3
    assert [m.id for m in call("get_metric", second)] == [second]

    assert call("update", UpdateMetricRequest(id=metric_id, threshold={"min": 0.8})).updated is True
    call("update_async", UpdateMetricRequest(id=second, description="tone of voice"))
    call("update_metric", UpdateMetricRequest(id=third, criteria="def length(): return 1"))
    accuracy, tone, length = client.metrics.list()
    assert accuracy.threshold == {"min": 0.8} and tone.description == "tone of voice"
    assert length.criteria == "def length(): return 1"

    assert call("delete", metric_id).deleted is True
    assert call("delete_async", second).deleted is True
    assert call("delete_metric", third).deleted is True
    assert client.metrics.list() == []
    call.assert_every_method(MetricsAPI)


def test_metric_versions(server: LiveServer) -> None:
    client = _client(server)
    call = Calls(client.metric_versions)
    metric_id = client.metrics.create(_metric("accuracy", threshold={"min": 0.5})).metric_id
    (first,) = call("list", metric_id).data
    assert first.deployed is True and first.content.threshold == {"min": 0.5}

    content = {"name": "accuracy", "type": "PYTHON", "criteria": "x", "threshold": {"min": 0.9}}
    made = call(
        "create", metric_id, CreateMetricVersionRequest(message="stricter", content=content)
    ).data
    assert made.message == "stricter" and made.deployed is False
    assert client.metrics.list()[0].threshold == {"min": 0.5}
    live = call(
        "create_async",
        metric_id,
        CreateMetricVersionRequest(
            message="loose", content={**content, "threshold": {"min": 0.1}}, deploy_immediately=True
        ),
    ).data
    assert live.deployed is True and client.metrics.list()[0].threshold == {"min": 0.1}

    deployed = call("deploy", metric_id, made.name).data
    assert deployed.full_sha == made.full_sha and deployed.deployed is True
    assert client.metrics.list()[0].threshold == {"min": 0.9}
    assert call("deploy_async", metric_id, "v1").data.full_sha == first.full_sha
    versions = call("list_async", metric_id).data
    assert [v.message for v in versions] == ["", "stricter", "loose"]
    assert [v.deployed for v in versions] == [True, False, False]
    call.assert_every_method(MetricVersionsAPI)


def test_charts_with_the_project_key_and_with_a_data_plane_key(server: LiveServer) -> None:
    project_id = server.store.list_projects()[0].id
    client = _client(server, data_plane_api_key=server.new_key(kind="dataplane"))
    call = Calls(client.charts)
    request = CreateChartRequest(
        name="cost",
        metric="metadata.cost",
        func="p95",
        bucketing="day",
        dateRange={"gte": "2026-01-01T00:00:00Z", "lte": "2026-12-31T00:00:00Z"},
        query=[{"field": "event_type", "operator": "is", "value": "model", "type": "string"}],
    )
    # Without project_id: the project key, and a DeprecationWarning from the SDK.
    legacy = call.deprecated("create", request).data
    assert (legacy.name, legacy.func, legacy.bucketing) == ("cost", "p95", "day")
    legacy_async = call.deprecated("create_async", request).data
    assert call.deprecated("get", legacy.id).data.metric == "metadata.cost"
    assert call.deprecated("get_async", legacy_async.id).data.id == legacy_async.id
    assert [c.id for c in call.deprecated("list").data] == [legacy.id, legacy_async.id]
    assert len(call.deprecated("list_async").data) == 2
    renamed = call.deprecated("update", legacy.id, UpdateChartRequest(name="cost p95")).data
    assert renamed.name == "cost p95" and renamed.func == "p95"
    call.deprecated("update_async", legacy_async.id, UpdateChartRequest(description="d"))
    assert call.deprecated("delete", legacy.id).success is True
    assert call.deprecated("delete_async", legacy_async.id).success is True

    # With project_id: the data-plane key, under /v1/projects/{id}.
    scoped = call("create", request, project_id=project_id).data
    scoped_async = call("create_async", request, project_id=project_id).data
    assert call("get", scoped.id, project_id=project_id).data.name == "cost"
    assert call("get_async", scoped_async.id, project_id=project_id).data.id == scoped_async.id
    assert [c.id for c in call("list", project_id=project_id).data] == [scoped.id, scoped_async.id]
    updated = call(
        "update", scoped.id, UpdateChartRequest(groupBy="config.model"), project_id=project_id
    )
    assert updated.data.groupBy == "config.model" and updated.data.name == "cost"
    call("update_async", scoped_async.id, UpdateChartRequest(name="c2"), project_id=project_id)
    assert call("list_async", project_id=project_id).data[1].name == "c2"
    assert call("delete", scoped.id, project_id=project_id).success is True
    assert call("delete_async", scoped_async.id, project_id=project_id).success is True
    assert client.charts.list(project_id=project_id).data == []
    with pytest.raises(HTTPException) as foreign:
        client.charts.list(project_id=server.store.create_project("other").id)
    assert foreign.value.status_code == 404
    call.assert_every_method(ChartsAPI)


def test_the_async_variants_run_concurrently(server: LiveServer) -> None:
    client = _client(server)
    datasets = _gather(
        *(client.datasets.create_async(CreateDatasetRequest(name=f"d{i}")) for i in range(5))
    )
    ids = {d.result.insertedId for d in datasets}
    assert len(ids) == 5
    assert {d.id for d in client.datasets.list().datasets} == ids
