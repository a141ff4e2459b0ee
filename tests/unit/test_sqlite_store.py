"""The SQLite store's own duties: migrations, tenancy bootstrap, key lifecycle."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from hivekeeper.domain.errors import NotFound, ValidationFailed
from hivekeeper.store.sqlite._schema import MIGRATIONS, migrate
from hivekeeper.store.sqlite.engine import SqliteStore, database_path
from tests.support.upgrades import (
    assert_upgrade_ages_pending_rows,
    assert_upgrade_finds_the_runs_of_stored_events,
    assert_upgrade_keeps_keys_and_allows_dataplane_keys,
)


def test_database_urls() -> None:
    assert database_path("sqlite:////abs/dir/h.db") == Path("/abs/dir/h.db")
    assert database_path("sqlite:///rel/h.db") == Path("rel/h.db")
    for bad in ("postgres://x", "sqlite://", "sqlite:///", "h.db"):
        with pytest.raises(ValidationFailed):
            database_path(bad)


def test_migrations_apply_once_and_are_recorded(tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / "m.db", isolation_level=None)
    assert migrate(conn) == [name for name, _ in MIGRATIONS]
    assert migrate(conn) == []
    recorded = [r[0] for r in conn.execute("SELECT name FROM hivekeeper_migrations")]
    assert recorded == [name for name, _ in MIGRATIONS]
    conn.close()


def test_bootstrap_mints_the_first_key_only_once(tmp_path: Path) -> None:
    store = SqliteStore(f"sqlite:///{tmp_path / 'b.db'}")
    store.open()
    first = store.bootstrap()
    assert first.project.name == "default"
    assert first.new_key_secret is not None
    principal = store.authenticate(first.new_key_secret)
    assert principal is not None and principal.project == first.project
    again = store.bootstrap()
    assert again.new_key_secret is None
    assert again.project == first.project
    store.close()


def test_key_lifecycle_and_secrets_are_not_stored(tmp_path: Path) -> None:
    store = SqliteStore(f"sqlite:///{tmp_path / 'k.db'}")
    store.open()
    store.create_project("alpha")
    with pytest.raises(ValidationFailed):
        store.create_project("alpha")
    with pytest.raises(NotFound):
        store.create_key("nope", "full")
    key, secret = store.create_key("alpha", "ingest")
    assert key.kind == "ingest" and key.project_name == "alpha"
    principal = store.authenticate(secret)
    assert principal is not None and not principal.can_read
    raw = b"".join(f.read_bytes() for f in tmp_path.glob("k.db*"))
    assert secret.encode() not in raw
    assert store.revoke_key(key.id).revoked_at is not None
    assert store.revoke_key(key.id).revoked_at is not None  # idempotent
    assert store.authenticate(secret) is None
    with pytest.raises(NotFound):
        store.revoke_key("missing")
    store.close()
    store.close()  # idempotent


def test_pending_rows_stored_before_the_upgrade_count_as_first_written_then(
    tmp_path: Path,
) -> None:
    conn = sqlite3.connect(tmp_path / "old.db", isolation_level=None)
    try:
        assert_upgrade_ages_pending_rows(conn, MIGRATIONS, "0006_pending_since", migrate, "?")
    finally:
        conn.close()


def test_events_stored_before_the_upgrade_are_found_by_their_run(tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / "old.db", isolation_level=None)
    try:
        assert_upgrade_finds_the_runs_of_stored_events(
            conn, MIGRATIONS, "0008_event_run_id", migrate, "?"
        )
    finally:
        conn.close()


def test_keys_stored_before_the_upgrade_survive_it_and_dataplane_keys_follow(
    tmp_path: Path,
) -> None:
    conn = sqlite3.connect(tmp_path / "old.db", isolation_level=None)
    try:
        assert_upgrade_keeps_keys_and_allows_dataplane_keys(
            conn, MIGRATIONS, "0009_dataplane_keys", migrate, "?"
        )
    finally:
        conn.close()
