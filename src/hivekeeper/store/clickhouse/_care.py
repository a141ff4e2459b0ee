"""ClickHouse side of retention: finding expired sessions, orphans and pending updates.

The same rule as `sqlite._care` (see `domain.retention.is_expired`). These queries find
candidates; the write path (`_writes.Batch`) checks each again on the batch's view of
it before writing its tombstone.
"""

from __future__ import annotations

from hivekeeper.store.clickhouse._evaluation import PROTECTED_SESSIONS
from hivekeeper.store.clickhouse._session import Session

# Neither finds what belongs to a run that still exists.
EXPIRED_SESSIONS = (
    "SELECT event_id, session_id FROM events FINAL WHERE project_id = {p:String} "
    "AND event_type = 'session' AND end_time < {before:Float64} AND start_time < {before:Float64} "
    f"AND event_id NOT IN ({PROTECTED_SESSIONS}) "
    "ORDER BY end_time, event_id LIMIT {limit:Int64}"
)
ORPHANS = (
    "SELECT event_id, session_id FROM events FINAL WHERE project_id = {p:String} "
    "AND start_time < {before:Float64} AND ifNull(end_time, start_time) < {before:Float64} "
    "AND (event_type IS NULL OR event_type != 'session') AND (session_id IS NULL OR "
    "(session_id NOT IN (SELECT event_id FROM events FINAL WHERE project_id = {p:String} "
    f"AND event_type = 'session') AND session_id NOT IN ({PROTECTED_SESSIONS}))) "
    "ORDER BY start_time, event_id LIMIT {limit:Int64}"
)
_PENDING_EXPIRED = "event_type IS NULL AND pending_since < {before:Float64}"
# Without FINAL: reads a few small columns of every version rather than merging all
# of them, so a version since replaced by its event may name a project for nothing
# (`expire_pending` then finds no current row to delete).
_PENDING_PROJECTS = (
    f"SELECT DISTINCT project_id FROM events WHERE is_deleted = 0 AND {_PENDING_EXPIRED}"
)
PENDING_EXPIRED_ROWS = (
    "SELECT event_id, session_id FROM events FINAL WHERE project_id = {p:String} "
    f"AND {_PENDING_EXPIRED} ORDER BY pending_since, event_id LIMIT {{limit:Int64}}"
)


def has_expired(session: Session, project_id: str, before_ms: float) -> bool:
    params: dict[str, object] = {"p": project_id, "before": before_ms, "limit": 1}
    return bool(session.rows(EXPIRED_SESSIONS, params) or session.rows(ORPHANS, params))


def expired_pending_projects(session: Session, before_ms: float) -> list[str]:
    return [row[0] for row in session.rows(_PENDING_PROJECTS, {"before": before_ms})]
