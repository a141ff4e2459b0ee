"""What the run routes read (`api.run_reads`), on every store: a result, a comparison, a
run's scored events, its event pairs and a run list each cost the same few queries for
a run of 3 datapoints as for one of 150, and none per session."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from hivekeeper.api import run_reads
from hivekeeper.domain.evaluation.comparison import CompareEventsQuery
from hivekeeper.domain.evaluation.ops import PutRun
from hivekeeper.domain.evaluation.results import ResultQuery
from hivekeeper.domain.evaluation.runs import RunPatch
from hivekeeper.domain.tenancy import Project
from hivekeeper.domain.types import EventPatch, Upsert, WriteOp
from hivekeeper.store import Store
from tests.support.statements import count_statements

NOW = 1_800_000_000_000.0
SIZES = {"small": 3, "large": 150}


def _session(project_id: str, run_id: str, i: int) -> list[WriteOp]:
    session_id = f"{run_id}-{i}"
    metadata = {"run_id": run_id, "datapoint_id": f"d{i}"}
    session: EventPatch = {"event_id": session_id, "session_id": session_id,
                           "event_type": "session", "event_name": run_id,
                           "start_time": NOW + i, "metadata": metadata}  # fmt: skip
    span: EventPatch = {"event_id": f"{session_id}-fn", "session_id": session_id,
                        "parent_id": session_id, "event_type": "chain", "event_name": "fn",
                        "start_time": NOW + i + 0.5, "metadata": metadata,
                        "metrics": {"accuracy": i % 3 / 2, "label": "x"}}  # fmt: skip
    return [Upsert(project_id, session), Upsert(project_id, span)]


@pytest.fixture
def seeded(store: Store) -> Project:
    """Two runs of each size over the same datapoints, every session reported."""
    project = store.bootstrap().project
    at = NOW
    for name, size in SIZES.items():
        for run_id in (f"{name}-old", f"{name}-new"):
            planned: RunPatch = {"datapoint_ids": [f"d{i}" for i in range(size)]}
            done: RunPatch = {
                "status": "completed",
                "event_ids": [f"{run_id}-{i}" for i in range(size)],
            }
            batches: list[list[WriteOp]] = [
                [PutRun(project.id, run_id, planned, create=True)],
                [op for i in range(size) for op in _session(project.id, run_id, i)],
                [PutRun(project.id, run_id, done)],
            ]
            for batch in batches:
                at += 1000
                store.write_batch(batch, at)
    return project


READS: dict[str, Callable[[Store, Project, str], object]] = {
    "result": lambda s, p, n: run_reads.result(s, p, f"{n}-old", ResultQuery("p90", ())),
    "compare-with": lambda s, p, n: run_reads.compare(
        s, p, f"{n}-new", f"{n}-old", ResultQuery("average", ())
    ),
    "metrics": lambda s, p, n: run_reads.metric_events(s, p, f"{n}-old", ()),
    "compare events": lambda s, p, n: run_reads.event_pairs(
        s, p, CompareEventsQuery(f"{n}-new", f"{n}-old", None, None, (), page=1, limit=1000)
    ),
    "run objects": lambda s, p, n: run_reads.run_objects(
        s, p.id, [r for r in (s.get_run(p.id, f"{n}-{v}") for v in ("old", "new")) if r]
    ),
}


@pytest.mark.parametrize("read", list(READS))
def test_a_run_read_costs_the_same_queries_whatever_the_runs_size(
    store: Store, seeded: Project, read: str
) -> None:
    counts = {}
    for name in SIZES:
        with count_statements(store) as statements:
            answer = READS[read](store, seeded, name)
        counts[name] = len(statements)
        assert answer  # something was read
    assert 0 < counts["small"] == counts["large"] <= 12, counts


def test_the_reads_answer_what_the_runs_hold(store: Store, seeded: Project) -> None:
    body = run_reads.result(store, seeded, "large-old", ResultQuery("count", ()))
    assert len(body["datapoints"]) == 150 and body["passed"][:2] == ["d0", "d1"]
    details = {d["metric_name"]: d for d in body["metrics"]["details"]}
    assert details["accuracy"]["aggregate"] == 150 and details["label"]["aggregate"] == 150
    pairs = run_reads.event_pairs(
        store, seeded, CompareEventsQuery("small-new", "small-old", "fn", None, (), 1, 2)
    )
    assert pairs["totalEvents"] == 3 and len(pairs["events"]) == 2
    compared = run_reads.compare(
        store, seeded, "small-new", "small-old", ResultQuery("average", ())
    )
    assert compared["commonDatapoints"] == ["d0", "d1", "d2"]
