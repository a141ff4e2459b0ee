"""SQLite, PostgreSQL and ClickHouse side by side at 1,000,000 events, through the HTTP API.

For each store URL given, in one run:

1. seeds ~1,000,000 events (~100,000 sessions of 10) and one 10,000-event session
   straight into the store (`seed.py`), and reports the seeding rate;
2. starts `hivekeeper serve` on it and runs the shared OTLP reference scenario
   (`otlp_ingest.py`: 2,000 sessions x 10 spans, protobuf, 100 spans/request, 4
   connections): accepted and end-to-end (all queryable) spans/s;
3. times, through the REST API, median and p95 of: the latest 50 sessions, a session
   tree of 10 and of 10,000 events, an export filtered on `metadata.model`, and a
   chart of p95 duration by event name over 7 days;
4. runs 4 concurrent clients posting REST batches (100 events of ~2 KB), with one
   server process, and with `--workers 2` where the store allows several processes.

The raw SQLite `executemany` of the scenario's rows is the baseline every ingest rate
is divided by; reads are also quoted as a ratio to the first store's figure.

    python bench/stores.py --url sqlite --url postgres --url chdb [--events 1000000]

`sqlite`, `postgres` and `chdb` stand for a fresh database of that kind (`postgres`
starts a throwaway cluster from /usr/lib/postgresql/15/bin); a full URL is used as is
and must point to an empty database.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import orjson

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO / "src"), str(REPO)]

from harness import raw_insert_rate, stored_rows  # noqa: E402
from otlp_ingest import (  # noqa: E402
    DEFAULT_GENERATOR,
    PROJECT,
    SOURCE,
    count_events,
    load_generator,
    mapped_ops,
    run_load,
    wait_until_queryable,
)
from rest_batch import make_batches, send_all  # noqa: E402
from seed import ensure_project, seed_events  # noqa: E402

from hivekeeper.store import open_store  # noqa: E402
from tests.support.process import ServeProcess, serve_process  # noqa: E402

PG_BIN = Path("/usr/lib/postgresql/15/bin")
REPEATS = 15
WRITER_EVENTS = 40_000


def pct(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


@contextlib.contextmanager
def throwaway_postgres(tmp: Path) -> Iterator[str]:
    """A PostgreSQL 15 cluster in `tmp` on a free port (initdb refuses root, hence
    runuser); yields the URL of an empty database, stops and removes it on exit."""
    home = tmp / "pg"
    home.mkdir()
    shutil.chown(home, "postgres", "postgres")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    as_pg = ["runuser", "-u", "postgres", "--"]
    data = home / "data"
    subprocess.run(
        [*as_pg, PG_BIN / "initdb", "-D", data, "-U", "postgres", "-A", "trust", "--no-sync"],
        check=True,
        capture_output=True,
    )
    # Defaults but for memory: shared_buffers sized like a small production node.
    options = f"-p {port} -k {home} -c listen_addresses=127.0.0.1 -c shared_buffers=1GB"
    subprocess.run(
        [*as_pg, PG_BIN / "pg_ctl", "-D", data, "-o", options, "-l", home / "log", "-w", "start"],
        check=True,
        capture_output=True,
    )
    try:
        subprocess.run(
            [*as_pg, PG_BIN / "createdb", "-h", "127.0.0.1", "-p", str(port), "hivekeeper"],
            check=True,
            capture_output=True,
        )
        yield f"postgresql://postgres@127.0.0.1:{port}/hivekeeper"
    finally:
        subprocess.run(
            [*as_pg, PG_BIN / "pg_ctl", "-D", data, "-m", "fast", "stop"], capture_output=True
        )


def resolve_url(name: str, tmp: Path, stack: contextlib.ExitStack) -> str:
    if name == "sqlite":
        return f"sqlite:///{tmp / 'sqlite' / 'hivekeeper.db'}"
    if name == "postgres":
        return stack.enter_context(throwaway_postgres(tmp))
    if name == "chdb":
        return f"chdb:///{tmp / 'chdb'}"
    return name


def seed_store(url: str, events: int) -> dict[str, Any]:
    """Seed the store; the project is `default`, the one the server's first key reads."""
    store = open_store(url)
    store.open()
    try:
        project_id = ensure_project(store, "default")
        # PostgreSQL locks every key a transaction writes, in a lock table of
        # max_locks_per_transaction x max_connections (64 x 100 by default).
        batch = 20_000 if url.startswith("sqlite") else 2_000
        seeded = seed_events(store, project_id, events, batch_ops=batch, progress=True)
        big = seed_events(store, project_id, 10_000, per_session=10_000, seed=7, batch_ops=batch)
    finally:
        store.close()
    return {"seeded": seeded, "big_session": big.session_ids[0]}


