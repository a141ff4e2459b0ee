"""Experiments with honeyhive 1.7.0's `evaluate()`; run by `tests/e2e/test_experiments.py`.

It runs in its own interpreter because `evaluate()` starts a tracer per datapoint, and
tracers install global OpenTelemetry state. `SCENARIO_SERVER_URL` / `SCENARIO_API_KEY`
say where to send (`SCENARIO_INGEST_KEY`, when set, sends the telemetry of the compared
runs); `EXPERIMENT_STAGES` (comma-separated) picks what to run:

- `local`: `evaluate(dataset=[…])` under the user's run id `ci-1234`, with a float, a
  `{score, explanation, …}` and a string evaluator; one row's function raises, one
  returns a string;
- `stored`: `datasets.create` + `add_datapoints`, then `evaluate(dataset_id=…)`;
- `compare`: two runs over the same rows, `compare_runs()` and `compare_run_events()`;
- `namespace`: every other method of `client.experiments`, sync and async, once.

The last stdout line is one JSON object: each stage's results by name.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sys
import warnings
from typing import Any

from honeyhive import HoneyHive
from honeyhive.experiments import compare_runs, evaluate
from honeyhive.models import (
    AddDatapointsToDatasetRequest,
    CreateDatasetRequest,
    DatapointMapping,
    PostExperimentRunRequest,
    PutExperimentRunRequest,
)

SERVER_URL = os.environ["SCENARIO_SERVER_URL"]
API_KEY = os.environ["SCENARIO_API_KEY"]
INGEST_KEY = os.environ.get("SCENARIO_INGEST_KEY") or None

LOCAL_ROWS = [
    {"id": "hi", "inputs": {"q": "hi"}, "ground_truth": {"a": "HI"}},
    {"id": "yo", "inputs": {"q": "yo"}, "ground_truth": {"a": "nope"}},
    {"id": "str", "inputs": {"q": "str"}, "ground_truth": {"a": "x"}},
    {"id": "boom", "inputs": {"q": "boom"}, "ground_truth": {"a": "?"}},
]
COMPARED_ROWS = [
    {"id": name, "inputs": {"q": name}, "ground_truth": {"a": name.upper()}}
    for name in ("a", "b", "c")
]
# What `answer` gets wrong in each compared run: b improves, c degrades, a stays right.
WRONG = {"old": {"b"}, "new": {"c"}}


def answer(datapoint: dict[str, Any]) -> Any:
    """The evaluated function: shouts the question; `boom` raises, `str` is no dict."""
    question = datapoint["inputs"]["q"]
    if question == "boom":
        raise RuntimeError("boom")
    if question == "str":
        return "plain string output"
    if question in WRONG.get(os.environ.get("EXPERIMENT_VERSION", ""), ()):
        return {"a": "wrong"}
    return {"a": question.upper()}


def exact_match(outputs: Any, inputs: dict[str, Any], ground_truth: Any) -> float:
    """A float evaluator."""
    return 1.0 if outputs == ground_truth else 0.0


def judged(outputs: Any, inputs: dict[str, Any], ground_truth: Any) -> dict[str, Any]:
    """A `{score, explanation, …}` evaluator."""
    return {"score": isinstance(outputs, dict), "explanation": "a dict", "confidence": 0.75}


def labeler(outputs: Any, inputs: dict[str, Any], ground_truth: Any) -> str:
    """A string-valued evaluator."""
    return "dict" if isinstance(outputs, dict) else "text"


def _summary(result: Any) -> dict[str, Any]:
    dumped: dict[str, Any] = result.model_dump(mode="json")
    return dumped


def local(client: HoneyHive) -> dict[str, Any]:
    result = evaluate(
        answer,
        dataset=LOCAL_ROWS,
        evaluators=[exact_match, judged, labeler],
        api_key=API_KEY,
        server_url=SERVER_URL,
        name="e2e-local",
        run_id="ci-1234",
        max_workers=2,
        print_results=False,
    )
    run = client.experiments.get_run("ci-1234").evaluation
    return {"summary": _summary(result), "run": run.model_dump(mode="json")}


def stored(client: HoneyHive) -> dict[str, Any]:
    created = client.datasets.create(CreateDatasetRequest(name="e2e-stored"))
    dataset_id = created.result.insertedId
    rows = [{"question": "hi", "answer": "HI"}, {"question": "yo", "answer": "nope"}]
    added = client.datasets.add_datapoints(
        dataset_id,
        AddDatapointsToDatasetRequest(
            data=rows, mapping=DatapointMapping(inputs=["question"], ground_truth=["answer"])
        ),
    )

    def shout(datapoint: dict[str, Any]) -> dict[str, Any]:
        return {"answer": datapoint["inputs"]["question"].upper()}

    result = evaluate(
        shout,
        dataset_id=dataset_id,
        evaluators=[exact_match],
        api_key=API_KEY,
        server_url=SERVER_URL,
        name="e2e-stored",
        print_results=False,
    )
    run = client.experiments.get_run(result.run_id).evaluation
    return {
        "dataset_id": dataset_id,
        "datapoint_ids": added.datapoint_ids,
        "summary": _summary(result),
        "run": run.model_dump(mode="json"),
    }


def compare(client: HoneyHive) -> dict[str, Any]:
    runs = {}
    for version in ("old", "new"):
        os.environ["EXPERIMENT_VERSION"] = version
        runs[version] = evaluate(
            answer,
            dataset=COMPARED_ROWS,
            evaluators=[exact_match],
            api_key=API_KEY,
            ingestion_api_key=INGEST_KEY,
            server_url=SERVER_URL,
            name=f"e2e-{version}",
            print_results=False,
        ).run_id
    compared = compare_runs(client, runs["new"], runs["old"])
    events = client.experiments.compare_run_events(runs["new"], runs["old"])
    return {
        "runs": runs,
        "comparison": compared.model_dump(mode="json"),
        "events": events.model_dump(mode="json"),
    }


def namespace(client: HoneyHive) -> dict[str, Any]:
    """Every method of `client.experiments` not called by the other stages."""
    experiments = client.experiments
    out: dict[str, Any] = {}
    created = experiments.create_run(
        PostExperimentRunRequest(run_id="manual-1", name="manual", dataset_id="EXT-manual")
    )
    out["create_run"] = created.run_id
    out["update_run"] = experiments.update_run(
        "manual-1", PutExperimentRunRequest(status="completed", metadata={"by": "hand"})
    ).evaluation.status
    listed = experiments.list_runs(dataset_id="EXT-manual").evaluations
    out["list_runs"] = [r.run_id for r in listed]
    out["get_result"] = experiments.get_result("ci-1234", aggregate_function="sum")["metrics"]
    out["get_run_result"] = experiments.get_run_result("ci-1234")["passed"]
    out["compare_runs"] = experiments.compare_runs("ci-1234", "ci-1234")["commonDatapoints"]
    schema = experiments.get_schema(evaluation_id="ci-1234")
    out["get_schema"] = sorted(f.name for f in schema.fields)
    out["delete_run"] = experiments.delete_run("manual-1").deleted
    out["async"] = asyncio.run(_async_namespace(client))
    return out


async def _async_namespace(client: HoneyHive) -> dict[str, Any]:
    experiments = client.experiments
    created = await experiments.create_run_async(
        PostExperimentRunRequest(run_id="manual-2", name="manual async")
    )
    updated = await experiments.update_run_async(
        "manual-2", PutExperimentRunRequest(event_ids=["s-1"])
    )
    got = await experiments.get_run_async("manual-2")
    listed = await experiments.list_runs_async(run_ids=["manual-2"])
    result = await experiments.get_result_async("ci-1234", aggregate_function="max")
    compared = await experiments.compare_runs_async("ci-1234", "ci-1234")
    schema = await experiments.get_schema_async()
    deleted = await experiments.delete_run_async("manual-2")
    return {
        "create_run_async": created.run_id,
        "update_run_async": updated.evaluation.event_ids,
        "get_run_async": got.evaluation.name,
        "list_runs_async": [r.run_id for r in listed.evaluations],
        "get_result_async": result["success"],
        "compare_runs_async": compared["commonDatapoints"],
        "get_schema_async": len(schema.fields) > 0,
        "delete_run_async": deleted.deleted,
    }


STAGES = {"local": local, "stored": stored, "compare": compare, "namespace": namespace}


def main() -> None:
    # Failures are logged, never raised, by the tracer: show every warning to the test.
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    warnings.simplefilter("default")
    client = HoneyHive(api_key=API_KEY, server_url=SERVER_URL)
    results = {stage: STAGES[stage](client) for stage in os.environ["EXPERIMENT_STAGES"].split(",")}
    print(json.dumps(results))


if __name__ == "__main__":
    main()
