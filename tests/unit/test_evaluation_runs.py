"""Runs: the create and update bodies `evaluate()` really sent, merges, the run object
and run lists the SDK parses; and saved charts (the `charts` client namespace)."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest
from honeyhive._generated.models import (
    GetChartResponse,
    GetExperimentRunResponse,
    GetExperimentRunsResponse,
    PostExperimentRunResponse,
)
from honeyhive.models import CreateChartRequest, PostExperimentRunRequest, UpdateChartRequest

from hivekeeper.domain.evaluation.runs import (
    Run,
    apply_patch,
    listed_metrics,
    new_run,
    pagination,
    parse_run_create,
    parse_run_list,
    parse_run_update,
    render_run,
)
from hivekeeper.domain.saved_charts import SavedChart, parse_chart, render_chart
from tests.support.recordings import body_of
from tests.support.validation import fails

NOW = 1_796_000_000_000.0


def test_an_offline_run_as_evaluate_creates_and_completes_it() -> None:
    created = new_run(
        parse_run_create(body_of("local_full", "POST", "/v1/runs")), run_id="x", now_ms=NOW
    )
    assert created.run_id == "366e0fc6-0cf9-470a-a87c-d7265fb2bbb9"
    assert created.status == "pending" and created.dataset_id is None
    assert created.offline_dataset_id == "EXT-b5250dae4b67cbd0"
    assert created.configuration["evaluators"] == ["exact_match", "judged", "labeler"]
    assert len(created.datapoint_ids) == 4
    done = apply_patch(
        created, parse_run_update(body_of("local_full", "PUT", "/v1/runs/")), NOW + 9
    )
    assert done.status == "completed" and len(done.event_ids) == 4
    assert done.metadata == {"offline_dataset_id": "EXT-b5250dae4b67cbd0"}
    assert done.updated_at_ms == NOW + 9 and done.created_at_ms == NOW
    answer = {"run_id": done.run_id, "evaluation": render_run(done, project_id="proj")}
    parsed = PostExperimentRunResponse(**answer)
    assert parsed.evaluation.scope_id == "proj" and parsed.evaluation.event_ids == done.event_ids


def test_a_stored_dataset_run_keeps_its_dataset() -> None:
    created = new_run(
        parse_run_create(body_of("dsid_minimal_result", "POST", "/v1/runs")), run_id="x", now_ms=NOW
    )
    assert created.dataset_id == "ds-1" and created.metadata == {}
    body = render_run(created, project_id="p", dataset_name="qa", dataset_version=3)
    evaluation = GetExperimentRunResponse(evaluation=body).evaluation
    assert (evaluation.dataset_id, evaluation.dataset_name) == ("ds-1", "qa")
    assert body["dataset_version"] == 3


def test_a_sdk_made_run_with_a_user_run_id_and_an_ext_dataset() -> None:
    body = PostExperimentRunRequest(
        run_id="ci-1234", dataset_id="EXT-abc", session_ids=["s1"], event_ids=["s0", "s1"]
    ).model_dump(exclude_none=True)
    run = new_run(parse_run_create(body), run_id="generated", now_ms=NOW)
    assert run.run_id == "ci-1234"
    assert run.dataset_id is None and run.offline_dataset_id == "EXT-abc"
    assert run.event_ids == ["s0", "s1"]
    assert new_run({}, run_id="generated", now_ms=NOW).run_id == "generated"


def test_updates_merge_objects_and_union_session_lists() -> None:
    run = Run(run_id="r", created_at_ms=NOW, metadata={"a": 1}, event_ids=["s1"])
    first = apply_patch(run, parse_run_update({"metadata": {"b": 2}, "event_ids": ["s2"]}), NOW)
    second = apply_patch(first, parse_run_update({"session_ids": ["s1", "s3"], "name": "n"}), NOW)
    assert second.metadata == {"a": 1, "b": 2}
    assert second.event_ids == ["s1", "s2", "s3"] and second.name == "n"
    ranged = apply_patch(second, parse_run_update({"passing_ranges": {"acc": {"min": 0.5}}}), NOW)
    assert ranged.passing_ranges == {"acc": {"min": 0.5, "max": None}}
    # run_id and dataset_id are fixed at creation.
    assert "run_id" not in parse_run_update({"run_id": "other"})
    assert "dataset_id" not in parse_run_update({"dataset_id": "other"})


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"run_id": ""}, "run_id"),
        ({"run_id": 7}, "run_id"),
        ({"status": "done"}, "status"),
        ({"metadata": "x"}, "metadata"),
        ({"event_ids": "s1"}, "event_ids"),
        ({"event_ids": [None]}, "event_ids[0]"),
        ({"passing_ranges": {"acc": {"min": "high"}}}, "passing_ranges.acc.min"),
        ({"passing_ranges": {"acc": {"min": 2, "max": 1}}}, "passing_ranges.acc.min"),
        ({"evaluators": "exact"}, "evaluators"),
        ({"run_id": "a/b"}, "run_id"),
        ({"run_id": "what?"}, "run_id"),
        ({"run_id": "x#1"}, "run_id"),
        ({"run_id": "."}, "run_id"),
        ({"run_id": ".."}, "run_id"),
    ],
)
def test_bad_run_bodies_are_named(body: dict[str, Any], field: str) -> None:
    fails(field, parse_run_create, body)


def test_run_list_query_as_the_sdk_sends_it() -> None:
    query = parse_run_list(
        {
            "dataset_id": ["ds-1"],
            "run_ids[]": ["a", "b,c"],
            "status": ["Completed"],
            "page": ["2"],
            "limit": ["10"],
            "sort_by": ["name"],
            "sort_order": ["asc"],
            "dateRange": ['{"$gte": 1000}'],
        },
        now_ms=NOW,
    )
    assert query.run_ids == ("a", "b,c")
    assert (query.status, query.page, query.limit, query.sort_by) == ("completed", 2, 10, "name")
    assert query.descending is False and query.start_ms == 1000.0
    assert parse_run_list({"run_ids": ["a,b", '["c"]']}, now_ms=NOW).run_ids == ("a", "b", "c")
    defaults = parse_run_list({}, now_ms=NOW)
    assert (defaults.page, defaults.limit, defaults.descending) == (1, 100, True)


def test_a_date_range_dict_as_httpx_puts_it_in_the_query() -> None:
    # list_runs(dateRange={...}) reaches the wire as the dict's Python repr.
    url = httpx.URL("http://h/v1/runs", params=[("dateRange", {"$gte": 1000, "$lte": 2000.5})])
    params = parse_qs(url.query.decode())
    assert params["dateRange"] == ["{'$gte': 1000, '$lte': 2000.5}"]
    query = parse_run_list(params, now_ms=NOW)
    assert (query.start_ms, query.end_ms) == (1000.0, 2000.5)
    fails("dateRange", parse_run_list, {"dateRange": ["{'$gte': __import__('os')}"]}, now_ms=NOW)


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"limit": ["0"]}, "limit"),
        ({"limit": ["1001"]}, "limit"),
        ({"page": ["x"]}, "page"),
        ({"status": ["done"]}, "status"),
        ({"sort_by": ["cost"]}, "sort_by"),
        ({"run_ids": ["[1"]}, "run_ids"),
    ],
)
def test_bad_run_lists_are_named(params: dict[str, list[str]], field: str) -> None:
    fails(field, parse_run_list, params, now_ms=NOW)


def test_a_run_list_names_the_evaluators_of_its_runs() -> None:
    runs = [
        Run(run_id="a", created_at_ms=NOW, configuration={"evaluators": ["acc", "tone"]}),
        Run(run_id="b", created_at_ms=NOW, evaluators=["tone", {"name": "x"}, "len"]),
        Run(run_id="c", created_at_ms=NOW, configuration={"evaluators": "acc"}),
    ]
    assert listed_metrics(runs) == ["acc", "tone", "len"]


def test_run_list_answer_parses() -> None:
    run = render_run(Run(run_id="r", created_at_ms=NOW), project_id="p")
    body = {"evaluations": [run], "pagination": pagination(2, 10, 25, 40), "metrics": ["acc"]}
    parsed = GetExperimentRunsResponse(**body).pagination
    assert (parsed.total_pages, parsed.has_next, parsed.has_prev) == (3, True, True)
    assert pagination(1, 10, 0, 0)["total_pages"] == 1


# --- saved charts ---------------------------------------------------------------------


def test_a_chart_the_sdk_creates_and_updates() -> None:
    created = CreateChartRequest(
        name="p95 latency",
        metric="duration",
        func="p95",
        groupBy="event_name",
        bucketing="day",
        dateRange={"$gte": "2026-11-01T00:00:00Z", "$lte": "2026-11-30T00:00:00Z"},
        query=[{"field": "event_type", "value": "model", "type": "string", "operator": "is"}],
    ).model_dump(exclude_none=True)
    # The generated model sends the bounds as `gte`/`lte`.
    assert set(created["dateRange"]) == {"gte", "lte"}
    definition = parse_chart(created, creating=True, now_ms=NOW)
    update = parse_chart(
        UpdateChartRequest(name="p99 latency", func="p99").model_dump(exclude_none=True),
        creating=False,
        now_ms=NOW,
    )
    assert update == {"name": "p99 latency", "func": "p99"}
    chart = SavedChart("ch-1", {**definition, **update}, NOW, NOW + 1)
    data = GetChartResponse(success=True, data=render_chart(chart)).data
    assert (data.id, data.name, data.func, data.bucketing) == ("ch-1", "p99 latency", "p99", "day")
    assert data.is_active is True and data.description is None


def test_a_minimal_chart_answers_every_field() -> None:
    definition = parse_chart({"name": "n", "metric": "metadata.cost"}, creating=True, now_ms=NOW)
    data = GetChartResponse(success=True, data=render_chart(SavedChart("c", definition, NOW))).data
    assert data.bucketing == "hour" and data.query is None and data.updated_at is None


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"metric": "duration"}, "name"),
        ({"name": "n"}, "metric"),
        ({"name": "n", "metric": "metadata..x"}, "metric"),
        ({"name": "n", "metric": "duration", "func": "mode"}, "func"),
        ({"name": "n", "metric": "duration", "bucketing": "fortnight"}, "bucketing"),
        ({"name": "n", "metric": "duration", "dateRange": {"gte": "soon"}}, "dateRange.gte"),
        (
            {"name": "n", "metric": "duration", "query": [{"field": "x", "operator": "near"}]},
            "query[0].operator",
        ),
    ],
)
def test_bad_charts_are_named(body: dict[str, Any], field: str) -> None:
    fails(field, parse_chart, body, creating=True, now_ms=NOW)
