"""`hivekeeper copy` between stores, as a user runs it: the copy serves the same answers.

Data goes into the source through the REST API of a real server; after the copy a
server on the target must give byte-identical session trees and exports for the same
key, which proves projects, keys, rows, roll-ups and pending updates all came across.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from hivekeeper.store import open_store
from hivekeeper.store.transfer import copy_store
from tests.support.databases import fresh_database_url
from tests.support.process import run_cli, serve_process
from tests.support.server import run_server

PAIRS = [
    pytest.param(source, target, id=f"{source}-to-{target}")
    for source, target in [
        ("sqlite", "postgres"),
        ("postgres", "chdb"),
        ("chdb", "sqlite"),
        ("sqlite", "sqlite"),
    ]
]


def _write(api: httpx.Client) -> list[str]:
    """Sessions with nested events, feedback, an error, and an update still pending."""
    sessions = []
    for s in range(3):
        sid = str(uuid.uuid4())
        sessions.append(sid)
        assert api.post("/v1/sessions", json={"session": {"session_id": sid}}).status_code == 200
        chain = str(uuid.uuid4())
        events: list[dict[str, Any]] = [
            {"event_id": chain, "session_id": sid, "event_type": "chain", "event_name": "plan"},
            *(
                {
                    "session_id": sid,
                    "parent_id": chain,
                    "event_type": "model",
                    "event_name": f"step {i}",
                    "config": {"model": "gpt-4o"},
                    "metadata": {"total_tokens": 10 * i, "cost": 0.001 * i},
                    "error": "timeout" if i == s else None,
                }
                for i in range(4)
            ),
        ]
        assert api.post("/events/batch", json={"events": events}).status_code == 200
        feedback = {"event_id": chain, "feedback": {"rating": s}}
        assert api.put("/events", json=feedback).status_code == 200
    pending = {"event_id": str(uuid.uuid4()), "metadata": {"late": True}}
    assert api.put("/events", json=pending).status_code == 200
    return sessions


def _answers(api: httpx.Client, sessions: list[str]) -> list[Any]:
    export = api.post("/v1/events/export", json={"limit": 7500}).json()
    return [export, *(api.get(f"/v1/sessions/{sid}").json() for sid in sessions)]


def _url(kind: str, directory: Path) -> str:
    """A fresh database for server and CLI processes. A chdb directory is opened by one
    process at a time, so chdb gets its own, not this test process's shared one."""
    directory.mkdir()
    if kind == "chdb":
        return f"chdb://{directory / 'chdb'}"
    return fresh_database_url(kind, directory)


@pytest.mark.parametrize(("source_kind", "target_kind"), PAIRS)
def test_copy_serves_the_same_answers(tmp_path: Path, source_kind: str, target_kind: str) -> None:
    source_url = _url(source_kind, tmp_path / "source")
    target_url = _url(target_kind, tmp_path / "target")
    with serve_process(tmp_path / "source", database_url=source_url) as served:
        key = served.key
        with served.client() as api:
            sessions = _write(api)
            before = _answers(api, sessions)

    copied = run_cli("copy", "--from", source_url, "--to", target_url, "--batch-size", "7")
    assert copied.returncode == 0, copied.stderr
    assert "verified 19 rows in 1 projects" in copied.stdout

    with (
        serve_process(tmp_path / "target", key=key, database_url=target_url) as served,
        served.client() as api,
    ):
        assert _answers(api, sessions) == before
        # The copy is a live database: new writes merge with the copied rows.
        late = {"session_id": sessions[0], "event_type": "tool", "event_name": "late"}
        answer = api.post("/events/batch", json={"events": [late]})
        assert answer.status_code == 200, answer.text
        tree = api.get(f"/v1/sessions/{sessions[0]}").json()
        assert tree["metadata"]["num_events"] == before[1]["metadata"]["num_events"] + 1


class _Interrupted(Exception):
    pass


def test_an_interrupted_copy_resumes_and_verifies(tmp_path: Path) -> None:
    (tmp_path / "source").mkdir()
    with run_server(tmp_path / "source", "sqlite") as live, live.client() as api:
        _write(api)
        source_url = live.settings.database_url
    target_url = f"sqlite:///{tmp_path / 'target.db'}"

    def stop_after_two_batches(copied: int) -> None:
        if copied >= 10:
            raise _Interrupted

    source, target = open_store(source_url), open_store(target_url)
    source.open()
    target.open()
    with pytest.raises(_Interrupted):
        copy_store(source, target, batch_size=5, progress=stop_after_two_batches)
    assert sum(target.count_rows().values()) == 10
    source.close()
    target.close()

    resumed = run_cli("copy", "--from", source_url, "--to", target_url, "--batch-size", "5")
    assert resumed.returncode == 0, resumed.stderr
    assert "resumed after" in resumed.stdout
    assert "copied 9 rows; verified 19 rows in 1 projects" in resumed.stdout


def test_copy_refuses_a_target_with_other_projects(tmp_path: Path) -> None:
    urls = []
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        with run_server(tmp_path / name, "sqlite") as live:
            urls.append(live.settings.database_url)
    refused = run_cli("copy", "--from", urls[0], "--to", urls[1])
    assert refused.returncode == 1
    assert "already holds other projects (default)" in refused.stderr
    target = open_store(urls[1])
    target.open()
    assert len(target.export_tenancy().projects) == 1, "nothing was imported"
    target.close()
