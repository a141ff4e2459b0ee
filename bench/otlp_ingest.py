"""OTLP ingestion end to end (answer after commit) next to raw SQLite, in one run.

Runs the shared load generator's reference scenario (`otlp_load.py`: 2,000 sessions
x 10 spans of ~5.9 KB, protobuf, 100 spans per request, 4 concurrent) against a fresh
`hivekeeper serve`, then:

- waits until every span is queryable through the REST API (end-to-end rate =
  spans / (load time + that wait), as the generator's README defines it);
- while the load runs, a probe exports one extra span at a time and reads it back
  by id right after its 200, to show acknowledged spans are queryable at once;
- times three reads (list 50 sessions, one full session tree, filter by model);
- inserts the very same rows (decoded and mapped by hivekeeper's own code) into a
  fresh database of the same schema with one `executemany` in one transaction;
- with `--overload`, offers ten times the connections without retries and samples
  the server's memory: a bounded server answers 429 instead of growing.

The generator lives beside the repository (`../shared/bench/otlp_load.py`), so a
fresh clone without it can still run `rest_batch.py`; pass `--load-generator`.

    python bench/otlp_ingest.py [--sessions 2000] [--format protobuf] [--overload]
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import statistics
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
from harness import Server, raw_insert_rate, serve, stored_rows
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from hivekeeper.domain.types import MergeOp
from hivekeeper.ingest.otlp import decode_traces
from hivekeeper.ingest.otlp_batch import OtlpLimits
from hivekeeper.ingest.span_mapping import span_event_id, spans_to_ops

REPO = Path(__file__).resolve().parent.parent
DEFAULT_GENERATOR = REPO.parent / "shared" / "bench" / "otlp_load.py"
PROJECT, SOURCE = "bench", "benchmark"
LIMITS = OtlpLimits(
    max_spans=100_000, max_attributes=4096, max_events_per_span=4096, max_value_depth=32
)


def load_generator(path: Path) -> ModuleType:
    if not path.exists():
        raise SystemExit(f"load generator not found at {path}; pass --load-generator")
    spec = importlib.util.spec_from_file_location("otlp_load", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def mapped_ops(bodies: list[bytes], fmt: str) -> list[MergeOp]:
    """What the server will write for these requests, by its own decoder and mapping."""
    ops: list[MergeOp] = []
    for body in bodies:
        decoded = decode_traces(body, "protobuf" if fmt == "protobuf" else "json", LIMITS)
        ops.extend(spans_to_ops("bench-project", decoded.spans))
    return ops


def count_events(client: httpx.Client) -> int:
    answer = client.post("/v1/events/export", json={"filters": [], "limit": 1})
    answer.raise_for_status()
    return int(answer.json()["totalEvents"])


def wait_until_queryable(client: httpx.Client, expected: int, timeout_s: float = 600) -> float:
    """Seconds until the API counts `expected` events."""
    started = time.perf_counter()
    while count_events(client) < expected:
        if time.perf_counter() - started > timeout_s:
            raise SystemExit(f"only {count_events(client)} of {expected} events queryable")
        time.sleep(0.01)
    return time.perf_counter() - started


class VisibilityProbe(threading.Thread):
    """Exports one span at a time during the load; reads each back by id after its 200."""

    def __init__(self, server: Server) -> None:
        super().__init__(daemon=True)
        self.server = server
        self.delays_s: list[float] = []
        self.misses = 0
        self.done = threading.Event()

    def run(self) -> None:
        headers = {"Content-Type": "application/x-protobuf"}
        with httpx.Client(
            base_url=self.server.url,
            headers={"Authorization": f"Bearer {self.server.key}"},
            timeout=60,
        ) as client:
            while not self.done.wait(0.05):
                trace_id, span_id = uuid.uuid4().hex, uuid.uuid4().hex[:16]
                body = _probe_request(trace_id, span_id)
                answer = client.post("/opentelemetry/v1/traces", content=body, headers=headers)
                if answer.status_code != 200:
                    continue
                acknowledged = time.perf_counter()
                event_id = span_event_id(trace_id, span_id)
                while client.get(f"/v1/events/{event_id}").status_code != 200:
                    self.misses += 1
                self.delays_s.append(time.perf_counter() - acknowledged)


def _probe_request(trace_id: str, span_id: str) -> bytes:
    request = ExportTraceServiceRequest()
    span = request.resource_spans.add().scope_spans.add().spans.add()
    span.trace_id, span.span_id = bytes.fromhex(trace_id), bytes.fromhex(span_id)
    span.name = "visibility-probe"
    span.start_time_unix_nano = time.time_ns()
    span.end_time_unix_nano = span.start_time_unix_nano + 1_000_000
    return request.SerializeToString()


def time_reads(client: httpx.Client, session_id: str, model: str) -> dict[str, float]:
    """Median milliseconds of the reads a UI makes, after the load."""
    reads = {
        "list 50 sessions": lambda: client.post(
            "/v1/events/export",
            json={
                "filters": [
                    {"field": "event_type", "operator": "is", "value": "session", "type": "string"}
                ],
                "limit": 50,
            },
        ),
        "one full session": lambda: client.get(f"/v1/sessions/{session_id}"),
        "filter by model": lambda: client.post(
            "/v1/events/export",
            json={
                "filters": [
                    {"field": "config.model", "operator": "is", "value": model, "type": "string"}
                ],
                "limit": 50,
            },
        ),
    }
    out = {}
    for name, read in reads.items():
        samples = []
        for _ in range(7):
            started = time.perf_counter()
            read().raise_for_status()
            samples.append((time.perf_counter() - started) * 1000)
        out[name] = statistics.median(samples)
    return out


def run_load(
    gen: ModuleType, server: Server, requests: list[Any], args: argparse.Namespace, **kw: Any
) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {server.key}"}
    stats: dict[str, Any] = asyncio.run(
        gen.send_all(
            f"{server.url}/opentelemetry/v1/traces",
            headers,
            requests,
            kw.get("concurrency", args.concurrency),
            args.format,
            False,
            120.0,
            600.0,
            kw.get("retries", 0),
        )
    )
    return stats


def measure_ingest(
    gen: ModuleType,
    requests: list[Any],
    expected_events: int,
    spans: int,
    summaries: list[dict[str, Any]],
    args: argparse.Namespace,
    tmp: Path,
) -> float:
    with serve(tmp / "server") as server:
        probe = VisibilityProbe(server)
        probe.start()
        stats = run_load(gen, server, requests, args)
        probe.done.set()
        probe.join()
        if stats["errors"]:
            raise SystemExit(f"load failed: {stats['status_counts']} {stats['error_samples']}")
        with httpx.Client(
            base_url=server.url, headers={"Authorization": f"Bearer {server.key}"}, timeout=60
        ) as client:
            wait_s = wait_until_queryable(client, expected_events + len(probe.delays_s))
            model = next(iter(summaries[0]["models"]), "")
            reads = time_reads(client, summaries[0]["session_id"], model)
        rss_mb = server.rss_bytes() / 2**20
    accepted = spans / stats["wall_s"]
    end_to_end = spans / (stats["wall_s"] + wait_s)
    print(
        f"hivekeeper: accepted {accepted:,.0f} spans/s in {stats['wall_s']:.2f} s, "
        f"all queryable {wait_s * 1000:.0f} ms later -> end to end {end_to_end:,.0f} spans/s; "
        f"latency p50 {stats['latency_ms']['p50']} ms p99 {stats['latency_ms']['p99']} ms; "
        f"RSS after {rss_mb:.0f} MiB"
    )
    if probe.delays_s:
        print(
            f"  probe: {len(probe.delays_s)} spans read back by id after their 200, "
            f"max {max(probe.delays_s) * 1000:.1f} ms, {probe.misses} reads found nothing"
        )
    print("  reads: " + ", ".join(f"{name} {ms:.1f} ms" for name, ms in reads.items()))
    return end_to_end


def measure_overload(
    gen: ModuleType, requests: list[Any], args: argparse.Namespace, tmp: Path
) -> None:
    """Ten times the connections, no retries: memory must stay flat, excess gets 429.

    The queue is set below what the connections can have in flight (100 spans each),
    so the server must refuse work rather than hold it.
    """
    queue_ops = args.concurrency * 10 * args.batch_spans // 2
    limits = {"max_queue_ops": str(queue_ops), "max_batch_ops": str(queue_ops)}
    with serve(tmp / "overload", **limits) as server:
        baseline_mb = server.rss_bytes() / 2**20
        peak = [0]
        stop = threading.Event()

        def sample() -> None:
            while not stop.wait(0.05):
                peak[0] = max(peak[0], server.rss_bytes())

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        stats = run_load(gen, server, requests * 3, args, concurrency=args.concurrency * 10)
        stop.set()
        sampler.join()
    print(
        f"overload ({args.concurrency * 10} connections, no retries): "
        f"statuses {stats['status_counts']}, RSS {baseline_mb:.0f} MiB idle, "
        f"peak {peak[0] / 2**20:.0f} MiB (queue bound {queue_ops:,} spans)"
    )


def scenario_arguments(parser: argparse.ArgumentParser) -> None:
    """The reference scenario's options (generator, sessions, spans, batch, connections)."""
    parser.add_argument("--load-generator", type=Path, default=DEFAULT_GENERATOR)
    parser.add_argument("--sessions", type=int, default=2000)
    parser.add_argument("--spans-per-session", type=int, default=10)
    parser.add_argument("--batch-spans", type=int, default=100)
    parser.add_argument("--concurrency", type=int, default=4)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    scenario_arguments(parser)
    parser.add_argument("--format", choices=["protobuf", "json"], default="protobuf")
    parser.add_argument("--overload", action="store_true", help="also measure memory at 10x")
    args = parser.parse_args()

    gen = load_generator(args.load_generator)
    spans, summaries = gen.generate(
        args.sessions, args.spans_per_session, 1, time.time_ns(), PROJECT, SOURCE
    )
    requests = gen.build_requests(spans, args.batch_spans, args.format, False, PROJECT, SOURCE)
    ops = mapped_ops([body for body, _, _ in requests], args.format)
    params = stored_rows(ops, time.time() * 1000)
    size = sum(raw for _, _, raw in requests) / len(spans)
    print(
        f"{len(spans):,} spans (~{size / 1000:.1f} KB each, {args.format}) in requests of "
        f"{args.batch_spans}, {args.concurrency} connections; {len(params):,} rows with sessions"
    )
    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        end_to_end = measure_ingest(gen, requests, len(params), len(spans), summaries, args, tmp)
        raw = raw_insert_rate(tmp / "raw.db", params)
        print(
            f"raw SQLite executemany of the same {len(params):,} rows, one transaction: "
            f"{raw:,.0f} rows/s"
        )
        print(f"ratio hivekeeper end to end / raw: {end_to_end / raw:.2f}")
        if args.overload:
            measure_overload(gen, requests, args, tmp)


if __name__ == "__main__":
    main()
