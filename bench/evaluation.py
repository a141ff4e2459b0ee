"""Experiment results over HTTP: `/result` and `compare-with` of runs of 1,000 and 10,000
datapoints with 5 metrics each, and a 10,000-row `add_datapoints`, against a real
`hivekeeper serve` on SQLite. Targets (issue 13): a result or a comparison within 200 ms
at 1,000 datapoints and within 1 s at 10,000; the import within 2 s.

The runs are written into the server's database as `evaluate()` leaves them (per
datapoint a session, the function's span with the row and 5 scores, a model call:
`evaluation_store.seed_run`), two runs per size over the same datapoints with
different scores, and 5 metric definitions with thresholds, so every score is judged.
Each request is timed to its last byte: the first (`cold`: the run never read since
its last write), then `--rounds` more (`best` and `median` wall time, and the server's
CPU time per request, from /proc, steadier than wall time on a shared machine). The
import posts the rows and their mapping to `POST /v1/datasets/{id}/datapoints`
(skipped when the server has no such route). The baseline, from the same run: the
run's sessions and function spans (the events naming the run, 2 per datapoint)
exported whole through `POST /v1/events/export` in pages of 7,500, what reading those
rows over HTTP costs without any evaluation logic.

    python bench/evaluation.py [--sizes 1000,10000] [--metrics 5] [--rounds 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO / "src"), str(REPO)]

from evaluation_store import seed_metrics, seed_run  # noqa: E402
from harness import Server, serve  # noqa: E402

from hivekeeper.store import open_store  # noqa: E402

TARGETS_S = {1_000: 0.2, 10_000: 1.0}
IMPORT_TARGET_S = 2.0


def timed(call: Callable[[], httpx.Response]) -> float:
    """Seconds until the whole answer arrived (a 200)."""
    started = time.perf_counter()
    answer = call()
    elapsed = time.perf_counter() - started
    assert answer.status_code == 200, answer.text[:500]
    return elapsed


def seed(data_dir: Path, sizes: list[int], metrics: int) -> None:
    """Two runs per size (`old-N`, `new-N`) into the database the server serves."""
    store = open_store(f"sqlite:///{data_dir / 'hivekeeper.db'}")
    store.open()
    try:
        project = store.bootstrap().project.id
        seed_metrics(store, project, metrics)
        for size in sizes:
            seed_run(store, project, f"old-{size}", size, metrics, seed=0)
            seed_run(store, project, f"new-{size}", size, metrics, seed=1)
    finally:
        store.close()


def server_cpu_s(server: Server) -> float:
    """CPU seconds the server process has used so far (user + system)."""
    fields = Path(f"/proc/{server.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def bench_runs(server: Server, api: httpx.Client, sizes: list[int], rounds: int) -> None:
    print(
        f"{'request':40s} {'cold':>8s} {'best':>8s} {'median':>8s} {'cpu':>8s} "
        f"{'target':>7s} {'best/export':>11s}   (ms)"
    )
    for size in sizes:
        export_s = min(_export(api, f"old-{size}") for _ in range(max(1, rounds // 2)))
        requests = {
            f"/result, {size} datapoints": f"/v1/runs/old-{size}/result",
            f"compare-with, {size} datapoints": f"/v1/runs/new-{size}/compare-with/old-{size}",
        }
        for label, path in requests.items():
            cold = timed(lambda p=path: api.get(p))
            cpu_before = server_cpu_s(server)
            warm = [timed(lambda p=path: api.get(p)) for _ in range(rounds)]
            cpu = (server_cpu_s(server) - cpu_before) / rounds
            target = TARGETS_S.get(size)
            print(
                f"{label:40s} {cold * 1000:8.0f} {min(warm) * 1000:8.0f} "
                f"{statistics.median(warm) * 1000:8.0f} {cpu * 1000:8.0f} "
                f"{'' if target is None else f'{target * 1000:.0f}':>7s} "
                f"{min(warm) / export_s:11.2f}"
            )
        print(f"{'baseline: export of its ' + str(2 * size) + ' events':40s} {'':8s} "
              f"{export_s * 1000:8.0f}")  # fmt: skip


def _export(api: httpx.Client, run_id: str) -> float:
    """Seconds to export every event of the run, page after page (the baseline)."""
    started = time.perf_counter()
    page = 1
    while True:
        body = {
            "filters": [{"field": "metadata.run_id", "operator": "is", "value": run_id}],
            "limit": 7500,
            "page": page,
        }
        answer = api.post("/v1/events/export", json=body)
        assert answer.status_code == 200, answer.text[:500]
        if len(answer.json()["events"]) < 7500:
            return time.perf_counter() - started
        page += 1


def bench_import(api: httpx.Client, rows: int, rounds: int) -> None:
    created = api.post("/v1/datasets", json={"name": "bench import"})
    if created.status_code == 404:
        print(f"add_datapoints, {rows} rows: skipped (this server has no dataset routes)")
        return
    body = {
        "data": [
            {
                "question": f"What is the capital of country number {i}? Answer in one word.",
                "context": "Capitals are the seats of government. " * 6,
                "answer": f"City {i}",
                "topic": "geography",
                "difficulty": i % 5,
            }
            for i in range(rows)
        ],
        "mapping": {"inputs": ["question", "context"], "ground_truth": ["answer"]},
    }
    seconds = []
    for _ in range(rounds):
        dataset_id = api.post("/v1/datasets", json={"name": "bench"}).json()["result"]["insertedId"]
        path = f"/v1/datasets/{dataset_id}/datapoints"
        seconds.append(timed(lambda p=path: api.post(p, json=body)))
    print(
        f"{'add_datapoints, ' + str(rows) + ' rows':40s} {'':8s} {min(seconds) * 1000:8.0f} "
        f"{statistics.median(seconds) * 1000:8.0f} {'':8s} {IMPORT_TARGET_S * 1000:7.0f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="1000,10000")
    parser.add_argument("--metrics", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--import-rows", type=int, default=10_000)
    args = parser.parse_args()
    sizes = [int(size) for size in args.sizes.split(",")]
    with tempfile.TemporaryDirectory() as tmp, serve(Path(tmp)) as server:
        seed(Path(tmp), sizes, args.metrics)
        headers = {"Authorization": f"Bearer {server.key}"}
        with httpx.Client(base_url=server.url, headers=headers, timeout=120) as api:
            bench_runs(server, api, sizes, args.rounds)
            bench_import(api, args.import_rows, args.rounds)


if __name__ == "__main__":
    main()