def timed(samples: int, call: Callable[[], httpx.Response]) -> tuple[float, float, int]:
    """(median ms, p95 ms, response bytes) of `call`, after one warm-up call."""
    size = len(call().raise_for_status().content)
    times = []
    for _ in range(samples):
        started = time.perf_counter()
        call().raise_for_status()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times), pct(times, 95), size


def time_reads(client: httpx.Client, session_10: str, session_10k: str) -> dict[str, Any]:
    session_filter = {"field": "event_type", "operator": "is", "value": "session"}
    model_filter = {"field": "metadata.model", "operator": "is", "value": "gpt-4o-mini"}
    chart = {
        "metric": "duration",
        "aggregation": "p95",
        "bucket": "day",
        "groupBy": "event_name",
        "dateRange": json.dumps({"relative": "7d"}),
    }
    reads: dict[str, Callable[[], httpx.Response]] = {
        "latest 50 sessions": lambda: client.post(
            "/v1/events/export",
            json={"filters": [session_filter], "limit": 50, "sort_order": "desc"},
        ),
        "session tree, 10 events": lambda: client.get(f"/v1/sessions/{session_10}"),
        "session tree, 10,000 events": lambda: client.get(f"/v1/sessions/{session_10k}"),
        "export metadata.model (1,000 rows)": lambda: client.post(
            "/v1/events/export", json={"filters": [model_filter], "limit": 1000}
        ),
        "chart p95 duration by name, 7 d": lambda: client.get(
            "/v1/events/chart?" + urllib.parse.urlencode(chart)
        ),
    }
    return {name: timed(REPEATS, call) for name, call in reads.items()}


def concurrent_writers(server: ServeProcess, bodies: list[bytes], concurrency: int = 4) -> float:
    port = urllib.parse.urlsplit(server.url).port
    assert port is not None
    elapsed = send_all(port, server.key, bodies, concurrency)
    return WRITER_EVENTS / elapsed


@contextlib.contextmanager
def server_on(
    data_dir: Path, url: str, key: str | None, **settings: object
) -> Iterator[ServeProcess]:
    """`hivekeeper serve` on `url` (its log in `data_dir`); says whether it logged errors.

    `serve_process`, not `harness.serve`: a restart on a database that has keys prints
    none, and that helper would wait for one.
    """
    data_dir.mkdir(parents=True, exist_ok=True)
    log = data_dir / "server.log"
    seen = log.stat().st_size if log.exists() else 0
    with serve_process(
        data_dir, 120, key=key, database_url=url, log_level="warning", **settings
    ) as server:
        yield server
    errors = [line for line in log.read_text()[seen:].splitlines() if "ERROR" in line]
    if errors:
        print(f"  the server logged {len(errors)} errors, first: {errors[0].strip()[:300]}")


