"""POST /events/batch throughput (answer after commit) next to raw SQLite executemany.

Starts `hivekeeper serve` on a fresh data directory, sends batches of 100 events of
~2 KB from a few concurrent connections, and then inserts the very same rows into a
fresh database of the same schema with one `executemany` in one transaction. Prints
both rates and their ratio; the two runs share the machine, so read the ratio.

    python bench/rest_batch.py [--events 50000] [--concurrency 4] [--redaction-rules 3]

`--redaction-rules N` gives the project N typical secret patterns first (none match
the bench's text), to measure what redaction costs ingestion.
"""

from __future__ import annotations

import argparse
import http.client
import os
import queue
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import orjson
from harness import raw_insert_rate, serve, stored_rows

from hivekeeper.domain.events import parse_event
from hivekeeper.domain.types import Upsert
from hivekeeper.ingest.redaction import REFRESH_S

BATCH = 100
REDACTION_RULES = (r"sk-[A-Za-z0-9]{20,}", r"AKIA[0-9A-Z]{16}", r"\b\d{4}(?:[ -]?\d{4}){3}\b")
PAYLOAD = "lorem ipsum dolor sit amet " * 48  # ~1.3 KB of text per event, ~2 KB as JSON


def make_batches(total: int) -> list[list[dict[str, object]]]:
    batches = []
    start = 1_795_700_000_000.0
    for b in range(total // BATCH):
        sid = str(uuid.uuid4())
        batch = []
        for i in range(BATCH):
            batch.append(
                {
                    "event_id": str(uuid.uuid4()),
                    "session_id": sid,
                    "event_type": "model" if i % 3 == 0 else "tool",
                    "event_name": f"step_{i % 7}",
                    "source": "bench",
                    "start_time": start + b * 1000 + i,
                    "duration": 12.5,
                    "config": {"model": "gpt-4o-mini", "temperature": 0.2},
                    "inputs": {"chat_history": [{"role": "user", "content": PAYLOAD[:700]}]},
                    "outputs": {"role": "assistant", "content": PAYLOAD[:600]},
                    "metadata": {"prompt_tokens": 120, "completion_tokens": 80, "cost": 0.0004},
                    "user_properties": {"user_id": f"user-{b % 50}"},
                }
            )
        batches.append(batch)
    return batches


def send_all(port: int, key: str, bodies: list[bytes], concurrency: int) -> float:
    work: queue.Queue[bytes] = queue.Queue()
    for body in bodies:
        work.put(body)
    errors: list[str] = []
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}

    def worker() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        while True:
            try:
                body = work.get_nowait()
            except queue.Empty:
                break
            while True:
                conn.request("POST", "/events/batch", body=body, headers=headers)
                response = conn.getresponse()
                response.read()
                if response.status == 429:
                    time.sleep(float(response.getheader("Retry-After", "1")) / 10)
                    continue
                if response.status != 200:
                    errors.append(f"{response.status}")
                break
        conn.close()

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    if errors:
        raise SystemExit(f"{len(errors)} batches failed: {errors[:5]}")
    return elapsed


def add_redaction_rules(data_dir: Path, count: int) -> None:
    """Give the default project `count` rules, and wait until the server applies them."""
    for pattern in REDACTION_RULES[:count]:
        subprocess.run(
            [sys.executable, "-m", "hivekeeper", "projects", "add-redaction", "default", pattern],
            env={**os.environ, "HIVEKEEPER_DATA_DIR": str(data_dir)},
            check=True,
            capture_output=True,
        )
    if count:
        time.sleep(REFRESH_S + 0.5)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=50_000)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=3, help="alternating runs; medians")
    parser.add_argument(
        "--redaction-rules", type=int, default=0, choices=range(len(REDACTION_RULES) + 1)
    )
    args = parser.parse_args()
    batches = make_batches(args.events)
    bodies = [orjson.dumps({"events": b, "is_single_session": True}) for b in batches]
    size = sum(len(b) for b in bodies) / (len(batches) * BATCH)
    ops = [Upsert("proj", parse_event(e)) for batch in batches for e in batch]
    params = stored_rows(ops, time.time() * 1000)
    total = len(batches) * BATCH
    server_rates, raw_rates = [], []
    for round_no in range(args.rounds):
        with tempfile.TemporaryDirectory() as tmp:
            with serve(Path(tmp) / "server") as server:
                add_redaction_rules(Path(tmp) / "server", args.redaction_rules)
                elapsed = send_all(server.port, server.key, bodies, args.concurrency)
                server_rates.append(total / elapsed)
            raw_rates.append(raw_insert_rate(Path(tmp) / "raw.db", params))
        print(
            f"round {round_no + 1}: hivekeeper {server_rates[-1]:,.0f} events/s, "
            f"raw {raw_rates[-1]:,.0f} rows/s"
        )
    server_rate, raw_rate = statistics.median(server_rates), statistics.median(raw_rates)
    print(
        f"events: {total} in batches of {BATCH}, ~{size:.0f} bytes/event, "
        f"{args.concurrency} connections, median of {args.rounds} alternating rounds"
    )
    print(f"hivekeeper POST /events/batch (answer after commit): {server_rate:,.0f} events/s")
    print(f"raw SQLite executemany, one transaction:           {raw_rate:,.0f} rows/s")
    print(f"ratio hivekeeper / raw: {server_rate / raw_rate:.2f}")


if __name__ == "__main__":
    main()
