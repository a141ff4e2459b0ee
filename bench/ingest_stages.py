"""Where the server's CPU goes per span, stage by stage, on the OTLP reference scenario.

Two measurements of the same requests (`otlp_ingest.py`'s scenario), in one run:

1. in process, each stage alone over every request, in µs of CPU per span:
   decode (protobuf → `Span`s), mapping (`spans_to_ops`), and the store's write of
   the writer's usual batch (4 requests), split into load (locking and reading the keys),
   merge (`apply_ops` and the planner around it), encoding (`encode_row`), insert
   (the statements) and commit;
2. a real `hivekeeper serve` fed by the load generator: the server process's CPU
   (user + system) divided by the spans. What the stages of (1) do not explain is
   the HTTP server, the framework, the hand-off to the writer thread and the GIL
   contention between them ("HTTP, framework and hand-off").

It also prints the raw `executemany` rate of the same rows and its CPU per row, the
floor that the insert stage is compared with. Repeat it: the machine is shared, so
read each stage next to the raw row of the same run.

    python bench/ingest_stages.py [--sessions 2000] [--rounds 3] [--database-url URL]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from harness import raw_insert_rate, serve, stored_rows
from otlp_ingest import (
    LIMITS,
    PROJECT,
    SOURCE,
    load_generator,
    run_load,
    scenario_arguments,
    wait_until_queryable,
)

import hivekeeper.store.sql.writes as sql_writes
from hivekeeper.domain.types import MergeOp
from hivekeeper.ingest.otlp import decode_traces
from hivekeeper.ingest.span_mapping import spans_to_ops
from hivekeeper.store import open_store
from hivekeeper.store.sql import rows as sql_rows

WRITER_BATCH_REQUESTS = 4
"""Requests one transaction holds under the scenario's 4 connections."""


