"""The evaluation plane at the store level: a 10,000-row import, and a run's result.

1. `add_datapoints` of `--datapoints` rows (each ~0.5 KB: a question, a context, a
   ground truth and metadata columns) through the real writer into a fresh store:
   the domain's part (the body's rows and mapping → datapoints, what the route will
   do), then submit → commit of the one `PutDatapoints` op. The baseline from the same
   run is the same number of event upserts (one per row, as much JSON) through the
   same writer.
2. The result of a run of `--datapoints` sessions x `--metrics` metrics, as
   `evaluate()` leaves it (a session, the function's span with the row and the
   scores, a model call under it: 3 events per datapoint): the store's read
   (`run_rows`, one query, and the run and the metric rules), then the domain's
   `read_sessions`, `compute_result` and `render_result`. The baseline is the same
   events read whole through `query_events` (every column, one page).

Medians of `--rounds` rounds (the import: a fresh store per round).

    python bench/evaluation_store.py [--store sqlite] [--datapoints 10000] [--metrics 5]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO / "src"), str(REPO)]

from hivekeeper.domain.evaluation import (  # noqa: E402
    mapping,
    results,
    traces,
    verdicts,
    versions,
)
from hivekeeper.domain.evaluation.evaluators import Threshold, threshold_of  # noqa: E402
from hivekeeper.domain.evaluation.ops import (  # noqa: E402
    DatapointWrite,
    PutDatapoints,
    PutRun,
    SaveDataset,
    SaveVersion,
)
from hivekeeper.domain.evaluation.results import RunResult  # noqa: E402
from hivekeeper.domain.filters import EventQuery  # noqa: E402
from hivekeeper.domain.types import EventPatch, JsonObject, Upsert, WriteOp  # noqa: E402
from hivekeeper.ingest.writer import Writer  # noqa: E402
from hivekeeper.store import Store, open_store  # noqa: E402
from tests.support.databases import fresh_database_url  # noqa: E402

NOW_MS = 1_800_000_000_000.0


def _rows(count: int) -> list[dict[str, object]]:
    return [
        {
            "question": f"What is the capital of country number {i}? Answer in one word.",
            "context": "Capitals are the seats of government. " * 6,
            "answer": f"City {i}",
            "topic": "geography",
            "difficulty": i % 5,
            "source": f"atlas-{i // 100}",
        }
        for i in range(count)
    ]


def _fresh(kind: str, directory: Path) -> Store:
    store = open_store(fresh_database_url(kind, directory))
    store.open()
    return store


class Stopwatch:
    """Named durations, one list per name across rounds."""

    def __init__(self) -> None:
        self.seconds: dict[str, list[float]] = {}

    @contextlib.contextmanager
    def time(self, name: str) -> Iterator[None]:
        started = time.perf_counter()
        yield
        self.seconds.setdefault(name, []).append(time.perf_counter() - started)

    def medians(self) -> dict[str, float]:
        return {name: statistics.median(values) for name, values in self.seconds.items()}


def bench_import(kind: str, count: int, rounds: int) -> None:
    body: JsonObject = {
        "data": _rows(count),
        "mapping": {"inputs": ["question", "context"], "ground_truth": ["answer"]},
    }
    watch = Stopwatch()
    for _ in range(rounds):
        with tempfile.TemporaryDirectory() as tmp:
            store = _fresh(kind, Path(tmp))
            writer = Writer(store, max_queue_ops=50_000, max_batch_ops=5_000)
            writer.start()
            asyncio.run(_import_round(store, writer, body, count, watch))
            writer.close()
            store.close()
    median = watch.medians()
    domain, imported = median["domain"], median["import"]
    events = median["events"]
    print(f"add_datapoints, {count} rows, {kind}:")
    print(f"  domain (rows + mapping -> datapoints)  {domain * 1000:8.1f} ms")
    print(f"  writer submit -> commit (one op)       {imported * 1000:8.1f} ms")
    print(f"  total                                  {(domain + imported) * 1000:8.1f} ms")
    print(f"  baseline: {count} event upserts         {events * 1000:8.1f} ms")
    print(f"  import / baseline                      {imported / events:8.2f}")


async def _import_round(
    store: Store, writer: Writer, body: JsonObject, count: int, watch: Stopwatch
) -> None:
    project = store.bootstrap().project.id
    await writer.submit([SaveDataset(project, "d", name="bench", create=True)])
    with watch.time("domain"):
        rows, columns = mapping.parse_rows(body, max_rows=count)
        contents = mapping.datapoints_from_rows(rows, columns)
        writes = tuple(DatapointWrite(f"dp-{i}", c, new=True) for i, c in enumerate(contents))
    with watch.time("import"):
        await writer.submit([PutDatapoints(project, writes, dataset_ids=("d",))])
    assert len(store.dataset_members(project, ["d"])["d"]) == count
    events: list[WriteOp] = []
    for i, row in enumerate(rows):
        patch: EventPatch = {"event_id": f"e-{i}", "session_id": f"e-{i}",
                             "event_type": "session", "inputs": row}  # fmt: skip
        events.append(Upsert(project, patch))
    with watch.time("events"):
        await asyncio.gather(*(writer.submit([event]) for event in events))


def session_ops(project: str, run_id: str, i: int, metrics: int, seed: int = 0) -> list[WriteOp]:
    """Datapoint `i`'s session in run `run_id` as `evaluate()` leaves it: the session,
    the function's span carrying the row and `metrics` scores (`seed` varies them from
    run to run), and a model call under it."""
    session_id = f"{run_id}-s-{i:05d}"
    metadata = {"run_id": run_id, "datapoint_id": f"dp-{i}", "dataset_id": "d"}
    row = f'{{"inputs": {{"q": "question {i}"}}, "ground_truth": "answer {i}", "id": "dp-{i}"}}'
    session: EventPatch = {"event_id": session_id, "session_id": session_id,
                           "event_type": "session", "event_name": "bench",
                           "start_time": NOW_MS + i, "metadata": metadata,
                           "inputs": {"q": f"question {i}"}, "outputs": {"answer": f"answer {i}"},
                           "feedback": {"ground_truth": f"answer {i}"}}  # fmt: skip
    scores = {f"m{k}": (i + seed) * (k + 1) % 7 / 7 for k in range(metrics)}
    span: EventPatch = {"event_id": f"{session_id}-fn", "session_id": session_id,
                        "parent_id": session_id, "event_type": "chain", "event_name": "fn",
                        "start_time": NOW_MS + i + 0.1, "metadata": metadata,
                        "inputs": {"dp": row, "context": "x" * 400},
                        "outputs": {"result": f"answer {i}"},
                        "metrics": scores}  # fmt: skip
    model: EventPatch = {"event_id": f"{session_id}-llm", "session_id": session_id,
                         "parent_id": f"{session_id}-fn", "event_type": "model",
                         "event_name": "llm", "start_time": NOW_MS + i + 0.2,
                         "inputs": {"chat_history": [{"role": "user", "content": "y" * 400}]},
                         "outputs": {"content": "z" * 200}}  # fmt: skip
    return [Upsert(project, session), Upsert(project, span), Upsert(project, model)]


def bench_result(kind: str, count: int, metrics: int, rounds: int) -> None:
    watch = Stopwatch()
    with tempfile.TemporaryDirectory() as tmp:
        store = _fresh(kind, Path(tmp))
        project = store.bootstrap().project.id
        seed_metrics(store, project, metrics)
        seed_run(store, project, "run", count, metrics)
        for _ in range(rounds):
            result = _result_round(store, project, metrics, watch)
            assert len(result.datapoints) == count
        store.close()
    median = watch.medians()
    baseline = median.pop("baseline")
    print(
        f"result of a run of {count} datapoints x {metrics} metrics ({3 * count} events), {kind}:"
    )
    for part in ("store", "domain"):
        median[f"{part} total"] = sum(s for n, s in median.items() if n.startswith(part))
    for name, seconds in median.items():
        print(f"  {name:38s} {seconds * 1000:8.1f} ms  {seconds / baseline:5.2f} x baseline")
    print(f"  {'baseline: the events read whole':38s} {baseline * 1000:8.1f} ms")


def seed_metrics(store: Store, project: str, metrics: int) -> None:
    """Metrics `m0`… deployed with a threshold, so every score gets a verdict."""
    for k in range(metrics):
        content: JsonObject = {"name": f"m{k}", "threshold": {"min": 0.5}}
        deploy = (versions.DEPLOYED,)
        store.write_batch(
            [SaveVersion(project, "metric", f"m{k}", content, create=True, deploy=deploy)],
            NOW_MS + 1 + k,
        )


def seed_run(
    store: Store, project: str, run_id: str, count: int, metrics: int, seed: int = 0
) -> None:
    """A completed run of `count` datapoints scored on `metrics` metrics, written as
    the writer would (a batch per 1,000 sessions)."""
    ids = [f"dp-{i}" for i in range(count)]
    store.write_batch([PutRun(project, run_id, {"datapoint_ids": ids}, create=True)], NOW_MS)
    for start in range(0, count, 1000):
        ops = [
            op
            for i in range(start, min(count, start + 1000))
            for op in session_ops(project, run_id, i, metrics, seed)
        ]
        store.write_batch(ops, NOW_MS + 100 + start)
    sessions = [f"{run_id}-s-{i:05d}" for i in range(count)]
    done = PutRun(project, run_id, {"status": "completed", "event_ids": sessions})
    store.write_batch([done], NOW_MS + 10 * count)


def _result_round(store: Store, project: str, metrics: int, watch: Stopwatch) -> RunResult:
    names = [f"m{k}" for k in range(metrics)]
    with watch.time("store: get_run"):
        run = store.get_run(project, "run")
    with watch.time("store: run_rows (one query)"):
        rows = store.run_rows(project, "run")
    with watch.time("store: metric rules"):
        definitions = store.list_definitions(project, "metric", names=names)
    assert run is not None
    thresholds: dict[str, Threshold] = {}
    for definition in definitions:
        live = versions.deployed(definition.deployments)[versions.DEPLOYED]
        content = next(v.content for v in definition.versions if v.change_id == live)
        thresholds[str(content["name"])] = threshold_of(content)
    with watch.time("domain: read_sessions"):
        sessions = traces.read_sessions(rows)
    with watch.time("domain: compute_result"):
        result = results.compute_result(
            status=run.status,
            datapoint_ids=run.datapoint_ids,
            traces=sessions,
            rules=verdicts.rules_for(run.passing_ranges, thresholds),
            function="average",
        )
    with watch.time("domain: render_result"):
        results.render_result(result, {})
    with watch.time("baseline"):
        store.query_events(project, EventQuery(limit=3 * len(run.datapoint_ids), count_total=False))
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--store", default="sqlite", choices=("sqlite", "postgres", "chdb"))
    parser.add_argument("--datapoints", type=int, default=10_000)
    parser.add_argument("--metrics", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    bench_import(args.store, args.datapoints, args.rounds)
    bench_result(args.store, args.datapoints, args.metrics, args.rounds)


if __name__ == "__main__":
    main()
