"""REST exports against a baseline: the time of a small page, the memory of a wide one.

Starts `hivekeeper serve` from this tree and, with `--baseline-src DIR` (the `src` of
another checkout, e.g. `git archive <commit> src | tar -x -C /tmp/base`, then
`/tmp/base/src`), a second one from that, each on a fresh data directory holding the
same events (same ids and times). Then:

- small: `--requests` (500) `POST /v1/events/export` of `--small-rows` (100) events of
  ~`--small-kb` (2) KB against each server, alternately (which goes first alternates
  too); prints the median time of each and their ratio;
- wide: one export of `--wide-rows` (7,500) events of ~`--wide-kb` (200) KB
  (`limit` = rows), one server at a time, sampling its resident memory (RSS);
  prints idle and peak RSS and the time it took.

Both answers' sizes are printed too: the same events answer the same number of bytes.

    python bench/rest_export.py --baseline-src /tmp/base/src [--wide-rows 7500]
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
from harness import Sampler, Server, serve

MIB = 2**20
T0_MS = 1_795_694_400_000.0
BATCH_BYTES = 8 * MIB


def seed(server: Server, kind: str, rows: int, row_bytes: int) -> None:
    """`rows` tool events named `kind`, each with ~`row_bytes` of `inputs`, in batches."""
    per_batch = max(1, min(1000, BATCH_BYTES // row_bytes))
    text = "lorem ipsum dolor sit amet " * (row_bytes // 27 + 1)
    headers = {"Authorization": f"Bearer {server.key}"}
    with httpx.Client(base_url=server.url, headers=headers, timeout=300) as api:
        for start in range(0, rows, per_batch):
            events = [
                {
                    "event_id": f"{kind}-{i:06d}",
                    "session_id": f"{kind}-session",
                    "event_type": "tool",
                    "event_name": kind,
                    "start_time": T0_MS + i,
                    "inputs": {"doc": text[:row_bytes]},
                }
                for i in range(start, min(rows, start + per_batch))
            ]
            answer = api.post("/events/batch", json={"events": events})
            assert answer.status_code == 200, answer.text


def export_body(kind: str, rows: int) -> dict[str, object]:
    return {"filters": [{"field": "event_name", "operator": "is", "value": kind}], "limit": rows}


def time_small(servers: dict[str, Server], rows: int, requests: int, warmup: int = 50) -> None:
    body = export_body("small", rows)
    times: dict[str, list[float]] = {name: [] for name in servers}
    sizes: dict[str, int] = {}
    clients = {
        name: httpx.Client(base_url=s.url, headers={"Authorization": f"Bearer {s.key}"}, timeout=60)
        for name, s in servers.items()
    }
    with contextlib.ExitStack() as stack:
        for client in clients.values():
            stack.enter_context(client)
        names = list(servers)
        for i in range(warmup + requests):
            # Alternate which server goes first, so both see the same moments of noise.
            for name in names if i % 2 else reversed(names):
                started = time.perf_counter()
                answer = clients[name].post("/v1/events/export", json=body)
                elapsed = time.perf_counter() - started
                assert answer.status_code == 200 and len(answer.json()["events"]) == rows
                sizes[name] = len(answer.content)
                if i >= warmup:
                    times[name].append(elapsed)
    medians = {name: statistics.median(t) * 1000 for name, t in times.items()}
    each_kb = max(sizes.values()) / rows / 1024
    print(f"export of {rows} rows (~{each_kb:.1f} KB each), median of {requests}:")
    for name, median in medians.items():
        print(f"  {name:9s} {median:7.2f} ms  ({sizes[name]} bytes)")
    if "baseline" in medians:
        print(f"  ratio current/baseline {medians['current'] / medians['baseline']:.2f}")


def wide_export(name: str, server: Server, rows: int) -> None:
    headers = {"Authorization": f"Bearer {server.key}"}
    with httpx.Client(base_url=server.url, headers=headers, timeout=1800) as api:
        idle = server.rss_bytes()
        started = time.perf_counter()
        size = 0
        with (
            Sampler(server) as sampler,
            api.stream("POST", "/v1/events/export", json=export_body("wide", rows)) as answer,
        ):
            assert answer.status_code == 200
            for chunk in answer.iter_bytes():
                size += len(chunk)
        elapsed = time.perf_counter() - started
    print(
        f"  {name:9s} {size / MIB:6.0f} MiB sent in {elapsed:5.1f} s; RSS idle "
        f"{idle / MIB:4.0f} MiB, peak {sampler.peak / MIB:5.0f} MiB "
        f"(+{(sampler.peak - idle) / MIB:.0f})"
    )


@contextlib.contextmanager
def servers(baseline: Path | None) -> Iterator[dict[str, Server]]:
    trees = {"current": None, **({"baseline": baseline} if baseline else {})}
    with contextlib.ExitStack() as stack:
        running = {}
        for name, src in trees.items():
            data = Path(stack.enter_context(tempfile.TemporaryDirectory()))
            running[name] = stack.enter_context(serve(data, src=src))
        yield running


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--baseline-src", type=Path)
    parser.add_argument("--small-rows", type=int, default=100)
    parser.add_argument("--small-kb", type=float, default=2.0)
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--wide-rows", type=int, default=7500)
    parser.add_argument("--wide-kb", type=float, default=200.0)
    args = parser.parse_args()
    with servers(args.baseline_src) as running:
        for server in running.values():
            seed(server, "small", args.small_rows, int(args.small_kb * 1024))
        time_small(running, args.small_rows, args.requests)
        if not args.wide_rows:
            return
        for server in running.values():
            seed(server, "wide", args.wide_rows, int(args.wide_kb * 1024))
        print(f"export of {args.wide_rows} rows x ~{args.wide_kb:.0f} KB:")
        for name, server in running.items():
            wide_export(name, server, args.wide_rows)


if __name__ == "__main__":
    main()
