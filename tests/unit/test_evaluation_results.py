"""Run results from stored events (spec/evaluation.md §2 step 6, §4-§6), computed from the
rows the real SDK's recorded `evaluate()` telemetry makes, and parsed by the SDK's own
models the way `evaluate()` parses them."""

from __future__ import annotations

from typing import Any

import pytest
from honeyhive._generated.models import (
    GetExperimentRunMetricsResponse,
    GetExperimentRunResultResponse,
)
from honeyhive.experiments.models import AggregatedMetrics, DatapointResult

from hivekeeper.domain.errors import ValidationFailed
from hivekeeper.domain.evaluation._params import date_conditions
from hivekeeper.domain.evaluation.aggregates import AGGREGATE_FUNCTIONS, parse_aggregate
from hivekeeper.domain.evaluation.evaluators import Threshold
from hivekeeper.domain.evaluation.results import (
    RunResult,
    compute_result,
    parse_result_query,
    render_metric_events,
    render_result,
)
from hivekeeper.domain.evaluation.runs import new_run, parse_run_create, render_run
from hivekeeper.domain.evaluation.traces import SessionTrace, read_sessions
from hivekeeper.domain.evaluation.verdicts import rules_for
from tests.support.recordings import BOOM, HI, MY, STR, body_of, replay_rows
from tests.support.sdk_query import sdk_query
from tests.support.validation import fails

# local_full: 4 rows; `fn` returns {"answer": q.upper()}, raises on "boom", returns a
# plain string for "str"; evaluators exact_match (float), judged ({score: True,
# explanation, confidence: 0.9}) and a string evaluator that never scored.


def traces_of(name: str) -> list[SessionTrace]:
    return read_sessions(replay_rows(name).values())


def result_of(
    name: str,
    function: str = "average",
    *,
    thresholds: dict[str, Threshold] | None = None,
    passing_ranges: dict[str, Any] | None = None,
    datapoint_ids: list[str] | None = None,
) -> RunResult:
    run = body_of(name, "POST", "/v1/runs")
    return compute_result(
        status="completed",
        datapoint_ids=datapoint_ids if datapoint_ids is not None else run["datapoint_ids"],
        traces=traces_of(name),
        rules=rules_for(passing_ranges or {}, thresholds or {}),
        function=parse_aggregate(function),
    )


def details(result: RunResult) -> dict[str, dict[str, Any]]:
    body = render_result(result, {})
    return {d["metric_name"]: d for d in body["metrics"]["details"]}


def sdk_parse(result: RunResult) -> tuple[AggregatedMetrics, list[DatapointResult]]:
    """What `evaluate()` does with the answer: the generated model, then model_dump()
    into the experiment models (each refuses shapes the other allows)."""
    run = new_run(parse_run_create(body_of("local_full", "POST", "/v1/runs")), run_id="r", now_ms=0)
    body = render_result(result, render_run(run, project_id="proj"))
    dumped = GetExperimentRunResultResponse(**body).model_dump()
    metrics = AggregatedMetrics(**dumped["metrics"])
    return metrics, [DatapointResult(**dp) for dp in dumped["datapoints"]]


def test_scores_are_read_from_the_root_span_and_aggregated_per_metric() -> None:
    result = result_of("local_full")
    by_name = details(result)
    exact = by_name["exact_match"]
    # Datapoint order of the run; the raising row scored nothing.
    assert exact["values"] == [1.0, 0.0, 0.0]
    assert exact["aggregate"] == pytest.approx(1 / 3)
    assert (exact["event_name"], exact["event_type"], exact["metric_type"]) == (
        "fn",
        "chain",
        "numeric",
    )
    assert by_name["judged"]["values"] == [True, True, True]
    assert by_name["judged"]["aggregate"] == 1.0
    assert by_name["judged"]["metric_type"] == "boolean"
    assert by_name["judged_confidence"]["aggregate"] == pytest.approx(0.9)
    assert result.aggregation_function == "average"


def test_string_scores_stay_out_of_values_but_are_visible() -> None:
    explanation = details(result_of("local_full"))["judged_explanation"]
    assert explanation["values"] == []
    assert explanation["aggregate"] is None
    assert explanation["metric_type"] == "string"
    assert explanation["string_values"] == ["looks fine"] * 3
    datapoint = render_result(result_of("local_full"), {})["datapoints"][0]
    entry = next(m for m in datapoint["metrics"] if m["name"] == "judged_explanation")
    assert entry["value"] is None and entry["string_value"] == "looks fine"


def test_a_datapoint_whose_function_raised_fails_and_the_others_pass() -> None:
    result = result_of("local_full")
    assert result.passed == [HI, STR, MY]
    assert result.failed == [BOOM]
    boom = next(d for d in result.datapoints if d.trace.datapoint_id == BOOM)
    assert boom.trace.error == "RuntimeError: boom"
    assert boom.metrics == ()
    assert result.success is True and result.missing == ()


