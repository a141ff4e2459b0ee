"""A live server whose write queue is full, to see what every route answers under overload.

Its writer is kept from committing by SQLite's write lock, held from outside; writes
are then posted until the queue holds all it may.
"""

from __future__ import annotations

import contextlib
import sqlite3
import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor

import httpx

from hivekeeper.store.sqlite import database_path
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
    with ThreadPoolExecutor(4) as pool:
        blocker = sqlite3.connect(database_path(server.settings.database_url), isolation_level=None)
        blocker.execute("BEGIN IMMEDIATE")
        try:
            event = {"event": {"event_type": "tool", "session_id": SESSION_ID}}
            first = pool.submit(api.post, "/events", json=event)
            _wait_queued(api, 0)  # the writer took it and waits for the lock
            queued = [pool.submit(api.post, "/events", json=event) for _ in range(2)]
            _wait_queued(api, 2)
            yield [first, *queued]
        finally:
            blocker.execute("ROLLBACK")
            blocker.close()


def _wait_queued(api: httpx.Client, count: int) -> None:
    for _ in range(500):
        if api.get("/health").json()["queued_writes"] == count:
            return
        time.sleep(0.01)
    raise AssertionError(f"the queue never held {count} writes")
