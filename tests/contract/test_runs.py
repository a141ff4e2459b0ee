"""Experiment runs over HTTP, on every store, through the real 1.7.0 client where it has
a method: runs created, read, updated, listed and deleted; results for every aggregate
function, computed from the stored events when asked (a late event changes the next
answer); two runs compared; their events paired; scored events; schemas. Every answer
is parsed by the SDK's own models (`honeyhive._generated.models` and, for results and
comparisons, the second pass `evaluate()` and `compare_runs()` make through
`honeyhive.experiments`).
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import httpx
import pytest
from honeyhive import HoneyHive
from honeyhive._generated.api_config import HTTPException
from honeyhive._generated.models import (
    GetEventsSchemaResponse,
    GetExperimentCompareEventsResponse,
    GetExperimentRunCompareResponse,
    GetExperimentRunMetricsResponse,
    GetExperimentRunResultResponse,
)
from honeyhive._generated.services import Experiments_service as experiments_svc
from honeyhive.experiments import compare_runs, get_run_result
from honeyhive.models import PostExperimentRunRequest, PutExperimentRunRequest

from hivekeeper.domain.evaluation import versions
from hivekeeper.domain.evaluation.ops import SaveVersion
from tests.support.experiment_runs import add_session, ok, seed_run, start_run
from tests.support.server import LiveServer

OLD = {
    "d1": {"accuracy": 0.5, "ok": True, "label": "good"},
    "d2": {"accuracy": 0.8, "ok": False, "label": "bad"},
    "d3": {"accuracy": 0.2, "ok": True, "label": "good"},
    "d4": {"accuracy": 1.0, "ok": True, "label": "meh"},
}
NEW = {
    "d1": {"accuracy": 0.7},  # improved
    "d2": {"accuracy": 0.8},  # same
    "d3": {"accuracy": 0.1},  # degraded
    "d5": {"accuracy": 0.6},  # only in the new run; d4 only in the old
}
# accuracy of OLD in run order, sorted: 0.2, 0.5, 0.8, 1.0; percentiles interpolate.
OLD_ACCURACY = {
    "average": 0.625,
    "sum": 2.5,
    "min": 0.2,
    "max": 1.0,
    "median": 0.65,
    "p90": 0.94,
    "p95": 0.97,
    "p99": 0.994,
    "count": 4,
}


@pytest.fixture
def sdk(server: LiveServer) -> HoneyHive:
    """The real 1.7.0 client, with the server's full key."""
    return HoneyHive(api_key=server.key, server_url=server.url)


