"""SQLite side of data care: per-project retention and its expiry, redaction rules.

The retention queries implement `domain.retention.is_expired` in SQL: a session row
is expired when both its start and end are before the cutoff (its end already covers
its newest event, see the roll-ups); an event without a session row by its own times.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Sequence
from typing import Any

from hivekeeper.domain.errors import NotFound
from hivekeeper.domain.merge import ExpireSessions
from hivekeeper.domain.redaction import RedactionRule, compile_pattern
from hivekeeper.store.sqlite_schema import delete_sessions

# `event_type = 'session'` spelled exactly as in the partial index `events_session_end`,
# so the planner uses it.
_EXPIRED_SESSIONS = (
    "SELECT event_id FROM events WHERE project_id = ?1 AND event_type = 'session' "
    "AND end_time < ?2 AND start_time < ?2 ORDER BY end_time LIMIT ?3"
)
# Walks `events_by_time` over the events older than the cutoff that are still here:
# after the sessions are gone, only those of sessions still active (rare: a session
# that spans the cutoff) and the orphans themselves.
_ORPHANS = (
    "SELECT e.rowid FROM events e WHERE e.project_id = ?1 AND e.start_time < ?2 "
    "AND COALESCE(e.end_time, e.start_time) < ?2 "
    "AND (e.event_type IS NULL OR e.event_type <> 'session') "
    "AND NOT EXISTS (SELECT 1 FROM events s WHERE s.project_id = e.project_id "
    "AND s.event_id = e.session_id AND s.event_type = 'session') LIMIT ?3"
)
_RULE_SELECT = (
    "SELECT r.id, r.project_id, p.name, r.pattern, r.replacement, r.created_at "
    "FROM redaction_rules r JOIN projects p ON p.id = r.project_id"
)


def set_retention(conn: sqlite3.Connection, project_name: str, days: int | None) -> None:
    """Set a project's retention (None: the server default). NotFound for no project."""
    updated = conn.execute(
        "UPDATE projects SET retention_days = ? WHERE name = ?", (days, project_name)
    ).rowcount
    if not updated:
        raise NotFound(f"no project named {project_name!r}", field="project")


def retention_days(conn: sqlite3.Connection) -> dict[str, int | None]:
    return dict(conn.execute("SELECT id, retention_days FROM projects ORDER BY created_at"))


def has_expired(conn: sqlite3.Connection, project_id: str, before_ms: float) -> bool:
    sessions = conn.execute(_EXPIRED_SESSIONS, (project_id, before_ms, 1)).fetchone()
    return sessions is not None or (
        conn.execute(_ORPHANS, (project_id, before_ms, 1)).fetchone() is not None
    )


def expire(conn: sqlite3.Connection, op: ExpireSessions) -> None:
    """Delete what `op` names inside the caller's transaction."""
    args = (op.project_id, op.before_ms, op.limit)
    sessions = [row[0] for row in conn.execute(_EXPIRED_SESSIONS, args)]
    delete_sessions(conn, [(op.project_id, session_id) for session_id in sessions])
    orphans = conn.execute(_ORPHANS, args).fetchall()
    conn.executemany("DELETE FROM events WHERE rowid = ?", orphans)


def add_redaction(
    conn: sqlite3.Connection, project_name: str, pattern: str, replacement: str
) -> RedactionRule:
    """ValidationFailed for a bad pattern, NotFound for no project."""
    compile_pattern(pattern)
    row = conn.execute("SELECT id FROM projects WHERE name = ?", (project_name,)).fetchone()
    if row is None:
        raise NotFound(f"no project named {project_name!r}", field="project")
    rule_id = conn.execute(
        "INSERT INTO redaction_rules (project_id, pattern, replacement, created_at) "
        "VALUES (?, ?, ?, ?)",
        (row[0], pattern, replacement, time.time()),
    ).lastrowid
    return _rule(conn.execute(f"{_RULE_SELECT} WHERE r.id = ?", (rule_id,)).fetchone())


def list_redactions(conn: sqlite3.Connection) -> list[RedactionRule]:
    """Every rule, by project, in the order each project's rules apply."""
    rows = conn.execute(f"{_RULE_SELECT} ORDER BY p.created_at, r.id").fetchall()
    return [_rule(r) for r in rows]


def remove_redaction(conn: sqlite3.Connection, rule_id: int) -> RedactionRule:
    """NotFound for an unknown id."""
    row = conn.execute(f"{_RULE_SELECT} WHERE r.id = ?", (rule_id,)).fetchone()
    if row is None:
        raise NotFound(f"no redaction rule with id {rule_id}", field="rule_id")
    conn.execute("DELETE FROM redaction_rules WHERE id = ?", (rule_id,))
    return _rule(row)


def _rule(row: Sequence[Any]) -> RedactionRule:
    return RedactionRule(*row)
