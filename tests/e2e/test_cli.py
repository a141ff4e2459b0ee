"""The `hivekeeper` command as a user runs it: a real process, a real database file."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.process import run_cli, serve_process


@pytest.fixture
def serving(tmp_path: Path) -> Iterator[tuple[str, str, Path]]:
    """`hivekeeper serve` on a fresh data dir, configured through env vars."""
    with serve_process(tmp_path) as served:
        yield served.url, served.key, tmp_path


def test_version_and_help() -> None:
    assert run_cli("--version").stdout.strip() == "hivekeeper, version 0.1.0"
    help_text = run_cli("serve", "--help").stdout
    for flag, env in [
        ("--host", "HIVEKEEPER_HOST"),
        ("--port", "HIVEKEEPER_PORT"),
        ("--data-dir", "HIVEKEEPER_DATA_DIR"),
        ("--database-url", "HIVEKEEPER_DATABASE_URL"),
    ]:
        assert flag in help_text and env in help_text


def test_first_start_prints_a_working_key_once(serving: tuple[str, str, Path]) -> None:
    url, key, data_dir = serving
    assert (data_dir / "hivekeeper.db").exists()
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}) as client:
        assert client.get("/health").json()["status"] == "ok"
        session = client.post("/v1/sessions", json={"session_name": "cli"}).json()
        assert session["event_name"] == "cli"
    keys = run_cli("keys", "list", "--data-dir", str(data_dir)).stdout
    assert "default" in keys and key not in keys


def test_projects_and_keys_on_a_new_database(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'sub' / 'hk.db'}"
    created = run_cli("projects", "create", "alpha", "--database-url", db)
    assert created.returncode == 0, created.stderr
    assert run_cli("projects", "create", "alpha", "--database-url", db).returncode == 1
    assert "alpha" in run_cli("projects", "list", "--database-url", db).stdout
    made = run_cli("keys", "create", "--project", "alpha", "--kind", "ingest", "--database-url", db)
    secret = made.stdout.strip()
    assert re.fullmatch(r"hh_ingst_[A-Za-z0-9]{24}_[A-Za-z0-9_-]{64}", secret)
    listing = run_cli("keys", "list", "--database-url", db).stdout
    assert "ingest" in listing and secret not in listing
    missing = run_cli("keys", "create", "--project", "nope", "--database-url", db)
    assert missing.returncode == 1 and "no project named 'nope'" in missing.stderr
    key_id = secret.split("_")[2]
    assert run_cli("keys", "revoke", key_id, "--database-url", db).returncode == 0
    assert re.search(
        rf"{key_id}.*ingest.*\d{{4}}-.*\d{{4}}-",
        run_cli("keys", "list", "--database-url", db).stdout,
    )
    # The shape the HoneyHive SDK checks before it sends a data_plane_api_key.
    made = run_cli(
        "keys", "create", "--project", "alpha", "--kind", "dataplane", "--database-url", db
    )
    dataplane = made.stdout.strip()
    assert re.fullmatch(r"hh_fgdp_[A-Za-z0-9]{24}_[A-Za-z0-9_-]{64}", dataplane), made.stderr
    listing = run_cli("keys", "list", "--database-url", db).stdout
    assert re.search(rf"{dataplane.split('_')[2]}.*dataplane", listing)


def test_keys_created_on_a_live_server_work_at_once(serving: tuple[str, str, Path]) -> None:
    url, _, data_dir = serving
    assert run_cli("projects", "create", "beta", "--data-dir", str(data_dir)).returncode == 0
    secret = run_cli(
        "keys", "create", "--project", "beta", "--data-dir", str(data_dir)
    ).stdout.strip()
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {secret}"}) as client:
        assert client.post("/v1/sessions", json={}).json()["project_id"].startswith("proj_")
        key_id = secret.split("_")[1]
        assert run_cli("keys", "revoke", key_id, "--data-dir", str(data_dir)).returncode == 0
        assert client.post("/v1/sessions", json={}).status_code == 401


def test_bad_setting_is_a_usage_error(tmp_path: Path) -> None:
    bad = run_cli("serve", "--port", "99999", "--data-dir", str(tmp_path))
    assert bad.returncode == 2
    assert "--port" in bad.stderr
    env_bad = run_cli(
        "projects",
        "list",
        env={"HIVEKEEPER_LOG_LEVEL": "loud", "HIVEKEEPER_DATA_DIR": str(tmp_path)},
    )
    assert env_bad.returncode == 2 and "loud" in env_bad.stderr


def test_first_start_prints_the_web_ui_address(serving: tuple[str, str, Path]) -> None:
    url, _, data_dir = serving
    printed = (data_dir / "server.log").read_text()
    assert re.search(rf"^Web UI: {re.escape(url)}/ ", printed, re.MULTILINE), printed
    with httpx.Client(base_url=url) as client:
        assert client.get("/").status_code in (200, 303)


def test_keys_revoke_takes_the_whole_key_and_never_echoes_a_secret(tmp_path: Path) -> None:
    db = ("--database-url", f"sqlite:///{tmp_path / 'hk.db'}")
    assert run_cli("projects", "create", "alpha", *db).returncode == 0
    secret = run_cli("keys", "create", "--project", "alpha", *db).stdout.strip()
    key_id = secret.split("_")[1]

    revoked = run_cli("keys", "revoke", secret, *db)
    assert revoked.returncode == 0, revoked.stderr
    assert f"revoked key {key_id}" in revoked.stdout
    assert secret not in revoked.stdout + revoked.stderr
    assert re.search(rf"{key_id}.*full.*\d{{4}}-.*\d{{4}}-", run_cli("keys", "list", *db).stdout)

    # A key of another database, and a mangled one: refused without showing them.
    other_id = "Z" * 24
    stranger = f"hh_ingst_{other_id}_{'s3cr3t' * 10}abcd"
    unknown = run_cli("keys", "revoke", stranger, *db)
    assert unknown.returncode == 1 and other_id in unknown.stderr
    assert "s3cr3t" not in unknown.stdout + unknown.stderr
    mangled = run_cli("keys", "revoke", secret[:-3] + "!?", *db)
    assert mangled.returncode == 2 and "Traceback" not in mangled.stderr
    assert secret[30:-3] not in mangled.stdout + mangled.stderr


_BLOCK_IMPORTS = (
    "import sys\n"
    "for name in sys.argv.pop(1).split(','):\n"
    "    sys.modules[name] = None  # `import name` now fails as if it were not installed\n"
    "from hivekeeper.cli import main\n"
    "main(prog_name='hivekeeper')\n"
)


@pytest.mark.parametrize(
    ("blocked", "url", "extra"),
    [
        ("psycopg,psycopg_pool", "postgresql://hk@127.0.0.1:1/hk", "postgres"),
        ("clickhouse_connect", "clickhouse://127.0.0.1:1/hk", "clickhouse"),
        ("chdb", "chdb:///{tmp}/ch", "clickhouse"),
    ],
    ids=["postgres", "clickhouse", "chdb"],
)
def test_a_database_url_without_its_driver_names_the_extra(
    tmp_path: Path, blocked: str, url: str, extra: str
) -> None:
    url = url.format(tmp=tmp_path)
    for command in (["projects", "list"], ["serve", "--port", "1"]):
        ran = subprocess.run(
            [sys.executable, "-c", _BLOCK_IMPORTS, blocked, *command, "--database-url", url],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert ran.returncode == 2, ran.stderr
        assert "Traceback" not in ran.stderr
        assert len(ran.stderr.strip().splitlines()) == 1, ran.stderr
        assert f"hivekeeper[{extra}]" in ran.stderr
