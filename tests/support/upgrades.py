"""Upgrades of a SQL database an older hivekeeper left: pending rows, events of runs,
API keys."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any


def assert_upgrade_ages_pending_rows(
    conn: Any,
    migrations: Sequence[tuple[str, Callable[[Any], None]]],
    migration: str,
    migrate: Callable[[Any], list[str]],
    mark: str,
) -> None:
    """Apply `migrations` before `migration` on `conn` (a DB-API connection in
    autocommit mode whose placeholder is `mark`), store a pending and a visible row,
    run `migrate`: the pending row must count as first written during the upgrade."""
    _migrate_before(conn, migrations, migration, mark)
    for event_id, event_type in (("pending", None), ("visible", "tool")):
        conn.execute(
            "INSERT INTO events (project_id, event_id, event_type, config, inputs, outputs, "
            "metadata, metrics, feedback, user_properties, children_ids, extra) "
            f"VALUES ('p', {mark}, {mark}, '{{}}', '{{}}', '{{}}', '{{}}', '{{}}', '{{}}', "
            "'{}', '[]', '{}')",
            (event_id, event_type),
        )
    before_ms = time.time() * 1000
    assert migration in migrate(conn)
    ages = dict(conn.execute("SELECT event_id, pending_since FROM events").fetchall())
    assert ages["visible"] is None
    assert before_ms <= ages["pending"] <= time.time() * 1000


def assert_upgrade_finds_the_runs_of_stored_events(
    conn: Any,
    migrations: Sequence[tuple[str, Callable[[Any], None]]],
    migration: str,
    migrate: Callable[[Any], list[str]],
    mark: str,
) -> None:
    """Apply `migrations` before `migration` on `conn` (as above), store events whose
    `metadata.run_id` is a string, a number and absent, run `migrate`: each event's
    `run_id` column must hold its run (strings only)."""
    _migrate_before(conn, migrations, migration, mark)
    for event_id, metadata in (("named", '{"run_id": "r-1"}'), ("number", '{"run_id": 7}'),
                               ("none", '{"other": "r-1"}')):  # fmt: skip
        conn.execute(
            "INSERT INTO events (project_id, event_id, event_type, config, inputs, outputs, "
            "metadata, metrics, feedback, user_properties, children_ids, extra) "
            f"VALUES ('p', {mark}, 'tool', '{{}}', '{{}}', '{{}}', {mark}, '{{}}', '{{}}', "
            "'{}', '[]', '{}')",
            (event_id, metadata),
        )
    assert migration in migrate(conn)
    runs = dict(conn.execute("SELECT event_id, run_id FROM events").fetchall())
    assert runs == {"named": "r-1", "number": None, "none": None}


def assert_upgrade_keeps_keys_and_allows_dataplane_keys(
    conn: Any,
    migrations: Sequence[tuple[str, Callable[[Any], None]]],
    migration: str,
    migrate: Callable[[Any], list[str]],
    mark: str,
) -> None:
    """Apply `migrations` before `migration` on `conn` (as above), store a full and a
    revoked ingest key, run `migrate`: both keys must be as they were, and a key of
    kind `dataplane` (refused before) must now be stored."""
    _migrate_before(conn, migrations, migration, mark)
    conn.execute("INSERT INTO organizations VALUES ('o', 'org', 0)")
    conn.execute("INSERT INTO workspaces VALUES ('w', 'o', 'ws', 0)")
    conn.execute(
        "INSERT INTO projects (id, workspace_id, name, created_at) VALUES ('p', 'w', 'n', 0)"
    )
    insert = (
        "INSERT INTO api_keys (id, project_id, kind, secret_hash, created_at, revoked_at) "
        f"VALUES ({mark}, 'p', {mark}, {mark}, 1, {mark})"
    )
    keys = [("k1", "full", "hash-1", None), ("k2", "ingest", "hash-2", 5.0)]
    for key in keys:
        conn.execute(insert, key)
    assert migration in migrate(conn)
    stored = conn.execute(
        "SELECT id, kind, secret_hash, revoked_at FROM api_keys ORDER BY id"
    ).fetchall()
    assert [tuple(row) for row in stored] == keys
    conn.execute(insert, ("k3", "dataplane", "hash-3", None))


def _migrate_before(
    conn: Any, migrations: Sequence[tuple[str, Callable[[Any], None]]], migration: str, mark: str
) -> None:
    """The database as the hivekeeper before `migration` left it."""
    conn.execute("CREATE TABLE hivekeeper_migrations (name text PRIMARY KEY, applied_at real)")
    names = [name for name, _ in migrations]
    for name, step in migrations[: names.index(migration)]:
        step(conn)
        conn.execute(f"INSERT INTO hivekeeper_migrations VALUES ({mark}, 0)", (name,))