class _Clock:
    """Accumulated CPU seconds per stage."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    @contextlib.contextmanager
    def stage(self, name: str) -> Iterator[None]:
        started = time.thread_time()
        try:
            yield
        finally:
            self.seconds[name] = self.seconds.get(name, 0.0) + time.thread_time() - started

    def wrap(self, name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            with self.stage(name):
                return fn(*args, **kwargs)

        return timed


class _TimedWrites:
    """A `RowWrites` whose primitives are timed as stages."""

    def __init__(self, inner: Any, clock: _Clock) -> None:
        self._inner = inner
        self.evaluation = inner.evaluation
        # Taking the keys' locks (PostgreSQL) belongs with reading them; an older
        # checkout (PYTHONPATH=<its src>, for a before/after) has no reserve step.
        self.reserve = clock.wrap("load", getattr(inner, "reserve", lambda keys: None))
        self.load = clock.wrap("load", inner.load)
        self.insert_new = clock.wrap("insert", inner.insert_new)
        self.save = clock.wrap("insert", inner.save)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def stage_times(bodies: list[bytes], database_url: str) -> tuple[dict[str, float], int]:
    """CPU seconds per stage for storing every body once, and the spans stored."""
    clock = _Clock()
    spans = 0
    batches: list[list[MergeOp]] = []
    for body in bodies:
        with clock.stage("decode"):
            decoded = decode_traces(body, "protobuf", LIMITS)
        spans += len(decoded.spans)
        with clock.stage("mapping"):
            ops = spans_to_ops("bench-project", decoded.spans)
        if not batches or len(batches[-1]) >= WRITER_BATCH_REQUESTS:
            batches.append([])
        batches[-1].append(ops)  # type: ignore[arg-type]
    store = open_store(database_url)
    store.open()
    encode = sql_rows.encode_row
    patched = [m for m in _modules_using_encode_row() if getattr(m, "encode_row", None)]
    for module in patched:
        module.encode_row = clock.wrap("encoding", encode)
    try:
        for batch in batches:
            ops = [op for request in batch for op in request]  # type: ignore[attr-defined]
            with (
                clock.stage("store"),
                store.write_transaction() as writes,  # type: ignore[attr-defined]
                clock.stage("apply"),
            ):
                sql_writes.apply(
                    _TimedWrites(writes, clock), ops, time.time() * 1000, max_children_ids=10_000
                )
    finally:
        for module in patched:
            module.encode_row = encode
        store.close()
    s = clock.seconds
    out = {
        "decode": s["decode"],
        "mapping": s["mapping"],
        "load": s.get("load", 0.0),
        "encoding": s.get("encoding", 0.0),
        "insert": s.get("insert", 0.0) - s.get("encoding", 0.0),
        "merge": s["apply"] - s.get("load", 0.0) - s.get("insert", 0.0),
        "commit": s["store"] - s["apply"],
    }
    return out, spans


def _modules_using_encode_row() -> list[Any]:
    import hivekeeper.store.postgres._writes as pg
    import hivekeeper.store.sqlite._writes as lite

    return [lite, pg]


def process_cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process so far."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def server_cpu(gen: Any, requests: list[Any], spans: int, args: argparse.Namespace,
               tmp: Path) -> tuple[float, float]:
    """(server CPU µs per span, end-to-end spans/s) of one real run."""
    import httpx

    with serve(tmp) as server:
        before = process_cpu_s(server.process.pid)
        stats = run_load(gen, server, requests, args)
        if stats["errors"]:
            raise SystemExit(f"load failed: {stats['status_counts']}")
        with httpx.Client(base_url=server.url, timeout=60,
                          headers={"Authorization": f"Bearer {server.key}"}) as client:
            wait_s = wait_until_queryable(client, args.expected)
        cpu = process_cpu_s(server.process.pid) - before
    # The queryable poll costs the server a little CPU too: a few requests.
    return cpu / spans * 1e6, spans / (stats["wall_s"] + wait_s)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    scenario_arguments(parser)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--database-url", help="stage the store on this (default: SQLite)")
    parser.add_argument("--no-server", action="store_true", help="stages in process only")
    args = parser.parse_args()
    args.format = "protobuf"

    gen = load_generator(args.load_generator)
    spans_in, _ = gen.generate(
        args.sessions, args.spans_per_session, 1, time.time_ns(), PROJECT, SOURCE
    )
    requests = gen.build_requests(spans_in, args.batch_spans, "protobuf", False, PROJECT, SOURCE)
    bodies = [body for body, _, _ in requests]
    ops = [op for body in bodies
           for op in spans_to_ops("p", decode_traces(body, "protobuf", LIMITS).spans)]
    params = stored_rows(ops, time.time() * 1000)
    args.expected = len(params)
    rows: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        for r in range(args.rounds):
            url = args.database_url or f"sqlite:///{tmp}/stages{r}.db"
            seconds, spans = stage_times(bodies, url)
            for name, s in seconds.items():
                rows.setdefault(name, []).append(s / spans * 1e6)
            rows.setdefault("sum of stages", []).append(sum(seconds.values()) / spans * 1e6)
            started = time.process_time()
            raw = raw_insert_rate(tmp / f"raw{r}.db", params)
            raw_cpu = (time.process_time() - started) / len(params) * 1e6
            rows.setdefault("raw executemany (per row)", []).append(raw_cpu)
            rows.setdefault("raw rows/s", []).append(raw)
            if not args.no_server:
                per_span, rate = server_cpu(gen, requests, len(spans_in), args, tmp / f"s{r}")
                rows.setdefault("server CPU per span", []).append(per_span)
                rows.setdefault("end to end spans/s", []).append(rate)
                rows.setdefault("end to end / raw", []).append(rate / raw)
                rows.setdefault("HTTP, framework and hand-off", []).append(
                    per_span - rows["sum of stages"][-1]
                )
    print(f"{len(spans_in):,} spans, {len(params):,} rows, {args.rounds} rounds "
          "(median [min-max]; µs of CPU per span unless said)")
    for name, values in rows.items():
        fmt = "{:,.2f}" if "/ raw" in name else "{:,.1f}"
        print(f"  {name:32} {fmt.format(statistics.median(values))} "
              f"[{fmt.format(min(values))}-{fmt.format(max(values))}]")


if __name__ == "__main__":
    main()
