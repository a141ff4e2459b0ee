"""Two runs compared (`compare-with`, `compare/events`): datapoints matched by id,
improved/degraded/same per metric, and the shapes `compare_runs()` and
`compare_run_events()` of SDK 1.7.0 read."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from honeyhive._generated.models import (
    GetExperimentCompareEventsResponse,
    GetExperimentRunCompareResponse,
)

from hivekeeper.domain.evaluation.aggregates import AGGREGATE_FUNCTIONS, AggregateFunction
from hivekeeper.domain.evaluation.comparison import (
    RunScores,
    compare,
    pair_events,
    parse_compare_events,
    render_comparison,
    render_event_pairs,
    run_scores,
)
from hivekeeper.domain.evaluation.evaluators import Threshold
from hivekeeper.domain.evaluation.results import compute_result
from hivekeeper.domain.evaluation.runs import new_run, render_run
from hivekeeper.domain.evaluation.traces import SessionTrace, read_sessions
from hivekeeper.domain.evaluation.verdicts import Rules, rules_for
from tests.support.recordings import BOOM, HI, MY, STR, body_of, replay_rows
from tests.support.sdk_query import sdk_query
from tests.support.validation import fails

PLANNED = body_of("local_full", "POST", "/v1/runs")["datapoint_ids"]


def old_rows() -> list[dict[str, Any]]:
    return [dict(row) for row in replay_rows("local_full").values()]


def new_rows(exact_match: dict[str, float], *, drop: str | None = None) -> list[dict[str, Any]]:
    """The old run's rows with other exact_match scores per datapoint (and one datapoint's
    sessions left out), as a second run over the same local rows would store them."""
    rows = copy.deepcopy(old_rows())
    for row in rows:
        datapoint = row["metadata"].get("datapoint_id")
        if datapoint in exact_match and "exact_match" in row["metrics"]:
            row["metrics"]["exact_match"] = exact_match[datapoint]
    return [r for r in rows if drop is None or r["metadata"].get("datapoint_id") != drop]


def scores(rows: list[dict[str, Any]], function: AggregateFunction = "average") -> RunScores:
    return run_scores(read_sessions(rows), PLANNED, function)


def compared(new: list[dict[str, Any]], rules: Rules | None = None) -> dict[str, Any]:
    comparison = compare(scores(new), scores(old_rows()), rules or {})
    run = render_run(new_run({}, run_id="r", now_ms=0), project_id="proj")
    return render_comparison(comparison, run, run)


def metric(body: dict[str, Any], name: str) -> dict[str, Any]:
    found: dict[str, Any] = next(m for m in body["metrics"] if m["metric_name"] == name)
    return found


def test_improved_degraded_and_same_per_common_datapoint() -> None:
    # old: HI 1.0, STR 0.0, MY 0.0 (BOOM raised: no score)
    body = compared(new_rows({HI: 0.0, STR: 1.0, MY: 0.0}))
    exact = metric(body, "exact_match")
    assert (exact["found_count"], exact["improved_count"], exact["degraded_count"]) == (3, 1, 1)
    assert exact["same_count"] == 1
    assert (exact["improved"], exact["degraded"], exact["same"]) == ([STR], [HI], [MY])
    assert exact["old_values"] == [1.0, 0.0, 0.0]
    assert exact["new_values"] == [0.0, 1.0, 0.0]
    assert exact["old_aggregate"] == pytest.approx(1 / 3)
    assert exact["new_aggregate"] == pytest.approx(1 / 3)
    assert exact["difference"] == pytest.approx(0.0)
    assert body["commonDatapoints"] == [HI, STR, BOOM, MY]


def test_aggregates_difference_and_percentage() -> None:
    exact = metric(compared(new_rows({STR: 1.0, MY: 1.0})), "exact_match")
    assert exact["new_aggregate"] == pytest.approx(1.0)
    assert exact["difference"] == pytest.approx(2 / 3)
    assert exact["percentage_change"] == pytest.approx(200.0)
    assert exact["improved"] == [STR, MY] and exact["same"] == [HI]


def test_lower_is_better_when_the_rule_has_only_a_max() -> None:
    rules = rules_for({}, {"exact_match": Threshold(max=0.5)})
    exact = metric(compared(new_rows({HI: 0.0, STR: 1.0}), rules), "exact_match")
    assert (exact["improved"], exact["degraded"]) == ([HI], [STR])


def test_datapoints_of_one_run_only() -> None:
    body = compared(new_rows({}, drop=MY))
    assert body["commonDatapoints"] == [HI, STR, BOOM]
    assert body["old_only_datapoints"] == [MY]
    assert metric(body, "exact_match")["found_count"] == 2


def test_string_scores_are_never_compared() -> None:
    explanation = metric(compared(new_rows({})), "judged_explanation")
    assert explanation["found_count"] == 0 and explanation["old_aggregate"] is None


@pytest.mark.parametrize("function", AGGREGATE_FUNCTIONS)
def test_a_runs_scores_agree_with_its_result(function: AggregateFunction) -> None:
    traced = read_sessions(old_rows())
    result = compute_result(
        status="completed", datapoint_ids=PLANNED, traces=traced, rules={}, function=function
    )
    scored = run_scores(traced, PLANNED, function)
    assert {g: (s.metric_type, s.aggregate) for g, s in scored.groups.items()} == {
        m.group: (m.metric_type, m.aggregate) for m in result.metrics
    }
    assert scored.datapoints == tuple(d.trace.key for d in result.datapoints)
    assert scored.event_details == result.event_details


def test_several_values_of_a_datapoint_are_reduced_by_the_function() -> None:
    rows = old_rows()
    # A second scored event in HI's session: exact_match 1.0 and now 0.0 there.
    span = next(r for r in rows if r["metadata"].get("datapoint_id") == HI and r["metrics"])
    rows.append({**span, "event_id": "again", "metrics": {"exact_match": 0.0}})
    group = ("exact_match", "fn", "chain")
    for function, expected in (("average", 0.5), ("max", 1.0), ("min", 0.0), ("count", 2)):
        scored = run_scores(read_sessions(rows), PLANNED, function)  # type: ignore[arg-type]  # literals
        assert scored.groups[group].by_datapoint[HI] == expected, function
    assert run_scores(read_sessions(rows), PLANNED, "average").groups[group].aggregate == 0.25


def test_event_presence() -> None:
    body = compared(new_rows({}))
    presence = {(e["event_name"], e["event_type"]): e["presence"] for e in body["event_details"]}
    assert presence[("fn", "chain")] == "both"
    assert presence[("fn_error", "tool")] == "both"


def test_the_sdk_parses_the_comparison_and_compare_runs_finds_its_keys() -> None:
    body = compared(new_rows({HI: 0.0, STR: 1.0}))
    parsed = GetExperimentRunCompareResponse(**body).model_dump()
    # What honeyhive.experiments.results.compare_runs reads from each metric entry.
    exact = next(m for m in parsed["metrics"] if m["metric_name"] == "exact_match")
    for key in (
        "found_count",
        "improved_count",
        "degraded_count",
        "same_count",
        "improved",
        "degraded",
        "same",
        "old_values",
        "new_values",
        "old_aggregate",
        "new_aggregate",
    ):
        assert key in exact
    assert parsed["commonDatapoints"] == [HI, STR, BOOM, MY]


def traces(rows: list[dict[str, Any]]) -> list[SessionTrace]:
    return read_sessions(rows)


def test_compare_events_pairs_events_of_the_same_datapoint() -> None:
    pairs = pair_events(traces(new_rows({}, drop=STR)), traces(old_rows()), event_name="fn")
    assert [p.datapoint_id for p in pairs] == [HI, BOOM, MY]
    assert {(p.event_name, p.event_type) for p in pairs} == {("fn", "chain")}
    every = pair_events(traces(new_rows({})), traces(old_rows()))
    assert {(p.event_name, p.event_type) for p in every} == {
        ("probe-local", "session"),
        ("fn", "chain"),
        ("fn_error", "tool"),
    }
    assert pair_events(traces(new_rows({})), traces(old_rows()), event_type="model") == []


def test_compare_events_body_parses_as_the_sdk_expects() -> None:
    pairs = pair_events(traces(new_rows({})), traces(old_rows()), event_name="fn")
    events = {p.new_event_id: {"event_id": p.new_event_id, "side": "new"} for p in pairs}
    body = render_event_pairs(pairs[:2], events, page=1, limit=2, total=len(pairs))
    parsed = GetExperimentCompareEventsResponse(**body)
    assert parsed.totalEvents == 4
    assert [e.datapoint_id for e in parsed.events] == [HI, STR]
    assert body["pagination"] == {"page": 1, "limit": 2, "total": 4}


def test_compare_events_query_as_compare_run_events_sends_it() -> None:
    params = sdk_query(
        {
            "run_id_1": "new-run",
            "run_id_2": "old-run",
            "event_name": "fn",
            "filter": {"field": "event_type", "operator": "is", "value": "chain"},
            "limit": 50,
            "page": 2,
        }
    )
    query = parse_compare_events(params)
    assert (query.new_run_id, query.old_run_id, query.event_name) == ("new-run", "old-run", "fn")
    assert (query.page, query.limit, len(query.conditions)) == (2, 50, 1)
    # The path form names the runs itself.
    assert parse_compare_events({}, new_run_id="n", old_run_id="o").limit == 1000
    fails("run_id_2", parse_compare_events, {"run_id_1": ["a"]})
    fails("limit", parse_compare_events, {"limit": ["7501"]}, new_run_id="n", old_run_id="o")
