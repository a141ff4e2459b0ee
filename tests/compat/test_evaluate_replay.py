"""Replays what `evaluate()`, `compare_runs()` and `compare_run_events()` of honeyhive
1.7.0 sent (`tests/data/honeyhive-sdk-1.7.0-evaluate/`) to a live server on every store,
every request in order, the run routes included: each answer must be a 200 the SDK's
models parse (as `evaluate()` parses them: fatal otherwise), and the run's result must
be what its sessions hold.

The recording of `evaluate(dataset_id="ds-1")` first read the dataset and its
datapoints: those two reads belong to the dataset routes (api/datasets.py) and are
replayed by their tests, not here (`ELSEWHERE`). The compare recording names runs
`new` and `old` its recording server held: they are made first, from local rows.
"""

from __future__ import annotations

import json
import re
from typing import Any

import httpx
import pytest
from honeyhive._generated.models import (
    GetExperimentCompareEventsResponse,
    GetExperimentRunCompareResponse,
    GetExperimentRunResultResponse,
    PostExperimentRunResponse,
    PostSessionStartResponse,
    PutExperimentRunResponse,
)
from honeyhive.experiments.models import (
    AggregatedMetrics,
    DatapointResult,
    ExperimentResultSummary,
)

from tests.support.experiment_runs import seed_run
from tests.support.recordings import BOOM, HI, MY, STR, recorded, with_session_ids
from tests.support.server import LiveServer

ELSEWHERE = (re.compile(r"/v1/datasets"), re.compile(r"/v1/datapoints/[^/]+"))
"""Requests of the recordings that the dataset routes' tests replay."""
Exchange = tuple[dict[str, Any], Any]


def replay(server: LiveServer, name: str) -> list[Exchange]:
    """Send recording `name` in order with the server's full key (`evaluate()` with an
    `api_key` only sends everything with it); every answer must be a 200 with JSON."""
    exchanges: list[Exchange] = []
    with server.client() as client:
        for request in with_session_ids(name):
            if any(p.fullmatch(request["path"]) for p in ELSEWHERE):
                continue
            body = request["body"]
            answer = client.request(
                request["method"],
                request["path"],
                params=request["query"],
                content=None if body is None else json.dumps(body).encode(),
                headers={"Content-Type": "application/json", "X-Source": "evaluation"},
            )
            assert answer.status_code == 200, (request["method"], request["path"], answer.text)
            exchanges.append((request, answer.json()))
    return exchanges


def _answers(exchanges: list[Exchange], method: str, suffix: str) -> list[Any]:
    return [a for r, a in exchanges if r["method"] == method and r["path"].endswith(suffix)]


def _evaluate_parses(exchanges: list[Exchange]) -> ExperimentResultSummary:
    """Each answer as the SDK parses it; the last (the result) as `evaluate()` returns it."""
    for request, answer in exchanges:
        path = request["path"]
        if path == "/session/start":
            PostSessionStartResponse(**answer)
        elif path == "/v1/runs":
            assert PostExperimentRunResponse(**answer).run_id == request["body"]["run_id"]
        elif path.startswith("/v1/runs/") and request["method"] == "PUT":
            PutExperimentRunResponse(**answer)
        elif path == "/opentelemetry/v1/traces":
            assert "rejectedSpans" not in json.dumps(answer), answer
    request, answer = exchanges[-1]
    assert request["path"].endswith("/result")
    dumped = GetExperimentRunResultResponse(**answer).model_dump()
    return ExperimentResultSummary(
        run_id=dumped["run_object"]["run_id"],
        status=dumped["status"],
        success=dumped["success"],
        passed=dumped["passed"],
        failed=dumped["failed"],
        metrics=AggregatedMetrics(**dumped["metrics"]),
        datapoints=[DatapointResult(**d) for d in dumped["datapoints"]],
    )


def test_every_recording_is_replayed_but_the_dataset_reads() -> None:
    names = ("local_full", "decorated_full", "dsid_minimal_result", "compare_full")
    skipped = [
        (name, r["path"])
        for name in names
        for r in recorded(name)
        if any(p.fullmatch(r["path"]) for p in ELSEWHERE)
    ]
    assert skipped == [
        ("dsid_minimal_result", "/v1/datasets"),
        ("dsid_minimal_result", "/v1/datapoints/dp-1"),
        ("dsid_minimal_result", "/v1/datapoints/dp-2"),
    ]


def test_a_local_dataset_run_as_evaluate_sent_it(server: LiveServer) -> None:
    exchanges = replay(server, "local_full")
    summary = _evaluate_parses(exchanges)
    assert (summary.status, summary.success) == ("completed", True)
    # "boom" raised; "str" returned a plain string (no session update: its ground truth
    # is read from the row the span carries).
    assert (summary.passed, summary.failed) == ([HI, STR, MY], [BOOM])
    exact = summary.metrics.get_metric("exact_match")
    assert exact is not None and exact.values == [1.0, 0.0, 0.0]
    assert exact.aggregate == pytest.approx(1 / 3)
    judged = summary.metrics.get_metric("judged")
    assert judged is not None and judged.values == [True, True, True]
    assert judged.metric_type == "boolean"
    (result,) = _answers(exchanges, "GET", "/result")
    explanation = next(
        d for d in result["metrics"]["details"] if d["metric_name"] == "judged_explanation"
    )
    assert (explanation["values"], explanation["string_values"]) == ([], ["looks fine"] * 3)
    by_datapoint = {d["datapoint_id"]: d for d in result["datapoints"]}
    assert by_datapoint[STR]["outputs"] == "plain string output"
    assert by_datapoint[STR]["ground_truth"] == {"a": "x"}
    assert by_datapoint[BOOM]["error"] == "RuntimeError: boom"
    assert by_datapoint[BOOM]["metrics"] == []
    (created,) = _answers(exchanges, "POST", "/v1/runs")
    assert created["evaluation"]["metadata"]["offline_dataset_id"] == "EXT-b5250dae4b67cbd0"


def test_a_decorated_evaluators_run(server: LiveServer) -> None:
    summary = _evaluate_parses(replay(server, "decorated_full"))
    assert (summary.passed, summary.failed) == ([HI], [])
    assert [m.metric_name for m in summary.metrics.details] == ["deco"]


def test_a_stored_dataset_run_past_its_dataset_reads(server: LiveServer) -> None:
    exchanges = replay(server, "dsid_minimal_result")
    summary = _evaluate_parses(exchanges)
    assert [d.datapoint_id for d in summary.datapoints] == ["dp-1", "dp-2"]
    assert summary.passed == ["dp-1", "dp-2"]
    (created,) = _answers(exchanges, "POST", "/v1/runs")
    assert created["evaluation"]["dataset_id"] == "ds-1"


def test_compare_runs_and_compare_run_events_as_sent(
    server: LiveServer, api: httpx.Client
) -> None:
    seed_run(api, "old", {"d1": {"exact_match": 1.0}, "d2": {"exact_match": 0.0}})
    seed_run(api, "new", {"d1": {"exact_match": 1.0}, "d2": {"exact_match": 1.0}})
    exchanges = replay(server, "compare_full")
    compared = GetExperimentRunCompareResponse(**exchanges[0][1])
    metric = compared.metrics[0].model_dump()
    assert (metric["metric_name"], metric["improved"], metric["same"]) == (
        "exact_match",
        ["d2"],
        ["d1"],
    )
    assert compared.commonDatapoints == ["d1", "d2"]
    paired = GetExperimentCompareEventsResponse(**exchanges[1][1])
    assert paired.totalEvents == 2
    assert [e.datapoint_id for e in paired.events] == ["d1", "d2"]
