"""The SQLite schema: migrations and the statements every events writer shares.

Each migration is a named function applied in the same transaction as the row that
records it, so running `migrate()` again (every start does) is safe, even from two
processes at once.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Sequence

from hivekeeper.domain.types import Key
from hivekeeper.store.sql.rows import insert_sql

Migration = Callable[[sqlite3.Connection], None]


def _create_tenancy(conn: sqlite3.Connection) -> None:
    _execute_script(
        conn,
        """
        CREATE TABLE organizations (
            id TEXT PRIMARY KEY, name TEXT NOT NULL, created_at REAL NOT NULL);
        CREATE TABLE workspaces (
            id TEXT PRIMARY KEY, org_id TEXT NOT NULL REFERENCES organizations(id),
            name TEXT NOT NULL, created_at REAL NOT NULL);
        CREATE TABLE projects (
            id TEXT PRIMARY KEY, workspace_id TEXT NOT NULL REFERENCES workspaces(id),
            name TEXT NOT NULL, created_at REAL NOT NULL, UNIQUE (workspace_id, name));
        CREATE TABLE api_keys (
            id TEXT PRIMARY KEY, project_id TEXT NOT NULL REFERENCES projects(id),
            kind TEXT NOT NULL CHECK (kind IN ('full', 'ingest')),
            secret_hash TEXT NOT NULL UNIQUE, created_at REAL NOT NULL, revoked_at REAL);
        """,
    )


def _create_events(conn: sqlite3.Connection) -> None:
    # A rowid table, not WITHOUT ROWID: rows are kilobytes of JSON, far past the
    # ~1/20-page size where SQLite recommends WITHOUT ROWID.
    _execute_script(
        conn,
        """
        CREATE TABLE events (
            project_id TEXT NOT NULL, event_id TEXT NOT NULL,
            session_id TEXT, parent_id TEXT, event_type TEXT, event_name TEXT, source TEXT,
            start_time REAL, end_time REAL, duration REAL,
            duration_set INTEGER NOT NULL DEFAULT 0, error TEXT,
            config TEXT NOT NULL, inputs TEXT NOT NULL, outputs TEXT NOT NULL,
            metadata TEXT NOT NULL, metrics TEXT NOT NULL, feedback TEXT NOT NULL,
            user_properties TEXT NOT NULL, children_ids TEXT NOT NULL, extra TEXT NOT NULL,
            num_events INTEGER NOT NULL DEFAULT 0, num_model_events INTEGER NOT NULL DEFAULT 0,
            prompt_tokens REAL NOT NULL DEFAULT 0, completion_tokens REAL NOT NULL DEFAULT 0,
            total_tokens REAL NOT NULL DEFAULT 0, cost REAL NOT NULL DEFAULT 0,
            feedback_count INTEGER NOT NULL DEFAULT 0, error_count INTEGER NOT NULL DEFAULT 0
        );
        CREATE UNIQUE INDEX events_key ON events (project_id, event_id);
        CREATE INDEX events_by_session ON events (project_id, session_id, start_time);
        CREATE INDEX events_by_time ON events (project_id, start_time);
        CREATE INDEX events_by_parent ON events (project_id, parent_id);
        """,
    )


def _add_retention(conn: sqlite3.Connection) -> None:
    # NULL: the server's default retention; 0: forever. The partial index holds session
    # rows only, so finding expired sessions reads a handful of index pages and costs
    # event ingestion nothing (a session row is rewritten once per batch anyway).
    _execute_script(
        conn,
        """
        ALTER TABLE projects ADD COLUMN retention_days INTEGER;
        CREATE INDEX events_session_end ON events (project_id, end_time)
            WHERE event_type = 'session';
        """,
    )


def _create_redaction_rules(conn: sqlite3.Connection) -> None:
    _execute_script(
        conn,
        """
        CREATE TABLE redaction_rules (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            project_id TEXT NOT NULL REFERENCES projects(id),
            pattern TEXT NOT NULL, replacement TEXT NOT NULL, created_at REAL NOT NULL);
        """,
    )


def _create_model_prices(conn: sqlite3.Connection) -> None:
    _execute_script(
        conn,
        """
        CREATE TABLE model_prices (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            project_id TEXT NOT NULL REFERENCES projects(id),
            provider TEXT NOT NULL, model TEXT NOT NULL, effective_from TEXT,
            rates TEXT NOT NULL, created_at REAL NOT NULL);
        CREATE INDEX model_prices_by_project ON model_prices (project_id, id);
        """,
    )


def _index_sessions(conn: sqlite3.Connection) -> None:
    # The UI's session list filters on event_type = 'session' and sorts by time or a
    # roll-up: this index reads the ~1 in 10 rows that are sessions, not the project.
    conn.execute(
        "CREATE INDEX events_sessions ON events (project_id, start_time) "
        "WHERE event_type = 'session'"
    )


def _add_pending_since(conn: sqlite3.Connection) -> None:
    # Pending rows stored before this migration count as first written now, so they
    # expire one `pending_expiry_hours` after the upgrade. The partial index holds
    # pending rows only: finding expired ones costs event ingestion nothing.
    conn.execute("ALTER TABLE events ADD COLUMN pending_since REAL")
    conn.execute(
        "UPDATE events SET pending_since = ? WHERE event_type IS NULL", (time.time() * 1000,)
    )
    conn.execute(
        "CREATE INDEX events_pending ON events (project_id, pending_since) "
        "WHERE event_type IS NULL"
    )


def _create_evaluation(conn: sqlite3.Connection) -> None:
    # The evaluation plane (see `store.sql.evaluation_writes`): versions are appended
    # rows keyed (at_ms, change_id). `datapoints` and `dataset_members` hold the
    # current state, kept in the transaction of each change, so reading it is one
    # indexed read; older versions are replayed from `dataset_items`. Small rows keyed
    # by their primary key: WITHOUT ROWID.
    _execute_script(
        conn,
        """
        CREATE TABLE datasets (
            project_id TEXT NOT NULL, dataset_id TEXT NOT NULL, name TEXT NOT NULL,
            description TEXT, created_at_ms REAL NOT NULL, updated_at_ms REAL,
            deleted_at_ms REAL, PRIMARY KEY (project_id, dataset_id)) WITHOUT ROWID;
        CREATE INDEX datasets_by_name ON datasets (project_id, name);
        CREATE TABLE datapoints (
            project_id TEXT NOT NULL, datapoint_id TEXT NOT NULL, revision TEXT NOT NULL,
            created_at_ms REAL NOT NULL, updated_at_ms REAL, deleted_at_ms REAL,
            PRIMARY KEY (project_id, datapoint_id)) WITHOUT ROWID;
        CREATE INDEX datapoints_by_time ON datapoints (project_id, created_at_ms, datapoint_id);
        CREATE TABLE datapoint_revisions (
            project_id TEXT NOT NULL, datapoint_id TEXT NOT NULL, change_id TEXT NOT NULL,
            at_ms REAL NOT NULL, key_id TEXT, inputs TEXT NOT NULL, history TEXT NOT NULL,
            ground_truth TEXT NOT NULL, metadata TEXT NOT NULL, linked_event TEXT,
            extra TEXT NOT NULL, deleted INTEGER NOT NULL,
            PRIMARY KEY (project_id, datapoint_id, change_id));
        CREATE TABLE dataset_changes (
            project_id TEXT NOT NULL, dataset_id TEXT NOT NULL, change_id TEXT NOT NULL,
            at_ms REAL NOT NULL, key_id TEXT, added INTEGER NOT NULL,
            removed INTEGER NOT NULL, edited INTEGER NOT NULL,
            PRIMARY KEY (project_id, dataset_id, change_id)) WITHOUT ROWID;
        CREATE TABLE dataset_items (
            project_id TEXT NOT NULL, dataset_id TEXT NOT NULL, change_id TEXT NOT NULL,
            ordinal INTEGER NOT NULL, at_ms REAL NOT NULL, datapoint_id TEXT NOT NULL,
            kind TEXT NOT NULL CHECK (kind IN ('added', 'removed', 'edited')), revision TEXT,
            PRIMARY KEY (project_id, dataset_id, change_id, ordinal)) WITHOUT ROWID;
        CREATE TABLE dataset_members (
            project_id TEXT NOT NULL, dataset_id TEXT NOT NULL, datapoint_id TEXT NOT NULL,
            at_ms REAL NOT NULL, change_id TEXT NOT NULL, ordinal INTEGER NOT NULL,
            revision TEXT NOT NULL,
            PRIMARY KEY (project_id, dataset_id, datapoint_id)) WITHOUT ROWID;
        CREATE INDEX dataset_members_by_datapoint ON dataset_members (project_id, datapoint_id);
        CREATE TABLE definitions (
            project_id TEXT NOT NULL, kind TEXT NOT NULL, definition_id TEXT NOT NULL,
            name TEXT, created_at_ms REAL NOT NULL,
            PRIMARY KEY (project_id, kind, definition_id)) WITHOUT ROWID;
        CREATE INDEX definitions_by_name ON definitions (project_id, kind, name);
        CREATE TABLE definition_versions (
            project_id TEXT NOT NULL, kind TEXT NOT NULL, definition_id TEXT NOT NULL,
            change_id TEXT NOT NULL, at_ms REAL NOT NULL, key_id TEXT, message TEXT,
            content TEXT NOT NULL, PRIMARY KEY (project_id, kind, definition_id, change_id));
        CREATE TABLE deployments (
            project_id TEXT NOT NULL, kind TEXT NOT NULL, definition_id TEXT NOT NULL,
            change_id TEXT NOT NULL, at_ms REAL NOT NULL, env TEXT NOT NULL,
            version_change_id TEXT NOT NULL,
            PRIMARY KEY (project_id, kind, definition_id, change_id)) WITHOUT ROWID;
        CREATE TABLE runs (
            project_id TEXT NOT NULL, run_id TEXT NOT NULL, name TEXT, description TEXT,
            status TEXT NOT NULL, dataset_id TEXT, offline_dataset_id TEXT,
            metadata TEXT NOT NULL, results TEXT NOT NULL, configuration TEXT NOT NULL,
            evaluators TEXT NOT NULL, passing_ranges TEXT NOT NULL, extra TEXT NOT NULL,
            created_at_ms REAL NOT NULL, updated_at_ms REAL,
            PRIMARY KEY (project_id, run_id));
        CREATE INDEX runs_by_time ON runs (project_id, created_at_ms);
        CREATE INDEX runs_by_dataset ON runs (project_id, dataset_id);
        CREATE INDEX runs_by_offline_dataset ON runs (project_id, offline_dataset_id);
        CREATE TABLE run_sessions (
            project_id TEXT NOT NULL, run_id TEXT NOT NULL, session_id TEXT NOT NULL,
            ordinal INTEGER NOT NULL,
            PRIMARY KEY (project_id, run_id, session_id)) WITHOUT ROWID;
        CREATE INDEX run_sessions_by_session ON run_sessions (project_id, session_id);
        CREATE TABLE run_datapoints (
            project_id TEXT NOT NULL, run_id TEXT NOT NULL, datapoint_id TEXT NOT NULL,
            ordinal INTEGER NOT NULL,
            PRIMARY KEY (project_id, run_id, datapoint_id)) WITHOUT ROWID;
        CREATE TABLE saved_charts (
            project_id TEXT NOT NULL, chart_id TEXT NOT NULL, definition TEXT NOT NULL,
            created_at_ms REAL NOT NULL, updated_at_ms REAL,
            PRIMARY KEY (project_id, chart_id));
        """,
    )


def _add_event_run_id(conn: sqlite3.Connection) -> None:
    # The run an event belongs to (`sql.rows.run_id_of`), written with every row from
    # now on and backfilled here. The partial index holds only events of runs, so it
    # costs other events nothing.
    _execute_script(
        conn,
        """
        ALTER TABLE events ADD COLUMN run_id TEXT;
        UPDATE events SET run_id = json_extract(metadata, '$.run_id')
            WHERE json_type(metadata, '$.run_id') = 'text';
        CREATE INDEX events_by_run ON events (project_id, run_id) WHERE run_id IS NOT NULL;
        """,
    )


def _allow_dataplane_keys(conn: sqlite3.Connection) -> None:
    # A CHECK constraint cannot be altered in SQLite: the table is rebuilt with the new
    # kind allowed, its rows (ids, hashes, revocations) copied as they are. Nothing
    # references api_keys, so dropping the old table breaks no foreign key.
    _execute_script(
        conn,
        """
        CREATE TABLE api_keys_new (
            id TEXT PRIMARY KEY, project_id TEXT NOT NULL REFERENCES projects(id),
            kind TEXT NOT NULL CHECK (kind IN ('full', 'ingest', 'dataplane')),
            secret_hash TEXT NOT NULL UNIQUE, created_at REAL NOT NULL, revoked_at REAL);
        INSERT INTO api_keys_new (id, project_id, kind, secret_hash, created_at, revoked_at)
            SELECT id, project_id, kind, secret_hash, created_at, revoked_at FROM api_keys;
        DROP TABLE api_keys;
        ALTER TABLE api_keys_new RENAME TO api_keys;
        """,
    )


def _index_dataset_pages(conn: sqlite3.Connection) -> None:
    # A dataset's members in dataset order, covering what a page of them reads, so a
    # page deep into a 100,000-datapoint dataset skips index entries, not rows; its
    # change log by kind in change order, and by datapoint (covering), for a page of an
    # older version (store/sql/version_pages.py).
    _execute_script(
        conn,
        """
        CREATE INDEX dataset_members_in_order ON dataset_members
            (project_id, dataset_id, at_ms, change_id, ordinal, revision);
        CREATE INDEX dataset_items_by_kind ON dataset_items
            (project_id, dataset_id, kind, at_ms, change_id, ordinal, datapoint_id);
        CREATE INDEX dataset_items_by_datapoint ON dataset_items
            (project_id, dataset_id, datapoint_id, at_ms, change_id, ordinal, kind, revision);
        """,
    )


INDEXED_PATHS = frozenset({("config", ("model",))})
"""JSON fields with an expression index (`_index_model`): `_reads` writes their path as
a literal, so a filter's expression is the indexed one (a bound path never matches)."""


