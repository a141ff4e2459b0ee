"""Two experiment runs in the UI suite's project A, stored as the HoneyHive SDK's
`evaluate()` leaves them: each datapoint's session, its function span with the row and
the scores, and the session's outputs and ground truth, the runs and all
of it sent through the REST API. Seeded once per server, on first use.

Datapoints of the baseline `old` and the candidate `new`:

- `dp-regress`: passes in `old`, fails in `new` (accuracy 0.9 → 0.2), its answer's
  words changed ("Monday morning" → "Friday evening");
- `dp-steady`: the same in both, with hostile markup in its output, explanation and
  ground truth;
- `dp-improve`: fails in `old`, passes in `new` (0.3 → 0.95);
- `dp-old-only` and `dp-new-only`: in one run each; `dp-error`: `new`'s function
  raised.
"""

from __future__ import annotations

import json
import threading
import uuid
from dataclasses import dataclass, field

import httpx
import orjson

from tests.ui.conftest import HOSTILE, NOW_MS, Seeded

DATASET = "EXT-0123456789abcdef"
OLD_NAME = "baseline-run-ui"
NEW_NAME = "candidate-run-ui"
OLD_ANSWER = "Your parcel arrives on Monday morning at the pickup point."
NEW_ANSWER = "Your parcel arrives on Friday evening at the pickup point."
# Scores per run and datapoint: (accuracy, tone label) or None for a failing call.
_SCORES: dict[str, dict[str, tuple[float, str] | None]] = {
    "old": {"dp-regress": (0.9, "friendly"), "dp-steady": (0.6, "neutral"),
            "dp-improve": (0.3, "curt"), "dp-old-only": (0.7, "neutral")},
    "new": {"dp-regress": (0.2, "curt"), "dp-steady": (0.6, "neutral"),
            "dp-improve": (0.95, "friendly"), "dp-new-only": (0.8, "friendly"),
            "dp-error": None},
}  # fmt: skip
_PASSING = {"accuracy": {"min": 0.5}}


@dataclass
class Experiments:
    """What was seeded: run ids, and each run's session id per datapoint."""

    old: str
    new: str
    sessions: dict[str, dict[str, str]] = field(default_factory=dict)


_seeded: dict[str, Experiments] = {}
_lock = threading.Lock()


def experiments_of(seeded: Seeded) -> Experiments:
    """The runs of project A on the suite's server, seeded on first use."""
    with _lock:
        if seeded.url not in _seeded:
            _seeded[seeded.url] = _seed(seeded)
        return _seeded[seeded.url]


def _seed(seeded: Seeded) -> Experiments:
    found = Experiments(old=f"ui-old-{uuid.uuid4().hex[:8]}", new=f"ui-new-{uuid.uuid4().hex[:8]}")
    with seeded.server.client() as api:
        for which, run_id, name, start in (
            ("old", found.old, OLD_NAME, NOW_MS - 7_200_000),
            ("new", found.new, NEW_NAME, NOW_MS - 3_600_000),
        ):
            datapoints = list(_SCORES[which])
            _send(api, "POST", "/v1/runs", {
                "run_id": run_id,
                "name": name,
                "status": "running",
                "metadata": {"offline_dataset_id": DATASET,
                             "git": {"branch": f"exp/{which}", "commit_hash": "ab12" * 10}},
                "passing_ranges": _PASSING,
                "datapoint_ids": datapoints,
            })  # fmt: skip
            answer = OLD_ANSWER if which == "old" else NEW_ANSWER
            sessions = {
                dp: _session(api, run_id, name, dp, _SCORES[which][dp], answer, start + i * 1000)
                for i, dp in enumerate(datapoints)
            }
            found.sessions[which] = sessions
            done = {"status": "completed", "event_ids": list(sessions.values())}
            _send(api, "PUT", f"/v1/runs/{run_id}", done)
    return found


def _session(
    api: httpx.Client,
    run_id: str,
    name: str,
    datapoint: str,
    scores: tuple[float, str] | None,
    answer: str,
    start_ms: float,
) -> str:
    """One datapoint's session, as `evaluate()` sends it; its id."""
    session_id = str(uuid.uuid4())
    metadata = {"run_id": run_id, "dataset_id": DATASET, "datapoint_id": datapoint}
    inputs = {"question": f"When does parcel {datapoint} arrive?"}
    truth = {"answer": "Monday morning" if datapoint != "dp-steady" else f"steady {HOSTILE}"}
    row = {"inputs": inputs, "ground_truth": truth, "id": datapoint}
    _send(api, "POST", "/v1/sessions", {
        "session_id": session_id, "session_name": name, "source": "evaluation",
        "inputs": inputs, "metadata": metadata, "start_time": start_ms,
    })  # fmt: skip
    if datapoint == "dp-steady":
        answer = f"Steady answer {HOSTILE}"
    span: dict[str, object] = {
        "event_id": str(uuid.uuid4()),
        "parent_id": session_id,
        "event_type": "chain",
        "event_name": "answer_parcel",
        "start_time": start_ms + 5,
        "end_time": start_ms + 300,
        "inputs": {"dp": json.dumps(row)},
        "metadata": metadata,
    }
    if scores is None:
        span["error"] = "RuntimeError: the parcel service is down"
    else:
        accuracy, tone = scores
        span["outputs"] = {"result": answer}
        span["metrics"] = {
            "accuracy": accuracy,
            "accuracy_explanation": f"Judged against the reference {HOSTILE}",
            "tone": tone,
        }
    _send(api, "POST", f"/v1/sessions/{session_id}/events/batch", {"events": [span]})
    if scores is not None:
        update = {"event_id": session_id, "outputs": {"answer": answer},
                  "feedback": {"ground_truth": truth}}  # fmt: skip
        _send(api, "PUT", "/events", update)
    return session_id


def _send(api: httpx.Client, method: str, path: str, body: object) -> None:
    answer = api.request(
        method, path, content=orjson.dumps(body), headers={"content-type": "application/json"}
    )
    assert answer.status_code == 200, answer.text
