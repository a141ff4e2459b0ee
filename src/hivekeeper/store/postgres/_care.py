"""PostgreSQL side of retention: finding and deleting expired sessions, orphans and
pending updates.

The same rule as `sqlite._care` (see `domain.retention.is_expired`): a session row is
expired when both its start and end are before the cutoff; an event without a session
row by its own times; neither while it belongs to a run that still exists. Deletions
run inside the writer's transaction, after the keys they touch are locked, and
re-check the condition, so a session that came back to life meanwhile is kept.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import psycopg
from psycopg.rows import TupleRow

from hivekeeper.domain.types import ExpirePending, ExpireSessions, Key

Connection = psycopg.Connection[TupleRow]

# A session its run's client reported (a run's rows go with it), or with an event
# naming a run that exists.
_IN_RUN = (
    "(EXISTS (SELECT 1 FROM run_sessions rs WHERE rs.project_id = %(project)s "
    "AND rs.session_id = {session}) OR EXISTS (SELECT 1 FROM events r JOIN runs ON "
    "runs.project_id = r.project_id AND runs.run_id = r.run_id WHERE "
    "r.project_id = %(project)s AND r.session_id = {session} AND r.run_id IS NOT NULL))"
)
# `event_type = 'session'` spelled exactly as in the partial index `events_session_end`.
_SESSION_EXPIRED = (
    "event_type = 'session' AND end_time < %(before)s AND start_time < %(before)s "
    f"AND NOT {_IN_RUN.format(session='events.event_id')}"
)
_EXPIRED_SESSIONS = (
    f"SELECT event_id FROM events WHERE project_id = %(project)s AND {_SESSION_EXPIRED} "
    "ORDER BY end_time LIMIT %(limit)s"
)
_ORPHAN = (
    "e.start_time < %(before)s AND COALESCE(e.end_time, e.start_time) < %(before)s "
    "AND (e.event_type IS NULL OR e.event_type <> 'session') "
    "AND NOT EXISTS (SELECT 1 FROM events s WHERE s.project_id = e.project_id "
    "AND s.event_id = e.session_id AND s.event_type = 'session') "
    f"AND NOT {_IN_RUN.format(session='e.session_id')}"
)
_ORPHANS = (
    f"SELECT e.event_id FROM events e WHERE e.project_id = %(project)s AND {_ORPHAN} "
    "LIMIT %(limit)s"
)

# `event_type IS NULL` spelled as in the partial index `events_pending`.
_PENDING_EXPIRED = "event_type IS NULL AND pending_since < %(before)s"


def has_expired(conn: Connection, project_id: str, before_ms: float) -> bool:
    args = {"project": project_id, "before": before_ms, "limit": 1}
    return (
        conn.execute(_EXPIRED_SESSIONS, args).fetchone() is not None
        or conn.execute(_ORPHANS, args).fetchone() is not None
    )


def expire(conn: Connection, op: ExpireSessions, lock: Callable[[Iterable[Key]], None]) -> None:
    """Delete what `op` names inside the caller's transaction; `lock` locks keys first."""
    args = {"project": op.project_id, "before": op.before_ms, "limit": op.limit}
    candidates = [row[0] for row in conn.execute(_EXPIRED_SESSIONS, args)]
    lock((op.project_id, session_id) for session_id in candidates)
    sessions = [
        row[0]
        for row in conn.execute(
            "DELETE FROM events WHERE project_id = %(project)s AND event_id = ANY(%(ids)s) "
            f"AND {_SESSION_EXPIRED} RETURNING event_id",
            {**args, "ids": candidates},
        )
    ]
    delete_session_events(conn, op.project_id, sessions)
    orphans = [row[0] for row in conn.execute(_ORPHANS, args)]
    lock((op.project_id, event_id) for event_id in orphans)
    conn.execute(
        "DELETE FROM events e WHERE e.project_id = %(project)s AND e.event_id = ANY(%(ids)s) "
        f"AND {_ORPHAN}",
        {**args, "ids": orphans},
    )


def expired_pending_projects(conn: Connection, before_ms: float) -> list[str]:
    rows = conn.execute(
        "SELECT DISTINCT project_id FROM events WHERE " + _PENDING_EXPIRED,
        {"before": before_ms},
    )
    return [row[0] for row in rows]


def expire_pending(
    conn: Connection, op: ExpirePending, lock: Callable[[Iterable[Key]], None]
) -> int:
    """Delete what `op` names inside the caller's transaction, re-checked under the
    keys' locks (an event may have arrived meanwhile); return how many rows."""
    args = {"project": op.project_id, "before": op.before_ms, "limit": op.limit}
    candidates = [
        row[0]
        for row in conn.execute(
            "SELECT event_id FROM events WHERE project_id = %(project)s "
            f"AND {_PENDING_EXPIRED} LIMIT %(limit)s",
            args,
        )
    ]
    if not candidates:
        return 0
    lock((op.project_id, event_id) for event_id in candidates)
    deleted = conn.execute(
        "DELETE FROM events WHERE project_id = %(project)s AND event_id = ANY(%(ids)s) "
        f"AND {_PENDING_EXPIRED}",
        {**args, "ids": candidates},
    )
    return deleted.rowcount


def delete_session_events(conn: Connection, project_id: str, session_ids: list[str]) -> None:
    """Delete every event of these sessions and the session rows themselves."""
    if not session_ids:
        return
    # Two statements, each on its index, rather than one with OR.
    conn.execute(
        "DELETE FROM events WHERE project_id = %s AND session_id = ANY(%s)",
        (project_id, session_ids),
    )
    conn.execute(
        "DELETE FROM events WHERE project_id = %s AND event_id = ANY(%s)",
        (project_id, session_ids),
    )