def _index_model(conn: sqlite3.Connection) -> None:
    # The text of `config.model` exactly as `_reads` renders a string filter on it, with
    # the path a literal; then start_time (a filtered page comes in its order) and
    # event_type (a count checks visibility without reading the row). A test checks
    # that the planner picks it for such a filter.
    value = """json_extract("config", '$."model"')"""
    number = (
        f"(CASE WHEN {value} = CAST({value} AS INTEGER) THEN CAST(CAST({value} AS INTEGER) "
        f"AS TEXT) ELSE CAST({value} AS TEXT) END)"
    )
    text = (
        f"""(CASE json_type("config", '$."model"') WHEN 'true' THEN 'true' """
        f"WHEN 'false' THEN 'false' WHEN 'real' THEN {number} ELSE CAST({value} AS TEXT) END)"
    )
    conn.execute(
        f"CREATE INDEX events_by_model ON events (project_id, {text}, start_time, event_type)"
    )


def _cover_session_types(conn: sqlite3.Connection) -> None:
    # The session index also holds event_type: a filter on it is then checked in the
    # index, so the total of a session list counts index entries instead of reading
    # every session row (1M events: ~2 s cold, ~600 ms warm, to ~25 ms). Only session
    # rows are in it, so events pay nothing.
    conn.execute("DROP INDEX events_sessions")
    conn.execute(
        "CREATE INDEX events_sessions ON events (project_id, start_time, event_type) "
        "WHERE event_type = 'session'"
    )