def test_ground_truth_and_output_fall_back_to_the_root_span() -> None:
    datapoints = {
        d["datapoint_id"]: d for d in render_result(result_of("local_full"), {})["datapoints"]
    }
    # Updated sessions: ground truth from feedback, output from the session.
    assert datapoints[HI]["ground_truth"] == {"a": "HI"}
    assert datapoints[HI]["outputs"] == {"answer": "HI"}
    # `fn` returned a string: no session update, so both come from the root span.
    assert datapoints[STR]["ground_truth"] == {"a": "x"}
    assert datapoints[STR]["outputs"] == "plain string output"
    assert datapoints[STR]["inputs"] == {"q": "str"}
    assert datapoints[BOOM]["ground_truth"] is None


@pytest.mark.parametrize(
    ("function", "exact_match", "confidence"),
    [
        ("average", 1 / 3, 0.9),
        ("sum", 1.0, 2.7),
        ("min", 0.0, 0.9),
        ("max", 1.0, 0.9),
        ("median", 0.0, 0.9),
        # sorted [0, 0, 1]: rank p/100 * 2, linear between neighbours
        ("p90", 0.8, 0.9),
        ("p95", 0.9, 0.9),
        ("p99", 0.98, 0.9),
        ("count", 3, 3),
    ],
)
def test_every_aggregate_function(function: str, exact_match: float, confidence: float) -> None:
    by_name = details(result_of("local_full", function))
    assert by_name["exact_match"]["aggregate"] == pytest.approx(exact_match)
    assert by_name["judged_confidence"]["aggregate"] == pytest.approx(confidence)
    assert (
        render_result(result_of("local_full", function), {})["metrics"]["aggregation_function"]
        == function
    )


def test_count_counts_string_scores_and_other_functions_ignore_them() -> None:
    assert details(result_of("local_full", "count"))["judged_explanation"]["aggregate"] == 3
    assert details(result_of("local_full", "sum"))["judged_explanation"]["aggregate"] is None


def test_aggregate_function_aliases_and_bad_names() -> None:
    assert parse_aggregate(None) == "average"
    assert parse_aggregate("AVG") == "average"
    assert parse_aggregate("p50") == "median"
    assert set(AGGREGATE_FUNCTIONS) == {
        "average",
        "sum",
        "min",
        "max",
        "median",
        "p90",
        "p95",
        "p99",
        "count",
    }
    with pytest.raises(ValidationFailed) as caught:
        parse_aggregate("mode")
    assert caught.value.field == "aggregate_function"


def test_a_metric_threshold_decides_pass_and_fail() -> None:
    result = result_of("local_full", thresholds={"exact_match": Threshold(min=0.5)})
    assert result.passed == [HI]
    assert result.failed == [STR, BOOM, MY]
    exact = details(result)["exact_match"]
    assert exact["passing_range"] == {"min": 0.5, "max": None}
    assert exact["datapoints"] == {"passed": [HI], "failed": [STR, MY]}
    hi = render_result(result, {})["datapoints"][0]
    assert {m["name"]: m["passed"] for m in hi["metrics"]} == {
        "exact_match": True,
        "judged": None,
        "judged_explanation": None,
        "judged_confidence": None,
    }


def test_the_runs_passing_range_wins_over_the_definition() -> None:
    result = result_of(
        "local_full",
        thresholds={"exact_match": Threshold(min=0.5)},
        passing_ranges={"exact_match": {"min": 0.0, "max": 0.5}},
    )
    assert result.passed == [STR, MY]
    assert result.failed == [HI, BOOM]


def test_boolean_and_categorical_thresholds() -> None:
    failing = result_of("local_full", thresholds={"judged": Threshold(pass_when=False)})
    assert failing.passed == []
    labels = result_of(
        "local_full",
        thresholds={"judged_explanation": Threshold(passing_categories=("looks fine",))},
    )
    assert labels.passed == [HI, STR, MY]
    assert details(labels)["judged_explanation"]["datapoints"]["passed"] == [HI, STR, MY]


def test_planned_datapoints_without_a_session_are_missing_not_failed() -> None:
    planned = [HI, STR, BOOM, MY, "EXT-never-ran"]
    result = result_of("local_full", datapoint_ids=planned)
    assert result.missing == ("EXT-never-ran",)
    assert "EXT-never-ran" not in result.passed + result.failed


def test_late_events_change_the_next_result() -> None:
    rows = list(replay_rows("local_full").values())
    late = dict(
        next(r for r in rows if r["event_name"] == "fn" and r["metrics"].get("exact_match") == 1.0)
    )
    late.update(
        event_id="late-span", metrics={"exact_match": 0.0}, start_time=late["start_time"] + 1
    )
    before = compute_result(
        status="completed", datapoint_ids=[], traces=read_sessions(rows), rules={}, function="sum"
    )
    after = compute_result(
        status="completed",
        datapoint_ids=[],
        traces=read_sessions([*rows, late]),
        rules={},
        function="sum",
    )
    assert details(before)["exact_match"]["values"] == [1.0, 0.0, 0.0]
    assert details(after)["exact_match"]["values"] == [1.0, 0.0, 0.0, 0.0]


