"""What every benchmark shares: a real `hivekeeper serve` process and the raw baseline.

The server runs as its own process, exactly as a user starts it, on a fresh data
directory; the baseline inserts already-encoded rows into a fresh database of the
same schema with one `executemany` in one transaction, the fastest SQLite can store
them from Python.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hivekeeper.domain.merge import apply_ops
from hivekeeper.domain.types import Key, MergeOp, StoredRow
from hivekeeper.store.sql.rows import WRITE_COLUMNS, encode_row
from hivekeeper.store.sqlite._schema import migrate


@dataclass(frozen=True)
class Server:
    process: subprocess.Popen[str]
    port: int
    key: str

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def rss_bytes(self) -> int:
        """The server's resident memory now."""
        with open(f"/proc/{self.process.pid}/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


SAMPLE_S = 0.02


class Sampler:
    """The server's peak RSS while the context is open."""

    def __init__(self, server: Server) -> None:
        self.peak = server.rss_bytes()
        self._server = server
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run)

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(SAMPLE_S):
            self.peak = max(self.peak, self._server.rss_bytes())


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def serve(data_dir: Path, *, src: Path | None = None, **settings: str) -> Iterator[Server]:
    """`hivekeeper serve` on a fresh data directory and a free port; stopped on exit.

    `src`: run the `hivekeeper` package of that directory (another checkout's `src`)
    instead of the installed one, e.g. as the baseline of a change.
    """
    port = free_port()
    env = {
        **os.environ,
        **({"PYTHONPATH": str(src)} if src else {}),
        "HIVEKEEPER_DATA_DIR": str(data_dir),
        "HIVEKEEPER_PORT": str(port),
        "HIVEKEEPER_LOG_LEVEL": "warning",
        "HIVEKEEPER_GRPC_PORT": "0",  # benchmarks measure OTLP/HTTP
        **{f"HIVEKEEPER_{name.upper()}": value for name, value in settings.items()},
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "hivekeeper", "serve"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        key = _first_key(proc)
        _wait_healthy(port)
        yield Server(proc, port, key)
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(60)
        if proc.stdout:
            proc.stdout.close()


def _first_key(proc: subprocess.Popen[str]) -> str:
    assert proc.stdout is not None
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        match = re.match(r"^\s+(hh_\S+)$", proc.stdout.readline())
        if match:
            return match.group(1)
    raise SystemExit("the server did not print its key")


def _wait_healthy(port: int) -> None:
    for _ in range(300):
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            conn.request("GET", "/health")
            if conn.getresponse().status == 200:
                conn.close()
                return
        except OSError:
            time.sleep(0.05)
    raise SystemExit("the server did not become healthy")


def stored_rows(ops: Iterable[MergeOp], now_ms: float) -> list[list[Any]]:
    """The rows the server stores for these write operations, as SQLite parameters."""
    rows: dict[Key, StoredRow] = {}
    apply_ops(rows, ops, now_ms)
    return [encode_row(row) for row in rows.values()]


def raw_insert_rate(path: Path, params: list[list[Any]]) -> float:
    """Rows/s of one `executemany` of `params`, in one transaction, into a fresh database."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    migrate(conn)
    sql = (
        f"INSERT INTO events ({', '.join(WRITE_COLUMNS)}) "
        f"VALUES ({', '.join('?' for _ in WRITE_COLUMNS)})"
    )
    started = time.perf_counter()
    conn.execute("BEGIN")
    conn.executemany(sql, params)
    conn.execute("COMMIT")
    elapsed = time.perf_counter() - started
    conn.close()
    return len(params) / elapsed
