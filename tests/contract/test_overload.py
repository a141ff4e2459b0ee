"""Overload over HTTP: a full write queue answers 429 with Retry-After, loses nothing."""

from __future__ import annotations

import sqlite3
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from hivekeeper.store.sqlite import database_path
from tests.support.server import LiveServer, run_server


def _wait_queued(api: httpx.Client, count: int) -> None:
    for _ in range(500):
        if api.get("/health").json()["queued_writes"] == count:
            return
        time.sleep(0.01)
    raise AssertionError(f"the queue never held {count} writes")


def _hold_write_lock(server: LiveServer) -> sqlite3.Connection:
    """Take SQLite's write lock from outside, so the server's writer cannot commit."""
    blocker = sqlite3.connect(database_path(server.settings.database_url), isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    return blocker


def test_full_queue_is_429_with_retry_after(tmp_path: Path, store_kind: str) -> None:
    with (
        run_server(tmp_path, store_kind, max_queue_ops=2, max_batch_ops=1) as live,
        live.client() as api,
        ThreadPoolExecutor(4) as pool,
    ):
        blocker = _hold_write_lock(live)
        event = {"event": {"event_type": "tool", "session_id": "s-overload"}}
        first = pool.submit(api.post, "/events", json=event)
        _wait_queued(api, 0)  # the writer took it and waits for the lock
        queued = [pool.submit(api.post, "/events", json=event) for _ in range(2)]
        _wait_queued(api, 2)
        refused = api.post("/events", json=event)
        assert refused.status_code == 429
        assert refused.headers["Retry-After"] == "1"
        assert refused.json()["errorCode"] == "OVERLOADED"
        blocker.execute("ROLLBACK")
        blocker.close()
        answers = [f.result() for f in (first, *queued)]
        assert [a.status_code for a in answers] == [200, 200, 200]
        tree = api.get("/v1/sessions/s-overload").json()
        assert tree["metadata"]["num_events"] == 3
        assert {c["event_id"] for c in tree["children"]} == {a.json()["event_id"] for a in answers}
