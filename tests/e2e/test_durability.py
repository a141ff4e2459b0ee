"""An acknowledged write survives `kill -9` of the server."""

from __future__ import annotations

import signal
import sqlite3
import threading
import time
from pathlib import Path

import httpx

from tests.support.process import ServeProcess, serve_process


def test_acknowledged_events_survive_kill_9(tmp_path: Path) -> None:
    with serve_process(tmp_path) as served:
        acknowledged = _load_until_killed(served, wanted=5000)
    seen = set(acknowledged)
    with sqlite3.connect(tmp_path / "hivekeeper.db") as conn:
        stored = {row[0] for row in conn.execute("SELECT event_id FROM events")}
    missing = seen - stored
    assert not missing, f"{len(missing)} of {len(seen)} acknowledged events were lost"


def _load_until_killed(served: ServeProcess, wanted: int) -> list[str]:
    """Three clients send batches; once `wanted` events are acknowledged, SIGKILL."""
    acknowledged: list[str] = []
    stop = threading.Event()

    def send() -> None:
        headers = {"Authorization": f"Bearer {served.key}"}
        with httpx.Client(base_url=served.url, headers=headers) as client:
            while not stop.is_set():
                batch = [{"event_type": "tool", "session_id": "durable"} for _ in range(50)]
                try:
                    answer = client.post("/events/batch", json={"events": batch})
                except httpx.HTTPError:
                    return
                if answer.status_code == 200:
                    acknowledged.extend(answer.json()["event_ids"])

    senders = [threading.Thread(target=send) for _ in range(3)]
    for sender in senders:
        sender.start()
    deadline = time.monotonic() + 60
    while len(acknowledged) < wanted and time.monotonic() < deadline:
        time.sleep(0.01)
    served.proc.send_signal(signal.SIGKILL)  # no shutdown, no flush: only commits remain
    served.proc.wait(10)
    stop.set()
    for sender in senders:
        sender.join(10)
    assert len(acknowledged) >= wanted, "the server acknowledged too little before the kill"
    return acknowledged
