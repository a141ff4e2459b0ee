"""A live server whose write queue is full, to see what every route answers under overload.

Its writer is kept from committing by a lock held from outside (SQLite's write lock,
an exclusive lock on PostgreSQL's events table, the ClickHouse store's version lock);
writes are then posted until the queue holds all it may.
"""

from __future__ import annotations

import contextlib
import sqlite3
import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor

import httpx

from hivekeeper.store.sqlite.engine import database_path
from tests.support.server import LiveServer

SESSION_ID = "s-overload"
"""The session of the events `full_write_queue` posts."""


@contextlib.contextmanager
def full_write_queue(
    server: LiveServer, api: httpx.Client
) -> Iterator[list[Future[httpx.Response]]]:
    """Fill the write queue of `server` for the block; it must run with
    `max_queue_ops=2, max_batch_ops=1`.

    Yields the three `POST /events` still waiting: one the writer holds and two queued.
    On exit the lock is released, so they commit; their answers are then ready.
    """
    with ThreadPoolExecutor(4) as pool, _writes_blocked(server):
        event = {"event": {"event_type": "tool", "session_id": SESSION_ID}}
        first = pool.submit(api.post, "/events", json=event)
        _wait_health(api, writing=1, queued_writes=0)  # the writer took it; the lock holds it
        queued = [pool.submit(api.post, "/events", json=event) for _ in range(2)]
        _wait_health(api, writing=1, queued_writes=2)
        yield [first, *queued]


@contextlib.contextmanager
def _writes_blocked(server: LiveServer) -> Iterator[None]:
    """No transaction can write events in the block; reads go on."""
    database_url = server.settings.database_url
    if database_url.startswith(("chdb", "clickhouse")):
        # ClickHouse has no lock another client could hold against an INSERT; the
        # store's version lock, taken by every write right before its INSERT, is
        # the closest equivalent.
        with server.store._version_lock:  # type: ignore[attr-defined]
            yield
        return
    if database_url.startswith("postgres"):
        import psycopg

        with psycopg.connect(database_url) as conn, conn.transaction():
            conn.execute("LOCK TABLE events IN EXCLUSIVE MODE")
            yield
        return
    blocker = sqlite3.connect(database_path(database_url), isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    try:
        yield
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()


def _wait_health(api: httpx.Client, **expected: int) -> None:
    for _ in range(1000):
        health = api.get("/health").json()
        if all(health[name] == value for name, value in expected.items()):
            return
        time.sleep(0.01)
    raise AssertionError(f"/health never showed {expected}: {health}")
