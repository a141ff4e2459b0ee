"""Data care from the command line: retention and redaction on a live server, backup
taken mid-ingest and restored into a fresh data directory."""

from __future__ import annotations

import threading
import time
import uuid
from pathlib import Path

import httpx

from hivekeeper.domain.retention import DAY_MS
from tests.support.poll import eventually
from tests.support.process import run_cli, serve_process


def test_retention_set_and_cleared_on_a_live_server(tmp_path: Path) -> None:
    with serve_process(tmp_path, retention_interval_s=0.2) as served:
        headers = {"Authorization": f"Bearer {served.key}"}
        with httpx.Client(base_url=served.url, headers=headers) as api:
            old = time.time() * 1000 - 100 * DAY_MS
            sid = api.post("/v1/sessions", json={"start_time": old}).json()["session_id"]
            fresh = api.post("/v1/sessions", json={}).json()["session_id"]
            where = ("--data-dir", str(tmp_path))

            assert "server default" in run_cli("projects", "list", *where).stdout
            bad = run_cli("projects", "set-retention", "default", "soon", *where)
            assert bad.returncode == 2 and "whole number of days" in bad.stderr
            assert run_cli("projects", "set-retention", "nope", "3", *where).returncode == 1

            done = run_cli("projects", "set-retention", "default", "none", *where)
            assert done.returncode == 0 and "forever" in done.stdout
            time.sleep(0.5)
            assert api.get(f"/v1/sessions/{sid}").status_code == 200

            assert run_cli("projects", "set-retention", "default", "90", *where).returncode == 0
            assert "90 days" in run_cli("projects", "list", *where).stdout
            eventually(lambda: api.get(f"/v1/sessions/{sid}").status_code == 404, timeout_s=20)
            assert api.get(f"/v1/sessions/{fresh}").status_code == 200

            assert (
                run_cli("projects", "set-retention", "default", "default", *where).returncode == 0
            )
            assert "server default" in run_cli("projects", "list", *where).stdout


def test_redaction_rules_managed_on_a_live_server(tmp_path: Path) -> None:
    where = ("--data-dir", str(tmp_path))
    secret = "ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"
    with serve_process(tmp_path) as served:
        headers = {"Authorization": f"Bearer {served.key}"}
        with httpx.Client(base_url=served.url, headers=headers) as api:
            bad = run_cli("projects", "add-redaction", "default", "ghp_(", *where)
            assert bad.returncode == 2 and "not a valid regular expression" in bad.stderr
            added = run_cli(
                "projects",
                "add-redaction",
                "default",
                r"ghp_\w{36}",
                "--replace",
                "<token>",
                *where,
            )
            assert added.returncode == 0, added.stderr
            rule_id = added.stdout.split()[3]
            listing = run_cli("projects", "list-redactions", "default", *where).stdout
            assert rule_id in listing and r"ghp_\w{36}" in listing and "<token>" in listing

            def stored_name() -> str:
                name: str = api.post("/v1/sessions", json={"session_name": secret}).json()[
                    "event_name"
                ]
                return name

            eventually(lambda: stored_name() == "<token>", timeout_s=20)  # applies within seconds
            removed = run_cli("projects", "remove-redaction", rule_id, *where)
            assert removed.returncode == 0 and "removed" in removed.stdout
            assert run_cli("projects", "remove-redaction", rule_id, *where).returncode == 1
            eventually(lambda: stored_name() == secret, timeout_s=20)


def test_backup_mid_ingest_restores_every_acknowledged_event(tmp_path: Path) -> None:
    first, second, copy = tmp_path / "first", tmp_path / "second", tmp_path / "copy.db"
    first.mkdir()
    acknowledged: list[tuple[float, list[str]]] = []
    stop = threading.Event()
    with serve_process(first) as served:
        headers = {"Authorization": f"Bearer {served.key}"}

        def ingest() -> None:
            with httpx.Client(base_url=served.url, headers=headers, timeout=30) as api:
                while not stop.is_set():
                    events = [
                        {"event_type": "tool", "event_name": "step", "inputs": {"i": i}}
                        for i in range(50)
                    ]
                    answer = api.post("/events/batch", json={"events": events})
                    if answer.status_code == 200:
                        acknowledged.append((time.monotonic(), answer.json()["event_ids"]))

        writers = [threading.Thread(target=ingest) for _ in range(2)]
        for thread in writers:
            thread.start()
        try:
            eventually(lambda: len(acknowledged) >= 20, timeout_s=20)
            backup_started = time.monotonic()
            made = run_cli("backup", str(copy), "--data-dir", str(first))
            backed_up = time.monotonic()
            assert made.returncode == 0, made.stderr
            eventually(
                lambda: acknowledged[-1][0] > backed_up, timeout_s=20
            )  # ingest went on meanwhile
        finally:
            stop.set()
            for thread in writers:
                thread.join()
        refused = run_cli("restore", str(copy), "--data-dir", str(first))
        assert refused.returncode == 1 and "stop the server" in refused.stderr

    expected = {i for at, ids in acknowledged if at < backup_started for i in ids}
    assert len(expected) >= 1000
    restored = run_cli("restore", str(copy), "--data-dir", str(second))
    assert restored.returncode == 0, restored.stderr
    with serve_process(second, key=served.key) as again:
        headers = {"Authorization": f"Bearer {again.key}"}
        found: set[str] = set()
        with httpx.Client(base_url=again.url, headers=headers, timeout=30) as api:
            for page in range(1, 100):
                body = {"limit": 7500, "page": page, "projections": ["event_id"]}
                events = api.post("/v1/events/export", json=body).json()["events"]
                found.update(e["event_id"] for e in events)
                if len(events) < 7500:
                    break
    assert expected <= found
    assert not (second / "hivekeeper.db.restoring").exists()
    assert uuid.UUID(next(iter(expected)))  # real ids, not an empty comparison
