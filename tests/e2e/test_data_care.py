"""Data care from the command line: retention and redaction on a live server, backup
taken mid-ingest and restored into a fresh data directory, and what each refuses."""

from __future__ import annotations

import sqlite3
import threading
import time
import uuid
from pathlib import Path

import httpx
import pytest

from hivekeeper.domain.retention import DAY_MS
from hivekeeper.store.sqlite._schema import MIGRATIONS, migrate
from tests.support.poll import eventually
from tests.support.process import run_cli, serve_process
from tests.support.retention import RETENTION_SEEN, a_whole_run_since
from tests.support.server import free_port


def test_retention_set_and_cleared_on_a_live_server(tmp_path: Path) -> None:
    with serve_process(tmp_path, retention_interval_s=0.2, **RETENTION_SEEN) as served:
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
            a_whole_run_since(api)
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


def test_a_catastrophic_pattern_cannot_stall_the_server(tmp_path: Path) -> None:
    where = ("--data-dir", str(tmp_path))
    with serve_process(tmp_path) as served, served.client() as api:
        refused = run_cli("projects", "add-redaction", "default", r"(?<=key=)\w+", *where)
        assert refused.returncode == 2 and "Traceback" not in refused.stderr
        assert "linear-time" in refused.stderr and "(?<=" in refused.stderr
        assert "lookbehind" in refused.stderr.splitlines()[-1]  # the reason, on the last line

        added = run_cli("projects", "add-redaction", "default", r"(a+)+$", *where)
        assert added.returncode == 0, added.stderr

        def name_stored(name: str) -> str:
            stored: str = api.post("/v1/sessions", json={"session_name": name}).json()[
                "event_name"
            ]
            return stored

        eventually(lambda: name_stored("x" + "a" * 10) == "x[REDACTED]", timeout_s=20)
        # Python's backtracking engine needs ~3^20 steps for this one: hours, during
        # which no request of any project was answered.
        evil = "a" * 40 + "!"
        assert name_stored(evil) == evil
        assert api.get("/health").status_code == 200


def test_a_stored_rule_the_engine_cannot_run_stops_the_server_from_starting(
    tmp_path: Path,
) -> None:
    where = ("--data-dir", str(tmp_path))
    assert run_cli("projects", "create", "alpha", *where).returncode == 0
    key = run_cli("keys", "create", "--project", "alpha", *where).stdout.strip()
    with sqlite3.connect(tmp_path / "hivekeeper.db") as conn:
        # As a hivekeeper that compiled rules with Python's engine could have stored it.
        (rule_id,) = conn.execute(
            "INSERT INTO redaction_rules (project_id, pattern, replacement, created_at) "
            r"SELECT id, '(?<=key=)\w+', '[REDACTED]', 0 FROM projects WHERE name = 'alpha' "
            "RETURNING id"
        ).fetchone()
    port = str(free_port())
    refused = run_cli("serve", "--port", port, *where, timeout_s=60)
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert "Traceback" not in refused.stderr
    assert f"redaction rule {rule_id}" in refused.stderr
    assert f"hivekeeper projects remove-redaction {rule_id}" in refused.stderr

    assert run_cli("projects", "remove-redaction", str(rule_id), *where).returncode == 0
    with serve_process(tmp_path, key=key) as served, served.client() as api:
        assert api.post("/v1/sessions", json={}).status_code == 200


def _backup_with(tmp_path: Path, statement: str) -> Path:
    """A backup of a served database, with `statement` run on it afterwards."""
    data = tmp_path / "data"
    data.mkdir()
    with serve_process(data) as served, served.client() as api:
        assert api.post("/v1/sessions", json={"session_name": "kept"}).status_code == 200
    copy = tmp_path / "copy.db"
    assert run_cli("backup", str(copy), "--data-dir", str(data)).returncode == 0
    if statement:
        with sqlite3.connect(copy) as conn:
            conn.execute(statement)
    return copy


_LEAK = (
    "CREATE TRIGGER leak AFTER INSERT ON events WHEN new.project_id != 'proj_b' "
    "BEGIN INSERT OR IGNORE INTO events SELECT * FROM events "
    "WHERE rowid = new.rowid; END"
)


@pytest.mark.parametrize(
    ("statement", "named"),
    [
        (_LEAK, "trigger 'leak'"),
        ("CREATE VIEW keys_view AS SELECT * FROM api_keys", "view 'keys_view'"),
        ("CREATE TABLE notes (x)", "table 'notes'"),
        ("CREATE INDEX events_extra ON events (source)", "index 'events_extra'"),
        ("DROP INDEX events_by_time", "missing index 'events_by_time'"),
        ("ALTER TABLE api_keys ADD COLUMN note TEXT", "table 'api_keys' differs"),
    ],
    ids=["trigger", "view", "table", "index", "missing-index", "altered-table"],
)
def test_restore_refuses_a_schema_the_migrations_do_not_make(
    tmp_path: Path, statement: str, named: str
) -> None:
    copy = _backup_with(tmp_path, statement)
    target = tmp_path / "target"
    refused = run_cli("restore", str(copy), "--data-dir", str(target))
    assert refused.returncode == 1, refused.stdout
    assert named in refused.stderr and "Traceback" not in refused.stderr
    assert not (target / "hivekeeper.db").exists()


def test_restore_migrates_a_backup_from_an_older_hivekeeper(tmp_path: Path) -> None:
    old = tmp_path / "old.db"
    with sqlite3.connect(old, isolation_level=None) as conn:
        migrate(conn, MIGRATIONS[:3])  # before redaction rules and the sessions index
    target = tmp_path / "target"
    restored = run_cli("restore", str(old), "--data-dir", str(target))
    assert restored.returncode == 0, restored.stderr
    with sqlite3.connect(target / "hivekeeper.db") as conn:
        applied = [row[0] for row in conn.execute("SELECT name FROM hivekeeper_migrations")]
    assert applied == [name for name, _ in MIGRATIONS]

    with sqlite3.connect(old) as conn:
        conn.execute("CREATE VIEW sneaky AS SELECT 1")
    again = run_cli("restore", str(old), "--data-dir", str(tmp_path / "again"))
    assert again.returncode == 1 and "view 'sneaky'" in again.stderr


@pytest.mark.parametrize(
    "where",
    ["file-as-directory", "proc", "long-name"],
)
def test_backup_to_a_path_it_cannot_write_is_a_one_line_error(tmp_path: Path, where: str) -> None:
    data = tmp_path / "data"
    assert run_cli("projects", "list", "--data-dir", str(data)).returncode == 0
    (tmp_path / "plain").write_text("a file")
    target = {
        "file-as-directory": tmp_path / "plain" / "copy.db",
        "proc": Path("/proc/hivekeeper-backup.db"),
        "long-name": tmp_path / ("x" * 300 + ".db"),
    }[where]
    made = run_cli("backup", str(target), "--data-dir", str(data))
    assert made.returncode == 1, made.stdout
    assert "Traceback" not in made.stderr
    assert len(made.stderr.strip().splitlines()) == 1, made.stderr
    assert made.stderr.startswith("Error: cannot write the backup to ")
