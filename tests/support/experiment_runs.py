"""Experiment runs written over REST the way `evaluate()` leaves them, for route tests.

Per datapoint: a session whose metadata names the run and the datapoint, and under it
the evaluated function's `chain` span carrying the scores (spec/evaluation.md §2); the
run is created first with its planned datapoints and completed last with its session
ids, as the SDK does.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

import httpx

START_MS = 1_795_000_000_000.0

Scores = Mapping[str, Mapping[str, object]]
"""Datapoint id → metric name → value."""


def ok(answer: httpx.Response) -> Any:
    """The JSON of a 200 answer (the SDK accepts no other success status)."""
    assert answer.status_code == 200, (answer.request.method, answer.request.url, answer.text)
    return answer.json()


def start_run(api: httpx.Client, run_id: str, datapoints: list[str], **fields: Any) -> Any:
    """`POST /v1/runs` as `evaluate()` sends it (an offline dataset unless `dataset_id`)."""
    body = {
        "run_id": run_id,
        "name": fields.pop("name", run_id),
        "status": "pending",
        "dataset_id": fields.pop("dataset_id", "EXT-contract"),
        "event_ids": [],
        "datapoint_ids": datapoints,
        **fields,
    }
    return ok(api.post("/v1/runs", json=body))


def add_session(
    api: httpx.Client,
    run_id: str,
    datapoint_id: str,
    scores: Mapping[str, object],
    *,
    index: int = 0,
    error: str | None = None,
) -> str:
    """One datapoint's session and its function span; the session id."""
    session_id = str(uuid.uuid4())
    metadata = {"run_id": run_id, "datapoint_id": datapoint_id}
    start = START_MS + index * 100
    ok(
        api.post(
            "/v1/sessions",
            json={
                "session_id": session_id,
                "session_name": run_id,
                "source": "evaluation",
                "start_time": start,
                "inputs": {"q": datapoint_id},
                "metadata": metadata,
            },
        )
    )
    span = {
        "event_type": "chain",
        "event_name": "fn",
        "session_id": session_id,
        "parent_id": session_id,
        "start_time": start + 1,
        "end_time": start + 2,
        "metadata": metadata,
        "outputs": {"result": f"answer {datapoint_id}"},
        "metrics": dict(scores),
        "error": error,
    }
    ok(api.post("/events/batch", json={"events": [span]}))
    return session_id


def seed_run(
    api: httpx.Client,
    run_id: str,
    scores: Scores,
    *,
    errors: Mapping[str, str] | None = None,
    status: str = "completed",
    **fields: Any,
) -> dict[str, str]:
    """A whole run: created, one session per datapoint of `scores` (in order), then
    `status` with every session id. Datapoint id → session id."""
    start_run(api, run_id, list(scores), **fields)
    sessions = {
        datapoint_id: add_session(
            api, run_id, datapoint_id, values, index=i, error=(errors or {}).get(datapoint_id)
        )
        for i, (datapoint_id, values) in enumerate(scores.items())
    }
    ok(
        api.put(
            f"/v1/runs/{run_id}",
            json={"status": status, "event_ids": list(sessions.values())},
        )
    )
    return sessions