def _index_sessions_by_cost(conn: sqlite3.Connection) -> None:
    # Sessions sorted by cost (the UI's costliest sessions) walk this index from its
    # end instead of sorting every session of the project (1M events: ~2 s to ~0.3 ms
    # for the page). Session rows only, one entry each, moved when their cost changes.
    conn.execute(
        "CREATE INDEX events_sessions_by_cost ON events (project_id, cost) "
        "WHERE event_type = 'session'"
    )


def _execute_script(conn: sqlite3.Connection, script: str) -> None:
    """Run `;`-separated DDL inside the current transaction.

    `executescript()` would COMMIT first, breaking the migration's atomicity.
    """
    for statement in script.split(";"):
        if statement.strip():
            conn.execute(statement)


MIGRATIONS: tuple[tuple[str, Migration], ...] = (
    ("0001_tenancy", _create_tenancy),
    ("0002_events", _create_events),
    ("0003_retention", _add_retention),
    ("0004_redaction_rules", _create_redaction_rules),
    ("0005_sessions_index", _index_sessions),
    ("0006_pending_since", _add_pending_since),
    ("0007_evaluation", _create_evaluation),
    ("0008_event_run_id", _add_event_run_id),
    ("0009_dataplane_keys", _allow_dataplane_keys),
    ("0010_dataset_pages", _index_dataset_pages),
    ("0011_model_index", _index_model),
    ("0012_sessions_index_type", _cover_session_types),
    ("0013_sessions_by_cost", _index_sessions_by_cost),
    ("0014_model_prices", _create_model_prices),
)


