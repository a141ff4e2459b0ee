"""PostgreSQL's side of the evaluation SQL (`store.sql.evaluation_db.EvaluationDb`): the
`?` placeholders bound as psycopg's, row locks (several server processes may write),
and the projection of a run's events in JSONB operators."""

from __future__ import annotations

from collections.abc import Sequence

import psycopg
from psycopg.rows import TupleRow

from hivekeeper.domain.filters import Condition, EventQuery
from hivekeeper.store.postgres._reads import where_clause
from hivekeeper.store.sql.fragments import Sql

Connection = psycopg.Connection[TupleRow]

# `x -> key` is NULL for an absent key: that projects to `{}`, a null to `{key: null}`,
# as the whole object reads.
_RUN_COLUMNS = """event_id, session_id, parent_id, event_type, event_name, start_time, error,
    CASE WHEN event_type = 'session' THEN inputs WHEN inputs -> 'dp' IS NULL THEN '{}'::jsonb
        ELSE jsonb_build_object('dp', inputs -> 'dp') END,
    CASE WHEN event_type = 'session' OR parent_id IS NULL OR parent_id = session_id
        THEN outputs ELSE '{}'::jsonb END,
    metrics,
    CASE WHEN feedback -> 'ground_truth' IS NULL THEN '{}'::jsonb
        ELSE jsonb_build_object('ground_truth', feedback -> 'ground_truth') END,
    CASE WHEN metadata -> 'datapoint_id' IS NULL THEN '{}'::jsonb
        ELSE jsonb_build_object('datapoint_id', metadata -> 'datapoint_id') END"""

_SCORE_COLUMNS = """event_id, session_id, parent_id, event_type, event_name, start_time, error,
    '{}'::jsonb, '{}'::jsonb, metrics, '{}'::jsonb,
    CASE WHEN metadata -> 'datapoint_id' IS NULL THEN '{}'::jsonb
        ELSE jsonb_build_object('datapoint_id', metadata -> 'datapoint_id') END"""


class PostgresEvaluationDb:
    """A psycopg connection as an `EvaluationDb`. The shared SQL holds no `?` but its
    placeholders, and the filters' SQL (already psycopg's) none at all."""

    for_update = " FOR UPDATE"
    run_columns = _RUN_COLUMNS
    score_columns = _SCORE_COLUMNS

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def execute(self, query: str, params: Sequence[object] = ()) -> psycopg.Cursor[TupleRow]:
        return self._conn.execute(query.replace("?", "%s"), params)

    def executemany(self, query: str, params: Sequence[Sequence[object]]) -> None:
        if params:
            self._conn.cursor().executemany(query.replace("?", "%s"), params)

    def session_filter(self, project_id: str, conditions: Sequence[Condition]) -> Sql:
        return where_clause(project_id, EventQuery(conditions=tuple(conditions)))
