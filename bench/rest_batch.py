"""POST /events/batch throughput (answer after commit) next to raw SQLite executemany.

Starts `hivekeeper serve` on a fresh data directory, sends batches of 100 events of
~2 KB from a few concurrent connections, and then inserts the very same rows into a
fresh database of the same schema with one `executemany` in one transaction. Prints
both rates and their ratio; the two runs share the machine, so read the ratio.

    python bench/rest_batch.py [--events 50000] [--concurrency 4]
"""

from __future__ import annotations

import argparse
import http.client
import os
import queue
import re
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import orjson

from hivekeeper.domain.events import parse_event
from hivekeeper.domain.merge import Key, StoredRow, Upsert, apply_ops
from hivekeeper.store.sqlite_schema import EVENT_COLUMNS, encode_row, migrate

BATCH = 100
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


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def run_server(data_dir: Path, port: int) -> tuple[subprocess.Popen[str], str]:
    env = {
        **os.environ,
        "HIVEKEEPER_DATA_DIR": str(data_dir),
        "HIVEKEEPER_PORT": str(port),
        "HIVEKEEPER_LOG_LEVEL": "warning",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "hivekeeper", "serve"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert proc.stdout is not None
    key = None
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and key is None:
        match = re.match(r"^\s+(hh_\S+)$", proc.stdout.readline())
        key = match.group(1) if match else None
    if key is None:
        raise SystemExit("the server did not print its key")
    for _ in range(300):
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            conn.request("GET", "/health")
            if conn.getresponse().status == 200:
                conn.close()
                return proc, key
        except OSError:
            time.sleep(0.05)
    raise SystemExit("the server did not become healthy")


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


def stored_rows(batches: list[list[dict[str, object]]]) -> list[list[Any]]:
    """The rows the server stores for these batches, encoded as SQLite parameters."""
    rows: dict[Key, StoredRow] = {}
    ops = [Upsert("proj", parse_event(e)) for batch in batches for e in batch]
    apply_ops(rows, ops, time.time() * 1000)
    return [encode_row(r) for r in rows.values()]


def raw_sqlite(path: Path, params: list[list[Any]]) -> float:
    """Rows/s of one `executemany` of `params`, in one transaction, into a fresh database."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    migrate(conn)
    sql = (
        f"INSERT INTO events ({', '.join(EVENT_COLUMNS)}) "
        f"VALUES ({', '.join('?' for _ in EVENT_COLUMNS)})"
    )
    started = time.perf_counter()
    conn.execute("BEGIN")
    conn.executemany(sql, params)
    conn.execute("COMMIT")
    elapsed = time.perf_counter() - started
    conn.close()
    return len(params) / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=50_000)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=3, help="alternating runs; medians")
    args = parser.parse_args()
    batches = make_batches(args.events)
    bodies = [orjson.dumps({"events": b, "is_single_session": True}) for b in batches]
    size = sum(len(b) for b in bodies) / (len(batches) * BATCH)
    params = stored_rows(batches)
    total = len(batches) * BATCH
    server_rates, raw_rates = [], []
    for round_no in range(args.rounds):
        with tempfile.TemporaryDirectory() as tmp:
            port = free_port()
            proc, key = run_server(Path(tmp) / "server", port)
            try:
                server_rates.append(total / send_all(port, key, bodies, args.concurrency))
            finally:
                proc.send_signal(signal.SIGINT)
                proc.wait(30)
                if proc.stdout:
                    proc.stdout.close()
            raw_rates.append(raw_sqlite(Path(tmp) / "raw.db", params))
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