def bench_store(
    name: str, url: str, gen: Any, requests: list[Any], rows: int, events: int, tmp: Path
) -> dict[str, Any]:
    print(f"\n== {name}: {url}")
    seeded = seed_store(url, events)
    s = seeded["seeded"]
    print(f"seeded {s.events:,} events in {s.seconds:.0f} s ({s.rate:,.0f} events/s)")
    out: dict[str, Any] = {"seed_rate": s.rate}
    args = SimpleNamespace(concurrency=4, format="protobuf")
    data_dir = tmp / f"server-{name}"
    with server_on(data_dir, url, None) as server:
        with httpx.Client(
            base_url=server.url, headers={"Authorization": f"Bearer {server.key}"}, timeout=300
        ) as client:
            before = count_events(client)
            stats = run_load(gen, server, requests, args)  # type: ignore[arg-type]
            if stats["errors"]:
                raise SystemExit(f"load failed: {stats['status_counts']}")
            wait_s = wait_until_queryable(client, before + rows, timeout_s=300)
            spans = sum(n for _, n, _ in requests)
            out["accepted"] = spans / stats["wall_s"]
            out["end_to_end"] = spans / (stats["wall_s"] + wait_s)
            print(
                f"OTLP reference scenario on {before:,} events: accepted {out['accepted']:,.0f} "
                f"spans/s, end to end {out['end_to_end']:,.0f} spans/s "
                f"(p50 {stats['latency_ms']['p50']} ms, p99 {stats['latency_ms']['p99']} ms)"
            )
            out["reads"] = time_reads(client, s.session_ids[0], seeded["big_session"])
            for read, (median, p95, size) in out["reads"].items():
                print(f"  {read:<36} median {median:8.1f} ms  p95 {p95:8.1f} ms  {size:,} B")
        bodies = [orjson.dumps({"events": b}) for b in make_batches(WRITER_EVENTS)]
        out["writers"] = {1: concurrent_writers(server, bodies)}
    if not url.startswith("sqlite") and not url.startswith("chdb"):
        bodies = [orjson.dumps({"events": b}) for b in make_batches(WRITER_EVENTS)]
        with server_on(data_dir, url, server.key, workers=2) as workers:
            out["writers"][2] = concurrent_writers(workers, bodies)
    print(
        "4 concurrent REST writers: "
        + ", ".join(f"{w} process(es) {r:,.0f} events/s" for w, r in out["writers"].items())
    )
    return out


def report(results: dict[str, dict[str, Any]], raw: float, events: int) -> None:
    names = list(results)
    base = names[0]
    print(f"\n### Ingest (raw SQLite executemany baseline: {raw:,.0f} rows/s)\n")
    print("| store | seed events/s | OTLP accepted spans/s | OTLP end to end spans/s | e2e / raw |")
    print("|---|---|---|---|---|")
    for name, r in results.items():
        if "accepted" in r:
            print(
                f"| {name} | {r['seed_rate']:,.0f} | {r['accepted']:,.0f} | "
                f"{r['end_to_end']:,.0f} | {r['end_to_end'] / raw:.2f} |"
            )
    reads = next(iter(results.values())).get("reads", {})
    print(f"\n### Reads at {events:,} events: median / p95 ms (x = median / {base}'s)\n")
    print("| read | " + " | ".join(names) + " |")
    print("|---|" + "---|" * len(names))
    for read in reads:
        cells = []
        for name in names:
            r = results[name].get("reads", {}).get(read)
            if r is None:
                cells.append("-")
                continue
            ratio = r[0] / results[base]["reads"][read][0]
            cells.append(f"{r[0]:.1f} / {r[1]:.1f} ({ratio:.2f}x)")
        print(f"| {read} | " + " | ".join(cells) + " |")
    print("\n### 4 concurrent REST writers (batches of 100 events, ~2 KB each)\n")
    print("| store | processes | events/s | x first store, 1 process |")
    print("|---|---|---|---|")
    first = results[base]["writers"][1]
    for name, r in results.items():
        for workers, rate in r.get("writers", {}).items():
            print(f"| {name} | {workers} | {rate:,.0f} | {rate / first:.2f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", action="append", help="sqlite | postgres | chdb | a full URL")
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--load-generator", type=Path, default=DEFAULT_GENERATOR)
    parser.add_argument("--sessions", type=int, default=2000)
    args = parser.parse_args()
    # A stopped run (timeout, kill) still stops its PostgreSQL cluster and servers.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    gen = load_generator(args.load_generator)
    spans, _ = gen.generate(args.sessions, 10, 1, time.time_ns(), PROJECT, SOURCE)
    requests = gen.build_requests(spans, 100, "protobuf", False, PROJECT, SOURCE)
    params = stored_rows(mapped_ops([b for b, _, _ in requests], "protobuf"), time.time() * 1000)
    results: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory() as tmp_dir, contextlib.ExitStack() as stack:
        tmp = Path(tmp_dir)
        os.chmod(tmp, 0o755)
        raw = raw_insert_rate(tmp / "raw.db", params)
        for name in args.url or ["sqlite"]:
            try:
                url = resolve_url(name, tmp, stack)
                results[name] = bench_store(name, url, gen, requests, len(params), args.events, tmp)
            except (Exception, SystemExit) as exc:  # one broken store must not hide the rest
                print(f"{name}: FAILED: {type(exc).__name__}: {exc}")
    if results:
        report(results, raw, args.events)


if __name__ == "__main__":
    main()
