"""An acknowledged write survives `kill -9` of the server."""

from __future__ import annotations

import os
import re
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

from tests.support.server import free_port


def test_acknowledged_events_survive_kill_9(tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "HIVEKEEPER_PORT": str(port), "HIVEKEEPER_DATA_DIR": str(tmp_path)}
    log = tmp_path / "server.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "hivekeeper", "serve"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    key = None
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if match := re.search(r"^\s+(hh_\S+)$", log.read_text(), re.MULTILINE):
            key = match.group(1)
            break
        time.sleep(0.05)
    assert key, log.read_text()
    acknowledged: list[str] = []
    stop = threading.Event()

    def send() -> None:
        with httpx.Client(
            base_url=f"http://127.0.0.1:{port}", headers={"Authorization": f"Bearer {key}"}
        ) as client:
            while not stop.is_set():
                batch = [{"event_type": "tool", "session_id": "durable"} for _ in range(50)]
                try:
                    answer = client.post("/events/batch", json={"events": batch})
                except httpx.HTTPError:
                    return
                if answer.status_code == 200:
                    acknowledged.extend(answer.json()["event_ids"])

    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            httpx.get(f"http://127.0.0.1:{port}/health")
            break
        except httpx.HTTPError:
            time.sleep(0.05)
    senders = [threading.Thread(target=send) for _ in range(3)]
    for sender in senders:
        sender.start()
    while len(acknowledged) < 5000:
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)  # no shutdown, no flush: only committed data remains
    proc.wait(10)
    stop.set()
    for sender in senders:
        sender.join(10)
    seen = set(acknowledged)
    with sqlite3.connect(tmp_path / "hivekeeper.db") as conn:
        stored = {row[0] for row in conn.execute("SELECT event_id FROM events")}
    missing = seen - stored
    assert not missing, f"{len(missing)} of {len(seen)} acknowledged events were lost"