def test_success_needs_a_completed_run_with_sessions() -> None:
    assert (
        compute_result(
            status="pending",
            datapoint_ids=[],
            traces=traces_of("local_full"),
            rules={},
            function="average",
        ).success
        is False
    )
    empty = compute_result(
        status="completed", datapoint_ids=[HI], traces=[], rules={}, function="average"
    )
    assert empty.success is False and empty.missing == (HI,)


def test_the_sdk_parses_the_result_as_evaluate_does() -> None:
    metrics, datapoints = sdk_parse(
        result_of("local_full", thresholds={"exact_match": Threshold(min=0.5)})
    )
    assert metrics.get_metric("exact_match").aggregate == pytest.approx(1 / 3)  # type: ignore[union-attr]
    assert [d.datapoint_id for d in datapoints] == [HI, STR, BOOM, MY]
    assert [d.passed for d in datapoints] == [True, False, False, False]
    first = {m.name: m for m in datapoints[0].metrics}
    assert first["exact_match"].value == 1.0 and first["exact_match"].passed is True


def test_an_empty_result_is_the_smallest_valid_body() -> None:
    body = render_result(
        compute_result(
            status="completed", datapoint_ids=[], traces=[], rules={}, function="average"
        ),
        render_run(new_run({}, run_id="r", now_ms=0), project_id="proj"),
    )
    parsed = GetExperimentRunResultResponse(**body)
    assert parsed.metrics.details == [] and parsed.datapoints == []
    assert AggregatedMetrics(**parsed.model_dump()["metrics"]).details == []


def test_decorated_evaluator_child_span_adds_no_metric() -> None:
    result = result_of("decorated_full")
    assert list(details(result)) == ["deco"]
    assert details(result)["deco"]["aggregate"] == 0.5
    event_details = render_result(result, {})["event_details"]
    assert {"event_name": "Evaluation", "event_type": "chain"} in event_details
    assert {"event_name": "fn", "event_type": "chain"} in event_details


def test_stored_dataset_run_names_its_datapoints() -> None:
    result = result_of("dsid_minimal_result")
    assert [d.trace.datapoint_id for d in result.datapoints] == ["dp-1", "dp-2"]
    assert details(result)["exact_match"]["aggregate"] == 0.5
    assert [d.trace.ground_truth for d in result.datapoints] == [{"a": "HI"}, {"a": "nope"}]


def test_run_metrics_lists_the_scored_events() -> None:
    body = render_metric_events(traces_of("local_full"))
    parsed = GetExperimentRunMetricsResponse(**body)
    assert parsed.totalEvents == 3
    assert [e.metadata.datapoint_id for e in parsed.events] == [HI, STR, MY]
    assert body["events"][0]["metrics"] == {
        "exact_match": 1.0,
        "judged": True,
        "judged_explanation": "looks fine",
        "judged_confidence": 0.9,
    }


def test_non_scalar_metric_values_are_not_scores() -> None:
    rows = [
        {
            "event_id": "s",
            "session_id": "s",
            "parent_id": None,
            "event_type": "session",
            "event_name": "run",
            "start_time": 1.0,
            "error": None,
            "inputs": {},
            "outputs": {},
            "metrics": {"nested": {"a": 1}, "listed": [1], "nothing": None, "ok": 2},
            "feedback": {},
            "metadata": {"datapoint_id": "d"},
        }
    ]
    result = compute_result(
        status="completed",
        datapoint_ids=["d"],
        traces=read_sessions(rows),
        rules={},
        function="sum",
    )
    assert list(details(result)) == ["ok"]
    assert details(result)["ok"]["event_type"] == "session"


def test_result_query_as_get_result_sends_it() -> None:
    # get_result(run_id, aggregate_function="p95", filters=[{...}]): the list of dicts
    # reaches the query as its Python repr.
    params = sdk_query(
        {
            "aggregate_function": "p95",
            "filters": [{"field": "metadata.topic", "operator": "is", "value": "math"}],
        }
    )
    query = parse_result_query(params)
    assert query.function == "p95"
    assert [c.field.text for c in query.conditions] == ["metadata.topic"]
    assert parse_result_query({}).function == "average" and parse_result_query({}).conditions == ()
    fails("filters[0].operator", parse_result_query, {"filters": ['{"field": "x"}']})
    many = repr([{"field": "event_name", "operator": "exists"}] * 3)
    fails("filters", parse_result_query, {"filters": [many]}, max_filters=2)
    assert len(parse_result_query({"filters": [many]}, max_filters=3).conditions) == 3


def test_a_date_range_as_conditions_on_start_time() -> None:
    now_ms = 1_796_000_000_000.0
    (start, end) = date_conditions(
        {"dateRange": ["{'$gte': 1000, '$lte': 2000}"]}, "dateRange", now_ms=now_ms
    )
    assert (start.field.text, start.operator, start.value) == (
        "start_time",
        "greater than or equal",
        1000.0,
    )
    assert (end.operator, end.value) == ("less than or equal", 2000.0)
    assert date_conditions({}, "dateRange", now_ms=now_ms) == ()
    fails("dateRange", date_conditions, {"dateRange": ["later"]}, "dateRange", now_ms=now_ms)
