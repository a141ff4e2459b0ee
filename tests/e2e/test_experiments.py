"""The real honeyhive 1.7.0 `evaluate()` against a live hivekeeper, on every store.

The user's whole experience of experiments: `evaluate()` over local rows with three
kinds of evaluator (one row's function raising, one returning a string), under a run id
of their own; `evaluate()` over a dataset made with `datasets.create` and
`add_datapoints`; two runs compared with `compare_runs()` and `compare_run_events()`;
every other method of `client.experiments`. Each runs in its own interpreter
(`scenarios/experiments.py`): `evaluate()` starts tracers, global OpenTelemetry state.
The compared runs send their telemetry with an ingestion key and their run calls with
the project key, as `evaluate(ingestion_api_key=…)` does.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.scenario import ScenarioRun, run_scenario, run_script
from tests.support.server import run_server

LOCAL = ["EXT-hi", "EXT-yo", "EXT-str", "EXT-boom"]
# What the SDK logs on its own, by design: the raising row, and the row whose function
# returned a string (no session update is sent for a non-dict output).
EXPECTED_PROBLEMS = ("Function execution failed for datapoint EXT-boom", "UpdateEventRequest")


@dataclass(frozen=True, slots=True)
class Experiments:
    run: ScenarioRun
    api: httpx.Client

    def stage(self, name: str) -> dict[str, Any]:
        result: dict[str, Any] = self.run.result[name]
        return result


@pytest.fixture(scope="module")
def experiments(
    module_store: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Experiments]:
    """The local, compare and namespace stages, run once per store against a fresh
    server; the tests read what they answered and stored."""
    with run_server(tmp_path_factory.mktemp("experiments"), module_store) as live:
        run = run_scenario(
            "experiments",
            server_url=live.url,
            api_key=live.key,
            env={
                "EXPERIMENT_STAGES": "local,compare,namespace",
                "SCENARIO_INGEST_KEY": live.new_key(kind="ingest"),
            },
            timeout_s=300,
        )
        with live.client() as api:
            yield Experiments(run=run, api=api)


def _metrics(datapoint: dict[str, Any]) -> dict[str, Any]:
    return {m["name"]: m["value"] for m in datapoint["metrics"]}


def test_evaluate_returns_the_aggregates_and_verdicts_of_its_rows(experiments: Experiments) -> None:
    summary = experiments.stage("local")["summary"]
    assert (summary["run_id"], summary["status"], summary["success"]) == (
        "ci-1234",
        "completed",
        True,
    )
    assert (summary["passed"], summary["failed"]) == (LOCAL[:3], ["EXT-boom"])
    details = {d["metric_name"]: d for d in summary["metrics"]["details"]}
    assert summary["metrics"]["aggregation_function"] == "average"
    assert sorted(details) == [
        "exact_match",
        "judged",
        "judged_confidence",
        "judged_explanation",
        "labeler",
    ]
    expected = {
        # name: (type, values in row order, aggregate); the raising row scored nothing.
        "exact_match": ("numeric", [1.0, 0.0, 0.0], pytest.approx(1 / 3)),
        "judged": ("boolean", [1.0, 1.0, 0.0], pytest.approx(2 / 3)),
        "judged_confidence": ("numeric", [0.75, 0.75, 0.75], 0.75),
        "judged_explanation": ("string", [], None),
        "labeler": ("string", [], None),
    }
    for name, (kind, values, aggregate) in expected.items():
        detail = details[name]
        assert (detail["metric_type"], detail["values"], detail["aggregate"]) == (
            kind,
            values,
            aggregate,
        ), name
        assert (detail["event_name"], detail["event_type"]) == ("answer", "chain")
    by_datapoint = {d["datapoint_id"]: d for d in summary["datapoints"]}
    assert list(by_datapoint) == LOCAL
    assert _metrics(by_datapoint["EXT-hi"]) == {
        "exact_match": 1.0,
        "judged": True,
        "judged_confidence": 0.75,
        "judged_explanation": None,  # a string: not a number, kept apart (below)
        "labeler": None,
    }
    assert _metrics(by_datapoint["EXT-yo"])["exact_match"] == 0.0
    assert _metrics(by_datapoint["EXT-str"])["judged"] is False
    assert by_datapoint["EXT-boom"]["metrics"] == [] and by_datapoint["EXT-boom"]["passed"] is False
    assert all(by_datapoint[d]["passed"] for d in LOCAL[:3])


def test_string_scores_stay_readable(experiments: Experiments) -> None:
    body = experiments.api.get("/v1/runs/ci-1234/result").json()
    details = {d["metric_name"]: d for d in body["metrics"]["details"]}
    assert details["labeler"]["string_values"] == ["dict", "dict", "text"]
    assert details["judged_explanation"]["string_values"] == ["a dict"] * 3
    by_datapoint = {d["datapoint_id"]: d for d in body["datapoints"]}
    labels = {m["name"]: m.get("string_value") for m in by_datapoint["EXT-str"]["metrics"]}
    assert labels["labeler"] == "text"
    # The string output and the error are kept with their datapoint too.
    assert by_datapoint["EXT-str"]["outputs"] == "plain string output"
    assert by_datapoint["EXT-boom"]["error"] == "RuntimeError: boom"


def test_the_run_keeps_the_users_id_its_sessions_and_its_offline_dataset(
    experiments: Experiments,
) -> None:
    run = experiments.stage("local")["run"]
    assert (run["run_id"], run["name"], run["status"]) == ("ci-1234", "e2e-local", "completed")
    assert len(run["event_ids"]) == 4 and run["datapoint_ids"] == LOCAL
    assert run["configuration"]["evaluators"] == ["exact_match", "judged", "labeler"]
    offline = run["metadata"]["offline_dataset_id"]
    assert offline.startswith("EXT-") and run["dataset_id"] is None
    listed = experiments.api.get("/v1/runs", params={"dataset_id": offline}).json()
    assert [r["run_id"] for r in listed["evaluations"]] == ["ci-1234"]
    problems = experiments.run.logged_problems()
    assert all(any(e in p for e in EXPECTED_PROBLEMS) for p in problems), problems


def test_compare_runs_counts_and_lists_each_change(experiments: Experiments) -> None:
    compared = experiments.stage("compare")
    comparison = compared["comparison"]
    assert (comparison["new_run_id"], comparison["old_run_id"]) == (
        compared["runs"]["new"],
        compared["runs"]["old"],
    )
    assert comparison["common_datapoints"] == 3
    assert comparison["metric_deltas"] == {
        "exact_match": {
            "old_aggregate": pytest.approx(2 / 3),
            "new_aggregate": pytest.approx(2 / 3),
            "found_count": 3,
            "improved_count": 1,
            "degraded_count": 1,
            "same_count": 1,
            "improved": ["EXT-b"],
            "degraded": ["EXT-c"],
            "same": ["EXT-a"],
            "old_values": [1.0, 0.0, 1.0],
            "new_values": [1.0, 1.0, 0.0],
        }
    }


def test_compare_run_events_pairs_the_function_spans(experiments: Experiments) -> None:
    compared = experiments.stage("compare")
    events = compared["events"]
    assert events["totalEvents"] == 3
    assert [e["datapoint_id"] for e in events["events"]] == ["EXT-a", "EXT-b", "EXT-c"]
    for pair in events["events"]:
        new, old = pair["event_1"], pair["event_2"]
        assert (new["event_name"], old["event_name"]) == ("answer", "answer")
        assert new["metadata"]["run_id"] == compared["runs"]["new"]
        assert old["metadata"]["run_id"] == compared["runs"]["old"]
    b = events["events"][1]
    assert (b["event_1"]["metrics"], b["event_2"]["metrics"]) == (
        {"exact_match": 1.0},
        {"exact_match": 0.0},
    )


def test_every_other_experiments_method_answers(experiments: Experiments) -> None:
    calls = experiments.stage("namespace")
    assert (calls["create_run"], calls["update_run"], calls["delete_run"]) == (
        "manual-1",
        "completed",
        True,
    )
    assert calls["list_runs"] == ["manual-1"]
    summed = {d["metric_name"]: d["aggregate"] for d in calls["get_result"]["details"]}
    assert summed["exact_match"] == 1.0 and summed["judged_confidence"] == 2.25
    assert calls["get_run_result"] == LOCAL[:3]
    assert calls["compare_runs"] == LOCAL  # a run compared with itself
    assert {"metrics.exact_match", "metrics.labeler", "inputs.dp"} <= set(calls["get_schema"])
    assert calls["async"] == {
        "create_run_async": "manual-2",
        "update_run_async": ["s-1"],
        "get_run_async": "manual async",
        "list_runs_async": ["manual-2"],
        "get_result_async": True,
        "compare_runs_async": LOCAL,
        "get_schema_async": True,
        "delete_run_async": True,
    }
    assert experiments.api.get("/v1/runs/manual-1").status_code == 404


def test_the_readme_example_runs_as_printed(tmp_path: Path) -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    blocks = readme.split("```python\n")[1:]
    (example,) = [b.split("\n```")[0] for b in blocks if "= evaluate(" in b]
    script = tmp_path / "readme_example.py"
    script.write_text(
        "import json, os\n"
        + example.replace('"hh_…"', 'os.environ["SCENARIO_API_KEY"]').replace(
            '"http://127.0.0.1:8000"', 'os.environ["SCENARIO_SERVER_URL"]'
        )
        + "\nprint(json.dumps({'passed': result.passed, "
        "'exact_match': result.metrics.get_metric('exact_match').aggregate}))\n"
    )
    (tmp_path / "data").mkdir()
    with run_server(tmp_path / "data", "sqlite") as live, live.client() as api:
        run = run_script(script, server_url=live.url, api_key=live.key, timeout_s=300)
        passed = run.result["passed"]
        assert len(passed) == 2 and all(d.startswith("EXT-") for d in passed)
        # What the README says it prints: both rows passed (no rule judged them) and 0.5.
        assert run.stdout.strip().splitlines()[-2] == f"{passed} 0.5"
        assert run.result["exact_match"] == 0.5
        assert api.get("/v1/runs/ci-1234").json()["evaluation"]["name"] == "shout"


def test_evaluate_over_a_stored_dataset(tmp_path: Path, store_kind: str) -> None:
    with run_server(tmp_path, store_kind) as live:
        run = run_scenario(
            "experiments",
            server_url=live.url,
            api_key=live.key,
            env={"EXPERIMENT_STAGES": "stored"},
            timeout_s=300,
        )
        stored = run.result["stored"]
        summary = stored["summary"]
        assert [d["datapoint_id"] for d in summary["datapoints"]] == stored["datapoint_ids"]
        assert (summary["passed"], summary["failed"]) == (stored["datapoint_ids"], [])
        exact = next(d for d in summary["metrics"]["details"] if d["metric_name"] == "exact_match")
        assert (exact["values"], exact["aggregate"]) == ([1.0, 0.0], 0.5)
        assert stored["run"]["dataset_id"] == stored["dataset_id"]
        assert stored["run"]["dataset_name"] == "e2e-stored"
        assert stored["run"]["dataset_version"] == 1
        assert run.logged_problems() == []
        with live.client() as api:
            listed = api.get("/v1/runs", params={"dataset_id": stored["dataset_id"]}).json()
        assert [r["run_id"] for r in listed["evaluations"]] == [summary["run_id"]]
