"""SQLite's side of the evaluation SQL (`store.sql.evaluation_db.EvaluationDb`): the
connection, no row locks (the writer is SQLite's only one), and the projection of a
run's events in SQLite's JSON functions."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from hivekeeper.domain.filters import Condition, EventQuery
from hivekeeper.store.sql.fragments import Sql
from hivekeeper.store.sqlite._reads import where_clause

# `json(x -> path)` keeps a value JSON (not text) inside `json_object`; a key that is
# absent projects to `{}`, one holding null to `{key: null}`, as the whole object reads.
_RUN_COLUMNS = """event_id, session_id, parent_id, event_type, event_name, start_time, error,
    CASE WHEN event_type = 'session' THEN inputs WHEN json_type(inputs, '$.dp') IS NULL
        THEN '{}' ELSE json_object('dp', json(inputs -> '$.dp')) END,
    CASE WHEN event_type = 'session' OR parent_id IS NULL OR parent_id = session_id
        THEN outputs ELSE '{}' END,
    metrics,
    CASE WHEN json_type(feedback, '$.ground_truth') IS NULL THEN '{}'
        ELSE json_object('ground_truth', json(feedback -> '$.ground_truth')) END,
    CASE WHEN json_type(metadata, '$.datapoint_id') IS NULL THEN '{}'
        ELSE json_object('datapoint_id', json(metadata -> '$.datapoint_id')) END"""

_SCORE_COLUMNS = """event_id, session_id, parent_id, event_type, event_name, start_time, error,
    '{}', '{}', metrics, '{}',
    CASE WHEN json_type(metadata, '$.datapoint_id') IS NULL THEN '{}'
        ELSE json_object('datapoint_id', json(metadata -> '$.datapoint_id')) END"""


class SqliteEvaluationDb:
    """A SQLite connection as an `EvaluationDb`."""

    for_update = ""
    run_columns = _RUN_COLUMNS
    score_columns = _SCORE_COLUMNS

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def execute(self, query: str, params: Sequence[object] = ()) -> sqlite3.Cursor:
        return self._conn.execute(query, params)

    def executemany(self, query: str, params: Sequence[Sequence[object]]) -> None:
        self._conn.executemany(query, params)

    def session_filter(self, project_id: str, conditions: Sequence[Condition]) -> Sql:
        text, params = where_clause(project_id, EventQuery(conditions=tuple(conditions)))
        return Sql(text, tuple(params))