def migrate(
    conn: sqlite3.Connection, migrations: Sequence[tuple[str, Migration]] = MIGRATIONS
) -> list[str]:
    """Apply pending `migrations` (all of them unless told: restore checks a backup
    against the first few), each in its own transaction; return the names applied."""
    conn.execute(
        "CREATE TABLE IF NOT EXISTS hivekeeper_migrations "
        "(name TEXT PRIMARY KEY, applied_at REAL NOT NULL)"
    )
    applied: list[str] = []
    for name, step in migrations:
        conn.execute("BEGIN IMMEDIATE")
        try:
            done = conn.execute(
                "SELECT 1 FROM hivekeeper_migrations WHERE name = ?", (name,)
            ).fetchone()
            if not done:
                step(conn)
                conn.execute("INSERT INTO hivekeeper_migrations VALUES (?, ?)", (name, time.time()))
                applied.append(name)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    return applied


# Pending rows (an update whose event has not arrived) have no type and stay unseen.
VISIBLE = "event_type IS NOT NULL"
DELETE_EVENT = "DELETE FROM events WHERE project_id = ? AND event_id = ?"
INSERT_NEW = insert_sql("?", replace=False)
UPSERT = insert_sql("?", replace=True)
# SQLite's default limit on bound parameters is 32766 (since 3.32); 500 ids per IN
# list keeps every statement far below it and the plans simple.
IN_CHUNK = 500


def delete_sessions(conn: sqlite3.Connection, keys: Sequence[Key]) -> None:
    """Delete each session `(project_id, session_id)`: its events and its own row."""
    # Two statements, each on its index: with `OR`, SQLite scans the whole project.
    conn.executemany("DELETE FROM events WHERE project_id = ? AND session_id = ?", keys)
    conn.executemany(DELETE_EVENT, keys)
