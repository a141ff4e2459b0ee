"""A fresh, empty database URL per test, for each store the suites run against.

`sqlite` is a file in the test's directory. `postgres` is a new database in a
throwaway cluster started once per test run (`tests/support/postgres.py`). `chdb` is a
new ClickHouse database in the in-process engine (`tests/support/chdb.py`).
"""

from __future__ import annotations

from pathlib import Path

STORE_KINDS = ("sqlite", "postgres", "chdb")


def fresh_database_url(store_kind: str, data_dir: Path) -> str:
    """A URL to a database no test has used, for `store_kind`."""
    if store_kind == "sqlite":
        return f"sqlite:///{data_dir / 'hivekeeper.db'}"
    if store_kind == "postgres":
        from tests.support.postgres import fresh_postgres_url

        return fresh_postgres_url()
    if store_kind == "chdb":
        from tests.support.chdb import fresh_chdb_url

        return fresh_chdb_url(data_dir)
    raise ValueError(f"no test database for {store_kind}")
