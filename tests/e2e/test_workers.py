"""`hivekeeper serve --workers N`: several processes on one PostgreSQL database.

Writers in different processes merge into the same session rows at once; the
per-key locks must keep every roll-up equal to what is really stored.
"""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from tests.support.databases import fresh_database_url
from tests.support.process import run_cli, serve_process

SESSIONS = 4
WRITERS = 6
BATCHES = 15
PER_BATCH = 10


def _children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def test_sqlite_refuses_several_workers(tmp_path: Path) -> None:
    refused = run_cli("serve", "--workers", "2", "--data-dir", str(tmp_path))
    assert refused.returncode == 2
    assert "served by one process" in refused.stderr


def test_workers_share_sessions_without_losing_counts(tmp_path: Path) -> None:
    url = fresh_database_url("postgres", tmp_path)
    with serve_process(tmp_path, database_url=url, workers=2) as served:
        # uvicorn's supervisor forks the workers after the socket is bound.
        workers = _children(served.proc.pid)
        assert len(workers) >= 2, f"expected 2 worker processes, found {workers}"
        sessions = [str(uuid.uuid4()) for _ in range(SESSIONS)]
        with served.client() as api:
            for sid in sessions:
                assert api.post("/v1/sessions", json={"session": {"session_id": sid}}).is_success

        def write(writer: int) -> None:
            with served.client() as api:
                for batch in range(BATCHES):
                    events = [
                        {
                            "session_id": sessions[(writer + batch + i) % SESSIONS],
                            "event_type": "model",
                            "event_name": f"w{writer}",
                            "metadata": {"total_tokens": 1},
                        }
                        for i in range(PER_BATCH)
                    ]
                    answer = api.post("/events/batch", json={"events": events})
                    assert answer.status_code == 200, answer.text

        with ThreadPoolExecutor(WRITERS) as pool:
            list(pool.map(write, range(WRITERS)))

        with served.client() as api:
            total = 0
            for sid in sessions:
                session = api.get(f"/v1/sessions/{sid}").json()
                stored = len(session["children"])
                assert session["metadata"]["num_events"] == stored
                assert session["metadata"]["total_tokens"] == stored
                total += stored
            assert total == WRITERS * BATCHES * PER_BATCH
