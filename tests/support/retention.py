"""Seeing the retention job run, from outside: it has no counter of its own runs, but
it counts the pending updates it expires, and it expires them at the end of a run.

A server run with `RETENTION_SEEN` (`pending_expiry_hours` of 0.2 s) expires an update
for an unknown event a run later; `a_whole_run_since` leaves one and waits for it to be
counted, so that a whole run began after the call, and ended.
"""

from __future__ import annotations

import uuid

import httpx

from tests.support.metrics import metric
from tests.support.poll import eventually

PENDING_EXPIRY_S = 0.2
RETENTION_SEEN = {"pending_expiry_hours": PENDING_EXPIRY_S / 3600}
"""The settings under which `a_whole_run_since` works."""


def expired_pending(api: httpx.Client) -> float:
    """Pending updates the retention job has expired since the server started."""
    return metric(api, "hivekeeper_pending_updates_expired_total")


def a_whole_run_since(api: httpx.Client, timeout_s: float = 15) -> None:
    """Wait for a run of the retention job that began after this call to end: the one
    that counts the update left here expired began `PENDING_EXPIRY_S` after it."""
    before = expired_pending(api)
    orphan = {"event_id": str(uuid.uuid4()), "metadata": {"waits": "for no event"}}
    answer = api.put("/events", json=orphan)
    assert answer.status_code == 200, answer.text
    eventually(
        lambda: expired_pending(api) == before + 1,
        timeout_s,
        "the retention job never expired the pending update",
    )