def _details(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {d["metric_name"]: d for d in body["metrics"]["details"]}


# --- runs ---
def test_a_run_is_created_read_updated_listed_and_deleted(
    sdk: HoneyHive, api: httpx.Client
) -> None:
    created = sdk.experiments.create_run(
        PostExperimentRunRequest(
            run_id="ci-1234",
            name="first",
            status="pending",
            dataset_id="EXT-abc",
            datapoint_ids=["EXT-1", "EXT-2"],
            configuration={"evaluators": ["accuracy"], "max_workers": 2},
            metadata={"git": {"branch": "main"}},
        )
    )
    assert created.run_id == "ci-1234"
    run = created.evaluation
    assert (run.id, run.run_id, run.name, run.status) == ("ci-1234", "ci-1234", "first", "pending")
    assert run.dataset_id is None  # an EXT- dataset is local rows, kept in metadata
    assert run.metadata == {"git": {"branch": "main"}, "offline_dataset_id": "EXT-abc"}
    assert run.event_ids == [] and run.is_active and run.scope_type == "project"
    assert run.model_extra is not None and run.model_extra["datapoint_ids"] == ["EXT-1", "EXT-2"]

    first = sdk.experiments.update_run(
        "ci-1234", PutExperimentRunRequest(event_ids=["s1"], metadata={"worker": 1})
    )
    second = sdk.experiments.update_run(
        "ci-1234", PutExperimentRunRequest(status="completed", event_ids=["s2", "s1"])
    )
    assert first.evaluation.event_ids == ["s1"]
    assert second.evaluation.event_ids == ["s1", "s2"]  # parallel workers' reports add up
    assert second.evaluation.metadata["worker"] == 1 and second.evaluation.status == "completed"
    assert second.evaluation.updated_at is not None

    read = sdk.experiments.get_run("ci-1234").evaluation
    assert read.model_dump() == second.evaluation.model_dump()
    listed = sdk.experiments.list_runs(dataset_id="EXT-abc")
    assert [r.run_id for r in listed.evaluations] == ["ci-1234"]
    assert listed.metrics == ["accuracy"]

    deleted = sdk.experiments.delete_run("ci-1234")
    assert (deleted.id, deleted.deleted) == ("ci-1234", True)
    with pytest.raises(HTTPException) as gone:
        sdk.experiments.get_run("ci-1234")
    assert gone.value.status_code == 404
    assert api.delete("/v1/runs/ci-1234").status_code == 404


@pytest.mark.parametrize(
    "run_id",
    ["ci-1234", "v1.2.3", "nightly:2026-12-05", "run \u00e9t\u00e9", "a b+c", "50%", "UPPER_case"],
)
def test_any_id_that_fits_in_a_path_segment_names_a_run(sdk: HoneyHive, run_id: str) -> None:
    answer = sdk.experiments.create_run(PostExperimentRunRequest(run_id=run_id, name="x"))
    assert answer.run_id == run_id
    assert sdk.experiments.get_run(run_id).evaluation.run_id == run_id
    assert sdk.experiments.get_result(run_id)["run_object"]["run_id"] == run_id
    assert sdk.experiments.delete_run(run_id).deleted


def test_a_run_without_an_id_gets_a_uuid_and_a_taken_id_is_a_conflict(api: httpx.Client) -> None:
    answer = ok(api.post("/v1/runs", json={"name": "no id"}))
    assert uuid.UUID(answer["run_id"]).version == 4
    assert answer["evaluation"]["run_id"] == answer["run_id"]
    again = api.post("/v1/runs", json={"run_id": answer["run_id"]})
    assert again.status_code == 409
    assert again.json()["field"] == "run_id"


def test_a_run_names_its_stored_dataset_and_the_version_it_used(
    server: LiveServer, api: httpx.Client
) -> None:
    answer = ok(api.post("/v1/runs", json={"run_id": "r", "dataset_id": "ds-unknown"}))
    # A dataset this server does not hold (yet) is kept as named, without a name.
    evaluation = answer["evaluation"]
    assert (evaluation["dataset_id"], evaluation["dataset_name"]) == ("ds-unknown", None)
    assert evaluation["dataset_version"] is None
    assert evaluation["metadata"] == {}


def test_a_run_over_a_dataset_edited_since_still_shows_its_datapoints_as_they_were(
    api: httpx.Client,
) -> None:
    dataset_id = ok(api.post("/v1/datasets", json={"name": "qa"}))["result"]["insertedId"]
    rows = {"data": [{"q": "2+2?", "a": "4"}], "mapping": {"inputs": ["q"], "ground_truth": ["a"]}}
    (datapoint_id,) = ok(api.post(f"/v1/datasets/{dataset_id}/datapoints", json=rows))[
        "datapoint_ids"
    ]
    run = ok(api.post("/v1/runs", json={"run_id": "before-edit", "dataset_id": dataset_id}))
    used = run["evaluation"]["dataset_version"]
    assert (run["evaluation"]["dataset_name"], used) == ("qa", 1)  # its first row

    # The dataset moves on: its datapoint is edited and another one added.
    ok(api.put(f"/v1/datapoints/{datapoint_id}", json={"inputs": {"q": "3+3?"}}))
    more = {"data": [{"q": "1+1?", "a": "2"}], "mapping": {"inputs": ["q"], "ground_truth": ["a"]}}
    ok(api.post(f"/v1/datasets/{dataset_id}/datapoints", json=more))

    later = ok(api.get("/v1/runs/before-edit"))["evaluation"]
    assert later["dataset_version"] == used
    query = {"dataset_id": dataset_id, "version": str(used), "include_datapoints": "true"}
    (then,) = ok(api.get("/v1/datasets", params=query))["datasets"]
    assert [(d["id"], d["inputs"]) for d in then["datapoints"]] == [(datapoint_id, {"q": "2+2?"})]
    (now,) = ok(api.get("/v1/datasets", params={**query, "version": str(used + 2)}))["datasets"]
    assert sorted(d["inputs"]["q"] for d in now["datapoints"]) == ["1+1?", "3+3?"]


def test_runs_are_listed_by_dataset_status_name_ids_and_date(sdk: HoneyHive) -> None:
    specs = [
        ("r1", "alpha", "EXT-a", "completed", ["m1"]),
        ("r2", "beta", "EXT-b", "pending", ["m2"]),
        ("r3", "gamma", "EXT-a", "completed", ["m1", "m3"]),
        ("r4", "delta", "ds-x", "failed", []),
    ]
    before_ms = time.time() * 1000 - 1000
    for run_id, name, dataset, status, evaluators in specs:
        sdk.experiments.create_run(
            PostExperimentRunRequest(
                run_id=run_id,
                name=name,
                dataset_id=dataset,
                status=status,
                configuration={"evaluators": evaluators},
            )
        )

    def ids(**query: Any) -> list[str]:
        return [r.run_id for r in sdk.experiments.list_runs(**query).evaluations]

    assert sorted(ids(dataset_id="EXT-a")) == ["r1", "r3"]  # offline runs, by their EXT- id
    assert ids(dataset_id="ds-x") == ["r4"]
    assert ids(status="pending") == ["r2"]
    assert ids(name="gamma") == ["r3"]
    assert sorted(ids(run_ids=["r1", "r2", "nope"])) == ["r1", "r2"]
    assert ids(sort_by="name", sort_order="asc") == ["r1", "r2", "r4", "r3"]
    assert ids(sort_by="name", sort_order="desc") == ["r3", "r4", "r2", "r1"]
    # dict query parameters reach the wire as their Python repr: read as such.
    assert ids(dateRange={"$gte": before_ms + 10 * 60_000}) == []
    assert len(ids(dateRange={"$gte": before_ms, "$lte": before_ms + 60_000})) == 4
    newest_first = sdk.experiments.list_runs().evaluations
    assert [r.created_at for r in newest_first] == sorted(
        (r.created_at for r in newest_first), reverse=True
    )

    page = sdk.experiments.list_runs(sort_by="name", sort_order="asc", limit=3, page=2)
    assert [r.run_id for r in page.evaluations] == ["r3"]
    assert page.pagination.model_dump() == {
        "page": 2,
        "limit": 3,
        "total": 4,
        "total_unfiltered": 4,
        "total_pages": 2,
        "has_next": False,
        "has_prev": True,
    }
    filtered = sdk.experiments.list_runs(dataset_id="EXT-a")
    assert (filtered.pagination.total, filtered.pagination.total_unfiltered) == (2, 4)
    assert filtered.metrics == ["m1", "m3"]
    # More than 100 ids: the client batches them and sums the totals.
    many = sdk.experiments.list_runs(run_ids=["r1", *(f"x{i}" for i in range(150)), "r4"])
    assert sorted(r.run_id for r in many.evaluations) == ["r1", "r4"]
    assert many.pagination.total == 2


# --- results ---
@pytest.mark.parametrize("function", list(OLD_ACCURACY))
def test_a_result_aggregates_every_function_as_evaluate_reads_it(
    sdk: HoneyHive, api: httpx.Client, function: str
) -> None:
    sessions = seed_run(api, "old", OLD)
    summary = get_run_result(sdk, "old", aggregate_function=function)  # evaluate()'s last call
    assert (summary.status, summary.success) == ("completed", True)
    assert summary.passed == ["d1", "d2", "d3", "d4"] and summary.failed == []
    accuracy = summary.metrics.get_metric("accuracy")
    assert accuracy is not None
    assert accuracy.aggregate == pytest.approx(OLD_ACCURACY[function])
    assert accuracy.values == [0.5, 0.8, 0.2, 1.0]  # datapoint order
    assert (accuracy.metric_type, accuracy.event_name, accuracy.event_type) == (
        "numeric",
        "fn",
        "chain",
    )
    ok_metric = summary.metrics.get_metric("ok")
    assert ok_metric is not None and ok_metric.values == [True, False, True, True]
    assert ok_metric.metric_type == "boolean"
    booleans = {"average": 0.75, "sum": 3, "min": 0, "count": 4}  # others: 1 (of 0, 1, 1, 1)
    assert ok_metric.aggregate == pytest.approx(booleans.get(function, 1))
    label = summary.metrics.get_metric("label")
    assert label is not None and label.values == []  # strings never enter `values`
    assert label.aggregate == (4 if function == "count" else None)

    body = sdk.experiments.get_result("old", aggregate_function=function)
    assert _details(body)["label"]["string_values"] == ["good", "bad", "good", "meh"]
    assert [d["session_id"] for d in body["datapoints"]] == list(sessions.values())
    first = {m["name"]: m for m in body["datapoints"][0]["metrics"]}
    assert first["label"] == {
        "name": "label",
        "event_name": "fn",
        "event_type": "chain",
        "value": None,
        "string_value": "good",
        "passed": None,
    }
    assert body["event_details"] == [
        {"event_name": "old", "event_type": "session"},
        {"event_name": "fn", "event_type": "chain"},
    ]
    assert body["metrics"]["aggregation_function"] == function
    summary_route = experiments_svc.getExperimentSummary(
        sdk.experiments._api_config, run_id="old", aggregate_function=function
    )
    assert summary_route.model_dump() == GetExperimentRunResultResponse(**body).model_dump()


def test_a_late_event_changes_the_next_result(api: httpx.Client) -> None:
    seed_run(api, "late", {"d1": {"accuracy": 0.5}})
    before = ok(api.get("/v1/runs/late/result"))
    assert _details(before)["accuracy"]["aggregate"] == 0.5
    # A straggler session naming the run, after it was marked completed.
    add_session(api, "late", "d2", {"accuracy": 1.0, "fresh": 1}, index=5)
    after = ok(api.get("/v1/runs/late/result"))
    assert _details(after)["accuracy"]["aggregate"] == 0.75
    assert _details(after)["fresh"]["values"] == [1.0]
    assert after["passed"] == ["d1", "d2"]
    GetExperimentRunResultResponse(**after)


def test_pass_fail_follows_passing_ranges_thresholds_and_errors(
    server: LiveServer, api: httpx.Client
) -> None:
    # A deployed metric version's threshold judges `ok`; the run's range, `accuracy`.
    project_id = server.store.bootstrap().project.id
    threshold = {"name": "ok", "type": "PYTHON", "criteria": "x", "threshold": {"pass_when": True}}
    deployed = SaveVersion(
        project_id, "metric", "m-ok", threshold, create=True, deploy=(versions.DEPLOYED,)
    )
    server.store.write_batch([deployed], time.time() * 1000)
    seed_run(
        api,
        "judged",
        {**OLD, "d6": {"accuracy": 0.9}},
        errors={"d6": "RuntimeError: boom"},
        passing_ranges={"accuracy": {"min": 0.5}},
    )
    body = ok(api.get("/v1/runs/judged/result"))
    # d2: ok is False; d3: accuracy below 0.5; d6: its function raised.
    assert (body["passed"], body["failed"]) == (["d1", "d4"], ["d2", "d3", "d6"])
    details = _details(body)
    assert details["accuracy"]["passing_range"] == {"min": 0.5, "max": None}
    assert details["accuracy"]["datapoints"] == {
        "passed": ["d1", "d2", "d4", "d6"],
        "failed": ["d3"],
    }
    assert details["ok"]["datapoints"] == {"passed": ["d1", "d3", "d4"], "failed": ["d2"]}
    assert "passing_range" not in details["label"]
    errored = next(d for d in body["datapoints"] if d["datapoint_id"] == "d6")
    assert (errored["passed"], errored["error"]) == (False, "RuntimeError: boom")
    GetExperimentRunResultResponse(**body)


def test_a_result_counts_only_sessions_matching_the_filters(
    sdk: HoneyHive, api: httpx.Client
) -> None:
    sessions = seed_run(api, "old", OLD)
    ok(api.put("/events", json={"event_id": sessions["d4"], "metadata": {"slice": "hard"}}))
    hard = [{"field": "metadata.slice", "operator": "is", "value": "hard", "type": "string"}]
    body = sdk.experiments.get_result("old", filters=hard)  # sent as a Python repr
    assert [d["datapoint_id"] for d in body["datapoints"]] == ["d4"]
    assert _details(body)["accuracy"]["values"] == [1.0]
    as_json = ok(api.get("/v1/runs/old/result", params={"filters": json.dumps(hard)}))
    assert as_json["passed"] == ["d4"]


def test_planned_datapoints_without_a_session_are_missing(api: httpx.Client) -> None:
    start_run(api, "partial", ["d1", "d2", "d3"])
    add_session(api, "partial", "d2", {"accuracy": 1})
    body = ok(api.get("/v1/runs/partial/result"))
    assert (body["status"], body["success"]) == ("pending", False)
    assert (body["passed"], body["failed"], body["missing"]) == (["d2"], [], ["d1", "d3"])
    nothing = [{"field": "event_name", "operator": "is", "value": "none such"}]
    empty = ok(api.get("/v1/runs/partial/result", params={"filters": repr(nothing)}))
    assert empty["datapoints"] == [] and empty["metrics"]["details"] == []
    GetExperimentRunResultResponse(**empty)


# --- comparisons ---
def test_two_runs_compare_as_compare_runs_reads_them(sdk: HoneyHive, api: httpx.Client) -> None:
    seed_run(api, "old", OLD)
    seed_run(api, "new", NEW)
    result = compare_runs(sdk, "new", "old")
    assert result.common_datapoints == 3
    accuracy = result.get_metric_delta("accuracy")
    assert accuracy == {
        "old_aggregate": pytest.approx(0.625),
        "new_aggregate": pytest.approx(0.55),
        "found_count": 3,
        "improved_count": 1,
        "degraded_count": 1,
        "same_count": 1,
        "improved": ["d1"],
        "degraded": ["d3"],
        "same": ["d2"],
        "old_values": [0.5, 0.8, 0.2],
        "new_values": [0.7, 0.8, 0.1],
    }
    assert result.list_improved_metrics() == ["accuracy"]
    for body in (
        sdk.experiments.compare_runs("new", "old"),
        experiments_svc.getExperimentComparison(
            sdk.experiments._api_config, new_run_id="new", old_run_id="old"
        ).model_dump(),
    ):
        parsed = GetExperimentRunCompareResponse(**body)
        assert parsed.commonDatapoints == ["d1", "d2", "d3"]
        assert (parsed.new_run.run_id, parsed.old_run.run_id) == ("new", "old")
        assert body["new_only_datapoints"] == ["d5"] and body["old_only_datapoints"] == ["d4"]
        metrics = {m["metric_name"]: m for m in body["metrics"]}
        assert metrics["accuracy"]["difference"] == pytest.approx(-0.075)
        assert metrics["accuracy"]["percentage_change"] == pytest.approx(-12.0)
        assert metrics["ok"]["new_aggregate"] is None and metrics["ok"]["found_count"] == 0
        assert {(e["event_name"], e["presence"]) for e in body["event_details"]} == {
            ("new", "new"),
            ("old", "old"),
            ("fn", "both"),
        }
    by_max = sdk.experiments.compare_runs("new", "old", aggregate_function="max")
    accuracy_max = next(m for m in by_max["metrics"] if m["metric_name"] == "accuracy")
    assert (accuracy_max["old_aggregate"], accuracy_max["new_aggregate"]) == (1.0, 0.8)


def test_compare_events_pairs_each_common_datapoints_events(
    sdk: HoneyHive, api: httpx.Client
) -> None:
    old = seed_run(api, "old", OLD)
    new = seed_run(api, "new", NEW)
    paired = sdk.experiments.compare_run_events("new", "old")
    assert isinstance(paired, GetExperimentCompareEventsResponse)
    assert paired.totalEvents == 3  # the `fn` span of d1, d2, d3; sessions differ by name
    assert [e.datapoint_id for e in paired.events] == ["d1", "d2", "d3"]
    first = paired.events[0]
    assert first.event_1["session_id"] == new["d1"] and first.event_2["session_id"] == old["d1"]
    assert first.event_1["metrics"] == {"accuracy": 0.7} and first.event_1["event_name"] == "fn"
    assert first.event_2["metrics"] == OLD["d1"]
    assert first.event_1["project_id"] and first.event_1["children_ids"] == []

    second_page = sdk.experiments.compare_run_events("new", "old", limit=2, page=2)
    assert [e.datapoint_id for e in second_page.events] == ["d3"]
    assert second_page.totalEvents == 3
    assert sdk.experiments.compare_run_events("new", "old", event_type="model").totalEvents == 0
    assert sdk.experiments.compare_run_events("new", "old", event_name="fn").totalEvents == 3
    by_path = experiments_svc.getExperimentCompareEvents(
        sdk.experiments._api_config, new_run_id="new", old_run_id="old", limit=1
    )
    assert by_path.totalEvents == 3 and [e.datapoint_id for e in by_path.events] == ["d1"]
    only_d2 = [{"field": "metadata.datapoint_id", "operator": "is", "value": "d2"}]
    filtered = sdk.experiments.compare_run_events("new", "old", filter=only_d2)
    assert [e.datapoint_id for e in filtered.events] == ["d2"]


# --- scored events and schemas ---
def test_a_runs_scored_events_and_schemas(sdk: HoneyHive, api: httpx.Client) -> None:
    sessions = seed_run(api, "old", OLD)
    config = sdk.experiments._api_config
    scored = experiments_svc.getExperimentRunMetrics(config, run_id="old")
    assert isinstance(scored, GetExperimentRunMetricsResponse)
    assert scored.totalEvents == 4
    first = scored.events[0].model_dump()
    assert first["session_id"] == sessions["d1"] and first["event_name"] == "fn"
    assert first["metadata"] == {"datapoint_id": "d1"}
    assert first["metrics"] == OLD["d1"]
    future = {"$gte": time.time() * 1000 + 3_600_000}
    later = experiments_svc.getExperimentRunMetrics(config, run_id="old", dateRange=future)
    assert later.totalEvents == 0

    run_schema = experiments_svc.getRunSchema(config, run_id="old")
    everything = experiments_svc.getRunsSchema(config)
    legacy = sdk.experiments.get_schema(evaluation_id="old")
    for schema in (run_schema, everything, legacy):
        assert isinstance(schema, GetEventsSchemaResponse)
        fields = {(f.name, f.event_type) for f in schema.fields}
        assert {("metrics.accuracy", "chain"), ("metrics.label", "chain")} <= fields
        assert ("metadata.datapoint_id", "session") in fields
        assert schema.mappings["metadata.run_id"] == [
            {"field_name": "metadata.run_id", "event_type": "chain"},
            {"field_name": "metadata.run_id", "event_type": "session"},
        ]
    assert sdk.experiments.get_schema(dateRange={"$gte": future["$gte"]}).fields == []


# --- deletes ---
@pytest.mark.parametrize("delete_sessions", [False, True])
def test_deleting_a_run_keeps_its_sessions_unless_asked(
    api: httpx.Client, delete_sessions: bool
) -> None:
    sessions = seed_run(api, "doomed", {"d1": {"accuracy": 1}, "d2": {"accuracy": 0}})
    params = {"delete_sessions": "true"} if delete_sessions else {}
    assert ok(api.delete("/v1/runs/doomed", params=params)) == {"id": "doomed", "deleted": True}
    assert api.get("/v1/runs/doomed").status_code == 404
    for session_id in sessions.values():
        kept = api.get(f"/v1/sessions/{session_id}")
        assert kept.status_code == (404 if delete_sessions else 200), kept.text


# --- refusals ---
ROUTES = [
    ("GET", "/v1/runs/{a}"),
    ("PUT", "/v1/runs/{a}"),
    ("DELETE", "/v1/runs/{a}"),
    ("GET", "/v1/runs/{a}/result"),
    ("GET", "/v1/runs/{a}/summary"),
    ("GET", "/v1/runs/{a}/metrics"),
    ("GET", "/v1/runs/{a}/schema"),
    ("GET", "/v1/runs/{a}/compare-with/{a}"),
    ("GET", "/v1/runs/{a}/compare/{a}"),
    ("GET", "/v1/runs/{a}/compare/{a}/events"),
    ("GET", "/v1/runs/compare/events?run_id_1={a}&run_id_2={a}"),
    ("GET", "/v1/events/schema?evaluation_id={a}"),
]


def test_another_projects_runs_are_not_found_on_every_route(
    server: LiveServer, api: httpx.Client
) -> None:
    seed_run(api, "mine", {"d1": {"accuracy": 1}})
    server.store.create_project("other")
    with server.client(server.new_key("other")) as other:
        for method, path in ROUTES:
            body = {} if method == "PUT" else None
            answer = other.request(method, path.format(a="mine"), json=body)
            assert answer.status_code == 404, (method, path, answer.text)
            assert answer.json()["errorCode"] == "NOT_FOUND"
            assert answer.json()["field"] in ("run_id", "new_run_id", "run_id_1")
        assert ok(other.get("/v1/runs"))["evaluations"] == []
        # The other project's own run of the same id is its own.
        seed_run(other, "mine", {"d9": {"accuracy": 0}})
        assert ok(other.get("/v1/runs/mine/result"))["passed"] == ["d9"]
    assert ok(api.get("/v1/runs/mine/result"))["passed"] == ["d1"]


def test_an_ingest_key_gets_403_on_every_run_route(server: LiveServer, api: httpx.Client) -> None:
    seed_run(api, "mine", {"d1": {"accuracy": 1}})
    with server.client(server.new_key(kind="ingest")) as ingest:
        calls = [*ROUTES, ("POST", "/v1/runs"), ("GET", "/v1/runs"), ("GET", "/v1/runs/schema")]
        for method, path in calls:
            body = {"run_id": "sneaky"} if method in ("POST", "PUT") else None
            answer = ingest.request(method, path.format(a="mine"), json=body)
            assert answer.status_code == 403, (method, path, answer.text)
            assert answer.json()["errorCode"] == "FORBIDDEN"
    assert api.get("/v1/runs/sneaky").status_code == 404
    assert ok(api.get("/v1/runs/mine"))["evaluation"]["status"] == "completed"


@pytest.mark.parametrize(
    ("method", "path", "body", "field"),
    [
        ("POST", "/v1/runs", [1], "body"),
        ("POST", "/v1/runs", {"run_id": "a/b"}, "run_id"),
        ("POST", "/v1/runs", {"run_id": "why?"}, "run_id"),
        ("POST", "/v1/runs", {"run_id": ".."}, "run_id"),
        ("POST", "/v1/runs", {"run_id": ""}, "run_id"),
        ("POST", "/v1/runs", {"run_id": 7}, "run_id"),
        ("POST", "/v1/runs", {"status": "done"}, "status"),
        ("POST", "/v1/runs", {"event_ids": "s1"}, "event_ids"),
        ("POST", "/v1/runs", {"datapoint_ids": [1]}, "datapoint_ids[0]"),
        ("POST", "/v1/runs", {"metadata": []}, "metadata"),
        ("POST", "/v1/runs", {"evaluators": "e"}, "evaluators"),
        (
            "POST",
            "/v1/runs",
            {"passing_ranges": {"m": {"min": 2, "max": 1}}},
            "passing_ranges.m.min",
        ),
        ("PUT", "/v1/runs/mine", {"name": 5}, "name"),
        ("PUT", "/v1/runs/none-such", {"name": "x"}, "run_id"),
        ("GET", "/v1/runs?limit=0", None, "limit"),
        ("GET", "/v1/runs?limit=1001", None, "limit"),
        ("GET", "/v1/runs?page=x", None, "page"),
        ("GET", "/v1/runs?sort_by=cost", None, "sort_by"),
        ("GET", "/v1/runs?sort_order=up", None, "sort_order"),
        ("GET", "/v1/runs?status=done", None, "status"),
        ("GET", "/v1/runs?dateRange={'$gte': 'soon'}", None, "dateRange.$gte"),
        ("GET", "/v1/runs?dateRange={'$gte'", None, "dateRange"),
        ("GET", "/v1/runs/mine/result?aggregate_function=mode", None, "aggregate_function"),
        ("GET", "/v1/runs/mine/result?filters=[{'field': 'x'}]", None, "filters[0].operator"),
        ("GET", "/v1/runs/mine/metrics?dateRange=yesterday", None, "dateRange"),
        ("GET", "/v1/runs/mine/compare-with/mine?aggregate_function=x", None, "aggregate_function"),
        ("GET", "/v1/runs/compare/events?run_id_2=mine", None, "run_id_1"),
        ("GET", "/v1/runs/compare/events?run_id_1=mine&run_id_2=mine&limit=7501", None, "limit"),
        ("GET", "/v1/runs/mine/compare/mine/events?filter=nope", None, "filter[0]"),
        ("DELETE", "/v1/runs/mine?delete_sessions=maybe", None, "delete_sessions"),
    ],
)
def test_bad_input_is_a_400_naming_the_field_and_writes_nothing(
    api: httpx.Client, method: str, path: str, body: object, field: str
) -> None:
    seed_run(api, "mine", {"d1": {"accuracy": 1}})
    before = ok(api.get("/v1/runs", params={"limit": "1000"}))
    answer = api.request(method, path, json=body)
    expected = 404 if "none-such" in path else 400
    assert answer.status_code == expected, answer.text
    assert answer.json()["field"] == field, answer.text
    assert isinstance(answer.json()["message"], str)
    assert ok(api.get("/v1/runs", params={"limit": "1000"})) == before


def test_too_many_filters_are_refused_before_any_is_read(api: httpx.Client) -> None:
    start_run(api, "mine", [])
    many = "[" + ", ".join(["{'field': 'event_name', 'operator': 'exists'}"] * 101) + "]"
    answer = api.get("/v1/runs/mine/result", params={"filters": many})
    assert answer.status_code == 400 and answer.json()["field"] == "filters"
    assert "max_filters" in answer.json()["message"]
