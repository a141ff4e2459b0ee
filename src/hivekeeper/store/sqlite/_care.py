"""SQLite side of retention: finding and deleting expired sessions, orphans and
pending updates.

Retention settings and redaction rules are plain records (see `sql.tenancy`).

The retention queries implement `domain.retention.is_expired` in SQL: a session row
is expired when both its start and end are before the cutoff (its end already covers
its newest event, see the roll-ups); an event without a session row by its own times.
A session of a run that still exists is never expired: one its run's client reported
(`run_sessions`), or one with an event naming the run (`events.run_id`).
"""

from __future__ import annotations

import sqlite3

from hivekeeper.domain.types import ExpirePending, ExpireSessions
from hivekeeper.store.sqlite._schema import delete_sessions

# `event_type = 'session'` spelled exactly as in the partial index `events_session_end`,
# so the planner uses it.
# A run's rows are deleted with it, so a `run_sessions` row names a live run. The
# session's events are read by `events_by_session`: `+` keeps the planner off the
# run index, which would walk every event of every run per candidate session.
_IN_RUN = (
    "(EXISTS (SELECT 1 FROM run_sessions rs WHERE rs.project_id = ?1 "
    "AND rs.session_id = {session}) OR EXISTS (SELECT 1 FROM events r WHERE "
    "r.project_id = ?1 AND r.session_id = {session} AND +r.run_id IS NOT NULL AND EXISTS "
    "(SELECT 1 FROM runs WHERE runs.project_id = ?1 AND runs.run_id = r.run_id)))"
)
_EXPIRED_SESSIONS = (
    "SELECT event_id FROM events WHERE project_id = ?1 AND event_type = 'session' "
    "AND end_time < ?2 AND start_time < ?2 "
    f"AND NOT {_IN_RUN.format(session='events.event_id')} ORDER BY end_time LIMIT ?3"
)
# Walks `events_by_time` over the events older than the cutoff that are still here:
# after the sessions are gone, only those of sessions still active (rare: a session
# that spans the cutoff) and the orphans themselves.
_ORPHANS = (
    "SELECT e.rowid FROM events e WHERE e.project_id = ?1 AND e.start_time < ?2 "
    "AND COALESCE(e.end_time, e.start_time) < ?2 "
    "AND (e.event_type IS NULL OR e.event_type <> 'session') "
    "AND NOT EXISTS (SELECT 1 FROM events s WHERE s.project_id = e.project_id "
    "AND s.event_id = e.session_id AND s.event_type = 'session') "
    f"AND NOT {_IN_RUN.format(session='e.session_id')} LIMIT ?3"
)


# `event_type IS NULL` spelled as in the partial index `events_pending`.
_EXPIRE_PENDING = (
    "DELETE FROM events WHERE rowid IN (SELECT rowid FROM events WHERE project_id = ?1 "
    "AND event_type IS NULL AND pending_since < ?2 LIMIT ?3)"
)


_PENDING_PROJECTS = (
    "SELECT DISTINCT project_id FROM events WHERE event_type IS NULL AND pending_since < ?"
)


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


def expired_pending_projects(conn: sqlite3.Connection, before_ms: float) -> list[str]:
    return [row[0] for row in conn.execute(_PENDING_PROJECTS, (before_ms,))]


def expire_pending(conn: sqlite3.Connection, op: ExpirePending) -> int:
    """Delete what `op` names inside the caller's transaction; return how many rows."""
    return conn.execute(_EXPIRE_PENDING, (op.project_id, op.before_ms, op.limit)).rowcount
