"""A throwaway PostgreSQL cluster for the test run, and a brand-new database per call.

The cluster starts on first use, in a temporary directory, listening on 127.0.0.1 on a
free port with its socket in that directory, and is stopped (`pg_ctl stop -m
immediate`) and removed when the test process exits. Durability is off (`fsync`,
`synchronous_commit`, `full_page_writes`): a lost test cluster costs nothing, and the
suite runs several times faster. `initdb` refuses to run as root, so under root the
directory belongs to `postgres` and the server runs as that user.

Each database is copied from a template that already holds the migrated schema, so a
test pays a file copy, not the migrations.
"""

from __future__ import annotations

import atexit
import itertools
import os
import shutil
import subprocess
import tempfile
import threading
from pathlib import Path

import pytest

from tests.support.server import free_port

_BIN_DIR = Path("/usr/lib/postgresql/15/bin")
_TEMPLATE = "hivekeeper_template"
# Each test's server holds a small pool; module-scoped servers live longer.
_MAX_CONNECTIONS = 300


class _Cluster:
    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="hivekeeper-pg-"))
        self.port = free_port()
        self._names = itertools.count(1)
        self._as_postgres = os.geteuid() == 0
        atexit.register(self.stop)
        self._start()
        self._make_template()

    @property
    def admin_url(self) -> str:
        return self.url("postgres")

    def url(self, database: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def fresh(self, template: str = _TEMPLATE) -> str:
        import psycopg

        name = f"hk_{os.getpid()}_{next(self._names)}"
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE {template}')
        return self.url(name)

    def stop(self) -> None:
        if self.root.exists():
            self._run("pg_ctl", "-D", str(self.root / "data"), "stop", "-m", "immediate", "-s")
            shutil.rmtree(self.root, ignore_errors=True)

    def _start(self) -> None:
        data = self.root / "data"
        if self._as_postgres:
            shutil.chown(self.root, "postgres", "postgres")
        self._run("initdb", "-D", str(data), "-U", "postgres", "-A", "trust", "-E", "UTF8",
                  "--no-locale", "--no-sync")  # fmt: skip
        options = " ".join(
            [
                "-c listen_addresses=127.0.0.1",
                f"-p {self.port}",
                f"-k {self.root}",
                "-c fsync=off",
                "-c synchronous_commit=off",
                "-c full_page_writes=off",
                f"-c max_connections={_MAX_CONNECTIONS}",
            ]
        )
        self._run("pg_ctl", "-D", str(data), "-l", str(self.root / "server.log"), "-o", options,
                  "-w", "-s", "start")  # fmt: skip

    def _make_template(self) -> None:
        import psycopg

        from hivekeeper.store.postgres.engine import PostgresStore

        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {_TEMPLATE}")
        store = PostgresStore(self.url(_TEMPLATE))
        store.open()
        store.close()

    def _run(self, program: str, *args: str) -> None:
        command = [str(_BIN_DIR / program), *args]
        if self._as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"{program} failed ({done.returncode}): {done.stderr.strip()}")


_lock = threading.Lock()
_cluster: _Cluster | None = None
_failure: str | None = None


def fresh_postgres_url() -> str:
    """A URL to a new, migrated, empty database; skips the test without PostgreSQL."""
    return _running_cluster().fresh()


def unmigrated_postgres_url() -> str:
    """A URL to a new database with no tables at all (for migration tests)."""
    return _running_cluster().fresh(template="template0")


def _running_cluster() -> _Cluster:
    global _cluster, _failure
    with _lock:
        if _cluster is None and _failure is None:
            missing = [p for p in ("initdb", "pg_ctl") if not (_BIN_DIR / p).exists()]
            try:
                import psycopg  # noqa: F401
            except ImportError:
                _failure = "psycopg is not installed (pip install '.[postgres]')"
            else:
                if missing:
                    _failure = f"PostgreSQL 15 binaries not found in {_BIN_DIR}"
                else:
                    try:
                        _cluster = _Cluster()
                    except (RuntimeError, OSError, subprocess.TimeoutExpired) as exc:
                        _failure = f"the test PostgreSQL cluster did not start: {exc}"
        if _cluster is None:
            pytest.skip(_failure or "no PostgreSQL")
        return _cluster
